//! `Idempotency-Key` on creates: a repeat replays the first response, a
//! different request under the same key is refused, concurrent repeats create once.

use dingdan_tests::spawn_app;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post_with_key(
    app: &dingdan_tests::TestApp,
    path: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Option<String>, String) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(app.admin())
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, response.text().await.unwrap())
}

#[tokio::test]
async fn a_repeated_create_replays_the_first_response_byte_for_byte() {
    let app = spawn_app().await;
    let body = json!({"sku": "IDEM-1", "name": "Tea", "unit": "tin", "list_price": "1.00", "currency": "CNY"});
    let (status, replayed, first) = post_with_key(&app, "/api/v1/products", "key-1", &body).await;
    assert_eq!(status, 201);
    assert_eq!(replayed, None);
    // The same request again, even with its keys in another order.
    let reordered = json!({"currency": "CNY", "list_price": "1.00", "unit": "tin", "name": "Tea", "sku": "IDEM-1"});
    let (status, replayed, again) =
        post_with_key(&app, "/api/v1/products", "key-1", &reordered).await;
    assert_eq!(status, 201);
    assert_eq!(replayed.as_deref(), Some("true"));
    assert_eq!(again, first);
    let list = app.get("/api/v1/products", &app.admin()).await.expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Another request under the same key is refused.
    let other = json!({"sku": "IDEM-2", "name": "Tea", "unit": "tin", "list_price": "1.00", "currency": "CNY"});
    let (status, _, text) = post_with_key(&app, "/api/v1/products", "key-1", &other).await;
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("idempotency_key_reused"));
    // The key is per endpoint as well: the same key on customers is a different request.
    let customer = json!({"code": "C-IDEM", "name": "C", "currency": "CNY"});
    let (status, _, _) = post_with_key(&app, "/api/v1/customers", "key-1", &customer).await;
    assert_eq!(status, 422);
    let (status, _, _) = post_with_key(&app, "/api/v1/customers", "key-2", &customer).await;
    assert_eq!(status, 201);
    let (status, replayed, _) = post_with_key(&app, "/api/v1/customers", "key-2", &customer).await;
    assert_eq!((status.as_u16(), replayed.as_deref()), (201, Some("true")));

    // A failed create does not burn its key.
    let invalid = json!({"sku": "IDEM-3", "name": "", "unit": "tin", "list_price": "1.00", "currency": "CNY"});
    let (status, _, _) = post_with_key(&app, "/api/v1/products", "key-3", &invalid).await;
    assert_eq!(status, 422);
    let fixed = json!({"sku": "IDEM-3", "name": "Fixed", "unit": "tin", "list_price": "1.00", "currency": "CNY"});
    let (status, _, _) = post_with_key(&app, "/api/v1/products", "key-3", &fixed).await;
    assert_eq!(status, 201);

    let (status, _, text) = post_with_key(&app, "/api/v1/products", "   ", &fixed).await;
    assert_eq!(status, 400, "{text}");
}

#[tokio::test]
async fn concurrent_repeats_of_a_receipt_receive_once() {
    let app = spawn_app().await;
    app.create_product("IDEM-STOCK", json!({})).await;
    let warehouse = app.create_warehouse("WH-IDEM", json!({})).await;
    let body = json!({"warehouse_id": warehouse["id"], "sku": "IDEM-STOCK", "quantity": 7});
    let attempts =
        (0..20).map(|_| post_with_key(&app, "/api/v1/stock/receipts", "receipt-1", &body));
    let results = futures_util::future::join_all(attempts).await;
    let bodies: Vec<&String> = results
        .iter()
        .map(|(status, _, text)| {
            assert_eq!(status.as_u16(), 201, "{text}");
            text
        })
        .collect();
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "every answer is the first one"
    );
    assert_eq!(
        results
            .iter()
            .filter(|(_, replayed, _)| replayed.is_none())
            .count(),
        1
    );
    let levels = app
        .get("/api/v1/stock?sku=IDEM-STOCK", &app.admin())
        .await
        .expect(200);
    assert_eq!(levels.body["items"][0]["on_hand"], 7);
}

#[tokio::test]
async fn keys_are_per_principal() {
    let app = spawn_app().await;
    let body = json!({"sku": "PER-1", "name": "Tea", "unit": "tin", "list_price": "1.00", "currency": "CNY"});
    let (status, _, _) = post_with_key(&app, "/api/v1/products", "shared", &body).await;
    assert_eq!(status, 201);
    // Another principal using the same key and body is a new request: here a
    // duplicate SKU, not a replay of someone else's response.
    let response = app
        .client
        .post(app.url("/api/v1/products"))
        .bearer_auth(app.token_for("someone-else", &[dingdan::domain::actor::Role::Admin]))
        .header("idempotency-key", "shared")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}
