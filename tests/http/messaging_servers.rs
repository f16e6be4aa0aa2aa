//! Message servers (API spec §2.3.2): current, list, create, one server's GET/PATCH/DELETE, its
//! channels, `sync-channels`, the agents of a server and the servers of an agent, the seed-001
//! association paths and the deprecated `servers`/`central-servers` aliases.

use crate::messaging_fixture::{
    DEFAULT_SERVER, MessagingApp, UNKNOWN, assert_error, assert_iso, assert_no_server_error,
    assert_success, data, keys, next_event, raw, user_id,
};
use actix_web::test::TestRequest;
use eliza_bus::{Bus, BusEvent, ServerAgentChange, Topic};
use eliza_domain::{AgentId, ChannelId, MessageServerId};
use serde_json::{Value, json};

const SERVER_KEYS: [&str; 5] = ["createdAt", "id", "name", "sourceType", "updatedAt"];

/// What the binary does at start-up: the default server exists.
async fn booted() -> MessagingApp {
    let app = MessagingApp::new().await;
    eliza_http::agent_ops::ensure_default_server(app.state.store.as_ref())
        .await
        .unwrap();
    app
}

async fn create_server(app: &MessagingApp, body: Value) -> Value {
    let reply = app.post("/api/messaging/message-servers", body).await;
    assert_success(&reply, 201);
    let server = data(&reply)["server"].clone();
    // The server's fields also sit beside `server` (the api-client's `MessageServer` type).
    for key in ["id", "name", "sourceType", "createdAt"] {
        assert_eq!(data(&reply)[key], server[key], "{key}");
    }
    server
}

async fn create_channel(app: &MessagingApp, server: &str, name: &str) -> Value {
    let reply = app
        .post(
            "/api/messaging/channels",
            json!({"name": name, "message_server_id": server, "participantCentralUserIds": []}),
        )
        .await;
    assert_success(&reply, 201);
    data(&reply).clone()
}

#[actix_web::test]
async fn current_server_is_the_nil_uuid() {
    let app = MessagingApp::new().await;
    let reply = app.get("/api/messaging/message-server/current").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"messageServerId": DEFAULT_SERVER}})
    );
}

#[actix_web::test]
async fn list_shows_the_default_server_and_the_alias_uses_the_servers_key() {
    let app = booted().await;
    let reply = app.get("/api/messaging/message-servers").await;
    assert_success(&reply, 200);
    assert_eq!(keys(data(&reply)), ["messageServers"]);
    let servers = data(&reply)["messageServers"].as_array().unwrap();
    assert_eq!(servers.len(), 1);
    let default = &servers[0];
    assert_eq!(keys(default), SERVER_KEYS);
    assert_eq!(
        (&default["id"], &default["name"], &default["sourceType"]),
        (
            &json!(DEFAULT_SERVER),
            &json!("Default Server"),
            &json!("eliza_default")
        )
    );
    assert_iso(&default["createdAt"]);
    assert_iso(&default["updatedAt"]);

    let alias = app.get("/api/messaging/central-servers").await;
    assert_success(&alias, 200);
    assert_eq!(data(&alias), &json!({"servers": servers}));
}

#[actix_web::test]
async fn create_answers_201_with_the_server_on_every_path() {
    let app = booted().await;
    let full = create_server(
        &app,
        json!({"name": "Discord", "sourceType": "discord", "sourceId": "guild-1", "metadata": {"k": "v"}}),
    )
    .await;
    assert_eq!(
        keys(&full),
        [
            "createdAt",
            "id",
            "metadata",
            "name",
            "sourceId",
            "sourceType",
            "updatedAt"
        ]
    );
    assert_eq!(
        (
            &full["name"],
            &full["sourceType"],
            &full["sourceId"],
            &full["metadata"]
        ),
        (
            &json!("Discord"),
            &json!("discord"),
            &json!("guild-1"),
            &json!({"k": "v"})
        )
    );
    assert_iso(&full["createdAt"]);
    assert_eq!(full["createdAt"], full["updatedAt"]);
    MessageServerId::parse(full["id"].as_str().unwrap()).unwrap();

    // The seed's body on the deprecated paths; `metadata: null` and snake_case are accepted too.
    let seed =
        json!({"name": "My Server", "sourceType": "custom", "metadata": {"description": "d"}});
    for path in ["/api/messaging/central-servers", "/api/messaging/servers"] {
        let reply = app.post(path, seed.clone()).await;
        assert_success(&reply, 201);
        let server = &data(&reply)["server"];
        assert_eq!(
            keys(server),
            [
                "createdAt",
                "id",
                "metadata",
                "name",
                "sourceType",
                "updatedAt"
            ]
        );
        assert_eq!(server["metadata"], json!({"description": "d"}));
    }
    let snake = create_server(
        &app,
        json!({"name": "Snake", "source_type": "slack", "source_id": "T1", "metadata": null}),
    )
    .await;
    assert_eq!(
        keys(&snake),
        [
            "createdAt",
            "id",
            "name",
            "sourceId",
            "sourceType",
            "updatedAt"
        ]
    );
    assert_eq!(
        (&snake["sourceType"], &snake["sourceId"]),
        (&json!("slack"), &json!("T1"))
    );

    let listed = app.get("/api/messaging/message-servers").await;
    let servers = data(&listed)["messageServers"].as_array().unwrap();
    assert_eq!(servers.len(), 5);
    assert!(servers.contains(&full));
}

#[actix_web::test]
async fn create_rejects_missing_and_mistyped_fields() {
    let app = booted().await;
    let missing = "Missing required fields: name, sourceType";
    let cases = [
        (json!({}), missing),
        (json!({"name": "x"}), missing),
        (json!({"sourceType": "x"}), missing),
        (json!({"name": "", "sourceType": "x"}), missing),
        (json!({"name": "x", "sourceType": ""}), missing),
        (json!({"name": 5, "sourceType": "x"}), missing),
        (json!({"name": "x", "sourceType": ["x"]}), missing),
        (json!({"name": null, "sourceType": "x"}), missing),
        (
            json!({"name": "x", "sourceType": "x", "sourceId": 5}),
            "sourceId must be a string",
        ),
        (
            json!({"name": "x", "sourceType": "x", "metadata": "m"}),
            "metadata must be an object",
        ),
        (
            json!({"name": "x", "sourceType": "x", "metadata": [1]}),
            "metadata must be an object",
        ),
    ];
    for path in [
        "/api/messaging/message-servers",
        "/api/messaging/central-servers",
        "/api/messaging/servers",
    ] {
        for (body, error) in &cases {
            let reply = app.post(path, body.clone()).await;
            assert_error(&reply, 400, error);
        }
    }
    let listed = app.get("/api/messaging/message-servers").await;
    assert_eq!(data(&listed)["messageServers"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn one_server_can_be_read_updated_and_deleted_on_both_prefixes() {
    let app = booted().await;
    let server = create_server(
        &app,
        json!({"name": "Mine", "sourceType": "custom", "metadata": {"description": "old"}}),
    )
    .await;
    let id = server["id"].as_str().unwrap();
    for prefix in ["message-servers", "central-servers"] {
        let reply = app.get(&format!("/api/messaging/{prefix}/{id}")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json, json!({"success": true, "data": server}));
    }

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let patched = app
        .patch(
            &format!("/api/messaging/central-servers/{id}"),
            json!({"name": "Updated Server Name", "metadata": {"description": "new"}}),
        )
        .await;
    assert_success(&patched, 200);
    let updated = data(&patched).clone();
    assert_eq!(keys(&updated), keys(&server));
    assert_eq!(
        (
            &updated["id"],
            &updated["name"],
            &updated["sourceType"],
            &updated["metadata"]
        ),
        (
            &json!(id),
            &json!("Updated Server Name"),
            &json!("custom"),
            &json!({"description": "new"})
        )
    );
    assert_eq!(updated["createdAt"], server["createdAt"]);
    assert_iso(&updated["updatedAt"]);
    assert!(updated["updatedAt"].as_str() > server["updatedAt"].as_str());
    let read = app
        .get(&format!("/api/messaging/message-servers/{id}"))
        .await;
    assert_eq!(data(&read), &updated);

    let patched = app
        .patch(
            &format!("/api/messaging/message-servers/{id}"),
            json!({"sourceType": "discord", "sourceId": "guild"}),
        )
        .await;
    assert_success(&patched, 200);
    assert_eq!(
        (
            &data(&patched)["name"],
            &data(&patched)["sourceType"],
            &data(&patched)["sourceId"]
        ),
        (
            &json!("Updated Server Name"),
            &json!("discord"),
            &json!("guild")
        )
    );
    let unchanged = app
        .patch(&format!("/api/messaging/message-servers/{id}"), json!({}))
        .await;
    assert_success(&unchanged, 200);
    assert_eq!(data(&unchanged)["name"], json!("Updated Server Name"));

    let deleted = app
        .delete(&format!("/api/messaging/central-servers/{id}"))
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.json, Value::Null);
    for prefix in ["message-servers", "central-servers"] {
        let path = format!("/api/messaging/{prefix}/{id}");
        assert_error(&app.get(&path).await, 404, "Message server not found");
        assert_error(&app.delete(&path).await, 404, "Message server not found");
        assert_error(
            &app.patch(&path, json!({"name": "x"})).await,
            404,
            "Message server not found",
        );
    }
}

#[actix_web::test]
async fn one_server_errors_are_family_b() {
    let app = booted().await;
    let server = create_server(&app, json!({"name": "Mine", "sourceType": "custom"})).await;
    let id = server["id"].as_str().unwrap();
    for prefix in ["message-servers", "central-servers"] {
        let bad = format!("/api/messaging/{prefix}/not-a-uuid");
        let invalid = "Invalid messageServerId format";
        assert_error(&app.get(&bad).await, 400, invalid);
        assert_error(&app.patch(&bad, json!({"name": "x"})).await, 400, invalid);
        assert_error(&app.delete(&bad).await, 400, invalid);
        assert_error(
            &app.post(&format!("{bad}/sync-channels"), json!({"channels": []}))
                .await,
            400,
            invalid,
        );

        let one = format!("/api/messaging/{prefix}/{id}");
        let cases = [
            (json!({"name": ""}), "name cannot be empty"),
            (json!({"name": 5}), "name must be a string"),
            (json!({"sourceType": ""}), "sourceType cannot be empty"),
            (json!({"sourceType": 5}), "sourceType must be a string"),
            (json!({"sourceId": {}}), "sourceId must be a string"),
            (json!({"metadata": "m"}), "metadata must be an object"),
            (json!({"metadata": [1]}), "metadata must be an object"),
        ];
        for (body, error) in cases {
            assert_error(&app.patch(&one, body).await, 400, error);
        }
        assert_error(
            &app.delete(&format!("/api/messaging/{prefix}/{DEFAULT_SERVER}"))
                .await,
            403,
            "Cannot delete the default message server",
        );
    }
    let read = app
        .get(&format!("/api/messaging/message-servers/{id}"))
        .await;
    assert_eq!(data(&read), &server, "failed updates change nothing");
    let default = app
        .get(&format!("/api/messaging/message-servers/{DEFAULT_SERVER}"))
        .await;
    assert_eq!(data(&default)["name"], json!("Default Server"));
}

#[actix_web::test]
async fn patch_with_null_clears_the_optional_fields() {
    let app = booted().await;
    let server = create_server(
        &app,
        json!({"name": "Mine", "sourceType": "custom", "sourceId": "s", "metadata": {"k": 1}}),
    )
    .await;
    let id = server["id"].as_str().unwrap();
    let patched = app
        .patch(
            &format!("/api/messaging/message-servers/{id}"),
            json!({"sourceId": null, "metadata": null, "name": null, "sourceType": null}),
        )
        .await;
    assert_success(&patched, 200);
    assert_eq!(keys(data(&patched)), SERVER_KEYS);
    assert_eq!(
        (&data(&patched)["name"], &data(&patched)["sourceType"]),
        (&json!("Mine"), &json!("custom"))
    );
}

#[actix_web::test]
async fn deleting_a_server_deletes_its_channels() {
    let app = booted().await;
    let server = create_server(&app, json!({"name": "Gone", "sourceType": "custom"})).await;
    let id = server["id"].as_str().unwrap();
    let channel = create_channel(&app, id, "general").await;
    let channel_id = channel["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/messaging/message-servers/{id}"))
            .await
            .status,
        204
    );
    assert_error(
        &app.get(&format!("/api/messaging/channels/{channel_id}/details"))
            .await,
        404,
        "Channel not found",
    );
    let listed = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    assert_eq!(data(&listed), &json!({"channels": []}));
}

#[actix_web::test]
async fn server_channels_lists_that_servers_channels_on_both_prefixes() {
    let app = booted().await;
    let server = create_server(&app, json!({"name": "S", "sourceType": "custom"})).await;
    let id = server["id"].as_str().unwrap();
    let first = create_channel(&app, id, "first").await;
    let second = create_channel(&app, id, "second").await;
    create_channel(&app, DEFAULT_SERVER, "elsewhere").await;

    let reply = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    assert_success(&reply, 200);
    let channels = data(&reply)["channels"].as_array().unwrap();
    let mut names: Vec<&str> = channels
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"]);
    assert!(channels.contains(&first) && channels.contains(&second));
    for channel in channels {
        assert_eq!(
            keys(channel),
            [
                "createdAt",
                "id",
                "messageServerId",
                "name",
                "type",
                "updatedAt"
            ]
        );
        assert_eq!(
            (&channel["messageServerId"], &channel["type"]),
            (&json!(id), &json!("GROUP"))
        );
        assert_iso(&channel["createdAt"]);
    }
    let alias = app
        .get(&format!("/api/messaging/central-servers/{id}/channels"))
        .await;
    assert_eq!((alias.status, &alias.json), (reply.status, &reply.json));

    let unknown = app
        .get(&format!(
            "/api/messaging/message-servers/{UNKNOWN}/channels"
        ))
        .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        unknown.json,
        json!({"success": true, "data": {"channels": []}})
    );
    for prefix in ["message-servers", "central-servers"] {
        let reply = app
            .get(&format!("/api/messaging/{prefix}/nope/channels"))
            .await;
        assert_error(&reply, 400, "Invalid messageServerId");
    }
}

#[actix_web::test]
async fn sync_channels_creates_and_renames_by_source_id() {
    let app = booted().await;
    let server = create_server(&app, json!({"name": "Discord", "sourceType": "discord"})).await;
    let id = server["id"].as_str().unwrap();
    let url = format!("/api/messaging/message-servers/{id}/sync-channels");
    let reply = app
        .post(
            &url,
            json!({"channels": [
                {"name": "general", "type": "GROUP", "sourceId": "c1"},
                {"name": "voice", "type": "VOICE_GROUP", "sourceId": "c2"},
            ]}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"messageServerId": id, "synced": 2, "created": 2, "updated": 0}})
    );
    let listed = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    let channels = data(&listed)["channels"].as_array().unwrap().clone();
    assert_eq!(channels.len(), 2);
    let general = channels
        .iter()
        .find(|c| c["sourceId"] == json!("c1"))
        .unwrap();
    assert_eq!(
        keys(general),
        [
            "createdAt",
            "id",
            "messageServerId",
            "name",
            "sourceId",
            "sourceType",
            "type",
            "updatedAt"
        ]
    );
    assert_eq!(
        (&general["name"], &general["type"], &general["sourceType"]),
        (&json!("general"), &json!("GROUP"), &json!("discord"))
    );
    let voice = channels
        .iter()
        .find(|c| c["sourceId"] == json!("c2"))
        .unwrap();
    assert_eq!(voice["type"], json!("VOICE_GROUP"));

    // Rename one, keep one, add one (no type: GROUP); the rename is announced on the channel.
    let general_id = ChannelId::parse(general["id"].as_str().unwrap()).unwrap();
    let mut events = app.subscribe(general_id);
    let reply = app
        .post(
            &format!("/api/messaging/central-servers/{id}/sync-channels"),
            json!({"channels": [
                {"name": "lobby", "type": "GROUP", "sourceId": "c1"},
                {"name": "voice", "type": "VOICE_GROUP", "sourceId": "c2"},
                {"name": "news", "sourceId": "c3"},
            ]}),
        )
        .await;
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"messageServerId": id, "synced": 2, "created": 1, "updated": 1}})
    );
    match next_event(&mut events).await {
        BusEvent::ChannelUpdated {
            channel_id,
            channel,
        } => {
            assert_eq!(channel_id, general_id);
            assert_eq!(channel["name"], json!("lobby"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let listed = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    let channels = data(&listed)["channels"].as_array().unwrap();
    assert_eq!(channels.len(), 3);
    let news = channels
        .iter()
        .find(|c| c["sourceId"] == json!("c3"))
        .unwrap();
    assert_eq!(
        (&news["name"], &news["type"]),
        (&json!("news"), &json!("GROUP"))
    );
    // A `sourceId` listed twice names one channel: the second entry renames it.
    let twice = app
        .post(
            &url,
            json!({"channels": [{"name": "a", "sourceId": "c4"}, {"name": "b", "sourceId": "c4"}]}),
        )
        .await;
    assert_eq!(
        data(&twice),
        &json!({"messageServerId": id, "synced": 2, "created": 1, "updated": 1})
    );
    let listed = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    let named: Vec<&Value> = data(&listed)["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["sourceId"] == json!("c4"))
        .map(|c| &c["name"])
        .collect();
    assert_eq!(named, [&json!("b")]);
    let empty = app.post(&url, json!({"channels": []})).await;
    assert_eq!(
        data(&empty),
        &json!({"messageServerId": id, "synced": 0, "created": 0, "updated": 0})
    );
}

#[actix_web::test]
async fn sync_channels_rejects_bad_payloads() {
    let app = booted().await;
    let server = create_server(&app, json!({"name": "Discord", "sourceType": "discord"})).await;
    let id = server["id"].as_str().unwrap();
    let url = format!("/api/messaging/message-servers/{id}/sync-channels");
    let invalid = "Invalid payload. Required: channels (array of {name, type, sourceId})";
    let cases = [
        (json!({}), invalid.to_owned()),
        (json!({"channels": "c"}), invalid.to_owned()),
        (json!({"channels": {"name": "a"}}), invalid.to_owned()),
        (json!({"channels": [1]}), invalid.to_owned()),
        (json!({"channels": [{"name": "a"}]}), invalid.to_owned()),
        (json!({"channels": [{"sourceId": "a"}]}), invalid.to_owned()),
        (
            json!({"channels": [{"name": "", "sourceId": "a"}]}),
            invalid.to_owned(),
        ),
        (
            json!({"channels": [{"name": 5, "sourceId": "a"}]}),
            invalid.to_owned(),
        ),
        (
            json!({"channels": [{"name": "a", "sourceId": 5}]}),
            invalid.to_owned(),
        ),
        (
            json!({"channels": [{"name": "a", "sourceId": "a", "type": "bogus"}]}),
            "Invalid channel type: bogus".to_owned(),
        ),
        (
            json!({"channels": [{"name": "a", "sourceId": "a", "type": 5}]}),
            "Invalid channel type: 5".to_owned(),
        ),
    ];
    for (body, error) in cases {
        assert_error(&app.post(&url, body.clone()).await, 400, &error);
    }
    let listed = app
        .get(&format!("/api/messaging/message-servers/{id}/channels"))
        .await;
    assert_eq!(
        data(&listed),
        &json!({"channels": []}),
        "a rejected sync creates nothing"
    );
    assert_error(
        &app.post(
            &format!("/api/messaging/message-servers/{UNKNOWN}/sync-channels"),
            json!({"channels": []}),
        )
        .await,
        404,
        "Message server not found",
    );
}

#[actix_web::test]
async fn agents_of_the_current_server_can_be_listed_added_and_removed() {
    let app = booted().await;
    let running = app.echo_agent("Runner").await;
    let listed = app
        .get(&format!(
            "/api/messaging/message-servers/{DEFAULT_SERVER}/agents"
        ))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.json,
        json!({"success": true, "data": {"messageServerId": DEFAULT_SERVER, "agents": [running]}}),
        "a started agent is on the default server"
    );

    let quiet = app.stopped_agent("Quiet").await;
    for base in ["message-servers", "servers"] {
        let mut events = app.bus.subscribe(Topic::Server(
            MessageServerId::parse(DEFAULT_SERVER).unwrap(),
        ));
        let added = app
            .post(
                &format!("/api/messaging/{base}/{DEFAULT_SERVER}/agents"),
                json!({"agentId": quiet}),
            )
            .await;
        assert_eq!(added.status, 201);
        assert_eq!(
            added.json,
            json!({"success": true, "data": {"messageServerId": DEFAULT_SERVER, "agentId": quiet,
                   "message": "Agent added to message server successfully"}})
        );
        assert_eq!(
            next_event(&mut events).await,
            BusEvent::ServerAgentUpdate {
                message_server_id: MessageServerId::parse(DEFAULT_SERVER).unwrap(),
                agent_id: quiet,
                change: ServerAgentChange::Added,
            }
        );
        let listed = app
            .get(&format!("/api/messaging/{base}/{DEFAULT_SERVER}/agents"))
            .await;
        let mut expected = vec![running.to_string(), quiet.to_string()];
        expected.sort();
        assert_eq!(data(&listed)["agents"], json!(expected));

        let again = app
            .post(
                &format!("/api/messaging/{base}/{DEFAULT_SERVER}/agents"),
                json!({"agentId": quiet}),
            )
            .await;
        assert_eq!(again.status, 201, "adding twice is harmless");
        next_event(&mut events).await;
        let listed = app
            .get(&format!("/api/messaging/{base}/{DEFAULT_SERVER}/agents"))
            .await;
        assert_eq!(data(&listed)["agents"].as_array().unwrap().len(), 2);

        let removed = app
            .delete(&format!(
                "/api/messaging/{base}/{DEFAULT_SERVER}/agents/{quiet}"
            ))
            .await;
        assert_eq!(removed.status, 200);
        assert_eq!(
            removed.json,
            json!({"success": true, "data": {"messageServerId": DEFAULT_SERVER, "agentId": quiet,
                   "message": "Agent removed from message server successfully"}})
        );
        assert_eq!(
            next_event(&mut events).await,
            BusEvent::ServerAgentUpdate {
                message_server_id: MessageServerId::parse(DEFAULT_SERVER).unwrap(),
                agent_id: quiet,
                change: ServerAgentChange::Removed,
            }
        );
        let listed = app
            .get(&format!("/api/messaging/{base}/{DEFAULT_SERVER}/agents"))
            .await;
        assert_eq!(data(&listed)["agents"], json!([running]));
    }
}

#[actix_web::test]
async fn agents_of_a_server_errors() {
    let app = booted().await;
    let agent = app.stopped_agent("Quiet").await;
    let other = create_server(&app, json!({"name": "Other", "sourceType": "custom"})).await;
    let other = other["id"].as_str().unwrap();
    for base in ["message-servers", "servers"] {
        let root = format!("/api/messaging/{base}");
        assert_error(
            &app.get(&format!("{root}/nope/agents")).await,
            400,
            "Invalid messageServerId format",
        );
        for server in [other, UNKNOWN] {
            assert_error(
                &app.get(&format!("{root}/{server}/agents")).await,
                403,
                "Cannot access agents for a different server",
            );
            assert_error(
                &app.post(
                    &format!("{root}/{server}/agents"),
                    json!({"agentId": agent}),
                )
                .await,
                403,
                "Cannot modify agents for a different server",
            );
            assert_error(
                &app.delete(&format!("{root}/{server}/agents/{agent}")).await,
                403,
                "Cannot modify agents for a different server",
            );
        }
        let invalid = "Invalid messageServerId or agentId format";
        for body in [
            json!({}),
            json!({"agentId": "nope"}),
            json!({"agentId": 5}),
            json!({"agentId": null}),
        ] {
            assert_error(
                &app.post(&format!("{root}/{DEFAULT_SERVER}/agents"), body)
                    .await,
                400,
                invalid,
            );
        }
        assert_error(
            &app.post(&format!("{root}/nope/agents"), json!({"agentId": agent}))
                .await,
            400,
            invalid,
        );
        assert_error(
            &app.delete(&format!("{root}/nope/agents/{agent}")).await,
            400,
            invalid,
        );
        assert_error(
            &app.delete(&format!("{root}/{DEFAULT_SERVER}/agents/nope"))
                .await,
            400,
            invalid,
        );
        assert_error(
            &app.post(
                &format!("{root}/{DEFAULT_SERVER}/agents"),
                json!({"agentId": UNKNOWN}),
            )
            .await,
            404,
            "Agent not found",
        );
    }
    let listed = app
        .get(&format!(
            "/api/messaging/message-servers/{DEFAULT_SERVER}/agents"
        ))
        .await;
    assert_eq!(data(&listed)["agents"], json!([]));
}

#[actix_web::test]
async fn servers_of_an_agent_on_the_canonical_and_seed_paths() {
    let app = booted().await;
    let agent = app.echo_agent("Runner").await;
    let canonical = app
        .get(&format!("/api/messaging/agents/{agent}/message-servers"))
        .await;
    assert_eq!(canonical.status, 200);
    assert_eq!(
        canonical.json,
        json!({"success": true, "data": {"agentId": agent, "messageServers": [DEFAULT_SERVER]}})
    );
    let seed = app
        .get(&format!("/api/messaging/agents/{agent}/servers"))
        .await;
    assert_eq!(
        (seed.status, &seed.json),
        (canonical.status, &canonical.json)
    );

    let unknown = app
        .get(&format!("/api/messaging/agents/{UNKNOWN}/message-servers"))
        .await;
    assert_eq!(
        unknown.json,
        json!({"success": true, "data": {"agentId": UNKNOWN, "messageServers": []}})
    );
    for path in ["message-servers", "servers"] {
        let reply = app.get(&format!("/api/messaging/agents/nope/{path}")).await;
        assert_error(&reply, 400, "Invalid agentId format");
    }
}

#[actix_web::test]
async fn seed_association_paths_join_and_leave_any_server() {
    let app = booted().await;
    let agent = app.stopped_agent("Joiner").await;
    let server = create_server(&app, json!({"name": "Other", "sourceType": "custom"})).await;
    let server_id = MessageServerId::parse(server["id"].as_str().unwrap()).unwrap();
    let mut events = app.bus.subscribe(Topic::Server(server_id));

    let joined = app
        .post(
            &format!("/api/messaging/agents/{agent}/servers/{server_id}"),
            json!({}),
        )
        .await;
    assert_eq!(joined.status, 201);
    assert_eq!(
        joined.json,
        json!({"success": true, "data": {"messageServerId": server_id, "agentId": agent,
               "message": "Agent added to message server successfully"}})
    );
    assert_eq!(
        next_event(&mut events).await,
        BusEvent::ServerAgentUpdate {
            message_server_id: server_id,
            agent_id: agent,
            change: ServerAgentChange::Added
        }
    );
    let listed = app
        .get(&format!("/api/messaging/agents/{agent}/servers"))
        .await;
    assert_eq!(data(&listed)["messageServers"], json!([server_id]));

    // An empty POST (no body, no content type) works as well.
    let empty = app
        .call(TestRequest::post().uri(&format!(
            "/api/messaging/agents/{agent}/servers/{DEFAULT_SERVER}"
        )))
        .await;
    assert_eq!(empty.status, 201, "{}", empty.json);
    let listed = app
        .get(&format!("/api/messaging/agents/{agent}/servers"))
        .await;
    let mut expected = vec![DEFAULT_SERVER.to_owned(), server_id.to_string()];
    expected.sort();
    assert_eq!(data(&listed)["messageServers"], json!(expected));

    let left = app
        .delete(&format!(
            "/api/messaging/agents/{agent}/servers/{server_id}"
        ))
        .await;
    assert_eq!(left.status, 200);
    assert_eq!(
        left.json,
        json!({"success": true, "data": {"messageServerId": server_id, "agentId": agent,
               "message": "Agent removed from message server successfully"}})
    );
    assert_eq!(
        next_event(&mut events).await,
        BusEvent::ServerAgentUpdate {
            message_server_id: server_id,
            agent_id: agent,
            change: ServerAgentChange::Removed
        }
    );
    let listed = app
        .get(&format!("/api/messaging/agents/{agent}/message-servers"))
        .await;
    assert_eq!(data(&listed)["messageServers"], json!([DEFAULT_SERVER]));
    let again = app
        .delete(&format!(
            "/api/messaging/agents/{agent}/servers/{server_id}"
        ))
        .await;
    assert_eq!(again.status, 200, "leaving twice is harmless");

    let invalid = "Invalid messageServerId or agentId format";
    assert_error(
        &app.post(
            &format!("/api/messaging/agents/nope/servers/{server_id}"),
            json!({}),
        )
        .await,
        400,
        invalid,
    );
    assert_error(
        &app.post(
            &format!("/api/messaging/agents/{agent}/servers/nope"),
            json!({}),
        )
        .await,
        400,
        invalid,
    );
    assert_error(
        &app.delete(&format!("/api/messaging/agents/nope/servers/{server_id}"))
            .await,
        400,
        invalid,
    );
    assert_error(
        &app.delete(&format!("/api/messaging/agents/{agent}/servers/nope"))
            .await,
        400,
        invalid,
    );
    assert_error(
        &app.post(
            &format!("/api/messaging/agents/{agent}/servers/{UNKNOWN}"),
            json!({}),
        )
        .await,
        404,
        "Message server not found",
    );
    assert_error(
        &app.post(
            &format!("/api/messaging/agents/{UNKNOWN}/servers/{server_id}"),
            json!({}),
        )
        .await,
        404,
        "Agent not found",
    );
}

#[actix_web::test]
async fn nothing_a_client_sends_gives_a_500() {
    let app = booted().await;
    let agent: AgentId = app.stopped_agent("Target").await;
    let server = create_server(&app, json!({"name": "S", "sourceType": "custom"})).await;
    let id = server["id"].as_str().unwrap();
    let user = user_id();
    let bodies = [
        "{nope",
        "[]",
        "[1, 2]",
        "\"text\"",
        "42",
        "null",
        "true",
        "{}",
        r#"{"name": {"a": 1}, "sourceType": [1], "metadata": 5, "sourceId": false}"#,
        r#"{"agentId": ["x"]}"#,
        r#"{"channels": [null, {"name": null, "sourceId": null, "type": null}]}"#,
    ];
    let writes = [
        ("POST", "/api/messaging/message-servers".to_owned()),
        ("POST", "/api/messaging/central-servers".to_owned()),
        ("POST", "/api/messaging/servers".to_owned()),
        ("PATCH", format!("/api/messaging/message-servers/{id}")),
        ("PATCH", format!("/api/messaging/central-servers/{UNKNOWN}")),
        ("PATCH", "/api/messaging/message-servers/nope".to_owned()),
        (
            "POST",
            format!("/api/messaging/message-servers/{id}/sync-channels"),
        ),
        (
            "POST",
            format!("/api/messaging/central-servers/{UNKNOWN}/sync-channels"),
        ),
        (
            "POST",
            format!("/api/messaging/message-servers/{DEFAULT_SERVER}/agents"),
        ),
        ("POST", format!("/api/messaging/servers/{id}/agents")),
        (
            "POST",
            format!("/api/messaging/agents/{agent}/servers/{id}"),
        ),
        ("POST", format!("/api/messaging/agents/{user}/servers/{id}")),
    ];
    assert_no_server_error(&app, &writes, &bodies).await;
    let odd_ids = [
        "nope",
        "00000000-0000-0000-0000-00000000000g",
        "%20",
        "00000000000000000000000000000000",
        UNKNOWN,
    ];
    for odd in odd_ids {
        for path in [
            format!("/api/messaging/message-servers/{odd}"),
            format!("/api/messaging/central-servers/{odd}"),
            format!("/api/messaging/message-servers/{odd}/channels"),
            format!("/api/messaging/message-servers/{odd}/agents"),
            format!("/api/messaging/agents/{odd}/message-servers"),
            format!("/api/messaging/agents/{odd}/servers"),
        ] {
            let reply = app.get(&path).await;
            assert!(reply.status.as_u16() < 500, "GET {path}: {:?}", reply);
            let reply = app.delete(&path).await;
            assert!(reply.status.as_u16() < 500, "DELETE {path}: {:?}", reply);
        }
        for path in [
            format!("/api/messaging/message-servers/{odd}/agents/{odd}"),
            format!("/api/messaging/agents/{odd}/servers/{odd}"),
        ] {
            let reply = app.delete(&path).await;
            assert!(reply.status.as_u16() < 500, "DELETE {path}: {:?}", reply);
        }
    }
    let malformed = app
        .call(raw("POST", "/api/messaging/message-servers", "{nope"))
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json["error"]["code"], json!(400));
}

/// PostgreSQL cannot store NUL in a text column: the body extractor refuses it for every backend.
#[actix_web::test]
async fn a_nul_character_in_a_name_is_not_a_500() {
    let app = booted().await;
    for (path, body) in [
        (
            "/api/messaging/message-servers",
            json!({"name": "a\u{0}b", "sourceType": "custom"}),
        ),
        ("/api/messaging/channels", json!({"name": "a\u{0}b"})),
    ] {
        let reply = app.post(path, body).await;
        assert_eq!(reply.status, 400, "{path}: {reply:?}");
        assert_eq!(
            reply.json["error"]["message"],
            "Text may not contain NUL characters (\\u0000)"
        );
    }
}
