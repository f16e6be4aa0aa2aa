use eliza_models::testing::{FakeAnthropic, FakeOllama, FakeReply};
use eliza_models::{EmbeddingRequest, ModelType, first_supporting, providers_for};

use crate::support::text;

#[tokio::test]
async fn an_anthropic_agent_embeds_with_ollama() {
    let anthropic = FakeAnthropic::start().await;
    let ollama = FakeOllama::start().await;
    anthropic.push_message(FakeReply::text("from claude"));
    let (anthropic_settings, ollama_settings) = (anthropic.settings(&[]), ollama.settings(&[]));
    let settings = move |key: &str| anthropic_settings(key).or_else(|| ollama_settings(key));

    // No model plugin listed: ANTHROPIC_API_KEY picks anthropic, followed by ollama.
    let providers = providers_for(
        &["@elizaos/plugin-sql", "@elizaos/plugin-bootstrap"],
        &settings,
    )
    .expect("providers");
    let names: Vec<&str> = providers.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["anthropic", "ollama"]);

    let large = first_supporting(&providers, ModelType::TextLarge).expect("a text provider");
    assert_eq!(
        text(large.as_ref(), ModelType::TextLarge, "hi")
            .await
            .as_deref(),
        Ok("from claude")
    );
    let embedder = first_supporting(&providers, ModelType::TextEmbedding).expect("an embedder");
    let vector = embedder.embed(EmbeddingRequest::new("hi")).await;
    assert_eq!(vector.map(|v| v.len()), Ok(768));
    assert_eq!(anthropic.requests().len(), 1);
    assert_eq!(ollama.requests().len(), 2);
}
