//! Outbound webhooks: which events a subscription wants, when a failed
//! delivery is tried again, and which network addresses may never be called.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use uuid::Uuid;

use super::event::EventType;

/// Retries after the first attempt, per the Standard Webhooks schedule
/// (`../shared/CONNECTORS.md`): then the delivery is dead-lettered.
pub const RETRY_SCHEDULE: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// Every attempt a delivery gets from the schedule: the first and the retries.
pub const MAX_ATTEMPTS: i32 = RETRY_SCHEDULE.len() as i32 + 1;

/// The longest `Retry-After` honoured; a longer one waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// A parsed subscription, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSubscription {
    pub url: String,
    pub event_types: Vec<String>,
    pub customer_id: Option<Uuid>,
    pub description: Option<String>,
    pub active: bool,
}

/// A change to a subscription; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<Option<String>>,
    pub active: Option<bool>,
}

/// What the caller sees of a subscription: never its secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub customer_id: Option<Uuid>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A subscription and, once only (at creation or rotation), its new secret.
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionWithSecret {
    pub subscription: Subscription,
    pub secret: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    /// The receiver answered 410 Gone (its subscription is now disabled), or
    /// the subscription was disabled or deleted before the delivery went.
    Failed,
    /// Every scheduled attempt failed; replayable by hand.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Succeeded,
            DeliveryStatus::Failed,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// Sent as `webhook-id`: the same on every attempt and replay.
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub payload: serde_json::Value,
    /// Newest last; present when one delivery is read.
    pub attempt_log: Vec<Attempt>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub attempt: i32,
    pub replay: bool,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub subscription_id: Option<Uuid>,
    pub status: Option<DeliveryStatus>,
    pub event_id: Option<Uuid>,
}

/// Whether a pattern is one a subscription may hold: `*`, `<resource>.*` for
/// a resource that has events, or an event type of the catalog.
pub fn valid_pattern(pattern: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if let Some(prefix) = pattern.strip_suffix(".*") {
        return EventType::ALL
            .iter()
            .any(|t| t.as_str().split('.').next() == Some(prefix));
    }
    EventType::parse(pattern).is_some_and(|t| t.published())
}

/// Whether an event type matches any of a subscription's patterns.
pub fn matches(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|pattern| {
        pattern == "*"
            || pattern == event_type
            || pattern.strip_suffix(".*").is_some_and(|prefix| {
                event_type
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    })
}

/// How long to wait before the next attempt, after `attempts` have failed
/// (1 after the first); `None` when the schedule is exhausted. `jitter` in
/// `[0, 1)` spreads retries over ±10 % so a receiver coming back up is not
/// hit by every delivery at once. A `Retry-After` the receiver sent wins
/// when it asks for longer (capped at [`MAX_RETRY_AFTER`]).
pub fn next_retry(attempts: i32, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempts).ok()?.checked_sub(1)?;
    let base = *RETRY_SCHEDULE.get(index)?;
    let factor = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    let scheduled = base.mul_f64(factor);
    Some(match retry_after {
        Some(asked) => scheduled.max(asked.min(MAX_RETRY_AFTER)),
        None => scheduled,
    })
}

/// Why an address may not be called, or `None` when it is a public unicast
/// address. IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`)
/// IPv6 addresses are judged as the IPv4 address they carry.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                // A mapped public address is still an indirection; refuse it
                // too: nothing legitimate needs one in a webhook URL.
                return Some(forbidden_v4(v4).unwrap_or("an IPv4-mapped address"));
            }
            forbidden_v6(v6)
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_unspecified() || a == 0 {
        Some("an unspecified address")
    } else if ip.is_broadcast() || a >= 240 {
        Some("a reserved address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_documentation() || (a == 198 && (b == 18 || b == 19)) || (a == 192 && b == 0) {
        Some("a reserved address")
    } else {
        None
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("a link-local address")
    } else if segments[0] & 0xfe00 == 0xfc00 || segments[0] & 0xffc0 == 0xfec0 {
        Some("a private address")
    } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
        // IPv4-compatible (deprecated): `::a.b.c.d`.
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        forbidden_v4(Ipv4Addr::new(a, b, c, d)).or(Some("an IPv4-compatible address"))
    } else if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64's well-known prefix (RFC 6052): the gateway forwards to the
        // embedded IPv4 address, which decides (DNS64-only networks reach
        // every public host this way).
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        forbidden_v4(Ipv4Addr::new(a, b, c, d))
    } else if segments[0] == 0x64 && segments[1] == 0xff9b {
        // The local-use prefix (RFC 8215) translates by site rules.
        Some("a local-use NAT64 address")
    } else if segments[0] == 0x2002 || (segments[0] == 0x2001 && segments[1] == 0) {
        // 6to4 and Teredo embed IPv4 addresses that could be internal.
        Some("a tunnelling address")
    } else if segments[0] == 0x2001 && segments[1] == 0xdb8 {
        Some("a documentation address")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_by_exact_type_resource_or_everything() {
        let patterns = vec!["order.*".to_owned(), "transfer.received".to_owned()];
        assert!(matches(&patterns, "order.allocated"));
        assert!(matches(&patterns, "transfer.received"));
        assert!(!matches(&patterns, "transfer.shipped"));
        assert!(!matches(&["order.*".to_owned()], "orders.x"));
        assert!(matches(&["*".to_owned()], "transfer.shipped"));
        assert!(valid_pattern("order.*"));
        assert!(valid_pattern("*"));
        assert!(valid_pattern("order.allocated"));
        assert!(!valid_pattern("order.allocatd"));
        assert!(!valid_pattern("nothing.*"));
        // Timeline-only events are not published.
        assert!(!valid_pattern("order.review_started"));
    }

    #[test]
    fn retries_follow_the_schedule_with_jitter_then_stop() {
        assert_eq!(next_retry(1, 0.5, None), Some(Duration::from_secs(5)));
        let low = next_retry(2, 0.0, None).unwrap();
        let high = next_retry(2, 0.999_999, None).unwrap();
        assert_eq!(low, Duration::from_secs(270));
        assert!(high > Duration::from_secs(329) && high <= Duration::from_secs(330));
        assert_eq!(
            next_retry(9, 0.5, None),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(next_retry(10, 0.5, None), None);
        assert_eq!(next_retry(0, 0.5, None), None);
        // Retry-After wins when longer, never beyond the cap.
        assert_eq!(
            next_retry(1, 0.5, Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            next_retry(3, 0.5, Some(Duration::from_secs(1))),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(
            next_retry(1, 0.5, Some(Duration::from_secs(10 * 24 * 3600))),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn internal_addresses_are_forbidden_in_every_spelling() {
        for forbidden in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.8",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::808:808",
            "2002:7f00:1::",
        ] {
            let ip: IpAddr = forbidden.parse().unwrap();
            assert!(
                forbidden_address(ip).is_some(),
                "{forbidden} must be refused"
            );
        }
        // A public host behind the NAT64 gateway of a DNS64-only network.
        for allowed in [
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "64:ff9b::5db8:d822",
        ] {
            let ip: IpAddr = allowed.parse().unwrap();
            assert_eq!(forbidden_address(ip), None, "{allowed} is public");
        }
    }
}
