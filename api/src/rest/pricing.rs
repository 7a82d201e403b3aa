//! `/api/v1/price-lists`, `/api/v1/pricing-policies`, `/api/v1/promotions`.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, Query};
use crate::service::idempotency::Idempotency;
use crate::service::pricing::{self, PriceListFilter};
use crate::state::AppState;
use crate::wire::pricing::{
    PriceList, PriceListInput, PriceListList, PriceListPatchInput, PricingPolicy,
    PricingPolicyInput, PricingPolicyList, Promotion, PromotionInput, PromotionList,
    PromotionPatchInput,
};

/// Creates a price list for a price tier or a customer.
#[utoipa::path(
    tag = "pricing",
    request_body = PriceListInput,
    responses((status = 201, description = "Created", body = PriceList), WriteErrors),
    security(("bearer" = []))
)]
#[post("/price-lists")]
pub async fn create_price_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<PriceListInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &domain::pricing::PriceList| {
        stored(
            Some(format!("/api/v1/price-lists/{}", value.id)),
            Some(value.id),
            &PriceList::from(value.clone()),
        )
    };
    let outcome = pricing::create_price_list(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id")),
    responses((status = 200, body = PriceList), ReadErrors),
    security(("bearer" = []))
)]
#[get("/price-lists/{id}")]
pub async fn get_price_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(PriceList::from(
        pricing::get_price_list(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Changes a price list; `items` replaces every item.
#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id")),
    request_body = PriceListPatchInput,
    responses((status = 200, body = PriceList), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/price-lists/{id}")]
pub async fn update_price_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<PriceListPatchInput>,
) -> Result<HttpResponse, ApiError> {
    let list = pricing::update_price_list(&state.db, &actor, id.into_inner(), input).await?;
    Ok(ok(PriceList::from(list)))
}

#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Price list id")),
    responses((status = 204, description = "Deleted"), ReadErrors),
    security(("bearer" = []))
)]
#[delete("/price-lists/{id}")]
pub async fn delete_price_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    pricing::delete_price_list(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceListQuery {
    customer_id: Option<Uuid>,
    price_tier: Option<String>,
    active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

#[utoipa::path(
    tag = "pricing",
    params(PriceListQuery),
    responses((status = 200, body = PriceListList), ListErrors),
    security(("bearer" = []))
)]
#[get("/price-lists")]
pub async fn list_price_lists(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<PriceListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = PriceListFilter {
        customer_id: query.customer_id,
        price_tier: query.price_tier,
        active: query.active,
    };
    Ok(ok(PriceListList::from(
        pricing::list_price_lists(&state.db, &actor, filter, page).await?,
    )))
}

/// The largest discount below the reference price per price tier.
#[utoipa::path(
    tag = "pricing",
    responses((status = 200, body = PricingPolicyList), ListErrors),
    security(("bearer" = []))
)]
#[get("/pricing-policies")]
pub async fn list_pricing_policies(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    let items = pricing::list_pricing_policies(&state.db, &actor).await?;
    Ok(ok(PricingPolicyList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// Sets a tier's largest discount (creating or replacing its policy).
#[utoipa::path(
    tag = "pricing",
    params(("tier" = String, Path, description = "Price tier, e.g. wholesale")),
    request_body = PricingPolicyInput,
    responses((status = 200, body = PricingPolicy), UpdateErrors),
    security(("bearer" = []))
)]
#[put("/pricing-policies/{tier}")]
pub async fn set_pricing_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    tier: web::Path<String>,
    Json(input): Json<PricingPolicyInput>,
) -> Result<HttpResponse, ApiError> {
    let policy =
        pricing::set_pricing_policy(&state.db, &actor, &tier, input.max_discount_percent.0).await?;
    Ok(ok(PricingPolicy::from(policy)))
}

#[utoipa::path(
    tag = "pricing",
    params(("tier" = String, Path, description = "Price tier")),
    responses((status = 204, description = "Deleted"), ReadErrors),
    security(("bearer" = []))
)]
#[delete("/pricing-policies/{tier}")]
pub async fn delete_pricing_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    tier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    pricing::delete_pricing_policy(&state.db, &actor, &tier).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Creates a promotion. At intake each order gets the better of the best
/// non-stacking promotion and all stackable ones together.
#[utoipa::path(
    tag = "pricing",
    request_body = PromotionInput,
    responses((status = 201, description = "Created", body = Promotion), WriteErrors),
    security(("bearer" = []))
)]
#[post("/promotions")]
pub async fn create_promotion(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<PromotionInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &domain::pricing::Promotion| {
        stored(
            Some(format!("/api/v1/promotions/{}", value.id)),
            Some(value.id),
            &Promotion::from(value.clone()),
        )
    };
    let outcome = pricing::create_promotion(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Promotion id")),
    responses((status = 200, body = Promotion), ReadErrors),
    security(("bearer" = []))
)]
#[get("/promotions/{id}")]
pub async fn get_promotion(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Promotion::from(
        pricing::get_promotion(&state.db, &actor, id.into_inner()).await?,
    )))
}

#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Promotion id")),
    request_body = PromotionPatchInput,
    responses((status = 200, body = Promotion), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/promotions/{id}")]
pub async fn update_promotion(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<PromotionPatchInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Promotion::from(
        pricing::update_promotion(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

#[utoipa::path(
    tag = "pricing",
    params(("id" = Uuid, Path, description = "Promotion id")),
    responses((status = 204, description = "Deleted"), ReadErrors),
    security(("bearer" = []))
)]
#[delete("/promotions/{id}")]
pub async fn delete_promotion(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    pricing::delete_promotion(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PromotionQuery {
    active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

#[utoipa::path(
    tag = "pricing",
    params(PromotionQuery),
    responses((status = 200, body = PromotionList), ListErrors),
    security(("bearer" = []))
)]
#[get("/promotions")]
pub async fn list_promotions(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<PromotionQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    Ok(ok(PromotionList::from(
        pricing::list_promotions(&state.db, &actor, query.active, page).await?,
    )))
}
