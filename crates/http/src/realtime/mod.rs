//! The elizaOS 1.7.2 Socket.IO events (API spec §3) on the `eliza-socketio` protocol crate:
//! handshake auth, room joins fed from the bus, SEND_MESSAGE through the messaging service, and
//! the server log stream.

mod join;
mod log_stream;
mod send;

use crate::logs::LogBuffer;
use crate::messaging::Messaging;
use crate::middleware::{has_valid_api_key, key_matches};
use crate::state::{CorsOrigins, HttpConfig};
use async_trait::async_trait;
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::{ChannelId, Store};
use eliza_socketio::{Ack, DisconnectReason, Handler, Handshake, Socket, SocketIo};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::task::JoinHandle;

/// What the elizaOS events need from the application.
#[derive(Clone)]
pub struct RealtimeContext {
    pub store: Arc<dyn Store>,
    pub agents: Arc<dyn AgentLifecycle>,
    pub messaging: Messaging,
    pub config: Arc<HttpConfig>,
    pub logs: LogBuffer,
}

/// Builds the Socket.IO server with the elizaOS events.
pub fn socket_io(context: RealtimeContext) -> SocketIo {
    let config = context.config.socket_io.clone();
    SocketIo::new(config, Arc::new(ElizaEvents::new(context)))
}

/// A task that stops when dropped (a channel feed, the log stream).
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the server keeps per connected socket.
struct SocketState {
    entity_id: String,
    /// May see the server log stream.
    admin: bool,
    /// The channels it joined (each also a Socket.IO room of that name).
    channels: HashSet<ChannelId>,
    log_stream: Option<log_stream::LogStream>,
}

/// The [`Handler`] of the elizaOS events.
pub struct ElizaEvents {
    context: RealtimeContext,
    sockets: Mutex<HashMap<String, SocketState>>,
    /// One bus feed per channel that has sockets here, shared by all of them.
    feeds: Mutex<HashMap<ChannelId, join::Feed>>,
}

/// The Socket.IO message types elizaOS clients send in the `message` envelope.
const ROOM_JOINING: u64 = 1;
const SEND_MESSAGE: u64 = 2;

impl ElizaEvents {
    fn new(context: RealtimeContext) -> Self {
        ElizaEvents {
            context,
            sockets: Mutex::default(),
            feeds: Mutex::default(),
        }
    }

    fn sockets(&self) -> MutexGuard<'_, HashMap<String, SocketState>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_socket<T>(&self, socket: &Socket, f: impl FnOnce(&mut SocketState) -> T) -> Option<T> {
        self.sockets().get_mut(socket.id()).map(f)
    }

    fn entity_of(&self, socket: &Socket) -> Option<String> {
        self.with_socket(socket, |state| state.entity_id.clone())
    }
}

fn emit(socket: &Socket, event: &str, payload: Value) {
    // A full queue already closed the session; nothing else to do here.
    if let Err(err) = socket.emit(event, payload) {
        tracing::debug!(socket = socket.id(), event, ?err, "emit dropped");
    }
}

fn message_error(socket: &Socket, error: &str) {
    emit(socket, "messageError", json!({ "error": error }));
}

fn origin_allowed(origins: &CorsOrigins, handshake: &Handshake) -> bool {
    let Some(origin) = handshake
        .headers
        .get("origin")
        .and_then(|v| v.to_str().ok())
    else {
        return true; // not a browser
    };
    match origins {
        CorsOrigins::Reflect => true,
        CorsOrigins::List(list) => list
            .iter()
            .any(|allowed| allowed == origin || allowed == "*"),
    }
}

/// The API key from the handshake auth payload or the request headers.
fn has_api_key(auth: Option<&Value>, handshake: &Handshake, token: &str) -> bool {
    let from_auth = auth
        .and_then(|auth| auth.get("apiKey"))
        .and_then(Value::as_str)
        .is_some_and(|key| key_matches(key, token));
    from_auth || has_valid_api_key(&handshake.headers, token)
}

/// Who may read the server log: with a key configured, sockets that presented it (the only ones
/// let in); without one, only local sockets.
fn is_admin(config: &HttpConfig, handshake: &Handshake) -> bool {
    config.auth_token.is_some()
        || handshake
            .peer_addr
            .is_some_and(|peer| peer.ip().is_loopback())
}

#[async_trait]
impl Handler for ElizaEvents {
    async fn on_connect(
        &self,
        socket: &Socket,
        auth: Option<Value>,
        handshake: &Handshake,
    ) -> Result<(), String> {
        let config = &self.context.config;
        if !origin_allowed(&config.cors_origins, handshake) {
            return Err("Origin not allowed".to_owned());
        }
        // Every configured key must be presented: 1.7.2's socket key and the REST token.
        let keys = [&config.socket_api_key, &config.auth_token];
        let required = keys.iter().filter_map(|key| key.as_deref());
        let mut presented_all = true;
        for key in required {
            presented_all &= has_api_key(auth.as_ref(), handshake, key);
        }
        if !presented_all {
            return Err("Invalid or missing API Key".to_owned());
        }
        let admin = is_admin(config, handshake);
        let entity_id = auth
            .as_ref()
            .and_then(|auth| auth.get("entityId"))
            .and_then(Value::as_str)
            .and_then(eliza_domain::validate_uuid)
            .ok_or_else(|| "Valid entityId required".to_owned())?;
        let state = SocketState {
            entity_id: entity_id.to_string(),
            admin,
            channels: HashSet::new(),
            log_stream: None,
        };
        self.sockets().insert(socket.id().to_owned(), state);
        Ok(())
    }

    async fn on_connected(&self, socket: &Socket) {
        let Some(entity_id) = self.entity_of(socket) else {
            return;
        };
        let now = chrono::Utc::now().timestamp_millis();
        emit(
            socket,
            "authenticated",
            json!({"entityId": entity_id, "timestamp": now}),
        );
        emit(
            socket,
            "connection_established",
            json!({"message": "Connected to Eliza Socket.IO server", "socketId": socket.id()}),
        );
    }

    async fn on_event(&self, socket: &Socket, event: String, args: Vec<Value>, ack: Option<Ack>) {
        let first = args.into_iter().next().unwrap_or(Value::Null);
        match event.as_str() {
            "1" => self.join(socket, &first).await,
            "2" => self.send(socket, &first).await,
            "message" => self.envelope(socket, &first).await,
            "subscribe_logs" => self.subscribe_logs(socket),
            "unsubscribe_logs" => self.unsubscribe_logs(socket),
            "update_log_filters" => self.update_log_filters(socket, &first),
            other => tracing::debug!(event = other, "unknown socket event ignored"),
        }
        if let Some(ack) = ack {
            // Clients that ask for an acknowledgement get one once the event is handled.
            let _ = ack.send(vec![json!({"received": true})]);
        }
    }

    async fn on_disconnect(&self, socket: &Socket, _reason: DisconnectReason) {
        // Dropping the state stops its log stream; its channels lose a member.
        let state = self.sockets().remove(socket.id());
        for channel in state.map(|state| state.channels).unwrap_or_default() {
            self.leave_feed(channel);
        }
    }
}

impl ElizaEvents {
    /// `message` with `{type, payload}`: numeric types 1 (join) and 2 (send); others are ignored.
    async fn envelope(&self, socket: &Socket, message: &Value) {
        let payload = message.get("payload").cloned().unwrap_or(Value::Null);
        match message.get("type").and_then(Value::as_u64) {
            Some(ROOM_JOINING) => self.join(socket, &payload).await,
            Some(SEND_MESSAGE) => self.send(socket, &payload).await,
            other => tracing::debug!(?other, "socket message type ignored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(peer: &str, origin: Option<&str>) -> Handshake {
        let mut headers = actix_web::http::header::HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(actix_web::http::header::ORIGIN, origin.parse().unwrap());
        }
        Handshake {
            headers,
            query: HashMap::new(),
            peer_addr: Some(peer.parse().unwrap()),
        }
    }

    #[test]
    fn only_local_sockets_or_key_holders_are_admins() {
        let open = HttpConfig::default();
        assert!(is_admin(&open, &handshake("127.0.0.1:5000", None)));
        assert!(!is_admin(&open, &handshake("10.0.0.7:5000", None)));
        let keyed = HttpConfig {
            auth_token: Some("k".into()),
            ..HttpConfig::default()
        };
        assert!(is_admin(&keyed, &handshake("10.0.0.7:5000", None)));
    }

    #[test]
    fn origins_are_checked_against_the_cors_list() {
        let list = CorsOrigins::List(vec!["http://ok.example".into()]);
        assert!(origin_allowed(
            &list,
            &handshake("10.0.0.7:1", Some("http://ok.example"))
        ));
        assert!(!origin_allowed(
            &list,
            &handshake("10.0.0.7:1", Some("http://evil.example"))
        ));
        assert!(origin_allowed(&list, &handshake("10.0.0.7:1", None)));
        assert!(origin_allowed(
            &CorsOrigins::Reflect,
            &handshake("10.0.0.7:1", Some("http://any"))
        ));
    }

    #[test]
    fn keys_come_from_the_auth_payload_or_the_headers() {
        let plain = handshake("127.0.0.1:1", None);
        assert!(has_api_key(Some(&json!({"apiKey": "k"})), &plain, "k"));
        assert!(!has_api_key(Some(&json!({"apiKey": "x"})), &plain, "k"));
        assert!(!has_api_key(None, &plain, "k"));
        let mut with_header = plain;
        with_header.headers.insert(
            actix_web::http::header::HeaderName::from_static("x-api-key"),
            "k".parse().unwrap(),
        );
        assert!(has_api_key(None, &with_header, "k"));
    }
}
