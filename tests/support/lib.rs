//! What every end-to-end test stands on: a real server on a free port, over
//! its own fresh database (a SQLite file, or a PostgreSQL database when
//! `DINGDAN_TEST_DATABASE_URL` names a server), and a client that speaks to it.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use dingdan::auth::AuthKeys;
use dingdan::domain::actor::{Actor, Role};
use dingdan::service::Db;
use dingdan::settings::Settings;
use dingdan::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub use reqwest;
pub use serde_json;

/// The HS256 secret of every test server.
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123";

static INIT: Once = Once::new();

fn init() {
    INIT.call_once(|| {
        // reqwest is built without a default TLS provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Ok(filter) = std::env::var("TEST_LOG") {
            dingdan::telemetry::init_logging(&filter, false);
        }
    });
}

/// Where the repository's test fixtures are.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A database of this test's own, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    pg: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create() -> Self {
        init();
        match std::env::var("DINGDAN_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("dingdan_test_{}", Uuid::new_v4().simple());
                let admin = Db::connect(&admin_url, 1)
                    .await
                    .expect("connect to DINGDAN_TEST_DATABASE_URL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create a test database");
                admin.close().await.ok();
                let url = replace_database(&admin_url, &name);
                Self {
                    url,
                    pg: Some((admin_url, name)),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}/dingdan.db", dir.path().display());
                Self {
                    url,
                    pg: None,
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        // Drop may run inside a runtime; do the async clean-up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Db::connect(&admin_url, 1).await.ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub settings: Settings,
    keys: AuthKeys,
    handle: actix_web::dev::ServerHandle,
    pub database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; in-flight work ends with the runtime.
        drop(self.handle.stop(false));
    }
}

/// Starts a server on a fresh database with the default test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts a server with some settings overridden (`("DINGDAN_MAX_BODY_BYTES", "2048")`).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    let database = TestDatabase::create().await;
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database.url.clone()),
        ("DINGDAN_BIND".into(), "127.0.0.1:0".into()),
        ("DINGDAN_JWT_SECRET".into(), TEST_SECRET.into()),
        ("DINGDAN_WORKERS".into(), "2".into()),
        ("DINGDAN_DB_MAX_CONNECTIONS".into(), "8".into()),
        // Background jobs run when a test calls `settle`.
        ("DINGDAN_JOB_WORKERS".into(), "0".into()),
    ]);
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    let settings = Settings::load(&|key| vars.get(key).cloned()).expect("test settings");
    let app = Application::build(&settings)
        .await
        .expect("the application starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let keys = AuthKeys::new(&settings.jwt).expect("keys");
    TestApp {
        address,
        client,
        db,
        settings,
        keys,
        handle,
        database,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem document with this status and code.
    #[track_caller]
    pub fn expect_problem(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "not a problem document: {}",
            self.text
        );
        assert_eq!(
            self.body["code"], code,
            "unexpected code; body: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert_eq!(
            self.body["type"],
            format!("https://dingdan.dev/problems/{code}")
        );
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        self
    }

    /// The paths of the fields a problem document lists.
    pub fn error_paths(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["path"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A token holding `roles`.
    pub fn token(&self, roles: &[Role]) -> String {
        self.keys
            .issue("test-user", roles, None, Duration::from_secs(3600))
            .expect("a token")
    }

    /// A token for a given subject (the principal idempotency keys belong to).
    pub fn token_for(&self, sub: &str, roles: &[Role]) -> String {
        self.keys
            .issue(sub, roles, None, Duration::from_secs(3600))
            .expect("a token")
    }

    pub fn admin(&self) -> String {
        self.token(&[Role::Admin])
    }

    /// A partner token scoped to one customer.
    pub fn partner(&self, customer_id: Uuid) -> String {
        self.keys
            .issue(
                "partner-erp",
                &[Role::Integration],
                Some(customer_id),
                Duration::from_secs(3600),
            )
            .expect("a token")
    }

    pub fn system_actor(&self) -> Actor {
        Actor::system()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.expect("the request is sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Posts raw bytes with a content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        read(request.send().await.expect("the request is sent")).await
    }

    /// Runs a GraphQL document; returns the whole response body.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let body = json!({"query": query, "variables": variables});
        self.send(Method::POST, "/graphql", token, Some(&body))
            .await
    }

    // Fixtures: the smallest valid resources, with overrides merged in.

    pub async fn create_product(&self, sku: &str, overrides: Value) -> Value {
        let mut body = json!({
            "sku": sku, "name": format!("Product {sku}"), "unit": "pcs",
            "list_price": "10.00", "currency": "CNY", "weight_kg": "0.50"
        });
        merge(&mut body, overrides);
        self.post("/api/v1/products", &self.admin(), &body)
            .await
            .expect(201)
            .body
    }

    pub async fn create_customer(&self, code: &str, overrides: Value) -> Value {
        let mut body = json!({
            "code": code, "name": format!("Customer {code}"), "currency": "CNY",
            "credit_limit": "50000.00", "payment_terms_days": 30, "price_tier": "wholesale",
            "contacts": [{"name": "Wang Fang", "phone": "+86 571 5555 0199", "email": "wf@example.com"}],
            "addresses": [address()]
        });
        merge(&mut body, overrides);
        self.post("/api/v1/customers", &self.admin(), &body)
            .await
            .expect(201)
            .body
    }

    pub async fn create_warehouse(&self, code: &str, overrides: Value) -> Value {
        let mut body = json!({
            "code": code, "name": format!("Warehouse {code}"), "address": address(),
            "region": "SH", "latitude": 31.2304, "longitude": 121.4737
        });
        merge(&mut body, overrides);
        self.post("/api/v1/warehouses", &self.admin(), &body)
            .await
            .expect(201)
            .body
    }

    pub async fn receive(
        &self,
        warehouse_id: &str,
        sku: &str,
        quantity: i64,
        overrides: Value,
    ) -> Reply {
        let mut body = json!({"warehouse_id": warehouse_id, "sku": sku, "quantity": quantity});
        merge(&mut body, overrides);
        self.post("/api/v1/stock/receipts", &self.admin(), &body)
            .await
    }

    /// An approved order of `lines` for `customer`, shipped to the default
    /// Shanghai address; `overrides` merge into the request body (e.g.
    /// `{"ship_to": {"city": …}}`). A review that waits for a person (a
    /// stock shortfall does) is approved by an admin.
    pub async fn approved_order(&self, customer: &str, lines: Value, overrides: Value) -> Value {
        let mut body = json!({"channel": "erp", "customer_id": customer, "ship_to": address(),
                              "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"}, "lines": lines});
        merge(&mut body, overrides);
        let placed = self
            .post("/api/v1/orders", &self.admin(), &body)
            .await
            .expect(201)
            .body;
        self.approve(placed).await
    }

    /// Approves every review stage of an order in review, as an admin;
    /// returns the approved order.
    pub async fn approve(&self, placed: Value) -> Value {
        let mut placed = placed;
        while placed["status"] == "in_review" {
            let reviews = self
                .get(
                    &format!("/api/v1/orders/{}/reviews", placed["id"].as_str().unwrap()),
                    &self.admin(),
                )
                .await
                .expect(200)
                .body;
            let pending = reviews["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["status"] == "pending")
                .expect("a pending review")
                .clone();
            placed = self
                .post(
                    &format!(
                        "/api/v1/reviews/{}/decision",
                        pending["id"].as_str().unwrap()
                    ),
                    &self.admin(),
                    &json!({"decision": "approve"}),
                )
                .await
                .expect(200)
                .body["order"]
                .clone();
        }
        assert_eq!(placed["status"], "approved", "{placed}");
        placed
    }

    /// Allocates an order (as an admin) and picks everything the warehouse's
    /// pick list holds, in full.
    pub async fn allocate_and_pick(&self, order_id: &str, warehouse: &str) {
        self.post(
            &format!("/api/v1/orders/{order_id}/allocation"),
            &self.admin(),
            &json!({}),
        )
        .await
        .expect(200);
        let list = self
            .get(
                &format!("/api/v1/warehouses/{warehouse}/pick-lists"),
                &self.admin(),
            )
            .await
            .expect(200)
            .body;
        let picks: Vec<Value> = list["groups"]
            .as_array()
            .expect("pick-list groups")
            .iter()
            .flat_map(|g| g["items"].as_array().cloned().unwrap_or_default())
            .map(|i| json!({"allocation_id": i["allocation_id"], "quantity": i["quantity"]}))
            .collect();
        self.post(
            &format!("/api/v1/warehouses/{warehouse}/pick"),
            &self.admin(),
            &json!({"picks": picks}),
        )
        .await
        .expect(200);
    }

    /// Every lot whose balance differs from the sum of its ledger entries.
    pub async fn ledger_mismatches(&self) -> Vec<Uuid> {
        dingdan::service::stock::ledger_mismatches(&self.db)
            .await
            .expect("ledger check")
    }

    /// Runs the background jobs that are due, the way a worker runs them,
    /// until none is left; fails the test if one failed for good. Test
    /// servers run no job workers of their own (`DINGDAN_JOB_WORKERS=0`), so
    /// what happens in the background happens here, deterministically.
    pub async fn settle(&self) {
        for _ in 0..100 {
            dingdan::service::jobs::run_due(&self.db, "test")
                .await
                .expect("the job queue runs");
            if dingdan::service::jobs::outstanding(&self.db)
                .await
                .expect("the job queue reads")
                == 0
            {
                let failed = dingdan::service::jobs::failed(&self.db)
                    .await
                    .expect("the job queue reads");
                assert!(failed.is_empty(), "jobs failed: {failed:?}");
                return;
            }
        }
        panic!("the job queue did not settle");
    }
}

/// A complete Chinese address.
pub fn address() -> Value {
    json!({"name": "Li Wei", "phone": "+86 21 5555 0101", "line1": "88 Century Ave", "line2": null,
           "city": "Shanghai", "region": "SH", "postal_code": "200120", "country": "CN"})
}

/// Merges `overrides` into `target`: objects merge key by key, recursively;
/// anything else replaces what was there.
pub fn merge(target: &mut Value, overrides: Value) {
    match (target, overrides) {
        (Value::Object(target), Value::Object(overrides)) => {
            for (key, value) in overrides {
                match target.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key, value);
                    }
                }
            }
        }
        (target, overrides) => *target = overrides,
    }
}

async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}
