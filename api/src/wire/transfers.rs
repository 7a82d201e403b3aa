//! Transfers between warehouses.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::bounded;
use crate::domain::transfer::{self as domain, Dispatch, NewTransfer, NewTransferLine};
use crate::domain::validation::{FieldError, Parse, Violations, code, optional_text};

/// At most this many lines on one transfer.
const MAX_LINES: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    /// Reserved at the source, waiting to leave.
    Requested,
    /// On its way: the goods are stock of `IN-TRANSIT`.
    InTransit,
    /// Stock of the destination.
    Received,
    /// Called off before leaving.
    Cancelled,
}

impl From<domain::TransferStatus> for TransferStatus {
    fn from(s: domain::TransferStatus) -> Self {
        match s {
            domain::TransferStatus::Requested => Self::Requested,
            domain::TransferStatus::InTransit => Self::InTransit,
            domain::TransferStatus::Received => Self::Received,
            domain::TransferStatus::Cancelled => Self::Cancelled,
        }
    }
}

impl From<TransferStatus> for domain::TransferStatus {
    fn from(s: TransferStatus) -> Self {
        match s {
            TransferStatus::Requested => Self::Requested,
            TransferStatus::InTransit => Self::InTransit,
            TransferStatus::Received => Self::Received,
            TransferStatus::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum TransferMode {
    Road,
    Rail,
    Air,
    Sea,
    Courier,
}

impl From<domain::TransferMode> for TransferMode {
    fn from(m: domain::TransferMode) -> Self {
        match m {
            domain::TransferMode::Road => Self::Road,
            domain::TransferMode::Rail => Self::Rail,
            domain::TransferMode::Air => Self::Air,
            domain::TransferMode::Sea => Self::Sea,
            domain::TransferMode::Courier => Self::Courier,
        }
    }
}

impl From<TransferMode> for domain::TransferMode {
    fn from(m: TransferMode) -> Self {
        match m {
            TransferMode::Road => Self::Road,
            TransferMode::Rail => Self::Rail,
            TransferMode::Air => Self::Air,
            TransferMode::Sea => Self::Sea,
            TransferMode::Courier => Self::Courier,
        }
    }
}

/// One SKU of a new transfer.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[graphql(name = "TransferLineInput")]
#[serde(deny_unknown_fields)]
pub struct TransferLineInput {
    #[schema(example = "TEA-001")]
    pub sku: String,
    #[schema(example = 20)]
    pub quantity: i64,
    /// A lot of the source warehouse; without it the source's lots are taken
    /// in allocation order (FEFO for perishables, FIFO otherwise).
    pub stock_lot_id: Option<Uuid>,
}

/// A transfer to request.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    /// Defaults to `road`.
    pub mode: Option<TransferMode>,
    #[schema(example = "SF Express")]
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The order waiting for the goods: it is allocated when they arrive.
    pub order_id: Option<Uuid>,
    pub note: Option<String>,
    pub lines: Vec<TransferLineInput>,
}

impl Parse<NewTransfer> for TransferInput {
    fn parse(self) -> Result<NewTransfer, Vec<FieldError>> {
        let mut errors = Violations::new();
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            errors.push("lines", "out_of_range", format!("1 to {MAX_LINES} lines"));
        }
        let lines: Vec<Option<NewTransferLine>> = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let sku = errors.take(code(&format!("lines[{i}].sku"), &line.sku));
                let quantity = bounded(
                    &format!("lines[{i}].quantity"),
                    line.quantity,
                    1..=1_000_000_000,
                    &mut errors,
                );
                Some(NewTransferLine {
                    sku: sku?,
                    quantity: quantity?,
                    stock_lot_id: line.stock_lot_id,
                })
            })
            .collect();
        let carrier = errors.take(optional_text("carrier", self.carrier.as_deref(), 100));
        let tracking = errors.take(optional_text(
            "tracking_number",
            self.tracking_number.as_deref(),
            100,
        ));
        let note = errors.take(optional_text("note", self.note.as_deref(), 1000));
        errors.finish(|| {
            Some(NewTransfer {
                from_warehouse_id: self.from_warehouse_id,
                to_warehouse_id: self.to_warehouse_id,
                mode: self.mode.unwrap_or(TransferMode::Road).into(),
                carrier: carrier?,
                tracking_number: tracking?,
                order_id: self.order_id,
                note: note?,
                lines: lines.into_iter().collect::<Option<_>>()?,
            })
        })
    }
}

/// Details given when the goods leave.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    #[schema(example = "SF Express")]
    pub carrier: Option<String>,
    #[schema(example = "SF1234567890")]
    pub tracking_number: Option<String>,
}

impl Parse<Dispatch> for DispatchInput {
    fn parse(self) -> Result<Dispatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let carrier = errors.take(optional_text("carrier", self.carrier.as_deref(), 100));
        let tracking = errors.take(optional_text(
            "tracking_number",
            self.tracking_number.as_deref(),
            100,
        ));
        errors.finish(|| {
            Some(Dispatch {
                carrier: carrier?,
                tracking_number: tracking?,
            })
        })
    }
}

/// One lot's quantity on a transfer.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct TransferLine {
    pub line_no: u32,
    pub sku: String,
    /// The source warehouse's lot.
    pub source_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
}

/// A transfer, with where it is.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Transfer {
    pub id: Uuid,
    #[schema(example = "TR-2026-000001")]
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

impl From<domain::Transfer> for Transfer {
    fn from(t: domain::Transfer) -> Self {
        Self {
            id: t.id,
            number: t.number,
            from_warehouse_id: t.from_warehouse_id,
            to_warehouse_id: t.to_warehouse_id,
            status: t.status.into(),
            mode: t.mode.into(),
            carrier: t.carrier,
            tracking_number: t.tracking_number,
            order_id: t.order_id,
            note: t.note,
            requested_by: t.requested_by,
            version: t.version,
            lines: t
                .lines
                .into_iter()
                .map(|l| TransferLine {
                    line_no: l.line_no,
                    sku: l.sku,
                    source_lot_id: l.source_lot_id,
                    lot: l.lot,
                    expiry_date: l.expiry_date,
                    quantity: l.quantity,
                })
                .collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
            shipped_at: t.shipped_at,
            received_at: t.received_at,
            cancelled_at: t.cancelled_at,
        }
    }
}

super::list_of!(TransferList, Transfer);
