//! Rate limits (API spec §1.4): the API and health limiters, their headers, 429 bodies and exemptions.
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.

use crate::support::{Reply, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use eliza_http::HttpConfig;
use eliza_http::rate_limit::{LimitRule, RateLimitConfig};
use serde_json::json;
use std::time::Duration;

const REMOTE: &str = "203.0.113.9:5000";

async fn limited(rate_limits: RateLimitConfig) -> TestApp {
    TestApp::with_config(HttpConfig {
        rate_limits,
        ..HttpConfig::default()
    })
    .await
}

fn small_limits() -> RateLimitConfig {
    RateLimitConfig {
        api: LimitRule::new(2, Duration::from_secs(900)),
        health: LimitRule::new(1, Duration::from_secs(60)),
        ..RateLimitConfig::default()
    }
}

async fn get_from(app: &TestApp, path: &str, peer: &str) -> Reply {
    app.call(
        TestRequest::get()
            .uri(path)
            .peer_addr(peer.parse().unwrap()),
    )
    .await
}

fn assert_no_legacy_headers(reply: &Reply) {
    assert!(
        reply
            .headers
            .keys()
            .all(|name| !name.as_str().starts_with("x-ratelimit")),
        "{:?}",
        reply.headers
    );
}

#[actix_rt::test]
async fn api_limit_answers_429_after_max_with_draft_6_headers() {
    let app = limited(small_limits()).await;
    for remaining in ["1", "0"] {
        let reply = get_from(&app, "/api/server/hello", REMOTE).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("ratelimit-policy"), Some("2;w=900"));
        assert_eq!(reply.header("ratelimit-limit"), Some("2"));
        assert_eq!(reply.header("ratelimit-remaining"), Some(remaining));
        assert!(
            reply
                .header("ratelimit-reset")
                .and_then(|r| r.parse::<u64>().ok())
                .is_some_and(|r| r > 890 && r <= 900)
        );
        assert_no_legacy_headers(&reply);
    }
    let rejected = get_from(&app, "/api/server/hello", REMOTE).await;
    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        rejected.json,
        json!({"success": false, "error": {"code": "RATE_LIMIT_EXCEEDED", "message": "Too many requests. Please try again later."}})
    );
    assert_eq!(rejected.header("ratelimit-remaining"), Some("0"));
    assert!(rejected.header("retry-after").is_some());
    assert_no_legacy_headers(&rejected);

    let other = get_from(&app, "/api/server/hello", "198.51.100.1:1").await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another client has its own window"
    );
    let public = get_from(&app, "/healthz", REMOTE).await;
    assert_eq!(
        public.status,
        StatusCode::OK,
        "the API limit does not apply outside /api"
    );
}

#[actix_rt::test]
async fn every_api_response_counts_including_404s() {
    let app = limited(small_limits()).await;
    let missing = get_from(&app, "/api/no-such-route", REMOTE).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.header("ratelimit-remaining"), Some("1"));
    get_from(&app, "/api/server/ping", REMOTE).await;
    assert_eq!(
        get_from(&app, "/api/system/version", REMOTE).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_rt::test]
async fn ipv6_clients_share_their_56_prefix() {
    let app = limited(small_limits()).await;
    assert_eq!(
        get_from(&app, "/api/server/ping", "[2001:db8:1:200::1]:1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get_from(&app, "/api/server/ping", "[2001:db8:1:2ff::2]:1")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get_from(&app, "/api/server/ping", "[2001:db8:1:280::3]:1")
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        get_from(&app, "/api/server/ping", "[2001:db8:1:300::1]:1")
            .await
            .status,
        StatusCode::OK
    );
}

#[actix_rt::test]
async fn health_limit_is_shared_by_both_routes_and_answers_text() {
    let app = limited(small_limits()).await;
    let first = get_from(&app, "/healthz", REMOTE).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("ratelimit-policy"), Some("1;w=60"));
    assert_eq!(first.header("ratelimit-remaining"), Some("0"));
    let rejected = get_from(&app, "/health", REMOTE).await;
    assert_eq!(rejected.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        rejected.json,
        json!("Too many health check requests from this IP, please try again later.")
    );
    assert!(
        rejected
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("text/html"))
    );
    assert_eq!(rejected.header("ratelimit-limit"), Some("1"));
    assert_no_legacy_headers(&rejected);
}

#[actix_rt::test]
async fn loopback_and_private_clients_are_exempt() {
    let app = limited(small_limits()).await;
    for _ in 0..4 {
        let local = app.get("/api/server/ping").await;
        assert_eq!(local.status, StatusCode::OK);
        assert_eq!(
            local.header("ratelimit-limit"),
            None,
            "exempt clients get no headers"
        );
        assert_eq!(
            get_from(&app, "/healthz", "192.168.1.20:1").await.status,
            StatusCode::OK
        );
        assert_eq!(
            get_from(&app, "/health", "[::1]:1").await.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "no agents, but not limited"
        );
    }
    let strict = limited(RateLimitConfig {
        exempt_loopback: false,
        ..small_limits()
    })
    .await;
    strict.get("/api/server/ping").await;
    strict.get("/api/server/ping").await;
    assert_eq!(
        strict.get("/api/server/ping").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_rt::test]
async fn disabled_limits_neither_count_nor_add_headers() {
    let app = limited(RateLimitConfig {
        enabled: false,
        ..small_limits()
    })
    .await;
    for _ in 0..4 {
        let api = get_from(&app, "/api/server/ping", REMOTE).await;
        assert_eq!(api.status, StatusCode::OK);
        assert_eq!(api.header("ratelimit-policy"), None);
        assert_eq!(
            get_from(&app, "/healthz", REMOTE).await.status,
            StatusCode::OK
        );
    }
}

async fn forwarded(app: &TestApp, hop: &'static str) -> Reply {
    app.call(
        TestRequest::get()
            .uri("/api/server/ping")
            .peer_addr(REMOTE.parse().unwrap())
            .insert_header(("x-forwarded-for", hop)),
    )
    .await
}

#[actix_rt::test]
async fn forwarded_for_is_only_used_when_trusted() {
    let trusting = limited(RateLimitConfig {
        trust_forwarded_for: true,
        ..small_limits()
    })
    .await;
    for hop in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(
            forwarded(&trusting, hop).await.status,
            StatusCode::OK,
            "each hop is its own client"
        );
    }
    let ignoring = limited(small_limits()).await;
    forwarded(&ignoring, "198.51.100.1").await;
    forwarded(&ignoring, "198.51.100.2").await;
    assert_eq!(
        forwarded(&ignoring, "198.51.100.3").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "keyed by the peer"
    );
}
