//! Marketplace connectors: accounts (credentials sealed at rest), syncs that
//! pull orders page by page from a stored cursor, and their import through
//! the same intake as API orders.
//!
//! An imported order is keyed by (account, external id): fetched again it is
//! never created twice (a concurrent sync of the same account finds the
//! order intake's own unique key). A cancellation on the platform cancels
//! the order while it has not shipped; an address changed on the platform
//! before shipment is applied. A failed run keeps the cursor of the last
//! page it finished, so the next run resumes there.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use dingdan_entity::{connector_account, connector_order, connector_sync_run, order};
use dingdan_integrations::marketplaces::{
    AnyConnector, ClientOptions, Connector as _, ConnectorError, Cursor, MarketplaceOrder, Resolver,
};

use super::error::corrupt;
use super::idempotency::{Created, Idempotency};
use super::jobs::{self, JobKind};
use super::{Db, ServiceError, ServiceResult};
use crate::domain::actor::{Actor, Permission, Role};
use crate::domain::connector::{
    CarrierMap, ConnectorAccount, ConnectorPatch, CustomerMode, NewConnectorAccount, Platform,
    SkuMapping, SyncRun, map_sku,
};
use crate::domain::order::{AddressDraft, Channel, ContactDraft, LineDraft, NewOrder, OrderPatch};
use crate::domain::validation::Parse;

fn key(db: &Db) -> ServiceResult<&super::secrets::SecretKey> {
    db.config()
        .secret_key
        .as_ref()
        .ok_or_else(|| ServiceError::Unprocessable {
            code: "secret_key_missing",
            message: "connector credentials are stored encrypted: set DINGDAN_SECRET_KEY \
                      (32 bytes, base64: `openssl rand -base64 32`) and restart"
                .to_owned(),
        })
}

/// Where an account may point: https to a public address (credentials go
/// with every call, so no plain http and no internal network), except the
/// networks `DINGDAN_CONNECTOR_ALLOWED_NETWORKS` names (an on-premises shop,
/// local test doubles), which may also be plain http. Names are judged as
/// written; `localhost` counts as loopback.
fn check_base_url(db: &Db, base_url: &str) -> ServiceResult<()> {
    use super::webhooks::{listed_in, literal_ip, permitted_in};
    let refuse = |code: &'static str, message: String| {
        ServiceError::Validation(vec![crate::domain::validation::field_error(
            "base_url", code, message,
        )])
    };
    let url = url::Url::parse(base_url).map_err(|_| refuse("invalid", "not a URL".to_owned()))?;
    let localhost = url
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case("localhost"));
    let ip = literal_ip(&url).or(localhost.then_some(std::net::Ipv4Addr::LOCALHOST.into()));
    let networks = &db.config().connector_networks;
    if ip.is_some_and(|ip| listed_in(networks, ip)) {
        return Ok(());
    }
    if let Some(Err(reason)) = ip.map(|ip| permitted_in(networks, ip)) {
        return Err(refuse(
            "forbidden_address",
            format!(
                "{} is {reason}: connectors may call it only when \
                 DINGDAN_CONNECTOR_ALLOWED_NETWORKS names it",
                url.host_str().unwrap_or_default()
            ),
        ));
    }
    if url.scheme() != "https" {
        return Err(refuse(
            "insecure",
            "credentials go with every call: use https".to_owned(),
        ));
    }
    Ok(())
}

/// Checks credentials by building a client with them (each platform knows
/// which fields it needs). Its names are resolved through the same guard as webhooks': an address
/// inside the network is refused at connect time unless
/// `DINGDAN_CONNECTOR_ALLOWED_NETWORKS` names it.
fn client(
    db: &Db,
    platform: Platform,
    base_url: &str,
    credentials: &serde_json::Map<String, Value>,
) -> ServiceResult<AnyConnector> {
    let options = ClientOptions {
        resolver: Resolver(Some(std::sync::Arc::new(
            super::webhooks::GuardedResolver {
                allowed: std::sync::Arc::new(db.config().connector_networks.clone()),
                caller: "marketplace connectors",
            },
        ))),
        ..ClientOptions::default()
    };
    AnyConnector::new(platform, base_url, credentials, options)
        .map_err(|e| ServiceError::invalid("credentials", "invalid_credentials", e.to_string()))
}

/// Registers an account; its first sync is queued at once when enabled.
pub async fn create_account(
    db: &Db,
    actor: &Actor,
    input: impl Parse<NewConnectorAccount>,
) -> ServiceResult<ConnectorAccount> {
    actor.require(Permission::ConnectorManage)?;
    let new = input.parse()?;
    check_base_url(db, &new.base_url)?;
    client(db, new.platform, &new.base_url, &new.credentials)?;
    if new.customer_mode == CustomerMode::Single && new.customer_id.is_none() {
        return Err(ServiceError::invalid(
            "customer_id",
            "required",
            "an account whose orders are one customer's names that customer",
        ));
    }
    let sealed = key(db)?
        .seal(
            Value::Object(new.credentials.clone())
                .to_string()
                .as_bytes(),
        )
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!(e)))?;
    if let Some(customer) = new.customer_id {
        super::customers::get_customer(db, actor, customer)
            .await
            .map_err(|_| {
                ServiceError::invalid("customer_id", "not_found", "no customer with this id")
            })?;
    }
    let at = db.now();
    let txn = db.write().await?;
    let row = connector_account::ActiveModel {
        id: Set(Uuid::now_v7()),
        platform: Set(new.platform.as_str().to_owned()),
        name: Set(new.name),
        base_url: Set(new.base_url),
        credentials: Set(sealed),
        sync_interval_seconds: Set(new.sync_interval_seconds),
        sku_map: Set(json!(new.sku_map)),
        customer_mode: Set(new.customer_mode.as_str().to_owned()),
        customer_id: Set(new.customer_id),
        warehouse_preferences: Set(json!(new.warehouse_preferences)),
        carrier_map: Set(Some(json!(new.carrier_map))),
        enabled: Set(new.enabled),
        cursor: Set(json!(Cursor::default())),
        last_synced_at: Set(None),
        sync_holder: Set(None),
        sync_lease_until: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*txn)
    .await?;
    if row.enabled {
        schedule(&*txn, row.id, at).await?;
    }
    txn.commit().await?;
    db.wake_workers();
    account_from_row(row, &new.credentials)
}

async fn schedule<C: sea_orm::ConnectionTrait>(
    conn: &C,
    account: Uuid,
    at: DateTime<Utc>,
) -> ServiceResult<()> {
    jobs::enqueue(
        conn,
        JobKind::SyncConnector,
        json!({"account_id": account}),
        Some(&format!("connector-sync:{account}")),
        at,
    )
    .await
}

fn account_from_row(
    row: connector_account::Model,
    credentials: &serde_json::Map<String, Value>,
) -> ServiceResult<ConnectorAccount> {
    let mut names: Vec<String> = credentials.keys().cloned().collect();
    names.sort();
    Ok(ConnectorAccount {
        platform: Platform::parse(&row.platform)
            .ok_or_else(|| corrupt("connector platform", &row.platform))?,
        customer_mode: CustomerMode::parse(&row.customer_mode)
            .ok_or_else(|| corrupt("connector customer mode", &row.customer_mode))?,
        sku_map: serde_json::from_value(row.sku_map.clone())
            .map_err(|_| corrupt("connector SKU map", row.id))?,
        warehouse_preferences: serde_json::from_value(row.warehouse_preferences.clone())
            .map_err(|_| corrupt("connector warehouses", row.id))?,
        carrier_map: carriers_of(&row)?,
        credential_names: names,
        id: row.id,
        name: row.name,
        base_url: row.base_url,
        sync_interval_seconds: row.sync_interval_seconds,
        customer_id: row.customer_id,
        enabled: row.enabled,
        last_synced_at: row.last_synced_at,
        version: row.version,
        created_at: row.created_at,
    })
}

fn carriers_of(row: &connector_account::Model) -> ServiceResult<CarrierMap> {
    match &row.carrier_map {
        Some(map) => serde_json::from_value(map.clone())
            .map_err(|_| corrupt("connector carrier map", row.id)),
        None => Ok(CarrierMap::new()),
    }
}

fn credentials_of(
    db: &Db,
    row: &connector_account::Model,
) -> ServiceResult<serde_json::Map<String, Value>> {
    let plain = key(db)?
        .open(&row.credentials)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("connector {}: {e}", row.id)))?;
    match serde_json::from_slice(&plain) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(corrupt("connector credentials", row.id)),
    }
}

async fn find_account(db: &Db, id: Uuid) -> ServiceResult<connector_account::Model> {
    connector_account::Entity::find_by_id(id)
        .one(db.read())
        .await?
        .ok_or_else(|| ServiceError::not_found("connector", id))
}

pub async fn get_account(db: &Db, actor: &Actor, id: Uuid) -> ServiceResult<ConnectorAccount> {
    actor.require(Permission::ConnectorManage)?;
    let row = find_account(db, id).await?;
    let credentials = credentials_of(db, &row)?;
    account_from_row(row, &credentials)
}

pub async fn list_accounts(db: &Db, actor: &Actor) -> ServiceResult<Vec<ConnectorAccount>> {
    actor.require(Permission::ConnectorManage)?;
    let rows = connector_account::Entity::find()
        .order_by_asc(connector_account::Column::Id)
        .all(db.read())
        .await?;
    rows.into_iter()
        .map(|row| {
            let credentials = credentials_of(db, &row)?;
            account_from_row(row, &credentials)
        })
        .collect()
}

/// Changes an account (credentials are replaced whole).
pub async fn update_account(
    db: &Db,
    actor: &Actor,
    id: Uuid,
    patch: impl Parse<ConnectorPatch>,
) -> ServiceResult<ConnectorAccount> {
    actor.require(Permission::ConnectorManage)?;
    let patch = patch.parse()?;
    let current = find_account(db, id).await?;
    let platform = Platform::parse(&current.platform)
        .ok_or_else(|| corrupt("connector platform", &current.platform))?;
    let credentials = match &patch.credentials {
        Some(c) => c.clone(),
        None => credentials_of(db, &current)?,
    };
    let base_url = patch
        .base_url
        .clone()
        .unwrap_or_else(|| current.base_url.clone());
    if base_url != current.base_url {
        check_base_url(db, &base_url)?;
        // The stored credentials are never sent anywhere new: whoever moves
        // the account supplies them again.
        if patch.credentials.is_none() {
            return Err(ServiceError::invalid(
                "credentials",
                "required",
                "a new base_url needs the credentials again (the stored ones go only to the old one)",
            ));
        }
    }
    if patch.credentials.is_some() || base_url != current.base_url {
        client(db, platform, &base_url, &credentials)?;
    }
    let mode = match patch.customer_mode {
        Some(mode) => mode,
        None => CustomerMode::parse(&current.customer_mode)
            .ok_or_else(|| corrupt("connector customer mode", &current.customer_mode))?,
    };
    if mode == CustomerMode::Single && patch.customer_id.or(current.customer_id).is_none() {
        return Err(ServiceError::invalid(
            "customer_id",
            "required",
            "an account whose orders are one customer's names that customer",
        ));
    }
    if let Some(customer) = patch.customer_id {
        super::customers::get_customer(db, actor, customer)
            .await
            .map_err(|_| {
                ServiceError::invalid("customer_id", "not_found", "no customer with this id")
            })?;
    }
    let at = db.now();
    let txn = db.write().await?;
    let mut row: connector_account::ActiveModel = current.clone().into();
    if let Some(name) = patch.name {
        row.name = Set(name);
    }
    if base_url != current.base_url {
        // A page token may name the old address (Shopify's is a URL): the
        // next run starts again from the high-water mark.
        let mut cursor: Cursor = serde_json::from_value(current.cursor.clone()).unwrap_or_default();
        cursor.page = None;
        row.cursor = Set(json!(cursor));
        row.base_url = Set(base_url);
    }
    row.customer_mode = Set(mode.as_str().to_owned());
    if let Some(customer) = patch.customer_id {
        row.customer_id = Set(Some(customer));
    }
    if let Some(carriers) = patch.carrier_map {
        row.carrier_map = Set(Some(json!(carriers)));
    }
    if patch.credentials.is_some() {
        row.credentials = Set(key(db)?
            .seal(Value::Object(credentials.clone()).to_string().as_bytes())
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!(e)))?);
    }
    if let Some(seconds) = patch.sync_interval_seconds {
        row.sync_interval_seconds = Set(seconds);
    }
    if let Some(map) = patch.sku_map {
        row.sku_map = Set(json!(map));
    }
    if let Some(warehouses) = patch.warehouse_preferences {
        row.warehouse_preferences = Set(json!(warehouses));
    }
    if let Some(enabled) = patch.enabled {
        row.enabled = Set(enabled);
        if enabled && !current.enabled {
            schedule(&*txn, id, at).await?;
        }
    }
    row.version = Set(current.version + 1);
    row.updated_at = Set(at);
    let row = row.update(&*txn).await?;
    txn.commit().await?;
    db.wake_workers();
    account_from_row(row, &credentials)
}

/// An account's sync runs, newest first.
pub async fn list_runs(
    db: &Db,
    actor: &Actor,
    account_id: Uuid,
    limit: u64,
) -> ServiceResult<Vec<SyncRun>> {
    actor.require(Permission::ConnectorManage)?;
    find_account(db, account_id).await?;
    Ok(connector_sync_run::Entity::find()
        .filter(connector_sync_run::Column::AccountId.eq(account_id))
        .order_by_desc(connector_sync_run::Column::Id)
        .limit(limit)
        .all(db.read())
        .await?
        .into_iter()
        .map(run_from_row)
        .collect())
}

fn run_from_row(r: connector_sync_run::Model) -> SyncRun {
    SyncRun {
        id: r.id,
        account_id: r.account_id,
        trigger: r.trigger,
        status: r.status,
        started_at: r.started_at,
        finished_at: r.finished_at,
        fetched: r.fetched,
        created: r.created,
        updated: r.updated,
        skipped: r.skipped,
        failed: r.failed,
        error: r.error,
    }
}

/// How far before its high-water mark a new run starts.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(60);

/// What a sync reports as it goes (for progress bars).
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub pages: u32,
    pub fetched: i32,
    pub created: i32,
}

/// Syncs on demand (`since` restarts from that instant instead of the
/// stored cursor).
pub async fn sync_now(
    db: &Db,
    actor: &Actor,
    account_id: Uuid,
    since: Option<DateTime<Utc>>,
) -> ServiceResult<SyncRun> {
    actor.require(Permission::ConnectorManage)?;
    sync(db, account_id, "manual", since, &|_| {}).await
}

/// Pulls every page of orders modified since the cursor and imports them.
pub async fn sync(
    db: &Db,
    account_id: Uuid,
    trigger: &str,
    since: Option<DateTime<Utc>>,
    progress: &(dyn Fn(Progress) + Sync),
) -> ServiceResult<SyncRun> {
    let account = find_account(db, account_id).await?;
    let credentials = credentials_of(db, &account)?;
    let platform = Platform::parse(&account.platform)
        .ok_or_else(|| corrupt("connector platform", &account.platform))?;
    let connector = client(db, platform, &account.base_url, &credentials)?;
    let sku_map: Vec<SkuMapping> = serde_json::from_value(account.sku_map.clone())
        .map_err(|_| corrupt("connector SKU map", account.id))?;
    let run_id = Uuid::now_v7();
    let started = db.now();
    let (cursor, walk_started) = match since {
        Some(since) => (
            Cursor {
                updated_since: Some(since),
                page: None,
            },
            started,
        ),
        None => {
            let stored: StoredCursor =
                serde_json::from_value(account.cursor.clone()).unwrap_or_default();
            let mut cursor = stored.cursor;
            if cursor.page.is_none() {
                // A new run re-reads a little before the high-water mark:
                // some platforms filter exclusively or by whole seconds, and
                // orders fetched again are only found unchanged.
                cursor.updated_since = cursor.updated_since.map(|t| t - OVERLAP);
                (cursor, started)
            } else if let Some(walk_started) = stored.walk_started {
                // Resuming a walk a failed run began: its high-water mark
                // stays capped where that walk began.
                (cursor, walk_started)
            } else {
                // A page token stored by an earlier version (WooCommerce's
                // then counted pages in another order): the walk starts over
                // from the high-water mark, which only reads pages again.
                cursor.page = None;
                (cursor, started)
            }
        }
    };
    // One sync of an account at a time, whichever process asks.
    {
        let txn = db.write().await?;
        let claimed = connector_account::Entity::update_many()
            .col_expr(
                connector_account::Column::SyncHolder,
                Expr::val(Some(run_id)),
            )
            .col_expr(
                connector_account::Column::SyncLeaseUntil,
                Expr::val(Some(started + SYNC_LEASE)),
            )
            .filter(connector_account::Column::Id.eq(account_id))
            .filter(
                sea_orm::Condition::any()
                    .add(connector_account::Column::SyncLeaseUntil.is_null())
                    .add(connector_account::Column::SyncLeaseUntil.lt(started)),
            )
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        if claimed.rows_affected == 0 {
            return Err(ServiceError::Conflict {
                code: "sync_in_progress",
                message: "another sync of this account is running; its run is listed in sync-runs"
                    .to_owned(),
                existing_id: Some(account_id),
            });
        }
    }
    let result = run_sync(
        db,
        &account,
        platform,
        &connector,
        &sku_map,
        (cursor, walk_started),
        run_id,
        started,
        trigger,
        progress,
    )
    .await;
    // The lease goes, whatever the run came to.
    let release = async {
        let txn = db.write().await?;
        connector_account::Entity::update_many()
            .col_expr(
                connector_account::Column::SyncHolder,
                Expr::val(Option::<Uuid>::None),
            )
            .col_expr(
                connector_account::Column::SyncLeaseUntil,
                Expr::val(Option::<DateTime<Utc>>::None),
            )
            .filter(connector_account::Column::Id.eq(account_id))
            .filter(connector_account::Column::SyncHolder.eq(run_id))
            .exec(&*txn)
            .await?;
        txn.commit().await
    };
    if let Err(error) = release.await {
        tracing::warn!(connector = %account_id, %error, "could not release the sync lease; it expires");
    }
    result
}

/// How long a sync holds its account before another may take it over
/// (renewed with every page).
const SYNC_LEASE: chrono::Duration = chrono::Duration::minutes(10);

#[allow(clippy::too_many_arguments)]
async fn run_sync(
    db: &Db,
    account: &connector_account::Model,
    platform: Platform,
    connector: &AnyConnector,
    sku_map: &[SkuMapping],
    (mut cursor, walk_started): (Cursor, DateTime<Utc>),
    run_id: Uuid,
    started: DateTime<Utc>,
    trigger: &str,
    progress: &(dyn Fn(Progress) + Sync),
) -> ServiceResult<SyncRun> {
    let account_id = account.id;
    {
        let txn = db.write().await?;
        connector_sync_run::ActiveModel {
            id: Set(run_id),
            account_id: Set(account_id),
            trigger: Set(trigger.to_owned()),
            status: Set("running".to_owned()),
            started_at: Set(started),
            finished_at: Set(None),
            fetched: Set(0),
            created: Set(0),
            updated: Set(0),
            skipped: Set(0),
            failed: Set(0),
            error: Set(None),
            cursor_before: Set(json!(cursor)),
            cursor_after: Set(None),
        }
        .insert(&*txn)
        .await?;
        txn.commit().await?;
    }
    let actor = Actor {
        sub: format!("connector:{account_id}"),
        roles: vec![Role::Integration, Role::Support],
        customer_id: None,
    };
    let mut tally = Progress::default();
    let (mut updated, mut skipped, mut failed) = (0, 0, 0);
    let mut errors: Vec<String> = Vec::new();
    let mut high_water = cursor.updated_since;
    // An order that failed to import holds the high-water mark before it,
    // so the next run fetches it again: never dropped.
    let mut oldest_failure: Option<DateTime<Utc>> = None;
    let mut resumed = cursor.page.is_some();
    let outcome: Result<(), String> = loop {
        let page = match connector.fetch_orders_since(&cursor).await {
            Ok(page) => page,
            // A stored page token the platform no longer takes (Shopify's
            // page_info expires; a token from an older version): the run
            // starts again from the high-water mark rather than failing
            // every time.
            Err(error) if resumed && stale_token(&error) => {
                tracing::warn!(connector = %account_id, %error,
                               "the stored page token was refused: starting from the high-water mark");
                errors.push(format!("stored page token refused, restarted: {error}"));
                resumed = false;
                cursor = Cursor {
                    updated_since: cursor.updated_since.map(|t| t - OVERLAP),
                    page: None,
                };
                continue;
            }
            Err(error) => break Err(error.to_string()),
        };
        resumed = false;
        tally.pages += 1;
        // Orders the platform listed but that cannot be read are counted
        // and named; the run goes on (they come again when next changed).
        for rejected in &page.rejected {
            tally.fetched += 1;
            failed += 1;
            if errors.len() < 10 {
                errors.push(format!(
                    "{}: {}",
                    rejected.external_id.as_deref().unwrap_or("(no id)"),
                    rejected.error
                ));
            }
        }
        for order in &page.orders {
            tally.fetched += 1;
            match import(db, account, platform, sku_map, &actor, order).await {
                Ok(Imported::Created) => tally.created += 1,
                Ok(Imported::Updated) => updated += 1,
                Ok(Imported::Unchanged) => skipped += 1,
                Err(error) => {
                    failed += 1;
                    oldest_failure =
                        Some(oldest_failure.map_or(order.updated_at, |t| t.min(order.updated_at)));
                    if errors.len() < 10 {
                        errors.push(format!("{}: {error}", order.external_id));
                    }
                }
            }
        }
        // Never past the walk's start: an order read early in the walk and
        // modified while it went on (or between a failed run and the one
        // resuming it) is older than orders read after it (a listing by
        // creation date), and must be fetched by the next run.
        high_water = high_water.max(page.high_water.map(|h| h.min(walk_started)));
        progress(tally);
        let next = match page.next {
            Some(next) => next,
            None => Cursor {
                updated_since: match oldest_failure {
                    Some(failure) => high_water.map(|h| h.min(failure - OVERLAP)),
                    None => high_water,
                },
                page: None,
            },
        };
        // The cursor moves page by page: a failure later resumes here.
        if let Err(error) = store_cursor(db, account_id, &next, walk_started).await {
            break Err(format!("cannot store the cursor: {error}"));
        }
        cursor = next;
        if cursor.page.is_none() {
            break Ok(());
        }
    };
    let (status, error) = match outcome {
        Ok(()) if errors.is_empty() => ("succeeded", None),
        Ok(()) => ("succeeded", Some(errors.join("; "))),
        Err(e) => {
            errors.insert(0, e);
            ("failed", Some(errors.join("; ")))
        }
    };
    let finished = db.now();
    let txn = db.write().await?;
    let row = connector_sync_run::ActiveModel {
        id: Set(run_id),
        status: Set(status.to_owned()),
        finished_at: Set(Some(finished)),
        fetched: Set(tally.fetched),
        created: Set(tally.created),
        updated: Set(updated),
        skipped: Set(skipped),
        failed: Set(failed),
        error: Set(error.clone()),
        cursor_after: Set(Some(json!(cursor))),
        ..Default::default()
    }
    .update(&*txn)
    .await?;
    if status == "succeeded" {
        connector_account::Entity::update_many()
            .col_expr(
                connector_account::Column::LastSyncedAt,
                Expr::val(Some(finished)),
            )
            .filter(connector_account::Column::Id.eq(account_id))
            .exec(&*txn)
            .await?;
    }
    txn.commit().await?;
    if let Some(error) = &error {
        tracing::warn!(connector = %account_id, %status, %error, "connector sync finished with errors");
    }
    Ok(run_from_row(row))
}

/// Whether a failure to fetch a resumed page may be the platform refusing
/// the stored page token (a client error other than auth and rate limiting)
/// or a token this version cannot read. A run restarts at most once.
fn stale_token(error: &ConnectorError) -> bool {
    match error {
        ConnectorError::Platform { status, .. } => {
            (400..500).contains(status) && !matches!(status, 401 | 403 | 429)
        }
        ConnectorError::Invalid(_) => true,
        _ => false,
    }
}

/// The cursor as stored on the account: the platform's, and when the walk
/// it belongs to began.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct StoredCursor {
    #[serde(flatten)]
    cursor: Cursor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    walk_started: Option<DateTime<Utc>>,
}

async fn store_cursor(
    db: &Db,
    account_id: Uuid,
    cursor: &Cursor,
    walk_started: DateTime<Utc>,
) -> ServiceResult<()> {
    let stored = StoredCursor {
        cursor: cursor.clone(),
        walk_started: cursor.page.is_some().then_some(walk_started),
    };
    let txn = db.write().await?;
    connector_account::Entity::update_many()
        .col_expr(connector_account::Column::Cursor, Expr::val(json!(stored)))
        .col_expr(
            connector_account::Column::SyncLeaseUntil,
            Expr::val(Some(db.now() + SYNC_LEASE)),
        )
        .filter(connector_account::Column::Id.eq(account_id))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The scheduled sync (a job): runs when the account is enabled, then
/// queues the next one after the account's interval.
pub(crate) async fn scheduled_sync(db: &Db, account_id: Uuid) -> anyhow::Result<()> {
    let Some(account) = connector_account::Entity::find_by_id(account_id)
        .one(db.read())
        .await?
    else {
        return Ok(());
    };
    if !account.enabled {
        return Ok(());
    }
    // The next run is queued first: whatever this one comes to, the
    // schedule goes on.
    let next = db.now() + chrono::Duration::seconds(i64::from(account.sync_interval_seconds));
    let txn = db.write().await?;
    schedule(&*txn, account_id, next).await?;
    txn.commit().await?;
    let run = match sync(db, account_id, "schedule", None, &|_| {}).await {
        Ok(run) => run,
        // A manual or command-line sync is running: it does this one's work.
        Err(ServiceError::Conflict {
            code: "sync_in_progress",
            ..
        }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if run.status == "failed" {
        // The next run is queued; this one's error is on its record.
        tracing::warn!(connector = %account_id, error = ?run.error, "scheduled connector sync failed");
    }
    Ok(())
}

enum Imported {
    Created,
    Updated,
    Unchanged,
}

fn address_of(order: &MarketplaceOrder) -> Option<AddressDraft> {
    order.ship_to.as_ref().map(|a| AddressDraft {
        name: a.name.clone(),
        phone: a.phone.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
    })
}

/// Imports one platform order: created through intake the first time,
/// updated (cancellation, address) when it changed since.
async fn import(
    db: &Db,
    account: &connector_account::Model,
    platform: Platform,
    sku_map: &[SkuMapping],
    actor: &Actor,
    order: &MarketplaceOrder,
) -> ServiceResult<Imported> {
    let known = connector_order::Entity::find()
        .filter(connector_order::Column::AccountId.eq(account.id))
        .filter(connector_order::Column::ExternalId.eq(order.external_id.clone()))
        .one(db.read())
        .await?;
    // Created by another path (a webhook, another process) whose mapping is
    // not written yet: adopt it, then apply what changed.
    let known = match known {
        Some(known) => Some(known),
        None => adopt(db, account, order).await?,
    };
    let Some(known) = known else {
        if order.cancelled {
            // Cancelled before Dingdan ever saw it: nothing to do.
            return Ok(Imported::Unchanged);
        }
        return create(db, account, platform, sku_map, actor, order).await;
    };
    if order.updated_at <= known.external_updated_at {
        return Ok(Imported::Unchanged);
    }
    let current = order::Entity::find_by_id(known.order_id)
        .one(db.read())
        .await?
        .ok_or_else(|| corrupt("connector order's order", known.order_id))?;
    // Shipped as soon as any of it has (a partially allocated order keeps
    // its status while part of it travels).
    let shipped = dingdan_entity::shipment::Entity::find()
        .filter(dingdan_entity::shipment::Column::OrderId.eq(current.id))
        .one(db.read())
        .await?
        .is_some();
    let mut changed = false;
    let mut flags: Vec<String> = known
        .flags
        .clone()
        .and_then(|f| serde_json::from_value(f).ok())
        .unwrap_or_default();
    let flag = Flag {
        db,
        account,
        platform,
        current: &current,
        order,
        mapping: known.id,
    };
    if order.cancelled && current.status != "cancelled" {
        if shipped {
            changed = flag
                .raise(
                    &mut flags,
                    "cancelled_after_shipment",
                    "",
                    format!(
                        "cancelled on {} ({}) after it shipped: recall the goods or refund",
                        platform.as_str(),
                        order.platform_status
                    ),
                )
                .await?;
        } else {
            super::orders::cancel_order(
                db,
                actor,
                current.id,
                None,
                &format!("cancelled on {}", platform.as_str()),
            )
            .await?;
            changed = true;
        }
    } else if !order.cancelled
        && current.status != "cancelled"
        && let Some(address) = address_of(order)
    {
        // Only the platform's own changes: an address a person corrected in
        // Dingdan (JD gives no postal code) stays as long as the platform's
        // is the same as last time.
        let changed_on_platform = match known
            .platform_ship_to
            .clone()
            .and_then(|a| serde_json::from_value::<AddressDraft>(a).ok())
        {
            Some(before) => before != address,
            // Imported before the platform's address was kept (or adopted):
            // a change is a part the platform gives that differs.
            None => differs_where_given(
                &address,
                &serde_json::from_value::<AddressDraft>(current.ship_to.clone())
                    .unwrap_or_default(),
            ),
        };
        if changed_on_platform {
            use super::orders::Redirect;
            let outcome = match current.status.as_str() {
                _ if shipped => Some(Redirect::Shipped),
                "pending_info" | "confirmed" | "in_review" => {
                    // Before approval: an edit like any other (the
                    // completeness check and the reviews it touches run again).
                    let patch = OrderPatch {
                        ship_to: Some(address.clone()),
                        ..Default::default()
                    };
                    super::orders::update_order(db, actor, current.id, None, patch).await?;
                    Some(Redirect::Applied)
                }
                "approved"
                | "backordered"
                | "partially_allocated"
                | "allocated"
                | "in_production"
                | "ready_to_ship" => Some(
                    super::orders::redirect_order(db, actor, current.id, address.clone()).await?,
                ),
                // Rejected: nowhere to go.
                _ => None,
            };
            let address_text = serde_json::to_string(&address).unwrap_or_default();
            changed = match outcome {
                None => false,
                Some(Redirect::Applied) => true,
                Some(Redirect::Shipped) => {
                    flag.raise(
                        &mut flags,
                        "address_changed_after_shipment",
                        &address_text,
                        format!(
                            "the buyer changed the address on {} after the order shipped: {address_text}",
                            platform.as_str(),
                        ),
                    )
                    .await?
                }
                Some(Redirect::Incomplete(missing)) => {
                    flag.raise(
                        &mut flags,
                        "address_change_incomplete",
                        &address_text,
                        format!(
                            "the buyer changed the address on {} but it lacks {}: complete it \
                             and change the order's address ({address_text})",
                            platform.as_str(),
                            missing.join(", ")
                        ),
                    )
                    .await?
                }
            };
        }
    }
    let txn = db.write().await?;
    connector_order::Entity::update_many()
        .col_expr(
            connector_order::Column::ExternalUpdatedAt,
            Expr::val(order.updated_at),
        )
        .col_expr(
            connector_order::Column::PlatformShipTo,
            Expr::val(address_of(order).map(|a| json!(a))),
        )
        .col_expr(connector_order::Column::UpdatedAt, Expr::val(db.now()))
        .filter(connector_order::Column::Id.eq(known.id))
        // A newer version applied meanwhile (a webhook beside the sync)
        // is not wound back.
        .filter(connector_order::Column::ExternalUpdatedAt.lte(order.updated_at))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    Ok(if changed {
        Imported::Updated
    } else {
        Imported::Unchanged
    })
}

/// An imported order a platform changed in a way Dingdan cannot apply.
struct Flag<'a> {
    db: &'a Db,
    account: &'a connector_account::Model,
    platform: Platform,
    current: &'a order::Model,
    order: &'a MarketplaceOrder,
    /// The order's connector_orders row.
    mapping: Uuid,
}

impl Flag<'_> {
    /// Puts it on the order's timeline (`marketplace.attention_required`,
    /// published to subscribers) unless it was raised for the order before
    /// — the same `reason` about the same `subject` (an address: each new
    /// one the platform gives is raised again); whether it was raised now.
    /// The event and the record of it are written together.
    async fn raise(
        &self,
        raised: &mut Vec<String>,
        reason: &str,
        subject: &str,
        detail: String,
    ) -> ServiceResult<bool> {
        let key = if subject.is_empty() {
            reason.to_owned()
        } else {
            format!("{reason}:{subject}")
        };
        if raised.contains(&key) {
            return Ok(false);
        }
        let (account, current) = (self.account, self.current);
        tracing::warn!(connector = %account.id, order = %current.id,
                       external_id = %self.order.external_id, reason,
                       "marketplace change left for a person");
        let actor = Actor {
            sub: format!("connector:{}", account.id),
            roles: vec![Role::Integration],
            customer_id: None,
        };
        let txn = self.db.write().await?;
        super::events::record(
            &*txn,
            &super::orders::subject(current, current.version),
            &actor,
            crate::domain::event::EventType::MarketplaceAttentionRequired,
            json!({"platform": self.platform.as_str(), "account_id": account.id,
                   "external_id": self.order.external_id, "reason": reason, "detail": detail}),
            self.db.now(),
        )
        .await?;
        raised.push(key);
        connector_order::Entity::update_many()
            .col_expr(
                connector_order::Column::Flags,
                Expr::val(Some(json!(raised))),
            )
            .filter(connector_order::Column::Id.eq(self.mapping))
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        self.db.wake_workers();
        Ok(true)
    }
}

/// Maps a platform order to the Dingdan order made of it (its line ids to
/// line numbers, for push-back); nothing when it is mapped already. The rows
/// written (0 or 1).
async fn map_order(
    db: &Db,
    account: &connector_account::Model,
    order: &MarketplaceOrder,
    order_id: Uuid,
    external_updated_at: DateTime<Utc>,
    platform_ship_to: Option<AddressDraft>,
) -> ServiceResult<u64> {
    let at = db.now();
    let lines: Vec<Value> = order
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"external_line_id": l.external_line_id, "line_no": i + 1}))
        .collect();
    let txn = db.write().await?;
    let inserted = connector_order::Entity::insert(connector_order::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        external_id: Set(order.external_id.clone()),
        order_id: Set(order_id),
        external_updated_at: Set(external_updated_at),
        lines: Set(json!(lines)),
        platform_ship_to: Set(platform_ship_to.map(|a| json!(a))),
        flags: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    })
    .on_conflict(
        OnConflict::columns([
            connector_order::Column::AccountId,
            connector_order::Column::ExternalId,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&*txn)
    .await?;
    txn.commit().await?;
    Ok(inserted)
}

/// The order intake already holds for this account and external id, mapped
/// now (as never updated, so the caller applies what the platform says).
async fn adopt(
    db: &Db,
    account: &connector_account::Model,
    order: &MarketplaceOrder,
) -> ServiceResult<Option<connector_order::Model>> {
    let Some(existing) = order::Entity::find()
        .filter(order::Column::Channel.eq(Channel::Marketplace.as_str()))
        .filter(order::Column::SourceAccount.eq(account.id.to_string()))
        .filter(order::Column::ExternalRef.eq(order.external_id.clone()))
        .one(db.read())
        .await?
    else {
        return Ok(None);
    };
    // As never updated, and with the platform's address unknown: what the
    // platform says is compared with the order.
    map_order(
        db,
        account,
        order,
        existing.id,
        DateTime::<Utc>::UNIX_EPOCH,
        None,
    )
    .await?;
    Ok(connector_order::Entity::find()
        .filter(connector_order::Column::AccountId.eq(account.id))
        .filter(connector_order::Column::ExternalId.eq(order.external_id.clone()))
        .one(db.read())
        .await?)
}

/// Whether the platform's address differs from the order's in a part the
/// platform gives (a part it leaves blank may have been filled in by a
/// person).
fn differs_where_given(platform: &AddressDraft, order: &AddressDraft) -> bool {
    let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    [
        (&platform.name, &order.name),
        (&platform.phone, &order.phone),
        (&platform.line1, &order.line1),
        (&platform.line2, &order.line2),
        (&platform.city, &order.city),
        (&platform.region, &order.region),
        (&platform.postal_code, &order.postal_code),
        (&platform.country, &order.country),
    ]
    .into_iter()
    .any(|(p, o)| given(p) && p != o)
}

/// How a buyer is recognised on their next order: the platform's buyer id,
/// else their email, else their phone.
fn buyer_key(order: &MarketplaceOrder) -> Option<String> {
    fn clean(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    if let Some(id) = clean(&order.buyer.id) {
        Some(format!("id:{id}"))
    } else if let Some(email) = clean(&order.buyer.email) {
        Some(format!("email:{}", email.to_lowercase()))
    } else {
        clean(&order.buyer.phone).map(|phone| format!("phone:{phone}"))
    }
}

/// The customer an imported order is for: the account's own, or (per-buyer
/// accounts) the buyer's, created on their first order. Two syncs meeting
/// the same new buyer create one customer: its code is derived from the
/// account and the buyer, and the mapping is unique.
async fn customer_for(
    db: &Db,
    account: &connector_account::Model,
    platform: Platform,
    actor: &Actor,
    order: &MarketplaceOrder,
) -> ServiceResult<Option<Uuid>> {
    use dingdan_entity::connector_customer;
    use sha2::Digest as _;
    if account.customer_mode != CustomerMode::PerBuyer.as_str() {
        return Ok(account.customer_id);
    }
    // A buyer the platform does not identify (a guest without email or
    // phone): the account's customer if it names one, else one customer
    // for all of the account's anonymous buyers.
    let (key, anonymous) = match (buyer_key(order), account.customer_id) {
        (Some(key), _) => (key, false),
        (None, Some(customer)) => return Ok(Some(customer)),
        (None, None) => ("anonymous".to_owned(), true),
    };
    let mapped = || async {
        Ok::<_, ServiceError>(
            connector_customer::Entity::find()
                .filter(connector_customer::Column::AccountId.eq(account.id))
                .filter(connector_customer::Column::BuyerKey.eq(key.clone()))
                .one(db.read())
                .await?
                .map(|m| m.customer_id),
        )
    };
    if let Some(customer) = mapped().await? {
        return Ok(Some(customer));
    }
    let digest = sha2::Sha256::digest(format!("{}\n{key}", account.id).as_bytes());
    let code = format!(
        "{}-{}",
        platform.as_str(),
        digest[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let address = order.ship_to.as_ref();
    let anonymous_name = format!("{} anonymous buyers", account.name);
    let name = [
        anonymous.then_some(anonymous_name.as_str()),
        order.buyer.name.as_deref(),
        address.and_then(|a| a.name.as_deref()),
        order.buyer.id.as_deref(),
        order.buyer.email.as_deref(),
        order.buyer.phone.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|s| !s.is_empty())
    .unwrap_or("marketplace buyer")
    .chars()
    .take(200)
    .collect::<String>();
    // A platform's email or phone this product cannot take: the buyer
    // becomes a customer without contacts (the order keeps its own).
    let mut invalid = crate::domain::validation::Violations::new();
    let contact = crate::domain::address::Contact::parse(
        "contact",
        Some(name.as_str()),
        order.buyer.phone.as_deref(),
        order.buyer.email.as_deref(),
        &mut invalid,
    );
    let new = crate::domain::customer::NewCustomer {
        code,
        name,
        contacts: contact
            .filter(|_| invalid.is_empty() && !anonymous)
            .into_iter()
            .collect(),
        addresses: Vec::new(),
        currency: crate::domain::money::Currency::parse_field("currency", &order.currency)
            .map_err(|e| ServiceError::Validation(vec![e]))?,
        credit_limit: rust_decimal::Decimal::ZERO,
        // Paid on the platform: no credit is extended.
        payment_terms_days: 0,
        price_tier: "standard".to_owned(),
        status: crate::domain::customer::CustomerStatus::Active,
        allow_partial_shipment: true,
        payment_methods: Vec::new(),
        requires_invoice: false,
        min_shelf_life_days: None,
    };
    let created = super::customers::create_customer(db, actor, new, Idempotency::none()).await;
    let customer = match created {
        Ok(Created::New(c)) => c.id,
        Ok(Created::Replay(_)) => {
            return Err(ServiceError::Internal(anyhow::anyhow!(
                "a customer replayed without an idempotency key"
            )));
        }
        // Created by another sync (or a mapping lost): the code is the buyer's.
        Err(ServiceError::Conflict {
            existing_id: Some(id),
            ..
        }) => id,
        Err(e) => return Err(e),
    };
    let txn = db.write().await?;
    connector_customer::Entity::insert(connector_customer::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        buyer_key: Set(key.clone()),
        customer_id: Set(customer),
        created_at: Set(db.now()),
    })
    .on_conflict(
        OnConflict::columns([
            connector_customer::Column::AccountId,
            connector_customer::Column::BuyerKey,
        ])
        .do_nothing()
        .to_owned(),
    )
    .exec_without_returning(&*txn)
    .await?;
    txn.commit().await?;
    Ok(Some(mapped().await?.unwrap_or(customer)))
}

async fn create(
    db: &Db,
    account: &connector_account::Model,
    platform: Platform,
    sku_map: &[SkuMapping],
    actor: &Actor,
    order: &MarketplaceOrder,
) -> ServiceResult<Imported> {
    let new = NewOrder {
        channel: Channel::Marketplace,
        source_account: Some(account.id.to_string()),
        external_ref: Some(order.external_id.clone()),
        customer_id: customer_for(db, account, platform, actor, order).await?,
        currency: crate::domain::money::Currency::parse(&order.currency),
        ship_to: address_of(order),
        contact: Some(ContactDraft {
            name: order
                .buyer
                .name
                .clone()
                .or_else(|| order.ship_to.as_ref().and_then(|a| a.name.clone())),
            phone: order
                .buyer
                .phone
                .clone()
                .or_else(|| order.ship_to.as_ref().and_then(|a| a.phone.clone())),
            email: order.buyer.email.clone(),
        }),
        lines: order
            .lines
            .iter()
            .map(|l| LineDraft {
                sku: map_sku(
                    sku_map,
                    platform,
                    l.sku.as_deref(),
                    l.variant_id.as_deref(),
                    l.product_id.as_deref(),
                ),
                quantity: l.quantity,
                unit_price: Some(l.unit_price),
                custom_spec: None,
            })
            .collect(),
        requested_delivery_date: None,
        special_instructions: order.note.clone(),
        invoice: None,
        payment_method: None,
    };
    let order_id = match super::orders::create_order(db, actor, new, Idempotency::none()).await {
        Ok(created) => match created {
            Created::New(o) => o.id,
            Created::Replay(_) => return Ok(Imported::Unchanged),
        },
        // Another sync of this account created it meanwhile.
        Err(ServiceError::Conflict {
            existing_id: Some(id),
            ..
        }) => id,
        Err(e) => return Err(e),
    };
    let inserted = map_order(
        db,
        account,
        order,
        order_id,
        order.updated_at,
        address_of(order),
    )
    .await?;
    Ok(if inserted == 0 {
        Imported::Unchanged
    } else {
        Imported::Created
    })
}

/// Queues the report of a shipment to the marketplace its order came from
/// (nothing for other orders); on the shipment's transaction.
pub(crate) async fn queue_push<C: sea_orm::ConnectionTrait>(
    conn: &C,
    order_id: Uuid,
    shipment_id: Uuid,
) -> ServiceResult<()> {
    let imported = connector_order::Entity::find()
        .filter(connector_order::Column::OrderId.eq(order_id))
        .one(conn)
        .await?;
    if imported.is_some() {
        jobs::enqueue(
            conn,
            JobKind::PushFulfilment,
            json!({"shipment_id": shipment_id}),
            Some(&format!("push-fulfilment:{shipment_id}")),
            super::now(),
        )
        .await?;
    }
    Ok(())
}

/// Reports a shipment to the marketplace (the job's work): the lines it
/// holds, its tracking number and carrier. The outcome goes on the order's
/// timeline; a failure is retried by the job with back-off.
pub(crate) async fn push_fulfilment(
    db: &Db,
    shipment_id: Uuid,
    attempt: i32,
) -> anyhow::Result<()> {
    use dingdan_entity::{package, shipment};
    let Some(shipment) = shipment::Entity::find_by_id(shipment_id)
        .one(db.read())
        .await?
    else {
        return Ok(());
    };
    let Some(imported) = connector_order::Entity::find()
        .filter(connector_order::Column::OrderId.eq(shipment.order_id))
        .one(db.read())
        .await?
    else {
        return Ok(());
    };
    let account = find_account(db, imported.account_id).await?;
    let platform = Platform::parse(&account.platform)
        .ok_or_else(|| anyhow::anyhow!("connector {} has no known platform", account.id))?;
    let connector = client(
        db,
        platform,
        &account.base_url,
        &credentials_of(db, &account)?,
    )?;
    // Dingdan line numbers → the platform's line ids, with the quantities
    // this shipment's packages hold.
    let line_ids: std::collections::HashMap<i64, String> =
        serde_json::from_value::<Vec<Value>>(imported.lines.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| {
                Some((
                    l.get("line_no")?.as_i64()?,
                    l.get("external_line_id")?.as_str()?.to_owned(),
                ))
            })
            .collect();
    let mut quantities: std::collections::BTreeMap<String, i64> = Default::default();
    for p in package::Entity::find()
        .filter(package::Column::ShipmentId.eq(shipment_id))
        .all(db.read())
        .await?
    {
        for item in p.contents.as_array().into_iter().flatten() {
            let (Some(line), Some(quantity)) = (
                item.get("line_no").and_then(Value::as_i64),
                item.get("quantity").and_then(Value::as_i64),
            ) else {
                continue;
            };
            if let Some(external) = line_ids.get(&line) {
                *quantities.entry(external.clone()).or_default() += quantity;
            }
        }
    }
    let fulfilment = dingdan_integrations::marketplaces::Fulfilment {
        external_order_id: imported.external_id.clone(),
        lines: quantities.into_iter().collect(),
        tracking_number: shipment.tracking_number.clone(),
        carrier: carriers_of(&account)?
            .get(&shipment.carrier_code)
            .cloned()
            .unwrap_or_else(|| shipment.carrier_code.clone()),
        tracking_url: None,
        notify_customer: true,
        completes_order: false,
    };
    let order = order::Entity::find_by_id(shipment.order_id)
        .one(db.read())
        .await?
        .ok_or_else(|| anyhow::anyhow!("shipment {shipment_id} without its order"))?;
    let fulfilment = dingdan_integrations::marketplaces::Fulfilment {
        completes_order: matches!(order.status.as_str(), "shipped" | "delivered" | "completed"),
        ..fulfilment
    };
    let outcome = match connector.push_fulfilment(&fulfilment).await {
        // A retry after a report whose answer was lost: Shopify has it all
        // fulfilled already.
        Err(dingdan_integrations::marketplaces::ConnectorError::Invalid(message))
            if message == "nothing left to fulfil" && attempt > 1 =>
        {
            Ok(dingdan_integrations::marketplaces::PushReceipt { reference: None })
        }
        other => other,
    };
    let actor = Actor {
        sub: format!("connector:{}", account.id),
        roles: vec![Role::Integration],
        customer_id: None,
    };
    let (event, reference, error) = match &outcome {
        Ok(receipt) => (
            crate::domain::event::EventType::MarketplaceFulfilmentReported,
            receipt.reference.clone(),
            None,
        ),
        Err(e) => (
            crate::domain::event::EventType::MarketplaceFulfilmentFailed,
            None,
            Some(e.to_string()),
        ),
    };
    let txn = db.write().await?;
    super::events::record(
        &*txn,
        &super::orders::subject(&order, order.version),
        &actor,
        event,
        json!({"platform": platform.as_str(), "account_id": account.id,
               "external_id": imported.external_id, "shipment_id": shipment_id,
               "tracking_number": shipment.tracking_number, "reference": reference,
               "error": error, "attempt": attempt}),
        db.now(),
    )
    .await?;
    txn.commit().await?;
    outcome
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("reporting to {}: {e}", platform.as_str()))
}

/// Why an inbound marketplace webhook was refused.
#[derive(Debug)]
pub enum WebhookRefused {
    UnknownAccount,
    Unauthenticated(String),
    Failed(ServiceError),
}

impl From<ServiceError> for WebhookRefused {
    fn from(e: ServiceError) -> Self {
        WebhookRefused::Failed(e)
    }
}

impl From<sea_orm::DbErr> for WebhookRefused {
    fn from(e: sea_orm::DbErr) -> Self {
        WebhookRefused::Failed(e.into())
    }
}

/// What an inbound webhook came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Imported (created or updated) or found unchanged.
    Applied,
    /// Its id was seen before.
    Duplicate,
    /// Verified, but not about an order (a ping, a deletion).
    Ignored,
}

/// An inbound marketplace webhook (Shopify `X-Shopify-Hmac-Sha256`,
/// WooCommerce `X-WC-Webhook-Signature`): the fast path beside the
/// scheduled sync. Verified with the account's webhook secret, deduplicated
/// by the platform's webhook id, and imported like a synced order.
pub async fn receive_webhook(
    db: &Db,
    platform: Platform,
    account_id: Uuid,
    header: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<WebhookOutcome, WebhookRefused> {
    use dingdan_integrations::marketplaces::{shopify, woocommerce};
    let Some(account) = connector_account::Entity::find_by_id(account_id)
        .one(db.read())
        .await?
        .filter(|a| a.platform == platform.as_str())
    else {
        tracing::warn!(target: "security", platform = platform.as_str(), account = %account_id,
                       "marketplace webhook refused: no such account for this platform");
        return Err(WebhookRefused::UnknownAccount);
    };
    let credentials = credentials_of(db, &account)?;
    let connector = client(db, platform, &account.base_url, &credentials)?;
    if let Err(error) = connector.verify_webhook(header, body) {
        tracing::warn!(target: "security", platform = platform.as_str(), account = %account_id,
                       %error, "marketplace webhook refused: signature check failed");
        return Err(WebhookRefused::Unauthenticated(error.to_string()));
    }
    let (webhook_id, topic) = match platform {
        Platform::Shopify => (shopify::webhook_id(header), header("x-shopify-topic")),
        Platform::Woocommerce => (
            woocommerce::webhook_id(header),
            header("x-wc-webhook-topic"),
        ),
        Platform::Taobao | Platform::Jd => (None, None),
    };
    let topic = topic.unwrap_or_default();
    use dingdan_entity::connector_webhook;
    if let Some(webhook_id) = &webhook_id
        && connector_webhook::Entity::find()
            .filter(connector_webhook::Column::AccountId.eq(account_id))
            .filter(connector_webhook::Column::WebhookId.eq(webhook_id.clone()))
            .one(db.read())
            .await?
            .is_some()
    {
        return Ok(WebhookOutcome::Duplicate);
    }
    let outcome = if account.enabled {
        apply_webhook(db, &account, platform, &topic, body).await?
    } else {
        // A paused account's webhooks are acknowledged, not applied; its
        // next sync catches up.
        WebhookOutcome::Ignored
    };
    // Marked as seen only once applied: a failure lets the platform retry.
    if let Some(webhook_id) = &webhook_id {
        let txn = db.write().await?;
        dingdan_entity::connector_webhook::Entity::insert(
            dingdan_entity::connector_webhook::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(account_id),
                webhook_id: Set(webhook_id.clone()),
                topic: Set(Some(topic.clone())),
                received_at: Set(db.now()),
            },
        )
        .on_conflict(
            OnConflict::columns([
                dingdan_entity::connector_webhook::Column::AccountId,
                dingdan_entity::connector_webhook::Column::WebhookId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&*txn)
        .await?;
        txn.commit().await?;
    }
    Ok(outcome)
}

async fn apply_webhook(
    db: &Db,
    account: &connector_account::Model,
    platform: Platform,
    topic: &str,
    body: &[u8],
) -> Result<WebhookOutcome, WebhookRefused> {
    use dingdan_integrations::marketplaces::{shopify, woocommerce};
    let about_an_order = matches!(
        topic,
        "orders/create"
            | "orders/updated"
            | "orders/cancelled"
            | "order.created"
            | "order.updated"
            | "order.restored"
    );
    if !about_an_order {
        return Ok(WebhookOutcome::Ignored);
    }
    let order = match platform {
        Platform::Shopify => shopify::parse_webhook_order(body),
        Platform::Woocommerce => woocommerce::parse_webhook_order(body),
        Platform::Taobao | Platform::Jd => return Ok(WebhookOutcome::Ignored),
    }
    .map_err(|e| {
        WebhookRefused::Failed(ServiceError::invalid(
            "body",
            "invalid_order",
            e.to_string(),
        ))
    })?;
    let sku_map: Vec<SkuMapping> = serde_json::from_value(account.sku_map.clone())
        .map_err(|_| corrupt("connector SKU map", account.id))?;
    let actor = Actor {
        sub: format!("connector:{}", account.id),
        roles: vec![Role::Integration, Role::Support],
        customer_id: None,
    };
    import(db, account, platform, &sku_map, &actor, &order).await?;
    Ok(WebhookOutcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_stored_before_the_walk_start_was_kept_still_read() {
        let plain = json!({"updated_since": "2026-11-20T10:00:00Z", "page": "3"});
        let stored: StoredCursor = serde_json::from_value(plain).unwrap();
        assert_eq!(stored.cursor.page.as_deref(), Some("3"));
        assert_eq!(stored.walk_started, None);
        let now = StoredCursor {
            cursor: stored.cursor.clone(),
            walk_started: Some(DateTime::<Utc>::UNIX_EPOCH),
        };
        let round: StoredCursor = serde_json::from_value(json!(now)).unwrap();
        assert_eq!(round.walk_started, now.walk_started);
        assert_eq!(round.cursor, stored.cursor);
    }

    #[test]
    fn only_parts_the_platform_gives_count_as_its_changes() {
        let platform = AddressDraft {
            line1: Some("Chestnut Street 92".into()),
            city: Some("Louisville".into()),
            ..Default::default()
        };
        let corrected = AddressDraft {
            postal_code: Some("40202".into()),
            ..platform.clone()
        };
        assert!(!differs_where_given(&platform, &corrected));
        let moved = AddressDraft {
            line1: Some("Main Street 1".into()),
            ..platform
        };
        assert!(differs_where_given(&moved, &corrected));
    }
}
