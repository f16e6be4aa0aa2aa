//! Engine.IO v4 packets and the polling payload format.
//!
//! A packet is one ASCII type digit followed by its data. Over WebSocket each packet is one
//! frame (a binary frame is implicitly a `message`). Over HTTP long-polling several packets
//! travel in one body separated by the record separator `\x1e`, and binary messages are
//! written as `b<base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Separates packets in a polling payload.
pub const RECORD_SEPARATOR: char = '\x1e';

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `0` + the handshake JSON (server → client only).
    Open(String),
    /// `1`: close the session.
    Close,
    /// `2` with optional data (`probe` during an upgrade).
    Ping(String),
    /// `3` with optional data (`probe` answers a probe ping).
    Pong(String),
    /// `4` + text: carries one Socket.IO packet.
    Message(String),
    /// A binary message: a WebSocket binary frame, or `b<base64>` in a polling payload.
    Binary(Vec<u8>),
    /// `5`: the client commits to the WebSocket transport.
    Upgrade,
    /// `6`: nothing; releases a pending long-poll during an upgrade.
    Noop,
}

/// Why a packet or payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    #[error("invalid base64 in binary packet")]
    InvalidBase64,
    #[error("unexpected data after packet type {0}")]
    UnexpectedData(char),
}

impl Packet {
    /// The text form: used for WebSocket text frames and inside polling payloads.
    /// Binary packets become `b<base64>`, which only polling payloads may carry.
    pub fn encode(&self) -> String {
        match self {
            Self::Open(json) => format!("0{json}"),
            Self::Close => "1".to_owned(),
            Self::Ping(data) => format!("2{data}"),
            Self::Pong(data) => format!("3{data}"),
            Self::Message(text) => format!("4{text}"),
            Self::Binary(bytes) => format!("b{}", BASE64.encode(bytes)),
            Self::Upgrade => "5".to_owned(),
            Self::Noop => "6".to_owned(),
        }
    }

    /// Decodes the text form of one packet (a WebSocket text frame or one polling record).
    pub fn decode(text: &str) -> Result<Self, PacketError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(PacketError::Empty)?;
        let data = chars.as_str();
        match kind {
            '0' => Ok(Self::Open(data.to_owned())),
            '1' => no_data(kind, data, Self::Close),
            '2' => Ok(Self::Ping(data.to_owned())),
            '3' => Ok(Self::Pong(data.to_owned())),
            '4' => Ok(Self::Message(data.to_owned())),
            '5' => no_data(kind, data, Self::Upgrade),
            '6' => no_data(kind, data, Self::Noop),
            'b' => BASE64
                .decode(data)
                .map(Self::Binary)
                .map_err(|_| PacketError::InvalidBase64),
            other => Err(PacketError::UnknownType(other)),
        }
    }
}

/// Close, upgrade and noop carry nothing; data after them means a confused peer.
fn no_data(kind: char, data: &str, packet: Packet) -> Result<Packet, PacketError> {
    if data.is_empty() {
        Ok(packet)
    } else {
        Err(PacketError::UnexpectedData(kind))
    }
}

/// Encodes packets as one polling body.
pub fn encode_payload(packets: &[Packet]) -> String {
    let mut body = String::new();
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            body.push(RECORD_SEPARATOR);
        }
        body.push_str(&packet.encode());
    }
    body
}

/// Decodes one polling body; any malformed record rejects the whole body.
pub fn decode_payload(body: &str) -> Result<Vec<Packet>, PacketError> {
    body.split(RECORD_SEPARATOR).map(Packet::decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_packet_type_round_trips() {
        let packets = [
            (Packet::Open(r#"{"sid":"a"}"#.into()), r#"0{"sid":"a"}"#),
            (Packet::Close, "1"),
            (Packet::Ping(String::new()), "2"),
            (Packet::Ping("probe".into()), "2probe"),
            (Packet::Pong(String::new()), "3"),
            (Packet::Pong("probe".into()), "3probe"),
            (Packet::Message("hello €".into()), "4hello €"),
            (Packet::Message(String::new()), "4"),
            (Packet::Binary(vec![1, 2, 3, 4]), "bAQIDBA=="),
            (Packet::Upgrade, "5"),
            (Packet::Noop, "6"),
        ];
        for (packet, text) in packets {
            assert_eq!(packet.encode(), text);
            assert_eq!(Packet::decode(text), Ok(packet));
        }
    }

    #[test]
    fn payload_uses_the_record_separator() {
        let packets = vec![
            Packet::Message("hello".into()),
            Packet::Binary(vec![1, 2, 3, 4]),
        ];
        let body = encode_payload(&packets);
        assert_eq!(body, "4hello\x1ebAQIDBA==");
        assert_eq!(decode_payload(&body), Ok(packets));
    }

    #[test]
    fn single_packet_payload_has_no_separator() {
        assert_eq!(encode_payload(&[Packet::Noop]), "6");
        assert_eq!(decode_payload("40"), Ok(vec![Packet::Message("0".into())]));
    }

    #[test]
    fn malformed_packets_are_rejected() {
        assert_eq!(Packet::decode(""), Err(PacketError::Empty));
        assert_eq!(Packet::decode("7"), Err(PacketError::UnknownType('7')));
        assert_eq!(Packet::decode("x4"), Err(PacketError::UnknownType('x')));
        assert_eq!(Packet::decode("b!!"), Err(PacketError::InvalidBase64));
        assert_eq!(Packet::decode("1x"), Err(PacketError::UnexpectedData('1')));
        assert_eq!(Packet::decode("5x"), Err(PacketError::UnexpectedData('5')));
        assert_eq!(Packet::decode("6x"), Err(PacketError::UnexpectedData('6')));
    }

    #[test]
    fn malformed_record_rejects_the_payload() {
        assert_eq!(
            decode_payload("4a\x1e9"),
            Err(PacketError::UnknownType('9'))
        );
        assert_eq!(decode_payload("4a\x1e"), Err(PacketError::Empty));
        assert_eq!(decode_payload(""), Err(PacketError::Empty));
    }
}
