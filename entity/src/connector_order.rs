use sea_orm::entity::prelude::*;

/// An order imported from a marketplace: `(account_id, external_id)` is unique.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub external_id: String,
    pub order_id: Uuid,
    pub external_updated_at: DateTimeUtc,
    /// `[{"external_line_id", "line_no"}]`.
    pub lines: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
