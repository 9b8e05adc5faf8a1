//! Versioned schema migrations and the meta table (schema version, embedding model), applied at every open under
//! an advisory lock, so that nodes starting together migrate once.
//!
//! Ids are `COLLATE "C"`: lists page by id in byte order, as on redb, whatever the database's default collation.
//! Rows that belong to a customer reference it `ON DELETE CASCADE`, so erasing a customer is one `DELETE` in one
//! transaction and no table can be forgotten.

use deadpool_postgres::GenericClient;

use crate::store::{ModelStamp, StoreError};

/// The schema this binary writes and reads.
pub const SCHEMA_VERSION: u32 = 6;

/// The advisory lock key held while migrating ("rappel" in ASCII).
const MIGRATION_LOCK: i64 = 0x7261_7070_656c;

/// Every migration, in order: version and SQL. Never edit a released one; add the next.
const MIGRATIONS: &[(u32, &str)] = &[(1, V1), (2, V2), (3, V3), (4, V4), (5, V5), (6, V6)];

/// Drops the memories' HNSW indexes of every dimension (a migration that changes their predicate or links; they
/// are made again by `ensure_vector_indexes`). Migrations 4, 5 and 6 include this text as it is: never edit it.
macro_rules! drop_memory_hnsw_indexes {
    () => {
        r#"DO $$
DECLARE name text;
BEGIN
    FOR name IN SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'memories'
        AND indexname LIKE 'memories\_embedding\_hnsw\_%'
    LOOP
        EXECUTE format('DROP INDEX %I', name);
    END LOOP;
END $$;
"#
    };
}

/// The memories' HNSW graph links each vector to [`MEMORY_GRAPH_LINKS`] neighbours instead of pgvector's 16: the
/// index of the model's dimension is dropped here and made again by `ensure_vector_indexes` with the new links.
const V6: &str = drop_memory_hnsw_indexes!();

/// Memories that share a vector enter the HNSW index once (see sharing.rs): an interaction's typed memories reuse
/// their window's vector, so about three memories in seven repeated a vector already in the graph. A memory
/// written with the same vector as another of the same write names that one, its `vector_owner`, and stays out
/// of the graph; the owner carries its sharers' kinds and latest observation time, so a filtered search walking
/// the graph keeps an owner when one of its sharers passes. The memories' HNSW index leaves out sharers (its
/// predicate changes, so the index of the model's dimension is dropped here and made again by
/// `ensure_vector_indexes`). Rows written before stay their own owners.
const V5: &str = concat!(
    r#"
ALTER TABLE memories ADD COLUMN vector_owner text COLLATE "C";
ALTER TABLE memories ADD COLUMN sharer_kinds text[];
ALTER TABLE memories ADD COLUMN sharers_latest timestamptz;
CREATE INDEX memories_vector_owner ON memories (workspace, customer_id, vector_owner) WHERE vector_owner IS NOT NULL;
"#,
    drop_memory_hnsw_indexes!()
);

/// A memory written online is `pending` until the indexer (see indexer.rs) puts it in the HNSW index: inserting
/// into the graph is most of an ingest's time in the database and grows with the graph, so the ingest's
/// transaction only marks the row. The HNSW index covers the rows that are not pending (its predicate changes,
/// so the index of the model's dimension is dropped here and made again by `ensure_vector_indexes`); a search
/// scans the few pending rows exactly beside it. The memory version moves only with a memory's content, not
/// when the indexer clears the flag, so nodes keep their cached memories through it.
const V4: &str = concat!(
    r#"
ALTER TABLE memories ADD COLUMN pending boolean NOT NULL DEFAULT false;
CREATE INDEX memories_pending ON memories (workspace) WHERE pending;
"#,
    drop_memory_hnsw_indexes!(),
    r#"DROP TRIGGER memories_version ON memories;
CREATE TRIGGER memories_version
    AFTER INSERT OR DELETE OR UPDATE OF workspace, customer_id, id, text_config, embedding, record ON memories
    FOR EACH ROW EXECUTE FUNCTION rappel_bump_memory_version();
"#
);

/// A chunk's keyword terms (Rappel's own, `domain::text::terms` of its indexed text in its document's language,
/// every occurrence), so that a question's keyword candidates are chosen in the database (`terms && $1` through
/// the GIN index) with the rule redb applies in memory. Written with every chunk; rows written before are filled
/// in by `knowledge::backfill_terms` as the migration applies.
const V3: &str = r#"
ALTER TABLE knowledge_chunks ADD COLUMN terms text[];
CREATE INDEX knowledge_chunks_terms ON knowledge_chunks USING gin (terms);
"#;

/// A scheduled time records whether its run finished and how many nodes took it: a node that holds the job's
/// lease and finds a taken time not finished runs it again (its taker stopped mid-run; see jobs.rs).
const V2: &str = r#"
ALTER TABLE job_schedules ADD COLUMN attempts integer NOT NULL DEFAULT 1;
ALTER TABLE job_schedules ADD COLUMN finished_at timestamptz;
UPDATE job_schedules SET finished_at = due;
"#;

const V1: &str = r#"
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE rappel_meta (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE workspaces (
    id text COLLATE "C" PRIMARY KEY,
    record jsonb NOT NULL
);

CREATE TABLE api_keys (
    hash text COLLATE "C" PRIMARY KEY,
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    CONSTRAINT api_keys_id UNIQUE (workspace, id)
);

CREATE TABLE customers (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    updated_at timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id),
    CONSTRAINT customers_external_id UNIQUE (workspace, external_id)
);

CREATE TABLE preferences (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);

CREATE TABLE preference_history (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id, seq),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);

CREATE TABLE interactions (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    opened_at timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id, id),
    CONSTRAINT interactions_external_id UNIQUE (workspace, customer_id, external_id),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);

-- One support-metrics fact per interaction (domain::support_metrics::Fact), rewritten with it.
CREATE TABLE interaction_facts (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    interaction_id text COLLATE "C" NOT NULL,
    opened_at timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id, interaction_id),
    FOREIGN KEY (workspace, customer_id, interaction_id) REFERENCES interactions ON DELETE CASCADE
);
CREATE INDEX interaction_facts_opened ON interaction_facts (workspace, opened_at);

-- The vector column has no fixed dimension: the HNSW index, made once the model is known, is partial on the
-- model's dimension and casts to it (see ensure_vector_indexes), so vectors of two models can live side by side
-- while a re-embedding runs.
CREATE TABLE memories (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    text_config regconfig NOT NULL,
    text_search tsvector GENERATED ALWAYS AS (to_tsvector(text_config, coalesce(record->>'text', ''))) STORED,
    embedding vector NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id, id),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);
CREATE INDEX memories_text_search ON memories USING gin (text_search);
-- Moves with every change of a customer's memories (by the trigger below, whatever writes them): a node keeps
-- recently used customers' memories in memory and reads them again when it moved (another node wrote). No
-- foreign key: an erasure's cascade fires the trigger while the customer goes; the erasure deletes the row.
CREATE TABLE memory_versions (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (workspace, customer_id)
);
CREATE FUNCTION rappel_bump_memory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO memory_versions AS v (workspace, customer_id, version) VALUES (OLD.workspace, OLD.customer_id, 1)
            ON CONFLICT (workspace, customer_id) DO UPDATE SET version = v.version + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (NEW.workspace, NEW.customer_id) <> (OLD.workspace, OLD.customer_id)) THEN
        INSERT INTO memory_versions AS v (workspace, customer_id, version) VALUES (NEW.workspace, NEW.customer_id, 1)
            ON CONFLICT (workspace, customer_id) DO UPDATE SET version = v.version + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_version AFTER INSERT OR UPDATE OR DELETE ON memories
    FOR EACH ROW EXECUTE FUNCTION rappel_bump_memory_version();

CREATE TABLE outreach (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    state text NOT NULL,
    priority smallint NOT NULL,
    not_before timestamptz NOT NULL,
    lease_until timestamptz,
    sent_at timestamptz,
    created_at timestamptz NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);
-- Queued items in the order they are handed out; claimed items by the end of their lease.
CREATE INDEX outreach_due ON outreach (workspace, priority DESC, not_before, id) WHERE state = 'queued';
CREATE INDEX outreach_leased ON outreach (workspace, lease_until) WHERE state = 'claimed';
CREATE INDEX outreach_by_customer ON outreach (workspace, customer_id);

-- The last item queued under a de-duplication key.
CREATE TABLE outreach_dedupe (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    item_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace, customer_id, key),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);

CREATE TABLE health (
    workspace text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C" NOT NULL,
    computed_at_us bigint NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, customer_id, computed_at_us),
    FOREIGN KEY (workspace, customer_id) REFERENCES customers ON DELETE CASCADE
);

-- Each scheduled time a node took for a job: the primary key lets one node take it (see jobs.rs); rows older
-- than a week are deleted as new ones are taken.
CREATE TABLE job_schedules (
    workspace text COLLATE "C" NOT NULL,
    job_id text COLLATE "C" NOT NULL,
    due timestamptz NOT NULL,
    PRIMARY KEY (workspace, job_id, due)
);
-- Run records list matched customers (ids, external ids): erasure rewrites them (see jobs.rs).
CREATE TABLE job_runs (
    workspace text COLLATE "C" NOT NULL,
    job_id text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, job_id, id)
);
CREATE TABLE job_definitions (
    id text COLLATE "C" PRIMARY KEY,
    record jsonb NOT NULL
);

-- Whole records by workspace and id (see records.rs).
CREATE TABLE incidents (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id)
);
CREATE TABLE teams (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id)
);
CREATE TABLE campaigns (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id)
);

CREATE TABLE knowledge_docs (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id)
);
-- The document imported from a source: re-importing it replaces that document.
CREATE TABLE knowledge_sources (
    workspace text COLLATE "C" NOT NULL,
    source text COLLATE "C" NOT NULL,
    doc_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace, source),
    FOREIGN KEY (workspace, doc_id) REFERENCES knowledge_docs ON DELETE CASCADE
);
CREATE INDEX knowledge_sources_doc ON knowledge_sources (workspace, doc_id);
-- Vectors are indexed like memories' (see ensure_vector_indexes); the searched text is the chunk with its
-- document's title and headings, in the document's language.
CREATE TABLE knowledge_chunks (
    workspace text COLLATE "C" NOT NULL,
    doc_id text COLLATE "C" NOT NULL,
    position integer NOT NULL,
    text_config regconfig NOT NULL,
    search_text text NOT NULL,
    text_search tsvector GENERATED ALWAYS AS (to_tsvector(text_config, search_text)) STORED,
    embedding vector NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, doc_id, position),
    FOREIGN KEY (workspace, doc_id) REFERENCES knowledge_docs ON DELETE CASCADE
);
CREATE INDEX knowledge_chunks_text_search ON knowledge_chunks USING gin (text_search);
-- Bumped by every change of a workspace's documents or chunks: nodes keep the chunks in memory and reload them
-- when it moves (another node changed them).
CREATE TABLE knowledge_versions (
    workspace text COLLATE "C" PRIMARY KEY,
    version bigint NOT NULL
);
-- The last citation label number given in a workspace.
CREATE TABLE knowledge_labels (
    workspace text COLLATE "C" PRIMARY KEY,
    last bigint NOT NULL
);
CREATE TABLE knowledge_citations (
    workspace text COLLATE "C" NOT NULL,
    doc_id text COLLATE "C" NOT NULL,
    day bigint NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (workspace, doc_id, day)
);
-- Questions no chunk answered well; the asking customer's are erased with them (see customers.rs: the customer
-- may be unknown, so there is no foreign key).
CREATE TABLE knowledge_gaps (
    workspace text COLLATE "C" NOT NULL,
    at_us bigint NOT NULL,
    id text COLLATE "C" NOT NULL,
    customer_id text COLLATE "C",
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, at_us, id)
);
CREATE INDEX knowledge_gaps_customer ON knowledge_gaps (workspace, customer_id);
CREATE INDEX knowledge_gaps_at ON knowledge_gaps (at_us);

-- Append-only; entries hold no personal data, so erasure keeps them.
CREATE TABLE audit_log (
    workspace text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record jsonb NOT NULL,
    PRIMARY KEY (workspace, id)
);
"#;

/// Meta keys, as on redb.
const SCHEMA_KEY: &str = "schema_version";
pub(super) const MODEL_KEY: &str = "embedding_model";
pub(super) const DIM_KEY: &str = "embedding_dim";
pub(super) const REEMBED_TARGET: &str = "reembed_target";
pub(super) const REEMBED_DIM: &str = "reembed_dim";
pub(super) const REEMBED_CURSOR: &str = "reembed_cursor";
pub(super) const REEMBED_DONE: &str = "reembed_done";

/// The schema version recorded in the database (0 for an empty one).
async fn schema_version(client: &impl GenericClient) -> Result<u32, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('rappel_meta') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(0);
    }
    match meta(client, SCHEMA_KEY).await? {
        None => Ok(0),
        Some(v) => v.parse().map_err(|e: std::num::ParseIntError| StoreError::Corrupt {
            table: "rappel_meta",
            reason: format!("schema_version {v:?}: {e}"),
        }),
    }
}

pub(super) async fn meta(client: &impl GenericClient, key: &str) -> Result<Option<String>, StoreError> {
    let row = client
        .query_opt("SELECT value FROM rappel_meta WHERE key = $1", &[&key])
        .await?;
    Ok(row.map(|r| r.get(0)))
}

pub(super) async fn set_meta(client: &impl GenericClient, key: &str, value: &str) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO rappel_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
            &[&key, &value],
        )
        .await?;
    Ok(())
}

/// Refuses a database of a newer schema (before writing anything), applies the missing migrations, then checks
/// or records the model, all in one transaction.
pub(super) async fn migrate(
    client: &mut deadpool_postgres::Object,
    model: Option<&ModelStamp>,
) -> Result<(), StoreError> {
    let txn = client.transaction().await?;
    // Building an index over a large table, or waiting for another node's migration, may take longer than a
    // statement may: no timeout in this transaction.
    txn.batch_execute("SET LOCAL statement_timeout = 0").await?;
    txn.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let found = schema_version(&txn).await?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (version, sql) in MIGRATIONS {
        if *version > found {
            txn.batch_execute(sql).await?;
            set_meta(&txn, SCHEMA_KEY, &version.to_string()).await?;
        }
    }
    if found < 3 {
        super::knowledge::backfill_terms(&txn).await?;
    }
    if let Some(model) = model {
        check_model(&txn, model).await?;
        if (1..5).contains(&found) {
            // Schemas 4 and 5 dropped the memories' HNSW index to build it again over the rows that are not
            // pending and own their vector.
            room_for_the_graph(&txn, model.dim).await?;
        }
        ensure_vector_indexes(&txn, model.dim).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The same refusals as redb's: an unfinished re-embedding, or vectors of another model.
async fn check_model(client: &impl GenericClient, model: &ModelStamp) -> Result<(), StoreError> {
    if let Some(target) = meta(client, REEMBED_TARGET).await? {
        let done = meta(client, REEMBED_DONE)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        return Err(StoreError::ReembedUnfinished { target, done });
    }
    let stored_model = meta(client, MODEL_KEY).await?;
    let stored_dim = meta(client, DIM_KEY).await?.and_then(|v| v.parse::<usize>().ok());
    match (stored_model, stored_dim) {
        (Some(stored_model), Some(stored_dim)) if stored_dim != model.dim || stored_model != model.name => {
            Err(StoreError::EmbeddingMismatch {
                stored_model,
                stored_dim,
                model: model.name.clone(),
                dim: model.dim,
            })
        }
        (Some(_), Some(_)) => Ok(()),
        _ => {
            set_meta(client, MODEL_KEY, &model.name).await?;
            set_meta(client, DIM_KEY, &model.dim.to_string()).await
        }
    }
}

/// The tables with an `embedding` column.
const VECTOR_TABLES: [&str; 2] = ["memories", "knowledge_chunks"];

/// Neighbours per vector in the memories' HNSW graph (pgvector's `m`; 16 by default, twice that on the bottom
/// layer). An insert updates the lists of the neighbours it links to, and each update weighs a full list again, so
/// its cost grows faster than the links. On a million vectors, `scripts/hnsw-insert-cost.sh` measured an insert at
/// 1.21 ms with 12 against 1.67 ms with 16, and `rappel bench --postgres` the indexer's at 2.1-2.2 ms against 2.35;
/// recall@10 against exact search did not fall in either (README, "Several nodes on PostgreSQL"). The memories'
/// graph takes an insert for each new memory (see indexer.rs); the chunks' graph, written at imports, keeps
/// pgvector's default.
pub(super) const MEMORY_GRAPH_LINKS: u32 = 12;

/// The HNSW indexes of memory and chunk vectors for the model's dimension (cosine distance: vectors are unit
/// length), named `<table>_embedding_hnsw_<dim>`. A query uses one when it casts to the dimension and filters on
/// it, as the index's expression and predicate do; the memories' index leaves out pending rows (see [`V4`]) and
/// rows that share another's vector (see [`V5`]), and links [`MEMORY_GRAPH_LINKS`] neighbours (see [`V6`]).
pub(super) async fn ensure_vector_indexes(client: &impl GenericClient, dim: usize) -> Result<(), StoreError> {
    for table in VECTOR_TABLES {
        let (with, pending) = if table == "memories" {
            (
                format!(" WITH (m = {MEMORY_GRAPH_LINKS})"),
                " AND NOT pending AND vector_owner IS NULL",
            )
        } else {
            (String::new(), "")
        };
        // The dimension is a number from the model, the table and links constants: formatting them into DDL is
        // safe.
        let sql = format!(
            "CREATE INDEX IF NOT EXISTS {table}_embedding_hnsw_{dim} ON {table} \
             USING hnsw ((embedding::vector({dim})) vector_cosine_ops){with} \
             WHERE vector_dims(embedding) = {dim}{pending}"
        );
        client.batch_execute(&sql).await?;
    }
    Ok(())
}

/// The memories' HNSW index of the model's dimension, as [`ensure_vector_indexes`] names it.
fn memory_index(dim: usize) -> String {
    format!("memories_embedding_hnsw_{dim}")
}

/// Drops the memories' HNSW index of the model's dimension, if any (before a bulk load).
pub(super) async fn drop_memory_vector_index(client: &impl GenericClient) -> Result<(), StoreError> {
    if let Some(model) = model_stamp(client).await? {
        client
            .batch_execute(&format!("DROP INDEX IF EXISTS {}", memory_index(model.dim)))
            .await?;
    }
    Ok(())
}

/// Most memory a bulk index build asks for (pgvector builds fastest when the whole graph fits in it).
const MAX_BUILD_MIB: f64 = 4096.0;

/// After a bulk load: statistics first (the row count sizes the build), then the vector indexes `open` makes,
/// built with room for the graph: about the vector and 1 KiB of neighbour lists per memory, up to
/// [`MAX_BUILD_MIB`], never less than the server's own `maintenance_work_mem`. The build runs on the server's
/// `max_parallel_maintenance_workers` (2 by default) beside the leader.
pub(super) async fn build_vector_indexes(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let Some(model) = model_stamp(&*client).await? else {
        return Ok(());
    };
    let txn = client.transaction().await?;
    // Building an index over a large table takes longer than a statement may.
    txn.batch_execute("SET LOCAL statement_timeout = 0").await?;
    room_for_the_graph(&txn, model.dim).await?;
    ensure_vector_indexes(&txn, model.dim).await?;
    txn.commit().await?;
    Ok(())
}

/// Sizes the transaction's `maintenance_work_mem` for building the memories' HNSW index (see
/// [`build_vector_indexes`]), after `ANALYZE` has counted the rows.
async fn room_for_the_graph(txn: &impl GenericClient, dim: usize) -> Result<(), StoreError> {
    txn.batch_execute("ANALYZE memories").await?;
    let row = txn
        .query_one(
            "SELECT greatest(reltuples, 0)::float8, \
             pg_size_bytes(current_setting('maintenance_work_mem'))::float8 / 1048576 \
             FROM pg_class WHERE oid = 'memories'::regclass",
            &[],
        )
        .await?;
    let (rows, current): (f64, f64) = (row.get(0), row.get(1));
    let wanted = rows * (4.0 * dim as f64 + 1024.0) / 1048576.0;
    let mib = wanted.min(MAX_BUILD_MIB).max(current).ceil() as u64;
    txn.batch_execute(&format!("SET LOCAL maintenance_work_mem = '{mib}MB'"))
        .await?;
    Ok(())
}

/// Drops the HNSW indexes of every dimension but `dim` (after a re-embedding to another model).
pub(super) async fn drop_other_vector_indexes(client: &impl GenericClient, dim: usize) -> Result<(), StoreError> {
    for table in VECTOR_TABLES {
        let rows = client
            .query(
                "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 \
                 AND indexname LIKE $1 || '\\_embedding\\_hnsw\\_%' AND indexname <> $1 || '_embedding_hnsw_' || $2",
                &[&table, &dim.to_string()],
            )
            .await?;
        for row in &rows {
            let name: String = row.get(0);
            // Names come from the catalogue and match the pattern above: quoting makes them plain identifiers.
            client.batch_execute(&format!("DROP INDEX \"{name}\"")).await?;
        }
    }
    Ok(())
}

/// The embedding model recorded in the database.
pub(super) async fn model_stamp(client: &impl GenericClient) -> Result<Option<ModelStamp>, StoreError> {
    let name = meta(client, MODEL_KEY).await?;
    let dim = meta(client, DIM_KEY).await?.and_then(|v| v.parse().ok());
    Ok(name.zip(dim).map(|(name, dim)| ModelStamp { name, dim }))
}
