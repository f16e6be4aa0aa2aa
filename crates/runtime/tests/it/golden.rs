//! Golden tests: every template rendered for a fixed character and conversation, compared with
//! the files in `crates/runtime/tests/golden/<template key>.txt`.
//!
//! After an intended change to a template or to rendering, regenerate the files with
//! `UPDATE_GOLDEN=1 cargo test -p eliza-runtime --test it golden` and review the diff.

use eliza_runtime::prompt::PromptRenderer;
use eliza_runtime::templates::{TemplateName, template};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

const AGENT_ID: &str = "b850bc30-45f8-0041-a00a-83df46d8555d";
const USER_ID: &str = "0f5ad9e1-7a5e-4c1b-9a43-3e8b1f6c2d10";

/// The character the state is built from.
fn character() -> Value {
    json!({
        "name": "Eliza",
        "bio": ["A helpful assistant who loves tea.", "Speaks plainly and kindly."],
        "system": "You are Eliza, a friendly assistant. Keep answers short.",
        "style": {"all": ["Be concise.", "Never use emojis."], "chat": ["Ask one follow-up question at most."]},
        "templates": {}
    })
}

/// What the providers would have produced for one conversation.
fn state() -> Value {
    let character = character();
    let name = character["name"].as_str().unwrap();
    let bio = character["bio"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let directions = character["style"]["all"]
        .as_array()
        .unwrap()
        .iter()
        .chain(character["style"]["chat"].as_array().unwrap())
        .map(|line| line.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let message_directions = format!("# Message Directions for {name}\n{directions}");
    let about = format!("# About {name}\n{bio}");
    let examples = format!(
        "# Example Conversations for {name}\n{{{{name1}}}}: Do you like coffee?\n{name}: I prefer tea, {{{{name1}}}}.\n\n\
         {{{{name2}}}}: Can you help {{{{name3}}}}?\n{name}: Of course. (actions: REPLY)"
    );
    let recent_messages = format!(
        "# Conversation Messages\n\
         10:02 (3 minutes ago) [{USER_ID}] Ada: Hi Eliza, any tea recommendations?\n\
         10:03 (2 minutes ago) [{AGENT_ID}] {name}: Try a sencha. (Eliza's actions: REPLY)\n\
         10:05 (just now) [{USER_ID}] Ada: What about something <strong> & \"smoky\"?\n\n\
         # Received Message\nAda: What about something <strong> & \"smoky\"?\n\n\
         # Focus your response\nYou are replying to the above message from **Ada**. Keep your answer relevant to that message. \
         Do not repeat earlier replies unless the sender asks again."
    );
    let actions = "Possible response actions: REPLY, IGNORE, NONE\n\n# Available Actions\n\
                   - **REPLY**: Replies to the current conversation.\n\
                   - **IGNORE**: Ignores the message.\n\
                   - **NONE**: Takes no additional action.";
    let providers = [
        actions,
        &about,
        &message_directions,
        &examples,
        &recent_messages,
    ]
    .join("\n");
    json!({
        "text": providers,
        "data": {"providers": {}},
        "values": {
            "agentName": name,
            "bio": about,
            "system": character["system"],
            "messageDirections": message_directions,
            "examples": examples,
            "recentMessages": recent_messages,
            "recentMessage": "Ada: What about something <strong> & \"smoky\"?",
            "providers": providers,
            "actionNames": "Possible response actions: REPLY, IGNORE, NONE",
            "actionsWithParams": "- **WEB_SEARCH**: Searches the web.\n  Parameters: {\"query\": \"string\"}",
            "providersWithDescriptions": "- **FACTS**: Facts the agent knows.\n- **ENTITIES**: People in the room.",
            "actionResults": "No previous action results available.",
            "evaluationExamples": "Example 1:\n{{name1}}: I moved to Lisbon.\nFact: {{name1}} lives in Lisbon.",
            "entitiesInRoom": format!("[{{\"id\":\"{USER_ID}\",\"names\":[\"Ada\"]}},{{\"id\":\"{AGENT_ID}\",\"names\":[\"Eliza\"]}}]"),
            "existingRelationships": "",
            "senderName": "Ada",
            "senderId": USER_ID,
            "roomType": "DM",
            "knownFacts": "Ada likes green tea."
        }
    })
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn render(name: TemplateName, overrides: &Map<String, Value>) -> String {
    PromptRenderer::new()
        .render_state(
            template(name, overrides),
            &state(),
            // The `{{nameN}}` names depend on the RNG's output: ChaCha8's is fixed by its crate,
            // unlike `StdRng`'s, which rand may replace in a future release.
            &mut ChaCha8Rng::seed_from_u64(2024),
        )
        .unwrap()
}

#[test]
fn rendered_prompts_match_golden_files() {
    let update = std::env::var("UPDATE_GOLDEN").is_ok_and(|value| value == "1");
    let overrides = character()["templates"].as_object().unwrap().clone();
    let mut mismatches = Vec::new();
    for name in TemplateName::ALL {
        let rendered = render(name, &overrides);
        assert!(
            !rendered.contains("{{"),
            "{name:?} left a placeholder:\n{rendered}"
        );
        let path = golden_dir().join(format!("{}.txt", name.key()));
        if update {
            std::fs::write(&path, &rendered).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "{}: {err} (run with UPDATE_GOLDEN=1 to create it)",
                path.display()
            )
        });
        if expected != rendered {
            mismatches.push(format!("{}\n--- rendered ---\n{rendered}", path.display()));
        }
    }
    assert!(
        mismatches.is_empty(),
        "rendered prompts differ from the golden files (UPDATE_GOLDEN=1 rewrites them):\n{}",
        mismatches.join("\n\n")
    );
}

#[test]
fn character_overrides_replace_templates() {
    let mut character = character();
    character["templates"] =
        json!({"replyTemplate": "Reply as {{agentName}} to {{senderName}}: {{recentMessage}}"});
    let overrides = character["templates"].as_object().unwrap();
    assert_eq!(
        render(TemplateName::Reply, overrides),
        "Reply as Eliza to Ada: Ada: What about something <strong> & \"smoky\"?"
    );
    // Untouched templates keep the built-in text.
    assert_eq!(
        render(TemplateName::Reflection, overrides),
        render(TemplateName::Reflection, &Map::new())
    );
}

#[test]
fn golden_prompts_are_unescaped_and_names_replaced() {
    let rendered = render(TemplateName::MessageHandler, &Map::new());
    assert!(rendered.contains("<strong> & \"smoky\""));
    assert!(
        !rendered.contains("&amp;") && !rendered.contains("&lt;") && !rendered.contains("&quot;")
    );
    let line = rendered
        .lines()
        .find(|line| line.ends_with(": Do you like coffee?"))
        .unwrap();
    let name1 = line.trim_end_matches(": Do you like coffee?");
    assert!(rendered.contains(&format!("I prefer tea, {name1}.")));
}
