//! `/api/server/*` (and the seed-004 `/api/runtime/*` aliases), `/healthz`, `/health`, `/metrics`.
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.

use crate::support::{KEY_HEADERS, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use eliza_bus::cluster::MemoryHub;
use eliza_domain::cluster::NodeId;
use eliza_domain::ids::MessageServerId;
use eliza_domain::messaging::MessageServer;
use eliza_http::logs::LogEntry;
use eliza_http::{HttpConfig, Shutdown};
use serde_json::{Value, json};
use std::time::Duration;

const PREFIXES: [&str; 2] = ["/api/server", "/api/runtime"];
const REMOTE_PEER: &str = "203.0.113.50:4000";
const LEVELS: [&str; 9] = [
    "fatal", "error", "warn", "info", "log", "progress", "success", "debug", "trace",
];

fn is_iso(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'))
}

async fn shutdown_requested(shutdown: &Shutdown) -> bool {
    actix_rt::time::timeout(Duration::from_millis(50), shutdown.requested())
        .await
        .is_ok()
}

#[actix_rt::test]
async fn ping_hello_and_status_under_both_prefixes() {
    let app = TestApp::new().await;
    for prefix in PREFIXES {
        let ping = app.get(&format!("{prefix}/ping")).await;
        assert_eq!(ping.status, StatusCode::OK);
        assert_eq!(ping.json["pong"], json!(true));
        assert!(
            ping.json["timestamp"]
                .as_i64()
                .is_some_and(|ms| ms > 1_600_000_000_000),
            "{:?}",
            ping.json
        );

        let hello = app.get(&format!("{prefix}/hello")).await;
        assert_eq!(
            (hello.status, hello.json),
            (StatusCode::OK, json!({"message": "Hello World!"}))
        );

        let status = app.get(&format!("{prefix}/status")).await;
        assert_eq!(status.status, StatusCode::OK);
        assert_eq!(
            (&status.json["status"], &status.json["agentCount"]),
            (&json!("ok"), &json!(0))
        );
        assert!(is_iso(&status.json["timestamp"]));
    }
    app.start_agent("Eliza").await;
    let status = app.get("/api/runtime/status").await.json;
    assert_eq!(status["agentCount"], json!(1));
    // The api-client's `ServerStatus` beside 1.7.2's keys.
    assert_eq!(
        status["agents"],
        json!({"total": 1, "active": 1, "inactive": 0})
    );
    let memory = &status["memory"];
    assert!(memory["used"].as_u64().unwrap() > 0, "{status}");
    assert!(memory["total"].as_u64().unwrap() >= memory["used"].as_u64().unwrap());
    assert!((0.0..=100.0).contains(&memory["percentage"].as_f64().unwrap()));
    assert!(status["uptime"].as_f64().unwrap() >= 0.0);
    assert_eq!(status["version"], "unknown");
}

#[actix_rt::test]
async fn submitted_logs_are_added_and_counted() {
    let app = TestApp::new().await;
    let body = json!({"logs": [
        {"level": "warn", "message": "disk almost full", "source": "ui"},
        {"level": "nonsense", "message": "no level"},
    ]});
    let reply = app.post("/api/server/logs", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["received"], json!(2));
    let messages: Vec<&str> = reply.json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["msg"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"[client:ui] disk almost full"),
        "{messages:?}"
    );
    assert!(messages.contains(&"[client] no level"), "{messages:?}");
    let warned = app.get("/api/server/logs?level=warn").await.json;
    assert_eq!(warned["count"], json!(1), "{warned}");

    // 1.7.2's bodiless POST still lists.
    let listed = app.post("/api/runtime/logs", json!({})).await;
    assert_eq!(listed.json["received"], json!(0));
    let not_json = app
        .call(
            TestRequest::post()
                .uri("/api/server/logs")
                .insert_header(("content-type", "application/json"))
                .set_payload("{oops"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    for body in [json!({"logs": "x"}), json!({"logs": [{"level": "info"}]})] {
        let reply = app.post("/api/server/logs", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.json["error"]["code"], "INVALID_REQUEST", "{body}");
    }
}

#[actix_rt::test]
async fn server_health_is_503_without_agents_and_200_with() {
    let app = TestApp::with_config(HttpConfig {
        app_version: Some("9.9.9".into()),
        ..HttpConfig::default()
    })
    .await;
    for prefix in PREFIXES {
        let down = app.get(&format!("{prefix}/health")).await;
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            down.json["status"],
            json!("OK"),
            "1.7.2 keeps OK on this route"
        );
        assert_eq!(down.json["dependencies"], json!({"agents": "no_agents"}));
        assert_eq!(down.json["version"], json!("9.9.9"));
        assert!(down.json.get("agentCount").is_none());
    }
    app.start_agent("Eliza").await;
    let up = app.get("/api/server/health").await;
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.json["dependencies"], json!({"agents": "healthy"}));
    assert!(is_iso(&up.json["timestamp"]));
    assert!(up.json["uptime"].as_f64().is_some(), "{}", up.json);
}

fn push(app: &TestApp, time: i64, level: u8, msg: &str, agent: Option<&str>) {
    let mut entry = LogEntry::now(level, msg);
    entry.time = time;
    entry.agent_name = agent.map(str::to_owned);
    app.state.logs.push(entry);
}

#[actix_rt::test]
async fn logs_filter_by_level_agent_since_and_limit() {
    let app = TestApp::new().await;
    let now = Utc::now().timestamp_millis();
    push(&app, now - 2 * 3_600_000, 30, "too old", None);
    push(&app, now - 1000, 50, "boom", Some("Eliza"));
    push(&app, now - 900, 30, "hello", Some("Eliza"));
    push(&app, now - 800, 30, "other", Some("Bob"));

    let all = app.get("/api/server/logs").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        all.json["count"],
        json!(3),
        "the default window is one hour: {:?}",
        all.json
    );
    assert_eq!(all.json["total"], json!(4));
    assert_eq!(
        (
            &all.json["requestedLevel"],
            &all.json["agentName"],
            &all.json["agentId"]
        ),
        (&json!("all"), &json!("all"), &json!("all"))
    );
    assert_eq!(all.json["levels"], json!(LEVELS));
    let first = &all.json["logs"][0];
    assert_eq!(
        (&first["time"], &first["level"], &first["msg"]),
        (&json!(now - 1000), &json!(50), &json!("boom"))
    );
    assert_eq!(first["agentName"], json!("Eliza"));

    let errors = app.get("/api/server/logs?level=error").await;
    assert_eq!(
        (&errors.json["count"], &errors.json["requestedLevel"]),
        (&json!(1), &json!("error"))
    );
    let eliza_info = app
        .get("/api/runtime/logs?level=info&agentName=Eliza")
        .await;
    assert_eq!(eliza_info.json["logs"].as_array().map(Vec::len), Some(1));
    assert_eq!(eliza_info.json["logs"][0]["msg"], json!("hello"));
    let newest = app.get("/api/server/logs?limit=1").await;
    assert_eq!(newest.json["logs"][0]["msg"], json!("other"));
    let everything = app
        .get(&format!("/api/server/logs?since={}", now - 3 * 3_600_000))
        .await;
    assert_eq!(everything.json["count"], json!(4));
    let by_id = app.get("/api/server/logs?agentId=nobody").await;
    assert_eq!(
        (&by_id.json["count"], &by_id.json["agentId"]),
        (&json!(0), &json!("nobody"))
    );

    let posted = app
        .post("/api/server/logs?level=warn", json!({"level": "error"}))
        .await;
    assert_eq!(posted.status, StatusCode::OK);
    assert_eq!(
        (&posted.json["requestedLevel"], &posted.json["count"]),
        (&json!("warn"), &json!(0)),
        "POST ignores its body"
    );
}

#[actix_rt::test]
async fn bad_log_queries_are_400() {
    let app = TestApp::new().await;
    let cases = [
        (
            "level=loud",
            "Invalid \"level\": expected all, fatal, error, warn, info, log, progress, success, debug, trace",
        ),
        (
            "limit=ten",
            "Invalid \"limit\": expected a positive integer, got \"ten\"",
        ),
        (
            "limit=-5",
            "Invalid \"limit\": expected a positive integer, got \"-5\"",
        ),
        (
            "since=yesterday",
            "Invalid \"since\": expected epoch milliseconds or an ISO date, got \"yesterday\"",
        ),
    ];
    for (query, message) in cases {
        for reply in [
            app.get(&format!("/api/server/logs?{query}")).await,
            app.post(&format!("/api/runtime/logs?{query}"), json!({}))
                .await,
        ] {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(
                reply.json,
                json!({"success": false, "error": {"code": "INVALID_QUERY", "message": message}})
            );
        }
    }
}

#[actix_rt::test]
async fn delete_logs_clears_the_buffer() {
    let app = TestApp::new().await;
    push(&app, Utc::now().timestamp_millis(), 30, "x", None);
    push(&app, Utc::now().timestamp_millis(), 30, "y", None);
    // `cleared` (for the api-client's `clearLogs`) counts what went.
    for (prefix, cleared) in PREFIXES.into_iter().zip([2, 0]) {
        let reply = app.delete(&format!("{prefix}/logs")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.json,
            json!({"status": "success", "message": "Logs cleared successfully", "cleared": cleared})
        );
    }
    assert!(app.state.logs.is_empty());
    assert_eq!(app.get("/api/server/logs").await.json["total"], json!(0));
}

#[actix_rt::test]
async fn debug_servers_lists_message_servers_in_1_7_2_shape() {
    let app = TestApp::new().await;
    let created = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
    let plain = MessageServer {
        id: MessageServerId::from(uuid::Uuid::nil()),
        name: "Default Server".into(),
        source_type: "eliza_default".into(),
        source_id: None,
        metadata: None,
        created_at: created,
        updated_at: created,
    };
    let tagged = MessageServer {
        id: MessageServerId::from(uuid::Uuid::from_u128(7)),
        name: "Discord".into(),
        source_type: "discord".into(),
        source_id: Some("guild-1".into()),
        metadata: Some(json!({"k": "v"})),
        ..plain.clone()
    };
    app.state.store.create_message_server(&plain).await.unwrap();
    app.state
        .store
        .create_message_server(&tagged)
        .await
        .unwrap();

    for prefix in PREFIXES {
        let reply = app.get(&format!("{prefix}/debug/servers")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            (&reply.json["success"], &reply.json["count"]),
            (&json!(true), &json!(2))
        );
        // 1.7.2 sends no `data`, so the api-client's `getDebugInfo` got `undefined`.
        let runtime = &reply.json["data"]["runtime"];
        assert!(runtime["agents"].is_array(), "{}", reply.json);
        assert!(runtime["connections"].is_u64(), "{}", reply.json);
        assert!(runtime["memory"]["rss"].is_u64(), "{}", reply.json);
        let environment = reply.json["data"]["environment"].as_object().unwrap();
        assert!(
            environment.values().all(Value::is_string),
            "{environment:?}"
        );
        assert!(
            !environment.keys().any(|key| key.contains("KEY")),
            "no secrets: {environment:?}"
        );
        let servers = reply.json["servers"].as_array().unwrap();
        let find = |name: &str| {
            servers
                .iter()
                .find(|s| s["name"] == json!(name))
                .unwrap()
                .clone()
        };
        assert_eq!(
            find("Default Server"),
            json!({"id": "00000000-0000-0000-0000-000000000000", "name": "Default Server", "sourceType": "eliza_default",
                   "createdAt": "2026-01-02T03:04:05.000Z", "updatedAt": "2026-01-02T03:04:05.000Z"})
        );
        let discord = find("Discord");
        assert_eq!(
            (&discord["sourceId"], &discord["metadata"]),
            (&json!("guild-1"), &json!({"k": "v"}))
        );
    }
}

#[actix_rt::test]
async fn stop_from_loopback_answers_then_requests_shutdown() {
    let app = TestApp::new().await;
    let reply = app.post("/api/server/stop", json!({})).await;
    assert_eq!(
        (reply.status, reply.json),
        (StatusCode::OK, json!({"message": "Server stopping..."}))
    );
    assert!(shutdown_requested(&app.state.shutdown).await);
}

#[actix_rt::test]
async fn stop_from_a_remote_peer_needs_the_api_key() {
    let open = TestApp::new().await;
    let remote = || {
        TestRequest::post()
            .uri("/api/runtime/stop")
            .peer_addr(REMOTE_PEER.parse().unwrap())
    };
    let denied = open.call(remote()).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.json,
        json!({"success": false, "error": {"code": "FORBIDDEN",
               "message": "Stopping the server requires a local connection or the API key"}})
    );
    let proxied = open
        .call(
            TestRequest::post()
                .uri("/api/server/stop")
                .insert_header(("x-forwarded-for", "198.51.100.7")),
        )
        .await;
    assert_eq!(
        proxied.status,
        StatusCode::FORBIDDEN,
        "a local proxy relaying a remote client"
    );
    assert!(!shutdown_requested(&open.state.shutdown).await);

    let keyed = TestApp::with_token().await;
    assert_eq!(keyed.call(remote()).await.status, StatusCode::UNAUTHORIZED);
    assert!(!shutdown_requested(&keyed.state.shutdown).await);
    let with_key = keyed
        .call(remote().insert_header(("x-api-key", "s3cret")))
        .await;
    assert_eq!(
        (with_key.status, with_key.json),
        (StatusCode::OK, json!({"message": "Server stopping..."}))
    );
    assert!(shutdown_requested(&keyed.state.shutdown).await);
    let bearer = keyed
        .call(remote().insert_header(("authorization", "Bearer s3cret")))
        .await;
    assert_eq!(bearer.status, StatusCode::OK);
}

#[actix_rt::test]
async fn server_routes_need_the_key_when_a_token_is_set() {
    let app = TestApp::with_token().await;
    app.get("/api/server/ping").await.assert_unauthorized();
    for header in KEY_HEADERS {
        let reply = app.get_with("/api/runtime/hello", header).await;
        assert_eq!(reply.status, StatusCode::OK, "{header:?}");
    }
}

#[actix_rt::test]
async fn healthz_and_health_are_public() {
    let app = TestApp::with_token().await;
    let healthz = app.get("/healthz").await;
    assert_eq!(healthz.status, StatusCode::OK);
    assert_eq!(healthz.json["status"], json!("ok"));
    assert!(is_iso(&healthz.json["timestamp"]));
    assert_eq!(healthz.json.as_object().map(|o| o.len()), Some(2));

    let degraded = app.get("/health").await;
    assert_eq!(degraded.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        (
            &degraded.json["status"],
            &degraded.json["dependencies"],
            &degraded.json["agentCount"],
            &degraded.json["version"]
        ),
        (
            &json!("DEGRADED"),
            &json!({"agents": "no_agents"}),
            &json!(0),
            &json!("unknown")
        )
    );
    app.start_agent("Eliza").await;
    let ok = app.get("/health").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        (&ok.json["status"], &ok.json["agentCount"]),
        (&json!("OK"), &json!(1))
    );
    assert_eq!(ok.json["dependencies"], json!({"agents": "healthy"}));
}

#[actix_rt::test]
async fn metrics_count_requests_by_route_pattern() {
    let app = TestApp::new().await;
    app.get("/api/server/hello").await;
    app.get("/api/no-such-route-7f3a").await;
    let reply = app.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("text/plain"))
    );
    let text = reply.json.as_str().unwrap();
    let has = |needles: &[&str]| {
        text.lines()
            .any(|line| needles.iter().all(|n| line.contains(n)))
    };
    assert!(
        has(&[
            "http_requests_total{",
            "method=\"GET\"",
            "route=\"/api/server/hello\"",
            "status=\"2xx\""
        ]),
        "{text}"
    );
    assert!(
        has(&[
            "http_requests_total{",
            "route=\"unmatched\"",
            "status=\"4xx\""
        ]),
        "{text}"
    );
    assert!(
        has(&[
            "http_request_duration_seconds_bucket{",
            "route=\"/api/server/hello\""
        ]),
        "{text}"
    );
    assert!(
        !text.contains("no-such-route-7f3a"),
        "raw paths never become labels"
    );
    assert!(text.contains("db_pool_max_connections"), "{text}");
    assert!(text.contains("agents_running"), "{text}");
    assert!(text.contains("process_uptime_seconds"), "{text}");
}

#[actix_rt::test]
async fn metrics_need_the_key_when_a_token_is_set() {
    let app = TestApp::with_token().await;
    app.get("/metrics").await.assert_unauthorized();
    for header in KEY_HEADERS {
        let reply = app.get_with("/metrics", header).await;
        assert_eq!(reply.status, StatusCode::OK, "{header:?}");
        assert!(
            reply
                .json
                .as_str()
                .is_some_and(|t| t.contains("http_requests_total"))
        );
    }
}

/// A cluster node says which node answered and whether its link to the other nodes is up; a
/// node cut off from the backplane is `DEGRADED` on `/health` but keeps serving.
#[actix_rt::test]
async fn a_cluster_node_reports_its_id_and_backplane_link() {
    let hub = MemoryHub::default();
    let node = NodeId::new_random();
    let app = TestApp::clustered(&hub, node).await;
    for path in ["/health", "/api/server/health"] {
        let reply = app.get(path).await;
        assert_eq!(reply.json["node"], json!(node.to_string()), "{path}");
        assert_eq!(
            reply.json["dependencies"],
            json!({"agents": "no_agents", "backplane": "healthy"}),
            "{path}"
        );
    }
    hub.leave(node);
    let cut_off = app.get("/health").await;
    assert_eq!(
        cut_off.json["dependencies"]["backplane"],
        json!("disconnected")
    );
    assert_eq!(cut_off.json["status"], json!("DEGRADED"));
    let server = app.get("/api/server/health").await;
    assert_eq!(
        server.json["dependencies"]["backplane"],
        json!("disconnected")
    );
    assert_eq!(
        server.json["status"],
        json!("OK"),
        "this route keeps OK, as in 1.7.2"
    );
    // A single node says neither.
    let single = TestApp::new().await.get("/health").await;
    assert!(single.json.get("node").is_none(), "{}", single.json);
    assert_eq!(single.json["dependencies"], json!({"agents": "no_agents"}));
}
