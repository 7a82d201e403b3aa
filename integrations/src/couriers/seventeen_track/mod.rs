//! 17TRACK webhooks (API v2).
//!
//! A push is `{"event": "TRACKING_UPDATED" | "TRACKING_STOPPED", "data": {"number",
//! "carrier", "track_info": {…}}}` signed with the header `sign` = hex(SHA-256(raw
//! body + "/" + api key)).

use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::{Checkpoint, ParseError, TrackingStatus, TrackingUpdate, VerifyError};

/// The signature header.
const SIGNATURE_HEADER: &str = "sign";
/// The event that carries tracking.
const TRACKING_UPDATED: &str = "TRACKING_UPDATED";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Push {
    event: Option<String>,
    data: Option<Data>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Data {
    #[serde(deserialize_with = "super::string_or_number")]
    number: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    carrier: Option<String>,
    track_info: Option<TrackInfo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TrackInfo {
    latest_status: Option<LatestStatus>,
    latest_event: Option<Event>,
    tracking: Option<Tracking>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LatestStatus {
    status: Option<String>,
    sub_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Tracking {
    providers: Option<Vec<Provider>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Provider {
    events: Option<Vec<Event>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Event {
    time_iso: Option<String>,
    time_utc: Option<String>,
    description: Option<String>,
    location: Option<String>,
    stage: Option<String>,
    sub_status: Option<String>,
}

impl Event {
    /// The event's time, from `time_utc` or else `time_iso`.
    fn occurred_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.time_utc
            .as_deref()
            .and_then(super::parse_utc_time)
            .or_else(|| self.time_iso.as_deref().and_then(super::parse_utc_time))
    }
}

/// The digest 17TRACK signs with: SHA-256(body + "/" + key).
fn expected_sign(key: &str, body: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"/");
    hasher.update(key.as_bytes());
    hasher.finalize().to_vec()
}

/// Checks the `sign` header against the body.
pub(super) fn verify(
    secret: &str,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let sign = header(SIGNATURE_HEADER).ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let sign =
        hex::decode(sign.trim()).map_err(|e| VerifyError::Malformed(format!("not hex: {e}")))?;
    if super::ct_eq(&sign, &expected_sign(secret, body)) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// 17TRACK's main status in the normalised vocabulary; a sub-status about a
/// return (`…_Returning`, `…_Returned`) wins. Unknown statuses count as in transit.
fn map_status(status: &str, sub_status: Option<&str>) -> TrackingStatus {
    if sub_status.is_some_and(|sub| sub.contains("Returned") || sub.contains("Returning")) {
        return TrackingStatus::Returned;
    }
    match status {
        "InfoReceived" | "NotFound" => TrackingStatus::InfoReceived,
        "OutForDelivery" | "AvailableForPickup" => TrackingStatus::OutForDelivery,
        "Delivered" => TrackingStatus::Delivered,
        "Exception" | "DeliveryFailure" | "Expired" => TrackingStatus::Exception,
        _ => TrackingStatus::InTransit,
    }
}

/// A history event's stage (a milestone key) in the normalised vocabulary.
fn map_stage(stage: &str) -> TrackingStatus {
    match stage {
        "InfoReceived" => TrackingStatus::InfoReceived,
        "AvailableForPickup" | "OutForDelivery" => TrackingStatus::OutForDelivery,
        "Delivered" => TrackingStatus::Delivered,
        "Returning" | "Returned" => TrackingStatus::Returned,
        _ => TrackingStatus::InTransit,
    }
}

/// A history event as a checkpoint: its sub-status (`<Status>_<Detail>`) decides
/// when given, else its stage.
fn checkpoint(event: &Event) -> Checkpoint {
    let sub_status = super::non_empty(event.sub_status.as_deref());
    let stage = super::non_empty(event.stage.as_deref());
    let status = match (&sub_status, &stage) {
        (Some(sub), _) => {
            let main = sub.split('_').next().unwrap_or_default();
            map_status(main, Some(sub.as_str()))
        }
        (None, Some(stage)) => map_stage(stage),
        (None, None) => TrackingStatus::InTransit,
    };
    Checkpoint {
        status,
        raw_status: stage.or(sub_status).unwrap_or_default(),
        message: super::non_empty(event.description.as_deref()),
        location: super::non_empty(event.location.as_deref()),
        occurred_at: event.occurred_at(),
    }
}

/// Parses a `TRACKING_UPDATED` push into one update; `TRACKING_STOPPED` (and any
/// other event) gives none.
pub(super) fn parse(body: &[u8]) -> Result<Vec<TrackingUpdate>, ParseError> {
    let push: Push = serde_json::from_slice(body).map_err(super::invalid_json)?;
    let event = push
        .event
        .ok_or_else(|| ParseError::Invalid("no `event`".to_owned()))?;
    if event != TRACKING_UPDATED {
        return Ok(Vec::new());
    }
    let data = push
        .data
        .ok_or_else(|| ParseError::Invalid("no `data`".to_owned()))?;
    let tracking_number = super::non_empty(data.number.as_deref())
        .ok_or_else(|| ParseError::Invalid("no `data.number`".to_owned()))?;
    let track_info = data.track_info.unwrap_or_default();
    let latest_status = track_info.latest_status.unwrap_or_default();
    let raw_status = latest_status
        .status
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let status = map_status(&raw_status, latest_status.sub_status.as_deref());
    // Each provider lists its events newest first; merge them oldest first.
    let mut checkpoints: Vec<Checkpoint> = track_info
        .tracking
        .and_then(|tracking| tracking.providers)
        .unwrap_or_default()
        .iter()
        .flat_map(|provider| provider.events.iter().flatten().rev())
        .map(checkpoint)
        .collect();
    checkpoints.sort_by_key(|checkpoint| checkpoint.occurred_at);
    let (message, location, occurred_at) = match &track_info.latest_event {
        Some(latest) => (
            super::non_empty(latest.description.as_deref()),
            super::non_empty(latest.location.as_deref()),
            latest.occurred_at(),
        ),
        None => checkpoints.last().map_or((None, None, None), |latest| {
            (
                latest.message.clone(),
                latest.location.clone(),
                latest.occurred_at,
            )
        }),
    };
    let event_id = super::digest_event_id(
        &tracking_number,
        &raw_status,
        occurred_at,
        message.as_deref(),
    );
    Ok(vec![TrackingUpdate {
        event_id,
        tracking_number,
        carrier: super::non_empty(data.carrier.as_deref()),
        status,
        raw_status,
        message,
        location,
        occurred_at,
        signed_by: None,
        checkpoints,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::couriers::{CourierSource, header_map, tamper};

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/17track/mock_17track_webhook.json"
    );
    const API_KEY: &str = "17track-api-key";

    fn push_body() -> Vec<u8> {
        std::fs::read(FIXTURE).expect("fixture file")
    }

    fn headers(sign: String) -> impl Fn(&str) -> Option<String> {
        header_map(vec![("Sign".to_owned(), sign)])
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_good_sign_verifies_and_bad_ones_do_not() {
        let source = CourierSource::SeventeenTrack;
        let body = push_body();
        let sign = hex::encode(expected_sign(API_KEY, &body));
        assert_eq!(sign.len(), 64);
        // The sign is SHA-256 over body, "/", key, spelled out independently.
        let mut signed = body.clone();
        signed.extend_from_slice(b"/");
        signed.extend_from_slice(API_KEY.as_bytes());
        assert_eq!(sign, hex::encode(<Sha256 as sha2::Digest>::digest(&signed)));
        assert_eq!(
            source.verify(API_KEY, &headers(sign.clone()), &body),
            Ok(())
        );
        assert_eq!(
            source.verify(API_KEY, &headers(sign.to_uppercase()), &body),
            Ok(())
        );
        assert_eq!(
            source.verify(API_KEY, &headers(sign.clone()), &tamper(&body)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify("other-key", &headers(sign.clone()), &body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify(API_KEY, &header_map(Vec::new()), &body),
            Err(VerifyError::Missing("sign"))
        );
        assert!(matches!(
            source.verify(API_KEY, &headers("xyz".to_owned()), &body),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn the_fixture_push_parses_into_one_delivered_update() {
        let updates = CourierSource::SeventeenTrack
            .parse_push(&push_body(), Some("application/json"))
            .unwrap();
        assert_eq!(updates.len(), 1);
        let update = &updates[0];
        assert_eq!(update.event_id.len(), 64);
        assert_eq!(update.tracking_number, "1Z2617V10397725789");
        assert_eq!(update.carrier.as_deref(), Some("3011"));
        assert_eq!(update.status, TrackingStatus::Delivered);
        assert_eq!(update.raw_status, "Delivered");
        assert_eq!(update.message.as_deref(), Some("DELIVERED"));
        assert_eq!(update.location.as_deref(), Some("GASQUET, CA, US"));
        assert_eq!(update.occurred_at, Some(utc("2022-04-04T23:35:22Z")));
        assert_eq!(update.signed_by, None);
        assert_eq!(update.checkpoints.len(), 5);
        let first = &update.checkpoints[0];
        assert_eq!(
            first.message.as_deref(),
            Some("Shipper created a label, UPS has not received the package yet.")
        );
        assert_eq!(first.status, TrackingStatus::InfoReceived);
        assert_eq!(first.raw_status, "InfoReceived");
        assert_eq!(first.location.as_deref(), Some("US"));
        assert_eq!(first.occurred_at, Some(utc("2022-03-29T05:43:08Z")));
        let statuses: Vec<TrackingStatus> = update.checkpoints.iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [
                TrackingStatus::InfoReceived,
                TrackingStatus::InTransit,
                TrackingStatus::InTransit,
                TrackingStatus::OutForDelivery,
                TrackingStatus::Delivered,
            ]
        );
        assert_eq!(
            update.checkpoints[1].message.as_deref(),
            Some("Origin Scan")
        );
        assert_eq!(update.checkpoints[1].raw_status, "");
        // The same push again is recognised by its digest.
        let again = parse(&push_body()).unwrap();
        assert_eq!(again[0].event_id, update.event_id);
    }

    #[test]
    fn stopped_and_other_events_give_nothing_and_garbage_is_refused() {
        let stopped = br#"{"event":"TRACKING_STOPPED","data":{"number":"1Z","carrier":3011}}"#;
        assert_eq!(parse(stopped).unwrap(), Vec::<TrackingUpdate>::new());
        assert_eq!(
            parse(br#"{"event":"OTHER"}"#).unwrap(),
            Vec::<TrackingUpdate>::new()
        );
        assert!(parse(br#"{"data":{}}"#).is_err());
        assert!(parse(br#"{"event":"TRACKING_UPDATED"}"#).is_err());
        assert!(parse(br#"{"event":"TRACKING_UPDATED","data":{"carrier":1}}"#).is_err());
        assert!(parse(b"sign=1").is_err());
    }

    #[test]
    fn a_returning_sub_status_wins() {
        let body = br#"{"event":"TRACKING_UPDATED","data":{"number":"RR1","carrier":"190271","track_info":{"latest_status":{"status":"Exception","sub_status":"Exception_Returning"},"latest_event":null,"tracking":{"providers":[{"events":[{"time_utc":"2024-05-02T10:00:00Z","description":"Returning to sender","sub_status":"Exception_Returning"},{"time_utc":"2024-05-01T10:00:00Z","description":"Accepted","sub_status":"InTransit_PickedUp"}]}]}}}}"#;
        let update = &parse(body).unwrap()[0];
        assert_eq!(update.status, TrackingStatus::Returned);
        assert_eq!(update.raw_status, "Exception");
        assert_eq!(update.carrier.as_deref(), Some("190271"));
        assert_eq!(update.message.as_deref(), Some("Returning to sender"));
        assert_eq!(update.occurred_at, Some(utc("2024-05-02T10:00:00Z")));
        assert_eq!(update.checkpoints[0].status, TrackingStatus::InTransit);
        assert_eq!(update.checkpoints[0].raw_status, "InTransit_PickedUp");
        assert_eq!(update.checkpoints[1].status, TrackingStatus::Returned);
    }

    #[test]
    fn every_status_maps() {
        let table = [
            ("InfoReceived", None, TrackingStatus::InfoReceived),
            ("NotFound", None, TrackingStatus::InfoReceived),
            ("InTransit", None, TrackingStatus::InTransit),
            ("OutForDelivery", None, TrackingStatus::OutForDelivery),
            ("AvailableForPickup", None, TrackingStatus::OutForDelivery),
            (
                "Delivered",
                Some("Delivered_Other"),
                TrackingStatus::Delivered,
            ),
            ("Exception", None, TrackingStatus::Exception),
            ("DeliveryFailure", None, TrackingStatus::Exception),
            ("Expired", None, TrackingStatus::Exception),
            (
                "Exception",
                Some("Exception_Returned"),
                TrackingStatus::Returned,
            ),
            (
                "Exception",
                Some("Exception_Returning"),
                TrackingStatus::Returned,
            ),
            ("SomethingNew", None, TrackingStatus::InTransit),
        ];
        for (status, sub_status, expected) in table {
            assert_eq!(
                map_status(status, sub_status),
                expected,
                "{status} {sub_status:?}"
            );
        }
        let stages = [
            ("InfoReceived", TrackingStatus::InfoReceived),
            ("PickedUp", TrackingStatus::InTransit),
            ("Departure", TrackingStatus::InTransit),
            ("Arrival", TrackingStatus::InTransit),
            ("AvailableForPickup", TrackingStatus::OutForDelivery),
            ("OutForDelivery", TrackingStatus::OutForDelivery),
            ("Delivered", TrackingStatus::Delivered),
            ("Returning", TrackingStatus::Returned),
            ("Returned", TrackingStatus::Returned),
        ];
        for (stage, expected) in stages {
            assert_eq!(map_stage(stage), expected, "{stage}");
        }
    }
}
