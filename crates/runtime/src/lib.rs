//! The eliza-rs agent runtime: agents that take messages from their inbox, run the elizaOS 1.7.2
//! message pipeline (shouldRespond, providers, prompt templates, XML replies, actions, evaluators)
//! and answer through the messaging outbox.
//!
//! * [`registry`]: the [`AgentLifecycle`](eliza_domain::lifecycle::AgentLifecycle) of the server —
//!   starts, stops and hot-updates agents;
//! * [`agent`]: one running agent (`useModel`, logs, its own world);
//! * [`connector`]: the inbox consumer mapping central messages to agent memory;
//! * [`pipeline`]: the turn itself; [`bootstrap`]: the core providers, actions and REFLECTION;
//! * [`plugin`]: the traits another crate implements to add capabilities;
//! * [`embedding`]: the embedding queue;
//! * [`voice`]: a spoken exchange with an agent outside any channel (the audio routes);
//! * pure pieces: [`xml`], [`reply`], [`should_respond`], [`prompt`], [`templates`], [`stream`].

pub mod agent;
pub mod attachments;
pub mod bootstrap;
pub mod connector;
pub mod embedding;
pub mod error;
pub mod memory_search;
pub mod pipeline;
pub mod plugin;
pub mod prompt;
pub mod registry;
pub mod reply;
pub mod settings;
pub mod should_respond;
pub mod state;
pub mod stream;
pub mod templates;
pub mod turn;
pub mod voice;
pub mod xml;

pub use agent::{AgentRuntime, RuntimeOptions};
pub use error::{RuntimeError, RuntimeResult};
pub use registry::{AgentRegistry, ModelFactory, RegistryConfig, catalog_models};
pub use settings::{AgentSettings, Environment};
