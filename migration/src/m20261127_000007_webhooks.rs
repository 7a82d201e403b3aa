//! Webhook subscriptions, deliveries and their attempt log; the outbox learns
//! which events have been fanned out to subscribers.

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
                    .table("outbox")
                    .add_column(timestamp_with_time_zone_null("dispatched_at"))
                    .to_owned(),
            )
            .await?;
        let conn = manager.get_connection();
        // Events written before subscriptions existed had nobody to go to.
        conn.execute_unprepared("UPDATE outbox SET dispatched_at = created_at")
            .await?;
        // The dispatcher's queue: only the events not yet fanned out.
        conn.execute_unprepared(
            "CREATE INDEX outbox_pending ON outbox (created_at) WHERE dispatched_at IS NULL",
        )
        .await?;
        // Live GraphQL subscriptions tail the outbox by time.
        conn.execute_unprepared("CREATE INDEX outbox_created ON outbox (created_at)")
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("webhook_subscriptions")
                    .col(pk_uuid("id"))
                    .col(text("url"))
                    .col(json("event_types"))
                    .col(uuid_null("customer_id"))
                    .col(text_null("description"))
                    .col(text("secret"))
                    .col(text_null("previous_secret"))
                    .col(timestamp_with_time_zone_null("previous_secret_expires_at"))
                    .col(boolean("active"))
                    .col(text_null("disabled_reason"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_subscriptions", "customer_id")
                            .to("customers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .col(pk_uuid("id"))
                    .col(uuid("subscription_id"))
                    .col(uuid("event_id"))
                    .col(string("event_type"))
                    // The exact bytes sent, so every attempt signs the same body.
                    .col(text("body"))
                    // pending → succeeded | failed (410, subscription gone) | dead (out of attempts)
                    .col(string("status"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone_null("next_attempt_at"))
                    .col(integer_null("last_status_code"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_deliveries", "subscription_id")
                            .to("webhook_subscriptions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_delivery_attempts")
                    .col(pk_uuid("id"))
                    .col(uuid("delivery_id"))
                    .col(integer("attempt"))
                    .col(boolean("replay"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(integer("duration_ms"))
                    .col(integer_null("status_code"))
                    .col(text_null("error"))
                    .col(text_null("response_excerpt"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhook_delivery_attempts", "delivery_id")
                            .to("webhook_deliveries", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_event")
                    .table("webhook_deliveries")
                    .col("subscription_id")
                    .col("event_id")
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, table, columns) in [
            (
                "webhook_deliveries_subscription",
                "webhook_deliveries",
                &["subscription_id", "id"][..],
            ),
            (
                "webhook_deliveries_status",
                "webhook_deliveries",
                &["status", "id"][..],
            ),
            (
                "webhook_delivery_attempts_delivery",
                "webhook_delivery_attempts",
                &["delivery_id", "started_at"][..],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "webhook_delivery_attempts",
            "webhook_deliveries",
            "webhook_subscriptions",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for name in ["outbox_pending", "outbox_created"] {
            manager
                .drop_index(Index::drop().name(name).table("outbox").to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("outbox")
                    .drop_column("dispatched_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
