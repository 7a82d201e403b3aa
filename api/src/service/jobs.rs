//! Background jobs: a queue in the database, so work survives restarts and
//! any number of worker processes can share it.
//!
//! A job is claimed by one worker at a time under a lease (`locked_until`);
//! a worker that dies leaves its job to be claimed again when the lease runs
//! out. On PostgreSQL workers claim with `FOR UPDATE SKIP LOCKED`, so they
//! never wait on each other; on SQLite the claim is one short write
//! transaction. Failures are retried with exponential back-off up to
//! `max_attempts`, then the job is `failed` with its last error kept.
//!
//! Work enqueued with a `unique_key` is queued at most once: enqueueing it
//! again while a copy waits only brings that copy forward (it will see the
//! newer state when it runs). A running job's lease is renewed while it
//! runs, and only the worker holding the lease may finish it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, ExprTrait as _,
    FromQueryResult as _, PaginatorTrait as _, QueryFilter as _, QueryTrait as _,
};
use serde_json::Value;
use uuid::Uuid;

use dingdan_entity::job;

use super::{Db, ServiceError, ServiceResult, now};

/// How long an idle worker sleeps before looking again (other processes'
/// jobs, and retries coming due).
const POLL: Duration = Duration::from_millis(500);
/// Finished jobs are kept this long, for operators, then purged.
const KEEP_FINISHED: chrono::Duration = chrono::Duration::days(7);
/// How often a busy worker stops to fan new events out to webhook
/// subscriptions, so a backlog of jobs does not hold new events back.
const DISPATCH_EVERY: Duration = Duration::from_secs(1);
/// How often a worker purges expired records.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// The kinds of work there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// Allocate every order waiting for stock, oldest first.
    AllocateWaiting,
    /// Send one webhook delivery (payload: `{"delivery_id": …}`).
    DeliverWebhook,
    /// Email one event's customer notification (payload: `{"event_id": …}`).
    SendEmail,
    /// Sync one marketplace connector account (payload: `{"account_id": …}`).
    SyncConnector,
    /// Report a shipment to the marketplace its order came from (payload:
    /// `{"shipment_id": …}`).
    PushFulfilment,
}

impl JobKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            JobKind::AllocateWaiting => "allocate_waiting",
            JobKind::DeliverWebhook => "deliver_webhook",
            JobKind::SendEmail => "send_email",
            JobKind::SyncConnector => "sync_connector",
            JobKind::PushFulfilment => "push_fulfilment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allocate_waiting" => Some(JobKind::AllocateWaiting),
            "deliver_webhook" => Some(JobKind::DeliverWebhook),
            "send_email" => Some(JobKind::SendEmail),
            "sync_connector" => Some(JobKind::SyncConnector),
            "push_fulfilment" => Some(JobKind::PushFulfilment),
            _ => None,
        }
    }

    fn max_attempts(&self) -> i32 {
        match self {
            JobKind::AllocateWaiting => 10,
            // A delivery schedules its own retries; the job's attempts only
            // cover its worker dying mid-send.
            JobKind::DeliverWebhook => 5,
            JobKind::SendEmail => 8,
            // A failed run records its error; the next is queued anyway.
            JobKind::SyncConnector => 3,
            // 2 s … about an hour apart: platforms' outages pass.
            JobKind::PushFulfilment => 12,
        }
    }
}

/// Whether a job was queued (by any transaction of this process) since the
/// workers were last woken. A job queued by a transaction that then rolled
/// back costs one needless wake-up.
static ENQUEUED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Marks that work for the workers was written (jobs, or events for the
/// webhook dispatcher): the next [`Db::wake_workers`] wakes them.
pub(crate) fn note_work() {
    ENQUEUED.store(true, std::sync::atomic::Ordering::Release);
}

pub(crate) fn take_enqueued() -> bool {
    ENQUEUED.swap(false, std::sync::atomic::Ordering::AcqRel)
}

/// Queues a job on the caller's transaction: it exists if and only if the
/// change that asked for it commits. Call [`Db::wake_workers`] after commit.
pub(crate) async fn enqueue<C: ConnectionTrait>(
    conn: &C,
    kind: JobKind,
    payload: Value,
    unique_key: Option<&str>,
    run_at: DateTime<Utc>,
) -> ServiceResult<()> {
    let at = now();
    let row = job::ActiveModel {
        id: Set(Uuid::now_v7()),
        kind: Set(kind.as_str().to_owned()),
        payload: Set(payload),
        unique_key: Set(unique_key.map(str::to_owned)),
        status: Set("queued".to_owned()),
        run_at: Set(run_at),
        attempts: Set(0),
        max_attempts: Set(kind.max_attempts()),
        last_error: Set(None),
        locked_by: Set(None),
        locked_until: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        finished_at: Set(None),
    };
    let insert = job::Entity::insert(row)
        .on_conflict(
            OnConflict::column(job::Column::UniqueKey)
                // Literal, not a bound value: the database must see that this
                // is the partial index's own predicate.
                .target_and_where(Expr::cust("status = 'queued'"))
                // The waiting copy runs no later than this one would have
                // (a copy backing off after a failure is brought forward).
                .value(
                    job::Column::RunAt,
                    Expr::cust(
                        "CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END",
                    ),
                )
                .to_owned(),
        )
        .into_query();
    conn.execute(&insert).await?;
    ENQUEUED.store(true, std::sync::atomic::Ordering::Release);
    Ok(())
}

/// Claims the next due job, or a running one whose lease ran out.
async fn claim(db: &Db, worker: &str) -> ServiceResult<Option<job::Model>> {
    let at = db.now();
    let due_now = || {
        Expr::col(job::Column::Status)
            .eq("queued")
            .and(Expr::col(job::Column::RunAt).lte(at))
            .or(Expr::col(job::Column::Status)
                .eq("running")
                .and(Expr::col(job::Column::LockedUntil).lt(at)))
    };
    // A read first: an idle queue costs no write transaction.
    if job::Entity::find()
        .filter(due_now())
        .one(db.read())
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let due = Query::select()
        .column(job::Column::Id)
        .from(job::Entity)
        .cond_where(due_now())
        .order_by(job::Column::RunAt, sea_orm::Order::Asc)
        .order_by(job::Column::Id, sea_orm::Order::Asc)
        .limit(1)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .to_owned();
    let lease = at + chrono::Duration::from_std(db.config().job_lease).unwrap_or_default();
    let mut claim = Query::update();
    claim
        .table(job::Entity)
        .value(job::Column::Status, "running")
        .value(job::Column::LockedBy, worker)
        .value(job::Column::LockedUntil, lease)
        .value(
            job::Column::Attempts,
            Expr::col(job::Column::Attempts).add(1),
        )
        .value(job::Column::UpdatedAt, at)
        .and_where(Expr::col(job::Column::Id).in_subquery(due))
        .returning_all();
    let txn = db.write().await?;
    let row = txn.query_one(&claim).await?;
    txn.commit().await?;
    Ok(row
        .map(|row| job::Model::from_query_result(&row, ""))
        .transpose()?)
}

/// The condition for changing a claimed job: its lease is still this
/// worker's, from this claim (a job retaken after its lease ran out counts
/// one more attempt, even if the same worker retook it).
fn held_by(job: &job::Model, worker: &str) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(job::Column::Id.eq(job.id))
        .add(job::Column::Status.eq("running"))
        .add(job::Column::LockedBy.eq(worker))
        .add(job::Column::Attempts.eq(job.attempts))
}

/// Marks a job done.
async fn finish(db: &Db, job: &job::Model, worker: &str) -> ServiceResult<()> {
    let at = now();
    let txn = db.write().await?;
    let updated = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::val("done"))
        .col_expr(job::Column::FinishedAt, Expr::val(at))
        .col_expr(job::Column::UpdatedAt, Expr::val(at))
        .col_expr(
            job::Column::LockedUntil,
            Expr::val(Option::<DateTime<Utc>>::None),
        )
        .filter(held_by(job, worker))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    if updated.rows_affected == 0 {
        tracing::warn!(job = %job.id, "finished a job whose lease another worker had taken");
    }
    Ok(())
}

/// Keeps a running job's lease while its work runs.
fn keep_lease(db: &Db, job: &job::Model, worker: &str) -> tokio::task::JoinHandle<()> {
    let (db, id, held) = (db.clone(), job.id, held_by(job, worker));
    let lease = db.config().job_lease;
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            let renewed = async {
                let until = db.now() + chrono::Duration::from_std(lease).unwrap_or_default();
                let txn = db.write().await?;
                job::Entity::update_many()
                    .col_expr(job::Column::LockedUntil, Expr::val(until))
                    .filter(held.clone())
                    .exec(&*txn)
                    .await?;
                txn.commit().await
            };
            if let Err(error) = renewed.await {
                tracing::warn!(job = %id, error = %error, "could not renew a job's lease");
            }
        }
    })
}

/// Records a failure: queued again after a back-off, or `failed` for good.
async fn fail(db: &Db, job: &job::Model, worker: &str, error: &str) -> ServiceResult<()> {
    let at = db.now();
    let error: String = error.chars().take(2000).collect();
    let txn = db.write().await?;
    let retry = job.attempts < job.max_attempts;
    // 2, 4, 8 … seconds, at most an hour.
    let backoff = chrono::Duration::seconds(1_i64 << job.attempts.clamp(1, 12))
        .min(chrono::Duration::hours(1));
    // A copy of unique work already waiting makes the retry unnecessary.
    let waiting_copy = match &job.unique_key {
        Some(key) => {
            job::Entity::find()
                .filter(job::Column::UniqueKey.eq(key.clone()))
                .filter(job::Column::Status.eq("queued"))
                .count(&*txn)
                .await?
                > 0
        }
        None => false,
    };
    let (status, finished) = match (retry, waiting_copy) {
        (true, false) => ("queued", None),
        (true, true) => ("done", Some(at)),
        (false, _) => ("failed", Some(at)),
    };
    let update = |status: &'static str, finished: Option<DateTime<Utc>>| {
        job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::val(status))
            .col_expr(job::Column::LastError, Expr::val(error.clone()))
            .col_expr(job::Column::RunAt, Expr::val(at + backoff))
            .col_expr(job::Column::FinishedAt, Expr::val(finished))
            .col_expr(job::Column::UpdatedAt, Expr::val(at))
            .col_expr(
                job::Column::LockedUntil,
                Expr::val(Option::<DateTime<Utc>>::None),
            )
            .filter(held_by(job, worker))
    };
    match update(status, finished).exec(&*txn).await {
        Ok(_) => {
            if status == "failed"
                && JobKind::parse(&job.kind) == Some(JobKind::DeliverWebhook)
                && let Some(id) = job
                    .payload
                    .get("delivery_id")
                    .and_then(Value::as_str)
                    .and_then(|s| Uuid::parse_str(s).ok())
            {
                super::webhooks::abandon(&*txn, id, &error).await?;
            }
            txn.commit().await?
        }
        // A copy was queued since the check: that copy will do the work.
        Err(error) if super::error::is_unique_violation(&error) => {
            drop(txn);
            let txn = db.write().await?;
            update("done", Some(at)).exec(&*txn).await?;
            txn.commit().await?;
        }
        Err(error) => return Err(error.into()),
    }
    Ok(())
}

/// Runs one job's work.
async fn perform(db: &Db, job: &job::Model) -> anyhow::Result<()> {
    match JobKind::parse(&job.kind) {
        Some(JobKind::AllocateWaiting) => {
            super::allocation::allocate_waiting(db).await?;
            Ok(())
        }
        Some(JobKind::DeliverWebhook) => {
            let id = job
                .payload
                .get("delivery_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| anyhow::anyhow!("a deliver_webhook job without a delivery_id"))?;
            // A replay remembers the status it started from (older jobs
            // without it count as replays of a dead letter).
            let replay =
                (job.payload.get("replay").and_then(Value::as_bool) == Some(true)).then(|| {
                    job.payload
                        .get("replay_of")
                        .and_then(Value::as_str)
                        .and_then(crate::domain::webhook::DeliveryStatus::parse)
                        .filter(|s| *s != crate::domain::webhook::DeliveryStatus::Pending)
                        .unwrap_or(crate::domain::webhook::DeliveryStatus::Dead)
                });
            super::webhooks::deliver(db, id, replay).await?;
            Ok(())
        }
        Some(JobKind::SendEmail) => {
            let id = job
                .payload
                .get("event_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| anyhow::anyhow!("a send_email job without an event_id"))?;
            super::notifications::send_email(db, id).await
        }
        Some(JobKind::SyncConnector) => {
            let id = job
                .payload
                .get("account_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| anyhow::anyhow!("a sync_connector job without an account_id"))?;
            super::connectors::scheduled_sync(db, id).await
        }
        Some(JobKind::PushFulfilment) => {
            let id = job
                .payload
                .get("shipment_id")
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| anyhow::anyhow!("a push_fulfilment job without a shipment_id"))?;
            super::connectors::push_fulfilment(db, id, job.attempts).await
        }
        None => anyhow::bail!("unknown job kind {:?}", job.kind),
    }
}

/// Claims and runs due jobs until there are none; returns how many ran.
pub async fn run_due(db: &Db, worker: &str) -> ServiceResult<usize> {
    let mut ran = 0;
    // Events committed since the last look become deliveries (jobs) first,
    // and again every second while jobs keep the worker busy; a failure
    // there must not stop the jobs already queued.
    let dispatch = || async {
        if let Err(error) = super::webhooks::dispatch(db).await {
            tracing::error!(%error, "fanning events out to webhook subscriptions failed");
        }
        tokio::time::Instant::now()
    };
    let mut dispatched = dispatch().await;
    loop {
        if dispatched.elapsed() >= DISPATCH_EVERY {
            dispatched = dispatch().await;
        }
        let Some(job) = claim(db, worker).await? else {
            break;
        };
        ran += 1;
        if job.attempts > job.max_attempts {
            // Its lease ran out on every attempt: the worker died each time.
            fail(
                db,
                &job,
                worker,
                "the job's worker stopped before finishing it",
            )
            .await?;
            continue;
        }
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        let lease = keep_lease(db, &job, worker);
        let outcome = tracing::Instrument::instrument(perform(db, &job), span).await;
        lease.abort();
        match outcome {
            Ok(()) => finish(db, &job, worker).await?,
            Err(error) => {
                tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts,
                               error = %format!("{error:#}"), "job failed");
                fail(db, &job, worker, &format!("{error:#}")).await?;
            }
        }
    }
    Ok(ran)
}

/// A worker: runs due jobs, then waits to be woken (or polls), until
/// `stop` turns true. Also purges expired records now and then.
pub async fn work(db: Db, name: String, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last_maintenance: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        if let Err(error) = run_due(&db, &name).await {
            tracing::error!(error = %error, worker = %name, "the job queue failed");
        }
        if last_maintenance.is_none_or(|at| at.elapsed() >= MAINTENANCE_EVERY) {
            last_maintenance = Some(tokio::time::Instant::now());
            if let Err(error) = maintain(&db).await {
                tracing::warn!(error = %error, "maintenance failed");
            }
        }
        tokio::select! {
            () = db.workers_woken() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Purges what has expired (finished jobs, idempotency keys) and keeps the
/// planner's statistics fresh.
async fn maintain(db: &Db) -> ServiceResult<()> {
    let cutoff = now() - KEEP_FINISHED;
    let txn = db.write().await?;
    job::Entity::delete_many()
        .filter(job::Column::Status.is_in(["done", "failed"]))
        .filter(job::Column::FinishedAt.lt(cutoff))
        .exec(&*txn)
        .await?;
    txn.commit().await?;
    super::idempotency::purge_expired(db).await?;
    db.optimize().await.map_err(ServiceError::Internal)?;
    Ok(())
}

/// Jobs queued (and due) or running: zero once the queue has settled.
pub async fn outstanding(db: &Db) -> ServiceResult<u64> {
    let jobs = job::Entity::find()
        .filter(
            job::Column::Status.eq("running").or(job::Column::Status
                .eq("queued")
                .and(job::Column::RunAt.lte(db.now()))),
        )
        .count(db.read())
        .await?;
    Ok(jobs + super::webhooks::undispatched(db).await?)
}

/// Jobs that ran out of attempts, newest first, for operators and tests.
pub async fn failed(db: &Db) -> ServiceResult<Vec<(String, Option<String>)>> {
    Ok(job::Entity::find()
        .filter(job::Column::Status.eq("failed"))
        .all(db.read())
        .await?
        .into_iter()
        .map(|j| (j.kind, j.last_error))
        .collect())
}
