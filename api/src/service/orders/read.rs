//! Reading orders, their timelines and the event feed.

use sea_orm::{ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _};
use uuid::Uuid;

use dingdan_entity::{order, order_event, outbox};

use super::{lines_of, load_visible, to_domain};
use crate::domain::actor::{Actor, Permission};
use crate::domain::event::EventType;
use crate::domain::order::{Order, OrderFilter, TimelineEntry};
use crate::domain::page::{Page, PageRequest};
use crate::service::error::corrupt;
use crate::service::page::fetch_page;
use crate::service::{Db, ServiceError, ServiceResult};

pub async fn get_order(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Order> {
    actor.require(Permission::OrderRead)?;
    load_visible(db.read(), actor, id).await
}

pub async fn get_order_by_number(db: &Db, actor: &Actor, number: &str) -> ServiceResult<Order> {
    actor.require(Permission::OrderRead)?;
    let not_found = || ServiceError::NotFound {
        resource: "order",
        id: format!("number {number:?}"),
    };
    let row = order::Entity::find()
        .filter(order::Column::Number.eq(number))
        .one(db.read())
        .await?
        .filter(|row| actor.may_see_customer(row.customer_id))
        .ok_or_else(not_found)?;
    let lines = lines_of(db.read(), &[row.id]).await?;
    to_domain(row, lines)
}

/// Orders, newest first.
pub async fn list_orders(
    db: &Db,
    actor: &Actor,
    filter: OrderFilter,
    page: PageRequest,
) -> ServiceResult<Page<Order>> {
    actor.require(Permission::OrderRead)?;
    let mut condition = Condition::all();
    if let Some(own) = actor.customer_id {
        condition = condition.add(order::Column::CustomerId.eq(own));
    }
    if let Some(customer_id) = filter.customer_id {
        condition = condition.add(order::Column::CustomerId.eq(customer_id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(order::Column::Status.eq(status.as_str()));
    }
    if let Some(channel) = filter.channel {
        condition = condition.add(order::Column::Channel.eq(channel.as_str()));
    }
    if let Some(external_ref) = filter.external_ref {
        condition = condition.add(order::Column::ExternalRef.eq(external_ref));
    }
    if let Some(number) = filter.number {
        condition = condition.add(order::Column::Number.eq(number));
    }
    if let Some(at) = filter.created_after {
        condition = condition.add(order::Column::CreatedAt.gte(at));
    }
    if let Some(at) = filter.created_before {
        condition = condition.add(order::Column::CreatedAt.lt(at));
    }
    if let Some(at) = filter.updated_after {
        condition = condition.add(order::Column::UpdatedAt.gte(at));
    }
    if let Some(at) = filter.updated_before {
        condition = condition.add(order::Column::UpdatedAt.lt(at));
    }
    let page = fetch_page(
        db.read(),
        order::Entity::find().filter(condition),
        order::Column::Id,
        page,
        true,
        |row| row.id,
    )
    .await?;
    let ids: Vec<Uuid> = page.items.iter().map(|o| o.id).collect();
    let mut lines: std::collections::HashMap<Uuid, Vec<_>> =
        std::collections::HashMap::with_capacity(ids.len());
    for line in lines_of(db.read(), &ids).await? {
        lines.entry(line.order_id).or_default().push(line);
    }
    let mut orders = Vec::with_capacity(page.items.len());
    for row in page.items {
        let own = lines.remove(&row.id).unwrap_or_default();
        orders.push(to_domain(row, own)?);
    }
    Ok(Page {
        items: orders,
        next_cursor: page.next_cursor,
    })
}

/// An order's timeline, oldest first.
pub async fn timeline(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    page: PageRequest,
) -> ServiceResult<Page<TimelineEntry>> {
    actor.require(Permission::OrderRead)?;
    // Visibility of the order decides visibility of its history.
    let visible = order::Entity::find_by_id(order_id)
        .one(db.read())
        .await?
        .is_some_and(|o| actor.may_see_customer(o.customer_id));
    if !visible {
        return Err(ServiceError::not_found("order", order_id));
    }
    let mut select = order_event::Entity::find().filter(order_event::Column::OrderId.eq(order_id));
    if actor.is_partner() {
        select = select.filter(order_event::Column::EventType.is_not_in(staff_only_types()));
    }
    let page = fetch_page(
        db.read(),
        select,
        order_event::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(|row| {
            Ok(TimelineEntry {
                actor_roles: serde_json::from_value(row.actor_roles.clone())
                    .map_err(|_| corrupt("actor roles", row.actor_roles.to_string()))?,
                id: row.id,
                at: row.at,
                event_type: row.event_type,
                actor_sub: row.actor_sub,
                channel: row.channel,
                data: row.data,
            })
        })
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

fn staff_only_types() -> Vec<&'static str> {
    EventType::ALL
        .into_iter()
        .filter(EventType::staff_only)
        .map(|t| t.as_str())
        .collect()
}

/// A published event, as subscribers receive it.
#[derive(Clone, Debug, PartialEq)]
pub struct PublishedEvent {
    pub id: Uuid,
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// The feed of published events, oldest first: for consumers that poll
/// instead of receiving webhooks. Partners see only their customer's events.
pub async fn list_events(
    db: &Db,
    actor: &Actor,
    event_type: Option<String>,
    resource_id: Option<Uuid>,
    page: PageRequest,
) -> ServiceResult<Page<PublishedEvent>> {
    actor.require(Permission::EventRead)?;
    let mut condition = Condition::all();
    if let Some(own) = actor.customer_id {
        condition = condition
            .add(outbox::Column::CustomerId.eq(own))
            .add(outbox::Column::EventType.is_not_in(staff_only_types()));
    }
    if let Some(event_type) = event_type {
        condition = condition.add(outbox::Column::EventType.eq(event_type));
    }
    if let Some(resource_id) = resource_id {
        condition = condition.add(outbox::Column::AggregateId.eq(resource_id));
    }
    let page = fetch_page(
        db.read(),
        outbox::Entity::find().filter(condition),
        outbox::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    Ok(page.map(|row| PublishedEvent {
        id: row.id,
        event_type: row.event_type,
        payload: row.payload,
    }))
}
