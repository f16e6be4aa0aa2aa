//! Media uploads (API spec §2.4): agent media (family A), channel media under `/api/media` and
//! `/api/messaging` (family B), and seed 001's `POST /api/media/upload` (family A). Files are
//! streamed to disk under a generated name ([`crate::upload`]) and served by
//! [`super::media_files`].
//!
//! Unlike 1.7.2, which answers 500 to a refused type or an oversized file, these answer 415 and
//! 413 in the route's own envelope; a client's file name with directories is reduced to its last
//! segment for `originalName` (1.7.2's messaging route refused it) and never touches the disk.

use crate::error::{ApiError, ApiResult, Family, ok};
use crate::media::MediaRoot;
use crate::openapi::Routes;
use crate::openapi::schemas::{ErrorBody, Success};
use crate::rate_limit::{limit_channel_media, upload_limited};
use crate::routes::messaging::channels::channel_id;
use crate::state::AppState;
use crate::upload::{self, FilePolicy, MEDIA_TYPES, Sink, Upload, category};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, web};
use eliza_domain::AgentId;
use eliza_domain::ids::validate_uuid;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, upload_agent_media);
    routes
        // 1.7.2's other path for the same upload, with its own limiter (the api-client and
        // the web UI use the messaging path).
        .add_wrapped::<__path_upload_messaging_channel_media, _, _>(
            "/api/media/channels/{channelId}/upload-media",
            upload_messaging_channel_media,
            |route| route.wrap(from_fn(limit_channel_media)),
        )
        .add_wrapped::<__path_upload_messaging_channel_media, _, _>(
            "/api/messaging/channels/{channelId}/upload-media",
            upload_messaging_channel_media,
            upload_limited,
        )
        .add_wrapped::<__path_upload_seed_media, _, _>(
            "/api/media/upload",
            upload_seed_media,
            upload_limited,
        );
}

const POLICY: FilePolicy = FilePolicy {
    fields: &["file"],
    allowed: MEDIA_TYPES,
    missing: "No media file provided",
    type_code: "UNSUPPORTED_MEDIA_TYPE",
};

/// The multipart body: the file in `file` (one of the allowed media types, at most 50 MB by
/// default). The api-client's `contentType` and `metadata` fields are accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct MediaForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    content_type: Option<String>,
    metadata: Option<String>,
}

/// The seed's body: the file and whose it is (`agentId`, else `channelId` or `roomId`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // a schema only
pub struct SeedMediaForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    agent_id: Option<String>,
    channel_id: Option<String>,
    room_id: Option<String>,
}

/// A stored upload as 1.7.2 reports it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MediaUpload {
    /// `/media/uploads/agents/<id>/<file>` or `/media/uploads/channels/<id>/<file>`.
    pub url: String,
    /// Agent uploads: the category (`image`, `video`, `audio`, `document`); channel uploads:
    /// the MIME type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The generated name: `<ms>-<random><ext>`.
    pub filename: String,
    /// The client's file name (its last path segment).
    #[serde(rename = "originalName")]
    pub original_name: String,
    pub size: u64,
}

/// The seed 001 answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedUpload {
    pub url: String,
    pub filename: String,
    pub size: u64,
    #[serde(rename = "contentType")]
    pub content_type: String,
}

/// A stored file and what the client said about it.
struct Stored {
    url: String,
    filename: String,
    original_name: String,
    mime: String,
    size: u64,
}

/// Receives the form (staged in `root`'s directory) and stores its file under `<root>/<id>/`.
async fn receive_into(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    root: MediaRoot,
) -> Result<upload::Form, upload::UploadError> {
    let media = &state.config.media;
    upload::receive(req, payload, &POLICY, Sink::Disk(media.dir(root)), media).await
}

async fn store(
    file: Upload,
    state: &AppState,
    root: MediaRoot,
    id: &str,
) -> Result<Stored, upload::UploadError> {
    let (original_name, mime, size) = (file.original_name.clone(), file.mime.clone(), file.size);
    let stored = file.persist(state.config.media.dir(root), id).await?;
    Ok(Stored {
        url: root.url(id, &stored.filename),
        filename: stored.filename,
        original_name,
        mime,
        size,
    })
}

/// Receives and stores a file for `<root>/<id>/`, errors in `family`.
async fn upload_to(
    req: HttpRequest,
    payload: web::Payload,
    state: &AppState,
    root: MediaRoot,
    id: &str,
    family: Family,
) -> Result<Stored, ApiError> {
    let fail = |err: upload::UploadError| err.into_api(family, &POLICY);
    let mut form = receive_into(&req, payload, state, root)
        .await
        .map_err(fail)?;
    let file = form.take_file(&POLICY).map_err(fail)?;
    store(file, state, root, id).await.map_err(fail)
}

#[utoipa::path(post, path = "/api/media/agents/{agentId}/upload-media", tag = "media",
    summary = "Upload a file for an agent",
    params(("agentId" = String, Path, description = "Agent UUID")),
    request_body(content = MediaForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored; `type` is the category", body = Success<MediaUpload>),
        (status = 400, description = "`INVALID_ID`, or `INVALID_REQUEST` (no file, wrong field, not multipart)", body = ErrorBody),
        (status = 408, description = "`REQUEST_TIMEOUT`: the body stalled", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`: type not allowed, or content not of the declared type", body = ErrorBody),
        (status = 500, description = "`UPLOAD_ERROR`", body = ErrorBody),
    ))]
async fn upload_agent_media(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    let agent = AgentId::parse(&path)
        .map_err(|_| ApiError::invalid_id("Invalid agent ID format"))?
        .to_string();
    let root = MediaRoot::AgentUploads;
    let stored = upload_to(req, payload, &state, root, &agent, Family::Coded).await?;
    Ok(ok(MediaUpload {
        kind: category(&stored.mime).to_owned(),
        url: stored.url,
        filename: stored.filename,
        original_name: stored.original_name,
        size: stored.size,
    }))
}

#[utoipa::path(post, path = "/api/messaging/channels/{channelId}/upload-media", tag = "media",
    summary = "Upload a file to a channel (the api-client's and web UI's path)",
    params(("channelId" = String, Path, description = "Channel UUID")),
    request_body(content = MediaForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored; `type` is the MIME type", body = Success<MediaUpload>),
        (status = 400, description = "Invalid channel id, no file, wrong field, not multipart (family B)", body = ErrorBody),
        (status = 408, description = "The body stalled", body = ErrorBody),
        (status = 413, description = "File too large", body = ErrorBody),
        (status = 415, description = "Type not allowed, or content not of the declared type", body = ErrorBody),
        (status = 429, description = "Upload (50 / 15 min) or file (100 / 5 min) limit", body = ErrorBody),
    ))]
async fn upload_messaging_channel_media(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult {
    // Family B, and `type` is the MIME type.
    let channel = channel_id(&path, "Invalid channelId format")?.to_string();
    let root = MediaRoot::ChannelUploads;
    let stored = upload_to(req, payload, &state, root, &channel, Family::Plain).await?;
    Ok(ok(MediaUpload {
        url: stored.url,
        kind: stored.mime,
        filename: stored.filename,
        original_name: stored.original_name,
        size: stored.size,
    }))
}

#[utoipa::path(post, path = "/api/media/upload", tag = "media",
    summary = "Upload a file for an agent or a channel (seed 001)",
    description = "`agentId` stores it with the agent's uploads; otherwise `channelId` (or `roomId`) with the channel's. The fields may come before or after the file.",
    request_body(content = SeedMediaForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Stored", body = Success<SeedUpload>),
        (status = 400, description = "`INVALID_ID`, or `INVALID_REQUEST` (no owner id, no file, wrong field)", body = ErrorBody),
        (status = 408, description = "`REQUEST_TIMEOUT`", body = ErrorBody),
        (status = 413, description = "`FILE_TOO_LARGE`", body = ErrorBody),
        (status = 415, description = "`UNSUPPORTED_MEDIA_TYPE`", body = ErrorBody),
        (status = 429, description = "Upload or file limit", body = ErrorBody),
    ))]
async fn upload_seed_media(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> ApiResult {
    let fail = |err: upload::UploadError| err.into_api(Family::Coded, &POLICY);
    // The owner is only known once the whole form is read: stage with the agent uploads.
    let mut form = receive_into(&req, payload, &state, MediaRoot::AgentUploads)
        .await
        .map_err(fail)?;
    let file = form.take_file(&POLICY).map_err(fail)?;
    let (root, id) = seed_owner(&form)?;
    let stored = store(file, &state, root, &id).await.map_err(fail)?;
    Ok(ok(SeedUpload {
        url: stored.url,
        filename: stored.filename,
        size: stored.size,
        content_type: stored.mime,
    }))
}

/// Whose upload it is: `agentId` first (the seed's example sends both it and `roomId`).
fn seed_owner(form: &upload::Form) -> Result<(MediaRoot, String), ApiError> {
    let owner = form
        .field("agentId")
        .map(|id| (MediaRoot::AgentUploads, id, "Invalid agent ID format"))
        .or_else(|| {
            form.field("channelId")
                .or_else(|| form.field("roomId"))
                .map(|id| (MediaRoot::ChannelUploads, id, "Invalid channel ID format"))
        });
    let Some((root, id, invalid)) = owner else {
        return Err(ApiError::bad_request(
            "INVALID_REQUEST",
            "agentId (or channelId / roomId) is required",
        ));
    };
    let id = validate_uuid(id).ok_or_else(|| ApiError::invalid_id(invalid))?;
    Ok((root, id.to_string()))
}
