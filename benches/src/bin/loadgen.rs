//! `loadgen`: drives a real Dingdan server over HTTP the way its clients do
//! and prints what it measured. See BENCHMARKS.md.
//!
//! For each database it starts `dingdan serve` on a fresh database, seeds it
//! through the public API (customers, 1,000 SKUs with a price list, 5
//! warehouses with lots), then:
//! - the write path at each concurrency: create an order of 1–3 lines (with a
//!   fresh `Idempotency-Key`; complete, so it confirms and review approves it)
//!   and allocate it; an order counts when it is allocated;
//! - the read path: `GET /api/v1/orders?limit=50` with filters, at concurrency 8;
//! - the server's peak resident memory;
//! - with `--pgbench`, PostgreSQL's own TPC-B-like throughput at the same
//!   client counts, in the same run, and the ratio.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Parser;
use dingdan::auth::AuthKeys;
use dingdan::domain::actor::Role;
use dingdan::settings::JwtSettings;
use dingdan_benches::Rng;
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
#[command(about = "Load-tests a Dingdan server over HTTP and prints the figures")]
struct Args {
    /// The server binary to start (build it with `cargo build --release -p dingdan`).
    #[arg(long, default_value = "target/release/dingdan")]
    server: PathBuf,
    /// A database to run against: `sqlite` (a fresh file) or the URL of a
    /// PostgreSQL server where a fresh database may be created. Repeat for
    /// several.
    #[arg(long = "database", default_values_t = vec!["sqlite".to_owned()])]
    databases: Vec<String>,
    /// Client counts for the write path.
    #[arg(long, value_delimiter = ',', default_values_t = vec![1, 8, 32])]
    concurrency: Vec<usize>,
    /// At most this many orders per client count.
    #[arg(long, default_value_t = 5_000)]
    orders: usize,
    /// At most this many seconds per client count.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds of the read path.
    #[arg(long, default_value_t = 10)]
    read_seconds: u64,
    /// Client counts for the read path.
    #[arg(long, value_delimiter = ',', default_values_t = vec![8])]
    read_concurrency: Vec<usize>,
    /// `explicit`: the client allocates each approved order itself
    /// (`POST /orders/{id}/allocation`, allocation policy `manual`); `auto`:
    /// the server's background job allocates it and the client polls the
    /// order until it is allocated.
    #[arg(long, value_enum, default_value_t = Flow::Explicit)]
    flow: Flow,
    /// Also run pgbench (TPC-B-like, scale 10) on each PostgreSQL server.
    #[arg(long)]
    pgbench: bool,
    /// Measure an already running server instead (its database seeded by an
    /// earlier run or by `datagen`); needs `--secret`. Only the read path runs.
    #[arg(long)]
    url: Option<String>,
    /// The running server's `DINGDAN_JWT_SECRET`.
    #[arg(long)]
    secret: Option<String>,
    /// With `--url`: the server's process id, to report its memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Flow {
    Explicit,
    Auto,
}

const SKUS: usize = 1_000;
const CUSTOMERS: usize = 50;
const WAREHOUSES: [(&str, f64, f64, &str); 5] = [
    ("WH-SH", 31.2304, 121.4737, "SH"),
    ("WH-BJ", 39.9042, 116.4074, "BJ"),
    ("WH-GZ", 23.1291, 113.2644, "GD"),
    ("WH-CD", 30.5728, 104.0668, "SC"),
    ("WH-WH", 30.5928, 114.3055, "HB"),
];
const REGIONS: [(&str, &str, &str); 6] = [
    ("Shanghai", "SH", "200120"),
    ("Hangzhou", "ZJ", "310000"),
    ("Beijing", "BJ", "100000"),
    ("Guangzhou", "GD", "510000"),
    ("Chengdu", "SC", "610000"),
    ("Wuhan", "HB", "430000"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    if let Some(url) = &args.url {
        let secret = args
            .secret
            .clone()
            .context("--url needs --secret (the server's DINGDAN_JWT_SECRET)")?;
        let client = Client::new(url.clone(), &secret)?;
        let customers = client.customer_ids().await?;
        for &clients in &args.read_concurrency {
            let read = read_path(&client, &customers, clients, args.read_seconds).await;
            println!(
                "{}",
                read.line(&format!("read path, running server, concurrency {clients}"))
            );
        }
        if let Some(pid) = args.server_pid {
            println!("server peak RSS: {} MB", peak_rss_mb(pid).unwrap_or(0));
        }
        return Ok(());
    }
    println!(
        "# loadgen: {} cores, {} orders or {} s per client count",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.orders,
        args.seconds
    );
    for database in &args.databases {
        run_database(&args, database).await?;
    }
    Ok(())
}

async fn run_database(args: &Args, database: &str) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let (url, label, admin) = if database == "sqlite" {
        (
            format!("sqlite://{}/loadgen.db", scratch.path().display()),
            "SQLite".to_owned(),
            None,
        )
    } else {
        let name = format!("dingdan_loadgen_{}", std::process::id());
        let admin = dingdan::service::Db::connect(database, 1).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await?;
        (
            replace_database(database, &name),
            "PostgreSQL".to_owned(),
            Some((database.to_owned(), name)),
        )
    };
    let secret: String = {
        let mut rng = Rng::new(std::process::id() as u64 ^ 0x5eed);
        (0..48)
            .map(|_| char::from(b'a' + rng.below(26) as u8))
            .collect()
    };
    let port = free_port()?;
    let mut server = Server(
        Command::new(&args.server)
            .env_clear()
            .env("DATABASE_URL", &url)
            .env("DINGDAN_BIND", format!("127.0.0.1:{port}"))
            .env("DINGDAN_JWT_SECRET", &secret)
            .env("DINGDAN_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", args.server.display()))?,
    );
    let client = Client::new(format!("http://127.0.0.1:{port}"), &secret)?;
    client.wait_ready().await?;
    println!("\n## {label}\n");
    let started = Instant::now();
    let world = seed(&client, args.flow).await?;
    println!(
        "seeded {} customers, {SKUS} SKUs with a price list, {} warehouses with {} lots in {:.1} s",
        world.customers.len(),
        WAREHOUSES.len(),
        world.lots,
        started.elapsed().as_secs_f64()
    );
    let pgbench_scores = match (&admin, args.pgbench) {
        (Some((admin_url, _)), true) => Some(pgbench(admin_url, &args.concurrency, args.seconds)?),
        _ => None,
    };
    println!();
    println!(
        "| flow (create + allocate) | orders | orders/s | HTTP req/s | p50 ms | p95 ms | p99 ms | max ms | errors | server RSS MB{} |",
        if pgbench_scores.is_some() {
            " | pgbench TPS | orders/s ÷ TPS"
        } else {
            ""
        }
    );
    println!(
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | ---{} |",
        if pgbench_scores.is_some() {
            " | --- | ---"
        } else {
            ""
        }
    );
    for &clients in &args.concurrency {
        let result = write_path(&client, &world, clients, args.orders, args.seconds).await;
        let rss = peak_rss_mb(server.0.id()).unwrap_or(0);
        let mut line = format!(
            "| concurrency {clients} | {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {rss} |",
            result.done,
            result.per_second(),
            result.requests as f64 / result.elapsed.as_secs_f64(),
            result.percentile(50.0),
            result.percentile(95.0),
            result.percentile(99.0),
            result.percentile(100.0),
            result.errors_text(),
        );
        if let Some(scores) = &pgbench_scores {
            let tps = scores.get(&clients).copied().unwrap_or(0.0);
            line.push_str(&format!(
                " {tps:.0} | {:.2} |",
                if tps > 0.0 {
                    result.per_second() / tps
                } else {
                    0.0
                }
            ));
        }
        println!("{line}");
    }
    println!();
    for &clients in &args.read_concurrency {
        let read = read_path(&client, &world.customers, clients, args.read_seconds).await;
        println!(
            "{}",
            read.line(&format!("read path, {label}, concurrency {clients}"))
        );
    }
    println!(
        "server peak RSS over the run: {} MB",
        peak_rss_mb(server.0.id()).unwrap_or(0)
    );
    server.stop();
    if let Some((admin_url, name)) = admin {
        let admin = dingdan::service::Db::connect(&admin_url, 1).await?;
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        admin.close().await?;
    }
    Ok(())
}

/// A server process, stopped (SIGTERM, then kill) when dropped.
struct Server(Child);

impl Server {
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
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

/// The peak resident set (VmHWM) of a process, in MB.
fn peak_rss_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// An HTTP client holding an admin token.
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    requests: AtomicUsize,
}

impl Client {
    fn new(base: String, secret: &str) -> anyhow::Result<Self> {
        let keys = AuthKeys::new(&JwtSettings {
            hs256_secret: Some(secret.as_bytes().to_vec()),
            rs256_public_pem: None,
            issuer: "dingdan".to_owned(),
            audience: "dingdan".to_owned(),
        })?;
        let token = keys.issue(
            "loadgen",
            &[Role::Admin],
            None,
            Duration::from_secs(24 * 3600),
        )?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            base,
            token,
            requests: AtomicUsize::new(0),
        })
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = self.http.get(format!("{}/readyz", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the server did not become ready");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends a request; reads the whole body, parsing it only when asked
    /// (the load generator shares the machine's cores with the server).
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Value), String> {
        self.send(method, path, body, idempotency_key, true).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
        parse: bool,
    ) -> Result<(u16, Value), String> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let value = if parse {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        Ok((status, value))
    }

    async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        status: u16,
    ) -> anyhow::Result<Value> {
        match self.call(method, path, Some(body), None).await {
            Ok((got, value)) if got == status => Ok(value),
            Ok((got, value)) => bail!("{path}: {got} {value}"),
            Err(error) => bail!("{path}: {error}"),
        }
    }

    async fn customer_ids(&self) -> anyhow::Result<Vec<String>> {
        let (_, list) = self
            .call(reqwest::Method::GET, "/customers?limit=200", None, None)
            .await
            .map_err(anyhow::Error::msg)?;
        Ok(list["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|c| c["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }
}

struct World {
    customers: Vec<String>,
    lots: usize,
    flow: Flow,
}

/// Seeds the dataset through the public API, 16 requests at a time.
async fn seed(client: &Client, flow: Flow) -> anyhow::Result<World> {
    use reqwest::Method;
    let mut rng = Rng::new(42);
    let mode = match flow {
        Flow::Explicit => "manual",
        Flow::Auto => "auto",
    };
    client
        .expect(
            Method::PUT,
            "/allocation-policy",
            &json!({"mode": mode}),
            200,
        )
        .await?;
    let mut warehouses = Vec::new();
    for (code, lat, lon, region) in WAREHOUSES {
        let created = client
            .expect(
                Method::POST,
                "/warehouses",
                &json!({"code": code, "name": format!("Warehouse {code}"), "region": region,
                        "latitude": lat, "longitude": lon,
                        "address": {"name": code, "line1": "1 Logistics Road", "city": code,
                                    "region": region, "postal_code": "200000", "country": "CN"}}),
                201,
            )
            .await?;
        warehouses.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    let mut products = Vec::new();
    for n in 0..SKUS {
        let price = 5 + rng.below(495);
        products.push(json!({
            "sku": format!("SKU-{n:04}"), "name": format!("Product {n}"), "unit": "pcs",
            "list_price": format!("{price}.00"), "currency": "CNY",
            "weight_kg": "0.50", "tax_rate": "0.13",
            "traits": {"perishable": n % 10 == 0}
        }));
    }
    run_all(products, 16, |body| async move {
        client
            .expect(Method::POST, "/products", &body, 201)
            .await
            .map(|_| ())
    })
    .await?;
    let items: Vec<Value> = (0..SKUS)
        .map(|n| json!({"sku": format!("SKU-{n:04}"), "unit_price": format!("{}.50", 4 + n % 400)}))
        .collect();
    client
        .expect(
            Method::POST,
            "/price-lists",
            &json!({"name": "Wholesale", "currency": "CNY", "price_tier": "wholesale",
                    "valid_from": "2020-01-01", "items": items}),
            201,
        )
        .await?;
    let today = chrono::Utc::now().date_naive();
    let mut receipts = Vec::new();
    for (w, warehouse) in warehouses.iter().enumerate() {
        for n in 0..SKUS {
            let mut body = json!({"warehouse_id": warehouse, "sku": format!("SKU-{n:04}"),
                                  "quantity": 1_000_000, "received_at": (today - chrono::Days::new(30 + w as u64)).to_string()});
            if n % 10 == 0 {
                body["expiry_date"] = json!((today + chrono::Days::new(365)).to_string());
            }
            receipts.push(body);
        }
    }
    let lots = receipts.len();
    run_all(receipts, 16, |body| async move {
        client
            .expect(Method::POST, "/stock/receipts", &body, 201)
            .await
            .map(|_| ())
    })
    .await?;
    let mut customers = Vec::new();
    for n in 0..CUSTOMERS {
        let (city, region, postal) = REGIONS[n % REGIONS.len()];
        let created = client
            .expect(
                Method::POST,
                "/customers",
                &json!({"code": format!("C-{n:03}"), "name": format!("Customer {n}"), "currency": "CNY",
                        "credit_limit": "900000000000.00", "payment_terms_days": 30,
                        "price_tier": if n % 2 == 0 { "wholesale" } else { "retail" },
                        "contacts": [{"name": "Buyer", "phone": "+86 21 5555 0101"}],
                        "addresses": [{"name": format!("Customer {n}"), "line1": "88 Century Ave",
                                       "city": city, "region": region, "postal_code": postal,
                                       "country": "CN", "phone": "+86 21 5555 0101"}]}),
                201,
            )
            .await?;
        customers.push(created["id"].as_str().unwrap_or_default().to_owned());
    }
    Ok(World {
        customers,
        lots,
        flow,
    })
}

/// Runs `work` over `items`, `width` at a time; the first error wins.
async fn run_all<F, Fut>(items: Vec<Value>, width: usize, work: F) -> anyhow::Result<()>
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    use futures_util::StreamExt as _;
    let mut results =
        futures_util::stream::iter(items.into_iter().map(work)).buffer_unordered(width);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

#[derive(Default)]
struct Outcome {
    done: usize,
    requests: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
    errors: BTreeMap<String, usize>,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return 0.0;
        }
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
        sorted[rank.min(sorted.len() - 1)]
    }

    fn errors_text(&self) -> String {
        if self.errors.is_empty() {
            return "0".to_owned();
        }
        self.errors
            .iter()
            .map(|(kind, n)| format!("{n}× {kind}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn line(&self, label: &str) -> String {
        format!(
            "{label}: {} requests in {:.1} s = {:.0} req/s; p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; errors: {}",
            self.done,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.percentile(50.0),
            self.percentile(95.0),
            self.percentile(99.0),
            self.percentile(100.0),
            self.errors_text()
        )
    }
}

/// The write path: `clients` clients, each creating and allocating orders
/// until `budget` orders are taken or `seconds` pass.
async fn write_path(
    client: &Client,
    world: &World,
    clients: usize,
    budget: usize,
    seconds: u64,
) -> Outcome {
    let taken = AtomicUsize::new(0);
    let outcome = Mutex::new(Outcome::default());
    let before = client.requests.load(Ordering::Relaxed);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers = (0..clients).map(|n| {
        let taken = &taken;
        let outcome = &outcome;
        async move {
            let mut rng = Rng::new(1 + n as u64 * 7919 + clients as u64);
            while Instant::now() < deadline && taken.fetch_add(1, Ordering::Relaxed) < budget {
                let began = Instant::now();
                let result = one_order(client, world, &mut rng).await;
                let mut outcome = outcome.lock().await;
                match result {
                    Ok(()) => {
                        outcome.done += 1;
                        outcome
                            .latencies_ms
                            .push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                    Err(kind) => *outcome.errors.entry(kind).or_default() += 1,
                }
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let mut outcome = outcome.into_inner();
    outcome.elapsed = started.elapsed();
    outcome.requests = client.requests.load(Ordering::Relaxed) - before;
    outcome
}

/// One storefront order, created and allocated. The error is its kind.
async fn one_order(client: &Client, world: &World, rng: &mut Rng) -> Result<(), String> {
    use reqwest::Method;
    let customer = &world.customers[rng.below(world.customers.len() as u64) as usize];
    let count = 1 + rng.below(3) as usize;
    let mut skus: Vec<usize> = Vec::with_capacity(count);
    while skus.len() < count {
        let sku = rng.below(SKUS as u64) as usize;
        if !skus.contains(&sku) {
            skus.push(sku);
        }
    }
    let lines: Vec<Value> = skus
        .iter()
        .map(|n| json!({"sku": format!("SKU-{n:04}"), "quantity": 1 + rng.below(5)}))
        .collect();
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"channel": "web", "customer_id": customer, "lines": lines,
                      "contact": {"name": "Buyer", "phone": "+86 21 5555 0101"}});
    let (status, order) = client
        .call(Method::POST, "/orders", Some(&body), Some(&key))
        .await?;
    if status != 201 {
        return Err(format!(
            "create {status} {}",
            order["code"].as_str().unwrap_or("")
        ));
    }
    if order["status"] != "approved" {
        return Err(format!("created {}", order["status"]));
    }
    let id = order["id"].as_str().unwrap_or_default();
    if world.flow == Flow::Auto {
        // The server allocates it; poll until it has.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, current) = client
                .call(Method::GET, &format!("/orders/{id}"), None, None)
                .await?;
            if status != 200 {
                return Err(format!("read {status}"));
            }
            match current["status"].as_str() {
                Some("allocated") => return Ok(()),
                Some("approved") => {}
                other => return Err(format!("became {}", other.unwrap_or("?"))),
            }
            if Instant::now() > deadline {
                return Err("not allocated within 30 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let (status, allocation) = client
        .call(
            Method::POST,
            &format!("/orders/{id}/allocation"),
            None,
            None,
        )
        .await?;
    if status != 200 {
        return Err(format!(
            "allocate {status} {}",
            allocation["code"].as_str().unwrap_or("")
        ));
    }
    if allocation["order_status"] != "allocated" {
        return Err(format!("allocated {}", allocation["order_status"]));
    }
    Ok(())
}

/// The read path: `clients` clients listing orders, 50 at a time, with
/// filters (status, customer or channel, in turn).
async fn read_path(client: &Client, customers: &[String], clients: usize, seconds: u64) -> Outcome {
    let outcome = Mutex::new(Outcome::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let workers = (0..clients as u64).map(|n| {
        let outcome = &outcome;
        async move {
            let mut rng = Rng::new(99 + n);
            while Instant::now() < deadline {
                let path = match rng.below(3) {
                    0 => "/orders?limit=50&status=allocated".to_owned(),
                    1 if !customers.is_empty() => format!(
                        "/orders?limit=50&customer_id={}",
                        customers[rng.below(customers.len() as u64) as usize]
                    ),
                    _ => "/orders?limit=50&channel=web".to_owned(),
                };
                let began = Instant::now();
                let result = client
                    .send(reqwest::Method::GET, &path, None, None, false)
                    .await;
                let mut outcome = outcome.lock().await;
                match result {
                    Ok((200, _)) => {
                        outcome.done += 1;
                        outcome
                            .latencies_ms
                            .push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok((status, _)) => {
                        *outcome.errors.entry(format!("list {status}")).or_default() += 1
                    }
                    Err(error) => *outcome.errors.entry(error).or_default() += 1,
                }
            }
        }
    });
    futures_util::future::join_all(workers).await;
    let mut outcome = outcome.into_inner();
    outcome.elapsed = started.elapsed();
    outcome
}

/// pgbench's TPC-B-like throughput per client count, on a scratch database
/// of the same server.
fn pgbench(
    admin_url: &str,
    clients: &[usize],
    seconds: u64,
) -> anyhow::Result<BTreeMap<usize, f64>> {
    let name = format!("dingdan_pgbench_{}", std::process::id());
    let db_url = replace_database(admin_url, &name);
    let psql = |sql: &str| {
        Command::new("psql")
            .args([admin_url, "-q", "-c", sql])
            .stdout(Stdio::null())
            .status()
    };
    psql(&format!("DROP DATABASE IF EXISTS {name}"))?;
    if !psql(&format!("CREATE DATABASE {name}"))?.success() {
        bail!("psql could not create the pgbench database");
    }
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "10", &db_url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running pgbench (install postgresql-contrib)")?;
    if !init.success() {
        bail!("pgbench -i failed");
    }
    let mut scores = BTreeMap::new();
    for &c in clients {
        let output = Command::new("pgbench")
            .args([
                "-c",
                &c.to_string(),
                "-j",
                &c.min(2).to_string(),
                "-T",
                &seconds.min(15).to_string(),
                &db_url,
            ])
            .output()?;
        let text = String::from_utf8_lossy(&output.stdout);
        let tps = text
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.split_whitespace().nth(2))
            .and_then(|t| t.parse::<f64>().ok())
            .unwrap_or(0.0);
        println!("pgbench TPC-B-like, {c} clients: {tps:.0} TPS");
        scores.insert(c, tps);
    }
    psql(&format!("DROP DATABASE IF EXISTS {name}"))?;
    Ok(scores)
}
