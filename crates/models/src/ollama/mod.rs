//! The Ollama provider (plugin-ollama 1.2.4, §3.3), for a local or remote Ollama server.
//!
//! Text goes through `POST {base}/chat` — streamed as JSON lines when asked — and embeddings
//! through `POST {base}/embed`. Before the first call for a model, `POST {base}/show` checks
//! that the server has it and `POST {base}/pull` downloads it when it does not.
//!
//! Differences from 1.7.2, on purpose:
//! - Errors are errors: no `"Error generating text…"` string answer, no 1536-zero embedding
//!   (§8 item 12), which would be stored as if it meant something.
//! - Only the parameters the caller set are sent (1.7.2 forces temperature and penalties 0.7
//!   and ignores the caller's values for TEXT_SMALL); Ollama's model defaults apply otherwise.
//! - Streaming is supported (1.7.2 answers streamed calls in one piece).
//! - A model is checked once per provider, not before every call.
//!
//! Not implemented: OBJECT_* (JSON mode); `supports` answers false for it.

mod config;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::de::IgnoredAny;
use tokio::sync::OnceCell;

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_EMBEDDING_MODEL, DEFAULT_LARGE_MODEL, DEFAULT_PULL_TIMEOUT,
    DEFAULT_SMALL_MODEL, OllamaConfig,
};

use crate::error::ModelError;
use crate::http::{HttpClient, HttpOptions, describe_error};
use crate::model_type::ModelType;
use crate::provider::{ModelProvider, checked_embedding, probe_embedding_dimension};
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};
use crate::stream::{
    Framing, StreamEvent, StreamFormat, event_stream, mid_stream_error, parse_event,
};
use wire::{
    ChatMessage, ChatRequest, ChatResponse, EmbedRequest, EmbedResponse, ModelRef, Options,
    PullRequest, PullResponse,
};

pub const PROVIDER_NAME: &str = "ollama";

/// What 1.7.2 embeds instead of an empty text (Ollama refuses empty input).
const EMPTY_TEXT_STAND_IN: &str = "test";

/// Ollama always ends a stream with a `"done": true` line.
const STREAM_FORMAT: StreamFormat = StreamFormat {
    framing: Framing::JsonLines,
    end_event_required: true,
};

/// The Ollama provider. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct OllamaProvider {
    config: OllamaConfig,
    http: HttpClient,
    urls: Urls,
    /// Ollama needs no headers; kept so every call goes through the same client API.
    headers: HeaderMap,
    available_models: AvailableModels,
}

#[derive(Debug)]
struct Urls {
    chat: Url,
    embed: Url,
    show: Url,
    pull: Url,
    tags: Url,
}

impl OllamaProvider {
    /// Reads the configuration through `lookup` (see [`OllamaConfig::from_settings`]).
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        Self::new(OllamaConfig::from_settings(lookup)?)
    }

    pub fn new(config: OllamaConfig) -> Result<Self, ModelError> {
        Ok(Self {
            http: HttpClient::new(PROVIDER_NAME, config.http.clone())?,
            urls: Urls {
                chat: config.url("/chat")?,
                embed: config.url("/embed")?,
                show: config.url("/show")?,
                pull: config.url("/pull")?,
                tags: config.url("/tags")?,
            },
            headers: HeaderMap::new(),
            available_models: AvailableModels::default(),
            config,
        })
    }

    /// Replaces the timeouts and retry policy.
    pub fn with_http_options(mut self, options: HttpOptions) -> Result<Self, ModelError> {
        self.http = HttpClient::new(PROVIDER_NAME, options.clone())?;
        self.config.http = options;
        Ok(self)
    }

    pub fn config(&self) -> &OllamaConfig {
        &self.config
    }

    /// `GET {base}/tags`: the start-up check of 1.7.2 (which only logs the outcome).
    pub async fn check_connection(&self) -> Result<(), ModelError> {
        self.http
            .get_json::<IgnoredAny>(&self.urls.tags, &self.headers)
            .await
            .map(drop)
    }

    fn model_name(&self, model_type: ModelType) -> Result<&str, ModelError> {
        match model_type {
            ModelType::TextSmall => Ok(&self.config.small_model),
            ModelType::TextLarge => Ok(&self.config.large_model),
            other => Err(ModelError::unsupported(PROVIDER_NAME, other)),
        }
    }

    /// Makes sure the server has `model`, once per model: `show`, and `pull` when it answers
    /// 404. A failure is not remembered, so the next call checks again.
    async fn ensure_available(&self, model: &str) -> Result<(), ModelError> {
        self.available_models
            .cell(model)
            .get_or_try_init(|| self.show_or_pull(model))
            .await
            .map(drop)
    }

    async fn show_or_pull(&self, model: &str) -> Result<(), ModelError> {
        let shown = self
            .http
            .post_json::<IgnoredAny>(&self.urls.show, &self.headers, &ModelRef { model })
            .await;
        match shown {
            Ok(_) => Ok(()),
            Err(ModelError::Http { status: 404, .. }) => self.pull(model).await,
            Err(error) => Err(error),
        }
    }

    async fn pull(&self, model: &str) -> Result<(), ModelError> {
        tracing::info!(model, "the Ollama server lacks the model, pulling it");
        let body = PullRequest {
            model,
            stream: false,
        };
        let answer: PullResponse = self
            .http
            .post_json_within(
                self.config.pull_timeout,
                &self.urls.pull,
                &self.headers,
                &body,
            )
            .await?;
        let failure = match (&answer.error, answer.status.as_deref()) {
            (Some(error), _) => describe_error(error),
            (None, Some("success")) => return Ok(()),
            (None, status) => format!("it ended with status {status:?}"),
        };
        Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!("could not pull the model {model}: {failure}"),
        ))
    }

    fn chat_request<'a>(
        &self,
        model: &'a str,
        request: &'a TextRequest,
        stream: bool,
    ) -> ChatRequest<'a> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = request.system.as_deref().filter(|s| !s.is_empty()) {
            messages.push(ChatMessage {
                role: "system",
                content: system,
            });
        }
        messages.push(ChatMessage {
            role: "user",
            content: &request.prompt,
        });
        ChatRequest {
            model,
            messages,
            options: Options {
                temperature: request.temperature,
                num_predict: request.max_tokens,
                top_p: request.top_p,
                top_k: request.top_k,
                min_p: request.min_p,
                seed: request.seed,
                repeat_penalty: request.repetition_penalty,
                frequency_penalty: request.frequency_penalty,
                presence_penalty: request.presence_penalty,
                stop: &request.stop_sequences,
            },
            stream,
        }
    }
}

fn chat_text(answer: ChatResponse) -> Result<TextResponse, ModelError> {
    if let Some(error) = &answer.error {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!("the server reported an error: {}", describe_error(error)),
        ));
    }
    let usage = answer.usage();
    let Some(text) = answer.message.and_then(|m| m.content) else {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            "the answer has no message content",
        ));
    };
    Ok(TextResponse {
        text,
        model: answer.model,
        finish_reason: answer.done_reason,
        usage,
    })
}

/// One line of a streamed chat: `{"message": {"content": …}, "done": …}` or `{"error": …}`.
fn chat_line(data: &str) -> Result<StreamEvent, ModelError> {
    let line: ChatResponse = parse_event(PROVIDER_NAME, data)?;
    if let Some(error) = &line.error {
        return Err(mid_stream_error(PROVIDER_NAME, error));
    }
    if line.done {
        tracing::debug!(provider = PROVIDER_NAME, usage = ?line.usage(), "stream done");
    }
    let text = line.message.and_then(|m| m.content).unwrap_or_default();
    Ok(StreamEvent {
        text,
        end: line.done,
    })
}

/// The models known to be on the server: one cell per model, so concurrent first calls for a
/// model share one `show`/`pull` while other models go on.
#[derive(Debug, Default)]
struct AvailableModels {
    cells: Mutex<HashMap<String, Arc<OnceCell<()>>>>,
}

impl AvailableModels {
    fn cell(&self, model: &str) -> Arc<OnceCell<()>> {
        let mut cells = self
            .cells
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cells.entry(model.to_owned()).or_default().clone()
    }
}

#[async_trait]
impl ModelProvider for OllamaProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn supports(&self, model_type: ModelType) -> bool {
        matches!(
            model_type,
            ModelType::TextSmall | ModelType::TextLarge | ModelType::TextEmbedding
        )
    }

    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let model = self.model_name(model_type)?;
        self.ensure_available(model).await?;
        let body = self.chat_request(model, &request, false);
        let answer: ChatResponse = self
            .http
            .post_json(&self.urls.chat, &self.headers, &body)
            .await?;
        chat_text(answer)
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        let model = self.model_name(model_type)?;
        self.ensure_available(model).await?;
        let body = self.chat_request(model, &request, true);
        let response = self
            .http
            .post_for_stream(&self.urls.chat, &self.headers, &body)
            .await?;
        Ok(event_stream(
            self.http.clone(),
            response,
            STREAM_FORMAT,
            chat_line,
        ))
    }

    /// Empty text is embedded as `"test"`, as 1.7.2 does (Ollama refuses empty input).
    async fn embed(&self, request: EmbeddingRequest) -> Result<Vec<f32>, ModelError> {
        let model = &self.config.embedding_model;
        let text = match request.text.trim() {
            "" => EMPTY_TEXT_STAND_IN,
            _ => &request.text,
        };
        self.ensure_available(model).await?;
        let body = EmbedRequest {
            model,
            input: [text],
        };
        let answer: EmbedResponse = self
            .http
            .post_json(&self.urls.embed, &self.headers, &body)
            .await?;
        let expected = self.config.embedding_dimensions.map(|length| {
            (
                length,
                "OLLAMA_EMBEDDING_DIMENSIONS (or EMBEDDING_DIMENSION)",
            )
        });
        checked_embedding(
            PROVIDER_NAME,
            answer.embeddings.into_iter().next(),
            expected,
        )
    }

    /// The configured dimension without a call; otherwise one real embedding.
    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        match self.config.embedding_dimensions {
            Some(dimensions) => Ok(dimensions),
            None => probe_embedding_dimension(self).await,
        }
    }
}
