//! Dingdan's connections to the outside world: webhook signing, the tracking
//! pushed in by couriers and tracking services, and the marketplace
//! connectors Dingdan pulls orders from.
//!
//! - [`webhooks`] signs and verifies the Standard Webhooks Dingdan sends out.
//! - [`couriers`] verifies and parses the tracking webhooks of AfterShip,
//!   EasyPost, Kuaidi100 (快递100), SF Express (顺丰) and 17TRACK into one
//!   normalised vocabulary.
//! - [`marketplaces`] pulls orders from Shopify, WooCommerce, Taobao/Tmall
//!   (TOP) and JD, and reports shipments back.
//!
//! This crate knows nothing of the server, actix or the database: it speaks the
//! vendors' wire formats and hands plain Rust values back to its callers.

pub mod couriers;
pub mod marketplaces;
pub mod webhooks;
