//! The JSON body extractor: an absent body is `{}` (Express leaves it undefined, which made 1.7.2
//! answer 500), malformed JSON is a 400 and an oversized body a 413, both in family E.

use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A request body parsed as JSON; empty bodies become an empty object.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonBody(pub Value);

impl JsonBody {
    /// The body as an object, or a 400 naming what was expected.
    pub fn object(&self) -> Result<&Map<String, Value>, ApiError> {
        self.0.as_object().ok_or_else(|| {
            ApiError::global(
                StatusCode::BAD_REQUEST,
                "Request body must be a JSON object",
            )
        })
    }

    /// Deserializes the body into `T`, answering 400 with serde's reason when it does not fit.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_value(self.0.clone()).map_err(|err| {
            ApiError::global(
                StatusCode::BAD_REQUEST,
                format!("Invalid request body: {err}"),
            )
        })
    }
}

impl FromRequest for JsonBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = bytes.await.map_err(payload_error)?;
            parse_body(&bytes).map(JsonBody)
        })
    }
}

/// A JSON body read from a payload a handler holds itself (one that accepts JSON or
/// multipart), with [`JsonBody`]'s rules and `limit`.
pub async fn read_json(mut payload: web::Payload, limit: usize) -> Result<JsonBody, ApiError> {
    use futures_util::StreamExt;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| payload_error(err.into()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(payload_error(PayloadError::Overflow.into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    parse_body(&bytes).map(JsonBody)
}

fn parse_body(bytes: &[u8]) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|err| ApiError::global(StatusCode::BAD_REQUEST, format!("Invalid JSON: {err}")))?;
    if has_nul(&value) {
        // PostgreSQL cannot store NUL in text; refuse it for every backend alike.
        return Err(ApiError::global(
            StatusCode::BAD_REQUEST,
            "Text may not contain NUL characters (\\u0000)",
        ));
    }
    Ok(value)
}

fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key.contains('\0') || has_nul(value)),
        _ => false,
    }
}

fn payload_error(err: actix_web::Error) -> ApiError {
    match err.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => {
            ApiError::global(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
        }
        _ if err.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::global(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large")
        }
        _ => ApiError::global(
            StatusCode::BAD_REQUEST,
            format!("Could not read request body: {err}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_bodies_are_empty_objects() {
        assert_eq!(parse_body(b"").unwrap(), json!({}));
        assert_eq!(parse_body(b"  \n").unwrap(), json!({}));
    }

    #[test]
    fn nul_characters_are_refused_anywhere_in_the_body() {
        for body in [
            r#"{"name": "a\u0000b"}"#,
            r#"[{"x": ["\u0000"]}]"#,
            r#"{"k\u0000": 1}"#,
        ] {
            let err = parse_body(body.as_bytes()).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body}");
            assert!(err.message.contains("NUL"), "{body}");
        }
        assert!(parse_body(br#"{"name": "a\\u0000b"}"#).is_ok());
    }

    #[test]
    fn malformed_json_is_a_400_in_family_e() {
        let err = parse_body(b"{nope").unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert_eq!(err.body()["error"]["code"], json!(400));
        assert!(err.message.starts_with("Invalid JSON"));
    }
}
