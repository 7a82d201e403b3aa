//! Marketplace connector accounts and their sync runs.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::connector::{self as domain, CarrierMap, CustomerMode, Platform, SkuMapping};
use crate::domain::validation::{FieldError, Parse, Violations, required_text};

/// One SKU mapping: a platform SKU and/or variant id → a Dingdan SKU.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject)]
#[serde(deny_unknown_fields)]
pub struct SkuMappingBody {
    #[schema(example = "IPOD2008GREEN")]
    pub platform_sku: Option<String>,
    #[schema(example = "39072856")]
    pub variant_id: Option<String>,
    #[schema(example = "IPOD-NANO-GREEN")]
    pub sku: String,
}

fn mappings(
    items: Option<Vec<SkuMappingBody>>,
    errors: &mut Violations,
) -> Option<Vec<SkuMapping>> {
    let items = items?;
    let mut out = Vec::new();
    for (i, m) in items.into_iter().enumerate() {
        if m.platform_sku.is_none() && m.variant_id.is_none() {
            errors.push(
                format!("sku_map[{i}]"),
                "required",
                "give platform_sku, variant_id or both",
            );
        }
        if m.sku.trim().is_empty() {
            errors.push(format!("sku_map[{i}].sku"), "required", "the Dingdan SKU");
        }
        out.push(SkuMapping {
            platform_sku: m.platform_sku,
            variant_id: m.variant_id,
            sku: m.sku.trim().to_owned(),
        });
    }
    Some(out)
}

fn interval(value: Option<i32>, errors: &mut Violations) -> Option<i32> {
    let value = value?;
    if !(60..=86_400).contains(&value) {
        errors.push(
            "sync_interval_seconds",
            "out_of_range",
            "60 to 86400 seconds",
        );
    }
    Some(value)
}

/// An http(s) URL with a host and nothing after the path; the service
/// decides which hosts and schemes may be called.
fn base_url(value: &str, errors: &mut Violations) -> Option<String> {
    let trimmed = value.trim().trim_end_matches('/');
    match url::Url::parse(trimmed) {
        Ok(u)
            if matches!(u.scheme(), "https" | "http")
                && u.host().is_some()
                && u.username().is_empty()
                && u.password().is_none()
                && u.query().is_none()
                && u.fragment().is_none() =>
        {
            Some(trimmed.to_owned())
        }
        _ => {
            errors.push(
                "base_url",
                "invalid",
                "an https URL such as https://shop.myshopify.com",
            );
            None
        }
    }
}

fn customer_mode(value: &str, errors: &mut Violations) -> Option<CustomerMode> {
    let mode = CustomerMode::parse(value.trim());
    if mode.is_none() {
        errors.push("customer_mode", "invalid", "single or per_buyer");
    }
    mode
}

fn carrier_map(map: CarrierMap, errors: &mut Violations) -> Option<CarrierMap> {
    let mut out = CarrierMap::new();
    for (carrier, code) in map {
        let (carrier, code) = (carrier.trim().to_owned(), code.trim().to_owned());
        if carrier.is_empty() || code.is_empty() || code.len() > 100 {
            errors.push(
                format!("carrier_map.{carrier}"),
                "invalid",
                "a Dingdan carrier code mapped to the platform's code (1 to 100 characters)",
            );
        }
        out.insert(carrier, code);
    }
    Some(out)
}

/// A marketplace account to register.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    /// `shopify`, `woocommerce`, `taobao` or `jd`.
    #[schema(example = "shopify")]
    pub platform: String,
    #[schema(example = "Our Shopify store")]
    pub name: String,
    /// The shop (`https://shop.myshopify.com`, the WordPress site, TOP's
    /// `https://eco.taobao.com`, JD's `https://api.jd.com`).
    pub base_url: String,
    /// The platform's credentials; stored encrypted, never returned.
    /// Shopify: `access_token`, `api_version`, `webhook_secret`;
    /// WooCommerce: `consumer_key`, `consumer_secret`, `webhook_secret`;
    /// Taobao and JD: `app_key`, `app_secret`, `session`.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Map<String, serde_json::Value>,
    /// 60 to 86400; default 900.
    pub sync_interval_seconds: Option<i32>,
    #[serde(default)]
    pub sku_map: Option<Vec<SkuMappingBody>>,
    /// `single` (every order is `customer_id`'s) or `per_buyer` (each
    /// buyer becomes a customer on their first order; `customer_id`, when
    /// given, takes orders whose buyer the platform does not identify).
    /// Default `single`.
    pub customer_mode: Option<String>,
    pub customer_id: Option<Uuid>,
    /// Warehouses to prefer, in order, when allocating this account's orders.
    #[serde(default)]
    pub warehouse_preferences: Vec<Uuid>,
    /// Dingdan carrier code → the platform's code for it, used when
    /// shipments are reported back (`{"sf": "SF"}` for Taobao's
    /// `company_code`); unmapped carriers go by their Dingdan code.
    #[serde(default)]
    pub carrier_map: CarrierMap,
    /// Default true.
    pub enabled: Option<bool>,
}

impl Parse<domain::NewConnectorAccount> for ConnectorInput {
    fn parse(self) -> Result<domain::NewConnectorAccount, Vec<FieldError>> {
        let mut errors = Violations::new();
        let platform = Platform::parse(self.platform.trim());
        if platform.is_none() {
            errors.push("platform", "invalid", "shopify, woocommerce, taobao or jd");
        }
        let name = errors.take(required_text("name", &self.name, 200));
        let base_url = base_url(&self.base_url, &mut errors);
        let sync = interval(self.sync_interval_seconds.or(Some(900)), &mut errors);
        let sku_map = mappings(self.sku_map.or(Some(Vec::new())), &mut errors);
        let mode = customer_mode(
            self.customer_mode.as_deref().unwrap_or("single"),
            &mut errors,
        );
        let carriers = carrier_map(self.carrier_map, &mut errors);
        errors.finish(|| {
            Some(domain::NewConnectorAccount {
                platform: platform?,
                name: name?,
                base_url: base_url?,
                credentials: self.credentials,
                sync_interval_seconds: sync?,
                sku_map: sku_map?,
                customer_mode: mode?,
                customer_id: self.customer_id,
                warehouse_preferences: self.warehouse_preferences,
                carrier_map: carriers?,
                enabled: self.enabled.unwrap_or(true),
            })
        })
    }
}

/// A change to an account; absent fields keep their value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPatchInput {
    pub name: Option<String>,
    /// A new address for the shop (credentials are checked against it).
    pub base_url: Option<String>,
    /// Replaces the credentials whole.
    #[schema(value_type = Option<Object>)]
    pub credentials: Option<serde_json::Map<String, serde_json::Value>>,
    pub sync_interval_seconds: Option<i32>,
    pub sku_map: Option<Vec<SkuMappingBody>>,
    /// `single` or `per_buyer`; orders already imported keep their customer.
    pub customer_mode: Option<String>,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Option<Vec<Uuid>>,
    /// Replaces the carrier map whole.
    pub carrier_map: Option<CarrierMap>,
    pub enabled: Option<bool>,
}

impl Parse<domain::ConnectorPatch> for ConnectorPatchInput {
    fn parse(self) -> Result<domain::ConnectorPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = match &self.name {
            Some(n) => errors.take(required_text("name", n, 200)).map(Some),
            None => Some(None),
        };
        let sync = interval(self.sync_interval_seconds, &mut errors);
        let sku_map = mappings(self.sku_map, &mut errors);
        let base = match &self.base_url {
            Some(url) => base_url(url, &mut errors).map(Some),
            None => Some(None),
        };
        let mode = match &self.customer_mode {
            Some(mode) => customer_mode(mode, &mut errors).map(Some),
            None => Some(None),
        };
        let carriers = match self.carrier_map {
            Some(map) => carrier_map(map, &mut errors).map(Some),
            None => Some(None),
        };
        errors.finish(|| {
            Some(domain::ConnectorPatch {
                name: name?,
                base_url: base?,
                credentials: self.credentials,
                sync_interval_seconds: sync,
                sku_map,
                customer_mode: mode?,
                customer_id: self.customer_id,
                warehouse_preferences: self.warehouse_preferences,
                carrier_map: carriers?,
                enabled: self.enabled,
            })
        })
    }
}

/// A marketplace account (credentials are never returned, only their names).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ConnectorBody {
    pub id: Uuid,
    pub platform: String,
    pub name: String,
    pub base_url: String,
    pub credential_names: Vec<String>,
    pub sync_interval_seconds: i32,
    pub sku_map: Vec<SkuMappingBody>,
    pub customer_mode: String,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Vec<Uuid>,
    /// Dingdan carrier code → the platform's code for it.
    pub carrier_map: CarrierMap,
    pub enabled: bool,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

impl From<domain::ConnectorAccount> for ConnectorBody {
    fn from(a: domain::ConnectorAccount) -> Self {
        Self {
            id: a.id,
            platform: a.platform.as_str().to_owned(),
            name: a.name,
            base_url: a.base_url,
            credential_names: a.credential_names,
            sync_interval_seconds: a.sync_interval_seconds,
            sku_map: a
                .sku_map
                .into_iter()
                .map(|m| SkuMappingBody {
                    platform_sku: m.platform_sku,
                    variant_id: m.variant_id,
                    sku: m.sku,
                })
                .collect(),
            customer_mode: a.customer_mode.as_str().to_owned(),
            customer_id: a.customer_id,
            warehouse_preferences: a.warehouse_preferences,
            carrier_map: a.carrier_map,
            enabled: a.enabled,
            last_synced_at: a.last_synced_at,
            version: a.version,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectorItems {
    pub items: Vec<ConnectorBody>,
}

/// What to sync.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncInput {
    /// Orders modified since this instant (a backfill); the stored cursor
    /// when absent.
    pub since: Option<DateTime<Utc>>,
}

/// One sync of an account and what it came to.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct SyncRunBody {
    pub id: Uuid,
    pub account_id: Uuid,
    /// `manual`, `schedule` or `cli`.
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fetched: i32,
    pub created: i32,
    pub updated: i32,
    /// Fetched again unchanged (or cancelled before ever imported).
    pub skipped: i32,
    pub failed: i32,
    pub error: Option<String>,
}

impl From<domain::SyncRun> for SyncRunBody {
    fn from(r: domain::SyncRun) -> Self {
        Self {
            id: r.id,
            account_id: r.account_id,
            trigger: r.trigger,
            status: r.status,
            started_at: r.started_at,
            finished_at: r.finished_at,
            fetched: r.fetched,
            created: r.created,
            updated: r.updated,
            skipped: r.skipped,
            failed: r.failed,
            error: r.error,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncRunItems {
    pub items: Vec<SyncRunBody>,
}
