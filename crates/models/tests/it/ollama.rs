use std::time::Duration;

use eliza_models::testing::{FakeOllama, FakeReply, hash_embedding};
use eliza_models::{
    EmbeddingRequest, HttpOptions, ModelError, ModelProvider, ModelType, OllamaConfig,
    OllamaProvider, RetryPolicy, TextRequest, TokenUsage, Unavailability,
};
use serde_json::json;

use crate::support::{
    closed_port, fast_http, impatient_http, ollama, ollama_with, stream_items, text,
};

fn is_invalid_response(error: &ModelError, expected: &str) -> bool {
    matches!(error, ModelError::InvalidResponse { provider, message } if provider == "ollama" && message.contains(expected))
}

#[tokio::test]
async fn chat_sends_the_messages_and_only_the_options_set() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::text("Hi there!"));
    let provider = ollama(&fake, &[]);

    let mut request = TextRequest::new("Say hi").with_system("You are Eliza.");
    request.temperature = Some(0.2);
    request.max_tokens = Some(100);
    request.top_k = Some(40);
    request.repetition_penalty = Some(1.1);
    request.stop_sequences = vec!["</response>".into()];
    request.user = Some("Eliza".into());
    let response = provider
        .generate_text(ModelType::TextSmall, request)
        .await
        .expect("chat");

    assert_eq!(response.text, "Hi there!");
    assert_eq!(response.model.as_deref(), Some("gemma3:latest"));
    assert_eq!(response.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        response.usage,
        Some(TokenUsage {
            prompt_tokens: 10,
            completion_tokens: 1,
            total_tokens: 11
        })
    );
    let requests = fake.requests();
    assert_eq!(fake.paths(), ["/api/show", "/api/chat"]);
    assert_eq!(requests[0].body, json!({"model": "gemma3:latest"}));
    assert_eq!(requests[1].method, "POST");
    assert_eq!(
        requests[1].body,
        json!({
            "model": "gemma3:latest",
            "messages": [
                {"role": "system", "content": "You are Eliza."},
                {"role": "user", "content": "Say hi"}
            ],
            "options": {
                "temperature": 0.2,
                "num_predict": 100,
                "top_k": 40,
                "repeat_penalty": 1.1,
                "stop": ["</response>"]
            },
            "stream": false
        })
    );
}

#[tokio::test]
async fn without_parameters_no_options_are_sent_and_large_uses_its_model() {
    let fake = FakeOllama::start().await;
    let provider = ollama(&fake, &[("OLLAMA_LARGE_MODEL", "llama3.1:8b")]);
    let answer = text(&provider, ModelType::TextLarge, "a").await;
    assert_eq!(answer.as_deref(), Ok("Hello from the fake model."));
    assert_eq!(
        fake.requests()[1].body,
        json!({
            "model": "llama3.1:8b",
            "messages": [{"role": "user", "content": "a"}],
            "stream": false
        })
    );
}

#[tokio::test]
async fn the_endpoint_without_api_gets_it_appended() {
    let fake = FakeOllama::start().await;
    let bare = fake.base_url().trim_end_matches("/api").to_owned();
    let provider = ollama(&fake, &[("OLLAMA_API_ENDPOINT", &bare)]);
    assert!(text(&provider, ModelType::TextSmall, "a").await.is_ok());
    assert_eq!(fake.paths(), ["/api/show", "/api/chat"]);
}

#[tokio::test]
async fn streaming_yields_chunks_in_order() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::chunks(["Hel", "lo", ", wor", "ld!"]));
    let provider = ollama(&fake, &[]);
    let chunks = stream_items(&provider, ModelType::TextLarge, "hi").await;
    let chunks: Vec<String> = chunks.into_iter().map(|c| c.expect("chunk")).collect();
    assert_eq!(chunks, ["Hel", "lo", ", wor", "ld!"]);
    assert_eq!(fake.requests()[1].body["stream"], true);
}

#[tokio::test]
async fn an_error_line_ends_the_stream_with_an_error() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::stream_error(["par"], "model runner crashed"));
    let provider = ollama(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0], Ok("par".to_owned()));
    assert!(
        items[1]
            .as_ref()
            .is_err_and(|e| is_invalid_response(e, "mid-stream: model runner crashed")),
        "{:?}",
        items[1]
    );
}

#[tokio::test]
async fn a_stream_ending_before_done_is_interrupted() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::BrokenStream(vec!["par".into()]));
    // A body that ends cleanly, but without the `"done": true` line.
    fake.push_chat(FakeReply::Raw(
        r#"{"message": {"content": "cut"}, "done": false}"#.into(),
    ));
    let provider = ollama(&fake, &[]);
    for expected_text in ["par", "cut"] {
        let items = stream_items(&provider, ModelType::TextSmall, "x").await;
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_deref(), Ok(expected_text));
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
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::garbage());
    let provider = ollama(&fake, &[]);
    let items = stream_items(&provider, ModelType::TextSmall, "x").await;
    assert_eq!(items.len(), 1);
    assert!(
        items[0]
            .as_ref()
            .is_err_and(|e| is_invalid_response(e, "unreadable stream event"))
    );
}

#[tokio::test]
async fn embeddings_use_embed_with_the_embedding_model() {
    let fake = FakeOllama::start().await;
    let provider = ollama(&fake, &[]);
    let vector = provider
        .embed(EmbeddingRequest::new("hello world"))
        .await
        .expect("embedding");
    assert_eq!(vector, hash_embedding("hello world", 768));
    let requests = fake.requests();
    assert_eq!(fake.paths(), ["/api/show", "/api/embed"]);
    assert_eq!(
        requests[0].body,
        json!({"model": "nomic-embed-text:latest"})
    );
    assert_eq!(
        requests[1].body,
        json!({"model": "nomic-embed-text:latest", "input": ["hello world"]})
    );
}

#[tokio::test]
async fn empty_text_is_embedded_as_test_as_in_1_7_2() {
    let fake = FakeOllama::start().await;
    let provider = ollama(&fake, &[]);
    let vector = provider.embed(EmbeddingRequest::new(" ")).await;
    assert_eq!(vector, Ok(hash_embedding("test", 768)));
    assert_eq!(fake.requests()[1].body["input"], json!(["test"]));
}

#[tokio::test]
async fn configured_dimensions_answer_the_probe_and_check_every_embedding() {
    let fake = FakeOllama::start().await;
    fake.push_embedding(FakeReply::Embedding(vec![0.1, 0.2, 0.3]));
    let provider = ollama(&fake, &[("OLLAMA_EMBEDDING_DIMENSIONS", "768")]);
    assert_eq!(provider.embedding_dimension().await, Ok(768));
    assert!(fake.requests().is_empty());
    let error = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect_err("wrong length");
    assert!(is_invalid_response(&error, "has 3 dimensions"), "{error}");
}

#[tokio::test]
async fn without_configured_dimensions_the_probe_embeds_once() {
    let fake = FakeOllama::start().await;
    fake.set_embedding_dimensions(1024);
    let provider = ollama(&fake, &[("OLLAMA_EMBEDDING_MODEL", "mxbai-embed-large")]);
    assert_eq!(provider.embedding_dimension().await, Ok(1024));
    assert_eq!(fake.requests()[1].body["model"], "mxbai-embed-large");
}

#[tokio::test]
async fn a_missing_model_is_pulled_once_and_each_model_shown_once() {
    let fake = FakeOllama::start().await;
    fake.push_show(FakeReply::Status {
        status: 404,
        message: "model 'gemma3:latest' not found".into(),
        retry_after: None,
    });
    let provider = ollama(&fake, &[("OLLAMA_LARGE_MODEL", "llama3.1:8b")]);
    for model_type in [
        ModelType::TextSmall,
        ModelType::TextSmall,
        ModelType::TextLarge,
    ] {
        assert!(text(&provider, model_type, "x").await.is_ok());
    }
    assert!(provider.embed(EmbeddingRequest::new("x")).await.is_ok());
    assert!(provider.embed(EmbeddingRequest::new("y")).await.is_ok());

    assert_eq!(
        fake.paths(),
        [
            "/api/show",
            "/api/pull",
            "/api/chat",
            "/api/chat",
            "/api/show",
            "/api/chat",
            "/api/show",
            "/api/embed",
            "/api/embed"
        ]
    );
    let requests = fake.requests();
    assert_eq!(
        requests[1].body,
        json!({"model": "gemma3:latest", "stream": false})
    );
    assert_eq!(requests[4].body, json!({"model": "llama3.1:8b"}));
}

#[tokio::test]
async fn a_failed_pull_is_an_error_and_the_next_call_checks_again() {
    let fake = FakeOllama::start().await;
    fake.push_show(FakeReply::status(404));
    fake.push_pull(FakeReply::Raw(
        r#"{"error": "pull model manifest: file does not exist"}"#.into(),
    ));
    fake.push_show(FakeReply::status(404));
    fake.push_pull(FakeReply::Raw(
        r#"{"status": "verifying sha256 digest"}"#.into(),
    ));
    let provider = ollama(&fake, &[("OLLAMA_SMALL_MODEL", "no-such-model")]);

    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("pull failed");
    assert!(
        is_invalid_response(
            &error,
            "could not pull the model no-such-model: pull model manifest: file does not exist"
        ),
        "{error}"
    );
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("pull unfinished");
    assert!(is_invalid_response(&error, "ended with status"), "{error}");
    assert!(text(&provider, ModelType::TextSmall, "x").await.is_ok());
    assert_eq!(
        fake.paths(),
        [
            "/api/show",
            "/api/pull",
            "/api/show",
            "/api/pull",
            "/api/show",
            "/api/chat"
        ]
    );
}

#[tokio::test]
async fn show_failures_other_than_404_are_errors_without_a_pull() {
    let fake = FakeOllama::start().await;
    fake.push_show(FakeReply::status(400));
    fake.push_show(FakeReply::garbage());
    let provider = ollama(&fake, &[]);
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("400");
    assert!(
        matches!(error, ModelError::Http { status: 400, .. }),
        "{error}"
    );
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("garbage");
    assert!(
        is_invalid_response(&error, "not the expected JSON"),
        "{error}"
    );
    assert_eq!(fake.paths(), ["/api/show", "/api/show"]);
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_then_succeed() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::rate_limited(Some("0")));
    fake.push_chat(FakeReply::status(503));
    fake.push_chat(FakeReply::text("finally"));
    fake.push_embedding(FakeReply::status(500));
    let provider = ollama(&fake, &[]);
    assert_eq!(
        text(&provider, ModelType::TextSmall, "x").await.as_deref(),
        Ok("finally")
    );
    assert!(provider.embed(EmbeddingRequest::new("x")).await.is_ok());
    let paths = fake.paths();
    assert_eq!(paths.iter().filter(|p| *p == "/api/chat").count(), 3);
    assert_eq!(paths.iter().filter(|p| *p == "/api/embed").count(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries_and_report_ollamas_message() {
    let fake = FakeOllama::start().await;
    for _ in 0..3 {
        fake.push_chat(FakeReply::Status {
            status: 500,
            message: "llama runner process has terminated".into(),
            retry_after: None,
        });
    }
    let provider = ollama(&fake, &[]);
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("500");
    assert_eq!(
        error.to_string(),
        "the ollama model server answered HTTP 500: llama runner process has terminated"
    );
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_with_its_url() {
    let base = format!("http://127.0.0.1:{}", closed_port());
    let settings = |key: &str| (key == "OLLAMA_API_URL").then(|| base.clone());
    let provider = OllamaProvider::from_settings(&settings)
        .and_then(|p| p.with_http_options(fast_http()))
        .expect("provider");
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("down");
    let expected_url = format!("{base}/api/show");
    assert!(
        matches!(
            &error,
            ModelError::Unavailable { reason: Unavailability::Connect { url, .. }, .. } if *url == expected_url
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "the ollama model server is unavailable: could not connect to {expected_url} ("
        )),
        "{error}"
    );
    let error = provider
        .embed(EmbeddingRequest::new("x"))
        .await
        .expect_err("down");
    assert!(matches!(error, ModelError::Unavailable { .. }));
    assert!(provider.check_connection().await.is_err());
}

#[tokio::test]
async fn garbage_answers_are_invalid_responses_and_not_retried() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::garbage());
    fake.push_chat(FakeReply::Raw(r#"{"done": true}"#.into()));
    fake.push_chat(FakeReply::Raw(r#"{"error": "out of memory"}"#.into()));
    fake.push_embedding(FakeReply::Raw(r#"{"embeddings": []}"#.into()));
    fake.push_embedding(FakeReply::Raw(r#"{"embeddings": [[]]}"#.into()));
    let provider = ollama(&fake, &[]);
    for expected in [
        "not the expected JSON",
        "no message content",
        "reported an error: out of memory",
    ] {
        let error = text(&provider, ModelType::TextSmall, "x")
            .await
            .expect_err("garbage");
        assert!(is_invalid_response(&error, expected), "{error}");
    }
    for expected in ["no embedding", "embedding is empty"] {
        let error = provider
            .embed(EmbeddingRequest::new("x"))
            .await
            .expect_err("garbage");
        assert!(is_invalid_response(&error, expected), "{error}");
    }
    let paths = fake.paths();
    assert_eq!(paths.iter().filter(|p| *p == "/api/chat").count(), 3);
    assert_eq!(paths.iter().filter(|p| *p == "/api/embed").count(), 2);
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::hang());
    let provider = ollama_with(&fake, &[], impatient_http());
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("timeout");
    assert!(error.is_timeout(), "{error}");
    assert_eq!(
        error.to_string(),
        "the ollama model server is unavailable: no answer within 0.2 s"
    );
}

#[tokio::test]
async fn a_pull_that_never_ends_times_out_on_its_own_bound() {
    let fake = FakeOllama::start().await;
    fake.push_show(FakeReply::status(404));
    fake.push_pull(FakeReply::hang());
    let config = OllamaConfig {
        pull_timeout: Duration::from_millis(300),
        ..OllamaConfig::from_settings(&fake.settings(&[])).expect("config")
    };
    // The request timeout is far longer: the pull is bounded by its own timeout.
    let http = HttpOptions {
        request_timeout: Duration::from_secs(3600),
        retry: RetryPolicy::no_retries(),
        ..fast_http()
    };
    let provider = OllamaProvider::new(config)
        .and_then(|p| p.with_http_options(http))
        .expect("provider");
    let error = text(&provider, ModelType::TextSmall, "x")
        .await
        .expect_err("timeout");
    assert_eq!(
        error.to_string(),
        "the ollama model server is unavailable: no answer within 0.3 s"
    );
    assert_eq!(fake.paths(), ["/api/show", "/api/pull"]);
}

#[tokio::test]
async fn errors_before_the_first_chunk_fail_the_stream_call() {
    let fake = FakeOllama::start().await;
    fake.push_chat(FakeReply::status(404));
    let provider = ollama(&fake, &[]);
    let result = provider
        .stream_text(ModelType::TextSmall, TextRequest::new("x"))
        .await;
    assert!(matches!(result, Err(ModelError::Http { status: 404, .. })));
}

#[tokio::test]
async fn unsupported_model_types_are_refused_without_a_request() {
    let fake = FakeOllama::start().await;
    let provider = ollama(&fake, &[]);
    assert!(provider.supports(ModelType::TextEmbedding));
    assert!(!provider.supports(ModelType::ObjectSmall));
    let error = text(&provider, ModelType::ImageDescription, "x")
        .await
        .expect_err("unsupported");
    assert!(matches!(error, ModelError::Unsupported { .. }));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_connection_check_lists_tags() {
    let fake = FakeOllama::start().await;
    ollama(&fake, &[])
        .check_connection()
        .await
        .expect("GET /api/tags");
    let requests = fake.requests();
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", "/api/tags")
    );
}
