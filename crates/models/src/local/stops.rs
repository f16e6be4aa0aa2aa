//! Stop strings over streamed text: text is released only once it can no longer be the start of
//! a stop string, so a caller never sees part of one.

pub struct StopMatcher {
    stops: Vec<String>,
    text: String,
    released: usize,
}

/// What a new piece of text gave.
#[derive(Debug, PartialEq, Eq)]
pub enum StopStep {
    /// Text that is safe to pass on (may be empty).
    Continue(String),
    /// A stop string appeared: the text before it that was not yet released; generation ends.
    Stopped(String),
}

impl StopMatcher {
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            text: String::new(),
            released: 0,
        }
    }

    pub fn push(&mut self, piece: &str) -> StopStep {
        // A stop may straddle the previous piece: search from where it could have started.
        let search_from = floor_char_boundary(
            &self.text,
            self.released
                .saturating_sub(self.longest_stop().saturating_sub(1)),
        );
        self.text.push_str(piece);
        if let Some(at) = self.first_stop(search_from) {
            let released = self.text[self.released..at].to_owned();
            self.text.truncate(at);
            self.released = at;
            return StopStep::Stopped(released);
        }
        let safe_end = self.text.len() - self.held_back();
        let released = self.text[self.released..safe_end].to_owned();
        self.released = safe_end;
        StopStep::Continue(released)
    }

    /// The text held back at the end of generation (it turned out not to be a stop).
    pub fn finish(&mut self) -> String {
        let rest = self.text[self.released..].to_owned();
        self.released = self.text.len();
        rest
    }

    /// The whole text so far, stop strings excluded.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn longest_stop(&self) -> usize {
        self.stops.iter().map(String::len).max().unwrap_or(0)
    }

    fn first_stop(&self, from: usize) -> Option<usize> {
        self.stops
            .iter()
            .filter_map(|stop| self.text[from..].find(stop.as_str()).map(|at| from + at))
            .min()
    }

    /// The length of the longest end of the text that begins some stop string.
    fn held_back(&self) -> usize {
        let unreleased = &self.text[self.released..];
        self.stops
            .iter()
            .flat_map(|stop| {
                (1..stop.len().min(unreleased.len() + 1))
                    .rev()
                    .filter(|n| stop.is_char_boundary(*n))
                    .find(|n| unreleased.ends_with(&stop[..*n]))
            })
            .max()
            .unwrap_or(0)
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, Option<String>, String) {
        let stops: Vec<String> = stops.iter().map(|s| (*s).to_owned()).collect();
        let mut matcher = StopMatcher::new(&stops);
        let mut out = Vec::new();
        for piece in pieces {
            match matcher.push(piece) {
                StopStep::Continue(text) if text.is_empty() => {}
                StopStep::Continue(text) => out.push(text),
                StopStep::Stopped(text) => return (out, Some(text), matcher.text().to_owned()),
            }
        }
        out.push(matcher.finish());
        out.retain(|piece| !piece.is_empty());
        (out, None, matcher.text().to_owned())
    }

    #[test]
    fn without_stops_everything_passes_at_once() {
        let (out, stopped, text) = run(&[], &["a", "b"]);
        assert_eq!(out, ["a", "b"]);
        assert_eq!(stopped, None);
        assert_eq!(text, "ab");
    }

    #[test]
    fn a_stop_split_over_pieces_is_never_released() {
        let (out, stopped, text) = run(&["</text>"], &["hi </t", "ex", "t> more"]);
        assert_eq!(out, ["hi "]);
        assert_eq!(stopped.as_deref(), Some(""));
        assert_eq!(text, "hi ");
    }

    #[test]
    fn a_false_start_is_released_later() {
        let (out, stopped, _) = run(&["</text>"], &["a </t", "able>"]);
        assert_eq!(stopped, None);
        assert_eq!(out.concat(), "a </table>");
        assert_eq!(out[0], "a ");
    }

    #[test]
    fn the_earliest_stop_wins() {
        let (_, stopped, text) = run(&["END", "\n\n"], &["one\n\ntwo END"]);
        assert_eq!(stopped.as_deref(), Some("one"));
        assert_eq!(text, "one");
    }

    #[test]
    fn multibyte_text_is_cut_on_character_boundaries() {
        let (out, stopped, text) = run(&["éé"], &["aé", "b", "é", "é"]);
        assert_eq!(out, ["a", "éb"]);
        assert_eq!(stopped.as_deref(), Some(""));
        assert_eq!(text, "aéb");
    }
}
