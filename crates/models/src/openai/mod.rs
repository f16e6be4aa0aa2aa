//! The OpenAI-compatible provider (plugin-openai 1.6.0, §3.2), for api.openai.com and every
//! server that speaks its API (LM Studio, vLLM, llama.cpp, OpenRouter, …).
//!
//! Text goes through `POST {base}/chat/completions` — streamed as SSE when asked — and
//! embeddings through `POST {embeddingBase}/embeddings`.
//!
//! Not implemented yet: the Responses API (`POST /responses`, what plugin-openai's AI SDK uses
//! for api.openai.com; chat completions is the pragmatic equivalent that every compatible server
//! also speaks), OBJECT_* (JSON mode), IMAGE, IMAGE_DESCRIPTION, TRANSCRIPTION, TEXT_TO_SPEECH and
//! the tokenizer. `supports` answers false for them.

mod config;
mod stream;
mod wire;

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap};

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_EMBEDDING_MODEL, DEFAULT_LARGE_MODEL, DEFAULT_SMALL_MODEL,
    OpenAiConfig, SUPPORTED_EMBEDDING_DIMENSIONS,
};

use crate::error::ModelError;
use crate::http::{HttpClient, HttpOptions, bearer, describe_error};
use crate::model_type::ModelType;
use crate::provider::{ModelProvider, checked_embedding, probe_embedding_dimension};
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};
use wire::{ChatCompletion, ChatMessage, ChatRequest, EmbeddingsRequest, EmbeddingsResponse};

/// What 1.7.2 sends when the caller gives no temperature / max tokens.
const DEFAULT_TEMPERATURE: f64 = 0.7;
const DEFAULT_MAX_TOKENS: u32 = 8192;

pub const PROVIDER_NAME: &str = "openai";

/// The OpenAI-compatible provider. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct OpenAiProvider {
    config: OpenAiConfig,
    http: HttpClient,
    chat_url: Url,
    embeddings_url: Url,
    models_url: Url,
    headers: HeaderMap,
    embedding_headers: HeaderMap,
}

impl OpenAiProvider {
    /// Reads the configuration through `lookup` (see [`OpenAiConfig::from_settings`]).
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        Self::new(OpenAiConfig::from_settings(lookup)?)
    }

    pub fn new(config: OpenAiConfig) -> Result<Self, ModelError> {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, bearer("OPENAI_API_KEY", &config.api_key)?);
        let mut embedding_headers = HeaderMap::new();
        embedding_headers.insert(
            AUTHORIZATION,
            bearer("OPENAI_EMBEDDING_API_KEY", &config.embedding_api_key)?,
        );
        Ok(Self {
            http: HttpClient::new(PROVIDER_NAME, config.http.clone())?,
            chat_url: config.chat_url()?,
            embeddings_url: config.embeddings_url()?,
            models_url: config.models_url()?,
            headers,
            embedding_headers,
            config,
        })
    }

    /// Replaces the timeouts and retry policy.
    pub fn with_http_options(mut self, options: HttpOptions) -> Result<Self, ModelError> {
        self.http = HttpClient::new(PROVIDER_NAME, options.clone())?;
        self.config.http = options;
        Ok(self)
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// `GET {base}/models`: the start-up key check of 1.7.2 (which only logs the outcome).
    pub async fn check_connection(&self) -> Result<(), ModelError> {
        self.http
            .get_json::<serde_json::Value>(&self.models_url, &self.headers)
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

    fn chat_request<'a>(
        &self,
        model: &'a str,
        request: &'a TextRequest,
        stream: bool,
    ) -> ChatRequest<'a> {
        let reasoning = is_reasoning_model(model);
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = request.system.as_deref().filter(|s| !s.is_empty()) {
            // OpenAI's reasoning models take instructions as `developer` messages (as the AI
            // SDK sends them in 1.7.2).
            let role = if reasoning { "developer" } else { "system" };
            messages.push(ChatMessage {
                role,
                content: system,
            });
        }
        messages.push(ChatMessage {
            role: "user",
            content: &request.prompt,
        });
        let max_tokens = request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        // Reasoning models reject sampling parameters and `max_tokens`; sending them would
        // turn every call into a 400.
        let sampling = |v: Option<f64>| if reasoning { None } else { v };
        ChatRequest {
            model,
            messages,
            temperature: sampling(Some(request.temperature.unwrap_or(DEFAULT_TEMPERATURE))),
            max_tokens: (!reasoning).then_some(max_tokens),
            max_completion_tokens: reasoning.then_some(max_tokens),
            top_p: sampling(request.top_p),
            frequency_penalty: sampling(request.frequency_penalty),
            presence_penalty: sampling(request.presence_penalty),
            seed: request.seed,
            stop: &request.stop_sequences,
            user: request.user.as_deref(),
            stream,
        }
    }
}

/// o-series and gpt-5 models (`o1`, `o3-mini`, `o4-mini`, `gpt-5-nano`, with or without an
/// `openai/` prefix as routers write them).
fn is_reasoning_model(model: &str) -> bool {
    let name = model.rsplit('/').next().unwrap_or(model);
    let o_series = name.len() >= 2
        && name.starts_with('o')
        && name[1..].starts_with(|c: char| c.is_ascii_digit());
    o_series || name.starts_with("gpt-5")
}

pub(crate) fn completion_text(
    provider: &str,
    completion: ChatCompletion,
) -> Result<TextResponse, ModelError> {
    if let Some(error) = &completion.error {
        return Err(ModelError::invalid_response(
            provider,
            format!("the server reported an error: {}", describe_error(error)),
        ));
    }
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(ModelError::invalid_response(
            provider,
            "the answer has no choices",
        ));
    };
    let message = choice.message;
    let text = match message {
        Some(wire::ChoiceMessage {
            content: Some(text),
            ..
        }) => text,
        Some(wire::ChoiceMessage {
            refusal: Some(refusal),
            ..
        }) => {
            return Err(ModelError::invalid_response(
                provider,
                format!("the model refused to answer: {refusal}"),
            ));
        }
        _ => {
            return Err(ModelError::invalid_response(
                provider,
                "the answer has no message content",
            ));
        }
    };
    Ok(TextResponse {
        text,
        model: completion.model,
        finish_reason: choice.finish_reason,
        usage: completion.usage.map(Into::into),
    })
}

#[async_trait]
impl ModelProvider for OpenAiProvider {
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
        let body = self.chat_request(model, &request, false);
        let completion: ChatCompletion = self
            .http
            .post_json(&self.chat_url, &self.headers, &body)
            .await?;
        completion_text(PROVIDER_NAME, completion)
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        let model = self.model_name(model_type)?;
        let body = self.chat_request(model, &request, true);
        let response = self
            .http
            .post_for_stream(&self.chat_url, &self.headers, &body)
            .await?;
        Ok(stream::text_stream(self.http.clone(), response))
    }

    /// Empty text is refused rather than answered with 1.7.2's fake `[0.3, 0, …]` vector: a
    /// fake vector stored next to real ones would poison searches. The start-up dimension probe
    /// uses [`ModelProvider::embedding_dimension`] instead.
    async fn embed(&self, request: EmbeddingRequest) -> Result<Vec<f32>, ModelError> {
        if request.text.trim().is_empty() {
            return Err(ModelError::InvalidRequest(
                "cannot embed an empty text".to_owned(),
            ));
        }
        let body = EmbeddingsRequest {
            model: &self.config.embedding_model,
            input: &request.text,
            dimensions: self.config.embedding_dimensions,
        };
        let response: EmbeddingsResponse = self
            .http
            .post_json(&self.embeddings_url, &self.embedding_headers, &body)
            .await?;
        let embedding = response.data.into_iter().next().and_then(|d| d.embedding);
        let expected = self
            .config
            .embedding_dimensions
            .map(|length| (length, "OPENAI_EMBEDDING_DIMENSIONS"));
        checked_embedding(PROVIDER_NAME, embedding, expected)
    }

    /// The configured `OPENAI_EMBEDDING_DIMENSIONS` without a call; otherwise one real call.
    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        match self.config.embedding_dimensions {
            Some(dimensions) => Ok(dimensions),
            None => probe_embedding_dimension(self).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_are_recognised() {
        for m in ["o1", "o3-mini", "o4-mini", "gpt-5-nano", "openai/o3"] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in ["gpt-4o", "gpt-4o-mini", "omni", "llama3", "o"] {
            assert!(!is_reasoning_model(m), "{m}");
        }
    }
}
