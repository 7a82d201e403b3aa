//! Field-level findings gathered while parsing input, reported all at once.

use std::fmt;

/// Input that becomes a `T` once parsed. Services take `impl Parse<T>` and
/// parse after checking permissions, so a caller without the right role learns
/// that first; a `T` is its own, already parsed, input.
pub trait Parse<T> {
    fn parse(self) -> Result<T, Vec<FieldError>>;
}

impl<T> Parse<T> for T {
    fn parse(self) -> Result<T, Vec<FieldError>> {
        Ok(self)
    }
}

/// One problem with one field of an input, e.g. `lines[1].sku`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Collects every problem of an input instead of stopping at the first, so a
/// client can fix them all in one round trip.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(
        &mut self,
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError {
            path: path.into(),
            code,
            message: message.into(),
        });
    }

    /// Records the error of a parse and keeps its value when it succeeded.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn extend(&mut self, errors: impl IntoIterator<Item = FieldError>) {
        self.0.extend(errors);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }

    /// `Ok(value)` when nothing was recorded. `build` runs only then, so it may
    /// unwrap the `Option`s that `take` returned.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        if !self.0.is_empty() {
            return Err(self.0);
        }
        build().ok_or_else(|| {
            vec![FieldError {
                path: String::new(),
                code: "invalid",
                message: "the input is invalid".to_owned(),
            }]
        })
    }
}

pub fn field_error(
    path: impl Into<String>,
    code: &'static str,
    message: impl Into<String>,
) -> FieldError {
    FieldError {
        path: path.into(),
        code,
        message: message.into(),
    }
}

/// Joins a parent path and a child name: `join("lines[1]", "sku")` is `lines[1].sku`.
pub fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// A trimmed, non-empty string of at most `max` characters.
pub fn required_text(path: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(field_error(path, "required", "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(field_error(
            path,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Like [`required_text`], but absent or blank becomes `None`.
pub fn optional_text(
    path: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(path, text, max).map(Some),
    }
}

/// A code or identifier: letters, digits and `-_./`, 1 to 64 characters.
pub fn code(path: &str, value: &str) -> Result<String, FieldError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err(field_error(
            path,
            "invalid_code",
            "must be 1 to 64 letters, digits or `-_./`",
        ))
    }
}
