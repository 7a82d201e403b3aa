//! `/api/v1/customers`. A partner token sees only its own customer.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, ReadErrors, UpdateErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain;
use crate::domain::customer::CustomerFilter;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, Query};
use crate::service::customers;
use crate::service::idempotency::Idempotency;
use crate::state::AppState;
use crate::wire::customers::{
    Customer, CustomerInput, CustomerList, CustomerPatchInput, CustomerStatus,
};

/// Creates a customer. The code is unique and never changes.
#[utoipa::path(
    tag = "customers",
    request_body = CustomerInput,
    responses((status = 201, description = "Created; `Location` names it", body = Customer), WriteErrors),
    security(("bearer" = []))
)]
#[post("/customers")]
pub async fn create_customer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<CustomerInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &domain::customer::Customer| {
        stored(
            Some(format!("/api/v1/customers/{}", value.id)),
            Some(value.id),
            &Customer::from(value.clone()),
        )
    };
    let outcome = customers::create_customer(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// Reads a customer.
#[utoipa::path(
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    responses((status = 200, body = Customer), ReadErrors),
    security(("bearer" = []))
)]
#[get("/customers/{id}")]
pub async fn get_customer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let customer = customers::get_customer(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(Customer::from(customer)))
}

/// Changes some fields of a customer; absent fields stay as they are.
#[utoipa::path(
    tag = "customers",
    params(("id" = Uuid, Path, description = "Customer id")),
    request_body = CustomerPatchInput,
    responses((status = 200, body = Customer), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/customers/{id}")]
pub async fn update_customer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<CustomerPatchInput>,
) -> Result<HttpResponse, ApiError> {
    let customer = customers::update_customer(&state.db, &actor, id.into_inner(), input).await?;
    Ok(ok(Customer::from(customer)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Exact code.
    code: Option<String>,
    status: Option<CustomerStatus>,
    price_tier: Option<String>,
    /// Case-insensitive part of the name or code.
    q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists customers in creation order.
#[utoipa::path(
    tag = "customers",
    params(CustomerQuery),
    responses((status = 200, body = CustomerList), ListErrors),
    security(("bearer" = []))
)]
#[get("/customers")]
pub async fn list_customers(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<CustomerQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = CustomerFilter {
        code: query.code,
        status: query.status.map(Into::into),
        price_tier: query.price_tier,
        q: query.q,
    };
    let page = customers::list_customers(&state.db, &actor, filter, page).await?;
    Ok(ok(CustomerList::from(page)))
}
