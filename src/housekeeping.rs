//! Retention in the imperative shell: erase the content of cases that are due (the service
//! decides, case by case, in transactions), then delete their attachment files from the blob
//! store. `serve` runs it every hour beside the web server; `speakup retention run` runs it once.

use std::time::Duration;

use serde::Serialize;
use time::Date;

use crate::service::retention::ErasableCase;
use crate::service::{Portal, ServiceError};

/// How often `serve` looks for cases due; erasure is idempotent, so more often is harmless.
const EVERY: Duration = Duration::from_secs(60 * 60);

/// What one retention run did.
#[derive(Debug, Clone, Serialize)]
pub struct RetentionRun {
    pub erased: Vec<ErasableCase>,
    /// Attachment files deleted from the blob store (this run's cases and any left before).
    pub files_deleted: usize,
    /// Files the blob store refused to delete; they stay sealed with no key left to open
    /// them, and the next run tries again.
    pub files_left: usize,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ServiceError::Internal(format!("retention task failed: {error}")))?
}

/// Erases every case due on `today` and deletes the files of erased cases.
pub async fn apply_retention(portal: &Portal, today: Date) -> Result<RetentionRun, ServiceError> {
    let erasing = portal.clone();
    let erased = blocking(move || erasing.erase_due_cases(today)).await?;
    let listing = portal.clone();
    let files = blocking(move || listing.leftover_files()).await?;
    let mut files_deleted = 0;
    let mut files_left = 0;
    for file in files {
        match portal.blobs.delete(&file.key).await {
            Ok(()) => {
                let forgetting = portal.clone();
                blocking(move || forgetting.forget_file(&file)).await?;
                files_deleted += 1;
            }
            Err(error) => {
                tracing::warn!(error = %error, "file of an erased case not deleted; will retry");
                files_left += 1;
            }
        }
    }
    Ok(RetentionRun {
        erased,
        files_deleted,
        files_left,
    })
}

/// Runs until the process stops.
pub async fn run(portal: Portal) {
    loop {
        match apply_retention(&portal, portal.clock.today()).await {
            Ok(run) if !run.erased.is_empty() || run.files_deleted + run.files_left > 0 => {
                tracing::info!(
                    erased = run.erased.len(),
                    files_deleted = run.files_deleted,
                    files_left = run.files_left,
                    "retention applied"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "retention run failed"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
