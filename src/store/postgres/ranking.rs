//! Ranking in the database: [`PgIndex`] is the [`VectorIndex`] of a PostgreSQL store. The memories' rows already
//! hold their vectors, so writes to the index are no-ops and a search is one query on pgvector's HNSW index of the
//! model's dimension, with an exact scan of the memories the indexer has not put in it yet (see indexer.rs): no
//! node keeps a copy of the vectors, and a node starts in the same time whatever the size.
//!
//! The HNSW indexes are partial expression indexes (`(embedding::vector(DIM))` where `vector_dims(embedding) =
//! DIM`, see `schema::ensure_vector_indexes`), so a query uses one only when it casts to the dimension and filters
//! on it with the same constant: the dimension is formatted into the SQL, never bound as a parameter. Filtered
//! searches (kinds, time, customers) use pgvector's iterative scan, which keeps walking the graph until enough rows
//! pass the filter; its `relaxed_order` may return rows slightly out of order, so results are re-sorted here.

use std::sync::Arc;

use tokio_postgres::types::ToSql;

use super::{PgVector, PostgresStore};
use crate::domain::text::Lang;
use crate::domain::{CustomerId, WorkspaceId};
use crate::index::{IndexError, IndexStats, Neighbour, Point, SearchFilter, VectorIndex};
use crate::store::{MemoryRepo, StoreError};

/// The HNSW search breadth: at least pgvector's default, at most its limit.
fn ef_search(k: usize) -> usize {
    k.clamp(40, 1000)
}

/// The vector index of a PostgreSQL store: searches run in the database.
pub struct PgIndex {
    store: Arc<PostgresStore>,
    dim: usize,
}

impl std::fmt::Debug for PgIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgIndex").field("dim", &self.dim).finish()
    }
}

impl PostgresStore {
    /// The index of this store's memories for vectors of `dim` dimensions (the model's).
    pub fn index(self: &Arc<Self>, dim: usize) -> PgIndex {
        PgIndex {
            store: Arc::clone(self),
            dim,
        }
    }
}

/// The `WHERE` clause of a memory search and its parameters, numbered after the ones the caller binds first.
struct Clause {
    sql: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Clause {
    fn new(workspace: &WorkspaceId, first: usize) -> Self {
        let mut clause = Self {
            sql: String::new(),
            params: Vec::new(),
        };
        clause.push("workspace = ", Box::new(workspace.as_str().to_owned()), first);
        clause
    }

    /// Adds `AND <sql>$n` with the next parameter number (after `first - 1` bound before).
    fn push(&mut self, sql: &str, param: Box<dyn ToSql + Sync + Send>, first: usize) {
        let n = first + self.params.len();
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(sql);
        self.sql.push_str(&format!("${n}"));
        self.params.push(param);
    }

    /// The search filter's conditions (kinds and times are in the record; customers are a column).
    fn filter(mut self, filter: &SearchFilter, first: usize) -> Self {
        if let Some(kinds) = &filter.kinds {
            let names: Vec<String> = kinds
                .iter()
                .filter_map(|k| serde_json::to_value(k).ok()?.as_str().map(str::to_owned))
                .collect();
            self.push("record->>'kind' = ANY(", Box::new(names), first);
            self.sql.push_str("::text[])");
        }
        if let Some(since) = filter.since {
            self.push("(record->>'observed_at')::timestamptz >= ", Box::new(since), first);
        }
        if let Some(customers) = &filter.customers {
            let ids: Vec<String> = customers.iter().map(|c| c.as_str().to_owned()).collect();
            self.push("customer_id = ANY(", Box::new(ids), first);
            self.sql.push_str("::text[])");
        }
        self
    }
}

impl PgIndex {
    /// The `k` memories nearest `query` among those the filter keeps, best first (ties by customer and id), the
    /// ones still pending for the indexer included.
    pub fn search(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Vec<Neighbour>, StoreError> {
        if k == 0 || query.len() != self.dim {
            return Ok(Vec::new());
        }
        let (sql, clause) = self.nearest_sql(workspace, k, filter);
        let q = PgVector(query.to_vec());
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q];
        params.extend(clause.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)));
        let store = &self.store;
        let mut found = store.run(async {
            let mut client = store.client().await?;
            let tx = client.transaction().await?;
            tx.batch_execute(&format!(
                "SET LOCAL hnsw.ef_search = {}; SET LOCAL hnsw.iterative_scan = relaxed_order",
                ef_search(k)
            ))
            .await?;
            let rows = tx.query(&sql, &params).await?;
            tx.commit().await?;
            rows.iter()
                .map(|r| {
                    Ok(Neighbour {
                        customer: CustomerId::from_client(r.try_get::<_, &str>(0)?),
                        id: r.try_get(1)?,
                        similarity: r.try_get::<_, f64>(2)? as f32,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        found.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.customer.as_str().cmp(b.customer.as_str()))
                .then_with(|| a.id.cmp(&b.id))
        });
        found.truncate(k);
        Ok(found)
    }

    /// The query of [`PgIndex::search`] (the vector is `$1`) and its filter's parameters: the `k` nearest through
    /// the HNSW index, and the `k` nearest of the rows still pending for the indexer, scanned exactly (see
    /// indexer.rs; there are few, found through their partial index). The caller keeps the best.
    fn nearest_sql(&self, workspace: &WorkspaceId, k: usize, filter: &SearchFilter) -> (String, Clause) {
        let dim = self.dim;
        let clause = Clause::new(workspace, 2).filter(filter, 2);
        // The dimension is the model's (a number), formatted so the partial index's predicate matches.
        let nearest = |pending: &str| {
            format!(
                "(SELECT customer_id, id, 1 - (embedding::vector({dim}) <=> $1::vector({dim})) AS similarity \
                 FROM memories WHERE vector_dims(embedding) = {dim} AND {pending} AND {} \
                 ORDER BY embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {k})",
                clause.sql
            )
        };
        let sql = format!("{} UNION ALL {}", nearest("NOT pending"), nearest("pending"));
        (sql, clause)
    }

    /// The plan PostgreSQL chooses for [`PgIndex::search`] (tests check it uses the HNSW index).
    #[cfg(test)]
    pub(super) fn explain_search(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> String {
        let (sql, clause) = self.nearest_sql(workspace, k, filter);
        let q = PgVector(query.to_vec());
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&q];
        params.extend(clause.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)));
        self.store.explain(&sql, &params)
    }

    /// Up to `k` memories whose text matches `query` by PostgreSQL full-text search, best first: the query is
    /// parsed in both the English and the French configurations (memories are indexed in their own language), and
    /// matches ranked by `ts_rank_cd`. Keyword candidates for a search, beside [`PgIndex::search`]'s.
    pub fn keyword_search(
        &self,
        workspace: &WorkspaceId,
        query: &str,
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Vec<Neighbour>, StoreError> {
        if k == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let (en, fr) = (
            super::memories::text_config(Lang::En),
            super::memories::text_config(Lang::Fr),
        );
        let clause = Clause::new(workspace, 2).filter(filter, 2);
        let sql = format!(
            "WITH q AS (SELECT websearch_to_tsquery('{en}', $1) || websearch_to_tsquery('{fr}', $1) AS q) \
             SELECT customer_id, id, ts_rank_cd(text_search, q.q)::float8 AS rank FROM memories, q \
             WHERE text_search @@ q.q AND {} ORDER BY rank DESC, customer_id, id LIMIT {k}",
            clause.sql
        );
        let text = query.to_owned();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&text];
        params.extend(clause.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)));
        let store = &self.store;
        store.run(async {
            let rows = store.client().await?.query(&sql, &params).await?;
            rows.iter()
                .map(|r| {
                    Ok(Neighbour {
                        customer: CustomerId::from_client(r.try_get::<_, &str>(0)?),
                        id: r.try_get(1)?,
                        similarity: r.try_get::<_, f64>(2)? as f32,
                    })
                })
                .collect()
        })
    }
}

impl VectorIndex for PgIndex {
    fn nearest(
        &self,
        workspace: &WorkspaceId,
        query: &[f32],
        k: usize,
        filter: &SearchFilter,
    ) -> Result<Option<Vec<Neighbour>>, IndexError> {
        self.search(workspace, query, k, filter)
            .map(Some)
            .map_err(|e| IndexError::Search(e.to_string()))
    }

    /// The store wrote the vectors with the memories.
    fn upsert(&self, _: &WorkspaceId, _: &[Point<'_>]) -> Result<(), IndexError> {
        Ok(())
    }

    /// The store deleted the row.
    fn remove(&self, _: &WorkspaceId, _: &CustomerId, _: &str) -> Result<(), IndexError> {
        Ok(())
    }

    /// The store's erasure deleted the rows.
    fn remove_customer(&self, _: &WorkspaceId, _: &CustomerId) -> Result<(), IndexError> {
        Ok(())
    }

    fn persist(&self) -> Result<(), IndexError> {
        Ok(())
    }

    /// Counted by the database on a thread of its own, so a caller on an async worker does not block the store's
    /// runtime from inside (the counts are for benchmarks and logs; an error logs and counts nothing).
    fn stats(&self) -> IndexStats {
        IndexStats {
            memories: self.counted("memories", PostgresStore::count_memories),
            graph_bytes: 0,
            ready: true,
            pending: self.pending(),
        }
    }

    /// Counted through the partial index of pending rows, as [`PgIndex::stats`] counts.
    fn pending(&self) -> usize {
        self.counted("pending memories", PostgresStore::pending_memories)
    }
}

impl PgIndex {
    /// `count` of the store, on a thread of its own (see [`PgIndex::stats`]); 0, logged, when it fails.
    fn counted(&self, what: &str, count: fn(&PostgresStore) -> Result<u64, StoreError>) -> usize {
        let store = Arc::clone(&self.store);
        match std::thread::scope(|s| s.spawn(|| count(&store)).join()) {
            Ok(Ok(n)) => usize::try_from(n).unwrap_or(usize::MAX),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "counting the {what} failed");
                0
            }
            Err(_) => 0,
        }
    }
}
