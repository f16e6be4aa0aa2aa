//! Echo agents, for interop tests only (feature `echo-agents`, env `ELIZA_ECHO_AGENTS=1`): every
//! started agent answers each message dispatched to it with `"echo: <text>"` through the
//! messaging service, like a running agent runtime would. Nothing else of an agent runs.

use async_trait::async_trait;
use eliza_bus::responder::spawn_renamable_echo_responder;
use eliza_bus::{AgentDispatch, AgentInboxes, AgentOutbox};
use eliza_domain::lifecycle::{AgentLifecycle, StartError, StatusRegistry};
use eliza_domain::store::Store;
use eliza_domain::{Agent, AgentId, AgentStatus};
use eliza_http::cluster::ClusterSetup;
use eliza_http::logs::LogBuffer;
use eliza_http::{AppState, HttpConfig};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio::sync::watch;

/// The environment variable that turns echo agents on (in a binary built with the feature).
pub const ENV: &str = "ELIZA_ECHO_AGENTS";

/// Whether `ELIZA_ECHO_AGENTS` asks for echo agents.
pub fn requested() -> bool {
    crate::config::env_flag(ENV).unwrap_or(false)
}

/// The shared state with echo agents wired in: the lifecycle opens an inbox and spawns an echo
/// responder per started agent, and the same inboxes are the messaging service's dispatch port.
pub fn app_state(
    store: Arc<dyn Store>,
    config: HttpConfig,
    logs: LogBuffer,
    cluster: Option<ClusterSetup>,
) -> AppState {
    tracing::warn!(
        "{ENV} is on: started agents only answer \"echo: <text>\" (a test stand-in, not an agent runtime); never use this in production"
    );
    let inboxes = AgentInboxes::new();
    let agents = Arc::new(EchoAgents::new(inboxes.clone()));
    let state = AppState::with_local_agents(store, config, logs, agents.clone(), inboxes, cluster);
    agents.set_outbox(state.agent_outbox());
    state
}

/// An [`AgentLifecycle`] whose agents are echo responders; status is kept by a [`StatusRegistry`].
pub struct EchoAgents {
    status: StatusRegistry,
    inboxes: AgentInboxes,
    /// Each running responder's name, so a character update renames the next replies.
    names: Mutex<HashMap<AgentId, watch::Sender<String>>>,
    /// Set once the messaging service exists (it is built from the state that holds `self`).
    outbox: OnceLock<Arc<dyn AgentOutbox>>,
}

impl EchoAgents {
    pub fn new(inboxes: AgentInboxes) -> Self {
        EchoAgents {
            status: StatusRegistry::default(),
            inboxes,
            names: Mutex::default(),
            outbox: OnceLock::new(),
        }
    }

    fn with_names<T>(
        &self,
        f: impl FnOnce(&mut HashMap<AgentId, watch::Sender<String>>) -> T,
    ) -> T {
        f(&mut self.names.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Where responders hand their replies; agents cannot start before this is set.
    pub fn set_outbox(&self, outbox: Arc<dyn AgentOutbox>) {
        if self.outbox.set(outbox).is_err() {
            tracing::warn!("echo agents: the outbox was already set; keeping the first one");
        }
    }
}

#[async_trait]
impl AgentLifecycle for EchoAgents {
    /// Must run inside the tokio runtime: the responder is a spawned task.
    async fn start(&self, agent: &Agent) -> Result<(), StartError> {
        if !self.inboxes.accepts(agent.id) {
            let outbox = self.outbox.get().cloned().ok_or_else(|| {
                StartError("echo agents are not wired to messaging yet".to_owned())
            })?;
            let (sender, name) = watch::channel(agent.character.name.clone());
            self.with_names(|names| names.insert(agent.id, sender));
            // Detached: the task ends once `stop` closes the inbox and it has drained.
            drop(spawn_renamable_echo_responder(
                &self.inboxes,
                agent.id,
                name,
                outbox,
            ));
        }
        self.status.start(agent).await
    }

    async fn stop(&self, id: AgentId) -> bool {
        self.inboxes.close(id);
        self.with_names(|names| names.remove(&id));
        self.status.stop(id).await
    }

    async fn update(&self, agent: &Agent) -> Result<(), StartError> {
        self.with_names(|names| {
            if let Some(name) = names.get(&agent.id) {
                name.send_replace(agent.character.name.clone());
            }
        });
        self.status.update(agent).await
    }

    fn status(&self, id: AgentId) -> AgentStatus {
        self.status.status(id)
    }

    fn running(&self) -> Vec<AgentId> {
        self.status.running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use eliza_bus::{AgentWork, BusMessage, DispatchError, NewMessage, OutboxError};
    use eliza_domain::messaging::ChannelType;
    use eliza_domain::{ChannelId, Character, MessageId};
    use serde_json::json;
    use std::time::Duration;
    use tokio::sync::mpsc;

    /// Records the replies it is handed.
    struct Recorder(mpsc::UnboundedSender<NewMessage>);

    #[async_trait]
    impl AgentOutbox for Recorder {
        async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
            let stored = message(reply.channel_id, &reply.content);
            self.0
                .send(reply)
                .map_err(|err| OutboxError::Unavailable(err.to_string()))?;
            Ok(stored)
        }

        fn complete(&self, _: ChannelId, _: AgentId, _: Option<MessageId>) {}
    }

    fn message(channel_id: ChannelId, text: &str) -> BusMessage {
        BusMessage {
            source_type: "client_chat".to_owned(),
            ..BusMessage::sample(channel_id, text)
        }
    }

    fn work(text: &str) -> AgentWork {
        AgentWork::Message {
            message: Box::new(message(ChannelId::new_random(), text)),
            channel_type: ChannelType::Dm,
        }
    }

    fn agent() -> Agent {
        let character = Character::from_json(&json!({"name": "Echo", "bio": ["b"]})).unwrap();
        Agent::new(character, Utc::now())
    }

    #[tokio::test]
    async fn a_started_agent_echoes_until_it_is_stopped() {
        let inboxes = AgentInboxes::new();
        let agents = EchoAgents::new(inboxes.clone());
        let (sender, mut replies) = mpsc::unbounded_channel();
        agents.set_outbox(Arc::new(Recorder(sender)));
        let agent = agent();

        agents.start(&agent).await.unwrap();
        // Starting a running agent changes nothing.
        agents.start(&agent).await.unwrap();
        assert_eq!(agents.status(agent.id), AgentStatus::Active);
        assert_eq!(agents.running(), vec![agent.id]);

        inboxes.dispatch(agent.id, work("hi")).await.unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(2), replies.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.content, "echo: hi");
        assert_eq!(reply.author_id, agent.id.to_string());

        assert!(agents.stop(agent.id).await);
        assert_eq!(agents.status(agent.id), AgentStatus::Inactive);
        assert_eq!(
            inboxes.dispatch(agent.id, work("late")).await,
            Err(DispatchError::NotRunning(agent.id))
        );
        assert!(!agents.stop(agent.id).await);
    }

    #[tokio::test]
    async fn an_update_renames_the_next_replies() {
        let inboxes = AgentInboxes::new();
        let agents = EchoAgents::new(inboxes.clone());
        let (sender, mut replies) = mpsc::unbounded_channel();
        agents.set_outbox(Arc::new(Recorder(sender)));
        let mut agent = agent();
        agents.start(&agent).await.unwrap();
        let mut next_name = async |text: &str| {
            inboxes.dispatch(agent.id, work(text)).await.unwrap();
            let reply = tokio::time::timeout(Duration::from_secs(2), replies.recv())
                .await
                .unwrap()
                .unwrap();
            reply.metadata.unwrap()["agentName"].clone()
        };
        assert_eq!(next_name("before").await, json!("Echo"));
        agent.character.name = "Renamed".to_owned();
        agents.update(&agent).await.unwrap();
        assert_eq!(next_name("after").await, json!("Renamed"));
    }

    #[tokio::test]
    async fn agents_cannot_start_before_the_outbox_is_set() {
        let inboxes = AgentInboxes::new();
        let agents = EchoAgents::new(inboxes.clone());
        let agent = agent();
        assert!(agents.start(&agent).await.is_err());
        assert_eq!(agents.status(agent.id), AgentStatus::Inactive);
        assert!(!inboxes.accepts(agent.id));
    }
}
