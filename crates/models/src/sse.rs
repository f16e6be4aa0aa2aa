//! A small Server-Sent Events decoder: bytes in, `data` payloads out.
//!
//! Why not a crate: the streams we read (OpenAI, Anthropic) only need the `data:` lines, and
//! owning the decoder lets us bound memory ([`LineBuffer`]) and never fail on invalid UTF-8.

use crate::lines::{EventTooLarge, LineBuffer, MAX_EVENT_BYTES};

#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    lines: LineBuffer,
    data: Vec<String>,
    data_len: usize,
}

impl SseDecoder {
    /// Feeds the next bytes of the body; returns the `data` of every event they complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLarge> {
        let mut events = Vec::new();
        for line in self.lines.feed(bytes)? {
            events.extend(self.end_line(&line)?);
        }
        Ok(events)
    }

    /// The body ended: returns the last event if the server did not close it with a blank line.
    pub(crate) fn finish(&mut self) -> Result<Option<String>, EventTooLarge> {
        if let Some(line) = self.lines.finish()
            && let Some(event) = self.end_line(&line)?
        {
            return Ok(Some(event));
        }
        Ok(self.dispatch())
    }

    fn end_line(&mut self, line: &[u8]) -> Result<Option<String>, EventTooLarge> {
        if line.is_empty() {
            return Ok(self.dispatch());
        }
        if let Some(value) = line.strip_prefix(b"data:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            self.data_len += value.len() + 1;
            if self.data_len > MAX_EVENT_BYTES {
                return Err(EventTooLarge);
            }
            self.data.push(String::from_utf8_lossy(value).into_owned());
        }
        // Comments (`:`) and the `event`, `id` and `retry` fields carry nothing we use: the
        // JSON of every event we read names its own type.
        Ok(None)
    }

    fn dispatch(&mut self) -> Option<String> {
        self.data_len = 0;
        if self.data.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.data).join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(parts: &[&[u8]]) -> Vec<String> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for p in parts {
            out.extend(d.feed(p).unwrap_or_default());
        }
        out.extend(d.finish().ok().flatten());
        out
    }

    #[test]
    fn splits_events_on_blank_lines_across_chunk_boundaries() {
        let out = feed_all(&[b"data: {\"a\"", b":1}\n\nda", b"ta: [DONE]\n\n"]);
        assert_eq!(out, vec!["{\"a\":1}", "[DONE]"]);
    }

    #[test]
    fn handles_crlf_comments_other_fields_and_multi_line_data() {
        let out = feed_all(&[b": keep-alive\r\nevent: x\r\ndata: one\r\ndata:two\r\n\r\n"]);
        assert_eq!(out, vec!["one\ntwo"]);
    }

    #[test]
    fn flushes_an_unterminated_last_event() {
        assert_eq!(feed_all(&[b"data: last"]), vec!["last"]);
        assert_eq!(feed_all(&[b"data: last\n"]), vec!["last"]);
    }

    #[test]
    fn multi_byte_characters_split_between_chunks_survive() {
        let text = "data: héllo\n\n".as_bytes();
        let (a, b) = text.split_at(8);
        assert_eq!(feed_all(&[a, b]), vec!["héllo"]);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(feed_all(&[b"data: \xff\n\n"]), vec!["\u{fffd}"]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut d = SseDecoder::default();
        let big = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert_eq!(d.feed(&big), Err(EventTooLarge));
    }

    #[test]
    fn many_data_lines_cannot_add_up_to_an_endless_event() {
        let mut d = SseDecoder::default();
        let line = format!("data: {}\n", "x".repeat(MAX_EVENT_BYTES / 2));
        assert_eq!(d.feed(line.as_bytes()).map(|e| e.len()), Ok(0));
        assert_eq!(d.feed(line.as_bytes()), Err(EventTooLarge));
    }
}
