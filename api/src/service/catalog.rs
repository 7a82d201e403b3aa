//! Products.

use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, EntityTrait as _,
    ExprTrait as _, IntoActiveModel as _, QueryFilter as _,
};
use uuid::Uuid;

use dingdan_entity::product;

use super::error::{corrupt, is_unique_violation};
use super::idempotency::{Created, Idempotency};
use super::page::{contains_pattern, fetch_page};
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::catalog::{NewProduct, Product, ProductFilter, ProductPatch, ProductTraits};
use crate::domain::money::Currency;
use crate::domain::page::{Page, PageRequest};
use crate::domain::validation::Parse;

pub async fn create_product(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewProduct>,
    idempotency: Idempotency<'_, Product>,
) -> ServiceResult<Created<Product>> {
    actor.require(Permission::CatalogWrite)?;
    let input = input.parse()?;
    let at = now();
    let row = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        sku: Set(input.sku.clone()),
        name: Set(input.name),
        specification: Set(input.specification),
        unit: Set(input.unit),
        list_price: Set(input.list_price.into()),
        currency: Set(input.currency.code().to_owned()),
        weight_kg: Set(input.weight_kg.into()),
        fragile: Set(input.traits.fragile),
        liquid: Set(input.traits.liquid),
        hazardous: Set(input.traits.hazardous),
        perishable: Set(input.traits.perishable),
        lot_tracked: Set(input.traits.lot_tracked),
        made_to_order: Set(input.traits.made_to_order),
        lead_time_days: Set(days_to_db(input.lead_time_days)),
        tax_rate: Set(input.tax_rate.into()),
        active: Set(input.active),
        min_shelf_life_days: Set(input.min_shelf_life_days.map(days_to_db)),
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
            let existing = product::Entity::find()
                .filter(product::Column::Sku.eq(&input.sku))
                .one(db.read())
                .await?;
            return Err(ServiceError::conflict(
                "already_exists",
                format!("a product with SKU {:?} already exists", input.sku),
                existing.map(|p| p.id),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let product = from_row(row)?;
    idempotency.complete(&*txn, actor, &product).await?;
    txn.commit().await?;
    Ok(Created::New(product))
}

pub async fn get_product(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Product> {
    actor.require(Permission::CatalogRead)?;
    let row = product::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("product", id))?;
    from_row(row)
}

pub async fn get_product_by_sku(db: &Db, actor: &Actor, sku: &str) -> ServiceResult<Product> {
    actor.require(Permission::CatalogRead)?;
    let row = product::Entity::find()
        .filter(product::Column::Sku.eq(sku))
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            resource: "product",
            id: format!("SKU {sku:?}"),
        })?;
    from_row(row)
}

pub async fn update_product(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<ProductPatch>,
) -> ServiceResult<Product> {
    actor.require(Permission::CatalogWrite)?;
    let patch = patch.parse()?;
    let txn = db.write().await?;
    let current = product::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("product", id))?;
    // Only the columns the patch names are written, so concurrent patches of
    // different fields both take effect.
    let mut row = current.into_active_model();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if let Some(specification) = patch.specification {
        row.specification = Set(specification);
    }
    if let Some(unit) = patch.unit {
        row.unit = Set(unit);
    }
    if let Some(price) = patch.list_price {
        row.list_price = Set(price.into());
    }
    if let Some(currency) = patch.currency {
        row.currency = Set(currency.code().to_owned());
    }
    if let Some(weight) = patch.weight_kg {
        row.weight_kg = Set(weight.into());
    }
    let traits = patch.traits;
    for (column, value) in [
        (&mut row.fragile, traits.fragile),
        (&mut row.liquid, traits.liquid),
        (&mut row.hazardous, traits.hazardous),
        (&mut row.perishable, traits.perishable),
        (&mut row.lot_tracked, traits.lot_tracked),
        (&mut row.made_to_order, traits.made_to_order),
    ] {
        if let Some(value) = value {
            *column = Set(value);
        }
    }
    if let Some(days) = patch.lead_time_days {
        row.lead_time_days = Set(days_to_db(days));
    }
    if let Some(rate) = patch.tax_rate {
        row.tax_rate = Set(rate.into());
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    if let Some(days) = patch.min_shelf_life_days {
        row.min_shelf_life_days = Set(days.map(days_to_db));
    }
    row.updated_at = Set(now());
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    from_row(row)
}

pub async fn list_products(
    db: &Db,
    actor: &Actor,
    filter: ProductFilter,
    page: PageRequest,
) -> ServiceResult<Page<Product>> {
    actor.require(Permission::CatalogRead)?;
    let mut condition = Condition::all();
    if let Some(sku) = filter.sku {
        condition = condition.add(product::Column::Sku.eq(sku));
    }
    if let Some(active) = filter.active {
        condition = condition.add(product::Column::Active.eq(active));
    }
    if let Some(q) = filter.q.filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(&q);
        let like = |column: product::Column| {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        condition = condition.add(
            Condition::any()
                .add(like(product::Column::Name))
                .add(like(product::Column::Sku)),
        );
    }
    let page = fetch_page(
        db.read(),
        product::Entity::find().filter(condition),
        product::Column::Id,
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

pub(crate) fn days_to_db(days: u32) -> i32 {
    // The wire layer bounds day counts far below i32::MAX.
    i32::try_from(days).unwrap_or(i32::MAX)
}

fn traits_of(row: &product::Model) -> ProductTraits {
    ProductTraits {
        fragile: row.fragile,
        liquid: row.liquid,
        hazardous: row.hazardous,
        perishable: row.perishable,
        lot_tracked: row.lot_tracked,
        made_to_order: row.made_to_order,
    }
}

pub(crate) fn from_row(row: product::Model) -> ServiceResult<Product> {
    let currency =
        Currency::parse(&row.currency).ok_or_else(|| corrupt("product currency", &row.currency))?;
    let traits = traits_of(&row);
    Ok(Product {
        id: row.id,
        sku: row.sku,
        name: row.name,
        specification: row.specification,
        unit: row.unit,
        list_price: row.list_price.0,
        currency,
        weight_kg: row.weight_kg.0,
        traits,
        lead_time_days: u32::try_from(row.lead_time_days)
            .map_err(|_| corrupt("lead time", row.lead_time_days))?,
        tax_rate: row.tax_rate.0,
        active: row.active,
        min_shelf_life_days: row
            .min_shelf_life_days
            .map(|days| u32::try_from(days).map_err(|_| corrupt("shelf life", days)))
            .transpose()?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
