//! Outbound webhooks: subscriptions, the dispatcher that turns committed
//! events (the outbox) into deliveries, and the sender.
//!
//! Every delivery is a job of its own, so sends are shared by all worker
//! processes and a delivery held by a dead worker is retaken when its lease
//! runs out. A delivery's retries follow the Standard Webhooks schedule (see
//! [`crate::domain::webhook::RETRY_SCHEDULE`]); the sender refuses internal
//! addresses when it connects, not only when a URL is registered.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dingdan_integrations::webhooks::{Secret, Webhook};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _,
    ExprTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{
    customer, outbox, webhook_delivery, webhook_delivery_attempt, webhook_subscription,
};

use super::jobs::{self, JobKind};
use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, WebhookConfig};
use crate::domain::actor::{Actor, Permission};
use crate::domain::event::EventType;
use crate::domain::page::{Page, PageRequest};
use crate::domain::validation::Parse;
use crate::domain::webhook::{
    Attempt, Delivery, DeliveryFilter, DeliveryStatus, NewSubscription, Subscription,
    SubscriptionPatch, SubscriptionWithSecret, forbidden_address, next_retry,
};

/// Events fanned out per dispatcher transaction.
const DISPATCH_BATCH: u64 = 200;
/// Delivery rows per insert statement.
const INSERT_CHUNK: usize = 1000;
/// How much of a receiver's answer the attempt log keeps.
const EXCERPT_CHARS: usize = 1024;
/// How much of a receiver's answer is read at all.
const READ_LIMIT: usize = 16 * 1024;

fn to_domain(row: webhook_subscription::Model) -> Subscription {
    Subscription {
        id: row.id,
        url: row.url,
        event_types: serde_json::from_value(row.event_types).unwrap_or_default(),
        customer_id: row.customer_id,
        description: row.description,
        active: row.active,
        disabled_reason: row.disabled_reason,
        previous_secret_expires_at: row.previous_secret_expires_at,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn find_subscription<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
) -> ServiceResult<webhook_subscription::Model> {
    webhook_subscription::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("webhook subscription", id))
}

/// Refuses a URL this server may not call: wrong scheme, or an internal
/// address written into it. Hostnames are judged again when connecting.
fn check_url(config: &WebhookConfig, url: &str) -> ServiceResult<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ServiceError::invalid("url", "invalid_url", format!("not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if config.allow_http => {}
        "http" => {
            return Err(ServiceError::invalid(
                "url",
                "insecure_url",
                "must be https (plain http is accepted only when DINGDAN_WEBHOOK_ALLOW_HTTP=true)",
            ));
        }
        other => {
            return Err(ServiceError::invalid(
                "url",
                "invalid_url",
                format!("the scheme must be https, not {other:?}"),
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ServiceError::invalid(
            "url",
            "invalid_url",
            "must not carry credentials: receivers verify the signature instead",
        ));
    }
    if let Some(ip) = literal_ip(&parsed)
        && let Err(reason) = permitted(config, ip)
    {
        return Err(ServiceError::invalid(
            "url",
            "forbidden_address",
            format!("{ip} is {reason}: webhooks may not call it"),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ServiceError::invalid("url", "invalid_url", "has no host"));
    }
    Ok(())
}

/// Whether `allowed` names `ip` (an IPv4-mapped IPv6 address by its IPv4).
pub(crate) fn listed_in(allowed: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let mapped = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
        IpAddr::V4(_) => None,
    };
    let listed = |ip: IpAddr| allowed.iter().any(|net| net.contains(&ip));
    listed(ip) || mapped.is_some_and(listed)
}

pub(crate) fn literal_ip(url: &reqwest::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Whether the sender may connect to `ip`: a public address, or one the
/// allow-list names.
fn permitted(config: &WebhookConfig, ip: IpAddr) -> Result<(), &'static str> {
    permitted_in(&config.allowed_networks, ip)
}

/// Whether `ip` may be called: a public address, or one in `allowed`.
pub(crate) fn permitted_in(allowed: &[ipnet::IpNet], ip: IpAddr) -> Result<(), &'static str> {
    if listed_in(allowed, ip) {
        return Ok(());
    }
    match forbidden_address(ip) {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

fn check_customer_scope(actor: &Actor) -> ServiceResult<()> {
    if actor.is_partner() {
        return Err(ServiceError::Forbidden(
            "a token scoped to one customer cannot manage webhooks".to_owned(),
        ));
    }
    Ok(())
}

pub async fn create_subscription(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewSubscription>,
) -> ServiceResult<SubscriptionWithSecret> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let input = input.parse().map_err(ServiceError::Validation)?;
    check_url(&db.config().webhooks, &input.url)?;
    let secret = Secret::generate().to_string();
    let at = super::now();
    let txn = db.write().await?;
    if let Some(customer_id) = input.customer_id
        && customer::Entity::find_by_id(customer_id)
            .one(&*txn)
            .await?
            .is_none()
    {
        return Err(ServiceError::invalid(
            "customer_id",
            "unknown_customer",
            format!("no customer with id {customer_id}"),
        ));
    }
    let row = webhook_subscription::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(input.url),
        event_types: Set(json!(input.event_types)),
        customer_id: Set(input.customer_id),
        description: Set(input.description),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_expires_at: Set(None),
        active: Set(input.active),
        disabled_reason: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let row = webhook_subscription::Entity::insert(row)
        .exec_with_returning(&*txn)
        .await?;
    txn.commit().await?;
    tracing::info!(subscription = %row.id, url = %row.url, actor = %actor.sub, "webhook subscription created");
    Ok(SubscriptionWithSecret {
        subscription: to_domain(row),
        secret,
    })
}

pub async fn get_subscription(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Subscription> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    Ok(to_domain(find_subscription(db.read(), id).await?))
}

/// Subscriptions, oldest first.
pub async fn list_subscriptions(
    db: &Db,
    actor: &Actor,
    page: PageRequest,
) -> ServiceResult<Page<Subscription>> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let page = fetch_page(
        db.read(),
        webhook_subscription::Entity::find(),
        webhook_subscription::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    Ok(Page {
        items: page.items.into_iter().map(to_domain).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Changes a subscription. Turning it active again clears why it was disabled.
pub async fn update_subscription(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<SubscriptionPatch>,
) -> ServiceResult<Subscription> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let patch = patch.parse().map_err(ServiceError::Validation)?;
    if let Some(url) = &patch.url {
        check_url(&db.config().webhooks, url)?;
    }
    let txn = db.write().await?;
    let current = find_subscription(&*txn, id).await?;
    let mut row: webhook_subscription::ActiveModel = current.clone().into();
    if let Some(url) = patch.url {
        row.url = Set(url);
    }
    if let Some(types) = patch.event_types {
        row.event_types = Set(json!(types));
    }
    if let Some(description) = patch.description {
        row.description = Set(description);
    }
    if let Some(active) = patch.active {
        row.active = Set(active);
        if active {
            row.disabled_reason = Set(None);
        } else if current.active {
            row.disabled_reason = Set(Some(format!("disabled by {}", actor.sub)));
        }
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(super::now());
    let row = webhook_subscription::Entity::update(row)
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(to_domain(row))
}

/// Deletes a subscription with its deliveries and their log.
pub async fn delete_subscription(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let txn = db.write().await?;
    let deleted = webhook_subscription::Entity::delete_by_id(id)
        .exec(&*txn)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::not_found("webhook subscription", id));
    }
    txn.commit().await?;
    Ok(())
}

/// A new secret, returned once; the old one keeps signing beside it for the
/// configured overlap so receivers can switch without missing a message.
/// While an overlap lasts, rotating again is refused (409): it would end the
/// promised overlap of the secret before. A leaked secret is revoked at once
/// by deleting the subscription and creating a new one.
pub async fn rotate_secret(
    db: &Db,
    actor: &Actor,
    id: Uuid,
) -> ServiceResult<SubscriptionWithSecret> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let secret = Secret::generate().to_string();
    let at = db.now();
    let overlap = chrono::Duration::from_std(db.config().webhooks.secret_overlap)
        .unwrap_or_else(|_| chrono::Duration::hours(24));
    let txn = db.write().await?;
    let current = find_subscription(&*txn, id).await?;
    if let Some(until) = current.previous_secret_expires_at
        && current.previous_secret.is_some()
        && until > at
    {
        return Err(ServiceError::Conflict {
            code: "rotation_in_progress",
            message: format!(
                "the secret before the last rotation stays valid until {}; rotating again now \
                 would cut that overlap short. Rotate after it, or delete and re-create the \
                 subscription to revoke every secret at once",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            existing_id: Some(id),
        });
    }
    let mut row: webhook_subscription::ActiveModel = current.clone().into();
    row.previous_secret = Set(Some(current.secret));
    row.previous_secret_expires_at = Set(Some(at + overlap));
    row.secret = Set(secret.clone());
    row.version = Set(current.version + 1);
    row.updated_at = Set(at);
    let row = webhook_subscription::Entity::update(row)
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    tracing::info!(subscription = %id, actor = %actor.sub, "webhook secret rotated");
    Ok(SubscriptionWithSecret {
        subscription: to_domain(row),
        secret,
    })
}

fn delivery_to_domain(row: webhook_delivery::Model, attempt_log: Vec<Attempt>) -> Delivery {
    Delivery {
        id: row.id,
        subscription_id: row.subscription_id,
        event_id: row.event_id,
        event_type: row.event_type,
        status: DeliveryStatus::parse(&row.status).unwrap_or(DeliveryStatus::Pending),
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_status_code: row.last_status_code,
        last_error: row.last_error,
        created_at: row.created_at,
        finished_at: row.finished_at,
        payload: serde_json::from_str(&row.body).unwrap_or(Value::Null),
        attempt_log,
    }
}

/// Deliveries, newest first.
pub async fn list_deliveries(
    db: &Db,
    actor: &Actor,
    filter: DeliveryFilter,
    page: PageRequest,
) -> ServiceResult<Page<Delivery>> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let mut condition = Condition::all();
    if let Some(id) = filter.subscription_id {
        condition = condition.add(webhook_delivery::Column::SubscriptionId.eq(id));
    }
    if let Some(status) = filter.status {
        condition = condition.add(webhook_delivery::Column::Status.eq(status.as_str()));
    }
    if let Some(id) = filter.event_id {
        condition = condition.add(webhook_delivery::Column::EventId.eq(id));
    }
    let page = fetch_page(
        db.read(),
        webhook_delivery::Entity::find().filter(condition),
        webhook_delivery::Column::Id,
        page,
        true,
        |row| row.id,
    )
    .await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|row| delivery_to_domain(row, Vec::new()))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

/// One delivery with every attempt made, oldest first.
pub async fn get_delivery(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Delivery> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    load_delivery(db.read(), id).await
}

async fn load_delivery<C: ConnectionTrait>(conn: &C, id: Uuid) -> ServiceResult<Delivery> {
    let row = webhook_delivery::Entity::find_by_id(id)
        .one(conn)
        .await?
        .ok_or_else(|| ServiceError::not_found("webhook delivery", id))?;
    let attempts = webhook_delivery_attempt::Entity::find()
        .filter(webhook_delivery_attempt::Column::DeliveryId.eq(id))
        .order_by_asc(webhook_delivery_attempt::Column::StartedAt)
        .order_by_asc(webhook_delivery_attempt::Column::Attempt)
        .all(conn)
        .await?
        .into_iter()
        .map(|a| Attempt {
            attempt: a.attempt,
            replay: a.replay,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error: a.error,
            response_excerpt: a.response_excerpt,
        })
        .collect();
    Ok(delivery_to_domain(row, attempts))
}

/// Sends a finished delivery again, once, with the same `webhook-id` (and
/// the same body). A delivery still being retried cannot be replayed: its
/// next attempt is already scheduled.
pub async fn replay_delivery(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<Delivery> {
    actor.require(Permission::WebhookManage)?;
    check_customer_scope(actor)?;
    let at = db.now();
    let txn = db.write().await?;
    let row = webhook_delivery::Entity::find_by_id(id)
        .one(&*txn)
        .await?
        .ok_or_else(|| ServiceError::not_found("webhook delivery", id))?;
    if row.status == DeliveryStatus::Pending.as_str() {
        return Err(ServiceError::Conflict {
            code: "delivery_pending",
            message: "the delivery is still being retried; its next attempt is already scheduled"
                .to_owned(),
            existing_id: None,
        });
    }
    let subscription = find_subscription(&*txn, row.subscription_id).await?;
    if !subscription.active {
        return Err(ServiceError::Conflict {
            code: "subscription_inactive",
            message: "the subscription is disabled: activate it before replaying".to_owned(),
            existing_id: Some(subscription.id),
        });
    }
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::val("pending"))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::val(at))
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::val(at))
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(&*txn)
        .await?;
    jobs::enqueue(
        &*txn,
        JobKind::DeliverWebhook,
        json!({"delivery_id": id, "replay": true, "replay_of": row.status}),
        Some(&format!("webhook:{id}")),
        at,
    )
    .await?;
    let delivery = load_delivery(&*txn, id).await?;
    txn.commit().await?;
    db.wake_workers();
    tracing::info!(delivery = %id, actor = %actor.sub, "webhook delivery replay requested");
    Ok(delivery)
}

/// Events committed but not yet fanned out (for `settle` in tests and for
/// operators).
pub async fn undispatched(db: &Db) -> ServiceResult<u64> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::DispatchedAt.is_null())
        .count(db.read())
        .await?)
}

/// Turns committed events into deliveries, one per matching active
/// subscription, each queued as a job (and, with SMTP configured, queues the
/// email of each customer-facing event that has a recipient address). Events are claimed with `SKIP LOCKED`
/// on PostgreSQL, so several workers share the work and none fans an event
/// out twice; the `(subscription, event)` unique index is the backstop.
pub async fn dispatch(db: &Db) -> ServiceResult<usize> {
    let mut dispatched = 0;
    loop {
        // A read first: an idle outbox costs no write transaction.
        let waiting = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .filter(outbox::Column::DispatchedAt.is_null())
            .limit(1)
            .into_tuple::<Uuid>()
            .one(db.read())
            .await?;
        if waiting.is_none() {
            return Ok(dispatched);
        }
        let at = db.now();
        let txn = db.write().await?;
        let events = outbox::Entity::find()
            .filter(outbox::Column::DispatchedAt.is_null())
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .limit(DISPATCH_BATCH)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .all(&*txn)
            .await?;
        if events.is_empty() {
            // Another worker holds them.
            return Ok(dispatched);
        }
        let subscriptions: Vec<Subscription> = webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Active.eq(true))
            .all(&*txn)
            .await?
            .into_iter()
            .map(to_domain)
            .collect();
        let mut deliveries = Vec::new();
        for event in &events {
            for subscription in &subscriptions {
                // A customer's scope sees what a partner token sees: no
                // staff-only events (review internals, transfers).
                let in_scope = match subscription.customer_id {
                    None => true,
                    Some(id) => {
                        event.customer_id == Some(id)
                            && EventType::parse(&event.event_type).is_some_and(|t| !t.staff_only())
                    }
                };
                if in_scope
                    && crate::domain::webhook::matches(&subscription.event_types, &event.event_type)
                {
                    deliveries.push(webhook_delivery::ActiveModel {
                        id: Set(Uuid::now_v7()),
                        subscription_id: Set(subscription.id),
                        event_id: Set(event.id),
                        event_type: Set(event.event_type.clone()),
                        body: Set(event.payload.to_string()),
                        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
                        attempts: Set(0),
                        next_attempt_at: Set(Some(at)),
                        last_status_code: Set(None),
                        last_error: Set(None),
                        created_at: Set(at),
                        updated_at: Set(at),
                        finished_at: Set(None),
                    });
                }
            }
        }
        for event in &events {
            if super::notifications::wants_email(db, &event.payload) {
                jobs::enqueue(
                    &*txn,
                    JobKind::SendEmail,
                    json!({"event_id": event.id}),
                    Some(&format!("email:{}", event.id)),
                    at,
                )
                .await?;
            }
        }
        let ids: Vec<Uuid> = events.iter().map(|e| e.id).collect();
        let batch_full = events.len() as u64 == DISPATCH_BATCH;
        for delivery in &deliveries {
            let id = delivery.id.clone().unwrap();
            jobs::enqueue(
                &*txn,
                JobKind::DeliverWebhook,
                json!({"delivery_id": id}),
                Some(&format!("webhook:{id}")),
                at,
            )
            .await?;
        }
        dispatched += deliveries.len();
        // Chunks keep each statement far below PostgreSQL's 65,535 binds
        // (13 per row), however many subscriptions an event matches.
        for chunk in deliveries.chunks(INSERT_CHUNK) {
            webhook_delivery::Entity::insert_many(chunk.to_vec())
                .on_conflict(
                    OnConflict::columns([
                        webhook_delivery::Column::SubscriptionId,
                        webhook_delivery::Column::EventId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .try_insert()
                .exec_without_returning(&*txn)
                .await?;
        }
        outbox::Entity::update_many()
            .col_expr(outbox::Column::DispatchedAt, Expr::val(at))
            .filter(outbox::Column::Id.is_in(ids))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        db.wake_workers();
        if !batch_full {
            return Ok(dispatched);
        }
    }
}

/// What one HTTP attempt came to.
struct Sent {
    status: Option<u16>,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<Duration>,
    elapsed: Duration,
}

/// Sends one delivery (the job's work) and records the attempt: success,
/// 410 (the subscription is disabled), a retry on the schedule, or the dead
/// letter after the last attempt. A replay is one attempt outside the
/// schedule.
pub(crate) async fn deliver(
    db: &Db,
    id: Uuid,
    replay: Option<DeliveryStatus>,
) -> anyhow::Result<()> {
    let Some(delivery) = webhook_delivery::Entity::find_by_id(id)
        .one(db.read())
        .await?
    else {
        return Ok(()); // Deleted with its subscription.
    };
    if delivery.status != DeliveryStatus::Pending.as_str() {
        return Ok(());
    }
    let subscription = webhook_subscription::Entity::find_by_id(delivery.subscription_id)
        .one(db.read())
        .await?;
    let Some(subscription) = subscription.filter(|s| s.active) else {
        finish(
            db,
            &delivery,
            DeliveryStatus::Failed,
            None,
            Some("the subscription is disabled".to_owned()),
        )
        .await?;
        return Ok(());
    };
    let started_at = db.now();
    let sent = send(db, &subscription, &delivery, started_at).await;
    let attempt = delivery.attempts + 1;
    let outcome_code = sent.status.map(i32::from);
    let at = db.now();
    let txn = db.write().await?;
    // Only the holder of the current attempt count records: a duplicate run
    // (a retaken job whose first worker was only slow) changes nothing.
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::val(attempt))
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::val(outcome_code),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::val(sent.error.clone()),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::val(at))
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Attempts.eq(delivery.attempts))
        .filter(webhook_delivery::Column::Status.eq("pending"));
    let success = sent.status.is_some_and(|s| (200..300).contains(&s));
    let gone = sent.status == Some(410);
    let retry = if success || gone || replay.is_some() {
        None
    } else {
        next_retry(attempt, rand::random::<f64>(), sent.retry_after)
    };
    let (status, next) = match (success, gone, retry) {
        (true, _, _) => (DeliveryStatus::Succeeded, None),
        (_, true, _) => (DeliveryStatus::Failed, None),
        (_, _, Some(wait)) => (
            DeliveryStatus::Pending,
            Some(at + chrono::Duration::from_std(wait).unwrap_or_default()),
        ),
        // A failed replay leaves the delivery as it was before: a delivery
        // that once succeeded was received, whatever the replay met.
        _ => (replay.unwrap_or(DeliveryStatus::Dead), None),
    };
    update = update
        .col_expr(webhook_delivery::Column::Status, Expr::val(status.as_str()))
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::val(next))
        .col_expr(
            webhook_delivery::Column::FinishedAt,
            Expr::val((status != DeliveryStatus::Pending).then_some(at)),
        );
    if update.exec(&*txn).await?.rows_affected == 0 {
        return Ok(());
    }
    webhook_delivery_attempt::Entity::insert(webhook_delivery_attempt::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(id),
        attempt: Set(attempt),
        replay: Set(replay.is_some()),
        started_at: Set(started_at),
        duration_ms: Set(i32::try_from(sent.elapsed.as_millis()).unwrap_or(i32::MAX)),
        status_code: Set(outcome_code),
        error: Set(sent.error.clone()),
        response_excerpt: Set(sent.excerpt),
    })
    .exec_without_returning(&*txn)
    .await?;
    if let Some(next) = next {
        jobs::enqueue(
            &*txn,
            JobKind::DeliverWebhook,
            json!({"delivery_id": id}),
            Some(&format!("webhook:{id}")),
            next,
        )
        .await?;
    }
    if gone {
        webhook_subscription::Entity::update_many()
            .col_expr(webhook_subscription::Column::Active, Expr::val(false))
            .col_expr(
                webhook_subscription::Column::DisabledReason,
                Expr::val(format!(
                    "the endpoint answered 410 Gone at {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )),
            )
            .col_expr(
                webhook_subscription::Column::Version,
                Expr::col(webhook_subscription::Column::Version).add(1),
            )
            .col_expr(webhook_subscription::Column::UpdatedAt, Expr::val(at))
            .filter(webhook_subscription::Column::Id.eq(subscription.id))
            .exec(&*txn)
            .await?;
        tracing::warn!(subscription = %subscription.id, url = %subscription.url,
                       "webhook endpoint answered 410 Gone: subscription disabled");
    }
    txn.commit().await?;
    db.wake_workers();
    match status {
        DeliveryStatus::Dead => tracing::warn!(delivery = %id, attempts = attempt,
            error = ?sent.error, status = ?sent.status, "webhook delivery dead-lettered"),
        DeliveryStatus::Pending => tracing::info!(delivery = %id, attempt,
            error = ?sent.error, status = ?sent.status, next = ?next, "webhook delivery will be retried"),
        _ => {}
    }
    Ok(())
}

/// The delivery's job failed for good (its workers kept dying or the
/// database kept failing): the delivery is dead-lettered, so it can be
/// replayed, instead of staying pending with nothing behind it. On the
/// transaction that fails the job.
pub(crate) async fn abandon<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    error: &str,
) -> Result<(), sea_orm::DbErr> {
    let at = super::now();
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::val(DeliveryStatus::Dead.as_str()),
        )
        .col_expr(
            webhook_delivery::Column::LastError,
            Expr::val(error.to_owned()),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::val(at))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::val(at))
        .filter(webhook_delivery::Column::Id.eq(id))
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .exec(conn)
        .await?;
    Ok(())
}

async fn finish(
    db: &Db,
    delivery: &webhook_delivery::Model,
    status: DeliveryStatus,
    code: Option<i32>,
    error: Option<String>,
) -> ServiceResult<()> {
    let at = db.now();
    let txn = db.write().await?;
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::val(status.as_str()))
        .col_expr(webhook_delivery::Column::LastStatusCode, Expr::val(code))
        .col_expr(webhook_delivery::Column::LastError, Expr::val(error))
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::FinishedAt, Expr::val(at))
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::val(at))
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::Status.eq("pending"))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The signing keys in force: the current secret, and the previous one
/// while its overlap lasts.
fn signer(
    subscription: &webhook_subscription::Model,
    at: DateTime<Utc>,
) -> anyhow::Result<Webhook> {
    let mut secrets = vec![Secret::parse(&subscription.secret)?];
    if let (Some(previous), Some(until)) = (
        &subscription.previous_secret,
        subscription.previous_secret_expires_at,
    ) && until > at
    {
        secrets.push(Secret::parse(previous)?);
    }
    Ok(Webhook::new(secrets))
}

async fn send(
    db: &Db,
    subscription: &webhook_subscription::Model,
    delivery: &webhook_delivery::Model,
    at: DateTime<Utc>,
) -> Sent {
    let began = Instant::now();
    let failed = |error: String| Sent {
        status: None,
        error: Some(error),
        excerpt: None,
        retry_after: None,
        elapsed: began.elapsed(),
    };
    let config = &db.config().webhooks;
    // The address written into the URL, judged now (the configuration may
    // have changed since it was registered); hostnames are judged by the
    // resolver as the connection is made.
    let url = match reqwest::Url::parse(&subscription.url) {
        Ok(url) => url,
        Err(e) => return failed(format!("the subscription's URL is invalid: {e}")),
    };
    if url.scheme() == "http" && !config.allow_http {
        return failed("plain http is not allowed (DINGDAN_WEBHOOK_ALLOW_HTTP)".to_owned());
    }
    if let Some(ip) = literal_ip(&url)
        && let Err(reason) = permitted(config, ip)
    {
        tracing::warn!(subscription = %subscription.id, %ip, reason, "webhook to a forbidden address refused");
        return failed(format!("refused: {ip} is {reason}"));
    }
    let signer = match signer(subscription, at) {
        Ok(signer) => signer,
        Err(e) => return failed(format!("the subscription's secret is unusable: {e}")),
    };
    let msg_id = delivery.event_id.to_string();
    // The wall clock, whatever a test did to the scheduling clock: receivers
    // check it against theirs.
    let timestamp = super::now().timestamp();
    let signature = signer.signature_header(&msg_id, timestamp, delivery.body.as_bytes());
    let Some(client) = client(db) else {
        return failed("the webhook client could not be built (see the server log)".to_owned());
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(delivery.body.clone());
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            if text.contains("webhooks may not call") {
                tracing::warn!(subscription = %subscription.id, error = %text,
                               "webhook to a forbidden address refused");
            }
            return failed(text);
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, at));
    let mut body = Vec::new();
    while body.len() < READ_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let excerpt: String = String::from_utf8_lossy(&body)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    Sent {
        status: Some(status),
        error: (!(200..300).contains(&status)).then(|| format!("the receiver answered {status}")),
        excerpt: (!excerpt.is_empty()).then_some(excerpt),
        retry_after,
        elapsed: began.elapsed(),
    }
}

/// `Retry-After`: seconds, or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value.trim()).ok()?;
    (at.with_timezone(&Utc) - now).to_std().ok()
}

/// The guarded client; `None` when it cannot be built (never a fallback
/// without the guard).
fn client(db: &Db) -> Option<&reqwest::Client> {
    if let Some(client) = db.webhook_client.get() {
        return Some(client);
    }
    let config = db.config().webhooks.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let built = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("Dingdan-Webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allowed: Arc::new(config.allowed_networks.clone()),
            caller: "webhooks",
        }))
        .build();
    match built {
        Ok(client) => Some(db.webhook_client.get_or_init(|| client)),
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client");
            None
        }
    }
}

/// Resolves names and hands the connector only the addresses its caller
/// (webhooks, marketplace connectors) may call: the SSRF guard at connect
/// time (a name that resolved to a public address at registration may point
/// inside later).
pub(crate) struct GuardedResolver {
    /// Internal networks that may be called all the same.
    pub(crate) allowed: Arc<Vec<ipnet::IpNet>>,
    /// Who is refused, for the error.
    pub(crate) caller: &'static str,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        let caller = self.caller;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| match permitted_in(&allowed, addr.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert((addr.ip(), reason));
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let detail = match refused {
                    Some((ip, reason)) => format!("{host} resolves to {ip}, {reason}"),
                    None => format!("{host} resolves to no address"),
                };
                return Err(format!("{detail}: {caller} may not call it").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Fri, 27 Nov 2026 10:05:00 GMT", now),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn the_allow_list_opens_only_what_it_names() {
        let mut config = WebhookConfig::default();
        assert!(permitted(&config, "127.0.0.1".parse().unwrap()).is_err());
        config.allowed_networks = vec!["127.0.0.1/32".parse().unwrap()];
        assert!(permitted(&config, "127.0.0.1".parse().unwrap()).is_ok());
        assert!(permitted(&config, "::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(permitted(&config, "127.0.0.2".parse().unwrap()).is_err());
        assert!(permitted(&config, "::1".parse().unwrap()).is_err());
        assert!(permitted(&config, "8.8.8.8".parse().unwrap()).is_ok());
    }
}
