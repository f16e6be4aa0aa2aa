//! A model on its own OS thread, reached through a bounded queue.
//!
//! The thread owns the model from load to drop, so a long generation never takes a tokio worker
//! or a slot of the blocking pool, and requests run one at a time in arrival order (a 135M model
//! on a small machine has no spare cores to run two). Dropping the handle ends the thread once
//! the queue is drained, which frees the model's memory.

use std::ops::ControlFlow;
use std::sync::Arc;

use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};

use super::chat::{ChatMessage, Completion, GenerationParams};
use super::{Embedder, TextGenerator};
use crate::error::ModelError;

/// Requests waiting for a model; more callers wait for room (back-pressure).
const QUEUE_DEPTH: usize = 32;

/// What a streamed generation yields: text pieces, then the completion.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Delta(String),
    Done(Completion),
}

type Reply<T> = oneshot::Sender<Result<T, ModelError>>;

enum TextJob {
    Generate {
        messages: Vec<ChatMessage>,
        params: GenerationParams,
        events: mpsc::UnboundedSender<Result<StreamEvent, ModelError>>,
    },
    CountTokens {
        text: String,
        reply: Reply<usize>,
    },
}

struct EmbedJob {
    texts: Vec<String>,
    reply: Reply<Vec<Vec<f32>>>,
}

/// The async face of a [`TextGenerator`].
#[derive(Clone)]
pub struct TextModelHandle {
    /// Its size is the context length.
    thread: ModelThread<TextJob>,
}

impl TextModelHandle {
    /// Loads the model with `load` on a new thread and serves it there. Resolves once the model
    /// is loaded, with the load error if it failed.
    pub async fn spawn<G, L>(name: &str, load: L) -> Result<Self, ModelError>
    where
        G: TextGenerator + 'static,
        L: FnOnce() -> Result<G, ModelError> + Send + 'static,
    {
        let describe = |model: &G| (model.model_id().to_owned(), model.context_length());
        let thread = spawn_model(name, load, describe, serve_text).await?;
        Ok(Self { thread })
    }

    pub fn model_id(&self) -> &str {
        &self.thread.model_id
    }

    pub fn context_length(&self) -> usize {
        self.thread.size
    }

    /// The whole answer.
    pub async fn complete(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> Result<Completion, ModelError> {
        let mut events = self.start(messages, params).await?;
        while let Some(event) = events.recv().await {
            if let StreamEvent::Done(completion) = event? {
                return Ok(completion);
            }
        }
        Err(thread_gone())
    }

    /// The answer piece by piece, then [`StreamEvent::Done`]. Dropping the stream cancels the
    /// generation at the next token.
    pub async fn stream(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> Result<impl Stream<Item = Result<StreamEvent, ModelError>> + Send + 'static, ModelError>
    {
        let events = self.start(messages, params).await?;
        Ok(futures_util::stream::unfold(
            events,
            |mut events| async move { events.recv().await.map(|event| (event, events)) },
        ))
    }

    pub async fn count_tokens(&self, text: String) -> Result<usize, ModelError> {
        let (reply, answer) = oneshot::channel();
        self.thread
            .send(TextJob::CountTokens { text, reply })
            .await?;
        answer.await.map_err(|_| thread_gone())?
    }

    async fn start(
        &self,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> Result<mpsc::UnboundedReceiver<Result<StreamEvent, ModelError>>, ModelError> {
        params.validate()?;
        let (events, receiver) = mpsc::unbounded_channel();
        self.thread
            .send(TextJob::Generate {
                messages,
                params,
                events,
            })
            .await?;
        Ok(receiver)
    }
}

fn serve_text<G: TextGenerator>(model: &G, mut queue: mpsc::Receiver<TextJob>) {
    while let Some(job) = queue.blocking_recv() {
        match job {
            TextJob::Generate {
                messages,
                params,
                events,
            } => {
                if events.is_closed() {
                    continue; // the caller left while the request waited
                }
                let mut on_delta = |piece: &str| {
                    let sent = piece.is_empty()
                        || events
                            .send(Ok(StreamEvent::Delta(piece.to_owned())))
                            .is_ok();
                    if sent && !events.is_closed() {
                        ControlFlow::Continue(())
                    } else {
                        ControlFlow::Break(())
                    }
                };
                let result = model.generate(&messages, &params, &mut on_delta);
                let _ = events.send(result.map(StreamEvent::Done));
            }
            TextJob::CountTokens { text, reply } => {
                let _ = reply.send(model.count_tokens(&text));
            }
        }
    }
}

/// The async face of an [`Embedder`].
#[derive(Clone)]
pub struct EmbedderHandle {
    /// Its size is the number of dimensions.
    thread: ModelThread<EmbedJob>,
}

impl EmbedderHandle {
    /// Loads the model with `load` on a new thread and serves it there.
    pub async fn spawn<E, L>(name: &str, load: L) -> Result<Self, ModelError>
    where
        E: Embedder + 'static,
        L: FnOnce() -> Result<E, ModelError> + Send + 'static,
    {
        let describe = |model: &E| (model.model_id().to_owned(), model.dimensions());
        let thread = spawn_model(name, load, describe, serve_embeddings).await?;
        Ok(Self { thread })
    }

    pub fn model_id(&self) -> &str {
        &self.thread.model_id
    }

    pub fn dimensions(&self) -> usize {
        self.thread.size
    }

    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, ModelError> {
        let (reply, answer) = oneshot::channel();
        self.thread.send(EmbedJob { texts, reply }).await?;
        answer.await.map_err(|_| thread_gone())?
    }
}

/// Texts embedded in one forward pass at most: requests waiting together are batched, which
/// is about twice as fast as one by one.
const EMBEDDING_BATCH: usize = 32;

fn serve_embeddings<E: Embedder>(model: &E, mut queue: mpsc::Receiver<EmbedJob>) {
    while let Some(first) = queue.blocking_recv() {
        let mut jobs = vec![first];
        let mut texts = jobs[0].texts.len();
        while texts < EMBEDDING_BATCH {
            let Ok(job) = queue.try_recv() else { break };
            texts += job.texts.len();
            jobs.push(job);
        }
        embed_together(model, jobs);
    }
}

/// Embeds the texts of `jobs` in one call and hands each job its own vectors; if the batch
/// fails, each job is tried alone so one bad request cannot fail the others.
fn embed_together<E: Embedder>(model: &E, jobs: Vec<EmbedJob>) {
    if jobs.len() == 1 {
        return jobs.into_iter().for_each(|job| embed_alone(model, job));
    }
    let texts: Vec<&str> = jobs
        .iter()
        .flat_map(|job| job.texts.iter().map(String::as_str))
        .collect();
    match model.embed(&texts) {
        Ok(vectors) if vectors.len() == texts.len() => {
            let mut vectors = vectors.into_iter();
            for job in jobs {
                let own: Vec<Vec<f32>> = vectors.by_ref().take(job.texts.len()).collect();
                let _ = job.reply.send(Ok(own));
            }
        }
        _ => jobs.into_iter().for_each(|job| embed_alone(model, job)),
    }
}

fn embed_alone<E: Embedder>(model: &E, job: EmbedJob) {
    let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
    let _ = job.reply.send(model.embed(&texts));
}

/// What a handle holds: the queue of its model's thread, the model's id and its size (a
/// context length, a number of dimensions).
struct ModelThread<J> {
    jobs: mpsc::Sender<J>,
    model_id: Arc<str>,
    size: usize,
}

// Not derived: that would require `J: Clone`, and jobs hold reply channels.
impl<J> Clone for ModelThread<J> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            model_id: self.model_id.clone(),
            size: self.size,
        }
    }
}

impl<J> ModelThread<J> {
    async fn send(&self, job: J) -> Result<(), ModelError> {
        self.jobs.send(job).await.map_err(|_| thread_gone())
    }
}

/// Loads a model with `load` on a new thread named after `name`, then serves its queue there
/// with `serve` until every handle is dropped. Resolves once the model is loaded, with the load
/// error if it failed; `describe` gives the model's id and size.
async fn spawn_model<M, J, L>(
    name: &str,
    load: L,
    describe: fn(&M) -> (String, usize),
    serve: fn(&M, mpsc::Receiver<J>),
) -> Result<ModelThread<J>, ModelError>
where
    M: 'static,
    J: Send + 'static,
    L: FnOnce() -> Result<M, ModelError> + Send + 'static,
{
    let (jobs, queue) = mpsc::channel(QUEUE_DEPTH);
    let (loaded, ready) = oneshot::channel();
    spawn_thread(name, move || match load() {
        Ok(model) => {
            let _ = loaded.send(Ok(describe(&model)));
            serve(&model, queue);
        }
        Err(err) => {
            let _ = loaded.send(Err(err));
        }
    })?;
    let (model_id, size) = ready.await.map_err(|_| thread_gone())??;
    Ok(ModelThread {
        jobs,
        model_id: model_id.into(),
        size,
    })
}

fn spawn_thread(name: &str, body: impl FnOnce() + Send + 'static) -> Result<(), ModelError> {
    std::thread::Builder::new()
        .name(format!("model-{name}"))
        .spawn(body)
        .map(drop)
        .map_err(|err| ModelError::Local(format!("cannot start the {name} model thread: {err}")))
}

/// The model thread ended without answering: it panicked.
fn thread_gone() -> ModelError {
    ModelError::Local("the model thread stopped unexpectedly".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Embeds a text as `[its length]`, slowly, recording each call's batch size; refuses "bad".
    #[derive(Default)]
    struct CountingEmbedder {
        calls: Arc<Mutex<Vec<usize>>>,
    }

    impl Embedder for CountingEmbedder {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dimensions(&self) -> usize {
            1
        }
        fn max_tokens(&self) -> usize {
            8
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
            self.calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(texts.len());
            std::thread::sleep(std::time::Duration::from_millis(30));
            if texts.contains(&"bad") {
                return Err(ModelError::Local("bad text".into()));
            }
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
    }

    #[tokio::test]
    async fn waiting_requests_are_embedded_together_and_answered_separately() {
        let embedder = CountingEmbedder::default();
        let calls = Arc::clone(&embedder.calls);
        let handle = EmbedderHandle::spawn("test", move || Ok(embedder)).await;
        let handle = handle.unwrap_or_else(|e| panic!("{e}"));
        let texts = ["a", "bb", "bad", "dddd", "eeeee", "ffffff"];
        let answers = futures_util::future::join_all(
            texts.iter().map(|t| handle.embed(vec![(*t).to_owned()])),
        )
        .await;
        for (text, answer) in texts.iter().zip(&answers) {
            match (*text, answer) {
                ("bad", Err(ModelError::Local(_))) => {}
                (text, Ok(vectors)) => assert_eq!(vectors, &[vec![text.len() as f32]]),
                other => panic!("{other:?}"),
            }
        }
        let calls = calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert!(
            calls.iter().any(|n| *n > 1),
            "some requests were batched: {calls:?}"
        );
    }
}
