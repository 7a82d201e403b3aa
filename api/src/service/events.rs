//! Writing events: every state change records its timeline entry, and (for
//! published types) its outbox row, on the caller's transaction — a change
//! without its event cannot commit.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait as _};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{order_event, outbox};

use super::ServiceResult;
use crate::domain::actor::Actor;
use crate::domain::event::{EventType, SCHEMA_VERSION};

/// The resource an event is about.
pub(crate) struct Subject<'a> {
    pub kind: &'static str,
    pub id: Uuid,
    /// Its version after the change, so receivers can drop stale events.
    pub version: i32,
    pub customer_id: Option<Uuid>,
    pub channel: Option<&'a str>,
}

/// Records `event`: on the order's timeline (for orders), and in the outbox
/// when the type is published. Both rows share the event's id.
pub(crate) async fn record<C: ConnectionTrait>(
    conn: &C,
    subject: &Subject<'_>,
    actor: &Actor,
    event: EventType,
    data: Value,
    at: DateTime<Utc>,
) -> ServiceResult<Uuid> {
    let mut batch = EventBatch::default();
    let id = batch.push(subject, actor, event, data, at);
    batch.flush(conn).await?;
    Ok(id)
}

/// Events gathered while a change runs and written together: one statement
/// for the timeline and one for the outbox, however many events. Ids are
/// taken when an event is pushed, so the timeline keeps their order.
#[derive(Default)]
pub(crate) struct EventBatch {
    pending: Vec<Pending>,
}

struct Pending {
    id: Uuid,
    kind: &'static str,
    subject_id: Uuid,
    version: i32,
    customer_id: Option<Uuid>,
    channel: Option<String>,
    actor_sub: String,
    actor_roles: Vec<&'static str>,
    event: EventType,
    data: Value,
    at: DateTime<Utc>,
}

impl EventBatch {
    pub(crate) fn push(
        &mut self,
        subject: &Subject<'_>,
        actor: &Actor,
        event: EventType,
        data: Value,
        at: DateTime<Utc>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        self.pending.push(Pending {
            id,
            kind: subject.kind,
            subject_id: subject.id,
            version: subject.version,
            customer_id: subject.customer_id,
            channel: subject.channel.map(str::to_owned),
            actor_sub: actor.sub.clone(),
            actor_roles: actor.role_names(),
            event,
            data,
            at,
        });
        id
    }

    /// An order confirmed in this transaction takes its number last (the
    /// counter stays locked until commit, so it is held briefly): its events
    /// pushed before that get the number here.
    pub(crate) fn fill_order_number(&mut self, order_id: Uuid, number: &str) {
        for event in self
            .pending
            .iter_mut()
            .filter(|e| e.kind == "order" && e.subject_id == order_id)
        {
            if let Some(slot) = event.data.get_mut("number")
                && slot.is_null()
            {
                *slot = Value::String(number.to_owned());
            }
        }
    }

    /// Writes what was pushed, on the caller's transaction.
    pub(crate) async fn flush<C: ConnectionTrait>(&mut self, conn: &C) -> ServiceResult<()> {
        let mut timeline = Vec::new();
        let mut published = Vec::new();
        for e in std::mem::take(&mut self.pending) {
            if e.event.published() {
                let mut payload = json!({
                    "id": e.id,
                    "type": e.event.as_str(),
                    "schema_version": SCHEMA_VERSION,
                    "occurred_at": e.at,
                    "resource": {
                        "type": e.kind,
                        "id": e.subject_id,
                        "version": e.version,
                        "customer_id": e.customer_id,
                    },
                    "actor": {"sub": e.actor_sub, "roles": e.actor_roles},
                    "data": e.data,
                });
                if let Some(template) = e.event.notification_template() {
                    let contact = e.data.get("contact").cloned().unwrap_or_default();
                    let field = |name: &str| contact.get(name).cloned().unwrap_or_default();
                    payload["notification"] = json!({
                        "template": template,
                        "recipient": {
                            "customer_id": e.customer_id,
                            "name": field("name"),
                            "email": field("email"),
                            "phone": field("phone"),
                        },
                        "data": e.data,
                    });
                }
                published.push(outbox::ActiveModel {
                    id: Set(e.id),
                    event_type: Set(e.event.as_str().to_owned()),
                    aggregate_type: Set(e.kind.to_owned()),
                    aggregate_id: Set(e.subject_id),
                    aggregate_version: Set(e.version),
                    customer_id: Set(e.customer_id),
                    payload: Set(payload),
                    created_at: Set(e.at),
                    dispatched_at: Set(None),
                });
            }
            // A shipment's events are on its order's timeline too.
            let on_timeline = match e.kind {
                "order" => Some(e.subject_id),
                "shipment" => e
                    .data
                    .get("order_id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok()),
                _ => None,
            };
            if let Some(order_id) = on_timeline {
                timeline.push(order_event::ActiveModel {
                    id: Set(e.id),
                    order_id: Set(order_id),
                    event_type: Set(e.event.as_str().to_owned()),
                    actor_sub: Set(e.actor_sub),
                    actor_roles: Set(json!(e.actor_roles)),
                    channel: Set(e.channel),
                    data: Set(e.data),
                    at: Set(e.at),
                });
            }
        }
        if !timeline.is_empty() {
            order_event::Entity::insert_many(timeline)
                .exec_without_returning(conn)
                .await?;
        }
        if !published.is_empty() {
            super::jobs::note_work();
            outbox::Entity::insert_many(published)
                .exec_without_returning(conn)
                .await?;
        }
        Ok(())
    }
}
