//! What the pipeline makes of the model's parsed answers (runtime spec §2.4 step 8 and §2.8
//! `runSingleShotCore` steps 3–6).

use crate::xml::{ParsedXml, parse_key_value_xml};
use serde_json::{Map, Value};

/// How a reply is delivered: `Simple` sends the text at once (one model call); `Actions` runs the
/// actions, REPLY making a second call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    Simple,
    Actions,
}

impl ReplyMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReplyMode::Simple => "simple",
            ReplyMode::Actions => "actions",
        }
    }
}

/// The normalised message-handler answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerReply {
    pub thought: String,
    /// Never empty: `['IGNORE']` when the model gave none.
    pub actions: Vec<String>,
    pub providers: Vec<String>,
    pub text: String,
    /// `actions == ['REPLY']` (case-insensitive) and no providers.
    pub simple: bool,
    /// Every other key of the answer, kept as parsed.
    pub extra: Map<String, Value>,
}

/// True when the answer must be asked for again: nothing parsed, or `thought` or `actions`
/// missing (1.7.2 retries up to `maxRetries` times in that case).
pub fn needs_retry(parsed: Option<&ParsedXml>) -> bool {
    match parsed {
        None => true,
        Some(parsed) => {
            parsed.str("thought").is_none_or(str::is_empty) || !parsed.contains("actions")
        }
    }
}

impl HandlerReply {
    /// Normalises a parsed answer.
    pub fn from_parsed(parsed: &ParsedXml) -> HandlerReply {
        HandlerReply::from_fields(parsed.fields())
    }

    /// Normalises answer fields from any source (a parsed answer, a JSON object):
    /// * `actions`: a list, or a comma string; absent or empty → `['IGNORE']`;
    /// * several actions including IGNORE: empty text → `['IGNORE']`, otherwise IGNORE is dropped
    ///   (`['REPLY']` if nothing is left);
    /// * `simple` recomputed as `actions == ['REPLY'] && providers == []`.
    pub fn from_fields(fields: &Map<String, Value>) -> HandlerReply {
        let mut actions = string_list(fields.get("actions"));
        let providers = string_list(fields.get("providers"));
        let text = string_field(fields.get("text"));
        let thought = string_field(fields.get("thought"));
        if actions.is_empty() {
            actions = vec!["IGNORE".to_owned()];
        }
        let is_ignore = |action: &String| action.eq_ignore_ascii_case("IGNORE");
        if actions.len() > 1 && actions.iter().any(is_ignore) {
            if text.trim().is_empty() {
                actions = vec!["IGNORE".to_owned()];
            } else {
                actions.retain(|action| !is_ignore(action));
                if actions.is_empty() {
                    actions = vec!["REPLY".to_owned()];
                }
            }
        }
        let simple =
            actions.len() == 1 && actions[0].eq_ignore_ascii_case("REPLY") && providers.is_empty();
        let extra = fields
            .iter()
            .filter(|(key, _)| {
                !matches!(
                    key.as_str(),
                    "actions" | "providers" | "text" | "thought" | "simple"
                )
            })
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        HandlerReply {
            thought,
            actions,
            providers,
            text,
            simple,
            extra,
        }
    }

    /// `simple` with a text to send, else `actions`.
    pub fn mode(&self) -> ReplyMode {
        if self.simple && !self.text.is_empty() {
            ReplyMode::Simple
        } else {
            ReplyMode::Actions
        }
    }

    /// True when the only action is IGNORE.
    pub fn is_ignore(&self) -> bool {
        self.actions.len() == 1 && self.actions[0].eq_ignore_ascii_case("IGNORE")
    }

    /// The reply as a 1.7.2 `Content` object (`responseId`, `inReplyTo` are the caller's).
    pub fn to_content(&self) -> Map<String, Value> {
        let mut content = self.extra.clone();
        content.insert("thought".into(), Value::String(self.thought.clone()));
        content.insert("actions".into(), strings(&self.actions));
        content.insert("providers".into(), strings(&self.providers));
        content.insert("text".into(), Value::String(self.text.clone()));
        content.insert("simple".into(), Value::Bool(self.simple));
        content
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    value.and_then(crate::xml::string_list).unwrap_or_default()
}

fn string_field(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The shouldRespond verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondAction {
    Respond,
    Ignore,
    /// The user asked the agent to stop: it does not respond (1.7.2 treated STOP as respond).
    Stop,
}

/// The parsed shouldRespond answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShouldRespondAnswer {
    pub action: RespondAction,
    pub name: Option<String>,
    pub reasoning: Option<String>,
}

impl ShouldRespondAnswer {
    pub fn should_respond(&self) -> bool {
        self.action == RespondAction::Respond
    }
}

/// Parses the shouldRespond model answer. `None` (do not respond) when there is no `<action>`;
/// IGNORE and NONE ignore, STOP stops, any other non-empty action responds (as in 1.7.2).
pub fn parse_should_respond(text: &str) -> Option<ShouldRespondAnswer> {
    let parsed = parse_key_value_xml(text)?;
    let action = parsed.str("action")?.trim();
    let action = match action.to_ascii_uppercase().as_str() {
        "" => return None,
        "IGNORE" | "NONE" => RespondAction::Ignore,
        "STOP" => RespondAction::Stop,
        _ => RespondAction::Respond,
    };
    let optional = |key: &str| {
        parsed
            .str(key)
            .filter(|value| !value.is_empty())
            .map(str::to_owned)
    };
    Some(ShouldRespondAnswer {
        action,
        name: optional("name"),
        reasoning: optional("reasoning"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(xml: &str) -> HandlerReply {
        HandlerReply::from_parsed(&parse_key_value_xml(xml).unwrap())
    }

    #[test]
    fn plain_reply_is_simple() {
        let r = reply(
            "<response><thought>t</thought><actions>REPLY</actions><providers></providers><text>Hi</text></response>",
        );
        assert_eq!(r.actions, ["REPLY"]);
        assert!(r.simple);
        assert_eq!(r.mode(), ReplyMode::Simple);
        assert_eq!(r.mode().as_str(), "simple");
        assert!(!r.is_ignore());
        assert_eq!(
            Value::Object(r.to_content()),
            json!({"thought": "t", "actions": ["REPLY"], "providers": [], "text": "Hi", "simple": true})
        );
        // Case-insensitive.
        assert!(reply("<response><actions>reply</actions><text>x</text></response>").simple);
    }

    #[test]
    fn simple_without_text_or_with_providers_is_actions_mode() {
        let r = reply("<response><thought>t</thought><actions>REPLY</actions></response>");
        assert!(r.simple);
        assert_eq!(r.mode(), ReplyMode::Actions);
        assert_eq!(r.mode().as_str(), "actions");
        let r = reply(
            "<response><actions>REPLY</actions><providers>FACTS</providers><text>x</text></response>",
        );
        assert!(!r.simple);
        assert_eq!(r.providers, ["FACTS"]);
        assert_eq!(r.mode(), ReplyMode::Actions);
        // The model's own `simple` is overridden.
        let r = reply(
            "<response><actions>REPLY,FOLLOW_ROOM</actions><simple>true</simple><text>x</text></response>",
        );
        assert!(!r.simple);
    }

    #[test]
    fn missing_or_empty_actions_mean_ignore() {
        let r = reply("<response><thought>t</thought><text>x</text></response>");
        assert_eq!(r.actions, ["IGNORE"]);
        assert!(r.is_ignore());
        let r = reply("<response><actions> </actions><text>x</text></response>");
        assert_eq!(r.actions, ["IGNORE"]);
    }

    #[test]
    fn ignore_ambiguity() {
        // No text: IGNORE alone.
        let r = reply("<response><actions>REPLY,IGNORE</actions><text> </text></response>");
        assert_eq!(r.actions, ["IGNORE"]);
        // Text: IGNORE dropped.
        let r = reply(
            "<response><actions>ignore,REPLY,FOLLOW_ROOM</actions><text>hi</text></response>",
        );
        assert_eq!(r.actions, ["REPLY", "FOLLOW_ROOM"]);
        // Only IGNOREs with text: REPLY.
        let r = reply("<response><actions>IGNORE,IGNORE</actions><text>hi</text></response>");
        assert_eq!(r.actions, ["REPLY"]);
        assert!(r.simple);
        // A single IGNORE with text stays IGNORE.
        let r = reply("<response><actions>IGNORE</actions><text>hi</text></response>");
        assert_eq!(r.actions, ["IGNORE"]);
    }

    #[test]
    fn from_fields_accepts_strings_and_keeps_other_keys() {
        let fields = json!({
            "actions": "REPLY, NONE",
            "providers": ["", " FACTS "],
            "text": 42,
            "thought": null,
            "simple": true,
            "emotion": "happy"
        });
        let r = HandlerReply::from_fields(fields.as_object().unwrap());
        assert_eq!(r.actions, ["REPLY", "NONE"]);
        assert_eq!(r.providers, ["FACTS"]);
        assert_eq!(r.text, "42");
        assert_eq!(r.thought, "");
        assert_eq!(r.extra, *json!({"emotion": "happy"}).as_object().unwrap());
        assert_eq!(r.to_content()["emotion"], json!("happy"));
        let r = HandlerReply::from_fields(json!({"actions": 3}).as_object().unwrap());
        assert_eq!(r.actions, ["IGNORE"]);
    }

    #[test]
    fn retry_rules() {
        assert!(needs_retry(None));
        let ok =
            parse_key_value_xml("<response><thought>t</thought><actions></actions></response>")
                .unwrap();
        assert!(!needs_retry(Some(&ok)));
        let no_thought =
            parse_key_value_xml("<response><thought></thought><actions>REPLY</actions></response>")
                .unwrap();
        assert!(needs_retry(Some(&no_thought)));
        let no_actions =
            parse_key_value_xml("<response><thought>t</thought><text>x</text></response>").unwrap();
        assert!(needs_retry(Some(&no_actions)));
    }

    #[test]
    fn should_respond_answers() {
        let a = parse_should_respond(
            "<response><name>Eliza</name><reasoning>asked directly</reasoning><action>RESPOND</action></response>",
        )
        .unwrap();
        assert_eq!(a.action, RespondAction::Respond);
        assert!(a.should_respond());
        assert_eq!(a.name.as_deref(), Some("Eliza"));
        assert_eq!(a.reasoning.as_deref(), Some("asked directly"));

        for (answer, action) in [
            ("ignore", RespondAction::Ignore),
            (" NONE ", RespondAction::Ignore),
            ("Stop", RespondAction::Stop),
            ("REPLY", RespondAction::Respond),
        ] {
            let a =
                parse_should_respond(&format!("<response><action>{answer}</action></response>"))
                    .unwrap();
            assert_eq!(a.action, action, "{answer}");
            assert_eq!(a.should_respond(), action == RespondAction::Respond);
            assert_eq!(a.name, None);
            assert_eq!(a.reasoning, None);
        }
        assert_eq!(parse_should_respond("RESPOND"), None);
        assert_eq!(
            parse_should_respond("<response><name>x</name></response>"),
            None
        );
        assert_eq!(
            parse_should_respond("<response><action> </action></response>"),
            None
        );
        assert_eq!(
            parse_should_respond("<response><action><a>b</a></action></response>"),
            None
        );
    }
}
