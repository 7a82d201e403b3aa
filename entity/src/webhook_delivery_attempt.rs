use sea_orm::entity::prelude::*;

/// One HTTP attempt of a delivery: what the receiver answered, and how fast.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: i32,
    /// Sent by hand (`…/replay`), not by the retry schedule.
    pub replay: bool,
    pub started_at: DateTimeUtc,
    pub duration_ms: i32,
    /// The receiver's status; none when it could not be reached.
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the response body.
    pub response_excerpt: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
