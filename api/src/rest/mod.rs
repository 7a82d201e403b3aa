//! The REST API under `/api/v1`: thin actix handlers over `service`, each
//! documented by utoipa where it is registered, so the OpenAPI document cannot
//! drift from the routes.

pub mod allocation;
pub mod catalog;
pub mod connectors;
pub mod customers;
pub mod fallback;
pub mod fulfilment;
pub mod ops;
pub mod orders;
pub mod pricing;
pub mod reviews;
pub mod shipping;
pub mod stock;
pub mod transfers;
pub mod warehouses;
pub mod webhooks;

use actix_web::HttpResponse;
use actix_web::http::header::LOCATION;
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::domain::page::PageRequest;
use crate::http::{ApiError, Problem};
use crate::service::idempotency::{Created, Render, StoredResponse};

/// Registers every `/api/v1` route (relative to that scope).
pub fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(catalog::create_product)
        .service(catalog::list_products)
        .service(catalog::get_product)
        .service(catalog::update_product)
        .service(customers::create_customer)
        .service(customers::list_customers)
        .service(customers::get_customer)
        .service(customers::update_customer)
        .service(warehouses::create_warehouse)
        .service(warehouses::list_warehouses)
        .service(warehouses::get_warehouse)
        .service(warehouses::update_warehouse)
        .service(stock::receive)
        .service(stock::list_levels)
        .service(stock::totals)
        .service(stock::list_movements)
        .service(orders::create_order)
        .service(orders::list_orders)
        .service(orders::get_order)
        .service(orders::update_order)
        .service(orders::cancel_order)
        .service(orders::timeline)
        .service(webhooks::event_types)
        .service(orders::list_events)
        .service(reviews::order_reviews)
        .service(reviews::list_reviews)
        .service(reviews::get_review)
        .service(reviews::decide)
        .service(reviews::get_policy)
        .service(reviews::set_policy)
        .service(pricing::create_price_list)
        .service(pricing::list_price_lists)
        .service(pricing::get_price_list)
        .service(pricing::update_price_list)
        .service(pricing::delete_price_list)
        .service(pricing::list_pricing_policies)
        .service(pricing::set_pricing_policy)
        .service(pricing::delete_pricing_policy)
        .service(pricing::create_promotion)
        .service(pricing::list_promotions)
        .service(pricing::get_promotion)
        .service(pricing::update_promotion)
        .service(pricing::delete_promotion)
        .service(allocation::allocate)
        .service(allocation::get_allocation)
        .service(allocation::release)
        .service(allocation::get_policy)
        .service(allocation::set_policy)
        .service(allocation::list_locations)
        .service(allocation::put_location)
        .service(allocation::delete_location)
        .service(fulfilment::pick_list)
        .service(fulfilment::pick)
        .service(fulfilment::pack)
        .service(fulfilment::list_packages)
        .service(transfers::create_transfer)
        .service(transfers::list_transfers)
        .service(transfers::get_transfer)
        .service(transfers::ship_transfer)
        .service(transfers::receive_transfer)
        .service(transfers::cancel_transfer)
        .service(webhooks::create_subscription)
        .service(webhooks::list_subscriptions)
        .service(webhooks::get_subscription)
        .service(webhooks::update_subscription)
        .service(webhooks::delete_subscription)
        .service(webhooks::rotate_secret)
        .service(webhooks::list_deliveries)
        .service(webhooks::get_delivery)
        .service(webhooks::replay_delivery)
        .service(shipping::create_carrier)
        .service(shipping::list_carriers)
        .service(shipping::get_carrier)
        .service(shipping::add_service)
        .service(shipping::update_service)
        .service(shipping::quote)
        .service(shipping::create_shipment)
        .service(shipping::list_shipments)
        .service(shipping::get_shipment)
        .service(shipping::tracking)
        .service(shipping::record_tracking)
        .service(shipping::manifest)
        .service(shipping::label)
        .service(shipping::packing_slip)
        .service(shipping::create_courier_account)
        .service(shipping::list_courier_accounts)
        .service(shipping::list_pushes)
        .service(shipping::courier_push)
        .service(shipping::courier_push_with_secret)
        .service(connectors::create_connector)
        .service(connectors::list_connectors)
        .service(connectors::get_connector)
        .service(connectors::update_connector)
        .service(connectors::sync)
        .service(connectors::list_runs)
        .service(connectors::marketplace_webhook);
}

/// Registers the operational routes at the root.
pub fn operations(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics);
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dingdan",
        description = "Headless order management: intake, review, allocation, production, shipping, \
settlement and after-sales over one API. Every error is an RFC 9457 problem document with a stable `code`. \
Amounts are decimal strings beside an ISO 4217 currency.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    servers((url = "/", description = "This server")),
    tags(
        (name = "catalog", description = "Products: SKUs, prices, handling traits"),
        (name = "customers", description = "Customers: contacts, addresses, credit and terms"),
        (name = "warehouses", description = "Warehouses and their locations"),
        (name = "stock", description = "Stock receipts, levels per lot, and the stock ledger"),
        (name = "orders", description = "Order intake: create, fix, read, list, cancel; the timeline"),
        (name = "events", description = "The feed of published events"),
        (name = "reviews", description = "Order review: sales, finance, inventory and final stages; queues, decisions, policy"),
        (name = "pricing", description = "Price lists, pricing policies (maximum discounts) and promotions"),
        (name = "allocation", description = "Allocation plans and reservations across warehouses and lots; the allocation policy and the geo table"),
        (name = "fulfilment", description = "Pick lists, picks and packages"),
        (name = "shipping", description = "Carriers, services and rate cards; the selection engine; shipments, labels, manifests; courier accounts, tracking webhooks and proof of delivery"),
        (name = "connectors", description = "Marketplace accounts (Shopify, WooCommerce, Taobao, JD): credentials, SKU mapping, syncs and their runs"),
        (name = "transfers", description = "Goods moved between warehouses through the in-transit location"),
        (name = "webhooks", description = "Webhook subscriptions (Standard Webhooks signatures), deliveries, their attempt log and replay"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
    modifiers(&BearerAuth, &EventSchemas)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT with `sub`, `roles`, optional `customer_id`, `exp`, `iss` and `aud`; `dingdan token` issues one."))
                    .build(),
            ),
        );
    }
}

/// Every published event's schema as a component: `EventEnvelope` (what a
/// webhook body is) and `EventData.<type>` (its `data`), from the catalog
/// that `GET /api/v1/events/types` serves.
struct EventSchemas;

impl Modify for EventSchemas {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::domain::event::{EventType, envelope_schema};
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut add = |name: String, value: serde_json::Value| match serde_json::from_value::<
            utoipa::openapi::Schema,
        >(value)
        {
            Ok(schema) => {
                components.schemas.insert(name, schema.into());
            }
            Err(error) => tracing::error!(%error, name, "an event schema does not convert"),
        };
        add("EventEnvelope".to_owned(), envelope_schema());
        for event in EventType::ALL.iter().filter(|t| t.published()) {
            let mut schema = event.data_schema();
            schema["description"] = serde_json::Value::String(event.description().to_owned());
            add(format!("EventData.{}", event.as_str()), schema);
        }
    }
}

/// The OpenAPI document of every registered route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt as _;
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(api_v1))
        .configure(operations)
        .split_for_parts();
    api
}

pub(crate) fn ok<T: Serialize>(body: T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// Renders a created resource the way it is stored for idempotent replays.
pub(crate) fn stored<T: Serialize>(
    location: Option<String>,
    id: Option<uuid::Uuid>,
    body: &T,
) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: serde_json::to_string(body).unwrap_or_default(),
        location,
        etag: None,
        resource_id: id,
    }
}

/// Answers a create: the rendering of the new resource, or the stored first
/// response of a repeated `Idempotency-Key` (byte for byte, marked
/// `Idempotent-Replayed: true`).
pub(crate) fn respond<T>(outcome: Created<T>, render: Render<'_, T>) -> HttpResponse {
    let (response, replayed) = match outcome {
        Created::New(value) => (render(&value), false),
        Created::Replay(response) => (response, true),
    };
    let status = actix_web::http::StatusCode::from_u16(response.status)
        .unwrap_or(actix_web::http::StatusCode::OK);
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if let Some(location) = response.location {
        builder.insert_header((LOCATION, location));
    }
    if let Some(etag) = response.etag {
        builder.insert_header((actix_web::http::header::ETAG, etag));
    }
    if replayed {
        builder.insert_header(("idempotent-replayed", "true"));
    }
    builder.body(response.body)
}

pub(crate) fn page_request(
    limit: Option<i64>,
    after: Option<&str>,
) -> Result<PageRequest, ApiError> {
    PageRequest::parse(limit, after).map_err(|errors| {
        ApiError::bad_request(
            "invalid_parameter",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        )
        .with_errors(errors)
    })
}

/// Errors of a create.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum WriteErrors {
    /// Malformed JSON, an unknown field, a missing field or a wrong type.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's roles do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// A unique value is taken.
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// The body is larger than the server accepts.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not JSON.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Well-formed but invalid; `errors` lists every field at fault.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// An unexpected error; the body quotes the request id found in the logs.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// Errors of an update.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum UpdateErrors {
    /// Malformed JSON, an unknown field or a wrong type.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's roles do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource (or not visible to this token).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// Well-formed but invalid; `errors` lists every field at fault.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// An unexpected error; the body quotes the request id found in the logs.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// Errors of a read.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ReadErrors {
    /// No valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's roles do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource (or not visible to this token).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// An unexpected error; the body quotes the request id found in the logs.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// Errors of a list.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ListErrors {
    /// A filter, `limit` or `after` is invalid.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's roles do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// An unexpected error; the body quotes the request id found in the logs.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}

/// Errors of an action on a resource (allocate, pick, ship…).
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ActionErrors {
    /// Malformed JSON, an unknown field or a wrong type.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// No valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// The token's roles do not allow this.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// No such resource (or not visible to this token).
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
    /// Not possible in the resource's current state (`invalid_transition` and
    /// the other codes the operation documents).
    #[response(status = 409, content_type = "application/problem+json")]
    Conflict(Problem),
    /// Well-formed but invalid; `errors` lists every field at fault.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
    /// An unexpected error; the body quotes the request id found in the logs.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
}
