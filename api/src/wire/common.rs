//! Shapes used by several resources.

use async_graphql::{InputObject, SimpleObject};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::address::{self, AddressParts};
use crate::domain::validation::Violations;

/// A postal address as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Address {
    #[schema(example = "Li Wei")]
    pub name: String,
    #[schema(example = "+86 21 5555 0101")]
    pub phone: Option<String>,
    #[schema(example = "88 Century Ave")]
    pub line1: String,
    pub line2: Option<String>,
    #[schema(example = "Shanghai")]
    pub city: String,
    #[schema(example = "SH")]
    pub region: Option<String>,
    #[schema(example = "200120")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "CN")]
    pub country: String,
}

impl From<address::Address> for Address {
    fn from(a: address::Address) -> Self {
        Self {
            name: a.name,
            phone: a.phone,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

/// A postal address as sent. `name`, `line1`, `city` and `country` (ISO 3166-1
/// alpha-2) are required.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[schema(example = "Li Wei")]
    pub name: Option<String>,
    #[schema(example = "+86 21 5555 0101")]
    pub phone: Option<String>,
    #[schema(example = "88 Century Ave")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "Shanghai")]
    pub city: Option<String>,
    #[schema(example = "SH")]
    pub region: Option<String>,
    #[schema(example = "200120")]
    pub postal_code: Option<String>,
    #[schema(example = "CN")]
    pub country: Option<String>,
}

impl AddressInput {
    pub fn parts(&self) -> AddressParts<'_> {
        AddressParts {
            name: self.name.as_deref(),
            phone: self.phone.as_deref(),
            line1: self.line1.as_deref(),
            line2: self.line2.as_deref(),
            city: self.city.as_deref(),
            region: self.region.as_deref(),
            postal_code: self.postal_code.as_deref(),
            country: self.country.as_deref(),
        }
    }

    pub fn to_address(&self, path: &str, errors: &mut Violations) -> Option<address::Address> {
        address::Address::parse(path, self.parts(), errors)
    }
}

/// A person to talk to.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Contact {
    #[schema(example = "Wang Fang")]
    pub name: String,
    #[schema(example = "+86 571 5555 0199")]
    pub phone: Option<String>,
    #[schema(example = "wf@example.com")]
    pub email: Option<String>,
}

impl From<address::Contact> for Contact {
    fn from(c: address::Contact) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
            email: c.email,
        }
    }
}

/// A contact as sent; `name` is required.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(example = "Wang Fang")]
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl ContactInput {
    pub fn to_contact(&self, path: &str, errors: &mut Violations) -> Option<address::Contact> {
        address::Contact::parse(
            path,
            self.name.as_deref(),
            self.phone.as_deref(),
            self.email.as_deref(),
            errors,
        )
    }
}

/// Parses every element of a list, reporting errors at `path[i]`.
pub fn parse_each<I, T>(
    path: &str,
    items: &[I],
    errors: &mut Violations,
    parse: impl Fn(&I, &str, &mut Violations) -> Option<T>,
) -> Option<Vec<T>> {
    let parsed: Vec<Option<T>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse(item, &format!("{path}[{i}]"), errors))
        .collect();
    parsed.into_iter().collect()
}

/// An integer that must lie in `range`, reported at `path` otherwise.
pub fn bounded(
    path: &str,
    value: i64,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Violations,
) -> Option<i64> {
    if range.contains(&value) {
        Some(value)
    } else {
        errors.push(
            path,
            "out_of_range",
            format!("must be between {} and {}", range.start(), range.end()),
        );
        None
    }
}
