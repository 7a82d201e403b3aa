//! Order review: price lists, pricing policies, promotions, the review policy
//! (in settings), and the four review stages of each order.

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
        // SQLite adds one column per ALTER TABLE.
        for column in [
            // Empty: any method.
            json("payment_methods").default("[]").to_owned(),
            boolean("requires_invoice").default(false).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("customers")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        // Replays of an order create also answer with its ETag.
        manager
            .alter_table(
                Table::alter()
                    .table("idempotency_keys")
                    .add_column(string_null("etag"))
                    .to_owned(),
            )
            .await?;
        // Whether a line's unit price was sent (`given`) or derived from a price
        // list (so a later change of currency or list re-derives it).
        manager
            .alter_table(
                Table::alter()
                    .table("order_lines")
                    .add_column(string("price_source").default("given"))
                    .to_owned(),
            )
            .await?;
        for column in [
            string_null("payment_method").to_owned(),
            json("promotions")
                .default(r#"{"applied":[],"missed":[]}"#)
                .to_owned(),
            integer("review_round").default(0).to_owned(),
            timestamp_with_time_zone_null("approved_at").to_owned(),
        ] {
            manager
                .alter_table(Table::alter().table("orders").add_column(column).to_owned())
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("price_lists")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(string_len("currency", 3))
                    .col(string_null("price_tier"))
                    .col(uuid_null("customer_id"))
                    .col(date("valid_from"))
                    .col(date_null("valid_to"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("price_lists", "customer_id")
                            .to("customers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("price_list_items")
                    .col(pk_uuid("id"))
                    .col(uuid("price_list_id"))
                    .col(string("sku"))
                    .col(text("unit_price"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("price_list_items", "price_list_id")
                            .to("price_lists", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("price_list_items_list_sku")
                    .table("price_list_items")
                    .col("price_list_id")
                    .col("sku")
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("pricing_policies")
                    .col(string("price_tier").primary_key())
                    .col(text("max_discount_percent"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("promotions")
                    .col(pk_uuid("id"))
                    .col(string_uniq("code"))
                    .col(string("name"))
                    .col(string("kind"))
                    .col(text("value"))
                    .col(string_len_null("currency", 3))
                    .col(json("skus"))
                    .col(json("price_tiers"))
                    .col(big_integer_null("min_quantity"))
                    .col(text_null("min_amount"))
                    .col(date("valid_from"))
                    .col(date_null("valid_to"))
                    .col(boolean("stackable"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("settings")
                    .col(string("key").primary_key())
                    .col(json("value"))
                    .col(string("updated_by"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_reviews")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(integer("round"))
                    .col(string("stage"))
                    .col(integer("position"))
                    .col(string("status"))
                    .col(json("findings"))
                    .col(json("human_reasons"))
                    .col(string_null("decision"))
                    .col(string_null("reason_code"))
                    .col(text_null("comment"))
                    .col(string_null("decided_by"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("order_reviews", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "order_reviews_order",
                &["order_id", "round", "position"][..],
            ),
            ("order_reviews_queue", &["status", "stage", "id"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table("order_reviews");
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "order_reviews",
            "settings",
            "promotions",
            "pricing_policies",
            "price_list_items",
            "price_lists",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for column in [
            "payment_method",
            "promotions",
            "review_round",
            "approved_at",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("orders")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("order_lines")
                    .drop_column("price_source")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("idempotency_keys")
                    .drop_column("etag")
                    .to_owned(),
            )
            .await?;
        for column in ["payment_methods", "requires_invoice"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("customers")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
