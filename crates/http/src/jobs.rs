//! In-memory job registry for `/api/messaging/jobs` (API spec §2.3.5).
//!
//! A job is one question to one agent: `pending` while its channel is created, `processing` while
//! the agent is asked, then `completed` (the reply arrived), `failed` or `timeout`. A finished job
//! never changes again, so a reply that arrives after the job timed out is ignored.
//!
//! Like 1.7.2 the registry lives in memory only. It holds at most [`MAX_JOBS`] jobs (the oldest
//! finished jobs make room first) and forgets a finished job [`DEFAULT_RETENTION_MS`] after its
//! expiry (1.7.2's cleanup timer drops them within a minute of their expiry). Every method takes
//! the current time (epoch milliseconds), so the rules are testable without a clock.

use crate::sessions::js_number;
use eliza_domain::{AgentId, ChannelId, MessageId};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use utoipa::ToSchema;
use uuid::Uuid;

/// `MAX_JOBS_IN_MEMORY` of 1.7.2.
pub const MAX_JOBS: usize = 10_000;
/// Longest `content` (characters, counted like JavaScript's `length`).
pub const MAX_CONTENT_LENGTH: usize = 50_000;
/// Longest `metadata` (characters of its JSON text).
pub const MAX_METADATA_SIZE: usize = 10_000;
pub const MIN_TIMEOUT_MS: i64 = 1_000;
pub const MAX_TIMEOUT_MS: i64 = 300_000;
pub const DEFAULT_TIMEOUT_MS: i64 = 30_000;
/// How long a finished job stays readable after its expiry.
pub const DEFAULT_RETENTION_MS: i64 = 60_000;
/// How often creating a job also sweeps the registry.
const SWEEP_EVERY_MS: i64 = 1_000;
/// The `error` of a job whose agent did not answer in time.
pub const TIMEOUT_ERROR: &str = "Job timed out waiting for agent response";

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Pending,
    Processing,
    Completed,
    Failed,
    Timeout,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Pending,
        JobStatus::Processing,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Timeout,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Timeout => "timeout",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// Completed, failed or timed out: the job will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Timeout
        )
    }
}

/// The agent's reply as a job reports it (`result.message`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobReply {
    #[schema(value_type = Uuid)]
    pub id: MessageId,
    pub content: String,
    pub author_id: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// `result` of a completed job.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    pub message: JobReply,
    pub processing_time_ms: i64,
}

/// A job; serializes to the 1.7.2 job object (`jobToResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(rename = "jobId")]
    pub id: Uuid,
    pub status: JobStatus,
    #[schema(value_type = Uuid)]
    pub agent_id: AgentId,
    pub user_id: String,
    pub prompt: String,
    /// Epoch milliseconds.
    pub created_at: i64,
    /// Epoch milliseconds.
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<JobResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The request's `metadata` (`{}` when none was sent).
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// The job's own channel (not part of the 1.7.2 job object).
    #[serde(skip)]
    pub channel_id: ChannelId,
    /// The stored question (not part of the 1.7.2 job object).
    #[serde(skip)]
    pub user_message_id: Option<MessageId>,
}

impl Job {
    /// The job object of the API.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|err| {
            tracing::error!(%err, job = %self.id, "could not render a job");
            json!({"jobId": self.id, "status": self.status.as_str()})
        })
    }

    /// The answer to `POST /jobs`: `{jobId, status, createdAt, expiresAt}`.
    pub fn created_json(&self) -> Value {
        json!({
            "jobId": self.id,
            "status": self.status.as_str(),
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
        })
    }
}

/// What a new job is made of.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: Uuid,
    pub agent_id: AgentId,
    pub user_id: String,
    pub channel_id: ChannelId,
    pub prompt: String,
    pub metadata: Value,
    pub timeout_ms: i64,
}

/// `GET /jobs`: the newest jobs first.
#[derive(Debug, Clone, PartialEq)]
pub struct JobList {
    pub jobs: Vec<Job>,
    /// Every job held, whatever the filter.
    pub total: usize,
}

impl JobList {
    /// `{jobs, total, filtered}`.
    pub fn to_json(&self) -> Value {
        json!({
            "jobs": self.jobs.iter().map(Job::to_json).collect::<Vec<_>>(),
            "total": self.total,
            "filtered": self.jobs.len(),
        })
    }
}

/// `GET /jobs/health`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobHealth {
    pub timestamp: i64,
    pub total_jobs: usize,
    pub status_counts: [(JobStatus, usize); 5],
    pub average_processing_time_ms: i64,
    pub success_rate: f64,
    pub failure_rate: f64,
    pub timeout_rate: f64,
    pub max_jobs: usize,
}

impl JobHealth {
    pub fn count(&self, status: JobStatus) -> usize {
        self.status_counts
            .iter()
            .find(|(counted, _)| *counted == status)
            .map_or(0, |(_, count)| *count)
    }

    /// The 1.7.2 health body.
    pub fn to_json(&self) -> Value {
        let counts: Map<String, Value> = self
            .status_counts
            .iter()
            .map(|(status, count)| (status.as_str().to_owned(), json!(count)))
            .collect();
        json!({
            "healthy": true,
            "timestamp": self.timestamp,
            "totalJobs": self.total_jobs,
            "statusCounts": counts,
            "metrics": {
                "averageProcessingTimeMs": self.average_processing_time_ms,
                "successRate": js_number(self.success_rate),
                "failureRate": js_number(self.failure_rate),
                "timeoutRate": js_number(self.timeout_rate),
            },
            "maxJobs": self.max_jobs,
        })
    }
}

/// `Math.round(x * 100) / 100`.
fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Lifetime counters (they survive the jobs they count, as in 1.7.2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counters {
    completed: u64,
    failed: u64,
    timed_out: u64,
    total_processing_ms: i64,
}

#[derive(Debug, Default)]
struct Inner {
    /// Jobs by creation sequence: iteration is oldest first.
    jobs: BTreeMap<u64, Job>,
    index: HashMap<Uuid, u64>,
    /// The sequence numbers of the finished jobs (the first candidates for eviction).
    finished: BTreeSet<u64>,
    next_seq: u64,
    /// When `create` last swept (sweeping on every create would cost O(n) each).
    last_sweep: Option<i64>,
    counters: Counters,
}

impl Inner {
    fn remove(&mut self, id: Uuid) -> Option<Job> {
        let seq = self.index.remove(&id)?;
        self.finished.remove(&seq);
        self.jobs.remove(&seq)
    }

    fn remove_seq(&mut self, seq: u64) {
        self.finished.remove(&seq);
        if let Some(job) = self.jobs.remove(&seq) {
            self.index.remove(&job.id);
        }
    }

    /// Times out expired `processing` jobs and forgets finished jobs past their retention.
    fn sweep(&mut self, now: i64, retention_ms: i64) {
        self.last_sweep = Some(now);
        let mut forget = Vec::new();
        for (seq, job) in &mut self.jobs {
            if time_out_if_expired(job, now) {
                self.counters.timed_out += 1;
                self.finished.insert(*seq);
            } else if job.status.is_finished() && job.expires_at.saturating_add(retention_ms) < now
            {
                forget.push(*seq);
            }
        }
        for seq in forget {
            self.remove_seq(seq);
        }
    }

    /// Makes room for one more job: the oldest finished job goes first, else the oldest job.
    fn evict_one(&mut self) {
        let victim = self
            .finished
            .first()
            .copied()
            .or_else(|| self.jobs.keys().next().copied());
        if let Some(seq) = victim {
            if let Some(job) = self.jobs.get(&seq) {
                tracing::warn!(job = %job.id, status = job.status.as_str(), "job registry full; evicting");
            }
            self.remove_seq(seq);
        }
    }

    /// A poll at `now`: times the job out when it expired.
    fn poll(&mut self, id: Uuid, now: i64) -> Option<Job> {
        let seq = *self.index.get(&id)?;
        let job = self.jobs.get_mut(&seq)?;
        if time_out_if_expired(job, now) {
            self.counters.timed_out += 1;
            self.finished.insert(seq);
        }
        Some(job.clone())
    }

    fn finish(&mut self, id: Uuid, now: i64, outcome: Outcome) -> Option<JobStatus> {
        let seq = *self.index.get(&id)?;
        let job = self.jobs.get_mut(&seq)?;
        if job.status.is_finished() {
            return Some(job.status);
        }
        let outcome = match outcome {
            // An answer after the expiry does not count: the job timed out (as a poll would see).
            Outcome::Completed(_)
                if job.status == JobStatus::Processing && job.expires_at < now =>
            {
                Outcome::TimedOut
            }
            other => other,
        };
        match outcome {
            Outcome::Completed(message) => {
                let processing_time_ms = now.saturating_sub(job.created_at).max(0);
                job.status = JobStatus::Completed;
                job.result = Some(JobResult {
                    message,
                    processing_time_ms,
                });
                self.counters.completed += 1;
                self.counters.total_processing_ms = self
                    .counters
                    .total_processing_ms
                    .saturating_add(processing_time_ms);
            }
            Outcome::Failed(error) => {
                job.status = JobStatus::Failed;
                job.error = Some(error);
                self.counters.failed += 1;
            }
            Outcome::TimedOut => {
                job.status = JobStatus::Timeout;
                job.error = Some(TIMEOUT_ERROR.to_owned());
                self.counters.timed_out += 1;
            }
        }
        self.finished.insert(seq);
        Some(job.status)
    }
}

enum Outcome {
    Completed(JobReply),
    Failed(String),
    TimedOut,
}

/// The flip a poll does (1.7.2 `GET /jobs/:id`): `processing` past `expiresAt` becomes `timeout`.
fn time_out_if_expired(job: &mut Job, now: i64) -> bool {
    if job.status == JobStatus::Processing && job.expires_at < now {
        job.status = JobStatus::Timeout;
        job.error = Some(TIMEOUT_ERROR.to_owned());
        tracing::warn!(job = %job.id, "job timed out");
        true
    } else {
        false
    }
}

/// The jobs.
#[derive(Debug)]
pub struct JobRegistry {
    inner: Mutex<Inner>,
    max_jobs: usize,
    retention_ms: i64,
}

impl Default for JobRegistry {
    fn default() -> Self {
        JobRegistry::with_limits(MAX_JOBS, DEFAULT_RETENTION_MS)
    }
}

impl JobRegistry {
    /// A registry holding at most `max_jobs` jobs and keeping finished jobs `retention_ms` past
    /// their expiry.
    pub fn with_limits(max_jobs: usize, retention_ms: i64) -> Self {
        JobRegistry {
            inner: Mutex::default(),
            max_jobs: max_jobs.max(1),
            retention_ms: retention_ms.max(0),
        }
    }

    pub fn max_jobs(&self) -> usize {
        self.max_jobs
    }

    fn with_inner<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Registers a new `pending` job created at `now`, making room when the registry is full.
    pub fn create(&self, new: NewJob, now: i64) -> Job {
        let job = Job {
            id: new.id,
            status: JobStatus::Pending,
            agent_id: new.agent_id,
            user_id: new.user_id,
            prompt: new.prompt,
            created_at: now,
            expires_at: now.saturating_add(new.timeout_ms),
            result: None,
            error: None,
            metadata: new.metadata,
            channel_id: new.channel_id,
            user_message_id: None,
        };
        self.with_inner(|inner| {
            if inner
                .last_sweep
                .is_none_or(|last| now.saturating_sub(last) >= SWEEP_EVERY_MS)
            {
                inner.sweep(now, self.retention_ms);
            }
            if let Some(old) = inner.remove(job.id) {
                tracing::warn!(job = %old.id, "job id reused; replacing the old job");
            }
            while inner.jobs.len() >= self.max_jobs {
                inner.evict_one();
            }
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.index.insert(job.id, seq);
            inner.jobs.insert(seq, job.clone());
        });
        job
    }

    /// Forgets a job (its channel could not be created).
    pub fn remove(&self, id: Uuid) -> Option<Job> {
        self.with_inner(|inner| inner.remove(id))
    }

    /// `pending` → `processing`, once the question is about to be posted.
    pub fn start_processing(&self, id: Uuid) -> Option<Job> {
        self.with_inner(|inner| {
            let job = inner.jobs.get_mut(inner.index.get(&id)?)?;
            if job.status == JobStatus::Pending {
                job.status = JobStatus::Processing;
            }
            Some(job.clone())
        })
    }

    /// Records the id of the stored question.
    pub fn set_user_message(&self, id: Uuid, message: MessageId) {
        self.with_inner(|inner| {
            if let Some(job) = inner.index.get(&id).and_then(|seq| inner.jobs.get_mut(seq)) {
                job.user_message_id = Some(message);
            }
        });
    }

    /// The agent answered at `now`. An answer after the expiry times the job out instead; a
    /// finished job does not change. Returns the job's status afterwards (`None`: unknown job).
    pub fn complete(&self, id: Uuid, reply: JobReply, now: i64) -> Option<JobStatus> {
        self.with_inner(|inner| inner.finish(id, now, Outcome::Completed(reply)))
    }

    /// The job failed; a finished job does not change.
    pub fn fail(&self, id: Uuid, error: impl Into<String>, now: i64) -> Option<JobStatus> {
        self.with_inner(|inner| inner.finish(id, now, Outcome::Failed(error.into())))
    }

    /// The wait for the agent ended without an answer; a finished job does not change.
    pub fn time_out(&self, id: Uuid, now: i64) -> Option<JobStatus> {
        self.with_inner(|inner| inner.finish(id, now, Outcome::TimedOut))
    }

    /// A job as a poll sees it at `now` (an expired `processing` job is timed out first).
    pub fn get(&self, id: Uuid, now: i64) -> Option<Job> {
        self.with_inner(|inner| inner.poll(id, now))
    }

    /// The newest `limit` jobs, only those with `status` when given.
    pub fn list(&self, status: Option<JobStatus>, limit: usize, now: i64) -> JobList {
        self.with_inner(|inner| {
            inner.sweep(now, self.retention_ms);
            let jobs = inner
                .jobs
                .values()
                .rev()
                .filter(|job| status.is_none_or(|status| job.status == status))
                .take(limit)
                .cloned()
                .collect();
            JobList {
                jobs,
                total: inner.jobs.len(),
            }
        })
    }

    /// Counts and rates at `now`.
    pub fn health(&self, now: i64) -> JobHealth {
        self.with_inner(|inner| {
            inner.sweep(now, self.retention_ms);
            let mut status_counts = JobStatus::ALL.map(|status| (status, 0usize));
            for job in inner.jobs.values() {
                for (status, count) in &mut status_counts {
                    if *status == job.status {
                        *count += 1;
                    }
                }
            }
            let counters = inner.counters;
            let finished = counters.completed + counters.failed + counters.timed_out;
            let rate = |part: u64| {
                if finished == 0 {
                    0.0
                } else {
                    round2(part as f64 / finished as f64)
                }
            };
            let average = if counters.completed == 0 {
                0
            } else {
                (counters.total_processing_ms as f64 / counters.completed as f64).round() as i64
            };
            JobHealth {
                timestamp: now,
                total_jobs: inner.jobs.len(),
                status_counts,
                average_processing_time_ms: average,
                success_rate: rate(counters.completed),
                failure_rate: rate(counters.failed),
                timeout_rate: rate(counters.timed_out),
                max_jobs: self.max_jobs,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_763_895_600_000;

    fn new_job(timeout_ms: i64) -> NewJob {
        NewJob {
            id: Uuid::new_v4(),
            agent_id: AgentId::new_random(),
            user_id: Uuid::new_v4().to_string(),
            channel_id: ChannelId::new_random(),
            prompt: "hello".to_owned(),
            metadata: json!({}),
            timeout_ms,
        }
    }

    fn reply(text: &str) -> JobReply {
        JobReply {
            id: MessageId::new_random(),
            content: text.to_owned(),
            author_id: "agent".to_owned(),
            created_at: T0 + 10,
            metadata: Some(json!({"agentName": "Echo"})),
        }
    }

    /// A processing job created at `now`.
    fn processing(registry: &JobRegistry, timeout_ms: i64, now: i64) -> Uuid {
        let job = registry.create(new_job(timeout_ms), now);
        registry.start_processing(job.id);
        job.id
    }

    #[test]
    fn a_job_is_pending_then_processing_then_completed() {
        let registry = JobRegistry::default();
        let job = registry.create(new_job(30_000), T0);
        assert_eq!(job.status, JobStatus::Pending);
        assert_eq!(job.expires_at, T0 + 30_000);
        let started = registry.start_processing(job.id).unwrap();
        assert_eq!(started.status, JobStatus::Processing);
        assert_eq!(
            registry.complete(job.id, reply("hi"), T0 + 250),
            Some(JobStatus::Completed)
        );
        let done = registry.get(job.id, T0 + 300).unwrap();
        let result = done.result.unwrap();
        assert_eq!(result.processing_time_ms, 250);
        assert_eq!(result.message.content, "hi");
        assert_eq!(done.error, None);
    }

    #[test]
    fn the_job_object_has_the_1_7_2_keys() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 30_000, T0);
        let job = registry.get(id, T0).unwrap().to_json();
        let keys: Vec<&str> = job
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "jobId",
                "status",
                "agentId",
                "userId",
                "prompt",
                "createdAt",
                "expiresAt",
                "metadata"
            ]
        );
        assert_eq!(job["status"], json!("processing"));
        assert_eq!(job["createdAt"], json!(T0));

        let message = reply("done");
        registry.complete(id, message.clone(), T0 + 5);
        let job = registry.get(id, T0 + 6).unwrap().to_json();
        assert_eq!(
            job["result"],
            json!({"message": {"id": message.id, "content": "done", "authorId": "agent",
                   "createdAt": T0 + 10, "metadata": {"agentName": "Echo"}}, "processingTimeMs": 5})
        );
        assert!(job.get("error").is_none());
        assert_eq!(
            registry.get(id, T0).unwrap().created_json(),
            json!({"jobId": id, "status": "completed", "createdAt": T0, "expiresAt": T0 + 30_000})
        );
    }

    #[test]
    fn a_poll_after_the_expiry_times_the_job_out() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0);
        // Exactly at the expiry it is still processing (1.7.2: `expiresAt < now`).
        assert_eq!(
            registry.get(id, T0 + 1_000).unwrap().status,
            JobStatus::Processing
        );
        let job = registry.get(id, T0 + 1_001).unwrap();
        assert_eq!(job.status, JobStatus::Timeout);
        assert_eq!(job.error.as_deref(), Some(TIMEOUT_ERROR));
        // Counted once, however often it is polled.
        registry.get(id, T0 + 1_002);
        let health = registry.health(T0 + 1_003);
        assert_eq!(health.timeout_rate, 1.0);
        assert_eq!(health.count(JobStatus::Timeout), 1);
    }

    #[test]
    fn a_late_reply_does_not_undo_a_timeout() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0);
        assert_eq!(registry.time_out(id, T0 + 1_000), Some(JobStatus::Timeout));
        assert_eq!(
            registry.complete(id, reply("late"), T0 + 1_100),
            Some(JobStatus::Timeout)
        );
        let job = registry.get(id, T0 + 1_200).unwrap();
        assert_eq!(job.status, JobStatus::Timeout);
        assert_eq!(job.result, None);
    }

    #[test]
    fn a_reply_after_the_expiry_counts_as_a_timeout_even_unpolled() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0);
        assert_eq!(
            registry.complete(id, reply("late"), T0 + 1_001),
            Some(JobStatus::Timeout)
        );
        assert_eq!(
            registry.get(id, T0 + 1_002).unwrap().error.as_deref(),
            Some(TIMEOUT_ERROR)
        );
    }

    #[test]
    fn finished_jobs_do_not_change() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 30_000, T0);
        registry.complete(id, reply("first"), T0 + 1);
        assert_eq!(
            registry.fail(id, "boom", T0 + 2),
            Some(JobStatus::Completed)
        );
        assert_eq!(
            registry.complete(id, reply("second"), T0 + 3),
            Some(JobStatus::Completed)
        );
        assert_eq!(registry.time_out(id, T0 + 4), Some(JobStatus::Completed));
        let job = registry.get(id, T0 + 5).unwrap();
        assert_eq!(job.result.unwrap().message.content, "first");
        assert_eq!(registry.complete(Uuid::new_v4(), reply("x"), T0), None);
    }

    #[test]
    fn list_is_newest_first_with_filter_and_limit() {
        let registry = JobRegistry::default();
        let first = processing(&registry, 30_000, T0);
        let second = processing(&registry, 30_000, T0 + 1);
        let third = processing(&registry, 30_000, T0 + 2);
        registry.complete(second, reply("ok"), T0 + 3);

        let all = registry.list(None, 50, T0 + 4);
        assert_eq!(all.total, 3);
        let ids: Vec<Uuid> = all.jobs.iter().map(|job| job.id).collect();
        assert_eq!(ids, [third, second, first]);

        let limited = registry.list(None, 2, T0 + 4);
        assert_eq!(limited.jobs.len(), 2);
        assert_eq!(limited.to_json()["filtered"], json!(2));
        assert_eq!(limited.to_json()["total"], json!(3));

        let completed = registry.list(Some(JobStatus::Completed), 50, T0 + 4);
        assert_eq!(completed.jobs.len(), 1);
        assert_eq!(completed.jobs[0].id, second);
        assert_eq!(completed.total, 3);
    }

    #[test]
    fn listing_times_out_expired_jobs() {
        let registry = JobRegistry::default();
        processing(&registry, 1_000, T0);
        let list = registry.list(Some(JobStatus::Timeout), 50, T0 + 2_000);
        assert_eq!(list.jobs.len(), 1);
        assert_eq!(list.jobs[0].error.as_deref(), Some(TIMEOUT_ERROR));
    }

    #[test]
    fn finished_jobs_are_forgotten_after_their_retention() {
        let registry = JobRegistry::with_limits(MAX_JOBS, 60_000);
        let done = processing(&registry, 1_000, T0);
        registry.complete(done, reply("ok"), T0 + 10);
        let running = processing(&registry, 300_000, T0);
        assert_eq!(registry.list(None, 50, T0 + 61_000).total, 2);
        assert_eq!(registry.list(None, 50, T0 + 61_001).total, 1);
        assert!(registry.get(done, T0 + 61_001).is_none());
        assert!(registry.get(running, T0 + 61_001).is_some());
    }

    #[test]
    fn a_full_registry_evicts_the_oldest_finished_job_first() {
        let registry = JobRegistry::with_limits(3, DEFAULT_RETENTION_MS);
        let oldest = processing(&registry, 30_000, T0);
        let finished_old = processing(&registry, 30_000, T0 + 1);
        let finished_new = processing(&registry, 30_000, T0 + 2);
        registry.fail(finished_old, "boom", T0 + 3);
        registry.complete(finished_new, reply("ok"), T0 + 3);

        let newest = processing(&registry, 30_000, T0 + 4);
        let list = registry.list(None, 50, T0 + 5);
        let ids: Vec<Uuid> = list.jobs.iter().map(|job| job.id).collect();
        assert_eq!(ids, [newest, finished_new, oldest]);
        assert_eq!(registry.health(T0 + 5).max_jobs, 3);
    }

    #[test]
    fn a_full_registry_of_running_jobs_evicts_the_oldest() {
        let registry = JobRegistry::with_limits(2, DEFAULT_RETENTION_MS);
        let oldest = processing(&registry, 30_000, T0);
        let middle = processing(&registry, 30_000, T0 + 1);
        let newest = processing(&registry, 30_000, T0 + 2);
        assert!(registry.get(oldest, T0 + 3).is_none());
        assert!(registry.get(middle, T0 + 3).is_some());
        assert!(registry.get(newest, T0 + 3).is_some());
        // The evicted job's late answer is ignored.
        assert_eq!(registry.complete(oldest, reply("ok"), T0 + 4), None);
    }

    #[test]
    fn the_default_registry_holds_ten_thousand_jobs() {
        let registry = JobRegistry::default();
        for i in 0..(MAX_JOBS as i64 + 5) {
            processing(&registry, 30_000, T0 + i);
        }
        let health = registry.health(T0 + 20_000);
        assert_eq!(health.total_jobs, MAX_JOBS);
        assert_eq!(health.to_json()["maxJobs"], json!(10_000));
    }

    #[test]
    fn health_counts_statuses_and_rates() {
        let registry = JobRegistry::default();
        let empty = registry.health(T0).to_json();
        assert_eq!(
            empty,
            json!({"healthy": true, "timestamp": T0, "totalJobs": 0,
                   "statusCounts": {"pending": 0, "processing": 0, "completed": 0, "failed": 0, "timeout": 0},
                   "metrics": {"averageProcessingTimeMs": 0, "successRate": 0, "failureRate": 0, "timeoutRate": 0},
                   "maxJobs": 10_000})
        );

        let a = processing(&registry, 30_000, T0);
        let b = processing(&registry, 30_000, T0);
        let c = processing(&registry, 30_000, T0);
        let d = processing(&registry, 1_000, T0);
        registry.create(new_job(30_000), T0); // stays pending
        processing(&registry, 30_000, T0); // stays processing
        registry.complete(a, reply("a"), T0 + 100);
        registry.complete(b, reply("b"), T0 + 201);
        registry.fail(c, "boom", T0 + 300);
        let health = registry.health(T0 + 1_001 + 1);
        assert_eq!(health.total_jobs, 6);
        assert_eq!(health.count(JobStatus::Pending), 1);
        assert_eq!(health.count(JobStatus::Processing), 1);
        assert_eq!(health.count(JobStatus::Completed), 2);
        assert_eq!(health.count(JobStatus::Failed), 1);
        assert_eq!(health.count(JobStatus::Timeout), 1);
        assert!(registry.get(d, T0 + 1_003).is_some());
        let body = health.to_json();
        // (100 + 201) / 2 = 150.5 → 151; 2/4, 1/4, 1/4.
        assert_eq!(
            body["metrics"],
            json!({"averageProcessingTimeMs": 151, "successRate": 0.5, "failureRate": 0.25, "timeoutRate": 0.25})
        );
    }

    #[test]
    fn rates_round_to_two_decimals() {
        let registry = JobRegistry::default();
        for _ in 0..2 {
            let id = processing(&registry, 30_000, T0);
            registry.complete(id, reply("ok"), T0 + 1);
        }
        let id = processing(&registry, 30_000, T0);
        registry.fail(id, "boom", T0 + 1);
        let body = registry.health(T0 + 2).to_json();
        assert_eq!(body["metrics"]["successRate"], json!(0.67));
        assert_eq!(body["metrics"]["failureRate"], json!(0.33));
    }

    #[test]
    fn statuses_parse_and_print() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                json!(status.as_str())
            );
        }
        assert_eq!(JobStatus::parse("done"), None);
        assert!(!JobStatus::Processing.is_finished());
        assert!(JobStatus::Timeout.is_finished());
    }
}
