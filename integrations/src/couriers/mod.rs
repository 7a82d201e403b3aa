//! Tracking pushed into Dingdan by couriers and tracking aggregators.
//!
//! Each vendor signs (or otherwise authenticates) its pushes in its own way and
//! speaks its own status vocabulary. [`CourierSource`] checks a push's signature
//! ([`CourierSource::verify`]), turns the body into [`TrackingUpdate`]s in one
//! normalised vocabulary ([`TrackingStatus`], with the vendor's raw code kept
//! beside it), and says what to answer ([`CourierSource::accepted_reply`],
//! [`CourierSource::rejected_reply`]).
//!
//! Nothing here touches the network, the server or the database: callers hand in
//! the raw request bytes and headers and get plain values back.

mod aftership;
mod easypost;
mod kuaidi100;
mod seventeen_track;
mod sf_express;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The normalised tracking vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingStatus {
    /// The carrier knows of the shipment but has not received it yet.
    InfoReceived,
    /// The carrier has the shipment and it is on its way.
    InTransit,
    /// Out for delivery, or waiting at a pick-up point.
    OutForDelivery,
    /// Delivered (signed for).
    Delivered,
    /// Something went wrong: failed attempt, refusal, damage, expiry.
    Exception,
    /// Returned, or on its way back, to the sender.
    Returned,
}

impl TrackingStatus {
    /// Every status, in progress order.
    pub const ALL: [Self; 6] = [
        Self::InfoReceived,
        Self::InTransit,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Exception,
        Self::Returned,
    ];

    /// The snake_case name, as serialized.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InfoReceived => "info_received",
            Self::InTransit => "in_transit",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Exception => "exception",
            Self::Returned => "returned",
        }
    }

    /// The status named by [`TrackingStatus::as_str`], if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Progress rank so a late event never moves a shipment backwards:
    /// InfoReceived 0, InTransit 1, OutForDelivery 2, Exception 2, Delivered 4,
    /// Returned 4 (terminal states highest).
    pub fn rank(&self) -> u8 {
        match self {
            Self::InfoReceived => 0,
            Self::InTransit => 1,
            Self::OutForDelivery | Self::Exception => 2,
            Self::Delivered | Self::Returned => 4,
        }
    }

    /// Whether the shipment's journey is over (delivered or returned).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Delivered | Self::Returned)
    }
}

impl std::fmt::Display for TrackingStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The vendors that push tracking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CourierSource {
    /// AfterShip tracking webhooks.
    AfterShip,
    /// EasyPost `tracker.*` events.
    EasyPost,
    /// Kuaidi100 (快递100) subscription pushes.
    Kuaidi100,
    /// SF Express (顺丰) route pushes.
    SfExpress,
    /// 17TRACK webhooks.
    SeventeenTrack,
}

impl CourierSource {
    /// Every vendor.
    pub const ALL: [Self; 5] = [
        Self::AfterShip,
        Self::EasyPost,
        Self::Kuaidi100,
        Self::SfExpress,
        Self::SeventeenTrack,
    ];

    /// The vendor's stable name: `aftership`, `easypost`, `kuaidi100`,
    /// `sf_express` or `17track`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::AfterShip => "aftership",
            Self::EasyPost => "easypost",
            Self::Kuaidi100 => "kuaidi100",
            Self::SfExpress => "sf_express",
            Self::SeventeenTrack => "17track",
        }
    }

    /// The vendor named by [`CourierSource::as_str`], if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == s)
    }

    /// Checks the request's signature against the account's secret. `header` looks a
    /// header up case-insensitively.
    ///
    /// - AfterShip: `aftership-hmac-sha256` = base64(HMAC-SHA256(secret, body)).
    /// - EasyPost: `X-Hmac-Signature` = `hmac-sha256-hex=` + hex(HMAC-SHA256(NFKD(secret), body)).
    /// - Kuaidi100: the body's own `sign` form field = upper hex(MD5(param + secret)).
    /// - SF Express has no public signature scheme: the callback URL carries a
    ///   `token` query parameter, which the server's route must pass in through
    ///   `header` under the pseudo-header name `:token`; it must equal the secret.
    /// - 17TRACK: `sign` = hex(SHA-256(body + "/" + secret)).
    ///
    /// An empty secret verifies nothing. Every comparison is constant-time.
    pub fn verify(
        &self,
        secret: &str,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        if secret.is_empty() {
            return Err(VerifyError::Mismatch);
        }
        match self {
            Self::AfterShip => aftership::verify(secret, header, body),
            Self::EasyPost => easypost::verify(secret, header, body),
            Self::Kuaidi100 => kuaidi100::verify(secret, body),
            Self::SfExpress => sf_express::verify(secret, header),
            Self::SeventeenTrack => seventeen_track::verify(secret, header, body),
        }
    }

    /// Parses a verified push into tracking updates (one push may carry several,
    /// e.g. SF's up to 10 routes). Pushes that carry no tracking (an EasyPost event
    /// about something other than a tracker, 17TRACK's `TRACKING_STOPPED`, …) give
    /// an empty list. `content_type` is the request's `Content-Type`, if any.
    pub fn parse_push(
        &self,
        body: &[u8],
        content_type: Option<&str>,
    ) -> Result<Vec<TrackingUpdate>, ParseError> {
        match self {
            Self::AfterShip => aftership::parse(body),
            Self::EasyPost => easypost::parse(body),
            Self::Kuaidi100 => kuaidi100::parse(body, content_type),
            Self::SfExpress => sf_express::parse(body),
            Self::SeventeenTrack => seventeen_track::parse(body),
        }
    }

    /// The reply the vendor requires for an accepted push: (content type, body).
    pub fn accepted_reply(&self) -> (&'static str, String) {
        let body = match self {
            Self::AfterShip | Self::EasyPost => r#"{"status":"ok"}"#,
            Self::Kuaidi100 => r#"{"result":true,"returnCode":"200","message":"成功"}"#,
            Self::SfExpress => r#"{"return_code":"0000","return_msg":"success"}"#,
            Self::SeventeenTrack => r#"{"code":0}"#,
        };
        (JSON, body.to_owned())
    }

    /// The reply for a push refused for a bad signature, in the vendor's format
    /// where one exists (status is decided by the caller).
    pub fn rejected_reply(&self, message: &str) -> (&'static str, String) {
        let message = json_string(message);
        let body = match self {
            Self::Kuaidi100 => {
                format!(r#"{{"result":false,"returnCode":"500","message":{message}}}"#)
            }
            Self::SfExpress => format!(r#"{{"return_code":"1000","return_msg":{message}}}"#),
            Self::AfterShip | Self::EasyPost | Self::SeventeenTrack => {
                format!(r#"{{"error":{message}}}"#)
            }
        };
        (JSON, body)
    }
}

impl std::fmt::Display for CourierSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tracking event as pushed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrackingUpdate {
    /// The vendor's id for this push/event, used to ignore repeats. When the vendor
    /// has none, a stable SHA-256 hex digest of (tracking number, raw status, time,
    /// message) — so an identical re-push is recognised.
    pub event_id: String,
    /// The shipment's tracking (waybill) number.
    pub tracking_number: String,
    /// The vendor's carrier code/slug if given (e.g. "ups", "yuantong", 3011 as "3011").
    pub carrier: Option<String>,
    /// The shipment's status, normalised.
    pub status: TrackingStatus,
    /// The vendor's own status/tag/code, kept beside the normalised one.
    pub raw_status: String,
    /// The latest event's description.
    pub message: Option<String>,
    /// Where the latest event happened.
    pub location: Option<String>,
    /// When the event happened (the latest checkpoint's time); None if the push has no time.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Who signed for it, when delivered and the vendor says.
    pub signed_by: Option<String>,
    /// The checkpoints carried in the same push, oldest first, the latest one
    /// included (may be empty, e.g. for SF's one-route-per-update pushes).
    pub checkpoints: Vec<Checkpoint>,
}

/// One step of a shipment's history.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Checkpoint {
    /// The step's status, normalised.
    pub status: TrackingStatus,
    /// The vendor's own status/tag/code for the step (may be empty).
    pub raw_status: String,
    /// The step's description.
    pub message: Option<String>,
    /// Where the step happened.
    pub location: Option<String>,
    /// When the step happened.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Why a push's signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The header (or body field) carrying the signature is absent.
    #[error("the signature header `{0}` is missing")]
    Missing(&'static str),
    /// The signature is well-formed but wrong.
    #[error("the signature does not match the body")]
    Mismatch,
    /// The signature cannot be read at all (bad encoding, unknown scheme).
    #[error("the signature is malformed: {0}")]
    Malformed(String),
}

/// Why a push's body could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// The body is not in the vendor's format.
    #[error("the body is not valid: {0}")]
    Invalid(String),
}

const JSON: &str = "application/json";

/// China Standard Time (UTC+8), the zone of Kuaidi100's and SF's naive times.
const CHINA_OFFSET_SECS: i32 = 8 * 3600;

/// Naive date-time layouts seen in pushes (`%.f` also accepts no fraction).
const NAIVE_FORMATS: [&str; 3] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
];

/// Compares two byte strings in time that depends only on their lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// An HMAC-SHA256 over `body` keyed with `key`, ready to be verified.
fn hmac_sha256(key: &[u8], body: &[u8]) -> Result<HmacSha256, VerifyError> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
        .map_err(|_| VerifyError::Malformed("the secret is not a usable HMAC key".to_owned()))?;
    mac.update(body);
    Ok(mac)
}

/// A JSON string literal holding `s`, quotes included.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Maps a body that is not the vendor's JSON to a [`ParseError`].
fn invalid_json(error: serde_json::Error) -> ParseError {
    ParseError::Invalid(error.to_string())
}

/// A stable id for an event the vendor gives none: SHA-256 hex of the
/// length-prefixed (tracking number, raw status, time, message).
fn digest_event_id(
    tracking_number: &str,
    raw_status: &str,
    occurred_at: Option<DateTime<Utc>>,
    message: Option<&str>,
) -> String {
    let time = occurred_at.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [
        tracking_number,
        raw_status,
        time.as_str(),
        message.unwrap_or(""),
    ] {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Parses an RFC 3339 time; a time without an offset is taken to be
/// `default_offset_secs` east of UTC. Empty or unreadable times give `None`.
fn parse_time(s: &str, default_offset_secs: i32) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(s) {
        return Some(time.with_timezone(&Utc));
    }
    let naive = NAIVE_FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(s, format).ok())?;
    let offset = FixedOffset::east_opt(default_offset_secs)?;
    naive
        .and_local_timezone(offset)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// A time in RFC 3339, or without offset meaning UTC.
fn parse_utc_time(s: &str) -> Option<DateTime<Utc>> {
    parse_time(s, 0)
}

/// A time in RFC 3339, or without offset meaning China Standard Time.
fn parse_china_time(s: &str) -> Option<DateTime<Utc>> {
    parse_time(s, CHINA_OFFSET_SECS)
}

/// The trimmed text, or `None` when absent or blank.
fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The non-blank parts joined with ", ", or `None` when all are blank.
fn join_non_empty(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts
        .iter()
        .filter_map(|part| part.map(str::trim))
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

/// Deserializes a JSON string or number (or null) into an optional string: some
/// vendors send ids and codes either way.
fn string_or_number<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    match Option::<serde_json::Value>::deserialize(deserializer)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_json::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or a number, found {other}"
        ))),
    }
}

/// A case-insensitive header lookup over fixed pairs, for tests.
#[cfg(test)]
fn header_map(pairs: Vec<(String, String)>) -> impl Fn(&str) -> Option<String> {
    move |name: &str| {
        pairs
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    }
}

/// A copy of `body` with one byte changed.
#[cfg(test)]
fn tamper(body: &[u8]) -> Vec<u8> {
    let mut tampered = body.to_vec();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'0' { b'1' } else { b'0' };
    tampered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_names_and_serde() {
        for status in TrackingStatus::ALL {
            assert_eq!(TrackingStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            let back: TrackingStatus = serde_json::from_str(&json).unwrap();
            assert_eq!(back, status);
        }
        assert_eq!(TrackingStatus::parse("Delivered"), None);
    }

    #[test]
    fn ranks_never_let_terminal_states_be_overtaken() {
        assert_eq!(TrackingStatus::ALL.map(|s| s.rank()), [0_u8, 1, 2, 4, 2, 4]);
        for status in TrackingStatus::ALL {
            assert_eq!(
                status.is_terminal(),
                matches!(status, TrackingStatus::Delivered | TrackingStatus::Returned)
            );
            if status.is_terminal() {
                assert!(
                    TrackingStatus::ALL
                        .iter()
                        .all(|other| other.rank() <= status.rank())
                );
            }
        }
    }

    #[test]
    fn sources_round_trip_through_their_names() {
        for source in CourierSource::ALL {
            assert_eq!(CourierSource::parse(source.as_str()), Some(source));
        }
        assert_eq!(
            CourierSource::parse("17track"),
            Some(CourierSource::SeventeenTrack)
        );
        assert_eq!(
            CourierSource::parse("sf_express"),
            Some(CourierSource::SfExpress)
        );
        assert_eq!(CourierSource::parse("ups"), None);
    }

    #[test]
    fn replies_are_json_in_each_vendors_format() {
        for source in CourierSource::ALL {
            let (content_type, body) = source.accepted_reply();
            assert_eq!(content_type, "application/json");
            serde_json::from_str::<serde_json::Value>(&body).unwrap();
            let (content_type, body) = source.rejected_reply("bad \"sign\"");
            assert_eq!(content_type, "application/json");
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(body.contains("bad \\\"sign\\\""), "{body}");
            assert!(value.is_object());
        }
        let (_, body) = CourierSource::Kuaidi100.accepted_reply();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["result"], true);
        assert_eq!(value["returnCode"], "200");
        assert_eq!(value["message"], "成功");
        let (_, body) = CourierSource::Kuaidi100.rejected_reply("签名错误");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["result"], false);
        assert_eq!(value["returnCode"], "500");
        assert_eq!(value["message"], "签名错误");
        let (_, body) = CourierSource::SfExpress.rejected_reply("no");
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["return_code"], "1000");
        assert_eq!(value["return_msg"], "no");
    }

    #[test]
    fn an_empty_secret_verifies_nothing() {
        let headers = header_map(vec![(":token".to_owned(), String::new())]);
        assert_eq!(
            CourierSource::SfExpress.verify("", &headers, b"{}"),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }

    #[test]
    fn times_with_and_without_offsets() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            parse_utc_time("2018-07-23T01:21:39-05:00"),
            Some(utc("2018-07-23T06:21:39Z"))
        );
        assert_eq!(
            parse_utc_time("2018-07-23T08:58:00"),
            Some(utc("2018-07-23T08:58:00Z"))
        );
        assert_eq!(
            parse_china_time("2021-12-15 20:15:14"),
            Some(utc("2021-12-15T12:15:14Z"))
        );
        assert_eq!(
            parse_china_time("2021-12-15T20:15:14+08:00"),
            Some(utc("2021-12-15T12:15:14Z"))
        );
        assert_eq!(parse_china_time(""), None);
        assert_eq!(parse_china_time("yesterday"), None);
    }

    #[test]
    fn digests_are_stable_and_sensitive_to_every_part() {
        let time = parse_utc_time("2024-01-01T00:00:00Z");
        let base = digest_event_id("1Z", "Delivered", time, Some("ok"));
        assert_eq!(base.len(), 64);
        assert_eq!(base, digest_event_id("1Z", "Delivered", time, Some("ok")));
        assert_ne!(base, digest_event_id("1Z", "Delivered", time, Some("ok.")));
        assert_ne!(base, digest_event_id("1Z", "Delivered", None, Some("ok")));
        assert_ne!(base, digest_event_id("1Z", "InTransit", time, Some("ok")));
        assert_ne!(base, digest_event_id("1Y", "Delivered", time, Some("ok")));
        // Parts cannot bleed into each other.
        assert_ne!(
            digest_event_id("ab", "c", None, None),
            digest_event_id("a", "bc", None, None)
        );
    }
}
