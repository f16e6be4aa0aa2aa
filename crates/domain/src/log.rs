//! Agent logs (`logs`) and the run summaries built from them.

use crate::ids::{AgentId, EntityId, LogId, RoomId};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// One log row. 1.7.2 has no agent column (so a shared database mixes agents); we store it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentLog {
    pub id: LogId,
    pub agent_id: AgentId,
    pub created_at: DateTime<Utc>,
    pub entity_id: EntityId,
    pub room_id: RoomId,
    /// `useModel:TEXT_LARGE`, `action`, `evaluator`, `run_event`, …
    pub log_type: String,
    pub body: Value,
}

/// Filters for `GET /api/agents/:id/logs`, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogQuery {
    pub agent_id: Option<AgentId>,
    pub room_id: Option<RoomId>,
    pub log_type: Option<String>,
    /// Leaves out the rows whose `type` equals one of these, or whose `body.modelType` contains one, both
    /// case-insensitively (`excludeTypes`). Applied before `limit`/`offset`, so pages stay full. Empty
    /// values are ignored.
    pub exclude_types: Vec<String>,
    pub limit: u32,
    pub offset: u32,
}

/// The most rows [`crate::store::LogStore::list_run_logs`] returns (1.7.2 reads the newest 5,000 logs).
pub const RUN_LOGS_MAX: u32 = 5_000;

/// Where a run stands, from the `status` of its `run_event` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Started,
    Completed,
    Timeout,
    Error,
}

impl RunStatus {
    pub fn parse(text: &str) -> Option<RunStatus> {
        match text {
            "started" => Some(RunStatus::Started),
            "completed" => Some(RunStatus::Completed),
            "timeout" => Some(RunStatus::Timeout),
            "error" => Some(RunStatus::Error),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Started => "started",
            RunStatus::Completed => "completed",
            RunStatus::Timeout => "timeout",
            RunStatus::Error => "error",
        }
    }
}

/// Filters for `GET /api/agents/:id/runs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunQuery {
    pub agent_id: AgentId,
    pub room_id: Option<RoomId>,
    /// Only runs in this status (`None` = all).
    pub status: Option<RunStatus>,
    /// Only `run_event` rows created in `[from, to]` are read (as 1.7.2).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Runs on the page (0: none, but still the total).
    pub limit: u32,
}

/// How many rows of each kind belong to a run (see [`RunCounts::tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunCounts {
    pub actions: u64,
    pub model_calls: u64,
    pub errors: u64,
    pub evaluators: u64,
}

impl RunCounts {
    /// Counts one row that belongs to the run (its `body.runId` or `body.parentRunId` is the run's id):
    /// `action` rows are actions, and errors when `body.result.success` is `false`; `useModel:*` rows
    /// are model calls; `evaluator` rows are evaluators; `embedding_event` rows with `body.status`
    /// `"failed"` are errors. Unlike 1.7.2, an action's `promptCount` is not added to the model calls
    /// (those prompts already have their own `useModel:*` rows).
    pub fn tally(&mut self, log_type: &str, body: &Value) {
        match log_type {
            "action" => {
                self.actions += 1;
                if body.pointer("/result/success") == Some(&Value::Bool(false)) {
                    self.errors += 1;
                }
            }
            "evaluator" => self.evaluators += 1,
            "embedding_event" if body.get("status").and_then(Value::as_str) == Some("failed") => {
                self.errors += 1;
            }
            other if other.starts_with("useModel:") => self.model_calls += 1,
            _ => {}
        }
    }

    /// A run that ended with status `error` is one more error (1.7.2 does not count it).
    pub fn with_status(mut self, status: RunStatus) -> RunCounts {
        if status == RunStatus::Error {
            self.errors += 1;
        }
        self
    }
}

/// One run as its `run_event` rows describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: String,
    /// The status of the latest ending row (`completed`, `timeout`, `error`), else `started`.
    pub status: RunStatus,
    /// The earliest `started` row.
    pub started_at: Option<DateTime<Utc>>,
    /// The latest ending row.
    pub ended_at: Option<DateTime<Utc>>,
    /// `body.messageId` of the run's rows.
    pub message_id: Option<String>,
    pub room_id: Option<RoomId>,
    pub entity_id: Option<EntityId>,
    /// `body.metadata` when it is an object, else `{}`.
    pub metadata: Value,
    /// Already including the ended-with-error rule of [`RunCounts::with_status`].
    pub counts: RunCounts,
}

/// A page of runs, newest start first (runs with no `started` row in the window last), and how many
/// runs match in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunPage {
    pub runs: Vec<RunSummary>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn run_status_round_trips() {
        for status in [
            RunStatus::Started,
            RunStatus::Completed,
            RunStatus::Timeout,
            RunStatus::Error,
        ] {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RunStatus::parse("all"), None);
        assert_eq!(RunStatus::parse("Completed"), None);
    }

    #[test]
    fn tally_counts_each_kind_and_its_failures() {
        let mut counts = RunCounts::default();
        counts.tally("action", &json!({"result": {"success": true}}));
        counts.tally("action", &json!({"result": {"success": false}}));
        counts.tally("action", &json!({"result": {"success": "false"}}));
        counts.tally("useModel:TEXT_LARGE", &json!({}));
        counts.tally("useModel:TEXT_EMBEDDING", &json!({}));
        counts.tally("evaluator", &json!({}));
        counts.tally("embedding_event", &json!({"status": "failed"}));
        counts.tally("embedding_event", &json!({"status": "completed"}));
        counts.tally("run_event", &json!({"status": "error"}));
        counts.tally("action_event", &json!({}));
        assert_eq!(
            counts,
            RunCounts {
                actions: 3,
                model_calls: 2,
                errors: 2,
                evaluators: 1
            }
        );
        assert_eq!(counts.with_status(RunStatus::Error).errors, 3);
        assert_eq!(counts.with_status(RunStatus::Timeout).errors, 2);
    }
}
