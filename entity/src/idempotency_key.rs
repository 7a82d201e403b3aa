use sea_orm::entity::prelude::*;

/// The first response to a create made with an `Idempotency-Key`, replayed for
/// repeats of the same request by the same principal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub principal: String,
    pub key: String,
    /// A hash of what was asked, to refuse the same key for a different request.
    pub fingerprint: String,
    pub response_status: i32,
    pub response_body: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub resource_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
