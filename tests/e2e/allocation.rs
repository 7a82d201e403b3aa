//! Allocation across warehouses and lots, picking and packing, transfers and
//! backorders — and no oversell under concurrency.

use std::collections::BTreeMap;

use dingdan::domain::actor::Role;
use dingdan_tests::{Reply, TestApp, address, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

fn day(offset: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(offset)).to_string()
}

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

async fn manual(app: &TestApp) {
    app.send(
        Method::PUT,
        "/api/v1/allocation-policy",
        Some(&app.admin()),
        Some(&json!({"mode": "manual"})),
    )
    .await
    .expect(200);
}

async fn warehouse(app: &TestApp, code: &str, lat: f64, lon: f64) -> String {
    id(&app
        .create_warehouse(code, json!({"latitude": lat, "longitude": lon}))
        .await)
}

/// An approved order (see [`TestApp::approved_order`]).
async fn order(app: &TestApp, customer: &str, lines: Value, ship_to: Value) -> Value {
    app.approved_order(customer, lines, json!({"ship_to": ship_to}))
        .await
}

async fn allocate(app: &TestApp, order: &Value, query: &str, body: Option<Value>) -> Reply {
    let path = format!("/api/v1/orders/{}/allocation{query}", id(order));
    app.send(Method::POST, &path, Some(&app.admin()), body.as_ref())
        .await
}

async fn allocation(app: &TestApp, order: &Value) -> Value {
    app.get(
        &format!("/api/v1/orders/{}/allocation", id(order)),
        &app.admin(),
    )
    .await
    .expect(200)
    .body
}

async fn status_of(app: &TestApp, order: &Value) -> String {
    app.get(&format!("/api/v1/orders/{}", id(order)), &app.admin())
        .await
        .expect(200)
        .body["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn event_types(app: &TestApp, order: &Value) -> Vec<String> {
    app.get(
        &format!("/api/v1/orders/{}/timeline?limit=200", id(order)),
        &app.admin(),
    )
    .await
    .expect(200)
    .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Stock of one lot as the API reports it: (on_hand, reserved).
async fn lot_balance(app: &TestApp, warehouse: &str, sku: &str, lot: &str) -> (i64, i64) {
    let levels = app
        .get(
            &format!("/api/v1/stock?warehouse_id={warehouse}&sku={sku}&lot={lot}"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let level = &levels["items"][0];
    (
        level["on_hand"].as_i64().unwrap(),
        level["reserved"].as_i64().unwrap(),
    )
}

/// (lot, quantity) of every pick of a plan line.
fn picks(line: &Value) -> Vec<(String, i64)> {
    line["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["lot"].as_str().unwrap_or_default().to_owned(),
                p["quantity"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn pick_list(app: &TestApp, warehouse: &str) -> Value {
    app.get(
        &format!("/api/v1/warehouses/{warehouse}/pick-lists"),
        &app.token(&[Role::Warehouse]),
    )
    .await
    .expect(200)
    .body
}

async fn assert_ledger(app: &TestApp) {
    assert_eq!(
        app.ledger_mismatches().await,
        Vec::<uuid::Uuid>::new(),
        "balances equal the sum of the ledger"
    );
}

#[tokio::test]
async fn lots_go_fefo_for_perishables_fifo_otherwise_never_expired_or_short_dated() {
    let app = spawn_app().await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product(
        "MILK",
        json!({"traits": {"perishable": true, "lot_tracked": true}, "min_shelf_life_days": 10}),
    )
    .await;
    app.create_product("BOLT", json!({})).await;
    // Expired; 15 days left (the customer wants 20); fine ones; a late one.
    for (lot, received, expiry, quantity) in [
        ("M-EXPIRED", -60, -1, 5),
        ("M-SHORT", -30, 15, 5),
        ("M-40", -20, 40, 3),
        ("M-30", -10, 30, 4),
        ("M-90", -5, 90, 10),
    ] {
        app.receive(
            &w,
            "MILK",
            quantity,
            json!({"lot": lot, "received_at": day(received), "expiry_date": day(expiry)}),
        )
        .await
        .expect(201);
    }
    for (lot, received, quantity) in [("B-NEW", -10, 2), ("B-OLD", -40, 3)] {
        app.receive(
            &w,
            "BOLT",
            quantity,
            json!({"lot": lot, "received_at": day(received)}),
        )
        .await
        .expect(201);
    }
    let customer = id(&app
        .create_customer("C-1", json!({"min_shelf_life_days": 20}))
        .await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "MILK", "quantity": 6}, {"sku": "BOLT", "quantity": 4}]),
        json!({}),
    )
    .await;
    let result = allocate(&app, &placed, "", None).await.expect(200).body;
    assert_eq!(result["order_status"], "allocated", "{result}");
    let lines = result["plan"]["lines"].as_array().unwrap();
    // Earliest expiry first among lots with 20+ days left.
    assert_eq!(
        picks(&lines[0]),
        vec![("M-30".to_owned(), 4), ("M-40".to_owned(), 2)]
    );
    assert!(
        lines[0]["rule"]
            .as_str()
            .unwrap()
            .contains("at least 20 days"),
        "the larger of the customer's and the product's minimum: {}",
        lines[0]["rule"]
    );
    // Oldest receipt first.
    assert_eq!(
        picks(&lines[1]),
        vec![("B-OLD".to_owned(), 3), ("B-NEW".to_owned(), 1)]
    );
    assert_eq!(lines[1]["rule"], "FIFO: oldest receipt first");
    assert_eq!(lot_balance(&app, &w, "MILK", "M-30").await, (4, 4));
    assert_eq!(lot_balance(&app, &w, "MILK", "M-EXPIRED").await, (5, 0));
    assert_eq!(lot_balance(&app, &w, "MILK", "M-SHORT").await, (5, 0));
    // Every reservation is in the ledger, against the order.
    let movements = app
        .get(
            &format!(
                "/api/v1/stock/movements?reference_id={}&kind=reservation",
                id(&placed)
            ),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let reserved: i64 = movements["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reserved_delta"].as_i64().unwrap())
        .sum();
    assert_eq!(reserved, 10);
    // Not enough fresh milk for more: the rest is backordered, never expired.
    let second = order(
        &app,
        &customer,
        json!([{"sku": "MILK", "quantity": 20}]),
        json!({}),
    )
    .await;
    let result = allocate(&app, &second, "", None).await.expect(200).body;
    assert_eq!(result["order_status"], "partially_allocated");
    let line = &result["plan"]["lines"][0];
    assert_eq!(
        picks(line),
        vec![("M-40".to_owned(), 1), ("M-90".to_owned(), 10)]
    );
    assert_eq!(line["backordered"], 9);
    assert_ledger(&app).await;
}

#[tokio::test]
async fn one_warehouse_beats_several_and_distance_cost_and_priority_rank_them() {
    let app = spawn_app().await;
    manual(&app).await;
    let sh = warehouse(&app, "WH-SH", 31.2304, 121.4737).await;
    let hz = warehouse(&app, "WH-HZ", 30.2741, 120.1551).await;
    let bj = warehouse(&app, "WH-BJ", 39.9042, 116.4074).await;
    app.create_product("X", json!({})).await;
    app.create_product("Y", json!({})).await;
    for w in [&sh, &hz, &bj] {
        app.receive(w, "X", 10, json!({})).await.expect(201);
    }
    app.receive(&sh, "Y", 3, json!({})).await.expect(201);
    app.receive(&bj, "Y", 10, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let to_hangzhou = json!({"city": "Hangzhou", "region": "ZJ", "postal_code": "310000"});

    // The nearest warehouse that has everything.
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 5}]),
        to_hangzhou.clone(),
    )
    .await;
    let plan = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["plan"]["strategy"], "single_warehouse");
    let candidates = plan["plan"]["candidates"].as_array().unwrap();
    let codes: Vec<&str> = candidates
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["WH-HZ", "WH-SH", "WH-BJ"], "cheapest first");
    assert_eq!(candidates[0]["chosen"], true);
    assert!(
        candidates[0]["reason"]
            .as_str()
            .unwrap()
            .contains("whole order")
    );
    assert_eq!(
        candidates[1]["reason"],
        "could ship everything, but costs more"
    );
    let to_sh = candidates[1]["distance_km"].as_f64().unwrap();
    assert!(
        (150.0..180.0).contains(&to_sh),
        "Hangzhou–Shanghai {to_sh} km"
    );
    assert!(
        plan["plan"]["summary"]
            .as_str()
            .unwrap()
            .contains("region ZJ (Hangzhou)"),
        "{}",
        plan["plan"]["summary"]
    );
    // Nothing was reserved by the dry run.
    let totals = app
        .get(
            &format!("/api/v1/stock/totals?sku=X&warehouse_id={hz}"),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(totals["items"][0]["reserved"], 0, "{totals}");

    // Priority weighs like distance: 5 steps (500 km) send it to Shanghai.
    app.patch(
        &format!("/api/v1/warehouses/{hz}"),
        &app.admin(),
        &json!({"priority": 5}),
    )
    .await
    .expect(200);
    let plan = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    assert_eq!(
        plan["plan"]["lines"][0]["picks"][0]["warehouse_code"],
        "WH-SH"
    );
    // So does the shipping cost factor.
    app.patch(
        &format!("/api/v1/warehouses/{sh}"),
        &app.admin(),
        &json!({"shipping_cost_factor": 10.0}),
    )
    .await
    .expect(200);
    let plan = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    let chosen = &plan["plan"]["candidates"][0];
    assert_eq!(chosen["code"], "WH-HZ", "{plan}");
    assert_eq!(chosen["priority"], 5);
    assert_eq!(chosen["score"], 500.0);

    // A farther warehouse shipping everything beats a nearer one that cannot.
    let to_shanghai = json!({});
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "Y", "quantity": 5}]),
        to_shanghai,
    )
    .await;
    let plan = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    assert_eq!(plan["plan"]["strategy"], "single_warehouse");
    assert_eq!(
        plan["plan"]["lines"][0]["picks"][0]["warehouse_code"],
        "WH-BJ"
    );
    let sh_candidate = plan["plan"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "WH-SH")
        .unwrap()
        .clone();
    assert_eq!(sh_candidate["covers_all"], false);
    assert_eq!(sh_candidate["coverable"], 3);

    // No warehouse has 25: the fewest that do, and the transfers that would
    // let one ship it all.
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 25}]),
        json!({}),
    )
    .await;
    let plan = allocate(&app, &placed, "", None).await.expect(200).body;
    assert_eq!(plan["plan"]["strategy"], "fewest_warehouses");
    assert_eq!(plan["order_status"], "allocated");
    let used: Vec<i64> = plan["plan"]["lines"][0]["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["quantity"].as_i64().unwrap())
        .collect();
    assert_eq!(used.iter().sum::<i64>(), 25);
    assert_eq!(used.len(), 3);
    assert_eq!(
        plan["plan"]["transfers_proposed"].as_array().unwrap().len(),
        2
    );
    assert_ledger(&app).await;
}

#[tokio::test]
async fn a_dry_run_works_in_review_and_reserves_nothing() {
    let app = spawn_app().await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("X", json!({})).await;
    app.receive(&w, "X", 10, json!({})).await.expect(201);
    app.send(
        Method::PUT,
        "/api/v1/review-policy",
        Some(&app.admin()),
        Some(&json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": false},
                                "inventory": {"auto_approve": true}, "final": {"auto_approve": true}}})),
    )
    .await
    .expect(200);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = app
        .post(
            "/api/v1/orders",
            &app.admin(),
            &json!({"channel": "erp", "customer_id": customer, "lines": [{"sku": "X", "quantity": 4}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(placed["status"], "in_review");
    let plan = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    assert_eq!(plan["order_status"], "in_review");
    assert_eq!(plan["plan"]["lines"][0]["picks"][0]["quantity"], 4);
    assert_eq!(plan["reservations"], json!([]));
    allocate(&app, &placed, "", None)
        .await
        .expect_problem(409, "invalid_transition");
    // Sales may look, not reserve.
    let sales = app.token(&[Role::Sales]);
    let path = format!("/api/v1/orders/{}/allocation", id(&placed));
    app.send(
        Method::POST,
        &format!("{path}?dry_run=true"),
        Some(&sales),
        None,
    )
    .await
    .expect(200);
    app.send(Method::POST, &path, Some(&sales), None)
        .await
        .expect_problem(403, "forbidden");
    // Partners never see allocation.
    let partner = app.partner(customer.parse().unwrap());
    app.get(&path, &partner)
        .await
        .expect_problem(403, "forbidden");
    app.settle().await;
    let totals = app
        .get("/api/v1/stock/totals?sku=X", &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(totals["items"][0]["reserved"], 0);
    // A cancelled order has nothing to plan.
    app.post(
        &format!("/api/v1/orders/{}/cancel", id(&placed)),
        &app.admin(),
        &json!({"reason": "test"}),
    )
    .await
    .expect(200);
    allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect_problem(409, "not_allocatable");
}

#[tokio::test]
async fn overrides_are_checked_against_the_stock_and_recorded_with_the_plan() {
    let app = spawn_app().await;
    manual(&app).await;
    let near = warehouse(&app, "WH-SH", 31.2304, 121.4737).await;
    let far = warehouse(&app, "WH-BJ", 39.9042, 116.4074).await;
    app.create_product("X", json!({"traits": {"lot_tracked": true}}))
        .await;
    app.create_product("Y", json!({})).await;
    app.receive(&near, "X", 10, json!({"lot": "N-1"}))
        .await
        .expect(201);
    let far_lot = app
        .receive(&far, "X", 3, json!({"lot": "F-1"}))
        .await
        .expect(201)
        .body["level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let y_lot = app.receive(&far, "Y", 3, json!({})).await.expect(201).body["level"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 3}]),
        json!({}),
    )
    .await;

    let refused = |body: Value, path: &'static str, code: &'static str| {
        let app = &app;
        let placed = &placed;
        async move {
            let reply = allocate(app, placed, "", Some(body))
                .await
                .expect_problem(422, "validation_failed");
            assert_eq!(reply.error_paths(), vec![path], "{}", reply.text);
            assert_eq!(reply.body["errors"][0]["code"], code, "{}", reply.text);
        }
    };
    refused(
        json!({"overrides": [{"line_no": 9, "warehouse_id": far}]}),
        "overrides[0].line_no",
        "unknown_line",
    )
    .await;
    refused(
        json!({"overrides": [{"line_no": 1, "warehouse_id": far, "stock_lot_id": y_lot}]}),
        "overrides[0].stock_lot_id",
        "ineligible_lot",
    )
    .await;
    refused(
        json!({"overrides": [{"line_no": 1, "warehouse_id": uuid::Uuid::now_v7()}]}),
        "overrides[0].warehouse_id",
        "unknown_warehouse",
    )
    .await;
    let reply = allocate(
        &app,
        &placed,
        "",
        Some(json!({"overrides": [{"line_no": 1, "warehouse_id": far}, {"line_no": 1, "warehouse_id": near}]})),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["overrides[1].line_no"]);
    // Nothing was reserved by the refused runs.
    assert_eq!(lot_balance(&app, &far, "X", "F-1").await, (3, 0));

    let result = allocate(
        &app,
        &placed,
        "",
        Some(json!({"overrides": [{"line_no": 1, "warehouse_id": far, "stock_lot_id": far_lot}]})),
    )
    .await
    .expect(200)
    .body;
    let line = &result["plan"]["lines"][0];
    assert_eq!(line["overridden"], true);
    assert_eq!(line["picks"][0]["warehouse_code"], "WH-BJ");
    assert!(line["rule"].as_str().unwrap().starts_with("override"));
    assert_eq!(result["reservations"][0]["overridden"], true);
    let stored = allocation(&app, &placed).await;
    assert_eq!(stored["overrides"][0]["stock_lot_id"], far_lot.as_str());
    assert_eq!(stored["planned_by"], "test-user");
    assert_eq!(lot_balance(&app, &far, "X", "F-1").await, (3, 3));
    // Too little in the chosen lot now.
    let other = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 2}]),
        json!({}),
    )
    .await;
    let reply = allocate(
        &app,
        &other,
        "",
        Some(json!({"overrides": [{"line_no": 1, "warehouse_id": far}]})),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "insufficient_stock");
    assert_ledger(&app).await;
}

#[tokio::test]
async fn backorders_wait_and_are_filled_oldest_first_when_stock_arrives() {
    let app = spawn_app().await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("Z", json!({})).await;
    let whole = id(&app
        .create_customer("C-WHOLE", json!({"allow_partial_shipment": false}))
        .await);
    let parts = id(&app.create_customer("C-PARTS", json!({})).await);
    let first = order(
        &app,
        &whole,
        json!([{"sku": "Z", "quantity": 3}]),
        json!({}),
    )
    .await;
    let second = order(
        &app,
        &whole,
        json!([{"sku": "Z", "quantity": 3}]),
        json!({}),
    )
    .await;
    let third = order(
        &app,
        &parts,
        json!([{"sku": "Z", "quantity": 5}]),
        json!({}),
    )
    .await;
    app.settle().await;
    for placed in [&first, &second, &third] {
        assert_eq!(status_of(&app, placed).await, "backordered");
    }
    assert!(
        event_types(&app, &first)
            .await
            .contains(&"order.backordered".to_owned())
    );

    // 4 arrive: the oldest order gets 3; the next holds the last one.
    app.receive(&w, "Z", 4, json!({})).await.expect(201);
    app.settle().await;
    assert_eq!(status_of(&app, &first).await, "allocated");
    assert_eq!(status_of(&app, &second).await, "backordered");
    let waiting = allocation(&app, &second).await;
    assert_eq!(waiting["lines"][0]["reserved"], 1);
    assert_eq!(waiting["lines"][0]["backordered"], 2);
    assert_eq!(status_of(&app, &third).await, "backordered");

    // 4 more: the second completes, the third (partial shipment allowed)
    // gets what is left and may ship it.
    app.receive(&w, "Z", 4, json!({})).await.expect(201);
    app.settle().await;
    assert_eq!(status_of(&app, &second).await, "allocated");
    assert_eq!(status_of(&app, &third).await, "partially_allocated");
    assert_eq!(allocation(&app, &third).await["lines"][0]["reserved"], 2);
    app.receive(&w, "Z", 10, json!({})).await.expect(201);
    app.settle().await;
    assert_eq!(status_of(&app, &third).await, "allocated");
    let types = event_types(&app, &third).await;
    assert_eq!(
        types.iter().filter(|t| *t == "order.allocated").count(),
        2,
        "{types:?}"
    );
    // Published for subscribers.
    let feed = app
        .get("/api/v1/events?type=order.allocated", &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(feed["items"].as_array().unwrap().len(), 4);
    assert_eq!(feed["items"][0]["data"]["complete"], true);
    assert_ledger(&app).await;
}

#[tokio::test]
async fn the_background_worker_allocates_approved_orders_on_its_own() {
    let app = spawn_app_with(&[("DINGDAN_JOB_WORKERS", "1")]).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("X", json!({})).await;
    app.receive(&w, "X", 5, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 2}]),
        json!({}),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if status_of(&app, &placed).await == "allocated" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not allocated in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored = allocation(&app, &placed).await;
    assert_eq!(stored["planned_by"], "system");
    assert_ledger(&app).await;
}

#[tokio::test]
async fn picking_and_packing_make_an_order_ready_to_ship_and_short_picks_wait_again() {
    let app = spawn_app().await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("P", json!({})).await;
    app.receive(&w, "P", 2, json!({"lot": "L1", "received_at": day(-10)}))
        .await
        .expect(201);
    app.receive(&w, "P", 5, json!({"lot": "L2", "received_at": day(-1)}))
        .await
        .expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "P", "quantity": 4}]),
        json!({}),
    )
    .await;
    let result = allocate(&app, &placed, "", None).await.expect(200).body;
    assert_eq!(result["order_status"], "allocated");

    let list = pick_list(&app, &w).await;
    let groups = list["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{list}");
    assert_eq!(groups[0]["lot"], "L1");
    assert_eq!(groups[0]["quantity"], 2);
    assert_eq!(groups[0]["items"][0]["order_number"], placed["number"]);
    let l1 = groups[0]["items"][0]["allocation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let l2 = groups[1]["items"][0]["allocation_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Packing before picking is refused.
    let package = |quantity: i64| {
        json!({"packages": [{"warehouse_id": w, "packaging_type": "box", "weight_kg": "2.5",
                             "length_cm": "30", "width_cm": "20", "height_cm": "15",
                             "contents": [{"line_no": 1, "quantity": quantity}]}]})
    };
    let pack_path = format!("/api/v1/orders/{}/packages", id(&placed));
    let picker = app.token(&[Role::Warehouse]);
    let reply = app
        .post(&pack_path, &picker, &package(1))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "not_picked");

    let pick_path = format!("/api/v1/warehouses/{w}/pick");
    // One of L1's two, and one too many on L2: all or nothing.
    let reply = app
        .post(
            &pick_path,
            &picker,
            &json!({"picks": [{"allocation_id": l1, "quantity": 1}, {"allocation_id": l2, "quantity": 3}]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["picks[1].quantity"]);
    assert_eq!(lot_balance(&app, &w, "P", "L1").await, (2, 2));
    let picked = app
        .post(
            &pick_path,
            &picker,
            &json!({"picks": [{"allocation_id": l1, "quantity": 1}, {"allocation_id": l2, "quantity": 2}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(picked["orders"][0]["picked"], 3);
    assert_eq!(picked["orders"][0]["status"], "allocated");
    assert_eq!(lot_balance(&app, &w, "P", "L1").await, (1, 1));
    let list = pick_list(&app, &w).await;
    assert_eq!(list["groups"].as_array().unwrap().len(), 1);
    assert_eq!(list["groups"][0]["quantity"], 1);

    // The last unit of L1 is not on the shelf.
    let picked = app
        .post(
            &pick_path,
            &picker,
            &json!({"picks": [{"allocation_id": l1, "quantity": 0, "short": true}]}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(picked["orders"][0]["short"], 1);
    assert_eq!(picked["orders"][0]["status"], "partially_allocated");
    assert_eq!(lot_balance(&app, &w, "P", "L1").await, (0, 0));
    let adjustments = app
        .get(
            &format!(
                "/api/v1/stock/movements?reference_id={}&kind=adjustment",
                id(&placed)
            ),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(adjustments["items"][0]["on_hand_delta"], -1);
    assert_eq!(
        adjustments["items"][0]["note"],
        "short pick: not found on the shelf"
    );
    // The line waits, and gets the unit from L2 when the queue runs.
    app.settle().await;
    assert_eq!(status_of(&app, &placed).await, "allocated");
    let list = pick_list(&app, &w).await;
    assert_eq!(list["groups"][0]["lot"], "L2");
    let rest = list["groups"][0]["items"][0]["allocation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &pick_path,
        &picker,
        &json!({"picks": [{"allocation_id": rest, "quantity": 1}]}),
    )
    .await
    .expect(200);
    assert_eq!(pick_list(&app, &w).await["groups"], json!([]));

    // Packing more than picked is refused; packing it all makes it ready.
    let reply = app
        .post(&pack_path, &picker, &package(5))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.error_paths(),
        vec!["packages[0].contents[0].quantity"]
    );
    let first = app
        .post(&pack_path, &picker, &package(1))
        .await
        .expect(201)
        .body;
    assert_eq!(first["order_status"], "allocated");
    let packed = app
        .post(&pack_path, &picker, &package(3))
        .await
        .expect(201)
        .body;
    assert_eq!(packed["order_status"], "ready_to_ship");
    assert_eq!(packed["packages"][0]["contents"][0]["sku"], "P");
    assert_eq!(packed["packages"][0]["weight_kg"], "2.5");
    let listed = app.get(&pack_path, &app.admin()).await.expect(200).body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let types = event_types(&app, &placed).await;
    for expected in [
        "order.allocated",
        "order.picked",
        "order.backordered",
        "order.ready_to_ship",
    ] {
        assert!(
            types.contains(&expected.to_owned()),
            "{expected} in {types:?}"
        );
    }
    assert_eq!(lot_balance(&app, &w, "P", "L2").await, (2, 0));
    assert_ledger(&app).await;
}

#[tokio::test]
async fn transfers_move_stock_through_the_in_transit_location() {
    let app = spawn_app().await;
    let a = warehouse(&app, "WH-A", 31.2, 121.5).await;
    let b = warehouse(&app, "WH-B", 39.9, 116.4).await;
    app.create_product(
        "T",
        json!({"traits": {"lot_tracked": true, "perishable": true}}),
    )
    .await;
    app.receive(
        &a,
        "T",
        10,
        json!({"lot": "LT-1", "received_at": day(-5), "expiry_date": day(100)}),
    )
    .await
    .expect(201);
    let keeper = app.token(&[Role::Warehouse]);
    let reply = app
        .post(
            "/api/v1/transfers",
            &keeper,
            &json!({"from_warehouse_id": a, "to_warehouse_id": a, "lines": [{"sku": "T", "quantity": 40}, {"sku": "NOPE", "quantity": 1}]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.error_paths(),
        vec!["to_warehouse_id", "lines[0].quantity", "lines[1].sku"]
    );
    let transfer = app
        .post(
            "/api/v1/transfers",
            &keeper,
            &json!({"from_warehouse_id": a, "to_warehouse_id": b, "mode": "rail",
                    "lines": [{"sku": "T", "quantity": 4}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(transfer["status"], "requested");
    assert!(transfer["number"].as_str().unwrap().starts_with("TR-"));
    assert_eq!(transfer["lines"][0]["lot"], "LT-1");
    assert_eq!(lot_balance(&app, &a, "T", "LT-1").await, (10, 4));
    let path = format!("/api/v1/transfers/{}", id(&transfer));
    let listed = app
        .get("/api/v1/transfers?status=requested", &keeper)
        .await
        .expect(200)
        .body;
    assert_eq!(listed["items"][0]["id"], transfer["id"]);
    app.post(&format!("{path}/receive"), &keeper, &json!({}))
        .await
        .expect_problem(409, "invalid_transition");

    let shipped = app
        .post(
            &format!("{path}/ship"),
            &keeper,
            &json!({"carrier": "China Railway Express", "tracking_number": "CRE-778"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(shipped["status"], "in_transit");
    assert_eq!(shipped["tracking_number"], "CRE-778");
    assert_eq!(lot_balance(&app, &a, "T", "LT-1").await, (6, 0));
    let transit = app
        .get("/api/v1/warehouses?kind=transit", &keeper)
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // In transit: on hand there, and held for the transfer.
    assert_eq!(lot_balance(&app, &transit, "T", "LT-1").await, (4, 4));

    let received = app
        .post(&format!("{path}/receive"), &keeper, &json!({}))
        .await
        .expect(200)
        .body;
    assert_eq!(received["status"], "received");
    assert!(received["received_at"].is_string());
    assert_eq!(lot_balance(&app, &transit, "T", "LT-1").await, (0, 0));
    assert_eq!(lot_balance(&app, &b, "T", "LT-1").await, (4, 0));
    let at_b = app
        .get(&format!("/api/v1/stock?warehouse_id={b}&sku=T"), &keeper)
        .await
        .expect(200)
        .body;
    assert_eq!(at_b["items"][0]["expiry_date"], day(100));
    assert_eq!(
        at_b["items"][0]["received_at"],
        day(-5),
        "the lot keeps its age"
    );
    let moves = app
        .get(
            &format!("/api/v1/stock/movements?reference_id={}", id(&transfer)),
            &keeper,
        )
        .await
        .expect(200)
        .body;
    let kinds: Vec<&str> = moves["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec![
            "reservation",
            "transfer_out",
            "transfer_in",
            "transfer_out",
            "transfer_in"
        ]
    );
    let feed = app
        .get("/api/v1/events", &app.admin())
        .await
        .expect(200)
        .body;
    let types: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .filter(|t| t.starts_with("transfer."))
        .collect();
    assert_eq!(
        types,
        vec![
            "transfer.requested",
            "transfer.shipped",
            "transfer.received"
        ]
    );

    // A transfer called off before it leaves gives its goods back.
    let second = app
        .post(
            "/api/v1/transfers",
            &keeper,
            &json!({"from_warehouse_id": a, "to_warehouse_id": b, "lines": [{"sku": "T", "quantity": 6}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(lot_balance(&app, &a, "T", "LT-1").await, (6, 6));
    let admin = app.admin();
    let cancelled = app
        .post(
            &format!("/api/v1/transfers/{}/cancel", id(&second)),
            &admin,
            &json!({"reason": "the truck is full"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(lot_balance(&app, &a, "T", "LT-1").await, (6, 0));
    app.post(
        &format!("/api/v1/transfers/{}/ship", id(&second)),
        &keeper,
        &json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
    assert_ledger(&app).await;
}

#[tokio::test]
async fn a_consolidated_order_waits_for_its_transfer_and_is_allocated_on_arrival() {
    let app = spawn_app().await;
    manual(&app).await;
    let sh = warehouse(&app, "WH-SH", 31.2304, 121.4737).await;
    let bj = warehouse(&app, "WH-BJ", 39.9042, 116.4074).await;
    app.create_product("X", json!({})).await;
    app.receive(&sh, "X", 6, json!({})).await.expect(201);
    app.receive(&bj, "X", 4, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 8}]),
        json!({}),
    )
    .await;
    let preview = allocate(&app, &placed, "?dry_run=true", None)
        .await
        .expect(200)
        .body;
    assert_eq!(preview["plan"]["strategy"], "fewest_warehouses");
    assert_eq!(preview["plan"]["transfers_proposed"][0]["quantity"], 2);
    assert_eq!(
        preview["plan"]["transfers_proposed"][0]["to_warehouse_id"],
        sh.as_str()
    );

    let result = allocate(&app, &placed, "", Some(json!({"consolidate": true})))
        .await
        .expect(200)
        .body;
    assert_eq!(result["order_status"], "backordered", "{result}");
    assert_eq!(result["lines"][0]["reserved"], 6);
    assert_eq!(result["transfer_ids"].as_array().unwrap().len(), 1);
    let transfer_id = result["transfer_ids"][0].as_str().unwrap().to_owned();
    let transfer = app
        .get(&format!("/api/v1/transfers/{transfer_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(transfer["order_id"], placed["id"]);
    assert_eq!(transfer["from_warehouse_id"], bj.as_str());
    assert_eq!(transfer["lines"][0]["quantity"], 2);
    let keeper = app.token(&[Role::Warehouse]);
    app.post(
        &format!("/api/v1/transfers/{transfer_id}/ship"),
        &keeper,
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/transfers/{transfer_id}/receive"),
        &keeper,
        &json!({}),
    )
    .await
    .expect(200);
    // Allocated on arrival, from the one warehouse.
    assert_eq!(status_of(&app, &placed).await, "allocated");
    let done = allocation(&app, &placed).await;
    assert!(
        done["reservations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["warehouse_id"] == sh.as_str()),
        "{done}"
    );
    assert_eq!(done["transfer_ids"], json!([]));
    assert_ledger(&app).await;
}

#[tokio::test]
async fn releasing_and_cancelling_give_the_stock_back() {
    let app = spawn_app().await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("X", json!({})).await;
    app.receive(&w, "X", 10, json!({"lot": "L"}))
        .await
        .expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 4}]),
        json!({}),
    )
    .await;
    allocate(&app, &placed, "", None).await.expect(200);
    allocate(&app, &placed, "", None)
        .await
        .expect_problem(409, "already_allocated");
    let path = format!("/api/v1/orders/{}/allocation", id(&placed));
    let released = app
        .send(Method::DELETE, &path, Some(&app.admin()), None)
        .await
        .expect(200)
        .body;
    assert_eq!(released["order_status"], "approved");
    assert_eq!(released["reservations"], json!([]));
    assert_eq!(lot_balance(&app, &w, "X", "L").await, (10, 0));
    app.send(Method::DELETE, &path, Some(&app.admin()), None)
        .await
        .expect_problem(409, "invalid_transition");

    // Picked goods go back to their lot when the order is cancelled.
    let result = allocate(&app, &placed, "", None).await.expect(200).body;
    let reservation = result["reservations"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/warehouses/{w}/pick"),
        &app.admin(),
        &json!({"picks": [{"allocation_id": reservation, "quantity": 3}]}),
    )
    .await
    .expect(200);
    assert_eq!(lot_balance(&app, &w, "X", "L").await, (7, 1));
    app.send(Method::DELETE, &path, Some(&app.admin()), None)
        .await
        .expect_problem(409, "picking_started");
    let cancelled = app
        .post(
            &format!("/api/v1/orders/{}/cancel", id(&placed)),
            &app.admin(),
            &json!({"reason": "customer withdrew"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(lot_balance(&app, &w, "X", "L").await, (10, 0));
    let timeline = app
        .get(
            &format!("/api/v1/orders/{}/timeline", id(&placed)),
            &app.admin(),
        )
        .await
        .expect(200)
        .body;
    let cancel = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "order.cancelled")
        .unwrap()
        .clone();
    assert_eq!(cancel["data"]["units_returned_to_stock"], 4);
    assert_ledger(&app).await;
}

/// Stock 10 of one SKU; 200 orders of 1–3 units in two lines of that SKU
/// allocate at once, 20 times over (released between rounds). The
/// reservations never exceed the stock, every allocation answers cleanly, and
/// the ledger matches the balances.
#[tokio::test]
async fn concurrent_allocations_never_oversell() {
    let app = spawn_app_with(&[("DINGDAN_DB_MAX_CONNECTIONS", "32")]).await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("HOT", json!({})).await;
    // Two lots, so plans split across them too.
    app.receive(&w, "HOT", 6, json!({"lot": "A", "received_at": day(-2)}))
        .await
        .expect(201);
    app.receive(&w, "HOT", 4, json!({"lot": "B", "received_at": day(-1)}))
        .await
        .expect(201);
    let customer = id(&app
        .create_customer("C-1", json!({"credit_limit": "100000000.00"}))
        .await);
    let mut orders = Vec::new();
    for i in 0..200 {
        // 1 to 3 units, in two lines sharing the SKU when more than one.
        let units = (i % 3) + 1;
        let lines = if units == 1 {
            json!([{"sku": "HOT", "quantity": 1}])
        } else {
            json!([{"sku": "HOT", "quantity": 1}, {"sku": "HOT", "quantity": units - 1}])
        };
        orders.push(order(&app, &customer, lines, json!({})).await);
    }
    let admin = app.admin();
    for round in 0..20 {
        let attempts = orders.iter().map(|placed| {
            let path = format!("/api/v1/orders/{}/allocation", id(placed));
            let app = &app;
            let admin = &admin;
            async move { app.send(Method::POST, &path, Some(admin), None).await }
        });
        let replies = futures_util::future::join_all(attempts).await;
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut reserved = 0;
        for reply in &replies {
            assert_eq!(reply.status.as_u16(), 200, "round {round}: {}", reply.text);
            *statuses
                .entry(reply.body["order_status"].as_str().unwrap().to_owned())
                .or_default() += 1;
            reserved += reply.body["lines"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["reserved"].as_i64().unwrap())
                .sum::<i64>();
        }
        // Every unit went to someone (demand far exceeds it), none twice.
        assert_eq!(reserved, 10, "round {round}: {statuses:?}");
        let (a, b) = (
            lot_balance(&app, &w, "HOT", "A").await,
            lot_balance(&app, &w, "HOT", "B").await,
        );
        assert_eq!((a, b), ((6, 6), (4, 4)), "round {round}");
        assert_ledger(&app).await;
        // Give it all back for the next round.
        let releases = orders.iter().map(|placed| {
            let path = format!("/api/v1/orders/{}/allocation", id(placed));
            let app = &app;
            let admin = &admin;
            async move { app.send(Method::DELETE, &path, Some(admin), None).await }
        });
        for reply in futures_util::future::join_all(releases).await {
            assert!(
                matches!(reply.status.as_u16(), 200 | 409),
                "release: {}",
                reply.text
            );
        }
        assert_eq!(lot_balance(&app, &w, "HOT", "A").await, (6, 0));
    }
    assert_ledger(&app).await;
}

#[tokio::test]
async fn graphql_allocates_picks_and_transfers_like_rest() {
    let app = spawn_app().await;
    manual(&app).await;
    let a = warehouse(&app, "WH-A", 31.2, 121.5).await;
    let b = warehouse(&app, "WH-B", 39.9, 116.4).await;
    app.create_product("X", json!({})).await;
    app.receive(&a, "X", 5, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 2}]),
        json!({}),
    )
    .await;
    let admin = app.admin();
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($id: UUID!) { allocateOrder(orderId: $id) { orderStatus plan { strategy summary candidates { code score chosen reason } } reservations { id quantity } } }",
            json!({"id": placed["id"]}),
        )
        .await
        .expect(200);
    let allocated = &reply.body["data"]["allocateOrder"];
    assert_eq!(allocated["orderStatus"], "ALLOCATED", "{}", reply.text);
    assert_eq!(allocated["plan"]["strategy"], "SINGLE_WAREHOUSE");
    let reservation = allocated["reservations"][0]["id"].clone();
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($w: UUID!, $r: UUID!) { confirmPicks(warehouseId: $w, input: {picks: [{allocationId: $r, quantity: 2}]}) { status picked } }",
            json!({"w": a, "r": reservation}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["confirmPicks"][0]["picked"], 2,
        "{}",
        reply.text
    );
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($id: UUID!, $w: UUID!) { packOrder(orderId: $id, input: {packages: [{warehouseId: $w, packagingType: BOX, weightKg: \"1.2\", lengthCm: \"20\", widthCm: \"10\", heightCm: \"10\", contents: [{lineNo: 1, quantity: 2}]}]}) { orderStatus packages { weightKg contents { sku quantity } } } }",
            json!({"id": placed["id"], "w": a}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["packOrder"]["orderStatus"], "READY_TO_SHIP",
        "{}",
        reply.text
    );
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($a: UUID!, $b: UUID!) { requestTransfer(input: {fromWarehouseId: $a, toWarehouseId: $b, lines: [{sku: \"X\", quantity: 2}]}) { id number status } }",
            json!({"a": a, "b": b}),
        )
        .await
        .expect(200);
    let transfer = reply.body["data"]["requestTransfer"].clone();
    assert_eq!(transfer["status"], "REQUESTED", "{}", reply.text);
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($id: UUID!) { shipTransfer(id: $id, input: {trackingNumber: \"T-1\"}) { status trackingNumber } }",
            json!({"id": transfer["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["shipTransfer"]["status"], "IN_TRANSIT",
        "{}",
        reply.text
    );
    let reply = app
        .graphql(
            Some(&admin),
            "{ transfers(status: IN_TRANSIT) { edges { node { number trackingNumber lines { sku quantity } } } } allocationPolicy { mode } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["transfers"]["edges"][0]["node"]["trackingNumber"], "T-1",
        "{}",
        reply.text
    );
    assert_eq!(reply.body["data"]["allocationPolicy"]["mode"], "MANUAL");
    // Errors carry the REST codes.
    let reply = app
        .graphql(
            Some(&admin),
            "mutation($id: UUID!) { allocateOrder(orderId: $id) { orderStatus } }",
            json!({"id": placed["id"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["errors"][0]["extensions"]["code"], "invalid_transition",
        "{}",
        reply.text
    );
    assert_ledger(&app).await;
}

#[tokio::test]
async fn the_geo_table_is_seeded_editable_and_validated() {
    let app = spawn_app().await;
    let seeded = app
        .get("/api/v1/geo-locations?country=CN&limit=200", &app.admin())
        .await
        .expect(200)
        .body;
    let regions: Vec<&str> = seeded["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions.len(), 34);
    assert!(regions.contains(&"ZJ") && regions.contains(&"GD"));
    let row = json!({"country": "CN", "postal_prefix": "3150", "name": "Ningbo",
                     "latitude": 29.8683, "longitude": 121.544});
    let manager = app.token(&[Role::OrderManager]);
    let added = app
        .send(
            Method::PUT,
            "/api/v1/geo-locations",
            Some(&manager),
            Some(&row),
        )
        .await
        .expect(201)
        .body;
    let mut moved = row.clone();
    moved["latitude"] = json!(29.9);
    let replaced = app
        .send(
            Method::PUT,
            "/api/v1/geo-locations",
            Some(&manager),
            Some(&moved),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(replaced["latitude"], 29.9);
    assert_eq!(replaced["id"], added["id"]);
    let reply = app
        .send(
            Method::PUT,
            "/api/v1/geo-locations",
            Some(&manager),
            Some(
                &json!({"country": "China", "region": "ZJ", "postal_prefix": "31-0", "name": "",
                         "latitude": 91.0, "longitude": 0.0}),
            ),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.error_paths(),
        vec!["country", "postal_prefix", "name", "latitude"]
    );
    app.send(
        Method::PUT,
        "/api/v1/geo-locations",
        Some(&app.token(&[Role::Sales])),
        Some(&row),
    )
    .await
    .expect_problem(403, "forbidden");
    app.send(
        Method::DELETE,
        &format!("/api/v1/geo-locations/{}", id(&added)),
        Some(&manager),
        None,
    )
    .await
    .expect(204);
    app.send(
        Method::DELETE,
        &format!("/api/v1/geo-locations/{}", id(&added)),
        Some(&manager),
        None,
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn allocation_settings_on_warehouses_products_and_customers_are_validated() {
    let app = spawn_app().await;
    let created = app
        .create_warehouse("WH-1", json!({"shipping_cost_factor": 0.8, "priority": 2}))
        .await;
    assert_eq!(created["shipping_cost_factor"], 0.8);
    assert_eq!(created["priority"], 2);
    assert_eq!(created["kind"], "standard");
    let reply = app
        .post(
            "/api/v1/warehouses",
            &app.admin(),
            &json!({"code": "WH-2", "name": "x", "address": address(), "region": "SH",
                    "latitude": 31.0, "longitude": 121.0, "shipping_cost_factor": 0, "priority": -1}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.error_paths(),
        vec!["shipping_cost_factor", "priority"]
    );
    let product = app
        .create_product(
            "MILK",
            json!({"traits": {"perishable": true}, "min_shelf_life_days": 7}),
        )
        .await;
    assert_eq!(product["min_shelf_life_days"], 7);
    let cleared = app
        .patch(
            &format!("/api/v1/products/{}", id(&product)),
            &app.admin(),
            &json!({"min_shelf_life_days": null}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(cleared["min_shelf_life_days"], Value::Null);
    let reply = app
        .patch(
            &format!("/api/v1/products/{}", id(&product)),
            &app.admin(),
            &json!({"min_shelf_life_days": 4000}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["min_shelf_life_days"]);
    let customer = app
        .create_customer("C-1", json!({"min_shelf_life_days": 30}))
        .await;
    assert_eq!(customer["min_shelf_life_days"], 30);
    // Goods cannot be received into the in-transit location.
    let transit = app
        .get("/api/v1/warehouses?kind=transit", &app.admin())
        .await
        .expect(200)
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = app
        .receive(&transit, "MILK", 1, json!({"expiry_date": day(10)}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "transit_warehouse");
}

#[tokio::test]
async fn a_partially_allocated_order_packs_what_it_has_and_keeps_waiting_for_the_rest() {
    let app = spawn_app().await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("A", json!({})).await;
    app.receive(&w, "A", 10, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "A", "quantity": 15}]),
        json!({}),
    )
    .await;
    let result = allocate(&app, &placed, "", None).await.expect(200).body;
    assert_eq!(result["order_status"], "partially_allocated");
    let reservation = result["reservations"][0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/warehouses/{w}/pick"),
        &app.admin(),
        &json!({"picks": [{"allocation_id": reservation, "quantity": 10}]}),
    )
    .await
    .expect(200);
    let package = |quantity: i64| {
        json!({"packages": [{"warehouse_id": w, "packaging_type": "box", "weight_kg": "5", "length_cm": "40",
                             "width_cm": "30", "height_cm": "30", "contents": [{"line_no": 1, "quantity": quantity}]}]})
    };
    let pack_path = format!("/api/v1/orders/{}/packages", id(&placed));
    let packed = app
        .post(&pack_path, &app.admin(), &package(10))
        .await
        .expect(201)
        .body;
    // What it has is packed; it is not ready as a whole.
    assert_eq!(packed["order_status"], "partially_allocated");
    // The rest arrives and is allocated; once packed, the order is ready.
    app.receive(&w, "A", 10, json!({})).await.expect(201);
    app.settle().await;
    let now = allocation(&app, &placed).await;
    assert_eq!(now["order_status"], "allocated");
    assert_eq!(now["lines"][0]["reserved"], 15);
    // The plan in force shows all of it, not only the top-up.
    let planned: i64 = now["plan"]["lines"][0]["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["quantity"].as_i64().unwrap())
        .sum();
    assert_eq!(planned, 15);
    let rest = now["reservations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["picked"] == 0)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/warehouses/{w}/pick"),
        &app.admin(),
        &json!({"picks": [{"allocation_id": rest, "quantity": 5}]}),
    )
    .await
    .expect(200);
    let packed = app
        .post(&pack_path, &app.admin(), &package(5))
        .await
        .expect(201)
        .body;
    assert_eq!(packed["order_status"], "ready_to_ship");
    assert_ledger(&app).await;
}

#[tokio::test]
async fn the_same_pick_confirmed_twice_at_once_picks_once() {
    let app = spawn_app().await;
    manual(&app).await;
    let w = warehouse(&app, "WH-1", 31.2, 121.5).await;
    app.create_product("A", json!({})).await;
    app.receive(&w, "A", 100, json!({"lot": "L"}))
        .await
        .expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    for _ in 0..5 {
        let placed = order(
            &app,
            &customer,
            json!([{"sku": "A", "quantity": 4}]),
            json!({}),
        )
        .await;
        let result = allocate(&app, &placed, "", None).await.expect(200).body;
        let reservation = result["reservations"][0]["id"].as_str().unwrap().to_owned();
        let body = json!({"picks": [{"allocation_id": reservation, "quantity": 3}]});
        let path = format!("/api/v1/warehouses/{w}/pick");
        let admin = app.admin();
        let (a, b) = tokio::join!(
            app.post(&path, &admin, &body),
            app.post(&path, &admin, &body)
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 422], "{} / {}", a.text, b.text);
        let after = allocation(&app, &placed).await;
        assert_eq!(after["reservations"][0]["picked"], 3);
        // A retry with the same key answers the first outcome, picking nothing.
        let keyed = |key: &str| {
            app.client
                .post(app.url(&path))
                .bearer_auth(app.admin())
                .header("Idempotency-Key", key.to_owned())
                .json(&json!({"picks": [{"allocation_id": reservation, "quantity": 1}]}))
                .send()
        };
        let key = uuid::Uuid::now_v7().to_string();
        let first = keyed(&key).await.unwrap();
        assert_eq!(first.status(), 200);
        let again = keyed(&key).await.unwrap();
        assert_eq!(again.status(), 200);
        assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
        assert_eq!(
            allocation(&app, &placed).await["reservations"][0]["picked"],
            4
        );
    }
    assert_ledger(&app).await;
}

#[tokio::test]
async fn a_consolidating_order_keeps_to_its_plan_and_cancelling_calls_off_its_transfers() {
    let app = spawn_app().await;
    let sh = warehouse(&app, "WH-SH", 31.2304, 121.4737).await;
    let bj = warehouse(&app, "WH-BJ", 39.9042, 116.4074).await;
    let gz = warehouse(&app, "WH-GZ", 23.1291, 113.2644).await;
    app.create_product("X", json!({})).await;
    app.receive(&sh, "X", 6, json!({})).await.expect(201);
    app.receive(&bj, "X", 4, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    manual(&app).await;
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 8}]),
        json!({}),
    )
    .await;
    let result = allocate(&app, &placed, "", Some(json!({"consolidate": true})))
        .await
        .expect(200)
        .body;
    assert_eq!(result["order_status"], "backordered");
    // Stock arriving elsewhere does not undo the consolidation.
    app.receive(&gz, "X", 10, json!({})).await.expect(201);
    app.settle().await;
    let waiting = allocation(&app, &placed).await;
    assert_eq!(waiting["order_status"], "backordered");
    assert_eq!(waiting["lines"][0]["reserved"], 6);
    // Cancelling the order calls its transfer off and gives everything back.
    app.post(
        &format!("/api/v1/orders/{}/cancel", id(&placed)),
        &app.admin(),
        &json!({"reason": "changed plans"}),
    )
    .await
    .expect(200);
    let transfer_id = result["transfer_ids"][0].as_str().unwrap();
    let transfer = app
        .get(&format!("/api/v1/transfers/{transfer_id}"), &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(transfer["status"], "cancelled");
    let totals = app
        .get("/api/v1/stock/totals?sku=X", &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(totals["items"][0]["reserved"], 0, "{totals}");
    assert_ledger(&app).await;
}

#[tokio::test]
async fn overrides_replan_an_allocated_order_in_one_step_even_in_auto_mode() {
    let app = spawn_app().await;
    let near = warehouse(&app, "WH-SH", 31.2304, 121.4737).await;
    let far = warehouse(&app, "WH-BJ", 39.9042, 116.4074).await;
    app.create_product("X", json!({})).await;
    app.receive(&near, "X", 10, json!({})).await.expect(201);
    app.receive(&far, "X", 10, json!({})).await.expect(201);
    let customer = id(&app.create_customer("C-1", json!({})).await);
    let placed = order(
        &app,
        &customer,
        json!([{"sku": "X", "quantity": 3}]),
        json!({}),
    )
    .await;
    app.settle().await;
    let auto = allocation(&app, &placed).await;
    assert_eq!(auto["order_status"], "allocated");
    assert_eq!(auto["reservations"][0]["warehouse_id"], near.as_str());
    let replanned = allocate(
        &app,
        &placed,
        "",
        Some(json!({"overrides": [{"line_no": 1, "warehouse_id": far}]})),
    )
    .await
    .expect(200)
    .body;
    assert_eq!(replanned["order_status"], "allocated");
    assert_eq!(replanned["reservations"][0]["warehouse_id"], far.as_str());
    app.settle().await;
    let after = allocation(&app, &placed).await;
    assert_eq!(
        after["reservations"][0]["warehouse_id"],
        far.as_str(),
        "the job left it alone"
    );
    let types = event_types(&app, &placed).await;
    assert!(types.contains(&"order.allocation_released".to_owned()));
    // Released, nothing is in force.
    let released = app
        .send(
            Method::DELETE,
            &format!("/api/v1/orders/{}/allocation", id(&placed)),
            Some(&app.admin()),
            None,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(released["plan"], Value::Null);
    assert_ledger(&app).await;
}

#[tokio::test]
async fn a_transfer_whose_lot_could_not_be_merged_is_refused_before_it_leaves() {
    let app = spawn_app().await;
    let a = warehouse(&app, "WH-A", 31.2, 121.5).await;
    let b = warehouse(&app, "WH-B", 39.9, 116.4).await;
    app.create_product("N", json!({"traits": {"lot_tracked": true}}))
        .await;
    app.create_product("G", json!({})).await;
    app.receive(&a, "N", 5, json!({"lot": "L1", "expiry_date": day(300)}))
        .await
        .expect(201);
    app.receive(&b, "N", 5, json!({"lot": "L1", "expiry_date": day(200)}))
        .await
        .expect(201);
    let reply = app
        .post(
            "/api/v1/transfers",
            &app.admin(),
            &json!({"from_warehouse_id": a, "to_warehouse_id": b, "lines": [{"sku": "N", "quantity": 2}]}),
        )
        .await
        .expect_problem(409, "lot_conflict");
    assert!(reply.body["detail"].as_str().unwrap().contains("L1"));
    // Goods with an expiry but no lot number get a lot per expiry date, so
    // they never clash.
    let dated = app
        .receive(&a, "G", 3, json!({"expiry_date": day(90)}))
        .await
        .expect(201)
        .body;
    assert_eq!(dated["level"]["lot"], format!("EXP-{}", day(90)));
    app.receive(&b, "G", 3, json!({})).await.expect(201);
    app.post(
        "/api/v1/transfers",
        &app.admin(),
        &json!({"from_warehouse_id": a, "to_warehouse_id": b, "lines": [{"sku": "G", "quantity": 2}]}),
    )
    .await
    .expect(201);
    assert_ledger(&app).await;
}
