//! Bearer tokens: 401 without a valid one, 403 without the role, and partner
//! tokens that see only their own customer.

use dingdan::domain::actor::Role;
use dingdan_tests::{TEST_SECRET, fixtures_dir, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::Method;
use serde_json::{Value, json};

fn sign(claims: &Value, algorithm: Algorithm, key: &EncodingKey) -> String {
    encode(&Header::new(algorithm), claims, key).unwrap()
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"sub": "t", "roles": ["admin"], "exp": now + 600, "iat": now, "iss": "dingdan", "aud": "dingdan"});
    dingdan_tests::merge(&mut claims, overrides);
    claims
}

#[tokio::test]
async fn requests_without_a_valid_token_are_401() {
    let app = spawn_app().await;
    let secret = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    let reply = app
        .send(Method::GET, "/api/v1/products", None, None)
        .await
        .expect_problem(401, "unauthorized");
    assert!(
        reply
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );

    let now = chrono::Utc::now().timestamp();
    let bad_tokens = [
        "not-a-jwt".to_owned(),
        sign(
            &claims(json!({"exp": now - 3600})),
            Algorithm::HS256,
            &secret,
        ),
        sign(
            &claims(json!({"iss": "someone-else"})),
            Algorithm::HS256,
            &secret,
        ),
        sign(
            &claims(json!({"aud": "another-api"})),
            Algorithm::HS256,
            &secret,
        ),
        sign(
            &claims(json!({})),
            Algorithm::HS256,
            &EncodingKey::from_secret(b"a-different-secret-of-32-bytes-!!"),
        ),
        // The algorithm is pinned by the server: HS384 with the right secret fails too.
        sign(&claims(json!({})), Algorithm::HS384, &secret),
    ];
    for token in &bad_tokens {
        app.get("/api/v1/products", token)
            .await
            .expect_problem(401, "unauthorized");
    }
    // Required claims: no `exp`, no `aud`.
    let mut no_exp = claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    app.get(
        "/api/v1/products",
        &sign(&no_exp, Algorithm::HS256, &secret),
    )
    .await
    .expect_problem(401, "unauthorized");
    let mut no_aud = claims(json!({}));
    no_aud.as_object_mut().unwrap().remove("aud");
    app.get(
        "/api/v1/products",
        &sign(&no_aud, Algorithm::HS256, &secret),
    )
    .await
    .expect_problem(401, "unauthorized");
    // An unsigned token ("alg": "none").
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = base64url(claims(json!({})).to_string().as_bytes());
    app.get("/api/v1/products", &format!("{header}.{payload}."))
        .await
        .expect_problem(401, "unauthorized");
    // Not a bearer scheme.
    let response = app
        .client
        .get(app.url("/api/v1/products"))
        .header(
            "authorization",
            format!("Basic {}", base64url(b"admin:admin")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The valid one works.
    app.get(
        "/api/v1/products",
        &sign(&claims(json!({})), Algorithm::HS256, &secret),
    )
    .await
    .expect(200);
}

fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn rs256_tokens_of_an_external_identity_provider_are_accepted() {
    let public = fixtures_dir().join("jwt/rs256-public.pem");
    let app = spawn_app_with(&[("DINGDAN_JWT_PUBLIC_KEY", public.to_str().unwrap())]).await;
    let private = std::fs::read(fixtures_dir().join("jwt/rs256-private.pem")).unwrap();
    let token = sign(
        &claims(json!({"roles": ["admin", "some-other-system-role"]})),
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    );
    app.get("/api/v1/products", &token).await.expect(200);
    // Algorithm confusion: an HS256 token "signed" with the public key is refused.
    let public_pem = std::fs::read(&public).unwrap();
    let forged = sign(
        &claims(json!({})),
        Algorithm::HS256,
        &EncodingKey::from_secret(&public_pem),
    );
    app.get("/api/v1/products", &forged)
        .await
        .expect_problem(401, "unauthorized");
    // Dingdan's own HS256 tokens keep working beside the provider's.
    app.get("/api/v1/products", &app.admin()).await.expect(200);
}

#[tokio::test]
async fn roles_decide_who_may_write_what() {
    let app = spawn_app().await;
    let warehouse_body = json!({"code": "WH-1", "name": "W", "address": dingdan_tests::address(), "region": "SH", "latitude": 31.0, "longitude": 121.0});
    let product_body =
        json!({"sku": "P-1", "name": "P", "unit": "pcs", "list_price": "1.00", "currency": "CNY"});

    // Warehouses: admin and warehouse staff only.
    for role in [
        Role::Sales,
        Role::Finance,
        Role::Support,
        Role::OrderManager,
    ] {
        app.post("/api/v1/warehouses", &app.token(&[role]), &warehouse_body)
            .await
            .expect_problem(403, "forbidden");
    }
    let warehouse = app
        .post(
            "/api/v1/warehouses",
            &app.token(&[Role::Warehouse]),
            &warehouse_body,
        )
        .await
        .expect(201);
    // Products: admin and order managers.
    app.post(
        "/api/v1/products",
        &app.token(&[Role::Warehouse]),
        &product_body,
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/products",
        &app.token(&[Role::OrderManager]),
        &product_body,
    )
    .await
    .expect(201);
    // Stock receipts: warehouse, production, integration, admin; not sales.
    let receipt = json!({"warehouse_id": warehouse.body["id"], "sku": "P-1", "quantity": 5});
    app.post(
        "/api/v1/stock/receipts",
        &app.token(&[Role::Sales]),
        &receipt,
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/stock/receipts",
        &app.token(&[Role::Production]),
        &receipt,
    )
    .await
    .expect(201);
    // A token with no roles can do nothing, but is authenticated.
    app.get("/api/v1/products", &app.token(&[]))
        .await
        .expect_problem(403, "forbidden");
    // Reading the catalog is open to every role.
    for role in Role::ALL {
        app.get("/api/v1/products", &app.token(&[role]))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn a_partner_token_never_sees_another_customers_data() {
    let app = spawn_app().await;
    let own = app.create_customer("C-OWN", json!({})).await;
    let other = app.create_customer("C-OTHER", json!({})).await;
    let own_id = own["id"].as_str().unwrap();
    let other_id = other["id"].as_str().unwrap();
    let partner = app.partner(own_id.parse().unwrap());

    app.get(&format!("/api/v1/customers/{own_id}"), &partner)
        .await
        .expect(200);
    // Another customer is reported exactly as one that does not exist.
    let hidden = app
        .get(&format!("/api/v1/customers/{other_id}"), &partner)
        .await
        .expect_problem(404, "not_found");
    let missing = app
        .get(
            &format!("/api/v1/customers/{}", uuid::Uuid::now_v7()),
            &partner,
        )
        .await
        .expect_problem(404, "not_found");
    assert_eq!(hidden.body["title"], missing.body["title"]);
    let list = app.get("/api/v1/customers", &partner).await.expect(200);
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![own_id]);
    let filtered = app
        .get("/api/v1/customers?code=C-OTHER", &partner)
        .await
        .expect(200);
    assert_eq!(filtered.body["items"], json!([]));
    // Nor may it change another customer, or master data.
    app.patch(
        &format!("/api/v1/customers/{other_id}"),
        &partner,
        &json!({"name": "x"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.get("/api/v1/warehouses", &partner)
        .await
        .expect_problem(403, "forbidden");
    app.get("/api/v1/stock", &partner)
        .await
        .expect_problem(403, "forbidden");
    // It may read the catalog to order from it.
    app.get("/api/v1/products", &partner).await.expect(200);
    // The same holds over GraphQL.
    let reply = app
        .graphql(
            Some(&partner),
            "query($id: UUID!) { customer(id: $id) { code } }",
            json!({"id": other_id}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["errors"][0]["extensions"]["code"], "not_found");
    let reply = app
        .graphql(
            Some(&partner),
            "{ customers { edges { node { code } } } }",
            json!({}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["data"]["customers"]["edges"],
        json!([{"node": {"code": "C-OWN"}}])
    );
}

#[tokio::test]
async fn a_configured_issuer_and_audience_are_required() {
    let app = spawn_app_with(&[
        ("DINGDAN_JWT_ISSUER", "https://idp.example"),
        ("DINGDAN_JWT_AUDIENCE", "orders-api"),
    ])
    .await;
    // Its own tokens carry the configured values.
    app.get("/api/v1/products", &app.admin()).await.expect(200);
    let secret = EncodingKey::from_secret(TEST_SECRET.as_bytes());
    let defaults = sign(&claims(json!({})), Algorithm::HS256, &secret);
    app.get("/api/v1/products", &defaults)
        .await
        .expect_problem(401, "unauthorized");
    let matching = sign(
        &claims(json!({"iss": "https://idp.example", "aud": ["orders-api", "other"]})),
        Algorithm::HS256,
        &secret,
    );
    app.get("/api/v1/products", &matching).await.expect(200);
}

#[tokio::test]
async fn a_public_key_may_be_given_inline() {
    let pem = std::fs::read_to_string(fixtures_dir().join("jwt/rs256-public.pem")).unwrap();
    let app = spawn_app_with(&[("DINGDAN_JWT_PUBLIC_KEY", pem.as_str())]).await;
    let private = std::fs::read(fixtures_dir().join("jwt/rs256-private.pem")).unwrap();
    let token = sign(
        &claims(json!({})),
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(&private).unwrap(),
    );
    app.get("/api/v1/products", &token).await.expect(200);
}
