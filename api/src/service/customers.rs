//! Customers. A partner token sees only its own customer; any other is
//! reported as not found, exactly as if it did not exist.

use sea_orm::sea_query::{Expr, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, EntityTrait as _,
    ExprTrait as _, IntoActiveModel as _, QueryFilter as _,
};
use uuid::Uuid;

use dingdan_entity::customer;

use super::error::{corrupt, is_unique_violation};
use super::idempotency::{Created, Idempotency};
use super::page::{contains_pattern, fetch_page};
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::customer::{
    Customer, CustomerFilter, CustomerPatch, CustomerStatus, NewCustomer,
};
use crate::domain::money::Currency;
use crate::domain::page::{Page, PageRequest};
use crate::domain::validation::Parse;

pub async fn create_customer(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewCustomer>,
    idempotency: Idempotency<'_, Customer>,
) -> ServiceResult<Created<Customer>> {
    actor.require(Permission::CustomerWrite)?;
    let input = input.parse()?;
    let at = now();
    let row = customer::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(input.code.clone()),
        name: Set(input.name),
        contacts: Set(to_json(&input.contacts)?),
        addresses: Set(to_json(&input.addresses)?),
        currency: Set(input.currency.code().to_owned()),
        credit_limit: Set(input.credit_limit.into()),
        payment_terms_days: Set(days_to_db(input.payment_terms_days)),
        price_tier: Set(input.price_tier),
        status: Set(input.status.as_str().to_owned()),
        allow_partial_shipment: Set(input.allow_partial_shipment),
        payment_methods: Set(to_json(&input.payment_methods)?),
        requires_invoice: Set(input.requires_invoice),
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
            let existing = customer::Entity::find()
                .filter(customer::Column::Code.eq(&input.code))
                .one(db.read())
                .await?;
            return Err(ServiceError::conflict(
                "already_exists",
                format!("a customer with code {:?} already exists", input.code),
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

pub async fn get_customer(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Customer> {
    actor.require(Permission::CustomerRead)?;
    if !actor.may_see_customer(id) {
        return Err(ServiceError::not_found("customer", id));
    }
    let row = customer::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("customer", id))?;
    from_row(row)
}

pub async fn update_customer(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<CustomerPatch>,
) -> ServiceResult<Customer> {
    actor.require(Permission::CustomerWrite)?;
    let patch = patch.parse()?;
    if !actor.may_see_customer(id) {
        return Err(ServiceError::not_found("customer", id));
    }
    let txn = db.write().await?;
    let current = customer::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("customer", id))?;
    let mut row = current.into_active_model();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if let Some(contacts) = patch.contacts {
        row.contacts = Set(to_json(&contacts)?);
    }
    if let Some(addresses) = patch.addresses {
        row.addresses = Set(to_json(&addresses)?);
    }
    if let Some(currency) = patch.currency {
        row.currency = Set(currency.code().to_owned());
    }
    if let Some(limit) = patch.credit_limit {
        row.credit_limit = Set(limit.into());
    }
    if let Some(days) = patch.payment_terms_days {
        row.payment_terms_days = Set(days_to_db(days));
    }
    if let Some(tier) = patch.price_tier {
        row.price_tier = Set(tier);
    }
    if let Some(status) = patch.status {
        row.status = Set(status.as_str().to_owned());
    }
    if let Some(partial) = patch.allow_partial_shipment {
        row.allow_partial_shipment = Set(partial);
    }
    if let Some(methods) = patch.payment_methods {
        row.payment_methods = Set(to_json(&methods)?);
    }
    if let Some(requires) = patch.requires_invoice {
        row.requires_invoice = Set(requires);
    }
    if let Some(days) = patch.min_shelf_life_days {
        row.min_shelf_life_days = Set(days.map(days_to_db));
    }
    row.updated_at = Set(now());
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    from_row(row)
}

pub async fn list_customers(
    db: &Db,
    actor: &Actor,
    filter: CustomerFilter,
    page: PageRequest,
) -> ServiceResult<Page<Customer>> {
    actor.require(Permission::CustomerRead)?;
    let mut condition = Condition::all();
    if let Some(own) = actor.customer_id {
        condition = condition.add(customer::Column::Id.eq(own));
    }
    if let Some(code) = filter.code {
        condition = condition.add(customer::Column::Code.eq(code));
    }
    if let Some(status) = filter.status {
        condition = condition.add(customer::Column::Status.eq(status.as_str()));
    }
    if let Some(tier) = filter.price_tier {
        condition = condition.add(customer::Column::PriceTier.eq(tier));
    }
    if let Some(q) = filter.q.filter(|q| !q.is_empty()) {
        let pattern = contains_pattern(&q);
        let like = |column: customer::Column| {
            Expr::expr(Func::lower(Expr::col(column)))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        condition = condition.add(
            Condition::any()
                .add(like(customer::Column::Name))
                .add(like(customer::Column::Code)),
        );
    }
    let page = fetch_page(
        db.read(),
        customer::Entity::find().filter(condition),
        customer::Column::Id,
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

fn days_to_db(days: u32) -> i32 {
    i32::try_from(days).unwrap_or(i32::MAX)
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.into()))
}

pub(crate) fn from_row(row: customer::Model) -> ServiceResult<Customer> {
    Ok(Customer {
        id: row.id,
        contacts: serde_json::from_value(row.contacts.clone())
            .map_err(|_| corrupt("contacts", &row.contacts))?,
        addresses: serde_json::from_value(row.addresses.clone())
            .map_err(|_| corrupt("addresses", &row.addresses))?,
        currency: Currency::parse(&row.currency)
            .ok_or_else(|| corrupt("customer currency", &row.currency))?,
        credit_limit: row.credit_limit.0,
        payment_terms_days: u32::try_from(row.payment_terms_days)
            .map_err(|_| corrupt("payment terms", row.payment_terms_days))?,
        status: CustomerStatus::parse(&row.status)
            .ok_or_else(|| corrupt("customer status", &row.status))?,
        code: row.code,
        name: row.name,
        price_tier: row.price_tier,
        allow_partial_shipment: row.allow_partial_shipment,
        payment_methods: serde_json::from_value(row.payment_methods.clone())
            .map_err(|_| corrupt("payment methods", &row.payment_methods))?,
        requires_invoice: row.requires_invoice,
        min_shelf_life_days: row
            .min_shelf_life_days
            .map(|days| u32::try_from(days).map_err(|_| corrupt("shelf life", days)))
            .transpose()?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
