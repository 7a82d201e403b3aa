//! Prices and promotions: which unit price a customer pays when an order does
//! not say, how far staff may discount, and which promotion an order gets.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::money::Currency;

/// A list of unit prices for one price tier or one customer, valid for a period.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceList {
    pub id: Uuid,
    pub name: String,
    pub currency: Currency,
    pub scope: PriceListScope,
    pub valid_from: NaiveDate,
    /// Inclusive; open-ended when `None`.
    pub valid_to: Option<NaiveDate>,
    pub active: bool,
    pub items: Vec<PriceListItem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whom a price list applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceListScope {
    Tier(String),
    Customer(Uuid),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceListItem {
    pub sku: String,
    pub unit_price: Decimal,
}

impl PriceList {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.active && self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }

    pub fn price_of(&self, sku: &str) -> Option<Decimal> {
        self.items
            .iter()
            .find(|item| item.sku == sku)
            .map(|item| item.unit_price)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewPriceList {
    pub name: String,
    pub currency: Currency,
    pub scope: PriceListScope,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub active: bool,
    pub items: Vec<PriceListItem>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PriceListPatch {
    pub name: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub active: Option<bool>,
    /// Replaces every item.
    pub items: Option<Vec<PriceListItem>>,
}

/// Where a line's unit price came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    /// Sent with the order.
    Given,
    CustomerPriceList,
    TierPriceList,
    ListPrice,
}

impl PriceSource {
    pub const ALL: [PriceSource; 4] = [
        PriceSource::Given,
        PriceSource::CustomerPriceList,
        PriceSource::TierPriceList,
        PriceSource::ListPrice,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PriceSource::Given => "given",
            PriceSource::CustomerPriceList => "customer_price_list",
            PriceSource::TierPriceList => "tier_price_list",
            PriceSource::ListPrice => "list_price",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == s)
    }
}

/// The price a customer pays for a SKU by default: its own price list first,
/// then its tier's, then the product's list price. Among several valid lists
/// of one kind, the one that started last wins.
pub fn reference_price(
    sku: &str,
    customer_lists: &[&PriceList],
    tier_lists: &[&PriceList],
    list_price: Option<Decimal>,
) -> Option<(Decimal, PriceSource)> {
    let latest = |lists: &[&PriceList]| {
        lists
            .iter()
            .filter_map(|list| list.price_of(sku).map(|price| (list.valid_from, price)))
            .max_by_key(|(from, _)| *from)
            .map(|(_, price)| price)
    };
    latest(customer_lists)
        .map(|p| (p, PriceSource::CustomerPriceList))
        .or_else(|| latest(tier_lists).map(|p| (p, PriceSource::TierPriceList)))
        .or_else(|| list_price.map(|p| (p, PriceSource::ListPrice)))
}

/// How far below the reference price staff may sell, per price tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PricingPolicy {
    pub price_tier: String,
    /// In percent, e.g. `10` for 10 %.
    pub max_discount_percent: Decimal,
    pub updated_at: DateTime<Utc>,
}

/// How a line's price compares with the customer's reference price: negative
/// is a discount. In percent, rounded to two decimals.
pub fn deviation_percent(unit_price: Decimal, reference: Decimal) -> Option<Decimal> {
    if reference.is_zero() {
        return None;
    }
    Some(((unit_price - reference) / reference * Decimal::ONE_HUNDRED).round_dp(2))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionKind {
    /// `value` percent off the qualifying lines.
    Percent,
    /// `value` off the qualifying lines together, in the promotion's currency.
    Amount,
}

impl PromotionKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            PromotionKind::Percent => "percent",
            PromotionKind::Amount => "amount",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Percent, Self::Amount]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

impl fmt::Display for PromotionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A promotion: a discount on some SKUs (all when `skus` is empty) for some
/// price tiers (all when empty), from a minimum quantity or amount, for a period.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: PromotionKind,
    pub value: Decimal,
    /// The currency of an amount off and of `min_amount`; any for a percent
    /// off without a minimum amount.
    pub currency: Option<Currency>,
    pub skus: Vec<String>,
    pub price_tiers: Vec<String>,
    /// Of the qualifying lines together.
    pub min_quantity: Option<i64>,
    /// Of the qualifying lines' subtotal.
    pub min_amount: Option<Decimal>,
    pub valid_from: NaiveDate,
    /// Inclusive; open-ended when `None`.
    pub valid_to: Option<NaiveDate>,
    /// Combines with other stackable promotions; one that does not stack is
    /// applied alone.
    pub stackable: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewPromotion {
    pub code: String,
    pub name: String,
    pub kind: PromotionKind,
    pub value: Decimal,
    pub currency: Option<Currency>,
    pub skus: Vec<String>,
    pub price_tiers: Vec<String>,
    pub min_quantity: Option<i64>,
    pub min_amount: Option<Decimal>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub stackable: bool,
    pub active: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromotionPatch {
    pub name: Option<String>,
    pub value: Option<Decimal>,
    pub skus: Option<Vec<String>>,
    pub price_tiers: Option<Vec<String>>,
    pub min_quantity: Option<Option<i64>>,
    pub min_amount: Option<Option<Decimal>>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<Option<NaiveDate>>,
    pub stackable: Option<bool>,
    pub active: Option<bool>,
}

/// One order line as promotions see it: its SKU, quantity and subtotal.
#[derive(Clone, Debug, PartialEq)]
pub struct PromotionLine {
    pub sku: String,
    pub quantity: i64,
    pub subtotal: Decimal,
}

/// A promotion an order got, with its discount and why it applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedPromotion {
    pub code: String,
    pub name: String,
    pub discount: Decimal,
    pub reason: String,
}

/// A promotion an order nearly got, and what it lacked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissedPromotion {
    pub code: String,
    pub name: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromotionOutcome {
    /// Per line, the discount (before rounding to the currency).
    pub discounts: Vec<Decimal>,
    pub applied: Vec<AppliedPromotion>,
    pub missed: Vec<MissedPromotion>,
}

impl Promotion {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.active && self.valid_from <= day && self.valid_to.is_none_or(|to| day <= to)
    }

    fn qualifies(&self, line: &PromotionLine) -> bool {
        line.quantity > 0 && (self.skus.is_empty() || self.skus.contains(&line.sku))
    }

    /// The discount per line this promotion gives on `remaining` (each line's
    /// subtotal less earlier discounts), or why it does not apply.
    fn evaluate(
        &self,
        lines: &[PromotionLine],
        remaining: &[Decimal],
        currency: Currency,
    ) -> Result<Vec<Decimal>, String> {
        let qualifying: Vec<usize> = (0..lines.len())
            .filter(|i| self.qualifies(&lines[*i]))
            .collect();
        if qualifying.is_empty() {
            return Err("no line of the order is for its products".to_owned());
        }
        let quantity: i64 = qualifying.iter().map(|i| lines[*i].quantity).sum();
        if let Some(min) = self.min_quantity
            && quantity < min
        {
            return Err(format!(
                "needs {min} units of its products; the order has {quantity}"
            ));
        }
        let amount: Decimal = qualifying.iter().map(|i| lines[*i].subtotal).sum();
        if let Some(min) = self.min_amount
            && amount < min
        {
            return Err(format!(
                "needs {min} {currency} of its products; the order has {amount}"
            ));
        }
        let base: Decimal = qualifying.iter().map(|i| remaining[*i]).sum();
        if base <= Decimal::ZERO {
            return Err("nothing is left to discount".to_owned());
        }
        let mut discounts = vec![Decimal::ZERO; lines.len()];
        match self.kind {
            PromotionKind::Percent => {
                // Each line's share is rounded to the currency on its own, so
                // every line's discounted amount is payable as it stands.
                for i in &qualifying {
                    discounts[*i] =
                        currency.round(remaining[*i] * self.value / Decimal::ONE_HUNDRED);
                }
            }
            PromotionKind::Amount => {
                // Spread over the qualifying lines in proportion to what is left
                // of them, never more than is left. Shares are cut to the minor
                // unit and the cents left over go to the largest remainders, so
                // the shares add up to exactly the promotion's amount.
                let total = currency.round(self.value.min(base));
                let unit = currency.minor_unit();
                let mut given = Decimal::ZERO;
                let mut remainders = Vec::with_capacity(qualifying.len());
                for i in &qualifying {
                    let exact = total * remaining[*i] / base;
                    let floor = (exact / unit).floor() * unit;
                    discounts[*i] = floor;
                    given += floor;
                    remainders.push((exact - floor, *i));
                }
                // Largest remainder first; ties go to the earlier line.
                remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                let mut left = total - given;
                for (_, i) in remainders {
                    if left < unit {
                        break;
                    }
                    discounts[i] += unit;
                    left -= unit;
                }
                for d in &mut discounts {
                    *d = currency.round(*d);
                }
            }
        }
        Ok(discounts)
    }

    fn reason(&self) -> String {
        let what = match self.kind {
            PromotionKind::Percent => format!("{}% off", self.value.normalize()),
            PromotionKind::Amount => format!(
                "{} {} off",
                self.value.normalize(),
                self.currency.map_or("", |c| c.code())
            ),
        };
        let scope = if self.skus.is_empty() {
            "every product".to_owned()
        } else {
            self.skus.join(", ")
        };
        let mut reason = format!("{what} {scope}");
        if let Some(min) = self.min_quantity {
            reason.push_str(&format!(" from {min} units"));
        }
        if let Some(min) = self.min_amount {
            reason.push_str(&format!(
                " from {} {}",
                min.normalize(),
                self.currency.map_or("", |c| c.code())
            ));
        }
        reason
    }
}

/// Chooses the promotions an order gets: the better of the best single
/// promotion that does not stack, and all stackable ones together (each on
/// what the previous left). Promotions of another currency, tier or period do
/// not apply; ones whose minimum the order misses are reported as missed.
pub fn apply_promotions(
    promotions: &[Promotion],
    lines: &[PromotionLine],
    price_tier: &str,
    currency: Currency,
    day: NaiveDate,
) -> PromotionOutcome {
    let candidates: Vec<&Promotion> = promotions
        .iter()
        .filter(|p| p.is_valid_on(day))
        .filter(|p| p.price_tiers.is_empty() || p.price_tiers.iter().any(|t| t == price_tier))
        .filter(|p| match p.kind {
            PromotionKind::Amount => p.currency == Some(currency),
            PromotionKind::Percent => p.min_amount.is_none() || p.currency == Some(currency),
        })
        .collect();
    let subtotals: Vec<Decimal> = lines.iter().map(|l| l.subtotal).collect();
    let mut missed = Vec::new();

    // The best promotion that does not stack, alone; the others it beat are
    // reported as missed.
    let mut best_single: Option<(&Promotion, Vec<Decimal>)> = None;
    let mut beaten: Vec<&Promotion> = Vec::new();
    for promotion in candidates.iter().filter(|p| !p.stackable) {
        match promotion.evaluate(lines, &subtotals, currency) {
            Ok(discounts) => {
                let total: Decimal = discounts.iter().sum();
                let better = best_single
                    .as_ref()
                    .is_none_or(|(_, best)| total > best.iter().sum::<Decimal>());
                if better {
                    if let Some((previous, _)) = best_single.replace((promotion, discounts)) {
                        beaten.push(previous);
                    }
                } else {
                    beaten.push(promotion);
                }
            }
            Err(reason) => missed.push(missed_one(promotion, reason)),
        }
    }
    // Every stackable promotion, one after another.
    let mut remaining = subtotals.clone();
    let mut stacked: Vec<(&Promotion, Vec<Decimal>)> = Vec::new();
    for promotion in candidates.iter().filter(|p| p.stackable) {
        match promotion.evaluate(lines, &remaining, currency) {
            Ok(discounts) => {
                for (left, discount) in remaining.iter_mut().zip(&discounts) {
                    *left -= *discount;
                }
                stacked.push((promotion, discounts));
            }
            Err(reason) => missed.push(missed_one(promotion, reason)),
        }
    }
    let single_total: Decimal = best_single
        .as_ref()
        .map_or(Decimal::ZERO, |(_, d)| d.iter().sum());
    let stacked_total: Decimal = stacked.iter().flat_map(|(_, d)| d.iter()).sum();

    let mut outcome = PromotionOutcome {
        discounts: vec![Decimal::ZERO; lines.len()],
        applied: Vec::new(),
        missed: Vec::new(),
    };
    let chosen: Vec<(&Promotion, Vec<Decimal>)> = if single_total >= stacked_total {
        if let Some((single, _)) = &best_single {
            for loser in beaten {
                missed.push(missed_one(
                    loser,
                    format!("{} gives more, and they do not stack", single.code),
                ));
            }
            for (other, _) in &stacked {
                missed.push(missed_one(
                    other,
                    format!("{} gives more and does not stack", single.code),
                ));
            }
        }
        best_single.into_iter().collect()
    } else {
        let singles = best_single.iter().map(|(single, _)| *single);
        for single in singles.chain(beaten) {
            missed.push(missed_one(
                single,
                "the stackable promotions together give more".to_owned(),
            ));
        }
        stacked
    };
    for (promotion, discounts) in chosen {
        let total: Decimal = discounts.iter().sum();
        if total.is_zero() {
            continue;
        }
        for (line, discount) in outcome.discounts.iter_mut().zip(&discounts) {
            *line += *discount;
        }
        outcome.applied.push(AppliedPromotion {
            code: promotion.code.clone(),
            name: promotion.name.clone(),
            discount: currency.round(total),
            reason: promotion.reason(),
        });
    }
    // Not-applying promotions of other products are noise, not a missed chance.
    outcome.missed = missed
        .into_iter()
        .filter(|m| !m.reason.starts_with("no line of the order"))
        .collect();
    outcome
}

fn missed_one(promotion: &Promotion, reason: String) -> MissedPromotion {
    MissedPromotion {
        code: promotion.code.clone(),
        name: promotion.name.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn promotion(code: &str, kind: PromotionKind, value: &str, stackable: bool) -> Promotion {
        Promotion {
            id: Uuid::now_v7(),
            code: code.into(),
            name: code.into(),
            kind,
            value: dec(value),
            currency: Currency::parse("CNY"),
            skus: vec![],
            price_tiers: vec![],
            min_quantity: None,
            min_amount: None,
            valid_from: day(1),
            valid_to: Some(day(10)),
            stackable,
            active: true,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn lines() -> Vec<PromotionLine> {
        vec![
            PromotionLine {
                sku: "TEA".into(),
                quantity: 2,
                subtotal: dec("100.00"),
            },
            PromotionLine {
                sku: "CUP".into(),
                quantity: 1,
                subtotal: dec("50.00"),
            },
        ]
    }

    fn cny() -> Currency {
        Currency::parse("CNY").unwrap()
    }

    #[test]
    fn the_best_single_promotion_wins() {
        let ten = promotion("TEN", PromotionKind::Percent, "10", false);
        let twenty_off = promotion("TWENTY", PromotionKind::Amount, "20", false);
        let outcome = apply_promotions(&[ten, twenty_off], &lines(), "retail", cny(), day(5));
        assert_eq!(outcome.applied.len(), 1);
        assert_eq!(outcome.applied[0].code, "TWENTY");
        assert_eq!(outcome.applied[0].discount, dec("20.00"));
        // 20 spread 100:50 over the lines.
        assert_eq!(cny().round(outcome.discounts[0]), dec("13.33"));
        assert_eq!(cny().round(outcome.discounts[1]), dec("6.67"));
    }

    #[test]
    fn stackable_promotions_combine_and_win_when_together_they_give_more() {
        let five = promotion("FIVE", PromotionKind::Percent, "5", true);
        let ten_off = promotion("TENOFF", PromotionKind::Amount, "10", true);
        let single = promotion("SEVEN", PromotionKind::Percent, "7", false);
        let outcome = apply_promotions(&[five, ten_off, single], &lines(), "retail", cny(), day(5));
        let codes: Vec<&str> = outcome.applied.iter().map(|a| a.code.as_str()).collect();
        // 5 % of 150 = 7.50, then 10 off the rest = 17.50 > 7 % = 10.50.
        assert_eq!(codes, vec!["FIVE", "TENOFF"]);
        assert_eq!(outcome.discounts.iter().sum::<Decimal>(), dec("17.5"));
        assert_eq!(outcome.missed[0].code, "SEVEN");
    }

    #[test]
    fn an_amount_off_splits_into_cents_that_add_up_exactly() {
        let ten_off = promotion("TENOFF", PromotionKind::Amount, "10", false);
        let line = |sku: &str| PromotionLine {
            sku: sku.into(),
            quantity: 1,
            subtotal: dec("33.00"),
        };
        let three = vec![line("A"), line("B"), line("C")];
        let outcome = apply_promotions(&[ten_off], &three, "retail", cny(), day(5));
        assert_eq!(
            outcome.discounts,
            vec![dec("3.34"), dec("3.33"), dec("3.33")]
        );
        assert_eq!(outcome.discounts.iter().sum::<Decimal>(), dec("10.00"));
        assert_eq!(outcome.applied[0].discount, dec("10.00"));
    }

    #[test]
    fn percent_shares_are_rounded_per_line_and_the_total_is_their_sum() {
        let third = promotion("THIRD", PromotionKind::Percent, "33.333", false);
        let line = |sku: &str| PromotionLine {
            sku: sku.into(),
            quantity: 1,
            subtotal: dec("0.10"),
        };
        let outcome = apply_promotions(&[third], &[line("A"), line("B")], "retail", cny(), day(5));
        assert_eq!(outcome.discounts, vec![dec("0.03"), dec("0.03")]);
        assert_eq!(outcome.applied[0].discount, dec("0.06"));
    }

    #[test]
    fn singles_beaten_by_a_stack_say_so() {
        let a = promotion("A", PromotionKind::Percent, "3", false);
        let b = promotion("B", PromotionKind::Percent, "4", false);
        let stack = promotion("S", PromotionKind::Percent, "20", true);
        let outcome = apply_promotions(&[a, b, stack], &lines(), "retail", cny(), day(5));
        assert_eq!(outcome.applied[0].code, "S");
        assert_eq!(outcome.missed.len(), 2);
        assert!(
            outcome
                .missed
                .iter()
                .all(|m| m.reason == "the stackable promotions together give more")
        );
    }

    #[test]
    fn validity_is_inclusive_at_both_ends() {
        let p = promotion("P", PromotionKind::Percent, "10", false);
        assert!(!p.is_valid_on(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()));
        assert!(p.is_valid_on(day(1)));
        assert!(p.is_valid_on(day(10)));
        assert!(!p.is_valid_on(day(11)));
    }

    #[test]
    fn minimums_scope_tiers_and_currency_decide() {
        let mut by_quantity = promotion("QTY", PromotionKind::Percent, "10", false);
        by_quantity.min_quantity = Some(3);
        by_quantity.skus = vec!["TEA".into()];
        let mut wholesale = promotion("WHOLESALE", PromotionKind::Percent, "20", false);
        wholesale.price_tiers = vec!["wholesale".into()];
        let mut usd = promotion("USD", PromotionKind::Amount, "5", false);
        usd.currency = Currency::parse("USD");
        let outcome = apply_promotions(
            &[by_quantity, wholesale, usd],
            &lines(),
            "retail",
            cny(),
            day(5),
        );
        assert!(outcome.applied.is_empty());
        assert_eq!(outcome.missed.len(), 1);
        assert_eq!(outcome.missed[0].code, "QTY");
        assert!(
            outcome.missed[0].reason.contains("needs 3 units"),
            "{}",
            outcome.missed[0].reason
        );
    }

    #[test]
    fn reference_prices_prefer_the_customer_then_the_tier_then_the_list() {
        let list = |scope, from: u32, price: &str| PriceList {
            id: Uuid::now_v7(),
            name: "l".into(),
            currency: cny(),
            scope,
            valid_from: day(from),
            valid_to: None,
            active: true,
            items: vec![PriceListItem {
                sku: "TEA".into(),
                unit_price: dec(price),
            }],
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let customer = list(PriceListScope::Customer(Uuid::nil()), 1, "70");
        let tier_old = list(PriceListScope::Tier("w".into()), 1, "85");
        let tier_new = list(PriceListScope::Tier("w".into()), 3, "80");
        assert_eq!(
            reference_price(
                "TEA",
                &[&customer],
                &[&tier_old, &tier_new],
                Some(dec("88"))
            ),
            Some((dec("70"), PriceSource::CustomerPriceList))
        );
        assert_eq!(
            reference_price("TEA", &[], &[&tier_old, &tier_new], Some(dec("88"))),
            Some((dec("80"), PriceSource::TierPriceList))
        );
        assert_eq!(
            reference_price("CUP", &[&customer], &[], Some(dec("9"))),
            Some((dec("9"), PriceSource::ListPrice))
        );
        assert_eq!(
            deviation_percent(dec("79.2"), dec("88")),
            Some(dec("-10.00"))
        );
    }
}
