//! Blocking work (hashing, extraction, disk writes) run off the async runtime, its progress
//! relayed back to the caller.

use tokio::sync::mpsc;

use super::error::FetchError;
use super::progress::FetchProgress;

/// Progress from a blocking thread, sent to the async caller's [`FetchProgress`] (which may
/// not be `'static`, so it cannot move to the thread itself).
enum ProgressEvent {
    Start(String, Option<u64>),
    Advance(u64),
    Finish(String),
}

struct ChannelProgress(mpsc::UnboundedSender<ProgressEvent>);

impl FetchProgress for ChannelProgress {
    // A send only fails once the caller stopped listening: nobody is left to tell.
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let _ = self
            .0
            .send(ProgressEvent::Start(label.to_owned(), total_bytes));
    }

    fn advance(&self, bytes: u64) {
        let _ = self.0.send(ProgressEvent::Advance(bytes));
    }

    fn finish(&self, label: &str) {
        let _ = self.0.send(ProgressEvent::Finish(label.to_owned()));
    }
}

impl ProgressEvent {
    fn report_to(self, progress: &dyn FetchProgress) {
        match self {
            Self::Start(label, total) => progress.start(&label, total),
            Self::Advance(bytes) => progress.advance(bytes),
            Self::Finish(label) => progress.finish(&label),
        }
    }
}

/// Runs blocking `work` (hashing, extraction) off the async runtime, relaying its progress.
pub(super) async fn run_blocking<T, W>(
    progress: &dyn FetchProgress,
    work: W,
) -> Result<T, FetchError>
where
    T: Send + 'static,
    W: FnOnce(&dyn FetchProgress) -> Result<T, FetchError> + Send + 'static,
{
    let (sender, mut events) = mpsc::unbounded_channel();
    let task = tokio::task::spawn_blocking(move || work(&ChannelProgress(sender)));
    // The channel closes when `work` returns and drops the sender.
    while let Some(event) = events.recv().await {
        event.report_to(progress);
    }
    joined(task.await)?
}

/// A blocking task's result; its panic goes on in the caller.
pub(super) fn joined<T>(result: Result<T, tokio::task::JoinError>) -> Result<T, FetchError> {
    match result {
        Ok(value) => Ok(value),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(FetchError::Interrupted),
    }
}
