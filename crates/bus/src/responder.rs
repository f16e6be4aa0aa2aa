//! An agent stand-in for tests: answers every message dispatched to it with `"echo: <text>"`
//! through the outbox, like a running agent would, so messaging is testable without a runtime.

use crate::dispatch::{AgentInboxes, AgentWork};
use crate::outbox::{AgentOutbox, NewMessage};
use eliza_domain::AgentId;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The text the responder answers `text` with.
pub fn echo_of(text: &str) -> String {
    format!("echo: {text}")
}

/// Opens `agent`'s inbox and answers each message in it until the inbox is closed.
/// Deletions are acknowledged and otherwise ignored.
pub fn spawn_echo_responder(
    inboxes: &AgentInboxes,
    agent: AgentId,
    agent_name: &str,
    outbox: Arc<dyn AgentOutbox>,
) -> JoinHandle<()> {
    let (_, name) = watch::channel(agent_name.to_owned());
    spawn_renamable_echo_responder(inboxes, agent, name, outbox)
}

/// [`spawn_echo_responder`] whose replies carry the name `name` holds when each is written, so a
/// character update shows in the next reply (`metadata.agentName`), as with a reloaded runtime.
pub fn spawn_renamable_echo_responder(
    inboxes: &AgentInboxes,
    agent: AgentId,
    name: watch::Receiver<String>,
    outbox: Arc<dyn AgentOutbox>,
) -> JoinHandle<()> {
    let mut inbox = inboxes.open(agent);
    tokio::spawn(async move {
        while let Some(delivery) = inbox.recv().await {
            if let AgentWork::Message {
                message,
                channel_type,
            } = delivery.work()
            {
                let text = echo_of(&message.content);
                let agent_name = name.borrow().clone();
                let reply = NewMessage {
                    id: None,
                    channel_id: message.channel_id,
                    message_server_id: message.message_server_id,
                    author_id: agent.to_string(),
                    content: text.clone(),
                    raw_message: json!({"text": text, "thought": "echoing", "actions": ["REPLY"]}),
                    source_type: "agent_response".to_owned(),
                    source_id: None,
                    in_reply_to: Some(message.id),
                    metadata: Some(json!({
                        "agent_id": agent,
                        "agentName": agent_name,
                        "channelType": channel_type.as_str(),
                        "isDm": channel_type.as_str() == "DM",
                    })),
                };
                // A failed submit leaves the delivery unacknowledged, so it is retried.
                if outbox.submit(reply).await.is_err() {
                    continue;
                }
                outbox.complete(message.channel_id, agent, Some(message.id));
            }
            delivery.ack();
        }
    })
}
