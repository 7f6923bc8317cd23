//! Per-account back-off after failed sign-ins, in memory only. Five free attempts, then a wait
//! that doubles with each further failure, up to 15 minutes. Per-client limits are in the web
//! layer; together they make password guessing slow without letting anyone lock an account out
//! for long.

use std::collections::HashMap;
use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

const FREE_ATTEMPTS: u32 = 5;
const MAX_WAIT: Duration = Duration::minutes(15);
/// Entries idle this long are forgotten.
const FORGET_AFTER: Duration = Duration::hours(1);

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: OffsetDateTime,
    wait_until: OffsetDateTime,
}

#[derive(Debug, Default)]
pub struct SignInThrottle {
    accounts: Mutex<HashMap<String, Failures>>,
}

impl SignInThrottle {
    /// Seconds the account must still wait, if any.
    pub fn wait(&self, account: &str, now: OffsetDateTime) -> Option<u64> {
        let accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let failures = accounts.get(account)?;
        let remaining = failures.wait_until - now;
        (remaining > Duration::ZERO)
            .then(|| u64::try_from(remaining.whole_seconds()).unwrap_or(0).max(1))
    }

    pub fn record_failure(&self, account: &str, now: OffsetDateTime) {
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        accounts.retain(|_, failures| now - failures.last < FORGET_AFTER);
        let failures = accounts.entry(account.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            wait_until: now,
        });
        failures.count += 1;
        failures.last = now;
        if failures.count >= FREE_ATTEMPTS {
            let doublings = (failures.count - FREE_ATTEMPTS).min(10);
            let wait = (Duration::seconds(1) * 2i32.pow(doublings)).min(MAX_WAIT);
            failures.wait_until = now + wait;
        }
    }

    pub fn record_success(&self, account: &str) {
        let mut accounts = self
            .accounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        accounts.remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn waits_double_after_five_failures_and_success_clears() {
        let throttle = SignInThrottle::default();
        let now = datetime!(2026-11-22 10:00 UTC);
        for _ in 0..4 {
            throttle.record_failure("a@x.scot", now);
            assert_eq!(throttle.wait("a@x.scot", now), None);
        }
        throttle.record_failure("a@x.scot", now);
        assert_eq!(throttle.wait("a@x.scot", now), Some(1));
        throttle.record_failure("a@x.scot", now);
        assert_eq!(throttle.wait("a@x.scot", now), Some(2));
        throttle.record_failure("a@x.scot", now);
        assert_eq!(throttle.wait("a@x.scot", now), Some(4));
        assert_eq!(throttle.wait("a@x.scot", now + Duration::seconds(5)), None);
        assert_eq!(
            throttle.wait("b@x.scot", now),
            None,
            "other accounts unaffected"
        );
        for _ in 0..30 {
            throttle.record_failure("a@x.scot", now);
        }
        assert_eq!(throttle.wait("a@x.scot", now), Some(15 * 60), "capped");
        throttle.record_success("a@x.scot");
        assert_eq!(throttle.wait("a@x.scot", now), None);
    }
}
