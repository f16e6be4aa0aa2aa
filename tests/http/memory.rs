//! `/api/memory/...` and `/api/agents/...` memory routes (API spec §2.2) and seed 001's aliases.

use crate::memory_fixture::{assert_coded, remember, room, running, texts, world};
use crate::support::TestApp;
use actix_web::http::StatusCode;
use eliza_domain::{AgentId, RoomId};
use eliza_runtime::turn::room_of;
use serde_json::json;
use uuid::Uuid;

/// An agent with `count` messages in the room of `channel`, oldest first ("m0", "m1", …).
async fn agent_with_channel_memories(app: &TestApp, count: i64) -> (AgentId, Uuid, RoomId) {
    let agent = running(app, "Keeper").await;
    let channel = Uuid::new_v4();
    let room_id = room_of(agent, &channel.to_string());
    room(app, agent, room_id, None).await;
    for i in 0..count {
        let vector = Some(vec![1.0, i as f32]);
        remember(app, agent, room_id, "messages", &format!("m{i}"), i, vector).await;
    }
    (agent, channel, room_id)
}

#[actix_web::test]
async fn room_memories_convert_the_channel_id_and_take_the_latest_twenty() {
    let app = TestApp::new().await;
    let (agent, channel, room_id) = agent_with_channel_memories(&app, 25).await;
    remember(&app, agent, room_id, "facts", "a fact", 30, None).await;
    for prefix in ["/api/memory", "/api/agents"] {
        let reply = app
            .get(&format!("{prefix}/{agent}/rooms/{channel}/memories"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        let memories = &reply.json["data"]["memories"];
        let got = texts(memories);
        assert_eq!(got.len(), 20);
        assert_eq!((got[0].as_str(), got[19].as_str()), ("m24", "m5"));
        let first = &memories[0];
        assert_eq!(first["type"], "messages");
        assert_eq!(first["roomId"], json!(room_id));
        assert_eq!(first["agentId"], json!(agent));
        assert!(first["createdAt"].is_i64(), "epoch ms: {first}");
        assert!(first.get("embedding").is_none() && first.get("worldId").is_none());
    }
    let base = format!("/api/memory/{agent}/rooms/{channel}/memories");
    let before = crate::memory_fixture::at(10).timestamp_millis();
    let page = app
        .get(&format!(
            "{base}?limit=3&before={before}&includeEmbedding=true"
        ))
        .await;
    assert_eq!(texts(&page.json["data"]["memories"]), ["m9", "m8", "m7"]);
    assert_eq!(
        page.json["data"]["memories"][0]["embedding"],
        json!([1.0, 9.0])
    );
    let facts = app.get(&format!("{base}?tableName=facts")).await;
    assert_eq!(texts(&facts.json["data"]["memories"]), ["a fact"]);
}

#[actix_web::test]
async fn memory_routes_check_ids_queries_and_that_the_agent_runs() {
    let app = TestApp::new().await;
    let (agent, channel, _) = agent_with_channel_memories(&app, 1).await;
    let stopped = app.start_agent("Stopped").await.id;
    app.state.agents.stop(stopped).await;
    let bad_ids = "Invalid agent ID or channel ID format";
    for path in [
        format!("/api/memory/nope/rooms/{channel}/memories"),
        format!("/api/memory/{agent}/rooms/nope/memories"),
    ] {
        assert_coded(&app.get(&path).await, 400, "INVALID_ID", Some(bad_ids));
    }
    assert_coded(
        &app.get(&format!("/api/memory/{stopped}/rooms/{channel}/memories"))
            .await,
        404,
        "NOT_FOUND",
        Some("Agent not found"),
    );
    for query in ["limit=0", "limit=x", "offset=-1", "before=yesterday"] {
        let reply = app
            .get(&format!("/api/memory/{agent}/memories?{query}"))
            .await;
        assert_coded(&reply, 400, "INVALID_QUERY", None);
    }
    let bad_filters = [
        (
            format!("/api/memory/{agent}/memories?channelId=x"),
            "Invalid channel ID format",
        ),
        (
            format!("/api/memory/{agent}/memories?roomId=x"),
            "Invalid room ID format",
        ),
        ("/api/memory/nope/memories".to_owned(), "Invalid agent ID"),
    ];
    for (path, message) in bad_filters {
        assert_coded(&app.get(&path).await, 400, "INVALID_ID", Some(message));
    }
}

#[actix_web::test]
async fn agent_memories_are_paged_and_filtered_by_channel_or_room() {
    let app = TestApp::new().await;
    let (agent, channel, room_id) = agent_with_channel_memories(&app, 5).await;
    let other_room = RoomId::new_random();
    room(&app, agent, other_room, None).await;
    remember(&app, agent, other_room, "messages", "elsewhere", 50, None).await;

    let first = app
        .get(&format!("/api/memory/{agent}/memories?limit=4"))
        .await;
    let data = &first.json["data"];
    assert_eq!(texts(&data["memories"]), ["elsewhere", "m4", "m3", "m2"]);
    assert_eq!(
        (data["limit"].clone(), data["hasMore"].clone()),
        (json!(4), json!(true))
    );
    let second = app
        .get(&format!("/api/agents/{agent}/memories?limit=4&offset=4"))
        .await;
    assert_eq!(texts(&second.json["data"]["memories"]), ["m1", "m0"]);
    assert_eq!(second.json["data"]["hasMore"], json!(false));

    // The api-client's spellings: `type` for the table, a 1-based `page`.
    let paged = app
        .get(&format!(
            "/api/memory/{agent}/memories?type=messages&limit=2&page=2"
        ))
        .await;
    assert_eq!(texts(&paged.json["data"]["memories"]), ["m3", "m2"]);

    let by_channel = app
        .get(&format!(
            "/api/memory/{agent}/memories?channelId={channel}&limit=1"
        ))
        .await;
    assert_eq!(texts(&by_channel.json["data"]["memories"]), ["m4"]);
    let by_room = app
        .get(&format!("/api/memory/{agent}/memories?roomId={other_room}"))
        .await;
    assert_eq!(texts(&by_room.json["data"]["memories"]), ["elsewhere"]);
    let _ = room_id;

    // Seed 001: `table`, ISO `createdAt`.
    let seed = app
        .get(&format!(
            "/api/memory/agents/{agent}/memories?table=messages&limit=2&offset=1"
        ))
        .await;
    assert_eq!(seed.status, StatusCode::OK, "{}", seed.json);
    assert_eq!(texts(&seed.json["data"]["memories"]), ["m4", "m3"]);
    let created = seed.json["data"]["memories"][0]["createdAt"]
        .as_str()
        .unwrap_or_default();
    assert!(created.ends_with('Z') && created.contains('T'), "{created}");
}

#[actix_web::test]
async fn a_memory_is_edited_in_place_and_only_by_its_agent() {
    let app = TestApp::new().await;
    let (agent, _, room_id) = agent_with_channel_memories(&app, 1).await;
    let memory = remember(
        &app,
        agent,
        room_id,
        "messages",
        "before",
        5,
        Some(vec![1.0, 0.0]),
    )
    .await;
    let other = running(&app, "Other").await;
    let other_room = RoomId::new_random();
    room(&app, other, other_room, None).await;
    let own_room = RoomId::new_random();
    room(&app, agent, own_room, None).await;
    let path = format!("/api/memory/{agent}/memories/{}", memory.id);

    let reply = app
        .patch(&path, json!({"id": "ignored", "content": {"text": "after"}, "metadata": {"edited": true}, "roomId": own_room}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        reply.json["data"],
        json!({"id": memory.id, "message": "Memory updated successfully"})
    );
    let stored = app
        .state
        .store
        .get_memory(memory.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.content, json!({"text": "after"}));
    assert_eq!(stored.metadata, json!({"edited": true}));
    assert_eq!(stored.room_id, Some(own_room));
    assert_eq!(
        stored.embedding,
        Some(vec![1.0, 0.0]),
        "no runtime to re-embed: the old vector stays"
    );

    let their_world = world(&app, other, "Theirs").await;
    let cases = [
        (json!({"roomId": other_room}), 404, "NOT_FOUND"),
        (json!({"worldId": their_world.id}), 404, "NOT_FOUND"),
        (json!({"entityId": Uuid::new_v4()}), 404, "NOT_FOUND"),
        (json!({"roomId": "not-a-uuid"}), 400, "INVALID_ID"),
        (json!({"agentId": other}), 400, "BAD_REQUEST"),
        (json!({"content": "text"}), 400, "BAD_REQUEST"),
        (json!({"metadata": [1]}), 400, "BAD_REQUEST"),
    ];
    for (body, status, code) in cases {
        assert_coded(&app.patch(&path, body.clone()).await, status, code, None);
    }
    let foreign = format!("/api/memory/{other}/memories/{}", memory.id);
    assert_coded(
        &app.patch(&foreign, json!({})).await,
        404,
        "NOT_FOUND",
        Some("Memory not found"),
    );
    assert_coded(
        &app.patch(&format!("/api/memory/{agent}/memories/nope"), json!({}))
            .await,
        400,
        "INVALID_ID",
        Some("Invalid agent ID or memory ID format"),
    );
    let unchanged = app
        .state
        .store
        .get_memory(memory.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged, stored, "failed edits change nothing");
}

#[actix_web::test]
async fn memories_are_deleted_one_by_room_or_all() {
    let app = TestApp::new().await;
    let (agent, _, room_id) = agent_with_channel_memories(&app, 2).await;
    let doc = remember(&app, agent, room_id, "documents", "doc", 10, None).await;
    let fact = remember(&app, agent, room_id, "facts", "fact", 11, None).await;
    let other_room = RoomId::new_random();
    room(&app, agent, other_room, None).await;
    let kept = remember(&app, agent, other_room, "messages", "kept", 12, None).await;
    let single = remember(&app, agent, other_room, "messages", "single", 13, None).await;

    let path = format!("/api/memory/{agent}/memories/{}", single.id);
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.json);
    assert_eq!(
        deleted.json["data"],
        json!({"message": "Memory deleted successfully"})
    );
    assert_coded(
        &app.delete(&path).await,
        404,
        "NOT_FOUND",
        Some("Memory not found"),
    );
    let seed = format!("/api/memory/agents/{agent}/memories/{}", kept.id);
    assert_eq!(app.delete(&seed).await.status, StatusCode::OK);

    let room_path = format!("/api/agents/{agent}/memories/all/{room_id}");
    assert_eq!(app.delete(&room_path).await.status, StatusCode::NO_CONTENT);
    assert!(app.state.store.get_memory(doc.id).await.unwrap().is_none());
    assert!(
        app.state.store.get_memory(fact.id).await.unwrap().is_some(),
        "only messages and documents"
    );
    assert_coded(
        &app.delete(&format!("/api/memory/{agent}/memories/all/nope"))
            .await,
        400,
        "INVALID_ID",
        Some("Invalid room ID"),
    );

    let all = app.delete(&format!("/api/memory/{agent}/memories")).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.json);
    assert_eq!(
        all.json["data"],
        json!({"deleted": 1, "message": "All agent memories cleared successfully"})
    );
}
