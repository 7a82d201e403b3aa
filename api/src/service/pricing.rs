//! Price lists, pricing policies and promotions: their upkeep, and the price
//! resolution intake and review share.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait,
    EntityTrait as _, IntoActiveModel as _, QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

use dingdan_entity::{customer, price_list, price_list_item, pricing_policy, product, promotion};

use super::error::{corrupt, is_unique_violation};
use super::idempotency::{Created, Idempotency};
use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::money::Currency;
use crate::domain::page::{Page, PageRequest};
use crate::domain::pricing::{
    NewPriceList, NewPromotion, PriceList, PriceListItem, PriceListPatch, PriceListScope,
    PriceSource, PricingPolicy, Promotion, PromotionKind, PromotionPatch, reference_price,
};
use crate::domain::validation::Parse;

/// What a customer pays per SKU by default, and each product's list price, in
/// one currency on one day.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    pub reference: HashMap<String, (Decimal, PriceSource)>,
    pub list: HashMap<String, Decimal>,
}

/// Resolves reference prices for `products` (customer list, tier list, list price).
pub(crate) async fn resolve<C: ConnectionTrait>(
    conn: &C,
    customer: &customer::Model,
    currency: Currency,
    products: &[product::Model],
    day: NaiveDate,
) -> ServiceResult<Resolution> {
    let mut resolution = Resolution::default();
    for product in products {
        // A zero list price means "price on request".
        if product.currency == currency.code() && !product.list_price.0.is_zero() {
            resolution
                .list
                .insert(product.sku.clone(), product.list_price.0);
        }
    }
    if products.is_empty() {
        return Ok(resolution);
    }
    let lists = load_lists(
        conn,
        Condition::all()
            .add(price_list::Column::Active.eq(true))
            .add(price_list::Column::Currency.eq(currency.code()))
            .add(price_list::Column::ValidFrom.lte(day))
            .add(
                Condition::any()
                    .add(price_list::Column::ValidTo.is_null())
                    .add(price_list::Column::ValidTo.gte(day)),
            )
            .add(
                Condition::any()
                    .add(price_list::Column::CustomerId.eq(customer.id))
                    .add(price_list::Column::PriceTier.eq(customer.price_tier.clone())),
            ),
        Some(products.iter().map(|p| p.sku.clone()).collect()),
    )
    .await?;
    let customer_lists: Vec<&PriceList> = lists
        .iter()
        .filter(|l| l.scope == PriceListScope::Customer(customer.id))
        .collect();
    let tier_lists: Vec<&PriceList> = lists
        .iter()
        .filter(|l| matches!(&l.scope, PriceListScope::Tier(t) if *t == customer.price_tier))
        .collect();
    for product in products {
        let list_price = resolution.list.get(&product.sku).copied();
        if let Some(found) = reference_price(&product.sku, &customer_lists, &tier_lists, list_price)
        {
            resolution.reference.insert(product.sku.clone(), found);
        }
    }
    Ok(resolution)
}

/// The promotions valid on `day`.
pub(crate) async fn active_promotions<C: ConnectionTrait>(
    conn: &C,
    day: NaiveDate,
) -> ServiceResult<Vec<Promotion>> {
    promotion::Entity::find()
        .filter(promotion::Column::Active.eq(true))
        .filter(promotion::Column::ValidFrom.lte(day))
        .filter(
            Condition::any()
                .add(promotion::Column::ValidTo.is_null())
                .add(promotion::Column::ValidTo.gte(day)),
        )
        .order_by_asc(promotion::Column::Code)
        .all(conn)
        .await?
        .into_iter()
        .map(promotion_from_row)
        .collect()
}

/// The largest discount a tier may get, in percent, if a policy sets one.
pub(crate) async fn max_discount<C: ConnectionTrait>(
    conn: &C,
    tier: &str,
) -> ServiceResult<Option<Decimal>> {
    Ok(pricing_policy::Entity::find_by_id(tier.to_owned())
        .one(conn)
        .await?
        .map(|p| p.max_discount_percent.0))
}

async fn load_lists<C: ConnectionTrait>(
    conn: &C,
    condition: Condition,
    skus: Option<Vec<String>>,
) -> ServiceResult<Vec<PriceList>> {
    let rows = price_list::Entity::find()
        .filter(condition)
        .order_by_asc(price_list::Column::Id)
        .all(conn)
        .await?;
    with_items(conn, rows, skus).await
}

async fn with_items<C: ConnectionTrait>(
    conn: &C,
    rows: Vec<price_list::Model>,
    skus: Option<Vec<String>>,
) -> ServiceResult<Vec<PriceList>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut items = price_list_item::Entity::find()
        .filter(price_list_item::Column::PriceListId.is_in(rows.iter().map(|r| r.id)))
        .order_by_asc(price_list_item::Column::Sku);
    if let Some(skus) = skus {
        items = items.filter(price_list_item::Column::Sku.is_in(skus));
    }
    let items = items.all(conn).await?;
    rows.into_iter()
        .map(|row| {
            let own = items
                .iter()
                .filter(|item| item.price_list_id == row.id)
                .map(|item| PriceListItem {
                    sku: item.sku.clone(),
                    unit_price: item.unit_price.0,
                })
                .collect();
            list_from_row(row, own)
        })
        .collect()
}

fn list_from_row(row: price_list::Model, items: Vec<PriceListItem>) -> ServiceResult<PriceList> {
    let scope = match (row.customer_id, row.price_tier) {
        (Some(customer), _) => PriceListScope::Customer(customer),
        (None, Some(tier)) => PriceListScope::Tier(tier),
        (None, None) => return Err(corrupt("price list scope", row.id)),
    };
    Ok(PriceList {
        id: row.id,
        name: row.name,
        currency: Currency::parse(&row.currency)
            .ok_or_else(|| corrupt("price list currency", &row.currency))?,
        scope,
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        active: row.active,
        items,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Every SKU of `items` must be in the catalog.
async fn check_items<C: ConnectionTrait>(conn: &C, items: &[PriceListItem]) -> ServiceResult<()> {
    let skus: Vec<String> = items.iter().map(|i| i.sku.clone()).collect();
    let known: Vec<String> = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus.clone()))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.sku)
        .collect();
    let errors: Vec<_> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| !known.contains(&item.sku))
        .map(|(i, item)| {
            crate::domain::validation::field_error(
                format!("items[{i}].sku"),
                "unknown_sku",
                format!("no product with SKU {:?}", item.sku),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Validation(errors))
    }
}

async fn replace_items<C: ConnectionTrait>(
    conn: &C,
    list_id: Uuid,
    items: &[PriceListItem],
) -> ServiceResult<()> {
    price_list_item::Entity::delete_many()
        .filter(price_list_item::Column::PriceListId.eq(list_id))
        .exec(conn)
        .await?;
    if items.is_empty() {
        return Ok(());
    }
    let rows = items.iter().map(|item| price_list_item::ActiveModel {
        id: Set(Uuid::now_v7()),
        price_list_id: Set(list_id),
        sku: Set(item.sku.clone()),
        unit_price: Set(item.unit_price.into()),
    });
    price_list_item::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn create_price_list(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewPriceList>,
    idempotency: Idempotency<'_, PriceList>,
) -> ServiceResult<Created<PriceList>> {
    actor.require(Permission::PricingWrite)?;
    let input = input.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    if let PriceListScope::Customer(id) = input.scope
        && customer::Entity::find_by_id(id).one(&*txn).await?.is_none()
    {
        return Err(ServiceError::invalid(
            "customer_id",
            "unknown_customer",
            format!("no customer with id {id}"),
        ));
    }
    check_items(&*txn, &input.items).await?;
    let at = now();
    let id = Uuid::now_v7();
    let (price_tier, customer_id) = match &input.scope {
        PriceListScope::Tier(tier) => (Some(tier.clone()), None),
        PriceListScope::Customer(id) => (None, Some(*id)),
    };
    let row = price_list::ActiveModel {
        id: Set(id),
        name: Set(input.name),
        currency: Set(input.currency.code().to_owned()),
        price_tier: Set(price_tier),
        customer_id: Set(customer_id),
        valid_from: Set(input.valid_from),
        valid_to: Set(input.valid_to),
        active: Set(input.active),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    replace_items(&*txn, id, &input.items).await?;
    let list = list_from_row(row, input.items)?;
    idempotency.complete(&*txn, actor, &list).await?;
    txn.commit().await?;
    Ok(Created::New(list))
}

pub async fn get_price_list(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<PriceList> {
    actor.require(Permission::PricingRead)?;
    load_lists(
        db.read(),
        Condition::all().add(price_list::Column::Id.eq(id)),
        None,
    )
    .await?
    .pop()
    .ok_or_else(|| ServiceError::not_found("price list", id))
}

#[derive(Clone, Debug, Default)]
pub struct PriceListFilter {
    pub customer_id: Option<Uuid>,
    pub price_tier: Option<String>,
    pub active: Option<bool>,
}

pub async fn list_price_lists(
    db: &Db,
    actor: &Actor,
    filter: PriceListFilter,
    page: PageRequest,
) -> ServiceResult<Page<PriceList>> {
    actor.require(Permission::PricingRead)?;
    let mut condition = Condition::all();
    if let Some(customer_id) = filter.customer_id {
        condition = condition.add(price_list::Column::CustomerId.eq(customer_id));
    }
    if let Some(tier) = filter.price_tier {
        condition = condition.add(price_list::Column::PriceTier.eq(tier));
    }
    if let Some(active) = filter.active {
        condition = condition.add(price_list::Column::Active.eq(active));
    }
    let page = fetch_page(
        db.read(),
        price_list::Entity::find().filter(condition),
        price_list::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    Ok(Page {
        items: with_items(db.read(), page.items, None).await?,
        next_cursor: page.next_cursor,
    })
}

pub async fn update_price_list(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<PriceListPatch>,
) -> ServiceResult<PriceList> {
    actor.require(Permission::PricingWrite)?;
    let patch = patch.parse()?;
    let txn = db.write().await?;
    let current = price_list::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("price list", id))?;
    let valid_from = patch.valid_from.unwrap_or(current.valid_from);
    let valid_to = patch.valid_to.unwrap_or(current.valid_to);
    if valid_to.is_some_and(|to| to < valid_from) {
        return Err(ServiceError::invalid(
            "valid_to",
            "before_valid_from",
            "must not be before valid_from",
        ));
    }
    let mut row = current.into_active_model();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    row.valid_from = Set(valid_from);
    row.valid_to = Set(valid_to);
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    row.updated_at = Set(now());
    row.update(&*txn).await?;
    if let Some(items) = &patch.items {
        check_items(&*txn, items).await?;
        replace_items(&*txn, id, items).await?;
    }
    let list = load_lists(
        &*txn,
        Condition::all().add(price_list::Column::Id.eq(id)),
        None,
    )
    .await?
    .pop()
    .ok_or_else(|| ServiceError::not_found("price list", id))?;
    txn.commit().await?;
    Ok(list)
}

pub async fn delete_price_list(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require(Permission::PricingWrite)?;
    let txn = db.write().await?;
    price_list_item::Entity::delete_many()
        .filter(price_list_item::Column::PriceListId.eq(id))
        .exec(&*txn)
        .await?;
    let deleted = price_list::Entity::delete_by_id(id).exec(&*txn).await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::not_found("price list", id));
    }
    txn.commit().await?;
    Ok(())
}

pub async fn list_pricing_policies(db: &Db, actor: &Actor) -> ServiceResult<Vec<PricingPolicy>> {
    actor.require(Permission::PricingRead)?;
    Ok(pricing_policy::Entity::find()
        .order_by_asc(pricing_policy::Column::PriceTier)
        .all(db.read())
        .await?
        .into_iter()
        .map(|row| PricingPolicy {
            price_tier: row.price_tier,
            max_discount_percent: row.max_discount_percent.0,
            updated_at: row.updated_at,
        })
        .collect())
}

/// Sets (creating or replacing) the largest discount a tier may get.
pub async fn set_pricing_policy(
    db: &Db,
    actor: &Actor,
    tier: &str,
    max_discount_percent: Decimal,
) -> ServiceResult<PricingPolicy> {
    actor.require(Permission::PricingWrite)?;
    let tier = crate::domain::validation::code("price_tier", tier)
        .map_err(|e| ServiceError::Validation(vec![e]))?;
    if max_discount_percent.is_sign_negative() || max_discount_percent > Decimal::ONE_HUNDRED {
        return Err(ServiceError::invalid(
            "max_discount_percent",
            "out_of_range",
            "must be a percentage from 0 to 100",
        ));
    }
    let at = now();
    let txn = db.write().await?;
    pricing_policy::Entity::delete_by_id(tier.clone())
        .exec(&*txn)
        .await?;
    pricing_policy::ActiveModel {
        price_tier: Set(tier.clone()),
        max_discount_percent: Set(max_discount_percent.into()),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(PricingPolicy {
        price_tier: tier,
        max_discount_percent,
        updated_at: at,
    })
}

pub async fn delete_pricing_policy(db: &Db, actor: &Actor, tier: &str) -> ServiceResult<()> {
    actor.require(Permission::PricingWrite)?;
    let txn = db.write().await?;
    let deleted = pricing_policy::Entity::delete_by_id(tier.to_owned())
        .exec(&*txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::NotFound {
            resource: "pricing policy",
            id: format!("tier {tier:?}"),
        });
    }
    txn.commit().await?;
    Ok(())
}

pub async fn create_promotion(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewPromotion>,
    idempotency: Idempotency<'_, Promotion>,
) -> ServiceResult<Created<Promotion>> {
    actor.require(Permission::PricingWrite)?;
    let input = input.parse()?;
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let at = now();
    let row = promotion::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(input.code.clone()),
        name: Set(input.name),
        kind: Set(input.kind.as_str().to_owned()),
        value: Set(input.value.into()),
        currency: Set(input.currency.map(|c| c.code().to_owned())),
        skus: Set(serde_json::json!(input.skus)),
        price_tiers: Set(serde_json::json!(input.price_tiers)),
        min_quantity: Set(input.min_quantity),
        min_amount: Set(input.min_amount.map(Into::into)),
        valid_from: Set(input.valid_from),
        valid_to: Set(input.valid_to),
        stackable: Set(input.stackable),
        active: Set(input.active),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let row = match row.insert(&*txn).await {
        Ok(row) => row,
        Err(error) if is_unique_violation(&error) => {
            drop(txn);
            let existing = promotion::Entity::find()
                .filter(promotion::Column::Code.eq(&input.code))
                .one(db.read())
                .await?;
            return Err(ServiceError::conflict(
                "already_exists",
                format!("a promotion with code {:?} already exists", input.code),
                existing.map(|p| p.id),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let promotion = promotion_from_row(row)?;
    idempotency.complete(&*txn, actor, &promotion).await?;
    txn.commit().await?;
    Ok(Created::New(promotion))
}

pub async fn get_promotion(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Promotion> {
    actor.require(Permission::PricingRead)?;
    promotion::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .map(promotion_from_row)
        .transpose()?
        .ok_or_else(|| ServiceError::not_found("promotion", id))
}

pub async fn list_promotions(
    db: &Db,
    actor: &Actor,
    active: Option<bool>,
    page: PageRequest,
) -> ServiceResult<Page<Promotion>> {
    actor.require(Permission::PricingRead)?;
    let mut select = promotion::Entity::find();
    if let Some(active) = active {
        select = select.filter(promotion::Column::Active.eq(active));
    }
    let page = fetch_page(
        db.read(),
        select,
        promotion::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(promotion_from_row)
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

pub async fn update_promotion(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<PromotionPatch>,
) -> ServiceResult<Promotion> {
    actor.require(Permission::PricingWrite)?;
    let patch = patch.parse()?;
    let txn = db.write().await?;
    let current = promotion::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("promotion", id))?;
    let valid_from = patch.valid_from.unwrap_or(current.valid_from);
    let valid_to = patch.valid_to.unwrap_or(current.valid_to);
    if valid_to.is_some_and(|to| to < valid_from) {
        return Err(ServiceError::invalid(
            "valid_to",
            "before_valid_from",
            "must not be before valid_from",
        ));
    }
    let kind = PromotionKind::parse(&current.kind)
        .ok_or_else(|| corrupt("promotion kind", &current.kind))?;
    if let Some(value) = patch.value
        && kind == PromotionKind::Percent
        && value > Decimal::ONE_HUNDRED
    {
        return Err(ServiceError::invalid(
            "value",
            "out_of_range",
            "a percent off is at most 100",
        ));
    }
    if matches!(patch.min_amount, Some(Some(_))) && current.currency.is_none() {
        return Err(ServiceError::invalid(
            "min_amount",
            "currency_required",
            "this promotion has no currency, so it cannot have a minimum amount; create one with a currency",
        ));
    }
    let mut row = current.into_active_model();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if let Some(value) = patch.value {
        row.value = Set(value.into());
    }
    if let Some(skus) = patch.skus {
        row.skus = Set(serde_json::json!(skus));
    }
    if let Some(tiers) = patch.price_tiers {
        row.price_tiers = Set(serde_json::json!(tiers));
    }
    if let Some(min) = patch.min_quantity {
        row.min_quantity = Set(min);
    }
    if let Some(min) = patch.min_amount {
        row.min_amount = Set(min.map(Into::into));
    }
    row.valid_from = Set(valid_from);
    row.valid_to = Set(valid_to);
    if let Some(stackable) = patch.stackable {
        row.stackable = Set(stackable);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    row.updated_at = Set(now());
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    promotion_from_row(row)
}

pub async fn delete_promotion(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require(Permission::PricingWrite)?;
    let txn = db.write().await?;
    let deleted = promotion::Entity::delete_by_id(id).exec(&*txn).await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::not_found("promotion", id));
    }
    txn.commit().await?;
    Ok(())
}

fn promotion_from_row(row: promotion::Model) -> ServiceResult<Promotion> {
    let strings = |value: &serde_json::Value, what: &str| -> ServiceResult<Vec<String>> {
        serde_json::from_value(value.clone()).map_err(|_| corrupt(what, value.to_string()))
    };
    Ok(Promotion {
        id: row.id,
        kind: PromotionKind::parse(&row.kind)
            .ok_or_else(|| corrupt("promotion kind", &row.kind))?,
        currency: match &row.currency {
            Some(code) => {
                Some(Currency::parse(code).ok_or_else(|| corrupt("promotion currency", code))?)
            }
            None => None,
        },
        skus: strings(&row.skus, "promotion skus")?,
        price_tiers: strings(&row.price_tiers, "promotion tiers")?,
        code: row.code,
        name: row.name,
        value: row.value.0,
        min_quantity: row.min_quantity,
        min_amount: row.min_amount.map(|a| a.0),
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        stackable: row.stackable,
        active: row.active,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
