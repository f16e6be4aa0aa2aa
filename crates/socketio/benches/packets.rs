//! Wire-format costs paid on every frame: Engine.IO and Socket.IO packet encoding and decoding
//! for a chat broadcast (~500-byte JSON), an event with an ack id, and ping/pong.
//!
//! `cargo bench -p eliza-socketio --bench packets`; under `cargo test --benches` each bench runs
//! once. Every frame is round-tripped and checked before it is measured.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eliza_socketio::engine::packet::Packet as EnginePacket;
use eliza_socketio::socket::packet::{MAIN_NAMESPACE, Packet as SocketPacket};
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Duration;

/// A `messageBroadcast` payload as the server sends an agent reply.
fn broadcast_payload() -> Value {
    json!({
        "id": "5b1f0c6e-8d2a-4f3b-9c7e-1a2b3c4d5e6f",
        "senderId": "d5a1c9b2-6e7f-4a3b-8c9d-0e1f2a3b4c5d",
        "senderName": "Eliza",
        "text": "Two weeks is fine! Feed it the morning you leave, put it in a clean jar and straight into the fridge. When you're back, feed it twice a day.",
        "channelId": "7f3c2a9e-1d4b-4c8e-9a6f-2b5d8e0c1a34",
        "roomId": "7f3c2a9e-1d4b-4c8e-9a6f-2b5d8e0c1a34",
        "serverId": "00000000-0000-0000-0000-000000000000",
        "createdAt": 1777636800123u64,
        "source": "agent_response",
        "thought": "The user needs a travel routine.",
        "actions": ["REPLY"],
    })
}

/// The whole text frame: the Socket.IO packet inside an Engine.IO message.
fn encode_frame(packet: &SocketPacket) -> String {
    EnginePacket::Message(packet.encode()).encode()
}

/// A text frame back to the event name and arguments, as the server reads a client frame.
fn decode_event(frame: &str) -> (Option<u64>, String, Vec<Value>) {
    let EnginePacket::Message(text) = EnginePacket::decode(frame).expect("an engine packet") else {
        panic!("not a message frame: {frame}");
    };
    let packet = SocketPacket::decode(&text).expect("a socket packet");
    let ack_id = packet.ack_id;
    let (name, args) = packet.into_event().expect("an event");
    (ack_id, name, args)
}

fn event_packets(c: &mut Criterion) {
    let payload = broadcast_payload();
    let broadcast = SocketPacket::event(
        MAIN_NAMESPACE,
        "messageBroadcast",
        vec![payload.clone()],
        None,
    );
    let with_ack = SocketPacket::event(MAIN_NAMESPACE, "message", vec![payload.clone()], Some(42));

    let broadcast_frame = encode_frame(&broadcast);
    assert!(broadcast_frame.starts_with("42[\"messageBroadcast\",{"));
    assert!(
        (500..=560).contains(&broadcast_frame.len()),
        "{}",
        broadcast_frame.len()
    );
    let ack_frame = encode_frame(&with_ack);
    assert!(ack_frame.starts_with("4242[\"message\",{"));
    assert_eq!(
        decode_event(&broadcast_frame),
        (None, "messageBroadcast".to_owned(), vec![payload.clone()])
    );
    assert_eq!(
        decode_event(&ack_frame),
        (Some(42), "message".to_owned(), vec![payload.clone()])
    );

    let mut group = c.benchmark_group("socketio_event");
    group.bench_function("broadcast_encode", |b| {
        b.iter(|| encode_frame(black_box(&broadcast)))
    });
    group.bench_function("broadcast_decode", |b| {
        b.iter(|| decode_event(black_box(&broadcast_frame)))
    });
    group.bench_function("with_ack_encode", |b| {
        b.iter(|| encode_frame(black_box(&with_ack)))
    });
    group.bench_function("with_ack_decode", |b| {
        b.iter(|| decode_event(black_box(&ack_frame)))
    });
    group.finish();
}

fn heartbeat_packets(c: &mut Criterion) {
    let ping = EnginePacket::Ping(String::new());
    assert_eq!(ping.encode(), "2");
    assert_eq!(
        EnginePacket::decode("3").expect("a pong"),
        EnginePacket::Pong(String::new())
    );

    let mut group = c.benchmark_group("engineio_heartbeat");
    group.bench_function("ping_encode", |b| b.iter(|| black_box(&ping).encode()));
    group.bench_function("pong_decode", |b| {
        b.iter(|| EnginePacket::decode(black_box("3")))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = event_packets, heartbeat_packets
}
criterion_main!(benches);
