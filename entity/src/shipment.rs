use sea_orm::entity::prelude::*;

use crate::DecimalText;

/// Packages of one order handed to one carrier service under one tracking
/// number, and where they are.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "shipments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier_service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub tracking_number: String,
    /// `created`, then the normalised tracking vocabulary.
    pub status: String,
    /// When the event that set `status` happened.
    pub status_at: Option<DateTimeUtc>,
    pub handed_over_at: DateTimeUtc,
    pub price: DecimalText,
    pub currency: String,
    pub estimated_delivery: Option<Date>,
    /// The selection engine's candidates and verdict.
    pub selection: Json,
    /// `{engine_choice, reason, by}` when staff chose another service.
    pub r#override: Option<Json>,
    pub delivered_at: Option<DateTimeUtc>,
    /// `{signed_by, at, location, source}`.
    pub proof_of_delivery: Option<Json>,
    pub created_by: String,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
