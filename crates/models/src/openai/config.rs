//! plugin-openai 1.6.0 configuration, read through the settings lookup (§3.2).

use std::fmt;

use reqwest::Url;

use crate::error::ModelError;
use crate::http::{HttpOptions, endpoint, parse_base_url};
pub use crate::settings::SUPPORTED_EMBEDDING_DIMENSIONS;
use crate::settings::{
    first_setting, parse_boolean_from_text, parse_embedding_dimensions, read_setting,
};

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The code default of plugin-openai 1.6.0 (its package.json claims gpt-5-nano; the code wins).
pub const DEFAULT_SMALL_MODEL: &str = "gpt-4o-mini";
pub const DEFAULT_LARGE_MODEL: &str = "gpt-4o";
pub const DEFAULT_EMBEDDING_MODEL: &str = "text-embedding-3-small";

/// Everything the OpenAI-compatible provider reads from settings. `Debug` hides the keys.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_API_KEY`, sent as `Authorization: Bearer …`.
    pub api_key: String,
    /// `OPENAI_BASE_URL` without a trailing slash.
    pub base_url: String,
    /// `OPENAI_SMALL_MODEL` ?? `SMALL_MODEL`.
    pub small_model: String,
    /// `OPENAI_LARGE_MODEL` ?? `LARGE_MODEL`.
    pub large_model: String,
    /// `OPENAI_EMBEDDING_MODEL`.
    pub embedding_model: String,
    /// `OPENAI_EMBEDDING_URL` ?? the base URL.
    pub embedding_base_url: String,
    /// `OPENAI_EMBEDDING_API_KEY` ?? the API key.
    pub embedding_api_key: String,
    /// `OPENAI_EMBEDDING_DIMENSIONS` when set: sent as `dimensions` and checked against the
    /// answer. Unset, nothing is sent and any length is accepted.
    pub embedding_dimensions: Option<usize>,
    /// `OPENAI_IMAGE_DESCRIPTION_MODEL`, `OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS`, `OPENAI_IMAGE_MODEL`,
    /// `OPENAI_TRANSCRIPTION_MODEL`, `OPENAI_TTS_*`, with the 1.7.2 defaults. Nothing reads them
    /// yet (the endpoints are not implemented); only the max-tokens number is validated.
    pub image_description_model: String,
    pub image_description_max_tokens: u32,
    pub image_model: String,
    pub transcription_model: String,
    pub tts_model: String,
    pub tts_voice: String,
    pub tts_instructions: Option<String>,
    /// `OPENAI_EXPERIMENTAL_TELEMETRY` (1.7.2 passes it to the AI SDK; nothing reads it here).
    pub experimental_telemetry: bool,
    /// Timeouts and retries (not settings in 1.7.2; the runtime may override them).
    pub http: HttpOptions,
}

impl OpenAiConfig {
    /// Reads the configuration. Fails with [`ModelError::Config`] when `OPENAI_API_KEY` is
    /// missing or a URL or number is malformed, so a bad setting is reported when the agent
    /// starts rather than on its first message.
    pub fn from_settings<F>(lookup: &F) -> Result<Self, ModelError>
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let get = |key: &str| read_setting(lookup, key);
        let or = |key: &str, default: &str| get(key).unwrap_or_else(|| default.to_owned());

        let api_key = get("OPENAI_API_KEY").ok_or_else(|| {
            ModelError::Config(
                "OPENAI_API_KEY is not set: add it to the agent's secrets or the environment"
                    .to_owned(),
            )
        })?;
        let base_url = match get("OPENAI_BASE_URL") {
            Some(url) => parse_base_url("OPENAI_BASE_URL", &url)?,
            None => DEFAULT_BASE_URL.to_owned(),
        };
        let embedding_base_url = match get("OPENAI_EMBEDDING_URL") {
            Some(url) => parse_base_url("OPENAI_EMBEDDING_URL", &url)?,
            None => base_url.clone(),
        };
        let embedding_dimensions = get("OPENAI_EMBEDDING_DIMENSIONS")
            .map(|value| parse_embedding_dimensions("OPENAI_EMBEDDING_DIMENSIONS", &value))
            .transpose()?;
        let image_description_max_tokens = match get("OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS") {
            Some(value) => value.parse().map_err(|_| {
                ModelError::Config(format!(
                    "OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS \"{value}\" is not a positive integer"
                ))
            })?,
            None => 8192,
        };

        Ok(Self {
            embedding_api_key: get("OPENAI_EMBEDDING_API_KEY").unwrap_or_else(|| api_key.clone()),
            api_key,
            small_model: first_setting(lookup, &["OPENAI_SMALL_MODEL", "SMALL_MODEL"])
                .unwrap_or_else(|| DEFAULT_SMALL_MODEL.to_owned()),
            large_model: first_setting(lookup, &["OPENAI_LARGE_MODEL", "LARGE_MODEL"])
                .unwrap_or_else(|| DEFAULT_LARGE_MODEL.to_owned()),
            embedding_model: or("OPENAI_EMBEDDING_MODEL", DEFAULT_EMBEDDING_MODEL),
            base_url,
            embedding_base_url,
            embedding_dimensions,
            image_description_model: or("OPENAI_IMAGE_DESCRIPTION_MODEL", "gpt-5-nano"),
            image_description_max_tokens,
            image_model: or("OPENAI_IMAGE_MODEL", "gpt-image-1"),
            transcription_model: or("OPENAI_TRANSCRIPTION_MODEL", "gpt-4o-mini-transcribe"),
            tts_model: or("OPENAI_TTS_MODEL", "gpt-4o-mini-tts"),
            tts_voice: or("OPENAI_TTS_VOICE", "nova"),
            tts_instructions: get("OPENAI_TTS_INSTRUCTIONS"),
            experimental_telemetry: parse_boolean_from_text(
                get("OPENAI_EXPERIMENTAL_TELEMETRY").as_deref(),
            ),
            http: HttpOptions::default(),
        })
    }

    pub(crate) fn chat_url(&self) -> Result<Url, ModelError> {
        endpoint("OPENAI_BASE_URL", &self.base_url, "/chat/completions")
    }

    pub(crate) fn models_url(&self) -> Result<Url, ModelError> {
        endpoint("OPENAI_BASE_URL", &self.base_url, "/models")
    }

    pub(crate) fn embeddings_url(&self) -> Result<Url, ModelError> {
        endpoint(
            "OPENAI_EMBEDDING_URL",
            &self.embedding_base_url,
            "/embeddings",
        )
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("api_key", &"<redacted>")
            .field("base_url", &self.base_url)
            .field("small_model", &self.small_model)
            .field("large_model", &self.large_model)
            .field("embedding_model", &self.embedding_model)
            .field("embedding_base_url", &self.embedding_base_url)
            .field("embedding_dimensions", &self.embedding_dimensions)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<OpenAiConfig, ModelError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        OpenAiConfig::from_settings(&|k: &str| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn defaults_follow_plugin_openai() {
        let c = config(&[("OPENAI_API_KEY", "sk-test")]).ok();
        let c = c.as_ref();
        assert_eq!(c.map(|c| c.base_url.as_str()), Some(DEFAULT_BASE_URL));
        assert_eq!(c.map(|c| c.small_model.as_str()), Some("gpt-4o-mini"));
        assert_eq!(c.map(|c| c.large_model.as_str()), Some("gpt-4o"));
        assert_eq!(
            c.map(|c| c.embedding_model.as_str()),
            Some("text-embedding-3-small")
        );
        assert_eq!(c.map(|c| c.embedding_api_key.as_str()), Some("sk-test"));
        assert_eq!(c.and_then(|c| c.embedding_dimensions), None);
        assert_eq!(c.map(|c| c.image_description_max_tokens), Some(8192));
    }

    #[test]
    fn openai_specific_names_beat_the_generic_ones() {
        let c = config(&[
            ("OPENAI_API_KEY", "k"),
            ("SMALL_MODEL", "generic-small"),
            ("LARGE_MODEL", "generic-large"),
            ("OPENAI_LARGE_MODEL", "specific-large"),
            ("OPENAI_EMBEDDING_URL", "http://embed.local/v1/"),
            ("OPENAI_EMBEDDING_DIMENSIONS", "768"),
        ])
        .ok();
        assert_eq!(
            c.as_ref().map(|c| c.small_model.as_str()),
            Some("generic-small")
        );
        assert_eq!(
            c.as_ref().map(|c| c.large_model.as_str()),
            Some("specific-large")
        );
        assert_eq!(
            c.as_ref().map(|c| c.embedding_base_url.as_str()),
            Some("http://embed.local/v1")
        );
        assert_eq!(c.and_then(|c| c.embedding_dimensions), Some(768));
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let message = |pairs: &[(&str, &str)]| config(pairs).err().map(|e| e.to_string());
        assert!(message(&[]).is_some_and(|m| m.contains("OPENAI_API_KEY is not set")));
        assert!(
            message(&[
                ("OPENAI_API_KEY", "k"),
                ("OPENAI_BASE_URL", "localhost:1234")
            ])
            .is_some_and(|m| m.contains("OPENAI_BASE_URL"))
        );
        assert!(
            message(&[
                ("OPENAI_API_KEY", "k"),
                ("OPENAI_EMBEDDING_DIMENSIONS", "1000")
            ])
            .is_some_and(|m| m.contains("must be one of"))
        );
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let c = config(&[("OPENAI_API_KEY", "sk-secret")]).ok();
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
