//! Connector accounts learn two more mappings: their platform's carrier codes
//! (for push-back) and, for accounts whose buyers are customers of their
//! own, which customer each buyer became. Imported orders keep the address
//! the platform last gave (so only the platform's own changes are applied)
//! and which changes were flagged for a person.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("connector_accounts")
                    // {"<Dingdan carrier code>": "<the platform's code>"}; null: none.
                    .add_column(json_null("carrier_map"))
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE.
        for column in ["platform_ship_to", "flags"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("connector_orders")
                        .add_column(json_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("connector_customers")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    // The platform's buyer id, else `email:` or `phone:` + value.
                    .col(string("buyer_key"))
                    .col(uuid("customer_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_customers", "account_id")
                            .to("connector_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_customers", "customer_id")
                            .to("customers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("connector_customers_account_buyer")
                    .table("connector_customers")
                    .col("account_id")
                    .col("buyer_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("connector_customers").to_owned())
            .await?;
        for column in ["platform_ship_to", "flags"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("connector_orders")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("connector_accounts")
                    .drop_column("carrier_map")
                    .to_owned(),
            )
            .await
    }
}
