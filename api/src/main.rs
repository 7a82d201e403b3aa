//! `dingdan`: the server and its tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use dingdan::auth::{AuthKeys, parse_ttl};
use dingdan::domain::actor::Role;
use dingdan::service::{Db, redact};
use dingdan::settings::Settings;
use dingdan::startup::{Application, spawn_job_workers};
use dingdan::{graphql, rest, telemetry};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "dingdan",
    version,
    about = "Headless order management: REST and GraphQL over one service layer"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default): migrates the database, then serves.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run background job workers only (no HTTP), until SIGTERM or SIGINT.
    Worker {
        /// How many workers; defaults to DINGDAN_JOB_WORKERS (at least 1).
        #[arg(long)]
        count: Option<usize>,
    },
    /// Print a bearer token signed with this server's secret.
    Token {
        /// A role to grant; repeat for several (admin, order_manager, sales,
        /// finance, warehouse, production, support, integration).
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Scope the token to one customer (a partner token).
        #[arg(long, value_parser = parse_customer)]
        customer: Option<Uuid>,
        /// Lifetime, e.g. 90s, 15m, 1h, 7d.
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: std::time::Duration,
        /// The token's subject, recorded as the actor of what it does.
        #[arg(long, default_value = "cli")]
        sub: String,
    },
    /// Sync a marketplace connector account now (a backfill with --since),
    /// with a progress bar and a summary.
    Sync {
        /// The connector account's id (`id` in /api/v1/connectors).
        #[arg(long)]
        account: Uuid,
        /// Orders modified since this day (YYYY-MM-DD, UTC) or instant
        /// (RFC 3339); the account's stored cursor when absent.
        #[arg(long, value_parser = parse_since)]
        since: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Print the OpenAPI document (or, with --graphql, the GraphQL SDL).
    Openapi {
        #[arg(long)]
        graphql: bool,
    },
}

fn parse_since(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return day
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc())
            .ok_or_else(|| format!("{text:?} is not a day"));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| format!("{text:?} is neither a day (2026-01-31) nor an RFC 3339 instant"))
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
}

fn parse_customer(text: &str) -> Result<Uuid, String> {
    text.parse().map_err(|_| {
        format!("{text:?} is not a customer id (a UUID, as `id` in /api/v1/customers)")
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi { graphql } = command {
        // Needs no configuration: it describes the code, not a deployment.
        let text = if graphql {
            graphql::sdl()
        } else {
            match rest::openapi().to_pretty_json() {
                Ok(json) => json,
                Err(e) => return fail(e.into()),
            }
        };
        println!("{}", text.trim_end());
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Worker { count } => worker(settings, count).await,
        Command::Sync { account, since } => sync(settings, account, since).await,
        Command::Token {
            roles,
            customer,
            ttl,
            sub,
        } => token(&settings, &sub, &roles, customer, ttl),
        Command::Openapi { .. } => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn fail(error: anyhow::Error) -> ExitCode {
    eprintln!("error: {error:#}");
    ExitCode::FAILURE
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_logging(&settings.log_filter, settings.log_json);
    let app = Application::build(&settings).await?;
    if let Ok(description) = app.db().describe().await {
        tracing::info!(database = %description, "database ready");
    }
    tracing::info!(
        address = %settings.bind,
        database = %redact(&settings.database_url),
        "dingdan is serving: REST under /api/v1 (docs at /docs), GraphQL at /graphql"
    );
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_logging(&settings.log_filter, settings.log_json);
    let db = Db::connect(&settings.database_url, 2).await?;
    let pending = db.pending_migrations().await?;
    db.migrate().await?;
    println!(
        "applied {pending} migration(s) to {}",
        redact(&settings.database_url)
    );
    Ok(())
}

async fn worker(settings: Settings, count: Option<usize>) -> anyhow::Result<()> {
    telemetry::init_logging(&settings.log_filter, settings.log_json);
    let db = Db::connect(&settings.database_url, settings.db_max_connections)
        .await?
        .with_config(settings.service_config());
    db.migrate().await?;
    let count = count.unwrap_or(settings.job_workers).max(1);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = spawn_job_workers(&db, count, &stopped);
    tracing::info!(
        workers = count,
        database = %redact(&settings.database_url),
        "dingdan is running background jobs"
    );
    shutdown_signal().await;
    tracing::info!("stopping after the jobs in hand");
    let _ = stop.send(true);
    for worker in workers {
        let _ = worker.await;
    }
    Ok(())
}

async fn sync(
    settings: Settings,
    account: Uuid,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<()> {
    telemetry::init_logging(&settings.log_filter, settings.log_json);
    let db = Db::connect(&settings.database_url, settings.db_max_connections)
        .await?
        .with_config(settings.service_config());
    db.migrate().await?;
    // Orders per page are unknown in advance: a spinner counting them.
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} {msg}",
    )?);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let shown = bar.clone();
    let run = dingdan::service::connectors::sync(&db, account, "cli", since, &move |p| {
        shown.set_message(format!(
            "{} page(s), {} order(s) fetched, {} created",
            p.pages, p.fetched, p.created
        ));
    })
    .await?;
    bar.finish_and_clear();
    println!(
        "sync {}: fetched {}, created {}, updated {}, skipped {}, failed {}",
        run.status, run.fetched, run.created, run.updated, run.skipped, run.failed
    );
    if let Some(error) = &run.error {
        println!("errors: {error}");
    }
    if run.status == "failed" {
        anyhow::bail!("the sync failed; the next one resumes from the last page it finished");
    }
    Ok(())
}

/// Resolves on SIGINT or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

fn token(
    settings: &Settings,
    sub: &str,
    roles: &[Role],
    customer: Option<Uuid>,
    ttl: std::time::Duration,
) -> anyhow::Result<()> {
    if roles.is_empty() && customer.is_none() {
        anyhow::bail!("give at least one --role (or --customer for a partner token)");
    }
    let keys = AuthKeys::new(&settings.jwt)?;
    println!("{}", keys.issue(sub, roles, customer, ttl)?);
    Ok(())
}
