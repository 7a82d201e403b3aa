//! Products.

use async_graphql::{InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::decimal::DecimalString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::bounded;
use crate::domain::catalog::{self, NewProduct, ProductPatch, TraitsPatch};
use crate::domain::money::{Currency, money, non_negative};
use crate::domain::validation::{
    FieldError, Parse, Violations, code, optional_text, required_text,
};

const MAX_LEAD_TIME_DAYS: i64 = 3650;

/// Handling traits of a product.
#[derive(Clone, Copy, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ProductTraits {
    pub fragile: bool,
    pub liquid: bool,
    pub hazardous: bool,
    /// Lots carry an expiry date and are allocated earliest-expiry first.
    pub perishable: bool,
    /// Stock is received and tracked per lot number.
    pub lot_tracked: bool,
    pub made_to_order: bool,
}

impl From<catalog::ProductTraits> for ProductTraits {
    fn from(t: catalog::ProductTraits) -> Self {
        Self {
            fragile: t.fragile,
            liquid: t.liquid,
            hazardous: t.hazardous,
            perishable: t.perishable,
            lot_tracked: t.lot_tracked,
            made_to_order: t.made_to_order,
        }
    }
}

/// Handling traits as sent; an absent trait is `false` on creation and
/// unchanged on update.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ProductTraitsInput {
    pub fragile: Option<bool>,
    pub liquid: Option<bool>,
    pub hazardous: Option<bool>,
    pub perishable: Option<bool>,
    pub lot_tracked: Option<bool>,
    pub made_to_order: Option<bool>,
}

impl From<ProductTraitsInput> for TraitsPatch {
    fn from(t: ProductTraitsInput) -> Self {
        Self {
            fragile: t.fragile,
            liquid: t.liquid,
            hazardous: t.hazardous,
            perishable: t.perishable,
            lot_tracked: t.lot_tracked,
            made_to_order: t.made_to_order,
        }
    }
}

/// A product as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Product {
    pub id: Uuid,
    #[schema(example = "TEA-001")]
    pub sku: String,
    #[schema(example = "Longjing tea 250 g")]
    pub name: String,
    #[schema(example = "tin, 250 g")]
    pub specification: Option<String>,
    #[schema(example = "tin")]
    pub unit: String,
    #[schema(example = "88.00")]
    pub list_price: DecimalString,
    #[schema(example = "CNY")]
    pub currency: String,
    #[schema(example = "0.32")]
    pub weight_kg: DecimalString,
    pub traits: ProductTraits,
    pub lead_time_days: u32,
    /// A fraction: `"0.13"` is 13 %. Prices exclude tax.
    #[schema(example = "0.13")]
    pub tax_rate: DecimalString,
    pub active: bool,
    /// For perishables: days of shelf life a lot must have left to be
    /// allocated; `null` for none.
    pub min_shelf_life_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<catalog::Product> for Product {
    fn from(p: catalog::Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            specification: p.specification,
            unit: p.unit,
            list_price: p.list_price.into(),
            currency: p.currency.code().to_owned(),
            weight_kg: p.weight_kg.into(),
            traits: p.traits.into(),
            lead_time_days: p.lead_time_days,
            tax_rate: p.tax_rate.into(),
            active: p.active,
            min_shelf_life_days: p.min_shelf_life_days,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A new product. Amounts are decimal strings.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    /// Unique; letters, digits and `-_./`, at most 64. Never changes.
    #[schema(example = "TEA-001")]
    pub sku: String,
    #[schema(example = "Longjing tea 250 g")]
    pub name: String,
    #[schema(example = "tin, 250 g")]
    pub specification: Option<String>,
    #[schema(example = "tin")]
    pub unit: String,
    #[schema(example = "88.00")]
    pub list_price: DecimalString,
    /// ISO 4217.
    #[schema(example = "CNY")]
    pub currency: String,
    #[serde(default)]
    #[schema(example = "0.32")]
    pub weight_kg: Option<DecimalString>,
    #[serde(default)]
    pub traits: Option<ProductTraitsInput>,
    /// Days to make or procure the product; 0 to 3650.
    #[serde(default)]
    pub lead_time_days: Option<i64>,
    /// A fraction from 0 to 1 (`"0.13"` is 13 %); defaults to `"0"`. Prices exclude tax.
    #[serde(default)]
    #[schema(example = "0.13")]
    pub tax_rate: Option<DecimalString>,
    /// Defaults to `true`.
    #[serde(default)]
    pub active: Option<bool>,
    /// For perishables: days of shelf life a lot must have left to be
    /// allocated, 0 to 3650. A customer's own minimum, when larger, wins.
    #[serde(default)]
    pub min_shelf_life_days: Option<i64>,
}

impl Parse<NewProduct> for ProductInput {
    fn parse(self) -> Result<NewProduct, Vec<FieldError>> {
        let mut errors = Violations::new();
        let sku = errors.take(code("sku", &self.sku));
        let name = errors.take(required_text("name", &self.name, 200));
        let specification = errors.take(optional_text(
            "specification",
            self.specification.as_deref(),
            500,
        ));
        let unit = errors.take(required_text("unit", &self.unit, 32));
        let list_price = errors.take(money("list_price", self.list_price.0));
        let currency = errors.take(Currency::parse_field("currency", &self.currency));
        let weight_kg = errors.take(non_negative(
            "weight_kg",
            self.weight_kg.unwrap_or_default().0,
        ));
        let lead_time_days = bounded(
            "lead_time_days",
            self.lead_time_days.unwrap_or(0),
            0..=MAX_LEAD_TIME_DAYS,
            &mut errors,
        );
        let rate = errors.take(tax_rate("tax_rate", self.tax_rate.unwrap_or_default().0));
        let shelf_life = self
            .min_shelf_life_days
            .map(|days| shelf_life_days("min_shelf_life_days", days, &mut errors));
        let mut traits = catalog::ProductTraits::default();
        TraitsPatch::from(self.traits.unwrap_or_default()).apply(&mut traits);
        errors.finish(|| {
            Some(NewProduct {
                sku: sku?,
                name: name?,
                specification: specification?,
                unit: unit?,
                list_price: list_price?,
                currency: currency?,
                weight_kg: weight_kg?,
                traits,
                lead_time_days: u32::try_from(lead_time_days?).ok()?,
                tax_rate: rate?,
                active: self.active.unwrap_or(true),
                min_shelf_life_days: match shelf_life {
                    Some(days) => Some(days?),
                    None => None,
                },
            })
        })
    }
}

/// Changes to a product; absent fields stay as they are, `null` clears an
/// optional field. The SKU cannot change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub specification: MaybeUndefined<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub unit: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(example = "92.00")]
    pub list_price: Option<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub weight_kg: Option<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub traits: Option<ProductTraitsInput>,
    #[serde(default, deserialize_with = "super::present")]
    pub lead_time_days: Option<i64>,
    #[serde(default, deserialize_with = "super::present")]
    pub tax_rate: Option<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub active: Option<bool>,
    /// `null` removes the minimum.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub min_shelf_life_days: MaybeUndefined<i64>,
}

impl Parse<ProductPatch> for ProductPatchInput {
    fn parse(self) -> Result<ProductPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = self
            .name
            .map(|name| errors.take(required_text("name", &name, 200)));
        let specification = match self.specification {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(text) => Some(
                errors
                    .take(optional_text("specification", Some(&text), 500))
                    .flatten(),
            ),
        };
        let unit = self
            .unit
            .map(|unit| errors.take(required_text("unit", &unit, 32)));
        let list_price = self
            .list_price
            .map(|price| errors.take(money("list_price", price.0)));
        let currency = self
            .currency
            .map(|c| errors.take(Currency::parse_field("currency", &c)));
        let weight_kg = self
            .weight_kg
            .map(|w| errors.take(non_negative("weight_kg", w.0)));
        let lead_time_days = self
            .lead_time_days
            .map(|days| bounded("lead_time_days", days, 0..=MAX_LEAD_TIME_DAYS, &mut errors));
        let rate = self
            .tax_rate
            .map(|r| errors.take(tax_rate("tax_rate", r.0)));
        let shelf_life = match self.min_shelf_life_days {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(days) => {
                Some(shelf_life_days("min_shelf_life_days", days, &mut errors))
            }
        };
        errors.finish(|| {
            Some(ProductPatch {
                name: name.map(|n| n.unwrap_or_default()),
                specification,
                unit: unit.map(|u| u.unwrap_or_default()),
                list_price: list_price.map(|p| p.unwrap_or_default()),
                currency: match currency {
                    Some(c) => Some(c?),
                    None => None,
                },
                weight_kg: weight_kg.map(|w| w.unwrap_or_default()),
                traits: self.traits.map(TraitsPatch::from).unwrap_or_default(),
                lead_time_days: match lead_time_days {
                    Some(days) => Some(u32::try_from(days?).ok()?),
                    None => None,
                },
                tax_rate: rate.flatten(),
                active: self.active,
                min_shelf_life_days: shelf_life,
            })
        })
    }
}

/// A minimum remaining shelf life: 0 to 3650 days.
pub(crate) fn shelf_life_days(path: &str, days: i64, errors: &mut Violations) -> Option<u32> {
    bounded(path, days, 0..=3650, errors).and_then(|d| u32::try_from(d).ok())
}

fn tax_rate(path: &str, rate: Decimal) -> Result<Decimal, FieldError> {
    if rate.is_sign_negative() || rate > Decimal::ONE {
        Err(crate::domain::validation::field_error(
            path,
            "out_of_range",
            "must be a fraction from 0 to 1, e.g. \"0.13\" for 13 %",
        ))
    } else {
        Ok(rate)
    }
}

super::list_of!(ProductList, Product);
