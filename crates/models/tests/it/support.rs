use std::time::Duration;

use eliza_models::testing::{FakeAnthropic, FakeOllama, FakeOpenAi};
use eliza_models::{
    AnthropicProvider, HttpOptions, ModelError, ModelProvider, ModelType, OllamaProvider,
    OpenAiProvider, RetryPolicy, TextRequest,
};
use futures_util::StreamExt;

/// Short timeouts and backoffs (10 to 40 ms) so failure tests do not wait as long as production
/// would.
pub fn fast_http() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        stream_idle_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_retry_after: Duration::from_secs(1),
            jitter: false,
        },
    }
}

pub fn provider(fake: &FakeOpenAi, extra: &[(&str, &str)]) -> OpenAiProvider {
    provider_with(fake, extra, fast_http())
}

pub fn provider_with(
    fake: &FakeOpenAi,
    extra: &[(&str, &str)],
    http: HttpOptions,
) -> OpenAiProvider {
    OpenAiProvider::from_settings(&fake.settings(extra))
        .and_then(|p| p.with_http_options(http))
        .expect("provider configured from the fake's settings")
}

pub fn ollama(fake: &FakeOllama, extra: &[(&str, &str)]) -> OllamaProvider {
    ollama_with(fake, extra, fast_http())
}

pub fn ollama_with(fake: &FakeOllama, extra: &[(&str, &str)], http: HttpOptions) -> OllamaProvider {
    OllamaProvider::from_settings(&fake.settings(extra))
        .and_then(|p| p.with_http_options(http))
        .expect("provider configured from the fake's settings")
}

pub fn anthropic(fake: &FakeAnthropic, extra: &[(&str, &str)]) -> AnthropicProvider {
    anthropic_with(fake, extra, fast_http())
}

pub fn anthropic_with(
    fake: &FakeAnthropic,
    extra: &[(&str, &str)],
    http: HttpOptions,
) -> AnthropicProvider {
    AnthropicProvider::from_settings(&fake.settings(extra))
        .and_then(|p| p.with_http_options(http))
        .expect("provider configured from the fake's settings")
}

/// [`fast_http`] with one attempt and a 200 ms bound on calls and stream pauses, for timeout
/// tests.
pub fn impatient_http() -> HttpOptions {
    HttpOptions {
        request_timeout: Duration::from_millis(200),
        stream_idle_timeout: Duration::from_millis(200),
        retry: RetryPolicy::no_retries(),
        ..fast_http()
    }
}

/// A local port nothing listens on: bound, then released.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The text of a `model_type` answer to `prompt`.
pub async fn text(
    provider: &dyn ModelProvider,
    model_type: ModelType,
    prompt: &str,
) -> Result<String, ModelError> {
    provider
        .generate_text(model_type, TextRequest::new(prompt))
        .await
        .map(|r| r.text)
}

/// Streams a `model_type` answer to `prompt` and collects every item, errors included.
pub async fn stream_items(
    provider: &dyn ModelProvider,
    model_type: ModelType,
    prompt: &str,
) -> Vec<Result<String, ModelError>> {
    provider
        .stream_text(model_type, TextRequest::new(prompt))
        .await
        .expect("stream starts")
        .collect()
        .await
}
