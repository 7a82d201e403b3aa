use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "warehouses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub address: Json,
    pub region: String,
    pub latitude: f64,
    pub longitude: f64,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Multiplies the distance in the allocation cost (cheaper carriers < 1).
    pub shipping_cost_factor: f64,
    /// 0 first; each step weighs like 100 km in the allocation cost.
    pub priority: i32,
    /// `standard`, or `transit` (goods between warehouses; never allocated).
    pub kind: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
