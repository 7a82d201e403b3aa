//! Price lists, pricing policies and promotions.

use async_graphql::{Enum, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decimal::DecimalString;
use crate::domain::money::Currency;
use crate::domain::pricing::{
    self, NewPriceList, NewPromotion, PriceListItem, PriceListPatch, PriceListScope, PromotionKind,
    PromotionPatch,
};
use crate::domain::validation::{FieldError, Parse, Violations, code, required_text};

/// Items per price list, at most.
const MAX_ITEMS: usize = 10_000;
/// Prices and amounts below 10^15 with at most 6 decimals: room for any real
/// price, and no overflow when multiplied by a quantity.
fn amount(path: &str, value: DecimalString, errors: &mut Violations) -> Option<Decimal> {
    errors.take(crate::domain::money::money(path, value.0))
}

fn percent(path: &str, value: DecimalString, errors: &mut Violations) -> Option<Decimal> {
    let value = value.0;
    if value.is_sign_negative() || value > Decimal::ONE_HUNDRED {
        errors.push(path, "out_of_range", "must be a percentage from 0 to 100");
        None
    } else {
        Some(value)
    }
}

fn valid_period(from: NaiveDate, to: Option<NaiveDate>, errors: &mut Violations) {
    if to.is_some_and(|to| to < from) {
        errors.push(
            "valid_to",
            "before_valid_from",
            "must not be before valid_from",
        );
    }
}

/// A unit price of one SKU.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "PriceListItemInput")]
#[serde(deny_unknown_fields)]
pub struct PriceListItemBody {
    #[schema(example = "TEA-001")]
    pub sku: String,
    #[schema(example = "80.00")]
    pub unit_price: DecimalString,
}

fn parse_items(items: Vec<PriceListItemBody>, errors: &mut Violations) -> Vec<PriceListItem> {
    if items.len() > MAX_ITEMS {
        errors.push("items", "too_many", format!("at most {MAX_ITEMS} items"));
    }
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| {
            let sku = errors.take(code(&format!("items[{i}].sku"), &item.sku));
            if let Some(sku) = &sku
                && !seen.insert(sku.clone())
            {
                errors.push(
                    format!("items[{i}].sku"),
                    "duplicate",
                    format!("{sku} is listed twice"),
                );
            }
            let unit_price = amount(&format!("items[{i}].unit_price"), item.unit_price, errors);
            Some(PriceListItem {
                sku: sku?,
                unit_price: unit_price?,
            })
        })
        .collect()
}

/// A new price list, for one price tier or one customer.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PriceListInput {
    #[schema(example = "Wholesale 2027")]
    pub name: String,
    #[schema(example = "CNY")]
    pub currency: String,
    /// Give exactly one of `price_tier` and `customer_id`.
    #[schema(example = "wholesale")]
    pub price_tier: Option<String>,
    pub customer_id: Option<Uuid>,
    #[schema(example = "2027-01-01")]
    pub valid_from: NaiveDate,
    /// Inclusive; open-ended when absent.
    pub valid_to: Option<NaiveDate>,
    /// Defaults to `true`.
    pub active: Option<bool>,
    #[serde(default)]
    #[graphql(default)]
    pub items: Vec<PriceListItemBody>,
}

impl Parse<NewPriceList> for PriceListInput {
    fn parse(self) -> Result<NewPriceList, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = errors.take(required_text("name", &self.name, 200));
        let currency = errors.take(Currency::parse_field("currency", &self.currency));
        let scope = match (self.price_tier.as_deref(), self.customer_id) {
            (Some(tier), None) => errors
                .take(code("price_tier", tier))
                .map(PriceListScope::Tier),
            (None, Some(customer)) => Some(PriceListScope::Customer(customer)),
            _ => {
                errors.push(
                    "price_tier",
                    "scope",
                    "give exactly one of price_tier and customer_id",
                );
                None
            }
        };
        valid_period(self.valid_from, self.valid_to, &mut errors);
        let items = parse_items(self.items, &mut errors);
        errors.finish(|| {
            Some(NewPriceList {
                name: name?,
                currency: currency?,
                scope: scope?,
                valid_from: self.valid_from,
                valid_to: self.valid_to,
                active: self.active.unwrap_or(true),
                items,
            })
        })
    }
}

/// Changes to a price list; `items` replaces every item. Its currency and
/// scope do not change (make a new list).
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PriceListPatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_to: MaybeUndefined<NaiveDate>,
    #[serde(default, deserialize_with = "super::present")]
    pub active: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    pub items: Option<Vec<PriceListItemBody>>,
}

impl Parse<PriceListPatch> for PriceListPatchInput {
    fn parse(self) -> Result<PriceListPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = self
            .name
            .as_deref()
            .map(|n| errors.take(required_text("name", n, 200)));
        let items = self.items.map(|items| parse_items(items, &mut errors));
        errors.finish(|| {
            Some(PriceListPatch {
                name: name.flatten(),
                valid_from: self.valid_from,
                valid_to: match self.valid_to {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(to) => Some(Some(to)),
                },
                active: self.active,
                items,
            })
        })
    }
}

/// A price list as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PriceList {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub price_tier: Option<String>,
    pub customer_id: Option<Uuid>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub active: bool,
    pub items: Vec<PriceListItemBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<pricing::PriceList> for PriceList {
    fn from(l: pricing::PriceList) -> Self {
        let (price_tier, customer_id) = match l.scope {
            PriceListScope::Tier(tier) => (Some(tier), None),
            PriceListScope::Customer(id) => (None, Some(id)),
        };
        Self {
            id: l.id,
            name: l.name,
            currency: l.currency.code().to_owned(),
            price_tier,
            customer_id,
            valid_from: l.valid_from,
            valid_to: l.valid_to,
            active: l.active,
            items: l
                .items
                .into_iter()
                .map(|i| PriceListItemBody {
                    sku: i.sku,
                    unit_price: i.unit_price.into(),
                })
                .collect(),
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// How far below the reference price a tier may be sold.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PricingPolicy {
    #[schema(example = "wholesale")]
    pub price_tier: String,
    /// In percent: `"10"` allows 10 % off.
    #[schema(example = "10")]
    pub max_discount_percent: DecimalString,
    pub updated_at: DateTime<Utc>,
}

impl From<pricing::PricingPolicy> for PricingPolicy {
    fn from(p: pricing::PricingPolicy) -> Self {
        Self {
            price_tier: p.price_tier,
            max_discount_percent: p.max_discount_percent.into(),
            updated_at: p.updated_at,
        }
    }
}

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PricingPolicyInput {
    #[schema(example = "10")]
    pub max_discount_percent: DecimalString,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum PromotionKindBody {
    /// `value` percent off.
    Percent,
    /// `value` off in `currency`, spread over the qualifying lines.
    Amount,
}

impl From<PromotionKindBody> for PromotionKind {
    fn from(k: PromotionKindBody) -> Self {
        match k {
            PromotionKindBody::Percent => Self::Percent,
            PromotionKindBody::Amount => Self::Amount,
        }
    }
}

impl From<PromotionKind> for PromotionKindBody {
    fn from(k: PromotionKind) -> Self {
        match k {
            PromotionKind::Percent => Self::Percent,
            PromotionKind::Amount => Self::Amount,
        }
    }
}

/// A new promotion.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PromotionInput {
    /// Unique; letters, digits and `-_./`.
    #[schema(example = "SPRING10")]
    pub code: String,
    #[schema(example = "Spring tea week")]
    pub name: String,
    pub kind: PromotionKindBody,
    /// Percent (0 to 100) or an amount in `currency`.
    #[schema(example = "10")]
    pub value: DecimalString,
    /// Required for an amount off or a minimum amount.
    #[schema(example = "CNY")]
    pub currency: Option<String>,
    /// The SKUs it applies to; every product when empty.
    #[serde(default)]
    #[graphql(default)]
    pub skus: Vec<String>,
    /// The price tiers it applies to; every tier when empty.
    #[serde(default)]
    #[graphql(default)]
    pub price_tiers: Vec<String>,
    /// Of the qualifying lines together.
    pub min_quantity: Option<i64>,
    /// Of the qualifying lines' subtotal, in `currency`.
    pub min_amount: Option<DecimalString>,
    pub valid_from: NaiveDate,
    /// Inclusive; open-ended when absent.
    pub valid_to: Option<NaiveDate>,
    /// Combines with other stackable promotions; defaults to `false`.
    pub stackable: Option<bool>,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

impl Parse<NewPromotion> for PromotionInput {
    fn parse(self) -> Result<NewPromotion, Vec<FieldError>> {
        let mut errors = Violations::new();
        let code_value = errors.take(code("code", &self.code));
        let name = errors.take(required_text("name", &self.name, 200));
        let kind: PromotionKind = self.kind.into();
        let value = match kind {
            PromotionKind::Percent => percent("value", self.value, &mut errors),
            PromotionKind::Amount => amount("value", self.value, &mut errors),
        };
        let currency = self
            .currency
            .as_deref()
            .map(|c| errors.take(Currency::parse_field("currency", c)));
        let min_amount = self
            .min_amount
            .map(|a| amount("min_amount", a, &mut errors));
        if (kind == PromotionKind::Amount || min_amount.is_some()) && currency.is_none() {
            errors.push(
                "currency",
                "required",
                "an amount off or a minimum amount needs a currency",
            );
        }
        if self.min_quantity.is_some_and(|q| q <= 0) {
            errors.push("min_quantity", "out_of_range", "must be positive");
        }
        let skus: Vec<Option<String>> = self
            .skus
            .iter()
            .enumerate()
            .map(|(i, sku)| errors.take(code(&format!("skus[{i}]"), sku)))
            .collect();
        let tiers: Vec<Option<String>> = self
            .price_tiers
            .iter()
            .enumerate()
            .map(|(i, tier)| errors.take(code(&format!("price_tiers[{i}]"), tier)))
            .collect();
        valid_period(self.valid_from, self.valid_to, &mut errors);
        errors.finish(|| {
            Some(NewPromotion {
                code: code_value?,
                name: name?,
                kind,
                value: value?,
                currency: currency.flatten(),
                skus: skus.into_iter().collect::<Option<_>>()?,
                price_tiers: tiers.into_iter().collect::<Option<_>>()?,
                min_quantity: self.min_quantity,
                min_amount: min_amount.flatten(),
                valid_from: self.valid_from,
                valid_to: self.valid_to,
                stackable: self.stackable.unwrap_or(false),
                active: self.active.unwrap_or(true),
            })
        })
    }
}

/// Changes to a promotion; its code, kind and currency do not change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PromotionPatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub value: Option<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub skus: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    pub price_tiers: Option<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub min_quantity: MaybeUndefined<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub min_amount: MaybeUndefined<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub valid_to: MaybeUndefined<NaiveDate>,
    #[serde(default, deserialize_with = "super::present")]
    pub stackable: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    pub active: Option<bool>,
}

impl Parse<PromotionPatch> for PromotionPatchInput {
    fn parse(self) -> Result<PromotionPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = self
            .name
            .as_deref()
            .map(|n| errors.take(required_text("name", n, 200)));
        let value = self.value.map(|v| amount("value", v, &mut errors));
        let codes = |field: &str, values: Option<Vec<String>>, errors: &mut Violations| {
            values.map(|values| {
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| errors.take(code(&format!("{field}[{i}]"), v)))
                    .collect::<Option<Vec<_>>>()
            })
        };
        let skus = codes("skus", self.skus, &mut errors);
        let tiers = codes("price_tiers", self.price_tiers, &mut errors);
        let min_amount = match self.min_amount {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(a) => Some(amount("min_amount", a, &mut errors)),
        };
        if matches!(self.min_quantity, MaybeUndefined::Value(q) if q <= 0) {
            errors.push("min_quantity", "out_of_range", "must be positive");
        }
        errors.finish(|| {
            Some(PromotionPatch {
                name: name.flatten(),
                value: value.flatten(),
                skus: skus.flatten(),
                price_tiers: tiers.flatten(),
                min_quantity: match self.min_quantity {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(q) => Some(Some(q)),
                },
                min_amount,
                valid_from: self.valid_from,
                valid_to: match self.valid_to {
                    MaybeUndefined::Undefined => None,
                    MaybeUndefined::Null => Some(None),
                    MaybeUndefined::Value(to) => Some(Some(to)),
                },
                stackable: self.stackable,
                active: self.active,
            })
        })
    }
}

/// A promotion as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Promotion {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: PromotionKindBody,
    pub value: DecimalString,
    pub currency: Option<String>,
    pub skus: Vec<String>,
    pub price_tiers: Vec<String>,
    pub min_quantity: Option<i64>,
    pub min_amount: Option<DecimalString>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub stackable: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<pricing::Promotion> for Promotion {
    fn from(p: pricing::Promotion) -> Self {
        Self {
            id: p.id,
            code: p.code,
            name: p.name,
            kind: p.kind.into(),
            value: p.value.into(),
            currency: p.currency.map(|c| c.code().to_owned()),
            skus: p.skus,
            price_tiers: p.price_tiers,
            min_quantity: p.min_quantity,
            min_amount: p.min_amount.map(Into::into),
            valid_from: p.valid_from,
            valid_to: p.valid_to,
            stackable: p.stackable,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PricingPolicyList {
    pub items: Vec<PricingPolicy>,
}

super::list_of!(PriceListList, PriceList);
super::list_of!(PromotionList, Promotion);
