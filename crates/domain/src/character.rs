//! The character schema of elizaOS 1.7.2 (`core/src/schemas/character.ts`, zod v4, strict),
//! with zod's issue texts, plus the seed fields `lore` and `modelProvider`.

use crate::ids::{AgentId, string_to_uuid, validate_uuid};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `bio`: one string or a list of lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bio {
    Text(String),
    Lines(Vec<String>),
}

impl Default for Bio {
    fn default() -> Self {
        Bio::Lines(Vec::new())
    }
}

impl Bio {
    /// What the 1.7.2 agent list shows: `bio?.[0]`, the first line, or the first *character* of a plain string.
    pub fn summary(&self) -> Option<String> {
        match self {
            Bio::Text(text) => text.chars().next().map(String::from),
            Bio::Lines(lines) => lines.first().cloned(),
        }
    }

    /// The bio as lines: a plain string is one line; blank lines are dropped.
    pub fn lines(&self) -> Vec<String> {
        let lines = match self {
            Bio::Text(text) => vec![text.clone()],
            Bio::Lines(lines) => lines.clone(),
        };
        lines
            .into_iter()
            .filter(|line| !line.trim().is_empty())
            .collect()
    }
}

/// A validated character. Nested structures whose inner keys are open in 1.7.2 stay JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Character {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<AgentId>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub templates: Map<String, Value>,
    #[serde(default)]
    pub bio: Bio,
    #[serde(default)]
    pub message_examples: Vec<Value>,
    #[serde(default)]
    pub post_examples: Vec<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub adjectives: Vec<String>,
    #[serde(default)]
    pub knowledge: Vec<Value>,
    #[serde(default)]
    pub plugins: Vec<String>,
    #[serde(default)]
    pub settings: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub secrets: Map<String, Value>,
    #[serde(default)]
    pub style: Map<String, Value>,
    /// Seed 001/003 field; 1.7.2 rejects it, we keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lore: Option<Vec<String>>,
    /// Seed 003 field; 1.7.2 rejects it, we keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_provider: Option<String>,
}

/// The character failed validation; `message` is the full 1.7.2 text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CharacterError {
    pub message: String,
    pub issues: Vec<Issue>,
}

/// One zod issue: a dotted path and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

/// The top-level keys of the schema, in zod's declaration order (which orders the issues).
const KNOWN_KEYS: [&str; 17] = [
    "id",
    "name",
    "username",
    "system",
    "templates",
    "bio",
    "messageExamples",
    "postExamples",
    "topics",
    "adjectives",
    "knowledge",
    "plugins",
    "settings",
    "secrets",
    "style",
    "lore",
    "modelProvider",
];

impl Character {
    /// Validates a JSON character as `jsonToCharacter` does, filling `id` from the name when missing.
    pub fn from_json(value: &Value) -> Result<Character, CharacterError> {
        let issues = validate(value, Mode::Full);
        if !issues.is_empty() {
            return Err(CharacterError::from_issues(issues));
        }
        let mut character: Character = serde_json::from_value(value.clone())
            .map_err(|err| CharacterError::from_issues(vec![issue("", &err.to_string())]))?;
        if character.id.is_none() {
            character.id = Some(AgentId(string_to_uuid(&character.name)));
        }
        Ok(character)
    }

    /// The id this character is stored under.
    pub fn agent_id(&self) -> AgentId {
        self.id
            .unwrap_or_else(|| AgentId(string_to_uuid(&self.name)))
    }
}

/// Checks the known keys of a partial character (PATCH bodies): nothing is required, unknown keys pass.
pub fn validate_partial(value: &Value) -> Result<(), CharacterError> {
    let issues = validate(value, Mode::Partial);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(CharacterError::from_issues(issues))
    }
}

impl CharacterError {
    fn from_issues(issues: Vec<Issue>) -> Self {
        let joined = issues
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect::<Vec<_>>()
            .join("; ");
        CharacterError {
            message: format!("Character validation failed: {joined}"),
            issues,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Partial,
}

fn issue(path: &str, message: &str) -> Issue {
    Issue {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

/// zod's name for the type it received.
fn received(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn expected(path: &str, kind: &str, value: Option<&Value>) -> Issue {
    issue(
        path,
        &format!(
            "Invalid input: expected {kind}, received {}",
            received(value)
        ),
    )
}

fn join(path: &str, key: impl std::fmt::Display) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn validate(value: &Value, mode: Mode) -> Vec<Issue> {
    let Some(object) = value.as_object() else {
        return vec![expected("", "object", Some(value))];
    };
    let mut issues = Vec::new();
    for key in KNOWN_KEYS {
        // A PATCH never changes the id, so its value does not matter.
        if mode == Mode::Partial && key == "id" {
            continue;
        }
        let field = object.get(key);
        let required = matches!(key, "name" | "bio");
        if field.is_none() && (mode == Mode::Partial || !required) {
            continue;
        }
        // In a PATCH, `null` clears an optional field.
        if mode == Mode::Partial && !required && field == Some(&Value::Null) {
            continue;
        }
        check_field(key, field, mode, &mut issues);
    }
    if mode == Mode::Full {
        let unknown: Vec<String> = object
            .keys()
            .filter(|k| !KNOWN_KEYS.contains(&k.as_str()))
            .map(|k| format!("\"{k}\""))
            .collect();
        match unknown.len() {
            0 => {}
            1 => issues.push(issue("", &format!("Unrecognized key: {}", unknown[0]))),
            _ => issues.push(issue(
                "",
                &format!("Unrecognized keys: {}", unknown.join(", ")),
            )),
        }
    }
    issues
}

fn check_field(key: &str, field: Option<&Value>, mode: Mode, issues: &mut Vec<Issue>) {
    // In a PATCH, `null` inside a merged map deletes that key.
    let deletion = |v: &Value| mode == Mode::Partial && v.is_null();
    match key {
        "id" => match field {
            Some(Value::String(text)) if validate_uuid(text).is_none() => {
                issues.push(issue("id", "Invalid UUID format"))
            }
            Some(Value::String(_)) => {}
            other => issues.push(expected("id", "string", other)),
        },
        "name" => match field {
            Some(Value::String(text)) if text.is_empty() => {
                issues.push(issue("name", "Character name is required"))
            }
            Some(Value::String(_)) => {}
            other => issues.push(expected("name", "string", other)),
        },
        "username" | "system" | "modelProvider" => check_string(key, field, issues),
        "templates" => check_record(key, field, issues, |v| v.is_string() || deletion(v)),
        "bio" => {
            let valid = match field {
                Some(Value::String(_)) => true,
                Some(Value::Array(items)) => items.iter().all(Value::is_string),
                _ => false,
            };
            if !valid {
                issues.push(issue("bio", "Invalid input"));
            }
        }
        "messageExamples" => check_message_examples(field, issues),
        "postExamples" | "topics" | "adjectives" | "plugins" | "lore" => {
            check_string_array(key, field, issues)
        }
        "knowledge" => check_array(key, field, issues, |path, item, issues| {
            if !is_knowledge_item(item) {
                issues.push(issue(path, "Invalid input"));
            }
        }),
        "settings" => check_record(key, field, issues, |v| !v.is_null() || deletion(v)),
        "secrets" => check_record(key, field, issues, |v| {
            v.is_string() || v.is_number() || v.is_boolean() || deletion(v)
        }),
        "style" => check_style(field, issues),
        _ => {}
    }
}

fn check_string(path: &str, field: Option<&Value>, issues: &mut Vec<Issue>) {
    if !matches!(field, Some(Value::String(_))) {
        issues.push(expected(path, "string", field));
    }
}

fn check_array(
    path: &str,
    field: Option<&Value>,
    issues: &mut Vec<Issue>,
    mut item_check: impl FnMut(&str, &Value, &mut Vec<Issue>),
) {
    match field {
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                item_check(&join(path, index), item, issues);
            }
        }
        other => issues.push(expected(path, "array", other)),
    }
}

fn check_string_array(path: &str, field: Option<&Value>, issues: &mut Vec<Issue>) {
    check_array(path, field, issues, |item_path, item, issues| {
        check_string(item_path, Some(item), issues)
    });
}

fn check_record(
    path: &str,
    field: Option<&Value>,
    issues: &mut Vec<Issue>,
    valid_value: impl Fn(&Value) -> bool,
) {
    match field {
        Some(Value::Object(map)) => {
            for (key, value) in map {
                if !valid_value(value) {
                    issues.push(issue(&join(path, key), "Invalid input"));
                }
            }
        }
        other => issues.push(expected(path, "record", other)),
    }
}

fn is_knowledge_item(item: &Value) -> bool {
    match item {
        Value::String(_) => true,
        Value::Object(map) => {
            let shared_ok = map.get("shared").is_none_or(Value::is_boolean);
            let path_ok = map.get("path").is_some_and(Value::is_string);
            let directory_ok = map.get("directory").is_some_and(Value::is_string);
            shared_ok && (path_ok || directory_ok)
        }
        _ => false,
    }
}

fn check_message_examples(field: Option<&Value>, issues: &mut Vec<Issue>) {
    check_array(
        "messageExamples",
        field,
        issues,
        |conversation_path, conversation, issues| {
            check_array(
                conversation_path,
                Some(conversation),
                issues,
                |message_path, message, issues| {
                    let Some(map) = message.as_object() else {
                        issues.push(expected(message_path, "object", Some(message)));
                        return;
                    };
                    check_string(&join(message_path, "name"), map.get("name"), issues);
                    let content = map.get("content");
                    if !matches!(content, Some(Value::Object(_))) {
                        issues.push(expected(&join(message_path, "content"), "object", content));
                    }
                },
            );
        },
    );
}

fn check_style(field: Option<&Value>, issues: &mut Vec<Issue>) {
    let Some(Value::Object(map)) = field else {
        issues.push(expected("style", "object", field));
        return;
    };
    for key in ["all", "chat", "post"] {
        if let Some(value) = map.get(key) {
            check_string_array(&join("style", key), Some(value), issues);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(value: Value) -> String {
        Character::from_json(&value).unwrap_err().message
    }

    #[test]
    fn accepts_a_full_character_and_fills_the_id() {
        let character = Character::from_json(&json!({
            "name": "Eliza", "bio": ["helpful"], "topics": ["rust"], "plugins": ["@elizaos/plugin-openai"],
            "messageExamples": [[{"name": "user", "content": {"text": "hi", "extra": 1}}]],
            "knowledge": ["fact", {"path": "a.md"}, {"directory": "docs", "shared": true}],
            "settings": {"secrets": {"K": "v"}, "model": "gpt"}, "style": {"all": ["brief"]},
            "templates": {"messageHandlerTemplate": "{{agentName}}"}, "secrets": {"A": 1},
            "lore": ["old"], "modelProvider": "openai"
        }))
        .unwrap();
        assert_eq!(
            character.id.unwrap().to_string(),
            "b850bc30-45f8-0041-a00a-83df46d8555d"
        );
        assert_eq!(character.lore.as_deref(), Some(&["old".to_owned()][..]));
        assert_eq!(character.model_provider.as_deref(), Some("openai"));
    }

    #[test]
    fn missing_name_and_bio_use_the_zod_texts() {
        assert_eq!(
            message(json!({})),
            "Character validation failed: name: Invalid input: expected string, received undefined; bio: Invalid input"
        );
        assert_eq!(
            message(json!({"name": "", "bio": "x"})),
            "Character validation failed: name: Character name is required"
        );
    }

    #[test]
    fn unknown_keys_are_rejected_last() {
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "foo": 1})),
            "Character validation failed: : Unrecognized key: \"foo\""
        );
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "foo": 1, "bar": 2, "topics": "x"})),
            "Character validation failed: topics: Invalid input: expected array, received string; : Unrecognized keys: \"foo\", \"bar\""
        );
    }

    #[test]
    fn nested_paths_are_dotted() {
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "messageExamples": [[{"name": "u"}]]})),
            "Character validation failed: messageExamples.0.0.content: Invalid input: expected object, received undefined"
        );
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "id": "nope"})),
            "Character validation failed: id: Invalid UUID format"
        );
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "settings": {"a": null}})),
            "Character validation failed: settings.a: Invalid input"
        );
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "topics": ["x", 2]})),
            "Character validation failed: topics.1: Invalid input: expected string, received number"
        );
        assert_eq!(
            message(json!({"name": "a", "bio": [1]})),
            "Character validation failed: bio: Invalid input"
        );
        assert_eq!(
            message(json!({"name": "a", "bio": "b", "knowledge": [3]})),
            "Character validation failed: knowledge.0: Invalid input"
        );
    }

    #[test]
    fn non_objects_are_rejected() {
        assert_eq!(
            message(json!([1])),
            "Character validation failed: : Invalid input: expected object, received array"
        );
    }

    #[test]
    fn partial_validation_checks_only_present_keys() {
        assert!(validate_partial(&json!({"system": "s", "whatever": 1})).is_ok());
        assert!(
            validate_partial(&json!({"settings": {"gone": null}, "secrets": {"K": null}})).is_ok()
        );
        assert_eq!(
            validate_partial(&json!({"name": 3})).unwrap_err().message,
            "Character validation failed: name: Invalid input: expected string, received number"
        );
    }

    #[test]
    fn bio_summary_keeps_the_1_7_2_quirk() {
        assert_eq!(Bio::Text("Hello".into()).summary().as_deref(), Some("H"));
        assert_eq!(
            Bio::Lines(vec!["First".into()]).summary().as_deref(),
            Some("First")
        );
        assert_eq!(Bio::Lines(vec![]).summary(), None);
    }
}
