//! EasyPost `tracker.*` events.
//!
//! A push is an Event `{"object": "Event", "id": "evt_…", "description":
//! "tracker.updated", "result": <Tracker>}` signed with `X-Hmac-Signature:
//! hmac-sha256-hex=<hex HMAC-SHA256(NFKD(secret) as UTF-8, raw body)>`.

use hmac::Mac as _;
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization as _;

use super::{Checkpoint, ParseError, TrackingStatus, TrackingUpdate, VerifyError};

/// The signature header.
const SIGNATURE_HEADER: &str = "X-Hmac-Signature";
/// The scheme prefix of the signature header's value.
const SIGNATURE_PREFIX: &str = "hmac-sha256-hex=";
/// The description prefix of the events that carry a Tracker.
const TRACKER_EVENT_PREFIX: &str = "tracker.";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    id: Option<String>,
    description: Option<String>,
    result: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Tracker {
    tracking_code: Option<String>,
    status: Option<String>,
    carrier: Option<String>,
    signed_by: Option<String>,
    tracking_details: Option<Vec<TrackingDetail>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrackingDetail {
    status: Option<String>,
    message: Option<String>,
    datetime: Option<String>,
    tracking_location: Option<TrackingLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrackingLocation {
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
    zip: Option<String>,
}

/// Checks `X-Hmac-Signature` against the body.
pub(super) fn verify(
    secret: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let value = header(SIGNATURE_HEADER).ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let encoded = value
        .trim()
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or_else(|| VerifyError::Malformed(format!("expected a `{SIGNATURE_PREFIX}` value")))?;
    let signature =
        hex::decode(encoded).map_err(|e| VerifyError::Malformed(format!("not hex: {e}")))?;
    let key: String = secret.nfkd().collect();
    super::hmac_sha256(key.as_bytes(), body)?
        .verify_slice(&signature)
        .map_err(|_| VerifyError::Mismatch)
}

/// A Tracker's `status` in the normalised vocabulary (unknown values count as in
/// transit; EasyPost's own `unknown` means it has no scan yet).
fn map_status(status: &str) -> TrackingStatus {
    match status {
        "unknown" | "pre_transit" => TrackingStatus::InfoReceived,
        "out_for_delivery" | "available_for_pickup" => TrackingStatus::OutForDelivery,
        "delivered" => TrackingStatus::Delivered,
        "return_to_sender" => TrackingStatus::Returned,
        "failure" | "cancelled" | "error" => TrackingStatus::Exception,
        _ => TrackingStatus::InTransit,
    }
}

/// Parses a `tracker.*` event into one update; other events give none.
pub(super) fn parse(body: &[u8]) -> Result<Vec<TrackingUpdate>, ParseError> {
    let event: Event = serde_json::from_slice(body).map_err(super::invalid_json)?;
    let is_tracker_event = event
        .description
        .as_deref()
        .is_some_and(|description| description.starts_with(TRACKER_EVENT_PREFIX));
    if !is_tracker_event {
        return Ok(Vec::new());
    }
    let result = event
        .result
        .ok_or_else(|| ParseError::Invalid("no `result` tracker".to_owned()))?;
    let tracker: Tracker = serde_json::from_value(result).map_err(super::invalid_json)?;
    let tracking_number = super::non_empty(tracker.tracking_code.as_deref())
        .ok_or_else(|| ParseError::Invalid("no `result.tracking_code`".to_owned()))?;
    let raw_status = tracker.status.unwrap_or_default();
    let checkpoints: Vec<Checkpoint> = tracker
        .tracking_details
        .unwrap_or_default()
        .into_iter()
        .map(|detail| {
            let raw_status = detail.status.unwrap_or_default();
            let location = detail.tracking_location.and_then(|location| {
                super::join_non_empty(&[
                    location.city.as_deref(),
                    location.state.as_deref(),
                    location.country.as_deref(),
                    location.zip.as_deref(),
                ])
            });
            Checkpoint {
                status: map_status(&raw_status),
                raw_status,
                message: super::non_empty(detail.message.as_deref()),
                location,
                occurred_at: detail.datetime.as_deref().and_then(super::parse_utc_time),
            }
        })
        .collect();
    let latest = checkpoints.last();
    let message = latest.and_then(|checkpoint| checkpoint.message.clone());
    let location = latest.and_then(|checkpoint| checkpoint.location.clone());
    let occurred_at = latest.and_then(|checkpoint| checkpoint.occurred_at);
    let event_id = super::non_empty(event.id.as_deref()).unwrap_or_else(|| {
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
        carrier: super::non_empty(tracker.carrier.as_deref()),
        status: map_status(&raw_status),
        raw_status,
        message,
        location,
        occurred_at,
        signed_by: super::non_empty(tracker.signed_by.as_deref()),
        checkpoints,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::couriers::{CourierSource, header_map, tamper};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/easypost");

    /// The body EasyPost signed: the fixture file without its trailing newline.
    fn event_body() -> Vec<u8> {
        let mut body = std::fs::read(format!("{FIXTURES}/event-body.json")).expect("fixture file");
        if body.last() == Some(&b'\n') {
            body.pop();
        }
        body
    }

    /// The fixture's secret and expected `X-Hmac-Signature` value.
    fn vector() -> (String, String) {
        let text = std::fs::read(format!(
            "{FIXTURES}/client-library-fixtures.webhooks-excerpt.json"
        ))
        .expect("fixture file");
        let fixture: serde_json::Value = serde_json::from_slice(&text).expect("fixture JSON");
        let webhooks = &fixture["webhooks"];
        (
            webhooks["secret"].as_str().unwrap().to_owned(),
            webhooks["hmac_signature"].as_str().unwrap().to_owned(),
        )
    }

    fn headers(value: String) -> impl Fn(&str) -> Option<String> {
        header_map(vec![("x-hmac-signature".to_owned(), value)])
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn the_official_signature_vector_verifies() {
        let (secret, expected) = vector();
        assert_eq!(secret, "sécret");
        assert!(expected.starts_with("hmac-sha256-hex="));
        let body = event_body();
        let source = CourierSource::EasyPost;
        assert_eq!(
            source.verify(&secret, &headers(expected.clone()), &body),
            Ok(())
        );
        // Upper-case hex is the same signature.
        let upper = format!(
            "hmac-sha256-hex={}",
            expected
                .trim_start_matches("hmac-sha256-hex=")
                .to_uppercase()
        );
        assert_eq!(source.verify(&secret, &headers(upper), &body), Ok(()));
        // The composed and decomposed spellings of the secret are one key.
        let decomposed = "se\u{301}cret";
        assert_ne!(decomposed, secret);
        assert_eq!(source.verify(decomposed, &headers(expected), &body), Ok(()));
    }

    #[test]
    fn bad_signatures_are_refused() {
        let (secret, expected) = vector();
        let body = event_body();
        let source = CourierSource::EasyPost;
        assert_eq!(
            source.verify(&secret, &headers(expected.clone()), &tamper(&body)),
            Err(VerifyError::Mismatch)
        );
        // The file as stored, with its newline, is not what was signed.
        let mut with_newline = body.clone();
        with_newline.push(b'\n');
        assert_eq!(
            source.verify(&secret, &headers(expected.clone()), &with_newline),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify("secret", &headers(expected.clone()), &body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify(&secret, &header_map(Vec::new()), &body),
            Err(VerifyError::Missing("X-Hmac-Signature"))
        );
        let bare = expected.trim_start_matches("hmac-sha256-hex=").to_owned();
        assert!(matches!(
            source.verify(&secret, &headers(bare), &body),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            source.verify(&secret, &headers("hmac-sha256-hex=zz".to_owned()), &body),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn the_fixture_event_parses_into_one_in_transit_update() {
        let updates = CourierSource::EasyPost
            .parse_push(&event_body(), Some("application/json"))
            .unwrap();
        assert_eq!(updates.len(), 1);
        let update = &updates[0];
        assert_eq!(update.event_id, "evt_1");
        assert_eq!(update.tracking_number, "1");
        assert_eq!(update.carrier.as_deref(), Some("FedEx"));
        assert_eq!(update.status, TrackingStatus::InTransit);
        assert_eq!(update.raw_status, "in_transit");
        assert_eq!(update.message.as_deref(), Some("Arrived at FedEx location"));
        assert_eq!(update.location.as_deref(), Some("EDISON, NJ, US, 08817"));
        assert_eq!(update.occurred_at, Some(utc("2024-08-02T18:50:00Z")));
        assert_eq!(update.signed_by, None);
        assert_eq!(update.checkpoints.len(), 7);
        let first = &update.checkpoints[0];
        assert_eq!(first.status, TrackingStatus::InfoReceived);
        assert_eq!(first.raw_status, "pre_transit");
        assert_eq!(
            first.message.as_deref(),
            Some("Shipment information sent to FedEx")
        );
        assert_eq!(first.location.as_deref(), Some("US, 32837"));
        assert_eq!(first.occurred_at, Some(utc("2024-07-31T15:00:00Z")));
        assert_eq!(
            update.checkpoints[1].location.as_deref(),
            Some("ORLANDO, FL, US, 32809")
        );
    }

    #[test]
    fn non_tracker_events_are_ignored_and_garbage_is_refused() {
        let batch = br#"{"object":"Event","id":"evt_2","description":"batch.updated","result":{"object":"Batch"}}"#;
        assert_eq!(parse(batch).unwrap(), Vec::<TrackingUpdate>::new());
        assert_eq!(
            parse(br#"{"object":"Event"}"#).unwrap(),
            Vec::<TrackingUpdate>::new()
        );
        assert!(parse(b"<xml/>").is_err());
        assert!(parse(br#"{"description":"tracker.updated"}"#).is_err());
        assert!(
            parse(br#"{"description":"tracker.updated","result":{"status":"delivered"}}"#).is_err()
        );
    }

    #[test]
    fn a_tracker_without_details_has_no_time() {
        let body = br#"{"description":"tracker.created","id":"evt_3","result":{"tracking_code":"EZ1","status":"delivered","signed_by":"J. Doe","tracking_details":null}}"#;
        let update = &parse(body).unwrap()[0];
        assert_eq!(update.status, TrackingStatus::Delivered);
        assert_eq!(update.signed_by.as_deref(), Some("J. Doe"));
        assert_eq!(update.occurred_at, None);
        assert!(update.checkpoints.is_empty());
    }

    #[test]
    fn every_status_maps() {
        let table = [
            ("unknown", TrackingStatus::InfoReceived),
            ("pre_transit", TrackingStatus::InfoReceived),
            ("in_transit", TrackingStatus::InTransit),
            ("out_for_delivery", TrackingStatus::OutForDelivery),
            ("available_for_pickup", TrackingStatus::OutForDelivery),
            ("delivered", TrackingStatus::Delivered),
            ("return_to_sender", TrackingStatus::Returned),
            ("failure", TrackingStatus::Exception),
            ("cancelled", TrackingStatus::Exception),
            ("error", TrackingStatus::Exception),
            ("something_new", TrackingStatus::InTransit),
        ];
        for (raw, status) in table {
            assert_eq!(map_status(raw), status, "{raw}");
        }
    }
}
