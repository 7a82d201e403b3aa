//! `/graphql` over HTTP: `POST` executes, `GET` serves GraphiQL (vendored, so
//! it works offline).

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::DingdanSchema;
use crate::http::extract::Json;
use crate::state::AppState;

/// A GraphQL-over-HTTP request body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GraphQLBody {
    query: String,
    operation_name: Option<String>,
    variables: Option<serde_json::Value>,
    extensions: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Executes one GraphQL request. A missing token leaves every field needing one
/// to fail with `unauthorized`; an invalid token fails the whole request (401).
pub async fn execute(
    state: web::Data<AppState>,
    schema: web::Data<DingdanSchema>,
    req: HttpRequest,
    Json(body): Json<GraphQLBody>,
) -> HttpResponse {
    let mut request = async_graphql::Request::new(body.query);
    if let Some(name) = body.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = body.variables {
        request = request.variables(async_graphql::Variables::from_json(variables));
    }
    for (key, value) in body.extensions.unwrap_or_default() {
        if let Ok(value) = async_graphql::Value::from_json(value) {
            request.extensions.insert(key, value);
        }
    }
    if let Some(header) = req.headers().get(AUTHORIZATION) {
        match state.auth.verify_header(header.to_str().ok()) {
            Ok(actor) => request = request.data(actor),
            Err(error) => {
                let mut error = async_graphql::ServerError::new(error.to_string(), None);
                let mut extensions = async_graphql::ErrorExtensionValues::default();
                extensions.set("code", "unauthorized");
                if let Some(context) = crate::telemetry::current_request() {
                    extensions.set("requestId", context.id);
                }
                error.extensions = Some(extensions);
                let response = async_graphql::Response::from_errors(vec![error]);
                return HttpResponse::build(StatusCode::UNAUTHORIZED).json(response);
            }
        }
    }
    HttpResponse::Ok().json(schema.execute(request).await)
}

const GRAPHIQL_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Dingdan GraphQL</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="stylesheet" href="/graphql/assets/graphiql.min.css">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="/graphql/assets/react.production.min.js"></script>
  <script src="/graphql/assets/react-dom.production.min.js"></script>
  <script src="/graphql/assets/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: '/graphql' });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultEditorToolsVisibility: 'headers',
      headers: '{\n  "Authorization": "Bearer <token from `dingdan token --role admin`>"\n}',
      defaultQuery: '{\n  products(first: 10) {\n    edges { node { sku name listPrice currency } }\n    pageInfo { hasNextPage endCursor }\n  }\n}\n',
    }));
  </script>
</body>
</html>
"#;

pub async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(GRAPHIQL_PAGE)
}

/// The vendored GraphiQL files, compiled into the binary.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    let (body, content_type): (&'static [u8], &str) = match name.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js"),
            "text/javascript",
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css"),
            "text/css",
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript",
        ),
        _ => {
            return crate::http::ApiError::new(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "no such asset",
            )
            .into_response();
        }
    };
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}
