//! Cross-cutting middleware of the 1.7.2 stack (API spec §1.1): API-key auth, CORS, security
//! headers and Content-Type validation.

use crate::error::ApiError;
use crate::state::{AppState, CorsOrigins};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError, web};
use subtle::ConstantTimeEq;

const ALLOWED_METHODS: &str = "GET,POST,PUT,DELETE,PATCH,OPTIONS";
const ALLOWED_HEADERS: &str = "Content-Type,Authorization,X-API-KEY,X-Entity-Id";
/// helmet's non-production CSP as elizaOS 1.7.2 configures it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'self'; font-src 'self' https: data:; \
form-action 'self'; frame-ancestors 'self'; img-src 'self' data: blob: https: http:; media-src 'self' blob: data: https: http:; \
object-src 'none'; script-src 'self' 'unsafe-inline' 'unsafe-eval' *; script-src-attr 'none'; style-src 'self' https: 'unsafe-inline'; \
connect-src 'self' ws: wss: https: http:";

/// Whether the request carries the configured token (`X-API-KEY`, or `Authorization: Bearer` as seed 002 documents).
pub fn has_valid_api_key(headers: &HeaderMap, token: &str) -> bool {
    let presented = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
        })
        .map(str::trim);
    presented.is_some_and(|key| key_matches(key, token))
}

/// Constant-time comparison of a presented key with the token.
pub fn key_matches(presented: &str, token: &str) -> bool {
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}

/// `ELIZA_SERVER_AUTH_TOKEN` on `/api/*`: 401 (family D) without the key; preflight is exempt.
pub async fn require_api_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let denied = req.method() != Method::OPTIONS
        && req
            .app_data::<web::Data<AppState>>()
            .and_then(|state| state.config.auth_token.as_deref())
            .is_some_and(|token| !has_valid_api_key(req.headers(), token));
    if denied {
        return Ok(req
            .into_response(ApiError::unauthorized().error_response())
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// 400 `INVALID_CONTENT_TYPE` for a POST/PUT/PATCH body that is not JSON, multipart or urlencoded.
pub async fn require_known_content_type(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if has_body_of_unknown_type(&req) {
        let error = ApiError::bad_request(
            "INVALID_CONTENT_TYPE",
            "Invalid or missing Content-Type header",
        );
        return Ok(req
            .into_response(error.error_response())
            .map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn has_body_of_unknown_type(req: &ServiceRequest) -> bool {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH)
        || req.path().starts_with("/api/media")
    {
        return false;
    }
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if length == 0 && !chunked {
        return false;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content_type = content_type.to_ascii_lowercase();
    ![
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    ]
    .iter()
    .any(|known| content_type.contains(known))
}

fn allowed_origin(origins: &CorsOrigins, origin: &str) -> bool {
    match origins {
        CorsOrigins::Reflect => true,
        CorsOrigins::List(list) => list
            .iter()
            .any(|allowed| allowed == origin || allowed == "*"),
    }
}

/// CORS as 1.7.2's `cors({origin: CORS_ORIGIN || true, credentials: true})`: preflight answers 204
/// before auth; other responses get the allow-origin headers for an allowed origin.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .and_then(|origin| origin.to_str().ok())
        .zip(req.app_data::<web::Data<AppState>>())
        .is_some_and(|(origin, state)| allowed_origin(&state.config.cors_origins, origin));
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = HttpResponse::NoContent();
        response.insert_header((header::VARY, "Origin, Access-Control-Request-Headers"));
        if let (true, Some(origin)) = (allowed, origin) {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS));
        }
        return Ok(req.into_response(response.finish()).map_into_right_body());
    }
    let mut res = next.call(req).await?;
    if let (true, Some(origin)) = (allowed, origin) {
        let headers = res.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(res.map_into_left_body())
}

/// helmet's headers plus the API router's `securityMiddleware` ones; `/api` gets the stricter variants.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let is_api = req.path().starts_with("/api");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    let (referrer, xss) = if is_api {
        ("no-referrer", "1; mode=block")
    } else {
        ("no-referrer-when-downgrade", "0")
    };
    let pairs: [(&str, &str); 11] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "cross-origin"),
        ("origin-agent-cluster", "?1"),
        ("referrer-policy", referrer),
        ("x-content-type-options", "nosniff"),
        ("x-dns-prefetch-control", "off"),
        ("x-download-options", "noopen"),
        ("x-frame-options", "SAMEORIGIN"),
        ("x-permitted-cross-domain-policies", "none"),
        ("x-xss-protection", xss),
    ];
    for (name, value) in pairs {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    Ok(res)
}

/// Express answers `HEAD` on every `GET` route; actix routes only match `GET`. The request is routed as
/// `GET`, and actix-http still sends no body because the connection saw a `HEAD` request.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// JSON 404 in family E, for `/api` and for everything else until the web UI is served.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    let message = if req.path().starts_with("/api") {
        "API endpoint not found"
    } else {
        "Not found"
    };
    ApiError::global(StatusCode::NOT_FOUND, message).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn api_key_from_either_header() {
        assert!(has_valid_api_key(
            &headers(&[("x-api-key", "s3cret")]),
            "s3cret"
        ));
        assert!(has_valid_api_key(
            &headers(&[("authorization", "Bearer s3cret")]),
            "s3cret"
        ));
        assert!(!has_valid_api_key(
            &headers(&[("x-api-key", "s3cre")]),
            "s3cret"
        ));
        assert!(!has_valid_api_key(
            &headers(&[("authorization", "Basic s3cret")]),
            "s3cret"
        ));
        assert!(!has_valid_api_key(&headers(&[]), "s3cret"));
    }

    #[test]
    fn origin_lists() {
        assert!(allowed_origin(&CorsOrigins::Reflect, "http://x"));
        let list = CorsOrigins::List(vec!["http://a".into()]);
        assert!(allowed_origin(&list, "http://a"));
        assert!(!allowed_origin(&list, "http://b"));
    }
}
