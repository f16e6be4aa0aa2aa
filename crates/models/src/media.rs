//! What a caller asks of the media model types (IMAGE_DESCRIPTION, TRANSCRIPTION,
//! TEXT_TO_SPEECH, IMAGE) and what it gets back, plus reading a model's free-text image
//! description into a title and a description.

use serde::{Deserialize, Serialize};

/// The prompt 1.7.2 sends when the caller gives none.
pub const DEFAULT_IMAGE_DESCRIPTION_PROMPT: &str =
    "Please analyze this image and provide a title and detailed description.";

/// The title 1.7.2 gives a description whose answer names none.
pub const DEFAULT_IMAGE_TITLE: &str = "Image Analysis";

/// Parameters of an image description (`ImageDescriptionParams` in 1.7.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageDescriptionRequest {
    /// An `http(s)://` URL or a `data:` URL of the image.
    pub image_url: String,
    /// What to ask about the image; `None` asks for a title and a description
    /// ([`DEFAULT_IMAGE_DESCRIPTION_PROMPT`]).
    pub prompt: Option<String>,
    /// `None`: the provider's configured limit (`OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS`).
    pub max_tokens: Option<u32>,
}

impl ImageDescriptionRequest {
    pub fn new(image_url: impl Into<String>) -> Self {
        Self {
            image_url: image_url.into(),
            ..Self::default()
        }
    }

    pub fn with_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// The prompt to send: the caller's, else the 1.7.2 default.
    pub fn prompt_or_default(&self) -> &str {
        self.prompt
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or(DEFAULT_IMAGE_DESCRIPTION_PROMPT)
    }
}

/// The answer of an image description: `{title, description}` as in 1.7.2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDescription {
    pub title: String,
    pub description: String,
}

impl ImageDescription {
    /// Reads a model's answer. Two shapes are understood:
    /// - XML, as the `imageDescriptionTemplate` asks for:
    ///   `<response><title>…</title><description>…</description></response>`;
    /// - free text with a `Title: …` line (also `**Title:** …`, `# Title: …`): that line gives
    ///   the title, the other lines the description (a leading `Description:` label dropped).
    ///
    /// Without a title the title is [`DEFAULT_IMAGE_TITLE`] and the whole answer is the
    /// description. Unlike 1.7.2's regular expression (`title[:\s]+…` anywhere), the label
    /// must start a line, so "the title of this painting is…" stays in the description.
    pub fn from_answer(answer: &str) -> Self {
        from_xml(answer).unwrap_or_else(|| from_labelled_lines(answer))
    }
}

fn from_xml(answer: &str) -> Option<ImageDescription> {
    let description = xml_element(answer, "description")?;
    let title = xml_element(answer, "title").filter(|t| !t.is_empty());
    Some(ImageDescription {
        title: title.unwrap_or(DEFAULT_IMAGE_TITLE).to_owned(),
        description: description.to_owned(),
    })
}

/// The trimmed text of the first `<tag>…</tag>`.
fn xml_element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let length = text[start..].find(&close)?;
    Some(text[start..start + length].trim())
}

fn from_labelled_lines(answer: &str) -> ImageDescription {
    let mut title = None;
    let mut rest = Vec::new();
    for line in answer.lines() {
        match labelled(line, "title") {
            Some(value) if title.is_none() => title = Some(value.to_owned()),
            _ => rest.push(line),
        }
    }
    let description = rest.join("\n");
    let description = description.trim();
    let description = first_line_unlabelled(description, "description");
    ImageDescription {
        title: title
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| DEFAULT_IMAGE_TITLE.to_owned()),
        description,
    }
}

/// `text` without a `label:` at its start.
fn first_line_unlabelled(text: &str, label: &str) -> String {
    let (first, others) = text.split_once('\n').unwrap_or((text, ""));
    match labelled(first, label) {
        Some(value) => format!("{value}\n{others}").trim().to_owned(),
        None => text.to_owned(),
    }
}

/// The value of a `label: value` line, tolerating markdown around the label
/// (`**Title:** x`, `**Title**: x`, `## Title: x`, `- Title: x`); case-insensitive.
fn labelled<'a>(line: &'a str, label: &str) -> Option<&'a str> {
    let decoration = |c: char| c == '*' || c == '#' || c == '-' || c == '_' || c.is_whitespace();
    let line = line.trim_start_matches(decoration);
    let head = line.get(..label.len())?;
    if !head.eq_ignore_ascii_case(label) {
        return None;
    }
    let after = line[label.len()..].trim_start_matches(decoration);
    let value = after.strip_prefix(':')?;
    Some(value.trim_matches(|c: char| c == '*' || c.is_whitespace()))
}

/// Parameters of a transcription (1.7.2 passes the audio as a `Buffer`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TranscriptionRequest {
    /// The recording.
    pub audio: Vec<u8>,
    /// Its MIME type (`audio/mpeg`, `audio/wav`, …). `None`: MP3, what 1.7.2 assumes.
    pub mime_type: Option<String>,
    /// The file name sent with it; OpenAI reads the format from its extension. `None`:
    /// `recording.<extension of the MIME type>`.
    pub file_name: Option<String>,
    /// The spoken language as ISO-639-1 (`en`), which helps accuracy and latency.
    pub language: Option<String>,
    /// Text to guide the style or continue a previous segment.
    pub prompt: Option<String>,
    pub temperature: Option<f64>,
}

impl TranscriptionRequest {
    pub fn new(audio: Vec<u8>) -> Self {
        Self {
            audio,
            ..Self::default()
        }
    }

    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The MIME type to send: the caller's, else MP3.
    pub fn mime_type_or_default(&self) -> &str {
        self.mime_type.as_deref().unwrap_or("audio/mpeg")
    }

    /// The file name to send: the caller's, else `recording.<extension>` from the MIME type.
    pub fn file_name_or_default(&self) -> String {
        match &self.file_name {
            Some(name) => name.clone(),
            None => format!("recording.{}", audio_extension(self.mime_type_or_default())),
        }
    }
}

/// The extension OpenAI expects for an audio MIME type; MP3 for unknown ones (1.7.2 names every
/// upload `recording.mp3`).
fn audio_extension(mime_type: &str) -> &'static str {
    let essence = mime_type.split(';').next().unwrap_or(mime_type).trim();
    match essence.to_ascii_lowercase().as_str() {
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" => "wav",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/webm" | "video/webm" => "webm",
        "audio/flac" | "audio/x-flac" => "flac",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" | "audio/aac" => "m4a",
        "video/mp4" => "mp4",
        _ => "mp3",
    }
}

/// Parameters of a speech synthesis (1.7.2 passes the text, or `{text, voice?, speed?}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpeechRequest {
    pub text: String,
    /// `None`: the provider's configured voice (`OPENAI_TTS_VOICE`).
    pub voice: Option<String>,
    /// 0.25 to 4.0; `None`: the server's default (1.0).
    pub speed: Option<f64>,
    /// How to speak (tone, accent); `None`: `OPENAI_TTS_INSTRUCTIONS` if set.
    pub instructions: Option<String>,
    /// `mp3` (the default), `opus`, `aac`, `flac`, `wav` or `pcm`.
    pub format: Option<String>,
}

impl SpeechRequest {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// The format to ask for: the caller's, else MP3.
    pub fn format_or_default(&self) -> &str {
        self.format.as_deref().unwrap_or("mp3")
    }
}

/// Synthesised speech.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechAudio {
    pub bytes: Vec<u8>,
    /// As the server labelled it, else derived from the format asked for (`audio/mpeg`).
    pub content_type: String,
}

/// The MIME type of a speech format, for servers that do not label their audio.
pub(crate) fn speech_content_type(format: &str) -> &'static str {
    match format {
        "opus" => "audio/opus",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "pcm" => "audio/pcm",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// Parameters of an image generation (1.7.2 `{prompt, size?, count?}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRequest {
    pub prompt: String,
    /// `WIDTHxHEIGHT`; `None`: `1024x1024`.
    pub size: Option<String>,
    /// How many images; `None`: one.
    pub count: Option<u32>,
}

impl ImageRequest {
    pub fn new(prompt: impl Into<String>) -> Self {
        Self {
            prompt: prompt.into(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(answer: &str) -> (String, String) {
        let d = ImageDescription::from_answer(answer);
        (d.title, d.description)
    }

    fn pair(title: &str, description: &str) -> (String, String) {
        (title.to_owned(), description.to_owned())
    }

    #[test]
    fn a_title_line_gives_the_title_and_the_rest_the_description() {
        assert_eq!(
            described("Title: A cat\nA grey cat sleeps\non a red sofa."),
            pair("A cat", "A grey cat sleeps\non a red sofa.")
        );
        assert_eq!(
            described("**Title:** Sunset\n\n**Description:** Orange sky."),
            pair("Sunset", "Orange sky.")
        );
        assert_eq!(
            described("Intro\n## title : Harbour\nBoats."),
            pair("Harbour", "Intro\nBoats.")
        );
    }

    #[test]
    fn without_a_title_the_whole_answer_is_the_description() {
        assert_eq!(
            described("  The title of this painting is unknown.\n"),
            pair(
                DEFAULT_IMAGE_TITLE,
                "The title of this painting is unknown."
            )
        );
        assert_eq!(described("Title:\nx"), pair(DEFAULT_IMAGE_TITLE, "x"));
        assert_eq!(
            described("Titles: many"),
            pair(DEFAULT_IMAGE_TITLE, "Titles: many")
        );
    }

    #[test]
    fn xml_answers_are_read_by_element() {
        assert_eq!(
            described(
                "<response>\n<title> Dog </title>\n<description>A dog runs.</description>\n</response>"
            ),
            pair("Dog", "A dog runs.")
        );
        assert_eq!(
            described("<response><description>Only this</description></response>"),
            pair(DEFAULT_IMAGE_TITLE, "Only this")
        );
        // An unclosed element is not XML: the text rules apply.
        assert_eq!(
            described("<description>cut off"),
            pair(DEFAULT_IMAGE_TITLE, "<description>cut off")
        );
    }

    #[test]
    fn labels_with_multi_byte_text_do_not_split_characters() {
        assert_eq!(described("é"), pair(DEFAULT_IMAGE_TITLE, "é"));
        assert_eq!(described("Tï"), pair(DEFAULT_IMAGE_TITLE, "Tï"));
    }

    #[test]
    fn the_default_prompt_replaces_a_missing_or_blank_one() {
        let request = ImageDescriptionRequest::new("http://x/a.png");
        assert_eq!(
            request.prompt_or_default(),
            DEFAULT_IMAGE_DESCRIPTION_PROMPT
        );
        let blank = request.clone().with_prompt(" ");
        assert_eq!(blank.prompt_or_default(), DEFAULT_IMAGE_DESCRIPTION_PROMPT);
        assert_eq!(request.with_prompt("What?").prompt_or_default(), "What?");
    }

    #[test]
    fn upload_names_follow_the_mime_type() {
        let name = |mime: Option<&str>| {
            let mut request = TranscriptionRequest::new(vec![1]);
            request.mime_type = mime.map(str::to_owned);
            request.file_name_or_default()
        };
        assert_eq!(name(None), "recording.mp3");
        assert_eq!(name(Some("audio/wav")), "recording.wav");
        assert_eq!(name(Some("audio/webm;codecs=opus")), "recording.webm");
        assert_eq!(name(Some("Audio/OGG")), "recording.ogg");
        assert_eq!(name(Some("application/x-unknown")), "recording.mp3");
        let mut named = TranscriptionRequest::new(vec![1]);
        named.file_name = Some("memo.m4a".into());
        assert_eq!(named.file_name_or_default(), "memo.m4a");
    }

    #[test]
    fn speech_formats_have_content_types() {
        assert_eq!(speech_content_type("mp3"), "audio/mpeg");
        assert_eq!(speech_content_type("wav"), "audio/wav");
        assert_eq!(speech_content_type("weird"), "application/octet-stream");
    }
}
