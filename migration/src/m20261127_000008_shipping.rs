//! Shipping: carriers and their services (modes, zones, rate cards, limits,
//! cut-off), shipments of packed parcels, courier accounts that push
//! tracking, the raw pushes received, and each shipment's tracking timeline.

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
                    .table("carriers")
                    .col(pk_uuid("id"))
                    .col(string_uniq("code"))
                    .col(text("name"))
                    .col(boolean("active"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("carrier_services")
                    .col(pk_uuid("id"))
                    .col(uuid("carrier_id"))
                    .col(string("code"))
                    .col(text("name"))
                    // express | road | rail | air
                    .col(string("mode"))
                    .col(string("currency"))
                    // Zones, transit days, rate card, surcharges, fuel,
                    // limits and cut-off: validated as one document.
                    .col(json("terms"))
                    .col(boolean("active"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("carrier_services", "carrier_id")
                            .to("carriers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("carrier_services_code")
                    .table("carrier_services")
                    .col("carrier_id")
                    .col("code")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("shipments")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(uuid("carrier_service_id"))
                    .col(string("carrier_code"))
                    .col(string("service_code"))
                    .col(string("tracking_number"))
                    // created → info_received | in_transit | out_for_delivery
                    // | exception → delivered | returned
                    .col(string("status"))
                    .col(timestamp_with_time_zone_null("status_at"))
                    .col(timestamp_with_time_zone("handed_over_at"))
                    .col(text("price"))
                    .col(string("currency"))
                    .col(date_null("estimated_delivery"))
                    .col(json("selection"))
                    .col(json_null("override"))
                    .col(timestamp_with_time_zone_null("delivered_at"))
                    .col(json_null("proof_of_delivery"))
                    .col(text("created_by"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("shipments", "order_id")
                            .to("orders", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from("shipments", "carrier_service_id")
                            .to("carrier_services", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("packages")
                    .add_column(uuid_null("shipment_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("packages")
                    // Protective measures taken: shock_proof, sealed, hazard_marked.
                    .add_column(json_null("measures"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("courier_accounts")
                    .col(pk_uuid("id"))
                    .col(string("source"))
                    .col(text("name"))
                    .col(text("webhook_secret"))
                    .col(boolean("active"))
                    .col(integer("version"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("courier_pushes")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string("event_id"))
                    .col(string_null("tracking_number"))
                    .col(uuid_null("shipment_id"))
                    // applied | stale | unknown_tracking | ignored
                    .col(string("outcome"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("received_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("courier_pushes", "account_id")
                            .to("courier_accounts", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("tracking_events")
                    .col(pk_uuid("id"))
                    .col(uuid("shipment_id"))
                    // a courier source, or `manual`
                    .col(string("source"))
                    .col(string("status"))
                    .col(string("raw_status"))
                    .col(text_null("message"))
                    .col(text_null("location"))
                    .col(timestamp_with_time_zone_null("occurred_at"))
                    .col(text_null("signed_by"))
                    // Whether it moved the shipment's status (a late event does not).
                    .col(boolean("applied"))
                    .col(text("recorded_by"))
                    .col(timestamp_with_time_zone("recorded_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("tracking_events", "shipment_id")
                            .to("shipments", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        let unique = [
            (
                "courier_pushes_event",
                "courier_pushes",
                &["account_id", "event_id"][..],
            ),
            // A carrier's tracking number names one shipment.
            (
                "shipments_carrier_tracking",
                "shipments",
                &["carrier_code", "tracking_number"][..],
            ),
        ];
        for (name, table, columns) in unique {
            let mut index = Index::create();
            index.name(name).table(table).unique();
            for column in columns {
                index.col(*column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        for (name, table, columns) in [
            ("shipments_order", "shipments", &["order_id", "id"][..]),
            ("shipments_tracking", "shipments", &["tracking_number"][..]),
            (
                "shipments_manifest",
                "shipments",
                &["carrier_code", "handed_over_at"][..],
            ),
            ("packages_shipment", "packages", &["shipment_id"][..]),
            (
                "tracking_events_shipment",
                "tracking_events",
                &["shipment_id", "occurred_at"][..],
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
        for name in ["packages_shipment"] {
            manager
                .drop_index(Index::drop().name(name).table("packages").to_owned())
                .await?;
        }
        for column in ["measures", "shipment_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("packages")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            "tracking_events",
            "courier_pushes",
            "courier_accounts",
            "shipments",
            "carrier_services",
            "carriers",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
