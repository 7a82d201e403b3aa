//! `/api/v1/products`

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain;
use crate::domain::catalog::ProductFilter;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, Query};
use crate::service::catalog;
use crate::service::idempotency::Idempotency;
use crate::state::AppState;
use crate::wire::catalog::{Product, ProductInput, ProductList, ProductPatchInput};

/// Creates a product. The SKU is unique and never changes.
#[utoipa::path(
    tag = "catalog",
    request_body = ProductInput,
    responses((status = 201, description = "Created; `Location` names it", body = Product), WriteErrors),
    security(("bearer" = []))
)]
#[post("/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<ProductInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &domain::catalog::Product| {
        stored(
            Some(format!("/api/v1/products/{}", value.id)),
            Some(value.id),
            &Product::from(value.clone()),
        )
    };
    let outcome = catalog::create_product(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// Reads a product.
#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses((status = 200, body = Product), ReadErrors),
    security(("bearer" = []))
)]
#[get("/products/{id}")]
pub async fn get_product(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let product = catalog::get_product(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(Product::from(product)))
}

/// Changes some fields of a product; absent fields stay as they are.
#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = ProductPatchInput,
    responses((status = 200, body = Product), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<ProductPatchInput>,
) -> Result<HttpResponse, ApiError> {
    let product = catalog::update_product(&state.db, &actor, id.into_inner(), input).await?;
    Ok(ok(Product::from(product)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// Exact SKU.
    sku: Option<String>,
    /// Case-insensitive part of the name or SKU.
    q: Option<String>,
    active: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists products in creation order.
#[utoipa::path(
    tag = "catalog",
    params(ProductQuery),
    responses((status = 200, body = ProductList), ListErrors),
    security(("bearer" = []))
)]
#[get("/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<ProductQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = ProductFilter {
        sku: query.sku,
        q: query.q,
        active: query.active,
    };
    let page = catalog::list_products(&state.db, &actor, filter, page).await?;
    Ok(ok(ProductList::from(page)))
}
