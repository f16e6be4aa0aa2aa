//! Turning a chat-completions SSE body (`data: {…}` … `data: [DONE]`) into a [`TextStream`].

use std::collections::VecDeque;

use futures_util::stream;
use reqwest::Response;
use reqwest::header::CONTENT_TYPE;

use super::wire::{ChatChunk, ChatCompletion, describe_error};
use crate::error::{ModelError, Unavailability};
use crate::http::{HttpClient, excerpt, root_cause};
use crate::request::TextStream;
use crate::sse::SseDecoder;

/// Builds the chunk stream. A server that ignored `stream: true` and answered plain JSON is
/// accepted: its whole text becomes the single chunk.
pub(super) async fn text_stream(http: HttpClient, response: Response) -> TextStream {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        let idle = http.options.stream_idle_timeout;
        let result =
            match tokio::time::timeout(idle, http.read_json::<ChatCompletion>(response)).await {
                Ok(parsed) => {
                    parsed.and_then(|c| super::completion_text(http.provider(), c).map(|r| r.text))
                }
                Err(_) => Err(http.unavailable(Unavailability::TimedOut(idle))),
            };
        return Box::pin(stream::iter([result]));
    }
    let state = SseState {
        http,
        response,
        decoder: SseDecoder::default(),
        ready: VecDeque::new(),
        finished: false,
    };
    Box::pin(stream::unfold(state, SseState::next))
}

struct SseState {
    http: HttpClient,
    response: Response,
    decoder: SseDecoder,
    /// Items decoded but not yet handed out (one network chunk may hold several events).
    ready: VecDeque<Result<String, ModelError>>,
    /// No more reads: `[DONE]`, end of body or an error.
    finished: bool,
}

impl SseState {
    async fn next(mut self) -> Option<(Result<String, ModelError>, Self)> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                if item.is_err() {
                    // An error ends the stream; nothing after it is trustworthy.
                    self.ready.clear();
                    self.finished = true;
                }
                return Some((item, self));
            }
            if self.finished {
                return None;
            }
            self.read_more().await;
        }
    }

    async fn read_more(&mut self) {
        let idle = self.http.options.stream_idle_timeout;
        let read = tokio::time::timeout(idle, self.response.chunk()).await;
        match read {
            Err(_) => self.fail(self.http.unavailable(Unavailability::TimedOut(idle))),
            Ok(Err(error)) => {
                let reason = Unavailability::StreamInterrupted(root_cause(&error));
                self.fail(self.http.unavailable(reason));
            }
            Ok(Ok(Some(bytes))) => match self.decoder.feed(&bytes) {
                Ok(events) => events.into_iter().for_each(|e| self.event(&e)),
                Err(e) => self.fail(ModelError::invalid_response(
                    self.http.provider(),
                    e.to_string(),
                )),
            },
            Ok(Ok(None)) => {
                // Some compatible servers end the body without `[DONE]`; that is a normal end.
                match self.decoder.finish() {
                    Ok(Some(event)) => self.event(&event),
                    Ok(None) => {}
                    Err(e) => self.fail(ModelError::invalid_response(
                        self.http.provider(),
                        e.to_string(),
                    )),
                }
                self.finished = true;
            }
        }
    }

    fn event(&mut self, data: &str) {
        if self.finished {
            return;
        }
        if data.trim() == "[DONE]" {
            self.finished = true;
            return;
        }
        let provider = self.http.provider();
        match serde_json::from_str::<ChatChunk>(data) {
            Ok(ChatChunk {
                error: Some(error), ..
            }) => self.fail(ModelError::invalid_response(
                provider,
                format!(
                    "the server reported an error mid-stream: {}",
                    describe_error(&error)
                ),
            )),
            Ok(chunk) => {
                let text = chunk
                    .choices
                    .into_iter()
                    .next()
                    .and_then(|c| c.delta)
                    .and_then(|d| d.content)
                    .filter(|t| !t.is_empty());
                // Role-only and finish chunks carry no text; skip them.
                if let Some(text) = text {
                    self.ready.push_back(Ok(text));
                }
            }
            Err(e) => self.fail(ModelError::invalid_response(
                provider,
                format!(
                    "unreadable stream event ({e}): {}",
                    excerpt(data.as_bytes())
                ),
            )),
        }
    }

    fn fail(&mut self, error: ModelError) {
        self.ready.push_back(Err(error));
        self.finished = true;
    }
}
