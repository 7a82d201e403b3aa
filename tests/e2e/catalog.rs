//! Products.

use dingdan_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn a_product_is_created_read_and_listed_in_the_documented_shape() {
    let app = spawn_app().await;
    let admin = app.admin();
    let body = json!({
        "sku": "TEA-001", "name": "Longjing tea 250 g", "specification": "tin, 250 g",
        "unit": "tin", "list_price": "88.00", "currency": "CNY", "weight_kg": "0.32",
        "traits": {"fragile": false, "liquid": false, "hazardous": false,
                   "perishable": true, "lot_tracked": true, "made_to_order": false},
        "lead_time_days": 0, "active": true
    });
    let created = app
        .post("/api/v1/products", &admin, &body)
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/products/{id}").as_str())
    );
    for (field, value) in body.as_object().unwrap() {
        assert_eq!(&created.body[field], value, "field {field}");
    }
    assert!(created.body["created_at"].as_str().unwrap().ends_with('Z'));

    let read = app
        .get(&format!("/api/v1/products/{id}"), &admin)
        .await
        .expect(200);
    assert_eq!(read.body, created.body);
    let list = app
        .get("/api/v1/products?sku=TEA-001", &admin)
        .await
        .expect(200);
    assert_eq!(list.body["items"], json!([created.body]));
    assert_eq!(list.body["next_cursor"], json!(null));
}

#[tokio::test]
async fn defaults_apply_to_optional_fields() {
    let app = spawn_app().await;
    let product = app.create_product("MIN-1", json!({})).await;
    assert_eq!(product["active"], true);
    assert_eq!(product["lead_time_days"], 0);
    assert_eq!(product["traits"]["perishable"], false);
    assert_eq!(product["specification"], json!(null));
}

#[tokio::test]
async fn duplicate_skus_conflict_and_the_first_product_is_untouched() {
    let app = spawn_app().await;
    let first = app.create_product("DUP-1", json!({"name": "First"})).await;
    app.post(
        "/api/v1/products",
        &app.admin(),
        &json!({"sku": "DUP-1", "name": "Second", "unit": "pcs", "list_price": "1.00", "currency": "CNY"}),
    )
    .await
    .expect_problem(409, "already_exists");
    let read = app
        .get(
            &format!("/api/v1/products/{}", first["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(read.body["name"], "First");
}

#[tokio::test]
async fn a_patch_changes_only_the_fields_it_names() {
    let app = spawn_app().await;
    let product = app
        .create_product(
            "PATCH-1",
            json!({"specification": "box of 12", "traits": {"fragile": true}}),
        )
        .await;
    let path = format!("/api/v1/products/{}", product["id"].as_str().unwrap());
    let patched = app
        .patch(
            &path,
            &app.admin(),
            &json!({"list_price": "12.50", "traits": {"liquid": true}, "active": false}),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["list_price"], "12.50");
    assert_eq!(patched.body["active"], false);
    assert_eq!(
        patched.body["traits"]["fragile"], true,
        "untouched trait kept"
    );
    assert_eq!(patched.body["traits"]["liquid"], true);
    assert_eq!(patched.body["specification"], "box of 12");
    assert_eq!(patched.body["name"], product["name"]);
    assert_ne!(patched.body["updated_at"], product["updated_at"]);

    // `null` clears an optional field.
    let cleared = app
        .patch(&path, &app.admin(), &json!({"specification": null}))
        .await
        .expect(200);
    assert_eq!(cleared.body["specification"], json!(null));
    // The SKU cannot change; invalid values are refused with nothing changed.
    app.patch(&path, &app.admin(), &json!({"sku": "NEW"}))
        .await
        .expect_problem(400, "unknown_field");
    app.patch(
        &path,
        &app.admin(),
        &json!({"list_price": "-1", "name": ""}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let read = app.get(&path, &app.admin()).await.expect(200);
    assert_eq!(read.body["list_price"], "12.50");
    // A missing product is a 404.
    app.patch(
        &format!("/api/v1/products/{}", uuid::Uuid::now_v7()),
        &app.admin(),
        &json!({"name": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn lists_page_with_cursors_in_a_stable_order_and_filter() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..7 {
        let active = i % 3 != 0;
        let product = app
            .create_product(
                &format!("PAGE-{i}"),
                json!({"name": format!("Green tea {i}"), "active": active}),
            )
            .await;
        created.push(product["id"].as_str().unwrap().to_owned());
    }
    app.create_product("OTHER", json!({"name": "Coffee"})).await;

    let mut seen = Vec::new();
    let mut path = "/api/v1/products?q=GREEN&limit=3".to_owned();
    loop {
        let page = app.get(&path, &app.admin()).await.expect(200);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/products?q=GREEN&limit=3&after={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen, created,
        "every matching product once, in creation order"
    );

    let inactive = app
        .get("/api/v1/products?active=false", &app.admin())
        .await
        .expect(200);
    let skus: Vec<&str> = inactive.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, vec!["PAGE-0", "PAGE-3", "PAGE-6"]);
    // Wildcards in `q` are literal.
    let none = app
        .get("/api/v1/products?q=%25", &app.admin())
        .await
        .expect(200);
    assert_eq!(none.body["items"], json!([]));
}

#[tokio::test]
async fn money_and_weights_round_trip_exactly() {
    let app = spawn_app().await;
    // 18 and 21 significant digits: more than an f64 holds (prices stay below
    // 10^15 with at most 6 decimals; weights are not bounded so).
    let prices = [
        "12345678901234.5678",
        "123456789012345.678901",
        "0.000001",
        "88.00",
        "100",
    ];
    for (i, price) in prices.iter().enumerate() {
        let product = app
            .create_product(
                &format!("BIG-{i}"),
                json!({"list_price": price, "weight_kg": "1234567890.123456789"}),
            )
            .await;
        assert_eq!(product["list_price"], *price);
        let read = app
            .get(
                &format!("/api/v1/products/{}", product["id"].as_str().unwrap()),
                &app.admin(),
            )
            .await
            .expect(200);
        assert_eq!(read.body["list_price"], *price, "stored and read back");
        assert_eq!(read.body["weight_kg"], "1234567890.123456789");
    }
    let customer = app
        .create_customer("BIG-C", json!({"credit_limit": "98765432109876.5432"}))
        .await;
    let read = app
        .get(
            &format!("/api/v1/customers/{}", customer["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect(200);
    assert_eq!(read.body["credit_limit"], "98765432109876.5432");
}
