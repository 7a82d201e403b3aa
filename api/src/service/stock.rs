//! Stock balances and the ledger that moves them. Every change to a balance is
//! written together with its ledger entry, in one transaction, so the sum of
//! the ledger always equals the balance.

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait as _,
    EntityTrait as _, ExprTrait as _, FromQueryResult as _, QueryFilter as _, QueryTrait as _,
};
use uuid::Uuid;

use dingdan_entity::{product, stock_lot, stock_movement, warehouse};

use super::error::corrupt;
use super::idempotency::{Created, Idempotency};
use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::page::{Page, PageRequest};
use crate::domain::stock::{
    Movement, MovementFilter, MovementKind, Receipt, ReceiptRecord, SkuTotals, StockFilter,
    StockLevel,
};
use crate::domain::validation::{Parse, Violations};

/// Records goods arriving: adds to the lot's balance (creating the lot on its
/// first receipt) and writes a `receipt` ledger entry.
///
/// A perishable product that is not lot-tracked still needs its expiry dates
/// kept apart: each distinct expiry date becomes an implicit lot named
/// `EXP-<date>`.
pub async fn receive(
    db: &Db,
    actor: &Actor,
    receipt: impl Parse<Receipt>,
    idempotency: Idempotency<'_, ReceiptRecord>,
) -> ServiceResult<Created<ReceiptRecord>> {
    actor.require(Permission::StockReceive)?;
    let receipt = receipt.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let product = product::Entity::find()
        .filter(product::Column::Sku.eq(&receipt.sku))
        .one(&*txn)
        .await?;
    let warehouse = warehouse::Entity::find_by_id(receipt.warehouse_id)
        .one(&*txn)
        .await?;

    let mut errors = Violations::new();
    match &warehouse {
        None => errors.push(
            "warehouse_id",
            "unknown_warehouse",
            format!("no warehouse with id {}", receipt.warehouse_id),
        ),
        Some(w) if !w.active => errors.push(
            "warehouse_id",
            "inactive_warehouse",
            format!("warehouse {} is not active", w.code),
        ),
        Some(w) if w.kind != "standard" => errors.push(
            "warehouse_id",
            "transit_warehouse",
            format!(
                "{} holds goods between warehouses; goods enter it only through transfers",
                w.code
            ),
        ),
        Some(_) => {}
    }
    match &product {
        None => errors.push(
            "sku",
            "unknown_sku",
            format!("no product with SKU {:?}", receipt.sku),
        ),
        Some(p) => {
            if p.lot_tracked && receipt.lot.is_none() {
                errors.push(
                    "lot",
                    "required",
                    format!("product {} is lot-tracked: a lot number is required", p.sku),
                );
            }
            if p.perishable && receipt.expiry_date.is_none() {
                errors.push(
                    "expiry_date",
                    "required",
                    format!(
                        "product {} is perishable: an expiry date is required",
                        p.sku
                    ),
                );
            }
        }
    }
    if let Some(expiry) = receipt.expiry_date
        && expiry <= receipt.received_at
    {
        errors.push(
            "expiry_date",
            "before_receipt",
            "must be later than received_at",
        );
    }
    // A day of slack for clocks in time zones ahead of UTC.
    if receipt.received_at > now().date_naive() + chrono::Days::new(1) {
        errors.push(
            "received_at",
            "in_future",
            "goods cannot be received in the future",
        );
    }
    let (Some(product), Some(_)) = (product, warehouse) else {
        return Err(ServiceError::Validation(errors.into_errors()));
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }

    let at = now();
    let lot = match (&receipt.lot, receipt.expiry_date) {
        (Some(lot), _) => lot.clone(),
        // Stock with an expiry date but no lot number is kept apart per
        // date, so a lot never holds two expiries.
        (None, Some(expiry)) => format!("EXP-{expiry}"),
        (None, _) => String::new(),
    };
    let level = stock_in(
        &*txn,
        StockIn {
            warehouse_id: receipt.warehouse_id,
            product_id: product.id,
            sku: &product.sku,
            lot: &lot,
            received_at: receipt.received_at,
            expiry_date: receipt.expiry_date,
            quantity: receipt.quantity,
            reserved: false,
        },
        at,
    )
    .await?;
    let movement = record_movement(
        &*txn,
        &level,
        MovementKind::Receipt,
        receipt.quantity,
        0,
        None,
        actor,
        at,
    )
    .await?;
    // Orders waiting for stock get another try.
    super::allocation::stock_arrived(&*txn).await?;
    let record = ReceiptRecord {
        movement: movement_from_row(movement)?,
        level: level_from_row(level),
        received_at: receipt.received_at,
        expiry_date: receipt.expiry_date,
    };
    idempotency.complete(&*txn, actor, &record).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(Created::New(record))
}

/// Goods coming into a lot of a warehouse.
pub(crate) struct StockIn<'a> {
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: &'a str,
    pub lot: &'a str,
    pub received_at: chrono::NaiveDate,
    pub expiry_date: Option<chrono::NaiveDate>,
    pub quantity: i64,
    /// Held as soon as they arrive (goods in transit belong to their transfer).
    pub reserved: bool,
}

/// Adds goods to a lot, creating it on its first receipt, in one statement.
/// The caller records the ledger entry.
pub(crate) async fn stock_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    goods: StockIn<'_>,
    at: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<stock_lot::Model> {
    let new_lot = stock_lot::ActiveModel {
        id: Set(Uuid::now_v7()),
        warehouse_id: Set(goods.warehouse_id),
        product_id: Set(goods.product_id),
        sku: Set(goods.sku.to_owned()),
        lot: Set(goods.lot.to_owned()),
        received_at: Set(goods.received_at),
        expiry_date: Set(goods.expiry_date),
        on_hand: Set(goods.quantity),
        reserved: Set(if goods.reserved { goods.quantity } else { 0 }),
        created_at: Set(at),
        updated_at: Set(at),
    };
    // Insert the lot or add to it, atomically; a second receipt of a lot must
    // agree on its expiry date, or nothing changes.
    let same_expiry = Expr::col((stock_lot::Entity, stock_lot::Column::ExpiryDate))
        .eq(Expr::col(("excluded", stock_lot::Column::ExpiryDate)))
        .or(
            Expr::col((stock_lot::Entity, stock_lot::Column::ExpiryDate))
                .is_null()
                .and(Expr::col(("excluded", stock_lot::Column::ExpiryDate)).is_null()),
        );
    let mut upsert = stock_lot::Entity::insert(new_lot)
        .on_conflict(
            OnConflict::columns([
                stock_lot::Column::WarehouseId,
                stock_lot::Column::ProductId,
                stock_lot::Column::Lot,
            ])
            .value(
                stock_lot::Column::OnHand,
                Expr::col((stock_lot::Entity, stock_lot::Column::OnHand))
                    .add(Expr::col(("excluded", stock_lot::Column::OnHand))),
            )
            .value(
                stock_lot::Column::Reserved,
                Expr::col((stock_lot::Entity, stock_lot::Column::Reserved))
                    .add(Expr::col(("excluded", stock_lot::Column::Reserved))),
            )
            .value(
                stock_lot::Column::UpdatedAt,
                Expr::col(("excluded", stock_lot::Column::UpdatedAt)),
            )
            .action_and_where(same_expiry)
            .to_owned(),
        )
        .into_query();
    upsert.returning_all();
    let Some(row) = conn.query_one(&upsert).await? else {
        return Err(ServiceError::conflict(
            "lot_conflict",
            format!(
                "lot {:?} of {} is already stocked in this warehouse with a different expiry date",
                goods.lot, goods.sku
            ),
            None,
        ));
    };
    Ok(stock_lot::Model::from_query_result(&row, "")?)
}

/// How a conditional change of a lot's balance went.
async fn change_lot<C: sea_orm::ConnectionTrait>(
    conn: &C,
    mut update: sea_orm::sea_query::UpdateStatement,
) -> ServiceResult<Option<stock_lot::Model>> {
    update.returning_all();
    let row = conn.query_one(&update).await?;
    Ok(row
        .map(|row| stock_lot::Model::from_query_result(&row, ""))
        .transpose()?)
}

/// Reserves `quantity` of a lot if that much is free and the lot has not
/// expired by `today`: one conditional `UPDATE`, never a read followed by a
/// write, so concurrent reservations cannot both take the last units. `None`
/// when the lot no longer has it.
pub(crate) async fn reserve<C: sea_orm::ConnectionTrait>(
    conn: &C,
    lot_id: Uuid,
    quantity: i64,
    today: chrono::NaiveDate,
) -> ServiceResult<Option<stock_lot::Model>> {
    let mut update = Query::update();
    update
        .table(stock_lot::Entity)
        .value(
            stock_lot::Column::Reserved,
            Expr::col(stock_lot::Column::Reserved).add(quantity),
        )
        .value(stock_lot::Column::UpdatedAt, now())
        .and_where(Expr::col(stock_lot::Column::Id).eq(lot_id))
        // The guard: enough unreserved stock, checked by the database as it writes.
        .and_where(
            Expr::col(stock_lot::Column::OnHand)
                .sub(Expr::col(stock_lot::Column::Reserved))
                .gte(quantity),
        )
        .and_where(
            Expr::col(stock_lot::Column::ExpiryDate)
                .is_null()
                .or(Expr::col(stock_lot::Column::ExpiryDate).gt(today)),
        );
    change_lot(conn, update).await
}

/// Gives back `quantity` of a lot's reservation.
pub(crate) async fn unreserve<C: sea_orm::ConnectionTrait>(
    conn: &C,
    lot_id: Uuid,
    quantity: i64,
) -> ServiceResult<stock_lot::Model> {
    let mut update = Query::update();
    update
        .table(stock_lot::Entity)
        .value(
            stock_lot::Column::Reserved,
            Expr::col(stock_lot::Column::Reserved).sub(quantity),
        )
        .value(stock_lot::Column::UpdatedAt, now())
        .and_where(Expr::col(stock_lot::Column::Id).eq(lot_id))
        .and_where(Expr::col(stock_lot::Column::Reserved).gte(quantity));
    change_lot(conn, update).await?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!(
            "lot {lot_id} holds less reservation than the {quantity} units being released"
        ))
    })
}

/// Takes `quantity` out of a lot's `on_hand` — and, with `reserved`, out of
/// its reservation too (goods picked or shipped against a reservation).
pub(crate) async fn stock_out<C: sea_orm::ConnectionTrait>(
    conn: &C,
    lot_id: Uuid,
    quantity: i64,
    reserved: bool,
) -> ServiceResult<Option<stock_lot::Model>> {
    let mut update = Query::update();
    update
        .table(stock_lot::Entity)
        .value(
            stock_lot::Column::OnHand,
            Expr::col(stock_lot::Column::OnHand).sub(quantity),
        )
        .value(stock_lot::Column::UpdatedAt, now())
        .and_where(Expr::col(stock_lot::Column::Id).eq(lot_id));
    if reserved {
        update
            .value(
                stock_lot::Column::Reserved,
                Expr::col(stock_lot::Column::Reserved).sub(quantity),
            )
            .and_where(Expr::col(stock_lot::Column::Reserved).gte(quantity))
            .and_where(Expr::col(stock_lot::Column::OnHand).gte(quantity));
    } else {
        update.and_where(
            Expr::col(stock_lot::Column::OnHand)
                .sub(Expr::col(stock_lot::Column::Reserved))
                .gte(quantity),
        );
    }
    change_lot(conn, update).await
}

/// Appends one ledger entry for a change already applied to `level`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_movement<C: sea_orm::ConnectionTrait>(
    conn: &C,
    level: &stock_lot::Model,
    kind: MovementKind,
    on_hand_delta: i64,
    reserved_delta: i64,
    reference: Option<(&'static str, Uuid)>,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<stock_movement::Model, sea_orm::DbErr> {
    record_noted_movement(
        conn,
        level,
        kind,
        (on_hand_delta, reserved_delta),
        reference,
        None,
        actor,
        at,
    )
    .await
}

/// A ledger entry for a change already applied to `level`, to be written
/// with others by [`insert_movements`].
pub(crate) fn movement(
    level: &stock_lot::Model,
    kind: MovementKind,
    (on_hand_delta, reserved_delta): (i64, i64),
    reference: Option<(&'static str, Uuid)>,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> stock_movement::ActiveModel {
    stock_movement::ActiveModel {
        id: Set(Uuid::now_v7()),
        stock_lot_id: Set(level.id),
        warehouse_id: Set(level.warehouse_id),
        product_id: Set(level.product_id),
        sku: Set(level.sku.clone()),
        lot: Set(level.lot.clone()),
        kind: Set(kind.as_str().to_owned()),
        on_hand_delta: Set(on_hand_delta),
        reserved_delta: Set(reserved_delta),
        reference_type: Set(reference.map(|(kind, _)| kind.to_owned())),
        reference_id: Set(reference.map(|(_, id)| id)),
        note: Set(None),
        actor: Set(actor.sub.clone()),
        created_at: Set(at),
    }
}

/// Writes ledger entries in one statement.
pub(crate) async fn insert_movements<C: sea_orm::ConnectionTrait>(
    conn: &C,
    entries: Vec<stock_movement::ActiveModel>,
) -> Result<(), sea_orm::DbErr> {
    if entries.is_empty() {
        return Ok(());
    }
    stock_movement::Entity::insert_many(entries)
        .exec_without_returning(conn)
        .await
        .map(|_| ())
}

/// [`record_movement`], with a note for people reading the ledger.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_noted_movement<C: sea_orm::ConnectionTrait>(
    conn: &C,
    level: &stock_lot::Model,
    kind: MovementKind,
    (on_hand_delta, reserved_delta): (i64, i64),
    reference: Option<(&'static str, Uuid)>,
    note: Option<&str>,
    actor: &Actor,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<stock_movement::Model, sea_orm::DbErr> {
    let mut row = movement(
        level,
        kind,
        (on_hand_delta, reserved_delta),
        reference,
        actor,
        at,
    );
    row.note = Set(note.map(str::to_owned));
    row.insert(conn).await
}

pub async fn list_levels(
    db: &Db,
    actor: &Actor,
    filter: StockFilter,
    page: PageRequest,
) -> ServiceResult<Page<StockLevel>> {
    actor.require(Permission::StockRead)?;
    let mut condition = Condition::all();
    if let Some(sku) = filter.sku {
        condition = condition.add(stock_lot::Column::Sku.eq(sku));
    }
    if let Some(warehouse_id) = filter.warehouse_id {
        condition = condition.add(stock_lot::Column::WarehouseId.eq(warehouse_id));
    }
    if let Some(lot) = filter.lot {
        condition = condition.add(stock_lot::Column::Lot.eq(lot));
    }
    if filter.available_only {
        condition = condition
            .add(Expr::col(stock_lot::Column::OnHand).gt(Expr::col(stock_lot::Column::Reserved)));
    }
    let page = fetch_page(
        db.read(),
        stock_lot::Entity::find().filter(condition),
        stock_lot::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    Ok(page.map(level_from_row))
}

/// Stock of some SKUs summed over lots, per SKU and per warehouse.
pub async fn totals(
    db: &Db,
    actor: &Actor,
    skus: Vec<String>,
    warehouse_id: Option<Uuid>,
) -> ServiceResult<Vec<SkuTotals>> {
    actor.require(Permission::StockRead)?;
    let mut select = stock_lot::Entity::find().filter(stock_lot::Column::Sku.is_in(skus.clone()));
    if let Some(warehouse_id) = warehouse_id {
        select = select.filter(stock_lot::Column::WarehouseId.eq(warehouse_id));
    }
    let levels: Vec<StockLevel> = select
        .all(db.read())
        .await?
        .into_iter()
        .map(level_from_row)
        .collect();
    Ok(SkuTotals::sum(&skus, &levels, now().date_naive()))
}

pub async fn list_movements(
    db: &Db,
    actor: &Actor,
    filter: MovementFilter,
    page: PageRequest,
) -> ServiceResult<Page<Movement>> {
    actor.require(Permission::StockRead)?;
    let mut condition = Condition::all();
    if let Some(sku) = filter.sku {
        condition = condition.add(stock_movement::Column::Sku.eq(sku));
    }
    if let Some(warehouse_id) = filter.warehouse_id {
        condition = condition.add(stock_movement::Column::WarehouseId.eq(warehouse_id));
    }
    if let Some(lot) = filter.lot {
        condition = condition.add(stock_movement::Column::Lot.eq(lot));
    }
    if let Some(kind) = filter.kind {
        condition = condition.add(stock_movement::Column::Kind.eq(kind.as_str()));
    }
    if let Some(reference_id) = filter.reference_id {
        condition = condition.add(stock_movement::Column::ReferenceId.eq(reference_id));
    }
    let page = fetch_page(
        db.read(),
        stock_movement::Entity::find().filter(condition),
        stock_movement::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(movement_from_row)
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Lots whose balance differs from the sum of their ledger entries: always empty
/// unless something bypassed this module. An operator's and the tests' check;
/// not exposed over the API.
pub async fn ledger_mismatches(db: &Db) -> ServiceResult<Vec<Uuid>> {
    let sums = Query::select()
        .column((stock_lot::Entity, stock_lot::Column::Id))
        .from(stock_lot::Entity)
        .left_join(
            stock_movement::Entity,
            Expr::col((stock_movement::Entity, stock_movement::Column::StockLotId))
                .equals((stock_lot::Entity, stock_lot::Column::Id)),
        )
        .group_by_columns([
            (stock_lot::Entity, stock_lot::Column::Id),
            (stock_lot::Entity, stock_lot::Column::OnHand),
            (stock_lot::Entity, stock_lot::Column::Reserved),
        ])
        .and_having(
            Expr::col((stock_lot::Entity, stock_lot::Column::OnHand))
                .ne(Expr::expr(sea_orm::sea_query::Func::coalesce([
                    Expr::col((stock_movement::Entity, stock_movement::Column::OnHandDelta)).sum(),
                    Expr::val(0),
                ])))
                .or(
                    Expr::col((stock_lot::Entity, stock_lot::Column::Reserved)).ne(Expr::expr(
                        sea_orm::sea_query::Func::coalesce([
                            Expr::col((
                                stock_movement::Entity,
                                stock_movement::Column::ReservedDelta,
                            ))
                            .sum(),
                            Expr::val(0),
                        ]),
                    )),
                ),
        )
        .to_owned();
    let rows = db.read().query_all(&sums).await?;
    rows.iter()
        .map(|row| row.try_get_by_index::<Uuid>(0).map_err(ServiceError::from))
        .collect()
}

pub(crate) fn level_from_row(row: stock_lot::Model) -> StockLevel {
    StockLevel {
        id: row.id,
        warehouse_id: row.warehouse_id,
        product_id: row.product_id,
        sku: row.sku,
        lot: (!row.lot.is_empty()).then_some(row.lot),
        received_at: row.received_at,
        expiry_date: row.expiry_date,
        on_hand: row.on_hand,
        reserved: row.reserved,
    }
}

fn movement_from_row(row: stock_movement::Model) -> ServiceResult<Movement> {
    Ok(Movement {
        id: row.id,
        stock_lot_id: row.stock_lot_id,
        warehouse_id: row.warehouse_id,
        kind: MovementKind::parse(&row.kind).ok_or_else(|| corrupt("movement kind", &row.kind))?,
        sku: row.sku,
        lot: (!row.lot.is_empty()).then_some(row.lot),
        on_hand_delta: row.on_hand_delta,
        reserved_delta: row.reserved_delta,
        reference_type: row.reference_type,
        reference_id: row.reference_id,
        note: row.note,
        actor: row.actor,
        created_at: row.created_at,
    })
}
