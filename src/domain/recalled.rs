//! What recall returns for a customer: the memories ranked for a query, grouped with the typed memories drawn
//! from the same message, and the filters applied first. Pure functions over the index's candidates.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::memory::{Memory, MemoryKind};
use super::recall::{group_by_message, rank, Indexed, Mode, RankQuery, ScoreParts, Weights};
use super::text::{terms, Lang};
use super::when::time_hint;

/// A recalled memory with its score and the score's parts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recalled {
    /// The memory (its `provenance` says where it comes from): the message itself when it was recalled.
    pub memory: Memory,
    /// Fused score (of the best memory of its message).
    pub score: f32,
    /// The score's parts.
    pub parts: ScoreParts,
    /// Typed memories drawn from the same message (issue, promise, fact...), recalled with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<Memory>,
}

/// Recall filters, checked against each memory.
#[derive(Debug, Clone, Default)]
pub struct RecallFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<MemoryKind>>,
    /// Observed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Observed before.
    pub until: Option<DateTime<Utc>>,
    /// Keep replaced facts and preferences.
    pub include_expired: bool,
}

impl RecallFilter {
    /// Whether a memory passes the filter at `now`.
    pub fn keeps(&self, m: &Memory, now: DateTime<Utc>) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(&m.kind))
            && self.since.is_none_or(|t| m.observed_at >= t)
            && self.until.is_none_or(|t| m.observed_at < t)
            && (self.include_expired || m.is_valid_at(now))
    }
}

/// A query, embedded, with the language its keywords are read in.
pub struct QueryText<'a> {
    /// The text.
    pub text: &'a str,
    /// Its embedding.
    pub vector: &'a [f32],
    /// Its language.
    pub lang: Lang,
}

/// Ranks a customer's indexed memories for an embedded query and returns the best `top` messages, each with the
/// typed memories drawn from it.
pub fn rank_memories(
    memories: &[Arc<Indexed>],
    query: &QueryText<'_>,
    weights: &Weights,
    now: DateTime<Utc>,
    mode: Mode,
    filter: &RecallFilter,
    top: usize,
) -> Vec<Recalled> {
    let candidates: Vec<&Indexed> = memories
        .iter()
        .map(Arc::as_ref)
        .filter(|m| filter.keeps(&m.memory, now))
        .collect();
    let query_terms = terms(query.text, query.lang);
    let observed: Vec<DateTime<Utc>> = candidates.iter().map(|c| c.memory.observed_at).collect();
    let rank_query = RankQuery {
        vector: query.vector,
        terms: &query_terms,
        hint: time_hint(query.text, now, &observed),
    };
    let ranked = rank(&candidates, &rank_query, weights, now, mode, usize::MAX);
    group_by_message(&candidates, &ranked)
        .into_iter()
        .take(top)
        .map(|group| {
            let best = ranked[group[0]];
            let lead = group
                .iter()
                .copied()
                .find(|p| candidates[ranked[*p].index].memory.kind == MemoryKind::Message)
                .unwrap_or(group[0]);
            Recalled {
                memory: candidates[ranked[lead].index].memory.clone(),
                score: best.score,
                parts: best.parts,
                derived: group
                    .iter()
                    .filter(|p| **p != lead)
                    .map(|p| &candidates[ranked[*p].index].memory)
                    .filter(|m| m.kind != MemoryKind::Message)
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CustomerId;

    fn now() -> DateTime<Utc> {
        "2026-11-25T00:00:00Z".parse().unwrap()
    }

    fn memory(text: &str, kind: MemoryKind, message: &str, vector: [f32; 2], days_ago: i64) -> Arc<Indexed> {
        let customer = CustomerId::from_client("c");
        let mut m =
            crate::domain::testkit::memory(&customer, kind, text, message, now() - chrono::Duration::days(days_ago));
        m.open = kind == MemoryKind::Issue;
        let mut v = vector.to_vec();
        crate::domain::normalise_unit(&mut v);
        Arc::new(Indexed::new(m, v))
    }

    #[test]
    fn a_message_comes_back_once_with_its_typed_memories_and_filters_apply_first() {
        let all = vec![
            memory(
                "My hub keeps going offline at night",
                MemoryKind::Message,
                "m1",
                [1.0, 0.1],
                2,
            ),
            memory(
                "My hub keeps going offline at night",
                MemoryKind::Issue,
                "m1",
                [1.0, 0.1],
                2,
            ),
            memory("Thanks, the invoice is fine", MemoryKind::Message, "m2", [0.1, 1.0], 2),
            memory(
                "hub offline again last year",
                MemoryKind::Message,
                "m3",
                [0.9, 0.2],
                400,
            ),
        ];
        let q = QueryText {
            text: "hub offline at night",
            vector: &[1.0, 0.0],
            lang: Lang::En,
        };
        let got = rank_memories(
            &all,
            &q,
            &Weights::default(),
            now(),
            Mode::Hybrid,
            &RecallFilter::default(),
            2,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].memory.kind, MemoryKind::Message, "the message leads its group");
        assert_eq!(got[0].derived.len(), 1);
        assert_eq!(got[0].derived[0].kind, MemoryKind::Issue);
        let issues_only = RecallFilter {
            kinds: Some(vec![MemoryKind::Issue]),
            ..Default::default()
        };
        let got = rank_memories(&all, &q, &Weights::default(), now(), Mode::Hybrid, &issues_only, 5);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].memory.kind, MemoryKind::Issue);
        let recent = RecallFilter {
            since: Some(now() - chrono::Duration::days(30)),
            ..Default::default()
        };
        let got = rank_memories(&all, &q, &Weights::default(), now(), Mode::Hybrid, &recent, 5);
        assert!(got.iter().all(|r| r.memory.provenance.message_ids[0] != "m3"));
    }
}
