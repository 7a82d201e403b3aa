//! Shopify Admin REST.
//!
//! - Orders come from `GET /admin/api/{version}/orders.json?status=any`, oldest
//!   change first from the cursor's `updated_since` (`updated_at_min`). Further
//!   pages are the `Link` header's `rel="next"` URL, followed exactly as given
//!   (it carries Shopify's opaque `page_info`); the whole URL is the cursor's
//!   page token.
//! - A shipment is pushed back as a fulfillment: the order's open fulfillment
//!   orders are read (`GET /orders/{id}/fulfillment_orders.json`) and one
//!   fulfillment covering them (or the shipped lines of them) is created with
//!   its tracking (`POST /fulfillments.json`).
//! - Order webhooks (`orders/create`, `orders/updated`, `orders/cancelled`) carry
//!   the order itself, signed with `X-Shopify-Hmac-Sha256` =
//!   base64(HMAC-SHA256(app secret, raw body)); `X-Shopify-Webhook-Id` names a
//!   delivery so repeats can be ignored.
//!
//! Every request sends `X-Shopify-Access-Token`. A 429 is retried after its
//! `Retry-After` as often as [`ClientOptions`] allows.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, LINK};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::Sha256;

use super::common::{
    full_name, id_of, invalid, non_empty, normalise_base_url, parse_json, rate_limit_wait,
    read_orders, rest_order_id, status_error, transport,
};
use super::{
    Buyer, ClientOptions, Connector, ConnectorError, Cursor, Fulfilment, MarketplaceLine,
    MarketplaceOrder, OrdersPage, Platform, PostalAddress, PushReceipt,
};
use crate::couriers::VerifyError;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying the Admin API access token.
const TOKEN_HEADER: &str = "X-Shopify-Access-Token";
/// The webhook signature header (looked up case-insensitively).
const SIGNATURE_HEADER: &str = "x-shopify-hmac-sha256";
/// The webhook delivery id header (looked up case-insensitively).
const WEBHOOK_ID_HEADER: &str = "x-shopify-webhook-id";
/// Shopify's largest `limit`.
const MAX_PAGE_SIZE: u32 = 250;
const JSON: &str = "application/json";

/// A Shopify store's settings.
#[derive(Clone)]
pub struct Config {
    /// The store's origin, e.g. `https://shop.myshopify.com` (or a mock
    /// server's URL); no trailing slash.
    pub base_url: String,
    /// The Admin API access token, sent as `X-Shopify-Access-Token`.
    pub access_token: String,
    /// The Admin API version, e.g. `2024-04`.
    pub api_version: String,
    /// The app secret that signs webhooks; `None` refuses every webhook.
    pub webhook_secret: Option<String>,
    /// Timeouts, page size and rate-limit patience.
    pub options: ClientOptions,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("access_token", &"<redacted>")
            .field("api_version", &self.api_version)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("options", &self.options)
            .finish()
    }
}

/// A Shopify Admin REST client for one store.
pub struct Client {
    http: reqwest::Client,
    /// The access token as a header value marked sensitive.
    token: HeaderValue,
    config: Config,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for the store in `config`. Fails with
    /// [`ConnectorError::Invalid`] when the base URL is not an http(s) URL,
    /// the API version is not a plain path segment or the access token cannot
    /// be sent as a header, and with
    /// [`ConnectorError::Transport`] when the HTTP client cannot be built.
    pub fn new(mut config: Config) -> Result<Self, ConnectorError> {
        config.base_url = normalise_base_url(&config.base_url)?;
        if !is_path_segment(&config.api_version) {
            return Err(invalid(format!(
                "`{}` is not a Shopify API version",
                config.api_version
            )));
        }
        let mut token = HeaderValue::from_str(config.access_token.trim())
            .map_err(|_| invalid("the access token is not a valid header value"))?;
        token.set_sensitive(true);
        let http = super::common::http_client(&config.options)?;
        Ok(Self {
            http,
            token,
            config,
        })
    }

    /// `{base}/admin/api/{version}`.
    fn api_base(&self) -> String {
        format!(
            "{}/admin/api/{}",
            self.config.base_url, self.config.api_version
        )
    }

    /// A request carrying the access token.
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(TOKEN_HEADER, self.token.clone())
    }

    /// Sends the request `build` makes, again after each 429 as long as the
    /// options allow; a 2xx answer is returned, anything else is an error.
    async fn send(
        &self,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, ConnectorError> {
        let options = &self.config.options;
        let mut retries = 0_u32;
        loop {
            let response = build().send().await.map_err(transport)?;
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let retry_after = super::retry_after(response.headers());
                drop(response);
                if retries >= options.max_rate_limit_retries {
                    return Err(ConnectorError::RateLimited { retry_after });
                }
                retries += 1;
                tokio::time::sleep(rate_limit_wait(retry_after, options.max_retry_wait)).await;
                continue;
            }
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(transport)?.to_vec();
            if !status.is_success() {
                return Err(status_error(status.as_u16(), &body));
            }
            return Ok(Answer { headers, body });
        }
    }
}

impl Connector for Client {
    fn platform(&self) -> Platform {
        Platform::Shopify
    }

    async fn fetch_orders_since(&self, cursor: &Cursor) -> Result<OrdersPage, ConnectorError> {
        let url = match &cursor.page {
            Some(next) if is_under_base(next, &self.config.base_url) => next.clone(),
            Some(_) => {
                return Err(invalid(
                    "the next-page link does not point at the configured store",
                ));
            }
            None => orders_url(
                &self.config.base_url,
                &self.config.api_version,
                self.config.options.page_size,
                cursor.updated_since,
            ),
        };
        let answer = self
            .send(|| self.request(reqwest::Method::GET, &url))
            .await?;
        let page = parse_json(&answer.body, "the orders page")?;
        let listed = page
            .get("orders")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("the orders page has no `orders` list"))?;
        let (orders, rejected) = read_orders(listed, rest_order_id, to_marketplace_order);
        let next = answer
            .headers
            .get_all(LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(next_link)
            .map(|next| Cursor {
                updated_since: cursor.updated_since,
                page: Some(next),
            });
        let high_water = orders.iter().map(|order| order.updated_at).max();
        Ok(OrdersPage {
            orders,
            rejected,
            next,
            high_water,
        })
    }

    async fn push_fulfilment(
        &self,
        fulfilment: &Fulfilment,
    ) -> Result<PushReceipt, ConnectorError> {
        if !is_path_segment(&fulfilment.external_order_id) {
            return Err(invalid(format!(
                "`{}` is not a Shopify order id",
                fulfilment.external_order_id
            )));
        }
        let api = self.api_base();
        let orders_url = format!(
            "{api}/orders/{}/fulfillment_orders.json",
            fulfilment.external_order_id
        );
        let answer = self
            .send(|| self.request(reqwest::Method::GET, &orders_url))
            .await?;
        let fulfillment_orders = parse_json(&answer.body, "the fulfillment orders")?;
        let targets = fulfilment_targets(fulfilment, &fulfillment_orders)?;
        let body = fulfilment_body(fulfilment, &targets).to_string();
        let create_url = format!("{api}/fulfillments.json");
        let answer = self
            .send(|| {
                self.request(reqwest::Method::POST, &create_url)
                    .header(CONTENT_TYPE, JSON)
                    .body(body.clone())
            })
            .await?;
        Ok(receipt(&parse_json(
            &answer.body,
            "the created fulfillment",
        )?))
    }

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        verify_signature(self.config.webhook_secret.as_deref(), header, body)
    }
}

/// The delivery id of a webhook (`X-Shopify-Webhook-Id`), to ignore repeats.
/// `header` looks a header up case-insensitively.
pub fn webhook_id(header: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    non_empty(header(WEBHOOK_ID_HEADER).as_deref())
}

/// Parses an order webhook's body (the order JSON itself) into the neutral
/// type. Check the signature first ([`Connector::verify_webhook`]).
pub fn parse_webhook_order(body: &[u8]) -> Result<MarketplaceOrder, ConnectorError> {
    to_marketplace_order(&parse_json(body, "the webhook body")?)
}

/// Converts one Shopify order (the JSON of one order as the REST API returns
/// it) into the neutral type.
pub fn to_marketplace_order(order: &Value) -> Result<MarketplaceOrder, ConnectorError> {
    let wire =
        WireOrder::deserialize(order).map_err(|e| invalid(format!("not a Shopify order: {e}")))?;
    let external_id = wire
        .id
        .as_ref()
        .and_then(id_of)
        .ok_or_else(|| invalid("the order has no id"))?;
    let created_at = parse_time(
        wire.created_at
            .as_deref()
            .ok_or_else(|| invalid(format!("order {external_id} has no created_at")))?,
        "created_at",
    )?;
    let updated_at = wire
        .updated_at
        .as_deref()
        .map(|time| parse_time(time, "updated_at"))
        .transpose()?
        .unwrap_or(created_at);
    let currency = non_empty(wire.currency.as_deref())
        .ok_or_else(|| invalid(format!("order {external_id} has no currency")))?;
    let cancelled = wire.cancelled_at.as_ref().is_some_and(|at| match at {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    });
    let platform_status = format!(
        "{}/{}",
        non_empty(wire.financial_status.as_deref()).unwrap_or_else(|| "unknown".to_owned()),
        non_empty(wire.fulfillment_status.as_deref()).unwrap_or_else(|| "unfulfilled".to_owned()),
    );
    let customer = wire.customer.unwrap_or_default();
    let buyer = Buyer {
        id: customer.id.as_ref().and_then(id_of),
        name: full_name(
            customer.first_name.as_deref(),
            customer.last_name.as_deref(),
        )
        .or_else(|| wire.billing_address.as_ref().and_then(WireAddress::name)),
        email: non_empty(wire.email.as_deref())
            .or_else(|| non_empty(wire.contact_email.as_deref()))
            .or_else(|| non_empty(customer.email.as_deref())),
        phone: non_empty(wire.phone.as_deref()).or_else(|| non_empty(customer.phone.as_deref())),
    };
    let lines = wire
        .line_items
        .unwrap_or_default()
        .iter()
        .map(to_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MarketplaceOrder {
        display_number: non_empty(wire.name.as_deref()),
        cancelled,
        platform_status,
        currency,
        created_at,
        updated_at,
        buyer,
        ship_to: wire.shipping_address.as_ref().map(WireAddress::to_postal),
        lines,
        note: non_empty(wire.note.as_deref()),
        external_id,
    })
}

/// One line item in the neutral type.
fn to_line(line: &WireLine) -> Result<MarketplaceLine, ConnectorError> {
    let external_line_id = line
        .id
        .as_ref()
        .and_then(id_of)
        .ok_or_else(|| invalid("a line item has no id"))?;
    let quantity = line
        .quantity
        .ok_or_else(|| invalid(format!("line item {external_line_id} has no quantity")))?;
    let unit_price = line
        .price
        .as_ref()
        .and_then(decimal_of)
        .or_else(|| {
            line.price_set
                .as_ref()
                .and_then(|set| set.pointer("/shop_money/amount"))
                .and_then(decimal_of)
        })
        .ok_or_else(|| invalid(format!("line item {external_line_id} has no price")))?;
    Ok(MarketplaceLine {
        sku: non_empty(line.sku.as_deref()),
        variant_id: line.variant_id.as_ref().and_then(id_of),
        product_id: line.product_id.as_ref().and_then(id_of),
        title: non_empty(line.title.as_deref())
            .or_else(|| non_empty(line.name.as_deref()))
            .unwrap_or_default(),
        quantity,
        unit_price,
        external_line_id,
    })
}

/// A fulfillment order the shipment goes against, with the parts of it shipped.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FulfillmentTarget {
    /// The fulfillment order's id, as Shopify gave it.
    pub(crate) fulfillment_order_id: Value,
    /// (fulfillment-order line item id as given, quantity); empty: the whole
    /// fulfillment order.
    pub(crate) line_items: Vec<(Value, i64)>,
}

/// Picks the fulfillment orders (status `open` or `in_progress`) of a
/// `fulfillment_orders.json` answer that the shipment covers. With no lines
/// given, every such fulfillment order, whole; otherwise their line items whose
/// `line_item_id` is a shipped line, each for the shipped quantity (capped by
/// what is still fulfillable, spread over several fulfillment orders if need
/// be). Nothing to ship gives `Invalid("nothing left to fulfil")`.
pub(crate) fn fulfilment_targets(
    fulfilment: &Fulfilment,
    fulfillment_orders: &Value,
) -> Result<Vec<FulfillmentTarget>, ConnectorError> {
    let wire = WireFulfillmentOrders::deserialize(fulfillment_orders)
        .map_err(|e| invalid(format!("not a list of fulfillment orders: {e}")))?;
    let orders = wire
        .fulfillment_orders
        .ok_or_else(|| invalid("the answer has no `fulfillment_orders` list"))?;
    let whole = fulfilment.lines.is_empty();
    let mut remaining: Vec<(String, i64)> = Vec::new();
    for (line_id, quantity) in &fulfilment.lines {
        match remaining.iter_mut().find(|(id, _)| id == line_id) {
            Some((_, left)) => *left = left.saturating_add(*quantity),
            None => remaining.push((line_id.clone(), *quantity)),
        }
    }
    let mut targets = Vec::new();
    for order in orders {
        if !matches!(order.status.as_deref(), Some("open" | "in_progress")) {
            continue;
        }
        let Some(fulfillment_order_id) = order.id else {
            continue;
        };
        if whole {
            targets.push(FulfillmentTarget {
                fulfillment_order_id,
                line_items: Vec::new(),
            });
            continue;
        }
        let mut line_items = Vec::new();
        for item in order.line_items.unwrap_or_default() {
            let (Some(item_id), Some(line_id)) =
                (item.id, item.line_item_id.as_ref().and_then(id_of))
            else {
                continue;
            };
            let Some((_, left)) = remaining.iter_mut().find(|(id, _)| *id == line_id) else {
                continue;
            };
            let available = item.fulfillable_quantity.or(item.quantity).unwrap_or(*left);
            let quantity = available.min(*left);
            if quantity <= 0 {
                continue;
            }
            *left -= quantity;
            line_items.push((item_id, quantity));
        }
        if !line_items.is_empty() {
            targets.push(FulfillmentTarget {
                fulfillment_order_id,
                line_items,
            });
        }
    }
    if targets.is_empty() {
        return Err(invalid("nothing left to fulfil"));
    }
    Ok(targets)
}

/// The body of `POST /fulfillments.json` for the shipment over `targets`:
/// `{"fulfillment": {"line_items_by_fulfillment_order": [{"fulfillment_order_id",
/// "fulfillment_order_line_items"?: [{"id", "quantity"}]}], "tracking_info":
/// {"number", "company", "url"?}, "notify_customer"}}`.
pub(crate) fn fulfilment_body(fulfilment: &Fulfilment, targets: &[FulfillmentTarget]) -> Value {
    let by_fulfillment_order: Vec<Value> = targets
        .iter()
        .map(|target| {
            let mut entry = Map::new();
            entry.insert(
                "fulfillment_order_id".to_owned(),
                target.fulfillment_order_id.clone(),
            );
            if !target.line_items.is_empty() {
                let items: Vec<Value> = target
                    .line_items
                    .iter()
                    .map(|(id, quantity)| json!({ "id": id, "quantity": quantity }))
                    .collect();
                entry.insert(
                    "fulfillment_order_line_items".to_owned(),
                    Value::Array(items),
                );
            }
            Value::Object(entry)
        })
        .collect();
    let mut tracking = Map::new();
    tracking.insert(
        "number".to_owned(),
        Value::String(fulfilment.tracking_number.clone()),
    );
    tracking.insert(
        "company".to_owned(),
        Value::String(fulfilment.carrier.clone()),
    );
    if let Some(url) = non_empty(fulfilment.tracking_url.as_deref()) {
        tracking.insert("url".to_owned(), Value::String(url));
    }
    json!({
        "fulfillment": {
            "line_items_by_fulfillment_order": by_fulfillment_order,
            "tracking_info": tracking,
            "notify_customer": fulfilment.notify_customer,
        }
    })
}

/// The receipt for a `POST /fulfillments.json` answer: its `fulfillment.id`.
fn receipt(created: &Value) -> PushReceipt {
    PushReceipt {
        reference: created.pointer("/fulfillment/id").and_then(id_of),
    }
}

/// Checks `X-Shopify-Hmac-Sha256` against the body. No (or an empty) secret
/// verifies nothing.
fn verify_signature(
    secret: Option<&str>,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let secret = secret
        .filter(|secret| !secret.is_empty())
        .ok_or(VerifyError::Mismatch)?;
    let signature = header(SIGNATURE_HEADER).ok_or(VerifyError::Missing(SIGNATURE_HEADER))?;
    let signature = BASE64
        .decode(signature.trim())
        .map_err(|e| VerifyError::Malformed(format!("not base64: {e}")))?;
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| VerifyError::Malformed("the secret is not a usable HMAC key".to_owned()))?;
    mac.update(body);
    mac.verify_slice(&signature)
        .map_err(|_| VerifyError::Mismatch)
}

/// The first page's URL: `{base}/admin/api/{version}/orders.json?status=any&
/// limit=N[&updated_at_min=T]&order=updated_at%20asc`.
fn orders_url(
    base_url: &str,
    api_version: &str,
    page_size: u32,
    updated_since: Option<DateTime<Utc>>,
) -> String {
    let mut url = format!(
        "{base_url}/admin/api/{api_version}/orders.json?status=any&limit={}",
        page_limit(page_size)
    );
    if let Some(since) = updated_since {
        url.push_str("&updated_at_min=");
        url.push_str(&since.to_rfc3339_opts(SecondsFormat::Secs, true));
    }
    url.push_str("&order=updated_at%20asc");
    url
}

/// The page size clamped to what Shopify accepts (1..=250).
fn page_limit(page_size: u32) -> u32 {
    page_size.clamp(1, MAX_PAGE_SIZE)
}

/// The `rel="next"` URL of a `Link` header value, if any.
fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let start = rest.find('<')?;
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = after[..end].trim();
        let tail = &after[end + 1..];
        // The entry's parameters run up to the next entry's `<`.
        let params_end = tail.find('<').unwrap_or(tail.len());
        if !url.is_empty() && tail[..params_end].split(';').any(is_rel_next) {
            return Some(url.to_owned());
        }
        rest = &tail[params_end..];
    }
}

/// Whether a `Link` parameter is `rel="next"` (or a `rel` list naming `next`).
fn is_rel_next(param: &str) -> bool {
    let Some((name, value)) = param.split_once('=') else {
        return false;
    };
    if !name.trim().eq_ignore_ascii_case("rel") {
        return false;
    }
    value
        .trim()
        .trim_end_matches(',')
        .trim()
        .trim_matches('"')
        .split_ascii_whitespace()
        .any(|rel| rel.eq_ignore_ascii_case("next"))
}

/// Whether `url` is on the configured store: `base_url` (compared ignoring
/// ASCII case) followed by a path.
fn is_under_base(url: &str, base_url: &str) -> bool {
    url.get(..base_url.len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(base_url))
        && url[base_url.len()..].starts_with('/')
}

/// Whether `s` can stand as one URL path segment unescaped (ids, versions).
fn is_path_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A successful answer's headers and body.
struct Answer {
    headers: HeaderMap,
    body: Vec<u8>,
}

/// An RFC 3339 time, in UTC.
fn parse_time(time: &str, field: &str) -> Result<DateTime<Utc>, ConnectorError> {
    DateTime::parse_from_rfc3339(time.trim())
        .map(|time| time.with_timezone(&Utc))
        .map_err(|e| invalid(format!("`{field}` {time:?} is not an RFC 3339 time: {e}")))
}

/// A money amount given as a JSON string (`"199.00"`) or number.
fn decimal_of(value: &Value) -> Option<Decimal> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(&text).ok())
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireOrder {
    id: Option<Value>,
    name: Option<String>,
    cancelled_at: Option<Value>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    currency: Option<String>,
    created_at: Option<String>,
    updated_at: Option<String>,
    email: Option<String>,
    contact_email: Option<String>,
    phone: Option<String>,
    note: Option<String>,
    customer: Option<WireCustomer>,
    billing_address: Option<WireAddress>,
    shipping_address: Option<WireAddress>,
    line_items: Option<Vec<WireLine>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireCustomer {
    id: Option<Value>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireAddress {
    name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    address1: Option<String>,
    address2: Option<String>,
    city: Option<String>,
    province: Option<String>,
    zip: Option<String>,
    country: Option<String>,
    country_code: Option<String>,
}

impl WireAddress {
    /// `name`, or first and last name.
    fn name(&self) -> Option<String> {
        non_empty(self.name.as_deref())
            .or_else(|| full_name(self.first_name.as_deref(), self.last_name.as_deref()))
    }

    fn to_postal(&self) -> PostalAddress {
        PostalAddress {
            name: self.name(),
            phone: non_empty(self.phone.as_deref()),
            line1: non_empty(self.address1.as_deref()),
            line2: non_empty(self.address2.as_deref()),
            city: non_empty(self.city.as_deref()),
            region: non_empty(self.province.as_deref()),
            postal_code: non_empty(self.zip.as_deref()),
            country: non_empty(self.country_code.as_deref())
                .or_else(|| non_empty(self.country.as_deref())),
        }
    }
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireLine {
    id: Option<Value>,
    sku: Option<String>,
    variant_id: Option<Value>,
    product_id: Option<Value>,
    title: Option<String>,
    name: Option<String>,
    quantity: Option<i64>,
    price: Option<Value>,
    price_set: Option<Value>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireFulfillmentOrders {
    fulfillment_orders: Option<Vec<WireFulfillmentOrder>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireFulfillmentOrder {
    id: Option<Value>,
    status: Option<String>,
    line_items: Option<Vec<WireFulfillmentOrderLine>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireFulfillmentOrderLine {
    id: Option<Value>,
    line_item_id: Option<Value>,
    quantity: Option<i64>,
    fulfillable_quantity: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BASE: &str = "https://shop.myshopify.com";

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../tests/fixtures/shopify/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn list_order() -> Value {
        fixture("api-js_2024-04_orders_list_updated_at_min.json")["orders"][0].clone()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        }
    }

    fn shipment(lines: Vec<(String, i64)>) -> Fulfilment {
        Fulfilment {
            external_order_id: "450789469".to_owned(),
            lines,
            tracking_number: "1Z001985YW99744790".to_owned(),
            carrier: "UPS".to_owned(),
            tracking_url: None,
            notify_customer: false,
            completes_order: true,
        }
    }

    #[test]
    fn converts_the_listed_fixture_order() {
        let page = fixture("api-js_2024-04_orders_list_updated_at_min.json");
        let orders = page["orders"].as_array().unwrap();
        assert_eq!(orders.len(), 1);
        let order = to_marketplace_order(&orders[0]).unwrap();
        assert_eq!(order.external_id, "450789469");
        assert_eq!(order.display_number.as_deref(), Some("#1001"));
        assert!(!order.cancelled);
        assert_eq!(order.platform_status, "partially_refunded/unfulfilled");
        assert_eq!(order.currency, "USD");
        assert_eq!(order.created_at, utc("2008-01-10T16:00:00Z"));
        assert_eq!(order.updated_at, utc("2008-01-10T16:00:00Z"));
        assert_eq!(
            order.buyer,
            Buyer {
                id: Some("207119551".to_owned()),
                name: Some("Bob Norman".to_owned()),
                email: Some("bob.norman@mail.example.com".to_owned()),
                phone: Some("+557734881234".to_owned()),
            }
        );
        assert_eq!(
            order.ship_to,
            Some(PostalAddress {
                name: Some("Bob Norman".to_owned()),
                phone: Some("+1(502)-459-2181".to_owned()),
                line1: Some("Chestnut Street 92".to_owned()),
                line2: None,
                city: Some("Louisville".to_owned()),
                region: Some("Kentucky".to_owned()),
                postal_code: Some("40202".to_owned()),
                country: Some("US".to_owned()),
            })
        );
        assert_eq!(order.lines.len(), 3);
        assert_eq!(
            order.lines[0],
            MarketplaceLine {
                external_line_id: "466157049".to_owned(),
                sku: Some("IPOD2008GREEN".to_owned()),
                variant_id: Some("39072856".to_owned()),
                product_id: Some("632910392".to_owned()),
                title: "IPod Nano - 8gb".to_owned(),
                quantity: 1,
                unit_price: Decimal::new(19900, 2),
            }
        );
        assert_eq!(order.lines[1].external_line_id, "518995019");
        assert_eq!(order.lines[1].sku.as_deref(), Some("IPOD2008RED"));
        assert_eq!(order.lines[2].sku.as_deref(), Some("IPOD2008BLACK"));
        assert_eq!(order.lines[2].variant_id.as_deref(), Some("457924702"));
        assert_eq!(order.note, None);
    }

    #[test]
    fn the_single_order_fixture_converts_the_same() {
        let single = fixture("api-js_2024-04_order_450789469.json");
        let order = to_marketplace_order(&single["order"]).unwrap();
        assert_eq!(order, to_marketplace_order(&list_order()).unwrap());
    }

    #[test]
    fn a_malformed_listed_order_is_rejected_with_its_id() {
        let mut broken = list_order();
        broken["id"] = json!(450_789_470_u64);
        broken["created_at"] = json!("yesterday");
        let nameless = json!({"created_at": "2008-01-10T11:00:00-05:00"});
        let listed = [list_order(), broken, nameless];
        let (orders, rejected) = read_orders(&listed, rest_order_id, to_marketplace_order);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].external_id, "450789469");
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].external_id.as_deref(), Some("450789470"));
        assert!(
            rejected[0].error.contains("created_at"),
            "{}",
            rejected[0].error
        );
        assert_eq!(rejected[1].external_id, None);
    }

    #[test]
    fn webhook_bodies_are_the_order_itself() {
        let body = serde_json::to_vec(&list_order()).unwrap();
        let order = parse_webhook_order(&body).unwrap();
        assert_eq!(order.external_id, "450789469");
        assert_eq!(order.lines.len(), 3);
        assert!(matches!(
            parse_webhook_order(b"not json"),
            Err(ConnectorError::Invalid(_))
        ));
        assert!(matches!(
            parse_webhook_order(b"{\"name\":\"#1\"}"),
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[test]
    fn conversion_variants() {
        let mut value = list_order();
        let object = value.as_object_mut().unwrap();
        object.remove("shipping_address");
        object.insert(
            "cancelled_at".to_owned(),
            json!("2008-01-11T09:00:00+08:00"),
        );
        object.insert("fulfillment_status".to_owned(), json!("fulfilled"));
        object.insert("updated_at".to_owned(), json!("2008-01-11T09:00:00+08:00"));
        object.insert("note".to_owned(), json!("  leave at the door "));
        object.insert("customer".to_owned(), Value::Null);
        object.insert("phone".to_owned(), Value::Null);
        let line = &mut object.get_mut("line_items").unwrap()[0];
        line["sku"] = json!("");
        line["title"] = json!("");
        line["price"] = json!(12.5);
        let order = to_marketplace_order(&value).unwrap();
        assert_eq!(order.ship_to, None);
        assert!(order.cancelled);
        assert_eq!(order.platform_status, "partially_refunded/fulfilled");
        assert_eq!(order.updated_at, utc("2008-01-11T01:00:00Z"));
        assert_eq!(order.note.as_deref(), Some("leave at the door"));
        assert_eq!(order.buyer.id, None);
        // Without a customer the name comes from the billing address.
        assert_eq!(order.buyer.name.as_deref(), Some("Bob Norman"));
        assert_eq!(order.buyer.phone, None);
        assert_eq!(order.lines[0].sku, None);
        assert_eq!(order.lines[0].title, "IPod Nano - 8gb - green");
        assert_eq!(order.lines[0].unit_price, Decimal::new(125, 1));

        let mut no_price = list_order();
        no_price["line_items"][0]
            .as_object_mut()
            .unwrap()
            .remove("price");
        let order = to_marketplace_order(&no_price).unwrap();
        assert_eq!(order.lines[0].unit_price, Decimal::new(19900, 2));

        let mut no_id = list_order();
        no_id.as_object_mut().unwrap().remove("id");
        assert!(matches!(
            to_marketplace_order(&no_id),
            Err(ConnectorError::Invalid(_))
        ));
        let mut bad_time = list_order();
        bad_time["created_at"] = json!("2008-01-10 11:00:00");
        assert!(matches!(
            to_marketplace_order(&bad_time),
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[test]
    fn link_headers() {
        let next = "https://shop.myshopify.com/admin/api/2024-04/orders.json?limit=50&page_info=eyJsYXN0X2lkIjo0fQ";
        let previous =
            "https://shop.myshopify.com/admin/api/2024-04/orders.json?limit=50&page_info=cHJldg";
        assert_eq!(
            next_link(&format!("<{next}>; rel=\"next\"")).as_deref(),
            Some(next)
        );
        assert_eq!(
            next_link(&format!(
                "<{previous}>; rel=\"previous\", <{next}>; rel=\"next\""
            ))
            .as_deref(),
            Some(next)
        );
        assert_eq!(
            next_link(&format!(
                "<{next}>; rel=\"next\", <{previous}>; rel=\"previous\""
            ))
            .as_deref(),
            Some(next)
        );
        assert_eq!(next_link(&format!("<{previous}>; rel=\"previous\"")), None);
        assert_eq!(
            next_link(&format!("< {next} >;REL=NEXT")).as_deref(),
            Some(next)
        );
        assert_eq!(
            next_link(&format!("<{next}>; title=\"x\"; rel=\"prefetch next\"")).as_deref(),
            Some(next)
        );
        let with_comma =
            "https://shop.myshopify.com/admin/api/2024-04/orders.json?fields=id,name&page_info=abc";
        assert_eq!(
            next_link(&format!(
                "<{previous}>; rel=previous,<{with_comma}>;rel=next"
            ))
            .as_deref(),
            Some(with_comma)
        );
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("garbage"), None);
        assert_eq!(next_link("<>; rel=\"next\""), None);
        assert_eq!(next_link(&format!("<{next}")), None);
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(1), 1);
        assert_eq!(page_limit(50), 50);
        assert_eq!(page_limit(250), 250);
        assert_eq!(page_limit(251), 250);
        assert_eq!(page_limit(u32::MAX), 250);
    }

    #[test]
    fn first_page_urls() {
        assert_eq!(
            orders_url(BASE, "2024-04", 100, None),
            "https://shop.myshopify.com/admin/api/2024-04/orders.json?status=any&limit=100&order=updated_at%20asc"
        );
        let since = utc("2024-04-02T14:11:25.750Z");
        assert_eq!(
            orders_url(BASE, "2024-04", 1000, Some(since)),
            "https://shop.myshopify.com/admin/api/2024-04/orders.json?status=any&limit=250&updated_at_min=2024-04-02T14:11:25Z&order=updated_at%20asc"
        );
    }

    #[test]
    fn next_links_must_stay_on_the_store() {
        assert!(is_under_base(
            "https://shop.myshopify.com/admin/api/2024-04/orders.json?page_info=x",
            BASE
        ));
        assert!(is_under_base("HTTPS://SHOP.myshopify.com/admin", BASE));
        assert!(!is_under_base(
            "https://shop.myshopify.com.evil.example/admin",
            BASE
        ));
        assert!(!is_under_base(
            "https://evil.example/?https://shop.myshopify.com/",
            BASE
        ));
        assert!(!is_under_base("https://shop.myshopify.com", BASE));
        assert!(!is_under_base("http", BASE));
    }

    #[test]
    fn base_urls_and_path_segments() {
        assert_eq!(
            normalise_base_url(" https://shop.myshopify.com/ ").unwrap(),
            BASE
        );
        assert_eq!(
            normalise_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(normalise_base_url("ftp://shop").is_err());
        assert!(normalise_base_url("shop.myshopify.com").is_err());
        assert!(is_path_segment("2024-04"));
        assert!(is_path_segment("450789469"));
        assert!(!is_path_segment(""));
        assert!(!is_path_segment("1/../2"));
        assert!(!is_path_segment("1?x=2"));
    }

    #[test]
    fn webhook_signatures() {
        let body = br##"{"id":450789469,"name":"#1001"}"##;
        let secret = Some("shpss_test_secret");
        // Computed independently: base64(HMAC-SHA256(secret, body)) with Python's hmac.
        let good = headers(&[(
            "X-Shopify-Hmac-Sha256",
            "Q/Zzm0mIdDi+9fRzn9NaJxls4EhR/edhuCV2FdsDzrw=",
        )]);
        assert_eq!(verify_signature(secret, &good, body), Ok(()));
        assert_eq!(
            verify_signature(secret, &good, br##"{"id":450789469,"name":"#1002"}"##),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some("another secret"), &good, body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_signature(None, &good, body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some(""), &good, body),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_signature(secret, &headers(&[]), body),
            Err(VerifyError::Missing("x-shopify-hmac-sha256"))
        );
        assert!(matches!(
            verify_signature(secret, &headers(&[("x-shopify-hmac-sha256", "%%%")]), body),
            Err(VerifyError::Malformed(_))
        ));
        let short = headers(&[("x-shopify-hmac-sha256", "Q/Zzm0mIdDi+9fRz")]);
        assert_eq!(
            verify_signature(secret, &short, body),
            Err(VerifyError::Mismatch)
        );
    }

    #[test]
    fn webhook_ids() {
        let present = headers(&[(
            "X-Shopify-Webhook-Id",
            "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        )]);
        assert_eq!(
            webhook_id(&present).as_deref(),
            Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
        );
        assert_eq!(webhook_id(&headers(&[])), None);
        assert_eq!(webhook_id(&headers(&[("x-shopify-webhook-id", " ")])), None);
    }

    #[test]
    fn a_whole_order_goes_against_its_open_fulfillment_orders() {
        let fulfillment_orders = fixture("api-js_2024-04_order_fulfillment_orders.json");
        let mut fulfilment = shipment(Vec::new());
        fulfilment.tracking_url =
            Some("https://www.ups.com/track?tracknum=1Z001985YW99744790".to_owned());
        fulfilment.notify_customer = true;
        let targets = fulfilment_targets(&fulfilment, &fulfillment_orders).unwrap();
        assert_eq!(
            targets,
            vec![FulfillmentTarget {
                fulfillment_order_id: json!(1046000823),
                line_items: Vec::new(),
            }]
        );
        assert_eq!(
            fulfilment_body(&fulfilment, &targets),
            json!({
                "fulfillment": {
                    "line_items_by_fulfillment_order": [{"fulfillment_order_id": 1046000823}],
                    "tracking_info": {
                        "number": "1Z001985YW99744790",
                        "company": "UPS",
                        "url": "https://www.ups.com/track?tracknum=1Z001985YW99744790",
                    },
                    "notify_customer": true,
                }
            })
        );
    }

    #[test]
    fn shipped_lines_pick_fulfillment_order_line_items() {
        let fulfillment_orders = fixture("api-js_2024-04_order_fulfillment_orders.json");
        let fulfilment = shipment(vec![("518995019".to_owned(), 1)]);
        let targets = fulfilment_targets(&fulfilment, &fulfillment_orders).unwrap();
        let body = fulfilment_body(&fulfilment, &targets);
        assert_eq!(
            body["fulfillment"]["line_items_by_fulfillment_order"],
            json!([{
                "fulfillment_order_id": 1046000823,
                "fulfillment_order_line_items": [{"id": 1058737564, "quantity": 1}],
            }])
        );
        // Never more than is still fulfillable.
        let targets = fulfilment_targets(
            &shipment(vec![("518995019".to_owned(), 5)]),
            &fulfillment_orders,
        )
        .unwrap();
        assert_eq!(targets[0].line_items, vec![(json!(1058737564), 1)]);
        // A line not (or no longer) on an open fulfillment order.
        assert!(matches!(
            fulfilment_targets(&shipment(vec![("466157049".to_owned(), 1)]), &fulfillment_orders),
            Err(ConnectorError::Invalid(message)) if message == "nothing left to fulfil"
        ));
    }

    #[test]
    fn closed_fulfillment_orders_leave_nothing_to_fulfil() {
        let mut fulfillment_orders = fixture("api-js_2024-04_order_fulfillment_orders.json");
        fulfillment_orders["fulfillment_orders"][0]["status"] = json!("closed");
        assert!(matches!(
            fulfilment_targets(&shipment(Vec::new()), &fulfillment_orders),
            Err(ConnectorError::Invalid(message)) if message == "nothing left to fulfil"
        ));
        fulfillment_orders["fulfillment_orders"][0]["status"] = json!("in_progress");
        assert_eq!(
            fulfilment_targets(&shipment(Vec::new()), &fulfillment_orders)
                .unwrap()
                .len(),
            1
        );
        assert!(matches!(
            fulfilment_targets(&shipment(Vec::new()), &json!({"errors": "Not Found"})),
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[test]
    fn the_body_matches_the_documented_request() {
        let envelope = fixture("api-js_2024-04_fulfillment_create_with_tracking.json");
        let expected = &envelope["request"]["body"]["fulfillment"];
        // The fulfillment order the documented request went against.
        let fulfillment_orders = json!({
            "fulfillment_orders": [{
                "id": 1046000798,
                "status": "open",
                "line_items": [{
                    "id": 1058737525,
                    "fulfillment_order_id": 1046000798,
                    "line_item_id": 466157049,
                    "quantity": 1,
                    "fulfillable_quantity": 1,
                }],
            }]
        });
        let fulfilment = shipment(vec![("466157049".to_owned(), 1)]);
        let targets = fulfilment_targets(&fulfilment, &fulfillment_orders).unwrap();
        let body = fulfilment_body(&fulfilment, &targets);
        let actual = &body["fulfillment"];
        assert_eq!(
            actual["line_items_by_fulfillment_order"],
            expected["line_items_by_fulfillment_order"]
        );
        assert_eq!(actual["tracking_info"], expected["tracking_info"]);
        assert_eq!(actual["tracking_info"]["number"], "1Z001985YW99744790");
        assert_eq!(actual["tracking_info"]["company"], "UPS");
        assert!(actual["tracking_info"].get("url").is_none());
        assert_eq!(actual["notify_customer"], expected["notify_customer"]);
        // The documented request also has a free-text `message`; Dingdan sends none.
        let mut keys: Vec<&str> = actual
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "line_items_by_fulfillment_order",
                "notify_customer",
                "tracking_info"
            ]
        );
        assert_eq!(body.as_object().unwrap().len(), 1);

        assert_eq!(
            receipt(&envelope["response"]),
            PushReceipt {
                reference: Some("1069019875".to_owned())
            }
        );
        assert_eq!(receipt(&json!({})), PushReceipt { reference: None });
    }

    #[test]
    fn error_answers() {
        assert!(matches!(
            status_error(401, b"{\"errors\":\"[API] Invalid API key or access token\"}"),
            ConnectorError::Unauthorized(message) if message.contains("Invalid API key")
        ));
        assert!(matches!(
            status_error(403, b""),
            ConnectorError::Unauthorized(message) if message == "HTTP 403"
        ));
        let long = "x".repeat(1000);
        match status_error(500, long.as_bytes()) {
            ConnectorError::Platform { status, message } => {
                assert_eq!(status, 500);
                assert_eq!(message.chars().count(), 300);
            }
            other => panic!("unexpected {other:?}"),
        }
        match status_error(422, "{\"errors\":\"é\"}".as_bytes()) {
            ConnectorError::Platform { status, message } => {
                assert_eq!(status, 422);
                assert_eq!(message, "{\"errors\":\"é\"}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rate_limit_waits() {
        let max = Duration::from_secs(60);
        assert_eq!(rate_limit_wait(None, max), Duration::from_secs(1));
        assert_eq!(
            rate_limit_wait(Some(Duration::from_secs_f64(2.5)), max),
            Duration::from_millis(2500)
        );
        assert_eq!(rate_limit_wait(Some(Duration::from_secs(600)), max), max);
    }

    #[test]
    fn money_and_ids() {
        assert_eq!(decimal_of(&json!("199.00")), Some(Decimal::new(19900, 2)));
        assert_eq!(decimal_of(&json!(3)), Some(Decimal::from(3)));
        assert_eq!(decimal_of(&json!(0.1)), Some(Decimal::new(1, 1)));
        assert_eq!(decimal_of(&json!("abc")), None);
        assert_eq!(decimal_of(&Value::Null), None);
        assert_eq!(id_of(&json!(450789469_u64)).as_deref(), Some("450789469"));
        assert_eq!(id_of(&json!("gid")).as_deref(), Some("gid"));
        assert_eq!(id_of(&json!("")), None);
        assert_eq!(id_of(&Value::Null), None);
    }

    #[test]
    fn configs_do_not_show_secrets() {
        let config = Config {
            base_url: BASE.to_owned(),
            access_token: "shpat_secret_token".to_owned(),
            api_version: "2024-04".to_owned(),
            webhook_secret: Some("whsecret".to_owned()),
            options: ClientOptions::default(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("shpat_secret_token"), "{shown}");
        assert!(!shown.contains("whsecret"), "{shown}");
        assert!(shown.contains("2024-04"), "{shown}");
    }
}
