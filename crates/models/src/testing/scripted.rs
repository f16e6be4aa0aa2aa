//! A scripted in-memory provider for unit tests of the layers above (the runtime's pipeline):
//! no sockets, no timing, a queue of answers and a record of every call.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use futures_util::{StreamExt, stream};

use super::hash_embedding;
use crate::error::ModelError;
use crate::model_type::ModelType;
use crate::provider::ModelProvider;
use crate::request::{EmbeddingRequest, TextRequest, TextResponse, TextStream};

/// The answer to the next text call.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptedReply {
    /// A whole answer (one chunk when streamed).
    Text(String),
    /// Streamed chunks (joined when not streamed).
    Chunks(Vec<String>),
    /// The call fails with this error.
    Error(ModelError),
    /// Streams the chunks, then ends with the error (an interrupted stream). Not streamed, the
    /// call fails with the error.
    ChunksThenError(Vec<String>, ModelError),
    /// Streams the chunks, then never ends (nor does the unstreamed call): a model still
    /// writing, for tests of what stops it.
    ChunksThenStall(Vec<String>),
}

impl ScriptedReply {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::Chunks(chunks.into_iter().map(Into::into).collect())
    }
}

/// A call the provider received.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a few short-lived test records; boxing would only complicate matching"
)]
pub enum ScriptedCall {
    Text {
        model_type: ModelType,
        request: TextRequest,
        streamed: bool,
    },
    Embed {
        text: String,
    },
}

#[derive(Debug)]
struct Script {
    replies: VecDeque<ScriptedReply>,
    embedding_errors: VecDeque<ModelError>,
    calls: Vec<ScriptedCall>,
    default_text: Option<String>,
}

/// The provider's name, in its errors and answers.
const NAME: &str = "scripted";

/// Answers text calls from a queue and embeddings with [`hash_embedding`].
#[derive(Debug)]
pub struct ScriptedProvider {
    supported: Vec<ModelType>,
    dimensions: usize,
    script: Mutex<Script>,
}

impl Default for ScriptedProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedProvider {
    /// A provider named `scripted` serving every text generation type and embeddings of 384
    /// dimensions. With no reply queued, a text call fails (so a test notices an unexpected
    /// call) unless a default text is set.
    pub fn new() -> Self {
        let mut supported: Vec<ModelType> = ModelType::ALL
            .into_iter()
            .filter(|t| t.is_text_generation())
            .collect();
        supported.push(ModelType::TextEmbedding);
        Self {
            supported,
            dimensions: 384,
            script: Mutex::new(Script {
                replies: VecDeque::new(),
                embedding_errors: VecDeque::new(),
                calls: Vec::new(),
                default_text: None,
            }),
        }
    }

    pub fn with_supported(mut self, model_types: impl IntoIterator<Item = ModelType>) -> Self {
        self.supported = model_types.into_iter().collect();
        self
    }

    pub fn with_dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = dimensions;
        self
    }

    /// The answer to text calls when nothing is queued.
    pub fn with_default_text(self, text: impl Into<String>) -> Self {
        self.lock().default_text = Some(text.into());
        self
    }

    pub fn push(&self, reply: ScriptedReply) {
        self.lock().replies.push_back(reply);
    }

    pub fn push_text(&self, text: impl Into<String>) {
        self.push(ScriptedReply::Text(text.into()));
    }

    /// Makes the next embedding call fail.
    pub fn push_embedding_error(&self, error: ModelError) {
        self.lock().embedding_errors.push_back(error);
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<ScriptedCall> {
        self.lock().calls.clone()
    }

    /// How many replies are still queued.
    pub fn remaining(&self) -> usize {
        self.lock().replies.len()
    }

    fn lock(&self) -> MutexGuard<'_, Script> {
        self.script
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn next_reply(
        &self,
        model_type: ModelType,
        request: TextRequest,
        streamed: bool,
    ) -> Result<ScriptedReply, ModelError> {
        if !self.supports(model_type) {
            return Err(ModelError::unsupported(NAME, model_type));
        }
        let mut script = self.lock();
        script.calls.push(ScriptedCall::Text {
            model_type,
            request,
            streamed,
        });
        match script.replies.pop_front() {
            Some(reply) => Ok(reply),
            None => script
                .default_text
                .clone()
                .map(ScriptedReply::Text)
                .ok_or_else(|| ModelError::invalid_response(NAME, "no scripted reply left")),
        }
    }
}

#[async_trait]
impl ModelProvider for ScriptedProvider {
    fn name(&self) -> &str {
        NAME
    }

    fn supports(&self, model_type: ModelType) -> bool {
        self.supported.contains(&model_type)
    }

    async fn generate_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextResponse, ModelError> {
        let text = match self.next_reply(model_type, request, false)? {
            ScriptedReply::Text(text) => text,
            ScriptedReply::Chunks(chunks) => chunks.concat(),
            ScriptedReply::Error(error) | ScriptedReply::ChunksThenError(_, error) => {
                return Err(error);
            }
            ScriptedReply::ChunksThenStall(_) => return futures_util::future::pending().await,
        };
        Ok(TextResponse {
            text,
            model: Some(format!("{NAME}-{model_type}")),
            finish_reason: Some("stop".to_owned()),
            usage: None,
        })
    }

    async fn stream_text(
        &self,
        model_type: ModelType,
        request: TextRequest,
    ) -> Result<TextStream, ModelError> {
        let items: Vec<Result<String, ModelError>> =
            match self.next_reply(model_type, request, true)? {
                ScriptedReply::Text(text) => vec![Ok(text)],
                ScriptedReply::Chunks(chunks) => chunks.into_iter().map(Ok).collect(),
                ScriptedReply::Error(error) => return Err(error),
                ScriptedReply::ChunksThenError(chunks, error) => {
                    chunks.into_iter().map(Ok).chain([Err(error)]).collect()
                }
                ScriptedReply::ChunksThenStall(chunks) => {
                    let chunks = stream::iter(chunks.into_iter().map(Ok));
                    return Ok(Box::pin(chunks.chain(stream::pending())));
                }
            };
        Ok(Box::pin(stream::iter(items)))
    }

    async fn embed(&self, request: EmbeddingRequest) -> Result<Vec<f32>, ModelError> {
        if !self.supports(ModelType::TextEmbedding) {
            return Err(ModelError::unsupported(NAME, ModelType::TextEmbedding));
        }
        let mut script = self.lock();
        script.calls.push(ScriptedCall::Embed {
            text: request.text.clone(),
        });
        if let Some(error) = script.embedding_errors.pop_front() {
            return Err(error);
        }
        Ok(hash_embedding(&request.text, self.dimensions))
    }

    async fn embedding_dimension(&self) -> Result<usize, ModelError> {
        Ok(self.dimensions)
    }
}
