//! Orders: intake (create, fix, cancel) and reading them back.
//!
//! Every change bumps the order's `version` with a conditional update, so two
//! writers cannot both change the same version, and records its timeline entry
//! (and outbox event) in the same transaction.

mod intake;
mod read;

pub(crate) use intake::{Redirect, redirect_order};
pub use intake::{cancel_order, create_order, update_order};
pub use read::PublishedEvent;
pub use read::{get_order, get_order_by_number, list_events, list_orders, timeline};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};
use uuid::Uuid;

use dingdan_entity::{order, order_line};

use super::error::corrupt;
use super::events::Subject;
use super::{ServiceError, ServiceResult, now};
use crate::domain::actor::Actor;
use crate::domain::money::Currency;
use crate::domain::order::{Channel, Order, OrderLine, OrderStatus, Promotions};
use crate::domain::pricing::PriceSource;
use crate::domain::review::PaymentMethod;

/// Changes an order's status (and what `extra` adds), bumping its version;
/// conditional on the version read, so a concurrent change is not overwritten.
pub(crate) async fn set_status<C: ConnectionTrait>(
    conn: &C,
    current: &order::Model,
    status: OrderStatus,
    extra: impl FnOnce(sea_orm::UpdateMany<order::Entity>) -> sea_orm::UpdateMany<order::Entity>,
) -> ServiceResult<i32> {
    let version = current.version + 1;
    let update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::val(status.as_str()))
        .col_expr(order::Column::Version, Expr::val(version))
        .col_expr(order::Column::UpdatedAt, Expr::val(now()))
        .filter(order::Column::Id.eq(current.id))
        .filter(order::Column::Version.eq(current.version));
    let result = extra(update).exec(conn).await?;
    if result.rows_affected == 0 {
        let now_at = order::Entity::find_by_id(current.id)
            .one(conn)
            .await?
            .map_or(current.version, |o| o.version);
        return Err(ServiceError::VersionMismatch {
            expected: current.version,
            current: now_at,
        });
    }
    Ok(version)
}

pub(crate) fn subject(order: &order::Model, version: i32) -> Subject<'_> {
    Subject {
        kind: "order",
        id: order.id,
        version,
        customer_id: Some(order.customer_id),
        channel: Some(order.channel.as_str()),
    }
}

/// Loads an order the actor may see, or reports it missing.
pub(crate) async fn load_visible<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<Order> {
    let row = order::Entity::find_by_id(id)
        .one(conn)
        .await?
        .filter(|row| actor.may_see_customer(row.customer_id))
        .ok_or_else(|| ServiceError::not_found("order", id))?;
    let lines = lines_of(conn, &[row.id]).await?;
    to_domain(row, lines)
}

/// The lines of some orders, in order.
pub(crate) async fn lines_of<C: ConnectionTrait>(
    conn: &C,
    ids: &[Uuid],
) -> ServiceResult<Vec<order_line::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(ids.iter().copied()))
        .order_by_asc(order_line::Column::OrderId)
        .order_by_asc(order_line::Column::LineNo)
        .all(conn)
        .await?)
}

pub(crate) fn to_domain(row: order::Model, lines: Vec<order_line::Model>) -> ServiceResult<Order> {
    let json = |what: &str, value: &serde_json::Value| corrupt(what, value.to_string());
    // Read straight from the stored JSON, without copying it first.
    fn parse<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Result<T, ()> {
        T::deserialize(value).map_err(|_| ())
    }
    Ok(Order {
        status: OrderStatus::parse(&row.status)
            .ok_or_else(|| corrupt("order status", &row.status))?,
        channel: Channel::parse(&row.channel)
            .ok_or_else(|| corrupt("order channel", &row.channel))?,
        currency: Currency::parse(&row.currency)
            .ok_or_else(|| corrupt("order currency", &row.currency))?,
        ship_to: parse(&row.ship_to).map_err(|()| json("ship_to", &row.ship_to))?,
        contact: parse(&row.contact).map_err(|()| json("contact", &row.contact))?,
        invoice: match &row.invoice {
            Some(value) => Some(parse(value).map_err(|()| json("invoice", value))?),
            None => None,
        },
        findings: parse(&row.findings).map_err(|()| json("findings", &row.findings))?,
        lines: lines
            .into_iter()
            .map(|line| {
                Ok(OrderLine {
                    id: line.id,
                    line_no: u32::try_from(line.line_no)
                        .map_err(|_| corrupt("line number", line.line_no))?,
                    sku: line.sku,
                    product_id: line.product_id,
                    quantity: line.quantity,
                    unit_price: line.unit_price.map(|p| p.0),
                    price_source: PriceSource::parse(&line.price_source)
                        .ok_or_else(|| corrupt("price source", &line.price_source))?,
                    subtotal: line.subtotal.0,
                    discount: line.discount.0,
                    tax_rate: line.tax_rate.0,
                    tax: line.tax.0,
                    total: line.total.0,
                    custom_spec: line.custom_spec,
                })
            })
            .collect::<ServiceResult<_>>()?,
        id: row.id,
        number: row.number,
        source_account: (!row.source_account.is_empty()).then_some(row.source_account),
        external_ref: row.external_ref,
        customer_id: row.customer_id,
        subtotal: row.subtotal.0,
        discount_total: row.discount_total.0,
        tax_total: row.tax_total.0,
        total: row.total.0,
        requested_delivery_date: row.requested_delivery_date,
        promised_delivery_date: row.promised_delivery_date,
        special_instructions: row.special_instructions,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
        confirmed_at: row.confirmed_at,
        cancelled_at: row.cancelled_at,
        cancel_reason: row.cancel_reason,
        payment_method: match &row.payment_method {
            Some(method) => Some(
                PaymentMethod::parse(method).ok_or_else(|| corrupt("payment method", method))?,
            ),
            None => None,
        },
        // Rows from before promotions existed hold the column default.
        promotions: match &row.promotions {
            serde_json::Value::Array(items) if items.is_empty() => Promotions::default(),
            value => parse(value).map_err(|()| json("promotions", value))?,
        },
        review_round: row.review_round,
        approved_at: row.approved_at,
        allocated_at: row.allocated_at,
    })
}
