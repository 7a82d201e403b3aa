//! The allocation engine: which warehouse and lot each order line is served
//! from, and why. Pure: it sees the stock it is given and decides; the
//! service reserves what it decides with conditional updates.
//!
//! The rules, in order:
//! 1. Demand of lines sharing a SKU is added up first.
//! 2. One warehouse that can ship the whole order wins over several; among
//!    those that can, the cheapest. Otherwise the fewest warehouses cover the
//!    order (greedily: the one covering most units first, cheapest on a tie).
//! 3. A warehouse's cost is `distance_km × shipping_cost_factor +
//!    priority × PRIORITY_KM − stock_age_days × STOCK_AGE_KM_PER_DAY`:
//!    distance from the ship-to point (a configured region/postal-prefix
//!    table), the warehouse's shipping cost factor, its priority (0 first),
//!    and how long the stock it would ship has waited there (slow stock first).
//! 4. Within a warehouse, perishable SKUs take lots earliest-expiry first
//!    (FEFO), never an expired lot nor one expiring within the minimum
//!    remaining shelf life; other SKUs take the oldest receipt first (FIFO).
//! 5. What cannot be covered is backordered.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::order::OrderStatus;

/// Whether approved orders are allocated by the server or by people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationMode {
    /// A background job allocates every approved order, oldest first.
    #[default]
    Auto,
    /// Approved orders wait for `POST /orders/{id}/allocation`. Backorders
    /// still complete on their own when stock arrives.
    Manual,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationPolicy {
    pub mode: AllocationMode,
}

/// What a caller asks of an allocation run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocationInput {
    /// Lines whose warehouse (and lot) a person chose.
    pub overrides: Vec<Override>,
    /// Instead of shipping from several warehouses, reserve at the main one
    /// and request transfers of the rest to it; the order waits for them.
    pub consolidate: bool,
}

/// Stock of one lot held for one order line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    pub id: Uuid,
    pub line_no: u32,
    pub sku: String,
    pub warehouse_id: Uuid,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub quantity: i64,
    pub picked: i64,
    pub packed: i64,
    pub overridden: bool,
    pub created_at: DateTime<Utc>,
}

/// Where one order line stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineAllocation {
    pub line_no: u32,
    pub sku: String,
    pub quantity: i64,
    pub reserved: i64,
    pub picked: i64,
    pub packed: i64,
    /// Not reserved yet: waiting for stock (or a transfer).
    pub backordered: i64,
}

/// An order's allocation: the plan in force (or, for a dry run, the plan
/// that would be carried out), what is reserved, and what waits.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    pub order_id: Uuid,
    pub order_status: OrderStatus,
    pub order_version: i32,
    pub dry_run: bool,
    pub plan: Option<Plan>,
    pub planned_at: Option<DateTime<Utc>>,
    pub planned_by: Option<String>,
    pub overrides: Vec<Override>,
    pub lines: Vec<LineAllocation>,
    pub reservations: Vec<Reservation>,
    /// Transfers requested to consolidate the order in one warehouse.
    pub transfer_ids: Vec<Uuid>,
}

/// Each step of warehouse priority weighs like this many kilometres.
pub const PRIORITY_KM: f64 = 100.0;
/// Each day the stock a warehouse would ship has waited there (its turnover)
/// takes this many kilometres off its cost, up to `MAX_STOCK_AGE_DAYS`: slow
/// stock is moved first, other things equal.
pub const STOCK_AGE_KM_PER_DAY: f64 = 0.2;
pub const MAX_STOCK_AGE_DAYS: f64 = 365.0;

/// A point on the globe.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

impl GeoPoint {
    /// Great-circle distance in kilometres (haversine).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.longitude - self.longitude).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

/// A warehouse that may serve orders.
#[derive(Clone, Debug, PartialEq)]
pub struct WarehouseOption {
    pub id: Uuid,
    pub code: String,
    pub location: GeoPoint,
    /// Multiplies the distance: 1 is normal, higher is dearer to ship from.
    pub shipping_cost_factor: f64,
    /// 0 first; each step counts as `PRIORITY_KM`.
    pub priority: i32,
}

/// Stock of one lot, as available to allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotOption {
    pub stock_lot_id: Uuid,
    pub warehouse_id: Uuid,
    pub sku: String,
    pub lot: Option<String>,
    pub received_at: NaiveDate,
    pub expiry_date: Option<NaiveDate>,
    /// On hand less reserved.
    pub available: i64,
}

/// A line still to allocate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemandLine {
    pub line_id: Uuid,
    pub line_no: u32,
    pub sku: String,
    pub quantity: i64,
    pub perishable: bool,
    /// Lots must have at least this many days left on the day of allocation.
    pub min_shelf_life_days: u32,
}

/// A person's choice for one line: a warehouse, and optionally a lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub line_no: u32,
    pub warehouse_id: Uuid,
    pub stock_lot_id: Option<Uuid>,
}

pub struct PlanRequest<'a> {
    pub lines: &'a [DemandLine],
    pub destination: Option<GeoPoint>,
    pub warehouses: &'a [WarehouseOption],
    pub lots: &'a [LotOption],
    pub overrides: &'a [Override],
    pub today: NaiveDate,
}

/// Stock taken from one lot for one line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    pub warehouse_id: Uuid,
    pub warehouse_code: String,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanLine {
    pub line_id: Uuid,
    pub line_no: u32,
    pub sku: String,
    pub quantity: i64,
    pub picks: Vec<Pick>,
    pub backordered: i64,
    /// How its lots were chosen (FEFO, FIFO, an override).
    pub rule: String,
    pub overridden: bool,
}

/// How a warehouse scored, and what became of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub warehouse_id: Uuid,
    pub code: String,
    pub distance_km: Option<f64>,
    pub shipping_cost_factor: f64,
    pub priority: i32,
    /// How long, on average, the stock it would ship has been there.
    #[serde(default)]
    pub stock_age_days: Option<f64>,
    pub score: f64,
    /// Units of the order it could ship.
    pub coverable: i64,
    pub covers_all: bool,
    pub chosen: bool,
    pub reason: String,
}

/// A transfer that would let one warehouse ship what the plan splits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferProposal {
    pub sku: String,
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    pub quantity: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One warehouse ships everything.
    SingleWarehouse,
    /// Several warehouses, as few as cover the order.
    FewestWarehouses,
    /// Nothing could be allocated.
    Backorder,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub strategy: Strategy,
    pub lines: Vec<PlanLine>,
    pub candidates: Vec<Candidate>,
    pub transfers_proposed: Vec<TransferProposal>,
    /// For people: what the plan does and why.
    pub summary: String,
}

impl Plan {
    pub fn backordered(&self) -> i64 {
        self.lines.iter().map(|l| l.backordered).sum()
    }

    pub fn allocated(&self) -> i64 {
        self.lines
            .iter()
            .flat_map(|l| &l.picks)
            .map(|p| p.quantity)
            .sum()
    }
}

/// Why an override cannot be followed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("line {0} is not on the order or needs nothing")]
    UnknownLine(u32),
    #[error("line {line_no}: warehouse {warehouse} is not one that can ship")]
    UnknownWarehouse { line_no: u32, warehouse: Uuid },
    #[error(
        "line {line_no}: lot {lot} is not eligible stock of {sku} in that warehouse (expired, too short-dated or another SKU)"
    )]
    IneligibleLot {
        line_no: u32,
        lot: Uuid,
        sku: String,
    },
    #[error(
        "line {line_no}: the chosen warehouse/lot has {available} of {sku} available, {needed} needed"
    )]
    Insufficient {
        line_no: u32,
        sku: String,
        available: i64,
        needed: i64,
    },
}

/// Whether a lot may serve a line today.
fn eligible(lot: &LotOption, line: &DemandLine, today: NaiveDate) -> bool {
    if lot.sku != line.sku || lot.available <= 0 {
        return false;
    }
    match lot.expiry_date {
        None => true,
        Some(expiry) => {
            // Sellable until the day before it expires, and with the
            // minimum shelf life left.
            expiry > today
                && expiry >= today + chrono::Days::new(u64::from(line.min_shelf_life_days))
        }
    }
}

/// Orders lots: FEFO for perishable SKUs (then oldest receipt), FIFO for the rest.
fn lot_order(perishable: bool) -> impl Fn(&&LotOption, &&LotOption) -> std::cmp::Ordering {
    move |a, b| {
        let fifo = a
            .received_at
            .cmp(&b.received_at)
            .then(a.stock_lot_id.cmp(&b.stock_lot_id));
        if perishable {
            // A lot without an expiry date sorts last among perishables.
            let expiry = |l: &LotOption| l.expiry_date.unwrap_or(NaiveDate::MAX);
            expiry(a).cmp(&expiry(b)).then(fifo)
        } else {
            fifo
        }
    }
}

fn rule_of(line: &DemandLine) -> String {
    if line.perishable {
        if line.min_shelf_life_days > 0 {
            format!(
                "FEFO: earliest expiry first, at least {} days of shelf life left",
                line.min_shelf_life_days
            )
        } else {
            "FEFO: earliest expiry first, never an expired lot".to_owned()
        }
    } else {
        "FIFO: oldest receipt first".to_owned()
    }
}

/// Plans the allocation of `request.lines`.
pub fn plan(request: &PlanRequest<'_>) -> Result<Plan, OverrideError> {
    let today = request.today;
    // Available stock per (warehouse, SKU), eligible lots only. A SKU's lines
    // may have different shelf-life needs; eligibility is per line, so count
    // per line when summing per SKU.
    let mut by_line: HashMap<u32, Vec<&LotOption>> = HashMap::new();
    for line in request.lines {
        let mut lots: Vec<&LotOption> = request
            .lots
            .iter()
            .filter(|l| eligible(l, line, today))
            .collect();
        lots.sort_by(lot_order(line.perishable));
        by_line.insert(line.line_no, lots);
    }
    // What each lot still has while this plan takes from it.
    let mut remaining: HashMap<Uuid, i64> = request
        .lots
        .iter()
        .map(|l| (l.stock_lot_id, l.available))
        .collect();
    let warehouse_code: HashMap<Uuid, &str> = request
        .warehouses
        .iter()
        .map(|w| (w.id, w.code.as_str()))
        .collect();

    let mut lines: Vec<PlanLine> = request
        .lines
        .iter()
        .map(|line| PlanLine {
            line_id: line.line_id,
            line_no: line.line_no,
            sku: line.sku.clone(),
            quantity: line.quantity,
            picks: Vec::new(),
            backordered: line.quantity,
            rule: rule_of(line),
            overridden: false,
        })
        .collect();

    // Overrides first: a person's choice binds.
    for choice in request.overrides {
        let index = request
            .lines
            .iter()
            .position(|l| l.line_no == choice.line_no && l.quantity > 0)
            .ok_or(OverrideError::UnknownLine(choice.line_no))?;
        let line = &request.lines[index];
        if !warehouse_code.contains_key(&choice.warehouse_id) {
            return Err(OverrideError::UnknownWarehouse {
                line_no: line.line_no,
                warehouse: choice.warehouse_id,
            });
        }
        let lots: Vec<&LotOption> = by_line[&line.line_no]
            .iter()
            .copied()
            .filter(|l| l.warehouse_id == choice.warehouse_id)
            .filter(|l| choice.stock_lot_id.is_none_or(|id| id == l.stock_lot_id))
            .collect();
        if let Some(lot) = choice.stock_lot_id
            && lots.is_empty()
        {
            return Err(OverrideError::IneligibleLot {
                line_no: line.line_no,
                lot,
                sku: line.sku.clone(),
            });
        }
        let available: i64 = lots.iter().map(|l| remaining[&l.stock_lot_id]).sum();
        if available < line.quantity {
            return Err(OverrideError::Insufficient {
                line_no: line.line_no,
                sku: line.sku.clone(),
                available,
                needed: line.quantity,
            });
        }
        take(
            &mut lines[index],
            line.quantity,
            &lots,
            &mut remaining,
            &warehouse_code,
        );
        lines[index].overridden = true;
        lines[index].rule = match choice.stock_lot_id {
            Some(_) => "override: warehouse and lot chosen by a person".to_owned(),
            None => format!("override: warehouse chosen by a person; {}", rule_of(line)),
        };
    }

    // Candidates: every warehouse, scored.
    let open: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].backordered > 0)
        .collect();
    let coverable =
        |warehouse: Uuid, remaining: &HashMap<Uuid, i64>, lines: &[PlanLine]| -> (i64, bool) {
            // Per SKU, the eligible stock here against the open demand of the SKU.
            let mut demand: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
            let mut counted: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
            for i in (0..lines.len()).filter(|i| lines[*i].backordered > 0) {
                let entry = demand.entry(lines[i].sku.as_str()).or_default();
                entry.0 += lines[i].backordered;
                for lot in by_line[&lines[i].line_no]
                    .iter()
                    .filter(|l| l.warehouse_id == warehouse)
                {
                    if counted.insert(lot.stock_lot_id) {
                        entry.1 += remaining[&lot.stock_lot_id];
                    }
                }
            }
            let units: i64 = demand.values().map(|(need, have)| (*need).min(*have)).sum();
            let all = demand.values().all(|(need, have)| have >= need);
            (units, all)
        };
    let mut candidates: Vec<Candidate> = request
        .warehouses
        .iter()
        .map(|w| {
            let distance = request.destination.map(|d| w.location.distance_km(&d));
            let age = stock_age(w.id, &lines, &by_line, today);
            let score = distance.unwrap_or(0.0) * w.shipping_cost_factor
                + f64::from(w.priority) * PRIORITY_KM
                - age.unwrap_or(0.0).min(MAX_STOCK_AGE_DAYS) * STOCK_AGE_KM_PER_DAY;
            let (units, all) = coverable(w.id, &remaining, &lines);
            Candidate {
                warehouse_id: w.id,
                code: w.code.clone(),
                distance_km: distance.map(|d| (d * 10.0).round() / 10.0),
                shipping_cost_factor: w.shipping_cost_factor,
                priority: w.priority,
                stock_age_days: age.map(|a| (a * 10.0).round() / 10.0),
                score: (score * 10.0).round() / 10.0,
                coverable: units,
                covers_all: all && units > 0,
                chosen: false,
                reason: String::new(),
            }
        })
        .collect();
    candidates.sort_by(|a, b| a.score.total_cmp(&b.score).then(a.code.cmp(&b.code)));

    let mut strategy = Strategy::Backorder;
    if !open.is_empty() {
        if let Some(best) = candidates.iter().position(|c| c.covers_all) {
            strategy = Strategy::SingleWarehouse;
            let id = candidates[best].warehouse_id;
            allocate_from(&mut lines, id, &by_line, &mut remaining, &warehouse_code);
            candidates[best].chosen = true;
            candidates[best].reason =
                "ships the whole order, at the lowest cost of those that can".to_owned();
        } else {
            // The fewest warehouses: the cheapest pair that covers the order,
            // else the cheapest triple; beyond that (or when even all
            // warehouses together cannot cover it), greedily the one covering
            // most of what is left, the cheapest on a tie.
            let mut used = 0;
            if let Some(set) = smallest_cover(&candidates, &lines, &by_line, &remaining) {
                let size = set.len();
                for index in set {
                    let id = candidates[index].warehouse_id;
                    allocate_from(&mut lines, id, &by_line, &mut remaining, &warehouse_code);
                    candidates[index].chosen = true;
                    candidates[index].reason = format!(
                        "no warehouse ships everything; with {} other{} it covers the order: the fewest warehouses that can, at the lowest cost",
                        size - 1,
                        if size == 2 { "" } else { "s" }
                    );
                    used += 1;
                }
            }
            loop {
                if lines.iter().all(|l| l.backordered == 0) {
                    break;
                }
                // Candidates are in cost order, so on a tie in units the first
                // (cheapest, then by code) wins.
                let best = candidates
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.chosen)
                    .map(|(i, c)| (i, coverable(c.warehouse_id, &remaining, &lines).0, c.score))
                    .filter(|(_, units, _)| *units > 0)
                    .min_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                let Some((index, units, _)) = best else {
                    break;
                };
                let id = candidates[index].warehouse_id;
                allocate_from(&mut lines, id, &by_line, &mut remaining, &warehouse_code);
                candidates[index].chosen = true;
                candidates[index].reason = format!(
                    "no warehouse ships everything; this one covers the most of what was left ({units} units)"
                );
                used += 1;
                if lines.iter().all(|l| l.backordered == 0) {
                    break;
                }
            }
            if used > 0 {
                strategy = Strategy::FewestWarehouses;
            }
        }
    } else if lines.iter().any(|l| l.overridden) {
        strategy = Strategy::SingleWarehouse;
    }
    for candidate in candidates.iter_mut().filter(|c| !c.chosen) {
        candidate.reason = if candidate.covers_all {
            "could ship everything, but costs more".to_owned()
        } else if candidate.coverable == 0 {
            "has none of the stock needed".to_owned()
        } else {
            format!("not needed: covers {} units", candidate.coverable)
        };
    }
    if lines.iter().any(|l| l.overridden) {
        let used: Vec<Uuid> = lines
            .iter()
            .flat_map(|l| l.picks.iter().map(|p| p.warehouse_id))
            .collect();
        let distinct = {
            let mut u = used.clone();
            u.sort();
            u.dedup();
            u.len()
        };
        if distinct > 1 {
            strategy = Strategy::FewestWarehouses;
        }
        for candidate in candidates
            .iter_mut()
            .filter(|c| used.contains(&c.warehouse_id))
        {
            if !candidate.chosen {
                candidate.chosen = true;
                candidate.reason = "chosen by an override".to_owned();
            }
        }
    }

    let transfers_proposed = propose_transfers(&lines, &candidates);
    let summary = summarize(strategy, &lines, &candidates);
    Ok(Plan {
        strategy,
        lines,
        candidates,
        transfers_proposed,
        summary,
    })
}

/// The average age in days, weighted by units, of the eligible stock of the
/// open lines' SKUs in one warehouse; `None` when it has none.
fn stock_age(
    warehouse: Uuid,
    lines: &[PlanLine],
    by_line: &HashMap<u32, Vec<&LotOption>>,
    today: NaiveDate,
) -> Option<f64> {
    let mut seen = std::collections::HashSet::new();
    let (mut units, mut weighted) = (0_i64, 0_f64);
    for line in lines.iter().filter(|l| l.backordered > 0) {
        for lot in by_line[&line.line_no]
            .iter()
            .filter(|l| l.warehouse_id == warehouse)
        {
            if seen.insert(lot.stock_lot_id) {
                let days = (today - lot.received_at).num_days().max(0);
                units += lot.available;
                weighted += lot.available as f64 * days as f64;
            }
        }
    }
    (units > 0).then(|| weighted / units as f64)
}

/// The cheapest set of two or three warehouses that together hold every
/// open line's SKU in full (candidates are in cost order), as indices into
/// `candidates` in that order; `None` when no such set exists.
fn smallest_cover(
    candidates: &[Candidate],
    lines: &[PlanLine],
    by_line: &HashMap<u32, Vec<&LotOption>>,
    remaining: &HashMap<Uuid, i64>,
) -> Option<Vec<usize>> {
    // Open demand per SKU, and what each warehouse holds of it (eligible lots
    // of any line of that SKU, each lot counted once).
    let mut skus: Vec<&str> = Vec::new();
    let mut need: Vec<i64> = Vec::new();
    for line in lines.iter().filter(|l| l.backordered > 0 && !l.overridden) {
        match skus.iter().position(|s| *s == line.sku) {
            Some(i) => need[i] += line.backordered,
            None => {
                skus.push(&line.sku);
                need.push(line.backordered);
            }
        }
    }
    if skus.is_empty() {
        return None;
    }
    let mut have: Vec<Vec<i64>> = vec![vec![0; skus.len()]; candidates.len()];
    let mut counted = std::collections::HashSet::new();
    for line in lines.iter().filter(|l| l.backordered > 0 && !l.overridden) {
        let s = skus.iter().position(|x| *x == line.sku).unwrap_or(0);
        for lot in &by_line[&line.line_no] {
            if counted.insert(lot.stock_lot_id)
                && let Some(w) = candidates
                    .iter()
                    .position(|c| c.warehouse_id == lot.warehouse_id)
            {
                have[w][s] += remaining.get(&lot.stock_lot_id).copied().unwrap_or(0);
            }
        }
    }
    let useful: Vec<usize> = (0..candidates.len())
        .filter(|w| have[*w].iter().any(|q| *q > 0))
        .collect();
    // Not even all of them together: no exact cover to look for.
    if (0..skus.len()).any(|s| useful.iter().map(|w| have[*w][s]).sum::<i64>() < need[s]) {
        return None;
    }
    let covers = |set: &[usize]| {
        (0..skus.len()).all(|s| set.iter().map(|w| have[*w][s]).sum::<i64>() >= need[s])
    };
    let cost = |set: &[usize]| set.iter().map(|w| candidates[*w].score).sum::<f64>();
    let mut best: Option<(f64, Vec<usize>)> = None;
    for (i, a) in useful.iter().enumerate() {
        for b in &useful[i + 1..] {
            let set = [*a, *b];
            if covers(&set) && best.as_ref().is_none_or(|(c, _)| cost(&set) < *c) {
                best = Some((cost(&set), set.to_vec()));
            }
        }
    }
    if best.is_none() {
        for (i, a) in useful.iter().enumerate() {
            for (j, b) in useful.iter().enumerate().skip(i + 1) {
                for c in &useful[j + 1..] {
                    let set = [*a, *b, *c];
                    if covers(&set) && best.as_ref().is_none_or(|(k, _)| cost(&set) < *k) {
                        best = Some((cost(&set), set.to_vec()));
                    }
                }
            }
        }
    }
    best.map(|(_, set)| set)
}

/// Takes what the open lines need from one warehouse, line by line.
fn allocate_from(
    lines: &mut [PlanLine],
    warehouse: Uuid,
    by_line: &HashMap<u32, Vec<&LotOption>>,
    remaining: &mut HashMap<Uuid, i64>,
    codes: &HashMap<Uuid, &str>,
) {
    for line in lines
        .iter_mut()
        .filter(|l| l.backordered > 0 && !l.overridden)
    {
        let lots: Vec<&LotOption> = by_line[&line.line_no]
            .iter()
            .copied()
            .filter(|l| l.warehouse_id == warehouse)
            .collect();
        let need = line.backordered;
        take(line, need, &lots, remaining, codes);
    }
}

/// Takes up to `need` from `lots` (already in rule order) into `line`.
fn take(
    line: &mut PlanLine,
    need: i64,
    lots: &[&LotOption],
    remaining: &mut HashMap<Uuid, i64>,
    codes: &HashMap<Uuid, &str>,
) {
    let mut need = need;
    for lot in lots {
        if need == 0 {
            break;
        }
        let left = remaining.get_mut(&lot.stock_lot_id).map_or(0, |r| *r);
        let quantity = left.min(need);
        if quantity <= 0 {
            continue;
        }
        if let Some(r) = remaining.get_mut(&lot.stock_lot_id) {
            *r -= quantity;
        }
        need -= quantity;
        line.backordered -= quantity;
        match line
            .picks
            .iter_mut()
            .find(|p| p.stock_lot_id == lot.stock_lot_id)
        {
            Some(pick) => pick.quantity += quantity,
            None => line.picks.push(Pick {
                warehouse_id: lot.warehouse_id,
                warehouse_code: codes
                    .get(&lot.warehouse_id)
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                stock_lot_id: lot.stock_lot_id,
                lot: lot.lot.clone(),
                expiry_date: lot.expiry_date,
                quantity,
            }),
        }
    }
}

/// When the plan ships from several warehouses, what moving the smaller parts
/// to the main one would take.
fn propose_transfers(lines: &[PlanLine], candidates: &[Candidate]) -> Vec<TransferProposal> {
    let mut per_warehouse: BTreeMap<Uuid, i64> = BTreeMap::new();
    for pick in lines.iter().flat_map(|l| &l.picks) {
        *per_warehouse.entry(pick.warehouse_id).or_default() += pick.quantity;
    }
    if per_warehouse.len() < 2 {
        return Vec::new();
    }
    // The main warehouse: the one shipping most, cheapest on a tie.
    let score = |id: &Uuid| {
        candidates
            .iter()
            .find(|c| c.warehouse_id == *id)
            .map_or(f64::MAX, |c| c.score)
    };
    let Some(main) = per_warehouse
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(score(b.0).total_cmp(&score(a.0))))
        .map(|(id, _)| *id)
    else {
        return Vec::new();
    };
    let mut proposals: BTreeMap<(String, Uuid), i64> = BTreeMap::new();
    for line in lines {
        for pick in line.picks.iter().filter(|p| p.warehouse_id != main) {
            *proposals
                .entry((line.sku.clone(), pick.warehouse_id))
                .or_default() += pick.quantity;
        }
    }
    proposals
        .into_iter()
        .map(|((sku, from), quantity)| TransferProposal {
            sku,
            from_warehouse_id: from,
            to_warehouse_id: main,
            quantity,
        })
        .collect()
}

fn summarize(strategy: Strategy, lines: &[PlanLine], candidates: &[Candidate]) -> String {
    let chosen: Vec<&str> = candidates
        .iter()
        .filter(|c| c.chosen)
        .map(|c| c.code.as_str())
        .collect();
    let backordered: i64 = lines.iter().map(|l| l.backordered).sum();
    let allocated: i64 = lines
        .iter()
        .flat_map(|l| &l.picks)
        .map(|p| p.quantity)
        .sum();
    let mut text = match strategy {
        Strategy::SingleWarehouse => format!("{allocated} units from {}", chosen.join(", ")),
        Strategy::FewestWarehouses => format!(
            "{allocated} units from {} warehouses: {}",
            chosen.len(),
            chosen.join(", ")
        ),
        Strategy::Backorder => "no eligible stock".to_owned(),
    };
    if backordered > 0 {
        text.push_str(&format!("; {backordered} units backordered"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn warehouse(code: &str, lat: f64, lon: f64) -> WarehouseOption {
        WarehouseOption {
            id: Uuid::now_v7(),
            code: code.into(),
            location: GeoPoint {
                latitude: lat,
                longitude: lon,
            },
            shipping_cost_factor: 1.0,
            priority: 0,
        }
    }

    fn lot(
        warehouse: &WarehouseOption,
        sku: &str,
        received: u32,
        expiry: Option<u32>,
        available: i64,
    ) -> LotOption {
        LotOption {
            stock_lot_id: Uuid::now_v7(),
            warehouse_id: warehouse.id,
            sku: sku.into(),
            lot: Some(format!("L{received}")),
            received_at: day(received),
            expiry_date: expiry.map(|d| NaiveDate::from_ymd_opt(2027, 1, d).unwrap()),
            available,
        }
    }

    fn line(no: u32, sku: &str, quantity: i64, perishable: bool) -> DemandLine {
        DemandLine {
            line_id: Uuid::now_v7(),
            line_no: no,
            sku: sku.into(),
            quantity,
            perishable,
            min_shelf_life_days: 0,
        }
    }

    const SHANGHAI: GeoPoint = GeoPoint {
        latitude: 31.23,
        longitude: 121.47,
    };

    #[test]
    fn one_warehouse_that_ships_everything_beats_a_nearer_one_that_cannot() {
        let near = warehouse("SH", 31.2, 121.5);
        let far = warehouse("BJ", 39.9, 116.4);
        let lots = [lot(&near, "A", 1, None, 5), lot(&far, "A", 1, None, 10)];
        let lines = [line(1, "A", 8, false)];
        let plan = plan(&PlanRequest {
            lines: &lines,
            destination: Some(SHANGHAI),
            warehouses: &[near.clone(), far.clone()],
            lots: &lots,
            overrides: &[],
            today: day(1),
        })
        .unwrap();
        assert_eq!(plan.strategy, Strategy::SingleWarehouse);
        assert_eq!(plan.lines[0].picks[0].warehouse_id, far.id);
        let near_candidate = plan.candidates.iter().find(|c| c.code == "SH").unwrap();
        assert!(!near_candidate.covers_all && near_candidate.score < plan.candidates[1].score);
    }

    #[test]
    fn lines_sharing_a_sku_are_added_up_and_split_over_the_fewest_warehouses() {
        let a = warehouse("A", 31.0, 121.0);
        let b = warehouse("B", 32.0, 120.0);
        let c = warehouse("C", 30.0, 120.0);
        let lots = [
            lot(&a, "X", 1, None, 4),
            lot(&b, "X", 1, None, 7),
            lot(&c, "X", 1, None, 2),
        ];
        let lines = [line(1, "X", 5, false), line(2, "X", 4, false)];
        let plan = plan(&PlanRequest {
            lines: &lines,
            destination: None,
            warehouses: &[a.clone(), b.clone(), c.clone()],
            lots: &lots,
            overrides: &[],
            today: day(1),
        })
        .unwrap();
        assert_eq!(plan.strategy, Strategy::FewestWarehouses);
        let used: Vec<&str> = plan
            .candidates
            .iter()
            .filter(|c| c.chosen)
            .map(|c| c.code.as_str())
            .collect();
        assert_eq!(used, vec!["A", "B"]);
        assert_eq!(plan.allocated(), 9);
        assert_eq!(plan.backordered(), 0);
        assert_eq!(plan.transfers_proposed.len(), 1);
        assert_eq!(plan.transfers_proposed[0].to_warehouse_id, b.id);
    }

    #[test]
    fn perishables_go_earliest_expiry_first_and_keep_their_shelf_life() {
        let w = warehouse("W", 31.0, 121.0);
        let lots = [
            lot(&w, "MILK", 1, Some(20), 5),
            lot(&w, "MILK", 2, Some(10), 5),
            lot(&w, "MILK", 3, Some(5), 5),
        ];
        let mut milk = line(1, "MILK", 7, true);
        // Allocated on 2027-01-01 with 7 days of shelf life needed: the lot
        // expiring on the 5th is out.
        milk.min_shelf_life_days = 7;
        let plan = plan(&PlanRequest {
            lines: &[milk],
            destination: None,
            warehouses: std::slice::from_ref(&w),
            lots: &lots,
            overrides: &[],
            today: NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        })
        .unwrap();
        let expiries: Vec<u32> = plan.lines[0]
            .picks
            .iter()
            .map(|p| chrono::Datelike::day(&p.expiry_date.unwrap()))
            .collect();
        assert_eq!(expiries, vec![10, 20]);
        assert_eq!(plan.lines[0].picks[0].quantity, 5);
        assert!(plan.lines[0].rule.starts_with("FEFO"));
    }

    #[test]
    fn others_go_oldest_receipt_first_and_shortfalls_are_backordered() {
        let w = warehouse("W", 31.0, 121.0);
        let lots = [lot(&w, "BOLT", 9, None, 3), lot(&w, "BOLT", 2, None, 3)];
        let plan = plan(&PlanRequest {
            lines: &[line(1, "BOLT", 10, false)],
            destination: None,
            warehouses: std::slice::from_ref(&w),
            lots: &lots,
            overrides: &[],
            today: day(20),
        })
        .unwrap();
        assert_eq!(plan.lines[0].picks[0].lot.as_deref(), Some("L2"));
        assert_eq!(plan.lines[0].backordered, 4);
        assert!(plan.summary.contains("4 units backordered"));
    }

    #[test]
    fn overrides_bind_and_are_checked() {
        let near = warehouse("SH", 31.2, 121.5);
        let far = warehouse("BJ", 39.9, 116.4);
        let far_lot = lot(&far, "A", 1, None, 10);
        let lots = [lot(&near, "A", 1, None, 10), far_lot.clone()];
        let lines = [line(1, "A", 4, false)];
        let request = |overrides: &[Override]| {
            plan(&PlanRequest {
                lines: &lines,
                destination: Some(SHANGHAI),
                warehouses: &[near.clone(), far.clone()],
                lots: &lots,
                overrides,
                today: day(1),
            })
        };
        let chosen = request(&[Override {
            line_no: 1,
            warehouse_id: far.id,
            stock_lot_id: Some(far_lot.stock_lot_id),
        }])
        .unwrap();
        assert_eq!(chosen.lines[0].picks[0].warehouse_id, far.id);
        assert!(chosen.lines[0].overridden);
        let too_much = request(&[Override {
            line_no: 1,
            warehouse_id: far.id,
            stock_lot_id: Some(Uuid::nil()),
        }]);
        assert!(matches!(too_much, Err(OverrideError::IneligibleLot { .. })));
        assert!(matches!(
            request(&[Override {
                line_no: 9,
                warehouse_id: far.id,
                stock_lot_id: None
            }]),
            Err(OverrideError::UnknownLine(9))
        ));
    }

    #[test]
    fn cost_factor_and_priority_weigh_with_distance() {
        let near_but_dear = WarehouseOption {
            shipping_cost_factor: 30.0,
            ..warehouse("DEAR", 31.3, 121.5)
        };
        let far_but_cheap = warehouse("CHEAP", 32.0, 120.0);
        let lots = [
            lot(&near_but_dear, "A", 1, None, 10),
            lot(&far_but_cheap, "A", 1, None, 10),
        ];
        let plan = plan(&PlanRequest {
            lines: &[line(1, "A", 1, false)],
            destination: Some(SHANGHAI),
            warehouses: &[near_but_dear, far_but_cheap.clone()],
            lots: &lots,
            overrides: &[],
            today: day(1),
        })
        .unwrap();
        assert_eq!(plan.lines[0].picks[0].warehouse_code, "CHEAP");
    }

    #[test]
    fn the_fewest_warehouses_is_an_exact_cover_not_the_greedy_one() {
        // W1 has some of both; W2 all the X, W3 all the Y. Greedy takes W1
        // first and needs all three; two suffice.
        let w1 = warehouse("W1", 31.2, 121.5);
        let w2 = warehouse("W2", 31.3, 121.4);
        let w3 = warehouse("W3", 31.1, 121.6);
        let lots = [
            lot(&w1, "X", 1, None, 3),
            lot(&w1, "Y", 1, None, 3),
            lot(&w2, "X", 1, None, 4),
            lot(&w3, "Y", 1, None, 4),
        ];
        let plan = plan(&PlanRequest {
            lines: &[line(1, "X", 4, false), line(2, "Y", 4, false)],
            destination: Some(SHANGHAI),
            warehouses: &[w1.clone(), w2.clone(), w3.clone()],
            lots: &lots,
            overrides: &[],
            today: day(1),
        })
        .unwrap();
        let mut used: Vec<&str> = plan
            .candidates
            .iter()
            .filter(|c| c.chosen)
            .map(|c| c.code.as_str())
            .collect();
        used.sort_unstable();
        assert_eq!(used, vec!["W2", "W3"], "{}", plan.summary);
        assert_eq!(plan.backordered(), 0);
    }

    #[test]
    fn a_lot_expiring_today_is_not_sold_and_older_stock_goes_first() {
        let w = warehouse("W", 31.0, 121.0);
        let lots = [lot(&w, "MILK", 1, Some(1), 5)];
        let today = NaiveDate::from_ymd_opt(2027, 1, 1).unwrap();
        let plan_today = plan(&PlanRequest {
            lines: &[line(1, "MILK", 1, true)],
            destination: None,
            warehouses: std::slice::from_ref(&w),
            lots: &lots,
            overrides: &[],
            today,
        })
        .unwrap();
        assert_eq!(plan_today.backordered(), 1, "it expires today");
        // Two equally near warehouses: the one whose stock has waited longer.
        let fresh = warehouse("FRESH", 31.0, 121.0);
        let stale = warehouse("STALE", 31.0, 121.0);
        let lots = [
            lot(&fresh, "BOLT", 19, None, 5),
            lot(&stale, "BOLT", 1, None, 5),
        ];
        let chosen = plan(&PlanRequest {
            lines: &[line(1, "BOLT", 2, false)],
            destination: Some(SHANGHAI),
            warehouses: &[fresh, stale],
            lots: &lots,
            overrides: &[],
            today: day(20),
        })
        .unwrap();
        assert_eq!(chosen.lines[0].picks[0].warehouse_code, "STALE");
        let stale_candidate = chosen
            .candidates
            .iter()
            .find(|c| c.code == "STALE")
            .unwrap();
        assert_eq!(stale_candidate.stock_age_days, Some(19.0));
    }

    #[test]
    fn distance_is_great_circle() {
        let beijing = GeoPoint {
            latitude: 39.9042,
            longitude: 116.4074,
        };
        let km = SHANGHAI.distance_km(&beijing);
        assert!((1060.0..1075.0).contains(&km), "{km}");
    }
}
