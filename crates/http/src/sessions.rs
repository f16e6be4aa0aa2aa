//! Session registry for `/api/messaging/sessions` (API spec §2.3.4). On a single node the
//! sessions live in process memory, as in 1.7.2; in a cluster they live in the shared database so
//! every node serves them. Their channels and messages live in the store either way.
//!
//! Every rule that depends on the clock takes `now` as an argument, so the expiry and renewal
//! rules are tested with chosen instants instead of sleeping.
//!
//! Expiry rules (1.7.2, with two of its slips fixed, see [`expiration`]):
//! - the base time is `lastActivity` with `autoRenew`, else `createdAt`; expiry = base + timeout;
//! - capped at `createdAt + maxDuration`;
//! - renewals stop once `maxDuration` has elapsed since creation.

use crate::messaging::render::iso;
use chrono::{DateTime, TimeDelta, Utc};
use eliza_domain::records::{
    Edit, MemoryRecords, RecordKind, RecordOrder, RecordStore, SharedRecord, edit_record,
};
use eliza_domain::{AgentId, ChannelId, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use uuid::Uuid;

/// Longest message content, in UTF-16 code units (JavaScript's `length`).
pub const MAX_CONTENT_LENGTH: usize = 4000;
/// Largest metadata, as the length of its JSON text.
pub const MAX_METADATA_SIZE: usize = 10 * 1024;

/// How many sessions may be held at once. 1.7.2 has no bound; a client creating sessions faster
/// than they expire (up to two days each) would otherwise grow the registry without end.
pub const MAX_SESSIONS: usize = 10_000;

/// Upper bound for any minute value turned into a duration (keeps date arithmetic far from overflow).
const MINUTES_CAP: f64 = 1_000_000.0;

/// Session timeouts (`SESSION_*` environment variables), in minutes.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// `SESSION_DEFAULT_TIMEOUT_MINUTES`: 30, range 1–10080.
    pub default_timeout_minutes: u32,
    /// `SESSION_MIN_TIMEOUT_MINUTES`: 5, range 1–60.
    pub min_timeout_minutes: u32,
    /// `SESSION_MAX_TIMEOUT_MINUTES`: 1440, range 60–10080.
    pub max_timeout_minutes: u32,
    /// `SESSION_MAX_DURATION_MINUTES`: 720, range 60–20160.
    pub max_duration_minutes: u32,
    /// `SESSION_WARNING_THRESHOLD_MINUTES`: 5, range 1–60.
    pub warning_threshold_minutes: u32,
    /// `SESSION_CLEANUP_INTERVAL_MINUTES`: 5, range 1–60. Expired sessions are also dropped
    /// whenever they are looked at.
    pub cleanup_interval_minutes: u32,
    /// How many sessions may live at once ([`MAX_SESSIONS`]; not a 1.7.2 setting).
    pub max_sessions: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            default_timeout_minutes: 30,
            min_timeout_minutes: 5,
            max_timeout_minutes: 1440,
            max_duration_minutes: 720,
            warning_threshold_minutes: 5,
            cleanup_interval_minutes: 5,
            max_sessions: MAX_SESSIONS,
        }
    }
}

impl SessionConfig {
    /// The `SESSION_*` variables read through `lookup`, as 1.7.2 reads them: `parseInt`, an
    /// unreadable value keeps the default, an out-of-range one is clamped into its range.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> SessionConfig {
        let defaults = SessionConfig::default();
        let read = |name: &str, fallback: u32, min: u32, max: u32| -> u32 {
            let value = safe_parse_int(
                lookup(name).as_deref(),
                i64::from(fallback),
                Some(i64::from(min)),
                Some(i64::from(max)),
            );
            u32::try_from(value).unwrap_or(fallback)
        };
        SessionConfig {
            default_timeout_minutes: read(
                "SESSION_DEFAULT_TIMEOUT_MINUTES",
                defaults.default_timeout_minutes,
                1,
                10080,
            ),
            min_timeout_minutes: read(
                "SESSION_MIN_TIMEOUT_MINUTES",
                defaults.min_timeout_minutes,
                1,
                60,
            ),
            max_timeout_minutes: read(
                "SESSION_MAX_TIMEOUT_MINUTES",
                defaults.max_timeout_minutes,
                60,
                10080,
            ),
            max_duration_minutes: read(
                "SESSION_MAX_DURATION_MINUTES",
                defaults.max_duration_minutes,
                60,
                20160,
            ),
            warning_threshold_minutes: read(
                "SESSION_WARNING_THRESHOLD_MINUTES",
                defaults.warning_threshold_minutes,
                1,
                60,
            ),
            cleanup_interval_minutes: read(
                "SESSION_CLEANUP_INTERVAL_MINUTES",
                defaults.cleanup_interval_minutes,
                1,
                60,
            ),
            max_sessions: defaults.max_sessions,
        }
    }

    fn min_timeout(&self) -> f64 {
        f64::from(self.min_timeout_minutes)
    }

    fn max_timeout(&self) -> f64 {
        f64::from(self.max_timeout_minutes)
    }

    /// The timeout configuration of a session nobody configured.
    pub fn defaults(&self) -> TimeoutConfig {
        TimeoutConfig {
            timeout_minutes: f64::from(self.default_timeout_minutes),
            auto_renew: true,
            max_duration_minutes: f64::from(self.max_duration_minutes),
            warning_threshold_minutes: f64::from(self.warning_threshold_minutes),
        }
    }

    /// The defaults with an agent's own settings applied (1.7.2 `getAgentTimeoutConfig`).
    pub fn agent_defaults(&self, settings: &AgentSessionSettings) -> TimeoutConfig {
        let mut config = self.defaults();
        let max_timeout = i64::from(self.max_timeout_minutes);
        let min_timeout = i64::from(self.min_timeout_minutes);
        if let Some(text) = settings.timeout_minutes.as_deref() {
            config.timeout_minutes = safe_parse_int(
                Some(text),
                i64::from(self.default_timeout_minutes),
                Some(min_timeout),
                Some(max_timeout),
            ) as f64;
        }
        if let Some(auto_renew) = settings.auto_renew {
            config.auto_renew = auto_renew;
        }
        if let Some(text) = settings.max_duration_minutes.as_deref() {
            config.max_duration_minutes = safe_parse_int(
                Some(text),
                i64::from(self.max_duration_minutes),
                Some(min_timeout),
                Some(max_timeout * 2),
            ) as f64;
        }
        if let Some(text) = settings.warning_threshold_minutes.as_deref() {
            config.warning_threshold_minutes = safe_parse_int(
                Some(text),
                i64::from(self.warning_threshold_minutes),
                Some(1),
                Some(max_timeout),
            ) as f64;
        }
        config
    }

    /// Applies a client's timeout request over `base` (1.7.2 `mergeTimeoutConfigs`): the timeout
    /// is clamped to [MIN, MAX], the maximum duration to [timeout, 2×MAX], the warning threshold
    /// to at least one minute; an unreadable number falls back to the server default.
    pub fn merge(&self, base: TimeoutConfig, request: &TimeoutRequest) -> TimeoutConfig {
        let mut merged = base;
        if let Some(timeout) = request.timeout_minutes {
            merged.timeout_minutes = if timeout.is_finite() {
                timeout.min(self.max_timeout()).max(self.min_timeout())
            } else {
                f64::from(self.default_timeout_minutes)
            };
        }
        if let Some(auto_renew) = request.auto_renew {
            merged.auto_renew = auto_renew;
        }
        if let Some(duration) = request.max_duration_minutes {
            merged.max_duration_minutes = if duration.is_finite() {
                duration
                    .min(self.max_timeout() * 2.0)
                    .max(merged.timeout_minutes)
            } else {
                f64::from(self.max_duration_minutes)
            };
        }
        if let Some(threshold) = request.warning_threshold_minutes {
            // 1.7.2 has no upper bound here; the longest possible session is a sane one.
            merged.warning_threshold_minutes = if threshold.is_finite() {
                threshold.min(self.max_timeout() * 2.0).max(1.0)
            } else {
                f64::from(self.warning_threshold_minutes)
            };
        }
        merged
    }

    /// `PATCH …/timeout` refuses a readable timeout outside [MIN, MAX] (creation clamps instead).
    pub fn check_timeout(&self, request: &TimeoutRequest) -> Result<(), String> {
        match request.timeout_minutes {
            Some(timeout)
                if timeout.is_finite()
                    && (timeout < self.min_timeout() || timeout > self.max_timeout()) =>
            {
                Err(format!(
                    "Timeout must be between {} and {} minutes",
                    self.min_timeout_minutes, self.max_timeout_minutes
                ))
            }
            _ => Ok(()),
        }
    }
}

/// An agent's own session settings (`SESSION_TIMEOUT_MINUTES`, `SESSION_AUTO_RENEW`,
/// `SESSION_MAX_DURATION_MINUTES`, `SESSION_WARNING_THRESHOLD_MINUTES`), as read from its
/// character the way 1.7.2's `getSetting` looks: `secrets`, then `settings`, then `settings.secrets`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentSessionSettings {
    pub timeout_minutes: Option<String>,
    pub auto_renew: Option<bool>,
    pub max_duration_minutes: Option<String>,
    pub warning_threshold_minutes: Option<String>,
}

impl AgentSessionSettings {
    /// Reads the settings from a character's `settings` and `secrets`; `decrypt` opens encrypted
    /// secret values (and returns anything else unchanged).
    pub fn from_character(
        settings: &Map<String, Value>,
        secrets: &Map<String, Value>,
        decrypt: impl Fn(&str) -> String,
    ) -> AgentSessionSettings {
        let nested = settings.get("secrets").and_then(Value::as_object);
        let setting = |key: &str| -> Option<String> {
            [Some(secrets), Some(settings), nested]
                .into_iter()
                .flatten()
                .find_map(|source| setting_text(source.get(key)?, &decrypt))
        };
        AgentSessionSettings {
            timeout_minutes: setting("SESSION_TIMEOUT_MINUTES"),
            // 1.7.2 compares with `=== "true"` after `getSetting` turned "true" into `true`, so
            // the setting never worked there; here the usual spellings of yes and no do.
            auto_renew: setting("SESSION_AUTO_RENEW").and_then(|text| {
                match text.trim().to_ascii_lowercase().as_str() {
                    "true" | "1" | "yes" | "on" => Some(true),
                    "false" | "0" | "no" | "off" => Some(false),
                    _ => None,
                }
            }),
            max_duration_minutes: setting("SESSION_MAX_DURATION_MINUTES"),
            warning_threshold_minutes: setting("SESSION_WARNING_THRESHOLD_MINUTES"),
        }
    }
}

/// A setting as text; JavaScript-falsy values (`""`, `0`, `false`, `null`) count as unset,
/// except `false`, which is kept so that `SESSION_AUTO_RENEW: false` works.
fn setting_text(value: &Value, decrypt: &impl Fn(&str) -> String) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(decrypt(text)),
        Value::Number(number) if number.as_f64() != Some(0.0) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// A session's timeouts, in minutes (fractions allowed, as in 1.7.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeoutConfig {
    pub timeout_minutes: f64,
    pub auto_renew: bool,
    pub max_duration_minutes: f64,
    pub warning_threshold_minutes: f64,
}

impl TimeoutConfig {
    pub fn to_json(&self) -> Value {
        json!({
            "timeoutMinutes": js_number(self.timeout_minutes),
            "autoRenew": self.auto_renew,
            "maxDurationMinutes": js_number(self.max_duration_minutes),
            "warningThresholdMinutes": js_number(self.warning_threshold_minutes),
        })
    }

    fn timeout(&self) -> TimeDelta {
        minutes(self.timeout_minutes)
    }

    fn max_duration(&self) -> TimeDelta {
        minutes(self.max_duration_minutes)
    }

    fn warning_threshold(&self) -> TimeDelta {
        minutes(self.warning_threshold_minutes)
    }
}

/// Timeout fields a client sent (`timeoutConfig` of a creation, the body of `PATCH …/timeout`).
/// A number that was sent but cannot be read is kept as NaN: the merge then uses the default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeoutRequest {
    pub timeout_minutes: Option<f64>,
    pub auto_renew: Option<bool>,
    pub max_duration_minutes: Option<f64>,
    pub warning_threshold_minutes: Option<f64>,
}

impl TimeoutRequest {
    /// Reads the fields: numbers or numeric strings, `autoRenew` a boolean; `null` counts as
    /// absent. Anything else is refused with 1.7.2's reason text.
    pub fn from_json(value: &Value) -> Result<TimeoutRequest, String> {
        const FORMAT: &str = "Invalid timeout configuration format";
        let object = value.as_object().ok_or_else(|| FORMAT.to_owned())?;
        let number = |key: &str| -> Result<Option<f64>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(number)) => Ok(Some(number.as_f64().unwrap_or(f64::NAN))),
                Some(Value::String(text)) => Ok(Some(js_number_from_text(text))),
                Some(_) => Err(FORMAT.to_owned()),
            }
        };
        let auto_renew = match object.get("autoRenew") {
            None | Some(Value::Null) => None,
            Some(Value::Bool(flag)) => Some(*flag),
            Some(_) => return Err(FORMAT.to_owned()),
        };
        Ok(TimeoutRequest {
            timeout_minutes: number("timeoutMinutes")?,
            auto_renew,
            max_duration_minutes: number("maxDurationMinutes")?,
            warning_threshold_minutes: number("warningThresholdMinutes")?,
        })
    }
}

/// One live session (serialized only to be stored; the API's shapes are built by hand).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub id: Uuid,
    pub agent_id: AgentId,
    pub channel_id: ChannelId,
    pub user_id: String,
    pub metadata: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub timeout: TimeoutConfig,
    pub renewal_count: u64,
}

/// What a sent message did to its session (`sessionStatus`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStatus {
    pub expires_at: DateTime<Utc>,
    pub renewal_count: u64,
    pub was_renewed: bool,
    pub is_near_expiration: bool,
}

impl SessionStatus {
    pub fn to_json(&self) -> Value {
        json!({
            "expiresAt": iso(&self.expires_at),
            "renewalCount": self.renewal_count,
            "wasRenewed": self.was_renewed,
            "isNearExpiration": self.is_near_expiration,
        })
    }
}

impl Session {
    /// A session created at `now`.
    pub fn new(
        agent_id: AgentId,
        channel_id: ChannelId,
        user_id: String,
        metadata: Map<String, Value>,
        timeout: TimeoutConfig,
        now: DateTime<Utc>,
    ) -> Session {
        Session::with_id(
            Uuid::new_v4(),
            agent_id,
            channel_id,
            user_id,
            metadata,
            timeout,
            now,
        )
    }

    pub fn with_id(
        id: Uuid,
        agent_id: AgentId,
        channel_id: ChannelId,
        user_id: String,
        metadata: Map<String, Value>,
        timeout: TimeoutConfig,
        now: DateTime<Utc>,
    ) -> Session {
        Session {
            id,
            agent_id,
            channel_id,
            user_id,
            metadata,
            created_at: now,
            last_activity: now,
            expires_at: expiration(now, now, &timeout),
            timeout,
            renewal_count: 0,
        }
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }

    /// Milliseconds until expiry, never negative.
    pub fn time_remaining(&self, now: DateTime<Utc>) -> i64 {
        (self.expires_at - now).num_milliseconds().max(0)
    }

    /// Within the warning threshold of its expiry, and not expired yet.
    pub fn is_near_expiration(&self, now: DateTime<Utc>) -> bool {
        let remaining = self.expires_at - now;
        remaining > TimeDelta::zero() && remaining <= self.timeout.warning_threshold()
    }

    fn max_duration_reached(&self, now: DateTime<Utc>) -> bool {
        now - self.created_at >= self.timeout.max_duration()
    }

    /// 1.7.2 `renewSession`: with `autoRenew` (or `force`), and while the maximum duration has
    /// not elapsed, the activity moves to `now`, the count goes up and the expiry is recomputed.
    fn renew(&mut self, now: DateTime<Utc>, force: bool) -> bool {
        if !(self.timeout.auto_renew || force) || self.max_duration_reached(now) {
            return false;
        }
        self.last_activity = now;
        self.renewal_count += 1;
        let mut timeout = self.timeout;
        timeout.auto_renew = true;
        self.expires_at = expiration(self.created_at, self.last_activity, &timeout);
        true
    }

    /// The body of `POST /sessions` (201).
    pub fn created_json(&self) -> Value {
        json!({
            "sessionId": self.id,
            "channelId": self.channel_id,
            "agentId": self.agent_id,
            "userId": self.user_id,
            "createdAt": iso(&self.created_at),
            "metadata": self.metadata,
            "expiresAt": iso(&self.expires_at),
            "timeoutConfig": self.timeout.to_json(),
        })
    }

    /// SessionInfo as `GET /sessions/:id` and friends answer it.
    pub fn info_json(&self, now: DateTime<Utc>) -> Value {
        json!({
            "sessionId": self.id,
            "channelId": self.channel_id,
            "agentId": self.agent_id,
            "userId": self.user_id,
            "createdAt": iso(&self.created_at),
            "lastActivity": iso(&self.last_activity),
            "metadata": self.metadata,
            "expiresAt": iso(&self.expires_at),
            "timeoutConfig": self.timeout.to_json(),
            "renewalCount": self.renewal_count,
            "timeRemaining": self.time_remaining(now),
            "isNearExpiration": self.is_near_expiration(now),
        })
    }
}

/// When a session expires: base (last activity with `autoRenew`, else creation) + timeout, but
/// never after creation + maximum duration.
///
/// 1.7.2 decides the cap with `Date.now()` instead of the base, which lets a session without
/// `autoRenew` outlive its timeout after a `PATCH …/timeout`; the plain minimum here is what its
/// documentation describes.
pub fn expiration(
    created_at: DateTime<Utc>,
    last_activity: DateTime<Utc>,
    timeout: &TimeoutConfig,
) -> DateTime<Utc> {
    let base = if timeout.auto_renew {
        last_activity
    } else {
        created_at
    };
    let expiry = base + timeout.timeout();
    let cap = created_at + timeout.max_duration();
    expiry.min(cap)
}

/// Why a session could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionFault {
    /// Unknown (or not even a UUID).
    NotFound,
    /// It expired at this instant; it is gone now.
    Expired(DateTime<Utc>),
    /// A forced renewal after the maximum duration.
    MaxDurationReached {
        max_duration_minutes: f64,
        created_at: DateTime<Utc>,
        since_creation_ms: i64,
    },
    /// The registry holds [`SessionConfig::max_sessions`] live sessions already.
    LimitReached { max_sessions: usize },
    /// Where the sessions are kept failed (the shared database in a cluster).
    Store(StoreError),
}

impl From<StoreError> for SessionFault {
    fn from(err: StoreError) -> Self {
        SessionFault::Store(err)
    }
}

/// What `GET /sessions` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionList {
    /// The live sessions, oldest first.
    pub sessions: Vec<Session>,
    /// Sessions that had expired without being dropped yet (they are dropped now).
    pub expired: usize,
}

/// What `GET /sessions/health` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionHealth {
    pub active: usize,
    pub expiring_soon: usize,
}

/// The tag every session record carries (sessions are not filtered by tag).
const SESSION_TAG: &str = "live";

/// The live sessions, kept in a [`RecordStore`]: in process memory on a single node (as in
/// 1.7.2), in the shared database in a cluster so that any node serves any session.
pub struct SessionRegistry {
    config: SessionConfig,
    records: Arc<dyn RecordStore>,
    /// When this process last dropped the expired sessions.
    last_cleanup: Mutex<Option<DateTime<Utc>>>,
}

impl fmt::Debug for SessionRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionRegistry")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SessionRegistry {
    /// Sessions in this process's memory.
    pub fn new(config: &SessionConfig) -> Self {
        SessionRegistry::with_records(config, Arc::new(MemoryRecords::new()))
    }

    /// Sessions in `records` (the shared database for a cluster).
    pub fn with_records(config: &SessionConfig, records: Arc<dyn RecordStore>) -> Self {
        SessionRegistry {
            config: config.clone(),
            records,
            last_cleanup: Mutex::new(None),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How often a background task should call [`SessionRegistry::prune`] (optional: expired
    /// sessions are dropped on access anyway).
    pub fn cleanup_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(u64::from(self.config.cleanup_interval_minutes.max(1)) * 60)
    }

    /// Drops the expired sessions once per cleanup interval.
    async fn cleanup_if_due(&self, now: DateTime<Utc>) -> Result<(), SessionFault> {
        let interval = minutes(f64::from(self.config.cleanup_interval_minutes.max(1)));
        let due = {
            let last = self
                .last_cleanup
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            last.is_none_or(|last| now - last >= interval || now < last)
        };
        if due {
            self.prune(now).await?;
        }
        Ok(())
    }

    /// How many sessions are held (live or not yet dropped).
    pub async fn count(&self) -> Result<usize, SessionFault> {
        Ok(self.records.total_records(RecordKind::Session).await?)
    }

    /// Adds a session, unless [`SessionConfig::max_sessions`] live sessions are held already.
    /// In a cluster two nodes creating the last free sessions at once may both succeed: the
    /// limit bounds memory and abuse, it is not an exact quota.
    pub async fn insert(&self, session: Session, now: DateTime<Utc>) -> Result<(), SessionFault> {
        let max_sessions = self.config.max_sessions;
        self.cleanup_if_due(now).await?;
        if self.count().await? >= max_sessions {
            // Full: the expired sessions make room first, however recent the last cleanup.
            self.prune(now).await?;
            if self.count().await? >= max_sessions {
                return Err(SessionFault::LimitReached { max_sessions });
            }
        }
        self.records
            .insert_record(&session_record(&session)?)
            .await?;
        Ok(())
    }

    /// Looks a live session up and lets `f` work on it, writing it back when `f` changed it;
    /// an expired one is dropped. `f` runs again when another writer changed the session
    /// meanwhile.
    async fn update<T>(
        &self,
        id: &str,
        now: DateTime<Utc>,
        f: impl Fn(&mut Session, &SessionConfig) -> Result<T, SessionFault>,
    ) -> Result<T, SessionFault> {
        let id = Uuid::parse_str(id).map_err(|_| SessionFault::NotFound)?;
        // The session asked for first: an expired one answers "expired" even when the periodic
        // cleanup is due and would drop it.
        let result = self.update_record(id, now, f).await;
        self.cleanup_if_due(now).await?;
        result
    }

    async fn update_record<T>(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        f: impl Fn(&mut Session, &SessionConfig) -> Result<T, SessionFault>,
    ) -> Result<T, SessionFault> {
        type Decision<T> = Result<Edit<Result<T, SessionFault>>, SessionFault>;
        let edited = edit_record(
            self.records.as_ref(),
            RecordKind::Session,
            id,
            |current| -> Decision<T> {
                let before = session_of(current.ok_or(SessionFault::NotFound)?)?;
                if before.is_expired(now) {
                    return Ok(Edit::Delete(Err(SessionFault::Expired(before.expires_at))));
                }
                let mut session = before.clone();
                let value = f(&mut session, &self.config)?;
                Ok(if session == before {
                    Edit::Keep(Ok(value))
                } else {
                    Edit::Write(session_record(&session)?, Ok(value))
                })
            },
        );
        edited.await?
    }

    /// A live session.
    pub async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Session, SessionFault> {
        self.update(id, now, |session, _| Ok(session.clone())).await
    }

    /// `POST …/renew`: renews even without `autoRenew`, unless the maximum duration has elapsed.
    pub async fn renew(&self, id: &str, now: DateTime<Utc>) -> Result<Session, SessionFault> {
        self.update(id, now, |session, _| {
            if session.renew(now, true) {
                Ok(session.clone())
            } else {
                Err(SessionFault::MaxDurationReached {
                    max_duration_minutes: session.timeout.max_duration_minutes,
                    created_at: session.created_at,
                    since_creation_ms: (now - session.created_at).num_milliseconds(),
                })
            }
        })
        .await
    }

    /// `POST …/heartbeat`: activity now, and a renewal with `autoRenew`.
    pub async fn heartbeat(&self, id: &str, now: DateTime<Utc>) -> Result<Session, SessionFault> {
        self.update(id, now, |session, _| {
            session.last_activity = now;
            session.renew(now, false);
            Ok(session.clone())
        })
        .await
    }

    /// A message is sent in the session: renew it (with `autoRenew`) or just record the activity.
    pub async fn record_message(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(Session, SessionStatus), SessionFault> {
        self.update(id, now, |session, _| {
            let was_renewed = session.renew(now, false);
            if !session.timeout.auto_renew {
                session.last_activity = now;
            }
            // 1.7.2 reports `isNearExpiration` after marking the warning as sent, so it always
            // said false; this reports what the name says.
            let status = SessionStatus {
                expires_at: session.expires_at,
                renewal_count: session.renewal_count,
                was_renewed,
                is_near_expiration: session.is_near_expiration(now),
            };
            Ok((session.clone(), status))
        })
        .await
    }

    /// `PATCH …/timeout`: applies the request over the session's current configuration and
    /// recomputes the expiry. (1.7.2 merged it over the defaults, so changing one field silently
    /// reset the others.)
    pub async fn update_timeout(
        &self,
        id: &str,
        request: &TimeoutRequest,
        now: DateTime<Utc>,
    ) -> Result<Session, SessionFault> {
        self.update(id, now, |session, config| {
            session.timeout = config.merge(session.timeout, request);
            session.expires_at =
                expiration(session.created_at, session.last_activity, &session.timeout);
            Ok(session.clone())
        })
        .await
    }

    /// Forgets a session (expired or not); returns whether it existed.
    pub async fn remove(&self, id: &str) -> Result<bool, SessionFault> {
        let Ok(id) = Uuid::parse_str(id) else {
            return Ok(false);
        };
        Ok(self.records.delete_record(RecordKind::Session, id).await?)
    }

    /// Drops every expired session; returns how many.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<usize, SessionFault> {
        *self
            .last_cleanup
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(now);
        let dropped = self.records.purge_records(RecordKind::Session, now).await?;
        Ok(usize::try_from(dropped).unwrap_or(usize::MAX))
    }

    /// Every held session, oldest first.
    async fn all(&self) -> Result<Vec<Session>, SessionFault> {
        let records = self.records.list_records(
            RecordKind::Session,
            None,
            RecordOrder::OldestFirst,
            i64::MAX,
        );
        records.await?.iter().map(session_of).collect()
    }

    /// The live sessions, oldest first; the expired ones are counted and dropped.
    pub async fn list(&self, now: DateTime<Utc>) -> Result<SessionList, SessionFault> {
        let expired = self.prune(now).await?;
        let mut sessions = self.all().await?;
        // Expired between the purge and the read (or purged by another node's clock).
        sessions.retain(|session| !session.is_expired(now));
        Ok(SessionList { sessions, expired })
    }

    /// Counts for the health route; the expired sessions are dropped.
    pub async fn health(&self, now: DateTime<Utc>) -> Result<SessionHealth, SessionFault> {
        self.prune(now).await?;
        let sessions = self.all().await?;
        let live = sessions.iter().filter(|session| !session.is_expired(now));
        Ok(SessionHealth {
            active: live.clone().count(),
            expiring_soon: live
                .filter(|session| session.is_near_expiration(now))
                .count(),
        })
    }
}

/// The stored form of a session.
fn session_record(session: &Session) -> Result<SharedRecord, SessionFault> {
    let body = serde_json::to_value(session)
        .map_err(|err| StoreError::Invalid(format!("session not storable: {err}")))?;
    Ok(SharedRecord {
        kind: RecordKind::Session,
        id: session.id,
        tag: SESSION_TAG.to_owned(),
        body,
        version: 1,
        created_at: session.created_at,
        purge_at: session.expires_at,
    })
}

fn session_of(record: &SharedRecord) -> Result<Session, SessionFault> {
    Session::deserialize(&record.body).map_err(|err| {
        SessionFault::Store(StoreError::Backend(format!(
            "stored session {} is not readable: {err}",
            record.id
        )))
    })
}

/// Drops expired sessions every cleanup interval (`SESSION_CLEANUP_INTERVAL_MINUTES`) until the
/// registry is gone. Optional: lookups, lists and the health route drop expired sessions anyway;
/// this only bounds the memory of sessions nobody asks about again.
///
/// Spawn it with `tokio::spawn(run_cleanup(Arc::clone(&state.sessions)))`; it holds only a weak
/// reference, so it stops at the first tick after the registry is dropped.
pub async fn run_cleanup(registry: Arc<SessionRegistry>) {
    let period = registry.cleanup_interval();
    let weak = Arc::downgrade(&registry);
    drop(registry);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let Some(registry) = weak.upgrade() else {
            return;
        };
        match registry.prune(Utc::now()).await {
            Ok(0) => {}
            Ok(dropped) => tracing::debug!(dropped, "expired sessions cleaned up"),
            Err(fault) => tracing::warn!(?fault, "expired sessions could not be cleaned up"),
        }
    }
}

/// Minutes as a duration, rounded to the millisecond; negative and absurd values are bounded.
fn minutes(value: f64) -> TimeDelta {
    let value = if value.is_finite() {
        value.clamp(0.0, MINUTES_CAP)
    } else {
        0.0
    };
    TimeDelta::milliseconds((value * 60_000.0).round() as i64)
}

/// A number as JavaScript prints it: whole numbers without a fraction (`1`, not `1.0`).
pub(crate) fn js_number(value: f64) -> Value {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9_007_199_254_740_992.0 {
        json!(value as i64)
    } else {
        json!(value)
    }
}

/// JavaScript's `Number(text)` for decimal text: blank is 0, unreadable is NaN.
fn js_number_from_text(text: &str) -> f64 {
    let text = text.trim();
    if text.is_empty() {
        return 0.0;
    }
    let lowered = text.to_ascii_lowercase();
    // Rust also reads "inf" and "nan"; JavaScript only reads "Infinity".
    if lowered.contains("inf") || lowered.contains("nan") {
        return match text {
            "Infinity" | "+Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            _ => f64::NAN,
        };
    }
    text.parse::<f64>().unwrap_or(f64::NAN)
}

/// JavaScript's `parseInt(text, 10)`: leading blanks, a sign, then as many digits as there are.
pub fn js_parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let magnitude = rest[..digits].parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

/// 1.7.2 `safeParseInt`: absent or blank → `fallback`; unreadable → `fallback`; else clamped.
pub fn safe_parse_int(
    value: Option<&str>,
    fallback: i64,
    min: Option<i64>,
    max: Option<i64>,
) -> i64 {
    let Some(parsed) = value.filter(|text| !text.is_empty()).and_then(js_parse_int) else {
        return fallback;
    };
    let mut result = parsed;
    if let Some(min) = min
        && result < min
    {
        result = min;
    }
    if let Some(max) = max
        && result > max
    {
        result = max;
    }
    result
}

/// JavaScript's `string.length`: UTF-16 code units.
pub fn js_length(text: &str) -> usize {
    text.encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_763_895_600_000).unwrap() + TimeDelta::minutes(minute)
    }

    fn config() -> SessionConfig {
        SessionConfig::default()
    }

    fn timeout(minutes: f64, auto_renew: bool, max: f64) -> TimeoutConfig {
        TimeoutConfig {
            timeout_minutes: minutes,
            auto_renew,
            max_duration_minutes: max,
            warning_threshold_minutes: 5.0,
        }
    }

    async fn session_with(
        registry: &SessionRegistry,
        timeout: TimeoutConfig,
        now: DateTime<Utc>,
    ) -> String {
        let session = Session::new(
            AgentId::new_random(),
            ChannelId::new_random(),
            Uuid::new_v4().to_string(),
            Map::new(),
            timeout,
            now,
        );
        let id = session.id.to_string();
        registry.insert(session, now).await.unwrap();
        id
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn config_defaults_are_the_elizaos_ones() {
        let config = SessionConfig::from_lookup(|_| None);
        assert_eq!(config, SessionConfig::default());
        assert_eq!(config.default_timeout_minutes, 30);
        assert_eq!(config.min_timeout_minutes, 5);
        assert_eq!(config.max_timeout_minutes, 1440);
        assert_eq!(config.max_duration_minutes, 720);
        assert_eq!(config.warning_threshold_minutes, 5);
        assert_eq!(config.cleanup_interval_minutes, 5);
    }

    #[test]
    fn config_values_are_parsed_like_parse_int_and_clamped() {
        let config = SessionConfig::from_lookup(lookup(&[
            ("SESSION_DEFAULT_TIMEOUT_MINUTES", "45min"),
            ("SESSION_MIN_TIMEOUT_MINUTES", "0"),
            ("SESSION_MAX_TIMEOUT_MINUTES", "99999"),
            ("SESSION_MAX_DURATION_MINUTES", "lots"),
            ("SESSION_WARNING_THRESHOLD_MINUTES", "-4"),
            ("SESSION_CLEANUP_INTERVAL_MINUTES", ""),
        ]));
        assert_eq!(config.default_timeout_minutes, 45);
        assert_eq!(config.min_timeout_minutes, 1);
        assert_eq!(config.max_timeout_minutes, 10080);
        assert_eq!(config.max_duration_minutes, 720);
        assert_eq!(config.warning_threshold_minutes, 1);
        assert_eq!(config.cleanup_interval_minutes, 5);
    }

    #[test]
    fn parse_int_reads_a_leading_integer() {
        assert_eq!(js_parse_int("42"), Some(42));
        assert_eq!(js_parse_int("  -7px"), Some(-7));
        assert_eq!(js_parse_int("+3.9"), Some(3));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(""), None);
        assert_eq!(js_parse_int("-"), None);
        assert_eq!(js_parse_int("99999999999999999999999"), Some(i64::MAX));
        assert_eq!(safe_parse_int(Some("0"), 50, Some(1), Some(100)), 1);
        assert_eq!(safe_parse_int(Some("500"), 50, Some(1), Some(100)), 100);
        assert_eq!(safe_parse_int(Some("ten"), 50, Some(1), Some(100)), 50);
        assert_eq!(safe_parse_int(None, 50, Some(1), Some(100)), 50);
    }

    #[test]
    fn requests_are_clamped_into_the_configured_ranges() {
        let config = config();
        let base = config.defaults();
        let merged = config.merge(
            base,
            &TimeoutRequest {
                timeout_minutes: Some(1.0),
                auto_renew: Some(false),
                max_duration_minutes: Some(99_999.0),
                warning_threshold_minutes: Some(0.0),
            },
        );
        assert_eq!(merged, timeout(5.0, false, 2880.0).with_warning(1.0));

        let merged = config.merge(
            base,
            &TimeoutRequest {
                timeout_minutes: Some(99_999.0),
                max_duration_minutes: Some(60.0),
                ..TimeoutRequest::default()
            },
        );
        // The maximum duration is never shorter than the timeout.
        assert_eq!(merged.timeout_minutes, 1440.0);
        assert_eq!(merged.max_duration_minutes, 1440.0);

        let merged = config.merge(
            timeout(60.0, true, 600.0),
            &TimeoutRequest {
                timeout_minutes: Some(f64::NAN),
                warning_threshold_minutes: Some(f64::NAN),
                ..TimeoutRequest::default()
            },
        );
        assert_eq!(
            merged.timeout_minutes, 30.0,
            "unreadable: the server default"
        );
        assert_eq!(
            merged.max_duration_minutes, 600.0,
            "untouched fields are kept"
        );
        assert_eq!(merged.warning_threshold_minutes, 5.0);
    }

    impl TimeoutConfig {
        fn with_warning(mut self, minutes: f64) -> Self {
            self.warning_threshold_minutes = minutes;
            self
        }
    }

    #[test]
    fn timeout_requests_accept_numbers_and_numeric_strings() {
        let request = TimeoutRequest::from_json(&json!({
            "timeoutMinutes": "15", "autoRenew": false, "maxDurationMinutes": 90,
            "warningThresholdMinutes": null
        }))
        .unwrap();
        assert_eq!(
            request,
            TimeoutRequest {
                timeout_minutes: Some(15.0),
                auto_renew: Some(false),
                max_duration_minutes: Some(90.0),
                warning_threshold_minutes: None,
            }
        );
        let unreadable = TimeoutRequest::from_json(&json!({"timeoutMinutes": "soon"})).unwrap();
        assert!(unreadable.timeout_minutes.unwrap().is_nan());
        for bad in [
            json!({"timeoutMinutes": true}),
            json!({"autoRenew": "yes"}),
            json!({"maxDurationMinutes": [1]}),
            json!("30"),
            json!([]),
        ] {
            assert_eq!(
                TimeoutRequest::from_json(&bad),
                Err("Invalid timeout configuration format".to_owned()),
                "{bad}"
            );
        }
    }

    #[test]
    fn patch_refuses_a_timeout_out_of_range() {
        let config = config();
        let request = |minutes: f64| TimeoutRequest {
            timeout_minutes: Some(minutes),
            ..TimeoutRequest::default()
        };
        assert_eq!(
            config.check_timeout(&request(2.0)),
            Err("Timeout must be between 5 and 1440 minutes".to_owned())
        );
        assert!(config.check_timeout(&request(2000.0)).is_err());
        assert!(config.check_timeout(&request(5.0)).is_ok());
        assert!(config.check_timeout(&request(f64::NAN)).is_ok());
        assert!(config.check_timeout(&TimeoutRequest::default()).is_ok());
    }

    #[test]
    fn agent_settings_override_the_defaults() {
        let settings = json!({
            "SESSION_TIMEOUT_MINUTES": "2",
            "SESSION_MAX_DURATION_MINUTES": 100000,
            "secrets": {"SESSION_WARNING_THRESHOLD_MINUTES": "enc:7"}
        });
        let secrets = json!({"SESSION_AUTO_RENEW": false});
        let read = AgentSessionSettings::from_character(
            settings.as_object().unwrap(),
            secrets.as_object().unwrap(),
            |text| text.trim_start_matches("enc:").to_owned(),
        );
        assert_eq!(read.auto_renew, Some(false));
        let config = config().agent_defaults(&read);
        assert_eq!(config.timeout_minutes, 5.0, "clamped to the minimum");
        assert_eq!(
            config.max_duration_minutes, 2880.0,
            "clamped to 2 × maximum"
        );
        assert_eq!(config.warning_threshold_minutes, 7.0, "decrypted secret");
        assert!(!config.auto_renew);

        let none = AgentSessionSettings::from_character(&Map::new(), &Map::new(), str::to_owned);
        assert_eq!(
            SessionConfig::default().agent_defaults(&none),
            config_defaults()
        );
    }

    fn config_defaults() -> TimeoutConfig {
        timeout(30.0, true, 720.0)
    }

    #[test]
    fn timeout_config_prints_whole_minutes_as_integers() {
        assert_eq!(
            timeout(30.0, true, 7.5).to_json(),
            json!({"timeoutMinutes": 30, "autoRenew": true, "maxDurationMinutes": 7.5,
                "warningThresholdMinutes": 5})
        );
    }

    #[test]
    fn expiry_is_base_plus_timeout_capped_at_the_maximum_duration() {
        let config = timeout(30.0, true, 60.0);
        assert_eq!(expiration(at(0), at(0), &config), at(30));
        assert_eq!(expiration(at(0), at(20), &config), at(50));
        assert_eq!(expiration(at(0), at(45), &config), at(60), "capped");
        let fixed = timeout(30.0, false, 60.0);
        assert_eq!(
            expiration(at(0), at(20), &fixed),
            at(30),
            "base is creation"
        );
    }

    #[actix_web::test]
    async fn an_expired_session_answers_expired_once_then_is_gone() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, true, 720.0), at(0)).await;
        assert!(registry.get(&id, at(29)).await.is_ok());
        assert_eq!(
            registry.get(&id, at(30)).await,
            Err(SessionFault::Expired(at(30)))
        );
        assert_eq!(registry.get(&id, at(31)).await, Err(SessionFault::NotFound));
        assert!((registry.count().await.unwrap() == 0));
        assert_eq!(
            registry.get("not-a-uuid", at(0)).await,
            Err(SessionFault::NotFound)
        );
    }

    #[actix_web::test]
    async fn messages_renew_an_auto_renewing_session() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, true, 720.0), at(0)).await;
        let (session, status) = registry.record_message(&id, at(20)).await.unwrap();
        assert!(status.was_renewed);
        assert_eq!(status.renewal_count, 1);
        assert_eq!(session.last_activity, at(20));
        assert_eq!(status.expires_at, at(50));
        assert!(!status.is_near_expiration);
        // Still alive past the first timeout thanks to the renewal.
        assert!(registry.get(&id, at(45)).await.is_ok());
        assert!(registry.get(&id, at(50)).await.is_err());
    }

    #[actix_web::test]
    async fn messages_do_not_renew_without_auto_renew() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, false, 720.0), at(0)).await;
        let (session, status) = registry.record_message(&id, at(26)).await.unwrap();
        assert!(!status.was_renewed);
        assert_eq!(status.renewal_count, 0);
        assert_eq!(session.last_activity, at(26));
        assert_eq!(status.expires_at, at(30));
        assert!(status.is_near_expiration, "4 minutes left, threshold 5");
    }

    #[actix_web::test]
    async fn renewals_stop_at_the_maximum_duration() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, true, 60.0), at(0)).await;
        let (_, status) = registry.record_message(&id, at(29)).await.unwrap();
        assert_eq!(status.expires_at, at(59), "29 + 30, under the cap");
        let (_, status) = registry.record_message(&id, at(50)).await.unwrap();
        assert!(status.was_renewed);
        assert_eq!(status.expires_at, at(60), "capped at creation + 60");
        let err = registry.renew(&id, at(60)).await.unwrap_err();
        assert_eq!(err, SessionFault::Expired(at(60)));
    }

    #[actix_web::test]
    async fn a_forced_renewal_works_without_auto_renew_but_not_past_the_maximum() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, false, 60.0), at(0)).await;
        let renewed = registry.renew(&id, at(10)).await.unwrap();
        assert_eq!(renewed.renewal_count, 1);
        assert_eq!(renewed.last_activity, at(10));
        assert_eq!(renewed.expires_at, at(40));
        assert!(!renewed.timeout.auto_renew, "the setting is left as it was");

        // A session whose maximum duration is shorter than its life so far cannot be renewed.
        let id = session_with(&registry, timeout(30.0, true, 30.0), at(0)).await;
        registry
            .update_timeout(
                &id,
                &TimeoutRequest {
                    max_duration_minutes: Some(1.0),
                    ..TimeoutRequest::default()
                },
                at(0),
            )
            .await
            .unwrap();
        // The maximum duration is clamped to the timeout (30): at 30 it has expired.
        assert!(matches!(
            registry.renew(&id, at(30)).await,
            Err(SessionFault::Expired(_))
        ));

        let mut stuck = Session::new(
            AgentId::new_random(),
            ChannelId::new_random(),
            "u".into(),
            Map::new(),
            timeout(30.0, true, 30.0),
            at(0),
        );
        stuck.expires_at = at(100);
        let id = stuck.id.to_string();
        registry.insert(stuck, at(0)).await.unwrap();
        assert_eq!(
            registry.renew(&id, at(40)).await,
            Err(SessionFault::MaxDurationReached {
                max_duration_minutes: 30.0,
                created_at: at(0),
                since_creation_ms: 40 * 60_000,
            })
        );
    }

    #[actix_web::test]
    async fn heartbeats_record_activity_and_renew_when_allowed() {
        let registry = SessionRegistry::new(&config());
        let renewing = session_with(&registry, timeout(30.0, true, 720.0), at(0)).await;
        let fixed = session_with(&registry, timeout(30.0, false, 720.0), at(0)).await;
        let session = registry.heartbeat(&renewing, at(10)).await.unwrap();
        assert_eq!((session.renewal_count, session.expires_at), (1, at(40)));
        let session = registry.heartbeat(&fixed, at(10)).await.unwrap();
        assert_eq!(session.last_activity, at(10));
        assert_eq!((session.renewal_count, session.expires_at), (0, at(30)));
    }

    #[actix_web::test]
    async fn timeout_updates_keep_the_other_fields_and_recompute_the_expiry() {
        let registry = SessionRegistry::new(&config());
        let id = session_with(&registry, timeout(30.0, true, 720.0), at(0)).await;
        registry.record_message(&id, at(10)).await.unwrap();
        let session = registry
            .update_timeout(
                &id,
                &TimeoutRequest {
                    timeout_minutes: Some(60.0),
                    ..TimeoutRequest::default()
                },
                at(15),
            )
            .await
            .unwrap();
        assert_eq!(session.timeout, timeout(60.0, true, 720.0));
        assert_eq!(session.expires_at, at(70), "last activity 10 + 60");
        let session = registry
            .update_timeout(
                &id,
                &TimeoutRequest {
                    auto_renew: Some(false),
                    ..TimeoutRequest::default()
                },
                at(16),
            )
            .await
            .unwrap();
        assert_eq!(session.timeout.timeout_minutes, 60.0);
        assert_eq!(session.expires_at, at(60), "creation 0 + 60");
    }

    #[test]
    fn session_info_reports_time_left_and_the_warning() {
        let session = Session::new(
            AgentId::new_random(),
            ChannelId::new_random(),
            "u".into(),
            Map::new(),
            timeout(30.0, true, 720.0),
            at(0),
        );
        let info = session.info_json(at(10));
        assert_eq!(info["timeRemaining"], json!(20 * 60_000));
        assert_eq!(info["isNearExpiration"], json!(false));
        assert_eq!(info["createdAt"], json!(iso(&at(0))));
        assert_eq!(info["renewalCount"], json!(0));
        let info = session.info_json(at(26));
        assert_eq!(info["isNearExpiration"], json!(true));
        let info = session.info_json(at(31));
        assert_eq!(info["timeRemaining"], json!(0));
        assert_eq!(info["isNearExpiration"], json!(false));
        let created = session.created_json();
        assert!(created.get("lastActivity").is_none());
        assert_eq!(created["expiresAt"], json!(iso(&at(30))));
    }

    #[actix_web::test]
    async fn list_and_health_count_and_drop_expired_sessions() {
        let registry = SessionRegistry::new(&config());
        let short = session_with(&registry, timeout(10.0, true, 720.0), at(0)).await;
        let long = session_with(&registry, timeout(60.0, true, 720.0), at(1)).await;
        let near = session_with(&registry, timeout(20.0, true, 720.0), at(2)).await;
        let health = registry.health(at(18)).await.unwrap();
        assert_eq!(
            health,
            SessionHealth {
                active: 2,
                expiring_soon: 1
            }
        );
        assert!(registry.get(&short, at(18)).await.is_err());

        let list = registry.list(at(30)).await.unwrap();
        assert_eq!(list.expired, 1, "the 20-minute one");
        let ids: Vec<String> = list.sessions.iter().map(|s| s.id.to_string()).collect();
        assert_eq!(ids, std::slice::from_ref(&long));
        assert_eq!(registry.count().await.unwrap(), 1);
        assert!(registry.remove(&long).await.unwrap());
        assert!(!registry.remove(&long).await.unwrap());
        assert!(!registry.remove(&near).await.unwrap());
        assert!(!registry.remove("nope").await.unwrap());
    }

    #[actix_web::test]
    async fn inserting_cleans_up_once_per_interval() {
        let registry = SessionRegistry::new(&config());
        session_with(&registry, timeout(5.0, true, 720.0), at(0)).await;
        session_with(&registry, timeout(30.0, true, 720.0), at(3)).await;
        assert_eq!(
            registry.count().await.unwrap(),
            2,
            "the first insert cleaned up at 0, the next not due"
        );
        session_with(&registry, timeout(30.0, true, 720.0), at(6)).await;
        assert_eq!(
            registry.count().await.unwrap(),
            2,
            "due again at 6: the 5-minute session is dropped"
        );
    }

    #[actix_web::test]
    async fn a_full_registry_refuses_new_sessions_until_one_expires() {
        let registry = SessionRegistry::new(&SessionConfig {
            max_sessions: 2,
            ..config()
        });
        session_with(&registry, timeout(10.0, true, 720.0), at(0)).await;
        let long = session_with(&registry, timeout(60.0, true, 720.0), at(1)).await;
        let extra = |now| {
            let session = Session::new(
                AgentId::new_random(),
                ChannelId::new_random(),
                "u".into(),
                Map::new(),
                timeout(30.0, true, 720.0),
                now,
            );
            registry.insert(session, now)
        };
        assert_eq!(
            extra(at(2)).await,
            Err(SessionFault::LimitReached { max_sessions: 2 })
        );
        assert_eq!(registry.count().await.unwrap(), 2);
        // At 10 the first session has expired: it makes room, though the cleanup is not due.
        assert_eq!(extra(at(10)).await, Ok(()));
        assert_eq!(registry.count().await.unwrap(), 2);
        assert!(registry.get(&long, at(10)).await.is_ok());
        assert_eq!(
            SessionConfig::from_lookup(|_| None).max_sessions,
            MAX_SESSIONS
        );
    }

    #[actix_web::test]
    async fn the_cleanup_task_drops_expired_sessions() {
        let registry = std::sync::Arc::new(SessionRegistry::new(&config()));
        let past = Utc::now() - TimeDelta::hours(1);
        session_with(&registry, timeout(5.0, true, 720.0), past).await;
        assert_eq!(registry.count().await.unwrap(), 1);
        let task = tokio::spawn(run_cleanup(std::sync::Arc::clone(&registry)));
        for _ in 0..100 {
            if registry.count().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            (registry.count().await.unwrap() == 0),
            "the first tick cleans up at once"
        );
        task.abort();
    }

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(js_length("abc"), 3);
        assert_eq!(js_length("é"), 1);
        assert_eq!(js_length("😀"), 2);
    }

    #[test]
    fn numeric_strings_follow_javascript_number() {
        assert_eq!(js_number_from_text(" 12.5 "), 12.5);
        assert_eq!(js_number_from_text(""), 0.0);
        assert!(js_number_from_text("inf").is_nan());
        assert_eq!(js_number_from_text("Infinity"), f64::INFINITY);
        assert!(js_number_from_text("12abc").is_nan());
    }
}
