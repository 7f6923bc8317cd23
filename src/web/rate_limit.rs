//! Per-client rate limits for the endpoints a guesser or a flood would hit. Client keys are a
//! keyed hash of the address, held in memory only and forgotten once idle; nothing here is
//! written to disk or logs.

use std::future::{Ready, ready};
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Settings;
use crate::service::ServiceError;

/// How often (in checks) idle client entries are dropped.
const TRIM_EVERY: u64 = 256;

/// An opaque per-client key: the client address hashed with a key chosen at process start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(u64);

pub struct KeyedLimiter {
    limiter: DefaultKeyedRateLimiter<ClientKey>,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl KeyedLimiter {
    pub fn new(quota: Quota) -> KeyedLimiter {
        KeyedLimiter {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }
    }

    /// Allows the request or says how long to wait.
    pub fn check(&self, client: ClientKey) -> Result<(), ServiceError> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % TRIM_EVERY == TRIM_EVERY - 1 {
            self.trim();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            ServiceError::RateLimited {
                retry_after_seconds: wait.as_secs().max(1),
            }
        })
    }

    /// Forgets clients whose limit has fully replenished.
    pub fn trim(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    pub fn tracked_clients(&self) -> usize {
        self.limiter.len()
    }
}

/// The limiters the portal applies, shared by all workers.
pub struct RateLimits {
    pub concern_submissions: KeyedLimiter,
    pub mailbox_sign_ins: KeyedLimiter,
    pub handler_sign_ins: KeyedLimiter,
    pub attachment_uploads: KeyedLimiter,
    hasher: RandomState,
    trust_forwarded_for: bool,
}

fn per_hour(count: u32) -> Quota {
    Quota::per_hour(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN))
}

fn per_minute(count: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN))
}

impl RateLimits {
    pub fn from_settings(settings: &Settings) -> RateLimits {
        RateLimits {
            concern_submissions: KeyedLimiter::new(per_hour(settings.concern_submissions_per_hour)),
            mailbox_sign_ins: KeyedLimiter::new(per_minute(settings.mailbox_sign_ins_per_minute)),
            handler_sign_ins: KeyedLimiter::new(per_minute(settings.handler_sign_ins_per_minute)),
            attachment_uploads: KeyedLimiter::new(per_hour(settings.attachment_uploads_per_hour)),
            hasher: RandomState::new(),
            trust_forwarded_for: settings.trust_forwarded_for,
        }
    }

    fn client_key(&self, request: &HttpRequest) -> ClientKey {
        let address = self.client_address(request);
        ClientKey(self.hasher.hash_one(address))
    }

    fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            // The proxy appends the address it saw, so the last entry is the one we can trust.
            let forwarded = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.rsplit(',').next())
                .and_then(|last| last.trim().parse::<IpAddr>().ok());
            if forwarded.is_some() {
                return forwarded;
            }
        }
        request.peer_addr().map(|peer| peer.ip())
    }
}

impl FromRequest for ClientKey {
    type Error = actix_web::Error;
    type Future = Ready<Result<ClientKey, actix_web::Error>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match request.app_data::<web::Data<RateLimits>>() {
            Some(limits) => limits.client_key(request),
            // Without limits configured every client shares one key, which fails closed.
            None => ClientKey(0),
        };
        ready(Ok(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_refused_after_its_burst_and_others_are_not() {
        let limiter = KeyedLimiter::new(per_minute(5));
        let guesser = ClientKey(1);
        for _ in 0..5 {
            limiter.check(guesser).unwrap();
        }
        match limiter.check(guesser) {
            Err(ServiceError::RateLimited {
                retry_after_seconds,
            }) => assert!((1..=60).contains(&retry_after_seconds)),
            other => panic!("expected a rate limit, got {other:?}"),
        }
        limiter.check(ClientKey(2)).unwrap();
    }

    #[test]
    fn idle_clients_are_forgotten() {
        let limiter = KeyedLimiter::new(Quota::per_second(NonZeroU32::new(1000).unwrap()));
        for client in 0..100 {
            limiter.check(ClientKey(client)).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        limiter.trim();
        assert_eq!(limiter.tracked_clients(), 0);
    }
}
