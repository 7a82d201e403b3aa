//! Marketplace connector accounts: which platform, how to reach it, how its
//! SKUs and buyers map onto Dingdan's, and how often to sync.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use dingdan_integrations::marketplaces::Platform;

/// How a platform's SKU (or variant) maps to a Dingdan SKU. A line matches
/// the first mapping whose given fields all equal the line's; `variant_id`
/// is the platform's variant, or its product for products without variants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuMapping {
    #[serde(default)]
    pub platform_sku: Option<String>,
    #[serde(default)]
    pub variant_id: Option<String>,
    pub sku: String,
}

/// The Dingdan SKU for a platform line: a mapping when one matches, else
/// the platform's own SKU (identical codes need no mapping), else a
/// placeholder naming the variant — which intake reports as an unknown SKU
/// (the order waits in `pending_info`, never dropped).
pub fn map_sku(
    mappings: &[SkuMapping],
    platform: Platform,
    platform_sku: Option<&str>,
    variant_id: Option<&str>,
    product_id: Option<&str>,
) -> String {
    let variant_id = variant_id.or(product_id);
    let found = mappings.iter().find(|m| {
        (m.platform_sku.is_some() || m.variant_id.is_some())
            && m.platform_sku
                .as_deref()
                .is_none_or(|s| Some(s) == platform_sku)
            && m.variant_id
                .as_deref()
                .is_none_or(|v| Some(v) == variant_id)
    });
    match (found, platform_sku) {
        (Some(m), _) => m.sku.clone(),
        (None, Some(sku)) if !sku.trim().is_empty() => sku.trim().to_owned(),
        _ => format!(
            "{}:{}",
            platform.as_str(),
            variant_id.or(product_id).unwrap_or("unknown")
        ),
    }
}

/// Whose orders they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerMode {
    /// Every order of the account is one customer's (`customer_id`).
    Single,
    /// Each buyer is a customer of its own, created on their first order
    /// (found again by the platform's buyer id, else email, else phone);
    /// orders whose buyer the platform does not identify go to
    /// `customer_id` when set, else to one customer for all of the
    /// account's anonymous buyers.
    PerBuyer,
}

impl CustomerMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomerMode::Single => "single",
            CustomerMode::PerBuyer => "per_buyer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "single" => Some(CustomerMode::Single),
            "per_buyer" => Some(CustomerMode::PerBuyer),
            _ => None,
        }
    }
}

/// An account to register. `credentials` are the platform's (Shopify:
/// `access_token`, `api_version`, `webhook_secret`; WooCommerce:
/// `consumer_key`, `consumer_secret`, `webhook_secret`; Taobao and JD:
/// `app_key`, `app_secret`, `session`).
#[derive(Clone, Debug, PartialEq)]
pub struct NewConnectorAccount {
    pub platform: Platform,
    pub name: String,
    pub base_url: String,
    pub credentials: serde_json::Map<String, serde_json::Value>,
    pub sync_interval_seconds: i32,
    pub sku_map: Vec<SkuMapping>,
    pub customer_mode: CustomerMode,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Vec<Uuid>,
    /// Dingdan carrier code → the platform's name for the carrier (Shopify
    /// `company`, Taobao `company_code`, JD `logiCoprId`); unmapped carriers
    /// are reported by their Dingdan code.
    pub carrier_map: CarrierMap,
    pub enabled: bool,
}

/// Dingdan carrier code → the platform's code for it.
pub type CarrierMap = std::collections::BTreeMap<String, String>;

/// A change to an account; `None` keeps the value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnectorPatch {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub credentials: Option<serde_json::Map<String, serde_json::Value>>,
    pub sync_interval_seconds: Option<i32>,
    pub sku_map: Option<Vec<SkuMapping>>,
    pub customer_mode: Option<CustomerMode>,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Option<Vec<Uuid>>,
    pub carrier_map: Option<CarrierMap>,
    pub enabled: Option<bool>,
}

/// An account as shown (credentials never are; their names are).
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectorAccount {
    pub id: Uuid,
    pub platform: Platform,
    pub name: String,
    pub base_url: String,
    pub credential_names: Vec<String>,
    pub sync_interval_seconds: i32,
    pub sku_map: Vec<SkuMapping>,
    pub customer_mode: CustomerMode,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Vec<Uuid>,
    pub carrier_map: CarrierMap,
    pub enabled: bool,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// One sync and what it came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRun {
    pub id: Uuid,
    pub account_id: Uuid,
    pub trigger: String,
    /// `running`, `succeeded` or `failed`.
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fetched: i32,
    pub created: i32,
    pub updated: i32,
    pub skipped: i32,
    pub failed: i32,
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_map_by_mapping_then_identity_then_placeholder() {
        let maps = vec![
            SkuMapping {
                platform_sku: Some("IPOD2008GREEN".into()),
                variant_id: None,
                sku: "IPOD-G".into(),
            },
            SkuMapping {
                platform_sku: None,
                variant_id: Some("49148385".into()),
                sku: "IPOD-R".into(),
            },
        ];
        let s = Platform::Shopify;
        assert_eq!(
            map_sku(&maps, s, Some("IPOD2008GREEN"), None, None),
            "IPOD-G"
        );
        assert_eq!(
            map_sku(&maps, s, Some(""), Some("49148385"), None),
            "IPOD-R"
        );
        assert_eq!(map_sku(&maps, s, Some("TEA-1"), Some("1"), None), "TEA-1");
        assert_eq!(map_sku(&maps, s, None, Some("77"), Some("5")), "shopify:77");
        assert_eq!(
            map_sku(&maps, s, None, None, Some("49148385")),
            "IPOD-R",
            "a product without variants"
        );
        assert_eq!(
            map_sku(&[], Platform::Woocommerce, Some(" "), None, Some("93")),
            "woocommerce:93"
        );
    }
}
