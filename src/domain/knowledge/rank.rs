//! Ranking knowledge chunks for a question: the memories' hybrid fusion (standardised dense similarity plus
//! relative BM25), a bonus for chunks in the reader's language, and at most a few chunks per document so one long
//! article does not fill the answer.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Chunk;
use crate::domain::recall::{bm25, relative, standardised, Mode, Terms, KEYWORD_WEIGHT, SEMANTIC_WEIGHT};
use crate::domain::text::Lang;

/// Bonus of a chunk in the language asked for.
const LANGUAGE: f32 = 0.1;

/// A chunk ready for ranking.
#[derive(Debug, Clone)]
pub struct IndexedChunk {
    /// The chunk.
    pub chunk: Chunk,
    /// Its document's language.
    pub lang: Lang,
    /// Its unit vector.
    pub vector: Vec<f32>,
    /// Its keyword terms (title and headings included).
    pub terms: Terms,
}

/// The parts of a chunk's score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ChunkScore {
    /// Cosine similarity of question and chunk.
    pub semantic: f32,
    /// BM25, divided by the best candidate's.
    pub keyword: f32,
    /// Bonus for the language asked for.
    pub language: f32,
    /// The fused score.
    pub score: f32,
}

/// A question ready for ranking.
#[derive(Debug, Clone, Copy)]
pub struct ChunkQuery<'a> {
    /// Its embedding.
    pub vector: &'a [f32],
    /// Its keyword terms.
    pub terms: &'a [String],
    /// The reader's language: its chunks get a bonus.
    pub lang: Option<Lang>,
    /// Chunks kept per document.
    pub per_doc: usize,
}

/// Ranks candidates for a question and returns the best `top` (index into `candidates`, score), best first.
pub fn rank(candidates: &[&IndexedChunk], query: &ChunkQuery<'_>, mode: Mode, top: usize) -> Vec<(usize, ChunkScore)> {
    let bags: Vec<&Terms> = candidates.iter().map(|c| &c.terms).collect();
    let keyword = relative(&bm25(&bags, query.terms));
    let cosines: Vec<f32> = candidates
        .iter()
        .map(|c| crate::domain::dot(&c.vector, query.vector))
        .collect();
    let dense = standardised(&cosines);
    let mut scored: Vec<(usize, ChunkScore)> = candidates
        .iter()
        .enumerate()
        .zip(cosines.iter().zip(dense.iter().zip(&keyword)))
        .map(|((i, c), (cosine, (dense, keyword)))| {
            let language = match (mode, query.lang) {
                (Mode::Hybrid, Some(lang)) if lang == c.lang => LANGUAGE,
                _ => 0.0,
            };
            let score = match mode {
                Mode::Dense => *cosine,
                Mode::Keyword => *keyword,
                Mode::Hybrid => SEMANTIC_WEIGHT * dense + KEYWORD_WEIGHT * keyword + language,
            };
            (
                i,
                ChunkScore {
                    semantic: *cosine,
                    keyword: *keyword,
                    language,
                    score,
                },
            )
        })
        .collect();
    scored.sort_by(|a, b| b.1.score.total_cmp(&a.1.score).then(a.0.cmp(&b.0)));
    let mut per_doc: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    scored
        .into_iter()
        .filter(|(i, _)| {
            let Some(c) = candidates.get(*i) else { return false };
            let n = per_doc.entry(c.chunk.doc_id.as_str()).or_insert(0);
            *n += 1;
            *n <= query.per_doc.max(1)
        })
        .take(top)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::terms;

    fn chunk(doc: &str, text: &str, lang: Lang, vector: Vec<f32>) -> IndexedChunk {
        IndexedChunk {
            chunk: Chunk {
                doc_id: doc.into(),
                position: 0,
                headings: vec![],
                text: text.into(),
            },
            lang,
            terms: Terms::of(&terms(text, lang)),
            vector,
        }
    }

    #[test]
    fn codes_rank_by_keyword_and_the_readers_language_wins_a_tie() {
        let a = chunk(
            "a",
            "Error E-3307 means single sign-on is misconfigured",
            Lang::En,
            vec![1.0, 0.0],
        );
        let b = chunk("b", "Refunds within 30 days", Lang::En, vec![1.0, 0.0]);
        let c = chunk(
            "c",
            "Erreur E-3307 : authentification unique mal configurée",
            Lang::Fr,
            vec![1.0, 0.0],
        );
        let candidates = vec![&a, &b, &c];
        let q_terms = terms("what is E-3307", Lang::En);
        let query = ChunkQuery {
            vector: &[1.0, 0.0],
            terms: &q_terms,
            lang: Some(Lang::Fr),
            per_doc: 2,
        };
        let ranked = rank(&candidates, &query, Mode::Hybrid, 3);
        assert_eq!(ranked[0].0, 2, "{ranked:?}");
        assert_eq!(ranked[1].0, 0);
        let keyword = rank(&candidates, &query, Mode::Keyword, 3);
        assert_eq!(keyword[2].0, 1);
    }

    #[test]
    fn one_document_keeps_at_most_its_share() {
        let chunks: Vec<IndexedChunk> = (0..5)
            .map(|_| chunk("a", "hub offline", Lang::En, vec![1.0, 0.0]))
            .collect();
        let other = chunk("b", "hub offline", Lang::En, vec![0.9, 0.1]);
        let mut candidates: Vec<&IndexedChunk> = chunks.iter().collect();
        candidates.push(&other);
        let q_terms = terms("hub offline", Lang::En);
        let query = ChunkQuery {
            vector: &[1.0, 0.0],
            terms: &q_terms,
            lang: None,
            per_doc: 2,
        };
        let ranked = rank(&candidates, &query, Mode::Hybrid, 5);
        assert_eq!(ranked.len(), 3);
        assert_eq!(ranked[2].0, 5);
    }
}
