//! Transfers: goods moved from one warehouse to another through the
//! in-transit location, so every unit is always somewhere in the ledger.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// Where a transfer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferStatus {
    /// The goods are reserved at the source, waiting to leave.
    Requested,
    /// The goods left the source; they are in the in-transit location.
    InTransit,
    /// The goods are stock of the destination.
    Received,
    /// Called off before leaving; the reservation is released.
    Cancelled,
}

impl TransferStatus {
    pub const ALL: [TransferStatus; 4] = [
        TransferStatus::Requested,
        TransferStatus::InTransit,
        TransferStatus::Received,
        TransferStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TransferStatus::Requested => "requested",
            TransferStatus::InTransit => "in_transit",
            TransferStatus::Received => "received",
            TransferStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

impl std::fmt::Display for TransferStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How goods travel between warehouses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferMode {
    Road,
    Rail,
    Air,
    Sea,
    Courier,
}

impl TransferMode {
    pub const ALL: [TransferMode; 5] = [
        TransferMode::Road,
        TransferMode::Rail,
        TransferMode::Air,
        TransferMode::Sea,
        TransferMode::Courier,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TransferMode::Road => "road",
            TransferMode::Rail => "rail",
            TransferMode::Air => "air",
            TransferMode::Sea => "sea",
            TransferMode::Courier => "courier",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == s)
    }
}

/// A line of a new transfer: a quantity of a SKU, from a given lot or from
/// the source's lots in allocation order (FEFO for perishables, else FIFO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransferLine {
    pub sku: String,
    pub quantity: i64,
    pub stock_lot_id: Option<Uuid>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTransfer {
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    pub mode: TransferMode,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The order waiting for the goods: allocated from them on arrival.
    pub order_id: Option<Uuid>,
    pub note: Option<String>,
    pub lines: Vec<NewTransferLine>,
}

/// One lot's quantity on a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferLine {
    pub line_no: u32,
    pub sku: String,
    pub source_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub id: Uuid,
    /// `TR-<year>-<6 digits>`.
    pub number: String,
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    pub status: TransferStatus,
    pub mode: TransferMode,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub order_id: Option<Uuid>,
    pub note: Option<String>,
    pub requested_by: String,
    pub version: i32,
    pub lines: Vec<TransferLine>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Details given when the goods leave.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dispatch {
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferFilter {
    pub status: Option<TransferStatus>,
    pub from_warehouse_id: Option<Uuid>,
    pub to_warehouse_id: Option<Uuid>,
    pub order_id: Option<Uuid>,
}
