use std::time::Duration;

use eliza_models::testing::FakeOpenAi;
use eliza_models::{HttpOptions, OpenAiProvider, RetryPolicy};

/// Fast timeouts and retries so failure tests finish in milliseconds.
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
