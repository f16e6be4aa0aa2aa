//! Channels (API spec §2.3.3, channel rows): create (the web UI's DM and group bodies, the
//! api-client's and the seed's), `dm-channel`, details, participants, channel agents, PATCH and
//! DELETE with their bus events, all under `channels` and the deprecated `central-channels`.

use crate::messaging_fixture::{
    DEFAULT_SERVER, MessagingApp, UNKNOWN, assert_error, assert_iso, assert_no_server_error,
    assert_success, data, keys, next_event, user_id,
};
use eliza_bus::{BusEvent, Received, Subscription};
use eliza_domain::ChannelId;
use serde_json::{Value, json};
use std::time::Duration;

const PREFIXES: [&str; 2] = ["/api/messaging/channels", "/api/messaging/central-channels"];
const INVALID_PAYLOAD: &str = "Invalid payload. Required: name, message_server_id (UUID), participantCentralUserIds (array of UUIDs). Optional: type, metadata.";
const INVALID_UPDATE: &str = "Invalid payload. Optional: name (non-empty string), participantCentralUserIds (array of UUIDs), metadata (object).";
const CHANNEL_KEYS: [&str; 6] = [
    "createdAt",
    "id",
    "messageServerId",
    "name",
    "type",
    "updatedAt",
];

fn with_keys(extra: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = CHANNEL_KEYS
        .iter()
        .chain(extra)
        .map(|k| (*k).to_owned())
        .collect();
    keys.sort();
    keys
}

fn sorted(ids: &[&str]) -> Value {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    json!(ids)
}

fn channel_id(channel: &Value) -> ChannelId {
    ChannelId::parse(channel["id"].as_str().unwrap()).unwrap()
}

async fn create(app: &MessagingApp, body: Value) -> Value {
    let reply = app.post("/api/messaging/channels", body).await;
    assert_success(&reply, 201);
    data(&reply).clone()
}

async fn group(app: &MessagingApp, participants: &[&str]) -> Value {
    create(
        app,
        json!({"name": "group", "message_server_id": DEFAULT_SERVER, "participantCentralUserIds": participants}),
    )
    .await
}

async fn no_event(subscription: &mut Subscription) {
    match tokio::time::timeout(Duration::from_millis(100), subscription.recv()).await {
        Err(_) => {}
        Ok(Some(Received::Event(event))) => panic!("unexpected event {event:?}"),
        Ok(other) => panic!("unexpected {other:?}"),
    }
}

/// The UI's first steps on `/chat/:agentId` (spec §4): current server, its channels, a new DM
/// channel, then the channel's details and participants.
#[actix_web::test]
async fn web_ui_opens_a_dm_with_an_agent() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await.to_string();
    let me = user_id();

    let current = app.get("/api/messaging/message-server/current").await;
    assert_success(&current, 200);
    let server = data(&current)["messageServerId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server, DEFAULT_SERVER);
    let before = app
        .get(&format!("/api/messaging/message-servers/{server}/channels"))
        .await;
    assert_eq!(data(&before), &json!({"channels": []}));

    let metadata = json!({"isDm": true, "user1": me, "user2": agent, "forAgent": agent,
                          "createdAt": "2026-11-23T11:00:00.209Z"});
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "Chat - Nov 23, 11:00:00", "message_server_id": server,
                   "participantCentralUserIds": [me, agent], "type": "DM", "metadata": metadata}),
        )
        .await;
    assert_success(&created, 201);
    let channel = data(&created).clone();
    assert_eq!(keys(&channel), with_keys(&["metadata"]));
    assert_eq!(
        (
            &channel["name"],
            &channel["type"],
            &channel["messageServerId"],
            &channel["metadata"]
        ),
        (
            &json!("Chat - Nov 23, 11:00:00"),
            &json!("DM"),
            &json!(DEFAULT_SERVER),
            &metadata
        )
    );
    assert_iso(&channel["createdAt"]);
    assert_eq!(channel["createdAt"], channel["updatedAt"]);
    let id = channel["id"].as_str().unwrap();

    // The sidebar's filter finds it: metadata.isDm and forAgent.
    let listed = app
        .get(&format!("/api/messaging/message-servers/{server}/channels"))
        .await;
    let dms: Vec<&Value> = data(&listed)["channels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["metadata"]["isDm"] == json!(true) && c["metadata"]["forAgent"] == json!(agent)
        })
        .collect();
    assert_eq!(dms, [&channel]);

    let details = app
        .get(&format!("/api/messaging/channels/{id}/details"))
        .await;
    assert_eq!(details.status, 200);
    assert_eq!(details.json, json!({"success": true, "data": channel}));
    let participants = app
        .get(&format!("/api/messaging/channels/{id}/participants"))
        .await;
    assert_eq!(participants.status, 200);
    assert_eq!(
        participants.json,
        json!({"success": true, "data": sorted(&[&me, &agent])})
    );
}

#[actix_web::test]
async fn web_ui_creates_a_group_with_agents_and_itself() {
    let app = MessagingApp::new().await;
    let (a, b) = (
        app.echo_agent("A").await.to_string(),
        app.stopped_agent("B").await.to_string(),
    );
    let me = user_id();
    let channel = create(
        &app,
        json!({"name": "Team", "message_server_id": DEFAULT_SERVER, "participantCentralUserIds": [a, b, me],
               "type": "GROUP", "metadata": {"server_id": DEFAULT_SERVER, "source": "client_group_chat"}}),
    )
    .await;
    assert_eq!(keys(&channel), with_keys(&["metadata"]));
    assert_eq!(channel["type"], json!("GROUP"));
    assert_eq!(
        channel["metadata"],
        json!({"server_id": DEFAULT_SERVER, "source": "client_group_chat"})
    );
    let id = channel_id(&channel);
    let participants = app
        .get(&format!("/api/messaging/channels/{id}/participants"))
        .await;
    assert_eq!(data(&participants), &sorted(&[&a, &b, &me]));
}

#[actix_web::test]
async fn api_client_create_channel_sends_no_participants() {
    let app = MessagingApp::new().await;
    for (prefix, server_key) in [
        (PREFIXES[1], "message_server_id"),
        (PREFIXES[1], "server_id"),
        (PREFIXES[0], "message_server_id"),
    ] {
        let reply = app
            .post(
                prefix,
                json!({"name": "general", "type": "GROUP", server_key: DEFAULT_SERVER, "metadata": {"topic": "t"}}),
            )
            .await;
        assert_success(&reply, 201);
        let channel = data(&reply);
        assert_eq!(keys(channel), with_keys(&["metadata"]));
        assert_eq!(
            (&channel["name"], &channel["messageServerId"]),
            (&json!("general"), &json!(DEFAULT_SERVER))
        );
        let id = channel["id"].as_str().unwrap();
        let participants = app.get(&format!("{prefix}/{id}/participants")).await;
        assert_eq!(participants.json, json!({"success": true, "data": []}));
    }
    // No server at all: the current one; no type: GROUP; no metadata: no key.
    let bare = create(&app, json!({"name": "bare"})).await;
    assert_eq!(keys(&bare), with_keys(&[]));
    assert_eq!(
        (&bare["messageServerId"], &bare["type"]),
        (&json!(DEFAULT_SERVER), &json!("GROUP"))
    );
}

#[actix_web::test]
async fn api_client_create_group_channel_sends_participant_central_user_ids() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Member").await.to_string();
    let me = user_id();
    let reply = app
        .post(
            "/api/messaging/central-channels",
            json!({"name": "Group", "server_id": DEFAULT_SERVER, "participantCentralUserIds": [me, agent, me],
                   "type": "DM", "metadata": {"isDm": true}}),
        )
        .await;
    assert_success(&reply, 201);
    let channel = data(&reply);
    assert_eq!(channel["type"], json!("DM"));
    let id = channel["id"].as_str().unwrap();
    let participants = app
        .get(&format!(
            "/api/messaging/central-channels/{id}/participants"
        ))
        .await;
    assert_eq!(
        data(&participants),
        &sorted(&[&me, &agent]),
        "duplicates are dropped"
    );
}

#[actix_web::test]
async fn seed_create_channel_body_is_accepted() {
    let app = MessagingApp::new().await;
    let reply = app
        .post(
            "/api/messaging/central-channels",
            json!({"messageServerId": DEFAULT_SERVER, "name": "General Chat", "type": "GROUP", "sourceType": "api_created",
                   "participantIds": ["550e8400-e29b-41d4-a716-446655440001", "550e8400-e29b-41d4-a716-446655440002"]}),
        )
        .await;
    assert_success(&reply, 201);
    let channel = data(&reply).clone();
    assert_eq!(keys(&channel), with_keys(&["sourceType"]));
    assert_eq!(
        (&channel["sourceType"], &channel["name"]),
        (&json!("api_created"), &json!("General Chat"))
    );
    let id = channel["id"].as_str().unwrap();
    let details = app
        .get(&format!("/api/messaging/central-channels/{id}/details"))
        .await;
    assert_eq!(data(&details), &channel);
    let participants = app
        .get(&format!(
            "/api/messaging/central-channels/{id}/participants"
        ))
        .await;
    assert_eq!(
        data(&participants),
        &json!([
            "550e8400-e29b-41d4-a716-446655440001",
            "550e8400-e29b-41d4-a716-446655440002"
        ])
    );
}

#[actix_web::test]
async fn every_channel_type_can_be_created() {
    let app = MessagingApp::new().await;
    for kind in [
        "SELF",
        "DM",
        "GROUP",
        "VOICE_DM",
        "VOICE_GROUP",
        "FEED",
        "THREAD",
        "WORLD",
        "FORUM",
        "API",
    ] {
        let channel = create(
            &app,
            json!({"name": kind, "message_server_id": DEFAULT_SERVER, "type": kind}),
        )
        .await;
        assert_eq!(channel["type"], json!(kind));
    }
}

#[actix_web::test]
async fn create_rejects_bad_payloads() {
    let app = MessagingApp::new().await;
    let user = user_id();
    let bad_server = "Invalid message_server_id format";
    let cases = [
        (json!({}), INVALID_PAYLOAD),
        (
            json!({"message_server_id": DEFAULT_SERVER, "participantCentralUserIds": []}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "", "message_server_id": DEFAULT_SERVER}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": 5, "message_server_id": DEFAULT_SERVER}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": ["x"], "message_server_id": DEFAULT_SERVER}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "x", "participantCentralUserIds": user}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "x", "participantCentralUserIds": [1]}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "x", "participantCentralUserIds": ["nope"]}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "x", "participantCentralUserIds": [user, null]}),
            INVALID_PAYLOAD,
        ),
        (
            json!({"name": "x", "participantCentralUserIds": {"a": user}}),
            INVALID_PAYLOAD,
        ),
        (json!({"name": "x", "participantIds": "x"}), INVALID_PAYLOAD),
        (json!({"name": "x", "type": "bogus"}), INVALID_PAYLOAD),
        (json!({"name": "x", "type": "dm"}), INVALID_PAYLOAD),
        (json!({"name": "x", "type": 5}), INVALID_PAYLOAD),
        (
            json!({"name": "x", "message_server_id": "nope"}),
            bad_server,
        ),
        (json!({"name": "x", "message_server_id": 5}), bad_server),
        (json!({"name": "x", "message_server_id": ""}), bad_server),
        (json!({"name": "x", "message_server_id": ["x"]}), bad_server),
        (json!({"name": "x", "server_id": "nope"}), bad_server),
        (json!({"name": "x", "messageServerId": "nope"}), bad_server),
        (
            json!({"name": "x", "metadata": "m"}),
            "metadata must be an object",
        ),
        (
            json!({"name": "x", "metadata": [1]}),
            "metadata must be an object",
        ),
    ];
    for prefix in PREFIXES {
        for (body, error) in &cases {
            let reply = app.post(prefix, body.clone()).await;
            assert_error(&reply, 400, error);
        }
        let reply = app
            .post(prefix, json!({"name": "x", "message_server_id": UNKNOWN}))
            .await;
        assert_error(&reply, 404, &format!("Server {UNKNOWN} does not exist"));
        let reply = app.post(prefix, json!([{"name": "x"}])).await;
        assert_eq!(reply.status, 400);
        assert_eq!(
            reply.json,
            json!({"success": false, "error": {"message": "Request body must be a JSON object", "code": 400}})
        );
    }
    let listed = app
        .get(&format!(
            "/api/messaging/message-servers/{DEFAULT_SERVER}/channels"
        ))
        .await;
    assert_eq!(
        data(&listed),
        &json!({"channels": []}),
        "nothing was created"
    );
}

#[actix_web::test]
async fn dm_channel_finds_or_creates_the_named_dm() {
    let app = MessagingApp::new().await;
    let (me, other) = (user_id(), user_id());
    let (first, second) = if me < other {
        (&me, &other)
    } else {
        (&other, &me)
    };
    let url = |current: &str, target: &str, server: &str| {
        format!(
            "/api/messaging/dm-channel?currentUserId={current}&targetUserId={target}&dmServerId={server}"
        )
    };
    let reply = app.get(&url(&me, &other, DEFAULT_SERVER)).await;
    assert_success(&reply, 200);
    let channel = data(&reply).clone();
    assert_eq!(keys(&channel), with_keys(&["metadata"]));
    assert_eq!(
        (
            &channel["name"],
            &channel["type"],
            &channel["messageServerId"],
            &channel["metadata"]
        ),
        (
            &json!(format!("DM-{first}-{second}")),
            &json!("DM"),
            &json!(DEFAULT_SERVER),
            &json!({"user1": first, "user2": second})
        )
    );
    assert_iso(&channel["createdAt"]);
    let id = channel["id"].as_str().unwrap();
    let participants = app
        .get(&format!("/api/messaging/channels/{id}/participants"))
        .await;
    assert_eq!(data(&participants), &sorted(&[&me, &other]));

    // Either way round, with an unknown or no server, upper-case ids: the same channel.
    for path in [
        url(&other, &me, DEFAULT_SERVER),
        url(&me, &other, UNKNOWN),
        url(&me, &other, "nope"),
        format!(
            "/api/messaging/dm-channel?currentUserId={me}&targetUserId={}",
            other.to_uppercase()
        ),
    ] {
        let again = app.get(&path).await;
        assert_eq!(again.status, 200, "{path}");
        assert_eq!(data(&again), &channel, "{path}");
    }

    // A known server gets its own DM channel.
    let server = app
        .post(
            "/api/messaging/message-servers",
            json!({"name": "S", "sourceType": "custom"}),
        )
        .await;
    let server = data(&server)["server"]["id"].as_str().unwrap().to_owned();
    let own = app.get(&url(&me, &other, &server)).await;
    assert_eq!(data(&own)["messageServerId"], json!(server));
    assert_ne!(data(&own)["id"], channel["id"]);
    assert_eq!(
        data(&app.get(&url(&other, &me, &server)).await)["id"],
        data(&own)["id"]
    );
}

#[actix_web::test]
async fn dm_channel_is_not_an_ui_chat_between_the_same_two() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Eliza").await.to_string();
    let me = user_id();
    let chat = create(
        &app,
        json!({"name": "Chat - Nov 23, 11:00:00", "message_server_id": DEFAULT_SERVER, "participantCentralUserIds": [me, agent],
               "type": "DM", "metadata": {"isDm": true, "user1": me, "user2": agent, "forAgent": agent}}),
    )
    .await;
    let reply = app
        .get(&format!(
            "/api/messaging/dm-channel?currentUserId={me}&targetUserId={agent}&dmServerId={DEFAULT_SERVER}"
        ))
        .await;
    assert_success(&reply, 200);
    assert_ne!(data(&reply)["id"], chat["id"]);
    assert!(data(&reply)["name"].as_str().unwrap().starts_with("DM-"));
}

#[actix_web::test]
async fn dm_channel_errors() {
    let app = MessagingApp::new().await;
    let me = user_id();
    let missing = "Missing targetUserId or currentUserId";
    for query in [
        String::new(),
        format!("?currentUserId={me}"),
        format!("?targetUserId={me}"),
        format!("?currentUserId={me}&targetUserId=nope"),
        format!("?currentUserId=nope&targetUserId={me}"),
        format!("?currentUserId={me}&targetUserId="),
    ] {
        assert_error(
            &app.get(&format!("/api/messaging/dm-channel{query}")).await,
            400,
            missing,
        );
    }
    assert_error(
        &app.get(&format!(
            "/api/messaging/dm-channel?currentUserId={me}&targetUserId={}",
            me.to_uppercase()
        ))
        .await,
        400,
        "Cannot create DM channel with oneself",
    );
    let repeated = app
        .get(&format!(
            "/api/messaging/dm-channel?currentUserId={me}&currentUserId={me}&targetUserId={UNKNOWN}"
        ))
        .await;
    assert_eq!(repeated.status, 400, "{}", repeated.json);
    assert_eq!(repeated.json["success"], json!(false));
}

#[actix_web::test]
async fn details_and_participants() {
    let app = MessagingApp::new().await;
    let me = user_id();
    let channel = group(&app, &[&me]).await;
    let id = channel["id"].as_str().unwrap();
    for prefix in PREFIXES {
        let details = app.get(&format!("{prefix}/{id}/details")).await;
        assert_eq!(details.json, json!({"success": true, "data": channel}));
        let participants = app.get(&format!("{prefix}/{id}/participants")).await;
        assert_eq!(participants.json, json!({"success": true, "data": [me]}));

        assert_error(
            &app.get(&format!("{prefix}/nope/details")).await,
            400,
            "Invalid channelId",
        );
        assert_error(
            &app.get(&format!("{prefix}/nope/participants")).await,
            400,
            "Invalid channelId",
        );
        assert_error(
            &app.get(&format!("{prefix}/{UNKNOWN}/details")).await,
            404,
            "Channel not found",
        );
        let unknown = app.get(&format!("{prefix}/{UNKNOWN}/participants")).await;
        assert_eq!(unknown.json, json!({"success": true, "data": []}));
    }
}

#[actix_web::test]
async fn channel_agents_can_be_listed_added_and_removed() {
    let app = MessagingApp::new().await;
    let me = user_id();
    for prefix in PREFIXES {
        let agent = app
            .stopped_agent(&format!("Agent {prefix}"))
            .await
            .to_string();
        let channel = group(&app, &[&me]).await;
        let id = channel["id"].as_str().unwrap();
        let listed = app.get(&format!("{prefix}/{id}/agents")).await;
        assert_eq!(listed.status, 200);
        assert_eq!(
            listed.json,
            json!({"success": true, "data": {"channelId": id, "participants": [me]}})
        );

        let added = app
            .post(&format!("{prefix}/{id}/agents"), json!({"agentId": agent}))
            .await;
        assert_eq!(added.status, 201);
        assert_eq!(
            added.json,
            json!({"success": true, "data": {"channelId": id, "agentId": agent,
                   "message": "Agent added to channel successfully"}})
        );
        let again = app
            .post(&format!("{prefix}/{id}/agents"), json!({"agentId": agent}))
            .await;
        assert_eq!(again.status, 201, "adding twice is harmless");
        let listed = app.get(&format!("{prefix}/{id}/agents")).await;
        assert_eq!(data(&listed)["participants"], sorted(&[&me, &agent]));

        let removed = app.delete(&format!("{prefix}/{id}/agents/{agent}")).await;
        assert_eq!(removed.status, 200);
        assert_eq!(
            removed.json,
            json!({"success": true, "data": {"channelId": id, "agentId": agent,
                   "message": "Agent removed from channel successfully"}})
        );
        assert_error(
            &app.delete(&format!("{prefix}/{id}/agents/{agent}")).await,
            404,
            "Agent is not a participant in this channel",
        );
        let listed = app.get(&format!("{prefix}/{id}/agents")).await;
        assert_eq!(data(&listed)["participants"], json!([me]));
    }
}

/// 1.7.2 adds any entity id as a participant: it does not look the agent up.
#[actix_web::test]
async fn an_agent_not_created_yet_can_be_added_to_a_channel() {
    let app = MessagingApp::new().await;
    let channel = group(&app, &[]).await;
    let id = channel["id"].as_str().unwrap();
    let added = app
        .post(
            &format!("/api/messaging/channels/{id}/agents"),
            json!({"agentId": UNKNOWN}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.json);
    let listed = app
        .get(&format!("/api/messaging/channels/{id}/participants"))
        .await;
    assert_eq!(data(&listed), &json!([UNKNOWN]));
}

#[actix_web::test]
async fn channel_agents_errors() {
    let app = MessagingApp::new().await;
    let agent = app.stopped_agent("Agent").await.to_string();
    let channel = group(&app, &[]).await;
    let id = channel["id"].as_str().unwrap();
    let invalid = "Invalid channelId or agentId format";
    for prefix in PREFIXES {
        assert_error(
            &app.get(&format!("{prefix}/nope/agents")).await,
            400,
            "Invalid channelId format",
        );
        let unknown = app.get(&format!("{prefix}/{UNKNOWN}/agents")).await;
        assert_eq!(
            unknown.json,
            json!({"success": true, "data": {"channelId": UNKNOWN, "participants": []}})
        );

        for body in [
            json!({}),
            json!({"agentId": "nope"}),
            json!({"agentId": 5}),
            json!({"agentId": [agent]}),
        ] {
            assert_error(
                &app.post(&format!("{prefix}/{id}/agents"), body).await,
                400,
                invalid,
            );
        }
        assert_error(
            &app.post(&format!("{prefix}/nope/agents"), json!({"agentId": agent}))
                .await,
            400,
            invalid,
        );
        assert_error(
            &app.post(
                &format!("{prefix}/{UNKNOWN}/agents"),
                json!({"agentId": agent}),
            )
            .await,
            404,
            "Channel not found",
        );
        assert_error(
            &app.delete(&format!("{prefix}/nope/agents/{agent}")).await,
            400,
            invalid,
        );
        assert_error(
            &app.delete(&format!("{prefix}/{id}/agents/nope")).await,
            400,
            invalid,
        );
        assert_error(
            &app.delete(&format!("{prefix}/{UNKNOWN}/agents/{agent}"))
                .await,
            404,
            "Channel not found",
        );
        assert_error(
            &app.delete(&format!("{prefix}/{id}/agents/{agent}")).await,
            404,
            "Agent is not a participant in this channel",
        );
    }
}

#[actix_web::test]
async fn patch_updates_the_channel_and_announces_it() {
    let app = MessagingApp::new().await;
    let (me, agent) = (user_id(), app.stopped_agent("Agent").await.to_string());
    for prefix in PREFIXES {
        let channel = create(
            &app,
            json!({"name": "Chat - Nov 23, 11:00:00", "participantCentralUserIds": [me, agent], "type": "DM",
                   "metadata": {"isDm": true}}),
        )
        .await;
        let id = channel_id(&channel);
        let newcomer = user_id();
        let mut events = app.subscribe(id);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let reply = app
            .patch(
                &format!("{prefix}/{id}"),
                json!({"name": "Talk about Rust", "participantCentralUserIds": [me, newcomer],
                       "metadata": {"isDm": true, "renamed": true}}),
            )
            .await;
        assert_success(&reply, 200);
        let updated = data(&reply).clone();
        assert_eq!(keys(&updated), keys(&channel));
        assert_eq!(
            (
                &updated["id"],
                &updated["name"],
                &updated["type"],
                &updated["metadata"]
            ),
            (
                &channel["id"],
                &json!("Talk about Rust"),
                &json!("DM"),
                &json!({"isDm": true, "renamed": true})
            )
        );
        assert_eq!(updated["createdAt"], channel["createdAt"]);
        assert_iso(&updated["updatedAt"]);
        assert!(updated["updatedAt"].as_str() > channel["updatedAt"].as_str());
        assert_eq!(
            next_event(&mut events).await,
            BusEvent::ChannelUpdated {
                channel_id: id,
                channel: updated.clone()
            }
        );
        let details = app.get(&format!("{prefix}/{id}/details")).await;
        assert_eq!(data(&details), &updated);
        let participants = app.get(&format!("{prefix}/{id}/participants")).await;
        assert_eq!(
            data(&participants),
            &sorted(&[&me, &newcomer]),
            "the set is replaced"
        );

        // Only the name (the UI after generate-title); then `metadata: null` clears it.
        let renamed = app
            .patch(&format!("{prefix}/{id}"), json!({"name": "Renamed"}))
            .await;
        assert_eq!(
            data(&renamed)["metadata"],
            json!({"isDm": true, "renamed": true})
        );
        next_event(&mut events).await;
        let cleared = app
            .patch(&format!("{prefix}/{id}"), json!({"metadata": null}))
            .await;
        assert_success(&cleared, 200);
        assert_eq!(keys(data(&cleared)), with_keys(&[]));
        assert_eq!(data(&cleared)["name"], json!("Renamed"));
        next_event(&mut events).await;
        let emptied = app
            .patch(
                &format!("{prefix}/{id}"),
                json!({"participantCentralUserIds": []}),
            )
            .await;
        assert_success(&emptied, 200);
        next_event(&mut events).await;
        let participants = app.get(&format!("{prefix}/{id}/participants")).await;
        assert_eq!(data(&participants), &json!([]));
        let nothing = app.patch(&format!("{prefix}/{id}"), json!({})).await;
        assert_success(&nothing, 200);
        assert_eq!(data(&nothing)["name"], json!("Renamed"));
    }
}

#[actix_web::test]
async fn patch_errors() {
    let app = MessagingApp::new().await;
    let me = user_id();
    let channel = group(&app, &[&me]).await;
    let id = channel_id(&channel);
    let mut events = app.subscribe(id);
    for prefix in PREFIXES {
        assert_error(
            &app.patch(&format!("{prefix}/nope"), json!({"name": "x"}))
                .await,
            400,
            "Invalid channelId",
        );
        assert_error(
            &app.patch(&format!("{prefix}/{UNKNOWN}"), json!({"name": "x"}))
                .await,
            404,
            "Channel not found",
        );
        for body in [
            json!({"name": ""}),
            json!({"name": 5}),
            json!({"participantCentralUserIds": me}),
            json!({"participantCentralUserIds": ["nope"]}),
            json!({"participantCentralUserIds": [5]}),
            json!({"metadata": "m"}),
            json!({"metadata": [1]}),
        ] {
            assert_error(
                &app.patch(&format!("{prefix}/{id}"), body).await,
                400,
                INVALID_UPDATE,
            );
        }
        let array = app
            .patch(&format!("{prefix}/{id}"), json!([{"name": "x"}]))
            .await;
        assert_eq!(array.status, 400);
        assert_eq!(
            array.json["error"]["message"],
            json!("Request body must be a JSON object")
        );
    }
    no_event(&mut events).await;
    let details = app
        .get(&format!("/api/messaging/channels/{id}/details"))
        .await;
    assert_eq!(data(&details), &channel, "failed updates change nothing");
}

#[actix_web::test]
async fn delete_is_204_clears_and_announces() {
    let app = MessagingApp::new().await;
    let agent = app.echo_agent("Eliza").await.to_string();
    let me = user_id();
    for prefix in PREFIXES {
        let channel = group(&app, &[&me, &agent]).await;
        let id = channel_id(&channel);
        let posted = app
            .post(
                &format!("/api/messaging/channels/{id}/messages"),
                json!({"author_id": me, "content": "hello", "message_server_id": DEFAULT_SERVER}),
            )
            .await;
        assert_eq!(posted.status, 201, "{}", posted.json);

        let mut events = app.subscribe(id);
        let deleted = app.delete(&format!("{prefix}/{id}")).await;
        assert_eq!(deleted.status, 204);
        assert_eq!(deleted.json, Value::Null);
        let mut seen = Vec::new();
        while seen.len() < 2 {
            // The echo agent's reply to the message may still be on its way: skip it.
            let event = next_event(&mut events).await;
            if matches!(
                event,
                BusEvent::ChannelCleared { .. } | BusEvent::ChannelDeleted { .. }
            ) {
                seen.push(event);
            }
        }
        assert_eq!(
            seen,
            [
                BusEvent::ChannelCleared { channel_id: id },
                BusEvent::ChannelDeleted { channel_id: id }
            ]
        );
        assert_error(
            &app.get(&format!("{prefix}/{id}/details")).await,
            404,
            "Channel not found",
        );
        let participants = app.get(&format!("{prefix}/{id}/participants")).await;
        assert_eq!(data(&participants), &json!([]));
        let listed = app
            .get(&format!("/api/messaging/channels/{id}/messages"))
            .await;
        assert_eq!(data(&listed)["messages"], json!([]));

        let again = app.delete(&format!("{prefix}/{id}")).await;
        assert_eq!(
            (again.status.as_u16(), &again.json),
            (204, &Value::Null),
            "deleting is idempotent"
        );
        assert_error(
            &app.delete(&format!("{prefix}/nope")).await,
            400,
            "Invalid channelId",
        );
    }
}

#[actix_web::test]
async fn deleting_an_unknown_channel_announces_nothing() {
    let app = MessagingApp::new().await;
    let id = ChannelId::parse(UNKNOWN).unwrap();
    let mut events = app.subscribe(id);
    assert_eq!(
        app.delete(&format!("/api/messaging/channels/{UNKNOWN}"))
            .await
            .status,
        204
    );
    no_event(&mut events).await;
}

#[actix_web::test]
async fn aliases_answer_identically() {
    let app = MessagingApp::new().await;
    let me = user_id();
    let agent = app.stopped_agent("Agent").await.to_string();
    let channel = group(&app, &[&me, &agent]).await;
    let id = channel["id"].as_str().unwrap();
    for suffix in [
        format!("{id}/details"),
        format!("{id}/participants"),
        format!("{id}/agents"),
        format!("{UNKNOWN}/details"),
        "nope/details".to_owned(),
        "nope/agents".to_owned(),
    ] {
        let canonical = app.get(&format!("{}/{suffix}", PREFIXES[0])).await;
        let alias = app.get(&format!("{}/{suffix}", PREFIXES[1])).await;
        assert_eq!(
            (canonical.status, &canonical.json),
            (alias.status, &alias.json),
            "{suffix}"
        );
    }
}

#[actix_web::test]
async fn nothing_a_client_sends_gives_a_500() {
    let app = MessagingApp::new().await;
    let me = user_id();
    let channel = group(&app, &[&me]).await;
    let id = channel["id"].as_str().unwrap();
    let bodies = [
        "{nope",
        "[]",
        "[1, 2]",
        "\"text\"",
        "42",
        "null",
        "true",
        "{}",
        r#"{"name": {"a": 1}, "message_server_id": {"a": 1}, "participantCentralUserIds": {"a": 1}, "type": [], "metadata": 5}"#,
        r#"{"name": "x", "participantCentralUserIds": [[], {}, null, true]}"#,
        r#"{"name": "x", "server_id": 5, "messageServerId": false, "serverId": []}"#,
        r#"{"name": "x", "participantCentralUserIds": null, "metadata": null, "type": null}"#,
        r#"{"agentId": {"id": 1}}"#,
    ];
    let mut writes = Vec::new();
    for prefix in PREFIXES {
        writes.push(("POST", prefix.to_owned()));
        writes.push(("PATCH", format!("{prefix}/{id}")));
        writes.push(("PATCH", format!("{prefix}/{UNKNOWN}")));
        writes.push(("PATCH", format!("{prefix}/nope")));
        writes.push(("POST", format!("{prefix}/{id}/agents")));
        writes.push(("POST", format!("{prefix}/{UNKNOWN}/agents")));
    }
    assert_no_server_error(&app, &writes, &bodies).await;
    for odd in [
        "nope",
        "00000000-0000-0000-0000-00000000000g",
        "%20",
        "00000000000000000000000000000000",
        UNKNOWN,
    ] {
        for prefix in PREFIXES {
            for path in [
                format!("{prefix}/{odd}/details"),
                format!("{prefix}/{odd}/participants"),
                format!("{prefix}/{odd}/agents"),
            ] {
                let reply = app.get(&path).await;
                assert!(reply.status.as_u16() < 500, "GET {path}: {reply:?}");
            }
            for path in [
                format!("{prefix}/{odd}"),
                format!("{prefix}/{odd}/agents/{odd}"),
            ] {
                let reply = app.delete(&path).await;
                assert!(reply.status.as_u16() < 500, "DELETE {path}: {reply:?}");
            }
        }
        let reply = app
            .get(&format!(
                "/api/messaging/dm-channel?currentUserId={odd}&targetUserId={me}&dmServerId={odd}"
            ))
            .await;
        assert!(reply.status.as_u16() < 500, "dm-channel {odd}: {reply:?}");
    }
    for query in [
        "?currentUserId[]=x",
        "?currentUserId=%ZZ",
        "?targetUserId=a&targetUserId=b",
        "?&&=&",
    ] {
        let reply = app.get(&format!("/api/messaging/dm-channel{query}")).await;
        assert!(reply.status.is_client_error(), "{query}: {reply:?}");
    }
}
