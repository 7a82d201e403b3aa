//! `/api/v1/transfers`: goods moved between warehouses.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ActionErrors, ListErrors, ReadErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain::transfer::{Transfer as DomainTransfer, TransferFilter};
use crate::domain::validation::Parse as _;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, OptionalJson, Query};
use crate::service::idempotency::Idempotency;
use crate::service::transfers;
use crate::state::AppState;
use crate::wire::orders::CancelInput;
use crate::wire::transfers::{
    DispatchInput, Transfer, TransferInput, TransferList, TransferStatus,
};

/// Requests a transfer: the goods are reserved at the source (named lots, or
/// its lots in allocation order). With `order_id`, the order is allocated
/// when the goods arrive. Accepts an `Idempotency-Key`.
#[utoipa::path(
    tag = "transfers",
    request_body = TransferInput,
    responses((status = 201, description = "Requested", body = Transfer), WriteErrors),
    security(("bearer" = []))
)]
#[post("/transfers")]
pub async fn create_transfer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &DomainTransfer| {
        stored(
            Some(format!("/api/v1/transfers/{}", value.id)),
            Some(value.id),
            &Transfer::from(value.clone()),
        )
    };
    let outcome = transfers::create_transfer(
        &state.db,
        &actor,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TransferQuery {
    status: Option<TransferStatus>,
    from_warehouse_id: Option<Uuid>,
    to_warehouse_id: Option<Uuid>,
    order_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Lists transfers, oldest first.
#[utoipa::path(
    tag = "transfers",
    params(TransferQuery),
    responses((status = 200, body = TransferList), ListErrors),
    security(("bearer" = []))
)]
#[get("/transfers")]
pub async fn list_transfers(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<TransferQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = TransferFilter {
        status: query.status.map(Into::into),
        from_warehouse_id: query.from_warehouse_id,
        to_warehouse_id: query.to_warehouse_id,
        order_id: query.order_id,
    };
    Ok(ok(TransferList::from(
        transfers::list_transfers(&state.db, &actor, filter, page).await?,
    )))
}

#[utoipa::path(
    tag = "transfers",
    params(("id" = Uuid, Path, description = "Transfer id")),
    responses((status = 200, body = Transfer), ReadErrors),
    security(("bearer" = []))
)]
#[get("/transfers/{id}")]
pub async fn get_transfer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Transfer::from(
        transfers::get_transfer(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// The goods leave the source (`requested` → `in_transit`), optionally with
/// the carrier and tracking number.
#[utoipa::path(
    tag = "transfers",
    params(("id" = Uuid, Path, description = "Transfer id")),
    request_body(content = DispatchInput, description = "Optional"),
    responses((status = 200, body = Transfer), ActionErrors),
    security(("bearer" = []))
)]
#[post("/transfers/{id}/ship")]
pub async fn ship_transfer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    OptionalJson(input): OptionalJson<DispatchInput>,
) -> Result<HttpResponse, ApiError> {
    let dispatch = input.parse()?;
    Ok(ok(Transfer::from(
        transfers::ship_transfer(&state.db, &actor, id.into_inner(), dispatch).await?,
    )))
}

/// The goods arrive (`in_transit` → `received`); waiting orders are
/// allocated, the transfer's own order first.
#[utoipa::path(
    tag = "transfers",
    params(("id" = Uuid, Path, description = "Transfer id")),
    responses((status = 200, body = Transfer), ActionErrors),
    security(("bearer" = []))
)]
#[post("/transfers/{id}/receive")]
pub async fn receive_transfer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Transfer::from(
        transfers::receive_transfer(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Calls off a transfer that has not left, with a reason; the source's
/// reservation is released.
#[utoipa::path(
    tag = "transfers",
    params(("id" = Uuid, Path, description = "Transfer id")),
    request_body = CancelInput,
    responses((status = 200, body = Transfer), ActionErrors),
    security(("bearer" = []))
)]
#[post("/transfers/{id}/cancel")]
pub async fn cancel_transfer(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<CancelInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(Transfer::from(
        transfers::cancel_transfer(&state.db, &actor, id.into_inner(), &input.reason).await?,
    )))
}
