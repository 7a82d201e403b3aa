//! Customers.

use dingdan_tests::{address, spawn_app};
use serde_json::json;

#[tokio::test]
async fn a_customer_is_created_with_contacts_and_addresses() {
    let app = spawn_app().await;
    let body = json!({
        "code": "C-1001", "name": "Hangzhou Trading Co.",
        "contacts": [{"name": "Wang Fang", "phone": "+86 571 5555 0199", "email": "wf@example.com"}],
        "addresses": [address()], "currency": "CNY", "credit_limit": "50000.00",
        "payment_terms_days": 30, "price_tier": "wholesale", "status": "active"
    });
    let created = app
        .post("/api/v1/customers", &app.admin(), &body)
        .await
        .expect(201);
    for (field, value) in body.as_object().unwrap() {
        assert_eq!(&created.body[field], value, "field {field}");
    }
    assert_eq!(created.body["allow_partial_shipment"], true);
    let id = created.body["id"].as_str().unwrap();
    let read = app
        .get(&format!("/api/v1/customers/{id}"), &app.admin())
        .await
        .expect(200);
    assert_eq!(read.body, created.body);
}

#[tokio::test]
async fn nested_errors_name_their_path() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/customers",
            &app.admin(),
            &json!({
                "code": "C-1", "name": "C", "currency": "CNY", "payment_terms_days": 400,
                "contacts": [{"name": "ok"}, {"email": "not-an-email"}],
                "addresses": [address(), {"name": "x", "line1": "1 Road", "city": "Hangzhou", "country": "China"}]
            }),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut paths = reply.error_paths();
    paths.sort();
    assert_eq!(
        paths,
        vec![
            "addresses[1].country",
            "contacts[1].email",
            "contacts[1].name",
            "payment_terms_days"
        ]
    );
}

#[tokio::test]
async fn codes_are_unique_and_patches_keep_the_rest() {
    let app = spawn_app().await;
    let customer = app.create_customer("C-2", json!({})).await;
    app.post(
        "/api/v1/customers",
        &app.admin(),
        &json!({"code": "C-2", "name": "Again", "currency": "CNY"}),
    )
    .await
    .expect_problem(409, "already_exists");
    let path = format!("/api/v1/customers/{}", customer["id"].as_str().unwrap());
    let patched = app
        .patch(&path, &app.admin(), &json!({"status": "credit_hold", "credit_limit": "100.00", "allow_partial_shipment": false}))
        .await
        .expect(200);
    assert_eq!(patched.body["status"], "credit_hold");
    assert_eq!(patched.body["credit_limit"], "100.00");
    assert_eq!(patched.body["allow_partial_shipment"], false);
    assert_eq!(patched.body["contacts"], customer["contacts"]);
    app.patch(&path, &app.admin(), &json!({"status": "vip"}))
        .await
        .expect_problem(400, "invalid_type");
}

#[tokio::test]
async fn customers_filter_by_status_tier_and_text() {
    let app = spawn_app().await;
    app.create_customer(
        "C-A",
        json!({"name": "Alpha Foods", "price_tier": "retail"}),
    )
    .await;
    app.create_customer(
        "C-B",
        json!({"name": "Beta Foods", "status": "credit_hold"}),
    )
    .await;
    app.create_customer("C-C", json!({"name": "Gamma Tools"}))
        .await;
    let codes = |body: &serde_json::Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let foods = app
        .get("/api/v1/customers?q=foods", &app.admin())
        .await
        .expect(200);
    assert_eq!(codes(&foods.body), vec!["C-A", "C-B"]);
    let held = app
        .get("/api/v1/customers?status=credit_hold", &app.admin())
        .await
        .expect(200);
    assert_eq!(codes(&held.body), vec!["C-B"]);
    let retail = app
        .get("/api/v1/customers?price_tier=retail", &app.admin())
        .await
        .expect(200);
    assert_eq!(codes(&retail.body), vec!["C-A"]);
}

#[tokio::test]
async fn a_missing_country_is_reported_as_required() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/customers",
            &app.admin(),
            &json!({"code": "C-NC", "name": "C", "currency": "CNY", "addresses": [{"name": "x", "line1": "1 Rd", "city": "Hangzhou"}]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.body["errors"][0]["path"], "addresses[0].country");
    assert_eq!(reply.body["errors"][0]["code"], "required");
}
