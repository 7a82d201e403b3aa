//! Warehouses.

use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, EntityTrait as _,
    IntoActiveModel as _, QueryFilter as _,
};
use uuid::Uuid;

use dingdan_entity::warehouse;

use super::error::{corrupt, is_unique_violation};
use super::idempotency::{Created, Idempotency};
use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::page::{Page, PageRequest};
use crate::domain::validation::Parse;
use crate::domain::warehouse::{
    AllocationCosts, Coordinates, NewWarehouse, Warehouse, WarehouseFilter, WarehouseKind,
    WarehousePatch,
};

pub async fn create_warehouse(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewWarehouse>,
    idempotency: Idempotency<'_, Warehouse>,
) -> ServiceResult<Created<Warehouse>> {
    actor.require(Permission::WarehouseWrite)?;
    let input = input.parse()?;
    let at = now();
    let row = warehouse::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(input.code.clone()),
        name: Set(input.name),
        address: Set(
            serde_json::to_value(&input.address).map_err(|e| ServiceError::Internal(e.into()))?
        ),
        region: Set(input.region),
        latitude: Set(input.coordinates.latitude),
        longitude: Set(input.coordinates.longitude),
        active: Set(input.active),
        shipping_cost_factor: Set(input.costs.shipping_cost_factor),
        priority: Set(input.costs.priority),
        kind: Set(WarehouseKind::Standard.as_str().to_owned()),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let row = match row.insert(&*txn).await {
        Ok(row) => row,
        Err(error) if is_unique_violation(&error) => {
            drop(txn);
            let existing = warehouse::Entity::find()
                .filter(warehouse::Column::Code.eq(&input.code))
                .one(db.read())
                .await?;
            return Err(ServiceError::conflict(
                "already_exists",
                format!("a warehouse with code {:?} already exists", input.code),
                existing.map(|existing| existing.id),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let created = from_row(row)?;
    idempotency.complete(&*txn, actor, &created).await?;
    txn.commit().await?;
    Ok(Created::New(created))
}

pub async fn get_warehouse(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Warehouse> {
    actor.require(Permission::WarehouseRead)?;
    let row = warehouse::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("warehouse", id))?;
    from_row(row)
}

pub async fn update_warehouse(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<WarehousePatch>,
) -> ServiceResult<Warehouse> {
    actor.require(Permission::WarehouseWrite)?;
    let patch = patch.parse()?;
    let txn = db.write().await?;
    let current = warehouse::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("warehouse", id))?;
    let mut row = current.into_active_model();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if let Some(address) = patch.address {
        row.address =
            Set(serde_json::to_value(&address).map_err(|e| ServiceError::Internal(e.into()))?);
    }
    if let Some(region) = patch.region {
        row.region = Set(region);
    }
    if let Some(coordinates) = patch.coordinates {
        row.latitude = Set(coordinates.latitude);
        row.longitude = Set(coordinates.longitude);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    if let Some(factor) = patch.shipping_cost_factor {
        row.shipping_cost_factor = Set(factor);
    }
    if let Some(priority) = patch.priority {
        row.priority = Set(priority);
    }
    row.updated_at = Set(now());
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    from_row(row)
}

pub async fn list_warehouses(
    db: &Db,
    actor: &Actor,
    filter: WarehouseFilter,
    page: PageRequest,
) -> ServiceResult<Page<Warehouse>> {
    actor.require(Permission::WarehouseRead)?;
    let mut condition = Condition::all();
    if let Some(code) = filter.code {
        condition = condition.add(warehouse::Column::Code.eq(code));
    }
    if let Some(region) = filter.region {
        condition = condition.add(warehouse::Column::Region.eq(region));
    }
    if let Some(active) = filter.active {
        condition = condition.add(warehouse::Column::Active.eq(active));
    }
    condition = condition
        .add(warehouse::Column::Kind.eq(filter.kind.unwrap_or(WarehouseKind::Standard).as_str()));
    let page = fetch_page(
        db.read(),
        warehouse::Entity::find().filter(condition),
        warehouse::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(from_row)
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

pub(crate) fn from_row(row: warehouse::Model) -> ServiceResult<Warehouse> {
    Ok(Warehouse {
        id: row.id,
        address: serde_json::from_value(row.address.clone())
            .map_err(|_| corrupt("warehouse address", &row.address))?,
        coordinates: Coordinates::parse(row.latitude, row.longitude)
            .map_err(|_| corrupt("coordinates", (row.latitude, row.longitude)))?,
        code: row.code,
        name: row.name,
        region: row.region,
        active: row.active,
        costs: AllocationCosts {
            shipping_cost_factor: row.shipping_cost_factor,
            priority: row.priority,
        },
        kind: WarehouseKind::parse(&row.kind)
            .ok_or_else(|| corrupt("warehouse kind", &row.kind))?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
