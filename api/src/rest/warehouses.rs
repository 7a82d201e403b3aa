//! `/api/v1/warehouses`

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain;
use crate::domain::warehouse::WarehouseFilter;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, Query};
use crate::service::idempotency::Idempotency;
use crate::service::warehouses;
use crate::state::AppState;
use crate::wire::warehouses::{
    Warehouse, WarehouseInput, WarehouseKind, WarehouseList, WarehousePatchInput,
};

/// Creates a warehouse. The code is unique and never changes.
#[utoipa::path(
    tag = "warehouses",
    request_body = WarehouseInput,
    responses((status = 201, description = "Created; `Location` names it", body = Warehouse), WriteErrors),
    security(("bearer" = []))
)]
#[post("/warehouses")]
pub async fn create_warehouse(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<WarehouseInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &domain::warehouse::Warehouse| {
        stored(
            Some(format!("/api/v1/warehouses/{}", value.id)),
            Some(value.id),
            &Warehouse::from(value.clone()),
        )
    };
    let outcome = warehouses::create_warehouse(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// Reads a warehouse.
#[utoipa::path(
    tag = "warehouses",
    params(("id" = Uuid, Path, description = "Warehouse id")),
    responses((status = 200, body = Warehouse), ReadErrors),
    security(("bearer" = []))
)]
#[get("/warehouses/{id}")]
pub async fn get_warehouse(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let warehouse = warehouses::get_warehouse(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(Warehouse::from(warehouse)))
}

/// Changes some fields of a warehouse; absent fields stay as they are.
#[utoipa::path(
    tag = "warehouses",
    params(("id" = Uuid, Path, description = "Warehouse id")),
    request_body = WarehousePatchInput,
    responses((status = 200, body = Warehouse), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/warehouses/{id}")]
pub async fn update_warehouse(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<WarehousePatchInput>,
) -> Result<HttpResponse, ApiError> {
    let warehouse = warehouses::update_warehouse(&state.db, &actor, id.into_inner(), input).await?;
    Ok(ok(Warehouse::from(warehouse)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WarehouseQuery {
    /// Exact code.
    code: Option<String>,
    region: Option<String>,
    active: Option<bool>,
    /// `standard` (the default) or `transit` (the in-transit location).
    kind: Option<WarehouseKind>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists warehouses in creation order.
#[utoipa::path(
    tag = "warehouses",
    params(WarehouseQuery),
    responses((status = 200, body = WarehouseList), ListErrors),
    security(("bearer" = []))
)]
#[get("/warehouses")]
pub async fn list_warehouses(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<WarehouseQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = WarehouseFilter {
        code: query.code,
        region: query.region,
        active: query.active,
        kind: query.kind.map(Into::into),
    };
    let page = warehouses::list_warehouses(&state.db, &actor, filter, page).await?;
    Ok(ok(WarehouseList::from(page)))
}
