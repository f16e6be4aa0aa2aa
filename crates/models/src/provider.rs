//! The provider boundary: what the runtime calls, whatever serves the model.

use async_trait::async_trait;

use crate::error::ModelError;
use crate::media::{
    ImageDescription, ImageDescriptionRequest, ImageRequest, SpeechAudio, SpeechRequest,
    TranscriptionRequest,
};
use crate::model_type::ModelType;
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};

/// Which prompts suit a provider's text models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptProfile {
    /// A large context read quickly: the full elizaOS templates.
    #[default]
    Full,
    /// A small model that reads prompts slowly (on a CPU): short templates with the same XML
    /// answer contract, within `context_tokens` for prompt and answer.
    Compact { context_tokens: usize },
}

/// A source of model answers: a remote API (OpenAI-compatible, Ollama, Anthropic), a local model
/// or a scripted fake. The runtime holds providers as `Arc<dyn ModelProvider>` and picks one per
/// model type from the agent's plugins, as 1.7.2 picks a model handler.
///
/// This is the "one provider per model type" boundary, as one trait with a method per result
/// kind rather than one trait per model type: a provider usually serves several types over one
/// client and one configuration, and `supports` tells the runtime which types it may route here.
///
/// | model type | method |
/// |---|---|
/// | `TEXT_SMALL`, `TEXT_LARGE` (and the other text generation types) | [`generate_text`](Self::generate_text), [`stream_text`](Self::stream_text) |
/// | `TEXT_EMBEDDING` | [`embed`](Self::embed) |
/// | `IMAGE_DESCRIPTION` | [`describe_image`](Self::describe_image) |
/// | `TRANSCRIPTION` | [`transcribe`](Self::transcribe) |
/// | `TEXT_TO_SPEECH` | [`speak`](Self::speak) |
/// | `IMAGE` | [`generate_image`](Self::generate_image) |
///
/// Text and embeddings are required; the media methods have default implementations answering
/// [`ModelError::Unsupported`], so a text-only provider implements nothing more. Methods for
/// types a provider does not serve return [`ModelError::Unsupported`], and `supports` answers
/// false for them.
///
/// Contract for implementations:
/// - The request is final: settings layering (`crate::settings`) has already run; the provider
///   only fills its own defaults for fields still `None`.
/// - Timeouts and retries are the provider's job (HTTP providers share `crate::retry`), so a
///   call always ends, with an answer or an error, and never panics on a server's answer.
/// - The model name comes from the provider's configuration for the model type
///   (e.g. `OPENAI_SMALL_MODEL` for [`ModelType::TextSmall`]).
#[async_trait]
pub trait ModelProvider: Send + Sync {
    /// A short name for logs and errors (`openai`, `ollama`, …), the `provider` of 1.7.2 logs.
    fn name(&self) -> &str;

    /// Whether this provider serves `model_type`.
    fn supports(&self, model_type: ModelType) -> bool;

    /// Which prompts suit this provider's text models; the runtime picks its templates by it.
    fn prompt_profile(&self) -> PromptProfile {
        PromptProfile::Full
    }

    /// Generates the whole answer at once. `model_type` is a text generation type
    /// ([`ModelType::is_text_generation`]).
    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError>;

    /// Streams the answer. Errors before the first chunk (bad key, server down after retries)
    /// come back as `Err`; errors after it end the stream with an `Err` item.
    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError>;

    /// Embeds one text ([`ModelType::TextEmbedding`]).
    async fn embed(&self, request: EmbeddingRequest) -> Result<Vec<f32>, ModelError>;

    /// The length of this provider's embeddings, for picking the `dim_<N>` column at start-up
    /// (§2.10). The default asks for one real embedding; providers that know the answer from
    /// their configuration override it to spare the call.
    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        probe_embedding_dimension(self).await
    }

    /// Describes an image ([`ModelType::ImageDescription`]): a title and a description.
    async fn describe_image(
        &self,
        _request: ImageDescriptionRequest,
    ) -> Result<ImageDescription, ModelError> {
        Err(ModelError::unsupported(
            self.name(),
            ModelType::ImageDescription,
        ))
    }

    /// Turns speech into text ([`ModelType::Transcription`]).
    async fn transcribe(&self, _request: TranscriptionRequest) -> Result<String, ModelError> {
        Err(ModelError::unsupported(
            self.name(),
            ModelType::Transcription,
        ))
    }

    /// Turns text into speech ([`ModelType::TextToSpeech`]).
    async fn speak(&self, _request: SpeechRequest) -> Result<SpeechAudio, ModelError> {
        Err(ModelError::unsupported(
            self.name(),
            ModelType::TextToSpeech,
        ))
    }

    /// Generates images ([`ModelType::Image`]): one URL per image, either where the server
    /// stored it (`https://…`, which may expire) or the image itself as a `data:` URL.
    async fn generate_image(&self, _request: ImageRequest) -> Result<Vec<String>, ModelError> {
        Err(ModelError::unsupported(self.name(), ModelType::Image))
    }
}

/// The length of one real embedding: the default [`ModelProvider::embedding_dimension`], also
/// the fallback of providers that override it.
pub(crate) async fn probe_embedding_dimension<P: ModelProvider + ?Sized>(
    provider: &P,
) -> Result<usize, ModelError> {
    provider
        .embed(EmbeddingRequest::new("dimension probe"))
        .await
        .map(|v| v.len())
}

/// Checks the embedding a server sent: present, not empty, and of the configured length when
/// `expected` gives one (`(length, the setting that asks for it)`).
pub(crate) fn checked_embedding(
    provider: &str,
    embedding: Option<Vec<f32>>,
    expected: Option<(usize, &str)>,
) -> Result<Vec<f32>, ModelError> {
    let embedding = embedding
        .ok_or_else(|| ModelError::invalid_response(provider, "the answer has no embedding"))?;
    if embedding.is_empty() {
        return Err(ModelError::invalid_response(
            provider,
            "the embedding is empty",
        ));
    }
    if let Some((length, setting)) = expected
        && embedding.len() != length
    {
        return Err(ModelError::invalid_response(
            provider,
            format!(
                "the embedding has {} dimensions, {setting} asks for {length}",
                embedding.len()
            ),
        ));
    }
    Ok(embedding)
}
