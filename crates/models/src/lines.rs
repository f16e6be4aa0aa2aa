//! Splitting a streamed body into lines, the first step of both stream framings we read:
//! server-sent events (OpenAI, Anthropic) and one JSON object per line (Ollama).
//!
//! Bounded on purpose: a server that never sends a newline must not grow a buffer without limit.

/// The longest line or event we accept; stream events are a few hundred bytes.
pub(crate) const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stream event exceeded {MAX_EVENT_BYTES} bytes")]
pub(crate) struct EventTooLarge;

/// Collects bytes until a `\n`; hands out complete lines without their `\n` or `\r\n`.
#[derive(Debug, Default)]
pub(crate) struct LineBuffer {
    partial: Vec<u8>,
}

impl LineBuffer {
    /// Feeds the next bytes of the body; returns the lines they complete, in order.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, EventTooLarge> {
        let mut lines = Vec::new();
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            self.extend(&bytes[..end])?;
            lines.push(without_cr(std::mem::take(&mut self.partial)));
            bytes = &bytes[end + 1..];
        }
        self.extend(bytes)?;
        Ok(lines)
    }

    /// The body ended: the last line if the server did not end it with a newline.
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.partial);
        (!rest.is_empty()).then(|| without_cr(rest))
    }

    fn extend(&mut self, bytes: &[u8]) -> Result<(), EventTooLarge> {
        if self.partial.len() + bytes.len() > MAX_EVENT_BYTES {
            return Err(EventTooLarge);
        }
        self.partial.extend_from_slice(bytes);
        Ok(())
    }
}

fn without_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(parts: &[&[u8]]) -> Vec<String> {
        let mut buffer = LineBuffer::default();
        let mut out: Vec<Vec<u8>> = Vec::new();
        for part in parts {
            out.extend(buffer.feed(part).unwrap_or_default());
        }
        out.extend(buffer.finish());
        out.into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect()
    }

    #[test]
    fn lines_span_chunks_and_lose_their_line_endings() {
        assert_eq!(
            lines(&[b"one\r\ntw", b"o\n\nthr", b"ee"]),
            ["one", "two", "", "three"]
        );
        assert_eq!(lines(&[b"last\n"]), ["last"]);
        assert!(lines(&[]).is_empty());
    }

    #[test]
    fn an_endless_line_is_refused_even_in_small_pieces() {
        let mut buffer = LineBuffer::default();
        let half = vec![b'x'; MAX_EVENT_BYTES / 2 + 1];
        assert!(buffer.feed(&half).is_ok());
        assert_eq!(buffer.feed(&half), Err(EventTooLarge));
    }
}
