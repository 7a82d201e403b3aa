//! Warehouses.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::warehouse::WarehouseFilter;
use crate::service::idempotency::Idempotency;
use crate::service::warehouses;
use crate::wire::warehouses::{Warehouse, WarehouseInput, WarehouseKind, WarehousePatchInput};

#[derive(Default)]
pub struct WarehouseQuery;

#[Object]
impl WarehouseQuery {
    /// A warehouse by id.
    async fn warehouse(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Warehouse>> {
        Ok(Some(
            warehouses::get_warehouse(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// Warehouses in creation order.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn warehouses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        code: Option<String>,
        region: Option<String>,
        active: Option<bool>,
        #[graphql(desc = "`STANDARD` (the default) or `TRANSIT`")] kind: Option<WarehouseKind>,
    ) -> Result<Connection<String, Warehouse>> {
        let request = page_request(first, after.as_deref())?;
        let filter = WarehouseFilter {
            code,
            region,
            active,
            kind: kind.map(Into::into),
        };
        let page = warehouses::list_warehouses(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |w| w.id, Warehouse::from))
    }
}

#[derive(Default)]
pub struct WarehouseMutation;

#[Object]
impl WarehouseMutation {
    /// Creates a warehouse; the code is unique and never changes.
    async fn create_warehouse(
        &self,
        ctx: &Context<'_>,
        input: WarehouseInput,
    ) -> Result<Warehouse> {
        let created =
            warehouses::create_warehouse(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    /// Changes some fields of a warehouse.
    async fn update_warehouse(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: WarehousePatchInput,
    ) -> Result<Warehouse> {
        Ok(
            warehouses::update_warehouse(db(ctx)?, actor(ctx)?, id, input)
                .await?
                .into(),
        )
    }
}
