//! Golden tests of the prompts the pipeline really sends: a fixed character and conversation,
//! the bootstrap providers composing the state, a fixed turn seed. The clock is the only input
//! not fixed, so the current time and the `HH:MM` of each line are masked before comparing.
//!
//! Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p eliza-e2e --test runtime composed` and review the diff.

use crate::harness::{Harness, character, handler_answer};
use eliza_domain::ChannelId;
use eliza_domain::messaging::ChannelType;
use eliza_models::testing::ScriptedCall;
use eliza_runtime::RuntimeOptions;
use serde_json::json;
use std::path::PathBuf;

fn golden_character() -> eliza_domain::Character {
    character(json!({
        "bio": ["Likes tea.", "Speaks plainly and kindly.", "Grew up by the sea."],
        "adjectives": ["patient", "curious"],
        "topics": ["tea", "poetry", "birds", "tides"],
        "style": {"all": ["Be concise."], "chat": ["Ask one question back at most."]},
        "messageExamples": [
            [{"name": "{{user1}}", "content": {"text": "Do you like coffee?"}},
             {"name": "Eliza", "content": {"text": "I prefer tea.", "actions": ["REPLY"]}}],
            [{"name": "{{user1}}", "content": {"text": "Stop talking."}},
             {"name": "Eliza", "content": {"text": "", "actions": ["IGNORE"]}}]
        ]
    }))
}

/// Masks what depends on the clock: the TIME sentence and the `HH:MM` of dialogue lines.
fn mask_clock(prompt: &str) -> String {
    const TIME: &str = "The current date and time is ";
    let mut out = prompt.to_owned();
    if let Some(start) = out.find(TIME) {
        let from = start + TIME.len();
        if let Some(len) = out[from..].find(". Please") {
            out.replace_range(from..from + len, "<now>");
        }
    }
    let bytes: Vec<char> = out.chars().collect();
    let mut masked = String::with_capacity(out.len());
    let mut i = 0;
    while i < bytes.len() {
        let window: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let is_clock = window.len() == 7
            && window.chars().enumerate().all(|(k, c)| match k {
                2 => c == ':',
                5 => c == ' ',
                6 => c == '(',
                _ => c.is_ascii_digit(),
            });
        if is_clock {
            masked.push_str("HH:MM (");
            i += 7;
        } else {
            masked.push(bytes[i]);
            i += 1;
        }
    }
    masked
}

fn prompts(harness: &Harness) -> Vec<String> {
    harness
        .model
        .calls()
        .into_iter()
        .filter_map(|call| match call {
            ScriptedCall::Text { request, .. } => Some(mask_clock(&request.prompt)),
            ScriptedCall::Embed { .. } => None,
        })
        .collect()
}

fn check(name: &str, rendered: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("runtime/golden/{name}.txt"));
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|value| value == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, rendered).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("{}: {err} (UPDATE_GOLDEN=1 creates it)", path.display()));
    assert!(
        expected == rendered,
        "{} differs (UPDATE_GOLDEN=1 rewrites it):\n{rendered}",
        path.display()
    );
}

/// A fixed channel, so every derived id (room, participants) and thus every order is fixed too.
fn fixed_channel() -> ChannelId {
    ChannelId::parse("5c0b4c1e-6a53-4d6e-9f0e-2f8b7d1e4a90").unwrap()
}

async fn seeded() -> Harness {
    let options = RuntimeOptions {
        seed: Some(7),
        ..RuntimeOptions::default()
    };
    Harness::start_with(golden_character(), options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_handler_prompt_of_a_dm_turn_is_pinned() {
    let harness = seeded().await;
    let channel = fixed_channel();
    harness
        .model
        .push_text(handler_answer("REPLY", "Try a sencha."));
    harness
        .send(
            &harness.message(channel, "Any tea ideas?", "client_chat"),
            ChannelType::Dm,
        )
        .await;
    harness.outbox.completions(1).await;
    // History is ordered by millisecond, then by id: a question written in the reply's own
    // millisecond could be listed before it. Let the clock move on so the order is the real one.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    harness
        .model
        .push_text(handler_answer("REPLY", "Lapsang souchong."));
    harness
        .send(
            &harness.message(channel, "Something <smoky> & \"strong\"?", "client_chat"),
            ChannelType::Dm,
        )
        .await;
    harness.outbox.completions(2).await;
    let prompts = prompts(&harness);
    assert_eq!(prompts.len(), 2);
    check("messageHandler_dm", &prompts[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_should_respond_prompt_of_a_group_turn_is_pinned() {
    let harness = seeded().await;
    harness.model.push_text(
        "<response><name>Eliza</name><reasoning>Not for me.</reasoning><action>IGNORE</action></response>",
    );
    let channel = fixed_channel();
    harness
        .send(
            &harness.message(channel, "Bob, lunch at noon?", "client_group_chat"),
            ChannelType::Group,
        )
        .await;
    harness.outbox.completions(1).await;
    check("shouldRespond_group", &prompts(&harness)[0]);
}

#[test]
fn the_clock_mask_hides_only_times() {
    assert_eq!(
        mask_clock(
            "10:02 (3 minutes ago) [x] Ada: at 12:30 (sharp) ok\nThe current date and time is Monday. Please use"
        ),
        "HH:MM (3 minutes ago) [x] Ada: at HH:MM (sharp) ok\nThe current date and time is <now>. Please use"
    );
}
