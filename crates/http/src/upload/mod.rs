//! Streaming `multipart/form-data` uploads, shared by the media and audio routes.
//!
//! The file is never held whole in memory on its way to disk: its first bytes are sniffed
//! (the declared type must be allowed and the content must be of that type), then every chunk
//! goes to a hidden temporary file next to its destination, renamed to a generated name once
//! complete. The size limit is enforced while reading, every read has an idle timeout and the
//! whole upload a deadline, so a slow or endless body cannot hold a worker. Audio for the
//! model is collected in memory instead, within the same limits (the provider needs it whole).

mod kind;
mod store;

pub use kind::{AUDIO_TYPES, Format, MEDIA_TYPES, category, essence};
pub use store::{Staged, StoredFile, display_name};

use crate::error::{ApiError, Family};
use crate::media::MediaConfig;
use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{HttpRequest, web};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use kind::TypeRefusal;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Bytes sniffed before the type is decided (enough for every signature, and a fair sample
/// of a text file).
const HEAD_BYTES: usize = 8 * 1024;
const MAX_TEXT_FIELDS: usize = 32;
const MAX_TEXT_FIELD_BYTES: usize = 64 * 1024;
/// Room on top of the file limit for every text field the form may carry, plus boundaries and
/// part headers, so a file within its limit is never refused for its fields' size.
const FORM_ALLOWANCE: u64 = (MAX_TEXT_FIELDS * MAX_TEXT_FIELD_BYTES + 64 * 1024) as u64;

/// What a route accepts as its file.
#[derive(Debug, Clone, Copy)]
pub struct FilePolicy {
    /// Field names that carry the file, the canonical one first.
    pub fields: &'static [&'static str],
    /// Allowed MIME types.
    pub allowed: &'static [&'static str],
    /// The answer when no file came (`No media file provided`).
    pub missing: &'static str,
    /// Family A code of a refused type (`UNSUPPORTED_MEDIA_TYPE`, `INVALID_FILE_TYPE`).
    pub type_code: &'static str,
}

/// Where the file's bytes go.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// A temporary file in this directory (then [`Staged::persist`]).
    Disk(&'a Path),
    /// Memory (audio handed to a model).
    Memory,
}

/// A received form: at most one file, and the text fields.
#[derive(Debug, Default)]
pub struct Form {
    pub file: Option<Upload>,
    pub fields: BTreeMap<String, String>,
    /// Text parts read, repeated names included (the limit counts parts, not names).
    text_parts: usize,
}

impl Form {
    /// A text field, trimmed; `None` when absent or blank.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The file, or the policy's "no file" error.
    pub fn take_file(&mut self, policy: &FilePolicy) -> Result<Upload, UploadError> {
        self.file.take().ok_or(UploadError::NoFile(policy.missing))
    }
}

/// A received file whose type was checked.
#[derive(Debug)]
pub struct Upload {
    /// The client's name, reduced to a display name (never used on disk).
    pub original_name: String,
    /// The declared type, or the detected one when none was declared.
    pub mime: String,
    pub format: Format,
    pub size: u64,
    pub data: Data,
}

impl Upload {
    /// The bytes of an upload received into memory ([`Sink::Memory`]).
    pub fn into_bytes(self) -> Result<Vec<u8>, UploadError> {
        match self.data {
            Data::Memory(bytes) => Ok(bytes),
            Data::Staged(_) => Err(wrong_sink("the upload was received to disk")),
        }
    }

    /// Stores an upload received to disk ([`Sink::Disk`]) as `<root>/<id>/<generated name>`.
    pub async fn persist(self, root: &Path, id: &str) -> Result<StoredFile, UploadError> {
        match self.data {
            Data::Staged(staged) => staged.persist(root, id).await.map_err(UploadError::Storage),
            Data::Memory(_) => Err(wrong_sink("the upload was received into memory")),
        }
    }
}

/// A route asked for its upload in the other form than it received it (a programming error,
/// answered as a storage failure rather than a panic).
fn wrong_sink(what: &str) -> UploadError {
    UploadError::Storage(std::io::Error::other(what.to_owned()))
}

/// The received bytes.
#[derive(Debug)]
pub enum Data {
    Staged(Staged),
    Memory(Vec<u8>),
}

/// Why an upload was refused. [`UploadError::into_api`] renders it in a route's family.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("Expected a multipart/form-data body")]
    NotMultipart,
    #[error("{0}")]
    NoFile(&'static str),
    #[error("Unexpected file field '{field}': send the file in the '{expected}' field")]
    UnexpectedFile {
        field: String,
        expected: &'static str,
    },
    #[error("Only one file per request")]
    TooManyFiles,
    #[error("Too many form fields (at most {MAX_TEXT_FIELDS})")]
    TooManyFields,
    #[error("Form field '{0}' is too large (at most 64 KB)")]
    FieldTooLarge(String),
    #[error("Form field '{0}' is not UTF-8 text (or holds a NUL character)")]
    FieldNotText(String),
    #[error("The file is empty")]
    Empty,
    #[error("{0}")]
    Type(String),
    #[error("File too large: the limit is {} bytes", .limit)]
    TooLarge { limit: u64 },
    #[error("The upload was too slow and was stopped")]
    TimedOut,
    #[error("Malformed multipart body: {0}")]
    Malformed(String),
    #[error("Failed to store the upload")]
    Storage(#[source] std::io::Error),
}

impl UploadError {
    pub fn status(&self) -> StatusCode {
        match self {
            UploadError::Type(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            UploadError::TooLarge { .. } | UploadError::FieldTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            UploadError::TimedOut => StatusCode::REQUEST_TIMEOUT,
            UploadError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn code(&self, policy: &FilePolicy) -> &'static str {
        match self {
            UploadError::Type(_) => policy.type_code,
            UploadError::TooLarge { .. } => "FILE_TOO_LARGE",
            UploadError::FieldTooLarge(_) => "FIELD_TOO_LARGE",
            UploadError::TimedOut => "REQUEST_TIMEOUT",
            UploadError::Storage(_) => "UPLOAD_ERROR",
            _ => "INVALID_REQUEST",
        }
    }

    /// The error in `family` (A: coded, B: plain string). Storage failures are logged and
    /// answered without their cause.
    pub fn into_api(self, family: Family, policy: &FilePolicy) -> ApiError {
        if let UploadError::Storage(err) = &self {
            tracing::error!(%err, "an upload could not be stored");
        }
        let status = self.status();
        let message = self.to_string();
        match family {
            Family::Plain => ApiError::plain(status, message),
            _ => ApiError::coded(status, self.code(policy), message),
        }
    }

    fn refused(refusal: TypeRefusal, allowed: &[&str]) -> Self {
        let message = match refusal {
            TypeRefusal::NotAllowed { mime } => format!(
                "File type '{mime}' is not allowed; allowed types: {}",
                allowed.join(", ")
            ),
            TypeRefusal::Mismatch {
                declared,
                found: Some(found),
            } => format!("The file is declared as {declared} but its content is {found}"),
            TypeRefusal::Mismatch {
                declared,
                found: None,
            } => format!("The file is declared as {declared} but its content is not"),
            TypeRefusal::Unknown => {
                "The file's type is not declared and its content is not of an allowed type"
                    .to_owned()
            }
        };
        UploadError::Type(message)
    }
}

/// The limits of one upload.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_file: u64,
    idle: std::time::Duration,
    deadline: Instant,
}

impl Limits {
    fn of(media: &MediaConfig) -> Self {
        Limits {
            max_file: media.max_upload_bytes,
            idle: media.upload_idle_timeout,
            deadline: Instant::now() + media.upload_deadline,
        }
    }

    fn max_body(&self) -> u64 {
        self.max_file.saturating_add(FORM_ALLOWANCE)
    }

    /// The next item of `stream`, within the idle timeout and the deadline.
    async fn next<S: Stream + Unpin>(
        &self,
        stream: &mut S,
    ) -> Result<Option<S::Item>, UploadError> {
        let until = (Instant::now() + self.idle).min(self.deadline);
        tokio::time::timeout_at(until, stream.next())
            .await
            .map_err(|_| UploadError::TimedOut)
    }
}

/// Reads the multipart body of `req`: its text fields and at most one file, which must come in
/// one of `policy.fields` and be of an allowed type.
pub async fn receive(
    req: &HttpRequest,
    payload: web::Payload,
    policy: &FilePolicy,
    sink: Sink<'_>,
    media: &MediaConfig,
) -> Result<Form, UploadError> {
    let limits = Limits::of(media);
    if declared_length(req).is_some_and(|length| length > limits.max_body()) {
        return Err(UploadError::TooLarge {
            limit: limits.max_file,
        });
    }
    let overflowed = Rc::new(Cell::new(false));
    let body = capped(payload, limits.max_body(), Rc::clone(&overflowed));
    let mut multipart = Multipart::new(req.headers(), body);
    let mut form = Form::default();
    let read = async {
        while let Some(field) = limits.next(&mut multipart).await? {
            let field = field.map_err(part_error)?;
            read_part(field, &mut form, policy, sink, &limits).await?;
        }
        Ok(())
    };
    match read.await {
        Ok(()) => Ok(form),
        // The cap shows up as whatever the parser made of the cut stream.
        Err(_) if overflowed.get() => Err(UploadError::TooLarge {
            limit: limits.max_file,
        }),
        Err(err) => Err(err),
    }
}

fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The body, cut with an overflow error once it exceeds `max` bytes.
fn capped(
    payload: web::Payload,
    max: u64,
    overflowed: Rc<Cell<bool>>,
) -> impl Stream<Item = Result<Bytes, PayloadError>> {
    let mut seen = 0u64;
    payload.map(move |chunk| {
        let chunk = chunk?;
        seen = seen.saturating_add(chunk.len() as u64);
        if seen > max {
            overflowed.set(true);
            return Err(PayloadError::Overflow);
        }
        Ok(chunk)
    })
}

async fn read_part(
    field: Field,
    form: &mut Form,
    policy: &FilePolicy,
    sink: Sink<'_>,
    limits: &Limits,
) -> Result<(), UploadError> {
    let name = field.name().unwrap_or_default().to_owned();
    let file_name = field
        .content_disposition()
        .and_then(|disposition| disposition.get_filename())
        .map(str::to_owned);
    let is_file = policy.fields.contains(&name.as_str());
    if !is_file && file_name.is_none() {
        return read_text_field(field, name, form, limits).await;
    }
    if !is_file {
        return Err(UploadError::UnexpectedFile {
            field: name,
            expected: policy.fields.first().copied().unwrap_or("file"),
        });
    }
    if form.file.is_some() {
        return Err(UploadError::TooManyFiles);
    }
    form.file = Some(read_file(field, file_name.as_deref(), policy, sink, limits).await?);
    Ok(())
}

async fn read_text_field(
    mut field: Field,
    name: String,
    form: &mut Form,
    limits: &Limits,
) -> Result<(), UploadError> {
    if form.text_parts >= MAX_TEXT_FIELDS {
        return Err(UploadError::TooManyFields);
    }
    form.text_parts += 1;
    let mut value = Vec::new();
    while let Some(chunk) = limits.next(&mut field).await? {
        value.extend_from_slice(&chunk.map_err(part_error)?);
        if value.len() > MAX_TEXT_FIELD_BYTES {
            return Err(UploadError::FieldTooLarge(name));
        }
    }
    // NUL is refused as in JSON bodies: PostgreSQL cannot store it in text.
    let value = String::from_utf8(value)
        .ok()
        .filter(|text| !text.contains('\0'))
        .ok_or_else(|| UploadError::FieldNotText(name.clone()))?;
    form.fields.insert(name, value);
    Ok(())
}

async fn read_file(
    mut field: Field,
    file_name: Option<&str>,
    policy: &FilePolicy,
    sink: Sink<'_>,
    limits: &Limits,
) -> Result<Upload, UploadError> {
    let mut size = 0u64;
    let mut count = |chunk: &Bytes| {
        size = size.saturating_add(chunk.len() as u64);
        if size > limits.max_file {
            return Err(UploadError::TooLarge {
                limit: limits.max_file,
            });
        }
        Ok(())
    };
    let mut head = Vec::new();
    // A field must not be polled again once it ended (actix-multipart panics).
    let mut ended = false;
    while head.len() < HEAD_BYTES {
        let Some(chunk) = limits.next(&mut field).await? else {
            ended = true;
            break;
        };
        let chunk = chunk.map_err(part_error)?;
        count(&chunk)?;
        head.extend_from_slice(&chunk);
    }
    if head.is_empty() {
        return Err(UploadError::Empty);
    }
    let declared = field.content_type().map(ToString::to_string);
    let sample = &head[..head.len().min(HEAD_BYTES)];
    let (mime, format) = kind::check(declared.as_deref(), sample, policy.allowed)
        .map_err(|refusal| UploadError::refused(refusal, policy.allowed))?;
    let data = match sink {
        Sink::Memory => {
            let mut bytes = head;
            while let Some(chunk) = next_unless(ended, &mut field, limits).await? {
                let chunk = chunk.map_err(part_error)?;
                count(&chunk)?;
                bytes.extend_from_slice(&chunk);
            }
            Data::Memory(bytes)
        }
        Sink::Disk(dir) => {
            let extension = format.extension(&mime);
            let (staged, file) = Staged::create(dir, extension)
                .await
                .map_err(UploadError::Storage)?;
            // Buffered: each small multipart chunk would otherwise be a blocking-pool round trip.
            let mut file = tokio::io::BufWriter::with_capacity(256 * 1024, file);
            file.write_all(&head).await.map_err(UploadError::Storage)?;
            while let Some(chunk) = next_unless(ended, &mut field, limits).await? {
                let chunk = chunk.map_err(part_error)?;
                count(&chunk)?;
                file.write_all(&chunk).await.map_err(UploadError::Storage)?;
            }
            file.flush().await.map_err(UploadError::Storage)?;
            Data::Staged(staged)
        }
    };
    Ok(Upload {
        original_name: display_name(file_name),
        mime,
        format,
        size,
        data,
    })
}

/// The field's next chunk, or nothing if it already `ended`.
async fn next_unless(
    ended: bool,
    field: &mut Field,
    limits: &Limits,
) -> Result<Option<Result<Bytes, MultipartError>>, UploadError> {
    if ended {
        return Ok(None);
    }
    limits.next(field).await
}

fn part_error(err: MultipartError) -> UploadError {
    match err {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => UploadError::NotMultipart,
        other => UploadError::Malformed(other.to_string()),
    }
}
