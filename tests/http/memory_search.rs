//! Semantic search over an agent's memories (seed 001): the query is embedded by the agent's
//! model and the nearest memories come back with their similarity.

use crate::memory_fixture::{assert_coded, remember, room, running, texts};
use crate::messaging_fixture::UNKNOWN;
use crate::support::TestApp;
use actix_web::http::StatusCode;
use eliza_domain::{AgentId, RoomId};
use eliza_models::testing::{FakeOpenAi, hash_embedding};
use serde_json::json;

const NOTES: [&str; 4] = [
    "green tea with jasmine",
    "the car needs new tyres",
    "black tea in the morning",
    "a walk by the river",
];

/// A running agent on the fake OpenAI server, with [`NOTES`] remembered under the fake's own
/// embeddings (so a query equal to a note finds it with similarity 1).
async fn agent_with_notes(fake: &FakeOpenAi) -> (TestApp, AgentId, RoomId) {
    let base = fake.base_url();
    let app = TestApp::with_runtime(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &base),
        ("OPENAI_EMBEDDING_DIMENSIONS", "384"),
    ])
    .await;
    let agent = app
        .started_agent(
            json!({"name": "Finder", "bio": "finds", "plugins": ["@elizaos/plugin-openai"]}),
        )
        .await;
    let agent = AgentId::parse(&agent).unwrap();
    let room_id = RoomId::new_random();
    room(&app, agent, room_id, None).await;
    for (i, note) in NOTES.iter().enumerate() {
        let vector = Some(hash_embedding(note, 384));
        remember(&app, agent, room_id, "messages", note, i as i64, vector).await;
    }
    (app, agent, room_id)
}

#[actix_web::test]
async fn the_nearest_memories_come_first_with_their_similarity() {
    let fake = FakeOpenAi::start().await;
    let (app, agent, room_id) = agent_with_notes(&fake).await;
    for path in [
        format!("/api/memory/agents/{agent}/search"),
        format!("/api/memory/{agent}/search"),
    ] {
        let reply = app
            .post(
                &path,
                json!({"query": "black tea in the morning", "limit": 2}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        let data = &reply.json["data"];
        assert_eq!(
            (data["table"].clone(), data["count"].clone()),
            (json!("messages"), json!(2))
        );
        assert_eq!(texts(&data["memories"])[0], "black tea in the morning");
        let best = data["memories"][0]["similarity"].as_f64().unwrap();
        let next = data["memories"][1]["similarity"].as_f64().unwrap();
        assert!((best - 1.0).abs() < 1e-4 && next < best, "{best} {next}");
    }
    let embedded: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/embeddings"))
        .map(|r| r.body.to_string())
        .collect();
    assert!(
        embedded
            .iter()
            .any(|body| body.contains("black tea in the morning"))
    );

    // Only hits at or above the threshold, only in the room asked for, only of the table.
    let strict = app
        .post(
            &format!("/api/memory/{agent}/search"),
            json!({"query": "a walk by the river", "threshold": 0.99, "roomId": room_id}),
        )
        .await;
    assert_eq!(
        texts(&strict.json["data"]["memories"]),
        ["a walk by the river"]
    );
    let elsewhere = app
        .post(
            &format!("/api/memory/{agent}/search"),
            json!({"query": "a walk by the river", "roomId": RoomId::new_random()}),
        )
        .await;
    assert_eq!(elsewhere.json["data"]["count"], json!(0));
    let facts = app
        .post(
            &format!("/api/memory/{agent}/search"),
            json!({"query": "tea", "table": "facts"}),
        )
        .await;
    assert_eq!(facts.json["data"]["count"], json!(0));
}

#[actix_web::test]
async fn rerank_orders_the_hits_by_bm25_keyword_relevance() {
    let fake = FakeOpenAi::start().await;
    let (app, agent, _) = agent_with_notes(&fake).await;
    let reply = app
        .post(
            &format!("/api/memory/{agent}/search"),
            json!({"query": "tea", "limit": 4, "rerank": true}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let memories = reply.json["data"]["memories"].as_array().unwrap().clone();
    let scores: Vec<f64> = memories
        .iter()
        .map(|m| m["bm25Score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] >= pair[1]),
        "{scores:?}"
    );
    let top: Vec<String> = texts(&reply.json["data"]["memories"])
        .into_iter()
        .take(2)
        .collect();
    assert!(top.iter().all(|text| text.contains("tea")), "{top:?}");
    assert_eq!(scores[3], 0.0);
}

#[actix_web::test]
async fn search_refuses_bad_requests_and_agents_that_cannot_search() {
    let fake = FakeOpenAi::start().await;
    let (app, agent, _) = agent_with_notes(&fake).await;
    let path = format!("/api/memory/{agent}/search");
    let cases = [
        (json!({}), "INVALID_REQUEST"),
        (json!({"query": "  "}), "INVALID_REQUEST"),
        (json!({"query": 3}), "BAD_REQUEST"),
        (json!({"query": "x", "limit": 0}), "INVALID_REQUEST"),
        (json!({"query": "x", "limit": 101}), "INVALID_REQUEST"),
        (json!({"query": "x", "threshold": 2}), "INVALID_REQUEST"),
        (json!({"query": "x", "rerank": "yes"}), "INVALID_REQUEST"),
        (json!({"query": "x", "roomId": "nope"}), "INVALID_ID"),
    ];
    for (body, code) in cases {
        assert_coded(&app.post(&path, body.clone()).await, 400, code, None);
    }
    assert_coded(
        &app.post(
            &format!("/api/memory/{UNKNOWN}/search"),
            json!({"query": "x"}),
        )
        .await,
        404,
        "NOT_FOUND",
        None,
    );
    // A refusal the provider does not retry.
    fake.push_embedding(eliza_models::testing::FakeReply::status(400));
    let failed = app.post(&path, json!({"query": "x"})).await;
    assert_coded(&failed, 502, "MODEL_ERROR", None);

    // An agent that is only tracked (no runtime in this server) cannot embed a query.
    let status_only = TestApp::new().await;
    let tracked = running(&status_only, "Tracked").await;
    assert_coded(
        &status_only
            .post(
                &format!("/api/memory/{tracked}/search"),
                json!({"query": "x"}),
            )
            .await,
        503,
        "MODEL_UNAVAILABLE",
        None,
    );
}
