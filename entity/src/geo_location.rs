use sea_orm::entity::prelude::*;

/// Coordinates for addresses of a country, region or postal-code prefix: how
/// allocation measures the distance from a warehouse to a ship-to address.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "geo_locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub country: String,
    pub region: String,
    pub postal_prefix: String,
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
