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
    pub costs: AllocationCosts,
}

/// How allocation weighs a warehouse: its distance to the customer times the
/// shipping cost factor, plus 100 km for each step of priority.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AllocationCosts {
    pub shipping_cost_factor: f64,
    pub priority: i32,
}

impl Default for AllocationCosts {
    fn default() -> Self {
        Self {
            shipping_cost_factor: 1.0,
            priority: 0,
        }
    }
}

/// What a warehouse is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarehouseKind {
    /// Keeps stock and ships orders.
    Standard,
    /// Where goods are between two warehouses; created by the server, never
    /// allocated from.
    Transit,
}

impl WarehouseKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            WarehouseKind::Standard => "standard",
            WarehouseKind::Transit => "transit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(WarehouseKind::Standard),
            "transit" => Some(WarehouseKind::Transit),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct WarehousePatch {
    pub name: Option<String>,
    pub address: Option<Address>,
    pub region: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub active: Option<bool>,
    pub shipping_cost_factor: Option<f64>,
    pub priority: Option<i32>,
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
    pub costs: AllocationCosts,
    pub kind: WarehouseKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WarehouseFilter {
    pub code: Option<String>,
    pub region: Option<String>,
    pub active: Option<bool>,
    /// `None`: standard warehouses only (the in-transit location on request).
    pub kind: Option<WarehouseKind>,
}
