//! Dingdan's end-to-end tests: one binary, one module per stage. Every test
//! starts a real server on its own database (SQLite by default; PostgreSQL when
//! `DINGDAN_TEST_DATABASE_URL` is set) and drives it over HTTP.

mod allocation;
mod auth;
mod catalog;
mod cli;
mod connectors;
mod customers;
mod errors;
mod graphql;
mod idempotency;
mod live;
mod marketplace_platforms;
mod notifications;
mod operations;
mod orders;
mod pricing;
mod reviews;
mod schema_files;
mod shipping;
mod stock;
mod warehouses;
mod webhooks;
