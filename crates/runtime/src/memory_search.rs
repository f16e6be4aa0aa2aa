//! Semantic search over an agent's memories: the query is embedded with the agent's embedding
//! model, the nearest memories are found by cosine similarity, and, as elizaOS does, the hits can
//! be re-ranked by BM25 keyword relevance to the query.

use crate::agent::AgentRuntime;
use crate::error::RuntimeResult;
use bm25::{Language, SearchEngineBuilder};
use eliza_domain::RoomId;
use eliza_domain::memory::{Memory, MemorySearch};

/// What to look for.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub query: String,
    /// The memory table (`messages`, `facts`, `documents`, …).
    pub table: String,
    pub limit: u32,
    pub room_id: Option<RoomId>,
    /// The lowest cosine similarity a hit may have.
    pub threshold: Option<f32>,
    /// Re-order the nearest memories by BM25 relevance of their text to the query.
    pub rerank: bool,
}

/// A memory found, with its cosine similarity and, when re-ranked, its BM25 score.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub memory: Memory,
    pub similarity: f32,
    pub bm25_score: Option<f32>,
}

impl AgentRuntime {
    /// The agent's memories nearest to `request.query`, best first.
    pub async fn search_memories(&self, request: &SearchRequest) -> RuntimeResult<Vec<SearchHit>> {
        let embedding = self.embed(&request.query, request.room_id).await?;
        let search = MemorySearch {
            agent_id: self.id,
            table: request.table.clone(),
            embedding,
            room_id: request.room_id,
            world_id: None,
            entity_id: None,
            threshold: request.threshold,
            limit: request.limit,
        };
        let hits = self
            .store
            .search_memories(&search)
            .await?
            .into_iter()
            .map(|scored| SearchHit {
                memory: scored.memory,
                similarity: scored.similarity,
                bm25_score: None,
            })
            .collect();
        Ok(if request.rerank {
            rerank(&request.query, hits)
        } else {
            hits
        })
    }
}

/// Orders hits by BM25 score of their `content.text` against the query (fitted to the hits
/// themselves), then by similarity; hits without a keyword match keep their vector order last.
pub fn rerank(query: &str, mut hits: Vec<SearchHit>) -> Vec<SearchHit> {
    if hits.is_empty() {
        return hits;
    }
    let texts: Vec<String> = hits.iter().map(|hit| memory_text(&hit.memory)).collect();
    let engine = SearchEngineBuilder::<u32>::with_corpus(Language::English, texts).build();
    let mut scores = vec![0.0f32; hits.len()];
    for result in engine.search(query, None) {
        let index = usize::try_from(result.document.id).unwrap_or(usize::MAX);
        if let Some(score) = scores.get_mut(index) {
            *score = result.score;
        }
    }
    for (hit, score) in hits.iter_mut().zip(&scores) {
        hit.bm25_score = Some(*score);
    }
    hits.sort_by(|a, b| {
        let key = |hit: &SearchHit| hit.bm25_score.unwrap_or(0.0);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| b.similarity.total_cmp(&a.similarity))
    });
    hits
}

fn memory_text(memory: &Memory) -> String {
    memory
        .content
        .get("text")
        .and_then(|text| text.as_str())
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use eliza_domain::{AgentId, MemoryId};
    use serde_json::json;

    fn hit(text: &str, similarity: f32) -> SearchHit {
        SearchHit {
            memory: Memory {
                id: MemoryId::new_random(),
                table: "messages".into(),
                created_at: Utc::now(),
                content: json!({"text": text}),
                entity_id: None,
                agent_id: AgentId::new_random(),
                room_id: None,
                world_id: None,
                unique: true,
                metadata: json!({}),
                embedding: None,
            },
            similarity,
            bm25_score: None,
        }
    }

    #[test]
    fn keyword_matches_come_first_then_similarity() {
        let hits = vec![
            hit("the weather is nice today", 0.9),
            hit("I love writing Rust code", 0.5),
            hit("coding help in Rust, please", 0.4),
            hit("nothing related", 0.8),
        ];
        let ranked = rerank("help with rust coding", hits);
        let texts: Vec<&str> = ranked
            .iter()
            .map(|hit| hit.memory.content["text"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(texts[0], "coding help in Rust, please");
        assert_eq!(texts[1], "I love writing Rust code");
        assert_eq!(texts[2..], ["the weather is nice today", "nothing related"]);
        assert!(
            ranked[0].bm25_score.unwrap_or_default() > ranked[1].bm25_score.unwrap_or_default()
        );
        assert_eq!(ranked[3].bm25_score, Some(0.0));
    }

    #[test]
    fn no_hits_and_no_text_are_fine() {
        assert!(rerank("anything", Vec::new()).is_empty());
        let mut empty = hit("", 0.3);
        empty.memory.content = json!({"thought": "no text"});
        let ranked = rerank("anything", vec![empty, hit("", 0.7)]);
        assert_eq!(ranked[0].similarity, 0.7);
    }
}
