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

/// `GET /graphql` with `Upgrade: websocket`: GraphQL subscriptions over the
/// `graphql-transport-ws` protocol (or the older `graphql-ws`). The token
/// goes in the upgrade request's `Authorization` header or in the
/// `connection_init` payload (`{"Authorization": "Bearer …"}`); an invalid
/// one closes the connection with 4403, and so does the token expiring while
/// the connection is open (the client reconnects with a fresh token).
pub async fn websocket(
    state: web::Data<AppState>,
    schema: web::Data<DingdanSchema>,
    req: HttpRequest,
    body: web::Payload,
) -> actix_web::Result<HttpResponse> {
    use async_graphql::http::{WebSocket, WebSocketProtocols, WsMessage};
    use futures_util::StreamExt as _;

    let protocol = req
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|p| p.trim().parse::<WebSocketProtocols>().ok())
        })
        .ok_or_else(|| {
            actix_web::error::ErrorBadRequest(
                "Sec-WebSocket-Protocol must offer graphql-transport-ws (or graphql-ws)",
            )
        })?;
    let header_actor = match req.headers().get(AUTHORIZATION) {
        Some(header) => Some(
            state
                .auth
                .verify_header_until(header.to_str().ok())
                .map_err(actix_web::error::ErrorUnauthorized)?,
        ),
        None => None,
    };
    // When the connection's token stops being valid; set by the upgrade
    // request's header or by `connection_init`.
    let expires: std::sync::Arc<std::sync::Mutex<Option<chrono::DateTime<chrono::Utc>>>> =
        std::sync::Arc::new(std::sync::Mutex::new(
            header_actor.as_ref().map(|(_, until)| *until),
        ));
    let (mut response, mut session, messages) = actix_ws::handle(&req, body)?;
    response.headers_mut().insert(
        actix_web::http::header::SEC_WEBSOCKET_PROTOCOL,
        actix_web::http::header::HeaderValue::from_static(protocol.sec_websocket_protocol()),
    );
    let texts = messages
        .max_frame_size(64 * 1024)
        .aggregate_continuations()
        .take_while(|message| {
            std::future::ready(!matches!(
                message,
                Ok(actix_ws::AggregatedMessage::Close(_)) | Err(_)
            ))
        })
        .filter_map(|message| {
            std::future::ready(match message {
                Ok(actix_ws::AggregatedMessage::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(actix_ws::AggregatedMessage::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let auth = state.auth.clone();
    let expires_on_init = expires.clone();
    let mut stream = WebSocket::new(schema.get_ref().clone(), texts, protocol)
        .on_connection_init(move |payload| {
            let auth = auth.clone();
            let header_actor = header_actor.clone().map(|(actor, _)| actor);
            let expires = expires_on_init.clone();
            async move {
                let mut data = async_graphql::Data::default();
                let token = ["Authorization", "authorization"]
                    .iter()
                    .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
                    .map(str::to_owned);
                match token {
                    Some(header) => {
                        let (actor, until) = auth
                            .verify_header_until(Some(&header))
                            .map_err(|e| async_graphql::Error::new(format!("unauthorized: {e}")))?;
                        if let Ok(mut expires) = expires.lock() {
                            *expires = Some(until);
                        }
                        data.insert(actor);
                    }
                    None => {
                        if let Some(actor) = header_actor {
                            data.insert(actor);
                        }
                    }
                }
                Ok(data)
            }
        })
        .keepalive_timeout(std::time::Duration::from_secs(60));
    actix_web::rt::spawn(async move {
        loop {
            let deadline = expires.lock().ok().and_then(|e| *e);
            let wait = deadline.map_or(std::time::Duration::from_secs(3600), |until| {
                (until - chrono::Utc::now()).to_std().unwrap_or_default()
            });
            let message = tokio::select! {
                message = stream.next() => message,
                () = tokio::time::sleep(wait) => {
                    if deadline.is_some_and(|until| until <= chrono::Utc::now()) {
                        let _ = session
                            .close(Some(actix_ws::CloseReason {
                                code: actix_ws::CloseCode::Other(4403),
                                description: Some("the token expired".to_owned()),
                            }))
                            .await;
                        return;
                    }
                    continue;
                }
            };
            let Some(message) = message else { break };
            let sent = match message {
                WsMessage::Text(text) => session.text(text).await,
                WsMessage::Close(code, reason) => {
                    // graphql-transport-ws: a refused connection_init is 4403 Forbidden.
                    let code = if reason.starts_with("unauthorized") {
                        4403
                    } else {
                        code
                    };
                    let _ = session
                        .close(Some(actix_ws::CloseReason {
                            code: actix_ws::CloseCode::Other(code),
                            description: Some(reason),
                        }))
                        .await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
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
