use sea_orm::entity::prelude::*;

/// One entry of a shipment's tracking timeline, from a courier or by hand.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tracking_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub source: String,
    pub status: String,
    pub raw_status: String,
    pub message: Option<String>,
    pub location: Option<String>,
    pub occurred_at: Option<DateTimeUtc>,
    pub signed_by: Option<String>,
    pub applied: bool,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
