//! The agent registry: which agents run, built from their characters (plugins, model
//! providers, settings) and fed by their inboxes. It is the server's [`AgentLifecycle`].

use crate::agent::{AgentRuntime, RuntimeOptions, RuntimeParts};
use crate::bootstrap::BootstrapPlugin;
use crate::connector::spawn_worker;
use crate::plugin::{PluginCatalog, Plugins};
use crate::settings::{AgentSettings, Environment};
use async_trait::async_trait;
use eliza_bus::{AgentInboxes, AgentOutbox};
use eliza_domain::lifecycle::{AgentLifecycle, StartError};
use eliza_domain::secrets::SecretCipher;
use eliza_domain::{Agent, AgentId, AgentStatus, Character, Store};
use eliza_models::ModelProvider;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio::task::JoinHandle;

/// The model providers of an agent, from its character and settings (the model plugins it
/// names, or what the environment configures).
pub type ModelFactory = Arc<
    dyn Fn(&Character, &AgentSettings) -> Result<Vec<Arc<dyn ModelProvider>>, String> + Send + Sync,
>;

/// The model providers the character's model plugins (or, without any, the environment) call
/// for, configured from the agent's settings (`eliza_models::catalog`).
pub fn catalog_models() -> ModelFactory {
    Arc::new(|character, settings| {
        eliza_models::catalog::providers_for(&character.plugins, &settings.lookup())
            .map_err(|err| err.to_string())
    })
}

/// What every agent of a server shares.
#[derive(Clone)]
pub struct RegistryConfig {
    pub env: Environment,
    pub cipher: SecretCipher,
    pub options: RuntimeOptions,
    pub catalog: PluginCatalog,
    pub models: ModelFactory,
}

impl RegistryConfig {
    /// The server defaults: the environment snapshot, the secrets salt, the model catalog and no
    /// extra plugins.
    pub fn new(env: Environment, secret_salt: &str) -> Self {
        RegistryConfig {
            env,
            cipher: SecretCipher::new(secret_salt),
            options: RuntimeOptions::default(),
            catalog: PluginCatalog::default(),
            models: catalog_models(),
        }
    }
}

struct Running {
    id: AgentId,
    runtime: Arc<AgentRuntime>,
    worker: JoinHandle<()>,
}

/// The character's plugin names, in a comparable order.
fn sorted_plugins(character: &Character) -> Vec<String> {
    let mut plugins = character.plugins.clone();
    plugins.sort();
    plugins
}

pub struct AgentRegistry {
    store: Arc<dyn Store>,
    inboxes: AgentInboxes,
    config: RegistryConfig,
    /// Set once the messaging service exists (it is built from state that holds the registry).
    outbox: OnceLock<Arc<dyn AgentOutbox>>,
    /// In start order ("the first running agent" of 1.7.2).
    running: Mutex<Vec<Running>>,
}

impl AgentRegistry {
    pub fn new(store: Arc<dyn Store>, inboxes: AgentInboxes, config: RegistryConfig) -> Self {
        AgentRegistry {
            store,
            inboxes,
            config,
            outbox: OnceLock::new(),
            running: Mutex::new(Vec::new()),
        }
    }

    /// Where agents send their replies; agents cannot start before it is set.
    pub fn set_outbox(&self, outbox: Arc<dyn AgentOutbox>) {
        if self.outbox.set(outbox).is_err() {
            tracing::warn!("agent registry: the outbox was already set; keeping the first one");
        }
    }

    /// The running agent's runtime.
    pub fn runtime(&self, id: AgentId) -> Option<Arc<AgentRuntime>> {
        self.with_running(|running| {
            running
                .iter()
                .find(|agent| agent.id == id)
                .map(|agent| Arc::clone(&agent.runtime))
        })
    }

    /// The running agents' runtimes, in start order.
    pub fn runtimes(&self) -> Vec<Arc<AgentRuntime>> {
        self.with_running(|running| {
            running
                .iter()
                .map(|agent| Arc::clone(&agent.runtime))
                .collect()
        })
    }

    fn with_running<T>(&self, f: impl FnOnce(&mut Vec<Running>) -> T) -> T {
        f(&mut self.running.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn settings_of(&self, character: &Character) -> AgentSettings {
        AgentSettings::new(
            character,
            self.config.env.clone(),
            self.config.cipher.clone(),
        )
    }

    /// Bootstrap first, then the character's plugins the catalog knows; names it does not know
    /// are model plugins (handled by the model factory) or missing, which is logged.
    fn plugins_of(
        &self,
        character: &Character,
        settings: &AgentSettings,
    ) -> Result<Plugins, StartError> {
        let mut plugins = Plugins::default();
        plugins.add(&BootstrapPlugin);
        for name in &character.plugins {
            if name == crate::bootstrap::NAME {
                continue;
            }
            match self.config.catalog.get(name) {
                Some(factory) => {
                    let plugin = factory(settings)
                        .map_err(|err| StartError(format!("plugin {name}: {err}")))?;
                    plugins.add(plugin.as_ref());
                }
                None => {
                    tracing::debug!(plugin = %name, "no Rust plugin registered under this name")
                }
            }
        }
        Ok(plugins)
    }

    async fn build(&self, agent: &Agent) -> Result<Arc<AgentRuntime>, StartError> {
        let outbox = self
            .outbox
            .get()
            .cloned()
            .ok_or_else(|| StartError("agents are not wired to messaging yet".to_owned()))?;
        let settings = self.settings_of(&agent.character);
        let plugins = self.plugins_of(&agent.character, &settings)?;
        let mut models = plugins.models.clone();
        models.extend((self.config.models)(&agent.character, &settings).map_err(StartError)?);
        let mut character = agent.character.clone();
        character.id = Some(agent.id);
        let runtime = AgentRuntime::new(RuntimeParts {
            character,
            settings,
            store: Arc::clone(&self.store),
            outbox,
            plugins,
            models,
            options: self.config.options.clone(),
        });
        runtime
            .ensure_self()
            .await
            .map_err(|err| StartError(format!("cannot prepare the agent's world: {err}")))?;
        Ok(runtime)
    }

    fn stop_now(&self, id: AgentId) -> Option<Running> {
        let stopped = self.with_running(|running| {
            let index = running.iter().position(|agent| agent.id == id)?;
            Some(running.remove(index))
        })?;
        self.inboxes.close(id);
        stopped.runtime.shutdown();
        Some(stopped)
    }
}

#[async_trait]
impl AgentLifecycle for AgentRegistry {
    async fn start(&self, agent: &Agent) -> Result<(), StartError> {
        if self.with_running(|running| running.iter().any(|r| r.id == agent.id)) {
            return Ok(());
        }
        let runtime = self.build(agent).await?;
        let started = self.with_running(|running| {
            // Another start of the same agent may have finished while this one was building.
            if running.iter().any(|r| r.id == agent.id) {
                return false;
            }
            let inbox = self.inboxes.open(agent.id);
            running.push(Running {
                id: agent.id,
                worker: spawn_worker(Arc::clone(&runtime), inbox),
                runtime: Arc::clone(&runtime),
            });
            true
        });
        if !started {
            runtime.shutdown();
            return Ok(());
        }
        if let Err(err) = self.store.index_agent_vectors(agent.id).await {
            tracing::warn!(agent = %agent.id, %err, "no vector index for the agent; its searches stay exact");
        }
        Ok(())
    }

    async fn stop(&self, id: AgentId) -> bool {
        self.store.drop_agent_vectors(id);
        self.stop_now(id).is_some()
    }

    /// Same plugins: hot update from the next turn on. Other plugins: a full restart; when the
    /// new configuration does not start, the previous one is restored and the error returned.
    async fn update(&self, agent: &Agent) -> Result<(), StartError> {
        let Some(runtime) = self.runtime(agent.id) else {
            return Ok(());
        };
        if sorted_plugins(&runtime.character()) == sorted_plugins(&agent.character) {
            let mut character = agent.character.clone();
            character.id = Some(agent.id);
            let settings = self.settings_of(&character);
            runtime.replace_character(character, settings);
            return Ok(());
        }
        let previous = Agent {
            character: (*runtime.character()).clone(),
            ..agent.clone()
        };
        self.stop_now(agent.id);
        if let Err(err) = self.start(agent).await {
            tracing::warn!(agent = %agent.id, %err, "restart with the new plugins failed; restoring the previous configuration");
            if let Err(restore) = self.start(&previous).await {
                tracing::error!(agent = %agent.id, %restore, "the previous configuration did not start either");
            }
            return Err(err);
        }
        Ok(())
    }

    fn status(&self, id: AgentId) -> AgentStatus {
        if self.with_running(|running| running.iter().any(|r| r.id == id)) {
            AgentStatus::Active
        } else {
            AgentStatus::Inactive
        }
    }

    fn running(&self) -> Vec<AgentId> {
        self.with_running(|running| running.iter().map(|r| r.id).collect())
    }
}

impl Drop for AgentRegistry {
    fn drop(&mut self) {
        for agent in self.with_running(std::mem::take) {
            agent.worker.abort();
            agent.runtime.shutdown();
        }
    }
}
