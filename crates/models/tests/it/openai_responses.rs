//! TEXT_SMALL / TEXT_LARGE over the Responses API (`OPENAI_TEXT_API=responses`).

use eliza_models::testing::{FakeOpenAi, FakeReply};
use eliza_models::{
    ModelError, ModelProvider, ModelType, OpenAiProvider, TextRequest, Unavailability,
};
use serde_json::json;

use crate::support::{provider, stream_items};

const RESPONSES_API: (&str, &str) = ("OPENAI_TEXT_API", "responses");

fn responses_provider(fake: &FakeOpenAi, extra: &[(&str, &str)]) -> OpenAiProvider {
    let mut settings = vec![RESPONSES_API];
    settings.extend_from_slice(extra);
    provider(fake, &settings)
}

async fn small(provider: &OpenAiProvider) -> Result<String, ModelError> {
    crate::support::text(provider, ModelType::TextSmall, "hi").await
}

#[tokio::test]
async fn a_call_sends_the_conversation_and_the_parameters_the_api_accepts() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::text("Hi there!"));
    let provider = responses_provider(&fake, &[]);

    let mut request = TextRequest::new("Say hi").with_system("You are Eliza.");
    request.temperature = Some(0.2);
    request.top_p = Some(0.9);
    request.max_tokens = Some(100);
    request.user = Some("Eliza".into());
    // Not part of the Responses API: not sent.
    request.frequency_penalty = Some(0.7);
    request.presence_penalty = Some(0.7);
    request.seed = Some(7);
    request.stop_sequences = vec!["</response>".into()];
    let response = provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("responses call");

    assert_eq!(response.text, "Hi there!");
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(response.model.as_deref(), Some("gpt-4o-mini"));
    let usage = response.usage.expect("usage");
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (10, 1));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/responses")
    );
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "input": [
                {"role": "system", "content": "You are Eliza."},
                {"role": "user", "content": "Say hi"}
            ],
            "temperature": 0.2,
            "top_p": 0.9,
            "max_output_tokens": 100,
            "user": "Eliza"
        })
    );
}

#[tokio::test]
async fn defaults_match_1_7_2_and_the_large_model_is_used_for_text_large() {
    let fake = FakeOpenAi::start().await;
    let provider = responses_provider(&fake, &[("OPENAI_LARGE_MODEL", "gpt-4.1")]);
    crate::support::text(&provider, ModelType::TextLarge, "a")
        .await
        .expect("large");
    assert_eq!(
        fake.requests()[0].body,
        json!({
            "model": "gpt-4.1",
            "input": [{"role": "user", "content": "a"}],
            "temperature": 0.7,
            "max_output_tokens": 8192
        })
    );
}

#[tokio::test]
async fn reasoning_models_get_the_developer_role_and_no_sampling_parameters() {
    let fake = FakeOpenAi::start().await;
    let provider = responses_provider(&fake, &[("OPENAI_SMALL_MODEL", "o4-mini")]);
    let mut request = TextRequest::new("q").with_system("sys");
    request.temperature = Some(0.1);
    request.top_p = Some(0.5);
    provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("reasoning model call");
    let body = &fake.requests()[0].body;
    assert_eq!(
        body["input"][0],
        json!({"role": "developer", "content": "sys"})
    );
    assert_eq!(body["max_output_tokens"], 8192);
    assert!(body.get("temperature").is_none(), "{body}");
    assert!(body.get("top_p").is_none(), "{body}");
}

#[tokio::test]
async fn streaming_yields_the_text_deltas_in_order() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::chunks(["Hel", "lo", ", wor", "ld!"]));
    let provider = responses_provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextLarge, "hi").await;
    let chunks: Vec<String> = items.into_iter().map(|c| c.expect("chunk")).collect();
    assert_eq!(chunks, ["Hel", "lo", ", wor", "ld!"]);
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.body["stream"], true);
}

#[tokio::test]
async fn a_server_answering_json_to_a_stream_request_gives_one_chunk() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::Raw(
        json!({"status": "completed", "output": [{"type": "message", "content": [
            {"type": "output_text", "text": "all at once"}
        ]}]})
        .to_string(),
    ));
    let provider = responses_provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items, vec![Ok("all at once".to_owned())]);
}

#[tokio::test]
async fn an_error_event_ends_the_stream_with_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::stream_error(["par"], "server overloaded"));
    let provider = responses_provider(&fake, &[]);
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
async fn a_failed_response_event_ends_the_stream_with_its_error() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::events([
        r#"{"type": "response.created", "response": {"status": "in_progress"}}"#,
        r#"{"type": "response.output_text.delta", "delta": "Hal"}"#,
        r#"{"type": "response.failed", "response": {"status": "failed", "error": {"code": "server_error", "message": "the model crashed"}}}"#,
        r#"{"type": "response.output_text.delta", "delta": "never read"}"#,
    ]));
    let provider = responses_provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Ok("Hal".to_owned()));
    assert!(
        matches!(&items[1], Err(ModelError::InvalidResponse { message, .. }) if message.ends_with("mid-stream: the model crashed")),
        "{:?}",
        items[1]
    );
}

#[tokio::test]
async fn a_stream_ending_before_its_completion_event_is_interrupted() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::events([
        r#"{"type": "response.output_text.delta", "delta": "cut"}"#,
    ]));
    fake.push_response(FakeReply::BrokenStream(vec!["par".into()]));
    let provider = responses_provider(&fake, &[]);
    for expected_text in ["cut", "par"] {
        let items = stream_items(&provider, ModelType::TextSmall, "x").await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0], Ok(expected_text.to_owned()));
        assert!(
            matches!(
                &items[1],
                Err(ModelError::Unavailable {
                    reason: Unavailability::StreamInterrupted(_),
                    ..
                })
            ),
            "{:?}",
            items[1]
        );
    }
}

#[tokio::test]
async fn garbage_in_a_stream_ends_it_with_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::events(["{not json"]));
    let provider = responses_provider(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(
        matches!(&items[0], Err(ModelError::InvalidResponse { message, .. }) if message.contains("unreadable stream event")),
        "{:?}",
        items[0]
    );
}

#[tokio::test]
async fn error_statuses_fail_the_call_and_the_stream_before_any_chunk() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::Status {
        status: 400,
        message: "Unsupported parameter: 'temperature'".into(),
        retry_after: None,
    });
    fake.push_response(FakeReply::status(401));
    let provider = responses_provider(&fake, &[]);
    let error = small(&provider).await.expect_err("400");
    assert!(
        matches!(&error, ModelError::Http { status: 400, body, .. } if body == "Unsupported parameter: 'temperature'"),
        "{error}"
    );
    let stream = provider
        .stream_text(ModelType::TextSmall, TextRequest::new("x"))
        .await;
    assert!(matches!(stream, Err(ModelError::Http { status: 401, .. })));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::status(503));
    fake.push_response(FakeReply::text("second try"));
    let provider = responses_provider(&fake, &[]);
    assert_eq!(small(&provider).await, Ok("second try".to_owned()));
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn unreadable_or_empty_answers_are_invalid_responses() {
    let fake = FakeOpenAi::start().await;
    fake.push_response(FakeReply::garbage());
    fake.push_response(FakeReply::Raw(r#"{"output": []}"#.into()));
    fake.push_response(FakeReply::Raw(
        r#"{"status": "failed", "error": {"message": "quota exceeded"}}"#.into(),
    ));
    fake.push_response(FakeReply::Raw(
        r#"{"output": [{"type": "message", "content": [{"type": "refusal", "refusal": "I can't."}]}]}"#
            .into(),
    ));
    let provider = responses_provider(&fake, &[]);
    for expected in [
        "not the expected JSON",
        "no output text",
        "the server reported an error: quota exceeded",
        "the model refused to answer: I can't.",
    ] {
        let error = small(&provider).await.expect_err("invalid answer");
        assert!(
            matches!(&error, ModelError::InvalidResponse { message, .. } if message.contains(expected)),
            "{expected}: {error}"
        );
    }
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn the_chat_api_stays_the_default() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    small(&provider).await.expect("chat completion");
    assert_eq!(fake.requests()[0].path, "/v1/chat/completions");
}
