use sea_orm::entity::prelude::*;

/// One lot's quantity on a transfer. The lot keeps its number, receipt date
/// and expiry through the in-transit location to the destination.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "transfer_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub transfer_id: Uuid,
    pub line_no: i32,
    pub product_id: Uuid,
    pub sku: String,
    pub source_lot_id: Uuid,
    pub lot: String,
    pub lot_received_at: Date,
    pub expiry_date: Option<Date>,
    pub quantity: i64,
    pub transit_lot_id: Option<Uuid>,
    pub destination_lot_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
