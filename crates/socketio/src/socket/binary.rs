//! Binary attachments: a BINARY_EVENT / BINARY_ACK names `N` attachments with placeholders
//! `{"_placeholder":true,"num":i}`; the next `N` binary Engine.IO messages fill them in.
//!
//! JSON has no bytes, so a resolved attachment becomes Node's `Buffer.toJSON()` shape
//! `{"type":"Buffer","data":[…]}`, which the application can recognise.

use serde_json::{Value, json};

use super::packet::{Packet, PacketError, PacketType};

/// Collects the attachments of one binary packet, at most `limit` bytes of them in all (each
/// attachment also counts one byte, so a flood of empty ones is bounded too).
#[derive(Debug)]
pub struct BinaryAssembler {
    pending: Option<(Packet, Vec<Vec<u8>>)>,
    held: usize,
    limit: usize,
}

impl Default for BinaryAssembler {
    /// No limit beyond memory: for tests; sessions use [`BinaryAssembler::with_limit`].
    fn default() -> Self {
        Self::with_limit(usize::MAX)
    }
}

/// What the assembler made of an incoming Socket.IO text packet.
#[derive(Debug, PartialEq)]
pub enum Assembled {
    /// A complete packet (binary ones with their attachments resolved).
    Ready(Packet),
    /// A binary packet waiting for its attachments.
    Waiting,
}

impl BinaryAssembler {
    pub fn with_limit(limit: usize) -> Self {
        Self {
            pending: None,
            held: 0,
            limit,
        }
    }

    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes a decoded packet; binary packets wait until their attachments arrive.
    /// A text packet while attachments are pending is a protocol error.
    pub fn start(&mut self, packet: Packet) -> Result<Assembled, PacketError> {
        if self.pending.is_some() {
            return Err(PacketError::InvalidPlaceholder);
        }
        if packet.kind.is_binary() && packet.attachments > 0 {
            // The count is the client's word: nothing is reserved for attachments not received.
            self.pending = Some((packet, Vec::new()));
            return Ok(Assembled::Waiting);
        }
        finish(packet, &[]).map(Assembled::Ready)
    }

    /// Takes one attachment; a binary message nobody announced is a protocol error.
    pub fn push(&mut self, bytes: Vec<u8>) -> Result<Assembled, PacketError> {
        let Some((packet, mut buffers)) = self.pending.take() else {
            return Err(PacketError::InvalidPlaceholder);
        };
        self.held = self.held.saturating_add(bytes.len().saturating_add(1));
        if self.held > self.limit {
            self.held = 0;
            return Err(PacketError::AttachmentsTooLarge);
        }
        buffers.push(bytes);
        if buffers.len() < packet.attachments {
            self.pending = Some((packet, buffers));
            return Ok(Assembled::Waiting);
        }
        self.held = 0;
        finish(packet, &buffers).map(Assembled::Ready)
    }
}

/// Resolves the placeholders and turns binary types into their plain counterparts.
fn finish(mut packet: Packet, buffers: &[Vec<u8>]) -> Result<Packet, PacketError> {
    if let Some(data) = packet.data.as_mut() {
        resolve_placeholders(data, buffers)?;
    }
    packet.kind = match packet.kind {
        PacketType::BinaryEvent => PacketType::Event,
        PacketType::BinaryAck => PacketType::Ack,
        other => other,
    };
    packet.attachments = 0;
    Ok(packet)
}

fn resolve_placeholders(value: &mut Value, buffers: &[Vec<u8>]) -> Result<(), PacketError> {
    if let Some(num) = placeholder_index(value) {
        let bytes = buffers.get(num).ok_or(PacketError::InvalidPlaceholder)?;
        *value = json!({ "type": "Buffer", "data": bytes });
        return Ok(());
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| resolve_placeholders(item, buffers)),
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|item| resolve_placeholders(item, buffers)),
        _ => Ok(()),
    }
}

fn placeholder_index(value: &Value) -> Option<usize> {
    let map = value.as_object()?;
    if map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    map.get("num")?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
}

/// An encoded packet ready to queue: its text and the binary attachments that follow it.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub text: String,
    pub attachments: Vec<Vec<u8>>,
}

/// Encodes an outgoing packet. Arguments in Node's `Buffer.toJSON()` shape
/// (`{"type":"Buffer","data":[…]}`, what incoming attachments become) are sent as binary
/// attachments: the packet turns into BINARY_EVENT / BINARY_ACK with placeholders.
pub fn encode_outgoing(mut packet: Packet) -> Encoded {
    let mut attachments = Vec::new();
    if let Some(data) = packet.data.as_mut() {
        extract_buffers(data, &mut attachments);
    }
    if !attachments.is_empty() {
        packet.kind = match packet.kind {
            PacketType::Ack => PacketType::BinaryAck,
            _ => PacketType::BinaryEvent,
        };
        packet.attachments = attachments.len();
    }
    Encoded {
        text: packet.encode(),
        attachments,
    }
}

fn extract_buffers(value: &mut Value, attachments: &mut Vec<Vec<u8>>) {
    if let Some(bytes) = buffer_bytes(value) {
        *value = json!({ "_placeholder": true, "num": attachments.len() });
        attachments.push(bytes);
        return;
    }
    match value {
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| extract_buffers(item, attachments)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| extract_buffers(item, attachments)),
        _ => {}
    }
}

/// The bytes of a `{"type":"Buffer","data":[0..=255, …]}` value.
fn buffer_bytes(value: &Value) -> Option<Vec<u8>> {
    let map = value.as_object()?;
    if map.len() != 2 || map.get("type")?.as_str()? != "Buffer" {
        return None;
    }
    map.get("data")?
        .as_array()?
        .iter()
        .map(|byte| byte.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Packet {
        Packet::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn plain_packets_pass_through() {
        let mut assembler = BinaryAssembler::default();
        let packet = decode(r#"2["a"]"#);
        assert_eq!(
            assembler.start(packet.clone()),
            Ok(Assembled::Ready(packet))
        );
    }

    #[test]
    fn attachments_fill_their_placeholders_in_order() {
        let mut assembler = BinaryAssembler::default();
        let packet =
            decode(r#"52-["up",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]"#);
        assert_eq!(assembler.start(packet), Ok(Assembled::Waiting));
        assert_eq!(assembler.push(vec![1]), Ok(Assembled::Waiting));
        let Ok(Assembled::Ready(done)) = assembler.push(vec![2, 3]) else {
            panic!("not ready")
        };
        assert_eq!(done.kind, PacketType::Event);
        let (name, args) = done.into_event().unwrap_or_default();
        assert_eq!(name, "up");
        assert_eq!(
            args,
            vec![
                json!({"type":"Buffer","data":[2,3]}),
                json!([{"type":"Buffer","data":[1]}])
            ]
        );
        assert!(!assembler.is_waiting());
    }

    #[test]
    fn binary_ack_becomes_ack() {
        let mut assembler = BinaryAssembler::default();
        assert_eq!(
            assembler.start(decode(r#"61-3[{"_placeholder":true,"num":0}]"#)),
            Ok(Assembled::Waiting)
        );
        let Ok(Assembled::Ready(done)) = assembler.push(vec![9]) else {
            panic!("not ready")
        };
        assert_eq!((done.kind, done.ack_id), (PacketType::Ack, Some(3)));
    }

    #[test]
    fn unexpected_or_missing_attachments_are_errors() {
        let mut assembler = BinaryAssembler::default();
        assert_eq!(
            assembler.push(vec![1]),
            Err(PacketError::InvalidPlaceholder)
        );
        let out_of_range = decode(r#"51-["up",{"_placeholder":true,"num":5}]"#);
        assert_eq!(assembler.start(out_of_range), Ok(Assembled::Waiting));
        assert_eq!(
            assembler.push(vec![1]),
            Err(PacketError::InvalidPlaceholder)
        );
        assert_eq!(
            assembler.start(decode(r#"51-["up",{"_placeholder":true,"num":0}]"#)),
            Ok(Assembled::Waiting)
        );
        assert_eq!(
            assembler.start(decode(r#"2["a"]"#)),
            Err(PacketError::InvalidPlaceholder)
        );
    }

    #[test]
    fn a_huge_announced_attachment_count_reserves_nothing() {
        let mut assembler = BinaryAssembler::default();
        let packet = decode(r#"5999999999999999-["up",{"_placeholder":true,"num":0}]"#);
        assert_eq!(assembler.start(packet), Ok(Assembled::Waiting));
        assert_eq!(assembler.push(vec![1]), Ok(Assembled::Waiting));
        assert!(assembler.is_waiting());
    }

    #[test]
    fn outgoing_buffers_become_attachments_with_placeholders() {
        let packet = Packet::event(
            "/",
            "file",
            vec![json!({"name": "a", "body": {"type": "Buffer", "data": [1, 2, 255]}})],
            Some(4),
        );
        let encoded = encode_outgoing(packet);
        assert_eq!(
            encoded.text,
            r#"51-4["file",{"name":"a","body":{"_placeholder":true,"num":0}}]"#
        );
        assert_eq!(encoded.attachments, vec![vec![1, 2, 255]]);
        let ack = encode_outgoing(Packet::ack(
            "/",
            7,
            vec![json!({"type": "Buffer", "data": [9]})],
        ));
        assert_eq!(ack.text, r#"61-7[{"_placeholder":true,"num":0}]"#);
        let plain = encode_outgoing(Packet::event(
            "/",
            "x",
            vec![json!({"type": "Buffer", "data": [300]})],
            None,
        ));
        assert!(plain.attachments.is_empty());
        assert!(plain.text.starts_with("2[\"x\""));
    }

    #[test]
    fn what_goes_out_comes_back_in() {
        let original = vec![json!({"type": "Buffer", "data": [0, 1]}), json!("text")];
        let encoded = encode_outgoing(Packet::event("/", "round", original.clone(), None));
        let mut assembler = BinaryAssembler::default();
        assert_eq!(
            assembler.start(decode(&encoded.text)).unwrap(),
            Assembled::Waiting
        );
        let Assembled::Ready(packet) = assembler.push(encoded.attachments[0].clone()).unwrap()
        else {
            panic!("not assembled");
        };
        assert_eq!(packet.into_event().unwrap(), ("round".to_owned(), original));
    }

    #[test]
    fn attachments_beyond_the_limit_are_refused() {
        let mut assembler = BinaryAssembler::with_limit(10);
        assert_eq!(
            assembler.start(decode(r#"53-["e",{"_placeholder":true,"num":0}]"#)),
            Ok(Assembled::Waiting)
        );
        assert_eq!(assembler.push(vec![0; 4]), Ok(Assembled::Waiting));
        assert_eq!(
            assembler.push(vec![0; 6]),
            Err(PacketError::AttachmentsTooLarge)
        );
        // Within the limit, the next packet assembles as usual.
        assert_eq!(
            assembler.start(decode(r#"51-["e",{"_placeholder":true,"num":0}]"#)),
            Ok(Assembled::Waiting)
        );
        assert!(matches!(
            assembler.push(vec![1, 2]),
            Ok(Assembled::Ready(_))
        ));
    }
}
