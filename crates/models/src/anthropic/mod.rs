//! The Anthropic provider (what plugin-anthropic serves), over the Messages API:
//! `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`, streamed as server-sent
//! events when asked.
//!
//! Anthropic has no embeddings: `supports(TextEmbedding)` is false and `embed` answers
//! [`ModelError::Unsupported`]; pair this provider with one that embeds (see
//! [`crate::catalog`]). Not implemented: OBJECT_* (JSON mode), IMAGE_DESCRIPTION.

mod config;
mod wire;

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub use config::{
    AnthropicConfig, DEFAULT_BASE_URL, DEFAULT_LARGE_MAX_TOKENS, DEFAULT_LARGE_MODEL,
    DEFAULT_SMALL_MAX_TOKENS, DEFAULT_SMALL_MODEL,
};

use crate::error::ModelError;
use crate::http::{HttpClient, HttpOptions, describe_error, excerpt, secret_header};
use crate::model_type::ModelType;
use crate::provider::ModelProvider;
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};
use crate::stream::{
    Framing, StreamEvent, StreamFormat, event_stream, is_json, mid_stream_error, parse_event,
    whole_answer,
};
use wire::{Message, MessagesRequest, MessagesResponse, StreamEventData};

pub const PROVIDER_NAME: &str = "anthropic";
/// The Messages API version this provider speaks.
pub const API_VERSION: &str = "2023-06-01";

/// Anthropic always ends a stream with `message_stop`.
const STREAM_FORMAT: StreamFormat = StreamFormat {
    framing: Framing::ServerSentEvents,
    end_event_required: true,
};

/// The Anthropic provider. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct AnthropicProvider {
    config: AnthropicConfig,
    http: HttpClient,
    messages_url: Url,
    headers: HeaderMap,
}

impl AnthropicProvider {
    /// Reads the configuration through `lookup` (see [`AnthropicConfig::from_settings`]).
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        Self::new(AnthropicConfig::from_settings(lookup)?)
    }

    pub fn new(config: AnthropicConfig) -> Result<Self, ModelError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-api-key"),
            secret_header("ANTHROPIC_API_KEY", &config.api_key)?,
        );
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Ok(Self {
            http: HttpClient::new(PROVIDER_NAME, config.http.clone())?,
            messages_url: config.messages_url()?,
            headers,
            config,
        })
    }

    /// Replaces the timeouts and retry policy.
    pub fn with_http_options(mut self, options: HttpOptions) -> Result<Self, ModelError> {
        self.http = HttpClient::new(PROVIDER_NAME, options.clone())?;
        self.config.http = options;
        Ok(self)
    }

    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    /// The model and default `max_tokens` of a model type.
    fn model(&self, model_type: ModelType) -> Result<(&str, u32), ModelError> {
        match model_type {
            ModelType::TextSmall => Ok((&self.config.small_model, DEFAULT_SMALL_MAX_TOKENS)),
            ModelType::TextLarge => Ok((&self.config.large_model, DEFAULT_LARGE_MAX_TOKENS)),
            other => Err(ModelError::unsupported(PROVIDER_NAME, other)),
        }
    }

    fn messages_request<'a>(
        &'a self,
        model_type: ModelType,
        request: &'a TextRequest,
        stream: bool,
    ) -> Result<MessagesRequest<'a>, ModelError> {
        let (model, default_max_tokens) = self.model(model_type)?;
        Ok(MessagesRequest {
            model,
            max_tokens: request.max_tokens.unwrap_or(default_max_tokens),
            system: request.system.as_deref().filter(|s| !s.is_empty()),
            messages: [Message {
                role: "user",
                content: &request.prompt,
            }],
            temperature: request.temperature,
            top_p: request.top_p,
            top_k: request.top_k,
            stop_sequences: &request.stop_sequences,
            stream,
        })
    }
}

/// The text blocks of an answer, joined; other blocks (thinking, tool use) are left out.
fn message_text(answer: MessagesResponse) -> Result<TextResponse, ModelError> {
    if let Some(error) = &answer.error {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!("the server reported an error: {}", describe_error(error)),
        ));
    }
    let Some(content) = answer.content else {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            "the answer has no content",
        ));
    };
    let text = content
        .into_iter()
        .filter(|block| block.kind.as_deref() == Some("text"))
        .filter_map(|block| block.text)
        .collect();
    Ok(TextResponse {
        text,
        model: answer.model,
        finish_reason: answer.stop_reason,
        usage: answer.usage.map(Into::into),
    })
}

/// One event of a streamed answer. Event types we do not use (`message_start`, `ping`,
/// content block boundaries, and any type added later) carry no text.
fn stream_event(data: &str) -> Result<StreamEvent, ModelError> {
    let event: StreamEventData = parse_event(PROVIDER_NAME, data)?;
    match event.kind.as_deref() {
        Some("content_block_delta") => {
            let text = event
                .delta
                .filter(|d| d.kind.as_deref() == Some("text_delta"))
                .and_then(|d| d.text)
                .unwrap_or_default();
            Ok(StreamEvent::text(text))
        }
        Some("message_delta") => {
            tracing::debug!(
                provider = PROVIDER_NAME,
                stop_reason = ?event.delta.and_then(|d| d.stop_reason),
                output_tokens = ?event.usage.map(|u| u.output_tokens),
                "stream usage"
            );
            Ok(StreamEvent::nothing())
        }
        Some("message_stop") => Ok(StreamEvent::end()),
        Some("error") => Err(mid_stream_error(
            PROVIDER_NAME,
            &event.error.unwrap_or_default(),
        )),
        Some(_) => Ok(StreamEvent::nothing()),
        None => Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!(
                "a stream event without a type: {}",
                excerpt(data.as_bytes())
            ),
        )),
    }
}

#[async_trait]
impl ModelProvider for AnthropicProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn supports(&self, model_type: ModelType) -> bool {
        matches!(model_type, ModelType::TextSmall | ModelType::TextLarge)
    }

    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let body = self.messages_request(model_type, &request, false)?;
        let answer: MessagesResponse = self
            .http
            .post_json(&self.messages_url, &self.headers, &body)
            .await?;
        message_text(answer)
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        let body = self.messages_request(model_type, &request, true)?;
        let response = self
            .http
            .post_for_stream(&self.messages_url, &self.headers, &body)
            .await?;
        // A proxy that ignored `stream: true` answers one message: its text is the one chunk.
        if is_json(&response) {
            return Ok(whole_answer(self.http.clone(), response, |answer| {
                message_text(answer).map(|r| r.text)
            }));
        }
        Ok(event_stream(
            self.http.clone(),
            response,
            STREAM_FORMAT,
            stream_event,
        ))
    }

    async fn embed(&self, _request: EmbeddingRequest) -> Result<Vec<f32>, ModelError> {
        Err(ModelError::unsupported(
            PROVIDER_NAME,
            ModelType::TextEmbedding,
        ))
    }

    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        Err(ModelError::unsupported(
            PROVIDER_NAME,
            ModelType::TextEmbedding,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_deltas_carry_text() {
        let text = |data: &str| stream_event(data).map(|e| (e.text, e.end));
        assert_eq!(
            text(
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#
            ),
            Ok(("Hi".to_owned(), false))
        );
        assert_eq!(
            text(
                r#"{"type":"content_block_delta","delta":{"type":"input_json_delta","partial_json":"{"}}"#
            ),
            Ok((String::new(), false))
        );
        assert_eq!(text(r#"{"type":"ping"}"#), Ok((String::new(), false)));
        assert_eq!(
            text(r#"{"type":"some_future_event","x":1}"#),
            Ok((String::new(), false))
        );
        assert_eq!(
            text(r#"{"type":"message_stop"}"#),
            Ok((String::new(), true))
        );
    }

    #[test]
    fn error_and_untyped_events_fail_the_stream() {
        let error = stream_event(
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
        );
        assert!(
            matches!(&error, Err(ModelError::InvalidResponse { message, .. }) if message.ends_with("mid-stream: Overloaded")),
            "{error:?}"
        );
        assert!(matches!(
            stream_event(r#"{"delta":{}}"#),
            Err(ModelError::InvalidResponse { .. })
        ));
        assert!(matches!(
            stream_event("not json"),
            Err(ModelError::InvalidResponse { .. })
        ));
    }

    #[test]
    fn thinking_blocks_are_left_out_of_the_text() {
        let answer: Result<MessagesResponse, _> = serde_json::from_str(
            r#"{"content":[{"type":"thinking","thinking":"hmm"},{"type":"text","text":"a"},{"type":"text","text":"b"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2}}"#,
        );
        let response = answer
            .map_err(|e| ModelError::invalid_response("t", e.to_string()))
            .and_then(message_text);
        assert_eq!(response.as_ref().map(|r| r.text.as_str()), Ok("ab"));
        assert_eq!(
            response.ok().and_then(|r| r.usage).map(|u| u.total_tokens),
            Some(5)
        );
    }
}
