//! Price lists, pricing policies and promotions, and how intake uses them.

use dingdan::domain::actor::Role;
use dingdan_tests::{TestApp, address, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

fn day(offset: i64) -> String {
    (today() + chrono::Duration::days(offset)).to_string()
}

async fn setup(app: &TestApp) -> (String, Value) {
    let customer = app
        .create_customer(
            "C-PRC",
            json!({"price_tier": "wholesale", "credit_limit": "1000000.00"}),
        )
        .await;
    app.create_product("TEA-001", json!({"list_price": "100.00"}))
        .await;
    app.create_product("CUP-1", json!({"list_price": "50.00"}))
        .await;
    let warehouse = app.create_warehouse("WH-PRC", json!({})).await;
    let wh = warehouse["id"].as_str().unwrap();
    app.receive(wh, "TEA-001", 1_000, json!({}))
        .await
        .expect(201);
    app.receive(wh, "CUP-1", 1_000, json!({})).await.expect(201);
    let id = customer["id"].as_str().unwrap().to_owned();
    let body = json!({"channel": "web", "customer_id": id, "ship_to": address(),
                      "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
                      "lines": [{"sku": "TEA-001", "quantity": 2}, {"sku": "CUP-1", "quantity": 1}]});
    (id, body)
}

async fn promote(app: &TestApp, body: Value) -> Value {
    app.post("/api/v1/promotions", &app.admin(), &body)
        .await
        .expect(201)
        .body
}

async fn order(app: &TestApp, body: &Value) -> Value {
    app.post("/api/v1/orders", &app.admin(), body)
        .await
        .expect(201)
        .body
}

#[tokio::test]
async fn prices_come_from_the_customers_list_then_the_tiers_then_the_catalog() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app).await;
    let tier = app
        .post(
            "/api/v1/price-lists",
            &app.admin(),
            &json!({"name": "Wholesale", "currency": "CNY", "price_tier": "wholesale", "valid_from": day(0),
                    "items": [{"sku": "TEA-001", "unit_price": "90.00"}, {"sku": "CUP-1", "unit_price": "45.00"}]}),
        )
        .await
        .expect(201);
    assert_eq!(tier.body["items"][0]["unit_price"], "90.00");
    let own = app
        .post(
            "/api/v1/price-lists",
            &app.admin(),
            &json!({"name": "C-PRC special", "currency": "CNY", "customer_id": customer_id, "valid_from": day(-10),
                    "items": [{"sku": "TEA-001", "unit_price": "80.00"}]}),
        )
        .await
        .expect(201);
    let placed = order(&app, &body).await;
    assert_eq!(placed["lines"][0]["unit_price"], "80.00");
    assert_eq!(placed["lines"][0]["price_source"], "customer_price_list");
    assert_eq!(placed["lines"][1]["unit_price"], "45.00");
    assert_eq!(placed["lines"][1]["price_source"], "tier_price_list");
    assert_eq!(placed["total"], "205.00");
    // The sales review records the customer-specific price.
    let reviews = app
        .get(
            &format!("/api/v1/orders/{}/reviews", placed["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    let sales = &reviews.body["items"][0];
    assert!(
        sales["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "customer_specific_price"),
        "{sales}"
    );

    // A list that has ended (or not begun) does not apply.
    let own_id = own.body["id"].as_str().unwrap();
    app.patch(
        &format!("/api/v1/price-lists/{own_id}"),
        &app.admin(),
        &json!({"valid_to": day(-1)}),
    )
    .await
    .expect(200);
    let placed = order(&app, &body).await;
    assert_eq!(placed["lines"][0]["unit_price"], "90.00");
    app.patch(
        &format!("/api/v1/price-lists/{own_id}"),
        &app.admin(),
        &json!({"valid_from": day(1), "valid_to": null}),
    )
    .await
    .expect(200);
    assert_eq!(order(&app, &body).await["lines"][0]["unit_price"], "90.00");
    // Deleting the tier list falls back to the catalog.
    let tier_id = tier.body["id"].as_str().unwrap();
    app.send(
        Method::DELETE,
        &format!("/api/v1/price-lists/{tier_id}"),
        Some(&app.admin()),
        None,
    )
    .await
    .expect(204);
    let placed = order(&app, &body).await;
    assert_eq!(placed["lines"][0]["unit_price"], "100.00");
    assert_eq!(placed["lines"][0]["price_source"], "list_price");
    app.get(&format!("/api/v1/price-lists/{tier_id}"), &app.admin())
        .await
        .expect_problem(404, "not_found");
    let lists = app
        .get(
            &format!("/api/v1/price-lists?customer_id={customer_id}"),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(lists.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn price_lists_are_validated() {
    let app = spawn_app().await;
    let (customer_id, _) = setup(&app).await;
    let reply = app
        .post(
            "/api/v1/price-lists",
            &app.admin(),
            &json!({"name": "x", "currency": "CNY", "price_tier": "a", "customer_id": customer_id, "valid_from": day(0),
                    "valid_to": day(-1), "items": [{"sku": "NOPE", "unit_price": "-1"}, {"sku": "TEA-001", "unit_price": "1"}, {"sku": "TEA-001", "unit_price": "2"}]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut paths = reply.error_paths();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "items[0].unit_price",
            "items[2].sku",
            "price_tier",
            "valid_to"
        ]
    );
    let reply = app
        .post(
            "/api/v1/price-lists",
            &app.admin(),
            &json!({"name": "x", "currency": "CNY", "price_tier": "a", "valid_from": day(0), "items": [{"sku": "NOPE", "unit_price": "1"}]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["code"], "unknown_sku");
    app.post(
        "/api/v1/price-lists",
        &app.token(&[Role::Warehouse]),
        &json!({"name": "x", "currency": "CNY", "price_tier": "a", "valid_from": day(0)}),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn the_best_promotion_applies_and_the_order_says_why() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    promote(&app, json!({"code": "TEN", "name": "Ten percent", "kind": "percent", "value": "10", "valid_from": day(0)})).await;
    promote(&app, json!({"code": "FORTY", "name": "Forty off", "kind": "amount", "value": "40", "currency": "CNY",
                         "skus": ["TEA-001"], "valid_from": day(0)}))
    .await;
    // 10 % of 250 = 25 < 40 off the tea.
    let placed = order(&app, &body).await;
    assert_eq!(placed["promotions"][0]["code"], "FORTY", "{placed}");
    assert_eq!(placed["promotions"][0]["discount"], "40.00");
    assert!(
        placed["promotions"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("40 CNY off TEA-001")
    );
    assert_eq!(placed["lines"][0]["discount"], "40.00");
    assert_eq!(placed["lines"][1]["discount"], "0.00");
    assert_eq!(placed["discount_total"], "40.00");
    assert_eq!(placed["total"], "210.00");
    // The sales review shows what was applied and what was not.
    let reviews = app
        .get(
            &format!("/api/v1/orders/{}/reviews", placed["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    let findings = reviews.body["items"][0]["findings"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "promotion_applied" && f["data"]["code"] == "FORTY")
    );
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "promotion_missed" && f["data"]["code"] == "TEN"),
        "{findings:?}"
    );
}

#[tokio::test]
async fn stackable_promotions_combine_when_they_give_more() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    promote(&app, json!({"code": "SINGLE", "name": "s", "kind": "percent", "value": "12", "valid_from": day(0)})).await;
    promote(&app, json!({"code": "STACK-A", "name": "a", "kind": "percent", "value": "10", "stackable": true, "valid_from": day(0)})).await;
    promote(&app, json!({"code": "STACK-B", "name": "b", "kind": "amount", "value": "5", "currency": "CNY", "stackable": true, "valid_from": day(0)})).await;
    // 10 % of 250 = 25, then 5 off = 30 > 12 % = 30? No: 12 % of 250 = 30, a tie keeps the single one.
    let placed = order(&app, &body).await;
    let applied: Vec<&str> = placed["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(applied, vec!["SINGLE"]);
    // One more unit of stackable discount tips it.
    let id = app
        .get("/api/v1/promotions?active=true", &app.admin())
        .await
        .expect(200)
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "STACK-B")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/api/v1/promotions/{id}"),
        &app.admin(),
        &json!({"value": "6"}),
    )
    .await
    .expect(200);
    let placed = order(&app, &body).await;
    let applied: Vec<&str> = placed["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(applied, vec!["STACK-A", "STACK-B"]);
    assert_eq!(placed["discount_total"], "31.00");
}

#[tokio::test]
async fn promotion_validity_minimums_and_tiers_are_respected() {
    let app = spawn_app().await;
    let (_, body) = setup(&app).await;
    // Valid from today and until yesterday: only the first applies.
    promote(&app, json!({"code": "STARTS-TODAY", "name": "a", "kind": "percent", "value": "1", "valid_from": day(0), "valid_to": day(0)})).await;
    promote(&app, json!({"code": "ENDED", "name": "b", "kind": "percent", "value": "50", "valid_from": day(-10), "valid_to": day(-1)})).await;
    promote(&app, json!({"code": "TOMORROW", "name": "c", "kind": "percent", "value": "50", "valid_from": day(1)})).await;
    promote(&app, json!({"code": "RETAIL", "name": "d", "kind": "percent", "value": "50", "price_tiers": ["retail"], "valid_from": day(0)})).await;
    promote(&app, json!({"code": "BULK", "name": "e", "kind": "percent", "value": "20", "skus": ["CUP-1"], "min_quantity": 10, "valid_from": day(0)})).await;
    promote(&app, json!({"code": "OFF", "name": "f", "kind": "percent", "value": "60", "active": false, "valid_from": day(0)})).await;
    let placed = order(&app, &body).await;
    let applied: Vec<&str> = placed["promotions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(applied, vec!["STARTS-TODAY"]);
    let reviews = app
        .get(
            &format!("/api/v1/orders/{}/reviews", placed["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    let missed: Vec<String> = reviews.body["items"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "promotion_missed")
        .map(|f| f["data"]["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        missed,
        vec!["BULK"],
        "only a reachable promotion counts as missed"
    );
    // Reaching the minimum earns it.
    let mut bulk = body.clone();
    bulk["lines"] = json!([{"sku": "CUP-1", "quantity": 10}]);
    let placed = order(&app, &bulk).await;
    assert_eq!(placed["promotions"][0]["code"], "BULK");
    assert_eq!(placed["discount_total"], "100.00");
    // Promotions are validated.
    let reply = app
        .post("/api/v1/promotions", &app.admin(), &json!({"code": "BAD", "name": "x", "kind": "amount", "value": "5", "valid_from": day(0)}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["currency"]);
    app.post("/api/v1/promotions", &app.admin(), &json!({"code": "BULK", "name": "x", "kind": "percent", "value": "5", "valid_from": day(0)}))
        .await
        .expect_problem(409, "already_exists");
    app.post("/api/v1/promotions", &app.admin(), &json!({"code": "PCT", "name": "x", "kind": "percent", "value": "101", "valid_from": day(0)}))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn pricing_policies_are_set_read_and_removed() {
    let app = spawn_app().await;
    let policy = app
        .send(
            Method::PUT,
            "/api/v1/pricing-policies/wholesale",
            Some(&app.admin()),
            Some(&json!({"max_discount_percent": "12.5"})),
        )
        .await
        .expect(200);
    assert_eq!(policy.body["max_discount_percent"], "12.5");
    app.send(
        Method::PUT,
        "/api/v1/pricing-policies/wholesale",
        Some(&app.admin()),
        Some(&json!({"max_discount_percent": "15"})),
    )
    .await
    .expect(200);
    let list = app
        .get("/api/v1/pricing-policies", &app.token(&[Role::Sales]))
        .await
        .expect(200);
    assert_eq!(
        list.body["items"],
        json!([{"price_tier": "wholesale", "max_discount_percent": "15", "updated_at": list.body["items"][0]["updated_at"]}])
    );
    app.send(
        Method::PUT,
        "/api/v1/pricing-policies/wholesale",
        Some(&app.admin()),
        Some(&json!({"max_discount_percent": "101"})),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.send(
        Method::DELETE,
        "/api/v1/pricing-policies/wholesale",
        Some(&app.admin()),
        None,
    )
    .await
    .expect(204);
    app.send(
        Method::DELETE,
        "/api/v1/pricing-policies/wholesale",
        Some(&app.admin()),
        None,
    )
    .await
    .expect_problem(404, "not_found");
    // And over GraphQL.
    let reply = app
        .graphql(
            Some(&app.admin()),
            "mutation { setPricingPolicy(priceTier: \"retail\", maxDiscountPercent: \"7\") { priceTier maxDiscountPercent }
                        createPromotion(input: {code: \"G1\", name: \"g\", kind: PERCENT, value: \"5\", validFrom: \"2026-01-01\"}) { code kind value } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["setPricingPolicy"],
        json!({"priceTier": "retail", "maxDiscountPercent": "7"}),
        "{}",
        reply.text
    );
    assert_eq!(
        reply.body["data"]["createPromotion"],
        json!({"code": "G1", "kind": "PERCENT", "value": "5"})
    );
    let read = app
        .graphql(Some(&app.admin()), "{ pricingPolicies { priceTier } promotions { edges { node { code } } } priceLists { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        read.body["data"]["pricingPolicies"][0]["priceTier"], "retail",
        "{}",
        read.text
    );
    assert_eq!(
        read.body["data"]["promotions"]["edges"][0]["node"]["code"],
        "G1"
    );
}

#[tokio::test]
async fn an_amount_off_is_split_into_cents_that_add_up() {
    let app = spawn_app().await;
    let (customer_id, _) = setup(&app).await;
    for sku in ["A-1", "B-1", "C-1"] {
        app.create_product(sku, json!({"list_price": "33.00"}))
            .await;
    }
    promote(&app, json!({"code": "TENOFF", "name": "Ten off", "kind": "amount", "value": "10", "currency": "CNY",
                         "skus": ["A-1", "B-1", "C-1"], "valid_from": day(0)}))
    .await;
    let placed = order(
        &app,
        &json!({"channel": "web", "customer_id": customer_id, "ship_to": address(),
                "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
                "lines": [{"sku": "A-1", "quantity": 1}, {"sku": "B-1", "quantity": 1}, {"sku": "C-1", "quantity": 1}]}),
    )
    .await;
    let discounts: Vec<&str> = placed["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["discount"].as_str().unwrap())
        .collect();
    assert_eq!(discounts, vec!["3.34", "3.33", "3.33"]);
    assert_eq!(placed["promotions"][0]["discount"], "10.00");
    assert_eq!(placed["discount_total"], "10.00");
    assert_eq!(placed["total"], "89.00");
}

#[tokio::test]
async fn promotion_changes_are_validated_like_new_promotions() {
    let app = spawn_app().await;
    let created = promote(
        &app,
        json!({"code": "PCT", "name": "p", "kind": "percent", "value": "5", "valid_from": day(0)}),
    )
    .await;
    let path = format!("/api/v1/promotions/{}", created["id"].as_str().unwrap());
    let reply = app
        .patch(&path, &app.admin(), &json!({"min_quantity": 0}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["min_quantity"]);
    // A percent off made without a currency cannot gain a minimum amount.
    let reply = app
        .patch(&path, &app.admin(), &json!({"min_amount": "100.00"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["min_amount"]);
    let reply = app
        .patch(&path, &app.admin(), &json!({"value": "100.5"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["value"]);
    // Nothing was changed by the refused patches.
    let current = app.get(&path, &app.admin()).await.expect(200).body;
    assert_eq!(current["value"], "5");
    assert_eq!(current["min_quantity"], Value::Null);
    app.patch(&path, &app.admin(), &json!({"min_quantity": 3}))
        .await
        .expect(200);
}
