//! Dingdan's connections to the outside world: webhook signing today, and the
//! marketplace and courier connectors that build on it.
//!
//! This crate knows nothing of the server, actix or the database: it speaks the
//! vendors' wire formats and hands plain Rust values back to its callers.

pub mod webhooks;
