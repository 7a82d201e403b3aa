use sea_orm::entity::prelude::*;

/// One append-only entry of the stock ledger. The sums of `on_hand_delta` and
/// `reserved_delta` per lot equal that lot's balance in `stock_lots`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub stock_lot_id: Uuid,
    pub warehouse_id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub lot: String,
    pub kind: String,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub reference_type: Option<String>,
    pub reference_id: Option<Uuid>,
    pub note: Option<String>,
    pub actor: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
