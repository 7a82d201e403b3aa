//! Postal addresses and contacts.

use serde::{Deserialize, Serialize};

use super::validation::{FieldError, Violations, field_error, join, optional_text, required_text};

/// A postal address. `country` is an ISO 3166-1 alpha-2 code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub phone: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: String,
}

/// The parts of an address as received, before checking.
#[derive(Clone, Debug, Default)]
pub struct AddressParts<'a> {
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub line1: Option<&'a str>,
    pub line2: Option<&'a str>,
    pub city: Option<&'a str>,
    pub region: Option<&'a str>,
    pub postal_code: Option<&'a str>,
    pub country: Option<&'a str>,
}

impl Address {
    /// Checks an address received at `path`: name, first line, city and country
    /// are required; the rest is optional.
    pub fn parse(path: &str, parts: AddressParts<'_>, errors: &mut Violations) -> Option<Self> {
        let required = |field: &str, value: Option<&str>, errors: &mut Violations| {
            errors.take(required_text(&join(path, field), value.unwrap_or(""), 200))
        };
        let optional = |field: &str, value: Option<&str>, errors: &mut Violations| {
            errors.take(optional_text(&join(path, field), value, 200))
        };
        let name = required("name", parts.name, errors);
        let phone = optional("phone", parts.phone, errors);
        let line1 = required("line1", parts.line1, errors);
        let line2 = optional("line2", parts.line2, errors);
        let city = required("city", parts.city, errors);
        let region = optional("region", parts.region, errors);
        let postal_code = optional("postal_code", parts.postal_code, errors);
        let country_path = join(path, "country");
        let country = match parts.country.map(str::trim) {
            None | Some("") => {
                errors.push(country_path, "required", "must not be empty");
                None
            }
            Some(code) => errors.take(country(&country_path, code)),
        };
        Some(Self {
            name: name?,
            phone: phone?,
            line1: line1?,
            line2: line2?,
            city: city?,
            region: region?,
            postal_code: postal_code?,
            country: country?,
        })
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case.
pub fn country(path: &str, value: &str) -> Result<String, FieldError> {
    if value.len() == 2 && value.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(value.to_owned())
    } else {
        Err(field_error(
            path,
            "invalid_country",
            "must be an ISO 3166-1 alpha-2 code in upper case, e.g. \"CN\"",
        ))
    }
}

/// A person to talk to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Contact {
    pub fn parse(
        path: &str,
        name: Option<&str>,
        phone: Option<&str>,
        email: Option<&str>,
        errors: &mut Violations,
    ) -> Option<Self> {
        let name = errors.take(required_text(&join(path, "name"), name.unwrap_or(""), 200));
        let phone = errors.take(optional_text(&join(path, "phone"), phone, 50));
        let email = errors.take(optional_email(&join(path, "email"), email));
        Some(Self {
            name: name?,
            phone: phone?,
            email: email?,
        })
    }
}

fn optional_email(path: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(email) = optional_text(path, value, 254)? else {
        return Ok(None);
    };
    let plausible = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.ends_with('.')
    }) && !email.contains(char::is_whitespace);
    if plausible {
        Ok(Some(email))
    } else {
        Err(field_error(
            path,
            "invalid_email",
            "is not an e-mail address",
        ))
    }
}
