//! `/api/v1/orders/{id}/allocation`, `/api/v1/allocation-policy` and
//! `/api/v1/geo-locations`.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ActionErrors, ListErrors, ReadErrors, UpdateErrors, ok, page_request};
use crate::http::ApiError;
use crate::http::extract::{Auth, Json, OptionalJson, Query};
use crate::service::{allocation, geo};
use crate::state::AppState;
use crate::wire::allocation::{
    Allocation, AllocationInput, AllocationPolicy, GeoLocation, GeoLocationInput, GeoLocationList,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AllocateQuery {
    /// Show the plan without reserving anything (also for orders still in
    /// review).
    dry_run: Option<bool>,
}

/// Plans the order's allocation and reserves it: the order becomes
/// `allocated`, or — when stock is short — `partially_allocated` (the
/// customer accepts partial shipment) or `backordered`, the rest waiting for
/// stock. With `dry_run=true` nothing is reserved. The body is optional:
/// `overrides` pin lines to a warehouse (and lot); `consolidate` ships from
/// one warehouse by requesting transfers. Conflicts: `already_allocated`,
/// `not_allocatable`, `invalid_transition`, `allocation_contended`.
#[utoipa::path(
    tag = "allocation",
    params(("id" = Uuid, Path, description = "Order id"), AllocateQuery),
    request_body(content = AllocationInput, description = "Optional"),
    responses((status = 200, body = Allocation), ActionErrors),
    security(("bearer" = []))
)]
#[post("/orders/{id}/allocation")]
pub async fn allocate(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Query(query): Query<AllocateQuery>,
    OptionalJson(input): OptionalJson<AllocationInput>,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query.dry_run.unwrap_or(false);
    Ok(ok(Allocation::from(
        allocation::allocate(&state.db, &actor, id.into_inner(), input, dry_run).await?,
    )))
}

/// The plan in force, with its reasons, and what is reserved and picked.
#[utoipa::path(
    tag = "allocation",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = Allocation), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}/allocation")]
pub async fn get_allocation(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Allocation::from(
        allocation::get_allocation(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Releases the order's reservations (none may be picked yet): the order
/// is `approved` again, to be planned anew.
#[utoipa::path(
    tag = "allocation",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = Allocation), ActionErrors),
    security(("bearer" = []))
)]
#[delete("/orders/{id}/allocation")]
pub async fn release(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Allocation::from(
        allocation::release(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// The allocation policy: `auto` (approved orders are allocated by a
/// background job) or `manual`.
#[utoipa::path(
    tag = "allocation",
    responses((status = 200, body = AllocationPolicy), ReadErrors),
    security(("bearer" = []))
)]
#[get("/allocation-policy")]
pub async fn get_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(AllocationPolicy::from(
        allocation::get_policy(&state.db, &actor).await?,
    )))
}

/// Sets the allocation policy (admin, order_manager).
#[utoipa::path(
    tag = "allocation",
    request_body = AllocationPolicy,
    responses((status = 200, body = AllocationPolicy), UpdateErrors),
    security(("bearer" = []))
)]
#[put("/allocation-policy")]
pub async fn set_policy(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<AllocationPolicy>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(AllocationPolicy::from(
        allocation::set_policy(&state.db, &actor, input.into()).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GeoQuery {
    /// ISO 3166-1 alpha-2.
    country: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// The geo table allocation measures distances with: coordinates for a
/// country, a region or a postal prefix. China's provincial capitals are there
/// from the start.
#[utoipa::path(
    tag = "allocation",
    params(GeoQuery),
    responses((status = 200, body = GeoLocationList), ListErrors),
    security(("bearer" = []))
)]
#[get("/geo-locations")]
pub async fn list_locations(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<GeoQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    Ok(ok(GeoLocationList::from(
        geo::list_locations(&state.db, &actor, query.country, page).await?,
    )))
}

/// Adds a row to the geo table, or replaces the row with the same country,
/// region and postal prefix (201 when new, 200 when replaced).
#[utoipa::path(
    tag = "allocation",
    request_body = GeoLocationInput,
    responses(
        (status = 201, description = "Added", body = GeoLocation),
        (status = 200, description = "Replaced", body = GeoLocation),
        UpdateErrors
    ),
    security(("bearer" = []))
)]
#[put("/geo-locations")]
pub async fn put_location(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<GeoLocationInput>,
) -> Result<HttpResponse, ApiError> {
    let (row, created) = geo::put_location(&state.db, &actor, input).await?;
    let body = GeoLocation::from(row);
    Ok(if created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}

#[utoipa::path(
    tag = "allocation",
    params(("id" = Uuid, Path, description = "Geo location id")),
    responses((status = 204, description = "Removed"), ReadErrors),
    security(("bearer" = []))
)]
#[delete("/geo-locations/{id}")]
pub async fn delete_location(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    geo::delete_location(&state.db, &actor, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
