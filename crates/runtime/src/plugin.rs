//! The plugin boundary: actions, providers, evaluators, HTTP routes and model handlers, grouped
//! by plugin and registered per agent from the character's `plugins` list (runtime spec §6.1).
//! Another crate adds its own plugin by implementing [`Plugin`] and registering a factory in the
//! [`PluginCatalog`] the registry is built with.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::settings::AgentSettings;
use crate::state::{Content, ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use eliza_models::ModelProvider;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Adds text and values to the state a prompt is rendered from.
#[async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    fn description(&self) -> &str {
        ""
    }
    /// Prompt order: lower first; ties keep registration order.
    fn position(&self) -> i32 {
        0
    }
    /// Only included when asked for by name (by the model's `<providers>` or the pipeline).
    fn dynamic(&self) -> bool {
        false
    }
    /// Never listed to the model; only included when asked for by name.
    fn private(&self) -> bool {
        false
    }
    /// Runs again each time a turn's state is composed (its answer depends on the state, like
    /// ACTION_STATE); other providers run once per turn and their result is reused.
    fn volatile(&self) -> bool {
        false
    }
    async fn get(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        state: &State,
    ) -> RuntimeResult<ProviderResult>;
}

/// What an action handler gets besides the runtime and the turn.
pub struct ActionCall<'a> {
    pub state: &'a State,
    /// The model's answers that asked for the action.
    pub responses: &'a [Content],
    /// Contents to send to the channel, in order; each gets its own message id. They are only
    /// sent once the handler returns (1.7.2's buffering storage callback).
    pub output: &'a mut Vec<Content>,
    pub action_id: Uuid,
}

/// The outcome of an action (1.7.2 `ActionResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionResult {
    pub success: bool,
    pub text: Option<String>,
    pub values: Map<String, Value>,
    pub data: Map<String, Value>,
    pub error: Option<String>,
}

impl ActionResult {
    pub fn ok(text: impl Into<String>) -> Self {
        ActionResult {
            success: true,
            text: Some(text.into()),
            values: Map::new(),
            data: Map::new(),
            error: None,
        }
    }

    pub fn failed(error: impl Into<String>) -> Self {
        ActionResult {
            success: false,
            text: None,
            values: Map::new(),
            data: Map::new(),
            error: Some(error.into()),
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "success": self.success,
            "text": self.text,
            "values": self.values,
            "data": self.data,
            "error": self.error,
        })
    }
}

/// Something the agent can do in answer to a message.
#[async_trait]
pub trait Action: Send + Sync {
    fn name(&self) -> &str;
    fn similes(&self) -> &[&str] {
        &[]
    }
    fn description(&self) -> &str;
    /// Example conversations (lists of `{name, content}`), shown to the model.
    fn examples(&self) -> Vec<Vec<Value>> {
        Vec::new()
    }
    /// Whether the action is offered for this turn.
    async fn validate(&self, _runtime: &AgentRuntime, _turn: &Turn) -> bool {
        true
    }
    async fn handle(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        call: ActionCall<'_>,
    ) -> RuntimeResult<ActionResult>;
}

/// Runs after a turn (REFLECTION in bootstrap).
#[async_trait]
pub trait Evaluator: Send + Sync {
    fn name(&self) -> &str;
    fn description(&self) -> &str;
    /// Also runs when the agent did not answer.
    fn always_run(&self) -> bool {
        false
    }
    async fn validate(&self, runtime: &AgentRuntime, turn: &Turn) -> bool;
    async fn handle(&self, runtime: &AgentRuntime, turn: &Turn, state: &State)
    -> RuntimeResult<()>;
}

/// An HTTP request to a plugin route, framework-free.
#[derive(Debug, Clone, Default)]
pub struct PluginRequest {
    pub method: String,
    /// The path after `/api/agents/<id>/plugins`, e.g. `/my-plugin/hello`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A plugin route's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl PluginResponse {
    pub fn json(status: u16, value: &Value) -> Self {
        PluginResponse {
            status,
            content_type: "application/json".to_owned(),
            body: value.to_string().into_bytes(),
        }
    }
}

#[async_trait]
pub trait RouteHandler: Send + Sync {
    async fn handle(&self, runtime: &AgentRuntime, request: PluginRequest) -> PluginResponse;
}

/// An HTTP route a plugin serves under `/api/agents/<id>/plugins/<plugin name><path>`.
#[derive(Clone)]
pub struct PluginRoute {
    /// `GET`, `POST`, …
    pub method: String,
    /// Relative to the plugin: `/hello` is served at `/<plugin name>/hello`.
    pub path: String,
    /// Named public GET routes are listed as panels.
    pub name: Option<String>,
    pub public: bool,
    pub handler: Arc<dyn RouteHandler>,
}

/// A bundle of capabilities.
pub trait Plugin: Send + Sync {
    fn name(&self) -> &str;
    fn actions(&self) -> Vec<Arc<dyn Action>> {
        Vec::new()
    }
    fn providers(&self) -> Vec<Arc<dyn Provider>> {
        Vec::new()
    }
    fn evaluators(&self) -> Vec<Arc<dyn Evaluator>> {
        Vec::new()
    }
    fn routes(&self) -> Vec<PluginRoute> {
        Vec::new()
    }
    /// Model handlers; they come before the providers the model catalog picks.
    fn models(&self) -> Vec<Arc<dyn ModelProvider>> {
        Vec::new()
    }
}

/// Builds a plugin for one agent from its settings; an error stops the agent's start.
pub type PluginFactory =
    Arc<dyn Fn(&AgentSettings) -> Result<Arc<dyn Plugin>, String> + Send + Sync>;

/// The plugins agents can name in `plugins`, by name.
#[derive(Clone, Default)]
pub struct PluginCatalog {
    factories: HashMap<String, PluginFactory>,
}

impl PluginCatalog {
    pub fn new() -> Self {
        PluginCatalog::default()
    }

    /// Registers (or replaces) the factory of `name` (e.g. `@acme/plugin-weather`).
    pub fn register(&mut self, name: impl Into<String>, factory: PluginFactory) {
        self.factories.insert(name.into(), factory);
    }

    pub fn get(&self, name: &str) -> Option<&PluginFactory> {
        self.factories.get(name)
    }
}

/// An agent's plugins, flattened.
#[derive(Clone, Default)]
pub struct Plugins {
    pub names: Vec<String>,
    pub actions: Vec<Arc<dyn Action>>,
    pub providers: Vec<Arc<dyn Provider>>,
    pub evaluators: Vec<Arc<dyn Evaluator>>,
    /// Routes with their plugin name.
    pub routes: Vec<(String, PluginRoute)>,
    pub models: Vec<Arc<dyn ModelProvider>>,
}

impl Plugins {
    pub fn add(&mut self, plugin: &dyn Plugin) {
        self.names.push(plugin.name().to_owned());
        self.actions.extend(plugin.actions());
        self.providers.extend(plugin.providers());
        self.evaluators.extend(plugin.evaluators());
        let name = plugin.name().to_owned();
        self.routes.extend(
            plugin
                .routes()
                .into_iter()
                .map(|route| (name.clone(), route)),
        );
        self.models.extend(plugin.models());
    }

    pub fn provider(&self, name: &str) -> Option<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|provider| provider.name().eq_ignore_ascii_case(name))
    }
}
