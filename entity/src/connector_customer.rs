use sea_orm::entity::prelude::*;

/// The customer a marketplace buyer became (accounts whose buyers are
/// customers of their own); one per account and buyer.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// The platform's buyer id, else `email:` or `phone:` and the value.
    pub buyer_key: String,
    pub customer_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
