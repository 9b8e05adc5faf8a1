//! Ranking memories for a query: dense similarity and BM25 keyword score normalised per query, the neighbouring
//! turn, recency decay, kind-aware importance and the time a query names, fused with configurable weights; and
//! the grouping of typed memories with their message. Pure functions over an in-memory candidate list.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::memory::{Memory, MemoryKind};
use super::text::terms;
use super::when::TimeHint;

/// A text's keyword terms as BM25 reads them: term frequencies by term hash, sorted by hash (binary-searched
/// when ranking), and the number of terms.
#[derive(Debug, Clone, Default)]
pub struct Terms {
    counts: Vec<(u64, u32)>,
    len: u32,
}

impl Terms {
    /// The terms of a text already split (see [`terms`]).
    pub fn of(all: &[String]) -> Self {
        let mut tf: HashMap<u64, u32> = HashMap::new();
        for t in all {
            *tf.entry(term_hash(t)).or_insert(0) += 1;
        }
        let mut counts: Vec<(u64, u32)> = tf.into_iter().collect();
        counts.sort_unstable();
        Self {
            counts,
            len: u32::try_from(all.len()).unwrap_or(u32::MAX),
        }
    }

    fn tf(&self, hash: u64) -> u32 {
        self.counts
            .binary_search_by_key(&hash, |(h, _)| *h)
            .ok()
            .and_then(|i| self.counts.get(i))
            .map_or(0, |(_, n)| *n)
    }
}

/// A memory ready for ranking: its vector and its keyword terms.
#[derive(Debug, Clone)]
pub struct Indexed {
    /// The memory.
    pub memory: Memory,
    /// Its unit vector.
    pub vector: Vec<f32>,
    /// Its keyword terms.
    pub terms: Terms,
}

impl Indexed {
    /// Indexes a memory's text (with its speaker's name) in its language.
    pub fn new(memory: Memory, vector: Vec<f32>) -> Self {
        let terms = Terms::of(&terms(&memory.indexed_text(), memory.language));
        Self { terms, memory, vector }
    }
}

/// FNV-1a hash of a term: terms are compared by hash when ranking.
pub fn term_hash(term: &str) -> u64 {
    term.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Default weight of the standardised dense similarity in the hybrid fusion; knowledge and routing use it too.
pub const SEMANTIC_WEIGHT: f32 = 0.65;
/// Default weight of the relative BM25 score in the hybrid fusion; knowledge and routing use it too.
pub const KEYWORD_WEIGHT: f32 = 0.35;
/// How many standard deviations above the mean a similarity must be for [`standardised`] to score it 1.
pub const STANDARD_SPAN: f32 = 4.0;

/// Fusion weights and decay, from the settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Weight of the dense similarity, standardised over the candidates of the query.
    pub semantic: f32,
    /// Weight of the BM25 keyword score, divided by the best candidate's.
    pub keyword: f32,
    /// Share of the better neighbouring turn's score a message gains (its context: the question it answers).
    pub neighbour: f32,
    /// Weight of recency.
    pub recency: f32,
    /// Weight of kind-aware importance.
    pub importance: f32,
    /// Bonus of memories from the time a query names ("in June", "last month", "the first time").
    pub time: f32,
    /// Age at which recency halves, in days.
    pub half_life_days: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            semantic: SEMANTIC_WEIGHT,
            keyword: KEYWORD_WEIGHT,
            neighbour: 0.3,
            recency: 0.05,
            importance: 0.05,
            time: 0.15,
            half_life_days: 90.0,
        }
    }
}

/// Which signals rank the memories (`rappel eval` compares them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Embedding similarity only.
    Dense,
    /// BM25 only.
    Keyword,
    /// Everything, fused with the weights.
    #[default]
    Hybrid,
}

/// The parts of a memory's score.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct ScoreParts {
    /// Cosine similarity of query and memory.
    pub semantic: f32,
    /// BM25, divided by the best candidate's.
    pub keyword: f32,
    /// 1 for now, halving every half-life (1 for pinned memories).
    pub recency: f32,
    /// By kind: open issues and unkept commitments highest.
    pub importance: f32,
    /// What the neighbouring turn added.
    #[serde(default)]
    pub neighbour: f32,
    /// What the time named in the query added.
    #[serde(default)]
    pub time: f32,
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

/// A query ready for ranking.
#[derive(Debug, Clone, Copy)]
pub struct RankQuery<'a> {
    /// Its embedding.
    pub vector: &'a [f32],
    /// Its keyword terms.
    pub terms: &'a [String],
    /// The time it names, if any.
    pub hint: Option<TimeHint>,
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

/// BM25 of each text for the query's terms, with document frequencies over these texts.
pub fn bm25(texts: &[&Terms], query_terms: &[String]) -> Vec<f32> {
    let n = texts.len() as f32;
    let avg_len = (texts.iter().map(|c| c.len as f32).sum::<f32>() / n.max(1.0)).max(1.0);
    let mut hashes: Vec<u64> = query_terms.iter().map(|t| term_hash(t)).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let tfs: Vec<Vec<u32>> = texts
        .iter()
        .map(|c| hashes.iter().map(|h| c.tf(*h)).collect())
        .collect();
    let idf: Vec<f32> = (0..hashes.len())
        .map(|j| {
            let df = tfs.iter().filter(|row| row.get(j).is_some_and(|tf| *tf > 0)).count() as f32;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    texts
        .iter()
        .zip(&tfs)
        .map(|(c, row)| {
            let norm = K1 * (1.0 - B + B * c.len as f32 / avg_len);
            row.iter()
                .zip(&idf)
                .filter(|(tf, _)| **tf > 0)
                .map(|(tf, idf)| {
                    let tf = *tf as f32;
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum()
        })
        .collect()
}

/// Mean and population standard deviation of some values (both 0 for none).
pub fn mean_and_spread(values: &[f32]) -> (f32, f32) {
    let count = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / count;
    let sd = (values.iter().map(|c| (c - mean) * (c - mean)).sum::<f32>() / count).sqrt();
    (mean, sd)
}

/// Dense similarities standardised over one query's candidates: a candidate [`STANDARD_SPAN`] standard deviations
/// above the mean scores 1, one at or below the mean 0 (so fusion weights mean the same on any data).
pub fn standardised(cosines: &[f32]) -> Vec<f32> {
    let (mean, sd) = mean_and_spread(cosines);
    let sd = sd.max(1e-6);
    cosines
        .iter()
        .map(|c| ((c - mean) / sd / STANDARD_SPAN).max(0.0))
        .collect()
}

/// Keyword scores divided by the best one (all 0 when nothing matched).
pub fn relative(scores: &[f32]) -> Vec<f32> {
    let best = scores.iter().copied().fold(0.0f32, f32::max);
    scores.iter().map(|s| if best > 0.0 { s / best } else { 0.0 }).collect()
}

/// The time bonus of each candidate: inside the named range, or by age rank for "first"/"latest".
fn time_bonus(candidates: &[&Indexed], hint: Option<TimeHint>) -> Vec<f32> {
    let n = candidates.len();
    match hint {
        None => vec![0.0; n],
        Some(TimeHint::Range(from, to)) => candidates
            .iter()
            .map(|c| {
                if c.memory.observed_at >= from && c.memory.observed_at < to {
                    1.0
                } else {
                    0.0
                }
            })
            .collect(),
        Some(order) => {
            let mut by_time: Vec<usize> = (0..n).collect();
            by_time.sort_by_key(|i| candidates[*i].memory.observed_at);
            let mut bonus = vec![0.0; n];
            let span = n.saturating_sub(1).max(1) as f32;
            for (rank, i) in by_time.into_iter().enumerate() {
                let oldest_first = 1.0 - rank as f32 / span;
                bonus[i] = if order == TimeHint::Earliest {
                    oldest_first
                } else {
                    1.0 - oldest_first
                };
            }
            bonus
        }
    }
}

/// Ranks `candidates` for a query and returns the best `top`, best first. Hybrid ranking normalises the dense
/// and keyword scores over the candidates of this query (so the weights mean the same on any data), lets a
/// message gain from its neighbouring turn, then adds recency, importance and the time the query names.
pub fn rank(
    candidates: &[&Indexed],
    query: &RankQuery<'_>,
    weights: &Weights,
    now: DateTime<Utc>,
    mode: Mode,
    top: usize,
) -> Vec<Scored> {
    let bags: Vec<&Terms> = candidates.iter().map(|c| &c.terms).collect();
    let keyword = relative(&bm25(&bags, query.terms));
    let cosines: Vec<f32> = candidates.iter().map(|c| super::dot(&c.vector, query.vector)).collect();
    let dense = standardised(&cosines);
    let mut parts: Vec<ScoreParts> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| ScoreParts {
            semantic: cosines[i],
            keyword: keyword[i],
            recency: recency(&c.memory, now, weights.half_life_days),
            importance: importance(&c.memory),
            neighbour: 0.0,
            time: 0.0,
        })
        .collect();
    let base: Vec<f32> = parts
        .iter()
        .zip(&dense)
        .map(|(p, d)| match mode {
            Mode::Dense => p.semantic,
            Mode::Keyword => p.keyword,
            Mode::Hybrid => weights.semantic * d + weights.keyword * p.keyword,
        })
        .collect();
    let mut scores = base.clone();
    if mode == Mode::Hybrid {
        // The best base score of each turn, by (interaction, position).
        let mut turns: HashMap<(&str, u32), f32> = HashMap::new();
        for (c, b) in candidates.iter().zip(&base) {
            if c.memory.kind == MemoryKind::Message {
                let slot = turns
                    .entry((c.memory.provenance.interaction_id.as_str(), c.memory.seq))
                    .or_insert(0.0);
                *slot = slot.max(*b);
            }
        }
        let time = time_bonus(candidates, query.hint);
        for (i, c) in candidates.iter().enumerate() {
            let m = &c.memory;
            let key = m.provenance.interaction_id.as_str();
            let around = [m.seq.checked_sub(1), m.seq.checked_add(1)]
                .into_iter()
                .flatten()
                .filter_map(|s| turns.get(&(key, s)).copied())
                .fold(0.0f32, f32::max);
            let p = &mut parts[i];
            p.neighbour = weights.neighbour * around;
            p.time = weights.time * time[i];
            scores[i] =
                base[i] + p.neighbour + p.time + weights.recency * p.recency + weights.importance * p.importance;
        }
    }
    let mut scored: Vec<Scored> = scores
        .into_iter()
        .zip(parts)
        .enumerate()
        .map(|(index, (score, parts))| Scored { index, score, parts })
        .collect();
    let order = |a: &Scored, b: &Scored| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index));
    if top < scored.len() {
        scored.select_nth_unstable_by(top, order);
        scored.truncate(top);
    }
    scored.sort_by(order);
    scored
}

/// Ranked candidates grouped by the message they come from: a message's windows and the typed memories drawn
/// from it form one group, led by its best member, so a typed memory rises with its message instead of taking
/// its place. Returns, best first, the indexes of each group's members (best first).
pub fn group_by_message(candidates: &[&Indexed], ranked: &[Scored]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_key: HashMap<(&str, &str), usize> = HashMap::new();
    for (pos, s) in ranked.iter().enumerate() {
        let m = &candidates[s.index].memory;
        let key = (
            m.provenance.interaction_id.as_str(),
            m.provenance.message_ids.first().map_or(m.id.as_str(), String::as_str),
        );
        match by_key.get(&key) {
            Some(g) => groups[*g].push(pos),
            None => {
                by_key.insert(key, groups.len());
                groups.push(vec![pos]);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::Lang;
    use crate::domain::CustomerId;

    fn now() -> DateTime<Utc> {
        "2026-11-25T00:00:00Z".parse().unwrap()
    }

    fn memory(text: &str, kind: MemoryKind, days_ago: i64) -> Memory {
        let at = now() - chrono::Duration::days(days_ago);
        let mut m = crate::domain::testkit::memory(&CustomerId::from_client("c"), kind, text, &format!("{text}-m"), at);
        m.open = kind == MemoryKind::Issue;
        m
    }

    fn ranked(candidates: &[&Indexed], vector: &[f32], q: &str, mode: Mode) -> Vec<Scored> {
        let t = terms(q, Lang::En);
        let query = RankQuery {
            vector,
            terms: &t,
            hint: None,
        };
        rank(candidates, &query, &Weights::default(), now(), mode, usize::MAX)
    }

    #[test]
    fn keyword_mode_finds_exact_codes_and_dense_mode_meaning() {
        let a = Indexed::new(
            memory("Order LM-48213 never arrived", MemoryKind::Message, 5),
            vec![1.0, 0.0],
        );
        let b = Indexed::new(memory("The hub is offline", MemoryKind::Message, 5), vec![0.0, 1.0]);
        let kw = ranked(&[&a, &b], &[0.0, 1.0], "where is LM-48213", Mode::Keyword);
        assert_eq!((kw[0].index, kw[0].parts.keyword), (0, 1.0));
        let dense = ranked(&[&a, &b], &[0.0, 1.0], "where is LM-48213", Mode::Dense);
        assert_eq!(dense[0].index, 1);
    }

    #[test]
    fn recall_prefers_recent_and_important_memory_when_scores_tie() {
        let old = Indexed::new(memory("hub offline", MemoryKind::Message, 300), vec![1.0, 0.0]);
        let new = Indexed::new(memory("hub offline", MemoryKind::Message, 1), vec![1.0, 0.0]);
        let issue = Indexed::new(memory("hub offline", MemoryKind::Issue, 300), vec![1.0, 0.0]);
        assert_eq!(
            ranked(&[&old, &new], &[1.0, 0.0], "hub offline", Mode::Hybrid)[0].index,
            1
        );
        assert_eq!(
            ranked(&[&old, &issue], &[1.0, 0.0], "hub offline", Mode::Hybrid)[0].index,
            1
        );
        assert!((recency(&old.memory, now(), 90.0) - 0.5f32.powf(300.0 / 90.0)).abs() < 1e-4);
    }

    #[test]
    fn an_answer_gains_from_the_question_before_it() {
        let mut question = memory("Did you adopt the dog in the end?", MemoryKind::Message, 3);
        let mut answer = memory("Yes! Biscuit, a little beagle", MemoryKind::Message, 3);
        let mut other = memory("Yes! We went to Lisbon", MemoryKind::Message, 3);
        (question.seq, answer.seq, other.seq) = (4, 5, 9);
        let q = Indexed::new(question, vec![1.0, 0.0]);
        let a = Indexed::new(answer, vec![0.6, 0.8]);
        let o = Indexed::new(other, vec![0.6, 0.8]);
        let r = ranked(&[&o, &a, &q], &[1.0, 0.0], "what dog did she adopt", Mode::Hybrid);
        let pos = |i: usize| r.iter().position(|s| s.index == i).unwrap();
        assert!(
            pos(1) < pos(0),
            "the answer beside the question ranks above an identical stray turn"
        );
        assert!(r[pos(1)].parts.neighbour > 0.0);
    }

    #[test]
    fn a_named_month_lifts_memories_from_that_month() {
        let june = Indexed::new(
            memory("worried about the exam", MemoryKind::Message, 170),
            vec![1.0, 0.0],
        );
        let march = Indexed::new(
            memory("worried about the exam", MemoryKind::Message, 250),
            vec![1.0, 0.0],
        );
        let t = terms("worried", Lang::En);
        let from = now() - chrono::Duration::days(180);
        let to = now() - chrono::Duration::days(150);
        let query = RankQuery {
            vector: &[1.0, 0.0],
            terms: &t,
            hint: Some(TimeHint::Range(from, to)),
        };
        let r = rank(&[&march, &june], &query, &Weights::default(), now(), Mode::Hybrid, 2);
        assert_eq!(r[0].index, 1);
        assert!(r[0].parts.time > 0.0 && r[1].parts.time == 0.0);
    }

    #[test]
    fn typed_memories_group_with_their_message() {
        let raw = Indexed::new(
            memory("My hub is offline again", MemoryKind::Message, 2),
            vec![1.0, 0.0],
        );
        let mut issue_m = memory("My hub is offline again", MemoryKind::Issue, 2);
        issue_m.provenance.message_ids = raw.memory.provenance.message_ids.clone();
        let issue = Indexed::new(issue_m, vec![1.0, 0.0]);
        let other = Indexed::new(
            memory("Thanks for the quick reply", MemoryKind::Message, 2),
            vec![0.0, 1.0],
        );
        let candidates = [&raw, &issue, &other];
        let r = ranked(&candidates, &[1.0, 0.0], "hub offline", Mode::Hybrid);
        let groups = group_by_message(&candidates, &r);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].len(), 2, "the issue and its message are one result");
    }
}
