//! Typed memories on the labelled extraction set, through the real ingest path: each conversation is posted as
//! an interaction of its own customer, then the memories formed from each message are compared with the labels
//! (precision and recall per kind, language and split), commitments' due dates with the labelled day, and the
//! open state of the customer's issues after the last message with `open_issue_at_end`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Eval, Row};
use crate::domain::interaction::{AuthorRole, InteractionChannel, InteractionInput, InteractionStatus, Message};
use crate::domain::lifecycle::issue_open_at;
use crate::domain::memory::MemoryKind;
use crate::domain::CustomerFields;
use crate::service::MemoryFilter;
use crate::tools::metrics::precision_recall;
use crate::tools::sets::read_lines;

#[derive(Deserialize)]
struct LabelledMessage {
    id: String,
    role: AuthorRole,
    sent_at: DateTime<Utc>,
    text: String,
    kinds: Vec<MemoryKind>,
    due: Option<String>,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    language: String,
    split: String,
    messages: Vec<LabelledMessage>,
    open_issue_at_end: bool,
}

/// The typed kinds measured.
pub const KINDS: [MemoryKind; 5] = [
    MemoryKind::Issue,
    MemoryKind::Resolution,
    MemoryKind::Commitment,
    MemoryKind::Preference,
    MemoryKind::Fact,
];

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

/// Runs the set through ingest and scores it.
pub async fn evaluate(eval: &Eval) -> anyhow::Result<Vec<Row>> {
    let set: Vec<Conversation> = read_lines(&eval.fixtures.join("eval/extraction/labelled.ndjson"))?;
    let principal = eval.principal("eval-extraction").await?;
    let mut counts: BTreeMap<(String, String, MemoryKind), Counts> = BTreeMap::new();
    let mut due: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut open: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    for conv in &set {
        let last = conv.messages.iter().map(|m| m.sent_at).max().unwrap_or_default();
        eval.clock.set(last + Duration::hours(1));
        let customer = eval
            .services
            .create_customer(
                &principal,
                CustomerFields {
                    external_id: conv.id.clone(),
                    language: Some(conv.language.clone()),
                    ..Default::default()
                },
            )
            .await?;
        let input = InteractionInput {
            external_id: conv.id.clone(),
            channel: InteractionChannel::Chat,
            subject: None,
            status: InteractionStatus::Open,
            opened_at: conv.messages.first().map_or(last, |m| m.sent_at),
            closed_at: None,
            handled_by: None,
            escalated: false,
            csat: None,
            nps: None,
            tags: Vec::new(),
            product: None,
            team: None,
            messages: conv
                .messages
                .iter()
                .map(|m| Message {
                    id: m.id.clone(),
                    role: m.role,
                    author: None,
                    text: m.text.clone(),
                    sent_at: m.sent_at,
                    sentiment: None,
                })
                .collect(),
        };
        let cid = customer.id.to_string();
        eval.services.ingest_interaction(&principal, &cid, input).await?;
        let memories = eval
            .services
            .list_memories(&principal, &cid, MemoryFilter::default(), None, 1000)
            .await?
            .items;
        for m in &conv.messages {
            let found: HashSet<MemoryKind> = memories
                .iter()
                .filter(|x| x.kind != MemoryKind::Message && x.provenance.message_ids.contains(&m.id))
                .map(|x| x.kind)
                .collect();
            for kind in KINDS {
                let (want, got) = (m.kinds.contains(&kind), found.contains(&kind));
                for lang in [conv.language.as_str(), "all"] {
                    let c = counts.entry((lang.to_owned(), conv.split.clone(), kind)).or_default();
                    match (want, got) {
                        (true, true) => c.tp += 1,
                        (false, true) => c.fp += 1,
                        (true, false) => c.fn_ += 1,
                        (false, false) => {}
                    }
                }
                if want != got && errors.len() < 400 && conv.split == "dev" {
                    errors.push(format!(
                        "{} {:?} want {want} got {got}: {}",
                        m.id,
                        kind,
                        m.text.chars().take(140).collect::<String>()
                    ));
                }
            }
            let detected = found.contains(&MemoryKind::Commitment);
            if let (true, true, Some(day)) = (m.kinds.contains(&MemoryKind::Commitment), detected, &m.due) {
                let predicted = memories
                    .iter()
                    .filter(|x| x.kind == MemoryKind::Commitment && x.provenance.message_ids.contains(&m.id))
                    .filter_map(|x| x.due_at)
                    .map(|d| d.format("%Y-%m-%d").to_string())
                    .next();
                let entry = due.entry((conv.language.clone(), conv.split.clone())).or_default();
                entry.1 += 1;
                if predicted.as_deref() == Some(day.as_str()) {
                    entry.0 += 1;
                } else if conv.split == "dev" && errors.len() < 400 {
                    errors.push(format!(
                        "{} due want {day} got {predicted:?} (sent {}): {}",
                        m.id,
                        m.sent_at.format("%a %Y-%m-%d %H:%M"),
                        m.text.chars().take(200).collect::<String>()
                    ));
                }
            }
        }
        let now = eval.clock_now();
        let any_open = memories.iter().any(|m| issue_open_at(m, now));
        let entry = open.entry((conv.language.clone(), conv.split.clone())).or_default();
        entry.1 += 1;
        if any_open == conv.open_issue_at_end {
            entry.0 += 1;
        }
    }
    if std::env::var_os("RAPPEL_EVAL_ERRORS").is_some() {
        for e in &errors {
            println!("  extraction (dev) {e}");
        }
    }
    let mut rows = Vec::new();
    for ((lang, split, kind), c) in &counts {
        let (p, r) = precision_recall(c.tp, c.fp, c.fn_);
        let kind = format!("{kind:?}").to_lowercase();
        let n = c.tp + c.fn_;
        rows.push(Row::new(
            "extraction",
            &kind,
            lang,
            split,
            "ingest",
            "precision",
            p,
            c.tp + c.fp,
        ));
        rows.push(Row::new("extraction", &kind, lang, split, "ingest", "recall", r, n));
    }
    for ((lang, split), (ok, n)) in &due {
        rows.push(Row::new(
            "extraction",
            "due day of found promises",
            lang,
            split,
            "ingest",
            "accuracy",
            *ok as f64 / (*n).max(1) as f64,
            *n,
        ));
    }
    for ((lang, split), (ok, n)) in &open {
        rows.push(Row::new(
            "extraction",
            "issue open at end",
            lang,
            split,
            "ingest",
            "accuracy",
            *ok as f64 / (*n).max(1) as f64,
            *n,
        ));
    }
    Ok(rows)
}
