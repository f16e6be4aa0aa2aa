//! Model providers for eliza-rs: the model types of elizaOS 1.7.2 (`TEXT_SMALL`, `TEXT_LARGE`,
//! `TEXT_EMBEDDING`, …) behind one provider trait, with OpenAI-compatible, Ollama and Anthropic
//! implementations.
//!
//! - [`ModelType`]: the 1.7.2 model types and their legacy aliases.
//! - [`TextRequest`], [`EmbeddingRequest`], [`TextResponse`], [`TextStream`]: what goes in and out
//!   of text and embedding calls; [`media`]: the same for image description, transcription,
//!   speech and image generation.
//! - [`ModelProvider`]: the trait the runtime calls (`Arc<dyn ModelProvider>`).
//! - [`catalog`]: which providers an agent gets from its character's `plugins` and settings
//!   ([`providers_for`], [`first_supporting`]).
//! - [`settings`]: the 1.7.2 parameter layering (`<MODEL>_X` > `DEFAULT_X` > legacy keys).
//! - [`retry`] and [`HttpOptions`]: timeouts and retries shared by the HTTP providers.
//! - [`openai`]: the OpenAI-compatible provider (plugin-openai): text over chat completions or
//!   the Responses API, embeddings, image description, transcription, speech and images.
//! - [`ollama`]: the Ollama provider (plugin-ollama), the fallback when no cloud key is set.
//! - [`anthropic`]: the Anthropic Messages API provider (plugin-anthropic); text only.
//! - `testing` (cargo feature `testing`): fake OpenAI, Ollama and Anthropic servers and a
//!   scripted provider.

pub mod anthropic;
pub mod catalog;
pub mod error;
mod http;
mod lines;
#[cfg(feature = "local")]
pub mod local;
pub mod media;
pub mod model_type;
mod multipart;
pub mod ollama;
pub mod openai;
pub mod provider;
pub mod request;
pub mod retry;
pub mod settings;
mod sse;
mod stream;
#[cfg(feature = "testing")]
pub mod testing;

pub use anthropic::{AnthropicConfig, AnthropicProvider};
pub use catalog::{ModelPlugin, first_supporting, model_plugins_for, providers_for};
pub use error::{ModelError, Unavailability};
pub use http::HttpOptions;
pub use media::{
    ImageDescription, ImageDescriptionRequest, ImageRequest, SpeechAudio, SpeechRequest,
    TranscriptionRequest,
};
pub use model_type::{ModelType, UnknownModelType};
pub use ollama::{OllamaConfig, OllamaProvider};
pub use openai::{OpenAiConfig, OpenAiProvider, OpenAiTextApi};
pub use provider::{ModelProvider, PromptProfile};
pub use request::{EmbeddingRequest, TextRequest, TextResponse, TextStream, TokenUsage};
pub use retry::RetryPolicy;
