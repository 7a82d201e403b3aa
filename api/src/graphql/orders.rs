//! Orders, their timeline and the event feed.

use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain;
use crate::domain::order::OrderFilter;
use crate::http::extract::fingerprint;
use crate::service::idempotency::{Created, Idempotency, IdempotencyRequest, StoredResponse};
use crate::service::orders;
use crate::wire::orders::{
    Channel, Event, Order, OrderInput, OrderPatchInput, OrderStatus, TimelineEntry,
};

#[ComplexObject]
impl Order {
    /// Every review of the order, all rounds, in stage order (staff only).
    async fn reviews(&self, ctx: &Context<'_>) -> Result<Vec<crate::wire::reviews::Review>> {
        let reviews =
            crate::service::reviews::order_reviews(db(ctx)?, actor(ctx)?, self.id).await?;
        Ok(reviews.into_iter().map(Into::into).collect())
    }

    /// The order's timeline, oldest first.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, TimelineEntry>> {
        let request = page_request(first, after.as_deref())?;
        let page = orders::timeline(db(ctx)?, actor(ctx)?, self.id, request).await?;
        Ok(connection(page, &request, |e| e.id, TimelineEntry::from))
    }
}

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// An order by id.
    async fn order(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Order>> {
        Ok(Some(
            orders::get_order(db(ctx)?, actor(ctx)?, id).await?.into(),
        ))
    }

    /// An order by its number, e.g. `SO-2026-000123`.
    async fn order_by_number(&self, ctx: &Context<'_>, number: String) -> Result<Option<Order>> {
        Ok(Some(
            orders::get_order_by_number(db(ctx)?, actor(ctx)?, &number)
                .await?
                .into(),
        ))
    }

    /// Orders, newest first.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatus>,
        channel: Option<Channel>,
        customer_id: Option<Uuid>,
        external_ref: Option<String>,
        number: Option<String>,
        created_after: Option<DateTime<Utc>>,
        created_before: Option<DateTime<Utc>>,
        updated_after: Option<DateTime<Utc>>,
        updated_before: Option<DateTime<Utc>>,
    ) -> Result<Connection<String, Order>> {
        let request = page_request(first, after.as_deref())?;
        let filter = OrderFilter {
            status: status.map(Into::into),
            channel: channel.map(Into::into),
            customer_id,
            external_ref,
            number,
            created_after,
            created_before,
            updated_after,
            updated_before,
        };
        let page = orders::list_orders(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |o| o.id, Order::from))
    }

    /// Published events, oldest first.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(name = "type")] event_type: Option<String>,
        resource_id: Option<Uuid>,
    ) -> Result<Connection<String, Event>> {
        let request = page_request(first, after.as_deref())?;
        let page =
            orders::list_events(db(ctx)?, actor(ctx)?, event_type, resource_id, request).await?;
        Ok(connection(page, &request, |e| e.id, Event::from))
    }
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Places an order. A complete order is confirmed at once; an incomplete
    /// one is kept as `PENDING_INFO` with its findings. With an
    /// `idempotencyKey`, a retry returns the order the first attempt created.
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        input: OrderInput,
        idempotency_key: Option<String>,
    ) -> Result<Order> {
        let (db, actor) = (db(ctx)?, actor(ctx)?);
        let request = idempotency_key.map(|key| IdempotencyRequest {
            fingerprint: fingerprint(
                "graphql createOrder",
                &serde_json::to_value(&input).unwrap_or_default(),
            ),
            key,
        });
        let render = |order: &domain::order::Order| StoredResponse {
            status: 200,
            body: String::new(),
            location: None,
            etag: None,
            resource_id: Some(order.id),
        };
        match orders::create_order(db, actor, input, Idempotency::new(request, &render)).await? {
            Created::New(order) => Ok(order.into()),
            Created::Replay(first) => {
                let id = first.resource_id.ok_or_else(|| {
                    super::errors::coded(
                        "idempotency_key_reused",
                        "the key was used for another request",
                    )
                })?;
                Ok(orders::get_order(db, actor, id).await?.into())
            }
        }
    }

    /// Changes an order's data at `version` (the version you read).
    async fn update_order(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        version: i32,
        input: OrderPatchInput,
    ) -> Result<Order> {
        Ok(
            orders::update_order(db(ctx)?, actor(ctx)?, id, Some(version), input)
                .await?
                .into(),
        )
    }

    /// Cancels an order that has not shipped.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        reason: String,
        version: Option<i32>,
    ) -> Result<Order> {
        Ok(
            orders::cancel_order(db(ctx)?, actor(ctx)?, id, version, &reason)
                .await?
                .into(),
        )
    }
}
