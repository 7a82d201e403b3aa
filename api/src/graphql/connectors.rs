//! Marketplace connector accounts, syncs and their runs.

use async_graphql::{Context, Json, Object, Result};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{actor, db};
use crate::service::connectors;
use crate::wire::connectors::{ConnectorBody, ConnectorInput, ConnectorPatchInput, SyncRunBody};

#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    /// Marketplace accounts (credentials are never returned).
    async fn connectors(&self, ctx: &Context<'_>) -> Result<Vec<ConnectorBody>> {
        Ok(connectors::list_accounts(db(ctx)?, actor(ctx)?)
            .await?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn connector(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<ConnectorBody>> {
        Ok(Some(
            connectors::get_account(db(ctx)?, actor(ctx)?, id)
                .await?
                .into(),
        ))
    }

    /// An account's sync runs, newest first (at most 200).
    async fn connector_sync_runs(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        #[graphql(default = 50)] limit: u64,
    ) -> Result<Vec<SyncRunBody>> {
        Ok(
            connectors::list_runs(db(ctx)?, actor(ctx)?, id, limit.clamp(1, 200))
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }
}

#[derive(Default)]
pub struct ConnectorMutation;

#[Object]
impl ConnectorMutation {
    /// Registers an account; `input` is REST's `ConnectorInput` (platform,
    /// name, base_url, credentials, sync_interval_seconds, sku_map,
    /// customer_mode, customer_id, warehouse_preferences, enabled).
    async fn create_connector(
        &self,
        ctx: &Context<'_>,
        input: Json<ConnectorInput>,
    ) -> Result<ConnectorBody> {
        Ok(connectors::create_account(db(ctx)?, actor(ctx)?, input.0)
            .await?
            .into())
    }

    /// Changes an account; `input` is REST's `ConnectorPatchInput`.
    async fn update_connector(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: Json<ConnectorPatchInput>,
    ) -> Result<ConnectorBody> {
        Ok(
            connectors::update_account(db(ctx)?, actor(ctx)?, id, input.0)
                .await?
                .into(),
        )
    }

    /// Syncs now (from `since`, or the stored cursor) and returns the run.
    async fn sync_connector(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        since: Option<DateTime<Utc>>,
    ) -> Result<SyncRunBody> {
        Ok(connectors::sync_now(db(ctx)?, actor(ctx)?, id, since)
            .await?
            .into())
    }
}
