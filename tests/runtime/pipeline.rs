//! The message pipeline end to end over a real store and a scripted model.

use crate::harness::{Harness, Sent, character, handler_answer};
use eliza_bus::AgentDispatch;
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::memory::{MESSAGES_TABLE, MemoryQuery};
use eliza_domain::messaging::ChannelType;
use eliza_domain::store::{MemoryStore, WorldStore};
use eliza_domain::world::RoomState;
use eliza_domain::{Agent, ChannelId, EntityId};
use eliza_models::testing::{ScriptedCall, ScriptedReply};
use eliza_models::{ModelError, ModelType, Unavailability};
use eliza_runtime::turn::MappedIds;
use serde_json::json;
use std::time::Duration;

fn text_calls(harness: &Harness) -> Vec<(ModelType, String, bool)> {
    harness
        .model
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ScriptedCall::Text {
                model_type,
                request,
                streamed,
            } => Some((model_type, request.prompt, streamed)),
            ScriptedCall::Embed { .. } => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_gets_one_streamed_model_call_and_one_reply() {
    let harness = Harness::start().await;
    harness.model.push(ScriptedReply::chunks([
        "<response><thought>Answering Ada.</thought><actions>REPLY</actions>",
        "<providers></providers><text>Try a sen",
        "cha, Ada.</text></response>",
    ]));
    let channel = ChannelId::new_random();
    let message = harness.message(channel, "Any tea ideas?", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    let sent = harness.outbox.completions(1).await;

    let calls = text_calls(&harness);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (model_type, prompt, streamed) = &calls[0];
    assert_eq!(*model_type, ModelType::TextLarge);
    assert!(streamed);
    assert!(prompt.contains("Generate dialog and actions for the character Eliza"));
    assert!(prompt.contains("Ada: Any tea ideas?"), "{prompt}");

    let replies = harness.outbox.replies();
    assert_eq!(replies.len(), 1);
    let reply = &replies[0];
    assert_eq!(reply.content, "Try a sencha, Ada.");
    assert_eq!(reply.in_reply_to, Some(message.id));
    assert_eq!(reply.author_id, harness.agent.id.to_string());
    assert_eq!(reply.source_type, "agent_response");
    assert_eq!(reply.metadata.as_ref().unwrap()["isDm"], json!(true));
    // Chunks come first, under the reply's id, and add up to its text.
    let chunks: Vec<_> = sent
        .iter()
        .take_while(|s| !matches!(s, Sent::Reply(_)))
        .filter_map(|s| match s {
            Sent::Chunk(chunk) => Some(chunk.clone()),
            _ => None,
        })
        .collect();
    assert!(!chunks.is_empty());
    assert!(chunks.iter().all(|c| Some(c.message_id) == reply.id));
    assert_eq!(
        chunks.iter().map(|c| c.chunk.as_str()).collect::<String>(),
        reply.content
    );
    assert!(
        matches!(sent.last(), Some(Sent::Complete(c, Some(id))) if *c == channel && *id == message.id)
    );

    // The incoming memory gets its embedding; the reply is a memory with the reply's id.
    let ids = MappedIds::of(harness.agent.id, &message);
    for _ in 0..200 {
        let memory = harness.store.get_memory(ids.memory).await.unwrap().unwrap();
        if memory.embedding.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let memory = harness.store.get_memory(ids.memory).await.unwrap().unwrap();
    assert_eq!(memory.embedding.as_ref().map(Vec::len), Some(384));
    let reply_memory = harness
        .store
        .get_memory(eliza_domain::MemoryId(reply.id.unwrap().0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply_memory.content["text"], "Try a sencha, Ada.");
    assert_eq!(reply_memory.entity_id, Some(EntityId(harness.agent.id.0)));

    // The run is logged: started, the model call, completed; and the embedding.
    let run = harness
        .wait_for_log("run_event", |body| body["status"] == "completed")
        .await;
    let run_id = run.body["runId"].clone();
    let model_log = harness
        .wait_for_log("useModel:TEXT_LARGE", |body| body["runId"] == run_id)
        .await;
    assert_eq!(model_log.body["provider"], "scripted");
    assert_eq!(
        model_log.body["response"].as_str().unwrap(),
        handler_answer("REPLY", "Try a sencha, Ada.")
    );
    harness
        .wait_for_log("run_event", |body| {
            body["runId"] == run_id && body["status"] == "started"
        })
        .await;
    harness
        .wait_for_log("embedding_event", |body| body["status"] == "completed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_message_not_for_the_agent_is_ignored_after_the_should_respond_check() {
    let harness = Harness::start().await;
    harness.model.push_text(
        "<response><name>Eliza</name><reasoning>Not addressed.</reasoning><action>IGNORE</action></response>",
    );
    let channel = ChannelId::new_random();
    let message = harness.message(channel, "Bob, lunch at noon?", "client_group_chat");
    harness.send(&message, ChannelType::Group).await;
    harness.outbox.completions(1).await;

    let calls = text_calls(&harness);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].0, ModelType::TextSmall);
    assert!(calls[0].1.contains("Decide on behalf of Eliza"));
    assert!(harness.outbox.replies().is_empty());
    // One IGNORE memory, not two (a 1.7.2 quirk).
    let ids = MappedIds::of(harness.agent.id, &message);
    let memories = room_memories(&harness, ids).await;
    let ignores = memories
        .iter()
        .filter(|m| m.content["actions"] == json!(["IGNORE"]))
        .count();
    assert_eq!(ignores, 1);
}

async fn room_memories(harness: &Harness, ids: MappedIds) -> Vec<eliza_domain::memory::Memory> {
    harness
        .store
        .list_memories(&MemoryQuery {
            table: MESSAGES_TABLE.to_owned(),
            room_id: Some(ids.room),
            limit: Some(100),
            ..MemoryQuery::default()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignore_answer_completes_the_turn_without_a_reply() {
    let harness = Harness::start().await;
    harness.model.push_text(handler_answer("IGNORE", ""));
    let message = harness.message(ChannelId::new_random(), "bye", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    assert!(harness.outbox.replies().is_empty());
    harness
        .wait_for_log("run_event", |body| body["status"] == "completed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_error_fails_the_run_visibly_and_still_completes() {
    let harness = Harness::start().await;
    harness
        .model
        .push(ScriptedReply::Error(ModelError::Unavailable {
            provider: "scripted".to_owned(),
            reason: Unavailability::Connect {
                url: "http://127.0.0.1:9".to_owned(),
                cause: "connection refused".to_owned(),
            },
        }));
    let message = harness.message(ChannelId::new_random(), "hello?", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    let sent = harness.outbox.completions(1).await;
    assert!(harness.outbox.replies().is_empty());
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Failed(e) if e.contains("unavailable"))),
        "{sent:?}"
    );
    let run = harness
        .wait_for_log("run_event", |body| body["status"] == "error")
        .await;
    assert!(
        run.body["error"]
            .as_str()
            .unwrap()
            .contains("connection refused")
    );
    let model_log = harness
        .wait_for_log("useModel:TEXT_LARGE", |body| body["error"].is_string())
        .await;
    assert!(model_log.body["response"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_retried_then_fail_the_turn() {
    let harness = Harness::start().await;
    for _ in 0..3 {
        harness.model.push_text("I am not XML at all");
    }
    let message = harness.message(ChannelId::new_random(), "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    let sent = harness.outbox.completions(1).await;
    assert_eq!(text_calls(&harness).len(), 3);
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Failed(e) if e.contains("could not be parsed")))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_with_another_action_makes_a_second_call_and_runs_the_action() {
    let harness = Harness::start().await;
    harness
        .model
        .push_text(handler_answer("REPLY,FOLLOW_ROOM", "Sure."));
    harness.model.push_text(
        "<response><thought>ok</thought><text>I will follow this room.</text></response>",
    );
    let channel = ChannelId::new_random();
    let message = harness.message(channel, "Eliza, follow this room", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;

    let calls = text_calls(&harness);
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1]
            .1
            .contains("# Task: Generate dialog for the character Eliza.")
    );
    let replies = harness.outbox.replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].content, "I will follow this room.");
    let ids = MappedIds::of(harness.agent.id, &message);
    let participants = harness
        .store
        .list_room_participants(ids.room)
        .await
        .unwrap();
    let agent = participants
        .iter()
        .find(|p| p.entity_id == EntityId(harness.agent.id.0))
        .unwrap();
    assert_eq!(agent.room_state, Some(RoomState::Followed));
    let results: Vec<_> = room_memories(&harness, ids)
        .await
        .into_iter()
        .filter(|m| m.content["type"] == "action_result")
        .collect();
    assert_eq!(results.len(), 2);
    harness
        .wait_for_log("action", |body| body["action"] == "FOLLOW_ROOM")
        .await;
    harness
        .wait_for_log("action", |body| body["action"] == "REPLY")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_delivered_twice_is_handled_once_and_own_messages_never() {
    let harness = Harness::start().await;
    harness.model.push_text(handler_answer("REPLY", "Once."));
    let channel = ChannelId::new_random();
    let message = harness.message(channel, "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    harness.send(&message, ChannelType::Dm).await;
    let mut own = harness.message(channel, "my own words", "client_chat");
    own.author_id = harness.agent.id.to_string();
    harness.send(&own, ChannelType::Dm).await;
    let mut other_agent = harness.message(channel, "another agent's reply", "agent_response");
    other_agent.author_id = eliza_domain::AgentId::new_random().to_string();
    harness.send(&other_agent, ChannelType::Dm).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(harness.outbox.replies().len(), 1);
    assert_eq!(text_calls(&harness).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hot_update_changes_the_next_turn_and_deleted_messages_are_forgotten() {
    let harness = Harness::start().await;
    let updated = Agent {
        character: character(json!({"system": "You are Eliza, now terse."})),
        ..harness.agent.clone()
    };
    harness.registry.update(&updated).await.unwrap();
    harness.model.push_text(handler_answer("REPLY", "Ok."));
    let channel = ChannelId::new_random();
    let message = harness.message(channel, "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    let request = harness
        .model
        .calls()
        .into_iter()
        .find_map(|call| match call {
            ScriptedCall::Text { request, .. } => Some(request),
            ScriptedCall::Embed { .. } => None,
        })
        .unwrap();
    assert_eq!(request.system.as_deref(), Some("You are Eliza, now terse."));
    assert_eq!(request.user.as_deref(), Some("Eliza"));

    let ids = MappedIds::of(harness.agent.id, &message);
    harness
        .inboxes
        .dispatch(
            harness.agent.id,
            eliza_bus::AgentWork::MessageDeleted {
                channel_id: channel,
                message_id: message.id,
            },
        )
        .await
        .unwrap();
    for _ in 0..100 {
        if harness
            .store
            .get_memory(ids.memory)
            .await
            .unwrap()
            .is_none()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        harness
            .store
            .get_memory(ids.memory)
            .await
            .unwrap()
            .is_none()
    );
    assert!(harness.registry.stop(harness.agent.id).await);
    assert!(!harness.registry.stop(harness.agent.id).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_change_restarts_the_agent_and_a_failed_restart_restores_the_old_one() {
    let model = eliza_models::testing::ScriptedProvider::new();
    let harness = Harness::start_custom(
        character(json!({})),
        Default::default(),
        model,
        |character| {
            if character
                .plugins
                .iter()
                .any(|p| p == "@elizaos/plugin-anthropic")
            {
                Err("ANTHROPIC_API_KEY is not set".to_owned())
            } else {
                Ok(())
            }
        },
    )
    .await;
    let id = harness.agent.id;
    let broken = Agent {
        character: character(json!({"plugins": ["@elizaos/plugin-anthropic"], "system": "New."})),
        ..harness.agent.clone()
    };
    let err = harness.registry.update(&broken).await.unwrap_err();
    assert!(err.0.contains("ANTHROPIC_API_KEY"), "{err}");
    // Still running, with the old character.
    assert_eq!(harness.registry.running(), vec![id]);
    let runtime = harness.registry.runtime(id).unwrap();
    assert_eq!(
        runtime.character().system.as_deref(),
        Some("You are Eliza.")
    );

    let changed = Agent {
        character: character(
            json!({"plugins": ["@elizaos/plugin-ollama"], "system": "Restarted."}),
        ),
        ..harness.agent.clone()
    };
    harness.registry.update(&changed).await.unwrap();
    let restarted = harness.registry.runtime(id).unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&runtime, &restarted),
        "a new runtime was built"
    );
    assert_eq!(restarted.character().system.as_deref(), Some("Restarted."));
    // The restarted agent still answers.
    harness.model.push_text(handler_answer("REPLY", "Back."));
    let message = harness.message(ChannelId::new_random(), "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    assert_eq!(harness.outbox.replies()[0].content, "Back.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_and_failing_actions_are_recorded_and_the_turn_still_completes() {
    let harness = Harness::start().await;
    harness
        .model
        .push_text(handler_answer("REPLY,DANCE_WILDLY", "Watch this."));
    harness.model.push(ScriptedReply::Error(ModelError::Http {
        provider: "scripted".to_owned(),
        status: 500,
        body: "boom".to_owned(),
    }));
    let message = harness.message(ChannelId::new_random(), "dance!", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    assert!(harness.outbox.replies().is_empty());
    let ids = MappedIds::of(harness.agent.id, &message);
    let results: Vec<_> = room_memories(&harness, ids)
        .await
        .into_iter()
        .filter(|m| m.content["type"] == "action_result")
        .collect();
    let status_of = |name: &str| {
        results
            .iter()
            .find(|m| m.content["actionName"] == name)
            .map(|m| (m.content["actionStatus"].clone(), m.content["text"].clone()))
            .unwrap()
    };
    let (status, text) = status_of("REPLY");
    assert_eq!(status, "failed");
    assert!(text.as_str().unwrap().contains("500"), "{text}");
    let (status, text) = status_of("DANCE_WILDLY");
    assert_eq!(status, "failed");
    assert_eq!(text, "Action not found: DANCE_WILDLY");
    harness
        .wait_for_log("run_event", |body| body["status"] == "completed")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignore_in_any_case_sends_nothing() {
    let harness = Harness::start().await;
    harness
        .model
        .push_text(handler_answer("ignore", "I would rather not say this."));
    let message = harness.message(ChannelId::new_random(), "hm", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    assert!(harness.outbox.replies().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_over_its_time_limit_ends_as_timeout_and_completes() {
    let options = eliza_runtime::RuntimeOptions {
        run_timeout: Duration::ZERO,
        ..Default::default()
    };
    let harness = Harness::start_with(character(json!({})), options).await;
    // A model that never answers: with nothing scripted the call would fail at once, and under
    // load that failure could be seen before the zero-length timer fires.
    harness
        .model
        .push(ScriptedReply::ChunksThenStall(Vec::new()));
    let message = harness.message(ChannelId::new_random(), "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    let sent = harness.outbox.completions(1).await;
    assert!(
        sent.iter()
            .any(|s| matches!(s, Sent::Failed(e) if e.contains("took longer"))),
        "{sent:?}"
    );
    let run = harness
        .wait_for_log("run_event", |body| body["status"] == "timeout")
        .await;
    assert!(run.body["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_a_text_model_says_so_and_its_embeddings_fail_visibly() {
    let only_small = eliza_models::testing::ScriptedProvider::new()
        .with_supported([ModelType::TextSmall, ModelType::TextEmbedding]);
    only_small.push_embedding_error(ModelError::InvalidRequest("no".to_owned()));
    let harness =
        Harness::start_custom(character(json!({})), Default::default(), only_small, |_| {
            Ok(())
        })
        .await;
    let message = harness.message(ChannelId::new_random(), "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    let sent = harness.outbox.completions(1).await;
    assert!(
        sent.iter().any(
            |s| matches!(s, Sent::Failed(e) if e.contains("no model provider serves TEXT_LARGE"))
        ),
        "{sent:?}"
    );
    let failed = harness
        .wait_for_log("embedding_event", |body| body["status"] == "failed")
        .await;
    assert!(failed.body["error"].as_str().unwrap().contains("no"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_deleted_under_the_agent_is_set_up_again_on_the_next_message() {
    let harness = Harness::start().await;
    let channel = ChannelId::new_random();
    harness.model.push_text(handler_answer("REPLY", "One."));
    let first = harness.message(channel, "first", "client_chat");
    harness.send(&first, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    let ids = MappedIds::of(harness.agent.id, &first);
    assert!(harness.store.delete_room(ids.room).await.unwrap());

    harness.model.push_text(handler_answer("REPLY", "Two."));
    harness
        .send(
            &harness.message(channel, "second", "client_chat"),
            ChannelType::Dm,
        )
        .await;
    harness.outbox.completions(2).await;
    assert_eq!(harness.outbox.replies()[1].content, "Two.");
    assert!(harness.store.get_room(ids.room).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_stores_new_facts_and_relationships_every_few_messages() {
    let harness = Harness::start().await;
    let channel = ChannelId::new_random();
    let user = "0f5ad9e1-7a5e-4c1b-9a43-3e8b1f6c2d10";
    let agent = harness.agent.id.to_string();
    for turn in 1..=5 {
        harness
            .model
            .push_text(handler_answer("REPLY", &format!("Answer {turn}.")));
        if turn == 5 {
            // Ten messages are in the room now: REFLECTION runs (TEXT_SMALL).
            harness.model.push_text(format!(
                "<response><thought>Going well.</thought>\
                 <facts><fact><claim>Ada drinks green tea</claim><type>fact</type><in_bio>false</in_bio><already_known>false</already_known></fact>\
                 <fact><claim>Eliza likes tea</claim><type>fact</type><in_bio>true</in_bio><already_known>false</already_known></fact></facts>\
                 <relationships><relationship><sourceEntityId>{user}</sourceEntityId><targetEntityId>{agent}</targetEntityId><tags>dm_interaction</tags></relationship>\
                 <relationship><sourceEntityId>{user}</sourceEntityId><targetEntityId>not-in-room</targetEntityId><tags>x</tags></relationship></relationships></response>"
            ));
        }
        let message = harness.message(channel, &format!("message {turn}"), "client_chat");
        harness.send(&message, ChannelType::Dm).await;
        harness.outbox.completions(turn).await;
    }
    harness
        .wait_for_log("evaluator", |body| {
            body["evaluator"] == "REFLECTION" && body["success"] == true
        })
        .await;
    let room = eliza_runtime::turn::room_of(harness.agent.id, &channel.to_string());
    let facts = harness
        .store
        .list_memories(&MemoryQuery {
            table: "facts".to_owned(),
            room_id: Some(room),
            limit: Some(10),
            ..MemoryQuery::default()
        })
        .await
        .unwrap();
    let claims: Vec<_> = facts.iter().map(|f| f.content["text"].clone()).collect();
    assert_eq!(
        claims,
        vec![json!("Ada drinks green tea")],
        "facts already in the bio are skipped"
    );
    let relationships = harness
        .store
        .list_entity_relationships(
            harness.agent.id,
            EntityId(uuid::Uuid::parse_str(user).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(relationships.len(), 1, "ids outside the room are ignored");
    assert_eq!(relationships[0].tags, ["dm_interaction"]);
    // Six answers and one reflection: the sixth turn does not reflect again so soon.
    harness.model.push_text(handler_answer("REPLY", "Six."));
    harness
        .send(
            &harness.message(channel, "message 6", "client_chat"),
            ChannelType::Dm,
        )
        .await;
    harness.outbox.completions(6).await;
    assert_eq!(text_calls(&harness).len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedding_of_the_wrong_length_is_refused_not_stored() {
    let harness = Harness::start_with(
        character(json!({"settings": {"EMBEDDING_DIMENSION": "8"}})),
        Default::default(),
    )
    .await;
    harness.model.push_text(handler_answer("REPLY", "Ok."));
    let message = harness.message(ChannelId::new_random(), "hi", "client_chat");
    harness.send(&message, ChannelType::Dm).await;
    harness.outbox.completions(1).await;
    let failed = harness
        .wait_for_log("embedding_event", |body| body["status"] == "failed")
        .await;
    assert!(
        failed.body["error"]
            .as_str()
            .unwrap()
            .contains("384 dimensions, the agent's embeddings have 8"),
        "{}",
        failed.body
    );
    let ids = MappedIds::of(harness.agent.id, &message);
    let memory = harness.store.get_memory(ids.memory).await.unwrap().unwrap();
    assert!(memory.embedding.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_message_stops_the_older_turn_while_its_model_is_still_writing() {
    let harness = Harness::start().await;
    harness.model.push(ScriptedReply::ChunksThenStall(vec![
        "<response><thought>t</thought><actions>REPLY</actions><text>Let me th".into(),
    ]));
    harness
        .model
        .push_text(handler_answer("REPLY", "The answer to the second."));
    let channel = ChannelId::new_random();
    harness
        .send(
            &harness.message(channel, "first", "client_chat"),
            ChannelType::Dm,
        )
        .await;
    // The first turn's model is writing (and would never finish) when the second arrives.
    harness.outbox.chunks(1).await;
    harness
        .send(
            &harness.message(channel, "second", "client_chat"),
            ChannelType::Dm,
        )
        .await;

    harness.outbox.completions(2).await;
    let replies = harness.outbox.replies();
    assert_eq!(replies.len(), 1, "only the newer message is answered");
    assert_eq!(replies[0].content, "The answer to the second.");
    harness
        .wait_for_log("run_event", |body| body["status"] == "replaced")
        .await;
}
