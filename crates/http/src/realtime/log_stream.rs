//! `subscribe_logs`, `unsubscribe_logs`, `update_log_filters`: the server log as `log_stream`
//! events, for admin sockets only, with message bodies redacted.

use super::{ElizaEvents, Task, emit};
use crate::logs::{LogEntry, level_value};
use eliza_socketio::Socket;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::broadcast::error::RecvError;

/// A socket's log subscription: its filters and the forwarding task.
pub(super) struct LogStream {
    filters: Arc<Mutex<Map<String, Value>>>,
    _task: Task,
}

fn passes(filters: &Map<String, Value>, entry: &LogEntry) -> bool {
    let level_ok = match filters.get("level").and_then(Value::as_str) {
        None | Some("all") => true,
        Some(name) => entry.level >= level_value(name).unwrap_or(70),
    };
    let agent_ok = match filters.get("agentName").and_then(Value::as_str) {
        None | Some("all") => true,
        Some(name) => entry.agent_name.as_deref() == Some(name),
    };
    level_ok && agent_ok
}

/// Message bodies never leave the server through the log stream: field values named like
/// message text (`content=`, `text=`, `message=`) are replaced.
pub fn redact(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(at) = ["content=", "text=", "message="]
        .iter()
        .filter_map(|key| rest.find(key).map(|i| (i, key.len())))
        .min()
    {
        let (index, key_len) = at;
        out.push_str(&rest[..index + key_len]);
        out.push_str("[redacted]");
        let value = &rest[index + key_len..];
        let end = if let Some(quoted) = value.strip_prefix('"') {
            quoted.find('"').map_or(value.len(), |close| close + 2)
        } else {
            value.find(char::is_whitespace).unwrap_or(value.len())
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}

async fn forward(
    socket: Socket,
    mut entries: tokio::sync::broadcast::Receiver<Arc<LogEntry>>,
    filters: Arc<Mutex<Map<String, Value>>>,
) {
    loop {
        let entry = match entries.recv().await {
            Ok(entry) => entry,
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => break,
        };
        let wanted = passes(
            &filters.lock().unwrap_or_else(PoisonError::into_inner),
            &entry,
        );
        if !wanted {
            continue;
        }
        let payload = json!({"type": "log_entry", "payload": {
            "time": entry.time, "level": entry.level, "msg": redact(&entry.msg)}});
        if socket.emit("log_stream", payload).is_err() {
            break;
        }
    }
}

impl ElizaEvents {
    pub(super) fn subscribe_logs(&self, socket: &Socket) {
        let admin = self
            .with_socket(socket, |state| state.admin)
            .unwrap_or(false);
        if !admin {
            return emit(
                socket,
                "log_subscription_confirmed",
                json!({"subscribed": false, "message": "The log stream needs the API key or a loopback connection"}),
            );
        }
        let filters = Arc::new(Mutex::new(Map::new()));
        let task = Task(tokio::spawn(forward(
            socket.clone(),
            self.context.logs.subscribe(),
            Arc::clone(&filters),
        )));
        let stream = LogStream {
            filters,
            _task: task,
        };
        self.with_socket(socket, |state| state.log_stream = Some(stream));
        emit(
            socket,
            "log_subscription_confirmed",
            json!({"subscribed": true, "message": "Successfully subscribed to log stream"}),
        );
    }

    pub(super) fn unsubscribe_logs(&self, socket: &Socket) {
        self.with_socket(socket, |state| state.log_stream = None);
        emit(
            socket,
            "log_subscription_confirmed",
            json!({"subscribed": false, "message": "Successfully unsubscribed from log stream"}),
        );
    }

    pub(super) fn update_log_filters(&self, socket: &Socket, changes: &Value) {
        let filters = self
            .with_socket(socket, |state| {
                state.log_stream.as_ref().map(|s| Arc::clone(&s.filters))
            })
            .flatten();
        let Some(filters) = filters else {
            return emit(
                socket,
                "log_filters_updated",
                json!({"success": false, "error": "Not subscribed to log stream"}),
            );
        };
        let mut filters = filters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Value::Object(changes) = changes {
            for key in ["agentName", "level"] {
                if let Some(value) = changes.get(key) {
                    filters.insert(key.to_owned(), value.clone());
                }
            }
        }
        let current = Value::Object(filters.clone());
        drop(filters);
        emit(
            socket,
            "log_filters_updated",
            json!({"success": true, "filters": current}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_bodies_are_redacted() {
        assert_eq!(
            redact(r#"stored content="hello there" id=1"#),
            "stored content=[redacted] id=1"
        );
        assert_eq!(redact("text=secret rest"), "text=[redacted] rest");
        assert_eq!(redact("no body here"), "no body here");
        assert_eq!(
            redact(r#"message="a" content=b"#),
            "message=[redacted] content=[redacted]"
        );
    }

    #[test]
    fn filters_compare_levels_and_agent_names() {
        let entry = LogEntry {
            agent_name: Some("Eliza".into()),
            ..LogEntry::now(30, "x")
        };
        let filters = |value: Value| value.as_object().cloned().unwrap();
        assert!(passes(&filters(json!({})), &entry));
        assert!(passes(&filters(json!({"level": "info"})), &entry));
        assert!(!passes(&filters(json!({"level": "error"})), &entry));
        assert!(!passes(&filters(json!({"level": "nonsense"})), &entry));
        assert!(passes(&filters(json!({"agentName": "Eliza"})), &entry));
        assert!(!passes(&filters(json!({"agentName": "Bob"})), &entry));
    }
}
