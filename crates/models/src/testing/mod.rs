//! Test support (cargo feature `testing`): fake OpenAI-compatible, Ollama and Anthropic HTTP
//! servers and a scripted in-memory provider, for this crate's tests and the runtime's. Not in
//! default builds, so nothing fake ships in a release binary.

mod embedding;
mod fake_anthropic;
mod fake_ollama;
mod fake_openai;
mod fake_server;
mod form;
#[cfg(feature = "local")]
mod local_models;
mod scripted;

pub use embedding::hash_embedding;
pub use fake_anthropic::{FAKE_ANTHROPIC_KEY, FakeAnthropic};
pub use fake_ollama::FakeOllama;
pub use fake_openai::{FAKE_API_KEY, FAKE_TRANSCRIPT, FakeOpenAi};
pub use fake_server::{FakeReply, RecordedRequest};
pub use form::FormField;
#[cfg(feature = "local")]
pub use local_models::{fetch_test_models, fetch_test_models_blocking, test_models_dir};
pub use scripted::{ScriptedCall, ScriptedProvider, ScriptedReply};
