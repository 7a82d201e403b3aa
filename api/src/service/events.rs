//! Writing events: every state change records its timeline entry, and (for
//! published types) its outbox row, on the caller's transaction — a change
//! without its event cannot commit.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ConnectionTrait};
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
    let id = Uuid::now_v7();
    if subject.kind == "order" {
        order_event::ActiveModel {
            id: Set(id),
            order_id: Set(subject.id),
            event_type: Set(event.as_str().to_owned()),
            actor_sub: Set(actor.sub.clone()),
            actor_roles: Set(json!(actor.role_names())),
            channel: Set(subject.channel.map(str::to_owned)),
            data: Set(data.clone()),
            at: Set(at),
        }
        .insert(conn)
        .await?;
    }
    if event.published() {
        let payload = json!({
            "id": id,
            "type": event.as_str(),
            "schema_version": SCHEMA_VERSION,
            "occurred_at": at,
            "resource": {
                "type": subject.kind,
                "id": subject.id,
                "version": subject.version,
                "customer_id": subject.customer_id,
            },
            "actor": {"sub": actor.sub, "roles": actor.role_names()},
            "data": data,
        });
        outbox::ActiveModel {
            id: Set(id),
            event_type: Set(event.as_str().to_owned()),
            aggregate_type: Set(subject.kind.to_owned()),
            aggregate_id: Set(subject.id),
            aggregate_version: Set(subject.version),
            customer_id: Set(subject.customer_id),
            payload: Set(payload),
            created_at: Set(at),
        }
        .insert(conn)
        .await?;
    }
    Ok(id)
}
