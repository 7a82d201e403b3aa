//! Stock receipts, levels and the ledger.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::stock::{MovementFilter, StockFilter};
use crate::service::idempotency::Idempotency;
use crate::service::{ServiceError, stock};
use crate::wire::stock::{
    MovementKind, ReceiptInput, SkuTotals, StockLevel, StockMovement, StockReceipt,
};

#[derive(Default)]
pub struct StockQuery;

#[Object]
impl StockQuery {
    /// Stock levels per warehouse, SKU and lot.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn stock_levels(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sku: Option<String>,
        warehouse_id: Option<Uuid>,
        lot: Option<String>,
        #[graphql(default = false, desc = "Only lots with something available")]
        available_only: bool,
    ) -> Result<Connection<String, StockLevel>> {
        let request = page_request(first, after.as_deref())?;
        let filter = StockFilter {
            sku,
            warehouse_id,
            lot,
            available_only,
        };
        let page = stock::list_levels(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |l| l.id, StockLevel::from))
    }

    /// Stock per SKU summed over lots and warehouses, with a per-warehouse
    /// breakdown (1 to 200 SKUs).
    async fn stock_totals(
        &self,
        ctx: &Context<'_>,
        skus: Vec<String>,
        warehouse_id: Option<Uuid>,
    ) -> Result<Vec<SkuTotals>> {
        if skus.is_empty() || skus.len() > 200 {
            return Err(ServiceError::invalid("skus", "out_of_range", "give 1 to 200 SKUs").into());
        }
        let totals = stock::totals(db(ctx)?, actor(ctx)?, skus, warehouse_id).await?;
        Ok(totals.into_iter().map(Into::into).collect())
    }

    /// The stock ledger, oldest first.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn stock_movements(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sku: Option<String>,
        warehouse_id: Option<Uuid>,
        lot: Option<String>,
        kind: Option<MovementKind>,
        reference_id: Option<Uuid>,
    ) -> Result<Connection<String, StockMovement>> {
        let request = page_request(first, after.as_deref())?;
        let filter = MovementFilter {
            sku,
            warehouse_id,
            lot,
            kind: kind.map(Into::into),
            reference_id,
        };
        let page = stock::list_movements(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |m| m.id, StockMovement::from))
    }
}

#[derive(Default)]
pub struct StockMutation;

#[Object]
impl StockMutation {
    /// Receives goods into a warehouse.
    async fn receive_stock(&self, ctx: &Context<'_>, input: ReceiptInput) -> Result<StockReceipt> {
        let created = stock::receive(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }
}
