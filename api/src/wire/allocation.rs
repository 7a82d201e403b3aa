//! Allocation plans, reservations, the allocation policy and the geo table.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::orders::OrderStatus;
use crate::domain::allocation::{self as domain, GeoPoint};
use crate::domain::geo::{GeoLocation as DomainGeo, NewGeoLocation};
use crate::domain::validation::{FieldError, Parse, Violations, code, required_text};
use crate::domain::warehouse::Coordinates;

/// Whether approved orders are allocated by the server or by people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum AllocationMode {
    /// A background job allocates approved orders, oldest approval first.
    Auto,
    /// Approved orders wait for `POST /orders/{id}/allocation`; backorders
    /// still complete on their own when stock arrives.
    Manual,
}

/// The allocation policy.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "AllocationPolicyInput")]
#[serde(deny_unknown_fields)]
pub struct AllocationPolicy {
    pub mode: AllocationMode,
}

impl From<domain::AllocationPolicy> for AllocationPolicy {
    fn from(p: domain::AllocationPolicy) -> Self {
        Self {
            mode: match p.mode {
                domain::AllocationMode::Auto => AllocationMode::Auto,
                domain::AllocationMode::Manual => AllocationMode::Manual,
            },
        }
    }
}

impl From<AllocationPolicy> for domain::AllocationPolicy {
    fn from(p: AllocationPolicy) -> Self {
        Self {
            mode: match p.mode {
                AllocationMode::Auto => domain::AllocationMode::Auto,
                AllocationMode::Manual => domain::AllocationMode::Manual,
            },
        }
    }
}

/// A person's choice for one line.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, InputObject, SimpleObject)]
#[graphql(input_name = "OverrideInput")]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub line_no: u32,
    /// Serve the line from this warehouse…
    pub warehouse_id: Uuid,
    /// …and, if given, from this lot of it.
    pub stock_lot_id: Option<Uuid>,
}

/// What an allocation run should respect. An empty body plans freely.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct AllocationInput {
    /// At most one per line; validated against the stock (expired, too
    /// short-dated or insufficient lots are refused) and recorded with the plan.
    #[serde(default)]
    #[graphql(default)]
    pub overrides: Vec<Override>,
    /// When the plan would ship from several warehouses: reserve at the main
    /// one and request transfers of the rest to it; the order waits for them
    /// and is allocated when they arrive.
    #[serde(default)]
    #[graphql(default)]
    pub consolidate: bool,
}

impl Parse<domain::AllocationInput> for AllocationInput {
    fn parse(self) -> Result<domain::AllocationInput, Vec<FieldError>> {
        let mut errors = Violations::new();
        let mut seen = std::collections::HashSet::new();
        for (i, o) in self.overrides.iter().enumerate() {
            if !seen.insert(o.line_no) {
                errors.push(
                    format!("overrides[{i}].line_no"),
                    "duplicate",
                    "one override per line",
                );
            }
        }
        errors.finish(|| {
            Some(domain::AllocationInput {
                overrides: self
                    .overrides
                    .into_iter()
                    .map(|o| domain::Override {
                        line_no: o.line_no,
                        warehouse_id: o.warehouse_id,
                        stock_lot_id: o.stock_lot_id,
                    })
                    .collect(),
                consolidate: self.consolidate,
            })
        })
    }
}

/// How the plan serves the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One warehouse ships everything.
    SingleWarehouse,
    /// As few warehouses as cover the order.
    FewestWarehouses,
    /// Nothing could be reserved.
    Backorder,
}

/// Goods of one lot for one line.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Pick {
    pub warehouse_id: Uuid,
    #[schema(example = "WH-SH")]
    pub warehouse_code: String,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub expiry_date: Option<NaiveDate>,
    pub quantity: i64,
}

/// One line of a plan.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct PlanLine {
    pub line_no: u32,
    pub sku: String,
    /// What the plan had to find for the line (its open quantity).
    pub quantity: i64,
    pub picks: Vec<Pick>,
    pub backordered: i64,
    /// The lot rule applied, e.g. `FEFO: earliest expiry first, at least 30 days of shelf life left`.
    pub rule: String,
    pub overridden: bool,
}

/// A warehouse the plan considered, with its score and why it was (not) chosen.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Candidate {
    pub warehouse_id: Uuid,
    pub code: String,
    /// To the ship-to address; `null` when the address is not in the geo table.
    pub distance_km: Option<f64>,
    pub shipping_cost_factor: f64,
    pub priority: i32,
    /// How long, on average, the stock it would ship has been there.
    pub stock_age_days: Option<f64>,
    /// `distance_km × shipping_cost_factor + priority × 100 −
    /// min(stock_age_days, 365) × 0.2`: lower is better.
    pub score: f64,
    /// Units of the order this warehouse could serve.
    pub coverable: i64,
    pub covers_all: bool,
    pub chosen: bool,
    pub reason: String,
}

/// A transfer that would let one warehouse ship what the plan splits.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct TransferProposal {
    pub sku: String,
    pub from_warehouse_id: Uuid,
    pub to_warehouse_id: Uuid,
    pub quantity: i64,
}

/// A plan, with the reasons for it: readable by people (`summary`,
/// `reason`s) and programs (`score`s, `strategy`).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Plan {
    pub strategy: Strategy,
    pub summary: String,
    pub lines: Vec<PlanLine>,
    /// Every warehouse, cheapest first.
    pub candidates: Vec<Candidate>,
    pub transfers_proposed: Vec<TransferProposal>,
}

impl From<domain::Plan> for Plan {
    fn from(p: domain::Plan) -> Self {
        Self {
            strategy: match p.strategy {
                domain::Strategy::SingleWarehouse => Strategy::SingleWarehouse,
                domain::Strategy::FewestWarehouses => Strategy::FewestWarehouses,
                domain::Strategy::Backorder => Strategy::Backorder,
            },
            summary: p.summary,
            lines: p
                .lines
                .into_iter()
                .map(|l| PlanLine {
                    line_no: l.line_no,
                    sku: l.sku,
                    quantity: l.quantity,
                    picks: l
                        .picks
                        .into_iter()
                        .map(|p| Pick {
                            warehouse_id: p.warehouse_id,
                            warehouse_code: p.warehouse_code,
                            stock_lot_id: p.stock_lot_id,
                            lot: p.lot,
                            expiry_date: p.expiry_date,
                            quantity: p.quantity,
                        })
                        .collect(),
                    backordered: l.backordered,
                    rule: l.rule,
                    overridden: l.overridden,
                })
                .collect(),
            candidates: p
                .candidates
                .into_iter()
                .map(|c| Candidate {
                    warehouse_id: c.warehouse_id,
                    code: c.code,
                    distance_km: c.distance_km,
                    shipping_cost_factor: c.shipping_cost_factor,
                    priority: c.priority,
                    stock_age_days: c.stock_age_days,
                    score: c.score,
                    coverable: c.coverable,
                    covers_all: c.covers_all,
                    chosen: c.chosen,
                    reason: c.reason,
                })
                .collect(),
            transfers_proposed: p
                .transfers_proposed
                .into_iter()
                .map(|t| TransferProposal {
                    sku: t.sku,
                    from_warehouse_id: t.from_warehouse_id,
                    to_warehouse_id: t.to_warehouse_id,
                    quantity: t.quantity,
                })
                .collect(),
        }
    }
}

/// Stock of one lot held for one order line.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Reservation {
    /// Confirm picks against this id.
    pub id: Uuid,
    pub line_no: u32,
    pub sku: String,
    pub warehouse_id: Uuid,
    pub stock_lot_id: Uuid,
    pub lot: Option<String>,
    pub quantity: i64,
    pub picked: i64,
    pub packed: i64,
    pub overridden: bool,
    pub created_at: DateTime<Utc>,
}

/// Where one order line stands.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct LineAllocation {
    pub line_no: u32,
    pub sku: String,
    pub quantity: i64,
    pub reserved: i64,
    pub picked: i64,
    pub packed: i64,
    pub backordered: i64,
}

/// An order's allocation: the plan in force (or, with `dry_run`, the plan
/// that would be carried out), what is reserved and what waits.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Allocation {
    pub order_id: Uuid,
    pub order_status: OrderStatus,
    pub order_version: i32,
    /// Nothing was reserved: this is what allocating now would do.
    pub dry_run: bool,
    /// `null` until the order was first planned.
    pub plan: Option<Plan>,
    pub planned_at: Option<DateTime<Utc>>,
    /// Who planned it (`system` for the background job).
    pub planned_by: Option<String>,
    pub overrides: Vec<Override>,
    pub lines: Vec<LineAllocation>,
    pub reservations: Vec<Reservation>,
    /// Transfers (requested or in transit) the order waits for.
    pub transfer_ids: Vec<Uuid>,
}

impl From<domain::Allocation> for Allocation {
    fn from(a: domain::Allocation) -> Self {
        Self {
            order_id: a.order_id,
            order_status: a.order_status.into(),
            order_version: a.order_version,
            dry_run: a.dry_run,
            plan: a.plan.map(Into::into),
            planned_at: a.planned_at,
            planned_by: a.planned_by,
            overrides: a
                .overrides
                .into_iter()
                .map(|o| Override {
                    line_no: o.line_no,
                    warehouse_id: o.warehouse_id,
                    stock_lot_id: o.stock_lot_id,
                })
                .collect(),
            lines: a
                .lines
                .into_iter()
                .map(|l| LineAllocation {
                    line_no: l.line_no,
                    sku: l.sku,
                    quantity: l.quantity,
                    reserved: l.reserved,
                    picked: l.picked,
                    packed: l.packed,
                    backordered: l.backordered,
                })
                .collect(),
            reservations: a
                .reservations
                .into_iter()
                .map(|r| Reservation {
                    id: r.id,
                    line_no: r.line_no,
                    sku: r.sku,
                    warehouse_id: r.warehouse_id,
                    stock_lot_id: r.stock_lot_id,
                    lot: r.lot,
                    quantity: r.quantity,
                    picked: r.picked,
                    packed: r.packed,
                    overridden: r.overridden,
                    created_at: r.created_at,
                })
                .collect(),
            transfer_ids: a.transfer_ids,
        }
    }
}

/// Coordinates for addresses of a country, a region or a postal prefix.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct GeoLocation {
    pub id: Uuid,
    #[schema(example = "CN")]
    pub country: String,
    /// As addresses carry it (`ZJ`); `null` for a country or prefix row.
    #[schema(example = "ZJ")]
    pub region: Option<String>,
    #[schema(example = "3150")]
    pub postal_prefix: Option<String>,
    #[schema(example = "Ningbo")]
    pub name: String,
    pub latitude: f64,
    pub longitude: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DomainGeo> for GeoLocation {
    fn from(g: DomainGeo) -> Self {
        Self {
            id: g.id,
            country: g.country,
            region: g.region,
            postal_prefix: g.postal_prefix,
            name: g.name,
            latitude: g.point.latitude,
            longitude: g.point.longitude,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// A row of the geo table: for a whole country (neither `region` nor
/// `postal_prefix`), a region, or a postal prefix (the longest matching
/// prefix wins, then the region, then the country).
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct GeoLocationInput {
    /// ISO 3166-1 alpha-2.
    #[schema(example = "CN")]
    pub country: String,
    #[schema(example = "ZJ")]
    pub region: Option<String>,
    /// Digits and letters, as postal codes start.
    #[schema(example = "3150")]
    pub postal_prefix: Option<String>,
    #[schema(example = "Ningbo")]
    pub name: String,
    #[schema(example = 29.8683)]
    pub latitude: f64,
    #[schema(example = 121.544)]
    pub longitude: f64,
}

impl Parse<NewGeoLocation> for GeoLocationInput {
    fn parse(self) -> Result<NewGeoLocation, Vec<FieldError>> {
        let mut errors = Violations::new();
        let country = self.country.trim().to_uppercase();
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            errors.push(
                "country",
                "invalid",
                "must be an ISO 3166-1 alpha-2 code, e.g. \"CN\"",
            );
        }
        let region = match self.region.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(r) => errors
                .take(code("region", r))
                .map(|_| Some(crate::domain::geo::region_key(&country, r))),
        };
        let prefix = match self.postal_prefix.as_deref().map(str::trim) {
            None | Some("") => Some(None),
            Some(p) if p.len() <= 10 && p.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Some(Some(p.to_uppercase()))
            }
            Some(_) => {
                errors.push(
                    "postal_prefix",
                    "invalid",
                    "1 to 10 letters or digits, as the postal codes it covers start",
                );
                None
            }
        };
        if matches!((&region, &prefix), (Some(Some(_)), Some(Some(_)))) {
            errors.push(
                "postal_prefix",
                "ambiguous",
                "a row is for a region or for a postal prefix, not both",
            );
        }
        let name = errors.take(required_text("name", &self.name, 200));
        let point = match Coordinates::parse(self.latitude, self.longitude) {
            Ok(c) => Some(GeoPoint {
                latitude: c.latitude,
                longitude: c.longitude,
            }),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        errors.finish(|| {
            Some(NewGeoLocation {
                country,
                region: region?,
                postal_prefix: prefix?,
                name: name?,
                point: point?,
            })
        })
    }
}

super::list_of!(GeoLocationList, GeoLocation);
