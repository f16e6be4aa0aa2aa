//! Per-turn CPU costs of the message pipeline: parsing the model's XML reply, rendering the
//! message-handler prompt, and deriving ids with `string_to_uuid`, which every message does.
//!
//! `cargo bench -p eliza-runtime --bench hot_paths`; under `cargo test --benches` each bench runs
//! once. Every input is checked before it is measured, so a broken path fails instead of timing
//! an early return.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use eliza_domain::ids::{string_to_uuid, validate_uuid};
use eliza_domain::memory::Memory;
use eliza_domain::{AgentId, Character, EntityId, MemoryId, RoomId};
use eliza_runtime::bootstrap::character::describe;
use eliza_runtime::bootstrap::conversation::format_message;
use eliza_runtime::prompt::PromptRenderer;
use eliza_runtime::state::{ProviderResult, State};
use eliza_runtime::templates::TemplateName;
use eliza_runtime::xml::parse_key_value_xml;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Duration;

/// A message-handler answer as a large model writes it: ~400 characters of text.
const HANDLER_REPLY: &str = "<response>
  <thought>The user asks how to keep a sourdough starter alive while travelling for two weeks. \
Eliza knows this well; a direct answer with a concrete routine fits, no extra context needed.</thought>
  <actions>REPLY</actions>
  <providers>FACTS,ENTITIES</providers>
  <text>Two weeks is fine! Feed it the morning you leave, give it a stiffer mix than usual (about \
1 part starter, 5 parts flour, 4 parts water), put it in a clean jar with a loose lid and straight \
into the fridge. When you're back, discard all but a spoonful and feed it twice a day at room \
temperature; it should be bubbly again within two or three feeds. If a grey liquid (&quot;hooch&quot;) \
sits on top, just pour it off &amp; carry on.</text>
</response>";

fn fenced_reply() -> String {
    format!(
        "Sure, here is my answer in the requested format:\n\n```xml\n{HANDLER_REPLY}\n```\n\nLet me know if you need anything else."
    )
}

fn reply_with_think_block() -> String {
    format!(
        "<think>The user wants travel advice for a starter. I should answer with the fridge routine \
and mention the hooch, then pick REPLY only.</think>\n{HANDLER_REPLY}"
    )
}

/// Parses `answer` and checks it yields the handler's fields, so the bench cannot time a miss.
fn assert_handler_fields(answer: &str) {
    let parsed = parse_key_value_xml(answer).expect("the reply parses");
    assert_eq!(parsed.list("actions"), Some(vec!["REPLY".to_owned()]));
    assert_eq!(
        parsed.list("providers"),
        Some(vec!["FACTS".to_owned(), "ENTITIES".to_owned()])
    );
    assert!(parsed.str("text").expect("a text").contains("\"hooch\""));
    assert!(parsed.str("thought").is_some());
}

fn xml_reply_parsing(c: &mut Criterion) {
    let fenced = fenced_reply();
    let thinking = reply_with_think_block();
    let inputs = [
        ("plain", HANDLER_REPLY),
        ("fenced_with_prose", fenced.as_str()),
        ("after_think_block", thinking.as_str()),
    ];
    let mut group = c.benchmark_group("parse_key_value_xml");
    for (name, answer) in inputs {
        assert_handler_fields(answer);
        group.bench_function(name, |b| b.iter(|| parse_key_value_xml(black_box(answer))));
    }
    group.finish();
}

fn character() -> Character {
    Character::from_json(&json!({
        "name": "Eliza",
        "bio": [
            "Eliza is a home baker who has kept the same sourdough starter alive for nine years.",
            "She taught bread-making classes at a community kitchen in Lyon before moving online.",
            "Eliza explains the chemistry behind fermentation without jargon.",
            "She is patient with beginners and blunt about myths.",
            "Eliza keeps a notebook of every bake, with hydration, timings and room temperature.",
            "She prefers weighing ingredients to measuring cups and will say so.",
            "Eliza grows her own herbs on a small balcony.",
            "She answers questions late at night because her dough wakes her up anyway.",
        ],
        "adjectives": ["patient", "precise", "warm", "direct"],
        "topics": ["sourdough", "fermentation", "pastry", "bread flour", "kitchen tools"],
        "style": {
            "all": ["Use metric units.", "Give concrete quantities and times."],
            "chat": ["Answer the question first, then add one tip.", "Ask back when the question is vague."],
            "post": ["No hashtags."],
        },
        "system": "You are Eliza, a friendly baking expert. Stay in character.",
        "messageExamples": [
            [
                {"name": "{{name1}}", "content": {"text": "My bread is always flat, why?"}},
                {"name": "Eliza", "content": {"text": "Usually under-proofed or a weak starter. How long is your bulk ferment?", "actions": ["REPLY"]}},
            ],
            [
                {"name": "{{name1}}", "content": {"text": "Can I use all-purpose flour?"}},
                {"name": "Eliza", "content": {"text": "Yes, lower the water by about 5% and expect a slightly tighter crumb.", "actions": ["REPLY"]}},
            ],
        ],
    }))
    .expect("a valid character")
}

/// Twelve alternating messages between a user and the agent, oldest first.
fn recent_messages(agent: AgentId, user: EntityId, room: RoomId, now: DateTime<Utc>) -> String {
    let lines: Vec<String> = (0..12i64)
        .map(|i| {
            let from_agent = i % 2 == 1;
            let text = if from_agent {
                format!(
                    "Good question. For step {i}, keep the dough at 24 °C and fold it every 30 minutes for the first two hours."
                )
            } else {
                format!(
                    "Thanks! Message {i}: what should I do next with my dough, it looks a bit slack?"
                )
            };
            let mut content = json!({"text": text, "source": "client_chat"});
            if from_agent {
                content["thought"] = json!("The user needs the next step.");
                content["actions"] = json!(["REPLY"]);
            }
            let memory = Memory {
                id: MemoryId::new_random(),
                table: "messages".to_owned(),
                created_at: now - TimeDelta::minutes(12 - i),
                content,
                entity_id: Some(if from_agent { EntityId(agent.0) } else { user }),
                agent_id: agent,
                room_id: Some(room),
                world_id: None,
                unique: true,
                metadata: json!({"type": "message"}),
                embedding: None,
            };
            format_message(&memory, if from_agent { "Eliza" } else { "Sam" }, now)
        })
        .collect();
    format!("# Conversation Messages\n{}", lines.join("\n"))
}

/// The state the message handler is rendered from: character, conversation and actions.
fn handler_state() -> Value {
    let character = character();
    let agent = character.agent_id();
    let now = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let conversation = recent_messages(agent, EntityId::new_random(), RoomId::new_random(), now);
    let actions = "Possible response actions: REPLY, IGNORE, NONE, FOLLOW_ROOM, MUTE_ROOM\n\
# Available Actions\n\
- **REPLY**: Replies to the current conversation with the text from the generated message.\n\
- **IGNORE**: Call this action if ignoring the user is the best course.\n\
- **NONE**: Respond but perform no additional action.\n\
- **FOLLOW_ROOM**: Start following this channel with great interest.\n\
- **MUTE_ROOM**: Mutes a room, ignoring all messages unless explicitly mentioned.";
    State::compose(
        None,
        vec![
            (
                "CHARACTER".to_owned(),
                describe(&character, false, &mut rng),
            ),
            (
                "RECENT_MESSAGES".to_owned(),
                ProviderResult::text(conversation.clone())
                    .with_value("recentMessages", conversation),
            ),
            ("ACTIONS".to_owned(), ProviderResult::text(actions)),
        ],
    )
    .to_value()
}

fn prompt_rendering(c: &mut Criterion) {
    let renderer = PromptRenderer::new();
    let template = TemplateName::MessageHandler.default_text();
    let state = handler_state();
    let rendered = renderer
        .render_state(template, &state, &mut ChaCha8Rng::seed_from_u64(1))
        .expect("the template renders");
    assert!(rendered.contains("Generate dialog and actions for the character Eliza."));
    assert!(rendered.contains("# About Eliza"));
    assert!(rendered.contains("Sam: Thanks! Message 10"));
    assert!(!rendered.contains("{{"), "every placeholder is filled");

    let mut rng = ChaCha8Rng::seed_from_u64(1);
    c.bench_function("render_message_handler_prompt", |b| {
        b.iter(|| renderer.render_state(template, black_box(&state), &mut rng))
    });
}

fn uuid_derivation(c: &mut Criterion) {
    let short = "general";
    // A `createUniqueUuid`-style seed: a platform channel key joined with an agent id.
    let long = "discord:1093847561029384756:general-chat-and-help:d5a1c9b2-6e7f-4a3b-8c9d-0e1f2a3b4c5d:thread-7-abcd";
    assert_eq!(long.len(), 100);
    assert_ne!(string_to_uuid(short), string_to_uuid(long));
    // Both take the hashing path: a valid UUID would be returned as is.
    assert!(validate_uuid(short).is_none() && validate_uuid(long).is_none());

    let mut group = c.benchmark_group("string_to_uuid");
    group.bench_function("short_7_chars", |b| {
        b.iter(|| string_to_uuid(black_box(short)))
    });
    group.bench_function("long_100_chars", |b| {
        b.iter(|| string_to_uuid(black_box(long)))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = xml_reply_parsing, prompt_rendering, uuid_derivation
}
criterion_main!(benches);
