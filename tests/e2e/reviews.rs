//! Order review: four stages with computed findings, a policy that lets clean
//! stages approve themselves, queues per role, decisions and their outcomes.

use dingdan::domain::actor::Role;
use dingdan_tests::{Reply, TestApp, address, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// A customer with a credit limit, two products in stock, and a body for an
/// order of 2 × TEA-001 at its list price (176.00 CNY, no tax).
async fn setup(app: &TestApp, customer: Value) -> (String, Value) {
    let mut fields =
        json!({"credit_limit": "10000.00", "payment_terms_days": 30, "price_tier": "retail"});
    dingdan_tests::merge(&mut fields, customer);
    let customer = app.create_customer("C-REV", fields).await;
    app.create_product("TEA-001", json!({"list_price": "88.00"}))
        .await;
    app.create_product("CUP-1", json!({"list_price": "12.50"}))
        .await;
    let warehouse = app.create_warehouse("WH-REV", json!({})).await;
    let wh = warehouse["id"].as_str().unwrap();
    app.receive(wh, "TEA-001", 1_000, json!({}))
        .await
        .expect(201);
    app.receive(wh, "CUP-1", 1_000, json!({})).await.expect(201);
    let id = customer["id"].as_str().unwrap().to_owned();
    let body = json!({
        "channel": "erp", "customer_id": id, "ship_to": address(),
        "contact": {"name": "Li Wei", "phone": "+86 21 5555 0101"},
        "lines": [{"sku": "TEA-001", "quantity": 2}]
    });
    (id, body)
}

async fn place(app: &TestApp, body: &Value) -> Value {
    app.post("/api/v1/orders", &app.admin(), body)
        .await
        .expect(201)
        .body
}

async fn reviews_of(app: &TestApp, order: &Value) -> Vec<Value> {
    let path = format!("/api/v1/orders/{}/reviews", order["id"].as_str().unwrap());
    app.get(&path, &app.admin()).await.expect(200).body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The pending review of an order (there is at most one at a time).
async fn pending(app: &TestApp, order: &Value) -> Value {
    reviews_of(app, order)
        .await
        .into_iter()
        .find(|r| r["status"] == "pending")
        .expect("a pending review")
}

fn codes(review: &Value) -> Vec<String> {
    review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn decide(app: &TestApp, token: &str, review: &Value, body: Value) -> Reply {
    let path = format!(
        "/api/v1/reviews/{}/decision",
        review["id"].as_str().unwrap()
    );
    app.post(&path, token, &body).await
}

async fn set_policy(app: &TestApp, policy: Value) {
    let mut body = json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": true},
                                     "inventory": {"auto_approve": true}, "final": {"auto_approve": true}}});
    dingdan_tests::merge(&mut body, policy);
    app.send(
        Method::PUT,
        "/api/v1/review-policy",
        Some(&app.admin()),
        Some(&body),
    )
    .await
    .expect(200);
}

async fn event_types(app: &TestApp, order: &Value) -> Vec<String> {
    let path = format!("/api/v1/orders/{}/timeline", order["id"].as_str().unwrap());
    app.get(&path, &app.admin()).await.expect(200).body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_clean_order_is_approved_end_to_end_with_every_finding_recorded() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({})).await;
    let order = place(&app, &body).await;
    assert_eq!(order["status"], "approved");
    let reviews = reviews_of(&app, &order).await;
    let stages: Vec<&str> = reviews
        .iter()
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, vec!["sales", "finance", "inventory", "final"]);
    for review in &reviews {
        assert_eq!(review["status"], "approved");
        assert_eq!(review["decided_by"], "system");
        assert_eq!(review["human_reasons"], json!([]));
        assert_eq!(review["round"], 1);
    }
    assert_eq!(
        codes(&reviews[0]),
        vec!["customer_active", "credit_standing"]
    );
    assert!(
        codes(&reviews[1]).contains(&"credit_within_limit".to_owned()),
        "{:?}",
        codes(&reviews[1])
    );
    let credit = reviews[1]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "credit_within_limit")
        .unwrap();
    assert_eq!(credit["data"]["exposure"], "176.00");
    assert_eq!(credit["data"]["credit_limit"], "10000.00");
    assert_eq!(codes(&reviews[2]), vec!["available"]);
    assert_eq!(reviews[2]["findings"][0]["data"]["available"], 1000);
    assert_eq!(codes(&reviews[3]), vec!["stage_approved"; 3]);
    let types = event_types(&app, &order).await;
    assert_eq!(
        types
            .iter()
            .filter(|t| *t == "order.review_decided")
            .count(),
        4
    );
    assert_eq!(types.last().unwrap(), "order.approved");
}

#[tokio::test]
async fn each_kind_of_finding_waits_in_its_stages_queue() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app, json!({})).await;
    let queue = |stage: &'static str| {
        let app = &app;
        async move {
            app.get(
                &format!("/api/v1/reviews?stage={stage}&status=pending"),
                &app.admin(),
            )
            .await
            .expect(200)
            .body["items"]
                .as_array()
                .unwrap()
                .len()
        }
    };

    // Sales: a price below the tier's allowed discount.
    app.send(
        Method::PUT,
        "/api/v1/pricing-policies/retail",
        Some(&app.admin()),
        Some(&json!({"max_discount_percent": "5"})),
    )
    .await
    .expect(200);
    let mut cheap = body.clone();
    cheap["lines"] = json!([{"sku": "TEA-001", "quantity": 2, "unit_price": "79.00"}]);
    let order = place(&app, &cheap).await;
    assert_eq!(order["status"], "in_review");
    let review = pending(&app, &order).await;
    assert_eq!(review["stage"], "sales");
    let finding = review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "price_below_policy")
        .unwrap();
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["data"]["deviation_percent"], "-10.23");
    assert_eq!(finding["data"]["reference_price"], "88.00");
    assert_eq!(queue("sales").await, 1);

    // Finance: over the credit limit.
    let mut big = body.clone();
    big["lines"] = json!([{"sku": "TEA-001", "quantity": 200}]);
    let order = place(&app, &big).await;
    let review = pending(&app, &order).await;
    assert_eq!(review["stage"], "finance");
    assert!(codes(&review).contains(&"credit_limit_exceeded".to_owned()));
    assert_eq!(queue("finance").await, 1);

    // Inventory: more than the warehouses hold (within a credit limit that allows it).
    app.patch(
        &format!("/api/v1/customers/{customer_id}"),
        &app.admin(),
        &json!({"credit_limit": "100000.00"}),
    )
    .await
    .expect(200);
    let mut short = body.clone();
    short["lines"] = json!([{"sku": "CUP-1", "quantity": 1500}]);
    let order = place(&app, &short).await;
    let review = pending(&app, &order).await;
    assert_eq!(review["stage"], "inventory");
    let shortfall = &review["findings"][0];
    assert_eq!(shortfall["code"], "shortfall");
    assert_eq!(shortfall["data"]["shortfall"], 500);
    assert_eq!(
        shortfall["data"]["remedies"],
        json!(["backorder", "partial_shipment"])
    );
    assert_eq!(queue("inventory").await, 1);

    // Final: the policy has a person approve every order.
    set_policy(
        &app,
        json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": true},
        "inventory": {"auto_approve": true}, "final": {"auto_approve": false}}}),
    )
    .await;
    let order = place(&app, &body).await;
    let review = pending(&app, &order).await;
    assert_eq!(review["stage"], "final");
    assert_eq!(
        review["human_reasons"][0],
        "the policy has final reviews decided by a person"
    );
    assert_eq!(queue("final").await, 1);

    // Every pending review was announced.
    let events = app
        .get("/api/v1/events?type=order.review_required", &app.admin())
        .await
        .expect(200);
    let stages: Vec<&str> = events.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["data"]["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, vec!["sales", "finance", "inventory", "final"]);
    assert_eq!(events.body["items"][1]["data"]["owner_role"], "finance");
}

#[tokio::test]
async fn finance_checks_payment_method_invoice_and_credit_hold() {
    let app = spawn_app().await;
    let (_, mut body) = setup(
        &app,
        json!({"payment_methods": ["bank_transfer"], "requires_invoice": true, "status": "credit_hold"}),
    )
    .await;
    body["payment_method"] = json!("alipay");
    let order = place(&app, &body).await;
    // Credit hold holds sales first.
    let sales = pending(&app, &order).await;
    assert_eq!(sales["stage"], "sales");
    assert!(codes(&sales).contains(&"customer_on_credit_hold".to_owned()));
    decide(
        &app,
        &app.token(&[Role::Sales]),
        &sales,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    let finance = pending(&app, &order).await;
    assert_eq!(finance["stage"], "finance");
    let found = codes(&finance);
    for code in [
        "payment_method_not_allowed",
        "invoice_requirements_missing",
        "customer_on_credit_hold",
    ] {
        assert!(found.contains(&code.to_owned()), "{code} in {found:?}");
    }
}

#[tokio::test]
async fn credit_exactly_at_the_limit_passes_and_one_cent_over_waits() {
    let app = spawn_app().await;
    // Two orders of 176.00 against a limit of 352.00: the second lands exactly on it.
    let (_, body) = setup(&app, json!({"credit_limit": "352.00"})).await;
    assert_eq!(place(&app, &body).await["status"], "approved");
    let at_limit = place(&app, &body).await;
    assert_eq!(at_limit["status"], "approved");
    let mut cent = body.clone();
    cent["lines"] = json!([{"sku": "CUP-1", "quantity": 1, "unit_price": "0.01"}]);
    let over = place(&app, &cent).await;
    assert_eq!(over["status"], "in_review");
    let review = pending(&app, &over).await;
    let finding = review["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "credit_limit_exceeded")
        .unwrap();
    assert_eq!(finding["data"]["exposure"], "352.01");
    assert!(finding["message"].as_str().unwrap().contains("by 0.01"));
}

#[tokio::test]
async fn only_the_owning_role_decides_a_stage() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({})).await;
    set_policy(
        &app,
        json!({"stages": {"sales": {"auto_approve": false}, "finance": {"auto_approve": false},
        "inventory": {"auto_approve": false}, "final": {"auto_approve": false}}}),
    )
    .await;
    let order = place(&app, &body).await;
    let owners = [
        ("sales", Role::Sales),
        ("finance", Role::Finance),
        ("inventory", Role::Warehouse),
        ("final", Role::OrderManager),
    ];
    for (stage, owner) in owners {
        let review = pending(&app, &order).await;
        assert_eq!(review["stage"], stage);
        for role in Role::ALL {
            if role == owner || role == Role::Admin {
                continue;
            }
            let reply = decide(
                &app,
                &app.token(&[role]),
                &review,
                json!({"decision": "approve"}),
            )
            .await;
            assert_eq!(
                reply.status.as_u16(),
                403,
                "{role} deciding {stage}: {}",
                reply.text
            );
        }
        let partner = app.partner(order["customer_id"].as_str().unwrap().parse().unwrap());
        decide(&app, &partner, &review, json!({"decision": "approve"}))
            .await
            .expect_problem(403, "forbidden");
        let decided = decide(
            &app,
            &app.token(&[owner]),
            &review,
            json!({"decision": "approve", "comment": "ok"}),
        )
        .await
        .expect(200);
        assert_eq!(decided.body["review"]["status"], "approved");
        assert_eq!(decided.body["review"]["decided_by"], "test-user");
        // A decided review cannot be decided again.
        decide(&app, &app.admin(), &review, json!({"decision": "approve"}))
            .await
            .expect_problem(409, "review_not_pending");
    }
    let order = app
        .get(
            &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(order.body["status"], "approved");
    // Admin may decide any stage.
    let second = place(&app, &body).await;
    for _ in 0..4 {
        let review = pending(&app, &second).await;
        decide(&app, &app.admin(), &review, json!({"decision": "approve"}))
            .await
            .expect(200);
    }
    let final_review = reviews_of(&app, &second).await.pop().unwrap();
    assert_eq!(final_review["findings"].as_array().unwrap().len(), 3);
    assert_eq!(
        final_review["findings"][0]["data"]["decided_by"],
        "test-user"
    );
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_rejects_the_order() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({"status": "credit_hold"})).await;
    let order = place(&app, &body).await;
    let review = pending(&app, &order).await;
    let sales = app.token(&[Role::Sales]);
    let reply = decide(&app, &sales, &review, json!({"decision": "reject"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["reason_code"]);
    decide(
        &app,
        &sales,
        &review,
        json!({"decision": "approve", "wat": 1}),
    )
    .await
    .expect_problem(400, "unknown_field");
    let reply = decide(
        &app,
        &sales,
        &review,
        json!({"decision": "reject", "reason_code": "credit_risk", "comment": "on hold since May"}),
    )
    .await
    .expect(200);
    assert_eq!(reply.body["order"]["status"], "rejected");
    assert_eq!(reply.body["review"]["reason_code"], "credit_risk");
    let reviews = reviews_of(&app, &order).await;
    assert_eq!(
        reviews
            .iter()
            .filter(|r| r["status"] == "superseded")
            .count(),
        3
    );
    let rejected = app
        .get("/api/v1/events?type=order.rejected", &app.admin())
        .await
        .expect(200);
    assert_eq!(
        rejected.body["items"][0]["data"]["reason_code"],
        "credit_risk"
    );
    assert_eq!(
        rejected.body["items"][0]["data"]["contact"]["name"],
        "Li Wei"
    );
    // A rejected order is final.
    app.post(
        &format!("/api/v1/orders/{}/cancel", order["id"].as_str().unwrap()),
        &app.admin(),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(409, "invalid_transition");
}

#[tokio::test]
async fn requested_changes_send_the_order_back_and_a_fix_starts_a_new_round() {
    let app = spawn_app().await;
    let (_, mut body) = setup(&app, json!({})).await;
    app.send(
        Method::PUT,
        "/api/v1/pricing-policies/retail",
        Some(&app.admin()),
        Some(&json!({"max_discount_percent": "5"})),
    )
    .await
    .expect(200);
    body["lines"] = json!([{"sku": "TEA-001", "quantity": 2, "unit_price": "70.00"}]);
    let order = place(&app, &body).await;
    let review = pending(&app, &order).await;
    let sales = app.token(&[Role::Sales]);
    decide(
        &app,
        &sales,
        &review,
        json!({"decision": "request_changes"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let reply = decide(&app, &sales, &review, json!({"decision": "request_changes", "comment": "70.00 is below our floor; order at 84.00 or more"}))
        .await
        .expect(200);
    let sent_back = &reply.body["order"];
    assert_eq!(sent_back["status"], "pending_info");
    assert_eq!(sent_back["findings"][0]["code"], "changes_requested");
    assert_eq!(sent_back["promised_delivery_date"], Value::Null);
    let info = app
        .get("/api/v1/events?type=order.info_requested", &app.admin())
        .await
        .expect(200);
    assert_eq!(
        info.body["items"][0]["data"]["requested_changes"],
        "70.00 is below our floor; order at 84.00 or more"
    );

    // The customer fixes the price: a new round, clean this time.
    let id = order["id"].as_str().unwrap();
    let version = sent_back["version"].to_string();
    let response = app
        .client
        .patch(app.url(&format!("/api/v1/orders/{id}")))
        .bearer_auth(app.partner(order["customer_id"].as_str().unwrap().parse().unwrap()))
        .header("if-match", format!("\"{version}\""))
        .json(&json!({"lines": [{"sku": "TEA-001", "quantity": 2, "unit_price": "85.00"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fixed: Value = response.json().await.unwrap();
    assert_eq!(fixed["status"], "approved", "{fixed}");
    let reviews = reviews_of(&app, &order).await;
    assert_eq!(
        reviews
            .iter()
            .filter(|r| r["round"] == 2 && r["status"] == "approved")
            .count(),
        4
    );
    assert_eq!(reviews[0]["status"], "changes_requested");
    // Partners never see reviews themselves.
    let partner = app.partner(order["customer_id"].as_str().unwrap().parse().unwrap());
    app.get("/api/v1/reviews", &partner)
        .await
        .expect_problem(403, "forbidden");
    app.get(&format!("/api/v1/orders/{id}/reviews"), &partner)
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn a_change_under_review_reopens_only_the_stages_it_affects() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({})).await;
    set_policy(
        &app,
        json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": true},
        "inventory": {"auto_approve": true}, "final": {"auto_approve": false}}}),
    )
    .await;
    let order = place(&app, &body).await;
    let id = order["id"].as_str().unwrap();
    let before = reviews_of(&app, &order).await;
    let patch = |version: i64, change: Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .patch(app.url(&format!("/api/v1/orders/{id}")))
                .bearer_auth(app.admin())
                .header("if-match", format!("\"{version}\""))
                .json(&change)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        }
    };
    // The invoice matters to finance and final, not to sales or inventory.
    let updated = patch(
        order["version"].as_i64().unwrap(),
        json!({"invoice": {"title": "New Co", "tax_id": "123"}}),
    )
    .await;
    assert_eq!(updated["status"], "in_review");
    // Re-opened stages keep their earlier decision as `superseded` and get a
    // fresh review; the others are the same review as before.
    let current = |reviews: &[Value], stage: &str| -> Value {
        reviews
            .iter()
            .find(|r| r["stage"] == stage && r["status"] != "superseded")
            .unwrap_or_else(|| panic!("a current {stage} review"))
            .clone()
    };
    let after = reviews_of(&app, &order).await;
    assert_eq!(after.len(), 6, "two stages re-opened");
    assert_eq!(current(&after, "sales"), before[0], "sales untouched");
    assert_eq!(
        current(&after, "inventory"),
        before[2],
        "inventory untouched"
    );
    let finance = current(&after, "finance");
    assert_ne!(finance["id"], before[1]["id"], "finance ran again");
    assert_eq!(finance["status"], "approved");
    assert_eq!(current(&after, "final")["status"], "pending");
    let superseded: Vec<&str> = after
        .iter()
        .filter(|r| r["status"] == "superseded")
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(superseded, vec!["finance", "final"]);
    let types = event_types(&app, &order).await;
    assert!(types.contains(&"order.review_reopened".to_owned()));
    // Lines matter to every stage.
    let updated = patch(
        updated["version"].as_i64().unwrap(),
        json!({"lines": [{"sku": "CUP-1", "quantity": 4}]}),
    )
    .await;
    assert_eq!(updated["total"], "50.00");
    let after = reviews_of(&app, &order).await;
    assert_ne!(
        current(&after, "sales")["id"],
        before[0]["id"],
        "sales ran again"
    );
    assert_eq!(
        current(&after, "inventory")["findings"][0]["data"]["sku"],
        "CUP-1"
    );
}

#[tokio::test]
async fn policy_thresholds_call_for_a_person() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({})).await;
    set_policy(
        &app,
        json!({"order_total_above": [{"currency": "CNY", "amount": "500.00"}],
                            "price_deviation_percent_above": "10", "new_customer": true}),
    )
    .await;
    let policy = app
        .get("/api/v1/review-policy", &app.admin())
        .await
        .expect(200);
    assert_eq!(policy.body["order_total_above"][0]["amount"], "500.00");
    // A new customer's first order: sales needs a person.
    let first = place(&app, &body).await;
    let review = pending(&app, &first).await;
    assert_eq!(review["stage"], "sales");
    assert!(
        review["human_reasons"][0]
            .as_str()
            .unwrap()
            .contains("new customer")
    );
    decide(
        &app,
        &app.token(&[Role::Sales]),
        &review,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    // 11 % below list: within any tier limit (none set), above the policy's 10 %.
    let mut cheap = body.clone();
    cheap["lines"] = json!([{"sku": "TEA-001", "quantity": 2, "unit_price": "78.32"}]);
    let second = place(&app, &cheap).await;
    let review = pending(&app, &second).await;
    assert_eq!(review["stage"], "sales");
    assert!(
        review["human_reasons"][0]
            .as_str()
            .unwrap()
            .contains("11.00%"),
        "{}",
        review["human_reasons"]
    );
    // Exactly 10 % below does not trigger it.
    let mut edge = body.clone();
    edge["lines"] = json!([{"sku": "TEA-001", "quantity": 2, "unit_price": "79.20"}]);
    assert_eq!(place(&app, &edge).await["status"], "approved");
    // Above 500.00: finance and final need a person.
    let mut big = body.clone();
    big["lines"] = json!([{"sku": "TEA-001", "quantity": 6}]);
    let large = place(&app, &big).await;
    let review = pending(&app, &large).await;
    assert_eq!(review["stage"], "finance");
    assert!(
        review["human_reasons"][0]
            .as_str()
            .unwrap()
            .contains("528.00")
    );
    decide(
        &app,
        &app.token(&[Role::Finance]),
        &review,
        json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    assert_eq!(pending(&app, &large).await["stage"], "final");
    // The policy is validated and only managers set it.
    app.send(
        Method::PUT,
        "/api/v1/review-policy",
        Some(&app.token(&[Role::Sales])),
        Some(&policy.body),
    )
    .await
    .expect_problem(403, "forbidden");
    let mut bad = policy.body.clone();
    bad["order_total_above"] = json!([{"currency": "XYZ", "amount": "1"}]);
    app.send(
        Method::PUT,
        "/api/v1/review-policy",
        Some(&app.admin()),
        Some(&bad),
    )
    .await
    .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn graphql_works_the_same_queues() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({"status": "credit_hold"})).await;
    let order = place(&app, &body).await;
    let queue = app
        .graphql(
            Some(&app.token(&[Role::Sales])),
            "{ reviews(stage: SALES, status: PENDING) { edges { node { id orderId stage status findings { code severity } humanReasons } } } }",
            json!({}),
        )
        .await
        .expect(200);
    let node = &queue.body["data"]["reviews"]["edges"][0]["node"];
    assert_eq!(node["orderId"], order["id"], "{}", queue.text);
    assert_eq!(
        node["findings"][0],
        json!({"code": "customer_on_credit_hold", "severity": "WARNING"})
    );
    let denied = app
        .graphql(
            Some(&app.token(&[Role::Finance])),
            "mutation($id: UUID!) { decideReview(id: $id, input: {decision: APPROVE}) { review { status } } }",
            json!({"id": node["id"]}),
        )
        .await;
    assert_eq!(denied.body["errors"][0]["extensions"]["code"], "forbidden");
    let decided = app
        .graphql(
            Some(&app.token(&[Role::Sales])),
            "mutation($id: UUID!) { decideReview(id: $id, input: {decision: REJECT, reasonCode: \"credit_risk\"}) { review { status decision reasonCode } order { status reviews { stage status } } } }",
            json!({"id": node["id"]}),
        )
        .await
        .expect(200);
    let outcome = &decided.body["data"]["decideReview"];
    assert_eq!(
        outcome["review"],
        json!({"status": "REJECTED", "decision": "REJECT", "reasonCode": "credit_risk"}),
        "{}",
        decided.text
    );
    assert_eq!(outcome["order"]["status"], "REJECTED");
    assert_eq!(outcome["order"]["reviews"][1]["status"], "SUPERSEDED");
    let policy = app
        .graphql(
            Some(&app.admin()),
            "mutation { setReviewPolicy(input: {stages: {sales: {autoApprove: true}, finance: {autoApprove: true}, inventory: {autoApprove: true}, final: {autoApprove: false}}, newCustomer: true}) { newCustomer stages { final { autoApprove } } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        policy.body["data"]["setReviewPolicy"],
        json!({"newCustomer": true, "stages": {"final": {"autoApprove": false}}})
    );
    let read = app
        .graphql(
            Some(&app.token(&[Role::Finance])),
            "{ reviewPolicy { newCustomer } }",
            json!({}),
        )
        .await;
    assert_eq!(read.body["data"]["reviewPolicy"]["newCustomer"], true);
}

#[tokio::test]
async fn two_people_deciding_the_same_review_at_once_get_one_decision() {
    let app = spawn_app().await;
    let (_, body) = setup(&app, json!({})).await;
    set_policy(&app, json!({"stages": {"sales": {"auto_approve": false}}})).await;
    for _ in 0..5 {
        let order = place(&app, &body).await;
        let review = pending(&app, &order).await;
        assert_eq!(review["stage"], "sales");
        let sales = app.token_for("sales-a", &[Role::Sales]);
        let other = app.token_for("sales-b", &[Role::Sales]);
        let (a, b) = tokio::join!(
            decide(&app, &sales, &review, json!({"decision": "approve"})),
            decide(
                &app,
                &other,
                &review,
                json!({"decision": "reject", "reason_code": "price"})
            ),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409], "{} / {}", a.text, b.text);
        let loser = if a.status.as_u16() == 409 { &a } else { &b };
        assert_eq!(loser.body["code"], "review_not_pending", "{}", loser.text);
        // The order shows exactly the winner's decision, once.
        let order = app
            .get(
                &format!("/api/v1/orders/{}", order["id"].as_str().unwrap()),
                &app.admin(),
            )
            .await
            .expect(200)
            .body;
        let expected = if a.status.as_u16() == 200 {
            "approved"
        } else {
            "rejected"
        };
        assert_eq!(order["status"], expected);
        let human: Vec<String> = event_types(&app, &order)
            .await
            .into_iter()
            .filter(|t| t == "order.review_decided")
            .collect();
        // Three automatic decisions follow an approval; a rejection ends it.
        assert_eq!(human.len(), if expected == "approved" { 4 } else { 1 });
    }
}

#[tokio::test]
async fn a_persons_decision_is_on_the_timeline_and_hidden_from_partners() {
    let app = spawn_app().await;
    let (customer_id, body) = setup(&app, json!({})).await;
    set_policy(
        &app,
        json!({"stages": {"finance": {"auto_approve": false}}}),
    )
    .await;
    let order = place(&app, &body).await;
    let review = pending(&app, &order).await;
    assert_eq!(review["stage"], "finance");
    decide(
        &app,
        &app.token_for("fin-zhao", &[Role::Finance]),
        &review,
        json!({"decision": "approve", "comment": "known customer"}),
    )
    .await
    .expect(200);
    let id = order["id"].as_str().unwrap();
    let timeline = app
        .get(&format!("/api/v1/orders/{id}/timeline"), &app.admin())
        .await
        .expect(200)
        .body;
    let decision = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "order.review_decided" && e["data"]["stage"] == "finance")
        .expect("the finance decision");
    assert_eq!(decision["actor"]["sub"], "fin-zhao");
    assert_eq!(decision["actor"]["roles"], json!(["finance"]));
    assert_eq!(decision["data"]["decision"], "approve");
    assert_eq!(decision["data"]["comment"], "known customer");
    assert_eq!(decision["data"]["decided_by"], "fin-zhao");

    // The partner sees its order's progress, not the internal review.
    let partner = app.partner(customer_id.parse().unwrap());
    let theirs = app
        .get(&format!("/api/v1/orders/{id}/timeline"), &partner)
        .await
        .expect(200)
        .body;
    let types: Vec<&str> = theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"order.created"), "{types:?}");
    assert!(types.contains(&"order.approved"), "{types:?}");
    assert!(
        !types.iter().any(|t| t.starts_with("order.review_")),
        "{types:?}"
    );
    let feed = app.get("/api/v1/events", &partner).await.expect(200).body;
    let feed_types: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(feed_types.contains(&"order.approved"), "{feed_types:?}");
    assert!(
        !feed_types.iter().any(|t| t.starts_with("order.review_")),
        "{feed_types:?}"
    );
    // Staff see the published review event (the queue entry) in the feed.
    let staff = app
        .get("/api/v1/events", &app.admin())
        .await
        .expect(200)
        .body;
    assert!(
        staff["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "order.review_required")
    );
}

#[tokio::test]
async fn a_review_policy_with_a_currency_twice_is_refused() {
    let app = spawn_app().await;
    let body = json!({"stages": {"sales": {"auto_approve": true}, "finance": {"auto_approve": true},
                                 "inventory": {"auto_approve": true}, "final": {"auto_approve": true}},
                      "order_total_above": [{"currency": "CNY", "amount": "100.00"},
                                            {"currency": "CNY", "amount": "5.00"}]});
    let reply = app
        .send(
            Method::PUT,
            "/api/v1/review-policy",
            Some(&app.admin()),
            Some(&body),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.error_paths(), vec!["order_total_above[1].currency"]);
    let policy = app
        .get("/api/v1/review-policy", &app.admin())
        .await
        .expect(200)
        .body;
    assert_eq!(policy["order_total_above"], json!([]));
}
