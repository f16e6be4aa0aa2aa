//! The OpenAI-compatible provider (plugin-openai 1.6.0, §3.2), for api.openai.com and every
//! server that speaks its API (LM Studio, vLLM, llama.cpp, OpenRouter, …).
//!
//! - TEXT_SMALL / TEXT_LARGE: `POST {base}/chat/completions` by default, or the Responses API
//!   (`POST {base}/responses`, what 1.7.2 uses through the AI SDK) with `OPENAI_TEXT_API=responses`
//!   ([`OpenAiTextApi`]); streamed as server-sent events when asked.
//! - TEXT_EMBEDDING: `POST {embeddingBase}/embeddings`.
//! - IMAGE_DESCRIPTION: `POST {base}/chat/completions` with the image in the user message.
//! - TRANSCRIPTION: `POST {base}/audio/transcriptions` (multipart upload).
//! - TEXT_TO_SPEECH: `POST {base}/audio/speech`.
//! - IMAGE: `POST {base}/images/generations`.
//!
//! Not implemented: OBJECT_* (JSON mode) and the tokenizer. `supports` answers false for them.

mod config;
mod media;
mod responses;
mod stream;
mod wire;

use async_trait::async_trait;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap};

pub use config::{
    DEFAULT_BASE_URL, DEFAULT_EMBEDDING_MODEL, DEFAULT_IMAGE_DESCRIPTION_MAX_TOKENS,
    DEFAULT_IMAGE_DESCRIPTION_MODEL, DEFAULT_IMAGE_MODEL, DEFAULT_LARGE_MODEL, DEFAULT_SMALL_MODEL,
    DEFAULT_TRANSCRIPTION_MODEL, DEFAULT_TTS_MODEL, DEFAULT_TTS_VOICE, OpenAiConfig, OpenAiTextApi,
    SUPPORTED_EMBEDDING_DIMENSIONS, TEXT_API_SETTING,
};

use crate::error::ModelError;
use crate::http::{HttpClient, HttpOptions, bearer, describe_error};
use crate::media::{
    ImageDescription, ImageDescriptionRequest, ImageRequest, SpeechAudio, SpeechRequest,
    TranscriptionRequest,
};
use crate::model_type::ModelType;
use crate::provider::{ModelProvider, checked_embedding, probe_embedding_dimension};
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};
use wire::{
    ChatCompletion, ChatMessage, ChatRequest, EmbeddingsRequest, EmbeddingsResponse, ImagesAnswer,
    MessageContent, ResponsesAnswer, TokenLimit, TranscriptionAnswer,
};

/// What 1.7.2 sends when the caller gives no temperature / max tokens.
const DEFAULT_TEMPERATURE: f64 = 0.7;
const DEFAULT_MAX_TOKENS: u32 = 8192;

pub const PROVIDER_NAME: &str = "openai";

/// The OpenAI-compatible provider. Cheap to share: hold it in an `Arc`.
#[derive(Debug)]
pub struct OpenAiProvider {
    config: OpenAiConfig,
    http: HttpClient,
    urls: Urls,
    headers: HeaderMap,
    embedding_headers: HeaderMap,
}

/// The endpoints, checked once when the provider is built.
#[derive(Debug)]
struct Urls {
    chat: Url,
    responses: Url,
    embeddings: Url,
    models: Url,
    transcriptions: Url,
    speech: Url,
    images: Url,
}

impl Urls {
    fn new(config: &OpenAiConfig) -> Result<Self, ModelError> {
        Ok(Self {
            chat: config.api_url("/chat/completions")?,
            responses: config.api_url("/responses")?,
            embeddings: config.embeddings_url()?,
            models: config.api_url("/models")?,
            transcriptions: config.api_url("/audio/transcriptions")?,
            speech: config.api_url("/audio/speech")?,
            images: config.api_url("/images/generations")?,
        })
    }
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
            urls: Urls::new(&config)?,
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
            .get_json::<serde_json::Value>(&self.urls.models, &self.headers)
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
        // Reasoning models reject sampling parameters; sending them would turn every call into
        // a 400.
        let sampling = |v: Option<f64>| if reasoning { None } else { v };
        ChatRequest {
            model,
            messages: conversation(model, request),
            temperature: sampling(Some(request.temperature.unwrap_or(DEFAULT_TEMPERATURE))),
            token_limit: Some(token_limit(
                model,
                request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            )),
            top_p: sampling(request.top_p),
            frequency_penalty: sampling(request.frequency_penalty),
            presence_penalty: sampling(request.presence_penalty),
            seed: request.seed,
            stop: &request.stop_sequences,
            user: request.user.as_deref(),
            stream,
        }
    }

    async fn chat_completion(
        &self,
        model: &str,
        request: &TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let body = self.chat_request(model, request, false);
        let completion: ChatCompletion = self
            .http
            .post_json(&self.urls.chat, &self.headers, &body)
            .await?;
        completion_text(PROVIDER_NAME, completion)
    }

    async fn responses_answer(
        &self,
        model: &str,
        request: &TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let body = responses::request_body(model, request, false);
        let answer: ResponsesAnswer = self
            .http
            .post_json(&self.urls.responses, &self.headers, &body)
            .await?;
        responses::answer_text(answer)
    }
}

/// The system message (when there is one) and the prompt. OpenAI's reasoning models take
/// instructions as `developer` messages (as the AI SDK sends them in 1.7.2).
fn conversation<'a>(model: &str, request: &'a TextRequest) -> Vec<ChatMessage<'a>> {
    let mut messages = Vec::with_capacity(2);
    if let Some(system) = request.system.as_deref().filter(|s| !s.is_empty()) {
        let role = if is_reasoning_model(model) {
            "developer"
        } else {
            "system"
        };
        messages.push(ChatMessage {
            role,
            content: MessageContent::Text(system),
        });
    }
    messages.push(ChatMessage {
        role: "user",
        content: MessageContent::Text(&request.prompt),
    });
    messages
}

/// A chat completion's length limit: reasoning models refuse `max_tokens`.
fn token_limit(model: &str, max_tokens: u32) -> TokenLimit {
    if is_reasoning_model(model) {
        TokenLimit::MaxCompletionTokens(max_tokens)
    } else {
        TokenLimit::MaxTokens(max_tokens)
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

/// The error of an answer that is a refusal instead of text.
fn refused(refusal: &str) -> ModelError {
    ModelError::invalid_response(
        PROVIDER_NAME,
        format!("the model refused to answer: {refusal}"),
    )
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
        }) => return Err(refused(&refusal)),
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
            ModelType::TextSmall
                | ModelType::TextLarge
                | ModelType::TextEmbedding
                | ModelType::ImageDescription
                | ModelType::Transcription
                | ModelType::TextToSpeech
                | ModelType::Image
        )
    }

    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let model = self.model_name(model_type)?;
        match self.config.text_api {
            OpenAiTextApi::ChatCompletions => self.chat_completion(model, &request).await,
            OpenAiTextApi::Responses => self.responses_answer(model, &request).await,
        }
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        let model = self.model_name(model_type)?;
        let http = self.http.clone();
        match self.config.text_api {
            OpenAiTextApi::ChatCompletions => {
                let body = self.chat_request(model, &request, true);
                let response = http
                    .post_for_stream(&self.urls.chat, &self.headers, &body)
                    .await?;
                Ok(stream::text_stream(http, response))
            }
            OpenAiTextApi::Responses => {
                let body = responses::request_body(model, &request, true);
                let response = http
                    .post_for_stream(&self.urls.responses, &self.headers, &body)
                    .await?;
                Ok(responses::text_stream(http, response))
            }
        }
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
            .post_json(&self.urls.embeddings, &self.embedding_headers, &body)
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

    /// A chat completion with the image in the user message, as 1.7.2 sends it. Failures are
    /// errors, where 1.7.2 answers `{title: "Failed to analyze image", …}`.
    async fn describe_image(
        &self,
        request: ImageDescriptionRequest,
    ) -> Result<ImageDescription, ModelError> {
        let body = media::image_description_body(&self.config, &request)?;
        let completion: ChatCompletion = self
            .http
            .post_json(&self.urls.chat, &self.headers, &body)
            .await?;
        media::image_description(completion)
    }

    async fn transcribe(&self, request: TranscriptionRequest) -> Result<String, ModelError> {
        let form = media::transcription_form(&self.config.transcription_model, request)?;
        let answer: TranscriptionAnswer = self
            .http
            .post_payload(&self.urls.transcriptions, &self.headers, &form)
            .await?;
        media::transcript(answer)
    }

    async fn speak(&self, request: SpeechRequest) -> Result<SpeechAudio, ModelError> {
        let body = media::speech_body(&self.config, &request)?;
        let received = self
            .http
            .post_json_for_bytes(&self.urls.speech, &self.headers, &body)
            .await?;
        media::speech_audio(received, request.format_or_default())
    }

    async fn generate_image(&self, request: ImageRequest) -> Result<Vec<String>, ModelError> {
        let body = media::images_body(&self.config.image_model, &request)?;
        let answer: ImagesAnswer = self
            .http
            .post_json(&self.urls.images, &self.headers, &body)
            .await?;
        media::image_urls(answer)
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
