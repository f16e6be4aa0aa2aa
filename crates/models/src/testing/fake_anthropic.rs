//! A fake Anthropic Messages API on 127.0.0.1, scripted per test: `POST /v1/messages`, whole
//! or as server-sent events.

use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

use super::fake_server::{
    Body, DEFAULT_TEXT, Exchange, FakeApi, FakeReply, FakeServer, RecordedRequest, StreamShape,
    TextScript, error_response, json_response, settings_lookup, unsendable,
};

/// The API key [`FakeAnthropic::settings`] hands out.
pub const FAKE_ANTHROPIC_KEY: &str = "sk-ant-fake-test-key";

const MESSAGES: &str = "messages";

/// The running fake. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FakeAnthropic {
    server: FakeServer,
}

impl FakeAnthropic {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound: a test cannot run without its fake server.
    pub async fn start() -> FakeAnthropic {
        FakeAnthropic {
            server: FakeServer::start(AnthropicApi, 0).await,
        }
    }

    /// The value for `ANTHROPIC_API_URL` (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// A settings lookup pointing the Anthropic provider at this fake, with a fixed API key.
    /// Keys in `extra` are added (and win).
    pub fn settings(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs = vec![
            ("ANTHROPIC_API_KEY".into(), FAKE_ANTHROPIC_KEY.into()),
            ("ANTHROPIC_API_URL".into(), self.base_url()),
        ];
        settings_lookup(pairs, extra)
    }

    /// Queues the answer to the next `/v1/messages` request.
    pub fn push_message(&self, reply: FakeReply) {
        self.server.push(MESSAGES, reply);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }
}

struct AnthropicApi;

impl FakeApi for AnthropicApi {
    fn endpoint(&self, path: &str) -> Option<&'static str> {
        (path == "/v1/messages").then_some(MESSAGES)
    }

    fn error_body(&self, message: &str) -> Value {
        json!({"type": "error", "error": {"type": "api_error", "message": message}})
    }

    fn respond(&self, exchange: &Exchange<'_>, reply: FakeReply) -> Response<Body> {
        if exchange.endpoint.is_none() {
            let message = format!("no route for {}", exchange.request.path);
            return error_response(404, &self.error_body(&message), None);
        }
        let body = &exchange.request.body;
        let model = body["model"].as_str().unwrap_or("claude-fake").to_owned();
        let script = match TextScript::from_reply(reply, DEFAULT_TEXT) {
            Ok(script) => script,
            Err(other) => return unsendable(self, &other),
        };
        if body["stream"].as_bool().unwrap_or(false) {
            return script.streamed(&MessageEvents { model });
        }
        if let Some(message) = script.error_message() {
            return error_response(500, &self.error_body(message), None);
        }
        json_response(
            StatusCode::OK,
            &json!({
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": script.text()}],
                "stop_reason": "end_turn",
                "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": script.chunks.len()}
            }),
        )
    }
}

/// A streamed message as Anthropic sends it: `message_start`, a text block with one
/// `content_block_delta` per chunk, `message_delta` with the usage, `message_stop`.
struct MessageEvents {
    model: String,
}

fn event(data: &Value) -> Bytes {
    let kind = data["type"].as_str().unwrap_or("unknown");
    Bytes::from(format!("event: {kind}\ndata: {data}\n\n"))
}

impl StreamShape for MessageEvents {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn head(&self) -> Vec<Bytes> {
        vec![
            event(&json!({
                "type": "message_start",
                "message": {
                    "id": "msg_fake", "type": "message", "role": "assistant",
                    "model": self.model, "content": [], "stop_reason": null,
                    "usage": {"input_tokens": 10, "output_tokens": 1}
                }
            })),
            event(&json!({
                "type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}
            })),
            event(&json!({"type": "ping"})),
        ]
    }

    fn chunk(&self, text: &str) -> Bytes {
        event(&json!({
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": text}
        }))
    }

    fn tail(&self, chunk_count: usize) -> Vec<Bytes> {
        vec![
            event(&json!({"type": "content_block_stop", "index": 0})),
            event(&json!({
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                "usage": {"output_tokens": chunk_count}
            })),
            event(&json!({"type": "message_stop"})),
        ]
    }

    fn error(&self, message: &str) -> Bytes {
        event(&json!({
            "type": "error",
            "error": {"type": "overloaded_error", "message": message}
        }))
    }
}
