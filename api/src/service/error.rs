//! The service layer's one error type. Transports translate it once each
//! (`rest::error`, `graphql::error`); the codes are part of the public API.

use uuid::Uuid;

use crate::domain::actor::Forbidden;
use crate::domain::order::IllegalTransition;
use crate::domain::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Forbidden(String),
    #[error("no {resource} with id {id}")]
    NotFound { resource: &'static str, id: String },
    #[error("the input is invalid: {}", summary(.0))]
    Validation(Vec<FieldError>),
    /// Understood, but refused as a whole (422 with its own code).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        existing_id: Option<Uuid>,
    },
    /// The action is not legal in the resource's current state.
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// The caller's version of the resource is not the current one.
    #[error(
        "the order has changed since version {expected}; it is at version {current}: read it again and retry"
    )]
    VersionMismatch { expected: i32, current: i32 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    /// The stable, documented code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound { .. } => "not_found",
            ServiceError::Validation(_) => "validation_failed",
            ServiceError::Unprocessable { code, .. } => code,
            ServiceError::Conflict { code, .. } => code,
            ServiceError::Transition(_) => "invalid_transition",
            ServiceError::VersionMismatch { .. } => "version_mismatch",
            ServiceError::Internal(_) => "internal",
        }
    }

    pub fn not_found(resource: &'static str, id: impl ToString) -> Self {
        ServiceError::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub fn invalid(
        path: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ServiceError::Validation(vec![FieldError {
            path: path.into(),
            code,
            message: message.into(),
        }])
    }

    pub fn conflict(
        code: &'static str,
        message: impl Into<String>,
        existing_id: Option<Uuid>,
    ) -> Self {
        ServiceError::Conflict {
            code,
            message: message.into(),
            existing_id,
        }
    }
}

impl From<Forbidden> for ServiceError {
    fn from(forbidden: Forbidden) -> Self {
        ServiceError::Forbidden(forbidden.to_string())
    }
}

impl From<Vec<FieldError>> for ServiceError {
    fn from(errors: Vec<FieldError>) -> Self {
        ServiceError::Validation(errors)
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(error: sea_orm::DbErr) -> Self {
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = error.sql_err() {
            // The database's wording stays in the log; the caller gets the gist.
            tracing::info!(detail, "unique constraint violated");
            return ServiceError::conflict(
                "already_exists",
                "a record with the same unique value already exists",
                None,
            );
        }
        ServiceError::Internal(anyhow::Error::new(error).context("database error"))
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

pub(crate) fn is_unique_violation(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// A stored value that does not parse: the database holds something this code
/// never writes.
pub(crate) fn corrupt(what: &str, value: impl std::fmt::Debug) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("stored {what} is invalid: {value:?}"))
}
