//! The knowledge base in PostgreSQL: documents, their chunks with vectors, keyword terms and full-text vectors
//! (in the document's language), the source index that makes imports idempotent, citation counts per day and
//! unanswered questions. A question's candidate chunks are chosen in the database (see `knowledge_candidates`). Chunks and the source entry go with their document (`ON DELETE CASCADE`); citations are deleted
//! with it explicitly, since a citation may be counted for a document deleted meanwhile, as on redb.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::memories::text_config;
use super::{json, record, PgVector, PostgresStore};
use crate::domain::knowledge::candidates::{chunk_terms, CandidateQuery, ChunkEntry};
use crate::domain::knowledge::gaps::Gap;
use crate::domain::knowledge::{Chunk, KnowledgeDoc, StoredChunk};
use crate::domain::text::Lang;
use crate::domain::WorkspaceId;
use crate::store::codec::{vector_bytes, vector_from};
use crate::store::{KnowledgeRepo, StoreError};

/// The text-search configuration of a document's language tag (`simple`, no stemming, for other languages).
fn config_of_tag(tag: &str) -> &'static str {
    Lang::from_tag(tag).map_or("simple", text_config)
}

async fn put_chunks(client: &impl GenericClient, doc: &KnowledgeDoc, chunks: &[StoredChunk]) -> Result<(), StoreError> {
    let (ws, id) = (doc.workspace.as_str(), doc.id.as_str());
    client
        .execute(
            "DELETE FROM knowledge_chunks WHERE workspace = $1 AND doc_id = $2",
            &[&ws, &id],
        )
        .await?;
    let insert = client
        .prepare_cached(
            "INSERT INTO knowledge_chunks (workspace, doc_id, position, text_config, search_text, embedding, record, \
             terms) VALUES ($1, $2, $3, $4::text::regconfig, $5, $6, $7, $8)",
        )
        .await?;
    let config = config_of_tag(&doc.fields.language);
    for c in chunks {
        let position = position_of(&c.chunk)?;
        let terms = chunk_terms(&doc.fields.title, doc.lang(), &c.chunk);
        let kept = PgVector(vector_from(&vector_bytes(&c.vector))?);
        client
            .execute(
                &insert,
                &[
                    &ws,
                    &id,
                    &position,
                    &config,
                    &c.chunk.indexed_text(&doc.fields.title),
                    &kept,
                    &json(&c.chunk),
                    &terms,
                ],
            )
            .await?;
    }
    Ok(())
}

/// A chunk's position as a column value.
fn position_of(chunk: &Chunk) -> Result<i32, StoreError> {
    i32::try_from(chunk.position).map_err(|_| StoreError::Corrupt {
        table: "knowledge_chunks",
        reason: format!("chunk position {}", chunk.position),
    })
}

/// Computes the terms of a document's chunks again, for a change of the document that keeps its chunks (its
/// language, which the terms are stemmed in, may have changed).
async fn refresh_terms(client: &impl GenericClient, doc: &KnowledgeDoc) -> Result<(), StoreError> {
    let (ws, id) = (doc.workspace.as_str(), doc.id.as_str());
    let rows = client
        .query(
            "SELECT record FROM knowledge_chunks WHERE workspace = $1 AND doc_id = $2 ORDER BY position",
            &[&ws, &id],
        )
        .await?;
    let update = client
        .prepare_cached(
            "UPDATE knowledge_chunks SET terms = $4, text_config = $5::text::regconfig \
             WHERE workspace = $1 AND doc_id = $2 AND position = $3",
        )
        .await?;
    let config = config_of_tag(&doc.fields.language);
    for row in &rows {
        let chunk: Chunk = record(row, "knowledge_chunks")?;
        let terms = chunk_terms(&doc.fields.title, doc.lang(), &chunk);
        client
            .execute(&update, &[&ws, &id, &position_of(&chunk)?, &terms, &config])
            .await?;
    }
    Ok(())
}

/// Fills in the terms of chunks written before chunks had them (before schema 3), in Rust as new chunks get them;
/// run by the migration to schema 3 (a binary of an older schema refuses the database afterwards, so no chunk
/// without terms is written later).
pub(super) async fn backfill_terms(client: &impl GenericClient) -> Result<(), StoreError> {
    let rows = client
        .query(
            "SELECT d.record FROM knowledge_docs d WHERE EXISTS (SELECT 1 FROM knowledge_chunks c \
             WHERE c.workspace = d.workspace AND c.doc_id = d.id AND c.terms IS NULL)",
            &[],
        )
        .await?;
    for row in &rows {
        let doc: KnowledgeDoc = record(row, "knowledge_docs")?;
        refresh_terms(client, &doc).await?;
    }
    if !rows.is_empty() {
        tracing::info!(
            documents = rows.len(),
            "computed the keyword terms of existing knowledge chunks"
        );
    }
    Ok(())
}

/// Moves the workspace's knowledge version (in the transaction changing its documents).
async fn bump_version(client: &impl GenericClient, ws: &str) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO knowledge_versions (workspace, version) VALUES ($1, 1) \
             ON CONFLICT (workspace) DO UPDATE SET version = knowledge_versions.version + 1",
            &[&ws],
        )
        .await?;
    Ok(())
}

impl KnowledgeRepo for PostgresStore {
    fn next_knowledge_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        self.run(async {
            // One statement: nodes asking at once get different numbers.
            let next: i64 = self
                .client()
                .await?
                .query_one(
                    "INSERT INTO knowledge_labels (workspace, last) VALUES ($1, 1) \
                     ON CONFLICT (workspace) DO UPDATE SET last = knowledge_labels.last + 1 RETURNING last",
                    &[&workspace.as_str()],
                )
                .await?
                .get(0);
            Ok(u64::try_from(next).unwrap_or(0))
        })
    }

    fn put_knowledge(&self, doc: &KnowledgeDoc, chunks: Option<&[StoredChunk]>) -> Result<(), StoreError> {
        let (ws, id) = (doc.workspace.as_str(), doc.id.as_str());
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            txn.execute(
                "INSERT INTO knowledge_docs (workspace, id, record) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace, id) DO UPDATE SET record = $3",
                &[&ws, &id, &json(doc)],
            )
            .await?;
            txn.execute(
                "DELETE FROM knowledge_sources WHERE workspace = $1 AND doc_id = $2",
                &[&ws, &id],
            )
            .await?;
            if let Some(source) = &doc.fields.source {
                txn.execute(
                    "INSERT INTO knowledge_sources (workspace, source, doc_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (workspace, source) DO UPDATE SET doc_id = $3",
                    &[&ws, source, &id],
                )
                .await?;
            }
            match chunks {
                Some(chunks) => put_chunks(&txn, doc, chunks).await?,
                None => refresh_terms(&txn, doc).await?,
            }
            bump_version(&txn, ws).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    fn get_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<KnowledgeDoc>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT record FROM knowledge_docs WHERE workspace = $1 AND id = $2",
                    &[&workspace.as_str(), &id],
                )
                .await?;
            row.map(|r| record(&r, "knowledge_docs")).transpose()
        })
    }

    fn knowledge_by_source(&self, workspace: &WorkspaceId, source: &str) -> Result<Option<KnowledgeDoc>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt(
                    "SELECT d.record FROM knowledge_sources s JOIN knowledge_docs d \
                     ON d.workspace = s.workspace AND d.id = s.doc_id WHERE s.workspace = $1 AND s.source = $2",
                    &[&workspace.as_str(), &source],
                )
                .await?;
            row.map(|r| record(&r, "knowledge_docs")).transpose()
        })
    }

    fn list_knowledge(&self, workspace: &WorkspaceId) -> Result<Vec<KnowledgeDoc>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM knowledge_docs WHERE workspace = $1 ORDER BY id",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter().map(|r| record(r, "knowledge_docs")).collect()
        })
    }

    fn knowledge_chunks(&self, workspace: &WorkspaceId) -> Result<Vec<StoredChunk>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT embedding, record FROM knowledge_chunks WHERE workspace = $1 ORDER BY doc_id, position",
                    &[&workspace.as_str()],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    let vector: PgVector = row.try_get("embedding")?;
                    let chunk: Chunk = record(row, "knowledge_chunks")?;
                    Ok(StoredChunk {
                        chunk,
                        vector: vector.0,
                    })
                })
                .collect()
        })
    }

    fn knowledge_candidates(
        &self,
        workspace: &WorkspaceId,
        query: &CandidateQuery,
    ) -> Result<Vec<ChunkEntry>, StoreError> {
        self.choose_chunks(workspace, query)
    }

    fn delete_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        let ws = workspace.as_str();
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let deleted = txn
                .execute(
                    "DELETE FROM knowledge_docs WHERE workspace = $1 AND id = $2",
                    &[&ws, &id],
                )
                .await?;
            if deleted == 0 {
                return Ok(false);
            }
            txn.execute(
                "DELETE FROM knowledge_citations WHERE workspace = $1 AND doc_id = $2",
                &[&ws, &id],
            )
            .await?;
            bump_version(&txn, ws).await?;
            txn.commit().await?;
            Ok(true)
        })
    }

    fn count_citations(&self, workspace: &WorkspaceId, docs: &[String], day: i64) -> Result<(), StoreError> {
        if docs.is_empty() {
            return Ok(());
        }
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            let upsert = txn
                .prepare(
                    "INSERT INTO knowledge_citations (workspace, doc_id, day, count) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (workspace, doc_id, day) DO UPDATE SET count = knowledge_citations.count + 1",
                )
                .await?;
            for doc in docs {
                txn.execute(&upsert, &[&workspace.as_str(), doc, &day]).await?;
            }
            txn.commit().await?;
            Ok(())
        })
    }

    fn citations_since(&self, workspace: &WorkspaceId, day: i64) -> Result<Vec<(String, u64)>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT doc_id, sum(count)::bigint FROM knowledge_citations WHERE workspace = $1 AND day >= $2 \
                     GROUP BY doc_id ORDER BY doc_id",
                    &[&workspace.as_str(), &day],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)))
                .collect())
        })
    }

    fn add_gap(&self, workspace: &WorkspaceId, gap: &Gap) -> Result<(), StoreError> {
        let id = ulid::Ulid::new().to_string();
        self.run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO knowledge_gaps (workspace, at_us, id, customer_id, record) VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &workspace.as_str(),
                        &gap.at.timestamp_micros(),
                        &id,
                        &gap.customer_id,
                        &json(gap),
                    ],
                )
                .await?;
            Ok(())
        })
    }

    fn gaps_since(&self, workspace: &WorkspaceId, since: DateTime<Utc>) -> Result<Vec<Gap>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM knowledge_gaps WHERE workspace = $1 AND at_us >= $2 ORDER BY at_us, id",
                    &[&workspace.as_str(), &since.timestamp_micros()],
                )
                .await?;
            rows.iter().map(|r| record(r, "knowledge_gaps")).collect()
        })
    }

    fn prune_gaps(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.run(async {
            let deleted = self
                .client()
                .await?
                .execute(
                    "DELETE FROM knowledge_gaps WHERE at_us < $1",
                    &[&before.timestamp_micros()],
                )
                .await?;
            Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
        })
    }

    fn knowledge_version(&self, workspace: &WorkspaceId) -> Result<Option<i64>, StoreError> {
        self.version(
            "SELECT version FROM knowledge_versions WHERE workspace = $1",
            &[&workspace.as_str()],
        )
    }
}
