//! Live events over WebSocket (`graphql-transport-ws`): an order's status as
//! it changes, for one order or for every order of a customer.

use async_graphql::{Context, Json, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use uuid::Uuid;

use super::{actor, db};
use crate::domain::actor::Permission;
use crate::domain::event::EventType;
use crate::service::{ServiceError, live, orders};

/// One published event about an order.
#[derive(Clone, Debug, SimpleObject)]
pub struct OrderEvent {
    /// The event's id (the `webhook-id` of its webhook deliveries).
    pub id: Uuid,
    /// `order.confirmed`, `order.allocated`, …
    #[graphql(name = "type")]
    pub event_type: String,
    pub order_id: Uuid,
    pub customer_id: Option<Uuid>,
    /// The resource's version after the change (the order's, or the
    /// shipment's for `shipment.*` events).
    pub version: i32,
    /// The order's status after the change, when the event says (absent
    /// for `shipment.*` events: their `data.status` is the shipment's).
    pub status: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// The event's `data` (see `eventTypes`).
    pub data: Json<serde_json::Value>,
}

#[derive(Default)]
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// Events of one order (`orderId`) or of every order of one customer
    /// (`customerId`), as they are committed, its shipments' events
    /// (`shipment.*`) included. A customer-scoped token may
    /// follow only its own customer's orders, and does not see staff-only
    /// events (review internals).
    async fn order_events(
        &self,
        ctx: &Context<'_>,
        order_id: Option<Uuid>,
        customer_id: Option<Uuid>,
    ) -> Result<impl Stream<Item = OrderEvent> + use<>> {
        let actor = actor(ctx)?.clone();
        let db = db(ctx)?.clone();
        actor
            .require(Permission::OrderRead)
            .map_err(ServiceError::from)?;
        match (order_id, customer_id) {
            (Some(id), None) => {
                // Not found unless visible to this token.
                orders::get_order(&db, &actor, id).await?;
            }
            (None, Some(customer)) => {
                if !actor.may_see_customer(customer) {
                    return Err(ServiceError::Forbidden(
                        "this token may follow only its own customer's orders".to_owned(),
                    )
                    .into());
                }
            }
            _ => {
                return Err(ServiceError::invalid(
                    "orderId",
                    "invalid_argument",
                    "give exactly one of orderId and customerId",
                )
                .into());
            }
        }
        let partner = actor.is_partner();
        let receiver = live::subscribe(&db);
        let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, receiver)),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(
                            missed,
                            "a live subscriber fell behind; events were skipped"
                        );
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
        Ok(futures_util::StreamExt::filter_map(events, move |event| {
            let data = event.payload.get("data").cloned().unwrap_or_default();
            // A shipment's events belong to its order's stream too.
            let about = match event.resource_type.as_str() {
                "order" => Some(event.resource_id),
                "shipment" => data
                    .get("order_id")
                    .and_then(|s| s.as_str())
                    .and_then(|s| Uuid::parse_str(s).ok()),
                _ => None,
            };
            let wanted = about.is_some_and(|about| order_id.is_none_or(|id| id == about))
                && customer_id.is_none_or(|id| Some(id) == event.customer_id)
                && !(partner && EventType::parse(&event.event_type).is_none_or(|t| t.staff_only()));
            let item = wanted.then(|| {
                let is_order = event.resource_type == "order";
                OrderEvent {
                    id: event.id,
                    event_type: event.event_type.clone(),
                    order_id: about.unwrap_or(event.resource_id),
                    customer_id: event.customer_id,
                    version: event.version,
                    status: data
                        .get("status")
                        .and_then(|s| s.as_str())
                        .filter(|_| is_order)
                        .map(str::to_owned),
                    occurred_at: event.occurred_at,
                    data: Json(data),
                }
            });
            std::future::ready(item)
        }))
    }
}
