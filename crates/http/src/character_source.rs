//! Loads characters for `POST /api/agents` from the three accepted bodies: `characterJson`, `agent`,
//! or `characterPath` (a file on the server, or an http(s) URL of a character or an array of them).

use eliza_domain::{Character, CharacterError};
use serde_json::Value;
use std::io::Read;
use std::time::Duration;

/// The largest character document we read from a file or URL.
const MAX_CHARACTER_BYTES: u64 = 2 * 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Why no character could be loaded; the text is what the client sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("No character configuration provided")]
    Missing,
    #[error("{0}")]
    Invalid(String),
    #[error("Failed to load character from {0}")]
    Unreadable(String),
}

impl From<CharacterError> for SourceError {
    fn from(err: CharacterError) -> Self {
        SourceError::Invalid(err.message)
    }
}

/// The characters a create body names, validated, in order.
pub async fn characters_from_body(body: &Value) -> Result<Vec<Character>, SourceError> {
    if let Some(json) = body
        .get("characterJson")
        .or_else(|| body.get("agent"))
        .filter(|v| !v.is_null())
    {
        characters_of(json)
    } else if let Some(path) = body
        .get("characterPath")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        characters_from_path(path).await
    } else {
        Err(SourceError::Missing)
    }
}

/// The characters of a file on the server or an http(s) URL (`characterPath`, `--character`).
pub async fn characters_from_path(path: &str) -> Result<Vec<Character>, SourceError> {
    characters_of(&load_document(path).await?)
}

fn characters_of(document: &Value) -> Result<Vec<Character>, SourceError> {
    match document {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| Character::from_json(item).map_err(SourceError::from))
            .collect(),
        Value::Array(_) => Err(SourceError::Missing),
        single => Ok(vec![Character::from_json(single)?]),
    }
}

async fn load_document(path: &str) -> Result<Value, SourceError> {
    let bytes = if path.starts_with("http://") || path.starts_with("https://") {
        fetch_url(path).await
    } else {
        read_file(path).await
    }
    .map_err(|reason| SourceError::Unreadable(format!("{path}: {reason}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| SourceError::Invalid(format!("Invalid JSON in {path}: {err}")))
}

fn too_large() -> String {
    format!("document is larger than {MAX_CHARACTER_BYTES} bytes")
}

/// Reads at most [`MAX_CHARACTER_BYTES`] of a regular file, whatever size it claims.
async fn read_file(path: &str) -> Result<Vec<u8>, String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        if !std::fs::metadata(&path)
            .map_err(|err| err.to_string())?
            .is_file()
        {
            return Err("not a file".to_owned());
        }
        let file = std::fs::File::open(&path).map_err(|err| err.to_string())?;
        let mut bytes = Vec::new();
        file.take(MAX_CHARACTER_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| err.to_string())?;
        if bytes.len() as u64 > MAX_CHARACTER_BYTES {
            return Err(too_large());
        }
        Ok(bytes)
    })
    .await
    .map_err(|err| err.to_string())?
}

/// Fetches a character document: a 15 s limit on the whole exchange, and at most
/// [`MAX_CHARACTER_BYTES`] read, whether or not the server announces a length.
async fn fetch_url(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|err| err.to_string())?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|err| err.to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|len| len > MAX_CHARACTER_BYTES)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| err.to_string())? {
        if (bytes.len() + chunk.len()) as u64 > MAX_CHARACTER_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn picks_the_first_present_body_form() {
        let characters = characters_from_body(&json!({"agent": {"name": "A", "bio": "b"}}))
            .await
            .unwrap();
        assert_eq!(characters[0].name, "A");
        let characters = characters_from_body(&json!({"characterJson": {"name": "J", "bio": "b"}}))
            .await
            .unwrap();
        assert_eq!(characters[0].name, "J");
        assert_eq!(
            characters_from_body(&json!({})).await.unwrap_err(),
            SourceError::Missing
        );
    }

    /// Serves one request on loopback with `response` (status line, headers and body) and
    /// returns the URL.
    fn serve_once(response: Vec<u8>) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/c.json", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            // The client may hang up early (an oversized body): write errors are expected.
            let _ = reader.get_mut().write_all(&response);
        });
        url
    }

    fn chunked(status: &str, body: &[u8], chunk: usize) -> Vec<u8> {
        let mut out =
            format!("HTTP/1.1 {status}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n")
                .into_bytes();
        for part in body.chunks(chunk) {
            out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    async fn from_url(url: &str) -> Result<Vec<Character>, SourceError> {
        characters_from_body(&json!({"characterPath": url})).await
    }

    #[tokio::test]
    async fn fetches_urls_within_the_size_limit() {
        let body = br#"{"name":"Remote","bio":"b"}"#;
        let url = serve_once(chunked("200 OK", body, 8));
        assert_eq!(from_url(&url).await.unwrap()[0].name, "Remote");

        let url = serve_once(chunked("404 Not Found", b"{}", 64));
        let err = from_url(&url).await.unwrap_err();
        assert!(
            matches!(err, SourceError::Unreadable(ref m) if m.ends_with("HTTP 404 Not Found")),
            "{err}"
        );

        let declared = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            MAX_CHARACTER_BYTES + 1
        );
        let err = from_url(&serve_once(declared.into_bytes()))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SourceError::Unreadable(ref m) if m.ends_with(&too_large())),
            "a declared length over the limit is refused unread: {err}"
        );

        let endless = vec![b' '; MAX_CHARACTER_BYTES as usize + 1];
        let err = from_url(&serve_once(chunked("200 OK", &endless, 64 * 1024)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, SourceError::Unreadable(ref m) if m.ends_with(&too_large())),
            "an undeclared length is cut off at the limit: {err}"
        );
    }

    #[tokio::test]
    async fn oversized_files_and_directories_are_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; MAX_CHARACTER_BYTES as usize + 1]).unwrap();
        for (path, reason) in [
            (big.to_str().unwrap(), too_large()),
            (dir.path().to_str().unwrap(), "not a file".to_owned()),
        ] {
            let err = characters_from_path(path).await.unwrap_err();
            assert_eq!(err, SourceError::Unreadable(format!("{path}: {reason}")));
        }
    }

    #[tokio::test]
    async fn reads_files_and_arrays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(
            &path,
            r#"[{"name":"One","bio":"b"},{"name":"Two","bio":["c"]}]"#,
        )
        .unwrap();
        let characters = characters_from_body(&json!({"characterPath": path.to_str().unwrap()}))
            .await
            .unwrap();
        assert_eq!(
            characters
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["One", "Two"]
        );
    }

    #[tokio::test]
    async fn unreadable_and_invalid_sources_say_why() {
        let missing = characters_from_body(&json!({"characterPath": "/nonexistent/x.json"}))
            .await
            .unwrap_err();
        assert!(
            matches!(missing, SourceError::Unreadable(ref m) if m.contains("/nonexistent/x.json")),
            "{missing}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{nope").unwrap();
        let invalid = characters_from_body(&json!({"characterPath": path.to_str().unwrap()}))
            .await
            .unwrap_err();
        assert!(
            matches!(invalid, SourceError::Invalid(ref m) if m.starts_with("Invalid JSON")),
            "{invalid}"
        );
        let rejected = characters_from_body(&json!({"agent": {"name": "x"}}))
            .await
            .unwrap_err();
        assert_eq!(
            rejected.to_string(),
            "Character validation failed: bio: Invalid input"
        );
    }
}
