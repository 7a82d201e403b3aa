//! `/api/v1/reviews` (queues and decisions) and `/api/v1/review-policy`.

use actix_web::{HttpResponse, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, ok, page_request};
use crate::http::extract::{Auth, Json, Query};
use crate::http::{ApiError, Problem};
use crate::service::reviews::{self, ReviewFilter};
use crate::state::AppState;
use crate::wire::orders::Order;
use crate::wire::reviews::{
    DecisionBody, DecisionOutcome, Review, ReviewItems, ReviewList, ReviewPolicyBody, Stage, Status,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    stage: Option<Stage>,
    /// `pending` for a queue.
    status: Option<Status>,
    order_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Review queues, oldest first: e.g. `?stage=finance&status=pending`.
#[utoipa::path(
    tag = "reviews",
    params(ReviewQuery),
    responses((status = 200, body = ReviewList), ListErrors),
    security(("bearer" = []))
)]
#[get("/reviews")]
pub async fn list_reviews(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<ReviewQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = ReviewFilter {
        stage: query.stage.map(Into::into),
        status: query.status.map(Into::into),
        order_id: query.order_id,
    };
    Ok(ok(ReviewList::from(
        reviews::list_reviews(&state.db, &actor, filter, page).await?,
    )))
}

#[utoipa::path(
    tag = "reviews",
    params(("id" = Uuid, Path, description = "Review id")),
    responses((status = 200, body = Review), ReadErrors),
    security(("bearer" = []))
)]
#[get("/reviews/{id}")]
pub async fn get_review(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Review::from(
        reviews::get_review(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Decides a pending review: `approve` (the next stage runs), `reject` (with
/// a `reason_code`; the order is rejected) or `request_changes` (with a
/// `comment`; the order goes back to `pending_info`). Only the stage's owner
/// role decides: sales, finance, warehouse (inventory), order_manager (final);
/// admin may decide any.
#[utoipa::path(
    tag = "reviews",
    params(("id" = Uuid, Path, description = "Review id")),
    request_body = DecisionBody,
    responses(
        (status = 200, body = DecisionOutcome),
        (status = 409, description = "`review_not_pending`: already decided or not yet reached", body = Problem, content_type = "application/problem+json"),
        UpdateErrors
    ),
    security(("bearer" = []))
)]
#[post("/reviews/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<DecisionBody>,
) -> Result<HttpResponse, ApiError> {
    let (review, order) = reviews::decide(&state.db, &actor, id.into_inner(), input).await?;
    Ok(ok(DecisionOutcome {
        review: review.into(),
        order: Order::from(order),
    }))
}

/// Every review of an order, all rounds, in stage order.
#[utoipa::path(
    tag = "reviews",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = ReviewItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}/reviews")]
pub async fn order_reviews(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = reviews::order_reviews(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(ReviewItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// The review policy in force.
#[utoipa::path(
    tag = "reviews",
    responses((status = 200, body = ReviewPolicyBody), ReadErrors),
    security(("bearer" = []))
)]
#[get("/review-policy")]
pub async fn get_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(ReviewPolicyBody::from(
        reviews::get_policy(&state.db, &actor).await?,
    )))
}

/// Replaces the review policy (admin, order_manager). It applies to reviews
/// that run from now on.
#[utoipa::path(
    tag = "reviews",
    request_body = ReviewPolicyBody,
    responses((status = 200, body = ReviewPolicyBody), UpdateErrors),
    security(("bearer" = []))
)]
#[put("/review-policy")]
pub async fn set_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<ReviewPolicyBody>,
) -> Result<HttpResponse, ApiError> {
    let policy = crate::domain::validation::Parse::parse(input)?;
    Ok(ok(ReviewPolicyBody::from(
        reviews::set_policy(&state.db, &actor, policy).await?,
    )))
}
