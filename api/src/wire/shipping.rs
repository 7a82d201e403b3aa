//! Shipping: carriers, services and their terms, quotes, shipments,
//! tracking, courier accounts and manifests.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decimal::DecimalString;
use crate::domain::shipping::{self as domain, TrackingStatus};
use crate::domain::validation::{
    FieldError, Parse, Violations, code, optional_text, required_text,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Express,
    Road,
    Rail,
    Air,
}

impl From<TransportMode> for domain::TransportMode {
    fn from(m: TransportMode) -> Self {
        match m {
            TransportMode::Express => Self::Express,
            TransportMode::Road => Self::Road,
            TransportMode::Rail => Self::Rail,
            TransportMode::Air => Self::Air,
        }
    }
}

impl From<domain::TransportMode> for TransportMode {
    fn from(m: domain::TransportMode) -> Self {
        match m {
            domain::TransportMode::Express => Self::Express,
            domain::TransportMode::Road => Self::Road,
            domain::TransportMode::Rail => Self::Rail,
            domain::TransportMode::Air => Self::Air,
        }
    }
}

/// Where a shipment is: `created` until a first tracking event, then the
/// normalised tracking vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    Created,
    InfoReceived,
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
    Returned,
}

/// A tracking event's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum TrackingEventStatus {
    InfoReceived,
    InTransit,
    OutForDelivery,
    Delivered,
    Exception,
    Returned,
}

impl From<TrackingStatus> for TrackingEventStatus {
    fn from(s: TrackingStatus) -> Self {
        match s {
            TrackingStatus::InfoReceived => Self::InfoReceived,
            TrackingStatus::InTransit => Self::InTransit,
            TrackingStatus::OutForDelivery => Self::OutForDelivery,
            TrackingStatus::Delivered => Self::Delivered,
            TrackingStatus::Exception => Self::Exception,
            TrackingStatus::Returned => Self::Returned,
        }
    }
}

impl From<TrackingEventStatus> for TrackingStatus {
    fn from(s: TrackingEventStatus) -> Self {
        match s {
            TrackingEventStatus::InfoReceived => Self::InfoReceived,
            TrackingEventStatus::InTransit => Self::InTransit,
            TrackingEventStatus::OutForDelivery => Self::OutForDelivery,
            TrackingEventStatus::Delivered => Self::Delivered,
            TrackingEventStatus::Exception => Self::Exception,
            TrackingEventStatus::Returned => Self::Returned,
        }
    }
}

impl From<Option<TrackingStatus>> for ShipmentStatus {
    fn from(s: Option<TrackingStatus>) -> Self {
        match s {
            None => Self::Created,
            Some(TrackingStatus::InfoReceived) => Self::InfoReceived,
            Some(TrackingStatus::InTransit) => Self::InTransit,
            Some(TrackingStatus::OutForDelivery) => Self::OutForDelivery,
            Some(TrackingStatus::Delivered) => Self::Delivered,
            Some(TrackingStatus::Exception) => Self::Exception,
            Some(TrackingStatus::Returned) => Self::Returned,
        }
    }
}

// ------------------------------------------------------------------ terms

/// Destinations of a zone: a country (ISO 3166 code as in addresses),
/// optionally narrowed to regions and cities. Rules are tried in order.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRuleBody {
    #[schema(example = "east")]
    pub zone: String,
    #[schema(example = "CN")]
    pub country: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub cities: Vec<String>,
}

/// Parcels up to `up_to_kg` (chargeable weight) cost `price`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightBreakBody {
    #[schema(example = "1")]
    pub up_to_kg: DecimalString,
    #[schema(example = "12.00")]
    pub price: DecimalString,
}

/// A zone's transit time and rate card.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneRateBody {
    pub zone: String,
    /// Calendar days from handover to delivery.
    pub transit_days: u32,
    /// Ascending by weight.
    pub breaks: Vec<WeightBreakBody>,
    /// Beyond the last break, per started kilogram; without it heavier
    /// parcels are not carried.
    pub extra_per_kg: Option<DecimalString>,
}

/// Flat amounts per parcel holding goods with the trait.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurchargesBody {
    #[serde(default)]
    pub fragile: DecimalString,
    #[serde(default)]
    pub liquid: DecimalString,
    #[serde(default)]
    pub hazardous: DecimalString,
}

/// What the service will not carry.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// Per parcel (chargeable weight).
    pub max_weight_kg: Option<DecimalString>,
    /// Declared value of the whole shipment.
    pub max_value: Option<DecimalString>,
    #[serde(default)]
    pub hazardous_allowed: bool,
}

/// A service's terms: zones, transit days and rates per zone, minimum,
/// surcharges, fuel, limits and cut-off.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTermsBody {
    pub zones: Vec<ZoneRuleBody>,
    pub rates: Vec<ZoneRateBody>,
    /// Per parcel, before fuel.
    #[serde(default)]
    pub minimum_charge: DecimalString,
    #[serde(default)]
    pub surcharges: SurchargesBody,
    /// Percent of each parcel's charge.
    #[serde(default)]
    #[schema(example = "8.5")]
    pub fuel_percent: DecimalString,
    #[serde(default)]
    pub limits: LimitsBody,
    /// Local time (`HH:MM`) after which goods handed over leave the next day.
    #[schema(example = "17:00")]
    pub cutoff: String,
    /// Offset of that local time from UTC.
    #[schema(example = "+08:00")]
    pub utc_offset: String,
    /// L × W × H (cm) / divisor is the volumetric weight, when charged.
    pub volumetric_divisor: Option<u32>,
}

fn parse_offset(text: &str) -> Option<FixedOffset> {
    text.parse::<FixedOffset>()
        .ok()
        .or_else(|| (text == "Z" || text == "UTC").then(|| chrono::Offset::fix(&Utc)))
}

impl ServiceTermsBody {
    fn to_domain(&self, errors: &mut Violations) -> Option<domain::ServiceTerms> {
        let cutoff = NaiveTime::parse_from_str(&self.cutoff, "%H:%M").ok();
        if cutoff.is_none() {
            errors.push(
                "terms.cutoff",
                "invalid",
                "a local time as HH:MM, e.g. \"17:00\"",
            );
        }
        let offset = parse_offset(&self.utc_offset);
        if offset.is_none() {
            errors.push(
                "terms.utc_offset",
                "invalid",
                "an offset such as \"+08:00\"",
            );
        }
        Some(domain::ServiceTerms {
            zones: self
                .zones
                .iter()
                .map(|z| domain::ZoneRule {
                    zone: z.zone.clone(),
                    country: z.country.clone(),
                    regions: z.regions.clone(),
                    cities: z.cities.clone(),
                })
                .collect(),
            rates: self
                .rates
                .iter()
                .map(|r| domain::ZoneRate {
                    zone: r.zone.clone(),
                    transit_days: r.transit_days,
                    breaks: r
                        .breaks
                        .iter()
                        .map(|b| domain::WeightBreak {
                            up_to_kg: b.up_to_kg.0,
                            price: b.price.0,
                        })
                        .collect(),
                    extra_per_kg: r.extra_per_kg.map(|x| x.0),
                })
                .collect(),
            minimum_charge: self.minimum_charge.0,
            surcharges: domain::Surcharges {
                fragile: self.surcharges.fragile.0,
                liquid: self.surcharges.liquid.0,
                hazardous: self.surcharges.hazardous.0,
            },
            fuel_percent: self.fuel_percent.0,
            limits: domain::Limits {
                max_weight_kg: self.limits.max_weight_kg.map(|x| x.0),
                max_value: self.limits.max_value.map(|x| x.0),
                hazardous_allowed: self.limits.hazardous_allowed,
            },
            cutoff: cutoff?,
            utc_offset: offset?,
            volumetric_divisor: self.volumetric_divisor,
        })
    }
}

impl From<domain::ServiceTerms> for ServiceTermsBody {
    fn from(t: domain::ServiceTerms) -> Self {
        Self {
            zones: t
                .zones
                .into_iter()
                .map(|z| ZoneRuleBody {
                    zone: z.zone,
                    country: z.country,
                    regions: z.regions,
                    cities: z.cities,
                })
                .collect(),
            rates: t
                .rates
                .into_iter()
                .map(|r| ZoneRateBody {
                    zone: r.zone,
                    transit_days: r.transit_days,
                    breaks: r
                        .breaks
                        .into_iter()
                        .map(|b| WeightBreakBody {
                            up_to_kg: b.up_to_kg.into(),
                            price: b.price.into(),
                        })
                        .collect(),
                    extra_per_kg: r.extra_per_kg.map(Into::into),
                })
                .collect(),
            minimum_charge: t.minimum_charge.into(),
            surcharges: SurchargesBody {
                fragile: t.surcharges.fragile.into(),
                liquid: t.surcharges.liquid.into(),
                hazardous: t.surcharges.hazardous.into(),
            },
            fuel_percent: t.fuel_percent.into(),
            limits: LimitsBody {
                max_weight_kg: t.limits.max_weight_kg.map(Into::into),
                max_value: t.limits.max_value.map(Into::into),
                hazardous_allowed: t.limits.hazardous_allowed,
            },
            cutoff: t.cutoff.format("%H:%M").to_string(),
            utc_offset: t.utc_offset.to_string(),
            volumetric_divisor: t.volumetric_divisor,
        }
    }
}

// --------------------------------------------------------------- carriers

/// A carrier to register.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct CarrierInput {
    #[schema(example = "SF")]
    pub code: String,
    #[schema(example = "SF Express")]
    pub name: String,
}

impl Parse<domain::NewCarrier> for CarrierInput {
    fn parse(self) -> Result<domain::NewCarrier, Vec<FieldError>> {
        let mut errors = Violations::new();
        let code = errors.take(code("code", &self.code));
        let name = errors.take(required_text("name", &self.name, 200));
        errors.finish(|| {
            Some(domain::NewCarrier {
                code: code?,
                name: name?,
            })
        })
    }
}

/// A service to add to a carrier.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    #[schema(example = "EXP")]
    pub code: String,
    #[schema(example = "SF Next Day")]
    pub name: String,
    pub mode: TransportMode,
    #[schema(example = "CNY")]
    pub currency: String,
    pub terms: ServiceTermsBody,
    /// Defaults to true.
    pub active: Option<bool>,
}

fn currency(path: &str, value: &str, errors: &mut Violations) -> Option<String> {
    if value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Some(value.to_owned())
    } else {
        errors.push(path, "invalid", "an ISO 4217 code such as CNY");
        None
    }
}

impl Parse<domain::NewService> for ServiceInput {
    fn parse(self) -> Result<domain::NewService, Vec<FieldError>> {
        let mut errors = Violations::new();
        let code = errors.take(code("code", &self.code));
        let name = errors.take(required_text("name", &self.name, 200));
        let currency = currency("currency", &self.currency, &mut errors);
        let terms = self.terms.to_domain(&mut errors);
        errors.finish(|| {
            Some(domain::NewService {
                code: code?,
                name: name?,
                mode: self.mode.into(),
                currency: currency?,
                terms: terms?,
                active: self.active.unwrap_or(true),
            })
        })
    }
}

/// A change to a service; absent fields keep their value.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatchInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    /// Replaces the terms as a whole.
    pub terms: Option<ServiceTermsBody>,
}

impl Parse<domain::ServicePatch> for ServicePatchInput {
    fn parse(self) -> Result<domain::ServicePatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = match &self.name {
            Some(n) => errors.take(required_text("name", n, 200)).map(Some),
            None => Some(None),
        };
        let terms = match &self.terms {
            Some(t) => t.to_domain(&mut errors).map(Some),
            None => Some(None),
        };
        errors.finish(|| {
            Some(domain::ServicePatch {
                name: name?,
                active: self.active,
                terms: terms?,
            })
        })
    }
}

/// A carrier's service.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(complex)]
pub struct CarrierServiceBody {
    pub id: Uuid,
    pub carrier_id: Uuid,
    pub carrier_code: String,
    pub code: String,
    pub name: String,
    pub mode: TransportMode,
    pub currency: String,
    /// Same shape as in REST.
    #[graphql(skip)]
    pub terms: ServiceTermsBody,
    pub active: bool,
    pub version: i32,
}

#[async_graphql::ComplexObject]
impl CarrierServiceBody {
    /// The service's terms, in the same shape as REST's `terms` (zones,
    /// rates, minimum_charge, surcharges, fuel_percent, limits, cutoff,
    /// utc_offset, volumetric_divisor).
    #[graphql(name = "terms")]
    async fn terms_json(&self) -> async_graphql::Json<ServiceTermsBody> {
        async_graphql::Json(self.terms.clone())
    }
}

impl From<domain::CarrierService> for CarrierServiceBody {
    fn from(s: domain::CarrierService) -> Self {
        Self {
            id: s.id,
            carrier_id: s.carrier_id,
            carrier_code: s.carrier_code,
            code: s.code,
            name: s.name,
            mode: s.mode.into(),
            currency: s.currency,
            terms: s.terms.into(),
            active: s.active,
            version: s.version,
        }
    }
}

/// A carrier and its services.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct CarrierBody {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub version: i32,
    pub services: Vec<CarrierServiceBody>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<domain::Carrier> for CarrierBody {
    fn from(c: domain::Carrier) -> Self {
        Self {
            id: c.id,
            code: c.code,
            name: c.name,
            active: c.active,
            version: c.version,
            services: c.services.into_iter().map(Into::into).collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CarrierItems {
    pub items: Vec<CarrierBody>,
}

// ------------------------------------------------------------------ quotes

/// What to quote for.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// Packages of the order; every unshipped one when absent or empty.
    #[serde(default)]
    #[graphql(default)]
    pub package_ids: Vec<Uuid>,
    /// The handover time to quote for (cut-offs); now when absent.
    pub at: Option<DateTime<Utc>>,
}

impl Parse<domain::QuoteInput> for QuoteBody {
    fn parse(self) -> Result<domain::QuoteInput, Vec<FieldError>> {
        Ok(domain::QuoteInput {
            package_ids: self.package_ids,
            at: self.at,
        })
    }
}

/// What a consignment costs with a service.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject)]
pub struct ChargeBody {
    pub base: DecimalString,
    pub surcharges: DecimalString,
    /// Added to reach the minimum charge.
    pub minimum_uplift: DecimalString,
    pub fuel: DecimalString,
    pub total: DecimalString,
}

impl From<domain::Charge> for ChargeBody {
    fn from(c: domain::Charge) -> Self {
        Self {
            base: c.base.into(),
            surcharges: c.surcharges.into(),
            minimum_uplift: c.minimum_uplift.into(),
            fuel: c.fuel.into(),
            total: c.total.into(),
        }
    }
}

/// How the consignment was classified.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ProfileBody {
    pub total_weight_kg: DecimalString,
    pub total_volume_m3: DecimalString,
    pub declared_value: DecimalString,
    pub small: bool,
    pub heavy_or_bulky: bool,
    pub valuable: bool,
    pub urgent: bool,
    /// The rule applied, e.g. "bulky or heavy → road or rail".
    pub rule: String,
    pub preferred_modes: Vec<TransportMode>,
}

/// One service considered, with why it won or lost.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct CandidateBody {
    pub service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub mode: TransportMode,
    pub currency: String,
    pub zone: Option<String>,
    pub price: Option<ChargeBody>,
    pub ship_date: NaiveDate,
    pub estimated_delivery: Option<NaiveDate>,
    /// Serves the destination, in the order's currency, within its limits.
    pub carries: bool,
    /// Carries it and arrives by the deadline.
    pub qualifies: bool,
    pub preferred_mode: bool,
    pub won: bool,
    pub reasons: Vec<String>,
}

/// The selection engine's answer.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct SelectionBody {
    pub profile: ProfileBody,
    pub deadline: Option<NaiveDate>,
    pub chosen: Option<Uuid>,
    /// Nothing arrives by the deadline: the fastest service was taken.
    pub deadline_missed: bool,
    pub explanation: String,
    /// The winner first, then the others cheapest first.
    pub candidates: Vec<CandidateBody>,
}

impl From<domain::Selection> for SelectionBody {
    fn from(s: domain::Selection) -> Self {
        Self {
            profile: ProfileBody {
                total_weight_kg: s.profile.total_weight_kg.normalize().into(),
                total_volume_m3: s.profile.total_volume_m3.normalize().into(),
                declared_value: s.profile.declared_value.into(),
                small: s.profile.small,
                heavy_or_bulky: s.profile.heavy_or_bulky,
                valuable: s.profile.valuable,
                urgent: s.profile.urgent,
                rule: s.profile.rule,
                preferred_modes: s
                    .profile
                    .preferred_modes
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            },
            deadline: s.deadline,
            chosen: s.chosen,
            deadline_missed: s.deadline_missed,
            explanation: s.explanation,
            candidates: s
                .candidates
                .into_iter()
                .map(|c| CandidateBody {
                    service_id: c.service_id,
                    carrier_code: c.carrier_code,
                    service_code: c.service_code,
                    mode: c.mode.into(),
                    currency: c.currency,
                    zone: c.zone,
                    price: c.price.map(Into::into),
                    ship_date: c.ship_date,
                    estimated_delivery: c.estimated_delivery,
                    carries: c.carries,
                    qualifies: c.qualifies,
                    preferred_mode: c.preferred_mode,
                    won: c.won,
                    reasons: c.reasons,
                })
                .collect(),
        }
    }
}

// --------------------------------------------------------------- shipments

/// Packages handed to a carrier.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ShipmentInput {
    /// Packages of the order; every unshipped one when absent or empty.
    #[serde(default)]
    #[graphql(default)]
    pub package_ids: Vec<Uuid>,
    /// The service; the selection engine's choice when absent.
    pub carrier_service_id: Option<Uuid>,
    /// Required when `carrier_service_id` is not the engine's choice.
    pub override_reason: Option<String>,
    /// Printable ASCII, at most 30 characters (it is printed as a Code 128
    /// barcode on the label).
    #[schema(example = "SF1234567890")]
    pub tracking_number: String,
    /// When the carrier took the goods; now when absent.
    pub handed_over_at: Option<DateTime<Utc>>,
}

impl Parse<domain::NewShipment> for ShipmentInput {
    fn parse(self) -> Result<domain::NewShipment, Vec<FieldError>> {
        let mut errors = Violations::new();
        let tracking = errors.take(required_text("tracking_number", &self.tracking_number, 30));
        if tracking
            .as_deref()
            .is_some_and(|t| t.chars().any(|c| !c.is_ascii_graphic()))
        {
            errors.push(
                "tracking_number",
                "invalid",
                "letters, digits and punctuation only (it is printed as a Code 128 barcode)",
            );
        }
        let reason = errors.take(optional_text(
            "override_reason",
            self.override_reason.as_deref(),
            500,
        ));
        if self.package_ids.len() > 500 {
            errors.push("package_ids", "out_of_range", "at most 500 packages");
        }
        errors.finish(|| {
            Some(domain::NewShipment {
                package_ids: self.package_ids,
                carrier_service_id: self.carrier_service_id,
                override_reason: reason?,
                tracking_number: tracking?,
                handed_over_at: self.handed_over_at,
            })
        })
    }
}

/// Staff chose another service than the engine.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct OverrideBody {
    pub engine_choice: Option<Uuid>,
    pub reason: String,
    pub by: String,
}

/// Who received a shipment, when and where.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ProofOfDeliveryBody {
    pub signed_by: Option<String>,
    pub at: DateTime<Utc>,
    pub location: Option<String>,
    /// The courier source, or `manual`.
    pub source: String,
}

/// Packages of an order under one carrier service and tracking number.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ShipmentBody {
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier_service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub tracking_number: String,
    pub status: ShipmentStatus,
    /// When the event that set `status` happened.
    pub status_at: Option<DateTime<Utc>>,
    pub handed_over_at: DateTime<Utc>,
    pub price: DecimalString,
    pub currency: String,
    pub estimated_delivery: Option<NaiveDate>,
    pub package_ids: Vec<Uuid>,
    /// The engine's candidates and verdict when the shipment was made.
    pub selection: SelectionBody,
    #[serde(rename = "override")]
    #[graphql(name = "override")]
    pub override_: Option<OverrideBody>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub proof_of_delivery: Option<ProofOfDeliveryBody>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

impl From<domain::Shipment> for ShipmentBody {
    fn from(s: domain::Shipment) -> Self {
        Self {
            id: s.id,
            order_id: s.order_id,
            carrier_service_id: s.carrier_service_id,
            carrier_code: s.carrier_code,
            service_code: s.service_code,
            tracking_number: s.tracking_number,
            status: s.status.into(),
            status_at: s.status_at,
            handed_over_at: s.handed_over_at,
            price: s.price.into(),
            currency: s.currency,
            estimated_delivery: s.estimated_delivery,
            package_ids: s.package_ids,
            selection: s.selection.into(),
            override_: s.r#override.map(|o| OverrideBody {
                engine_choice: o.engine_choice,
                reason: o.reason,
                by: o.by,
            }),
            delivered_at: s.delivered_at,
            proof_of_delivery: s.proof_of_delivery.map(|p| ProofOfDeliveryBody {
                signed_by: p.signed_by,
                at: p.at,
                location: p.location,
                source: p.source,
            }),
            version: s.version,
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentItems {
    pub items: Vec<ShipmentBody>,
}

// ---------------------------------------------------------------- tracking

/// A tracking event recorded by hand (a phone update from the courier).
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[graphql(name = "TrackingEventInput")]
#[serde(deny_unknown_fields)]
pub struct TrackingEventInput {
    pub status: TrackingEventStatus,
    /// When it happened; now when absent.
    pub occurred_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub location: Option<String>,
    /// Who signed for it (with `delivered`: the proof of delivery).
    pub signed_by: Option<String>,
}

impl Parse<domain::NewTrackingEvent> for TrackingEventInput {
    fn parse(self) -> Result<domain::NewTrackingEvent, Vec<FieldError>> {
        let mut errors = Violations::new();
        let message = errors.take(optional_text("message", self.message.as_deref(), 1000));
        let location = errors.take(optional_text("location", self.location.as_deref(), 200));
        let signed_by = errors.take(optional_text("signed_by", self.signed_by.as_deref(), 200));
        errors.finish(|| {
            Some(domain::NewTrackingEvent {
                status: self.status.into(),
                occurred_at: self.occurred_at,
                message: message?,
                location: location?,
                signed_by: signed_by?,
            })
        })
    }
}

/// One entry of a shipment's tracking timeline.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct TrackingEntryBody {
    pub id: Uuid,
    pub shipment_id: Uuid,
    /// aftership, easypost, kuaidi100, sf_express, 17track or manual.
    pub source: String,
    pub status: TrackingEventStatus,
    /// The courier's own code.
    pub raw_status: String,
    pub message: Option<String>,
    pub location: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub signed_by: Option<String>,
    /// Whether it moved the shipment's status (a late event does not).
    pub applied: bool,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

impl From<domain::TrackingEntry> for TrackingEntryBody {
    fn from(e: domain::TrackingEntry) -> Self {
        Self {
            id: e.id,
            shipment_id: e.shipment_id,
            source: e.source,
            status: e.status.into(),
            raw_status: e.raw_status,
            message: e.message,
            location: e.location,
            occurred_at: e.occurred_at,
            signed_by: e.signed_by,
            applied: e.applied,
            recorded_by: e.recorded_by,
            recorded_at: e.recorded_at,
        }
    }
}

/// A shipment's tracking timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingItems {
    pub shipment_id: Uuid,
    pub status: ShipmentStatus,
    pub items: Vec<TrackingEntryBody>,
}

// ------------------------------------------------------- courier accounts

/// A courier tracking feed to register.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct CourierAccountInput {
    /// aftership, easypost, kuaidi100, sf_express or 17track.
    #[schema(example = "easypost")]
    pub source: String,
    #[schema(example = "EasyPost production")]
    pub name: String,
    /// The secret the courier signs pushes with (Kuaidi100: the salt;
    /// 17TRACK: the API key; SF Express: the `token` of the callback URL).
    pub webhook_secret: String,
}

impl Parse<domain::NewCourierAccount> for CourierAccountInput {
    fn parse(self) -> Result<domain::NewCourierAccount, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = errors.take(required_text("name", &self.name, 200));
        let secret = errors.take(required_text("webhook_secret", &self.webhook_secret, 500));
        errors.finish(|| {
            Some(domain::NewCourierAccount {
                source: self.source.trim().to_owned(),
                name: name?,
                webhook_secret: secret?,
            })
        })
    }
}

/// A courier tracking feed (its secret is never returned).
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct CourierAccountBody {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub active: bool,
    /// Where the courier must push tracking:
    /// `/api/v1/webhooks/couriers/{source}/{id}` on this server.
    pub webhook_url: String,
    pub created_at: DateTime<Utc>,
}

impl CourierAccountBody {
    /// With `base` (scheme and host, no trailing slash) before the path.
    pub fn new(a: domain::CourierAccount, base: &str) -> Self {
        Self {
            webhook_url: format!("{base}{}", a.webhook_path),
            id: a.id,
            source: a.source,
            name: a.name,
            active: a.active,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierAccountItems {
    pub items: Vec<CourierAccountBody>,
}

/// One verified push, as received.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct CourierPushBody {
    pub id: Uuid,
    /// The courier's event id, or `sha256:<digest of the body>`.
    pub event_id: String,
    pub tracking_number: Option<String>,
    pub shipment_id: Option<Uuid>,
    /// `applied`, `stale` (older than what was known), `unknown_tracking`,
    /// `ambiguous_tracking`, `ignored` (nothing to track) or `malformed`.
    pub outcome: String,
    /// The body as received.
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

impl From<domain::CourierPush> for CourierPushBody {
    fn from(p: domain::CourierPush) -> Self {
        Self {
            id: p.id,
            event_id: p.event_id,
            tracking_number: p.tracking_number,
            shipment_id: p.shipment_id,
            outcome: p.outcome,
            payload: p.payload,
            received_at: p.received_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CourierPushItems {
    pub items: Vec<CourierPushBody>,
}

// --------------------------------------------------------------- manifests

/// One shipment on a manifest.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ManifestEntryBody {
    pub shipment_id: Uuid,
    pub order_id: Uuid,
    pub order_number: Option<String>,
    pub service_code: String,
    pub tracking_number: String,
    pub handed_over_at: DateTime<Utc>,
    pub packages: u32,
    pub weight_kg: DecimalString,
    pub price: DecimalString,
    pub currency: String,
    pub ship_to: String,
}

/// A carrier's shipments handed over on one local day.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ManifestBody {
    pub carrier_code: String,
    pub date: NaiveDate,
    pub utc_offset: String,
    pub shipments: Vec<ManifestEntryBody>,
    pub packages: u32,
    pub weight_kg: DecimalString,
}

impl From<domain::Manifest> for ManifestBody {
    fn from(m: domain::Manifest) -> Self {
        Self {
            carrier_code: m.carrier_code,
            date: m.date,
            utc_offset: m.utc_offset.to_string(),
            packages: u32::try_from(m.packages).unwrap_or(u32::MAX),
            weight_kg: m.weight_kg.into(),
            shipments: m
                .shipments
                .into_iter()
                .map(|e| ManifestEntryBody {
                    shipment_id: e.shipment_id,
                    order_id: e.order_id,
                    order_number: e.order_number,
                    service_code: e.service_code,
                    tracking_number: e.tracking_number,
                    handed_over_at: e.handed_over_at,
                    packages: u32::try_from(e.packages).unwrap_or(u32::MAX),
                    weight_kg: e.weight_kg.into(),
                    price: e.price.into(),
                    currency: e.currency,
                    ship_to: e.ship_to,
                })
                .collect(),
        }
    }
}

/// Parses a manifest's `utc_offset` query value.
pub fn offset_param(text: Option<&str>) -> Result<Option<FixedOffset>, Vec<FieldError>> {
    match text {
        None => Ok(None),
        Some(t) => parse_offset(t).map(Some).ok_or_else(|| {
            let mut errors = Violations::new();
            errors.push("utc_offset", "invalid", "an offset such as +08:00");
            errors.into_errors()
        }),
    }
}
