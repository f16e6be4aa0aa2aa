//! ACTIONS: the actions valid for this turn, shuffled, with descriptions and examples.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::plugin::{Action, Provider};
use crate::state::{ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use futures_util::future::join_all;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value;
use std::sync::Arc;

const MAX_EXAMPLES: usize = 10;

pub struct ActionsProvider;

#[async_trait]
impl Provider for ActionsProvider {
    fn name(&self) -> &str {
        "ACTIONS"
    }

    fn description(&self) -> &str {
        "The actions the agent can take"
    }

    fn position(&self) -> i32 {
        -1
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let checks = runtime
            .plugins
            .actions
            .iter()
            .map(|action| action.validate(runtime, turn));
        let valid: Vec<Arc<dyn Action>> = runtime
            .plugins
            .actions
            .iter()
            .zip(join_all(checks).await)
            .filter(|(_, valid)| *valid)
            .map(|(action, _)| Arc::clone(action))
            .collect();
        Ok(describe(&valid, &mut turn.rng("ACTIONS")))
    }
}

/// The provider's result for the valid actions.
pub fn describe(actions: &[Arc<dyn Action>], rng: &mut impl Rng) -> ProviderResult {
    let mut names: Vec<&str> = actions.iter().map(|action| action.name()).collect();
    names.shuffle(rng);
    let mut described: Vec<String> = actions
        .iter()
        .map(|action| format!("- **{}**: {}", action.name(), action.description()))
        .collect();
    described.shuffle(rng);
    let examples = examples(actions, rng);
    let names = names.join(", ");
    let described = described.join("\n");
    let mut sections = Vec::new();
    if !names.is_empty() {
        sections.push(format!("Possible response actions: {names}"));
        sections.push(format!("# Available Actions\n{described}"));
    }
    if !examples.is_empty() {
        sections.push(format!("# Action Examples\n{examples}"));
    }
    ProviderResult::text(sections.join("\n\n"))
        .with_value("actionNames", format!("Possible response actions: {names}"))
        .with_value("actionsWithDescriptions", described.clone())
        .with_value("actionsWithParams", described)
        .with_value("actionExamples", examples)
}

/// Up to ten example conversations drawn from all actions, `{{nameN}}` for the speakers.
fn examples(actions: &[Arc<dyn Action>], rng: &mut impl Rng) -> String {
    let all: Vec<Vec<Value>> = actions
        .iter()
        .flat_map(|action| action.examples())
        .collect();
    all.choose_multiple(rng, MAX_EXAMPLES)
        .map(|conversation| {
            conversation
                .iter()
                .filter_map(|line| {
                    let name = line.get("name")?.as_str()?;
                    let content = line.get("content")?;
                    let text = content.get("text").and_then(Value::as_str).unwrap_or("");
                    let actions = content
                        .get("actions")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .filter(|a| !a.is_empty());
                    Some(match actions {
                        Some(actions) => format!("{name}: {text} (actions: {actions})"),
                        None => format!("{name}: {text}"),
                    })
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}
