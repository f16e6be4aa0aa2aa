//! Black-box tests of the Socket.IO server through a real actix server.

// A test crate: helpers outside `#[test]` functions may panic too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_test::TestServer;
use awc::ws;
use eliza_socketio::{Ack, DisconnectReason, Handler, Handshake, Socket, SocketIo, SocketIoConfig};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;

/// Echoes `echo` events: with an ack request it acks the arguments, otherwise it emits
/// them back. Refuses `{"token":"bad"}`.
struct Echo;

#[async_trait::async_trait]
impl Handler for Echo {
    async fn on_connect(
        &self,
        _socket: &Socket,
        auth: Option<Value>,
        _handshake: &Handshake,
    ) -> Result<(), String> {
        match auth
            .as_ref()
            .and_then(|auth| auth.get("token"))
            .and_then(Value::as_str)
        {
            Some("bad") => Err("Not authorized".to_owned()),
            _ => Ok(()),
        }
    }

    async fn on_event(&self, socket: &Socket, event: String, args: Vec<Value>, ack: Option<Ack>) {
        assert_ne!(event, "panic", "a handler bug");
        match ack {
            Some(ack) => {
                let _ = ack.send(args);
            }
            None => {
                let _ = socket.emit_args(&event, args);
            }
        }
    }

    async fn on_disconnect(&self, _socket: &Socket, _reason: DisconnectReason) {}
}

fn config() -> SocketIoConfig {
    SocketIoConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(5),
        ..SocketIoConfig::default()
    }
}

fn start() -> (TestServer, SocketIo) {
    let io = SocketIo::new(config(), Arc::new(Echo));
    let app_io = io.clone();
    let server =
        actix_test::start(move || actix_web::App::new().configure(|cfg| app_io.configure(cfg)));
    (server, io)
}

async fn get(server: &TestServer, query: &str) -> (u16, String) {
    let mut response = server
        .get(format!("/socket.io/?{query}"))
        .send()
        .await
        .expect("GET");
    let body = response.body().await.expect("body");
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

async fn post(server: &TestServer, query: &str, body: &str) -> (u16, String) {
    let mut response = server
        .post(format!("/socket.io/?{query}"))
        .send_body(body.to_owned())
        .await
        .expect("POST");
    let body = response.body().await.expect("body");
    (
        response.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// A polling handshake; returns the sid.
async fn handshake(server: &TestServer) -> String {
    let (status, body) = get(server, "EIO=4&transport=polling&t=abc").await;
    assert_eq!(status, 200, "{body}");
    let open: Value =
        serde_json::from_str(body.strip_prefix('0').expect("open packet")).expect("open JSON");
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
    open["sid"].as_str().expect("sid").to_owned()
}

/// Long-polls until a packet satisfying `wanted` arrives, answering pings on the way.
async fn poll_for(server: &TestServer, sid: &str, wanted: impl Fn(&str) -> bool) -> String {
    for _ in 0..20 {
        let (status, body) = get(server, &polling(sid)).await;
        assert_eq!(status, 200, "{body}");
        for packet in body.split('\x1e') {
            if wanted(packet) {
                return packet.to_owned();
            }
            if packet == "2" {
                assert_eq!(post(server, &polling(sid), "3").await.0, 200);
            }
        }
    }
    panic!("packet never arrived");
}

/// A polling session connected to `/`; returns (sid, socket id).
async fn connected_polling(server: &TestServer) -> (String, String) {
    let sid = handshake(server).await;
    assert_eq!(
        post(server, &polling(&sid), "40").await,
        (200, "ok".to_owned())
    );
    let reply = poll_for(server, &sid, |p| p.starts_with("40")).await;
    let reply: Value = serde_json::from_str(&reply[2..]).expect("CONNECT reply");
    let socket_id = reply["sid"].as_str().expect("socket id").to_owned();
    assert_ne!(socket_id, sid);
    (sid, socket_id)
}

#[actix_rt::test]
async fn polling_handshake_connect_and_event_with_ack() {
    let (server, io) = start();
    let (sid, _) = connected_polling(&server).await;
    assert_eq!(io.socket_count(), 1);
    assert_eq!(
        post(&server, &polling(&sid), "421[\"echo\",\"hi\",{\"n\":1}]")
            .await
            .0,
        200
    );
    let ack = poll_for(&server, &sid, |p| p.starts_with("43")).await;
    assert_eq!(ack, "431[\"hi\",{\"n\":1}]");
    // Without an ack request the handler emits back; several packets in one POST.
    assert_eq!(
        post(&server, &polling(&sid), "42[\"a\",1]\x1e42[\"b\",2]")
            .await
            .0,
        200
    );
    poll_for(&server, &sid, |p| p == "42[\"b\",2]").await;
}

#[actix_rt::test]
async fn broadcast_to_a_room_except_the_sender() {
    let (server, io) = start();
    let (sid_a, id_a) = connected_polling(&server).await;
    let (sid_b, id_b) = connected_polling(&server).await;
    for id in [&id_a, &id_b] {
        io.socket(id).expect("socket").join("room");
    }
    assert_eq!(
        io.to("room")
            .except(&id_a)
            .emit("news", serde_json::json!({"x": 1})),
        1
    );
    poll_for(&server, &sid_b, |p| p == "42[\"news\",{\"x\":1}]").await;
    assert_eq!(io.to("room").emit("all", Value::Null), 2);
    poll_for(&server, &sid_a, |p| p == "42[\"all\",null]").await;
}

#[actix_rt::test]
async fn error_bodies() {
    let (server, _io) = start();
    let cases = [
        (
            "EIO=3&transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "EIO=5&transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "transport=polling",
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            "EIO=4&transport=carrier-pigeon",
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        ("EIO=4", r#"{"code":0,"message":"Transport unknown"}"#),
        (
            "EIO=4&transport=polling&sid=nope",
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            "EIO=4&transport=websocket",
            r#"{"code":3,"message":"Bad request"}"#,
        ),
    ];
    for (query, body) in cases {
        assert_eq!(get(&server, query).await, (400, body.to_owned()), "{query}");
    }
    let bad_method = post(&server, "EIO=4&transport=polling", "40").await;
    assert_eq!(
        bad_method,
        (
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#.to_owned()
        )
    );
}

#[actix_rt::test]
async fn connect_errors_for_unknown_namespace_and_refusal() {
    let (server, io) = start();
    let sid = handshake(&server).await;
    assert_eq!(post(&server, &polling(&sid), "40/admin,").await.0, 200);
    let error = poll_for(&server, &sid, |p| p.starts_with("44")).await;
    assert_eq!(error, r#"44/admin,{"message":"Invalid namespace"}"#);
    assert_eq!(
        post(&server, &polling(&sid), r#"40{"token":"bad"}"#)
            .await
            .0,
        200
    );
    let error = poll_for(&server, &sid, |p| p.starts_with("44")).await;
    assert_eq!(error, r#"44{"message":"Not authorized"}"#);
    assert_eq!(io.socket_count(), 0);
    // The session is still usable.
    assert_eq!(
        post(&server, &polling(&sid), r#"40{"token":"good"}"#)
            .await
            .0,
        200
    );
    poll_for(&server, &sid, |p| p.starts_with("40{")).await;
}

/// The client side of a WebSocket connection, as awc gives it.
trait Conn:
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

async fn next_text(conn: &mut impl Conn) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(3), conn.next())
            .await
            .expect("frame in time");
        match frame.expect("open").expect("frame") {
            ws::Frame::Text(bytes) => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                if text == "2" {
                    conn.send(ws::Message::Text("3".into()))
                        .await
                        .expect("pong");
                    continue;
                }
                return text;
            }
            ws::Frame::Ping(_) | ws::Frame::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

async fn send_text(conn: &mut impl Conn, text: &str) {
    conn.send(ws::Message::Text(text.to_owned().into()))
        .await
        .expect("send");
}

/// A WebSocket-only session connected to `/`; returns it with the open packet's JSON and the
/// socket id.
async fn connected_websocket(server: &mut TestServer) -> (impl Conn + use<>, Value, String) {
    let mut conn = server
        .ws_at("/socket.io/?EIO=4&transport=websocket")
        .await
        .expect("ws");
    let open = next_text(&mut conn).await;
    let open: Value = serde_json::from_str(open.strip_prefix('0').expect("open")).expect("json");
    send_text(&mut conn, "40").await;
    let reply = next_text(&mut conn).await;
    let reply: Value =
        serde_json::from_str(reply.strip_prefix("40").expect("CONNECT reply")).expect("json");
    let socket_id = reply["sid"].as_str().expect("socket id").to_owned();
    (conn, open, socket_id)
}

#[actix_rt::test]
async fn direct_websocket_session() {
    let (mut server, io) = start();
    let (mut conn, open, _) = connected_websocket(&mut server).await;
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(open["pingInterval"], 300);
    send_text(&mut conn, "42[\"echo\",\"y\"]").await;
    assert_eq!(next_text(&mut conn).await, "42[\"echo\",\"y\"]");
    send_text(&mut conn, "427[\"echo\"]").await;
    assert_eq!(next_text(&mut conn).await, "437[]");
    // Answering pings keeps it alive past several intervals.
    tokio::time::sleep(Duration::from_millis(50)).await;
    send_text(&mut conn, "42[\"still\",true]").await;
    assert_eq!(next_text(&mut conn).await, "42[\"still\",true]");
    assert_eq!(io.socket_count(), 1);
}

#[actix_rt::test]
async fn a_handler_panic_closes_only_that_session() {
    let (mut server, io) = start();
    let (mut doomed, _, _) = connected_websocket(&mut server).await;
    let (mut healthy, _, _) = connected_websocket(&mut server).await;
    assert_eq!(io.socket_count(), 2);
    send_text(&mut doomed, "42[\"panic\"]").await;
    for _ in 0..50 {
        if io.socket_count() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        io.socket_count(),
        1,
        "the panicking session's socket is gone"
    );
    send_text(&mut healthy, "42[\"echo\",1]").await;
    assert_eq!(next_text(&mut healthy).await, "42[\"echo\",1]");
}

#[actix_rt::test]
async fn binary_attachments_travel_both_ways_over_websocket() {
    let (mut server, _io) = start();
    let (mut conn, _, _) = connected_websocket(&mut server).await;
    // The echo handler sends the arguments back; the attachment goes out as binary again.
    send_text(&mut conn, r#"451-["echo",{"_placeholder":true,"num":0}]"#).await;
    conn.send(ws::Message::Binary(vec![1_u8, 2, 3].into()))
        .await
        .expect("binary");
    assert_eq!(
        next_text(&mut conn).await,
        r#"451-["echo",{"_placeholder":true,"num":0}]"#
    );
    let frame = tokio::time::timeout(Duration::from_secs(3), conn.next())
        .await
        .expect("frame in time")
        .expect("open")
        .expect("frame");
    match frame {
        ws::Frame::Binary(bytes) => assert_eq!(&bytes[..], &[1, 2, 3]),
        other => panic!("expected the attachment, got {other:?}"),
    }
}

#[actix_rt::test]
async fn a_server_close_over_websocket_delivers_the_queued_packets_then_the_close() {
    let (mut server, io) = start();
    let (mut conn, _, socket_id) = connected_websocket(&mut server).await;
    let socket = io.socket(&socket_id).expect("socket");
    // More than actix-ws buffers, so the writer is still flushing when the close comes.
    for n in 0..200 {
        socket.emit("n", serde_json::json!(n)).expect("queued");
    }
    socket.close_session();
    for n in 0..200 {
        assert_eq!(next_text(&mut conn).await, format!("42[\"n\",{n}]"));
    }
    assert_eq!(next_text(&mut conn).await, "1");
}

#[actix_rt::test]
async fn upgrade_from_polling_to_websocket() {
    let (mut server, _io) = start();
    let (sid, _) = connected_polling(&server).await;
    let mut conn = server
        .ws_at(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}"))
        .await
        .expect("ws");
    // A pending GET is released with a noop once the probe arrives.
    let query = polling(&sid);
    let pending = get(&server, &query);
    let probe = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        send_text(&mut conn, "2probe").await;
        assert_eq!(next_text(&mut conn).await, "3probe");
    };
    let ((status, body), ()) = futures_util::future::join(pending, probe).await;
    assert_eq!(status, 200);
    assert!(body.split('\x1e').any(|p| p == "6"), "{body}");
    send_text(&mut conn, "5").await;
    send_text(&mut conn, "421[\"echo\",\"over ws\"]").await;
    assert_eq!(next_text(&mut conn).await, "431[\"over ws\"]");
    // Polling is over for this sid.
    assert_eq!(
        get(&server, &polling(&sid)).await,
        (400, r#"{"code":3,"message":"Bad request"}"#.to_owned())
    );
}

#[actix_rt::test]
async fn ping_timeout_closes_the_session() {
    let (server, io) = start();
    let (sid, _) = connected_polling(&server).await;
    assert_eq!(io.session_count(), 1);
    // The long-poll receives the ping; nobody answers it.
    let (_, body) = get(&server, &polling(&sid)).await;
    assert!(body.split('\x1e').any(|p| p == "2"), "{body}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(io.session_count(), 0);
    assert_eq!(io.socket_count(), 0);
    assert_eq!(
        get(&server, &polling(&sid)).await.1,
        r#"{"code":1,"message":"Session ID unknown"}"#
    );
}

#[actix_rt::test]
async fn malformed_packets_close_only_their_session() {
    let (server, io) = start();
    let (bad, _) = connected_polling(&server).await;
    let (good, _) = connected_polling(&server).await;
    let (also_bad, _) = connected_polling(&server).await;
    // A bad Socket.IO packet inside a valid Engine.IO payload.
    assert_eq!(post(&server, &polling(&bad), "4garbage").await.0, 200);
    // A payload that is not Engine.IO at all.
    assert_eq!(
        post(&server, &polling(&also_bad), "9").await,
        (400, r#"{"code":3,"message":"Bad request"}"#.to_owned())
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    for sid in [&bad, &also_bad] {
        assert_eq!(
            get(&server, &polling(sid)).await.1,
            r#"{"code":1,"message":"Session ID unknown"}"#
        );
    }
    assert_eq!(io.socket_count(), 1);
    assert_eq!(
        post(&server, &polling(&good), "425[\"echo\",1]").await.0,
        200
    );
    assert_eq!(
        poll_for(&server, &good, |p| p.starts_with("43")).await,
        "435[1]"
    );
}

#[actix_rt::test]
async fn overlapping_gets_are_refused_and_close_the_session() {
    let (server, io) = start();
    let (sid, _) = connected_polling(&server).await;
    let query = polling(&sid);
    let first = get(&server, &query);
    let second = async {
        tokio::time::sleep(Duration::from_millis(30)).await;
        get(&server, &polling(&sid)).await
    };
    let (_, (status, body)) = futures_util::future::join(first, second).await;
    assert_eq!((status, body.as_str()), (400, ""));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(io.session_count(), 0);
}
