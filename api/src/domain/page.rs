//! Cursor pagination: a bounded page size and an opaque position.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use super::validation::{FieldError, field_error};

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// Where a page starts: after the item with this id, in the list's order.
/// Clients see it only as an opaque string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor(pub Uuid);

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    pub fn decode(path: &str, text: &str) -> Result<Self, FieldError> {
        URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|bytes| Uuid::from_slice(&bytes).ok())
            .map(Cursor)
            .ok_or_else(|| field_error(path, "invalid_cursor", "is not a cursor this API returned"))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u64,
    pub after: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl PageRequest {
    /// `limit` defaults to 50 and must be 1 to 200; `after` is a cursor from a
    /// previous page.
    pub fn parse(limit: Option<i64>, after: Option<&str>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as u64,
            Some(_) => {
                errors.push(field_error(
                    "limit",
                    "out_of_range",
                    format!("must be between 1 and {MAX_LIMIT}"),
                ));
                DEFAULT_LIMIT
            }
        };
        let after = match after {
            None | Some("") => None,
            Some(text) => match Cursor::decode("after", text) {
                Ok(cursor) => Some(cursor),
                Err(error) => {
                    errors.push(error);
                    None
                }
            },
        };
        if errors.is_empty() {
            Ok(Self { limit, after })
        } else {
            Err(errors)
        }
    }
}

/// One page of a list, and the cursor of the next one if there is more.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor(Uuid::now_v7());
        assert_eq!(Cursor::decode("after", &cursor.encode()), Ok(cursor));
        assert!(Cursor::decode("after", "not-a-cursor").is_err());
    }

    #[test]
    fn limits_are_bounded() {
        assert_eq!(PageRequest::parse(None, None).map(|p| p.limit), Ok(50));
        assert_eq!(
            PageRequest::parse(Some(200), None).map(|p| p.limit),
            Ok(200)
        );
        assert!(PageRequest::parse(Some(201), None).is_err());
        assert!(PageRequest::parse(Some(0), None).is_err());
    }
}
