use sea_orm::entity::prelude::*;

/// One event on its way to one subscription, across all its attempts.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub subscription_id: Uuid,
    /// The event's id: sent as `webhook-id`, the same on every attempt and replay.
    pub event_id: Uuid,
    pub event_type: String,
    /// The exact body sent.
    pub body: String,
    /// `pending`, `succeeded`, `failed` (the endpoint is gone) or `dead`
    /// (out of attempts; replayable).
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
