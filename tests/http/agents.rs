//! `/api/agents`: every route's success shape and error paths.

use crate::support::TestApp;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use eliza_domain::secrets::looks_encrypted;
use serde_json::{Value, json};

const ELIZA_ID: &str = "b850bc30-45f8-0041-a00a-83df46d8555d";
const UNKNOWN_ID: &str = "11111111-2222-3333-4444-555555555555";

fn character(name: &str) -> Value {
    json!({"name": name, "bio": [format!("{name} bio"), "second"], "topics": ["rust"]})
}

async fn create(app: &TestApp, name: &str) -> String {
    let reply = app
        .post("/api/agents", json!({"agent": character(name)}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.json);
    reply.json["data"]["id"].as_str().unwrap().to_owned()
}

fn assert_coded(reply: &crate::support::Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json);
    assert_eq!(reply.json["success"], json!(false));
    assert_eq!(reply.json["error"]["code"], json!(code), "{:?}", reply.json);
}

#[actix_rt::test]
async fn create_returns_201_with_id_and_validated_character() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/api/agents",
            json!({"characterJson": {"name": "Eliza", "bio": "b", "lore": ["l"], "modelProvider": "openai",
                   "templates": {"replyTemplate": "t"}, "secrets": {"TOP": "x"}, "settings": {"secrets": {"KEY": "plain"}}}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let data = &reply.json["data"];
    assert_eq!(data["id"], json!(ELIZA_ID));
    assert_eq!(data["character"]["name"], json!("Eliza"));
    // The api-client's `Agent` fields beside 1.7.2's `{id, character}`.
    assert_eq!(
        (&data["name"], &data["bio"], &data["status"]),
        (&json!("Eliza"), &json!("b"), &json!("inactive"))
    );
    assert!(data["createdAt"].as_i64().is_some_and(|ms| ms > 0));
    assert_eq!(data["updatedAt"], data["createdAt"]);
    let listed = app.get("/api/agents").await;
    let summary = &listed.json["data"]["agents"][0];
    assert_eq!(summary["createdAt"], data["createdAt"], "{}", listed.json);
    assert!(summary["updatedAt"].as_i64().is_some());
    assert!(looks_encrypted(
        data["character"]["settings"]["secrets"]["KEY"]
            .as_str()
            .unwrap()
    ));
    assert!(looks_encrypted(
        data["character"]["secrets"]["TOP"].as_str().unwrap()
    ));

    let stored = app.get(&format!("/api/agents/{ELIZA_ID}")).await.json["data"].clone();
    assert_eq!(
        stored["templates"],
        json!({"replyTemplate": "t"}),
        "templates persist (1.7.2 drops them)"
    );
    assert!(
        looks_encrypted(stored["secrets"]["TOP"].as_str().unwrap()),
        "top-level secrets persist"
    );
    assert_eq!(stored["lore"], json!(["l"]));
    assert_eq!(stored["modelProvider"], json!("openai"));
}

#[actix_rt::test]
async fn create_accepts_a_character_file_path() {
    let app = TestApp::new().await;
    let path = app.dir.path().join("c.json");
    std::fs::write(&path, character("FromFile").to_string()).unwrap();
    let reply = app
        .post(
            "/api/agents",
            json!({"characterPath": path.to_str().unwrap()}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["data"]["character"]["name"], json!("FromFile"));
}

#[actix_rt::test]
async fn create_errors_use_create_error() {
    let app = TestApp::new().await;
    let missing = app.post("/api/agents", json!({})).await;
    assert_coded(&missing, StatusCode::BAD_REQUEST, "CREATE_ERROR");
    assert_eq!(
        missing.json["error"]["message"],
        json!("No character configuration provided")
    );
    assert_eq!(
        missing.json["error"]["details"],
        json!("No character configuration provided")
    );

    let no_body = app.call(TestRequest::post().uri("/api/agents")).await;
    assert_coded(&no_body, StatusCode::BAD_REQUEST, "CREATE_ERROR");

    let invalid = app
        .post(
            "/api/agents",
            json!({"agent": {"name": "x", "bio": "b", "foo": 1}}),
        )
        .await;
    assert_coded(&invalid, StatusCode::BAD_REQUEST, "CREATE_ERROR");
    assert_eq!(
        invalid.json["error"]["message"],
        json!("Character validation failed: : Unrecognized key: \"foo\"")
    );

    let bad_path = app
        .post(
            "/api/agents",
            json!({"characterPath": "/does/not/exist.json"}),
        )
        .await;
    assert_coded(&bad_path, StatusCode::BAD_REQUEST, "CREATE_ERROR");
}

#[actix_rt::test]
async fn malformed_json_is_400_not_500() {
    let app = TestApp::new().await;
    let reply = app
        .call(
            TestRequest::post()
                .uri("/api/agents")
                .insert_header(("content-type", "application/json"))
                .set_payload("{nope"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.json["success"], json!(false));
    assert_eq!(reply.json["error"]["code"], json!(400));
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid JSON")
    );
}

#[actix_rt::test]
async fn get_returns_the_row_with_status() {
    let app = TestApp::new().await;
    let id = create(&app, "Ada").await;
    let reply = app.get(&format!("/api/agents/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK);
    let data = &reply.json["data"];
    assert_eq!(data["id"], json!(id));
    assert_eq!(data["status"], json!("inactive"));
    assert_eq!(data["enabled"], json!(true));
    assert_eq!(data["server_id"], Value::Null);
    assert_eq!(data["username"], json!(""));
    assert!(data.get("system").is_none(), "empty system is omitted");
    assert!(data["createdAt"].is_i64() && data["updatedAt"].is_i64());
    assert_eq!(data["bio"], json!(["Ada bio", "second"]));

    assert_coded(
        &app.get("/api/agents/not-a-uuid").await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
    );
    let unknown = app.get(&format!("/api/agents/{UNKNOWN_ID}")).await;
    assert_coded(&unknown, StatusCode::NOT_FOUND, "NOT_FOUND");
    assert_eq!(unknown.json["error"]["message"], json!("Agent not found"));
}

#[actix_rt::test]
async fn list_sorts_active_first_then_by_name_and_pages() {
    let app = TestApp::new().await;
    for name in ["charlie", "Bravo", "alpha"] {
        create(&app, name).await;
    }
    let charlie = app.get("/api/agents").await.json["data"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == json!("charlie"))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post(&format!("/api/agents/{charlie}/start"), json!({}))
            .await
            .status,
        StatusCode::OK
    );

    let reply = app.get("/api/agents").await;
    let agents = reply.json["data"]["agents"].as_array().unwrap();
    let names: Vec<_> = agents.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["charlie", "alpha", "Bravo"]);
    assert_eq!(agents[0]["status"], json!("active"));
    assert_eq!(agents[1]["characterName"], json!("alpha"));
    assert_eq!(agents[1]["bio"], json!("alpha bio"));

    let inactive = app
        .get("/api/agents?status=inactive&offset=1&limit=1")
        .await;
    let names: Vec<_> = inactive.json["data"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].clone())
        .collect();
    assert_eq!(names, [json!("Bravo")]);
    assert_eq!(inactive.json["data"]["total"], json!(2));

    assert_coded(
        &app.get("/api/agents?limit=-1").await,
        StatusCode::BAD_REQUEST,
        "INVALID_QUERY",
    );
    assert_coded(
        &app.get("/api/agents?status=sleeping").await,
        StatusCode::BAD_REQUEST,
        "INVALID_QUERY",
    );
}

#[actix_rt::test]
async fn seed_list_is_an_array_outside_api() {
    let app = TestApp::new().await;
    create(&app, "Seed").await;
    let reply = app.get("/agents?limit=10").await;
    assert_eq!(reply.status, StatusCode::OK);
    let item = &reply.json["data"][0];
    assert_eq!(item["name"], json!("Seed"));
    assert_eq!(item["status"], json!("inactive"));
    assert!(item["agentId"].is_string() && item["createdAt"].is_i64());
    let bad = app.get("/agents?offset=x").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json["error"].is_string(), "seed errors are strings");
}

#[actix_rt::test]
async fn patch_merges_settings_and_replaces_other_fields() {
    let app = TestApp::new().await;
    let created = app
        .post("/api/agents", json!({"agent": {"name": "P", "bio": "b", "settings": {"keep": 1, "drop": 2, "secrets": {"A": "a"}}}}))
        .await;
    let id = created.json["data"]["id"].as_str().unwrap().to_owned();
    let reply = app
        .patch(&format!("/api/agents/{id}"), json!({"system": "new system", "settings": {"drop": null, "secrets": {"B": "b"}}, "topics": ["x"]}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    let data = &reply.json["data"];
    assert_eq!(data["system"], json!("new system"));
    assert_eq!(data["topics"], json!(["x"]));
    assert_eq!(data["settings"]["keep"], json!(1));
    assert!(data["settings"].get("drop").is_none());
    assert!(looks_encrypted(
        data["settings"]["secrets"]["A"].as_str().unwrap()
    ));
    assert!(looks_encrypted(
        data["settings"]["secrets"]["B"].as_str().unwrap()
    ));
    assert_eq!(data["status"], json!("inactive"));

    assert_coded(
        &app.patch("/api/agents/bad", json!({})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
    );
    assert_coded(
        &app.patch(&format!("/api/agents/{UNKNOWN_ID}"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    let invalid = app
        .patch(
            &format!("/api/agents/{id}"),
            json!({"topics": "not a list"}),
        )
        .await;
    assert_coded(&invalid, StatusCode::BAD_REQUEST, "UPDATE_ERROR");
    assert!(
        invalid.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("topics: Invalid input")
    );
    let not_object = app.patch(&format!("/api/agents/{id}"), json!([1])).await;
    assert_eq!(not_object.status, StatusCode::BAD_REQUEST);
}

#[actix_rt::test]
async fn delete_is_204_then_404() {
    let app = TestApp::new().await;
    let id = create(&app, "Gone").await;
    app.post(&format!("/api/agents/{id}/start"), json!({}))
        .await;
    let reply = app.delete(&format!("/api/agents/{id}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_coded(
        &app.get(&format!("/api/agents/{id}")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_coded(
        &app.delete(&format!("/api/agents/{id}")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_coded(
        &app.delete("/api/agents/xyz").await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
    );
    assert!(
        app.state.agents.running().is_empty(),
        "a deleted agent is stopped"
    );
}

#[actix_rt::test]
async fn start_stop_restart_lifecycle() {
    let app = TestApp::new().await;
    let id = create(&app, "Life").await;
    let started = app
        .post(&format!("/api/agents/{id}/start"), json!({}))
        .await;
    assert_eq!(started.status, StatusCode::OK);
    assert_eq!(
        started.json["data"],
        json!({"id": id, "name": "Life", "status": "active"})
    );
    let again = app
        .call(TestRequest::post().uri(&format!("/api/agents/{id}/start")))
        .await;
    assert_eq!(
        again.json["data"]["status"],
        json!("active"),
        "starting twice answers the same"
    );
    assert_eq!(
        app.get(&format!("/api/agents/{id}")).await.json["data"]["status"],
        json!("active")
    );

    let stopped = app.post(&format!("/api/agents/{id}/stop"), json!({})).await;
    assert_eq!(
        stopped.json["data"],
        json!({"message": "Agent stopped", "status": "inactive"})
    );
    assert_coded(
        &app.post(&format!("/api/agents/{id}/stop"), json!({})).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );

    let restarted = app
        .post(&format!("/api/agents/{id}/restart"), json!({}))
        .await;
    assert_eq!(restarted.json["data"]["status"], json!("active"));

    assert_coded(
        &app.post(&format!("/api/agents/{UNKNOWN_ID}/start"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_coded(
        &app.post(&format!("/api/agents/{UNKNOWN_ID}/restart"), json!({}))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
    );
    assert_coded(
        &app.post("/api/agents/nope/start", json!({})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
    );
    assert_coded(
        &app.post("/api/agents/nope/stop", json!({})).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
    );
}

#[actix_rt::test]
async fn starting_joins_the_default_server() {
    let app = TestApp::new().await;
    let id = create(&app, "Member").await;
    app.post(&format!("/api/agents/{id}/start"), json!({}))
        .await;
    let servers = app
        .state
        .store
        .list_agent_servers(id.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        servers.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ["00000000-0000-0000-0000-000000000000"]
    );
}

#[actix_rt::test]
async fn seed_agent_start_creates_updates_and_starts() {
    let app = TestApp::new().await;
    let reply = app
        .post(
            "/api/agent/start",
            json!({"characterJson": {"name": "Seedy", "bio": "one"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    let id = reply.json["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/api/agents/{id}")).await.json["data"]["status"],
        json!("active")
    );
    let updated = app
        .post(
            "/api/agent/start",
            json!({"characterJson": {"name": "Seedy", "bio": "two"}}),
        )
        .await;
    assert_eq!(updated.json["data"]["id"], json!(id));
    assert_eq!(
        app.get(&format!("/api/agents/{id}")).await.json["data"]["bio"],
        json!("two")
    );
    assert_coded(
        &app.post("/api/agent/start", json!({})).await,
        StatusCode::BAD_REQUEST,
        "CREATE_ERROR",
    );
}
