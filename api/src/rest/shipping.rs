//! Shipping: carriers and services (`/api/v1/carriers`), quotes and
//! shipments of an order, tracking, manifests, labels and packing slips,
//! courier accounts, and the courier tracking webhooks
//! (`/api/v1/webhooks/couriers/{source}/{account_id}`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ActionErrors, ReadErrors, UpdateErrors, WriteErrors, ok, respond, stored};
use crate::domain::shipping::Shipment as DomainShipment;
use crate::http::ApiError;
use crate::http::extract::{Auth, Create, Json, OptionalJson, Query};
use crate::service::idempotency::Idempotency;
use crate::service::shipping::{self, PushRefused};
use crate::state::AppState;
use crate::wire::shipping::{
    CarrierBody, CarrierInput, CarrierItems, CarrierServiceBody, CourierAccountBody,
    CourierAccountInput, CourierAccountItems, CourierPushItems, ManifestBody, QuoteBody,
    SelectionBody, ServiceInput, ServicePatchInput, ShipmentBody, ShipmentInput, ShipmentItems,
    TrackingEntryBody, TrackingEventInput, TrackingItems, offset_param,
};
use dingdan_integrations::couriers::CourierSource;

/// Registers a carrier (its services are added separately).
#[utoipa::path(
    tag = "shipping",
    request_body = CarrierInput,
    responses((status = 201, body = CarrierBody), WriteErrors),
    security(("bearer" = []))
)]
#[post("/carriers")]
pub async fn create_carrier(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<CarrierInput>,
) -> Result<HttpResponse, ApiError> {
    let carrier = shipping::create_carrier(&state.db, &actor, input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("location", format!("/api/v1/carriers/{}", carrier.id)))
        .json(CarrierBody::from(carrier)))
}

/// Every carrier with its services.
#[utoipa::path(
    tag = "shipping",
    responses((status = 200, body = CarrierItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/carriers")]
pub async fn list_carriers(
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    let items = shipping::list_carriers(&state.db, &actor).await?;
    Ok(ok(CarrierItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Carrier id")),
    responses((status = 200, body = CarrierBody), ReadErrors),
    security(("bearer" = []))
)]
#[get("/carriers/{id}")]
pub async fn get_carrier(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(CarrierBody::from(
        shipping::get_carrier(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Adds a service: mode, zones, transit days and rate card per zone,
/// minimum, surcharges (fragile, liquid, hazardous), fuel percentage,
/// limits (weight, value, hazardous) and cut-off time.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Carrier id")),
    request_body = ServiceInput,
    responses((status = 201, body = CarrierServiceBody), WriteErrors),
    security(("bearer" = []))
)]
#[post("/carriers/{id}/services")]
pub async fn add_service(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<ServiceInput>,
) -> Result<HttpResponse, ApiError> {
    let service = shipping::add_service(&state.db, &actor, id.into_inner(), input).await?;
    Ok(HttpResponse::Created().json(CarrierServiceBody::from(service)))
}

/// Changes a service's name, active flag or terms (replaced whole).
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Carrier service id")),
    request_body = ServicePatchInput,
    responses((status = 200, body = CarrierServiceBody), UpdateErrors),
    security(("bearer" = []))
)]
#[patch("/carrier-services/{id}")]
pub async fn update_service(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<ServicePatchInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(CarrierServiceBody::from(
        shipping::update_service(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

/// Runs the carrier selection engine over the order's packages (all
/// unshipped ones unless listed): every active service with its price,
/// ETA and why it won or lost. Nothing is stored.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = QuoteBody,
    responses((status = 200, body = SelectionBody), ActionErrors),
    security(("bearer" = []))
)]
#[post("/orders/{id}/shipping-quote")]
pub async fn quote(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    OptionalJson(input): OptionalJson<QuoteBody>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(SelectionBody::from(
        shipping::quote(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

/// Hands packages to a carrier under a tracking number. Without
/// `carrier_service_id` the engine's choice is used; another service needs
/// `override_reason`, recorded on the shipment and the timeline. The order
/// becomes `shipped` when everything has shipped, else `partially_shipped`.
/// Accepts an `Idempotency-Key`.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = ShipmentInput,
    responses((status = 201, body = ShipmentBody), ActionErrors),
    security(("bearer" = []))
)]
#[post("/orders/{id}/shipments")]
pub async fn create_shipment(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Create { input, idempotency }: Create<ShipmentInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |value: &DomainShipment| {
        stored(
            Some(format!("/api/v1/shipments/{}", value.id)),
            Some(value.id),
            &ShipmentBody::from(value.clone()),
        )
    };
    let outcome = shipping::create_shipment(
        &state.db,
        &actor,
        id.into_inner(),
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// The order's shipments, oldest first.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = ShipmentItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}/shipments")]
pub async fn list_shipments(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = shipping::list_shipments(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(ShipmentItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses((status = 200, body = ShipmentBody), ReadErrors),
    security(("bearer" = []))
)]
#[get("/shipments/{id}")]
pub async fn get_shipment(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(ShipmentBody::from(
        shipping::get_shipment(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// The shipment's tracking timeline (couriers' pushes and staff entries),
/// in the order things happened; `applied: false` marks late events that
/// did not move its status.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Shipment id")),
    responses((status = 200, body = TrackingItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/shipments/{id}/tracking")]
pub async fn tracking(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let shipment = shipping::get_shipment(&state.db, &actor, id).await?;
    let items = shipping::tracking(&state.db, &actor, id).await?;
    Ok(ok(TrackingItems {
        shipment_id: id,
        status: shipment.status.into(),
        items: items.into_iter().map(TrackingEntryBody::from).collect(),
    }))
}

/// Records a tracking event by hand (a courier's phone update); with
/// `delivered` and `signed_by` it is the proof of delivery.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Shipment id")),
    request_body = TrackingEventInput,
    responses((status = 200, body = ShipmentBody), ActionErrors),
    security(("bearer" = []))
)]
#[post("/shipments/{id}/tracking")]
pub async fn record_tracking(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Json(input): Json<TrackingEventInput>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(ShipmentBody::from(
        shipping::record_tracking(&state.db, &actor, id.into_inner(), input).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ManifestQuery {
    /// The carrier's code.
    pub carrier: String,
    /// The local day (`YYYY-MM-DD`).
    pub date: NaiveDate,
    /// The local day's offset from UTC (`+08:00`); UTC when absent.
    pub utc_offset: Option<String>,
}

/// A carrier's shipping manifest for one day: every shipment handed over,
/// with its packages, weight, price and destination.
#[utoipa::path(
    tag = "shipping",
    params(ManifestQuery),
    responses((status = 200, body = ManifestBody), ReadErrors),
    security(("bearer" = []))
)]
#[get("/shipping-manifests")]
pub async fn manifest(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Query(query): Query<ManifestQuery>,
) -> Result<HttpResponse, ApiError> {
    let offset = offset_param(query.utc_offset.as_deref()).map_err(|errors| {
        ApiError::bad_request("invalid_parameter", "utc_offset: an offset such as +08:00")
            .with_errors(errors)
    })?;
    Ok(ok(ManifestBody::from(
        shipping::manifest(&state.db, &actor, &query.carrier, query.date, offset).await?,
    )))
}

fn pdf(bytes: Vec<u8>, name: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            format!("inline; filename=\"{name}\""),
        ))
        .body(bytes)
}

/// The package's shipping label as PDF (100 × 150 mm): carrier, order
/// number, package n of m, handling marks, addresses, and the tracking
/// number as a Code 128 barcode. The package must have shipped.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Package id")),
    responses(
        (status = 200, description = "The label", content_type = "application/pdf", body = Vec<u8>),
        ReadErrors
    ),
    security(("bearer" = []))
)]
#[get("/packages/{id}/label.pdf")]
pub async fn label(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let bytes = shipping::label(&state.db, &actor, id).await?;
    Ok(pdf(bytes, format!("label-{id}.pdf")))
}

/// The package's packing slip as PDF (A4): order, ship-to and contents.
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Package id")),
    responses(
        (status = 200, description = "The packing slip", content_type = "application/pdf", body = Vec<u8>),
        ReadErrors
    ),
    security(("bearer" = []))
)]
#[get("/packages/{id}/packing-slip.pdf")]
pub async fn packing_slip(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let bytes = shipping::packing_slip(&state.db, &actor, id).await?;
    Ok(pdf(bytes, format!("packing-slip-{id}.pdf")))
}

fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// Registers a courier tracking feed (AfterShip, EasyPost, Kuaidi100, SF
/// Express, 17TRACK) with the secret its pushes are signed with; the answer
/// holds the `webhook_url` to give the courier.
#[utoipa::path(
    tag = "shipping",
    request_body = CourierAccountInput,
    responses((status = 201, body = CourierAccountBody), WriteErrors),
    security(("bearer" = []))
)]
#[post("/courier-accounts")]
pub async fn create_courier_account(
    req: HttpRequest,
    state: web::Data<AppState>,
    Auth(actor): Auth,
    Json(input): Json<CourierAccountInput>,
) -> Result<HttpResponse, ApiError> {
    let account = shipping::create_courier_account(&state.db, &actor, input).await?;
    Ok(HttpResponse::Created().json(CourierAccountBody::new(account, &base_url(&req))))
}

#[utoipa::path(
    tag = "shipping",
    responses((status = 200, body = CourierAccountItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/courier-accounts")]
pub async fn list_courier_accounts(
    req: HttpRequest,
    state: web::Data<AppState>,
    Auth(actor): Auth,
) -> Result<HttpResponse, ApiError> {
    let base = base_url(&req);
    let items = shipping::list_courier_accounts(&state.db, &actor).await?;
    Ok(ok(CourierAccountItems {
        items: items
            .into_iter()
            .map(|a| CourierAccountBody::new(a, &base))
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PushListQuery {
    /// At most this many, newest first (1 to 200, default 50).
    pub limit: Option<u64>,
}

/// The verified pushes received on a courier account, newest first, with
/// their raw payload and what each came to. (Refused pushes are not
/// stored: they are in the security log.)
#[utoipa::path(
    tag = "shipping",
    params(("id" = Uuid, Path, description = "Courier account id"), PushListQuery),
    responses((status = 200, body = CourierPushItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/courier-accounts/{id}/pushes")]
pub async fn list_pushes(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Query(query): Query<PushListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let items = shipping::list_pushes(&state.db, &actor, id.into_inner(), limit).await?;
    Ok(ok(CourierPushItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// A courier's tracking push, verified with the account's secret (AfterShip
/// `aftership-hmac-sha256`, EasyPost `X-Hmac-Signature`, Kuaidi100 `sign`,
/// 17TRACK `sign`): 401 when it does not verify (nothing stored; a security
/// log line). Repeats are ignored; events apply out of order without moving
/// a shipment backwards. Answers in the courier's reply format: 200, or 202
/// when a tracking number is unknown (stored and logged). No bearer token:
/// the signature authenticates.
#[utoipa::path(
    tag = "shipping",
    params(
        ("source" = String, Path, description = "aftership, easypost, kuaidi100 or 17track"),
        ("account_id" = Uuid, Path, description = "Courier account id"),
    ),
    request_body(content = String, description = "The courier's payload, verbatim"),
    responses(
        (status = 200, description = "Accepted, in the courier's reply format"),
        (status = 202, description = "Accepted; a tracking number is unknown"),
        (status = 400, description = "Verified but not a payload of this courier"),
        (status = 401, description = "The signature does not verify"),
        (status = 404, description = "No such courier account for this source")
    )
)]
#[post("/webhooks/couriers/{source}/{account_id}")]
pub async fn courier_push(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (source, account_id) = path.into_inner();
    receive(req, state, source, account_id, None, body).await
}

/// SF Express's route push (顺丰路由推送). SF signs nothing: the account's
/// secret is the last segment of the callback URL (as `webhook_url` shows
/// it at creation), checked in constant time; 401 otherwise. Replies
/// `{"return_code": "0000", "return_msg": "success"}`.
#[utoipa::path(
    tag = "shipping",
    params(
        ("source" = String, Path, description = "sf_express"),
        ("account_id" = Uuid, Path, description = "Courier account id"),
        ("secret" = String, Path, description = "The account's webhook secret"),
    ),
    request_body(content = String, description = "SF's route push, verbatim"),
    responses(
        (status = 200, description = "Accepted"),
        (status = 202, description = "Accepted; a tracking number is unknown"),
        (status = 400, description = "Authenticated but not an SF route push"),
        (status = 401, description = "The secret does not match"),
        (status = 404, description = "No such courier account for this source")
    )
)]
#[post("/webhooks/couriers/{source}/{account_id}/{secret}")]
pub async fn courier_push_with_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, Uuid, String)>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let (source, account_id, secret) = path.into_inner();
    receive(req, state, source, account_id, Some(secret), body).await
}

async fn receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    source: String,
    account_id: Uuid,
    token: Option<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no courier account for this source and id",
        )
    };
    let source = CourierSource::parse(&source).ok_or_else(not_found)?;
    let headers = req.headers().clone();
    let header = move |name: &str| -> Option<String> {
        if name == ":token" {
            return token.clone();
        }
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reply = |status: StatusCode, (kind, text): (&'static str, String)| {
        HttpResponse::build(status).content_type(kind).body(text)
    };
    match shipping::receive_push(
        &state.db,
        source,
        account_id,
        &header,
        content_type.as_deref(),
        &body,
    )
    .await
    {
        Ok(outcome) => {
            let status = if outcome.unknown > 0 {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok(reply(status, source.accepted_reply()))
        }
        Err(PushRefused::UnknownAccount) => Err(not_found()),
        Err(PushRefused::Unauthenticated(why)) => Ok(reply(
            StatusCode::UNAUTHORIZED,
            source.rejected_reply(&format!("signature check failed: {why}")),
        )),
        Err(PushRefused::Malformed(why)) => {
            Ok(reply(StatusCode::BAD_REQUEST, source.rejected_reply(&why)))
        }
        Err(PushRefused::Failed(error)) => Err(error.into()),
    }
}
