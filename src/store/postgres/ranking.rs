//! Ranking in the database: [`PgIndex`] is the [`VectorIndex`] of a PostgreSQL store. The memories' rows already
//! hold their vectors, so writes to the index are no-ops and a search is one query on pgvector's HNSW index of the
//! model's dimension, with an exact scan of the memories the indexer has not put in it yet (see indexer.rs): no
//! node keeps a copy of the vectors, and a node starts in the same time whatever the size. Memories that share a
//! vector are in the graph once, through its owner (see sharing.rs): a search finds owners, then the memories
//! sharing their vectors.
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

/// One condition of a search filter, with the number of its parameter.
enum Condition {
    Kinds(usize),
    Since(usize),
    Customers(usize),
}

/// The `WHERE` clause of a memory search and its parameters, numbered after the ones the caller binds first.
struct Clause {
    /// The workspace's parameter number.
    workspace: usize,
    conditions: Vec<Condition>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Clause {
    /// The clause of `filter` in `workspace`, its parameters numbered from `first`.
    fn new(workspace: &WorkspaceId, filter: &SearchFilter, first: usize) -> Self {
        let mut clause = Self {
            workspace: first,
            conditions: Vec::new(),
            params: vec![Box::new(workspace.as_str().to_owned())],
        };
        // Kinds and times are in the record; customers are a column.
        if let Some(kinds) = &filter.kinds {
            let names: Vec<String> = kinds
                .iter()
                .filter_map(|k| serde_json::to_value(k).ok()?.as_str().map(str::to_owned))
                .collect();
            clause.push(Condition::Kinds, Box::new(names));
        }
        if let Some(since) = filter.since {
            clause.push(Condition::Since, Box::new(since));
        }
        if let Some(customers) = &filter.customers {
            let ids: Vec<String> = customers.iter().map(|c| c.as_str().to_owned()).collect();
            clause.push(Condition::Customers, Box::new(ids));
        }
        clause
    }

    /// Adds a condition on the next parameter.
    fn push(&mut self, condition: fn(usize) -> Condition, param: Box<dyn ToSql + Sync + Send>) {
        self.conditions.push(condition(self.workspace + self.params.len()));
        self.params.push(param);
    }

    /// The conditions on a memory's own row, whose columns are named after `alias` (`"m."`, or `""`).
    fn exact(&self, alias: &str) -> String {
        self.render(alias, |_, own| own)
    }

    /// The conditions on the owner of a vector (see sharing.rs): it passes when it or one of the memories that
    /// share its vector passes.
    fn owner(&self) -> String {
        self.render("", |condition, own| match condition {
            Condition::Kinds(n) => format!("({own} OR sharer_kinds && ${n}::text[])"),
            Condition::Since(n) => format!("({own} OR sharers_latest >= ${n})"),
            Condition::Customers(_) => own,
        })
    }

    /// The workspace and every condition, each as `form` makes it from the condition on a row's own columns
    /// (named after `alias`).
    fn render(&self, alias: &str, form: impl Fn(&Condition, String) -> String) -> String {
        let mut sql = format!("{alias}workspace = ${}", self.workspace);
        for condition in &self.conditions {
            let own = match condition {
                Condition::Kinds(n) => format!("{alias}record->>'kind' = ANY(${n}::text[])"),
                Condition::Since(n) => format!("({alias}record->>'observed_at')::timestamptz >= ${n}"),
                Condition::Customers(n) => format!("{alias}customer_id = ANY(${n}::text[])"),
            };
            sql.push_str(" AND ");
            sql.push_str(&form(condition, own));
        }
        sql
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

    /// The query of [`PgIndex::search`] (the vector is `$1`) and its filter's parameters: the `k` nearest owners of
    /// vectors through the HNSW index, and the `k` nearest of the owners still pending for the indexer, scanned
    /// exactly (see indexer.rs; there are few, found through their partial index), each kept when it or a memory
    /// sharing its vector passes the filter (see sharing.rs); then those owners and the memories sharing their
    /// vectors that pass it, at their owners' similarity. The caller keeps the best.
    fn nearest_sql(&self, workspace: &WorkspaceId, k: usize, filter: &SearchFilter) -> (String, Clause) {
        let dim = self.dim;
        let clause = Clause::new(workspace, filter, 2);
        let owner = clause.owner();
        // The dimension is the model's (a number), formatted so the partial index's predicate matches.
        let nearest = |pending: &str| {
            format!(
                "(SELECT workspace, customer_id, id, record, \
                 1 - (embedding::vector({dim}) <=> $1::vector({dim})) AS similarity \
                 FROM memories WHERE vector_dims(embedding) = {dim} AND {pending} AND vector_owner IS NULL \
                 AND {owner} ORDER BY embedding::vector({dim}) <=> $1::vector({dim}) LIMIT {k})"
            )
        };
        let sql = format!(
            "WITH o AS ({} UNION ALL {}) \
             SELECT o.customer_id, o.id, o.similarity FROM o WHERE {} \
             UNION ALL SELECT m.customer_id, m.id, o.similarity FROM o JOIN memories m \
             ON m.workspace = o.workspace AND m.customer_id = o.customer_id AND m.vector_owner = o.id WHERE {}",
            nearest("NOT pending"),
            nearest("pending"),
            clause.exact("o."),
            clause.exact("m.")
        );
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
        let clause = Clause::new(workspace, filter, 2);
        let sql = format!(
            "WITH q AS (SELECT websearch_to_tsquery('{en}', $1) || websearch_to_tsquery('{fr}', $1) AS q) \
             SELECT customer_id, id, ts_rank_cd(text_search, q.q)::float8 AS rank FROM memories, q \
             WHERE text_search @@ q.q AND {} ORDER BY rank DESC, customer_id, id LIMIT {k}",
            clause.exact("")
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
