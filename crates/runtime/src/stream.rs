//! Picks the reply text out of a streamed message-handler answer (1.7.2's
//! `ResponseStreamExtractor`): only the inside of `<text>`, and only once `<actions>` says the
//! answer is a plain REPLY, holding back enough to never emit part of the closing tag.

const OPEN: &str = "<text>";
const CLOSE: &str = "</text>";

#[derive(Debug, Default)]
pub struct ReplyStreamExtractor {
    buffer: String,
    /// `Some(true)` once the actions are known to be exactly REPLY.
    streaming: Option<bool>,
    /// Bytes of the text body already emitted.
    emitted: usize,
    done: bool,
}

impl ReplyStreamExtractor {
    pub fn new() -> Self {
        ReplyStreamExtractor::default()
    }

    /// Adds a piece of the answer; returns the new reply text to stream, if any.
    pub fn push(&mut self, piece: &str) -> Option<String> {
        self.buffer.push_str(piece);
        if self.streaming.is_none() {
            self.streaming = self.decide();
        }
        if self.streaming != Some(true) || self.done {
            return None;
        }
        let start = self.buffer.find(OPEN)? + OPEN.len();
        let body = &self.buffer[start..];
        let end = match body.find(CLOSE) {
            Some(end) => {
                self.done = true;
                end
            }
            None => floor_boundary(body, body.len().saturating_sub(CLOSE.len() - 1)),
        };
        if end <= self.emitted {
            return None;
        }
        let out = body[self.emitted..end].to_owned();
        self.emitted = end;
        Some(out)
    }

    /// Whether the whole `<text>` body went out.
    pub fn finished_text(&self) -> Option<String> {
        if !self.done {
            return None;
        }
        let start = self.buffer.find(OPEN)? + OPEN.len();
        let body = &self.buffer[start..];
        body.find(CLOSE).map(|end| body[..end].to_owned())
    }

    /// Whether anything was streamed.
    pub fn streamed(&self) -> bool {
        self.emitted > 0
    }

    fn decide(&self) -> Option<bool> {
        let open = self.buffer.find("<actions>")? + "<actions>".len();
        let close = self.buffer[open..].find("</actions>")?;
        let actions: Vec<&str> = self.buffer[open..open + close]
            .split(',')
            .map(str::trim)
            .filter(|action| !action.is_empty())
            .collect();
        Some(actions.len() == 1 && actions[0].eq_ignore_ascii_case("REPLY"))
    }
}

fn floor_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&str]) -> (Vec<String>, ReplyStreamExtractor) {
        let mut extractor = ReplyStreamExtractor::new();
        let out = pieces.iter().filter_map(|p| extractor.push(p)).collect();
        (out, extractor)
    }

    #[test]
    fn streams_only_the_text_of_a_plain_reply() {
        let (out, extractor) = run(&[
            "<response><thought>t</thought><actions>REP",
            "LY</actions><text>Hel",
            "lo wor",
            "ld, ça va?</te",
            "xt></response>",
        ]);
        assert_eq!(out.concat(), "Hello world, ça va?");
        assert!(out.iter().all(|piece| !piece.contains('<')));
        assert_eq!(
            extractor.finished_text().as_deref(),
            Some("Hello world, ça va?")
        );
    }

    #[test]
    fn other_actions_are_not_streamed() {
        let (out, extractor) =
            run(&["<response><actions>REPLY,FOLLOW_ROOM</actions><text>hi</text>"]);
        assert!(out.is_empty());
        assert!(!extractor.streamed());
    }

    #[test]
    fn text_before_actions_is_held_until_the_actions_are_known() {
        let mut extractor = ReplyStreamExtractor::new();
        assert_eq!(extractor.push("<response><text>hi</text>"), None);
        assert_eq!(
            extractor.push("<actions>REPLY</actions>").as_deref(),
            Some("hi")
        );
        let mut extractor = ReplyStreamExtractor::new();
        assert_eq!(extractor.push("<response><text>hi</text>"), None);
        assert_eq!(extractor.push("<actions>REPLY,MUTE_ROOM</actions>"), None);
    }

    #[test]
    fn multibyte_text_is_never_split_inside_a_character() {
        let (out, _) = run(&["<actions>REPLY</actions><text>🦀🦀", "🦀", "</text>"]);
        assert_eq!(out.concat(), "🦀🦀🦀");
    }
}
