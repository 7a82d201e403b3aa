//! Pick lists, pick confirmations and packages.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::bounded;
use super::decimal::DecimalString;
use super::orders::OrderStatus;
use crate::domain::fulfilment::{self as domain, NewPackage, PackageItem, PickConfirmation};
use crate::domain::money::non_negative;
use crate::domain::shipping::Measure;
use crate::domain::validation::{FieldError, Parse, Violations};

/// At most this many entries in one confirmation or packing.
const MAX_ENTRIES: usize = 500;

/// One order line's share of a pick-list group.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PickItem {
    /// The reservation to confirm the pick against.
    pub allocation_id: Uuid,
    pub order_id: Uuid,
    pub order_number: Option<String>,
    pub line_no: u32,
    /// Still to pick.
    pub quantity: i64,
}

/// What to take from one lot, for every order that needs it (oldest first).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PickGroup {
    pub sku: String,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
    pub items: Vec<PickItem>,
}

/// A warehouse's open picking work, by SKU and lot.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PickList {
    pub warehouse_id: Uuid,
    pub groups: Vec<PickGroup>,
}

impl From<domain::PickList> for PickList {
    fn from(p: domain::PickList) -> Self {
        Self {
            warehouse_id: p.warehouse_id,
            groups: p
                .groups
                .into_iter()
                .map(|g| PickGroup {
                    sku: g.sku,
                    stock_lot_id: g.stock_lot_id,
                    lot: g.lot,
                    expiry_date: g.expiry_date,
                    quantity: g.quantity,
                    items: g
                        .items
                        .into_iter()
                        .map(|i| PickItem {
                            allocation_id: i.allocation_id,
                            order_id: i.order_id,
                            order_number: i.order_number,
                            line_no: i.line_no,
                            quantity: i.quantity,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A picker's confirmation for one reservation.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PickInput {
    pub allocation_id: Uuid,
    /// Units taken off the shelf (0 up to what is left to pick).
    pub quantity: i64,
    /// The rest of the reservation is not on the shelf: write it off and let
    /// the line wait for other stock. Defaults to `false` (pick the rest later).
    #[serde(default)]
    #[graphql(default)]
    pub short: bool,
}

/// Picks confirmed together, all or nothing.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PicksInput {
    pub picks: Vec<PickInput>,
}

impl Parse<Vec<PickConfirmation>> for PicksInput {
    fn parse(self) -> Result<Vec<PickConfirmation>, Vec<FieldError>> {
        let mut errors = Violations::new();
        if self.picks.is_empty() || self.picks.len() > MAX_ENTRIES {
            errors.push("picks", "out_of_range", format!("1 to {MAX_ENTRIES} picks"));
        }
        let picks: Vec<Option<PickConfirmation>> = self
            .picks
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let quantity = bounded(
                    &format!("picks[{i}].quantity"),
                    p.quantity,
                    0..=1_000_000_000,
                    &mut errors,
                );
                Some(PickConfirmation {
                    allocation_id: p.allocation_id,
                    quantity: quantity?,
                    short: p.short,
                })
            })
            .collect();
        errors.finish(|| picks.into_iter().collect())
    }
}

/// What a pick did to one order.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PickedOrder {
    pub order_id: Uuid,
    pub picked: i64,
    /// Written off as not found; the line waits for other stock.
    pub short: i64,
    pub status: OrderStatus,
}

impl From<domain::PickedOrder> for PickedOrder {
    fn from(p: domain::PickedOrder) -> Self {
        Self {
            order_id: p.order_id,
            picked: p.picked,
            short: p.short,
            status: p.status.into(),
        }
    }
}

/// The orders a confirmation touched.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PickOutcome {
    pub orders: Vec<PickedOrder>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum PackagingType {
    Box,
    Envelope,
    Bag,
    Tube,
    Crate,
    Pallet,
}

impl From<domain::PackagingType> for PackagingType {
    fn from(t: domain::PackagingType) -> Self {
        match t {
            domain::PackagingType::Box => Self::Box,
            domain::PackagingType::Envelope => Self::Envelope,
            domain::PackagingType::Bag => Self::Bag,
            domain::PackagingType::Tube => Self::Tube,
            domain::PackagingType::Crate => Self::Crate,
            domain::PackagingType::Pallet => Self::Pallet,
        }
    }
}

impl From<PackagingType> for domain::PackagingType {
    fn from(t: PackagingType) -> Self {
        match t {
            PackagingType::Box => Self::Box,
            PackagingType::Envelope => Self::Envelope,
            PackagingType::Bag => Self::Bag,
            PackagingType::Tube => Self::Tube,
            PackagingType::Crate => Self::Crate,
            PackagingType::Pallet => Self::Pallet,
        }
    }
}

/// So much of one order line in a package.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, InputObject, SimpleObject)]
#[graphql(input_name = "PackageItemInput")]
#[serde(deny_unknown_fields)]
pub struct PackageItemBody {
    pub line_no: u32,
    /// Filled in from the order line (ignored when sent).
    #[serde(default)]
    #[graphql(default)]
    pub sku: String,
    pub quantity: i64,
}

/// A packed parcel. Its contents must be picked (in its warehouse) and not
/// yet packed.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PackageInput {
    pub warehouse_id: Uuid,
    pub packaging_type: PackagingType,
    #[schema(example = "1.25")]
    pub weight_kg: DecimalString,
    #[schema(example = "30")]
    pub length_cm: DecimalString,
    #[schema(example = "20")]
    pub width_cm: DecimalString,
    #[schema(example = "15")]
    pub height_cm: DecimalString,
    pub contents: Vec<PackageItemBody>,
    /// Protective measures taken. Required by the goods' traits: fragile →
    /// `shock_proof`, liquid → `sealed`, hazardous → `hazard_marked`.
    #[serde(default)]
    #[graphql(default)]
    pub measures: Vec<PackingMeasure>,
}

/// A protective packing measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum PackingMeasure {
    /// Shock-proof packing, for fragile goods.
    ShockProof,
    /// Sealed packing, for liquids.
    Sealed,
    /// Hazard marking, for hazardous goods.
    HazardMarked,
}

impl From<PackingMeasure> for Measure {
    fn from(m: PackingMeasure) -> Self {
        match m {
            PackingMeasure::ShockProof => Measure::ShockProof,
            PackingMeasure::Sealed => Measure::Sealed,
            PackingMeasure::HazardMarked => Measure::HazardMarked,
        }
    }
}

impl From<Measure> for PackingMeasure {
    fn from(m: Measure) -> Self {
        match m {
            Measure::ShockProof => PackingMeasure::ShockProof,
            Measure::Sealed => PackingMeasure::Sealed,
            Measure::HazardMarked => PackingMeasure::HazardMarked,
        }
    }
}

/// Packages of an order, recorded together.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct PackagesInput {
    pub packages: Vec<PackageInput>,
}

impl Parse<Vec<NewPackage>> for PackagesInput {
    fn parse(self) -> Result<Vec<NewPackage>, Vec<FieldError>> {
        let mut errors = Violations::new();
        if self.packages.is_empty() || self.packages.len() > MAX_ENTRIES {
            errors.push(
                "packages",
                "out_of_range",
                format!("1 to {MAX_ENTRIES} packages"),
            );
        }
        let measure = |path: String, value: DecimalString, errors: &mut Violations| {
            let value = errors.take(non_negative(&path, value.0))?;
            if value.is_zero() || value > rust_decimal::Decimal::from(100_000) {
                errors.push(path, "out_of_range", "must be above 0 and at most 100000");
                return None;
            }
            Some(value)
        };
        let packages: Vec<Option<NewPackage>> = self
            .packages
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let weight = measure(format!("packages[{i}].weight_kg"), p.weight_kg, &mut errors);
                let length = measure(format!("packages[{i}].length_cm"), p.length_cm, &mut errors);
                let width = measure(format!("packages[{i}].width_cm"), p.width_cm, &mut errors);
                let height = measure(format!("packages[{i}].height_cm"), p.height_cm, &mut errors);
                if p.contents.is_empty() {
                    errors.push(
                        format!("packages[{i}].contents"),
                        "required",
                        "a package holds at least one line",
                    );
                }
                let contents: Vec<Option<PackageItem>> = p
                    .contents
                    .iter()
                    .enumerate()
                    .map(|(j, item)| {
                        let quantity = bounded(
                            &format!("packages[{i}].contents[{j}].quantity"),
                            item.quantity,
                            1..=1_000_000_000,
                            &mut errors,
                        );
                        Some(PackageItem {
                            line_no: item.line_no,
                            sku: String::new(),
                            quantity: quantity?,
                        })
                    })
                    .collect();
                Some(NewPackage {
                    warehouse_id: p.warehouse_id,
                    packaging_type: p.packaging_type.into(),
                    weight_kg: weight?,
                    length_cm: length?,
                    width_cm: width?,
                    height_cm: height?,
                    contents: contents.into_iter().collect::<Option<_>>()?,
                    measures: p.measures.iter().map(|m| (*m).into()).collect(),
                })
            })
            .collect();
        errors.finish(|| packages.into_iter().collect())
    }
}

/// A packed parcel of an order.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Package {
    pub id: Uuid,
    pub order_id: Uuid,
    pub warehouse_id: Uuid,
    pub packaging_type: PackagingType,
    pub weight_kg: DecimalString,
    pub length_cm: DecimalString,
    pub width_cm: DecimalString,
    pub height_cm: DecimalString,
    pub contents: Vec<PackageItemBody>,
    pub measures: Vec<PackingMeasure>,
    /// The shipment that took it, once shipped.
    pub shipment_id: Option<Uuid>,
    pub packed_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<domain::Package> for Package {
    fn from(p: domain::Package) -> Self {
        Self {
            id: p.id,
            order_id: p.order_id,
            warehouse_id: p.warehouse_id,
            packaging_type: p.packaging_type.into(),
            weight_kg: p.weight_kg.into(),
            length_cm: p.length_cm.into(),
            width_cm: p.width_cm.into(),
            height_cm: p.height_cm.into(),
            contents: p
                .contents
                .into_iter()
                .map(|c| PackageItemBody {
                    line_no: c.line_no,
                    sku: c.sku,
                    quantity: c.quantity,
                })
                .collect(),
            measures: p.measures.into_iter().map(Into::into).collect(),
            shipment_id: p.shipment_id,
            packed_by: p.packed_by,
            created_at: p.created_at,
        }
    }
}

/// The packages recorded, and where the order stands after them.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Packing {
    pub packages: Vec<Package>,
    /// `ready_to_ship` once every reserved unit is packed.
    pub order_status: OrderStatus,
    pub order_version: i32,
}

impl From<domain::Packing> for Packing {
    fn from(p: domain::Packing) -> Self {
        Self {
            packages: p.packages.into_iter().map(Into::into).collect(),
            order_status: p.order_status.into(),
            order_version: p.order_version,
        }
    }
}

/// An order's packages.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PackageItems {
    pub items: Vec<Package>,
}
