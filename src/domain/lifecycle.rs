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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::testkit::{form, indexed, interaction};

    fn kinds_open(memories: &[Arc<Indexed>], kind: MemoryKind) -> Vec<bool> {
        memories
            .iter()
            .filter(|m| m.memory.kind == kind)
            .map(|m| m.memory.open)
            .collect()
    }

    /// The customer's memories after forming `i` against `existing` (changes applied).
    fn after(i: &mut Interaction, existing: &[Arc<Indexed>]) -> Vec<Arc<Indexed>> {
        let plan = form(i, existing);
        let mut out: Vec<Arc<Indexed>> = existing
            .iter()
            .map(|e| match plan.changed.iter().find(|c| c.id == e.memory.id) {
                Some(c) => Arc::new(Indexed::new(c.clone(), e.vector.clone())),
                None => Arc::clone(e),
            })
            .collect();
        out.extend(indexed(&plan));
        out
    }

    #[test]
    fn an_issue_stays_open_whatever_the_status_until_a_fix_is_reported() {
        let mut t = interaction(
            "t-1",
            "resolved",
            serde_json::json!([{"id": "m1", "role": "customer", "text": "My hub keeps going offline every night.", "sent_at": "2026-11-20T09:00:00Z"}]),
        );
        let mem = after(&mut t, &[]);
        assert_eq!(
            kinds_open(&mem, MemoryKind::Issue),
            [true],
            "a resolved ticket proves nothing"
        );
        let mut fixed = interaction(
            "t-1",
            "resolved",
            serde_json::json!([
                {"id": "m1", "role": "customer", "text": "My hub keeps going offline every night.", "sent_at": "2026-11-20T09:00:00Z"},
                {"id": "m2", "role": "agent", "text": "I've reset the hub's relay token, it is fixed now.", "sent_at": "2026-11-20T10:00:00Z"}
            ]),
        );
        let plan = form(&mut fixed, &mem);
        let closed = plan
            .changed
            .iter()
            .find(|m| m.kind == MemoryKind::Issue)
            .expect("the issue changes");
        assert!(!closed.open, "a reported fix closes it");
    }

    #[test]
    fn a_promise_is_kept_by_as_promised_and_not_by_a_complaint_quoting_it() {
        let mut t = interaction(
            "t-1",
            "resolved",
            serde_json::json!([{"id": "a1", "role": "agent", "text": "I will call you back on Thursday.", "sent_at": "2026-11-17T10:00:00Z"}]),
        );
        let mem = after(&mut t, &[]);
        assert_eq!(kinds_open(&mem, MemoryKind::Commitment), [true]);
        let promise = mem.iter().find(|m| m.memory.kind == MemoryKind::Commitment).unwrap();
        assert_eq!(promise.memory.due_at, Some("2026-11-19T18:00:00Z".parse().unwrap()));
        assert!(overdue_at(&promise.memory, "2026-11-20T00:00:00Z".parse().unwrap()));
        let mut complaint = interaction(
            "t-2",
            "open",
            serde_json::json!([{"id": "c1", "role": "customer", "text": "I was promised a call on Thursday and nobody called.", "sent_at": "2026-11-20T10:00:00Z"}]),
        );
        let mem2 = after(&mut complaint, &mem);
        assert_eq!(
            kinds_open(&mem2, MemoryKind::Commitment),
            [true],
            "a complaint keeps nothing"
        );
        let mut call = interaction(
            "t-3",
            "resolved",
            serde_json::json!([{"id": "k1", "role": "agent", "text": "Outbound call as promised, explained the fix date.", "sent_at": "2026-11-21T10:00:00Z"}]),
        );
        let mem3 = after(&mut call, &mem2);
        assert_eq!(kinds_open(&mem3, MemoryKind::Commitment), [false]);
    }

    #[test]
    fn a_promise_without_a_due_time_is_open_but_never_overdue_and_fades() {
        let mut t = interaction(
            "t-1",
            "resolved",
            serde_json::json!([{"id": "a1", "role": "agent", "text": "We'll email you when a fix is available.", "sent_at": "2026-01-05T10:00:00Z"}]),
        );
        let mem = after(&mut t, &[]);
        let promise = &mem
            .iter()
            .find(|m| m.memory.kind == MemoryKind::Commitment)
            .unwrap()
            .memory;
        let soon: DateTime<Utc> = "2026-01-20T00:00:00Z".parse().unwrap();
        assert!(promise_open_at(promise, soon) && !overdue_at(promise, soon));
        assert!(
            !promise_open_at(promise, "2026-11-20T00:00:00Z".parse().unwrap()),
            "dormant after 120 days"
        );
    }

    #[test]
    fn a_satisfied_last_word_closes_a_closed_tickets_issue_and_promise() {
        let mut t = interaction(
            "t-1",
            "resolved",
            serde_json::json!([
                {"id": "m1", "role": "customer", "text": "My parcel never arrived.", "sent_at": "2026-11-20T09:00:00Z"},
                {"id": "m2", "role": "agent", "text": "We will send a replacement by Friday.", "sent_at": "2026-11-20T10:00:00Z"},
                {"id": "m3", "role": "customer", "text": "Wonderful, thank you so much, great service!", "sent_at": "2026-11-20T11:00:00Z"}
            ]),
        );
        let mem = after(&mut t, &[]);
        assert!(
            mem.iter().all(|m| !m.memory.open),
            "{:?}",
            mem.iter().map(|m| (&m.memory.kind, m.memory.open)).collect::<Vec<_>>()
        );
    }
}
