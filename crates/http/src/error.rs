//! `ApiError` and the 1.7.2 response envelopes (families A, B, D and E of the API spec §1.2).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use eliza_domain::StoreError;
use serde::Serialize;
use serde_json::{Value, json};
use std::fmt;

/// Which 1.7.2 envelope an error is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `{"success":false,"error":{"code":"<STRING>","message","details"?}}` (agents, memory, audio, system).
    Coded,
    /// `{"success":false,"error":"<string>","details"?}` (messaging).
    Plain,
    /// `{"error":"API key required","message":…}` (auth, no `success`).
    Auth,
    /// `{"success":false,"error":{"message","code":<number>}}` (404 and error handler).
    Global,
}

/// An error answer: status, envelope family, code, message and optional details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub family: Family,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
}

impl ApiError {
    /// Family A: a string `code`.
    pub fn coded(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            family: Family::Coded,
            code: code.to_owned(),
            message: message.into(),
            details: None,
        }
    }

    /// Family B: `error` is the message itself.
    pub fn plain(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            family: Family::Plain,
            code: String::new(),
            message: message.into(),
            details: None,
        }
    }

    /// Family E: `code` is the numeric status.
    pub fn global(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            family: Family::Global,
            code: String::new(),
            message: message.into(),
            details: None,
        }
    }

    /// Family D: the API key is missing or wrong.
    pub fn unauthorized() -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            family: Family::Auth,
            code: String::new(),
            message: "Missing or invalid X-API-KEY header".to_owned(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::coded(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::coded(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub fn invalid_id(message: impl Into<String>) -> Self {
        Self::bad_request("INVALID_ID", message)
    }

    /// A failed store call in family A: `code` names the operation (e.g. `DB_ERROR`, `UPDATE_ERROR`).
    /// Internal causes are logged, never sent.
    pub fn from_store(err: StoreError, code: &str, message: &str) -> Self {
        match err {
            StoreError::NotFound { .. } => Self::not_found(message),
            StoreError::Conflict(reason) => {
                Self::coded(StatusCode::CONFLICT, code, message).with_details(reason)
            }
            StoreError::Invalid(reason) => {
                Self::bad_request(code, reason.clone()).with_details(reason)
            }
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                Self::coded(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "DB_UNAVAILABLE",
                    "Database not available",
                )
            }
            StoreError::Backend(reason) => {
                tracing::error!(%reason, code, "database error");
                Self::coded(StatusCode::INTERNAL_SERVER_ERROR, code, message)
            }
        }
    }

    /// The JSON body for this error.
    pub fn body(&self) -> Value {
        match self.family {
            Family::Coded => {
                let mut error = json!({"code": self.code, "message": self.message});
                if let Some(details) = &self.details {
                    error["details"] = json!(details);
                }
                json!({"success": false, "error": error})
            }
            Family::Plain => {
                let mut body = json!({"success": false, "error": self.message});
                if let Some(details) = &self.details {
                    body["details"] = json!(details);
                }
                body
            }
            Family::Auth => json!({"error": "API key required", "message": self.message}),
            Family::Global => {
                json!({"success": false, "error": {"message": self.message, "code": self.status.as_u16()}})
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::from_store(err, "DB_ERROR", "Database error")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(self.body())
    }
}

/// `{"success":true,"data":…}` with the given status.
pub fn success<T: Serialize>(status: StatusCode, data: T) -> HttpResponse {
    HttpResponse::build(status).json(json!({"success": true, "data": data}))
}

/// 200 `{"success":true,"data":…}`.
pub fn ok<T: Serialize>(data: T) -> HttpResponse {
    success(StatusCode::OK, data)
}

pub type ApiResult = Result<HttpResponse, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_family_has_its_1_7_2_shape() {
        let coded = ApiError::invalid_id("Invalid agent ID format").with_details("x");
        assert_eq!(
            coded.body(),
            json!({"success": false, "error": {"code": "INVALID_ID", "message": "Invalid agent ID format", "details": "x"}})
        );
        assert_eq!(
            ApiError::plain(StatusCode::BAD_REQUEST, "bad").body(),
            json!({"success": false, "error": "bad"})
        );
        assert_eq!(
            ApiError::unauthorized().body(),
            json!({"error": "API key required", "message": "Missing or invalid X-API-KEY header"})
        );
        assert_eq!(
            ApiError::global(StatusCode::NOT_FOUND, "API endpoint not found").body(),
            json!({"success": false, "error": {"message": "API endpoint not found", "code": 404}})
        );
    }

    #[test]
    fn store_errors_map_to_statuses() {
        let cases = [
            (
                StoreError::NotFound {
                    entity: "agent",
                    id: "x".into(),
                },
                StatusCode::NOT_FOUND,
            ),
            (StoreError::Conflict("c".into()), StatusCode::CONFLICT),
            (StoreError::Invalid("i".into()), StatusCode::BAD_REQUEST),
            (
                StoreError::Unavailable("u".into()),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                StoreError::Backend("b".into()),
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (err, status) in cases {
            assert_eq!(
                ApiError::from_store(err, "DB_ERROR", "Database error").status,
                status
            );
        }
        let backend = ApiError::from_store(
            StoreError::Backend("secret detail".into()),
            "DB_ERROR",
            "Database error",
        );
        assert!(
            !backend.body().to_string().contains("secret detail"),
            "internal causes are not sent"
        );
    }
}
