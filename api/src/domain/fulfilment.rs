//! Picking and packing: warehouses take reserved goods off the shelf and
//! pack them, after which the order is ready to ship.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// One order line's share of a pick-list group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickItem {
    pub allocation_id: Uuid,
    pub order_id: Uuid,
    pub order_number: Option<String>,
    pub line_no: u32,
    /// Still to pick.
    pub quantity: i64,
}

/// What to take from one lot, for every order that needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickGroup {
    pub sku: String,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
    pub items: Vec<PickItem>,
}

/// A warehouse's open picking work, grouped by SKU and lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickList {
    pub warehouse_id: Uuid,
    pub groups: Vec<PickGroup>,
}

/// A picker's confirmation for one reservation. With `short`, whatever of
/// the reservation this pick leaves is not on the shelf: it is written off
/// and the order line waits for other stock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickConfirmation {
    pub allocation_id: Uuid,
    pub quantity: i64,
    pub short: bool,
}

/// What a pick did to one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickedOrder {
    pub order_id: Uuid,
    pub picked: i64,
    /// Written off as not found.
    pub short: i64,
    pub status: super::order::OrderStatus,
}

/// How a package is packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackagingType {
    Box,
    Envelope,
    Bag,
    Tube,
    Crate,
    Pallet,
}

impl PackagingType {
    pub const ALL: [PackagingType; 6] = [
        PackagingType::Box,
        PackagingType::Envelope,
        PackagingType::Bag,
        PackagingType::Tube,
        PackagingType::Crate,
        PackagingType::Pallet,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PackagingType::Box => "box",
            PackagingType::Envelope => "envelope",
            PackagingType::Bag => "bag",
            PackagingType::Tube => "tube",
            PackagingType::Crate => "crate",
            PackagingType::Pallet => "pallet",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// So much of one order line in a package.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PackageItem {
    pub line_no: u32,
    #[serde(default)]
    pub sku: String,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPackage {
    pub warehouse_id: Uuid,
    pub packaging_type: PackagingType,
    pub weight_kg: Decimal,
    pub length_cm: Decimal,
    pub width_cm: Decimal,
    pub height_cm: Decimal,
    pub contents: Vec<PackageItem>,
    /// Protective measures taken; checked against what the goods need.
    pub measures: Vec<super::shipping::Measure>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    pub id: Uuid,
    pub order_id: Uuid,
    pub warehouse_id: Uuid,
    pub packaging_type: PackagingType,
    pub weight_kg: Decimal,
    pub length_cm: Decimal,
    pub width_cm: Decimal,
    pub height_cm: Decimal,
    pub contents: Vec<PackageItem>,
    pub measures: Vec<super::shipping::Measure>,
    /// The shipment that took it, once shipped.
    pub shipment_id: Option<Uuid>,
    pub packed_by: String,
    pub created_at: DateTime<Utc>,
}

/// The packages recorded, and where the order stands after them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packing {
    pub packages: Vec<Package>,
    pub order_status: super::order::OrderStatus,
    pub order_version: i32,
}
