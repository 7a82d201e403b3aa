//! Relay-style connections over the service layer's cursor pages.

use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use uuid::Uuid;

use crate::domain::page::{Cursor, Page, PageRequest};
use crate::service::ServiceError;

/// A page costs its size times what each item asks for, so a document cannot
/// ask for many full pages at once.
pub fn complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let size = first.map_or(crate::domain::page::DEFAULT_LIMIT as usize, |n| {
        usize::try_from(n).unwrap_or(1).max(1)
    });
    size.saturating_mul(child_complexity).saturating_add(1)
}

/// Forward pagination only: `first` (1 to 200, default 50) and `after`.
pub fn page_request(first: Option<i32>, after: Option<&str>) -> Result<PageRequest, ServiceError> {
    PageRequest::parse(first.map(i64::from), after).map_err(|mut errors| {
        for error in &mut errors {
            if error.path == "limit" {
                error.path = "first".to_owned();
            }
        }
        ServiceError::Validation(errors)
    })
}

pub fn connection<D, T: OutputType>(
    page: Page<D>,
    request: &PageRequest,
    id_of: impl Fn(&D) -> Uuid,
    into: impl Fn(D) -> T,
) -> Connection<String, T> {
    let mut connection = Connection::new(request.after.is_some(), page.next_cursor.is_some());
    connection.edges = page
        .items
        .into_iter()
        .map(|item| Edge::new(Cursor(id_of(&item)).encode(), into(item)))
        .collect();
    connection
}
