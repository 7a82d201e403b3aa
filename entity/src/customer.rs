use sea_orm::entity::prelude::*;

use crate::DecimalText;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    /// `[{"name", "phone", "email"}]`
    pub contacts: Json,
    /// `[Address]`
    pub addresses: Json,
    pub currency: String,
    pub credit_limit: DecimalText,
    pub payment_terms_days: i32,
    pub price_tier: String,
    pub status: String,
    pub allow_partial_shipment: bool,
    /// Days of shelf life perishable goods for this customer must have left.
    pub min_shelf_life_days: Option<i32>,
    /// Payment methods the customer may use; empty for any.
    pub payment_methods: Json,
    pub requires_invoice: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
