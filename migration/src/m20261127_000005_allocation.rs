//! Allocation and dispatch: warehouse costs and kinds, shelf-life minimums,
//! the geo table, reservations per order line and lot, allocation plans,
//! transfers through an in-transit location, packages, named sequences and
//! the background job queue.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Capitals of China's provinces, municipalities and SARs, by the region codes
/// of ISO 3166-2:CN: where an address without a better match is placed.
const CN_REGIONS: [(&str, &str, f64, f64); 34] = [
    ("BJ", "Beijing", 39.9042, 116.4074),
    ("TJ", "Tianjin", 39.3434, 117.3616),
    ("HE", "Shijiazhuang", 38.0428, 114.5149),
    ("SX", "Taiyuan", 37.8706, 112.5489),
    ("NM", "Hohhot", 40.8426, 111.7492),
    ("LN", "Shenyang", 41.8057, 123.4315),
    ("JL", "Changchun", 43.8171, 125.3235),
    ("HL", "Harbin", 45.8038, 126.5350),
    ("SH", "Shanghai", 31.2304, 121.4737),
    ("JS", "Nanjing", 32.0603, 118.7969),
    ("ZJ", "Hangzhou", 30.2741, 120.1551),
    ("AH", "Hefei", 31.8206, 117.2272),
    ("FJ", "Fuzhou", 26.0745, 119.2965),
    ("JX", "Nanchang", 28.6820, 115.8579),
    ("SD", "Jinan", 36.6512, 117.1201),
    ("HA", "Zhengzhou", 34.7466, 113.6254),
    ("HB", "Wuhan", 30.5928, 114.3055),
    ("HN", "Changsha", 28.2282, 112.9388),
    ("GD", "Guangzhou", 23.1291, 113.2644),
    ("GX", "Nanning", 22.8170, 108.3665),
    ("HI", "Haikou", 20.0440, 110.1999),
    ("CQ", "Chongqing", 29.5630, 106.5516),
    ("SC", "Chengdu", 30.5728, 104.0668),
    ("GZ", "Guiyang", 26.6470, 106.6302),
    ("YN", "Kunming", 25.0389, 102.7183),
    ("XZ", "Lhasa", 29.6500, 91.1000),
    ("SN", "Xi'an", 34.3416, 108.9398),
    ("GS", "Lanzhou", 36.0611, 103.8343),
    ("QH", "Xining", 36.6171, 101.7782),
    ("NX", "Yinchuan", 38.4872, 106.2309),
    ("XJ", "Urumqi", 43.8256, 87.6168),
    ("HK", "Hong Kong", 22.3193, 114.1694),
    ("MO", "Macau", 22.1987, 113.5439),
    ("TW", "Taipei", 25.0330, 121.5654),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (table, column) in [
            (
                "warehouses",
                double("shipping_cost_factor").default(1.0).to_owned(),
            ),
            ("warehouses", integer("priority").default(0).to_owned()),
            // `standard`, or `transit`: the location of goods between warehouses.
            ("warehouses", string("kind").default("standard").to_owned()),
            ("products", integer_null("min_shelf_life_days").to_owned()),
            ("customers", integer_null("min_shelf_life_days").to_owned()),
            (
                "orders",
                timestamp_with_time_zone_null("allocated_at").to_owned(),
            ),
        ] {
            manager
                .alter_table(Table::alter().table(table).add_column(column).to_owned())
                .await?;
        }

        // The in-transit location: goods between two warehouses are its stock.
        let at = chrono::Utc::now();
        let mut transit = Query::insert();
        transit
            .into_table("warehouses")
            .columns([
                "id",
                "code",
                "name",
                "address",
                "region",
                "latitude",
                "longitude",
                "active",
                "created_at",
                "updated_at",
                "shipping_cost_factor",
                "priority",
                "kind",
            ])
            .values_panic([
                uuid::Uuid::now_v7().into(),
                "IN-TRANSIT".into(),
                "Goods in transit between warehouses".into(),
                serde_json::json!({"name": "In transit", "line1": "between warehouses",
                                   "city": "-", "country": "CN"})
                .into(),
                "-".into(),
                0.0_f64.into(),
                0.0_f64.into(),
                true.into(),
                at.into(),
                at.into(),
                1.0_f64.into(),
                0.into(),
                "transit".into(),
            ]);
        manager.exec_stmt(transit).await?;

        manager
            .create_table(
                Table::create()
                    .table("geo_locations")
                    .col(pk_uuid("id"))
                    .col(string_len("country", 2))
                    // Empty when the row is for the whole country or a prefix.
                    .col(string("region").default(""))
                    .col(string("postal_prefix").default(""))
                    .col(string("name"))
                    .col(double("latitude"))
                    .col(double("longitude"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("geo_locations_key")
                    .table("geo_locations")
                    .col("country")
                    .col("region")
                    .col("postal_prefix")
                    .unique()
                    .to_owned(),
            )
            .await?;
        let mut seed = Query::insert();
        seed.into_table("geo_locations").columns([
            "id",
            "country",
            "region",
            "postal_prefix",
            "name",
            "latitude",
            "longitude",
            "created_at",
            "updated_at",
        ]);
        for (region, name, latitude, longitude) in CN_REGIONS {
            seed.values_panic([
                uuid::Uuid::now_v7().into(),
                "CN".into(),
                region.into(),
                "".into(),
                name.into(),
                latitude.into(),
                longitude.into(),
                at.into(),
                at.into(),
            ]);
        }
        manager.exec_stmt(seed).await?;

        manager
            .create_table(
                Table::create()
                    .table("allocation_plans")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(json("plan"))
                    .col(json("overrides"))
                    .col(string("actor"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("allocation_plans", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("allocations")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid("order_line_id"))
                    .col(integer("line_no"))
                    .col(uuid("product_id"))
                    .col(string("sku"))
                    .col(uuid("warehouse_id"))
                    .col(uuid("stock_lot_id"))
                    .col(string("lot"))
                    .col(big_integer("quantity"))
                    .col(big_integer("picked").default(0))
                    .col(big_integer("packed").default(0))
                    // `reserved` (holding stock, picked or not) or `released`.
                    .col(string("status"))
                    .col(boolean("overridden").default(false))
                    .col(uuid("plan_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .check(
                        Expr::col("quantity")
                            .gte(0)
                            .and(Expr::col("picked").gte(0))
                            .and(Expr::col("picked").lte(Expr::col("quantity")))
                            .and(Expr::col("packed").gte(0))
                            .and(Expr::col("packed").lte(Expr::col("picked"))),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("allocations", "order_id")
                            .to("orders", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("allocations", "stock_lot_id")
                            .to("stock_lots", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("allocations", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("allocations", "plan_id")
                            .to("allocation_plans", "id"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("transfers")
                    .col(pk_uuid("id"))
                    .col(string_uniq("number"))
                    .col(uuid("from_warehouse_id"))
                    .col(uuid("to_warehouse_id"))
                    // requested → in_transit → received, or cancelled.
                    .col(string("status"))
                    .col(string("mode"))
                    .col(string_null("carrier"))
                    .col(string_null("tracking_number"))
                    .col(uuid_null("order_id"))
                    .col(text_null("note"))
                    .col(string("requested_by"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("shipped_at"))
                    .col(timestamp_with_time_zone_null("received_at"))
                    .col(timestamp_with_time_zone_null("cancelled_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("transfers", "from_warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("transfers", "to_warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("transfers", "order_id")
                            .to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("transfer_lines")
                    .col(pk_uuid("id"))
                    .col(uuid("transfer_id"))
                    .col(integer("line_no"))
                    .col(uuid("product_id"))
                    .col(string("sku"))
                    .col(uuid("source_lot_id"))
                    .col(string("lot"))
                    .col(date("lot_received_at"))
                    .col(date_null("expiry_date"))
                    .col(big_integer("quantity"))
                    .col(uuid_null("transit_lot_id"))
                    .col(uuid_null("destination_lot_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("transfer_lines", "transfer_id")
                            .to("transfers", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("transfer_lines", "source_lot_id")
                            .to("stock_lots", "id"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("packages")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid("warehouse_id"))
                    .col(string("packaging_type"))
                    .col(text("weight_kg"))
                    .col(text("length_cm"))
                    .col(text("width_cm"))
                    .col(text("height_cm"))
                    .col(json("contents"))
                    .col(string("packed_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("packages", "order_id")
                            .to("orders", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("packages", "warehouse_id")
                            .to("warehouses", "id"),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sequences")
                    .col(string("name").primary_key())
                    .col(big_integer("last"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("jobs")
                    .col(pk_uuid("id"))
                    .col(string("kind"))
                    .col(json("payload"))
                    .col(string_null("unique_key"))
                    // queued → running → done | failed (or queued again to retry).
                    .col(string("status"))
                    .col(timestamp_with_time_zone("run_at"))
                    .col(integer("attempts"))
                    .col(integer("max_attempts"))
                    .col(text_null("last_error"))
                    .col(string_null("locked_by"))
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .to_owned(),
            )
            .await?;

        for (name, table, columns) in [
            ("allocations_order", "allocations", &["order_id"][..]),
            (
                "allocations_warehouse",
                "allocations",
                &["warehouse_id", "status"][..],
            ),
            ("allocations_lot", "allocations", &["stock_lot_id"][..]),
            (
                "allocation_plans_order",
                "allocation_plans",
                &["order_id", "created_at"][..],
            ),
            ("transfers_status", "transfers", &["status", "id"][..]),
            ("transfers_order", "transfers", &["order_id"][..]),
            (
                "transfer_lines_transfer",
                "transfer_lines",
                &["transfer_id"][..],
            ),
            ("packages_order", "packages", &["order_id"][..]),
            ("jobs_due", "jobs", &["status", "run_at"][..]),
            ("orders_waiting", "orders", &["status", "approved_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(table);
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        // One queued job per unique key: enqueueing the same work twice while
        // it waits is a no-op (a running one may be followed by one queued).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX jobs_unique_queued ON jobs (unique_key) WHERE status = 'queued'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "jobs",
            "sequences",
            "packages",
            "transfer_lines",
            "transfers",
            "allocations",
            "allocation_plans",
            "geo_locations",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("orders_waiting")
                    .table("orders")
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("warehouses")
                    .and_where(Expr::col("kind").eq("transit"))
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            ("warehouses", "shipping_cost_factor"),
            ("warehouses", "priority"),
            ("warehouses", "kind"),
            ("products", "min_shelf_life_days"),
            ("customers", "min_shelf_life_days"),
            ("orders", "allocated_at"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
