use sea_orm::entity::prelude::*;

/// The balance of one lot of one SKU in one warehouse. Every change to it is a
/// row in `stock_movements`, written in the same transaction.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_lots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    /// The lot number; empty for stock that is not lot-tracked.
    pub lot: String,
    pub received_at: Date,
    pub expiry_date: Option<Date>,
    pub on_hand: i64,
    pub reserved: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
