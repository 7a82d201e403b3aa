//! Use cases, one module per stage of the lifecycle. The only layer that talks
//! to the database. Every function takes the acting [`Actor`] and checks its
//! permissions itself, so REST and GraphQL cannot disagree about who may do what.
//!
//! [`Actor`]: crate::domain::actor::Actor

pub mod allocation;
pub mod catalog;
pub mod connectors;
pub mod customers;
mod db;
mod error;
pub(crate) mod events;
pub mod fulfilment;
pub mod geo;
pub mod idempotency;
pub mod jobs;
pub mod live;
pub mod notifications;
pub mod orders;
pub(crate) mod page;
pub mod pricing;
pub mod reviews;
pub mod secrets;
pub mod shipping;
pub mod stock;
pub mod transfers;
pub mod warehouses;
pub mod webhooks;

pub use db::{Db, ServiceConfig, SmtpConfig, WebhookConfig, redact};
pub use error::{ServiceError, ServiceResult};

use chrono::{DateTime, SubsecRound as _, Utc};

/// The current time at the precision both databases store (microseconds), so a
/// value read back equals the value written.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
