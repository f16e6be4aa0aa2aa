//! The one error type of every model call. Each variant says what went wrong in words a user can
//! act on, and tells the retry loop whether trying again can help.

use std::time::Duration;

use crate::model_type::ModelType;

/// Why a model call failed. `Clone` so scripted providers can replay errors and callers can
/// record them on a run without giving them up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The model server could not be reached or did not answer in time (connection refused,
    /// DNS failure, timeout, connection dropped mid-stream).
    #[error("the {provider} model server is unavailable: {reason}")]
    Unavailable {
        provider: String,
        reason: Unavailability,
    },

    /// The server answered 429 Too Many Requests, and retrying (if allowed) did not help.
    #[error("the {provider} model server is rate limiting requests{}", retry_hint(*retry_after))]
    RateLimited {
        provider: String,
        retry_after: Option<Duration>,
    },

    /// Any other non-success HTTP status. `body` is a short excerpt of what the server said
    /// (its error message usually explains a bad model name or an invalid key).
    #[error("the {provider} model server answered HTTP {status}: {body}")]
    Http {
        provider: String,
        status: u16,
        body: String,
    },

    /// The server answered 2xx, but not with something we can read (not JSON, missing fields,
    /// an error event in the middle of a stream, an embedding of the wrong length).
    #[error("the {provider} model server sent a response we cannot read: {message}")]
    InvalidResponse { provider: String, message: String },

    /// The provider is not configured correctly (missing API key, malformed base URL, bad
    /// setting value). Retrying cannot help; the settings must change.
    #[error("model provider configuration error: {0}")]
    Config(String),

    /// The request was refused before anything was sent (for example an empty embedding text).
    #[error("invalid model request: {0}")]
    InvalidRequest(String),

    /// The provider has no handler for this model type.
    /// The built-in local model could not load or run (missing or corrupt files, a tensor error).
    #[error("the local model failed: {0}")]
    Local(String),

    #[error("the {provider} provider does not support {model_type} models")]
    Unsupported {
        provider: String,
        model_type: ModelType,
    },
}

/// What kind of unavailability; kept structured so callers can tell a timeout from a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailability {
    /// Nothing answered at `url` (the server is down, the port or host is wrong).
    #[error("could not connect to {url} ({cause})")]
    Connect { url: String, cause: String },
    #[error("no answer within {} s", .0.as_secs_f64())]
    TimedOut(Duration),
    #[error("the connection failed ({0})")]
    Connection(String),
    #[error("the stream stopped before it was complete ({0})")]
    StreamInterrupted(String),
}

fn retry_hint(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (asked to retry after {} s)", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ModelError {
    /// True when the same request may succeed later: connection problems, timeouts, 429 and
    /// 5xx. Everything else (4xx, garbage, configuration) fails the same way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::RateLimited { .. } => true,
            Self::Http { status, .. } => *status >= 500 || *status == 408,
            Self::InvalidResponse { .. }
            | Self::Config(_)
            | Self::InvalidRequest(_)
            | Self::Local(_)
            | Self::Unsupported { .. } => false,
        }
    }

    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// True for a timeout (no answer in time), as opposed to other unavailability.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::Unavailable {
                reason: Unavailability::TimedOut(_),
                ..
            }
        )
    }

    pub(crate) fn invalid_response(provider: &str, message: impl Into<String>) -> Self {
        Self::InvalidResponse {
            provider: provider.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn unsupported(provider: &str, model_type: ModelType) -> Self {
        Self::Unsupported {
            provider: provider.to_owned(),
            model_type,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_provider_and_the_cause() {
        let e = ModelError::Unavailable {
            provider: "OpenAI".into(),
            reason: Unavailability::TimedOut(Duration::from_millis(1500)),
        };
        assert_eq!(
            e.to_string(),
            "the OpenAI model server is unavailable: no answer within 1.5 s"
        );
        let e = ModelError::RateLimited {
            provider: "OpenAI".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(
            e.to_string(),
            "the OpenAI model server is rate limiting requests (asked to retry after 2 s)"
        );
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let http = |status| ModelError::Http {
            provider: "p".into(),
            status,
            body: String::new(),
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(401).is_retryable());
        assert!(!ModelError::Config("x".into()).is_retryable());
        assert!(!ModelError::invalid_response("p", "x").is_retryable());
    }
}
