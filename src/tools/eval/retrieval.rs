//! Retrieval through the recall endpoint's own path, per set, language and split, for the dense, keyword and
//! hybrid rankings: the support set (the demo tickets and `fixtures/eval/retrieval.ndjson`, odd query ids dev,
//! even held-out) and the long casual conversations (`fixtures/eval/conversations/`, conversations 01-02 dev,
//! 03-04 held-out; each question asked at its own `asked_at`). Recall@k counts the labelled messages found among
//! the messages of the first k results.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{Eval, Row};
use crate::domain::interaction::{AuthorRole, InteractionChannel, InteractionInput, InteractionStatus, Message};
use crate::domain::recall::Mode;
use crate::domain::{CustomerFields, Principal};
use crate::service::recall::RecallQuery;
use crate::tools::sets::read_lines;

/// The three rankings compared.
pub const MODES: [(&str, Mode); 3] = [
    ("dense", Mode::Dense),
    ("keyword", Mode::Keyword),
    ("hybrid", Mode::Hybrid),
];

/// A question with the messages that answer it.
pub struct Question {
    /// The customer (Rappel id).
    pub customer: String,
    /// The question.
    pub text: String,
    /// When it is asked.
    pub at: DateTime<Utc>,
    /// Language.
    pub lang: String,
    /// `dev` or `held-out`.
    pub split: String,
    /// The answering messages.
    pub relevant: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct Sums {
    r5: f64,
    r10: f64,
    mrr: f64,
    n: usize,
}

/// Recall@5, recall@10 and MRR of each mode over the questions, as rows of set `set`.
pub async fn measure(
    eval: &Eval,
    principal: &Principal,
    set: &str,
    questions: &[Question],
) -> anyhow::Result<Vec<Row>> {
    let mut sums: BTreeMap<(String, String, &str), Sums> = BTreeMap::new();
    for q in questions {
        eval.clock.set(q.at);
        for (name, mode) in MODES {
            let query = RecallQuery {
                query: q.text.clone(),
                k: Some(10),
                kinds: None,
                since: None,
                until: None,
                include_expired: true,
                mode,
            };
            let recalled = eval.services.recall(principal, &q.customer, query).await?;
            let mut messages: Vec<&str> = Vec::new();
            for r in &recalled {
                for id in &r.memory.provenance.message_ids {
                    if !messages.contains(&id.as_str()) {
                        messages.push(id);
                    }
                }
            }
            let found = |k: usize| {
                let top = &messages[..messages.len().min(k)];
                q.relevant.iter().filter(|id| top.contains(&id.as_str())).count() as f64
                    / q.relevant.len().max(1) as f64
            };
            let rr = messages
                .iter()
                .position(|m| q.relevant.iter().any(|r| r == m))
                .map_or(0.0, |p| 1.0 / (p as f64 + 1.0));
            for lang in [q.lang.as_str(), "all"] {
                for split in [q.split.as_str(), "all"] {
                    let s = sums.entry((lang.to_owned(), split.to_owned(), name)).or_default();
                    s.r5 += found(5);
                    s.r10 += found(10);
                    s.mrr += rr;
                    s.n += 1;
                }
            }
        }
    }
    let mut rows = Vec::new();
    for ((lang, split, method), s) in sums {
        let n = s.n.max(1) as f64;
        rows.push(Row::new(
            "retrieval",
            set,
            &lang,
            &split,
            method,
            "recall@5",
            s.r5 / n,
            s.n,
        ));
        rows.push(Row::new(
            "retrieval",
            set,
            &lang,
            &split,
            method,
            "recall@10",
            s.r10 / n,
            s.n,
        ));
        rows.push(Row::new("retrieval", set, &lang, &split, method, "MRR", s.mrr / n, s.n));
    }
    Ok(rows)
}

#[derive(Deserialize)]
struct SupportQuery {
    id: String,
    customer_external_id: String,
    language: String,
    query: String,
    relevant_message_ids: Vec<String>,
}

/// The support questions over the demo data (already imported into the default workspace).
pub async fn support(eval: &Eval, principal: &Principal, now: DateTime<Utc>) -> anyhow::Result<Vec<Row>> {
    let set: Vec<SupportQuery> = read_lines(&eval.fixtures.join("eval/retrieval.ndjson"))?;
    let mut questions = Vec::new();
    for q in set {
        let customer = eval
            .services
            .get_customer_by_external_id(principal, &q.customer_external_id)
            .await?;
        let number: u32 =
            q.id.trim_start_matches(|c: char| !c.is_ascii_digit())
                .parse()
                .unwrap_or(0);
        questions.push(Question {
            customer: customer.id.to_string(),
            text: q.query,
            at: now,
            lang: q.language,
            split: if number % 2 == 1 { "dev" } else { "held-out" }.into(),
            relevant: q.relevant_message_ids,
        });
    }
    measure(eval, principal, "support tickets", &questions).await
}

#[derive(Deserialize)]
struct Turn {
    id: String,
    speaker: String,
    text: String,
}

#[derive(Deserialize)]
struct Session {
    id: String,
    date: DateTime<Utc>,
    turns: Vec<Turn>,
}

#[derive(Deserialize)]
struct ConvQuestion {
    question: String,
    evidence: Vec<String>,
    asked_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct Conversation {
    id: String,
    language: String,
    speakers: BTreeMap<String, String>,
    sessions: Vec<Session>,
    questions: Vec<ConvQuestion>,
}

/// The long conversations: each becomes a customer, each session an interaction, each turn a message by its
/// speaker; then the questions are asked.
pub async fn conversations(eval: &Eval) -> anyhow::Result<Vec<Row>> {
    let principal = eval.principal("eval-conversations").await?;
    let mut questions = Vec::new();
    for file in ["en", "fr"] {
        let set: Vec<Conversation> = read_lines(&eval.fixtures.join(format!("eval/conversations/{file}.ndjson")))?;
        for conv in set {
            let name = conv.speakers.get("customer").cloned();
            let first = conv.sessions.first().map(|s| s.date).unwrap_or_default();
            eval.clock.set(first);
            let customer = eval
                .services
                .create_customer(
                    &principal,
                    CustomerFields {
                        external_id: conv.id.clone(),
                        name: name.clone(),
                        language: Some(conv.language.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            let cid = customer.id.to_string();
            for session in &conv.sessions {
                eval.clock.set(session.date + Duration::hours(2));
                let messages = session
                    .turns
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Message {
                        id: t.id.clone(),
                        role: if t.speaker == "customer" {
                            AuthorRole::Customer
                        } else {
                            AuthorRole::Agent
                        },
                        author: conv.speakers.get(&t.speaker).cloned(),
                        text: t.text.clone(),
                        sent_at: session.date + Duration::minutes(i as i64),
                        sentiment: None,
                    })
                    .collect();
                let input = InteractionInput {
                    external_id: session.id.clone(),
                    channel: InteractionChannel::Chat,
                    subject: None,
                    status: InteractionStatus::Closed,
                    opened_at: session.date,
                    closed_at: Some(session.date + Duration::hours(1)),
                    handled_by: None,
                    escalated: false,
                    csat: None,
                    nps: None,
                    tags: Vec::new(),
                    product: None,
                    team: None,
                    messages,
                };
                eval.services.ingest_interaction(&principal, &cid, input).await?;
            }
            let split = if conv.id.ends_with("01") || conv.id.ends_with("02") {
                "dev"
            } else {
                "held-out"
            };
            for q in conv.questions {
                questions.push(Question {
                    customer: cid.clone(),
                    text: q.question,
                    at: q.asked_at,
                    lang: conv.language.clone(),
                    split: split.into(),
                    relevant: q.evidence,
                });
            }
        }
    }
    measure(eval, &principal, "long conversations", &questions).await
}
