//! Warehouses.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::common::{Address, AddressInput, bounded};
use crate::domain::validation::{FieldError, Parse, Violations, code, required_text};
use crate::domain::warehouse::{self, AllocationCosts, Coordinates, NewWarehouse, WarehousePatch};

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
    /// Multiplies the distance to the customer in the allocation cost.
    #[schema(example = 1.0)]
    pub shipping_cost_factor: f64,
    /// 0 is first; each step costs like 100 km more in allocation.
    pub priority: i32,
    pub kind: WarehouseKind,
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
            shipping_cost_factor: w.costs.shipping_cost_factor,
            priority: w.costs.priority,
            kind: match w.kind {
                warehouse::WarehouseKind::Standard => WarehouseKind::Standard,
                warehouse::WarehouseKind::Transit => WarehouseKind::Transit,
            },
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// What a warehouse is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum WarehouseKind {
    /// Keeps stock and ships orders.
    Standard,
    /// Goods between two warehouses (the server's `IN-TRANSIT`); never
    /// allocated from.
    Transit,
}

impl From<WarehouseKind> for warehouse::WarehouseKind {
    fn from(k: WarehouseKind) -> Self {
        match k {
            WarehouseKind::Standard => Self::Standard,
            WarehouseKind::Transit => Self::Transit,
        }
    }
}

/// A shipping cost factor: above 0, at most 100.
fn cost_factor(path: &str, factor: f64, errors: &mut Violations) -> Option<f64> {
    if factor.is_finite() && factor > 0.0 && factor <= 100.0 {
        Some(factor)
    } else {
        errors.push(path, "out_of_range", "must be above 0 and at most 100");
        None
    }
}

fn priority(path: &str, value: i64, errors: &mut Violations) -> Option<i32> {
    bounded(path, value, 0..=1000, errors).and_then(|p| i32::try_from(p).ok())
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
    /// Multiplies the distance to the customer in the allocation cost: above
    /// 0, at most 100; defaults to 1.
    pub shipping_cost_factor: Option<f64>,
    /// 0 (the default) to 1000; each step costs like 100 km more.
    pub priority: Option<i64>,
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
        let factor = cost_factor(
            "shipping_cost_factor",
            self.shipping_cost_factor.unwrap_or(1.0),
            &mut errors,
        );
        let priority = priority("priority", self.priority.unwrap_or(0), &mut errors);
        errors.finish(|| {
            Some(NewWarehouse {
                code: code?,
                name: name?,
                address: address?,
                region: region?,
                coordinates: coordinates?,
                active: self.active.unwrap_or(true),
                costs: AllocationCosts {
                    shipping_cost_factor: factor?,
                    priority: priority?,
                },
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
    #[serde(default, deserialize_with = "super::present")]
    pub shipping_cost_factor: Option<f64>,
    #[serde(default, deserialize_with = "super::present")]
    pub priority: Option<i64>,
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
        let factor = self
            .shipping_cost_factor
            .map(|f| cost_factor("shipping_cost_factor", f, &mut errors));
        let priority = self.priority.map(|p| priority("priority", p, &mut errors));
        errors.finish(|| {
            Some(WarehousePatch {
                name: name.flatten(),
                address: address.flatten(),
                region: region.flatten(),
                coordinates,
                active: self.active,
                shipping_cost_factor: factor.flatten(),
                priority: priority.flatten(),
            })
        })
    }
}

super::list_of!(WarehouseList, Warehouse);
