//! A fake OpenAI-compatible server on 127.0.0.1, scripted per test.

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::fake_server::{
    Body, DEFAULT_TEXT, Exchange, FakeApi, FakeReply, FakeServer, RecordedRequest, StreamShape,
    TextScript, embedding_inputs, embedding_vectors, error_response, json_response,
    settings_lookup, unsendable,
};

/// The API key [`FakeOpenAi::settings`] hands out.
pub const FAKE_API_KEY: &str = "sk-fake-test-key";

const CHAT: &str = "chat";
const EMBEDDINGS: &str = "embeddings";

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

    /// Queues the answer to the next `/embeddings` request.
    pub fn push_embedding(&self, reply: FakeReply) {
        self.server.push(EMBEDDINGS, reply);
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
        if path.ends_with("/chat/completions") {
            Some(CHAT)
        } else if path.ends_with("/embeddings") {
            Some(EMBEDDINGS)
        } else {
            None
        }
    }

    fn error_body(&self, message: &str) -> Value {
        json!({"error": {"message": message, "type": "fake_error", "code": null}})
    }

    fn respond(&self, exchange: &Exchange<'_>, reply: FakeReply) -> Response<Body> {
        let body = &exchange.request.body;
        match exchange.endpoint {
            Some(CHAT) => self.chat(body, reply),
            Some(EMBEDDINGS) => self.embeddings(body, reply, exchange.embedding_dimensions),
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
