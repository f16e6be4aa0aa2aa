//! REFLECTION: every few messages, the agent reflects on the conversation and stores the new
//! facts and relationships it noticed. Unlike 1.7.2, whose parser left `<facts>` as a string, the
//! facts and relationships really are stored.

use crate::agent::AgentRuntime;
use crate::bootstrap::conversation::{CONVERSATION_LENGTH, recent_memories};
use crate::bootstrap::people::{FACTS_TABLE, format_entities, room_entities, sender_relationships};
use crate::embedding::Priority;
use crate::error::RuntimeResult;
use crate::plugin::Evaluator;
use crate::state::State;
use crate::templates::{TemplateName, template};
use crate::turn::Turn;
use crate::xml::{ParsedXml, parse_key_value_xml};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use eliza_domain::ids::validate_uuid;
use eliza_domain::memory::{Memory, MemoryQuery};
use eliza_domain::task::CacheEntry;
use eliza_domain::world::Relationship;
use eliza_domain::{EntityId, MemoryId, RelationshipId};
use eliza_models::{ModelType, PromptProfile};
use serde_json::{Map, Value, json};

/// Messages that must arrive before the next reflection (`ceil(32 / 4)`).
pub const MESSAGES_BETWEEN_REFLECTIONS: usize = 8;
const KNOWN_FACTS: u32 = 30;

fn cache_key(turn: &Turn) -> String {
    format!("{}-reflection-last-processed", turn.room.id.0)
}

pub struct ReflectionEvaluator;

#[async_trait]
impl Evaluator for ReflectionEvaluator {
    fn name(&self) -> &str {
        "REFLECTION"
    }

    fn description(&self) -> &str {
        "Generate a self-reflective thought on the conversation, then extract facts and relationships between entities in the conversation."
    }

    async fn validate(&self, runtime: &AgentRuntime, turn: &Turn) -> bool {
        // A small local model's "facts" would be noise in memory, and each reflection costs
        // seconds of CPU after every few messages.
        if runtime.prompt_profile(ModelType::TextLarge) != PromptProfile::Full {
            return false;
        }
        let last = last_processed(runtime, turn).await;
        let Ok(recent) = recent_memories(runtime, turn.room.id, CONVERSATION_LENGTH).await else {
            return false;
        };
        let new = recent
            .iter()
            .filter(|memory| last.is_none_or(|last| memory.created_at > last))
            .count();
        new > MESSAGES_BETWEEN_REFLECTIONS
    }

    async fn handle(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        state: &State,
    ) -> RuntimeResult<()> {
        let entities = room_entities(runtime, turn).await?;
        let known = known_facts(runtime, turn).await?;
        let relationships = sender_relationships(runtime, turn).await?;
        let mut state = state.clone();
        state.set("entitiesInRoom", format_entities(&entities));
        state.set("existingRelationships", relationships);
        state.set("senderName", turn.sender_name.clone());
        state.set("senderId", turn.sender().0.to_string());
        state.set("roomType", turn.channel_type.as_str());
        state.set("knownFacts", known.join("\n"));
        let character = runtime.character();
        let prompt = runtime.renderer.render_state(
            template(TemplateName::Reflection, &character.templates),
            &state.to_value(),
            &mut turn.rng("REFLECTION"),
        )?;
        let answer = runtime
            .generate_text(ModelType::TextSmall, prompt, Some(turn), None)
            .await?;
        let Some(parsed) = parse_key_value_xml(&answer) else {
            tracing::warn!(agent = %runtime.id, "reflection answer could not be parsed");
            return Ok(());
        };
        let entity_ids: Vec<EntityId> = entities.iter().map(|e| e.id).collect();
        store_facts(runtime, turn, &parsed, &known).await?;
        store_relationships(runtime, &parsed, &entity_ids).await?;
        mark_processed(runtime, turn).await
    }
}

async fn last_processed(runtime: &AgentRuntime, turn: &Turn) -> Option<DateTime<Utc>> {
    let entry = runtime
        .store
        .get_cache(runtime.id, &cache_key(turn), Utc::now())
        .await
        .ok()??;
    entry
        .value
        .get("processedAt")
        .and_then(Value::as_i64)
        .and_then(DateTime::from_timestamp_millis)
}

async fn mark_processed(runtime: &AgentRuntime, turn: &Turn) -> RuntimeResult<()> {
    let now = Utc::now();
    runtime
        .store
        .set_cache(&CacheEntry {
            key: cache_key(turn),
            agent_id: runtime.id,
            value: json!({"processedAt": now.timestamp_millis(), "messageId": turn.message.id}),
            created_at: now,
            expires_at: None,
        })
        .await?;
    Ok(())
}

async fn known_facts(runtime: &AgentRuntime, turn: &Turn) -> RuntimeResult<Vec<String>> {
    let facts = runtime
        .store
        .list_memories(&MemoryQuery {
            table: FACTS_TABLE.to_owned(),
            agent_id: Some(runtime.id),
            room_id: Some(turn.room.id),
            limit: Some(KNOWN_FACTS),
            ..MemoryQuery::default()
        })
        .await?;
    Ok(facts
        .iter()
        .filter_map(|f| f.content.get("text").and_then(Value::as_str))
        .map(str::to_owned)
        .collect())
}

/// The objects of a parsed list field (one object alone is a list of one).
fn objects(parsed: &ParsedXml, key: &str) -> Vec<Map<String, Value>> {
    match parsed.get(key) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).cloned().collect(),
        Some(Value::Object(item)) => vec![item.clone()],
        _ => Vec::new(),
    }
}

fn flag(item: &Map<String, Value>, key: &str) -> bool {
    match item.get(key) {
        Some(Value::Bool(value)) => *value,
        Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

async fn store_facts(
    runtime: &AgentRuntime,
    turn: &Turn,
    parsed: &ParsedXml,
    known: &[String],
) -> RuntimeResult<()> {
    for fact in objects(parsed, "facts") {
        let Some(claim) = fact.get("claim").and_then(Value::as_str).map(str::trim) else {
            continue;
        };
        if claim.is_empty()
            || flag(&fact, "already_known")
            || flag(&fact, "in_bio")
            || known.iter().any(|k| k == claim)
        {
            continue;
        }
        let memory = Memory {
            id: MemoryId::new_random(),
            table: FACTS_TABLE.to_owned(),
            created_at: crate::turn::now_millis(),
            content: json!({"text": claim, "type": fact.get("type").cloned().unwrap_or(json!("fact"))}),
            entity_id: Some(EntityId(runtime.id.0)),
            agent_id: runtime.id,
            room_id: Some(turn.room.id),
            world_id: turn.room.world_id,
            unique: true,
            metadata: json!({"type": "fact", "source": "reflection", "sourceMessageId": turn.message.id}),
            embedding: None,
        };
        runtime.store.create_memory(&memory).await?;
        runtime.embeddings.enqueue(
            memory.id,
            claim,
            Some(turn.room.id),
            Some(turn.run_id),
            Priority::Low,
        );
    }
    Ok(())
}

/// Relationships between entities of the room only; the model's other ids are ignored.
async fn store_relationships(
    runtime: &AgentRuntime,
    parsed: &ParsedXml,
    room_entities: &[EntityId],
) -> RuntimeResult<()> {
    let in_room = |key: &str, item: &Map<String, Value>| {
        item.get(key)
            .and_then(Value::as_str)
            .and_then(|text| validate_uuid(text.trim()))
            .map(EntityId)
            .filter(|id| room_entities.contains(id))
    };
    for item in objects(parsed, "relationships") {
        let (Some(source), Some(target)) = (
            in_room("sourceEntityId", &item),
            in_room("targetEntityId", &item),
        ) else {
            continue;
        };
        let existing = runtime
            .store
            .list_entity_relationships(runtime.id, source)
            .await?
            .into_iter()
            .find(|r| r.source_entity_id == source && r.target_entity_id == target);
        let mut tags: Vec<String> = existing
            .as_ref()
            .map(|r| r.tags.clone())
            .unwrap_or_default();
        for tag in item
            .get("tags")
            .and_then(Value::as_str)
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
        {
            if !tags.iter().any(|t| t == tag) {
                tags.push(tag.to_owned());
            }
        }
        let interactions = existing
            .as_ref()
            .and_then(|r| r.metadata.get("interactions"))
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + 1;
        runtime
            .store
            .upsert_relationship(&Relationship {
                id: existing
                    .as_ref()
                    .map_or_else(RelationshipId::new_random, |r| r.id),
                source_entity_id: source,
                target_entity_id: target,
                agent_id: runtime.id,
                tags,
                metadata: json!({"interactions": interactions}),
                created_at: existing.map_or_else(Utc::now, |r| r.created_at),
            })
            .await?;
    }
    Ok(())
}
