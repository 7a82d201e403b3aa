//! Marketplace connectors: accounts (credentials encrypted), the orders they
//! imported (one per account and external id), sync runs, and inbound
//! webhook ids seen.

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
            .create_table(
                Table::create()
                    .table("connector_accounts")
                    .col(pk_uuid("id"))
                    // shopify | woocommerce | taobao | jd
                    .col(string("platform"))
                    .col(text("name"))
                    .col(text("base_url"))
                    // AES-256-GCM: base64(nonce ‖ ciphertext) of the JSON credentials.
                    .col(text("credentials"))
                    .col(integer("sync_interval_seconds"))
                    // [{"platform_sku"?, "variant_id"?, "sku"}]
                    .col(json("sku_map"))
                    // single | per_buyer
                    .col(string("customer_mode"))
                    .col(uuid_null("customer_id"))
                    .col(json("warehouse_preferences"))
                    .col(boolean("enabled"))
                    // Where the next sync resumes (integrations' Cursor).
                    .col(json("cursor"))
                    .col(timestamp_with_time_zone_null("last_synced_at"))
                    // One sync at a time per account, across processes: the
                    // run holding it, until when (renewed page by page).
                    .col(uuid_null("sync_holder"))
                    .col(timestamp_with_time_zone_null("sync_lease_until"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("connector_orders")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string("external_id"))
                    .col(uuid("order_id"))
                    .col(timestamp_with_time_zone("external_updated_at"))
                    // The platform's line ids → Dingdan line numbers, for push-back.
                    .col(json("lines"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_orders", "account_id")
                            .to("connector_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_orders", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("connector_sync_runs")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    // schedule | manual | webhook | cli
                    .col(string("trigger"))
                    // running | succeeded | failed
                    .col(string("status"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(integer("fetched"))
                    .col(integer("created"))
                    .col(integer("updated"))
                    .col(integer("skipped"))
                    .col(integer("failed"))
                    .col(text_null("error"))
                    .col(json("cursor_before"))
                    .col(json_null("cursor_after"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_sync_runs", "account_id")
                            .to("connector_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("connector_webhooks")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string("webhook_id"))
                    .col(string_null("topic"))
                    .col(timestamp_with_time_zone("received_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("connector_webhooks", "account_id")
                            .to("connector_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, table, columns, unique) in [
            (
                "connector_orders_external",
                "connector_orders",
                &["account_id", "external_id"][..],
                true,
            ),
            (
                "connector_orders_order",
                "connector_orders",
                &["order_id"][..],
                false,
            ),
            (
                "connector_sync_runs_account",
                "connector_sync_runs",
                &["account_id", "started_at"][..],
                false,
            ),
            (
                "connector_webhooks_id",
                "connector_webhooks",
                &["account_id", "webhook_id"][..],
                true,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            if unique {
                index.unique();
            }
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "connector_webhooks",
            "connector_sync_runs",
            "connector_orders",
            "connector_accounts",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
