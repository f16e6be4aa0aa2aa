//! Text to speech: `POST /api/audio/{agentId}/speech/generate`, `/audio-messages/synthesize`
//! and seed 001's `POST /api/audio/generate`, and the audio answer every speaking route shares.
//!
//! The answer is the audio itself, its `Content-Type` sniffed as 1.7.2 does (`RIFF…WAVE` is
//! `audio/wav`; other recognised audio by its signature; else the provider's label, else
//! `audio/mpeg`). A client whose `Accept` names JSON and no audio type gets
//! `{audio: <base64>, format, contentType}` in the success envelope instead, the shape the
//! api-client's `synthesizeAudioMessage` and `speechConversation` read. Requests only the
//! api-client sends (and 1.7.2 refused) get that JSON by default: a synthesis of a `messageId`
//! with no `text`.

use super::{model_failure, require_model, running_agent};
use crate::body::JsonBody;
use crate::error::{ApiError, ApiResult, ok};
use crate::openapi::schemas::{Binary, ErrorBody, Success};
use crate::state::AppState;
use crate::upload::Format;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use eliza_domain::ids::validate_uuid;
use eliza_domain::{MemoryId, MessageId};
use eliza_models::{ModelType, SpeechAudio, SpeechRequest};
use eliza_runtime::AgentRuntime;
use eliza_runtime::turn::agent_copy_of;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `{text}`, plus optional voice settings (1.7.2 ignored them; they are passed to the model).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub struct SpeechBody {
    text: String,
    /// The provider's voice name (OpenAI: `alloy`, `nova`, …); default `OPENAI_TTS_VOICE`.
    voice: Option<String>,
    /// `mp3` (default), `wav`, `opus` (or `ogg`), `aac`, `flac`, `pcm`.
    format: Option<String>,
    /// 0.25 to 4.
    speed: Option<f64>,
}

/// `{text}` as in 1.7.2, or the api-client's `{messageId, voice, format}`: the text of that
/// message (the agent's memory, or a channel message) is spoken.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct SynthesizeBody {
    text: Option<String>,
    message_id: Option<String>,
    voice: Option<String>,
    format: Option<String>,
    speed: Option<f64>,
}

/// Seed 001's body: the text and the agent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct SeedSpeechBody {
    text: String,
    agent_id: String,
    voice: Option<String>,
    format: Option<String>,
    speed: Option<f64>,
}

/// Speech as JSON (when `Accept` asks for it).
#[derive(Debug, Serialize, ToSchema)]
pub struct SpokenAudio {
    /// The audio, base64.
    pub audio: String,
    /// The audio subtype (`mpeg`, `wav`, …).
    pub format: String,
    #[serde(rename = "contentType")]
    pub content_type: String,
}

/// Voice settings of a synthesis.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct VoiceOptions {
    pub voice: Option<String>,
    pub format: Option<String>,
    pub speed: Option<f64>,
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("INVALID_REQUEST", message)
}

impl VoiceOptions {
    /// `voice`, `format` and `speed` of a JSON body (or form fields as strings).
    pub(super) fn read(fields: &Map<String, Value>) -> Result<Self, ApiError> {
        let text = |key: &str| match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(_) => Err(bad_request(format!("'{key}' must be a string"))),
        };
        let format = text("format")?
            .map(|format| speech_format(&format))
            .transpose()?;
        let speed = match fields.get("speed") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            // Form fields are strings; anything unreadable is refused below.
            Some(Value::String(s)) => Some(s.trim().parse::<f64>().unwrap_or(f64::NAN)),
            Some(_) => Some(f64::NAN),
        };
        if speed.is_some_and(|speed| !(0.25..=4.0).contains(&speed)) {
            return Err(bad_request("'speed' must be a number from 0.25 to 4"));
        }
        Ok(VoiceOptions {
            voice: text("voice")?,
            format,
            speed,
        })
    }
}

/// The provider format for a requested one (`ogg` is Opus in Ogg, `mpeg` is MP3).
fn speech_format(format: &str) -> Result<String, ApiError> {
    let format = format.to_ascii_lowercase();
    match format.as_str() {
        "mp3" | "wav" | "opus" | "aac" | "flac" | "pcm" => Ok(format),
        "mpeg" => Ok("mp3".to_owned()),
        "ogg" => Ok("opus".to_owned()),
        _ => Err(bad_request(format!(
            "Unsupported audio format '{format}': use mp3, wav, opus (ogg), aac, flac or pcm"
        ))),
    }
}

/// A required non-blank `text`.
fn required_text(fields: &Map<String, Value>, message: &str) -> Result<String, ApiError> {
    fields
        .get("text")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| bad_request(message))
}

const TEXT_REQUIRED: &str = "Text is required for speech synthesis";

/// Speech for `text` by the agent's TEXT_TO_SPEECH model.
pub(super) async fn speak(
    runtime: &AgentRuntime,
    text: String,
    options: VoiceOptions,
) -> Result<SpeechAudio, ApiError> {
    let request = SpeechRequest {
        voice: options.voice,
        speed: options.speed,
        format: options.format,
        ..SpeechRequest::new(text)
    };
    runtime
        .speak(request)
        .await
        .map_err(|err| model_failure(err, "PROCESSING_ERROR", "Error generating speech"))
}

/// How a speaking route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Binary,
    Json,
}

impl Answer {
    /// JSON when `Accept` names JSON and no audio type, binary when it names audio, else
    /// `default`.
    pub(super) fn for_request(req: &HttpRequest, default: Answer) -> Answer {
        let accept = req
            .headers()
            .get_all(header::ACCEPT)
            .filter_map(|value| value.to_str().ok())
            .collect::<Vec<_>>()
            .join(",")
            .to_ascii_lowercase();
        if accept.contains("audio/") {
            Answer::Binary
        } else if accept.contains("application/json") {
            Answer::Json
        } else {
            default
        }
    }
}

/// The audio, binary or as JSON (with `extra` fields).
pub(super) fn audio_answer(
    audio: SpeechAudio,
    answer: Answer,
    extra: Map<String, Value>,
) -> HttpResponse {
    let content_type = audio_content_type(&audio);
    match answer {
        Answer::Binary => {
            let length = audio.bytes.len();
            HttpResponse::Ok()
                .content_type(content_type)
                .insert_header((header::CONTENT_LENGTH, HeaderValue::from(length)))
                .body(audio.bytes)
        }
        Answer::Json => {
            let mut data = extra;
            let format = content_type.split('/').nth(1).unwrap_or("mpeg");
            data.insert("format".into(), Value::from(format));
            data.insert("contentType".into(), Value::from(content_type));
            let encoded = base64::engine::general_purpose::STANDARD.encode(&audio.bytes);
            data.insert("audio".into(), Value::from(encoded));
            ok(Value::Object(data))
        }
    }
}

/// The audio's type from its first bytes, else the provider's label when it names audio, else
/// MP3 (1.7.2's fallback).
pub(super) fn audio_content_type(audio: &SpeechAudio) -> String {
    let sniffed = match Format::sniff(&audio.bytes) {
        Some(Format::Wav) => Some("audio/wav"),
        Some(Format::Mp3) => Some("audio/mpeg"),
        Some(Format::Ogg) => Some("audio/ogg"),
        Some(Format::Flac) => Some("audio/flac"),
        Some(Format::Aac) => Some("audio/aac"),
        Some(Format::Mp4) => Some("audio/mp4"),
        Some(Format::Webm) => Some("audio/webm"),
        _ => None,
    };
    let labelled = crate::upload::essence(&audio.content_type);
    match sniffed {
        Some(mime) => mime.to_owned(),
        None if labelled.starts_with("audio/") => labelled,
        None => "audio/mpeg".to_owned(),
    }
}

/// Speaks `text` for a path agent: checks, synthesis, answer.
/// Speaks `text` and answers as `Accept` asks, else as `default`.
async fn speak_for(
    req: &HttpRequest,
    runtime: &AgentRuntime,
    text: String,
    options: VoiceOptions,
    default: Answer,
) -> ApiResult {
    let audio = speak(runtime, text, options).await?;
    Ok(audio_answer(
        audio,
        Answer::for_request(req, default),
        Map::new(),
    ))
}

#[utoipa::path(post, path = "/api/audio/{agentId}/speech/generate", tag = "audio",
    summary = "Speak a text",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content = SpeechBody),
    responses(
        (status = 200, description = "The audio (`Content-Type` sniffed), or JSON when `Accept` asks for it", content(
            (Binary = "audio/mpeg"),
            (Success<SpokenAudio> = "application/json"),
        )),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST` (no text, bad format or speed); malformed JSON", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`: the model failed", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`: no TEXT_TO_SPEECH model", body = ErrorBody),
    ))]
pub(super) async fn generate(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let runtime = running_agent(&state, &path)?;
    let fields = body.object()?;
    let text = required_text(fields, TEXT_REQUIRED)?;
    let options = VoiceOptions::read(fields)?;
    require_model(&runtime, ModelType::TextToSpeech)?;
    speak_for(&req, &runtime, text, options, Answer::Binary).await
}

#[utoipa::path(post, path = "/api/audio/{agentId}/audio-messages/synthesize", tag = "audio",
    summary = "Speak a text or a stored message",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content = SynthesizeBody),
    responses(
        (status = 200, description = "The audio for a `text`, JSON for a `messageId` alone (the api-client's request); `Accept` overrides either", content(
            (Binary = "audio/mpeg"),
            (Success<SpokenAudio> = "application/json"),
        )),
        (status = 400, description = "`INVALID_ID` (agent or message); `INVALID_REQUEST` (no text nor messageId, bad format or speed)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: the agent does not run, or no such message", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`", body = ErrorBody),
    ))]
pub(super) async fn synthesize(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: JsonBody,
) -> ApiResult {
    let runtime = running_agent(&state, &path)?;
    let fields = body.object()?;
    let options = VoiceOptions::read(fields)?;
    // A non-blank `text` wins; otherwise the api-client's `messageId` names what to speak.
    let message = fields.get("messageId").and_then(Value::as_str);
    let (text, default) = match (required_text(fields, TEXT_REQUIRED), message) {
        (Ok(text), _) => (text, Answer::Binary),
        (Err(_), Some(message)) => (message_text(&state, &runtime, message).await?, Answer::Json),
        (Err(_), None) => {
            return Err(bad_request(
                "Text (or the messageId of a stored message) is required for speech synthesis",
            ));
        }
    };
    require_model(&runtime, ModelType::TextToSpeech)?;
    speak_for(&req, &runtime, text, options, default).await
}

/// The text of a message: the agent's memory with that id, the agent's copy of the channel
/// message with that id, or the channel message itself.
async fn message_text(
    state: &AppState,
    runtime: &AgentRuntime,
    id: &str,
) -> Result<String, ApiError> {
    let id = validate_uuid(id.trim())
        .ok_or_else(|| ApiError::invalid_id("Invalid message ID format"))?;
    let lookup = |err| ApiError::from_store(err, "DB_ERROR", "Failed to look up the message");
    let agent = runtime.id;
    let mut text = None;
    for memory in [MemoryId(id), agent_copy_of(agent, MessageId(id))] {
        if let Some(memory) = state.store.get_memory(memory).await.map_err(lookup)?
            && memory.agent_id == agent
        {
            text = Some(
                memory.content["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            break;
        }
    }
    if text.is_none() {
        text = state
            .store
            .get_message(MessageId(id))
            .await
            .map_err(lookup)?
            .map(|message| message.content);
    }
    let text = text.ok_or_else(|| ApiError::not_found("Message not found"))?;
    if text.trim().is_empty() {
        return Err(bad_request("The message has no text to speak"));
    }
    Ok(text)
}

#[utoipa::path(post, path = "/api/audio/generate", tag = "audio",
    summary = "Speak a text (seed 001)",
    request_body(content = SeedSpeechBody),
    responses(
        (status = 200, description = "The audio, or JSON when `Accept` asks for it", content(
            (Binary = "audio/mpeg"),
            (Success<SpokenAudio> = "application/json"),
        )),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST` (no agentId, no text)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`", body = ErrorBody),
    ))]
pub(super) async fn generate_seed(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: JsonBody,
) -> ApiResult {
    let fields = body.object()?;
    let agent = fields
        .get("agentId")
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("agentId is required"))?;
    let runtime = running_agent(&state, agent)?;
    let text = required_text(fields, TEXT_REQUIRED)?;
    let options = VoiceOptions::read(fields)?;
    require_model(&runtime, ModelType::TextToSpeech)?;
    speak_for(&req, &runtime, text, options, Answer::Binary).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde_json::json;

    fn audio(bytes: &[u8], label: &str) -> SpeechAudio {
        SpeechAudio {
            bytes: bytes.to_vec(),
            content_type: label.to_owned(),
        }
    }

    #[test]
    fn the_content_type_is_sniffed_then_labelled_then_mpeg() {
        assert_eq!(
            audio_content_type(&audio(b"RIFF\x24\0\0\0WAVEfmt ", "audio/mpeg")),
            "audio/wav"
        );
        assert_eq!(
            audio_content_type(&audio(b"ID3\x04\0\0\0\0\0", "")),
            "audio/mpeg"
        );
        assert_eq!(audio_content_type(&audio(b"OggS\0\x02", "")), "audio/ogg");
        assert_eq!(
            audio_content_type(&audio(b"fake opus audio", "audio/opus")),
            "audio/opus"
        );
        assert_eq!(
            audio_content_type(&audio(b"???", "application/octet-stream")),
            "audio/mpeg"
        );
    }

    #[test]
    fn voice_options_are_checked() {
        let read = |value: Value| VoiceOptions::read(value.as_object().unwrap());
        assert_eq!(read(json!({})).unwrap(), VoiceOptions::default());
        assert_eq!(
            read(json!({"voice": "nova", "format": "OGG", "speed": 1.5})).unwrap(),
            VoiceOptions {
                voice: Some("nova".into()),
                format: Some("opus".into()),
                speed: Some(1.5)
            }
        );
        assert_eq!(read(json!({"speed": "2"})).unwrap().speed, Some(2.0));
        for bad in [
            json!({"format": "midi"}),
            json!({"speed": 9}),
            json!({"speed": "fast"}),
            json!({"speed": true}),
            json!({"voice": 3}),
        ] {
            let err = read(bad.clone()).unwrap_err();
            assert_eq!(
                (err.status.as_u16(), err.code.as_str()),
                (400, "INVALID_REQUEST"),
                "{bad}"
            );
        }
    }

    #[test]
    fn accept_chooses_between_binary_and_json() {
        let answer = |accept: Option<&str>, default| {
            let mut req = TestRequest::default();
            if let Some(accept) = accept {
                req = req.insert_header((header::ACCEPT, accept));
            }
            Answer::for_request(&req.to_http_request(), default)
        };
        assert_eq!(answer(None, Answer::Binary), Answer::Binary);
        assert_eq!(answer(None, Answer::Json), Answer::Json);
        assert_eq!(
            answer(Some("application/json"), Answer::Binary),
            Answer::Json
        );
        assert_eq!(
            answer(Some("audio/*, application/json;q=0.5"), Answer::Json),
            Answer::Binary
        );
        assert_eq!(answer(Some("*/*"), Answer::Binary), Answer::Binary);
    }
}
