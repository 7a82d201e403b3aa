//! The geo table: coordinates for a country, a region or a postal-code prefix,
//! so allocation can measure how far a warehouse is from a ship-to address.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::allocation::GeoPoint;

#[derive(Clone, Debug, PartialEq)]
pub struct GeoLocation {
    pub id: Uuid,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// A region code (`SH`, `ZJ`) as addresses carry it; `None` for a row
    /// about a whole country or a postal prefix.
    pub region: Option<String>,
    pub postal_prefix: Option<String>,
    pub name: String,
    pub point: GeoPoint,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewGeoLocation {
    pub country: String,
    pub region: Option<String>,
    pub postal_prefix: Option<String>,
    pub name: String,
    pub point: GeoPoint,
}

/// How an address was placed on the map.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub point: GeoPoint,
    /// E.g. `postal prefix 3100 (Hangzhou)`, `region ZJ (Hangzhou)`.
    pub matched: String,
}

/// Normalises a region as addresses write it: upper case, without a
/// `CN-` style country prefix.
pub fn region_key(country: &str, region: &str) -> String {
    let upper = region.trim().to_uppercase();
    let prefix = format!("{}-", country.to_uppercase());
    upper
        .strip_prefix(&prefix)
        .map_or(upper.clone(), str::to_owned)
}

/// The best row for an address: the longest postal prefix it starts with,
/// else its region, else its country.
pub fn place(
    rows: &[GeoLocation],
    country: &str,
    region: Option<&str>,
    postal_code: Option<&str>,
) -> Option<Placement> {
    let country = country.trim().to_uppercase();
    let in_country = rows.iter().filter(|r| r.country == country);
    if let Some(postal) = postal_code.map(|p| p.replace(' ', "").to_uppercase())
        && let Some(row) = in_country
            .clone()
            .filter(|r| {
                r.postal_prefix
                    .as_deref()
                    .is_some_and(|prefix| postal.starts_with(&prefix.to_uppercase()))
            })
            .max_by_key(|r| r.postal_prefix.as_deref().map_or(0, str::len))
    {
        return Some(Placement {
            point: row.point,
            matched: format!(
                "postal prefix {} ({})",
                row.postal_prefix.as_deref().unwrap_or_default(),
                row.name
            ),
        });
    }
    if let Some(region) = region.map(|r| region_key(&country, r))
        && let Some(row) = in_country.clone().find(|r| {
            r.postal_prefix.is_none()
                && r.region
                    .as_deref()
                    .is_some_and(|own| region_key(&country, own) == region)
        })
    {
        return Some(Placement {
            point: row.point,
            matched: format!("region {region} ({})", row.name),
        });
    }
    in_country
        .clone()
        .find(|r| r.region.is_none() && r.postal_prefix.is_none())
        .map(|row| Placement {
            point: row.point,
            matched: format!("country {country} ({})", row.name),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(region: Option<&str>, postal: Option<&str>, name: &str, lat: f64) -> GeoLocation {
        GeoLocation {
            id: Uuid::now_v7(),
            country: "CN".into(),
            region: region.map(Into::into),
            postal_prefix: postal.map(Into::into),
            name: name.into(),
            point: GeoPoint {
                latitude: lat,
                longitude: 120.0,
            },
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_longest_postal_prefix_then_the_region_then_the_country() {
        let rows = [
            row(None, None, "China", 35.0),
            row(Some("ZJ"), None, "Hangzhou", 30.0),
            row(None, Some("31"), "Zhejiang north", 30.5),
            row(None, Some("3150"), "Ningbo", 29.9),
        ];
        let at = |region: Option<&str>, postal: Option<&str>| {
            place(&rows, "cn", region, postal).map(|p| p.matched)
        };
        assert_eq!(
            at(Some("ZJ"), Some("315000")).unwrap(),
            "postal prefix 3150 (Ningbo)"
        );
        assert_eq!(
            at(Some("ZJ"), Some("310000")).unwrap(),
            "postal prefix 31 (Zhejiang north)"
        );
        assert_eq!(
            at(Some("cn-zj"), Some("999")).unwrap(),
            "region ZJ (Hangzhou)"
        );
        assert_eq!(at(Some("XX"), None).unwrap(), "country CN (China)");
        assert_eq!(place(&rows, "JP", None, None), None);
    }
}
