//! Warehouses: where stock is kept.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::address::Address;
use super::validation::{FieldError, field_error};

/// A point on the globe, in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

impl Coordinates {
    pub fn parse(latitude: f64, longitude: f64) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !(-90.0..=90.0).contains(&latitude) {
            errors.push(field_error(
                "latitude",
                "out_of_range",
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&longitude) {
            errors.push(field_error(
                "longitude",
                "out_of_range",
                "must be between -180 and 180",
            ));
        }
        if errors.is_empty() {
            Ok(Self {
                latitude,
                longitude,
            })
        } else {
            Err(errors)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewWarehouse {
    pub code: String,
    pub name: String,
    pub address: Address,
    pub region: String,
    pub coordinates: Coordinates,
    pub active: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarehousePatch {
    pub name: Option<String>,
    pub address: Option<Address>,
    pub region: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub active: Option<bool>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Warehouse {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub address: Address,
    pub region: String,
    pub coordinates: Coordinates,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarehouseFilter {
    pub code: Option<String>,
    pub region: Option<String>,
    pub active: Option<bool>,
}
