//! Retries with exponential backoff and jitter, shared by every HTTP provider.
//!
//! Why here and not in each provider: the rules (what is transient, how long to wait, when to
//! give up) must be the same whichever server the agent talks to, and testing them once with
//! tokio's paused clock is cheaper than testing every provider's loop.

use std::future::Future;
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderMap;

use crate::error::ModelError;

/// How often and how patiently to retry a model call.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included; `1` disables retries.
    pub max_attempts: u32,
    /// The wait before the first retry; doubled for every further retry.
    pub initial_backoff: Duration,
    /// The cap of the doubling.
    pub max_backoff: Duration,
    /// The longest `Retry-After` we honour. A server asking for more is treated as "not now":
    /// the error goes back to the caller instead of holding a conversation turn for minutes.
    pub max_retry_after: Duration,
    /// Randomise each backoff between half and all of its value, so many agents hitting the same
    /// rate limit do not retry in lockstep.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A single attempt, no retries.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (0 for the first retry), before jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(16));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }

    /// How long to wait before retrying after `error`, or `None` to give up now.
    fn delay_before_retry(&self, retry: u32, error: &ModelError) -> Option<Duration> {
        if !error.is_retryable() {
            return None;
        }
        if let Some(asked) = error.retry_after() {
            return (asked <= self.max_retry_after).then_some(asked);
        }
        let backoff = self.backoff(retry);
        if !self.jitter || backoff.is_zero() {
            return Some(backoff);
        }
        let half = backoff / 2;
        let spread = u64::try_from((backoff - half).as_nanos()).unwrap_or(u64::MAX);
        Some(half + Duration::from_nanos(rand::rng().random_range(0..=spread)))
    }
}

/// Runs `attempt` (called with the attempt number, from 0) until it succeeds, fails with an error
/// that retrying cannot fix, or the policy's attempts are used up. The last error is returned.
pub async fn with_retries<T, F, Fut>(
    policy: &RetryPolicy,
    provider: &str,
    mut attempt: F,
) -> Result<T, ModelError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, ModelError>>,
{
    let attempts = policy.max_attempts.max(1);
    let mut number = 0;
    loop {
        let error = match attempt(number).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        number += 1;
        if number >= attempts {
            return Err(error);
        }
        let Some(delay) = policy.delay_before_retry(number - 1, &error) else {
            return Err(error);
        };
        tracing::warn!(
            provider,
            attempt = number,
            of = attempts,
            delay_ms = delay.as_millis() as u64,
            %error,
            "model call failed, retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// The wait a server asked for: OpenAI's `retry-after-ms`, else `Retry-After` in seconds or as
/// an HTTP date. Unreadable values are ignored (the normal backoff applies).
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return seconds(ms / 1000.0);
    }
    let value = header("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value).ok()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use reqwest::header::HeaderValue;
    use tokio::time::Instant;

    use super::*;
    use crate::error::Unavailability;

    fn unavailable() -> ModelError {
        ModelError::Unavailable {
            provider: "test".into(),
            reason: Unavailability::Connect {
                url: "http://localhost:1/".into(),
                cause: "refused".into(),
            },
        }
    }

    fn policy(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            max_retry_after: Duration::from_secs(5),
            jitter: false,
        }
    }

    /// Runs `with_retries` over a scripted sequence of outcomes; returns the result, the number
    /// of attempts made and the (paused-clock) time spent.
    async fn run(
        policy: &RetryPolicy,
        outcomes: Vec<Result<u32, ModelError>>,
    ) -> (Result<u32, ModelError>, u32, Duration) {
        let calls = Arc::new(AtomicU32::new(0));
        let start = Instant::now();
        let result = with_retries(policy, "test", |n| {
            let calls = calls.clone();
            let outcome = outcomes
                .get(n as usize)
                .cloned()
                .unwrap_or_else(|| Err(unavailable()));
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                outcome
            }
        })
        .await;
        (result, calls.load(Ordering::SeqCst), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_with_doubling_capped_backoff() {
        let (result, calls, elapsed) = run(
            &policy(5),
            vec![
                Err(unavailable()),
                Err(unavailable()),
                Err(unavailable()),
                Ok(7),
            ],
        )
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls, 4);
        // 100 + 200 + 350 (capped) ms.
        assert_eq!(elapsed, Duration::from_millis(650));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_with_the_last_error() {
        let (result, calls, _) = run(&policy(3), vec![]).await;
        assert_eq!(result, Err(unavailable()));
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn does_not_retry_permanent_errors() {
        let bad_request = ModelError::Http {
            provider: "test".into(),
            status: 400,
            body: "bad".into(),
        };
        let (result, calls, elapsed) = run(&policy(5), vec![Err(bad_request.clone())]).await;
        assert_eq!(result, Err(bad_request));
        assert_eq!(calls, 1);
        assert_eq!(elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_refuses_excessive_waits() {
        let limited = |secs| ModelError::RateLimited {
            provider: "test".into(),
            retry_after: Some(Duration::from_secs(secs)),
        };
        let (result, calls, elapsed) = run(&policy(3), vec![Err(limited(2)), Ok(1)]).await;
        assert_eq!((result, calls), (Ok(1), 2));
        assert_eq!(elapsed, Duration::from_secs(2));

        let (result, calls, elapsed) = run(&policy(3), vec![Err(limited(60)), Ok(1)]).await;
        assert_eq!(result, Err(limited(60)));
        assert_eq!(calls, 1);
        assert_eq!(elapsed, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stays_between_half_and_the_full_backoff() {
        let jittery = RetryPolicy {
            jitter: true,
            ..policy(2)
        };
        for _ in 0..20 {
            let (_, _, elapsed) = run(&jittery, vec![Err(unavailable()), Ok(1)]).await;
            assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
            assert!(elapsed <= Duration::from_millis(100), "{elapsed:?}");
        }
    }

    #[test]
    fn backoff_saturates_instead_of_overflowing() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::from_millis(500));
        assert_eq!(p.backoff(1), Duration::from_secs(1));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                if let Ok(v) = HeaderValue::from_str(v) {
                    h.insert(*k, v);
                }
            }
            h
        };
        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "3")]), now),
            secs(3)
        );
        assert_eq!(
            parse_retry_after(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(10));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &later)]), now),
            secs(10)
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(10));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "-1")]), now),
            None
        );
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }
}
