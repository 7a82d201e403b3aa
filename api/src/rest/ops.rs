//! Health, readiness and metrics.

use actix_web::{HttpResponse, get, http::StatusCode, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::ApiError;
use crate::state::AppState;
use crate::telemetry::Metrics;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "0.1.0")]
    pub version: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database answers and every migration is applied.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Not ready", body = crate::http::Problem, content_type = "application/problem+json")
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    readiness(&state).await?;
    Ok(HttpResponse::Ok().json(Health {
        status: "ready",
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// `HEAD /readyz`, for load balancers that probe with HEAD.
pub async fn readyz_head(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    readiness(&state).await?;
    Ok(HttpResponse::Ok().finish())
}

/// `HEAD /healthz`.
pub async fn healthz_head() -> HttpResponse {
    HttpResponse::Ok().finish()
}

async fn readiness(state: &AppState) -> Result<(), ApiError> {
    // The database's own words go to the log, not to an unauthenticated caller.
    let not_ready =
        |detail: &str| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail);
    if let Err(e) = state.db.ping().await {
        tracing::warn!(error = %e, "readiness: the database does not answer");
        return Err(not_ready("the database does not answer"));
    }
    match state.db.pending_migrations().await {
        Ok(0) => Ok(()),
        Ok(pending) => Err(not_ready(&format!(
            "{pending} database migration(s) not applied; run `dingdan migrate`"
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read the migration state");
            Err(not_ready("cannot read the migration state"))
        }
    }
}

/// Prometheus metrics: request counts and latency histograms by route and status.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4")))]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
