//! A question's candidate chunks, chosen in the database with the rule of
//! [`crate::domain::knowledge::candidates`]: the nearest chunks through pgvector's HNSW index of the model's
//! dimension (as memories are searched, see `ranking`), and the chunks matching the most distinct question terms
//! through the GIN index on `terms`. One query returns those rows with their vectors and terms; the rule then
//! runs over them in Rust, so cosines are computed as redb computes them and ties are broken the same way.
//!
//! The keyword part is exact in SQL (a count of matched terms, ties by document id and position, ids in byte
//! order). The vector part reads a margin beyond the rule's number, so that the rule's nearest chunks are among
//! the rows read even where the database's float ordering or the graph's relaxed order differ slightly from
//! Rust's; the HNSW search itself is approximate, as for memories (see README, "The memory index").

use tokio_postgres::types::ToSql;

use super::{record, PgVector, PostgresStore};
use crate::domain::knowledge::candidates::{choose, CandidateQuery, ChunkEntry};
use crate::domain::knowledge::Chunk;
use crate::domain::WorkspaceId;
use crate::store::StoreError;

/// Nearest chunks read for the rule's `dense`: a quarter more, and at least ten more.
fn dense_read(dense: usize) -> usize {
    dense + (dense / 4).max(10)
}

/// The HNSW search breadth for `k` rows: twice as many, within pgvector's limits.
fn ef_search(k: usize) -> usize {
    (2 * k).clamp(40, 1000)
}

impl PostgresStore {
    /// The chunks [`choose`] picks for `query` among the workspace's, by document and position.
    pub(super) fn choose_chunks(
        &self,
        workspace: &WorkspaceId,
        query: &CandidateQuery,
    ) -> Result<Vec<ChunkEntry>, StoreError> {
        if query.vector.is_empty() {
            return Ok(Vec::new());
        }
        let sql = candidates_sql(query);
        let (ws, vector) = (workspace.as_str().to_owned(), PgVector(query.vector.clone()));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ws, &vector, &query.terms];
        if let Some(docs) = &query.docs {
            params.push(docs);
        }
        let entries = self.run(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {}; SET LOCAL hnsw.iterative_scan = relaxed_order",
                ef_search(dense_read(query.dense))
            ))
            .await?;
            let rows = tx.query(&sql, &params).await?;
            tx.commit().await?;
            rows.iter()
                .map(|row| {
                    let vector: PgVector = row.try_get("embedding")?;
                    let terms: Option<Vec<String>> = row.try_get("terms")?;
                    let chunk: Chunk = record(row, "knowledge_chunks")?;
                    Ok(ChunkEntry::new(chunk, vector.0, terms.unwrap_or_default()))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        let chosen = choose(&entries, query);
        let mut entries: Vec<Option<ChunkEntry>> = entries.into_iter().map(Some).collect();
        Ok(chosen
            .into_iter()
            .filter_map(|i| entries.get_mut(i).and_then(Option::take))
            .collect())
    }

    /// The plan PostgreSQL chooses for [`PostgresStore::choose_chunks`] (tests check it uses the HNSW index).
    #[cfg(test)]
    pub(super) fn explain_candidates(&self, workspace: &WorkspaceId, query: &CandidateQuery) -> String {
        let sql = candidates_sql(query);
        let (ws, vector) = (workspace.as_str().to_owned(), PgVector(query.vector.clone()));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&ws, &vector, &query.terms];
        if let Some(docs) = &query.docs {
            params.push(docs);
        }
        self.explain(&sql, &params)
    }
}

/// The query reading the rows the rule chooses among: `$1` the workspace, `$2` the question's vector, `$3` its
/// terms, `$4` the documents when the query names them.
fn candidates_sql(query: &CandidateQuery) -> String {
    // The dimension is the query vector's length (a number), formatted so the partial HNSW index's expression and
    // predicate match (see `schema::ensure_vector_indexes`); the limits are numbers too.
    let dim = query.vector.len();
    let (dense, keyword) = (dense_read(query.dense), query.keyword);
    let docs = if query.docs.is_some() {
        " AND doc_id = ANY($4::text[])"
    } else {
        ""
    };
    format!(
        "WITH dense AS (SELECT doc_id, position FROM knowledge_chunks \
           WHERE workspace = $1 AND vector_dims(embedding) = {dim}{docs} \
           ORDER BY embedding::vector({dim}) <=> $2::vector({dim}) LIMIT {dense}), \
         keyword AS (SELECT doc_id, position FROM knowledge_chunks \
           WHERE workspace = $1 AND terms && $3::text[] AND vector_dims(embedding) = {dim}{docs} \
           ORDER BY (SELECT count(*) FROM unnest($3::text[]) AS q(term) WHERE q.term = ANY(terms)) DESC, \
             doc_id, position LIMIT {keyword}) \
         SELECT c.embedding, c.terms, c.record FROM knowledge_chunks c \
         WHERE c.workspace = $1 AND (c.doc_id, c.position) IN \
           (SELECT doc_id, position FROM dense UNION SELECT doc_id, position FROM keyword)"
    )
}
