use sea_orm::entity::prelude::*;

/// One verified tracking push, kept raw; `(account_id, event_id)` is unique,
/// so a repeated push is recognised.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "courier_pushes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub event_id: String,
    pub tracking_number: Option<String>,
    pub shipment_id: Option<Uuid>,
    /// `applied`, `stale` (older than what is known), `unknown_tracking`, `ignored`.
    pub outcome: String,
    pub payload: String,
    pub received_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
