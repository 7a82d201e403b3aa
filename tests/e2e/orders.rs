//! Order intake: every channel, completeness, confirmation, numbering,
//! totals, ETags, idempotency, cancellation, the timeline and partner scope.

use std::collections::BTreeSet;

use dingdan::domain::actor::Role;
use dingdan_tests::{TestApp, address, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// A customer, two products (one taxed at 13 %) in stock, and a complete
/// order body: with the default review policy such an order is approved at once.
async fn setup(app: &TestApp) -> (String, Value) {
    let customer = app
        .create_customer("C-ORD", json!({"credit_limit": "100000000.00"}))
        .await;
    app.create_product(
        "TEA-001",
        json!({"list_price": "88.00", "tax_rate": "0.13", "lead_time_days": 2}),
    )
    .await;
    app.create_product("CUP-1", json!({"list_price": "12.50"}))
        .await;
    let warehouse = app.create_warehouse("WH-ORD", json!({})).await;
    let wh = warehouse["id"].as_str().unwrap();
    app.receive(wh, "TEA-001", 100_000, json!({}))
        .await
        .expect(201);
    app.receive(wh, "CUP-1", 100_000, json!({}))
        .await
        .expect(201);
    let id = customer["id"].as_str().unwrap().to_owned();
    let body = json!({
        "channel": "web", "external_ref": "WEB-77812", "customer_id": id, "currency": "CNY",
        "ship_to": address(),
        "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101", "email": "liwei@example.com"},
        "lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "88.00", "custom_spec": null},
                  {"sku": "CUP-1", "quantity": 3}],
        "requested_delivery_date": "2030-12-05", "special_instructions": "call before delivery",
        "invoice": {"title": "Hangzhou Trading Co.", "tax_id": "91330100MA27XXXX"}
    });
    (id, body)
}

/// Keeps orders in review (the final stage waits for a person), so their
/// data can still change.
async fn hold_in_review(app: &TestApp) {
    app.send(
        Method::PUT,
        "/api/v1/review-policy",
        Some(&app.admin()),
        Some(&json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": true},
                                "inventory": {"auto_approve": true}, "final": {"auto_approve": false}}})),
    )
    .await
    .expect(200);
}

fn year() -> i32 {
    chrono::Datelike::year(&chrono::Utc::now())
}

#[tokio::test]
async fn a_complete_order_is_confirmed_numbered_priced_promised_and_approved() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app).await;
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201);
    let order = &reply.body;
    let id = order["id"].as_str().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/orders/{id}").as_str())
    );
    // Created (1), in review (2), approved (3): every step is a version.
    assert_eq!(reply.header("etag"), Some("\"3\""));
    assert_eq!(order["status"], "approved");
    assert!(order["approved_at"].is_string());
    assert_eq!(order["number"], format!("SO-{}-000001", year()));
    assert_eq!(order["customer_id"], customer_id);
    assert_eq!(order["channel"], "web");
    assert_eq!(order["external_ref"], "WEB-77812");
    assert_eq!(order["findings"], json!([]));
    assert_eq!(order["version"], 3);
    // 2 × 88.00 = 176.00, tax 13 % = 22.88; 3 × 12.50 (list price) = 37.50, no tax.
    let lines = order["lines"].as_array().unwrap();
    assert_eq!(
        (
            &lines[0]["subtotal"],
            &lines[0]["tax"],
            &lines[0]["total"],
            &lines[0]["discount"]
        ),
        (
            &json!("176.00"),
            &json!("22.88"),
            &json!("198.88"),
            &json!("0.00")
        )
    );
    assert_eq!(
        (&lines[1]["unit_price"], &lines[1]["total"]),
        (&json!("12.50"), &json!("37.50"))
    );
    assert_eq!(
        (
            &order["subtotal"],
            &order["discount_total"],
            &order["tax_total"],
            &order["total"]
        ),
        (
            &json!("213.50"),
            &json!("0.00"),
            &json!("22.88"),
            &json!("236.38")
        )
    );
    // The requested date can be met (lead time 2 days + 1 handling day).
    assert_eq!(order["promised_delivery_date"], "2030-12-05");
    assert_eq!(order["invoice"]["tax_id"], "91330100MA27XXXX");
    assert_eq!(order["ship_to"], address());
    let read = app
        .get(&format!("/api/v1/orders/{id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(read.body, reply.body);
    assert_eq!(read.header("etag"), Some("\"3\""));
    let events = app
        .get(&format!("/api/v1/events?resource_id={id}"), &app.admin())
        .await
        .expect(200);
    let types: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["order.created", "order.confirmed", "order.approved"]
    );
}

#[tokio::test]
async fn every_channel_is_accepted_and_numbers_follow_each_other() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let mut numbers = Vec::new();
    for channel in ["web", "marketplace", "phone", "fax", "email", "erp", "api"] {
        let mut order = body.clone();
        order["channel"] = json!(channel);
        let reply = app
            .post("/api/v1/orders", &app.admin(), &order)
            .await
            .expect(201);
        assert_eq!(reply.body["channel"], channel);
        assert_eq!(reply.body["status"], "approved");
        numbers.push(reply.body["number"].as_str().unwrap().to_owned());
    }
    let expected: Vec<String> = (1..=7).map(|n| format!("SO-{}-{n:06}", year())).collect();
    assert_eq!(numbers, expected);
    app.post(
        "/api/v1/orders",
        &app.admin(),
        &json!({"channel": "pigeon", "lines": []}),
    )
    .await
    .expect_problem(400, "invalid_type");
}

#[tokio::test]
async fn an_unmet_request_date_is_moved_to_the_earliest_feasible_one() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body["requested_delivery_date"] = json!("2020-01-01");
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201);
    // today + longest lead time (2) + handling (1).
    let expected = chrono::Utc::now().date_naive() + chrono::Days::new(3);
    assert_eq!(reply.body["promised_delivery_date"], expected.to_string());
    let slow = spawn_app_with_handling(5).await;
    let (_, mut body) = setup(&slow).await;
    body["requested_delivery_date"] = Value::Null;
    let reply = slow
        .post("/api/v1/orders", &slow.admin(), &body)
        .await
        .expect(201);
    let expected = chrono::Utc::now().date_naive() + chrono::Days::new(7);
    assert_eq!(reply.body["promised_delivery_date"], expected.to_string());
}

async fn spawn_app_with_handling(days: u32) -> TestApp {
    dingdan_tests::spawn_app_with(&[("DINGDAN_HANDLING_DAYS", &days.to_string())]).await
}

#[tokio::test]
async fn an_incomplete_order_is_kept_with_findings_until_fixed() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    app.create_product("FREE-1", json!({"list_price": "0"}))
        .await;
    let warehouses = app
        .get("/api/v1/warehouses", &app.admin())
        .await
        .expect(200);
    let wh = warehouses.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.receive(&wh, "FREE-1", 10, json!({})).await.expect(201);
    body["currency"] = json!("USD");
    body["ship_to"] =
        json!({"name": "Li Wei", "line1": "88 Century Ave", "city": "Shanghai", "country": "CN"});
    body["contact"] = json!({"name": "Li Wei"});
    body["lines"] = json!([
        {"sku": "AB-9", "quantity": 1, "unit_price": "5.00"},
        {"sku": "TEA-001", "quantity": 0, "unit_price": "88.00"},
        {"sku": "FREE-1", "quantity": 1}
    ]);
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201);
    let order = &reply.body;
    assert_eq!(order["status"], "pending_info");
    assert_eq!(order["number"], Value::Null);
    assert_eq!(order["promised_delivery_date"], Value::Null);
    let findings: Vec<(String, String)> = order["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("currency_mismatch", "currency"),
        ("unknown_sku", "lines[0].sku"),
        ("invalid_quantity", "lines[1].quantity"),
        ("missing_price", "lines[2].unit_price"),
        ("missing_field", "ship_to.phone"),
        ("missing_field", "ship_to.region"),
        ("missing_field", "ship_to.postal_code"),
        ("missing_field", "contact"),
    ];
    assert_eq!(
        findings,
        expected.map(|(c, p)| (c.to_owned(), p.to_owned())).to_vec()
    );
    // Nothing was dropped: every line is kept as sent.
    assert_eq!(order["lines"][0]["sku"], "AB-9");
    assert_eq!(order["lines"][0]["product_id"], Value::Null);
    assert_eq!(order["lines"][1]["quantity"], 0);
    let id = order["id"].as_str().unwrap();
    let events = app
        .get(&format!("/api/v1/events?resource_id={id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(events.body["items"][0]["type"], "order.created");
    assert_eq!(events.body["items"][1]["type"], "order.info_requested");
    assert_eq!(
        events.body["items"][1]["data"]["findings"],
        order["findings"]
    );
    assert_eq!(events.body["items"][1]["resource"]["version"], 1);

    // Supplying the missing data confirms it.
    let fixed = app
        .send(
            Method::PATCH,
            &format!("/api/v1/orders/{id}"),
            Some(&app.admin()),
            Some(&json!({
                "currency": "CNY",
                "ship_to": address(),
                "contact": {"name": "Li Wei", "email": "liwei@example.com"},
                "lines": [{"sku": "TEA-001", "quantity": 1, "unit_price": "88.00"}, {"sku": "FREE-1", "quantity": 1, "unit_price": "3.00"}]
            })),
        )
        .await;
    // If-Match is required.
    let fixed = fixed.expect_problem(428, "precondition_required");
    assert!(fixed.body["detail"].as_str().unwrap().contains("If-Match"));
    let patch = json!({
        "currency": "CNY",
        "ship_to": address(),
        "contact": {"name": "Li Wei", "email": "liwei@example.com"},
        "lines": [{"sku": "TEA-001", "quantity": 1, "unit_price": "88.00"}, {"sku": "FREE-1", "quantity": 1, "unit_price": "3.00"}]
    });
    let reply = patch_order(&app, id, "\"1\"", &patch).await.expect(200);
    // Confirmed (2), in review (3), approved (4) in one go.
    assert_eq!(reply.body["status"], "approved");
    assert_eq!(reply.body["number"], format!("SO-{}-000001", year()));
    assert_eq!(reply.body["findings"], json!([]));
    assert_eq!(reply.body["total"], "102.44");
    assert_eq!(reply.header("etag"), Some("\"4\""));
    let events = app
        .get(&format!("/api/v1/events?resource_id={id}"), &app.admin())
        .await
        .expect(200);
    let types: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "order.created",
            "order.info_requested",
            "order.updated",
            "order.confirmed",
            "order.approved"
        ]
    );
    let confirmed = &events.body["items"][3];
    assert_eq!(confirmed["data"]["number"], reply.body["number"]);
    assert_eq!(confirmed["data"]["total"], "102.44");
    assert_eq!(confirmed["data"]["lines"][0]["sku"], "TEA-001");
    assert_eq!(
        confirmed["data"]["promised_delivery_date"],
        reply.body["promised_delivery_date"]
    );
    assert_eq!(confirmed["resource"]["version"], 2);
}

async fn patch_order(
    app: &TestApp,
    id: &str,
    if_match: &str,
    body: &Value,
) -> dingdan_tests::Reply {
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/orders/{id}")))
        .bearer_auth(app.admin())
        .header("if-match", if_match)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    dingdan_tests::Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

#[tokio::test]
async fn removing_required_data_sends_an_order_in_review_back_and_keeps_its_number() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    hold_in_review(&app).await;
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    assert_eq!(order["status"], "in_review");
    let id = order["id"].as_str().unwrap();
    let reply = patch_order(
        &app,
        id,
        "\"2\"",
        &json!({"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]}),
    )
    .await
    .expect(200);
    assert_eq!(reply.body["status"], "pending_info");
    assert_eq!(reply.body["number"], order["number"]);
    assert_eq!(reply.body["findings"][0]["code"], "unknown_sku");
}

#[tokio::test]
async fn missing_parts_default_from_the_customer() {
    let app = spawn_app().await;
    let (customer_id, _) = setup(&app).await;
    let reply = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &json!({"channel": "phone", "customer_id": customer_id, "lines": [{"sku": "CUP-1", "quantity": 1}]}),
        )
        .await
        .expect(201);
    assert_eq!(reply.body["status"], "approved", "{}", reply.text);
    assert_eq!(reply.body["currency"], "CNY");
    assert_eq!(reply.body["ship_to"], address());
    assert_eq!(reply.body["contact"]["name"], "Wang Fang");
}

#[tokio::test]
async fn unknown_and_inactive_customers_are_refused() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body["customer_id"] = json!(uuid::Uuid::now_v7());
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "unknown_customer");
    let inactive = app
        .create_customer("C-GONE", json!({"status": "inactive"}))
        .await;
    body["customer_id"] = inactive["id"].clone();
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "inactive_customer");
    body.as_object_mut().unwrap().remove("customer_id");
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["customer_id"]);
}

#[tokio::test]
async fn etags_guard_concurrent_changes() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    hold_in_review(&app).await;
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap();
    let path = format!("/api/v1/orders/{id}");
    let change = json!({"special_instructions": "leave at the door"});
    assert_eq!(order["version"], 2);
    let first = patch_order(&app, id, "\"2\"", &change).await.expect(200);
    assert_eq!(first.header("etag"), Some("\"3\""));
    // A writer still holding version 2 is refused, and told the current one.
    let stale = patch_order(
        &app,
        id,
        "\"2\"",
        &json!({"special_instructions": "ring twice"}),
    )
    .await
    .expect_problem(412, "version_mismatch");
    assert_eq!(stale.header("etag"), Some("\"3\""));
    // If-Match compares strongly: a weak tag never matches.
    patch_order(
        &app,
        id,
        "W/\"3\"",
        &json!({"requested_delivery_date": null}),
    )
    .await
    .expect_problem(412, "version_mismatch");
    patch_order(&app, id, "\"3\"", &json!({"requested_delivery_date": null}))
        .await
        .expect(200);
    patch_order(&app, id, "*", &json!({"special_instructions": null}))
        .await
        .expect(200);
    patch_order(&app, id, "three", &change)
        .await
        .expect_problem(400, "invalid_header");
    // A change that changes nothing keeps the version.
    let same = patch_order(&app, id, "\"5\"", &json!({"special_instructions": null}))
        .await
        .expect(200);
    assert_eq!(same.header("etag"), Some("\"5\""));
    let response = app
        .client
        .get(app.url(&path))
        .bearer_auth(app.admin())
        .header("if-none-match", "\"5\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    let read = app.get(&path, &app.admin()).await.expect(200);
    assert_eq!(read.body["special_instructions"], Value::Null);
    assert_eq!(read.body["requested_delivery_date"], Value::Null);
}

#[tokio::test]
async fn concurrent_patches_of_one_version_let_exactly_one_win() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    hold_in_review(&app).await;
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap().to_owned();
    let attempts = (0..10).map(|i| {
        let app = &app;
        let id = id.clone();
        async move {
            patch_order(
                app,
                &id,
                "\"2\"",
                &json!({"special_instructions": format!("note {i}")}),
            )
            .await
            .status
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 412),
        "{statuses:?}"
    );
    let read = app
        .get(&format!("/api/v1/orders/{id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(read.body["version"], 3);
}

#[tokio::test]
async fn a_second_order_with_the_same_external_reference_points_to_the_first() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let first = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect_problem(409, "duplicate_external_ref");
    assert_eq!(reply.body["existing_id"], first["id"]);
    // The same reference in another channel or source account is another order.
    let mut other_channel = body.clone();
    other_channel["channel"] = json!("erp");
    app.post("/api/v1/orders", &app.admin(), &other_channel)
        .await
        .expect(201);
    let mut other_account = body.clone();
    other_account["source_account"] = json!("shop-2");
    app.post("/api/v1/orders", &app.admin(), &other_account)
        .await
        .expect(201);

    // Racing duplicates: exactly one is created.
    let mut racing = body.clone();
    racing["external_ref"] = json!("WEB-RACE");
    let admin = app.admin();
    let attempts = (0..20).map(|_| app.post("/api/v1/orders", &admin, &racing));
    let replies = futures_util::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let winner = replies.iter().find(|r| r.status == 201).unwrap().body["id"].clone();
    for reply in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.text);
        assert_eq!(reply.body["existing_id"], winner);
    }
}

#[tokio::test]
async fn numbers_are_gap_free_under_concurrent_creates() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let admin = app.admin();
    let attempts = (0..100).map(|i| {
        let mut order = body.clone();
        order["external_ref"] = json!(format!("WEB-{i}"));
        let app = &app;
        let admin = admin.clone();
        async move { app.post("/api/v1/orders", &admin, &order).await }
    });
    let replies = futures_util::future::join_all(attempts).await;
    let numbers: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text);
            r.body["number"].as_str().unwrap().to_owned()
        })
        .collect();
    let expected: BTreeSet<String> = (1..=100).map(|n| format!("SO-{}-{n:06}", year())).collect();
    assert_eq!(numbers, expected);
}

#[tokio::test]
async fn fifty_identical_creates_with_one_key_make_one_order() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body.as_object_mut().unwrap().remove("external_ref");
    let admin = app.admin();
    let attempts = (0..50).map(|_| {
        let request = app
            .client
            .post(app.url("/api/v1/orders"))
            .bearer_auth(&admin)
            .header("idempotency-key", "storefront-cart-42")
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    });
    let replies = futures_util::future::join_all(attempts).await;
    assert!(
        replies.iter().all(|(status, _)| *status == 201),
        "{replies:?}"
    );
    let first = &replies[0].1;
    assert!(
        replies.iter().all(|(_, text)| text == first),
        "every reply is the first response"
    );
    let list = app.get("/api/v1/orders", &app.admin()).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_order_and_its_events_are_stored_together_or_not_at_all() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    // Make writing the confirmation event fail, after the order row is written.
    let (install, remove) = if app.database.is_postgres() {
        (
            vec![
                "CREATE FUNCTION fail_confirmed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event_type = 'order.confirmed' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$",
                "CREATE TRIGGER fail_confirmed BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_confirmed()",
            ],
            "DROP TRIGGER fail_confirmed ON outbox",
        )
    } else {
        (
            vec![
                "CREATE TRIGGER fail_confirmed BEFORE INSERT ON outbox WHEN NEW.event_type = 'order.confirmed' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            ],
            "DROP TRIGGER fail_confirmed",
        )
    };
    for sql in install {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    app.post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect_problem(500, "internal");
    let list = app.get("/api/v1/orders", &app.admin()).await.expect(200);
    assert_eq!(list.body["items"], json!([]), "no order without its events");
    let events = app.get("/api/v1/events", &app.admin()).await.expect(200);
    assert_eq!(events.body["items"], json!([]));
    app.db.execute_unprepared(remove).await.unwrap();
    // The failed attempt used no number, and its external reference is free.
    let reply = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201);
    assert_eq!(reply.body["number"], format!("SO-{}-000001", year()));
}

#[tokio::test]
async fn cancelling_needs_a_reason_and_a_state_that_allows_it() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap();
    let cancel = format!("/api/v1/orders/{id}/cancel");
    let reply = app
        .post(&cancel, &app.admin(), &json!({"reason": "  "}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["reason"]);
    let cancelled = app
        .post(
            &cancel,
            &app.admin(),
            &json!({"reason": "customer withdrew"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["cancel_reason"], "customer withdrew");
    assert!(cancelled.body["cancelled_at"].is_string());
    let again = app
        .post(&cancel, &app.admin(), &json!({"reason": "twice"}))
        .await
        .expect_problem(409, "invalid_transition");
    assert!(
        again.body["detail"].as_str().unwrap().contains("cancelled"),
        "{}",
        again.text
    );
    patch_order(&app, id, "*", &json!({"special_instructions": "x"}))
        .await
        .expect_problem(409, "invalid_transition");
    // Only staff who may cancel, or the customer itself.
    let other = app
        .post("/api/v1/orders", &app.admin(), &{
            let mut b = body.clone();
            b["external_ref"] = json!("W-2");
            b
        })
        .await
        .expect(201)
        .body;
    app.post(
        &format!("/api/v1/orders/{}/cancel", other["id"].as_str().unwrap()),
        &app.token(&[Role::Warehouse]),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn the_timeline_records_every_change_with_actor_and_channel() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body["lines"] = json!([{"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]);
    let order = app
        .post(
            "/api/v1/orders",
            &app.token_for("li.sales", &[Role::Sales]),
            &body,
        )
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap();
    patch_order(
        &app,
        id,
        "\"1\"",
        &json!({"lines": [{"sku": "CUP-1", "quantity": 2}]}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/orders/{id}/cancel"),
        &app.admin(),
        &json!({"reason": "duplicate"}),
    )
    .await
    .expect(200);
    let timeline = app
        .get(&format!("/api/v1/orders/{id}/timeline"), &app.admin())
        .await
        .expect(200);
    let entries = timeline.body["items"].as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "order.created",
            "order.info_requested",
            "order.updated",
            "order.confirmed",
            "order.review_started",
            "order.review_decided",
            "order.review_decided",
            "order.review_decided",
            "order.review_decided",
            "order.approved",
            "order.cancelled"
        ]
    );
    assert_eq!(
        entries[0]["actor"],
        json!({"sub": "li.sales", "roles": ["sales"]})
    );
    assert_eq!(entries[0]["channel"], "web");
    assert_eq!(entries[2]["actor"]["sub"], "test-user");
    let change = &entries[2]["data"]["changes"]["lines"];
    assert_eq!(change["from"][0]["sku"], "NOPE");
    assert_eq!(change["to"][0]["sku"], "CUP-1");
    assert_eq!(entries.last().unwrap()["data"]["reason"], "duplicate");
    assert!(entries.iter().all(|e| e["at"].is_string()));
    // The timeline cannot be rewritten.
    assert!(
        app.db
            .execute_unprepared("DELETE FROM order_events")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn lists_filter_and_page_newest_first() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app).await;
    let other = app.create_customer("C-OTHER", json!({})).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut order = body.clone();
        order["external_ref"] = json!(format!("REF-{i}"));
        order["channel"] = json!(if i % 2 == 0 { "web" } else { "erp" });
        if i == 4 {
            order["customer_id"] = other["id"].clone();
        }
        if i == 3 {
            order["lines"] = json!([{"sku": "NOPE", "quantity": 1}]);
        }
        ids.push(
            app.post("/api/v1/orders", &app.admin(), &order)
                .await
                .expect(201)
                .body["id"]
                .clone(),
        );
    }
    let all = app
        .get("/api/v1/orders?limit=2", &app.admin())
        .await
        .expect(200);
    assert_eq!(all.body["items"][0]["id"], ids[4], "newest first");
    let cursor = all.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/orders?limit=2&after={cursor}"),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(second.body["items"][0]["id"], ids[2]);
    let count = |body: &Value| body["items"].as_array().unwrap().len();
    assert_eq!(
        count(
            &app.get("/api/v1/orders?channel=erp", &app.admin())
                .await
                .expect(200)
                .body
        ),
        2
    );
    assert_eq!(
        count(
            &app.get("/api/v1/orders?status=pending_info", &app.admin())
                .await
                .expect(200)
                .body
        ),
        1
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/api/v1/orders?customer_id={customer_id}"),
                &app.admin()
            )
            .await
            .expect(200)
            .body
        ),
        4
    );
    let by_ref = app
        .get("/api/v1/orders?external_ref=REF-2", &app.admin())
        .await
        .expect(200);
    assert_eq!(by_ref.body["items"][0]["id"], ids[2]);
    let number = by_ref.body["items"][0]["number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        count(
            &app.get(&format!("/api/v1/orders?number={number}"), &app.admin())
                .await
                .expect(200)
                .body
        ),
        1
    );
    let later = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        count(
            &app.get(
                &format!("/api/v1/orders?created_after={later}"),
                &app.admin()
            )
            .await
            .expect(200)
            .body
        ),
        0
    );
    assert_eq!(
        count(
            &app.get(
                &format!("/api/v1/orders?created_before={later}&updated_before={later}"),
                &app.admin()
            )
            .await
            .expect(200)
            .body
        ),
        5
    );
    app.get("/api/v1/orders?status=lost", &app.admin())
        .await
        .expect_problem(400, "invalid_parameter");
    app.get("/api/v1/orders?created_after=yesterday", &app.admin())
        .await
        .expect_problem(400, "invalid_parameter");
}

#[tokio::test]
async fn partners_order_and_see_only_for_their_own_customer() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app).await;
    let other = app.create_customer("C-THEM", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let partner = app.partner(customer_id.parse().unwrap());
    // The customer defaults to the partner's own.
    let mut own = body.clone();
    own.as_object_mut().unwrap().remove("customer_id");
    let mine = app
        .post("/api/v1/orders", &partner, &own)
        .await
        .expect(201)
        .body;
    assert_eq!(mine["customer_id"], customer_id);
    // Ordering for someone else looks like ordering for nobody.
    let mut theirs = body.clone();
    theirs["customer_id"] = json!(other);
    theirs["external_ref"] = json!("X-1");
    let reply = app
        .post("/api/v1/orders", &partner, &theirs)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "unknown_customer");
    let staff_order = app
        .post("/api/v1/orders", &app.admin(), &theirs)
        .await
        .expect(201)
        .body;
    let staff_id = staff_order["id"].as_str().unwrap();
    app.get(&format!("/api/v1/orders/{staff_id}"), &partner)
        .await
        .expect_problem(404, "not_found");
    app.get(&format!("/api/v1/orders/{staff_id}/timeline"), &partner)
        .await
        .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/orders/{staff_id}/cancel"),
        &partner,
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let list = app.get("/api/v1/orders", &partner).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["items"][0]["id"], mine["id"]);
    let filtered = app
        .get(&format!("/api/v1/orders?customer_id={other}"), &partner)
        .await
        .expect(200);
    assert_eq!(filtered.body["items"], json!([]));
    let events = app.get("/api/v1/events", &partner).await.expect(200);
    assert!(
        events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"]["customer_id"] == customer_id.as_str())
    );
    // Its external references live in its own namespace.
    assert_eq!(mine["source_account"], customer_id);
    let gql = app
        .graphql(
            Some(&partner),
            "query($id: UUID!) { order(id: $id) { number } }",
            json!({"id": staff_id}),
        )
        .await;
    assert_eq!(gql.body["errors"][0]["extensions"]["code"], "not_found");
}

#[tokio::test]
async fn graphql_reads_the_same_order_as_rest() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let rest = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let reply = app
        .graphql(
            Some(&app.admin()),
            "query($id: UUID!) { order(id: $id) { id number status channel currency subtotal discountTotal taxTotal total
                promisedDeliveryDate version lines { lineNo sku quantity unitPrice subtotal discount tax total }
                timeline { edges { node { type actor { sub } } } } } }",
            json!({"id": rest["id"]}),
        )
        .await
        .expect(200);
    let gql = &reply.body["data"]["order"];
    assert!(reply.body["errors"].is_null(), "{}", reply.text);
    assert_eq!(gql["number"], rest["number"]);
    assert_eq!(gql["status"], "APPROVED");
    for (g, r) in [
        ("subtotal", "subtotal"),
        ("discountTotal", "discount_total"),
        ("taxTotal", "tax_total"),
        ("total", "total"),
        ("promisedDeliveryDate", "promised_delivery_date"),
    ] {
        assert_eq!(gql[g], rest[r], "{g}");
    }
    for (g, r) in gql["lines"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rest["lines"].as_array().unwrap())
    {
        assert_eq!(
            (
                &g["sku"],
                &g["quantity"],
                &g["unitPrice"],
                &g["total"],
                &g["tax"]
            ),
            (
                &r["sku"],
                &r["quantity"],
                &r["unit_price"],
                &r["total"],
                &r["tax"]
            )
        );
    }
    assert_eq!(
        gql["timeline"]["edges"][1]["node"]["type"],
        "order.confirmed"
    );
    let by_number = app
        .graphql(
            Some(&app.admin()),
            "query($n: String!) { orderByNumber(number: $n) { id } }",
            json!({"n": rest["number"]}),
        )
        .await;
    assert_eq!(by_number.body["data"]["orderByNumber"]["id"], rest["id"]);
}

#[tokio::test]
async fn graphql_creates_updates_and_cancels_orders() {
    let app = spawn_app().await;
    let (customer_id, _) = setup(&app).await;
    hold_in_review(&app).await;
    let create = "mutation($input: OrderInput!, $key: String) { createOrder(input: $input, idempotencyKey: $key) { id number status version findings { code path } } }";
    let input = json!({"channel": "API", "customerId": customer_id, "lines": [{"sku": "NOPE", "quantity": 1, "unitPrice": "2.00"}]});
    let first = app
        .graphql(
            Some(&app.admin()),
            create,
            json!({"input": input, "key": "gql-1"}),
        )
        .await
        .expect(200);
    let order = &first.body["data"]["createOrder"];
    assert_eq!(order["status"], "PENDING_INFO", "{}", first.text);
    assert_eq!(
        order["findings"][0],
        json!({"code": "unknown_sku", "path": "lines[0].sku"})
    );
    let again = app
        .graphql(
            Some(&app.admin()),
            create,
            json!({"input": input, "key": "gql-1"}),
        )
        .await
        .expect(200);
    assert_eq!(
        again.body["data"]["createOrder"]["id"], order["id"],
        "the key replays"
    );
    let update = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: UUID!) { updateOrder(id: $id, version: 1, input: {lines: [{sku: \"CUP-1\", quantity: 4}]}) { status number total version } }",
            json!({"id": order["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        update.body["data"]["updateOrder"]["status"], "IN_REVIEW",
        "{}",
        update.text
    );
    assert_eq!(update.body["data"]["updateOrder"]["total"], "50.00");
    let stale = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: UUID!) { updateOrder(id: $id, version: 1, input: {specialInstructions: \"x\"}) { version } }",
            json!({"id": order["id"]}),
        )
        .await;
    assert_eq!(
        stale.body["errors"][0]["extensions"]["code"],
        "version_mismatch"
    );
    let cancel = app
        .graphql(
            Some(&app.admin()),
            "mutation($id: UUID!) { cancelOrder(id: $id, reason: \"test\") { status cancelReason } }",
            json!({"id": order["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        cancel.body["data"]["cancelOrder"],
        json!({"status": "CANCELLED", "cancelReason": "test"})
    );
    let list = app
        .graphql(Some(&app.admin()), "{ orders(status: CANCELLED) { edges { node { id } } } events(type: \"order.cancelled\") { edges { node { payload } } } }", json!({}))
        .await;
    assert_eq!(
        list.body["data"]["orders"]["edges"][0]["node"]["id"], order["id"],
        "{}",
        list.text
    );
    assert_eq!(
        list.body["data"]["events"]["edges"][0]["node"]["payload"]["type"],
        "order.cancelled"
    );
}

#[tokio::test]
async fn any_marketplace_sku_is_kept_as_a_finding_not_refused() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body["lines"] =
        json!([{"sku": "龙井 #1 (250g) special edition", "quantity": 1, "unit_price": "9.90"}]);
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    assert_eq!(order["status"], "pending_info");
    assert_eq!(order["lines"][0]["sku"], "龙井 #1 (250g) special edition");
    assert_eq!(order["findings"][0]["code"], "unknown_sku");
}

#[tokio::test]
async fn a_pending_order_is_checked_again_when_the_catalog_catches_up() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    body["lines"] = json!([{"sku": "NEW-1", "quantity": 1}]);
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    assert_eq!(order["findings"][0]["code"], "unknown_sku");
    let warehouses = app
        .get("/api/v1/warehouses", &app.admin())
        .await
        .expect(200);
    let wh = warehouses.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.create_product("NEW-1", json!({"list_price": "5.00"}))
        .await;
    app.receive(&wh, "NEW-1", 10, json!({})).await.expect(201);
    // An empty patch re-runs the check.
    let id = order["id"].as_str().unwrap();
    let reply = patch_order(&app, id, "\"1\"", &json!({})).await.expect(200);
    assert_eq!(reply.body["status"], "approved");
    assert_eq!(reply.body["lines"][0]["unit_price"], "5.00");
    assert_eq!(reply.body["lines"][0]["price_source"], "list_price");
}

#[tokio::test]
async fn a_derived_price_follows_a_change_of_currency() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app).await;
    app.create_product("USD-1", json!({"list_price": "7.00", "currency": "USD"}))
        .await;
    body["currency"] = json!("USD");
    body["lines"] = json!([{"sku": "USD-1", "quantity": 1}, {"sku": "CUP-1", "quantity": 1}]);
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    assert_eq!(order["lines"][0]["unit_price"], "7.00");
    assert_eq!(
        order["lines"][1]["unit_price"],
        Value::Null,
        "no CNY list price in USD"
    );
    let id = order["id"].as_str().unwrap();
    let reply = patch_order(&app, id, "\"1\"", &json!({"currency": "CNY"}))
        .await
        .expect(200);
    // The USD price was derived, so it is derived again: none in CNY now.
    assert_eq!(reply.body["lines"][0]["unit_price"], Value::Null);
    assert_eq!(reply.body["lines"][1]["unit_price"], "12.50");
    assert_eq!(reply.body["findings"][0]["code"], "missing_price");
}

#[tokio::test]
async fn currencies_round_to_their_own_minor_unit() {
    let app = spawn_app().await;
    let warehouse = app.create_warehouse("WH-FX", json!({})).await;
    let wh = warehouse["id"].as_str().unwrap();
    for (currency, price, quantity, total) in
        [("JPY", "333.5", 3, "1001"), ("KWD", "1.2345", 3, "3.704")]
    {
        let customer = app
            .create_customer(
                &format!("C-{currency}"),
                json!({"currency": currency, "credit_limit": "1000000"}),
            )
            .await;
        let sku = format!("FX-{currency}");
        app.create_product(&sku, json!({"list_price": price, "currency": currency}))
            .await;
        app.receive(wh, &sku, 100, json!({})).await.expect(201);
        let order = app
            .post(
                "/api/v1/orders",
                &app.admin(),
                &json!({"channel": "web", "customer_id": customer["id"], "ship_to": address(),
                        "contact": {"name": "A", "email": "a@example.com"}, "lines": [{"sku": sku, "quantity": quantity}]}),
            )
            .await
            .expect(201)
            .body;
        assert_eq!(order["total"], total, "{currency}");
        assert_eq!(order["lines"][0]["subtotal"], total);
    }
}

#[tokio::test]
async fn partners_keep_to_their_namespace_and_cancel_only_before_approval() {
    let app = spawn_app().await;
    let (customer_id, mut body) = setup(&app).await;
    let partner = app.partner(customer_id.parse().unwrap());
    // Staff place an order under a connector account's reference.
    body["source_account"] = json!("shop-2");
    body["external_ref"] = json!("SHOP-1");
    let staff = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    // A partner naming that account lands in its own namespace: no collision,
    // no hint of the other order.
    let mine = app
        .post("/api/v1/orders", &partner, &body)
        .await
        .expect(201)
        .body;
    assert_ne!(mine["id"], staff["id"]);
    assert_eq!(mine["source_account"], customer_id);
    // Approved: too late for the partner to cancel.
    assert_eq!(mine["status"], "approved");
    let reply = app
        .post(
            &format!("/api/v1/orders/{}/cancel", mine["id"].as_str().unwrap()),
            &partner,
            &json!({"reason": "changed my mind"}),
        )
        .await
        .expect_problem(403, "forbidden");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("not yet approved")
    );
}

#[tokio::test]
async fn an_order_key_reused_for_another_order_is_refused() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    let send = |body: Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url("/api/v1/orders"))
                .bearer_auth(app.admin())
                .header("idempotency-key", "cart-7")
                .json(&body)
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.headers().get("etag").cloned(),
                response.text().await.unwrap(),
            )
        }
    };
    let (status, etag, first) = send(body.clone()).await;
    assert_eq!(status, 201);
    let (status, replay_etag, again) = send(body.clone()).await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(replay_etag, etag, "the replay carries the ETag too");
    let mut other = body.clone();
    other["external_ref"] = json!("ANOTHER");
    let (status, _, text) = send(other).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("idempotency_key_reused"));
}

#[tokio::test]
async fn a_failed_update_leaves_the_order_and_its_events_as_they_were() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    hold_in_review(&app).await;
    let order = app
        .post("/api/v1/orders", &app.admin(), &body)
        .await
        .expect(201)
        .body;
    let id = order["id"].as_str().unwrap();
    let before = app
        .get(&format!("/api/v1/orders/{id}"), &app.admin())
        .await
        .expect(200)
        .body;
    let events_before = app
        .get("/api/v1/events", &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    let (install, remove) = if app.database.is_postgres() {
        (
            vec![
                "CREATE FUNCTION fail_updated() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.event_type = 'order.updated' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$",
                "CREATE TRIGGER fail_updated BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_updated()",
            ],
            "DROP TRIGGER fail_updated ON outbox",
        )
    } else {
        (
            vec![
                "CREATE TRIGGER fail_updated BEFORE INSERT ON outbox WHEN NEW.event_type = 'order.updated' BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            ],
            "DROP TRIGGER fail_updated",
        )
    };
    for sql in install {
        app.db.execute_unprepared(sql).await.unwrap();
    }
    patch_order(
        &app,
        id,
        "\"2\"",
        &json!({"lines": [{"sku": "CUP-1", "quantity": 9}]}),
    )
    .await
    .expect_problem(500, "internal");
    app.db.execute_unprepared(remove).await.unwrap();
    let after = app
        .get(&format!("/api/v1/orders/{id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(after, before);
    let events_after = app
        .get("/api/v1/events", &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events_after, events_before);
}
