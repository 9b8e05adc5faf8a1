//! The copy, phase by phase, each with a progress bar on stderr. Every write is idempotent, so a phase run again
//! after an interruption duplicates nothing:
//! - customers go in batches through `bulk_load` (customer, preferences, interactions, memories with their
//!   vectors: one transaction per batch, the target's vector index built once after them), skipping customers the target holds already (a batch is all or
//!   nothing, so a customer found there came with everything `bulk_load` writes); then each customer's
//!   preference history (by sequence number) and health history (by time) are upserted, and the last customer
//!   done is kept in the target's meta (`migration_customers/<workspace>`), so a resumed run starts after it;
//! - everything else is upserted by its key (`insert_key`, `put_*`, `save_job_run`, `put_facts`,
//!   `put_outreach_items`, `put_citation_counts`, ...) and simply written again by a resumed run;
//! - audit entries (append-only) are appended only when their id is not in the target yet, and unanswered
//!   questions (whose store ids are internal) only as many times as the target lacks them.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};

use super::verify::each_customer;
use super::{MigrateStore, Options};
use crate::domain::audit::AuditFilter;
use crate::domain::knowledge::StoredChunk;
use crate::domain::{Customer, CustomerId, WorkspaceId};

/// Audit entries and outreach items written per transaction.
const WRITE_BATCH: usize = 500;

/// The meta key holding the last customer of a workspace copied with everything of theirs.
fn customers_cursor(ws: &WorkspaceId) -> String {
    format!("migration_customers/{ws}")
}

/// A phase's progress bar (drawn on stderr, hidden when stderr is not a terminal).
fn bar(phase: &str, len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>20} {bar:30} {pos}/{len} {per_sec:>12} {msg}").expect("valid template"),
    );
    bar.set_prefix(phase.to_owned());
    bar
}

/// What this run wrote (a resumed run skips what an earlier one finished).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    /// Customers loaded with their interactions and memories by this run.
    pub customers: u64,
    /// Customers found done by an earlier run.
    pub customers_skipped: u64,
}

/// Copies everything of `src` into `dst`.
pub fn copy_all(src: &dyn MigrateStore, dst: &dyn MigrateStore, options: &Options) -> anyhow::Result<Copied> {
    let workspaces = src.list_workspaces()?;
    let keys = bar("workspaces, keys", workspaces.len() as u64);
    for w in &workspaces {
        if dst.get_workspace(&w.id)?.is_none() {
            dst.create_workspace(w)?;
        }
        for key in src.list_keys(&w.id)? {
            dst.insert_key(&key)?;
        }
        keys.inc(1);
    }
    keys.finish();
    jobs(src, dst)?;
    let total: u64 = src.workspace_counts()?.iter().map(|c| c.customers).sum();
    let progress = bar("customers", total);
    let mut copied = Copied::default();
    let mut batches = 0usize;
    // The target's vector index is built once after the memories rather than with each (an interrupted copy
    // leaves it to the target's next open, which builds it).
    dst.begin_bulk_memories()?;
    for w in &workspaces {
        customers(src, dst, &w.id, options, &progress, &mut copied, &mut batches)?;
    }
    progress.set_message("building the vector index");
    dst.finish_bulk_memories()?;
    progress.finish_with_message(format!(
        "{} loaded, {} done before",
        copied.customers, copied.customers_skipped
    ));
    let rest = bar("per workspace", workspaces.len() as u64);
    for w in &workspaces {
        rest.set_message(format!("{}: facts, outreach, runs, records, knowledge, audit", w.id));
        workspace_records(src, dst, &w.id)?;
        rest.inc(1);
    }
    rest.finish_with_message("");
    Ok(copied)
}

/// Job definitions, with the "seeded once" flag: a store seeded from `jobs/` is never seeded again, so the
/// target must not be either (jobs deleted in the source would come back).
fn jobs(src: &dyn MigrateStore, dst: &dyn MigrateStore) -> anyhow::Result<()> {
    let jobs = src.list_jobs()?;
    let progress = bar("job definitions", jobs.len() as u64);
    if src.meta_value("jobs_seeded")?.is_some() {
        dst.seed_jobs(&jobs)?;
    }
    for job in &jobs {
        if !dst.insert_job(job)? {
            dst.replace_job(job)?;
        }
        progress.inc(1);
    }
    progress.finish();
    Ok(())
}

/// One workspace's customers with their preferences, interactions, memories, preference and health history.
fn customers(
    src: &dyn MigrateStore,
    dst: &dyn MigrateStore,
    ws: &WorkspaceId,
    options: &Options,
    progress: &ProgressBar,
    copied: &mut Copied,
    batches: &mut usize,
) -> anyhow::Result<()> {
    let cursor_key = customers_cursor(ws);
    let done = dst.meta_value(&cursor_key)?;
    each_customer(src, ws, &mut |page| {
        for batch in page.chunks(options.batch.max(1)) {
            let todo: Vec<&Customer> = batch
                .iter()
                .filter(|c| done.as_deref().is_none_or(|d| c.id.as_str() > d))
                .collect();
            copied.customers_skipped += (batch.len() - todo.len()) as u64;
            if todo.is_empty() {
                progress.inc(batch.len() as u64);
                continue;
            }
            let (mut new, mut interactions, mut memories) = (Vec::new(), Vec::new(), Vec::new());
            for c in &todo {
                if dst.get_customer(ws, &c.id)?.is_some() {
                    copied.customers_skipped += 1;
                    continue;
                }
                new.push(((*c).clone(), src.get_preferences(ws, &c.id)?));
                interactions.extend(src.list_interactions(ws, &c.id)?);
                memories.extend(src.customer_memories(ws, &c.id)?);
            }
            if !new.is_empty() {
                dst.bulk_load(&new, &interactions, &memories)
                    .with_context(|| format!("loading {} customers of {ws}", new.len()))?;
                copied.customers += new.len() as u64;
            }
            for c in &todo {
                histories(src, dst, ws, &c.id)?;
            }
            let last = todo.last().map(|c| c.id.to_string()).unwrap_or_default();
            dst.set_meta_value(&cursor_key, Some(&last))?;
            progress.inc(batch.len() as u64);
            *batches += 1;
            if options.stop_after_batches.is_some_and(|n| *batches >= n) {
                bail!("interrupted after {batches} batches (as asked)");
            }
        }
        Ok(())
    })
}

/// A customer's preference history (with its sequence numbers) and health history (by time), upserted.
fn histories(src: &dyn MigrateStore, dst: &dyn MigrateStore, ws: &WorkspaceId, c: &CustomerId) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let page = src.preference_history(ws, c, after, WRITE_BATCH)?;
        after = page.items.last().map(|h| h.seq);
        if !page.items.is_empty() {
            dst.put_preference_history(ws, c, &page.items)?;
        }
        if page.next_cursor.is_none() {
            break;
        }
    }
    for health in src.health_history(ws, c, usize::MAX)? {
        dst.save_health(ws, c, &health)?;
    }
    Ok(())
}

/// Everything of a workspace that is not a customer's own row: support-metrics facts (after the interactions,
/// whose reopen counts they carry), outreach, job runs, incidents, teams, campaigns, the knowledge base, audit.
fn workspace_records(src: &dyn MigrateStore, dst: &dyn MigrateStore, ws: &WorkspaceId) -> anyhow::Result<()> {
    for facts in src.facts_with_ids(ws)?.chunks(WRITE_BATCH) {
        dst.put_facts(ws, facts)?;
    }
    let mut items = src.workspace_outreach(ws)?;
    // The last item queued under a de-duplication key is the key's entry: write them in the order they came.
    items.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    for batch in items.chunks(WRITE_BATCH) {
        dst.put_outreach_items(batch)?;
    }
    for run in src.all_job_runs(ws)? {
        dst.save_job_run(&run)?;
    }
    for incident in src.list_incidents(ws)? {
        dst.put_incident(&incident)?;
    }
    for team in src.list_teams(ws)? {
        dst.put_team(&team)?;
    }
    for campaign in src.list_campaigns(ws)? {
        dst.put_campaign(&campaign)?;
    }
    knowledge(src, dst, ws)?;
    audit(src, dst, ws)
}

/// Documents with their chunks and vectors, the citation label counter, citation counts and unanswered questions.
fn knowledge(src: &dyn MigrateStore, dst: &dyn MigrateStore, ws: &WorkspaceId) -> anyhow::Result<()> {
    let mut chunks: BTreeMap<String, Vec<StoredChunk>> = BTreeMap::new();
    for chunk in src.knowledge_chunks(ws)? {
        chunks.entry(chunk.chunk.doc_id.clone()).or_default().push(chunk);
    }
    for doc in src.list_knowledge(ws)? {
        let of_doc = chunks.remove(&doc.id).unwrap_or_default();
        dst.put_knowledge(&doc, Some(&of_doc))?;
    }
    let label = src.knowledge_label(ws)?;
    if label > 0 {
        dst.set_knowledge_label(ws, label)?;
    }
    dst.put_citation_counts(ws, &src.citation_counts(ws)?)?;
    let since = chrono::DateTime::<chrono::Utc>::MIN_UTC;
    let mut present: HashMap<String, usize> = HashMap::new();
    for gap in dst.gaps_since(ws, since)? {
        *present.entry(serde_json::to_string(&gap)?).or_default() += 1;
    }
    for gap in src.gaps_since(ws, since)? {
        match present.get_mut(&serde_json::to_string(&gap)?) {
            Some(n) if *n > 0 => *n -= 1,
            _ => dst.add_gap(ws, &gap)?,
        }
    }
    Ok(())
}

/// Audit entries not in the target yet, in the order they were written.
fn audit(src: &dyn MigrateStore, dst: &dyn MigrateStore, ws: &WorkspaceId) -> anyhow::Result<()> {
    let all = AuditFilter::default();
    let mut present = HashSet::new();
    let mut after: Option<String> = None;
    loop {
        let page = dst.list_audit(ws, &all, after.as_deref(), WRITE_BATCH)?;
        after = page.items.last().map(|e| e.id.clone());
        present.extend(page.items.into_iter().map(|e| e.id));
        if page.next_cursor.is_none() {
            break;
        }
    }
    let mut after: Option<String> = None;
    loop {
        let page = src.list_audit(ws, &all, after.as_deref(), WRITE_BATCH)?;
        after = page.items.last().map(|e| e.id.clone());
        let more = page.next_cursor.is_some();
        let missing: Vec<_> = page.items.into_iter().filter(|e| !present.contains(&e.id)).collect();
        dst.append_audit(&missing)?;
        if !more {
            break;
        }
    }
    Ok(())
}
