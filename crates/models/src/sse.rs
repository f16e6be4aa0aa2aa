//! A small Server-Sent Events decoder: bytes in, `data` payloads out.
//!
//! Why not a crate: OpenAI-style streams only use `data:` lines, and owning the decoder lets us
//! bound memory (a server that never sends a newline must not grow a buffer without limit) and
//! never fail on invalid UTF-8.

/// The largest event we accept; chat chunks are a few hundred bytes.
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    line: Vec<u8>,
    data: Vec<String>,
    data_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a server-sent event exceeded {MAX_EVENT_BYTES} bytes")]
pub(crate) struct EventTooLarge;

impl SseDecoder {
    /// Feeds the next bytes of the body; returns the `data` of every event they complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, EventTooLarge> {
        let mut events = Vec::new();
        for &byte in bytes {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.line);
                if let Some(event) = self.end_line(&line)? {
                    events.push(event);
                }
            } else {
                self.line.push(byte);
                if self.line.len() > MAX_EVENT_BYTES {
                    return Err(EventTooLarge);
                }
            }
        }
        Ok(events)
    }

    /// The body ended: returns the last event if the server did not close it with a blank line.
    pub(crate) fn finish(&mut self) -> Result<Option<String>, EventTooLarge> {
        let line = std::mem::take(&mut self.line);
        if let Some(event) = self.end_line(&line)? {
            return Ok(Some(event));
        }
        Ok(self.dispatch())
    }

    fn end_line(&mut self, line: &[u8]) -> Result<Option<String>, EventTooLarge> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
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
        // Comments (`:`) and the `event`, `id` and `retry` fields carry nothing we use.
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
}
