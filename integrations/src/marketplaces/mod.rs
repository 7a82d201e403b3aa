//! Marketplaces Dingdan pulls orders from and reports shipments back to:
//! Shopify, WooCommerce, Taobao/Tmall (TOP) and JD. Each vendor module holds
//! its wire types, its client and the conversion into the neutral
//! [`MarketplaceOrder`]; nothing vendor-specific leaves its module.
//!
//! A sync walks [`Connector::fetch_orders_since`] page by page. The
//! [`Cursor`] says where to resume: the high-water mark of the last finished
//! run (`updated_since`) and, inside a run, the vendor's own page token. A
//! run that fails keeps the cursor of the last page it stored, so the next
//! run resumes there without duplicates (orders are upserted by id anyway).
//! An order a page lists but that cannot be read does not fail the page: it
//! comes back in [`OrdersPage::rejected`] and the run goes on.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

mod common;
pub mod jd;
pub mod shopify;
pub mod taobao;
pub(crate) mod windows;
pub mod woocommerce;

/// The platforms there are connectors for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Shopify,
    Woocommerce,
    Taobao,
    Jd,
}

impl Platform {
    pub const ALL: [Platform; 4] = [
        Platform::Shopify,
        Platform::Woocommerce,
        Platform::Taobao,
        Platform::Jd,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::Woocommerce => "woocommerce",
            Platform::Taobao => "taobao",
            Platform::Jd => "jd",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Where a sync resumes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Orders modified at or after this instant are fetched (the newest
    /// `updated_at` of the previous complete run, minus a small overlap the
    /// caller chooses). `None`: from the beginning (or the platform's limit).
    pub updated_since: Option<DateTime<Utc>>,
    /// The vendor's token for the next page of the run in progress (Shopify's
    /// `page_info` URL, WooCommerce's page number, Taobao's and JD's window
    /// and page); `None` starts a run.
    pub page: Option<String>,
}

/// One page of orders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrdersPage {
    pub orders: Vec<MarketplaceOrder>,
    /// The orders the page listed that could not be read (kept out of
    /// `orders`; the run goes on without them).
    pub rejected: Vec<RejectedOrder>,
    /// The cursor for the next page; `None` when the run is complete.
    pub next: Option<Cursor>,
    /// The newest `updated_at` among this page's orders. Platforms walked in
    /// time windows (Taobao, JD) raise it to the end of the window the page
    /// completed: every order modified before that end has been listed.
    pub high_water: Option<DateTime<Utc>>,
}

/// An order a page listed but that could not be read (kept out of `orders`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedOrder {
    /// The platform's order id, when it could be read.
    pub external_id: Option<String>,
    /// Why the order could not be read.
    pub error: String,
}

/// An order as a marketplace has it, in neutral terms.
#[derive(Clone, Debug, PartialEq)]
pub struct MarketplaceOrder {
    /// The platform's order id (stable; the upsert key with the account).
    pub external_id: String,
    /// The number buyers see (`#1001`, Taobao `tid`), when different.
    pub display_number: Option<String>,
    /// Cancelled on the platform.
    pub cancelled: bool,
    /// The platform's own status word(s), kept for operators.
    pub platform_status: String,
    /// ISO 4217.
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub buyer: Buyer,
    pub ship_to: Option<PostalAddress>,
    pub lines: Vec<MarketplaceLine>,
    /// The buyer's note.
    pub note: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Buyer {
    /// The platform's customer id or buyer nick, when there is one.
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostalAddress {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    /// Province or state.
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 when the platform gives it (`CN` for Taobao/JD).
    pub country: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketplaceLine {
    /// The platform's line id.
    pub external_line_id: String,
    /// The seller's SKU on the platform (may be empty on some platforms).
    pub sku: Option<String>,
    /// Variant (Shopify `variant_id`, Woo `variation_id`, Taobao `sku_id`).
    pub variant_id: Option<String>,
    pub product_id: Option<String>,
    pub title: String,
    pub quantity: i64,
    /// Per unit, in the order's currency.
    pub unit_price: Decimal,
}

/// What is reported back when (part of) an order ships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fulfilment {
    pub external_order_id: String,
    /// The platform's line ids shipped with their quantities; empty: all.
    pub lines: Vec<(String, i64)>,
    pub tracking_number: String,
    /// The carrier as the platform names it (Shopify `company`, Taobao
    /// `company_code`, …).
    pub carrier: String,
    pub tracking_url: Option<String>,
    pub notify_customer: bool,
    /// The order's last shipment: platforms with an order status (WooCommerce)
    /// may mark the order complete.
    pub completes_order: bool,
}

/// What the platform answered to a push-back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReceipt {
    /// The platform's id for what was created (Shopify fulfillment id, Woo
    /// note id), when it gives one.
    pub reference: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Credentials refused (401/403 or the platform's auth error).
    #[error("the platform refused the credentials: {0}")]
    Unauthorized(String),
    /// Still rate limited after the retries allowed.
    #[error("rate limited by the platform (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },
    /// The platform answered with an error.
    #[error("the platform answered {status}: {message}")]
    Platform { status: u16, message: String },
    /// The answer could not be understood.
    #[error("unexpected answer from the platform: {0}")]
    Invalid(String),
    /// Network, TLS or timeout.
    #[error("cannot reach the platform: {0}")]
    Transport(String),
}

/// A marketplace connection: pull orders, push fulfilment back, check its
/// webhooks.
pub trait Connector: Send + Sync {
    fn platform(&self) -> Platform;

    /// The next page of orders modified since the cursor.
    fn fetch_orders_since(
        &self,
        cursor: &Cursor,
    ) -> impl Future<Output = Result<OrdersPage, ConnectorError>> + Send;

    /// Reports a shipment to the platform.
    fn push_fulfilment(
        &self,
        fulfilment: &Fulfilment,
    ) -> impl Future<Output = Result<PushReceipt, ConnectorError>> + Send;

    /// Checks an inbound webhook's signature (Shopify, WooCommerce); `Ok`
    /// only when it verifies. Platforms without webhooks refuse all.
    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), crate::couriers::VerifyError>;
}

/// How a client behaves: timeouts, page size, rate-limit patience, and
/// how it resolves names.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub timeout: Duration,
    /// Orders per page requested (clamped to the platform's maximum).
    pub page_size: u32,
    /// 429 answers retried (after `Retry-After`, capped by
    /// `max_retry_wait`) before giving up with `RateLimited`.
    pub max_rate_limit_retries: u32,
    pub max_retry_wait: Duration,
    pub resolver: Resolver,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            page_size: 100,
            max_rate_limit_retries: 5,
            max_retry_wait: Duration::from_secs(60),
            resolver: Resolver::default(),
        }
    }
}

/// The name resolver a client connects through: the caller's (an SSRF guard
/// that refuses internal addresses at connect time), else the system's.
#[derive(Clone, Default)]
pub struct Resolver(pub Option<std::sync::Arc<dyn reqwest::dns::Resolve>>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Resolver(custom)"
        } else {
            "Resolver(system)"
        })
    }
}

/// The `Retry-After` of a 429, in seconds (the HTTP-date form is rare on
/// these APIs and counts as one second).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    Some(
        value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map_or(Duration::from_secs(1), Duration::from_secs_f64),
    )
}

/// Any platform's connector, built from stored account settings.
pub enum AnyConnector {
    Shopify(shopify::Client),
    Woocommerce(woocommerce::Client),
    Taobao(taobao::Client),
    Jd(jd::Client),
}

fn text(
    credentials: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<String, ConnectorError> {
    credentials
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| ConnectorError::Invalid(format!("the credentials lack `{name}`")))
}

fn optional_text(
    credentials: &serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<String> {
    credentials
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AnyConnector {
    /// A client for `platform` at `base_url` with the account's credentials:
    /// Shopify `access_token`, `api_version` (default 2024-04),
    /// `webhook_secret`; WooCommerce `consumer_key`, `consumer_secret`,
    /// `webhook_secret`; Taobao and JD `app_key`, `app_secret`, `session`.
    /// Unknown credential names are refused (a typo would otherwise go
    /// unnoticed until the first sync).
    pub fn new(
        platform: Platform,
        base_url: &str,
        credentials: &serde_json::Map<String, serde_json::Value>,
        options: ClientOptions,
    ) -> Result<Self, ConnectorError> {
        let allowed: &[&str] = match platform {
            Platform::Shopify => &["access_token", "api_version", "webhook_secret"],
            Platform::Woocommerce => &["consumer_key", "consumer_secret", "webhook_secret"],
            Platform::Taobao | Platform::Jd => &["app_key", "app_secret", "session"],
        };
        if let Some(unknown) = credentials.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ConnectorError::Invalid(format!(
                "`{unknown}` is not a {} credential (expected {})",
                platform.as_str(),
                allowed.join(", ")
            )));
        }
        // reqwest is built without a default TLS crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(match platform {
            Platform::Shopify => AnyConnector::Shopify(shopify::Client::new(shopify::Config {
                base_url,
                access_token: text(credentials, "access_token")?,
                api_version: optional_text(credentials, "api_version")
                    .unwrap_or_else(|| "2024-04".to_owned()),
                webhook_secret: optional_text(credentials, "webhook_secret"),
                options,
            })?),
            Platform::Woocommerce => {
                AnyConnector::Woocommerce(woocommerce::Client::new(woocommerce::Config {
                    base_url,
                    consumer_key: text(credentials, "consumer_key")?,
                    consumer_secret: text(credentials, "consumer_secret")?,
                    webhook_secret: optional_text(credentials, "webhook_secret"),
                    options,
                })?)
            }
            Platform::Taobao => AnyConnector::Taobao(taobao::Client::new(taobao::Config {
                base_url,
                app_key: text(credentials, "app_key")?,
                app_secret: text(credentials, "app_secret")?,
                session: text(credentials, "session")?,
                options,
                now: None,
            })?),
            Platform::Jd => AnyConnector::Jd(jd::Client::new(jd::Config {
                base_url,
                app_key: text(credentials, "app_key")?,
                app_secret: text(credentials, "app_secret")?,
                session: text(credentials, "session")?,
                options,
                now: None,
            })?),
        })
    }
}

impl Connector for AnyConnector {
    fn platform(&self) -> Platform {
        match self {
            AnyConnector::Shopify(c) => c.platform(),
            AnyConnector::Woocommerce(c) => c.platform(),
            AnyConnector::Taobao(c) => c.platform(),
            AnyConnector::Jd(c) => c.platform(),
        }
    }

    async fn fetch_orders_since(&self, cursor: &Cursor) -> Result<OrdersPage, ConnectorError> {
        match self {
            AnyConnector::Shopify(c) => c.fetch_orders_since(cursor).await,
            AnyConnector::Woocommerce(c) => c.fetch_orders_since(cursor).await,
            AnyConnector::Taobao(c) => c.fetch_orders_since(cursor).await,
            AnyConnector::Jd(c) => c.fetch_orders_since(cursor).await,
        }
    }

    async fn push_fulfilment(
        &self,
        fulfilment: &Fulfilment,
    ) -> Result<PushReceipt, ConnectorError> {
        match self {
            AnyConnector::Shopify(c) => c.push_fulfilment(fulfilment).await,
            AnyConnector::Woocommerce(c) => c.push_fulfilment(fulfilment).await,
            AnyConnector::Taobao(c) => c.push_fulfilment(fulfilment).await,
            AnyConnector::Jd(c) => c.push_fulfilment(fulfilment).await,
        }
    }

    fn verify_webhook(
        &self,
        header: &dyn Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<(), crate::couriers::VerifyError> {
        match self {
            AnyConnector::Shopify(c) => c.verify_webhook(header, body),
            AnyConnector::Woocommerce(c) => c.verify_webhook(header, body),
            AnyConnector::Taobao(c) => c.verify_webhook(header, body),
            AnyConnector::Jd(c) => c.verify_webhook(header, body),
        }
    }
}
