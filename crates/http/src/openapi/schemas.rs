//! Schemas shared by many routes: the `{success, data}` envelope and the error bodies.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

/// `{"success": true, "data": …}` (families A and B).
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<T> {
    /// Always `true`.
    pub success: bool,
    pub data: T,
}

/// `{"message": …}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Notice {
    pub message: String,
}

/// Every error envelope of API spec §1.2 (family A's object, family B's string, the auth body,
/// the global handler's numeric code, the groups route's array), as one schema.
pub struct ErrorBody;

impl utoipa::PartialSchema for ErrorBody {
    fn schema() -> RefOr<Schema> {
        RefOr::T(error_body_schema())
    }
}

impl ToSchema for ErrorBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "ErrorBody".into()
    }
}

/// Raw bytes (a served file, synthesised speech); the content type says what they are.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        let binary = json!({"type": "string", "format": "binary"});
        RefOr::T(serde_json::from_value(binary).unwrap_or_default())
    }
}

impl ToSchema for Binary {
    fn name() -> std::borrow::Cow<'static, str> {
        "Binary".into()
    }
}

/// Schemas every document has, whether or not a handler names them.
pub fn shared() -> Vec<(String, RefOr<Schema>)> {
    vec![("ErrorBody".to_owned(), RefOr::T(error_body_schema()))]
}

fn error_body_schema() -> Schema {
    let error_body = json!({
        "type": "object",
        "description": "Family A `{success:false,error:{code,message,details?}}`, family B `{success:false,error:\"…\"}`, auth `{error,message}`, global `{success:false,error:{message,code:<number>}}`, sessions `{error:{code,message,timestamp}}`.",
        "required": ["error"],
        "properties": {
            "success": {"type": "boolean"},
            "error": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "object", "properties": {
                        "code": {"type": ["string", "integer"]},
                        "message": {"type": "string"},
                        "details": {"description": "A string (family A) or an object (sessions)"},
                        "timestamp": {"type": "string"}
                    }},
                    {"type": "array", "items": {"type": "object"}}
                ]
            },
            "message": {"type": "string"},
            "details": {"type": "string"}
        }
    });
    serde_json::from_value(error_body).unwrap_or_default()
}
