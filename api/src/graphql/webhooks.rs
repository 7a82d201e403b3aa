//! Webhook subscriptions, deliveries and the event catalog.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::webhook::DeliveryFilter;
use crate::service::webhooks;
use crate::wire::webhooks::{
    Delivery, DeliveryStatus, EventTypeInfo, Subscription, SubscriptionInput,
    SubscriptionPatchInput, SubscriptionWithSecret,
};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    async fn webhook_subscription(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<Option<Subscription>> {
        Ok(Some(
            webhooks::get_subscription(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Subscription>> {
        let request = page_request(first, after.as_deref())?;
        let page = webhooks::list_subscriptions(db(ctx)?, actor(ctx)?, request).await?;
        Ok(connection(page, &request, |s| s.id, Subscription::from))
    }

    async fn webhook_delivery(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Delivery>> {
        Ok(Some(
            webhooks::get_delivery(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subscription_id: Option<Uuid>,
        status: Option<DeliveryStatus>,
        event_id: Option<Uuid>,
    ) -> Result<Connection<String, Delivery>> {
        let request = page_request(first, after.as_deref())?;
        let filter = DeliveryFilter {
            subscription_id,
            status: status.map(Into::into),
            event_id,
        };
        let page = webhooks::list_deliveries(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |d| d.id, Delivery::from))
    }

    /// Every event type, with the JSON Schema of its `data`.
    async fn event_types(&self, ctx: &Context<'_>) -> Result<Vec<EventTypeInfo>> {
        actor(ctx)?;
        Ok(EventTypeInfo::catalog())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Subscribes a URL to events; the `secret` is shown this once.
    async fn create_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        input: SubscriptionInput,
    ) -> Result<SubscriptionWithSecret> {
        Ok(webhooks::create_subscription(db(ctx)?, actor(ctx)?, input)
            .await?
            .into())
    }

    async fn update_webhook_subscription(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: SubscriptionPatchInput,
    ) -> Result<Subscription> {
        Ok(
            webhooks::update_subscription(db(ctx)?, actor(ctx)?, id, input)
                .await?
                .into(),
        )
    }

    /// Returns the id of the deleted subscription.
    async fn delete_webhook_subscription(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        webhooks::delete_subscription(db(ctx)?, actor(ctx)?, id).await?;
        Ok(id)
    }

    /// A new secret, shown this once; the old one signs beside it for the overlap.
    /// During an overlap another rotation is refused (`rotation_in_progress`).
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
    ) -> Result<SubscriptionWithSecret> {
        Ok(webhooks::rotate_secret(db(ctx)?, actor(ctx)?, id)
            .await?
            .into())
    }

    /// Sends a finished delivery again with the same `webhook-id`.
    async fn replay_webhook_delivery(&self, ctx: &Context<'_>, id: Uuid) -> Result<Delivery> {
        Ok(webhooks::replay_delivery(db(ctx)?, actor(ctx)?, id)
            .await?
            .into())
    }
}
