use eliza_models::testing::{FAKE_ANTHROPIC_KEY, FakeAnthropic, FakeReply};
use eliza_models::{
    AnthropicProvider, EmbeddingRequest, ModelError, ModelProvider, ModelType, TextRequest,
    TokenUsage, Unavailability,
};
use serde_json::json;

use crate::support::{
    anthropic, anthropic_with, closed_port, fast_http, impatient_http, stream_items, text,
};

fn is_invalid_response(error: &ModelError, expected: &str) -> bool {
    matches!(error, ModelError::InvalidResponse { provider, message } if provider == "anthropic" && message.contains(expected))
}

#[tokio::test]
async fn messages_send_the_prompt_headers_and_parameters() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::text("Hi there!"));
    let provider = anthropic(&fake, &[]);

    let mut request = TextRequest::new("Say hi").with_system("You are Eliza.");
    request.temperature = Some(0.2);
    request.max_tokens = Some(100);
    request.top_k = Some(40);
    request.frequency_penalty = Some(0.7);
    request.stop_sequences = vec!["</response>".into()];
    let response = provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("message");

    assert_eq!(response.text, "Hi there!");
    assert_eq!(response.model.as_deref(), Some("claude-3-5-haiku-latest"));
    assert_eq!(response.finish_reason.as_deref(), Some("end_turn"));
    assert_eq!(
        response.usage,
        Some(TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 1,
            total_tokens: 11
        })
    );

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(sent.header("x-api-key"), Some(FAKE_ANTHROPIC_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("authorization"), None);
    // Anthropic has no frequency penalty: it is not sent.
    assert_eq!(
        sent.body,
        json!({
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 100,
            "system": "You are Eliza.",
            "messages": [{"role": "user", "content": "Say hi"}],
            "temperature": 0.2,
            "top_k": 40,
            "stop_sequences": ["</response>"]
        })
    );
}

#[tokio::test]
async fn max_tokens_defaults_by_size_and_unset_parameters_are_left_out() {
    let fake = FakeAnthropic::start().await;
    let provider = anthropic(&fake, &[("ANTHROPIC_LARGE_MODEL", "claude-opus-4-1")]);
    assert!(text(&provider, ModelType::TextSmall, "a").await.is_ok());
    assert!(text(&provider, ModelType::TextLarge, "b").await.is_ok());
    let bodies: Vec<_> = fake.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies[0],
        json!({
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": "a"}]
        })
    );
    assert_eq!(bodies[1]["model"], "claude-opus-4-1");
    assert_eq!(bodies[1]["max_tokens"], 8192);
}

#[tokio::test]
async fn a_base_url_ending_in_v1_is_not_doubled() {
    let fake = FakeAnthropic::start().await;
    let base = format!("{}/v1", fake.base_url());
    let provider = anthropic(&fake, &[("ANTHROPIC_API_URL", &base)]);
    assert!(text(&provider, ModelType::TextSmall, "a").await.is_ok());
    assert_eq!(fake.requests()[0].path, "/v1/messages");
}

#[tokio::test]
async fn streaming_yields_text_deltas_in_order() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::chunks(["Hel", "lo", ", wor", "ld!"]));
    let provider = anthropic(&fake, &[]);
    let chunks = stream_items(&provider, ModelType::TextLarge, "hi").await;
    let chunks: Vec<String> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    assert_eq!(chunks, ["Hel", "lo", ", wor", "ld!"]);
    assert_eq!(fake.requests()[0].body["stream"], true);
}

#[tokio::test]
async fn an_error_event_ends_the_stream_with_an_error() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::stream_error(["par"], "Overloaded"));
    let provider = anthropic(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Ok("par".to_owned()));
    assert!(
        items[1]
            .as_ref()
            .is_err_and(|e| is_invalid_response(e, "mid-stream: Overloaded")),
        "{:?}",
        items[1]
    );
}

#[tokio::test]
async fn a_stream_cut_before_message_stop_is_interrupted() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::BrokenStream(vec!["par".into(), "tial".into()]));
    let provider = anthropic(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[..2], [Ok("par".to_owned()), Ok("tial".to_owned())]);
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
async fn a_stream_answered_with_one_message_becomes_one_chunk() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::Raw(
        r#"{"type": "message", "content": [{"type": "text", "text": "whole"}]}"#.into(),
    ));
    fake.push_message(FakeReply::garbage());
    let provider = anthropic(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items, [Ok("whole".to_owned())]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1);
    assert!(
        items[0]
            .as_ref()
            .is_err_and(|e| is_invalid_response(e, "not the expected JSON"))
    );
}

#[tokio::test]
async fn rate_limits_and_overload_are_retried_then_succeed() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::rate_limited(Some("0")));
    fake.push_message(FakeReply::Status {
        status: 529,
        message: "Overloaded".into(),
        retry_after: None,
    });
    fake.push_message(FakeReply::text("finally"));
    let provider = anthropic(&fake, &[]);
    assert_eq!(
        text(&provider, ModelType::TextSmall, "x").await.as_deref(),
        Ok("finally")
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_report_anthropics_message_and_are_not_retried() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::Status {
        status: 401,
        message: "invalid x-api-key".into(),
        retry_after: None,
    });
    let provider = anthropic(&fake, &[]);
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("401");
    assert_eq!(
        error.to_string(),
        "the anthropic model server answered HTTP 401: invalid x-api-key"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_with_its_url() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let settings = |key: &str| match key {
        "ANTHROPIC_API_KEY" => Some("k".to_owned()),
        "ANTHROPIC_BASE_URL" => Some(base.clone()),
        _ => None,
    };
    let provider = AnthropicProvider::from_settings(&settings)
        .and_then(|p| p.with_http_options(fast_http()))
        .expect("provider");
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("down");
    let expected_url = format!("{base}/v1/messages");
    assert!(
        matches!(
            &error,
            ModelError::Unavailable { reason: Unavailability::Connect { url, .. }, .. } if *url == expected_url
        ),
        "{error:?}"
    );
    let result = provider
        .stream_text(ModelType::TextSmall, TextRequest::new("x"))
        .await;
    assert!(matches!(result, Err(ModelError::Unavailable { .. })));
}

#[tokio::test]
async fn garbage_answers_are_invalid_responses_and_not_retried() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::garbage());
    fake.push_message(FakeReply::Raw(r#"{"type": "message"}"#.into()));
    fake.push_message(FakeReply::Raw(
        r#"{"type": "error", "error": {"type": "api_error", "message": "boom"}}"#.into(),
    ));
    let provider = anthropic(&fake, &[]);
    for expected in [
        "not the expected JSON",
        "the answer has no content",
        "reported an error: boom",
    ] {
        let error = text(&provider, ModelType::TextSmall, "x")
            .await
            .expect_err("garbage");
        assert!(is_invalid_response(&error, expected), "{error}");
    }
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let fake = FakeAnthropic::start().await;
    fake.push_message(FakeReply::hang());
    fake.push_message(FakeReply::SlowChunks {
        chunks: vec!["first".into(), "never".into()],
        pause: std::time::Duration::from_secs(3600),
    });
    let provider = anthropic_with(&fake, &[], impatient_http());
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("timeout");
    assert!(error.is_timeout(), "{error}");
    // A stream that stops moving ends with a timeout.
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].as_ref().is_err_and(ModelError::is_timeout));
}

#[tokio::test]
async fn a_missing_api_key_is_a_configuration_error() {
    let fake = FakeAnthropic::start().await;
    let base = fake.base_url();
    let settings = move |key: &str| (key == "ANTHROPIC_API_URL").then(|| base.clone());
    let error = AnthropicProvider::from_settings(&settings).expect_err("no key");
    assert_eq!(
        error.to_string(),
        "model provider configuration error: ANTHROPIC_API_KEY is not set: add it to the agent's secrets or the environment"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn embeddings_and_other_types_are_unsupported_without_a_request() {
    let fake = FakeAnthropic::start().await;
    let provider = anthropic(&fake, &[]);
    assert!(provider.supports(ModelType::TextLarge));
    assert!(!provider.supports(ModelType::TextEmbedding));
    let unsupported = |result: Result<(), ModelError>| matches!(result, Err(ModelError::Unsupported { provider, .. }) if provider == "anthropic");
    let embedded = provider.embed(EmbeddingRequest::new("x")).await;
    assert!(unsupported(embedded.map(drop)));
    assert!(unsupported(provider.embedding_dimension().await.map(drop)));
    let generated = provider
        .generate_text(ModelType::ObjectLarge, TextRequest::new("x"))
        .await;
    assert!(unsupported(generated.map(drop)));
    assert!(fake.requests().is_empty());
}
