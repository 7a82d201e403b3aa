//! sea-orm entities: one module per table, storage rows only.
//!
//! Behaviour lives in the server's `service` layer; wire shapes live in its `wire`
//! module. Money and other decimals are stored as canonical decimal text (see
//! [`DecimalText`]) so that they round-trip exactly on SQLite and PostgreSQL alike.

mod decimal_text;

pub mod allocation;
pub mod allocation_plan;
pub mod carrier;
pub mod carrier_service;
pub mod connector_account;
pub mod connector_customer;
pub mod connector_order;
pub mod connector_sync_run;
pub mod connector_webhook;
pub mod courier_account;
pub mod courier_push;
pub mod customer;
pub mod geo_location;
pub mod idempotency_key;
pub mod job;
pub mod order;
pub mod order_event;
pub mod order_line;
pub mod order_number_counter;
pub mod order_review;
pub mod outbox;
pub mod package;
pub mod price_list;
pub mod price_list_item;
pub mod pricing_policy;
pub mod product;
pub mod promotion;
pub mod sequence;
pub mod setting;
pub mod shipment;
pub mod stock_lot;
pub mod stock_movement;
pub mod tracking_event;
pub mod transfer;
pub mod transfer_line;
pub mod warehouse;
pub mod webhook_delivery;
pub mod webhook_delivery_attempt;
pub mod webhook_subscription;

pub use decimal_text::DecimalText;
