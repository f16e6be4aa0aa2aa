use std::time::Duration;

use eliza_models::testing::{FakeOpenAi, FakeReply};
use eliza_models::{
    EmbeddingRequest, HttpOptions, ModelError, ModelProvider, ModelType, OpenAiProvider,
    RetryPolicy, TextRequest, Unavailability,
};

use crate::support::{closed_port, fast_http, provider, provider_with, stream_items};

async fn small(provider: &OpenAiProvider) -> Result<String, ModelError> {
    provider
        .generate_text(ModelType::TextSmall, TextRequest::new("hi"))
        .await
        .map(|r| r.text)
}

#[tokio::test]
async fn rate_limits_are_retried_then_succeed() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::rate_limited(Some("0")));
    fake.push_chat(FakeReply::status(503));
    fake.push_chat(FakeReply::text("finally"));
    let provider = provider(&fake, &[]);
    assert_eq!(small(&provider).await, Ok("finally".to_owned()));
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::rate_limited(Some("0.3")));
    let provider = provider(&fake, &[]);
    let started = std::time::Instant::now();
    assert!(small(&provider).await.is_ok());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn persistent_rate_limiting_ends_as_rate_limited() {
    let fake = FakeOpenAi::start().await;
    for _ in 0..3 {
        fake.push_chat(FakeReply::rate_limited(None));
    }
    let provider = provider(&fake, &[]);
    let error = small(&provider).await.expect_err("rate limited");
    assert!(matches!(error, ModelError::RateLimited { .. }), "{error}");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries_and_report_the_status() {
    let fake = FakeOpenAi::start().await;
    for _ in 0..3 {
        fake.push_chat(FakeReply::status(500));
    }
    let provider = provider(&fake, &[]);
    let error = small(&provider).await.expect_err("500");
    assert_eq!(
        error,
        ModelError::Http {
            provider: "openai".into(),
            status: 500,
            body: "fake error 500".into(),
        }
    );
    assert_eq!(
        error.to_string(),
        "the openai model server answered HTTP 500: fake error 500"
    );
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::Status {
        status: 401,
        message: "Incorrect API key provided".into(),
        retry_after: None,
    });
    let provider = provider(&fake, &[]);
    let error = small(&provider).await.expect_err("401");
    assert!(
        matches!(&error, ModelError::Http { status: 401, body, .. } if body == "Incorrect API key provided"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let port = closed_port();
    let settings = |key: &str| match key {
        "OPENAI_API_KEY" => Some("k".to_owned()),
        "OPENAI_BASE_URL" => Some(format!("http://127.0.0.1:{port}/v1")),
        _ => None,
    };
    let provider = OpenAiProvider::from_settings(&settings)
        .and_then(|p| p.with_http_options(fast_http()))
        .expect("provider");
    let error = small(&provider).await.expect_err("refused");
    assert!(
        matches!(
            &error,
            ModelError::Unavailable {
                reason: Unavailability::Connect { .. },
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("the openai model server is unavailable: could not connect")
    );
    let error = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect_err("refused");
    assert!(matches!(error, ModelError::Unavailable { .. }));
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::delayed(
        Duration::from_secs(5),
        FakeReply::Default,
    ));
    let http = HttpOptions {
        request_timeout: Duration::from_millis(200),
        retry: RetryPolicy::no_retries(),
        ..fast_http()
    };
    let provider = provider_with(&fake, &[], http);
    let error = small(&provider).await.expect_err("timeout");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(
        error.to_string(),
        "the openai model server is unavailable: no answer within 0.2 s"
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::SlowChunks {
        chunks: vec!["first".into(), "never".into()],
        pause: Duration::from_secs(5),
    });
    let http = HttpOptions {
        stream_idle_timeout: Duration::from_millis(200),
        retry: RetryPolicy::no_retries(),
        ..fast_http()
    };
    let provider = provider_with(&fake, &[], http);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert!(items[0].as_ref().is_err_and(ModelError::is_timeout));
}

#[tokio::test]
async fn garbage_is_an_invalid_response_and_not_retried() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::garbage());
    fake.push_chat(FakeReply::Raw(r#"{"choices": []}"#.into()));
    fake.push_chat(FakeReply::Raw(
        r#"{"choices": [{"message": {"content": null}}]}"#.into(),
    ));
    fake.push_embedding(FakeReply::Raw(
        r#"{"data": [{"embedding": "nope"}]}"#.into(),
    ));
    let provider = provider(&fake, &[]);
    for expected in ["not the expected JSON", "no choices", "no message content"] {
        let error = small(&provider).await.expect_err("garbage");
        assert!(
            matches!(&error, ModelError::InvalidResponse { message, .. } if message.contains(expected)),
            "{error}"
        );
    }
    let error = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect_err("garbage embedding");
    assert!(
        matches!(error, ModelError::InvalidResponse { .. }),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 4);
}

#[tokio::test]
async fn an_endless_answer_is_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    let huge = format!(
        r#"{{"choices": [], "pad": "{}"}}"#,
        "x".repeat(9 * 1024 * 1024)
    );
    fake.push_chat(FakeReply::Raw(huge));
    let provider = provider(&fake, &[]);
    let error = small(&provider).await.expect_err("too large");
    assert!(
        matches!(&error, ModelError::InvalidResponse { message, .. } if message.contains("larger than")),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn a_huge_error_body_still_reports_the_status() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::Status {
        status: 400,
        message: "y".repeat(1024 * 1024),
        retry_after: None,
    });
    let provider = provider(&fake, &[]);
    let error = small(&provider).await.expect_err("400");
    assert!(
        matches!(&error, ModelError::Http { status: 400, body, .. } if body.starts_with("{\"error\"") && body.chars().count() == 301),
        "{error}"
    );
}

#[tokio::test]
async fn garbage_in_a_stream_ends_it_with_an_invalid_response() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::garbage());
    let provider = provider(&fake, &[]);
    // The fake answers JSON content-type: the stream takes the plain-JSON path and fails there.
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1);
    assert!(matches!(items[0], Err(ModelError::InvalidResponse { .. })));
}

#[tokio::test]
async fn errors_before_the_first_chunk_fail_the_stream_call() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::status(400));
    let provider = provider(&fake, &[]);
    let result = provider
        .stream_text(ModelType::TextSmall, TextRequest::new("x"))
        .await;
    assert!(matches!(result, Err(ModelError::Http { status: 400, .. })));
}

#[tokio::test]
async fn a_missing_api_key_is_a_configuration_error() {
    let fake = FakeOpenAi::start().await;
    let base = fake.base_url();
    let settings = move |key: &str| (key == "OPENAI_BASE_URL").then(|| base.clone());
    let error = OpenAiProvider::from_settings(&settings).expect_err("no key");
    assert!(matches!(error, ModelError::Config(_)));
    assert_eq!(
        error.to_string(),
        "model provider configuration error: OPENAI_API_KEY is not set: add it to the agent's secrets or the environment"
    );
    assert!(fake.requests().is_empty());
}
