//! How an incoming message becomes a reply (runtime spec §2.4–§2.9): save the memory,
//! shouldRespond, compose the state, ask the model, parse its XML, run the actions, deliver the
//! replies, run the evaluators, and log the run. Every turn ends with a completion event.

use crate::agent::AgentRuntime;
use crate::bootstrap::actions::agent_room_state;
use crate::bootstrap::context::ACTION_RESULTS;
use crate::embedding::Priority;
use crate::error::{RuntimeError, RuntimeResult};
use crate::plugin::{Action, ActionCall, ActionResult, Provider};
use crate::reply::{HandlerReply, ReplyMode, needs_retry, parse_should_respond};
use crate::should_respond::{
    RespondDecision, RespondInput, RespondReason, RespondSettings, decide,
};
use crate::state::{Content, ProviderResult, State};
use crate::stream::ReplyStreamExtractor;
use crate::templates::{CompactPrompt, TemplateName, template, template_for};
use crate::turn::Turn;
use crate::xml::parse_key_value_xml;
use chrono::Utc;
use eliza_bus::{NewMessage, ReplyChunk};
use eliza_domain::memory::{MESSAGES_TABLE, Memory};
use eliza_domain::{EntityId, MemoryId, MessageId};
use eliza_models::settings::parse_boolean_from_text;
use eliza_models::{ModelType, PromptProfile};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// How a turn ended: the `status` of its `run_event`.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    pub status: &'static str,
    pub did_respond: bool,
    pub error: Option<String>,
}

impl TurnOutcome {
    fn ended(status: &'static str, did_respond: bool) -> Self {
        TurnOutcome {
            status,
            did_respond,
            error: None,
        }
    }
}

/// The providers of the first state (step 6 of §2.4).
const FIRST_STATE: [&str; 5] = [
    "ANXIETY",
    "ENTITIES",
    "CHARACTER",
    "RECENT_MESSAGES",
    "ACTIONS",
];

/// Handles one turn whose incoming memory is already stored, then logs the run and announces
/// the completion, whatever happened.
pub async fn handle_turn(runtime: &AgentRuntime, mut turn: Turn) -> TurnOutcome {
    let started = Instant::now();
    let start_time = Utc::now().timestamp_millis();
    turn.claim = runtime.claim_room(turn.room.id, turn.response_id);
    log_run(
        runtime,
        &turn,
        json!({"status": "started", "startTime": start_time}),
    )
    .await;
    let outcome =
        match tokio::time::timeout(runtime.options.run_timeout, run(runtime, &mut turn)).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(err)) => failed(runtime, &turn, &err),
            Err(_) => {
                let err = RuntimeError::Other(format!(
                    "the turn took longer than {} s",
                    runtime.options.run_timeout.as_secs()
                ));
                TurnOutcome {
                    status: "timeout",
                    ..failed(runtime, &turn, &err)
                }
            }
        };
    runtime.release_room(turn.room.id, turn.response_id);
    runtime
        .outbox
        .complete(turn.central.channel_id, runtime.id, Some(turn.central.id));
    let end_time = Utc::now().timestamp_millis();
    log_run(
        runtime,
        &turn,
        json!({
            "status": outcome.status,
            "startTime": start_time,
            "endTime": end_time,
            "duration": started.elapsed().as_millis() as u64,
            "error": outcome.error,
        }),
    )
    .await;
    outcome
}

/// Tells the channel the turn failed (`messageStreamError`; HTTP and SSE waiters get an error).
fn failed(runtime: &AgentRuntime, turn: &Turn, err: &RuntimeError) -> TurnOutcome {
    tracing::warn!(agent = %runtime.id, run = %turn.run_id, %err, "turn failed");
    runtime.outbox.stream_failed(
        reply_chunk(runtime, turn, String::new(), 0),
        &err.to_string(),
    );
    TurnOutcome {
        status: "error",
        did_respond: false,
        error: Some(err.to_string()),
    }
}

async fn log_run(runtime: &AgentRuntime, turn: &Turn, extra: Value) {
    let mut body = json!({
        "runId": turn.run_id,
        "messageId": turn.message.id,
        "roomId": turn.room.id,
        "entityId": turn.sender(),
        "source": "messageHandler",
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra.into_iter().filter(|(_, value)| !value.is_null()));
    }
    runtime
        .log(turn.sender(), turn.room.id, "run_event", body)
        .await;
}

async fn run(runtime: &AgentRuntime, turn: &mut Turn) -> RuntimeResult<TurnOutcome> {
    crate::attachments::describe_images(runtime, turn).await;
    turn.room_state = agent_room_state(runtime, turn).await;
    let turn = &*turn;
    runtime.embeddings.enqueue(
        turn.message.id,
        turn.text(),
        Some(turn.room.id),
        Some(turn.run_id),
        Priority::High,
    );
    let character = runtime.character();
    let settings = RespondSettings::from_settings(|key| runtime.setting(key));
    let room_state = turn.room_state;
    let room_type = turn.room.room_type.as_str();
    let decision = decide(
        &RespondInput {
            agent_name: &character.name,
            text: turn.text(),
            from_self: turn.sender() == EntityId(runtime.id.0),
            room_type: Some(room_type),
            room_state,
            source: turn.source(),
            is_mention: mention_flag(turn, "isMention"),
            is_reply: mention_flag(turn, "isReply"),
        },
        &settings,
    );
    // These end the run before any state is built (1.7.2's `self`, `off` and `muted` runs).
    if let RespondDecision::Ignore(
        reason @ (RespondReason::OwnMessage | RespondReason::DefaultOff | RespondReason::Muted),
    ) = decision
    {
        return Ok(TurnOutcome::ended(reason.as_str(), false));
    }
    let state = compose_state(runtime, turn, &FIRST_STATE, true, None).await;
    let respond = match decision {
        RespondDecision::Respond(_) => true,
        RespondDecision::Ignore(_) => false,
        RespondDecision::AskModel => match runtime.prompt_profile(ModelType::TextSmall) {
            PromptProfile::Full => ask_should_respond(runtime, turn, &state).await?,
            // A small local model cannot tell whom a message is for (it ignores the answer
            // format); the agent's name in the message decides instead, without a model call.
            PromptProfile::Compact { .. } => names_agent(turn.text(), &character.name),
        },
    };
    let did_respond = if respond {
        match respond_to(runtime, turn, &state).await? {
            Some(did_respond) => did_respond,
            // A newer message of the room took over: this answer is dropped silently.
            None => return Ok(TurnOutcome::ended("replaced", false)),
        }
    } else {
        if turn.claim.is_superseded()
            && !parse_boolean_from_text(runtime.setting("BOOTSTRAP_KEEP_RESP").as_deref())
        {
            return Ok(TurnOutcome::ended("replaced", false));
        }
        deliver(runtime, turn, ignore_content(), turn.response_id).await?;
        false
    };
    evaluate(runtime, turn, &state, did_respond).await;
    Ok(TurnOutcome::ended("completed", did_respond))
}

fn mention_flag(turn: &Turn, key: &str) -> bool {
    turn.message
        .content
        .get("mentionContext")
        .and_then(|context| context.get(key))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn ignore_content() -> Content {
    let mut content = Content::new();
    content.insert(
        "thought".into(),
        json!("Agent decided not to respond to this message."),
    );
    content.insert("actions".into(), json!(["IGNORE"]));
    content.insert("simple".into(), json!(true));
    content
}

/// Whether `text` names the agent (as a word, in any case).
fn names_agent(text: &str, agent_name: &str) -> bool {
    let name = agent_name.trim().to_lowercase();
    !name.is_empty()
        && text
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == name)
}

/// Renders the template `name` for the provider serving `model_type` (its compact variant for
/// small local models, with the compact system message and answer frame).
fn render_template(
    runtime: &AgentRuntime,
    turn: &Turn,
    state: &State,
    name: TemplateName,
    model_type: ModelType,
) -> RuntimeResult<(String, Option<CompactPrompt>)> {
    let character = runtime.character();
    let chosen = template_for(
        name,
        &character.templates,
        runtime.prompt_profile(model_type),
    );
    let values = state.to_value();
    let mut rng = turn.rng(name.key().trim_end_matches("Template"));
    let prompt = runtime
        .renderer
        .render_state(chosen.text, &values, &mut rng)?;
    let compact = match chosen.compact {
        Some(compact) => Some(CompactPrompt {
            system: runtime
                .renderer
                .render_state(compact.system, &values, &mut rng)?,
            frame: compact.frame,
        }),
        None => None,
    };
    Ok((prompt, compact))
}

/// TEXT_SMALL with the shouldRespond template; an unreadable answer means "do not respond".
async fn ask_should_respond(
    runtime: &AgentRuntime,
    turn: &Turn,
    state: &State,
) -> RuntimeResult<bool> {
    let character = runtime.character();
    let prompt = runtime.renderer.render_state(
        template(TemplateName::ShouldRespond, &character.templates),
        &state.to_value(),
        &mut turn.rng("shouldRespond"),
    )?;
    let answer = runtime
        .generate_text(ModelType::TextSmall, prompt, Some(turn), None)
        .await?;
    Ok(parse_should_respond(&answer).is_some_and(|answer| answer.should_respond()))
}

/// Asks the model for the reply and delivers it; returns whether a reply went out, or `None`
/// when a newer message of the room superseded this one.
async fn respond_to(
    runtime: &AgentRuntime,
    turn: &Turn,
    state: &State,
) -> RuntimeResult<Option<bool>> {
    let state = compose_state(runtime, turn, &["ACTIONS"], false, Some(state)).await;
    // A newer message stops the model at once (dropping the call cancels a local generation),
    // so the answer the user now waits for is not queued behind this one.
    let reply = tokio::select! {
        reply = message_handler_answer(runtime, turn, &state) => reply?,
        () = turn.claim.superseded() => return Ok(None),
    };
    if turn.claim.is_superseded() {
        return Ok(None);
    }
    let content = reply.to_content();
    let state = if reply.providers.is_empty() {
        state
    } else {
        let names: Vec<&str> = reply.providers.iter().map(String::as_str).collect();
        compose_state(runtime, turn, &names, false, Some(&state)).await
    };
    match reply.mode() {
        ReplyMode::Simple => deliver(runtime, turn, content, turn.response_id)
            .await
            .map(Some),
        ReplyMode::Actions => process_actions(runtime, turn, &reply.actions, content, state)
            .await
            .map(Some),
    }
}

/// The message-handler answer, asked again (up to `max_retries` times) while it lacks a
/// thought or actions. The first attempt streams a plain REPLY's text to the channel.
async fn message_handler_answer(
    runtime: &AgentRuntime,
    turn: &Turn,
    state: &State,
) -> RuntimeResult<HandlerReply> {
    let (prompt, compact) = render_template(
        runtime,
        turn,
        state,
        TemplateName::MessageHandler,
        ModelType::TextLarge,
    )?;
    let attempts = runtime.options.max_retries.max(1);
    for attempt in 1..=attempts {
        let mut extractor = ReplyStreamExtractor::new();
        let mut index = 0;
        let mut on_chunk = |piece: &str| {
            if let Some(text) = extractor.push(piece) {
                runtime
                    .outbox
                    .stream_chunk(reply_chunk(runtime, turn, text, index));
                index += 1;
            }
        };
        let streaming = attempt == 1;
        let answer = runtime
            .generate_framed(
                ModelType::TextLarge,
                prompt.clone(),
                compact.clone(),
                Some(turn),
                streaming.then_some(&mut on_chunk as &mut (dyn FnMut(&str) + Send)),
            )
            .await?;
        let parsed = parse_key_value_xml(&answer);
        if !needs_retry(parsed.as_ref())
            && let Some(parsed) = parsed
        {
            return Ok(HandlerReply::from_parsed(&parsed));
        }
        // A reply whose text went out whole is kept even if the rest of the XML is broken.
        if let Some(text) = extractor.finished_text() {
            let mut fields = serde_json::Map::new();
            fields.insert("actions".into(), json!(["REPLY"]));
            fields.insert("text".into(), json!(text));
            return Ok(HandlerReply::from_fields(&fields));
        }
        tracing::debug!(agent = %runtime.id, attempt, "message handler answer unparsable; asking again");
    }
    Err(RuntimeError::Unparsable(attempts))
}

fn reply_chunk(runtime: &AgentRuntime, turn: &Turn, chunk: String, index: u32) -> ReplyChunk {
    ReplyChunk {
        channel_id: turn.central.channel_id,
        agent_id: runtime.id,
        message_id: MessageId(turn.response_id),
        chunk,
        index,
        in_reply_to: Some(turn.central.id),
    }
}

/// Stores a reply content as the agent's memory and, unless it is an IGNORE or has no text,
/// sends it to the channel under the same id (the `onResponse` callback of 1.7.2's bus service).
/// Returns whether it was sent.
pub async fn deliver(
    runtime: &AgentRuntime,
    turn: &Turn,
    mut content: Content,
    id: Uuid,
) -> RuntimeResult<bool> {
    content.insert("responseId".into(), json!(id));
    content
        .entry("inReplyTo")
        .or_insert_with(|| json!(turn.in_reply_to()));
    let memory = Memory {
        id: MemoryId(id),
        table: MESSAGES_TABLE.to_owned(),
        created_at: crate::turn::now_millis(),
        content: Value::Object(content.clone()),
        entity_id: Some(EntityId(runtime.id.0)),
        agent_id: runtime.id,
        room_id: Some(turn.room.id),
        world_id: turn.room.world_id,
        unique: true,
        metadata: json!({"type": "message", "source": "agent_response"}),
        embedding: None,
    };
    runtime.store.create_memory(&memory).await?;
    let text = content.get("text").and_then(Value::as_str).unwrap_or("");
    let ignored = content
        .get("actions")
        .and_then(Value::as_array)
        .is_some_and(|actions| {
            actions
                .iter()
                .any(|a| a.as_str().is_some_and(|a| a.eq_ignore_ascii_case("IGNORE")))
        });
    if ignored || text.is_empty() {
        return Ok(false);
    }
    let character = runtime.character();
    let channel_type = turn.channel_type.as_str();
    runtime
        .outbox
        .submit(NewMessage {
            id: Some(MessageId(id)),
            channel_id: turn.central.channel_id,
            message_server_id: turn.central.message_server_id,
            author_id: runtime.id.to_string(),
            content: text.to_owned(),
            raw_message: json!({
                "text": text,
                "thought": content.get("thought"),
                "actions": content.get("actions"),
            }),
            source_type: "agent_response".to_owned(),
            source_id: None,
            in_reply_to: Some(turn.central.id),
            metadata: Some(json!({
                "agent_id": runtime.id,
                "agentName": character.name,
                "attachments": content.get("attachments"),
                "channelType": channel_type,
                "isDm": channel_type == "DM",
            })),
        })
        .await?;
    Ok(true)
}

/// `composeState`: the selected providers run concurrently, each within the provider deadline
/// (a late or failing provider contributes nothing), and their results are folded over `base`.
pub async fn compose_state(
    runtime: &AgentRuntime,
    turn: &Turn,
    include: &[&str],
    only_include: bool,
    base: Option<&State>,
) -> State {
    let wanted = |provider: &Arc<dyn Provider>| {
        include
            .iter()
            .any(|name| name.eq_ignore_ascii_case(provider.name()))
    };
    let mut selected: Vec<&Arc<dyn Provider>> = runtime
        .plugins
        .providers
        .iter()
        .filter(|provider| {
            wanted(provider) || (!only_include && !provider.private() && !provider.dynamic())
        })
        .collect();
    selected.sort_by_key(|provider| provider.position());
    let empty = State::default();
    let base_state = base.unwrap_or(&empty);
    let deadline = runtime.options.provider_deadline;
    let runs = selected.iter().map(|provider| async move {
        let name = provider.name().to_owned();
        if let Some(known) = reusable(provider.as_ref(), base_state) {
            return (name, known);
        }
        let result = tokio::time::timeout(deadline, provider.get(runtime, turn, base_state)).await;
        let result = match result {
            Ok(Ok(result)) => result,
            Ok(Err(err)) => {
                tracing::warn!(agent = %runtime.id, provider = %name, %err, "provider failed");
                ProviderResult::default()
            }
            Err(_) => {
                tracing::warn!(agent = %runtime.id, provider = %name, "provider missed its deadline");
                ProviderResult::default()
            }
        };
        (name, result)
    });
    State::compose(base, join_all(runs).await)
}

/// A provider's result already in the turn's state, unless the provider must run every time.
/// Within one turn the others give the same answer, so the second and later states of a turn
/// (1.7.2 recomputes them) only run what is new.
fn reusable(provider: &dyn Provider, base: &State) -> Option<ProviderResult> {
    if provider.volatile() {
        return None;
    }
    let known = base.providers.get(provider.name())?;
    let map = |key: &str| {
        known
            .get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    Some(ProviderResult {
        text: known
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        values: map("values"),
        data: map("data"),
    })
}

/// Finds an action by name: exact, then substring either way, then similes, ignoring case and
/// underscores (1.7.2's resolution order).
pub fn resolve_action<'a>(
    actions: &'a [Arc<dyn Action>],
    name: &str,
) -> Option<&'a Arc<dyn Action>> {
    let normal = |text: &str| text.to_lowercase().replace('_', "");
    let wanted = normal(name);
    if wanted.is_empty() {
        return None;
    }
    let by_name = |test: &dyn Fn(&str) -> bool| actions.iter().find(|a| test(&normal(a.name())));
    let by_simile = |test: &dyn Fn(&str) -> bool| {
        actions
            .iter()
            .find(|a| a.similes().iter().any(|simile| test(&normal(simile))))
    };
    by_name(&|n| n == wanted)
        .or_else(|| by_name(&|n| n.contains(&wanted) || wanted.contains(n)))
        .or_else(|| by_simile(&|s| s == wanted))
        .or_else(|| by_simile(&|s| s.contains(&wanted) || wanted.contains(s)))
}

/// Runs the answer's actions in order; each one's contents are delivered once it returns and
/// its result is stored as an `action_result` memory and an `action` log row.
async fn process_actions(
    runtime: &AgentRuntime,
    turn: &Turn,
    names: &[String],
    response: Content,
    mut state: State,
) -> RuntimeResult<bool> {
    let responses = vec![response];
    let mut results: Vec<Value> = Vec::new();
    let mut first_reply = true;
    let mut sent = false;
    for (step, name) in names.iter().enumerate() {
        let action_id = Uuid::new_v4();
        let Some(action) = resolve_action(&runtime.plugins.actions, name).cloned() else {
            store_action_result(
                runtime,
                turn,
                action_id,
                name,
                &ActionResult::failed(format!("Action not found: {name}")),
            )
            .await?;
            continue;
        };
        let action_name = action.name().to_owned();
        runtime
            .log(
                EntityId(runtime.id.0),
                turn.room.id,
                "action_event",
                json!({
                    "runId": turn.run_id, "actionId": action_id, "actionName": action_name,
                    "roomId": turn.room.id, "messageId": turn.message.id,
                    "timestamp": Utc::now().timestamp_millis(), "planStep": step + 1,
                    "source": "actionHandler",
                }),
            )
            .await;
        state.set(ACTION_RESULTS, Value::Array(results.clone()));
        let action_state = compose_state(
            runtime,
            turn,
            &["RECENT_MESSAGES", "ACTION_STATE"],
            true,
            Some(&state),
        )
        .await;
        let mut output = Vec::new();
        let call = ActionCall {
            state: &action_state,
            responses: &responses,
            output: &mut output,
            action_id,
        };
        let result = match action.handle(runtime, turn, call).await {
            Ok(result) => result,
            Err(err) => {
                tracing::warn!(agent = %runtime.id, action = %action_name, %err, "action failed");
                ActionResult::failed(err.to_string())
            }
        };
        for content in output {
            let id = if first_reply {
                turn.response_id
            } else {
                Uuid::new_v4()
            };
            first_reply = false;
            sent |= deliver(runtime, turn, content, id).await?;
        }
        for (key, value) in &result.values {
            state.set(key, value.clone());
        }
        store_action_result(runtime, turn, action_id, &action_name, &result).await?;
        runtime
            .log(
                turn.sender(),
                turn.room.id,
                "action",
                json!({
                    "action": action_name, "actionId": action_id, "message": turn.text(),
                    "messageId": turn.message.id, "responses": responses,
                    "result": result.to_json(), "isLegacyReturn": false,
                    "prompts": [], "promptCount": 0, "runId": turn.run_id, "planStep": step + 1,
                }),
            )
            .await;
        results.push(json!({
            "action": action_name, "success": result.success,
            "text": result.text, "error": result.error,
        }));
    }
    Ok(sent)
}

async fn store_action_result(
    runtime: &AgentRuntime,
    turn: &Turn,
    action_id: Uuid,
    action_name: &str,
    result: &ActionResult,
) -> RuntimeResult<()> {
    let status = if result.success {
        "completed"
    } else {
        "failed"
    };
    let text = result
        .text
        .clone()
        .or_else(|| result.error.clone())
        .unwrap_or_else(|| format!("Executed action: {action_name}"));
    let memory = Memory {
        id: MemoryId(action_id),
        table: MESSAGES_TABLE.to_owned(),
        created_at: crate::turn::now_millis(),
        content: json!({
            "text": text, "source": "action", "type": "action_result",
            "actionName": action_name, "actionStatus": status,
            "actionResult": result.to_json(), "runId": turn.run_id,
        }),
        entity_id: Some(EntityId(runtime.id.0)),
        agent_id: runtime.id,
        room_id: Some(turn.room.id),
        world_id: turn.room.world_id,
        unique: true,
        metadata: json!({
            "type": "action_result", "actionName": action_name,
            "runId": turn.run_id, "actionId": action_id,
        }),
        embedding: None,
    };
    runtime.store.create_memory(&memory).await?;
    Ok(())
}

/// Runs the evaluators that apply (all when the agent answered, `always_run` ones otherwise)
/// concurrently, logging an `evaluator` row for each; a failing evaluator never fails the turn.
async fn evaluate(runtime: &AgentRuntime, turn: &Turn, state: &State, did_respond: bool) {
    let candidates: Vec<_> = runtime
        .plugins
        .evaluators
        .iter()
        .filter(|evaluator| did_respond || evaluator.always_run())
        .collect();
    if candidates.is_empty() {
        return;
    }
    let checks = join_all(candidates.iter().map(|e| e.validate(runtime, turn))).await;
    let chosen: Vec<_> = candidates
        .into_iter()
        .zip(checks)
        .filter(|(_, valid)| *valid)
        .map(|(evaluator, _)| evaluator)
        .collect();
    if chosen.is_empty() {
        return;
    }
    let state = compose_state(
        runtime,
        turn,
        &["RECENT_MESSAGES", "EVALUATORS"],
        true,
        Some(state),
    )
    .await;
    let runs = chosen.iter().map(|evaluator| {
        let state = &state;
        async move {
            let outcome = evaluator.handle(runtime, turn, state).await;
            if let Err(err) = &outcome {
                tracing::warn!(agent = %runtime.id, evaluator = evaluator.name(), %err, "evaluator failed");
            }
            runtime
                .log(
                    turn.sender(),
                    turn.room.id,
                    "evaluator",
                    json!({
                        "evaluator": evaluator.name(), "messageId": turn.message.id,
                        "message": turn.text(), "runId": turn.run_id,
                        "success": outcome.is_ok(),
                        "error": outcome.err().map(|err| err.to_string()),
                    }),
                )
                .await;
        }
    });
    join_all(runs).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_agent_is_named_as_a_word() {
        assert!(super::names_agent("Hey eliza, tea?", "Eliza"));
        assert!(super::names_agent("ELIZA!", "Eliza"));
        assert!(!super::names_agent("elizabeth is here", "Eliza"));
        assert!(!super::names_agent("hello", " "));
    }
}
