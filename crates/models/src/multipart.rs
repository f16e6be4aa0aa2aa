//! Encoding a `multipart/form-data` body (RFC 7578), for uploads such as audio to transcribe.
//!
//! Why not reqwest's `multipart` feature: it pulls in `mime_guess` for what is a few lines of
//! framing, and its streaming form cannot be cloned, while a retried request must send the same
//! bytes again ([`Payload`] is encoded once).

use rand::Rng;
use rand::distr::Alphanumeric;
use reqwest::header::HeaderValue;

use crate::error::ModelError;
use crate::http::Payload;

/// The fields of a form, in the order they are added.
#[derive(Debug, Default)]
pub(crate) struct MultipartForm {
    parts: Vec<Part>,
}

#[derive(Debug)]
struct Part {
    name: &'static str,
    file: Option<FileInfo>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct FileInfo {
    file_name: String,
    content_type: String,
}

impl MultipartForm {
    /// Adds a plain text field.
    pub(crate) fn text(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.parts.push(Part {
            name,
            file: None,
            data: value.into().into_bytes(),
        });
        self
    }

    /// Adds a text field when `value` is set.
    pub(crate) fn optional_text(self, name: &'static str, value: Option<String>) -> Self {
        match value {
            Some(value) => self.text(name, value),
            None => self,
        }
    }

    /// Adds a file field.
    pub(crate) fn file(
        mut self,
        name: &'static str,
        file_name: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> Self {
        self.parts.push(Part {
            name,
            file: Some(FileInfo {
                file_name: file_name.to_owned(),
                content_type: content_type.to_owned(),
            }),
            data,
        });
        self
    }

    /// The encoded body, with a random boundary: 32 alphanumerics cannot turn up in the data
    /// by chance, so the data is not searched for it (as reqwest and browsers do).
    pub(crate) fn into_payload(self) -> Result<Payload, ModelError> {
        let boundary: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let content_type =
            HeaderValue::from_str(&format!("multipart/form-data; boundary={boundary}"))
                .map_err(|e| ModelError::InvalidRequest(format!("cannot encode the form: {e}")))?;
        Ok(Payload::new(content_type, self.encode(&boundary)))
    }

    fn encode(&self, boundary: &str) -> Vec<u8> {
        let size: usize = self.parts.iter().map(|p| p.data.len() + 200).sum();
        let mut body = Vec::with_capacity(size);
        for part in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            body.extend_from_slice(part.headers().as_bytes());
            body.extend_from_slice(&part.data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }
}

impl Part {
    /// The part's header lines and the blank line after them.
    fn headers(&self) -> String {
        match &self.file {
            None => format!(
                "Content-Disposition: form-data; name=\"{}\"\r\n\r\n",
                self.name
            ),
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n\
                 Content-Type: {}\r\n\r\n",
                self.name,
                quoted(&file.file_name),
                quoted(&file.content_type),
            ),
        }
    }
}

/// A caller's value made safe inside a quoted header parameter: quotes and line breaks would
/// end the parameter or the header (percent-encoded, as browsers do).
fn quoted(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_framed_in_order_with_the_closing_boundary() {
        let form = MultipartForm::default()
            .file("file", "a.mp3", "audio/mpeg", b"\x00\x01mp3".to_vec())
            .text("model", "whisper-1")
            .optional_text("language", None)
            .optional_text("prompt", Some("names: Ada".to_owned()));
        let body = form.encode("XyZ");
        let expected = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"file\"; filename=\"a.mp3\"\r\n\
            Content-Type: audio/mpeg\r\n\r\n\
            \x00\x01mp3\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"model\"\r\n\r\n\
            whisper-1\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"prompt\"\r\n\r\n\
            names: Ada\r\n\
            --XyZ--\r\n";
        assert_eq!(
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(expected)
        );
    }

    #[test]
    fn file_names_cannot_break_out_of_their_header() {
        let form = MultipartForm::default().file("file", "a\"b\r\nX: y", "audio/x\"", Vec::new());
        let body = String::from_utf8_lossy(&form.encode("B")).into_owned();
        assert!(
            body.contains("filename=\"a%22b%0D%0AX: y\"\r\nContent-Type: audio/x%22\r\n"),
            "{body}"
        );
    }

    #[test]
    fn each_form_gets_a_fresh_boundary_in_its_content_type() {
        let boundary = |payload: &Payload| payload.content_type().to_owned();
        let first = MultipartForm::default().text("a", "b").into_payload();
        let second = MultipartForm::default().text("a", "b").into_payload();
        let (Ok(first), Ok(second)) = (first, second) else {
            panic!("forms encode");
        };
        assert!(boundary(&first).starts_with("multipart/form-data; boundary="));
        assert_ne!(boundary(&first), boundary(&second));
    }
}
