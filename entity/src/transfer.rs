use sea_orm::entity::prelude::*;

/// Goods moving between two warehouses: `requested` (reserved at the source)
/// → `in_transit` (in the in-transit location) → `received`, or `cancelled`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub number: String,
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    pub status: String,
    pub mode: String,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// The order waiting for these goods, if any.
    pub order_id: Option<Uuid>,
    pub note: Option<String>,
    pub requested_by: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub shipped_at: Option<DateTimeUtc>,
    pub received_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
