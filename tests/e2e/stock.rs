//! Stock receipts, levels and the ledger.

use dingdan_tests::spawn_app;
use serde_json::{Value, json};

async fn setup(app: &dingdan_tests::TestApp) -> String {
    app.create_product(
        "TEA-001",
        json!({"traits": {"perishable": true, "lot_tracked": true}}),
    )
    .await;
    app.create_product("BOLT-8", json!({})).await;
    let warehouse = app.create_warehouse("WH-SH", json!({})).await;
    warehouse["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn receipts_build_lot_balances_through_the_ledger() {
    let app = spawn_app().await;
    let wh = setup(&app).await;
    let receipt = app
        .receive(
            &wh,
            "TEA-001",
            120,
            json!({"lot": "L2026-11-A", "received_at": "2026-11-20", "expiry_date": "2027-11-20"}),
        )
        .await
        .expect(201);
    assert_eq!(receipt.body["quantity"], 120);
    assert_eq!(receipt.body["level"]["on_hand"], 120);
    assert_eq!(receipt.body["level"]["available"], 120);
    // A second receipt of the same lot adds to it.
    let again = app
        .receive(
            &wh,
            "TEA-001",
            30,
            json!({"lot": "L2026-11-A", "received_at": "2026-11-21", "expiry_date": "2027-11-20"}),
        )
        .await
        .expect(201);
    assert_eq!(again.body["level"]["on_hand"], 150);
    assert_eq!(again.body["level"]["id"], receipt.body["level"]["id"]);
    // Stock that is not lot-tracked needs no lot; received_at defaults to today.
    let bolts = app.receive(&wh, "BOLT-8", 500, json!({})).await.expect(201);
    assert_eq!(bolts.body["lot"], Value::Null);
    assert_eq!(
        bolts.body["received_at"],
        chrono::Utc::now().date_naive().to_string()
    );

    let levels = app
        .get("/api/v1/stock?sku=TEA-001", &app.admin())
        .await
        .expect(200);
    assert_eq!(
        levels.body["items"],
        json!([{
            "id": receipt.body["level"]["id"], "sku": "TEA-001", "warehouse_id": wh,
            "product_id": receipt.body["level"]["product_id"], "lot": "L2026-11-A",
            "expiry_date": "2027-11-20", "received_at": "2026-11-20",
            "on_hand": 150, "reserved": 0, "available": 150
        }])
    );
    let ledger = app
        .get("/api/v1/stock/movements?sku=TEA-001", &app.admin())
        .await
        .expect(200);
    let deltas: Vec<i64> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["on_hand_delta"].as_i64().unwrap())
        .collect();
    assert_eq!(deltas, vec![120, 30]);
    assert!(
        ledger.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["kind"] == "receipt" && m["actor"] == "test-user")
    );
    assert_eq!(app.ledger_mismatches().await, Vec::<uuid::Uuid>::new());
}

#[tokio::test]
async fn receipts_are_checked_against_the_product_and_warehouse() {
    let app = spawn_app().await;
    let wh = setup(&app).await;
    let missing_lot = app
        .receive(&wh, "TEA-001", 10, json!({"expiry_date": "2027-01-01"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(missing_lot.error_paths(), vec!["lot"]);
    let missing_expiry = app
        .receive(&wh, "TEA-001", 10, json!({"lot": "L1"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(missing_expiry.error_paths(), vec!["expiry_date"]);
    let expired = app
        .receive(
            &wh,
            "TEA-001",
            10,
            json!({"lot": "L1", "received_at": "2026-11-20", "expiry_date": "2026-11-01"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(expired.error_paths(), vec!["expiry_date"]);
    for quantity in [0, -5] {
        let reply = app
            .receive(&wh, "BOLT-8", quantity, json!({}))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(reply.error_paths(), vec!["quantity"]);
    }
    let unknown = app
        .receive(&wh, "NOPE-1", 5, json!({}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_sku");
    let nowhere = app
        .receive(&uuid::Uuid::now_v7().to_string(), "BOLT-8", 5, json!({}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(nowhere.body["errors"][0]["code"], "unknown_warehouse");
    app.receive("not-a-uuid", "BOLT-8", 5, json!({}))
        .await
        .expect_problem(400, "invalid_type");
    // A lot keeps one expiry date.
    app.receive(
        &wh,
        "TEA-001",
        10,
        json!({"lot": "L2", "expiry_date": "2027-06-01"}),
    )
    .await
    .expect(201);
    app.receive(
        &wh,
        "TEA-001",
        10,
        json!({"lot": "L2", "expiry_date": "2027-07-01"}),
    )
    .await
    .expect_problem(409, "lot_conflict");
    // None of the refused receipts left a trace.
    let levels = app.get("/api/v1/stock", &app.admin()).await.expect(200);
    assert_eq!(levels.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(levels.body["items"][0]["on_hand"], 10);
    let ledger = app
        .get("/api/v1/stock/movements", &app.admin())
        .await
        .expect(200);
    assert_eq!(ledger.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.ledger_mismatches().await, Vec::<uuid::Uuid>::new());
}

#[tokio::test]
async fn levels_filter_by_warehouse_lot_and_availability() {
    let app = spawn_app().await;
    let sh = setup(&app).await;
    let bj = app.create_warehouse("WH-BJ", json!({"region": "BJ"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.receive(
        &sh,
        "TEA-001",
        5,
        json!({"lot": "A", "expiry_date": "2030-01-01"}),
    )
    .await
    .expect(201);
    app.receive(
        &bj,
        "TEA-001",
        7,
        json!({"lot": "B", "expiry_date": "2030-01-01"}),
    )
    .await
    .expect(201);
    app.receive(&bj, "BOLT-8", 9, json!({})).await.expect(201);
    let in_bj = app
        .get(&format!("/api/v1/stock?warehouse_id={bj}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(in_bj.body["items"].as_array().unwrap().len(), 2);
    let lot_b = app
        .get("/api/v1/stock?sku=TEA-001&lot=B", &app.admin())
        .await
        .expect(200);
    assert_eq!(lot_b.body["items"][0]["on_hand"], 7);
    let available = app
        .get("/api/v1/stock?available_only=true&limit=1", &app.admin())
        .await
        .expect(200);
    assert_eq!(available.body["items"].as_array().unwrap().len(), 1);
    assert!(available.body["next_cursor"].is_string());
    let receipts = app
        .get(
            &format!("/api/v1/stock/movements?kind=receipt&warehouse_id={sh}"),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(receipts.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_receipts_of_one_lot_lose_nothing() {
    let app = spawn_app().await;
    let wh = setup(&app).await;
    let admin = app.admin();
    let requests = (0..40).map(|i| {
        let body =
            json!({"warehouse_id": wh, "sku": "BOLT-8", "lot": "SHARED", "quantity": i % 5 + 1});
        let app = &app;
        let admin = admin.clone();
        async move {
            app.post("/api/v1/stock/receipts", &admin, &body)
                .await
                .status
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let expected: i64 = (0..40).map(|i| i % 5 + 1).sum();
    let levels = app
        .get("/api/v1/stock?sku=BOLT-8&lot=SHARED", &app.admin())
        .await
        .expect(200);
    assert_eq!(levels.body["items"][0]["on_hand"], expected);
    assert_eq!(app.ledger_mismatches().await, Vec::<uuid::Uuid>::new());
}

#[tokio::test]
async fn perishable_stock_without_lot_numbers_keeps_expiry_dates_apart() {
    let app = spawn_app().await;
    app.create_product("MILK-1", json!({"traits": {"perishable": true}}))
        .await;
    let wh = app.create_warehouse("WH-M", json!({})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = app
        .receive(&wh, "MILK-1", 10, json!({"expiry_date": "2027-01-10"}))
        .await
        .expect(201);
    assert_eq!(first.body["lot"], "EXP-2027-01-10");
    let second = app
        .receive(&wh, "MILK-1", 5, json!({"expiry_date": "2027-01-20"}))
        .await
        .expect(201);
    assert_eq!(second.body["lot"], "EXP-2027-01-20");
    let same = app
        .receive(&wh, "MILK-1", 1, json!({"expiry_date": "2027-01-10"}))
        .await
        .expect(201);
    assert_eq!(same.body["level"]["on_hand"], 11);
}

#[tokio::test]
async fn goods_cannot_be_received_in_the_future() {
    let app = spawn_app().await;
    let wh = setup(&app).await;
    let next_week = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    let reply = app
        .receive(&wh, "BOLT-8", 1, json!({"received_at": next_week}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["received_at"]);
}

#[tokio::test]
async fn totals_sum_lots_per_sku_and_warehouse_leaving_out_expired_stock() {
    let app = spawn_app().await;
    let sh = setup(&app).await;
    let bj = app.create_warehouse("WH-BJ", json!({"region": "BJ"})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.receive(
        &sh,
        "TEA-001",
        5,
        json!({"lot": "A", "expiry_date": "2030-01-01"}),
    )
    .await
    .expect(201);
    app.receive(
        &bj,
        "TEA-001",
        7,
        json!({"lot": "B", "expiry_date": "2030-01-01"}),
    )
    .await
    .expect(201);
    app.receive(
        &bj,
        "TEA-001",
        3,
        json!({"lot": "OLD", "received_at": "2020-01-01", "expiry_date": "2021-01-01"}),
    )
    .await
    .expect(201);
    app.receive(&bj, "BOLT-8", 9, json!({})).await.expect(201);
    let totals = app
        .get("/api/v1/stock/totals?sku=TEA-001,BOLT-8,NONE", &app.admin())
        .await
        .expect(200);
    let tea = &totals.body["items"][0];
    assert_eq!(
        (
            tea["sku"].as_str(),
            tea["on_hand"].as_i64(),
            tea["expired"].as_i64(),
            tea["available"].as_i64()
        ),
        (Some("TEA-001"), Some(15), Some(3), Some(12))
    );
    let in_bj = tea["warehouses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["warehouse_id"] == bj.as_str())
        .unwrap();
    assert_eq!(
        (in_bj["on_hand"].as_i64(), in_bj["available"].as_i64()),
        (Some(10), Some(7))
    );
    assert_eq!(totals.body["items"][1]["available"], 9);
    assert_eq!(
        totals.body["items"][2],
        json!({"sku": "NONE", "on_hand": 0, "reserved": 0, "expired": 0, "available": 0, "warehouses": []})
    );
    let only_sh = app
        .get(
            &format!("/api/v1/stock/totals?sku=TEA-001&warehouse_id={sh}"),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(only_sh.body["items"][0]["available"], 5);
    app.get("/api/v1/stock/totals?sku=", &app.admin())
        .await
        .expect_problem(400, "invalid_parameter");
    let gql = app
        .graphql(Some(&app.admin()), "{ stockTotals(skus: [\"TEA-001\"]) { sku available expired warehouses { warehouseId available } } }", json!({}))
        .await
        .expect(200);
    assert_eq!(
        gql.body["data"]["stockTotals"][0]["available"], 12,
        "{}",
        gql.text
    );
}

#[tokio::test]
async fn the_ledger_cannot_be_rewritten() {
    let app = spawn_app().await;
    let wh = setup(&app).await;
    app.receive(&wh, "BOLT-8", 5, json!({})).await.expect(201);
    assert!(
        app.db
            .execute_unprepared("UPDATE stock_movements SET on_hand_delta = 500")
            .await
            .is_err()
    );
    assert!(
        app.db
            .execute_unprepared("DELETE FROM stock_movements")
            .await
            .is_err()
    );
    let ledger = app
        .get("/api/v1/stock/movements", &app.admin())
        .await
        .expect(200);
    assert_eq!(ledger.body["items"][0]["on_hand_delta"], 5);
}
