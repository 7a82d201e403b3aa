//! `/api/v1/webhooks/subscriptions`, `/api/v1/webhook-deliveries` and the
//! event catalog at `/api/v1/events/types`.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ActionErrors, ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request};
use crate::domain::webhook::DeliveryFilter;
use crate::http::ApiError;
use crate::http::extract::{Auth, Json, Query};
use crate::service::webhooks;
use crate::state::AppState;
use crate::wire::webhooks::{
    Delivery, DeliveryList, DeliveryStatus, EventTypeList, Subscription, SubscriptionInput,
    SubscriptionList, SubscriptionPatchInput, SubscriptionWithSecret,
};

/// Subscribes a URL to events. The answer carries the signing `secret`
/// (`whsec_…`) once: keep it to verify `webhook-signature`. Role admin or
/// integration.
#[utoipa::path(
    tag = "webhooks",
    request_body = SubscriptionInput,
    responses((status = 201, description = "Subscribed", body = SubscriptionWithSecret), WriteErrors),
    security(("bearer" = []))
)]
#[post("/webhooks/subscriptions")]
pub async fn create_subscription(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<SubscriptionInput>,
) -> Result<HttpResponse, ApiError> {
    let created = webhooks::create_subscription(&state.db, &actor, input).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/webhooks/subscriptions/{}", created.subscription.id),
        ))
        .json(SubscriptionWithSecret::from(created)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists subscriptions, oldest first (never their secrets).
#[utoipa::path(
    tag = "webhooks",
    params(PageQuery),
    responses((status = 200, body = SubscriptionList), ListErrors),
    security(("bearer" = []))
)]
#[get("/webhooks/subscriptions")]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    Ok(ok(SubscriptionList::from(
        webhooks::list_subscriptions(&state.db, &actor, page).await?,
    )))
}

#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 200, body = Subscription), ReadErrors),
    security(("bearer" = []))
)]
#[get("/webhooks/subscriptions/{id}")]
pub async fn get_subscription(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Subscription::from(
        webhooks::get_subscription(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Changes a subscription; `"active": true` re-enables one a 410 disabled.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    request_body = SubscriptionPatchInput,
    responses((status = 200, body = Subscription), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/webhooks/subscriptions/{id}")]
pub async fn update_subscription(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<SubscriptionPatchInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Subscription::from(
        webhooks::update_subscription(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

/// Deletes a subscription with its deliveries.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 204, description = "Deleted"), ReadErrors),
    security(("bearer" = []))
)]
#[delete("/webhooks/subscriptions/{id}")]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    webhooks::delete_subscription(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new signing secret, returned once. The old one keeps signing beside it
/// (two `v1,` entries in `webhook-signature`) for the configured overlap
/// (`DINGDAN_WEBHOOK_SECRET_OVERLAP_HOURS`, default 24). Rotating again
/// while that overlap lasts is 409 `rotation_in_progress` (it would end the
/// old secret's overlap early); to revoke every secret at once, delete the
/// subscription and create a new one.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses((status = 200, body = SubscriptionWithSecret), ActionErrors),
    security(("bearer" = []))
)]
#[post("/webhooks/subscriptions/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(SubscriptionWithSecret::from(
        webhooks::rotate_secret(&state.db, &actor, id.into_inner()).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    subscription_id: Option<Uuid>,
    status: Option<DeliveryStatus>,
    event_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists deliveries, newest first.
#[utoipa::path(
    tag = "webhooks",
    params(DeliveryQuery),
    responses((status = 200, body = DeliveryList), ListErrors),
    security(("bearer" = []))
)]
#[get("/webhook-deliveries")]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = DeliveryFilter {
        subscription_id: query.subscription_id,
        status: query.status.map(Into::into),
        event_id: query.event_id,
    };
    Ok(ok(DeliveryList::from(
        webhooks::list_deliveries(&state.db, &actor, filter, page).await?,
    )))
}

/// One delivery with its attempt log (status, latency, response excerpt).
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses((status = 200, body = Delivery), ReadErrors),
    security(("bearer" = []))
)]
#[get("/webhook-deliveries/{id}")]
pub async fn get_delivery(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Delivery::from(
        webhooks::get_delivery(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Sends a finished (succeeded, failed or dead-lettered) delivery again,
/// once, with the same `webhook-id` and body. Queued: the answer is the
/// delivery, `pending`; its attempt log shows the outcome.
#[utoipa::path(
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses((status = 202, description = "Queued", body = Delivery), ActionErrors),
    security(("bearer" = []))
)]
#[post("/webhook-deliveries/{id}/replay")]
pub async fn replay_delivery(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let delivery = webhooks::replay_delivery(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::Accepted().json(Delivery::from(delivery)))
}

/// The event catalog: every type, what it means, whether subscribers get
/// it, and the JSON Schema of its `data`; with the shared envelope's schema.
#[utoipa::path(
    tag = "events",
    responses((status = 200, body = EventTypeList), ReadErrors),
    security(("bearer" = []))
)]
#[get("/events/types")]
pub async fn event_types(Auth(_actor): Auth) -> Result<HttpResponse, ApiError> {
    Ok(ok(EventTypeList::current()))
}
