//! The HTTP plumbing shared by remote providers: one reqwest client per provider, timeouts,
//! retries and the mapping of transport failures and statuses to [`ModelError`].

use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::error::{ModelError, Unavailability};
use crate::retry::{RetryPolicy, parse_retry_after, with_retries};

/// Timeouts and retries of a remote provider.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpOptions {
    /// Establishing the TCP/TLS connection.
    pub connect_timeout: Duration,
    /// A whole non-streamed call (one attempt): LLM answers can take a while, hence generous.
    pub request_timeout: Duration,
    /// For streams: the wait for the response headers and then between two chunks. A stream
    /// may last longer than `request_timeout` as long as it keeps moving.
    pub stream_idle_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            stream_idle_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }
}

/// How much of an error body ends up in [`ModelError::Http`].
const BODY_EXCERPT_CHARS: usize = 300;
/// The largest answer we read: a broken server must not make us allocate without bound.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// How much of an error body we read: enough for any JSON error object.
const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// A request body ready to send: encoded once, sent again as is by every retry.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    content_type: HeaderValue,
    bytes: Vec<u8>,
}

impl Payload {
    pub(crate) fn json(body: &impl serde::Serialize) -> Result<Self, ModelError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ModelError::InvalidRequest(format!("cannot encode the request: {e}")))?;
        Ok(Self::new(
            HeaderValue::from_static("application/json"),
            bytes,
        ))
    }

    pub(crate) fn new(content_type: HeaderValue, bytes: Vec<u8>) -> Self {
        Self {
            content_type,
            bytes,
        }
    }

    #[cfg(test)]
    pub(crate) fn content_type(&self) -> &str {
        self.content_type.to_str().unwrap_or_default()
    }
}

/// A 2xx answer read whole, for answers that are not JSON (generated audio).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ReceivedBody {
    pub bytes: Vec<u8>,
    /// The `Content-Type` the server sent, if any.
    pub content_type: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    provider: String,
    pub(crate) options: HttpOptions,
}

impl HttpClient {
    pub(crate) fn new(provider: &str, options: HttpOptions) -> Result<Self, ModelError> {
        // No client-wide timeout: it would also cut long streams. Timeouts are applied per call.
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .build()
            .map_err(|e| ModelError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            provider: provider.to_owned(),
            options,
        })
    }

    pub(crate) fn provider(&self) -> &str {
        &self.provider
    }

    /// POSTs `body` and parses the JSON answer, with retries; each attempt is bounded by
    /// `request_timeout`.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &impl serde::Serialize,
    ) -> Result<T, ModelError> {
        self.post_json_within(self.options.request_timeout, url, headers, body)
            .await
    }

    /// [`HttpClient::post_json`] with another bound per attempt, for calls known to take long
    /// (an Ollama model download).
    pub(crate) async fn post_json_within<T: DeserializeOwned>(
        &self,
        limit: Duration,
        url: &Url,
        headers: &HeaderMap,
        body: &impl serde::Serialize,
    ) -> Result<T, ModelError> {
        let body = Payload::json(body)?;
        self.fetch(
            limit,
            || self.post(url, headers, &body),
            |r| self.read_json(r),
        )
        .await
    }

    /// POSTs an already encoded body (a multipart form) and parses the JSON answer, with
    /// retries.
    pub(crate) async fn post_payload<T: DeserializeOwned>(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &Payload,
    ) -> Result<T, ModelError> {
        self.fetch(
            self.options.request_timeout,
            || self.post(url, headers, body),
            |r| self.read_json(r),
        )
        .await
    }

    /// POSTs `body` and returns the answer's bytes as they are (generated audio), with
    /// retries.
    pub(crate) async fn post_json_for_bytes(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &impl serde::Serialize,
    ) -> Result<ReceivedBody, ModelError> {
        let body = Payload::json(body)?;
        self.fetch(
            self.options.request_timeout,
            || self.post(url, headers, &body),
            |r| self.read_received(r),
        )
        .await
    }

    /// GETs `url` and parses the JSON answer, with retries.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<T, ModelError> {
        self.fetch(
            self.options.request_timeout,
            || self.client.get(url.clone()).headers(headers.clone()),
            |r| self.read_json(r),
        )
        .await
    }

    /// Sends the request `build` makes and reads the answer with `read`, with retries; each
    /// attempt (sending and reading) is bounded by `limit`.
    async fn fetch<T, Read>(
        &self,
        limit: Duration,
        build: impl Fn() -> reqwest::RequestBuilder,
        read: impl Fn(Response) -> Read,
    ) -> Result<T, ModelError>
    where
        Read: Future<Output = Result<T, ModelError>>,
    {
        with_retries(&self.options.retry, &self.provider, |_| async {
            self.within(limit, async {
                let response = self.send_checked(build()).await?;
                read(response).await
            })
            .await
        })
        .await
    }

    /// POSTs `body` and returns the response as soon as a 2xx status arrives, for streaming.
    /// Only this part is retried: once chunks flow, a failure ends the stream.
    pub(crate) async fn post_for_stream(
        &self,
        url: &Url,
        headers: &HeaderMap,
        body: &impl serde::Serialize,
    ) -> Result<Response, ModelError> {
        let body = Payload::json(body)?;
        with_retries(&self.options.retry, &self.provider, |_| async {
            self.within(
                self.options.stream_idle_timeout,
                self.send_checked(self.post(url, headers, &body)),
            )
            .await
        })
        .await
    }

    /// Reads a JSON body; anything unparseable is an [`ModelError::InvalidResponse`].
    pub(crate) async fn read_json<T: DeserializeOwned>(
        &self,
        response: Response,
    ) -> Result<T, ModelError> {
        let bytes = self.read_body(response).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ModelError::invalid_response(
                &self.provider,
                format!("not the expected JSON ({e}): {}", excerpt(&bytes)),
            )
        })
    }

    /// The whole body with its content type.
    async fn read_received(&self, response: Response) -> Result<ReceivedBody, ModelError> {
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = self.read_body(response).await?;
        Ok(ReceivedBody {
            bytes,
            content_type,
        })
    }

    /// The whole body, up to [`MAX_BODY_BYTES`]; a larger one is an
    /// [`ModelError::InvalidResponse`].
    async fn read_body(&self, response: Response) -> Result<Vec<u8>, ModelError> {
        let (bytes, complete) = read_at_most(response, MAX_BODY_BYTES)
            .await
            .map_err(|e| self.transport(&e))?;
        if !complete {
            return Err(ModelError::invalid_response(
                &self.provider,
                format!("the answer is larger than {MAX_BODY_BYTES} bytes"),
            ));
        }
        Ok(bytes)
    }

    /// Maps a reqwest failure to the error a user understands.
    pub(crate) fn transport(&self, error: &reqwest::Error) -> ModelError {
        let cause = root_cause(error);
        let reason = if error.is_timeout() && error.is_connect() {
            Unavailability::TimedOut(self.options.connect_timeout)
        } else if error.is_timeout() {
            Unavailability::TimedOut(self.options.request_timeout)
        } else if error.is_connect() {
            Unavailability::Connect {
                url: error
                    .url()
                    .map_or_else(|| "the server".to_owned(), shown_url),
                cause,
            }
        } else {
            Unavailability::Connection(cause)
        };
        self.unavailable(reason)
    }

    pub(crate) fn unavailable(&self, reason: Unavailability) -> ModelError {
        ModelError::Unavailable {
            provider: self.provider.clone(),
            reason,
        }
    }

    async fn within<T>(
        &self,
        limit: Duration,
        future: impl Future<Output = Result<T, ModelError>>,
    ) -> Result<T, ModelError> {
        tokio::time::timeout(limit, future)
            .await
            .unwrap_or_else(|_| Err(self.unavailable(Unavailability::TimedOut(limit))))
    }

    fn post(&self, url: &Url, headers: &HeaderMap, body: &Payload) -> reqwest::RequestBuilder {
        self.client
            .post(url.clone())
            .headers(headers.clone())
            .header(CONTENT_TYPE, body.content_type.clone())
            .body(body.bytes.clone())
    }

    async fn send_checked(&self, request: reqwest::RequestBuilder) -> Result<Response, ModelError> {
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(ModelError::RateLimited {
                provider: self.provider.clone(),
                retry_after: parse_retry_after(response.headers(), SystemTime::now()),
            });
        }
        // The body explains most failures (bad key, unknown model); a failure to read it must
        // not hide the status.
        let body = read_at_most(response, MAX_ERROR_BODY_BYTES)
            .await
            .map(|(b, _)| error_message(&b))
            .unwrap_or_default();
        Err(ModelError::Http {
            provider: self.provider.clone(),
            status: status.as_u16(),
            body,
        })
    }
}

/// Reads at most `limit` bytes of the body; `true` when that was all of it.
async fn read_at_most(
    mut response: Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// A URL as errors show it: without credentials, query or fragment, which may hold secrets.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// The most specific message in an error chain ("Connection refused (os error 111)" rather
/// than "error sending request for url …").
pub(crate) fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// `error.message` of an OpenAI-style error body (also `error` as a string, Ollama's form),
/// otherwise the start of the body.
pub(crate) fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|json| error_text(&json["error"]).map(truncate))
        .unwrap_or_else(|| excerpt(body))
}

/// The readable part of an error object: `{"message": …}` or a plain string.
pub(crate) fn error_text(error: &serde_json::Value) -> Option<&str> {
    error["message"].as_str().or_else(|| error.as_str())
}

/// The readable part of an error object (`{"message": …}` or a plain string), else the object
/// itself; cut to the length of an error excerpt. For errors reported inside a 2xx answer.
pub(crate) fn describe_error(error: &serde_json::Value) -> String {
    match error_text(error) {
        Some(message) => truncate(message),
        None => truncate(&error.to_string()),
    }
}

/// The start of a body, for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "(empty body)".to_owned();
    }
    truncate(trimmed)
}

pub(crate) fn truncate(text: &str) -> String {
    match text.char_indices().nth(BODY_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `Authorization: Bearer <key>` from a secret.
pub(crate) fn bearer(key_name: &str, key: &str) -> Result<HeaderValue, ModelError> {
    secret_header(key_name, &format!("Bearer {key}"))
}

/// A header value from a secret (an API key), kept out of logs; invalid characters are a
/// configuration error naming the setting.
pub(crate) fn secret_header(key_name: &str, value: &str) -> Result<HeaderValue, ModelError> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| ModelError::Config(format!("{key_name} contains invalid characters")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Parses a base URL setting: absolute http(s), trailing slashes removed so endpoint paths can
/// be appended (`{base}/chat/completions`).
pub(crate) fn parse_base_url(key: &str, value: &str) -> Result<String, ModelError> {
    let url = Url::parse(value)
        .map_err(|e| ModelError::Config(format!("{key} \"{value}\" is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ModelError::Config(format!(
            "{key} \"{value}\" must start with http:// or https://"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `{base}{path}` as a URL.
pub(crate) fn endpoint(key: &str, base: &str, path: &str) -> Result<Url, ModelError> {
    Url::parse(&format!("{base}{path}"))
        .map_err(|e| ModelError::Config(format!("{key} gives an invalid endpoint URL ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            error_message(br#"{"error":{"message":"Incorrect API key provided","type":"x"}}"#),
            "Incorrect API key provided"
        );
        assert_eq!(
            error_message(br#"{"error":"model not found"}"#),
            "model not found"
        );
        assert_eq!(
            error_message(b"<html>Bad Gateway</html>"),
            "<html>Bad Gateway</html>"
        );
        assert_eq!(error_message(b"  "), "(empty body)");
        let long = "é".repeat(1000);
        let summary = error_message(long.as_bytes());
        assert_eq!(summary.chars().count(), BODY_EXCERPT_CHARS + 1);
    }

    #[test]
    fn error_objects_are_described_briefly() {
        use serde_json::json;
        assert_eq!(
            describe_error(&json!({"message": "quota exceeded"})),
            "quota exceeded"
        );
        assert_eq!(describe_error(&json!("overloaded")), "overloaded");
        assert_eq!(describe_error(&json!({"code": 42})), r#"{"code":42}"#);
        let long = describe_error(&json!({"message": "x".repeat(10_000)}));
        assert!(
            long.ends_with('…') && long.chars().count() < 1_000,
            "{long}"
        );
    }

    #[test]
    fn urls_in_errors_lose_their_secrets() {
        let url = Url::parse("http://user:pw@localhost:11434/api/chat?key=s#x").ok();
        assert_eq!(
            url.as_ref().map(shown_url).as_deref(),
            Some("http://localhost:11434/api/chat")
        );
    }

    #[test]
    fn secrets_with_invalid_characters_are_configuration_errors() {
        assert!(matches!(
            secret_header("ANTHROPIC_API_KEY", "bad\nkey"),
            Err(ModelError::Config(m)) if m == "ANTHROPIC_API_KEY contains invalid characters"
        ));
        assert!(secret_header("K", "ok").is_ok_and(|v| v.is_sensitive()));
    }

    #[test]
    fn base_urls_are_validated_and_normalised() {
        assert_eq!(
            parse_base_url("K", "https://api.openai.com/v1/")
                .ok()
                .as_deref(),
            Some("https://api.openai.com/v1")
        );
        assert!(matches!(
            parse_base_url("K", "api.openai.com"),
            Err(ModelError::Config(_))
        ));
        assert!(matches!(
            parse_base_url("K", "ftp://x/v1"),
            Err(ModelError::Config(_))
        ));
    }
}
