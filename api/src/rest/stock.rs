//! `/api/v1/stock`: receipts, levels and the ledger.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ListErrors, WriteErrors, ok, page_request, respond, stored};
use crate::domain::stock::{MovementFilter, ReceiptRecord, StockFilter};
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Query};
use crate::service::idempotency::Idempotency;
use crate::service::stock;
use crate::state::AppState;
use crate::wire::stock::{
    MovementKind, ReceiptInput, SkuTotalsList, StockLevelList, StockMovementList, StockReceipt,
};

/// Receives goods into a warehouse: adds to the lot's balance and records a
/// `receipt` in the ledger.
#[utoipa::path(
    tag = "stock",
    request_body = ReceiptInput,
    responses((status = 201, description = "Recorded", body = StockReceipt), WriteErrors),
    security(("bearer" = []))
)]
#[post("/stock/receipts")]
pub async fn receive(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Create { input, idempotency }: Create<ReceiptInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &ReceiptRecord| {
        stored(
            None,
            Some(value.movement.id),
            &StockReceipt::from(value.clone()),
        )
    };
    let outcome = stock::receive(
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
pub struct StockQuery {
    sku: Option<String>,
    warehouse_id: Option<Uuid>,
    lot: Option<String>,
    /// Only lots with something available.
    available_only: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// Stock levels per warehouse, SKU and lot: on hand, reserved and available.
#[utoipa::path(
    tag = "stock",
    params(StockQuery),
    responses((status = 200, body = StockLevelList), ListErrors),
    security(("bearer" = []))
)]
#[get("/stock")]
pub async fn list_levels(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<StockQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = StockFilter {
        sku: query.sku,
        warehouse_id: query.warehouse_id,
        lot: query.lot,
        available_only: query.available_only.unwrap_or(false),
    };
    let page = stock::list_levels(&state.db, &actor, filter, page).await?;
    Ok(ok(StockLevelList::from(page)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TotalsQuery {
    /// Comma-separated SKUs, 1 to 200.
    #[param(example = "TEA-001,BOLT-8")]
    sku: String,
    /// Only this warehouse.
    warehouse_id: Option<Uuid>,
}

/// Stock per SKU summed over lots and warehouses, with a per-warehouse
/// breakdown: `available = on_hand − reserved − expired`.
#[utoipa::path(
    tag = "stock",
    params(TotalsQuery),
    responses((status = 200, body = SkuTotalsList), ListErrors),
    security(("bearer" = []))
)]
#[get("/stock/totals")]
pub async fn totals(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<TotalsQuery>,
) -> Result<HttpResponse, ApiError> {
    let skus: Vec<String> = query
        .sku
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if skus.is_empty() || skus.len() > 200 {
        return Err(ApiError::bad_request(
            "invalid_parameter",
            "sku: give 1 to 200 comma-separated SKUs",
        ));
    }
    let totals = stock::totals(&state.db, &actor, skus, query.warehouse_id).await?;
    Ok(ok(SkuTotalsList {
        items: totals.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    sku: Option<String>,
    warehouse_id: Option<Uuid>,
    lot: Option<String>,
    kind: Option<MovementKind>,
    /// The order, transfer or other document that caused the movement.
    reference_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    after: Option<String>,
}

/// The stock ledger, oldest first: every receipt, reservation, release, pick
/// and transfer.
#[utoipa::path(
    tag = "stock",
    params(MovementQuery),
    responses((status = 200, body = StockMovementList), ListErrors),
    security(("bearer" = []))
)]
#[get("/stock/movements")]
pub async fn list_movements(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<MovementQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = page_request(query.limit, query.after.as_deref())?;
    let filter = MovementFilter {
        sku: query.sku,
        warehouse_id: query.warehouse_id,
        lot: query.lot,
        kind: query.kind.map(Into::into),
        reference_id: query.reference_id,
    };
    let page = stock::list_movements(&state.db, &actor, filter, page).await?;
    Ok(ok(StockMovementList::from(page)))
}
