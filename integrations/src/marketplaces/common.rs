//! Helpers the REST connectors (Shopify, WooCommerce) share: error
//! mapping, excerpts, JSON and id parsing, base URLs, rate-limit waits.

use std::time::Duration;

use serde_json::Value;

use super::ConnectorError;

/// How much of an error body is kept in [`ConnectorError::Platform`].
pub(crate) const ERROR_EXCERPT_CHARS: usize = 300;
/// The wait after a 429 without `Retry-After`.
pub(crate) const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);

/// The start of a body, as text, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(ERROR_EXCERPT_CHARS)
        .collect()
}

/// First and last name joined by a space, or `None` when both are blank.
pub(crate) fn full_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let parts: Vec<String> = [first, last].into_iter().filter_map(non_empty).collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// An id given as a JSON number or a non-blank string.
pub(crate) fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => non_empty(Some(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn invalid(message: impl Into<String>) -> ConnectorError {
    ConnectorError::Invalid(message.into())
}

/// The trimmed text, or `None` when absent or blank.
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The base URL trimmed of surrounding blanks and trailing slashes, checked to
/// be an http(s) URL.
pub(crate) fn normalise_base_url(base_url: &str) -> Result<String, ConnectorError> {
    let trimmed = base_url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| invalid(format!("the base URL `{trimmed}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "the base URL `{trimmed}` is not an http(s) URL"
        )));
    }
    Ok(trimmed.to_owned())
}

/// Parses a body as JSON; `what` names it in the error.
pub(crate) fn parse_json(body: &[u8], what: &str) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| invalid(format!("{what} is not JSON: {e}")))
}

/// How long to wait after a 429: its `Retry-After` (one second without),
/// at most `max_wait`.
pub(crate) fn rate_limit_wait(retry_after: Option<Duration>, max_wait: Duration) -> Duration {
    retry_after.unwrap_or(DEFAULT_RETRY_WAIT).min(max_wait)
}

/// The error for a non-2xx answer other than 429.
pub(crate) fn status_error(status: u16, body: &[u8]) -> ConnectorError {
    let message = excerpt(body);
    match status {
        401 | 403 if message.is_empty() => ConnectorError::Unauthorized(format!("HTTP {status}")),
        401 | 403 => ConnectorError::Unauthorized(message),
        _ => ConnectorError::Platform { status, message },
    }
}

/// A network error with its causes.
pub(crate) fn transport(error: reqwest::Error) -> ConnectorError {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    ConnectorError::Transport(message)
}
