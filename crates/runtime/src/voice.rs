//! A spoken exchange outside any channel (the audio routes' `speech/conversation`): the user's
//! words and the agent's reply, stored as memories of one agent room, the reply written by the
//! agent's TEXT_LARGE model.
//!
//! 1.7.2 renders its full message-handler template here and keeps only the `<text>` of the XML.
//! A voice reply needs no actions, providers or thought, so this asks for the reply alone: the
//! CHARACTER provider's text (bio, style, examples, system prompt), the room's recent dialogue,
//! and the new utterance, with directions to answer in a few plain spoken sentences. An answer
//! in XML anyway (`<text>…</text>`) is read for its text. There is no shouldRespond step: the
//! user spoke to this agent.

use crate::agent::AgentRuntime;
use crate::bootstrap::character::describe;
use crate::bootstrap::conversation::{entity_names, recent_memories};
use crate::embedding::Priority;
use crate::error::{RuntimeError, RuntimeResult};
use crate::turn::now_millis;
use crate::xml::parse_key_value_xml;
use eliza_domain::ids::create_unique_uuid;
use eliza_domain::memory::{MESSAGES_TABLE, Memory};
use eliza_domain::world::{Entity, Room};
use eliza_domain::{EntityId, MemoryId, RoomId, WorldId};
use eliza_models::ModelType;
use rand::SeedableRng;
use serde_json::{Value, json};
use uuid::Uuid;

/// Earlier messages of the room shown to the model.
const DIALOGUE: u32 = 16;
/// The `source` of the memories.
pub const SOURCE: &str = "speech";

/// What the user said, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Utterance {
    pub text: String,
    pub entity: EntityId,
    pub user_name: String,
    pub room: RoomId,
    /// The world of a room created for this exchange (the agent's own world by default).
    pub world: Option<WorldId>,
}

impl Utterance {
    /// `text` from `entity` (default: one "speech user" per agent) in `room` (default: the
    /// entity's speech room with this agent).
    pub fn new(runtime: &AgentRuntime, text: String, entity: Option<EntityId>) -> Self {
        let entity =
            entity.unwrap_or_else(|| EntityId(create_unique_uuid(runtime.id.0, "speech-user")));
        Utterance {
            text,
            entity,
            user_name: "User".to_owned(),
            room: RoomId(create_unique_uuid(
                runtime.id.0,
                &format!("speech-{entity}"),
            )),
            world: None,
        }
    }
}

/// The agent's answer and the two memories stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SpokenReply {
    pub text: String,
    pub message: MemoryId,
    pub reply: MemoryId,
    pub room: RoomId,
}

/// Stores the utterance, asks the model for the agent's reply and stores that too.
pub async fn answer(runtime: &AgentRuntime, utterance: &Utterance) -> RuntimeResult<SpokenReply> {
    let world = prepare_room(runtime, utterance).await?;
    let history = recent_memories(runtime, utterance.room, DIALOGUE).await?;
    let message = MemoryId(Uuid::new_v4());
    let content = json!({"text": utterance.text, "source": SOURCE});
    remember(
        runtime,
        utterance,
        world,
        message,
        utterance.entity,
        content,
    )
    .await?;
    let prompt = prompt(runtime, &history, utterance).await;
    let answer = runtime
        .generate_text(ModelType::TextLarge, prompt, None, None)
        .await?;
    let text = reply_text(&answer, &runtime.name());
    if text.is_empty() {
        return Err(RuntimeError::Other(
            "the model returned no reply".to_owned(),
        ));
    }
    let reply = MemoryId(Uuid::new_v4());
    let content = json!({"text": text, "source": SOURCE, "actions": ["REPLY"],
        "inReplyTo": message});
    remember(
        runtime,
        utterance,
        world,
        reply,
        EntityId(runtime.id.0),
        content,
    )
    .await?;
    Ok(SpokenReply {
        text,
        message,
        reply,
        room: utterance.room,
    })
}

/// The user's entity, the room (in the caller's world when it is the agent's, else the agent's
/// own world) and both participants; returns the room's world. The agent's own entity and world
/// are made when it starts (`ensure_self`).
async fn prepare_room(
    runtime: &AgentRuntime,
    utterance: &Utterance,
) -> RuntimeResult<Option<WorldId>> {
    let store = &runtime.store;
    store
        .ensure_entity(&Entity {
            id: utterance.entity,
            agent_id: runtime.id,
            names: vec![utterance.user_name.clone()],
            metadata: json!({}),
            created_at: now_millis(),
        })
        .await?;
    let world = match store.get_room(utterance.room).await? {
        Some(room) => room.world_id,
        None => {
            let world = match utterance.world {
                Some(world)
                    if store
                        .get_world(world)
                        .await?
                        .is_some_and(|found| found.agent_id == runtime.id) =>
                {
                    world
                }
                _ => WorldId(runtime.id.0),
            };
            store
                .ensure_room(&Room {
                    id: utterance.room,
                    agent_id: runtime.id,
                    source: SOURCE.to_owned(),
                    room_type: "DM".to_owned(),
                    message_server_id: None,
                    world_id: Some(world),
                    name: Some(format!("Voice chat with {}", utterance.user_name)),
                    metadata: None,
                    channel_id: None,
                    created_at: now_millis(),
                })
                .await?;
            Some(world)
        }
    };
    runtime
        .ensure_participant(utterance.room, utterance.entity)
        .await?;
    runtime
        .ensure_participant(utterance.room, EntityId(runtime.id.0))
        .await?;
    Ok(world)
}

async fn remember(
    runtime: &AgentRuntime,
    utterance: &Utterance,
    world: Option<WorldId>,
    id: MemoryId,
    author: EntityId,
    content: Value,
) -> RuntimeResult<()> {
    let text = content["text"].as_str().unwrap_or_default().to_owned();
    let memory = Memory {
        id,
        table: MESSAGES_TABLE.to_owned(),
        created_at: now_millis(),
        content,
        entity_id: Some(author),
        agent_id: runtime.id,
        room_id: Some(utterance.room),
        world_id: world,
        unique: true,
        metadata: json!({"type": "message", "source": SOURCE}),
        embedding: None,
    };
    runtime.store.create_memory(&memory).await?;
    runtime
        .embeddings
        .enqueue(id, &text, Some(utterance.room), None, Priority::Normal);
    Ok(())
}

async fn prompt(runtime: &AgentRuntime, history: &[Memory], utterance: &Utterance) -> String {
    let character = runtime.character();
    let name = &character.name;
    let seed = runtime.options.seed.unwrap_or_else(rand::random);
    let about = describe(
        &character,
        false,
        &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed),
    );
    let names = entity_names(runtime, history).await;
    let mut dialogue: Vec<String> = history
        .iter()
        .map(|memory| {
            let speaker = memory
                .entity_id
                .and_then(|id| names.get(&id).cloned())
                .unwrap_or_else(|| "User".to_owned());
            let text = memory.content["text"].as_str().unwrap_or_default();
            format!("{speaker}: {}", text.trim())
        })
        .collect();
    dialogue.push(format!(
        "{}: {}",
        utterance.user_name,
        utterance.text.trim()
    ));
    format!(
        "{about}\n\n# Conversation\n{dialogue}\n\n# Instructions\n\
         You are {name}, talking with {user} by voice. Write {name}'s next spoken reply: one to \
         three short sentences in {name}'s own voice, plain words only (no markdown, emoji, \
         lists or stage directions). Answer with the reply only.",
        about = about.text,
        dialogue = dialogue.join("\n"),
        user = utterance.user_name,
    )
}

/// The reply in a model answer: the `<text>` of an XML answer, else the answer without a
/// leading `Name:` and surrounding quotes.
pub fn reply_text(answer: &str, agent_name: &str) -> String {
    if let Some(text) = parse_key_value_xml(answer)
        .as_ref()
        .and_then(|parsed| parsed.str("text"))
    {
        return text.trim().to_owned();
    }
    let answer = answer.trim();
    let answer = answer
        .strip_prefix(agent_name)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(answer);
    answer.trim().trim_matches('"').trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_from_xml_or_plain_text() {
        assert_eq!(
            reply_text(
                "<response><thought>t</thought><text>Hi there!</text></response>",
                "Eliza"
            ),
            "Hi there!"
        );
        assert_eq!(reply_text("  Hello, friend.  ", "Eliza"), "Hello, friend.");
        assert_eq!(reply_text("Eliza: Good morning.", "Eliza"), "Good morning.");
        assert_eq!(reply_text("\"Quoted.\"", "Eliza"), "Quoted.");
        assert_eq!(reply_text("   ", "Eliza"), "");
    }
}
