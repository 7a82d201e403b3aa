//! `/api/v1/orders` and `/api/v1/events`.

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain;
use crate::domain::order::OrderFilter;
use crate::http::extract::{Auth, Create, Json, Query};
use crate::http::{ApiError, Problem};
use crate::service::idempotency::Idempotency;
use crate::service::orders;
use crate::state::AppState;
use crate::wire::orders::{
    CancelInput, Channel, EventList, Order, OrderInput, OrderList, OrderPatchInput, OrderStatus,
    TimelineList,
};

fn with_etag(order: domain::order::Order, status: StatusCode) -> HttpResponse {
    let etag = order.etag();
    HttpResponse::build(status)
        .insert_header((ETAG, etag))
        .json(Order::from(order))
}

/// `If-Match: "<version>"`, or `*` for any version. The comparison is strong
/// (RFC 9110): a weak tag `W/"<version>"` never matches.
fn if_match(req: &HttpRequest) -> Result<Option<Option<i32>>, ApiError> {
    let Some(value) = req.headers().get(IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(Some(None));
    }
    if text.starts_with("W/") {
        // No version is negative: this fails the check and reports the current ETag.
        return Ok(Some(Some(-1)));
    }
    text.trim_matches('"')
        .parse()
        .map(|version| Some(Some(version)))
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_header",
                "If-Match must be the order's ETag, e.g. \"3\" (with the quotes)",
            )
        })
}

/// Places an order. A complete order comes back `confirmed`, numbered and
/// priced; an incomplete one `pending_info` with `findings` (it is kept:
/// supply the missing data with `PATCH`).
#[utoipa::path(
    tag = "orders",
    request_body = OrderInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses(
        (status = 201, description = "Created; `Location` names it, `ETag` is its version", body = Order),
        (status = 409, description = "`duplicate_external_ref`: the order exists; `existing_id` names it", body = Problem, content_type = "application/problem+json"),
        WriteErrors
    ),
    security(("bearer" = []))
)]
#[post("/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<OrderInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |order: &domain::order::Order| {
        let mut response = stored(
            Some(format!("/api/v1/orders/{}", order.id)),
            Some(order.id),
            &Order::from(order.clone()),
        );
        response.etag = Some(order.etag());
        response
    };
    let outcome = orders::create_order(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// Reads an order; `ETag` is its version (`If-None-Match` answers 304).
#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = Order), (status = 304, description = "Not modified"), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}")]
pub async fn get_order(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let order = orders::get_order(&state.db, &actor, id.into_inner()).await?;
    let etag = order.etag();
    if req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        })
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .finish());
    }
    Ok(with_etag(order, StatusCode::OK))
}

/// Changes an order's data while it is `pending_info`, `confirmed` or
/// `in_review`. Requires `If-Match` with the version read (428 without it,
/// 412 when the order changed since). The completeness check runs again.
#[utoipa::path(
    tag = "orders",
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("If-Match" = String, Header, description = "The ETag of the version being changed, e.g. \"3\"")
    ),
    request_body = OrderPatchInput,
    responses(
        (status = 200, body = Order),
        (status = 409, description = "`invalid_transition`: the order can no longer change", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: changed since read; `ETag` is the current version", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "`precondition_required`: send If-Match", body = Problem, content_type = "application/problem+json"),
        UpdateErrors
    ),
    security(("bearer" = []))
)]
#[patch("/orders/{id}")]
pub async fn update_order(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(input): Json<OrderPatchInput>,
) -> Result<HttpResponse, ApiError> {
    let Some(expected) = if_match(&req)? else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition_required",
            "send If-Match with the order's ETag, so a concurrent change is not overwritten",
        ));
    };
    let order = orders::update_order(&state.db, &actor, id.into_inner(), expected, input).await?;
    Ok(with_etag(order, StatusCode::OK))
}

/// Cancels an order that has not shipped. `If-Match` is optional here.
#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = CancelInput,
    responses(
        (status = 200, body = Order),
        (status = 409, description = "`invalid_transition`: the order can no longer be cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`", body = Problem, content_type = "application/problem+json"),
        UpdateErrors
    ),
    security(("bearer" = []))
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    req: HttpRequest,
    id: web::Path<Uuid>,
    Json(input): Json<CancelInput>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req)?.flatten();
    let order =
        orders::cancel_order(&state.db, &actor, id.into_inner(), expected, &input.reason).await?;
    Ok(with_etag(order, StatusCode::OK))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    status: Option<OrderStatus>,
    channel: Option<Channel>,
    customer_id: Option<Uuid>,
    external_ref: Option<String>,
    /// E.g. `SO-2026-000123`.
    number: Option<String>,
    /// RFC 3339; inclusive.
    created_after: Option<DateTime<Utc>>,
    /// RFC 3339; exclusive.
    created_before: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
    updated_before: Option<DateTime<Utc>>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists orders, newest first. Partner tokens see only their customer's.
#[utoipa::path(
    tag = "orders",
    params(OrderQuery),
    responses((status = 200, body = OrderList), ListErrors),
    security(("bearer" = []))
)]
#[get("/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<OrderQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = OrderFilter {
        status: query.status.map(Into::into),
        channel: query.channel.map(Into::into),
        customer_id: query.customer_id,
        external_ref: query.external_ref,
        number: query.number,
        created_after: query.created_after,
        created_before: query.created_before,
        updated_after: query.updated_after,
        updated_before: query.updated_before,
    };
    let page = orders::list_orders(&state.db, &actor, filter, page).await?;
    Ok(ok(OrderList::from(page)))
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

/// An order's timeline, oldest first: every change with its actor, channel
/// and time (updates carry a field diff in `data.changes`).
#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "Order id"), PageQuery),
    responses((status = 200, body = TimelineList), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}/timeline")]
pub async fn timeline(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let page = orders::timeline(&state.db, &actor, id.into_inner(), page).await?;
    Ok(ok(TimelineList::from(page)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// E.g. `order.confirmed`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    event_type: Option<String>,
    /// Only events about this resource.
    resource_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// The feed of published events, oldest first, for consumers that poll
/// rather than receive webhooks. Partner tokens see their customer's events.
#[utoipa::path(
    tag = "events",
    params(EventQuery),
    responses((status = 200, body = EventList), ListErrors),
    security(("bearer" = []))
)]
#[get("/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let page =
        orders::list_events(&state.db, &actor, query.event_type, query.resource_id, page).await?;
    Ok(ok(EventList::from(page)))
}
