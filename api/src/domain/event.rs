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
}

impl EventType {
    pub const ALL: [EventType; 5] = [
        EventType::OrderCreated,
        EventType::OrderUpdated,
        EventType::OrderInfoRequested,
        EventType::OrderConfirmed,
        EventType::OrderCancelled,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventType::OrderCreated => "order.created",
            EventType::OrderUpdated => "order.updated",
            EventType::OrderInfoRequested => "order.info_requested",
            EventType::OrderConfirmed => "order.confirmed",
            EventType::OrderCancelled => "order.cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether subscribers receive it (the rest stay on the timeline only).
    pub fn published(&self) -> bool {
        match self {
            EventType::OrderCreated => false,
            EventType::OrderUpdated
            | EventType::OrderInfoRequested
            | EventType::OrderConfirmed
            | EventType::OrderCancelled => true,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
