//! Bad input of every kind gets a problem document with a stable code, and
//! leaves nothing behind.

use dingdan_tests::{spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_a_400_with_its_position() {
    let app = spawn_app().await;
    let reply = app
        .post_raw(
            "/api/v1/products",
            &app.admin(),
            "application/json",
            r#"{"sku": "A", "name": }"#,
        )
        .await
        .expect_problem(400, "malformed_json");
    assert!(
        reply.body["detail"].as_str().unwrap().contains("line 1"),
        "{}",
        reply.text
    );
    app.post_raw(
        "/api/v1/products",
        &app.admin(),
        "application/json",
        r#"{"sku": "A", "name": "A", "unit": "u", "list_price": "1", "currency": "CNY"} {}"#,
    )
    .await
    .expect_problem(400, "malformed_json");
    app.post_raw("/api/v1/products", &app.admin(), "application/json", "")
        .await
        .expect_problem(400, "malformed_json");
}

#[tokio::test]
async fn unknown_missing_and_mistyped_fields_name_their_path() {
    let app = spawn_app().await;
    let admin = app.admin();
    let base = json!({"sku": "TEA-1", "name": "Tea", "unit": "tin", "list_price": "1.00", "currency": "CNY"});

    let mut unknown = base.clone();
    unknown["colour"] = json!("green");
    let reply = app
        .post("/api/v1/products", &admin, &unknown)
        .await
        .expect_problem(400, "unknown_field");
    assert_eq!(reply.error_paths(), vec!["colour"]);

    let mut nested = base.clone();
    nested["traits"] = json!({"fragile": true, "shiny": true});
    let reply = app
        .post("/api/v1/products", &admin, &nested)
        .await
        .expect_problem(400, "unknown_field");
    assert_eq!(reply.error_paths(), vec!["traits.shiny"]);

    let reply = app
        .post(
            "/api/v1/products",
            &admin,
            &json!({"sku": "TEA-1", "unit": "tin", "list_price": "1.00", "currency": "CNY"}),
        )
        .await
        .expect_problem(400, "missing_field");
    assert_eq!(reply.error_paths(), vec!["name"]);

    let mut wrong = base.clone();
    wrong["lead_time_days"] = json!("soon");
    let reply = app
        .post("/api/v1/products", &admin, &wrong)
        .await
        .expect_problem(400, "invalid_type");
    assert_eq!(reply.error_paths(), vec!["lead_time_days"]);

    // Money is a decimal string, never a JSON number (a float would round).
    let mut float = base.clone();
    float["list_price"] = json!(1.1);
    let reply = app
        .post("/api/v1/products", &admin, &float)
        .await
        .expect_problem(400, "invalid_type");
    assert_eq!(reply.error_paths(), vec!["list_price"]);

    let customer = json!({"code": "C1", "name": "C", "currency": "CNY", "addresses": [{"name": "x", "lines": 3}]});
    let reply = app
        .post("/api/v1/customers", &admin, &customer)
        .await
        .expect_problem(400, "unknown_field");
    assert_eq!(reply.error_paths(), vec!["addresses[0].lines"]);

    // Nothing was stored by any of these.
    let list = app.get("/api/v1/products", &admin).await.expect(200);
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn semantic_errors_are_422_listing_every_field() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/products",
            &app.admin(),
            &json!({"sku": "bad sku!", "name": "  ", "unit": "tin", "list_price": "-1", "currency": "RMB", "lead_time_days": -3}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut paths = reply.error_paths();
    paths.sort();
    assert_eq!(
        paths,
        vec!["currency", "lead_time_days", "list_price", "name", "sku"]
    );
    let codes: Vec<&str> = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"invalid_currency") && codes.contains(&"negative"),
        "{codes:?}"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415_and_oversize_bodies_are_413() {
    let app = spawn_app_with(&[("DINGDAN_MAX_BODY_BYTES", "2048")]).await;
    app.post_raw(
        "/api/v1/products",
        &app.admin(),
        "text/plain",
        r#"{"sku": "A"}"#,
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    let big = json!({"sku": "BIG", "name": "x".repeat(4096), "unit": "pcs", "list_price": "1.00", "currency": "CNY"});
    app.post("/api/v1/products", &app.admin(), &big)
        .await
        .expect_problem(413, "payload_too_large");
    // A body just under the limit is read normally.
    let fits = json!({"sku": "FITS", "name": "x".repeat(100), "unit": "pcs", "list_price": "1.00", "currency": "CNY"});
    app.post("/api/v1/products", &app.admin(), &fits)
        .await
        .expect(201);
}

#[tokio::test]
async fn unknown_routes_methods_ids_and_parameters() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.get("/api/v1/nothing-here", &admin)
        .await
        .expect_problem(404, "route_not_found");
    app.send(Method::GET, "/somewhere", None, None)
        .await
        .expect_problem(404, "route_not_found");
    let reply = app
        .send(Method::DELETE, "/api/v1/products", Some(&admin), None)
        .await
        .expect_problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, POST"));
    let reply = app
        .send(
            Method::PUT,
            &format!("/api/v1/products/{}", uuid::Uuid::now_v7()),
            Some(&admin),
            None,
        )
        .await
        .expect_problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, PATCH"));
    app.get("/api/v1/products/not-a-uuid", &admin)
        .await
        .expect_problem(404, "not_found");
    app.get(
        &format!("/api/v1/products/{}", uuid::Uuid::now_v7()),
        &admin,
    )
    .await
    .expect_problem(404, "not_found");
    app.get("/api/v1/products?limit=500", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    app.get("/api/v1/products?limit=0", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    app.get("/api/v1/products?after=garbage", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    app.get("/api/v1/products?active=maybe", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    app.get("/api/v1/products?colour=red", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
}

#[tokio::test]
async fn a_body_must_be_an_object_without_nul_characters() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.post_raw(
        "/api/v1/products",
        &admin,
        "application/json",
        r#"["TEA-9", "Tea", null, "tin", "1.00", "CNY"]"#,
    )
    .await
    .expect_problem(400, "invalid_type");
    let reply = app
        .post("/api/v1/products", &admin, &json!({"sku": "NUL", "name": "a\u{0}b", "unit": "u", "list_price": "1", "currency": "CNY"}))
        .await
        .expect_problem(400, "invalid_type");
    assert_eq!(reply.error_paths(), vec!["name"]);
    let reply = app
        .get("/api/v1/products?q=a%00b", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    assert_eq!(reply.error_paths(), vec!["q"]);
}

#[tokio::test]
async fn decimals_are_plain_strings_and_query_errors_name_the_parameter() {
    let app = spawn_app().await;
    let admin = app.admin();
    for price in ["1e3", "12,50", ".5", ""] {
        let reply = app
            .post("/api/v1/products", &admin, &json!({"sku": "D", "name": "D", "unit": "u", "list_price": price, "currency": "CNY"}))
            .await
            .expect_problem(400, "invalid_type");
        assert_eq!(reply.error_paths(), vec!["list_price"], "{price}");
        assert!(
            reply.body["detail"]
                .as_str()
                .unwrap()
                .contains("in a string")
        );
    }
    for (query, param) in [
        ("limit=abc", "limit"),
        ("active=yes", "active"),
        ("colour=red", "colour"),
    ] {
        let reply = app
            .get(&format!("/api/v1/products?{query}"), &admin)
            .await
            .expect_problem(400, "invalid_parameter");
        assert_eq!(reply.error_paths(), vec![param], "{query}");
    }
    let reply = app
        .get("/api/v1/stock?warehouse_id=nope", &admin)
        .await
        .expect_problem(400, "invalid_parameter");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("expected a UUID"),
        "{}",
        reply.text
    );
    let reply = app
        .post("/api/v1/stock/receipts", &admin, &json!({"warehouse_id": uuid::Uuid::now_v7(), "sku": "X", "quantity": 1, "received_at": "2026-13-01"}))
        .await
        .expect_problem(400, "invalid_type");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("YYYY-MM-DD"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn a_patch_refuses_null_for_fields_that_cannot_be_cleared() {
    let app = spawn_app().await;
    let product = app.create_product("NULLS", json!({})).await;
    let path = format!("/api/v1/products/{}", product["id"].as_str().unwrap());
    for field in ["name", "list_price", "active", "traits"] {
        let reply = app
            .patch(&path, &app.admin(), &json!({field: null}))
            .await
            .expect_problem(400, "invalid_type");
        assert_eq!(reply.error_paths(), vec![field]);
    }
}

#[tokio::test]
async fn conflicts_name_the_existing_resource_and_forbidden_names_the_roles() {
    let app = spawn_app().await;
    let first = app.create_product("TAKEN", json!({})).await;
    let reply = app
        .post("/api/v1/products", &app.admin(), &json!({"sku": "TAKEN", "name": "x", "unit": "u", "list_price": "1", "currency": "CNY"}))
        .await
        .expect_problem(409, "already_exists");
    assert_eq!(reply.body["existing_id"], first["id"]);
    let customer = app.create_customer("C-TAKEN", json!({})).await;
    let reply = app
        .post(
            "/api/v1/customers",
            &app.admin(),
            &json!({"code": "C-TAKEN", "name": "x", "currency": "CNY"}),
        )
        .await
        .expect_problem(409, "already_exists");
    assert_eq!(reply.body["existing_id"], customer["id"]);

    let reply = app
        .post(
            "/api/v1/products",
            &app.token(&[dingdan::domain::actor::Role::Support]),
            &json!({"sku": "X", "name": "", "unit": "u", "list_price": "-1", "currency": "CNY"}),
        )
        .await
        .expect_problem(403, "forbidden");
    // Permission comes before validation: no hint about the body.
    let detail = reply.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("admin, order_manager") && detail.contains("support"),
        "{detail}"
    );
}
