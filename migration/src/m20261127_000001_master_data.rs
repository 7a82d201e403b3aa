//! Catalog, customers, warehouses and the stock ledger.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn created_updated(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        // All or nothing on SQLite too: a half-applied schema is worse than none.
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                created_updated(
                    Table::create()
                        .table("products")
                        .col(pk_uuid("id"))
                        .col(string_uniq("sku"))
                        .col(string("name"))
                        .col(string_null("specification"))
                        .col(string("unit"))
                        .col(text("list_price"))
                        .col(string_len("currency", 3))
                        .col(text("weight_kg"))
                        .col(boolean("fragile"))
                        .col(boolean("liquid"))
                        .col(boolean("hazardous"))
                        .col(boolean("perishable"))
                        .col(boolean("lot_tracked"))
                        .col(boolean("made_to_order"))
                        .col(integer("lead_time_days"))
                        .col(boolean("active")),
                )
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                created_updated(
                    Table::create()
                        .table("customers")
                        .col(pk_uuid("id"))
                        .col(string_uniq("code"))
                        .col(string("name"))
                        .col(json("contacts"))
                        .col(json("addresses"))
                        .col(string_len("currency", 3))
                        .col(text("credit_limit"))
                        .col(integer("payment_terms_days"))
                        .col(string("price_tier"))
                        .col(string("status"))
                        .col(boolean("allow_partial_shipment")),
                )
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                created_updated(
                    Table::create()
                        .table("warehouses")
                        .col(pk_uuid("id"))
                        .col(string_uniq("code"))
                        .col(string("name"))
                        .col(json("address"))
                        .col(string("region"))
                        .col(double("latitude"))
                        .col(double("longitude"))
                        .col(boolean("active")),
                )
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                created_updated(
                    Table::create()
                        .table("stock_lots")
                        .col(pk_uuid("id"))
                        .col(uuid("warehouse_id"))
                        .col(uuid("product_id"))
                        .col(string("sku"))
                        .col(string("lot"))
                        .col(date("received_at"))
                        .col(date_null("expiry_date"))
                        .col(big_integer("on_hand"))
                        .col(big_integer("reserved"))
                        .foreign_key(
                            ForeignKey::create()
                                .from("stock_lots", "warehouse_id")
                                .to("warehouses", "id"),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from("stock_lots", "product_id")
                                .to("products", "id"),
                        )
                        // The last line of defence against overselling: whatever the
                        // code above does, the database refuses a negative balance.
                        .check((
                            "stock_lots_balance",
                            Expr::col("reserved")
                                .gte(0)
                                .and(Expr::col("on_hand").gte(Expr::col("reserved"))),
                        )),
                )
                .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stock_lots_warehouse_product_lot")
                    .table("stock_lots")
                    .col("warehouse_id")
                    .col("product_id")
                    .col("lot")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stock_lots_product")
                    .table("stock_lots")
                    .col("product_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("stock_movements")
                    .col(pk_uuid("id"))
                    .col(uuid("stock_lot_id"))
                    .col(uuid("warehouse_id"))
                    .col(uuid("product_id"))
                    .col(string("sku"))
                    .col(string("lot"))
                    .col(string("kind"))
                    .col(big_integer("on_hand_delta"))
                    .col(big_integer("reserved_delta"))
                    .col(string_null("reference_type"))
                    .col(uuid_null("reference_id"))
                    .col(text_null("note"))
                    .col(string("actor"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("stock_movements", "stock_lot_id")
                            .to("stock_lots", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stock_movements_lot")
                    .table("stock_movements")
                    .col("stock_lot_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("stock_movements_reference")
                    .table("stock_movements")
                    .col("reference_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "stock_movements",
            "stock_lots",
            "warehouses",
            "customers",
            "products",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
