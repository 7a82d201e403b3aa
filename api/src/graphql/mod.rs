//! The GraphQL API at `/graphql`: thin resolvers over the same `service`
//! functions as REST, with depth, complexity and alias limits.

mod allocation;
mod catalog;
mod connection;
mod connectors;
mod customers;
pub mod errors;
pub mod http;
mod orders;
mod pricing;
mod reviews;
mod shipping;
mod stock;
mod subscriptions;
mod warehouses;
mod webhooks;

use async_graphql::{Context, MergedObject, Schema};

use crate::domain::actor::Actor;
use crate::service::Db;

/// Deep enough for the standard introspection query of GraphiQL and code
/// generators.
pub const MAX_DEPTH: usize = 16;
/// Enough for a full page (200) of every field of a resource, with room.
pub const MAX_COMPLEXITY: usize = 10_000;
pub const MAX_ALIASES: usize = 30;

#[derive(MergedObject, Default)]
pub struct Query(
    catalog::CatalogQuery,
    customers::CustomerQuery,
    warehouses::WarehouseQuery,
    stock::StockQuery,
    orders::OrderQuery,
    reviews::ReviewQuery,
    pricing::PricingQuery,
    allocation::AllocationQuery,
    webhooks::WebhookQuery,
    shipping::ShippingQuery,
    connectors::ConnectorQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    catalog::CatalogMutation,
    customers::CustomerMutation,
    warehouses::WarehouseMutation,
    stock::StockMutation,
    orders::OrderMutation,
    reviews::ReviewMutation,
    pricing::PricingMutation,
    allocation::AllocationMutation,
    webhooks::WebhookMutation,
    shipping::ShippingMutation,
    connectors::ConnectorMutation,
);

pub type DingdanSchema = Schema<Query, Mutation, subscriptions::Subscription>;

/// The schema, serving from `db`.
pub fn schema(db: Option<Db>) -> DingdanSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        subscriptions::Subscription,
    )
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .extension(errors::ErrorCodes)
    .extension(errors::AliasLimit(MAX_ALIASES));
    if let Some(db) = db {
        builder = builder.data(db);
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `openapi/schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}

pub(crate) fn actor<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Actor> {
    ctx.data_opt::<Actor>()
        .ok_or_else(|| errors::coded("unauthorized", "send `Authorization: Bearer <token>`"))
}

pub(crate) fn db<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Db> {
    ctx.data::<Db>()
}
