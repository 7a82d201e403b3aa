//! Currencies and amounts. Money is always a `Decimal` beside a [`Currency`];
//! never a float.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};

use super::validation::{FieldError, field_error};

/// An ISO 4217 currency with its number of minor digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

/// Active ISO 4217 codes. Their minor units are 2 unless listed in
/// [`ZERO_DECIMAL`], [`THREE_DECIMAL`] or [`FOUR_DECIMAL`].
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND",
    "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];
const ZERO_DECIMAL: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];
const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
const FOUR_DECIMAL: &[&str] = &["CLF", "UYW"];

impl Currency {
    /// Parses an upper-case ISO 4217 code such as `CNY`.
    pub fn parse(code: &str) -> Option<Self> {
        let code = *CODES.iter().find(|known| **known == code)?;
        let minor_units = if ZERO_DECIMAL.contains(&code) {
            0
        } else if THREE_DECIMAL.contains(&code) {
            3
        } else if FOUR_DECIMAL.contains(&code) {
            4
        } else {
            2
        };
        Some(Self { code, minor_units })
    }

    pub fn parse_field(path: &str, code: &str) -> Result<Self, FieldError> {
        Self::parse(code).ok_or_else(|| {
            field_error(
                path,
                "invalid_currency",
                format!("{code:?} is not an ISO 4217 currency code (upper case, e.g. \"CNY\")"),
            )
        })
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn minor_units(&self) -> u32 {
        self.minor_units
    }

    /// Rounds to the currency's minor unit, half away from zero (四舍五入, the
    /// commercial rule), and always shows every minor digit: 176 CNY is `176.00`.
    pub fn round(&self, amount: Decimal) -> Decimal {
        let mut rounded =
            amount.round_dp_with_strategy(self.minor_units, RoundingStrategy::MidpointAwayFromZero);
        rounded.rescale(self.minor_units);
        rounded
    }

    /// The smallest amount of this currency, e.g. `0.01` CNY.
    pub fn minor_unit(&self) -> Decimal {
        Decimal::new(1, self.minor_units)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// A non-negative amount (prices, limits).
pub fn non_negative(path: &str, amount: Decimal) -> Result<Decimal, FieldError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        Err(field_error(path, "negative", "must not be negative"))
    } else {
        Ok(amount)
    }
}

/// A non-negative amount of money (a price, a limit) within [`bounded`].
pub fn money(path: &str, amount: Decimal) -> Result<Decimal, FieldError> {
    non_negative(path, amount).and_then(|amount| bounded(path, amount))
}

/// The largest amount Dingdan takes: any real price or limit fits, and a
/// price times the largest quantity cannot overflow a `Decimal`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;
/// Decimals an amount may carry (unit prices may be finer than the currency).
pub const MAX_SCALE: u32 = 6;

/// An amount below 10^15 in magnitude with at most 6 decimals.
pub fn bounded(path: &str, amount: Decimal) -> Result<Decimal, FieldError> {
    if amount.abs() >= Decimal::from(MAX_AMOUNT) || amount.normalize().scale() > MAX_SCALE {
        Err(field_error(
            path,
            "out_of_range",
            "must be below 10^15 with at most 6 decimals",
        ))
    } else {
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(Currency::parse("CNY").map(|c| c.minor_units()), Some(2));
        assert_eq!(Currency::parse("JPY").map(|c| c.minor_units()), Some(0));
        assert_eq!(Currency::parse("KWD").map(|c| c.minor_units()), Some(3));
        assert_eq!(Currency::parse("cny"), None);
        assert_eq!(Currency::parse("XXX"), None);
    }

    #[test]
    fn rounding_is_half_away_from_zero_and_padded() {
        let cny = Currency::parse("CNY").unwrap();
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(cny.round(d("176")).to_string(), "176.00");
        assert_eq!(cny.round(d("0.125")).to_string(), "0.13");
        assert_eq!(cny.round(d("-0.125")).to_string(), "-0.13");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.round(d("10.5")).to_string(), "11");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.round(d("1.0005")).to_string(), "1.001");
    }
}
