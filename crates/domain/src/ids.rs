//! Identifiers: the elizaOS UUID helpers (bit-exact with 1.7.2) and typed ids.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// Characters `encodeURIComponent` leaves alone: `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The all-zero id 1.7.2 uses for the default message server.
pub const DEFAULT_SERVER_ID: Uuid = Uuid::nil();

/// `validateUuid` of 1.7.2: exactly `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i`.
/// Version and variant bits are not checked.
pub fn validate_uuid(text: &str) -> Option<Uuid> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let well_formed = bytes.iter().enumerate().all(|(i, b)| match i {
        8 | 13 | 18 | 23 => *b == b'-',
        _ => b.is_ascii_hexdigit(),
    });
    if !well_formed {
        return None;
    }
    Uuid::parse_str(text).ok()
}

/// `encodeURIComponent` of JavaScript, on a Rust (always well-formed UTF-8) string.
pub fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

/// `stringToUuid` of 1.7.2: a UUID is returned as is; anything else is the SHA-1 of its
/// `encodeURIComponent` form, truncated to 16 bytes, variant set and version nibble cleared.
pub fn string_to_uuid(text: &str) -> Uuid {
    if let Some(uuid) = validate_uuid(text) {
        return uuid;
    }
    let digest = Sha1::digest(encode_uri_component(text).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    bytes[6] &= 0x0f;
    Uuid::from_bytes(bytes)
}

/// `createUniqueUuid(runtime, base)` of 1.7.2: the agent's id itself when `base` is that id,
/// otherwise `stringToUuid("<base>:<agentId>")`.
pub fn create_unique_uuid(agent_id: Uuid, base: &str) -> Uuid {
    // 1.7.2 compares the strings exactly (`base === runtime.agentId`).
    if base == agent_id.hyphenated().to_string() {
        return agent_id;
    }
    string_to_uuid(&format!("{base}:{agent_id}"))
}

/// Why a text is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid UUID: {0:?}")]
pub struct InvalidId(pub String);

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// Parses with the 1.7.2 `validateUuid` rules.
            pub fn parse(text: &str) -> Result<Self, InvalidId> {
                validate_uuid(text).map(Self).ok_or_else(|| InvalidId(text.to_owned()))
            }

            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

typed_id!(
    /// An agent (and its character).
    AgentId
);
typed_id!(
    /// A central message server (elizaOS `message_server_id`).
    MessageServerId
);
typed_id!(
    /// A central channel.
    ChannelId
);
typed_id!(
    /// A central message.
    MessageId
);
typed_id!(
    /// A person or agent as seen by an agent (also central author ids).
    EntityId
);
typed_id!(
    /// An agent-side world (derived from a message server).
    WorldId
);
typed_id!(
    /// An agent-side room (derived from a channel).
    RoomId
);
typed_id!(
    /// An agent memory.
    MemoryId
);
typed_id!(
    /// An agent log row.
    LogId
);
typed_id!(
    /// A scheduled agent task.
    TaskId
);
typed_id!(
    /// A relationship between two entities.
    RelationshipId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_uuid_matches_the_1_7_2_vectors() {
        assert_eq!(
            string_to_uuid("Eliza").to_string(),
            "b850bc30-45f8-0041-a00a-83df46d8555d"
        );
        assert_eq!(
            string_to_uuid("Tester").to_string(),
            "9264a677-ddfa-0b31-9d09-c5d2427b23a3"
        );
    }

    #[test]
    fn string_to_uuid_matches_node_for_escaped_and_non_ascii_text() {
        // Computed with node 20: SHA-1 over encodeURIComponent(text), as core/src/utils.ts does.
        let vectors = [
            ("Zoë", "f9e8abe6-7aae-0546-871e-3c67f756587c"),
            (
                "日本語のエージェント",
                "9c11e739-a8a7-09f2-b0e1-b85229476be5",
            ),
            ("a b:c/d?e", "344df8dc-746f-00b1-b293-293382826b9d"),
            ("100%", "c35a02a1-4edf-05e2-a3a6-7491f7e5fda6"),
            ("😀 emoji", "00fc2db8-1abd-0278-8d61-2fdb9d17b9c0"),
            ("it's (fine)!*~", "f0ffa15d-311c-027f-a43b-70a4ce279942"),
        ];
        for (text, expected) in vectors {
            assert_eq!(string_to_uuid(text).to_string(), expected, "{text}");
        }
    }

    #[test]
    fn create_unique_uuid_matches_the_1_7_2_vector() {
        let eliza = string_to_uuid("Eliza");
        let world = create_unique_uuid(eliza, "00000000-0000-0000-0000-000000000000");
        assert_eq!(world.to_string(), "740de269-82a9-0d4f-9889-c87fb8884f7f");
        assert_eq!(create_unique_uuid(eliza, &eliza.to_string()), eliza);
    }

    #[test]
    fn encode_uri_component_matches_javascript() {
        // Values computed with node: encodeURIComponent(...)
        assert_eq!(encode_uri_component("a b:c"), "a%20b%3Ac");
        assert_eq!(encode_uri_component("-_.!~*'()"), "-_.!~*'()");
        assert_eq!(encode_uri_component("é€😀"), "%C3%A9%E2%82%AC%F0%9F%98%80");
        assert_eq!(encode_uri_component("a/b?c=d&e#f"), "a%2Fb%3Fc%3Dd%26e%23f");
    }

    #[test]
    fn string_to_uuid_hashes_the_encoded_form() {
        // "a b" and its encoded form "a%20b" are different inputs to SHA-1 only after encoding:
        // the first is encoded to the second, so both give the id of "a%20b" encoded again.
        let spaced = string_to_uuid("a b");
        let digest = Sha1::digest(b"a%20b");
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        bytes[6] &= 0x0f;
        assert_eq!(spaced, Uuid::from_bytes(bytes));
        assert_eq!(spaced.get_version_num(), 0);
        assert_ne!(string_to_uuid("é"), string_to_uuid("e"));
    }

    #[test]
    fn string_to_uuid_returns_uuids_unchanged() {
        let id = "B850BC30-45F8-0041-A00A-83DF46D8555D";
        assert_eq!(string_to_uuid(id).to_string(), id.to_lowercase());
    }

    #[test]
    fn validate_uuid_follows_the_regex() {
        assert!(validate_uuid("00000000-0000-0000-0000-000000000000").is_some());
        assert!(validate_uuid("ABCDEF00-0000-0000-0000-000000000000").is_some());
        assert!(validate_uuid("00000000000000000000000000000000").is_none());
        assert!(validate_uuid("{00000000-0000-0000-0000-000000000000}").is_none());
        assert!(validate_uuid("g0000000-0000-0000-0000-000000000000").is_none());
        assert!(validate_uuid("worlds").is_none());
        assert!(validate_uuid("").is_none());
    }

    #[test]
    fn typed_ids_parse_and_display_lowercase() {
        let id = AgentId::parse("B850BC30-45F8-0041-A00A-83DF46D8555D").unwrap();
        assert_eq!(id.to_string(), "b850bc30-45f8-0041-a00a-83df46d8555d");
        assert!(AgentId::parse("nope").is_err());
    }
}
