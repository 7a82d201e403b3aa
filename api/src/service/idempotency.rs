//! `Idempotency-Key` for creates. The key is claimed, the resource created and
//! the response stored in one transaction, so a repeat either waits for the
//! first to commit and replays its response, or (if the first rolled back)
//! runs as if it were the first. Keys are per principal and kept 24 hours.

use chrono::Duration;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};
use uuid::Uuid;

use dingdan_entity::idempotency_key;

use super::{ServiceError, ServiceResult, now};
use crate::domain::actor::Actor;

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

/// A key sent with a create, and a fingerprint of what was asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRequest {
    pub key: String,
    pub fingerprint: String,
}

/// The first response to a create, as the transport rendered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub resource_id: Option<Uuid>,
}

/// The outcome of a create that may have been a repeat.
#[derive(Debug)]
pub enum Created<T> {
    New(T),
    /// The same key and request came before: here is the first response.
    Replay(StoredResponse),
}

/// How a transport renders what it created, so a repeat can be answered with
/// exactly the same bytes.
pub type Render<'a, T> = &'a (dyn Fn(&T) -> StoredResponse + Sync);

/// The key of one create (if the caller sent one) and how to render its result.
pub struct Idempotency<'a, T>(Option<(IdempotencyRequest, Render<'a, T>)>);

impl<'a, T> Idempotency<'a, T> {
    pub fn new(request: Option<IdempotencyRequest>, render: Render<'a, T>) -> Self {
        Self(request.map(|request| (request, render)))
    }

    /// A create without a key.
    pub fn none() -> Self {
        Self(None)
    }

    pub(crate) async fn claim<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
    ) -> ServiceResult<Option<StoredResponse>> {
        match &self.0 {
            Some((request, _)) => claim(conn, actor, request).await,
            None => Ok(None),
        }
    }

    pub(crate) async fn complete<C: ConnectionTrait>(
        &self,
        conn: &C,
        actor: &Actor,
        value: &T,
    ) -> ServiceResult<()> {
        match &self.0 {
            Some((request, render)) => complete(conn, actor, request, render(value)).await,
            None => Ok(()),
        }
    }
}

impl<T> Created<T> {
    /// The new resource of a create made without a key (which cannot replay).
    pub fn into_new(self) -> ServiceResult<T> {
        match self {
            Created::New(value) => Ok(value),
            Created::Replay(_) => Err(ServiceError::Internal(anyhow::anyhow!(
                "a create without a key replayed"
            ))),
        }
    }
}

/// Keys are per principal: a partner's keys never collide with staff's.
fn principal(actor: &Actor) -> String {
    match actor.customer_id {
        Some(customer) => format!("{}@{customer}", actor.sub),
        None => actor.sub.clone(),
    }
}

/// Claims `request.key` for this transaction, or returns the response stored
/// by the request that claimed it first.
async fn claim<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    request: &IdempotencyRequest,
) -> ServiceResult<Option<StoredResponse>> {
    let principal = principal(actor);
    let at = now();
    // A key past its retention is forgotten.
    idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::Principal.eq(&principal))
        .filter(idempotency_key::Column::Key.eq(&request.key))
        .filter(idempotency_key::Column::ExpiresAt.lt(at))
        .exec(conn)
        .await?;
    let row = idempotency_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        principal: Set(principal.clone()),
        key: Set(request.key.clone()),
        fingerprint: Set(request.fingerprint.clone()),
        response_status: Set(0),
        response_body: Set(String::new()),
        location: Set(None),
        etag: Set(None),
        resource_id: Set(None),
        created_at: Set(at),
        expires_at: Set(at + Duration::hours(RETENTION_HOURS)),
    };
    // On PostgreSQL a concurrent claim of the same key waits here until the
    // first transaction ends, then inserts nothing (or, if it rolled back, wins).
    let inserted = idempotency_key::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                idempotency_key::Column::Principal,
                idempotency_key::Column::Key,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if inserted == 1 {
        return Ok(None);
    }
    let first = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::Principal.eq(&principal))
        .filter(idempotency_key::Column::Key.eq(&request.key))
        .one(conn)
        .await?
        .ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!("idempotency key vanished while claimed"))
        })?;
    if first.fingerprint != request.fingerprint {
        return Err(ServiceError::Unprocessable {
            code: "idempotency_key_reused",
            message: format!(
                "Idempotency-Key {:?} was already used for a different request; use a new key for a new request",
                request.key
            ),
        });
    }
    Ok(Some(StoredResponse {
        status: u16::try_from(first.response_status).unwrap_or(200),
        body: first.response_body,
        location: first.location,
        etag: first.etag,
        resource_id: first.resource_id,
    }))
}

/// Stores the response of the request that claimed the key.
async fn complete<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    request: &IdempotencyRequest,
    response: StoredResponse,
) -> ServiceResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(
            idempotency_key::Column::ResponseStatus,
            Expr::val(i32::from(response.status)),
        )
        .col_expr(
            idempotency_key::Column::ResponseBody,
            Expr::val(response.body),
        )
        .col_expr(
            idempotency_key::Column::Location,
            Expr::val(response.location),
        )
        .col_expr(idempotency_key::Column::Etag, Expr::val(response.etag))
        .col_expr(
            idempotency_key::Column::ResourceId,
            Expr::val(response.resource_id),
        )
        .filter(idempotency_key::Column::Principal.eq(principal(actor)))
        .filter(idempotency_key::Column::Key.eq(&request.key))
        .exec(conn)
        .await?;
    Ok(())
}

/// Forgets keys past their retention.
pub async fn purge_expired(db: &super::Db) -> ServiceResult<u64> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::ExpiresAt.lt(now()))
        .exec(db.read())
        .await?;
    Ok(result.rows_affected)
}
