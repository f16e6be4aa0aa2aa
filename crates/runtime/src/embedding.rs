//! The embedding queue (runtime spec §2.10): memories wait here for their vector, high priority
//! first; a worker embeds them in small batches, retries failures and logs each outcome as an
//! `embedding_event`. Bounded: when full, the lowest-priority, oldest entries make room.

use crate::agent::AgentRuntime;
use crate::error::{RuntimeError, RuntimeResult};
use chrono::Utc;
use eliza_domain::{EntityId, MemoryId, RoomId};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use uuid::Uuid;

/// Entries the queue holds at most.
pub const CAPACITY: usize = 1000;
/// Memories embedded per batch.
pub const BATCH: usize = 10;
/// Attempts per memory before it is logged as failed.
pub const ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Low,
    Normal,
    High,
}

#[derive(Debug, Clone)]
struct Job {
    memory: MemoryId,
    text: String,
    room: Option<RoomId>,
    run: Option<Uuid>,
}

#[derive(Default)]
struct Shared {
    /// One queue per priority, highest first.
    queues: Mutex<[VecDeque<Job>; 3]>,
    wake: Notify,
    closed: AtomicBool,
    /// The agent's embedding length, learnt from `EMBEDDING_DIMENSION` or the first vector.
    dimension: AtomicUsize,
}

/// The handle the runtime keeps; the worker stops with [`EmbeddingQueue::close`] or when the
/// runtime is dropped.
#[derive(Clone)]
pub struct EmbeddingQueue {
    shared: Arc<Shared>,
}

impl EmbeddingQueue {
    pub(crate) fn spawn(runtime: Weak<AgentRuntime>) -> EmbeddingQueue {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        tokio::spawn(async move { run_worker(worker, runtime).await });
        EmbeddingQueue { shared }
    }

    /// Queues the memory's text; blank text is never embedded.
    pub fn enqueue(
        &self,
        memory: MemoryId,
        text: &str,
        room: Option<RoomId>,
        run: Option<Uuid>,
        priority: Priority,
    ) {
        if text.trim().is_empty() || self.shared.closed.load(Ordering::Relaxed) {
            return;
        }
        let job = Job {
            memory,
            text: text.to_owned(),
            room,
            run,
        };
        {
            let mut queues = self.queues();
            make_room(&mut queues);
            queues[slot(priority)].push_back(job);
        }
        self.shared.wake.notify_one();
    }

    /// Entries waiting.
    pub fn len(&self) -> usize {
        self.queues().iter().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
    }

    fn queues(&self) -> std::sync::MutexGuard<'_, [VecDeque<Job>; 3]> {
        self.shared
            .queues
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

fn slot(priority: Priority) -> usize {
    match priority {
        Priority::High => 0,
        Priority::Normal => 1,
        Priority::Low => 2,
    }
}

/// Drops the oldest entries of the lowest non-empty priority until one more fits.
fn make_room(queues: &mut [VecDeque<Job>; 3]) {
    while queues.iter().map(VecDeque::len).sum::<usize>() >= CAPACITY {
        let Some(lowest) = queues.iter_mut().rev().find(|queue| !queue.is_empty()) else {
            return;
        };
        if let Some(dropped) = lowest.pop_front() {
            tracing::warn!(memory = %dropped.memory, "embedding queue full: dropped the oldest lowest-priority entry");
        }
    }
}

fn take_batch(shared: &Shared) -> Vec<Job> {
    let mut queues = shared.queues.lock().unwrap_or_else(PoisonError::into_inner);
    let mut batch = Vec::with_capacity(BATCH);
    for queue in queues.iter_mut() {
        while batch.len() < BATCH {
            match queue.pop_front() {
                Some(job) => batch.push(job),
                None => break,
            }
        }
    }
    batch
}

async fn run_worker(shared: Arc<Shared>, runtime: Weak<AgentRuntime>) {
    loop {
        if shared.closed.load(Ordering::Relaxed) {
            return;
        }
        let batch = take_batch(&shared);
        if batch.is_empty() {
            // A new entry or `close` wakes the worker; `notify_one` keeps a permit when nobody
            // waits, so an entry queued between the check and the wait is not missed, and an
            // idle agent costs no wake-ups.
            shared.wake.notified().await;
            continue;
        }
        let Some(runtime) = runtime.upgrade() else {
            return;
        };
        let jobs = batch
            .into_iter()
            .map(|job| embed_with_retries(&runtime, &shared, job));
        futures_util::future::join_all(jobs).await;
    }
}

async fn embed_with_retries(runtime: &AgentRuntime, shared: &Shared, job: Job) {
    let started = Instant::now();
    let mut outcome = Err(RuntimeError::Other("not attempted".to_owned()));
    for attempt in 1..=ATTEMPTS {
        outcome = embed_one(runtime, shared, &job).await;
        match &outcome {
            Ok(()) => break,
            Err(err) if attempt < ATTEMPTS && retryable(err) => {
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(_) => break,
        }
    }
    let (status, error) = match &outcome {
        Ok(()) => ("completed", None),
        Err(err) => {
            tracing::warn!(agent = %runtime.id, memory = %job.memory, %err, "embedding failed");
            ("failed", Some(err.to_string()))
        }
    };
    let body = json!({
        "runId": job.run,
        "memoryId": job.memory,
        "status": status,
        "duration": started.elapsed().as_millis() as u64,
        "error": error,
        "source": "embeddingService",
        "timestamp": Utc::now().timestamp_millis(),
    });
    let room = job.room.unwrap_or(RoomId(runtime.id.0));
    runtime
        .log(EntityId(runtime.id.0), room, "embedding_event", body)
        .await;
}

fn retryable(err: &RuntimeError) -> bool {
    match err {
        RuntimeError::Model(err) => err.is_retryable(),
        RuntimeError::Store(_) => true,
        _ => false,
    }
}

async fn embed_one(runtime: &AgentRuntime, shared: &Shared, job: &Job) -> RuntimeResult<()> {
    let vector = runtime.embed(&job.text, job.room).await?;
    check_dimension(runtime, shared, vector.len())?;
    // Only the embedding is written: the memory may have been edited while the model ran, and a
    // whole-memory update would put the old text back. A memory deleted meanwhile is skipped.
    runtime
        .store
        .set_memory_embedding(job.memory, &vector)
        .await?;
    Ok(())
}

/// Every vector of an agent has one length, so vector search compares like with like.
fn check_dimension(runtime: &AgentRuntime, shared: &Shared, length: usize) -> RuntimeResult<()> {
    if length == 0 {
        return Err(RuntimeError::Other(
            "the model returned an empty embedding".to_owned(),
        ));
    }
    let configured = runtime
        .setting("EMBEDDING_DIMENSION")
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|dimension| *dimension > 0);
    let expected = configured.unwrap_or_else(|| {
        match shared
            .dimension
            .compare_exchange(0, length, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => length,
            Err(known) => known,
        }
    });
    if expected == length {
        Ok(())
    } else {
        Err(RuntimeError::Other(format!(
            "the embedding has {length} dimensions, the agent's embeddings have {expected}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(_priority: Priority) -> Job {
        Job {
            memory: MemoryId::new_random(),
            text: "t".to_owned(),
            room: None,
            run: None,
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_of_the_lowest_priority() {
        let mut queues: [VecDeque<Job>; 3] = Default::default();
        let old_low = job(Priority::Low);
        let old_low_id = old_low.memory;
        queues[slot(Priority::Low)].push_back(old_low);
        queues[slot(Priority::Low)].push_back(job(Priority::Low));
        for _ in 0..CAPACITY - 2 {
            queues[slot(Priority::High)].push_back(job(Priority::High));
        }
        make_room(&mut queues);
        assert_eq!(
            queues.iter().map(VecDeque::len).sum::<usize>(),
            CAPACITY - 1
        );
        assert_eq!(queues[slot(Priority::Low)].len(), 1);
        assert_ne!(queues[slot(Priority::Low)][0].memory, old_low_id);
    }

    #[test]
    fn batches_take_high_priority_first_and_at_most_ten() {
        let shared = Shared::default();
        {
            let mut queues = shared.queues.lock().unwrap();
            for _ in 0..8 {
                queues[slot(Priority::Low)].push_back(job(Priority::Low));
            }
            for _ in 0..5 {
                queues[slot(Priority::High)].push_back(job(Priority::High));
            }
        }
        let high: Vec<MemoryId> = shared.queues.lock().unwrap()[slot(Priority::High)]
            .iter()
            .map(|job| job.memory)
            .collect();
        let batch = take_batch(&shared);
        assert_eq!(batch.len(), BATCH);
        let first: Vec<MemoryId> = batch[..5].iter().map(|job| job.memory).collect();
        assert_eq!(first, high);
        assert_eq!(take_batch(&shared).len(), 3);
    }
}
