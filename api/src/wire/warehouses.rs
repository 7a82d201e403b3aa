//! Warehouses.

use async_graphql::{InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::{Address, AddressInput};
use crate::domain::validation::{FieldError, Parse, Violations, code, required_text};
use crate::domain::warehouse::{self, Coordinates, NewWarehouse, WarehousePatch};

/// A warehouse as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Warehouse {
    pub id: Uuid,
    #[schema(example = "WH-SH")]
    pub code: String,
    #[schema(example = "Shanghai DC")]
    pub name: String,
    pub address: Address,
    #[schema(example = "SH")]
    pub region: String,
    #[schema(example = 31.2304)]
    pub latitude: f64,
    #[schema(example = 121.4737)]
    pub longitude: f64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<warehouse::Warehouse> for Warehouse {
    fn from(w: warehouse::Warehouse) -> Self {
        Self {
            id: w.id,
            code: w.code,
            name: w.name,
            address: w.address.into(),
            region: w.region,
            latitude: w.coordinates.latitude,
            longitude: w.coordinates.longitude,
            active: w.active,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A new warehouse.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct WarehouseInput {
    /// Unique; letters, digits and `-_./`. Never changes.
    #[schema(example = "WH-SH")]
    pub code: String,
    #[schema(example = "Shanghai DC")]
    pub name: String,
    pub address: AddressInput,
    #[schema(example = "SH")]
    pub region: String,
    #[schema(example = 31.2304)]
    pub latitude: f64,
    #[schema(example = 121.4737)]
    pub longitude: f64,
    /// Defaults to `true`.
    pub active: Option<bool>,
}

impl Parse<NewWarehouse> for WarehouseInput {
    fn parse(self) -> Result<NewWarehouse, Vec<FieldError>> {
        let mut errors = Violations::new();
        let code = errors.take(code("code", &self.code));
        let name = errors.take(required_text("name", &self.name, 200));
        let address = self.address.to_address("address", &mut errors);
        let region = errors.take(required_text("region", &self.region, 64));
        let coordinates = match Coordinates::parse(self.latitude, self.longitude) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        errors.finish(|| {
            Some(NewWarehouse {
                code: code?,
                name: name?,
                address: address?,
                region: region?,
                coordinates: coordinates?,
                active: self.active.unwrap_or(true),
            })
        })
    }
}

/// Changes to a warehouse; absent fields stay as they are. Latitude and
/// longitude change together.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct WarehousePatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub address: Option<AddressInput>,
    #[serde(default, deserialize_with = "super::present")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub latitude: Option<f64>,
    #[serde(default, deserialize_with = "super::present")]
    pub longitude: Option<f64>,
    #[serde(default, deserialize_with = "super::present")]
    pub active: Option<bool>,
}

impl Parse<WarehousePatch> for WarehousePatchInput {
    fn parse(self) -> Result<WarehousePatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = self
            .name
            .as_deref()
            .map(|n| errors.take(required_text("name", n, 200)));
        let address = self
            .address
            .as_ref()
            .map(|a| a.to_address("address", &mut errors));
        let region = self
            .region
            .as_deref()
            .map(|r| errors.take(required_text("region", r, 64)));
        let coordinates = match (self.latitude, self.longitude) {
            (None, None) => None,
            (Some(latitude), Some(longitude)) => match Coordinates::parse(latitude, longitude) {
                Ok(c) => Some(c),
                Err(e) => {
                    errors.extend(e);
                    None
                }
            },
            _ => {
                errors.push(
                    "latitude",
                    "incomplete",
                    "latitude and longitude change together",
                );
                None
            }
        };
        errors.finish(|| {
            Some(WarehousePatch {
                name: name.flatten(),
                address: address.flatten(),
                region: region.flatten(),
                coordinates,
                active: self.active,
            })
        })
    }
}

super::list_of!(WarehouseList, Warehouse);
