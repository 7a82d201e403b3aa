//! The geo table: where addresses of a country, region or postal prefix are,
//! for allocation's distances. Seeded with China's provincial capitals.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};
use uuid::Uuid;

use dingdan_entity::geo_location;

use super::page::fetch_page;
use super::{Db, ServiceError, ServiceResult, now};
use crate::domain::actor::{Actor, Permission};
use crate::domain::allocation::GeoPoint;
use crate::domain::geo::{self, GeoLocation, NewGeoLocation, Placement};
use crate::domain::page::{Page, PageRequest};
use crate::domain::validation::Parse;

/// Lists the table, optionally for one country, in creation order.
pub async fn list_locations(
    db: &Db,
    actor: &Actor,
    country: Option<String>,
    page: PageRequest,
) -> ServiceResult<Page<GeoLocation>> {
    actor.require(Permission::WarehouseRead)?;
    let mut select = geo_location::Entity::find();
    if let Some(country) = country {
        select = select.filter(geo_location::Column::Country.eq(country.to_uppercase()));
    }
    let page = fetch_page(
        db.read(),
        select,
        geo_location::Column::Id,
        page,
        false,
        |row| row.id,
    )
    .await?;
    Ok(page.map(from_row))
}

/// Adds a row, or replaces the one with the same country, region and postal
/// prefix. Returns the row and whether it is new.
pub async fn put_location(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewGeoLocation>,
) -> ServiceResult<(GeoLocation, bool)> {
    actor.require(Permission::AllocationPolicyWrite)?;
    let input = input.parse()?;
    let at = now();
    let txn = db.write().await?;
    let region = input.region.clone().unwrap_or_default();
    let prefix = input.postal_prefix.clone().unwrap_or_default();
    let existed = geo_location::Entity::find()
        .filter(geo_location::Column::Country.eq(&input.country))
        .filter(geo_location::Column::Region.eq(&region))
        .filter(geo_location::Column::PostalPrefix.eq(&prefix))
        .one(&*txn)
        .await?
        .is_some();
    let row = geo_location::ActiveModel {
        id: Set(Uuid::now_v7()),
        country: Set(input.country.clone()),
        region: Set(region.clone()),
        postal_prefix: Set(prefix.clone()),
        name: Set(input.name),
        latitude: Set(input.point.latitude),
        longitude: Set(input.point.longitude),
        created_at: Set(at),
        updated_at: Set(at),
    };
    geo_location::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                geo_location::Column::Country,
                geo_location::Column::Region,
                geo_location::Column::PostalPrefix,
            ])
            .update_columns([
                geo_location::Column::Name,
                geo_location::Column::Latitude,
                geo_location::Column::Longitude,
                geo_location::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
    let row = geo_location::Entity::find()
        .filter(geo_location::Column::Country.eq(&input.country))
        .filter(geo_location::Column::Region.eq(&region))
        .filter(geo_location::Column::PostalPrefix.eq(&prefix))
        .one(&*txn)
        .await?
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("the geo row just written is gone"))
        })?;
    txn.commit().await?;
    Ok((from_row(row), !existed))
}

pub async fn delete_location(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    actor.require(Permission::AllocationPolicyWrite)?;
    let txn = db.write().await?;
    let deleted = geo_location::Entity::delete_by_id(id).exec(&*txn).await?;
    if deleted.rows_affected == 0 {
        return Err(ServiceError::not_found("geo location", id));
    }
    txn.commit().await?;
    Ok(())
}

/// Places an address: the longest matching postal prefix, else its region,
/// else its country; `None` when the table knows none of them.
pub(crate) async fn place<C: ConnectionTrait>(
    conn: &C,
    country: &str,
    region: Option<&str>,
    postal_code: Option<&str>,
) -> ServiceResult<Option<Placement>> {
    let rows: Vec<GeoLocation> = geo_location::Entity::find()
        .filter(geo_location::Column::Country.eq(country.trim().to_uppercase()))
        .order_by_asc(geo_location::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(from_row)
        .collect();
    Ok(geo::place(&rows, country, region, postal_code))
}

fn from_row(row: geo_location::Model) -> GeoLocation {
    GeoLocation {
        id: row.id,
        country: row.country,
        region: (!row.region.is_empty()).then_some(row.region),
        postal_prefix: (!row.postal_prefix.is_empty()).then_some(row.postal_prefix),
        name: row.name,
        point: GeoPoint {
            latitude: row.latitude,
            longitude: row.longitude,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
