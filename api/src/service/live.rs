//! Live events for GraphQL subscriptions: one task per process tails the
//! outbox (so events committed by any process, HTTP or worker, are seen)
//! and broadcasts them to this process's subscribers. It runs only while
//! somebody listens.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use serde_json::Value;
use tokio::sync::broadcast;
use uuid::Uuid;

use dingdan_entity::outbox;

use super::Db;

/// How often the outbox is looked at while somebody listens.
const POLL: Duration = Duration::from_millis(200);
/// Events are read again this far back: a transaction that committed late
/// with an earlier timestamp is still seen (each event is sent once). An
/// event whose transaction commits later than this after it was stamped is
/// not streamed live (webhooks, which do not depend on time, still carry
/// it). Only ids and times are re-read; whole rows are fetched once.
const OVERLAP: chrono::Duration = chrono::Duration::seconds(30);
/// Rows read per page: the window is walked in keyset pages, so any number
/// of events in it is seen.
const PAGE: u64 = 500;
/// The tail stops after this long without listeners.
const IDLE: Duration = Duration::from_secs(5);
/// Events a slow subscriber may fall behind by before it misses some.
const CAPACITY: usize = 1024;

/// One committed, published event.
#[derive(Clone, Debug)]
pub struct LiveEvent {
    pub id: Uuid,
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub version: i32,
    pub customer_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub payload: Value,
}

pub(crate) struct Hub {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    running: AtomicBool,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(CAPACITY).0,
            running: AtomicBool::new(false),
        }
    }
}

/// Events committed from now on, as they are seen.
pub fn subscribe(db: &Db) -> broadcast::Receiver<Arc<LiveEvent>> {
    let hub = db.live.clone();
    let rx = hub.tx.subscribe();
    if !hub.running.swap(true, Ordering::AcqRel) {
        tokio::spawn(tail(db.clone(), hub));
    }
    rx
}

async fn tail(db: Db, hub: Arc<Hub>) {
    // What was committed before the first subscriber came is not news.
    let started = super::now();
    let mut watermark = started;
    // Events already sent, by id, kept while inside the overlap window.
    let mut sent: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    let mut idle = Duration::ZERO;
    loop {
        tokio::time::sleep(POLL).await;
        if hub.tx.receiver_count() == 0 {
            idle += POLL;
            if idle >= IDLE {
                hub.running.store(false, Ordering::Release);
                // A subscriber that came in just now would find it running.
                if hub.tx.receiver_count() == 0 || hub.running.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
            continue;
        }
        idle = Duration::ZERO;
        if let Err(error) = read_window(&db, &hub, started, &mut watermark, &mut sent).await {
            tracing::warn!(%error, "live events: cannot read the outbox");
            continue;
        }
        let horizon = watermark - OVERLAP;
        sent.retain(|_, at| *at >= horizon);
    }
}

/// Reads the window `[watermark - OVERLAP, …)` in keyset pages of
/// `(created_at, id)` and broadcasts every event not sent before.
async fn read_window(
    db: &Db,
    hub: &Hub,
    started: DateTime<Utc>,
    watermark: &mut DateTime<Utc>,
    sent: &mut HashMap<Uuid, DateTime<Utc>>,
) -> Result<(), sea_orm::DbErr> {
    let since = *watermark - OVERLAP;
    let mut after: Option<(DateTime<Utc>, Uuid)> = None;
    loop {
        let mut keys = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::Id)
            .column(outbox::Column::CreatedAt)
            .filter(outbox::Column::CreatedAt.gte(since));
        if let Some((at, id)) = after {
            keys = keys.filter(
                Condition::any().add(outbox::Column::CreatedAt.gt(at)).add(
                    Condition::all()
                        .add(outbox::Column::CreatedAt.eq(at))
                        .add(outbox::Column::Id.gt(id)),
                ),
            );
        }
        let keys: Vec<(Uuid, DateTime<Utc>)> = keys
            .order_by_asc(outbox::Column::CreatedAt)
            .order_by_asc(outbox::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db.read())
            .await?;
        let fresh: Vec<Uuid> = keys
            .iter()
            .filter(|(id, at)| *at >= started && !sent.contains_key(id))
            .map(|(id, _)| *id)
            .collect();
        if !fresh.is_empty() {
            let rows = outbox::Entity::find()
                .filter(outbox::Column::Id.is_in(fresh))
                .order_by_asc(outbox::Column::CreatedAt)
                .order_by_asc(outbox::Column::Id)
                .all(db.read())
                .await?;
            for row in rows {
                sent.insert(row.id, row.created_at);
                let _ = hub.tx.send(Arc::new(LiveEvent {
                    id: row.id,
                    event_type: row.event_type,
                    resource_type: row.aggregate_type,
                    resource_id: row.aggregate_id,
                    version: row.aggregate_version,
                    customer_id: row.customer_id,
                    occurred_at: row.created_at,
                    payload: row.payload,
                }));
            }
        }
        if let Some(&(id, at)) = keys.last() {
            *watermark = (*watermark).max(at);
            after = Some((at, id));
        }
        if keys.len() < PAGE as usize {
            return Ok(());
        }
    }
}
