//! Outbound webhooks: subscriptions, signed delivery to a real local
//! receiver, retries on the schedule (with a controllable clock), 410, dead
//! letters and replay, secret rotation, the SSRF guard, and several worker
//! processes sharing the deliveries.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use dingdan::domain::actor::Role;
use dingdan_tests::{TestApp, address, spawn_app_with};
use serde_json::{Value, json};

/// How the receiver answers one request.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    retry_after: Option<&'static str>,
    delay: Duration,
}

impl Answer {
    fn status(status: u16) -> Self {
        Self {
            status,
            retry_after: None,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
struct Received {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Vec<Received>,
    answers: VecDeque<Answer>,
    default: Option<Answer>,
}

/// A webhook endpoint on 127.0.0.1 that records what it is sent and answers
/// as told (200 unless told otherwise).
#[derive(Clone)]
struct Receiver {
    state: Arc<Mutex<ReceiverState>>,
    port: u16,
}

impl Receiver {
    async fn start() -> Self {
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let shared = state.clone();
        let server = HttpServer::new(move || {
            let state = shared.clone();
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let state = state.clone();
                async move {
                    let mut headers = reqwest::header::HeaderMap::new();
                    for (name, value) in req.headers() {
                        headers.append(
                            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes())
                                .unwrap(),
                            reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                        );
                    }
                    let answer = {
                        let mut state = state.lock().unwrap();
                        state.received.push(Received {
                            headers,
                            body: body.to_vec(),
                        });
                        state
                            .answers
                            .pop_front()
                            .or_else(|| state.default.clone())
                            .unwrap_or(Answer::status(200))
                    };
                    tokio::time::sleep(answer.delay).await;
                    let mut response = HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(answer.status).unwrap(),
                    );
                    if let Some(after) = answer.retry_after {
                        response.insert_header(("retry-after", after));
                    }
                    if (300..400).contains(&answer.status) {
                        response.insert_header(("location", "/elsewhere"));
                    }
                    response.body(format!("answer {}", answer.status))
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .expect("bind the receiver");
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Self { state, port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn answer_always(&self, answer: Answer) {
        self.state.lock().unwrap().default = Some(answer);
    }

    fn answer_next(&self, answer: Answer) {
        self.state.lock().unwrap().answers.push_back(answer);
    }

    fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

/// A server that may call the local receiver (the allow-list the tests use).
async fn app_allowing_loopback() -> TestApp {
    spawn_app_with(&[
        ("DINGDAN_WEBHOOK_ALLOW_HTTP", "true"),
        ("DINGDAN_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32"),
    ])
    .await
}

async fn subscribe(app: &TestApp, url: &str, types: Value) -> Value {
    app.post(
        "/api/v1/webhooks/subscriptions",
        &app.admin(),
        &json!({"url": url, "event_types": types, "description": "ERP"}),
    )
    .await
    .expect(201)
    .body
}

/// A customer, a product with stock, and a complete order: `order.created`,
/// `order.confirmed` and review events follow.
async fn place_order(app: &TestApp, reference: &str) -> Value {
    let customer = app
        .create_customer(
            &format!("C-{reference}"),
            json!({"credit_limit": "1000000.00"}),
        )
        .await;
    app.create_product(&format!("SKU-{reference}"), json!({"list_price": "10.00"}))
        .await;
    app.post(
        "/api/v1/orders",
        &app.admin(),
        &json!({
            "channel": "web", "external_ref": reference,
            "customer_id": customer["id"], "currency": "CNY",
            "ship_to": address(),
            "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
            "lines": [{"sku": format!("SKU-{reference}"), "quantity": 1}],
        }),
    )
    .await
    .expect(201)
    .body
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/api/v1/webhook-deliveries?{query}"), &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn verify(secret: &str, received: &Received) -> bool {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&received.body, &received.headers)
        .is_ok()
}

#[tokio::test]
async fn events_are_delivered_signed_to_matching_subscriptions() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    let orders = subscribe(&app, &receiver.url("/orders"), json!(["order.*"])).await;
    let secret = orders["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let confirmed = subscribe(
        &app,
        &receiver.url("/confirmed"),
        json!(["order.confirmed"]),
    )
    .await;
    // Never shown again.
    let read = app
        .get(
            &format!(
                "/api/v1/webhooks/subscriptions/{}",
                orders["id"].as_str().unwrap()
            ),
            &app.admin(),
        )
        .await
        .expect(200);
    assert!(read.body.get("secret").is_none());
    assert_eq!(read.body["event_types"], json!(["order.*"]));

    let order = place_order(&app, "WH-1").await;
    app.settle().await;

    let received = receiver.received();
    let types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    for expected in ["order.created", "order.confirmed"] {
        assert!(
            types.contains(&expected.to_owned()),
            "{expected} in {types:?}"
        );
    }
    assert!(types.iter().all(|t| t.starts_with("order.")));
    // order.confirmed twice: once per subscription.
    assert_eq!(types.iter().filter(|t| *t == "order.confirmed").count(), 2);
    let confirmed_secret = confirmed["secret"].as_str().unwrap();
    let mut signed_with_confirmed = 0;
    for r in &received {
        let body = r.json();
        // Signed per Standard Webhooks, checked by an independent
        // implementation: each with its own subscription's secret.
        if verify(confirmed_secret, r) {
            signed_with_confirmed += 1;
            assert_eq!(body["type"], "order.confirmed");
            assert!(!verify(&secret, r));
        } else {
            assert!(verify(&secret, r), "signature of {body}");
        }
        assert!(!verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r));
        assert_eq!(r.header("webhook-id"), body["id"].as_str().unwrap());
        assert_eq!(r.header("content-type"), "application/json");
        assert_eq!(body["resource"]["id"], order["id"]);
        assert_eq!(body["resource"]["type"], "order");
        assert!(body["resource"]["version"].as_i64().unwrap() >= 1);
        assert_eq!(body["schema_version"], 1);
    }
    assert_eq!(signed_with_confirmed, 1);
    // A tampered body no longer verifies.
    let mut tampered = received[0].clone();
    tampered.body = tampered
        .body
        .iter()
        .map(|b| if *b == b'1' { b'2' } else { *b })
        .collect();
    assert!(!verify(&secret, &tampered));

    // The delivery log: succeeded, one attempt with the receiver's answer.
    let list = deliveries(
        &app,
        &format!("subscription_id={}", orders["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(list.len(), types.len() - 1);
    assert!(
        list.iter()
            .all(|d| d["status"] == "succeeded" && d["attempts"] == 1)
    );
    let one = app
        .get(
            &format!(
                "/api/v1/webhook-deliveries/{}",
                list[0]["id"].as_str().unwrap()
            ),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(one["attempt_log"].as_array().unwrap().len(), 1);
    assert_eq!(one["attempt_log"][0]["status_code"], 200);
    assert_eq!(one["attempt_log"][0]["response_excerpt"], "answer 200");
    assert!(one["attempt_log"][0]["duration_ms"].as_i64().unwrap() >= 0);
    assert_eq!(one["payload"]["id"], one["event_id"]);
}

#[tokio::test]
async fn failures_follow_the_retry_schedule_then_dead_letter_and_replay_keeps_the_id() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    receiver.answer_always(Answer::status(500));
    subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    place_order(&app, "WH-RETRY").await;
    app.settle().await;

    let first = deliveries(&app, "").await.remove(0);
    assert_eq!(first["status"], "pending");
    assert_eq!(first["attempts"], 1);
    assert_eq!(first["last_status_code"], 500);
    // Retry after 5 s ± 10 %.
    let wait = |d: &Value| {
        let next =
            chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap()).unwrap();
        let now = app.db.now();
        (next.with_timezone(&chrono::Utc) - now).num_milliseconds() as f64 / 1000.0
    };
    let w = wait(&first);
    assert!((3.5..=5.6).contains(&w), "first retry in {w} s");
    // Not yet due: nothing is sent.
    app.settle().await;
    assert_eq!(receiver.received().len(), 1);
    // A delivery still being retried cannot be replayed.
    app.post(
        &format!(
            "/api/v1/webhook-deliveries/{}/replay",
            first["id"].as_str().unwrap()
        ),
        &app.admin(),
        &json!({}),
    )
    .await
    .expect_problem(409, "delivery_pending");

    // The schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h.
    let schedule = [
        300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0,
    ];
    app.db.advance_clock(Duration::from_secs(6));
    app.settle().await;
    for (i, base) in schedule.iter().enumerate() {
        let d = deliveries(&app, "").await.remove(0);
        assert_eq!(d["attempts"], i as i64 + 2);
        assert_eq!(d["status"], "pending");
        let w = wait(&d);
        assert!(
            w >= base * 0.9 - 2.0 && w <= base * 1.1 + 1.0,
            "retry {} in {w} s, expected about {base}",
            i + 2
        );
        app.db.advance_clock(Duration::from_secs_f64(w + 1.0));
        app.settle().await;
    }
    let dead = deliveries(&app, "").await.remove(0);
    assert_eq!(dead["status"], "dead");
    assert_eq!(dead["attempts"], 10);
    assert!(dead["next_attempt_at"].is_null());
    assert_eq!(receiver.received().len(), 10);

    // Replay: once, same webhook-id and body.
    receiver.answer_always(Answer::status(204));
    let id = dead["id"].as_str().unwrap();
    let replayed = app
        .post(
            &format!("/api/v1/webhook-deliveries/{id}/replay"),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(202)
        .body;
    assert_eq!(replayed["status"], "pending");
    app.settle().await;
    let done = app
        .get(&format!("/api/v1/webhook-deliveries/{id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(done["status"], "succeeded");
    let log = done["attempt_log"].as_array().unwrap();
    assert_eq!(log.len(), 11);
    assert_eq!(log[10]["replay"], true);
    assert_eq!(log[10]["status_code"], 204);
    assert_eq!(log[0]["status_code"], 500);
    let all = receiver.received();
    assert_eq!(all.len(), 11);
    let ids: std::collections::HashSet<&str> = all.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(
        ids.len(),
        1,
        "every attempt and the replay carry one webhook-id"
    );
    assert!(all.iter().all(|r| r.body == all[0].body));

    // A replay that fails does not undo the success before it.
    receiver.answer_always(Answer::status(503));
    app.post(
        &format!("/api/v1/webhook-deliveries/{id}/replay"),
        &app.admin(),
        &json!({}),
    )
    .await
    .expect(202);
    app.settle().await;
    let still = app
        .get(&format!("/api/v1/webhook-deliveries/{id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(still["status"], "succeeded");
    assert_eq!(still["last_status_code"], 503);
    assert_eq!(still["attempt_log"][11]["replay"], true);
    assert_eq!(still["attempt_log"][11]["status_code"], 503);
    assert!(
        still["next_attempt_at"].is_null(),
        "a replay is not retried"
    );

    // An unknown delivery is 404.
    app.post(
        &format!("/api/v1/webhook-deliveries/{}/replay", uuid::Uuid::now_v7()),
        &app.admin(),
        &json!({}),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn retry_after_is_honoured_and_410_disables_the_subscription() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    receiver.answer_next(Answer {
        status: 429,
        retry_after: Some("120"),
        delay: Duration::ZERO,
    });
    receiver.answer_next(Answer::status(410));
    let subscription = subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    place_order(&app, "WH-410").await;
    app.settle().await;
    let d = deliveries(&app, "").await.remove(0);
    assert_eq!(d["last_status_code"], 429);
    let next = chrono::DateTime::parse_from_rfc3339(d["next_attempt_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono::Utc);
    let wait = (next - app.db.now()).num_seconds();
    assert!(
        (115..=121).contains(&wait),
        "Retry-After 120 s honoured: {wait}"
    );

    app.db.advance_clock(Duration::from_secs(121));
    app.settle().await;
    let d = deliveries(&app, "").await.remove(0);
    assert_eq!(d["status"], "failed");
    let id = subscription["id"].as_str().unwrap();
    let sub = app
        .get(
            &format!("/api/v1/webhooks/subscriptions/{id}"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(sub["active"], false);
    assert!(sub["disabled_reason"].as_str().unwrap().contains("410"));

    // Disabled: new events are not delivered to it.
    place_order(&app, "WH-410-B").await;
    app.settle().await;
    assert_eq!(receiver.received().len(), 2);
    // Replaying to a disabled subscription is refused until it is re-enabled.
    app.post(
        &format!(
            "/api/v1/webhook-deliveries/{}/replay",
            d["id"].as_str().unwrap()
        ),
        &app.admin(),
        &json!({}),
    )
    .await
    .expect_problem(409, "subscription_inactive");
    let enabled = app
        .patch(
            &format!("/api/v1/webhooks/subscriptions/{id}"),
            &app.admin(),
            &json!({"active": true}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(enabled["active"], true);
    assert!(enabled["disabled_reason"].is_null());
    place_order(&app, "WH-410-C").await;
    app.settle().await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    let subscription = subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    let old = subscription["secret"].as_str().unwrap().to_owned();
    let id = subscription["id"].as_str().unwrap();
    let rotated = app
        .post(
            &format!("/api/v1/webhooks/subscriptions/{id}/rotate-secret"),
            &app.admin(),
            &json!({}),
        )
        .await
        .expect(200)
        .body;
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_expires_at"].is_string());

    place_order(&app, "WH-ROT").await;
    app.settle().await;
    let during = receiver.received().remove(0);
    assert_eq!(
        during.header("webhook-signature").split(' ').count(),
        2,
        "both signatures while the overlap lasts"
    );
    assert!(
        verify(&old, &during),
        "receivers on the old secret still verify"
    );
    assert!(verify(&new, &during), "receivers on the new secret verify");
    // Rotating again during the overlap would cut it short: refused.
    let path = format!("/api/v1/webhooks/subscriptions/{id}/rotate-secret");
    let (admin, empty) = (app.admin(), json!({}));
    let rotate = || app.post(&path, &admin, &empty);
    rotate().await.expect_problem(409, "rotation_in_progress");

    // After the overlap (24 h by default), only the new one signs.
    app.db.advance_clock(Duration::from_secs(25 * 3600));
    place_order(&app, "WH-ROT-2").await;
    app.settle().await;
    let after = receiver.received().remove(1);
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
    assert!(verify(&new, &after));
    assert!(!verify(&old, &after));
    // And the next rotation is allowed again, overlapping with `new`.
    let third = rotate().await.expect(200).body;
    place_order(&app, "WH-ROT-3").await;
    app.settle().await;
    let last = receiver.received().remove(2);
    assert!(verify(&new, &last));
    assert!(verify(third["secret"].as_str().unwrap(), &last));
}

#[tokio::test]
async fn internal_addresses_are_refused_at_registration_and_at_connect_time() {
    // No allow-list: the default.
    let app = spawn_app_with(&[("DINGDAN_WEBHOOK_ALLOW_HTTP", "true")]).await;
    let receiver = Receiver::start().await;
    let port = receiver.port;
    for host in [
        "127.0.0.1".to_owned(),
        "[::1]".to_owned(),
        "10.1.2.3".to_owned(),
        "169.254.169.254".to_owned(),
        "[::ffff:127.0.0.1]".to_owned(),
        "[::ffff:7f00:1]".to_owned(),
        "0.0.0.0".to_owned(),
        "192.168.0.10".to_owned(),
    ] {
        let reply = app
            .post(
                "/api/v1/webhooks/subscriptions",
                &app.admin(),
                &json!({"url": format!("http://{host}:{port}/hook"), "event_types": ["*"]}),
            )
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            reply.body.to_string().contains("forbidden_address"),
            "{host}: {}",
            reply.body
        );
    }
    // A name is judged when connecting: `localhost` resolves to loopback.
    let sub = subscribe(
        &app,
        &format!("http://localhost:{port}/hook"),
        json!(["order.created"]),
    )
    .await;
    place_order(&app, "WH-SSRF").await;
    app.settle().await;
    assert!(
        receiver.received().is_empty(),
        "nothing reached the loopback receiver"
    );
    let d = deliveries(
        &app,
        &format!("subscription_id={}", sub["id"].as_str().unwrap()),
    )
    .await
    .remove(0);
    assert_eq!(d["status"], "pending");
    assert!(d["last_status_code"].is_null());
    assert!(
        d["last_error"].as_str().unwrap().contains("may not call"),
        "{}",
        d["last_error"]
    );

    // Without DINGDAN_WEBHOOK_ALLOW_HTTP, only https.
    let strict = spawn_app_with(&[]).await;
    strict
        .post(
            "/api/v1/webhooks/subscriptions",
            &strict.admin(),
            &json!({"url": "http://erp.example.com/hook", "event_types": ["*"]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    strict
        .post(
            "/api/v1/webhooks/subscriptions",
            &strict.admin(),
            &json!({"url": "https://erp.example.com/hook", "event_types": ["order.*", "transfer.received"]}),
        )
        .await
        .expect(201);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    // 307 to `/elsewhere` on the same receiver: following it would be a
    // second request.
    receiver.answer_always(Answer::status(307));
    subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    place_order(&app, "WH-REDIR").await;
    app.settle().await;
    assert_eq!(
        receiver.received().len(),
        1,
        "the redirect was not followed"
    );
    let d = deliveries(&app, "").await.remove(0);
    assert_eq!(d["status"], "pending");
    assert_eq!(d["last_status_code"], 307);
}

#[tokio::test]
async fn subscriptions_are_validated_and_for_admins_and_integrations_only() {
    let app = app_allowing_loopback().await;
    let reply = app
        .post(
            "/api/v1/webhooks/subscriptions",
            &app.admin(),
            &json!({"url": "ftp://x", "event_types": ["order.nope", "nothing.*"]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let paths = reply.error_paths();
    assert!(paths.contains(&"event_types[0]".to_owned()), "{paths:?}");
    assert!(paths.contains(&"event_types[1]".to_owned()), "{paths:?}");
    app.post(
        "/api/v1/webhooks/subscriptions",
        &app.admin(),
        &json!({"url": "https://x.example", "event_types": []}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/webhooks/subscriptions",
        &app.admin(),
        &json!({"url": "https://x.example", "event_types": ["*"], "customer_id": uuid::Uuid::now_v7()}),
    )
    .await
    .expect_problem(422, "validation_failed");

    let integration = app.token(&[Role::Integration]);
    app.post(
        "/api/v1/webhooks/subscriptions",
        &integration,
        &json!({"url": "https://x.example/h", "event_types": ["order.*"]}),
    )
    .await
    .expect(201);
    let sales = app.token(&[Role::Sales]);
    app.get("/api/v1/webhooks/subscriptions", &sales)
        .await
        .expect_problem(403, "forbidden");
    let customer = app.create_customer("C-WH-P", json!({})).await;
    let partner = app.partner(customer["id"].as_str().unwrap().parse().unwrap());
    app.get("/api/v1/webhook-deliveries", &partner)
        .await
        .expect_problem(403, "forbidden");
    let list = app
        .get("/api/v1/webhooks/subscriptions", &integration)
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0].get("secret").is_none());
}

#[tokio::test]
async fn a_customer_scoped_subscription_gets_only_that_customers_events() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    let mine = place_order(&app, "WH-SCOPE-A").await;
    app.settle().await;
    let customer_id = mine["customer_id"].as_str().unwrap();
    app.post(
        "/api/v1/webhooks/subscriptions",
        &app.admin(),
        &json!({"url": receiver.url("/scoped"), "event_types": ["*"], "customer_id": customer_id}),
    )
    .await
    .expect(201);
    place_order(&app, "WH-SCOPE-B").await;
    // Another order of the first customer.
    let again = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &json!({
                "channel": "web", "external_ref": "WH-SCOPE-A2", "customer_id": customer_id,
                "currency": "CNY", "ship_to": address(),
                "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
                "lines": [{"sku": "SKU-WH-SCOPE-A", "quantity": 1}],
            }),
        )
        .await
        .expect(201)
        .body;
    app.settle().await;
    let received = receiver.received();
    let types: Vec<String> = received
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(types.contains(&"order.created".to_owned()), "{types:?}");
    assert!(
        received
            .iter()
            .all(|r| r.json()["resource"]["id"] == again["id"])
    );
    // The customer's scope sees what its partner token would: no review internals.
    assert!(
        types.iter().all(|t| !t.starts_with("order.review_")),
        "{types:?}"
    );
}

#[tokio::test]
async fn the_event_catalog_lists_every_type_with_its_schema() {
    let app = app_allowing_loopback().await;
    let catalog = app
        .get("/api/v1/events/types", &app.admin())
        .await
        .expect(200)
        .body;
    let items = catalog["items"].as_array().unwrap();
    let allocated = items
        .iter()
        .find(|t| t["type"] == "order.allocated")
        .expect("order.allocated");
    assert_eq!(allocated["published"], true);
    assert_eq!(allocated["resource"], "order");
    assert_eq!(allocated["schema_version"], 1);
    assert_eq!(
        allocated["data_schema"]["properties"]["complete"]["type"],
        "boolean"
    );
    assert!(items.iter().any(|t| t["type"] == "transfer.received"));
    assert!(
        catalog["envelope_schema"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("schema_version"))
    );

    // GraphQL: the same catalog, and subscriptions managed there too.
    let reply = app
        .graphql(
            Some(&app.admin()),
            r#"mutation($url: String!) {
                 createWebhookSubscription(input: {url: $url, eventTypes: ["order.*"]}) { id secret active }
               }"#,
            json!({"url": "https://erp.example.com/gql"}),
        )
        .await
        .expect(200);
    let created = &reply.body["data"]["createWebhookSubscription"];
    assert!(
        created["secret"].as_str().unwrap().starts_with("whsec_"),
        "{}",
        reply.body
    );
    let reply = app
        .graphql(
            Some(&app.admin()),
            "{ eventTypes { type published } webhookSubscriptions { edges { node { url eventTypes } } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["webhookSubscriptions"]["edges"][0]["node"]["url"],
        "https://erp.example.com/gql"
    );
    assert!(reply.body["data"]["eventTypes"].as_array().unwrap().len() >= 20);
    let reply = app
        .graphql(
            Some(&app.token(&[Role::Sales])),
            "{ webhookSubscriptions { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(reply.body["errors"][0]["extensions"]["code"], "forbidden");
}

fn worker(app: &TestApp, lease_seconds: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_dingdan"))
        .arg("worker")
        .env("DATABASE_URL", &app.database.url)
        .env(
            "DINGDAN_JWT_SECRET",
            "a-test-secret-that-is-long-enough-0123456789",
        )
        .env("DINGDAN_JOB_WORKERS", "2")
        .env("DINGDAN_JOB_LEASE_SECONDS", lease_seconds)
        .env("DINGDAN_WEBHOOK_ALLOW_HTTP", "true")
        .env("DINGDAN_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.1/32")
        .env("DINGDAN_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start a worker process")
}

async fn wait_until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn two_worker_processes_deliver_each_event_exactly_once() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    // Slow answers keep attempts in flight while the other process looks.
    receiver.answer_always(Answer {
        status: 200,
        retry_after: None,
        delay: Duration::from_millis(30),
    });
    subscribe(&app, &receiver.url("/hook"), json!(["*"])).await;
    let mut a = worker(&app, "300");
    let mut b = worker(&app, "300");
    for n in 0..12 {
        place_order(&app, &format!("WH-TWO-{n}")).await;
    }
    let expected = async || {
        let rows = deliveries(&app, "limit=200").await;
        dingdan::service::jobs::outstanding(&app.db).await.unwrap() == 0
            && !rows.is_empty()
            && rows.iter().all(|d| d["status"] == "succeeded")
    };
    wait_until("every delivery to succeed", expected).await;
    a.kill().ok();
    b.kill().ok();
    a.wait().ok();
    b.wait().ok();
    let rows = deliveries(&app, "limit=200").await;
    assert!(rows.len() >= 36, "{} deliveries", rows.len());
    let retried: Vec<&Value> = rows.iter().filter(|d| d["attempts"] != 1).collect();
    assert!(retried.is_empty(), "retried deliveries: {retried:?}");
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in receiver.received() {
        *per_id.entry(r.header("webhook-id").to_owned()).or_default() += 1;
    }
    assert_eq!(per_id.len(), rows.len());
    assert!(per_id.values().all(|n| *n == 1), "duplicates: {per_id:?}");
}

#[tokio::test]
async fn a_delivery_held_by_a_killed_worker_is_retaken() {
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    // The first request hangs: the worker sending it is killed meanwhile.
    receiver.answer_next(Answer {
        status: 200,
        retry_after: None,
        delay: Duration::from_secs(60),
    });
    subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    place_order(&app, "WH-KILL").await;
    let mut first = worker(&app, "2");
    wait_until("the first attempt to reach the receiver", async || {
        !receiver.received().is_empty()
    })
    .await;
    first.kill().expect("kill the worker");
    first.wait().ok();
    let mut second = worker(&app, "2");
    wait_until("the delivery to succeed", async || {
        deliveries(&app, "").await[0]["status"] == "succeeded"
    })
    .await;
    second.kill().ok();
    second.wait().ok();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].header("webhook-id"),
        received[1].header("webhook-id")
    );
}

#[tokio::test]
async fn a_name_resolving_to_an_allowed_network_is_delivered_to() {
    // The guarded resolver hands the connector only permitted addresses:
    // `localhost` may resolve to ::1 and 127.0.0.1; only the latter is listed.
    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    subscribe(
        &app,
        &format!("http://localhost:{}/hook", receiver.port),
        json!(["order.created"]),
    )
    .await;
    place_order(&app, "WH-NAME").await;
    app.settle().await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(deliveries(&app, "").await[0]["status"], "succeeded");
}

#[tokio::test]
async fn a_delivery_whose_job_gives_up_is_dead_lettered_and_can_be_replayed() {
    use dingdan_entity::job;
    use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, sea_query::Expr};

    let app = app_allowing_loopback().await;
    let receiver = Receiver::start().await;
    receiver.answer_next(Answer::status(500));
    subscribe(&app, &receiver.url("/hook"), json!(["order.created"])).await;
    place_order(&app, "WH-ABANDON").await;
    app.settle().await;
    let pending = deliveries(&app, "").await.remove(0);
    assert_eq!(pending["status"], "pending");

    // Its retry job was claimed by workers that all died mid-send: the
    // lease ran out on its last allowed attempt.
    let conn = sea_orm::Database::connect(&app.database.url).await.unwrap();
    let changed = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::val("running"))
        .col_expr(job::Column::LockedBy, Expr::val("a-dead-worker"))
        .col_expr(
            job::Column::LockedUntil,
            Expr::val(chrono::Utc::now() - chrono::Duration::hours(1)),
        )
        .col_expr(job::Column::Attempts, Expr::col(job::Column::MaxAttempts))
        .filter(job::Column::Kind.eq("deliver_webhook"))
        .filter(job::Column::Status.eq("queued"))
        .exec(&conn)
        .await
        .unwrap();
    assert_eq!(changed.rows_affected, 1);
    conn.close().await.unwrap();
    // (Not `settle`, which fails the test on a failed job: here one must.)
    let run = async || {
        dingdan::service::jobs::run_due(&app.db, "test")
            .await
            .unwrap()
    };
    assert_eq!(run().await, 1);
    let failed = dingdan::service::jobs::failed(&app.db).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].0, "deliver_webhook");

    let dead = deliveries(&app, "").await.remove(0);
    assert_eq!(dead["status"], "dead", "{dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("worker stopped"),
        "{dead}"
    );
    assert_eq!(receiver.received().len(), 1, "nothing was sent meanwhile");
    assert_eq!(
        dingdan::service::jobs::outstanding(&app.db).await.unwrap(),
        0
    );

    // A dead letter can be replayed like any other.
    let id = dead["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/webhook-deliveries/{id}/replay"),
        &app.admin(),
        &json!({}),
    )
    .await
    .expect(202);
    assert_eq!(run().await, 1);
    let done = deliveries(&app, "").await.remove(0);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(receiver.received().len(), 2);
}
