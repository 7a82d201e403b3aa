//! Wiring: database, routes, middleware and the HTTP server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use utoipa_actix_web::AppExt as _;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::AuthKeys;
use crate::graphql;
use crate::http::extract;
use crate::rest::{self, fallback::RouteTable};
use crate::service::Db;
use crate::settings::Settings;
use crate::state::AppState;
use crate::telemetry::{self, Metrics};

/// How long a stopping server waits for requests in flight.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

pub struct Application {
    server: Server,
    port: u16,
    db: Db,
    job_workers: usize,
}

impl Application {
    /// Connects to the database, applies migrations and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url, settings.db_max_connections)
            .await?
            .with_config(settings.service_config());
        db.migrate().await?;
        Self::with_db(settings, db)
    }

    /// Serves an already migrated database.
    pub fn with_db(settings: &Settings, db: Db) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on {} (DINGDAN_BIND)", settings.bind))?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            db: db.clone(),
            auth: AuthKeys::new(&settings.jwt)?,
        });
        let schema = web::Data::new(graphql::schema(Some(db.clone())));
        let metrics = web::Data::new(Metrics::new());
        let openapi = rest::openapi();
        let routes = web::Data::new(RouteTable::from_openapi(&openapi));
        let max_body = settings.max_body_bytes;

        let mut server = HttpServer::new(move || {
            let docs = SwaggerUi::new("/docs/{_:.*}")
                .url("/api/v1/openapi.json", openapi.clone())
                // No calls to swagger.io: the docs work offline.
                .config(
                    Config::default()
                        .validator_url("none")
                        .persist_authorization(true),
                );
            let (app, _) = App::new()
                .into_utoipa_app()
                // Before the /api/v1 scope, which would otherwise claim openapi.json.
                .map(|app| app.service(docs))
                .service(utoipa_actix_web::scope("/api/v1").configure(rest::api_v1))
                .configure(rest::operations)
                .split_for_parts();
            app.app_data(state.clone())
                .app_data(schema.clone())
                .app_data(metrics.clone())
                .app_data(routes.clone())
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(extract::BodyLimit(max_body))
                .app_data(extract::path_config())
                .route("/docs", web::get().to(docs_redirect))
                .route("/healthz", web::head().to(rest::ops::healthz_head))
                .route("/readyz", web::head().to(rest::ops::readyz_head))
                .route("/graphql", web::post().to(graphql::http::execute))
                .route(
                    "/graphql",
                    web::get()
                        .guard(actix_web::guard::fn_guard(|ctx| {
                            ctx.head()
                                .headers()
                                .get("upgrade")
                                .and_then(|v| v.to_str().ok())
                                .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
                        }))
                        .to(graphql::http::websocket),
                )
                .route("/graphql", web::get().to(graphql::http::graphiql))
                .route(
                    "/graphql/assets/{name}",
                    web::get().to(graphql::http::asset),
                )
                .default_service(web::to(rest::fallback::no_route))
                .wrap(Compress::default())
                .wrap(from_fn(telemetry::observe))
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self {
            server: server.run(),
            port,
            db,
            job_workers: settings.job_workers,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A handle that stops the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM or SIGINT, then finishes the requests in flight.
    /// The job workers run beside the server and stop with it, each after
    /// the job in hand.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = spawn_job_workers(&self.db, self.job_workers, &stopped);
        let result = self.server.await;
        let _ = stop.send(true);
        for worker in workers {
            let _ = worker.await;
        }
        result
    }
}

/// Starts `count` job workers on `db`, stopping when `stop` turns true.
pub fn spawn_job_workers(
    db: &Db,
    count: usize,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    // The pid alone is not unique (every container's server is pid 1): a
    // random part tells processes apart, the pid helps operators.
    let process = format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    (0..count)
        .map(|n| {
            tokio::spawn(crate::service::jobs::work(
                db.clone(),
                format!("{process}-worker-{n}"),
                stop.clone(),
            ))
        })
        .collect()
}
