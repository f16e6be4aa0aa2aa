//! `/api/audio` (API spec §2.5, family A): transcription, speech synthesis and spoken
//! conversation with a running agent's TRANSCRIPTION, TEXT_TO_SPEECH and TEXT_LARGE models, plus
//! seed 001's `/api/audio/transcribe` and `/api/audio/generate`. Every route passes the upload
//! and file-operation rate limiters, as in 1.7.2.
//!
//! Differences from 1.7.2, all on input it answered with 500: a refused audio type is a 415, an
//! oversized file a 413, a stalled body a 408; an agent without a model for the type asked is
//! a 503 naming the setting to add; a failing model call is a 502. Synthesised audio is binary
//! by default, or `{audio (base64), format, contentType, …}` JSON when the client's `Accept`
//! asks for JSON and not audio (see [`speech`]).

mod conversation;
mod speech;
mod transcription;

use crate::error::ApiError;
use crate::openapi::Routes;
use crate::rate_limit::upload_limited;
use crate::state::AppState;
use actix_web::http::StatusCode;
use eliza_domain::{AgentId, AgentStatus};
use eliza_models::ModelType;
use eliza_runtime::{AgentRuntime, RuntimeError};
use std::sync::Arc;
use utoipa::Path;

/// Every route, each behind the upload and file-operation limiters.
pub fn configure(routes: &mut Routes<'_>) {
    macro_rules! limited {
        ($($handler:path => $doc:ty),* $(,)?) => {
            $(routes.add_wrapped::<$doc, _, _>(&<$doc as Path>::path(), $handler, upload_limited);)*
        };
    }
    limited!(
        transcription::transcribe_seed => transcription::__path_transcribe_seed,
        speech::generate_seed => speech::__path_generate_seed,
        transcription::transcriptions => transcription::__path_transcriptions,
        transcription::audio_messages => transcription::__path_audio_messages,
        speech::synthesize => speech::__path_synthesize,
        speech::generate => speech::__path_generate,
        conversation::speech_conversation => conversation::__path_speech_conversation,
        conversation::speech => conversation::__path_speech,
    );
}

/// The running agent named by `id` (its runtime). 400 `INVALID_ID`, 404 `NOT_FOUND` when it
/// does not run, 503 when this server tracks agents without running their models.
fn running_agent(state: &AppState, id: &str) -> Result<Arc<AgentRuntime>, ApiError> {
    let agent =
        AgentId::parse(id.trim()).map_err(|_| ApiError::invalid_id("Invalid agent ID format"))?;
    let not_found = || ApiError::not_found("Agent not found");
    let Some(runtimes) = &state.runtimes else {
        return Err(if state.agents.status(agent) == AgentStatus::Active {
            ApiError::coded(
                StatusCode::SERVICE_UNAVAILABLE,
                "MODEL_UNAVAILABLE",
                "Audio needs agent runtimes with model providers, which this server does not run",
            )
        } else {
            not_found()
        });
    };
    runtimes.runtime(agent).ok_or_else(not_found)
}

/// 503 `MODEL_NOT_CONFIGURED` unless the agent has a provider for `model_type`, checked before
/// any work is done.
fn require_model(runtime: &AgentRuntime, model_type: ModelType) -> Result<(), ApiError> {
    match runtime.model(model_type) {
        Some(_) => Ok(()),
        None => Err(no_model(model_type)),
    }
}

fn no_model(model_type: ModelType) -> ApiError {
    let setting = match model_type {
        ModelType::Transcription | ModelType::TextToSpeech => {
            "set OPENAI_API_KEY (the OpenAI provider serves audio; with other model plugins \
             listed, add @elizaos/plugin-openai to the agent's plugins)"
        }
        _ => {
            "configure a model provider (OPENAI_API_KEY, ANTHROPIC_API_KEY, OLLAMA_API_ENDPOINT or the local models)"
        }
    };
    ApiError::coded(
        StatusCode::SERVICE_UNAVAILABLE,
        "MODEL_NOT_CONFIGURED",
        format!("No {} model for this agent: {setting}", model_type.as_str()),
    )
}

/// A failed model step: 503 without a model, 502 when the model server failed (the cause in
/// `details`), 500 for the store.
fn model_failure(err: RuntimeError, code: &str, message: &str) -> ApiError {
    match err {
        RuntimeError::NoModel(model_type) => no_model(model_type),
        RuntimeError::Store(err) => ApiError::from_store(err, "DB_ERROR", message),
        other => {
            tracing::warn!(err = %other, code, "an audio model call failed");
            ApiError::coded(StatusCode::BAD_GATEWAY, code, message).with_details(other.to_string())
        }
    }
}
