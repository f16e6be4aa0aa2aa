//! SEND_MESSAGE: the same path as an HTTP post (store, publish, dispatch), with the 1.7.2
//! socket metadata, the sender's echo (`clientMessageId`) and `messageAck`.

use super::{ElizaEvents, emit, message_error};
use crate::messaging::socket_events::room_emit;
use crate::messaging::{Post, client_message_id};
use crate::routes::messaging::channels::{AutoCreate, find_or_auto_create};
use eliza_bus::{BusEvent, MessageOrigin, NewMessage};
use eliza_domain::{ChannelId, MessageServerId};
use eliza_socketio::Socket;
use serde_json::{Map, Value, json};

const INVALID_SEND: &str = "For SEND_MESSAGE: channelId, messageServerId (message_server_id), senderId (author_id), and message are required.";

/// A validated SEND_MESSAGE payload.
struct Outgoing<'a> {
    channel: ChannelId,
    server: MessageServerId,
    sender: String,
    text: &'a str,
    payload: &'a Map<String, Value>,
}

fn text<'a>(payload: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    payload
        .get(key)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
}

fn read(payload: &Value) -> Option<Outgoing<'_>> {
    let payload = payload.as_object()?;
    let channel = text(payload, "channelId").or_else(|| text(payload, "roomId"))?;
    let server = text(payload, "messageServerId").or_else(|| text(payload, "message_server_id"))?;
    let sender = text(payload, "senderId").and_then(eliza_domain::validate_uuid)?;
    Some(Outgoing {
        channel: ChannelId::parse(channel).ok()?,
        server: MessageServerId::parse(server).ok()?,
        sender: sender.to_string(),
        text: text(payload, "message")?,
        payload,
    })
}

/// 1.7.2's stored metadata: the client's, plus display name, socket id, server and attachments.
fn stored_metadata(out: &Outgoing<'_>, socket: &Socket) -> Map<String, Value> {
    let mut metadata = match out.payload.get("metadata") {
        Some(Value::Object(metadata)) => metadata.clone(),
        _ => Map::new(),
    };
    let name = text(out.payload, "senderName").unwrap_or("User");
    metadata.insert("user_display_name".into(), json!(name));
    metadata.insert("socket_id".into(), json!(socket.id()));
    metadata.insert("messageServerId".into(), json!(out.server));
    if let Some(attachments) = out.payload.get("attachments").filter(|a| !a.is_null()) {
        metadata.insert("attachments".into(), attachments.clone());
    }
    metadata
}

impl ElizaEvents {
    pub(super) async fn send(&self, socket: &Socket, payload: &Value) {
        let Some(out) = read(payload) else {
            return message_error(socket, INVALID_SEND);
        };
        let metadata = stored_metadata(&out, socket);
        let auto = AutoCreate {
            author: &out.sender,
            server: out.server,
            metadata: Some(&metadata),
            target: text(out.payload, "targetUserId"),
            created_by: "socketio_auto_creation",
        };
        let store = self.context.store.as_ref();
        let channel = match find_or_auto_create(store, out.channel, auto).await {
            Ok(channel) => channel,
            Err(err) => return message_error(socket, &err.message),
        };
        let client_id = text(out.payload, "messageId").map(str::to_owned);
        let message = NewMessage {
            id: client_message_id(out.channel, &out.sender, client_id.as_deref()),
            channel_id: out.channel,
            message_server_id: out.server,
            author_id: out.sender.clone(),
            content: out.text.to_owned(),
            raw_message: Value::Object(out.payload.clone()),
            source_type: text(out.payload, "source")
                .unwrap_or("socketio_client")
                .to_owned(),
            source_id: client_id.clone(),
            in_reply_to: None,
            metadata: Some(Value::Object(metadata)),
        };
        let origin = MessageOrigin::Socket {
            socket_id: socket.id().to_owned(),
            client_message_id: client_id.clone(),
        };
        let post = Post {
            message,
            origin: origin.clone(),
            author_display_name: text(out.payload, "senderName").map(str::to_owned),
        };
        // Store and announce, answer the sender (its copy, then the ack), and only then wake the
        // agents, so the sender never sees a reply before its own message.
        let messaging = &self.context.messaging;
        let posted = match messaging.store_and_announce_in(channel, post).await {
            Ok(posted) => posted,
            Err(err) => {
                tracing::warn!(%err, "socket message not stored");
                return message_error(socket, "Failed to process message");
            }
        };
        let event = BusEvent::NewMessage {
            message: Box::new(posted.message.clone()),
            origin,
        };
        if let Some(copy) =
            room_emit(&event, &self.context.config.media).and_then(|emit| emit.sender_copy)
        {
            emit(socket, "messageBroadcast", copy);
        }
        emit(
            socket,
            "messageAck",
            json!({
                "clientMessageId": client_id,
                "messageId": posted.message.id,
                "status": "received_by_server_and_processing",
                "channelId": out.channel,
                "roomId": out.channel,
            }),
        );
        if !posted.repeated
            && let Err(err) = messaging.dispatch_posted(&posted).await
        {
            tracing::warn!(%err, "socket message not handed to agents");
        }
    }
}
