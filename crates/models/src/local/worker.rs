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

fn serve_embeddings<E: Embedder>(model: &E, mut queue: mpsc::Receiver<EmbedJob>) {
    while let Some(job) = queue.blocking_recv() {
        let texts: Vec<&str> = job.texts.iter().map(String::as_str).collect();
        let _ = job.reply.send(model.embed(&texts));
    }
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
