//! The knowledge base: what the company knows (FAQ, troubleshooting, policies), kept beside the customers'
//! memories. Documents as clients send them, the chunks they are cut into, and their citation labels.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

pub mod candidates;
pub mod chunk;
pub mod gaps;
pub mod rank;
pub mod source;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text::Lang;
use super::{validate, InvalidInput, WorkspaceId};

/// Largest document body accepted, in characters.
pub const MAX_BODY_CHARS: usize = 100_000;

/// How a document's body is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocFormat {
    /// CommonMark, with headings (`#`, `##`) cutting the sections.
    #[default]
    Markdown,
    /// HTML, with `<h1>`-`<h6>` cutting the sections.
    Html,
    /// Plain text: paragraphs separated by blank lines.
    Text,
}

/// A document as a client sends it (create body; a merge patch changes the same fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeInput {
    /// Title, shown in citations.
    #[schema(
        example = "Hub v1 keeps disconnecting at night",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 300
    )]
    pub title: String,
    /// The body, in `format`.
    #[schema(
        example = "## Why it happens\n\nSince the cloud relay update of 28 October, Hub v1 units lose their connection between 2 and 6 am.\n\n## The fix\n\nInstall firmware 1.9.3 from the app.",
        pattern = "\\S",
        min_length = 1,
        max_length = 100000
    )]
    pub body: String,
    /// How the body is written (`markdown` by default).
    #[serde(default)]
    pub format: DocFormat,
    /// Language of the document (BCP 47).
    #[schema(example = "en", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: String,
    /// Where readers find it.
    #[schema(
        example = "https://help.example.com/articles/hub-v1-night",
        min_length = 1,
        max_length = 2000,
        pattern = "\\S"
    )]
    pub url: Option<String>,
    /// Product concerned.
    #[schema(
        example = "hub-v1",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub product: Option<String>,
    /// Tags.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::Tag>, max_items = 50)]
    pub tags: Vec<String>,
    /// Until when it holds (time-bound policies, promotions): an expired document is never cited.
    pub valid_until: Option<DateTime<Utc>>,
    /// Where it was imported from (a file's path under the imported folder, or its URL): importing the same
    /// source again replaces this document instead of adding one.
    #[schema(
        example = "en/hub-v1-nightly-disconnects.md",
        min_length = 1,
        max_length = 2000,
        pattern = "\\S"
    )]
    pub source: Option<String>,
    /// When its content last changed at the source (the stale-content report reads it; the time of the last
    /// write otherwise).
    pub source_updated_at: Option<DateTime<Utc>>,
}

impl KnowledgeInput {
    /// Checks every field and returns the document in canonical form.
    pub fn validated(mut self) -> Result<Self, InvalidInput> {
        self.title = validate::text("title", &self.title, 300)?;
        if self.body.trim().is_empty() {
            return Err(InvalidInput::new("invalid_field", "body", "must not be empty"));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(InvalidInput::new(
                "invalid_field",
                "body",
                format!("must be at most {MAX_BODY_CHARS} characters"),
            ));
        }
        self.language = validate::language("language", &self.language)?;
        self.url = validate::opt_text("url", self.url.as_deref(), 2_000)?;
        self.product = validate::opt_text("product", self.product.as_deref(), validate::MAX_TEXT_CHARS)?;
        self.source = validate::opt_text("source", self.source.as_deref(), 2_000)?;
        if self.tags.len() > 50 {
            return Err(InvalidInput::new("invalid_field", "tags", "at most 50 tags"));
        }
        self.tags = self
            .tags
            .iter()
            .enumerate()
            .map(|(i, t)| validate::text(&format!("tags[{i}]"), t, 64))
            .collect::<Result<_, _>>()?;
        self.valid_until = validate::opt_time("valid_until", self.valid_until)?;
        self.source_updated_at = validate::opt_time("source_updated_at", self.source_updated_at)?;
        Ok(self)
    }
}

/// A stored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeDoc {
    /// Id (`kb_...`).
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// Short label used in citations: `KB-12`.
    #[schema(example = "KB-12")]
    pub label: String,
    /// The document.
    #[serde(flatten)]
    pub fields: KnowledgeInput,
    /// Number of chunks it was cut into.
    pub chunks: u32,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl KnowledgeDoc {
    /// Whether it may be cited at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        valid(self.fields.valid_until, now)
    }

    /// The language Rappel's text rules use for it.
    pub fn lang(&self) -> Lang {
        lang_of(&self.fields.language)
    }

    /// When its content last changed: at the source when known, here otherwise.
    pub fn content_updated_at(&self) -> DateTime<Utc> {
        self.fields.source_updated_at.unwrap_or(self.updated_at)
    }

    /// The document without its body, for lists.
    pub fn summary(&self) -> KnowledgeSummary {
        KnowledgeSummary {
            id: self.id.clone(),
            label: self.label.clone(),
            title: self.fields.title.clone(),
            language: self.fields.language.clone(),
            url: self.fields.url.clone(),
            product: self.fields.product.clone(),
            tags: self.fields.tags.clone(),
            valid_until: self.fields.valid_until,
            source: self.fields.source.clone(),
            chunks: self.chunks,
            updated_at: self.updated_at,
        }
    }
}

/// Whether a document valid until `until` may be cited at `now`.
fn valid(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    until.is_none_or(|until| until > now)
}

/// The language Rappel's text rules use for a document's language tag.
fn lang_of(tag: &str) -> Lang {
    Lang::from_tag(tag).unwrap_or(Lang::En)
}

/// A document in a list (without its body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeSummary {
    /// Id (`kb_...`).
    pub id: String,
    /// Citation label (`KB-12`).
    pub label: String,
    /// Title.
    pub title: String,
    /// Language.
    pub language: String,
    /// Where readers find it.
    pub url: Option<String>,
    /// Product concerned.
    pub product: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Until when it holds.
    pub valid_until: Option<DateTime<Utc>>,
    /// Where it was imported from.
    pub source: Option<String>,
    /// Number of chunks.
    pub chunks: u32,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl KnowledgeSummary {
    /// Whether it may be cited at `now`.
    pub fn valid_at(&self, now: DateTime<Utc>) -> bool {
        valid(self.valid_until, now)
    }

    /// The language Rappel's text rules use for it.
    pub fn lang(&self) -> Lang {
        lang_of(&self.language)
    }
}

/// A piece of a document small enough to embed and to cite: one section, or part of a long one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// Its document.
    pub doc_id: String,
    /// Position in the document, from 0.
    pub position: u32,
    /// The headings above it, outermost first (the document's title excluded).
    pub headings: Vec<String>,
    /// Its text.
    pub text: String,
}

impl Chunk {
    /// The text embedded and keyword-indexed: title and headings give a short section its subject.
    pub fn indexed_text(&self, title: &str) -> String {
        let mut out = String::from(title);
        for h in &self.headings {
            out.push_str(" > ");
            out.push_str(h);
        }
        out.push('\n');
        out.push_str(&self.text);
        out
    }

    /// The section named in a citation: its innermost heading.
    pub fn section(&self) -> Option<&str> {
        self.headings.last().map(String::as_str)
    }
}

/// A chunk with its embedding, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredChunk {
    /// The chunk.
    pub chunk: Chunk,
    /// Its unit vector.
    pub vector: Vec<f32>,
}

/// The citation of a chunk: enough for an agent to open the source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Citation {
    /// The document's id.
    pub doc_id: String,
    /// The document's label.
    #[schema(example = "KB-12")]
    pub label: String,
    /// The document's title.
    pub title: String,
    /// The section: headings outermost first.
    pub headings: Vec<String>,
    /// Where readers find the document.
    pub url: Option<String>,
    /// The document's language.
    pub language: String,
    /// How it is cited in a prompt: `[KB-12 §Heading]`.
    #[schema(example = "[KB-12 §The fix]")]
    pub cite: String,
}

impl Citation {
    /// The citation of a chunk of a document.
    pub fn of(doc: &KnowledgeSummary, chunk: &Chunk) -> Self {
        let cite = match chunk.section() {
            Some(section) => format!("[{} §{section}]", doc.label),
            None => format!("[{}]", doc.label),
        };
        Self {
            doc_id: doc.id.clone(),
            label: doc.label.clone(),
            title: doc.title.clone(),
            headings: chunk.headings.clone(),
            url: doc.url.clone(),
            language: doc.language.clone(),
            cite,
        }
    }
}

/// A chunk found for a question, with its citation and why it ranked.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KnowledgeHit {
    /// The chunk's text.
    pub text: String,
    /// Where it comes from.
    pub citation: Citation,
    /// Position of the chunk in its document.
    pub position: u32,
    /// The parts of its score.
    pub score: rank::ChunkScore,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> KnowledgeInput {
        serde_json::from_value(serde_json::json!({
            "title": " Refunds ", "body": "## Window\n\n30 days.", "language": "FR", "tags": ["billing"]
        }))
        .unwrap()
    }

    #[test]
    fn a_document_is_checked_and_canonical() {
        let doc = input().validated().unwrap();
        assert_eq!(doc.title, "Refunds");
        assert_eq!(doc.language, "fr");
        let mut empty = input();
        empty.body = "  \n".into();
        assert_eq!(empty.validated().unwrap_err().field, "body");
        let mut long = input();
        long.body = "a".repeat(MAX_BODY_CHARS + 1);
        assert_eq!(long.validated().unwrap_err().field, "body");
    }

    #[test]
    fn a_citation_names_the_innermost_section() {
        let doc = KnowledgeDoc {
            id: "kb_1".into(),
            workspace: WorkspaceId::default_workspace(),
            label: "KB-3".into(),
            fields: input().validated().unwrap(),
            chunks: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let chunk = Chunk {
            doc_id: "kb_1".into(),
            position: 0,
            headings: vec!["Billing".into(), "Window".into()],
            text: "30 days.".into(),
        };
        assert_eq!(Citation::of(&doc.summary(), &chunk).cite, "[KB-3 §Window]");
        assert_eq!(chunk.indexed_text("Refunds"), "Refunds > Billing > Window\n30 days.");
    }
}
