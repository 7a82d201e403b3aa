use sea_orm::entity::prelude::*;

use crate::DecimalText;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    pub specification: Option<String>,
    pub unit: String,
    pub list_price: DecimalText,
    pub currency: String,
    pub weight_kg: DecimalText,
    pub fragile: bool,
    pub liquid: bool,
    pub hazardous: bool,
    pub perishable: bool,
    pub lot_tracked: bool,
    pub made_to_order: bool,
    pub lead_time_days: i32,
    /// Days of shelf life a perishable lot must have left to be allocated.
    pub min_shelf_life_days: Option<i32>,
    pub tax_rate: DecimalText,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
