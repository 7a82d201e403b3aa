//! The committed OpenAPI document and GraphQL SDL are what the server serves.
//! Regenerate them with `DINGDAN_UPDATE_SCHEMAS=1 cargo test schema_files`
//! (or `dingdan openapi > openapi/openapi.json` and
//! `dingdan openapi --graphql > openapi/schema.graphql`).

use std::path::PathBuf;

fn committed(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../openapi")
        .join(name)
}

fn check(name: &str, generated: String) {
    let path = committed(name);
    let generated = format!("{}\n", generated.trim_end());
    if std::env::var_os("DINGDAN_UPDATE_SCHEMAS").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `DINGDAN_UPDATE_SCHEMAS=1 cargo test -p dingdan --test e2e schema_files` and commit it",
        path.display()
    );
}

#[test]
fn the_committed_openapi_document_matches_the_routes() {
    check(
        "openapi.json",
        dingdan::rest::openapi().to_pretty_json().unwrap(),
    );
}

#[test]
fn the_committed_graphql_schema_matches_the_resolvers() {
    check("schema.graphql", dingdan::graphql::sdl());
}

#[tokio::test]
async fn the_served_documents_are_the_committed_ones() {
    let app = dingdan_tests::spawn_app().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(committed("openapi.json")).unwrap()).unwrap();
    assert_eq!(served, committed);
}
