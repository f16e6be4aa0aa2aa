//! The server log ring buffer behind `/api/server/logs`: a bounded in-memory copy of recent
//! `tracing` events, in the pino shape 1.7.2 answers with (`time` ms, numeric `level`, `msg`).
//!
//! The buffer is fed by [`LogLayer`] (add [`LogBuffer::layer`] to the subscriber). The lock is held
//! only to push, copy or clear entries, never across I/O or while formatting.

use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// Entries kept by [`LogBuffer::default`] (1.7.2 keeps only 100).
pub const DEFAULT_CAPACITY: usize = 1000;

/// The pino level names and numbers 1.7.2 reports in `levels` and filters on.
pub const LEVELS: [(&str, u8); 9] = [
    ("fatal", 60),
    ("error", 50),
    ("warn", 40),
    ("info", 30),
    ("log", 29),
    ("progress", 28),
    ("success", 27),
    ("debug", 20),
    ("trace", 10),
];

/// The pino number of a level name (case-insensitive) or of a numeric string naming a known level.
pub fn level_value(name: &str) -> Option<u8> {
    let name = name.trim();
    let number = name.parse::<u8>().ok();
    LEVELS
        .iter()
        .find(|(level, value)| level.eq_ignore_ascii_case(name) || number == Some(*value))
        .map(|(_, value)| *value)
}

/// The pino number of a `tracing` level.
pub fn pino_level(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 50,
        Level::WARN => 40,
        Level::INFO => 30,
        Level::DEBUG => 20,
        Level::TRACE => 10,
    }
}

/// One log line as `/api/server/logs` returns it; the agent keys are omitted when unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    /// Epoch milliseconds.
    pub time: i64,
    /// pino level number.
    pub level: u8,
    pub msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
}

impl LogEntry {
    /// An entry stamped with the current time.
    pub fn now(level: u8, msg: impl Into<String>) -> Self {
        LogEntry {
            time: chrono::Utc::now().timestamp_millis(),
            level,
            msg: msg.into(),
            agent_name: None,
            agent_id: None,
        }
    }
}

/// Which entries a query returns; `None` means "any".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    /// Only entries with `time >= since` (epoch ms).
    pub since: i64,
    /// Exact pino level.
    pub level: Option<u8>,
    pub agent_name: Option<String>,
    pub agent_id: Option<String>,
    /// At most this many entries, the newest ones (returned oldest first).
    pub limit: usize,
}

impl Default for LogFilter {
    fn default() -> Self {
        LogFilter {
            since: i64::MIN,
            level: None,
            agent_name: None,
            agent_id: None,
            limit: usize::MAX,
        }
    }
}

impl LogFilter {
    fn matches(&self, entry: &LogEntry) -> bool {
        entry.time >= self.since
            && self.level.is_none_or(|level| entry.level == level)
            && matches_opt(self.agent_name.as_deref(), entry.agent_name.as_deref())
            && matches_opt(self.agent_id.as_deref(), entry.agent_id.as_deref())
    }
}

fn matches_opt(wanted: Option<&str>, actual: Option<&str>) -> bool {
    wanted.is_none_or(|wanted| actual == Some(wanted))
}

/// The answer to a query: the matching entries and how many the buffer holds in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPage {
    pub logs: Vec<LogEntry>,
    pub total: usize,
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<LogEntry>,
    capacity: usize,
}

/// How far a log-stream listener may fall behind before it skips entries.
const LIVE_CAPACITY: usize = 256;

/// The server log ring buffer. Cheap to clone; clones share the entries.
#[derive(Debug, Clone)]
pub struct LogBuffer {
    ring: Arc<Mutex<Ring>>,
    /// New entries as they come, for the Socket.IO log stream (a lagging listener skips some).
    live: tokio::sync::broadcast::Sender<Arc<LogEntry>>,
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    /// A buffer keeping the newest `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let ring = Ring {
            entries: VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY)),
            capacity,
        };
        LogBuffer {
            ring: Arc::new(Mutex::new(ring)),
            live: tokio::sync::broadcast::channel(LIVE_CAPACITY).0,
        }
    }

    /// Entries pushed from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<LogEntry>> {
        self.live.subscribe()
    }

    /// A `tracing` layer that copies every event it sees into this buffer.
    pub fn layer(&self) -> LogLayer {
        LogLayer {
            buffer: self.clone(),
        }
    }

    // A panic while the lock was held cannot leave the ring inconsistent, so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an entry, dropping the oldest one when full.
    pub fn push(&self, entry: LogEntry) {
        if self.live.receiver_count() > 0 {
            // Nobody listening is the common case: skip the copy then.
            let _ = self.live.send(Arc::new(entry.clone()));
        }
        let mut ring = self.lock();
        if ring.entries.len() >= ring.capacity {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
    }

    /// The newest `filter.limit` matching entries, oldest first, and the buffer's size.
    pub fn query(&self, filter: &LogFilter) -> LogPage {
        let ring = self.lock();
        let mut logs: Vec<LogEntry> = ring
            .entries
            .iter()
            .rev()
            .filter(|entry| filter.matches(entry))
            .take(filter.limit)
            .cloned()
            .collect();
        let total = ring.entries.len();
        drop(ring);
        logs.reverse();
        LogPage { logs, total }
    }

    /// Empties the buffer; returns how many entries it held.
    pub fn clear(&self) -> usize {
        let mut ring = self.lock();
        let cleared = ring.entries.len();
        ring.entries.clear();
        cleared
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }
}

/// The field names that tag a log line with its agent (camelCase as in elizaOS, or snake_case).
fn agent_field(name: &str) -> Option<AgentKey> {
    match name {
        "agentName" | "agent_name" => Some(AgentKey::Name),
        "agentId" | "agent_id" => Some(AgentKey::Id),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum AgentKey {
    Name,
    Id,
}

/// The agent a span (or event) is about, stored in the span's extensions.
#[derive(Debug, Clone, Default)]
struct AgentTags {
    name: Option<String>,
    id: Option<String>,
}

impl AgentTags {
    fn set(&mut self, key: AgentKey, value: String) {
        match key {
            AgentKey::Name => self.name = Some(value),
            AgentKey::Id => self.id = Some(value),
        }
    }

    fn is_empty(&self) -> bool {
        self.name.is_none() && self.id.is_none()
    }

    /// Fills what is still missing from an enclosing span's tags.
    fn inherit(&mut self, outer: &AgentTags) {
        if self.name.is_none() {
            self.name.clone_from(&outer.name);
        }
        if self.id.is_none() {
            self.id.clone_from(&outer.id);
        }
    }
}

/// `?value` of a string prints it quoted; agent tags are stored without the quotes.
fn unquote(text: String) -> String {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => inner.to_owned(),
        None => text,
    }
}

impl Visit for AgentTags {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(key) = agent_field(field.name()) {
            self.set(key, value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if let Some(key) = agent_field(field.name()) {
            self.set(key, unquote(format!("{value:?}")));
        }
    }
}

/// Renders an event as `message key=value …` and picks up its agent tags.
#[derive(Default)]
struct EventText {
    message: String,
    fields: String,
    agent: AgentTags,
}

impl EventText {
    fn add_field(&mut self, name: &str, value: fmt::Arguments<'_>) {
        // `log.*` fields come from the `log` bridge (target, file, line): noise in a log viewer.
        if name.starts_with("log.") {
            return;
        }
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        // Writing into a String cannot fail.
        let _ = write!(self.fields, "{name}={value}");
    }

    fn into_msg(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }
}

impl Visit for EventText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(key) = agent_field(field.name()) {
            self.agent.set(key, value.to_owned());
        } else if field.name() == "message" {
            value.clone_into(&mut self.message);
        } else {
            self.add_field(field.name(), format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if let Some(key) = agent_field(field.name()) {
            self.agent.set(key, unquote(format!("{value:?}")));
        } else if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.add_field(field.name(), format_args!("{value:?}"));
        }
    }
}

/// The `tracing` layer feeding a [`LogBuffer`]; agent tags are inherited from enclosing spans.
#[derive(Debug, Clone)]
pub struct LogLayer {
    buffer: LogBuffer,
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut tags = AgentTags::default();
        attrs.record(&mut tags);
        if let (false, Some(span)) = (tags.is_empty(), ctx.span(id)) {
            span.extensions_mut().insert(tags);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<AgentTags>() {
            Some(tags) => values.record(tags),
            None => {
                let mut tags = AgentTags::default();
                values.record(&mut tags);
                if !tags.is_empty() {
                    extensions.insert(tags);
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = EventText::default();
        event.record(&mut text);
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(outer) = span.extensions().get::<AgentTags>() {
                    text.agent.inherit(outer);
                }
            }
        }
        let agent = std::mem::take(&mut text.agent);
        let mut entry = LogEntry::now(pino_level(event.metadata().level()), text.into_msg());
        entry.agent_name = agent.name;
        entry.agent_id = agent.id;
        self.buffer.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    fn entry(time: i64, level: u8, msg: &str, agent: Option<&str>) -> LogEntry {
        LogEntry {
            time,
            level,
            msg: msg.into(),
            agent_name: agent.map(Into::into),
            agent_id: None,
        }
    }

    #[test]
    fn ring_drops_the_oldest_entries_when_full() {
        let buffer = LogBuffer::new(3);
        for i in 0..5 {
            buffer.push(entry(i, 30, &format!("m{i}"), None));
        }
        let page = buffer.query(&LogFilter::default());
        assert_eq!(page.total, 3);
        assert_eq!(
            page.logs.iter().map(|e| e.msg.as_str()).collect::<Vec<_>>(),
            ["m2", "m3", "m4"]
        );
        buffer.clear();
        assert!(buffer.is_empty());
        assert_eq!(
            LogBuffer::new(0).capacity(),
            1,
            "a zero capacity still keeps the newest entry"
        );
        assert_eq!(LogBuffer::default().capacity(), DEFAULT_CAPACITY);
    }

    #[test]
    fn filters_by_time_level_agent_and_keeps_the_newest_up_to_limit() {
        let buffer = LogBuffer::new(10);
        buffer.push(entry(100, 30, "old", Some("Eliza")));
        buffer.push(entry(200, 50, "err", Some("Eliza")));
        buffer.push(entry(300, 30, "a", Some("Eliza")));
        buffer.push(entry(400, 30, "b", Some("Other")));
        buffer.push(entry(500, 30, "c", Some("Eliza")));
        let msgs = |filter: LogFilter| {
            buffer
                .query(&filter)
                .logs
                .into_iter()
                .map(|e| e.msg)
                .collect::<Vec<_>>()
        };

        assert_eq!(
            msgs(LogFilter {
                since: 200,
                ..LogFilter::default()
            }),
            ["err", "a", "b", "c"]
        );
        assert_eq!(
            msgs(LogFilter {
                level: Some(50),
                ..LogFilter::default()
            }),
            ["err"]
        );
        assert_eq!(
            msgs(LogFilter {
                level: Some(30),
                agent_name: Some("Eliza".into()),
                ..LogFilter::default()
            }),
            ["old", "a", "c"]
        );
        assert_eq!(
            msgs(LogFilter {
                limit: 2,
                ..LogFilter::default()
            }),
            ["b", "c"],
            "newest, oldest first"
        );
        assert_eq!(
            msgs(LogFilter {
                agent_id: Some("x".into()),
                ..LogFilter::default()
            }),
            Vec::<String>::new()
        );
        assert_eq!(
            buffer
                .query(&LogFilter {
                    limit: 1,
                    ..LogFilter::default()
                })
                .total,
            5
        );
    }

    #[test]
    fn level_names_and_numbers() {
        assert_eq!(level_value("warn"), Some(40));
        assert_eq!(level_value("ERROR"), Some(50));
        assert_eq!(level_value("29"), Some(29));
        assert_eq!(level_value("verbose"), None);
        assert_eq!(level_value("31"), None);
        assert_eq!(pino_level(&Level::DEBUG), 20);
    }

    #[test]
    fn the_layer_records_message_fields_level_and_span_agent() {
        let buffer = LogBuffer::new(10);
        let subscriber = tracing_subscriber::registry().with(buffer.layer());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "agent",
                agentName = "Eliza",
                agentId = tracing::field::Empty
            );
            span.record("agentId", "a-1");
            let _guard = span.enter();
            tracing::warn!(count = 3, who = "bob", "hello there");
            tracing::error!(agentName = ?"Override", "own tag wins");
        });
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(buffer.layer()),
            || {
                tracing::debug!(n = 1);
            },
        );
        let logs = buffer.query(&LogFilter::default()).logs;
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[0].level, 40);
        assert_eq!(logs[0].msg, "hello there count=3 who=bob");
        assert_eq!(logs[0].agent_name.as_deref(), Some("Eliza"));
        assert_eq!(logs[0].agent_id.as_deref(), Some("a-1"));
        assert_eq!(logs[1].agent_name.as_deref(), Some("Override"));
        assert_eq!(logs[1].agent_id.as_deref(), Some("a-1"));
        assert_eq!(
            (
                logs[2].level,
                logs[2].msg.as_str(),
                logs[2].agent_name.as_deref()
            ),
            (20, "n=1", None)
        );
        let json = serde_json::to_value(&logs[2]).unwrap_or_default();
        assert_eq!(
            json.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>()),
            Some(vec![
                "time".to_owned(),
                "level".to_owned(),
                "msg".to_owned()
            ])
        );
    }
}
