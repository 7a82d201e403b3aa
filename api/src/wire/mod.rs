//! The public contract: request and response shapes shared by REST (serde,
//! snake_case, documented by utoipa) and GraphQL (async-graphql, camelCase).
//!
//! Inputs convert into `domain` types with `parse`, reporting every invalid
//! field with its path; outputs are built `From` domain types. Storage rows
//! never appear here.

pub mod allocation;
pub mod catalog;
pub mod common;
pub mod connectors;
pub mod customers;
pub mod decimal;
pub mod fulfilment;
pub mod orders;
pub mod pricing;
pub mod reviews;
pub mod shipping;
pub mod stock;
pub mod transfers;
pub mod warehouses;
pub mod webhooks;

/// For fields of a patch that cannot be cleared: absent keeps the value, a
/// value replaces it, and `null` is refused (it would otherwise look like
/// "keep", and a client meaning "clear" would be silently ignored).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Declares the REST list envelope `{"items": [...], "next_cursor": ...}` for one
/// item type.
macro_rules! list_of {
    ($list:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $list {
            pub items: Vec<$item>,
            /// Pass as `after` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }

        impl<T: Into<$item>> From<crate::domain::page::Page<T>> for $list {
            fn from(page: crate::domain::page::Page<T>) -> Self {
                Self {
                    items: page.items.into_iter().map(Into::into).collect(),
                    next_cursor: page.next_cursor.map(|cursor| cursor.encode()),
                }
            }
        }
    };
}
pub(crate) use list_of;
