//! AfterShip tracking webhooks.
//!
//! A push is `{"event": "tracking_update", "event_id", "is_tracking_first_tag",
//! "msg": <Tracking>, "ts"}` signed with `aftership-hmac-sha256` =
//! base64(HMAC-SHA256(secret, raw body)). AfterShip retries up to 14 times, so
//! repeats are recognised by `event_id`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::Mac as _;
use serde::Deserialize;

use super::{Checkpoint, ParseError, TrackingStatus, TrackingUpdate, VerifyError};

/// The signature header.
const SIGNATURE_HEADER: &str = "aftership-hmac-sha256";
/// The only event AfterShip sends today; others are ignored.
const TRACKING_UPDATE: &str = "tracking_update";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Envelope {
    event: Option<String>,
    event_id: Option<String>,
    msg: Option<Tracking>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Tracking {
    tracking_number: Option<String>,
    slug: Option<String>,
    tag: Option<String>,
    subtag_message: Option<String>,
    signed_by: Option<String>,
    checkpoints: Option<Vec<WireCheckpoint>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireCheckpoint {
    tag: Option<String>,
    message: Option<String>,
    location: Option<String>,
    city: Option<String>,
    state: Option<String>,
    country_name: Option<String>,
    checkpoint_time: Option<String>,
}

/// Checks `aftership-hmac-sha256` against the body.
pub(super) fn verify(
    secret: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let signature = header(SIGNATURE_HEADER).ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let signature = BASE64
        .decode(signature.trim())
        .map_err(|e| VerifyError::Malformed(format!("not base64: {e}")))?;
    super::hmac_sha256(secret.as_bytes(), body)?
        .verify_slice(&signature)
        .map_err(|_| VerifyError::Mismatch)
}

/// AfterShip's `tag` in the normalised vocabulary (unknown tags count as in transit).
fn map_tag(tag: &str) -> TrackingStatus {
    match tag {
        "Pending" | "InfoReceived" => TrackingStatus::InfoReceived,
        "OutForDelivery" | "AvailableForPickup" => TrackingStatus::OutForDelivery,
        "AttemptFail" | "Exception" | "Expired" => TrackingStatus::Exception,
        "Delivered" => TrackingStatus::Delivered,
        _ => TrackingStatus::InTransit,
    }
}

/// Parses a `tracking_update` push into one update; other events give none.
pub(super) fn parse(body: &[u8]) -> Result<Vec<TrackingUpdate>, ParseError> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(super::invalid_json)?;
    if envelope
        .event
        .as_deref()
        .is_some_and(|event| event != TRACKING_UPDATE)
    {
        return Ok(Vec::new());
    }
    let tracking = envelope
        .msg
        .ok_or_else(|| ParseError::Invalid("no `msg` tracking".to_owned()))?;
    let tracking_number = super::non_empty(tracking.tracking_number.as_deref())
        .ok_or_else(|| ParseError::Invalid("no `msg.tracking_number`".to_owned()))?;
    let raw_status = tracking.tag.unwrap_or_default();
    let checkpoints: Vec<Checkpoint> = tracking
        .checkpoints
        .unwrap_or_default()
        .into_iter()
        .map(|checkpoint| {
            let raw_status = checkpoint.tag.unwrap_or_default();
            let location = super::non_empty(checkpoint.location.as_deref()).or_else(|| {
                super::join_non_empty(&[
                    checkpoint.city.as_deref(),
                    checkpoint.state.as_deref(),
                    checkpoint.country_name.as_deref(),
                ])
            });
            Checkpoint {
                status: map_tag(&raw_status),
                raw_status,
                message: super::non_empty(checkpoint.message.as_deref()),
                location,
                occurred_at: checkpoint
                    .checkpoint_time
                    .as_deref()
                    .and_then(super::parse_utc_time),
            }
        })
        .collect();
    let latest = checkpoints.last();
    let message = latest
        .and_then(|checkpoint| checkpoint.message.clone())
        .or_else(|| super::non_empty(tracking.subtag_message.as_deref()));
    let location = latest.and_then(|checkpoint| checkpoint.location.clone());
    let occurred_at = latest.and_then(|checkpoint| checkpoint.occurred_at);
    let event_id = super::non_empty(envelope.event_id.as_deref()).unwrap_or_else(|| {
        super::digest_event_id(
            &tracking_number,
            &raw_status,
            occurred_at,
            message.as_deref(),
        )
    });
    Ok(vec![TrackingUpdate {
        event_id,
        tracking_number,
        carrier: super::non_empty(tracking.slug.as_deref()),
        status: map_tag(&raw_status),
        raw_status,
        message,
        location,
        occurred_at,
        signed_by: super::non_empty(tracking.signed_by.as_deref()),
        checkpoints,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::couriers::{CourierSource, header_map, tamper};

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/aftership/sdk-java_GetTrackingResult.json"
    );
    const SECRET: &str = "aftership-webhook-secret";
    const EVENT_ID: &str = "2b6a2e5b-9a39-4a8d-8d7c-6f7e3c8f0a11";

    /// The fixture's Tracking wrapped in a webhook envelope, as AfterShip sends it.
    fn push_body() -> Vec<u8> {
        let fixture: serde_json::Value =
            serde_json::from_slice(&std::fs::read(FIXTURE).expect("fixture file"))
                .expect("fixture JSON");
        let msg = fixture["data"]["tracking"].clone();
        assert!(msg.is_object());
        serde_json::to_vec(&serde_json::json!({
            "event": "tracking_update",
            "event_id": EVENT_ID,
            "is_tracking_first_tag": false,
            "msg": msg,
            "ts": 1_534_482_646,
        }))
        .unwrap()
    }

    fn sign(secret: &str, body: &[u8]) -> String {
        let mac = crate::couriers::hmac_sha256(secret.as_bytes(), body).unwrap();
        base64::Engine::encode(&BASE64, hmac::Mac::finalize(mac).into_bytes())
    }

    fn headers(signature: String) -> impl Fn(&str) -> Option<String> {
        header_map(vec![("Aftership-Hmac-Sha256".to_owned(), signature)])
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_good_signature_verifies_and_bad_ones_do_not() {
        let source = CourierSource::AfterShip;
        let body = push_body();
        let good = headers(sign(SECRET, &body));
        assert_eq!(source.verify(SECRET, &good, &body), Ok(()));
        assert_eq!(
            source.verify(SECRET, &good, &tamper(&body)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify("another-secret", &good, &body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify(SECRET, &header_map(Vec::new()), &body),
            Err(VerifyError::Missing("aftership-hmac-sha256"))
        );
        assert!(matches!(
            source.verify(SECRET, &headers("not base64!".to_owned()), &body),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn the_fixture_tracking_parses_into_one_delivered_update() {
        let updates = CourierSource::AfterShip
            .parse_push(&push_body(), None)
            .unwrap();
        assert_eq!(updates.len(), 1);
        let update = &updates[0];
        assert_eq!(update.event_id, EVENT_ID);
        assert_eq!(update.tracking_number, "111111111111");
        assert_eq!(update.carrier.as_deref(), Some("fedex"));
        assert_eq!(update.status, TrackingStatus::Delivered);
        assert_eq!(update.raw_status, "Delivered");
        assert_eq!(update.message.as_deref(), Some("Delivered"));
        assert_eq!(update.location.as_deref(), Some("SAPPORO JP"));
        assert_eq!(update.occurred_at, Some(utc("2018-07-25T01:10:00Z")));
        assert_eq!(update.signed_by.as_deref(), Some("..KOSUTOKO"));
        assert_eq!(update.checkpoints.len(), 14);
        let first = &update.checkpoints[0];
        assert_eq!(first.status, TrackingStatus::InfoReceived);
        assert_eq!(first.raw_status, "InfoReceived");
        assert_eq!(
            first.message.as_deref(),
            Some("Shipment information sent to FedEx")
        );
        assert_eq!(first.location, None);
        assert_eq!(first.occurred_at, Some(utc("2018-07-23T06:21:39Z")));
        let second = &update.checkpoints[1];
        assert_eq!(second.status, TrackingStatus::InTransit);
        assert_eq!(second.location.as_deref(), Some("DONGGUAN CN"));
        assert_eq!(
            update.checkpoints[12].status,
            TrackingStatus::OutForDelivery
        );
    }

    #[test]
    fn a_push_without_event_id_gets_a_stable_digest() {
        let body = br#"{"event":"tracking_update","msg":{"tracking_number":"1Z9","slug":"ups","tag":"InTransit","checkpoints":[{"tag":"InTransit","message":"Departed","city":"Leeds","country_name":"United Kingdom","checkpoint_time":"2024-03-01T10:00:00"}]}}"#;
        let first = parse(body).unwrap();
        let again = parse(body).unwrap();
        assert_eq!(first, again);
        assert_eq!(first[0].event_id.len(), 64);
        assert_eq!(first[0].location.as_deref(), Some("Leeds, United Kingdom"));
        assert_eq!(first[0].occurred_at, Some(utc("2024-03-01T10:00:00Z")));
        assert_eq!(first[0].signed_by, None);
    }

    #[test]
    fn other_events_are_ignored_and_garbage_is_refused() {
        assert_eq!(
            parse(br#"{"event":"something_else","msg":{}}"#).unwrap(),
            Vec::<TrackingUpdate>::new()
        );
        assert!(parse(b"not json").is_err());
        assert!(parse(br#"{"event":"tracking_update"}"#).is_err());
        assert!(parse(br#"{"event":"tracking_update","msg":{"tag":"Delivered"}}"#).is_err());
    }

    #[test]
    fn every_tag_maps() {
        let table = [
            ("Pending", TrackingStatus::InfoReceived),
            ("InfoReceived", TrackingStatus::InfoReceived),
            ("InTransit", TrackingStatus::InTransit),
            ("OutForDelivery", TrackingStatus::OutForDelivery),
            ("AvailableForPickup", TrackingStatus::OutForDelivery),
            ("AttemptFail", TrackingStatus::Exception),
            ("Exception", TrackingStatus::Exception),
            ("Expired", TrackingStatus::Exception),
            ("Delivered", TrackingStatus::Delivered),
            ("SomethingNew", TrackingStatus::InTransit),
        ];
        for (tag, status) in table {
            assert_eq!(map_tag(tag), status, "{tag}");
        }
    }
}
