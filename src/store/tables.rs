//! Every redb table Rappel uses. Keys lead with the workspace id, so one tenant's data is one key range.

use redb::TableDefinition;

/// Schema version, embedding model name and dimension.
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
/// (workspace, customer id) -> customer.
pub const CUSTOMERS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("customers");
/// (workspace, external id) -> customer id.
pub const EXTERNAL_IDS: TableDefinition<(&str, &str), &str> = TableDefinition::new("customer_external_ids");
/// (workspace, customer id) -> preferences.
pub const PREFERENCES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("preferences");
/// (workspace, customer id, seq) -> preference change.
pub const PREFERENCE_HISTORY: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("preference_history");
/// workspace id -> workspace.
pub const WORKSPACES: TableDefinition<&str, &[u8]> = TableDefinition::new("workspaces");
/// sha256(secret) -> API key.
pub const API_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("api_keys");
/// (workspace, key id) -> sha256(secret).
pub const API_KEY_IDS: TableDefinition<(&str, &str), &str> = TableDefinition::new("api_key_ids");
/// (workspace, customer id, interaction id) -> interaction.
pub const INTERACTIONS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("interactions");
/// (workspace, customer id, external id) -> interaction id.
pub const INTERACTION_EXTERNAL_IDS: TableDefinition<(&str, &str, &str), &str> =
    TableDefinition::new("interaction_external_ids");
/// (workspace, customer id, memory id) -> memory.
pub const MEMORIES: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("memories");
/// (workspace, customer id, memory id) -> embedding, little-endian f32s.
pub const VECTORS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("vectors");
/// (workspace, outreach item id) -> outreach item.
pub const OUTREACH: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("outreach");
/// (workspace, customer id, outreach item id) -> "" (a customer's items, for caps and erasure).
pub const OUTREACH_BY_CUSTOMER: TableDefinition<(&str, &str, &str), &str> =
    TableDefinition::new("outreach_by_customer");
/// (workspace, customer id, de-duplication key) -> outreach item id.
pub const OUTREACH_DEDUPE: TableDefinition<(&str, &str, &str), &str> = TableDefinition::new("outreach_dedupe");
/// (workspace, job id, run id) -> job run. (Schema 1 had `job_runs`, keyed by job and run only: runs of every
/// workspace mixed; it is dropped when a schema-1 store is opened.)
pub const JOB_RUNS: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("job_runs_by_workspace");
/// The schema-1 run table, only named to drop it.
pub const JOB_RUNS_V1: &str = "job_runs";
/// job id -> job definition (seeded from the `jobs/` folder once, then changed through the API).
pub const JOB_DEFINITIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("job_definitions");
/// (workspace, 5 - priority, not_before in µs, item id) -> "": queued items in the order they are handed out.
pub const OUTREACH_DUE: TableDefinition<(&str, u8, i64, &str), &str> = TableDefinition::new("outreach_due");
/// (workspace, lease end in µs, item id) -> "": claimed items, by when their lease ends.
pub const OUTREACH_LEASED: TableDefinition<(&str, i64, &str), &str> = TableDefinition::new("outreach_leased");
/// (workspace, incident id) -> incident.
pub const INCIDENTS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("incidents");
/// (workspace, customer id, computed at in µs) -> health.
pub const HEALTH: TableDefinition<(&str, &str, i64), &[u8]> = TableDefinition::new("health");
/// (workspace, team id) -> team.
pub const TEAMS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("teams");
/// (workspace, campaign id) -> campaign.
pub const CAMPAIGNS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("campaigns");
/// (workspace, audit entry id) -> audit entry. Ids are time-ordered, so a workspace's log reads in the order it
/// was written. Append-only: nothing deletes from it, erasure included (entries hold no personal data).
pub const AUDIT_LOG: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("audit_log");
/// Knowledge documents by (workspace, document id).
pub const KNOWLEDGE_DOCS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("knowledge_docs");
/// Knowledge chunks (text, headings) by (workspace, document id, position).
pub const KNOWLEDGE_CHUNKS: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("knowledge_chunks");
/// Knowledge chunk vectors, keyed like the chunks.
pub const KNOWLEDGE_VECTORS: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("knowledge_vectors");
/// Document id by (workspace, source path or URL): re-importing a source replaces its document.
pub const KNOWLEDGE_SOURCES: TableDefinition<(&str, &str), &str> = TableDefinition::new("knowledge_sources");
/// The last citation label number given in a workspace.
pub const KNOWLEDGE_LABELS: TableDefinition<&str, u64> = TableDefinition::new("knowledge_labels");
/// Citations of a document by (workspace, document id, day since 1970).
pub const KNOWLEDGE_CITATIONS: TableDefinition<(&str, &str, i64), u64> = TableDefinition::new("knowledge_citations");
/// Questions no chunk answered well, by (workspace, time in microseconds, id).
pub const KNOWLEDGE_GAPS: TableDefinition<(&str, i64, &str), &[u8]> = TableDefinition::new("knowledge_gaps");
/// (workspace, opened_at in µs, customer id, interaction id) -> the interaction's support-metrics fact
/// (`domain::support_metrics::Fact`), rewritten with the interaction. Holds customer ids and agent names: erased
/// with the customer.
pub const INTERACTION_FACTS: TableDefinition<(&str, i64, &str, &str), &[u8]> =
    TableDefinition::new("interaction_facts");
