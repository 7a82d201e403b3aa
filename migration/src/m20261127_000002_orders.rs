//! Orders, their lines and timeline, the event outbox, order numbering and
//! idempotency keys; products gain a tax rate.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
                    .table("products")
                    // A fraction: 0.13 is 13 % VAT. Prices exclude tax.
                    .add_column(text("tax_rate").default("0"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .col(pk_uuid("id"))
                    .col(string_null("number"))
                    .col(string("status"))
                    .col(string("channel"))
                    // '' when the reference is not tied to an account, so the
                    // unique index below also holds there (NULLs never collide).
                    .col(string("source_account").default(""))
                    .col(string_null("external_ref"))
                    .col(uuid("customer_id"))
                    .col(string_len("currency", 3))
                    .col(json("ship_to"))
                    .col(json("contact"))
                    .col(date_null("requested_delivery_date"))
                    .col(date_null("promised_delivery_date"))
                    .col(text_null("special_instructions"))
                    .col(json_null("invoice"))
                    .col(text("subtotal"))
                    .col(text("discount_total"))
                    .col(text("tax_total"))
                    .col(text("total"))
                    .col(json("findings"))
                    .col(integer("version"))
                    .col(string("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("confirmed_at"))
                    .col(timestamp_with_time_zone_null("cancelled_at"))
                    .col(text_null("cancel_reason"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("orders", "customer_id")
                            .to("customers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            ("orders_number", &["number"][..], true),
            (
                "orders_external_ref",
                &["channel", "source_account", "external_ref"][..],
                true,
            ),
            ("orders_customer", &["customer_id", "id"][..], false),
            ("orders_status", &["status", "id"][..], false),
            ("orders_created_at", &["created_at"][..], false),
            ("orders_updated_at", &["updated_at"][..], false),
        ] {
            let mut index = Index::create();
            index.name(name).table("orders");
            for column in columns {
                index.col(*column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("order_lines")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(integer("line_no"))
                    .col(string("sku"))
                    .col(uuid_null("product_id"))
                    .col(big_integer("quantity"))
                    .col(text_null("unit_price"))
                    .col(text("subtotal"))
                    .col(text("discount"))
                    .col(text("tax_rate"))
                    .col(text("tax"))
                    .col(text("total"))
                    .col(json_null("custom_spec"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("order_lines", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_lines_order")
                    .table("order_lines")
                    .col("order_id")
                    .col("line_no")
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_events")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(string("event_type"))
                    .col(string("actor_sub"))
                    .col(json("actor_roles"))
                    .col(string_null("channel"))
                    .col(json("data"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("order_events", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("order_events_order")
                    .table("order_events")
                    .col("order_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .col(pk_uuid("id"))
                    .col(string("event_type"))
                    .col(string("aggregate_type"))
                    .col(uuid("aggregate_id"))
                    .col(integer("aggregate_version"))
                    .col(uuid_null("customer_id"))
                    .col(json("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("outbox_aggregate")
                    .table("outbox")
                    .col("aggregate_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_number_counters")
                    .col(integer("year").primary_key())
                    .col(big_integer("last"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .col(pk_uuid("id"))
                    .col(string("principal"))
                    .col(string("key"))
                    .col(string("fingerprint"))
                    .col(integer("response_status"))
                    .col(text("response_body"))
                    .col(string_null("location"))
                    .col(uuid_null("resource_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_principal_key")
                    .table("idempotency_keys")
                    .col("principal")
                    .col("key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idempotency_keys_expires_at")
                    .table("idempotency_keys")
                    .col("expires_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "idempotency_keys",
            "order_number_counters",
            "outbox",
            "order_events",
            "order_lines",
            "orders",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("products")
                    .drop_column("tax_rate")
                    .to_owned(),
            )
            .await
    }
}
