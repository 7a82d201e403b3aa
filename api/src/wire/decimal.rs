//! Decimals on the wire: always a JSON string in plain notation (`"12.50"`),
//! in REST and GraphQL alike. A JSON number would pass through a float and
//! lose digits, and `"1e3"` hides its scale, so both are refused.

use std::fmt;
use std::str::FromStr;

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use rust_decimal::Decimal;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

const EXPECTED: &str = "a decimal number in a string, e.g. \"12.50\"";

/// A decimal number sent and received as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, ToSchema)]
#[schema(value_type = String, example = "12.50", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
pub struct DecimalString(pub Decimal);

impl DecimalString {
    /// Parses plain notation: digits, an optional minus sign and decimal point.
    pub fn parse(text: &str) -> Result<Self, String> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        let plain = !whole.is_empty()
            && !fraction.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit());
        if !plain {
            return Err(format!("{text:?} is not {EXPECTED}"));
        }
        Decimal::from_str(text)
            .map(Self)
            .map_err(|_| format!("{text:?} has more than 28 significant digits"))
    }
}

impl From<Decimal> for DecimalString {
    fn from(value: Decimal) -> Self {
        Self(value)
    }
}

impl From<DecimalString> for Decimal {
    fn from(value: DecimalString) -> Self {
        value.0
    }
}

impl fmt::Display for DecimalString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for DecimalString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DecimalString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringVisitor;

        impl Visitor<'_> for StringVisitor {
            type Value = DecimalString;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<DecimalString, E> {
                DecimalString::parse(text).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(StringVisitor)
    }
}

#[Scalar(name = "Decimal")]
/// A decimal number as a string in plain notation, e.g. `"12.50"`.
impl ScalarType for DecimalString {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DecimalString::parse(text).map_err(InputValueError::custom),
            _ => Err(InputValueError::custom(format!("expected {EXPECTED}"))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_decimal_strings_parse() {
        for good in ["0", "12.50", "-3.1", "12345678901234.5678"] {
            assert_eq!(DecimalString::parse(good).unwrap().to_string(), good);
        }
        for bad in [
            "", "1e3", "1.", ".5", "+1", "1,5", " 1", "abc", "1.2.3", "--1",
        ] {
            assert!(DecimalString::parse(bad).is_err(), "{bad:?}");
        }
        assert!(serde_json::from_str::<DecimalString>("12.5").is_err());
        assert_eq!(
            serde_json::from_str::<DecimalString>("\"12.5\"")
                .unwrap()
                .0
                .to_string(),
            "12.5"
        );
    }
}
