//! WooCommerce REST v3.
//!
//! - Orders come from `GET /wp-json/wc/v3/orders`, those modified after the
//!   cursor's `updated_since` (`modified_after`, in GMT), newest created first
//!   (`orderby=date&order=desc`, WooCommerce's default order, which every
//!   version supports). Pages are numbered; the page number is the cursor's
//!   page token and `X-WP-TotalPages` says when the run is over. During a run
//!   the listing only grows: an order modified again keeps its place (its
//!   creation date does not change), a new one comes in at the top, pushing
//!   the others down; so paging forward may read an order twice but skips
//!   none. An order modified again after it was read is left to the next
//!   run, which lists it when that modification is later than the run's
//!   high-water mark (the newest modification read) less the caller's
//!   overlap. An order that cannot be read is rejected, the page goes on.
//! - A shipment is pushed back as an order note carrying the tracking number
//!   (`POST /orders/{id}/notes`, shown to the buyer when they are to be told),
//!   then the order is marked `completed` (`PUT /orders/{id}`). The order's
//!   notes are read first (`GET /orders/{id}/notes`): when one already
//!   carries the tracking number (a retry after the `PUT` failed), no second
//!   note is posted.
//! - Order webhooks (`order.created`, `order.updated`, `order.deleted`) carry
//!   the REST order resource, signed with `X-WC-Webhook-Signature` =
//!   base64(HMAC-SHA256(secret, raw body)); `X-WC-Webhook-Delivery-ID` names a
//!   delivery so repeats can be ignored.
//!
//! Requests authenticate with HTTP Basic (consumer key and secret), which
//! WooCommerce accepts over HTTPS. The `date_*_gmt` fields carry no offset:
//! they are UTC. A 429 is retried after its `Retry-After` as often as
//! [`ClientOptions`] allows.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
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

/// The webhook signature header (looked up case-insensitively).
const SIGNATURE_HEADER: &str = "x-wc-webhook-signature";
/// The webhook delivery id header (looked up case-insensitively).
const DELIVERY_ID_HEADER: &str = "x-wc-webhook-delivery-id";
/// The header with the number of pages of the listing.
const TOTAL_PAGES_HEADER: &str = "x-wp-totalpages";
/// WooCommerce's largest `per_page`.
const MAX_PAGE_SIZE: u32 = 100;
/// The layout of `modified_after` and of the `date_*_gmt` fields.
const GMT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
const JSON: &str = "application/json";

/// A WooCommerce store's settings.
#[derive(Clone)]
pub struct Config {
    /// The site's origin, e.g. `https://shop.example.com` (or a mock server's
    /// URL); no trailing slash. The API is under `{base_url}/wp-json/wc/v3`.
    pub base_url: String,
    /// The REST API consumer key (`ck_…`), the HTTP Basic user name.
    pub consumer_key: String,
    /// The REST API consumer secret (`cs_…`), the HTTP Basic password.
    pub consumer_secret: String,
    /// The secret that signs webhooks; `None` refuses every webhook.
    pub webhook_secret: Option<String>,
    /// Timeouts, page size and rate-limit patience.
    pub options: ClientOptions,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"<redacted>")
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("options", &self.options)
            .finish()
    }
}

/// A WooCommerce REST v3 client for one store.
pub struct Client {
    http: reqwest::Client,
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
    /// [`ConnectorError::Invalid`] when the base URL is not an http(s) URL, and
    /// with [`ConnectorError::Transport`] when the HTTP client cannot be built.
    pub fn new(mut config: Config) -> Result<Self, ConnectorError> {
        config.base_url = normalise_base_url(&config.base_url)?;
        let http = super::common::http_client(&config.options)?;
        Ok(Self { http, config })
    }

    /// `{base}/wp-json/wc/v3/orders/{id}` (the id checked to be one path segment).
    fn order_url(&self, order_id: &str) -> Result<String, ConnectorError> {
        if !is_path_segment(order_id) {
            return Err(invalid(format!(
                "`{order_id}` is not a WooCommerce order id"
            )));
        }
        Ok(format!(
            "{}/wp-json/wc/v3/orders/{order_id}",
            self.config.base_url
        ))
    }

    /// An authenticated request.
    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http.request(method, url).basic_auth(
            &self.config.consumer_key,
            Some(&self.config.consumer_secret),
        )
    }

    /// An authenticated request with a JSON body.
    fn json_request(
        &self,
        method: reqwest::Method,
        url: &str,
        body: &str,
    ) -> reqwest::RequestBuilder {
        self.request(method, url)
            .header(CONTENT_TYPE, JSON)
            .body(body.to_owned())
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

    /// The id of the order's note already carrying the shipment's tracking
    /// number (`GET {notes_url}`), if any.
    async fn existing_note(
        &self,
        notes_url: &str,
        fulfilment: &Fulfilment,
    ) -> Result<Option<String>, ConnectorError> {
        let answer = self
            .send(|| self.request(reqwest::Method::GET, notes_url))
            .await?;
        let notes = parse_json(&answer.body, "the order's notes")?;
        let notes = notes
            .as_array()
            .ok_or_else(|| invalid("the order's notes are not a list"))?;
        Ok(note_with_tracking(notes, &fulfilment.tracking_number))
    }

    /// Posts the shipment's note (`POST {notes_url}`); gives the new note's id.
    async fn post_note(
        &self,
        notes_url: &str,
        fulfilment: &Fulfilment,
    ) -> Result<Option<String>, ConnectorError> {
        let note = note_body(fulfilment).to_string();
        let answer = self
            .send(|| self.json_request(reqwest::Method::POST, notes_url, &note))
            .await?;
        let created = parse_json(&answer.body, "the created note")?;
        Ok(created.get("id").and_then(id_of))
    }
}

impl Connector for Client {
    fn platform(&self) -> Platform {
        Platform::Woocommerce
    }

    async fn fetch_orders_since(&self, cursor: &Cursor) -> Result<OrdersPage, ConnectorError> {
        let page = page_number(cursor.page.as_deref())?;
        let per_page = page_limit(self.config.options.page_size);
        let url = orders_url(&self.config.base_url, page, per_page, cursor.updated_since);
        let answer = self
            .send(|| self.request(reqwest::Method::GET, &url))
            .await?;
        let listing = parse_json(&answer.body, "the orders page")?;
        let listed = listing
            .as_array()
            .ok_or_else(|| invalid("the orders page is not a list"))?;
        let (orders, rejected) = read_orders(listed, rest_order_id, to_marketplace_order);
        let total_pages = answer
            .headers
            .get(TOTAL_PAGES_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u32>().ok());
        let next = next_page(page, total_pages, listed.len(), per_page).map(|next| Cursor {
            updated_since: cursor.updated_since,
            page: Some(next.to_string()),
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
        let order_url = self.order_url(&fulfilment.external_order_id)?;
        let notes_url = format!("{order_url}/notes");
        let reference = match self.existing_note(&notes_url, fulfilment).await? {
            Some(id) => Some(id),
            None => self.post_note(&notes_url, fulfilment).await?,
        };
        // WooCommerce has no partial shipment: the order is completed with
        // its last shipment only.
        if fulfilment.completes_order {
            let completed = json!({ "status": "completed" }).to_string();
            self.send(|| self.json_request(reqwest::Method::PUT, &order_url, &completed))
                .await?;
        }
        Ok(PushReceipt { reference })
    }

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        verify_signature(self.config.webhook_secret.as_deref(), header, body)
    }
}

/// The delivery id of a webhook (`X-WC-Webhook-Delivery-ID`), to ignore
/// repeats. `header` looks a header up case-insensitively.
pub fn webhook_id(header: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    non_empty(header(DELIVERY_ID_HEADER).as_deref())
}

/// Parses an order webhook's body (the REST order resource) into the neutral
/// type. Check the signature first ([`Connector::verify_webhook`]).
pub fn parse_webhook_order(body: &[u8]) -> Result<MarketplaceOrder, ConnectorError> {
    to_marketplace_order(&parse_json(body, "the webhook body")?)
}

/// Converts one WooCommerce order (the JSON of one order as the REST API
/// returns it) into the neutral type.
pub fn to_marketplace_order(order: &Value) -> Result<MarketplaceOrder, ConnectorError> {
    let wire = WireOrder::deserialize(order)
        .map_err(|e| invalid(format!("not a WooCommerce order: {e}")))?;
    let external_id = wire
        .id
        .as_ref()
        .and_then(id_of)
        .ok_or_else(|| invalid("the order has no id"))?;
    let created_at = parse_gmt(
        wire.date_created_gmt
            .as_deref()
            .ok_or_else(|| invalid(format!("order {external_id} has no date_created_gmt")))?,
        "date_created_gmt",
    )?;
    let updated_at = wire
        .date_modified_gmt
        .as_deref()
        .map(|time| parse_gmt(time, "date_modified_gmt"))
        .transpose()?
        .unwrap_or(created_at);
    let currency = non_empty(wire.currency.as_deref())
        .ok_or_else(|| invalid(format!("order {external_id} has no currency")))?;
    let platform_status = non_empty(wire.status.as_deref()).unwrap_or_else(|| "unknown".to_owned());
    let billing = wire.billing.unwrap_or_default();
    let buyer = Buyer {
        id: wire
            .customer_id
            .as_ref()
            .and_then(id_of)
            .filter(|id| id != "0"),
        name: full_name(billing.first_name.as_deref(), billing.last_name.as_deref()),
        email: non_empty(billing.email.as_deref()),
        phone: non_empty(billing.phone.as_deref()),
    };
    let ship_to = wire
        .shipping
        .as_ref()
        .and_then(|shipping| shipping_address(shipping, &billing));
    let lines = wire
        .line_items
        .unwrap_or_default()
        .iter()
        .map(to_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(MarketplaceOrder {
        display_number: wire.number.as_ref().and_then(id_of),
        cancelled: platform_status == "cancelled",
        platform_status,
        currency,
        created_at,
        updated_at,
        buyer,
        ship_to,
        lines,
        note: non_empty(wire.customer_note.as_deref()),
        external_id,
    })
}

/// The shipping address, or `None` when the order has none (virtual goods
/// leave every field blank). The phone falls back to the billing phone.
fn shipping_address(shipping: &WireAddress, billing: &WireAddress) -> Option<PostalAddress> {
    let address = PostalAddress {
        name: full_name(
            shipping.first_name.as_deref(),
            shipping.last_name.as_deref(),
        ),
        phone: non_empty(shipping.phone.as_deref()).or_else(|| non_empty(billing.phone.as_deref())),
        line1: non_empty(shipping.address_1.as_deref()),
        line2: non_empty(shipping.address_2.as_deref()),
        city: non_empty(shipping.city.as_deref()),
        region: non_empty(shipping.state.as_deref()),
        postal_code: non_empty(shipping.postcode.as_deref()),
        country: non_empty(shipping.country.as_deref()),
    };
    let has_place = address.line1.is_some()
        || address.city.is_some()
        || address.postal_code.is_some()
        || address.country.is_some();
    has_place.then_some(address)
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
            let total = line.total.as_ref().and_then(decimal_of)?;
            total.checked_div(Decimal::from(quantity))
        })
        .ok_or_else(|| invalid(format!("line item {external_line_id} has no price")))?;
    Ok(MarketplaceLine {
        sku: non_empty(line.sku.as_deref()),
        variant_id: line
            .variation_id
            .as_ref()
            .and_then(id_of)
            .filter(|id| id != "0"),
        product_id: line
            .product_id
            .as_ref()
            .and_then(id_of)
            .filter(|id| id != "0"),
        title: non_empty(line.name.as_deref()).unwrap_or_default(),
        quantity,
        unit_price,
        external_line_id,
    })
}

/// The body of `POST /orders/{id}/notes` for a shipment: `{"note": "Shipped
/// with {carrier}: tracking number {number}[ ({url})]", "customer_note":
/// notify_customer}`.
pub(crate) fn note_body(fulfilment: &Fulfilment) -> Value {
    let mut note = format!(
        "Shipped with {}: tracking number {}",
        fulfilment.carrier, fulfilment.tracking_number
    );
    if let Some(url) = non_empty(fulfilment.tracking_url.as_deref()) {
        note.push_str(" (");
        note.push_str(&url);
        note.push(')');
    }
    json!({ "note": note, "customer_note": fulfilment.notify_customer })
}

/// The id of the first of `notes` (as `GET /orders/{id}/notes` lists them)
/// whose text carries `tracking_number`; `None` when none does, or the
/// tracking number is blank.
pub(crate) fn note_with_tracking(notes: &[Value], tracking_number: &str) -> Option<String> {
    let tracking_number = tracking_number.trim();
    if tracking_number.is_empty() {
        return None;
    }
    notes.iter().find_map(|note| {
        let text = note.get("note").and_then(Value::as_str)?;
        if text.contains(tracking_number) {
            note.get("id").and_then(id_of)
        } else {
            None
        }
    })
}

/// Checks `X-WC-Webhook-Signature` against the body. No (or an empty) secret
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

/// A listing page's URL: `{base}/wp-json/wc/v3/orders?page=N&per_page=M&
/// orderby=date&order=desc&dates_are_gmt=true[&modified_after=T]`. Newest
/// created first, the listing only grows while a run pages through it, so
/// paging forward never skips an order (see the module's documentation).
fn orders_url(
    base_url: &str,
    page: u32,
    page_size: u32,
    updated_since: Option<DateTime<Utc>>,
) -> String {
    let mut url = format!(
        "{base_url}/wp-json/wc/v3/orders?page={page}&per_page={}&orderby=date&order=desc&dates_are_gmt=true",
        page_limit(page_size)
    );
    if let Some(since) = updated_since {
        url.push_str("&modified_after=");
        url.push_str(&since.format(GMT_FORMAT).to_string());
    }
    url
}

/// The page size clamped to what WooCommerce accepts (1..=100).
fn page_limit(page_size: u32) -> u32 {
    page_size.clamp(1, MAX_PAGE_SIZE)
}

/// The page a cursor's token names (1 when there is none).
fn page_number(token: Option<&str>) -> Result<u32, ConnectorError> {
    match token {
        None => Ok(1),
        Some(token) => token
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|page| *page >= 1)
            .ok_or_else(|| invalid(format!("`{token}` is not a WooCommerce page number"))),
    }
}

/// The page after `page`, if any: by `X-WP-TotalPages` when given, else while
/// pages come back full.
fn next_page(page: u32, total_pages: Option<u32>, received: usize, per_page: u32) -> Option<u32> {
    let more = match total_pages {
        Some(total) => page < total,
        None => received > 0 && received >= usize::try_from(per_page).unwrap_or(usize::MAX),
    };
    if more { page.checked_add(1) } else { None }
}

/// A `date_*_gmt` time: `YYYY-MM-DDTHH:MM:SS` without offset, meaning UTC (an
/// RFC 3339 time with an offset is accepted too).
fn parse_gmt(time: &str, field: &str) -> Result<DateTime<Utc>, ConnectorError> {
    let trimmed = time.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(time.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(trimmed, GMT_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f"))
        .map(|naive| naive.and_utc())
        .map_err(|e| invalid(format!("`{field}` {time:?} is not a GMT time: {e}")))
}

/// Whether `s` can stand as one URL path segment unescaped.
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

/// A money amount given as a JSON string (`"6.00"`) or number (`3`).
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
    number: Option<Value>,
    status: Option<String>,
    currency: Option<String>,
    date_created_gmt: Option<String>,
    date_modified_gmt: Option<String>,
    customer_id: Option<Value>,
    customer_note: Option<String>,
    billing: Option<WireAddress>,
    shipping: Option<WireAddress>,
    line_items: Option<Vec<WireLine>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireAddress {
    first_name: Option<String>,
    last_name: Option<String>,
    address_1: Option<String>,
    address_2: Option<String>,
    city: Option<String>,
    state: Option<String>,
    postcode: Option<String>,
    country: Option<String>,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct WireLine {
    id: Option<Value>,
    name: Option<String>,
    product_id: Option<Value>,
    variation_id: Option<Value>,
    quantity: Option<i64>,
    sku: Option<String>,
    price: Option<Value>,
    total: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const BASE: &str = "https://shop.example.com";

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../tests/fixtures/woocommerce/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        serde_json::from_slice(&bytes).unwrap()
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

    fn shipment(tracking_url: Option<&str>, notify_customer: bool) -> Fulfilment {
        Fulfilment {
            external_order_id: "727".to_owned(),
            lines: Vec::new(),
            tracking_number: "1Z001985YW99744790".to_owned(),
            carrier: "UPS".to_owned(),
            tracking_url: tracking_url.map(str::to_owned),
            notify_customer,
            completes_order: true,
        }
    }

    #[test]
    fn converts_the_listed_fixture_orders() {
        let listing = fixture("wc_v3_docs_list_orders.json");
        let orders: Vec<MarketplaceOrder> = listing
            .as_array()
            .unwrap()
            .iter()
            .map(|order| to_marketplace_order(order).unwrap())
            .collect();
        assert_eq!(orders.len(), 2);

        let first = &orders[0];
        assert_eq!(first.external_id, "727");
        assert_eq!(first.display_number.as_deref(), Some("727"));
        assert!(!first.cancelled);
        assert_eq!(first.platform_status, "processing");
        assert_eq!(first.currency, "USD");
        assert_eq!(first.created_at, utc("2017-03-22T19:28:02Z"));
        assert_eq!(first.updated_at, utc("2017-03-22T19:28:08Z"));
        assert_eq!(
            first.buyer,
            Buyer {
                id: None,
                name: Some("John Doe".to_owned()),
                email: Some("john.doe@example.com".to_owned()),
                phone: Some("(555) 555-5555".to_owned()),
            }
        );
        assert_eq!(
            first.ship_to,
            Some(PostalAddress {
                name: Some("John Doe".to_owned()),
                phone: Some("(555) 555-5555".to_owned()),
                line1: Some("969 Market".to_owned()),
                line2: None,
                city: Some("San Francisco".to_owned()),
                region: Some("CA".to_owned()),
                postal_code: Some("94103".to_owned()),
                country: Some("US".to_owned()),
            })
        );
        assert_eq!(first.lines.len(), 2);
        assert_eq!(
            first.lines[0],
            MarketplaceLine {
                external_line_id: "315".to_owned(),
                sku: None,
                variant_id: None,
                product_id: Some("93".to_owned()),
                title: "Woo Single #1".to_owned(),
                quantity: 2,
                unit_price: Decimal::from(3),
            }
        );
        assert_eq!(
            first.lines[1],
            MarketplaceLine {
                external_line_id: "316".to_owned(),
                sku: Some("Bar3".to_owned()),
                variant_id: Some("23".to_owned()),
                product_id: Some("22".to_owned()),
                // The API sends the name HTML-escaped; it is kept as sent.
                title: "Ship Your Idea &ndash; Color: Black, Size: M Test".to_owned(),
                quantity: 1,
                unit_price: Decimal::from(12),
            }
        );
        assert_eq!(first.note, None);

        let second = &orders[1];
        assert_eq!(second.external_id, "723");
        assert_eq!(second.display_number.as_deref(), Some("723"));
        assert_eq!(second.platform_status, "completed");
        assert!(!second.cancelled);
        assert_eq!(second.created_at, utc("2017-03-21T19:16:00Z"));
        assert_eq!(second.updated_at, utc("2017-03-21T19:54:51Z"));
        assert_eq!(second.buyer.id.as_deref(), Some("26"));
        assert_eq!(second.buyer.name.as_deref(), Some("João Silva"));
        assert_eq!(
            second
                .ship_to
                .as_ref()
                .and_then(|a| a.postal_code.as_deref()),
            Some("12345-000")
        );
        assert_eq!(
            second.ship_to.as_ref().and_then(|a| a.country.as_deref()),
            Some("BR")
        );
        let ids: Vec<&str> = second
            .lines
            .iter()
            .map(|line| line.external_line_id.as_str())
            .collect();
        assert_eq!(ids, ["311", "313"]);
        assert_eq!(second.lines[1].unit_price, Decimal::from(20));
    }

    #[test]
    fn converts_the_single_and_updated_fixture_orders() {
        let single = to_marketplace_order(&fixture("wc_v3_docs_retrieve_order.json")).unwrap();
        let listing = fixture("wc_v3_docs_list_orders.json");
        assert_eq!(single, to_marketplace_order(&listing[0]).unwrap());

        let updated =
            to_marketplace_order(&fixture("wc_v3_docs_update_order_response.json")).unwrap();
        assert_eq!(updated.external_id, "727");
        assert_eq!(updated.platform_status, "completed");
        assert!(!updated.cancelled);
        assert_eq!(updated.updated_at, utc("2017-03-22T19:30:35Z"));
        assert_eq!(updated.lines.len(), 2);
    }

    #[test]
    fn webhook_bodies_are_the_order_resource() {
        let body = serde_json::to_vec(&fixture("wc_v3_docs_retrieve_order.json")).unwrap();
        let order = parse_webhook_order(&body).unwrap();
        assert_eq!(order.external_id, "727");
        assert!(matches!(
            parse_webhook_order(b"webhook_id=12"),
            Err(ConnectorError::Invalid(_))
        ));
        assert!(matches!(
            parse_webhook_order(b"[]"),
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[test]
    fn conversion_variants() {
        let mut value = fixture("wc_v3_docs_retrieve_order.json");
        value["status"] = json!("cancelled");
        value["customer_note"] = json!(" ring twice ");
        value["customer_id"] = json!(31);
        value["shipping"]["phone"] = json!("+86 138 0000 0000");
        value["shipping"]["address_2"] = json!("Suite 5");
        let lines = value["line_items"].as_array_mut().unwrap();
        lines[0]["price"] = json!("3.50");
        lines[0]["sku"] = json!("SINGLE-1");
        lines[1].as_object_mut().unwrap().remove("price");
        let order = to_marketplace_order(&value).unwrap();
        assert!(order.cancelled);
        assert_eq!(order.platform_status, "cancelled");
        assert_eq!(order.note.as_deref(), Some("ring twice"));
        assert_eq!(order.buyer.id.as_deref(), Some("31"));
        let ship_to = order.ship_to.unwrap();
        assert_eq!(ship_to.phone.as_deref(), Some("+86 138 0000 0000"));
        assert_eq!(ship_to.line2.as_deref(), Some("Suite 5"));
        assert_eq!(order.lines[0].unit_price, Decimal::new(350, 2));
        assert_eq!(order.lines[0].sku.as_deref(), Some("SINGLE-1"));
        // Without a price: total / quantity.
        assert_eq!(order.lines[1].unit_price, Decimal::from(12));

        let mut halves = fixture("wc_v3_docs_retrieve_order.json");
        halves["line_items"][0]
            .as_object_mut()
            .unwrap()
            .remove("price");
        let order = to_marketplace_order(&halves).unwrap();
        assert_eq!(order.lines[0].unit_price, Decimal::from(3));

        let mut virtual_goods = fixture("wc_v3_docs_retrieve_order.json");
        for field in [
            "first_name",
            "last_name",
            "address_1",
            "city",
            "state",
            "postcode",
            "country",
        ] {
            virtual_goods["shipping"][field] = json!("");
        }
        assert_eq!(to_marketplace_order(&virtual_goods).unwrap().ship_to, None);

        let mut no_modified = fixture("wc_v3_docs_retrieve_order.json");
        no_modified["date_modified_gmt"] = Value::Null;
        let order = to_marketplace_order(&no_modified).unwrap();
        assert_eq!(order.updated_at, utc("2017-03-22T19:28:02Z"));

        let mut bad_time = fixture("wc_v3_docs_retrieve_order.json");
        bad_time["date_created_gmt"] = json!("22/03/2017");
        assert!(matches!(
            to_marketplace_order(&bad_time),
            Err(ConnectorError::Invalid(_))
        ));
        let mut no_id = fixture("wc_v3_docs_retrieve_order.json");
        no_id.as_object_mut().unwrap().remove("id");
        assert!(matches!(
            to_marketplace_order(&no_id),
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[test]
    fn gmt_times() {
        assert_eq!(
            parse_gmt("2017-03-22T19:28:02", "t").unwrap(),
            utc("2017-03-22T19:28:02Z")
        );
        assert_eq!(
            parse_gmt("2017-03-22T19:28:02.5", "t").unwrap(),
            utc("2017-03-22T19:28:02.5Z")
        );
        assert_eq!(
            parse_gmt("2017-03-22T16:28:02-03:00", "t").unwrap(),
            utc("2017-03-22T19:28:02Z")
        );
        assert!(parse_gmt("", "t").is_err());
    }

    #[test]
    fn page_sizes_are_clamped() {
        assert_eq!(page_limit(0), 1);
        assert_eq!(page_limit(10), 10);
        assert_eq!(page_limit(100), 100);
        assert_eq!(page_limit(101), 100);
        assert_eq!(page_limit(u32::MAX), 100);
    }

    #[test]
    fn listing_urls() {
        assert_eq!(
            orders_url(BASE, 1, 100, None),
            "https://shop.example.com/wp-json/wc/v3/orders?page=1&per_page=100&orderby=date&order=desc&dates_are_gmt=true"
        );
        assert_eq!(
            orders_url(BASE, 3, 250, Some(utc("2024-04-02T14:11:25.750+02:00"))),
            "https://shop.example.com/wp-json/wc/v3/orders?page=3&per_page=100&orderby=date&order=desc&dates_are_gmt=true&modified_after=2024-04-02T12:11:25"
        );
    }

    #[test]
    fn page_tokens_and_next_pages() {
        assert_eq!(page_number(None).unwrap(), 1);
        assert_eq!(page_number(Some("4")).unwrap(), 4);
        assert!(page_number(Some("0")).is_err());
        assert!(page_number(Some("two")).is_err());
        assert!(page_number(Some("https://shop.example.com/?page=2")).is_err());

        assert_eq!(next_page(1, Some(3), 100, 100), Some(2));
        assert_eq!(next_page(2, Some(3), 100, 100), Some(3));
        assert_eq!(next_page(3, Some(3), 7, 100), None);
        assert_eq!(next_page(1, Some(1), 100, 100), None);
        assert_eq!(next_page(1, Some(0), 0, 100), None);
        // Without the header: on while pages come back full.
        assert_eq!(next_page(1, None, 100, 100), Some(2));
        assert_eq!(next_page(1, None, 99, 100), None);
        assert_eq!(next_page(1, None, 0, 100), None);
        assert_eq!(next_page(u32::MAX, None, 100, 100), None);
    }

    #[test]
    fn note_bodies() {
        assert_eq!(
            note_body(&shipment(None, false)),
            json!({
                "note": "Shipped with UPS: tracking number 1Z001985YW99744790",
                "customer_note": false,
            })
        );
        assert_eq!(
            note_body(&shipment(
                Some("https://www.ups.com/track?tracknum=1Z001985YW99744790"),
                true
            )),
            json!({
                "note": "Shipped with UPS: tracking number 1Z001985YW99744790 (https://www.ups.com/track?tracknum=1Z001985YW99744790)",
                "customer_note": true,
            })
        );
    }

    #[test]
    fn a_note_carrying_the_tracking_number_is_not_posted_again() {
        let notes = [
            json!({"id": 280, "note": "Order status changed from Pending payment to Processing.",
                   "customer_note": false}),
            json!({"id": 281, "note": "Shipped with UPS: tracking number 1Z001985YW99744790",
                   "customer_note": true}),
            json!({"id": "282", "note": "Shipped with UPS: tracking number 1Z001985YW99744790"}),
        ];
        assert_eq!(
            note_with_tracking(&notes, "1Z001985YW99744790").as_deref(),
            Some("281")
        );
        assert_eq!(
            note_with_tracking(&notes, " 1Z001985YW99744790 ").as_deref(),
            Some("281")
        );
        assert_eq!(note_with_tracking(&notes, "1Z999"), None);
        assert_eq!(note_with_tracking(&notes, " "), None);
        assert_eq!(note_with_tracking(&[], "1Z001985YW99744790"), None);
        // A note without text or id is no proof of the shipment.
        let odd = [
            json!({"id": 5}),
            json!({"note": "tracking number 1Z001985YW99744790"}),
            json!({"id": 6, "note": 1}),
        ];
        assert_eq!(note_with_tracking(&odd, "1Z001985YW99744790"), None);
        // The note Dingdan posts is found again.
        let text = note_body(&shipment(None, true))["note"].clone();
        let posted = json!({"id": 7, "note": text});
        assert_eq!(
            note_with_tracking(&[posted], "1Z001985YW99744790").as_deref(),
            Some("7")
        );
    }

    #[test]
    fn a_malformed_listed_order_is_rejected_with_its_id() {
        let listing = fixture("wc_v3_docs_list_orders.json");
        let mut listed = listing.as_array().unwrap().clone();
        listed[1]["date_created_gmt"] = json!("21/03/2017");
        listed.push(json!({"status": "processing"}));
        let (orders, rejected) = read_orders(&listed, rest_order_id, to_marketplace_order);
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].external_id, "727");
        assert_eq!(rejected.len(), 2);
        assert_eq!(rejected[0].external_id.as_deref(), Some("723"));
        assert!(
            rejected[0].error.contains("date_created_gmt"),
            "{}",
            rejected[0].error
        );
        assert_eq!(rejected[1].external_id, None);
    }

    #[test]
    fn webhook_signatures() {
        let body = br#"{"id":727,"status":"processing"}"#;
        let secret = Some("wc_webhook_secret");
        // Computed independently: base64(HMAC-SHA256(secret, body)) with Python's hmac.
        let good = headers(&[(
            "X-WC-Webhook-Signature",
            "IoHtI0HQvFbpo2s7ecatIj6HSJZb1hVZkyMYm6lta4c=",
        )]);
        assert_eq!(verify_signature(secret, &good, body), Ok(()));
        assert_eq!(
            verify_signature(secret, &good, br#"{"id":727,"status":"completed"}"#),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify_signature(Some("other"), &good, body),
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
            Err(VerifyError::Missing("x-wc-webhook-signature"))
        );
        assert!(matches!(
            verify_signature(
                secret,
                &headers(&[("x-wc-webhook-signature", "not base64!")]),
                body
            ),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn webhook_ids() {
        let present = headers(&[("X-WC-Webhook-Delivery-ID", "8d0a5b3c")]);
        assert_eq!(webhook_id(&present).as_deref(), Some("8d0a5b3c"));
        assert_eq!(webhook_id(&headers(&[])), None);
    }

    #[test]
    fn error_answers_and_waits() {
        assert!(matches!(
            status_error(401, br#"{"code":"woocommerce_rest_cannot_view","message":"Sorry, you cannot list resources.","data":{"status":401}}"#),
            ConnectorError::Unauthorized(message) if message.contains("cannot list")
        ));
        assert!(matches!(
            status_error(403, b""),
            ConnectorError::Unauthorized(_)
        ));
        match status_error(404, "x".repeat(500).as_bytes()) {
            ConnectorError::Platform { status, message } => {
                assert_eq!(status, 404);
                assert_eq!(message.len(), 300);
            }
            other => panic!("unexpected {other:?}"),
        }
        let max = Duration::from_secs(5);
        assert_eq!(rate_limit_wait(None, max), Duration::from_secs(1));
        assert_eq!(rate_limit_wait(Some(Duration::from_secs(30)), max), max);
    }

    #[test]
    fn base_urls_and_order_ids() {
        assert_eq!(
            normalise_base_url("https://shop.example.com//").unwrap(),
            BASE
        );
        assert!(normalise_base_url("shop.example.com").is_err());
        assert!(is_path_segment("727"));
        assert!(!is_path_segment("727/notes"));
        assert!(!is_path_segment(""));
    }

    #[test]
    fn configs_do_not_show_secrets() {
        let config = Config {
            base_url: BASE.to_owned(),
            consumer_key: "ck_public".to_owned(),
            consumer_secret: "cs_very_secret".to_owned(),
            webhook_secret: Some("whsecret".to_owned()),
            options: ClientOptions::default(),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("cs_very_secret"), "{shown}");
        assert!(!shown.contains("whsecret"), "{shown}");
        assert!(shown.contains("ck_public"), "{shown}");
    }
}
