//! Socket.IO v5 packets.
//!
//! Wire form: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`; the namespace is
//! omitted when it is `/`.

use serde_json::Value;

/// The main namespace, which every client connects to unless it asks for another.
pub const MAIN_NAMESPACE: &str = "/";

/// The Socket.IO packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    Connect = 0,
    Disconnect = 1,
    Event = 2,
    Ack = 3,
    ConnectError = 4,
    BinaryEvent = 5,
    BinaryAck = 6,
}

impl PacketType {
    fn from_digit(digit: char) -> Option<Self> {
        Some(match digit {
            '0' => Self::Connect,
            '1' => Self::Disconnect,
            '2' => Self::Event,
            '3' => Self::Ack,
            '4' => Self::ConnectError,
            '5' => Self::BinaryEvent,
            '6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// Binary packets announce how many attachments follow them.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    pub namespace: String,
    pub ack_id: Option<u64>,
    pub data: Option<Value>,
    /// Number of binary attachments that follow (binary types only).
    pub attachments: usize,
}

/// Why a Socket.IO packet could not be decoded; the session is closed for any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type")]
    UnknownType,
    #[error("invalid attachment count")]
    InvalidAttachments,
    #[error("invalid ack id")]
    InvalidAckId,
    #[error("invalid JSON payload")]
    InvalidJson,
    #[error("invalid payload for this packet type")]
    InvalidPayload,
    #[error("invalid binary placeholder")]
    InvalidPlaceholder,
    #[error("binary attachments larger than the payload limit")]
    AttachmentsTooLarge,
}

impl Packet {
    fn new(kind: PacketType, namespace: &str, ack_id: Option<u64>, data: Option<Value>) -> Self {
        Self {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            data,
            attachments: 0,
        }
    }

    /// The server's answer to an accepted CONNECT: `0{"sid":…}`.
    pub fn connect_ok(namespace: &str, socket_id: &str) -> Self {
        Self::new(
            PacketType::Connect,
            namespace,
            None,
            Some(serde_json::json!({ "sid": socket_id })),
        )
    }

    /// The server's answer to a refused CONNECT: `4{"message":…}` (an object since v5).
    pub fn connect_error(namespace: &str, message: &str) -> Self {
        Self::new(
            PacketType::ConnectError,
            namespace,
            None,
            Some(serde_json::json!({ "message": message })),
        )
    }

    pub fn disconnect(namespace: &str) -> Self {
        Self::new(PacketType::Disconnect, namespace, None, None)
    }

    /// An EVENT `["name", ...args]`, asking for an ack when `ack_id` is set.
    pub fn event(namespace: &str, name: &str, args: Vec<Value>, ack_id: Option<u64>) -> Self {
        let mut array = Vec::with_capacity(args.len() + 1);
        array.push(Value::String(name.to_owned()));
        array.extend(args);
        Self::new(
            PacketType::Event,
            namespace,
            ack_id,
            Some(Value::Array(array)),
        )
    }

    /// An ACK answering the request `ack_id`; its payload is always an array.
    pub fn ack(namespace: &str, ack_id: u64, args: Vec<Value>) -> Self {
        Self::new(
            PacketType::Ack,
            namespace,
            Some(ack_id),
            Some(Value::Array(args)),
        )
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        out.push(char::from(b'0' + self.kind as u8));
        if self.kind.is_binary() {
            out.push_str(&self.attachments.to_string());
            out.push('-');
        }
        if self.namespace != MAIN_NAMESPACE {
            out.push_str(&self.namespace);
            out.push(',');
        }
        if let Some(id) = self.ack_id {
            out.push_str(&id.to_string());
        }
        if let Some(data) = &self.data {
            out.push_str(&data.to_string());
        }
        out
    }

    pub fn decode(text: &str) -> Result<Self, PacketError> {
        let mut chars = text.chars();
        let kind = chars.next().ok_or(PacketError::Empty)?;
        let kind = PacketType::from_digit(kind).ok_or(PacketError::UnknownType)?;
        let mut rest = chars.as_str();

        let mut attachments = 0;
        if kind.is_binary() {
            let (count, after) = rest
                .split_once('-')
                .ok_or(PacketError::InvalidAttachments)?;
            attachments = parse_digits(count).ok_or(PacketError::InvalidAttachments)?;
            rest = after;
        }

        let mut namespace = MAIN_NAMESPACE;
        if rest.starts_with('/') {
            let (name, after) = rest.split_once(',').unwrap_or((rest, ""));
            namespace = name;
            rest = after;
        }

        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let ack_id = match &rest[..digits_end] {
            "" => None,
            digits => Some(
                digits
                    .parse::<u64>()
                    .map_err(|_| PacketError::InvalidAckId)?,
            ),
        };
        let payload = &rest[digits_end..];
        let data = if payload.is_empty() {
            None
        } else {
            Some(serde_json::from_str::<Value>(payload).map_err(|_| PacketError::InvalidJson)?)
        };

        let packet = Self {
            kind,
            namespace: namespace.to_owned(),
            ack_id,
            data,
            attachments,
        };
        packet.validate()?;
        Ok(packet)
    }

    /// The payload rules of the v5 parser: CONNECT takes an optional object, DISCONNECT
    /// nothing, EVENT a non-empty array starting with the event name, ACK an array.
    fn validate(&self) -> Result<(), PacketError> {
        let valid = match (self.kind, &self.data) {
            (PacketType::Connect, None | Some(Value::Object(_))) => self.ack_id.is_none(),
            (PacketType::Disconnect, None) => self.ack_id.is_none(),
            (PacketType::ConnectError, Some(Value::Object(_) | Value::String(_))) => true,
            (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(items))) => {
                matches!(items.first(), Some(Value::String(_) | Value::Number(_)))
            }
            (PacketType::Ack | PacketType::BinaryAck, Some(Value::Array(_))) => {
                self.ack_id.is_some()
            }
            _ => false,
        };
        if valid {
            Ok(())
        } else {
            Err(PacketError::InvalidPayload)
        }
    }

    /// For an EVENT: the event name and its arguments.
    pub fn into_event(self) -> Option<(String, Vec<Value>)> {
        let Some(Value::Array(mut items)) = self.data else {
            return None;
        };
        if items.is_empty() {
            return None;
        }
        let name = match items.remove(0) {
            Value::String(name) => name,
            // Numeric event names exist in the wild (`socket.emit(1, …)`); JS stringifies them.
            Value::Number(number) => number.to_string(),
            _ => return None,
        };
        Some((name, items))
    }

    /// For an ACK: its arguments.
    pub fn into_ack_args(self) -> Vec<Value> {
        match self.data {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        }
    }
}

fn parse_digits(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> Packet {
        let packet = Packet::decode(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(packet.encode(), text);
        packet
    }

    #[test]
    fn connect_with_and_without_auth() {
        let plain = round_trip("0");
        assert_eq!(
            (plain.kind, plain.namespace.as_str(), plain.data),
            (PacketType::Connect, "/", None)
        );
        let auth = round_trip(r#"0{"token":"abc"}"#);
        assert_eq!(auth.data, Some(json!({"token": "abc"})));
        let admin = round_trip(r#"0/admin,{"token":"abc"}"#);
        assert_eq!(admin.namespace, "/admin");
        assert_eq!(
            Packet::decode("0/admin").map(|p| p.namespace),
            Ok("/admin".to_owned())
        );
    }

    #[test]
    fn connect_replies() {
        assert_eq!(Packet::connect_ok("/", "xyz").encode(), r#"0{"sid":"xyz"}"#);
        assert_eq!(
            Packet::connect_error("/random", "Invalid namespace").encode(),
            r#"4/random,{"message":"Invalid namespace"}"#
        );
        let error = round_trip(r#"4{"message":"Not authorized"}"#);
        assert_eq!(error.kind, PacketType::ConnectError);
    }

    #[test]
    fn disconnect() {
        assert_eq!(round_trip("1").kind, PacketType::Disconnect);
        assert_eq!(round_trip("1/admin,").namespace, "/admin");
        assert_eq!(Packet::disconnect("/").encode(), "1");
    }

    #[test]
    fn event_with_and_without_ack() {
        let event = round_trip(r#"2["hello",1,{"a":true}]"#);
        assert_eq!(event.ack_id, None);
        assert_eq!(
            event.into_event(),
            Some(("hello".to_owned(), vec![json!(1), json!({"a": true})]))
        );
        let with_ack = round_trip(r#"2/admin,12["hello"]"#);
        assert_eq!(
            (with_ack.namespace.as_str(), with_ack.ack_id),
            ("/admin", Some(12))
        );
        assert_eq!(
            Packet::event("/", "x", vec![json!("y")], Some(3)).encode(),
            r#"23["x","y"]"#
        );
        let numeric = Packet::decode(r#"2[1,{}]"#)
            .ok()
            .and_then(Packet::into_event);
        assert_eq!(numeric, Some(("1".to_owned(), vec![json!({})])));
    }

    #[test]
    fn ack() {
        let ack = round_trip(r#"37["ok",2]"#);
        assert_eq!((ack.kind, ack.ack_id), (PacketType::Ack, Some(7)));
        assert_eq!(ack.into_ack_args(), vec![json!("ok"), json!(2)]);
        assert_eq!(Packet::ack("/", 4, vec![]).encode(), "34[]");
    }

    #[test]
    fn binary_event_and_ack() {
        let event = round_trip(r#"51-["file",{"_placeholder":true,"num":0}]"#);
        assert_eq!(
            (event.kind, event.attachments),
            (PacketType::BinaryEvent, 1)
        );
        let ack = round_trip(
            r#"62-/admin,9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        );
        assert_eq!(
            (ack.kind, ack.attachments, ack.ack_id),
            (PacketType::BinaryAck, 2, Some(9))
        );
        assert_eq!(ack.namespace, "/admin");
    }

    #[test]
    fn malformed_packets_are_rejected() {
        let cases = [
            ("", PacketError::Empty),
            ("7", PacketError::UnknownType),
            ("a", PacketError::UnknownType),
            ("2[\"x\"", PacketError::InvalidJson),
            ("2", PacketError::InvalidPayload),
            ("2[]", PacketError::InvalidPayload),
            ("2{}", PacketError::InvalidPayload),
            ("2[{}]", PacketError::InvalidPayload),
            ("0[]", PacketError::InvalidPayload),
            ("0\"x\"", PacketError::InvalidPayload),
            ("1{}", PacketError::InvalidPayload),
            ("3[]", PacketError::InvalidPayload),
            ("35{}", PacketError::InvalidPayload),
            ("4", PacketError::InvalidPayload),
            ("5[\"x\"]", PacketError::InvalidAttachments),
            ("5x-[\"x\"]", PacketError::InvalidAttachments),
            ("299999999999999999999999[\"x\"]", PacketError::InvalidAckId),
        ];
        for (text, error) in cases {
            assert_eq!(Packet::decode(text), Err(error), "{text:?}");
        }
    }
}
