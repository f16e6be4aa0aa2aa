//! Rooms, worlds and groups (API spec §2.1 worlds, §2.2 rooms and groups), and what deleting an
//! agent, a room or a world takes with it.

use crate::memory_fixture::{assert_coded, remember, room, running, world};
use crate::messaging_fixture::UNKNOWN;
use crate::support::TestApp;
use actix_web::http::StatusCode;
use eliza_domain::RoomId;
use eliza_domain::memory::MemoryQuery;
use serde_json::{Value, json};
use uuid::Uuid;

fn data(reply: &crate::support::Reply) -> &Value {
    &reply.json["data"]
}

#[actix_web::test]
async fn a_room_is_created_with_a_world_of_its_own_and_listed() {
    let app = TestApp::new().await;
    let agent = running(&app, "Host").await;
    let created = app
        .post(
            &format!("/api/memory/{agent}/rooms"),
            json!({"name": "Kitchen", "metadata": {"floor": 1}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let room = data(&created);
    assert_eq!(
        (
            room["name"].clone(),
            room["type"].clone(),
            room["source"].clone()
        ),
        (json!("Kitchen"), json!("DM"), json!("client"))
    );
    assert!(room["createdAt"].is_i64() && room["metadata"] == json!({"floor": 1}));
    let world_id = room["worldId"].as_str().unwrap().to_owned();
    let worlds = app.get(&format!("/api/agents/{agent}/worlds")).await;
    assert_eq!(data(&worlds)["worlds"][0]["name"], "World for Kitchen");

    let listed = app.get(&format!("/api/agents/{agent}/rooms")).await;
    let rooms = data(&listed)["rooms"].as_array().unwrap().clone();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0]["serverId"], rooms[0]["messageServerId"]);
    assert!(rooms[0]["createdAt"].as_i64().is_some_and(|ms| ms > 0));
    let id = room["id"].as_str().unwrap();
    let one = app.get(&format!("/api/memory/{agent}/rooms/{id}")).await;
    assert_eq!(data(&one)["worldName"], "World for Kitchen");
    assert_eq!(data(&one)["worldId"], json!(world_id));

    // In a world the agent has, with a type and a source.
    let own = world(&app, agent, "Home").await;
    let in_world = app
        .post(
            &format!("/api/memory/{agent}/rooms"),
            json!({"name": "Den", "type": "GROUP", "source": "discord", "worldId": own.id}),
        )
        .await;
    assert_eq!(in_world.status, StatusCode::CREATED, "{}", in_world.json);
    assert_eq!(data(&in_world)["worldId"], json!(own.id));
    assert_eq!(data(&in_world)["type"], "GROUP");
}

#[actix_web::test]
async fn room_routes_refuse_bad_bodies_and_other_agents_rooms() {
    let app = TestApp::new().await;
    let agent = running(&app, "Host").await;
    let other = running(&app, "Other").await;
    let foreign_world = world(&app, other, "Theirs").await;
    let path = format!("/api/memory/{agent}/rooms");
    let cases = [
        (json!({}), 400, "MISSING_PARAM"),
        (json!({"name": "  "}), 400, "MISSING_PARAM"),
        (json!({"name": 5}), 400, "BAD_REQUEST"),
        (json!({"name": "x", "type": "CHATROOM"}), 400, "BAD_REQUEST"),
        (json!({"name": "x", "worldId": "nope"}), 400, "INVALID_ID"),
        (
            json!({"name": "x", "worldId": foreign_world.id}),
            404,
            "NOT_FOUND",
        ),
        (
            json!({"name": "x", "messageServerId": 7}),
            400,
            "INVALID_ID",
        ),
    ];
    for (body, status, code) in cases {
        assert_coded(&app.post(&path, body.clone()).await, status, code, None);
    }
    let theirs = RoomId::new_random();
    room(&app, other, theirs, None).await;
    assert_coded(
        &app.get(&format!("/api/memory/{agent}/rooms/{theirs}"))
            .await,
        404,
        "NOT_FOUND",
        Some("Room not found"),
    );
    assert_coded(
        &app.get(&format!("/api/memory/{agent}/rooms/nope")).await,
        400,
        "INVALID_ID",
        Some("Invalid agent ID or room ID format"),
    );
    assert_coded(
        &app.get(&format!("/api/memory/{UNKNOWN}/rooms")).await,
        404,
        "NOT_FOUND",
        None,
    );
}

#[actix_web::test]
async fn worlds_are_created_listed_and_updated() {
    let app = TestApp::new().await;
    let agent = running(&app, "Builder").await;
    let other = running(&app, "Other").await;
    let path = format!("/api/agents/{agent}/worlds");

    let created = app
        .post(
            &path,
            json!({"name": "Garden", "metadata": {"a": 1, "settings": {"x": 1}}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let garden = data(&created)["world"].clone();
    assert_eq!(
        (garden["name"].clone(), garden["agentId"].clone()),
        (json!("Garden"), json!(agent))
    );
    assert!(garden["createdAt"].as_str().unwrap().ends_with('Z'));
    let id = garden["id"].as_str().unwrap().to_owned();

    // The api-client's `{worldId}`: a new id is created, a known one answered, another agent's refused.
    let chosen = Uuid::new_v4();
    let by_id = app.post(&path, json!({"worldId": chosen})).await;
    assert_eq!(by_id.status, StatusCode::CREATED, "{}", by_id.json);
    assert_eq!(data(&by_id)["world"]["id"], json!(chosen));
    let again = app.post(&path, json!({"worldId": chosen})).await;
    assert_eq!(again.status, StatusCode::OK);
    let theirs = world(&app, other, "Theirs").await;
    assert_coded(
        &app.post(&path, json!({"worldId": theirs.id})).await,
        409,
        "CONFLICT",
        None,
    );
    assert_coded(
        &app.post(&path, json!({})).await,
        400,
        "BAD_REQUEST",
        Some("World name is required"),
    );

    // PATCH renames, merges metadata key by key, and files the api-client's settings.
    let patched = app
        .patch(
            &format!("{path}/{id}"),
            json!({"name": "Orchard", "metadata": {"b": 2}, "settings": {"y": 2}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.json);
    assert_eq!(
        data(&patched)["world"]["metadata"],
        json!({"a": 1, "settings": {"x": 1, "y": 2}, "b": 2})
    );
    assert_eq!(data(&patched)["world"]["name"], "Orchard");
    // The api-client's `updateAgentWorldSettings` reads `{worldId, settings}`.
    assert_eq!(data(&patched)["worldId"], json!(id));
    assert_eq!(data(&patched)["settings"], json!({"x": 1, "y": 2}));
    assert_coded(
        &app.patch(&format!("{path}/{}", theirs.id), json!({"name": "x"}))
            .await,
        404,
        "NOT_FOUND",
        Some("World not found"),
    );
    assert_coded(
        &app.patch(&format!("{path}/nope"), json!({})).await,
        400,
        "INVALID_ID",
        Some("Invalid agent ID or world ID format"),
    );

    // Reading: one world, the agent's list, and every agent's (shadowed in 1.7.2).
    let one = app.get(&format!("{path}/{id}")).await;
    assert_eq!(data(&one)["world"]["name"], "Orchard");
    assert_coded(
        &app.get(&format!("{path}/{}", theirs.id)).await,
        404,
        "NOT_FOUND",
        None,
    );
    let listed = app.get(&path).await;
    assert_eq!(data(&listed)["worlds"].as_array().unwrap().len(), 2);
    let all = app.get("/api/agents/worlds").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.json);
    assert_eq!(data(&all)["worlds"].as_array().unwrap().len(), 3);
    assert_coded(
        &app.get(&format!("/api/agents/{UNKNOWN}/worlds")).await,
        404,
        "NOT_FOUND",
        None,
    );
}

#[actix_web::test]
async fn a_group_gives_each_running_agent_an_api_room_and_is_deleted_whole() {
    let app = TestApp::new().await;
    let (a, b) = (running(&app, "A").await, running(&app, "B").await);
    let server = Uuid::new_v4();
    let path = format!("/api/memory/groups/{server}");
    let created = app
        .post(&path, json!({"agentIds": [a, b], "name": "Team"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let rooms = data(&created).as_array().unwrap().clone();
    assert_eq!(rooms.len(), 2);
    for room in &rooms {
        assert_eq!(
            (
                room["type"].clone(),
                room["worldId"].clone(),
                room["name"].clone()
            ),
            (json!("API"), json!(server), json!("Team"))
        );
    }
    let room_a = RoomId::parse(rooms[0]["id"].as_str().unwrap()).unwrap();
    let said = remember(&app, a, room_a, "messages", "hello team", 1, None).await;
    let fact = remember(&app, a, room_a, "facts", "a fact", 2, None).await;

    let partial = app
        .post(
            &format!("/api/memory/groups/{}", Uuid::new_v4()),
            json!({"agentIds": [a, UNKNOWN]}),
        )
        .await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS, "{}", partial.json);
    assert_eq!(partial.json["errors"][0]["agentId"], UNKNOWN);
    assert_eq!(partial.json["errors"][0]["code"], "NOT_FOUND");
    let none = app.post(&path, json!({"agentIds": [UNKNOWN]})).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    assert!(none.json["error"].is_array(), "{}", none.json);
    for body in [json!({"agentIds": []}), json!({"agentIds": "x"})] {
        assert_coded(&app.post(&path, body).await, 400, "BAD_REQUEST", None);
    }
    assert_coded(
        &app.post(&path, json!({"agentIds": ["x"]})).await,
        400,
        "INVALID_ID",
        None,
    );
    assert_coded(
        &app.post("/api/memory/groups/nope", json!({"agentIds": [a]}))
            .await,
        400,
        "INVALID_ID",
        None,
    );

    // The api-client's body has no agentIds: the message server's running agents are meant.
    let bare_server = Uuid::new_v4();
    let bare = format!("/api/memory/groups/{bare_server}");
    // A server with no agents of its own (1.7.2 lets agents join only the current one): every
    // running agent gets a room.
    let elsewhere = Uuid::new_v4();
    let everyone = app
        .post(
            &format!("/api/memory/groups/{elsewhere}"),
            json!({"name": "Elsewhere"}),
        )
        .await;
    assert_eq!(everyone.status, StatusCode::CREATED, "{}", everyone.json);
    assert_eq!(data(&everyone)["worldId"], elsewhere.to_string());
    assert_eq!(data(&everyone)["rooms"].as_array().unwrap().len(), 2);
    let now = chrono::Utc::now();
    let server_row = eliza_domain::messaging::MessageServer {
        id: eliza_domain::MessageServerId(bare_server),
        name: "Team server".into(),
        source_type: "test".into(),
        source_id: None,
        metadata: None,
        created_at: now,
        updated_at: now,
    };
    app.state
        .store
        .create_message_server(&server_row)
        .await
        .unwrap();
    for agent in [a, b] {
        app.state
            .store
            .add_agent_to_server(eliza_domain::MessageServerId(bare_server), agent)
            .await
            .unwrap();
    }
    app.state.agents.stop(b).await;
    let from_server = app
        .post(
            &bare,
            json!({"messageServerId": bare_server, "name": "Ours", "description": "the team"}),
        )
        .await;
    assert_eq!(
        from_server.status,
        StatusCode::CREATED,
        "{}",
        from_server.json
    );
    // The api-client reads `{worldId}`.
    assert_eq!(data(&from_server)["worldId"], bare_server.to_string());
    let rooms_made = data(&from_server)["rooms"].as_array().unwrap().clone();
    assert_eq!(
        rooms_made.len(),
        1,
        "only the running agent: {rooms_made:?}"
    );
    let made = app
        .state
        .store
        .get_world(eliza_domain::WorldId(bare_server))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.metadata, Some(json!({"description": "the team"})));

    let cleared = app.delete(&format!("{path}/memories")).await;
    assert_eq!(cleared.status, StatusCode::NO_CONTENT);
    assert!(app.state.store.get_memory(said.id).await.unwrap().is_none());
    assert!(app.state.store.get_memory(fact.id).await.unwrap().is_some());
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    assert!(app.state.store.get_room(room_a).await.unwrap().is_none());
    assert!(app.state.store.get_memory(fact.id).await.unwrap().is_none());
    assert_coded(
        &app.delete("/api/memory/groups/nope").await,
        400,
        "INVALID_ID",
        None,
    );

    // A server whose own agents are all stopped lends nobody, though an outsider runs.
    let outsider = running(&app, "Outsider").await;
    app.state.agents.stop(a).await;
    let stopped_members = app.post(&bare, json!({"name": "Later"})).await;
    assert_coded(&stopped_members, 404, "NOT_FOUND", None);

    // No agent runs at all: nothing can join.
    app.state.agents.stop(outsider).await;
    let nobody = app
        .post(
            &format!("/api/memory/groups/{}", Uuid::new_v4()),
            json!({"name": "Empty"}),
        )
        .await;
    assert_coded(&nobody, 404, "NOT_FOUND", None);
    assert!(
        nobody.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("start one first"),
        "{}",
        nobody.json
    );
}

#[actix_web::test]
async fn deleting_an_agent_leaves_nothing_of_it_behind() {
    let app = TestApp::new().await;
    let agent = running(&app, "Doomed").await;
    let home = world(&app, agent, "Home").await;
    let room_id = RoomId::new_random();
    room(&app, agent, room_id, Some(home.id)).await;
    let memory = remember(&app, agent, room_id, "messages", "bye", 1, Some(vec![1.0])).await;
    let user = Uuid::new_v4().to_string();
    let channel = app
        .post(
            "/api/messaging/channels",
            json!({"name": "c", "message_server_id": crate::messaging_fixture::DEFAULT_SERVER,
                "participantCentralUserIds": [user, agent], "type": "GROUP"}),
        )
        .await;
    assert_eq!(channel.status, StatusCode::CREATED, "{}", channel.json);
    let channel_id = channel.json["data"]["id"].as_str().unwrap().to_owned();

    assert_eq!(
        app.delete(&format!("/api/agents/{agent}")).await.status,
        StatusCode::NO_CONTENT
    );
    let store = &app.state.store;
    assert!(store.get_world(home.id).await.unwrap().is_none());
    assert!(store.get_room(room_id).await.unwrap().is_none());
    assert!(store.get_memory(memory.id).await.unwrap().is_none());
    let query = MemoryQuery {
        table: "messages".into(),
        agent_id: Some(agent),
        ..MemoryQuery::default()
    };
    assert!(store.list_memories(&query).await.unwrap().is_empty());
    let participants = app
        .get(&format!(
            "/api/messaging/channels/{channel_id}/participants"
        ))
        .await;
    assert_eq!(
        participants.json["data"],
        json!([user]),
        "{}",
        participants.json
    );
}
