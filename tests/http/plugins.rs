//! Plugin routes and panels (API spec §2.11, `GET /api/agents/:agentId/panels`): a test plugin
//! registered in the runtime's catalog, served for the agents whose character lists it.

use crate::messaging_fixture::{UNKNOWN, data};
use crate::support::{Reply, TOKEN, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use async_trait::async_trait;
use eliza_http::HttpConfig;
use eliza_runtime::plugin::{
    Plugin, PluginCatalog, PluginRequest, PluginResponse, PluginRoute, RouteHandler,
};
use eliza_runtime::{AgentRuntime, Environment, RegistryConfig};
use serde_json::json;
use std::sync::Arc;

const PLUGIN: &str = "test-panels";

/// An HTML page naming the agent that served it.
struct Page;

#[async_trait]
impl RouteHandler for Page {
    async fn handle(&self, runtime: &AgentRuntime, _request: PluginRequest) -> PluginResponse {
        PluginResponse {
            status: 200,
            content_type: "text/html; charset=utf-8".to_owned(),
            body: format!("<h1>Hello from {}</h1>", runtime.name()).into_bytes(),
        }
    }
}

/// Answers `status` with JSON describing the request it got.
struct Inspect {
    status: u16,
}

#[async_trait]
impl RouteHandler for Inspect {
    async fn handle(&self, runtime: &AgentRuntime, request: PluginRequest) -> PluginResponse {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        PluginResponse::json(
            self.status,
            &json!({
                "agent": runtime.name(),
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": body,
            }),
        )
    }
}

/// A teapot in plain text.
struct Teapot;

#[async_trait]
impl RouteHandler for Teapot {
    async fn handle(&self, _runtime: &AgentRuntime, _request: PluginRequest) -> PluginResponse {
        PluginResponse {
            status: 418,
            content_type: "text/plain".to_owned(),
            body: b"short and stout".to_vec(),
        }
    }
}

struct PanelPlugin;

fn route(
    method: &str,
    path: &str,
    name: Option<&str>,
    public: bool,
    handler: Arc<dyn RouteHandler>,
) -> PluginRoute {
    PluginRoute {
        method: method.to_owned(),
        path: path.to_owned(),
        name: name.map(str::to_owned),
        public,
        handler,
    }
}

impl Plugin for PanelPlugin {
    fn name(&self) -> &str {
        PLUGIN
    }

    fn routes(&self) -> Vec<PluginRoute> {
        vec![
            // The only panel: public, named, GET.
            route("GET", "/hello-panel", Some("Hello"), true, Arc::new(Page)),
            route(
                "POST",
                "/echo",
                Some("Echo"),
                true,
                Arc::new(Inspect { status: 201 }),
            ),
            route(
                "GET",
                "/private",
                Some("Private"),
                false,
                Arc::new(Inspect { status: 200 }),
            ),
            route(
                "GET",
                "/items/:id",
                None,
                true,
                Arc::new(Inspect { status: 200 }),
            ),
            route("DELETE", "/teapot", None, false, Arc::new(Teapot)),
        ]
    }
}

/// An app whose runtime knows the test plugin.
async fn plugin_app() -> TestApp {
    let mut config = RegistryConfig::new(
        Environment::new(Default::default()),
        &HttpConfig::default().secret_salt,
    );
    let mut catalog = PluginCatalog::new();
    catalog.register(
        PLUGIN,
        Arc::new(|_settings: &eliza_runtime::AgentSettings| {
            Ok(Arc::new(PanelPlugin) as Arc<dyn Plugin>)
        }),
    );
    config.catalog = catalog;
    TestApp::with_runtime_config(config).await
}

/// Creates and starts an agent over HTTP; returns its id.
async fn started_agent(app: &TestApp, name: &str, plugins: &[&str]) -> String {
    app.started_agent(json!({"name": name, "bio": ["Test."], "plugins": plugins}))
        .await
}

fn plugin_url(agent: &str, path: &str) -> String {
    format!("/api/agents/{agent}/plugins/{PLUGIN}{path}")
}

fn assert_coded(reply: &Reply, status: u16, code: &str, message: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"code": code, "message": message}})
    );
}

fn assert_global_404(reply: &Reply, message: &str) {
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"message": message, "code": 404}})
    );
}

#[actix_web::test]
async fn panels_list_the_public_named_get_routes_of_a_running_agent() {
    let app = plugin_app().await;
    let agent = started_agent(&app, "Panelled", &[PLUGIN]).await;
    let plain = started_agent(&app, "Plain", &[]).await;

    let panels = app.get(&format!("/api/agents/{agent}/panels")).await;
    assert_eq!(panels.status, StatusCode::OK, "{}", panels.json);
    let path = format!("/api/agents/{agent}/plugins/{PLUGIN}/hello-panel?agentId={agent}");
    assert_eq!(
        panels.json,
        json!({"success": true, "data": [{"name": "Hello", "path": path}]})
    );
    // The listed path serves the panel.
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.json, json!("<h1>Hello from Panelled</h1>"));

    let none = app.get(&format!("/api/agents/{plain}/panels")).await;
    assert_eq!(none.json, json!({"success": true, "data": []}));

    assert_coded(
        &app.get("/api/agents/not-a-uuid/panels").await,
        400,
        "INVALID_ID",
        "Invalid agent ID format",
    );
    assert_coded(
        &app.get(&format!("/api/agents/{UNKNOWN}/panels")).await,
        404,
        "NOT_FOUND",
        "Agent not found",
    );
}

#[actix_web::test]
async fn agent_plugin_routes_pass_method_query_and_body_and_answer_as_the_handler_does() {
    let app = plugin_app().await;
    let agent = started_agent(&app, "Panelled", &[PLUGIN]).await;

    // A path parameter and the query, `agentId` included, reach the handler.
    let item = app
        .get(&format!(
            "{}?agentId={agent}&q=green%20tea&q=2",
            plugin_url(&agent, "/items/42")
        ))
        .await;
    assert_eq!(item.status, StatusCode::OK, "{}", item.json);
    assert_eq!(item.header("content-type"), Some("application/json"));
    assert_eq!(
        item.json,
        json!({"agent": "Panelled", "method": "GET", "path": "/test-panels/items/42",
            "query": [["agentId", agent], ["q", "green tea"], ["q", "2"]], "body": ""})
    );

    // The body as sent, the handler's status.
    let echoed = app
        .post(&plugin_url(&agent, "/echo"), json!({"note": "hi"}))
        .await;
    assert_eq!(echoed.status, StatusCode::CREATED, "{}", echoed.json);
    assert_eq!(echoed.json["method"], "POST");
    assert_eq!(echoed.json["body"], r#"{"note":"hi"}"#);

    // Any method; any status and content type.
    let teapot = app.delete(&plugin_url(&agent, "/teapot")).await;
    assert_eq!(teapot.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(teapot.header("content-type"), Some("text/plain"));
    assert_eq!(teapot.json, json!("short and stout"));

    // Not public: still served (public only decides what the panels list).
    let private = app.get(&plugin_url(&agent, "/private")).await;
    assert_eq!(private.status, StatusCode::OK, "{}", private.json);

    // Matching is case-insensitive.
    let upper = app.get(&plugin_url(&agent, "/HELLO-panel")).await;
    assert_eq!(upper.status, StatusCode::OK, "{}", upper.json);
}

#[actix_web::test]
async fn agent_plugin_route_errors_are_those_of_1_7_2() {
    let app = plugin_app().await;
    let agent = started_agent(&app, "Panelled", &[PLUGIN]).await;
    let plain = started_agent(&app, "Plain", &[]).await;

    // No such route, or not for this method, or not for this agent: the `/api` 404.
    for reply in [
        app.get(&plugin_url(&agent, "/nothing")).await,
        app.get(&plugin_url(&agent, "/echo")).await,
        app.get(&plugin_url(&agent, "/items")).await,
        app.get(&format!("/api/agents/{agent}/plugins/other/hello-panel"))
            .await,
        app.get(&plugin_url(&plain, "/hello-panel")).await,
    ] {
        assert_global_404(&reply, "API endpoint not found");
    }

    // The agent comes from `?agentId=`, else from the path.
    let invalid = "Invalid agent ID format";
    assert_coded(
        &app.get(&format!(
            "{}?agentId=zz",
            plugin_url(&agent, "/hello-panel")
        ))
        .await,
        400,
        "INVALID_AGENT_ID",
        invalid,
    );
    assert_coded(
        &app.get(&plugin_url("zz", "/hello-panel")).await,
        400,
        "INVALID_AGENT_ID",
        invalid,
    );
    assert_coded(
        &app.get(&format!(
            "{}?agentId={UNKNOWN}",
            plugin_url(&agent, "/hello-panel")
        ))
        .await,
        404,
        "AGENT_NOT_FOUND",
        "Agent not found",
    );
    assert_coded(
        &app.get(&plugin_url(UNKNOWN, "/hello-panel")).await,
        404,
        "AGENT_NOT_FOUND",
        "Agent not found",
    );
    // `?agentId=` wins over the path.
    let by_query = app
        .get(&format!(
            "{}?agentId={agent}",
            plugin_url(&plain, "/hello-panel")
        ))
        .await;
    assert_eq!(by_query.json, json!("<h1>Hello from Panelled</h1>"));
}

#[actix_web::test]
async fn plugin_routes_are_also_served_under_api_and_at_app_level() {
    let app = plugin_app().await;
    let _plain = started_agent(&app, "Plain", &[]).await;
    let agent = started_agent(&app, "Panelled", &[PLUGIN]).await;

    // The first running agent that serves the route answers.
    for path in [
        format!("/api/{PLUGIN}/hello-panel"),
        format!("/{PLUGIN}/hello-panel"),
        format!("/{PLUGIN}/hello-panel?agentId={agent}"),
    ] {
        let reply = app.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.json);
        assert_eq!(reply.json, json!("<h1>Hello from Panelled</h1>"), "{path}");
    }
    let item = app.get(&format!("/{PLUGIN}/items/7?x=1")).await;
    assert_eq!(item.json["path"], "/test-panels/items/7");
    assert_eq!(item.json["query"], json!([["x", "1"]]));

    // Under `/api`, a bad `?agentId=` on a plugin path answers in family F...
    assert_coded(
        &app.get(&format!("/api/{PLUGIN}/hello-panel?agentId=zz"))
            .await,
        400,
        "INVALID_AGENT_ID",
        "Invalid agent ID format",
    );
    assert_coded(
        &app.get(&format!("/api/{PLUGIN}/hello-panel?agentId={UNKNOWN}"))
            .await,
        404,
        "AGENT_NOT_FOUND",
        "Agent not found",
    );
    // ...but other routes are not intercepted (1.7.2 answers them 400 too).
    let channels = app.get("/api/messaging/central-servers?agentId=zz").await;
    assert_eq!(channels.status, StatusCode::OK, "{}", channels.json);

    // Unknown plugin paths get the ordinary 404s.
    assert_global_404(
        &app.get(&format!("/api/{PLUGIN}/nothing")).await,
        "API endpoint not found",
    );
    assert_global_404(&app.get(&format!("/{PLUGIN}/nothing")).await, "Not found");
    assert_global_404(
        &app.get(&format!("/{PLUGIN}/hello-panel?agentId={UNKNOWN}"))
            .await,
        "Not found",
    );
    assert_global_404(&app.get(&format!("/{PLUGIN}/echo")).await, "Not found");
}

#[actix_web::test]
async fn with_an_api_key_only_the_app_level_form_is_open() {
    let mut app = plugin_app().await;
    app.state.config = Arc::new(HttpConfig {
        auth_token: Some(TOKEN.into()),
        ..(*app.state.config).clone()
    });
    let key = ("x-api-key", TOKEN);
    let created = app
        .call(
            TestRequest::post()
                .uri("/api/agents")
                .insert_header(key)
                .set_json(
                    json!({"characterJson": {"name": "Locked", "bio": "b", "plugins": [PLUGIN]}}),
                ),
        )
        .await;
    let agent = data(&created)["id"].as_str().unwrap().to_owned();
    let started = app
        .call(
            TestRequest::post()
                .uri(&format!("/api/agents/{agent}/start"))
                .insert_header(key),
        )
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.json);

    app.get(&plugin_url(&agent, "/hello-panel"))
        .await
        .assert_unauthorized();
    app.get(&format!("/api/{PLUGIN}/hello-panel"))
        .await
        .assert_unauthorized();
    let keyed = app.get_with(&plugin_url(&agent, "/hello-panel"), key).await;
    assert_eq!(keyed.status, StatusCode::OK, "{}", keyed.json);
    let open = app.get(&format!("/{PLUGIN}/hello-panel")).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.json);
}

#[actix_web::test]
async fn a_stopped_agent_serves_nothing() {
    let app = plugin_app().await;
    let agent = started_agent(&app, "Panelled", &[PLUGIN]).await;
    let stopped = app
        .post(&format!("/api/agents/{agent}/stop"), json!({}))
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.json);

    assert_coded(
        &app.get(&format!("/api/agents/{agent}/panels")).await,
        404,
        "NOT_FOUND",
        "Agent not found",
    );
    assert_coded(
        &app.get(&format!(
            "{}?agentId={agent}",
            plugin_url(&agent, "/hello-panel")
        ))
        .await,
        404,
        "AGENT_NOT_FOUND",
        "Agent not found",
    );
    assert_global_404(
        &app.get(&format!("/api/{PLUGIN}/hello-panel")).await,
        "API endpoint not found",
    );
    assert_global_404(
        &app.get(&format!("/{PLUGIN}/hello-panel")).await,
        "Not found",
    );

    // Started again, it serves again.
    let restarted = app
        .post(&format!("/api/agents/{agent}/start"), json!({}))
        .await;
    assert_eq!(restarted.status, StatusCode::OK);
    let page = app.get(&plugin_url(&agent, "/hello-panel")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.json);
}

#[actix_web::test]
async fn without_agent_runtimes_there_are_no_plugin_routes() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Tracked").await.id.to_string();
    let panels = app.get(&format!("/api/agents/{agent}/panels")).await;
    assert_eq!(panels.json, json!({"success": true, "data": []}));
    assert_global_404(
        &app.get(&plugin_url(&agent, "/hello-panel")).await,
        "API endpoint not found",
    );
    assert_coded(
        &app.get(&plugin_url(UNKNOWN, "/hello-panel")).await,
        404,
        "AGENT_NOT_FOUND",
        "Agent not found",
    );
    assert_global_404(
        &app.get(&format!("/{PLUGIN}/hello-panel")).await,
        "Not found",
    );
}
