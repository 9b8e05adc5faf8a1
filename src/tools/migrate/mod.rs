//! `rappel migrate --from <store> --to <store>`: copies a whole store (redb file or folder, or a PostgreSQL URL)
//! into another one of either kind, preserving ids, times and vectors, then checks the copy.
//!
//! # Resuming
//! Two mechanisms, chosen because each is the cheapest that is exact:
//! - **Idempotent writes.** Every row is written by its key (upserts; see [`copy`]), so running a phase again after
//!   a crash or Ctrl-C writes the same rows again and duplicates nothing. Append-only rows (audit entries) and rows
//!   whose keys are internal (unanswered questions) are compared with what the target holds first.
//! - **Progress markers in the target's meta.** `migration_source` names the source (absolute file path, or user,
//!   host, port and database): written before the first row, it is what lets a non-empty target be resumed by
//!   the same migration and refused to any other; `migration_customers/<workspace>` is the last customer copied
//!   with everything of theirs, so a resumed run skips the bulk of the work (customers, interactions,
//!   memories); `migration_state` is `copying` until the check passes, then `done` (run again, a done migration
//!   copies nothing and only checks again).
//!
//! # The model stamp
//! The target is opened without a model while rows go in, then opened again with the source's model, which
//! records it (a server then opens the target) and, on PostgreSQL, builds the vector indexes once over all rows.
//!
//! # The check
//! Both stores are read the same way through the repository traits ([`verify`]): counts and a digest of every
//! record of every kind must be equal, and a sample of customers (up to [`verify::SAMPLE`]) with everything of
//! theirs, memories' vectors included, is compared as JSON record by record.

mod copy;
mod endpoint;
mod verify;

#[cfg(test)]
mod tests;

pub use copy::Copied;
pub use endpoint::Endpoint;
pub use verify::Tally;

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::store::{CopyRepo, ModelStamp, Store};

/// What a migration needs of a store: every repository, and rows as they are.
pub trait MigrateStore: Store + CopyRepo {}

impl<T: Store + CopyRepo> MigrateStore for T {}

/// Meta key naming the source a target is being (or was) migrated from.
const MARKER: &str = "migration_source";
/// Meta key of the migration's state: [`COPYING`] or [`DONE`].
const STATE: &str = "migration_state";
const COPYING: &str = "copying";
const DONE: &str = "done";

/// How to copy.
#[derive(Debug, Clone)]
pub struct Options {
    /// Customers per `bulk_load` transaction.
    pub batch: usize,
    /// Stop with an error after this many customer batches (tests interrupt a migration this way).
    pub stop_after_batches: Option<usize>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            batch: 100,
            stop_after_batches: None,
        }
    }
}

/// What a migration did and found.
#[derive(Debug)]
pub struct Report {
    /// The source, for messages.
    pub from: String,
    /// The target, for messages.
    pub to: String,
    /// Every kind of record in the source.
    pub source: Tally,
    /// Every kind of record in the target, after the copy.
    pub target: Tally,
    /// What this run wrote.
    pub copied: Copied,
    /// Customers compared record by record.
    pub sampled: usize,
    /// Everything that differs (empty when the copy is exact).
    pub problems: Vec<String>,
    /// The model the source's vectors come from, now the target's too.
    pub model: Option<ModelStamp>,
    /// An earlier run of this migration was found in the target.
    pub resumed: bool,
    /// The migration had completed before: nothing was copied, only checked.
    pub already_done: bool,
    /// How long it took.
    pub elapsed: Duration,
    /// How long each step took: copy, stamp (PostgreSQL builds its vector indexes then), check.
    pub steps: Vec<(&'static str, Duration)>,
}

impl Report {
    /// Whether the target holds exactly what the source does.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// Prints the counts of every kind on both sides, and the verdict.
    pub fn print(&self) {
        let mut kinds: Vec<&str> = self
            .source
            .kinds
            .keys()
            .chain(self.target.kinds.keys())
            .copied()
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        println!("{:<24} {:>10} {:>10}", "", "source", "target");
        for kind in kinds {
            let same = self.source.kinds.get(kind) == self.target.kinds.get(kind);
            println!(
                "{kind:<24} {:>10} {:>10}{}",
                self.source.records(kind),
                self.target.records(kind),
                if same { "" } else { "  DIFFERENT" }
            );
        }
        let model = self.model.as_ref().map_or("none recorded".to_owned(), |m| {
            format!("{} ({} dimensions)", m.name, m.dim)
        });
        println!("model stamp: {model}");
        let run = if self.already_done {
            "already complete before this run: nothing copied".to_owned()
        } else {
            format!(
                "{} customers loaded by this run{}",
                self.copied.customers,
                if self.resumed {
                    format!(", {} done by an earlier run (resumed)", self.copied.customers_skipped)
                } else {
                    String::new()
                }
            )
        };
        println!("{run}; {} customers compared record by record", self.sampled);
        let steps: Vec<String> = self
            .steps
            .iter()
            .map(|(step, took)| format!("{step} {:.1} s", took.as_secs_f64()))
            .collect();
        println!("time: {}", steps.join(", "));
        if self.passed() {
            println!(
                "migrated {} -> {} in {:.1} s: every kind has the same count and records on both sides",
                self.from,
                self.to,
                self.elapsed.as_secs_f64()
            );
        } else {
            for problem in &self.problems {
                eprintln!("error: {problem}");
            }
        }
    }
}

/// Copies the store at `from` into `to` and checks the copy (blocking: run it off the async workers).
pub fn migrate(from: &Endpoint, to: &Endpoint, options: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    if endpoint::same_store(from, to)? {
        bail!("--from and --to name the same store ({})", from.describe());
    }
    let source_id = from.identity()?;
    let src = from.open_source()?;
    let state = src.reembed_state()?;
    if let Some(target) = state.target {
        bail!(
            "the source is being re-embedded with {} ({} memories done): finish with `rappel reembed` first",
            target.name,
            state.done
        );
    }
    let model = state.current;
    let dst = to.open_target(None)?;
    let resumed = match dst.meta_value(MARKER)? {
        Some(marker) if marker == source_id => true,
        Some(other) => bail!(
            "the target {} holds a migration from {other}, not from {source_id}: migrate into an empty store",
            to.describe()
        ),
        None => {
            if !is_empty(dst.as_ref())? {
                bail!(
                    "the target {} already holds data of another store (workspaces, jobs or memories): migrate \
                     into an empty store",
                    to.describe()
                );
            }
            dst.set_meta_value(MARKER, Some(&source_id))?;
            false
        }
    };
    let already_done = resumed && dst.meta_value(STATE)?.as_deref() == Some(DONE);
    let mut steps = Vec::new();
    let step = Instant::now();
    let copied = if already_done {
        Copied::default()
    } else {
        dst.set_meta_value(STATE, Some(COPYING))?;
        copy::copy_all(src.as_ref(), dst.as_ref(), options)?
    };
    steps.push(("copy", step.elapsed()));
    let step = Instant::now();
    let dst = match &model {
        Some(model) => {
            drop(dst);
            to.stamp_target(model)?
        }
        None => dst,
    };
    steps.push(("stamp", step.elapsed()));
    let step = Instant::now();
    let mut report = check(src.as_ref(), dst.as_ref())?;
    steps.push(("check", step.elapsed()));
    let stamped = dst.reembed_state()?.current;
    if stamped != model {
        report.problems.push(format!(
            "the target's model stamp is {stamped:?}, the source's {model:?}"
        ));
    }
    if report.problems.is_empty() {
        dst.set_meta_value(STATE, Some(DONE))?;
    }
    Ok(Report {
        from: from.describe(),
        to: to.describe(),
        copied,
        model,
        resumed,
        already_done,
        elapsed: started.elapsed(),
        steps,
        ..report
    })
}

/// A store nothing was ever written to: no workspace, job, memory, nor the mark of a seeding.
fn is_empty(store: &dyn MigrateStore) -> anyhow::Result<bool> {
    Ok(store.list_workspaces()?.is_empty()
        && store.list_jobs()?.is_empty()
        && store.count_memories()? == 0
        && store.meta_value("jobs_seeded")?.is_none())
}

/// Tallies both stores and compares the sample (the fields about the run are left for the caller).
fn check(src: &dyn MigrateStore, dst: &dyn MigrateStore) -> anyhow::Result<Report> {
    let total: u64 = src.workspace_counts()?.iter().map(|c| c.customers).sum();
    let every = total.div_ceil(verify::SAMPLE as u64).max(1);
    let mut sample = Vec::new();
    let verifying = indicatif::ProgressBar::new_spinner();
    verifying.set_message("checking: reading every record of both stores");
    let source = verify::tally(src, every, &mut |ws, c| sample.push((ws.clone(), c.clone())))?;
    let target = verify::tally(dst, u64::MAX, &mut |_, _| {})?;
    verifying.finish_and_clear();
    let mut problems: Vec<String> = source
        .differences(&target)
        .into_iter()
        .map(|kind| {
            format!(
                "{kind}: {} in the source, {} in the target{}",
                source.records(kind),
                target.records(kind),
                if source.records(kind) == target.records(kind) {
                    " (same count, different records)"
                } else {
                    ""
                }
            )
        })
        .collect();
    for (ws, c) in &sample {
        let (a, b) = (
            verify::customer_record(src, ws, c)?,
            verify::customer_record(dst, ws, c)?,
        );
        if a != b {
            let fields: Vec<&str> = a
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| b.get(k.as_str()) != Some(v))
                .map(|(k, _)| k.as_str())
                .collect();
            problems.push(format!(
                "customer {c} of workspace {ws} differs in: {}",
                fields.join(", ")
            ));
        }
    }
    Ok(Report {
        from: String::new(),
        to: String::new(),
        source,
        target,
        copied: Copied::default(),
        sampled: sample.len(),
        problems,
        model: None,
        resumed: false,
        already_done: false,
        elapsed: Duration::ZERO,
        steps: Vec::new(),
    })
}
