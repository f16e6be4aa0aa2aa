//! Reading a chat-completions stream (`data: {…}` … `data: [DONE]`).

use reqwest::Response;

use super::wire::{ChatChunk, ChatCompletion};
use super::{PROVIDER_NAME, completion_text};
use crate::error::ModelError;
use crate::http::HttpClient;
use crate::request::TextStream;
use crate::stream::{
    Framing, StreamEvent, StreamFormat, event_stream, is_json, mid_stream_error, parse_event,
    whole_answer,
};

/// Some compatible servers end the body without `[DONE]`; that is a normal end.
const FORMAT: StreamFormat = StreamFormat {
    framing: Framing::ServerSentEvents,
    end_event_required: false,
};

/// Builds the chunk stream. A server that ignored `stream: true` and answered plain JSON is
/// accepted: its whole text becomes the single chunk.
pub(super) fn text_stream(http: HttpClient, response: Response) -> TextStream {
    if is_json(&response) {
        return whole_answer(http, response, |completion: ChatCompletion| {
            completion_text(PROVIDER_NAME, completion).map(|r| r.text)
        });
    }
    event_stream(http, response, FORMAT, chunk_event)
}

fn chunk_event(data: &str) -> Result<StreamEvent, ModelError> {
    if data.trim() == "[DONE]" {
        return Ok(StreamEvent::end());
    }
    let chunk: ChatChunk = parse_event(PROVIDER_NAME, data)?;
    if let Some(error) = &chunk.error {
        return Err(mid_stream_error(PROVIDER_NAME, error));
    }
    // Role-only and finish chunks carry no text: they come out empty and are skipped.
    let text = chunk
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.delta)
        .and_then(|d| d.content)
        .unwrap_or_default();
    Ok(StreamEvent::text(text))
}
