//! ENTITIES, RELATIONSHIPS and FACTS: who is in the room and what the agent knows about them.

use crate::agent::AgentRuntime;
use crate::bootstrap::conversation::{add_header, recent_memories};
use crate::error::RuntimeResult;
use crate::plugin::Provider;
use crate::state::{ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use eliza_domain::memory::MemorySearch;
use eliza_domain::world::Entity;
use futures_util::future::join_all;
use serde_json::Value;

/// The table facts are stored in.
pub const FACTS_TABLE: &str = "facts";
const FACTS_PER_SEARCH: u32 = 6;
const MESSAGES_FOR_FACTS: u32 = 5;

/// The room's entities, participants first.
pub async fn room_entities(runtime: &AgentRuntime, turn: &Turn) -> RuntimeResult<Vec<Entity>> {
    let participants = runtime.store.list_room_participants(turn.room.id).await?;
    let lookups = participants
        .iter()
        .map(|p| runtime.store.get_entity(runtime.id, p.entity_id));
    Ok(join_all(lookups)
        .await
        .into_iter()
        .filter_map(|entity| entity.ok().flatten())
        .collect())
}

/// `"name" aka "alias"\nID: …\nData: {…}` per entity.
pub fn format_entities(entities: &[Entity]) -> String {
    entities
        .iter()
        .map(|entity| {
            let names = entity
                .names
                .iter()
                .map(|name| format!("\"{name}\""))
                .collect::<Vec<_>>()
                .join(" aka ");
            format!("{names}\nID: {}\nData: {}\n", entity.id.0, entity.metadata)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sender's relationships the agent knows, one `- source → target [tags]` line each.
pub async fn sender_relationships(runtime: &AgentRuntime, turn: &Turn) -> RuntimeResult<String> {
    let relationships = runtime
        .store
        .list_entity_relationships(runtime.id, turn.sender())
        .await?;
    Ok(relationships
        .iter()
        .map(|r| {
            format!(
                "- {} → {} [{}]",
                r.source_entity_id.0,
                r.target_entity_id.0,
                r.tags.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n"))
}

pub struct EntitiesProvider;

#[async_trait]
impl Provider for EntitiesProvider {
    fn name(&self) -> &str {
        "ENTITIES"
    }

    fn description(&self) -> &str {
        "The people in the current conversation"
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
        let entities = format_entities(&room_entities(runtime, turn).await?);
        Ok(
            ProviderResult::text(add_header("# People in the Room", &entities))
                .with_value("entities", entities),
        )
    }
}

pub struct RelationshipsProvider;

#[async_trait]
impl Provider for RelationshipsProvider {
    fn name(&self) -> &str {
        "RELATIONSHIPS"
    }

    fn description(&self) -> &str {
        "The sender's relationships the agent knows of"
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
        let lines = sender_relationships(runtime, turn).await?;
        let header = format!("# {} has observed these relationships", runtime.name());
        Ok(ProviderResult::text(add_header(&header, &lines)))
    }
}

pub struct FactsProvider;

#[async_trait]
impl Provider for FactsProvider {
    fn name(&self) -> &str {
        "FACTS"
    }

    fn description(&self) -> &str {
        "Facts the agent learnt that relate to the conversation"
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
        let recent = recent_memories(runtime, turn.room.id, MESSAGES_FOR_FACTS).await?;
        let query: Vec<&str> = recent
            .iter()
            .filter_map(|m| m.content.get("text").and_then(Value::as_str))
            .collect();
        let embedding = runtime.embed(&query.join("\n"), Some(turn.room.id)).await?;
        let scored = runtime
            .store
            .search_memories(&MemorySearch {
                agent_id: runtime.id,
                table: FACTS_TABLE.to_owned(),
                embedding,
                room_id: Some(turn.room.id),
                world_id: None,
                entity_id: None,
                threshold: None,
                limit: FACTS_PER_SEARCH * 2,
            })
            .await?;
        let facts: Vec<String> = scored
            .iter()
            .filter_map(|s| s.memory.content.get("text").and_then(Value::as_str))
            .map(|text| format!("- {text}"))
            .collect();
        let header = format!("# Key facts that {} knows", runtime.name());
        let text = add_header(&header, &facts.join("\n"));
        Ok(ProviderResult::text(text.clone()).with_value("knownFacts", facts.join("\n")))
    }
}
