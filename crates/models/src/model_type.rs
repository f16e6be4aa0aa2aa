//! The elizaOS 1.7.2 model types (`ModelType` in core/src/types/model.ts).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A kind of model call. The string form is the 1.7.2 constant value (`TEXT_SMALL`, …), which is
/// also the prefix of the per-model settings (`TEXT_SMALL_TEMPERATURE`) and the suffix of the
/// `useModel:<TYPE>` log type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ModelType {
    TextSmall,
    TextLarge,
    TextEmbedding,
    TextTokenizerEncode,
    TextTokenizerDecode,
    ReasoningSmall,
    ReasoningLarge,
    TextCompletion,
    Image,
    ImageDescription,
    Transcription,
    TextToSpeech,
    Audio,
    Video,
    ObjectSmall,
    ObjectLarge,
}

impl ModelType {
    /// Every model type, in the order of the 1.7.2 declaration.
    pub const ALL: [ModelType; 16] = [
        Self::TextSmall,
        Self::TextLarge,
        Self::TextEmbedding,
        Self::TextTokenizerEncode,
        Self::TextTokenizerDecode,
        Self::ReasoningSmall,
        Self::ReasoningLarge,
        Self::TextCompletion,
        Self::Image,
        Self::ImageDescription,
        Self::Transcription,
        Self::TextToSpeech,
        Self::Audio,
        Self::Video,
        Self::ObjectSmall,
        Self::ObjectLarge,
    ];

    /// The 1.7.2 string value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TextSmall => "TEXT_SMALL",
            Self::TextLarge => "TEXT_LARGE",
            Self::TextEmbedding => "TEXT_EMBEDDING",
            Self::TextTokenizerEncode => "TEXT_TOKENIZER_ENCODE",
            Self::TextTokenizerDecode => "TEXT_TOKENIZER_DECODE",
            Self::ReasoningSmall => "REASONING_SMALL",
            Self::ReasoningLarge => "REASONING_LARGE",
            Self::TextCompletion => "TEXT_COMPLETION",
            Self::Image => "IMAGE",
            Self::ImageDescription => "IMAGE_DESCRIPTION",
            Self::Transcription => "TRANSCRIPTION",
            Self::TextToSpeech => "TEXT_TO_SPEECH",
            Self::Audio => "AUDIO",
            Self::Video => "VIDEO",
            Self::ObjectSmall => "OBJECT_SMALL",
            Self::ObjectLarge => "OBJECT_LARGE",
        }
    }

    /// Model types whose result is generated text (the `GenerateTextParams` family in 1.7.2).
    pub const fn is_text_generation(self) -> bool {
        matches!(
            self,
            Self::TextSmall
                | Self::TextLarge
                | Self::ReasoningSmall
                | Self::ReasoningLarge
                | Self::TextCompletion
        )
    }

    /// Parses a 1.7.2 value, accepting the legacy aliases `SMALL` (→ `TEXT_SMALL`) and `MEDIUM` /
    /// `LARGE` (→ `TEXT_LARGE`) that older characters and plugins still use. Exact match only, as
    /// in 1.7.2 (the constants are upper case).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "SMALL" => Some(Self::TextSmall),
            "MEDIUM" | "LARGE" => Some(Self::TextLarge),
            other => Self::ALL.into_iter().find(|t| t.as_str() == other),
        }
    }
}

impl fmt::Display for ModelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown model type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model type \"{0}\"")]
pub struct UnknownModelType(pub String);

impl FromStr for ModelType {
    type Err = UnknownModelType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownModelType(s.to_owned()))
    }
}

impl TryFrom<String> for ModelType {
    type Error = UnknownModelType;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ModelType> for String {
    fn from(value: ModelType) -> Self {
        value.as_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_string() {
        for t in ModelType::ALL {
            assert_eq!(ModelType::parse(t.as_str()), Some(t));
            assert_eq!(t.to_string().parse::<ModelType>(), Ok(t));
        }
    }

    #[test]
    fn legacy_aliases_map_to_text_models() {
        assert_eq!(ModelType::parse("SMALL"), Some(ModelType::TextSmall));
        assert_eq!(ModelType::parse("MEDIUM"), Some(ModelType::TextLarge));
        assert_eq!(ModelType::parse("LARGE"), Some(ModelType::TextLarge));
    }

    #[test]
    fn unknown_and_lower_case_names_are_rejected() {
        assert_eq!(ModelType::parse("text_small"), None);
        assert_eq!(
            "NOPE".parse::<ModelType>(),
            Err(UnknownModelType("NOPE".into()))
        );
    }

    #[test]
    fn serde_uses_the_string_value_and_accepts_aliases() {
        let json = serde_json::to_string(&ModelType::TextEmbedding).ok();
        assert_eq!(json.as_deref(), Some("\"TEXT_EMBEDDING\""));
        let parsed: Result<ModelType, _> = serde_json::from_str("\"LARGE\"");
        assert_eq!(parsed.ok(), Some(ModelType::TextLarge));
        assert!(serde_json::from_str::<ModelType>("\"BOGUS\"").is_err());
    }
}
