//! Taobao / Tmall through the Taobao Open Platform (TOP).
//!
//! Every call is a signed form `POST {base}/router/rest` carrying the common
//! parameters (`method`, `app_key`, `session`, `timestamp` in GMT+8, `v=2.0`,
//! `format=json`, `sign_method`, `sign`) beside the method's own.
//!
//! Orders are pulled with `taobao.trades.sold.increment.get` in windows of at
//! most one day (TOP refuses longer ones, and anything older than three
//! months), ending three minutes before now (TOP indexes trades with a
//! delay). Each window is paged from its last page back to its first (the
//! walk JD's connector shares, see `windows`): page 1 is asked for without
//! `use_has_next` to count the window, then the last page and the ones before
//! it with `use_has_next=true`. An order modified again while a run is in
//! progress then leaves the window without pushing unread ones past the
//! pages read. Trades listed without their lines are completed with
//! `taobao.trade.fullinfo.get`; a trade that cannot be read is rejected, the
//! page goes on. Shipments go back with `taobao.logistics.offline.send`.
//!
//! Unverified: the shape of `error_response` and the codes read from it (the
//! credential codes in [`AUTH_ERROR_CODES`] and the session sub-codes, 7 for
//! the call limit) come from third-party code, and no public payload fixture
//! exists: the tests build their payloads from the contract.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::Value;
use sha2::Sha256;

use super::common::{
    decimal, encode_form, format_china_time, integer, invalid, parse_china_time, read_orders,
    rejection, sign_base, status_error, text, transport, truthy,
};
use super::windows::{Listed, PageToken, Walk};
use super::{
    Buyer, ClientOptions, Connector, ConnectorError, Cursor, Fulfilment, MarketplaceLine,
    MarketplaceOrder, OrdersPage, Platform, PostalAddress, PushReceipt, RejectedOrder,
};
use crate::couriers::VerifyError;

/// The path of TOP's single endpoint.
const ROUTER_PATH: &str = "/router/rest";
/// The API version sent with every call.
const API_VERSION: &str = "2.0";
/// The answer format asked for.
const FORMAT: &str = "json";
/// How requests are signed.
const REQUEST_SIGN_METHOD: SignMethod = SignMethod::Md5;
/// The content type of a call's body.
const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded;charset=utf-8";

/// The incremental order list.
const INCREMENT_METHOD: &str = "taobao.trades.sold.increment.get";
/// The key of its answer.
const INCREMENT_RESPONSE: &str = "trades_sold_increment_get_response";
/// One trade in full.
const FULLINFO_METHOD: &str = "taobao.trade.fullinfo.get";
/// The key of its answer.
const FULLINFO_RESPONSE: &str = "trade_fullinfo_get_response";
/// Shipment without Cainiao's e-waybill ("offline" delivery).
const SEND_METHOD: &str = "taobao.logistics.offline.send";
/// The key of its answer.
const SEND_RESPONSE: &str = "logistics_offline_send_response";

/// The trade fields asked for, lines (`orders`) included.
const TRADE_FIELDS: &str = "tid,status,modified,created,buyer_nick,receiver_name,receiver_mobile,\
receiver_phone,receiver_state,receiver_city,receiver_district,receiver_address,receiver_zip,\
payment,buyer_message,orders";

/// Trade statuses that mean the trade was cancelled (closed before or after
/// payment, by the buyer, the seller or Taobao).
const CANCELLED_STATUSES: [&str; 2] = ["TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"];

/// `error_response.code`s that mean the credentials are refused (unverified):
/// invalid signature (wrong secret), missing session, invalid session, invalid
/// app key. A `sub_code` mentioning the session counts too.
pub const AUTH_ERROR_CODES: [i64; 4] = [25, 26, 27, 29];
/// `error_response.code` of the call limit (unverified).
const CALL_LIMIT_CODE: i64 = 7;
/// The wait before retrying a call refused by the call limit.
const CALL_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// The most trades per page TOP returns.
const MAX_PAGE_SIZE: u32 = 100;
/// How orders are walked: windows of a day at most (the longest TOP
/// accepts) over three months, taken at their shortest (February to April,
/// 89 days) so that either reading of the limit (calendar months or days)
/// accepts it; a run without a (recent enough) `since` starts an hour inside
/// that limit; the walk ends three minutes before now, TOP's indexing delay.
const WALK: Walk = Walk {
    window: TimeDelta::days(1),
    history: TimeDelta::days(89),
    history_margin: TimeDelta::hours(1),
    lag: TimeDelta::minutes(3),
    platform: "Taobao",
};

/// How a request is signed (TOP's `sign_method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignMethod {
    /// `md5`: upper hex MD5(secret + s + secret).
    Md5,
    /// `hmac`: upper hex HMAC-MD5(secret, s).
    Hmac,
    /// `hmac-sha256`: upper hex HMAC-SHA256(secret, s).
    HmacSha256,
}

impl SignMethod {
    /// The value of the `sign_method` parameter.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Hmac => "hmac",
            Self::HmacSha256 => "hmac-sha256",
        }
    }
}

/// A TOP connection: one shop's session under one app.
#[derive(Clone)]
pub struct Config {
    /// The API's origin without a trailing slash, e.g. `https://eco.taobao.com`
    /// (or a mock's).
    pub base_url: String,
    /// The app's key on TOP.
    pub app_key: String,
    /// The app's secret, which signs every call.
    pub app_secret: String,
    /// The shop's session key.
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

/// The Taobao connector.
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

    /// The current time, in whole seconds (TOP's times have no fraction).
    fn now(&self) -> DateTime<Utc> {
        self.config.now.unwrap_or_else(Utc::now).trunc_subsecs(0)
    }

    /// Calls `method` and returns the whole answer, retrying while rate
    /// limited (HTTP 429 after its `Retry-After`, TOP's call limit after a
    /// second) up to `max_rate_limit_retries` times.
    async fn call(
        &self,
        method: &str,
        params: &BTreeMap<String, String>,
    ) -> Result<Value, ConnectorError> {
        let url = format!("{}{ROUTER_PATH}", self.config.base_url);
        let options = &self.config.options;
        let mut retries = 0_u32;
        loop {
            let form = signed_form(&self.config, method, params, self.now());
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

    /// One page of a window's increment list. The probe (page 1) is asked
    /// for without `use_has_next`, so that TOP counts the window
    /// (`total_results`); other pages with it, which TOP answers faster.
    async fn increment_page(
        &self,
        token: &PageToken,
        page_no: u32,
        probe: bool,
    ) -> Result<Listed, ConnectorError> {
        let params = increment_params(token, page_no, self.page_size(), !probe);
        let answer = self.call(INCREMENT_METHOD, &params).await?;
        increment_listing(answer, probe)
    }

    /// The listed trades read one by one, those listed without their lines
    /// completed with `taobao.trade.fullinfo.get` first. A trade that cannot
    /// be read is rejected; a call that fails fails the page.
    async fn read_trades(
        &self,
        listed: Vec<Value>,
    ) -> Result<(Vec<MarketplaceOrder>, Vec<RejectedOrder>), ConnectorError> {
        let mut trades = Vec::with_capacity(listed.len());
        let mut rejected = Vec::new();
        for trade in listed {
            if has_lines(&trade) {
                trades.push(trade);
                continue;
            }
            match self.full_trade(&trade).await? {
                Ok(full) => trades.push(full),
                Err(rejected_trade) => rejected.push(rejected_trade),
            }
        }
        let (orders, unreadable) = read_orders(&trades, trade_id, to_marketplace_order);
        rejected.extend(unreadable);
        Ok((orders, rejected))
    }

    /// The full trade (lines included) of a listed trade. The call's error
    /// fails the page; an answer without the trade rejects the trade.
    async fn full_trade(
        &self,
        trade: &Value,
    ) -> Result<Result<Value, RejectedOrder>, ConnectorError> {
        let Some(tid) = trade_id(trade) else {
            return Ok(Err(rejection(None, &invalid("a listed trade has no tid"))));
        };
        let answer = self.call(FULLINFO_METHOD, &fullinfo_params(&tid)).await?;
        Ok(fullinfo_trade(answer, &tid).map_err(|error| rejection(Some(tid), &error)))
    }

    /// Trades per page, within TOP's bounds.
    fn page_size(&self) -> u32 {
        self.config.options.page_size.clamp(1, MAX_PAGE_SIZE)
    }
}

impl Connector for Client {
    fn platform(&self) -> Platform {
        Platform::Taobao
    }

    async fn fetch_orders_since(&self, cursor: &Cursor) -> Result<OrdersPage, ConnectorError> {
        let now = self.now();
        let Some(token) = WALK.token(cursor, now)? else {
            return Ok(OrdersPage::default());
        };
        let (listed, progress) = WALK
            .read_page(token, self.page_size(), now, |page_no, probe| {
                self.increment_page(&token, page_no, probe)
            })
            .await?;
        let (orders, rejected) = self.read_trades(listed).await?;
        progress.page(cursor, orders, rejected)
    }

    async fn push_fulfilment(
        &self,
        fulfilment: &Fulfilment,
    ) -> Result<PushReceipt, ConnectorError> {
        let answer = self
            .call(SEND_METHOD, &fulfilment_params(fulfilment))
            .await?;
        check_send_answer(&answer)
    }

    fn verify_webhook(
        &self,
        _header: &dyn Fn(&str) -> Option<String>,
        _body: &[u8],
    ) -> Result<(), VerifyError> {
        // TOP pushes nothing to Dingdan: whatever claims to come from it is refused.
        Err(VerifyError::Mismatch)
    }
}

/// Signs parameters (exposed for tests and the server's mock): the upper hex
/// digest, with `secret` as `method` says, of the parameters but `sign`
/// sorted by name, as name + value, concatenated.
pub fn sign(params: &BTreeMap<String, String>, secret: &str, method: SignMethod) -> String {
    let base = sign_base(params);
    match method {
        SignMethod::Md5 => {
            let digest = <Md5 as Digest>::digest(format!("{secret}{base}{secret}").as_bytes());
            hex::encode_upper(digest)
        }
        SignMethod::Hmac => hmac_hex::<Hmac<Md5>>(secret, &base),
        SignMethod::HmacSha256 => hmac_hex::<Hmac<Sha256>>(secret, &base),
    }
}

/// Upper hex HMAC of `data` keyed with `key`.
fn hmac_hex<M: Mac + hmac::digest::KeyInit>(key: &str, data: &str) -> String {
    // HMAC takes keys of any length, so the key is never refused.
    match <M as Mac>::new_from_slice(key.as_bytes()) {
        Ok(mut mac) => {
            Mac::update(&mut mac, data.as_bytes());
            hex::encode_upper(Mac::finalize(mac).into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The full form of a call at `now`: the method's parameters, the common ones
/// and the signature. Empty values are left out (TOP's SDKs neither send nor
/// sign them).
pub(crate) fn signed_form(
    config: &Config,
    method: &str,
    params: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> BTreeMap<String, String> {
    let timestamp = format_china_time(now);
    let mut form = params.clone();
    for (name, value) in [
        ("method", method),
        ("app_key", config.app_key.as_str()),
        ("session", config.session.as_str()),
        ("timestamp", timestamp.as_str()),
        ("v", API_VERSION),
        ("format", FORMAT),
        ("sign_method", REQUEST_SIGN_METHOD.as_str()),
    ] {
        form.insert(name.to_owned(), value.to_owned());
    }
    form.retain(|_, value| !value.is_empty());
    let signature = sign(&form, &config.app_secret, REQUEST_SIGN_METHOD);
    form.insert("sign".to_owned(), signature);
    form
}

/// The parameters of `taobao.trades.sold.increment.get` for one page of the
/// token's window. Without `use_has_next` TOP counts the window
/// (`total_results`); with it, it does not, and answers faster.
pub(crate) fn increment_params(
    token: &PageToken,
    page_no: u32,
    page_size: u32,
    use_has_next: bool,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("fields".to_owned(), TRADE_FIELDS.to_owned()),
        ("start_modified".to_owned(), format_china_time(token.start)),
        ("end_modified".to_owned(), format_china_time(token.end)),
        ("page_no".to_owned(), page_no.to_string()),
        ("page_size".to_owned(), page_size.to_string()),
        ("use_has_next".to_owned(), use_has_next.to_string()),
    ])
}

/// The parameters of `taobao.trade.fullinfo.get` for trade `tid`.
fn fullinfo_params(tid: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("fields".to_owned(), TRADE_FIELDS.to_owned()),
        ("tid".to_owned(), tid.to_owned()),
    ])
}

/// The parameters of `taobao.logistics.offline.send` for a shipment. A
/// shipment of some lines only is sent split (`is_split=1`), naming the
/// lines (`sub_tid`); TOP ships whole lines, so quantities are not sent.
pub(crate) fn fulfilment_params(fulfilment: &Fulfilment) -> BTreeMap<String, String> {
    let mut params = BTreeMap::from([
        ("tid".to_owned(), fulfilment.external_order_id.clone()),
        ("out_sid".to_owned(), fulfilment.tracking_number.clone()),
        ("company_code".to_owned(), fulfilment.carrier.clone()),
    ]);
    if !fulfilment.lines.is_empty() {
        let oids: Vec<&str> = fulfilment
            .lines
            .iter()
            .map(|(oid, _)| oid.as_str())
            .collect();
        params.insert("is_split".to_owned(), "1".to_owned());
        params.insert("sub_tid".to_owned(), oids.join(","));
    }
    params
}

/// Reads `taobao.logistics.offline.send`'s answer.
pub(crate) fn check_send_answer(answer: &Value) -> Result<PushReceipt, ConnectorError> {
    check_error(answer)?;
    let shipping = answer
        .get(SEND_RESPONSE)
        .and_then(|response| response.get("shipping"))
        .ok_or_else(|| ConnectorError::Invalid(format!("no {SEND_RESPONSE}.shipping")))?;
    if truthy(shipping.get("is_success")) {
        Ok(PushReceipt { reference: None })
    } else {
        Err(ConnectorError::Platform {
            status: 200,
            message: format!("{SEND_METHOD} was not successful: {shipping}"),
        })
    }
}

/// Maps TOP's `error_response` (HTTP 200) to an error: the credential codes
/// and session sub-codes to `Unauthorized`, the call limit (code 7) to
/// `RateLimited`, anything else to `Platform` with "code msg sub_code
/// sub_msg". `Ok` when the answer carries no error.
pub(crate) fn check_error(answer: &Value) -> Result<(), ConnectorError> {
    let Some(error) = answer
        .get("error_response")
        .filter(|error| !error.is_null())
    else {
        return Ok(());
    };
    let code = integer(error.get("code"));
    let sub_code = text(error.get("sub_code"));
    let message = ["code", "msg", "sub_code", "sub_msg"]
        .iter()
        .filter_map(|key| text(error.get(*key)))
        .collect::<Vec<_>>()
        .join(" ");
    let session_refused = sub_code
        .as_deref()
        .is_some_and(|sub_code| sub_code.to_ascii_lowercase().contains("session"));
    if session_refused || code.is_some_and(|code| AUTH_ERROR_CODES.contains(&code)) {
        Err(ConnectorError::Unauthorized(message))
    } else if code == Some(CALL_LIMIT_CODE) {
        Err(ConnectorError::RateLimited { retry_after: None })
    } else {
        Err(ConnectorError::Platform {
            status: 200,
            message,
        })
    }
}

/// Takes the method's own answer (under `key`) out of the whole answer.
fn take_response(answer: &mut Value, key: &str) -> Result<Value, ConnectorError> {
    match answer.get_mut(key).map(Value::take) {
        Some(response) if response.is_object() => Ok(response),
        _ => Err(ConnectorError::Invalid(format!("the answer has no {key}"))),
    }
}

/// An increment page's answer as listed: its trades and, for the probe, the
/// window's size.
fn increment_listing(mut answer: Value, probe: bool) -> Result<Listed, ConnectorError> {
    let response = take_response(&mut answer, INCREMENT_RESPONSE)?;
    let total = if probe {
        Some(total_results(&response)?)
    } else {
        None
    };
    Ok(Listed {
        total,
        items: listed_trades(response)?,
    })
}

/// The size of the window a page belongs to: `total_results`, or, if TOP
/// left it out, the trades on a page that says there is no next one.
pub(crate) fn total_results(response: &Value) -> Result<u64, ConnectorError> {
    if let Some(total) = integer(response.get("total_results")) {
        return u64::try_from(total)
            .map_err(|_| ConnectorError::Invalid(format!("negative total_results {total}")));
    }
    if truthy(response.get("has_next")) {
        return Err(ConnectorError::Invalid(
            "the increment list gave no total_results".to_owned(),
        ));
    }
    let listed = response
        .get("trades")
        .and_then(|trades| trades.get("trade"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    Ok(u64::try_from(listed).unwrap_or(u64::MAX))
}

/// The trades of an increment page (`trades.trade`; TOP leaves `trades` out
/// when there are none).
pub(crate) fn listed_trades(mut response: Value) -> Result<Vec<Value>, ConnectorError> {
    let listed = response
        .get_mut("trades")
        .and_then(|trades| trades.get_mut("trade"))
        .map(Value::take);
    match listed {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(trades)) => Ok(trades),
        Some(other) => Err(ConnectorError::Invalid(format!(
            "trades.trade is not a list: {other}"
        ))),
    }
}

/// Whether a listed trade carries its lines.
fn has_lines(trade: &Value) -> bool {
    trade.get("orders").is_some_and(|orders| !orders.is_null())
}

/// The trade in `taobao.trade.fullinfo.get`'s answer for trade `tid`.
fn fullinfo_trade(mut answer: Value, tid: &str) -> Result<Value, ConnectorError> {
    let mut response = take_response(&mut answer, FULLINFO_RESPONSE)?;
    match response.get_mut("trade").map(Value::take) {
        Some(trade) if trade.is_object() => Ok(trade),
        _ => Err(invalid(format!(
            "{FULLINFO_RESPONSE} of trade {tid} holds no trade"
        ))),
    }
}

/// A listed trade's id: `tid`, else `tid_str`.
fn trade_id(trade: &Value) -> Option<String> {
    text(trade.get("tid")).or_else(|| text(trade.get("tid_str")))
}

/// Converts a TOP trade (as listed by the increment list or
/// `taobao.trade.fullinfo.get`) into a [`MarketplaceOrder`].
pub fn to_marketplace_order(trade: &Value) -> Result<MarketplaceOrder, ConnectorError> {
    let tid = trade_id(trade).ok_or_else(|| invalid("a trade has no tid"))?;
    let created_at = time_field(trade, "created", &tid)?
        .ok_or_else(|| ConnectorError::Invalid(format!("trade {tid} has no created time")))?;
    let updated_at = time_field(trade, "modified", &tid)?.unwrap_or(created_at);
    let status = text(trade.get("status")).unwrap_or_default();
    let nick = text(trade.get("buyer_nick"));
    let lines = match trade.get("orders").and_then(|orders| orders.get("order")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(orders)) => orders
            .iter()
            .map(|order| to_line(order, &tid))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ConnectorError::Invalid(format!(
                "trade {tid}: orders.order is not a list"
            )));
        }
    };
    Ok(MarketplaceOrder {
        cancelled: CANCELLED_STATUSES.contains(&status.as_str()),
        platform_status: status,
        currency: "CNY".to_owned(),
        created_at,
        updated_at,
        buyer: Buyer {
            id: nick.clone(),
            name: nick,
            email: None,
            phone: None,
        },
        ship_to: ship_to(trade),
        lines,
        note: text(trade.get("buyer_message")),
        external_id: tid,
        display_number: None,
    })
}

/// A trade's receiver, `None` when the trade names none.
fn ship_to(trade: &Value) -> Option<PostalAddress> {
    let field = |key: &str| text(trade.get(key));
    let line1 = [field("receiver_district"), field("receiver_address")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let address = PostalAddress {
        name: field("receiver_name"),
        phone: field("receiver_mobile").or_else(|| field("receiver_phone")),
        line1: Some(line1).filter(|line1| !line1.is_empty()),
        line2: None,
        city: field("receiver_city"),
        region: field("receiver_state"),
        postal_code: field("receiver_zip"),
        country: None,
    };
    (address != PostalAddress::default()).then(|| PostalAddress {
        country: Some("CN".to_owned()),
        ..address
    })
}

/// One sub-order (`orders.order[]`) as a line.
fn to_line(order: &Value, tid: &str) -> Result<MarketplaceLine, ConnectorError> {
    let field = |key: &str| text(order.get(key));
    let oid = field("oid")
        .ok_or_else(|| ConnectorError::Invalid(format!("trade {tid}: a line has no oid")))?;
    let quantity = integer(order.get("num")).ok_or_else(|| {
        ConnectorError::Invalid(format!("trade {tid}, line {oid}: no quantity (num)"))
    })?;
    let unit_price = decimal(order.get("price")).ok_or_else(|| {
        ConnectorError::Invalid(format!("trade {tid}, line {oid}: no readable price"))
    })?;
    Ok(MarketplaceLine {
        sku: field("outer_sku_id").or_else(|| field("outer_iid")),
        variant_id: field("sku_id"),
        product_id: field("num_iid"),
        title: field("title").unwrap_or_default(),
        quantity,
        unit_price,
        external_line_id: oid,
    })
}

/// A time field of a trade: `None` when absent, an error when unreadable.
fn time_field(
    trade: &Value,
    key: &str,
    tid: &str,
) -> Result<Option<DateTime<Utc>>, ConnectorError> {
    match text(trade.get(key)) {
        None => Ok(None),
        Some(time) => parse_china_time(&time).map(Some).ok_or_else(|| {
            ConnectorError::Invalid(format!("trade {tid}: unreadable {key} {time:?}"))
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
            app_key: "12345678".to_owned(),
            app_secret: "helloworld".to_owned(),
            session: "sess-abc".to_owned(),
            options: ClientOptions::default(),
            now: None,
        }
    }

    fn window(start: &str, end: &str) -> PageToken {
        PageToken::fresh((utc(start), utc(end)))
    }

    /// A client whose calls would fail (nothing listens on port 9).
    fn client() -> Client {
        // reqwest is built without a default TLS crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Client::new(config()).unwrap()
    }

    #[test]
    fn the_sign_base_sorts_by_name_and_leaves_sign_out() {
        let params = params(&[
            ("v", "2.0"),
            ("app_key", "12345678"),
            ("sign", "IGNORED"),
            ("method", "taobao.item.seller.get"),
            ("fields", "num_iid,title"),
        ]);
        assert_eq!(
            sign_base(&params),
            "app_key12345678fieldsnum_iid,titlemethodtaobao.item.seller.getv2.0"
        );
    }

    #[test]
    fn md5_signatures_wrap_the_base_in_the_secret() {
        let params = params(&[("b", "2"), ("a", "1"), ("sign", "x")]);
        assert_eq!(sign_base(&params), "a1b2");
        let expected = hex::encode_upper(Md5::digest(b"secreta1b2secret"));
        assert_eq!(sign(&params, "secret", SignMethod::Md5), expected);
        assert_eq!(expected.len(), 32);
        assert_eq!(expected, expected.to_uppercase());
        // The same parameters given in another order sign the same.
        let reordered = params_from_reversed(&params);
        assert_eq!(sign(&reordered, "secret", SignMethod::Md5), expected);
    }

    fn params_from_reversed(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut reversed = BTreeMap::new();
        for (name, value) in params.iter().rev() {
            reversed.insert(name.clone(), value.clone());
        }
        reversed
    }

    #[test]
    fn hmac_signatures_key_the_base_with_the_secret() {
        let pairs = params(&[("b", "2"), ("a", "1")]);
        let mut md5 = <Hmac<Md5> as Mac>::new_from_slice(b"secret").unwrap();
        Mac::update(&mut md5, b"a1b2");
        let expected = hex::encode_upper(Mac::finalize(md5).into_bytes());
        assert_eq!(sign(&pairs, "secret", SignMethod::Hmac), expected);
        assert_eq!(expected.len(), 32);

        let mut sha = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        Mac::update(&mut sha, b"a1b2");
        let expected = hex::encode_upper(Mac::finalize(sha).into_bytes());
        assert_eq!(sign(&pairs, "secret", SignMethod::HmacSha256), expected);
        assert_eq!(expected.len(), 64);

        // Known HMAC-MD5 vector (RFC 2104): key "Jefe".
        let vector = params(&[("what do ya want ", "for nothing?")]);
        assert_eq!(
            sign(&vector, "Jefe", SignMethod::Hmac),
            "750C783E6AB0B503EAA86E310A5DB738"
        );
        assert_eq!(SignMethod::Md5.as_str(), "md5");
        assert_eq!(SignMethod::Hmac.as_str(), "hmac");
        assert_eq!(SignMethod::HmacSha256.as_str(), "hmac-sha256");
    }

    #[test]
    fn a_signed_form_carries_the_common_parameters() {
        let now = utc("2024-05-01T02:03:04Z");
        let form = signed_form(
            &config(),
            SEND_METHOD,
            &params(&[("tid", "123"), ("empty", "")]),
            now,
        );
        assert_eq!(form["method"], "taobao.logistics.offline.send");
        assert_eq!(form["app_key"], "12345678");
        assert_eq!(form["session"], "sess-abc");
        assert_eq!(form["timestamp"], "2024-05-01 10:03:04");
        assert_eq!(form["v"], "2.0");
        assert_eq!(form["format"], "json");
        assert_eq!(form["sign_method"], "md5");
        assert_eq!(form["tid"], "123");
        assert!(!form.contains_key("empty"));
        assert_eq!(form.len(), 9);
        let expected = hex::encode_upper(Md5::digest(
            "helloworldapp_key12345678formatjsonmethodtaobao.logistics.offline.send\
             sessionsess-abcsign_methodmd5tid123timestamp2024-05-01 10:03:04v2.0helloworld"
                .as_bytes(),
        ));
        assert_eq!(form["sign"], expected);
        assert_eq!(sign(&form, "helloworld", SignMethod::Md5), expected);

        let body = encode_form(&form);
        assert!(body.contains("timestamp=2024-05-01+10%3A03%3A04"), "{body}");
        assert!(
            body.contains("method=taobao.logistics.offline.send"),
            "{body}"
        );
    }

    #[test]
    fn windows_are_at_most_a_day_over_89_days_and_end_three_minutes_ago() {
        let now = utc("2024-05-31T12:00:00Z");
        assert_eq!(
            WALK.windows(Some(utc("2024-05-30T06:00:00.750Z")), now),
            [
                (utc("2024-05-30T06:00:00Z"), utc("2024-05-31T06:00:00Z")),
                (utc("2024-05-31T06:00:00Z"), utc("2024-05-31T11:57:00Z")),
            ]
        );
        let all = WALK.windows(None, now);
        assert_eq!(all[0].0, utc("2024-03-03T13:00:00Z"));
        assert_eq!(all.last().unwrap().1, utc("2024-05-31T11:57:00Z"));
        assert!(
            all.iter()
                .all(|(start, end)| *end - *start <= TimeDelta::days(1))
        );
    }

    /// An increment answer listing `trades` of a window of `total`.
    fn increment_answer(total: usize, trades: &[u64]) -> Value {
        let trades: Vec<Value> = trades.iter().map(|tid| json!({"tid": tid})).collect();
        json!({"trades_sold_increment_get_response": {
            "total_results": total, "has_next": false, "trades": {"trade": trades}
        }})
    }

    #[tokio::test]
    async fn a_window_is_probed_then_paged_from_its_last_page_down() {
        let now = utc("2024-05-02T12:00:00Z");
        let first = window("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z");
        // 250 trades, newest first, 100 a page.
        let calls = RefCell::new(Vec::new());
        let list = |page_no: u32, probe: bool| {
            let params = increment_params(&first, page_no, 100, !probe);
            calls
                .borrow_mut()
                .push((params["page_no"].clone(), params["use_has_next"].clone()));
            let start = 250 - u64::from(page_no - 1) * 100;
            let tids: Vec<u64> = (1..=start).rev().take(100).collect();
            ready(increment_listing(increment_answer(250, &tids), probe))
        };
        let mut next = Some(first);
        let mut pages = Vec::new();
        while let Some(token) = next.filter(|token| token.start == first.start) {
            let (listed, progress) = WALK.read_page(token, 100, now, list).await.unwrap();
            pages.push(listed.len());
            next = progress
                .page(&Cursor::default(), Vec::new(), Vec::new())
                .unwrap()
                .next
                .map(|cursor| WALK.token(&cursor, now).unwrap().unwrap());
        }
        let expected = [("1", "false"), ("3", "true"), ("2", "true"), ("1", "true")]
            .map(|(page, has_next)| (page.to_owned(), has_next.to_owned()));
        assert_eq!(*calls.borrow(), expected);
        assert_eq!(pages, [50, 100, 100]);
        assert_eq!(
            next,
            Some(
                window("2024-05-02T00:00:00Z", "2024-05-02T11:57:00Z")
                    .until(utc("2024-05-02T11:57:00Z"))
            )
        );
    }

    #[test]
    fn increment_pages_ask_for_the_window_in_gmt_plus_8() {
        let token = window("2024-05-01T16:00:00Z", "2024-05-02T16:00:00Z");
        let params = increment_params(&token, 2, 50, true);
        assert_eq!(params["start_modified"], "2024-05-02 00:00:00");
        assert_eq!(params["end_modified"], "2024-05-03 00:00:00");
        assert_eq!(params["page_no"], "2");
        assert_eq!(params["page_size"], "50");
        assert_eq!(params["use_has_next"], "true");
        assert_eq!(params["fields"], TRADE_FIELDS);
        assert!(TRADE_FIELDS.contains("receiver_zip,payment,buyer_message,orders"));
        assert_eq!(params.len(), 6);
        assert_eq!(
            increment_params(&token, 1, 50, false)["use_has_next"],
            "false"
        );
        let full = fullinfo_params("42");
        assert_eq!(full["tid"], "42");
        assert_eq!(full["fields"], TRADE_FIELDS);
    }

    #[test]
    fn increment_answers_give_their_total_and_trades() {
        let response = json!({
            "total_results": 2,
            "has_next": false,
            "trades": {"trade": [{"tid": 1}, {"tid": 2, "orders": {"order": []}}]}
        });
        assert_eq!(total_results(&response).unwrap(), 2);
        let listed = listed_trades(response).unwrap();
        assert_eq!(listed.len(), 2);
        assert!(!has_lines(&listed[0]));
        assert!(has_lines(&listed[1]));

        let empty = json!({"total_results": 0});
        assert_eq!(total_results(&empty).unwrap(), 0);
        assert!(listed_trades(empty).unwrap().is_empty());
        assert_eq!(total_results(&json!({"total_results": "7"})).unwrap(), 7);
        assert_eq!(
            total_results(&json!({"has_next": false, "trades": {"trade": [{}]}})).unwrap(),
            1
        );
        assert!(total_results(&json!({"has_next": true})).is_err());
        assert!(listed_trades(json!({"trades": {"trade": "x"}})).is_err());

        let mut answer = json!({"trades_sold_increment_get_response": {"total_results": 0}});
        assert_eq!(
            take_response(&mut answer, INCREMENT_RESPONSE).unwrap(),
            json!({"total_results": 0})
        );
        assert!(take_response(&mut json!({}), INCREMENT_RESPONSE).is_err());

        let probe = increment_listing(increment_answer(7, &[1, 2]), true).unwrap();
        assert_eq!(probe.total, Some(7));
        assert_eq!(probe.items, [json!({"tid": 1}), json!({"tid": 2})]);
        let later = increment_listing(increment_answer(7, &[3]), false).unwrap();
        assert_eq!(later.total, None);
        assert_eq!(later.items.len(), 1);
        assert!(increment_listing(json!({}), true).is_err());
    }

    #[test]
    fn fullinfo_answers_hold_the_trade() {
        let answer = json!({"trade_fullinfo_get_response": {"trade": trade()}});
        assert_eq!(fullinfo_trade(answer, "1").unwrap(), trade());
        let empty = json!({"trade_fullinfo_get_response": {}});
        match fullinfo_trade(empty, "42") {
            Err(ConnectorError::Invalid(message)) => assert!(message.contains("42"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(fullinfo_trade(json!({}), "42").is_err());
        assert_eq!(
            trade_id(&json!({"tid": 5, "tid_str": "6"})).as_deref(),
            Some("5")
        );
        assert_eq!(trade_id(&json!({"tid_str": "6"})).as_deref(), Some("6"));
        assert_eq!(trade_id(&json!({})), None);
    }

    #[tokio::test]
    async fn a_trade_that_cannot_be_read_is_rejected_and_the_page_goes_on() {
        let mut broken = trade();
        broken["tid"] = json!(99);
        broken["orders"] = json!({"order": [{"oid": 1, "num": 1, "price": "abc"}]});
        let no_tid = json!({"created": "2024-05-01 00:00:00"});
        let (orders, rejected) = client()
            .read_trades(vec![trade(), broken, no_tid, trade()])
            .await
            .unwrap();
        assert_eq!(orders.len(), 2);
        assert!(
            orders
                .iter()
                .all(|order| order.external_id == "2231958349514712")
        );
        assert_eq!(rejected.len(), 2);
        // Listed without lines and without a tid: not even asked for in full.
        assert_eq!(rejected[0].external_id, None);
        assert!(rejected[0].error.contains("tid"), "{}", rejected[0].error);
        assert_eq!(rejected[1].external_id.as_deref(), Some("99"));
        assert!(rejected[1].error.contains("price"), "{}", rejected[1].error);
    }

    fn trade() -> Value {
        json!({
            "tid": 2_231_958_349_514_712_u64,
            "status": "WAIT_SELLER_SEND_GOODS",
            "created": "2024-05-01 09:15:00",
            "modified": "2024-05-01 10:20:30",
            "buyer_nick": "tb_buyer_01",
            "receiver_name": "张三",
            "receiver_mobile": "13800138000",
            "receiver_phone": "0571-88888888",
            "receiver_state": "浙江省",
            "receiver_city": "杭州市",
            "receiver_district": "余杭区",
            "receiver_address": "文一西路969号",
            "receiver_zip": "311121",
            "payment": "208.00",
            "buyer_message": "请尽快发货",
            "orders": {"order": [
                {
                    "oid": 2_231_958_349_514_713_u64,
                    "num_iid": 600_123_456_789_u64,
                    "sku_id": "4567890",
                    "outer_sku_id": "TEE-RED-M",
                    "outer_iid": "TEE",
                    "title": "纯棉T恤 红色 M",
                    "num": 2,
                    "price": "99.00"
                },
                {
                    "oid": "2231958349514714",
                    "num_iid": "600123456790",
                    "outer_iid": "MUG",
                    "title": "马克杯",
                    "num": "1",
                    "price": "10.5"
                }
            ]}
        })
    }

    #[test]
    fn a_trade_converts_field_by_field() {
        let order = to_marketplace_order(&trade()).unwrap();
        assert_eq!(order.external_id, "2231958349514712");
        assert_eq!(order.display_number, None);
        assert!(!order.cancelled);
        assert_eq!(order.platform_status, "WAIT_SELLER_SEND_GOODS");
        assert_eq!(order.currency, "CNY");
        assert_eq!(order.created_at, utc("2024-05-01T01:15:00Z"));
        assert_eq!(order.updated_at, utc("2024-05-01T02:20:30Z"));
        assert_eq!(
            order.buyer,
            Buyer {
                id: Some("tb_buyer_01".to_owned()),
                name: Some("tb_buyer_01".to_owned()),
                email: None,
                phone: None,
            }
        );
        assert_eq!(
            order.ship_to,
            Some(PostalAddress {
                name: Some("张三".to_owned()),
                phone: Some("13800138000".to_owned()),
                line1: Some("余杭区 文一西路969号".to_owned()),
                line2: None,
                city: Some("杭州市".to_owned()),
                region: Some("浙江省".to_owned()),
                postal_code: Some("311121".to_owned()),
                country: Some("CN".to_owned()),
            })
        );
        assert_eq!(order.note.as_deref(), Some("请尽快发货"));
        assert_eq!(
            order.lines,
            [
                MarketplaceLine {
                    external_line_id: "2231958349514713".to_owned(),
                    sku: Some("TEE-RED-M".to_owned()),
                    variant_id: Some("4567890".to_owned()),
                    product_id: Some("600123456789".to_owned()),
                    title: "纯棉T恤 红色 M".to_owned(),
                    quantity: 2,
                    unit_price: Decimal::new(9900, 2),
                },
                MarketplaceLine {
                    external_line_id: "2231958349514714".to_owned(),
                    sku: Some("MUG".to_owned()),
                    variant_id: None,
                    product_id: Some("600123456790".to_owned()),
                    title: "马克杯".to_owned(),
                    quantity: 1,
                    unit_price: Decimal::new(105, 1),
                },
            ]
        );
    }

    #[test]
    fn closed_trades_are_cancelled() {
        for (status, cancelled) in [
            ("TRADE_CLOSED", true),
            ("TRADE_CLOSED_BY_TAOBAO", true),
            ("WAIT_BUYER_PAY", false),
            ("WAIT_SELLER_SEND_GOODS", false),
            ("WAIT_BUYER_CONFIRM_GOODS", false),
            ("TRADE_FINISHED", false),
        ] {
            let mut trade = trade();
            trade["status"] = json!(status);
            let order = to_marketplace_order(&trade).unwrap();
            assert_eq!(order.cancelled, cancelled, "{status}");
            assert_eq!(order.platform_status, status);
        }
    }

    #[test]
    fn sparse_and_broken_trades() {
        // Only the phone, no receiver otherwise; no modified time; no lines.
        let order = to_marketplace_order(&json!({
            "tid": "77",
            "created": "2024-05-01 00:00:00",
            "receiver_phone": "0571-1",
            "buyer_message": "  "
        }))
        .unwrap();
        assert_eq!(order.updated_at, order.created_at);
        assert_eq!(order.ship_to.unwrap().phone.as_deref(), Some("0571-1"));
        assert_eq!(order.note, None);
        assert_eq!(order.buyer, Buyer::default());
        assert!(order.lines.is_empty());
        let bare = to_marketplace_order(&json!({"tid": 78, "created": "2024-05-01 00:00:00"}));
        assert_eq!(bare.unwrap().ship_to, None);

        for broken in [
            json!({"created": "2024-05-01 00:00:00"}),
            json!({"tid": 1}),
            json!({"tid": 1, "created": "yesterday"}),
            json!({"tid": 1, "created": "2024-05-01 00:00:00", "orders": {"order": {}}}),
            json!({"tid": 1, "created": "2024-05-01 00:00:00",
                   "orders": {"order": [{"oid": 2, "num": 1, "price": "abc"}]}}),
            json!({"tid": 1, "created": "2024-05-01 00:00:00",
                   "orders": {"order": [{"num": 1, "price": "1"}]}}),
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
    fn error_responses_map_to_errors() {
        assert!(check_error(&json!({"trades_sold_increment_get_response": {}})).is_ok());
        assert!(check_error(&json!({"error_response": null})).is_ok());

        let session = json!({"error_response": {
            "code": 27, "msg": "Invalid session", "sub_code": "invalid-sessionkey"
        }});
        match check_error(&session) {
            Err(ConnectorError::Unauthorized(message)) => {
                assert_eq!(message, "27 Invalid session invalid-sessionkey");
            }
            other => panic!("{other:?}"),
        }
        let expired = json!({"error_response": {
            "code": 15, "msg": "Remote service error", "sub_code": "isv.session-expired"
        }});
        assert!(matches!(
            check_error(&expired),
            Err(ConnectorError::Unauthorized(_))
        ));
        let signature = json!({"error_response": {"code": "25", "msg": "Invalid signature"}});
        assert!(matches!(
            check_error(&signature),
            Err(ConnectorError::Unauthorized(_))
        ));

        let limited = json!({"error_response": {
            "code": 7, "msg": "App Call Limited",
            "sub_code": "accesscontrol.limited-by-app-access-count", "sub_msg": "This ban will last for 1 more seconds"
        }});
        assert!(matches!(
            check_error(&limited),
            Err(ConnectorError::RateLimited { retry_after: None })
        ));

        let other = json!({"error_response": {
            "code": 15, "msg": "Remote service error",
            "sub_code": "isv.invalid-parameter", "sub_msg": "bad tid"
        }});
        match check_error(&other) {
            Err(ConnectorError::Platform { status, message }) => {
                assert_eq!(status, 200);
                assert_eq!(
                    message,
                    "15 Remote service error isv.invalid-parameter bad tid"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn http_errors_map_to_errors() {
        assert!(matches!(
            status_error(401, b"no"),
            ConnectorError::Unauthorized(_)
        ));
        assert!(matches!(
            status_error(403, b"no"),
            ConnectorError::Unauthorized(_)
        ));
        match status_error(502, b"bad gateway") {
            ConnectorError::Platform { status, message } => {
                assert_eq!(status, 502);
                assert_eq!(message, "bad gateway");
            }
            other => panic!("{other:?}"),
        }
    }

    fn fulfilment() -> Fulfilment {
        Fulfilment {
            external_order_id: "2231958349514712".to_owned(),
            lines: Vec::new(),
            tracking_number: "YT1234567890".to_owned(),
            carrier: "YTO".to_owned(),
            tracking_url: Some("https://example.com/t".to_owned()),
            notify_customer: true,
            completes_order: true,
        }
    }

    #[test]
    fn a_shipment_is_sent_with_tid_out_sid_and_company_code() {
        let params = fulfilment_params(&fulfilment());
        assert_eq!(params["tid"], "2231958349514712");
        assert_eq!(params["out_sid"], "YT1234567890");
        assert_eq!(params["company_code"], "YTO");
        assert_eq!(params.len(), 3);

        let partial = Fulfilment {
            lines: vec![("11".to_owned(), 1), ("12".to_owned(), 2)],
            ..fulfilment()
        };
        let params = fulfilment_params(&partial);
        assert_eq!(params["is_split"], "1");
        assert_eq!(params["sub_tid"], "11,12");
        assert_eq!(params.len(), 5);

        let form = signed_form(
            &config(),
            SEND_METHOD,
            &fulfilment_params(&fulfilment()),
            utc("2024-05-01T00:00:00Z"),
        );
        assert_eq!(form["method"], SEND_METHOD);
        assert_eq!(form["tid"], "2231958349514712");
        assert_eq!(form["sign"], sign(&form, "helloworld", SignMethod::Md5));
    }

    #[test]
    fn shipment_answers() {
        let ok = json!({"logistics_offline_send_response": {"shipping": {"is_success": true}}});
        assert_eq!(
            check_send_answer(&ok).unwrap(),
            PushReceipt { reference: None }
        );
        let refused =
            json!({"logistics_offline_send_response": {"shipping": {"is_success": false}}});
        assert!(matches!(
            check_send_answer(&refused),
            Err(ConnectorError::Platform { status: 200, .. })
        ));
        let error = json!({"error_response": {"code": 15, "msg": "Remote service error",
            "sub_code": "isv.logistics-offline-service-error", "sub_msg": "订单已发货"}});
        assert!(matches!(
            check_send_answer(&error),
            Err(ConnectorError::Platform { status: 200, .. })
        ));
        assert!(matches!(
            check_send_answer(&json!({})),
            Err(ConnectorError::Invalid(_))
        ));
    }
}
