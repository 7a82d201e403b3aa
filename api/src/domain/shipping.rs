//! Shipping: carriers' services and their terms, the rate arithmetic, the
//! carrier selection engine, packaging requirements and the tracking rules.
//!
//! The selection engine follows the process document: small, high-value or
//! urgent consignments go express; bulky or heavy ones by road or rail;
//! urgent *and* valuable ones by air. Services are then filtered by their
//! limits and by whether they arrive before the deadline, and the cheapest
//! that does wins. Every candidate is reported with its price, its ETA and
//! why it won or lost.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::catalog::ProductTraits;

pub use dingdan_integrations::couriers::TrackingStatus;

/// How a service moves goods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportMode {
    Express,
    Road,
    Rail,
    Air,
}

impl TransportMode {
    pub const ALL: [TransportMode; 4] = [
        TransportMode::Express,
        TransportMode::Road,
        TransportMode::Rail,
        TransportMode::Air,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            TransportMode::Express => "express",
            TransportMode::Road => "road",
            TransportMode::Rail => "rail",
            TransportMode::Air => "air",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Bounds of a rate card: amounts, weights and transit days beyond these are
/// refused, which keeps every sum and product far from overflowing.
const MAX_AMOUNT: i64 = 10_000_000;
const MAX_KG: i64 = 1_000_000;
const MAX_TRANSIT_DAYS: u32 = 365;

/// Which destinations belong to a zone: a country, optionally narrowed to
/// regions (provinces, states) and cities. Rules are tried in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRule {
    pub zone: String,
    pub country: String,
    #[serde(default)]
    pub regions: Vec<String>,
    #[serde(default)]
    pub cities: Vec<String>,
}

impl ZoneRule {
    fn matches(&self, to: &Destination) -> bool {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        same(&self.country, &to.country)
            && (self.regions.is_empty()
                || to
                    .region
                    .as_deref()
                    .is_some_and(|r| self.regions.iter().any(|x| same(x, r))))
            && (self.cities.is_empty() || self.cities.iter().any(|c| same(c, &to.city)))
    }
}

/// One step of a rate card: parcels up to this weight cost this much.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightBreak {
    pub up_to_kg: Decimal,
    pub price: Decimal,
}

/// A zone's rates and transit time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneRate {
    pub zone: String,
    /// Calendar days from handover to delivery.
    pub transit_days: u32,
    /// Ascending by weight.
    pub breaks: Vec<WeightBreak>,
    /// Beyond the last break, per started kilogram; without it heavier
    /// parcels are not carried.
    #[serde(default)]
    pub extra_per_kg: Option<Decimal>,
}

/// Flat amounts added per parcel holding goods with the trait.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Surcharges {
    #[serde(default)]
    pub fragile: Decimal,
    #[serde(default)]
    pub liquid: Decimal,
    #[serde(default)]
    pub hazardous: Decimal,
}

/// What a service will not carry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Per parcel (chargeable weight).
    #[serde(default)]
    pub max_weight_kg: Option<Decimal>,
    /// Declared value of the whole shipment.
    #[serde(default)]
    pub max_value: Option<Decimal>,
    #[serde(default)]
    pub hazardous_allowed: bool,
}

/// A service's terms, stored as one document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTerms {
    pub zones: Vec<ZoneRule>,
    pub rates: Vec<ZoneRate>,
    /// Per parcel, before fuel.
    #[serde(default)]
    pub minimum_charge: Decimal,
    #[serde(default)]
    pub surcharges: Surcharges,
    /// Fuel surcharge in percent of each parcel's charge.
    #[serde(default)]
    pub fuel_percent: Decimal,
    #[serde(default)]
    pub limits: Limits,
    /// Handed over after this local time, goods leave the next day.
    pub cutoff: NaiveTime,
    /// The local time's offset from UTC, e.g. `+08:00`.
    #[serde(with = "offset_text")]
    pub utc_offset: FixedOffset,
    /// Volumetric weight = L × W × H (cm) / divisor, when the service
    /// charges by volume (5000 or 6000 are usual).
    #[serde(default)]
    pub volumetric_divisor: Option<u32>,
}

impl ServiceTerms {
    /// Problems with the terms, as `(path, message)`. Amounts, weights and
    /// days are bounded so that no arithmetic on them can overflow.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        let amount = Decimal::from(MAX_AMOUNT);
        let kg = Decimal::from(MAX_KG);
        let mut over = |path: String, value: Decimal, max: Decimal| {
            if value > max {
                problems.push((path, format!("at most {max}")));
            }
        };
        for (i, rate) in self.rates.iter().enumerate() {
            for (j, b) in rate.breaks.iter().enumerate() {
                over(format!("rates[{i}].breaks[{j}].up_to_kg"), b.up_to_kg, kg);
                over(format!("rates[{i}].breaks[{j}].price"), b.price, amount);
            }
            if let Some(extra) = rate.extra_per_kg {
                over(format!("rates[{i}].extra_per_kg"), extra, amount);
            }
            over(
                format!("rates[{i}].transit_days"),
                Decimal::from(rate.transit_days),
                Decimal::from(MAX_TRANSIT_DAYS),
            );
        }
        for (path, value) in [
            ("minimum_charge", self.minimum_charge),
            ("surcharges.fragile", self.surcharges.fragile),
            ("surcharges.liquid", self.surcharges.liquid),
            ("surcharges.hazardous", self.surcharges.hazardous),
        ] {
            over(path.to_owned(), value, amount);
        }
        if let Some(max) = self.limits.max_weight_kg {
            over("limits.max_weight_kg".to_owned(), max, kg);
        }
        if self.volumetric_divisor.is_some_and(|d| d > 1_000_000) {
            problems.push(("volumetric_divisor".into(), "at most 1000000".into()));
        }
        if self.zones.is_empty() {
            problems.push(("zones".into(), "at least one zone rule".into()));
        }
        if self.rates.is_empty() {
            problems.push(("rates".into(), "at least one zone's rates".into()));
        }
        for (i, z) in self.zones.iter().enumerate() {
            if !self.rates.iter().any(|r| r.zone == z.zone) {
                problems.push((
                    format!("zones[{i}].zone"),
                    format!("zone {:?} has no rates", z.zone),
                ));
            }
        }
        for (i, rate) in self.rates.iter().enumerate() {
            if rate.breaks.is_empty() {
                problems.push((format!("rates[{i}].breaks"), "at least one break".into()));
            }
            let mut last = Decimal::ZERO;
            for (j, b) in rate.breaks.iter().enumerate() {
                if b.up_to_kg <= last {
                    problems.push((
                        format!("rates[{i}].breaks[{j}].up_to_kg"),
                        "weights must be positive and ascending".into(),
                    ));
                }
                if b.price.is_sign_negative() {
                    problems.push((
                        format!("rates[{i}].breaks[{j}].price"),
                        "must not be negative".into(),
                    ));
                }
                last = b.up_to_kg;
            }
            if rate.extra_per_kg.is_some_and(|x| x.is_sign_negative()) {
                problems.push((
                    format!("rates[{i}].extra_per_kg"),
                    "must not be negative".into(),
                ));
            }
            if self.rates[..i].iter().any(|r| r.zone == rate.zone) {
                problems.push((format!("rates[{i}].zone"), "zone listed twice".into()));
            }
        }
        for (path, value) in [
            ("minimum_charge", self.minimum_charge),
            ("surcharges.fragile", self.surcharges.fragile),
            ("surcharges.liquid", self.surcharges.liquid),
            ("surcharges.hazardous", self.surcharges.hazardous),
            ("fuel_percent", self.fuel_percent),
        ] {
            if value.is_sign_negative() {
                problems.push((path.into(), "must not be negative".into()));
            }
        }
        if self.fuel_percent > Decimal::ONE_HUNDRED {
            problems.push(("fuel_percent".into(), "at most 100".into()));
        }
        if self.volumetric_divisor == Some(0) {
            problems.push(("volumetric_divisor".into(), "must be positive".into()));
        }
        problems
    }

    /// The zone a destination falls in.
    pub fn zone_of(&self, to: &Destination) -> Option<&ZoneRate> {
        let rule = self.zones.iter().find(|z| z.matches(to))?;
        self.rates.iter().find(|r| r.zone == rule.zone)
    }

    /// The weight a parcel is charged by.
    pub fn chargeable_kg(&self, parcel: &Parcel) -> Decimal {
        let volumetric = self.volumetric_divisor.map_or(Decimal::ZERO, |d| {
            parcel.length_cm * parcel.width_cm * parcel.height_cm / Decimal::from(d)
        });
        parcel.weight_kg.max(volumetric)
    }

    /// One parcel's charge in a zone, or why it cannot be carried.
    pub fn parcel_charge(&self, zone: &ZoneRate, parcel: &Parcel) -> Result<Charge, String> {
        let weight = self.chargeable_kg(parcel);
        let base = match zone.breaks.iter().find(|b| weight <= b.up_to_kg) {
            Some(step) => step.price,
            None => {
                let last = zone
                    .breaks
                    .last()
                    .ok_or_else(|| "its rate card is empty".to_owned())?;
                let extra = zone.extra_per_kg.ok_or_else(|| {
                    format!(
                        "{} kg is above its rate card ({} kg at most)",
                        weight.normalize(),
                        last.up_to_kg.normalize()
                    )
                })?;
                last.price + (weight - last.up_to_kg).ceil() * extra
            }
        };
        let mut surcharges = Decimal::ZERO;
        if parcel.traits.fragile {
            surcharges += self.surcharges.fragile;
        }
        if parcel.traits.liquid {
            surcharges += self.surcharges.liquid;
        }
        if parcel.traits.hazardous {
            surcharges += self.surcharges.hazardous;
        }
        let before_minimum = base + surcharges;
        let minimum_uplift = (self.minimum_charge - before_minimum).max(Decimal::ZERO);
        let subtotal = before_minimum + minimum_uplift;
        let fuel = round(subtotal * self.fuel_percent / Decimal::ONE_HUNDRED);
        Ok(Charge {
            base,
            surcharges,
            minimum_uplift,
            fuel,
            total: round(subtotal) + fuel,
        })
    }

    /// The day goods handed over at `at` leave.
    pub fn ship_date(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at.with_timezone(&self.utc_offset);
        let day = local.date_naive();
        if local.time() > self.cutoff {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        }
    }
}

/// A UTC offset stored as its text, `+08:00`.
mod offset_text {
    use chrono::FixedOffset;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(offset: &FixedOffset, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(offset)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FixedOffset, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

fn round(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// What a parcel costs, and why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charge {
    pub base: Decimal,
    pub surcharges: Decimal,
    /// Added to reach the minimum charge.
    pub minimum_uplift: Decimal,
    pub fuel: Decimal,
    pub total: Decimal,
}

impl std::ops::Add for Charge {
    type Output = Charge;
    fn add(self, other: Charge) -> Charge {
        Charge {
            base: self.base + other.base,
            surcharges: self.surcharges + other.surcharges,
            minimum_uplift: self.minimum_uplift + other.minimum_uplift,
            fuel: self.fuel + other.fuel,
            total: self.total + other.total,
        }
    }
}

/// Where a consignment goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub country: String,
    pub region: Option<String>,
    pub city: String,
}

/// Handling traits that matter to carriers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParcelTraits {
    pub fragile: bool,
    pub liquid: bool,
    pub hazardous: bool,
}

impl ParcelTraits {
    pub fn of(product: &ProductTraits) -> Self {
        Self {
            fragile: product.fragile,
            liquid: product.liquid,
            hazardous: product.hazardous,
        }
    }

    pub fn union(self, other: Self) -> Self {
        Self {
            fragile: self.fragile || other.fragile,
            liquid: self.liquid || other.liquid,
            hazardous: self.hazardous || other.hazardous,
        }
    }
}

/// One parcel to quote for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parcel {
    pub weight_kg: Decimal,
    pub length_cm: Decimal,
    pub width_cm: Decimal,
    pub height_cm: Decimal,
    pub declared_value: Decimal,
    pub traits: ParcelTraits,
}

/// A carrier service as the engine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceOffer {
    pub service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub mode: TransportMode,
    pub currency: String,
    pub terms: ServiceTerms,
}

/// The thresholds behind the rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionPolicy {
    /// At most this total weight (kg) is a small consignment.
    pub small_max_kg: Decimal,
    /// From this total weight (kg) a consignment is heavy.
    pub heavy_min_kg: Decimal,
    /// From this total volume (m³) a consignment is bulky.
    pub bulky_min_m3: Decimal,
    /// From this declared value a consignment is valuable.
    pub valuable_min: Decimal,
    /// A deadline this many days away or fewer is urgent.
    pub urgent_within_days: i64,
}

impl Default for SelectionPolicy {
    fn default() -> Self {
        Self {
            small_max_kg: Decimal::from(5),
            heavy_min_kg: Decimal::from(100),
            bulky_min_m3: Decimal::new(5, 1),
            valuable_min: Decimal::from(5000),
            urgent_within_days: 2,
        }
    }
}

/// What is asked of the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteRequest {
    pub parcels: Vec<Parcel>,
    pub destination: Destination,
    /// The promised date the goods must arrive by.
    pub deadline: Option<NaiveDate>,
    /// Prices are compared in this currency; services in another are not
    /// candidates.
    pub currency: String,
    /// When the goods would be handed over.
    pub at: DateTime<Utc>,
}

/// How the consignment was classified, and which modes the rules prefer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub total_weight_kg: Decimal,
    pub total_volume_m3: Decimal,
    pub declared_value: Decimal,
    pub small: bool,
    pub heavy_or_bulky: bool,
    pub valuable: bool,
    pub urgent: bool,
    /// The rule applied, in words.
    pub rule: String,
    pub preferred_modes: Vec<TransportMode>,
}

/// One service considered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub mode: TransportMode,
    pub currency: String,
    pub zone: Option<String>,
    /// Absent when the service cannot carry the consignment at all.
    pub price: Option<Charge>,
    pub ship_date: NaiveDate,
    pub estimated_delivery: Option<NaiveDate>,
    /// Can carry it: serves the destination, in the currency, within its
    /// limits (whatever the deadline).
    pub carries: bool,
    /// Carries it and arrives by the deadline.
    pub qualifies: bool,
    pub preferred_mode: bool,
    pub won: bool,
    /// Why it won or lost, in words.
    pub reasons: Vec<String>,
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub profile: Profile,
    pub deadline: Option<NaiveDate>,
    pub chosen: Option<Uuid>,
    /// Nothing arrives by the deadline: the fastest that can carry it was
    /// taken.
    pub deadline_missed: bool,
    pub explanation: String,
    /// Cheapest first, the winner first of all.
    pub candidates: Vec<Candidate>,
}

fn volume_m3(p: &Parcel) -> Decimal {
    p.length_cm * p.width_cm * p.height_cm / Decimal::from(1_000_000)
}

/// Classifies a consignment by the process document's rules.
pub fn profile(request: &QuoteRequest, policy: &SelectionPolicy, today: NaiveDate) -> Profile {
    let total_weight_kg: Decimal = request.parcels.iter().map(|p| p.weight_kg).sum();
    let total_volume_m3: Decimal = request.parcels.iter().map(volume_m3).sum();
    let declared_value: Decimal = request.parcels.iter().map(|p| p.declared_value).sum();
    let heavy_or_bulky =
        total_weight_kg >= policy.heavy_min_kg || total_volume_m3 >= policy.bulky_min_m3;
    let small = !heavy_or_bulky && total_weight_kg <= policy.small_max_kg;
    let valuable = declared_value >= policy.valuable_min;
    let urgent = request
        .deadline
        .is_some_and(|d| (d - today).num_days() <= policy.urgent_within_days);
    use TransportMode::*;
    let (rule, preferred_modes) = if urgent && valuable {
        ("urgent and valuable → air", vec![Air])
    } else if heavy_or_bulky {
        ("bulky or heavy → road or rail", vec![Road, Rail])
    } else if small || valuable || urgent {
        let why = match (small, valuable, urgent) {
            (_, true, _) => "valuable → express",
            (_, _, true) => "urgent → express",
            _ => "small → express",
        };
        (why, vec![Express])
    } else {
        ("no rule applies → any mode", TransportMode::ALL.to_vec())
    };
    Profile {
        total_weight_kg,
        total_volume_m3,
        declared_value,
        small,
        heavy_or_bulky,
        valuable,
        urgent,
        rule: rule.to_owned(),
        preferred_modes,
    }
}

/// Chooses a service for a consignment; see the module's documentation.
pub fn select(
    request: &QuoteRequest,
    services: &[ServiceOffer],
    policy: &SelectionPolicy,
) -> Selection {
    // "Today" is the handover day where most services are; the rules only
    // need whole days, so UTC+8 vs UTC differences rarely matter, but take
    // the first service's offset to be consistent with its ship dates.
    let today = services.first().map_or(request.at.date_naive(), |s| {
        request.at.with_timezone(&s.terms.utc_offset).date_naive()
    });
    let profile = profile(request, policy, today);
    let declared: Decimal = profile.declared_value;
    let hazardous = request.parcels.iter().any(|p| p.traits.hazardous);
    let mut candidates: Vec<Candidate> = services
        .iter()
        .map(|s| {
            let mut reasons = Vec::new();
            let mut carries = true;
            let preferred_mode = profile.preferred_modes.contains(&s.mode);
            if !s.currency.eq_ignore_ascii_case(&request.currency) {
                carries = false;
                reasons.push(format!(
                    "priced in {}, the order is in {}",
                    s.currency, request.currency
                ));
            }
            let zone = s.terms.zone_of(&request.destination);
            let mut price: Option<Charge> = None;
            match zone {
                None => {
                    carries = false;
                    reasons.push(format!(
                        "does not serve {}, {}",
                        request.destination.city, request.destination.country
                    ));
                }
                Some(zone) => {
                    let mut total = Charge::default();
                    let mut ok = true;
                    for (i, parcel) in request.parcels.iter().enumerate() {
                        let weight = s.terms.chargeable_kg(parcel);
                        if let Some(max) = s.terms.limits.max_weight_kg
                            && weight > max
                        {
                            ok = false;
                            reasons.push(format!(
                                "parcel {} weighs {} kg, over its {} kg limit",
                                i + 1,
                                weight.normalize(),
                                max.normalize()
                            ));
                            continue;
                        }
                        match s.terms.parcel_charge(zone, parcel) {
                            Ok(charge) => total = total + charge,
                            Err(why) => {
                                ok = false;
                                reasons.push(format!("parcel {}: {why}", i + 1));
                            }
                        }
                    }
                    if ok {
                        price = Some(total);
                    } else {
                        carries = false;
                    }
                }
            }
            if let Some(max) = s.terms.limits.max_value
                && declared > max
            {
                carries = false;
                reasons.push(format!(
                    "declared value {} is over its {} limit",
                    declared.normalize(),
                    max.normalize()
                ));
            }
            if hazardous && !s.terms.limits.hazardous_allowed {
                carries = false;
                reasons.push("does not carry hazardous goods".to_owned());
            }
            let ship_date = s.terms.ship_date(request.at);
            let estimated_delivery = zone.map(|z| {
                ship_date
                    .checked_add_days(chrono::Days::new(u64::from(z.transit_days)))
                    .unwrap_or(ship_date)
            });
            let on_time = match (request.deadline, estimated_delivery) {
                (Some(deadline), Some(eta)) => eta <= deadline,
                _ => true,
            };
            if carries
                && !on_time
                && let (Some(deadline), Some(eta)) = (request.deadline, estimated_delivery)
            {
                reasons.push(format!("arrives {eta}, after the deadline {deadline}"));
            }
            if !preferred_mode {
                reasons.push(format!(
                    "{} is not a preferred mode ({})",
                    s.mode.as_str(),
                    profile.rule
                ));
            }
            Candidate {
                service_id: s.service_id,
                carrier_code: s.carrier_code.clone(),
                service_code: s.service_code.clone(),
                mode: s.mode,
                currency: s.currency.clone(),
                zone: zone.map(|z| z.zone.clone()),
                price,
                ship_date,
                estimated_delivery,
                carries,
                qualifies: carries && on_time,
                preferred_mode,
                won: false,
                reasons,
            }
        })
        .collect();
    let cost = |c: &Candidate| c.price.map_or(Decimal::MAX, |p| p.total);
    let by_price = |a: &&Candidate, b: &&Candidate| {
        cost(a)
            .cmp(&cost(b))
            .then(a.estimated_delivery.cmp(&b.estimated_delivery))
            .then(a.carrier_code.cmp(&b.carrier_code))
            .then(a.service_code.cmp(&b.service_code))
    };
    let preferred = candidates
        .iter()
        .filter(|c| c.qualifies && c.preferred_mode)
        .min_by(by_price);
    let fallback = || candidates.iter().filter(|c| c.qualifies).min_by(by_price);
    let (winner, explanation, deadline_missed) = if let Some(w) = preferred {
        (
            Some(w.service_id),
            format!(
                "{} {}: the cheapest {} service that arrives in time ({})",
                w.carrier_code,
                w.service_code,
                w.mode.as_str(),
                profile.rule
            ),
            false,
        )
    } else if let Some(w) = fallback() {
        (
            Some(w.service_id),
            format!(
                "{} {}: no service of a preferred mode ({}) qualifies; the cheapest other that arrives in time",
                w.carrier_code, w.service_code, profile.rule
            ),
            false,
        )
    } else if let Some(w) = candidates.iter().filter(|c| c.carries).min_by(|a, b| {
        a.estimated_delivery
            .cmp(&b.estimated_delivery)
            .then(cost(a).cmp(&cost(b)))
            .then(a.carrier_code.cmp(&b.carrier_code))
    }) {
        (
            Some(w.service_id),
            format!(
                "{} {}: nothing arrives by the deadline; the fastest service that can carry it",
                w.carrier_code, w.service_code
            ),
            true,
        )
    } else {
        (
            None,
            "no service can carry this consignment".to_owned(),
            false,
        )
    };
    let winner_price = winner
        .and_then(|id| candidates.iter().find(|c| c.service_id == id))
        .map(cost);
    for c in &mut candidates {
        if Some(c.service_id) == winner {
            c.won = true;
            c.reasons.insert(0, "chosen: ".to_owned() + &explanation);
        } else if c.qualifies
            && c.preferred_mode
            && let Some(best) = winner_price
        {
            c.reasons
                .push(format!("dearer than the winner ({} > {})", cost(c), best));
        }
    }
    candidates.sort_by(|a, b| {
        b.won
            .cmp(&a.won)
            .then(b.qualifies.cmp(&a.qualifies))
            .then(cost(a).cmp(&cost(b)))
            .then(a.carrier_code.cmp(&b.carrier_code))
            .then(a.service_code.cmp(&b.service_code))
    });
    Selection {
        profile,
        deadline: request.deadline,
        chosen: winner,
        deadline_missed,
        explanation,
        candidates,
    }
}

/// A protective measure a package may need.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Fragile goods: shock-proof packing.
    ShockProof,
    /// Liquids: sealed packing.
    Sealed,
    /// Hazardous goods: marked as such.
    HazardMarked,
}

impl Measure {
    pub const ALL: [Measure; 3] = [Measure::ShockProof, Measure::Sealed, Measure::HazardMarked];

    pub fn as_str(&self) -> &'static str {
        match self {
            Measure::ShockProof => "shock_proof",
            Measure::Sealed => "sealed",
            Measure::HazardMarked => "hazard_marked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Why a package needs it.
    pub fn because(&self) -> &'static str {
        match self {
            Measure::ShockProof => "fragile goods need shock-proof packing",
            Measure::Sealed => "liquids need sealed packing",
            Measure::HazardMarked => "hazardous goods must be marked",
        }
    }
}

/// The measures goods with these traits need.
pub fn required_measures(traits: ParcelTraits) -> Vec<Measure> {
    let mut needed = Vec::new();
    if traits.fragile {
        needed.push(Measure::ShockProof);
    }
    if traits.liquid {
        needed.push(Measure::Sealed);
    }
    if traits.hazardous {
        needed.push(Measure::HazardMarked);
    }
    needed
}

/// Whether a tracking event moves a shipment from `current` (set by an event
/// at `current_at`) to `new` (an event at `new_at`). Delivered and returned
/// are final: nothing overwrites them. Otherwise the later event wins, and
/// an event without a time only moves forward.
pub fn tracking_applies(
    current: Option<TrackingStatus>,
    current_at: Option<DateTime<Utc>>,
    new: TrackingStatus,
    new_at: Option<DateTime<Utc>>,
) -> bool {
    let Some(current) = current else {
        return true;
    };
    if current.is_terminal() {
        return false;
    }
    if new.is_terminal() {
        return true;
    }
    match (current_at, new_at) {
        (Some(was), Some(now)) => now >= was,
        _ => new.rank() >= current.rank(),
    }
}

/// A carrier to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCarrier {
    pub code: String,
    pub name: String,
}

/// A carrier and its services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carrier {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub active: bool,
    pub version: i32,
    pub services: Vec<CarrierService>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A service to add to a carrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewService {
    pub code: String,
    pub name: String,
    pub mode: TransportMode,
    pub currency: String,
    pub terms: ServiceTerms,
    pub active: bool,
}

/// A change to a service; `None` keeps the current value.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ServicePatch {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub terms: Option<ServiceTerms>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarrierService {
    pub id: Uuid,
    pub carrier_id: Uuid,
    pub carrier_code: String,
    pub code: String,
    pub name: String,
    pub mode: TransportMode,
    pub currency: String,
    pub terms: ServiceTerms,
    pub active: bool,
    pub version: i32,
}

/// What to quote for: some packages of an order (all unshipped ones when
/// empty), handed over at `at` (now when absent).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct QuoteInput {
    pub package_ids: Vec<Uuid>,
    pub at: Option<DateTime<Utc>>,
}

/// A shipment to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewShipment {
    /// Empty: every packed package not shipped yet.
    pub package_ids: Vec<Uuid>,
    /// Without it the engine's choice is taken; another service than the
    /// engine's needs `override_reason`.
    pub carrier_service_id: Option<Uuid>,
    pub override_reason: Option<String>,
    pub tracking_number: String,
    pub handed_over_at: Option<DateTime<Utc>>,
}

/// Staff chose another service than the engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub engine_choice: Option<Uuid>,
    pub reason: String,
    pub by: String,
}

/// Who received a shipment, when and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofOfDelivery {
    pub signed_by: Option<String>,
    pub at: DateTime<Utc>,
    pub location: Option<String>,
    /// The courier source, or `manual`.
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub carrier_service_id: Uuid,
    pub carrier_code: String,
    pub service_code: String,
    pub tracking_number: String,
    /// `None` until a first tracking event.
    pub status: Option<TrackingStatus>,
    pub status_at: Option<DateTime<Utc>>,
    pub handed_over_at: DateTime<Utc>,
    pub price: Decimal,
    pub currency: String,
    pub estimated_delivery: Option<NaiveDate>,
    pub package_ids: Vec<Uuid>,
    pub selection: Selection,
    pub r#override: Option<Override>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub proof_of_delivery: Option<ProofOfDelivery>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A tracking event recorded by hand (a phone update).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTrackingEvent {
    pub status: TrackingStatus,
    pub occurred_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub location: Option<String>,
    pub signed_by: Option<String>,
}

/// One entry of a shipment's tracking timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackingEntry {
    pub id: Uuid,
    pub shipment_id: Uuid,
    pub source: String,
    pub status: TrackingStatus,
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

/// A courier tracking feed to register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCourierAccount {
    pub source: String,
    pub name: String,
    pub webhook_secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourierAccount {
    pub id: Uuid,
    pub source: String,
    pub name: String,
    pub active: bool,
    /// Where the courier must push: `/api/v1/webhooks/couriers/{source}/{id}`.
    pub webhook_path: String,
    pub created_at: DateTime<Utc>,
}

/// One verified push as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourierPush {
    pub id: Uuid,
    /// The courier's event id, or `sha256:<digest of the body>`.
    pub event_id: String,
    pub tracking_number: Option<String>,
    pub shipment_id: Option<Uuid>,
    /// `applied`, `stale`, `unknown_tracking`, `ambiguous_tracking`,
    /// `ignored` (nothing to track) or `malformed`.
    pub outcome: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

/// What a push came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushOutcome {
    pub applied: usize,
    /// Older than what the shipment already knows: kept on its timeline only.
    pub stale: usize,
    /// Seen before (same event id): ignored.
    pub duplicates: usize,
    /// No shipment has the tracking number: stored and logged.
    pub unknown: usize,
}

/// One shipment on a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub shipment_id: Uuid,
    pub order_id: Uuid,
    pub order_number: Option<String>,
    pub service_code: String,
    pub tracking_number: String,
    pub handed_over_at: DateTime<Utc>,
    pub packages: usize,
    pub weight_kg: Decimal,
    pub price: Decimal,
    pub currency: String,
    pub ship_to: String,
}

/// A carrier's shipments handed over on one day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub carrier_code: String,
    pub date: NaiveDate,
    pub utc_offset: FixedOffset,
    pub shipments: Vec<ManifestEntry>,
    pub packages: usize,
    pub weight_kg: Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn terms(transit: u32, breaks: &[(&str, &str)], extra: Option<&str>) -> ServiceTerms {
        ServiceTerms {
            zones: vec![
                ZoneRule {
                    zone: "local".into(),
                    country: "CN".into(),
                    regions: vec!["Shanghai".into()],
                    cities: vec![],
                },
                ZoneRule {
                    zone: "national".into(),
                    country: "CN".into(),
                    regions: vec![],
                    cities: vec![],
                },
            ],
            rates: ["local", "national"]
                .iter()
                .enumerate()
                .map(|(i, zone)| ZoneRate {
                    zone: (*zone).into(),
                    transit_days: transit + i as u32,
                    breaks: breaks
                        .iter()
                        .map(|(w, p)| WeightBreak {
                            up_to_kg: d(w),
                            price: d(p) * Decimal::from(i as u32 + 1),
                        })
                        .collect(),
                    extra_per_kg: extra.map(d),
                })
                .collect(),
            minimum_charge: Decimal::ZERO,
            surcharges: Surcharges::default(),
            fuel_percent: Decimal::ZERO,
            limits: Limits {
                max_weight_kg: None,
                max_value: None,
                hazardous_allowed: true,
            },
            cutoff: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            utc_offset: FixedOffset::east_opt(8 * 3600).unwrap(),
            volumetric_divisor: None,
        }
    }

    fn offer(carrier: &str, mode: TransportMode, terms: ServiceTerms) -> ServiceOffer {
        ServiceOffer {
            service_id: Uuid::now_v7(),
            carrier_code: carrier.into(),
            service_code: "STD".into(),
            mode,
            currency: "CNY".into(),
            terms,
        }
    }

    fn parcel(kg: &str, value: &str) -> Parcel {
        Parcel {
            weight_kg: d(kg),
            length_cm: d("30"),
            width_cm: d("20"),
            height_cm: d("10"),
            declared_value: d(value),
            traits: ParcelTraits::default(),
        }
    }

    /// 2026-12-01 09:00 in Shanghai.
    fn morning() -> DateTime<Utc> {
        "2026-12-01T01:00:00Z".parse().unwrap()
    }

    fn request(parcels: Vec<Parcel>, deadline: Option<&str>) -> QuoteRequest {
        QuoteRequest {
            parcels,
            destination: Destination {
                country: "CN".into(),
                region: Some("Zhejiang".into()),
                city: "Hangzhou".into(),
            },
            deadline: deadline.map(|s| s.parse().unwrap()),
            currency: "CNY".into(),
            at: morning(),
        }
    }

    fn fleet() -> Vec<ServiceOffer> {
        vec![
            offer(
                "SF",
                TransportMode::Express,
                terms(1, &[("1", "12"), ("5", "20"), ("30", "60")], Some("4")),
            ),
            offer(
                "DEPPON",
                TransportMode::Road,
                terms(3, &[("30", "25"), ("500", "120")], Some("0.5")),
            ),
            offer(
                "CRE",
                TransportMode::Rail,
                terms(4, &[("100", "80"), ("2000", "300")], None),
            ),
            offer(
                "AIRCN",
                TransportMode::Air,
                terms(1, &[("10", "90"), ("100", "300")], Some("6")),
            ),
        ]
    }

    fn winner(selection: &Selection) -> &Candidate {
        selection
            .candidates
            .iter()
            .find(|c| c.won)
            .expect("a winner")
    }

    #[test]
    fn rate_arithmetic_breaks_extra_minimum_surcharges_fuel() {
        let mut t = terms(1, &[("1", "12"), ("5", "20")], Some("4"));
        let zone = t.rates[0].clone();
        // Exactly on a break: that break's price.
        assert_eq!(
            t.parcel_charge(&zone, &parcel("1", "0")).unwrap().total,
            d("12")
        );
        assert_eq!(
            t.parcel_charge(&zone, &parcel("1.01", "0")).unwrap().total,
            d("20")
        );
        // 7.2 kg: 20 + ceil(2.2) × 4 = 32.
        assert_eq!(
            t.parcel_charge(&zone, &parcel("7.2", "0")).unwrap().total,
            d("32")
        );
        // Surcharges, then the minimum, then fuel on top.
        t.surcharges = Surcharges {
            fragile: d("3"),
            liquid: d("2"),
            hazardous: d("10"),
        };
        t.minimum_charge = d("30");
        t.fuel_percent = d("12.5");
        let mut p = parcel("0.5", "0");
        p.traits = ParcelTraits {
            fragile: true,
            liquid: true,
            hazardous: false,
        };
        let charge = t.parcel_charge(&zone, &p).unwrap();
        assert_eq!(charge.base, d("12"));
        assert_eq!(charge.surcharges, d("5"));
        assert_eq!(charge.minimum_uplift, d("13"));
        assert_eq!(charge.fuel, d("3.75"));
        assert_eq!(charge.total, d("33.75"));
        // Fuel rounds half away from zero to cents: 20.10 × 12.5 % = 2.5125.
        t.minimum_charge = Decimal::ZERO;
        t.surcharges = Surcharges::default();
        let zone2 = ZoneRate {
            breaks: vec![WeightBreak {
                up_to_kg: d("10"),
                price: d("20.10"),
            }],
            ..zone.clone()
        };
        assert_eq!(
            t.parcel_charge(&zone2, &parcel("2", "0")).unwrap().fuel,
            d("2.51")
        );
        // No extra rate: heavier parcels are not carried.
        let no_extra = ZoneRate {
            extra_per_kg: None,
            ..zone
        };
        assert!(t.parcel_charge(&no_extra, &parcel("6", "0")).is_err());
        // Volumetric weight counts when larger: 60×50×40/5000 = 24 kg.
        t.volumetric_divisor = Some(5000);
        let mut bulky = parcel("2", "0");
        bulky.length_cm = d("60");
        bulky.width_cm = d("50");
        bulky.height_cm = d("40");
        assert_eq!(t.chargeable_kg(&bulky), d("24"));
    }

    #[test]
    fn zones_match_country_region_and_city_in_order() {
        let t = terms(1, &[("1", "1")], None);
        let to = |region: Option<&str>, city: &str, country: &str| Destination {
            country: country.into(),
            region: region.map(Into::into),
            city: city.into(),
        };
        assert_eq!(
            t.zone_of(&to(Some("shanghai"), "Shanghai", "cn"))
                .unwrap()
                .zone,
            "local"
        );
        assert_eq!(
            t.zone_of(&to(Some("Jiangsu"), "Suzhou", "CN"))
                .unwrap()
                .zone,
            "national"
        );
        assert_eq!(
            t.zone_of(&to(None, "Beijing", "CN")).unwrap().zone,
            "national"
        );
        assert!(t.zone_of(&to(None, "Berlin", "DE")).is_none());
    }

    #[test]
    fn cutoff_moves_the_ship_date() {
        let t = terms(1, &[("1", "1")], None);
        // 16:59 and 17:00 Shanghai: today; 17:01: tomorrow.
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let today: NaiveDate = "2026-12-01".parse().unwrap();
        assert_eq!(t.ship_date(at("2026-12-01T08:59:00Z")), today);
        assert_eq!(t.ship_date(at("2026-12-01T09:00:00Z")), today);
        assert_eq!(
            t.ship_date(at("2026-12-01T09:01:00Z")),
            today.succ_opt().unwrap()
        );
    }

    #[test]
    fn small_consignments_go_express() {
        let s = select(
            &request(vec![parcel("2", "100")], None),
            &fleet(),
            &SelectionPolicy::default(),
        );
        assert_eq!(s.profile.rule, "small → express");
        assert_eq!(winner(&s).carrier_code, "SF");
        // Road loses on mode, whatever its price.
        let road = s
            .candidates
            .iter()
            .find(|c| c.carrier_code == "DEPPON")
            .unwrap();
        assert!(
            road.reasons
                .iter()
                .any(|r| r.contains("not a preferred mode"))
        );
        assert!(!s.deadline_missed);
    }

    #[test]
    fn heavy_or_bulky_consignments_go_by_road_or_rail_cheapest_first() {
        let policy = SelectionPolicy::default();
        // 150 kg in 5 parcels of 30 kg: heavy.
        let parcels = vec![parcel("30", "100"); 5];
        let s = select(&request(parcels, None), &fleet(), &policy);
        assert!(s.profile.heavy_or_bulky);
        assert_eq!(
            s.profile.preferred_modes,
            vec![TransportMode::Road, TransportMode::Rail]
        );
        // Road national: 25×2 = 50 per parcel → 250; rail national: 80×2 =
        // 160 per parcel → 800. Road wins.
        let w = winner(&s);
        assert_eq!(w.carrier_code, "DEPPON");
        assert_eq!(w.price.unwrap().total, d("250"));
        let rail = s
            .candidates
            .iter()
            .find(|c| c.carrier_code == "CRE")
            .unwrap();
        assert!(
            rail.reasons
                .iter()
                .any(|r| r.starts_with("dearer than the winner"))
        );
        // Bulky by volume alone (1 m³), light.
        let mut big = parcel("20", "100");
        big.length_cm = d("100");
        big.width_cm = d("100");
        big.height_cm = d("100");
        let s = select(&request(vec![big], None), &fleet(), &policy);
        assert!(s.profile.heavy_or_bulky);
        assert!(matches!(
            winner(&s).mode,
            TransportMode::Road | TransportMode::Rail
        ));
    }

    #[test]
    fn valuable_or_urgent_goes_express_and_urgent_valuable_goes_by_air() {
        let policy = SelectionPolicy::default();
        let s = select(&request(vec![parcel("8", "9000")], None), &fleet(), &policy);
        assert_eq!(s.profile.rule, "valuable → express");
        assert_eq!(winner(&s).mode, TransportMode::Express);
        let s = select(
            &request(vec![parcel("8", "100")], Some("2026-12-03")),
            &fleet(),
            &policy,
        );
        assert_eq!(s.profile.rule, "urgent → express");
        assert_eq!(winner(&s).mode, TransportMode::Express);
        let s = select(
            &request(vec![parcel("8", "9000")], Some("2026-12-03")),
            &fleet(),
            &policy,
        );
        assert_eq!(s.profile.rule, "urgent and valuable → air");
        assert_eq!(winner(&s).carrier_code, "AIRCN");
    }

    #[test]
    fn limits_filter_and_say_why() {
        let mut services = fleet();
        services[0].terms.limits.max_weight_kg = Some(d("3"));
        services[0].terms.limits.max_value = Some(d("50"));
        services[0].terms.limits.hazardous_allowed = false;
        let mut p = parcel("4", "100");
        p.traits.hazardous = true;
        let s = select(
            &request(vec![p], None),
            &services,
            &SelectionPolicy::default(),
        );
        let sf = s
            .candidates
            .iter()
            .find(|c| c.carrier_code == "SF")
            .unwrap();
        assert!(!sf.qualifies && !sf.won);
        let said = sf.reasons.join("; ");
        assert!(said.contains("over its 3 kg limit"), "{said}");
        assert!(said.contains("over its 50 limit"), "{said}");
        assert!(said.contains("hazardous"), "{said}");
        // Small → express, but the only express service cannot carry it: the
        // cheapest other that can, with the fallback explained.
        assert_ne!(winner(&s).carrier_code, "SF");
        assert!(
            s.explanation.contains("no service of a preferred mode"),
            "{}",
            s.explanation
        );
        // A destination nobody serves.
        let mut far = request(vec![parcel("1", "1")], None);
        far.destination.country = "FR".into();
        let s = select(&far, &fleet(), &SelectionPolicy::default());
        assert_eq!(s.chosen, None);
        assert!(
            s.candidates
                .iter()
                .all(|c| c.reasons.iter().any(|r| r.contains("does not serve")))
        );
        // Another currency is not compared.
        let mut usd = fleet();
        usd[0].currency = "USD".into();
        let s = select(
            &request(vec![parcel("2", "1")], None),
            &usd,
            &SelectionPolicy::default(),
        );
        assert_ne!(winner(&s).carrier_code, "SF");
    }

    #[test]
    fn the_deadline_filters_then_the_fastest_wins_when_none_meets_it() {
        let policy = SelectionPolicy::default();
        // 150 kg, due in 4 days (2026-12-05): road national arrives 12-05
        // (3+1 days), rail 12-06 — rail is out.
        let parcels = vec![parcel("30", "100"); 5];
        let s = select(
            &request(parcels.clone(), Some("2026-12-05")),
            &fleet(),
            &policy,
        );
        let rail = s
            .candidates
            .iter()
            .find(|c| c.carrier_code == "CRE")
            .unwrap();
        assert!(!rail.qualifies);
        assert!(
            rail.reasons
                .iter()
                .any(|r| r.contains("after the deadline 2026-12-05"))
        );
        assert_eq!(winner(&s).carrier_code, "DEPPON");
        // Due 12-03: no road or rail service makes it; express and air do —
        // the cheapest of them that arrives in time.
        let s = select(
            &request(parcels.clone(), Some("2026-12-03")),
            &fleet(),
            &policy,
        );
        assert!(!s.deadline_missed);
        assert!(matches!(
            winner(&s).mode,
            TransportMode::Express | TransportMode::Air
        ));
        // Due today: nothing makes it; the fastest that can carry it.
        let s = select(&request(parcels, Some("2026-12-01")), &fleet(), &policy);
        assert!(s.deadline_missed);
        let w = winner(&s);
        assert_eq!(w.estimated_delivery, Some("2026-12-03".parse().unwrap()));
        assert!(s.explanation.contains("fastest"));
    }

    #[test]
    fn tracking_never_goes_back_from_delivered_and_follows_event_time() {
        use TrackingStatus::*;
        let t = |s: &str| Some(s.parse::<DateTime<Utc>>().unwrap());
        assert!(tracking_applies(None, None, InTransit, None));
        assert!(!tracking_applies(
            Some(Delivered),
            t("2026-12-02T00:00:00Z"),
            InTransit,
            t("2026-12-03T00:00:00Z")
        ));
        assert!(!tracking_applies(Some(Returned), None, Delivered, None));
        assert!(tracking_applies(
            Some(InTransit),
            t("2026-12-02T00:00:00Z"),
            Delivered,
            t("2026-12-01T00:00:00Z")
        ));
        assert!(!tracking_applies(
            Some(OutForDelivery),
            t("2026-12-02T10:00:00Z"),
            InTransit,
            t("2026-12-02T08:00:00Z")
        ));
        assert!(tracking_applies(
            Some(Exception),
            t("2026-12-02T10:00:00Z"),
            InTransit,
            t("2026-12-02T12:00:00Z")
        ));
        assert!(!tracking_applies(
            Some(OutForDelivery),
            None,
            InTransit,
            None
        ));
    }

    #[test]
    fn packaging_measures_follow_traits() {
        assert!(required_measures(ParcelTraits::default()).is_empty());
        assert_eq!(
            required_measures(ParcelTraits {
                fragile: true,
                liquid: true,
                hazardous: true
            }),
            vec![Measure::ShockProof, Measure::Sealed, Measure::HazardMarked]
        );
    }
}
