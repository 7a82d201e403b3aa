//! Picking and packing. Pick lists show a warehouse's reserved goods still on
//! the shelf, grouped by SKU and lot; confirming a pick takes the goods out
//! of the lot (a `pick` movement) and a short pick writes off what was not
//! found (an `adjustment`) and sends the line back to wait for stock.
//! Packages record what was packed; when every reserved unit of an order is
//! packed, the order is `ready_to_ship`.

use std::collections::{BTreeMap, HashMap, HashSet};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, ExprTrait as _,
    QueryFilter as _, QueryOrder as _,
};
use serde_json::json;
use uuid::Uuid;

use dingdan_entity::{allocation, customer, order, package, product, stock_lot, warehouse};

use super::allocation::{lock_order, status_of, stock_arrived};
use super::error::corrupt;
use super::events::record;
use super::idempotency::{Created, Idempotency};
use super::orders::{load_visible, set_status, subject};
use super::stock::{record_movement, record_noted_movement, stock_out};
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::event::EventType;
use crate::domain::fulfilment::{
    NewPackage, Package, PackageItem, PackagingType, Packing, PickConfirmation, PickGroup,
    PickItem, PickList, PickedOrder,
};
use crate::domain::order::{OrderAction, OrderStatus};
use crate::domain::shipping::{ParcelTraits, required_measures};
use crate::domain::stock::MovementKind;
use crate::domain::validation::{Parse, Violations};

/// Orders whose reserved goods may be picked.
const PICKABLE: [&str; 2] = ["allocated", "partially_allocated"];

/// A warehouse's open picking work: reserved goods of orders ready to pick,
/// by SKU and lot (earliest expiry first), each lot's orders oldest first.
pub async fn pick_list(db: &Db, actor: &Actor, warehouse_id: Uuid) -> ServiceResult<PickList> {
    actor.require(Permission::AllocationRead)?;
    warehouse::Entity::find_by_id(warehouse_id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("warehouse", warehouse_id))?;
    let open: Vec<allocation::Model> = allocation::Entity::find()
        .filter(allocation::Column::WarehouseId.eq(warehouse_id))
        .filter(allocation::Column::Status.eq("reserved"))
        .filter(Expr::col(allocation::Column::Picked).lt(Expr::col(allocation::Column::Quantity)))
        .all(db.read())
        .await?;
    let order_ids: HashSet<Uuid> = open.iter().map(|a| a.order_id).collect();
    let orders: HashMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .filter(order::Column::Status.is_in(PICKABLE))
        .all(db.read())
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let lot_ids: HashSet<Uuid> = open.iter().map(|a| a.stock_lot_id).collect();
    let lots: HashMap<Uuid, stock_lot::Model> = stock_lot::Entity::find()
        .filter(stock_lot::Column::Id.is_in(lot_ids))
        .all(db.read())
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let mut groups: BTreeMap<Uuid, PickGroup> = BTreeMap::new();
    let mut ages: HashMap<Uuid, (Option<chrono::DateTime<chrono::Utc>>, Option<String>)> =
        HashMap::new();
    for a in open {
        let Some(order) = orders.get(&a.order_id) else {
            continue;
        };
        let lot = lots
            .get(&a.stock_lot_id)
            .ok_or_else(|| corrupt("allocated lot", a.stock_lot_id))?;
        ages.insert(a.id, (order.approved_at, order.number.clone()));
        let group = groups.entry(a.stock_lot_id).or_insert_with(|| PickGroup {
            sku: a.sku.clone(),
            stock_lot_id: a.stock_lot_id,
            lot: (!lot.lot.is_empty()).then(|| lot.lot.clone()),
            expiry_date: lot.expiry_date,
            quantity: 0,
            items: Vec::new(),
        });
        group.quantity += a.quantity - a.picked;
        group.items.push(PickItem {
            allocation_id: a.id,
            order_id: a.order_id,
            order_number: order.number.clone(),
            line_no: u32::try_from(a.line_no).unwrap_or(0),
            quantity: a.quantity - a.picked,
        });
    }
    let mut groups: Vec<PickGroup> = groups.into_values().collect();
    for group in &mut groups {
        group.items.sort_by(|a, b| {
            ages.get(&a.allocation_id)
                .cmp(&ages.get(&b.allocation_id))
                .then(a.line_no.cmp(&b.line_no))
        });
    }
    groups.sort_by(|a, b| {
        a.sku
            .cmp(&b.sku)
            .then(a.expiry_date.cmp(&b.expiry_date))
            .then(a.lot.cmp(&b.lot))
    });
    Ok(PickList {
        warehouse_id,
        groups,
    })
}

/// Confirms picks in one warehouse, all or nothing. Accepts an
/// `Idempotency-Key`, so a retried confirmation does not pick twice.
pub async fn confirm_picks(
    db: &Db,
    actor: &Actor,
    warehouse_id: Uuid,
    picks: impl Parse<Vec<PickConfirmation>>,
    idempotency: Idempotency<'_, Vec<PickedOrder>>,
) -> ServiceResult<Created<Vec<PickedOrder>>> {
    actor.require(Permission::Fulfilment)?;
    let picks = picks.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    warehouse::Entity::find_by_id(warehouse_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("warehouse", warehouse_id))?;
    let ids: Vec<Uuid> = picks.iter().map(|p| p.allocation_id).collect();
    let read_rows = || {
        allocation::Entity::find()
            .filter(allocation::Column::Id.is_in(ids.clone()))
            .all(&*txn)
    };
    // Orders first, in id order: concurrent picks, packs and cancellations of
    // the same orders take turns. The reservations are read again once the
    // orders are locked, so a pick that waited sees what the other did.
    let order_ids: std::collections::BTreeSet<Uuid> =
        read_rows().await?.iter().map(|a| a.order_id).collect();
    let mut orders = HashMap::new();
    for id in order_ids {
        orders.insert(id, lock_order(&*txn, id).await?);
    }
    let rows: HashMap<Uuid, allocation::Model> = read_rows()
        .await?
        .into_iter()
        .filter(|a| orders.contains_key(&a.order_id))
        .map(|a| (a.id, a))
        .collect();
    let mut errors = Violations::new();
    let mut seen = HashSet::new();
    for (i, pick) in picks.iter().enumerate() {
        let path = format!("picks[{i}]");
        if !seen.insert(pick.allocation_id) {
            errors.push(
                format!("{path}.allocation_id"),
                "duplicate",
                "each reservation once per confirmation",
            );
            continue;
        }
        let Some(row) = rows.get(&pick.allocation_id) else {
            errors.push(
                format!("{path}.allocation_id"),
                "unknown_allocation",
                format!("no reservation with id {}", pick.allocation_id),
            );
            continue;
        };
        if row.warehouse_id != warehouse_id || row.status != "reserved" {
            errors.push(
                format!("{path}.allocation_id"),
                "not_in_this_warehouse",
                "the reservation is not open in this warehouse",
            );
            continue;
        }
        let order = &orders[&row.order_id];
        if !PICKABLE.contains(&order.status.as_str()) {
            errors.push(
                format!("{path}.allocation_id"),
                "not_pickable",
                format!("the order is {}; it cannot be picked now", order.status),
            );
            continue;
        }
        let left = row.quantity - row.picked;
        if pick.quantity > left {
            errors.push(
                format!("{path}.quantity"),
                "too_many",
                format!("{left} units are left to pick on this reservation"),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }
    let at = now();
    let mut per_order: BTreeMap<Uuid, (i64, i64, Vec<serde_json::Value>)> = BTreeMap::new();
    // Lots in id order, as every multi-lot writer takes them.
    let mut ordered: Vec<&PickConfirmation> = picks.iter().collect();
    ordered.sort_by_key(|p| (rows[&p.allocation_id].stock_lot_id, p.allocation_id));
    for pick in ordered {
        let row = &rows[&pick.allocation_id];
        let left = row.quantity - row.picked;
        let missing = if pick.short { left - pick.quantity } else { 0 };
        if pick.quantity > 0 {
            let lot = stock_out(&*txn, row.stock_lot_id, pick.quantity, true)
                .await?
                .ok_or_else(|| corrupt("reserved stock", row.stock_lot_id))?;
            record_movement(
                &*txn,
                &lot,
                MovementKind::Pick,
                -pick.quantity,
                -pick.quantity,
                Some(("order", row.order_id)),
                actor,
                at,
            )
            .await?;
        }
        if missing > 0 {
            let lot = stock_out(&*txn, row.stock_lot_id, missing, true)
                .await?
                .ok_or_else(|| corrupt("reserved stock", row.stock_lot_id))?;
            record_noted_movement(
                &*txn,
                &lot,
                MovementKind::Adjustment,
                (-missing, -missing),
                Some(("order", row.order_id)),
                Some("short pick: not found on the shelf"),
                actor,
                at,
            )
            .await?;
        }
        let quantity = row.quantity - missing;
        // Conditional on what was read: a lost update fails loudly.
        let updated = allocation::Entity::update_many()
            .col_expr(
                allocation::Column::Picked,
                Expr::val(row.picked + pick.quantity),
            )
            .col_expr(allocation::Column::Quantity, Expr::val(quantity))
            .col_expr(
                allocation::Column::Status,
                Expr::val(if quantity == 0 {
                    "released"
                } else {
                    "reserved"
                }),
            )
            .col_expr(allocation::Column::UpdatedAt, Expr::val(at))
            .filter(allocation::Column::Id.eq(row.id))
            .filter(allocation::Column::Picked.eq(row.picked))
            .filter(allocation::Column::Quantity.eq(row.quantity))
            .filter(allocation::Column::Status.eq("reserved"))
            .exec(&*txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(ServiceError::conflict(
                "concurrent_change",
                "the reservation changed while this pick was confirmed; read the pick list again",
                None,
            ));
        }
        let entry = per_order.entry(row.order_id).or_default();
        entry.0 += pick.quantity;
        entry.1 += missing;
        entry.2.push(
            json!({"allocation_id": row.id, "line_no": row.line_no, "sku": row.sku,
                          "lot": row.lot, "picked": pick.quantity, "short": missing}),
        );
    }
    let mut outcome = Vec::new();
    let mut any_short = false;
    for (order_id, (picked, short, lines)) in per_order {
        let order = &orders[&order_id];
        let status = status_of(order)?;
        let mut next = status;
        if short > 0 {
            any_short = true;
            let customer = customer::Entity::find_by_id(order.customer_id)
                .one(&*txn)
                .await?
                .ok_or_else(|| corrupt("order customer", order.customer_id))?;
            let still_held = allocation::Entity::find()
                .filter(allocation::Column::OrderId.eq(order_id))
                .filter(allocation::Column::Status.eq("reserved"))
                .one(&*txn)
                .await?
                .is_some();
            let action = if still_held && customer.allow_partial_shipment {
                OrderAction::AllocatePartially
            } else {
                OrderAction::Backorder
            };
            next = status.apply(action)?;
        }
        let version = set_status(&*txn, order, next, |update| update).await?;
        let subject = subject(order, version);
        record(
            &*txn,
            &subject,
            actor,
            EventType::OrderPicked,
            json!({"warehouse_id": warehouse_id, "picked": picked, "short": short, "lines": lines}),
            at,
        )
        .await?;
        if short > 0 {
            record(
                &*txn,
                &subject,
                actor,
                EventType::OrderBackordered,
                json!({"status": next.as_str(), "backordered": short,
                       "reason": "short pick: the goods were not on the shelf",
                       "number": order.number, "contact": order.contact}),
                at,
            )
            .await?;
        }
        outcome.push(PickedOrder {
            order_id,
            picked,
            short,
            status: next,
        });
    }
    if any_short {
        // The lines short-picked wait for stock again.
        stock_arrived(&*txn).await?;
    }
    idempotency.complete(&*txn, actor, &outcome).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(Created::New(outcome))
}

/// Records packages of an order. Each package's contents must be picked and
/// not yet packed in its warehouse. When every reserved unit is packed the
/// order is `ready_to_ship`.
pub async fn pack(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    packages: impl Parse<Vec<NewPackage>>,
    idempotency: Idempotency<'_, Packing>,
) -> ServiceResult<Created<Packing>> {
    actor.require(Permission::Fulfilment)?;
    let packages = packages.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let order = lock_order(&*txn, order_id).await?;
    let status = status_of(&order)?;
    // Packages may be recorded while the order is allocated, or partially
    // allocated (what is reserved may ship; the rest keeps waiting).
    if status != OrderStatus::PartiallyAllocated {
        status.apply(OrderAction::Pack)?;
    }
    let mut active: Vec<allocation::Model> = allocation::Entity::find()
        .filter(allocation::Column::OrderId.eq(order_id))
        .filter(allocation::Column::Status.eq("reserved"))
        .order_by_asc(allocation::Column::Id)
        .all(&*txn)
        .await?;
    let mut errors = Violations::new();
    let mut adds: HashMap<Uuid, i64> = HashMap::new();
    let mut stored = Vec::new();
    for (i, new) in packages.iter().enumerate() {
        let mut contents = Vec::new();
        for (j, item) in new.contents.iter().enumerate() {
            let path = format!("packages[{i}].contents[{j}]");
            let line_no = i32::try_from(item.line_no).unwrap_or(-1);
            let mut need = item.quantity;
            let mut sku = None;
            let packable: i64 = active
                .iter()
                .filter(|a| a.line_no == line_no && a.warehouse_id == new.warehouse_id)
                .map(|a| a.picked - a.packed - adds.get(&a.id).copied().unwrap_or(0))
                .sum();
            if packable < need {
                errors.push(
                    format!("{path}.quantity"),
                    "not_picked",
                    format!(
                        "line {} has {packable} units picked in this warehouse and not yet packed",
                        item.line_no
                    ),
                );
                continue;
            }
            for a in active
                .iter_mut()
                .filter(|a| a.line_no == line_no && a.warehouse_id == new.warehouse_id)
            {
                let added = adds.entry(a.id).or_default();
                let free = a.picked - a.packed - *added;
                let take = std::cmp::min(free, need);
                *added += take;
                need -= take;
                sku = Some(a.sku.clone());
            }
            contents.push(PackageItem {
                line_no: item.line_no,
                sku: sku.unwrap_or_default(),
                quantity: item.quantity,
            });
        }
        stored.push(contents);
    }
    // Packaging the goods' traits require: shock-proof for fragile goods,
    // sealed for liquids, marked for hazardous goods.
    let traits = product::Entity::find()
        .filter(
            product::Column::Sku.is_in(
                stored
                    .iter()
                    .flatten()
                    .map(|c| c.sku.clone())
                    .collect::<HashSet<_>>(),
            ),
        )
        .all(&*txn)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.sku,
                ParcelTraits {
                    fragile: p.fragile,
                    liquid: p.liquid,
                    hazardous: p.hazardous,
                },
            )
        })
        .collect::<HashMap<_, _>>();
    for (i, (new, contents)) in packages.iter().zip(&stored).enumerate() {
        let needed = contents
            .iter()
            .filter_map(|c| traits.get(&c.sku))
            .fold(ParcelTraits::default(), |acc, t| acc.union(*t));
        for measure in required_measures(needed) {
            if !new.measures.contains(&measure) {
                errors.push(
                    format!("packages[{i}].measures"),
                    "packaging_required",
                    format!("add {}: {}", measure.as_str(), measure.because()),
                );
            }
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }
    let at = now();
    for a in &mut active {
        if let Some(added) = adds.get(&a.id).copied().filter(|n| *n > 0) {
            a.packed += added;
            allocation::Entity::update_many()
                .col_expr(allocation::Column::Packed, Expr::val(a.packed))
                .col_expr(allocation::Column::UpdatedAt, Expr::val(at))
                .filter(allocation::Column::Id.eq(a.id))
                .exec(&*txn)
                .await?;
        }
    }
    let mut created = Vec::new();
    for (new, contents) in packages.into_iter().zip(stored) {
        let row = package::ActiveModel {
            id: Set(Uuid::now_v7()),
            order_id: Set(order_id),
            warehouse_id: Set(new.warehouse_id),
            packaging_type: Set(new.packaging_type.as_str().to_owned()),
            weight_kg: Set(new.weight_kg.into()),
            length_cm: Set(new.length_cm.into()),
            width_cm: Set(new.width_cm.into()),
            height_cm: Set(new.height_cm.into()),
            contents: Set(
                serde_json::to_value(&contents).map_err(|e| ServiceError::Internal(e.into()))?
            ),
            packed_by: Set(actor.sub.clone()),
            created_at: Set(at),
            shipment_id: Set(None),
            measures: Set(Some(
                serde_json::to_value(&new.measures)
                    .map_err(|e| ServiceError::Internal(e.into()))?,
            )),
        }
        .insert(&*txn)
        .await?;
        created.push(package_from_row(row)?);
    }
    let complete =
        status == OrderStatus::Allocated && active.iter().all(|a| a.packed == a.quantity);
    let (order_status, order_version) = if complete {
        let next = status.apply(OrderAction::Pack)?;
        let version = set_status(&*txn, &order, next, |update| update).await?;
        let all = packages_of(&*txn, order_id).await?;
        record(
            &*txn,
            &subject(&order, version),
            actor,
            EventType::OrderReadyToShip,
            json!({"packages": all.iter().map(|p| json!({"id": p.id, "warehouse_id": p.warehouse_id,
                    "packaging_type": p.packaging_type.as_str(), "weight_kg": p.weight_kg.to_string(),
                    "contents": p.contents})).collect::<Vec<_>>()}),
            at,
        )
        .await?;
        (next, version)
    } else {
        (status, order.version)
    };
    let packing = Packing {
        packages: created,
        order_status,
        order_version,
    };
    idempotency.complete(&*txn, actor, &packing).await?;
    txn.commit().await?;
    Ok(Created::New(packing))
}

/// An order's packages, oldest first.
pub async fn list_packages(db: &Db, actor: &Actor, order_id: Uuid) -> ServiceResult<Vec<Package>> {
    actor.require(Permission::OrderRead)?;
    load_visible(db.read(), actor, order_id).await?;
    packages_of(db.read(), order_id).await
}

async fn packages_of<C: sea_orm::ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
) -> ServiceResult<Vec<Package>> {
    package::Entity::find()
        .filter(package::Column::OrderId.eq(order_id))
        .order_by_asc(package::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(package_from_row)
        .collect()
}

fn package_from_row(row: package::Model) -> ServiceResult<Package> {
    Ok(Package {
        id: row.id,
        order_id: row.order_id,
        warehouse_id: row.warehouse_id,
        packaging_type: PackagingType::parse(&row.packaging_type)
            .ok_or_else(|| corrupt("packaging type", &row.packaging_type))?,
        weight_kg: row.weight_kg.0,
        length_cm: row.length_cm.0,
        width_cm: row.width_cm.0,
        height_cm: row.height_cm.0,
        contents: serde_json::from_value(row.contents.clone())
            .map_err(|_| corrupt("package contents", row.contents.to_string()))?,
        measures: match row.measures {
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|_| corrupt("package measures", value.to_string()))?,
            None => Vec::new(),
        },
        shipment_id: row.shipment_id,
        packed_by: row.packed_by,
        created_at: row.created_at,
    })
}
