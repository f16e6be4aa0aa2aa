//! Pipeline overhead per message, model time excluded: a DM turn end to end (inbox → memory →
//! state → prompt → zero-latency model → XML → reply memory → outbox → run logs) over a SQLite
//! file, with a scripted model that answers at once.
//!
//! `cargo bench -p eliza-e2e --bench pipeline [-- <messages>]` prints the per-message time
//! (sequential turns) and the throughput with turns in flight on several channels.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use async_trait::async_trait;
use chrono::Utc;
use eliza_bus::{
    AgentDispatch, AgentInboxes, AgentOutbox, AgentWork, BusMessage, NewMessage, OutboxError,
};
use eliza_domain::lifecycle::AgentLifecycle;
use eliza_domain::messaging::ChannelType;
use eliza_domain::secrets::SecretCipher;
use eliza_domain::{Agent, AgentId, ChannelId, Character, MessageId, Store};
use eliza_models::ModelProvider;
use eliza_models::testing::ScriptedProvider;
use eliza_runtime::{AgentRegistry, Environment, RegistryConfig, RuntimeOptions};
use eliza_store::{DieselStore, StoreOptions};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const ANSWER: &str = "<response><thought>Short.</thought><actions>REPLY</actions><providers></providers><text>Sure, here you go.</text></response>";

/// Reports each completed turn.
struct Completions(mpsc::UnboundedSender<()>);

#[async_trait]
impl AgentOutbox for Completions {
    async fn submit(&self, reply: NewMessage) -> Result<BusMessage, OutboxError> {
        Ok(BusMessage::sample(reply.channel_id, &reply.content))
    }

    fn complete(&self, _: ChannelId, _: AgentId, _: Option<MessageId>) {
        let _ = self.0.send(());
    }
}

fn message(channel: ChannelId, index: usize) -> AgentWork {
    let mut message =
        BusMessage::sample(channel, &format!("Message number {index}: any tea ideas?"));
    message.author_id = "0f5ad9e1-7a5e-4c1b-9a43-3e8b1f6c2d10".to_owned();
    message.author_display_name = Some("Ada".to_owned());
    message.source_type = "client_chat".to_owned();
    message.created_at = Utc::now().timestamp_millis();
    AgentWork::Message {
        message: Box::new(message),
        channel_type: ChannelType::Dm,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this runs as a quick smoke.
    let default = if args.iter().any(|arg| arg == "--bench") {
        300
    } else {
        5
    };
    let messages: usize = args
        .iter()
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(default);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store: Arc<dyn Store> = Arc::new(
        DieselStore::connect(&url, StoreOptions::default())
            .await
            .unwrap(),
    );
    let model: Arc<dyn ModelProvider> = Arc::new(ScriptedProvider::new().with_default_text(ANSWER));
    let config = RegistryConfig {
        env: Environment::new(HashMap::new()),
        cipher: SecretCipher::new("bench"),
        options: RuntimeOptions::default(),
        catalog: Default::default(),
        models: Arc::new(move |_, _| Ok(vec![Arc::clone(&model)])),
    };
    let inboxes = AgentInboxes::new();
    let registry = AgentRegistry::new(Arc::clone(&store), inboxes.clone(), config);
    let (done, mut completed) = mpsc::unbounded_channel();
    registry.set_outbox(Arc::new(Completions(done)));
    let character = Character::from_json(&json!({
        "name": "Eliza", "bio": ["Likes tea.", "Speaks plainly."], "system": "You are Eliza.",
        "adjectives": ["kind"], "topics": ["tea"],
        "style": {"all": ["Be brief."], "chat": ["Ask back."]},
        "messageExamples": [[{"name": "{{user1}}", "content": {"text": "Hi"}}, {"name": "Eliza", "content": {"text": "Hello"}}]]
    }))
    .unwrap();
    let agent = Agent::new(character, Utc::now());
    store.create_agent(&agent).await.unwrap();
    registry.start(&agent).await.unwrap();

    // Sequential: one turn at a time in one DM, so each figure is one message's whole path.
    let channel = ChannelId::new_random();
    let mut times = Vec::with_capacity(messages);
    for index in 0..messages {
        let started = Instant::now();
        inboxes
            .dispatch(agent.id, message(channel, index))
            .await
            .unwrap();
        completed.recv().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / messages as u32;
    println!(
        "pipeline overhead per message (zero-latency model, SQLite file, {messages} sequential turns):"
    );
    println!(
        "  mean {:.2} ms, median {:.2} ms, p95 {:.2} ms, p99 {:.2} ms",
        ms(mean),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99))
    );

    // Concurrent: turns in flight on 8 channels at once.
    let started = Instant::now();
    let channels: Vec<ChannelId> = (0..8).map(|_| ChannelId::new_random()).collect();
    for index in 0..messages {
        inboxes
            .dispatch(agent.id, message(channels[index % channels.len()], index))
            .await
            .unwrap();
    }
    for _ in 0..messages {
        completed.recv().await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "  throughput with 8 channels in flight: {:.0} messages/s ({messages} turns in {:.2} s)",
        messages as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    registry.stop(agent.id).await;
}
