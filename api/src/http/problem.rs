//! Every REST error is an RFC 9457 `application/problem+json` document with a
//! stable `code`. This is the one place service errors become HTTP.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthError;
use crate::domain::validation::FieldError;
use crate::service::ServiceError;
use crate::telemetry::current_request;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_BASE: &str = "https://dingdan.dev/problems/";

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `https://dingdan.dev/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(example = "https://dingdan.dev/problems/validation_failed")]
    pub type_: String,
    #[schema(example = "The request is invalid")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "lines[0].quantity: must be positive")]
    pub detail: String,
    /// Stable; branch on this.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// The path of the request that failed.
    #[schema(example = "/api/v1/orders")]
    pub instance: Option<String>,
    /// Every field at fault, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Quote this when asking for help; it is in the server's logs.
    pub request_id: Option<String>,
    /// On a conflict with an existing resource: its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    #[schema(example = "lines[1].sku")]
    pub path: String,
    #[schema(example = "unknown_sku")]
    pub code: String,
    #[schema(example = "no product with SKU 'AB-9'")]
    pub message: String,
}

/// A REST error on its way to becoming a problem document.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    existing_id: Option<Uuid>,
    headers: Vec<(HeaderName, HeaderValue)>,
    source: Option<anyhow::Error>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            existing_id: None,
            headers: Vec::new(),
            source: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn into_response(self) -> HttpResponse {
        self.error_response()
    }

    fn problem(&self) -> Problem {
        let request = current_request();
        Problem {
            type_: format!("{TYPE_BASE}{}", self.code),
            title: title(self.code, self.status).to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            instance: request.as_ref().map(|r| r.path.clone()),
            errors: self
                .errors
                .iter()
                .map(|e| ProblemField {
                    path: e.path.clone(),
                    code: e.code.to_owned(),
                    message: e.message.clone(),
                })
                .collect(),
            request_id: request.map(|r| r.id),
            existing_id: self.existing_id,
        }
    }
}

/// A short, human summary per code; the `detail` says what happened this time.
fn title(code: &str, status: StatusCode) -> &'static str {
    match code {
        "unauthorized" => "Authentication required",
        "forbidden" => "Not allowed",
        "not_found" => "Not found",
        "route_not_found" => "No such endpoint",
        "method_not_allowed" => "Method not allowed",
        "validation_failed" => "The request is invalid",
        "malformed_json" => "The body is not valid JSON",
        "unknown_field" => "The body has a field this endpoint does not know",
        "missing_field" => "The body lacks a required field",
        "invalid_type" => "A field has the wrong type or value",
        "invalid_parameter" => "A query or path parameter is invalid",
        "unsupported_media_type" => "Unsupported content type",
        "payload_too_large" => "The body is too large",
        "already_exists" => "It already exists",
        "duplicate_external_ref" => "An order with this external reference exists",
        "invalid_transition" => "Not possible in the current state",
        "version_mismatch" => "The resource has changed",
        "precondition_required" => "If-Match is required",
        "idempotency_key_reused" => "The Idempotency-Key was used for another request",
        "internal" => "Internal error",
        "not_ready" => "Not ready",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            tracing::error!(error = format!("{source:#}"), "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        match error {
            ServiceError::Forbidden(_) => Self::new(StatusCode::FORBIDDEN, code, error.to_string()),
            ServiceError::NotFound { .. } => {
                Self::new(StatusCode::NOT_FOUND, code, error.to_string())
            }
            ServiceError::Validation(errors) => validation(errors),
            ServiceError::Unprocessable { ref message, .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message.clone())
            }
            ServiceError::Conflict {
                ref message,
                existing_id,
                ..
            } => {
                let mut api = Self::new(StatusCode::CONFLICT, code, message.clone());
                api.existing_id = existing_id;
                api
            }
            ServiceError::Transition(_) => Self::new(StatusCode::CONFLICT, code, error.to_string()),
            ServiceError::VersionMismatch { current, .. } => {
                Self::new(StatusCode::PRECONDITION_FAILED, code, error.to_string())
                    .with_header(header::ETAG, &format!("\"{current}\""))
            }
            ServiceError::Internal(source) => {
                let mut api = Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "an unexpected error occurred; it has been logged with this request's id",
                );
                api.source = Some(source);
                api
            }
        }
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        validation(errors)
    }
}

fn validation(errors: Vec<FieldError>) -> ApiError {
    let detail = errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        detail,
    )
    .with_errors(errors)
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        let challenge = match error {
            AuthError::Missing => "Bearer realm=\"dingdan\"",
            _ => "Bearer realm=\"dingdan\", error=\"invalid_token\"",
        };
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", error.to_string())
            .with_header(header::WWW_AUTHENTICATE, challenge)
    }
}
