//! Serving the elizaOS web UI (`@elizaos/client` build) at `/`, with 1.7.2's single-page-app
//! rules (API spec §1.1 steps 8 and 12, §4): files as they are, with ETag and Last-Modified and
//! `Cache-Control: public, max-age=0`; a missing `.js` file is a 404 JavaScript comment; any
//! other GET outside `/api` is `index.html`, so client routes (`/chat/:id`, …) load the app.

use crate::error::ApiError;
use crate::middleware::not_found;
use crate::state::AppState;
use actix_files::NamedFile;
use actix_web::http::header::{self, CacheControl, CacheDirective};
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
        (WebUi::Dir(dir), true) if dir.join("index.html").is_file() => serve(&req, dir).await,
        (WebUi::Disabled, true) => {
            ApiError::global(StatusCode::FORBIDDEN, "The web UI is disabled").error_response()
        }
        _ => not_found(req).await,
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

async fn serve(req: &HttpRequest, dir: &Path) -> HttpResponse {
    let path = req.path();
    if let Some(file) = file_under(dir, path).filter(|file| file.is_file()) {
        return send(req, file).await;
    }
    if path.ends_with(".js") || path.ends_with(".mjs") {
        return HttpResponse::NotFound()
            .content_type("application/javascript; charset=utf-8")
            .body(format!("// JavaScript module not found: {path}"));
    }
    send(req, dir.join("index.html")).await
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

async fn send(req: &HttpRequest, file: PathBuf) -> HttpResponse {
    match web::block(move || NamedFile::open(file)).await {
        Ok(Ok(file)) => {
            let mut response = file
                .use_etag(true)
                .use_last_modified(true)
                .into_response(req);
            // 1.7.2 (express.static): revalidate every time; the hashed asset names change anyway.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_str(
                    &CacheControl(vec![CacheDirective::Public, CacheDirective::MaxAge(0)])
                        .to_string(),
                )
                .unwrap_or_else(|_| header::HeaderValue::from_static("public, max-age=0")),
            );
            response
        }
        _ => ApiError::global(StatusCode::NOT_FOUND, "Not found").error_response(),
    }
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
