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

impl ClientKey {
    /// The opaque value, for per-client keys kept elsewhere (sign-in back-off). It is a keyed
    /// hash of the address, never the address itself.
    pub fn bucket(self) -> u64 {
        self.0
    }
}

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
        let address = self.client_address(request).map(client_network);
        ClientKey(self.hasher.hash_one(address))
    }

    fn client_address(&self, request: &HttpRequest) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let lines = request
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|value| value.to_str().ok());
            if let Some(address) = rightmost_forwarded(lines) {
                return Some(address);
            }
        }
        request.peer_addr().map(|peer| peer.ip())
    }
}

/// What counts as one client: an IPv4 address, or an IPv6 /64 (one subscriber's network hands
/// out as many addresses as it likes, so counting them apart would give a guesser a fresh
/// allowance per address). IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(std::net::Ipv6Addr::from(segments))
            }
        },
    }
}

/// The address our proxy appended: the right-most entry of the last `X-Forwarded-For` line.
/// Everything before it, on that line or on earlier lines, came from the client and can be
/// forged; a header split over several lines is read as one list, in order.
pub fn rightmost_forwarded<'a>(lines: impl Iterator<Item = &'a str>) -> Option<IpAddr> {
    lines
        .flat_map(|line| line.split(','))
        .last()
        .and_then(|last| last.trim().parse::<IpAddr>().ok())
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
    fn only_the_address_the_proxy_appended_counts() {
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        // The client sends its own header line; the proxy adds another with what it saw.
        let lines = ["6.6.6.6, 7.7.7.7", "203.0.113.9"];
        assert_eq!(rightmost_forwarded(lines.into_iter()), ip("203.0.113.9"));
        assert_eq!(
            rightmost_forwarded(["1.1.1.1, 203.0.113.9"].into_iter()),
            ip("203.0.113.9")
        );
        assert_eq!(
            rightmost_forwarded(["2001:db8::1"].into_iter()),
            ip("2001:db8::1")
        );
        assert_eq!(rightmost_forwarded(["203.0.113.9, junk"].into_iter()), None);
        assert_eq!(rightmost_forwarded(std::iter::empty()), None);
    }

    #[test]
    fn an_ipv6_network_is_one_client() {
        let net = |text: &str| client_network(text.parse().unwrap());
        assert_eq!(net("2001:db8:1:2:aaaa::1"), net("2001:db8:1:2:bbbb::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("::ffff:203.0.113.9"), net("203.0.113.9"));
        assert_ne!(net("203.0.113.9"), net("203.0.113.10"));
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
