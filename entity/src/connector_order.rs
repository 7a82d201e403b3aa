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
    /// The ship-to address as the platform last gave it: a change is one
    /// the platform made, not a person's correction in Dingdan. `None` for
    /// orders imported before it was kept.
    pub platform_ship_to: Option<Json>,
    /// The reasons `marketplace.attention_required` was raised for, each once.
    pub flags: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
