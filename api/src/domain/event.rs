//! The events Dingdan records: each is an entry on its resource's timeline,
//! and the published ones also go to the outbox for subscribers.

use std::fmt;

/// The version of every published payload's schema. Raised only when a
/// payload changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    OrderCreated,
    OrderUpdated,
    OrderInfoRequested,
    OrderConfirmed,
    OrderCancelled,
    OrderReviewStarted,
    OrderReviewRequired,
    OrderReviewDecided,
    OrderReviewReopened,
    OrderApproved,
    OrderRejected,
    OrderAllocated,
    OrderBackordered,
    OrderAllocationReleased,
    OrderPicked,
    OrderReadyToShip,
    TransferRequested,
    TransferShipped,
    TransferReceived,
    TransferCancelled,
}

impl EventType {
    pub const ALL: [EventType; 20] = [
        EventType::OrderCreated,
        EventType::OrderUpdated,
        EventType::OrderInfoRequested,
        EventType::OrderConfirmed,
        EventType::OrderCancelled,
        EventType::OrderReviewStarted,
        EventType::OrderReviewRequired,
        EventType::OrderReviewDecided,
        EventType::OrderReviewReopened,
        EventType::OrderApproved,
        EventType::OrderRejected,
        EventType::OrderAllocated,
        EventType::OrderBackordered,
        EventType::OrderAllocationReleased,
        EventType::OrderPicked,
        EventType::OrderReadyToShip,
        EventType::TransferRequested,
        EventType::TransferShipped,
        EventType::TransferReceived,
        EventType::TransferCancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderUpdated => "order.updated",
            EventType::OrderInfoRequested => "order.info_requested",
            EventType::OrderConfirmed => "order.confirmed",
            EventType::OrderCancelled => "order.cancelled",
            EventType::OrderReviewStarted => "order.review_started",
            EventType::OrderReviewRequired => "order.review_required",
            EventType::OrderReviewDecided => "order.review_decided",
            EventType::OrderReviewReopened => "order.review_reopened",
            EventType::OrderApproved => "order.approved",
            EventType::OrderRejected => "order.rejected",
            EventType::OrderAllocated => "order.allocated",
            EventType::OrderBackordered => "order.backordered",
            EventType::OrderAllocationReleased => "order.allocation_released",
            EventType::OrderPicked => "order.picked",
            EventType::OrderReadyToShip => "order.ready_to_ship",
            EventType::TransferRequested => "transfer.requested",
            EventType::TransferShipped => "transfer.shipped",
            EventType::TransferReceived => "transfer.received",
            EventType::TransferCancelled => "transfer.cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether only staff may see it: the review's inner workings (findings,
    /// reviewers, comments) are not the customer's business.
    pub fn staff_only(&self) -> bool {
        match self {
            EventType::OrderReviewStarted
            | EventType::OrderReviewRequired
            | EventType::OrderReviewDecided
            | EventType::OrderReviewReopened
            // Stock movements between warehouses are internal logistics.
            | EventType::TransferRequested
            | EventType::TransferShipped
            | EventType::TransferReceived
            | EventType::TransferCancelled => true,
            EventType::OrderCreated
            | EventType::OrderUpdated
            | EventType::OrderInfoRequested
            | EventType::OrderConfirmed
            | EventType::OrderCancelled
            | EventType::OrderApproved
            | EventType::OrderRejected
            | EventType::OrderAllocated
            | EventType::OrderBackordered
            | EventType::OrderAllocationReleased
            | EventType::OrderPicked
            | EventType::OrderReadyToShip => false,
        }
    }

    /// Whether subscribers receive it (the rest stay on the timeline only).
    pub fn published(&self) -> bool {
        match self {
            EventType::OrderReviewStarted
            | EventType::OrderReviewDecided
            | EventType::OrderReviewReopened => false,
            EventType::OrderCreated
            | EventType::OrderUpdated
            | EventType::OrderInfoRequested
            | EventType::OrderConfirmed
            | EventType::OrderCancelled
            | EventType::OrderReviewRequired
            | EventType::OrderApproved
            | EventType::OrderRejected
            | EventType::OrderAllocated
            | EventType::OrderBackordered
            | EventType::OrderAllocationReleased
            | EventType::OrderPicked
            | EventType::OrderReadyToShip
            | EventType::TransferRequested
            | EventType::TransferShipped
            | EventType::TransferReceived
            | EventType::TransferCancelled => true,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
