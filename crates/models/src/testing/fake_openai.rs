//! A fake OpenAI-compatible server on 127.0.0.1, scripted per test.
//!
//! Built on hyper 1 + hyper-util directly: both are already in the dependency tree through
//! reqwest, so the fake costs no new crates, and a hand-written router of three paths is
//! smaller than an axum setup (actix-web is off limits for this crate's layer).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::hash_embedding;

/// What the fake answers to the next request of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeReply {
    /// The endpoint's normal answer: the default text for chat, a hash embedding for
    /// embeddings. Useful inside [`FakeReply::Delayed`].
    Default,
    /// A chat answer. Sent as one chunk when the request asks for a stream.
    Text(String),
    /// A streamed chat answer, chunk by chunk (joined into one text for a non-streamed request).
    Chunks(Vec<String>),
    /// Like `Chunks`, with a pause before each chunk.
    SlowChunks {
        chunks: Vec<String>,
        pause: Duration,
    },
    /// Streams these chunks, then drops the connection without `[DONE]`.
    BrokenStream(Vec<String>),
    /// An error status with an OpenAI-style error body and an optional `Retry-After` value.
    Status {
        status: u16,
        message: String,
        retry_after: Option<String>,
    },
    /// This exact body with status 200 and `Content-Type: application/json` (garbage tests).
    Raw(String),
    /// An embedding answer with this exact vector.
    Embedding(Vec<f32>),
    /// Waits, then answers with the inner reply.
    Delayed(Duration, Box<FakeReply>),
}

impl FakeReply {
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(text.into())
    }

    pub fn chunks<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Self {
        Self::Chunks(chunks.into_iter().map(Into::into).collect())
    }

    pub fn status(status: u16) -> Self {
        Self::Status {
            status,
            message: format!("fake error {status}"),
            retry_after: None,
        }
    }

    pub fn rate_limited(retry_after: Option<&str>) -> Self {
        Self::Status {
            status: 429,
            message: "Rate limit reached".to_owned(),
            retry_after: retry_after.map(str::to_owned),
        }
    }

    pub fn garbage() -> Self {
        Self::Raw("this is {not json".to_owned())
    }

    pub fn delayed(delay: Duration, reply: FakeReply) -> Self {
        Self::Delayed(delay, Box::new(reply))
    }
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    /// The JSON body, or `Value::Null` when there was none or it was not JSON.
    pub body: Value,
}

#[derive(Debug)]
struct State {
    chat: VecDeque<FakeReply>,
    embeddings: VecDeque<FakeReply>,
    requests: Vec<RecordedRequest>,
    default_dimensions: usize,
}

/// The running fake. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct FakeOpenAi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept_loop: JoinHandle<()>,
}

/// The chat answer when no reply is queued.
pub const DEFAULT_TEXT: &str = "Hello from the fake model.";

/// The API key [`FakeOpenAi::settings`] hands out.
pub const FAKE_API_KEY: &str = "sk-fake-test-key";

impl FakeOpenAi {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound: a test cannot run without its fake server.
    #[allow(clippy::expect_used, reason = "test support: fail the test loudly")]
    pub async fn start() -> FakeOpenAi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake OpenAI server to 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("read the fake OpenAI server's address");
        let state = Arc::new(Mutex::new(State {
            chat: VecDeque::new(),
            embeddings: VecDeque::new(),
            requests: Vec::new(),
            default_dimensions: 1536,
        }));
        let accept_loop = tokio::spawn(accept(listener, state.clone()));
        FakeOpenAi {
            addr,
            state,
            accept_loop,
        }
    }

    /// The value for `OPENAI_BASE_URL` (`http://127.0.0.1:<port>/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// A settings lookup pointing the OpenAI provider at this fake, with a fixed API key.
    /// Keys in `extra` are added (and win).
    pub fn settings(&self, extra: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let mut pairs: Vec<(String, String)> = vec![
            ("OPENAI_API_KEY".into(), FAKE_API_KEY.into()),
            ("OPENAI_BASE_URL".into(), self.base_url()),
        ];
        pairs.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        move |key| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        }
    }

    /// Queues the answer to the next `/chat/completions` request.
    pub fn push_chat(&self, reply: FakeReply) {
        self.lock().chat.push_back(reply);
    }

    /// Queues the answer to the next `/embeddings` request.
    pub fn push_embedding(&self, reply: FakeReply) {
        self.lock().embeddings.push_back(reply);
    }

    /// The embedding length used when a request does not ask for `dimensions`.
    pub fn set_default_dimensions(&self, dimensions: usize) {
        self.lock().default_dimensions = dimensions;
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide its failure behind ours.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Body = UnsyncBoxBody<Bytes, std::io::Error>;

async fn accept(listener: TcpListener, state: Arc<Mutex<State>>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(state.clone(), request));
            // Errors here are clients hanging up (timeouts under test): nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);

    let (reply, default_dimensions) = {
        let mut state = lock(&state);
        state.requests.push(RecordedRequest {
            method,
            path: path.clone(),
            authorization,
            body: body.clone(),
        });
        let queue = if path.ends_with("/chat/completions") {
            Some(&mut state.chat)
        } else if path.ends_with("/embeddings") {
            Some(&mut state.embeddings)
        } else {
            None
        };
        let reply = queue
            .and_then(VecDeque::pop_front)
            .unwrap_or(FakeReply::Default);
        (reply, state.default_dimensions)
    };

    let mut reply = reply;
    while let FakeReply::Delayed(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }

    let response = if path.ends_with("/chat/completions") {
        chat(&body, reply)
    } else if path.ends_with("/embeddings") {
        embeddings(&body, reply, default_dimensions)
    } else if path.ends_with("/models") {
        json_response(
            StatusCode::OK,
            &json!({"object": "list", "data": [{"id": "fake-model", "object": "model"}]}),
        )
    } else {
        error_response(404, &format!("no route for {path}"), None)
    };
    Ok(response)
}

fn chat(body: &Value, reply: FakeReply) -> Response<Body> {
    let model = body["model"].as_str().unwrap_or("fake-model").to_owned();
    let streamed = body["stream"].as_bool().unwrap_or(false);
    let (chunks, pause, broken) = match reply {
        FakeReply::Default => (vec![DEFAULT_TEXT.to_owned()], Duration::ZERO, false),
        FakeReply::Text(text) => (vec![text], Duration::ZERO, false),
        FakeReply::Chunks(chunks) => (chunks, Duration::ZERO, false),
        FakeReply::SlowChunks { chunks, pause } => (chunks, pause, false),
        FakeReply::BrokenStream(chunks) => (chunks, Duration::ZERO, true),
        other => return special(other),
    };
    if !streamed {
        return json_response(
            StatusCode::OK,
            &json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": chunks.concat()},
                    "finish_reason": "stop"
                }],
                "usage": {"prompt_tokens": 10, "completion_tokens": chunks.len(), "total_tokens": 10 + chunks.len()}
            }),
        );
    }
    sse_response(model, chunks, pause, broken)
}

fn sse_response(
    model: String,
    chunks: Vec<String>,
    pause: Duration,
    broken: bool,
) -> Response<Body> {
    let event = move |delta: Value, finish: Value| {
        let chunk = json!({
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        Bytes::from(format!("data: {chunk}\n\n"))
    };
    // A role-only first chunk and a content-less finish chunk, as OpenAI sends them.
    let mut events = vec![(
        Duration::ZERO,
        event(json!({"role": "assistant"}), Value::Null),
    )];
    events.extend(
        chunks
            .into_iter()
            .map(|c| (pause, event(json!({"content": c}), Value::Null))),
    );
    if !broken {
        events.push((Duration::ZERO, event(json!({}), json!("stop"))));
        events.push((Duration::ZERO, Bytes::from_static(b"data: [DONE]\n\n")));
    }
    let frames = stream::iter(events)
        .then(|(pause, bytes)| async move {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            Ok::<_, std::io::Error>(Frame::data(bytes))
        })
        .chain(stream::iter(broken.then_some(())).then(|()| async {
            // Let hyper flush the head and the chunks first, or the client would see a failed
            // request (and retry it) instead of a stream cut in the middle.
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fake stream broken on purpose",
            ))
        }));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(StreamBody::new(frames).boxed_unsync())
        .unwrap_or_else(|_| error_response(500, "cannot build the response", None))
}

fn embeddings(body: &Value, reply: FakeReply, default_dimensions: usize) -> Response<Body> {
    let dimensions = body["dimensions"]
        .as_u64()
        .and_then(|d| usize::try_from(d).ok())
        .unwrap_or(default_dimensions);
    let inputs: Vec<String> = match &body["input"] {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect(),
        _ => return error_response(400, "'input' is required", None),
    };
    let vectors: Vec<Vec<f32>> = match reply {
        FakeReply::Embedding(vector) => vec![vector],
        FakeReply::Default | FakeReply::Text(_) | FakeReply::Chunks(_) => inputs
            .iter()
            .map(|text| hash_embedding(text, dimensions))
            .collect(),
        other => return special(other),
    };
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(index, embedding)| json!({"object": "embedding", "index": index, "embedding": embedding}))
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

/// Replies that mean the same on every endpoint: statuses and raw bodies.
fn special(reply: FakeReply) -> Response<Body> {
    match reply {
        FakeReply::Status {
            status,
            message,
            retry_after,
        } => error_response(status, &message, retry_after.as_deref()),
        FakeReply::Raw(body) => raw_response(StatusCode::OK, "application/json", body),
        other => error_response(
            500,
            &format!("the fake cannot send {other:?} on this endpoint"),
            None,
        ),
    }
}

fn error_response(status: u16, message: &str, retry_after: Option<&str>) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(
        status,
        &json!({"error": {"message": message, "type": "fake_error", "code": null}}),
    );
    if let Some(value) = retry_after.and_then(|v| hyper::header::HeaderValue::from_str(v).ok()) {
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, value);
    }
    response
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    raw_response(status, "application/json", value.to_string())
}

fn raw_response(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}
