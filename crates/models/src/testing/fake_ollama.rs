//! A fake Ollama server on 127.0.0.1, scripted per test: `/api/chat` (whole or as JSON lines),
//! `/api/embed`, `/api/show`, `/api/pull` and `/api/tags`.

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::fake_server::{
    Body, DEFAULT_TEXT, Exchange, FakeApi, FakeReply, FakeServer, RecordedRequest, StreamShape,
    TextScript, embedding_inputs, embedding_vectors, error_response, json_response,
    settings_lookup, unsendable,
};

const CHAT: &str = "chat";
const EMBED: &str = "embed";
const SHOW: &str = "show";
const PULL: &str = "pull";

/// The running fake. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FakeOllama {
    server: FakeServer,
}

impl FakeOllama {
    /// Starts the fake on an ephemeral port of 127.0.0.1. Every model is present (`show`
    /// answers 200) unless a test queues another `show` reply; embeddings have 768 dimensions,
    /// as nomic-embed-text's.
    ///
    /// # Panics
    /// When no local port can be bound: a test cannot run without its fake server.
    pub async fn start() -> FakeOllama {
        FakeOllama {
            server: FakeServer::start(OllamaApi, 768).await,
        }
    }

    /// The value for `OLLAMA_API_ENDPOINT` (`http://127.0.0.1:<port>/api`).
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.server.addr())
    }

    /// A settings lookup pointing the Ollama provider at this fake. Keys in `extra` are added
    /// (and win).
    pub fn settings(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        settings_lookup(vec![("OLLAMA_API_ENDPOINT".into(), self.base_url())], extra)
    }

    /// Queues the answer to the next `/api/chat` request.
    pub fn push_chat(&self, reply: FakeReply) {
        self.server.push(CHAT, reply);
    }

    /// Queues the answer to the next `/api/embed` request.
    pub fn push_embedding(&self, reply: FakeReply) {
        self.server.push(EMBED, reply);
    }

    /// Queues the answer to the next `/api/show` request (`FakeReply::status(404)`: the model
    /// is missing).
    pub fn push_show(&self, reply: FakeReply) {
        self.server.push(SHOW, reply);
    }

    /// Queues the answer to the next `/api/pull` request.
    pub fn push_pull(&self, reply: FakeReply) {
        self.server.push(PULL, reply);
    }

    /// The length of the embeddings the fake computes.
    pub fn set_embedding_dimensions(&self, dimensions: usize) {
        self.server.set_embedding_dimensions(dimensions);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The paths requested so far, in order (`/api/show`, `/api/chat`, …).
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }
}

struct OllamaApi;

impl FakeApi for OllamaApi {
    fn endpoint(&self, path: &str) -> Option<&'static str> {
        match path {
            "/api/chat" => Some(CHAT),
            "/api/embed" => Some(EMBED),
            "/api/show" => Some(SHOW),
            "/api/pull" => Some(PULL),
            _ => None,
        }
    }

    fn error_body(&self, message: &str) -> Value {
        json!({"error": message})
    }

    fn respond(&self, exchange: &Exchange<'_>, reply: FakeReply) -> Response<Body> {
        let body = &exchange.request.body;
        match (exchange.endpoint, reply) {
            (Some(CHAT), reply) => self.chat(body, reply),
            (Some(EMBED), reply) => self.embed(body, reply, exchange.embedding_dimensions),
            (Some(SHOW), FakeReply::Default) => json_response(
                StatusCode::OK,
                &json!({
                    "modelfile": "# fake",
                    "template": "{{ .Prompt }}",
                    "details": {"format": "gguf", "family": "fake"}
                }),
            ),
            (Some(PULL), FakeReply::Default) => {
                json_response(StatusCode::OK, &json!({"status": "success"}))
            }
            (Some(_), reply) => unsendable(self, &reply),
            (None, _) if exchange.request.path == "/api/tags" => json_response(
                StatusCode::OK,
                &json!({"models": [{"name": "gemma3:latest", "model": "gemma3:latest"}]}),
            ),
            (None, _) => error_response(404, &self.error_body("404 page not found"), None),
        }
    }
}

impl OllamaApi {
    fn chat(&self, body: &Value, reply: FakeReply) -> Response<Body> {
        let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
        let script = match TextScript::from_reply(reply, DEFAULT_TEXT) {
            Ok(script) => script,
            Err(other) => return unsendable(self, &other),
        };
        // Ollama streams unless told not to.
        if body["stream"].as_bool().unwrap_or(true) {
            return script.streamed(&ChatLines { model });
        }
        if let Some(message) = script.error_message() {
            return error_response(500, &self.error_body(message), None);
        }
        let answer = ChatLines { model }.last_line(&script.text(), script.chunks.len());
        json_response(StatusCode::OK, &answer)
    }

    fn embed(&self, body: &Value, reply: FakeReply, dimensions: usize) -> Response<Body> {
        let Some(inputs) = embedding_inputs(body) else {
            return error_response(400, &self.error_body("invalid input type"), None);
        };
        match embedding_vectors(reply, &inputs, dimensions) {
            Ok(embeddings) => json_response(
                StatusCode::OK,
                &json!({"model": body["model"], "embeddings": embeddings}),
            ),
            Err(other) => unsendable(self, &other),
        }
    }
}

/// A chat stream as Ollama sends it: one JSON object per line, the last with `"done": true`
/// and the token counts.
struct ChatLines {
    model: String,
}

impl ChatLines {
    fn line(&self, content: &str) -> Value {
        json!({
            "model": self.model,
            "created_at": "2025-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content},
            "done": false
        })
    }

    /// The last line of a stream, also the whole answer of a non-streamed call.
    fn last_line(&self, content: &str, eval_count: usize) -> Value {
        let mut line = self.line(content);
        line["done"] = json!(true);
        line["done_reason"] = json!("stop");
        line["prompt_eval_count"] = json!(10);
        line["eval_count"] = json!(eval_count);
        line
    }
}

fn ndjson(value: &Value) -> Bytes {
    Bytes::from(format!("{value}\n"))
}

impl StreamShape for ChatLines {
    const CONTENT_TYPE: &'static str = "application/x-ndjson";

    fn head(&self) -> Vec<Bytes> {
        Vec::new()
    }

    fn chunk(&self, text: &str) -> Bytes {
        ndjson(&self.line(text))
    }

    fn tail(&self, chunk_count: usize) -> Vec<Bytes> {
        vec![ndjson(&self.last_line("", chunk_count))]
    }

    fn error(&self, message: &str) -> Bytes {
        ndjson(&json!({"error": message}))
    }
}
