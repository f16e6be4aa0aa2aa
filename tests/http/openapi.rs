//! `/api/docs`: the OpenAPI document lists what is served, and only that.

use crate::support::TestApp;
use actix_web::http::{Method, StatusCode};
use actix_web::test::TestRequest;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn document(app: &TestApp) -> Value {
    let reply = app.get("/api/docs/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
    );
    reply.json
}

/// Every `(METHOD, path template)` of the document.
fn operations(doc: &Value) -> Vec<(Method, String)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            found.push((method, path.clone()));
        }
    }
    found
}

/// The template with a fresh UUID for each `{…}` segment.
fn placeholder_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                uuid::Uuid::new_v4().to_string()
            } else {
                segment.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[actix_rt::test]
async fn the_document_is_openapi_3_1_with_unique_operation_ids() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let operations = operations(&doc);
    assert!(operations.len() > 100, "{} operations", operations.len());
    let mut ids = HashSet::new();
    for (method, path) in &operations {
        let operation = &doc["paths"][path][method.as_str().to_ascii_lowercase()];
        let id = operation["operationId"].as_str().unwrap_or_default();
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id:?} not unique"
        );
        assert!(operation["responses"].is_object(), "{method} {path}");
    }
    let page = app.get("/api/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type")
            .is_some_and(|ct| ct.starts_with("text/html"))
    );
    assert!(
        page.json
            .as_str()
            .is_some_and(|html| html.contains("openapi.json"))
    );
}

#[actix_rt::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let global_404 = |json: &Value| {
        json["success"] == json!(false)
            && json["error"]["code"] == json!(404)
            && matches!(
                json["error"]["message"].as_str(),
                Some("API endpoint not found" | "Not found")
            )
    };
    let mut unserved = Vec::new();
    for (method, template) in operations(&doc) {
        let path = placeholder_path(&template);
        let mut request = TestRequest::default().method(method.clone()).uri(&path);
        if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
            request = request.set_json(json!({}));
        }
        let reply = app.call(request).await;
        if reply.status == StatusCode::NOT_FOUND && global_404(&reply.json) {
            unserved.push(format!("{method} {template}"));
        }
    }
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:#?}"
    );
}

/// Routes are registered one method at a time, so a method a path does not serve is the JSON
/// 404 Express gives (not an empty 405), under `/api` and outside it.
#[actix_web::test]
async fn a_method_a_path_does_not_serve_is_the_json_404() {
    let app = TestApp::new().await;
    for (method, path, message) in [
        (Method::PUT, "/api/server/logs", "API endpoint not found"),
        (
            Method::PUT,
            "/api/system/env/local",
            "API endpoint not found",
        ),
        (Method::POST, "/healthz", "Not found"),
        (Method::DELETE, "/agents", "Not found"),
    ] {
        let reply = app
            .call(TestRequest::default().method(method.clone()).uri(path))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            reply.json,
            json!({"success": false, "error": {"message": message, "code": 404}}),
            "{method} {path}"
        );
    }
}
