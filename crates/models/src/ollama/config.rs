//! plugin-ollama 1.2.4 configuration, read through the settings lookup (§3.3).

use std::time::Duration;

use reqwest::Url;

use crate::error::ModelError;
use crate::http::{HttpOptions, endpoint, parse_base_url};
use crate::settings::{first_setting, first_setting_named, parse_embedding_dimensions};

pub const DEFAULT_BASE_URL: &str = "http://localhost:11434/api";
pub const DEFAULT_SMALL_MODEL: &str = "gemma3:latest";
pub const DEFAULT_LARGE_MODEL: &str = "gemma3:latest";
pub const DEFAULT_EMBEDDING_MODEL: &str = "nomic-embed-text:latest";
/// Downloading a model of several GB takes minutes, far longer than any answer.
pub const DEFAULT_PULL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

const ENDPOINT_KEYS: [&str; 2] = ["OLLAMA_API_ENDPOINT", "OLLAMA_API_URL"];
const DIMENSION_KEYS: [&str; 2] = ["OLLAMA_EMBEDDING_DIMENSIONS", "EMBEDDING_DIMENSION"];

/// Everything the Ollama provider reads from settings. Ollama has no key, so nothing to hide.
#[derive(Debug, Clone, PartialEq)]
pub struct OllamaConfig {
    /// `OLLAMA_API_ENDPOINT` ?? `OLLAMA_API_URL`, always ending in `/api`, no trailing slash.
    pub base_url: String,
    /// `OLLAMA_SMALL_MODEL` ?? `SMALL_MODEL`.
    pub small_model: String,
    /// `OLLAMA_LARGE_MODEL` ?? `LARGE_MODEL`.
    pub large_model: String,
    /// `OLLAMA_EMBEDDING_MODEL`.
    pub embedding_model: String,
    /// `OLLAMA_EMBEDDING_DIMENSIONS` ?? `EMBEDDING_DIMENSION`: when set, the start-up
    /// dimension probe is skipped and every embedding is checked against it.
    pub embedding_dimensions: Option<usize>,
    /// The bound of one `POST /api/pull` (not a setting in 1.7.2).
    pub pull_timeout: Duration,
    /// Timeouts and retries (not settings in 1.7.2; the runtime may override them).
    pub http: HttpOptions,
}

impl OllamaConfig {
    /// Reads the configuration. Every setting has a default, so this only fails on a
    /// malformed URL or dimension, which is reported when the agent starts.
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let base_url = match first_setting_named(lookup, &ENDPOINT_KEYS) {
            Some((key, url)) => with_api_suffix(&parse_base_url(key, &url)?),
            None => DEFAULT_BASE_URL.to_owned(),
        };
        let embedding_dimensions = first_setting_named(lookup, &DIMENSION_KEYS)
            .map(|(key, value)| parse_embedding_dimensions(key, &value))
            .transpose()?;
        let model = |keys: &[&str], default: &str| {
            first_setting(lookup, keys).unwrap_or_else(|| default.to_owned())
        };
        Ok(Self {
            base_url,
            small_model: model(&["OLLAMA_SMALL_MODEL", "SMALL_MODEL"], DEFAULT_SMALL_MODEL),
            large_model: model(&["OLLAMA_LARGE_MODEL", "LARGE_MODEL"], DEFAULT_LARGE_MODEL),
            embedding_model: model(&["OLLAMA_EMBEDDING_MODEL"], DEFAULT_EMBEDDING_MODEL),
            embedding_dimensions,
            pull_timeout: DEFAULT_PULL_TIMEOUT,
            http: HttpOptions::default(),
        })
    }

    /// `{base}{path}` (`path` like `/chat`).
    pub(crate) fn url(&self, path: &str) -> Result<Url, ModelError> {
        endpoint(ENDPOINT_KEYS[0], &self.base_url, path)
    }
}

/// plugin-ollama appends `/api` when the endpoint lacks it (`http://host:11434` works).
fn with_api_suffix(base: &str) -> String {
    if base.ends_with("/api") {
        base.to_owned()
    } else {
        format!("{base}/api")
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<OllamaConfig, ModelError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        OllamaConfig::from_settings(&|k: &str| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn defaults_follow_plugin_ollama() {
        let c = config(&[]);
        assert_eq!(
            c,
            Ok(OllamaConfig {
                base_url: "http://localhost:11434/api".into(),
                small_model: "gemma3:latest".into(),
                large_model: "gemma3:latest".into(),
                embedding_model: "nomic-embed-text:latest".into(),
                embedding_dimensions: None,
                pull_timeout: DEFAULT_PULL_TIMEOUT,
                http: HttpOptions::default(),
            })
        );
    }

    #[test]
    fn the_endpoint_gets_api_appended_once() {
        let base = |pairs: &[(&str, &str)]| config(pairs).map(|c| c.base_url);
        assert_eq!(
            base(&[("OLLAMA_API_ENDPOINT", "http://gpu:11434")]).as_deref(),
            Ok("http://gpu:11434/api")
        );
        assert_eq!(
            base(&[("OLLAMA_API_ENDPOINT", "http://gpu:11434/api/")]).as_deref(),
            Ok("http://gpu:11434/api")
        );
        assert_eq!(
            base(&[
                ("OLLAMA_API_URL", "http://second:1/api"),
                ("OLLAMA_API_ENDPOINT", " "),
            ])
            .as_deref(),
            Ok("http://second:1/api")
        );
    }

    #[test]
    fn ollama_specific_names_beat_the_generic_ones() {
        let c = config(&[
            ("SMALL_MODEL", "generic-small"),
            ("LARGE_MODEL", "generic-large"),
            ("OLLAMA_LARGE_MODEL", "llama3.1:8b"),
            ("OLLAMA_EMBEDDING_MODEL", "mxbai-embed-large"),
            ("EMBEDDING_DIMENSION", "1024"),
        ]);
        let c = c.as_ref().ok();
        assert_eq!(c.map(|c| c.small_model.as_str()), Some("generic-small"));
        assert_eq!(c.map(|c| c.large_model.as_str()), Some("llama3.1:8b"));
        assert_eq!(
            c.map(|c| c.embedding_model.as_str()),
            Some("mxbai-embed-large")
        );
        assert_eq!(c.and_then(|c| c.embedding_dimensions), Some(1024));
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let message = |pairs: &[(&str, &str)]| config(pairs).err().map(|e| e.to_string());
        assert!(
            message(&[("OLLAMA_API_URL", "localhost:11434")])
                .is_some_and(|m| m.contains("OLLAMA_API_URL \"localhost:11434\""))
        );
        assert!(
            message(&[("EMBEDDING_DIMENSION", "100")])
                .is_some_and(|m| m.contains("EMBEDDING_DIMENSION \"100\" must be one of"))
        );
    }
}
