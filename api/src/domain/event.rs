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
    ShipmentCreated,
    OrderShipped,
    ShipmentTrackingUpdated,
    ShipmentOutForDelivery,
    ShipmentDelivered,
    ShipmentException,
    ShipmentReturned,
    OrderDelivered,
    MarketplaceFulfilmentReported,
    MarketplaceFulfilmentFailed,
    MarketplaceAttentionRequired,
}

impl EventType {
    pub const ALL: [EventType; 31] = [
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
        EventType::ShipmentCreated,
        EventType::OrderShipped,
        EventType::ShipmentTrackingUpdated,
        EventType::ShipmentOutForDelivery,
        EventType::ShipmentDelivered,
        EventType::ShipmentException,
        EventType::ShipmentReturned,
        EventType::OrderDelivered,
        EventType::MarketplaceFulfilmentReported,
        EventType::MarketplaceFulfilmentFailed,
        EventType::MarketplaceAttentionRequired,
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
            EventType::ShipmentCreated => "shipment.created",
            EventType::OrderShipped => "order.shipped",
            EventType::ShipmentTrackingUpdated => "shipment.tracking_updated",
            EventType::ShipmentOutForDelivery => "shipment.out_for_delivery",
            EventType::ShipmentDelivered => "shipment.delivered",
            EventType::ShipmentException => "shipment.exception",
            EventType::ShipmentReturned => "shipment.returned",
            EventType::OrderDelivered => "order.delivered",
            EventType::MarketplaceFulfilmentReported => "marketplace.fulfilment_reported",
            EventType::MarketplaceFulfilmentFailed => "marketplace.fulfilment_failed",
            EventType::MarketplaceAttentionRequired => "marketplace.attention_required",
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
            | EventType::TransferCancelled
            // Reports to marketplaces are integration plumbing.
            | EventType::MarketplaceFulfilmentReported
            | EventType::MarketplaceFulfilmentFailed
            | EventType::MarketplaceAttentionRequired => true,
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
            | EventType::OrderReadyToShip
            | EventType::ShipmentCreated
            | EventType::OrderShipped
            | EventType::ShipmentTrackingUpdated
            | EventType::ShipmentOutForDelivery
            | EventType::ShipmentDelivered
            | EventType::ShipmentException
            | EventType::ShipmentReturned
            | EventType::OrderDelivered => false,
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
            | EventType::TransferCancelled
            | EventType::ShipmentCreated
            | EventType::OrderShipped
            | EventType::ShipmentTrackingUpdated
            | EventType::ShipmentOutForDelivery
            | EventType::ShipmentDelivered
            | EventType::ShipmentException
            | EventType::ShipmentReturned
            | EventType::OrderDelivered
            | EventType::MarketplaceFulfilmentReported
            | EventType::MarketplaceFulfilmentFailed
            | EventType::MarketplaceAttentionRequired => true,
        }
    }
}

/// A `data` property: name, JSON type (`string`, `integer`, `boolean`,
/// `array`, `object`, `string|null` …) and what it holds.
type Field = (&'static str, &'static str, &'static str);

const ORDER_NUMBER: Field = ("number", "string|null", "the order number, once confirmed");
const STATUS: Field = ("status", "string", "the order's status after the change");
const CONTACT: Field = (
    "contact",
    "object|null",
    "whom to contact: name, phone, email",
);

impl EventType {
    /// What the event means, for the catalog.
    pub fn description(&self) -> &'static str {
        match self {
            EventType::OrderCreated => "An order was received on a channel (complete or not).",
            EventType::OrderUpdated => {
                "An order was changed before review finished: lines, addresses, dates."
            }
            EventType::OrderInfoRequested => {
                "An order lacks information: the customer is asked (customer-facing notification)."
            }
            EventType::OrderConfirmed => {
                "An order is complete and priced; review starts (customer-facing confirmation)."
            }
            EventType::OrderCancelled => "An order was cancelled; what it held went back to stock.",
            EventType::OrderReviewStarted => "A review round started (timeline only).",
            EventType::OrderReviewRequired => "A review stage needs a person's decision.",
            EventType::OrderReviewDecided => "A review stage was decided (timeline only).",
            EventType::OrderReviewReopened => {
                "Review stages were reopened by a change (timeline only)."
            }
            EventType::OrderApproved => "Every review stage approved: the order can be allocated.",
            EventType::OrderRejected => "A review stage rejected the order (customer-facing).",
            EventType::OrderAllocated => {
                "Stock was reserved for an order (all of it, or part with the rest awaited)."
            }
            EventType::OrderBackordered => {
                "Part of an order waits for stock or a transfer (customer-facing delay notice)."
            }
            EventType::OrderAllocationReleased => "An order's reservations were released.",
            EventType::OrderPicked => "Goods were picked for an order in a warehouse.",
            EventType::OrderReadyToShip => "Every package of an order is packed.",
            EventType::TransferRequested => {
                "Goods were reserved at a warehouse to move to another."
            }
            EventType::TransferShipped => "A transfer left its source warehouse.",
            EventType::TransferReceived => "A transfer arrived and is stock of its destination.",
            EventType::TransferCancelled => "A transfer was called off before leaving.",
            EventType::ShipmentCreated => {
                "Packages of an order were handed to a carrier under a tracking number."
            }
            EventType::OrderShipped => {
                "An order shipped, all of it (`shipped`) or part (`partially_shipped`)."
            }
            EventType::ShipmentTrackingUpdated => {
                "A courier (or staff) reported where a shipment is."
            }
            EventType::ShipmentOutForDelivery => {
                "A shipment is out for delivery (customer-facing pre-arrival notice)."
            }
            EventType::ShipmentDelivered => {
                "A shipment was delivered; its proof of delivery is recorded."
            }
            EventType::ShipmentException => {
                "A shipment met a problem (failed attempt, damage, refusal): follow up."
            }
            EventType::ShipmentReturned => "A shipment is going back to the sender.",
            EventType::OrderDelivered => "Every shipment of an order was delivered.",
            EventType::MarketplaceFulfilmentReported => {
                "A shipment of an imported order was reported to its marketplace."
            }
            EventType::MarketplaceFulfilmentFailed => {
                "Reporting a shipment to the marketplace failed (retried with back-off)."
            }
            EventType::MarketplaceAttentionRequired => {
                "The marketplace changed an order in a way Dingdan cannot apply (cancelled or \
                 readdressed after it shipped): a person decides."
            }
        }
    }

    /// The notification template of a customer-facing event: the event then
    /// carries a `notification` (recipient, template, data) for mail and SMS
    /// senders. Shipping, invoicing, dunning and survey events join as they
    /// are built (`pre_arrival`, `invoice`, `dunning`, `survey`).
    pub fn notification_template(&self) -> Option<&'static str> {
        match self {
            EventType::OrderConfirmed => Some("order_confirmation"),
            EventType::OrderInfoRequested => Some("order_information_request"),
            EventType::OrderBackordered => Some("order_delay"),
            EventType::OrderRejected => Some("order_rejected"),
            EventType::OrderCancelled => Some("order_cancelled"),
            EventType::ShipmentOutForDelivery => Some("pre_arrival"),
            _ => None,
        }
    }

    fn data_fields(&self) -> &'static [Field] {
        match self {
            EventType::OrderCreated => &[
                ("channel", "string", "where the order came from"),
                ("external_ref", "string|null", "the channel's own reference"),
                ("customer_id", "string", "the customer"),
                ("lines", "integer", "how many lines"),
                STATUS,
            ],
            EventType::OrderUpdated => &[
                ("changes", "array", "the fields changed"),
                STATUS,
                ("subtotal", "string", "decimal"),
                ("discount_total", "string", "decimal"),
                ("tax_total", "string", "decimal"),
                ("total", "string", "decimal"),
                ("promised_delivery_date", "string|null", "YYYY-MM-DD"),
            ],
            EventType::OrderInfoRequested => &[
                ORDER_NUMBER,
                ("customer_id", "string", "the customer to ask"),
                (
                    "findings",
                    "array",
                    "what is missing or wrong: path, code, message",
                ),
                CONTACT,
                ("external_ref", "string|null", "the channel's own reference"),
            ],
            EventType::OrderConfirmed => &[
                ORDER_NUMBER,
                ("customer_id", "string", "the customer"),
                ("currency", "string", "ISO 4217"),
                (
                    "lines",
                    "array",
                    "line_no, sku, quantity, unit_price, discount, tax, total",
                ),
                ("subtotal", "string", "decimal"),
                ("discount_total", "string", "decimal"),
                ("tax_total", "string", "decimal"),
                ("total", "string", "decimal"),
                ("promotions", "array", "promotions applied"),
                ("requested_delivery_date", "string|null", "YYYY-MM-DD"),
                ("promised_delivery_date", "string|null", "YYYY-MM-DD"),
                CONTACT,
            ],
            EventType::OrderCancelled => &[
                ORDER_NUMBER,
                ("reason", "string|null", "why"),
                (
                    "previous_status",
                    "string",
                    "the status it was cancelled from",
                ),
                (
                    "units_returned_to_stock",
                    "integer",
                    "units released back to stock",
                ),
            ],
            EventType::OrderReviewStarted => &[("round", "integer", "the review round")],
            EventType::OrderReviewRequired => &[
                ("review_id", "string", "the review waiting for a decision"),
                ("stage", "string", "sales, finance, inventory or final"),
                ("owner_role", "string", "the role that decides"),
                ("reasons", "array", "why a person must decide"),
                ("findings", "array", "warnings found"),
                ORDER_NUMBER,
            ],
            EventType::OrderReviewDecided => &[
                ("review_id", "string", "the review"),
                ("stage", "string", "the stage"),
                ("decision", "string", "approve, reject or request_changes"),
                ("decided_by", "string", "who decided"),
            ],
            EventType::OrderReviewReopened => &[
                ("round", "integer", "the review round"),
                ("stages", "array", "the stages reopened"),
            ],
            EventType::OrderApproved => &[
                ORDER_NUMBER,
                ("total", "string", "decimal"),
                ("currency", "string", "ISO 4217"),
                ("promised_delivery_date", "string|null", "YYYY-MM-DD"),
            ],
            EventType::OrderRejected => &[
                ORDER_NUMBER,
                ("stage", "string", "the stage that rejected"),
                ("reason_code", "string|null", "why, as a code"),
                ("comment", "string|null", "why, in words"),
                CONTACT,
            ],
            EventType::OrderAllocated => &[
                ("plan_id", "string", "the allocation plan in force"),
                STATUS,
                ("complete", "boolean", "every unit is reserved"),
                ("strategy", "string", "how the plan was chosen"),
                ("summary", "object", "warehouses, units, cost of the plan"),
                (
                    "lines",
                    "array",
                    "per line: sku, quantity, reservations by warehouse and lot",
                ),
            ],
            EventType::OrderBackordered => &[
                ("plan_id", "string|null", "the allocation plan in force"),
                STATUS,
                ("backordered", "integer", "units waiting"),
                (
                    "reserved_now",
                    "integer|null",
                    "units reserved by this change",
                ),
                (
                    "awaiting_transfers",
                    "array|null",
                    "transfer numbers bringing goods",
                ),
                ("reason", "string|null", "why, when a pick came up short"),
                ("summary", "object|null", "the plan's summary"),
                ("lines", "array|null", "per line reservations"),
            ],
            EventType::OrderAllocationReleased => {
                &[("released", "integer", "units released"), STATUS]
            }
            EventType::OrderPicked => &[
                ("warehouse_id", "string", "where"),
                ("picked", "integer", "units picked"),
                ("short", "integer", "units not found on the shelf"),
                ("lines", "array", "per line picks"),
            ],
            EventType::OrderReadyToShip => &[(
                "packages",
                "array",
                "id, warehouse_id, packaging_type, weight_kg, contents",
            )],
            EventType::TransferRequested => &[
                ("number", "string", "the transfer number"),
                ("from_warehouse_id", "string", "source"),
                ("to_warehouse_id", "string", "destination"),
                ("order_id", "string|null", "the order it serves"),
                ("units", "integer", "units moved"),
            ],
            EventType::TransferShipped => &[
                ("number", "string", "the transfer number"),
                ("carrier", "string|null", "who carries it"),
                ("tracking_number", "string|null", "the carrier's reference"),
            ],
            EventType::TransferReceived => &[
                ("number", "string", "the transfer number"),
                ("to_warehouse_id", "string", "destination"),
                ("order_id", "string|null", "the order it serves"),
            ],
            EventType::TransferCancelled => &[
                ("number", "string", "the transfer number"),
                ("reason", "string|null", "why"),
            ],
            EventType::ShipmentCreated => &[
                ("order_id", "string", "the order"),
                ("order_number", "string|null", "the order number"),
                ("carrier_code", "string", "the carrier"),
                ("service_code", "string", "the carrier's service"),
                ("mode", "string", "express, road, rail or air"),
                ("tracking_number", "string", "the carrier's reference"),
                ("package_ids", "array", "the packages in it"),
                ("price", "string", "decimal: what the carrier charges"),
                ("currency", "string", "ISO 4217"),
                ("estimated_delivery", "string|null", "date"),
                (
                    "override",
                    "object|null",
                    "when staff chose another service than the engine: engine_choice, reason",
                ),
            ],
            EventType::OrderShipped => &[
                STATUS,
                ORDER_NUMBER,
                ("shipment_id", "string", "the shipment that moved it"),
                ("tracking_number", "string", "the carrier's reference"),
                ("carrier_code", "string", "the carrier"),
            ],
            EventType::ShipmentTrackingUpdated
            | EventType::ShipmentException
            | EventType::ShipmentReturned => &[
                ("order_id", "string", "the order"),
                ("order_number", "string|null", "the order number"),
                ("tracking_number", "string", "the carrier's reference"),
                ("carrier_code", "string", "the carrier"),
                ("status", "string", "the shipment's status after the event"),
                (
                    "event_status",
                    "string",
                    "what the event reported: info_received, in_transit, out_for_delivery, delivered, exception, returned",
                ),
                ("raw_status", "string", "the courier's own code"),
                ("message", "string|null", "the courier's words"),
                ("location", "string|null", "where"),
                ("occurred_at", "string|null", "when it happened (RFC 3339)"),
                (
                    "source",
                    "string",
                    "aftership, easypost, kuaidi100, sf_express, 17track or manual",
                ),
            ],
            EventType::ShipmentOutForDelivery => &[
                ("order_id", "string", "the order"),
                ("order_number", "string|null", "the order number"),
                ("tracking_number", "string", "the carrier's reference"),
                ("carrier_code", "string", "the carrier"),
                ("status", "string", "out_for_delivery"),
                ("message", "string|null", "the courier's words"),
                ("occurred_at", "string|null", "when (RFC 3339)"),
                ("estimated_delivery", "string|null", "date"),
                CONTACT,
            ],
            EventType::ShipmentDelivered => &[
                ("order_id", "string", "the order"),
                ("order_number", "string|null", "the order number"),
                ("tracking_number", "string", "the carrier's reference"),
                ("carrier_code", "string", "the carrier"),
                ("status", "string", "delivered"),
                (
                    "proof_of_delivery",
                    "object",
                    "signed_by, at, location, source",
                ),
            ],
            EventType::OrderDelivered => &[STATUS, ORDER_NUMBER],
            EventType::MarketplaceFulfilmentReported | EventType::MarketplaceFulfilmentFailed => &[
                ("platform", "string", "shopify, woocommerce, taobao or jd"),
                ("account_id", "string", "the connector account"),
                ("external_id", "string", "the platform's order id"),
                ("shipment_id", "string", "the shipment reported"),
                ("tracking_number", "string", "the carrier's reference"),
                (
                    "reference",
                    "string|null",
                    "the platform's id for the report, when it gives one",
                ),
                ("error", "string|null", "why it failed"),
                ("attempt", "integer", "the attempt"),
            ],
            EventType::MarketplaceAttentionRequired => &[
                ("platform", "string", "shopify, woocommerce, taobao or jd"),
                ("account_id", "string", "the connector account"),
                ("external_id", "string", "the platform's order id"),
                (
                    "reason",
                    "string",
                    "cancelled_after_shipment, address_changed_after_shipment or \
                     address_change_incomplete",
                ),
                (
                    "detail",
                    "string",
                    "what the platform says, for the person deciding",
                ),
            ],
        }
    }

    /// JSON Schema of the event's `data`. Properties may be added in a
    /// schema version; none is removed or changes type without raising it.
    pub fn data_schema(&self) -> serde_json::Value {
        let mut properties = serde_json::Map::new();
        for (name, kind, description) in self.data_fields() {
            let types: Vec<&str> = kind.split('|').collect();
            let kind = if types.len() == 1 {
                serde_json::json!(types[0])
            } else {
                serde_json::json!(types)
            };
            properties.insert(
                (*name).to_owned(),
                serde_json::json!({"type": kind, "description": description}),
            );
        }
        serde_json::json!({
            "type": "object",
            "properties": properties,
            "additionalProperties": true,
        })
    }
}

/// JSON Schema of the envelope every published event (and every webhook
/// body) shares; `data` differs per type.
pub fn envelope_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["id", "type", "schema_version", "occurred_at", "resource", "actor", "data"],
        "properties": {
            "id": {"type": "string", "format": "uuid", "description": "the event's id; also the webhook-id header"},
            "type": {"type": "string", "description": "the event type, e.g. order.allocated"},
            "schema_version": {"type": "integer", "description": "raised only on incompatible payload changes"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "resource": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "description": "order, transfer, ..."},
                    "id": {"type": "string", "format": "uuid"},
                    "version": {"type": "integer", "description": "the resource's version after the change (several events of one change share it): drop an event whose version is below the last one applied"},
                    "customer_id": {"type": ["string", "null"], "format": "uuid"}
                }
            },
            "actor": {
                "type": "object",
                "properties": {
                    "sub": {"type": "string"},
                    "roles": {"type": "array", "items": {"type": "string"}}
                }
            },
            "data": {"type": "object", "description": "per type: data_schema in GET /api/v1/events/types"},
            "notification": {
                "type": "object",
                "description": "customer-facing events only: what a mail or SMS sender needs",
                "properties": {
                    "template": {"type": "string", "description": "order_confirmation, order_information_request, order_delay, order_rejected, order_cancelled"},
                    "recipient": {
                        "type": "object",
                        "properties": {
                            "customer_id": {"type": ["string", "null"], "format": "uuid"},
                            "name": {"type": ["string", "null"]},
                            "email": {"type": ["string", "null"]},
                            "phone": {"type": ["string", "null"]}
                        }
                    },
                    "data": {"type": "object", "description": "the values the template shows (the event's data)"}
                }
            }
        }
    })
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
