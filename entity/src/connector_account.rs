use sea_orm::entity::prelude::*;

/// A marketplace account Dingdan pulls orders from.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "connector_accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub name: String,
    pub base_url: String,
    /// Encrypted (AES-256-GCM, base64 of nonce and ciphertext); never returned.
    pub credentials: String,
    pub sync_interval_seconds: i32,
    pub sku_map: Json,
    pub customer_mode: String,
    pub customer_id: Option<Uuid>,
    pub warehouse_preferences: Json,
    /// Dingdan carrier code → the platform's carrier code; `None`: none.
    pub carrier_map: Option<Json>,
    pub enabled: bool,
    pub cursor: Json,
    pub last_synced_at: Option<DateTimeUtc>,
    /// The sync run holding the account, and until when.
    pub sync_holder: Option<Uuid>,
    pub sync_lease_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
