//! The JSON of the Anthropic Messages API, as far as we use it. Fields we read are optional,
//! so a missing one is a clear "no …" error rather than a parse failure.

use serde::{Deserialize, Serialize};

use crate::request::TokenUsage;

#[derive(Debug, Serialize)]
pub(crate) struct MessagesRequest<'a> {
    pub model: &'a str,
    /// Required by the API.
    pub max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'a str>,
    pub messages: [Message<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct Message<'a> {
    pub role: &'static str,
    pub content: &'a str,
}

/// A whole answer (`"type": "message"`).
#[derive(Debug, Deserialize)]
pub(crate) struct MessagesResponse {
    pub model: Option<String>,
    pub content: Option<Vec<ContentBlock>>,
    pub stop_reason: Option<String>,
    pub usage: Option<Usage>,
    /// Set when a proxy answers 200 with an error object.
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ContentBlock {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
}

impl From<Usage> for TokenUsage {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.input_tokens.saturating_add(u.output_tokens),
        }
    }
}

/// One server-sent event of a streamed answer; its `type` says which fields it has.
#[derive(Debug, Deserialize)]
pub(crate) struct StreamEventData {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub delta: Option<Delta>,
    pub usage: Option<Usage>,
    pub error: Option<serde_json::Value>,
}

/// The `delta` of `content_block_delta` (`text_delta`, `input_json_delta`, …) and of
/// `message_delta` (`stop_reason`).
#[derive(Debug, Deserialize)]
pub(crate) struct Delta {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub text: Option<String>,
    pub stop_reason: Option<String>,
}
