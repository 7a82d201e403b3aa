//! Request extractors that fail with problem documents: JSON bodies (with the
//! path of the offending field), bearer tokens, and query/path parameters.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::error::{PayloadError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::actor::Actor;
use crate::state::AppState;

/// A JSON body. Malformed JSON, unknown fields, missing fields and wrong types
/// are 400s naming the field's path; bodies over the configured limit are 413.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = match req.mime_type() {
            Ok(None) => true,
            Ok(Some(mime)) => {
                mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json")
            }
            Err(_) => false,
        };
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json",
                ));
            }
            let bytes = body.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the body is larger than this server accepts (DINGDAN_MAX_BODY_BYTES)",
                ),
                _ => ApiError::bad_request(
                    "malformed_body",
                    format!("the body could not be read: {e}"),
                ),
            })?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// Deserializes a JSON document, mapping failures to problem codes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(json_error)?;
    deserializer.end().map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!(
                "trailing data after the JSON document: {}",
                without_position(&e)
            ),
        )
    })?;
    Ok(value)
}

fn json_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let path = match error.path().to_string() {
        root if root == "." => String::new(),
        path => path,
    };
    let inner = error.inner();
    let message = without_position(inner);
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
            "malformed_json",
            format!(
                "{message} (line {}, column {})",
                inner.line(),
                inner.column()
            ),
        ),
        Category::Data => {
            // serde reports the field name in backticks.
            let field = message.split('`').nth(1).unwrap_or_default();
            let (code, path) = if message.starts_with("unknown field") {
                (
                    "unknown_field",
                    if path.ends_with(field) {
                        path
                    } else {
                        join(&path, field)
                    },
                )
            } else if message.starts_with("missing field") {
                ("missing_field", join(&path, field))
            } else {
                ("invalid_type", path)
            };
            let detail = if path.is_empty() {
                message.clone()
            } else {
                format!("{path}: {message}")
            };
            ApiError::bad_request(code, detail).with_errors(vec![
                crate::domain::validation::field_error(path, code, message),
            ])
        }
    }
}

fn join(parent: &str, field: &str) -> String {
    if parent.is_empty() {
        field.to_owned()
    } else {
        format!("{parent}.{field}")
    }
}

/// serde_json's message without its " at line 1 column 2" suffix.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// The caller, from `Authorization: Bearer <token>`; 401 without a valid one.
#[derive(Debug)]
pub struct Auth(pub Actor);

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>() else {
            return ready(Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server is misconfigured",
            )));
        };
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        ready(
            state
                .auth
                .verify_header(header)
                .map(Auth)
                .map_err(ApiError::from),
        )
    }
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        let detail = match &error {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            other => other.to_string(),
        };
        ApiError::bad_request("invalid_parameter", format!("query string: {detail}")).into()
    })
}

pub fn path_config() -> web::PathConfig {
    // A malformed id cannot name anything that exists.
    web::PathConfig::default().error_handler(|error, req| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("nothing at {}: {error}", req.path()),
        )
        .into()
    })
}
