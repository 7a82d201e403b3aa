//! Keyset pagination over time-ordered (v7) UUID primary keys.

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Select,
};
use uuid::Uuid;

use crate::domain::page::{Cursor, Page, PageRequest};

/// Fetches one page of `select`, ordered by `id` (ascending, or newest first when
/// `newest_first`), starting after the request's cursor.
pub(crate) async fn fetch_page<E, C>(
    conn: &C,
    select: Select<E>,
    id: E::Column,
    request: PageRequest,
    newest_first: bool,
    id_of: impl Fn(&E::Model) -> Uuid,
) -> Result<Page<E::Model>, sea_orm::DbErr>
where
    E: EntityTrait,
    C: ConnectionTrait,
{
    let mut select = select;
    if let Some(Cursor(after)) = request.after {
        select = select.filter(if newest_first {
            id.lt(after)
        } else {
            id.gt(after)
        });
    }
    let order = if newest_first {
        Order::Desc
    } else {
        Order::Asc
    };
    // One extra row tells whether there is a next page.
    let mut rows = select
        .order_by(id, order)
        .limit(request.limit + 1)
        .all(conn)
        .await?;
    let next_cursor = if rows.len() as u64 > request.limit {
        rows.truncate(request.limit as usize);
        rows.last().map(|row| Cursor(id_of(row)))
    } else {
        None
    };
    Ok(Page {
        items: rows,
        next_cursor,
    })
}

/// `%text%` for a case-insensitive LIKE, with the wildcards in `text` escaped.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
