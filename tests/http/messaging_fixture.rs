//! Messaging test fixture: a [`TestApp`] whose agents answer through the echo responder, and a
//! view on the bus, so the whole message flow is testable without an agent runtime.

use crate::support::{Reply, TestApp};
use actix_web::test::TestRequest;
use chrono::{DateTime, Utc};
use eliza_bus::responder::spawn_echo_responder;
use eliza_bus::{
    AgentInboxes, AgentOutbox, Bus, BusEvent, BusMessage, InProcessBus, MessageOrigin, Received,
    Subscription, Topic,
};
use eliza_domain::records::{RecordKind, RecordOrder, RecordStore, SharedRecord};
use eliza_domain::{AgentId, ChannelId, StoreError, StoreResult};
use serde_json::{Value, json};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

pub use eliza_bus::responder::echo_of;

pub struct MessagingApp {
    pub app: TestApp,
    pub inboxes: AgentInboxes,
    pub bus: Arc<InProcessBus>,
}

impl Deref for MessagingApp {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl MessagingApp {
    pub async fn new() -> MessagingApp {
        Self::with_config(eliza_http::HttpConfig::default()).await
    }

    pub async fn with_config(config: eliza_http::HttpConfig) -> MessagingApp {
        let inboxes = AgentInboxes::with_limits(64, Duration::from_secs(2), 3);
        let bus = Arc::new(InProcessBus::new());
        let app = TestApp::with_ports(config, bus.clone(), Arc::new(inboxes.clone())).await;
        MessagingApp { app, inboxes, bus }
    }

    /// Creates and starts an agent (over HTTP) that answers every message with [`echo_of`].
    pub async fn echo_agent(&self, name: &str) -> AgentId {
        let id = self.stopped_agent(name).await;
        let started = self
            .post(&format!("/api/agents/{id}/start"), json!({}))
            .await;
        assert_eq!(started.status, 200, "{}", started.json);
        let outbox: Arc<dyn AgentOutbox> = Arc::new(self.state.messaging.clone());
        spawn_echo_responder(&self.inboxes, id, name, outbox);
        id
    }

    /// Creates an agent that is not running (nothing answers for it).
    pub async fn stopped_agent(&self, name: &str) -> AgentId {
        let created = self
            .post(
                "/api/agents",
                json!({"agent": {"name": name, "bio": ["test agent"]}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.json);
        AgentId::parse(created.json["data"]["id"].as_str().unwrap()).unwrap()
    }

    pub fn subscribe(&self, channel: ChannelId) -> Subscription {
        self.bus.subscribe(Topic::Channel(channel))
    }
}

/// The next bus event (panics after two seconds: the flow under test is stuck).
pub async fn next_event(subscription: &mut Subscription) -> BusEvent {
    match tokio::time::timeout(Duration::from_secs(2), subscription.recv()).await {
        Ok(Some(Received::Event(event))) => (*event).clone(),
        other => panic!("expected a bus event, got {other:?}"),
    }
}

/// A fresh user id, as the web UI keeps in localStorage.
pub fn user_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The `data` of a family-B success answer.
pub fn data(reply: &Reply) -> &Value {
    &reply.json["data"]
}

/// The current (default) message server's id.
pub const DEFAULT_SERVER: &str = "00000000-0000-0000-0000-000000000000";
/// A well-formed id nothing has.
pub const UNKNOWN: &str = "11111111-2222-3333-4444-555555555555";

/// A family-B error: exactly `{"success": false, "error": error}` with `status`.
pub fn assert_error(reply: &Reply, status: u16, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json, json!({"success": false, "error": error}));
}

/// A family-B success with `status`.
pub fn assert_success(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["success"], json!(true), "{}", reply.json);
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// JavaScript's `Date#toJSON`: `2026-11-23T11:00:00.209Z`.
pub fn assert_iso(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value}"));
    assert_eq!(text.len(), 24, "{text}");
    assert!(text.ends_with('Z'), "{text}");
    chrono::DateTime::parse_from_rfc3339(text).unwrap();
}

/// The `content` of each listed message, in order.
pub fn message_contents(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates a GROUP channel on the default server with these participants.
pub async fn group_channel(app: &MessagingApp, participants: &[&str]) -> ChannelId {
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "group", "message_server_id": DEFAULT_SERVER, "participantCentralUserIds": participants}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    ChannelId::parse(data(&created)["id"].as_str().unwrap()).unwrap()
}

/// The next bus event, which must be a `new_message`: the message and where it came from.
pub async fn next_new_message(subscription: &mut Subscription) -> (BusMessage, MessageOrigin) {
    match next_event(subscription).await {
        BusEvent::NewMessage { message, origin } => (*message, origin),
        other => panic!("expected a new message, got {other:?}"),
    }
}

/// A request whose body is not what the route wants, with the JSON content type.
pub fn raw(method: &str, path: &str, body: &str) -> TestRequest {
    let request = match method {
        "POST" => TestRequest::post(),
        "PATCH" => TestRequest::patch(),
        _ => unreachable!(),
    };
    request
        .uri(path)
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_owned())
}

/// Sends every body to every write: each answer is a success or a family-B client error, never a 500.
pub async fn assert_no_server_error(
    app: &MessagingApp,
    writes: &[(&str, String)],
    bodies: &[&str],
) {
    for (method, path) in writes {
        for body in bodies {
            let reply = app.call(raw(method, path, body)).await;
            assert!(
                reply.status.is_success() || reply.status.is_client_error(),
                "{method} {path} {body}: {reply:?}"
            );
            if reply.status.is_client_error() {
                assert_eq!(
                    reply.json["success"],
                    json!(false),
                    "{method} {path} {body}"
                );
            }
        }
    }
}

/// Shared records whose database is out of reach: every call fails as a down database does.
pub struct UnreachableRecords;

#[async_trait::async_trait]
impl RecordStore for UnreachableRecords {
    async fn insert_record(&self, _: &SharedRecord) -> StoreResult<bool> {
        Err(down())
    }
    async fn get_record(&self, _: RecordKind, _: Uuid) -> StoreResult<Option<SharedRecord>> {
        Err(down())
    }
    async fn swap_record(&self, _: &SharedRecord) -> StoreResult<bool> {
        Err(down())
    }
    async fn delete_record(&self, _: RecordKind, _: Uuid) -> StoreResult<bool> {
        Err(down())
    }
    async fn purge_records(&self, _: RecordKind, _: DateTime<Utc>) -> StoreResult<u64> {
        Err(down())
    }
    async fn list_records(
        &self,
        _: RecordKind,
        _: Option<&str>,
        _: RecordOrder,
        _: i64,
    ) -> StoreResult<Vec<SharedRecord>> {
        Err(down())
    }
    async fn count_records(&self, _: RecordKind) -> StoreResult<Vec<(String, i64)>> {
        Err(down())
    }
}

fn down() -> StoreError {
    StoreError::Unavailable("connection refused".to_owned())
}
