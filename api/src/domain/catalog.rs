//! Products: what can be ordered.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::money::Currency;

/// Handling traits that drive lots, packaging and carrier choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

/// A change to some traits; `None` keeps the current value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraitsPatch {
    pub fragile: Option<bool>,
    pub liquid: Option<bool>,
    pub hazardous: Option<bool>,
    pub perishable: Option<bool>,
    pub lot_tracked: Option<bool>,
    pub made_to_order: Option<bool>,
}

impl TraitsPatch {
    pub fn apply(&self, traits: &mut ProductTraits) {
        let set = |target: &mut bool, value: Option<bool>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        set(&mut traits.fragile, self.fragile);
        set(&mut traits.liquid, self.liquid);
        set(&mut traits.hazardous, self.hazardous);
        set(&mut traits.perishable, self.perishable);
        set(&mut traits.lot_tracked, self.lot_tracked);
        set(&mut traits.made_to_order, self.made_to_order);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewProduct {
    pub sku: String,
    pub name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub list_price: Decimal,
    pub currency: Currency,
    pub weight_kg: Decimal,
    pub traits: ProductTraits,
    pub lead_time_days: u32,
    /// A fraction (0.13 is 13 %); prices exclude tax.
    pub tax_rate: Decimal,
    pub active: bool,
    /// Days of shelf life a lot must have left to be allocated (perishables).
    pub min_shelf_life_days: Option<u32>,
}

/// A partial update; `None` keeps the current value. The SKU never changes:
/// stock, orders and connector mappings refer to it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub specification: Option<Option<String>>,
    pub unit: Option<String>,
    pub list_price: Option<Decimal>,
    pub currency: Option<Currency>,
    pub weight_kg: Option<Decimal>,
    pub traits: TraitsPatch,
    pub lead_time_days: Option<u32>,
    pub tax_rate: Option<Decimal>,
    pub active: Option<bool>,
    pub min_shelf_life_days: Option<Option<u32>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    pub id: Uuid,
    pub sku: String,
    pub name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub list_price: Decimal,
    pub currency: Currency,
    pub weight_kg: Decimal,
    pub traits: ProductTraits,
    pub lead_time_days: u32,
    pub tax_rate: Decimal,
    pub active: bool,
    pub min_shelf_life_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductFilter {
    pub sku: Option<String>,
    /// Case-insensitive substring of the name or SKU.
    pub q: Option<String>,
    pub active: Option<bool>,
}
