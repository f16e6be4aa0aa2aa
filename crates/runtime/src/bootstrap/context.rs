//! Small context providers: ANXIETY, TIME, PROVIDERS, EVALUATORS and ACTION_STATE.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::plugin::Provider;
use crate::state::{ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use chrono::Utc;
use eliza_domain::messaging::ChannelType;
use rand::seq::IndexedRandom;
use serde_json::Value;

const GROUP_HINTS: [&str; 6] = [
    "In a group, most messages are not for you; when in doubt, choose IGNORE.",
    "Answer only when you are named or clearly addressed; otherwise stay silent.",
    "Several people are talking. Do not jump into conversations between others.",
    "If someone asks you to stop, stop and do not answer again.",
    "Keep group replies short: one or two sentences.",
    "Silence is a good answer when you have nothing useful to add.",
];
const DM_HINTS: [&str; 5] = [
    "Answer what was asked, briefly, and stop.",
    "Do not pad the reply with pleasantries or summaries of what was said.",
    "One question back at most; do not interrogate.",
    "If the person wants to end the conversation, let them.",
    "Prefer plain sentences over lists unless a list was asked for.",
];
const VOICE_HINTS: [&str; 4] = [
    "This is spoken: keep it to a sentence or two.",
    "Avoid anything that does not read aloud well: lists, links, code.",
    "Let the other person speak; short turns work best.",
    "If you were not addressed, say nothing.",
];
const OTHER_HINTS: [&str; 4] = [
    "Say less rather than more.",
    "Stay on the topic of the message you are answering.",
    "Do not repeat what you said before.",
    "If the message is not for you, ignore it.",
];
const HINTS_PER_TURN: usize = 3;

pub struct AnxietyProvider;

#[async_trait]
impl Provider for AnxietyProvider {
    fn name(&self) -> &str {
        "ANXIETY"
    }

    fn description(&self) -> &str {
        "Reminders to keep replies short and to stay out of conversations not meant for the agent"
    }

    async fn get(
        &self,
        _runtime: &AgentRuntime,
        turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let hints: &[&str] = match turn.channel_type {
            ChannelType::Group | ChannelType::Forum | ChannelType::World => &GROUP_HINTS,
            ChannelType::Dm | ChannelType::SelfChannel | ChannelType::Api => &DM_HINTS,
            ChannelType::VoiceDm | ChannelType::VoiceGroup => &VOICE_HINTS,
            _ => &OTHER_HINTS,
        };
        let chosen: Vec<&str> = hints
            .choose_multiple(&mut turn.rng("ANXIETY"), HINTS_PER_TURN)
            .copied()
            .collect();
        let text = format!(
            "# You are roleplaying as a character, but as an AI model, you are too verbose and eager.\n{}",
            chosen.join("\n")
        );
        Ok(ProviderResult::text(text.clone()).with_value("anxiety", text))
    }
}

pub struct TimeProvider;

#[async_trait]
impl Provider for TimeProvider {
    fn name(&self) -> &str {
        "TIME"
    }

    fn description(&self) -> &str {
        "The current date and time (UTC)"
    }

    async fn get(
        &self,
        _runtime: &AgentRuntime,
        _turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let now = Utc::now().format("%A, %B %-d, %Y at %-I:%M:%S %p UTC");
        let text = format!(
            "The current date and time is {now}. Please use this as your reference for any time-based operations or responses."
        );
        Ok(ProviderResult::text(text).with_value("time", now.to_string()))
    }
}

pub struct ProvidersProvider;

#[async_trait]
impl Provider for ProvidersProvider {
    fn name(&self) -> &str {
        "PROVIDERS"
    }

    fn description(&self) -> &str {
        "The providers the agent may ask for"
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        _turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let listed = |only_dynamic: bool| {
            runtime
                .plugins
                .providers
                .iter()
                .filter(|provider| !provider.private() && (!only_dynamic || provider.dynamic()))
                .map(|provider| format!("- **{}**: {}", provider.name(), provider.description()))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let dynamic = listed(true);
        let text = if dynamic.is_empty() {
            String::new()
        } else {
            format!(
                "# Providers\n\nThese providers are available for the agent to select and use:\n{dynamic}"
            )
        };
        Ok(ProviderResult::text(text).with_value("providersWithDescriptions", listed(false)))
    }
}

pub struct EvaluatorsProvider;

#[async_trait]
impl Provider for EvaluatorsProvider {
    fn name(&self) -> &str {
        "EVALUATORS"
    }

    fn description(&self) -> &str {
        "The evaluators that run after a turn"
    }

    fn private(&self) -> bool {
        true
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        _turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let names: Vec<&str> = runtime
            .plugins
            .evaluators
            .iter()
            .map(|e| e.name())
            .collect();
        let descriptions = runtime
            .plugins
            .evaluators
            .iter()
            .map(|e| format!("- **{}**: {}", e.name(), e.description()))
            .collect::<Vec<_>>()
            .join("\n");
        let text = if descriptions.is_empty() {
            String::new()
        } else {
            format!("# Available Evaluators\n{descriptions}")
        };
        Ok(ProviderResult::text(text)
            .with_value("evaluatorNames", names.join(", "))
            .with_value("evaluatorsWithDescriptions", descriptions)
            .with_value("evaluationExamples", ""))
    }
}

/// The key under which the pipeline keeps the results of actions already run this turn.
pub const ACTION_RESULTS: &str = "actionResults";

pub struct ActionStateProvider;

#[async_trait]
impl Provider for ActionStateProvider {
    fn name(&self) -> &str {
        "ACTION_STATE"
    }

    fn description(&self) -> &str {
        "Results of the actions run so far in this turn"
    }

    fn position(&self) -> i32 {
        150
    }

    fn volatile(&self) -> bool {
        true
    }

    async fn get(
        &self,
        _runtime: &AgentRuntime,
        _turn: &Turn,
        state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let results: Vec<String> = state
            .values
            .get(ACTION_RESULTS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|result| {
                let field = |key: &str| result.get(key).and_then(Value::as_str).unwrap_or("");
                let status = if result.get("success").and_then(Value::as_bool) == Some(false) {
                    "failed"
                } else {
                    "succeeded"
                };
                format!("- {} {status}: {}", field("action"), field("text"))
            })
            .collect();
        let body = if results.is_empty() {
            "No previous action results available.".to_owned()
        } else {
            results.join("\n")
        };
        Ok(
            ProviderResult::text(format!("# Previous Action Results\n{body}"))
                .with_value("actionResultsText", body),
        )
    }
}
