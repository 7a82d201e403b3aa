//! SF Express (顺丰) route pushes (路由推送).
//!
//! A push is `{"Body": {"WaybillRoute": [<route>, …]}}` with at most 10 routes,
//! each `{"mailno", "orderid", "acceptTime", "acceptAddress", "remark", "opCode",
//! "id", "reasonCode", "reasonName"}`, times in China Standard Time. SF publishes
//! no signature scheme for it: the callback URL carries a secret `token` query
//! parameter instead, which the server passes in as the `:token` pseudo-header.

use serde::Deserialize;

use super::{ParseError, TrackingStatus, TrackingUpdate, VerifyError};

/// The pseudo-header under which the server passes the callback URL's `token`.
const TOKEN_HEADER: &str = ":token";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Push {
    #[serde(rename = "Body")]
    body: Option<Body>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    #[serde(rename = "WaybillRoute")]
    waybill_route: Option<Vec<Route>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Route {
    #[serde(deserialize_with = "super::string_or_number")]
    mailno: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    accept_time: Option<String>,
    accept_address: Option<String>,
    remark: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    op_code: Option<String>,
    #[serde(deserialize_with = "super::string_or_number")]
    id: Option<String>,
    reason_name: Option<String>,
}

/// Checks the secret carried in the callback URL's path (the server passes
/// it as the `:token` pseudo-header) against the account's, in constant time.
pub(super) fn verify(
    secret: &str,
    header: &dyn Fn(&str) -> Option<String>,
) -> Result<(), VerifyError> {
    let token = header(TOKEN_HEADER).ok_or(VerifyError::Missing(TOKEN_HEADER))?;
    if super::ct_eq(token.as_bytes(), secret.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// An SF operation code in the normalised vocabulary: 50 picked up, 80
/// delivered (both unverified, from third-party code); 44 out for delivery
/// (派件), 70 and 33 failed delivery or a problem, 99 returned are
/// unverified guesses from public listings — correct them here when SF's
/// documentation is at hand. Every other code counts as in transit.
fn map_op_code(op_code: &str) -> TrackingStatus {
    match op_code.trim() {
        "44" => TrackingStatus::OutForDelivery,
        "80" => TrackingStatus::Delivered,
        "70" | "33" => TrackingStatus::Exception,
        "99" => TrackingStatus::Returned,
        _ => TrackingStatus::InTransit,
    }
}

/// Parses a push into one update per route, in the order sent.
pub(super) fn parse(body: &[u8]) -> Result<Vec<TrackingUpdate>, ParseError> {
    let push: Push = serde_json::from_slice(body).map_err(super::invalid_json)?;
    let routes = push
        .body
        .ok_or_else(|| ParseError::Invalid("no `Body`".to_owned()))?
        .waybill_route
        .unwrap_or_default();
    routes
        .into_iter()
        .map(|route| -> Result<TrackingUpdate, ParseError> {
            let tracking_number = super::non_empty(route.mailno.as_deref())
                .ok_or_else(|| ParseError::Invalid("a route has no `mailno`".to_owned()))?;
            let raw_status = route
                .op_code
                .as_deref()
                .map(str::trim)
                .unwrap_or_default()
                .to_owned();
            let message = super::non_empty(route.remark.as_deref())
                .or_else(|| super::non_empty(route.reason_name.as_deref()));
            let occurred_at = route
                .accept_time
                .as_deref()
                .and_then(super::parse_china_time);
            let event_id = super::non_empty(route.id.as_deref()).unwrap_or_else(|| {
                super::digest_event_id(
                    &tracking_number,
                    &raw_status,
                    occurred_at,
                    message.as_deref(),
                )
            });
            Ok(TrackingUpdate {
                event_id,
                tracking_number,
                carrier: None,
                status: map_op_code(&raw_status),
                raw_status,
                message,
                location: super::non_empty(route.accept_address.as_deref()),
                occurred_at,
                signed_by: None,
                checkpoints: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::couriers::{CourierSource, header_map};

    const SECRET: &str = "sf-callback-token-7f3a";

    fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    }

    /// A push built from the documented contract: two routes, ids as a string
    /// and as a number.
    fn push_body() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "Body": {
                "WaybillRoute": [
                    {
                        "mailno": "SF1234567890123",
                        "orderid": "DD-1001",
                        "acceptTime": "2024-01-01 12:00:00",
                        "acceptAddress": "深圳市",
                        "remark": "顺丰速运 已收取快件",
                        "opCode": "50",
                        "id": "158143071300001",
                        "reasonCode": null,
                        "reasonName": null
                    },
                    {
                        "mailno": "SF1234567890123",
                        "orderid": "DD-1001",
                        "acceptTime": "2024-01-02 18:30:05",
                        "acceptAddress": "上海市",
                        "remark": "已签收,感谢使用顺丰,期待再次为您服务",
                        "opCode": 80,
                        "id": 158143071300002_u64,
                        "reasonCode": "",
                        "reasonName": ""
                    }
                ]
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_callback_token_is_compared_with_the_secret() {
        let source = CourierSource::SfExpress;
        let body = push_body();
        let good = header_map(vec![(":token".to_owned(), SECRET.to_owned())]);
        assert_eq!(source.verify(SECRET, &good, &body), Ok(()));
        let wrong = header_map(vec![(
            ":token".to_owned(),
            "sf-callback-token-7f3b".to_owned(),
        )]);
        assert_eq!(
            source.verify(SECRET, &wrong, &body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify("another-secret", &good, &body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            source.verify(SECRET, &header_map(Vec::new()), &body),
            Err(VerifyError::Missing(":token"))
        );
    }

    #[test]
    fn each_route_becomes_an_update() {
        let updates = CourierSource::SfExpress
            .parse_push(&push_body(), Some("application/json"))
            .unwrap();
        assert_eq!(updates.len(), 2);
        let picked_up = &updates[0];
        assert_eq!(picked_up.event_id, "158143071300001");
        assert_eq!(picked_up.tracking_number, "SF1234567890123");
        assert_eq!(picked_up.carrier, None);
        assert_eq!(picked_up.status, TrackingStatus::InTransit);
        assert_eq!(picked_up.raw_status, "50");
        assert_eq!(picked_up.message.as_deref(), Some("顺丰速运 已收取快件"));
        assert_eq!(picked_up.location.as_deref(), Some("深圳市"));
        assert_eq!(picked_up.occurred_at, Some(utc("2024-01-01T04:00:00Z")));
        assert!(picked_up.checkpoints.is_empty());
        let delivered = &updates[1];
        assert_eq!(delivered.event_id, "158143071300002");
        assert_eq!(delivered.status, TrackingStatus::Delivered);
        assert_eq!(delivered.raw_status, "80");
        assert_eq!(delivered.occurred_at, Some(utc("2024-01-02T10:30:05Z")));
    }

    #[test]
    fn a_route_without_id_gets_a_digest_and_reason_stands_in_for_remark() {
        let body = r#"{"Body":{"WaybillRoute":[{"mailno":"SF9","acceptTime":"2024-02-03 08:00:00","opCode":"70","reasonCode":"A1","reasonName":"客户不在"}]}}"#;
        let first = parse(body.as_bytes()).unwrap();
        assert_eq!(first, parse(body.as_bytes()).unwrap());
        assert_eq!(first[0].event_id.len(), 64);
        assert_eq!(first[0].status, TrackingStatus::Exception);
        assert_eq!(first[0].message.as_deref(), Some("客户不在"));
        assert_eq!(first[0].location, None);
    }

    #[test]
    fn empty_pushes_give_nothing_and_garbage_is_refused() {
        assert_eq!(
            parse(br#"{"Body":{"WaybillRoute":[]}}"#).unwrap(),
            Vec::<TrackingUpdate>::new()
        );
        assert!(parse(br#"{"Body":{"WaybillRoute":[{"opCode":"80"}]}}"#).is_err());
        assert!(parse(br#"{"WaybillRoute":[]}"#).is_err());
        assert!(parse(b"[]").is_err());
    }

    #[test]
    fn every_op_code_maps() {
        let table = [
            ("50", TrackingStatus::InTransit),
            ("44", TrackingStatus::OutForDelivery),
            ("80", TrackingStatus::Delivered),
            ("70", TrackingStatus::Exception),
            ("33", TrackingStatus::Exception),
            ("99", TrackingStatus::Returned),
            ("30", TrackingStatus::InTransit),
            ("31", TrackingStatus::InTransit),
            ("", TrackingStatus::InTransit),
        ];
        for (op_code, status) in table {
            assert_eq!(map_op_code(op_code), status, "{op_code}");
        }
    }
}
