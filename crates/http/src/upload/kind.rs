//! What an uploaded file is: the MIME types 1.7.2 allows (API spec §2.4), and the format its
//! first bytes show, so a file declared `image/png` that holds HTML is refused.

/// 1.7.2's `ALLOWED_MEDIA_MIME_TYPES`: the audio types (first) plus images, video, PDF and text.
pub const MEDIA_TYPES: &[&str] = &[
    "audio/mpeg",
    "audio/mp3",
    "audio/wav",
    "audio/ogg",
    "audio/webm",
    "audio/mp4",
    "audio/aac",
    "audio/flac",
    "audio/x-wav",
    "audio/wave",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "application/pdf",
    "text/plain",
];

/// The audio types of 1.7.2's `ALLOWED_AUDIO_MIME_TYPES`: the head of [`MEDIA_TYPES`].
pub const AUDIO_TYPES: &[&str] = MEDIA_TYPES.split_at(AUDIO_TYPE_COUNT).0;
const AUDIO_TYPE_COUNT: usize = 10;

/// A file format the allowed types name. Container formats (MP4, WebM, Ogg) hold audio or
/// video alike, so a declared `audio/webm` and a detected WebM file agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Jpeg,
    Gif,
    Webp,
    Mp4,
    Webm,
    Pdf,
    Text,
    Mp3,
    Wav,
    Ogg,
    Aac,
    Flac,
}

impl Format {
    /// The format a MIME type names (aliases included).
    pub fn of_mime(mime: &str) -> Option<Format> {
        Some(match mime {
            "image/png" => Format::Png,
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Format::Jpeg,
            "image/gif" => Format::Gif,
            "image/webp" => Format::Webp,
            "video/mp4" | "audio/mp4" | "audio/m4a" | "audio/x-m4a" => Format::Mp4,
            "video/webm" | "audio/webm" => Format::Webm,
            "application/pdf" => Format::Pdf,
            "text/plain" => Format::Text,
            "audio/mpeg" | "audio/mp3" => Format::Mp3,
            "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => Format::Wav,
            "audio/ogg" | "audio/opus" | "video/ogg" | "application/ogg" => Format::Ogg,
            "audio/aac" | "audio/x-aac" => Format::Aac,
            "audio/flac" | "audio/x-flac" => Format::Flac,
            _ => return None,
        })
    }

    /// The format the content shows, from its first bytes; `None` when it is none of these.
    pub fn sniff(head: &[u8]) -> Option<Format> {
        if let Some(found) = infer::get(head) {
            if let Some(format) = Format::of_mime(found.mime_type()) {
                return Some(format);
            }
            // HTML, XML and scripts are text too; served as `text/plain` attachments they are
            // harmless, and a `.txt` upload of them is fine.
            if found.matcher_type() != infer::MatcherType::Text {
                return None;
            }
        }
        if let Some(audio) = mpeg_frame(head) {
            return Some(audio);
        }
        looks_like_text(head).then_some(Format::Text)
    }

    /// Whether content of format `found` may carry this declared format. AAC is sent raw (ADTS)
    /// or in an MP4 container (`.m4a`).
    fn accepts(self, found: Format) -> bool {
        self == found || (self == Format::Aac && found == Format::Mp4)
    }

    /// The extension of a stored file (the client's own extension is never used).
    pub fn extension(self, mime: &str) -> &'static str {
        match self {
            Format::Png => ".png",
            Format::Jpeg => ".jpg",
            Format::Gif => ".gif",
            Format::Webp => ".webp",
            Format::Mp4 if mime.starts_with("audio/") => ".m4a",
            Format::Mp4 => ".mp4",
            Format::Webm => ".webm",
            Format::Pdf => ".pdf",
            Format::Text => ".txt",
            Format::Mp3 => ".mp3",
            Format::Wav => ".wav",
            Format::Ogg => ".ogg",
            Format::Aac => ".aac",
            Format::Flac => ".flac",
        }
    }

    /// The types to report for content of this format, best first.
    fn mime_candidates(self) -> &'static [&'static str] {
        match self {
            Format::Png => &["image/png"],
            Format::Jpeg => &["image/jpeg"],
            Format::Gif => &["image/gif"],
            Format::Webp => &["image/webp"],
            Format::Mp4 => &["video/mp4", "audio/mp4"],
            Format::Webm => &["video/webm", "audio/webm"],
            Format::Pdf => &["application/pdf"],
            Format::Text => &["text/plain"],
            Format::Mp3 => &["audio/mpeg"],
            Format::Wav => &["audio/wav"],
            Format::Ogg => &["audio/ogg"],
            Format::Aac => &["audio/aac"],
            Format::Flac => &["audio/flac"],
        }
    }
}

/// The category 1.7.2 reports for an agent upload (`type` of its answer).
pub fn category(mime: &str) -> &'static str {
    match mime.split('/').next() {
        Some("image") => "image",
        Some("video") => "video",
        Some("audio") => "audio",
        _ => "document",
    }
}

/// `Type/Sub; params` → `type/sub`.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Why a file's type is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRefusal {
    /// The declared type (or, without one, the detected type) is not on the list.
    NotAllowed { mime: String },
    /// The content is not what the declared type says.
    Mismatch {
        declared: String,
        found: Option<&'static str>,
    },
    /// Nothing declared and nothing recognisable in the content.
    Unknown,
}

/// Checks a file against `allowed`: the declared type must be allowed and the content must
/// be of that format. Without a declared type (or with `application/octet-stream`) the type
/// the content shows decides. Returns the type to record and the format.
pub fn check(
    declared: Option<&str>,
    head: &[u8],
    allowed: &[&str],
) -> Result<(String, Format), TypeRefusal> {
    let found = Format::sniff(head);
    let declared = declared
        .map(essence)
        .filter(|mime| !mime.is_empty() && mime != "application/octet-stream");
    let Some(declared) = declared else {
        let found = found.ok_or(TypeRefusal::Unknown)?;
        let mime = found
            .mime_candidates()
            .iter()
            .find(|mime| allowed.contains(mime))
            .ok_or_else(|| TypeRefusal::NotAllowed {
                mime: found.mime_candidates()[0].to_owned(),
            })?;
        return Ok(((*mime).to_owned(), found));
    };
    if !allowed.contains(&declared.as_str()) {
        return Err(TypeRefusal::NotAllowed { mime: declared });
    }
    let format = Format::of_mime(&declared).ok_or_else(|| TypeRefusal::NotAllowed {
        mime: declared.clone(),
    })?;
    match found {
        Some(found) if format.accepts(found) => Ok((declared, found)),
        _ => Err(TypeRefusal::Mismatch {
            found: found.map(|found| found.mime_candidates()[0]),
            declared,
        }),
    }
}

/// MPEG audio without an ID3 tag starts with a frame header (11 sync bits), ADTS AAC with 12
/// sync bits and layer `00`; `infer` knows only some of the header variants.
fn mpeg_frame(head: &[u8]) -> Option<Format> {
    let [0xFF, second, ..] = head else {
        return None;
    };
    if second & 0xF6 == 0xF0 {
        return Some(Format::Aac);
    }
    let layer = (second >> 1) & 0b11;
    let version = (second >> 3) & 0b11;
    (second & 0xE0 == 0xE0 && layer != 0 && version != 0b01).then_some(Format::Mp3)
}

/// UTF-8 without NUL or other control characters (tabs, line breaks and form feeds aside); a
/// character cut off at the end of `head` is fine.
fn looks_like_text(head: &[u8]) -> bool {
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(err) if err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !head.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const WAV: &[u8] = b"RIFF\x24\0\0\0WAVEfmt ";

    #[test]
    fn the_audio_types_are_exactly_the_media_types_head() {
        assert_eq!(AUDIO_TYPES.len(), 10);
        assert!(AUDIO_TYPES.iter().all(|kind| kind.starts_with("audio/")));
        let rest = &MEDIA_TYPES[AUDIO_TYPES.len()..];
        assert!(
            rest.iter().all(|kind| !kind.starts_with("audio/")),
            "{rest:?}"
        );
    }

    #[test]
    fn formats_are_sniffed_from_their_first_bytes() {
        assert_eq!(Format::sniff(PNG), Some(Format::Png));
        assert_eq!(
            Format::sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(Format::Jpeg)
        );
        assert_eq!(Format::sniff(b"GIF89a\x01\0"), Some(Format::Gif));
        assert_eq!(Format::sniff(b"%PDF-1.7\n"), Some(Format::Pdf));
        assert_eq!(Format::sniff(WAV), Some(Format::Wav));
        assert_eq!(Format::sniff(b"ID3\x04\0\0\0\0\0\0"), Some(Format::Mp3));
        assert_eq!(Format::sniff(b"\xFF\xFB\x90\x64"), Some(Format::Mp3));
        assert_eq!(
            Format::sniff(b"\xFF\xE3\x18\xC4"),
            Some(Format::Mp3),
            "MPEG 2.5"
        );
        assert_eq!(Format::sniff(b"\xFF\xF1\x50\x80"), Some(Format::Aac));
        assert_eq!(Format::sniff(b"OggS\0\x02"), Some(Format::Ogg));
        assert_eq!(Format::sniff(b"fLaC\0\0\0\x22"), Some(Format::Flac));
        assert_eq!(
            Format::sniff(b"\0\0\0\x20ftypisom\0\0\x02\0"),
            Some(Format::Mp4)
        );
        assert_eq!(Format::sniff(b"\0\0\0\x20ftypM4A \0\0"), Some(Format::Mp4));
        assert_eq!(
            Format::sniff("héllo\nworld\t!".as_bytes()),
            Some(Format::Text)
        );
        assert_eq!(
            Format::sniff(b"<html><body>x</body></html>"),
            Some(Format::Text)
        );
        assert_eq!(Format::sniff(b"bin\0ary"), None);
        assert_eq!(Format::sniff(b"\x1b[31mred"), None);
        assert_eq!(Format::sniff(b""), None);
    }

    #[test]
    fn a_character_cut_at_the_end_is_still_text() {
        let text = "naïve café".as_bytes();
        assert_eq!(Format::sniff(&text[..text.len() - 1]), Some(Format::Text));
        assert_eq!(Format::sniff(b"bad \xC3\x28 utf8"), None);
    }

    #[test]
    fn declared_types_must_be_allowed_and_match_the_content() {
        assert_eq!(
            check(Some("image/png"), PNG, MEDIA_TYPES),
            Ok(("image/png".to_owned(), Format::Png))
        );
        assert_eq!(
            check(Some("Image/PNG; charset=binary"), PNG, MEDIA_TYPES),
            Ok(("image/png".to_owned(), Format::Png))
        );
        assert_eq!(
            check(Some("image/png"), b"<html>hi</html>", MEDIA_TYPES),
            Err(TypeRefusal::Mismatch {
                declared: "image/png".into(),
                found: Some("text/plain")
            })
        );
        assert_eq!(
            check(Some("image/png"), b"just words", MEDIA_TYPES),
            Err(TypeRefusal::Mismatch {
                declared: "image/png".into(),
                found: Some("text/plain")
            })
        );
        assert_eq!(
            check(Some("text/html"), b"<html>", MEDIA_TYPES),
            Err(TypeRefusal::NotAllowed {
                mime: "text/html".into()
            })
        );
        assert_eq!(
            check(Some("image/png"), PNG, AUDIO_TYPES),
            Err(TypeRefusal::NotAllowed {
                mime: "image/png".into()
            })
        );
        assert_eq!(
            check(Some("text/plain"), PNG, MEDIA_TYPES),
            Err(TypeRefusal::Mismatch {
                declared: "text/plain".into(),
                found: Some("image/png")
            }),
            "a binary file is not text"
        );
        assert_eq!(
            check(
                Some("text/plain"),
                b"<html>shown as text</html>",
                MEDIA_TYPES
            ),
            Ok(("text/plain".to_owned(), Format::Text)),
            "markup declared as text is text"
        );
        assert_eq!(
            check(Some("audio/x-wav"), WAV, AUDIO_TYPES),
            Ok(("audio/x-wav".to_owned(), Format::Wav))
        );
        assert_eq!(
            check(Some("audio/aac"), b"\0\0\0\x20ftypM4A \0\0", AUDIO_TYPES),
            Ok(("audio/aac".to_owned(), Format::Mp4)),
            "AAC in an MP4 container is stored as .m4a"
        );
    }

    #[test]
    fn without_a_declared_type_the_content_decides() {
        assert_eq!(
            check(None, PNG, MEDIA_TYPES),
            Ok(("image/png".to_owned(), Format::Png))
        );
        assert_eq!(
            check(Some("application/octet-stream"), WAV, AUDIO_TYPES),
            Ok(("audio/wav".to_owned(), Format::Wav))
        );
        let mp4 = b"\0\0\0\x20ftypisom\0\0\x02\0";
        assert_eq!(
            check(None, mp4, AUDIO_TYPES),
            Ok(("audio/mp4".to_owned(), Format::Mp4)),
            "the audio list names MP4 as audio"
        );
        assert_eq!(
            check(None, mp4, MEDIA_TYPES),
            Ok(("video/mp4".to_owned(), Format::Mp4))
        );
        assert_eq!(
            check(None, b"\0\x01binary", MEDIA_TYPES),
            Err(TypeRefusal::Unknown)
        );
        assert_eq!(
            check(None, PNG, AUDIO_TYPES),
            Err(TypeRefusal::NotAllowed {
                mime: "image/png".into()
            })
        );
    }

    #[test]
    fn extensions_and_categories() {
        assert_eq!(Format::Mp4.extension("audio/mp4"), ".m4a");
        assert_eq!(Format::Mp4.extension("video/mp4"), ".mp4");
        assert_eq!(Format::Jpeg.extension("image/jpeg"), ".jpg");
        assert_eq!(category("image/png"), "image");
        assert_eq!(category("video/webm"), "video");
        assert_eq!(category("audio/mpeg"), "audio");
        assert_eq!(category("application/pdf"), "document");
        assert_eq!(category("text/plain"), "document");
    }
}
