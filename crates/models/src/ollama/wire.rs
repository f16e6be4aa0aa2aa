//! The JSON of the Ollama API (`/api/chat`, `/api/embed`, `/api/show`, `/api/pull`), as far as
//! we use it. Fields we read are optional, so a missing one is a clear "no …" error rather than
//! a parse failure.

use serde::{Deserialize, Serialize};

use crate::request::TokenUsage;

#[derive(Debug, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Options::is_empty")]
    pub options: Options<'a>,
    /// Always sent: Ollama streams when it is absent.
    pub stream: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

/// Ollama's sampling options; only those the caller set are sent, so the model's own
/// defaults (from its Modelfile) apply to the rest.
#[derive(Debug, Default, PartialEq, Serialize)]
pub(crate) struct Options<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_predict: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
}

impl Options<'_> {
    fn is_empty(&self) -> bool {
        *self == Options::default()
    }
}

/// A whole chat answer, and also one line of a streamed one.
#[derive(Debug, Deserialize)]
pub(crate) struct ChatResponse {
    pub model: Option<String>,
    pub message: Option<ResponseMessage>,
    #[serde(default)]
    pub done: bool,
    pub done_reason: Option<String>,
    pub prompt_eval_count: Option<u64>,
    pub eval_count: Option<u64>,
    /// Ollama reports failures as `{"error": "…"}`, also inside a 200 stream.
    pub error: Option<serde_json::Value>,
}

impl ChatResponse {
    /// Token counts, when Ollama reported any (it leaves them out for cached prompts).
    pub fn usage(&self) -> Option<TokenUsage> {
        if self.prompt_eval_count.is_none() && self.eval_count.is_none() {
            return None;
        }
        let prompt_tokens = self.prompt_eval_count.unwrap_or(0);
        let completion_tokens = self.eval_count.unwrap_or(0);
        Some(TokenUsage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
        })
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponseMessage {
    pub content: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct EmbedRequest<'a> {
    pub model: &'a str,
    pub input: [&'a str; 1],
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbedResponse {
    #[serde(default)]
    pub embeddings: Vec<Vec<f32>>,
}

/// The body of `/api/show`.
#[derive(Debug, Serialize)]
pub(crate) struct ModelRef<'a> {
    pub model: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct PullRequest<'a> {
    pub model: &'a str,
    /// One answer when the download is over, instead of progress lines.
    pub stream: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PullResponse {
    pub status: Option<String>,
    pub error: Option<serde_json::Value>,
}
