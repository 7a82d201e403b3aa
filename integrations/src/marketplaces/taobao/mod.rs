//! Taobao / Tmall through the Taobao Open Platform (TOP).
//!
//! Every call is a signed form `POST {base}/router/rest` carrying the common
//! parameters (`method`, `app_key`, `session`, `timestamp` in GMT+8, `v=2.0`,
//! `format=json`, `sign_method`, `sign`) beside the method's own.
//!
//! Orders are pulled with `taobao.trades.sold.increment.get` in windows of at
//! most one day (TOP refuses longer ones, and anything older than three
//! months). TOP lists a window newest first, so each window is paged from its
//! last page back to its first: an order modified again while a run is in
//! progress then moves past pages already read instead of pushing unread ones
//! forward. Trades listed without their lines are completed with
//! `taobao.trade.fullinfo.get`. Shipments go back with
//! `taobao.logistics.offline.send`.
//!
//! Unverified: the shape of `error_response` and the codes read from it (the
//! credential codes in [`AUTH_ERROR_CODES`] and the session sub-codes, 7 for
//! the call limit) come from third-party code, and no public payload fixture
//! exists: the tests build their payloads from the contract.

use std::collections::BTreeMap;
use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SubsecRound as _, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

use super::{
    Buyer, ClientOptions, Connector, ConnectorError, Cursor, Fulfilment, MarketplaceLine,
    MarketplaceOrder, OrdersPage, Platform, PostalAddress, PushReceipt,
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
/// The longest modification window TOP accepts.
const WINDOW: TimeDelta = TimeDelta::days(1);
/// How far back TOP lists orders: three months, taken at their
/// shortest (February to April, 89 days) so that either reading of the limit
/// (calendar months or days) accepts it.
const HISTORY: TimeDelta = TimeDelta::days(89);
/// Where a run without a (recent enough) `since` starts, past the history
/// limit: its first window stays inside the limit for this long.
const HISTORY_MARGIN: TimeDelta = TimeDelta::hours(1);

/// TOP's time layout, `yyyy-MM-dd HH:mm:ss`, always in GMT+8.
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// China Standard Time (GMT+8), the zone of every time TOP reads or writes.
const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("GMT+8 is a valid offset"),
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
    /// both the request timestamps and the end of the window walk.
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
        let http = reqwest::Client::builder()
            .timeout(config.options.timeout)
            .build()
            .map_err(|error| ConnectorError::Transport(error.to_string()))?;
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
                return Err(http_error(status.as_u16(), &body));
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

    /// One page of a window's increment list (the object under
    /// `trades_sold_increment_get_response`).
    async fn increment_page(
        &self,
        token: &PageToken,
        page_no: u32,
        use_has_next: bool,
    ) -> Result<Value, ConnectorError> {
        let params = increment_params(token, page_no, self.page_size(), use_has_next);
        let mut answer = self.call(INCREMENT_METHOD, &params).await?;
        take_response(&mut answer, INCREMENT_RESPONSE)
    }

    /// The full trade (lines included) of a listed trade.
    async fn full_trade(&self, trade: &Value) -> Result<Value, ConnectorError> {
        let tid = text(trade.get("tid"))
            .ok_or_else(|| ConnectorError::Invalid("a listed trade has no tid".to_owned()))?;
        let mut answer = self.call(FULLINFO_METHOD, &fullinfo_params(&tid)).await?;
        let mut response = take_response(&mut answer, FULLINFO_RESPONSE)?;
        match response.get_mut("trade").map(Value::take) {
            Some(trade) if trade.is_object() => Ok(trade),
            _ => Err(ConnectorError::Invalid(format!(
                "{FULLINFO_RESPONSE} of trade {tid} holds no trade"
            ))),
        }
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
        let token = match &cursor.page {
            None => first_token(cursor.updated_since, now),
            Some(page) => resume(decode_token(page)?, now),
        };
        let Some(token) = token else {
            return Ok(OrdersPage {
                orders: Vec::new(),
                next: None,
                high_water: None,
            });
        };
        let (trades, after) = if token.total_pages == 0 {
            // Page 1 without `use_has_next` gives the window's size.
            let probe = self.increment_page(&token, 1, false).await?;
            let total_pages = page_count(total_results(&probe)?, self.page_size());
            if total_pages <= 1 {
                (listed_trades(probe)?, advance(token, 1, total_pages, now))
            } else {
                let last = self.increment_page(&token, total_pages, true).await?;
                (
                    listed_trades(last)?,
                    advance(token, total_pages, total_pages, now),
                )
            }
        } else {
            let response = self.increment_page(&token, token.page, true).await?;
            (
                listed_trades(response)?,
                advance(token, token.page, token.total_pages, now),
            )
        };
        let mut orders = Vec::with_capacity(trades.len());
        for trade in trades {
            let trade = if has_lines(&trade) {
                trade
            } else {
                self.full_trade(&trade).await?
            };
            orders.push(to_marketplace_order(&trade)?);
        }
        let high_water = orders.iter().map(|order| order.updated_at).max();
        let next = match after {
            Some(token) => Some(Cursor {
                updated_since: cursor.updated_since,
                page: Some(encode_token(&token)?),
            }),
            None => None,
        };
        Ok(OrdersPage {
            orders,
            next,
            high_water,
        })
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
/// digest of [`sign_base`]'s string with `secret`, as `method` says.
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

/// The string TOP signs: every parameter but `sign`, sorted by name, as
/// name + value, concatenated.
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
    let timestamp = format_time(now);
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

/// The form as an `application/x-www-form-urlencoded` body.
fn encode_form(form: &BTreeMap<String, String>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

/// A time as TOP writes it: `yyyy-MM-dd HH:mm:ss` in GMT+8.
pub(crate) fn format_time(time: DateTime<Utc>) -> String {
    time.with_timezone(&CHINA).format(TIME_FORMAT).to_string()
}

/// A time TOP wrote (`yyyy-MM-dd HH:mm:ss`, GMT+8).
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(s.trim(), TIME_FORMAT).ok()?;
    naive
        .and_local_timezone(CHINA)
        .single()
        .map(|time| time.with_timezone(&Utc))
}

/// Where a run stands between calls, kept as JSON in [`Cursor::page`]: the
/// window in progress and the page of it to fetch next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PageToken {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// The next page to fetch (pages go down to 1); 0 while the window's size
    /// is not known.
    page: u32,
    /// The window's page count; 0 while not known (page 1 is fetched first to
    /// learn it).
    total_pages: u32,
}

impl PageToken {
    /// A window not looked into yet.
    fn fresh((start, end): (DateTime<Utc>, DateTime<Utc>)) -> Self {
        Self {
            start,
            end,
            page: 0,
            total_pages: 0,
        }
    }
}

/// The token as stored in [`Cursor::page`].
pub(crate) fn encode_token(token: &PageToken) -> Result<String, ConnectorError> {
    serde_json::to_string(token)
        .map_err(|error| ConnectorError::Invalid(format!("cannot store the page token: {error}")))
}

/// A token read back from [`Cursor::page`].
pub(crate) fn decode_token(page: &str) -> Result<PageToken, ConnectorError> {
    let token: PageToken = serde_json::from_str(page).map_err(|error| {
        ConnectorError::Invalid(format!("bad Taobao page token {page:?}: {error}"))
    })?;
    let pages_ok = if token.total_pages == 0 {
        token.page == 0
    } else {
        (1..=token.total_pages).contains(&token.page)
    };
    if token.start < token.end && pages_ok {
        Ok(token)
    } else {
        Err(ConnectorError::Invalid(format!(
            "inconsistent Taobao page token {page:?}"
        )))
    }
}

/// The oldest modification time TOP lists at `now`.
fn history_limit(now: DateTime<Utc>) -> DateTime<Utc> {
    now - HISTORY
}

/// Where a run starts at `now` when `since` is absent or older: the history
/// limit plus a margin.
fn earliest(now: DateTime<Utc>) -> DateTime<Utc> {
    history_limit(now) + HISTORY_MARGIN
}

/// The window starting at `start` (at most a day, ending by `now`), or `None`
/// once `start` has reached `now`.
fn window_from(start: DateTime<Utc>, now: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    (start < now).then(|| (start, (start + WINDOW).min(now)))
}

/// The windows of a run at `now`: from `since` (whole seconds; the earliest
/// time TOP lists when absent or older) in one-day steps up to `now`.
pub(crate) fn windows(
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let earliest = earliest(now);
    let start = since.map_or(earliest, |since| since.trunc_subsecs(0).max(earliest));
    std::iter::successors(window_from(start, now), |&(_, end)| window_from(end, now)).collect()
}

/// The token a run starts with, or `None` when there is nothing to walk.
fn first_token(since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<PageToken> {
    windows(since, now).first().copied().map(PageToken::fresh)
}

/// A stored token checked against the history limit at `now`: a window that
/// has slipped out of it (a run resumed long after) starts over at the
/// earliest time still listed.
fn resume(token: PageToken, now: DateTime<Utc>) -> Option<PageToken> {
    if token.start >= history_limit(now) {
        Some(token)
    } else {
        first_token(None, now)
    }
}

/// The token after `fetched` of the window's `total_pages` was read: the page
/// before it, else the next window, else `None` (the run is complete).
pub(crate) fn advance(
    token: PageToken,
    fetched: u32,
    total_pages: u32,
    now: DateTime<Utc>,
) -> Option<PageToken> {
    if fetched > 1 {
        Some(PageToken {
            page: fetched - 1,
            total_pages,
            ..token
        })
    } else {
        window_from(token.end, now).map(PageToken::fresh)
    }
}

/// Pages of `page_size` needed for `total` trades.
fn page_count(total: u64, page_size: u32) -> u32 {
    u32::try_from(total.div_ceil(u64::from(page_size.max(1)))).unwrap_or(u32::MAX)
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
        ("start_modified".to_owned(), format_time(token.start)),
        ("end_modified".to_owned(), format_time(token.end)),
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

/// The error for an HTTP status other than 2xx and 429.
fn http_error(status: u16, body: &[u8]) -> ConnectorError {
    let body: String = String::from_utf8_lossy(body).chars().take(500).collect();
    if status == 401 || status == 403 {
        ConnectorError::Unauthorized(format!("HTTP {status}: {body}"))
    } else {
        ConnectorError::Platform {
            status,
            message: body,
        }
    }
}

/// Maps a network failure.
fn transport(error: reqwest::Error) -> ConnectorError {
    ConnectorError::Transport(error.to_string())
}

/// Takes the method's own answer (under `key`) out of the whole answer.
fn take_response(answer: &mut Value, key: &str) -> Result<Value, ConnectorError> {
    match answer.get_mut(key).map(Value::take) {
        Some(response) if response.is_object() => Ok(response),
        _ => Err(ConnectorError::Invalid(format!("the answer has no {key}"))),
    }
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

/// Converts a TOP trade (as listed by the increment list or
/// `taobao.trade.fullinfo.get`) into a [`MarketplaceOrder`].
pub fn to_marketplace_order(trade: &Value) -> Result<MarketplaceOrder, ConnectorError> {
    let tid = text(trade.get("tid"))
        .ok_or_else(|| ConnectorError::Invalid("a trade has no tid".to_owned()))?;
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
        Some(time) => parse_time(&time).map(Some).ok_or_else(|| {
            ConnectorError::Invalid(format!("trade {tid}: unreadable {key} {time:?}"))
        }),
    }
}

/// A JSON string (trimmed) or number as text; `None` when absent, null, blank
/// or of another kind.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON integer, or a string holding one.
fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A decimal amount given as a string (TOP's way) or a number.
fn decimal(value: Option<&Value>) -> Option<Decimal> {
    Decimal::from_str(&text(value)?).ok()
}

/// `true`, or the string `"true"`.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    fn token(start: &str, end: &str, page: u32, total_pages: u32) -> PageToken {
        PageToken {
            start: utc(start),
            end: utc(end),
            page,
            total_pages,
        }
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
    fn times_are_written_and_read_in_gmt_plus_8() {
        assert_eq!(
            format_time(utc("2024-05-01T16:30:05Z")),
            "2024-05-02 00:30:05"
        );
        assert_eq!(
            parse_time("2024-05-02 00:30:05"),
            Some(utc("2024-05-01T16:30:05Z"))
        );
        assert_eq!(parse_time("2024-05-02T00:30:05Z"), None);
        assert_eq!(parse_time(""), None);
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
    fn windows_are_at_most_a_day_and_end_now() {
        let now = utc("2024-05-03T12:00:00Z");
        let windows = windows(Some(utc("2024-05-01T06:00:00.750Z")), now);
        assert_eq!(
            windows,
            [
                (utc("2024-05-01T06:00:00Z"), utc("2024-05-02T06:00:00Z")),
                (utc("2024-05-02T06:00:00Z"), utc("2024-05-03T06:00:00Z")),
                (utc("2024-05-03T06:00:00Z"), now),
            ]
        );
        assert!(super::windows(Some(now), now).is_empty());
        assert!(super::windows(Some(utc("2024-06-01T00:00:00Z")), now).is_empty());
    }

    #[test]
    fn windows_go_back_three_months_at_most() {
        let now = utc("2024-05-31T12:00:00Z");
        let earliest = utc("2024-03-03T13:00:00Z");
        for since in [None, Some(utc("2023-01-01T00:00:00Z"))] {
            let windows = windows(since, now);
            assert_eq!(windows[0], (earliest, earliest + WINDOW));
            assert_eq!(windows.last().unwrap().1, now);
            assert!(
                windows
                    .iter()
                    .all(|(start, end)| start < end && *end - *start <= WINDOW)
            );
            assert!(windows.windows(2).all(|pair| pair[0].1 == pair[1].0));
        }
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let token = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 3, 4);
        let encoded = encode_token(&token).unwrap();
        let value: Value = serde_json::from_str(&encoded).unwrap();
        assert_eq!(value["page"], 3);
        assert_eq!(value["total_pages"], 4);
        assert!(value["start"].is_string() && value["end"].is_string());
        assert_eq!(decode_token(&encoded).unwrap(), token);

        for bad in [
            "not json".to_owned(),
            r#"{"start":"2024-05-01T00:00:00Z"}"#.to_owned(),
            encode_token(&PageToken { page: 5, ..token }).unwrap(),
            encode_token(&PageToken { page: 0, ..token }).unwrap(),
            encode_token(&PageToken {
                end: token.start,
                ..token
            })
            .unwrap(),
        ] {
            assert!(
                matches!(decode_token(&bad), Err(ConnectorError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_window_is_paged_from_its_last_page_down_then_the_next_window() {
        let now = utc("2024-05-02T12:00:00Z");
        let first = first_token(Some(utc("2024-05-01T00:00:00Z")), now).unwrap();
        assert_eq!(
            first,
            token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 0, 0)
        );

        // The probe finds 250 trades: 3 pages of 100; page 3 is read with it.
        let total_pages = page_count(250, 100);
        assert_eq!(total_pages, 3);
        let mut fetched = vec![total_pages];
        let mut next = advance(first, total_pages, total_pages, now);
        while let Some(token) = next.filter(|token| token.start == first.start) {
            fetched.push(token.page);
            next = advance(token, token.page, token.total_pages, now);
        }
        assert_eq!(fetched, [3, 2, 1]);
        let second = next.unwrap();
        assert_eq!(
            second,
            token("2024-05-02T00:00:00Z", "2024-05-02T12:00:00Z", 0, 0)
        );

        // A window of one page (or none) moves straight on; the last one ends the run.
        assert_eq!(advance(second, 1, 1, now), None);
        assert_eq!(advance(second, 1, 0, now), None);
        assert_eq!(page_count(0, 100), 0);
        assert_eq!(page_count(100, 100), 1);
        assert_eq!(page_count(101, 100), 2);
    }

    #[test]
    fn a_token_out_of_the_history_limit_starts_over_at_the_limit() {
        let now = utc("2024-05-31T12:00:00Z");
        let old = token("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", 2, 5);
        assert_eq!(
            resume(old, now),
            Some(PageToken::fresh((
                utc("2024-03-03T13:00:00Z"),
                utc("2024-03-04T13:00:00Z")
            )))
        );
        let recent = token("2024-05-30T00:00:00Z", "2024-05-31T00:00:00Z", 2, 5);
        assert_eq!(resume(recent, now), Some(recent));
        // A run's first window, started past the limit, stays resumable for the margin.
        let busy = PageToken {
            page: 2,
            total_pages: 3,
            ..first_token(None, now).unwrap()
        };
        assert_eq!(resume(busy, now + TimeDelta::minutes(59)), Some(busy));
        assert_ne!(resume(busy, now + TimeDelta::minutes(61)), Some(busy));
    }

    #[test]
    fn increment_pages_ask_for_the_window_in_gmt_plus_8() {
        let token = token("2024-05-01T16:00:00Z", "2024-05-02T16:00:00Z", 2, 3);
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
            http_error(401, b"no"),
            ConnectorError::Unauthorized(_)
        ));
        assert!(matches!(
            http_error(403, b"no"),
            ConnectorError::Unauthorized(_)
        ));
        match http_error(502, b"bad gateway") {
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
