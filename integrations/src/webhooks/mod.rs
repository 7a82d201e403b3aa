//! Signing and verifying webhook payloads.

pub mod standard;

pub use standard::{Secret, SecretError, VerifyError, Webhook};
