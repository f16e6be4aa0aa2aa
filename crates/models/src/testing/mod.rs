//! Test support (cargo feature `testing`): a fake OpenAI-compatible HTTP server and a scripted
//! in-memory provider, for this crate's tests and the runtime's. Not in default builds, so
//! nothing fake ships in a release binary.

mod embedding;
mod fake_openai;
mod scripted;

pub use embedding::hash_embedding;
pub use fake_openai::{FakeOpenAi, FakeReply, RecordedRequest};
pub use scripted::{ScriptedCall, ScriptedProvider, ScriptedReply};
