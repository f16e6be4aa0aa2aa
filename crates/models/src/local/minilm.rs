//! Sentence embeddings with a BERT model (all-MiniLM-L6-v2) on candle: masked mean pooling,
//! then L2 normalisation, as sentence-transformers does.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

use super::Embedder;
use super::gguf_tokenizer::local;
use crate::error::ModelError;

/// sentence-transformers' `max_seq_length` for this model.
const MAX_TOKENS: usize = 256;

pub struct BertEmbedder {
    model_id: String,
    model: BertModel,
    tokenizer: Tokenizer,
    dimensions: usize,
}

impl BertEmbedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|err| {
                ModelError::Local(format!("cannot read {}: {err}", dir.join(name).display()))
            })
        };
        let config: Config = serde_json::from_str(&read("config.json")?).map_err(local)?;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(local)?;
        // The shipped tokenizer pads every input to 128 tokens; pad to the longest of a batch
        // instead (the pooling masks the padding either way).
        tokenizer.with_padding(Some(PaddingParams::default()));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(local)?;
        let tensors = candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu)
            .map_err(local)?;
        let weights = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let model = BertModel::load(weights, &config).map_err(local)?;
        Ok(Self {
            model_id: dir
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            dimensions: config.hidden_size,
            model,
            tokenizer,
        })
    }

    fn input_tensors(&self, texts: &[&str]) -> Result<(Tensor, Tensor), ModelError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(local)?;
        let rows = |get: fn(&tokenizers::Encoding) -> &[u32]| {
            let rows = encodings
                .iter()
                .map(|e| Tensor::new(get(e), &Device::Cpu))
                .collect::<Result<Vec<_>, _>>()?;
            Tensor::stack(&rows, 0)
        };
        let ids = rows(tokenizers::Encoding::get_ids).map_err(local)?;
        let mask = rows(tokenizers::Encoding::get_attention_mask).map_err(local)?;
        Ok((ids, mask))
    }
}

impl Embedder for BertEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn max_tokens(&self) -> usize {
        MAX_TOKENS
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, mask) = self.input_tensors(texts)?;
        let pooled = (|| {
            let hidden = self.model.forward(&ids, &ids.zeros_like()?, Some(&mask))?;
            let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
            let mean = summed.broadcast_div(&mask.sum(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
            mean.broadcast_div(&norm)?.to_vec2::<f32>()
        })();
        pooled.map_err(local)
    }
}
