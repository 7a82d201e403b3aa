//! Pure types and rules: no database, no HTTP, no GraphQL.
//!
//! Values here are parsed once at the edge (`wire` converts request shapes into
//! them) and cannot hold invalid data afterwards.

pub mod actor;
pub mod address;
pub mod allocation;
pub mod catalog;
pub mod connector;
pub mod customer;
pub mod event;
pub mod fulfilment;
pub mod geo;
pub mod intake;
pub mod labels;
pub mod money;
pub mod order;
pub mod page;
pub mod pricing;
pub mod review;
pub mod shipping;
pub mod stock;
pub mod transfer;
pub mod validation;
pub mod warehouse;
pub mod webhook;
