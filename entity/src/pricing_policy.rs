use sea_orm::entity::prelude::*;

use crate::DecimalText;

/// The largest discount below the reference price a tier may get, in percent.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pricing_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub price_tier: String,
    pub max_discount_percent: DecimalText,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
