//! An order's lifecycle: its states, the actions that move it, and the one
//! transition function that decides which moves are legal.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::address::Address;
use super::money::Currency;
use super::pricing::{AppliedPromotion, MissedPromotion, PriceSource};
use super::review::PaymentMethod;

/// Where an order came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    Web,
    Marketplace,
    Phone,
    Fax,
    Email,
    Erp,
    Api,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Marketplace,
        Channel::Phone,
        Channel::Fax,
        Channel::Email,
        Channel::Erp,
        Channel::Api,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Marketplace => "marketplace",
            Channel::Phone => "phone",
            Channel::Fax => "fax",
            Channel::Email => "email",
            Channel::Erp => "erp",
            Channel::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The states of an order, from intake to closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Received but incomplete: waiting for the customer to supply data.
    PendingInfo,
    /// Complete, numbered and promised; waiting for review.
    Confirmed,
    /// Being reviewed (sales, finance, inventory, final).
    InReview,
    Approved,
    Rejected,
    /// Approved, but no stock could be reserved yet.
    Backordered,
    /// Some lines reserved, the rest backordered.
    PartiallyAllocated,
    /// Every line reserved.
    Allocated,
    /// Waiting for production of some lines.
    InProduction,
    /// Picked and packed.
    ReadyToShip,
    PartiallyShipped,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 15] = [
        OrderStatus::PendingInfo,
        OrderStatus::Confirmed,
        OrderStatus::InReview,
        OrderStatus::Approved,
        OrderStatus::Rejected,
        OrderStatus::Backordered,
        OrderStatus::PartiallyAllocated,
        OrderStatus::Allocated,
        OrderStatus::InProduction,
        OrderStatus::ReadyToShip,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderStatus::PendingInfo => "pending_info",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::InReview => "in_review",
            OrderStatus::Approved => "approved",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Backordered => "backordered",
            OrderStatus::PartiallyAllocated => "partially_allocated",
            OrderStatus::Allocated => "allocated",
            OrderStatus::InProduction => "in_production",
            OrderStatus::ReadyToShip => "ready_to_ship",
            OrderStatus::PartiallyShipped => "partially_shipped",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// Whether the order has reached an end.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            OrderStatus::Completed | OrderStatus::Cancelled | OrderStatus::Rejected
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happens to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderAction {
    /// Its data is complete: number it and promise a date.
    Confirm,
    /// Data is missing, or the reviewer asks the customer for changes.
    RequestInfo,
    /// Change its data (lines, addresses, dates).
    Edit,
    StartReview,
    Approve,
    Reject,
    /// Nothing could be reserved: wait for stock.
    Backorder,
    /// Some lines reserved, the rest wait.
    AllocatePartially,
    /// Every line reserved.
    Allocate,
    /// Its reservations given back: approved again, to be allocated anew.
    Release,
    StartProduction,
    /// Production finished: the goods are reserved for it.
    FinishProduction,
    /// Picked and packed.
    Pack,
    ShipPartially,
    Ship,
    Deliver,
    Complete,
    Cancel,
}

impl OrderAction {
    pub const ALL: [OrderAction; 18] = [
        OrderAction::Confirm,
        OrderAction::RequestInfo,
        OrderAction::Edit,
        OrderAction::StartReview,
        OrderAction::Approve,
        OrderAction::Reject,
        OrderAction::Backorder,
        OrderAction::AllocatePartially,
        OrderAction::Allocate,
        OrderAction::Release,
        OrderAction::StartProduction,
        OrderAction::FinishProduction,
        OrderAction::Pack,
        OrderAction::ShipPartially,
        OrderAction::Ship,
        OrderAction::Deliver,
        OrderAction::Complete,
        OrderAction::Cancel,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            OrderAction::Confirm => "confirm",
            OrderAction::RequestInfo => "request_info",
            OrderAction::Edit => "edit",
            OrderAction::StartReview => "start_review",
            OrderAction::Approve => "approve",
            OrderAction::Reject => "reject",
            OrderAction::Backorder => "backorder",
            OrderAction::AllocatePartially => "allocate_partially",
            OrderAction::Allocate => "allocate",
            OrderAction::Release => "release",
            OrderAction::StartProduction => "start_production",
            OrderAction::FinishProduction => "finish_production",
            OrderAction::Pack => "pack",
            OrderAction::ShipPartially => "ship_partially",
            OrderAction::Ship => "ship",
            OrderAction::Deliver => "deliver",
            OrderAction::Complete => "complete",
            OrderAction::Cancel => "cancel",
        }
    }
}

impl fmt::Display for OrderAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action that is not legal in the order's current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot {action}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub action: OrderAction,
}

impl OrderStatus {
    /// The state `action` leads to from this one, or why it cannot happen.
    ///
    /// Every action lists the states it may start from; there is no catch-all,
    /// so a new state or action has to be placed here explicitly.
    pub fn apply(self, action: OrderAction) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        let next = match action {
            OrderAction::Confirm => matches!(self, PendingInfo).then_some(Confirmed),
            OrderAction::RequestInfo => {
                matches!(self, PendingInfo | Confirmed | InReview).then_some(PendingInfo)
            }
            // Editing keeps the state; the completeness check then decides
            // between confirm and request_info.
            OrderAction::Edit => matches!(self, PendingInfo | Confirmed | InReview).then_some(self),
            OrderAction::StartReview => matches!(self, Confirmed).then_some(InReview),
            OrderAction::Approve => matches!(self, InReview).then_some(Approved),
            OrderAction::Reject => matches!(self, InReview).then_some(Rejected),
            OrderAction::Backorder => {
                matches!(self, Approved | PartiallyAllocated | Allocated).then_some(Backordered)
            }
            OrderAction::AllocatePartially => matches!(
                self,
                Approved | Backordered | PartiallyAllocated | Allocated
            )
            .then_some(PartiallyAllocated),
            OrderAction::Allocate => matches!(
                self,
                Approved | Backordered | PartiallyAllocated | InProduction
            )
            .then_some(Allocated),
            OrderAction::Release => {
                matches!(self, Backordered | PartiallyAllocated | Allocated).then_some(Approved)
            }
            OrderAction::StartProduction => {
                matches!(self, Approved | Backordered | PartiallyAllocated).then_some(InProduction)
            }
            OrderAction::FinishProduction => matches!(self, InProduction).then_some(Allocated),
            // Ready only when everything is reserved and packed; what a
            // partially allocated order has ships partially (ShipPartially).
            OrderAction::Pack => matches!(self, Allocated).then_some(ReadyToShip),
            OrderAction::ShipPartially => {
                matches!(self, ReadyToShip | PartiallyAllocated | PartiallyShipped)
                    .then_some(PartiallyShipped)
            }
            OrderAction::Ship => matches!(self, ReadyToShip | PartiallyShipped).then_some(Shipped),
            OrderAction::Deliver => matches!(self, Shipped).then_some(Delivered),
            OrderAction::Complete => matches!(self, Delivered).then_some(Completed),
            OrderAction::Cancel => matches!(
                self,
                PendingInfo
                    | Confirmed
                    | InReview
                    | Approved
                    | Backordered
                    | PartiallyAllocated
                    | Allocated
                    | InProduction
                    | ReadyToShip
            )
            .then_some(Cancelled),
        };
        next.ok_or(IllegalTransition { from: self, action })
    }
}

/// Something an order lacks before it can be confirmed (or, later, something a
/// reviewer should look at): machine-readable, with the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub path: String,
    pub message: String,
}

impl Finding {
    pub fn new(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            path: path.into(),
            message: message.into(),
        }
    }
}

/// An address as received: any part may be missing until intake is complete.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressDraft {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub line1: Option<String>,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

impl From<Address> for AddressDraft {
    fn from(a: Address) -> Self {
        Self {
            name: Some(a.name),
            phone: a.phone,
            line1: Some(a.line1),
            line2: a.line2,
            city: Some(a.city),
            region: a.region,
            postal_code: a.postal_code,
            country: Some(a.country),
        }
    }
}

/// Who to call about the order, as received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDraft {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The invoice the customer needs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceRequirements {
    pub title: Option<String>,
    pub tax_id: Option<String>,
}

/// An order line as received.
#[derive(Clone, Debug, PartialEq)]
pub struct LineDraft {
    pub sku: String,
    pub quantity: i64,
    /// In the order's currency; derived from the price list when absent.
    pub unit_price: Option<Decimal>,
    /// The customer's custom specification (dimensions, engraving, ...).
    pub custom_spec: Option<serde_json::Value>,
}

/// An order's data, as received or as changed: what intake checks.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderDraft {
    pub customer_id: Uuid,
    pub currency: Currency,
    pub ship_to: AddressDraft,
    pub contact: ContactDraft,
    pub lines: Vec<LineDraft>,
    pub requested_delivery_date: Option<NaiveDate>,
    pub special_instructions: Option<String>,
    pub invoice: Option<InvoiceRequirements>,
    pub payment_method: Option<PaymentMethod>,
}

/// A new order as received: where it came from and its data. Absent parts
/// are filled from the customer (currency, delivery address, contact).
#[derive(Clone, Debug, PartialEq)]
pub struct NewOrder {
    pub channel: Channel,
    /// The account within the channel that `external_ref` belongs to (a
    /// connector account, a storefront, a partner's system).
    pub source_account: Option<String>,
    pub external_ref: Option<String>,
    /// Required for staff; a partner's own customer when absent.
    pub customer_id: Option<Uuid>,
    pub currency: Option<Currency>,
    pub ship_to: Option<AddressDraft>,
    pub contact: Option<ContactDraft>,
    pub lines: Vec<LineDraft>,
    pub requested_delivery_date: Option<NaiveDate>,
    pub special_instructions: Option<String>,
    pub invoice: Option<InvoiceRequirements>,
    pub payment_method: Option<PaymentMethod>,
}

/// A change to an order; `None` keeps the current value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OrderPatch {
    pub currency: Option<Currency>,
    pub ship_to: Option<AddressDraft>,
    pub contact: Option<ContactDraft>,
    /// Replaces every line.
    pub lines: Option<Vec<LineDraft>>,
    pub requested_delivery_date: Option<Option<NaiveDate>>,
    pub special_instructions: Option<Option<String>>,
    pub invoice: Option<Option<InvoiceRequirements>>,
    pub payment_method: Option<Option<PaymentMethod>>,
}

impl OrderPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub fn apply(&self, draft: &mut OrderDraft) {
        if let Some(currency) = self.currency {
            draft.currency = currency;
        }
        if let Some(ship_to) = &self.ship_to {
            draft.ship_to = ship_to.clone();
        }
        if let Some(contact) = &self.contact {
            draft.contact = contact.clone();
        }
        if let Some(lines) = &self.lines {
            draft.lines = lines.clone();
        }
        if let Some(date) = self.requested_delivery_date {
            draft.requested_delivery_date = date;
        }
        if let Some(text) = &self.special_instructions {
            draft.special_instructions = text.clone();
        }
        if let Some(invoice) = &self.invoice {
            draft.invoice = invoice.clone();
        }
        if let Some(method) = self.payment_method {
            draft.payment_method = method;
        }
    }
}

/// A priced order line as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderLine {
    pub id: Uuid,
    pub line_no: u32,
    pub sku: String,
    pub product_id: Option<Uuid>,
    pub quantity: i64,
    pub unit_price: Option<Decimal>,
    /// Whether the unit price was sent, or derived (and re-derived on change).
    pub price_source: PriceSource,
    /// `unit_price × quantity`, rounded to the currency's minor unit.
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax_rate: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
    pub custom_spec: Option<serde_json::Value>,
}

/// An order as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    pub id: Uuid,
    pub number: Option<String>,
    pub status: OrderStatus,
    pub channel: Channel,
    pub source_account: Option<String>,
    pub external_ref: Option<String>,
    pub customer_id: Uuid,
    pub currency: Currency,
    pub ship_to: AddressDraft,
    pub contact: ContactDraft,
    pub lines: Vec<OrderLine>,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
    pub requested_delivery_date: Option<NaiveDate>,
    pub promised_delivery_date: Option<NaiveDate>,
    pub special_instructions: Option<String>,
    pub invoice: Option<InvoiceRequirements>,
    pub findings: Vec<Finding>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub payment_method: Option<PaymentMethod>,
    pub promotions: Promotions,
    pub review_round: i32,
    pub approved_at: Option<DateTime<Utc>>,
    pub allocated_at: Option<DateTime<Utc>>,
}

/// The promotions an order got at intake, and the ones it just missed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotions {
    pub applied: Vec<AppliedPromotion>,
    pub missed: Vec<MissedPromotion>,
}

impl Order {
    /// The data intake checks, as it stands.
    pub fn draft(&self) -> OrderDraft {
        OrderDraft {
            customer_id: self.customer_id,
            currency: self.currency,
            ship_to: self.ship_to.clone(),
            contact: self.contact.clone(),
            lines: self
                .lines
                .iter()
                .map(|line| LineDraft {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    // A derived price is derived again: it follows the price
                    // lists and the currency, not a past lookup.
                    unit_price: (line.price_source == PriceSource::Given)
                        .then_some(line.unit_price)
                        .flatten(),
                    custom_spec: line.custom_spec.clone(),
                })
                .collect(),
            requested_delivery_date: self.requested_delivery_date,
            special_instructions: self.special_instructions.clone(),
            invoice: self.invoice.clone(),
            payment_method: self.payment_method,
        }
    }

    /// The `ETag` of this version.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub channel: Option<Channel>,
    pub customer_id: Option<Uuid>,
    pub external_ref: Option<String>,
    pub number: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub updated_after: Option<DateTime<Utc>>,
    pub updated_before: Option<DateTime<Utc>>,
}

/// One entry of an order's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub event_type: String,
    pub actor_sub: String,
    pub actor_roles: Vec<String>,
    pub channel: Option<String>,
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::OrderAction::*;
    use super::OrderStatus::*;
    use super::*;

    /// Every legal move, written out independently of `apply`.
    const LEGAL: &[(OrderStatus, OrderAction, OrderStatus)] = &[
        (PendingInfo, Confirm, Confirmed),
        (PendingInfo, RequestInfo, PendingInfo),
        (Confirmed, RequestInfo, PendingInfo),
        (InReview, RequestInfo, PendingInfo),
        (PendingInfo, Edit, PendingInfo),
        (Confirmed, Edit, Confirmed),
        (InReview, Edit, InReview),
        (Confirmed, StartReview, InReview),
        (InReview, Approve, Approved),
        (InReview, Reject, Rejected),
        (Approved, Backorder, Backordered),
        (PartiallyAllocated, Backorder, Backordered),
        (Allocated, Backorder, Backordered),
        (Approved, AllocatePartially, PartiallyAllocated),
        (Backordered, AllocatePartially, PartiallyAllocated),
        (PartiallyAllocated, AllocatePartially, PartiallyAllocated),
        (Allocated, AllocatePartially, PartiallyAllocated),
        (Backordered, Release, Approved),
        (PartiallyAllocated, Release, Approved),
        (Allocated, Release, Approved),
        (Approved, Allocate, Allocated),
        (Backordered, Allocate, Allocated),
        (PartiallyAllocated, Allocate, Allocated),
        (InProduction, Allocate, Allocated),
        (Approved, StartProduction, InProduction),
        (Backordered, StartProduction, InProduction),
        (PartiallyAllocated, StartProduction, InProduction),
        (InProduction, FinishProduction, Allocated),
        (Allocated, Pack, ReadyToShip),
        (ReadyToShip, ShipPartially, PartiallyShipped),
        (PartiallyAllocated, ShipPartially, PartiallyShipped),
        (PartiallyShipped, ShipPartially, PartiallyShipped),
        (ReadyToShip, Ship, Shipped),
        (PartiallyShipped, Ship, Shipped),
        (Shipped, Deliver, Delivered),
        (Delivered, Complete, Completed),
        (PendingInfo, Cancel, Cancelled),
        (Confirmed, Cancel, Cancelled),
        (InReview, Cancel, Cancelled),
        (Approved, Cancel, Cancelled),
        (Backordered, Cancel, Cancelled),
        (PartiallyAllocated, Cancel, Cancelled),
        (Allocated, Cancel, Cancelled),
        (InProduction, Cancel, Cancelled),
        (ReadyToShip, Cancel, Cancelled),
    ];

    #[test]
    fn the_whole_transition_table() {
        for from in OrderStatus::ALL {
            for action in OrderAction::ALL {
                let expected = LEGAL
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (from.apply(action), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected, "{from} --{action}-->"),
                    (Err(error), None) => {
                        assert_eq!(error, IllegalTransition { from, action });
                        let message = error.to_string();
                        assert!(
                            message.contains(from.as_str()) && message.contains(action.as_str()),
                            "{message}"
                        );
                    }
                    (got, expected) => {
                        panic!("{from} --{action}--> gave {got:?}, expected {expected:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn final_states_accept_nothing_but_completed_and_rejected_are_final() {
        for status in [Completed, Cancelled, Rejected] {
            assert!(status.is_final());
            for action in OrderAction::ALL {
                assert!(status.apply(action).is_err(), "{status} accepts {action}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
        }
    }
}
