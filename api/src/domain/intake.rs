//! Intake rules: is an order complete, what does it cost, and when can it
//! arrive. Pure functions over facts the service has looked up.
//!
//! Rounding happens at these points only, to the currency's minor unit, half
//! away from zero:
//! 1. a line's `subtotal` = round(unit price × quantity);
//! 2. a line's `discount` = round(discount);
//! 3. a line's `tax` = round((subtotal − discount) × tax rate);
//! 4. a line's `total` = subtotal − discount + tax (exact: already rounded).
//!
//! Order totals are plain sums of the rounded line values, so they always add
//! up: `total = subtotal − discount_total + tax_total = Σ line totals`.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::address::country;
use super::money::Currency;
use super::order::{Finding, OrderDraft};

/// What intake needs to know about a product.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductFacts {
    pub id: Uuid,
    pub sku: String,
    pub active: bool,
    pub lead_time_days: u32,
    pub tax_rate: Decimal,
}

/// What intake knows about one line: its product (if the SKU resolves) and
/// the price the price lists give it (if any), in the order's currency.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct LineFacts<'a> {
    pub product: Option<&'a ProductFacts>,
    pub derived_price: Option<Decimal>,
    pub discount: Decimal,
}

/// Everything that keeps an order from being confirmed. Empty means complete.
pub fn check(
    draft: &OrderDraft,
    lines: &[LineFacts<'_>],
    customer_currency: Currency,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if draft.currency != customer_currency {
        findings.push(Finding::new(
            "currency_mismatch",
            "currency",
            format!(
                "the order is in {} but the customer buys in {}",
                draft.currency, customer_currency
            ),
        ));
    }
    if draft.lines.is_empty() {
        findings.push(Finding::new(
            "no_lines",
            "lines",
            "an order needs at least one line",
        ));
    }
    for (i, (line, facts)) in draft.lines.iter().zip(lines).enumerate() {
        let path = |field: &str| format!("lines[{i}].{field}");
        match facts.product {
            None => findings.push(Finding::new(
                "unknown_sku",
                path("sku"),
                format!("no product with SKU {:?}", line.sku),
            )),
            Some(product) if !product.active => findings.push(Finding::new(
                "inactive_sku",
                path("sku"),
                format!("product {:?} is no longer sold", line.sku),
            )),
            Some(_) => {}
        }
        if line.quantity <= 0 {
            findings.push(Finding::new(
                "invalid_quantity",
                path("quantity"),
                "must be a positive whole number",
            ));
        }
        match line.unit_price {
            Some(price) if price.is_sign_negative() && !price.is_zero() => {
                findings.push(Finding::new(
                    "negative_price",
                    path("unit_price"),
                    "must not be negative",
                ));
            }
            Some(_) => {}
            None if facts.product.is_some() && facts.derived_price.is_none() => {
                findings.push(Finding::new(
                    "missing_price",
                    path("unit_price"),
                    format!(
                        "no unit price given and no list price for {:?} in {}",
                        line.sku, draft.currency
                    ),
                ))
            }
            None => {}
        }
    }

    let ship_to = &draft.ship_to;
    let country_code = ship_to.country.as_deref().unwrap_or_default();
    for (field, value) in [
        ("name", &ship_to.name),
        ("phone", &ship_to.phone),
        ("line1", &ship_to.line1),
        ("city", &ship_to.city),
        ("region", &ship_to.region),
        ("postal_code", &ship_to.postal_code),
        ("country", &ship_to.country),
    ] {
        let optional = match field {
            "region" => !uses_regions(country_code),
            "postal_code" => !uses_postal_codes(country_code),
            _ => false,
        };
        if is_blank(value) && !optional {
            findings.push(Finding::new(
                "missing_field",
                format!("ship_to.{field}"),
                format!("the delivery address needs a {}", field.replace('_', " ")),
            ));
        }
    }
    if let Some(code) = ship_to.country.as_deref().filter(|c| !c.trim().is_empty())
        && let Err(error) = country("ship_to.country", code)
    {
        findings.push(Finding::new(error.code, error.path, error.message));
    }

    if is_blank(&draft.contact.name) {
        findings.push(Finding::new(
            "missing_field",
            "contact.name",
            "the contact needs a name",
        ));
    }
    if is_blank(&draft.contact.phone) && is_blank(&draft.contact.email) {
        findings.push(Finding::new(
            "missing_field",
            "contact",
            "the contact needs a phone number or an e-mail address",
        ));
    }
    if let Some(invoice) = &draft.invoice
        && is_blank(&invoice.title)
    {
        findings.push(Finding::new(
            "missing_field",
            "invoice.title",
            "an invoice needs a title",
        ));
    }
    findings
}

/// Countries whose addresses carry no postal code (Hong Kong, Macau, the
/// Gulf states, much of Africa and the Pacific).
const NO_POSTAL_CODES: &[&str] = &[
    "AE", "AG", "AO", "AW", "BF", "BI", "BJ", "BO", "BS", "BW", "BZ", "CD", "CF", "CG", "CI", "CK",
    "CM", "DJ", "DM", "ER", "FJ", "GA", "GD", "GH", "GM", "GQ", "GY", "HK", "KI", "KM", "KN", "KP",
    "LC", "ML", "MO", "MR", "MW", "NR", "NU", "QA", "RW", "SB", "SC", "SL", "SR", "ST", "SY", "TD",
    "TF", "TG", "TK", "TL", "TO", "TV", "UG", "VU", "YE", "ZW",
];

/// Countries whose addresses need a region (province, state, prefecture).
const REGIONS_REQUIRED: &[&str] = &["AU", "BR", "CA", "CN", "IN", "JP", "MX", "US"];

fn uses_postal_codes(country: &str) -> bool {
    !NO_POSTAL_CODES.contains(&country)
}

fn uses_regions(country: &str) -> bool {
    REGIONS_REQUIRED.contains(&country)
}

fn is_blank(value: &Option<String>) -> bool {
    value.as_deref().is_none_or(|v| v.trim().is_empty())
}

/// A priced line.
#[derive(Clone, Debug, PartialEq)]
pub struct LinePrice {
    pub unit_price: Option<Decimal>,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax_rate: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pricing {
    pub lines: Vec<LinePrice>,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub tax_total: Decimal,
    pub total: Decimal,
}

/// Prices every line (see the module's rounding rules). A line without any
/// price counts zero; such an order is not confirmed anyway.
pub fn price(draft: &OrderDraft, lines: &[LineFacts<'_>]) -> Pricing {
    let currency = draft.currency;
    let zero = currency.round(Decimal::ZERO);
    let priced: Vec<LinePrice> = draft
        .lines
        .iter()
        .zip(lines)
        .map(|(line, facts)| {
            let unit_price = line.unit_price.or(facts.derived_price);
            let quantity = Decimal::from(line.quantity.max(0));
            let subtotal = currency.round(unit_price.unwrap_or_default() * quantity);
            // A discount never exceeds what it discounts.
            let discount = currency
                .round(facts.discount.max(Decimal::ZERO))
                .min(subtotal);
            let tax_rate = facts.product.map_or(Decimal::ZERO, |p| p.tax_rate);
            let tax = currency.round((subtotal - discount) * tax_rate);
            LinePrice {
                unit_price,
                subtotal,
                discount,
                tax_rate,
                tax,
                total: subtotal - discount + tax,
            }
        })
        .collect();
    let sum = |f: fn(&LinePrice) -> Decimal| priced.iter().map(f).fold(zero, |acc, v| acc + v);
    Pricing {
        subtotal: sum(|l| l.subtotal),
        discount_total: sum(|l| l.discount),
        tax_total: sum(|l| l.tax),
        total: sum(|l| l.total),
        lines: priced,
    }
}

/// The delivery date to promise: the requested date when it can be met,
/// otherwise the earliest date that can (today + the longest lead time of the
/// order's products + handling days).
pub fn promise(
    requested: Option<NaiveDate>,
    today: NaiveDate,
    longest_lead_days: u32,
    handling_days: u32,
) -> NaiveDate {
    let earliest =
        today + chrono::Days::new(u64::from(longest_lead_days) + u64::from(handling_days));
    match requested {
        Some(date) if date >= earliest => date,
        _ => earliest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::order::{AddressDraft, ContactDraft, LineDraft};
    use proptest::prelude::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn product(sku: &str) -> ProductFacts {
        ProductFacts {
            id: Uuid::now_v7(),
            sku: sku.into(),
            active: true,
            lead_time_days: 3,
            tax_rate: dec("0.13"),
        }
    }

    fn complete_draft(lines: Vec<LineDraft>, currency: &str) -> OrderDraft {
        OrderDraft {
            customer_id: Uuid::nil(),
            currency: Currency::parse(currency).unwrap(),
            ship_to: AddressDraft {
                name: Some("Li Wei".into()),
                phone: Some("+86 21 5555 0101".into()),
                line1: Some("88 Century Ave".into()),
                line2: None,
                city: Some("Shanghai".into()),
                region: Some("SH".into()),
                postal_code: Some("200120".into()),
                country: Some("CN".into()),
            },
            contact: ContactDraft {
                name: Some("Li Wei".into()),
                phone: None,
                email: Some("liwei@example.com".into()),
            },
            lines,
            requested_delivery_date: None,
            special_instructions: None,
            invoice: None,
            payment_method: None,
        }
    }

    fn line(sku: &str, quantity: i64, price: Option<&str>) -> LineDraft {
        LineDraft {
            sku: sku.into(),
            quantity,
            unit_price: price.map(dec),
            custom_spec: None,
        }
    }

    #[test]
    fn a_complete_order_has_no_findings() {
        let tea = product("TEA");
        let draft = complete_draft(vec![line("TEA", 2, Some("88.00"))], "CNY");
        let facts = [LineFacts {
            product: Some(&tea),
            ..Default::default()
        }];
        assert_eq!(
            check(&draft, &facts, Currency::parse("CNY").unwrap()),
            vec![]
        );
    }

    #[test]
    fn every_gap_is_a_finding_at_its_path() {
        let mut inactive = product("OLD");
        inactive.active = false;
        let tea = product("TEA");
        let mut draft = complete_draft(
            vec![
                line("NOPE", 1, Some("1")),
                line("OLD", 0, None),
                line("TEA", 1, None),
            ],
            "USD",
        );
        draft.ship_to.postal_code = None;
        draft.ship_to.country = Some("China".into());
        draft.contact = ContactDraft {
            name: Some("x".into()),
            phone: Some(" ".into()),
            email: None,
        };
        let facts = [
            LineFacts::default(),
            LineFacts {
                product: Some(&inactive),
                derived_price: Some(dec("5")),
                ..Default::default()
            },
            LineFacts {
                product: Some(&tea),
                ..Default::default()
            },
        ];
        let findings = check(&draft, &facts, Currency::parse("CNY").unwrap());
        let got: Vec<(&str, &str)> = findings
            .iter()
            .map(|f| (f.code.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("currency_mismatch", "currency"),
                ("unknown_sku", "lines[0].sku"),
                ("inactive_sku", "lines[1].sku"),
                ("invalid_quantity", "lines[1].quantity"),
                ("missing_price", "lines[2].unit_price"),
                ("missing_field", "ship_to.postal_code"),
                ("invalid_country", "ship_to.country"),
                ("missing_field", "contact"),
            ]
        );
    }

    #[test]
    fn pricing_rounds_per_line_and_sums() {
        let tea = product("TEA");
        let draft = complete_draft(
            vec![line("TEA", 3, Some("0.335")), line("TEA", 1, None)],
            "CNY",
        );
        let facts = [
            LineFacts {
                product: Some(&tea),
                ..Default::default()
            },
            LineFacts {
                product: Some(&tea),
                derived_price: Some(dec("88")),
                discount: dec("8.8"),
            },
        ];
        let pricing = price(&draft, &facts);
        // 3 × 0.335 = 1.005 → 1.01; tax 1.01 × 0.13 = 0.1313 → 0.13
        assert_eq!(pricing.lines[0].subtotal.to_string(), "1.01");
        assert_eq!(pricing.lines[0].tax.to_string(), "0.13");
        assert_eq!(pricing.lines[0].total.to_string(), "1.14");
        // 88 − 8.80 = 79.20; tax 10.296 → 10.30
        assert_eq!(pricing.lines[1].unit_price, Some(dec("88")));
        assert_eq!(pricing.lines[1].discount.to_string(), "8.80");
        assert_eq!(pricing.lines[1].tax.to_string(), "10.30");
        assert_eq!(pricing.lines[1].total.to_string(), "89.50");
        assert_eq!(pricing.subtotal.to_string(), "89.01");
        assert_eq!(pricing.discount_total.to_string(), "8.80");
        assert_eq!(pricing.tax_total.to_string(), "10.43");
        assert_eq!(pricing.total.to_string(), "90.64");
    }

    #[test]
    fn promises_keep_a_feasible_request_and_move_an_impossible_one() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(promise(Some(day(10)), today, 3, 2), day(10));
        assert_eq!(promise(Some(day(2)), today, 3, 2), day(2));
        assert_eq!(promise(Some(day(1)), today, 3, 2), day(2));
        assert_eq!(
            promise(None, today, 0, 1),
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
        );
    }

    fn currency() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            Just("JPY"),
            Just("CNY"),
            Just("USD"),
            Just("KWD"),
            Just("BHD")
        ]
    }

    proptest! {
        #[test]
        fn totals_always_add_up_and_carry_exactly_the_minor_digits(
            code in currency(),
            lines in proptest::collection::vec((1_i64..10_000, 0_i64..100_000_000, 0_u32..6, 0_i64..5_000, 0_u32..4), 1..12),
        ) {
            let currency = Currency::parse(code).unwrap();
            let mut products = Vec::new();
            let mut drafts = Vec::new();
            for (i, (quantity, mantissa, scale, discount, rate)) in lines.iter().enumerate() {
                let mut p = product(&format!("P{i}"));
                p.tax_rate = Decimal::new(i64::from(*rate) * 5, 2);
                products.push((p, Decimal::new(*discount, 2)));
                drafts.push(line(&format!("P{i}"), *quantity, Some(&Decimal::new(*mantissa, *scale).to_string())));
            }
            let draft = complete_draft(drafts, code);
            let facts: Vec<LineFacts<'_>> = products
                .iter()
                .map(|(p, discount)| LineFacts { product: Some(p), derived_price: None, discount: *discount })
                .collect();
            let pricing = price(&draft, &facts);
            let minor = currency.minor_units();
            let half_unit = currency.minor_unit() / Decimal::TWO;
            let mut total = Decimal::ZERO;
            for (line, draft_line) in pricing.lines.iter().zip(&draft.lines) {
                for value in [line.subtotal, line.discount, line.tax, line.total] {
                    prop_assert_eq!(value.scale(), minor);
                }
                let exact = draft_line.unit_price.unwrap() * Decimal::from(draft_line.quantity);
                prop_assert!((line.subtotal - exact).abs() <= half_unit);
                prop_assert!(line.discount <= line.subtotal && line.discount >= Decimal::ZERO);
                let exact_tax = (line.subtotal - line.discount) * line.tax_rate;
                prop_assert!((line.tax - exact_tax).abs() <= half_unit);
                prop_assert_eq!(line.total, line.subtotal - line.discount + line.tax);
                total += line.total;
            }
            prop_assert_eq!(pricing.total, total);
            prop_assert_eq!(pricing.total, pricing.subtotal - pricing.discount_total + pricing.tax_total);
            prop_assert_eq!(pricing.total.scale(), minor);
        }
    }
}
