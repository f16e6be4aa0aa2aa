//! The JSON of the OpenAI APIs we call (chat completions, Responses, embeddings, audio,
//! images), as far as we use it. Every field we read is optional so that a compatible server
//! leaving one out yields a clear "missing …" error rather than a parse failure.

use serde::{Deserialize, Serialize};

use crate::request::TokenUsage;

#[derive(Debug, Default, Serialize)]
pub(crate) struct ChatRequest<'a> {
    pub model: &'a str,
    pub messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(flatten)]
    pub token_limit: Option<TokenLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// The length limit of a chat completion, under the name the model accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenLimit {
    MaxTokens(u32),
    /// Reasoning models refuse `max_tokens` and want this instead.
    MaxCompletionTokens(u32),
}

/// A chat message; the same shape is a Responses API input message.
#[derive(Debug, Serialize)]
pub(crate) struct ChatMessage<'a> {
    pub role: &'static str,
    pub content: MessageContent<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum MessageContent<'a> {
    Text(&'a str),
    /// Text and images (a vision request).
    Parts(Vec<ContentPart<'a>>),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ContentPart<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl<'a> },
}

#[derive(Debug, Serialize)]
pub(crate) struct ImageUrl<'a> {
    pub url: &'a str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatCompletion {
    #[serde(default)]
    pub choices: Vec<ChatChoice>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    /// Some proxies answer 200 with an error object.
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatChoice {
    pub message: Option<ChoiceMessage>,
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChoiceMessage {
    pub content: Option<String>,
    pub refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChatChunk {
    #[serde(default)]
    pub choices: Vec<ChunkChoice>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkChoice {
    pub delta: Option<ChunkDelta>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChunkDelta {
    pub content: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Usage {
    #[serde(default)]
    pub prompt_tokens: u64,
    #[serde(default)]
    pub completion_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

impl From<Usage> for TokenUsage {
    fn from(u: Usage) -> Self {
        Self {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct EmbeddingsRequest<'a> {
    pub model: &'a str,
    pub input: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingsResponse {
    #[serde(default)]
    pub data: Vec<EmbeddingData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct EmbeddingData {
    pub embedding: Option<Vec<f32>>,
}

/// `POST /responses`. Only fields the Responses API defines: it has no penalties, `seed` or
/// `stop`.
#[derive(Debug, Serialize)]
pub(crate) struct ResponsesRequest<'a> {
    pub model: &'a str,
    pub input: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    pub max_output_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stream: bool,
}

/// A Responses API answer, also the `response` of its stream's final events.
#[derive(Debug, Deserialize)]
pub(crate) struct ResponsesAnswer {
    /// `completed`, `incomplete`, `failed`, …
    pub status: Option<String>,
    pub model: Option<String>,
    pub output: Option<Vec<OutputItem>>,
    /// The SDKs' concatenation of the output text; a few compatible servers send it.
    pub output_text: Option<String>,
    pub usage: Option<ResponsesUsage>,
    /// `null` unless the response failed.
    pub error: Option<serde_json::Value>,
    pub incomplete_details: Option<IncompleteDetails>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutputItem {
    /// `message` holds the answer; `reasoning` and tool calls are skipped.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub content: Option<Vec<OutputContent>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct OutputContent {
    /// `output_text` or `refusal`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub text: Option<String>,
    pub refusal: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResponsesUsage {
    #[serde(default)]
    pub input_tokens: u64,
    #[serde(default)]
    pub output_tokens: u64,
    #[serde(default)]
    pub total_tokens: u64,
}

impl From<ResponsesUsage> for TokenUsage {
    fn from(u: ResponsesUsage) -> Self {
        Self {
            prompt_tokens: u.input_tokens,
            completion_tokens: u.output_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// One event of a Responses stream; which fields are set depends on `type`.
#[derive(Debug, Deserialize)]
pub(crate) struct ResponsesStreamEvent {
    #[serde(rename = "type")]
    pub kind: String,
    /// `response.output_text.delta`.
    pub delta: Option<String>,
    /// `response.refusal.done`.
    pub refusal: Option<String>,
    /// `response.completed`, `response.incomplete`, `response.failed`.
    pub response: Option<ResponsesAnswer>,
    /// `error` events carry `message` and `code` at the top level; some servers nest them.
    pub message: Option<String>,
    pub error: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TranscriptionAnswer {
    pub text: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SpeechBody<'a> {
    pub model: &'a str,
    pub voice: &'a str,
    pub input: &'a str,
    pub response_format: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ImagesBody<'a> {
    pub model: &'a str,
    pub prompt: &'a str,
    pub n: u32,
    pub size: &'a str,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ImagesAnswer {
    pub data: Option<Vec<GeneratedImage>>,
    /// gpt-image-1 tells the format of its base64 images (`png`, `jpeg`, `webp`).
    pub output_format: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GeneratedImage {
    pub url: Option<String>,
    pub b64_json: Option<String>,
}
