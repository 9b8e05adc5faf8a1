//! Long-term memories: what Rappel remembers from conversations, with provenance and validity in time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sentiment::Cue;
use super::text::Lang;
use super::{CustomerId, WorkspaceId};

/// What a memory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// Raw text of a message (or a window of a long one).
    Message,
    /// A stated preference ("please e-mail me, don't call").
    Preference,
    /// A fact about the customer (plan, device, company size, location).
    Fact,
    /// Something that went wrong.
    Issue,
    /// What fixed it.
    Resolution,
    /// What an agent promised, possibly with a due time.
    Commitment,
}

impl MemoryKind {
    /// Every kind, in display order.
    pub const ALL: [MemoryKind; 6] = [
        Self::Message,
        Self::Preference,
        Self::Fact,
        Self::Issue,
        Self::Resolution,
        Self::Commitment,
    ];
}

/// Where a memory comes from: nothing is returned that cannot be traced back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Provenance {
    /// The customer.
    pub customer_id: CustomerId,
    /// The interaction's external id (as the client sent it).
    #[schema(example = "int-0001")]
    pub interaction_id: String,
    /// The ids of the messages the memory comes from (as the client sent them).
    #[schema(example = json!(["int-0001-m1"]))]
    pub message_ids: Vec<String>,
}

/// One edit of a memory's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemoryEdit {
    /// Text before the edit.
    pub old_text: String,
    /// When it was edited.
    pub edited_at: DateTime<Utc>,
    /// Who edited it.
    pub source: String,
}

/// A memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Memory {
    /// Rappel's id (`mem_...`).
    #[schema(example = "mem_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// What it is.
    pub kind: MemoryKind,
    /// The remembered text.
    pub text: String,
    /// For facts and preferences: what it is about (`plan`, `location`, `channel`, ...); a newer memory with the
    /// same subject closes this one.
    #[schema(example = "plan")]
    pub subject: Option<String>,
    /// Language of the text.
    pub language: Lang,
    /// Where it comes from.
    pub provenance: Provenance,
    /// When it was said.
    pub observed_at: DateTime<Utc>,
    /// From when it holds (facts and preferences).
    pub valid_from: Option<DateTime<Utc>>,
    /// Until when it held; absent while it still holds.
    pub valid_to: Option<DateTime<Utc>>,
    /// For commitments: when it is due.
    pub due_at: Option<DateTime<Utc>>,
    /// For issues and commitments: still open (issue unresolved, promise not yet kept).
    pub open: bool,
    /// How many times it was said (near-duplicates reinforce instead of adding a copy).
    pub count: u32,
    /// When it was last said.
    pub last_seen: DateTime<Utc>,
    /// Pinned memories never decay and are kept past retention.
    pub pinned: bool,
    /// Sentiment score of the message it comes from (customer messages).
    pub sentiment: Option<f32>,
    /// The message it comes from sounded exasperated (customer messages).
    #[serde(default)]
    pub frustrated: bool,
    /// What made the message negative or frustrated (threat to leave, broken promise...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cues: Vec<Cue>,
    /// Who said it, as the client named the message's author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Nathalie Rousseau")]
    pub speaker: Option<String>,
    /// Position of the source message in its interaction (0 for the first); neighbouring turns give context.
    #[serde(default)]
    pub seq: u32,
    /// Earlier texts, when corrected.
    #[serde(default)]
    pub edits: Vec<MemoryEdit>,
}

impl Memory {
    /// A new memory observed at `at`, seen once, open only when the caller says so, with no sentiment.
    pub fn new(
        workspace: WorkspaceId,
        kind: MemoryKind,
        text: String,
        language: Lang,
        provenance: Provenance,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: new_memory_id(),
            workspace,
            kind,
            text,
            subject: None,
            language,
            provenance,
            observed_at: at,
            valid_from: None,
            valid_to: None,
            due_at: None,
            open: false,
            count: 1,
            last_seen: at,
            pinned: false,
            sentiment: None,
            frustrated: false,
            cues: Vec::new(),
            speaker: None,
            seq: 0,
            edits: Vec::new(),
        }
    }

    /// The text given to the embedding model and the keyword index: the speaker's name, when known, then the text
    /// ("Gordon: my dog is a border terrier"), so that "Gordon's dog" finds it.
    pub fn indexed_text(&self) -> String {
        match &self.speaker {
            Some(speaker) if !speaker.trim().is_empty() => format!("{}: {}", speaker.trim(), self.text),
            _ => self.text.clone(),
        }
    }

    /// Whether the memory holds at `at` (not closed by a newer fact).
    pub fn is_valid_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_to.is_none_or(|to| to > at)
    }
}

/// A memory and its embedding.
#[derive(Debug, Clone)]
pub struct StoredMemory {
    /// The memory.
    pub memory: Memory,
    /// Its vector (unit length).
    pub vector: Vec<f32>,
}

/// Days to keep memories of each kind (0: forever), from the settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retention {
    /// Days per kind, in [`MemoryKind::ALL`] order.
    pub days: [u32; 6],
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            days: [730, 0, 0, 730, 1095, 730],
        }
    }
}

impl Retention {
    /// Days kept for `kind` (0: forever).
    pub fn limit(&self, kind: MemoryKind) -> u32 {
        let i = MemoryKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("every kind is listed");
        self.days[i]
    }
}

/// A new memory's id.
pub fn new_memory_id() -> String {
    format!("mem_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The id of the memory a sent outreach item becomes, derived from the item's id: forming it again (a repeated
/// acknowledgement, a retry after a crash between the two writes) finds the first one instead of copying it.
pub fn outreach_memory_id(item_id: &str) -> String {
    format!("mem_{}", item_id.strip_prefix("out_").unwrap_or(item_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_outreach_item_always_becomes_the_same_memory_id() {
        let id = outreach_memory_id("out_01jh2k3m4n5p6q7r8s9t0v1w2x");
        assert_eq!(id, "mem_01jh2k3m4n5p6q7r8s9t0v1w2x");
        assert_eq!(outreach_memory_id("out_01jh2k3m4n5p6q7r8s9t0v1w2x"), id);
        assert_ne!(outreach_memory_id("out_01jh2k3m4n5p6q7r8s9t0v1w2y"), id);
    }
}
