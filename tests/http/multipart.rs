//! `multipart/form-data` bodies for the upload tests, built by hand so a test can send any
//! field name, file name, declared type or content.

use actix_web::test::TestRequest;

const BOUNDARY: &str = "----eliza-test-boundary-7MA4YWxkTrZu0gW";

/// One part of a form.
#[derive(Debug, Clone)]
pub struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

impl Part {
    /// A file part.
    pub fn file(name: &str, file_name: &str, content_type: &str, data: &[u8]) -> Part {
        Part {
            name: name.to_owned(),
            file_name: Some(file_name.to_owned()),
            content_type: Some(content_type.to_owned()),
            data: data.to_vec(),
        }
    }

    /// A text field.
    pub fn text(name: &str, value: &str) -> Part {
        Part {
            name: name.to_owned(),
            file_name: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        }
    }
}

/// The `Content-Type` header of [`body`].
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The encoded form.
pub fn body(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
        if let Some(file_name) = &part.file_name {
            disposition.push_str(&format!("; filename=\"{file_name}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// A POST of `parts` to `uri`.
pub fn post(uri: &str, parts: &[Part]) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", content_type()))
        .set_payload(body(parts))
}

/// A small valid PNG (signature and IHDR chunk, then padding).
pub fn png() -> Vec<u8> {
    let mut png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    png.extend_from_slice(&[0; 64]);
    png
}

/// A tiny WAV recording (RIFF header, silence).
pub fn wav() -> Vec<u8> {
    let mut wav = b"RIFF\x2c\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0data\x08\0\0\0".to_vec();
    wav.extend_from_slice(&[0; 8]);
    wav
}
