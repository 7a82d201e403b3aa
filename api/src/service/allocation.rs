//! Allocation: which warehouse and lot serve each approved order, carried out
//! as reservations that can never oversell.
//!
//! The engine (`domain::allocation`) decides from the stock it is shown; this
//! module shows it the stock, then reserves what it decided with one
//! conditional `UPDATE` per lot (the demand of lines sharing a lot added up
//! first). When a concurrent allocation took the stock between the read and
//! the write, the guard refuses, the savepoint is rolled back and the plan is
//! made again from fresh stock. Every reservation and release is a ledger
//! movement written in the same transaction.
//!
//! Orders waiting for stock (backordered, or partially allocated) are
//! allocated again, oldest approval first, by a background job queued
//! whenever stock arrives; in `auto` mode the same job allocates every newly
//! approved order.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, LockType, Query};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait,
    DatabaseTransaction, EntityTrait as _, ExprTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, TransactionTrait as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{
    allocation, allocation_plan, customer, order, order_line, product, setting, stock_lot,
    transfer, warehouse,
};

use super::error::corrupt;
use super::events::{EventBatch, record};
use super::jobs::{self, JobKind};
use super::orders::{set_status, subject};
use super::stock::{insert_movements, movement, record_noted_movement, reserve, unreserve};
use super::{Db, ServiceError, ServiceResult, geo, now, transfers};
use crate::domain::actor::{Actor, Permission};
use crate::domain::allocation::{
    self as engine, Allocation, AllocationInput, AllocationMode, AllocationPolicy, DemandLine,
    GeoPoint, LineAllocation, LotOption, Override, OverrideError, Plan, PlanRequest, Reservation,
    WarehouseOption,
};
use crate::domain::event::EventType;
use crate::domain::geo::Placement;
use crate::domain::order::{AddressDraft, OrderAction, OrderStatus};
use crate::domain::stock::MovementKind;
use crate::domain::validation::{Parse, field_error};

const POLICY_KEY: &str = "allocation_policy";
/// The unique key of the job that allocates waiting orders.
const WAITING_JOB: &str = "allocate_waiting";
/// How many times a plan is made again after concurrent allocations took its
/// stock, before the order is left to the next run.
const RESERVE_ATTEMPTS: usize = 8;

pub async fn get_policy(db: &Db, actor: &Actor) -> ServiceResult<AllocationPolicy> {
    actor.require(Permission::AllocationRead)?;
    load_policy(db.read()).await
}

/// Sets the policy. Switching to `auto` queues the approved orders waiting
/// for a person.
pub async fn set_policy(
    db: &Db,
    actor: &Actor,
    policy: AllocationPolicy,
) -> ServiceResult<AllocationPolicy> {
    actor.require(Permission::AllocationPolicyWrite)?;
    let txn = db.write().await?;
    setting::Entity::delete_by_id(POLICY_KEY.to_owned())
        .exec(&*txn)
        .await?;
    setting::ActiveModel {
        key: Set(POLICY_KEY.to_owned()),
        value: Set(serde_json::to_value(policy).map_err(|e| ServiceError::Internal(e.into()))?),
        updated_by: Set(actor.sub.clone()),
        updated_at: Set(now()),
    }
    .insert(&*txn)
    .await?;
    if policy.mode == AllocationMode::Auto {
        enqueue_waiting(&*txn).await?;
    }
    txn.commit().await?;
    db.wake_workers();
    Ok(policy)
}

pub(crate) async fn load_policy<C: ConnectionTrait>(conn: &C) -> ServiceResult<AllocationPolicy> {
    match setting::Entity::find_by_id(POLICY_KEY.to_owned())
        .one(conn)
        .await?
    {
        Some(row) => serde_json::from_value(row.value.clone())
            .map_err(|_| corrupt("allocation policy", row.value.to_string())),
        None => Ok(AllocationPolicy::default()),
    }
}

/// On the approving transaction: in `auto` mode, queue the allocation.
pub(crate) async fn order_approved<C: ConnectionTrait>(conn: &C) -> ServiceResult<()> {
    if load_policy(conn).await?.mode == AllocationMode::Auto {
        enqueue_waiting(conn).await?;
    }
    Ok(())
}

/// On a transaction that made stock available (a receipt, a transfer's
/// arrival, a release): waiting orders get another try.
pub(crate) async fn stock_arrived<C: ConnectionTrait>(conn: &C) -> ServiceResult<()> {
    enqueue_waiting(conn).await
}

async fn enqueue_waiting<C: ConnectionTrait>(conn: &C) -> ServiceResult<()> {
    jobs::enqueue(
        conn,
        JobKind::AllocateWaiting,
        json!({}),
        Some(WAITING_JOB),
        now(),
    )
    .await
}

/// Everything the engine needs about one order, read on one connection.
struct Facts {
    order: order::Model,
    customer: customer::Model,
    lines: Vec<order_line::Model>,
    active: Vec<allocation::Model>,
    demand: Vec<DemandLine>,
    destination: Option<Placement>,
    warehouses: Vec<WarehouseOption>,
    lots: Vec<LotOption>,
    today: NaiveDate,
}

/// Reads the order's open demand and the stock that could serve it.
async fn gather<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    order: order::Model,
) -> ServiceResult<Facts> {
    let today = db.config().today(now());
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .order_by_asc(order_line::Column::LineNo)
        .all(conn)
        .await?;
    let active = active_allocations(conn, order.id).await?;
    let customer = customer::Entity::find_by_id(order.customer_id)
        .one(conn)
        .await?
        .ok_or_else(|| corrupt("order customer", order.customer_id))?;
    let product_ids: Vec<Uuid> = lines.iter().filter_map(|l| l.product_id).collect();
    let products: HashMap<Uuid, product::Model> = product::Entity::find()
        .filter(product::Column::Id.is_in(product_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let mut reserved: HashMap<Uuid, i64> = HashMap::new();
    for a in &active {
        *reserved.entry(a.order_line_id).or_default() += a.quantity;
    }
    let customer_minimum = std::cmp::max(customer.min_shelf_life_days.unwrap_or(0), 0);
    let mut demand = Vec::new();
    for line in &lines {
        let Some(product) = line.product_id.and_then(|id| products.get(&id)) else {
            continue;
        };
        let open = line.quantity - reserved.get(&line.id).copied().unwrap_or(0);
        if open <= 0 {
            continue;
        }
        let minimum = std::cmp::max(product.min_shelf_life_days.unwrap_or(0), customer_minimum);
        demand.push(DemandLine {
            line_id: line.id,
            line_no: u32::try_from(line.line_no)
                .map_err(|_| corrupt("line number", line.line_no))?,
            sku: line.sku.clone(),
            quantity: open,
            perishable: product.perishable,
            min_shelf_life_days: u32::try_from(minimum).unwrap_or(0),
        });
    }
    let ship_to: AddressDraft = serde_json::from_value(order.ship_to.clone())
        .map_err(|_| corrupt("ship-to address", order.ship_to.to_string()))?;
    let destination = match &ship_to.country {
        Some(country) => {
            geo::place(
                conn,
                country,
                ship_to.region.as_deref(),
                ship_to.postal_code.as_deref(),
            )
            .await?
        }
        None => None,
    };
    let mut warehouses: Vec<WarehouseOption> = warehouse::Entity::find()
        .filter(warehouse::Column::Active.eq(true))
        .filter(warehouse::Column::Kind.eq("standard"))
        .order_by_asc(warehouse::Column::Code)
        .all(conn)
        .await?
        .into_iter()
        .map(|w| WarehouseOption {
            id: w.id,
            code: w.code,
            location: GeoPoint {
                latitude: w.latitude,
                longitude: w.longitude,
            },
            shipping_cost_factor: w.shipping_cost_factor,
            priority: w.priority,
        })
        .collect();
    prefer(&mut warehouses, &preferred_warehouses(conn, &order).await?);
    let lots = if demand.is_empty() {
        Vec::new()
    } else {
        let skus: Vec<&str> = demand.iter().map(|d| d.sku.as_str()).collect();
        stock_lot::Entity::find()
            .filter(stock_lot::Column::Sku.is_in(skus))
            .filter(stock_lot::Column::WarehouseId.is_in(warehouses.iter().map(|w| w.id)))
            .filter(Expr::col(stock_lot::Column::OnHand).gt(Expr::col(stock_lot::Column::Reserved)))
            .order_by_asc(stock_lot::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(|l| LotOption {
                stock_lot_id: l.id,
                warehouse_id: l.warehouse_id,
                sku: l.sku,
                lot: (!l.lot.is_empty()).then_some(l.lot),
                received_at: l.received_at,
                expiry_date: l.expiry_date,
                available: l.on_hand - l.reserved,
            })
            .collect()
    };
    Ok(Facts {
        order,
        customer,
        lines,
        active,
        demand,
        destination,
        warehouses,
        lots,
        today,
    })
}

/// The warehouses the order's source prefers, in order: a marketplace
/// account's `warehouse_preferences` for the orders it imported.
async fn preferred_warehouses<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
) -> ServiceResult<Vec<Uuid>> {
    let account = match &order.channel[..] {
        "marketplace" => Uuid::parse_str(&order.source_account).ok(),
        _ => None,
    };
    let Some(account) = account else {
        return Ok(Vec::new());
    };
    Ok(
        dingdan_entity::connector_account::Entity::find_by_id(account)
            .one(conn)
            .await?
            .and_then(|a| serde_json::from_value(a.warehouse_preferences).ok())
            .unwrap_or_default(),
    )
}

/// Steps of priority each preferred warehouse is put ahead of the next:
/// 25,000 steps weigh like 2,500,000 km, more than any distance times the
/// largest shipping cost factor (100) plus the largest priority, so a
/// preference wins whenever the preferred warehouse can serve.
const PREFERENCE_STEPS: i32 = 25_000;

/// Ranks the preferred warehouses, in their order, before every other one.
fn prefer(warehouses: &mut [WarehouseOption], preferred: &[Uuid]) {
    let Some(lowest) = warehouses.iter().map(|w| w.priority).min() else {
        return;
    };
    let count = i32::try_from(preferred.len()).unwrap_or(i32::MAX);
    for w in warehouses.iter_mut() {
        if let Some(rank) = preferred.iter().position(|id| *id == w.id) {
            let rank = i32::try_from(rank).unwrap_or(i32::MAX);
            w.priority =
                lowest.saturating_sub(count.saturating_sub(rank).saturating_mul(PREFERENCE_STEPS));
        }
    }
}

async fn active_allocations<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
) -> ServiceResult<Vec<allocation::Model>> {
    Ok(allocation::Entity::find()
        .filter(allocation::Column::OrderId.eq(order_id))
        .filter(allocation::Column::Status.eq("reserved"))
        .order_by_asc(allocation::Column::LineNo)
        .order_by_asc(allocation::Column::Id)
        .all(conn)
        .await?)
}

/// Makes the plan, and with `consolidate`, keeps only the main warehouse's
/// picks: the rest will come to it by transfer.
fn make_plan(facts: &Facts, input: &AllocationInput) -> ServiceResult<Plan> {
    let mut plan = engine::plan(&PlanRequest {
        lines: &facts.demand,
        destination: facts.destination.as_ref().map(|p| p.point),
        warehouses: &facts.warehouses,
        lots: &facts.lots,
        overrides: &input.overrides,
        today: facts.today,
    })
    .map_err(|error| override_error(&input.overrides, &error))?;
    if let Some(placed) = &facts.destination {
        plan.summary
            .push_str(&format!("; ship-to placed by {}", placed.matched));
    } else {
        plan.summary
            .push_str("; ship-to not in the geo table, so distance was not weighed");
    }
    if input.consolidate && !plan.transfers_proposed.is_empty() {
        let main = plan.transfers_proposed[0].to_warehouse_id;
        let mut moved = 0;
        let mut transfers: BTreeMap<(String, Uuid), i64> = BTreeMap::new();
        // A person's override stands; the rest is moved to the main warehouse.
        for line in plan.lines.iter_mut().filter(|l| !l.overridden) {
            let (keep, away): (Vec<_>, Vec<_>) =
                line.picks.drain(..).partition(|p| p.warehouse_id == main);
            for pick in &away {
                *transfers
                    .entry((line.sku.clone(), pick.warehouse_id))
                    .or_default() += pick.quantity;
            }
            let away_units: i64 = away.iter().map(|p| p.quantity).sum();
            line.backordered += away_units;
            moved += away_units;
            line.picks = keep;
        }
        plan.transfers_proposed = transfers
            .into_iter()
            .map(|((sku, from), quantity)| engine::TransferProposal {
                sku,
                from_warehouse_id: from,
                to_warehouse_id: main,
                quantity,
            })
            .collect();
        plan.summary.push_str(&format!(
            "; consolidating: {moved} units to come to the main warehouse by transfer"
        ));
    }
    Ok(plan)
}

/// A run's plan completed with the order's earlier reservations: every line,
/// with all its picks.
async fn plan_in_force<C: ConnectionTrait>(
    conn: &C,
    facts: &Facts,
    plan: &Plan,
) -> ServiceResult<Plan> {
    if facts.active.is_empty() {
        return Ok(plan.clone());
    }
    let lots: HashMap<Uuid, stock_lot::Model> = stock_lot::Entity::find()
        .filter(stock_lot::Column::Id.is_in(facts.active.iter().map(|a| a.stock_lot_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let codes: HashMap<Uuid, &str> = facts
        .warehouses
        .iter()
        .map(|w| (w.id, w.code.as_str()))
        .collect();
    let mut combined = plan.clone();
    combined.lines = facts
        .lines
        .iter()
        .filter(|line| line.product_id.is_some())
        .map(|line| {
            let new = plan.lines.iter().find(|l| l.line_id == line.id);
            let mut picks: Vec<engine::Pick> = facts
                .active
                .iter()
                .filter(|a| a.order_line_id == line.id)
                .map(|a| engine::Pick {
                    warehouse_id: a.warehouse_id,
                    warehouse_code: codes
                        .get(&a.warehouse_id)
                        .copied()
                        .unwrap_or_default()
                        .to_owned(),
                    stock_lot_id: a.stock_lot_id,
                    lot: (!a.lot.is_empty()).then(|| a.lot.clone()),
                    expiry_date: lots.get(&a.stock_lot_id).and_then(|l| l.expiry_date),
                    quantity: a.quantity,
                })
                .collect();
            picks.extend(new.iter().flat_map(|l| l.picks.iter().cloned()));
            engine::PlanLine {
                line_id: line.id,
                line_no: u32::try_from(line.line_no).unwrap_or(0),
                sku: line.sku.clone(),
                quantity: line.quantity,
                picks,
                backordered: new.map_or(0, |l| l.backordered),
                rule: new.map_or_else(|| "reserved earlier".to_owned(), |l| l.rule.clone()),
                overridden: new.is_some_and(|l| l.overridden)
                    || facts
                        .active
                        .iter()
                        .any(|a| a.order_line_id == line.id && a.overridden),
            }
        })
        .collect();
    Ok(combined)
}

/// An override the engine cannot follow, as a 422 naming the override.
fn override_error(overrides: &[Override], error: &OverrideError) -> ServiceError {
    let line_no = match error {
        OverrideError::UnknownLine(line) => *line,
        OverrideError::UnknownWarehouse { line_no, .. }
        | OverrideError::IneligibleLot { line_no, .. }
        | OverrideError::Insufficient { line_no, .. } => *line_no,
    };
    let index = overrides
        .iter()
        .position(|o| o.line_no == line_no)
        .unwrap_or(0);
    let (field, code) = match error {
        OverrideError::UnknownLine(_) => ("line_no", "unknown_line"),
        OverrideError::UnknownWarehouse { .. } => ("warehouse_id", "unknown_warehouse"),
        OverrideError::IneligibleLot { .. } => ("stock_lot_id", "ineligible_lot"),
        OverrideError::Insufficient { .. } => ("warehouse_id", "insufficient_stock"),
    };
    ServiceError::Validation(vec![field_error(
        format!("overrides[{index}].{field}"),
        code,
        error.to_string(),
    )])
}

/// Reserves what the plan takes, lot by lot in id order (so concurrent
/// allocations lock lots in the same order and cannot deadlock). `None`
/// when a lot no longer has what the plan counted on.
async fn reserve_plan(
    txn: &DatabaseTransaction,
    plan: &Plan,
    today: NaiveDate,
) -> ServiceResult<Option<Vec<(stock_lot::Model, i64)>>> {
    let mut per_lot: BTreeMap<Uuid, i64> = BTreeMap::new();
    for pick in plan.lines.iter().flat_map(|l| &l.picks) {
        *per_lot.entry(pick.stock_lot_id).or_default() += pick.quantity;
    }
    let mut reserved = Vec::with_capacity(per_lot.len());
    for (lot, quantity) in per_lot {
        match reserve(txn, lot, quantity, today).await? {
            Some(row) => reserved.push((row, quantity)),
            None => return Ok(None),
        }
    }
    Ok(Some(reserved))
}

/// Why an allocation runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// A person or program asked (`POST /orders/{id}/allocation`).
    Request,
    /// The waiting-orders job; does nothing when nothing can change.
    Waiting,
    /// A transfer for the order arrived.
    TransferArrived,
}

/// Plans an order's allocation and, unless `dry_run`, carries it out.
pub async fn allocate(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    input: impl Parse<AllocationInput>,
    dry_run: bool,
) -> ServiceResult<Allocation> {
    actor.require(if dry_run {
        Permission::AllocationRead
    } else {
        Permission::AllocationWrite
    })?;
    let input = input.parse()?;
    if dry_run {
        let row = find_order(db.read(), order_id).await?;
        let status = status_of(&row)?;
        if !matches!(
            status,
            OrderStatus::Confirmed
                | OrderStatus::InReview
                | OrderStatus::Approved
                | OrderStatus::Backordered
                | OrderStatus::PartiallyAllocated
        ) {
            return Err(ServiceError::conflict(
                "not_allocatable",
                format!("the order is {status}: there is nothing to plan"),
                None,
            ));
        }
        let facts = gather(db.read(), db, row).await?;
        let plan = make_plan(&facts, &input)?;
        return view(
            db.read(),
            &facts.order,
            Some((plan, now(), actor.sub.clone())),
            input.overrides,
            true,
        )
        .await;
    }
    let txn = db.write().await?;
    let mut order = lock_order(&*txn, order_id).await?;
    let mut status = status_of(&order)?;
    let replan = !input.overrides.is_empty() || input.consolidate;
    if replan && status.apply(OrderAction::Release).is_ok() {
        // A person's plan replaces the one in force (nothing may be picked):
        // released and planned again in one transaction, so no background
        // allocation can come in between.
        let active = active_allocations(&*txn, order_id).await?;
        if !active.is_empty() {
            order = release_in(&txn, order, &active, actor, "released to plan again").await?;
            status = status_of(&order)?;
        }
    }
    if status == OrderStatus::Allocated {
        return Err(ServiceError::conflict(
            "already_allocated",
            "every line is already reserved; send overrides to plan it again, or DELETE the allocation",
            None,
        ));
    }
    status.apply(OrderAction::Allocate)?;
    if status == OrderStatus::InProduction {
        return Err(ServiceError::conflict(
            "not_allocatable",
            "the order is in production: its goods are reserved when production finishes",
            None,
        ));
    }
    let outcome = allocate_in(&txn, db, actor, order, &input, Trigger::Request).await?;
    let result = view(&*txn, &outcome, None, Vec::new(), false).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(result)
}

/// Allocates on the caller's transaction; returns the order as it now is.
async fn allocate_in(
    txn: &DatabaseTransaction,
    db: &Db,
    actor: &Actor,
    order: order::Model,
    input: &AllocationInput,
    trigger: Trigger,
) -> ServiceResult<order::Model> {
    let status = status_of(&order)?;
    let mut facts = gather(txn, db, order).await?;
    let mut attempt = 0;
    let (plan, reserved) = loop {
        attempt += 1;
        let plan = make_plan(&facts, input)?;
        let savepoint = txn.begin().await?;
        match reserve_plan(&savepoint, &plan, facts.today).await? {
            Some(reserved) => {
                savepoint.commit().await?;
                break (plan, reserved);
            }
            None => {
                // Someone took the stock since it was read: read it again.
                savepoint.rollback().await?;
                if attempt >= RESERVE_ATTEMPTS {
                    return Err(ServiceError::conflict(
                        "allocation_contended",
                        "the stock this order needs kept being taken by other allocations; try again",
                        None,
                    ));
                }
                facts = gather(txn, db, facts.order).await?;
            }
        }
    };
    let newly: i64 = reserved.iter().map(|(_, q)| q).sum();
    let open_after: i64 = facts.demand.iter().map(|d| d.quantity).sum::<i64>() - newly;
    let held_after = !facts.active.is_empty() || newly > 0;
    let action = if open_after == 0 {
        OrderAction::Allocate
    } else if held_after && facts.customer.allow_partial_shipment && !input.consolidate {
        // (Consolidating means one shipment: the order waits for its transfers.)
        OrderAction::AllocatePartially
    } else {
        OrderAction::Backorder
    };
    let next = match (status, action) {
        (OrderStatus::Backordered, OrderAction::Backorder) => OrderStatus::Backordered,
        _ => status.apply(action)?,
    };
    // With `consolidate`, the rest comes by transfer.
    let at = now();
    let mut transfer_numbers = Vec::new();
    if input.consolidate && !plan.transfers_proposed.is_empty() {
        for proposal in &plan.transfers_proposed {
            let (perishable, min_days) = facts
                .demand
                .iter()
                .filter(|d| d.sku == proposal.sku)
                .fold((false, 0), |(p, m), d| {
                    (p || d.perishable, std::cmp::max(m, d.min_shelf_life_days))
                });
            let number = transfers::request_for_order(
                txn,
                db,
                actor,
                facts.order.id,
                proposal,
                (perishable, min_days),
            )
            .await?;
            transfer_numbers.push(number);
        }
    }
    if newly == 0 && next == status && transfer_numbers.is_empty() && trigger == Trigger::Waiting {
        // Nothing new for this order.
        return Ok(facts.order);
    }
    // The plan stored is the plan in force: what was reserved before, and
    // what this run added.
    let in_force = plan_in_force(txn, &facts, &plan).await?;
    let plan_id = Uuid::now_v7();
    allocation_plan::Entity::insert(allocation_plan::ActiveModel {
        id: Set(plan_id),
        order_id: Set(facts.order.id),
        plan: Set(serde_json::to_value(&in_force).map_err(|e| ServiceError::Internal(e.into()))?),
        overrides: Set(
            serde_json::to_value(&input.overrides).map_err(|e| ServiceError::Internal(e.into()))?
        ),
        actor: Set(actor.sub.clone()),
        created_at: Set(at),
    })
    .exec_without_returning(txn)
    .await?;
    let mut lots_by_id: HashMap<Uuid, stock_lot::Model> = HashMap::new();
    let mut movements = Vec::with_capacity(reserved.len());
    for (row, quantity) in &reserved {
        movements.push(movement(
            row,
            MovementKind::Reservation,
            (0, *quantity),
            Some(("order", facts.order.id)),
            actor,
            at,
        ));
        lots_by_id.insert(row.id, row.clone());
    }
    insert_movements(txn, movements).await?;
    let mut rows = Vec::new();
    let products: HashMap<Uuid, Uuid> = facts
        .lines
        .iter()
        .filter_map(|l| l.product_id.map(|p| (l.id, p)))
        .collect();
    for line in &plan.lines {
        for pick in &line.picks {
            let lot = lots_by_id
                .get(&pick.stock_lot_id)
                .ok_or_else(|| corrupt("reserved lot", pick.stock_lot_id))?;
            rows.push(allocation::ActiveModel {
                id: Set(Uuid::now_v7()),
                order_id: Set(facts.order.id),
                order_line_id: Set(line.line_id),
                line_no: Set(i32::try_from(line.line_no).unwrap_or(i32::MAX)),
                product_id: Set(products
                    .get(&line.line_id)
                    .copied()
                    .unwrap_or(lot.product_id)),
                sku: Set(line.sku.clone()),
                warehouse_id: Set(pick.warehouse_id),
                stock_lot_id: Set(pick.stock_lot_id),
                lot: Set(lot.lot.clone()),
                quantity: Set(pick.quantity),
                picked: Set(0),
                packed: Set(0),
                status: Set("reserved".to_owned()),
                overridden: Set(line.overridden),
                plan_id: Set(plan_id),
                created_at: Set(at),
                updated_at: Set(at),
            });
        }
    }
    if !rows.is_empty() {
        allocation::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    let became_allocated = next == OrderStatus::Allocated && status != OrderStatus::Allocated;
    let version = set_status(txn, &facts.order, next, |update| {
        if became_allocated {
            update.col_expr(order::Column::AllocatedAt, Expr::val(at))
        } else {
            update
        }
    })
    .await?;
    let subject = subject(&facts.order, version);
    let lines: Vec<Value> = plan
        .lines
        .iter()
        .map(|l| {
            json!({"line_no": l.line_no, "sku": l.sku, "reserved": l.quantity - l.backordered,
                   "backordered": l.backordered,
                   "picks": l.picks.iter().map(|p| json!({"warehouse": p.warehouse_code,
                        "lot": p.lot, "quantity": p.quantity})).collect::<Vec<_>>()})
        })
        .collect();
    let backordered: i64 = plan.lines.iter().map(|l| l.backordered).sum();
    let mut events = EventBatch::default();
    if newly > 0 && next != OrderStatus::Backordered {
        events.push(
            &subject,
            actor,
            EventType::OrderAllocated,
            json!({"plan_id": plan_id, "status": next.as_str(), "complete": next == OrderStatus::Allocated,
                   "strategy": plan.strategy, "summary": plan.summary, "lines": lines}),
            at,
        );
    }
    if backordered > 0 && (next != status || newly > 0 || trigger != Trigger::Waiting) {
        events.push(
            &subject,
            actor,
            EventType::OrderBackordered,
            json!({"plan_id": plan_id, "status": next.as_str(), "backordered": backordered,
                   "reserved_now": newly, "awaiting_transfers": transfer_numbers,
                   "summary": plan.summary, "lines": lines, "number": facts.order.number,
                   "contact": facts.order.contact,
                   "promised_delivery_date": facts.order.promised_delivery_date}),
            at,
        );
    }
    events.flush(txn).await?;
    // The order as it now stands, without reading it back.
    Ok(order::Model {
        status: next.as_str().to_owned(),
        version,
        allocated_at: if became_allocated {
            Some(at)
        } else {
            facts.order.allocated_at
        },
        ..facts.order
    })
}

/// Allocates every order waiting for stock, oldest approval first: each in a
/// transaction of its own, so one order's trouble does not hold the others.
/// In `auto` mode that includes approved orders nobody allocated yet.
pub async fn allocate_waiting(db: &Db) -> ServiceResult<usize> {
    let policy = load_policy(db.read()).await?;
    let mut statuses = vec![
        OrderStatus::Backordered.as_str(),
        OrderStatus::PartiallyAllocated.as_str(),
    ];
    if policy.mode == AllocationMode::Auto {
        statuses.push(OrderStatus::Approved.as_str());
    }
    let waiting: Vec<Uuid> = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::Status.is_in(statuses))
        .order_by_asc(order::Column::ApprovedAt)
        .order_by_asc(order::Column::Number)
        .order_by_asc(order::Column::Id)
        .into_tuple()
        .all(db.read())
        .await?;
    // Orders waiting for their own transfers are allocated when they arrive.
    let awaiting_transfers: std::collections::HashSet<Uuid> = transfer::Entity::find()
        .select_only()
        .column(transfer::Column::OrderId)
        .filter(transfer::Column::OrderId.is_not_null())
        .filter(transfer::Column::Status.is_in(["requested", "in_transit"]))
        .into_tuple::<Option<Uuid>>()
        .all(db.read())
        .await?
        .into_iter()
        .flatten()
        .collect();
    let system = Actor::system();
    let mut changed = 0;
    let mut failure = None;
    for id in waiting
        .into_iter()
        .filter(|id| !awaiting_transfers.contains(id))
    {
        match allocate_one_waiting(db, &system, id, policy).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(ServiceError::Conflict { code, message, .. }) => {
                tracing::info!(order = %id, code, message, "allocation deferred");
            }
            Err(error) => {
                // One order's trouble does not hold the others up; the job
                // fails at the end and is retried.
                tracing::warn!(order = %id, error = %error, "allocating a waiting order failed");
                failure.get_or_insert(error);
            }
        }
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(changed),
    }
}

/// Allocates one waiting order if stock allows; whether anything changed.
async fn allocate_one_waiting(
    db: &Db,
    system: &Actor,
    id: Uuid,
    policy: AllocationPolicy,
) -> ServiceResult<bool> {
    {
        // A cheap look first: most waiting orders still have nothing to get.
        let row = find_order(db.read(), id).await?;
        let facts = gather(db.read(), db, row.clone()).await?;
        let plan = make_plan(&facts, &AllocationInput::default())?;
        if plan.allocated() == 0 && status_of(&row)? != OrderStatus::Approved {
            return Ok(false);
        }
        let txn = db.write().await?;
        let order = lock_order(&*txn, id).await?;
        let status = status_of(&order)?;
        if status.apply(OrderAction::Allocate).is_err() || status == OrderStatus::InProduction {
            // It moved on (cancelled, allocated by a person) since the look.
            return Ok(false);
        }
        if status == OrderStatus::Approved && policy.mode == AllocationMode::Manual {
            return Ok(false);
        }
        let after = allocate_in(
            &txn,
            db,
            system,
            order,
            &AllocationInput::default(),
            Trigger::Waiting,
        )
        .await?;
        txn.commit().await?;
        Ok(after.version != row.version)
    }
}

/// On the receiving transaction: once the last transfer an order waits for
/// has arrived, allocates what it still needs from the warehouse the goods
/// came to (any warehouse, if that no longer can). The order was locked by
/// the caller before any stock moved.
pub(crate) async fn transfer_arrived(
    txn: &DatabaseTransaction,
    db: &Db,
    actor: &Actor,
    order: order::Model,
    destination: Uuid,
) -> ServiceResult<()> {
    let status = status_of(&order)?;
    if !matches!(
        status,
        OrderStatus::Approved | OrderStatus::Backordered | OrderStatus::PartiallyAllocated
    ) {
        return Ok(());
    }
    if !open_transfers(txn, &[order.id]).await?.is_empty() {
        // More is on its way: the order waits for all of it.
        return Ok(());
    }
    let facts = gather(txn, db, order.clone()).await?;
    let pinned = AllocationInput {
        overrides: facts
            .demand
            .iter()
            .map(|d| Override {
                line_no: d.line_no,
                warehouse_id: destination,
                stock_lot_id: None,
            })
            .collect(),
        consolidate: false,
    };
    match allocate_in(
        txn,
        db,
        actor,
        order.clone(),
        &pinned,
        Trigger::TransferArrived,
    )
    .await
    {
        Err(ServiceError::Validation(_)) => {
            allocate_in(
                txn,
                db,
                actor,
                order,
                &AllocationInput::default(),
                Trigger::TransferArrived,
            )
            .await?;
        }
        other => {
            other?;
        }
    }
    Ok(())
}

/// Of some orders, those waiting for a transfer (requested or in transit).
async fn open_transfers<C: ConnectionTrait>(
    conn: &C,
    order_ids: &[Uuid],
) -> ServiceResult<std::collections::HashSet<Uuid>> {
    let ids: Vec<Option<Uuid>> = transfer::Entity::find()
        .select_only()
        .column(transfer::Column::OrderId)
        .filter(transfer::Column::OrderId.is_in(order_ids.iter().copied()))
        .filter(transfer::Column::Status.is_in(["requested", "in_transit"]))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ids.into_iter().flatten().collect())
}

/// Gives an order's reservations back, so it can be planned again: the order
/// returns to `approved`. Refused once picking started.
pub async fn release(db: &Db, actor: &Actor, order_id: Uuid) -> ServiceResult<Allocation> {
    actor.require(Permission::AllocationWrite)?;
    let txn = db.write().await?;
    let order = lock_order(&*txn, order_id).await?;
    let status = status_of(&order)?;
    status.apply(OrderAction::Release)?;
    let active = active_allocations(&*txn, order_id).await?;
    let order = release_in(&txn, order, &active, actor, "released to plan again").await?;
    stock_arrived(&*txn).await?;
    let result = view(&*txn, &order, None, Vec::new(), false).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(result)
}

/// Releases an order's reservations (none may be picked) on the caller's
/// transaction: the order is `approved` again.
async fn release_in(
    txn: &DatabaseTransaction,
    order: order::Model,
    active: &[allocation::Model],
    actor: &Actor,
    note: &str,
) -> ServiceResult<order::Model> {
    let next = status_of(&order)?.apply(OrderAction::Release)?;
    let picked: i64 = active.iter().map(|a| a.picked).sum();
    if picked > 0 {
        return Err(ServiceError::conflict(
            "picking_started",
            format!("{picked} units are already picked; cancel the order to return them to stock"),
            None,
        ));
    }
    let at = now();
    let released = release_rows(txn, active, actor, at, note).await?;
    let version = set_status(txn, &order, next, |update| update).await?;
    record(
        txn,
        &subject(&order, version),
        actor,
        EventType::OrderAllocationReleased,
        json!({"released": released, "status": next.as_str()}),
        at,
    )
    .await?;
    find_order(txn, order.id).await
}

/// On a cancelling transaction: releases what is reserved and puts picked
/// goods back into their lots. Returns the units given back.
pub(crate) async fn cancel_reservations(
    txn: &DatabaseTransaction,
    order_id: Uuid,
    actor: &Actor,
) -> ServiceResult<i64> {
    let at = now();
    // Transfers requested for it are called off (their goods have not left).
    let mut given_back = transfers::cancel_for_order(txn, order_id, actor, at).await?;
    let active = active_allocations(txn, order_id).await?;
    if active.is_empty() && given_back == 0 {
        return Ok(0);
    }
    // Per lot, in id order and in one pass: the unpicked reservation is
    // released; picked goods go back on the shelf they came from.
    let mut per_lot: BTreeMap<Uuid, (i64, i64)> = BTreeMap::new();
    for a in &active {
        let entry = per_lot.entry(a.stock_lot_id).or_default();
        entry.0 += a.quantity - a.picked;
        entry.1 += a.picked;
    }
    for (lot, (unpicked, picked)) in per_lot {
        let mut update = Query::update();
        update
            .table(stock_lot::Entity)
            .value(
                stock_lot::Column::Reserved,
                Expr::col(stock_lot::Column::Reserved).sub(unpicked),
            )
            .value(
                stock_lot::Column::OnHand,
                Expr::col(stock_lot::Column::OnHand).add(picked),
            )
            .value(stock_lot::Column::UpdatedAt, at)
            .and_where(Expr::col(stock_lot::Column::Id).eq(lot))
            .and_where(Expr::col(stock_lot::Column::Reserved).gte(unpicked))
            .returning_all();
        let row = txn
            .query_one(&update)
            .await?
            .ok_or_else(|| corrupt("reserved lot", lot))?;
        let row = <stock_lot::Model as sea_orm::FromQueryResult>::from_query_result(&row, "")?;
        if unpicked > 0 {
            record_noted_movement(
                txn,
                &row,
                MovementKind::Release,
                (0, -unpicked),
                Some(("order", order_id)),
                Some("order cancelled"),
                actor,
                at,
            )
            .await?;
        }
        if picked > 0 {
            record_noted_movement(
                txn,
                &row,
                MovementKind::Adjustment,
                (picked, 0),
                Some(("order", order_id)),
                Some("picked goods of a cancelled order put back"),
                actor,
                at,
            )
            .await?;
        }
        given_back += unpicked + picked;
    }
    allocation::Entity::update_many()
        .col_expr(allocation::Column::Status, Expr::val("released"))
        .col_expr(allocation::Column::UpdatedAt, Expr::val(at))
        .filter(allocation::Column::Id.is_in(active.iter().map(|a| a.id)))
        .exec(txn)
        .await?;
    stock_arrived(txn).await?;
    Ok(given_back)
}

/// Releases the unpicked part of some reservations (one movement per lot)
/// and closes them. Returns the units released.
async fn release_rows(
    txn: &DatabaseTransaction,
    rows: &[allocation::Model],
    actor: &Actor,
    at: DateTime<Utc>,
    note: &str,
) -> ServiceResult<i64> {
    let mut per_lot: BTreeMap<Uuid, (i64, Uuid)> = BTreeMap::new();
    for a in rows {
        let open = a.quantity - a.picked;
        if open > 0 {
            let entry = per_lot.entry(a.stock_lot_id).or_insert((0, a.order_id));
            entry.0 += open;
        }
    }
    let mut released = 0;
    for (lot, (quantity, order_id)) in per_lot {
        let row = unreserve(txn, lot, quantity).await?;
        record_noted_movement(
            txn,
            &row,
            MovementKind::Release,
            (0, -quantity),
            Some(("order", order_id)),
            Some(note),
            actor,
            at,
        )
        .await?;
        released += quantity;
    }
    allocation::Entity::update_many()
        .col_expr(allocation::Column::Status, Expr::val("released"))
        .col_expr(allocation::Column::UpdatedAt, Expr::val(at))
        .filter(allocation::Column::Id.is_in(rows.iter().map(|a| a.id)))
        .exec(txn)
        .await?;
    Ok(released)
}

/// The plan in force and what is reserved.
pub async fn get_allocation(db: &Db, actor: &Actor, order_id: Uuid) -> ServiceResult<Allocation> {
    actor.require(Permission::AllocationRead)?;
    let order = find_order(db.read(), order_id).await?;
    view(db.read(), &order, None, Vec::new(), false).await
}

async fn view<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    planned: Option<(Plan, DateTime<Utc>, String)>,
    overrides: Vec<Override>,
    dry_run: bool,
) -> ServiceResult<Allocation> {
    let (plan, planned_at, planned_by, overrides) = match planned {
        Some((plan, at, by)) => (Some(plan), Some(at), Some(by), overrides),
        None => match allocation_plan::Entity::find()
            .filter(allocation_plan::Column::OrderId.eq(order.id))
            .order_by_desc(allocation_plan::Column::CreatedAt)
            .order_by_desc(allocation_plan::Column::Id)
            .one(conn)
            .await?
        {
            Some(row) => (
                Some(
                    serde_json::from_value(row.plan.clone())
                        .map_err(|_| corrupt("allocation plan", row.id))?,
                ),
                Some(row.created_at),
                Some(row.actor),
                serde_json::from_value(row.overrides.clone())
                    .map_err(|_| corrupt("plan overrides", row.id))?,
            ),
            None => (None, None, None, Vec::new()),
        },
    };
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .order_by_asc(order_line::Column::LineNo)
        .all(conn)
        .await?;
    let active = active_allocations(conn, order.id).await?;
    let reservations: Vec<Reservation> = active
        .iter()
        .map(|a| Reservation {
            id: a.id,
            line_no: u32::try_from(a.line_no).unwrap_or(0),
            sku: a.sku.clone(),
            warehouse_id: a.warehouse_id,
            stock_lot_id: a.stock_lot_id,
            lot: (!a.lot.is_empty()).then(|| a.lot.clone()),
            quantity: a.quantity,
            picked: a.picked,
            packed: a.packed,
            overridden: a.overridden,
            created_at: a.created_at,
        })
        .collect();
    let line_states = lines
        .iter()
        .map(|line| {
            let mine = active.iter().filter(|a| a.order_line_id == line.id);
            let (reserved, picked, packed) = mine.fold((0, 0, 0), |(r, p, k), a| {
                (r + a.quantity, p + a.picked, k + a.packed)
            });
            LineAllocation {
                line_no: u32::try_from(line.line_no).unwrap_or(0),
                sku: line.sku.clone(),
                quantity: line.quantity,
                reserved,
                picked,
                packed,
                backordered: std::cmp::max(line.quantity - reserved, 0),
            }
        })
        .collect();
    let transfer_ids = transfer::Entity::find()
        .select_only()
        .column(transfer::Column::Id)
        .filter(transfer::Column::OrderId.eq(order.id))
        .filter(transfer::Column::Status.is_in(["requested", "in_transit"]))
        .order_by_asc(transfer::Column::Id)
        .into_tuple()
        .all(conn)
        .await?;
    let status = status_of(order)?;
    // Nothing reserved and nothing waiting (released, cancelled): no plan is
    // in force, whatever was planned before.
    let stale = !dry_run
        && reservations.is_empty()
        && !matches!(
            status,
            OrderStatus::Backordered | OrderStatus::PartiallyAllocated
        );
    let (plan, planned_at, planned_by, overrides) = if stale {
        (None, None, None, Vec::new())
    } else {
        (plan, planned_at, planned_by, overrides)
    };
    Ok(Allocation {
        order_id: order.id,
        order_status: status,
        order_version: order.version,
        dry_run,
        plan,
        planned_at,
        planned_by,
        overrides,
        lines: line_states,
        reservations,
        transfer_ids,
    })
}

pub(crate) async fn find_order<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> ServiceResult<order::Model> {
    order::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", id))
}

/// Reads an order for change. On PostgreSQL the row is locked (`FOR NO KEY
/// UPDATE`, which does not block inserts referring to it) until commit, so
/// allocations, picks and cancellations of one order take turns; SQLite has
/// one writer at a time anyway.
pub(crate) async fn lock_order<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> ServiceResult<order::Model> {
    let mut select = order::Entity::find_by_id(id);
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = select.lock(LockType::NoKeyUpdate);
    }
    select
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", id))
}

pub(crate) fn status_of(order: &order::Model) -> ServiceResult<OrderStatus> {
    OrderStatus::parse(&order.status).ok_or_else(|| corrupt("order status", &order.status))
}
