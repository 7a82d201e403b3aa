//! Kuaidi100 (快递100) subscription pushes.
//!
//! A push is an `application/x-www-form-urlencoded` POST with the fields `param`
//! (a JSON document) and `sign` = upper-case hex MD5(param + salt), the salt being
//! the account's secret. `param.lastResult` holds the shipment's state and its
//! `data[]` history, newest first, in China Standard Time. Kuaidi100 keeps
//! retrying until it gets `{"result": true, "returnCode": "200", ...}` back.

use md5::{Digest as _, Md5};
use serde::Deserialize;

use super::{Checkpoint, ParseError, TrackingStatus, TrackingUpdate, VerifyError};

/// The form field holding the push.
const PARAM_FIELD: &str = "param";
/// The form field holding the signature.
const SIGN_FIELD: &str = "sign";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Param {
    // `status` (polling, shutdown, abort, updateall) is about the subscription,
    // not the parcel, and is not read.
    #[serde(rename = "lastResult")]
    last_result: Option<LastResult>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LastResult {
    nu: Option<String>,
    com: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    state: Option<String>,
    data: Option<Vec<Entry>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Entry {
    time: Option<String>,
    ftime: Option<String>,
    context: Option<String>,
    area_name: Option<String>,
    location: Option<String>,
    status: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    status_code: Option<String>,
}

/// The form fields `param` and `sign` of a form-encoded body.
fn form_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let mut param = None;
    let mut sign = None;
    for (name, value) in form_urlencoded::parse(body) {
        match &*name {
            PARAM_FIELD if param.is_none() => param = Some(value.into_owned()),
            SIGN_FIELD if sign.is_none() => sign = Some(value.into_owned()),
            _ => {}
        }
    }
    (param, sign)
}

/// The signature Kuaidi100 computes: MD5(param + salt), as raw bytes.
fn expected_sign(param: &str, salt: &str) -> Vec<u8> {
    let mut hasher = Md5::new();
    hasher.update(param.as_bytes());
    hasher.update(salt.as_bytes());
    hasher.finalize().to_vec()
}

/// Checks the body's `sign` field against MD5(param + secret). Kuaidi100 sends
/// upper-case hex; either case is accepted.
pub(super) fn verify(secret: &str, body: &[u8]) -> Result<(), VerifyError> {
    let (param, sign) = form_fields(body);
    let sign = sign.ok_or(VerifyError::Missing(SIGN_FIELD))?;
    let param =
        param.ok_or_else(|| VerifyError::Malformed("the form has no `param` field".to_owned()))?;
    let sign =
        hex::decode(sign.trim()).map_err(|e| VerifyError::Malformed(format!("not hex: {e}")))?;
    if super::ct_eq(&sign, &expected_sign(&param, secret)) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// A Kuaidi100 state code in the normalised vocabulary: 0 在途, 1 揽收, 2 疑难,
/// 3 签收, 4 退签, 5 派件, 6 退回, 7 转投, 14 拒签; anything else (customs 8–13,
/// new codes) counts as in transit. Three-digit sub-states of the detailed result
/// format (e.g. 301 本人签收) follow their leading main state, except 101 已下单
/// and 102 待揽收, which are info received.
fn map_state(state: &str) -> TrackingStatus {
    let state = state.trim();
    match state {
        "101" | "102" => TrackingStatus::InfoReceived,
        "0" | "1" | "7" => TrackingStatus::InTransit,
        "2" | "4" | "14" => TrackingStatus::Exception,
        "3" => TrackingStatus::Delivered,
        "5" => TrackingStatus::OutForDelivery,
        "6" => TrackingStatus::Returned,
        sub if sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit()) => map_state(&sub[..1]),
        sub if sub.len() == 4 && sub.starts_with("14") => TrackingStatus::Exception,
        _ => TrackingStatus::InTransit,
    }
}

/// A history entry's Chinese status name in the normalised vocabulary.
fn map_status_name(name: &str) -> TrackingStatus {
    match name.trim() {
        "签收" => TrackingStatus::Delivered,
        "派件" => TrackingStatus::OutForDelivery,
        "疑难" | "退签" | "拒签" => TrackingStatus::Exception,
        "退回" => TrackingStatus::Returned,
        _ => TrackingStatus::InTransit,
    }
}

/// Parses a push into one update. Only the form's `param` field is read —
/// exactly the text the signature covers, whatever else the body holds (a
/// body read any other way could carry forged data beside a captured,
/// genuinely signed `param`). A push without `lastResult` (or without a
/// tracking number) gives no update.
pub(super) fn parse(
    body: &[u8],
    _content_type: Option<&str>,
) -> Result<Vec<TrackingUpdate>, ParseError> {
    let (param, _) = form_fields(body);
    let param =
        param.ok_or_else(|| ParseError::Invalid("the form has no `param` field".to_owned()))?;
    let param: Param = serde_json::from_str(&param).map_err(super::invalid_json)?;
    let Some(last) = param.last_result else {
        return Ok(Vec::new());
    };
    let Some(tracking_number) = super::non_empty(last.nu.as_deref()) else {
        return Ok(Vec::new());
    };
    let raw_status = last
        .state
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    // Kuaidi100 lists the newest entry first.
    let mut checkpoints: Vec<Checkpoint> = last
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|entry| {
            let code = super::non_empty(entry.status_code.as_deref());
            let name = super::non_empty(entry.status.as_deref());
            let status = match (&code, &name) {
                (Some(code), _) => map_state(code),
                (None, Some(name)) => map_status_name(name),
                (None, None) => TrackingStatus::InTransit,
            };
            let time = super::non_empty(entry.time.as_deref())
                .or_else(|| super::non_empty(entry.ftime.as_deref()));
            Checkpoint {
                status,
                raw_status: name.or(code).unwrap_or_default(),
                message: super::non_empty(entry.context.as_deref()),
                location: super::non_empty(entry.area_name.as_deref())
                    .or_else(|| super::non_empty(entry.location.as_deref())),
                occurred_at: time.as_deref().and_then(super::parse_china_time),
            }
        })
        .collect();
    checkpoints.reverse();
    let latest = checkpoints.last();
    let message = latest.and_then(|checkpoint| checkpoint.message.clone());
    let location = latest.and_then(|checkpoint| checkpoint.location.clone());
    let occurred_at = latest.and_then(|checkpoint| checkpoint.occurred_at);
    let status = if raw_status.is_empty() {
        latest.map_or(TrackingStatus::InTransit, |checkpoint| checkpoint.status)
    } else {
        map_state(&raw_status)
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
        carrier: super::non_empty(last.com.as_deref()),
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
        "/../tests/fixtures/kuaidi100/push_param_yuantong_2021_resultv2.json"
    );
    const SALT: &str = "kuaidi100-salt";

    fn param() -> String {
        let param = std::fs::read_to_string(FIXTURE).expect("fixture file");
        param.trim_end().to_owned()
    }

    fn upper_sign(param: &str, salt: &str) -> String {
        hex::encode_upper(expected_sign(param, salt))
    }

    /// The form body Kuaidi100 posts for `param`.
    fn form(param: &str, sign: &str) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("sign", sign)
            .append_pair("param", param)
            .finish()
            .into_bytes()
    }

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    #[test]
    fn a_good_sign_verifies_and_bad_ones_do_not() {
        let source = CourierSource::Kuaidi100;
        let no_headers = header_map(Vec::new());
        let param = param();
        let sign = upper_sign(&param, SALT);
        assert_eq!(sign.len(), 32);
        let body = form(&param, &sign);
        assert_eq!(source.verify(SALT, &no_headers, &body), Ok(()));
        let lower = form(&param, &sign.to_lowercase());
        assert_eq!(source.verify(SALT, &no_headers, &lower), Ok(()));
        assert_eq!(
            source.verify(SALT, &no_headers, &tamper(&body)),
            Err(VerifyError::Mismatch)
        );
        let changed = form(&param.replace("YT6186594166532", "YT6186594166533"), &sign);
        assert_eq!(
            source.verify(SALT, &no_headers, &changed),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify("wrong-salt", &no_headers, &body),
            Err(VerifyError::Mismatch)
        );
        let unsigned = form_urlencoded::Serializer::new(String::new())
            .append_pair("param", &param)
            .finish();
        assert_eq!(
            source.verify(SALT, &no_headers, unsigned.as_bytes()),
            Err(VerifyError::Missing("sign"))
        );
        assert!(matches!(
            source.verify(SALT, &no_headers, &form(&param, "not-hex")),
            Err(VerifyError::Malformed(_))
        ));
        assert!(matches!(
            source.verify(SALT, &no_headers, format!("sign={sign}").as_bytes()),
            Err(VerifyError::Malformed(_))
        ));
    }

    fn check_fixture_update(updates: &[TrackingUpdate]) {
        assert_eq!(updates.len(), 1);
        let update = &updates[0];
        assert_eq!(update.event_id.len(), 64);
        assert_eq!(update.tracking_number, "YT6186594166532");
        assert_eq!(update.carrier.as_deref(), Some("yuantong"));
        assert_eq!(update.status, TrackingStatus::InTransit);
        assert_eq!(update.raw_status, "0");
        assert_eq!(
            update.message.as_deref(),
            Some("【苏州转运中心】 已发出 下一站 【无锡转运中心公司】")
        );
        assert_eq!(update.location.as_deref(), Some("江苏,苏州市"));
        assert_eq!(update.occurred_at, Some(utc("2021-12-15T12:15:14Z")));
        assert_eq!(update.signed_by, None);
        assert_eq!(update.checkpoints.len(), 4);
        let first = &update.checkpoints[0];
        assert_eq!(
            first.message.as_deref(),
            Some("【江苏省苏州市北桥公司】 已揽收")
        );
        assert_eq!(first.raw_status, "揽收");
        assert_eq!(first.status, TrackingStatus::InTransit);
        assert_eq!(first.location.as_deref(), Some("江苏,苏州市,相城区,北桥"));
        assert_eq!(first.occurred_at, Some(utc("2021-12-15T09:10:09Z")));
        assert_eq!(update.checkpoints[3].raw_status, "干线");
    }

    #[test]
    fn the_fixture_push_parses_from_the_form_only() {
        let param = param();
        let sign = upper_sign(&param, SALT);
        let body = form(&param, &sign);
        let source = CourierSource::Kuaidi100;
        let from_form = source
            .parse_push(&body, Some("application/x-www-form-urlencoded"))
            .unwrap();
        check_fixture_update(&from_form);
        // No vendor id: the digest is what recognises a re-push.
        let again = source.parse_push(&body, None).unwrap();
        assert_eq!(from_form[0].event_id, again[0].event_id);
        let later = param.replace("2021-12-15 20:15:14", "2021-12-15 21:00:00");
        let later = source.parse_push(&form(&later, &sign), None).unwrap();
        assert_ne!(later[0].event_id, from_form[0].event_id);
        // A raw JSON body is not a push.
        assert!(source.parse_push(param.as_bytes(), None).is_err());
    }

    #[test]
    fn forged_data_beside_a_captured_signed_param_is_not_read() {
        let param = param();
        let sign = upper_sign(&param, SALT);
        let captured = String::from_utf8(form(&param, &sign)).unwrap();
        // JSON claiming delivery of another number, smuggling the captured
        // form fields inside a string.
        let forged = format!(
            r#"{{"lastResult":{{"nu":"FORGED1","state":"3","data":[]}},"x":"&{captured}&y="}}"#
        );
        let source = CourierSource::Kuaidi100;
        let header = |_: &str| None;
        // The captured signature is genuine for the captured `param` …
        assert!(source.verify(SALT, &header, forged.as_bytes()).is_ok());
        // … and that `param` is all that is read.
        let updates = source
            .parse_push(forged.as_bytes(), Some("application/json"))
            .unwrap();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].tracking_number, "YT6186594166532");
    }

    #[test]
    fn a_signed_push_with_state_3_is_delivered() {
        let param = r#"{"status":"shutdown","message":"","lastResult":{"nu":"SF1","com":"shunfeng","state":3,"data":[{"time":"2024-01-02 09:30:00","context":"已签收","status":"签收"},{"time":"2024-01-01 18:00:00","context":"已揽收","status":"揽收"}]}}"#;
        let update = &parse(&form(param, "00"), None).unwrap()[0];
        assert_eq!(update.status, TrackingStatus::Delivered);
        assert_eq!(update.raw_status, "3");
        assert_eq!(update.occurred_at, Some(utc("2024-01-02T01:30:00Z")));
        assert_eq!(update.checkpoints[1].status, TrackingStatus::Delivered);
        assert_eq!(update.checkpoints[0].status, TrackingStatus::InTransit);
    }

    #[test]
    fn pushes_without_a_result_give_nothing_and_garbage_is_refused() {
        assert_eq!(
            parse(
                &form(r#"{"status":"abort","message":"3天查询无记录"}"#, "00"),
                None
            )
            .unwrap(),
            Vec::<TrackingUpdate>::new()
        );
        assert!(parse(b"sign=ABC", None).is_err());
        assert!(parse(&form("not json", "AB"), None).is_err());
    }

    #[test]
    fn every_state_maps() {
        let table = [
            ("0", TrackingStatus::InTransit),
            ("1", TrackingStatus::InTransit),
            ("2", TrackingStatus::Exception),
            ("3", TrackingStatus::Delivered),
            ("4", TrackingStatus::Exception),
            ("5", TrackingStatus::OutForDelivery),
            ("6", TrackingStatus::Returned),
            ("7", TrackingStatus::InTransit),
            ("8", TrackingStatus::InTransit),
            ("10", TrackingStatus::InTransit),
            ("14", TrackingStatus::Exception),
            ("101", TrackingStatus::InfoReceived),
            ("102", TrackingStatus::InfoReceived),
            ("103", TrackingStatus::InTransit),
            ("201", TrackingStatus::Exception),
            ("301", TrackingStatus::Delivered),
            ("501", TrackingStatus::OutForDelivery),
            ("1002", TrackingStatus::InTransit),
            ("1401", TrackingStatus::Exception),
            ("x", TrackingStatus::InTransit),
        ];
        for (state, status) in table {
            assert_eq!(map_state(state), status, "{state}");
        }
        let names = [
            ("在途", TrackingStatus::InTransit),
            ("揽收", TrackingStatus::InTransit),
            ("疑难", TrackingStatus::Exception),
            ("签收", TrackingStatus::Delivered),
            ("退签", TrackingStatus::Exception),
            ("派件", TrackingStatus::OutForDelivery),
            ("退回", TrackingStatus::Returned),
            ("转投", TrackingStatus::InTransit),
            ("拒签", TrackingStatus::Exception),
        ];
        for (name, status) in names {
            assert_eq!(map_status_name(name), status, "{name}");
        }
    }
}
