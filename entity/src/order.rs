use sea_orm::entity::prelude::*;

use crate::DecimalText;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `SO-<year>-<6 digits>`, assigned at confirmation.
    pub number: Option<String>,
    pub status: String,
    pub channel: String,
    pub source_account: String,
    pub external_ref: Option<String>,
    pub customer_id: Uuid,
    pub currency: String,
    pub ship_to: Json,
    pub contact: Json,
    pub requested_delivery_date: Option<Date>,
    pub promised_delivery_date: Option<Date>,
    pub special_instructions: Option<String>,
    pub invoice: Option<Json>,
    pub subtotal: DecimalText,
    pub discount_total: DecimalText,
    pub tax_total: DecimalText,
    pub total: DecimalText,
    pub findings: Json,
    /// Incremented on every change; the `ETag`.
    pub version: i32,
    pub created_by: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub payment_method: Option<String>,
    /// The promotions applied at intake, with their discounts and reasons.
    pub promotions: Json,
    /// Incremented each time the order enters review.
    pub review_round: i32,
    pub approved_at: Option<DateTimeUtc>,
    /// When every line was first fully reserved.
    pub allocated_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
