//! Webhook subscriptions, deliveries and the event catalog on the wire.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::event::{EventType, SCHEMA_VERSION};
use crate::domain::validation::{FieldError, Parse, Violations, optional_text};
use crate::domain::webhook::{self as domain, NewSubscription, SubscriptionPatch, valid_pattern};

/// At most this many patterns on one subscription.
const MAX_PATTERNS: usize = 50;

#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "WebhookSubscriptionInput")]
pub struct SubscriptionInput {
    /// Where events are POSTed: `https://…` (plain http only when the
    /// server allows it). Internal addresses are refused.
    #[schema(example = "https://erp.example.com/hooks/dingdan")]
    pub url: String,
    /// Event types or patterns: `order.allocated`, `order.*`, `*`
    /// (`GET /api/v1/events/types` lists them).
    #[schema(example = json!(["order.*"]))]
    pub event_types: Vec<String>,
    /// Only this customer's events.
    pub customer_id: Option<Uuid>,
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

fn patterns(path: &str, types: &[String], errors: &mut Violations) -> Vec<String> {
    if types.is_empty() || types.len() > MAX_PATTERNS {
        errors.push(
            path,
            "out_of_range",
            format!("1 to {MAX_PATTERNS} event types or patterns"),
        );
    }
    for (i, pattern) in types.iter().enumerate() {
        if !valid_pattern(pattern) {
            errors.push(
                format!("{path}[{i}]"),
                "unknown_event_type",
                format!("{pattern:?} is neither a published event type, `<resource>.*`, nor `*`"),
            );
        }
    }
    let mut unique = types.to_vec();
    unique.sort();
    unique.dedup();
    unique
}

fn url(path: &str, value: &str, errors: &mut Violations) -> Option<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.len() > 2000 {
        errors.push(path, "invalid_url", "1 to 2000 characters");
        return None;
    }
    Some(trimmed.to_owned())
}

impl Parse<NewSubscription> for SubscriptionInput {
    fn parse(self) -> Result<NewSubscription, Vec<FieldError>> {
        let mut errors = Violations::new();
        let url = url("url", &self.url, &mut errors);
        let event_types = patterns("event_types", &self.event_types, &mut errors);
        let description = errors.take(optional_text(
            "description",
            self.description.as_deref(),
            500,
        ));
        errors.finish(|| {
            Some(NewSubscription {
                url: url?,
                event_types,
                customer_id: self.customer_id,
                description: description?,
                active: self.active.unwrap_or(true),
            })
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
#[graphql(name = "WebhookSubscriptionPatch")]
pub struct SubscriptionPatchInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// An empty string clears it.
    pub description: Option<String>,
    /// `true` re-enables a subscription disabled by a 410 or by hand.
    pub active: Option<bool>,
}

impl Parse<SubscriptionPatch> for SubscriptionPatchInput {
    fn parse(self) -> Result<SubscriptionPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let url = self.url.as_deref().map(|u| url("url", u, &mut errors));
        let event_types = self
            .event_types
            .as_deref()
            .map(|types| patterns("event_types", types, &mut errors));
        let description = self
            .description
            .as_deref()
            .map(|d| errors.take(optional_text("description", Some(d), 500)));
        errors.finish(|| {
            Some(SubscriptionPatch {
                url: match url {
                    Some(u) => Some(u?),
                    None => None,
                },
                event_types,
                description: match description {
                    Some(d) => Some(d?),
                    None => None,
                },
                active: self.active,
            })
        })
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookSubscription")]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub event_types: Vec<String>,
    pub customer_id: Option<Uuid>,
    pub description: Option<String>,
    pub active: bool,
    /// Why it stopped: `the endpoint answered 410 Gone at …`, or who disabled it.
    pub disabled_reason: Option<String>,
    /// Until when the secret replaced by the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Subscription> for Subscription {
    fn from(s: domain::Subscription) -> Self {
        Self {
            id: s.id,
            url: s.url,
            event_types: s.event_types,
            customer_id: s.customer_id,
            description: s.description,
            active: s.active,
            disabled_reason: s.disabled_reason,
            previous_secret_expires_at: s.previous_secret_expires_at,
            version: s.version,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A subscription with its signing secret: shown once, at creation and at
/// each rotation. Keep it; it cannot be read again.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookSubscriptionWithSecret")]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    #[graphql(flatten)]
    pub subscription: Subscription,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

impl From<domain::SubscriptionWithSecret> for SubscriptionWithSecret {
    fn from(s: domain::SubscriptionWithSecret) -> Self {
        Self {
            subscription: s.subscription.into(),
            secret: s.secret,
        }
    }
}

super::list_of!(SubscriptionList, Subscription);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
#[graphql(name = "WebhookDeliveryStatus")]
pub enum DeliveryStatus {
    /// Waiting for its first attempt or its next retry.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// The receiver answered 410 Gone (its subscription was disabled), or the
    /// subscription was disabled before it went.
    Failed,
    /// Every scheduled attempt failed: dead-lettered, replayable.
    Dead,
}

impl From<domain::DeliveryStatus> for DeliveryStatus {
    fn from(s: domain::DeliveryStatus) -> Self {
        match s {
            domain::DeliveryStatus::Pending => Self::Pending,
            domain::DeliveryStatus::Succeeded => Self::Succeeded,
            domain::DeliveryStatus::Failed => Self::Failed,
            domain::DeliveryStatus::Dead => Self::Dead,
        }
    }
}

impl From<DeliveryStatus> for domain::DeliveryStatus {
    fn from(s: DeliveryStatus) -> Self {
        match s {
            DeliveryStatus::Pending => Self::Pending,
            DeliveryStatus::Succeeded => Self::Succeeded,
            DeliveryStatus::Failed => Self::Failed,
            DeliveryStatus::Dead => Self::Dead,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookAttempt")]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: i32,
    /// Sent by hand (`…/replay`).
    pub replay: bool,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// What the receiver answered; null when it could not be reached.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The first 1,024 characters of the answer.
    pub response_excerpt: Option<String>,
}

#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(name = "WebhookDelivery")]
pub struct Delivery {
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// The event's id, sent as `webhook-id` on every attempt and replay.
    pub event_id: Uuid,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The body sent (the event envelope).
    #[schema(value_type = Object)]
    pub payload: async_graphql::Json<serde_json::Value>,
    /// Every attempt, oldest first (empty in lists: read one delivery).
    pub attempt_log: Vec<Attempt>,
}

impl From<domain::Delivery> for Delivery {
    fn from(d: domain::Delivery) -> Self {
        Self {
            id: d.id,
            subscription_id: d.subscription_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            finished_at: d.finished_at,
            payload: async_graphql::Json(d.payload),
            attempt_log: d
                .attempt_log
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
                .collect(),
        }
    }
}

super::list_of!(DeliveryList, Delivery);

/// One type of the event catalog.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct EventTypeInfo {
    /// `order.allocated`.
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    pub event_type: String,
    /// The kind of resource it is about: `order`, `transfer`.
    pub resource: String,
    pub description: String,
    /// Sent to webhook subscribers (the rest stay on the timeline).
    pub published: bool,
    /// Hidden from customer-scoped (partner) tokens.
    pub staff_only: bool,
    /// The envelope's `schema_version`.
    pub schema_version: i32,
    /// JSON Schema of the event's `data`.
    #[schema(value_type = Object)]
    pub data_schema: async_graphql::Json<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EventTypeList {
    pub items: Vec<EventTypeInfo>,
    /// JSON Schema of the envelope every event (and webhook body) shares.
    #[schema(value_type = Object)]
    pub envelope_schema: serde_json::Value,
}

impl EventTypeInfo {
    pub fn catalog() -> Vec<Self> {
        EventType::ALL
            .iter()
            .map(|t| Self {
                event_type: t.as_str().to_owned(),
                resource: t.as_str().split('.').next().unwrap_or_default().to_owned(),
                description: t.description().to_owned(),
                published: t.published(),
                staff_only: t.staff_only(),
                schema_version: SCHEMA_VERSION as i32,
                data_schema: async_graphql::Json(t.data_schema()),
            })
            .collect()
    }
}

impl EventTypeList {
    pub fn current() -> Self {
        Self {
            items: EventTypeInfo::catalog(),
            envelope_schema: crate::domain::event::envelope_schema(),
        }
    }
}
