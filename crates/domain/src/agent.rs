//! Agents: a stored character plus its row fields, and the 1.7.2 PATCH semantics.

use crate::character::{Bio, Character, CharacterError, validate_partial};
use crate::ids::AgentId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Whether a runtime is running for the agent. Never stored: computed from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentStatus {
    Active,
    Inactive,
}

impl AgentStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            AgentStatus::Active => "active",
            AgentStatus::Inactive => "inactive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "active" => Some(AgentStatus::Active),
            "inactive" => Some(AgentStatus::Inactive),
            _ => None,
        }
    }
}

/// An agent row: `character.id` always equals `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Agent {
    pub id: AgentId,
    pub enabled: bool,
    /// The RLS owner column of 1.7.2 (`server_id`), usually null.
    pub server_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub character: Character,
}

/// Keys of a PATCH body that merge into the stored value instead of replacing it.
const MERGED_KEYS: [&str; 3] = ["settings", "secrets", "templates"];

impl Agent {
    pub fn new(mut character: Character, now: DateTime<Utc>) -> Agent {
        let id = character.agent_id();
        character.id = Some(id);
        Agent {
            id,
            enabled: true,
            server_id: None,
            created_at: now,
            updated_at: now,
            character,
        }
    }

    /// Applies a partial character as 1.7.2's `updateAgent` does: `settings` (and, since we persist them,
    /// `secrets` and `templates`) are deep-merged with `null` deleting a key; every other known field is
    /// replaced; `id`, unknown keys and computed fields are ignored.
    pub fn apply_patch(&mut self, patch: &Value, now: DateTime<Utc>) -> Result<(), CharacterError> {
        validate_partial(patch)?;
        let Some(patch) = patch.as_object() else {
            return Ok(());
        };
        let mut current = match serde_json::to_value(&self.character) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        for (key, value) in patch {
            if key == "id" || !is_character_key(key) {
                continue;
            }
            if MERGED_KEYS.contains(&key.as_str()) {
                let target = current
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                match (target, value) {
                    (Value::Object(target), Value::Object(changes)) => merge_json(target, changes),
                    (target, _) => *target = Value::Object(Map::new()),
                }
            } else if value.is_null() {
                current.remove(key);
            } else {
                current.insert(key.clone(), value.clone());
            }
        }
        let mut character: Character =
            serde_json::from_value(Value::Object(current)).map_err(|err| CharacterError {
                message: format!("Character validation failed: {err}"),
                issues: Vec::new(),
            })?;
        character.id = Some(self.id);
        self.character = character;
        if let Some(enabled) = patch.get("enabled").and_then(Value::as_bool) {
            self.enabled = enabled;
        }
        self.updated_at = now;
        Ok(())
    }

    /// `bio?.[0]` as shown in the agent list.
    pub fn bio_summary(&self) -> Option<String> {
        self.character.bio.summary()
    }

    pub fn bio(&self) -> &Bio {
        &self.character.bio
    }
}

fn is_character_key(key: &str) -> bool {
    matches!(
        key,
        "name"
            | "username"
            | "system"
            | "templates"
            | "bio"
            | "messageExamples"
            | "postExamples"
            | "topics"
            | "adjectives"
            | "knowledge"
            | "plugins"
            | "settings"
            | "secrets"
            | "style"
            | "lore"
            | "modelProvider"
    )
}

/// Deep merge of JSON objects: `null` deletes, two objects merge recursively, anything else replaces.
pub fn merge_json(target: &mut Map<String, Value>, changes: &Map<String, Value>) {
    for (key, change) in changes {
        match (target.get_mut(key), change) {
            (_, Value::Null) => {
                target.remove(key);
            }
            (Some(Value::Object(existing)), Value::Object(nested)) => merge_json(existing, nested),
            _ => {
                target.insert(key.clone(), change.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent() -> Agent {
        let character = Character::from_json(&json!({
            "name": "Eliza", "bio": ["b"], "system": "old", "topics": ["t"],
            "settings": {"model": "x", "secrets": {"A": "1", "B": "2"}, "nested": {"keep": 1, "drop": 2}},
        }))
        .unwrap();
        Agent::new(character, Utc::now())
    }

    #[test]
    fn settings_deep_merge_and_null_deletes() {
        let mut agent = agent();
        agent
            .apply_patch(&json!({"settings": {"secrets": {"B": null, "C": "3"}, "nested": {"drop": null}, "new": true}}), Utc::now())
            .unwrap();
        assert_eq!(
            Value::Object(agent.character.settings.clone()),
            json!({"model": "x", "secrets": {"A": "1", "C": "3"}, "nested": {"keep": 1}, "new": true})
        );
    }

    #[test]
    fn other_fields_are_replaced_and_unknown_keys_ignored() {
        let mut agent = agent();
        let before = agent.updated_at;
        agent
            .apply_patch(&json!({"system": "new", "topics": [], "status": "active", "id": "x", "enabled": false}), before + chrono::Duration::seconds(1))
            .unwrap();
        assert_eq!(agent.character.system.as_deref(), Some("new"));
        assert!(agent.character.topics.is_empty());
        assert_eq!(agent.character.id, Some(agent.id));
        assert!(!agent.enabled);
        assert!(agent.updated_at > before);
    }

    #[test]
    fn null_clears_optional_fields_but_not_required_ones() {
        let mut agent = agent();
        agent
            .apply_patch(&json!({"system": null}), Utc::now())
            .unwrap();
        assert_eq!(agent.character.system, None);
        let err = agent
            .apply_patch(&json!({"name": null}), Utc::now())
            .unwrap_err();
        assert!(
            err.message
                .contains("name: Invalid input: expected string, received null"),
            "{}",
            err.message
        );
    }

    #[test]
    fn invalid_types_are_rejected_without_changes() {
        let mut agent = agent();
        let snapshot = agent.clone();
        assert!(
            agent
                .apply_patch(&json!({"topics": "nope"}), Utc::now())
                .is_err()
        );
        assert_eq!(agent, snapshot);
    }
}
