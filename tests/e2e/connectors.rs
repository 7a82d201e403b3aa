//! Marketplace connectors against local servers that behave like Shopify and
//! WooCommerce (auth checks, pagination headers, 429 with Retry-After, error
//! bodies), serving the real payloads from the fixtures.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use dingdan::domain::actor::Role;
use dingdan_tests::{TestApp, fixtures_dir, merge, spawn_app_with};
use serde_json::{Value, json};

/// A 32-byte key, base64 (tests only).
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

pub(crate) async fn app() -> TestApp {
    spawn_app_with(&[
        ("DINGDAN_SECRET_KEY", KEY),
        // The mock platforms listen on this machine.
        ("DINGDAN_CONNECTOR_ALLOWED_NETWORKS", "127.0.0.1/32"),
    ])
    .await
}

pub(crate) fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

pub(crate) fn fixture(path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixtures_dir().join(path)).unwrap()).unwrap()
}

/// How the mock answers, and what it saw.
#[derive(Default)]
struct Shop {
    /// Every order the shop has, oldest `updated_at` first.
    orders: Vec<Value>,
    /// The next this many order-list requests answer 429.
    rate_limited: u32,
    /// The order-list request with this offset answers 500 once.
    fail_at_offset: Option<usize>,
    /// Query strings of the order-list requests.
    requests: Vec<String>,
    /// Bodies POSTed to fulfillments.json.
    fulfilments: Vec<Value>,
    /// The next this many fulfillments.json requests answer 503.
    fulfilment_outages: u32,
    /// The next request with a `page_info` answers 400 (an expired token).
    expire_next_token: bool,
}

struct Mock {
    shop: Arc<Mutex<Shop>>,
    url: String,
}

pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Shopify's answer to a request without the right access token.
fn unauthorized(req: &HttpRequest) -> Option<HttpResponse> {
    let token = req
        .headers()
        .get("x-shopify-access-token")
        .and_then(|v| v.to_str().ok());
    (token != Some("shpat_test")).then(|| {
        HttpResponse::Unauthorized()
            .json(json!({"errors": "[API] Invalid API key or access token"}))
    })
}

/// A Shopify Admin API: `X-Shopify-Access-Token: shpat_test`, orders by
/// `updated_at_min`, two a page with `Link: <…page_info=…>; rel="next"`.
async fn shopify() -> Mock {
    let shop = Arc::new(Mutex::new(Shop::default()));
    let state = shop.clone();
    let server = HttpServer::new(move || {
        let state = state.clone();
        let (fo_state, post_state) = (state.clone(), state.clone());
        App::new()
            .route(
                "/admin/api/2024-04/orders/{id}/fulfillment_orders.json",
                web::get().to(move |req: HttpRequest, path: web::Path<String>| {
                    let state = fo_state.clone();
                    async move {
                        if let Some(refused) = unauthorized(&req) {
                            return refused;
                        }
                        let shop = state.lock().unwrap();
                        let Some(order) = shop.orders.iter().find(|o| o["id"].as_u64().map(|n| n.to_string()).as_deref() == Some(path.as_str())) else {
                            return HttpResponse::NotFound().json(json!({"errors": "Not Found"}));
                        };
                        // The fixture's fulfillment order, with a line per order line.
                        let fixture = fixture("shopify/api-js_2024-04_order_fulfillment_orders.json");
                        let mut fo = fixture["fulfillment_orders"][0].clone();
                        let template = fo["line_items"][0].clone();
                        fo["line_items"] = json!(order["line_items"].as_array().unwrap().iter().enumerate().map(|(i, line)| {
                            let mut item = template.clone();
                            item["id"] = json!(1_058_737_560 + i as u64);
                            item["line_item_id"] = line["id"].clone();
                            item["quantity"] = line["quantity"].clone();
                            item["fulfillable_quantity"] = line["quantity"].clone();
                            item
                        }).collect::<Vec<_>>());
                        HttpResponse::Ok().json(json!({"fulfillment_orders": [fo]}))
                    }
                }),
            )
            .route(
                "/admin/api/2024-04/fulfillments.json",
                web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                    let state = post_state.clone();
                    async move {
                        if let Some(refused) = unauthorized(&req) {
                            return refused;
                        }
                        let mut shop = state.lock().unwrap();
                        if shop.fulfilment_outages > 0 {
                            shop.fulfilment_outages -= 1;
                            return HttpResponse::ServiceUnavailable()
                                .json(json!({"errors": "Service Unavailable"}));
                        }
                        shop.fulfilments.push(body.into_inner());
                        let created = fixture("shopify/api-js_2024-04_fulfillment_create_with_tracking.json");
                        HttpResponse::Created().json(created["response"].clone())
                    }
                }),
            )
            .route(
            "/admin/api/2024-04/orders.json",
            web::get().to(move |req: HttpRequest| {
                let state = state.clone();
                async move {
                    if let Some(refused) = unauthorized(&req) {
                        return refused;
                    }
                    let query = req.query_string().to_owned();
                    let mut shop = state.lock().unwrap();
                    shop.requests.push(query.clone());
                    if shop.rate_limited > 0 {
                        shop.rate_limited -= 1;
                        return HttpResponse::TooManyRequests()
                            .insert_header(("retry-after", "0.05"))
                            .json(json!({"errors": "Exceeded 2 calls per second for api client."}));
                    }
                    let limit: usize = query_param(&query, "limit")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(50)
                        .min(2);
                    let offset: usize = query_param(&query, "page_info")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(0);
                    if shop.expire_next_token && query_param(&query, "page_info").is_some() {
                        shop.expire_next_token = false;
                        return HttpResponse::BadRequest()
                            .json(json!({"errors": {"page_info": "Invalid value."}}));
                    }
                    if shop.fail_at_offset == Some(offset) {
                        shop.fail_at_offset = None;
                        return HttpResponse::InternalServerError()
                            .json(json!({"errors": "Internal Server Error"}));
                    }
                    let since = query_param(&query, "updated_at_min")
                        .map(|s| chrono::DateTime::parse_from_rfc3339(&s).unwrap());
                    let matching: Vec<&Value> = shop
                        .orders
                        .iter()
                        .filter(|o| {
                            since.is_none_or(|since| {
                                chrono::DateTime::parse_from_rfc3339(
                                    o["updated_at"].as_str().unwrap(),
                                )
                                .unwrap()
                                    >= since
                            })
                        })
                        .collect();
                    let page: Vec<Value> =
                        matching.iter().skip(offset).take(limit).map(|o| (*o).clone()).collect();
                    let mut response = HttpResponse::Ok();
                    if offset + limit < matching.len() {
                        let host = req.connection_info().host().to_owned();
                        response.insert_header((
                            "link",
                            format!(
                                "<http://{host}/admin/api/2024-04/orders.json?limit={limit}&page_info={}>; rel=\"next\"",
                                offset + limit
                            ),
                        ));
                    }
                    response.json(json!({"orders": page}))
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    tokio::spawn(server.run());
    Mock { shop, url }
}

/// The fixture order as order `n`, updated at `hour` o'clock.
fn shopify_order(n: u64, hour: u32, cancelled: bool) -> Value {
    let list = fixture("shopify/api-js_2024-04_orders_list_updated_at_min.json");
    let mut order = list["orders"][0].clone();
    order["id"] = json!(450_789_000 + n);
    order["name"] = json!(format!("#{}", 1000 + n));
    order["updated_at"] = json!(format!("2026-11-20T{hour:02}:00:00-05:00"));
    if cancelled {
        order["cancelled_at"] = json!("2026-11-20T23:00:00-05:00");
    }
    order
}

/// An account for the Shopify mock (`setup`'s SKU map and customer).
async fn shop_account(app: &TestApp, mock: &Mock) -> String {
    setup(
        app,
        "shopify",
        &mock.url,
        json!({"access_token": "shpat_test"}),
    )
    .await
}

async fn setup(app: &TestApp, platform: &str, base_url: &str, credentials: Value) -> String {
    setup_with(app, platform, base_url, credentials, json!({})).await
}

/// An account like `setup`'s with `extra` fields laid over its body.
async fn setup_with(
    app: &TestApp,
    platform: &str,
    base_url: &str,
    credentials: Value,
    extra: Value,
) -> String {
    for sku in ["IPOD-G", "IPOD-R", "IPOD2008BLACK", "WOO-93", "Bar3"] {
        app.create_product(sku, json!({"list_price": "199.00"}))
            .await;
    }
    let customer = id(&app
        .create_customer(
            "SHOP",
            json!({"credit_limit": "100000000.00", "currency": "USD"}),
        )
        .await);
    let mut body = json!({"platform": platform, "name": format!("{platform} store"), "base_url": base_url,
    "credentials": credentials, "customer_id": customer, "enabled": false,
    "sku_map": [
        {"platform_sku": "IPOD2008GREEN", "sku": "IPOD-G"},
        {"variant_id": "49148385", "sku": "IPOD-R"},
        {"variant_id": "93", "sku": "WOO-93"}
    ]});
    merge(&mut body, extra);
    let account = app
        .post(
            "/api/v1/connectors",
            &app.token(&[Role::Integration]),
            &body,
        )
        .await
        .expect(201)
        .body;
    assert!(
        !account.to_string().contains("shpat_test") && !account.to_string().contains("cs_secret"),
        "credentials are never returned: {account}"
    );
    id(&account)
}

pub(crate) async fn sync(app: &TestApp, account: &str, body: Value) -> Value {
    app.post(
        &format!("/api/v1/connectors/{account}/sync"),
        &app.admin(),
        &body,
    )
    .await
    .expect(200)
    .body
}

pub(crate) async fn imported(app: &TestApp) -> Vec<Value> {
    let mut all = app
        .get("/api/v1/orders?limit=200&channel=marketplace", &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    all.sort_by_key(|o| o["external_ref"].as_str().unwrap_or_default().to_owned());
    all
}

#[tokio::test]
async fn shopify_orders_are_backfilled_page_by_page_and_synced_again_without_duplicates() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = (1..=5).map(|n| shopify_order(n, n as u32, false)).collect();
    let account = setup(
        &app,
        "shopify",
        &mock.url,
        json!({"access_token": "shpat_test", "api_version": "2024-04"}),
    )
    .await;

    // Backfill: 5 orders on 3 pages.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["fetched"], 5);
    assert_eq!(run["created"], 5);
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 5);
    assert_eq!(orders[0]["external_ref"], "450789001");
    assert_eq!(orders[0]["source_account"], account);
    assert_eq!(orders[0]["currency"], "USD");
    let first = app
        .get(&format!("/api/v1/orders/{}", id(&orders[0])), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(first["lines"][0]["sku"], "IPOD-G", "mapped by platform SKU");
    assert_eq!(first["lines"][1]["sku"], "IPOD-R", "mapped by variant");
    assert_eq!(
        first["lines"][2]["sku"], "IPOD2008BLACK",
        "the same code needs no mapping"
    );
    assert_eq!(first["lines"][0]["unit_price"], "199.00");
    assert_eq!(first["ship_to"]["city"], "Louisville");
    {
        let shop = mock.shop.lock().unwrap();
        assert_eq!(shop.requests.len(), 3);
        assert!(
            shop.requests[0].contains("status=any"),
            "{:?}",
            shop.requests
        );
        assert!(!shop.requests[0].contains("updated_at_min"));
        assert!(shop.requests[1].contains("page_info=2"));
    }

    // Again: nothing new is created.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["created"], 0, "{run}");
    assert_eq!(imported(&app).await.len(), 5);
    let incremental = mock.shop.lock().unwrap().requests[3].clone();
    assert_eq!(
        query_param(&incremental, "updated_at_min").as_deref(),
        Some("2026-11-20T09:59:00Z"),
        "incremental from the newest updated_at, a minute back: {incremental}"
    );

    // Incremental: order 2 cancelled on the platform, order 6 new.
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders.retain(|o| o["id"] != json!(450_789_002));
        shop.orders.push(shopify_order(2, 11, true));
        shop.orders.push(shopify_order(6, 12, false));
    }
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["created"], 1, "{run}");
    assert_eq!(run["updated"], 1, "{run}");
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 6);
    let second = orders
        .iter()
        .find(|o| o["external_ref"] == "450789002")
        .unwrap();
    assert_eq!(second["status"], "cancelled");

    let runs = app
        .get(
            &format!("/api/v1/connectors/{account}/sync-runs"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(runs["items"].as_array().unwrap().len(), 3);
    assert_eq!(runs["items"][0]["created"], 1);
}

#[tokio::test]
async fn a_429_storm_is_waited_out_and_a_failure_resumes_from_the_cursor() {
    let app = app().await;
    let mock = shopify().await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders = (1..=5).map(|n| shopify_order(n, n as u32, false)).collect();
        shop.rate_limited = 3;
        shop.fail_at_offset = Some(2);
    }
    let account = shop_account(&app, &mock).await;
    // Three 429s are waited out; the second page fails: the run fails after
    // storing the first page.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["created"], 2);
    assert!(run["error"].as_str().unwrap().contains("500"), "{run}");
    // The next run resumes at the second page: no duplicates.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 3);
    assert_eq!(imported(&app).await.len(), 5);
    {
        let requests = &mock.shop.lock().unwrap().requests;
        // 3 × 429, page 1, page 2 (500) — then the next run starts at page 2.
        assert!(requests[4].contains("page_info=2"), "{requests:?}");
        assert!(requests[5].contains("page_info=2"), "{requests:?}");
    }

    // Wrong credentials: a failed run saying so, nothing imported.
    app.patch(
        &format!("/api/v1/connectors/{account}"),
        &app.admin(),
        &json!({"credentials": {"access_token": "wrong"}}),
    )
    .await
    .expect(200);
    let run = sync(&app, &account, json!({"since": "2026-01-01T00:00:00Z"})).await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"].as_str().unwrap().contains("credentials"),
        "{run}"
    );
}

#[tokio::test]
async fn accounts_are_validated_and_need_the_secret_key() {
    let app = app().await;
    let customer = id(&app.create_customer("C", json!({})).await);
    let reply = app
        .post(
            "/api/v1/connectors",
            &app.admin(),
            &json!({"platform": "ebay", "name": "", "base_url": "not a url", "credentials": {},
                    "customer_id": customer, "sync_interval_seconds": 5}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let paths = reply.error_paths();
    for path in ["platform", "name", "base_url", "sync_interval_seconds"] {
        assert!(paths.contains(&path.to_owned()), "{path} in {paths:?}");
    }
    let reply = app
        .post(
            "/api/v1/connectors",
            &app.admin(),
            &json!({"platform": "shopify", "name": "S", "base_url": "https://s.myshopify.com",
                    "credentials": {"acess_token": "typo"}, "customer_id": customer}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["credentials"]);
    // Sales cannot manage connectors.
    app.get("/api/v1/connectors", &app.token(&[Role::Sales]))
        .await
        .expect_problem(403, "forbidden");

    // Without DINGDAN_SECRET_KEY nothing is stored in the clear.
    let plain = dingdan_tests::spawn_app().await;
    let customer = id(&plain.create_customer("C", json!({})).await);
    plain
        .post(
            "/api/v1/connectors",
            &plain.admin(),
            &json!({"platform": "shopify", "name": "S", "base_url": "https://s.myshopify.com",
                    "credentials": {"access_token": "x"}, "customer_id": customer}),
        )
        .await
        .expect_problem(422, "secret_key_missing");
}

/// A WooCommerce REST API: Basic auth `ck_test:cs_secret`, `page`/`per_page`,
/// `X-WP-Total` and `X-WP-TotalPages`.
async fn woocommerce(orders: Vec<Value>) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let orders = Arc::new(orders);
    let server = HttpServer::new(move || {
        let (orders, log) = (orders.clone(), log.clone());
        App::new().route(
            "/wp-json/wc/v3/orders",
            web::get().to(move |req: HttpRequest| {
                let (orders, log) = (orders.clone(), log.clone());
                async move {
                    use base64::Engine as _;
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode("ck_test:cs_secret")
                    );
                    if req.headers().get("authorization").and_then(|v| v.to_str().ok())
                        != Some(expected.as_str())
                    {
                        return HttpResponse::Unauthorized().json(json!({
                            "code": "woocommerce_rest_cannot_view",
                            "message": "Sorry, you cannot list resources.", "data": {"status": 401}}));
                    }
                    let query = req.query_string().to_owned();
                    log.lock().unwrap().push(query.clone());
                    let page: usize = query_param(&query, "page").and_then(|p| p.parse().ok()).unwrap_or(1);
                    let per_page: usize = query_param(&query, "per_page")
                        .and_then(|p| p.parse().ok())
                        .unwrap_or(10)
                        .min(1);
                    let total_pages = orders.len().div_ceil(per_page);
                    let items: Vec<Value> = orders
                        .iter()
                        .skip((page - 1) * per_page)
                        .take(per_page)
                        .cloned()
                        .collect();
                    HttpResponse::Ok()
                        .insert_header(("x-wp-total", orders.len().to_string()))
                        .insert_header(("x-wp-totalpages", total_pages.to_string()))
                        .json(items)
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    tokio::spawn(server.run());
    (url, seen)
}

#[tokio::test]
async fn woocommerce_orders_page_by_total_pages_and_unmapped_skus_wait_in_pending_info() {
    let app = app().await;
    let orders = fixture("woocommerce/wc_v3_docs_list_orders.json")
        .as_array()
        .unwrap()
        .clone();
    let (url, seen) = woocommerce(orders).await;
    let account = setup(
        &app,
        "woocommerce",
        &url,
        json!({"consumer_key": "ck_test", "consumer_secret": "cs_secret"}),
    )
    .await;
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 2);
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "one page each (X-WP-TotalPages)"
    );
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 2);
    // Order 723's lines have no SKU and no mapping: it waits for a person,
    // with a finding per line, rather than being dropped.
    let waiting = orders.iter().find(|o| o["external_ref"] == "723").unwrap();
    assert_eq!(waiting["status"], "pending_info", "{waiting}");
    let findings = waiting["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["code"] == "unknown_sku"),
        "{findings:?}"
    );
    // Order 727: line 1 mapped (product 93, no variation), line 2 by its SKU.
    let mapped = orders.iter().find(|o| o["external_ref"] == "727").unwrap();
    let full = app
        .get(&format!("/api/v1/orders/{}", id(mapped)), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(full["lines"][0]["sku"], "WOO-93", "{full}");
    assert_eq!(full["lines"][1]["sku"], "Bar3");
    // Again: nothing new.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["created"], 0);
    assert_eq!(imported(&app).await.len(), 2);
}

#[tokio::test]
async fn concurrent_syncs_of_one_account_create_each_order_once() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = (1..=6).map(|n| shopify_order(n, n as u32, false)).collect();
    let account = shop_account(&app, &mock).await;
    let path = format!("/api/v1/connectors/{account}/sync");
    let (admin, empty) = (app.admin(), json!({}));
    let replies =
        futures_util::future::join_all((0..3).map(|_| app.post(&path, &admin, &empty))).await;
    let mut created = 0;
    for reply in &replies {
        match reply.status.as_u16() {
            200 => created += reply.body["created"].as_i64().unwrap(),
            409 => assert_eq!(reply.body["code"], "sync_in_progress"),
            other => panic!("{other}: {}", reply.body),
        }
    }
    assert_eq!(created, 6);
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 6);
}

#[tokio::test]
async fn two_processes_syncing_one_account_create_each_order_once() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = (1..=8).map(|n| shopify_order(n, n as u32, false)).collect();
    let account = shop_account(&app, &mock).await;
    // Two `dingdan sync` processes on the same database, off the runtime
    // that serves the mock shop.
    let process = |account: String, url: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_dingdan"))
                .args(["sync", "--account", &account])
                .env("DATABASE_URL", url)
                .env("DINGDAN_JWT_SECRET", dingdan_tests::TEST_SECRET)
                .env("DINGDAN_SECRET_KEY", KEY)
                .env("DINGDAN_LOG", "warn")
                .output()
                .expect("run dingdan sync")
        })
    };
    let (a, b) = tokio::join!(
        process(account.clone(), app.database.url.clone()),
        process(account.clone(), app.database.url.clone())
    );
    let outputs = [a.unwrap(), b.unwrap()];
    for output in &outputs {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success() || text.contains("another sync of this account is running"),
            "{text}"
        );
    }
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 8);
    let mut refs: Vec<&str> = orders
        .iter()
        .map(|o| o["external_ref"].as_str().unwrap())
        .collect();
    refs.dedup();
    assert_eq!(refs.len(), 8, "no order twice");
    // The account is free again.
    assert_eq!(sync(&app, &account, json!({})).await["created"], 0);
}

#[tokio::test]
async fn enabled_accounts_sync_on_their_interval_in_the_background() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = vec![shopify_order(1, 1, false)];
    let account = shop_account(&app, &mock).await;
    app.patch(
        &format!("/api/v1/connectors/{account}"),
        &app.admin(),
        &json!({"enabled": true, "sync_interval_seconds": 300}),
    )
    .await
    .expect(200);
    app.settle().await;
    assert_eq!(imported(&app).await.len(), 1);
    // Not due yet: nothing more is asked of the shop.
    let asked = mock.shop.lock().unwrap().requests.len();
    mock.shop
        .lock()
        .unwrap()
        .orders
        .push(shopify_order(2, 2, false));
    app.settle().await;
    assert_eq!(mock.shop.lock().unwrap().requests.len(), asked);
    // Five minutes later the next run brings the new order.
    app.db.advance_clock(std::time::Duration::from_secs(301));
    app.settle().await;
    assert_eq!(imported(&app).await.len(), 2);
    let runs = app
        .get(
            &format!("/api/v1/connectors/{account}/sync-runs"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert!(
        runs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["trigger"] == "schedule")
    );
}

/// Ships an approved imported order (the Shopify fixture's three lines, to
/// the US) whole: stock, allocation, picking, one package, UPS Ground.
async fn ship(app: &TestApp, order_id: &str, tracking_number: &str) {
    use reqwest::Method;
    // Stock, allocation, picking, one package, a carrier serving the US.
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
    let warehouse = id(&app
        .create_warehouse("WH-US", json!({"latitude": 38.2, "longitude": -85.7}))
        .await);
    for sku in ["IPOD-G", "IPOD-R", "IPOD2008BLACK"] {
        app.receive(&warehouse, sku, 1, json!({})).await.expect(201);
    }
    app.allocate_and_pick(order_id, &warehouse).await;
    app.post(
        &format!("/api/v1/orders/{order_id}/packages"),
        &app.admin(),
        &json!({"packages": [{"warehouse_id": warehouse, "packaging_type": "box", "weight_kg": "1.2",
            "length_cm": "20", "width_cm": "15", "height_cm": "10",
            "contents": [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}, {"line_no": 3, "quantity": 1}]}]}),
    )
    .await
    .expect(201);
    let carrier = id(&app
        .post(
            "/api/v1/carriers",
            &app.admin(),
            &json!({"code": "UPS", "name": "UPS"}),
        )
        .await
        .expect(201)
        .body);
    app.post(
        &format!("/api/v1/carriers/{carrier}/services"),
        &app.admin(),
        &json!({"code": "GND", "name": "Ground", "mode": "road", "currency": "USD",
            "terms": {"zones": [{"zone": "us", "country": "US"}],
                      "rates": [{"zone": "us", "transit_days": 3, "breaks": [{"up_to_kg": "30", "price": "12.00"}]}],
                      "cutoff": "17:00", "utc_offset": "-05:00"}}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/api/v1/orders/{order_id}/shipments"),
        &app.admin(),
        &json!({"tracking_number": tracking_number}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_shipment_of_an_imported_order_is_reported_back_to_shopify() {
    let app = app().await;
    let mock = shopify().await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders = vec![shopify_order(1, 1, false)];
        shop.fulfilment_outages = 1;
    }
    let account = shop_account(&app, &mock).await;
    sync(&app, &account, json!({})).await;
    let order = imported(&app).await.remove(0);
    let order = app.approve(order).await;
    let order_id = id(&order);

    ship(&app, &order_id, "1Z001985YW99744790").await;

    // The job reports it: the first try meets an outage and is retried.
    app.settle().await;
    assert!(mock.shop.lock().unwrap().fulfilments.is_empty());
    app.db.advance_clock(std::time::Duration::from_secs(10));
    app.settle().await;
    let sent = mock.shop.lock().unwrap().fulfilments.clone();
    assert_eq!(sent.len(), 1);
    let body = &sent[0]["fulfillment"];
    assert_eq!(body["tracking_info"]["number"], "1Z001985YW99744790");
    assert_eq!(body["tracking_info"]["company"], "UPS");
    assert_eq!(body["notify_customer"], true);
    let by_fo = &body["line_items_by_fulfillment_order"][0];
    assert_eq!(by_fo["fulfillment_order_id"], 1_046_000_823_u64);
    let items = by_fo["fulfillment_order_line_items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i["quantity"] == 1));
    assert_eq!(items[0]["id"], 1_058_737_560_u64);

    let timeline = app
        .get(
            &format!("/api/v1/orders/{order_id}/timeline?limit=200"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let types: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"marketplace.fulfilment_failed"),
        "{types:?}"
    );
    assert!(
        types.contains(&"marketplace.fulfilment_reported"),
        "{types:?}"
    );
}

pub(crate) fn hmac_base64(secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) async fn hook(
    app: &TestApp,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn signed_marketplace_webhooks_import_orders_once() {
    let app = app().await;
    let shop = setup(
        &app,
        "shopify",
        "https://shop.example.com",
        json!({"access_token": "shpat_test", "webhook_secret": "shop-hook-secret"}),
    )
    .await;
    let body = serde_json::to_vec(&fixture("shopify/api-js_2024-04_order_450789469.json")["order"])
        .unwrap();
    let path = format!("/api/v1/webhooks/marketplaces/shopify/{shop}");
    let signed = |secret: &str| {
        vec![
            ("x-shopify-hmac-sha256", hmac_base64(secret, &body)),
            ("x-shopify-topic", "orders/create".to_owned()),
            (
                "x-shopify-webhook-id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043".to_owned(),
            ),
        ]
    };
    let (status, reply) = hook(&app, &path, &signed("wrong"), &body).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["code"], "invalid_signature");
    // A paused account acknowledges its webhooks without applying them.
    let mut paused = signed("shop-hook-secret");
    paused[2].1 = "paused-delivery".to_owned();
    let (status, reply) = hook(&app, &path, &paused, &body).await;
    assert_eq!((status, reply["outcome"].as_str()), (200, Some("ignored")));
    assert!(imported(&app).await.is_empty(), "nothing imported");
    app.patch(
        &format!("/api/v1/connectors/{shop}"),
        &app.admin(),
        &json!({"enabled": true}),
    )
    .await
    .expect(200);
    let (status, reply) = hook(&app, &path, &signed("shop-hook-secret"), &body).await;
    assert_eq!((status, reply["outcome"].as_str()), (200, Some("applied")));
    let (status, reply) = hook(&app, &path, &signed("shop-hook-secret"), &body).await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (200, Some("duplicate"))
    );
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["external_ref"], "450789469");

    // WooCommerce: `X-WC-Webhook-Signature`, the order resource as body.
    let woo = app
        .post(
            "/api/v1/connectors",
            &app.admin(),
            &json!({"platform": "woocommerce", "name": "woo", "base_url": "https://woo.example.com",
                    "credentials": {"consumer_key": "ck", "consumer_secret": "cs", "webhook_secret": "woo-secret"},
                    "customer_id": orders[0]["customer_id"], "enabled": true,
                    "sku_map": [{"variant_id": "93", "sku": "WOO-93"}]}),
        )
        .await
        .expect(201)
        .body;
    let body = serde_json::to_vec(&fixture("woocommerce/wc_v3_docs_retrieve_order.json")).unwrap();
    let (status, reply) = hook(
        &app,
        &format!("/api/v1/webhooks/marketplaces/woocommerce/{}", id(&woo)),
        &[
            ("x-wc-webhook-signature", hmac_base64("woo-secret", &body)),
            ("x-wc-webhook-topic", "order.created".to_owned()),
            ("x-wc-webhook-delivery-id", "9041".to_owned()),
        ],
        &body,
    )
    .await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (200, Some("applied")),
        "{reply}"
    );
    assert_eq!(imported(&app).await.len(), 2);
    // Another platform's path for the account: not found.
    let (status, _) = hook(
        &app,
        &format!("/api/v1/webhooks/marketplaces/woocommerce/{shop}"),
        &[],
        &body,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_sync_command_backfills_with_a_summary() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = (1..=3).map(|n| shopify_order(n, n as u32, false)).collect();
    let account = shop_account(&app, &mock).await;
    // The command runs off the test's runtime, which serves the mock shop.
    let run = |args: Vec<String>, url: String| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_dingdan"))
                .args(args)
                .env("DATABASE_URL", url)
                .env("DINGDAN_JWT_SECRET", dingdan_tests::TEST_SECRET)
                .env("DINGDAN_SECRET_KEY", KEY)
                .env("DINGDAN_LOG", "warn")
                .output()
                .expect("run dingdan sync")
        })
    };
    let args = ["sync", "--account", &account, "--since", "2026-01-01"];
    let output = run(
        args.iter().map(|s| s.to_string()).collect(),
        app.database.url.clone(),
    )
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("sync succeeded: fetched 3, created 3, updated 0, skipped 0, failed 0"),
        "{stdout}"
    );
    assert!(
        query_param(&mock.shop.lock().unwrap().requests[0], "updated_at_min")
            .is_some_and(|s| s.starts_with("2026-01-01T00:00:00")),
    );
    assert_eq!(imported(&app).await.len(), 3);
    // A bad account id fails plainly.
    let output = run(
        vec!["sync".into(), "--account".into(), "not-a-uuid".into()],
        app.database.url.clone(),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
}

#[tokio::test]
async fn graphql_manages_and_syncs_connectors_like_rest() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = vec![shopify_order(1, 1, false)];
    let customer = id(&app.create_customer("GQL", json!({"currency": "USD"})).await);
    let created = app
        .graphql(
            Some(&app.admin()),
            "mutation($input: JSON!) { createConnector(input: $input) { id platform credentialNames enabled } }",
            json!({"input": {"platform": "shopify", "name": "gql", "base_url": mock.url,
                   "credentials": {"access_token": "shpat_test"}, "customer_id": customer,
                   "enabled": false}}),
        )
        .await;
    assert!(created.body["errors"].is_null(), "{}", created.body);
    let account = created.body["data"]["createConnector"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        created.body["data"]["createConnector"]["credentialNames"],
        json!(["access_token"])
    );
    let synced = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: UUID!) { syncConnector(id: $id) { status fetched created } }",
            json!({"id": account}),
        )
        .await;
    assert_eq!(
        synced.body["data"]["syncConnector"],
        json!({"status": "succeeded", "fetched": 1, "created": 1}),
        "{}",
        synced.body
    );
    let runs = app
        .graphql(
            Some(&app.token(&[Role::Sales])),
            "query($id: UUID!) { connectorSyncRuns(id: $id) { status } }",
            json!({"id": account}),
        )
        .await;
    assert_eq!(runs.body["errors"][0]["extensions"]["code"], "forbidden");
}

/// A TOP gateway: signed form calls (MD5, checked with the app secret),
/// `taobao.trades.sold.increment.get` counting and paging a window (newest
/// first), `taobao.trade.fullinfo.get` for trades listed without lines.
async fn taobao(trades: Vec<Value>) -> (String, Arc<Mutex<Vec<String>>>) {
    use dingdan_integrations::marketplaces::taobao::{SignMethod, sign};
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = calls.clone();
    let trades = Arc::new(trades);
    let server = HttpServer::new(move || {
        let (trades, log) = (trades.clone(), log.clone());
        App::new().route(
            "/router/rest",
            web::post().to(move |body: web::Bytes| {
                let (trades, log) = (trades.clone(), log.clone());
                async move {
                    let params: std::collections::BTreeMap<String, String> =
                        form_urlencoded::parse(&body).into_owned().collect();
                    let mut unsigned = params.clone();
                    let given = unsigned.remove("sign").unwrap_or_default();
                    if params.get("app_key").map(String::as_str) != Some("12345678")
                        || given != sign(&unsigned, "top-secret", SignMethod::Md5)
                    {
                        return HttpResponse::Ok().json(json!({"error_response": {
                            "code": 25, "msg": "Invalid signature", "sub_code": "isv.invalid-signature"}}));
                    }
                    let method = params["method"].clone();
                    log.lock().unwrap().push(method.clone());
                    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
                    let time = |s: &str| {
                        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                            .unwrap()
                            .and_local_timezone(china)
                            .unwrap()
                    };
                    match method.as_str() {
                        "taobao.trades.sold.increment.get" => {
                            let (start, end) = (time(&params["start_modified"]), time(&params["end_modified"]));
                            let mut window: Vec<Value> = trades
                                .iter()
                                .filter(|t| {
                                    let m = time(t["modified"].as_str().unwrap());
                                    m >= start && m < end
                                })
                                .map(|t| {
                                    // Listed without lines: details come from fullinfo.
                                    let mut t = t.clone();
                                    t.as_object_mut().unwrap().remove("orders");
                                    t
                                })
                                .collect();
                            window.reverse();
                            let size: usize = params["page_size"].parse().unwrap();
                            let page: usize = params["page_no"].parse().unwrap();
                            let items: Vec<Value> =
                                window.iter().skip((page - 1) * size).take(size).cloned().collect();
                            HttpResponse::Ok().json(json!({"trades_sold_increment_get_response": {
                                "total_results": window.len(), "has_next": page * size < window.len(),
                                "trades": {"trade": items}}}))
                        }
                        "taobao.trade.fullinfo.get" => {
                            let trade = trades
                                .iter()
                                .find(|t| t["tid"].as_u64().map(|n| n.to_string()).as_deref() == Some(params["tid"].as_str()))
                                .cloned()
                                .unwrap_or(Value::Null);
                            HttpResponse::Ok().json(json!({"trade_fullinfo_get_response": {"trade": trade}}))
                        }
                        _ => HttpResponse::Ok().json(json!({"error_response": {
                            "code": 22, "msg": "Invalid method"}})),
                    }
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    tokio::spawn(server.run());
    (url, calls)
}

fn taobao_trade(tid: u64, status: &str, hours_ago: i64) -> Value {
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let at = (chrono::Utc::now() - chrono::Duration::hours(hours_ago))
        .with_timezone(&china)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    json!({"tid": tid, "status": status, "created": at, "modified": at, "buyer_nick": "tb_buyer",
           "receiver_name": "张伟", "receiver_mobile": "13800000000", "receiver_state": "浙江省",
           "receiver_city": "杭州市", "receiver_district": "西湖区", "receiver_address": "文三路 100 号",
           "receiver_zip": "310000", "payment": "398.00", "buyer_message": "请尽快发货",
           "orders": {"order": [{"oid": tid * 10 + 1, "outer_sku_id": "TEA-LONGJING", "sku_id": "4001",
                                 "num_iid": 5001, "title": "西湖龙井", "num": 2, "price": "199.00"}]}})
}

#[tokio::test]
async fn taobao_trades_are_pulled_in_windows_with_signed_calls() {
    let app = app().await;
    app.create_product("TEA-LONGJING", json!({"list_price": "199.00"}))
        .await;
    let customer = id(&app
        .create_customer("TB", json!({"credit_limit": "1000000.00"}))
        .await);
    let (url, calls) = taobao(vec![
        taobao_trade(3_000_001, "WAIT_SELLER_SEND_GOODS", 5),
        taobao_trade(3_000_002, "WAIT_SELLER_SEND_GOODS", 4),
        taobao_trade(3_000_003, "TRADE_CLOSED_BY_TAOBAO", 3),
    ])
    .await;
    let account = app
        .post(
            "/api/v1/connectors",
            &app.admin(),
            &json!({"platform": "taobao", "name": "天猫旗舰店", "base_url": url,
                    "credentials": {"app_key": "12345678", "app_secret": "top-secret", "session": "6100e"},
                    "customer_id": customer, "enabled": false}),
        )
        .await
        .expect(201)
        .body;
    let since = (chrono::Utc::now() - chrono::Duration::hours(20)).to_rfc3339();
    let run = sync(&app, &id(&account), json!({"since": since})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 2, "{run}");
    assert_eq!(run["skipped"], 1, "the closed trade is not imported");
    let calls = calls.lock().unwrap().clone();
    assert!(
        calls.iter().any(|m| m == "taobao.trade.fullinfo.get"),
        "{calls:?}"
    );
    let orders = imported(&app).await;
    assert_eq!(orders.len(), 2);
    let full = app
        .get(&format!("/api/v1/orders/{}", id(&orders[0])), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(full["external_ref"], "3000001");
    assert_eq!(full["currency"], "CNY");
    assert_eq!(full["ship_to"]["city"], "杭州市");
    assert_eq!(full["ship_to"]["country"], "CN");
    assert_eq!(full["lines"][0]["sku"], "TEA-LONGJING");
    assert_eq!(full["lines"][0]["quantity"], 2);
    assert_eq!(full["special_instructions"], "请尽快发货");

    // A wrong secret: TOP refuses the signature; the run says so.
    app.patch(
        &format!("/api/v1/connectors/{}", id(&account)),
        &app.admin(),
        &json!({"credentials": {"app_key": "12345678", "app_secret": "wrong", "session": "6100e"}}),
    )
    .await
    .expect(200);
    let run = sync(&app, &id(&account), json!({"since": since})).await;
    assert_eq!(run["status"], "failed");
    assert!(
        run["error"].as_str().unwrap().contains("credentials"),
        "{run}"
    );
}

/// An order's timeline events, oldest first.
pub(crate) async fn timeline(app: &TestApp, order_id: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/orders/{order_id}/timeline?limit=200"),
        &app.admin(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn an_expired_page_token_restarts_the_run_and_an_unreadable_order_is_named_not_fatal() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = (1..=2).map(|n| shopify_order(n, n as u32, false)).collect();
    let account = shop_account(&app, &mock).await;
    sync(&app, &account, json!({})).await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders
            .extend((3..=5).map(|n| shopify_order(n, n as u32, false)));
        // Order 6 cannot be read (its lines are not a list).
        let mut broken = shopify_order(6, 6, false);
        broken["line_items"] = json!("garbage");
        shop.orders.push(broken);
        shop.fail_at_offset = Some(2);
    }
    // The next run stops at its second page, the page token stored.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["created"], 1, "{run}");
    // By the next run the token has expired: the run starts again from the
    // high-water mark instead of failing forever.
    let before = {
        let mut shop = mock.shop.lock().unwrap();
        shop.expire_next_token = true;
        shop.requests.len()
    };
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 2, "{run}");
    assert_eq!(run["failed"], 1, "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(error.contains("page token"), "{error}");
    assert!(
        error.contains("450789006"),
        "the unreadable order is named: {error}"
    );
    assert_eq!(imported(&app).await.len(), 5, "each readable order once");
    let requests = mock.shop.lock().unwrap().requests.clone();
    assert!(
        requests[before].contains("page_info")
            && requests[before + 1].contains("updated_at_min")
            && !requests[before + 1].contains("page_info"),
        "the stored token, refused, then the high-water mark: {requests:?}"
    );
}

/// The customer an order is for.
async fn customer_of(app: &TestApp, order: &Value) -> Value {
    let customer = order["customer_id"].as_str().unwrap();
    app.get(&format!("/api/v1/customers/{customer}"), &app.admin())
        .await
        .expect(200)
        .body
}

async fn customer_count(app: &TestApp) -> usize {
    app.get("/api/v1/customers?limit=200", &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn per_buyer_accounts_make_each_buyer_a_customer_once() {
    let app = app().await;
    let mock = shopify().await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders = (1..=3).map(|n| shopify_order(n, n as u32, false)).collect();
        // Orders 1 and 2 are Bob's (the fixture's customer); 3 is Alice's.
        shop.orders[2]["customer"]["id"] = json!(207_119_999);
        shop.orders[2]["customer"]["first_name"] = json!("Alice");
        shop.orders[2]["customer"]["email"] = json!("alice@mail.example.com");
        shop.orders[2]["email"] = json!("alice@mail.example.com");
        // Order 4's buyer is anonymous (a guest without email or phone).
        let mut guest = shopify_order(4, 4, false);
        guest["customer"] = Value::Null;
        guest["email"] = Value::Null;
        guest["contact_email"] = Value::Null;
        guest["phone"] = Value::Null;
        shop.orders.push(guest);
    }
    // Per-buyer accounts need no customer of their own.
    let account = setup_with(
        &app,
        "shopify",
        &mock.url,
        json!({"access_token": "shpat_test"}),
        json!({"customer_mode": "per_buyer", "customer_id": null}),
    )
    .await;
    let customers_before = customer_count(&app).await;
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["created"], 4, "{run}");
    let orders = imported(&app).await;
    assert_eq!(orders[0]["customer_id"], orders[1]["customer_id"]);
    assert_ne!(orders[0]["customer_id"], orders[2]["customer_id"]);
    let guests = customer_of(&app, &orders[3]).await;
    assert_eq!(guests["name"], "shopify store anonymous buyers", "{guests}");
    let alice = customer_of(&app, &orders[2]).await;
    assert!(alice["name"].as_str().unwrap().contains("Alice"), "{alice}");
    assert_eq!(alice["contacts"][0]["email"], "alice@mail.example.com");
    assert_eq!(alice["payment_terms_days"], 0, "paid on the platform");
    // A backfill fetches them again: no new customers, no new orders.
    sync(&app, &account, json!({"since": "2026-01-01T00:00:00Z"})).await;
    let customers_after = customer_count(&app).await;
    assert_eq!(customers_after, customers_before + 3);
    assert_eq!(imported(&app).await.len(), 4);
}

#[tokio::test]
async fn platform_changes_are_applied_until_shipment_then_flagged_for_a_person() {
    let app = app().await;
    let mock = shopify().await;
    mock.shop.lock().unwrap().orders = vec![shopify_order(1, 1, false)];
    let account = shop_account(&app, &mock).await;
    sync(&app, &account, json!({})).await;
    let order = app.approve(imported(&app).await.remove(0)).await;
    let order_id = id(&order);

    // Approved, not shipped: the buyer's new address is applied.
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders[0]["shipping_address"]["address1"] = json!("Main Street 1");
        shop.orders[0]["updated_at"] = json!("2026-11-20T10:00:00-05:00");
    }
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["updated"], 1, "{run}");
    let current = app
        .get(&format!("/api/v1/orders/{order_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(current["ship_to"]["line1"], "Main Street 1", "{current}");
    assert_eq!(current["status"], "approved");

    // Shipped, then cancelled on the platform: the order stays shipped and
    // a person is asked to decide.
    ship(&app, &order_id, "1Z001985YW99744790").await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders[0]["cancelled_at"] = json!("2026-11-20T11:00:00-05:00");
        shop.orders[0]["updated_at"] = json!("2026-11-20T11:00:00-05:00");
    }
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["updated"], 1, "{run}");
    let current = app
        .get(&format!("/api/v1/orders/{order_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(current["status"], "shipped");
    let events = timeline(&app, &order_id).await;
    let flag = events
        .iter()
        .find(|e| e["type"] == "marketplace.attention_required")
        .expect("flagged on the timeline");
    assert_eq!(flag["data"]["reason"], "cancelled_after_shipment", "{flag}");
    assert_eq!(flag["data"]["external_id"], "450789001");
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "order.updated" && e["data"]["changes"]["ship_to"].is_object()),
        "the address change is on the timeline"
    );
    // Changed again on the platform (a later edit, the same address): the
    // address the platform gave is unchanged, and the cancellation was
    // flagged already — nothing new, flagged once.
    mock.shop.lock().unwrap().orders[0]["updated_at"] = json!("2026-11-20T12:00:00-05:00");
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(
        (run["updated"].as_i64(), run["skipped"].as_i64()),
        (Some(0), Some(1)),
        "{run}"
    );
    let flags = timeline(&app, &order_id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "marketplace.attention_required")
        .count();
    assert_eq!(flags, 1);
}

#[tokio::test]
async fn an_accounts_preferred_warehouse_serves_its_orders() {
    use reqwest::Method;
    let app = app().await;
    let mock = shopify().await;
    {
        // Bound for Hangzhou.
        let mut order = shopify_order(1, 1, false);
        let to = &mut order["shipping_address"];
        to["country_code"] = json!("CN");
        to["province"] = json!("ZJ");
        to["city"] = json!("Hangzhou");
        to["zip"] = json!("310000");
        mock.shop.lock().unwrap().orders = vec![order];
    }
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
    // WH-A is in Hangzhou; WH-Z, in Harbin, is the one the account prefers
    // (and its code sorts last, so no tie-break favours it).
    let near = id(&app
        .create_warehouse(
            "WH-A",
            json!({"region": "ZJ", "latitude": 30.27, "longitude": 120.15}),
        )
        .await);
    let far = id(&app
        .create_warehouse(
            "WH-Z",
            json!({"region": "HL", "latitude": 45.8, "longitude": 126.5}),
        )
        .await);
    let account = setup_with(
        &app,
        "shopify",
        &mock.url,
        json!({"access_token": "shpat_test"}),
        json!({"warehouse_preferences": [far]}),
    )
    .await;
    for warehouse in [&near, &far] {
        for sku in ["IPOD-G", "IPOD-R", "IPOD2008BLACK"] {
            app.receive(warehouse, sku, 5, json!({})).await.expect(201);
        }
    }
    sync(&app, &account, json!({})).await;
    let order = app.approve(imported(&app).await.remove(0)).await;
    let allocation = app
        .post(
            &format!("/api/v1/orders/{}/allocation", id(&order)),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    let reservations = allocation["reservations"].as_array().unwrap();
    assert_eq!(reservations.len(), 3, "{allocation}");
    assert!(
        reservations
            .iter()
            .all(|r| r["warehouse_id"] == far.as_str()),
        "the account prefers WH-Z over the nearer WH-A: {allocation}"
    );
    // Distance alone would have chosen WH-A: the preference decided.
    let candidates = allocation["plan"]["candidates"].as_array().unwrap();
    let distance = |code: &str| {
        candidates.iter().find(|c| c["code"] == code).unwrap()["distance_km"]
            .as_f64()
            .unwrap()
    };
    assert!(distance("WH-A") < distance("WH-Z"), "{candidates:?}");
    assert_eq!(candidates[0]["code"], "WH-Z", "{candidates:?}");
}

#[tokio::test]
async fn accounts_change_address_mode_and_carriers_and_refuse_plain_http() {
    let app = app().await;
    let admin = app.admin();
    let customer = id(&app.create_customer("C-HTTP", json!({})).await);
    // Credentials travel with every call: no plain http, and no internal
    // address unless DINGDAN_CONNECTOR_ALLOWED_NETWORKS names it.
    for (url, code) in [
        ("http://shop.example.com", "insecure"),
        ("https://10.0.0.5", "forbidden_address"),
        ("https://[::1]:8443", "forbidden_address"),
        ("https://169.254.169.254", "forbidden_address"),
    ] {
        let refused = app
            .post(
                "/api/v1/connectors",
                &admin,
                &json!({"platform": "shopify", "name": "S", "base_url": url,
                        "credentials": {"access_token": "x"}, "customer_id": customer}),
            )
            .await
            .expect_problem(422, "validation_failed")
            .body;
        assert_eq!(refused["errors"][0]["code"], code, "{url}: {refused}");
    }
    let account = id(&app
        .post(
            "/api/v1/connectors",
            &admin,
            &json!({"platform": "taobao", "name": "T", "base_url": "https://eco.taobao.com",
                    "credentials": {"app_key": "k", "app_secret": "s", "session": "x"},
                    "customer_id": customer, "enabled": false}),
        )
        .await
        .expect(201)
        .body);
    let changed = app
        .patch(
            &format!("/api/v1/connectors/{account}"),
            &admin,
            &json!({"base_url": "https://gw.api.taobao.com", "customer_mode": "per_buyer",
                    "credentials": {"app_key": "k", "app_secret": "s2", "session": "x"},
                    "carrier_map": {"SF-EXPRESS": "SF", "ZTO": "ZTO"}}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(changed["base_url"], "https://gw.api.taobao.com");
    assert_eq!(changed["customer_mode"], "per_buyer");
    assert_eq!(changed["carrier_map"]["SF-EXPRESS"], "SF");
    assert_eq!(changed["version"], 2);
    app.patch(
        &format!("/api/v1/connectors/{account}"),
        &admin,
        &json!({"base_url": "http://gw.api.taobao.com",
                "credentials": {"app_key": "k", "app_secret": "s2", "session": "x"}}),
    )
    .await
    .expect_problem(422, "validation_failed");
    // The stored credentials never go to a new address.
    let refused = app
        .patch(
            &format!("/api/v1/connectors/{account}"),
            &admin,
            &json!({"base_url": "https://evil.example.com"}),
        )
        .await
        .expect_problem(422, "validation_failed")
        .body;
    assert_eq!(refused["errors"][0]["path"], "credentials", "{refused}");
    let unchanged = app
        .get(&format!("/api/v1/connectors/{account}"), &admin)
        .await
        .expect(200)
        .body;
    assert_eq!(unchanged["base_url"], "https://gw.api.taobao.com");
    assert_eq!(unchanged["carrier_map"]["ZTO"], "ZTO");
}

/// How many times a person was asked to look at the order.
async fn attention_flags(app: &TestApp, order_id: &str) -> usize {
    timeline(app, order_id)
        .await
        .into_iter()
        .filter(|e| e["type"] == "marketplace.attention_required")
        .count()
}

#[tokio::test]
async fn a_persons_address_correction_survives_later_platform_updates() {
    let app = app().await;
    let mock = shopify().await;
    {
        // The platform gives no postal code: the order waits for one.
        let mut order = shopify_order(1, 1, false);
        order["shipping_address"]["zip"] = Value::Null;
        mock.shop.lock().unwrap().orders = vec![order];
    }
    let account = shop_account(&app, &mock).await;
    sync(&app, &account, json!({})).await;
    let listed = imported(&app).await.remove(0);
    assert_eq!(listed["status"], "pending_info", "{listed}");
    let order_id = id(&listed);
    let current = app
        .get(&format!("/api/v1/orders/{order_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    let mut ship_to = current["ship_to"].clone();
    ship_to["postal_code"] = json!("40202");
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/orders/{order_id}")))
        .bearer_auth(app.admin())
        .header("if-match", format!("\"{}\"", current["version"]))
        .json(&json!({"ship_to": ship_to}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    // The platform touches the order (its address as before): the
    // correction stays.
    mock.shop.lock().unwrap().orders[0]["updated_at"] = json!("2026-11-20T09:00:00-05:00");
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["skipped"], 1, "{run}");
    let after = app
        .get(&format!("/api/v1/orders/{order_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(after["ship_to"]["postal_code"], "40202", "{after}");
    assert_ne!(after["status"], "pending_info");

    // The buyer then moves (without a postal code again) after approval:
    // not applied — the new address lacks what the old one has — and a
    // person is asked to complete it.
    let order = app.approve(after).await;
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders[0]["shipping_address"]["address1"] = json!("Main Street 1");
        shop.orders[0]["updated_at"] = json!("2026-11-20T10:00:00-05:00");
    }
    sync(&app, &account, json!({})).await;
    let after = app
        .get(&format!("/api/v1/orders/{}", id(&order)), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(after["ship_to"]["line1"], "Chestnut Street 92");
    let flag = timeline(&app, &order_id)
        .await
        .into_iter()
        .find(|e| e["type"] == "marketplace.attention_required")
        .expect("flagged");
    assert_eq!(
        flag["data"]["reason"], "address_change_incomplete",
        "{flag}"
    );
    assert!(
        flag["data"]["detail"]
            .as_str()
            .unwrap()
            .contains("postal_code"),
        "{flag}"
    );
    // Touched again with the same address: raised once. Moved again: a new
    // address, raised again.
    mock.shop.lock().unwrap().orders[0]["updated_at"] = json!("2026-11-20T11:00:00-05:00");
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["updated"], 0, "{run}");
    assert_eq!(attention_flags(&app, &order_id).await, 1);
    {
        let mut shop = mock.shop.lock().unwrap();
        shop.orders[0]["shipping_address"]["address1"] = json!("Elm Street 7");
        shop.orders[0]["updated_at"] = json!("2026-11-20T12:00:00-05:00");
    }
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["updated"], 1, "{run}");
    assert_eq!(attention_flags(&app, &order_id).await, 2);
}
