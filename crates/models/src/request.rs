//! What a caller asks of a model and what it gets back.

use std::pin::Pin;

use futures_util::Stream;
use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// Parameters of a text generation (`GenerateTextParams` in 1.7.2). `None` means "not set":
/// the settings layering (`crate::settings`) may fill it, and otherwise the provider's own
/// default applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextRequest {
    pub prompt: String,
    /// The system message (`character.system` in 1.7.2).
    pub system: Option<String>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Not part of the OpenAI chat API; kept for providers that understand it (Ollama, vLLM).
    pub top_k: Option<u32>,
    pub min_p: Option<f64>,
    pub seed: Option<i64>,
    pub repetition_penalty: Option<f64>,
    pub frequency_penalty: Option<f64>,
    pub presence_penalty: Option<f64>,
    pub stop_sequences: Vec<String>,
    /// The end-user name sent to the provider (1.7.2 fills in `character.name`).
    pub user: Option<String>,
    /// The caller wants the answer streamed (1.7.2 `params.stream`). Providers look at the
    /// method called (`generate_text` or `stream_text`), not at this flag; it is kept so the
    /// request can be logged as 1.7.2 logs it.
    pub stream: bool,
    /// Text the model's answer starts with (prefill), for providers that can continue a partial
    /// answer (the local model). The answer returned includes it. Others ignore it.
    pub assistant_prefix: Option<String>,
}

impl TextRequest {
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    pub fn with_system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }
}

/// The complete answer of a non-streamed text generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextResponse {
    pub text: String,
    /// The model that answered, as the server reported it (may differ from the one asked for).
    pub model: Option<String>,
    /// Why generation stopped (`stop`, `length`, …), as the server reported it.
    pub finish_reason: Option<String>,
    pub usage: Option<TokenUsage>,
}

/// Token counts, for the `MODEL_USED` event and the `useModel:*` log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

/// Parameters of an embedding (`TextEmbeddingParams` in 1.7.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    pub text: String,
}

impl EmbeddingRequest {
    pub fn new(text: impl Into<String>) -> Self {
        Self { text: text.into() }
    }
}

/// Streamed text: chunks in order, as they arrive. An `Err` item ends the stream (the
/// connection dropped, the server sent an error event); chunks already received stay valid.
/// The stream ends normally when the model is done.
pub type TextStream = Pin<Box<dyn Stream<Item = Result<String, ModelError>> + Send + 'static>>;
