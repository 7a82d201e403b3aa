//! The database handle: connection pool, migrations, and write transactions.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use dingdan_migration::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait as _, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait as _,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The PostgreSQL advisory lock key held while migrating ("dingdan" in ASCII).
const MIGRATION_LOCK: i64 = 0x64_69_6e_67_64_61_6e;

/// How long a SQLite writer waits for another process's write lock.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Business settings the services apply, fixed at start.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// Days between an order's goods being available and its delivery, added
    /// to the longest lead time when promising a date.
    pub handling_days: u32,
    /// The business's offset from UTC: it decides "today" for promised dates,
    /// price list and promotion validity, and the year of an order number.
    pub utc_offset: chrono::FixedOffset,
    /// How long a claimed job is its worker's before others may retake it.
    pub job_lease: Duration,
    pub webhooks: WebhookConfig,
    /// Customer notifications by email, when configured.
    pub smtp: Option<SmtpConfig>,
    /// Seals stored credentials (`DINGDAN_SECRET_KEY`); features that store
    /// credentials are refused without it.
    pub secret_key: Option<super::secrets::SecretKey>,
    /// Internal networks marketplace connectors may call
    /// (`DINGDAN_CONNECTOR_ALLOWED_NETWORKS`); plain http only to these.
    pub connector_networks: Vec<ipnet::IpNet>,
}

/// Where notification emails go out.
#[derive(Clone)]
pub struct SmtpConfig {
    /// `smtp://host:port` (STARTTLS when offered… see lettre), `smtps://…`
    /// (TLS), with optional `user:password@`.
    pub url: String,
    /// The `From` mailbox: `Dingdan <orders@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("url", &redact(&self.url))
            .field("from", &self.from)
            .finish()
    }
}

/// How outbound webhooks are sent.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Plain `http://` subscription URLs are accepted (never in production).
    pub allow_http: bool,
    /// Networks that may be called even though they are internal (loopback,
    /// private, …): the allow-list for the SSRF guard.
    pub allowed_networks: Vec<ipnet::IpNet>,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub secret_overlap: Duration,
    /// The whole request, connect to last byte.
    pub timeout: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            allowed_networks: Vec::new(),
            secret_overlap: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(15),
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            handling_days: 1,
            utc_offset: chrono::FixedOffset::east_opt(0)
                .unwrap_or_else(|| unreachable!("zero is a valid offset")),
            job_lease: Duration::from_secs(300),
            webhooks: WebhookConfig::default(),
            smtp: None,
            secret_key: None,
            connector_networks: Vec::new(),
        }
    }
}

impl ServiceConfig {
    /// The business day `at` falls on.
    pub fn today(&self, at: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDate {
        at.with_timezone(&self.utc_offset).date_naive()
    }
}

/// A cheap-to-clone handle on the database, with the service settings that
/// travel with it.
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    url: Arc<str>,
    config: Arc<ServiceConfig>,
    /// On SQLite, one writer at a time per process: waiting on this queue is fair
    /// and cheap, where SQLite's busy handler polls with sleeps.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// Wakes this process's job workers when a commit queued work for them
    /// (workers of other processes find it when they next poll).
    jobs_wake: Arc<tokio::sync::Notify>,
    /// Added to the wall clock by [`Db::now`]: zero, except in tests that
    /// move time forward to make scheduled work due.
    clock_offset_ms: Arc<std::sync::atomic::AtomicI64>,
    /// The client outbound webhooks are sent with, built on first use.
    pub(crate) webhook_client: Arc<std::sync::OnceLock<reqwest::Client>>,
    /// The SMTP transport notifications are sent with, built on first use.
    pub(crate) mailer: Arc<std::sync::OnceLock<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>>>,
    /// Live events for this process's GraphQL subscriptions.
    pub(crate) live: Arc<super::live::Hub>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend())
            .finish()
    }
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). A SQLite file is
    /// created on first use and runs in WAL mode with durable commits.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            // An in-memory database exists once per connection, so it gets one.
            let in_memory = url.contains(":memory:") || url.contains("mode=memory");
            options.max_connections(if in_memory { 1 } else { max_connections.max(2) });
            options.map_sqlx_sqlite_opts(|opts| {
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL syncs the WAL on every commit: a committed order survives
                    // a power cut, not only a crash.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    .foreign_keys(true)
            });
        } else {
            options.max_connections(max_connections);
        }
        // Two processes opening a new SQLite file at once race to switch it to
        // WAL, and the loser is told "database is locked" without waiting: retry.
        let mut attempt = 0;
        let conn = loop {
            match Database::connect(options.clone()).await {
                Ok(conn) => break conn,
                Err(error) if sqlite && attempt < 20 && error.to_string().contains("locked") => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(error) => {
                    return Err(anyhow::Error::new(error).context(format!(
                        "DATABASE_URL: cannot connect to the database at {}",
                        redact(url)
                    )));
                }
            }
        };
        Ok(Self {
            conn,
            url: url.into(),
            config: Arc::new(ServiceConfig::default()),
            sqlite_writer: sqlite.then(|| Arc::new(Mutex::new(()))),
            jobs_wake: Arc::new(tokio::sync::Notify::new()),
            clock_offset_ms: Arc::new(std::sync::atomic::AtomicI64::new(0)),
            webhook_client: Arc::new(std::sync::OnceLock::new()),
            live: Arc::new(super::live::Hub::default()),
            mailer: Arc::new(std::sync::OnceLock::new()),
        })
    }

    /// The same handle applying `config`.
    pub fn with_config(mut self, config: ServiceConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The time scheduled work is judged by (jobs coming due, webhook
    /// retries): the wall clock, unless a test moved it on.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        super::now()
            + chrono::Duration::milliseconds(
                self.clock_offset_ms
                    .load(std::sync::atomic::Ordering::Relaxed),
            )
    }

    /// Moves this handle's scheduling clock forward (tests only: it lets a
    /// retry due in five minutes run now).
    #[doc(hidden)]
    pub fn advance_clock(&self, by: Duration) {
        self.clock_offset_ms.fetch_add(
            i64::try_from(by.as_millis()).unwrap_or(i64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// Tells this process's job workers that work was committed, if any was
    /// queued since the last call (a commit without jobs wakes nobody).
    pub(crate) fn wake_workers(&self) {
        if super::jobs::take_enqueued() {
            self.jobs_wake.notify_one();
        }
    }

    /// Resolves when [`Db::wake_workers`] is next called.
    pub(crate) fn workers_woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.jobs_wake.notified()
    }

    pub fn is_sqlite(&self) -> bool {
        self.sqlite_writer.is_some()
    }

    /// Applies every pending migration. On PostgreSQL, replicas starting at
    /// once take turns under an advisory lock, so none fails half-way.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        if self.is_sqlite() {
            // One write transaction around the whole run: another process
            // migrating the same file waits for it, then finds nothing to do.
            let txn = self
                .write()
                .await
                .context("waiting for the database's write lock")?;
            Migrator::up(&*txn, None)
                .await
                .context("applying database migrations")?;
            txn.commit()
                .await
                .context("committing database migrations")?;
            return self.optimize().await;
        }
        // A session lock needs one session: a pool of exactly one connection.
        let mut options = ConnectOptions::new(self.url.to_string());
        options
            .max_connections(1)
            .min_connections(1)
            .sqlx_logging(false);
        let session = Database::connect(options)
            .await
            .context("connecting to migrate")?;
        session
            .execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await
            .context("waiting for the migration lock")?;
        let result = Migrator::up(&session, None)
            .await
            .context("applying database migrations");
        let _ = session
            .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await;
        let _ = session.close().await;
        result
    }

    /// Keeps SQLite's planner statistics fresh (PostgreSQL's autovacuum does
    /// that itself): tables and indexes without statistics, such as a new
    /// index, are analyzed, on a bounded sample. Run at start and hourly.
    pub async fn optimize(&self) -> anyhow::Result<()> {
        if self.is_sqlite() {
            self.conn
                .execute_unprepared("PRAGMA analysis_limit = 1000")
                .await
                .context("setting SQLite's analysis limit")?;
            self.conn
                .execute_unprepared("PRAGMA optimize = 0x10002")
                .await
                .context("refreshing SQLite's planner statistics")?;
        }
        Ok(())
    }

    /// Number of migrations not yet applied.
    pub async fn pending_migrations(&self) -> Result<usize, DbErr> {
        Ok(Migrator::get_pending_migrations(&self.conn).await?.len())
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    /// The connection pool, for reads.
    pub(crate) fn read(&self) -> &DatabaseConnection {
        &self.conn
    }

    async fn writer_guard(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`), so it never fails half-way on a lock upgrade.
    pub(crate) async fn write(&self) -> Result<WriteTxn, DbErr> {
        let guard = self.writer_guard().await;
        let txn = if guard.is_some() {
            self.conn
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await?
        } else {
            self.conn.begin().await?
        };
        Ok(WriteTxn { txn, _guard: guard })
    }

    /// How the connection is set up, as the database reports it (logged at start).
    pub async fn describe(&self) -> Result<String, DbErr> {
        if !self.is_sqlite() {
            let row = self
                .conn
                .query_one_raw(sea_orm::Statement::from_string(
                    self.backend(),
                    "SHOW server_version",
                ))
                .await?;
            let version: String = row
                .map(|r| r.try_get_by_index(0))
                .transpose()?
                .unwrap_or_default();
            return Ok(format!("postgresql {version}"));
        }
        let mut parts = vec!["sqlite".to_owned()];
        // Each connection of the pool is set up alike; this reads one of them.
        for pragma in [
            "journal_mode",
            "synchronous",
            "busy_timeout",
            "foreign_keys",
        ] {
            let row = self
                .conn
                .query_one_raw(sea_orm::Statement::from_string(
                    self.backend(),
                    format!("PRAGMA {pragma}"),
                ))
                .await?;
            let value = match row {
                Some(row) => row
                    .try_get_by_index::<String>(0)
                    .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))?,
                None => String::new(),
            };
            parts.push(format!("{pragma}={value}"));
        }
        Ok(parts.join(" "))
    }

    /// Runs a statement outside any transaction (test set-up, tooling).
    pub async fn execute_unprepared(&self, sql: &str) -> Result<(), DbErr> {
        self.conn.execute_unprepared(sql).await.map(|_| ())
    }

    pub async fn close(self) -> Result<(), DbErr> {
        self.conn.close().await
    }
}

/// A write transaction; rolled back when dropped without [`WriteTxn::commit`].
pub(crate) struct WriteTxn {
    txn: DatabaseTransaction,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub(crate) async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// `postgres://user:secret@host/db` without the secret, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
