//! Marketplace connector accounts (`/api/v1/connectors`), on-demand syncs
//! and their run records.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ActionErrors, ReadErrors, UpdateErrors, WriteErrors, ok};
use crate::http::ApiError;
use crate::http::extract::{Auth, Json, OptionalJson, Query};
use crate::service::connectors;
use crate::state::AppState;
use crate::wire::connectors::{
    ConnectorBody, ConnectorInput, ConnectorItems, ConnectorPatchInput, SyncInput, SyncRunBody,
    SyncRunItems,
};

/// Registers a marketplace account. Its credentials are checked for the
/// fields the platform needs, stored encrypted (`DINGDAN_SECRET_KEY`
/// required; 422 `secret_key_missing` without it) and never returned. When
/// enabled its first sync is queued at once, then every
/// `sync_interval_seconds`.
#[utoipa::path(
    tag = "connectors",
    request_body = ConnectorInput,
    responses((status = 201, body = ConnectorBody), WriteErrors),
    security(("bearer" = []))
)]
#[post("/connectors")]
pub async fn create_connector(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<ConnectorInput>,
) -> Result<HttpResponse, ApiError> {
    let account = connectors::create_account(&state.db, &actor, input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/v1/connectors/{}", account.id)))
        .json(ConnectorBody::from(account)))
}

#[utoipa::path(
    tag = "connectors",
    responses((status = 200, body = ConnectorItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/connectors")]
pub async fn list_connectors(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    let items = connectors::list_accounts(&state.db, &actor).await?;
    Ok(ok(ConnectorItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector account id")),
    responses((status = 200, body = ConnectorBody), ReadErrors),
    security(("bearer" = []))
)]
#[get("/connectors/{id}")]
pub async fn get_connector(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(ConnectorBody::from(
        connectors::get_account(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Changes an account: name, credentials (replaced whole), interval, SKU
/// map, warehouses, enabled.
#[utoipa::path(
    tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector account id")),
    request_body = ConnectorPatchInput,
    responses((status = 200, body = ConnectorBody), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/connectors/{id}")]
pub async fn update_connector(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<ConnectorPatchInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(ConnectorBody::from(
        connectors::update_account(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

/// Syncs now and answers with the run: every page of orders modified since
/// the stored cursor (or `since`), each imported through intake — created
/// once, updated when cancelled or re-addressed on the platform. A failed
/// run (`status: failed`, `error`) keeps the cursor of its last finished
/// page. One sync of an account runs at a time, across processes: 409
/// `sync_in_progress` while another does.
#[utoipa::path(
    tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector account id")),
    request_body = SyncInput,
    responses((status = 200, body = SyncRunBody), ActionErrors),
    security(("bearer" = []))
)]
#[post("/connectors/{id}/sync")]
pub async fn sync(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    OptionalJson(input): OptionalJson<SyncInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(SyncRunBody::from(
        connectors::sync_now(&state.db, &actor, id.into_inner(), input.since).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunQuery {
    /// At most this many, newest first (1 to 200, default 50).
    pub limit: Option<u64>,
}

/// The account's sync runs, newest first: started, finished, fetched,
/// created, updated, skipped, failed, error.
#[utoipa::path(
    tag = "connectors",
    params(("id" = Uuid, Path, description = "Connector account id"), RunQuery),
    responses((status = 200, body = SyncRunItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/connectors/{id}/sync-runs")]
pub async fn list_runs(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Query(query): Query<RunQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let items = connectors::list_runs(&state.db, &actor, id.into_inner(), limit).await?;
    Ok(ok(SyncRunItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// A marketplace's webhook (Shopify: `orders/create`, `orders/updated`,
/// `orders/cancelled`, signed `X-Shopify-Hmac-Sha256`, deduplicated on
/// `X-Shopify-Webhook-Id`; WooCommerce: `order.created`, `order.updated`,
/// signed `X-WC-Webhook-Signature`, deduplicated on
/// `X-WC-Webhook-Delivery-ID`), verified with the account's
/// `webhook_secret`: 401 when it does not verify (nothing stored; a
/// security log line). The order is imported as a sync would. No bearer
/// token: the signature authenticates.
#[utoipa::path(
    tag = "connectors",
    params(
        ("platform" = String, Path, description = "shopify or woocommerce"),
        ("account_id" = Uuid, Path, description = "Connector account id"),
    ),
    request_body(content = String, description = "The platform's order resource, verbatim"),
    responses(
        (status = 200, description = "Accepted (imported, a repeat, or not about an order)"),
        (status = 401, description = "The signature does not verify"),
        (status = 404, description = "No such account for this platform"),
        (status = 422, description = "Verified, but not an order of this platform")
    )
)]
#[post("/webhooks/marketplaces/{platform}/{account_id}")]
pub async fn marketplace_webhook(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    use actix_web::http::StatusCode;
    use connectors::{WebhookOutcome, WebhookRefused};
    let (platform, account_id) = path.into_inner();
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such connector account",
        )
    };
    let platform = crate::domain::connector::Platform::parse(&platform).ok_or_else(not_found)?;
    let headers = req.headers().clone();
    let header = move |name: &str| -> Option<String> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match connectors::receive_webhook(&state.db, platform, account_id, &header, &body).await {
        Ok(outcome) => Ok(ok(serde_json::json!({"outcome": match outcome {
            WebhookOutcome::Applied => "applied",
            WebhookOutcome::Duplicate => "duplicate",
            WebhookOutcome::Ignored => "ignored",
        }}))),
        Err(WebhookRefused::UnknownAccount) => Err(not_found()),
        Err(WebhookRefused::Unauthenticated(why)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            format!("the webhook signature does not verify: {why}"),
        )),
        Err(WebhookRefused::Failed(error)) => Err(error.into()),
    }
}
