use sea_orm::entity::prelude::*;

/// One service of a carrier: its mode, and its terms (zones, transit days,
/// rate card, surcharges, fuel, limits, cut-off) as one validated document.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "carrier_services")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub carrier_id: Uuid,
    pub code: String,
    pub name: String,
    pub mode: String,
    pub currency: String,
    pub terms: Json,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
