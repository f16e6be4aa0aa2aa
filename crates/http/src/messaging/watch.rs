//! Waiting for an agent's reply to one message, over the bus: what the `http` and `sse`
//! transports and jobs need. A resync notice (the watcher fell behind) is answered from the store.

use eliza_bus::{BusEvent, BusMessage, MessageOrigin, Received, Subscription};
use eliza_domain::{MessageId, Store};
use std::sync::Arc;

/// What the watcher reports about the reply.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplyEvent {
    /// A piece of the reply while it is generated.
    Chunk {
        message_id: MessageId,
        chunk: String,
        index: u32,
    },
    /// The stored reply.
    Reply(Box<BusMessage>),
    /// The agent failed to answer.
    Failed {
        error: String,
        partial_text: Option<String>,
    },
    /// An agent finished its turn without a reply (it chose to ignore the message).
    Declined,
}

/// Why a wait for the reply ended without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoReply {
    Failed(String),
    Declined,
}

/// A subscription to one channel, filtered down to the reply to one message.
pub struct ReplyWatch {
    subscription: Subscription,
    store: Arc<dyn Store>,
}

impl ReplyWatch {
    pub(crate) fn new(subscription: Subscription, store: Arc<dyn Store>) -> Self {
        ReplyWatch {
            subscription,
            store,
        }
    }

    /// The next event about the reply to `question`; `None` when the bus is gone.
    pub async fn next(&mut self, question: &BusMessage) -> Option<ReplyEvent> {
        loop {
            match self.subscription.recv().await? {
                Received::Event(event) => {
                    if let Some(found) = about_reply(&event, question) {
                        return Some(found);
                    }
                }
                Received::Resync { missed } => {
                    tracing::debug!(missed, "reply watcher fell behind; checking the store");
                    if let Some(reply) = self.stored_reply(question).await {
                        return Some(ReplyEvent::Reply(Box::new(reply)));
                    }
                }
            }
        }
    }

    /// Waits for the stored reply itself, skipping chunks.
    pub async fn reply(&mut self, question: &BusMessage) -> Option<Result<BusMessage, NoReply>> {
        loop {
            match self.next(question).await? {
                ReplyEvent::Reply(reply) => return Some(Ok(*reply)),
                ReplyEvent::Failed { error, .. } => return Some(Err(NoReply::Failed(error))),
                ReplyEvent::Declined => return Some(Err(NoReply::Declined)),
                ReplyEvent::Chunk { .. } => continue,
            }
        }
    }

    async fn stored_reply(&self, question: &BusMessage) -> Option<BusMessage> {
        let replies = match self.store.list_replies(question.id).await {
            Ok(replies) => replies,
            Err(err) => {
                tracing::warn!(%err, "could not look up replies");
                return None;
            }
        };
        replies
            .iter()
            .find(|reply| reply.author_id != question.author_id)
            .map(|reply| BusMessage::from_stored(reply, question.message_server_id, None))
    }
}

fn about_reply(event: &BusEvent, question: &BusMessage) -> Option<ReplyEvent> {
    let answers = |in_reply_to: &Option<MessageId>| *in_reply_to == Some(question.id);
    match event {
        BusEvent::NewMessage {
            message,
            origin: MessageOrigin::AgentReply,
        } if answers(&message.in_reply_to_message_id) => Some(ReplyEvent::Reply(message.clone())),
        BusEvent::MessageStreamChunk {
            message_id,
            chunk,
            index,
            in_reply_to,
            ..
        } if answers(in_reply_to) => Some(ReplyEvent::Chunk {
            message_id: *message_id,
            chunk: chunk.clone(),
            index: *index,
        }),
        BusEvent::MessageComplete {
            agent_id: Some(_),
            in_reply_to,
            ..
        } if answers(in_reply_to) => Some(ReplyEvent::Declined),
        BusEvent::MessageStreamError {
            error,
            partial_text,
            in_reply_to,
            ..
        } if answers(in_reply_to) => Some(ReplyEvent::Failed {
            error: error.clone(),
            partial_text: partial_text.clone(),
        }),
        _ => None,
    }
}
