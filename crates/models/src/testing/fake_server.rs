//! The plumbing shared by the fake model servers (OpenAI, Ollama, Anthropic): binding to
//! 127.0.0.1, serving, recording requests, per-endpoint reply queues, delays, and building
//! plain, error and streamed answers. Each fake only describes its API ([`FakeApi`]).
//!
//! Built on hyper 1 + hyper-util directly: both are already in the dependency tree through
//! reqwest, so the fakes cost no new crates, and a hand-written router of a few paths is
//! smaller than an axum setup (actix-web is off limits for this crate's layer).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::form::{FormField, parse_form};
use super::hash_embedding;

/// The text answer when no reply is queued.
pub(crate) const DEFAULT_TEXT: &str = "Hello from the fake model.";

/// What a fake answers to the next request of an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum FakeReply {
    /// The endpoint's normal answer: the default text for text endpoints, a hash embedding for
    /// embeddings. Useful inside [`FakeReply::Delayed`].
    Default,
    /// A text answer. Sent as one chunk when the request asks for a stream.
    Text(String),
    /// A streamed answer, chunk by chunk (joined into one text for a non-streamed request).
    Chunks(Vec<String>),
    /// Like `Chunks`, with a pause before each chunk.
    SlowChunks {
        chunks: Vec<String>,
        pause: Duration,
    },
    /// Streams these chunks, then drops the connection without the end-of-stream marker.
    BrokenStream(Vec<String>),
    /// Streams these chunks, then the API's in-band error (an OpenAI `error` chunk, an Ollama
    /// `{"error": …}` line, an Anthropic `error` event). Not streamed: HTTP 500 with `message`.
    StreamError {
        chunks: Vec<String>,
        message: String,
    },
    /// An error status with the API's error body and an optional `Retry-After` value.
    Status {
        status: u16,
        message: String,
        retry_after: Option<String>,
    },
    /// This exact body with status 200 and `Content-Type: application/json` (garbage tests).
    Raw(String),
    /// This exact body with status 200 and this content type (audio, a hand-written stream);
    /// an empty content type sends no `Content-Type` header.
    Bytes { content_type: String, body: Vec<u8> },
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

    pub fn stream_error<S: Into<String>>(
        chunks: impl IntoIterator<Item = S>,
        message: impl Into<String>,
    ) -> Self {
        Self::StreamError {
            chunks: chunks.into_iter().map(Into::into).collect(),
            message: message.into(),
        }
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

    pub fn bytes(content_type: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::Bytes {
            content_type: content_type.into(),
            body: body.into(),
        }
    }

    /// A server-sent events body made of these `data:` payloads, as written.
    pub fn events<S: AsRef<str>>(events: impl IntoIterator<Item = S>) -> Self {
        let body: String = events
            .into_iter()
            .map(|data| format!("data: {}\n\n", data.as_ref()))
            .collect();
        Self::bytes("text/event-stream", body)
    }

    pub fn delayed(delay: Duration, reply: FakeReply) -> Self {
        Self::Delayed(delay, Box::new(reply))
    }

    /// No answer for an hour: for timeout tests, which give up long before.
    pub fn hang() -> Self {
        Self::delayed(Duration::from_secs(3600), Self::Default)
    }
}

/// One request a fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Every header, by lower-case name.
    pub headers: BTreeMap<String, String>,
    /// The JSON body, or `Value::Null` when there was none or it was not JSON.
    pub body: Value,
    /// The body as received.
    pub raw_body: Vec<u8>,
}

impl RecordedRequest {
    /// A header's value; `name` in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The fields of a `multipart/form-data` body, in order; `None` when the body is not a
    /// well-formed form.
    pub fn form_fields(&self) -> Option<Vec<FormField>> {
        parse_form(self.header("content-type")?, &self.raw_body)
    }
}

pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// What makes one fake API different from another.
pub(crate) trait FakeApi: Send + Sync + 'static {
    /// The reply queue serving `path`; `None` for paths answered without one.
    fn endpoint(&self, path: &str) -> Option<&'static str>;

    /// An error body in the API's shape.
    fn error_body(&self, message: &str) -> Value;

    /// The answer to `request` with `reply`. Statuses, raw bodies and delays are handled
    /// before, the same way for every API.
    fn respond(&self, context: &Exchange<'_>, reply: FakeReply) -> Response<Body>;
}

/// What [`FakeApi::respond`] knows about the request it answers.
pub(crate) struct Exchange<'a> {
    pub endpoint: Option<&'static str>,
    pub request: &'a RecordedRequest,
    pub embedding_dimensions: usize,
}

#[derive(Debug, Default)]
struct State {
    queues: HashMap<&'static str, VecDeque<FakeReply>>,
    requests: Vec<RecordedRequest>,
    embedding_dimensions: usize,
}

/// A running fake. Dropping it stops accepting connections.
#[derive(Debug)]
pub(crate) struct FakeServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept_loop: JoinHandle<()>,
}

impl FakeServer {
    /// Starts serving `api` on an ephemeral port of 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound: a test cannot run without its fake server.
    #[allow(clippy::expect_used, reason = "test support: fail the test loudly")]
    pub(crate) async fn start(api: impl FakeApi, embedding_dimensions: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a fake model server to 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("read the fake model server's address");
        let state = Arc::new(Mutex::new(State {
            embedding_dimensions,
            ..State::default()
        }));
        let accept_loop = tokio::spawn(accept(listener, Arc::new(api), state.clone()));
        Self {
            addr,
            state,
            accept_loop,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues the answer to the next request of `endpoint`.
    pub(crate) fn push(&self, endpoint: &'static str, reply: FakeReply) {
        self.lock()
            .queues
            .entry(endpoint)
            .or_default()
            .push_back(reply);
    }

    pub(crate) fn set_embedding_dimensions(&self, dimensions: usize) {
        self.lock().embedding_dimensions = dimensions;
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// A settings lookup over `pairs`, with `extra` added (and winning).
pub(crate) fn settings_lookup(
    mut pairs: Vec<(String, String)>,
    extra: &[(&str, &str)],
) -> impl Fn(&str) -> Option<String> + use<> {
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

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A test that panicked while holding the lock must not hide its failure behind ours.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn accept(listener: TcpListener, api: Arc<dyn FakeApi>, state: Arc<Mutex<State>>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(api.clone(), state.clone(), request));
            // Errors here are clients hanging up (timeouts under test): nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn handle(
    api: Arc<dyn FakeApi>,
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let request = record(request).await;
    let endpoint = api.endpoint(&request.path);
    let (reply, embedding_dimensions) = {
        let mut state = lock(&state);
        state.requests.push(request.clone());
        let reply = endpoint
            .and_then(|e| state.queues.get_mut(e))
            .and_then(VecDeque::pop_front)
            .unwrap_or(FakeReply::Default);
        (reply, state.embedding_dimensions)
    };
    let response = match after_delays(reply).await {
        FakeReply::Status {
            status,
            message,
            retry_after,
        } => error_response(status, &api.error_body(&message), retry_after.as_deref()),
        FakeReply::Raw(body) => raw_response(StatusCode::OK, "application/json", body),
        FakeReply::Bytes { content_type, body } => {
            raw_response(StatusCode::OK, &content_type, body)
        }
        reply => {
            let exchange = Exchange {
                endpoint,
                request: &request,
                embedding_dimensions,
            };
            api.respond(&exchange, reply)
        }
    };
    Ok(response)
}

async fn record(request: Request<Incoming>) -> RecordedRequest {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let bytes = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    RecordedRequest {
        method,
        path,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        raw_body: bytes.to_vec(),
    }
}

async fn after_delays(mut reply: FakeReply) -> FakeReply {
    while let FakeReply::Delayed(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    reply
}

/// A text answer as a fake sends it, from a text reply.
pub(crate) struct TextScript {
    pub chunks: Vec<String>,
    pause: Duration,
    ending: Ending,
}

enum Ending {
    Complete,
    /// The connection drops after the chunks.
    Broken,
    /// The API's in-band error follows the chunks.
    Error(String),
}

/// How one API streams text: the frames around the chunks.
pub(crate) trait StreamShape {
    const CONTENT_TYPE: &'static str;
    /// The frames before the first chunk.
    fn head(&self) -> Vec<Bytes>;
    fn chunk(&self, text: &str) -> Bytes;
    /// The frames after the last chunk of a complete stream.
    fn tail(&self, chunk_count: usize) -> Vec<Bytes>;
    fn error(&self, message: &str) -> Bytes;
}

impl TextScript {
    /// The script of a text reply; any other reply comes back as the error.
    pub(crate) fn from_reply(reply: FakeReply, default_text: &str) -> Result<Self, FakeReply> {
        let script = |chunks, pause, ending| Self {
            chunks,
            pause,
            ending,
        };
        Ok(match reply {
            FakeReply::Default => script(
                vec![default_text.to_owned()],
                Duration::ZERO,
                Ending::Complete,
            ),
            FakeReply::Text(text) => script(vec![text], Duration::ZERO, Ending::Complete),
            FakeReply::Chunks(chunks) => script(chunks, Duration::ZERO, Ending::Complete),
            FakeReply::SlowChunks { chunks, pause } => script(chunks, pause, Ending::Complete),
            FakeReply::BrokenStream(chunks) => script(chunks, Duration::ZERO, Ending::Broken),
            FakeReply::StreamError { chunks, message } => {
                script(chunks, Duration::ZERO, Ending::Error(message))
            }
            other => return Err(other),
        })
    }

    /// The whole text, for a non-streamed answer.
    pub(crate) fn text(&self) -> String {
        self.chunks.concat()
    }

    /// The in-band error message, which a non-streamed answer turns into an error status.
    pub(crate) fn error_message(&self) -> Option<&str> {
        match &self.ending {
            Ending::Error(message) => Some(message),
            Ending::Complete | Ending::Broken => None,
        }
    }

    /// The streamed answer in `shape`.
    pub(crate) fn streamed<S: StreamShape>(self, shape: &S) -> Response<Body> {
        let mut frames: Vec<(Duration, Bytes)> = shape
            .head()
            .into_iter()
            .map(|f| (Duration::ZERO, f))
            .collect();
        let count = self.chunks.len();
        frames.extend(self.chunks.iter().map(|c| (self.pause, shape.chunk(c))));
        let ending: Vec<Bytes> = match &self.ending {
            Ending::Complete => shape.tail(count),
            Ending::Error(message) => vec![shape.error(message)],
            Ending::Broken => Vec::new(),
        };
        frames.extend(ending.into_iter().map(|f| (Duration::ZERO, f)));
        streamed_response(
            S::CONTENT_TYPE,
            frames,
            matches!(self.ending, Ending::Broken),
        )
    }
}

/// A body sent frame by frame, each after its pause; `broken` drops the connection at the end.
fn streamed_response(
    content_type: &str,
    frames: Vec<(Duration, Bytes)>,
    broken: bool,
) -> Response<Body> {
    let frames = stream::iter(frames)
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
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    set_content_type(&mut response, content_type);
    response
        .headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-cache"));
    response
}

/// The inputs of an embedding request: `input` as one string or an array of them.
pub(crate) fn embedding_inputs(body: &Value) -> Option<Vec<String>> {
    match &body["input"] {
        Value::String(text) => Some(vec![text.clone()]),
        Value::Array(items) => Some(
            items
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
        ),
        _ => None,
    }
}

/// The vectors an embedding reply stands for: the scripted one, or a hash embedding of each
/// input. Any other reply comes back as the error.
pub(crate) fn embedding_vectors(
    reply: FakeReply,
    inputs: &[String],
    dimensions: usize,
) -> Result<Vec<Vec<f32>>, FakeReply> {
    match reply {
        FakeReply::Embedding(vector) => Ok(vec![vector]),
        FakeReply::Default | FakeReply::Text(_) | FakeReply::Chunks(_) => Ok(inputs
            .iter()
            .map(|text| hash_embedding(text, dimensions))
            .collect()),
        other => Err(other),
    }
}

/// The answer to a reply an endpoint cannot send (a test's mistake): a 500 that says so.
pub(crate) fn unsendable(api: &dyn FakeApi, reply: &FakeReply) -> Response<Body> {
    let message = format!("the fake cannot send {reply:?} on this endpoint");
    error_response(500, &api.error_body(&message), None)
}

pub(crate) fn error_response(
    status: u16,
    body: &Value,
    retry_after: Option<&str>,
) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, body);
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    raw_response(status, "application/json", value.to_string())
}

pub(crate) fn raw_response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(
        Full::new(body.into())
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    set_content_type(&mut response, content_type);
    response
}

/// Sets the `Content-Type`; an empty one sends none.
fn set_content_type(response: &mut Response<Body>, content_type: &str) {
    if content_type.is_empty() {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(CONTENT_TYPE, value);
    }
}
