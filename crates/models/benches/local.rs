//! The local models' speed and memory: load time (first start with requantization, later starts
//! from the kept Q8_0 copy), prompt and generation tokens/s for a short and a long prompt,
//! embedding latency and throughput, and the process's resident memory.
//!
//! `cargo bench -p eliza-models --bench local` (set `CANDLE_NUM_THREADS` to choose the inference
//! threads; the server defaults to all cores but one). Under `cargo test` it makes one tiny run
//! of each measurement so the code stays working. Model files: `ELIZA_TEST_MODELS_DIR`, else
//! `target/test-models`, fetched there when missing (`eliza_models::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;
use std::path::Path;
use std::time::{Duration, Instant};

use eliza_models::local::files::{EMBEDDING_MODEL, TEXT_MODEL};
use eliza_models::local::worker::EmbedderHandle;
use eliza_models::local::{
    BertEmbedder, CandleLlama, ChatMessage, Embedder, GenerationParams, LlamaOptions, Role,
    TextGenerator,
};
use eliza_models::testing::fetch_test_models_blocking;

struct Scale {
    generated_tokens: usize,
    runs: usize,
    embedding_batches: usize,
}

const BENCH: Scale = Scale {
    generated_tokens: 128,
    runs: 3,
    embedding_batches: 8,
};
const SMOKE: Scale = Scale {
    generated_tokens: 8,
    runs: 1,
    embedding_batches: 1,
};

fn main() {
    let scale = if std::env::args().any(|a| a == "--bench") {
        BENCH
    } else {
        SMOKE
    };
    let cache = fetch_test_models_blocking();
    let threads = std::env::var("CANDLE_NUM_THREADS").unwrap_or_else(|_| "default".into());
    println!("local models benchmark (CANDLE_NUM_THREADS={threads})");
    let gguf = cache
        .package_dir(&TEXT_MODEL)
        .join(TEXT_MODEL.members[0].file_name);
    let llama = bench_load(&gguf);
    let short = "Hi! Who are you?".to_owned();
    bench_generation(&llama, "short prompt", &short, &scale);
    if scale.runs > 1 {
        bench_generation(&llama, "long prompt", &long_prompt(), &scale);
    }
    bench_embeddings(&cache.package_dir(&EMBEDDING_MODEL), &scale);
    let (rss, peak) = memory();
    println!("memory: RSS {rss} MiB, peak {peak} MiB");
    bench_embedding_worker(&cache.package_dir(&EMBEDDING_MODEL), &scale);
}

/// Loads a private copy of the GGUF twice: first with the Q4_1 → Q8_0 conversion, then from
/// the converted copy kept beside it.
fn bench_load(gguf: &Path) -> CandleLlama {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("model.gguf");
    std::fs::copy(gguf, &copy).unwrap();
    let started = Instant::now();
    drop(CandleLlama::load(&copy, &LlamaOptions::default()).unwrap());
    let first = started.elapsed();
    let started = Instant::now();
    let model = CandleLlama::load(&copy, &LlamaOptions::default()).unwrap();
    println!(
        "load: first start (requantize Q4_1 -> Q8_0) {}, later starts {}",
        ms(first),
        ms(started.elapsed())
    );
    model
}

/// A transcript of about 1,500 tokens, as a long elizaOS prompt would be.
fn long_prompt() -> String {
    let turns = [
        "Ada: I am planning a trip to the mountains next month and need advice on what to pack.",
        "Eliza: Layers are key: a warm fleece, a waterproof jacket, and good boots. Bring a map too.",
        "Ada: How much water should I carry for a day hike of about fifteen kilometres?",
        "Eliza: Plan on two to three litres, more if it is hot, and a filter if there are streams.",
    ];
    let mut text = String::new();
    while text.len() < 6_400 {
        for turn in turns {
            text.push_str(turn);
            text.push('\n');
        }
    }
    text.push_str("\nAda: Can you summarise the advice so far in three short points?");
    text
}

struct Run {
    prompt_tokens: usize,
    generated: usize,
    prefill: Duration,
    decode: Duration,
}

fn one_run(llama: &CandleLlama, prompt: &str, max_tokens: usize) -> Run {
    let messages = [
        ChatMessage::new(
            Role::System,
            "You are Eliza, a friendly and concise assistant.",
        ),
        ChatMessage::new(Role::User, prompt),
    ];
    let params = GenerationParams::greedy(max_tokens);
    let started = Instant::now();
    let mut first_token = None;
    let completion = llama
        .generate(&messages, &params, &mut |piece: &str| {
            if !piece.is_empty() && first_token.is_none() {
                first_token = Some(started.elapsed());
            }
            ControlFlow::Continue(())
        })
        .unwrap();
    let total = started.elapsed();
    let prefill = first_token.unwrap_or(total);
    Run {
        prompt_tokens: completion.usage.prompt_tokens,
        generated: completion.usage.completion_tokens,
        prefill,
        decode: total - prefill,
    }
}

fn bench_generation(llama: &CandleLlama, label: &str, prompt: &str, scale: &Scale) {
    let runs: Vec<Run> = (0..scale.runs)
        .map(|_| one_run(llama, prompt, scale.generated_tokens))
        .collect();
    let best = |rate: fn(&Run) -> f64| runs.iter().map(rate).fold(0.0, f64::max);
    let prompt_rate = best(|r| r.prompt_tokens as f64 / r.prefill.as_secs_f64());
    let generation_rate =
        best(|r| r.generated.saturating_sub(1) as f64 / r.decode.as_secs_f64().max(1e-9));
    let run = &runs[0];
    println!(
        "{label}: {} prompt tokens read in {} ({prompt_rate:.0} tok/s, best of {}), {} tokens generated at {generation_rate:.1} tok/s",
        run.prompt_tokens,
        ms(run.prefill),
        runs.len(),
        run.generated,
    );
}

fn bench_embeddings(dir: &Path, scale: &Scale) {
    let started = Instant::now();
    let embedder = BertEmbedder::load(dir).unwrap();
    let load = started.elapsed();
    embedder.embed(&["warm-up"]).unwrap();
    let started = Instant::now();
    let singles = 8 * scale.embedding_batches;
    for i in 0..singles {
        embedder
            .embed(&[format!("A short sentence number {i} about tea and hiking.").as_str()])
            .unwrap();
    }
    let single = started.elapsed() / singles as u32;
    let texts: Vec<String> = (0..32)
        .map(|i| {
            format!(
                "Sentence {i}: the quick brown fox jumps over the lazy dog near the river bank."
            )
        })
        .collect();
    let batch: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    for _ in 0..scale.embedding_batches {
        embedder.embed(&batch).unwrap();
    }
    let rate = (32 * scale.embedding_batches) as f64 / started.elapsed().as_secs_f64();
    println!(
        "embeddings ({} dims): load {}, one sentence {}, batches of 32 at {rate:.0}/s",
        embedder.dimensions(),
        ms(load),
        ms(single)
    );
}

/// Requests to the embedding worker one after the other, then all at once (the worker batches
/// the requests that wait together), as the runtime's embedding queue sends them.
fn bench_embedding_worker(dir: &Path, scale: &Scale) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = dir.to_path_buf();
    let handle = runtime
        .block_on(EmbedderHandle::spawn("bench", move || {
            BertEmbedder::load(&dir)
        }))
        .unwrap();
    let count = 16 * scale.embedding_batches;
    let texts: Vec<String> = (0..count)
        .map(|i| format!("Message {i}: shall we meet for tea near the old bridge tomorrow?"))
        .collect();
    let started = Instant::now();
    for text in &texts {
        runtime.block_on(handle.embed(vec![text.clone()])).unwrap();
    }
    let sequential = count as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let all = futures_util::future::join_all(texts.iter().map(|t| handle.embed(vec![t.clone()])));
    for answer in runtime.block_on(all) {
        answer.unwrap();
    }
    let together = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "embedding worker, {count} requests: one after another {sequential:.0}/s, all at once {together:.0}/s"
    );
}

fn ms(duration: Duration) -> String {
    format!("{:.0} ms", duration.as_secs_f64() * 1000.0)
}

/// Resident and peak resident memory in MiB, from /proc (0 where it is not available).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
