//! The web UI at `/` (API spec §1.1 steps 8 and 12, §4): files, the single-page-app fallback,
//! the JavaScript 404, and the API left alone.

use crate::support::TestApp;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use eliza_http::HttpConfig;
use eliza_http::ui::WebUi;
use serde_json::json;

const INDEX: &str = "<!doctype html><script src=\"/assets/main-abc123.js\"></script>";

async fn app_with_ui() -> (TestApp, tempfile::TempDir) {
    let build = tempfile::tempdir().unwrap();
    std::fs::create_dir(build.path().join("assets")).unwrap();
    std::fs::write(build.path().join("index.html"), INDEX).unwrap();
    std::fs::write(build.path().join("assets/main-abc123.js"), "console.log(1)").unwrap();
    std::fs::write(build.path().join("favicon.ico"), [0u8, 0, 1, 0]).unwrap();
    let config = HttpConfig {
        ui: WebUi::Dir(build.path().to_path_buf()),
        ..HttpConfig::default()
    };
    (TestApp::with_config(config).await, build)
}

#[actix_web::test]
async fn files_are_served_and_client_routes_get_the_app() {
    let (app, _build) = app_with_ui().await;
    let script = app.get("/assets/main-abc123.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(
        script
            .header("content-type")
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(script.header("cache-control"), Some("public, max-age=0"));
    assert_eq!(script.header("content-disposition"), None);
    assert!(script.header("etag").is_some() && script.header("last-modified").is_some());
    assert_eq!(app.get("/favicon.ico").await.status, StatusCode::OK);

    for route in [
        "/",
        "/chat/7d6c0b44-1c0f-4b55-9d8a-3f1f8f2b8a10",
        "/settings/",
        "/group/new?messageServerId=x",
        "/logs",
    ] {
        let page = app.get(route).await;
        assert_eq!(page.status, StatusCode::OK, "{route}");
        assert!(
            page.header("content-type")
                .unwrap()
                .starts_with("text/html"),
            "{route}"
        );
        assert_eq!(page.json, json!(INDEX), "{route}");
    }
}

#[actix_web::test]
async fn a_missing_script_is_a_javascript_404_and_the_api_stays_json() {
    let (app, _build) = app_with_ui().await;
    let missing = app.get("/assets/gone-12345678.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing
            .header("content-type")
            .unwrap()
            .starts_with("application/javascript")
    );
    assert_eq!(
        missing.json,
        json!("// JavaScript module not found: /assets/gone-12345678.js")
    );

    let api = app.get("/api/nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json["error"]["message"], "API endpoint not found");
    let posted = app.call(TestRequest::post().uri("/chat/x")).await;
    assert_eq!(
        posted.status,
        StatusCode::NOT_FOUND,
        "only GETs load the app"
    );
    assert_eq!(posted.json["error"]["code"], 404);
}

#[actix_web::test]
async fn paths_cannot_leave_the_build() {
    let (app, build) = app_with_ui().await;
    std::fs::write(build.path().parent().unwrap().join("secret.txt"), "secret").ok();
    for path in [
        "/..%2fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/%2e%2e/secret.txt",
    ] {
        let reply = app.get(path).await;
        assert_ne!(reply.json, json!("secret"), "{path}");
    }
}

#[actix_web::test]
async fn a_disabled_ui_is_403_and_a_missing_one_404() {
    let disabled = TestApp::with_config(HttpConfig {
        ui: WebUi::Disabled,
        ..HttpConfig::default()
    })
    .await;
    let page = disabled.get("/chat/x").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.json["error"]["code"], 403);
    assert_eq!(
        disabled.get("/api/nope").await.status,
        StatusCode::NOT_FOUND
    );

    let empty = tempfile::tempdir().unwrap();
    let not_yet = TestApp::with_config(HttpConfig {
        ui: WebUi::Dir(empty.path().to_path_buf()),
        ..HttpConfig::default()
    })
    .await;
    let page = not_yet.get("/").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.json["error"]["message"], "Not found");
}
