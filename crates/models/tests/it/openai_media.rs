//! IMAGE_DESCRIPTION, TRANSCRIPTION, TEXT_TO_SPEECH and IMAGE over the OpenAI API, and the
//! trait's default answer for providers that do not serve them.

use eliza_models::testing::{FAKE_TRANSCRIPT, FakeOpenAi, FakeReply, ScriptedProvider};
use eliza_models::{
    ImageDescription, ImageDescriptionRequest, ImageRequest, ModelError, ModelProvider, ModelType,
    OpenAiProvider, SpeechRequest, TranscriptionRequest, Unavailability,
};
use serde_json::json;

use crate::support::{closed_port, fast_http, provider};

fn completion(content: &str) -> FakeReply {
    FakeReply::Raw(
        json!({"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})
            .to_string(),
    )
}

fn invalid_response_containing(error: &ModelError, expected: &str) -> bool {
    matches!(error, ModelError::InvalidResponse { message, .. } if message.contains(expected))
}

// IMAGE_DESCRIPTION

#[tokio::test]
async fn image_description_sends_one_user_message_with_the_prompt_and_the_image() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text("Title: A cat\nA grey cat on a sofa."));
    let provider = provider(&fake, &[("OPENAI_IMAGE_DESCRIPTION_MODEL", "gpt-4o-mini")]);
    let description = provider
        .describe_image(ImageDescriptionRequest::new("https://img.test/cat.png"))
        .await
        .expect("description");
    assert_eq!(
        description,
        ImageDescription {
            title: "A cat".into(),
            description: "A grey cat on a sofa.".into(),
        }
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini",
            "messages": [{
                "role": "user",
                "content": [
                    {"type": "text", "text": "Please analyze this image and provide a title and detailed description."},
                    {"type": "image_url", "image_url": {"url": "https://img.test/cat.png"}}
                ]
            }],
            "max_tokens": 8192
        })
    );
}

#[tokio::test]
async fn the_default_description_model_gets_its_limit_as_max_completion_tokens() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(completion(
        "<response><title>Dog</title><description>A dog runs.</description></response>",
    ));
    let provider = provider(&fake, &[("OPENAI_IMAGE_DESCRIPTION_MAX_TOKENS", "300")]);
    let mut request = ImageDescriptionRequest::new("data:image/png;base64,AAAA")
        .with_prompt("Describe the animal.");
    let description = provider
        .describe_image(request.clone())
        .await
        .expect("description");
    assert_eq!(
        (description.title.as_str(), description.description.as_str()),
        ("Dog", "A dog runs.")
    );
    request.max_tokens = Some(50);
    provider.describe_image(request).await.expect("description");

    let bodies: Vec<_> = fake.requests().into_iter().map(|r| r.body).collect();
    assert_eq!(bodies[0]["model"], "gpt-5-nano");
    assert_eq!(bodies[0]["max_completion_tokens"], 300);
    assert!(bodies[0].get("max_tokens").is_none());
    assert_eq!(
        bodies[0]["messages"][0]["content"][0]["text"],
        "Describe the animal."
    );
    assert_eq!(bodies[1]["max_completion_tokens"], 50);
}

#[tokio::test]
async fn an_answer_without_a_title_is_all_description() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::text("A foggy harbour at dawn."));
    let description = provider(&fake, &[])
        .describe_image(ImageDescriptionRequest::new("https://img.test/h.jpg"))
        .await
        .expect("description");
    assert_eq!(description.title, "Image Analysis");
    assert_eq!(description.description, "A foggy harbour at dawn.");
}

#[tokio::test]
async fn image_description_failures_are_errors_not_fake_descriptions() {
    let fake = FakeOpenAi::start().await;
    fake.push_chat(FakeReply::Status {
        status: 400,
        message: "Invalid image URL".into(),
        retry_after: None,
    });
    fake.push_chat(FakeReply::garbage());
    fake.push_chat(completion("   "));
    fake.push_chat(FakeReply::Raw(r#"{"choices": []}"#.into()));
    let provider = provider(&fake, &[]);
    let describe = || provider.describe_image(ImageDescriptionRequest::new("https://x/y.png"));

    let error = describe().await.expect_err("400");
    assert!(
        matches!(&error, ModelError::Http { status: 400, body, .. } if body == "Invalid image URL"),
        "{error}"
    );
    for expected in ["not the expected JSON", "no description", "no choices"] {
        let error = describe().await.expect_err("invalid");
        assert!(
            invalid_response_containing(&error, expected),
            "{expected}: {error}"
        );
    }
    assert_eq!(fake.requests().len(), 4);

    let error = provider
        .describe_image(ImageDescriptionRequest::new(" "))
        .await
        .expect_err("no URL");
    assert!(matches!(error, ModelError::InvalidRequest(_)), "{error}");
    assert_eq!(fake.requests().len(), 4);
}

// TRANSCRIPTION

#[tokio::test]
async fn transcription_uploads_the_audio_as_a_multipart_form() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    let audio = b"ID3\x00\x01\xff fake mp3".to_vec();
    let text = provider
        .transcribe(TranscriptionRequest::new(audio.clone()))
        .await
        .expect("transcript");
    assert_eq!(text, FAKE_TRANSCRIPT);

    let sent = &fake.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/audio/transcriptions")
    );
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert!(
        sent.header("content-type")
            .is_some_and(|t| t.starts_with("multipart/form-data; boundary=")),
        "{:?}",
        sent.header("content-type")
    );
    let fields = sent.form_fields().expect("a well-formed form");
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0].name, "file");
    assert_eq!(fields[0].file_name.as_deref(), Some("recording.mp3"));
    assert_eq!(fields[0].content_type.as_deref(), Some("audio/mpeg"));
    assert_eq!(fields[0].data, audio);
    assert_eq!(
        (fields[1].name.as_str(), fields[1].text()),
        ("model", "gpt-4o-mini-transcribe".to_owned())
    );
}

#[tokio::test]
async fn transcription_sends_the_optional_fields_that_are_set() {
    let fake = FakeOpenAi::start().await;
    fake.push_transcription(FakeReply::text("Bonjour"));
    let provider = provider(&fake, &[("OPENAI_TRANSCRIPTION_MODEL", "whisper-1")]);
    let mut request = TranscriptionRequest::new(vec![1, 2, 3]).with_mime_type("audio/wav");
    request.language = Some("fr".into());
    request.prompt = Some("Names: Aurélie".into());
    request.temperature = Some(0.2);
    assert_eq!(provider.transcribe(request).await, Ok("Bonjour".to_owned()));

    let fields = fake.requests()[0].form_fields().expect("form");
    let named: Vec<(String, String)> = fields.iter().map(|f| (f.name.clone(), f.text())).collect();
    assert_eq!(
        named[1..],
        [
            ("model".to_owned(), "whisper-1".to_owned()),
            ("language".to_owned(), "fr".to_owned()),
            ("prompt".to_owned(), "Names: Aurélie".to_owned()),
            ("temperature".to_owned(), "0.2".to_owned()),
        ]
    );
    assert_eq!(fields[0].file_name.as_deref(), Some("recording.wav"));
    assert_eq!(fields[0].content_type.as_deref(), Some("audio/wav"));
}

#[tokio::test]
async fn transcription_errors_are_reported() {
    let fake = FakeOpenAi::start().await;
    fake.push_transcription(FakeReply::status(500));
    fake.push_transcription(FakeReply::Status {
        status: 400,
        message: "Unrecognized file format".into(),
        retry_after: None,
    });
    fake.push_transcription(FakeReply::garbage());
    fake.push_transcription(FakeReply::Raw(r#"{"duration": 1.5}"#.into()));
    let provider = provider(&fake, &[]);
    let transcribe = || provider.transcribe(TranscriptionRequest::new(vec![9; 16]));

    // The 500 is retried with the same form, then the 400 is final.
    let error = transcribe().await.expect_err("400");
    assert!(
        matches!(&error, ModelError::Http { status: 400, body, .. } if body == "Unrecognized file format"),
        "{error}"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].raw_body, requests[1].raw_body);
    assert_eq!(
        requests[0].header("content-type"),
        requests[1].header("content-type")
    );
    for expected in ["not the expected JSON", "no text"] {
        let error = transcribe().await.expect_err("invalid");
        assert!(
            invalid_response_containing(&error, expected),
            "{expected}: {error}"
        );
    }

    let error = provider
        .transcribe(TranscriptionRequest::new(Vec::new()))
        .await
        .expect_err("empty audio");
    assert!(matches!(error, ModelError::InvalidRequest(_)), "{error}");
    assert_eq!(fake.requests().len(), 4);
}

// TEXT_TO_SPEECH

#[tokio::test]
async fn speech_sends_the_configured_voice_and_returns_the_audio() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[("OPENAI_TTS_INSTRUCTIONS", "Speak warmly.")]);
    let audio = provider
        .speak(SpeechRequest::new("Hello there"))
        .await
        .expect("audio");
    assert_eq!(audio.bytes, b"fake mp3 audio: Hello there");
    assert_eq!(audio.content_type, "audio/mpeg");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/audio/speech");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert_eq!(
        sent.body,
        json!({
            "model": "gpt-4o-mini-tts",
            "voice": "nova",
            "input": "Hello there",
            "response_format": "mp3",
            "instructions": "Speak warmly."
        })
    );
}

#[tokio::test]
async fn speech_request_values_beat_the_settings() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(
        &fake,
        &[
            ("OPENAI_TTS_VOICE", "alloy"),
            ("OPENAI_TTS_MODEL", "tts-1"),
            ("OPENAI_TTS_INSTRUCTIONS", "x"),
        ],
    );
    let mut request = SpeechRequest::new("Hi");
    request.voice = Some("echo".into());
    request.speed = Some(1.5);
    request.instructions = Some("Whisper.".into());
    request.format = Some("wav".into());
    let audio = provider.speak(request).await.expect("audio");
    assert_eq!(audio.content_type, "audio/wav");
    assert_eq!(
        fake.requests()[0].body,
        json!({
            "model": "tts-1",
            "voice": "echo",
            "input": "Hi",
            "response_format": "wav",
            "speed": 1.5,
            "instructions": "Whisper."
        })
    );
}

#[tokio::test]
async fn unlabelled_audio_gets_the_content_type_of_its_format() {
    let fake = FakeOpenAi::start().await;
    fake.push_speech(FakeReply::bytes("", b"\xff\xfb audio".to_vec()));
    let audio = provider(&fake, &[])
        .speak(SpeechRequest::new("Hi"))
        .await
        .expect("audio");
    assert_eq!(audio.bytes, b"\xff\xfb audio");
    assert_eq!(audio.content_type, "audio/mpeg");
}

#[tokio::test]
async fn speech_errors_are_reported() {
    let fake = FakeOpenAi::start().await;
    fake.push_speech(FakeReply::Status {
        status: 400,
        message: "Invalid voice".into(),
        retry_after: None,
    });
    fake.push_speech(FakeReply::Raw(
        r#"{"error": {"message": "quota exceeded"}}"#.into(),
    ));
    fake.push_speech(FakeReply::bytes("audio/mpeg", Vec::new()));
    let provider = provider(&fake, &[]);
    let speak = || provider.speak(SpeechRequest::new("Hi"));

    let error = speak().await.expect_err("400");
    assert!(
        matches!(&error, ModelError::Http { status: 400, body, .. } if body == "Invalid voice"),
        "{error}"
    );
    let error = speak().await.expect_err("JSON");
    assert!(
        invalid_response_containing(&error, "JSON instead of audio: quota exceeded"),
        "{error}"
    );
    let error = speak().await.expect_err("empty");
    assert!(
        invalid_response_containing(&error, "the audio is empty"),
        "{error}"
    );

    let error = provider
        .speak(SpeechRequest::new("  "))
        .await
        .expect_err("empty text");
    assert!(matches!(error, ModelError::InvalidRequest(_)), "{error}");
    assert_eq!(fake.requests().len(), 3);
}

// IMAGE

#[tokio::test]
async fn image_generation_asks_for_n_images_and_returns_their_urls() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    let mut request = ImageRequest::new("A lighthouse at night");
    request.count = Some(2);
    let urls = provider.generate_image(request).await.expect("images");
    assert_eq!(
        urls,
        ["https://images.fake/0.png", "https://images.fake/1.png"]
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/images/generations");
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer sk-fake-test-key")
    );
    assert_eq!(
        sent.body,
        json!({"model": "gpt-image-1", "prompt": "A lighthouse at night", "n": 2, "size": "1024x1024"})
    );
}

#[tokio::test]
async fn base64_images_become_data_urls() {
    let fake = FakeOpenAi::start().await;
    fake.push_image(FakeReply::Raw(
        r#"{"created": 0, "output_format": "webp", "data": [{"b64_json": "UklGRg=="}]}"#.into(),
    ));
    fake.push_image(FakeReply::Raw(
        r#"{"data": [{"b64_json": "iVBORw=="}]}"#.into(),
    ));
    let provider = provider(&fake, &[("OPENAI_IMAGE_MODEL", "dall-e-3")]);
    let mut request = ImageRequest::new("x");
    request.size = Some("512x512".into());
    assert_eq!(
        provider.generate_image(request.clone()).await,
        Ok(vec!["data:image/webp;base64,UklGRg==".to_owned()])
    );
    assert_eq!(
        provider.generate_image(request).await,
        Ok(vec!["data:image/png;base64,iVBORw==".to_owned()])
    );
    let body = &fake.requests()[0].body;
    assert_eq!(
        (
            body["model"].as_str(),
            body["size"].as_str(),
            body["n"].as_u64()
        ),
        (Some("dall-e-3"), Some("512x512"), Some(1))
    );
}

#[tokio::test]
async fn image_generation_errors_are_reported() {
    let fake = FakeOpenAi::start().await;
    fake.push_image(FakeReply::Status {
        status: 400,
        message: "Your request was rejected by the safety system".into(),
        retry_after: None,
    });
    fake.push_image(FakeReply::Raw(r#"{"data": []}"#.into()));
    fake.push_image(FakeReply::Raw(
        r#"{"data": [{"revised_prompt": "x"}]}"#.into(),
    ));
    fake.push_image(FakeReply::garbage());
    let provider = provider(&fake, &[]);
    let generate = || provider.generate_image(ImageRequest::new("a cat"));

    let error = generate().await.expect_err("400");
    assert!(
        matches!(error, ModelError::Http { status: 400, .. }),
        "{error}"
    );
    for expected in [
        "no images",
        "neither a URL nor base64 data",
        "not the expected JSON",
    ] {
        let error = generate().await.expect_err("invalid");
        assert!(
            invalid_response_containing(&error, expected),
            "{expected}: {error}"
        );
    }

    let mut none = ImageRequest::new("a cat");
    none.count = Some(0);
    for request in [none, ImageRequest::new("")] {
        let error = provider.generate_image(request).await.expect_err("refused");
        assert!(matches!(error, ModelError::InvalidRequest(_)), "{error}");
    }
    assert_eq!(fake.requests().len(), 4);
}

// Shared behaviour

#[tokio::test]
async fn the_openai_provider_supports_the_media_types() {
    let fake = FakeOpenAi::start().await;
    let provider = provider(&fake, &[]);
    for model_type in [
        ModelType::ImageDescription,
        ModelType::Transcription,
        ModelType::TextToSpeech,
        ModelType::Image,
    ] {
        assert!(provider.supports(model_type), "{model_type}");
    }
}

#[tokio::test]
async fn every_media_call_reports_a_server_that_is_down() {
    let port = closed_port();
    let settings = |key: &str| match key {
        "OPENAI_API_KEY" => Some("k".to_owned()),
        "OPENAI_BASE_URL" => Some(format!("http://127.0.0.1:{port}/v1")),
        _ => None,
    };
    let provider = OpenAiProvider::from_settings(&settings)
        .and_then(|p| p.with_http_options(fast_http()))
        .expect("provider");
    let errors = [
        provider
            .describe_image(ImageDescriptionRequest::new("https://x/y.png"))
            .await
            .err(),
        provider
            .transcribe(TranscriptionRequest::new(vec![1]))
            .await
            .err(),
        provider.speak(SpeechRequest::new("hi")).await.err(),
        provider.generate_image(ImageRequest::new("x")).await.err(),
    ];
    for error in errors {
        assert!(
            matches!(
                &error,
                Some(ModelError::Unavailable {
                    reason: Unavailability::Connect { .. },
                    ..
                })
            ),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn providers_without_media_support_answer_unsupported() {
    let provider = ScriptedProvider::new();
    let unsupported = |model_type| ModelError::Unsupported {
        provider: "scripted".into(),
        model_type,
    };
    assert_eq!(
        provider
            .describe_image(ImageDescriptionRequest::new("u"))
            .await,
        Err(unsupported(ModelType::ImageDescription))
    );
    assert_eq!(
        provider
            .transcribe(TranscriptionRequest::new(vec![1]))
            .await,
        Err(unsupported(ModelType::Transcription))
    );
    assert_eq!(
        provider.speak(SpeechRequest::new("t")).await,
        Err(unsupported(ModelType::TextToSpeech))
    );
    assert_eq!(
        provider.generate_image(ImageRequest::new("p")).await,
        Err(unsupported(ModelType::Image))
    );
}
