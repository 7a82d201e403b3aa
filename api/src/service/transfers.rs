//! Transfers between warehouses. A requested transfer reserves its goods at
//! the source; shipping moves them into the in-transit location (`IN-TRANSIT`,
//! a warehouse of kind `transit`); receiving moves them into the destination,
//! keeping each lot's number, receipt date and expiry. Every step is ledger
//! movements in one transaction, so the goods are always somewhere.

use chrono::Datelike as _;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait,
    DatabaseTransaction, EntityTrait as _, ExprTrait as _, QueryFilter as _, QueryOrder as _,
};
use serde_json::json;
use uuid::Uuid;

use dingdan_entity::{order, product, sequence, stock_lot, transfer, transfer_line, warehouse};

use super::allocation;
use super::error::corrupt;
use super::events::{Subject, record};
use super::idempotency::{Created, Idempotency};
use super::page::fetch_page;
use super::stock::{
    StockIn, record_movement, record_noted_movement, reserve, stock_in, stock_out, unreserve,
};
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::allocation::TransferProposal;
use crate::domain::event::EventType;
use crate::domain::page::{Page, PageRequest};
use crate::domain::stock::MovementKind;
use crate::domain::transfer::{
    Dispatch, NewTransfer, NewTransferLine, Transfer, TransferFilter, TransferLine, TransferMode,
    TransferStatus,
};
use crate::domain::validation::{Parse, Violations};

/// Requests a transfer: checks the warehouses and lines, picks source lots
/// (FEFO for perishables, else FIFO) where none is named, and reserves them.
pub async fn create_transfer(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewTransfer>,
    idempotency: Idempotency<'_, Transfer>,
) -> ServiceResult<Created<Transfer>> {
    actor.require(Permission::AllocationWrite)?;
    let input = input.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let mut errors = Violations::new();
    check_warehouse(
        &*txn,
        "from_warehouse_id",
        input.from_warehouse_id,
        &mut errors,
    )
    .await?;
    check_warehouse(&*txn, "to_warehouse_id", input.to_warehouse_id, &mut errors).await?;
    if input.from_warehouse_id == input.to_warehouse_id {
        errors.push(
            "to_warehouse_id",
            "same_warehouse",
            "a transfer goes to another warehouse",
        );
    }
    if let Some(order_id) = input.order_id
        && order::Entity::find_by_id(order_id)
            .one(&*txn)
            .await?
            .is_none()
    {
        errors.push(
            "order_id",
            "unknown_order",
            format!("no order with id {order_id}"),
        );
    }
    let today = db.config().today(now());
    let mut sources = Vec::with_capacity(input.lines.len());
    for (i, line) in input.lines.iter().enumerate() {
        let path = format!("lines[{i}]");
        let Some(product) = product::Entity::find()
            .filter(product::Column::Sku.eq(&line.sku))
            .one(&*txn)
            .await?
        else {
            errors.push(
                format!("{path}.sku"),
                "unknown_sku",
                format!("no product with SKU {:?}", line.sku),
            );
            continue;
        };
        match line.stock_lot_id {
            Some(lot_id) => {
                let lot = stock_lot::Entity::find_by_id(lot_id).one(&*txn).await?;
                match lot {
                    Some(lot)
                        if lot.warehouse_id == input.from_warehouse_id && lot.sku == line.sku =>
                    {
                        sources.push((i, vec![(lot, line.quantity)]));
                    }
                    _ => errors.push(
                        format!("{path}.stock_lot_id"),
                        "unknown_lot",
                        format!(
                            "no lot of {} with id {lot_id} in the source warehouse",
                            line.sku
                        ),
                    ),
                }
            }
            None => {
                let shelf_life = std::cmp::max(product.min_shelf_life_days.unwrap_or(0), 0);
                let lots = source_lots(
                    &*txn,
                    input.from_warehouse_id,
                    &line.sku,
                    line.quantity,
                    (product.perishable, u32::try_from(shelf_life).unwrap_or(0)),
                    today,
                )
                .await?;
                match lots {
                    Ok(lots) => sources.push((i, lots)),
                    Err(available) => errors.push(
                        format!("{path}.quantity"),
                        "insufficient_stock",
                        format!(
                            "the source warehouse has {available} of {} available, {} asked",
                            line.sku, line.quantity
                        ),
                    ),
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }
    let picks: Vec<(stock_lot::Model, i64)> =
        sources.into_iter().flat_map(|(_, lots)| lots).collect();
    let row = insert_transfer(&txn, db, actor, &input, picks).await?;
    let transfer = load(&*txn, row.id).await?;
    idempotency.complete(&*txn, actor, &transfer).await?;
    txn.commit().await?;
    Ok(Created::New(transfer))
}

/// On an allocating transaction: requests the transfer a consolidating
/// plan proposed, for `order_id`. Returns its number.
pub(crate) async fn request_for_order(
    txn: &DatabaseTransaction,
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    proposal: &TransferProposal,
    shelf_life: (bool, u32),
) -> ServiceResult<String> {
    let today = db.config().today(now());
    let lots = source_lots(
        txn,
        proposal.from_warehouse_id,
        &proposal.sku,
        proposal.quantity,
        shelf_life,
        today,
    )
    .await?
    .map_err(|available| {
        ServiceError::conflict(
            "allocation_contended",
            format!(
                "the stock to transfer was taken meanwhile ({available} of {} left); try again",
                proposal.sku
            ),
            None,
        )
    })?;
    let input = NewTransfer {
        from_warehouse_id: proposal.from_warehouse_id,
        to_warehouse_id: proposal.to_warehouse_id,
        mode: TransferMode::Road,
        carrier: None,
        tracking_number: None,
        order_id: Some(order_id),
        note: Some("requested by allocation to ship the order from one warehouse".to_owned()),
        lines: vec![NewTransferLine {
            sku: proposal.sku.clone(),
            quantity: proposal.quantity,
            stock_lot_id: None,
        }],
    };
    let row = insert_transfer(txn, db, actor, &input, lots).await?;
    Ok(row.number)
}

/// The source lots for `quantity` of a SKU, in allocation order, or the
/// quantity available when it is not enough.
async fn source_lots<C: ConnectionTrait>(
    conn: &C,
    warehouse_id: Uuid,
    sku: &str,
    quantity: i64,
    (perishable, min_days): (bool, u32),
    today: chrono::NaiveDate,
) -> ServiceResult<Result<Vec<(stock_lot::Model, i64)>, i64>> {
    let earliest_expiry = today + chrono::Days::new(u64::from(min_days));
    let mut lots = stock_lot::Entity::find()
        .filter(stock_lot::Column::WarehouseId.eq(warehouse_id))
        .filter(stock_lot::Column::Sku.eq(sku))
        .filter(Expr::col(stock_lot::Column::OnHand).gt(Expr::col(stock_lot::Column::Reserved)))
        .filter(
            Condition::any()
                .add(stock_lot::Column::ExpiryDate.is_null())
                .add(
                    Condition::all()
                        .add(stock_lot::Column::ExpiryDate.gte(earliest_expiry))
                        .add(stock_lot::Column::ExpiryDate.gt(today)),
                ),
        )
        .all(conn)
        .await?;
    lots.sort_by(|a, b| {
        let fifo = a.received_at.cmp(&b.received_at).then(a.id.cmp(&b.id));
        if perishable {
            let expiry = |l: &stock_lot::Model| l.expiry_date.unwrap_or(chrono::NaiveDate::MAX);
            expiry(a).cmp(&expiry(b)).then(fifo)
        } else {
            fifo
        }
    });
    let mut need = quantity;
    let mut chosen = Vec::new();
    for lot in lots {
        if need == 0 {
            break;
        }
        let take = std::cmp::min(lot.on_hand - lot.reserved, need);
        need -= take;
        chosen.push((lot, take));
    }
    if need > 0 {
        return Ok(Err(quantity - need));
    }
    Ok(Ok(chosen))
}

async fn check_warehouse<C: ConnectionTrait>(
    conn: &C,
    path: &str,
    id: Uuid,
    errors: &mut Violations,
) -> ServiceResult<()> {
    match warehouse::Entity::find_by_id(id).one(conn).await? {
        None => errors.push(
            path,
            "unknown_warehouse",
            format!("no warehouse with id {id}"),
        ),
        Some(w) if !w.active => errors.push(
            path,
            "inactive_warehouse",
            format!("warehouse {} is not active", w.code),
        ),
        Some(w) if w.kind != "standard" => errors.push(
            path,
            "transit_warehouse",
            format!("{} is where transfers travel, not an end of one", w.code),
        ),
        Some(_) => {}
    }
    Ok(())
}

/// Reserves the picked lots and writes the transfer, its lines and event.
async fn insert_transfer(
    txn: &DatabaseTransaction,
    db: &Db,
    actor: &Actor,
    input: &NewTransfer,
    picks: Vec<(stock_lot::Model, i64)>,
) -> ServiceResult<transfer::Model> {
    // A lot arriving where a lot of that number has another expiry could not
    // be received: refuse now, before the goods leave.
    let transit = transit_warehouse(txn).await?;
    for (lot, _) in &picks {
        let clash = stock_lot::Entity::find()
            .filter(stock_lot::Column::ProductId.eq(lot.product_id))
            .filter(stock_lot::Column::Lot.eq(lot.lot.clone()))
            .filter(stock_lot::Column::WarehouseId.is_in([input.to_warehouse_id, transit.id]))
            .all(txn)
            .await?
            .into_iter()
            .find(|other| other.expiry_date != lot.expiry_date);
        if let Some(other) = clash {
            return Err(ServiceError::conflict(
                "lot_conflict",
                format!(
                    "lot {:?} of {} expires {} here but {} where it would go; it cannot be merged",
                    lot.lot,
                    lot.sku,
                    lot.expiry_date
                        .map_or("never".to_owned(), |d| d.to_string()),
                    other
                        .expiry_date
                        .map_or("never".to_owned(), |d| d.to_string()),
                ),
                None,
            ));
        }
    }
    let at = now();
    let id = Uuid::now_v7();
    let today = db.config().today(at);
    let number = format!(
        "TR-{}-{:06}",
        today.year(),
        next_in_sequence(txn, &format!("transfer:{}", today.year())).await?
    );
    let row = transfer::ActiveModel {
        id: Set(id),
        number: Set(number.clone()),
        from_warehouse_id: Set(input.from_warehouse_id),
        to_warehouse_id: Set(input.to_warehouse_id),
        status: Set(TransferStatus::Requested.as_str().to_owned()),
        mode: Set(input.mode.as_str().to_owned()),
        carrier: Set(input.carrier.clone()),
        tracking_number: Set(input.tracking_number.clone()),
        order_id: Set(input.order_id),
        note: Set(input.note.clone()),
        requested_by: Set(actor.sub.clone()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        shipped_at: Set(None),
        received_at: Set(None),
        cancelled_at: Set(None),
    }
    .insert(txn)
    .await?;
    // Lots in id order, as every multi-lot writer takes them.
    let mut picks = picks;
    picks.sort_by_key(|(lot, _)| lot.id);
    for (line_no, (lot, quantity)) in picks.iter().enumerate() {
        let Some(reserved) = reserve(txn, lot.id, *quantity, today).await? else {
            return Err(ServiceError::conflict(
                "insufficient_stock",
                format!(
                    "lot {:?} of {} no longer has {quantity} available; try again",
                    lot.lot, lot.sku
                ),
                None,
            ));
        };
        record_movement(
            txn,
            &reserved,
            MovementKind::Reservation,
            0,
            *quantity,
            Some(("transfer", id)),
            actor,
            at,
        )
        .await?;
        transfer_line::ActiveModel {
            id: Set(Uuid::now_v7()),
            transfer_id: Set(id),
            line_no: Set(i32::try_from(line_no + 1).unwrap_or(i32::MAX)),
            product_id: Set(lot.product_id),
            sku: Set(lot.sku.clone()),
            source_lot_id: Set(lot.id),
            lot: Set(lot.lot.clone()),
            lot_received_at: Set(lot.received_at),
            expiry_date: Set(lot.expiry_date),
            quantity: Set(*quantity),
            transit_lot_id: Set(None),
            destination_lot_id: Set(None),
        }
        .insert(txn)
        .await?;
    }
    record(
        txn,
        &transfer_subject(&row),
        actor,
        EventType::TransferRequested,
        json!({"number": number, "from_warehouse_id": input.from_warehouse_id,
               "to_warehouse_id": input.to_warehouse_id, "order_id": input.order_id,
               "units": picks.iter().map(|(_, q)| q).sum::<i64>()}),
        at,
    )
    .await?;
    Ok(row)
}

/// The goods leave the source: out of its lots (and their reservation),
/// into the in-transit location.
pub async fn ship_transfer(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    dispatch: Dispatch,
) -> ServiceResult<Transfer> {
    actor.require(Permission::Fulfilment)?;
    let txn = db.write().await?;
    let current = lock(&*txn, id).await?;
    expect_status(&current, TransferStatus::Requested, "ship")?;
    let transit = transit_warehouse(&*txn).await?;
    let at = now();
    let mut lines = lines_of(&*txn, id).await?;
    lines.sort_by_key(|l| l.source_lot_id);
    for line in lines {
        let source = stock_out(&*txn, line.source_lot_id, line.quantity, true)
            .await?
            .ok_or_else(|| corrupt("transfer reservation", line.source_lot_id))?;
        record_movement(
            &*txn,
            &source,
            MovementKind::TransferOut,
            -line.quantity,
            -line.quantity,
            Some(("transfer", id)),
            actor,
            at,
        )
        .await?;
        let in_transit = stock_in(
            &*txn,
            StockIn {
                warehouse_id: transit.id,
                product_id: line.product_id,
                sku: &line.sku,
                lot: &line.lot,
                received_at: line.lot_received_at,
                expiry_date: line.expiry_date,
                quantity: line.quantity,
                reserved: true,
            },
            at,
        )
        .await?;
        record_movement(
            &*txn,
            &in_transit,
            MovementKind::TransferIn,
            line.quantity,
            line.quantity,
            Some(("transfer", id)),
            actor,
            at,
        )
        .await?;
        transfer_line::Entity::update_many()
            .col_expr(
                transfer_line::Column::TransitLotId,
                Expr::val(in_transit.id),
            )
            .filter(transfer_line::Column::Id.eq(line.id))
            .exec(&*txn)
            .await?;
    }
    let version = advance(&*txn, &current, TransferStatus::InTransit, |update| {
        let mut update = update.col_expr(transfer::Column::ShippedAt, Expr::val(at));
        if let Some(carrier) = dispatch.carrier.clone() {
            update = update.col_expr(transfer::Column::Carrier, Expr::val(carrier));
        }
        if let Some(tracking) = dispatch.tracking_number.clone() {
            update = update.col_expr(transfer::Column::TrackingNumber, Expr::val(tracking));
        }
        update
    })
    .await?;
    let row = transfer::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("transfer", id))?;
    record(
        &*txn,
        &Subject {
            version,
            ..transfer_subject(&row)
        },
        actor,
        EventType::TransferShipped,
        json!({"number": row.number, "carrier": row.carrier, "tracking_number": row.tracking_number}),
        at,
    )
    .await?;
    let transfer = load(&*txn, id).await?;
    txn.commit().await?;
    Ok(transfer)
}

/// The goods arrive: out of the in-transit location, into the destination.
/// The order waiting for them (if any) is allocated at once; other waiting
/// orders get another try.
pub async fn receive_transfer(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Transfer> {
    actor.require(Permission::Fulfilment)?;
    let txn = db.write().await?;
    // The waiting order first, before the transfer and any stock: the order
    // of locks every writer keeps (order, then transfer, then lots by id).
    let order = match transfer::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .and_then(|t| t.order_id)
    {
        Some(order_id) => Some(allocation::lock_order(&*txn, order_id).await?),
        None => None,
    };
    let current = lock(&*txn, id).await?;
    expect_status(&current, TransferStatus::InTransit, "receive")?;
    let at = now();
    let mut lines = lines_of(&*txn, id).await?;
    lines.sort_by_key(|l| l.transit_lot_id);
    for line in lines {
        let transit_lot = line
            .transit_lot_id
            .ok_or_else(|| corrupt("transfer in transit without its lot", line.id))?;
        let out = stock_out(&*txn, transit_lot, line.quantity, true)
            .await?
            .ok_or_else(|| corrupt("in-transit stock", transit_lot))?;
        record_movement(
            &*txn,
            &out,
            MovementKind::TransferOut,
            -line.quantity,
            -line.quantity,
            Some(("transfer", id)),
            actor,
            at,
        )
        .await?;
        let arrived = stock_in(
            &*txn,
            StockIn {
                warehouse_id: current.to_warehouse_id,
                product_id: line.product_id,
                sku: &line.sku,
                lot: &line.lot,
                received_at: line.lot_received_at,
                expiry_date: line.expiry_date,
                quantity: line.quantity,
                reserved: false,
            },
            at,
        )
        .await?;
        record_movement(
            &*txn,
            &arrived,
            MovementKind::TransferIn,
            line.quantity,
            0,
            Some(("transfer", id)),
            actor,
            at,
        )
        .await?;
        transfer_line::Entity::update_many()
            .col_expr(
                transfer_line::Column::DestinationLotId,
                Expr::val(arrived.id),
            )
            .filter(transfer_line::Column::Id.eq(line.id))
            .exec(&*txn)
            .await?;
    }
    let version = advance(&*txn, &current, TransferStatus::Received, |update| {
        update.col_expr(transfer::Column::ReceivedAt, Expr::val(at))
    })
    .await?;
    record(
        &*txn,
        &Subject {
            version,
            ..transfer_subject(&current)
        },
        actor,
        EventType::TransferReceived,
        json!({"number": current.number, "to_warehouse_id": current.to_warehouse_id,
               "order_id": current.order_id}),
        at,
    )
    .await?;
    if let Some(order) = order {
        allocation::transfer_arrived(&txn, db, actor, order, current.to_warehouse_id).await?;
    }
    allocation::stock_arrived(&*txn).await?;
    let transfer = load(&*txn, id).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(transfer)
}

/// Calls off a transfer that has not left: its reservation is released.
pub async fn cancel_transfer(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    reason: &str,
) -> ServiceResult<Transfer> {
    actor.require(Permission::AllocationWrite)?;
    let reason = crate::domain::validation::required_text("reason", reason, 500)
        .map_err(|e| ServiceError::Validation(vec![e]))?;
    let txn = db.write().await?;
    let current = lock(&*txn, id).await?;
    expect_status(&current, TransferStatus::Requested, "cancel")?;
    call_off(&txn, &current, actor, now(), &reason).await?;
    // Its goods are free again, and an order waiting for it is not any more.
    allocation::stock_arrived(&*txn).await?;
    let transfer = load(&*txn, id).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(transfer)
}

/// On an order's cancelling transaction: calls off the transfers requested
/// for it (releasing their reservations); ones already on their way arrive
/// as ordinary stock. Returns the units released.
pub(crate) async fn cancel_for_order(
    txn: &DatabaseTransaction,
    order_id: Uuid,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<i64> {
    let mut select = transfer::Entity::find()
        .filter(transfer::Column::OrderId.eq(order_id))
        .filter(transfer::Column::Status.eq(TransferStatus::Requested.as_str()))
        .order_by_asc(transfer::Column::Id);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = sea_orm::QuerySelect::lock(select, sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    let mut released = 0;
    for current in select.all(txn).await? {
        released += call_off(txn, &current, actor, at, "the order was cancelled").await?;
    }
    Ok(released)
}

/// Releases a requested transfer's reservations and marks it cancelled.
async fn call_off(
    txn: &DatabaseTransaction,
    current: &transfer::Model,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
    reason: &str,
) -> ServiceResult<i64> {
    let mut lines = lines_of(txn, current.id).await?;
    lines.sort_by_key(|l| l.source_lot_id);
    let mut released = 0;
    for line in lines {
        let row = unreserve(txn, line.source_lot_id, line.quantity).await?;
        record_noted_movement(
            txn,
            &row,
            MovementKind::Release,
            (0, -line.quantity),
            Some(("transfer", current.id)),
            Some("transfer cancelled"),
            actor,
            at,
        )
        .await?;
        released += line.quantity;
    }
    let reason = reason.to_owned();
    let version = advance(txn, current, TransferStatus::Cancelled, |update| {
        update
            .col_expr(transfer::Column::CancelledAt, Expr::val(at))
            .col_expr(transfer::Column::Note, Expr::val(reason.clone()))
    })
    .await?;
    record(
        txn,
        &Subject {
            version,
            ..transfer_subject(current)
        },
        actor,
        EventType::TransferCancelled,
        json!({"number": current.number, "reason": reason, "order_id": current.order_id}),
        at,
    )
    .await?;
    Ok(released)
}

pub async fn get_transfer(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Transfer> {
    actor.require(Permission::AllocationRead)?;
    load(db.read(), id).await
}

pub async fn list_transfers(
    db: &Db,
    actor: &Actor,
    filter: TransferFilter,
    page: PageRequest,
) -> ServiceResult<Page<Transfer>> {
    actor.require(Permission::AllocationRead)?;
    let mut condition = Condition::all();
    if let Some(status) = filter.status {
        condition = condition.add(transfer::Column::Status.eq(status.as_str()));
    }
    if let Some(from) = filter.from_warehouse_id {
        condition = condition.add(transfer::Column::FromWarehouseId.eq(from));
    }
    if let Some(to) = filter.to_warehouse_id {
        condition = condition.add(transfer::Column::ToWarehouseId.eq(to));
    }
    if let Some(order_id) = filter.order_id {
        condition = condition.add(transfer::Column::OrderId.eq(order_id));
    }
    let page = fetch_page(
        db.read(),
        transfer::Entity::find().filter(condition),
        transfer::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|t| t.id).collect();
    let mut lines: std::collections::HashMap<Uuid, Vec<transfer_line::Model>> =
        std::collections::HashMap::new();
    for line in transfer_line::Entity::find()
        .filter(transfer_line::Column::TransferId.is_in(ids))
        .order_by_asc(transfer_line::Column::LineNo)
        .all(db.read())
        .await?
    {
        lines.entry(line.transfer_id).or_default().push(line);
    }
    let items = page
        .items
        .into_iter()
        .map(|row| {
            let mine = lines.remove(&row.id).unwrap_or_default();
            from_rows(row, mine)
        })
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

async fn load<C: ConnectionTrait>(conn: &C, id: Uuid) -> ServiceResult<Transfer> {
    let row = transfer::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("transfer", id))?;
    let lines = lines_of(conn, id).await?;
    from_rows(row, lines)
}

async fn lock<C: ConnectionTrait>(conn: &C, id: Uuid) -> ServiceResult<transfer::Model> {
    let mut select = transfer::Entity::find_by_id(id);
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = sea_orm::QuerySelect::lock(select, sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    select
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("transfer", id))
}

async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> ServiceResult<Vec<transfer_line::Model>> {
    Ok(transfer_line::Entity::find()
        .filter(transfer_line::Column::TransferId.eq(id))
        .order_by_asc(transfer_line::Column::LineNo)
        .all(conn)
        .await?)
}

fn expect_status(row: &transfer::Model, wanted: TransferStatus, action: &str) -> ServiceResult<()> {
    let status = TransferStatus::parse(&row.status)
        .ok_or_else(|| corrupt("transfer status", &row.status))?;
    if status == wanted {
        Ok(())
    } else {
        Err(ServiceError::conflict(
            "invalid_transition",
            format!(
                "transfer {} is {status}: only a {wanted} transfer can {action}",
                row.number
            ),
            None,
        ))
    }
}

/// Moves a transfer on, bumping its version; conditional on the version read.
async fn advance<C: ConnectionTrait>(
    conn: &C,
    current: &transfer::Model,
    status: TransferStatus,
    extra: impl FnOnce(sea_orm::UpdateMany<transfer::Entity>) -> sea_orm::UpdateMany<transfer::Entity>,
) -> ServiceResult<i32> {
    let version = current.version + 1;
    let update = transfer::Entity::update_many()
        .col_expr(transfer::Column::Status, Expr::val(status.as_str()))
        .col_expr(transfer::Column::Version, Expr::val(version))
        .col_expr(transfer::Column::UpdatedAt, Expr::val(now()))
        .filter(transfer::Column::Id.eq(current.id))
        .filter(transfer::Column::Version.eq(current.version));
    if extra(update).exec(conn).await?.rows_affected == 0 {
        return Err(ServiceError::conflict(
            "concurrent_change",
            format!(
                "transfer {} changed meanwhile; read it again",
                current.number
            ),
            None,
        ));
    }
    Ok(version)
}

async fn transit_warehouse<C: ConnectionTrait>(conn: &C) -> ServiceResult<warehouse::Model> {
    warehouse::Entity::find()
        .filter(warehouse::Column::Kind.eq("transit"))
        .order_by_asc(warehouse::Column::Id)
        .one(conn)
        .await?
        .ok_or_else(|| corrupt("in-transit warehouse", "missing"))
}

fn transfer_subject(row: &transfer::Model) -> Subject<'static> {
    Subject {
        kind: "transfer",
        id: row.id,
        version: row.version,
        customer_id: None,
        channel: None,
    }
}

/// The next value of a named gap-free counter, on the caller's transaction.
pub(crate) async fn next_in_sequence<C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> ServiceResult<i64> {
    sequence::Entity::insert(sequence::ActiveModel {
        name: Set(name.to_owned()),
        last: Set(0),
    })
    .on_conflict(
        OnConflict::column(sequence::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let mut bump = Query::update();
    bump.table(sequence::Entity)
        .value(
            sequence::Column::Last,
            Expr::col(sequence::Column::Last).add(1),
        )
        .and_where(Expr::col(sequence::Column::Name).eq(name))
        .returning_col(sequence::Column::Last);
    let row = conn
        .query_one(&bump)
        .await?
        .ok_or_else(|| corrupt("sequence", name))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

fn from_rows(row: transfer::Model, lines: Vec<transfer_line::Model>) -> ServiceResult<Transfer> {
    Ok(Transfer {
        id: row.id,
        status: TransferStatus::parse(&row.status)
            .ok_or_else(|| corrupt("transfer status", &row.status))?,
        mode: TransferMode::parse(&row.mode).ok_or_else(|| corrupt("transfer mode", &row.mode))?,
        number: row.number,
        from_warehouse_id: row.from_warehouse_id,
        to_warehouse_id: row.to_warehouse_id,
        carrier: row.carrier,
        tracking_number: row.tracking_number,
        order_id: row.order_id,
        note: row.note,
        requested_by: row.requested_by,
        version: row.version,
        lines: lines
            .into_iter()
            .map(|l| TransferLine {
                line_no: u32::try_from(l.line_no).unwrap_or(0),
                sku: l.sku,
                source_lot_id: l.source_lot_id,
                lot: (!l.lot.is_empty()).then_some(l.lot),
                expiry_date: l.expiry_date,
                quantity: l.quantity,
            })
            .collect(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        shipped_at: row.shipped_at,
        received_at: row.received_at,
        cancelled_at: row.cancelled_at,
    })
}
