//! The prompt templates of the pipeline (runtime spec §2.13).
//!
//! The texts are our own; they follow the 1.7.2 outlines: the same sections, the same
//! placeholders and the same XML answer contracts (tag names), so models and parsers behave the
//! same. A character may replace any of them through `character.templates`, keyed by the
//! elizaOS names (`shouldRespondTemplate`, `messageHandlerTemplate`, …): see [`template`].

use eliza_models::PromptProfile;
use serde_json::{Map, Value};

/// The templates the pipeline renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateName {
    ShouldRespond,
    MessageHandler,
    Reply,
    Reflection,
    MultiStepDecision,
    MultiStepSummary,
    ImageDescription,
}

impl TemplateName {
    pub const ALL: [TemplateName; 7] = [
        TemplateName::ShouldRespond,
        TemplateName::MessageHandler,
        TemplateName::Reply,
        TemplateName::Reflection,
        TemplateName::MultiStepDecision,
        TemplateName::MultiStepSummary,
        TemplateName::ImageDescription,
    ];

    /// The key in `character.templates`.
    pub fn key(&self) -> &'static str {
        match self {
            TemplateName::ShouldRespond => "shouldRespondTemplate",
            TemplateName::MessageHandler => "messageHandlerTemplate",
            TemplateName::Reply => "replyTemplate",
            TemplateName::Reflection => "reflectionTemplate",
            TemplateName::MultiStepDecision => "multiStepDecisionTemplate",
            TemplateName::MultiStepSummary => "multiStepSummaryTemplate",
            TemplateName::ImageDescription => "imageDescriptionTemplate",
        }
    }

    /// The template for a `character.templates` key.
    pub fn from_key(key: &str) -> Option<TemplateName> {
        TemplateName::ALL.into_iter().find(|name| name.key() == key)
    }

    /// The built-in text.
    pub fn default_text(&self) -> &'static str {
        match self {
            TemplateName::ShouldRespond => SHOULD_RESPOND_TEMPLATE,
            TemplateName::MessageHandler => MESSAGE_HANDLER_TEMPLATE,
            TemplateName::Reply => REPLY_TEMPLATE,
            TemplateName::Reflection => REFLECTION_TEMPLATE,
            TemplateName::MultiStepDecision => MULTI_STEP_DECISION_TEMPLATE,
            TemplateName::MultiStepSummary => MULTI_STEP_SUMMARY_TEMPLATE,
            TemplateName::ImageDescription => IMAGE_DESCRIPTION_TEMPLATE,
        }
    }
}

/// The frame of an answer whose XML the runtime writes itself: the model continues `prefix`
/// (the tags up to the one value it fills in) and stops at `stops`; `closing` then completes
/// the XML. Small models copy placeholder text from a format description instead of filling
/// it in, so compact templates describe no format and frame the answer instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerFrame {
    pub prefix: &'static str,
    pub stops: &'static [&'static str],
    pub closing: &'static str,
}

impl AnswerFrame {
    /// The XML answer: the model's continuation of the prefix, closed.
    pub fn close(&self, continuation: &str) -> String {
        format!("{}{}", continuation.trim_end(), self.closing)
    }
}

/// A template for small local models: short, in plain words, with a framed answer. Small chat
/// models answer the user's turn, so the context goes into the system message and the user's
/// turn is the message to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactTemplate {
    pub system: &'static str,
    pub text: &'static str,
    pub frame: AnswerFrame,
}

/// A rendered compact system message and the answer frame, for
/// [`AgentRuntime::generate_framed`](crate::agent::AgentRuntime::generate_framed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactPrompt {
    pub system: String,
    pub frame: AnswerFrame,
}

/// The template a call renders: its text, and for compact providers the compact parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenTemplate<'a> {
    pub text: &'a str,
    pub compact: Option<CompactTemplate>,
}

/// The compact variant of a template: the message handler, rendered on every turn. (Small
/// models get no shouldRespond check: see the pipeline.)
pub fn compact_template(name: TemplateName) -> Option<CompactTemplate> {
    match name {
        TemplateName::MessageHandler => Some(CompactTemplate {
            system: COMPACT_MESSAGE_HANDLER_SYSTEM,
            text: COMPACT_MESSAGE_HANDLER_TEMPLATE,
            frame: AnswerFrame {
                prefix: "<response>\n<thought>Answering the last message in character.</thought>\n<actions>REPLY</actions>\n<text>",
                // The answer ends where the model closes the text or starts more XML.
                stops: &[
                    "</text>",
                    "</response>",
                    "<response>",
                    "<text>",
                    "<thought>",
                    "<actions>",
                ],
                closing: "</text>\n</response>",
            },
        }),
        _ => None,
    }
}

/// The template to render for a provider with `profile`: the character's override first (as
/// written, whatever the model), then the compact variant for compact providers, then the
/// built-in text.
pub fn template_for<'a>(
    name: TemplateName,
    overrides: &'a Map<String, Value>,
    profile: PromptProfile,
) -> ChosenTemplate<'a> {
    let overridden =
        matches!(overrides.get(name.key()), Some(Value::String(t)) if !t.trim().is_empty());
    match (overridden, profile, compact_template(name)) {
        (false, PromptProfile::Compact { .. }, Some(compact)) => ChosenTemplate {
            text: compact.text,
            compact: Some(compact),
        },
        _ => ChosenTemplate {
            text: template(name, overrides),
            compact: None,
        },
    }
}

/// The template to render: the character's override when it is a non-blank string, else the
/// built-in text. `overrides` is `character.templates`.
pub fn template(name: TemplateName, overrides: &Map<String, Value>) -> &str {
    match overrides.get(name.key()) {
        Some(Value::String(text)) if !text.trim().is_empty() => text,
        _ => name.default_text(),
    }
}

pub const SHOULD_RESPOND_TEMPLATE: &str = r#"<task>Decide on behalf of {{agentName}} whether they should respond to the latest message, ignore it, or stop taking part in the conversation.</task>

<providers>
{{providers}}
</providers>

<instructions>
Read the conversation and the latest message, then pick exactly one action:
- RESPOND when the message names {{agentName}} (or a nickname of {{agentName}}), asks {{agentName}} something, or carries on a thread {{agentName}} is part of.
- IGNORE when the message is addressed to someone else by a different name, or when it is small talk {{agentName}} has nothing to add to.
- STOP when someone asks {{agentName}} to stop talking, to be quiet, or to leave the conversation.
- When none of these clearly applies, choose IGNORE.

Tell apart messages written *to* {{agentName}} from messages that merely talk *about* {{agentName}}: only the first kind calls for a response.
</instructions>

<output>
Answer with this XML and nothing else:

<response>
  <name>{{agentName}}</name>
  <reasoning>One short sentence explaining the choice</reasoning>
  <action>RESPOND | IGNORE | STOP</action>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML.
</output>"#;

pub const MESSAGE_HANDLER_TEMPLATE: &str = r#"<task>Generate dialog and actions for the character {{agentName}}.</task>

<providers>
{{providers}}
</providers>

<instructions>
Write the next turn of {{agentName}} in the conversation above and choose the actions that carry it out.

Actions:
- Actions run one after another, in the order you list them.
- Put REPLY first when {{agentName}} should say something, and put the other actions after it.
- IGNORE means {{agentName}} stays silent; it must be the only action when you use it.
- Use only actions listed as available above.

Providers (extra context fetched before the actions run):
- ATTACHMENTS when the message contains images, files or "(Attachments:" entries that matter for the answer.
- ENTITIES when the answer depends on who the people in the conversation are.
- RELATIONSHIPS when it depends on how {{agentName}} and these people relate to each other.
- FACTS when facts {{agentName}} learnt earlier would help.
- WORLD when it depends on the server, rooms or other channels.
- Leave providers empty when the conversation above is enough to answer.

Code in the text:
- Put code in fenced blocks with the language after the opening ``` (for example ```python).
- Keep inline code in single backticks; never nest fences.
</instructions>

<keys>
"thought": what {{agentName}} is thinking and why these actions fit
"actions": comma-separated action names, in the order they should run
"providers": comma-separated provider names, or empty
"text": what {{agentName}} says, written in the character's voice
</keys>

<output>
Answer with this XML and nothing else:

<response>
  <thought>Your reasoning here</thought>
  <actions>ACTION1,ACTION2</actions>
  <providers>PROVIDER1,PROVIDER2</providers>
  <text>What {{agentName}} says</text>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML.
</output>"#;

pub const REPLY_TEMPLATE: &str = r#"# Task: Generate dialog for the character {{agentName}}.

{{providers}}

# Instructions: Write the next message of {{agentName}} in the conversation above.
"thought" is a short note on what {{agentName}} is thinking and how the message should come across.
"text" is the message itself, in the voice of {{agentName}}, answering the latest message.

Code in the text:
- Put code in fenced blocks with the language after the opening ``` (for example ```python).
- Keep inline code in single backticks; never nest fences.

Answer with this XML and nothing else:

<response>
  <thought>Your reasoning here</thought>
  <text>What {{agentName}} says</text>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML."#;

pub const IMAGE_DESCRIPTION_TEMPLATE: &str = r#"<task>Look at the image and describe it so that someone who cannot see it understands what it shows.</task>

<instructions>
- Give the image a short title.
- Describe it in a few sentences: the main subject, the setting, notable details and the overall mood.
- Transcribe any text that appears in the image; leave the text empty when there is none.
</instructions>

<output>
Answer with this XML and nothing else:

<response>
  <title>A short title</title>
  <description>A description of a few sentences</description>
  <text>Text visible in the image, if any</text>
</response>

Begin directly with <response> and end with </response>. Do not add a preamble or any text outside the XML.
</output>"#;

pub const MULTI_STEP_DECISION_TEMPLATE: &str = r#"<task>
Decide the next step {{agentName}} takes to handle the latest request: fetch more context with providers, run one action, or finish.
</task>

{{recentMessages}}

# How to decide
1. Read the conversation and the results of the steps already taken, below.
2. If context is missing, list the providers that would supply it.
3. Choose at most one action for this step, and only one that is listed below.
4. Give the action's parameters as a JSON object matching its parameter list; use {} when it takes none.
5. Set isFinish to true once the request is fully handled or nothing more can be done.
6. Do not choose REPLY: the final answer is written after the last step.

# Available actions
{{actionsWithParams}}

# Available providers
{{providersWithDescriptions}}

# Steps taken so far
{{actionResults}}

<output>
Answer with this XML and nothing else:

<response>
  <thought>What you learnt so far and why this step comes next</thought>
  <action>ACTION_NAME or empty</action>
  <parameters>{"name": "value"}</parameters>
  <providers>PROVIDER1,PROVIDER2 or empty</providers>
  <isFinish>true | false</isFinish>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML.
</output>"#;

pub const MULTI_STEP_SUMMARY_TEMPLATE: &str = r#"<task>
Write the final message of {{agentName}} for the request below, based on the steps that were taken.
</task>

{{bio}}

{{system}}

{{messageDirections}}

{{recentMessages}}

# Steps taken
{{actionResults}}

# The request
{{recentMessage}}

<instructions>
- Tell the user what was done and what came out of it, in the voice of {{agentName}}.
- Mention failures honestly and say what could be tried instead.
- Keep it short and do not list internal step details the user does not need.
</instructions>

<output>
Answer with this XML and nothing else:

<response>
  <thought>How you summarise the outcome</thought>
  <text>The message to send</text>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML.
</output>"#;

pub const REFLECTION_TEMPLATE: &str = r#"# Task: Reflect on the conversation as {{agentName}}, extract new facts and record relationships.

{{providers}}

# Examples
{{evaluationExamples}}

# People in the room
{{entitiesInRoom}}

# Relationships already known
{{existingRelationships}}

# Context
Agent: {{agentName}}
Room type: {{roomType}}
Latest message from: {{senderName}} (ID: {{senderId}})

{{recentMessages}}

# Facts already known
{{knownFacts}}

# Instructions
1. In the thought, assess how {{agentName}} is doing in this conversation: tone, helpfulness, anything to do differently.
2. List new facts from the conversation. For each, give the claim, its type (fact, opinion or status), whether it is already in the bio of {{agentName}} (in_bio) and whether it is among the known facts (already_known).
3. List relationships between the people of the conversation, using only entity IDs from "People in the room", with descriptive tags such as dm_interaction or group_interaction.
4. Leave facts or relationships empty when there is nothing new.

Answer with this XML and nothing else:

<response>
  <thought>A short self-assessment of {{agentName}}</thought>
  <facts>
    <fact>
      <claim>The fact, stated plainly</claim>
      <type>fact | opinion | status</type>
      <in_bio>true | false</in_bio>
      <already_known>true | false</already_known>
    </fact>
  </facts>
  <relationships>
    <relationship>
      <sourceEntityId>entity ID of the one who acts</sourceEntityId>
      <targetEntityId>entity ID of the one acted upon</targetEntityId>
      <tags>tag1,tag2</tags>
    </relationship>
  </relationships>
</response>

Begin directly with <response> and end with </response>. Do not add <think> blocks, a preamble or any text outside the XML."#;

/// The message handler for small local models: who the agent is and the conversation so far
/// in a few hundred tokens (the full template costs seconds of prompt reading on a CPU). The
/// model writes only the text of a REPLY ([`AnswerFrame`]).
pub const COMPACT_MESSAGE_HANDLER_SYSTEM: &str = r#"{{#if system}}{{system}}
{{/if}}You are {{agentName}}. {{bioText}}
{{#if dialogueHistory}}
Conversation so far:
{{dialogueHistory}}
{{/if}}"#;

pub const COMPACT_MESSAGE_HANDLER_TEMPLATE: &str = "{{lastMessageText}}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::PromptRenderer;
    use crate::xml::parse_key_value_xml;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::json;

    #[test]
    fn compact_providers_get_the_compact_variant_unless_the_character_overrides() {
        let compact = PromptProfile::Compact {
            context_tokens: 2048,
        };
        let none = Map::new();
        let chosen = template_for(TemplateName::MessageHandler, &none, compact);
        assert_eq!(chosen.text, COMPACT_MESSAGE_HANDLER_TEMPLATE);
        assert!(chosen.compact.is_some());
        let full = template_for(TemplateName::MessageHandler, &none, PromptProfile::Full);
        assert_eq!(full.text, MESSAGE_HANDLER_TEMPLATE);
        assert_eq!(full.compact, None);
        // Templates without a compact variant stay as they are.
        let reflection = template_for(TemplateName::Reflection, &none, compact);
        assert_eq!(reflection.text, REFLECTION_TEMPLATE);
        let mut overrides = Map::new();
        overrides.insert(
            "messageHandlerTemplate".into(),
            Value::from("Mine: {{agentName}}"),
        );
        let overridden = template_for(TemplateName::MessageHandler, &overrides, compact);
        assert_eq!(overridden.text, "Mine: {{agentName}}");
        assert_eq!(overridden.compact, None);
    }

    #[test]
    fn a_closed_frame_parses_as_its_template_contract() {
        let handler = compact_template(TemplateName::MessageHandler).map(|c| c.frame);
        let handler = handler.unwrap_or_else(|| panic!("a compact message handler"));
        let answer = handler.close(&format!("{}Hello there! ", handler.prefix));
        let parsed = crate::xml::parse_key_value_xml(&answer);
        let parsed = parsed.unwrap_or_else(|| panic!("unparsable: {answer}"));
        assert_eq!(parsed.str("text"), Some("Hello there!"));
        assert!(!crate::reply::needs_retry(Some(&parsed)));
        assert_eq!(compact_template(TemplateName::ShouldRespond), None);
    }

    #[test]
    fn keys_round_trip() {
        for name in TemplateName::ALL {
            assert_eq!(TemplateName::from_key(name.key()), Some(name));
            assert!(!name.default_text().is_empty());
        }
        assert_eq!(TemplateName::from_key("nope"), None);
    }

    #[test]
    fn overrides() {
        let overrides = json!({
            "replyTemplate": "custom {{agentName}}",
            "messageHandlerTemplate": "  ",
            "shouldRespondTemplate": 3
        });
        let overrides = overrides.as_object().unwrap();
        assert_eq!(
            template(TemplateName::Reply, overrides),
            "custom {{agentName}}"
        );
        assert_eq!(
            template(TemplateName::MessageHandler, overrides),
            MESSAGE_HANDLER_TEMPLATE
        );
        assert_eq!(
            template(TemplateName::ShouldRespond, overrides),
            SHOULD_RESPOND_TEMPLATE
        );
        assert_eq!(
            template(TemplateName::Reflection, &Map::new()),
            REFLECTION_TEMPLATE
        );
    }

    #[test]
    fn every_template_compiles_and_keeps_its_placeholders() {
        let expected: [(TemplateName, &[&str]); 7] = [
            (TemplateName::ShouldRespond, &["agentName", "providers"]),
            (TemplateName::MessageHandler, &["agentName", "providers"]),
            (TemplateName::Reply, &["agentName", "providers"]),
            (
                TemplateName::Reflection,
                &[
                    "agentName",
                    "providers",
                    "evaluationExamples",
                    "entitiesInRoom",
                    "existingRelationships",
                    "senderName",
                    "senderId",
                    "roomType",
                    "recentMessages",
                    "knownFacts",
                ],
            ),
            (
                TemplateName::MultiStepDecision,
                &[
                    "recentMessages",
                    "actionsWithParams",
                    "providersWithDescriptions",
                    "actionResults",
                ],
            ),
            (
                TemplateName::MultiStepSummary,
                &[
                    "bio",
                    "system",
                    "messageDirections",
                    "recentMessages",
                    "actionResults",
                    "recentMessage",
                ],
            ),
            (TemplateName::ImageDescription, &[]),
        ];
        let renderer = PromptRenderer::new();
        for (name, placeholders) in expected {
            let text = name.default_text();
            for placeholder in placeholders {
                assert!(
                    text.contains(&format!("{{{{{placeholder}}}}}")),
                    "{name:?} lacks {placeholder}"
                );
            }
            let out = renderer
                .render(text, &Map::new(), &mut StdRng::seed_from_u64(1))
                .unwrap();
            assert!(!out.contains("{{"), "{name:?}");
        }
    }

    #[test]
    fn output_contracts_parse() {
        // The example answer inside each template parses to the fields the pipeline reads.
        let cases: [(TemplateName, &[&str]); 7] = [
            (
                TemplateName::ShouldRespond,
                &["name", "reasoning", "action"],
            ),
            (
                TemplateName::MessageHandler,
                &["thought", "actions", "providers", "text"],
            ),
            (TemplateName::Reply, &["thought", "text"]),
            (
                TemplateName::Reflection,
                &["thought", "facts", "relationships"],
            ),
            (
                TemplateName::MultiStepDecision,
                &["thought", "action", "parameters", "providers", "isFinish"],
            ),
            (TemplateName::MultiStepSummary, &["thought", "text"]),
            (
                TemplateName::ImageDescription,
                &["title", "description", "text"],
            ),
        ];
        for (name, keys) in cases {
            let text = name.default_text();
            let example = &text[text.find("<response>\n").unwrap()..];
            let parsed = parse_key_value_xml(example).unwrap();
            let found: Vec<&str> = parsed.fields().keys().map(String::as_str).collect();
            assert_eq!(found, keys, "{name:?}");
        }
        let reflection = REFLECTION_TEMPLATE;
        let parsed =
            parse_key_value_xml(&reflection[reflection.find("<response>\n").unwrap()..]).unwrap();
        assert!(parsed.get("facts").unwrap().as_array().unwrap()[0]["claim"].is_string());
        assert!(parsed.get("relationships").unwrap().as_array().unwrap()[0]["tags"].is_string());
    }
}
