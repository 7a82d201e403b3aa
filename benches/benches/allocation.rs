//! The allocation engine on a large synthetic world: 10,000 orders × 50
//! warehouses × 1,000 SKUs (about 60,000 lots). Each order gets the plan the
//! service would ask for: its lines, the lots of its SKUs, every warehouse.
//!
//! `cargo bench -p dingdan-benches --bench allocation` prints criterion's
//! timing (with throughput in orders per second) and, first, a plain figure
//! from one pass over all orders.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dingdan::domain::allocation::{
    DemandLine, GeoPoint, LotOption, PlanRequest, WarehouseOption, plan,
};
use dingdan_benches::Rng;
use uuid::Uuid;

const ORDERS: usize = 10_000;
const WAREHOUSES: usize = 50;
const SKUS: usize = 1_000;

struct World {
    warehouses: Vec<WarehouseOption>,
    lots_by_sku: HashMap<String, Vec<LotOption>>,
    orders: Vec<(Vec<DemandLine>, GeoPoint)>,
    today: NaiveDate,
}

fn world() -> World {
    let mut rng = Rng::new(20_261_127);
    let today = NaiveDate::from_ymd_opt(2026, 11, 27).expect("a date");
    // Warehouses spread over eastern and central China.
    let warehouses: Vec<WarehouseOption> = (0..WAREHOUSES)
        .map(|i| WarehouseOption {
            id: Uuid::from_u128(i as u128 + 1),
            code: format!("WH-{i:02}"),
            location: GeoPoint {
                latitude: rng.between(22.0, 42.0),
                longitude: rng.between(102.0, 122.0),
            },
            shipping_cost_factor: rng.between(0.8, 1.5),
            priority: (rng.below(3)) as i32,
        })
        .collect();
    // Each warehouse stocks about 60 % of the SKUs, in one to three lots;
    // one SKU in five is perishable.
    let mut lots_by_sku: HashMap<String, Vec<LotOption>> = HashMap::new();
    let mut lot_id = 0_u128;
    for sku in 0..SKUS {
        let name = format!("SKU-{sku:04}");
        let perishable = sku.is_multiple_of(5);
        let lots = lots_by_sku.entry(name.clone()).or_default();
        for w in &warehouses {
            if rng.below(10) >= 6 {
                continue;
            }
            for _ in 0..=rng.below(3) {
                lot_id += 1;
                let received = today - chrono::Days::new(rng.below(120));
                lots.push(LotOption {
                    stock_lot_id: Uuid::from_u128(1_000_000 + lot_id),
                    warehouse_id: w.id,
                    sku: name.clone(),
                    lot: Some(format!("L{lot_id}")),
                    received_at: received,
                    expiry_date: perishable
                        .then(|| received + chrono::Days::new(30 + rng.below(200))),
                    available: 1 + rng.below(40) as i64,
                });
            }
        }
    }
    let orders = (0..ORDERS)
        .map(|_| {
            let lines = (0..1 + rng.below(5))
                .map(|n| {
                    let sku = rng.below(SKUS as u64) as usize;
                    DemandLine {
                        line_id: Uuid::now_v7(),
                        line_no: n as u32 + 1,
                        sku: format!("SKU-{sku:04}"),
                        quantity: 1 + rng.below(30) as i64,
                        perishable: sku.is_multiple_of(5),
                        min_shelf_life_days: if sku.is_multiple_of(5) { 14 } else { 0 },
                    }
                })
                .collect();
            let to = GeoPoint {
                latitude: rng.between(22.0, 42.0),
                longitude: rng.between(102.0, 122.0),
            };
            (lines, to)
        })
        .collect();
    World {
        warehouses,
        lots_by_sku,
        orders,
        today,
    }
}

/// Plans every order once; returns the units allocated (so nothing is
/// optimised away).
fn plan_all(world: &World) -> i64 {
    let mut allocated = 0;
    for (lines, to) in &world.orders {
        let lots: Vec<LotOption> = lines
            .iter()
            .flat_map(|l| world.lots_by_sku.get(&l.sku).into_iter().flatten())
            .cloned()
            .collect();
        let planned = plan(&PlanRequest {
            lines,
            destination: Some(*to),
            warehouses: &world.warehouses,
            lots: &lots,
            overrides: &[],
            today: world.today,
        })
        .expect("no overrides, no errors");
        allocated += planned.allocated();
    }
    allocated
}

fn allocation(c: &mut Criterion) {
    let world = world();
    let lots: usize = world.lots_by_sku.values().map(Vec::len).sum();
    let started = Instant::now();
    let allocated = plan_all(&world);
    let elapsed = started.elapsed();
    println!(
        "allocation engine: {ORDERS} orders × {WAREHOUSES} warehouses × {SKUS} SKUs ({lots} lots): \
         {:.0} plans/s ({:.1} µs per plan, {allocated} units planned)",
        ORDERS as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / ORDERS as f64,
    );
    let mut group = c.benchmark_group("allocation");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ORDERS as u64));
    group.bench_function("plan 10k orders", |b| {
        b.iter(|| black_box(plan_all(&world)))
    });
    group.finish();
}

criterion_group!(benches, allocation);
criterion_main!(benches);
