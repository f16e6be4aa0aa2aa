//! Settings: how model parameters and provider options are read.
//!
//! Everything goes through a lookup closure `Fn(&str) -> Option<String>`; the runtime passes one
//! that tries the character's settings, then its secrets, then the environment (1.7.2's
//! `runtime.getSetting(k) ?? process.env[k]`). Keeping the lookup a closure keeps this crate free
//! of the character and store types, and makes the rules trivial to test.

use crate::error::ModelError;
use crate::model_type::ModelType;
use crate::request::TextRequest;

/// The embedding sizes 1.7.2 accepts: the store has one `dim_<N>` column for each.
pub const SUPPORTED_EMBEDDING_DIMENSIONS: [usize; 6] = [384, 512, 768, 1024, 1536, 3072];

/// Reads one setting, treating blank values as unset (a `KEY=` line in `.env` means "no value",
/// not "empty key").
pub fn read_setting<F>(lookup: &F, key: &str) -> Option<String>
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    lookup(key)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The first of `keys` that is set (`OPENAI_SMALL_MODEL ?? SMALL_MODEL`).
pub fn first_setting<F>(lookup: &F, keys: &[&str]) -> Option<String>
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    first_setting_named(lookup, keys).map(|(_, value)| value)
}

/// [`first_setting`] with the key that gave the value, for error messages about it.
pub fn first_setting_named<'k, F>(lookup: &F, keys: &[&'k str]) -> Option<(&'k str, String)>
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    keys.iter()
        .find_map(|key| read_setting(lookup, key).map(|value| (*key, value)))
}

/// An embedding size setting: one of [`SUPPORTED_EMBEDDING_DIMENSIONS`], or a configuration
/// error naming `key`.
pub fn parse_embedding_dimensions(key: &str, value: &str) -> Result<usize, ModelError> {
    value
        .parse::<usize>()
        .ok()
        .filter(|d| SUPPORTED_EMBEDDING_DIMENSIONS.contains(d))
        .ok_or_else(|| {
            ModelError::Config(format!(
                "{key} \"{value}\" must be one of {SUPPORTED_EMBEDDING_DIMENSIONS:?}"
            ))
        })
}

/// 1.7.2 `parseBooleanFromText`: `YES`, `Y`, `TRUE`, `T`, `1`, `ON` and `ENABLE` (any case,
/// trimmed) are true; anything else, including nothing, is false.
pub fn parse_boolean_from_text(value: Option<&str>) -> bool {
    value.is_some_and(|value| {
        matches!(
            value.trim().to_ascii_uppercase().as_str(),
            "YES" | "Y" | "TRUE" | "T" | "1" | "ON" | "ENABLE"
        )
    })
}

/// A numeric parameter that 1.7.2 layers from settings, with its legacy key if it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayeredParam {
    MaxTokens,
    Temperature,
    TopP,
    TopK,
    MinP,
    Seed,
    RepetitionPenalty,
    FrequencyPenalty,
    PresencePenalty,
}

impl LayeredParam {
    /// The suffix of `<MODEL>_X` and `DEFAULT_X`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::MaxTokens => "MAX_TOKENS",
            Self::Temperature => "TEMPERATURE",
            Self::TopP => "TOP_P",
            Self::TopK => "TOP_K",
            Self::MinP => "MIN_P",
            Self::Seed => "SEED",
            Self::RepetitionPenalty => "REPETITION_PENALTY",
            Self::FrequencyPenalty => "FREQUENCY_PENALTY",
            Self::PresencePenalty => "PRESENCE_PENALTY",
        }
    }

    /// The pre-1.x key still honoured as the last fallback (note the irregular names).
    pub const fn legacy_key(self) -> Option<&'static str> {
        match self {
            Self::MaxTokens => Some("MODEL_MAX_TOKEN"),
            Self::Temperature => Some("MODEL_TEMPERATURE"),
            Self::FrequencyPenalty => Some("MODEL_FREQ_PENALTY"),
            Self::PresencePenalty => Some("MODEL_PRESENCE_PENALTY"),
            _ => None,
        }
    }
}

/// Resolves one parameter: `<MODEL>_X`, then `DEFAULT_X`, then the legacy key. As in 1.7.2, a
/// value that is not a number is skipped and the next layer is tried. Unlike JavaScript's
/// `Number()`, blank strings are "unset" rather than 0, and infinities are rejected.
pub fn layered_value<F>(lookup: &F, model_type: ModelType, param: LayeredParam) -> Option<f64>
where
    F: Fn(&str) -> Option<String> + ?Sized,
{
    let model_key = format!("{}_{}", model_type.as_str(), param.suffix());
    let default_key = format!("DEFAULT_{}", param.suffix());
    [
        Some(model_key.as_str()),
        Some(default_key.as_str()),
        param.legacy_key(),
    ]
    .into_iter()
    .flatten()
    .find_map(|key| parse_number(&read_setting(lookup, key)?))
}

fn parse_number(value: &str) -> Option<f64> {
    value.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn to_u32(value: f64) -> Option<u32> {
    (value >= 0.0 && value <= f64::from(u32::MAX)).then(|| value.round() as u32)
}

fn to_i64(value: f64) -> Option<i64> {
    // i64::MAX is not exactly representable; the bound keeps the cast from saturating silently.
    (value.abs() < 9.0e18).then(|| value.round() as i64)
}

impl TextRequest {
    /// Fills every parameter the caller left unset from the layered settings of `model_type`
    /// (1.7.2 `useModel`: `{...modelSettings, ...params}`, so explicit values win).
    pub fn apply_settings<F>(&mut self, model_type: ModelType, lookup: &F)
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let get = |param| layered_value(lookup, model_type, param);
        fill(&mut self.max_tokens, || {
            get(LayeredParam::MaxTokens).and_then(to_u32)
        });
        fill(&mut self.temperature, || get(LayeredParam::Temperature));
        fill(&mut self.top_p, || get(LayeredParam::TopP));
        fill(&mut self.top_k, || get(LayeredParam::TopK).and_then(to_u32));
        fill(&mut self.min_p, || get(LayeredParam::MinP));
        fill(&mut self.seed, || get(LayeredParam::Seed).and_then(to_i64));
        fill(&mut self.repetition_penalty, || {
            get(LayeredParam::RepetitionPenalty)
        });
        fill(&mut self.frequency_penalty, || {
            get(LayeredParam::FrequencyPenalty)
        });
        fill(&mut self.presence_penalty, || {
            get(LayeredParam::PresencePenalty)
        });
    }

    /// [`TextRequest::apply_settings`] by value, for call chains.
    pub fn with_settings<F>(mut self, model_type: ModelType, lookup: &F) -> Self
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        self.apply_settings(model_type, lookup);
        self
    }
}

fn fill<T>(slot: &mut Option<T>, value: impl FnOnce() -> Option<T>) {
    if slot.is_none() {
        *slot = value();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn model_specific_beats_default_beats_legacy() {
        let l = lookup(&[
            ("TEXT_SMALL_TEMPERATURE", "0.1"),
            ("DEFAULT_TEMPERATURE", "0.2"),
            ("MODEL_TEMPERATURE", "0.3"),
        ]);
        let r = TextRequest::new("hi").with_settings(ModelType::TextSmall, &l);
        assert_eq!(r.temperature, Some(0.1));
        // Another model type does not see TEXT_SMALL_*: the default applies.
        let r = TextRequest::new("hi").with_settings(ModelType::TextLarge, &l);
        assert_eq!(r.temperature, Some(0.2));
    }

    #[test]
    fn legacy_keys_are_the_last_fallback_with_their_irregular_names() {
        let l = lookup(&[
            ("MODEL_MAX_TOKEN", "4096"),
            ("MODEL_TEMPERATURE", "0.5"),
            ("MODEL_FREQ_PENALTY", "0.8"),
            ("MODEL_PRESENCE_PENALTY", "0.9"),
            // No legacy key exists for these, so they stay unset.
            ("MODEL_TOP_P", "0.4"),
        ]);
        let r = TextRequest::new("hi").with_settings(ModelType::TextLarge, &l);
        assert_eq!(r.max_tokens, Some(4096));
        assert_eq!(r.temperature, Some(0.5));
        assert_eq!(r.frequency_penalty, Some(0.8));
        assert_eq!(r.presence_penalty, Some(0.9));
        assert_eq!(r.top_p, None);
    }

    #[test]
    fn explicit_request_values_win() {
        let l = lookup(&[("TEXT_LARGE_MAX_TOKENS", "100"), ("DEFAULT_TOP_P", "0.9")]);
        let mut r = TextRequest::new("hi");
        r.max_tokens = Some(7);
        r.apply_settings(ModelType::TextLarge, &l);
        assert_eq!(r.max_tokens, Some(7));
        assert_eq!(r.top_p, Some(0.9));
    }

    #[test]
    fn non_numeric_values_fall_through_to_the_next_layer() {
        let l = lookup(&[
            ("TEXT_SMALL_TEMPERATURE", "warm"),
            ("DEFAULT_TEMPERATURE", ""),
            ("MODEL_TEMPERATURE", "0.6"),
            ("DEFAULT_SEED", "Infinity"),
        ]);
        let r = TextRequest::new("hi").with_settings(ModelType::TextSmall, &l);
        assert_eq!(r.temperature, Some(0.6));
        assert_eq!(r.seed, None);
    }

    #[test]
    fn every_parameter_is_layered() {
        let l = lookup(&[
            ("DEFAULT_MAX_TOKENS", "10"),
            ("DEFAULT_TEMPERATURE", "0.1"),
            ("DEFAULT_TOP_P", "0.2"),
            ("DEFAULT_TOP_K", "30"),
            ("DEFAULT_MIN_P", "0.05"),
            ("DEFAULT_SEED", "42"),
            ("DEFAULT_REPETITION_PENALTY", "1.1"),
            ("DEFAULT_FREQUENCY_PENALTY", "0.3"),
            ("DEFAULT_PRESENCE_PENALTY", "0.4"),
        ]);
        let r = TextRequest::new("hi").with_settings(ModelType::ReasoningLarge, &l);
        assert_eq!(r.max_tokens, Some(10));
        assert_eq!(r.temperature, Some(0.1));
        assert_eq!(r.top_p, Some(0.2));
        assert_eq!(r.top_k, Some(30));
        assert_eq!(r.min_p, Some(0.05));
        assert_eq!(r.seed, Some(42));
        assert_eq!(r.repetition_penalty, Some(1.1));
        assert_eq!(r.frequency_penalty, Some(0.3));
        assert_eq!(r.presence_penalty, Some(0.4));
    }

    #[test]
    fn negative_counts_are_ignored() {
        let l = lookup(&[("DEFAULT_MAX_TOKENS", "-5"), ("DEFAULT_TOP_K", "3.6")]);
        let r = TextRequest::new("hi").with_settings(ModelType::TextSmall, &l);
        assert_eq!(r.max_tokens, None);
        assert_eq!(r.top_k, Some(4));
    }

    #[test]
    fn booleans() {
        for yes in ["YES", "y", " true ", "T", "1", "on", "Enable"] {
            assert!(parse_boolean_from_text(Some(yes)), "{yes}");
        }
        for no in ["", "no", "false", "0", "enabled", "2", "off"] {
            assert!(!parse_boolean_from_text(Some(no)), "{no}");
        }
        assert!(!parse_boolean_from_text(None));
    }

    #[test]
    fn blank_settings_are_unset_and_first_setting_takes_the_first_present() {
        let l = lookup(&[("A", "  "), ("B", " b "), ("C", "c")]);
        assert_eq!(read_setting(&l, "A"), None);
        assert_eq!(first_setting(&l, &["A", "B", "C"]).as_deref(), Some("b"));
        assert_eq!(first_setting(&l, &["X"]), None);
        assert_eq!(
            first_setting_named(&l, &["A", "C"]),
            Some(("C", "c".to_owned()))
        );
    }

    #[test]
    fn embedding_dimensions_must_have_a_store_column() {
        assert_eq!(parse_embedding_dimensions("K", "768"), Ok(768));
        for bad in ["1000", "-1", "many"] {
            assert!(
                matches!(parse_embedding_dimensions("K", bad), Err(ModelError::Config(m)) if m.starts_with("K \"") && m.contains("must be one of")),
                "{bad}"
            );
        }
    }
}
