//! Pick lists and picks (`/api/v1/warehouses/{id}/…`) and packages
//! (`/api/v1/orders/{id}/packages`).

use actix_web::{HttpResponse, get, post, web};
use uuid::Uuid;

use super::{ActionErrors, ReadErrors, ok, respond, stored};
use crate::domain::fulfilment::{Packing as DomainPacking, PickedOrder as DomainPickedOrder};
use crate::http::ApiError;
use crate::http::extract::{Auth, Create};
use crate::service::fulfilment;
use crate::service::idempotency::Idempotency;
use crate::state::AppState;
use crate::wire::fulfilment::{
    PackageItems, PackagesInput, Packing, PickList, PickOutcome, PicksInput,
};

/// The warehouse's open picking work: reserved goods of allocated orders,
/// grouped by SKU and lot (earliest expiry first), each lot's orders oldest
/// first.
#[utoipa::path(
    tag = "fulfilment",
    params(("id" = Uuid, Path, description = "Warehouse id")),
    responses((status = 200, body = PickList), ReadErrors),
    security(("bearer" = []))
)]
#[get("/warehouses/{id}/pick-lists")]
pub async fn pick_list(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(ok(PickList::from(
        fulfilment::pick_list(&state.db, &actor, id.into_inner()).await?,
    )))
}

/// Confirms picks, all or nothing: the goods leave their lots (`pick`
/// movements). A `short` pick writes off what was not on the shelf
/// (`adjustment`) and the line waits for other stock (the order becomes
/// `partially_allocated` or `backordered`, and is allocated again when
/// stock allows). Accepts an `Idempotency-Key`: a retried confirmation
/// answers the first outcome instead of picking again.
#[utoipa::path(
    tag = "fulfilment",
    params(("id" = Uuid, Path, description = "Warehouse id")),
    request_body = PicksInput,
    responses((status = 200, body = PickOutcome), ActionErrors),
    security(("bearer" = []))
)]
#[post("/warehouses/{id}/pick")]
pub async fn pick(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Create { input, idempotency }: Create<PicksInput>,
) -> Result<HttpResponse, ApiError> {
    let render = |orders: &Vec<DomainPickedOrder>| {
        let mut response = stored(
            None,
            None,
            &PickOutcome {
                orders: orders.iter().cloned().map(Into::into).collect(),
            },
        );
        response.status = 200;
        response
    };
    let outcome = fulfilment::confirm_picks(
        &state.db,
        &actor,
        id.into_inner(),
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// Records packages (weight, dimensions, packaging type, contents). When
/// every reserved unit is packed the order is `ready_to_ship`
/// (`order.ready_to_ship`). Accepts an `Idempotency-Key`.
#[utoipa::path(
    tag = "fulfilment",
    params(("id" = Uuid, Path, description = "Order id")),
    request_body = PackagesInput,
    responses((status = 201, description = "Recorded", body = Packing), ActionErrors),
    security(("bearer" = []))
)]
#[post("/orders/{id}/packages")]
pub async fn pack(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
    Create { input, idempotency }: Create<PackagesInput>,
) -> Result<HttpResponse, ApiError> {
    let order_id = id.into_inner();
    let render = |value: &DomainPacking| {
        stored(
            Some(format!("/api/v1/orders/{order_id}/packages")),
            None,
            &Packing::from(value.clone()),
        )
    };
    let outcome = fulfilment::pack(
        &state.db,
        &actor,
        order_id,
        input,
        Idempotency::new(idempotency, &render),
    )
    .await?;
    Ok(respond(outcome, &render))
}

/// The order's packages, oldest first.
#[utoipa::path(
    tag = "fulfilment",
    params(("id" = Uuid, Path, description = "Order id")),
    responses((status = 200, body = PackageItems), ReadErrors),
    security(("bearer" = []))
)]
#[get("/orders/{id}/packages")]
pub async fn list_packages(
    state: web::Data<AppState>,
    Auth(actor): Auth,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let items = fulfilment::list_packages(&state.db, &actor, id.into_inner()).await?;
    Ok(ok(PackageItems {
        items: items.into_iter().map(Into::into).collect(),
    }))
}
