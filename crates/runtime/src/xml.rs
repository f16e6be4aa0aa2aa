//! Tolerant parsing of the XML answers models give (`parseKeyValueXml` in elizaOS 1.7.2).
//!
//! The 1.7.2 semantics (runtime spec §2.8), kept here:
//! * the content is the text between the first `<response>` and the next `</response>`; failing
//!   that, the content of the first balanced element found by a linear scan;
//! * the fields are the **direct** children of that content, as `tag → trimmed inner text`, with
//!   `&lt; &gt; &amp; &quot; &apos;` unescaped;
//! * `actions`, `providers` and `evaluators` are split on `,` and trimmed (an empty value gives
//!   `[]`); `simple` is `true` when its text is `true`, case-insensitively;
//! * no field at all gives `None`.
//!
//! What we do differently, on purpose:
//! * nested elements are parsed too (1.7.2 leaves them as raw strings, which is why its REFLECTION
//!   evaluator never stores anything): `<facts><fact><claim>…</claim></fact></facts>` becomes a
//!   list of objects. The raw 1.7.2 string of every field stays available through
//!   [`ParsedXml::raw`]; `text` and `thought` are always kept as strings, and so is any element
//!   that mixes text with tags (`<text>use <b>this</b></text>`);
//! * `<think>…</think>` blocks are ignored, tags may carry attributes, `<x/>` is an empty field,
//!   CDATA sections are taken verbatim, numeric character references are decoded, empty list
//!   entries (`A, ,B`) are dropped;
//! * a `<response>` that is never closed (a truncated answer) still yields its closed children;
//! * the scan is linear (nesting deeper than [`MAX_DEPTH`] is read as text) and never panics.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Elements nested deeper than this are treated as text, which bounds the work per closing tag.
pub const MAX_DEPTH: usize = 64;

/// Keys whose value is a comma-separated list.
const LIST_KEYS: [&str; 3] = ["actions", "providers", "evaluators"];
/// Keys that always stay free text, even when the model put tags in them.
const TEXT_KEYS: [&str; 2] = ["text", "thought"];

/// The fields of a parsed answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedXml {
    fields: Map<String, Value>,
    raw: HashMap<String, String>,
}

impl ParsedXml {
    /// The normalised fields, in document order: strings, string lists (`actions`, `providers`,
    /// `evaluators`), a boolean (`simple`), and lists or objects for nested elements.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    /// A field that is a plain string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }

    /// A list field (`actions`, `providers`, `evaluators`) as strings; `None` when absent.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        string_list(self.fields.get(key)?)
    }

    /// The 1.7.2 value of a field: its trimmed, unescaped inner text with nested tags left raw.
    pub fn raw(&self, key: &str) -> Option<&str> {
        self.raw.get(key).map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.fields.contains_key(key)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Parses a model answer; `None` when no field can be found.
pub fn parse_key_value_xml(text: &str) -> Option<ParsedXml> {
    if text.is_empty() {
        return None;
    }
    let text = strip_think_blocks(text);
    let (source, nodes) = match response_content(&text) {
        Some(content) => (content, parse_nodes(content)),
        None => {
            let roots = parse_nodes(&text);
            let first = roots.into_iter().next()?;
            (text.as_ref(), first.children)
        }
    };
    let mut parsed = ParsedXml::default();
    for node in &nodes {
        let raw = node.inner_text(source);
        let value = if LIST_KEYS.contains(&node.tag.as_str()) {
            if node.has_text || node.children.is_empty() {
                Value::Array(split_list(&raw).into_iter().map(Value::String).collect())
            } else {
                Value::Array(
                    node.children
                        .iter()
                        .map(|child| child.inner_text(source))
                        .filter(|item| !item.is_empty())
                        .map(Value::String)
                        .collect(),
                )
            }
        } else if node.tag == "simple" {
            Value::Bool(raw.eq_ignore_ascii_case("true"))
        } else if TEXT_KEYS.contains(&node.tag.as_str()) {
            Value::String(raw.clone())
        } else {
            node.value(source)
        };
        parsed.fields.insert(node.tag.clone(), value);
        parsed.raw.insert(node.tag.clone(), raw);
    }
    if parsed.fields.is_empty() {
        None
    } else {
        Some(parsed)
    }
}

/// Splits a comma list, trimming entries and dropping empty ones.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A list value as strings: the string items of an array, or a comma list, trimmed and without
/// empty entries; `None` for anything else.
pub(crate) fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Value::String(text) => Some(split_list(text)),
        _ => None,
    }
}

/// Removes every closed `<think>…</think>` block (reasoning models put them before the answer).
fn strip_think_blocks(text: &str) -> std::borrow::Cow<'_, str> {
    const OPEN: &str = "<think>";
    const CLOSE: &str = "</think>";
    if !text.contains(OPEN) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else {
            break;
        };
        out.push_str(&rest[..start]);
        rest = &after[end + CLOSE.len()..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The text inside the first `<response>` (attributes allowed) up to the next `</response>`, or
/// up to the end when it is never closed.
fn response_content(text: &str) -> Option<&str> {
    const OPEN: &str = "<response";
    let mut from = 0;
    while let Some(found) = text[from..].find(OPEN) {
        let start = from + found;
        let after_name = start + OPEN.len();
        let next = text[after_name..].chars().next();
        match next {
            Some('>') => return Some(until_close(text, after_name + 1)),
            Some(c) if c.is_whitespace() => {
                // An open tag with attributes: find its end, stopping at the next `<`.
                let tail = &text[after_name..];
                let end = tail.find(['>', '<'])?;
                if tail[end..].starts_with('>') {
                    return Some(until_close(text, after_name + end + 1));
                }
                from = after_name;
            }
            _ => from = after_name,
        }
    }
    None
}

fn until_close(text: &str, start: usize) -> &str {
    let tail = &text[start..];
    match tail.find("</response>") {
        Some(end) => &tail[..end],
        None => tail,
    }
}

/// An element found by the scanner; `inner` is the byte range of its content in the source.
#[derive(Debug)]
struct Node {
    tag: String,
    inner: (usize, usize),
    children: Vec<Node>,
    /// Non-whitespace text (or CDATA, or stray tags) directly inside the element.
    has_text: bool,
}

impl Node {
    fn inner_text(&self, source: &str) -> String {
        let (start, end) = self.inner;
        decode(source.get(start..end).unwrap_or_default().trim())
    }

    /// The JSON value of a nested element: a string for leaves and mixed content, otherwise a list
    /// (repeated tags, or a plural parent such as `facts` around `fact`) or an object.
    fn value(&self, source: &str) -> Value {
        if self.children.is_empty() || self.has_text {
            return Value::String(self.inner_text(source));
        }
        let first = &self.children[0].tag;
        let same = self.children.iter().all(|child| &child.tag == first);
        let plural = ["s", "es"]
            .into_iter()
            .any(|suffix| self.tag.strip_suffix(suffix) == Some(first.as_str()));
        if same && (self.children.len() > 1 || plural) {
            return Value::Array(
                self.children
                    .iter()
                    .map(|child| child.value(source))
                    .collect(),
            );
        }
        let mut object = Map::new();
        for child in &self.children {
            let value = child.value(source);
            match object.get_mut(&child.tag) {
                Some(Value::Array(items)) => items.push(value),
                Some(existing) => {
                    let previous = existing.take();
                    *existing = Value::Array(vec![previous, value]);
                }
                None => {
                    object.insert(child.tag.clone(), value);
                }
            }
        }
        Value::Object(object)
    }
}

/// A lexical item of the scanner.
enum Token<'a> {
    Open {
        name: &'a str,
        self_closing: bool,
        end: usize,
    },
    Close {
        name: &'a str,
        end: usize,
    },
    /// Text, CDATA or anything that is not a tag, up to `end`.
    Text {
        end: usize,
        blank: bool,
    },
    /// Comments, processing instructions, doctypes: ignored.
    Skip {
        end: usize,
    },
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')
}

/// Where the last `]]>` and `-->` of the source start: an opener after them can be declared
/// unclosed without searching, which keeps inputs full of unclosed openers linear.
struct Closers {
    cdata: Option<usize>,
    comment: Option<usize>,
}

impl Closers {
    fn new(src: &str) -> Closers {
        Closers {
            cdata: src.rfind("]]>"),
            comment: src.rfind("-->"),
        }
    }
}

/// Reads the token starting at `pos`.
fn next_token<'a>(src: &'a str, pos: usize, closers: &Closers) -> Token<'a> {
    let bytes = src.as_bytes();
    let len = bytes.len();
    let rest = &src[pos..];
    if bytes[pos] != b'<' {
        let end = rest.find('<').map_or(len, |i| pos + i);
        let blank = src[pos..end].trim().is_empty();
        return Token::Text { end, blank };
    }
    let text_char = Token::Text {
        end: pos + 1,
        blank: false,
    };
    // An unclosed CDATA section or comment is plain text rather than the rest of the document.
    if rest.starts_with("<![CDATA[") {
        if closers.cdata.is_none_or(|last| last < pos) {
            return text_char;
        }
        return match rest.find("]]>") {
            Some(i) => Token::Text {
                end: pos + i + 3,
                blank: false,
            },
            None => text_char,
        };
    }
    if rest.starts_with("<!--") {
        if closers.comment.is_none_or(|last| last < pos) {
            return text_char;
        }
        return match rest.find("-->") {
            Some(i) => Token::Skip { end: pos + i + 3 },
            None => text_char,
        };
    }
    if rest.starts_with("<!") || rest.starts_with("<?") {
        // Stop at the next `<` so a stray `<!` cannot swallow the document.
        return match rest[1..].find(['>', '<']) {
            Some(i) if bytes[pos + 1 + i] == b'>' => Token::Skip { end: pos + i + 2 },
            _ => text_char,
        };
    }
    let closing = rest.starts_with("</");
    let name_start = if closing { pos + 2 } else { pos + 1 };
    if name_start >= len || !is_name_start(bytes[name_start]) {
        return text_char;
    }
    let mut i = name_start;
    while i < len && is_name_char(bytes[i]) {
        i += 1;
    }
    let name = &src[name_start..i];
    if closing {
        while i < len && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        return if i < len && bytes[i] == b'>' {
            Token::Close { name, end: i + 1 }
        } else {
            text_char
        };
    }
    // Attributes: anything up to `>`, but never across another `<` (XML forbids it in values),
    // which keeps the scan linear.
    if i < len && !matches!(bytes[i], b'>' | b'/') && !bytes[i].is_ascii_whitespace() {
        return text_char;
    }
    match src[i..].find(['>', '<']) {
        Some(j) if bytes[i + j] == b'>' => {
            let self_closing = i + j > i && bytes[i + j - 1] == b'/';
            Token::Open {
                name,
                self_closing,
                end: i + j + 1,
            }
        }
        _ => text_char,
    }
}

/// Scans `src` into a forest of closed elements. Unclosed elements are read as text and their
/// closed descendants move up to the enclosing element; stray closing tags are ignored.
fn parse_nodes(src: &str) -> Vec<Node> {
    let mut root = Node {
        tag: String::new(),
        inner: (0, src.len()),
        children: Vec::new(),
        has_text: false,
    };
    let mut stack: Vec<Node> = Vec::new();
    let closers = Closers::new(src);
    let mut pos = 0;
    while pos < src.len() {
        let token = next_token(src, pos, &closers);
        let start = pos;
        match token {
            Token::Text { end, blank } => {
                if !blank {
                    stack.last_mut().unwrap_or(&mut root).has_text = true;
                }
                pos = end;
            }
            Token::Skip { end } => pos = end,
            Token::Open {
                name,
                self_closing,
                end,
            } => {
                let node = Node {
                    tag: name.to_owned(),
                    inner: (end, end),
                    children: Vec::new(),
                    has_text: false,
                };
                if self_closing {
                    stack.last_mut().unwrap_or(&mut root).children.push(node);
                } else if stack.len() < MAX_DEPTH {
                    stack.push(node);
                } else {
                    stack.last_mut().unwrap_or(&mut root).has_text = true;
                }
                pos = end;
            }
            Token::Close { name, end } => {
                match stack.iter().rposition(|node| node.tag == name) {
                    Some(index) => {
                        while stack.len() > index + 1 {
                            dissolve_top(&mut stack, &mut root);
                        }
                        if let Some(mut node) = stack.pop() {
                            node.inner.1 = start;
                            stack.last_mut().unwrap_or(&mut root).children.push(node);
                        }
                    }
                    None => stack.last_mut().unwrap_or(&mut root).has_text = true,
                }
                pos = end;
            }
        }
    }
    while !stack.is_empty() {
        dissolve_top(&mut stack, &mut root);
    }
    root.children
}

/// Pops an element that was never closed: its tag becomes text of the parent, its closed
/// children become children of the parent.
fn dissolve_top(stack: &mut Vec<Node>, root: &mut Node) {
    if let Some(mut node) = stack.pop() {
        let parent = stack.last_mut().unwrap_or(root);
        parent.has_text = true;
        parent.children.append(&mut node.children);
    }
}

/// Unwraps CDATA sections verbatim and decodes entities everywhere else.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<![CDATA[") {
        unescape_into(&rest[..start], &mut out);
        let body = &rest[start + 9..];
        match body.find("]]>") {
            Some(end) => {
                out.push_str(&body[..end]);
                rest = &body[end + 3..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    unescape_into(rest, &mut out);
    out
}

/// Decodes the five XML entities and numeric character references, in one pass.
fn unescape_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let semi = tail.as_bytes()[..tail.len().min(12)]
            .iter()
            .position(|&b| b == b';');
        let decoded = semi.and_then(|semi| entity(&tail[1..semi]).map(|c| (c, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    fn parse(text: &str) -> Map<String, Value> {
        parse_key_value_xml(text).unwrap().into_fields()
    }

    #[test]
    fn message_handler_answer() {
        let fields = parse(
            "<response>\n  <thought>Say hi</thought>\n  <actions>REPLY, FOLLOW_ROOM</actions>\n  \
             <providers></providers>\n  <text>Hello &lt;there&gt; &amp; &quot;you&quot; &apos;x&apos;</text>\n  \
             <simple>TRUE</simple>\n</response>",
        );
        assert_eq!(
            Value::Object(fields),
            json!({
                "thought": "Say hi",
                "actions": ["REPLY", "FOLLOW_ROOM"],
                "providers": [],
                "text": "Hello <there> & \"you\" 'x'",
                "simple": true,
            })
        );
    }

    #[test]
    fn list_keys_and_simple() {
        let fields =
            parse("<response><evaluators> A ,, B ,</evaluators><simple>no</simple></response>");
        assert_eq!(fields["evaluators"], json!(["A", "B"]));
        assert_eq!(fields["simple"], json!(false));
        // A list written as child elements.
        let fields = parse(
            "<response><actions><action>REPLY</action><action> NONE </action></actions></response>",
        );
        assert_eq!(fields["actions"], json!(["REPLY", "NONE"]));
    }

    #[test]
    fn accessors() {
        let parsed = parse_key_value_xml(
            "<response><a>x</a><actions>A,B</actions><n><m>1</m><k>2</k></n></response>",
        )
        .unwrap();
        assert_eq!(parsed.str("a"), Some("x"));
        assert_eq!(parsed.str("actions"), None);
        assert_eq!(parsed.list("actions"), Some(vec!["A".into(), "B".into()]));
        assert_eq!(parsed.list("a"), Some(vec!["x".into()]));
        assert_eq!(parsed.list("n"), None);
        assert_eq!(parsed.list("missing"), None);
        // Nested list items are trimmed strings, empty ones dropped.
        let boxes =
            parse_key_value_xml("<response><boxes><box> </box><box>b</box></boxes></response>")
                .unwrap();
        assert_eq!(boxes.list("boxes"), Some(vec!["b".into()]));
        assert_eq!(parsed.raw("n"), Some("<m>1</m><k>2</k>"));
        assert_eq!(parsed.get("n"), Some(&json!({"m": "1", "k": "2"})));
        assert!(parsed.contains("a") && !parsed.contains("b"));
        assert!(!parsed.is_empty());
        assert_eq!(parsed.fields().len(), 3);
    }

    #[test]
    fn first_response_only_and_surroundings_ignored() {
        let fields = parse(
            "Sure! ```xml\n<response><text>one</text></response>\n```\n<response><text>two</text></response>",
        );
        assert_eq!(fields["text"], json!("one"));
    }

    #[test]
    fn response_with_attributes_and_unclosed_response() {
        assert_eq!(
            parse("<response id=\"1\"><a>b</a></response>")["a"],
            json!("b")
        );
        // Truncated answer: closed children still count, the cut one does not.
        let fields = parse("<response><thought>t</thought><actions>REPLY</actions><text>Hello wor");
        assert_eq!(fields["thought"], json!("t"));
        assert_eq!(fields["actions"], json!(["REPLY"]));
        assert!(!fields.contains_key("text"));
        // `<responses>` is not `<response>`; `<response` without `>` is text.
        assert_eq!(parse("<responses><a>1</a></responses>")["a"], json!("1"));
        assert_eq!(parse("<response x='1' <b><a>1</a></b>")["a"], json!("1"));
    }

    #[test]
    fn fallback_is_first_balanced_element() {
        let fields = parse(
            "noise <br> <answer><name>Eliza</name><action>RESPOND</action></answer> <x><y>2</y></x>",
        );
        assert_eq!(
            Value::Object(fields),
            json!({"name": "Eliza", "action": "RESPOND"})
        );
        // The first balanced element is a leaf: no pairs, as in 1.7.2.
        assert!(parse_key_value_xml("<b>bold</b><r><a>1</a></r>").is_none());
        // Nested elements of the same name balance properly.
        let fields = parse("<a><a><c>1</c></a><d>2</d></a>");
        assert_eq!(Value::Object(fields), json!({"a": {"c": "1"}, "d": "2"}));
    }

    #[test]
    fn no_pairs_is_none() {
        for text in [
            "",
            "plain text",
            "<response></response>",
            "<response>just text</response>",
            "</a></b>",
            "<a>",
            "a < b > c",
            "<1>x</1>",
        ] {
            assert!(parse_key_value_xml(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn think_preamble_is_ignored() {
        let fields = parse(
            "<think>I could answer <response><text>bad</text></response> here</think>\n<response><text>good</text></response>",
        );
        assert_eq!(fields["text"], json!("good"));
        // An unclosed think block is left alone.
        assert_eq!(
            parse("<think>hmm <response><text>t</text></response>")["text"],
            json!("t")
        );
    }

    #[test]
    fn cdata_comments_attributes_self_closing() {
        let fields = parse(
            "<response><!-- c --><text><![CDATA[a < b && c]]> &amp; more</text>\
             <thought lang=\"en\" x='>'>hmm</thought><providers/><empty />\
             <?pi x?><!DOCTYPE y><code>&#60;&#x3E;&bogus;&#xZZ;&</code></response>",
        );
        assert_eq!(fields["text"], json!("a < b && c & more"));
        assert_eq!(fields["providers"], json!([]));
        assert_eq!(fields["empty"], json!(""));
        assert_eq!(fields["code"], json!("<>&bogus;&#xZZ;&"));
        // Attribute values containing `>` end the tag early; we accept what 1.7.2 would not.
        assert!(fields.contains_key("thought") || fields.contains_key("text"));
        // Unclosed CDATA sections and comments are text.
        assert_eq!(
            parse("<response><t>x<![CDATA[y</t></response>")["t"],
            json!("x<![CDATA[y")
        );
        assert_eq!(
            parse("<response><t>x<!--y</t></response>")["t"],
            json!("x<!--y")
        );
        assert_eq!(decode("a<![CDATA[b"), "a<![CDATA[b");
    }

    #[test]
    fn text_and_mixed_content_stay_strings() {
        let fields = parse(
            "<response><text><p>Hello</p></text><thought><b>x</b></thought><note>see <b>this</b></note></response>",
        );
        assert_eq!(fields["text"], json!("<p>Hello</p>"));
        assert_eq!(fields["thought"], json!("<b>x</b>"));
        assert_eq!(fields["note"], json!("see <b>this</b>"));
    }

    #[test]
    fn reflection_facts_and_relationships_are_lists_of_objects() {
        let answer = r#"<response>
  <thought>They like tea.</thought>
  <facts>
    <fact>
      <claim>User likes green tea</claim>
      <type>fact</type>
      <in_bio>false</in_bio>
      <already_known>false</already_known>
    </fact>
  </facts>
  <relationships>
    <relationship>
      <sourceEntityId>a</sourceEntityId>
      <targetEntityId>b</targetEntityId>
      <tags>dm_interaction, friendly</tags>
    </relationship>
    <relationship>
      <sourceEntityId>b</sourceEntityId>
      <targetEntityId>a</targetEntityId>
      <tags>x</tags>
    </relationship>
  </relationships>
</response>"#;
        let parsed = parse_key_value_xml(answer).unwrap();
        assert_eq!(
            parsed.get("facts"),
            Some(&json!([{
                "claim": "User likes green tea",
                "type": "fact",
                "in_bio": "false",
                "already_known": "false"
            }]))
        );
        assert_eq!(
            parsed.get("relationships"),
            Some(&json!([
                {"sourceEntityId": "a", "targetEntityId": "b", "tags": "dm_interaction, friendly"},
                {"sourceEntityId": "b", "targetEntityId": "a", "tags": "x"}
            ]))
        );
        assert!(parsed.raw("facts").unwrap().starts_with("<fact>"));
        // Empty lists stay empty strings; repeated keys in an object become a list.
        let fields =
            parse("<response><facts></facts><o><k>1</k><k>2</k><j>3</j><k>4</k></o></response>");
        assert_eq!(fields["facts"], json!(""));
        assert_eq!(fields["o"], json!({"k": ["1", "2", "4"], "j": "3"}));
        // A single child of a non-plural parent is an object.
        assert_eq!(
            parse("<response><p><q>1</q></p></response>")["p"],
            json!({"q": "1"})
        );
        assert_eq!(
            parse("<response><boxes><box>1</box></boxes></response>")["boxes"],
            json!(["1"])
        );
    }

    #[test]
    fn unclosed_and_stray_tags_inside() {
        let fields = parse("<response><a>1<br></a></b><c>2</c><d><e>3</e></response>");
        assert_eq!(fields["a"], json!("1<br>"));
        assert_eq!(fields["c"], json!("2"));
        // `<d>` was never closed: its closed child moves up.
        assert_eq!(fields["e"], json!("3"));
        assert!(!fields.contains_key("d"));
        // The last duplicate wins, as in 1.7.2.
        assert_eq!(
            parse("<response><a>1</a><a>2</a></response>")["a"],
            json!("2")
        );
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let depth = MAX_DEPTH * 4;
        let text = format!(
            "<response><x>{}</x></response>",
            "<a>".repeat(depth) + "v" + &"</a>".repeat(depth)
        );
        let parsed = parse_key_value_xml(&text).unwrap();
        assert!(parsed.contains("x"));
    }

    #[test]
    fn long_pathological_input_is_parsed() {
        // Inputs that make naive scanners quadratic: a quadratic parser would take hours on these
        // and stall the suite, so finishing is the check (no wall-clock assertion: speed is a
        // benchmark's business, not a test's).
        let patterns = [
            "<a ",
            "<a x=\"",
            "<a>",
            "</a>",
            "<",
            "<response",
            "&amp",
            "<![CDATA[",
            "<think>",
        ];
        for pattern in patterns {
            let text = pattern.repeat(200_000);
            let parsed = parse_key_value_xml(&text);
            assert!(
                parsed
                    .as_ref()
                    .is_none_or(|parsed| parsed.str("text").is_none()),
                "{pattern:?} produced a text field"
            );
        }
        let big = format!(
            "<response><text>{}</text></response>",
            "word ".repeat(500_000)
        );
        assert_eq!(
            parse_key_value_xml(&big)
                .unwrap()
                .str("text")
                .unwrap()
                .len(),
            2_499_999
        );
    }

    #[test]
    fn random_inputs_never_panic() {
        let alphabet = [
            "<",
            ">",
            "/",
            "</",
            "<response>",
            "</response>",
            "<text>",
            "</text>",
            "<a>",
            "</a>",
            "<b x='1'>",
            "<![CDATA[",
            "]]>",
            "<!--",
            "-->",
            "&",
            "&lt;",
            "&#",
            ";",
            " ",
            "\n",
            "x",
            "é",
            "🦀",
            "<think>",
            "</think>",
            "<facts>",
            "<fact>",
            "</fact>",
            "</facts>",
            "<?",
            "<!",
            "=",
            "\"",
            "<actions>",
            "A,B",
            "</actions>",
            "<simple>",
            "true",
            "</simple>",
            "/>",
        ];
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..3_000 {
            let len = rng.random_range(0..40);
            let text: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            let _ = parse_key_value_xml(&text);
        }
        for _ in 0..500 {
            let bytes: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            let _ = parse_key_value_xml(&String::from_utf8_lossy(&bytes));
        }
    }

    #[test]
    fn every_truncation_never_panics() {
        let answer = "<think>x</think><response id='r'>\n<thought>a &amp; b</thought>\n<actions>REPLY,IGNORE</actions>\n\
                      <facts><fact><claim>c</claim></fact></facts><text><![CDATA[<é>]]>🦀</text></response>";
        for (i, _) in answer.char_indices() {
            let _ = parse_key_value_xml(&answer[..i]);
            let _ = parse_key_value_xml(&answer[i..]);
        }
    }
}
