//! Media uploads and files (API spec §2.4): the three upload routes and the seed's, their
//! envelopes and refusals (traversal names, disguised files, wrong fields, oversized and
//! stalled bodies), the public file routes, their limits, and attachment URLs.

use crate::messaging_fixture::{DEFAULT_SERVER, assert_error, data, user_id};
use crate::multipart::{self, Part, png};
use crate::support::{Reply, TestApp};
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use chrono::Utc;
use eliza_domain::messaging::CentralMessage;
use eliza_domain::{ChannelId, MessageId};
use eliza_http::HttpConfig;
use eliza_http::media::MediaConfig;
use eliza_http::rate_limit::{LimitRule, RateLimitConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const AGENT: &str = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
const CHANNEL: &str = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
const REMOTE: &str = "203.0.113.9:5000";

fn agent_upload_path() -> String {
    format!("/api/media/agents/{AGENT}/upload-media")
}

fn png_part(file_name: &str) -> Part {
    Part::file("file", file_name, "image/png", &png())
}

/// Every regular file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

fn media(app: &TestApp) -> &MediaConfig {
    &app.state.config.media
}

/// A family-A error with this status and code.
fn assert_coded(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["success"], false, "{}", reply.json);
    assert_eq!(reply.json["error"]["code"], code, "{}", reply.json);
}

fn assert_generated_name(name: &str, extension: &str) {
    let stem = name
        .strip_suffix(extension)
        .unwrap_or_else(|| panic!("{name} ends with {extension}"));
    let (ms, random) = stem.split_once('-').expect("<ms>-<random>");
    assert!(
        ms.parse::<i64>().is_ok() && random.parse::<u32>().is_ok(),
        "{name}"
    );
}

async fn app_with_media(media: impl FnOnce(&mut MediaConfig)) -> TestApp {
    let mut config = HttpConfig::default();
    media(&mut config.media);
    TestApp::with_config(config).await
}

#[actix_web::test]
async fn an_agent_upload_is_stored_under_a_generated_name_and_served_inline() {
    let app = TestApp::new().await;
    let parts = [
        png_part("cat.png"),
        Part::text("contentType", "image/png"),
        Part::text("metadata", "{\"a\":1}"),
    ];
    let reply = app
        .call(multipart::post(&agent_upload_path(), &parts))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["success"], true);
    let upload = &reply.json["data"];
    let filename = upload["filename"].as_str().unwrap();
    assert_generated_name(filename, ".png");
    assert_eq!(
        upload["url"],
        format!("/media/uploads/agents/{AGENT}/{filename}")
    );
    assert_eq!(upload["type"], "image", "the category, as 1.7.2");
    assert_eq!(upload["originalName"], "cat.png");
    assert_eq!(upload["size"], png().len());
    let stored = media(&app).uploads_agents.join(AGENT).join(filename);
    assert_eq!(std::fs::read(&stored).unwrap(), png());
    assert_eq!(
        files_under(&media(&app).uploads_agents).len(),
        1,
        "no temporary file is left behind"
    );

    let served = app.get(upload["url"].as_str().unwrap()).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.body.as_ref(), png().as_slice());
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert!(
        served
            .header("content-disposition")
            .unwrap()
            .starts_with("inline"),
        "{:?}",
        served.headers
    );
}

#[actix_web::test]
async fn channel_uploads_report_the_mime_type_and_are_served_from_the_channel_directory() {
    let app = TestApp::new().await;
    for route in ["media", "messaging"] {
        let path = format!("/api/{route}/channels/{CHANNEL}/upload-media");
        let pdf = Part::file(
            "file",
            "report.pdf",
            "application/pdf",
            b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n",
        );
        let reply = app.call(multipart::post(&path, &[pdf])).await;
        assert_eq!(reply.status, StatusCode::OK, "{route}: {}", reply.json);
        let upload = data(&reply);
        assert_eq!(upload["type"], "application/pdf");
        assert_eq!(upload["originalName"], "report.pdf");
        let filename = upload["filename"].as_str().unwrap();
        assert_generated_name(filename, ".pdf");
        let url = upload["url"].as_str().unwrap();
        assert_eq!(url, format!("/media/uploads/channels/{CHANNEL}/{filename}"));
        assert!(
            media(&app)
                .uploads_channels
                .join(CHANNEL)
                .join(filename)
                .is_file()
        );

        // 1.7.2 looked in the agents directory and answered 404 here.
        let served = app.get(url).await;
        assert_eq!(served.status, StatusCode::OK, "{route}");
        assert_eq!(served.header("content-type"), Some("application/pdf"));
        assert!(
            served
                .header("content-disposition")
                .unwrap()
                .starts_with("attachment"),
            "a PDF downloads"
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    }
}

#[actix_web::test]
async fn text_files_are_accepted_as_text_and_downloaded() {
    let app = TestApp::new().await;
    let note = Part::file(
        "file",
        "note.txt",
        "text/plain",
        b"<html>just text</html>\n",
    );
    let reply = app
        .call(multipart::post(&agent_upload_path(), &[note]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["data"]["type"], "document");
    let served = app.get(reply.json["data"]["url"].as_str().unwrap()).await;
    assert_eq!(served.status, StatusCode::OK);
    assert!(
        served
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        served
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment")
    );
}

#[actix_web::test]
async fn path_traversal_file_names_never_reach_the_disk() {
    let app = TestApp::new().await;
    let root = app.dir.path().to_path_buf();
    for (name, original) in [
        ("../../etc/passwd.png", "passwd.png"),
        ("a/b/../../../evil.png", "evil.png"),
        // A quoted-string escapes `\`: the server reads `..\..\windows\evil.png`.
        ("..\\\\..\\\\windows\\\\evil.png", "evil.png"),
        ("/etc/passwd", "passwd"),
        ("..", "upload"),
    ] {
        for path in [
            agent_upload_path(),
            format!("/api/messaging/channels/{CHANNEL}/upload-media"),
        ] {
            let reply = app.call(multipart::post(&path, &[png_part(name)])).await;
            assert_eq!(
                reply.status,
                StatusCode::OK,
                "{name} {path}: {}",
                reply.json
            );
            assert_eq!(reply.json["data"]["originalName"], original, "{name}");
            assert_generated_name(reply.json["data"]["filename"].as_str().unwrap(), ".png");
        }
    }
    let stored = files_under(&root);
    let uploads = [
        media(&app).uploads_agents.join(AGENT),
        media(&app).uploads_channels.join(CHANNEL),
    ];
    for file in &stored {
        let in_uploads = uploads
            .iter()
            .any(|dir| file.parent() == Some(dir.as_path()));
        let database = file.extension().is_some_and(|ext| ext != "png");
        assert!(
            in_uploads || database,
            "{} is outside the upload directories",
            file.display()
        );
    }
    assert!(!root.join("etc").exists() && !root.parent().unwrap().join("evil.png").exists());
}

#[actix_web::test]
async fn a_png_that_is_really_html_is_refused_in_each_family() {
    let app = TestApp::new().await;
    let disguised = Part::file(
        "file",
        "cat.png",
        "image/png",
        b"<html><script>alert(1)</script></html>",
    );
    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            std::slice::from_ref(&disguised),
        ))
        .await;
    assert_coded(&reply, 415, "UNSUPPORTED_MEDIA_TYPE");
    assert_eq!(
        reply.json["error"]["message"],
        "The file is declared as image/png but its content is text/plain"
    );
    let path = format!("/api/media/channels/{CHANNEL}/upload-media");
    let reply = app.call(multipart::post(&path, &[disguised])).await;
    assert_error(
        &reply,
        415,
        "The file is declared as image/png but its content is text/plain",
    );
    assert!(
        files_under(app.dir.path())
            .iter()
            .all(|file| file.extension().is_none_or(|ext| ext != "png"))
    );
    assert!(
        files_under(&media(&app).uploads_agents).is_empty(),
        "nothing stored"
    );
}

#[actix_web::test]
async fn types_outside_the_list_are_refused() {
    let app = TestApp::new().await;
    for part in [
        Part::file("file", "page.html", "text/html", b"<html></html>"),
        Part::file(
            "file",
            "x.svg",
            "image/svg+xml",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        ),
        Part::file(
            "file",
            "x.bin",
            "application/octet-stream",
            b"\0\x01\x02binary",
        ),
    ] {
        let reply = app
            .call(multipart::post(&agent_upload_path(), &[part]))
            .await;
        assert_coded(&reply, 415, "UNSUPPORTED_MEDIA_TYPE");
    }
    // Without a usable declared type, the content decides.
    let undeclared = Part::file("file", "x", "application/octet-stream", &png());
    let reply = app
        .call(multipart::post(&agent_upload_path(), &[undeclared]))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.json["data"]["type"], "image");
}

#[actix_web::test]
async fn a_wrong_field_name_a_missing_file_and_bad_forms_are_400s() {
    let app = TestApp::new().await;
    let wrong = Part::file("upload", "cat.png", "image/png", &png());
    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            std::slice::from_ref(&wrong),
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "Unexpected file field 'upload': send the file in the 'file' field"
    );
    let channel = format!("/api/messaging/channels/{CHANNEL}/upload-media");
    let reply = app.call(multipart::post(&channel, &[wrong])).await;
    assert_error(
        &reply,
        400,
        "Unexpected file field 'upload': send the file in the 'file' field",
    );

    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            &[Part::text("note", "hi")],
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.json["error"]["message"], "No media file provided");
    let reply = app.call(multipart::post(&channel, &[])).await;
    assert_error(&reply, 400, "No media file provided");

    let two = [png_part("a.png"), png_part("b.png")];
    let reply = app.call(multipart::post(&agent_upload_path(), &two)).await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.json["error"]["message"], "Only one file per request");

    let empty = Part::file("file", "empty.png", "image/png", b"");
    let reply = app
        .call(multipart::post(&agent_upload_path(), &[empty]))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.json["error"]["message"], "The file is empty");

    let json_body = TestRequest::post()
        .uri(&agent_upload_path())
        .set_json(json!({"file": "x"}));
    let reply = app.call(json_body).await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "Expected a multipart/form-data body"
    );
    let json_body = TestRequest::post()
        .uri(&channel)
        .set_json(json!({"file": "x"}));
    assert_error(
        &app.call(json_body).await,
        400,
        "Expected a multipart/form-data body",
    );

    let truncated = TestRequest::post()
        .uri(&agent_upload_path())
        .insert_header(("content-type", multipart::content_type()))
        .set_payload(multipart::body(&[png_part("a.png")])[..120].to_vec());
    let reply = app.call(truncated).await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Malformed multipart body")
    );
    assert!(files_under(&media(&app).uploads_agents).is_empty());
}

#[actix_web::test]
async fn ids_are_validated_before_the_body_is_read() {
    let app = TestApp::new().await;
    let reply = app
        .call(multipart::post(
            "/api/media/agents/not-a-uuid/upload-media",
            &[png_part("a.png")],
        ))
        .await;
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"code": "INVALID_ID", "message": "Invalid agent ID format"}})
    );
    for route in ["media", "messaging"] {
        let path = format!("/api/{route}/channels/nope/upload-media");
        let reply = app.call(multipart::post(&path, &[png_part("a.png")])).await;
        assert_error(&reply, 400, "Invalid channelId format");
    }
}

#[actix_web::test]
async fn an_oversized_file_is_a_413_in_each_family_and_leaves_nothing() {
    let app = app_with_media(|media| media.max_upload_bytes = 1024).await;
    let mut big = png();
    big.resize(4096, 0);
    let part = Part::file("file", "big.png", "image/png", &big);
    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            std::slice::from_ref(&part),
        ))
        .await;
    assert_coded(&reply, 413, "FILE_TOO_LARGE");
    assert_eq!(
        reply.json["error"]["message"],
        "File too large: the limit is 1024 bytes"
    );
    let channel = format!("/api/media/channels/{CHANNEL}/upload-media");
    let reply = app.call(multipart::post(&channel, &[part])).await;
    assert_error(&reply, 413, "File too large: the limit is 1024 bytes");
    assert!(files_under(&media(&app).uploads_agents).is_empty());
    assert!(files_under(&media(&app).uploads_channels).is_empty());

    // A declared length over the limit is refused before anything is read.
    let never_sent = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
    let req = TestRequest::post()
        .uri(&agent_upload_path())
        .insert_header(("content-type", multipart::content_type()))
        .insert_header(("content-length", "50000000"));
    let reply = tokio::time::timeout(Duration::from_secs(5), app.call_streaming(req, never_sent))
        .await
        .expect("answered at once");
    assert_coded(&reply, 413, "FILE_TOO_LARGE");
}

#[actix_web::test]
async fn a_body_that_stalls_is_dropped_within_the_idle_timeout() {
    let app = app_with_media(|media| {
        media.upload_idle_timeout = Duration::from_millis(200);
        media.upload_deadline = Duration::from_secs(30);
    })
    .await;
    let body = multipart::body(&[png_part("slow.png")]);
    let first = Bytes::copy_from_slice(&body[..body.len() / 2]);
    let stalled = futures_util::stream::iter([Ok(first)]).chain(futures_util::stream::pending());
    let req = TestRequest::post()
        .uri(&agent_upload_path())
        .insert_header(("content-type", multipart::content_type()));
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), app.call_streaming(req, stalled))
        .await
        .expect("the server answers instead of waiting forever");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_coded(&reply, 408, "REQUEST_TIMEOUT");
    assert!(
        files_under(&media(&app).uploads_agents).is_empty(),
        "the partial file is gone"
    );

    // Family B on the channel routes.
    let stalled = futures_util::stream::pending();
    let req = TestRequest::post()
        .uri(&format!("/api/messaging/channels/{CHANNEL}/upload-media"))
        .insert_header(("content-type", multipart::content_type()));
    let reply = tokio::time::timeout(Duration::from_secs(5), app.call_streaming(req, stalled))
        .await
        .expect("answered");
    assert_error(&reply, 408, "The upload was too slow and was stopped");
}

#[actix_web::test]
async fn a_trickling_body_is_dropped_at_the_deadline() {
    let app = app_with_media(|media| {
        media.upload_idle_timeout = Duration::from_secs(5);
        media.upload_deadline = Duration::from_millis(400);
    })
    .await;
    let body = multipart::body(&[png_part("slow.png")]);
    let chunks: Vec<Bytes> = body.chunks(8).map(Bytes::copy_from_slice).collect();
    let trickle = futures_util::stream::iter(chunks).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, PayloadError>(chunk)
    });
    let req = TestRequest::post()
        .uri(&agent_upload_path())
        .insert_header(("content-type", multipart::content_type()));
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), app.call_streaming(req, trickle))
        .await
        .expect("answered");
    assert_coded(&reply, 408, "REQUEST_TIMEOUT");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[actix_web::test]
async fn a_body_streamed_in_small_chunks_is_stored_whole() {
    let app = TestApp::new().await;
    let mut image = png();
    image.resize(40_000, 7);
    let body = multipart::body(&[Part::file("file", "big.png", "image/png", &image)]);
    let chunks: Vec<Result<Bytes, PayloadError>> = body
        .chunks(1000)
        .map(|chunk| Ok(Bytes::copy_from_slice(chunk)))
        .collect();
    let req = TestRequest::post()
        .uri(&agent_upload_path())
        .insert_header(("content-type", multipart::content_type()));
    let reply = app
        .call_streaming(req, futures_util::stream::iter(chunks))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let filename = reply.json["data"]["filename"].as_str().unwrap();
    let stored = media(&app).uploads_agents.join(AGENT).join(filename);
    assert_eq!(std::fs::read(stored).unwrap(), image);
}

#[actix_web::test]
async fn the_seed_upload_route_stores_by_agent_or_channel() {
    let app = TestApp::new().await;
    // The seed's example sends agentId and roomId: the agent wins. Fields may follow the file.
    let parts = [
        Part::file(
            "file",
            "photo.jpg",
            "image/jpeg",
            b"\xFF\xD8\xFF\xE0\0\x10JFIF\0\x01",
        ),
        Part::text("agentId", AGENT),
        Part::text("roomId", CHANNEL),
    ];
    let reply = app.call(multipart::post("/api/media/upload", &parts)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let upload = data(&reply);
    let filename = upload["filename"].as_str().unwrap();
    assert_generated_name(filename, ".jpg");
    assert_eq!(
        upload,
        &json!({"url": format!("/media/uploads/agents/{AGENT}/{filename}"), "filename": filename,
            "size": 12, "contentType": "image/jpeg"})
    );
    assert!(
        media(&app)
            .uploads_agents
            .join(AGENT)
            .join(filename)
            .is_file()
    );

    for key in ["channelId", "roomId"] {
        let parts = [Part::text(key, CHANNEL), png_part("a.png")];
        let reply = app.call(multipart::post("/api/media/upload", &parts)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        let url = data(&reply)["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("/media/uploads/channels/{CHANNEL}/")),
            "{url}"
        );
        assert_eq!(app.get(url).await.status, StatusCode::OK);
    }

    let reply = app
        .call(multipart::post("/api/media/upload", &[png_part("a.png")]))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "agentId (or channelId / roomId) is required"
    );
    let parts = [Part::text("agentId", "bad"), png_part("a.png")];
    let reply = app.call(multipart::post("/api/media/upload", &parts)).await;
    assert_coded(&reply, 400, "INVALID_ID");
    let reply = app
        .call(multipart::post(
            "/api/media/upload",
            &[Part::text("agentId", AGENT)],
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.json["error"]["message"], "No media file provided");
    let staged: Vec<PathBuf> = files_under(&media(&app).uploads_agents)
        .into_iter()
        .filter(|file| file.parent() == Some(media(&app).uploads_agents.as_path()))
        .collect();
    assert!(
        staged.is_empty(),
        "refused uploads leave no staged file: {staged:?}"
    );
}

#[actix_web::test]
async fn uploads_need_the_api_key_but_files_are_public() {
    let app = TestApp::with_token().await;
    let reply = app
        .call(multipart::post(&agent_upload_path(), &[png_part("a.png")]))
        .await;
    reply.assert_unauthorized();
    let with_key = multipart::post(&agent_upload_path(), &[png_part("a.png")])
        .insert_header(("x-api-key", crate::support::TOKEN));
    let reply = app.call(with_key).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let served = app.get(reply.json["data"]["url"].as_str().unwrap()).await;
    assert_eq!(served.status, StatusCode::OK, "no API key needed");
}

/// Writes `<root>/<id>/<name>` directly (as an agent's plugin would).
fn put(root: &Path, id: &str, name: &str, content: &[u8]) {
    std::fs::create_dir_all(root.join(id)).unwrap();
    std::fs::write(root.join(id).join(name), content).unwrap();
}

#[actix_web::test]
async fn file_routes_answer_with_the_1_7_2_error_bodies() {
    let app = TestApp::new().await;
    let cases = [
        (
            "uploads/agents",
            "Invalid agent ID format",
            "File does not exist!!!!!!!",
        ),
        ("generated", "Invalid agent ID format", "File not found"),
        (
            "uploads/channels",
            "Invalid channel ID format",
            "File not found",
        ),
    ];
    for (route, invalid, missing) in cases {
        let reply = app.get(&format!("/media/{route}/not-a-uuid/a.png")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{route}");
        assert_eq!(reply.json, json!({"error": invalid}));
        let reply = app
            .get(&format!("/media/{route}/{AGENT}/missing.png"))
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{route}");
        assert_eq!(reply.json, json!({"error": missing}));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
}

#[actix_web::test]
async fn traversal_attempts_on_the_file_routes_are_denied() {
    let app = TestApp::new().await;
    std::fs::write(app.dir.path().join("secret.txt"), "secret").unwrap();
    put(&media(&app).uploads_agents, AGENT, ".hidden", b"x");
    put(&media(&app).uploads_agents, AGENT, "ok.txt", b"fine");
    let base = format!("/media/uploads/agents/{AGENT}");
    for name in [
        "..%2F..%2F..%2Fsecret.txt",
        "..%5C..%5Csecret.txt",
        ".hidden",
        "%2E%2E",
        "a%5Cb.txt",
    ] {
        let reply = app.get(&format!("{base}/{name}")).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{name}: {}",
            reply.json
        );
        assert_eq!(reply.json, json!({"error": "Access denied"}));
    }
    // Extra segments never reach a file route.
    let reply = app.get(&format!("{base}/../../../secret.txt")).await;
    assert_ne!(reply.status, StatusCode::OK);
    assert!(!reply.body.windows(6).any(|w| w == b"secret"));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            app.dir.path().join("secret.txt"),
            media(&app).uploads_agents.join(AGENT).join("link.txt"),
        )
        .unwrap();
        let reply = app.get(&format!("{base}/link.txt")).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "a link out of the directory"
        );
    }
    assert_eq!(
        app.get(&format!("{base}/ok.txt")).await.body.as_ref(),
        b"fine"
    );
}

#[actix_web::test]
async fn generated_files_that_could_render_are_downloads() {
    let app = TestApp::new().await;
    let generated = &media(&app).generated;
    put(generated, AGENT, "page.html", b"<script>alert(1)</script>");
    put(
        generated,
        AGENT,
        "art.svg",
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    );
    put(generated, AGENT, "speech.mp3", b"ID3\x04\0\0\0\0\0\0");
    put(generated, AGENT, "clip.mp4", b"\0\0\0\x20ftypisom");
    put(generated, AGENT, "blob", b"??");
    for (name, disposition, content_type) in [
        ("page.html", "attachment", "text/html"),
        ("art.svg", "attachment", "image/svg+xml"),
        ("speech.mp3", "inline", "audio/mpeg"),
        ("clip.mp4", "inline", "video/mp4"),
        ("blob", "attachment", "application/octet-stream"),
    ] {
        let reply = app.get(&format!("/media/generated/{AGENT}/{name}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{name}");
        assert!(
            reply
                .header("content-disposition")
                .unwrap()
                .starts_with(disposition),
            "{name}: {:?}",
            reply.headers
        );
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with(content_type),
            "{name}"
        );
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
}

#[actix_web::test]
async fn files_answer_range_requests() {
    let app = TestApp::new().await;
    put(
        &media(&app).uploads_channels,
        CHANNEL,
        "a.txt",
        b"0123456789",
    );
    let req = TestRequest::get()
        .uri(&format!("/media/uploads/channels/{CHANNEL}/a.txt"))
        .insert_header(("range", "bytes=2-5"));
    let reply = app.call(req).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.body.as_ref(), b"2345");
}

async fn limited(rate_limits: RateLimitConfig) -> TestApp {
    TestApp::with_config(HttpConfig {
        rate_limits,
        ..HttpConfig::default()
    })
    .await
}

fn from_remote(req: TestRequest) -> TestRequest {
    req.peer_addr(REMOTE.parse().unwrap())
}

#[actix_web::test]
async fn channel_media_has_its_own_limiter_with_legacy_headers() {
    let app = limited(RateLimitConfig {
        channel_media: LimitRule::new(1, Duration::from_secs(900)),
        ..RateLimitConfig::default()
    })
    .await;
    let path = format!("/api/media/channels/{CHANNEL}/upload-media");
    let first = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    assert_eq!(first.header("x-ratelimit-limit"), Some("1"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = first.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(
        reset > Utc::now().timestamp() as u64,
        "an epoch second in the future"
    );
    let second = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_error(&second, 429, "Too many requests, please try again later.");
    assert!(second.header("retry-after").is_some());
    // The agent route has only the API limiter.
    let agent = app
        .call(from_remote(multipart::post(
            &agent_upload_path(),
            &[png_part("a.png")],
        )))
        .await;
    assert_eq!(agent.status, StatusCode::OK);
}

#[actix_web::test]
async fn messaging_and_seed_uploads_pass_the_upload_and_file_limiters() {
    let app = limited(RateLimitConfig {
        upload: LimitRule::new(1, Duration::from_secs(900)),
        ..RateLimitConfig::default()
    })
    .await;
    let path = format!("/api/messaging/channels/{CHANNEL}/upload-media");
    let first = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.json);
    let second = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_coded(&second, 429, "UPLOAD_RATE_LIMIT_EXCEEDED");
    let seed = app
        .call(from_remote(multipart::post(
            "/api/media/upload",
            &[png_part("a.png")],
        )))
        .await;
    assert_coded(&seed, 429, "UPLOAD_RATE_LIMIT_EXCEEDED");

    let app = limited(RateLimitConfig {
        file_system: LimitRule::new(1, Duration::from_secs(300)),
        ..RateLimitConfig::default()
    })
    .await;
    let first = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.header("ratelimit-policy"), Some("1;w=300"));
    let second = app
        .call(from_remote(multipart::post(&path, &[png_part("a.png")])))
        .await;
    assert_coded(&second, 429, "FILE_RATE_LIMIT_EXCEEDED");
}

#[actix_web::test]
async fn attachment_paths_in_the_media_directories_are_listed_as_media_urls() {
    let app = TestApp::new().await;
    let user = user_id();
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "Files", "message_server_id": DEFAULT_SERVER,
                "participantCentralUserIds": [user], "type": "GROUP"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);
    let channel = data(&created)["id"].as_str().unwrap().to_owned();
    let on_disk =
        |root: &Path, id: &str, name: &str| root.join(id).join(name).to_string_lossy().into_owned();
    let attachments = json!([
        {"id": "1", "url": on_disk(&media(&app).uploads_channels, &channel, "1-2.png")},
        {"id": "2", "url": on_disk(&media(&app).generated, AGENT, "song.mp3")},
        {"id": "3", "url": "https://example.com/x.png"},
        {"id": "4", "url": "/elsewhere/x.png"},
    ]);
    let now = Utc::now();
    let message = CentralMessage {
        id: MessageId::new_random(),
        channel_id: ChannelId::parse(&channel).unwrap(),
        author_id: user.clone(),
        content: "files".into(),
        raw_message: Some(json!({"attachments": attachments})),
        source_type: Some("agent_response".into()),
        source_id: None,
        metadata: None,
        in_reply_to_root_message_id: None,
        created_at: now,
        updated_at: now,
    };
    app.state.store.create_message(&message).await.unwrap();
    let listed = app
        .get(&format!("/api/messaging/channels/{channel}/messages"))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.json);
    let urls: Vec<Value> = data(&listed)["messages"][0]["metadata"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["url"].clone())
        .collect();
    assert_eq!(
        urls,
        [
            json!(format!("/media/uploads/channels/{channel}/1-2.png")),
            json!(format!("/media/generated/{AGENT}/song.mp3")),
            json!("https://example.com/x.png"),
            json!("/elsewhere/x.png"),
        ]
    );
    // Every other rendering of the message (GET one, search, the raw message in a list) names
    // no server path either.
    let one = app
        .get(&format!("/api/messaging/messages/{}", message.id))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.json);
    let searched = app
        .post(
            "/api/messaging/messages/search",
            json!({"query": "files", "channelId": channel}),
        )
        .await;
    assert_eq!(searched.status, StatusCode::OK, "{}", searched.json);
    for rendered in [
        &data(&one)["rawMessage"],
        &data(&searched)["messages"][0]["rawMessage"],
        &data(&listed)["messages"][0]["rawMessage"],
    ] {
        assert_eq!(rendered["attachments"][0]["url"], urls[0], "{rendered}");
        assert_eq!(rendered["attachments"][1]["url"], urls[1], "{rendered}");
    }
}

#[actix_web::test]
async fn the_openapi_document_lists_the_media_and_audio_routes() {
    let app = TestApp::new().await;
    let doc = app.get("/api/docs/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.json["paths"].as_object().unwrap();
    for path in [
        "/api/media/agents/{agentId}/upload-media",
        "/api/media/channels/{channelId}/upload-media",
        "/api/messaging/channels/{channelId}/upload-media",
        "/api/media/upload",
        "/media/uploads/agents/{agentId}/{filename}",
        "/media/generated/{agentId}/{filename}",
        "/media/uploads/channels/{channelId}/{filename}",
        "/api/audio/{agentId}/transcriptions",
        "/api/audio/{agentId}/speech/conversation",
        "/api/audio/{agentId}/speech",
        "/api/audio/transcribe",
        "/api/audio/generate",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let upload = &paths["/api/media/agents/{agentId}/upload-media"]["post"];
    assert!(
        upload["requestBody"]["content"]["multipart/form-data"].is_object(),
        "{upload}"
    );
    for status in ["200", "400", "413", "415"] {
        assert!(upload["responses"][status].is_object(), "{status}");
    }
}

#[actix_web::test]
async fn a_file_within_its_limit_is_not_refused_for_its_fields_size() {
    // A small file limit and every text field the form may carry, each at its largest: the
    // body is far over the file limit, yet the file is within it.
    let app = app_with_media(|media| media.max_upload_bytes = 4 * 1024).await;
    let field = "x".repeat(64 * 1024);
    let mut parts: Vec<Part> = (0..31).map(|_| Part::text("note", &field)).collect();
    parts.push(png_part("a.png"));
    let reply = app
        .call(multipart::post(&agent_upload_path(), &parts))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json);
}

#[actix_web::test]
async fn text_fields_are_limited_in_number_size_and_content() {
    let app = TestApp::new().await;
    // The limit counts parts: one name repeated does not get around it.
    let mut repeated: Vec<Part> = (0..33).map(|_| Part::text("note", "hi")).collect();
    repeated.push(png_part("a.png"));
    let reply = app
        .call(multipart::post(&agent_upload_path(), &repeated))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "Too many form fields (at most 32)"
    );

    let big = "x".repeat(64 * 1024 + 1);
    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            &[Part::text("note", &big), png_part("a.png")],
        ))
        .await;
    assert_coded(&reply, 413, "FIELD_TOO_LARGE");

    let reply = app
        .call(multipart::post(
            &agent_upload_path(),
            &[Part::text("agentId", "a\0b"), png_part("a.png")],
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NUL"),
        "{}",
        reply.json
    );
}
