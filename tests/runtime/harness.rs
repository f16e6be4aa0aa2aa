//! A running agent over an in-memory SQLite store, a scripted model and an outbox that records
//! what the agent sends.

use async_trait::async_trait;
use chrono::Utc;
use eliza_bus::{
    AgentDispatch, AgentInboxes, AgentOutbox, AgentWork, BusMessage, NewMessage, OutboxError,
    ReplyChunk,
};
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::log::{AgentLog, LogQuery};
use eliza_domain::messaging::ChannelType;
use eliza_domain::secrets::SecretCipher;
use eliza_domain::store::{AgentStore, LogStore};
use eliza_domain::{Agent, AgentId, ChannelId, Character, MessageId, Store};
use eliza_models::ModelProvider;
use eliza_models::testing::ScriptedProvider;
use eliza_runtime::{AgentRegistry, Environment, RegistryConfig, RuntimeOptions};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// What the agent sent, in order.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of short-lived test records; boxing would only complicate matching"
)]
pub enum Sent {
    Reply(NewMessage),
    Chunk(ReplyChunk),
    Failed(String),
    Complete(ChannelId, Option<MessageId>),
}

#[derive(Default)]
pub struct Recorder {
    sent: Mutex<Vec<Sent>>,
    changed: Notify,
}

impl Recorder {
    fn record(&self, sent: Sent) {
        self.sent.lock().unwrap().push(sent);
        self.changed.notify_waiters();
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    pub fn replies(&self) -> Vec<NewMessage> {
        self.sent()
            .into_iter()
            .filter_map(|sent| match sent {
                Sent::Reply(reply) => Some(reply),
                _ => None,
            })
            .collect()
    }

    /// Waits until `count` turns completed.
    pub async fn completions(&self, count: usize) -> Vec<Sent> {
        self.wait_for(count, "turns completed", |s| {
            matches!(s, Sent::Complete(..))
        })
        .await
    }

    /// Waits until `count` reply chunks were streamed.
    pub async fn chunks(&self, count: usize) -> Vec<Sent> {
        self.wait_for(count, "chunks streamed", |s| matches!(s, Sent::Chunk(..)))
            .await
    }

    async fn wait_for(&self, count: usize, what: &str, counted: fn(&Sent) -> bool) -> Vec<Sent> {
        let done = || self.sent().iter().filter(|s| counted(s)).count() >= count;
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let changed = self.changed.notified();
                if done() {
                    return;
                }
                changed.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("fewer than {count} {what} within 10 s"));
        self.sent()
    }
}

#[async_trait]
impl AgentOutbox for Recorder {
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
        let mut stored = BusMessage::sample(reply.channel_id, &reply.content);
        stored.id = reply.id.unwrap_or_else(MessageId::new_random);
        self.record(Sent::Reply(reply));
        Ok(stored)
    }

    fn complete(&self, channel_id: ChannelId, _agent: AgentId, in_reply_to: Option<MessageId>) {
        self.record(Sent::Complete(channel_id, in_reply_to));
    }

    fn stream_chunk(&self, chunk: ReplyChunk) {
        self.record(Sent::Chunk(chunk));
    }

    fn stream_failed(&self, _chunk: ReplyChunk, error: &str) {
        self.record(Sent::Failed(error.to_owned()));
    }
}

pub struct Harness {
    pub store: Arc<DieselStore>,
    pub registry: Arc<AgentRegistry>,
    pub inboxes: AgentInboxes,
    pub outbox: Arc<Recorder>,
    pub model: Arc<ScriptedProvider>,
    pub agent: Agent,
}

pub fn character(extra: Value) -> Character {
    let mut base = json!({
        "name": "Eliza",
        "bio": ["Likes tea."],
        "system": "You are Eliza.",
        "plugins": ["@elizaos/plugin-openai"],
    });
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    Character::from_json(&base).unwrap()
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(character(json!({})), RuntimeOptions::default()).await
    }

    pub async fn start_with(character: Character, options: RuntimeOptions) -> Harness {
        Harness::start_custom(character, options, ScriptedProvider::new(), |_| Ok(())).await
    }

    /// `check` decides, from the character being started, whether its models can be built.
    pub async fn start_custom(
        character: Character,
        options: RuntimeOptions,
        model: ScriptedProvider,
        check: impl Fn(&Character) -> Result<(), String> + Send + Sync + 'static,
    ) -> Harness {
        let store = Arc::new(
            DieselStore::connect(":memory:", StoreOptions::default())
                .await
                .unwrap(),
        );
        let model = Arc::new(model);
        let provider: Arc<dyn ModelProvider> = model.clone();
        let config = RegistryConfig {
            env: Environment::new(HashMap::new()),
            cipher: SecretCipher::new("test"),
            options,
            catalog: Default::default(),
            models: Arc::new(move |character, _| {
                check(character)?;
                Ok(vec![Arc::clone(&provider)])
            }),
        };
        let inboxes = AgentInboxes::new();
        let dyn_store: Arc<dyn Store> = store.clone();
        let registry = Arc::new(AgentRegistry::new(dyn_store, inboxes.clone(), config));
        let outbox = Arc::new(Recorder::default());
        registry.set_outbox(outbox.clone());
        let agent = Agent::new(character, Utc::now());
        store.create_agent(&agent).await.unwrap();
        registry.start(&agent).await.unwrap();
        Harness {
            store,
            registry,
            inboxes,
            outbox,
            model,
            agent,
        }
    }

    /// A user message in a channel, as the messaging service hands it to the agent.
    pub fn message(&self, channel: ChannelId, text: &str, source: &str) -> BusMessage {
        let mut message = BusMessage::sample(channel, text);
        message.author_id = "0f5ad9e1-7a5e-4c1b-9a43-3e8b1f6c2d10".to_owned();
        message.author_display_name = Some("Ada".to_owned());
        message.source_type = source.to_owned();
        message.created_at = Utc::now().timestamp_millis();
        message
    }

    pub async fn send(&self, message: &BusMessage, channel_type: ChannelType) {
        self.inboxes
            .dispatch(
                self.agent.id,
                AgentWork::Message {
                    message: Box::new(message.clone()),
                    channel_type,
                },
            )
            .await
            .unwrap();
    }

    pub async fn logs(&self) -> Vec<AgentLog> {
        self.store
            .list_logs(&LogQuery {
                agent_id: Some(self.agent.id),
                limit: 1000,
                ..LogQuery::default()
            })
            .await
            .unwrap()
    }

    /// Waits for a log row of this type whose body matches.
    pub async fn wait_for_log(&self, log_type: &str, matches: impl Fn(&Value) -> bool) -> AgentLog {
        for _ in 0..200 {
            if let Some(log) = self
                .logs()
                .await
                .into_iter()
                .find(|log| log.log_type == log_type && matches(&log.body))
            {
                return log;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no {log_type} log row appeared");
    }
}

/// A message-handler answer.
pub fn handler_answer(actions: &str, text: &str) -> String {
    format!(
        "<response><thought>Answering Ada.</thought><actions>{actions}</actions><providers></providers><text>{text}</text></response>"
    )
}
