//! Model providers for eliza-rs: the model types of elizaOS 1.7.2 (`TEXT_SMALL`, `TEXT_LARGE`,
//! `TEXT_EMBEDDING`, …) behind one provider trait, with an OpenAI-compatible implementation.
//!
//! - [`ModelType`]: the 1.7.2 model types and their legacy aliases.
//! - [`TextRequest`], [`EmbeddingRequest`], [`TextResponse`], [`TextStream`]: what goes in and out.
//! - [`ModelProvider`]: the trait the runtime calls (`Arc<dyn ModelProvider>`).
//! - [`settings`]: the 1.7.2 parameter layering (`<MODEL>_X` > `DEFAULT_X` > legacy keys).
//! - [`retry`] and [`HttpOptions`]: timeouts and retries shared by the HTTP providers.
//! - [`openai`]: the OpenAI-compatible provider.
//! - `testing` (cargo feature `testing`): a fake OpenAI server and a scripted provider.

pub mod error;
mod http;
pub mod model_type;
pub mod openai;
pub mod provider;
pub mod request;
pub mod retry;
pub mod settings;
mod sse;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ModelError, Unavailability};
pub use http::HttpOptions;
pub use model_type::{ModelType, UnknownModelType};
pub use openai::{OpenAiConfig, OpenAiProvider};
pub use provider::ModelProvider;
pub use request::{EmbeddingRequest, TextRequest, TextResponse, TextStream, TokenUsage};
pub use retry::RetryPolicy;
