//! Review queues, decisions and the review policy.

use async_graphql::connection::Connection;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

use super::connection::{connection, page_request};
use super::{actor, db};
use crate::domain::validation::Parse as _;
use crate::service::ServiceError;
use crate::service::reviews::{self, ReviewFilter};
use crate::wire::reviews::{
    DecisionBody, DecisionOutcome, Review, ReviewPolicyBody, Stage, Status,
};

#[derive(Default)]
pub struct ReviewQuery;

#[Object]
impl ReviewQuery {
    /// Review queues, oldest first: e.g. `reviews(stage: FINANCE, status: PENDING)`.
    #[graphql(complexity = "super::connection::complexity(first, child_complexity)")]
    async fn reviews(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        stage: Option<Stage>,
        status: Option<Status>,
        order_id: Option<Uuid>,
    ) -> Result<Connection<String, Review>> {
        let request = page_request(first, after.as_deref())?;
        let filter = ReviewFilter {
            stage: stage.map(Into::into),
            status: status.map(Into::into),
            order_id,
        };
        let page = reviews::list_reviews(db(ctx)?, actor(ctx)?, filter, request).await?;
        Ok(connection(page, &request, |r| r.id, Review::from))
    }

    async fn review(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Review>> {
        Ok(Some(
            reviews::get_review(db(ctx)?, actor(ctx)?, id).await?.into(),
        ))
    }

    async fn review_policy(&self, ctx: &Context<'_>) -> Result<ReviewPolicyBody> {
        Ok(reviews::get_policy(db(ctx)?, actor(ctx)?).await?.into())
    }
}

#[derive(Default)]
pub struct ReviewMutation;

#[Object]
impl ReviewMutation {
    /// Decides a pending review (only its stage's owner role, or admin).
    async fn decide_review(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: DecisionBody,
    ) -> Result<DecisionOutcome> {
        let (review, order) = reviews::decide(db(ctx)?, actor(ctx)?, id, input).await?;
        Ok(DecisionOutcome {
            review: review.into(),
            order: order.into(),
        })
    }

    /// Replaces the review policy (admin, order_manager).
    async fn set_review_policy(
        &self,
        ctx: &Context<'_>,
        input: ReviewPolicyBody,
    ) -> Result<ReviewPolicyBody> {
        let (db, actor) = (db(ctx)?, actor(ctx)?);
        let policy = input.parse().map_err(ServiceError::from)?;
        Ok(reviews::set_policy(db, actor, policy).await?.into())
    }
}
