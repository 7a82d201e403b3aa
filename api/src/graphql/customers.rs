//! Customers. A partner token sees only its own customer.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::customer::CustomerFilter;
use crate::service::customers;
use crate::service::idempotency::Idempotency;
use crate::wire::customers::{Customer, CustomerInput, CustomerPatchInput, CustomerStatus};

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// A customer by id.
    async fn customer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Customer>> {
        Ok(Some(
            customers::get_customer(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// Customers in creation order.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // each filter is a GraphQL argument
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        code: Option<String>,
        status: Option<CustomerStatus>,
        price_tier: Option<String>,
        #[graphql(desc = "Case-insensitive part of the name or code")] q: Option<String>,
    ) -> Result<Connection<String, Customer>> {
        let request = page_request(first, after.as_deref())?;
        let filter = CustomerFilter {
            code,
            status: status.map(Into::into),
            price_tier,
            q,
        };
        let page = customers::list_customers(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |c| c.id, Customer::from))
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Creates a customer; the code is unique and never changes.
    async fn create_customer(&self, ctx: &Context<'_>, input: CustomerInput) -> Result<Customer> {
        let created =
            customers::create_customer(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    /// Changes some fields of a customer.
    async fn update_customer(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: CustomerPatchInput,
    ) -> Result<Customer> {
        Ok(customers::update_customer(db(ctx)?, actor(ctx)?, id, input)
            .await?
            .into())
    }
}
