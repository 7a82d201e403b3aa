//! Shipping: carriers and their services, quotes from the selection engine,
//! shipments of packed parcels, tracking (pushed by couriers or recorded by
//! staff), proof of delivery, manifests and printable labels.
//!
//! A shipment moves its order to `partially_shipped` or `shipped`; when every
//! shipment of a shipped order is delivered the order is `delivered`.
//! Tracking applies idempotently and out of order: repeats (same event id)
//! are ignored, a late event never moves a shipment backwards, and
//! `delivered`/`returned` are final.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{
    carrier, carrier_service, courier_account, courier_push, order, order_line, package, product,
    shipment, tracking_event, warehouse,
};
use dingdan_integrations::couriers::{CourierSource, TrackingUpdate};

use super::allocation::{lock_order, status_of};
use super::error::corrupt;
use super::events::{EventBatch, Subject};
use super::idempotency::{Created, Idempotency};
use super::orders::{load_visible, set_status, subject};
use super::{Db, ServiceError, ServiceResult};
use crate::domain::actor::{Actor, Permission, Role};
use crate::domain::event::EventType;
use crate::domain::labels::{LabelData, SlipData, label_pdf, packing_slip_pdf};
use crate::domain::order::{OrderAction, OrderStatus};
use crate::domain::shipping::{
    Carrier, CarrierService, CourierAccount, CourierPush, Destination, Manifest, ManifestEntry,
    NewCarrier, NewCourierAccount, NewService, NewShipment, NewTrackingEvent, Override, Parcel,
    ParcelTraits, ProofOfDelivery, PushOutcome, QuoteInput, QuoteRequest, Selection,
    SelectionPolicy, ServiceOffer, ServicePatch, ServiceTerms, Shipment, TrackingEntry,
    TrackingStatus, TransportMode, select, tracking_applies,
};
use crate::domain::validation::{Parse, Violations};

// ---------------------------------------------------------------- carriers

/// Registers a carrier.
pub async fn create_carrier(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewCarrier>,
) -> ServiceResult<Carrier> {
    actor.require(Permission::CarrierWrite)?;
    let new = input.parse()?;
    let at = db.now();
    let txn = db.write().await?;
    if carrier::Entity::find()
        .filter(carrier::Column::Code.eq(new.code.clone()))
        .one(&*txn)
        .await?
        .is_some()
    {
        return Err(ServiceError::Conflict {
            code: "duplicate_code",
            message: format!("a carrier with code {:?} exists", new.code),
            existing_id: None,
        });
    }
    let row = carrier::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(new.code),
        name: Set(new.name),
        active: Set(true),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(carrier_from_row(row, Vec::new()))
}

/// Every carrier with its services, by code.
pub async fn list_carriers(db: &Db, actor: &Actor) -> ServiceResult<Vec<Carrier>> {
    actor.require(Permission::WarehouseRead)?;
    let carriers = carrier::Entity::find()
        .order_by_asc(carrier::Column::Code)
        .all(db.read())
        .await?;
    let services = services_of(db.read(), None).await?;
    Ok(carriers
        .into_iter()
        .map(|c| {
            let mine = services
                .iter()
                .filter(|s| s.carrier_id == c.id)
                .cloned()
                .collect();
            carrier_from_row(c, mine)
        })
        .collect())
}

pub async fn get_carrier(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Carrier> {
    actor.require(Permission::WarehouseRead)?;
    let row = carrier::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("carrier", id))?;
    let services = services_of(db.read(), Some(id)).await?;
    Ok(carrier_from_row(row, services))
}

/// Adds a service (mode, zones, rate card, limits, cut-off) to a carrier.
pub async fn add_service(
    db: &Db,
    actor: &Actor,
    carrier_id: Uuid,
    input: impl Parse<NewService>,
) -> ServiceResult<CarrierService> {
    actor.require(Permission::CarrierWrite)?;
    let new = input.parse()?;
    check_terms(&new.terms)?;
    let at = db.now();
    let txn = db.write().await?;
    let owner = carrier::Entity::find_by_id(carrier_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("carrier", carrier_id))?;
    if carrier_service::Entity::find()
        .filter(carrier_service::Column::CarrierId.eq(carrier_id))
        .filter(carrier_service::Column::Code.eq(new.code.clone()))
        .one(&*txn)
        .await?
        .is_some()
    {
        return Err(ServiceError::Conflict {
            code: "duplicate_code",
            message: format!("{} already has a service {:?}", owner.code, new.code),
            existing_id: None,
        });
    }
    let row = carrier_service::ActiveModel {
        id: Set(Uuid::now_v7()),
        carrier_id: Set(carrier_id),
        code: Set(new.code),
        name: Set(new.name),
        mode: Set(new.mode.as_str().to_owned()),
        currency: Set(new.currency),
        terms: Set(to_json(&new.terms)?),
        active: Set(new.active),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    service_from_row(row, &owner.code)
}

/// Changes a service's name, terms or active flag.
pub async fn update_service(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<ServicePatch>,
) -> ServiceResult<CarrierService> {
    actor.require(Permission::CarrierWrite)?;
    let patch = patch.parse()?;
    if let Some(terms) = &patch.terms {
        check_terms(terms)?;
    }
    let txn = db.write().await?;
    let current = carrier_service::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("carrier service", id))?;
    let owner = carrier::Entity::find_by_id(current.carrier_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| corrupt("carrier service's carrier", current.carrier_id))?;
    let mut row: carrier_service::ActiveModel = current.clone().into();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
    }
    if let Some(terms) = patch.terms {
        row.terms = Set(to_json(&terms)?);
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(db.now());
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    service_from_row(row, &owner.code)
}

fn check_terms(terms: &ServiceTerms) -> ServiceResult<()> {
    let problems = terms.check();
    if problems.is_empty() {
        return Ok(());
    }
    let mut errors = Violations::new();
    for (path, message) in problems {
        errors.push(format!("terms.{path}"), "invalid", message);
    }
    Err(ServiceError::Validation(errors.into_errors()))
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<Value> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.into()))
}

fn carrier_from_row(row: carrier::Model, services: Vec<CarrierService>) -> Carrier {
    Carrier {
        id: row.id,
        code: row.code,
        name: row.name,
        active: row.active,
        version: row.version,
        services,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn service_from_row(
    row: carrier_service::Model,
    carrier_code: &str,
) -> ServiceResult<CarrierService> {
    Ok(CarrierService {
        id: row.id,
        carrier_id: row.carrier_id,
        carrier_code: carrier_code.to_owned(),
        mode: TransportMode::parse(&row.mode).ok_or_else(|| corrupt("service mode", &row.mode))?,
        terms: serde_json::from_value(row.terms.clone())
            .map_err(|_| corrupt("service terms", row.id))?,
        code: row.code,
        name: row.name,
        currency: row.currency,
        active: row.active,
        version: row.version,
    })
}

async fn services_of<C: ConnectionTrait>(
    conn: &C,
    carrier_id: Option<Uuid>,
) -> ServiceResult<Vec<CarrierService>> {
    let codes: HashMap<Uuid, String> = carrier::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let mut query = carrier_service::Entity::find().order_by_asc(carrier_service::Column::Code);
    if let Some(id) = carrier_id {
        query = query.filter(carrier_service::Column::CarrierId.eq(id));
    }
    query
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let code = codes.get(&row.carrier_id).cloned().unwrap_or_default();
            service_from_row(row, &code)
        })
        .collect()
}

/// Active services of active carriers, as the engine sees them.
async fn offers<C: ConnectionTrait>(conn: &C) -> ServiceResult<Vec<ServiceOffer>> {
    let active: HashSet<Uuid> = carrier::Entity::find()
        .filter(carrier::Column::Active.eq(true))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    Ok(services_of(conn, None)
        .await?
        .into_iter()
        .filter(|s| s.active && active.contains(&s.carrier_id))
        .map(|s| ServiceOffer {
            service_id: s.id,
            carrier_code: s.carrier_code,
            service_code: s.code,
            mode: s.mode,
            currency: s.currency,
            terms: s.terms,
        })
        .collect())
}

// ------------------------------------------------------------------ quotes

/// The order's packages to ship: the ones named (each must belong to the
/// order and not be shipped), or every unshipped one.
async fn packages_to_ship<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    ids: &[Uuid],
) -> ServiceResult<Vec<package::Model>> {
    let all = package::Entity::find()
        .filter(package::Column::OrderId.eq(order_id))
        .order_by_asc(package::Column::Id)
        .all(conn)
        .await?;
    if ids.is_empty() {
        let open: Vec<_> = all
            .into_iter()
            .filter(|p| p.shipment_id.is_none())
            .collect();
        if open.is_empty() {
            return Err(ServiceError::Unprocessable {
                code: "nothing_to_ship",
                message: "the order has no packed package that is not shipped yet".to_owned(),
            });
        }
        return Ok(open);
    }
    let mut errors = Violations::new();
    let mut chosen = Vec::new();
    let mut seen = HashSet::new();
    for (i, id) in ids.iter().enumerate() {
        let path = format!("package_ids[{i}]");
        if !seen.insert(*id) {
            errors.push(path, "duplicate", "listed twice");
            continue;
        }
        match all.iter().find(|p| p.id == *id) {
            None => errors.push(path, "not_found", "not a package of this order"),
            Some(p) if p.shipment_id.is_some() => {
                errors.push(path, "already_shipped", "this package has shipped already")
            }
            Some(p) => chosen.push(p.clone()),
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors.into_errors()));
    }
    Ok(chosen)
}

/// Per SKU: the product's handling traits.
async fn traits_by_sku<C: ConnectionTrait>(
    conn: &C,
    skus: impl IntoIterator<Item = String>,
) -> ServiceResult<HashMap<String, (ParcelTraits, String)>> {
    let skus: Vec<String> = skus
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    Ok(product::Entity::find()
        .filter(product::Column::Sku.is_in(skus))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| {
            (
                p.sku.clone(),
                (
                    ParcelTraits {
                        fragile: p.fragile,
                        liquid: p.liquid,
                        hazardous: p.hazardous,
                    },
                    p.name,
                ),
            )
        })
        .collect())
}

#[derive(serde::Deserialize)]
struct Content {
    line_no: u32,
    #[serde(default)]
    sku: String,
    quantity: i64,
}

fn contents_of(p: &package::Model) -> ServiceResult<Vec<Content>> {
    serde_json::from_value(p.contents.clone()).map_err(|_| corrupt("package contents", p.id))
}

/// The engine's request for some packages of an order.
async fn consignment<C: ConnectionTrait>(
    conn: &C,
    order: &order::Model,
    packages: &[package::Model],
    at: DateTime<Utc>,
) -> ServiceResult<QuoteRequest> {
    let lines: HashMap<i32, order_line::Model> = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| (l.line_no, l))
        .collect();
    let mut all_contents = Vec::new();
    for p in packages {
        all_contents.push(contents_of(p)?);
    }
    let traits = traits_by_sku(
        conn,
        all_contents
            .iter()
            .flatten()
            .map(|c| c.sku.clone())
            .collect::<Vec<_>>(),
    )
    .await?;
    let mut parcels = Vec::new();
    for (p, contents) in packages.iter().zip(&all_contents) {
        let mut value = Decimal::ZERO;
        let mut parcel_traits = ParcelTraits::default();
        for c in contents {
            if let Some(line) = i32::try_from(c.line_no).ok().and_then(|n| lines.get(&n))
                && line.quantity > 0
            {
                value += line.total.0 * Decimal::from(c.quantity) / Decimal::from(line.quantity);
            }
            if let Some((t, _)) = traits.get(&c.sku) {
                parcel_traits = parcel_traits.union(*t);
            }
        }
        parcels.push(Parcel {
            weight_kg: p.weight_kg.0,
            length_cm: p.length_cm.0,
            width_cm: p.width_cm.0,
            height_cm: p.height_cm.0,
            declared_value: value.round_dp(2),
            traits: parcel_traits,
        });
    }
    let to = &order.ship_to;
    let field = |name: &str| to.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(QuoteRequest {
        parcels,
        destination: Destination {
            country: field("country").unwrap_or_default(),
            region: field("region"),
            city: field("city").unwrap_or_default(),
        },
        deadline: order.promised_delivery_date,
        currency: order.currency.clone(),
        at,
    })
}

/// Runs the selection engine over packages of an order: every active
/// service with its price, ETA and why it won or lost.
pub async fn quote(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    input: impl Parse<QuoteInput>,
) -> ServiceResult<Selection> {
    actor.require(Permission::AllocationRead)?;
    let input = input.parse()?;
    load_visible(db.read(), actor, order_id).await?;
    let order = order::Entity::find_by_id(order_id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("order", order_id))?;
    let packages = packages_to_ship(db.read(), order_id, &input.package_ids).await?;
    let request = consignment(db.read(), &order, &packages, input.at.unwrap_or(db.now())).await?;
    let offers = offers(db.read()).await?;
    Ok(select(&request, &offers, &SelectionPolicy::default()))
}

// --------------------------------------------------------------- shipments

/// Hands packages to a carrier: the engine chooses the service unless one
/// is given (another than the engine's needs `override_reason`, which is
/// recorded). The order becomes `shipped` when everything is shipped, else
/// `partially_shipped`. Accepts an `Idempotency-Key`.
pub async fn create_shipment(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
    input: impl Parse<NewShipment>,
    idempotency: Idempotency<'_, Shipment>,
) -> ServiceResult<Created<Shipment>> {
    actor.require(Permission::Fulfilment)?;
    let new = input.parse()?;
    let at = db.now();
    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let order = lock_order(&*txn, order_id).await?;
    let status = status_of(&order)?;
    status.apply(OrderAction::ShipPartially)?;
    let packages = packages_to_ship(&*txn, order_id, &new.package_ids).await?;
    let handed_over_at = new.handed_over_at.unwrap_or(at);
    let request = consignment(&*txn, &order, &packages, handed_over_at).await?;
    let offers = offers(&*txn).await?;
    let selection = select(&request, &offers, &SelectionPolicy::default());
    let service_id = match new.carrier_service_id {
        Some(id) => id,
        None => selection
            .chosen
            .ok_or_else(|| ServiceError::Unprocessable {
                code: "no_carrier_service",
                message: format!(
                    "{}; add a service that serves {} or choose one (carrier_service_id)",
                    selection.explanation, request.destination.country
                ),
            })?,
    };
    let Some(candidate) = selection
        .candidates
        .iter()
        .find(|c| c.service_id == service_id)
        .cloned()
    else {
        return Err(ServiceError::invalid(
            "carrier_service_id",
            "not_found",
            "no active carrier service with this id",
        ));
    };
    let r#override = if Some(service_id) == selection.chosen {
        None
    } else {
        let Some(reason) = new.override_reason.clone() else {
            return Err(ServiceError::invalid(
                "override_reason",
                "required",
                format!(
                    "the engine chose another service ({}); say why this one is used instead",
                    selection.explanation
                ),
            ));
        };
        if !candidate.carries {
            return Err(ServiceError::Unprocessable {
                code: "service_cannot_carry",
                message: format!(
                    "{} {} cannot carry this consignment: {}",
                    candidate.carrier_code,
                    candidate.service_code,
                    candidate.reasons.join("; ")
                ),
            });
        }
        Some(Override {
            engine_choice: selection.chosen,
            reason,
            by: actor.sub.clone(),
        })
    };
    if shipment::Entity::find()
        .filter(shipment::Column::CarrierCode.eq(candidate.carrier_code.clone()))
        .filter(shipment::Column::TrackingNumber.eq(new.tracking_number.clone()))
        .one(&*txn)
        .await?
        .is_some()
    {
        return Err(ServiceError::Conflict {
            code: "duplicate_tracking_number",
            message: format!(
                "{} tracking number {} is already on another shipment",
                candidate.carrier_code, new.tracking_number
            ),
            existing_id: None,
        });
    }
    let price = candidate.price.map_or(Decimal::ZERO, |p| p.total);
    let id = Uuid::now_v7();
    let row = shipment::ActiveModel {
        id: Set(id),
        order_id: Set(order_id),
        carrier_service_id: Set(service_id),
        carrier_code: Set(candidate.carrier_code.clone()),
        service_code: Set(candidate.service_code.clone()),
        tracking_number: Set(new.tracking_number.clone()),
        status: Set("created".to_owned()),
        status_at: Set(None),
        handed_over_at: Set(handed_over_at),
        price: Set(price.into()),
        currency: Set(candidate.currency.clone()),
        estimated_delivery: Set(candidate.estimated_delivery),
        selection: Set(to_json(&selection)?),
        r#override: Set(r#override.as_ref().map(to_json).transpose()?),
        delivered_at: Set(None),
        proof_of_delivery: Set(None),
        created_by: Set(actor.sub.clone()),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    let ids: Vec<Uuid> = packages.iter().map(|p| p.id).collect();
    let taken = package::Entity::update_many()
        .col_expr(package::Column::ShipmentId, Expr::val(id))
        .filter(package::Column::Id.is_in(ids.clone()))
        .filter(package::Column::ShipmentId.is_null())
        .exec(&*txn)
        .await?;
    if taken.rows_affected != ids.len() as u64 {
        return Err(ServiceError::Conflict {
            code: "already_shipped",
            message: "a package was shipped by another request meanwhile".to_owned(),
            existing_id: None,
        });
    }
    // Shipped when every unit of every line is packed and every package
    // has left; otherwise partially.
    let everything_packed = fully_packed(&*txn, order_id).await?;
    let unshipped = package::Entity::find()
        .filter(package::Column::OrderId.eq(order_id))
        .filter(package::Column::ShipmentId.is_null())
        .count(&*txn)
        .await?;
    // A partially allocated order ships what it has and stays partially
    // allocated, so the rest is still allocated, picked and packed as stock
    // comes; its last shipment makes it `shipped`.
    let next = if everything_packed && unshipped == 0 {
        Some(status.apply(OrderAction::Ship)?)
    } else if status == OrderStatus::PartiallyAllocated {
        None
    } else {
        Some(status.apply(OrderAction::ShipPartially)?)
    };
    let mut events = EventBatch::default();
    events.push(
        &shipment_subject(&row, order.customer_id),
        actor,
        EventType::ShipmentCreated,
        json!({
            "order_id": order_id, "order_number": order.number,
            "carrier_code": candidate.carrier_code, "service_code": candidate.service_code,
            "mode": candidate.mode.as_str(), "tracking_number": new.tracking_number,
            "package_ids": ids, "price": price.to_string(), "currency": candidate.currency,
            "estimated_delivery": candidate.estimated_delivery, "override": r#override,
        }),
        at,
    );
    if let Some(next) = next {
        let version = set_status(&*txn, &order, next, |u| u).await?;
        events.push(
            &subject(&order, version),
            actor,
            EventType::OrderShipped,
            json!({
                "status": next.as_str(), "number": order.number, "shipment_id": id,
                "tracking_number": new.tracking_number, "carrier_code": candidate.carrier_code,
            }),
            at,
        );
    }
    events.flush(&*txn).await?;
    // An order from a marketplace: the shipment is reported back to it.
    super::connectors::queue_push(&*txn, order_id, id).await?;
    let shipment = to_domain(row, ids)?;
    idempotency.complete(&*txn, actor, &shipment).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(Created::New(shipment))
}

/// Whether every unit of every line is in a package.
async fn fully_packed<C: ConnectionTrait>(conn: &C, order_id: Uuid) -> ServiceResult<bool> {
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(order_id))
        .all(conn)
        .await?;
    let mut packed: HashMap<u32, i64> = HashMap::new();
    for p in package::Entity::find()
        .filter(package::Column::OrderId.eq(order_id))
        .all(conn)
        .await?
    {
        for c in contents_of(&p)? {
            *packed.entry(c.line_no).or_default() += c.quantity;
        }
    }
    Ok(lines.iter().all(|l| {
        u32::try_from(l.line_no)
            .ok()
            .and_then(|n| packed.get(&n))
            .copied()
            .unwrap_or(0)
            >= l.quantity
    }))
}

fn shipment_subject(row: &shipment::Model, customer_id: Uuid) -> Subject<'static> {
    Subject {
        kind: "shipment",
        id: row.id,
        version: row.version,
        customer_id: Some(customer_id),
        channel: None,
    }
}

fn status_from_row(status: &str) -> ServiceResult<Option<TrackingStatus>> {
    if status == "created" {
        return Ok(None);
    }
    TrackingStatus::parse(status)
        .map(Some)
        .ok_or_else(|| corrupt("shipment status", status))
}

fn to_domain(row: shipment::Model, package_ids: Vec<Uuid>) -> ServiceResult<Shipment> {
    Ok(Shipment {
        status: status_from_row(&row.status)?,
        selection: serde_json::from_value(row.selection.clone())
            .map_err(|_| corrupt("shipment selection", row.id))?,
        r#override: row
            .r#override
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| corrupt("shipment override", row.id))?,
        proof_of_delivery: row
            .proof_of_delivery
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|_| corrupt("shipment proof of delivery", row.id))?,
        id: row.id,
        order_id: row.order_id,
        carrier_service_id: row.carrier_service_id,
        carrier_code: row.carrier_code,
        service_code: row.service_code,
        tracking_number: row.tracking_number,
        status_at: row.status_at,
        handed_over_at: row.handed_over_at,
        price: row.price.0,
        currency: row.currency,
        estimated_delivery: row.estimated_delivery,
        package_ids,
        delivered_at: row.delivered_at,
        version: row.version,
        created_at: row.created_at,
    })
}

async fn package_ids_of<C: ConnectionTrait>(
    conn: &C,
    shipment_id: Uuid,
) -> ServiceResult<Vec<Uuid>> {
    Ok(package::Entity::find()
        .filter(package::Column::ShipmentId.eq(shipment_id))
        .order_by_asc(package::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect())
}

/// An order's shipments, oldest first.
pub async fn list_shipments(
    db: &Db,
    actor: &Actor,
    order_id: Uuid,
) -> ServiceResult<Vec<Shipment>> {
    actor.require(Permission::OrderRead)?;
    load_visible(db.read(), actor, order_id).await?;
    let rows = shipment::Entity::find()
        .filter(shipment::Column::OrderId.eq(order_id))
        .order_by_asc(shipment::Column::Id)
        .all(db.read())
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let ids = package_ids_of(db.read(), row.id).await?;
        out.push(for_actor(actor, to_domain(row, ids)?));
    }
    Ok(out)
}

/// A shipment visible to the caller.
async fn visible_shipment<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<shipment::Model> {
    let row = shipment::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("shipment", id))?;
    // Not found unless its order is visible to the caller.
    load_visible(conn, actor, row.order_id)
        .await
        .map_err(|_| ServiceError::not_found("shipment", id))?;
    Ok(row)
}

pub async fn get_shipment(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Shipment> {
    actor.require(Permission::OrderRead)?;
    let row = visible_shipment(db.read(), actor, id).await?;
    let ids = package_ids_of(db.read(), id).await?;
    Ok(for_actor(actor, to_domain(row, ids)?))
}

/// Partners see their shipments, not the carriers' prices that lost or
/// staff's reasons for overriding.
fn for_actor(actor: &Actor, mut shipment: Shipment) -> Shipment {
    if actor.is_partner() {
        shipment.selection.candidates.retain(|c| c.won);
        shipment.r#override = None;
    }
    shipment
}

// ---------------------------------------------------------------- tracking

/// A shipment's tracking timeline, in the order things happened.
pub async fn tracking(
    db: &Db,
    actor: &Actor,
    shipment_id: Uuid,
) -> ServiceResult<Vec<TrackingEntry>> {
    actor.require(Permission::OrderRead)?;
    visible_shipment(db.read(), actor, shipment_id).await?;
    let mut entries: Vec<TrackingEntry> = tracking_event::Entity::find()
        .filter(tracking_event::Column::ShipmentId.eq(shipment_id))
        .all(db.read())
        .await?
        .into_iter()
        .map(|e| {
            Ok(TrackingEntry {
                status: TrackingStatus::parse(&e.status)
                    .ok_or_else(|| corrupt("tracking status", &e.status))?,
                id: e.id,
                shipment_id: e.shipment_id,
                source: e.source,
                raw_status: e.raw_status,
                message: e.message,
                location: e.location,
                occurred_at: e.occurred_at,
                signed_by: e.signed_by,
                applied: e.applied,
                recorded_by: e.recorded_by,
                recorded_at: e.recorded_at,
            })
        })
        .collect::<ServiceResult<_>>()?;
    entries.sort_by_key(|e| (e.occurred_at.unwrap_or(e.recorded_at), e.recorded_at, e.id));
    Ok(entries)
}

/// Records a tracking event by hand (a courier's phone update), with proof
/// of delivery when it says `delivered`.
pub async fn record_tracking(
    db: &Db,
    actor: &Actor,
    shipment_id: Uuid,
    input: impl Parse<NewTrackingEvent>,
) -> ServiceResult<Shipment> {
    actor.require(Permission::TrackingWrite)?;
    let new = input.parse()?;
    if new
        .occurred_at
        .is_some_and(|t| t > db.now() + chrono::Duration::minutes(10))
    {
        // A future time would make every real courier event look stale.
        return Err(ServiceError::invalid(
            "occurred_at",
            "in_the_future",
            "a tracking event cannot have happened in the future",
        ));
    }
    let txn = db.write().await?;
    let row = lock_shipment(&*txn, shipment_id).await?;
    let update = TrackingUpdate {
        event_id: Uuid::now_v7().to_string(),
        tracking_number: row.tracking_number.clone(),
        carrier: None,
        status: new.status,
        raw_status: new.status.as_str().to_owned(),
        message: new.message,
        location: new.location,
        occurred_at: Some(new.occurred_at.unwrap_or(db.now())),
        signed_by: new.signed_by,
        checkpoints: Vec::new(),
    };
    apply_update(db, &*txn, row, &update, "manual", actor).await?;
    txn.commit().await?;
    db.wake_workers();
    get_shipment(db, actor, shipment_id).await
}

async fn lock_shipment<C: ConnectionTrait>(conn: &C, id: Uuid) -> ServiceResult<shipment::Model> {
    let mut select = shipment::Entity::find_by_id(id);
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        select = select.lock(LockType::Update);
    }
    select
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("shipment", id))
}

/// Applies one tracking update to a (locked) shipment: always on its
/// timeline; its status moves only when the rules allow. Returns whether
/// it moved.
async fn apply_update<C: ConnectionTrait>(
    db: &Db,
    conn: &C,
    row: shipment::Model,
    update: &TrackingUpdate,
    source: &str,
    actor: &Actor,
) -> ServiceResult<bool> {
    let at = db.now();
    let current = status_from_row(&row.status)?;
    let applies = tracking_applies(current, row.status_at, update.status, update.occurred_at);
    // The history a courier sends with its latest event: each checkpoint
    // not on the timeline yet joins it (as history, moving nothing).
    if !update.checkpoints.is_empty() {
        let key = |at: Option<DateTime<Utc>>, raw: &str, message: Option<&str>| {
            (at, raw.to_owned(), message.map(str::to_owned))
        };
        let mut known: HashSet<_> = tracking_event::Entity::find()
            .filter(tracking_event::Column::ShipmentId.eq(row.id))
            .all(conn)
            .await?
            .into_iter()
            .map(|e| key(e.occurred_at, &e.raw_status, e.message.as_deref()))
            .collect();
        known.insert(key(
            update.occurred_at,
            &update.raw_status,
            update.message.as_deref(),
        ));
        let history: Vec<tracking_event::ActiveModel> = update
            .checkpoints
            .iter()
            .filter(|c| known.insert(key(c.occurred_at, &c.raw_status, c.message.as_deref())))
            .map(|c| tracking_event::ActiveModel {
                id: Set(Uuid::now_v7()),
                shipment_id: Set(row.id),
                source: Set(source.to_owned()),
                status: Set(c.status.as_str().to_owned()),
                raw_status: Set(c.raw_status.clone()),
                message: Set(c.message.clone()),
                location: Set(c.location.clone()),
                occurred_at: Set(c.occurred_at),
                signed_by: Set(None),
                applied: Set(false),
                recorded_by: Set(actor.sub.clone()),
                recorded_at: Set(at),
            })
            .collect();
        if !history.is_empty() {
            tracking_event::Entity::insert_many(history)
                .exec_without_returning(conn)
                .await?;
        }
    }
    tracking_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        shipment_id: Set(row.id),
        source: Set(source.to_owned()),
        status: Set(update.status.as_str().to_owned()),
        raw_status: Set(update.raw_status.clone()),
        message: Set(update.message.clone()),
        location: Set(update.location.clone()),
        occurred_at: Set(update.occurred_at),
        signed_by: Set(update.signed_by.clone()),
        applied: Set(applies),
        recorded_by: Set(actor.sub.clone()),
        recorded_at: Set(at),
    }
    .insert(conn)
    .await?;
    if !applies {
        return Ok(false);
    }
    let order = lock_order(conn, row.order_id).await?;
    let delivered = update.status == TrackingStatus::Delivered;
    let proof = delivered.then(|| ProofOfDelivery {
        signed_by: update.signed_by.clone(),
        at: update.occurred_at.unwrap_or(at),
        location: update.location.clone(),
        source: source.to_owned(),
    });
    let version = row.version + 1;
    let mut change = shipment::Entity::update_many()
        .col_expr(shipment::Column::Status, Expr::val(update.status.as_str()))
        .col_expr(
            shipment::Column::StatusAt,
            // Without the event's own time none is stored: the next event
            // is then judged by its progress, not by when this one came.
            Expr::val(update.occurred_at),
        )
        .col_expr(shipment::Column::Version, Expr::val(version))
        .col_expr(shipment::Column::UpdatedAt, Expr::val(at))
        .filter(shipment::Column::Id.eq(row.id))
        .filter(shipment::Column::Version.eq(row.version));
    if let Some(proof) = &proof {
        change = change
            .col_expr(shipment::Column::DeliveredAt, Expr::val(proof.at))
            .col_expr(
                shipment::Column::ProofOfDelivery,
                Expr::val(to_json(proof)?),
            );
    }
    if change.exec(conn).await?.rows_affected == 0 {
        return Err(ServiceError::Conflict {
            code: "concurrent_update",
            message: "the shipment changed meanwhile; retry".to_owned(),
            existing_id: Some(row.id),
        });
    }
    let mut events = EventBatch::default();
    let after = shipment::Model {
        version,
        ..row.clone()
    };
    let base = json!({
        "order_id": row.order_id, "order_number": order.number,
        "tracking_number": row.tracking_number, "carrier_code": row.carrier_code,
        "status": update.status.as_str(),
    });
    let mut data = base.clone();
    let event = match update.status {
        // The pre-arrival notice goes once, on the way into this status.
        TrackingStatus::OutForDelivery if current != Some(TrackingStatus::OutForDelivery) => {
            data["message"] = json!(update.message);
            data["occurred_at"] = json!(update.occurred_at);
            data["estimated_delivery"] = json!(row.estimated_delivery);
            data["contact"] = order.contact.clone();
            EventType::ShipmentOutForDelivery
        }
        TrackingStatus::Delivered => {
            data["proof_of_delivery"] = json!(proof);
            EventType::ShipmentDelivered
        }
        other => {
            data["event_status"] = json!(other.as_str());
            data["raw_status"] = json!(update.raw_status);
            data["message"] = json!(update.message);
            data["location"] = json!(update.location);
            data["occurred_at"] = json!(update.occurred_at);
            data["source"] = json!(source);
            match other {
                TrackingStatus::Exception => EventType::ShipmentException,
                TrackingStatus::Returned => EventType::ShipmentReturned,
                _ => EventType::ShipmentTrackingUpdated,
            }
        }
    };
    events.push(
        &shipment_subject(&after, order.customer_id),
        actor,
        event,
        data,
        at,
    );
    if delivered && status_of(&order)? == OrderStatus::Shipped {
        let open = shipment::Entity::find()
            .filter(shipment::Column::OrderId.eq(row.order_id))
            .filter(shipment::Column::Id.ne(row.id))
            .filter(shipment::Column::Status.ne("delivered"))
            .all(conn)
            .await?;
        if open.is_empty() {
            let next = OrderStatus::Shipped.apply(OrderAction::Deliver)?;
            let version = set_status(conn, &order, next, |u| u).await?;
            events.push(
                &subject(&order, version),
                actor,
                EventType::OrderDelivered,
                json!({"status": next.as_str(), "number": order.number}),
                at,
            );
        }
    }
    events.flush(conn).await?;
    Ok(true)
}

// ------------------------------------------------------- courier accounts

/// Registers a courier tracking feed; its pushes go to the returned path.
pub async fn create_courier_account(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewCourierAccount>,
) -> ServiceResult<CourierAccount> {
    actor.require(Permission::CourierAccountManage)?;
    let new = input.parse()?;
    if CourierSource::parse(&new.source).is_none() {
        return Err(ServiceError::invalid(
            "source",
            "unknown_source",
            format!(
                "one of {}",
                CourierSource::ALL.map(|s| s.as_str()).join(", ")
            ),
        ));
    }
    let at = db.now();
    let txn = db.write().await?;
    let row = courier_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        source: Set(new.source),
        name: Set(new.name),
        webhook_secret: Set(new.webhook_secret),
        active: Set(true),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(account_from_row(row))
}

pub async fn list_courier_accounts(db: &Db, actor: &Actor) -> ServiceResult<Vec<CourierAccount>> {
    actor.require(Permission::CourierAccountManage)?;
    Ok(courier_account::Entity::find()
        .order_by_asc(courier_account::Column::Id)
        .all(db.read())
        .await?
        .into_iter()
        .map(account_from_row)
        .collect())
}

fn account_from_row(row: courier_account::Model) -> CourierAccount {
    // SF Express signs nothing: its secret is the last segment of the path.
    let token = if row.source == CourierSource::SfExpress.as_str() {
        "/{webhook_secret}"
    } else {
        ""
    };
    CourierAccount {
        webhook_path: format!("/api/v1/webhooks/couriers/{}/{}{token}", row.source, row.id),
        id: row.id,
        source: row.source,
        name: row.name,
        active: row.active,
        created_at: row.created_at,
    }
}

/// Why a push was refused before anything was stored.
#[derive(Debug)]
pub enum PushRefused {
    /// No such (active) account for this source.
    UnknownAccount,
    /// The signature did not verify: only a security log line is written.
    Unauthenticated(String),
    /// Verified, but not a payload this source sends.
    Malformed(String),
    Failed(ServiceError),
}

impl From<ServiceError> for PushRefused {
    fn from(e: ServiceError) -> Self {
        PushRefused::Failed(e)
    }
}

impl From<sea_orm::DbErr> for PushRefused {
    fn from(e: sea_orm::DbErr) -> Self {
        PushRefused::Failed(e.into())
    }
}

/// Receives one courier push: verifies it with the account's secret,
/// stores it raw (once per event id), and applies what it reports.
pub async fn receive_push(
    db: &Db,
    source: CourierSource,
    account_id: Uuid,
    header: &dyn Fn(&str) -> Option<String>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<PushOutcome, PushRefused> {
    let Some(account) = courier_account::Entity::find_by_id(account_id)
        .one(db.read())
        .await?
        .filter(|a| a.active && a.source == source.as_str())
    else {
        tracing::warn!(target: "security", source = source.as_str(), account = %account_id,
                       "courier push refused: no such active account for this source");
        return Err(PushRefused::UnknownAccount);
    };
    if let Err(error) = source.verify(&account.webhook_secret, header, body) {
        tracing::warn!(target: "security", source = source.as_str(), account = %account_id,
                       %error, "courier push refused: signature check failed");
        return Err(PushRefused::Unauthenticated(error.to_string()));
    }
    // Kept as text; a NUL (which PostgreSQL text refuses) is replaced.
    let payload = String::from_utf8_lossy(body).replace('\0', "\u{FFFD}");
    let updates = match source.parse_push(body, content_type) {
        Ok(updates) => updates,
        Err(error) => {
            store_unapplied(db, account_id, body, &payload, "malformed").await?;
            return Err(PushRefused::Malformed(error.to_string()));
        }
    };
    if updates.is_empty() {
        // Verified, but nothing to track (a stop notice, another topic).
        store_unapplied(db, account_id, body, &payload, "ignored").await?;
        return Ok(PushOutcome::default());
    }
    let actor = Actor {
        sub: format!("courier:{}:{}", source.as_str(), account_id),
        roles: vec![Role::Integration],
        customer_id: None,
    };
    let mut outcome = PushOutcome::default();
    for update in updates {
        let txn = db.write().await?;
        let at = db.now();
        let push_id = Uuid::now_v7();
        let inserted = courier_push::Entity::insert(courier_push::ActiveModel {
            id: Set(push_id),
            account_id: Set(account_id),
            event_id: Set(update.event_id.clone()),
            tracking_number: Set(Some(update.tracking_number.clone())),
            shipment_id: Set(None),
            outcome: Set("received".to_owned()),
            payload: Set(payload.clone()),
            received_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([
                courier_push::Column::AccountId,
                courier_push::Column::EventId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
        if inserted == 0 {
            outcome.duplicates += 1;
            continue;
        }
        let mut found = shipment::Entity::find()
            .filter(shipment::Column::TrackingNumber.eq(update.tracking_number.clone()))
            .limit(2)
            .all(&*txn)
            .await?;
        let (result, shipment_id) = match (found.pop(), found.is_empty()) {
            (None, _) => {
                tracing::info!(source = source.as_str(), account = %account_id,
                               tracking_number = %update.tracking_number,
                               "courier push for an unknown tracking number: stored, not applied");
                outcome.unknown += 1;
                ("unknown_tracking", None)
            }
            (Some(_), false) => {
                // Two carriers use the number: which one is meant is unknown.
                tracing::warn!(source = source.as_str(), account = %account_id,
                               tracking_number = %update.tracking_number,
                               "courier push for a tracking number of several shipments: stored, not applied");
                outcome.unknown += 1;
                ("ambiguous_tracking", None)
            }
            (Some(found), true) => {
                let row = lock_shipment(&*txn, found.id).await?;
                if apply_update(db, &*txn, row, &update, source.as_str(), &actor).await? {
                    outcome.applied += 1;
                    ("applied", Some(found.id))
                } else {
                    outcome.stale += 1;
                    ("stale", Some(found.id))
                }
            }
        };
        courier_push::Entity::update_many()
            .col_expr(courier_push::Column::Outcome, Expr::val(result))
            .col_expr(courier_push::Column::ShipmentId, Expr::val(shipment_id))
            .filter(courier_push::Column::Id.eq(push_id))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
    }
    db.wake_workers();
    Ok(outcome)
}

/// Stores a verified push that applies to nothing (malformed, or without
/// tracking), once, under the digest of its body.
async fn store_unapplied(
    db: &Db,
    account_id: Uuid,
    body: &[u8],
    payload: &str,
    outcome: &str,
) -> Result<(), PushRefused> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(body);
    let txn = db.write().await?;
    courier_push::Entity::insert(courier_push::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        event_id: Set(format!("sha256:{}", hex_lower(&digest))),
        tracking_number: Set(None),
        shipment_id: Set(None),
        outcome: Set(outcome.to_owned()),
        payload: Set(payload.to_owned()),
        received_at: Set(db.now()),
    })
    .on_conflict(
        OnConflict::columns([
            courier_push::Column::AccountId,
            courier_push::Column::EventId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&*txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The pushes received on a courier account, newest first.
pub async fn list_pushes(
    db: &Db,
    actor: &Actor,
    account_id: Uuid,
    limit: u64,
) -> ServiceResult<Vec<CourierPush>> {
    actor.require(Permission::CourierAccountManage)?;
    courier_account::Entity::find_by_id(account_id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("courier account", account_id))?;
    Ok(courier_push::Entity::find()
        .filter(courier_push::Column::AccountId.eq(account_id))
        .order_by_desc(courier_push::Column::Id)
        .limit(limit)
        .all(db.read())
        .await?
        .into_iter()
        .map(|p| CourierPush {
            id: p.id,
            event_id: p.event_id,
            tracking_number: p.tracking_number,
            shipment_id: p.shipment_id,
            outcome: p.outcome,
            payload: p.payload,
            received_at: p.received_at,
        })
        .collect())
}

// --------------------------------------------------------------- manifests

/// A carrier's shipments handed over on one local day.
pub async fn manifest(
    db: &Db,
    actor: &Actor,
    carrier_code: &str,
    date: NaiveDate,
    utc_offset: Option<FixedOffset>,
) -> ServiceResult<Manifest> {
    actor.require(Permission::AllocationRead)?;
    // The day is the carrier's local day unless another offset is asked for.
    let utc_offset = match utc_offset {
        Some(offset) => offset,
        None => {
            let owner = carrier::Entity::find()
                .filter(carrier::Column::Code.eq(carrier_code))
                .one(db.read())
                .await?;
            let services = match owner {
                Some(c) => services_of(db.read(), Some(c.id)).await?,
                None => Vec::new(),
            };
            services
                .first()
                .map_or(chrono::Offset::fix(&Utc), |s| s.terms.utc_offset)
        }
    };
    let start = date
        .and_hms_opt(0, 0, 0)
        .and_then(|d| d.and_local_timezone(utc_offset).single())
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| ServiceError::invalid("date", "invalid", "not a day"))?;
    let end = start + chrono::Duration::days(1);
    let rows = shipment::Entity::find()
        .filter(shipment::Column::CarrierCode.eq(carrier_code))
        .filter(shipment::Column::HandedOverAt.gte(start))
        .filter(shipment::Column::HandedOverAt.lt(end))
        .order_by_asc(shipment::Column::HandedOverAt)
        .order_by_asc(shipment::Column::Id)
        .all(db.read())
        .await?;
    let orders: HashMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(rows.iter().map(|r| r.order_id).collect::<Vec<_>>()))
        .all(db.read())
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let packages = package::Entity::find()
        .filter(package::Column::ShipmentId.is_in(rows.iter().map(|r| r.id).collect::<Vec<_>>()))
        .all(db.read())
        .await?;
    let mut entries = Vec::new();
    for row in rows {
        let mine: Vec<&package::Model> = packages
            .iter()
            .filter(|p| p.shipment_id == Some(row.id))
            .collect();
        let order = orders.get(&row.order_id);
        let to = order.map(|o| &o.ship_to);
        let line = |name: &str| {
            to.and_then(|t| t.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        entries.push(ManifestEntry {
            shipment_id: row.id,
            order_id: row.order_id,
            order_number: order.and_then(|o| o.number.clone()),
            service_code: row.service_code,
            tracking_number: row.tracking_number,
            handed_over_at: row.handed_over_at,
            packages: mine.len(),
            weight_kg: mine.iter().map(|p| p.weight_kg.0).sum(),
            price: row.price.0,
            currency: row.currency,
            ship_to: format!("{}, {}, {}", line("name"), line("city"), line("country")),
        });
    }
    Ok(Manifest {
        carrier_code: carrier_code.to_owned(),
        date,
        utc_offset,
        packages: entries.iter().map(|e| e.packages).sum(),
        weight_kg: entries.iter().map(|e| e.weight_kg).sum(),
        shipments: entries,
    })
}

// ------------------------------------------------------------------ labels

/// Address lines of a stored address.
fn address_lines(address: &Value) -> Vec<String> {
    let field = |name: &str| {
        address
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let mut lines = Vec::new();
    lines.extend(field("name"));
    lines.extend(field("line1"));
    lines.extend(field("line2"));
    let city = [field("postal_code"), field("city"), field("region")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !city.is_empty() {
        lines.push(city);
    }
    lines.extend(field("country"));
    lines.extend(field("phone"));
    lines
}

struct PackageContext {
    package: package::Model,
    order: order::Model,
    shipment: Option<shipment::Model>,
    position: u32,
    count: u32,
    names: HashMap<String, (ParcelTraits, String)>,
}

async fn package_context(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<PackageContext> {
    actor.require(Permission::OrderRead)?;
    let package = package::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("package", id))?;
    load_visible(db.read(), actor, package.order_id)
        .await
        .map_err(|_| ServiceError::not_found("package", id))?;
    let order = order::Entity::find_by_id(package.order_id)
        .one(db.read())
        .await?
        .ok_or_else(|| corrupt("package's order", package.order_id))?;
    let siblings: Vec<Uuid> = package::Entity::find()
        .filter(package::Column::OrderId.eq(order.id))
        .order_by_asc(package::Column::Id)
        .all(db.read())
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let position = siblings.iter().position(|p| *p == id).unwrap_or(0) as u32 + 1;
    let shipment = match package.shipment_id {
        Some(s) => shipment::Entity::find_by_id(s).one(db.read()).await?,
        None => None,
    };
    let names = traits_by_sku(db.read(), contents_of(&package)?.into_iter().map(|c| c.sku)).await?;
    Ok(PackageContext {
        package,
        order,
        shipment,
        position,
        count: siblings.len() as u32,
        names,
    })
}

/// A package's shipping label (PDF). Needs its shipment (the tracking
/// number is printed as a Code 128 barcode).
pub async fn label(db: &Db, actor: &Actor, package_id: Uuid) -> ServiceResult<Vec<u8>> {
    let cx = package_context(db, actor, package_id).await?;
    let Some(shipment) = &cx.shipment else {
        return Err(ServiceError::Unprocessable {
            code: "not_shipped",
            message: "a label needs the package's shipment (its tracking number): ship it first"
                .to_owned(),
        });
    };
    let from = warehouse::Entity::find_by_id(cx.package.warehouse_id)
        .one(db.read())
        .await?;
    let ship_from = from
        .map(|w| {
            let mut lines = vec![w.name.clone()];
            lines.extend(address_lines(&w.address));
            lines
        })
        .unwrap_or_default();
    let traits = cx
        .names
        .values()
        .fold(ParcelTraits::default(), |acc, (t, _)| acc.union(*t));
    let mut handling = Vec::new();
    if traits.fragile {
        handling.push("FRAGILE - HANDLE WITH CARE");
    }
    if traits.liquid {
        handling.push("LIQUID - THIS SIDE UP");
    }
    if traits.hazardous {
        handling.push("HAZARDOUS GOODS");
    }
    let carrier = format!("{} {}", shipment.carrier_code, shipment.service_code);
    let weight = cx.package.weight_kg.0.to_string();
    let order_number = cx.order.number.clone().unwrap_or_default();
    label_pdf(&LabelData {
        order_number: &order_number,
        tracking_number: &shipment.tracking_number,
        carrier: &carrier,
        ship_from,
        ship_to: address_lines(&cx.order.ship_to),
        package_no: cx.position,
        package_count: cx.count,
        weight_kg: &weight,
        handling,
    })
    .map_err(|e| ServiceError::Unprocessable {
        code: "label_unprintable",
        message: e.to_string(),
    })
}

/// A package's packing slip (PDF).
pub async fn packing_slip(db: &Db, actor: &Actor, package_id: Uuid) -> ServiceResult<Vec<u8>> {
    let cx = package_context(db, actor, package_id).await?;
    let contents = contents_of(&cx.package)?;
    let order_number = cx.order.number.clone().unwrap_or_default();
    let tracking = cx.shipment.as_ref().map(|s| s.tracking_number.clone());
    Ok(packing_slip_pdf(&SlipData {
        order_number: &order_number,
        tracking_number: tracking.as_deref(),
        ship_to: address_lines(&cx.order.ship_to),
        package_no: cx.position,
        package_count: cx.count,
        contents: contents
            .iter()
            .map(|c| {
                (
                    c.line_no,
                    c.sku.as_str(),
                    cx.names.get(&c.sku).map_or("", |(_, name)| name.as_str()),
                    c.quantity,
                )
            })
            .collect(),
    }))
}
