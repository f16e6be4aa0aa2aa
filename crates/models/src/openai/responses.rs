//! Text through the Responses API (`POST {base}/responses`), what 1.7.2 uses via the AI SDK:
//! the request, the answer, and the stream of typed events
//! (`response.output_text.delta` … `response.completed`).

use reqwest::Response;
use serde_json::Value;

use super::wire::{ResponsesAnswer, ResponsesRequest, ResponsesStreamEvent};
use super::{
    DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, PROVIDER_NAME, conversation, is_reasoning_model,
    refused,
};
use crate::error::ModelError;
use crate::http::{HttpClient, describe_error};
use crate::request::{TextRequest, TextResponse, TextStream};
use crate::stream::{
    Framing, StreamEvent, StreamFormat, event_stream, is_json, mid_stream_error, parse_event,
    whole_answer,
};

/// The Responses API always ends a stream with `response.completed`, `response.incomplete` or
/// `response.failed`; a body ending before is an interrupted stream.
const FORMAT: StreamFormat = StreamFormat {
    framing: Framing::ServerSentEvents,
    end_event_required: true,
};

/// The body of a Responses call. The API has no field for the penalties, `seed`, `stop` or the
/// local-model knobs, so they are not sent (documented on [`super::OpenAiTextApi`]); 1.7.2
/// passes them to the AI SDK, which drops them with a warning.
pub(super) fn request_body<'a>(
    model: &'a str,
    request: &'a TextRequest,
    stream: bool,
) -> ResponsesRequest<'a> {
    // Reasoning models reject sampling parameters, here as in chat completions.
    let sampling = |v: Option<f64>| {
        if is_reasoning_model(model) { None } else { v }
    };
    ResponsesRequest {
        model,
        input: conversation(model, request),
        temperature: sampling(Some(request.temperature.unwrap_or(DEFAULT_TEMPERATURE))),
        top_p: sampling(request.top_p),
        max_output_tokens: request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        user: request.user.as_deref(),
        stream,
    }
}

/// The text of a whole answer: every `output_text` part of its `message` items, in order.
pub(super) fn answer_text(answer: ResponsesAnswer) -> Result<TextResponse, ModelError> {
    if let Some(error) = &answer.error {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!("the server reported an error: {}", describe_error(error)),
        ));
    }
    let text = output_text(&answer)?;
    Ok(TextResponse {
        text,
        finish_reason: finish_reason(&answer),
        model: answer.model,
        usage: answer.usage.map(Into::into),
    })
}

fn output_text(answer: &ResponsesAnswer) -> Result<String, ModelError> {
    let messages = answer
        .output
        .iter()
        .flatten()
        .filter(|item| matches!(item.kind.as_deref(), None | Some("message")));
    let parts: Vec<_> = messages.flat_map(|m| m.content.iter().flatten()).collect();
    let texts: Vec<&str> = parts
        .iter()
        .filter(|p| matches!(p.kind.as_deref(), None | Some("output_text")))
        .filter_map(|p| p.text.as_deref())
        .collect();
    if !texts.is_empty() {
        return Ok(texts.concat());
    }
    if let Some(text) = &answer.output_text {
        return Ok(text.clone());
    }
    if let Some(refusal) = parts.iter().find_map(|p| p.refusal.as_deref()) {
        return Err(refused(refusal));
    }
    let stopped = match answer.status.as_deref() {
        Some(status) if status != "completed" => format!(" (status {status})"),
        _ => String::new(),
    };
    Err(ModelError::invalid_response(
        PROVIDER_NAME,
        format!("the answer has no output text{stopped}"),
    ))
}

/// Why generation stopped, in chat-completion terms (`stop`, `length`) so callers see one
/// vocabulary whichever API answered.
fn finish_reason(answer: &ResponsesAnswer) -> Option<String> {
    let reason = match answer.status.as_deref()? {
        "completed" => "stop",
        "incomplete" => match answer
            .incomplete_details
            .as_ref()
            .and_then(|d| d.reason.as_deref())
        {
            Some("max_output_tokens") => "length",
            Some(other) => other,
            None => "incomplete",
        },
        other => other,
    };
    Some(reason.to_owned())
}

/// Builds the chunk stream. A server that ignored `stream: true` and answered plain JSON is
/// accepted: its whole text becomes the single chunk.
pub(super) fn text_stream(http: HttpClient, response: Response) -> TextStream {
    if is_json(&response) {
        return whole_answer(http, response, |answer: ResponsesAnswer| {
            answer_text(answer).map(|r| r.text)
        });
    }
    event_stream(http, response, FORMAT, stream_event)
}

fn stream_event(data: &str) -> Result<StreamEvent, ModelError> {
    let event: ResponsesStreamEvent = parse_event(PROVIDER_NAME, data)?;
    match event.kind.as_str() {
        "response.output_text.delta" => Ok(StreamEvent::text(event.delta.unwrap_or_default())),
        // Usage arrives with the end event; a text stream has no place for it.
        "response.completed" | "response.incomplete" => Ok(StreamEvent::end()),
        "response.failed" => Err(failure(event.response)),
        "response.refusal.done" => Err(refused(event.refusal.as_deref().unwrap_or_default())),
        "error" => {
            let error = event.error.or(event.message.map(Value::String));
            Err(mid_stream_error(
                PROVIDER_NAME,
                &error.unwrap_or_else(|| Value::String("no details".to_owned())),
            ))
        }
        // Lifecycle events (`response.created`, `…output_item.added`, `…done`) carry no news.
        _ => Ok(StreamEvent::nothing()),
    }
}

/// The error of a `response.failed` event: its `response.error`.
fn failure(response: Option<ResponsesAnswer>) -> ModelError {
    let error = response
        .and_then(|r| r.error)
        .unwrap_or_else(|| Value::String("the response failed".to_owned()));
    mid_stream_error(PROVIDER_NAME, &error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: &str) -> Result<TextResponse, ModelError> {
        let parsed: ResponsesAnswer = serde_json::from_str(json).map_err(|e| {
            ModelError::invalid_response("test", format!("the test's JSON is wrong: {e}"))
        })?;
        answer_text(parsed)
    }

    fn message_of(result: Result<TextResponse, ModelError>) -> String {
        match result {
            Ok(response) => format!("ok: {}", response.text),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn reasoning_items_are_skipped_and_text_parts_joined() {
        let response = answer(
            r#"{"status": "completed", "model": "o4-mini",
                "output": [
                    {"type": "reasoning", "summary": [], "content": null},
                    {"type": "message", "role": "assistant", "content": [
                        {"type": "output_text", "text": "Hel", "annotations": []},
                        {"type": "output_text", "text": "lo"}
                    ]}
                ],
                "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}"#,
        );
        let response = response.ok();
        assert_eq!(response.as_ref().map(|r| r.text.as_str()), Some("Hello"));
        assert_eq!(
            response.as_ref().and_then(|r| r.finish_reason.as_deref()),
            Some("stop")
        );
        assert_eq!(
            response.and_then(|r| r.usage).map(|u| u.total_tokens),
            Some(5)
        );
    }

    #[test]
    fn the_convenience_output_text_is_the_fallback() {
        assert_eq!(
            message_of(answer(r#"{"output": [], "output_text": "short"}"#)),
            "ok: short"
        );
    }

    #[test]
    fn an_answer_cut_by_the_token_limit_says_length() {
        let response = answer(
            r#"{"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"},
                "output": [{"type": "message", "content": [{"type": "output_text", "text": "par"}]}]}"#,
        );
        assert_eq!(
            response.ok().and_then(|r| r.finish_reason),
            Some("length".to_owned())
        );
    }

    #[test]
    fn refusals_errors_and_empty_answers_are_invalid_responses() {
        let cases = [
            (
                r#"{"output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}]}"#,
                "the model refused to answer: No.",
            ),
            (
                r#"{"status": "failed", "error": {"code": "server_error", "message": "boom"}}"#,
                "the server reported an error: boom",
            ),
            (
                r#"{"status": "incomplete", "output": [{"type": "reasoning"}]}"#,
                "the answer has no output text (status incomplete)",
            ),
            (r#"{}"#, "the answer has no output text"),
        ];
        for (json, expected) in cases {
            let message = message_of(answer(json));
            assert!(message.ends_with(expected), "{json}: {message}");
        }
    }

    #[test]
    fn stream_events_map_to_text_ends_and_errors() {
        let event = |data: &str| stream_event(data).map_err(|e| e.to_string());
        assert_eq!(
            event(r#"{"type": "response.output_text.delta", "delta": "Hi"}"#),
            Ok(StreamEvent::text("Hi"))
        );
        assert_eq!(
            event(r#"{"type": "response.created", "response": {"status": "in_progress"}}"#),
            Ok(StreamEvent::nothing())
        );
        assert_eq!(
            event(r#"{"type": "response.incomplete", "response": {}}"#),
            Ok(StreamEvent::end())
        );
        let error = |data: &str| event(data).err().unwrap_or_default();
        assert!(
            error(r#"{"type": "error", "code": "x", "message": "overloaded"}"#)
                .ends_with("mid-stream: overloaded")
        );
        assert!(
            error(r#"{"type": "error", "error": {"message": "nested"}}"#)
                .ends_with("mid-stream: nested")
        );
        assert!(error(r#"{"type": "error"}"#).ends_with("mid-stream: no details"));
        assert!(
            error(r#"{"type": "response.failed", "response": {"error": {"message": "quota"}}}"#)
                .ends_with("mid-stream: quota")
        );
        assert!(
            error(r#"{"type": "response.failed"}"#).ends_with("mid-stream: the response failed")
        );
        assert!(
            error(r#"{"type": "response.refusal.done", "refusal": "Nope"}"#)
                .ends_with("refused to answer: Nope")
        );
        assert!(error("[DONE]").contains("unreadable stream event"));
    }
}
