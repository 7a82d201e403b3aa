//! Stock receipts, levels and the ledger.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::bounded;
use crate::domain::stock::{self, Receipt};
use crate::domain::validation::{FieldError, Parse, Violations, code};

/// At most a trillion units in one receipt; far beyond any real delivery, far
/// below overflow.
const MAX_RECEIPT_QUANTITY: i64 = 1_000_000_000_000;

/// Goods arriving in a warehouse.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ReceiptInput {
    pub warehouse_id: Uuid,
    #[schema(example = "TEA-001")]
    pub sku: String,
    /// Required for lot-tracked products.
    #[schema(example = "L2026-11-A")]
    pub lot: Option<String>,
    /// Positive, in the product's unit.
    #[schema(example = 120)]
    pub quantity: i64,
    /// Defaults to today (UTC).
    #[schema(example = "2026-11-20")]
    pub received_at: Option<NaiveDate>,
    /// Required for perishable products; later than `received_at`.
    #[schema(example = "2027-11-20")]
    pub expiry_date: Option<NaiveDate>,
}

impl Parse<Receipt> for ReceiptInput {
    fn parse(self) -> Result<Receipt, Vec<FieldError>> {
        let today = chrono::Utc::now().date_naive();
        let mut errors = Violations::new();
        let sku = errors.take(code("sku", &self.sku));
        let lot = match self.lot.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(lot) => errors.take(code("lot", lot)).map(Some),
        };
        let quantity = bounded(
            "quantity",
            self.quantity,
            1..=MAX_RECEIPT_QUANTITY,
            &mut errors,
        );
        errors.finish(|| {
            Some(Receipt {
                warehouse_id: self.warehouse_id,
                sku: sku?,
                lot: lot?,
                quantity: quantity?,
                received_at: self.received_at.unwrap_or(today),
                expiry_date: self.expiry_date,
            })
        })
    }
}

/// The balance of one lot of one SKU in one warehouse.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct StockLevel {
    pub id: Uuid,
    #[schema(example = "TEA-001")]
    pub sku: String,
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    /// `null` for stock that is not lot-tracked.
    #[schema(example = "L2026-11-A")]
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub received_at: NaiveDate,
    pub on_hand: i64,
    pub reserved: i64,
    /// `on_hand - reserved`.
    pub available: i64,
}

impl From<stock::StockLevel> for StockLevel {
    fn from(l: stock::StockLevel) -> Self {
        Self {
            available: l.available(),
            id: l.id,
            sku: l.sku,
            warehouse_id: l.warehouse_id,
            product_id: l.product_id,
            lot: l.lot,
            expiry_date: l.expiry_date,
            received_at: l.received_at,
            on_hand: l.on_hand,
            reserved: l.reserved,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    Receipt,
    Reservation,
    Release,
    Pick,
    TransferOut,
    TransferIn,
    Adjustment,
}

impl From<stock::MovementKind> for MovementKind {
    fn from(k: stock::MovementKind) -> Self {
        match k {
            stock::MovementKind::Receipt => Self::Receipt,
            stock::MovementKind::Reservation => Self::Reservation,
            stock::MovementKind::Release => Self::Release,
            stock::MovementKind::Pick => Self::Pick,
            stock::MovementKind::TransferOut => Self::TransferOut,
            stock::MovementKind::TransferIn => Self::TransferIn,
            stock::MovementKind::Adjustment => Self::Adjustment,
        }
    }
}

impl From<MovementKind> for stock::MovementKind {
    fn from(k: MovementKind) -> Self {
        match k {
            MovementKind::Receipt => Self::Receipt,
            MovementKind::Reservation => Self::Reservation,
            MovementKind::Release => Self::Release,
            MovementKind::Pick => Self::Pick,
            MovementKind::TransferOut => Self::TransferOut,
            MovementKind::TransferIn => Self::TransferIn,
            MovementKind::Adjustment => Self::Adjustment,
        }
    }
}

/// One entry of the append-only stock ledger.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct StockMovement {
    pub id: Uuid,
    pub stock_lot_id: Uuid,
    pub warehouse_id: Uuid,
    pub sku: String,
    pub lot: Option<String>,
    pub kind: MovementKind,
    /// Change to `on_hand`.
    pub on_hand_delta: i64,
    /// Change to `reserved`.
    pub reserved_delta: i64,
    /// What caused it, e.g. `order`.
    pub reference_type: Option<String>,
    pub reference_id: Option<Uuid>,
    pub note: Option<String>,
    /// The `sub` of who did it.
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

impl From<stock::Movement> for StockMovement {
    fn from(m: stock::Movement) -> Self {
        Self {
            id: m.id,
            stock_lot_id: m.stock_lot_id,
            warehouse_id: m.warehouse_id,
            sku: m.sku,
            lot: m.lot,
            kind: m.kind.into(),
            on_hand_delta: m.on_hand_delta,
            reserved_delta: m.reserved_delta,
            reference_type: m.reference_type,
            reference_id: m.reference_id,
            note: m.note,
            actor: m.actor,
            created_at: m.created_at,
        }
    }
}

/// A receipt as recorded: its ledger entry and the lot's balance after it.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct StockReceipt {
    /// The id of the receipt's ledger entry.
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub sku: String,
    pub lot: Option<String>,
    pub quantity: i64,
    pub received_at: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    /// The lot's balance after this receipt.
    pub level: StockLevel,
}

impl From<stock::ReceiptRecord> for StockReceipt {
    fn from(r: stock::ReceiptRecord) -> Self {
        Self {
            id: r.movement.id,
            warehouse_id: r.movement.warehouse_id,
            sku: r.movement.sku,
            lot: r.movement.lot,
            quantity: r.movement.on_hand_delta,
            received_at: r.received_at,
            expiry_date: r.expiry_date,
            created_at: r.movement.created_at,
            level: r.level.into(),
        }
    }
}

/// Stock summed over lots. `available = on_hand − reserved − expired`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Quantities {
    pub on_hand: i64,
    pub reserved: i64,
    /// Unreserved stock in lots at or past their expiry date (a lot is
    /// sellable until the day before it).
    pub expired: i64,
    pub available: i64,
}

impl From<stock::Quantities> for Quantities {
    fn from(q: stock::Quantities) -> Self {
        Self {
            on_hand: q.on_hand,
            reserved: q.reserved,
            expired: q.expired,
            available: q.available(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct WarehouseQuantities {
    pub warehouse_id: Uuid,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub quantities: Quantities,
}

/// A SKU's stock over every warehouse, and per warehouse.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct SkuTotals {
    pub sku: String,
    #[serde(flatten)]
    #[graphql(flatten)]
    pub total: Quantities,
    pub warehouses: Vec<WarehouseQuantities>,
}

impl From<stock::SkuTotals> for SkuTotals {
    fn from(t: stock::SkuTotals) -> Self {
        Self {
            sku: t.sku,
            total: t.total.into(),
            warehouses: t
                .warehouses
                .into_iter()
                .map(|(warehouse_id, q)| WarehouseQuantities {
                    warehouse_id,
                    quantities: q.into(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SkuTotalsList {
    pub items: Vec<SkuTotals>,
}

super::list_of!(StockLevelList, StockLevel);
super::list_of!(StockMovementList, StockMovement);
