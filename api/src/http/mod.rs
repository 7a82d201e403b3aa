//! HTTP plumbing shared by both transports: problem documents, body and query
//! extraction, and bearer-token authentication.

pub mod extract;
pub mod problem;

pub use problem::{ApiError, PROBLEM_JSON, Problem};
