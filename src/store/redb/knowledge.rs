//! The knowledge base in redb: documents, chunks and their vectors (separate tables, so listing documents reads no
//! vector), the source index that makes imports idempotent, citation counts per day and unanswered questions.
//! A question's candidate chunks are chosen among a copy of the workspace's chunks kept in memory (see
//! `chunk_cache`), with the rule of [`crate::domain::knowledge::candidates`].

use std::collections::HashMap;
use std::sync::Arc;

use ::redb::{ReadableDatabase, ReadableTable};
use chrono::{DateTime, Utc};

use super::{upper, RedbStore};
use crate::domain::knowledge::candidates::{choose, chunk_terms, CandidateQuery, ChunkEntry};
use crate::domain::knowledge::gaps::Gap;
use crate::domain::knowledge::{Chunk, KnowledgeDoc, StoredChunk};
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::codec::{vector_bytes, vector_from};
use crate::store::tables::{
    KNOWLEDGE_CHUNKS, KNOWLEDGE_CITATIONS, KNOWLEDGE_DOCS, KNOWLEDGE_GAPS, KNOWLEDGE_LABELS, KNOWLEDGE_SOURCES,
    KNOWLEDGE_VECTORS,
};
use crate::store::{KnowledgeRepo, StoreError};

impl KnowledgeRepo for RedbStore {
    fn next_knowledge_number(&self, workspace: &WorkspaceId) -> Result<u64, StoreError> {
        let txn = self.db.begin_write()?;
        let next = {
            let mut table = txn.open_table(KNOWLEDGE_LABELS)?;
            let next = table.get(workspace.as_str())?.map_or(0, |v| v.value()) + 1;
            table.insert(workspace.as_str(), next)?;
            next
        };
        txn.commit()?;
        Ok(next)
    }

    fn put_knowledge(&self, doc: &KnowledgeDoc, chunks: Option<&[StoredChunk]>) -> Result<(), StoreError> {
        let written = self.write_knowledge(doc, chunks);
        self.chunks.drop_workspace(doc.workspace.as_str());
        written
    }

    fn knowledge_candidates(
        &self,
        workspace: &WorkspaceId,
        query: &CandidateQuery,
    ) -> Result<Vec<ChunkEntry>, StoreError> {
        let all = self.cached_chunks(workspace)?;
        Ok(choose(&all, query)
            .into_iter()
            .filter_map(|i| all.get(i).cloned())
            .collect())
    }

    fn get_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<KnowledgeDoc>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_DOCS)?;
        let value = table.get((workspace.as_str(), id))?;
        value.map(|v| decode("knowledge_docs", v.value())).transpose()
    }

    fn knowledge_by_source(&self, workspace: &WorkspaceId, source: &str) -> Result<Option<KnowledgeDoc>, StoreError> {
        let txn = self.db.begin_read()?;
        let id = match txn.open_table(KNOWLEDGE_SOURCES)?.get((workspace.as_str(), source))? {
            Some(id) => id.value().to_owned(),
            None => return Ok(None),
        };
        let table = txn.open_table(KNOWLEDGE_DOCS)?;
        let value = table.get((workspace.as_str(), id.as_str()))?;
        value.map(|v| decode("knowledge_docs", v.value())).transpose()
    }

    fn list_knowledge(&self, workspace: &WorkspaceId) -> Result<Vec<KnowledgeDoc>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_DOCS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, "")..(ws, end.as_str()))? {
            out.push(decode("knowledge_docs", entry?.1.value())?);
        }
        Ok(out)
    }

    fn knowledge_chunks(&self, workspace: &WorkspaceId) -> Result<Vec<StoredChunk>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_CHUNKS)?;
        let vectors = txn.open_table(KNOWLEDGE_VECTORS)?;
        let end = upper("");
        let range = (ws, "", 0)..(ws, end.as_str(), 0);
        let mut out = Vec::new();
        for (c, v) in table.range(range.clone())?.zip(vectors.range(range)?) {
            let chunk: Chunk = decode("knowledge_chunks", c?.1.value())?;
            out.push(StoredChunk {
                chunk,
                vector: vector_from(v?.1.value())?,
            });
        }
        Ok(out)
    }

    fn delete_knowledge(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        let found = {
            let mut docs = txn.open_table(KNOWLEDGE_DOCS)?;
            let old = docs
                .remove((ws, id))?
                .map(|v| decode::<KnowledgeDoc>("knowledge_docs", v.value()));
            match old {
                None => false,
                Some(old) => {
                    if let Some(source) = &old?.fields.source {
                        txn.open_table(KNOWLEDGE_SOURCES)?.remove((ws, source.as_str()))?;
                    }
                    txn.open_table(KNOWLEDGE_CHUNKS)?
                        .retain_in((ws, id, 0)..=(ws, id, u32::MAX), |_, _| false)?;
                    txn.open_table(KNOWLEDGE_VECTORS)?
                        .retain_in((ws, id, 0)..=(ws, id, u32::MAX), |_, _| false)?;
                    txn.open_table(KNOWLEDGE_CITATIONS)?
                        .retain_in((ws, id, i64::MIN)..=(ws, id, i64::MAX), |_, _| false)?;
                    true
                }
            }
        };
        txn.commit()?;
        self.chunks.drop_workspace(ws);
        Ok(found)
    }

    fn count_citations(&self, workspace: &WorkspaceId, docs: &[String], day: i64) -> Result<(), StoreError> {
        if docs.is_empty() {
            return Ok(());
        }
        let ws = workspace.as_str();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(KNOWLEDGE_CITATIONS)?;
            for doc in docs {
                let key = (ws, doc.as_str(), day);
                let n = table.get(key)?.map_or(0, |v| v.value());
                table.insert(key, n.saturating_add(1))?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn citations_since(&self, workspace: &WorkspaceId, day: i64) -> Result<Vec<(String, u64)>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_CITATIONS)?;
        let end = upper("");
        let mut out: Vec<(String, u64)> = Vec::new();
        for entry in table.range((ws, "", i64::MIN)..(ws, end.as_str(), i64::MIN))? {
            let (key, count) = entry?;
            let (_, doc, at) = key.value();
            if at < day {
                continue;
            }
            match out.last_mut() {
                Some((last, n)) if last == doc => *n += count.value(),
                _ => out.push((doc.to_owned(), count.value())),
            }
        }
        Ok(out)
    }

    fn add_gap(&self, workspace: &WorkspaceId, gap: &Gap) -> Result<(), StoreError> {
        let id = ulid::Ulid::new().to_string();
        let txn = self.db.begin_write()?;
        txn.open_table(KNOWLEDGE_GAPS)?.insert(
            (workspace.as_str(), gap.at.timestamp_micros(), id.as_str()),
            encode(gap).as_slice(),
        )?;
        txn.commit()?;
        Ok(())
    }

    fn gaps_since(&self, workspace: &WorkspaceId, since: DateTime<Utc>) -> Result<Vec<Gap>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KNOWLEDGE_GAPS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, since.timestamp_micros(), "")..=(ws, i64::MAX, end.as_str()))? {
            out.push(decode("knowledge_gaps", entry?.1.value())?);
        }
        Ok(out)
    }

    fn prune_gaps(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let cut = before.timestamp_micros();
        let txn = self.db.begin_write()?;
        let count = {
            let mut gaps = txn.open_table(KNOWLEDGE_GAPS)?;
            let mut doomed = Vec::new();
            for entry in gaps.iter()? {
                let (key, _) = entry?;
                let (ws, at, id) = key.value();
                if at < cut {
                    doomed.push((ws.to_owned(), at, id.to_owned()));
                }
            }
            for (ws, at, id) in &doomed {
                gaps.remove((ws.as_str(), *at, id.as_str()))?;
            }
            doomed.len()
        };
        txn.commit()?;
        Ok(count)
    }
}

impl RedbStore {
    /// Writes a document and, when given, its chunks, in one transaction.
    fn write_knowledge(&self, doc: &KnowledgeDoc, chunks: Option<&[StoredChunk]>) -> Result<(), StoreError> {
        let (ws, id) = (doc.workspace.as_str(), doc.id.as_str());
        let txn = self.db.begin_write()?;
        {
            let mut docs = txn.open_table(KNOWLEDGE_DOCS)?;
            let mut sources = txn.open_table(KNOWLEDGE_SOURCES)?;
            if let Some(old) = docs.get((ws, id))? {
                let old: KnowledgeDoc = decode("knowledge_docs", old.value())?;
                if let Some(source) = &old.fields.source {
                    sources.remove((ws, source.as_str()))?;
                }
            }
            docs.insert((ws, id), encode(doc).as_slice())?;
            if let Some(source) = &doc.fields.source {
                sources.insert((ws, source.as_str()), id)?;
            }
            let Some(chunks) = chunks else {
                drop((docs, sources));
                txn.commit()?;
                return Ok(());
            };
            let mut table = txn.open_table(KNOWLEDGE_CHUNKS)?;
            let mut vectors = txn.open_table(KNOWLEDGE_VECTORS)?;
            table.retain_in((ws, id, 0)..=(ws, id, u32::MAX), |_, _| false)?;
            vectors.retain_in((ws, id, 0)..=(ws, id, u32::MAX), |_, _| false)?;
            for c in chunks {
                let key = (ws, id, c.chunk.position);
                table.insert(key, encode(&c.chunk).as_slice())?;
                vectors.insert(key, vector_bytes(&c.vector).as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The workspace's chunks with their terms, from the cache or read whole (chunks of a document missing
    /// meanwhile are left out).
    fn cached_chunks(&self, workspace: &WorkspaceId) -> Result<Arc<Vec<ChunkEntry>>, StoreError> {
        let (cached, generation) = self.chunks.get(workspace.as_str());
        if let Some(chunks) = cached {
            return Ok(chunks);
        }
        let docs: HashMap<String, KnowledgeDoc> = self
            .list_knowledge(workspace)?
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        let entries: Vec<ChunkEntry> = self
            .knowledge_chunks(workspace)?
            .into_iter()
            .filter_map(|c| {
                let doc = docs.get(&c.chunk.doc_id)?;
                let terms = chunk_terms(&doc.fields.title, doc.lang(), &c.chunk);
                Some(ChunkEntry::new(c.chunk, c.vector, terms))
            })
            .collect();
        let entries = Arc::new(entries);
        self.chunks.put(workspace.as_str(), Arc::clone(&entries), generation);
        Ok(entries)
    }
}

/// Removes a customer's unanswered questions (part of erasing them).
pub(super) fn erase_gaps(txn: &::redb::WriteTransaction, workspace: &str, customer: &str) -> Result<(), StoreError> {
    let end = upper("");
    let mut gaps = txn.open_table(KNOWLEDGE_GAPS)?;
    let mut doomed = Vec::new();
    for entry in gaps.range((workspace, i64::MIN, "")..=(workspace, i64::MAX, end.as_str()))? {
        let (key, value) = entry?;
        let gap: Gap = decode("knowledge_gaps", value.value())?;
        if gap.customer_id.as_deref() == Some(customer) {
            let (_, at, id) = key.value();
            doomed.push((at, id.to_owned()));
        }
    }
    for (at, id) in doomed {
        gaps.remove((workspace, at, id.as_str()))?;
    }
    Ok(())
}
