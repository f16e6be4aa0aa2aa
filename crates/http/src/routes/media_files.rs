//! Serving media files (API spec §2.4), public like 1.7.2 (outside `/api`, no API key), with
//! its `{"error": …}` bodies. The channel route serves the channel upload directory, where
//! uploads are written (1.7.2 looked in the wrong one and answered 404 to every file).
//!
//! Names are checked before any file system access (one plain name, no `..` or separators)
//! and the resolved path must stay inside its directory. Every file is sent with `nosniff`;
//! only images (not SVG), audio and video are shown inline, anything else is an attachment,
//! so an uploaded or generated HTML, SVG or text file never renders as a page of this origin.
//! Range requests are answered (actix-files).

use crate::media::{FileRefusal, MediaRoot, resolve_file};
use crate::openapi::Routes;
use crate::openapi::schemas::{Binary, ErrorBody};
use crate::state::AppState;
use actix_files::NamedFile;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, ContentDisposition, DispositionParam, DispositionType, HeaderValue,
};
use actix_web::{HttpRequest, HttpResponse, web};
use eliza_domain::ids::validate_uuid;
use serde_json::json;

pub fn configure(routes: &mut Routes<'_>) {
    crate::route!(routes, agent_upload_file);
    crate::route!(routes, generated_file);
    crate::route!(routes, channel_upload_file);
}

/// The 1.7.2 answers of one route.
struct Answers {
    root: MediaRoot,
    invalid_id: &'static str,
    missing: &'static str,
}

#[utoipa::path(get, path = "/media/uploads/agents/{agentId}/{filename}", tag = "media",
    summary = "An agent's uploaded file (no API key)",
    params(("agentId" = String, Path), ("filename" = String, Path)),
    responses(
        (status = 200, description = "The file, typed by its name (Range supported)", content_type = "*/*", body = Binary),
        (status = 206, description = "Part of the file", content_type = "*/*", body = Binary),
        (status = 400, description = "`{error:\"Invalid agent ID format\"}`", body = ErrorBody),
        (status = 403, description = "`{error:\"Access denied\"}`: the name leaves the directory", body = ErrorBody),
        (status = 404, description = "`{error:\"File does not exist!!!!!!!\"}`", body = ErrorBody),
    ))]
async fn agent_upload_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let answers = Answers {
        root: MediaRoot::AgentUploads,
        invalid_id: "Invalid agent ID format",
        missing: "File does not exist!!!!!!!",
    };
    serve(&req, &state, &answers, &path).await
}

#[utoipa::path(get, path = "/media/generated/{agentId}/{filename}", tag = "media",
    summary = "A file an agent generated (no API key)",
    params(("agentId" = String, Path), ("filename" = String, Path)),
    responses(
        (status = 200, description = "The file, typed by its name (Range supported)", content_type = "*/*", body = Binary),
        (status = 206, description = "Part of the file", content_type = "*/*", body = Binary),
        (status = 400, description = "`{error:\"Invalid agent ID format\"}`", body = ErrorBody),
        (status = 403, description = "`{error:\"Access denied\"}`", body = ErrorBody),
        (status = 404, description = "`{error:\"File not found\"}`", body = ErrorBody),
    ))]
async fn generated_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let answers = Answers {
        root: MediaRoot::Generated,
        invalid_id: "Invalid agent ID format",
        missing: "File not found",
    };
    serve(&req, &state, &answers, &path).await
}

#[utoipa::path(get, path = "/media/uploads/channels/{channelId}/{filename}", tag = "media",
    summary = "A file uploaded to a channel (no API key)",
    params(("channelId" = String, Path), ("filename" = String, Path)),
    responses(
        (status = 200, description = "The file, typed by its name (Range supported)", content_type = "*/*", body = Binary),
        (status = 206, description = "Part of the file", content_type = "*/*", body = Binary),
        (status = 400, description = "`{error:\"Invalid channel ID format\"}`", body = ErrorBody),
        (status = 403, description = "`{error:\"Access denied\"}`", body = ErrorBody),
        (status = 404, description = "`{error:\"File not found\"}`", body = ErrorBody),
    ))]
async fn channel_upload_file(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let answers = Answers {
        root: MediaRoot::ChannelUploads,
        invalid_id: "Invalid channel ID format",
        missing: "File not found",
    };
    serve(&req, &state, &answers, &path).await
}

fn refused(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message }))
}

async fn serve(
    req: &HttpRequest,
    state: &AppState,
    answers: &Answers,
    (id, name): &(String, String),
) -> HttpResponse {
    let Some(id) = validate_uuid(id) else {
        return refused(StatusCode::BAD_REQUEST, answers.invalid_id);
    };
    let dir = state.config.media.dir(answers.root);
    let path = match resolve_file(dir, &id.to_string(), name).await {
        Ok(path) => path,
        Err(FileRefusal::Denied) => return refused(StatusCode::FORBIDDEN, "Access denied"),
        Err(FileRefusal::Missing) => return refused(StatusCode::NOT_FOUND, answers.missing),
    };
    let file = match web::block(move || NamedFile::open(path)).await {
        Ok(Ok(file)) => file,
        _ => return refused(StatusCode::NOT_FOUND, answers.missing),
    };
    let disposition = if shown_inline(file.content_type()) {
        DispositionType::Inline
    } else {
        DispositionType::Attachment
    };
    let file = file.set_content_disposition(ContentDisposition {
        disposition,
        parameters: vec![DispositionParam::Filename(name.clone())],
    });
    let mut response = file.into_response(req);
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Images, audio and video display inline; SVG (scriptable) and everything else download.
fn shown_inline(mime: &mime::Mime) -> bool {
    match mime.type_() {
        mime::IMAGE => mime.subtype() != mime::SVG,
        mime::AUDIO | mime::VIDEO => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_images_audio_and_video_are_inline() {
        let inline = |text: &str| shown_inline(&text.parse().unwrap());
        assert!(inline("image/png"));
        assert!(inline("audio/mpeg"));
        assert!(inline("video/mp4"));
        assert!(!inline("image/svg+xml"));
        assert!(!inline("text/plain"));
        assert!(!inline("text/html"));
        assert!(!inline("application/pdf"));
        assert!(!inline("application/octet-stream"));
    }
}
