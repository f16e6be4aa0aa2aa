//! Why a step of an agent's work failed.

use eliza_bus::OutboxError;
use eliza_domain::store::StoreError;
use eliza_models::ModelError;

use crate::prompt::PromptError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// The agent has no model provider for a model type it needs.
    #[error("no model provider serves {0} for this agent; configure a model plugin")]
    NoModel(eliza_models::ModelType),
    /// The model kept answering with something that is not the XML asked for.
    #[error("the model's answer could not be parsed after {0} attempts")]
    Unparsable(u32),
    #[error("{0}")]
    Other(String),
}

pub type RuntimeResult<T> = Result<T, RuntimeError>;
