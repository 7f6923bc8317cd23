//! The delivery worker inside `serve`: drains the outbox over SMTP and runs the scheduled jobs
//! (reminder scan, digests, weekly summary). It runs beside the web server and never inside a
//! request, so a slow or absent mail server slows nobody down.

use std::time::Duration;

use crate::clock::Clock;
use crate::service::Portal;
use crate::store::outbox::{self, OutgoingMessage};
use crate::store::{Store, StoreError};

use super::smtp::Mailer;

/// Rows claimed per transaction.
const BATCH: i64 = 20;

/// How often the scheduled jobs run; each is idempotent, so running more often is harmless.
const SCHEDULE_EVERY: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryRound {
    pub sent: usize,
    pub failed: usize,
}

/// Sends everything due now. Each row is claimed (and committed) before the SMTP exchange and
/// marked after it, so a mail server that is down leaves the row queued with a back-off, and a
/// row the server accepted is never handed out again.
pub async fn deliver_due(
    store: &Store,
    clock: &Clock,
    mailer: &Mailer,
) -> Result<DeliveryRound, StoreError> {
    let mut round = DeliveryRound::default();
    loop {
        let now = clock.now_utc_naive();
        let batch = blocking(store, move |tx| outbox::claim_due(tx, now, BATCH)).await?;
        if batch.is_empty() {
            return Ok(round);
        }
        for message in batch {
            let outcome = mailer.send(&message).await;
            let now = clock.now_utc_naive();
            let OutgoingMessage { id, attempts, .. } = message;
            match outcome {
                Ok(()) => {
                    blocking(store, move |tx| outbox::mark_sent(tx, &id, now)).await?;
                    round.sent += 1;
                }
                Err(error) => {
                    tracing::warn!(attempts, error = %error, "notice not delivered; will retry");
                    blocking(store, move |tx| outbox::mark_failed(tx, &id, &error, now)).await?;
                    round.failed += 1;
                }
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    store: &Store,
    work: impl FnOnce(&mut crate::store::Tx) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.write(work))
        .await
        .map_err(|error| StoreError::Connect(format!("outbox task failed: {error}")))?
}

/// Runs until the process stops: delivery every `mail.poll_seconds` (when SMTP is configured)
/// and the scheduled jobs every quarter of an hour (always: reminders queue even without SMTP).
pub async fn run(portal: Portal, mailer: Option<Mailer>) {
    let poll = Duration::from_secs(u64::from(portal.settings.mail.poll_seconds));
    let mut next_schedule = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_schedule {
            let jobs = portal.clone();
            match tokio::task::spawn_blocking(move || jobs.run_scheduled_notices()).await {
                Ok(Ok(summary)) => tracing::info!(
                    reminders = summary.reminders,
                    digests = summary.digests,
                    summaries = summary.weekly_summaries,
                    scan_transactions = summary.chunks,
                    longest_ms =
                        u64::try_from(summary.longest_chunk.as_millis()).unwrap_or(u64::MAX),
                    "scheduled notices queued"
                ),
                Ok(Err(error)) => tracing::warn!(error = %error, "scheduled notices failed"),
                Err(error) => tracing::warn!(error = %error, "scheduled notices task failed"),
            }
            next_schedule = tokio::time::Instant::now() + SCHEDULE_EVERY;
        }
        if let Some(mailer) = &mailer {
            match deliver_due(&portal.store, &portal.clock, mailer).await {
                Ok(round) if round.sent + round.failed > 0 => {
                    tracing::info!(sent = round.sent, failed = round.failed, "outbox drained");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(error = %error, "outbox delivery failed"),
            }
        }
        tokio::time::sleep(poll).await;
    }
}
