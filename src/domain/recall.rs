//! Ranking memories for a query: dense similarity, BM25 keyword score, recency decay and kind-aware importance,
//! fused with configurable weights. Pure functions over an in-memory candidate list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::memory::{Memory, MemoryKind};
use super::text::terms;

/// A memory ready for ranking: its vector and its keyword terms.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// The memory.
    pub memory: Memory,
    /// Its unit vector.
    pub vector: Vec<f32>,
    /// Term frequencies of its text, by term hash, sorted by hash (binary-searched when ranking).
    pub terms: Vec<(u64, u32)>,
    /// Number of terms.
    pub len: u32,
}

impl Indexed {
    /// Indexes a memory's text in its language.
    pub fn new(memory: Memory, vector: Vec<f32>) -> Self {
        let mut tf: HashMap<u64, u32> = HashMap::new();
        let all = terms(&memory.text, memory.language);
        for t in &all {
            *tf.entry(term_hash(t)).or_insert(0) += 1;
        }
        let mut terms: Vec<(u64, u32)> = tf.into_iter().collect();
        terms.sort_unstable();
        Self {
            len: all.len() as u32,
            terms,
            memory,
            vector,
        }
    }

    fn tf(&self, hash: u64) -> u32 {
        self.terms
            .binary_search_by_key(&hash, |(h, _)| *h)
            .map_or(0, |i| self.terms[i].1)
    }
}

/// FNV-1a hash of a term: terms are compared by hash when ranking.
pub fn term_hash(term: &str) -> u64 {
    term.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Fusion weights and decay, from the settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Weight of the dense (embedding) similarity.
    pub semantic: f32,
    /// Weight of the BM25 keyword score (normalised to the best candidate).
    pub keyword: f32,
    /// Weight of recency.
    pub recency: f32,
    /// Weight of kind-aware importance.
    pub importance: f32,
    /// Age at which recency halves, in days.
    pub half_life_days: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            semantic: 0.6,
            keyword: 0.3,
            recency: 0.05,
            importance: 0.05,
            half_life_days: 90.0,
        }
    }
}

/// Which signals rank the memories (`rappel eval` compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Embedding similarity only.
    Dense,
    /// BM25 only.
    Keyword,
    /// Everything, fused with the weights.
    Hybrid,
}

/// The parts of a memory's score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ScoreParts {
    /// Cosine similarity of query and memory (0 when negative).
    pub semantic: f32,
    /// BM25, divided by the best candidate's.
    pub keyword: f32,
    /// 1 for now, halving every half-life (1 for pinned memories).
    pub recency: f32,
    /// By kind: open issues and unkept commitments highest.
    pub importance: f32,
}

/// A ranked candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// Position in the candidate list.
    pub index: usize,
    /// Fused score.
    pub score: f32,
    /// Its parts.
    pub parts: ScoreParts,
}

/// How much a memory matters regardless of the query.
pub fn importance(m: &Memory) -> f32 {
    let base: f32 = match (m.kind, m.open) {
        (MemoryKind::Issue, true) | (MemoryKind::Commitment, true) => 1.0,
        (MemoryKind::Preference, _) => 0.7,
        (MemoryKind::Fact, _) => 0.6,
        (MemoryKind::Resolution, _) => 0.5,
        (MemoryKind::Issue, false) => 0.4,
        (MemoryKind::Commitment, false) => 0.3,
        (MemoryKind::Message, _) => 0.3,
    };
    (base + if m.pinned { 0.2 } else { 0.0 } + 0.05 * (m.count.saturating_sub(1) as f32)).min(1.0)
}

/// 0.5 ^ (age / half-life); pinned memories do not decay.
pub fn recency(m: &Memory, now: DateTime<Utc>, half_life_days: f32) -> f32 {
    if m.pinned {
        return 1.0;
    }
    let age_days = (now - m.last_seen).num_seconds().max(0) as f32 / 86_400.0;
    0.5f32.powf(age_days / half_life_days.max(0.1))
}

const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Ranks `candidates` for a query and returns the best `top`, best first.
pub fn rank(
    candidates: &[&Indexed],
    query_vector: &[f32],
    query_terms: &[String],
    weights: &Weights,
    now: DateTime<Utc>,
    mode: Mode,
    top: usize,
) -> Vec<Scored> {
    let n = candidates.len() as f32;
    let avg_len = (candidates.iter().map(|c| c.len as f32).sum::<f32>() / n.max(1.0)).max(1.0);
    let mut hashes: Vec<u64> = query_terms.iter().map(|t| term_hash(t)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    // One pass for term frequencies and document frequencies, a second for BM25.
    let tfs: Vec<u32> = candidates
        .iter()
        .flat_map(|c| hashes.iter().map(|h| c.tf(*h)))
        .collect();
    let t = hashes.len();
    let idf: Vec<f32> = (0..t)
        .map(|j| {
            let df = (0..candidates.len()).filter(|i| tfs[i * t + j] > 0).count() as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let bm25: Vec<f32> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let norm = K1 * (1.0 - B + B * c.len as f32 / avg_len);
            (0..t)
                .map(|j| {
                    let tf = tfs[i * t + j] as f32;
                    if tf == 0.0 {
                        0.0
                    } else {
                        idf[j] * tf * (K1 + 1.0) / (tf + norm)
                    }
                })
                .sum()
        })
        .collect();
    let best = bm25.iter().copied().fold(0.0f32, f32::max);
    let mut scored: Vec<Scored> = candidates
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let parts = ScoreParts {
                semantic: super::dot(&c.vector, query_vector).max(0.0),
                keyword: if best > 0.0 { bm25[index] / best } else { 0.0 },
                recency: recency(&c.memory, now, weights.half_life_days),
                importance: importance(&c.memory),
            };
            let score = match mode {
                Mode::Dense => parts.semantic,
                Mode::Keyword => parts.keyword,
                Mode::Hybrid => {
                    weights.semantic * parts.semantic
                        + weights.keyword * parts.keyword
                        + weights.recency * parts.recency
                        + weights.importance * parts.importance
                }
            };
            Scored { index, score, parts }
        })
        .collect();
    let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    if top < scored.len() {
        scored.select_nth_unstable_by(top, order);
        scored.truncate(top);
    }
    scored.sort_by(order);
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::memory::Provenance;
    use crate::domain::text::Lang;
    use crate::domain::{CustomerId, WorkspaceId};

    fn memory(text: &str, kind: MemoryKind, days_ago: i64) -> Memory {
        let now: DateTime<Utc> = "2026-11-25T00:00:00Z".parse().unwrap();
        let at = now - chrono::Duration::days(days_ago);
        Memory {
            id: text.into(),
            workspace: WorkspaceId::default_workspace(),
            kind,
            text: text.into(),
            subject: None,
            language: Lang::En,
            provenance: Provenance {
                customer_id: CustomerId::from_client("c"),
                interaction_id: "i".into(),
                message_ids: vec![],
            },
            observed_at: at,
            valid_from: None,
            valid_to: None,
            due_at: None,
            open: kind == MemoryKind::Issue,
            count: 1,
            last_seen: at,
            pinned: false,
            sentiment: None,
            edits: vec![],
        }
    }

    #[test]
    fn keyword_mode_finds_exact_codes() {
        let a = Indexed::new(
            memory("Order LM-48213 never arrived", MemoryKind::Message, 5),
            vec![1.0, 0.0],
        );
        let b = Indexed::new(memory("The hub is offline", MemoryKind::Message, 5), vec![0.0, 1.0]);
        let q = terms("where is LM-48213", Lang::En);
        let ranked = rank(
            &[&a, &b],
            &[0.0, 1.0],
            &q,
            &Weights::default(),
            "2026-11-25T00:00:00Z".parse().unwrap(),
            Mode::Keyword,
            usize::MAX,
        );
        assert_eq!(ranked[0].index, 0);
        assert_eq!(ranked[0].parts.keyword, 1.0);
        let dense = rank(
            &[&a, &b],
            &[0.0, 1.0],
            &q,
            &Weights::default(),
            "2026-11-25T00:00:00Z".parse().unwrap(),
            Mode::Dense,
            usize::MAX,
        );
        assert_eq!(dense[0].index, 1);
    }

    #[test]
    fn recall_prefers_recent_and_important_memory_when_scores_tie() {
        let now = "2026-11-25T00:00:00Z".parse().unwrap();
        let old = Indexed::new(memory("hub offline", MemoryKind::Message, 300), vec![1.0, 0.0]);
        let new = Indexed::new(memory("hub offline", MemoryKind::Message, 1), vec![1.0, 0.0]);
        let issue = Indexed::new(memory("hub offline", MemoryKind::Issue, 300), vec![1.0, 0.0]);
        let q = terms("hub offline", Lang::En);
        let ranked = rank(
            &[&old, &new],
            &[1.0, 0.0],
            &q,
            &Weights::default(),
            now,
            Mode::Hybrid,
            usize::MAX,
        );
        assert_eq!(ranked[0].index, 1);
        let ranked = rank(
            &[&old, &issue],
            &[1.0, 0.0],
            &q,
            &Weights::default(),
            now,
            Mode::Hybrid,
            usize::MAX,
        );
        assert_eq!(ranked[0].index, 1);
        assert!((recency(&old.memory, now, 90.0) - 0.5f32.powf(300.0 / 90.0)).abs() < 1e-4);
    }
}
