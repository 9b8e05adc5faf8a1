//! Memory formation on ingest: sentiment of customer messages, raw message windows, typed memories, embedding,
//! reinforcement of near-duplicates, closing of contradicted facts, and open/closed state of issues and promises.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::domain::extract::{extract, PreferenceUpdate};
use crate::domain::interaction::{AuthorRole, Interaction};
use crate::domain::memory::{new_memory_id, Memory, MemoryKind, Provenance};
use crate::domain::recall::Indexed;
use crate::domain::sentiment::analyse;
use crate::domain::text::{detect, windows, Lang};
use crate::domain::{dot, Customer};
use crate::store::StoredMemory;

/// Longest raw memory, in words; longer messages become overlapping sentence windows.
pub const WINDOW_WORDS: usize = 60;
/// Similarity above which a new memory of the same kind reinforces an existing one instead of adding a copy.
pub const DUPLICATE_SIMILARITY: f32 = 0.95;

/// A memory about to be formed, before embedding.
pub struct Draft {
    memory: Memory,
    preference: Option<PreferenceUpdate>,
}

/// What an ingest writes.
#[derive(Default)]
pub struct Plan {
    /// New memories with vectors.
    pub new: Vec<StoredMemory>,
    /// Existing memories changed (reinforced, closed, resolved).
    pub changed: Vec<Memory>,
    /// Preference updates stated by the customer, with the message they come from.
    pub preferences: Vec<(String, DateTime<Utc>, PreferenceUpdate)>,
}

/// The customer's language, for texts too short to tell.
pub fn customer_lang(customer: &Customer) -> Lang {
    customer
        .fields
        .language
        .as_deref()
        .and_then(Lang::from_tag)
        .unwrap_or(Lang::En)
}

/// Computes sentiment for the new customer messages and drafts their memories.
pub fn draft(customer: &Customer, interaction: &mut Interaction, new_ids: &[String]) -> Vec<Draft> {
    let fallback = customer_lang(customer);
    let interaction_id = interaction.fields.external_id.clone();
    let active = interaction.fields.status.is_active();
    let mut drafts = Vec::new();
    for message in interaction
        .fields
        .messages
        .iter_mut()
        .filter(|m| new_ids.contains(&m.id))
    {
        let lang = detect(&message.text, fallback);
        if message.role == AuthorRole::Customer {
            message.sentiment = Some(analyse(&message.text, lang));
        }
        let sentiment = message.sentiment.as_ref().map(|s| s.score);
        let base = |kind, text: String| Memory {
            id: new_memory_id(),
            workspace: customer.workspace.clone(),
            kind,
            text,
            subject: None,
            language: lang,
            provenance: Provenance {
                customer_id: customer.id.clone(),
                interaction_id: interaction_id.clone(),
                message_ids: vec![message.id.clone()],
            },
            observed_at: message.sent_at,
            valid_from: None,
            valid_to: None,
            due_at: None,
            open: false,
            count: 1,
            last_seen: message.sent_at,
            pinned: false,
            sentiment,
            edits: Vec::new(),
        };
        for window in windows(&message.text, WINDOW_WORDS) {
            drafts.push(Draft {
                memory: base(MemoryKind::Message, window),
                preference: None,
            });
        }
        for found in extract(&message.text, message.role, message.sent_at, lang) {
            let mut memory = base(found.kind, found.text);
            memory.subject = found.subject;
            memory.due_at = found.due_at;
            memory.open = matches!(found.kind, MemoryKind::Issue | MemoryKind::Commitment) && active;
            if matches!(found.kind, MemoryKind::Fact | MemoryKind::Preference) {
                memory.valid_from = Some(message.sent_at);
            }
            drafts.push(Draft {
                memory,
                preference: found.preference,
            });
        }
    }
    drafts
}

/// The texts to embed, in draft order.
pub fn texts(drafts: &[Draft]) -> Vec<String> {
    drafts.iter().map(|d| d.memory.text.clone()).collect()
}

/// Turns embedded drafts into a write plan against the customer's existing memories.
pub fn plan(
    drafts: Vec<Draft>,
    vectors: Vec<Vec<f32>>,
    existing: &[Arc<Indexed>],
    interaction: &Interaction,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let mut changed: Vec<Memory> = Vec::new();
    let find_changed = |changed: &mut Vec<Memory>, m: &Memory| -> usize {
        match changed.iter().position(|c| c.id == m.id) {
            Some(i) => i,
            None => {
                changed.push(m.clone());
                changed.len() - 1
            }
        }
    };
    for (draft, vector) in drafts.into_iter().zip(vectors) {
        let Draft { mut memory, preference } = draft;
        if let Some(p) = preference {
            plan.preferences
                .push((memory.provenance.message_ids[0].clone(), memory.observed_at, p));
        }
        // Near-duplicate of a memory of the same kind: reinforce it. Raw messages, issues and promises only merge
        // within their own interaction: each message stays traceable, and a new ticket's issue stays open.
        let mergeable = |other: &Memory| {
            other.kind == memory.kind
                && (matches!(
                    memory.kind,
                    MemoryKind::Preference | MemoryKind::Fact | MemoryKind::Resolution
                ) || other.provenance.interaction_id == memory.provenance.interaction_id)
        };
        let duplicate_old = existing
            .iter()
            .filter(|e| mergeable(&e.memory) && e.memory.is_valid_at(now))
            .find(|e| dot(&e.vector, &vector) >= DUPLICATE_SIMILARITY)
            .map(|e| e.memory.clone());
        let duplicate_new = plan
            .new
            .iter_mut()
            .find(|n| mergeable(&n.memory) && dot(&n.vector, &vector) >= DUPLICATE_SIMILARITY);
        if let Some(n) = duplicate_new {
            reinforce(&mut n.memory, &memory);
            continue;
        }
        if let Some(old) = duplicate_old {
            let i = find_changed(&mut changed, &old);
            reinforce(&mut changed[i], &memory);
            continue;
        }
        // A newer fact or preference on the same subject closes the older ones.
        if let Some(subject) = memory.subject.clone() {
            for e in existing.iter().filter(|e| {
                e.memory.kind == memory.kind
                    && e.memory.subject.as_deref() == Some(subject.as_str())
                    && e.memory.valid_to.is_none()
                    && e.memory.observed_at <= memory.observed_at
            }) {
                let i = find_changed(&mut changed, &e.memory);
                changed[i].valid_to = Some(memory.observed_at);
            }
            for n in plan.new.iter_mut().filter(|n| {
                n.memory.kind == memory.kind
                    && n.memory.subject.as_deref() == Some(subject.as_str())
                    && n.memory.valid_to.is_none()
            }) {
                n.memory.valid_to = Some(memory.observed_at);
            }
        }
        memory.open = memory.open && interaction.fields.status.is_active();
        plan.new.push(StoredMemory { memory, vector });
    }
    // Issues and promises of this interaction close when it is resolved or closed.
    if !interaction.fields.status.is_active() {
        for e in existing
            .iter()
            .filter(|e| e.memory.open && e.memory.provenance.interaction_id == interaction.fields.external_id)
        {
            let i = find_changed(&mut changed, &e.memory);
            changed[i].open = false;
        }
    }
    plan.changed = changed;
    plan
}

fn reinforce(target: &mut Memory, repeat: &Memory) {
    // The same message seen again (a re-post with a new timestamp) is not a repetition.
    if repeat
        .provenance
        .message_ids
        .iter()
        .all(|id| target.provenance.message_ids.contains(id))
    {
        return;
    }
    target.count += 1;
    target.last_seen = target.last_seen.max(repeat.observed_at);
    for id in &repeat.provenance.message_ids {
        if !target.provenance.message_ids.contains(id)
            && target.provenance.interaction_id == repeat.provenance.interaction_id
        {
            target.provenance.message_ids.push(id.clone());
        }
    }
}
