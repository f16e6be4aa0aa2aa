//! Messaging test fixture: a [`TestApp`] whose agents answer through the echo responder, and a
//! view on the bus, so the whole message flow is testable without an agent runtime.

use crate::support::TestApp;
use eliza_bus::responder::spawn_echo_responder;
use eliza_bus::{
    AgentInboxes, AgentOutbox, Bus, BusEvent, InProcessBus, Received, Subscription, Topic,
};
use eliza_domain::{AgentId, ChannelId};
use serde_json::{Value, json};
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

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
        let mut app = TestApp::with_config(config).await;
        let inboxes = AgentInboxes::with_limits(64, Duration::from_secs(2), 3);
        let bus = Arc::new(InProcessBus::new());
        app.state = app
            .state
            .clone()
            .with_messaging_ports(bus.clone(), Arc::new(inboxes.clone()));
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
pub fn data(reply: &crate::support::Reply) -> &Value {
    &reply.json["data"]
}
