use sea_orm::entity::prelude::*;

use crate::DecimalText;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub line_no: i32,
    pub sku: String,
    /// `None` while the SKU resolves to no product.
    pub product_id: Option<Uuid>,
    pub quantity: i64,
    pub unit_price: Option<DecimalText>,
    /// `given` when the order sent the unit price; otherwise where it was
    /// derived from (`customer_price_list`, `tier_price_list`, `list_price`).
    pub price_source: String,
    pub subtotal: DecimalText,
    pub discount: DecimalText,
    pub tax_rate: DecimalText,
    pub tax: DecimalText,
    pub total: DecimalText,
    pub custom_spec: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
