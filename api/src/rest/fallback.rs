//! Requests no route takes: 405 with `Allow` when the path exists under another
//! method, 404 otherwise. Both are problem documents.

use actix_web::http::StatusCode;
use actix_web::http::header::ALLOW;
use actix_web::{HttpRequest, web};

use crate::http::ApiError;

/// The documented paths and their methods, read from the OpenAPI document so
/// it always matches the registered routes.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(Vec<Option<String>>, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(name, present)| present.then_some(name))
                .collect();
                (segments, methods)
            })
            .collect::<Vec<_>>();
        let mut table = Self(routes);
        // Served outside the OpenAPI document.
        table
            .0
            .push((vec![Some("graphql".to_owned())], vec!["GET", "POST"]));
        table
            .0
            .push((vec![Some("healthz".to_owned())], vec!["HEAD"]));
        table
            .0
            .push((vec![Some("readyz".to_owned())], vec!["HEAD"]));
        table
    }

    /// The methods a path accepts, if any route matches it.
    fn methods(&self, path: &str) -> Vec<&'static str> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut methods: Vec<&'static str> = self
            .0
            .iter()
            .filter(|(pattern, _)| {
                pattern.len() == segments.len()
                    && pattern
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| p.as_deref().is_none_or(|p| p == *s) && !s.is_empty())
            })
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        methods.sort_unstable();
        methods.dedup();
        methods
    }
}

pub async fn no_route(req: HttpRequest, table: web::Data<RouteTable>) -> actix_web::HttpResponse {
    let methods = table.methods(req.path());
    let error = if methods.is_empty() {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no endpoint at {}; see /api/v1/openapi.json", req.path()),
        )
    } else {
        let allow = methods.join(", ");
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!(
                "{} does not accept {}; it accepts {allow}",
                req.path(),
                req.method()
            ),
        )
        .with_header(ALLOW, &allow)
    };
    error.into_response()
}
