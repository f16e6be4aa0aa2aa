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
pub const DEFAULT_IMAGE_DESCRIPTION_MODEL: &str = "gpt-5-nano";
pub const DEFAULT_IMAGE_DESCRIPTION_MAX_TOKENS: u32 = 8192;
pub const DEFAULT_IMAGE_MODEL: &str = "gpt-image-1";
pub const DEFAULT_TRANSCRIPTION_MODEL: &str = "gpt-4o-mini-transcribe";
pub const DEFAULT_TTS_MODEL: &str = "gpt-4o-mini-tts";
pub const DEFAULT_TTS_VOICE: &str = "nova";

/// The setting choosing the API of text generation ([`OpenAiTextApi`]).
pub const TEXT_API_SETTING: &str = "OPENAI_TEXT_API";

/// Which API serves TEXT_SMALL and TEXT_LARGE (`OPENAI_TEXT_API`).
///
/// Chat completions is the default because every OpenAI-compatible server speaks it (LM Studio,
/// vLLM, llama.cpp, OpenRouter). `responses` selects what 1.7.2 uses through the AI SDK, for
/// api.openai.com. Unlike 1.7.2 no parameter is dropped silently: the Responses API gets
/// `temperature`, `top_p`, `max_output_tokens` and `user`, and has no field for the penalties,
/// `seed`, `stop` or the local-model knobs (`top_k`, `min_p`, `repetition_penalty`), which are
/// therefore not sent; choose `chat` when they matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenAiTextApi {
    /// `chat`: `POST {base}/chat/completions`.
    #[default]
    ChatCompletions,
    /// `responses`: `POST {base}/responses`.
    Responses,
}

impl OpenAiTextApi {
    /// Reads the setting's value (`chat` or `responses`, in any case).
    pub fn from_setting(value: &str) -> Result<Self, ModelError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "chat" => Ok(Self::ChatCompletions),
            "responses" => Ok(Self::Responses),
            _ => Err(ModelError::Config(format!(
                "{TEXT_API_SETTING} \"{value}\" must be \"chat\" or \"responses\""
            ))),
        }
    }
}

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
    /// `OPENAI_TEXT_API`: chat completions (default) or the Responses API.
    pub text_api: OpenAiTextApi,
    /// `OPENAI_IMAGE_DESCRIPTION_MODEL`.
    pub image_description_model: String,
    /// `OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS`, when the request gives no limit.
    pub image_description_max_tokens: u32,
    /// `OPENAI_IMAGE_MODEL`.
    pub image_model: String,
    /// `OPENAI_TRANSCRIPTION_MODEL`.
    pub transcription_model: String,
    /// `OPENAI_TTS_MODEL`.
    pub tts_model: String,
    /// `OPENAI_TTS_VOICE`, when the request names no voice.
    pub tts_voice: String,
    /// `OPENAI_TTS_INSTRUCTIONS`, when the request gives none.
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
            Some(value) => value.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                ModelError::Config(format!(
                    "OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS \"{value}\" is not a positive integer"
                ))
            })?,
            None => DEFAULT_IMAGE_DESCRIPTION_MAX_TOKENS,
        };
        let text_api = get(TEXT_API_SETTING)
            .map(|value| OpenAiTextApi::from_setting(&value))
            .transpose()?
            .unwrap_or_default();

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
            text_api,
            image_description_model: or(
                "OPENAI_IMAGE_DESCRIPTION_MODEL",
                DEFAULT_IMAGE_DESCRIPTION_MODEL,
            ),
            image_description_max_tokens,
            image_model: or("OPENAI_IMAGE_MODEL", DEFAULT_IMAGE_MODEL),
            transcription_model: or("OPENAI_TRANSCRIPTION_MODEL", DEFAULT_TRANSCRIPTION_MODEL),
            tts_model: or("OPENAI_TTS_MODEL", DEFAULT_TTS_MODEL),
            tts_voice: or("OPENAI_TTS_VOICE", DEFAULT_TTS_VOICE),
            tts_instructions: get("OPENAI_TTS_INSTRUCTIONS"),
            experimental_telemetry: parse_boolean_from_text(
                get("OPENAI_EXPERIMENTAL_TELEMETRY").as_deref(),
            ),
            http: HttpOptions::default(),
        })
    }

    /// `{OPENAI_BASE_URL}{path}`.
    pub(crate) fn api_url(&self, path: &str) -> Result<Url, ModelError> {
        endpoint("OPENAI_BASE_URL", &self.base_url, path)
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
            .field("text_api", &self.text_api)
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
        assert_eq!(c.map(|c| c.text_api), Some(OpenAiTextApi::ChatCompletions));
        assert_eq!(
            c.map(|c| (c.tts_model.as_str(), c.tts_voice.as_str())),
            Some(("gpt-4o-mini-tts", "nova"))
        );
    }

    #[test]
    fn the_text_api_is_chat_or_responses() {
        let api = |value: &str| {
            config(&[("OPENAI_API_KEY", "k"), ("OPENAI_TEXT_API", value)]).map(|c| c.text_api)
        };
        assert_eq!(api(" Responses "), Ok(OpenAiTextApi::Responses));
        assert_eq!(api("chat"), Ok(OpenAiTextApi::ChatCompletions));
        assert_eq!(api(""), Ok(OpenAiTextApi::ChatCompletions));
        assert_eq!(
            api("assistants").map_err(|e| e.to_string()),
            Err(
                "model provider configuration error: OPENAI_TEXT_API \"assistants\" must be \"chat\" or \"responses\""
                    .to_owned()
            )
        );
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
        for bad in ["0", "-1", "lots"] {
            assert!(
                message(&[
                    ("OPENAI_API_KEY", "k"),
                    ("OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS", bad)
                ])
                .is_some_and(|m| m.contains("is not a positive integer")),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_output_hides_the_keys() {
        let c = config(&[("OPENAI_API_KEY", "sk-secret")]).ok();
        assert!(!format!("{c:?}").contains("sk-secret"));
    }
}
