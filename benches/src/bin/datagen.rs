//! `datagen`: fills a Dingdan database with orders in bulk (a million in
//! minutes), so the read path and allocation can be measured at scale. See
//! BENCHMARKS.md.
//!
//! It migrates the database, adds its own customers and products when they
//! are missing (codes `DG-…`), then inserts orders spread over the past year
//! in batches — each order with 1–3 lines, a status drawn from a realistic
//! mix, and a number from the year's counter, which is moved on afterwards so
//! the server keeps numbering without gaps. Orders carry no timeline or
//! reviews: they stand for history.

use std::time::Instant;

use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Duration, Utc};
use clap::Parser;
use dingdan_benches::Rng;
use dingdan_entity::{DecimalText, customer, order, order_line, order_number_counter, product};
use rust_decimal::Decimal;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait as _, Database, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, TransactionTrait as _,
};
use serde_json::json;
use uuid::Uuid;

#[derive(Parser, Debug)]
#[command(about = "Fills a Dingdan database with orders in bulk")]
struct Args {
    /// `sqlite://file.db` or `postgres://…/database` (created by the server's
    /// migrations if new).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many orders to add.
    #[arg(long, default_value_t = 1_000_000)]
    orders: usize,
    /// Orders per transaction.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[arg(long, default_value_t = 200)]
    customers: usize,
    #[arg(long, default_value_t = 1_000)]
    products: usize,
}

/// The status mix of a year of orders.
const STATUSES: [(&str, u64); 9] = [
    ("completed", 55),
    ("delivered", 8),
    ("shipped", 8),
    ("ready_to_ship", 3),
    ("allocated", 8),
    ("approved", 4),
    ("in_review", 4),
    ("pending_info", 4),
    ("cancelled", 6),
];
const CHANNELS: [&str; 7] = ["web", "marketplace", "phone", "fax", "email", "erp", "api"];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let db = dingdan::service::Db::connect(&args.database_url, 2).await?;
    db.migrate().await?;
    db.close().await?;
    let conn = Database::connect(&args.database_url)
        .await
        .context("DATABASE_URL")?;
    let mut rng = Rng::new(0xda7a_9e11);
    let now = Utc::now();
    let customers = ensure_customers(&conn, args.customers, now).await?;
    let products = ensure_products(&conn, args.products, &mut rng, now).await?;
    println!(
        "master data: {} customers, {} products ({:.1} s)",
        customers.len(),
        products.len(),
        started.elapsed().as_secs_f64()
    );
    // Numbers go on from where each year's counter stands.
    let mut last_number: std::collections::BTreeMap<i32, i64> =
        order_number_counter::Entity::find()
            .all(&conn)
            .await?
            .into_iter()
            .map(|c| (c.year, c.last))
            .collect();
    let total_weight: u64 = STATUSES.iter().map(|(_, w)| w).sum();
    let mut inserted = 0;
    let mut lines_inserted = 0;
    while inserted < args.orders {
        let count = args.batch.min(args.orders - inserted);
        let mut rows = Vec::with_capacity(count);
        let mut lines = Vec::with_capacity(count * 2);
        // Creation times rise through the run, over the past year, so ids
        // (time-ordered) and created_at agree as they do in a real database.
        for n in 0..count {
            let position = (inserted + n) as f64 / args.orders as f64;
            let created = now - Duration::seconds(((1.0 - position) * 365.0 * 86_400.0) as i64);
            let id = Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                created.timestamp() as u64,
                created.timestamp_subsec_nanos(),
            ));
            let mut pick = rng.below(total_weight);
            let status = STATUSES
                .iter()
                .find(|(_, weight)| {
                    if pick < *weight {
                        true
                    } else {
                        pick -= weight;
                        false
                    }
                })
                .map_or("completed", |(s, _)| s);
            let (customer_id, region) = &customers[rng.below(customers.len() as u64) as usize];
            let channel = CHANNELS[rng.below(CHANNELS.len() as u64) as usize];
            let number = (status != "pending_info").then(|| {
                let counter = last_number.entry(created.year()).or_insert(0);
                *counter += 1;
                format!("SO-{}-{:06}", created.year(), counter)
            });
            let mut subtotal = Decimal::ZERO;
            let mut tax_total = Decimal::ZERO;
            for line_no in 1..=1 + rng.below(3) as i32 {
                let (product_id, sku, price) = &products[rng.below(products.len() as u64) as usize];
                let quantity = 1 + rng.below(10) as i64;
                let line_subtotal = *price * Decimal::from(quantity);
                let tax = (line_subtotal * Decimal::new(13, 2)).round_dp(2);
                subtotal += line_subtotal;
                tax_total += tax;
                lines.push(order_line::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    order_id: Set(id),
                    line_no: Set(line_no),
                    sku: Set(sku.clone()),
                    product_id: Set(Some(*product_id)),
                    quantity: Set(quantity),
                    unit_price: Set(Some(DecimalText(*price))),
                    price_source: Set("list_price".to_owned()),
                    subtotal: Set(DecimalText(line_subtotal)),
                    discount: Set(DecimalText(Decimal::new(0, 2))),
                    tax_rate: Set(DecimalText(Decimal::new(13, 2))),
                    tax: Set(DecimalText(tax)),
                    total: Set(DecimalText(line_subtotal + tax)),
                    custom_spec: Set(None),
                });
            }
            let confirmed = status != "pending_info";
            let approved = !matches!(status, "pending_info" | "in_review");
            let at = |minutes: i64| Some(created + Duration::minutes(minutes));
            rows.push(order::ActiveModel {
                id: Set(id),
                number: Set(number),
                status: Set(status.to_owned()),
                channel: Set(channel.to_owned()),
                source_account: Set(String::new()),
                external_ref: Set((channel == "marketplace").then(|| format!("MP-{id}"))),
                customer_id: Set(*customer_id),
                currency: Set("CNY".to_owned()),
                ship_to: Set(
                    json!({"name": "Buyer", "phone": "+86 21 5555 0101", "line1": "88 Century Ave",
                                   "line2": null, "city": "Shanghai", "region": region,
                                   "postal_code": "200120", "country": "CN"}),
                ),
                contact: Set(json!({"name": "Buyer", "phone": "+86 21 5555 0101", "email": null})),
                requested_delivery_date: Set(None),
                promised_delivery_date: Set(Some((created + Duration::days(3)).date_naive())),
                special_instructions: Set(None),
                invoice: Set(None),
                subtotal: Set(DecimalText(subtotal)),
                discount_total: Set(DecimalText(Decimal::new(0, 2))),
                tax_total: Set(DecimalText(tax_total)),
                total: Set(DecimalText(subtotal + tax_total)),
                findings: Set(json!([])),
                version: Set(if approved { 4 } else { 2 }),
                created_by: Set("datagen".to_owned()),
                created_at: Set(created),
                updated_at: Set(created + Duration::minutes(30)),
                confirmed_at: Set(if confirmed { at(0) } else { None }),
                cancelled_at: Set(if status == "cancelled" { at(60) } else { None }),
                cancel_reason: Set((status == "cancelled").then(|| "customer withdrew".to_owned())),
                payment_method: Set(None),
                promotions: Set(json!({"applied": [], "missed": []})),
                review_round: Set(i32::from(confirmed)),
                approved_at: Set(if approved { at(1) } else { None }),
                allocated_at: Set(
                    if approved && status != "approved" && status != "cancelled" {
                        at(2)
                    } else {
                        None
                    },
                ),
            });
        }
        let txn = conn.begin().await?;
        order::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        lines_inserted += lines.len();
        // Lines in chunks that stay under SQLite's limit of bound values.
        let mut lines = lines.into_iter().peekable();
        while lines.peek().is_some() {
            let chunk: Vec<_> = lines.by_ref().take(1_000).collect();
            order_line::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        inserted += count;
        if inserted % 50_000 < args.batch || inserted == args.orders {
            println!(
                "{inserted} orders, {lines_inserted} lines ({:.0} orders/s)",
                inserted as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    for (year, last) in last_number {
        order_number_counter::Entity::insert(order_number_counter::ActiveModel {
            year: Set(year),
            last: Set(last),
        })
        .on_conflict(
            OnConflict::column(order_number_counter::Column::Year)
                .update_column(order_number_counter::Column::Last)
                .to_owned(),
        )
        .exec_without_returning(&conn)
        .await?;
    }
    // Fresh statistics for the planner.
    let analyze = if args.database_url.starts_with("sqlite:") {
        "ANALYZE"
    } else {
        "ANALYZE orders; ANALYZE order_lines"
    };
    conn.execute_unprepared(analyze).await?;
    println!(
        "done: {inserted} orders and {lines_inserted} lines in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The generator's customers: `(id, region)`, created when missing.
async fn ensure_customers(
    conn: &sea_orm::DatabaseConnection,
    count: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(Uuid, &'static str)>> {
    const REGIONS: [&str; 6] = ["SH", "ZJ", "BJ", "GD", "SC", "HB"];
    let existing = customer::Entity::find()
        .filter(customer::Column::Code.starts_with("DG-"))
        .count(conn)
        .await?;
    if existing == 0 {
        let rows = (0..count).map(|n| customer::ActiveModel {
            id: Set(Uuid::now_v7()),
            code: Set(format!("DG-C-{n:05}")),
            name: Set(format!("Generated customer {n}")),
            contacts: Set(json!([{"name": "Buyer", "phone": "+86 21 5555 0101", "email": null}])),
            addresses: Set(json!([])),
            currency: Set("CNY".to_owned()),
            credit_limit: Set(DecimalText(Decimal::new(100_000_000, 2))),
            payment_terms_days: Set(30),
            price_tier: Set("standard".to_owned()),
            status: Set("active".to_owned()),
            allow_partial_shipment: Set(true),
            min_shelf_life_days: Set(None),
            payment_methods: Set(json!([])),
            requires_invoice: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        });
        customer::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(customer::Entity::find()
        .filter(customer::Column::Code.starts_with("DG-"))
        .all(conn)
        .await?
        .into_iter()
        .enumerate()
        .map(|(n, c)| (c.id, REGIONS[n % REGIONS.len()]))
        .collect())
}

/// The generator's products: `(id, sku, price)`, created when missing.
async fn ensure_products(
    conn: &sea_orm::DatabaseConnection,
    count: usize,
    rng: &mut Rng,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(Uuid, String, Decimal)>> {
    let existing = product::Entity::find()
        .filter(product::Column::Sku.starts_with("DG-"))
        .count(conn)
        .await?;
    if existing == 0 {
        let rows: Vec<product::ActiveModel> = (0..count)
            .map(|n| product::ActiveModel {
                id: Set(Uuid::now_v7()),
                sku: Set(format!("DG-SKU-{n:05}")),
                name: Set(format!("Generated product {n}")),
                specification: Set(None),
                unit: Set("pcs".to_owned()),
                list_price: Set(DecimalText(Decimal::new(500 + rng.below(50_000) as i64, 2))),
                currency: Set("CNY".to_owned()),
                weight_kg: Set(DecimalText(Decimal::new(50, 2))),
                fragile: Set(false),
                liquid: Set(false),
                hazardous: Set(false),
                perishable: Set(false),
                lot_tracked: Set(false),
                made_to_order: Set(false),
                lead_time_days: Set(0),
                min_shelf_life_days: Set(None),
                tax_rate: Set(DecimalText(Decimal::new(13, 2))),
                active: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .collect();
        for chunk in rows.chunks(500) {
            product::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(conn)
                .await?;
        }
    }
    Ok(product::Entity::find()
        .filter(product::Column::Sku.starts_with("DG-"))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.sku, p.list_price.0))
        .collect())
}
