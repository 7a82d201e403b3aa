//! Allocation, picking and packing, transfers, the allocation policy and the
//! geo table.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::transfer::TransferFilter;
use crate::domain::validation::Parse as _;
use crate::service::idempotency::Idempotency;
use crate::service::{ServiceError, allocation, fulfilment, geo, transfers};
use crate::wire::allocation::{
    Allocation, AllocationInput, AllocationPolicy, GeoLocation, GeoLocationInput,
};
use crate::wire::fulfilment::{Package, PackagesInput, Packing, PickList, PickedOrder, PicksInput};
use crate::wire::transfers::{DispatchInput, Transfer, TransferInput, TransferStatus};

#[derive(Default)]
pub struct AllocationQuery;

#[Object]
impl AllocationQuery {
    /// An order's allocation: the plan in force with its reasons, and what
    /// is reserved, picked and packed.
    async fn allocation(&self, ctx: &Context<'_>, order_id: Uuid) -> Result<Allocation> {
        Ok(allocation::get_allocation(db(ctx)?, actor(ctx)?, order_id)
            .await?
            .into())
    }

    async fn allocation_policy(&self, ctx: &Context<'_>) -> Result<AllocationPolicy> {
        Ok(allocation::get_policy(db(ctx)?, actor(ctx)?).await?.into())
    }

    /// The geo table allocation measures distances with.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn geo_locations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        country: Option<String>,
    ) -> Result<Connection<String, GeoLocation>> {
        let request = page_request(first, after.as_deref())?;
        let page = geo::list_locations(db(ctx)?, actor(ctx)?, country, request).await?;
        Ok(connection(page, &request, |g| g.id, GeoLocation::from))
    }

    /// A warehouse's open picking work, by SKU and lot.
    async fn pick_list(&self, ctx: &Context<'_>, warehouse_id: Uuid) -> Result<PickList> {
        Ok(fulfilment::pick_list(db(ctx)?, actor(ctx)?, warehouse_id)
            .await?
            .into())
    }

    /// An order's packages, oldest first.
    async fn packages(&self, ctx: &Context<'_>, order_id: Uuid) -> Result<Vec<Package>> {
        let items = fulfilment::list_packages(db(ctx)?, actor(ctx)?, order_id).await?;
        Ok(items.into_iter().map(Into::into).collect())
    }

    /// Transfers between warehouses, oldest first.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<TransferStatus>,
        from_warehouse_id: Option<Uuid>,
        to_warehouse_id: Option<Uuid>,
        order_id: Option<Uuid>,
    ) -> Result<Connection<String, Transfer>> {
        let request = page_request(first, after.as_deref())?;
        let filter = TransferFilter {
            status: status.map(Into::into),
            from_warehouse_id,
            to_warehouse_id,
            order_id,
        };
        let page = transfers::list_transfers(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |t| t.id, Transfer::from))
    }

    async fn transfer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Transfer> {
        Ok(transfers::get_transfer(db(ctx)?, actor(ctx)?, id)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct AllocationMutation;

#[Object]
impl AllocationMutation {
    /// Plans the order's allocation and reserves it (with `dryRun`, only
    /// shows the plan).
    async fn allocate_order(
        &self,
        ctx: &Context<'_>,
        order_id: Uuid,
        #[graphql(default)] input: AllocationInput,
        #[graphql(default = false)] dry_run: bool,
    ) -> Result<Allocation> {
        Ok(
            allocation::allocate(db(ctx)?, actor(ctx)?, order_id, input, dry_run)
                .await?
                .into(),
        )
    }

    /// Releases the order's reservations; it is `approved` again.
    async fn release_allocation(&self, ctx: &Context<'_>, order_id: Uuid) -> Result<Allocation> {
        Ok(allocation::release(db(ctx)?, actor(ctx)?, order_id)
            .await?
            .into())
    }

    async fn set_allocation_policy(
        &self,
        ctx: &Context<'_>,
        input: AllocationPolicy,
    ) -> Result<AllocationPolicy> {
        Ok(allocation::set_policy(db(ctx)?, actor(ctx)?, input.into())
            .await?
            .into())
    }

    /// Adds a geo row, or replaces the one with the same key.
    async fn put_geo_location(
        &self,
        ctx: &Context<'_>,
        input: GeoLocationInput,
    ) -> Result<GeoLocation> {
        let (row, _) = geo::put_location(db(ctx)?, actor(ctx)?, input).await?;
        Ok(row.into())
    }

    async fn delete_geo_location(&self, ctx: &Context<'_>, id: Uuid) -> Result<bool> {
        geo::delete_location(db(ctx)?, actor(ctx)?, id).await?;
        Ok(true)
    }

    /// Confirms picks in a warehouse, all or nothing.
    async fn confirm_picks(
        &self,
        ctx: &Context<'_>,
        warehouse_id: Uuid,
        input: PicksInput,
    ) -> Result<Vec<PickedOrder>> {
        let orders = fulfilment::confirm_picks(
            db(ctx)?,
            actor(ctx)?,
            warehouse_id,
            input,
            Idempotency::none(),
        )
        .await?
        .into_new()?;
        Ok(orders.into_iter().map(Into::into).collect())
    }

    /// Records packages of an order.
    async fn pack_order(
        &self,
        ctx: &Context<'_>,
        order_id: Uuid,
        input: PackagesInput,
    ) -> Result<Packing> {
        let created =
            fulfilment::pack(db(ctx)?, actor(ctx)?, order_id, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    async fn request_transfer(&self, ctx: &Context<'_>, input: TransferInput) -> Result<Transfer> {
        let created =
            transfers::create_transfer(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    async fn ship_transfer(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default)] input: DispatchInput,
    ) -> Result<Transfer> {
        let dispatch = input.parse().map_err(ServiceError::from)?;
        Ok(
            transfers::ship_transfer(db(ctx)?, actor(ctx)?, id, dispatch)
                .await?
                .into(),
        )
    }

    async fn receive_transfer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Transfer> {
        Ok(transfers::receive_transfer(db(ctx)?, actor(ctx)?, id)
            .await?
            .into())
    }

    async fn cancel_transfer(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        reason: String,
    ) -> Result<Transfer> {
        Ok(
            transfers::cancel_transfer(db(ctx)?, actor(ctx)?, id, &reason)
                .await?
                .into(),
        )
    }
}
