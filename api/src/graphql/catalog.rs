//! Products.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::catalog::ProductFilter;
use crate::service::catalog;
use crate::service::idempotency::Idempotency;
use crate::wire::catalog::{Product, ProductInput, ProductPatchInput};

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// A product by id.
    async fn product(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Product>> {
        Ok(Some(
            catalog::get_product(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// A product by SKU.
    async fn product_by_sku(&self, ctx: &Context<'_>, sku: String) -> Result<Option<Product>> {
        Ok(Some(
            catalog::get_product_by_sku(db(ctx)?, actor(ctx)?, &sku)
                .await?
                .into(),
        ))
    }

    /// Products in creation order.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        sku: Option<String>,
        #[graphql(desc = "Case-insensitive part of the name or SKU")] q: Option<String>,
        active: Option<bool>,
    ) -> Result<Connection<String, Product>> {
        let request = page_request(first, after.as_deref())?;
        let filter = ProductFilter { sku, q, active };
        let page = catalog::list_products(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |p| p.id, Product::from))
    }
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a product; the SKU is unique and never changes.
    async fn create_product(&self, ctx: &Context<'_>, input: ProductInput) -> Result<Product> {
        let created =
            catalog::create_product(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    /// Changes some fields of a product.
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: ProductPatchInput,
    ) -> Result<Product> {
        Ok(catalog::update_product(db(ctx)?, actor(ctx)?, id, input)
            .await?
            .into())
    }
}
