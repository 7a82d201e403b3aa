//! Order intake: create, fix and cancel. Every order is kept, complete or not;
//! a complete one is numbered, priced, promised a date and sent to review in
//! the same transaction that stores it.

use std::collections::HashMap;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    ExprTrait as _, QueryFilter as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{customer, order, order_line, order_number_counter, product};

use super::load_visible;
use crate::domain::actor::{Actor, Permission};
use crate::domain::customer::CustomerStatus;
use crate::domain::event::EventType;
use crate::domain::intake::{self, LineFacts, Pricing, ProductFacts};
use crate::domain::money::Currency;
use crate::domain::order::{
    AddressDraft, ContactDraft, Finding, IllegalTransition, NewOrder, Order, OrderAction,
    OrderDraft, OrderPatch, OrderStatus, Promotions,
};
use crate::domain::pricing::{PriceSource, PromotionLine, apply_promotions};
use crate::domain::review::{ReviewStage, stages_affected_by};
use crate::domain::validation::{Parse, required_text};
use crate::service::error::{corrupt, is_unique_violation};
use crate::service::events::{EventBatch, Subject, record};
use crate::service::idempotency::{Created, Idempotency};
use crate::service::{Db, ServiceError, ServiceResult, now, pricing, reviews};

/// What intake concluded about an order's data.
struct Assessment {
    findings: Vec<Finding>,
    pricing: Pricing,
    product_ids: Vec<Option<Uuid>>,
    sources: Vec<PriceSource>,
    promotions: Promotions,
    longest_lead_days: u32,
}

/// Looks up the order's products, prices and promotions, and runs the
/// completeness check and pricing over them.
async fn assess<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    draft: &OrderDraft,
    customer: &customer::Model,
) -> ServiceResult<Assessment> {
    let customer_currency = Currency::parse(&customer.currency)
        .ok_or_else(|| corrupt("customer currency", &customer.currency))?;
    let mut skus: Vec<&str> = draft.lines.iter().map(|l| l.sku.as_str()).collect();
    skus.sort_unstable();
    skus.dedup();
    let rows = if skus.is_empty() {
        Vec::new()
    } else {
        product::Entity::find()
            .filter(product::Column::Sku.is_in(skus))
            .all(conn)
            .await?
    };
    let day = db.config().today(now());
    let resolution = pricing::resolve(conn, customer, draft.currency, &rows, day).await?;
    let facts: HashMap<&str, ProductFacts> = rows
        .iter()
        .map(|row| {
            (
                row.sku.as_str(),
                ProductFacts {
                    id: row.id,
                    sku: row.sku.clone(),
                    active: row.active,
                    lead_time_days: u32::try_from(row.lead_time_days).unwrap_or(0),
                    tax_rate: row.tax_rate.0,
                },
            )
        })
        .collect();
    let reference = |sku: &str| resolution.reference.get(sku).copied();

    // Promotions see each line at the price it will be sold for.
    let promotion_lines: Vec<PromotionLine> = draft
        .lines
        .iter()
        .map(|line| PromotionLine {
            sku: line.sku.clone(),
            quantity: std::cmp::max(line.quantity, 0),
            subtotal: draft.currency.round(
                line.unit_price
                    .or(reference(&line.sku).map(|(p, _)| p))
                    .unwrap_or_default()
                    * Decimal::from(std::cmp::max(line.quantity, 0)),
            ),
        })
        .collect();
    let promotions = pricing::active_promotions(conn, day).await?;
    let outcome = apply_promotions(
        &promotions,
        &promotion_lines,
        &customer.price_tier,
        draft.currency,
        day,
    );

    let line_facts: Vec<LineFacts<'_>> = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| LineFacts {
            product: facts.get(line.sku.as_str()),
            derived_price: reference(&line.sku).map(|(p, _)| p),
            discount: outcome.discounts.get(i).copied().unwrap_or_default(),
        })
        .collect();
    let sources = draft
        .lines
        .iter()
        .map(|line| match (line.unit_price, reference(&line.sku)) {
            (Some(_), _) | (None, None) => PriceSource::Given,
            (None, Some((_, source))) => source,
        })
        .collect();
    Ok(Assessment {
        findings: intake::check(draft, &line_facts, customer_currency),
        pricing: intake::price(draft, &line_facts),
        product_ids: line_facts.iter().map(|f| f.product.map(|p| p.id)).collect(),
        sources,
        promotions: Promotions {
            applied: outcome.applied,
            missed: outcome.missed,
        },
        longest_lead_days: line_facts
            .iter()
            .filter_map(|f| f.product.map(|p| p.lead_time_days))
            .max()
            .unwrap_or(0),
    })
}

/// The customer an order is for, if the actor may order for it.
async fn ordering_customer<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    customer_id: Option<Uuid>,
) -> ServiceResult<customer::Model> {
    let Some(id) = customer_id.or(actor.customer_id) else {
        return Err(ServiceError::invalid(
            "customer_id",
            "required",
            "name the customer the order is for",
        ));
    };
    let unknown = || {
        ServiceError::invalid(
            "customer_id",
            "unknown_customer",
            format!("no customer with id {id}"),
        )
    };
    // A partner orders only for its own customer; another is reported exactly
    // as one that does not exist.
    if !actor.may_see_customer(id) {
        return Err(unknown());
    }
    let customer = customer::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(unknown)?;
    if customer.status == CustomerStatus::Inactive.as_str() {
        return Err(ServiceError::invalid(
            "customer_id",
            "inactive_customer",
            format!("customer {} takes no new orders", customer.code),
        ));
    }
    Ok(customer)
}

/// The namespace of an order's external reference. A partner's references
/// always live in its own customer's namespace, whatever it sends, so it can
/// neither probe nor take another's.
fn source_account(actor: &Actor, requested: Option<&str>) -> String {
    match actor.customer_id {
        Some(customer) => customer.to_string(),
        None => requested.unwrap_or_default().to_owned(),
    }
}

/// Places an order. A complete order is confirmed and sent to review at once;
/// an incomplete one is kept in `pending_info` with its findings.
pub async fn create_order(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewOrder>,
    idempotency: Idempotency<'_, Order>,
) -> ServiceResult<Created<Order>> {
    actor.require(Permission::OrderCreate)?;
    let input = input.parse()?;
    let source_account = source_account(actor, input.source_account.as_deref());

    let txn = db.write().await?;
    if let Some(replay) = idempotency.claim(&*txn, actor).await? {
        return Ok(Created::Replay(replay));
    }
    let customer = ordering_customer(&*txn, actor, input.customer_id).await?;
    if let Some(external_ref) = &input.external_ref
        && let Some(existing) =
            find_by_external_ref(&*txn, input.channel.as_str(), &source_account, external_ref)
                .await?
    {
        return Err(duplicate_external_ref(external_ref, existing));
    }
    let customer_currency = Currency::parse(&customer.currency)
        .ok_or_else(|| corrupt("customer currency", &customer.currency))?;
    let draft = OrderDraft {
        customer_id: customer.id,
        currency: input.currency.unwrap_or(customer_currency),
        ship_to: match input.ship_to {
            Some(ship_to) => ship_to,
            None => default_address(&customer)?,
        },
        contact: match input.contact {
            Some(contact) => contact,
            None => default_contact(&customer)?,
        },
        lines: input.lines,
        requested_delivery_date: input.requested_delivery_date,
        special_instructions: input.special_instructions,
        invoice: input.invoice,
        payment_method: input.payment_method,
    };
    let assessment = assess(&*txn, db, &draft, &customer).await?;
    let at = now();
    let complete = assessment.findings.is_empty();
    let status = if complete {
        OrderStatus::PendingInfo.apply(OrderAction::Confirm)?
    } else {
        OrderStatus::PendingInfo
    };
    let promised = complete.then(|| promise(db, &draft, &assessment, at));
    let id = Uuid::now_v7();
    let row = order::ActiveModel {
        id: Set(id),
        number: Set(None),
        status: Set(status.as_str().to_owned()),
        channel: Set(input.channel.as_str().to_owned()),
        source_account: Set(source_account.clone()),
        external_ref: Set(input.external_ref.clone()),
        customer_id: Set(customer.id),
        currency: Set(draft.currency.code().to_owned()),
        ship_to: Set(to_json(&draft.ship_to)?),
        contact: Set(to_json(&draft.contact)?),
        requested_delivery_date: Set(draft.requested_delivery_date),
        promised_delivery_date: Set(promised),
        special_instructions: Set(draft.special_instructions.clone()),
        invoice: Set(draft.invoice.as_ref().map(to_json).transpose()?),
        subtotal: Set(assessment.pricing.subtotal.into()),
        discount_total: Set(assessment.pricing.discount_total.into()),
        tax_total: Set(assessment.pricing.tax_total.into()),
        total: Set(assessment.pricing.total.into()),
        findings: Set(to_json(&assessment.findings)?),
        version: Set(1),
        created_by: Set(actor.sub.clone()),
        created_at: Set(at),
        updated_at: Set(at),
        confirmed_at: Set(complete.then_some(at)),
        cancelled_at: Set(None),
        cancel_reason: Set(None),
        payment_method: Set(draft.payment_method.map(|m| m.as_str().to_owned())),
        promotions: Set(to_json(&assessment.promotions)?),
        review_round: Set(0),
        approved_at: Set(None),
        allocated_at: Set(None),
    };
    if let Err(error) = row.insert(&*txn).await {
        // A concurrent create with the same external reference won the race.
        if is_unique_violation(&error)
            && let Some(external_ref) = &input.external_ref
        {
            drop(txn);
            let existing = find_by_external_ref(
                db.read(),
                input.channel.as_str(),
                &source_account,
                external_ref,
            )
            .await?;
            if let Some(existing) = existing {
                return Err(duplicate_external_ref(external_ref, existing));
            }
        }
        return Err(error.into());
    }
    insert_lines(&*txn, id, &draft, &assessment).await?;
    let subject = Subject {
        kind: "order",
        id,
        version: 1,
        customer_id: Some(customer.id),
        channel: Some(input.channel.as_str()),
    };
    let mut events = EventBatch::default();
    events.push(
        &subject,
        actor,
        EventType::OrderCreated,
        json!({
            "channel": input.channel.as_str(),
            "external_ref": input.external_ref,
            "customer_id": customer.id,
            "lines": draft.lines.len(),
            "status": status.as_str(),
        }),
        at,
    );
    if complete {
        confirm(&*txn, db, id, actor, at, &mut events).await?;
    } else {
        let order = load_visible(&*txn, actor, id).await?;
        events.push(
            &subject,
            actor,
            EventType::OrderInfoRequested,
            info_requested_data(&order),
            at,
        );
    }
    events.flush(&*txn).await?;
    let order = load_visible(&*txn, actor, id).await?;
    idempotency.complete(&*txn, actor, &order).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(Created::New(order))
}

/// Publishes `order.confirmed`, runs the order's review and numbers it. The
/// number is taken last: the counter row stays locked until commit (a
/// rollback gives the number back, so numbers have no gaps), so the review's
/// reading and writing happen before it, and the events pushed meanwhile get
/// the number before the caller writes them.
async fn confirm<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    id: Uuid,
    actor: &Actor,
    at: DateTime<Utc>,
    events: &mut EventBatch,
) -> ServiceResult<()> {
    let inputs = reviews::prepare(conn, db, id).await?;
    let order = inputs.order().clone();
    let subject = Subject {
        kind: "order",
        id,
        version: order.version,
        customer_id: Some(order.customer_id),
        channel: Some(order.channel.as_str()),
    };
    events.push(
        &subject,
        actor,
        EventType::OrderConfirmed,
        confirmed_data(&order),
        at,
    );
    reviews::start(conn, db, id, actor, Some(inputs), events).await?;
    if order.number.is_none() {
        let number = next_number(conn, db, at).await?;
        order::Entity::update_many()
            .col_expr(order::Column::Number, Expr::val(number.clone()))
            .filter(order::Column::Id.eq(id))
            .exec(conn)
            .await?;
        events.fill_order_number(id, &number);
    }
    Ok(())
}

/// Changes an order's data while it may still change (`pending_info`,
/// `confirmed`, `in_review`), at the version the caller last read. The
/// completeness check runs again, also when nothing changed (so a pending
/// order picks up a product or price list added since): supplying what was
/// missing confirms the order; removing something it needs sends it back to
/// `pending_info`; a change under review re-opens the stages it affects.
pub async fn update_order(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    patch: impl Parse<OrderPatch>,
) -> ServiceResult<Order> {
    actor.require(Permission::OrderUpdate)?;
    let patch = patch.parse()?;
    let txn = db.write().await?;
    let current = load_visible(&*txn, actor, id).await?;
    current.status.apply(OrderAction::Edit)?;
    check_version(&current, expected_version)?;

    let old = current.draft();
    let mut draft = old.clone();
    patch.apply(&mut draft);
    let changes = diff(&old, &draft)?;
    if changes.is_empty() && current.status != OrderStatus::PendingInfo {
        return Ok(current);
    }
    let customer = customer::Entity::find_by_id(current.customer_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| corrupt("order customer", current.customer_id))?;
    let assessment = assess(&*txn, db, &draft, &customer).await?;
    let at = now();
    let complete = assessment.findings.is_empty();
    let status = if complete {
        match current.status {
            OrderStatus::PendingInfo => current.status.apply(OrderAction::Confirm)?,
            other => other,
        }
    } else {
        current.status.apply(OrderAction::RequestInfo)?
    };
    let confirming = status == OrderStatus::Confirmed && current.status == OrderStatus::PendingInfo;
    let dates_changed =
        changes.contains_key("lines") || changes.contains_key("requested_delivery_date");
    // A promise is kept unless what it rests on changed.
    let promised = match (
        complete,
        confirming || dates_changed || current.promised_delivery_date.is_none(),
    ) {
        (false, _) => None,
        (true, true) => Some(promise(db, &draft, &assessment, at)),
        (true, false) => current.promised_delivery_date,
    };
    let new_findings = to_json(&assessment.findings)?;
    if changes.is_empty() && new_findings == to_json(&current.findings)? && !confirming {
        return Ok(current);
    }
    let version = current.version + 1;
    // Conditional on the version read: a concurrent change makes this match nothing.
    let updated = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::val(status.as_str()))
        .col_expr(order::Column::Currency, Expr::val(draft.currency.code()))
        .col_expr(order::Column::ShipTo, Expr::val(to_json(&draft.ship_to)?))
        .col_expr(order::Column::Contact, Expr::val(to_json(&draft.contact)?))
        .col_expr(
            order::Column::RequestedDeliveryDate,
            Expr::val(draft.requested_delivery_date),
        )
        .col_expr(order::Column::PromisedDeliveryDate, Expr::val(promised))
        .col_expr(
            order::Column::SpecialInstructions,
            Expr::val(draft.special_instructions.clone()),
        )
        .col_expr(
            order::Column::Invoice,
            Expr::val(draft.invoice.as_ref().map(to_json).transpose()?),
        )
        .col_expr(
            order::Column::PaymentMethod,
            Expr::val(draft.payment_method.map(|m| m.as_str().to_owned())),
        )
        .col_expr(
            order::Column::Subtotal,
            Expr::val(assessment.pricing.subtotal.to_string()),
        )
        .col_expr(
            order::Column::DiscountTotal,
            Expr::val(assessment.pricing.discount_total.to_string()),
        )
        .col_expr(
            order::Column::TaxTotal,
            Expr::val(assessment.pricing.tax_total.to_string()),
        )
        .col_expr(
            order::Column::Total,
            Expr::val(assessment.pricing.total.to_string()),
        )
        .col_expr(order::Column::Findings, Expr::val(new_findings))
        .col_expr(
            order::Column::Promotions,
            Expr::val(to_json(&assessment.promotions)?),
        )
        .col_expr(order::Column::Version, Expr::val(version))
        .col_expr(order::Column::UpdatedAt, Expr::val(at))
        .col_expr(
            order::Column::ConfirmedAt,
            Expr::val(current.confirmed_at.or(confirming.then_some(at))),
        )
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(version_mismatch(&*txn, id, current.version).await);
    }
    if changes.contains_key("lines") {
        order_line::Entity::delete_many()
            .filter(order_line::Column::OrderId.eq(id))
            .exec(&*txn)
            .await?;
        insert_lines(&*txn, id, &draft, &assessment).await?;
    } else {
        // The same lines, priced again in place: their ids do not change.
        reprice_lines(&*txn, &current, &assessment).await?;
    }
    let updated_order = load_visible(&*txn, actor, id).await?;
    let subject = Subject {
        kind: "order",
        id,
        version,
        customer_id: Some(current.customer_id),
        channel: Some(current.channel.as_str()),
    };
    record(
        &*txn,
        &subject,
        actor,
        EventType::OrderUpdated,
        json!({
            "changes": changes,
            "status": status.as_str(),
            "subtotal": updated_order.subtotal.to_string(),
            "discount_total": updated_order.discount_total.to_string(),
            "tax_total": updated_order.tax_total.to_string(),
            "total": updated_order.total.to_string(),
            "promised_delivery_date": promised,
        }),
        at,
    )
    .await?;
    if confirming {
        let mut events = EventBatch::default();
        confirm(&*txn, db, id, actor, at, &mut events).await?;
        events.flush(&*txn).await?;
    } else if !complete {
        reviews::supersede_open(&*txn, id, at).await?;
        record(
            &*txn,
            &subject,
            actor,
            EventType::OrderInfoRequested,
            info_requested_data(&updated_order),
            at,
        )
        .await?;
    } else if status == OrderStatus::InReview {
        let mut stages: Vec<ReviewStage> = changes
            .keys()
            .flat_map(|field| stages_affected_by(field).iter().copied())
            .collect();
        stages.sort();
        stages.dedup();
        reviews::reopen(&*txn, db, id, &stages, actor).await?;
    } else if status == OrderStatus::Confirmed {
        // Confirmed before reviews existed: a change starts its review now.
        let mut events = EventBatch::default();
        reviews::start(&*txn, db, id, actor, None, &mut events).await?;
        events.flush(&*txn).await?;
    }
    let order = load_visible(&*txn, actor, id).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(order)
}

/// Cancels an order that has not shipped, with a reason. Partners may cancel
/// their own orders only until they are approved.
pub async fn cancel_order(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    expected_version: Option<i32>,
    reason: &str,
) -> ServiceResult<Order> {
    actor.require(Permission::OrderCancel)?;
    let reason =
        required_text("reason", reason, 500).map_err(|e| ServiceError::Validation(vec![e]))?;
    let txn = db.write().await?;
    let current = load_visible(&*txn, actor, id).await?;
    let status = current.status.apply(OrderAction::Cancel)?;
    if actor.is_partner()
        && !matches!(
            current.status,
            OrderStatus::PendingInfo | OrderStatus::Confirmed | OrderStatus::InReview
        )
    {
        return Err(ServiceError::Forbidden(format!(
            "the order is {}: partners may cancel only orders not yet approved; ask your account manager",
            current.status
        )));
    }
    check_version(&current, expected_version)?;
    let at = now();
    let version = current.version + 1;
    let updated = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::val(status.as_str()))
        .col_expr(order::Column::CancelledAt, Expr::val(at))
        .col_expr(order::Column::CancelReason, Expr::val(reason.clone()))
        .col_expr(order::Column::Version, Expr::val(version))
        .col_expr(order::Column::UpdatedAt, Expr::val(at))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(version_mismatch(&*txn, id, current.version).await);
    }
    reviews::supersede_open(&*txn, id, at).await?;
    // Reserved goods go back to stock, picked ones to their shelves.
    let released = super::super::allocation::cancel_reservations(&txn, id, actor).await?;
    let subject = Subject {
        kind: "order",
        id,
        version,
        customer_id: Some(current.customer_id),
        channel: Some(current.channel.as_str()),
    };
    record(
        &*txn,
        &subject,
        actor,
        EventType::OrderCancelled,
        json!({"number": current.number, "reason": reason, "previous_status": current.status.as_str(),
               "units_returned_to_stock": released, "contact": current.contact}),
        at,
    )
    .await?;
    let order = load_visible(&*txn, actor, id).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(order)
}

/// What became of a redirect.
#[derive(Debug)]
pub(crate) enum Redirect {
    Applied,
    /// Part of the order has shipped: too late.
    Shipped,
    /// The new address lacks these parts (required ones, or ones the
    /// current address has): a person completes it.
    Incomplete(Vec<&'static str>),
}

/// Changes where an approved order goes while none of it has shipped (the
/// buyer changed the address on the marketplace the order came from). The
/// order keeps its state and its reservations; carrier selection reads the
/// new address when it ships. The new address must be as complete as the
/// one it replaces.
pub(crate) async fn redirect_order(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    ship_to: AddressDraft,
) -> ServiceResult<Redirect> {
    actor.require(Permission::OrderUpdate)?;
    let txn = db.write().await?;
    // Locked (PostgreSQL): a shipment being created for the order either
    // finished first (and is found below) or waits for this change.
    crate::service::allocation::lock_order(&*txn, id).await?;
    let current = load_visible(&*txn, actor, id).await?;
    if !matches!(
        current.status,
        OrderStatus::Approved
            | OrderStatus::Backordered
            | OrderStatus::PartiallyAllocated
            | OrderStatus::Allocated
            | OrderStatus::InProduction
            | OrderStatus::ReadyToShip
    ) {
        return Err(ServiceError::Transition(IllegalTransition {
            from: current.status,
            action: OrderAction::Edit,
        }));
    }
    let shipped = dingdan_entity::shipment::Entity::find()
        .filter(dingdan_entity::shipment::Column::OrderId.eq(id))
        .one(&*txn)
        .await?
        .is_some();
    if shipped {
        return Ok(Redirect::Shipped);
    }
    let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
    let (new, old) = (&ship_to, &current.ship_to);
    let missing: Vec<&'static str> = [
        ("name", &new.name, &old.name, true),
        ("line1", &new.line1, &old.line1, true),
        ("city", &new.city, &old.city, true),
        ("country", &new.country, &old.country, true),
        ("region", &new.region, &old.region, false),
        ("postal_code", &new.postal_code, &old.postal_code, false),
        ("phone", &new.phone, &old.phone, false),
    ]
    .into_iter()
    .filter(|(_, new, old, required)| blank(new) && (*required || !blank(old)))
    .map(|(part, ..)| part)
    .collect();
    if !missing.is_empty() {
        return Ok(Redirect::Incomplete(missing));
    }
    if current.ship_to == ship_to {
        return Ok(Redirect::Applied);
    }
    let at = now();
    let version = current.version + 1;
    // Conditional on the version read: a shipment created meanwhile moves
    // the order on, and this matches nothing.
    let updated = order::Entity::update_many()
        .col_expr(order::Column::ShipTo, Expr::val(to_json(&ship_to)?))
        .col_expr(order::Column::Version, Expr::val(version))
        .col_expr(order::Column::UpdatedAt, Expr::val(at))
        .filter(order::Column::Id.eq(id))
        .filter(order::Column::Version.eq(current.version))
        .exec(&*txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(version_mismatch(&*txn, id, current.version).await);
    }
    let subject = Subject {
        kind: "order",
        id,
        version,
        customer_id: Some(current.customer_id),
        channel: Some(current.channel.as_str()),
    };
    record(
        &*txn,
        &subject,
        actor,
        EventType::OrderUpdated,
        json!({
            "changes": {"ship_to": {"from": to_json(&current.ship_to)?, "to": to_json(&ship_to)?}},
            "status": current.status.as_str(),
            "subtotal": current.subtotal.to_string(),
            "discount_total": current.discount_total.to_string(),
            "tax_total": current.tax_total.to_string(),
            "total": current.total.to_string(),
            "promised_delivery_date": current.promised_delivery_date,
        }),
        at,
    )
    .await?;
    txn.commit().await?;
    db.wake_workers();
    Ok(Redirect::Applied)
}

fn check_version(order: &Order, expected: Option<i32>) -> ServiceResult<()> {
    match expected {
        Some(expected) if expected != order.version => Err(ServiceError::VersionMismatch {
            expected,
            current: order.version,
        }),
        _ => Ok(()),
    }
}

/// The error for a conditional update that matched nothing, with the
/// version the order is at now.
async fn version_mismatch<C: ConnectionTrait>(conn: &C, id: Uuid, expected: i32) -> ServiceError {
    match order::Entity::find_by_id(id).one(conn).await {
        Ok(Some(row)) => ServiceError::VersionMismatch {
            expected,
            current: row.version,
        },
        Ok(None) => ServiceError::not_found("order", id),
        Err(error) => error.into(),
    }
}

fn promise(db: &Db, draft: &OrderDraft, assessment: &Assessment, at: DateTime<Utc>) -> NaiveDate {
    intake::promise(
        draft.requested_delivery_date,
        db.config().today(at),
        assessment.longest_lead_days,
        db.config().handling_days,
    )
}

/// The next order number of the business year: `SO-2026-000123`. The counter
/// row is locked until the transaction ends, so numbers are gap-free and unique.
async fn next_number<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    at: DateTime<Utc>,
) -> ServiceResult<String> {
    let year = db.config().today(at).year();
    order_number_counter::Entity::insert(order_number_counter::ActiveModel {
        year: Set(year),
        last: Set(0),
    })
    .on_conflict(
        OnConflict::column(order_number_counter::Column::Year)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(conn)
    .await?;
    let mut bump = Query::update();
    bump.table(order_number_counter::Entity)
        .value(
            order_number_counter::Column::Last,
            Expr::col(order_number_counter::Column::Last).add(1),
        )
        .and_where(Expr::col(order_number_counter::Column::Year).eq(year))
        .returning_col(order_number_counter::Column::Last);
    let row = conn.query_one(&bump).await?.ok_or_else(|| {
        ServiceError::Internal(anyhow::anyhow!(
            "the order number counter of {year} is missing"
        ))
    })?;
    let last: i64 = row.try_get_by_index(0)?;
    Ok(format!("SO-{year}-{last:06}"))
}

async fn find_by_external_ref<C: ConnectionTrait>(
    conn: &C,
    channel: &str,
    source_account: &str,
    external_ref: &str,
) -> ServiceResult<Option<Uuid>> {
    Ok(order::Entity::find()
        .filter(order::Column::Channel.eq(channel))
        .filter(order::Column::SourceAccount.eq(source_account))
        .filter(order::Column::ExternalRef.eq(external_ref))
        .one(conn)
        .await?
        .map(|o| o.id))
}

fn duplicate_external_ref(external_ref: &str, existing: Uuid) -> ServiceError {
    ServiceError::conflict(
        "duplicate_external_ref",
        format!(
            "an order with external_ref {external_ref:?} already exists for this channel and account"
        ),
        Some(existing),
    )
}

async fn insert_lines<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    draft: &OrderDraft,
    assessment: &Assessment,
) -> ServiceResult<()> {
    let rows: Vec<order_line::ActiveModel> = draft
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let price = &assessment.pricing.lines[i];
            order_line::ActiveModel {
                id: Set(Uuid::now_v7()),
                order_id: Set(order_id),
                line_no: Set(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                sku: Set(line.sku.clone()),
                product_id: Set(assessment.product_ids[i]),
                quantity: Set(line.quantity),
                unit_price: Set(price.unit_price.map(Into::into)),
                price_source: Set(assessment.sources[i].as_str().to_owned()),
                subtotal: Set(price.subtotal.into()),
                discount: Set(price.discount.into()),
                tax_rate: Set(price.tax_rate.into()),
                tax: Set(price.tax.into()),
                total: Set(price.total.into()),
                custom_spec: Set(line.custom_spec.clone()),
            }
        })
        .collect();
    if !rows.is_empty() {
        order_line::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

async fn reprice_lines<C: ConnectionTrait>(
    conn: &C,
    order: &Order,
    assessment: &Assessment,
) -> ServiceResult<()> {
    for (i, line) in order.lines.iter().enumerate() {
        let price = &assessment.pricing.lines[i];
        order_line::Entity::update_many()
            .col_expr(
                order_line::Column::ProductId,
                Expr::val(assessment.product_ids[i]),
            )
            .col_expr(
                order_line::Column::UnitPrice,
                Expr::val(price.unit_price.map(|p| p.to_string())),
            )
            .col_expr(
                order_line::Column::PriceSource,
                Expr::val(assessment.sources[i].as_str()),
            )
            .col_expr(
                order_line::Column::Subtotal,
                Expr::val(price.subtotal.to_string()),
            )
            .col_expr(
                order_line::Column::Discount,
                Expr::val(price.discount.to_string()),
            )
            .col_expr(
                order_line::Column::TaxRate,
                Expr::val(price.tax_rate.to_string()),
            )
            .col_expr(order_line::Column::Tax, Expr::val(price.tax.to_string()))
            .col_expr(
                order_line::Column::Total,
                Expr::val(price.total.to_string()),
            )
            .filter(order_line::Column::Id.eq(line.id))
            .exec(conn)
            .await?;
    }
    Ok(())
}

fn default_address(customer: &customer::Model) -> ServiceResult<AddressDraft> {
    let addresses: Vec<crate::domain::address::Address> =
        serde_json::from_value(customer.addresses.clone())
            .map_err(|_| corrupt("customer addresses", customer.addresses.to_string()))?;
    Ok(addresses
        .into_iter()
        .next()
        .map(AddressDraft::from)
        .unwrap_or_default())
}

fn default_contact(customer: &customer::Model) -> ServiceResult<ContactDraft> {
    let contacts: Vec<crate::domain::address::Contact> =
        serde_json::from_value(customer.contacts.clone())
            .map_err(|_| corrupt("customer contacts", customer.contacts.to_string()))?;
    Ok(contacts
        .into_iter()
        .next()
        .map(|c| ContactDraft {
            name: Some(c.name),
            phone: c.phone,
            email: c.email,
        })
        .unwrap_or_default())
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<Value> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.into()))
}

/// What changed between two versions of an order's data, field by field.
fn diff(old: &OrderDraft, new: &OrderDraft) -> ServiceResult<serde_json::Map<String, Value>> {
    let lines = |draft: &OrderDraft| -> Value {
        draft
            .lines
            .iter()
            .map(|l| json!({"sku": l.sku, "quantity": l.quantity, "unit_price": l.unit_price.map(|p| p.to_string()), "custom_spec": l.custom_spec}))
            .collect()
    };
    let pairs = [
        (
            "currency",
            json!(old.currency.code()),
            json!(new.currency.code()),
        ),
        ("ship_to", to_json(&old.ship_to)?, to_json(&new.ship_to)?),
        ("contact", to_json(&old.contact)?, to_json(&new.contact)?),
        ("lines", lines(old), lines(new)),
        (
            "requested_delivery_date",
            json!(old.requested_delivery_date),
            json!(new.requested_delivery_date),
        ),
        (
            "special_instructions",
            json!(old.special_instructions),
            json!(new.special_instructions),
        ),
        ("invoice", to_json(&old.invoice)?, to_json(&new.invoice)?),
        (
            "payment_method",
            json!(old.payment_method.map(|m| m.as_str())),
            json!(new.payment_method.map(|m| m.as_str())),
        ),
    ];
    Ok(pairs
        .into_iter()
        .filter(|(_, from, to)| from != to)
        .map(|(field, from, to)| (field.to_owned(), json!({"from": from, "to": to})))
        .collect())
}

/// The payload of `order.confirmed`: what a customer's confirmation shows.
fn confirmed_data(order: &Order) -> Value {
    json!({
        "number": order.number,
        "customer_id": order.customer_id,
        "currency": order.currency.code(),
        "lines": order.lines.iter().map(|l| json!({
            "line_no": l.line_no,
            "sku": l.sku,
            "quantity": l.quantity,
            "unit_price": l.unit_price.map(|p| p.to_string()),
            "discount": l.discount.to_string(),
            "tax": l.tax.to_string(),
            "total": l.total.to_string(),
        })).collect::<Vec<_>>(),
        "subtotal": order.subtotal.to_string(),
        "discount_total": order.discount_total.to_string(),
        "tax_total": order.tax_total.to_string(),
        "total": order.total.to_string(),
        "promotions": order.promotions.applied,
        "requested_delivery_date": order.requested_delivery_date,
        "promised_delivery_date": order.promised_delivery_date,
        "contact": order.contact,
    })
}

/// The payload of `order.info_requested`: what is missing, and whom to ask.
fn info_requested_data(order: &Order) -> Value {
    json!({
        "number": order.number,
        "customer_id": order.customer_id,
        "findings": order.findings,
        "contact": order.contact,
        "external_ref": order.external_ref,
    })
}
