//! One running agent: its character, settings, plugins and model providers, and the calls every
//! part of the pipeline makes (`useModel`, logs, world/room/entity bookkeeping).

use crate::connector::Connections;
use crate::embedding::EmbeddingQueue;
use crate::error::{RuntimeError, RuntimeResult};
use crate::plugin::Plugins;
use crate::prompt::PromptRenderer;
use crate::settings::AgentSettings;
use crate::templates::CompactPrompt;
use crate::turn::{RoomClaim, Turn};
use chrono::Utc;
use eliza_bus::AgentOutbox;
use eliza_domain::ids::create_unique_uuid;
use eliza_domain::log::AgentLog;
use eliza_domain::world::{Entity, Participant, Room, World};
use eliza_domain::{AgentId, Character, EntityId, LogId, RoomId, Store, WorldId};
use eliza_models::{
    EmbeddingRequest, ImageDescription, ImageDescriptionRequest, ModelProvider, ModelType,
    PromptProfile, SpeechAudio, SpeechRequest, TextRequest, TranscriptionRequest,
};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Knobs of the pipeline that are not character settings.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// How long one provider may take before the state is built without it.
    pub provider_deadline: Duration,
    /// How long a whole turn may take before it ends as `timeout`.
    pub run_timeout: Duration,
    /// How often the message-handler answer is asked again when it cannot be parsed.
    pub max_retries: u32,
    /// Messages one agent handles at the same time.
    pub concurrent_turns: usize,
    /// Fixes every turn's random choices (tests and replays); `None` draws a seed per turn.
    pub seed: Option<u64>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            provider_deadline: Duration::from_secs(5),
            run_timeout: Duration::from_secs(600),
            max_retries: 3,
            concurrent_turns: 8,
            seed: None,
        }
    }
}

/// A running agent.
pub struct AgentRuntime {
    pub id: AgentId,
    character: RwLock<Arc<Character>>,
    settings: RwLock<Arc<AgentSettings>>,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<dyn AgentOutbox>,
    pub plugins: Plugins,
    models: Vec<Arc<dyn ModelProvider>>,
    pub renderer: PromptRenderer,
    pub options: RuntimeOptions,
    pub(crate) embeddings: EmbeddingQueue,
    /// Rooms and authors already set up in the store.
    pub(crate) connections: Connections,
    /// The newest response id per room: an older turn still running in the room is superseded.
    latest_responses: Mutex<HashMap<RoomId, (Uuid, tokio::sync::watch::Sender<bool>)>>,
}

/// What an [`AgentRuntime`] is built from.
pub struct RuntimeParts {
    pub character: Character,
    pub settings: AgentSettings,
    pub store: Arc<dyn Store>,
    pub outbox: Arc<dyn AgentOutbox>,
    pub plugins: Plugins,
    pub models: Vec<Arc<dyn ModelProvider>>,
    pub options: RuntimeOptions,
}

impl AgentRuntime {
    /// Builds the runtime and starts its embedding queue (inside the tokio runtime).
    pub fn new(parts: RuntimeParts) -> Arc<AgentRuntime> {
        let id = parts.character.agent_id();
        Arc::new_cyclic(|weak| AgentRuntime {
            id,
            character: RwLock::new(Arc::new(parts.character)),
            settings: RwLock::new(Arc::new(parts.settings)),
            store: parts.store,
            outbox: parts.outbox,
            plugins: parts.plugins,
            models: parts.models,
            renderer: PromptRenderer::new(),
            options: parts.options,
            embeddings: EmbeddingQueue::spawn(weak.clone()),
            connections: Connections::default(),
            latest_responses: Mutex::new(HashMap::new()),
        })
    }

    pub fn character(&self) -> Arc<Character> {
        Arc::clone(
            &self
                .character
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    pub fn settings(&self) -> Arc<AgentSettings> {
        Arc::clone(&self.settings.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// `getSetting`.
    pub fn setting(&self, key: &str) -> Option<String> {
        self.settings().get(key)
    }

    /// Hot update: the new character (bio, style, system, templates, settings) applies from the
    /// next turn on; turns in flight keep the one they started with.
    pub fn replace_character(&self, character: Character, settings: AgentSettings) {
        *self
            .character
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(character);
        *self
            .settings
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
    }

    pub fn name(&self) -> String {
        self.character().name.clone()
    }

    /// Stops background work (the embedding queue).
    pub fn shutdown(&self) {
        self.embeddings.close();
    }

    /// The provider that serves `model_type`, in the order of the agent's plugins.
    pub fn model(&self, model_type: ModelType) -> Option<&Arc<dyn ModelProvider>> {
        self.models
            .iter()
            .find(|provider| provider.supports(model_type))
    }

    /// The name of the provider serving each model type the agent can use (`TEXT_LARGE` →
    /// `local`), for `/api/system/config`.
    pub fn model_providers(&self) -> Vec<(ModelType, String)> {
        ModelType::ALL
            .iter()
            .filter_map(|&model_type| {
                self.model(model_type)
                    .map(|provider| (model_type, provider.name().to_owned()))
            })
            .collect()
    }

    /// Which prompts suit the provider serving `model_type` (full templates when none does).
    pub fn prompt_profile(&self, model_type: ModelType) -> PromptProfile {
        self.model(model_type)
            .map(|provider| provider.prompt_profile())
            .unwrap_or_default()
    }

    /// `useModel` for text: settings layered into the request, the character's system prompt
    /// and name added, the call logged as `useModel:<TYPE>`. With `on_chunk` the answer is
    /// streamed and each piece handed over as it arrives.
    pub async fn generate_text(
        &self,
        model_type: ModelType,
        prompt: String,
        turn: Option<&Turn>,
        on_chunk: Option<&mut (dyn FnMut(&str) + Send)>,
    ) -> RuntimeResult<String> {
        self.generate_framed(model_type, prompt, None, turn, on_chunk)
            .await
    }

    /// [`generate_text`](Self::generate_text) with a compact prompt's system message and
    /// answer frame (for providers that continue a partial answer, see [`AnswerFrame`]): the
    /// text returned is the whole XML.
    pub async fn generate_framed(
        &self,
        model_type: ModelType,
        prompt: String,
        compact: Option<CompactPrompt>,
        turn: Option<&Turn>,
        on_chunk: Option<&mut (dyn FnMut(&str) + Send)>,
    ) -> RuntimeResult<String> {
        let character = self.character();
        let mut request = TextRequest::new(prompt);
        request.system = character.system.clone().filter(|s| !s.is_empty());
        let frame = compact.map(|compact| {
            request.system = Some(compact.system);
            request.assistant_prefix = Some(compact.frame.prefix.to_owned());
            request
                .stop_sequences
                .extend(compact.frame.stops.iter().map(|stop| (*stop).to_owned()));
            compact.frame
        });
        request.user = Some(character.name.clone());
        request.apply_settings(model_type, &self.settings().lookup());
        request.stream = on_chunk.is_some();
        let record = CallRecord {
            params: json!(request),
            prompt: &request.prompt,
            system: request.system.as_deref(),
            context: CallContext::of(self, turn),
        };
        let sent = request.clone();
        let call = |provider: Arc<dyn ModelProvider>| async move {
            match on_chunk {
                Some(on_chunk) => {
                    let text = stream_into(&*provider, model_type, sent, on_chunk).await?;
                    // The closing tags are part of the answer: stream readers see them too.
                    if let Some(frame) = frame {
                        on_chunk(frame.closing);
                    }
                    Ok(text)
                }
                None => Ok(provider.generate_text(model_type, sent).await?.text),
            }
        };
        let text = self
            .use_model(model_type, record, call, |text| json!(text))
            .await?;
        Ok(match frame {
            Some(frame) => frame.close(&text),
            None => text,
        })
    }

    /// `useModel(TEXT_EMBEDDING)`, logged with the response as `"[array]"` as 1.7.2 does.
    pub async fn embed(&self, text: &str, room: Option<RoomId>) -> RuntimeResult<Vec<f32>> {
        let record = CallRecord {
            params: json!({"text": text}),
            prompt: text,
            system: None,
            context: CallContext {
                run_id: None,
                room: room.unwrap_or(RoomId(self.id.0)),
            },
        };
        let call = |provider: Arc<dyn ModelProvider>| async move {
            Ok(provider.embed(EmbeddingRequest::new(text)).await?)
        };
        self.use_model(ModelType::TextEmbedding, record, call, |_| json!("[array]"))
            .await
    }

    /// `useModel(IMAGE_DESCRIPTION)` with the image-description template.
    pub async fn describe_image(
        &self,
        image_url: &str,
        prompt: String,
        turn: Option<&Turn>,
    ) -> RuntimeResult<ImageDescription> {
        let record = CallRecord {
            params: json!({"imageUrl": image_url, "prompt": prompt}),
            prompt: &prompt,
            system: None,
            context: CallContext::of(self, turn),
        };
        let request = ImageDescriptionRequest::new(image_url).with_prompt(prompt.clone());
        let call = |provider: Arc<dyn ModelProvider>| async move {
            Ok(provider.describe_image(request).await?)
        };
        let logged = |d: &ImageDescription| json!({"title": d.title, "description": d.description});
        self.use_model(ModelType::ImageDescription, record, call, logged)
            .await
    }

    /// `useModel(TRANSCRIPTION)`: the text of a recording (logged with its size, not its bytes).
    pub async fn transcribe(&self, request: TranscriptionRequest) -> RuntimeResult<String> {
        let record = CallRecord {
            params: json!({
                "mimeType": request.mime_type_or_default(),
                "bytes": request.audio.len(),
                "language": request.language,
            }),
            prompt: "",
            system: None,
            context: CallContext::of(self, None),
        };
        let call = |provider: Arc<dyn ModelProvider>| async move {
            Ok(provider.transcribe(request).await?)
        };
        self.use_model(ModelType::Transcription, record, call, |text: &String| {
            json!(text)
        })
        .await
    }

    /// `useModel(TEXT_TO_SPEECH)`: speech for `request.text` (logged with its size).
    pub async fn speak(&self, request: SpeechRequest) -> RuntimeResult<SpeechAudio> {
        let text = request.text.clone();
        let record = CallRecord {
            params: json!({"text": text, "voice": request.voice, "format": request.format}),
            prompt: &text,
            system: None,
            context: CallContext::of(self, None),
        };
        let call =
            |provider: Arc<dyn ModelProvider>| async move { Ok(provider.speak(request).await?) };
        let logged = |audio: &SpeechAudio| json!({"contentType": audio.content_type, "bytes": audio.bytes.len()});
        self.use_model(ModelType::TextToSpeech, record, call, logged)
            .await
    }

    /// Runs one model call on the provider serving `model_type` and logs it as
    /// `useModel:<TYPE>`: the request, the provider, the time taken, and the answer (as
    /// `logged` shows it) or the error.
    async fn use_model<T, F, Fut>(
        &self,
        model_type: ModelType,
        record: CallRecord<'_>,
        call: F,
        logged: impl FnOnce(&T) -> Value,
    ) -> RuntimeResult<T>
    where
        F: FnOnce(Arc<dyn ModelProvider>) -> Fut,
        Fut: Future<Output = RuntimeResult<T>>,
    {
        let provider = self
            .model(model_type)
            .cloned()
            .ok_or(RuntimeError::NoModel(model_type))?;
        let provider_name = provider.name().to_owned();
        let started = Instant::now();
        let result = call(provider).await;
        let body = json!({
            "modelType": model_type.as_str(),
            "modelKey": model_type.as_str(),
            "params": record.params,
            "prompt": record.prompt,
            "systemPrompt": record.system,
            "runId": record.context.run_id,
            "timestamp": Utc::now().timestamp_millis(),
            "executionTime": started.elapsed().as_millis() as u64,
            "provider": provider_name,
            "response": result.as_ref().ok().map(logged),
            "error": result.as_ref().err().map(ToString::to_string),
        });
        self.log(
            EntityId(self.id.0),
            record.context.room,
            &log_type(model_type),
            body,
        )
        .await;
        result
    }

    /// Writes a `logs` row; a failed write is reported, never fatal to the turn.
    pub async fn log(&self, entity: EntityId, room: RoomId, log_type: &str, body: Value) {
        let log = AgentLog {
            id: LogId(Uuid::new_v4()),
            agent_id: self.id,
            created_at: Utc::now(),
            entity_id: entity,
            room_id: room,
            log_type: log_type.to_owned(),
            body: sanitize(body),
        };
        if let Err(err) = self.store.create_log(&log).await {
            tracing::warn!(agent = %self.id, %err, log_type, "could not write a log row");
        }
    }

    /// Creates the agent's own entity, world (`"<name>'s World"`), SELF room and participant
    /// row, all with the agent's id (runtime spec §0).
    pub async fn ensure_self(&self) -> RuntimeResult<()> {
        let name = self.name();
        let now = Utc::now();
        let id = self.id;
        self.store
            .ensure_entity(&Entity {
                id: EntityId(id.0),
                agent_id: id,
                names: vec![name.clone()],
                metadata: json!({}),
                created_at: now,
            })
            .await?;
        self.store
            .ensure_world(&World {
                id: WorldId(id.0),
                agent_id: id,
                name: format!("{name}'s World"),
                metadata: None,
                message_server_id: Some(id.0),
                created_at: now,
            })
            .await?;
        self.store
            .ensure_room(&Room {
                id: RoomId(id.0),
                agent_id: id,
                source: "elizaos".to_owned(),
                room_type: "SELF".to_owned(),
                message_server_id: Some(id.0),
                world_id: Some(WorldId(id.0)),
                name: Some(name),
                metadata: None,
                channel_id: None,
                created_at: now,
            })
            .await?;
        self.ensure_participant(RoomId(id.0), EntityId(id.0)).await
    }

    /// Adds the entity to the room once (the participant id is derived, so repeats are no-ops).
    pub async fn ensure_participant(&self, room: RoomId, entity: EntityId) -> RuntimeResult<()> {
        let id = create_unique_uuid(self.id.0, &format!("participant-{room}-{entity}"));
        self.store
            .ensure_participant(&Participant {
                id,
                entity_id: entity,
                room_id: room,
                agent_id: self.id,
                room_state: None,
                created_at: Utc::now(),
            })
            .await?;
        Ok(())
    }

    /// Marks `response` as the newest turn of the room, superseding the room's older turn.
    pub(crate) fn claim_room(&self, room: RoomId, response: Uuid) -> RoomClaim {
        let (superseded, claim) = tokio::sync::watch::channel(false);
        let older = self
            .latest_responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(room, (response, superseded));
        if let Some((_, older)) = older {
            older.send_replace(true);
        }
        RoomClaim::new(claim)
    }

    /// Clears the room's claim if it is still `response`'s.
    pub(crate) fn release_room(&self, room: RoomId, response: Uuid) {
        let mut latest = self
            .latest_responses
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if latest
            .get(&room)
            .is_some_and(|(claimed, _)| *claimed == response)
        {
            latest.remove(&room);
        }
    }
}

impl Drop for AgentRuntime {
    /// The embedding worker only holds a weak reference; closing wakes it so it ends.
    fn drop(&mut self) {
        self.embeddings.close();
    }
}

/// Where a model call belongs: its run and room (the agent's own room outside a turn).
struct CallContext {
    run_id: Option<Uuid>,
    room: RoomId,
}

impl CallContext {
    fn of(runtime: &AgentRuntime, turn: Option<&Turn>) -> Self {
        CallContext {
            run_id: turn.map(|turn| turn.run_id),
            room: turn.map_or(RoomId(runtime.id.0), |turn| turn.room.id),
        }
    }
}

/// What the `useModel:<TYPE>` row says about the request.
struct CallRecord<'a> {
    params: Value,
    prompt: &'a str,
    system: Option<&'a str>,
    context: CallContext,
}

/// `useModel:<TYPE>`.
pub fn log_type(model_type: ModelType) -> String {
    format!("useModel:{}", model_type.as_str())
}

async fn stream_into(
    provider: &dyn ModelProvider,
    model_type: ModelType,
    request: TextRequest,
    on_chunk: &mut (dyn FnMut(&str) + Send),
) -> RuntimeResult<String> {
    let mut stream = provider.stream_text(model_type, request).await?;
    let mut text = String::new();
    while let Some(piece) = stream.next().await {
        let piece = piece?;
        on_chunk(&piece);
        text.push_str(&piece);
    }
    Ok(text)
}

/// Strips NUL characters, which PostgreSQL refuses in JSON (1.7.2 sanitises log bodies too).
fn sanitize(value: Value) -> Value {
    match value {
        Value::String(text) if text.contains('\0') => Value::String(text.replace('\0', "")),
        Value::Array(items) => Value::Array(items.into_iter().map(sanitize).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key.replace('\0', ""), sanitize(value)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bodies_lose_their_nul_characters() {
        let body = sanitize(json!({"a\u{0}": ["x\u{0}y", 1], "b": {"c": "\u{0}"}}));
        assert_eq!(body, json!({"a": ["xy", 1], "b": {"c": ""}}));
    }
}
