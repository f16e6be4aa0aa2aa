use std::time::Duration;

use eliza_models::testing::FakeOpenAi;
use eliza_models::{
    HttpOptions, ModelError, ModelProvider, ModelType, OpenAiProvider, RetryPolicy, TextRequest,
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
