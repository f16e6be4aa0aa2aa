//! Spoken conversation: `POST /api/audio/{agentId}/speech/conversation` and
//! `POST /api/audio/{agentId}/speech`.
//!
//! Both take 1.7.2's JSON body (`{text, roomId?, entityId?, worldId?, userName?}`) or the
//! api-client's multipart form (a `text` field, or an audio `file` that is transcribed first).
//! The agent's reply comes from [`eliza_runtime::voice`] (its TEXT_LARGE model, its character,
//! the room's recent dialogue); the user's words and the reply are stored as memories of the
//! agent's room (the caller's `roomId`, else one voice room per user), then the reply is spoken.
//!
//! `speech/conversation` answers a JSON request with the audio, as 1.7.2 does, and the
//! api-client's multipart form (which 1.7.2 answered 500) with the JSON its `speechConversation`
//! parses. `/speech`, which 1.7.2 lacks
//! although the api-client's `processSpeech` calls it, is the same conversation answered as
//! JSON by default (`{text, transcription?, audio, format, …}`, the `SpeechResponse` that
//! `processSpeech` parses); `Accept` switches either route to the other form.

use super::speech::{Answer, SpokenAudio, VoiceOptions, audio_answer, speak};
use super::transcription::{audio_form, transcribe_file};
use super::{model_failure, require_model, running_agent};
use crate::body::read_json;
use crate::error::{ApiError, ApiResult};
use crate::openapi::schemas::{Binary, ErrorBody, Success};
use crate::state::AppState;
use crate::upload::{AUDIO_TYPES, FilePolicy, Form};
use actix_web::http::header;
use actix_web::{HttpRequest, web};
use eliza_domain::{EntityId, RoomId, WorldId};
use eliza_models::ModelType;
use eliza_runtime::AgentRuntime;
use eliza_runtime::voice::{self, Utterance};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

const NO_INPUT: &str = "Text (or an audio file) is required for conversation";

const POLICY: FilePolicy = FilePolicy {
    fields: &["file", "audio"],
    allowed: AUDIO_TYPES,
    missing: NO_INPUT,
    type_code: "INVALID_FILE_TYPE",
};

/// 1.7.2's JSON body.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct ConversationBody {
    text: String,
    /// The agent's room to talk in; default: one voice room per user and agent.
    room_id: Option<String>,
    /// Who speaks; default: one anonymous voice user per agent.
    entity_id: Option<String>,
    /// The world of a room created here; default: the agent's own.
    world_id: Option<String>,
    /// The speaker's name (also `name`).
    user_name: Option<String>,
    voice: Option<String>,
    /// The reply's audio format (`mp3`, `wav`, `opus`, …).
    format: Option<String>,
    speed: Option<f64>,
}

/// The api-client's form: `file` (audio, transcribed first) or `text`; `format` and
/// `language` describe the uploaded audio; `metadata` is ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct ConversationForm {
    #[schema(value_type = Option<String>, format = Binary)]
    file: Option<Vec<u8>>,
    text: Option<String>,
    language: Option<String>,
    format: Option<String>,
    room_id: Option<String>,
    entity_id: Option<String>,
    user_name: Option<String>,
    metadata: Option<String>,
}

/// The conversation as JSON (`Accept: application/json`, or `/speech` by default).
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpokenReply {
    /// The agent's reply.
    pub text: String,
    /// What was heard, when the input was audio.
    pub transcription: Option<String>,
    pub room_id: String,
    /// The memory of the user's words.
    pub message_id: String,
    /// The memory of the reply.
    pub reply_id: String,
    #[serde(flatten)]
    pub audio: SpokenAudio,
}

#[utoipa::path(post, path = "/api/audio/{agentId}/speech/conversation", tag = "audio",
    summary = "Talk with an agent: its spoken reply",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content(
        (ConversationBody = "application/json"),
        (ConversationForm = "multipart/form-data"),
    )),
    responses(
        (status = 200, description = "The reply's audio for a JSON request, JSON for the api-client's form; `Accept` overrides either", content(
            (Binary = "audio/mpeg"),
            (Success<SpokenReply> = "application/json"),
        )),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST` (no text nor audio, bad voice options)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`INVALID_FILE_TYPE`", body = ErrorBody),
        (status = 502, description = "`MODEL_ERROR` (no reply) or `PROCESSING_ERROR` (transcription, speech)", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`: no TEXT_LARGE, TEXT_TO_SPEECH (or, for audio, TRANSCRIPTION) model", body = ErrorBody),
    ))]
pub(super) async fn speech_conversation(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    converse(req, payload, &state, &path, Answer::Binary).await
}

#[utoipa::path(post, path = "/api/audio/{agentId}/speech", tag = "audio",
    summary = "Talk with an agent: its reply as text and audio (api-client processSpeech)",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content(
        (ConversationForm = "multipart/form-data"),
        (ConversationBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The reply as JSON, or its audio when `Accept` asks for audio", content(
            (Success<SpokenReply> = "application/json"),
            (Binary = "audio/mpeg"),
        )),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`INVALID_FILE_TYPE`", body = ErrorBody),
        (status = 502, description = "`MODEL_ERROR` or `PROCESSING_ERROR`", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`", body = ErrorBody),
    ))]
pub(super) async fn speech(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    converse(req, payload, &state, &path, Answer::Json).await
}

/// The request: its fields (JSON values, or form fields as strings) and, for a form, the form
/// with its file.
struct Input {
    fields: Map<String, Value>,
    form: Option<Form>,
}

async fn converse(
    req: HttpRequest,
    payload: web::Payload,
    state: &AppState,
    agent: &str,
    default: Answer,
) -> ApiResult {
    let runtime = running_agent(state, agent)?;
    require_model(&runtime, ModelType::TextLarge)?;
    require_model(&runtime, ModelType::TextToSpeech)?;
    let input = read_input(&req, payload, state).await?;
    // 1.7.2 only ever answered JSON requests, with audio; a form comes from the api-client,
    // which parses JSON.
    let default = if input.form.is_some() {
        Answer::Json
    } else {
        default
    };
    let options = VoiceOptions::read(&input.fields)?;
    let mut utterance = utterance(state, &runtime, &input.fields).await?;
    let (heard, transcribed) = heard(&runtime, input).await?;
    utterance.text = heard;
    let reply = voice::answer(&runtime, &utterance)
        .await
        .map_err(|err| model_failure(err, "MODEL_ERROR", "No response from model"))?;
    let audio = speak(&runtime, reply.text.clone(), options).await?;
    let extra = json!({
        "text": reply.text,
        "transcription": transcribed.then_some(&utterance.text),
        "roomId": reply.room,
        "messageId": reply.message,
        "replyId": reply.reply,
    });
    let extra = match extra {
        Value::Object(mut extra) => {
            extra.retain(|_, value| !value.is_null());
            extra
        }
        _ => Map::new(),
    };
    Ok(audio_answer(
        audio,
        Answer::for_request(&req, default),
        extra,
    ))
}

fn is_multipart(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        })
}

async fn read_input(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Input, ApiError> {
    if !is_multipart(req) {
        let body = read_json(payload, state.config.max_json_bytes).await?;
        let fields = body.object()?.clone();
        return Ok(Input { fields, form: None });
    }
    let form = audio_form(req, payload, state, &POLICY).await?;
    let fields = form
        .fields
        .iter()
        // The form's `format` describes the uploaded audio, not the reply.
        .filter(|(name, _)| name.as_str() != "format")
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    Ok(Input {
        fields,
        form: Some(form),
    })
}

/// The user's words: `text`, else the transcript of the uploaded audio. Returns whether they
/// were transcribed.
async fn heard(runtime: &AgentRuntime, input: Input) -> Result<(String, bool), ApiError> {
    let text = input
        .fields
        .get("text")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty());
    if let Some(text) = text {
        return Ok((text.to_owned(), false));
    }
    let Some(mut form) = input.form.filter(|form| form.file.is_some()) else {
        return Err(ApiError::bad_request("INVALID_REQUEST", NO_INPUT));
    };
    require_model(runtime, ModelType::Transcription)?;
    let text = transcribe_file(runtime, &mut form, &POLICY).await?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "INVALID_REQUEST",
            "No speech was recognised in the audio",
        ));
    }
    Ok((text, true))
}

/// Who speaks where (text filled in later), from the optional ids and name.
async fn utterance(
    state: &AppState,
    runtime: &AgentRuntime,
    fields: &Map<String, Value>,
) -> Result<Utterance, ApiError> {
    let id = |key: &str, what: &str| -> Result<Option<uuid::Uuid>, ApiError> {
        match fields.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_str()
                .and_then(|text| eliza_domain::validate_uuid(text.trim()))
                .map(Some)
                .ok_or_else(|| ApiError::invalid_id(format!("Invalid {what} ID format"))),
        }
    };
    let mut utterance = Utterance::new(
        runtime,
        String::new(),
        id("entityId", "entity")?.map(EntityId),
    );
    if let Some(room) = id("roomId", "room")?.map(RoomId) {
        check_room(state, runtime, room).await?;
        utterance.room = room;
    }
    utterance.world = id("worldId", "world")?.map(WorldId);
    let name = ["userName", "name"]
        .iter()
        .find_map(|key| fields.get(*key).and_then(Value::as_str))
        .map(str::trim)
        .filter(|name| !name.is_empty());
    if let Some(name) = name {
        utterance.user_name = name.to_owned();
    }
    Ok(utterance)
}

/// A given room must be this agent's (or not exist yet: it is created).
async fn check_room(
    state: &AppState,
    runtime: &AgentRuntime,
    room: RoomId,
) -> Result<(), ApiError> {
    let found = state
        .store
        .get_room(room)
        .await
        .map_err(|err| ApiError::from_store(err, "DB_ERROR", "Failed to look up the room"))?;
    match found {
        Some(found) if found.agent_id != runtime.id => Err(ApiError::bad_request(
            "INVALID_REQUEST",
            "The room belongs to another agent",
        )),
        _ => Ok(()),
    }
}
