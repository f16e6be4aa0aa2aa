//! Text generation with a quantized llama-architecture GGUF (SmolLM2-135M-Instruct) on candle.

use std::fs::File;
use std::io::{BufReader, BufWriter, Cursor};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::{MAX_SEQ_LEN, ModelWeights};
use candle_transformers::utils::apply_repeat_penalty;

use super::TextGenerator;
use super::chat::chatml_prompt;
use super::chat::{ChatMessage, Completion, FinishReason, GenerationParams, OnDelta, Usage};
use super::gguf_tokenizer::{GgufTokenizer, local, tokenizer_from_gguf};
use super::stops::{StopMatcher, StopStep};
use crate::error::ModelError;

/// Prompt tokens per forward pass: bounds the attention scratch memory and lets a caller that
/// went away cancel a long prompt between chunks.
const PREFILL_CHUNK: usize = 256;

/// How a quantized model is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlamaOptions {
    /// Tokens of prompt plus answer; at most what candle's rotary table covers (4096).
    pub context_tokens: usize,
    /// Requantize Q4_1 tensors to Q8_0: candle has SIMD kernels for Q8_0 but not Q4_1, and the
    /// conversion makes generation about 2x and prompts about 5x faster.
    pub requantize_q4_1: bool,
}

impl Default for LlamaOptions {
    fn default() -> Self {
        Self {
            context_tokens: 2048,
            requantize_q4_1: true,
        }
    }
}

pub struct CandleLlama {
    model_id: String,
    weights: Mutex<ModelWeights>,
    tokenizer: GgufTokenizer,
    context_tokens: usize,
}

impl CandleLlama {
    /// Loads `path`. With requantization the converted file is kept next to it
    /// (`<name>.q8_0.gguf`), so only the first start pays for the conversion; when that file
    /// cannot be written the conversion happens in memory.
    pub fn load(path: &Path, options: &LlamaOptions) -> Result<Self, ModelError> {
        let (content, mut reader) = read_gguf(path)?;
        let tokenizer = tokenizer_from_gguf(&content)?;
        let model_id = model_id(&content, path);
        let weights = if options.requantize_q4_1 && has_q4_1(&content) {
            load_requantized(path, &content, &mut reader)?
        } else {
            ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).map_err(local)?
        };
        Ok(Self {
            model_id,
            weights: Mutex::new(weights),
            tokenizer,
            context_tokens: options.context_tokens.clamp(16, MAX_SEQ_LEN),
        })
    }

    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        Ok(self
            .tokenizer
            .tokenizer
            .encode(text, false)
            .map_err(local)?
            .get_ids()
            .to_vec())
    }

    fn sampler(params: &GenerationParams) -> LogitsProcessor {
        let temperature = params.temperature;
        let sampling = if temperature <= 1e-7 {
            Sampling::ArgMax
        } else {
            match (params.top_k, params.top_p) {
                (Some(k), Some(p)) => Sampling::TopKThenTopP { k, p, temperature },
                (Some(k), None) => Sampling::TopK { k, temperature },
                (None, Some(p)) => Sampling::TopP { p, temperature },
                (None, None) => Sampling::All { temperature },
            }
        };
        LogitsProcessor::from_sampling(params.seed, sampling)
    }

    /// Runs the prompt through the model in chunks; `None` when the caller cancelled.
    fn prefill(
        weights: &mut ModelWeights,
        prompt: &[u32],
        on_delta: &mut OnDelta<'_>,
    ) -> Result<Option<Tensor>, ModelError> {
        let mut logits = None;
        for (index, chunk) in prompt.chunks(PREFILL_CHUNK).enumerate() {
            if index > 0 && on_delta("").is_break() {
                return Ok(None);
            }
            let input = Tensor::new(chunk, &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .map_err(local)?;
            logits = Some(
                weights
                    .forward(&input, index * PREFILL_CHUNK)
                    .map_err(local)?,
            );
        }
        Ok(logits)
    }
}

impl TextGenerator for CandleLlama {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn context_length(&self) -> usize {
        self.context_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        self.tokenize(text).map(|ids| ids.len())
    }

    fn generate(
        &self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        on_delta: &mut OnDelta<'_>,
    ) -> Result<Completion, ModelError> {
        params.validate()?;
        let prompt = self.tokenize(&chatml_prompt(messages, &params.assistant_prefix))?;
        if prompt.is_empty() || prompt.len() >= self.context_tokens {
            return Err(ModelError::InvalidRequest(format!(
                "the prompt has {} tokens; the local model's context holds {} (prompt and answer)",
                prompt.len(),
                self.context_tokens
            )));
        }
        let budget = params.max_tokens.min(self.context_tokens - prompt.len());
        let mut weights = self.weights.lock().unwrap_or_else(PoisonError::into_inner);
        weights.clear_kv_cache();
        let mut run = Decoding {
            tokenizer: &self.tokenizer,
            sampler: Self::sampler(params),
            stops: StopMatcher::new(&params.stop),
            params,
            generated: Vec::new(),
        };
        let finish = match Self::prefill(&mut weights, &prompt, on_delta)? {
            None => FinishReason::Cancelled,
            Some(logits) => run.decode(&mut weights, logits, prompt.len(), budget, on_delta)?,
        };
        Ok(Completion {
            text: run.stops.text().to_owned(),
            finish,
            usage: Usage {
                prompt_tokens: prompt.len(),
                completion_tokens: run.generated.len(),
            },
        })
    }
}

/// The state of one answer being decoded.
struct Decoding<'a> {
    tokenizer: &'a GgufTokenizer,
    sampler: LogitsProcessor,
    stops: StopMatcher,
    params: &'a GenerationParams,
    generated: Vec<u32>,
}

impl Decoding<'_> {
    fn decode(
        &mut self,
        weights: &mut ModelWeights,
        mut logits: Tensor,
        prompt_len: usize,
        budget: usize,
        on_delta: &mut OnDelta<'_>,
    ) -> Result<FinishReason, ModelError> {
        let mut text = self.tokenizer.tokenizer.decode_stream(true);
        loop {
            let next = self.sample(&logits)?;
            if self.tokenizer.end_of_turn.contains(&next) {
                return Ok(self.flush(on_delta, FinishReason::Stop));
            }
            self.generated.push(next);
            let piece = text.step(next).map_err(local)?.unwrap_or_default();
            match self.stops.push(&piece) {
                StopStep::Stopped(rest) => {
                    let _ = on_delta(&rest);
                    return Ok(FinishReason::StopSequence);
                }
                StopStep::Continue(released) => {
                    if on_delta(&released).is_break() {
                        return Ok(FinishReason::Cancelled);
                    }
                }
            }
            if self.generated.len() >= budget {
                return Ok(self.flush(on_delta, FinishReason::Length));
            }
            let input = Tensor::new(&[next], &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .map_err(local)?;
            logits = weights
                .forward(&input, prompt_len + self.generated.len() - 1)
                .map_err(local)?;
        }
    }

    fn sample(&mut self, logits: &Tensor) -> Result<u32, ModelError> {
        let logits = logits.squeeze(0).map_err(local)?;
        let logits = if self.params.repeat_penalty == 1.0 || self.generated.is_empty() {
            logits
        } else {
            let recent = self
                .generated
                .len()
                .saturating_sub(self.params.repeat_last_n);
            apply_repeat_penalty(
                &logits,
                self.params.repeat_penalty,
                &self.generated[recent..],
            )
            .map_err(local)?
        };
        self.sampler.sample(&logits).map_err(local)
    }

    fn flush(&mut self, on_delta: &mut OnDelta<'_>, finish: FinishReason) -> FinishReason {
        let rest = self.stops.finish();
        if !rest.is_empty() && on_delta(&rest) == ControlFlow::Break(()) {
            return FinishReason::Cancelled;
        }
        finish
    }
}

fn read_gguf(path: &Path) -> Result<(gguf_file::Content, BufReader<File>), ModelError> {
    let file = File::open(path)
        .map_err(|err| ModelError::Local(format!("cannot open {}: {err}", path.display())))?;
    let mut reader = BufReader::new(file);
    let content = gguf_file::Content::read(&mut reader).map_err(|err| {
        ModelError::Local(format!("{} is not a GGUF file: {err}", path.display()))
    })?;
    Ok((content, reader))
}

fn model_id(content: &gguf_file::Content, path: &Path) -> String {
    content
        .metadata
        .get("general.name")
        .and_then(|v| v.to_string().ok().cloned())
        .unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

fn has_q4_1(content: &gguf_file::Content) -> bool {
    content
        .tensor_infos
        .values()
        .any(|info| info.ggml_dtype == GgmlDType::Q4_1)
}

/// The path of the requantized copy of `path`.
pub fn requantized_path(path: &Path) -> PathBuf {
    path.with_extension("q8_0.gguf")
}

fn load_requantized(
    path: &Path,
    content: &gguf_file::Content,
    reader: &mut BufReader<File>,
) -> Result<ModelWeights, ModelError> {
    let cached = requantized_path(path);
    if let Ok((content, mut reader)) = read_gguf(&cached)
        && let Ok(weights) = ModelWeights::from_gguf(content, &mut reader, &Device::Cpu)
    {
        return Ok(weights);
    }
    let tensors = requantize(content, reader)?;
    match write_gguf_file(&cached, content, &tensors) {
        Ok(()) => {
            let (content, mut reader) = read_gguf(&cached)?;
            ModelWeights::from_gguf(content, &mut reader, &Device::Cpu).map_err(local)
        }
        Err(err) => {
            tracing::warn!(path = %cached.display(), %err, "cannot keep the requantized model; converting in memory");
            let mut buffer = Cursor::new(Vec::new());
            write_gguf(&mut buffer, content, &tensors)?;
            buffer.set_position(0);
            let content = gguf_file::Content::read(&mut buffer).map_err(local)?;
            ModelWeights::from_gguf(content, &mut buffer, &Device::Cpu).map_err(local)
        }
    }
}

fn requantize(
    content: &gguf_file::Content,
    reader: &mut BufReader<File>,
) -> Result<Vec<(String, QTensor)>, ModelError> {
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let tensor = content.tensor(reader, name, &Device::Cpu).map_err(local)?;
            let tensor = if tensor.dtype() == GgmlDType::Q4_1 {
                let dense = tensor.dequantize(&Device::Cpu).map_err(local)?;
                QTensor::quantize(&dense, GgmlDType::Q8_0).map_err(local)?
            } else {
                tensor
            };
            Ok((name.clone(), tensor))
        })
        .collect()
}

fn write_gguf_file(
    path: &Path,
    content: &gguf_file::Content,
    tensors: &[(String, QTensor)],
) -> Result<(), ModelError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let part = tempfile::NamedTempFile::new_in(dir).map_err(local)?;
    let mut writer = BufWriter::new(part.as_file());
    write_gguf(&mut writer, content, tensors)?;
    drop(writer);
    part.persist(path).map_err(local)?;
    Ok(())
}

fn write_gguf<W: std::io::Write + std::io::Seek>(
    writer: &mut W,
    content: &gguf_file::Content,
    tensors: &[(String, QTensor)],
) -> Result<(), ModelError> {
    let mut metadata: Vec<(&str, &gguf_file::Value)> = content
        .metadata
        .iter()
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    metadata.sort_by_key(|(key, _)| *key);
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    gguf_file::write(writer, &metadata, &tensors).map_err(local)
}
