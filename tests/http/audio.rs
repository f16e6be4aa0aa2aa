//! `/api/audio` (API spec §2.5) with a running agent whose models are a fake OpenAI-compatible
//! server: transcription, speech, spoken conversation (JSON and the api-client's multipart),
//! the seed routes, and every refusal (no model, stopped agent, bad input).

use crate::multipart::{self, Part, png, wav};
use crate::support::{Reply, TestApp};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use base64::Engine;
use eliza_domain::memory::{MESSAGES_TABLE, MemoryQuery};
use eliza_domain::{AgentId, RoomId};
use eliza_http::HttpConfig;
use eliza_http::rate_limit::{LimitRule, RateLimitConfig};
use eliza_models::testing::{FAKE_TRANSCRIPT, FakeOllama, FakeOpenAi, FakeReply};
use serde_json::{Value, json};
use std::time::Duration;

const UNKNOWN_AGENT: &str = "11111111-2222-4333-8444-555555555555";
const DEFAULT_REPLY: &str = "Hello from the fake model.";

struct Audio {
    app: TestApp,
    fake: FakeOpenAi,
    /// Ollama only: no audio models.
    _ollama: FakeOllama,
    agent: String,
}

async fn audio_app() -> Audio {
    let fake = FakeOpenAi::start().await;
    let ollama = FakeOllama::start().await;
    let app = TestApp::with_runtime(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &fake.base_url()),
        ("OPENAI_EMBEDDING_DIMENSIONS", "384"),
        ("OLLAMA_API_ENDPOINT", &ollama.base_url()),
    ])
    .await;
    let agent = app
        .started_agent(
            json!({"name": "Eliza", "bio": ["Likes tea and tells short stories."],
            "plugins": ["@elizaos/plugin-openai"]}),
        )
        .await;
    Audio {
        app,
        fake,
        _ollama: ollama,
        agent,
    }
}

impl Audio {
    fn path(&self, route: &str) -> String {
        format!("/api/audio/{}/{route}", self.agent)
    }

    fn requests_to(&self, suffix: &str) -> Vec<eliza_models::testing::RecordedRequest> {
        self.fake
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with(suffix))
            .collect()
    }

    /// An agent whose only model plugin (Ollama) has no audio.
    async fn ollama_agent(&self) -> String {
        self.app
            .started_agent(json!({"name": "Quiet", "bio": ["No voice."],
                "plugins": ["@elizaos/plugin-ollama"]}))
            .await
    }
}

fn wav_part(name: &str) -> Part {
    Part::file(name, "memo.wav", "audio/wav", &wav())
}

fn assert_coded(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["success"], false, "{}", reply.json);
    assert_eq!(reply.json["error"]["code"], code, "{}", reply.json);
}

fn assert_audio(reply: &Reply, content_type: &str, body: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.header("content-type"), Some(content_type));
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
    assert_eq!(String::from_utf8_lossy(&reply.body), body);
}

/// The audio as JSON (`{audio: base64, format, contentType, …}` in the success envelope), for
/// clients that parse JSON; returns the envelope's `data`.
fn assert_json_audio<'a>(reply: &'a Reply, body: &str) -> &'a Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let spoken = &reply.json["data"];
    assert_eq!(
        (spoken["format"].as_str(), spoken["contentType"].as_str()),
        (Some("mpeg"), Some("audio/mpeg"))
    );
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(spoken["audio"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&decoded), body);
    spoken
}

#[actix_web::test]
async fn an_upload_is_transcribed_by_the_agents_model() {
    let audio = audio_app().await;
    let parts = [
        wav_part("file"),
        Part::text("language", "en"),
        Part::text("format", "wav"),
    ];
    let reply = audio
        .app
        .call(multipart::post(&audio.path("transcriptions"), &parts))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"text": FAKE_TRANSCRIPT}})
    );
    let sent = audio.requests_to("/audio/transcriptions");
    assert_eq!(sent.len(), 1);
    let fields = sent[0].form_fields().unwrap();
    let file = fields.iter().find(|f| f.name == "file").unwrap();
    assert_eq!(file.data, wav(), "the bytes reach the model unchanged");
    assert!(file.file_name.as_deref().unwrap().ends_with(".wav"));
    assert!(
        fields
            .iter()
            .any(|f| f.name == "language" && f.data == b"en")
    );

    audio
        .fake
        .push_transcription(FakeReply::text("Second memo."));
    let reply = audio
        .app
        .call(multipart::post(
            &audio.path("audio-messages"),
            &[wav_part("file")],
        ))
        .await;
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"transcription": "Second memo.",
            "message": "Audio transcribed, further processing TBD."}})
    );
}

#[actix_web::test]
async fn refused_audio_uploads() {
    let audio = audio_app().await;
    let path = audio.path("transcriptions");
    let cases = [
        (
            vec![Part::file("file", "a.png", "image/png", &png())],
            415,
            "INVALID_FILE_TYPE",
        ),
        (
            vec![Part::file(
                "file",
                "a.wav",
                "audio/wav",
                b"<html>not audio</html>",
            )],
            415,
            "INVALID_FILE_TYPE",
        ),
        (
            vec![Part::file("recording", "a.wav", "audio/wav", &wav())],
            400,
            "INVALID_REQUEST",
        ),
        (vec![Part::text("language", "en")], 400, "INVALID_REQUEST"),
    ];
    for (parts, status, code) in cases {
        let reply = audio.app.call(multipart::post(&path, &parts)).await;
        assert_coded(&reply, status, code);
    }
    let reply = audio.app.call(multipart::post(&path, &[])).await;
    assert_eq!(reply.json["error"]["message"], "No audio file provided");
    assert!(audio.requests_to("/audio/transcriptions").is_empty());
}

#[actix_web::test]
async fn oversized_and_stalled_audio_uploads_are_refused() {
    let mut config = HttpConfig::default();
    config.media.max_upload_bytes = 16;
    config.media.upload_idle_timeout = Duration::from_millis(200);
    // Audio checks run before the agent lookup on the seed route (its agent is a form field).
    let app = TestApp::with_config(config).await;
    let reply = app
        .call(multipart::post(
            "/api/audio/transcribe",
            &[Part::text("agentId", UNKNOWN_AGENT), wav_part("audio")],
        ))
        .await;
    assert_coded(&reply, 413, "FILE_TOO_LARGE");
    let req = TestRequest::post()
        .uri("/api/audio/transcribe")
        .insert_header(("content-type", multipart::content_type()));
    let reply = tokio::time::timeout(
        Duration::from_secs(5),
        app.call_streaming(req, futures_util::stream::pending()),
    )
    .await
    .expect("answered");
    assert_coded(&reply, 408, "REQUEST_TIMEOUT");
}

#[actix_web::test]
async fn a_failing_model_is_a_502_with_its_reason() {
    let audio = audio_app().await;
    audio.fake.push_transcription(FakeReply::status(400));
    let reply = audio
        .app
        .call(multipart::post(
            &audio.path("transcriptions"),
            &[wav_part("file")],
        ))
        .await;
    assert_coded(&reply, 502, "PROCESSING_ERROR");
    assert_eq!(reply.json["error"]["message"], "Error transcribing audio");
    assert!(
        reply.json["error"]["details"]
            .as_str()
            .unwrap()
            .contains("400")
    );

    audio.fake.push_speech(FakeReply::status(400));
    let reply = audio
        .app
        .post(&audio.path("speech/generate"), json!({"text": "Hi"}))
        .await;
    assert_coded(&reply, 502, "PROCESSING_ERROR");
    assert_eq!(reply.json["error"]["message"], "Error generating speech");
}

#[actix_web::test]
async fn speech_is_binary_audio_with_a_sniffed_type() {
    let audio = audio_app().await;
    let reply = audio
        .app
        .post(
            &audio.path("speech/generate"),
            json!({"text": "Hello there", "voice": "nova"}),
        )
        .await;
    assert_audio(&reply, "audio/mpeg", "fake mp3 audio: Hello there");
    let sent = audio.requests_to("/audio/speech");
    assert_eq!(sent[0].body["voice"], "nova");
    assert_eq!(sent[0].body["input"], "Hello there");

    // A WAV answer is labelled by its RIFF header, whatever the server says.
    audio.fake.push_speech(FakeReply::Bytes {
        content_type: "application/octet-stream".into(),
        body: wav(),
    });
    let reply = audio
        .app
        .post(
            &audio.path("speech/generate"),
            json!({"text": "Hi", "format": "wav"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), Some("audio/wav"));
    assert_eq!(reply.body.as_ref(), wav().as_slice());
    assert_eq!(
        audio.requests_to("/audio/speech")[1].body["response_format"],
        "wav"
    );

    // JSON when the client asks for it.
    let req = TestRequest::post()
        .uri(&audio.path("speech/generate"))
        .insert_header(("accept", "application/json"))
        .set_json(json!({"text": "Hi"}));
    assert_json_audio(&audio.app.call(req).await, "fake mp3 audio: Hi");
}

#[actix_web::test]
async fn speech_input_is_validated() {
    let audio = audio_app().await;
    for route in ["speech/generate", "audio-messages/synthesize"] {
        let path = audio.path(route);
        for body in [json!({}), json!({"text": "   "}), json!({"text": 5})] {
            let reply = audio.app.post(&path, body.clone()).await;
            assert_coded(&reply, 400, "INVALID_REQUEST");
        }
        for body in [
            json!({"text": "x", "format": "midi"}),
            json!({"text": "x", "speed": 10}),
        ] {
            assert_coded(&audio.app.post(&path, body).await, 400, "INVALID_REQUEST");
        }
        let bad_json = TestRequest::post()
            .uri(&path)
            .insert_header(("content-type", "application/json"))
            .set_payload("{\"text\": ");
        let reply = audio.app.call(bad_json).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.json);
        assert!(
            reply.json["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid JSON")
        );
        let not_object = audio.app.post(&path, json!(["text"])).await;
        assert_eq!(not_object.status, StatusCode::BAD_REQUEST);
    }
    assert!(audio.requests_to("/audio/speech").is_empty());
}

#[actix_web::test]
async fn a_channel_message_is_synthesized_by_its_id_and_a_blank_one_is_refused() {
    let audio = audio_app().await;
    let path = audio.path("audio-messages/synthesize");
    // A channel message (the agent's copy of it, or the message itself, has its text).
    let posted = audio
        .app
        .post(
            &format!("/api/messaging/channels/{}/messages", uuid::Uuid::new_v4()),
            json!({"author_id": uuid::Uuid::new_v4(), "content": "Read this aloud",
                   "message_server_id": "00000000-0000-0000-0000-000000000000",
                   "metadata": {"isDm": true, "targetUserId": audio.agent}}),
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.json);
    let message = posted.json["data"]["id"].as_str().unwrap().to_owned();
    let reply = audio.app.post(&path, json!({"messageId": message})).await;
    assert_json_audio(&reply, "fake mp3 audio: Read this aloud");

    // A memory of the agent whose text is blank has nothing to speak.
    let talk = audio
        .app
        .post(&audio.path("speech/conversation"), json!({"text": "Hi"}))
        .await;
    assert_eq!(talk.status, StatusCode::OK);
    let agent = AgentId::parse(&audio.agent).unwrap();
    let said = audio
        .app
        .state
        .store
        .list_memories(&MemoryQuery {
            table: MESSAGES_TABLE.into(),
            agent_id: Some(agent),
            ..MemoryQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.content["text"] == "Hi")
        .expect("the user's memory");
    let blanked = audio
        .app
        .patch(
            &format!("/api/memory/{}/memories/{}", audio.agent, said.id),
            json!({"content": {"text": "   "}}),
        )
        .await;
    assert_eq!(blanked.status, StatusCode::OK, "{}", blanked.json);
    let reply = audio
        .app
        .post(&path, json!({"messageId": said.id.to_string()}))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "The message has no text to speak"
    );
}

#[actix_web::test]
async fn a_stored_message_is_synthesized_by_its_id() {
    let audio = audio_app().await;
    let path = audio.path("audio-messages/synthesize");
    let reply = audio.app.post(&path, json!({"text": "Plain text"})).await;
    assert_audio(&reply, "audio/mpeg", "fake mp3 audio: Plain text");

    // A memory of the agent (here: one the conversation route stored).
    let talk = audio
        .app
        .post(
            &audio.path("speech/conversation"),
            json!({"text": "Tell me a story"}),
        )
        .await;
    assert_eq!(talk.status, StatusCode::OK, "{}", talk.json);
    let agent = AgentId::parse(&audio.agent).unwrap();
    let memories = audio
        .app
        .state
        .store
        .list_memories(&MemoryQuery {
            table: MESSAGES_TABLE.into(),
            agent_id: Some(agent),
            ..MemoryQuery::default()
        })
        .await
        .unwrap();
    let reply_memory = memories
        .iter()
        .find(|m| m.content["text"] == DEFAULT_REPLY)
        .expect("the reply memory");
    // The api-client's request (no text; 1.7.2 refused it) gets the JSON the client parses.
    let by_id =
        json!({"messageId": reply_memory.id.to_string(), "voice": "alloy", "format": "mp3"});
    let spoken = format!("fake mp3 audio: {DEFAULT_REPLY}");
    assert_json_audio(&audio.app.post(&path, by_id.clone()).await, &spoken);
    let req = TestRequest::post()
        .uri(&path)
        .insert_header(("accept", "audio/*"))
        .set_json(by_id);
    assert_audio(&audio.app.call(req).await, "audio/mpeg", &spoken);

    let reply = audio
        .app
        .post(&path, json!({"messageId": UNKNOWN_AGENT}))
        .await;
    assert_coded(&reply, 404, "NOT_FOUND");
    assert_eq!(reply.json["error"]["message"], "Message not found");
    let reply = audio.app.post(&path, json!({"messageId": "nope"})).await;
    assert_coded(&reply, 400, "INVALID_ID");

    // A blank or null `text` beside a `messageId` does not hide the message.
    for text in [json!(null), json!("  ")] {
        let reply = audio
            .app
            .post(
                &path,
                json!({"text": text, "messageId": reply_memory.id.to_string()}),
            )
            .await;
        assert_json_audio(&reply, &spoken);
    }
}

#[actix_web::test]
async fn a_spoken_conversation_replies_in_character_and_remembers_both_sides() {
    let audio = audio_app().await;
    let reply = audio
        .app
        .post(
            &audio.path("speech/conversation"),
            json!({"text": "What do you like?", "userName": "Ada"}),
        )
        .await;
    assert_audio(
        &reply,
        "audio/mpeg",
        &format!("fake mp3 audio: {DEFAULT_REPLY}"),
    );

    // The prompt carries the character and the user's words.
    let chat = audio.requests_to("/chat/completions");
    assert_eq!(chat.len(), 1);
    let prompt = chat[0].body["messages"].to_string();
    assert!(
        prompt.contains("Likes tea and tells short stories."),
        "{prompt}"
    );
    assert!(prompt.contains("Ada: What do you like?"), "{prompt}");
    assert_eq!(
        audio.requests_to("/audio/speech")[0].body["input"],
        DEFAULT_REPLY
    );

    // Both sides are memories of one room; a second exchange sees the first.
    let agent = AgentId::parse(&audio.agent).unwrap();
    let memories = |room: Option<RoomId>| {
        let store = audio.app.state.store.clone();
        async move {
            store
                .list_memories(&MemoryQuery {
                    table: MESSAGES_TABLE.into(),
                    agent_id: Some(agent),
                    room_id: room,
                    ..MemoryQuery::default()
                })
                .await
                .unwrap()
        }
    };
    let stored = memories(None).await;
    let texts: Vec<&str> = stored
        .iter()
        .filter_map(|m| m.content["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"What do you like?") && texts.contains(&DEFAULT_REPLY),
        "{texts:?}"
    );
    let room = stored[0].room_id;
    assert!(stored.iter().all(|m| m.room_id == room));
    audio.fake.push_chat(FakeReply::text(
        "<response><text>Tea, mostly.</text></response>",
    ));
    let again = audio
        .app
        .post(
            &audio.path("speech/conversation"),
            json!({"text": "And?", "userName": "Ada"}),
        )
        .await;
    assert_audio(&again, "audio/mpeg", "fake mp3 audio: Tea, mostly.");
    let prompt = audio.requests_to("/chat/completions")[1].body["messages"].to_string();
    assert!(
        prompt.contains(DEFAULT_REPLY),
        "the earlier reply is in the dialogue: {prompt}"
    );
    assert_eq!(memories(room).await.len(), 4);
}

#[actix_web::test]
async fn a_conversation_room_goes_into_the_agents_own_world_never_anothers() {
    let audio = audio_app().await;
    let agent = AgentId::parse(&audio.agent).unwrap();
    let other = audio.app.start_agent("Other").await.id;
    let theirs = crate::memory_fixture::world(&audio.app, other, "Theirs").await;
    let mine = crate::memory_fixture::world(&audio.app, agent, "Mine").await;
    let store = audio.app.state.store.clone();
    for (world, expected) in [(theirs.id, agent.0), (mine.id, mine.id.0)] {
        let room = RoomId::new_random();
        let reply = audio
            .app
            .post(
                &audio.path("speech/conversation"),
                json!({"text": "Hi", "roomId": room, "worldId": world}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
        let stored = store.get_room(room).await.unwrap().unwrap();
        assert_eq!(stored.world_id.map(|w| w.0), Some(expected));
        let memories = store
            .list_memories(&MemoryQuery {
                table: MESSAGES_TABLE.into(),
                room_id: Some(room),
                ..MemoryQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(memories.len(), 2);
        assert!(memories.iter().all(|m| m.world_id == stored.world_id));
    }
}

#[actix_web::test]
async fn the_api_clients_multipart_conversation_is_transcribed_first() {
    let audio = audio_app().await;
    audio
        .fake
        .push_transcription(FakeReply::text("Good morning!"));
    let parts = [
        wav_part("file"),
        Part::text("format", "wav"),
        Part::text("metadata", "{\"k\":1}"),
    ];
    let reply = audio
        .app
        .call(multipart::post(&audio.path("speech/conversation"), &parts))
        .await;
    // The form is the api-client's (1.7.2 answered it 500): JSON, as `speechConversation` parses.
    let data = assert_json_audio(&reply, &format!("fake mp3 audio: {DEFAULT_REPLY}"));
    assert_eq!(data["text"], DEFAULT_REPLY);
    assert_eq!(data["transcription"], "Good morning!");
    assert_eq!(audio.requests_to("/audio/transcriptions").len(), 1);
    let prompt = audio.requests_to("/chat/completions")[0].body["messages"].to_string();
    assert!(prompt.contains("User: Good morning!"), "{prompt}");
    assert_eq!(
        audio.requests_to("/audio/speech")[0].body["response_format"],
        "mp3",
        "the form's format describes the upload, not the reply"
    );

    // A text field needs no transcription.
    let reply = audio
        .app
        .call(multipart::post(
            &audio.path("speech/conversation"),
            &[Part::text("text", "Hi")],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(audio.requests_to("/audio/transcriptions").len(), 1);
}

#[actix_web::test]
async fn silence_and_an_empty_reply_are_reported() {
    let audio = audio_app().await;
    audio.fake.push_transcription(FakeReply::text("  "));
    let reply = audio
        .app
        .call(multipart::post(
            &audio.path("speech/conversation"),
            &[wav_part("file")],
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(
        reply.json["error"]["message"],
        "No speech was recognised in the audio"
    );
    assert!(audio.requests_to("/chat/completions").is_empty());

    audio.fake.push_chat(FakeReply::text("   "));
    let reply = audio
        .app
        .post(
            &audio.path("speech/conversation"),
            json!({"text": "Hello?"}),
        )
        .await;
    assert_coded(&reply, 502, "MODEL_ERROR");
    assert_eq!(reply.json["error"]["message"], "No response from model");
    assert!(
        audio.requests_to("/audio/speech").is_empty(),
        "nothing to speak"
    );
}

#[actix_web::test]
async fn speech_answers_the_api_clients_process_speech_as_json() {
    let audio = audio_app().await;
    audio
        .fake
        .push_transcription(FakeReply::text("How are you?"));
    let reply = audio
        .app
        .call(multipart::post(&audio.path("speech"), &[wav_part("file")]))
        .await;
    let data = assert_json_audio(&reply, &format!("fake mp3 audio: {DEFAULT_REPLY}"));
    assert_eq!(data["text"], DEFAULT_REPLY);
    assert_eq!(data["transcription"], "How are you?");
    for key in ["roomId", "messageId", "replyId"] {
        assert!(data[key].as_str().is_some(), "{key}: {data}");
    }

    // Accept switches either route.
    let req = multipart::post(&audio.path("speech"), &[Part::text("text", "Hi")])
        .insert_header(("accept", "audio/mpeg"));
    assert_eq!(
        audio.app.call(req).await.header("content-type"),
        Some("audio/mpeg")
    );
    let req = TestRequest::post()
        .uri(&audio.path("speech/conversation"))
        .insert_header(("accept", "application/json"))
        .set_json(json!({"text": "Hi"}));
    let reply = audio.app.call(req).await;
    assert_eq!(reply.json["data"]["text"], DEFAULT_REPLY);
    assert!(reply.json["data"].get("transcription").is_none());
}

#[actix_web::test]
async fn conversation_input_is_validated() {
    let audio = audio_app().await;
    for route in ["speech/conversation", "speech"] {
        let path = audio.path(route);
        let reply = audio.app.post(&path, json!({"roomId": null})).await;
        assert_coded(&reply, 400, "INVALID_REQUEST");
        assert_eq!(
            reply.json["error"]["message"],
            "Text (or an audio file) is required for conversation"
        );
        let empty_form = audio
            .app
            .call(multipart::post(&path, &[Part::text("language", "en")]))
            .await;
        assert_coded(&empty_form, 400, "INVALID_REQUEST");
        for key in ["roomId", "entityId", "worldId"] {
            let mut body = json!({"text": "hi"});
            body[key] = json!("not-a-uuid");
            let reply = audio.app.post(&path, body).await;
            assert_coded(&reply, 400, "INVALID_ID");
        }
        let png = Part::file("file", "a.png", "image/png", &png());
        assert_coded(
            &audio.app.call(multipart::post(&path, &[png])).await,
            415,
            "INVALID_FILE_TYPE",
        );
        let bad_json = TestRequest::post()
            .uri(&path)
            .insert_header(("content-type", "application/json"))
            .set_payload("{oops");
        assert_eq!(
            audio.app.call(bad_json).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    // Another agent's room is not this agent's to talk in.
    let other = audio.ollama_agent().await;
    let other_self_room = other.clone();
    let reply = audio
        .app
        .post(
            &audio.path("speech/conversation"),
            json!({"text": "hi", "roomId": other_self_room}),
        )
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert!(audio.requests_to("/chat/completions").is_empty());
}

#[actix_web::test]
async fn no_audio_model_is_a_503_naming_the_setting() {
    let audio = audio_app().await;
    let quiet = audio.ollama_agent().await;
    let transcribe = audio
        .app
        .call(multipart::post(
            &format!("/api/audio/{quiet}/transcriptions"),
            &[wav_part("file")],
        ))
        .await;
    assert_coded(&transcribe, 503, "MODEL_NOT_CONFIGURED");
    let message = transcribe.json["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("No TRANSCRIPTION model"), "{message}");
    assert!(message.contains("OPENAI_API_KEY"), "{message}");
    for route in [
        "speech/generate",
        "audio-messages/synthesize",
        "speech/conversation",
        "speech",
    ] {
        let reply = audio
            .app
            .post(
                &format!("/api/audio/{quiet}/{route}"),
                json!({"text": "hi"}),
            )
            .await;
        assert_coded(&reply, 503, "MODEL_NOT_CONFIGURED");
        assert!(
            reply.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("TEXT_TO_SPEECH"),
            "{route}"
        );
    }
    assert!(
        audio.fake.requests().is_empty(),
        "nothing was sent to a model"
    );
}

#[actix_web::test]
async fn agents_must_exist_and_run() {
    let audio = audio_app().await;
    let created = audio
        .app
        .post(
            "/api/agents",
            json!({"characterJson": {"name": "Sleepy", "bio": ["zz"]}}),
        )
        .await;
    let stopped = created.json["data"]["id"].as_str().unwrap().to_owned();
    for agent in [stopped.as_str(), UNKNOWN_AGENT] {
        let reply = audio
            .app
            .post(
                &format!("/api/audio/{agent}/speech/generate"),
                json!({"text": "hi"}),
            )
            .await;
        assert_coded(&reply, 404, "NOT_FOUND");
        assert_eq!(reply.json["error"]["message"], "Agent not found");
        let reply = audio
            .app
            .call(multipart::post(
                &format!("/api/audio/{agent}/transcriptions"),
                &[wav_part("file")],
            ))
            .await;
        assert_coded(&reply, 404, "NOT_FOUND");
    }
    let reply = audio
        .app
        .post("/api/audio/not-a-uuid/speech", json!({"text": "hi"}))
        .await;
    assert_eq!(
        reply.json,
        json!({"success": false, "error": {"code": "INVALID_ID", "message": "Invalid agent ID format"}})
    );
}

#[actix_web::test]
async fn without_agent_runtimes_audio_is_unavailable() {
    let app = TestApp::new().await;
    let agent = app.start_agent("Tracked").await;
    let reply = app
        .post(
            &format!("/api/audio/{}/speech/generate", agent.id),
            json!({"text": "hi"}),
        )
        .await;
    assert_coded(&reply, 503, "MODEL_UNAVAILABLE");
    let reply = app
        .post(
            &format!("/api/audio/{UNKNOWN_AGENT}/speech/generate"),
            json!({"text": "hi"}),
        )
        .await;
    assert_coded(&reply, 404, "NOT_FOUND");
}

#[actix_web::test]
async fn the_seed_routes_take_the_agent_from_the_body() {
    let audio = audio_app().await;
    let parts = [Part::text("agentId", &audio.agent), wav_part("audio")];
    let reply = audio
        .app
        .call(multipart::post("/api/audio/transcribe", &parts))
        .await;
    assert_eq!(
        reply.json,
        json!({"success": true, "data": {"transcription": FAKE_TRANSCRIPT, "text": FAKE_TRANSCRIPT}})
    );
    let parts = [wav_part("file"), Part::text("agentId", &audio.agent)];
    let reply = audio
        .app
        .call(multipart::post("/api/audio/transcribe", &parts))
        .await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "the field may be `file` and come first"
    );
    let reply = audio
        .app
        .call(multipart::post(
            "/api/audio/transcribe",
            &[wav_part("audio")],
        ))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    assert_eq!(reply.json["error"]["message"], "agentId is required");
    let parts = [Part::text("agentId", "bad"), wav_part("audio")];
    let reply = audio
        .app
        .call(multipart::post("/api/audio/transcribe", &parts))
        .await;
    assert_coded(&reply, 400, "INVALID_ID");

    let reply = audio
        .app
        .post(
            "/api/audio/generate",
            json!({"text": "Seed speech", "agentId": audio.agent}),
        )
        .await;
    assert_audio(&reply, "audio/mpeg", "fake mp3 audio: Seed speech");
    let reply = audio
        .app
        .post("/api/audio/generate", json!({"text": "x"}))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
    let reply = audio
        .app
        .post(
            "/api/audio/generate",
            json!({"text": "x", "agentId": UNKNOWN_AGENT}),
        )
        .await;
    assert_coded(&reply, 404, "NOT_FOUND");
    let reply = audio
        .app
        .post("/api/audio/generate", json!({"agentId": audio.agent}))
        .await;
    assert_coded(&reply, 400, "INVALID_REQUEST");
}

#[actix_web::test]
async fn audio_routes_pass_the_upload_limiter() {
    let app = TestApp::with_config(HttpConfig {
        rate_limits: RateLimitConfig {
            upload: LimitRule::new(1, Duration::from_secs(900)),
            ..RateLimitConfig::default()
        },
        ..HttpConfig::default()
    })
    .await;
    let request = || {
        TestRequest::post()
            .uri(&format!("/api/audio/{UNKNOWN_AGENT}/speech/generate"))
            .peer_addr("203.0.113.9:5000".parse().unwrap())
            .set_json(json!({"text": "hi"}))
    };
    let first = app.call(request()).await;
    assert_eq!(first.status, StatusCode::NOT_FOUND);
    assert_eq!(
        first.header("ratelimit-limit"),
        Some("100"),
        "the file limiter's headers win"
    );
    let second = app.call(request()).await;
    assert_coded(&second, 429, "UPLOAD_RATE_LIMIT_EXCEEDED");
    let value: Value = second.json.clone();
    assert_eq!(
        value["error"]["message"],
        "Too many upload attempts. Please try again later."
    );
}
