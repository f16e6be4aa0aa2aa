//! Serving the elizaOS web UI (`@elizaos/client` build) at `/`, with 1.7.2's single-page-app
//! rules (API spec §1.1 steps 8 and 12, §4): files as they are, with ETag and Last-Modified and
//! `Cache-Control: public, max-age=0`; a missing `.js` file is a 404 JavaScript comment; any
//! other GET outside `/api` is `index.html`, so client routes (`/chat/:id`, …) load the app.

use crate::error::ApiError;
use crate::middleware::not_found;
use crate::state::AppState;
use actix_files::NamedFile;
use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use std::path::{Component, Path, PathBuf};

/// Where the web UI comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum WebUi {
    /// No UI is served; paths outside the API are JSON 404s.
    #[default]
    Absent,
    /// `ELIZA_UI_ENABLE=false`: 1.7.2 answers 403 outside the API.
    Disabled,
    /// The build directory (the one holding `index.html`). Until it holds one (a fetch still
    /// under way, say), paths outside the API are JSON 404s.
    Dir(PathBuf),
}

/// The app's default service: the UI for GETs outside `/api`, the JSON 404 otherwise.
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let page = req.method() == Method::GET && !is_api(req.path());
    match (&state.config.ui, page) {
        (WebUi::Dir(dir), true) => serve(req, dir.clone()).await,
        (WebUi::Disabled, true) => {
            ApiError::global(StatusCode::FORBIDDEN, "The web UI is disabled").error_response()
        }
        _ => not_found(req).await,
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// What a UI request is answered with.
enum Page {
    File(Box<NamedFile>),
    MissingScript,
    /// No `index.html` (not fetched yet).
    NoBuild,
}

/// Resolves and opens the file in one blocking step, off the async executor.
async fn serve(req: HttpRequest, dir: PathBuf) -> HttpResponse {
    let path = req.path().to_owned();
    let resolved = web::block(move || {
        if let Some(file) = file_under(&dir, &path).filter(|file| file.is_file()) {
            return NamedFile::open(file).map(|file| Page::File(Box::new(file)));
        }
        if path.ends_with(".js") || path.ends_with(".mjs") {
            return Ok(Page::MissingScript);
        }
        match NamedFile::open(dir.join("index.html")) {
            Ok(index) => Ok(Page::File(Box::new(index))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Page::NoBuild),
            Err(err) => Err(err),
        }
    })
    .await;
    match resolved {
        Ok(Ok(Page::File(file))) => send(&req, *file),
        Ok(Ok(Page::MissingScript)) => HttpResponse::NotFound()
            .content_type("application/javascript; charset=utf-8")
            .body(format!("// JavaScript module not found: {}", req.path())),
        Ok(Ok(Page::NoBuild)) => not_found(req).await,
        Ok(Err(err)) => {
            tracing::warn!(%err, path = req.path(), "a web UI file could not be read");
            ApiError::global(StatusCode::NOT_FOUND, "Not found").error_response()
        }
        Err(_) => ApiError::global(StatusCode::SERVICE_UNAVAILABLE, "Server busy").error_response(),
    }
}

/// The file a URL path names inside `dir`, or `None` when the path would leave it.
fn file_under(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = percent_encoding::percent_decode_str(url_path)
        .decode_utf8()
        .ok()?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    let mut file = dir.to_path_buf();
    for component in relative.components() {
        match component {
            Component::Normal(part) => file.push(part),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(file)
}

/// The file with ETag and Last-Modified, revalidated every time as 1.7.2 (express.static) does;
/// the hashed asset names change with each build anyway.
fn send(req: &HttpRequest, file: NamedFile) -> HttpResponse {
    // express.static sends no Content-Disposition: fonts and the like are not downloads.
    let mut response = file
        .use_etag(true)
        .use_last_modified(true)
        .disable_content_disposition()
        .into_response(req);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_build() {
        let dir = Path::new("/srv/ui");
        assert_eq!(
            file_under(dir, "/assets/a.js"),
            Some(dir.join("assets/a.js"))
        );
        assert_eq!(file_under(dir, "/"), Some(dir.to_path_buf()));
        assert_eq!(file_under(dir, "/a/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(file_under(dir, "/../etc/passwd"), None);
        assert_eq!(file_under(dir, "/%ff"), None);
    }

    #[test]
    fn only_api_paths_are_api() {
        assert!(is_api("/api") && is_api("/api/agents"));
        assert!(!is_api("/apix") && !is_api("/chat/api"));
    }
}
