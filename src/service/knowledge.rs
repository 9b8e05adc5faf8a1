//! The knowledge base's use cases: documents (add, import by source, change, delete, list), search with
//! citations, the chunks a context cites, and the freshness reports (stale content, knowledge gaps).
//!
//! A question is answered in two steps: the store chooses the candidate chunks (the nearest by vector and the
//! best keyword matches, see `domain::knowledge::candidates`; PostgreSQL in the database, redb among a copy it
//! keeps in memory), then the candidates are ranked here. The service keeps only each workspace's document
//! summaries (for validity, product and citations), read again when the store's knowledge version moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{require, ServiceError, Services};
use crate::domain::knowledge::candidates::CandidateQuery;
use crate::domain::knowledge::chunk::chunk;
use crate::domain::knowledge::gaps::{cluster, Gap, GapCluster};
use crate::domain::knowledge::rank::{rank, ChunkQuery, IndexedChunk};
use crate::domain::knowledge::{Citation, KnowledgeDoc, KnowledgeHit, KnowledgeInput, KnowledgeSummary, StoredChunk};
use crate::domain::recall::{Mode, Terms};
use crate::domain::text::{detect, terms, Lang};
use crate::domain::{validate, InvalidInput, Principal, Scope, WorkspaceId};
use crate::embed::TextRole;

/// Below this cosine similarity (multilingual-e5-small, query against passage) no chunk answers a question: the
/// context cites nothing and the question counts as a knowledge gap. Chosen on the dev split of `rappel eval`'s
/// help-center questions: 95 % of answerable questions have a best chunk at or above it. The model's cosines are
/// compressed (questions nothing answers reached 0.845-0.877 on dev), so it separates poorly: see README,
/// "Knowledge base".
pub const GOOD_SIMILARITY: f32 = 0.85;
/// Cosine within which two unanswered questions are one gap.
const GAP_SIMILARITY: f32 = 0.88;
/// Chunks a document may place in one answer.
const PER_DOC: usize = 2;
/// Unanswered questions (customers' words) are kept this many days for the gap report, then deleted by the
/// daily retention sweep.
pub const GAP_RETENTION_DAYS: i64 = 90;

/// A workspace's document summaries (no bodies, no chunks), by id.
#[derive(Default)]
struct Loaded {
    docs: HashMap<String, KnowledgeSummary>,
    /// The store's knowledge version when they were read (see `KnowledgeRepo::knowledge_version`).
    version: Option<i64>,
}

/// The per-workspace cache of document summaries.
#[derive(Default)]
pub(super) struct KnowledgeCache {
    workspaces: Mutex<HashMap<WorkspaceId, Arc<Loaded>>>,
}

impl KnowledgeCache {
    fn get(&self, ws: &WorkspaceId) -> Option<Arc<Loaded>> {
        self.workspaces.lock().ok()?.get(ws).cloned()
    }

    fn put(&self, ws: &WorkspaceId, loaded: Arc<Loaded>) {
        if let Ok(mut map) = self.workspaces.lock() {
            map.insert(ws.clone(), loaded);
        }
    }

    fn drop_workspace(&self, ws: &WorkspaceId) {
        if let Ok(mut map) = self.workspaces.lock() {
            map.remove(ws);
        }
    }
}

/// Filters of the document list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KnowledgeFilter {
    /// Only documents in this language (BCP 47 primary tag: `fr` matches `fr-CA`).
    #[param(example = "fr", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
    /// Only documents about this product.
    #[param(
        example = "hub-v1",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub product: Option<String>,
    /// Only documents with this tag.
    #[param(
        example = "billing",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub tag: Option<String>,
    /// Include documents past their `valid_until` (default false).
    #[serde(default)]
    pub include_expired: bool,
}

/// A knowledge search.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeSearch {
    /// The question, in the customer's words.
    #[schema(
        example = "mon hub se déconnecte toutes les nuits",
        pattern = "\\S",
        min_length = 1,
        max_length = 10000
    )]
    pub query: String,
    /// Chunks to return (1-20, default 5).
    #[schema(example = 5, minimum = 1, maximum = 20)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub k: Option<usize>,
    /// The reader's language: its chunks rank first among equals (detected from the query by default).
    #[schema(example = "fr", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
    /// Only documents about this product.
    #[schema(
        example = "hub-v1",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub product: Option<String>,
    /// Ranking method: `hybrid` (default), or `dense` or `keyword` alone (to compare).
    #[serde(default)]
    pub mode: Mode,
}

/// What a knowledge write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KnowledgeOutcome {
    /// A new document.
    Created,
    /// The source's document was replaced (its chunks re-cut and re-embedded).
    Replaced,
    /// The source's document was already identical: nothing written.
    Unchanged,
}

/// A document much cited but not updated for a while: the content a team should review first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaleDocument {
    /// The document.
    pub document: KnowledgeSummary,
    /// Days since its content last changed.
    pub days_since_update: i64,
    /// Times contexts cited it in the last 30 days.
    pub citations_30d: u64,
}

/// Query of the stale-content report.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StaleQuery {
    /// Documents whose content has not changed for at least this many days (default 180).
    #[param(example = 180, minimum = 0, maximum = 36500)]
    pub days: Option<i64>,
}

/// Query of the knowledge-gap report.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GapQuery {
    /// Questions asked in the last this many days (default 30).
    #[param(example = 30, minimum = 1, maximum = 3650)]
    pub days: Option<i64>,
}

impl Services {
    /// Adds a document, or replaces the one imported from the same `source`.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace))]
    pub async fn put_knowledge(
        &self,
        principal: &Principal,
        input: KnowledgeInput,
    ) -> Result<(KnowledgeDoc, KnowledgeOutcome), ServiceError> {
        require(principal, Scope::Write)?;
        let input = input.validated()?;
        let ws = principal.workspace.clone();
        let existing = match input.source.clone() {
            Some(source) => {
                let ws = ws.clone();
                self.blocking(move |s| s.knowledge_by_source(&ws, &source)).await?
            }
            None => None,
        };
        if let Some(old) = existing {
            if old.fields == input {
                return Ok((old, KnowledgeOutcome::Unchanged));
            }
            let doc = self.write_knowledge(principal, Some(old), input).await?;
            return Ok((doc, KnowledgeOutcome::Replaced));
        }
        let doc = self.write_knowledge(principal, None, input).await?;
        Ok((doc, KnowledgeOutcome::Created))
    }

    /// Cuts, embeds and stores a document (a new one when `old` is `None`).
    async fn write_knowledge(
        &self,
        principal: &Principal,
        old: Option<KnowledgeDoc>,
        fields: KnowledgeInput,
    ) -> Result<KnowledgeDoc, ServiceError> {
        let ws = principal.workspace.clone();
        let now = self.now();
        let mut doc = match old {
            Some(old) => KnowledgeDoc {
                fields,
                updated_at: now,
                ..old
            },
            None => {
                let w = ws.clone();
                let number = self.blocking(move |s| s.next_knowledge_number(&w)).await?;
                KnowledgeDoc {
                    id: format!("kb_{}", ulid::Ulid::new().to_string().to_lowercase()),
                    workspace: ws.clone(),
                    label: format!("KB-{number}"),
                    fields,
                    chunks: 0,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        let chunks = chunk(&doc.id, &doc.fields.title, &doc.fields.body, doc.fields.format);
        let texts: Vec<String> = chunks.iter().map(|c| c.indexed_text(&doc.fields.title)).collect();
        self.count_embedding(principal, texts.iter().map(|t| t.chars().count()).sum())?;
        let embedder = Arc::clone(&self.embedder);
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            embedder.embed(&refs, TextRole::Passage)
        })
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        doc.chunks = u32::try_from(chunks.len()).unwrap_or(u32::MAX);
        let stored: Vec<StoredChunk> = chunks
            .into_iter()
            .zip(vectors)
            .map(|(chunk, vector)| StoredChunk { chunk, vector })
            .collect();
        let record = doc.clone();
        self.blocking(move |s| s.put_knowledge(&record, Some(&stored))).await?;
        self.knowledge.drop_workspace(&ws);
        Ok(doc)
    }

    /// One document.
    pub async fn get_knowledge(&self, principal: &Principal, id: &str) -> Result<KnowledgeDoc, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        self.blocking(move |s| s.get_knowledge(&ws, &key))
            .await?
            .ok_or_else(|| ServiceError::KnowledgeNotFound(id.to_owned()))
    }

    /// Changes a document with a merge patch; a changed text is cut and embedded again.
    pub async fn patch_knowledge(
        &self,
        principal: &Principal,
        id: &str,
        patch: Value,
    ) -> Result<KnowledgeDoc, ServiceError> {
        require(principal, Scope::Write)?;
        let old = self.get_knowledge(principal, id).await?;
        let fields = crate::domain::merge_patch::patched(&old.fields, &patch)?.validated()?;
        let same_text =
            fields.body == old.fields.body && fields.title == old.fields.title && fields.format == old.fields.format;
        if !same_text {
            return self.write_knowledge(principal, Some(old), fields).await;
        }
        let doc = KnowledgeDoc {
            fields,
            updated_at: self.now(),
            ..old
        };
        let (record, ws) = (doc.clone(), principal.workspace.clone());
        self.blocking(move |s| s.put_knowledge(&record, None)).await?;
        self.knowledge.drop_workspace(&ws);
        Ok(doc)
    }

    /// Deletes a document and its chunks.
    pub async fn delete_knowledge(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        if !self.blocking(move |s| s.delete_knowledge(&ws, &key)).await? {
            return Err(ServiceError::KnowledgeNotFound(id.to_owned()));
        }
        self.knowledge.drop_workspace(&principal.workspace);
        Ok(())
    }

    /// The workspace's documents (without bodies), by label number.
    pub async fn list_knowledge(
        &self,
        principal: &Principal,
        filter: &KnowledgeFilter,
    ) -> Result<Vec<KnowledgeSummary>, ServiceError> {
        require(principal, Scope::Read)?;
        let language = filter
            .language
            .as_deref()
            .map(|l| validate::language("language", l))
            .transpose()?;
        let product = validate::opt_text("product", filter.product.as_deref(), validate::MAX_TEXT_CHARS)?;
        let tag = validate::opt_text("tag", filter.tag.as_deref(), validate::MAX_TEXT_CHARS)?;
        let ws = principal.workspace.clone();
        let now = self.now();
        let mut docs = self.blocking(move |s| s.list_knowledge(&ws)).await?;
        docs.retain(|d| {
            (filter.include_expired || d.valid_at(now))
                && language.as_deref().is_none_or(|l| same_language(&d.fields.language, l))
                && product
                    .as_deref()
                    .is_none_or(|p| d.fields.product.as_deref() == Some(p))
                && tag.as_deref().is_none_or(|t| d.fields.tags.iter().any(|x| x == t))
        });
        docs.sort_by_key(|d| label_number(&d.label));
        Ok(docs.iter().map(KnowledgeDoc::summary).collect())
    }

    /// Searches the knowledge base: hybrid ranking with citations and score parts. Expired documents are never
    /// returned.
    pub async fn search_knowledge(
        &self,
        principal: &Principal,
        req: KnowledgeSearch,
    ) -> Result<Vec<KnowledgeHit>, ServiceError> {
        require(principal, Scope::Read)?;
        let query = self.redactor.redact(&super::recall::check_query(&req.query)?);
        let k = req.k.unwrap_or(5);
        if !(1..=20).contains(&k) {
            return Err(InvalidInput::new("invalid_field", "k", "must be between 1 and 20").into());
        }
        let lang = match req.language.as_deref() {
            Some(tag) => Lang::from_tag(&validate::language("language", tag)?),
            None => Some(detect(&query, Lang::En)),
        };
        let product = validate::opt_text("product", req.product.as_deref(), validate::MAX_TEXT_CHARS)?;
        self.count_embedding(principal, query.chars().count())?;
        let vector = self.embed_query(&query).await?;
        let loaded = self.loaded_knowledge(&principal.workspace).await?;
        self.rank_knowledge(
            &principal.workspace,
            &loaded,
            &query,
            &vector,
            lang,
            product.as_deref(),
            req.mode,
            k,
        )
        .await
    }

    /// The chunks that answer a customer's message, for a context: only good matches (see [`GOOD_SIMILARITY`]).
    /// Their documents' citations are counted; a message nothing answers is kept as a knowledge gap.
    pub(super) async fn knowledge_for_context(
        &self,
        workspace: &WorkspaceId,
        customer_id: &str,
        message: &str,
        vector: &[f32],
        lang: Lang,
        k: usize,
    ) -> Result<Vec<KnowledgeHit>, ServiceError> {
        let loaded = self.loaded_knowledge(workspace).await?;
        if loaded.docs.is_empty() {
            return Ok(Vec::new());
        }
        let hits = self
            .rank_knowledge(workspace, &loaded, message, vector, Some(lang), None, Mode::Hybrid, k)
            .await?;
        let best = hits.iter().map(|h| h.score.semantic).fold(f32::MIN, f32::max);
        let good: Vec<KnowledgeHit> = hits
            .into_iter()
            .filter(|h| h.score.semantic >= GOOD_SIMILARITY)
            .collect();
        let now = self.now();
        let ws = workspace.clone();
        if good.is_empty() {
            let gap = Gap {
                at: now,
                customer_id: Some(customer_id.to_owned()),
                text: message.chars().take(1_000).collect(),
                language: lang.tag().to_owned(),
                best_similarity: best.max(0.0),
                vector: vector.to_vec(),
            };
            self.blocking(move |s| s.add_gap(&ws, &gap)).await?;
        } else {
            let mut docs: Vec<String> = good.iter().map(|h| h.citation.doc_id.clone()).collect();
            docs.sort();
            docs.dedup();
            let day = now.timestamp().div_euclid(86_400);
            self.blocking(move |s| s.count_citations(&ws, &docs, day)).await?;
        }
        Ok(good)
    }

    /// Ranks the candidate chunks of the workspace's valid documents for a question.
    #[allow(clippy::too_many_arguments)]
    async fn rank_knowledge(
        &self,
        workspace: &WorkspaceId,
        loaded: &Loaded,
        query: &str,
        vector: &[f32],
        lang: Option<Lang>,
        product: Option<&str>,
        mode: Mode,
        k: usize,
    ) -> Result<Vec<KnowledgeHit>, ServiceError> {
        let now = self.now();
        let allowed = |d: &KnowledgeSummary| d.valid_at(now) && product.is_none_or(|p| d.product.as_deref() == Some(p));
        // Documents ruled out (expired, another product) are left out before choosing, so they take no candidate's
        // place; with none ruled out, chunks of a document newer than the summaries come back and are skipped below.
        let docs = (!loaded.docs.values().all(allowed)).then(|| {
            loaded
                .docs
                .values()
                .filter(|d| allowed(d))
                .map(|d| d.id.clone())
                .collect()
        });
        let q_terms = terms(query, lang.unwrap_or_else(|| detect(query, Lang::En)));
        let wanted = CandidateQuery::new(vector, &q_terms, docs);
        let ws = workspace.clone();
        let found = self.blocking(move |s| s.knowledge_candidates(&ws, &wanted)).await?;
        let candidates: Vec<IndexedChunk> = found
            .into_iter()
            .filter_map(|c| {
                let doc = loaded.docs.get(&c.chunk.doc_id).filter(|d| allowed(d))?;
                Some(IndexedChunk {
                    terms: Terms::of(&c.terms),
                    lang: doc.lang(),
                    vector: c.vector,
                    chunk: c.chunk,
                })
            })
            .collect();
        let refs: Vec<&IndexedChunk> = candidates.iter().collect();
        let ranked = rank(
            &refs,
            &ChunkQuery {
                vector,
                terms: &q_terms,
                lang,
                per_doc: PER_DOC,
            },
            mode,
            k,
        );
        Ok(ranked
            .into_iter()
            .filter_map(|(i, score)| {
                let c = candidates.get(i)?;
                let doc = loaded.docs.get(&c.chunk.doc_id)?;
                Some(KnowledgeHit {
                    text: c.chunk.text.clone(),
                    citation: Citation::of(doc, &c.chunk),
                    position: c.chunk.position,
                    score,
                })
            })
            .collect())
    }

    /// The workspace's document summaries, from the cache or the store. The cache is kept while the store's
    /// knowledge version stays the one it was read at (another node sharing the store may change documents).
    async fn loaded_knowledge(&self, workspace: &WorkspaceId) -> Result<Arc<Loaded>, ServiceError> {
        let ws = workspace.clone();
        let version = self.blocking(move |s| s.knowledge_version(&ws)).await?;
        if let Some(loaded) = self.knowledge.get(workspace).filter(|l| l.version == version) {
            return Ok(loaded);
        }
        // Read after the version: a change made meanwhile leaves the cache older than the version, so the next
        // call reads again.
        let ws = workspace.clone();
        let docs = self.blocking(move |s| s.list_knowledge(&ws)).await?;
        let docs = docs.iter().map(|d| (d.id.clone(), d.summary())).collect();
        let loaded = Arc::new(Loaded { docs, version });
        self.knowledge.put(workspace, Arc::clone(&loaded));
        Ok(loaded)
    }

    /// Documents not updated for `days` that contexts cited in the last 30 days, most cited first.
    pub async fn stale_knowledge(
        &self,
        principal: &Principal,
        days: Option<i64>,
    ) -> Result<Vec<StaleDocument>, ServiceError> {
        require(principal, Scope::Read)?;
        let days = days.unwrap_or(180);
        if !(0..=36_500).contains(&days) {
            return Err(InvalidInput::new("invalid_field", "days", "must be between 0 and 36500").into());
        }
        let now = self.now();
        let since_day = now.timestamp().div_euclid(86_400) - 30;
        let ws = principal.workspace.clone();
        let (docs, cited) = self
            .blocking(move |s| Ok((s.list_knowledge(&ws)?, s.citations_since(&ws, since_day)?)))
            .await?;
        let cited: HashMap<String, u64> = cited.into_iter().collect();
        let mut out: Vec<StaleDocument> = docs
            .into_iter()
            .filter_map(|d| {
                let age = (now - d.content_updated_at()).num_days();
                let citations = cited.get(&d.id).copied().unwrap_or(0);
                (age >= days && citations > 0).then(|| StaleDocument {
                    document: d.summary(),
                    days_since_update: age,
                    citations_30d: citations,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.citations_30d
                .cmp(&a.citations_30d)
                .then(b.days_since_update.cmp(&a.days_since_update))
        });
        Ok(out)
    }

    /// Questions of the last `days` that found no good chunk, grouped by meaning, largest groups first.
    pub async fn knowledge_gaps(
        &self,
        principal: &Principal,
        days: Option<i64>,
    ) -> Result<Vec<GapCluster>, ServiceError> {
        require(principal, Scope::Read)?;
        let days = days.unwrap_or(30);
        if !(1..=3_650).contains(&days) {
            return Err(InvalidInput::new("invalid_field", "days", "must be between 1 and 3650").into());
        }
        let since: DateTime<Utc> = self.now() - Duration::days(days);
        let ws = principal.workspace.clone();
        let gaps = self.blocking(move |s| s.gaps_since(&ws, since)).await?;
        Ok(cluster(&gaps, GAP_SIMILARITY))
    }
}

/// Whether a document's language matches a filter's (`fr` matches `fr-CA`).
fn same_language(doc: &str, filter: &str) -> bool {
    doc == filter || doc.split('-').next() == Some(filter) || filter.split('-').next() == Some(doc)
}

/// The number in a label (`KB-12` → 12), for ordering.
fn label_number(label: &str) -> u64 {
    label.trim_start_matches("KB-").parse().unwrap_or(u64::MAX)
}

/// What an import of knowledge files did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KnowledgeImportStats {
    /// Files read.
    pub files: u64,
    /// New documents.
    pub created: u64,
    /// Documents of a changed source, replaced.
    pub replaced: u64,
    /// Sources already identical.
    pub unchanged: u64,
    /// Files refused (each with its reason in `errors`).
    pub failed: u64,
    /// Why each refused file was refused.
    pub errors: Vec<String>,
}

impl Services {
    /// Imports help-center files (path relative to the imported folder, text): each becomes the document of its
    /// source path, so importing again changes only what changed. `progress` sees the counts after each file.
    pub async fn import_knowledge(
        &self,
        principal: &Principal,
        files: Vec<(String, String)>,
        mut progress: impl FnMut(&KnowledgeImportStats),
    ) -> Result<KnowledgeImportStats, ServiceError> {
        require(principal, Scope::Write)?;
        let mut stats = KnowledgeImportStats::default();
        for (path, text) in files {
            stats.files += 1;
            let input = crate::domain::knowledge::source::read(&path, &text).map_err(ServiceError::from);
            match async { self.put_knowledge(principal, input?).await }.await {
                Ok((_, KnowledgeOutcome::Created)) => stats.created += 1,
                Ok((_, KnowledgeOutcome::Replaced)) => stats.replaced += 1,
                Ok((_, KnowledgeOutcome::Unchanged)) => stats.unchanged += 1,
                Err(ServiceError::Invalid(e)) => {
                    stats.failed += 1;
                    stats.errors.push(format!("{path}: {}: {}", e.field, e.message));
                }
                Err(e) => return Err(e),
            }
            progress(&stats);
        }
        Ok(stats)
    }
}
