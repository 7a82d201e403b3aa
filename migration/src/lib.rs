//! Dingdan's schema, one migration per change. A migration that has landed is
//! never edited: change the schema with a new one.
//!
//! Decimals (money, weights) are `TEXT` holding canonical decimal strings, so they
//! round-trip exactly on SQLite as well as PostgreSQL; quantities are integers.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_master_data;
mod m20261127_000002_orders;
mod m20261127_000003_append_only;
mod m20261127_000004_review;
mod m20261127_000005_allocation;
mod m20261127_000006_read_indexes;
mod m20261127_000007_webhooks;
mod m20261127_000008_shipping;
mod m20261127_000009_connectors;
mod m20261128_000010_connector_customers;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_master_data::Migration),
            Box::new(m20261127_000002_orders::Migration),
            Box::new(m20261127_000003_append_only::Migration),
            Box::new(m20261127_000004_review::Migration),
            Box::new(m20261127_000005_allocation::Migration),
            Box::new(m20261127_000006_read_indexes::Migration),
            Box::new(m20261127_000007_webhooks::Migration),
            Box::new(m20261127_000008_shipping::Migration),
            Box::new(m20261127_000009_connectors::Migration),
            Box::new(m20261128_000010_connector_customers::Migration),
        ]
    }
}
