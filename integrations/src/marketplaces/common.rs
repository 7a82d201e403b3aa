//! Helpers the connectors share: error mapping, excerpts, JSON and id
//! parsing, base URLs, rate-limit waits, reading a page's orders one by one;
//! and, for the signed form gateways of Taobao and JD, loose JSON values,
//! form bodies, the signing base and GMT+8 times.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{ConnectorError, MarketplaceOrder, RejectedOrder};

/// How much of an error body is kept in [`ConnectorError::Platform`].
pub(crate) const ERROR_EXCERPT_CHARS: usize = 300;
/// The wait after a 429 without `Retry-After`.
pub(crate) const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);
/// The layout of Taobao's and JD's times, `yyyy-MM-dd HH:mm:ss`, always in
/// GMT+8.
const CHINA_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// China Standard Time (GMT+8), the zone of every time Taobao and JD read or
/// write.
const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("GMT+8 is a valid offset"),
};

/// The start of a body, as text, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(ERROR_EXCERPT_CHARS)
        .collect()
}

/// First and last name joined by a space, or `None` when both are blank.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<String> = [first, last].into_iter().filter_map(non_empty).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// An id given as a JSON number or a non-blank string.
pub(crate) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Invalid(message.into())
}

/// The trimmed text, or `None` when absent or blank.
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The base URL trimmed of surrounding blanks and trailing slashes, checked to
/// be an http(s) URL.
pub(crate) fn normalise_base_url(base_url: &str) -> Result<String, ConnectorError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| invalid(format!("the base URL `{trimmed}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the base URL `{trimmed}` is not an http(s) URL"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Parses a body as JSON; `what` names it in the error.
pub(crate) fn parse_json(body: &[u8], what: &str) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("{what} is not JSON: {e}")))
}

/// How long to wait after a 429: its `Retry-After` (one second without),
/// at most `max_wait`.
pub(crate) fn rate_limit_wait(retry_after: Option<Duration>, max_wait: Duration) -> Duration {
    retry_after.unwrap_or(DEFAULT_RETRY_WAIT).min(max_wait)
}

/// The error for a non-2xx answer other than 429.
pub(crate) fn status_error(status: u16, body: &[u8]) -> ConnectorError {
    let message = excerpt(body);
    match status {
        401 | 403 if message.is_empty() => ConnectorError::Unauthorized(format!("HTTP {status}")),
        401 | 403 => ConnectorError::Unauthorized(message),
        _ => ConnectorError::Platform { status, message },
    }
}

/// A network error with its causes.
/// The HTTP client every marketplace connector uses: its timeout, and no
/// redirects (credentials ride in headers and query strings: never follow an
/// answer to wherever it points).
pub(crate) fn http_client(
    options: &super::ClientOptions,
) -> Result<reqwest::Client, ConnectorError> {
    let mut builder = reqwest::Client::builder()
        .timeout(options.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(resolver) = &options.resolver.0 {
        builder = builder.dns_resolver(resolver.clone()).no_proxy();
    }
    builder.build().map_err(transport)
}

pub(crate) fn transport(error: reqwest::Error) -> ConnectorError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ConnectorError::Transport(message)
}

/// Converts each listed order on its own: the orders `convert` reads, and
/// the ones it cannot, rejected under the id `external_id` finds in them.
pub(crate) fn read_orders(
    listed: &[Value],
    external_id: fn(&Value) -> Option<String>,
    convert: fn(&Value) -> Result<MarketplaceOrder, ConnectorError>,
) -> (Vec<MarketplaceOrder>, Vec<RejectedOrder>) {
    let mut orders = Vec::with_capacity(listed.len());
    let mut rejected = Vec::new();
    for order in listed {
        match convert(order) {
            Ok(converted) => orders.push(converted),
            Err(error) => rejected.push(rejection(external_id(order), &error)),
        }
    }
    (orders, rejected)
}

/// The rejection of an order that cannot be read.
pub(crate) fn rejection(external_id: Option<String>, error: &ConnectorError) -> RejectedOrder {
    RejectedOrder {
        external_id,
        error: error.to_string(),
    }
}

/// The `id` of an order as Shopify and WooCommerce list it.
pub(crate) fn rest_order_id(order: &Value) -> Option<String> {
    order.get("id").and_then(id_of)
}

/// A JSON string (trimmed) or number as text; `None` when absent, null,
/// blank or of another kind.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(id_of)
}

/// A JSON integer, or a string holding one.
pub(crate) fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A decimal amount given as a string (Taobao's and JD's way) or a number.
pub(crate) fn decimal(value: Option<&Value>) -> Option<Decimal> {
    text(value)?.parse().ok()
}

/// `true`, or the string `"true"`.
pub(crate) fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A form as an `application/x-www-form-urlencoded` body.
pub(crate) fn encode_form(form: &BTreeMap<String, String>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// The string Taobao and JD sign: every parameter but `sign`, sorted by
/// name, as name + value, concatenated.
pub(crate) fn sign_base(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(name, _)| name.as_str() != "sign")
        .fold(String::new(), |mut base, (name, value)| {
            base.push_str(name);
            base.push_str(value);
            base
        })
}

/// A time as Taobao and JD write it: `yyyy-MM-dd HH:mm:ss` in GMT+8.
pub(crate) fn format_china_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&CHINA)
        .format(CHINA_TIME_FORMAT)
        .to_string()
}

/// A time Taobao or JD wrote (`yyyy-MM-dd HH:mm:ss`, GMT+8).
pub(crate) fn parse_china_time(s: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), CHINA_TIME_FORMAT).ok()?;
    naive
        .and_local_timezone(CHINA)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// A bare order with `external_id` and `updated_at` (and created then), for
/// tests.
#[cfg(test)]
pub(crate) fn test_order(external_id: &str, updated_at: DateTime<Utc>) -> MarketplaceOrder {
    MarketplaceOrder {
        external_id: external_id.to_owned(),
        display_number: None,
        cancelled: false,
        platform_status: String::new(),
        currency: "CNY".to_owned(),
        created_at: updated_at,
        updated_at,
        buyer: super::Buyer::default(),
        ship_to: None,
        lines: Vec::new(),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Refuses every name, as the server's guard refuses internal ones.
    struct RefuseAll;

    impl reqwest::dns::Resolve for RefuseAll {
        fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
            let host = name.as_str().to_owned();
            Box::pin(async move { Err(format!("{host} is refused by the guard").into()) })
        }
    }

    #[tokio::test]
    async fn clients_connect_through_the_resolver_they_are_given() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let options = super::super::ClientOptions {
            resolver: super::super::Resolver(Some(std::sync::Arc::new(RefuseAll))),
            ..Default::default()
        };
        let error = http_client(&options)
            .unwrap()
            .get("http://localhost:9/")
            .send()
            .await
            .unwrap_err();
        let chain = std::iter::successors(Some(&error as &dyn std::error::Error), |e| e.source())
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(": ");
        assert!(chain.contains("refused by the guard"), "{chain}");
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// A stand-in conversion: an order is read when it has an id and a
    /// `when`.
    fn convert(order: &Value) -> Result<MarketplaceOrder, ConnectorError> {
        let external_id = rest_order_id(order).ok_or_else(|| invalid("no id"))?;
        let when = text(order.get("when")).ok_or_else(|| invalid("no when"))?;
        Ok(test_order(&external_id, utc(&when)))
    }

    #[test]
    fn orders_are_read_one_by_one_and_the_unreadable_rejected() {
        let listed = [
            json!({"id": 1, "when": "2024-05-01T00:00:00Z"}),
            json!({"id": "2"}),
            json!({"when": "2024-05-01T00:00:00Z"}),
            json!({"id": 3, "when": "2024-05-02T00:00:00Z"}),
        ];
        let (orders, rejected) = read_orders(&listed, rest_order_id, convert);
        let ids: Vec<&str> = orders.iter().map(|o| o.external_id.as_str()).collect();
        assert_eq!(ids, ["1", "3"]);
        assert_eq!(
            rejected,
            [
                RejectedOrder {
                    external_id: Some("2".to_owned()),
                    error: "unexpected answer from the platform: no when".to_owned(),
                },
                RejectedOrder {
                    external_id: None,
                    error: "unexpected answer from the platform: no id".to_owned(),
                },
            ]
        );
        let (orders, rejected) = read_orders(&[], rest_order_id, convert);
        assert!(orders.is_empty() && rejected.is_empty());
    }

    #[test]
    fn loose_values() {
        assert_eq!(text(Some(&json!(" a "))), Some("a".to_owned()));
        assert_eq!(text(Some(&json!(12))), Some("12".to_owned()));
        assert_eq!(text(Some(&json!(" "))), None);
        assert_eq!(text(Some(&json!(true))), None);
        assert_eq!(text(None), None);
        assert_eq!(integer(Some(&json!(" 7 "))), Some(7));
        assert_eq!(integer(Some(&json!(7))), Some(7));
        assert_eq!(integer(Some(&json!(7.5))), None);
        assert_eq!(decimal(Some(&json!("10.50"))), Some(Decimal::new(1050, 2)));
        assert_eq!(decimal(Some(&json!(3))), Some(Decimal::from(3)));
        assert_eq!(decimal(Some(&json!("abc"))), None);
        assert!(truthy(Some(&json!(true))));
        assert!(truthy(Some(&json!(" TRUE "))));
        assert!(!truthy(Some(&json!("1"))));
        assert!(!truthy(None));
    }

    #[test]
    fn china_times_are_written_and_read_in_gmt_plus_8() {
        assert_eq!(
            format_china_time(utc("2024-05-01T16:30:05Z")),
            "2024-05-02 00:30:05"
        );
        assert_eq!(
            parse_china_time("2024-05-02 00:30:05"),
            Some(utc("2024-05-01T16:30:05Z"))
        );
        assert_eq!(parse_china_time("2024-05-02T00:30:05Z"), None);
        assert_eq!(parse_china_time("2024/05/02"), None);
        assert_eq!(parse_china_time(""), None);
    }
}
