use sea_orm::entity::prelude::*;

use crate::DecimalText;

/// A packed parcel of an order: what is in it, and its size and weight.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "packages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub warehouse_id: Uuid,
    pub packaging_type: String,
    pub weight_kg: DecimalText,
    pub length_cm: DecimalText,
    pub width_cm: DecimalText,
    pub height_cm: DecimalText,
    /// `[{"line_no", "sku", "quantity"}]`.
    pub contents: Json,
    pub packed_by: String,
    pub created_at: DateTimeUtc,
    /// The shipment that took it, once shipped.
    pub shipment_id: Option<Uuid>,
    /// Protective measures taken: `["shock_proof", "sealed", "hazard_marked"]`.
    pub measures: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
