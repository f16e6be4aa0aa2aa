use std::sync::Arc;

use eliza_models::testing::{FakeOpenAi, FakeReply};
use eliza_models::{ModelError, ModelProvider, ModelType, TextRequest, Unavailability};
use futures_util::StreamExt;
use serde_json::json;

use crate::support::{provider, stream_items};

#[tokio::test]
async fn chat_completion_sends_the_prompt_and_parameters() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text("Hi there!"));
    let provider: Arc<dyn ModelProvider> = Arc::new(provider(&fake, &[]));

    let mut request = TextRequest::new("Say hi").with_system("You are Eliza.");
    request.temperature = Some(0.2);
    request.max_tokens = Some(100);
    request.stop_sequences = vec!["</response>".into()];
    request.user = Some("Eliza".into());
    let response = provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("chat completion");

    assert_eq!(response.text, "Hi there!");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.usage.map(|u| u.prompt_tokens), Some(10));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are Eliza."},
                {"role": "user", "content": "Say hi"}
            ],
            "temperature": 0.2,
            "max_tokens": 100,
            "stop": ["</response>"],
            "user": "Eliza"
        })
    );
}

#[tokio::test]
async fn defaults_model_names_and_settings_layering() {
    let fake = FakeOpenAi::start().await;
    let settings = fake.settings(&[
        ("OPENAI_LARGE_MODEL", "big-model"),
        ("TEXT_LARGE_TEMPERATURE", "0.3"),
        ("MODEL_PRESENCE_PENALTY", "0.5"),
    ]);
    let provider = crate::support::provider(&fake, &[("OPENAI_LARGE_MODEL", "big-model")]);

    // No parameters at all: 1.7.2's defaults (temperature 0.7, 8192 tokens), no system message.
    provider
        .generate_text(ModelType::TextSmall, TextRequest::new("a"))
        .await
        .expect("small");
    // Layered from settings: TEXT_LARGE_TEMPERATURE and the legacy presence penalty.
    let layered = TextRequest::new("b").with_settings(ModelType::TextLarge, &settings);
    provider
        .generate_text(ModelType::TextLarge, layered)
        .await
        .expect("large");

    let bodies: Vec<_> = fake.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies[0],
        json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "a"}],
            "temperature": 0.7,
            "max_tokens": 8192
        })
    );
    assert_eq!(bodies[1]["model"], "big-model");
    assert_eq!(bodies[1]["temperature"], 0.3);
    assert_eq!(bodies[1]["presence_penalty"], 0.5);
}

#[tokio::test]
async fn reasoning_models_get_developer_role_and_max_completion_tokens() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[("OPENAI_SMALL_MODEL", "gpt-5-nano")]);
    let mut request = TextRequest::new("q").with_system("sys");
    request.temperature = Some(0.1);
    provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("reasoning model call");
    let body = &fake.requests()[0].body;
    assert_eq!(body["messages"][0]["role"], "developer");
    assert_eq!(body["max_completion_tokens"], 8192);
    assert!(body.get("max_tokens").is_none());
    assert!(body.get("temperature").is_none());
}

#[tokio::test]
async fn streaming_yields_chunks_in_order() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::chunks(["Hel", "lo", ", wor", "ld!"]));
    let provider = provider(&fake, &[]);

    let chunks = stream_items(&provider, ModelType::TextLarge, "hi").await;
    let chunks: Vec<String> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    assert_eq!(chunks, ["Hel", "lo", ", wor", "ld!"]);
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn streamed_text_arrives_before_the_answer_is_complete() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::SlowChunks {
        chunks: vec!["one ".into(), "two".into()],
        pause: std::time::Duration::from_millis(300),
    });
    let provider = provider(&fake, &[]);
    let started = std::time::Instant::now();
    let mut stream = provider
        .stream_text(ModelType::TextSmall, TextRequest::new("hi"))
        .await
        .expect("stream starts");
    let first = stream.next().await.expect("a first chunk").expect("ok");
    let first_at = started.elapsed();
    let second = stream.next().await.expect("a second chunk").expect("ok");
    assert_eq!((first.as_str(), second.as_str()), ("one ", "two"));
    assert!(stream.next().await.is_none());
    // The first chunk did not wait for the second one's pause.
    assert!(started.elapsed() >= first_at + std::time::Duration::from_millis(250));
}

#[tokio::test]
async fn a_text_reply_streams_as_one_chunk_and_chunks_join_when_not_streaming() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text("whole"));
    fake.push_chat(FakeReply::chunks(["a", "b"]));
    let provider = provider(&fake, &[]);
    let chunks = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(chunks, vec![Ok("whole".to_owned())]);
    let text = provider
        .generate_text(ModelType::TextSmall, TextRequest::new("y"))
        .await
        .expect("text");
    assert_eq!(text.text, "ab");
}

#[tokio::test]
async fn a_broken_stream_ends_with_an_unavailable_error_after_its_chunks() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::BrokenStream(vec!["par".into(), "tial".into()]));
    let provider = provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0], Ok("par".to_owned()));
    assert_eq!(items[1], Ok("tial".to_owned()));
    assert!(
        matches!(
            &items[2],
            Err(ModelError::Unavailable {
                reason: Unavailability::StreamInterrupted(_),
                ..
            })
        ),
        "{:?}",
        items[2]
    );
}

#[tokio::test]
async fn an_error_chunk_ends_the_stream_with_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::stream_error(["par"], "server overloaded"));
    let provider = provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Ok("par".to_owned()));
    assert!(
        matches!(&items[1], Err(ModelError::InvalidResponse { message, .. }) if message.ends_with("mid-stream: server overloaded")),
        "{:?}",
        items[1]
    );
}

#[tokio::test]
async fn unsupported_model_types_are_refused_without_a_request() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    assert!(provider.supports(ModelType::TextSmall));
    assert!(!provider.supports(ModelType::ObjectSmall));
    let error = provider
        .generate_text(ModelType::ObjectSmall, TextRequest::new("x"))
        .await
        .expect_err("unsupported");
    assert!(matches!(error, ModelError::Unsupported { .. }));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_connection_check_lists_models() {
    let fake = FakeOpenAi::start().await;
    provider(&fake, &[])
        .check_connection()
        .await
        .expect("GET /models");
    assert_eq!(fake.requests()[0].path, "/v1/models");
    assert_eq!(fake.requests()[0].method, "GET");
}
