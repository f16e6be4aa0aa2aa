//! CHARACTER: who the agent is (bio, adjective, topics, style directions, example conversations,
//! system prompt), shuffled per turn as in 1.7.2.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use crate::plugin::Provider;
use crate::state::{ProviderResult, State};
use crate::turn::Turn;
use async_trait::async_trait;
use eliza_domain::Character;
use eliza_domain::messaging::ChannelType;
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use serde_json::Value;

const MAX_BIO_LINES: usize = 10;
const MAX_OTHER_TOPICS: usize = 5;
const MAX_EXAMPLES: usize = 5;

pub struct CharacterProvider;

#[async_trait]
impl Provider for CharacterProvider {
    fn name(&self) -> &str {
        "CHARACTER"
    }

    fn description(&self) -> &str {
        "The character's bio, interests, style and example conversations"
    }

    async fn get(
        &self,
        runtime: &AgentRuntime,
        turn: &Turn,
        _state: &State,
    ) -> RuntimeResult<ProviderResult> {
        let character = runtime.character();
        let posts = matches!(turn.channel_type, ChannelType::Feed | ChannelType::Thread);
        Ok(describe(&character, posts, &mut turn.rng("CHARACTER")))
    }
}

/// Characters of bio in compact prompts: a small model's context and prompt speed are scarce.
const SHORT_BIO_CHARS: usize = 600;

/// The (shuffled) bio lines that fit in [`SHORT_BIO_CHARS`], at least the first one.
fn short_bio(lines: &[String]) -> String {
    let mut bio = String::new();
    for line in lines {
        if !bio.is_empty() && bio.len() + line.len() + 1 > SHORT_BIO_CHARS {
            break;
        }
        if !bio.is_empty() {
            bio.push(' ');
        }
        bio.push_str(line);
    }
    bio.chars().take(SHORT_BIO_CHARS).collect()
}

/// The provider's result for `character`; `posts` picks post directions and examples (feeds
/// and threads) over chat ones.
pub fn describe(character: &Character, posts: bool, rng: &mut impl Rng) -> ProviderResult {
    let name = &character.name;
    let mut bio_lines = character.bio.lines();
    bio_lines.shuffle(rng);
    bio_lines.truncate(MAX_BIO_LINES);
    let bio = bio_lines.join(" ");
    let about = if bio.is_empty() {
        String::new()
    } else {
        format!("# About {name}\n{bio}")
    };
    let adjective = character
        .adjectives
        .choose(rng)
        .cloned()
        .unwrap_or_default();
    let (topic, other_topics) = pick_topics(&character.topics, rng);
    let message_directions = directions(
        character,
        "chat",
        &format!("# Message Directions for {name}"),
    );
    let post_directions = directions(character, "post", &format!("# Post Directions for {name}"));
    let message_examples = message_examples(character, rng);
    let post_examples = post_examples(character, rng);
    let system = character.system.clone().unwrap_or_default();

    let mut sections = vec![about.clone()];
    if !adjective.is_empty() {
        sections.push(format!("{name} is {adjective}"));
    }
    if !topic.is_empty() {
        sections.push(format!("{name} is currently interested in {topic}"));
    }
    if !other_topics.is_empty() {
        sections.push(format!(
            "{name} is also interested in {}",
            join_and(&other_topics)
        ));
    }
    let (directions, examples) = if posts {
        (post_directions.clone(), post_examples.clone())
    } else {
        (message_directions.clone(), message_examples.clone())
    };
    sections.extend([directions.clone(), examples.clone(), system.clone()]);
    let text = sections
        .into_iter()
        .filter(|section| !section.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    ProviderResult::text(text)
        .with_value("agentName", name.as_str())
        .with_value("bio", about)
        .with_value("bioText", short_bio(&bio_lines))
        .with_value("system", system)
        .with_value("topic", topic)
        .with_value("topics", join_and(&other_topics))
        .with_value("adjective", adjective)
        .with_value("messageDirections", message_directions)
        .with_value("postDirections", post_directions)
        .with_value("directions", directions)
        .with_value("examples", examples)
        .with_value("characterPostExamples", post_examples)
        .with_value("characterMessageExamples", message_examples)
}

fn pick_topics(topics: &[String], rng: &mut impl Rng) -> (String, Vec<String>) {
    let mut topics = topics.to_vec();
    topics.shuffle(rng);
    let mut topics = topics.into_iter();
    let first = topics.next().unwrap_or_default();
    (first, topics.take(MAX_OTHER_TOPICS).collect())
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `style.all` plus `style.<kind>`, one per line under `header`; empty when there are none.
fn directions(character: &Character, kind: &str, header: &str) -> String {
    let lines: Vec<&str> = ["all", kind]
        .iter()
        .filter_map(|key| character.style.get(*key))
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!("{header}\n{}", lines.join("\n"))
    }
}

/// Up to five example conversations, `name: text (actions: X)` per line.
fn message_examples(character: &Character, rng: &mut impl Rng) -> String {
    let conversations: Vec<String> = character
        .message_examples
        .choose_multiple(rng, MAX_EXAMPLES)
        .filter_map(Value::as_array)
        .map(|lines| {
            lines
                .iter()
                .filter_map(example_line)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|conversation| !conversation.is_empty())
        .collect();
    if conversations.is_empty() {
        return String::new();
    }
    format!(
        "# Example Conversations for {}\n{}",
        character.name,
        conversations.join("\n\n")
    )
}

fn example_line(line: &Value) -> Option<String> {
    let name = line.get("name").or_else(|| line.get("user"))?.as_str()?;
    let content = line.get("content")?;
    let text = content.get("text").and_then(Value::as_str).unwrap_or("");
    let actions: Vec<&str> = content
        .get("actions")
        .and_then(Value::as_array)
        .map(|actions| actions.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let name = name.replace("{{user", "{{name");
    if actions.is_empty() {
        Some(format!("{name}: {text}"))
    } else {
        Some(format!("{name}: {text} (actions: {})", actions.join(", ")))
    }
}

fn post_examples(character: &Character, rng: &mut impl Rng) -> String {
    let posts: Vec<&String> = character
        .post_examples
        .choose_multiple(rng, MAX_EXAMPLES * 2)
        .collect();
    if posts.is_empty() {
        return String::new();
    }
    let posts: Vec<&str> = posts.into_iter().map(String::as_str).collect();
    format!(
        "# Example Posts for {}\n{}",
        character.name,
        posts.join("\n")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_short_bio_keeps_whole_lines_within_its_budget() {
        let lines: Vec<String> = ["First line.", "Second line."]
            .iter()
            .map(|l| (*l).to_owned())
            .chain(std::iter::repeat_n("x".repeat(300), 3))
            .collect();
        let short = super::short_bio(&lines);
        assert!(short.starts_with("First line. Second line. xxx"));
        assert!(short.len() <= super::SHORT_BIO_CHARS);
        assert_eq!(
            super::short_bio(&["y".repeat(900)]).len(),
            super::SHORT_BIO_CHARS
        );
        assert_eq!(super::short_bio(&[]), "");
    }

    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use serde_json::json;

    fn character() -> Character {
        Character::from_json(&json!({
            "name": "Eliza",
            "bio": ["Likes tea.", "Speaks plainly."],
            "adjectives": ["kind"],
            "topics": ["tea", "poetry", "birds"],
            "style": {"all": ["Be brief."], "chat": ["Ask back."], "post": ["No hashtags."]},
            "system": "Be Eliza.",
            "messageExamples": [[
                {"name": "{{user1}}", "content": {"text": "Hi"}},
                {"name": "Eliza", "content": {"text": "Hello", "actions": ["REPLY"]}}
            ]]
        }))
        .unwrap()
    }

    #[test]
    fn chat_rooms_get_message_directions_and_examples() {
        let result = describe(&character(), false, &mut ChaCha8Rng::seed_from_u64(1));
        let text = &result.text;
        assert!(text.starts_with("# About Eliza\n"), "{text}");
        assert!(text.contains("Eliza is kind"));
        assert!(text.contains("Eliza is currently interested in "));
        assert!(text.contains("Eliza is also interested in "));
        assert!(text.contains("# Message Directions for Eliza\nBe brief.\nAsk back."));
        assert!(text.contains("{{name1}}: Hi\nEliza: Hello (actions: REPLY)"));
        assert!(text.ends_with("Be Eliza."));
        assert!(!text.contains("No hashtags."));
        assert_eq!(result.values["agentName"], "Eliza");
    }

    #[test]
    fn feeds_get_post_directions() {
        let result = describe(&character(), true, &mut ChaCha8Rng::seed_from_u64(1));
        assert!(
            result
                .text
                .contains("# Post Directions for Eliza\nBe brief.\nNo hashtags.")
        );
    }

    #[test]
    fn lists_join_with_and() {
        let items = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(join_and(&items(&[])), "");
        assert_eq!(join_and(&items(&["a"])), "a");
        assert_eq!(join_and(&items(&["a", "b", "c"])), "a, b and c");
    }
}
