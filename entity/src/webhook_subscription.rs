use sea_orm::entity::prelude::*;

/// Where a partner wants events sent, which ones, and the keys to sign them.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    /// Patterns such as `["order.*", "transfer.received"]`.
    pub event_types: Json,
    /// Only this customer's events, when set.
    pub customer_id: Option<Uuid>,
    pub description: Option<String>,
    /// `whsec_…`; needed to sign, so kept (never returned after creation).
    pub secret: String,
    /// The secret before the last rotation, still signing until it expires.
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
