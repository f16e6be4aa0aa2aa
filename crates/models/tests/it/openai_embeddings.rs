use eliza_models::testing::{FakeOpenAi, FakeReply, hash_embedding};
use eliza_models::{EmbeddingRequest, ModelError, ModelProvider};
use serde_json::json;

use crate::support::provider;

#[tokio::test]
async fn embeddings_send_dimensions_when_configured() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[("OPENAI_EMBEDDING_DIMENSIONS", "768")]);

    let vector = provider
        .embed(EmbeddingRequest::new("hello world"))
        .await
        .expect("embedding");
    assert_eq!(vector.len(), 768);
    assert_eq!(vector, hash_embedding("hello world", 768));
    // The configured size answers the start-up probe without a call.
    assert_eq!(provider.embedding_dimension().await, Ok(768));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/embeddings");
    assert_eq!(
        requests[0].body,
        json!({"model": "text-embedding-3-small", "input": "hello world", "dimensions": 768})
    );
}

#[tokio::test]
async fn embeddings_without_dimensions_send_none_and_accept_the_server_size() {
    let fake = FakeOpenAi::start().await;
    fake.set_default_dimensions(384);
    let provider = provider(&fake, &[("OPENAI_EMBEDDING_MODEL", "nomic-embed-text")]);
    let vector = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect("embedding");
    assert_eq!(vector.len(), 384);
    assert_eq!(provider.embedding_dimension().await, Ok(384));
    let body = &fake.requests()[0].body;
    assert_eq!(body["model"], "nomic-embed-text");
    assert!(body.get("dimensions").is_none());
}

#[tokio::test]
async fn embedding_url_and_key_overrides_are_used() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(
        &fake,
        &[
            ("OPENAI_EMBEDDING_URL", &format!("{}/alt", fake.base_url())),
            ("OPENAI_EMBEDDING_API_KEY", "sk-embed"),
        ],
    );
    provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect("embedding");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/alt/embeddings");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-embed"));
}

#[tokio::test]
async fn a_wrong_length_is_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    fake.push_embedding(FakeReply::Embedding(vec![0.1, 0.2, 0.3]));
    let provider = provider(&fake, &[("OPENAI_EMBEDDING_DIMENSIONS", "1536")]);
    let error = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect_err("wrong length");
    assert!(
        matches!(&error, ModelError::InvalidResponse { message, .. } if message.contains("3 dimensions")),
        "{error}"
    );
}

#[tokio::test]
async fn empty_text_is_refused_before_any_request() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    let error = provider
        .embed(EmbeddingRequest::new("  "))
        .await
        .expect_err("empty text");
    assert!(matches!(error, ModelError::InvalidRequest(_)));
    assert!(fake.requests().is_empty());
}
