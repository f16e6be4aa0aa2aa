//! Loads characters for `POST /api/agents` from the three accepted bodies: `characterJson`, `agent`,
//! or `characterPath` (a file on the server, or an http(s) URL of a character or an array of them).

use eliza_domain::{Character, CharacterError};
use serde_json::Value;
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
    let document = if let Some(json) = body
        .get("characterJson")
        .or_else(|| body.get("agent"))
        .filter(|v| !v.is_null())
    {
        json.clone()
    } else if let Some(path) = body
        .get("characterPath")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        load_document(path).await?
    } else {
        return Err(SourceError::Missing);
    };
    match document {
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| Character::from_json(item).map_err(SourceError::from))
            .collect(),
        Value::Array(_) => Err(SourceError::Missing),
        single => Ok(vec![Character::from_json(&single)?]),
    }
}

async fn load_document(path: &str) -> Result<Value, SourceError> {
    let text = if path.starts_with("http://") || path.starts_with("https://") {
        fetch_url(path).await
    } else {
        read_file(path).await
    }
    .map_err(|reason| SourceError::Unreadable(format!("{path}: {reason}")))?;
    serde_json::from_str(&text)
        .map_err(|err| SourceError::Invalid(format!("Invalid JSON in {path}: {err}")))
}

async fn read_file(path: &str) -> Result<String, String> {
    let metadata = tokio::fs::metadata(path)
        .await
        .map_err(|err| err.to_string())?;
    if !metadata.is_file() {
        return Err("not a file".to_owned());
    }
    if metadata.len() > MAX_CHARACTER_BYTES {
        return Err(format!("file is larger than {MAX_CHARACTER_BYTES} bytes"));
    }
    tokio::fs::read_to_string(path)
        .await
        .map_err(|err| err.to_string())
}

async fn fetch_url(url: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|err| err.to_string())?;
    let response = client
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
        return Err(format!(
            "document is larger than {MAX_CHARACTER_BYTES} bytes"
        ));
    }
    let bytes = response.bytes().await.map_err(|err| err.to_string())?;
    if bytes.len() as u64 > MAX_CHARACTER_BYTES {
        return Err(format!(
            "document is larger than {MAX_CHARACTER_BYTES} bytes"
        ));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| "document is not UTF-8".to_owned())
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
