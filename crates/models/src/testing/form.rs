//! Reading a `multipart/form-data` body as the fakes receive it, so tests can check uploads
//! field by field. Written independently of the crate's encoder, so a test reading the fields
//! back checks the encoding rather than repeating it.

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub name: String,
    /// The `filename` of a file field.
    pub file_name: Option<String>,
    /// The part's `Content-Type`, if it has one.
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl FormField {
    /// The data as text (lossy), for text fields.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The fields of `body` framed by the boundary of `content_type`; `None` when anything is off.
pub(crate) fn parse_form(content_type: &str, body: &[u8]) -> Option<Vec<FormField>> {
    let (essence, params) = content_type.split_once(';')?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let separator = format!("\r\n--{boundary}");
    let mut rest = body.strip_prefix(delimiter.as_bytes())?;
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, separator.as_bytes())?;
        fields.push(parse_part(&rest[..end])?);
        rest = &rest[end + separator.len()..];
    }
}

fn parse_part(part: &[u8]) -> Option<FormField> {
    let header_end = find(part, b"\r\n\r\n")?;
    let headers = std::str::from_utf8(&part[..header_end]).ok()?;
    let mut field = FormField {
        name: String::new(),
        file_name: None,
        content_type: None,
        data: part[header_end + 4..].to_vec(),
    };
    for line in headers.split("\r\n") {
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                field.name = parameter(value, "name")?;
                field.file_name = parameter(value, "filename");
            }
            "content-type" => field.content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    (!field.name.is_empty()).then_some(field)
}

/// The quoted value of `key="…"` in a header value.
fn parameter(header: &str, key: &str) -> Option<String> {
    header.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k == key).then(|| v.trim_matches('"').to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_and_file_fields() {
        let body = b"--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.wav\"\r\n\
            Content-Type: audio/wav\r\n\r\nRIFF\r\n--b1\r\n\
            Content-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--b1--\r\n";
        let fields = parse_form("multipart/form-data; boundary=b1", body).unwrap_or_default();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].file_name.as_deref(), Some("x.wav"));
        assert_eq!(fields[0].content_type.as_deref(), Some("audio/wav"));
        assert_eq!(fields[0].data, b"RIFF");
        assert_eq!(
            (fields[1].name.as_str(), fields[1].text()),
            ("model", "m".to_owned())
        );
    }

    #[test]
    fn malformed_forms_are_none() {
        let form = |ct: &str, body: &[u8]| parse_form(ct, body);
        assert_eq!(form("application/json", b"{}"), None);
        assert_eq!(form("multipart/form-data; boundary=b", b"nothing"), None);
        assert_eq!(
            form("multipart/form-data; boundary=b", b"--b\r\nunclosed"),
            None
        );
    }
}
