//! Speech to text: `POST /api/audio/{agentId}/transcriptions`, `/audio-messages`, and seed
//! 001's `POST /api/audio/transcribe` (the agent in an `agentId` field, the file in `audio` or
//! `file`).

use super::{model_failure, require_model, running_agent};
use crate::error::{ApiError, ApiResult, Family, ok};
use crate::openapi::schemas::{ErrorBody, Success};
use crate::state::AppState;
use crate::upload::{self, AUDIO_TYPES, FilePolicy, Form, Sink, UploadError};
use actix_web::{HttpRequest, web};
use eliza_models::{ModelType, TranscriptionRequest};
use eliza_runtime::AgentRuntime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The audio file of the `/{agentId}/…` routes.
pub(super) const POLICY: FilePolicy = FilePolicy {
    fields: &["file"],
    allowed: AUDIO_TYPES,
    missing: "No audio file provided",
    type_code: "INVALID_FILE_TYPE",
};

/// Seed 001 names the field `audio`; `file` works too.
const SEED_POLICY: FilePolicy = FilePolicy {
    fields: &["audio", "file"],
    ..POLICY
};

/// The multipart body: an audio file (`audio/mpeg`, `audio/wav`, `audio/webm`, …, at most 50 MB
/// by default), and optionally its `language` (ISO-639-1, passed to the model) and `format`
/// (ignored: the content shows it).
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub struct TranscriptionForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    language: Option<String>,
    format: Option<String>,
}

/// Seed 001's body: the recording in `audio` (or `file`) and the agent.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct SeedTranscriptionForm {
    #[schema(value_type = String, format = Binary)]
    audio: Vec<u8>,
    agent_id: String,
    language: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Transcription {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudioMessage {
    pub transcription: String,
    /// `Audio transcribed, further processing TBD.` (1.7.2).
    pub message: String,
}

/// Seed 001's answer (`transcription`), with 1.7.2's `text` as well.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedTranscription {
    pub transcription: String,
    pub text: String,
}

/// Reads an audio form into memory.
pub(super) async fn audio_form(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    policy: &FilePolicy,
) -> Result<Form, ApiError> {
    upload::receive(req, payload, policy, Sink::Memory, &state.config.media)
        .await
        .map_err(|err| err.into_api(Family::Coded, policy))
}

/// The text of the form's file, by the agent's TRANSCRIPTION model.
pub(super) async fn transcribe_file(
    runtime: &AgentRuntime,
    form: &mut Form,
    policy: &FilePolicy,
) -> Result<String, ApiError> {
    let file = form
        .take_file(policy)
        .map_err(|err: UploadError| err.into_api(Family::Coded, policy))?;
    let mut request = TranscriptionRequest::new(Vec::new()).with_mime_type(file.mime.clone());
    request.language = form.field("language").map(str::to_owned);
    request.audio = file
        .into_bytes()
        .map_err(|err| err.into_api(Family::Coded, policy))?;
    runtime
        .transcribe(request)
        .await
        .map_err(|err| model_failure(err, "PROCESSING_ERROR", "Error transcribing audio"))
}

/// Checks the agent and its model, then reads and transcribes the uploaded file.
async fn transcribe_upload(
    req: HttpRequest,
    payload: web::Payload,
    state: &AppState,
    agent: &str,
) -> Result<String, ApiError> {
    let runtime = running_agent(state, agent)?;
    require_model(&runtime, ModelType::Transcription)?;
    let mut form = audio_form(&req, payload, state, &POLICY).await?;
    transcribe_file(&runtime, &mut form, &POLICY).await
}

#[utoipa::path(post, path = "/api/audio/{agentId}/transcriptions", tag = "audio",
    summary = "Transcribe an audio file",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The transcript", body = Success<Transcription>),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST` (no file, wrong field, not multipart)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`: the agent does not run", body = ErrorBody),
        (status = 408, description = "`REQUEST_TIMEOUT`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`INVALID_FILE_TYPE`", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`: the model failed", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`: no TRANSCRIPTION model", body = ErrorBody),
    ))]
pub(super) async fn transcriptions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let text = transcribe_upload(req, payload, &state, &path).await?;
    Ok(ok(Transcription { text }))
}

#[utoipa::path(post, path = "/api/audio/{agentId}/audio-messages", tag = "audio",
    summary = "Transcribe an audio message",
    params(("agentId" = String, Path, description = "A running agent")),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The transcript", body = Success<AudioMessage>),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST`", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`INVALID_FILE_TYPE`", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`", body = ErrorBody),
    ))]
pub(super) async fn audio_messages(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let transcription = transcribe_upload(req, payload, &state, &path).await?;
    Ok(ok(AudioMessage {
        transcription,
        message: "Audio transcribed, further processing TBD.".to_owned(),
    }))
}

#[utoipa::path(post, path = "/api/audio/transcribe", tag = "audio",
    summary = "Transcribe an audio file (seed 001)",
    request_body(content = SeedTranscriptionForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The transcript", body = Success<SeedTranscription>),
        (status = 400, description = "`INVALID_ID`; `INVALID_REQUEST` (no agentId, no file)", body = ErrorBody),
        (status = 404, description = "`NOT_FOUND`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`INVALID_FILE_TYPE`", body = ErrorBody),
        (status = 502, description = "`PROCESSING_ERROR`", body = ErrorBody),
        (status = 503, description = "`MODEL_NOT_CONFIGURED`", body = ErrorBody),
    ))]
pub(super) async fn transcribe_seed(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult {
    // The agent is a form field: the form is read first.
    let mut form = audio_form(&req, payload, &state, &SEED_POLICY).await?;
    let agent = form
        .field("agentId")
        .ok_or_else(|| ApiError::bad_request("INVALID_REQUEST", "agentId is required"))?;
    let runtime = running_agent(&state, agent)?;
    require_model(&runtime, ModelType::Transcription)?;
    let text = transcribe_file(&runtime, &mut form, &SEED_POLICY).await?;
    Ok(ok(SeedTranscription {
        transcription: text.clone(),
        text,
    }))
}
