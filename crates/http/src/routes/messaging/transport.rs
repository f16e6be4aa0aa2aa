//! How a posted message is answered (channel messages and sessions share this): `websocket`
//! answers at once and the agent replies over the bus; `http` waits for the stored reply; `sse`
//! streams `user_message`, `chunk`…, then `done` or `error` (API spec §2.3.3, §2.3.4).

use crate::messaging::{NoReply, ReplyEvent, ReplyWatch};
use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::Bytes;
use eliza_bus::BusMessage;
use futures_util::stream;
use serde_json::{Map, Value, json};
use std::convert::Infallible;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Http,
    Sse,
}

impl Transport {
    /// `transport`, or the legacy `mode`; absent means `websocket`. The error is the 1.7.2 text.
    pub fn from_body(body: &Map<String, Value>) -> Result<Transport, String> {
        // JavaScript's `transport || mode`: null and "" fall through.
        let given = |key: &str| {
            body.get(key)
                .filter(|v| !v.is_null() && v.as_str() != Some(""))
        };
        let text = match given("transport").or_else(|| given("mode")) {
            None => return Ok(Transport::WebSocket),
            Some(Value::String(text)) => text.as_str(),
            Some(other) => return Err(invalid_transport(&other.to_string())),
        };
        match text {
            "websocket" => Ok(Transport::WebSocket),
            "http" | "sync" => Ok(Transport::Http),
            "sse" | "stream" => Ok(Transport::Sse),
            other => Err(invalid_transport(other)),
        }
    }
}

fn invalid_transport(value: &str) -> String {
    format!("Invalid transport \"{value}\". Must be one of: http, sse, websocket, sync, stream")
}

/// Why no reply came.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    #[error("No running agent in this channel can answer")]
    NoAgent,
    #[error("Timed out waiting for the agent's reply")]
    TimedOut,
    #[error("The agent failed to answer: {0}")]
    Failed(String),
}

/// The agent's reply as elizaOS `Content` (`agentResponse` / the SSE `done` frame).
pub fn agent_response(reply: &BusMessage, question: &BusMessage) -> Value {
    let raw = reply.raw_message.as_ref();
    let mut content = Map::new();
    for key in ["thought", "actions", "providers"] {
        if let Some(value) = raw.and_then(|raw| raw.get(key)) {
            content.insert(key.to_owned(), value.clone());
        }
    }
    content.insert("text".into(), json!(reply.content));
    if let Some(simple) = raw.and_then(|raw| raw.get("simple")) {
        content.insert("simple".into(), simple.clone());
    }
    content.insert("responseId".into(), json!(reply.id));
    content.insert("inReplyTo".into(), json!(question.id));
    Value::Object(content)
}

/// Waits (at most `timeout`) for the reply to `question`; `agents` is how many were asked.
/// `None` when every agent asked finished its turn without answering.
pub async fn await_agent_response(
    mut watch: ReplyWatch,
    question: &BusMessage,
    agents: usize,
    timeout: Duration,
) -> Result<Option<Value>, WaitError> {
    if agents == 0 {
        return Err(WaitError::NoAgent);
    }
    let first_answer = async {
        let mut declined = 0;
        loop {
            match watch.reply(question).await {
                Some(Ok(reply)) => return Ok(Some(agent_response(&reply, question))),
                Some(Err(NoReply::Failed(error))) => return Err(WaitError::Failed(error)),
                // Every agent asked chose not to answer: there is nothing to wait for.
                Some(Err(NoReply::Declined)) => {
                    declined += 1;
                    if declined >= agents {
                        return Ok(None);
                    }
                }
                None => return Err(WaitError::TimedOut),
            }
        }
    };
    tokio::time::timeout(timeout, first_answer)
        .await
        .unwrap_or(Err(WaitError::TimedOut))
}

fn frame(event: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

enum Stage {
    Start(Value, Box<Waiting>),
    Waiting(Box<Waiting>),
    Done,
}

struct Waiting {
    watch: ReplyWatch,
    question: BusMessage,
    deadline: Instant,
}

/// The `text/event-stream` answer: `user_message`, `chunk`…, then `done` or `error`.
pub fn sse_response(
    user_message: Value,
    watch: ReplyWatch,
    question: BusMessage,
    agents: usize,
    timeout: Duration,
) -> HttpResponse {
    let waiting = Box::new(Waiting {
        watch,
        question,
        deadline: Instant::now() + timeout,
    });
    let first = if agents == 0 {
        // Say what was stored, then why nothing will follow.
        let error = json!({"error": WaitError::NoAgent.to_string()});
        let body = [frame("user_message", &user_message), frame("error", &error)].concat();
        return sse_builder().body(body);
    } else {
        Stage::Start(user_message, waiting)
    };
    let frames = stream::unfold(first, |stage| async move {
        let (bytes, next) = match stage {
            Stage::Start(user_message, waiting) => (
                frame("user_message", &user_message),
                Stage::Waiting(waiting),
            ),
            Stage::Waiting(waiting) => next_frame(waiting).await,
            Stage::Done => return None,
        };
        Some((Ok::<_, Infallible>(bytes), next))
    });
    sse_builder().streaming(frames)
}

fn sse_builder() -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"));
    builder
}

async fn next_frame(mut waiting: Box<Waiting>) -> (Bytes, Stage) {
    let event =
        tokio::time::timeout_at(waiting.deadline, waiting.watch.next(&waiting.question)).await;
    match event {
        Ok(Some(ReplyEvent::Chunk {
            message_id,
            chunk,
            index,
        })) => {
            let data = json!({"messageId": message_id, "chunk": chunk, "index": index});
            (frame("chunk", &data), Stage::Waiting(waiting))
        }
        Ok(Some(ReplyEvent::Reply(reply))) => {
            let done = agent_response(&reply, &waiting.question);
            (frame("done", &done), Stage::Done)
        }
        Ok(Some(ReplyEvent::Declined)) => {
            let done = json!({"text": "", "actions": ["IGNORE"], "inReplyTo": waiting.question.id});
            (frame("done", &done), Stage::Done)
        }
        Ok(Some(ReplyEvent::Failed { error, .. })) => {
            let error = WaitError::Failed(error).to_string();
            (frame("error", &json!({"error": error})), Stage::Done)
        }
        Ok(None) | Err(_) => {
            let error = WaitError::TimedOut.to_string();
            (frame("error", &json!({"error": error})), Stage::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn transports_and_their_legacy_names() {
        let cases = [
            (json!({}), Transport::WebSocket),
            (json!({"transport": "websocket"}), Transport::WebSocket),
            (json!({"transport": "http"}), Transport::Http),
            (json!({"mode": "sync"}), Transport::Http),
            (json!({"transport": "sse"}), Transport::Sse),
            (json!({"mode": "stream"}), Transport::Sse),
            (json!({"transport": null, "mode": "sync"}), Transport::Http),
            (json!({"transport": ""}), Transport::WebSocket),
        ];
        for (value, expected) in cases {
            assert_eq!(
                Transport::from_body(&body(value.clone())),
                Ok(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn unknown_transports_are_named_in_the_error() {
        assert_eq!(
            Transport::from_body(&body(json!({"transport": "pigeon"}))),
            Err(
                "Invalid transport \"pigeon\". Must be one of: http, sse, websocket, sync, stream"
                    .to_owned()
            )
        );
        assert!(Transport::from_body(&body(json!({"mode": 3}))).is_err());
    }
}
