use std::sync::Arc;

use eliza_models::testing::{ScriptedCall, ScriptedProvider, ScriptedReply, hash_embedding};
use eliza_models::{EmbeddingRequest, ModelError, ModelProvider, ModelType, TextRequest};

use crate::support::stream_items;

#[tokio::test]
async fn replies_come_from_the_queue_in_order_and_calls_are_recorded() {
    let scripted = Arc::new(ScriptedProvider::new());
    scripted.push_text("first");
    scripted.push(ScriptedReply::chunks(["a", "b"]));
    let provider: Arc<dyn ModelProvider> = scripted.clone();

    let one = provider
        .generate_text(ModelType::TextSmall, TextRequest::new("p1"))
        .await
        .expect("first");
    assert_eq!(one.text, "first");
    let chunks = stream_items(provider.as_ref(), ModelType::TextLarge, "p2").await;
    assert_eq!(chunks, vec![Ok("a".to_owned()), Ok("b".to_owned())]);

    let calls = scripted.calls();
    assert_eq!(calls.len(), 2);
    assert!(matches!(
        &calls[1],
        ScriptedCall::Text { model_type: ModelType::TextLarge, streamed: true, request } if request.prompt == "p2"
    ));
    assert_eq!(scripted.remaining(), 0);
}

#[tokio::test]
async fn without_a_reply_it_fails_unless_a_default_is_set() {
    let strict = ScriptedProvider::new();
    assert!(matches!(
        strict
            .generate_text(ModelType::TextSmall, TextRequest::new("x"))
            .await,
        Err(ModelError::InvalidResponse { .. })
    ));
    let lenient = ScriptedProvider::new().with_default_text("ok");
    let reply = lenient
        .generate_text(ModelType::TextSmall, TextRequest::new("x"))
        .await
        .expect("default text");
    assert_eq!(reply.text, "ok");
}

#[tokio::test]
async fn errors_and_interrupted_streams_are_replayed() {
    let scripted = ScriptedProvider::new();
    let timeout = ModelError::Unavailable {
        provider: "scripted".into(),
        reason: eliza_models::Unavailability::TimedOut(std::time::Duration::from_secs(1)),
    };
    scripted.push(ScriptedReply::Error(timeout.clone()));
    scripted.push(ScriptedReply::ChunksThenError(
        vec!["half".into()],
        timeout.clone(),
    ));
    assert_eq!(
        scripted
            .generate_text(ModelType::TextSmall, TextRequest::new("x"))
            .await,
        Err(timeout.clone())
    );
    let items = stream_items(&scripted, ModelType::TextSmall, "x").await;
    assert_eq!(items, vec![Ok("half".to_owned()), Err(timeout)]);
}

#[tokio::test]
async fn embeddings_are_deterministic_and_errors_can_be_scripted() {
    let scripted = ScriptedProvider::new().with_dimensions(768);
    assert_eq!(scripted.embedding_dimension().await, Ok(768));
    let v = scripted
        .embed(EmbeddingRequest::new("memory"))
        .await
        .expect("embedding");
    assert_eq!(v, hash_embedding("memory", 768));
    scripted.push_embedding_error(ModelError::Config("no key".into()));
    assert!(scripted.embed(EmbeddingRequest::new("m")).await.is_err());
    assert!(scripted.embed(EmbeddingRequest::new("m")).await.is_ok());
}

#[tokio::test]
async fn unsupported_types_are_refused() {
    let scripted = ScriptedProvider::new().with_supported([ModelType::TextSmall]);
    scripted.push_text("unused");
    assert!(matches!(
        scripted
            .generate_text(ModelType::TextLarge, TextRequest::new("x"))
            .await,
        Err(ModelError::Unsupported { .. })
    ));
    assert!(matches!(
        scripted.embed(EmbeddingRequest::new("x")).await,
        Err(ModelError::Unsupported { .. })
    ));
    assert_eq!(scripted.remaining(), 1);
}
