//! Envelopes, auth, CORS, security headers, Content-Type and size limits, trailing slashes.

use crate::support::{KEY_HEADERS, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use eliza_http::{CorsOrigins, HttpConfig};
use serde_json::json;

#[actix_rt::test]
async fn api_requires_the_token_when_set() {
    let app = TestApp::with_token().await;
    app.get("/api/agents").await.assert_unauthorized();
    app.get_with("/api/agents", ("x-api-key", "nope"))
        .await
        .assert_unauthorized();
    for header in KEY_HEADERS {
        let reply = app.get_with("/api/agents", header).await;
        assert_eq!(reply.status, StatusCode::OK, "{header:?}");
    }
    assert_eq!(
        app.get("/agents").await.status,
        StatusCode::UNAUTHORIZED,
        "the seed list is protected too"
    );
}

#[actix_rt::test]
async fn preflight_is_204_before_auth_and_reflects_the_origin() {
    let app = TestApp::with_token().await;
    let reply = app
        .call(
            TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/api/agents")
                .insert_header(("origin", "http://ui.example"))
                .insert_header(("access-control-request-method", "POST")),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("http://ui.example")
    );
    assert_eq!(
        reply.header("access-control-allow-credentials"),
        Some("true")
    );
    assert!(
        reply
            .header("access-control-allow-headers")
            .unwrap()
            .contains("X-API-KEY")
    );
}

#[actix_rt::test]
async fn cors_list_only_allows_listed_origins() {
    let config = HttpConfig {
        cors_origins: CorsOrigins::List(vec!["http://good".into()]),
        ..HttpConfig::default()
    };
    let app = TestApp::with_config(config).await;
    let good = app
        .call(
            TestRequest::get()
                .uri("/api/agents")
                .insert_header(("origin", "http://good")),
        )
        .await;
    assert_eq!(
        good.header("access-control-allow-origin"),
        Some("http://good")
    );
    let bad = app
        .call(
            TestRequest::get()
                .uri("/api/agents")
                .insert_header(("origin", "http://evil")),
        )
        .await;
    assert_eq!(bad.header("access-control-allow-origin"), None);
}

#[actix_rt::test]
async fn security_headers_are_set() {
    let app = TestApp::new().await;
    let api = app.get("/api/agents").await;
    assert_eq!(api.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(api.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(api.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(api.header("x-xss-protection"), Some("1; mode=block"));
    assert!(api.header("content-security-policy").is_some());
    let other = app.get("/nowhere").await;
    assert_eq!(
        other.header("referrer-policy"),
        Some("no-referrer-when-downgrade")
    );
    assert_eq!(
        other.header("cross-origin-resource-policy"),
        Some("cross-origin")
    );
}

#[actix_rt::test]
async fn unknown_api_paths_are_404_with_a_numeric_code() {
    let app = TestApp::new().await;
    let reply = app.get("/api/nothing/here").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"message": "API endpoint not found", "code": 404}})
    );
    let tee = app.get("/api/tee/anything").await;
    assert_eq!(tee.status, StatusCode::NOT_FOUND);
}

#[actix_rt::test]
async fn trailing_slashes_are_tolerated() {
    let app = TestApp::new().await;
    assert_eq!(app.get("/api/agents/").await.status, StatusCode::OK);
}

#[actix_rt::test]
async fn non_json_bodies_are_rejected_with_invalid_content_type() {
    let app = TestApp::new().await;
    let reply = app
        .call(
            TestRequest::post()
                .uri("/api/agents")
                .insert_header(("content-type", "text/plain"))
                .set_payload("name=x"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"code": "INVALID_CONTENT_TYPE", "message": "Invalid or missing Content-Type header"}})
    );
}

#[actix_rt::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::with_config(HttpConfig {
        max_json_bytes: 1024,
        ..HttpConfig::default()
    })
    .await;
    let big = json!({"agent": {"name": "x", "bio": "y".repeat(4096)}});
    let reply = app.post("/api/agents", big).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(reply.json["error"]["code"], json!(413));
}

#[actix_rt::test]
async fn head_is_answered_on_get_routes() {
    let app = TestApp::new().await;
    let reply = app
        .call(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/healthz"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let api = app
        .call(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri("/api/agents"),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK);
}
