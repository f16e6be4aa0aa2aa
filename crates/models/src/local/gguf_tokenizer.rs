//! The SmolLM2 tokenizer, built from the GGUF metadata.
//!
//! candle's own `TokenizerFromGguf` treats `pre=smollm` as plain GPT-2 with a prefix space, so
//! `<|im_start|>system` becomes "Ġsystem" instead of "system" and most prompts tokenize unlike
//! llama.cpp. This mirrors SmolLM2's `tokenizer.json` instead: byte-level BPE over the GGUF
//! vocabulary and merges, each digit its own piece, no prefix space, and the control tokens as
//! special tokens so that ChatML markers in a prompt map to their ids.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

use crate::error::ModelError;

/// `tokenizer.ggml.token_type` of control tokens (`<|im_start|>`, `<|endoftext|>`, …).
const CONTROL_TOKEN: i32 = 3;

/// A tokenizer and the ids that end an assistant turn.
pub struct GgufTokenizer {
    pub tokenizer: Tokenizer,
    /// `<|im_end|>` and `<|endoftext|>` (and the GGUF's eos): generation stops on any of them.
    pub end_of_turn: Vec<u32>,
}

pub fn tokenizer_from_gguf(content: &Content) -> Result<GgufTokenizer, ModelError> {
    let model = metadata_str(content, "tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(ModelError::Local(format!(
            "the GGUF tokenizer is `{model}`; only byte-level BPE (`gpt2`) models are supported"
        )));
    }
    let tokens = string_array(content, "tokenizer.ggml.tokens")?;
    let merges = string_array(content, "tokenizer.ggml.merges")?
        .into_iter()
        .map(|merge| {
            merge
                .split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| ModelError::Local(format!("malformed GGUF merge `{merge}`")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), id as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|err| ModelError::Local(format!("cannot build the BPE tokenizer: {err}")))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let control = control_tokens(content, &tokens)?;
    tokenizer
        .add_special_tokens(
            control
                .iter()
                .map(|token| AddedToken::from(token.clone(), true)),
        )
        .map_err(local)?;
    let end_of_turn = end_of_turn_ids(content, &tokenizer);
    Ok(GgufTokenizer {
        tokenizer,
        end_of_turn,
    })
}

fn control_tokens(content: &Content, tokens: &[String]) -> Result<Vec<String>, ModelError> {
    let types = metadata(content, "tokenizer.ggml.token_type")?
        .to_vec()
        .map_err(local)?;
    Ok(types
        .iter()
        .zip(tokens)
        .filter(|(kind, _)| kind.to_i32().ok() == Some(CONTROL_TOKEN))
        .map(|(_, token)| token.clone())
        .collect())
}

fn end_of_turn_ids(content: &Content, tokenizer: &Tokenizer) -> Vec<u32> {
    let mut ids: Vec<u32> = ["<|im_end|>", "<|endoftext|>"]
        .iter()
        .filter_map(|token| tokenizer.token_to_id(token))
        .collect();
    if let Some(eos) = content
        .metadata
        .get("tokenizer.ggml.eos_token_id")
        .and_then(|v| v.to_u32().ok())
        && !ids.contains(&eos)
    {
        ids.push(eos);
    }
    ids
}

fn metadata<'a>(content: &'a Content, key: &str) -> Result<&'a Value, ModelError> {
    content
        .metadata
        .get(key)
        .ok_or_else(|| ModelError::Local(format!("the GGUF file has no `{key}`")))
}

fn metadata_str<'a>(content: &'a Content, key: &str) -> Result<&'a str, ModelError> {
    metadata(content, key)?
        .to_string()
        .map(String::as_str)
        .map_err(local)
}

fn string_array(content: &Content, key: &str) -> Result<Vec<String>, ModelError> {
    metadata(content, key)?
        .to_vec()
        .map_err(local)?
        .iter()
        .map(|value| value.to_string().cloned().map_err(local))
        .collect()
}

pub(crate) fn local(err: impl std::fmt::Display) -> ModelError {
    ModelError::Local(err.to_string())
}
