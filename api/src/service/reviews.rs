//! Order review: four stages run in order on every confirmed order. Each
//! computes its findings; a stage whose findings are clean approves itself
//! when the policy allows, otherwise it waits in its owner's queue. All four
//! approved make the order `approved`; a rejection makes it `rejected`; a
//! request for changes sends it back to `pending_info`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait,
    EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{customer, order, order_review, product, setting, stock_lot, warehouse};

use super::error::corrupt;
use super::events::{EventBatch, record};
use super::orders::{load_visible, set_status, subject, to_domain};
use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, now, pricing};
use crate::domain::actor::{Actor, Permission, Role};
use crate::domain::customer::CustomerStatus;
use crate::domain::event::EventType;
use crate::domain::intake::{self, LineFacts, ProductFacts};
use crate::domain::money::Currency;
use crate::domain::order::{Finding, Order, OrderAction, OrderStatus};
use crate::domain::page::{Page, PageRequest};
use crate::domain::pricing::deviation_percent;
use crate::domain::review::{
    Decision, DecisionInput, FinanceFacts, InventoryLine, PaymentMethod, PolicyFacts,
    ReviewFinding, ReviewPolicy, ReviewStage, ReviewStatus, SalesFacts, SalesLine, Severity,
    final_findings, finance_findings, inventory_findings, sales_findings,
};
use crate::domain::validation::Parse;

const POLICY_KEY: &str = "review_policy";

/// The statuses of an order that count against a customer's credit until
/// invoicing exists: approved and not yet closed.
const UNBILLED: [OrderStatus; 9] = [
    OrderStatus::Approved,
    OrderStatus::Backordered,
    OrderStatus::PartiallyAllocated,
    OrderStatus::Allocated,
    OrderStatus::InProduction,
    OrderStatus::ReadyToShip,
    OrderStatus::PartiallyShipped,
    OrderStatus::Shipped,
    OrderStatus::Delivered,
];

/// One stage of an order's review.
#[derive(Clone, Debug, PartialEq)]
pub struct Review {
    pub id: Uuid,
    pub order_id: Uuid,
    pub round: i32,
    pub stage: ReviewStage,
    pub status: ReviewStatus,
    pub findings: Vec<ReviewFinding>,
    pub human_reasons: Vec<String>,
    pub decision: Option<Decision>,
    pub reason_code: Option<String>,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub async fn get_policy(db: &Db, actor: &Actor) -> ServiceResult<ReviewPolicy> {
    actor.require(Permission::ReviewRead)?;
    load_policy(db.read()).await
}

pub async fn set_policy(
    db: &Db,
    actor: &Actor,
    policy: ReviewPolicy,
) -> ServiceResult<ReviewPolicy> {
    actor.require(Permission::ReviewPolicyWrite)?;
    for (currency, amount) in &policy.order_total_above {
        if Currency::parse(currency).is_none() || amount.is_sign_negative() {
            return Err(ServiceError::invalid(
                format!("order_total_above.{currency}"),
                "invalid",
                "keys are ISO 4217 currencies and amounts are not negative",
            ));
        }
    }
    if policy
        .price_deviation_percent_above
        .is_some_and(|p| p.is_sign_negative())
    {
        return Err(ServiceError::invalid(
            "price_deviation_percent_above",
            "negative",
            "must not be negative",
        ));
    }
    let txn = db.write().await?;
    setting::Entity::delete_by_id(POLICY_KEY.to_owned())
        .exec(&*txn)
        .await?;
    setting::ActiveModel {
        key: Set(POLICY_KEY.to_owned()),
        value: Set(serde_json::to_value(&policy).map_err(|e| ServiceError::Internal(e.into()))?),
        updated_by: Set(actor.sub.clone()),
        updated_at: Set(now()),
    }
    .insert(&*txn)
    .await?;
    txn.commit().await?;
    Ok(policy)
}

async fn load_policy<C: ConnectionTrait>(conn: &C) -> ServiceResult<ReviewPolicy> {
    match setting::Entity::find_by_id(POLICY_KEY.to_owned())
        .one(conn)
        .await?
    {
        Some(row) => serde_json::from_value(row.value.clone())
            .map_err(|_| corrupt("review policy", row.value.to_string())),
        None => Ok(ReviewPolicy::default()),
    }
}

/// Moves a confirmed order into review: a new round of four stages, run as
/// far as the policy lets them run alone. The round's rows are written once,
/// with what the run decided.
pub(crate) async fn start<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    order_id: Uuid,
    actor: &Actor,
    inputs: Option<Inputs>,
    events: &mut EventBatch,
) -> ServiceResult<()> {
    let at = now();
    let current = order::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", order_id))?;
    let status = OrderStatus::parse(&current.status)
        .ok_or_else(|| corrupt("order status", &current.status))?;
    let next = status.apply(OrderAction::StartReview)?;
    let round = current.review_round + 1;
    if current.review_round > 0 {
        supersede_open(conn, order_id, at).await?;
    }
    let version = set_status(conn, &current, next, |update| {
        update.col_expr(order::Column::ReviewRound, Expr::val(round))
    })
    .await?;
    events.push(
        &subject(&current, version),
        actor,
        EventType::OrderReviewStarted,
        json!({"round": round}),
        at,
    );
    let current = order::Model {
        status: next.as_str().to_owned(),
        version,
        review_round: round,
        ..current
    };
    let fresh = waiting_rows(order_id, round, &ReviewStage::ALL, at);
    run(conn, db, current, actor, inputs, Rows::Fresh(fresh), events).await
}

/// Re-opens the stages a change to the order affects, and runs the review on.
pub(crate) async fn reopen<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    order_id: Uuid,
    stages: &[ReviewStage],
    actor: &Actor,
) -> ServiceResult<()> {
    let current = order::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", order_id))?;
    let at = now();
    let names: Vec<&str> = stages.iter().map(ReviewStage::as_str).collect();
    // The reopened stages get new review rows: a decision sent for the old
    // one (on findings that no longer hold) is refused as not pending.
    order_review::Entity::update_many()
        .col_expr(
            order_review::Column::Status,
            Expr::val(ReviewStatus::Superseded.as_str()),
        )
        .col_expr(order_review::Column::UpdatedAt, Expr::val(at))
        .filter(order_review::Column::OrderId.eq(order_id))
        .filter(order_review::Column::Round.eq(current.review_round))
        .filter(order_review::Column::Stage.is_in(names.clone()))
        .filter(order_review::Column::Status.is_in([
            ReviewStatus::Approved.as_str(),
            ReviewStatus::Pending.as_str(),
            ReviewStatus::Waiting.as_str(),
        ]))
        .exec(conn)
        .await?;
    insert_waiting(conn, order_id, current.review_round, stages, at).await?;
    record(
        conn,
        &subject(&current, current.version),
        actor,
        EventType::OrderReviewReopened,
        json!({"round": current.review_round, "stages": names}),
        at,
    )
    .await?;
    advance(conn, db, order_id, actor, None).await
}

async fn insert_waiting<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    round: i32,
    stages: &[ReviewStage],
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    if stages.is_empty() {
        return Ok(());
    }
    let rows = waiting_rows(order_id, round, stages, at)
        .into_iter()
        .map(sea_orm::IntoActiveModel::into_active_model);
    order_review::Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// New review rows, waiting to run.
fn waiting_rows(
    order_id: Uuid,
    round: i32,
    stages: &[ReviewStage],
    at: DateTime<Utc>,
) -> Vec<order_review::Model> {
    stages
        .iter()
        .map(|stage| order_review::Model {
            id: Uuid::now_v7(),
            order_id,
            round,
            stage: stage.as_str().to_owned(),
            position: stage.position(),
            status: ReviewStatus::Waiting.as_str().to_owned(),
            findings: json!([]),
            human_reasons: json!([]),
            decision: None,
            reason_code: None,
            comment: None,
            decided_by: None,
            decided_at: None,
            created_at: at,
            updated_at: at,
        })
        .collect()
}

/// Ends the open stages of an order's current round (the order left review).
pub(crate) async fn supersede_open<C: ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    order_review::Entity::update_many()
        .col_expr(
            order_review::Column::Status,
            Expr::val(ReviewStatus::Superseded.as_str()),
        )
        .col_expr(order_review::Column::UpdatedAt, Expr::val(at))
        .filter(order_review::Column::OrderId.eq(order_id))
        .filter(order_review::Column::Status.is_in([
            ReviewStatus::Waiting.as_str(),
            ReviewStatus::Pending.as_str(),
        ]))
        .exec(conn)
        .await?;
    Ok(())
}

/// The rows a review run works on: stored ones (updated as stages are
/// decided), or a fresh round's (inserted once, when the run stops).
enum Rows {
    Stored,
    Fresh(Vec<order_review::Model>),
}

/// Runs the review on from where it stands.
async fn advance<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    order_id: Uuid,
    actor: &Actor,
    inputs: Option<Inputs>,
) -> ServiceResult<()> {
    let current = order::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", order_id))?;
    let mut events = EventBatch::default();
    run(conn, db, current, actor, inputs, Rows::Stored, &mut events).await?;
    events.flush(conn).await
}

/// Runs the first undecided stage of the current round: approves it when it
/// may approve itself and goes on, or leaves it pending for its owner. When
/// every stage is approved, the order is. What the stages read is loaded
/// once (`inputs`, when the caller prepared it already); the events go to
/// `events`, which the caller writes.
async fn run<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    current: order::Model,
    actor: &Actor,
    inputs: Option<Inputs>,
    rows: Rows,
    events: &mut EventBatch,
) -> ServiceResult<()> {
    let policy = load_policy(conn).await?;
    let (mut reviews, fresh) = match rows {
        Rows::Fresh(rows) => (rows, true),
        Rows::Stored => (
            order_review::Entity::find()
                .filter(order_review::Column::OrderId.eq(current.id))
                .filter(order_review::Column::Round.eq(current.review_round))
                .filter(order_review::Column::Status.ne(ReviewStatus::Superseded.as_str()))
                .order_by_asc(order_review::Column::Position)
                .all(conn)
                .await?,
            false,
        ),
    };
    let mut inputs = inputs;
    let all_approved = loop {
        let Some(index) = reviews
            .iter()
            .position(|r| r.status != ReviewStatus::Approved.as_str())
        else {
            break true;
        };
        let next = reviews[index].clone();
        if next.status != ReviewStatus::Waiting.as_str() {
            // Pending with its owner (or decided otherwise): nothing to run.
            break false;
        }
        let stage =
            ReviewStage::parse(&next.stage).ok_or_else(|| corrupt("review stage", &next.stage))?;
        if inputs.is_none() {
            inputs = Some(prepare(conn, db, current.id).await?);
        }
        let Some(inputs) = inputs.as_mut() else {
            return Err(corrupt("review inputs", current.id));
        };
        let (findings, facts) = evaluate(conn, stage, inputs, &reviews).await?;
        let reasons = policy.human_reasons(stage, &findings, &facts);
        let at = now();
        let decided = reasons.is_empty();
        let status = if decided {
            ReviewStatus::Approved
        } else {
            ReviewStatus::Pending
        };
        let row = &mut reviews[index];
        row.status = status.as_str().to_owned();
        row.findings = to_json(&findings)?;
        row.human_reasons = json!(reasons);
        row.updated_at = at;
        if decided {
            row.decision = Some(Decision::Approve.as_str().to_owned());
            row.decided_by = Some("system".to_owned());
            row.decided_at = Some(at);
        }
        if !fresh {
            order_review::Entity::update_many()
                .col_expr(order_review::Column::Status, Expr::val(status.as_str()))
                .col_expr(
                    order_review::Column::Findings,
                    Expr::val(row.findings.clone()),
                )
                .col_expr(
                    order_review::Column::HumanReasons,
                    Expr::val(row.human_reasons.clone()),
                )
                .col_expr(
                    order_review::Column::Decision,
                    Expr::val(row.decision.clone()),
                )
                .col_expr(
                    order_review::Column::DecidedBy,
                    Expr::val(row.decided_by.clone()),
                )
                .col_expr(order_review::Column::DecidedAt, Expr::val(row.decided_at))
                .col_expr(order_review::Column::UpdatedAt, Expr::val(at))
                .filter(order_review::Column::Id.eq(next.id))
                .exec(conn)
                .await?;
        }
        if !decided {
            events.push(
                &subject(&current, current.version),
                actor,
                EventType::OrderReviewRequired,
                json!({
                    "review_id": next.id, "stage": stage.as_str(), "owner_role": stage.owner().as_str(),
                    "reasons": reasons,
                    "findings": findings.iter().filter(|f| f.severity == Severity::Warning).collect::<Vec<_>>(),
                    "number": current.number,
                }),
                at,
            );
            break false;
        }
        events.push(
            &subject(&current, current.version),
            actor,
            EventType::OrderReviewDecided,
            json!({"review_id": next.id, "stage": stage.as_str(), "decision": "approve", "decided_by": "system",
                   "automatic": true}),
            at,
        );
    };
    if fresh {
        order_review::Entity::insert_many(
            reviews
                .into_iter()
                .map(sea_orm::IntoActiveModel::into_active_model),
        )
        .exec_without_returning(conn)
        .await?;
    }
    if all_approved {
        approve_order(conn, &current, actor, events).await?;
    }
    Ok(())
}

async fn approve_order<C: ConnectionTrait>(
    conn: &C,
    current: &order::Model,
    actor: &Actor,
    events: &mut EventBatch,
) -> ServiceResult<()> {
    let status = OrderStatus::parse(&current.status)
        .ok_or_else(|| corrupt("order status", &current.status))?;
    let next = status.apply(OrderAction::Approve)?;
    let at = now();
    let version = set_status(conn, current, next, |update| {
        update.col_expr(order::Column::ApprovedAt, Expr::val(at))
    })
    .await?;
    events.push(
        &subject(current, version),
        actor,
        EventType::OrderApproved,
        json!({"number": current.number, "total": current.total.0.to_string(), "currency": current.currency,
               "promised_delivery_date": current.promised_delivery_date}),
        at,
    );
    super::allocation::order_approved(conn).await
}

/// What the stages of one review run read, loaded once: the order, its
/// customer (locked on PostgreSQL: credit decisions about one customer take
/// turns), its products and reference prices, and the policy's facts. The
/// exposure, the tier's maximum discount and the stock are read when a stage
/// first needs them.
pub(crate) struct Inputs {
    order: Order,
    customer: customer::Model,
    customer_status: CustomerStatus,
    products: Vec<product::Model>,
    resolution: pricing::Resolution,
    facts: PolicyFacts,
    day: chrono::NaiveDate,
    exposure: Option<Decimal>,
}

impl Inputs {
    /// The order as it was read.
    pub(crate) fn order(&self) -> &Order {
        &self.order
    }
}

/// Loads what the stages read. Call it before taking locks that others wait
/// on (the order-number counter): all the reading happens here.
pub(crate) async fn prepare<C: ConnectionTrait>(
    conn: &C,
    db: &Db,
    order_id: Uuid,
) -> ServiceResult<Inputs> {
    let row = order::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("order", order_id))?;
    let lines = super::orders::lines_of(conn, &[order_id]).await?;
    let order = to_domain(row, lines)?;
    let mut find_customer = customer::Entity::find_by_id(order.customer_id);
    if conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Credit decisions about one customer take turns: a concurrent
        // approval waits here, then sees this one's exposure. `FOR NO KEY
        // UPDATE`, not `FOR UPDATE`: the latter would also wait for the key
        // share locks that inserting another order of this customer takes.
        find_customer = find_customer.lock(sea_orm::sea_query::LockType::NoKeyUpdate);
    }
    let customer = find_customer
        .one(conn)
        .await?
        .ok_or_else(|| corrupt("order customer", order.customer_id))?;
    let customer_status = CustomerStatus::parse(&customer.status)
        .ok_or_else(|| corrupt("customer status", &customer.status))?;
    let skus: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
    let products = product::Entity::find()
        .filter(product::Column::Sku.is_in(skus))
        .all(conn)
        .await?;
    let day = db.config().today(now());
    let resolution = pricing::resolve(conn, &customer, order.currency, &products, day).await?;
    let deepest_discount_percent = order
        .lines
        .iter()
        .filter_map(|line| {
            let price = line.unit_price?;
            let (reference, _) = resolution.reference.get(&line.sku)?;
            deviation_percent(price, *reference).map(|d| -d)
        })
        .filter(|d| d.is_sign_positive() && !d.is_zero())
        .max();
    // Whether any other order of the customer was approved: one row at most.
    let earlier_approved = order::Entity::find()
        .select_only()
        .column(order::Column::Id)
        .filter(order::Column::CustomerId.eq(order.customer_id))
        .filter(order::Column::Id.ne(order.id))
        .filter(order::Column::ApprovedAt.is_not_null())
        .limit(1)
        .into_tuple::<Uuid>()
        .one(conn)
        .await?
        .is_some();
    let facts = PolicyFacts {
        currency: order.currency,
        order_total: order.total,
        new_customer: !earlier_approved,
        deepest_discount_percent,
    };
    Ok(Inputs {
        order,
        customer,
        customer_status,
        products,
        resolution,
        facts,
        day,
        exposure: None,
    })
}

/// Computes one stage's findings, and the facts the policy's thresholds read.
async fn evaluate<C: ConnectionTrait>(
    conn: &C,
    stage: ReviewStage,
    inputs: &mut Inputs,
    reviews: &[order_review::Model],
) -> ServiceResult<(Vec<ReviewFinding>, PolicyFacts)> {
    if matches!(stage, ReviewStage::Sales | ReviewStage::Finance) && inputs.exposure.is_none() {
        inputs.exposure = Some(exposure(conn, &inputs.customer, &inputs.order).await?);
    }
    let Inputs {
        order,
        customer,
        customer_status,
        products,
        resolution,
        facts,
        day,
        exposure,
    } = &*inputs;
    let exposure = exposure.unwrap_or_default();
    let customer_status = *customer_status;
    let findings = match stage {
        ReviewStage::Sales => {
            let lines: Vec<SalesLine> = order
                .lines
                .iter()
                .map(|line| SalesLine {
                    line_no: line.line_no,
                    sku: line.sku.clone(),
                    unit_price: line.unit_price,
                    reference: resolution.reference.get(&line.sku).copied(),
                    list_price: resolution.list.get(&line.sku).copied(),
                })
                .collect();
            let max_discount_percent = pricing::max_discount(conn, &customer.price_tier).await?;
            let mut findings = sales_findings(&SalesFacts {
                customer_status,
                lines: &lines,
                max_discount_percent,
                applied: &order.promotions.applied,
                missed: &order.promotions.missed,
            });
            findings.insert(
                1,
                credit_standing(customer, exposure + order.total, order.currency),
            );
            findings
        }
        ReviewStage::Finance => {
            let allowed: Vec<PaymentMethod> =
                serde_json::from_value(customer.payment_methods.clone()).map_err(|_| {
                    corrupt("payment methods", customer.payment_methods.to_string())
                })?;
            let recomputed = recompute_total(order, products);
            finance_findings(&FinanceFacts {
                currency: order.currency,
                customer_status,
                payment_method: order.payment_method,
                allowed_methods: &allowed,
                payment_terms_days: u32::try_from(customer.payment_terms_days).unwrap_or(0),
                stored_total: order.total,
                recomputed_total: recomputed,
                requires_invoice: customer.requires_invoice,
                invoice: order.invoice.as_ref(),
                credit_limit: customer.credit_limit.0,
                // Receivables arrive with invoicing; until then nothing is open.
                open_receivables: Decimal::ZERO,
                approved_unbilled: exposure,
                order_total: order.total,
            })
        }
        ReviewStage::Inventory => {
            let lines = inventory_lines(conn, order, products, *day).await?;
            inventory_findings(&lines, customer.allow_partial_shipment)
        }
        ReviewStage::Final => {
            let decided: Vec<(ReviewStage, String, Option<String>, Vec<ReviewFinding>)> = reviews
                .iter()
                .filter(|r| r.status == ReviewStatus::Approved.as_str())
                .filter_map(|r| {
                    Some((
                        ReviewStage::parse(&r.stage)?,
                        r.decided_by.clone().unwrap_or_default(),
                        r.comment.clone(),
                        serde_json::from_value(r.findings.clone()).unwrap_or_default(),
                    ))
                })
                .collect();
            final_findings(&decided)
        }
    };
    Ok((findings, facts.clone()))
}

#[derive(sea_orm::FromQueryResult)]
struct ExposureRow {
    id: Uuid,
    status: String,
    total: dingdan_entity::DecimalText,
    review_round: i32,
}

/// What a customer's other orders already commit of its credit: the ones
/// approved and not yet billed, and the ones in review that finance has
/// already passed (they were weighed against the same limit). Orders in
/// another currency than the customer's cannot be added and are left out.
async fn exposure<C: ConnectionTrait>(
    conn: &C,
    customer: &customer::Model,
    order: &Order,
) -> ServiceResult<Decimal> {
    // Only the columns the sum needs: a customer may have many open orders.
    let rows: Vec<ExposureRow> = order::Entity::find()
        .select_only()
        .columns([
            order::Column::Id,
            order::Column::Status,
            order::Column::Total,
            order::Column::ReviewRound,
        ])
        .filter(order::Column::CustomerId.eq(customer.id))
        .filter(order::Column::Id.ne(order.id))
        .filter(order::Column::Currency.eq(customer.currency.clone()))
        .filter(
            order::Column::Status.is_in(
                UNBILLED
                    .iter()
                    .map(|s| s.as_str())
                    .chain([OrderStatus::InReview.as_str()]),
            ),
        )
        .into_model::<ExposureRow>()
        .all(conn)
        .await?;
    let in_review: Vec<&ExposureRow> = rows
        .iter()
        .filter(|o| o.status == OrderStatus::InReview.as_str())
        .collect();
    let passed_finance: std::collections::HashSet<Uuid> = if in_review.is_empty() {
        std::collections::HashSet::new()
    } else {
        order_review::Entity::find()
            .filter(order_review::Column::OrderId.is_in(in_review.iter().map(|o| o.id)))
            .filter(order_review::Column::Stage.eq(ReviewStage::Finance.as_str()))
            .filter(order_review::Column::Status.eq(ReviewStatus::Approved.as_str()))
            .all(conn)
            .await?
            .into_iter()
            .filter(|r| {
                in_review
                    .iter()
                    .any(|o| o.id == r.order_id && o.review_round == r.round)
            })
            .map(|r| r.order_id)
            .collect()
    };
    Ok(rows
        .iter()
        .filter(|o| o.status != OrderStatus::InReview.as_str() || passed_finance.contains(&o.id))
        .map(|o| o.total.0)
        .sum())
}

/// The customer's credit standing, for the sales review (finance decides on it).
fn credit_standing(
    customer: &customer::Model,
    exposure: Decimal,
    currency: Currency,
) -> ReviewFinding {
    ReviewFinding {
        code: "credit_standing".to_owned(),
        severity: crate::domain::review::Severity::Info,
        message: format!(
            "credit exposure with this order {exposure} of a {} {currency} limit, net {} days",
            customer.credit_limit.0, customer.payment_terms_days
        ),
        data: json!({"exposure": exposure.to_string(), "credit_limit": customer.credit_limit.0.to_string(),
                     "payment_terms_days": customer.payment_terms_days, "currency": currency.code()}),
    }
}

/// The order's total computed again from its lines.
fn recompute_total(order: &Order, products: &[product::Model]) -> Decimal {
    let facts: Vec<ProductFacts> = products
        .iter()
        .map(|p| ProductFacts {
            id: p.id,
            sku: p.sku.clone(),
            active: p.active,
            lead_time_days: 0,
            tax_rate: p.tax_rate.0,
        })
        .collect();
    let draft = order.draft();
    let line_facts: Vec<LineFacts<'_>> = order
        .lines
        .iter()
        .map(|line| LineFacts {
            product: facts.iter().find(|p| p.sku == line.sku),
            derived_price: line.unit_price,
            discount: line.discount,
        })
        .collect();
    intake::price(&draft, &line_facts).total
}

async fn inventory_lines<C: ConnectionTrait>(
    conn: &C,
    order: &Order,
    products: &[product::Model],
    day: chrono::NaiveDate,
) -> ServiceResult<Vec<InventoryLine>> {
    let mut demand: BTreeMap<&str, (Vec<u32>, i64)> = BTreeMap::new();
    for line in &order.lines {
        let entry = demand.entry(line.sku.as_str()).or_default();
        entry.0.push(line.line_no);
        entry.1 += line.quantity;
    }
    let lots = stock_lot::Entity::find()
        .filter(stock_lot::Column::Sku.is_in(demand.keys().map(|s| (*s).to_owned())))
        .filter(
            Condition::any()
                .add(stock_lot::Column::ExpiryDate.is_null())
                .add(stock_lot::Column::ExpiryDate.gt(day)),
        )
        .all(conn)
        .await?;
    let warehouse_ids: Vec<Uuid> = lots.iter().map(|l| l.warehouse_id).collect();
    let warehouses: BTreeMap<Uuid, String> = warehouse::Entity::find()
        .filter(warehouse::Column::Id.is_in(warehouse_ids))
        .filter(warehouse::Column::Active.eq(true))
        // Goods in transit are on their way, not available.
        .filter(warehouse::Column::Kind.eq("standard"))
        .all(conn)
        .await?
        .into_iter()
        .map(|w| (w.id, w.code))
        .collect();
    Ok(demand
        .into_iter()
        .map(|(sku, (lines, quantity))| {
            let mut available: BTreeMap<String, i64> = BTreeMap::new();
            for lot in lots.iter().filter(|l| l.sku == sku) {
                if let Some(code) = warehouses.get(&lot.warehouse_id) {
                    *available.entry(code.clone()).or_default() += lot.on_hand - lot.reserved;
                }
            }
            InventoryLine {
                sku: sku.to_owned(),
                lines,
                demand: quantity,
                made_to_order: products.iter().any(|p| p.sku == sku && p.made_to_order),
                available: available.into_iter().filter(|(_, q)| *q > 0).collect(),
            }
        })
        .collect())
}

/// Decides a pending review. Only the stage's owner role (or admin) may.
pub async fn decide(
    db: &Db,
    actor: &Actor,
    review_id: Uuid,
    input: impl Parse<DecisionInput>,
) -> ServiceResult<(Review, Order)> {
    actor.require(Permission::ReviewRead)?;
    let txn = db.write().await?;
    let review = order_review::Entity::find_by_id(review_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("review", review_id))?;
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // Decisions and edits of one order take turns (SQLite has one writer).
        order::Entity::find_by_id(review.order_id)
            .lock_exclusive()
            .one(&*txn)
            .await?;
    }
    let stage =
        ReviewStage::parse(&review.stage).ok_or_else(|| corrupt("review stage", &review.stage))?;
    if !actor
        .roles
        .iter()
        .any(|r| *r == Role::Admin || *r == stage.owner())
    {
        return Err(ServiceError::Forbidden(format!(
            "{stage} reviews are decided by the {} role (or admin)",
            stage.owner()
        )));
    }
    let input = input.parse()?;
    if review.status != ReviewStatus::Pending.as_str() {
        return Err(ServiceError::conflict(
            "review_not_pending",
            format!(
                "this review is {}; only a pending review can be decided",
                review.status
            ),
            None,
        ));
    }
    if input.decision == Decision::Reject && input.reason_code.is_none() {
        return Err(ServiceError::invalid(
            "reason_code",
            "required",
            "a rejection needs a reason code",
        ));
    }
    if input.decision == Decision::RequestChanges && input.comment.is_none() {
        return Err(ServiceError::invalid(
            "comment",
            "required",
            "say which changes the customer should make",
        ));
    }
    let at = now();
    let decided = order_review::Entity::update_many()
        .col_expr(
            order_review::Column::Status,
            Expr::val(input.decision.outcome().as_str()),
        )
        .col_expr(
            order_review::Column::Decision,
            Expr::val(input.decision.as_str()),
        )
        .col_expr(
            order_review::Column::ReasonCode,
            Expr::val(input.reason_code.clone()),
        )
        .col_expr(
            order_review::Column::Comment,
            Expr::val(input.comment.clone()),
        )
        .col_expr(
            order_review::Column::DecidedBy,
            Expr::val(actor.sub.clone()),
        )
        .col_expr(order_review::Column::DecidedAt, Expr::val(at))
        .col_expr(order_review::Column::UpdatedAt, Expr::val(at))
        .filter(order_review::Column::Id.eq(review_id))
        .filter(order_review::Column::Status.eq(ReviewStatus::Pending.as_str()))
        .exec(&*txn)
        .await?;
    if decided.rows_affected == 0 {
        // Someone decided it (or a change re-opened it) in the meantime.
        return Err(ServiceError::conflict(
            "review_not_pending",
            "this review was decided or re-opened meanwhile; read it again",
            None,
        ));
    }
    let current = order::Entity::find_by_id(review.order_id)
        .one(&*txn)
        .await?
        .ok_or_else(|| corrupt("review order", review.order_id))?;
    record(
        &*txn,
        &subject(&current, current.version),
        actor,
        EventType::OrderReviewDecided,
        json!({"review_id": review_id, "stage": stage.as_str(), "decision": input.decision.as_str(),
               "reason_code": input.reason_code, "comment": input.comment, "decided_by": actor.sub}),
        at,
    )
    .await?;
    let status = OrderStatus::parse(&current.status)
        .ok_or_else(|| corrupt("order status", &current.status))?;
    match input.decision {
        Decision::Approve => advance(&*txn, db, review.order_id, actor, None).await?,
        Decision::Reject => {
            let next = status.apply(OrderAction::Reject)?;
            supersede_open(&*txn, review.order_id, at).await?;
            let version = set_status(&*txn, &current, next, |u| u).await?;
            record(
                &*txn,
                &subject(&current, version),
                actor,
                EventType::OrderRejected,
                json!({"number": current.number, "stage": stage.as_str(), "reason_code": input.reason_code,
                       "comment": input.comment, "contact": current.contact}),
                at,
            )
            .await?;
        }
        Decision::RequestChanges => {
            let next = status.apply(OrderAction::RequestInfo)?;
            supersede_open(&*txn, review.order_id, at).await?;
            let comment = input.comment.clone().unwrap_or_default();
            let finding = Finding::new("changes_requested", stage.as_str(), comment.clone());
            let version = set_status(&*txn, &current, next, |u| {
                u.col_expr(order::Column::Findings, Expr::val(json!([finding])))
                    .col_expr(
                        order::Column::PromisedDeliveryDate,
                        Expr::val(Option::<chrono::NaiveDate>::None),
                    )
            })
            .await?;
            record(
                &*txn,
                &subject(&current, version),
                actor,
                EventType::OrderInfoRequested,
                json!({"number": current.number, "customer_id": current.customer_id,
                       "findings": [finding], "requested_changes": comment, "stage": stage.as_str(),
                       "contact": current.contact, "external_ref": current.external_ref}),
                at,
            )
            .await?;
        }
    }
    let review = review_from_row(
        order_review::Entity::find_by_id(review_id)
            .one(&*txn)
            .await?
            .ok_or_else(|| corrupt("review", review_id))?,
    )?;
    let order = load_visible(&*txn, actor, review.order_id).await?;
    txn.commit().await?;
    db.wake_workers();
    Ok((review, order))
}

pub async fn get_review(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Review> {
    actor.require(Permission::ReviewRead)?;
    order_review::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .map(review_from_row)
        .transpose()?
        .ok_or_else(|| ServiceError::not_found("review", id))
}

#[derive(Clone, Debug, Default)]
pub struct ReviewFilter {
    pub stage: Option<ReviewStage>,
    pub status: Option<ReviewStatus>,
    pub order_id: Option<Uuid>,
}

/// Review queues: oldest first, so work is taken in the order it arrived.
pub async fn list_reviews(
    db: &Db,
    actor: &Actor,
    filter: ReviewFilter,
    page: PageRequest,
) -> ServiceResult<Page<Review>> {
    actor.require(Permission::ReviewRead)?;
    let mut condition = Condition::all();
    if let Some(stage) = filter.stage {
        condition = condition.add(order_review::Column::Stage.eq(stage.as_str()));
    }
    if let Some(status) = filter.status {
        condition = condition.add(order_review::Column::Status.eq(status.as_str()));
    }
    if let Some(order_id) = filter.order_id {
        condition = condition.add(order_review::Column::OrderId.eq(order_id));
    }
    let page = fetch_page(
        db.read(),
        order_review::Entity::find().filter(condition),
        order_review::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    let items = page
        .items
        .into_iter()
        .map(review_from_row)
        .collect::<ServiceResult<_>>()?;
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}

/// Every review of an order, all rounds, in order.
pub async fn order_reviews(db: &Db, actor: &Actor, order_id: Uuid) -> ServiceResult<Vec<Review>> {
    actor.require(Permission::ReviewRead)?;
    load_visible(db.read(), actor, order_id).await?;
    order_review::Entity::find()
        .filter(order_review::Column::OrderId.eq(order_id))
        .order_by_asc(order_review::Column::Round)
        .order_by_asc(order_review::Column::Position)
        .all(db.read())
        .await?
        .into_iter()
        .map(review_from_row)
        .collect()
}

fn review_from_row(row: order_review::Model) -> ServiceResult<Review> {
    Ok(Review {
        id: row.id,
        order_id: row.order_id,
        round: row.round,
        stage: ReviewStage::parse(&row.stage).ok_or_else(|| corrupt("review stage", &row.stage))?,
        status: ReviewStatus::parse(&row.status)
            .ok_or_else(|| corrupt("review status", &row.status))?,
        findings: serde_json::from_value(row.findings.clone())
            .map_err(|_| corrupt("findings", row.findings.to_string()))?,
        human_reasons: serde_json::from_value(row.human_reasons.clone())
            .map_err(|_| corrupt("reasons", row.human_reasons.to_string()))?,
        decision: match &row.decision {
            Some(d) => Some(Decision::parse(d).ok_or_else(|| corrupt("decision", d))?),
            None => None,
        },
        reason_code: row.reason_code,
        comment: row.comment,
        decided_by: row.decided_by,
        decided_at: row.decided_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> ServiceResult<Value> {
    serde_json::to_value(value).map_err(|e| ServiceError::Internal(e.into()))
}
