//! A minimal Socket.IO client over a raw WebSocket (awc), shared by the realtime tests: the
//! Engine.IO open, the namespace CONNECT, events, joins, and `2` pings answered with `3`.
//! Every wait is bounded.

use crate::support::TestApp;
use awc::ws;
use eliza_http::app;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;

/// The Engine.IO WebSocket endpoint (no polling first).
pub const SOCKET_PATH: &str = "/socket.io/?EIO=4&transport=websocket";

/// How long any single frame may take to arrive before the test fails.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

pub trait Conn:
    futures_util::Stream<Item = Result<ws::Frame, awc::error::WsProtocolError>>
    + futures_util::Sink<ws::Message, Error = awc::error::WsProtocolError>
    + Unpin
{
}
impl<T> Conn for T where
    T: futures_util::Stream<Item = Result<ws::Frame, awc::error::WsProtocolError>>
        + futures_util::Sink<ws::Message, Error = awc::error::WsProtocolError>
        + Unpin
{
}

/// The real app on a real port.
pub fn serve(app_state: &TestApp) -> actix_test::TestServer {
    let state = app_state.state.clone();
    actix_test::start(move || app(state.clone()))
}

/// The next text frame that is not an Engine.IO ping (pings are answered).
pub async fn next_text(conn: &mut impl Conn) -> String {
    next_text_within(conn, FRAME_TIMEOUT).await
}

/// [`next_text`], waiting up to `limit` for each frame (a real model takes its time).
pub async fn next_text_within(conn: &mut impl Conn, limit: Duration) -> String {
    loop {
        let frame = tokio::time::timeout(limit, conn.next())
            .await
            .expect("a frame in time");
        match frame.expect("open").expect("frame") {
            ws::Frame::Text(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if text == "2" {
                    send(conn, "3").await;
                    continue;
                }
                return text;
            }
            ws::Frame::Close(reason) => panic!("closed: {reason:?}"),
            _ => {}
        }
    }
}

pub async fn send(conn: &mut impl Conn, text: &str) {
    conn.send(ws::Message::Text(text.to_owned().into()))
        .await
        .expect("send");
}

/// The next Socket.IO event as `(name, payload)`.
pub async fn next_event(conn: &mut impl Conn) -> (String, Value) {
    next_event_within(conn, FRAME_TIMEOUT).await
}

/// [`next_event`], waiting up to `limit`.
pub async fn next_event_within(conn: &mut impl Conn, limit: Duration) -> (String, Value) {
    let text = next_text_within(conn, limit).await;
    parse_event(&text).unwrap_or_else(|| panic!("not an event: {text}"))
}

/// `42["name",payload]` as `(name, payload)`; `None` for any other packet.
pub fn parse_event(text: &str) -> Option<(String, Value)> {
    let array: Value = serde_json::from_str(text.strip_prefix("42")?).ok()?;
    Some((array[0].as_str()?.to_owned(), array[1].clone()))
}

/// Waits for the named event, skipping others.
pub async fn event_named(conn: &mut impl Conn, name: &str) -> Value {
    for _ in 0..20 {
        let (event, payload) = next_event(conn).await;
        if event == name {
            return payload;
        }
    }
    panic!("no {name} event");
}

pub fn emit(event: &str, payload: Value) -> String {
    format!("42{}", json!([event, payload]))
}

/// Reads the Engine.IO open packet and sends the Socket.IO CONNECT with `auth` (`null`: a bare
/// CONNECT); returns the CONNECT answer.
pub async fn handshake(conn: &mut impl Conn, auth: &Value) -> String {
    let auth = if auth.is_null() {
        String::new()
    } else {
        auth.to_string()
    };
    assert!(next_text(conn).await.starts_with("0{"));
    send(conn, &format!("40{auth}")).await;
    next_text(conn).await
}

/// A WebSocket session with a Socket.IO CONNECT carrying `auth`; returns the connection and
/// the CONNECT answer.
pub async fn connect(
    server: &mut actix_test::TestServer,
    auth: Value,
) -> (impl Conn + use<>, String) {
    let mut conn = server.ws_at(SOCKET_PATH).await.expect("websocket");
    let answer = handshake(&mut conn, &auth).await;
    (conn, answer)
}

/// The welcome after a successful CONNECT: `authenticated`, then `connection_established`.
pub async fn welcomed(conn: &mut impl Conn, entity: &str) {
    let (event, payload) = next_event(conn).await;
    assert_eq!(
        (event.as_str(), &payload["entityId"]),
        ("authenticated", &json!(entity))
    );
    assert!(payload["timestamp"].is_i64());
    let (event, payload) = next_event(conn).await;
    assert_eq!(event, "connection_established");
    assert_eq!(payload["message"], "Connected to Eliza Socket.IO server");
    assert!(payload["socketId"].is_string());
}

/// A connected and welcomed socket for `entity`.
pub async fn connected(server: &mut actix_test::TestServer, entity: &str) -> impl Conn + use<> {
    let (mut conn, answer) = connect(server, json!({"entityId": entity})).await;
    assert!(answer.starts_with("40{\"sid\":"), "{answer}");
    welcomed(&mut conn, entity).await;
    conn
}

/// Joins `channel` with the `message` envelope (type 1) and checks both join answers.
pub async fn join(conn: &mut impl Conn, channel: &str, entity: &str) {
    send(conn, &emit("message", json!({"type": 1, "payload": {"channelId": channel, "roomId": channel, "entityId": entity}}))).await;
    let joined = event_named(conn, "channel_joined").await;
    assert_eq!(joined["channelId"], channel);
    assert_eq!(joined["roomId"], channel);
    assert!(
        joined["message"]
            .as_str()
            .unwrap()
            .ends_with(&format!("successfully joined channel {channel}."))
    );
    assert_eq!(event_named(conn, "room_joined").await, joined);
}
