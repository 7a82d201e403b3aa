//! Health, readiness, metrics, request ids and the docs.

use dingdan_tests::spawn_app;
use reqwest::Method;

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let health = app
        .send(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    assert_eq!(health.body["status"], "ok");
    let ready = app
        .send(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    assert_eq!(ready.body["status"], "ready");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.clone().close().await.unwrap();
    app.send(Method::GET, "/readyz", None, None)
        .await
        .expect_problem(503, "not_ready");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let app = spawn_app().await;
    let reply = app.send(Method::GET, "/healthz", None, None).await;
    let generated = reply.header("x-request-id").expect("a request id");
    assert!(!generated.is_empty());

    let response = app
        .client
        .get(app.url("/api/v1/products"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
    let body: serde_json::Value = response.json().await.unwrap();
    // Problem documents quote it too, so a user can report it.
    assert_eq!(body["request_id"], "trace-abc-123");
    assert_eq!(body["instance"], "/api/v1/products");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let admin = app.admin();
    app.get("/api/v1/products", &admin).await.expect(200);
    app.get("/api/v1/products", &admin).await.expect(200);
    app.send(Method::GET, "/api/v1/products", None, None)
        .await
        .expect(401);
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/products",status="200"} 2"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_requests_total{method="GET",route="/api/v1/products",status="401"} 1"#
        )
    );
    assert!(text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/products",status="200",le="0.5"}"#));
}

#[tokio::test]
async fn the_openapi_document_and_offline_docs_are_served() {
    let app = spawn_app().await;
    let spec = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .expect(200);
    assert!(spec.body["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec.body["paths"]["/api/v1/products"]["post"].is_object());

    let redirect = app.send(Method::GET, "/docs", None, None).await;
    assert_eq!(redirect.status.as_u16(), 308);
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // Every asset is local: nothing loads from a CDN.
    assert!(
        html.contains("swagger-ui-bundle.js") && !html.contains("https://"),
        "{html}"
    );
    let init = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/v1/openapi.json") && init.contains(r#""validatorUrl": "none""#));
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200);
}

#[tokio::test]
async fn graphiql_is_served_with_vendored_assets() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("https://"),
        "GraphiQL must not load from a CDN"
    );
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        assert!(html.contains(&format!("/graphql/assets/{asset}")));
        let response = app
            .client
            .get(app.url(&format!("/graphql/assets/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await.unwrap().len() > 1000);
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_durable_commits() {
    let app = spawn_app().await;
    let description = app.db.describe().await.unwrap();
    if app.database.is_postgres() {
        assert!(description.starts_with("postgresql"), "{description}");
        return;
    }
    assert!(description.contains("journal_mode=wal"), "{description}");
    // 2 is FULL: the WAL is synced on every commit.
    assert!(description.contains("synchronous=2"), "{description}");
    assert!(description.contains("busy_timeout=10000"), "{description}");
    assert!(description.contains("foreign_keys=1"), "{description}");
}

#[tokio::test]
async fn readiness_fails_while_a_migration_is_pending() {
    let app = spawn_app().await;
    app.send(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    app.db
        .execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = (SELECT MAX(version) FROM seaql_migrations)",
        )
        .await
        .unwrap();
    let reply = app
        .send(Method::GET, "/readyz", None, None)
        .await
        .expect_problem(503, "not_ready");
    assert!(
        reply.body["detail"]
            .as_str()
            .unwrap()
            .contains("dingdan migrate"),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn head_probes_answer() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = app.client.put(app.url("/graphql")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");
}

#[tokio::test]
async fn an_unexpected_failure_is_an_opaque_500_problem() {
    let app = spawn_app().await;
    let product = app.create_product("BROKEN", serde_json::json!({})).await;
    // Something outside Dingdan corrupts a row.
    app.db
        .execute_unprepared("UPDATE products SET currency = 'XX' WHERE sku = 'BROKEN'")
        .await
        .unwrap();
    let reply = app
        .get(
            &format!("/api/v1/products/{}", product["id"].as_str().unwrap()),
            &app.admin(),
        )
        .await
        .expect_problem(500, "internal");
    assert!(
        !reply.text.contains("XX"),
        "no internals leak: {}",
        reply.text
    );
    assert!(reply.body["request_id"].is_string());
}

#[tokio::test]
async fn replicas_starting_together_migrate_once() {
    let database = dingdan_tests::TestDatabase::create().await;
    let connect = || dingdan::service::Db::connect(&database.url, 2);
    let (a, b) = tokio::join!(connect(), connect());
    let (a, b) = (a.unwrap(), b.unwrap());
    let (first, second) = tokio::join!(a.migrate(), b.migrate());
    first.unwrap();
    second.unwrap();
    assert_eq!(a.pending_migrations().await.unwrap(), 0);
}
