//! Turning a streamed HTTP body into a [`TextStream`], whatever the wire format: OpenAI and
//! Anthropic send server-sent events, Ollama one JSON object per line.
//!
//! Shared here: the framing, the idle timeout between chunks, and the rule that an error ends
//! the stream. Each provider only says what one event means ([`StreamEvent`]).

use std::collections::VecDeque;

use futures_util::stream;
use reqwest::Response;
use reqwest::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use crate::error::{ModelError, Unavailability};
use crate::http::{HttpClient, describe_error, excerpt, root_cause};
use crate::lines::{EventTooLarge, LineBuffer};
use crate::request::TextStream;
use crate::sse::SseDecoder;

/// How events are cut out of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// `data:` payloads of server-sent events.
    ServerSentEvents,
    /// One JSON document per non-blank line (`application/x-ndjson`).
    JsonLines,
}

/// How a stream of one API looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamFormat {
    pub framing: Framing,
    /// Whether the API always marks the end with an event. When it does, a body ending before
    /// that event is an interrupted stream, not a complete answer.
    pub end_event_required: bool,
}

/// What one event of the stream means to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct StreamEvent {
    /// Text to hand out; empty text (role-only chunks, pings, usage reports) is skipped.
    pub text: String,
    /// The model is done: nothing after this event is read.
    pub end: bool,
}

impl StreamEvent {
    pub(crate) fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            end: false,
        }
    }

    pub(crate) fn nothing() -> Self {
        Self::default()
    }

    pub(crate) fn end() -> Self {
        Self {
            text: String::new(),
            end: true,
        }
    }
}

/// Streams the events of `response`; `on_event` reads each one. An `Err` from it, a broken
/// connection, an idle timeout or an unreadable body ends the stream with an `Err` item.
pub(crate) fn event_stream<H>(
    http: HttpClient,
    response: Response,
    format: StreamFormat,
    on_event: H,
) -> TextStream
where
    H: FnMut(&str) -> Result<StreamEvent, ModelError> + Send + 'static,
{
    let decoder = match format.framing {
        Framing::ServerSentEvents => Decoder::Sse(SseDecoder::default()),
        Framing::JsonLines => Decoder::JsonLines(LineBuffer::default()),
    };
    let state = EventStream {
        http,
        response,
        decoder,
        on_event,
        end_event_required: format.end_event_required,
        ready: VecDeque::new(),
        finished: false,
    };
    Box::pin(stream::unfold(state, EventStream::next))
}

/// True when the server answered one JSON document: some servers ignore `stream: true`.
pub(crate) fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// A stream of one item: the whole JSON answer of a server that did not stream, read within
/// the idle timeout and turned into text by `to_text`.
pub(crate) fn whole_answer<T, F>(http: HttpClient, response: Response, to_text: F) -> TextStream
where
    T: DeserializeOwned + Send + 'static,
    F: FnOnce(T) -> Result<String, ModelError> + Send + 'static,
{
    Box::pin(stream::once(async move {
        let idle = http.options.stream_idle_timeout;
        match tokio::time::timeout(idle, http.read_json::<T>(response)).await {
            Ok(parsed) => parsed.and_then(to_text),
            Err(_) => Err(http.unavailable(Unavailability::TimedOut(idle))),
        }
    }))
}

/// Parses one event's JSON; anything else is an [`ModelError::InvalidResponse`].
pub(crate) fn parse_event<T: DeserializeOwned>(
    provider: &str,
    data: &str,
) -> Result<T, ModelError> {
    serde_json::from_str(data).map_err(|e| {
        ModelError::invalid_response(
            provider,
            format!(
                "unreadable stream event ({e}): {}",
                excerpt(data.as_bytes())
            ),
        )
    })
}

/// The error of an error event in the middle of a stream.
pub(crate) fn mid_stream_error(provider: &str, error: &serde_json::Value) -> ModelError {
    ModelError::invalid_response(
        provider,
        format!(
            "the server reported an error mid-stream: {}",
            describe_error(error)
        ),
    )
}

enum Decoder {
    Sse(SseDecoder),
    JsonLines(LineBuffer),
}

impl Decoder {
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLarge> {
        match self {
            Self::Sse(sse) => sse.feed(bytes),
            Self::JsonLines(lines) => Ok(lines
                .feed(bytes)?
                .iter()
                .filter_map(|line| json_line(line))
                .collect()),
        }
    }

    fn finish(&mut self) -> Result<Option<String>, EventTooLarge> {
        match self {
            Self::Sse(sse) => sse.finish(),
            Self::JsonLines(lines) => Ok(lines.finish().and_then(|line| json_line(&line))),
        }
    }
}

/// A JSON line's text; blank lines (keep-alives) are no event.
fn json_line(line: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(line);
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

struct EventStream<H> {
    http: HttpClient,
    response: Response,
    decoder: Decoder,
    on_event: H,
    end_event_required: bool,
    /// Items decoded but not yet handed out (one network chunk may hold several events).
    ready: VecDeque<Result<String, ModelError>>,
    /// No more reads: the end event, the end of the body or an error.
    finished: bool,
}

impl<H> EventStream<H>
where
    H: FnMut(&str) -> Result<StreamEvent, ModelError>,
{
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
        match tokio::time::timeout(idle, self.response.chunk()).await {
            Err(_) => self.fail(self.http.unavailable(Unavailability::TimedOut(idle))),
            Ok(Err(error)) => {
                let reason = Unavailability::StreamInterrupted(root_cause(&error));
                self.fail(self.http.unavailable(reason));
            }
            Ok(Ok(Some(bytes))) => match self.decoder.feed(&bytes) {
                Ok(events) => events.iter().for_each(|e| self.event(e)),
                Err(e) => self.fail(self.too_large(&e)),
            },
            Ok(Ok(None)) => self.end_of_body(),
        }
    }

    fn end_of_body(&mut self) {
        match self.decoder.finish() {
            Ok(Some(event)) => self.event(&event),
            Ok(None) => {}
            Err(e) => self.fail(self.too_large(&e)),
        }
        if self.finished {
            return;
        }
        self.finished = true;
        if self.end_event_required {
            let reason = Unavailability::StreamInterrupted(
                "the body ended before the end-of-stream event".to_owned(),
            );
            self.fail(self.http.unavailable(reason));
        }
    }

    fn event(&mut self, data: &str) {
        if self.finished {
            return;
        }
        match (self.on_event)(data) {
            Ok(event) => {
                if !event.text.is_empty() {
                    self.ready.push_back(Ok(event.text));
                }
                self.finished = event.end;
            }
            Err(error) => self.fail(error),
        }
    }

    fn too_large(&self, error: &EventTooLarge) -> ModelError {
        ModelError::invalid_response(self.http.provider(), error.to_string())
    }

    fn fail(&mut self, error: ModelError) {
        self.ready.push_back(Err(error));
        self.finished = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_skip_blank_keep_alive_lines_and_flush_the_last_one() {
        let mut decoder = Decoder::JsonLines(LineBuffer::default());
        let events = decoder.feed(b"{\"a\":1}\n\n  \r\n{\"b\":").ok();
        assert_eq!(events, Some(vec!["{\"a\":1}".to_owned()]));
        assert_eq!(decoder.feed(b"2}").ok(), Some(Vec::new()));
        assert_eq!(
            decoder.finish().ok().flatten().as_deref(),
            Some("{\"b\":2}")
        );
        assert_eq!(decoder.finish().ok().flatten(), None);
    }
}
