//! Request extractors that fail with problem documents: JSON bodies (with the
//! path of the offending field), query strings (naming the parameter),
//! bearer tokens, and the `Idempotency-Key` of creates.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use super::problem::ApiError;
use crate::domain::actor::Actor;
use crate::domain::validation::field_error;
use crate::service::idempotency::IdempotencyRequest;
use crate::state::AppState;

/// The configured body limit, for messages.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// A JSON object body. Malformed JSON, a non-object, NUL characters, unknown
/// fields, missing fields and wrong types are 400s naming the field's path;
/// bodies over the configured limit are 413.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_json(req, payload);
        Box::pin(async move {
            let value = body.await?;
            typed(value).map(Json)
        })
    }
}

/// A JSON object body that may be left out: no body at all is
/// `T::default()`; a body present is read exactly as [`Json`] reads it.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let headers = req.headers();
        let announced = headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
            || headers
                .get(actix_web::http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|length| length.trim() != "0");
        if !announced {
            return Box::pin(ready(Ok(OptionalJson(T::default()))));
        }
        let body = read_json(req, payload);
        Box::pin(async move {
            let value = body.await?;
            typed(value).map(OptionalJson)
        })
    }
}

/// The body of a create, with its `Idempotency-Key` (if sent) and a
/// fingerprint of what was asked, so a repeat can be recognised.
#[derive(Debug)]
pub struct Create<T> {
    pub input: T,
    pub idempotency: Option<IdempotencyRequest>,
}

impl<T: DeserializeOwned + 'static> FromRequest for Create<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = idempotency_key(req);
        let scope = format!(
            "{} {}",
            req.method(),
            req.match_pattern().unwrap_or_else(|| req.path().to_owned())
        );
        let body = read_json(req, payload);
        Box::pin(async move {
            let key = key?;
            let value = body.await?;
            let idempotency = key.map(|key| IdempotencyRequest {
                key,
                fingerprint: fingerprint(&scope, &value),
            });
            Ok(Create {
                input: typed(value)?,
                idempotency,
            })
        })
    }
}

/// `sha256(scope + canonical JSON)`: keys are sorted, so key order and
/// whitespace do not make two identical requests differ.
pub fn fingerprint(scope: &str, value: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(scope.as_bytes());
    hash.update(b"\n");
    hash.update(value.to_string().as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or_default().trim();
    let valid = !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(Some(key.to_owned()))
    } else {
        Err(ApiError::bad_request(
            "invalid_header",
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
        ))
    }
}

fn read_json(
    req: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<Value, ApiError>> {
    let content_type_ok = match req.mime_type() {
        Ok(None) => true,
        Ok(Some(mime)) => mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"),
        Err(_) => false,
    };
    let limit = req.app_data::<BodyLimit>().map(|l| l.0);
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
                match limit {
                    Some(limit) => {
                        format!("the body is larger than the {limit} bytes this server accepts")
                    }
                    None => "the body is larger than this server accepts".to_owned(),
                },
            ),
            _ => {
                ApiError::bad_request("malformed_body", format!("the body could not be read: {e}"))
            }
        })?;
        parse_value(&bytes)
    })
}

/// Parses a JSON object document, refusing anything else.
pub fn parse_value(bytes: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!(
                "{} (line {}, column {})",
                without_position(&e),
                e.line(),
                e.column()
            ),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    if let Some(path) = nul_path(&value, String::new()) {
        let message = "text must not contain NUL (\\u0000) characters";
        return Err(
            ApiError::bad_request("invalid_type", format!("{path}: {message}"))
                .with_errors(vec![field_error(path, "invalid_type", message)]),
        );
    }
    Ok(value)
}

/// The path of a string holding a NUL character: PostgreSQL cannot store one.
fn nul_path(value: &Value, path: String) -> Option<String> {
    match value {
        Value::String(text) => text.contains('\0').then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if key.contains('\0') {
                return Some(path.clone());
            }
            nul_path(
                item,
                if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                },
            )
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Converts a parsed document into `T`, naming the path of what does not fit.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = match error.path().to_string() {
            root if root == "." => String::new(),
            path => path,
        };
        let message = error.inner().to_string();
        // chrono's parse errors say nothing about the expected format.
        let message = match message.as_str() {
            "input is out of range"
            | "input contains invalid characters"
            | "premature end of input"
            | "trailing input"
            | "input is not enough for unique date and time"
            | "no possible date and time matching input" => {
                format!("{message}: expected a date as YYYY-MM-DD (or a timestamp in RFC 3339)")
            }
            _ => message,
        };
        // serde reports the field name in backticks.
        let field = message.split('`').nth(1).unwrap_or_default().to_owned();
        let (code, path) = if message.starts_with("unknown field") {
            (
                "unknown_field",
                if path.ends_with(&field) {
                    path
                } else {
                    join(&path, &field)
                },
            )
        } else if message.starts_with("missing field") {
            ("missing_field", join(&path, &field))
        } else {
            ("invalid_type", path)
        };
        let detail = if path.is_empty() {
            message.clone()
        } else {
            format!("{path}: {message}")
        };
        ApiError::bad_request(code, detail).with_errors(vec![field_error(path, code, message)])
    })
}

/// Parses a whole body: for callers that already hold the bytes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    typed(parse_value(bytes)?)
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

/// A query string. Unknown parameters, wrong types and NUL characters are 400s
/// naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let invalid = |param: String, message: String| {
        let detail = if param.is_empty() {
            message.clone()
        } else {
            format!("{param}: {message}")
        };
        ApiError::bad_request("invalid_parameter", detail).with_errors(vec![field_error(
            param,
            "invalid_parameter",
            message,
        )])
    };
    if let Some((name, _)) =
        form_urlencoded::parse(query.as_bytes()).find(|(n, v)| n.contains('\0') || v.contains('\0'))
    {
        return Err(invalid(
            name.into_owned(),
            "must not contain NUL characters".to_owned(),
        ));
    }
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        if let Some(rest) = message.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default().to_owned();
            let expected = rest
                .split_once("expected ")
                .map(|(_, e)| e)
                .unwrap_or_default();
            return invalid(
                name.clone(),
                format!("unknown query parameter; this endpoint takes {expected}"),
            );
        }
        let param = match error.path().to_string() {
            root if root == "." => String::new(),
            path => path,
        };
        let message = match message.as_str() {
            "invalid digit found in string" | "number too large to fit in target type" => {
                "expected a whole number".to_owned()
            }
            m if m.starts_with("provided string was not `true` or `false`") => {
                "expected true or false".to_owned()
            }
            m if m.starts_with("UUID parsing failed") => "expected a UUID".to_owned(),
            m if m.starts_with("unknown variant") => m.replace("unknown variant", "unknown value"),
            _ => message,
        };
        invalid(param, message)
    })
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

pub fn path_config() -> web::PathConfig {
    // A malformed id cannot name anything that exists.
    web::PathConfig::default().error_handler(|_, req| {
        let segment = req
            .path()
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or_default();
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "nothing at {}: {segment:?} is not an id (ids are UUIDs)",
                req.path()
            ),
        )
        .into()
    })
}
