//! Price lists, pricing policies and promotions.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::service::idempotency::Idempotency;
use crate::service::pricing::{self, PriceListFilter};
use crate::wire::decimal::DecimalString;
use crate::wire::pricing::{
    PriceList, PriceListInput, PriceListPatchInput, PricingPolicy, Promotion, PromotionInput,
    PromotionPatchInput,
};

#[derive(Default)]
pub struct PricingQuery;

#[Object]
impl PricingQuery {
    async fn price_list(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<PriceList>> {
        Ok(Some(
            pricing::get_price_list(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn price_lists(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        customer_id: Option<Uuid>,
        price_tier: Option<String>,
        active: Option<bool>,
    ) -> Result<Connection<String, PriceList>> {
        let request = page_request(first, after.as_deref())?;
        let filter = PriceListFilter {
            customer_id,
            price_tier,
            active,
        };
        let page = pricing::list_price_lists(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |l| l.id, PriceList::from))
    }

    /// The largest discount per price tier.
    async fn pricing_policies(&self, ctx: &Context<'_>) -> Result<Vec<PricingPolicy>> {
        let policies = pricing::list_pricing_policies(db(ctx)?, actor(ctx)?).await?;
        Ok(policies.into_iter().map(Into::into).collect())
    }

    async fn promotion(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Promotion>> {
        Ok(Some(
            pricing::get_promotion(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn promotions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        active: Option<bool>,
    ) -> Result<Connection<String, Promotion>> {
        let request = page_request(first, after.as_deref())?;
        let page = pricing::list_promotions(db(ctx)?, actor(ctx)?, active, request).await?;
        Ok(connection(page, &request, |p| p.id, Promotion::from))
    }
}

#[derive(Default)]
pub struct PricingMutation;

#[Object]
impl PricingMutation {
    async fn create_price_list(
        &self,
        ctx: &Context<'_>,
        input: PriceListInput,
    ) -> Result<PriceList> {
        let created =
            pricing::create_price_list(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    async fn update_price_list(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PriceListPatchInput,
    ) -> Result<PriceList> {
        Ok(pricing::update_price_list(db(ctx)?, actor(ctx)?, id, input)
            .await?
            .into())
    }

    /// Returns the id of the deleted price list.
    async fn delete_price_list(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        pricing::delete_price_list(db(ctx)?, actor(ctx)?, id).await?;
        Ok(id)
    }

    /// Sets a tier's largest discount below the reference price, in percent.
    async fn set_pricing_policy(
        &self,
        ctx: &Context<'_>,
        price_tier: String,
        max_discount_percent: DecimalString,
    ) -> Result<PricingPolicy> {
        Ok(
            pricing::set_pricing_policy(db(ctx)?, actor(ctx)?, &price_tier, max_discount_percent.0)
                .await?
                .into(),
        )
    }

    /// Returns the tier whose policy was deleted.
    async fn delete_pricing_policy(&self, ctx: &Context<'_>, price_tier: String) -> Result<String> {
        pricing::delete_pricing_policy(db(ctx)?, actor(ctx)?, &price_tier).await?;
        Ok(price_tier)
    }

    async fn create_promotion(
        &self,
        ctx: &Context<'_>,
        input: PromotionInput,
    ) -> Result<Promotion> {
        let created =
            pricing::create_promotion(db(ctx)?, actor(ctx)?, input, Idempotency::none()).await?;
        Ok(created.into_new()?.into())
    }

    async fn update_promotion(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: PromotionPatchInput,
    ) -> Result<Promotion> {
        Ok(pricing::update_promotion(db(ctx)?, actor(ctx)?, id, input)
            .await?
            .into())
    }

    /// Returns the id of the deleted promotion.
    async fn delete_promotion(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        pricing::delete_promotion(db(ctx)?, actor(ctx)?, id).await?;
        Ok(id)
    }
}
