//! Stock: balances per warehouse, SKU and lot, and the ledger that moves them.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// What a ledger entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MovementKind {
    Receipt,
    Reservation,
    Release,
    Pick,
    TransferOut,
    TransferIn,
    Adjustment,
}

impl MovementKind {
    pub const ALL: [MovementKind; 7] = [
        MovementKind::Receipt,
        MovementKind::Reservation,
        MovementKind::Release,
        MovementKind::Pick,
        MovementKind::TransferOut,
        MovementKind::TransferIn,
        MovementKind::Adjustment,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            MovementKind::Receipt => "receipt",
            MovementKind::Reservation => "reservation",
            MovementKind::Release => "release",
            MovementKind::Pick => "pick",
            MovementKind::TransferOut => "transfer_out",
            MovementKind::TransferIn => "transfer_in",
            MovementKind::Adjustment => "adjustment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

impl fmt::Display for MovementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Goods arriving in a warehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub warehouse_id: Uuid,
    pub sku: String,
    /// Required for lot-tracked products; `None` otherwise.
    pub lot: Option<String>,
    /// Strictly positive.
    pub quantity: i64,
    pub received_at: NaiveDate,
    /// Required for perishable products.
    pub expiry_date: Option<NaiveDate>,
}

/// The balance of one lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockLevel {
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub lot: Option<String>,
    pub received_at: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    pub on_hand: i64,
    pub reserved: i64,
}

impl StockLevel {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }
}

/// One entry of the append-only stock ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub id: Uuid,
    pub stock_lot_id: Uuid,
    pub warehouse_id: Uuid,
    pub sku: String,
    pub lot: Option<String>,
    pub kind: MovementKind,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reference_type: Option<String>,
    pub reference_id: Option<Uuid>,
    pub note: Option<String>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A receipt as recorded, with the lot's balance after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRecord {
    pub movement: Movement,
    pub level: StockLevel,
    pub received_at: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
}

/// Quantities summed over lots. `available = on_hand − reserved − expired`,
/// where `expired` is what is unreserved in lots past their expiry date.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quantities {
    pub on_hand: i64,
    pub reserved: i64,
    pub expired: i64,
}

impl Quantities {
    pub fn available(&self) -> i64 {
        self.on_hand - self.reserved - self.expired
    }

    /// Adds one lot, as of `today`.
    pub fn add(&mut self, level: &StockLevel, today: NaiveDate) {
        self.on_hand += level.on_hand;
        self.reserved += level.reserved;
        // A lot is sellable until the day before its expiry date.
        if level.expiry_date.is_some_and(|expiry| expiry <= today) {
            self.expired += level.available();
        }
    }
}

/// A SKU's stock over all (or one) warehouses, and per warehouse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkuTotals {
    pub sku: String,
    pub total: Quantities,
    pub warehouses: Vec<(Uuid, Quantities)>,
}

impl SkuTotals {
    /// Sums lots (of any SKUs) per SKU, SKUs in the order asked for.
    pub fn sum(skus: &[String], levels: &[StockLevel], today: NaiveDate) -> Vec<SkuTotals> {
        skus.iter()
            .map(|sku| {
                let mut totals = SkuTotals {
                    sku: sku.clone(),
                    total: Quantities::default(),
                    warehouses: Vec::new(),
                };
                for level in levels.iter().filter(|l| &l.sku == sku) {
                    totals.total.add(level, today);
                    match totals
                        .warehouses
                        .iter_mut()
                        .find(|(id, _)| *id == level.warehouse_id)
                    {
                        Some((_, quantities)) => quantities.add(level, today),
                        None => {
                            let mut quantities = Quantities::default();
                            quantities.add(level, today);
                            totals.warehouses.push((level.warehouse_id, quantities));
                        }
                    }
                }
                totals
            })
            .collect()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StockFilter {
    pub sku: Option<String>,
    pub warehouse_id: Option<Uuid>,
    pub lot: Option<String>,
    /// Only lots with something available.
    pub available_only: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MovementFilter {
    pub sku: Option<String>,
    pub warehouse_id: Option<Uuid>,
    pub lot: Option<String>,
    pub kind: Option<MovementKind>,
    pub reference_id: Option<Uuid>,
}
