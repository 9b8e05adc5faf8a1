//! Reading and writing rows exactly as they are stored, for `rappel migrate`: what the other repositories either
//! cannot read whole (every run of a workspace, citation counts per day, a label counter, facts with their
//! interaction) or cannot write without changing it (a history entry keeps its sequence number, an outreach item
//! its state, a fact its reopen count). Every writer here is an upsert by the row's key, so writing a row twice
//! leaves one row: a copy interrupted and run again duplicates nothing.

use crate::domain::outreach::OutreachItem;
use crate::domain::support_metrics::Fact;
use crate::domain::{CustomerId, PreferenceChange, WorkspaceId};

use super::StoreError;

/// One day's citation count of a document: document id, day (days since 1970), count.
pub type CitationCount = (String, i64, u64);

/// Rows as they are, for copying a whole store into another backend.
pub trait CopyRepo: Send + Sync {
    /// A value of the store's meta table (e.g. `jobs_seeded`, or a migration's marker).
    fn meta_value(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Sets a meta value, or removes it with `None`. Only for keys the caller owns: never the schema version or
    /// the model stamp, which the store's `open` writes.
    fn set_meta_value(&self, key: &str, value: Option<&str>) -> Result<(), StoreError>;
    /// Writes preference history entries of a customer with their own sequence numbers, replacing an entry of the
    /// same number; `NotFound` when the customer is absent.
    fn put_preference_history(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
        entries: &[PreferenceChange],
    ) -> Result<(), StoreError>;
    /// Every support-metrics fact of a workspace with its interaction id.
    fn facts_with_ids(&self, workspace: &WorkspaceId) -> Result<Vec<(String, Fact)>, StoreError>;
    /// Writes facts as they are (reopen counts included), keyed by interaction; the interactions must exist.
    fn put_facts(&self, workspace: &WorkspaceId, facts: &[(String, Fact)]) -> Result<(), StoreError>;
    /// Writes outreach items as they are, in any state, with their indexes; each item becomes the
    /// de-duplication entry of its key, so items are written in the order they were queued (`created_at`).
    fn put_outreach_items(&self, items: &[OutreachItem]) -> Result<(), StoreError>;
    /// Every job run of a workspace, of every job (deleted jobs' runs included), by job and run id.
    fn all_job_runs(&self, workspace: &WorkspaceId) -> Result<Vec<crate::domain::job_run::JobRun>, StoreError>;
    /// The last citation number given in a workspace (0 when none was).
    fn knowledge_label(&self, workspace: &WorkspaceId) -> Result<u64, StoreError>;
    /// Sets the last citation number given in a workspace.
    fn set_knowledge_label(&self, workspace: &WorkspaceId, last: u64) -> Result<(), StoreError>;
    /// Every citation count of a workspace, by document and day.
    fn citation_counts(&self, workspace: &WorkspaceId) -> Result<Vec<CitationCount>, StoreError>;
    /// Sets citation counts as they are (replacing the count of the same document and day).
    fn put_citation_counts(&self, workspace: &WorkspaceId, counts: &[CitationCount]) -> Result<(), StoreError>;
}
