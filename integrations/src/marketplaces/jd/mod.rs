//! JD (京东) through the JD Open Service (JOS) `routerjson` gateway.
//!
//! Every call is a signed form `POST {base}/routerjson` carrying `method`,
//! `app_key`, `access_token`, `timestamp` (GMT+8), `v=2.0` and the method's
//! parameters as one JSON string, `360buy_param_json`; `sign` is the upper hex
//! MD5 of secret + the other parameters sorted by name as name + value +
//! secret.
//!
//! Orders are pulled with `jingdong.pop.order.search` in windows of at most
//! one day over the last three months, ending three minutes before now (JD
//! indexes orders with a delay). Each window is paged from its end, the walk
//! Taobao's connector shares (see `windows`): page 1 is read first for
//! `orderTotal`; a window of more pages is then read from its last page down
//! to page 1 (read again), so that an order leaving the window mid-walk
//! skips none. An order that cannot be read is rejected, the page goes on.
//! Shipments go back with `jingdong.pop.order.shipment`.
//!
//! Unverified throughout: every method name, parameter, answer key (the
//! `_responce` spelling included), field name, error code and limit here comes
//! from third-party code, not from JD. They are kept in constants at the top
//! of this module so they are easy to correct.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use md5::{Digest, Md5};
use serde_json::Value;

use super::common::{
    decimal, encode_form, format_china_time, integer, invalid, parse_china_time, read_orders,
    sign_base, status_error, text, transport, truthy,
};
use super::windows::{Listed, PageToken, Walk};
use super::{
    Buyer, ClientOptions, Connector, ConnectorError, Cursor, Fulfilment, MarketplaceLine,
    MarketplaceOrder, OrdersPage, Platform, PostalAddress, PushReceipt,
};
use crate::couriers::VerifyError;

/// The gateway's path.
const ROUTER_PATH: &str = "/routerjson";
/// The API version sent with every call.
const API_VERSION: &str = "2.0";
/// The parameter carrying the method's own parameters as JSON.
const PARAM_JSON: &str = "360buy_param_json";
/// The content type of a call's body.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=utf-8";
/// What ends the key of a method's answer (sic).
const RESPONSE_SUFFIX: &str = "_responce";

/// The order search.
const SEARCH_METHOD: &str = "jingdong.pop.order.search";
/// The object holding the search's result inside its answer.
const SEARCH_RESULT_KEY: &str = "searchorderinfo_result";
/// The number of orders the search matched.
const ORDER_TOTAL_KEY: &str = "orderTotal";
/// The page's orders.
const ORDER_LIST_KEY: &str = "orderInfoList";
/// The call's own status inside a result, when given: `{"success": bool,
/// "chineseErr", "englishErr"}`.
const API_RESULT_KEY: &str = "apiResult";
/// The order states searched: waiting for shipment, shipped, finished,
/// cancelled.
const ORDER_STATES: &str =
    "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED";
/// The order fields asked for.
const ORDER_FIELDS: &str = "orderId,orderState,orderStartTime,modified,orderRemark,consigneeInfo,\
itemInfoList,pin,orderTotalPrice";
/// Order states that mean the order was cancelled.
const CANCELLED_STATES: [&str; 1] = ["TRADE_CANCELED"];

/// Shipment of an order.
const SHIPMENT_METHOD: &str = "jingdong.pop.order.shipment";
/// The object holding the shipment's result inside its answer.
const SHIPMENT_RESULT_KEY: &str = "sopjosshipment_result";
/// The flag of a successful shipment inside that result.
const SHIPMENT_SUCCESS_KEY: &str = "success";

/// `error_response.code`s that mean the credentials are refused (19: the
/// access token expired or does not exist).
pub const AUTH_ERROR_CODES: [&str; 1] = ["19"];
/// Words in an error's description that mean the credentials are refused.
const AUTH_ERROR_MARKERS: [&str; 2] = ["token", "授权"];
/// Words in an error's description that mean the call limit was hit.
const RATE_LIMIT_MARKERS: [&str; 5] = ["频率", "流控", "调用次数", "call limit", "frequency"];
/// The wait before retrying a call refused by the call limit.
const CALL_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// The most orders per page JD returns.
const MAX_PAGE_SIZE: u32 = 100;
/// How orders are walked: search windows of a day at most over three
/// months, taken at their shortest (February to April, 89 days) so that
/// either reading of the limit (calendar months or days) accepts it; a run
/// without a (recent enough) `since` starts an hour inside that limit; the
/// walk ends three minutes before now, JD's indexing delay.
const WALK: Walk = Walk {
    window: TimeDelta::days(1),
    history: TimeDelta::days(89),
    history_margin: TimeDelta::hours(1),
    lag: TimeDelta::minutes(3),
    platform: "JD",
};

/// A JD connection: one shop's access token under one app.
#[derive(Clone)]
pub struct Config {
    /// The API's origin without a trailing slash, e.g. `https://api.jd.com`
    /// (or a mock's).
    pub base_url: String,
    /// The app's key on JOS.
    pub app_key: String,
    /// The app's secret, which signs every call.
    pub app_secret: String,
    /// The shop's `access_token`.
    pub session: String,
    /// Timeouts, page size and rate-limit patience.
    pub options: ClientOptions,
    /// The clock: `None` reads the system's; tests and mocks pin it. It gives
    /// both the request timestamps and the end of the window walk (less its
    /// lag).
    pub now: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("session", &"<redacted>")
            .field("options", &self.options)
            .field("now", &self.now)
            .finish()
    }
}

/// The JD connector.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: Config,
}

impl Client {
    /// A client for `config` (a trailing slash on `base_url` is dropped).
    pub fn new(config: Config) -> Result<Self, ConnectorError> {
        let http = super::common::http_client(&config.options)?;
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            http,
            config: Config { base_url, ..config },
        })
    }

    /// The current time, in whole seconds (JD's times have no fraction).
    fn now(&self) -> DateTime<Utc> {
        self.config.now.unwrap_or_else(Utc::now).trunc_subsecs(0)
    }

    /// Calls `method` and returns the whole answer, retrying while rate
    /// limited (HTTP 429 after its `Retry-After`, JD's call limit after a
    /// second) up to `max_rate_limit_retries` times.
    async fn call(
        &self,
        method: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{ROUTER_PATH}", self.config.base_url);
        let param_json = param_json(params)?;
        let options = &self.config.options;
        let mut retries = 0_u32;
        loop {
            let form = signed_form(&self.config, method, &param_json, self.now());
            let response = self
                .http
                .post(url.as_str())
                .header(reqwest::header::CONTENT_TYPE, FORM_CONTENT_TYPE)
                .body(encode_form(&form))
                .send()
                .await
                .map_err(transport)?;
            let status = response.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = super::retry_after(response.headers());
                if retries >= options.max_rate_limit_retries {
                    return Err(ConnectorError::RateLimited { retry_after: wait });
                }
                retries += 1;
                tokio::time::sleep(wait.unwrap_or(CALL_LIMIT_WAIT).min(options.max_retry_wait))
                    .await;
                continue;
            }
            let body = response.bytes().await.map_err(transport)?;
            if !status.is_success() {
                return Err(status_error(status.as_u16(), &body));
            }
            let value: Value = serde_json::from_slice(&body).map_err(|error| {
                ConnectorError::Invalid(format!("{method} did not answer JSON: {error}"))
            })?;
            match check_error(&value) {
                Ok(()) => return Ok(value),
                Err(ConnectorError::RateLimited { .. })
                    if retries < options.max_rate_limit_retries =>
                {
                    retries += 1;
                    tokio::time::sleep(CALL_LIMIT_WAIT.min(options.max_retry_wait)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Page `page` of the token's window: the search's total and the page's
    /// orders.
    async fn search_page(&self, token: &PageToken, page: u32) -> Result<Listed, ConnectorError> {
        let params = search_params(token, page, self.page_size());
        search_listing(self.call(SEARCH_METHOD, &params).await?)
    }

    /// Orders per page, within JD's bounds.
    fn page_size(&self) -> u32 {
        self.config.options.page_size.clamp(1, MAX_PAGE_SIZE)
    }
}

impl Connector for Client {
    fn platform(&self) -> Platform {
        Platform::Jd
    }

    async fn fetch_orders_since(&self, cursor: &Cursor) -> Result<OrdersPage, ConnectorError> {
        let now = self.now();
        let Some(token) = WALK.token(cursor, now)? else {
            return Ok(OrdersPage::default());
        };
        let (listed, progress) = WALK
            .read_page(token, self.page_size(), now, |page, _probe| {
                self.search_page(&token, page)
            })
            .await?;
        let (orders, rejected) = read_orders(&listed, order_id, to_marketplace_order);
        progress.page(cursor, orders, rejected)
    }

    async fn push_fulfilment(
        &self,
        fulfilment: &Fulfilment,
    ) -> Result<PushReceipt, ConnectorError> {
        if fulfilment.carrier.is_empty() || !fulfilment.carrier.bytes().all(|b| b.is_ascii_digit())
        {
            // JD wants its own numeric carrier id; a name would be refused
            // at JD on every retry.
            return Err(ConnectorError::Invalid(format!(
                "carrier `{}` has no JD logistics id: map it in the account's carrier_map \
                 (e.g. SF Express → 467)",
                fulfilment.carrier
            )));
        }
        let answer = self
            .call(SHIPMENT_METHOD, &fulfilment_params(fulfilment))
            .await?;
        check_shipment_answer(&answer)
    }

    fn verify_webhook(
        &self,
        _header: &dyn Fn(&str) -> Option<String>,
        _body: &[u8],
    ) -> Result<(), VerifyError> {
        // JD pushes nothing to Dingdan: whatever claims to come from it is refused.
        Err(VerifyError::Mismatch)
    }
}

/// Signs parameters (exposed for tests and the server's mock): upper hex
/// MD5(secret + the parameters but `sign` sorted by name, as name + value,
/// concatenated + secret).
pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> String {
    let base = sign_base(params);
    hex::encode_upper(<Md5 as Digest>::digest(
        format!("{secret}{base}{secret}").as_bytes(),
    ))
}

/// A method's parameters as the `360buy_param_json` string.
pub(crate) fn param_json(params: &BTreeMap<String, String>) -> Result<String, ConnectorError> {
    serde_json::to_string(params)
        .map_err(|error| ConnectorError::Invalid(format!("cannot encode the parameters: {error}")))
}

/// The full form of a call at `now`: the common parameters, the method's
/// parameters as JSON, and the signature. Empty values are left out (JD's
/// SDKs neither send nor sign them).
pub(crate) fn signed_form(
    config: &Config,
    method: &str,
    param_json: &str,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let timestamp = format_china_time(now);
    let mut form: BTreeMap<String, String> = [
        ("method", method),
        ("app_key", config.app_key.as_str()),
        ("access_token", config.session.as_str()),
        ("timestamp", timestamp.as_str()),
        ("v", API_VERSION),
        (PARAM_JSON, param_json),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    let signature = sign(&form, &config.app_secret);
    form.insert("sign".to_owned(), signature);
    form
}

/// The key of `method`'s answer: its name with `_` for `.`, then `_responce`.
pub(crate) fn response_key(method: &str) -> String {
    format!("{}{RESPONSE_SUFFIX}", method.replace('.', "_"))
}

/// The parameters of `jingdong.pop.order.search` for page `page` of the
/// token's window.
pub(crate) fn search_params(
    token: &PageToken,
    page: u32,
    page_size: u32,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("start_date".to_owned(), format_china_time(token.start)),
        ("end_date".to_owned(), format_china_time(token.end)),
        ("order_state".to_owned(), ORDER_STATES.to_owned()),
        ("page".to_owned(), page.to_string()),
        ("page_size".to_owned(), page_size.to_string()),
        ("optional_fields".to_owned(), ORDER_FIELDS.to_owned()),
    ])
}

/// A search page's answer as listed.
fn search_listing(answer: Value) -> Result<Listed, ConnectorError> {
    let (total, items) = search_result(answer)?;
    Ok(Listed {
        total: Some(total),
        items,
    })
}

/// The search's total and the page's orders, out of its answer.
pub(crate) fn search_result(mut answer: Value) -> Result<(u64, Vec<Value>), ConnectorError> {
    let key = response_key(SEARCH_METHOD);
    let mut result = answer
        .get_mut(&key)
        .and_then(|response| response.get_mut(SEARCH_RESULT_KEY))
        .map(Value::take)
        .filter(Value::is_object)
        .ok_or_else(|| {
            ConnectorError::Invalid(format!("the answer has no {key}.{SEARCH_RESULT_KEY}"))
        })?;
    if let Some(api_result) = result.get(API_RESULT_KEY)
        && api_result.get("success") == Some(&Value::Bool(false))
    {
        let message = ["englishErr", "chineseErr"]
            .iter()
            .filter_map(|key| text(api_result.get(*key)))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(ConnectorError::Platform {
            status: 200,
            message: format!("{SEARCH_METHOD} failed: {message}"),
        });
    }
    let orders = match result.get_mut(ORDER_LIST_KEY).map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(orders)) => orders,
        Some(other) => {
            return Err(ConnectorError::Invalid(format!(
                "{ORDER_LIST_KEY} is not a list: {other}"
            )));
        }
    };
    let total = match integer(result.get(ORDER_TOTAL_KEY)) {
        Some(total) => u64::try_from(total)
            .map_err(|_| ConnectorError::Invalid(format!("negative {ORDER_TOTAL_KEY} {total}")))?,
        // Without a total, the page is taken to be the only one.
        None => u64::try_from(orders.len()).unwrap_or(u64::MAX),
    };
    Ok((total, orders))
}

/// The parameters of `jingdong.pop.order.shipment` for a shipment (JD ships
/// whole orders: the lines are not sent): `orderId`, `logiCoprId` (JD's
/// numeric carrier id — map it in the account's carrier map, e.g. SF Express
/// `467`) and `logiNo`, as JD's SDK request classes name them.
pub(crate) fn fulfilment_params(fulfilment: &Fulfilment) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("orderId".to_owned(), fulfilment.external_order_id.clone()),
        ("logiCoprId".to_owned(), fulfilment.carrier.clone()),
        ("logiNo".to_owned(), fulfilment.tracking_number.clone()),
    ])
}

/// Reads `jingdong.pop.order.shipment`'s answer.
pub(crate) fn check_shipment_answer(answer: &Value) -> Result<PushReceipt, ConnectorError> {
    check_error(answer)?;
    let key = response_key(SHIPMENT_METHOD);
    let result = answer
        .get(&key)
        .and_then(|response| response.get(SHIPMENT_RESULT_KEY))
        .ok_or_else(|| {
            ConnectorError::Invalid(format!("the answer has no {key}.{SHIPMENT_RESULT_KEY}"))
        })?;
    if truthy(result.get(SHIPMENT_SUCCESS_KEY)) {
        Ok(PushReceipt { reference: None })
    } else {
        Err(ConnectorError::Platform {
            status: 200,
            message: format!("{SHIPMENT_METHOD} was not successful: {result}"),
        })
    }
}

/// Maps JD's `error_response` (`code`, `zh_desc`, `en_desc`) to an error:
/// refused credentials to `Unauthorized`, the call limit to `RateLimited`,
/// anything else to `Platform` with "code zh_desc en_desc". `Ok` when the
/// answer carries no error.
pub(crate) fn check_error(answer: &Value) -> Result<(), ConnectorError> {
    let Some(error) = answer
        .get("error_response")
        .filter(|error| !error.is_null())
    else {
        return Ok(());
    };
    let code = text(error.get("code"));
    let message = ["code", "zh_desc", "en_desc"]
        .iter()
        .filter_map(|key| text(error.get(*key)))
        .collect::<Vec<_>>()
        .join(" ");
    let descriptions = ["zh_desc", "en_desc"]
        .iter()
        .filter_map(|key| text(error.get(*key)))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    if code
        .as_deref()
        .is_some_and(|code| AUTH_ERROR_CODES.contains(&code))
        || mentions(&descriptions, &AUTH_ERROR_MARKERS)
    {
        Err(ConnectorError::Unauthorized(message))
    } else if mentions(&descriptions, &RATE_LIMIT_MARKERS) {
        Err(ConnectorError::RateLimited { retry_after: None })
    } else {
        Err(ConnectorError::Platform {
            status: 200,
            message,
        })
    }
}

/// Whether `haystack` contains one of `markers`.
fn mentions(haystack: &str, markers: &[&str]) -> bool {
    markers.iter().any(|marker| haystack.contains(*marker))
}

/// Converts a JD order (`orderInfoList[]` of the search) into a
/// [`MarketplaceOrder`].
pub fn to_marketplace_order(order: &Value) -> Result<MarketplaceOrder, ConnectorError> {
    let id = order_id(order).ok_or_else(|| invalid("an order has no orderId"))?;
    let created_at = time_field(order, "orderStartTime", &id)?
        .ok_or_else(|| ConnectorError::Invalid(format!("order {id} has no orderStartTime")))?;
    let updated_at = time_field(order, "modified", &id)?.unwrap_or(created_at);
    let state = text(order.get("orderState")).unwrap_or_default();
    let pin = text(order.get("pin"));
    let lines = match order.get("itemInfoList") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| to_line(item, &id))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ConnectorError::Invalid(format!(
                "order {id}: itemInfoList is not a list"
            )));
        }
    };
    Ok(MarketplaceOrder {
        cancelled: CANCELLED_STATES.contains(&state.as_str()),
        platform_status: state,
        currency: "CNY".to_owned(),
        created_at,
        updated_at,
        buyer: Buyer {
            id: pin.clone(),
            name: pin,
            email: None,
            phone: None,
        },
        ship_to: order.get("consigneeInfo").and_then(ship_to),
        lines,
        note: text(order.get("orderRemark")),
        external_id: id,
        display_number: None,
    })
}

/// A listed order's id (`orderId`).
fn order_id(order: &Value) -> Option<String> {
    text(order.get("orderId"))
}

/// The consignee, `None` when it names nothing. `fullAddress` usually starts
/// with the province, city and county already; the county is put in front
/// only when it does not appear in it.
fn ship_to(consignee: &Value) -> Option<PostalAddress> {
    let field = |key: &str| text(consignee.get(key));
    let line1 = match (field("county"), field("fullAddress")) {
        (Some(county), Some(full)) if !full.contains(&county) => Some(format!("{county} {full}")),
        (county, full) => full.or(county),
    };
    let address = PostalAddress {
        name: field("fullname"),
        phone: field("mobile").or_else(|| field("telephone")),
        line1,
        line2: None,
        city: field("city"),
        region: field("province"),
        postal_code: None,
        country: None,
    };
    (address != PostalAddress::default()).then(|| PostalAddress {
        country: Some("CN".to_owned()),
        ..address
    })
}

/// One item (`itemInfoList[]`) as a line. JD gives items no id of their own:
/// the SKU id stands for the line (and for the variant).
fn to_line(item: &Value, order_id: &str) -> Result<MarketplaceLine, ConnectorError> {
    let field = |key: &str| text(item.get(key));
    let sku_id = field("skuId").ok_or_else(|| {
        ConnectorError::Invalid(format!("order {order_id}: an item has no skuId"))
    })?;
    let quantity = integer(item.get("itemTotal")).ok_or_else(|| {
        ConnectorError::Invalid(format!("order {order_id}, sku {sku_id}: no itemTotal"))
    })?;
    let unit_price = decimal(item.get("jdPrice")).ok_or_else(|| {
        ConnectorError::Invalid(format!(
            "order {order_id}, sku {sku_id}: no readable jdPrice"
        ))
    })?;
    Ok(MarketplaceLine {
        sku: field("outerSkuId"),
        variant_id: Some(sku_id.clone()),
        product_id: field("wareId"),
        title: field("skuName").unwrap_or_default(),
        quantity,
        unit_price,
        external_line_id: sku_id,
    })
}

/// A time field of an order: `None` when absent, an error when unreadable.
fn time_field(order: &Value, key: &str, id: &str) -> Result<Option<DateTime<Utc>>, ConnectorError> {
    match text(order.get(key)) {
        None => Ok(None),
        Some(time) => parse_china_time(&time).map(Some).ok_or_else(|| {
            ConnectorError::Invalid(format!("order {id}: unreadable {key} {time:?}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::ready;

    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn config() -> Config {
        Config {
            base_url: "http://127.0.0.1:9".to_owned(),
            app_key: "APPKEY".to_owned(),
            app_secret: "s3cret".to_owned(),
            session: "token-1".to_owned(),
            options: ClientOptions::default(),
            now: None,
        }
    }

    fn window(start: &str, end: &str) -> PageToken {
        PageToken::fresh((utc(start), utc(end)))
    }

    #[test]
    fn signatures_are_md5_of_the_sorted_base_inside_the_secret() {
        let pairs = params(&[
            ("v", "2.0"),
            ("method", "jingdong.pop.order.search"),
            ("sign", "IGNORED"),
            ("app_key", "K"),
            ("360buy_param_json", r#"{"page":"1"}"#),
        ]);
        let base = sign_base(&pairs);
        assert_eq!(
            base,
            r#"360buy_param_json{"page":"1"}app_keyKmethodjingdong.pop.order.searchv2.0"#
        );
        let expected = hex::encode_upper(Md5::digest(format!("S{base}S").as_bytes()));
        assert_eq!(sign(&pairs, "S"), expected);
        assert_eq!(expected.len(), 32);
        assert_eq!(expected, expected.to_uppercase());
        assert_eq!(
            sign(&params(&[("a", "1")]), "x"),
            hex::encode_upper(Md5::digest(b"xa1x"))
        );
    }

    #[test]
    fn a_signed_form_carries_the_common_parameters_and_the_json() {
        let now = utc("2024-05-01T02:03:04Z");
        let json = param_json(&params(&[("order_id", "1"), ("waybill", "W")])).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&json).unwrap(),
            json!({"order_id": "1", "waybill": "W"})
        );
        let form = signed_form(&config(), SHIPMENT_METHOD, &json, now);
        assert_eq!(form["method"], "jingdong.pop.order.shipment");
        assert_eq!(form["app_key"], "APPKEY");
        assert_eq!(form["access_token"], "token-1");
        assert_eq!(form["timestamp"], "2024-05-01 10:03:04");
        assert_eq!(form["v"], "2.0");
        assert_eq!(form["360buy_param_json"], json);
        assert_eq!(form.len(), 7);
        let base = format!(
            "360buy_param_json{json}access_tokentoken-1app_keyAPPKEY\
             methodjingdong.pop.order.shipmenttimestamp2024-05-01 10:03:04v2.0"
        );
        assert_eq!(sign_base(&form), base);
        assert_eq!(
            form["sign"],
            hex::encode_upper(Md5::digest(format!("s3cret{base}s3cret").as_bytes()))
        );

        let body = encode_form(&form);
        assert!(body.contains("timestamp=2024-05-01+10%3A03%3A04"), "{body}");
        assert!(body.contains("360buy_param_json=%7B"), "{body}");
    }

    #[test]
    fn answer_keys_end_in_responce() {
        assert_eq!(
            response_key("jingdong.pop.order.search"),
            "jingdong_pop_order_search_responce"
        );
        assert_eq!(
            response_key(SHIPMENT_METHOD),
            "jingdong_pop_order_shipment_responce"
        );
    }

    #[test]
    fn windows_are_at_most_a_day_over_89_days_and_end_three_minutes_ago() {
        let now = utc("2024-05-03T12:00:00Z");
        assert_eq!(
            WALK.windows(Some(utc("2024-05-02T00:00:00.5Z")), now),
            [
                (utc("2024-05-02T00:00:00Z"), utc("2024-05-03T00:00:00Z")),
                (utc("2024-05-03T00:00:00Z"), utc("2024-05-03T11:57:00Z")),
            ]
        );
        let all = WALK.windows(None, now);
        assert_eq!(all[0].0, utc("2024-02-04T13:00:00Z"));
        assert_eq!(all.last().unwrap().1, utc("2024-05-03T11:57:00Z"));
        assert!(
            all.iter()
                .all(|(start, end)| *end - *start <= TimeDelta::days(1))
        );
        assert_eq!(WALK.windows(Some(utc("2020-01-01T00:00:00Z")), now), all);
    }

    /// A search answer for page `page` (100 a page) of a window of `total`
    /// orders, whose ids count down from `total`.
    fn search_answer(total: u64, page: u32) -> Value {
        let first = total.saturating_sub(u64::from(page - 1) * 100);
        let orders: Vec<Value> = (1..=first)
            .rev()
            .take(100)
            .map(|id| {
                json!({"orderId": id.to_string(), "orderStartTime": "2024-05-01 08:00:00",
                       "modified": "2024-05-01 09:00:00"})
            })
            .collect();
        json!({"jingdong_pop_order_search_responce": {"searchorderinfo_result": {
            "orderTotal": total, "orderInfoList": orders
        }}})
    }

    #[tokio::test]
    async fn windows_are_probed_then_paged_from_their_last_page_down() {
        let now = utc("2024-05-02T12:00:00Z");
        let cursor = Cursor {
            updated_since: Some(utc("2024-05-01T00:00:00Z")),
            page: None,
        };
        // 250 orders in the first window, none in the second.
        let calls = RefCell::new(Vec::new());
        let mut seen = Vec::new();
        let mut high_waters = Vec::new();
        let mut token = WALK.token(&cursor, now).unwrap();
        while let Some(current) = token {
            let list = |page: u32, _probe: bool| {
                let params = search_params(&current, page, 100);
                calls
                    .borrow_mut()
                    .push((params["start_date"].clone(), params["page"].clone()));
                let total = if current.start == utc("2024-05-01T00:00:00Z") {
                    250
                } else {
                    0
                };
                ready(search_listing(search_answer(total, page)))
            };
            let (listed, progress) = WALK.read_page(current, 100, now, list).await.unwrap();
            let (orders, rejected) = read_orders(&listed, order_id, to_marketplace_order);
            assert!(rejected.is_empty(), "{rejected:?}");
            seen.extend(orders.iter().map(|order| order.external_id.clone()));
            let page = progress.page(&cursor, orders, rejected).unwrap();
            high_waters.push(page.high_water);
            token = page
                .next
                .map(|next| WALK.token(&next, now).unwrap().unwrap());
        }
        let expected = [
            ("2024-05-01 08:00:00", "1"),
            ("2024-05-01 08:00:00", "3"),
            ("2024-05-01 08:00:00", "2"),
            ("2024-05-01 08:00:00", "1"),
            ("2024-05-02 08:00:00", "1"),
        ]
        .map(|(start, page)| (start.to_owned(), page.to_owned()));
        assert_eq!(*calls.borrow(), expected);
        assert_eq!(seen.len(), 250);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 250);
        // Inside a window the newest order's time; a completed window, even
        // an empty one, its end.
        let modified = Some(utc("2024-05-01T01:00:00Z"));
        assert_eq!(
            high_waters,
            [
                modified,
                modified,
                Some(utc("2024-05-02T00:00:00Z")),
                Some(utc("2024-05-02T11:57:00Z")),
            ]
        );
    }

    #[test]
    fn a_malformed_order_is_rejected_with_its_id_and_the_others_kept() {
        let mut broken = order();
        broken["orderId"] = json!(230_000_000_002_u64);
        broken["itemInfoList"][0]["jdPrice"] = json!("x");
        let listed = [
            order(),
            broken,
            json!({"orderStartTime": "2024-05-01 00:00:00"}),
        ];
        let (orders, rejected) = read_orders(&listed, order_id, to_marketplace_order);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].external_id, "230000000001");
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].external_id.as_deref(), Some("230000000002"));
        assert!(
            rejected[0].error.contains("jdPrice"),
            "{}",
            rejected[0].error
        );
        assert_eq!(rejected[1].external_id, None);
        assert!(
            rejected[1].error.contains("orderId"),
            "{}",
            rejected[1].error
        );
    }

    #[test]
    fn search_params_name_the_window_and_page() {
        let token = window("2024-05-01T16:00:00Z", "2024-05-02T16:00:00Z");
        let params = search_params(&token, 3, 50);
        assert_eq!(params["start_date"], "2024-05-02 00:00:00");
        assert_eq!(params["end_date"], "2024-05-03 00:00:00");
        assert_eq!(
            params["order_state"],
            "WAIT_SELLER_STOCK_OUT,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED"
        );
        assert_eq!(params["page"], "3");
        assert_eq!(params["page_size"], "50");
        assert_eq!(
            params["optional_fields"],
            "orderId,orderState,orderStartTime,modified,orderRemark,consigneeInfo,itemInfoList,\
             pin,orderTotalPrice"
        );
        assert_eq!(params.len(), 6);
    }

    fn order() -> Value {
        json!({
            "orderId": "230000000001",
            "orderState": "WAIT_SELLER_STOCK_OUT",
            "orderStartTime": "2024-05-01 09:15:00",
            "modified": "2024-05-01 10:20:30",
            "orderRemark": "周末送货",
            "pin": "jd_buyer_01",
            "orderTotalPrice": "208.00",
            "consigneeInfo": {
                "fullname": "李四",
                "mobile": "13900139000",
                "telephone": "010-66666666",
                "province": "北京",
                "city": "北京市",
                "county": "朝阳区",
                "fullAddress": "北京北京市朝阳区建国路88号"
            },
            "itemInfoList": [
                {
                    "skuId": "100012345678",
                    "outerSkuId": "TEE-RED-M",
                    "wareId": "100009876543",
                    "skuName": "纯棉T恤 红色 M",
                    "itemTotal": "2",
                    "jdPrice": "99.00"
                },
                {
                    "skuId": 100012345679_u64,
                    "wareId": 100009876544_u64,
                    "skuName": "马克杯",
                    "itemTotal": 1,
                    "jdPrice": "10.5"
                }
            ]
        })
    }

    #[test]
    fn an_order_converts_field_by_field() {
        let order = to_marketplace_order(&order()).unwrap();
        assert_eq!(order.external_id, "230000000001");
        assert_eq!(order.display_number, None);
        assert!(!order.cancelled);
        assert_eq!(order.platform_status, "WAIT_SELLER_STOCK_OUT");
        assert_eq!(order.currency, "CNY");
        assert_eq!(order.created_at, utc("2024-05-01T01:15:00Z"));
        assert_eq!(order.updated_at, utc("2024-05-01T02:20:30Z"));
        assert_eq!(
            order.buyer,
            Buyer {
                id: Some("jd_buyer_01".to_owned()),
                name: Some("jd_buyer_01".to_owned()),
                email: None,
                phone: None,
            }
        );
        assert_eq!(
            order.ship_to,
            Some(PostalAddress {
                name: Some("李四".to_owned()),
                phone: Some("13900139000".to_owned()),
                line1: Some("北京北京市朝阳区建国路88号".to_owned()),
                line2: None,
                city: Some("北京市".to_owned()),
                region: Some("北京".to_owned()),
                postal_code: None,
                country: Some("CN".to_owned()),
            })
        );
        assert_eq!(order.note.as_deref(), Some("周末送货"));
        assert_eq!(
            order.lines,
            [
                MarketplaceLine {
                    external_line_id: "100012345678".to_owned(),
                    sku: Some("TEE-RED-M".to_owned()),
                    variant_id: Some("100012345678".to_owned()),
                    product_id: Some("100009876543".to_owned()),
                    title: "纯棉T恤 红色 M".to_owned(),
                    quantity: 2,
                    unit_price: Decimal::new(9900, 2),
                },
                MarketplaceLine {
                    external_line_id: "100012345679".to_owned(),
                    sku: None,
                    variant_id: Some("100012345679".to_owned()),
                    product_id: Some("100009876544".to_owned()),
                    title: "马克杯".to_owned(),
                    quantity: 1,
                    unit_price: Decimal::new(105, 1),
                },
            ]
        );
    }

    #[test]
    fn cancelled_orders_and_sparse_consignees() {
        for (state, cancelled) in [
            ("TRADE_CANCELED", true),
            ("WAIT_SELLER_STOCK_OUT", false),
            ("WAIT_GOODS_RECEIVE_CONFIRM", false),
            ("FINISHED_L", false),
        ] {
            let mut order = order();
            order["orderState"] = json!(state);
            let converted = to_marketplace_order(&order).unwrap();
            assert_eq!(converted.cancelled, cancelled, "{state}");
            assert_eq!(converted.platform_status, state);
        }

        let mut order = order();
        order["consigneeInfo"] = json!({
            "telephone": "010-1", "county": "海淀区", "fullAddress": "中关村大街1号"
        });
        assert!(order.as_object_mut().unwrap().remove("modified").is_some());
        let converted = to_marketplace_order(&order).unwrap();
        assert_eq!(converted.updated_at, converted.created_at);
        let address = converted.ship_to.unwrap();
        assert_eq!(address.phone.as_deref(), Some("010-1"));
        assert_eq!(address.line1.as_deref(), Some("海淀区 中关村大街1号"));
        assert_eq!(address.country.as_deref(), Some("CN"));

        order["consigneeInfo"] = json!({});
        assert_eq!(to_marketplace_order(&order).unwrap().ship_to, None);

        for broken in [
            json!({"orderStartTime": "2024-05-01 00:00:00"}),
            json!({"orderId": "1"}),
            json!({"orderId": "1", "orderStartTime": "2024-05-01T00:00:00Z"}),
            json!({"orderId": "1", "orderStartTime": "2024-05-01 00:00:00", "itemInfoList": {}}),
            json!({"orderId": "1", "orderStartTime": "2024-05-01 00:00:00",
                   "itemInfoList": [{"skuId": "2", "itemTotal": "1", "jdPrice": "x"}]}),
            json!({"orderId": "1", "orderStartTime": "2024-05-01 00:00:00",
                   "itemInfoList": [{"itemTotal": "1", "jdPrice": "1"}]}),
        ] {
            assert!(
                matches!(
                    to_marketplace_order(&broken),
                    Err(ConnectorError::Invalid(_))
                ),
                "{broken}"
            );
        }
    }

    #[test]
    fn search_answers_give_their_total_and_orders() {
        let answer = json!({"jingdong_pop_order_search_responce": {
            "code": "0",
            "searchorderinfo_result": {
                "apiResult": {"success": true},
                "orderTotal": 2,
                "orderInfoList": [order(), order()]
            }
        }});
        let (total, orders) = search_result(answer).unwrap();
        assert_eq!(total, 2);
        assert_eq!(orders.len(), 2);

        let empty = json!({"jingdong_pop_order_search_responce": {
            "searchorderinfo_result": {"orderTotal": "0"}
        }});
        assert_eq!(search_result(empty).unwrap(), (0, Vec::new()));

        let failed = json!({"jingdong_pop_order_search_responce": {
            "searchorderinfo_result": {"apiResult": {
                "success": false, "englishErr": "bad state", "chineseErr": "状态错误"
            }}
        }});
        match search_result(failed) {
            Err(ConnectorError::Platform { status, message }) => {
                assert_eq!(status, 200);
                assert!(message.contains("bad state 状态错误"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            search_result(json!({})),
            Err(ConnectorError::Invalid(_))
        ));

        let listing = search_listing(search_answer(3, 1)).unwrap();
        assert_eq!(listing.total, Some(3));
        assert_eq!(listing.items.len(), 3);
        assert_eq!(listing.items[0]["orderId"], "3");
    }

    #[test]
    fn error_responses_map_to_errors() {
        assert!(check_error(&json!({"jingdong_pop_order_search_responce": {}})).is_ok());
        let expired = json!({"error_response": {
            "code": "19", "zh_desc": "token已过期或者不存在，请重新授权访问", "en_desc": "Invalid access_token"
        }});
        match check_error(&expired) {
            Err(ConnectorError::Unauthorized(message)) => {
                assert!(message.starts_with("19 token已过期"), "{message}");
                assert!(message.ends_with("Invalid access_token"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let limited = json!({"error_response": {
            "code": "67", "zh_desc": "调用频率超限", "en_desc": "Call frequency exceeded"
        }});
        assert!(matches!(
            check_error(&limited),
            Err(ConnectorError::RateLimited { retry_after: None })
        ));
        let other = json!({"error_response": {
            "code": 66, "zh_desc": "参数错误", "en_desc": "Invalid parameter"
        }});
        match check_error(&other) {
            Err(ConnectorError::Platform { status, message }) => {
                assert_eq!(status, 200);
                assert_eq!(message, "66 参数错误 Invalid parameter");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            status_error(401, b""),
            ConnectorError::Unauthorized(_)
        ));
        assert!(matches!(
            status_error(500, b"oops"),
            ConnectorError::Platform { status: 500, .. }
        ));
    }

    fn fulfilment() -> Fulfilment {
        Fulfilment {
            external_order_id: "230000000001".to_owned(),
            lines: vec![("100012345678".to_owned(), 1)],
            tracking_number: "JDV000123456789".to_owned(),
            carrier: "1327".to_owned(),
            tracking_url: None,
            notify_customer: false,
            completes_order: true,
        }
    }

    #[test]
    fn a_shipment_names_order_carrier_and_waybill() {
        let params = fulfilment_params(&fulfilment());
        assert_eq!(params["orderId"], "230000000001");
        assert_eq!(params["logiCoprId"], "1327");
        assert_eq!(params["logiNo"], "JDV000123456789");
        assert_eq!(params.len(), 3);
        let json: Value = serde_json::from_str(&param_json(&params).unwrap()).unwrap();
        assert_eq!(
            json,
            json!({"orderId": "230000000001", "logiCoprId": "1327", "logiNo": "JDV000123456789"})
        );
    }

    #[test]
    fn shipment_answers() {
        let ok = json!({"jingdong_pop_order_shipment_responce": {
            "code": "0", "sopjosshipment_result": {"success": true}
        }});
        assert_eq!(
            check_shipment_answer(&ok).unwrap(),
            PushReceipt { reference: None }
        );
        let refused = json!({"jingdong_pop_order_shipment_responce": {
            "sopjosshipment_result": {"success": false, "chineseErr": "订单已出库"}
        }});
        match check_shipment_answer(&refused) {
            Err(ConnectorError::Platform { status, message }) => {
                assert_eq!(status, 200);
                assert!(message.contains("订单已出库"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let error = json!({"error_response": {"code": "66", "zh_desc": "x", "en_desc": "y"}});
        assert!(matches!(
            check_shipment_answer(&error),
            Err(ConnectorError::Platform { .. })
        ));
        assert!(matches!(
            check_shipment_answer(&json!({})),
            Err(ConnectorError::Invalid(_))
        ));
    }
}
