//! Anthropic provider configuration, read through the settings lookup.

use std::fmt;

use reqwest::Url;

use crate::error::ModelError;
use crate::http::{HttpOptions, endpoint, parse_base_url};
use crate::settings::{first_setting, first_setting_named, read_setting};

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const DEFAULT_SMALL_MODEL: &str = "claude-3-5-haiku-latest";
pub const DEFAULT_LARGE_MODEL: &str = "claude-sonnet-4-20250514";
/// The Messages API requires `max_tokens`; these apply when the caller sets none. Within the
/// output limit of every current model of each size.
pub const DEFAULT_SMALL_MAX_TOKENS: u32 = 4096;
pub const DEFAULT_LARGE_MAX_TOKENS: u32 = 8192;

const BASE_URL_KEYS: [&str; 2] = ["ANTHROPIC_API_URL", "ANTHROPIC_BASE_URL"];

/// Everything the Anthropic provider reads from settings. `Debug` hides the key.
#[derive(Clone)]
pub struct AnthropicConfig {
    /// `ANTHROPIC_API_KEY`, sent as `x-api-key`.
    pub api_key: String,
    /// `ANTHROPIC_API_URL` ?? `ANTHROPIC_BASE_URL`, without a trailing slash. Both
    /// `https://api.anthropic.com` and the AI SDK's form `https://api.anthropic.com/v1` work.
    pub base_url: String,
    /// `ANTHROPIC_SMALL_MODEL` ?? `SMALL_MODEL`, as plugin-anthropic reads it.
    pub small_model: String,
    /// `ANTHROPIC_LARGE_MODEL` ?? `LARGE_MODEL`.
    pub large_model: String,
    /// Timeouts and retries (not settings; the runtime may override them).
    pub http: HttpOptions,
}

impl AnthropicConfig {
    /// Reads the configuration. Fails with [`ModelError::Config`] when `ANTHROPIC_API_KEY` is
    /// missing or the URL is malformed, so a bad setting is reported when the agent starts.
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let api_key = read_setting(lookup, "ANTHROPIC_API_KEY").ok_or_else(|| {
            ModelError::Config(
                "ANTHROPIC_API_KEY is not set: add it to the agent's secrets or the environment"
                    .to_owned(),
            )
        })?;
        let base_url = match first_setting_named(lookup, &BASE_URL_KEYS) {
            Some((key, url)) => parse_base_url(key, &url)?,
            None => DEFAULT_BASE_URL.to_owned(),
        };
        let model = |keys: &[&str], default: &str| {
            first_setting(lookup, keys).unwrap_or_else(|| default.to_owned())
        };
        Ok(Self {
            api_key,
            base_url,
            small_model: model(
                &["ANTHROPIC_SMALL_MODEL", "SMALL_MODEL"],
                DEFAULT_SMALL_MODEL,
            ),
            large_model: model(
                &["ANTHROPIC_LARGE_MODEL", "LARGE_MODEL"],
                DEFAULT_LARGE_MODEL,
            ),
            http: HttpOptions::default(),
        })
    }

    /// `{base}/v1/messages`, or `{base}/messages` when the base already ends in `/v1`.
    pub(crate) fn messages_url(&self) -> Result<Url, ModelError> {
        let path = if self.base_url.ends_with("/v1") {
            "/messages"
        } else {
            "/v1/messages"
        };
        endpoint(BASE_URL_KEYS[0], &self.base_url, path)
    }
}

impl fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("small_model", &self.small_model)
            .field("large_model", &self.large_model)
            .field("http", &self.http)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<AnthropicConfig, ModelError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        AnthropicConfig::from_settings(&|k: &str| map.get(k).map(|v| (*v).to_owned()))
    }

    fn messages_url(pairs: &[(&str, &str)]) -> Option<String> {
        config(pairs)
            .and_then(|c| c.messages_url())
            .ok()
            .map(String::from)
    }

    #[test]
    fn defaults() {
        let c = config(&[("ANTHROPIC_API_KEY", "sk-ant")]).ok();
        let c = c.as_ref();
        assert_eq!(c.map(|c| c.base_url.as_str()), Some(DEFAULT_BASE_URL));
        assert_eq!(
            c.map(|c| c.small_model.as_str()),
            Some("claude-3-5-haiku-latest")
        );
        assert_eq!(
            c.map(|c| c.large_model.as_str()),
            Some("claude-sonnet-4-20250514")
        );
        assert_eq!(
            messages_url(&[("ANTHROPIC_API_KEY", "k")]).as_deref(),
            Some("https://api.anthropic.com/v1/messages")
        );
    }

    #[test]
    fn base_url_settings_with_or_without_v1() {
        let key = ("ANTHROPIC_API_KEY", "k");
        assert_eq!(
            messages_url(&[key, ("ANTHROPIC_BASE_URL", "https://proxy.local/v1/")]).as_deref(),
            Some("https://proxy.local/v1/messages")
        );
        assert_eq!(
            messages_url(&[
                key,
                ("ANTHROPIC_API_URL", "http://first.local"),
                ("ANTHROPIC_BASE_URL", "http://second.local"),
            ])
            .as_deref(),
            Some("http://first.local/v1/messages")
        );
    }

    #[test]
    fn anthropic_specific_model_names_beat_the_generic_ones() {
        let c = config(&[
            ("ANTHROPIC_API_KEY", "k"),
            ("SMALL_MODEL", "generic-small"),
            ("ANTHROPIC_LARGE_MODEL", "claude-opus-4-1"),
            ("LARGE_MODEL", "generic-large"),
        ])
        .ok();
        assert_eq!(
            c.as_ref().map(|c| c.small_model.as_str()),
            Some("generic-small")
        );
        assert_eq!(c.map(|c| c.large_model), Some("claude-opus-4-1".to_owned()));
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let message = |pairs: &[(&str, &str)]| config(pairs).err().map(|e| e.to_string());
        assert_eq!(
            message(&[("ANTHROPIC_API_KEY", "  ")]).as_deref(),
            Some(
                "model provider configuration error: ANTHROPIC_API_KEY is not set: add it to the agent's secrets or the environment"
            )
        );
        assert!(
            message(&[
                ("ANTHROPIC_API_KEY", "k"),
                ("ANTHROPIC_BASE_URL", "api.anthropic.com")
            ])
            .is_some_and(|m| m.contains("ANTHROPIC_BASE_URL \"api.anthropic.com\""))
        );
    }

    #[test]
    fn debug_output_hides_the_key() {
        let c = config(&[("ANTHROPIC_API_KEY", "sk-ant-secret")]).ok();
        assert!(!format!("{c:?}").contains("sk-ant-secret"));
    }
}
