//! The open state of issues and promises. An issue stays open while the customer keeps reporting it, whatever
//! status the helpdesk gave the ticket; it closes on a reported fix or a fix the customer confirms (in the same
//! conversation, or later on the same problem). A promise stays open until something says it was kept ("as
//! promised", the credit applied, the customer confirming); past its due time it is overdue.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use super::dot;
use super::formation::changed_slot;
use super::interaction::{AuthorRole, Interaction};
use super::memory::{Memory, MemoryKind, StoredMemory};
use super::recall::Indexed;
use super::sentiment::cues::normalise;

/// Cosine similarity at or above which an issue or a fix in one conversation is about the same problem as an
/// issue in another (multilingual-e5-small; see README, "Thresholds").
pub const SAME_PROBLEM: f32 = 0.88;
/// Cosine similarity at or above which a later fix or confirmation keeps an earlier promise.
pub const KEPT_SIMILARITY: f32 = 0.95;
/// Days after its last report at which an open issue nobody mentions any more stops counting as open.
pub const ISSUE_DORMANT_DAYS: i64 = 60;
/// Days after its due time at which an unkept promise stops counting (it still shows in history).
pub const PROMISE_DORMANT_DAYS: i64 = 120;

/// Phrases saying a promise was kept.
const KEPT: &[&str] = &[
    "as promised",
    "as agreed",
    "as discussed",
    "when you said you would",
    "hitting the date",
    "kept your word",
    "has been applied",
    "has been credited",
    "have been credited",
    "was credited",
    "has been refunded",
    "received the credit",
    "received the refund",
    "got the refund",
    "got the credit",
    "comme promis",
    "comme convenu",
    "comme prevu",
    "bien recu",
    "a bien ete applique",
    "a ete applique",
    "a ete credite",
    "a bien ete rembourse",
];

/// Whether an issue counts as open at `now`: open, and reported within [`ISSUE_DORMANT_DAYS`].
pub fn issue_open_at(m: &Memory, now: DateTime<Utc>) -> bool {
    m.kind == MemoryKind::Issue && m.open && m.last_seen + Duration::days(ISSUE_DORMANT_DAYS) >= now
}

/// Whether a promise counts as open at `now`: not kept, and not long past due.
pub fn promise_open_at(m: &Memory, now: DateTime<Utc>) -> bool {
    m.kind == MemoryKind::Commitment
        && m.open
        && m.due_at.unwrap_or(m.observed_at) + Duration::days(PROMISE_DORMANT_DAYS) >= now
}

/// Whether an open promise is past its due time at `now`. A promise without a due time ("we'll email you when a
/// fix is out") stays open but is never overdue.
pub fn overdue_at(m: &Memory, now: DateTime<Utc>) -> bool {
    promise_open_at(m, now) && m.due_at.is_some_and(|due| due < now)
}

struct Item<'a> {
    memory: &'a Memory,
    vector: &'a [f32],
    existing: bool,
}

fn before(a: &Memory, b: &Memory) -> bool {
    (a.observed_at, a.seq) < (b.observed_at, b.seq)
}

/// Settles the open state after an ingest: fixes close issues, kept promises close, a satisfied customer at the
/// end of a closed ticket closes its issues. Changes existing memories through `changed` and new ones in place.
pub fn settle(
    new: &mut [StoredMemory],
    changed: &mut Vec<Memory>,
    existing: &[Arc<Indexed>],
    interaction: &Interaction,
) {
    let roles: HashMap<&str, AuthorRole> = interaction
        .fields
        .messages
        .iter()
        .map(|m| (m.id.as_str(), m.role))
        .collect();
    let by_customer = |m: &Memory| {
        m.provenance.interaction_id == interaction.fields.external_id
            && m.provenance.message_ids.first().and_then(|id| roles.get(id.as_str())) == Some(&AuthorRole::Customer)
    };
    // What to close, decided over a snapshot, then applied.
    let mut close: Vec<String> = Vec::new();
    {
        let mut items: Vec<Item<'_>> = existing
            .iter()
            .map(|e| Item {
                memory: &e.memory,
                vector: &e.vector,
                existing: true,
            })
            .collect();
        items.extend(new.iter().map(|n| Item {
            memory: &n.memory,
            vector: &n.vector,
            existing: false,
        }));
        let own_issues: Vec<&Item<'_>> = items
            .iter()
            .filter(|i| {
                i.memory.kind == MemoryKind::Issue
                    && i.memory.provenance.interaction_id == interaction.fields.external_id
            })
            .collect();
        for fix in items
            .iter()
            .filter(|i| !i.existing && i.memory.kind == MemoryKind::Resolution)
        {
            for target in items.iter().filter(|t| t.memory.open && before(t.memory, fix.memory)) {
                let same_ticket = target.memory.provenance.interaction_id == fix.memory.provenance.interaction_id;
                let similar =
                    |v: &[f32], at: f32| dot(v, fix.vector) >= at || own_issues.iter().any(|o| dot(v, o.vector) >= at);
                let closes = match target.memory.kind {
                    MemoryKind::Issue => same_ticket || similar(target.vector, SAME_PROBLEM),
                    MemoryKind::Commitment => {
                        (same_ticket && by_customer(fix.memory)) || dot(target.vector, fix.vector) >= KEPT_SIMILARITY
                    }
                    _ => false,
                };
                if closes {
                    close.push(target.memory.id.clone());
                }
            }
        }
        // "As promised", "credit applied": the closest earlier promise was kept (a complaint quoting a promise,
        // "I was promised a call", keeps nothing).
        for said in items.iter().filter(|i| {
            !i.existing && i.memory.kind == MemoryKind::Message && i.memory.sentiment.is_none_or(|s| s > -0.2) && {
                let text = format!(
                    " {} ",
                    normalise(&i.memory.text).replace(|c: char| !c.is_alphanumeric() && c != '\'', " ")
                );
                KEPT.iter().any(|k| text.contains(&format!(" {k} ")))
            }
        }) {
            let kept = items
                .iter()
                .filter(|t| t.memory.kind == MemoryKind::Commitment && t.memory.open && before(t.memory, said.memory))
                .max_by(|a, b| dot(a.vector, said.vector).total_cmp(&dot(b.vector, said.vector)));
            if let Some(k) = kept {
                close.push(k.memory.id.clone());
            }
        }
        // A closed ticket whose customer ends satisfied: its issues are resolved and the promises made before
        // that last word were kept.
        if !interaction.fields.status.is_active() {
            let last_customer = interaction
                .fields
                .messages
                .iter()
                .rev()
                .find(|m| m.role == AuthorRole::Customer);
            if let Some(last) = last_customer.filter(|m| m.sentiment.as_ref().is_some_and(|s| s.score > 0.3)) {
                for i in items.iter().filter(|i| {
                    i.memory.open
                        && i.memory.provenance.interaction_id == interaction.fields.external_id
                        && matches!(i.memory.kind, MemoryKind::Issue | MemoryKind::Commitment)
                        && i.memory.observed_at <= last.sent_at
                }) {
                    close.push(i.memory.id.clone());
                }
            }
        }
    }
    for id in close {
        if let Some(n) = new.iter_mut().find(|n| n.memory.id == id) {
            n.memory.open = false;
        } else if let Some(e) = existing.iter().find(|e| e.memory.id == id) {
            let i = changed_slot(changed, &e.memory);
            changed[i].open = false;
        }
    }
}
