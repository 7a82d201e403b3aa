use sea_orm::entity::prelude::*;

/// One stage of one review round of an order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub round: i32,
    pub stage: String,
    pub position: i32,
    pub status: String,
    pub findings: Json,
    /// Why a person must decide (empty when the stage may approve itself).
    pub human_reasons: Json,
    pub decision: Option<String>,
    pub reason_code: Option<String>,
    pub comment: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
