//! How bus events look to Socket.IO clients (API spec §3.4): the event names and exact payloads of
//! 1.7.2, including the five `messageBroadcast` shapes. Every broadcast carries both `channelId`
//! and `roomId` (1.7.2 omits one or the other depending on the source; clients accept either).

use crate::media::MediaConfig;
use crate::messaging::render::media_urls;
use eliza_bus::{BusEvent, BusMessage, ControlAction, MessageOrigin};
use serde_json::{Map, Value, json};

/// One emission to the sockets of a channel room.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomEmit {
    pub event: &'static str,
    pub payload: Value,
    /// A socket that must not get `payload` (the sender of a socket message)…
    pub except: Option<String>,
    /// …because it gets this copy instead (with `clientMessageId`).
    pub sender_copy: Option<Value>,
}

impl RoomEmit {
    fn to_all(event: &'static str, payload: Value) -> Self {
        RoomEmit {
            event,
            payload,
            except: None,
            sender_copy: None,
        }
    }
}

/// The socket emission for a bus event; `None` for events sockets do not see. Attachment file
/// paths inside the `media` directories are sent as `/media/...` URLs.
pub fn room_emit(event: &BusEvent, media: &MediaConfig) -> Option<RoomEmit> {
    let emit = match event {
        BusEvent::NewMessage { message, origin } => broadcast(message, origin, media),
        BusEvent::MessageDeleted {
            channel_id,
            message_id,
        } => RoomEmit::to_all(
            "messageDeleted",
            json!({"messageId": message_id, "channelId": channel_id}),
        ),
        BusEvent::ChannelCleared { channel_id } => {
            RoomEmit::to_all("channelCleared", json!({"channelId": channel_id}))
        }
        BusEvent::ChannelDeleted { channel_id } => {
            RoomEmit::to_all("channelDeleted", json!({"channelId": channel_id}))
        }
        BusEvent::ChannelUpdated {
            channel_id,
            channel,
        } => RoomEmit::to_all(
            "channelUpdated",
            json!({"channelId": channel_id, "updates": channel}),
        ),
        BusEvent::MessageStreamChunk {
            channel_id,
            message_id,
            agent_id,
            chunk,
            index,
            ..
        } => RoomEmit::to_all(
            "messageStreamChunk",
            json!({"messageId": message_id, "chunk": chunk, "index": index,
                "agentId": agent_id, "channelId": channel_id}),
        ),
        BusEvent::MessageStreamError {
            channel_id,
            message_id,
            agent_id,
            error,
            partial_text,
            ..
        } => {
            let mut payload = json!({"messageId": message_id, "channelId": channel_id,
                "agentId": agent_id, "error": error});
            if let Some(partial) = partial_text {
                payload["partialText"] = json!(partial);
            }
            RoomEmit::to_all("messageStreamError", payload)
        }
        BusEvent::MessageComplete {
            channel_id,
            agent_id,
            in_reply_to,
        } => {
            let mut payload = json!({"channelId": channel_id, "roomId": channel_id});
            if let Some(agent) = agent_id {
                payload["agentId"] = json!(agent);
            }
            if let Some(message) = in_reply_to {
                payload["messageId"] = json!(message);
            }
            RoomEmit::to_all("messageComplete", payload)
        }
        BusEvent::ControlMessage {
            channel_id,
            action,
            target,
        } => {
            let action = match action {
                ControlAction::EnableInput => "enable_input",
                ControlAction::DisableInput => "disable_input",
            };
            let mut payload =
                json!({"action": action, "channelId": channel_id, "roomId": channel_id});
            if let Some(target) = target {
                payload["target"] = json!(target);
            }
            RoomEmit::to_all("controlMessage", payload)
        }
        BusEvent::ServerAgentUpdate { .. } => return None,
    };
    Some(emit)
}

fn field<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    value
        .and_then(|value| value.get(key))
        .filter(|v| !v.is_null())
}

fn insert_some(payload: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(value) = value {
        payload.insert(key.to_owned(), value.clone());
    }
}

/// `messageBroadcast` in the shape 1.7.2 uses for the message's source.
fn broadcast(message: &BusMessage, origin: &MessageOrigin, media: &MediaConfig) -> RoomEmit {
    let metadata = message.metadata.as_ref();
    let raw = message.raw_message.as_ref();
    let mut payload = Map::new();
    payload.insert("id".into(), json!(message.id));
    payload.insert("senderId".into(), json!(message.author_id));
    payload.insert("senderName".into(), json!(sender_name(message, origin)));
    payload.insert("text".into(), json!(message.content));
    payload.insert("channelId".into(), json!(message.channel_id));
    payload.insert("roomId".into(), json!(message.channel_id));
    let server_key = match origin {
        MessageOrigin::AgentReply => "serverId",
        _ => "messageServerId",
    };
    payload.insert(server_key.into(), json!(message.message_server_id));
    payload.insert("createdAt".into(), json!(message.created_at));
    payload.insert("source".into(), json!(message.source_type));
    let attachments = field(raw, "attachments")
        .or_else(|| field(metadata, "attachments"))
        .map(|attachments| media_urls(attachments.clone(), media));
    match origin {
        MessageOrigin::Socket { .. } => {
            payload.insert("attachments".into(), attachments.unwrap_or(json!([])));
        }
        MessageOrigin::AgentReply | MessageOrigin::Action | MessageOrigin::Edit => {
            insert_some(&mut payload, "thought", field(raw, "thought"));
            insert_some(&mut payload, "actions", field(raw, "actions"));
            insert_some(&mut payload, "attachments", attachments.as_ref());
        }
        MessageOrigin::Gui | MessageOrigin::Ingest => {}
    }
    if let Some(updated) = message.updated_at {
        payload.insert("updatedAt".into(), json!(updated));
        insert_some(&mut payload, "rawMessage", raw);
    }
    let payload = Value::Object(payload);
    match origin {
        MessageOrigin::Socket {
            socket_id,
            client_message_id,
        } => {
            let mut copy = payload.clone();
            copy["clientMessageId"] = json!(client_message_id);
            RoomEmit {
                event: "messageBroadcast",
                payload,
                except: Some(socket_id.clone()),
                sender_copy: Some(copy),
            }
        }
        _ => RoomEmit::to_all("messageBroadcast", payload),
    }
}

fn sender_name(message: &BusMessage, origin: &MessageOrigin) -> String {
    let metadata = message.metadata.as_ref();
    let text = |key: &str| {
        field(metadata, key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let fallback = match origin {
        MessageOrigin::AgentReply | MessageOrigin::Action => "Agent",
        _ => "User",
    };
    let named = match origin {
        MessageOrigin::AgentReply | MessageOrigin::Action => text("agentName"),
        _ => message
            .author_display_name
            .clone()
            .or_else(|| text("user_display_name")),
    };
    named
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| fallback.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use eliza_domain::{AgentId, ChannelId, MessageId, MessageServerId};

    fn message(metadata: Value, raw: Value) -> BusMessage {
        BusMessage {
            author_id: "author".into(),
            created_at: 1_700_000_000_000,
            source_type: "client_chat".into(),
            raw_message: Some(raw),
            metadata: Some(metadata),
            ..BusMessage::sample(ChannelId::new_random(), "hi")
        }
    }

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn attachment_paths_in_the_media_directories_are_broadcast_as_media_urls() {
        let media = MediaConfig::under(std::path::Path::new("/srv/eliza"));
        let message = message(
            json!({"agentName": "Eliza"}),
            json!({"attachments": [
                {"url": "/srv/eliza/generated/a1/song.mp3"},
                {"url": "https://x/y.png"}
            ]}),
        );
        let reply = broadcast(&message, &MessageOrigin::AgentReply, &media).payload;
        assert_eq!(
            reply["attachments"],
            json!([{"url": "/media/generated/a1/song.mp3"}, {"url": "https://x/y.png"}])
        );
        let origin = MessageOrigin::Socket {
            socket_id: "s1".into(),
            client_message_id: None,
        };
        let sent = broadcast(&message, &origin, &media).payload;
        assert_eq!(
            sent["attachments"][0]["url"],
            "/media/generated/a1/song.mp3"
        );
    }

    #[test]
    fn a_socket_message_goes_to_the_others_and_a_copy_with_the_client_id_to_the_sender() {
        let message = message(json!({"attachments": [{"url": "/media/x.png"}]}), json!({}));
        let origin = MessageOrigin::Socket {
            socket_id: "s1".into(),
            client_message_id: Some("tmp-1".into()),
        };
        let emit = broadcast(&message, &origin, &MediaConfig::default());
        assert_eq!(emit.event, "messageBroadcast");
        assert_eq!(emit.except.as_deref(), Some("s1"));
        assert_eq!(
            keys(&emit.payload),
            [
                "id",
                "senderId",
                "senderName",
                "text",
                "channelId",
                "roomId",
                "messageServerId",
                "createdAt",
                "source",
                "attachments"
            ]
        );
        assert_eq!(emit.payload["senderName"], "User");
        assert_eq!(
            emit.payload["attachments"],
            json!([{"url": "/media/x.png"}])
        );
        let copy = emit.sender_copy.unwrap();
        assert_eq!(copy["clientMessageId"], "tmp-1");
        assert_eq!(copy["id"], emit.payload["id"]);
    }

    #[test]
    fn an_agent_reply_names_the_agent_and_carries_thought_and_actions() {
        let message = message(
            json!({"agentName": "Eliza"}),
            json!({"text": "hi", "thought": "t", "actions": ["REPLY"]}),
        );
        let emit = room_emit(
            &BusEvent::NewMessage {
                message: Box::new(message.clone()),
                origin: MessageOrigin::AgentReply,
            },
            &MediaConfig::default(),
        )
        .unwrap();
        assert_eq!(emit.except, None);
        let payload = &emit.payload;
        assert_eq!(payload["senderName"], "Eliza");
        assert_eq!(payload["serverId"], json!(message.message_server_id));
        assert!(payload.get("messageServerId").is_none());
        assert_eq!(
            (payload["thought"].clone(), payload["actions"].clone()),
            (json!("t"), json!(["REPLY"]))
        );
        assert!(payload.get("attachments").is_none());
        assert_eq!(payload["channelId"], payload["roomId"]);
    }

    #[test]
    fn gui_and_ingested_messages_have_the_short_shape() {
        let mut message = message(json!({"user_display_name": "Ann"}), json!({"thought": "x"}));
        let gui = broadcast(&message, &MessageOrigin::Gui, &MediaConfig::default()).payload;
        assert_eq!(gui["senderName"], "Ann");
        assert!(gui.get("thought").is_none());
        message.author_display_name = Some("Bob".into());
        assert_eq!(
            broadcast(&message, &MessageOrigin::Ingest, &MediaConfig::default()).payload["senderName"],
            "Bob"
        );
    }

    #[test]
    fn updated_actions_carry_updated_at_and_the_raw_message() {
        let mut message = message(json!({}), json!({"status": "done"}));
        message.updated_at = Some(1_700_000_000_500);
        let payload = broadcast(&message, &MessageOrigin::Action, &MediaConfig::default()).payload;
        assert_eq!(payload["senderName"], "Agent");
        assert_eq!(payload["updatedAt"], 1_700_000_000_500_i64);
        assert_eq!(payload["rawMessage"], json!({"status": "done"}));
    }

    #[test]
    fn channel_events_and_turn_ends_have_their_1_7_2_names() {
        let channel_id = ChannelId::new_random();
        let agent_id = AgentId::new_random();
        let message_id = MessageId::new_random();
        let cases = [
            (
                BusEvent::ChannelCleared { channel_id },
                "channelCleared",
                json!({"channelId": channel_id}),
            ),
            (
                BusEvent::ChannelDeleted { channel_id },
                "channelDeleted",
                json!({"channelId": channel_id}),
            ),
            (
                BusEvent::MessageDeleted {
                    channel_id,
                    message_id,
                },
                "messageDeleted",
                json!({"messageId": message_id, "channelId": channel_id}),
            ),
            (
                BusEvent::ChannelUpdated {
                    channel_id,
                    channel: json!({"name": "n"}),
                },
                "channelUpdated",
                json!({"channelId": channel_id, "updates": {"name": "n"}}),
            ),
            (
                BusEvent::MessageStreamChunk {
                    channel_id,
                    message_id,
                    agent_id,
                    chunk: "he".into(),
                    index: 0,
                    in_reply_to: None,
                },
                "messageStreamChunk",
                json!({"messageId": message_id, "chunk": "he", "index": 0, "agentId": agent_id, "channelId": channel_id}),
            ),
            (
                BusEvent::MessageStreamError {
                    channel_id,
                    message_id,
                    agent_id,
                    error: "boom".into(),
                    partial_text: Some("he".into()),
                    in_reply_to: None,
                },
                "messageStreamError",
                json!({"messageId": message_id, "channelId": channel_id, "agentId": agent_id, "error": "boom", "partialText": "he"}),
            ),
            (
                BusEvent::MessageComplete {
                    channel_id,
                    agent_id: Some(agent_id),
                    in_reply_to: Some(message_id),
                },
                "messageComplete",
                json!({"channelId": channel_id, "roomId": channel_id, "agentId": agent_id, "messageId": message_id}),
            ),
            (
                BusEvent::ControlMessage {
                    channel_id,
                    action: ControlAction::EnableInput,
                    target: None,
                },
                "controlMessage",
                json!({"action": "enable_input", "channelId": channel_id, "roomId": channel_id}),
            ),
        ];
        for (event, name, payload) in cases {
            let emit = room_emit(&event, &MediaConfig::default()).unwrap();
            assert_eq!((emit.event, &emit.payload), (name, &payload));
        }
        let update = BusEvent::ServerAgentUpdate {
            message_server_id: MessageServerId::new_random(),
            agent_id,
            change: eliza_bus::ServerAgentChange::Added,
        };
        assert_eq!(room_emit(&update, &MediaConfig::default()), None);
    }
}
