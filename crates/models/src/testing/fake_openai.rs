//! A fake OpenAI-compatible server on 127.0.0.1, scripted per test: `/chat/completions` and
//! `/responses` (whole or streamed), `/embeddings`, `/audio/transcriptions`, `/audio/speech`,
//! `/images/generations` and `/models`.

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::fake_server::{
    Body, DEFAULT_TEXT, Exchange, FakeApi, FakeReply, FakeServer, RecordedRequest, StreamShape,
    TextScript, embedding_inputs, embedding_vectors, error_response, json_response, raw_response,
    settings_lookup, unsendable,
};

/// The API key [`FakeOpenAi::settings`] hands out.
pub const FAKE_API_KEY: &str = "sk-fake-test-key";

/// The transcript of any upload when no reply is queued.
pub const FAKE_TRANSCRIPT: &str = "Hello from the fake transcription.";

const CHAT: &str = "chat";
const RESPONSES: &str = "responses";
const EMBEDDINGS: &str = "embeddings";
const TRANSCRIPTIONS: &str = "transcriptions";
const SPEECH: &str = "speech";
const IMAGES: &str = "images";

/// The running fake. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FakeOpenAi {
    server: FakeServer,
}

impl FakeOpenAi {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound: a test cannot run without its fake server.
    pub async fn start() -> FakeOpenAi {
        FakeOpenAi {
            server: FakeServer::start(OpenAiApi, 1536).await,
        }
    }

    /// The value for `OPENAI_BASE_URL` (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// A settings lookup pointing the OpenAI provider at this fake, with a fixed API key.
    /// Keys in `extra` are added (and win).
    pub fn settings(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs = vec![
            ("OPENAI_API_KEY".into(), FAKE_API_KEY.into()),
            ("OPENAI_BASE_URL".into(), self.base_url()),
        ];
        settings_lookup(pairs, extra)
    }

    /// Queues the answer to the next `/chat/completions` request.
    pub fn push_chat(&self, reply: FakeReply) {
        self.server.push(CHAT, reply);
    }

    /// Queues the answer to the next `/responses` request (text replies as for chat).
    pub fn push_response(&self, reply: FakeReply) {
        self.server.push(RESPONSES, reply);
    }

    /// Queues the answer to the next `/embeddings` request.
    pub fn push_embedding(&self, reply: FakeReply) {
        self.server.push(EMBEDDINGS, reply);
    }

    /// Queues the answer to the next `/audio/transcriptions` request: `FakeReply::Text` is the
    /// transcript; by default it is [`FAKE_TRANSCRIPT`].
    pub fn push_transcription(&self, reply: FakeReply) {
        self.server.push(TRANSCRIPTIONS, reply);
    }

    /// Queues the answer to the next `/audio/speech` request. By default the audio is
    /// `fake <format> audio: <input>`, labelled with the format's MIME type.
    pub fn push_speech(&self, reply: FakeReply) {
        self.server.push(SPEECH, reply);
    }

    /// Queues the answer to the next `/images/generations` request. By default each of the
    /// `n` images is a URL, `https://images.fake/<index>.png`.
    pub fn push_image(&self, reply: FakeReply) {
        self.server.push(IMAGES, reply);
    }

    /// The embedding length used when a request does not ask for `dimensions`.
    pub fn set_default_dimensions(&self, dimensions: usize) {
        self.server.set_embedding_dimensions(dimensions);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }
}

struct OpenAiApi;

impl FakeApi for OpenAiApi {
    fn endpoint(&self, path: &str) -> Option<&'static str> {
        [
            ("/chat/completions", CHAT),
            ("/responses", RESPONSES),
            ("/embeddings", EMBEDDINGS),
            ("/audio/transcriptions", TRANSCRIPTIONS),
            ("/audio/speech", SPEECH),
            ("/images/generations", IMAGES),
        ]
        .into_iter()
        .find_map(|(suffix, endpoint)| path.ends_with(suffix).then_some(endpoint))
    }

    fn error_body(&self, message: &str) -> Value {
        json!({"error": {"message": message, "type": "fake_error", "code": null}})
    }

    fn respond(&self, exchange: &Exchange<'_>, reply: FakeReply) -> Response<Body> {
        let body = &exchange.request.body;
        match exchange.endpoint {
            Some(CHAT) => self.chat(body, reply),
            Some(RESPONSES) => self.responses(body, reply),
            Some(EMBEDDINGS) => self.embeddings(body, reply, exchange.embedding_dimensions),
            Some(TRANSCRIPTIONS) => self.transcription(exchange.request, reply),
            Some(SPEECH) => self.speech(body, reply),
            Some(IMAGES) => self.images(body, reply),
            _ if exchange.request.path.ends_with("/models") => json_response(
                StatusCode::OK,
                &json!({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}),
            ),
            _ => {
                let message = format!("no route for {}", exchange.request.path);
                error_response(404, &self.error_body(&message), None)
            }
        }
    }
}

impl OpenAiApi {
    fn chat(&self, body: &Value, reply: FakeReply) -> Response<Body> {
        let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
        let script = match TextScript::from_reply(reply, DEFAULT_TEXT) {
            Ok(script) => script,
            Err(other) => return unsendable(self, &other),
        };
        if body["stream"].as_bool().unwrap_or(false) {
            return script.streamed(&ChatChunks { model });
        }
        if let Some(message) = script.error_message() {
            return error_response(500, &self.error_body(message), None);
        }
        let completion_tokens = script.chunks.len();
        json_response(
            StatusCode::OK,
            &json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": script.text()},
                    "finish_reason": "stop"
                }],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": completion_tokens,
                    "total_tokens": 10 + completion_tokens
                }
            }),
        )
    }

    fn responses(&self, body: &Value, reply: FakeReply) -> Response<Body> {
        let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
        let script = match TextScript::from_reply(reply, DEFAULT_TEXT) {
            Ok(script) => script,
            Err(other) => return unsendable(self, &other),
        };
        let events = ResponseEvents { model };
        if body["stream"].as_bool().unwrap_or(false) {
            return script.streamed(&events);
        }
        if let Some(message) = script.error_message() {
            return error_response(500, &self.error_body(message), None);
        }
        json_response(
            StatusCode::OK,
            &events.response("completed", &script.text(), script.chunks.len()),
        )
    }

    /// Checks the upload as OpenAI does (a `file` with a name, a `model`) before answering.
    fn transcription(&self, request: &RecordedRequest, reply: FakeReply) -> Response<Body> {
        let fields = request.form_fields().unwrap_or_default();
        let has = |name: &str| fields.iter().any(|f| f.name == name && !f.data.is_empty());
        let named_file = fields
            .iter()
            .any(|f| f.name == "file" && f.file_name.is_some());
        if !(named_file && has("model")) {
            let message = "expected a multipart form with a named 'file' and a 'model'";
            return error_response(400, &self.error_body(message), None);
        }
        let text = match reply {
            FakeReply::Default => FAKE_TRANSCRIPT.to_owned(),
            FakeReply::Text(text) => text,
            other => return unsendable(self, &other),
        };
        json_response(StatusCode::OK, &json!({"text": text}))
    }

    fn speech(&self, body: &Value, reply: FakeReply) -> Response<Body> {
        let (Some(input), Some(_voice)) = (body["input"].as_str(), body["voice"].as_str()) else {
            let message = "'input' and 'voice' are required";
            return error_response(400, &self.error_body(message), None);
        };
        if !matches!(reply, FakeReply::Default) {
            return unsendable(self, &reply);
        }
        let format = body["response_format"].as_str().unwrap_or("mp3");
        let content_type = match format {
            "mp3" => "audio/mpeg",
            "wav" => "audio/wav",
            "opus" => "audio/opus",
            _ => "application/octet-stream",
        };
        raw_response(
            StatusCode::OK,
            content_type,
            format!("fake {format} audio: {input}"),
        )
    }

    fn images(&self, body: &Value, reply: FakeReply) -> Response<Body> {
        if !matches!(reply, FakeReply::Default) {
            return unsendable(self, &reply);
        }
        let count = body["n"].as_u64().unwrap_or(1);
        let data: Vec<Value> = (0..count)
            .map(|index| json!({"url": format!("https://images.fake/{index}.png")}))
            .collect();
        json_response(StatusCode::OK, &json!({"created": 0, "data": data}))
    }

    fn embeddings(
        &self,
        body: &Value,
        reply: FakeReply,
        default_dimensions: usize,
    ) -> Response<Body> {
        let dimensions = body["dimensions"]
            .as_u64()
            .and_then(|d| usize::try_from(d).ok())
            .unwrap_or(default_dimensions);
        let Some(inputs) = embedding_inputs(body) else {
            return error_response(400, &self.error_body("'input' is required"), None);
        };
        let vectors = match embedding_vectors(reply, &inputs, dimensions) {
            Ok(vectors) => vectors,
            Err(other) => return unsendable(self, &other),
        };
        let data: Vec<Value> = vectors
            .into_iter()
            .enumerate()
            .map(|(index, embedding)| {
                json!({"object": "embedding", "index": index, "embedding": embedding})
            })
            .collect();
        json_response(
            StatusCode::OK,
            &json!({
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1}
            }),
        )
    }
}

/// Chat-completion chunks as OpenAI streams them: a role-only first chunk, the content, a
/// content-less finish chunk and `[DONE]`.
struct ChatChunks {
    model: String,
}

impl ChatChunks {
    fn event(&self, delta: Value, finish: Value) -> Bytes {
        let chunk = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        Bytes::from(format!("data: {chunk}\n\n"))
    }
}

impl StreamShape for ChatChunks {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn head(&self) -> Vec<Bytes> {
        vec![self.event(json!({"role": "assistant"}), Value::Null)]
    }

    fn chunk(&self, text: &str) -> Bytes {
        self.event(json!({"content": text}), Value::Null)
    }

    fn tail(&self, _chunk_count: usize) -> Vec<Bytes> {
        vec![
            self.event(json!({}), json!("stop")),
            Bytes::from_static(b"data: [DONE]\n\n"),
        ]
    }

    fn error(&self, message: &str) -> Bytes {
        let error = json!({"error": {"message": message, "type": "fake_error"}});
        Bytes::from(format!("data: {error}\n\n"))
    }
}

/// A Responses stream as OpenAI sends it: `response.created`, the message item and its text
/// part opening, one `response.output_text.delta` per chunk, the closing events and
/// `response.completed` with the usage. Each event is named on an `event:` line too.
struct ResponseEvents {
    model: String,
}

impl ResponseEvents {
    /// The whole response object, the answer of a non-streamed call and the `response` of the
    /// first and last events.
    fn response(&self, status: &str, text: &str, output_tokens: usize) -> Value {
        let output = if status == "completed" {
            json!([self.message(text)])
        } else {
            json!([])
        };
        json!({
            "id": "resp_fake",
            "object": "response",
            "created_at": 0,
            "status": status,
            "model": self.model,
            "output": output,
            "error": null,
            "incomplete_details": null,
            "usage": {
                "input_tokens": 10,
                "output_tokens": output_tokens,
                "total_tokens": 10 + output_tokens
            }
        })
    }

    fn message(&self, text: &str) -> Value {
        json!({
            "type": "message",
            "id": "msg_fake",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}]
        })
    }
}

fn response_event(data: &Value) -> Bytes {
    let kind = data["type"].as_str().unwrap_or("unknown");
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

impl StreamShape for ResponseEvents {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn head(&self) -> Vec<Bytes> {
        vec![
            response_event(&json!({
                "type": "response.created",
                "response": self.response("in_progress", "", 0)
            })),
            response_event(&json!({
                "type": "response.output_item.added", "output_index": 0,
                "item": {"type": "message", "id": "msg_fake", "role": "assistant", "content": []}
            })),
            response_event(&json!({
                "type": "response.content_part.added", "output_index": 0, "content_index": 0,
                "part": {"type": "output_text", "text": ""}
            })),
        ]
    }

    fn chunk(&self, text: &str) -> Bytes {
        response_event(&json!({
            "type": "response.output_text.delta", "item_id": "msg_fake",
            "output_index": 0, "content_index": 0, "delta": text
        }))
    }

    fn tail(&self, chunk_count: usize) -> Vec<Bytes> {
        vec![
            response_event(&json!({
                "type": "response.output_item.done", "output_index": 0,
                "item": self.message("")
            })),
            response_event(&json!({
                "type": "response.completed",
                "response": self.response("completed", "", chunk_count)
            })),
        ]
    }

    fn error(&self, message: &str) -> Bytes {
        response_event(&json!({"type": "error", "code": "server_error", "message": message}))
    }
}
