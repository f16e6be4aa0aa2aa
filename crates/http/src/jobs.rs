//! Job registry for `/api/messaging/jobs` (API spec §2.3.5).
//!
//! A job is one question to one agent: `pending` while its channel is created, `processing` while
//! the agent is asked, then `completed` (the reply arrived), `failed` or `timeout`. A finished job
//! never changes again, so a reply that arrives after the job timed out is ignored.
//!
//! On a single node the registry lives in memory, as in 1.7.2; in a cluster it lives in the shared
//! database, so a job created on one node is polled on any other. It holds at most [`MAX_JOBS`]
//! jobs (the oldest finished jobs make room first) and forgets a finished job
//! [`DEFAULT_RETENTION_MS`] after its expiry (1.7.2's cleanup timer drops them within a minute of
//! their expiry). Every method takes the current time (epoch milliseconds), so the rules are
//! testable without a clock.

use crate::sessions::js_number;
use chrono::{DateTime, Utc};
use eliza_domain::records::{
    Edit, MemoryRecords, RecordKind, RecordOrder, RecordStore, SharedRecord, edit_record,
};
use eliza_domain::{AgentId, ChannelId, MessageId, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex, PoisonError};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobResult {
    pub message: JobReply,
    pub processing_time_ms: i64,
}

/// A job; serializes to the 1.7.2 job object (`jobToResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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
    /// The job's own channel (not part of the 1.7.2 job object; stored beside it).
    #[serde(skip, default = "no_channel")]
    pub channel_id: ChannelId,
    /// The stored question (not part of the 1.7.2 job object).
    #[serde(skip)]
    pub user_message_id: Option<MessageId>,
}

/// What a job read from the API object alone has for a channel (never used: stored jobs carry theirs).
fn no_channel() -> ChannelId {
    ChannelId(Uuid::nil())
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

/// Lifetime counters (they survive the jobs they count, as in 1.7.2); one shared record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counters {
    completed: u64,
    failed: u64,
    timed_out: u64,
    total_processing_ms: i64,
}

impl Counters {
    /// The counters after one more job finished as `job` did.
    fn count(mut self, job: &Job) -> Counters {
        match job.status {
            JobStatus::Completed => {
                self.completed += 1;
                let spent = job.result.as_ref().map_or(0, |r| r.processing_time_ms);
                self.total_processing_ms = self.total_processing_ms.saturating_add(spent);
            }
            JobStatus::Failed => self.failed += 1,
            JobStatus::Timeout => self.timed_out += 1,
            JobStatus::Pending | JobStatus::Processing => {}
        }
        self
    }
}

/// The one record holding the [`Counters`].
const COUNTERS_ID: Uuid = Uuid::nil();

/// How a job is stored: the API object plus the fields the API does not show.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredJob {
    #[serde(flatten)]
    job: Job,
    channel_id: ChannelId,
    user_message_id: Option<MessageId>,
}

enum Outcome {
    Completed(JobReply),
    Failed(String),
    TimedOut,
}

impl Outcome {
    /// Applies the outcome to an unfinished job.
    fn apply(self, job: &mut Job, now: i64) {
        let outcome = match self {
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
                job.status = JobStatus::Completed;
                job.result = Some(JobResult {
                    message,
                    processing_time_ms: now.saturating_sub(job.created_at).max(0),
                });
            }
            Outcome::Failed(error) => {
                job.status = JobStatus::Failed;
                job.error = Some(error);
            }
            Outcome::TimedOut => {
                job.status = JobStatus::Timeout;
                job.error = Some(TIMEOUT_ERROR.to_owned());
            }
        }
    }
}

/// The flip a poll does (1.7.2 `GET /jobs/:id`): `processing` past `expiresAt` becomes `timeout`.
fn time_out_if_expired(job: &mut Job, now: i64) {
    if job.status == JobStatus::Processing && job.expires_at < now {
        Outcome::TimedOut.apply(job, now);
        tracing::warn!(job = %job.id, "job timed out");
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn status_of(job: Option<Job>) -> Option<JobStatus> {
    job.map(|job| job.status)
}

fn counters_of(record: &SharedRecord) -> StoreResult<Counters> {
    Counters::deserialize(&record.body).map_err(|err| corrupt("job counters", record.id, err))
}

fn corrupt(what: &str, id: Uuid, err: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} {id} is not readable: {err}"))
}

/// The jobs, kept in a [`RecordStore`]: in process memory on a single node (as in 1.7.2), in
/// the shared database in a cluster so that any node answers a poll.
pub struct JobRegistry {
    records: Arc<dyn RecordStore>,
    max_jobs: usize,
    retention_ms: i64,
    /// When `create` last swept (sweeping on every create would cost a scan each).
    last_sweep: Mutex<Option<i64>>,
}

impl std::fmt::Debug for JobRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRegistry")
            .field("max_jobs", &self.max_jobs)
            .field("retention_ms", &self.retention_ms)
            .finish_non_exhaustive()
    }
}

impl Default for JobRegistry {
    fn default() -> Self {
        JobRegistry::with_limits(MAX_JOBS, DEFAULT_RETENTION_MS)
    }
}

impl JobRegistry {
    /// A registry in this process's memory holding at most `max_jobs` jobs and keeping finished
    /// jobs `retention_ms` past their expiry.
    pub fn with_limits(max_jobs: usize, retention_ms: i64) -> Self {
        JobRegistry::with_records(Arc::new(MemoryRecords::new()), max_jobs, retention_ms)
    }

    /// The same, with the jobs in `records` (the shared database for a cluster).
    pub fn with_records(records: Arc<dyn RecordStore>, max_jobs: usize, retention_ms: i64) -> Self {
        JobRegistry {
            records,
            max_jobs: max_jobs.max(1),
            retention_ms: retention_ms.max(0),
            last_sweep: Mutex::new(None),
        }
    }

    pub fn max_jobs(&self) -> usize {
        self.max_jobs
    }

    fn record_of(&self, job: &Job) -> StoreResult<SharedRecord> {
        let stored = StoredJob {
            job: job.clone(),
            channel_id: job.channel_id,
            user_message_id: job.user_message_id,
        };
        let body = serde_json::to_value(&stored)
            .map_err(|err| StoreError::Invalid(format!("job not storable: {err}")))?;
        Ok(SharedRecord {
            kind: RecordKind::Job,
            id: job.id,
            tag: job.status.as_str().to_owned(),
            body,
            version: 1,
            created_at: millis(job.created_at),
            // Kept while `expiresAt + retention >= now`, so gone from one millisecond after.
            purge_at: millis(
                job.expires_at
                    .saturating_add(self.retention_ms)
                    .saturating_add(1),
            ),
        })
    }

    fn job_of(record: &SharedRecord) -> StoreResult<Job> {
        let stored =
            StoredJob::deserialize(&record.body).map_err(|e| corrupt("job", record.id, e))?;
        Ok(Job {
            channel_id: stored.channel_id,
            user_message_id: stored.user_message_id,
            ..stored.job
        })
    }

    /// Registers a new `pending` job created at `now`, making room when the registry is full.
    pub async fn create(&self, new: NewJob, now: i64) -> StoreResult<Job> {
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
        let due = {
            let last = self
                .last_sweep
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            last.is_none_or(|last| now.saturating_sub(last) >= SWEEP_EVERY_MS)
        };
        if due {
            self.sweep(now).await?;
        }
        while self.total().await? >= self.max_jobs {
            if !self.evict_one().await? {
                break;
            }
        }
        let record = self.record_of(&job)?;
        if !self.records.insert_record(&record).await? {
            tracing::warn!(job = %job.id, "job id reused; replacing the old job");
            self.records.delete_record(RecordKind::Job, job.id).await?;
            self.records.insert_record(&record).await?;
        }
        Ok(job)
    }

    /// How many jobs are held.
    async fn total(&self) -> StoreResult<usize> {
        self.records.total_records(RecordKind::Job).await
    }

    /// Makes room for one more job: the oldest finished job goes first, else the oldest job.
    /// Returns false when there was nothing to evict.
    async fn evict_one(&self) -> StoreResult<bool> {
        let mut oldest_finished: Option<SharedRecord> = None;
        for status in JobStatus::ALL.iter().filter(|status| status.is_finished()) {
            let oldest = self.oldest(Some(status.as_str())).await?;
            oldest_finished = [oldest_finished, oldest]
                .into_iter()
                .flatten()
                .min_by_key(|record| (record.created_at, record.id));
        }
        let victim = match oldest_finished {
            Some(record) => Some(record),
            None => self.oldest(None).await?,
        };
        let Some(victim) = victim else {
            return Ok(false);
        };
        tracing::warn!(job = %victim.id, status = victim.tag, "job registry full; evicting");
        self.records
            .delete_record(RecordKind::Job, victim.id)
            .await?;
        Ok(true)
    }

    async fn oldest(&self, tag: Option<&str>) -> StoreResult<Option<SharedRecord>> {
        let records = self
            .records
            .list_records(RecordKind::Job, tag, RecordOrder::OldestFirst, 1);
        Ok(records.await?.into_iter().next())
    }

    /// Times out expired `processing` jobs and forgets finished jobs past their retention.
    async fn sweep(&self, now: i64) -> StoreResult<()> {
        *self
            .last_sweep
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(now);
        let processing = self.records.list_records(
            RecordKind::Job,
            Some(JobStatus::Processing.as_str()),
            RecordOrder::OldestFirst,
            i64::MAX,
        );
        for record in processing.await? {
            if Self::job_of(&record)?.expires_at < now {
                self.update(record.id, |job| time_out_if_expired(job, now))
                    .await?;
            }
        }
        self.records
            .purge_records(RecordKind::Job, millis(now))
            .await?;
        Ok(())
    }

    /// Lets `change` work on the job and writes it back when it changed; a job that finished
    /// with the change is counted.
    async fn update(&self, id: Uuid, change: impl Fn(&mut Job)) -> StoreResult<Option<Job>> {
        let edited = edit_record(self.records.as_ref(), RecordKind::Job, id, |current| {
            let Some(record) = current else {
                return Ok(Edit::Keep(None));
            };
            let before = Self::job_of(record)?;
            let mut job = before.clone();
            change(&mut job);
            if job == before {
                return Ok(Edit::Keep(Some((job, false))));
            }
            let finished_now = job.status.is_finished() && !before.status.is_finished();
            Ok(Edit::Write(
                self.record_of(&job)?,
                Some((job, finished_now)),
            ))
        });
        let Some((job, finished_now)) = edited.await? else {
            return Ok(None);
        };
        // The job is stored as finished: a counter that cannot be updated only skews the rates.
        if finished_now && let Err(err) = self.count_finished(&job).await {
            tracing::warn!(job = %job.id, %err, "finished job not counted in the job health rates");
        }
        Ok(Some(job))
    }

    async fn counters(&self) -> StoreResult<Counters> {
        let record = self.records.get_record(RecordKind::JobStats, COUNTERS_ID);
        record
            .await?
            .as_ref()
            .map_or(Ok(Counters::default()), counters_of)
    }

    /// Adds a finished job to the lifetime counters.
    async fn count_finished(&self, job: &Job) -> StoreResult<()> {
        edit_record(
            self.records.as_ref(),
            RecordKind::JobStats,
            COUNTERS_ID,
            |current| {
                let counters = current.map_or(Ok(Counters::default()), counters_of)?;
                let body = serde_json::to_value(counters.count(job))
                    .map_err(|err| StoreError::Invalid(err.to_string()))?;
                let record = SharedRecord {
                    kind: RecordKind::JobStats,
                    id: COUNTERS_ID,
                    tag: String::new(),
                    body,
                    version: 1,
                    created_at: millis(job.created_at),
                    purge_at: millis(job.created_at),
                };
                Ok(Edit::Write(record, ()))
            },
        )
        .await
    }

    /// Forgets a job (its channel could not be created); returns whether it was held.
    pub async fn remove(&self, id: Uuid) -> StoreResult<bool> {
        self.records.delete_record(RecordKind::Job, id).await
    }

    /// `pending` → `processing`, once the question is about to be posted.
    pub async fn start_processing(&self, id: Uuid) -> StoreResult<Option<Job>> {
        self.update(id, |job| {
            if job.status == JobStatus::Pending {
                job.status = JobStatus::Processing;
            }
        })
        .await
    }

    /// Records the id of the stored question.
    pub async fn set_user_message(&self, id: Uuid, message: MessageId) -> StoreResult<()> {
        self.update(id, |job| job.user_message_id = Some(message))
            .await
            .map(drop)
    }

    /// Applies `outcome` unless the job is finished already; the job afterwards.
    async fn finish(
        &self,
        id: Uuid,
        now: i64,
        outcome: impl Fn() -> Outcome,
    ) -> StoreResult<Option<Job>> {
        self.update(id, |job| {
            if !job.status.is_finished() {
                outcome().apply(job, now);
            }
        })
        .await
    }

    /// The agent answered at `now`. An answer after the expiry times the job out instead; a
    /// finished job does not change. Returns the job's status afterwards (`None`: unknown job).
    pub async fn complete(
        &self,
        id: Uuid,
        reply: JobReply,
        now: i64,
    ) -> StoreResult<Option<JobStatus>> {
        Ok(status_of(self.complete_job(id, reply, now).await?))
    }

    /// [`JobRegistry::complete`], returning the whole job afterwards.
    pub async fn complete_job(
        &self,
        id: Uuid,
        reply: JobReply,
        now: i64,
    ) -> StoreResult<Option<Job>> {
        self.finish(id, now, || Outcome::Completed(reply.clone()))
            .await
    }

    /// The job failed; a finished job does not change.
    pub async fn fail(
        &self,
        id: Uuid,
        error: impl Into<String>,
        now: i64,
    ) -> StoreResult<Option<JobStatus>> {
        let error = error.into();
        let job = self.finish(id, now, || Outcome::Failed(error.clone()));
        Ok(status_of(job.await?))
    }

    /// The wait for the agent ended without an answer; a finished job does not change.
    pub async fn time_out(&self, id: Uuid, now: i64) -> StoreResult<Option<JobStatus>> {
        Ok(status_of(self.finish(id, now, || Outcome::TimedOut).await?))
    }

    /// A job as a poll sees it at `now` (an expired `processing` job is timed out first).
    pub async fn get(&self, id: Uuid, now: i64) -> StoreResult<Option<Job>> {
        self.update(id, |job| time_out_if_expired(job, now)).await
    }

    /// The newest `limit` jobs, only those with `status` when given.
    pub async fn list(
        &self,
        status: Option<JobStatus>,
        limit: usize,
        now: i64,
    ) -> StoreResult<JobList> {
        self.sweep(now).await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let tag = status.map(|status| status.as_str());
        let records =
            self.records
                .list_records(RecordKind::Job, tag, RecordOrder::NewestFirst, limit);
        let jobs = records
            .await?
            .iter()
            .map(Self::job_of)
            .collect::<StoreResult<_>>()?;
        Ok(JobList {
            jobs,
            total: self.total().await?,
        })
    }

    /// Counts and rates at `now`.
    pub async fn health(&self, now: i64) -> StoreResult<JobHealth> {
        self.sweep(now).await?;
        let counts = self.records.count_records(RecordKind::Job).await?;
        let count_of = |status: JobStatus| {
            counts
                .iter()
                .find(|(tag, _)| tag == status.as_str())
                .map_or(0, |(_, count)| {
                    usize::try_from(*count).unwrap_or(usize::MAX)
                })
        };
        let status_counts = JobStatus::ALL.map(|status| (status, count_of(status)));
        let counters = self.counters().await?;
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
        Ok(JobHealth {
            timestamp: now,
            total_jobs: status_counts.iter().map(|(_, count)| count).sum(),
            status_counts,
            average_processing_time_ms: average,
            success_rate: rate(counters.completed),
            failure_rate: rate(counters.failed),
            timeout_rate: rate(counters.timed_out),
            max_jobs: self.max_jobs,
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
    async fn processing(registry: &JobRegistry, timeout_ms: i64, now: i64) -> Uuid {
        let job = registry.create(new_job(timeout_ms), now).await.unwrap();
        registry.start_processing(job.id).await.unwrap();
        job.id
    }

    #[actix_web::test]
    async fn a_reused_id_replaces_the_old_job() {
        let registry = JobRegistry::default();
        let first = new_job(30_000);
        let id = first.id;
        registry.create(first.clone(), T0).await.unwrap();
        registry.start_processing(id).await.unwrap();
        registry.complete(id, reply("old"), T0 + 1).await.unwrap();
        let again = registry.create(first, T0 + 2).await.unwrap();
        assert_eq!(
            (again.status, again.created_at),
            (JobStatus::Pending, T0 + 2)
        );
        let held = registry.get(id, T0 + 3).await.unwrap().unwrap();
        assert_eq!((held.status, held.result), (JobStatus::Pending, None));
        assert_eq!(registry.list(None, 50, T0 + 3).await.unwrap().total, 1);
    }

    #[actix_web::test]
    async fn a_job_is_pending_then_processing_then_completed() {
        let registry = JobRegistry::default();
        let job = registry.create(new_job(30_000), T0).await.unwrap();
        assert_eq!(job.status, JobStatus::Pending);
        assert_eq!(job.expires_at, T0 + 30_000);
        let started = registry.start_processing(job.id).await.unwrap().unwrap();
        assert_eq!(started.status, JobStatus::Processing);
        assert_eq!(
            registry
                .complete(job.id, reply("hi"), T0 + 250)
                .await
                .unwrap(),
            Some(JobStatus::Completed)
        );
        let done = registry.get(job.id, T0 + 300).await.unwrap().unwrap();
        let result = done.result.unwrap();
        assert_eq!(result.processing_time_ms, 250);
        assert_eq!(result.message.content, "hi");
        assert_eq!(done.error, None);
    }

    #[actix_web::test]
    async fn the_job_object_has_the_1_7_2_keys() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 30_000, T0).await;
        let job = registry.get(id, T0).await.unwrap().unwrap().to_json();
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
        registry
            .complete(id, message.clone(), T0 + 5)
            .await
            .unwrap();
        let job = registry.get(id, T0 + 6).await.unwrap().unwrap().to_json();
        assert_eq!(
            job["result"],
            json!({"message": {"id": message.id, "content": "done", "authorId": "agent",
                   "createdAt": T0 + 10, "metadata": {"agentName": "Echo"}}, "processingTimeMs": 5})
        );
        assert!(job.get("error").is_none());
        assert_eq!(
            registry.get(id, T0).await.unwrap().unwrap().created_json(),
            json!({"jobId": id, "status": "completed", "createdAt": T0, "expiresAt": T0 + 30_000})
        );
    }

    #[actix_web::test]
    async fn a_poll_after_the_expiry_times_the_job_out() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0).await;
        // Exactly at the expiry it is still processing (1.7.2: `expiresAt < now`).
        assert_eq!(
            registry.get(id, T0 + 1_000).await.unwrap().unwrap().status,
            JobStatus::Processing
        );
        let job = registry.get(id, T0 + 1_001).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Timeout);
        assert_eq!(job.error.as_deref(), Some(TIMEOUT_ERROR));
        // Counted once, however often it is polled.
        registry.get(id, T0 + 1_002).await.unwrap();
        let health = registry.health(T0 + 1_003).await.unwrap();
        assert_eq!(health.timeout_rate, 1.0);
        assert_eq!(health.count(JobStatus::Timeout), 1);
    }

    #[actix_web::test]
    async fn a_late_reply_does_not_undo_a_timeout() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0).await;
        assert_eq!(
            registry.time_out(id, T0 + 1_000).await.unwrap(),
            Some(JobStatus::Timeout)
        );
        assert_eq!(
            registry
                .complete(id, reply("late"), T0 + 1_100)
                .await
                .unwrap(),
            Some(JobStatus::Timeout)
        );
        let job = registry.get(id, T0 + 1_200).await.unwrap().unwrap();
        assert_eq!(job.status, JobStatus::Timeout);
        assert_eq!(job.result, None);
    }

    #[actix_web::test]
    async fn a_reply_after_the_expiry_counts_as_a_timeout_even_unpolled() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 1_000, T0).await;
        assert_eq!(
            registry
                .complete(id, reply("late"), T0 + 1_001)
                .await
                .unwrap(),
            Some(JobStatus::Timeout)
        );
        assert_eq!(
            registry
                .get(id, T0 + 1_002)
                .await
                .unwrap()
                .unwrap()
                .error
                .as_deref(),
            Some(TIMEOUT_ERROR)
        );
    }

    #[actix_web::test]
    async fn finished_jobs_do_not_change() {
        let registry = JobRegistry::default();
        let id = processing(&registry, 30_000, T0).await;
        registry.complete(id, reply("first"), T0 + 1).await.unwrap();
        assert_eq!(
            registry.fail(id, "boom", T0 + 2).await.unwrap(),
            Some(JobStatus::Completed)
        );
        assert_eq!(
            registry
                .complete(id, reply("second"), T0 + 3)
                .await
                .unwrap(),
            Some(JobStatus::Completed)
        );
        assert_eq!(
            registry.time_out(id, T0 + 4).await.unwrap(),
            Some(JobStatus::Completed)
        );
        let job = registry.get(id, T0 + 5).await.unwrap().unwrap();
        assert_eq!(job.result.unwrap().message.content, "first");
        assert_eq!(
            registry
                .complete(Uuid::new_v4(), reply("x"), T0)
                .await
                .unwrap(),
            None
        );
    }

    #[actix_web::test]
    async fn list_is_newest_first_with_filter_and_limit() {
        let registry = JobRegistry::default();
        let first = processing(&registry, 30_000, T0).await;
        let second = processing(&registry, 30_000, T0 + 1).await;
        let third = processing(&registry, 30_000, T0 + 2).await;
        registry
            .complete(second, reply("ok"), T0 + 3)
            .await
            .unwrap();

        let all = registry.list(None, 50, T0 + 4).await.unwrap();
        assert_eq!(all.total, 3);
        let ids: Vec<Uuid> = all.jobs.iter().map(|job| job.id).collect();
        assert_eq!(ids, [third, second, first]);

        let limited = registry.list(None, 2, T0 + 4).await.unwrap();
        assert_eq!(limited.jobs.len(), 2);
        assert_eq!(limited.to_json()["filtered"], json!(2));
        assert_eq!(limited.to_json()["total"], json!(3));

        let completed = registry
            .list(Some(JobStatus::Completed), 50, T0 + 4)
            .await
            .unwrap();
        assert_eq!(completed.jobs.len(), 1);
        assert_eq!(completed.jobs[0].id, second);
        assert_eq!(completed.total, 3);
    }

    #[actix_web::test]
    async fn listing_times_out_expired_jobs() {
        let registry = JobRegistry::default();
        processing(&registry, 1_000, T0).await;
        let list = registry
            .list(Some(JobStatus::Timeout), 50, T0 + 2_000)
            .await
            .unwrap();
        assert_eq!(list.jobs.len(), 1);
        assert_eq!(list.jobs[0].error.as_deref(), Some(TIMEOUT_ERROR));
    }

    #[actix_web::test]
    async fn finished_jobs_are_forgotten_after_their_retention() {
        let registry = JobRegistry::with_limits(MAX_JOBS, 60_000);
        let done = processing(&registry, 1_000, T0).await;
        registry.complete(done, reply("ok"), T0 + 10).await.unwrap();
        let running = processing(&registry, 300_000, T0).await;
        assert_eq!(registry.list(None, 50, T0 + 61_000).await.unwrap().total, 2);
        assert_eq!(registry.list(None, 50, T0 + 61_001).await.unwrap().total, 1);
        assert!(registry.get(done, T0 + 61_001).await.unwrap().is_none());
        assert!(registry.get(running, T0 + 61_001).await.unwrap().is_some());
    }

    #[actix_web::test]
    async fn a_full_registry_evicts_the_oldest_finished_job_first() {
        let registry = JobRegistry::with_limits(3, DEFAULT_RETENTION_MS);
        let oldest = processing(&registry, 30_000, T0).await;
        let finished_old = processing(&registry, 30_000, T0 + 1).await;
        let finished_new = processing(&registry, 30_000, T0 + 2).await;
        registry.fail(finished_old, "boom", T0 + 3).await.unwrap();
        registry
            .complete(finished_new, reply("ok"), T0 + 3)
            .await
            .unwrap();

        let newest = processing(&registry, 30_000, T0 + 4).await;
        let list = registry.list(None, 50, T0 + 5).await.unwrap();
        let ids: Vec<Uuid> = list.jobs.iter().map(|job| job.id).collect();
        assert_eq!(ids, [newest, finished_new, oldest]);
        assert_eq!(registry.health(T0 + 5).await.unwrap().max_jobs, 3);
    }

    #[actix_web::test]
    async fn a_full_registry_of_running_jobs_evicts_the_oldest() {
        let registry = JobRegistry::with_limits(2, DEFAULT_RETENTION_MS);
        let oldest = processing(&registry, 30_000, T0).await;
        let middle = processing(&registry, 30_000, T0 + 1).await;
        let newest = processing(&registry, 30_000, T0 + 2).await;
        assert!(registry.get(oldest, T0 + 3).await.unwrap().is_none());
        assert!(registry.get(middle, T0 + 3).await.unwrap().is_some());
        assert!(registry.get(newest, T0 + 3).await.unwrap().is_some());
        // The evicted job's late answer is ignored.
        assert_eq!(
            registry
                .complete(oldest, reply("ok"), T0 + 4)
                .await
                .unwrap(),
            None
        );
    }

    #[actix_web::test]
    async fn the_default_registry_holds_ten_thousand_jobs() {
        let registry = JobRegistry::default();
        for i in 0..(MAX_JOBS as i64 + 5) {
            processing(&registry, 30_000, T0 + i).await;
        }
        let health = registry.health(T0 + 20_000).await.unwrap();
        assert_eq!(health.total_jobs, MAX_JOBS);
        assert_eq!(health.to_json()["maxJobs"], json!(10_000));
    }

    #[actix_web::test]
    async fn health_counts_statuses_and_rates() {
        let registry = JobRegistry::default();
        let empty = registry.health(T0).await.unwrap().to_json();
        assert_eq!(
            empty,
            json!({"healthy": true, "timestamp": T0, "totalJobs": 0,
                   "statusCounts": {"pending": 0, "processing": 0, "completed": 0, "failed": 0, "timeout": 0},
                   "metrics": {"averageProcessingTimeMs": 0, "successRate": 0, "failureRate": 0, "timeoutRate": 0},
                   "maxJobs": 10_000})
        );

        let a = processing(&registry, 30_000, T0).await;
        let b = processing(&registry, 30_000, T0).await;
        let c = processing(&registry, 30_000, T0).await;
        let d = processing(&registry, 1_000, T0).await;
        registry.create(new_job(30_000), T0).await.unwrap(); // stays pending
        processing(&registry, 30_000, T0).await; // stays processing
        registry.complete(a, reply("a"), T0 + 100).await.unwrap();
        registry.complete(b, reply("b"), T0 + 201).await.unwrap();
        registry.fail(c, "boom", T0 + 300).await.unwrap();
        let health = registry.health(T0 + 1_001 + 1).await.unwrap();
        assert_eq!(health.total_jobs, 6);
        assert_eq!(health.count(JobStatus::Pending), 1);
        assert_eq!(health.count(JobStatus::Processing), 1);
        assert_eq!(health.count(JobStatus::Completed), 2);
        assert_eq!(health.count(JobStatus::Failed), 1);
        assert_eq!(health.count(JobStatus::Timeout), 1);
        assert!(registry.get(d, T0 + 1_003).await.unwrap().is_some());
        let body = health.to_json();
        // (100 + 201) / 2 = 150.5 → 151; 2/4, 1/4, 1/4.
        assert_eq!(
            body["metrics"],
            json!({"averageProcessingTimeMs": 151, "successRate": 0.5, "failureRate": 0.25, "timeoutRate": 0.25})
        );
    }

    #[actix_web::test]
    async fn rates_round_to_two_decimals() {
        let registry = JobRegistry::default();
        for _ in 0..2 {
            let id = processing(&registry, 30_000, T0).await;
            registry.complete(id, reply("ok"), T0 + 1).await.unwrap();
        }
        let id = processing(&registry, 30_000, T0).await;
        registry.fail(id, "boom", T0 + 1).await.unwrap();
        let body = registry.health(T0 + 2).await.unwrap().to_json();
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
