//! The 1.7.2 JSON shapes of message servers, channels and messages (API spec §1.7): camelCase,
//! ISO-8601 timestamps with milliseconds, absent optional fields omitted.

use crate::media::{MediaConfig, rewrite_url};
use chrono::{DateTime, SecondsFormat, Utc};
use eliza_domain::messaging::{CentralMessage, Channel, MessageServer};
use serde_json::{Map, Value, json};

/// `2026-11-23T11:00:00.209Z`, as JavaScript's `Date#toJSON`.
pub fn iso(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn put_some(object: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        object.insert(key.to_owned(), value);
    }
}

pub fn server_json(server: &MessageServer) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(server.id));
    object.insert("name".into(), json!(server.name));
    object.insert("sourceType".into(), json!(server.source_type));
    put_some(
        &mut object,
        "sourceId",
        server.source_id.as_ref().map(|v| json!(v)),
    );
    put_some(&mut object, "metadata", server.metadata.clone());
    object.insert("createdAt".into(), json!(iso(&server.created_at)));
    object.insert("updatedAt".into(), json!(iso(&server.updated_at)));
    Value::Object(object)
}

pub fn channel_json(channel: &Channel) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(channel.id));
    object.insert("messageServerId".into(), json!(channel.message_server_id));
    object.insert("name".into(), json!(channel.name));
    object.insert("type".into(), json!(channel.channel_type.as_str()));
    put_some(
        &mut object,
        "sourceType",
        channel.source_type.as_ref().map(|v| json!(v)),
    );
    put_some(
        &mut object,
        "sourceId",
        channel.source_id.as_ref().map(|v| json!(v)),
    );
    put_some(
        &mut object,
        "topic",
        channel.topic.as_ref().map(|v| json!(v)),
    );
    put_some(&mut object, "metadata", channel.metadata.clone());
    object.insert("createdAt".into(), json!(iso(&channel.created_at)));
    object.insert("updatedAt".into(), json!(iso(&channel.updated_at)));
    Value::Object(object)
}

/// A `CentralMessage` as `/submit` and `GET /messages/:id` answer it; the attachments of its
/// metadata and raw message name `/media/...` urls, never the server's file paths.
pub fn message_json(message: &CentralMessage, media: &MediaConfig) -> Value {
    let mut object = Map::new();
    object.insert("id".into(), json!(message.id));
    object.insert("channelId".into(), json!(message.channel_id));
    object.insert("authorId".into(), json!(message.author_id));
    object.insert("content".into(), json!(message.content));
    put_some(
        &mut object,
        "rawMessage",
        with_media_urls(message.raw_message.clone(), media),
    );
    put_some(
        &mut object,
        "sourceType",
        message.source_type.as_ref().map(|v| json!(v)),
    );
    put_some(
        &mut object,
        "sourceId",
        message.source_id.as_ref().map(|v| json!(v)),
    );
    put_some(
        &mut object,
        "metadata",
        with_media_urls(message.metadata.clone(), media),
    );
    object.insert(
        "inReplyToRootMessageId".into(),
        json!(message.in_reply_to_root_message_id),
    );
    object.insert("createdAt".into(), json!(iso(&message.created_at)));
    object.insert("updatedAt".into(), json!(iso(&message.updated_at)));
    Value::Object(object)
}

/// A message of `GET /channels/:id/messages`: the stored message, its metadata completed from the
/// raw message (`thought`, `actions`, `attachments`, their file paths as `/media/...` URLs), and
/// `created_at`/`updated_at` in ms.
pub fn list_item_json(message: &CentralMessage, media: &MediaConfig) -> Value {
    let mut item = message_json(message, media);
    let raw = message.raw_message.as_ref();
    let raw_field = |key: &str| raw.and_then(|raw| raw.get(key)).cloned();
    let mut metadata = match &message.metadata {
        Some(Value::Object(object)) => object.clone(),
        _ => Map::new(),
    };
    put_some(&mut metadata, "thought", raw_field("thought"));
    put_some(&mut metadata, "actions", raw_field("actions"));
    let attachments = raw_field("attachments").or_else(|| metadata.get("attachments").cloned());
    put_some(
        &mut metadata,
        "attachments",
        attachments.map(|attachments| media_urls(attachments, media)),
    );
    item["metadata"] = Value::Object(metadata);
    item["created_at"] = json!(message.created_at.timestamp_millis());
    item["updated_at"] = json!(message.updated_at.timestamp_millis());
    item
}

/// An object's `attachments` with [`media_urls`] applied.
fn with_media_urls(value: Option<Value>, media: &MediaConfig) -> Option<Value> {
    let mut value = value?;
    if let Some(attachments) = value.get_mut("attachments") {
        *attachments = media_urls(attachments.take(), media);
    }
    Some(value)
}

/// Attachment urls that are file paths in the media directories become `/media/...` urls.
pub fn media_urls(mut attachments: Value, media: &MediaConfig) -> Value {
    if let Value::Array(items) = &mut attachments {
        for item in items {
            if let Some(Value::String(url)) = item.get_mut("url") {
                *url = rewrite_url(url, media);
            }
        }
    }
    attachments
}

/// The OpenAPI schemas of these shapes (camelCase, ISO-8601 times, absent optionals omitted).
pub mod schema {
    use serde::Serialize;
    use serde_json::Value;
    use utoipa::ToSchema;
    use uuid::Uuid;

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct MessageServer {
        pub id: Uuid,
        pub name: String,
        pub source_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Value>,
        /// ISO-8601.
        pub created_at: String,
        pub updated_at: String,
    }

    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct Channel {
        pub id: Uuid,
        pub message_server_id: Uuid,
        pub name: String,
        /// `SELF`, `DM`, `GROUP`, `VOICE_DM`, `VOICE_GROUP`, `FEED`, `THREAD`, `WORLD`, `FORUM`, `API`.
        #[serde(rename = "type")]
        pub channel_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub topic: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Value>,
        /// ISO-8601.
        pub created_at: String,
        pub updated_at: String,
    }

    /// A stored channel message.
    #[derive(Serialize, ToSchema)]
    #[serde(rename_all = "camelCase")]
    pub struct CentralMessage {
        pub id: Uuid,
        pub channel_id: Uuid,
        pub author_id: String,
        pub content: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub raw_message: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Value>,
        pub in_reply_to_root_message_id: Option<Uuid>,
        /// ISO-8601.
        pub created_at: String,
        pub updated_at: String,
    }

    /// A message of a channel's list: the stored message, its `metadata` completed from the raw
    /// message (`thought`, `actions`, `attachments`), and its times in epoch milliseconds.
    #[derive(Serialize, ToSchema)]
    pub struct ListedMessage {
        #[serde(flatten)]
        pub message: CentralMessage,
        pub created_at: i64,
        pub updated_at: i64,
    }

    /// A message as the internal bus carries it (snake_case, `created_at` in epoch milliseconds).
    #[derive(Serialize, ToSchema)]
    pub struct BusMessage {
        pub id: Uuid,
        pub channel_id: Uuid,
        pub message_server_id: Uuid,
        pub author_id: String,
        pub content: String,
        pub created_at: i64,
        pub source_type: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub raw_message: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub author_display_name: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub in_reply_to_message_id: Option<Uuid>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub source_id: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eliza_domain::messaging::ChannelType;
    use eliza_domain::{ChannelId, MessageId, MessageServerId};

    fn message() -> CentralMessage {
        let at = DateTime::from_timestamp_millis(1_763_895_600_209).unwrap();
        CentralMessage {
            id: MessageId::new_random(),
            channel_id: ChannelId::new_random(),
            author_id: "a".into(),
            content: "hi".into(),
            raw_message: Some(json!({"thought": "t", "actions": ["REPLY"],
                "attachments": [{"url": "/srv/.eliza/data/uploads/channels/c/1.png"}]})),
            source_type: Some("agent_response".into()),
            source_id: None,
            metadata: Some(json!({"agentName": "Eliza"})),
            in_reply_to_root_message_id: None,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn timestamps_are_javascript_iso_strings() {
        let at = DateTime::from_timestamp_millis(1_763_895_600_209).unwrap();
        assert_eq!(iso(&at), "2025-11-23T11:00:00.209Z");
    }

    #[test]
    fn a_message_omits_absent_fields_but_keeps_a_null_reply_reference() {
        let json = message_json(&message(), &MediaConfig::default());
        assert!(json.get("sourceId").is_none());
        assert_eq!(json["inReplyToRootMessageId"], Value::Null);
        assert_eq!(json["createdAt"], "2025-11-23T11:00:00.209Z");
    }

    #[test]
    fn list_items_complete_metadata_from_the_raw_message() {
        let item = list_item_json(&message(), &MediaConfig::default());
        assert_eq!(
            item["metadata"],
            json!({"agentName": "Eliza", "thought": "t", "actions": ["REPLY"],
                "attachments": [{"url": "/media/uploads/channels/c/1.png"}]})
        );
        assert_eq!(item["created_at"], 1_763_895_600_209_i64);
        assert_eq!(item["updated_at"], 1_763_895_600_209_i64);
    }

    #[test]
    fn served_urls_are_left_alone() {
        let media = MediaConfig::default();
        let url = |url: &str| {
            media_urls(json!([{"url": url}]), &media)[0]["url"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        for served in [
            "https://x/y.png",
            "/media/uploads/a.png",
            "data:image/png;base64,x",
            "blob:http://x/1",
            "file:///tmp/a.png",
            "ipfs://Qm",
            "s3://b/k",
            "gs://b/k",
        ] {
            assert_eq!(url(served), served);
        }
        assert_eq!(url("C:\\eliza\\uploads\\a.png"), "/media/uploads/a.png");
    }

    #[test]
    fn paths_in_the_configured_directories_become_media_urls() {
        let media = MediaConfig::under(std::path::Path::new("/var/eliza"));
        let attachments = json!([
            {"url": "/var/eliza/generated/a1/song.mp3", "title": "t"},
            {"url": "/var/eliza/uploads/agents/a1/1-2.png"},
            {"url": "/var/eliza/uploads/channels/c1/1-2.pdf"},
            {"id": "no url"},
        ]);
        assert_eq!(
            media_urls(attachments, &media),
            json!([
                {"url": "/media/generated/a1/song.mp3", "title": "t"},
                {"url": "/media/uploads/agents/a1/1-2.png"},
                {"url": "/media/uploads/channels/c1/1-2.pdf"},
                {"id": "no url"},
            ])
        );
    }

    #[test]
    fn channels_and_servers_have_their_1_7_2_keys() {
        let at = Utc::now();
        let channel = Channel {
            id: ChannelId::new_random(),
            message_server_id: MessageServerId::new_random(),
            name: "c".into(),
            channel_type: ChannelType::Dm,
            source_type: None,
            source_id: None,
            topic: None,
            metadata: Some(json!({"isDm": true})),
            created_at: at,
            updated_at: at,
        };
        let keys: Vec<String> = channel_json(&channel)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(
            keys,
            [
                "id",
                "messageServerId",
                "name",
                "type",
                "metadata",
                "createdAt",
                "updatedAt"
            ]
        );
        let server = MessageServer {
            id: MessageServerId::new_random(),
            name: "s".into(),
            source_type: "eliza_default".into(),
            source_id: None,
            metadata: None,
            created_at: at,
            updated_at: at,
        };
        let keys: Vec<String> = server_json(&server)
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["id", "name", "sourceType", "createdAt", "updatedAt"]);
    }
}
