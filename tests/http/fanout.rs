//! Fan-out at scale over real sockets: a thousand Socket.IO clients joined to one channel all get
//! a message posted over HTTP; a client that never reads is closed as a slow client by its bounded
//! outbound queue while the others keep receiving; and the server forgets every socket and
//! session once the clients are gone. Every wait is bounded.

use crate::messaging_fixture::{MessagingApp, data, user_id};
use crate::ws_client::{Conn, SOCKET_PATH, handshake, join, parse_event, serve, welcomed};
use awc::ws;
use eliza_bus::Bus;
use eliza_http::{HttpConfig, SocketIoConfig};
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 1_000;
/// Connections opened at once; the next batch starts when this one has joined.
const BATCH: usize = 100;
/// The per-session outbound queue of these tests: small, so a slow client is found early.
const OUTBOUND_CAPACITY: usize = 16;
const SERVER: &str = "00000000-0000-0000-0000-000000000000";

fn config() -> HttpConfig {
    HttpConfig {
        socket_io: SocketIoConfig {
            outbound_capacity: OUTBOUND_CAPACITY,
            ..SocketIoConfig::default()
        },
        ..HttpConfig::default()
    }
}

/// A client for many WebSockets: awc's connector holds a permit per open connection and allows
/// 100 by default, so the limit is lifted; frames may be larger than awc's 64 KiB default.
fn ws_client() -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().limit(0))
        .timeout(Duration::from_secs(10))
        .finish()
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc` (Linux); `None` elsewhere.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A group channel with the poster and a stopped agent (so nothing answers: one post, one event).
async fn quiet_channel(app: &MessagingApp) -> (String, String) {
    let agent = app.stopped_agent("Quiet").await.to_string();
    let poster = user_id();
    let created = app
        .post(
            "/api/messaging/channels",
            json!({"name": "fan-out", "message_server_id": SERVER,
                "participantCentralUserIds": [poster, agent]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    (data(&created)["id"].as_str().unwrap().to_owned(), poster)
}

/// Opens a WebSocket session, connects as a new entity, joins `channel`; returns the connection
/// and the Socket.IO socket id.
async fn joined_client(
    client: &awc::Client,
    url: &str,
    channel: &str,
) -> (impl Conn + use<>, String) {
    let (_, mut conn) = client
        .ws(url)
        .max_frame_size(1 << 20)
        .connect()
        .await
        .expect("websocket");
    let entity = user_id();
    let answer = handshake(&mut conn, &json!({"entityId": entity})).await;
    let sid: Value = serde_json::from_str(answer.strip_prefix("40").expect("CONNECT ok"))
        .unwrap_or_else(|_| panic!("{answer}"));
    welcomed(&mut conn, &entity).await;
    join(&mut conn, channel, &entity).await;
    (conn, sid["sid"].as_str().unwrap().to_owned())
}

/// `count` joined clients, opened `BATCH` at a time.
async fn joined_clients(
    server: &actix_test::TestServer,
    channel: &str,
    count: usize,
) -> Vec<(impl Conn + use<>, String)> {
    let client = ws_client();
    let url = server.url(SOCKET_PATH);
    let mut clients = Vec::with_capacity(count);
    while clients.len() < count {
        let batch = BATCH.min(count - clients.len());
        let opened = (0..batch).map(|_| joined_client(&client, &url, channel));
        clients.extend(join_all(opened).await);
    }
    clients
}

/// `POST /api/messaging/channels/:id/messages` over the server's real HTTP port.
async fn post(server: &actix_test::TestServer, channel: &str, author: &str, content: &str) {
    let path = format!("/api/messaging/channels/{channel}/messages");
    let mut response = server
        .post(path)
        .send_json(&json!({"author_id": author, "content": content, "message_server_id": SERVER}))
        .await
        .expect("post");
    let body = response.body().limit(1 << 24).await.expect("post body");
    assert_eq!(response.status(), 201, "{}", String::from_utf8_lossy(&body));
}

/// Reads until the `messageBroadcast` of `text` arrives (answering pings); false if the socket
/// closes or the deadline passes first.
async fn receives_broadcast(
    conn: &mut impl Conn,
    text: &str,
    deadline: tokio::time::Instant,
) -> bool {
    let read = async {
        while let Some(Ok(frame)) = conn.next().await {
            let ws::Frame::Text(bytes) = frame else {
                continue;
            };
            if &bytes[..] == b"2" {
                if conn.send(ws::Message::Text("3".into())).await.is_err() {
                    return false;
                }
                continue;
            }
            let event = parse_event(&String::from_utf8_lossy(&bytes));
            if let Some((name, payload)) = event
                && name == "messageBroadcast"
                && payload["text"] == text
            {
                return true;
            }
        }
        false
    };
    tokio::time::timeout_at(deadline, read)
        .await
        .unwrap_or(false)
}

/// Polls `done` every 20 ms for up to `limit`; whether it became true.
async fn eventually(limit: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// No socket, no session and no channel feed (bus subscription) left.
fn all_gone(app: &MessagingApp) -> impl Fn() -> bool + '_ {
    || {
        app.state.socket_io.socket_count() == 0
            && app.state.socket_io.session_count() == 0
            && app.bus.topic_count() == 0
    }
}

#[actix_web::test]
async fn a_thousand_sockets_in_one_channel_all_get_the_broadcast() {
    // Both ends of every connection live in this process, next to the other tests' sockets.
    if let Some(limit) = open_files_limit() {
        assert!(
            limit >= 4 * CLIENTS as u64,
            "open-file limit {limit} is too low for {CLIENTS} clients: raise `ulimit -n`"
        );
    }
    let app = MessagingApp::with_config(config()).await;
    let (channel, poster) = quiet_channel(&app).await;
    let server = serve(&app);

    let started = Instant::now();
    let mut clients = joined_clients(&server, &channel, CLIENTS).await;
    let connected_in = started.elapsed();
    assert_eq!(app.state.socket_io.socket_count(), CLIENTS);
    assert_eq!(app.state.socket_io.session_count(), CLIENTS);

    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    post(&server, &channel, &poster, "to everyone").await;
    let received = join_all(
        clients
            .iter_mut()
            .map(|(conn, _)| receives_broadcast(conn, "to everyone", deadline)),
    )
    .await;
    let delivered_in = started.elapsed();
    let missing: Vec<&str> = received
        .iter()
        .zip(&clients)
        .filter(|(got, _)| !**got)
        .map(|(_, (_, sid))| sid.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {CLIENTS} sockets missed the broadcast, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );

    let started = Instant::now();
    drop(clients);
    assert!(
        eventually(Duration::from_secs(10), all_gone(&app)).await,
        "sockets {}, sessions {} and bus topics {} left after the clients went away",
        app.state.socket_io.socket_count(),
        app.state.socket_io.session_count(),
        app.bus.topic_count()
    );
    eprintln!(
        "fan-out: {CLIENTS} joined in {connected_in:?}, broadcast delivered to all in \
         {delivered_in:?}, all closed in {:?}",
        started.elapsed()
    );
}

fn is_broadcast(frame: &[u8]) -> bool {
    frame.starts_with(br#"42["messageBroadcast","#)
}

/// A joined client that reads everything: counts the `messageBroadcast`s, answers pings.
fn spawn_reader(
    mut conn: impl Conn + 'static,
    received: Rc<Cell<usize>>,
) -> tokio::task::JoinHandle<()> {
    actix_web::rt::spawn(async move {
        while let Some(Ok(frame)) = conn.next().await {
            let ws::Frame::Text(bytes) = frame else {
                continue;
            };
            if &bytes[..] == b"2" {
                let _ = conn.send(ws::Message::Text("3".into())).await;
            } else if is_broadcast(&bytes) {
                received.set(received.get() + 1);
            }
        }
    })
}

/// A client that starts reading late: counts the broadcasts that were buffered for it (in the
/// kernel and in actix-ws) until the WebSocket ends; `None` if it does not end in time.
async fn drain(conn: &mut impl Conn) -> Option<usize> {
    let read = async {
        let mut broadcasts = 0;
        while let Some(Ok(frame)) = conn.next().await {
            match frame {
                ws::Frame::Text(bytes) if is_broadcast(&bytes) => broadcasts += 1,
                ws::Frame::Close(_) => break,
                _ => {}
            }
        }
        broadcasts
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .ok()
}

#[actix_web::test]
async fn a_client_that_never_reads_is_closed_as_slow_and_the_others_keep_receiving() {
    const READERS: usize = 20;
    /// 64 MiB: far more than the kernel's socket buffers, actix-ws's frames and the queue hold.
    const MAX_POSTS: usize = 1_000;
    let app = MessagingApp::with_config(config()).await;
    let (channel, poster) = quiet_channel(&app).await;
    let server = serve(&app);
    let mut clients = joined_clients(&server, &channel, READERS + 1).await;
    let (mut slow, slow_id) = clients.pop().unwrap();
    let counters: Vec<Rc<Cell<usize>>> = (0..READERS).map(|_| Rc::default()).collect();
    let readers: Vec<_> = clients
        .into_iter()
        .zip(&counters)
        .map(|((conn, _), counter)| spawn_reader(conn, Rc::clone(counter)))
        .collect();

    // Large messages fill the never-read socket quickly. The queue closes the slow client, not
    // this loop, which only stops posting once that happened; and it happens well before the
    // first heartbeat, so it is not a ping timeout.
    let content = "x".repeat(64 * 1024);
    let started = Instant::now();
    let mut posts = 0;
    while app.state.socket_io.socket(&slow_id).is_some() {
        assert!(posts < MAX_POSTS, "the slow client is still connected");
        post(&server, &channel, &poster, &content).await;
        posts += 1;
    }
    assert!(started.elapsed() < SocketIoConfig::default().ping_interval);
    // The others go on receiving.
    for _ in 0..5 {
        post(&server, &channel, &poster, "after the slow client").await;
        posts += 1;
    }
    let all_read = || counters.iter().all(|count| count.get() == posts);
    assert!(
        eventually(Duration::from_secs(10), all_read).await,
        "readers got {:?} of {posts} broadcasts",
        counters.iter().map(|c| c.get()).collect::<Vec<_>>()
    );
    assert_eq!(app.state.socket_io.socket_count(), READERS);
    assert_eq!(app.state.socket_io.session_count(), READERS);

    // Reading at last, the slow client finds what was buffered for it, fewer than all the
    // broadcasts, and then the end of its WebSocket.
    let buffered = drain(&mut slow)
        .await
        .expect("the slow client's socket ends");
    assert!(buffered < posts, "{buffered} of {posts}");
    eprintln!(
        "slow client: closed after {posts} posts of 64 KiB in {:?}, {buffered} were buffered",
        started.elapsed()
    );

    for reader in readers {
        reader.abort();
    }
    drop(slow);
    assert!(
        eventually(Duration::from_secs(10), all_gone(&app)).await,
        "sockets {} and sessions {} left after the clients went away",
        app.state.socket_io.socket_count(),
        app.state.socket_io.session_count()
    );
}
