//! The bootstrap actions: REPLY, IGNORE, NONE and the room-state actions.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::pipeline::compose_state;
use crate::plugin::{Action, ActionCall, ActionResult};
use crate::state::Content;
use crate::templates::{TemplateName, template};
use crate::turn::Turn;
use crate::xml::parse_key_value_xml;
use async_trait::async_trait;
use eliza_domain::EntityId;
use eliza_domain::world::RoomState;
use eliza_models::ModelType;
use serde_json::{Value, json};

fn example(user: &str, agent_text: &str, action: &str) -> Vec<Value> {
    vec![
        json!({"name": "{{name1}}", "content": {"text": user}}),
        json!({"name": "{{name2}}", "content": {"text": agent_text, "actions": [action]}}),
    ]
}

pub struct ReplyAction;

#[async_trait]
impl Action for ReplyAction {
    fn name(&self) -> &str {
        "REPLY"
    }

    fn similes(&self) -> &[&str] {
        &[
            "GREET",
            "REPLY_TO_MESSAGE",
            "SEND_REPLY",
            "RESPOND",
            "RESPONSE",
        ]
    }

    fn description(&self) -> &str {
        "Replies to the current conversation with the text from the generated message. Default if the agent is responding with a message and no other action. Use REPLY at the beginning of a chain of actions as an acknowledgement, and at the end of a chain of actions as a final response."
    }

    fn examples(&self) -> Vec<Vec<Value>> {
        vec![
            example("Hello there!", "Hi! How can I help you today?", "REPLY"),
            example(
                "What's your favorite color?",
                "I really like deep shades of blue.",
                "REPLY",
            ),
        ]
    }

    /// A second model call with the reply template, over the providers the first answer asked
    /// for plus the conversation.
    async fn handle(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        call: ActionCall<'_>,
    ) -> RuntimeResult<ActionResult> {
        let mut include: Vec<String> = call
            .responses
            .iter()
            .flat_map(requested_providers)
            .collect();
        include.extend(["RECENT_MESSAGES".to_owned(), "ACTION_STATE".to_owned()]);
        let names: Vec<&str> = include.iter().map(String::as_str).collect();
        let state = compose_state(runtime, turn, &names, false, Some(call.state)).await;
        let character = runtime.character();
        let prompt = runtime.renderer.render_state(
            template(TemplateName::Reply, &character.templates),
            &state.to_value(),
            &mut turn.rng("REPLY"),
        )?;
        let answer = runtime
            .generate_text(ModelType::TextLarge, prompt, Some(turn), None)
            .await?;
        let parsed = parse_key_value_xml(&answer);
        let field = |key: &str| {
            parsed
                .as_ref()
                .and_then(|p| p.str(key))
                .unwrap_or_default()
                .to_owned()
        };
        let text = field("text");
        let thought = field("thought");
        let mut content = Content::new();
        content.insert("thought".into(), json!(thought));
        content.insert("text".into(), json!(text));
        content.insert("actions".into(), json!(["REPLY"]));
        call.output.push(content);
        let mut result = ActionResult::ok(format!("Generated reply: {text}"));
        result.values.insert("responded".into(), json!(true));
        result.values.insert("lastReply".into(), json!(text));
        result.data.insert("actionName".into(), json!("REPLY"));
        result.data.insert("thought".into(), json!(thought));
        Ok(result)
    }
}

fn requested_providers(content: &Content) -> Vec<String> {
    content
        .get("providers")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub struct IgnoreAction;

#[async_trait]
impl Action for IgnoreAction {
    fn name(&self) -> &str {
        "IGNORE"
    }

    fn similes(&self) -> &[&str] {
        &["STOP_TALKING", "STOP_CHATTING", "STOP_CONVERSATION"]
    }

    fn description(&self) -> &str {
        "Call this action if ignoring the user. If the user is aggressive, creepy or is finished with the conversation, use this action. Or, if both you and the user have already said goodbye, use this action instead of saying bye again. Use IGNORE any time the conversation has naturally ended. Do not use IGNORE if the user has engaged directly, or if something went wrong and you need to tell them. Only ignore if the user should be ignored."
    }

    fn examples(&self) -> Vec<Vec<Value>> {
        vec![example("Bye!", "", "IGNORE")]
    }

    /// Records the decision (a memory, no channel message).
    async fn handle(
        &self,
        _runtime: &AgentRuntime,
        _turn: &Turn,
        call: ActionCall<'_>,
    ) -> RuntimeResult<ActionResult> {
        if let Some(first) = call.responses.first() {
            call.output.push(first.clone());
        }
        Ok(ActionResult::ok("Ignored the message"))
    }
}

pub struct NoneAction;

#[async_trait]
impl Action for NoneAction {
    fn name(&self) -> &str {
        "NONE"
    }

    fn similes(&self) -> &[&str] {
        &["NO_ACTION", "NO_RESPONSE", "NO_REACTION"]
    }

    fn description(&self) -> &str {
        "Respond but perform no additional action. This is the default if the agent is speaking and not doing anything additional."
    }

    async fn handle(
        &self,
        _runtime: &AgentRuntime,
        _turn: &Turn,
        _call: ActionCall<'_>,
    ) -> RuntimeResult<ActionResult> {
        Ok(ActionResult::ok("No additional action taken"))
    }
}

/// FOLLOW_ROOM, UNFOLLOW_ROOM, MUTE_ROOM and UNMUTE_ROOM: set the agent's state in the room.
pub struct RoomStateAction {
    name: &'static str,
    similes: &'static [&'static str],
    description: &'static str,
    /// The state before the action, for `validate`.
    from: Option<RoomState>,
    /// The state after it.
    to: Option<RoomState>,
}

impl RoomStateAction {
    pub fn all() -> [RoomStateAction; 4] {
        [
            RoomStateAction {
                name: "FOLLOW_ROOM",
                similes: &[
                    "FOLLOW_CHAT",
                    "FOLLOW_CHANNEL",
                    "FOLLOW_CONVERSATION",
                    "FOLLOW_THREAD",
                ],
                description: "Start following this channel with great interest, chiming in without needing to be explicitly mentioned. Only do this if explicitly asked to.",
                from: None,
                to: Some(RoomState::Followed),
            },
            RoomStateAction {
                name: "UNFOLLOW_ROOM",
                similes: &["UNFOLLOW_CHAT", "UNFOLLOW_CONVERSATION", "UNFOLLOW_THREAD"],
                description: "Stop following this channel. You can still respond if explicitly mentioned, but you won't automatically chime in anymore.",
                from: Some(RoomState::Followed),
                to: None,
            },
            RoomStateAction {
                name: "MUTE_ROOM",
                similes: &[
                    "MUTE_CHAT",
                    "MUTE_CONVERSATION",
                    "MUTE_THREAD",
                    "MUTE_CHANNEL",
                ],
                description: "Mutes a room, ignoring all messages unless explicitly mentioned. Only do this if explicitly asked to, or if you're annoying people.",
                from: None,
                to: Some(RoomState::Muted),
            },
            RoomStateAction {
                name: "UNMUTE_ROOM",
                similes: &["UNMUTE_CHAT", "UNMUTE_CONVERSATION", "UNMUTE_THREAD"],
                description: "Unmutes a room, allowing the agent to consider responding to messages again.",
                from: Some(RoomState::Muted),
                to: None,
            },
        ]
    }
}

/// The agent's state in the turn's room.
pub async fn agent_room_state(runtime: &AgentRuntime, turn: &Turn) -> Option<RoomState> {
    let participants = runtime
        .store
        .list_room_participants(turn.room.id)
        .await
        .ok()?;
    participants
        .into_iter()
        .find(|p| p.entity_id == EntityId(runtime.id.0))
        .and_then(|p| p.room_state)
}

#[async_trait]
impl Action for RoomStateAction {
    fn name(&self) -> &str {
        self.name
    }

    fn similes(&self) -> &[&str] {
        self.similes
    }

    fn description(&self) -> &str {
        self.description
    }

    /// Offered only where it changes something: following an unfollowed room, and so on. From
    /// "no state", FOLLOW and MUTE are both offered; UNFOLLOW/UNMUTE need the matching state.
    async fn validate(&self, _runtime: &AgentRuntime, turn: &Turn) -> bool {
        let current = turn.room_state;
        match self.from {
            Some(required) => current == Some(required),
            None => current != self.to,
        }
    }

    async fn handle(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        _call: ActionCall<'_>,
    ) -> RuntimeResult<ActionResult> {
        runtime
            .store
            .set_room_state(turn.room.id, EntityId(runtime.id.0), self.to)
            .await?;
        let state = self.to.map_or("none", |state| state.as_str());
        Ok(ActionResult::ok(format!(
            "Room state of {} set to {state}",
            turn.room.name.clone().unwrap_or_default()
        )))
    }
}
