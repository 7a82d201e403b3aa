//! The WooCommerce, JD and Taobao connectors end to end, against local
//! servers that behave like the platforms: WooCommerce's REST API (Basic
//! auth, `modified_after` in GMT, newest first, `X-WP-TotalPages`, 429 and
//! 500 answers, order notes), JD's `routerjson` gateway and Taobao's TOP
//! router (signed form calls checked with the integrations crate's own
//! signing functions, windows searched by modification time, the platforms'
//! error bodies). Each test drives Dingdan over HTTP as a user does, then
//! checks what the user sees and what the platform was sent.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Utc};
use dingdan_tests::{TestApp, merge};
use reqwest::Method;
use serde_json::{Value, json};

use super::connectors::{
    app, fixture, hmac_base64, hook, id, imported, query_param, sync, timeline,
};

// ---------------------------------------------------------------------------
// Dingdan, as a user drives it.

/// Registers a connector account; returns its id.
async fn connector(app: &TestApp, body: &Value) -> String {
    id(&app
        .post("/api/v1/connectors", &app.admin(), body)
        .await
        .expect(201)
        .body)
}

/// An account's sync runs, newest first.
async fn sync_runs(app: &TestApp, account: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/connectors/{account}/sync-runs"),
        &app.admin(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn statuses(runs: &[Value]) -> Vec<&str> {
    runs.iter()
        .map(|r| r["status"].as_str().unwrap_or_default())
        .collect()
}

fn refs(orders: &[Value]) -> Vec<&str> {
    orders
        .iter()
        .map(|o| o["external_ref"].as_str().unwrap_or_default())
        .collect()
}

async fn order(app: &TestApp, order_id: &str) -> Value {
    app.get(&format!("/api/v1/orders/{order_id}"), &app.admin())
        .await
        .expect(200)
        .body
}

/// The events of one type.
fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// Readies an imported order for shipping the way the warehouse does:
/// approved, `stock` received in a new warehouse, allocated, picked in full,
/// packed one box per entry of `packages` (`(line_no, quantity)`s), with
/// `carrier` the only carrier serving `country` (so the engine picks it).
/// Returns the order id and the package ids.
async fn ready_to_ship(
    app: &TestApp,
    order: Value,
    stock: &[(&str, i64)],
    packages: &[&[(u32, i64)]],
    carrier: &str,
    country: &str,
) -> (String, Vec<String>) {
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
    let order_id = id(&app.approve(order).await);
    let (currency, utc_offset, place) = if country == "US" {
        (
            "USD",
            "-05:00",
            json!({"latitude": 38.2, "longitude": -85.7}),
        )
    } else {
        ("CNY", "+08:00", json!({}))
    };
    let warehouse = id(&app.create_warehouse("WH-1", place).await);
    for (sku, quantity) in stock {
        app.receive(&warehouse, sku, *quantity, json!({}))
            .await
            .expect(201);
    }
    app.allocate_and_pick(&order_id, &warehouse).await;
    let boxes: Vec<Value> = packages
        .iter()
        .map(|contents| {
            json!({"warehouse_id": warehouse, "packaging_type": "box", "weight_kg": "1.2",
                   "length_cm": "20", "width_cm": "15", "height_cm": "10",
                   "contents": contents.iter().map(|(line, quantity)| json!({"line_no": line, "quantity": quantity})).collect::<Vec<_>>()})
        })
        .collect();
    let packed = app
        .post(
            &format!("/api/v1/orders/{order_id}/packages"),
            &app.admin(),
            &json!({"packages": boxes}),
        )
        .await
        .expect(201)
        .body;
    let package_ids = packed["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let carrier_id = id(&app
        .post(
            "/api/v1/carriers",
            &app.admin(),
            &json!({"code": carrier, "name": carrier}),
        )
        .await
        .expect(201)
        .body);
    app.post(
        &format!("/api/v1/carriers/{carrier_id}/services"),
        &app.admin(),
        &json!({"code": "STD", "name": "Standard", "mode": "road", "currency": currency,
            "terms": {"zones": [{"zone": "all", "country": country}],
                      "rates": [{"zone": "all", "transit_days": 3, "breaks": [{"up_to_kg": "30", "price": "12.00"}]}],
                      "cutoff": "17:00", "utc_offset": utc_offset}}),
    )
    .await
    .expect(201);
    (order_id, package_ids)
}

/// Ships packages of an order (every unshipped one when `packages` is empty).
async fn ship(app: &TestApp, order_id: &str, packages: &[String], tracking: &str) {
    app.post(
        &format!("/api/v1/orders/{order_id}/shipments"),
        &app.admin(),
        &json!({"package_ids": packages, "tracking_number": tracking}),
    )
    .await
    .expect(201);
}

/// JD gives no postal code, so a JD order waits in `pending_info`: an
/// operator completes the address (an ordinary PATCH with If-Match) and the
/// order goes on to review. Returns the order as it then is.
async fn complete_address(app: &TestApp, listed: Value, postal_code: &str) -> Value {
    let current = order(app, &id(&listed)).await;
    if current["status"] != "pending_info" {
        return current;
    }
    let mut ship_to = current["ship_to"].clone();
    ship_to["postal_code"] = json!(postal_code);
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/orders/{}", id(&current))))
        .bearer_auth(app.admin())
        .header("if-match", format!("\"{}\"", current["version"]))
        .json(&json!({"ship_to": ship_to}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

// ---------------------------------------------------------------------------
// The platforms.

/// A platform's state behind a lock: what it holds and what it was sent.
type Shared<T> = web::Data<Mutex<T>>;

struct Mock<T> {
    state: Arc<Mutex<T>>,
    url: String,
}

impl<T> Mock<T> {
    /// What the platform holds and saw (keep the guard out of `.await`s).
    fn state(&self) -> MutexGuard<'_, T> {
        self.state.lock().unwrap()
    }
}

/// Serves `routes` over `state` on a free local port.
fn mock<T: Send + 'static>(state: T, routes: fn(&mut web::ServiceConfig)) -> Mock<T> {
    let state = Arc::new(Mutex::new(state));
    let data = web::Data::from(state.clone());
    let server = HttpServer::new(move || App::new().app_data(data.clone()).configure(routes))
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
    let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
    tokio::spawn(server.run());
    Mock { state, url }
}

/// `yyyy-MM-dd HH:mm:ss`, the layout of TOP's and JD's times (GMT+8).
const CHINA_TIME: &str = "%Y-%m-%d %H:%M:%S";

fn china_zone() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap()
}

/// A time as TOP and JD write it.
fn china(time: DateTime<Utc>) -> String {
    time.with_timezone(&china_zone())
        .format(CHINA_TIME)
        .to_string()
}

fn parse_china(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, CHINA_TIME)
        .ok()?
        .and_local_timezone(china_zone())
        .single()
        .map(|time| time.with_timezone(&Utc))
}

// WooCommerce ---------------------------------------------------------------

/// A WooCommerce store as its REST API shows it, and what it was sent.
#[derive(Default)]
struct Store {
    /// Every order, as `GET /orders/{id}` returns it.
    orders: Vec<Value>,
    /// The most orders a listing page holds (WooCommerce allows 100; a
    /// smaller cap makes pages out of a few orders).
    max_per_page: usize,
    /// The next this many listing requests answer 429 (`Retry-After: 0`).
    rate_limited: u32,
    /// The listing request for this page answers 500, once.
    fail_page: Option<usize>,
    /// The query string of every listing request, in order.
    listings: Vec<String>,
    /// Requests refused for want of the store's API keys.
    refused: u32,
    /// Each order's notes, oldest first.
    notes: BTreeMap<u64, Vec<Value>>,
    /// `GET /orders/{id}/notes` requests.
    note_reads: u32,
    /// Bodies POSTed to `/orders/{id}/notes`, with the order id.
    posted_notes: Vec<(u64, Value)>,
    /// Bodies PUT to `/orders/{id}` (failed attempts included), with the order id.
    updates: Vec<(u64, Value)>,
    /// The next this many `PUT /orders/{id}` answer 500.
    update_failures: u32,
}

fn woocommerce(orders: Vec<Value>) -> Mock<Store> {
    mock(
        Store {
            orders,
            max_per_page: 100,
            ..Store::default()
        },
        |routes| {
            routes
                .route("/wp-json/wc/v3/orders", web::get().to(woo_list))
                .service(
                    web::resource("/wp-json/wc/v3/orders/{id}")
                        .route(web::get().to(woo_get))
                        .route(web::put().to(woo_put)),
                )
                .service(
                    web::resource("/wp-json/wc/v3/orders/{id}/notes")
                        .route(web::get().to(woo_notes))
                        .route(web::post().to(woo_add_note)),
                );
        },
    )
}

/// The documentation's order 727 as order `id`, created and last modified
/// at GMT times written as WooCommerce writes them (`YYYY-MM-DDTHH:MM:SS`,
/// no offset; the store's own zone is GMT too).
fn woo_order(id: u64, created: &str, modified: &str) -> Value {
    let mut order = fixture("woocommerce/wc_v3_docs_retrieve_order.json");
    order["id"] = json!(id);
    order["number"] = json!(id.to_string());
    order["date_created"] = json!(created);
    order["date_created_gmt"] = json!(created);
    order["date_modified"] = json!(modified);
    order["date_modified_gmt"] = json!(modified);
    order
}

fn woo_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").ok()
}

fn woo_error(status: u16, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .json(json!({"code": code, "message": message, "data": {"status": status}}))
}

/// Whether the request carries the store's keys (`ck_test:cs_secret`).
fn woo_authorised(req: &HttpRequest) -> bool {
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("ck_test:cs_secret")
    );
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
}

fn woo_refused(store: &mut Store) -> HttpResponse {
    store.refused += 1;
    woo_error(
        401,
        "woocommerce_rest_cannot_view",
        "Sorry, you cannot list resources.",
    )
}

fn woo_position(store: &Store, id: &str) -> Option<usize> {
    let id: u64 = id.parse().ok()?;
    store
        .orders
        .iter()
        .position(|o| o["id"].as_u64() == Some(id))
}

fn woo_no_such_order() -> HttpResponse {
    woo_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
}

/// `GET /orders`: modified strictly after `modified_after` (GMT), sorted by
/// `orderby` (`date` = created, the default, or `modified`) in `order`
/// (`desc` by default), paged by `page` / `per_page`.
async fn woo_list(req: HttpRequest, store: Shared<Store>) -> HttpResponse {
    let mut store = store.lock().unwrap();
    if !woo_authorised(&req) {
        return woo_refused(&mut store);
    }
    let query = req.query_string().to_owned();
    store.listings.push(query.clone());
    if store.rate_limited > 0 {
        store.rate_limited -= 1;
        return HttpResponse::TooManyRequests()
            .insert_header(("retry-after", "0"))
            .json(json!({"code": "woocommerce_rest_too_many_requests",
                         "message": "Too many requests.", "data": {"status": 429}}));
    }
    let page: usize = query_param(&query, "page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    if store.fail_page == Some(page) {
        store.fail_page = None;
        return woo_error(
            500,
            "internal_server_error",
            "There has been a critical error on this website.",
        );
    }
    let after = match query_param(&query, "modified_after") {
        None => None,
        Some(text) => match woo_time(&text) {
            Some(time) => Some(time),
            None => {
                return woo_error(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): modified_after",
                );
            }
        },
    };
    let per_page = query_param(&query, "per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(10_usize)
        .min(store.max_per_page)
        .max(1);
    let sort_field = match query_param(&query, "orderby").as_deref() {
        Some("modified") => "date_modified_gmt",
        _ => "date_created_gmt",
    };
    let mut matching: Vec<Value> = store
        .orders
        .iter()
        .filter(|o| {
            after.is_none_or(|after| {
                o["date_modified_gmt"]
                    .as_str()
                    .and_then(woo_time)
                    .is_some_and(|modified| modified > after)
            })
        })
        .cloned()
        .collect();
    matching.sort_by_key(|o| o[sort_field].as_str().and_then(woo_time));
    if query_param(&query, "order").as_deref() != Some("asc") {
        matching.reverse();
    }
    let total = matching.len();
    let total_pages = total.div_ceil(per_page);
    if page == 0 || page > total_pages.max(1) {
        return woo_error(
            400,
            "rest_post_invalid_page_number",
            "The page number requested is larger than the number of pages available.",
        );
    }
    let items: Vec<Value> = matching
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    HttpResponse::Ok()
        .insert_header(("x-wp-total", total.to_string()))
        .insert_header(("x-wp-totalpages", total_pages.to_string()))
        .json(items)
}

async fn woo_get(req: HttpRequest, path: web::Path<String>, store: Shared<Store>) -> HttpResponse {
    let mut store = store.lock().unwrap();
    if !woo_authorised(&req) {
        return woo_refused(&mut store);
    }
    match woo_position(&store, &path) {
        Some(i) => HttpResponse::Ok().json(store.orders[i].clone()),
        None => woo_no_such_order(),
    }
}

/// `PUT /orders/{id}`: records the change, applies its `status`.
async fn woo_put(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    store: Shared<Store>,
) -> HttpResponse {
    let mut store = store.lock().unwrap();
    if !woo_authorised(&req) {
        return woo_refused(&mut store);
    }
    let Some(i) = woo_position(&store, &path) else {
        return woo_no_such_order();
    };
    let change: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let order_id = store.orders[i]["id"].as_u64().unwrap_or_default();
    store.updates.push((order_id, change.clone()));
    if store.update_failures > 0 {
        store.update_failures -= 1;
        return woo_error(
            500,
            "internal_server_error",
            "There has been a critical error on this website.",
        );
    }
    if let Some(status) = change["status"].as_str() {
        store.orders[i]["status"] = json!(status);
    }
    HttpResponse::Ok().json(store.orders[i].clone())
}

/// `GET /orders/{id}/notes`: newest first.
async fn woo_notes(
    req: HttpRequest,
    path: web::Path<String>,
    store: Shared<Store>,
) -> HttpResponse {
    let mut store = store.lock().unwrap();
    if !woo_authorised(&req) {
        return woo_refused(&mut store);
    }
    let Some(i) = woo_position(&store, &path) else {
        return woo_no_such_order();
    };
    let order_id = store.orders[i]["id"].as_u64().unwrap_or_default();
    store.note_reads += 1;
    let mut notes = store.notes.get(&order_id).cloned().unwrap_or_default();
    notes.reverse();
    HttpResponse::Ok().json(notes)
}

/// `POST /orders/{id}/notes`: `note` is required.
async fn woo_add_note(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    store: Shared<Store>,
) -> HttpResponse {
    let mut store = store.lock().unwrap();
    if !woo_authorised(&req) {
        return woo_refused(&mut store);
    }
    let Some(i) = woo_position(&store, &path) else {
        return woo_no_such_order();
    };
    let order_id = store.orders[i]["id"].as_u64().unwrap_or_default();
    let posted: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(text) = posted["note"].as_str().map(str::to_owned) else {
        return woo_error(
            400,
            "rest_missing_callback_param",
            "Missing parameter(s): note",
        );
    };
    store.posted_notes.push((order_id, posted.clone()));
    let note = json!({"id": 280 + store.posted_notes.len(), "author": "WooCommerce",
                      "date_created": "2026-11-21T10:00:00", "date_created_gmt": "2026-11-21T10:00:00",
                      "note": text, "customer_note": posted["customer_note"] == true,
                      "added_by_user": false});
    store.notes.entry(order_id).or_default().push(note.clone());
    HttpResponse::Created().json(note)
}

/// A WooCommerce account at `base_url` whose orders are one US customer's:
/// the documentation order's product 93 maps to WOO-93, its `Bar3` is
/// Dingdan's own SKU. `extra` merges into the account.
async fn woo_account(app: &TestApp, base_url: &str, extra: Value) -> String {
    for sku in ["WOO-93", "Bar3"] {
        app.create_product(sku, json!({"list_price": "199.00"}))
            .await;
    }
    let customer = id(&app
        .create_customer(
            "WOO",
            json!({"credit_limit": "100000000.00", "currency": "USD"}),
        )
        .await);
    let mut body = json!({"platform": "woocommerce", "name": "Woo store", "base_url": base_url,
        "credentials": {"consumer_key": "ck_test", "consumer_secret": "cs_secret"},
        "customer_id": customer, "enabled": false,
        "sku_map": [{"variant_id": "93", "sku": "WOO-93"}]});
    merge(&mut body, extra);
    connector(app, &body).await
}

// JD ------------------------------------------------------------------------

const JD_APP_KEY: &str = "jd-app";
const JD_SECRET: &str = "jd-secret";
const JD_TOKEN: &str = "jd-token";
/// JD order ids are this plus a small number.
const JD_FIRST: i64 = 230_000_000_000;

/// One `jingdong.pop.order.search`: the window and the page asked for.
#[derive(Clone, Debug)]
struct Search {
    start: String,
    end: String,
    page: usize,
    page_size: usize,
}

/// A JOS gateway's shop.
#[derive(Default)]
struct Jos {
    orders: Vec<Value>,
    searches: Vec<Search>,
    /// The form of every `jingdong.pop.order.shipment` call.
    shipments: Vec<BTreeMap<String, String>>,
    /// Calls refused: wrong signature, app or token.
    refused: u32,
}

fn jos(orders: Vec<Value>) -> Mock<Jos> {
    mock(
        Jos {
            orders,
            ..Jos::default()
        },
        |routes| {
            routes.route("/routerjson", web::post().to(jos_call));
        },
    )
}

/// A JD order (the fields `jd::to_marketplace_order` reads), last modified
/// at `modified`: one mug to Beijing, without a postal code as JD sends it.
fn jd_order(n: i64, modified: DateTime<Utc>) -> Value {
    json!({"orderId": (JD_FIRST + n).to_string(), "orderState": "WAIT_SELLER_STOCK_OUT",
           "orderStartTime": china(modified - Duration::minutes(10)), "modified": china(modified),
           "orderRemark": "", "pin": "jd_buyer", "orderTotalPrice": "59.00",
           "consigneeInfo": {"fullname": "李四", "mobile": "13900139000", "province": "北京",
                             "city": "北京市", "county": "朝阳区", "fullAddress": "北京北京市朝阳区建国路88号"},
           "itemInfoList": [{"skuId": "100012345678", "outerSkuId": "JD-MUG", "wareId": "100009876543",
                             "skuName": "马克杯", "itemTotal": "1", "jdPrice": "59.00"}]})
}

fn jd_error(code: &str, zh: &str, en: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({"error_response": {"code": code, "zh_desc": zh, "en_desc": en}}))
}

/// A count JD was sent as a JSON number or string.
fn count(value: &Value) -> Option<usize> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A JSON string or number as text (JD sends ids either way).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /routerjson`: the signature checked with `jd::sign`, then the
/// order search (orders modified in [start_date, end_date), newest first,
/// paged, with `orderTotal`) or the shipment.
async fn jos_call(body: web::Bytes, jd: Shared<Jos>) -> HttpResponse {
    use dingdan_integrations::marketplaces::jd::sign;
    let form: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut unsigned = form.clone();
    let given = unsigned.remove("sign").unwrap_or_default();
    let mut jd = jd.lock().unwrap();
    if form.get("app_key").map(String::as_str) != Some(JD_APP_KEY)
        || given != sign(&unsigned, JD_SECRET)
    {
        jd.refused += 1;
        return jd_error("9", "签名无效", "Invalid signature");
    }
    if form.get("access_token").map(String::as_str) != Some(JD_TOKEN) {
        jd.refused += 1;
        return jd_error(
            "19",
            "token已过期或者不存在，请重新授权访问",
            "Invalid access_token",
        );
    }
    let params: Value = form
        .get("360buy_param_json")
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    match form.get("method").map(String::as_str).unwrap_or_default() {
        "jingdong.pop.order.search" => {
            let field = |key: &str| params[key].as_str().unwrap_or_default().to_owned();
            let (start, end) = (field("start_date"), field("end_date"));
            let (Some(from), Some(to)) = (parse_china(&start), parse_china(&end)) else {
                return jd_error("66", "参数错误", "Invalid parameter: start_date, end_date");
            };
            let page = count(&params["page"]).unwrap_or(1).max(1);
            let page_size = count(&params["page_size"]).unwrap_or(20).max(1);
            jd.searches.push(Search {
                start,
                end,
                page,
                page_size,
            });
            let mut window: Vec<Value> = jd
                .orders
                .iter()
                .filter(|o| {
                    o["modified"]
                        .as_str()
                        .and_then(parse_china)
                        .is_some_and(|modified| (from..to).contains(&modified))
                })
                .cloned()
                .collect();
            window.sort_by_key(|o| Reverse(o["modified"].as_str().and_then(parse_china)));
            let total = window.len();
            let listed: Vec<Value> = window
                .into_iter()
                .skip((page - 1) * page_size)
                .take(page_size)
                .collect();
            HttpResponse::Ok().json(json!({"jingdong_pop_order_search_responce": {"code": "0",
                "searchorderinfo_result": {"apiResult": {"success": true, "englishErr": "", "chineseErr": ""},
                                           "orderTotal": total, "orderInfoList": listed}}}))
        }
        "jingdong.pop.order.shipment" => {
            jd.shipments.push(form.clone());
            HttpResponse::Ok().json(json!({"jingdong_pop_order_shipment_responce": {"code": "0",
                "sopjosshipment_result": {"success": true, "chineseErr": "", "englishErr": ""}}}))
        }
        _ => jd_error("12", "方法不存在", "Invalid method"),
    }
}

/// The pages asked for, window by window (by start), in order.
fn pages_by_window(searches: &[Search]) -> Vec<(String, Vec<usize>)> {
    let mut windows: Vec<(String, Vec<usize>)> = Vec::new();
    for search in searches {
        match windows.last_mut() {
            Some((start, pages)) if *start == search.start => pages.push(search.page),
            _ => windows.push((search.start.clone(), vec![search.page])),
        }
    }
    windows
}

// Taobao --------------------------------------------------------------------

const TOP_APP_KEY: &str = "12345678";
const TOP_SECRET: &str = "top-secret";
const TOP_SESSION: &str = "6100e";

/// A TOP router's shop.
#[derive(Default)]
struct Top {
    trades: Vec<Value>,
    /// Listing the window that holds this trade answers "App Call Limited"
    /// (code 7) this many more times.
    throttle: Option<(u64, u32)>,
    /// Every call that passed the signature check, in order (throttled
    /// ones included).
    calls: Vec<BTreeMap<String, String>>,
    /// Calls answered "App Call Limited".
    throttled: u32,
}

fn taobao(trades: Vec<Value>) -> Mock<Top> {
    mock(
        Top {
            trades,
            ..Top::default()
        },
        |routes| {
            routes.route("/router/rest", web::post().to(top_call));
        },
    )
}

/// A trade waiting for shipment, modified at `modified`: two teas (two
/// sub-orders, `oid`s `tid`1 and `tid`2) to Hangzhou.
fn taobao_trade(tid: u64, modified: DateTime<Utc>) -> Value {
    let at = china(modified);
    json!({"tid": tid, "status": "WAIT_SELLER_SEND_GOODS", "created": at, "modified": at,
           "buyer_nick": "tb_buyer", "receiver_name": "张伟", "receiver_mobile": "13800000000",
           "receiver_state": "浙江省", "receiver_city": "杭州市", "receiver_district": "西湖区",
           "receiver_address": "文三路 100 号", "receiver_zip": "310000", "payment": "597.00",
           "orders": {"order": [
               {"oid": tid * 10 + 1, "outer_sku_id": "TEA-LONGJING", "sku_id": "4001", "num_iid": 5001,
                "title": "西湖龙井", "num": 2, "price": "199.00"},
               {"oid": tid * 10 + 2, "outer_sku_id": "TEA-BILUOCHUN", "sku_id": "4002", "num_iid": 5002,
                "title": "碧螺春", "num": 1, "price": "199.00"}]}})
}

fn top_error(code: i64, msg: &str, sub_code: &str) -> HttpResponse {
    let error =
        json!({"code": code, "msg": msg, "sub_code": sub_code, "request_id": "10jbl8v3anvfs"});
    HttpResponse::Ok().json(json!({ "error_response": error }))
}

/// `POST /router/rest`: the signature checked with `taobao::sign`, then the
/// increment list (trades modified in [start_modified, end_modified), newest
/// first, listed without their lines), the full trade, or the shipment.
async fn top_call(body: web::Bytes, top: Shared<Top>) -> HttpResponse {
    use dingdan_integrations::marketplaces::taobao::{SignMethod, sign};
    let params: BTreeMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let mut unsigned = params.clone();
    let given = unsigned.remove("sign").unwrap_or_default();
    let sign_method = match params.get("sign_method").map(String::as_str) {
        Some("hmac") => SignMethod::Hmac,
        Some("hmac-sha256") => SignMethod::HmacSha256,
        _ => SignMethod::Md5,
    };
    if params.get("app_key").map(String::as_str) != Some(TOP_APP_KEY)
        || given != sign(&unsigned, TOP_SECRET, sign_method)
    {
        return top_error(25, "Invalid signature", "isv.invalid-signature");
    }
    if params.get("session").map(String::as_str) != Some(TOP_SESSION) {
        return top_error(27, "Invalid session", "invalid-sessionkey");
    }
    let mut top = top.lock().unwrap();
    top.calls.push(params.clone());
    match params.get("method").map(String::as_str).unwrap_or_default() {
        "taobao.trades.sold.increment.get" => {
            let time = |key: &str| params.get(key).map(String::as_str).and_then(parse_china);
            let (Some(start), Some(end)) = (time("start_modified"), time("end_modified")) else {
                return top_error(40, "Missing required arguments:start_modified", "");
            };
            let mut window: Vec<Value> = top
                .trades
                .iter()
                .filter(|t| {
                    t["modified"]
                        .as_str()
                        .and_then(parse_china)
                        .is_some_and(|modified| (start..end).contains(&modified))
                })
                .cloned()
                .collect();
            window.sort_by_key(|t| Reverse(t["modified"].as_str().and_then(parse_china)));
            if let Some((tid, times)) = top.throttle
                && times > 0
                && window.iter().any(|t| t["tid"] == tid)
            {
                top.throttle = Some((tid, times - 1));
                top.throttled += 1;
                return top_error(
                    7,
                    "App Call Limited",
                    "accesscontrol.limited-by-app-access-count",
                );
            }
            let page_no = params
                .get("page_no")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            let page_size = params
                .get("page_size")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(40)
                .max(1);
            let total = window.len();
            let listed: Vec<Value> = window
                .into_iter()
                .skip((page_no - 1) * page_size)
                .take(page_size)
                .map(|mut trade| {
                    // Listed without lines: they come with the full trade.
                    if let Some(fields) = trade.as_object_mut() {
                        fields.remove("orders");
                    }
                    trade
                })
                .collect();
            HttpResponse::Ok().json(json!({"trades_sold_increment_get_response": {
                "total_results": total, "has_next": page_no * page_size < total,
                "trades": {"trade": listed}}}))
        }
        "taobao.trade.fullinfo.get" => {
            let tid = params.get("tid").and_then(|t| t.parse::<u64>().ok());
            match top
                .trades
                .iter()
                .find(|t| tid.is_some() && t["tid"].as_u64() == tid)
            {
                Some(trade) => HttpResponse::Ok()
                    .json(json!({"trade_fullinfo_get_response": {"trade": trade}})),
                None => top_error(15, "Remote service error", "isv.trade-not-exist"),
            }
        }
        "taobao.logistics.offline.send" => HttpResponse::Ok()
            .json(json!({"logistics_offline_send_response": {"shipping": {"is_success": true}}})),
        _ => top_error(22, "Invalid method", "isv.invalid-method"),
    }
}

/// A TOP call's own parameters: all but the common ones.
fn own_params(call: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    const COMMON: [&str; 8] = [
        "method",
        "app_key",
        "session",
        "timestamp",
        "v",
        "format",
        "sign_method",
        "sign",
    ];
    call.iter()
        .filter(|(name, _)| !COMMON.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------
// The tests.

#[tokio::test]
async fn woocommerce_incremental_sync_cancellation_and_address_change() {
    let app = app().await;
    let woo = woocommerce(vec![
        woo_order(801, "2026-11-20T01:00:00", "2026-11-20T01:30:00"),
        woo_order(802, "2026-11-20T02:00:00", "2026-11-20T02:30:00"),
        woo_order(803, "2026-11-20T03:00:00", "2026-11-20T03:30:00"),
    ]);
    let account = woo_account(&app, &woo.url, json!({})).await;

    // Backfill: every order, newest first, times in GMT, no lower bound.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 3, "{run}");
    let first = woo.state().listings[0].clone();
    for (name, value) in [
        ("page", "1"),
        ("orderby", "date"),
        ("order", "desc"),
        ("dates_are_gmt", "true"),
    ] {
        assert_eq!(query_param(&first, name).as_deref(), Some(value), "{first}");
    }
    assert_eq!(query_param(&first, "modified_after"), None, "{first}");
    let orders = imported(&app).await;
    assert_eq!(refs(&orders), ["801", "802", "803"]);
    let readdressed = id(&orders[0]);
    let cancelled = id(&orders[1]);
    let untouched = id(&orders[2]);
    let full = order(&app, &readdressed).await;
    assert_eq!(
        full["lines"][0]["sku"], "WOO-93",
        "mapped by product: {full}"
    );
    assert_eq!(full["lines"][1]["sku"], "Bar3", "its own SKU: {full}");
    assert_eq!(full["ship_to"]["city"], "San Francisco");

    // On the store: 801's buyer moves, 802 is cancelled; both are modified.
    {
        let mut store = woo.state();
        let moved = &mut store.orders[0];
        moved["shipping"] = json!({"first_name": "Jane", "last_name": "Roe", "company": "",
                                   "address_1": "1 Infinite Loop", "address_2": "", "city": "Cupertino",
                                   "state": "CA", "postcode": "95014", "country": "US"});
        moved["date_modified"] = json!("2026-11-20T05:00:00");
        moved["date_modified_gmt"] = json!("2026-11-20T05:00:00");
        let dropped = &mut store.orders[1];
        dropped["status"] = json!("cancelled");
        dropped["date_modified"] = json!("2026-11-20T05:10:00");
        dropped["date_modified_gmt"] = json!("2026-11-20T05:10:00");
    }

    // Incremental: from the newest date_modified_gmt seen (03:30), a minute
    // back; 803 comes again within that minute and is found unchanged.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 0, "{run}");
    assert_eq!(run["updated"], 2, "{run}");
    assert_eq!(run["fetched"], 3, "{run}");
    assert_eq!(run["skipped"], 1, "{run}");
    let incremental = woo.state().listings.last().cloned().unwrap();
    assert_eq!(
        query_param(&incremental, "modified_after").as_deref(),
        Some("2026-11-20T03:29:00"),
        "{incremental}"
    );
    // The user sees the new address on 801 and 802 cancelled.
    let moved = order(&app, &readdressed).await;
    assert_eq!(moved["ship_to"]["name"], "Jane Roe", "{moved}");
    assert_eq!(moved["ship_to"]["line1"], "1 Infinite Loop");
    assert_eq!(moved["ship_to"]["city"], "Cupertino");
    assert_eq!(moved["ship_to"]["region"], "CA");
    assert_eq!(moved["ship_to"]["postal_code"], "95014");
    assert_ne!(moved["status"], "cancelled");
    let events = timeline(&app, &readdressed).await;
    assert!(
        of_type(&events, "order.updated")
            .iter()
            .any(|e| e["data"]["changes"]["ship_to"]["to"]["city"] == "Cupertino"),
        "the address change is on the timeline: {events:?}"
    );
    assert_eq!(order(&app, &cancelled).await["status"], "cancelled");
    let events = timeline(&app, &cancelled).await;
    assert_eq!(of_type(&events, "order.cancelled").len(), 1, "{events:?}");
    assert_ne!(order(&app, &untouched).await["status"], "cancelled");

    // Again: only 802 is re-read (05:10 less a minute), and nothing changes.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 0, "{run}");
    assert_eq!(run["updated"], 0, "{run}");
    let last = woo.state().listings.last().cloned().unwrap();
    assert_eq!(
        query_param(&last, "modified_after").as_deref(),
        Some("2026-11-20T05:09:00"),
        "{last}"
    );
    assert_eq!(imported(&app).await.len(), 3);
    assert_eq!(
        statuses(&sync_runs(&app, &account).await),
        ["succeeded", "succeeded", "succeeded"]
    );
}

#[tokio::test]
async fn woocommerce_rate_limit_and_mid_sync_failure_resume() {
    let app = app().await;
    let woo = woocommerce(
        (1..=5_u64)
            .map(|n| {
                woo_order(
                    820 + n,
                    &format!("2026-11-20T0{n}:00:00"),
                    &format!("2026-11-20T0{n}:30:00"),
                )
            })
            .collect(),
    );
    {
        let mut store = woo.state();
        // Five orders on three pages; two 429s first; page 2 fails once.
        store.max_per_page = 2;
        store.rate_limited = 2;
        store.fail_page = Some(2);
    }
    let account = woo_account(&app, &woo.url, json!({})).await;

    // The 429s are waited out; the 500 on page 2 fails the run after page 1
    // (the two newest orders) was stored.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["created"], 2, "{run}");
    assert!(
        run["error"].as_str().unwrap_or_default().contains("500"),
        "{run}"
    );
    assert_eq!(refs(&imported(&app).await), ["824", "825"]);

    // The next run resumes at page 2 rather than starting over.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 3, "{run}");
    let pages: Vec<String> = woo
        .state()
        .listings
        .iter()
        .map(|q| query_param(q, "page").unwrap_or_default())
        .collect();
    assert_eq!(
        pages,
        ["1", "1", "1", "2", "2", "3"],
        "429, 429, page 1, page 2 (500) | page 2, page 3"
    );
    let orders = imported(&app).await;
    assert_eq!(
        refs(&orders),
        ["821", "822", "823", "824", "825"],
        "each order exactly once"
    );
    let runs = sync_runs(&app, &account).await;
    assert_eq!(statuses(&runs), ["succeeded", "failed"]);
    assert!(
        runs[1]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{}",
        runs[1]
    );

    // Incremental after that: nothing new.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 0, "{run}");

    // Wrong keys: the store answers 401 and the run says so.
    app.patch(
        &format!("/api/v1/connectors/{account}"),
        &app.admin(),
        &json!({"credentials": {"consumer_key": "ck_test", "consumer_secret": "wrong"}}),
    )
    .await
    .expect(200);
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("credentials"),
        "{run}"
    );
    assert!(woo.state().refused > 0);
    assert_eq!(imported(&app).await.len(), 5);
}

#[tokio::test]
async fn woocommerce_webhook_with_bad_signature_is_refused_and_good_one_imports() {
    let app = app().await;
    let account = woo_account(
        &app,
        "https://woo.example.com",
        json!({"enabled": true, "credentials": {"webhook_secret": "woo-hook-secret"}}),
    )
    .await;
    let path = format!("/api/v1/webhooks/marketplaces/woocommerce/{account}");
    let body = serde_json::to_vec(&woo_order(
        901,
        "2026-11-21T08:00:00",
        "2026-11-21T08:00:05",
    ))
    .unwrap();
    // The headers WooCommerce sends with an order webhook.
    let delivery = |signature: String, topic: &str, delivery_id: &str| {
        vec![
            ("x-wc-webhook-source", "https://woo.example.com/".to_owned()),
            ("x-wc-webhook-topic", topic.to_owned()),
            ("x-wc-webhook-resource", "order".to_owned()),
            (
                "x-wc-webhook-event",
                topic.trim_start_matches("order.").to_owned(),
            ),
            ("x-wc-webhook-id", "12".to_owned()),
            ("x-wc-webhook-delivery-id", delivery_id.to_owned()),
            ("x-wc-webhook-signature", signature),
        ]
    };
    let good = hmac_base64("woo-hook-secret", &body);

    // Signed with another secret, unsigned, or changed after signing: 401,
    // nothing imported.
    let (status, reply) = hook(
        &app,
        &path,
        &delivery(hmac_base64("wrong", &body), "order.created", "d-1"),
        &body,
    )
    .await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["code"], "invalid_signature", "{reply}");
    let unsigned: Vec<(&str, String)> = delivery(good.clone(), "order.created", "d-1")
        .into_iter()
        .filter(|(name, _)| *name != "x-wc-webhook-signature")
        .collect();
    let (status, reply) = hook(&app, &path, &unsigned, &body).await;
    assert_eq!(status, 401, "{reply}");
    let mut changed = woo_order(901, "2026-11-21T08:00:00", "2026-11-21T08:00:05");
    changed["total"] = json!("0.01");
    let changed = serde_json::to_vec(&changed).unwrap();
    let (status, reply) = hook(
        &app,
        &path,
        &delivery(good.clone(), "order.created", "d-1"),
        &changed,
    )
    .await;
    assert_eq!(status, 401, "{reply}");
    assert!(imported(&app).await.is_empty(), "nothing imported");

    // Signed with the webhook secret: imported. The same delivery again is a
    // duplicate; another delivery of the same order finds it there already.
    let (status, reply) = hook(
        &app,
        &path,
        &delivery(good.clone(), "order.created", "d-1"),
        &body,
    )
    .await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (200, Some("applied")),
        "{reply}"
    );
    let (status, reply) = hook(
        &app,
        &path,
        &delivery(good.clone(), "order.created", "d-1"),
        &body,
    )
    .await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (200, Some("duplicate")),
        "{reply}"
    );
    let (status, reply) = hook(&app, &path, &delivery(good, "order.updated", "d-2"), &body).await;
    assert_eq!(
        (status, reply["outcome"].as_str()),
        (200, Some("applied")),
        "{reply}"
    );
    let orders = imported(&app).await;
    assert_eq!(refs(&orders), ["901"], "imported once");
    let full = order(&app, &id(&orders[0])).await;
    assert_eq!(full["source_account"], account);
    assert_eq!(full["currency"], "USD");
    assert_eq!(full["lines"][0]["sku"], "WOO-93", "{full}");
    assert_eq!(full["lines"][1]["sku"], "Bar3", "{full}");
}

#[tokio::test]
async fn woocommerce_push_back_notes_once_and_completes() {
    let app = app().await;
    let woo = woocommerce(vec![woo_order(
        811,
        "2026-11-20T01:00:00",
        "2026-11-20T01:30:00",
    )]);
    // The first attempt to complete the order meets a 500.
    woo.state().update_failures = 1;
    let account = woo_account(
        &app,
        &woo.url,
        json!({"carrier_map": {"UPS": "United Parcel Service"}}),
    )
    .await;
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["created"], 1, "{run}");
    let listed = imported(&app).await.remove(0);
    // Product 93 ×2 (line 1) and Bar3 ×1 (line 2) in one box, with UPS.
    let (order_id, _) = ready_to_ship(
        &app,
        listed,
        &[("WOO-93", 2), ("Bar3", 1)],
        &[&[(1, 2), (2, 1)]],
        "UPS",
        "US",
    )
    .await;
    ship(&app, &order_id, &[], "1Z001985YW99744790").await;

    // First attempt: the notes are read, none has the tracking number, so
    // one is posted; completing the order then fails.
    app.settle().await;
    let reads = {
        let store = woo.state();
        assert!(store.note_reads >= 1, "the notes are read first");
        assert_eq!(store.posted_notes.len(), 1);
        let (order, note) = &store.posted_notes[0];
        assert_eq!(*order, 811);
        let text = note["note"].as_str().unwrap_or_default();
        assert!(text.contains("1Z001985YW99744790"), "{note}");
        assert!(
            text.contains("United Parcel Service"),
            "the carrier as mapped: {note}"
        );
        assert_eq!(note["customer_note"], true, "shown to the buyer: {note}");
        assert_eq!(store.updates.len(), 1, "one PUT, answered 500");
        assert_eq!(store.orders[0]["status"], "processing");
        store.note_reads
    };

    // The retry finds its note and only completes the order.
    app.db.advance_clock(std::time::Duration::from_secs(10));
    app.settle().await;
    {
        let store = woo.state();
        assert!(store.note_reads > reads, "the retry reads the notes again");
        assert_eq!(store.posted_notes.len(), 1, "no second note");
        assert_eq!(store.notes[&811].len(), 1);
        assert_eq!(
            store.updates,
            [
                (811, json!({"status": "completed"})),
                (811, json!({"status": "completed"}))
            ]
        );
        assert_eq!(store.orders[0]["status"], "completed");
    }
    // The timeline tells the story: a failed report, then a good one.
    let events = timeline(&app, &order_id).await;
    let failed = of_type(&events, "marketplace.fulfilment_failed");
    let reported = of_type(&events, "marketplace.fulfilment_reported");
    assert_eq!((failed.len(), reported.len()), (1, 1), "{events:?}");
    assert!(
        failed[0]["data"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{}",
        failed[0]
    );
    assert_eq!(reported[0]["data"]["platform"], "woocommerce");
    assert_eq!(reported[0]["data"]["external_id"], "811");
    assert_eq!(reported[0]["data"]["tracking_number"], "1Z001985YW99744790");
    assert_eq!(reported[0]["data"]["attempt"], 2);
}

#[tokio::test]
async fn jd_orders_are_pulled_from_the_end_of_each_window_and_pushed_back() {
    let app = app().await;
    app.create_product("JD-MUG", json!({"list_price": "59.00"}))
        .await;
    let customer = id(&app
        .create_customer("JD", json!({"credit_limit": "1000000.00"}))
        .await);
    // 101 orders modified about 28 hours ago (two pages of the client's
    // 100), three 5, 4 and 3 hours ago, and one half a minute ago.
    let t0 = Utc::now();
    let mut orders: Vec<Value> = (1..=101)
        .map(|n| jd_order(n, t0 - Duration::hours(28) + Duration::seconds(n)))
        .collect();
    orders.push(jd_order(201, t0 - Duration::hours(5)));
    orders.push(jd_order(202, t0 - Duration::hours(4)));
    orders.push(jd_order(203, t0 - Duration::hours(3)));
    orders.push(jd_order(301, t0 - Duration::seconds(30)));
    let jd = jos(orders);
    let account = connector(
        &app,
        &json!({"platform": "jd", "name": "京东旗舰店", "base_url": jd.url,
                "credentials": {"app_key": JD_APP_KEY, "app_secret": JD_SECRET, "session": JD_TOKEN},
                "customer_id": customer, "enabled": false,
                "carrier_map": {"SF-EXPRESS": "467"}}),
    )
    .await;

    // From 30 hours ago: two windows, the first a day long, the second
    // ending three minutes before now (JD lists orders with a delay).
    let since = Utc::now() - Duration::hours(30);
    let before = Utc::now();
    let run = sync(&app, &account, json!({"since": since.to_rfc3339()})).await;
    let after = Utc::now();
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 104, "{run}");
    let searches = jd.state().searches.clone();
    assert_eq!(jd.state().refused, 0, "every call correctly signed");
    assert_eq!(
        searches[0].page_size, 100,
        "the client's page size, which the numbers here assume"
    );
    // Each window: page 1 for orderTotal, then from the last page down.
    assert_eq!(
        pages_by_window(&searches),
        vec![
            (china(since), vec![1, 2, 1]),
            (china(since + Duration::hours(24)), vec![1]),
        ]
    );
    let end = parse_china(&searches.last().unwrap().end).unwrap();
    let lag = Duration::minutes(3);
    assert!(
        (before - lag - Duration::seconds(2)..=after - lag + Duration::seconds(1)).contains(&end),
        "the last window ends three minutes before now: {end}"
    );
    let listed = imported(&app).await;
    assert_eq!(listed.len(), 104);
    let unique: BTreeSet<&str> = refs(&listed).into_iter().collect();
    assert_eq!(unique.len(), 104, "each order once");
    assert!(
        !unique.contains((JD_FIRST + 301).to_string().as_str()),
        "the order modified half a minute ago waits for a later run"
    );
    let shipped_ref = (JD_FIRST + 201).to_string();
    let to_ship = listed
        .iter()
        .find(|o| o["external_ref"] == shipped_ref)
        .unwrap()
        .clone();
    let full = order(&app, &id(&to_ship)).await;
    assert_eq!(full["currency"], "CNY");
    assert_eq!(full["lines"][0]["sku"], "JD-MUG", "{full}");
    assert_eq!(full["ship_to"]["city"], "北京市");
    assert_eq!(full["ship_to"]["country"], "CN");

    // Again: every order modified before the last window's end has been
    // listed, so the next run starts there, a minute back, in one window;
    // nothing is created.
    let seen = jd.state().searches.len();
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 0, "{run}");
    let again: Vec<(String, usize)> = jd.state().searches[seen..]
        .iter()
        .map(|s| (s.start.clone(), s.page))
        .collect();
    assert_eq!(again, vec![(china(end - Duration::seconds(60)), 1)]);
    assert_eq!(imported(&app).await.len(), 104);

    // Shipped with SF (JD's logistics company 467): reported with
    // jingdong.pop.order.shipment.
    let ready = complete_address(&app, to_ship, "100020").await;
    let (order_id, _) = ready_to_ship(
        &app,
        ready,
        &[("JD-MUG", 1)],
        &[&[(1, 1)]],
        "SF-EXPRESS",
        "CN",
    )
    .await;
    ship(&app, &order_id, &[], "SF1234567890").await;
    app.settle().await;
    let shipments = jd.state().shipments.clone();
    assert_eq!(shipments.len(), 1);
    let call = &shipments[0];
    assert_eq!(call["method"], "jingdong.pop.order.shipment");
    assert_eq!(call["app_key"], JD_APP_KEY);
    assert_eq!(call["access_token"], JD_TOKEN);
    assert_eq!(call["v"], "2.0");
    assert!(parse_china(&call["timestamp"]).is_some(), "{call:?}");
    let params: Value = serde_json::from_str(&call["360buy_param_json"]).unwrap();
    assert_eq!(text(&params["orderId"]), shipped_ref, "{params}");
    assert_eq!(
        text(&params["logiCoprId"]),
        "467",
        "the carrier as mapped: {params}"
    );
    assert_eq!(text(&params["logiNo"]), "SF1234567890", "{params}");
    let events = timeline(&app, &order_id).await;
    let reported = of_type(&events, "marketplace.fulfilment_reported");
    assert_eq!(reported.len(), 1, "{events:?}");
    assert_eq!(reported[0]["data"]["platform"], "jd");
    assert_eq!(reported[0]["data"]["external_id"], shipped_ref.as_str());

    // A wrong secret: JD refuses the signature and the run says so.
    app.patch(
        &format!("/api/v1/connectors/{account}"),
        &app.admin(),
        &json!({"credentials": {"app_key": JD_APP_KEY, "app_secret": "wrong", "session": JD_TOKEN}}),
    )
    .await
    .expect(200);
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Invalid signature"),
        "{run}"
    );
    assert!(jd.state().refused > 0);
}

#[tokio::test]
async fn taobao_push_back_and_rate_limit_resume() {
    let app = app().await;
    for sku in ["TEA-LONGJING", "TEA-BILUOCHUN"] {
        app.create_product(sku, json!({"list_price": "199.00"}))
            .await;
    }
    let customer = id(&app
        .create_customer("TB", json!({"credit_limit": "1000000.00"}))
        .await);
    let t0 = Utc::now();
    let top = taobao(vec![
        taobao_trade(3_000_001, t0 - Duration::hours(40)),
        taobao_trade(3_000_002, t0 - Duration::hours(20)),
        taobao_trade(3_000_003, t0 - Duration::hours(1)),
    ]);
    // Listing the window of trade 2 hits TOP's call limit seven times
    // running: more than one run's patience.
    top.state().throttle = Some((3_000_002, 7));
    let account = connector(
        &app,
        &json!({"platform": "taobao", "name": "天猫旗舰店", "base_url": top.url,
                "credentials": {"app_key": TOP_APP_KEY, "app_secret": TOP_SECRET, "session": TOP_SESSION},
                "customer_id": customer, "enabled": false,
                "carrier_map": {"SF-EXPRESS": "SF"}}),
    )
    .await;

    // Three one-day windows from 50 hours ago. The first is imported; the
    // second is retried while limited, then the run fails saying why.
    let since = Utc::now() - Duration::hours(50);
    let run = sync(&app, &account, json!({"since": since.to_rfc3339()})).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["created"], 1, "{run}");
    assert!(
        run["error"]
            .as_str()
            .unwrap_or_default()
            .contains("rate limited"),
        "{run}"
    );
    assert!(top.state().throttled > 1, "retried before giving up");
    let calls_before = top.state().calls.len();

    // The next run resumes at the second window, waits out the last refusal,
    // and imports the rest: each trade once.
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 2, "{run}");
    {
        let state = top.state();
        assert_eq!(state.throttle, Some((3_000_002, 0)));
        let resumed = &state.calls[calls_before];
        assert_eq!(resumed["method"], "taobao.trades.sold.increment.get");
        assert_eq!(
            resumed["start_modified"],
            china(since + Duration::hours(24)),
            "the window that failed"
        );
        let first_window = state
            .calls
            .iter()
            .filter(|c| c.get("start_modified") == Some(&china(since)))
            .count();
        assert_eq!(first_window, 1, "the first window was listed once");
    }
    let orders = imported(&app).await;
    assert_eq!(refs(&orders), ["3000001", "3000002", "3000003"]);
    assert_eq!(
        statuses(&sync_runs(&app, &account).await),
        ["succeeded", "failed"]
    );
    let run = sync(&app, &account, json!({})).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["created"], 0, "{run}");

    // Trade 1 ships in two boxes, one tea each, with SF: each is reported
    // with taobao.logistics.offline.send as a split shipment of its line.
    let (order_id, packages) = ready_to_ship(
        &app,
        orders[0].clone(),
        &[("TEA-LONGJING", 2), ("TEA-BILUOCHUN", 1)],
        &[&[(1, 2)], &[(2, 1)]],
        "SF-EXPRESS",
        "CN",
    )
    .await;
    ship(&app, &order_id, &packages[..1], "SF1400000000001").await;
    app.settle().await;
    ship(&app, &order_id, &packages[1..], "SF1400000000002").await;
    app.settle().await;
    let sends: Vec<BTreeMap<String, String>> = top
        .state()
        .calls
        .iter()
        .filter(|c| c["method"] == "taobao.logistics.offline.send")
        .cloned()
        .collect();
    assert_eq!(sends.len(), 2, "{sends:?}");
    for (send, (oid, tracking)) in sends.iter().zip([
        ("30000011", "SF1400000000001"),
        ("30000012", "SF1400000000002"),
    ]) {
        assert_eq!(
            own_params(send),
            BTreeMap::from([
                ("tid", "3000001"),
                ("out_sid", tracking),
                ("company_code", "SF"),
                ("is_split", "1"),
                ("sub_tid", oid),
            ]),
            "{send:?}"
        );
        assert_eq!(send["app_key"], TOP_APP_KEY);
        assert_eq!(send["session"], TOP_SESSION);
        assert_eq!(send["v"], "2.0");
        assert_eq!(send["format"], "json");
        let stamp = parse_china(&send["timestamp"]).unwrap();
        assert!(
            (Utc::now() - stamp).abs() < Duration::minutes(10),
            "TOP wants GMT+8 within ten minutes: {send:?}"
        );
    }
    let events = timeline(&app, &order_id).await;
    let reported = of_type(&events, "marketplace.fulfilment_reported");
    assert_eq!(reported.len(), 2, "{events:?}");
    assert_eq!(reported[0]["data"]["tracking_number"], "SF1400000000001");
    assert_eq!(reported[1]["data"]["tracking_number"], "SF1400000000002");
}
