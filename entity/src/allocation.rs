use sea_orm::entity::prelude::*;

/// Stock of one lot reserved for one order line. While `reserved`, the lot's
/// `reserved` balance includes `quantity − picked`; picked goods have left the
/// lot's `on_hand` and wait to be packed.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "allocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_line_id: Uuid,
    pub line_no: i32,
    pub product_id: Uuid,
    pub sku: String,
    pub warehouse_id: Uuid,
    pub stock_lot_id: Uuid,
    pub lot: String,
    pub quantity: i64,
    pub picked: i64,
    pub packed: i64,
    /// `reserved` or `released`.
    pub status: String,
    pub overridden: bool,
    pub plan_id: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
