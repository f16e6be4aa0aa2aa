//! RECENT_MESSAGES and ATTACHMENTS: the room's dialogue as the model reads it.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::plugin::Provider;
use crate::state::{ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use chrono::{DateTime, Local, Utc};
use eliza_domain::memory::{MESSAGES_TABLE, Memory, MemoryQuery};
use eliza_domain::{EntityId, RoomId};
use futures_util::future::join_all;
use serde_json::Value;
use std::collections::HashMap;

/// Messages shown by default (`conversationLength` of 1.7.2).
pub const CONVERSATION_LENGTH: u32 = 32;

/// `addHeader`: `"header\nbody\n"`, or nothing when the body is empty.
pub fn add_header(header: &str, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!("{header}\n{body}\n")
    }
}

/// The room's last messages, oldest first.
pub async fn recent_memories(
    runtime: &AgentRuntime,
    room: RoomId,
    count: u32,
) -> RuntimeResult<Vec<Memory>> {
    let mut memories = runtime
        .store
        .list_memories(&MemoryQuery {
            table: MESSAGES_TABLE.to_owned(),
            room_id: Some(room),
            limit: Some(count),
            ..MemoryQuery::default()
        })
        .await?;
    memories.reverse();
    Ok(memories)
}

/// Display names of the memories' authors (the agent's own name for its messages).
pub async fn entity_names(
    runtime: &AgentRuntime,
    memories: &[Memory],
) -> HashMap<EntityId, String> {
    let mut ids: Vec<EntityId> = memories.iter().filter_map(|m| m.entity_id).collect();
    ids.sort_by_key(|id| id.0);
    ids.dedup();
    let lookups = ids
        .iter()
        .map(|id| runtime.store.get_entity(runtime.id, *id));
    let entities = join_all(lookups).await;
    let mut names: HashMap<EntityId, String> = ids
        .into_iter()
        .zip(entities)
        .filter_map(|(id, entity)| {
            let name = entity.ok()??.names.into_iter().next()?;
            Some((id, name))
        })
        .collect();
    names.insert(EntityId(runtime.id.0), runtime.name());
    names
}

fn is_action_result(memory: &Memory) -> bool {
    memory.content.get("type").and_then(Value::as_str) == Some("action_result")
}

/// `N minutes ago` and friends.
pub fn time_ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - then).num_seconds().max(0);
    let (count, unit) = match seconds {
        0..60 => return "just now".to_owned(),
        60..3600 => (seconds / 60, "minute"),
        3600..86_400 => (seconds / 3600, "hour"),
        _ => (seconds / 86_400, "day"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural} ago")
}

fn text_of(memory: &Memory) -> &str {
    memory
        .content
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// One dialogue line: `HH:MM (N minutes ago) [entity] Name: text`, then thought, actions and
/// attachments when present.
pub fn format_message(memory: &Memory, name: &str, now: DateTime<Utc>) -> String {
    let time = memory.created_at.with_timezone(&Local).format("%H:%M");
    let entity = memory
        .entity_id
        .map(|id| id.0.to_string())
        .unwrap_or_default();
    let mut line = format!(
        "{time} ({}) [{entity}] {name}: {}",
        time_ago(memory.created_at, now),
        text_of(memory)
    );
    if let Some(thought) = memory.content.get("thought").and_then(Value::as_str)
        && !thought.is_empty()
    {
        line.push_str(&format!(" ({name}'s internal thought: {thought})"));
    }
    let actions = string_list(memory.content.get("actions"));
    if !actions.is_empty() {
        line.push_str(&format!(" ({name}'s actions: {})", actions.join(", ")));
    }
    let attachments = attachment_lines(memory);
    if !attachments.is_empty() {
        line.push_str(&format!(" (Attachments: {})", attachments.join(", ")));
    }
    line
}

fn string_list(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// `[id - title (url)]` per attachment.
fn attachment_lines(memory: &Memory) -> Vec<String> {
    memory
        .content
        .get("attachments")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
                    format!("[{} - {} ({})]", field("id"), field("title"), field("url"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Messages in the short dialogue of compact prompts: small models read prompts slowly.
const DIALOGUE_MESSAGES: usize = 8;
/// Characters kept of each message there.
const DIALOGUE_MESSAGE_CHARS: usize = 400;

/// The last messages before the one being answered, as plain `Name: text` lines, oldest first,
/// for compact prompts.
fn plain_dialogue(dialogue: &[&Memory], name_of: &dyn Fn(&Memory) -> String) -> String {
    let start = dialogue.len().saturating_sub(DIALOGUE_MESSAGES);
    dialogue[start..]
        .iter()
        .map(|memory| {
            let text: String = text_of(memory)
                .chars()
                .take(DIALOGUE_MESSAGE_CHARS)
                .collect();
            format!("{}: {}", name_of(memory), text.trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub struct RecentMessagesProvider;

#[async_trait]
impl Provider for RecentMessagesProvider {
    fn name(&self) -> &str {
        "RECENT_MESSAGES"
    }

    fn description(&self) -> &str {
        "Recent messages of the conversation"
    }

    fn position(&self) -> i32 {
        100
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let memories = recent_memories(runtime, turn.room.id, CONVERSATION_LENGTH).await?;
        let names = entity_names(runtime, &memories).await;
        let now = Utc::now();
        let name_of = |memory: &Memory| {
            memory
                .entity_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "Unknown User".to_owned())
        };
        let (results, dialogue): (Vec<&Memory>, Vec<&Memory>) =
            memories.iter().partition(|memory| is_action_result(memory));
        let lines: Vec<String> = dialogue
            .iter()
            .map(|memory| format_message(memory, &name_of(memory), now))
            .collect();
        let action_lines: Vec<String> = results
            .iter()
            .map(|memory| format!("- {}", text_of(memory)))
            .collect();
        let recent_messages = add_header("# Conversation Messages", &lines.join("\n"));
        let history: Vec<&Memory> = dialogue
            .iter()
            .copied()
            .filter(|memory| memory.id != turn.message.id)
            .collect();
        let history = plain_dialogue(&history, &name_of);
        let recent_actions = add_header("# Recent Action Executions", &action_lines.join("\n"));
        let received = format!("{}: {}", turn.sender_name, turn.text());
        let focus = format!(
            "You are replying to the above message from **{}**. Keep your answer relevant to that message. Do not repeat earlier replies unless the sender asks again.",
            turn.sender_name
        );
        let text = [
            recent_messages.clone(),
            recent_actions.clone(),
            add_header("# Received Message", &received),
            add_header("# Focus your response", &focus),
        ]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
        Ok(ProviderResult::text(text.trim_end())
            .with_value("recentMessages", recent_messages.trim_end())
            .with_value("recentActionResults", recent_actions.trim_end())
            .with_value("recentMessage", received)
            .with_value("dialogueHistory", history)
            .with_value("lastMessageText", turn.text())
            .with_value("senderName", turn.sender_name.as_str())
            .with_value("recentPosts", ""))
    }
}

pub struct AttachmentsProvider;

#[async_trait]
impl Provider for AttachmentsProvider {
    fn name(&self) -> &str {
        "ATTACHMENTS"
    }

    fn description(&self) -> &str {
        "Files and images attached to the current and recent messages"
    }

    fn dynamic(&self) -> bool {
        true
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let memories = recent_memories(runtime, turn.room.id, CONVERSATION_LENGTH).await?;
        let mut seen = Vec::new();
        for memory in memories.iter().rev().chain(std::iter::once(&turn.message)) {
            for item in memory
                .content
                .get("attachments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or("");
                let line = format!(
                    "ID: {}\nName: {}\nURL: {}\nType: {}\nDescription: {}\nText: {}\n",
                    field("id"),
                    field("title"),
                    field("url"),
                    field("contentType"),
                    field("description"),
                    field("text"),
                );
                if !seen.contains(&line) {
                    seen.push(line);
                }
            }
        }
        Ok(ProviderResult::text(add_header(
            "# Attachments",
            &seen.join("\n"),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn relative_times_read_naturally() {
        let now = Utc::now();
        assert_eq!(time_ago(now - Duration::seconds(5), now), "just now");
        assert_eq!(time_ago(now - Duration::seconds(60), now), "1 minute ago");
        assert_eq!(time_ago(now - Duration::minutes(3), now), "3 minutes ago");
        assert_eq!(time_ago(now - Duration::hours(2), now), "2 hours ago");
        assert_eq!(time_ago(now - Duration::days(4), now), "4 days ago");
        // A clock skew never gives a negative age.
        assert_eq!(time_ago(now + Duration::seconds(30), now), "just now");
    }

    #[test]
    fn headers_only_wrap_non_empty_bodies() {
        assert_eq!(add_header("# H", "body"), "# H\nbody\n");
        assert_eq!(add_header("# H", ""), "");
    }
}
