use sea_orm::entity::prelude::*;

/// An event written in the same transaction as the change it reports, waiting
/// to be delivered to subscribers.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: Uuid,
    /// The resource's version after the change, so receivers can drop stale events.
    pub aggregate_version: i32,
    /// The customer the event concerns, for scoped subscriptions.
    pub customer_id: Option<Uuid>,
    pub payload: Json,
    pub created_at: DateTimeUtc,
    /// When the event was fanned out to the subscriptions it matched.
    pub dispatched_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
