//! The media model types over the OpenAI API: image description (a vision chat completion),
//! transcription (a multipart upload), speech and image generation. Requests are checked before
//! anything is sent; answers are read without trusting the server to follow the API.

use super::config::OpenAiConfig;
use super::wire::{
    ChatCompletion, ChatMessage, ChatRequest, ContentPart, ImageUrl, ImagesAnswer, ImagesBody,
    MessageContent, SpeechBody, TranscriptionAnswer,
};
use super::{PROVIDER_NAME, completion_text, token_limit};
use crate::error::ModelError;
use crate::http::{Payload, ReceivedBody, error_message};
use crate::media::{
    ImageDescription, ImageDescriptionRequest, ImageRequest, SpeechAudio, SpeechRequest,
    TranscriptionRequest, speech_content_type,
};
use crate::multipart::MultipartForm;

/// The size 1.7.2 asks for.
const DEFAULT_IMAGE_SIZE: &str = "1024x1024";

/// One user message holding the prompt and the image, as 1.7.2 sends it.
pub(super) fn image_description_body<'a>(
    config: &'a OpenAiConfig,
    request: &'a ImageDescriptionRequest,
) -> Result<ChatRequest<'a>, ModelError> {
    if request.image_url.trim().is_empty() {
        return Err(ModelError::InvalidRequest(
            "cannot describe an image without its URL".to_owned(),
        ));
    }
    let model = config.image_description_model.as_str();
    let content = MessageContent::Parts(vec![
        ContentPart::Text {
            text: request.prompt_or_default(),
        },
        ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: &request.image_url,
            },
        },
    ]);
    let max_tokens = request
        .max_tokens
        .unwrap_or(config.image_description_max_tokens);
    Ok(ChatRequest {
        model,
        messages: vec![ChatMessage {
            role: "user",
            content,
        }],
        // 1.7.2 always sends `max_tokens`, which the default gpt-5-nano refuses.
        token_limit: Some(token_limit(model, max_tokens)),
        ..ChatRequest::default()
    })
}

pub(super) fn image_description(
    completion: ChatCompletion,
) -> Result<ImageDescription, ModelError> {
    let answer = completion_text(PROVIDER_NAME, completion)?.text;
    if answer.trim().is_empty() {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            "the answer has no description",
        ));
    }
    Ok(ImageDescription::from_answer(&answer))
}

/// The upload: the file first, then the model and the optional fields that are set.
pub(super) fn transcription_form(
    model: &str,
    request: TranscriptionRequest,
) -> Result<Payload, ModelError> {
    if request.audio.is_empty() {
        return Err(ModelError::InvalidRequest(
            "cannot transcribe empty audio".to_owned(),
        ));
    }
    let file_name = request.file_name_or_default();
    let mime_type = request.mime_type_or_default().to_owned();
    MultipartForm::default()
        .file("file", &file_name, &mime_type, request.audio)
        .text("model", model)
        .optional_text("language", request.language)
        .optional_text("prompt", request.prompt)
        .optional_text("temperature", request.temperature.map(|t| t.to_string()))
        .into_payload()
}

pub(super) fn transcript(answer: TranscriptionAnswer) -> Result<String, ModelError> {
    answer
        .text
        .ok_or_else(|| ModelError::invalid_response(PROVIDER_NAME, "the answer has no text"))
}

/// The request's voice and instructions, else the configured ones.
pub(super) fn speech_body<'a>(
    config: &'a OpenAiConfig,
    request: &'a SpeechRequest,
) -> Result<SpeechBody<'a>, ModelError> {
    if request.text.trim().is_empty() {
        return Err(ModelError::InvalidRequest(
            "cannot speak an empty text".to_owned(),
        ));
    }
    Ok(SpeechBody {
        model: &config.tts_model,
        voice: request.voice.as_deref().unwrap_or(&config.tts_voice),
        input: &request.text,
        response_format: request.format_or_default(),
        speed: request.speed,
        instructions: request
            .instructions
            .as_deref()
            .or(config.tts_instructions.as_deref()),
    })
}

/// The audio as received. A JSON answer is a proxy's error in a 2xx, not audio.
pub(super) fn speech_audio(
    received: ReceivedBody,
    format: &str,
) -> Result<SpeechAudio, ModelError> {
    let content_type = received.content_type.filter(|t| !t.trim().is_empty());
    if content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("application/json"))
    {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            format!("JSON instead of audio: {}", error_message(&received.bytes)),
        ));
    }
    if received.bytes.is_empty() {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            "the audio is empty",
        ));
    }
    Ok(SpeechAudio {
        bytes: received.bytes,
        content_type: content_type.unwrap_or_else(|| speech_content_type(format).to_owned()),
    })
}

pub(super) fn images_body<'a>(
    model: &'a str,
    request: &'a ImageRequest,
) -> Result<ImagesBody<'a>, ModelError> {
    if request.prompt.trim().is_empty() {
        return Err(ModelError::InvalidRequest(
            "cannot generate an image from an empty prompt".to_owned(),
        ));
    }
    let count = request.count.unwrap_or(1);
    if count == 0 {
        return Err(ModelError::InvalidRequest(
            "cannot generate zero images".to_owned(),
        ));
    }
    Ok(ImagesBody {
        model,
        prompt: &request.prompt,
        n: count,
        size: request.size.as_deref().unwrap_or(DEFAULT_IMAGE_SIZE),
    })
}

/// One URL per image: the hosted `url` (DALL·E), or the base64 image (gpt-image-1 sends only
/// that) as a `data:` URL.
pub(super) fn image_urls(answer: ImagesAnswer) -> Result<Vec<String>, ModelError> {
    let format = answer.output_format.as_deref().unwrap_or("png");
    let images = answer.data.unwrap_or_default();
    if images.is_empty() {
        return Err(ModelError::invalid_response(
            PROVIDER_NAME,
            "the answer has no images",
        ));
    }
    images
        .into_iter()
        .map(|image| match (image.url, image.b64_json) {
            (Some(url), _) if !url.is_empty() => Ok(url),
            (_, Some(data)) if !data.is_empty() => Ok(format!("data:image/{format};base64,{data}")),
            _ => Err(ModelError::invalid_response(
                PROVIDER_NAME,
                "an image has neither a URL nor base64 data",
            )),
        })
        .collect()
}
