//! `/api/system/*`: version, config, seed 001's status, and the `.env` editor (`env/local` and
//! seed 001's `environment` alias).
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.

use crate::support::{KEY_HEADERS, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use eliza_http::HttpConfig;
use serde_json::json;
use std::path::PathBuf;

const ENV_ROUTES: [&str; 2] = ["/api/system/env/local", "/api/system/environment"];
const INVALID_CONTENT: &str = r#"Missing or invalid "content" in request body"#;

/// An app and its `env_dir`: the harness's fresh temp dir, so no `.env` exists yet.
async fn app_with_env_dir() -> (TestApp, PathBuf) {
    let app = TestApp::new().await;
    let dir = app.state.config.env_dir.clone();
    assert_eq!(dir, app.dir.path());
    (app, dir)
}

#[actix_rt::test]
async fn version_reports_1_7_2_and_this_server() {
    let app = TestApp::new().await;
    let reply = app.get("/api/system/version").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = &reply.json;
    assert_eq!(
        (&body["version"], &body["source"], &body["environment"]),
        (&json!("1.7.2"), &json!("server"), &json!("development"))
    );
    assert!(body["uptime"].is_f64(), "{body:?}");
    assert!(
        body["timestamp"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    assert_eq!(
        body["server"],
        json!(format!("eliza-rs {}", env!("CARGO_PKG_VERSION")))
    );
    assert!(body.get("success").is_none(), "unwrapped, as in 1.7.2");
}

#[actix_rt::test]
async fn config_reports_data_isolation() {
    let open = TestApp::new().await;
    assert_eq!(
        open.get("/api/system/config").await.json,
        json!({"success": true, "data": {"requiresAuth": false, "modelProviders": []}})
    );
    let isolated = TestApp::with_config(HttpConfig {
        data_isolation: true,
        ..HttpConfig::default()
    })
    .await;
    let reply = isolated.get("/api/system/config").await;
    assert_eq!(
        (reply.status, reply.json),
        (
            StatusCode::OK,
            json!({"success": true, "data": {"requiresAuth": true, "modelProviders": []}})
        )
    );
}

#[actix_rt::test]
async fn status_reports_uptime_memory_and_agents() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Eliza").await;
    app.start_agent("Bob").await;
    app.state.agents.stop(agent.id).await;
    let reply = app.get("/api/system/status").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json["success"], json!(true));
    let data = &reply.json["data"];
    assert_eq!(data["status"], json!("healthy"));
    assert!(data["uptime"].as_f64().is_some_and(|s| s >= 0.0));
    assert_eq!(data["agents"], json!({"active": 1, "total": 2}));
    let used = data["memory"]["used"].as_u64().unwrap();
    let total = data["memory"]["total"].as_u64().unwrap();
    if cfg!(target_os = "linux") {
        assert!(used > 0 && total > used, "{data:?}");
    }
}

#[actix_rt::test]
async fn env_get_is_empty_without_a_file() {
    let (app, _dir) = app_with_env_dir().await;
    for route in ENV_ROUTES {
        let reply = app.get(route).await;
        assert_eq!(
            (reply.status, reply.json),
            (StatusCode::OK, json!({"success": true, "data": {}})),
            "{route}"
        );
    }
}

#[actix_rt::test]
async fn env_post_creates_the_file_then_merges_into_it() {
    let (app, dir) = app_with_env_dir().await;
    let reply = app
        .post(
            "/api/system/env/local",
            json!({"content": {"OPENAI_API_KEY": "sk-1", "NAME": "two words"}}),
        )
        .await;
    assert_eq!(
        (reply.status, reply.json),
        (
            StatusCode::OK,
            json!({"success": true, "message": "Local env updated",
                   "data": {"success": true, "message": "Local env updated"}})
        )
    );
    let path = dir.join(".env");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "OPENAI_API_KEY=sk-1\nNAME='two words'\n"
    );

    std::fs::write(
        &path,
        "# my settings\nOPENAI_API_KEY=sk-1\n\nLOG_LEVEL=info # keep\n",
    )
    .unwrap();
    let merged = app
        .post(
            "/api/system/environment",
            json!({"variables": {"OPENAI_API_KEY": "sk-2", "QUOTE": "say \"hi\"\nbye"}}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK);
    let bare = app
        .post(
            "/api/system/env/local",
            json!({"PORT": 3001, "DEBUG": true}),
        )
        .await;
    assert_eq!(bare.status, StatusCode::OK, "a bare record is accepted too");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# my settings\nOPENAI_API_KEY=sk-2\n\nLOG_LEVEL=info # keep\nQUOTE=\"say \\\"hi\\\"\\nbye\"\nPORT=3001\nDEBUG=true\n"
    );
    for route in ENV_ROUTES {
        let reply = app.get(route).await;
        assert_eq!(
            reply.json["data"],
            json!({"OPENAI_API_KEY": "sk-2", "LOG_LEVEL": "info", "QUOTE": "say \"hi\"\nbye", "PORT": "3001", "DEBUG": "true"}),
            "{route}"
        );
    }
}

#[actix_rt::test]
async fn env_post_with_a_bad_body_is_400_and_changes_nothing() {
    let (app, dir) = app_with_env_dir().await;
    let path = dir.join(".env");
    std::fs::write(&path, "A=1\n").unwrap();
    for body in [
        json!({}),
        json!({"content": "A=2"}),
        json!({"content": {}}),
        json!({"content": null}),
        json!(["A"]),
    ] {
        for route in ENV_ROUTES {
            let reply = app.post(route, body.clone()).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{route} {body}");
            assert_eq!(
                reply.json,
                json!({"success": false, "error": {"code": "INVALID_INPUT", "message": INVALID_CONTENT}})
            );
        }
    }
    let bad_key = app
        .post(
            "/api/system/env/local",
            json!({"content": {"A": "2", "NOT VALID": "x"}}),
        )
        .await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad_key.json["error"],
        json!({"code": "INVALID_INPUT", "message": "Invalid variable name \"NOT VALID\""})
    );
    let bad_value = app
        .post(
            "/api/system/env/local",
            json!({"content": {"A": {"nested": true}}}),
        )
        .await;
    assert_eq!(bad_value.json["error"]["code"], json!("INVALID_INPUT"));
    let malformed = app
        .call(
            TestRequest::post()
                .uri("/api/system/env/local")
                .insert_header(("content-type", "application/json"))
                .set_payload("{nope"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json["error"]["code"], json!(400));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "A=1\n",
        "nothing was written"
    );
}

#[actix_rt::test]
async fn system_routes_need_the_key_when_a_token_is_set() {
    let app = TestApp::with_token().await;
    for route in [
        "/api/system/version",
        "/api/system/config",
        "/api/system/status",
        "/api/system/env/local",
    ] {
        app.get(route).await.assert_unauthorized();
        let allowed = app.get_with(route, KEY_HEADERS[0]).await;
        assert_eq!(allowed.status, StatusCode::OK, "{route}");
    }
}
