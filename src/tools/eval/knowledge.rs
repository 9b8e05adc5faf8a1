//! Knowledge retrieval through the search endpoint's own path: the demo help center (`fixtures/demo/knowledge/`)
//! and the labelled questions of `fixtures/eval/knowledge.ndjson` (written apart from the articles: chats, long
//! e-mails, casual and misspelt questions, cross-language ones), per language and split, for the dense, keyword
//! and hybrid rankings. Recall@3 counts questions with a labelled (document, section) among the first 3 chunks;
//! a chunk is in a section when the section's heading is on its heading path. Questions nothing answers measure
//! the similarity threshold instead: the share whose best chunk stays below it (counted as a knowledge gap).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::retrieval::MODES;
use super::{Eval, Row};
use crate::service::knowledge::{KnowledgeSearch, GOOD_SIMILARITY};
use crate::tools::sets::read_lines;

#[derive(Deserialize)]
struct Labelled {
    language: String,
    question: String,
    relevant: Vec<Section>,
    split: String,
    #[serde(default)]
    must_not_cite: Vec<String>,
}

#[derive(Deserialize)]
struct Section {
    doc: String,
    heading: String,
}

/// Imports the help center and measures recall@3 per language and split, for each ranking.
pub async fn evaluate(eval: &Eval) -> anyhow::Result<Vec<Row>> {
    // The questions are asked at the eval's reference time, whatever an earlier area left the clock at (the
    // conversations move it to their sessions' dates, when the summer promotion was still valid).
    eval.clock.set(super::EVAL_NOW.parse()?);
    let principal = eval.principal("kb-eval").await?;
    let files = crate::startup::read_knowledge_dir(&eval.fixtures.join("demo/knowledge"))?;
    let stats = eval.services.import_knowledge(&principal, files, |_| {}).await?;
    println!(
        "help center: {} files, {} documents, {} failed",
        stats.files, stats.created, stats.failed
    );
    let sources: HashMap<String, String> = eval
        .services
        .list_knowledge(&principal, &Default::default())
        .await?
        .into_iter()
        .map(|d| (d.id, d.source.unwrap_or_default()))
        .collect();
    let questions: Vec<Labelled> = read_lines(&eval.fixtures.join("eval/knowledge.ndjson"))?;
    // (lang, split, method) -> (found, asked)
    let mut recall: BTreeMap<(String, String, String), (usize, usize)> = BTreeMap::new();
    let mut gaps: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut expired_cited = 0usize;
    for q in &questions {
        let split = if q.split == "heldout" { "held-out" } else { "dev" }.to_owned();
        for (method, mode) in MODES {
            let hits = eval
                .services
                .search_knowledge(
                    &principal,
                    KnowledgeSearch {
                        query: q.question.clone(),
                        k: Some(3),
                        language: Some(q.language.clone()),
                        product: None,
                        mode,
                    },
                )
                .await?;
            if q.relevant.is_empty() {
                if method == "hybrid" {
                    let best = hits.iter().map(|h| h.score.semantic).fold(0.0f32, f32::max);
                    let slot = gaps.entry(split.clone()).or_default();
                    slot.0 += usize::from(best < GOOD_SIMILARITY);
                    slot.1 += 1;
                }
                continue;
            }
            let source = |doc_id: &str| sources.get(doc_id).map(String::as_str).unwrap_or_default();
            let found = hits.iter().any(|h| {
                q.relevant
                    .iter()
                    .any(|r| source(&h.citation.doc_id) == r.doc && h.citation.headings.contains(&r.heading))
            });
            expired_cited += hits
                .iter()
                .filter(|h| q.must_not_cite.iter().any(|d| d == source(&h.citation.doc_id)))
                .count();
            for lang in [q.language.as_str(), "all"] {
                let slot = recall
                    .entry((lang.to_owned(), split.clone(), method.to_owned()))
                    .or_default();
                slot.0 += usize::from(found);
                slot.1 += 1;
            }
        }
    }
    let mut rows: Vec<Row> = recall
        .into_iter()
        .map(|((lang, split, method), (found, n))| {
            Row::new(
                "knowledge",
                "help center questions",
                &lang,
                &split,
                &method,
                "recall@3",
                found as f64 / n.max(1) as f64,
                n,
            )
        })
        .collect();
    for (split, (below, n)) in gaps {
        rows.push(Row::new(
            "knowledge",
            "unanswerable questions",
            "all",
            &split,
            "hybrid",
            "found no chunk",
            below as f64 / n.max(1) as f64,
            n,
        ));
    }
    rows.push(Row::new(
        "knowledge",
        "expired documents cited",
        "all",
        "all",
        "all",
        "citations",
        expired_cited as f64,
        questions.len(),
    ));
    Ok(rows)
}
