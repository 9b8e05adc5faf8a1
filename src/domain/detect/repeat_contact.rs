//! `repeat_contact`: N or more interactions about the same problem (by meaning, not by tag) within D days.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{topic, Finding, Snapshot};
use crate::domain::dot;
use crate::domain::interaction::Interaction;
use crate::domain::memory::MemoryKind;
use crate::domain::recall::Indexed;

/// Parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Contacts that make a repeat (default 3).
    #[serde(default = "three", deserialize_with = "crate::domain::whole::int")]
    pub min_contacts: usize,
    /// Window in days (default 14).
    #[serde(default = "fourteen", deserialize_with = "crate::domain::whole::int")]
    pub days: i64,
    /// Similarity above which two contacts are about the same problem: the best match between their reported
    /// issues and opening messages (default 0.6).
    #[serde(default = "similarity")]
    pub similarity: f32,
}

fn three() -> usize {
    3
}
fn fourteen() -> i64 {
    14
}
/// multilingual-e5-small, first customer messages of two contacts: the same problem scores 0.85-0.94 on the
/// demo's storylines, contacts of one customer about different problems 0.83 (median) to 0.88 (90th
/// percentile); a shared error code or a chain of similar contacts settles the rest (README, "Thresholds").
fn similarity() -> f32 {
    0.88
}

/// What a contact is about: the issues the customer reported in it, and the raw text of their first message.
fn about<'a>(s: &'a Snapshot<'_>, i: &Interaction) -> Vec<&'a Indexed> {
    let first = i
        .fields
        .messages
        .iter()
        .find(|m| m.role == crate::domain::interaction::AuthorRole::Customer)
        .map(|m| m.id.as_str());
    s.memories
        .iter()
        .map(std::sync::Arc::as_ref)
        .filter(|m| m.memory.provenance.interaction_id == i.fields.external_id)
        .filter(|m| {
            m.memory.kind == MemoryKind::Issue
                || (m.memory.kind == MemoryKind::Message
                    && first.is_some_and(|f| m.memory.provenance.message_ids.iter().any(|id| id == f)))
        })
        .collect()
}

/// Error codes and references (`E-2231`, `LM-48213`) mentioned in a contact.
fn codes(about: &[&Indexed]) -> Vec<String> {
    about
        .iter()
        .flat_map(|m| crate::domain::text::terms(&m.memory.text, m.memory.language))
        .filter(|t| t.contains('-') && t.chars().any(|c| c.is_ascii_digit()))
        .collect()
}

/// The best similarity between two contacts' subjects of concern; the same error code counts as the same
/// problem whatever the words around it (and whatever the language: the default model is English-only).
fn similarity_of(a: &[&Indexed], b: &[&Indexed]) -> f32 {
    let shared_code = codes(a).iter().any(|c| codes(b).contains(c));
    if shared_code {
        return 1.0;
    }
    a.iter()
        .flat_map(|x| b.iter().map(move |y| dot(&x.vector, &y.vector)))
        .fold(f32::MIN, f32::max)
}

/// Finds the largest group of recent contacts about one problem.
pub fn detect(p: &Params, s: &Snapshot<'_>, now: DateTime<Utc>) -> Option<Finding> {
    // Contacts of the last 2×D days; a repeat is N similar contacts within D days of each other, the latest of
    // them within the last D days.
    let recent: Vec<_> = s
        .interactions
        .iter()
        .filter(|i| i.fields.opened_at >= now - Duration::days(2 * p.days) && i.fields.opened_at <= now)
        .map(|i| (i, about(s, i)))
        .filter(|(_, about)| !about.is_empty())
        .collect();
    let window = Duration::days(p.days);
    // Contacts about one problem form a group through any chain of similar pairs (A like B, B like C), as long as
    // the whole group fits in the window and its latest contact is recent.
    let n = recent.len();
    let mut group_of: Vec<usize> = (0..n).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    for a in 0..n {
        for b in (a + 1)..n {
            let (ia, ib) = (recent[a].0, recent[b].0);
            let apart = (ib.fields.opened_at - ia.fields.opened_at).abs();
            if apart <= window && similarity_of(&recent[a].1, &recent[b].1) >= p.similarity {
                let (ra, rb) = (root(&mut group_of, a), root(&mut group_of, b));
                group_of[ra] = rb;
            }
        }
    }
    let mut best: Vec<usize> = Vec::new();
    for r in 0..n {
        let group: Vec<usize> = (0..n).filter(|i| root(&mut group_of.clone(), *i) == r).collect();
        let first = group.iter().map(|&g| recent[g].0.fields.opened_at).min();
        let latest = group.iter().map(|&g| recent[g].0.fields.opened_at).max();
        let fits = first
            .zip(latest)
            .is_some_and(|(f, l)| l - f <= window && l >= now - window);
        if fits && group.len() > best.len() {
            best = group;
        }
    }
    if best.len() < p.min_contacts {
        return None;
    }
    let mut evidence: Vec<String> = best.iter().map(|&i| recent[i].0.fields.external_id.clone()).collect();
    evidence.sort();
    let latest = best.iter().map(|&i| recent[i].0).max_by_key(|i| i.fields.opened_at)?;
    Some(Finding {
        reason_code: "repeat_contact".into(),
        reason: format!("{} contacts about the same problem in {} days", best.len(), p.days),
        evidence,
        topic: topic(latest),
    })
}
