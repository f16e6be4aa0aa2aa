//! `/api/agents/:id/logs` and `/api/agents/:id/runs`: rows seeded through the store for a started agent.

use crate::support::{Reply, TestApp};
use actix_web::http::StatusCode;
use chrono::{DateTime, TimeZone, Utc};
use eliza_domain::log::AgentLog;
use eliza_domain::{AgentId, EntityId, LogId, RoomId};
use serde_json::{Value, json};

const UNKNOWN_ID: &str = "11111111-2222-3333-4444-555555555555";

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// Epoch ms of `base() + at_ms`.
fn ms(at_ms: i64) -> i64 {
    base().timestamp_millis() + at_ms
}

/// Stores a log row of `agent`, `at_ms` after [`base`].
async fn seed(
    app: &TestApp,
    agent: AgentId,
    room: RoomId,
    kind: &str,
    at_ms: i64,
    body: Value,
) -> AgentLog {
    let log = AgentLog {
        id: LogId::new_random(),
        agent_id: agent,
        created_at: base() + chrono::Duration::milliseconds(at_ms),
        entity_id: EntityId(agent.0),
        room_id: room,
        log_type: kind.to_owned(),
        body,
    };
    app.state.store.create_log(&log).await.unwrap();
    log
}

#[track_caller]
fn assert_coded(reply: &Reply, status: StatusCode, code: &str, message: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json);
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"code": code, "message": message}})
    );
}

#[track_caller]
fn assert_invalid_query(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.json);
    assert_eq!(reply.json["error"]["code"], json!("INVALID_QUERY"));
}

/// The `id`s of `data` (or of `data.runs`, with `key = "runId"`).
fn ids(items: &Value, key: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

fn log_ids(logs: &[&AgentLog]) -> Vec<String> {
    logs.iter().map(|log| log.id.to_string()).collect()
}

// ---- GET /logs ----

#[actix_rt::test]
async fn logs_are_the_agents_own_newest_first_ten_by_default() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Logger").await;
    let other = app.start_agent("Other").await;
    let room = RoomId::new_random();
    let mut rows = Vec::new();
    for i in 0..12 {
        rows.push(seed(&app, agent.id, room, "action", i, json!({"n": i})).await);
    }
    seed(&app, other.id, room, "action", 100, json!({})).await;

    let reply = app.get(&format!("/api/agents/{}/logs", agent.id)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    assert_eq!(reply.json["success"], json!(true));
    let newest: Vec<&AgentLog> = rows.iter().rev().take(10).collect();
    assert_eq!(ids(&reply.json["data"], "id"), log_ids(&newest));
    let first = &reply.json["data"][0];
    assert_eq!(
        first,
        &json!({
            "id": rows[11].id,
            "createdAt": "2026-01-01T00:00:00.011Z",
            "entityId": agent.id,
            "roomId": room,
            "type": "action",
            "body": {"n": 11},
        })
    );
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["id", "createdAt", "entityId", "roomId", "type", "body"]
    );

    let theirs = app.get(&format!("/api/agents/{}/logs", other.id)).await;
    assert_eq!(theirs.json["data"].as_array().unwrap().len(), 1);
}

#[actix_rt::test]
async fn logs_filter_by_room_type_count_limit_and_offset() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Logger").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    let a = seed(&app, agent.id, r1, "action", 1, json!({})).await;
    let b = seed(&app, agent.id, r2, "action", 2, json!({})).await;
    let c = seed(&app, agent.id, r1, "evaluator", 3, json!({})).await;
    let d = seed(&app, agent.id, r1, "action", 4, json!({})).await;
    let e = seed(&app, agent.id, r2, "evaluator", 5, json!({})).await;
    let list = |query: String| {
        let path = format!("/api/agents/{}/logs?{query}", agent.id);
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.json);
            ids(&reply.json["data"], "id")
        }
    };
    assert_eq!(list(format!("roomId={r1}")).await, log_ids(&[&d, &c, &a]));
    assert_eq!(list("type=action".into()).await, log_ids(&[&d, &b, &a]));
    assert_eq!(
        list(format!("roomId={r2}&type=evaluator")).await,
        log_ids(&[&e])
    );
    assert_eq!(
        list("type=ACTION".into()).await,
        Vec::<String>::new(),
        "type is exact"
    );
    assert_eq!(list("count=2".into()).await, log_ids(&[&e, &d]));
    assert_eq!(
        list("limit=3".into()).await,
        log_ids(&[&e, &d, &c]),
        "limit is honoured"
    );
    assert_eq!(
        list("limit=3&count=1".into()).await,
        log_ids(&[&e]),
        "count wins"
    );
    assert_eq!(list("count=1&limit=3".into()).await, log_ids(&[&e]));
    assert_eq!(list("count=2&offset=2".into()).await, log_ids(&[&c, &b]));
    assert_eq!(list("offset=4".into()).await, log_ids(&[&a]));
    assert_eq!(list("count=0".into()).await, Vec::<String>::new());
    assert_eq!(
        list("count=999999".into()).await.len(),
        5,
        "capped, not refused"
    );
    assert_eq!(
        list("count=&roomId=&type=".into()).await.len(),
        5,
        "empty values are absent"
    );
}

#[actix_rt::test]
async fn logs_exclude_types_in_every_spelling_without_short_pages() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Logger").await;
    let room = RoomId::new_random();
    let action = seed(&app, agent.id, room, "action", 1, json!({})).await;
    let large = seed(
        &app,
        agent.id,
        room,
        "useModel:TEXT_LARGE",
        2,
        json!({"modelType": "TEXT_LARGE"}),
    )
    .await;
    let evaluator = seed(&app, agent.id, room, "evaluator", 3, json!({})).await;
    let mut embeddings = Vec::new();
    for i in 4..8 {
        embeddings.push(
            seed(
                &app,
                agent.id,
                room,
                "useModel:TEXT_EMBEDDING",
                i,
                json!({"modelType": "TEXT_EMBEDDING"}),
            )
            .await,
        );
    }
    let run_event = seed(&app, agent.id, room, "run_event", 8, json!({})).await;
    let list = |query: &'static str| {
        let path = format!("/api/agents/{}/logs?{query}", agent.id);
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.json);
            ids(&reply.json["data"], "id")
        }
    };
    // The four newest-but-one rows are embeddings: a page of 2 is still full.
    assert_eq!(
        list("excludeTypes=embedding&count=2").await,
        log_ids(&[&run_event, &evaluator])
    );
    assert_eq!(
        list("excludeTypes=Embedding&excludeTypes=RUN_EVENT&count=2").await,
        log_ids(&[&evaluator, &large]),
        "repeated; type and modelType compared case-insensitively"
    );
    assert_eq!(
        list("excludeTypes[]=embedding&excludeTypes[]=run_event&excludeTypes[]=text_large").await,
        log_ids(&[&evaluator, &action])
    );
    assert_eq!(
        list("excludeTypes%5B0%5D=text&excludeTypes%5B1%5D=evaluator&offset=1").await,
        log_ids(&[&action]),
        "indexed, percent-encoded; offset after the exclusion"
    );
    assert_eq!(
        list("excludeTypes=useModel:TEXT_EMBEDDING&count=5").await,
        log_ids(&[&run_event, &evaluator, &large, &action])
    );
    assert_eq!(
        list("excludeTypes=").await.len(),
        8,
        "an empty value excludes nothing"
    );
    assert_eq!(embeddings.len(), 4);
}

#[actix_rt::test]
async fn logs_refuse_bad_ids_and_numbers_and_need_a_running_agent() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Logger").await;
    let path = format!("/api/agents/{}/logs", agent.id);
    assert_coded(
        &app.get("/api/agents/not-a-uuid/logs").await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
        "Invalid agent ID format",
    );
    assert_coded(
        &app.get(&format!("{path}?roomId=nope")).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
        "Invalid room ID format",
    );
    for query in [
        "count=ten",
        "count=-1",
        "limit=1.5",
        "offset=-2",
        "offset=99999999999",
    ] {
        assert_invalid_query(&app.get(&format!("{path}?{query}")).await);
    }
    assert_coded(
        &app.get(&format!("/api/agents/{UNKNOWN_ID}/logs")).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Agent not found",
    );
    seed(&app, agent.id, RoomId::new_random(), "action", 0, json!({})).await;
    app.state.agents.stop(agent.id).await;
    assert_coded(
        &app.get(&path).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Agent not found",
    );
}

// ---- DELETE /logs/:logId ----

#[actix_rt::test]
async fn delete_log_answers_204_then_404() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Logger").await;
    let other = app.start_agent("Other").await;
    let room = RoomId::new_random();
    let mine = seed(&app, agent.id, room, "action", 1, json!({})).await;
    let kept = seed(&app, agent.id, room, "action", 2, json!({})).await;
    let theirs = seed(&app, other.id, room, "action", 3, json!({})).await;
    let path = |agent: AgentId, log: LogId| format!("/api/agents/{agent}/logs/{log}");

    let reply = app.delete(&path(agent.id, mine.id)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.json, Value::Null);
    let left = app.get(&format!("/api/agents/{}/logs", agent.id)).await;
    assert_eq!(ids(&left.json["data"], "id"), log_ids(&[&kept]));

    assert_coded(
        &app.delete(&path(agent.id, mine.id)).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Log not found",
    );
    assert_coded(
        &app.delete(&path(agent.id, theirs.id)).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Log not found",
    );
    for bad in [
        format!("/api/agents/nope/logs/{}", kept.id),
        format!("/api/agents/{}/logs/nope", agent.id),
    ] {
        assert_coded(
            &app.delete(&bad).await,
            StatusCode::BAD_REQUEST,
            "INVALID_ID",
            "Invalid agent or log ID format",
        );
    }
    app.state.agents.stop(agent.id).await;
    assert_coded(
        &app.delete(&path(agent.id, kept.id)).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Agent not found",
    );
    let theirs_left = app.get(&format!("/api/agents/{}/logs", other.id)).await;
    assert_eq!(ids(&theirs_left.json["data"], "id"), log_ids(&[&theirs]));
}

// ---- GET /runs ----

fn run_id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A `run_event` row as bootstrap writes it.
async fn run_event(
    app: &TestApp,
    agent: AgentId,
    room: RoomId,
    run: &str,
    status: &str,
    at_ms: i64,
    extra: Value,
) -> AgentLog {
    let mut body = json!({"runId": run, "status": status, "messageId": format!("m{}", &run[32..]),
                          "roomId": room, "entityId": UNKNOWN_ID, "startTime": ms(at_ms),
                          "source": "messageHandler"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    seed(app, agent, room, "run_event", at_ms, body).await
}

/// Runs 1..=3 in `r1` (1 completed with one row of each kind, 2 ended in error, 3 still running) and 4
/// (timed out) in `r2`.
async fn seed_runs(app: &TestApp, agent: AgentId, r1: RoomId, r2: RoomId) {
    let one = run_id(1);
    run_event(app, agent, r1, &one, "started", 1_000, json!({})).await;
    seed(
        app,
        agent,
        r1,
        "useModel:TEXT_LARGE",
        1_100,
        json!({"runId": one, "modelType": "TEXT_LARGE"}),
    )
    .await;
    seed(
        app,
        agent,
        r1,
        "action_event",
        1_150,
        json!({"runId": run_id(11), "actionId": "act-1", "actionName": "REPLY"}),
    )
    .await;
    seed(app, agent, r1, "action", 1_200, json!({"runId": run_id(11), "parentRunId": one, "action": "REPLY", "result": {"success": true}})).await;
    seed(
        app,
        agent,
        r1,
        "action",
        1_250,
        json!({"runId": one, "action": "SEND", "result": {"success": false}}),
    )
    .await;
    seed(
        app,
        agent,
        r1,
        "evaluator",
        1_300,
        json!({"runId": one, "evaluator": "REFLECTION"}),
    )
    .await;
    seed(
        app,
        agent,
        r1,
        "embedding_event",
        1_400,
        json!({"runId": one, "status": "failed", "memoryId": UNKNOWN_ID}),
    )
    .await;
    run_event(
        app,
        agent,
        r1,
        &one,
        "completed",
        2_000,
        json!({"endTime": ms(2_000), "duration": 1_000}),
    )
    .await;

    run_event(app, agent, r1, &run_id(2), "started", 3_000, json!({})).await;
    run_event(
        app,
        agent,
        r1,
        &run_id(2),
        "error",
        3_500,
        json!({"error": "boom"}),
    )
    .await;
    run_event(app, agent, r1, &run_id(3), "started", 5_000, json!({})).await;
    run_event(app, agent, r2, &run_id(4), "started", 4_000, json!({})).await;
    run_event(app, agent, r2, &run_id(4), "timeout", 4_900, json!({})).await;
}

#[actix_rt::test]
async fn runs_are_grouped_counted_and_newest_first() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Runner").await;
    let other = app.start_agent("Other").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    seed_runs(&app, agent.id, r1, r2).await;
    run_event(&app, other.id, r1, &run_id(9), "started", 9_000, json!({})).await;

    let reply = app.get(&format!("/api/agents/{}/runs", agent.id)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    assert_eq!(reply.json["success"], json!(true));
    let data = &reply.json["data"];
    assert_eq!(data["total"], json!(4));
    assert_eq!(data["hasMore"], json!(false));
    assert_eq!(
        ids(&data["runs"], "runId"),
        [run_id(3), run_id(4), run_id(2), run_id(1)]
    );
    assert_eq!(
        data["runs"][3],
        json!({
            "runId": run_id(1),
            "status": "completed",
            "startedAt": ms(1_000),
            "endedAt": ms(2_000),
            "durationMs": 1_000,
            "messageId": "m0001",
            "roomId": r1,
            "entityId": agent.id,
            "metadata": {},
            // The child action (parentRunId) counts; one failed action, one failed embedding.
            "counts": {"actions": 2, "modelCalls": 1, "errors": 2, "evaluators": 1},
        })
    );
    let errored = &data["runs"][2];
    assert_eq!(errored["status"], json!("error"));
    assert_eq!(errored["durationMs"], json!(500));
    assert_eq!(
        errored["counts"],
        json!({"actions": 0, "modelCalls": 0, "errors": 1, "evaluators": 0}),
        "ending in error is an error"
    );
    let running = &data["runs"][0];
    assert_eq!(
        (
            &running["status"],
            &running["endedAt"],
            &running["durationMs"]
        ),
        (&json!("started"), &Value::Null, &Value::Null)
    );
    assert_eq!(data["runs"][1]["status"], json!("timeout"));
    assert_eq!(data["runs"][1]["roomId"], json!(r2));

    let theirs = app.get(&format!("/api/agents/{}/runs/", other.id)).await;
    assert_eq!(
        theirs.status,
        StatusCode::OK,
        "a trailing slash is the list"
    );
    assert_eq!(ids(&theirs.json["data"]["runs"], "runId"), [run_id(9)]);
}

#[actix_rt::test]
async fn runs_filter_by_status_room_window_and_limit() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Runner").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    seed_runs(&app, agent.id, r1, r2).await;
    let list = |query: String| {
        let path = format!("/api/agents/{}/runs?{query}", agent.id);
        let app = &app;
        async move {
            let reply = app.get(&path).await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {:?}", reply.json);
            let data = &reply.json["data"];
            (
                ids(&data["runs"], "runId"),
                data["total"].as_u64().unwrap(),
                data["hasMore"].as_bool().unwrap(),
            )
        }
    };
    assert_eq!(
        list("status=completed".into()).await,
        (vec![run_id(1)], 1, false)
    );
    assert_eq!(list("status=error".into()).await.0, [run_id(2)]);
    assert_eq!(list("status=timeout".into()).await.0, [run_id(4)]);
    assert_eq!(list("status=started".into()).await.0, [run_id(3)]);
    assert_eq!(list("status=all".into()).await.1, 4);
    assert_eq!(list("status=bogus".into()).await.1, 4, "ignored");
    assert_eq!(
        list(format!("roomId={r2}")).await,
        (vec![run_id(4)], 1, false)
    );
    assert_eq!(
        list(format!("roomId={r1}&status=started")).await.0,
        [run_id(3)]
    );
    assert_eq!(
        list("limit=2".into()).await,
        (vec![run_id(3), run_id(4)], 4, true)
    );
    assert!(list("limit=3".into()).await.2);
    assert!(!list("limit=4".into()).await.2);
    assert_eq!(
        list("limit=0".into()).await.0.len(),
        4,
        "0 is the default 20"
    );
    assert_eq!(list("limit=500".into()).await.0.len(), 4);
    // from/to (epoch ms) select the run_event rows by creation time.
    assert_eq!(
        list(format!("from={}&to={}", ms(2_500), ms(4_500))).await.0,
        [run_id(4), run_id(2)]
    );
    assert_eq!(list(format!("to={}", ms(2_000))).await.0, [run_id(1)]);
    let late = list(format!("from={}", ms(4_800))).await;
    assert_eq!(late.0, [run_id(3), run_id(4)]);
    let reply = app
        .get(&format!("/api/agents/{}/runs?from={}", agent.id, ms(4_800)))
        .await;
    let timed_out = &reply.json["data"]["runs"][1];
    assert_eq!(
        (
            &timed_out["status"],
            &timed_out["startedAt"],
            &timed_out["endedAt"]
        ),
        (&json!("timeout"), &Value::Null, &json!(ms(4_900))),
        "its start is before the window"
    );
}

#[actix_rt::test]
async fn runs_refuse_bad_input_and_need_a_running_agent() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Runner").await;
    let path = format!("/api/agents/{}/runs", agent.id);
    assert_coded(
        &app.get("/api/agents/nope/runs").await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
        "Invalid agent ID format",
    );
    assert_coded(
        &app.get(&format!("{path}?roomId=nope")).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
        "Invalid room ID format",
    );
    for query in ["limit=many", "from=yesterday", "to=later"] {
        assert_invalid_query(&app.get(&format!("{path}?{query}")).await);
    }
    let empty = app.get(&path).await;
    assert_eq!(
        empty.json,
        json!({"success": true, "data": {"runs": [], "total": 0, "hasMore": false}})
    );
    app.state.agents.stop(agent.id).await;
    assert_coded(
        &app.get(&path).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Agent not found",
    );
}

// ---- GET /runs/:runId ----

#[actix_rt::test]
async fn run_detail_is_a_timeline_of_the_runs_rows() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Runner").await;
    let (r1, r2) = (RoomId::new_random(), RoomId::new_random());
    seed_runs(&app, agent.id, r1, r2).await;

    let reply = app
        .get(&format!("/api/agents/{}/runs/{}", agent.id, run_id(1)))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json);
    let data = &reply.json["data"];
    assert_eq!(
        data["summary"],
        json!({
            "runId": run_id(1),
            "status": "completed",
            "startedAt": ms(1_000),
            "endedAt": ms(2_000),
            "durationMs": 1_000,
            "messageId": "m0001",
            "roomId": r1,
            "entityId": UNKNOWN_ID,
            "counts": {"actions": 2, "modelCalls": 1, "errors": 2, "evaluators": 1},
        })
    );
    let types: Vec<&str> = data["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "RUN_STARTED",
            "MODEL_USED",
            "ACTION_STARTED",
            "ACTION_COMPLETED",
            "ACTION_COMPLETED",
            "EVALUATOR_COMPLETED",
            "EMBEDDING_EVENT",
            "RUN_ENDED"
        ]
    );
    let events = &data["events"];
    assert_eq!(
        events[0],
        json!({"type": "RUN_STARTED", "timestamp": ms(1_000),
               "data": {"source": "messageHandler", "messageId": "m0001"}})
    );
    assert_eq!(
        events[1]["data"],
        json!({"modelType": "TEXT_LARGE"}),
        "absent body fields are omitted"
    );
    assert_eq!(
        events[2]["data"],
        json!({"actionId": "act-1", "actionName": "REPLY"}),
        "the child action's action_event"
    );
    assert_eq!(
        events[3]["data"],
        json!({"actionName": "REPLY", "success": true, "result": {"success": true}})
    );
    assert_eq!(events[4]["data"]["success"], json!(false));
    assert_eq!(
        events[5]["data"],
        json!({"evaluatorName": "REFLECTION", "success": true})
    );
    assert_eq!(
        events[6]["data"],
        json!({"status": "failed", "memoryId": UNKNOWN_ID})
    );
    assert_eq!(
        events[7],
        json!({"type": "RUN_ENDED", "timestamp": ms(2_000),
               "data": {"status": "completed", "durationMs": 1_000}})
    );

    let errored = app
        .get(&format!("/api/agents/{}/runs/{}", agent.id, run_id(2)))
        .await;
    let data = &errored.json["data"];
    assert_eq!(data["summary"]["status"], json!("error"));
    assert_eq!(data["summary"]["counts"]["errors"], json!(1));
    assert_eq!(
        data["events"][1]["data"],
        json!({"status": "error", "error": "boom"})
    );

    let running = app
        .get(&format!(
            "/api/agents/{}/runs/{}",
            agent.id,
            run_id(3).to_uppercase()
        ))
        .await;
    let summary = &running.json["data"]["summary"];
    assert_eq!(
        summary["status"],
        json!("started"),
        "ids are case-insensitive"
    );
    assert!(summary.get("endedAt").is_none() && summary.get("durationMs").is_none());

    // The list and the detail agree on the counts.
    let list = app.get(&format!("/api/agents/{}/runs", agent.id)).await;
    for run in list.json["data"]["runs"].as_array().unwrap() {
        let detail = app
            .get(&format!(
                "/api/agents/{}/runs/{}",
                agent.id,
                run["runId"].as_str().unwrap()
            ))
            .await;
        assert_eq!(detail.json["data"]["summary"]["counts"], run["counts"]);
    }

    // roomId keeps only the rows in that room.
    let elsewhere = app
        .get(&format!(
            "/api/agents/{}/runs/{}?roomId={r2}",
            agent.id,
            run_id(1)
        ))
        .await;
    assert_coded(
        &elsewhere,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Run not found",
    );
}

#[actix_rt::test]
async fn run_detail_refuses_bad_ids_unknown_runs_and_stopped_agents() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Runner").await;
    let other = app.start_agent("Other").await;
    let room = RoomId::new_random();
    run_event(&app, other.id, room, &run_id(1), "started", 0, json!({})).await;
    for bad in [
        format!("/api/agents/nope/runs/{}", run_id(1)),
        format!("/api/agents/{}/runs/nope", agent.id),
    ] {
        assert_coded(
            &app.get(&bad).await,
            StatusCode::BAD_REQUEST,
            "INVALID_ID",
            "Invalid agent or run ID format",
        );
    }
    let path = format!("/api/agents/{}/runs/{}", agent.id, run_id(1));
    assert_coded(
        &app.get(&format!("{path}?roomId=nope")).await,
        StatusCode::BAD_REQUEST,
        "INVALID_ID",
        "Invalid room ID format",
    );
    assert_coded(
        &app.get(&path).await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Run not found",
    );
    let theirs = app
        .get(&format!("/api/agents/{}/runs/{}", other.id, run_id(1)))
        .await;
    assert_eq!(theirs.status, StatusCode::OK);
    app.state.agents.stop(other.id).await;
    assert_coded(
        &app.get(&format!("/api/agents/{}/runs/{}", other.id, run_id(1)))
            .await,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "Agent not found",
    );
}
