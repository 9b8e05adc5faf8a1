//! `rappel bench --postgres URL`: the figures that size a deployment, on redb and on PostgreSQL in one run, so
//! they compare on the same machine and model. PostgreSQL is measured with one node, then with three nodes on
//! the same database (three sets of services in this process, each with its own pools, as three processes
//! would have; they share this process's model and cores).
//!
//! First, one-client ingest on redb and on PostgreSQL in alternate rounds, on new stores of their own (the figure
//! the machine's drift blurs most). Then per store: one-client ingest on the new store, a store of `--memories`
//! memories built in bulk, ingest messages/s on it through the real path (one client sending to the nodes in turn,
//! then four spread over the nodes), context and recall p50/p99 for customers with 100 and 2,000 memories,
//! cross-customer search p50/p99, claim/ack items/s with four senders, and the time a node takes to start on the
//! built store. Last, one-client ingest in alternate rounds again, on the two built stores: ingest into a large
//! store is compared with ingest into a store of the same size. The PostgreSQL server named by the URL gets new
//! databases for the run, dropped at the end.

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;

use super::bench::{
    build_store, index_recall, ingest, ingest_quietly, interactions, latency, percent, search, until_indexed,
    BuildTimes, IngestRate,
};
use super::bench_proactive::{drain_with_four_senders, queue_one_each};
use crate::config::{Settings, StoreSetting};
use crate::domain::preferences::{Channel, Consent, Preferences};
use crate::domain::{Customer, CustomerFields, WorkspaceId};
use crate::embed::Embedder;
use crate::service::across::SEARCH_CANDIDATES;
use crate::service::clock::SystemClock;
use crate::service::{operator, Services};
use crate::startup::{load_embedder, services};

/// Items queued for the claim/ack measurement.
const CLAIM_ITEMS: usize = 1_000;

/// One column of the table.
#[derive(Default)]
struct Column {
    name: String,
    /// Messages/s with one client on a new store (none for a column that starts on a store another built).
    ingest_new: Option<IngestRate>,
    /// Messages/s with one client on the built store, sending to the nodes in turn.
    ingest: IngestRate,
    /// Messages/s with four clients spread over the nodes on the built store: until the last answer, and until
    /// every memory was in the vector index.
    ingest4: (f64, f64),
    /// Seconds to build the store in bulk: customers and memories written, then the vector index built after
    /// them (PostgreSQL; on redb the graph grows with each batch).
    build: Option<BuildTimes>,
    /// (label, recall p50, p99, context p50, p99) in ms.
    latency: Vec<(String, f64, f64, f64, f64)>,
    /// Cross-customer search p50, p99 in ms.
    search: (f64, f64),
    /// Recall@10 of the vector index against exact search, the index asked for 10 neighbours, then for as many
    /// as a search across customers asks (a column that starts on a store another built has none).
    recall: Option<(f64, f64)>,
    /// Claimed and acknowledged items/s with four senders.
    claims: f64,
    /// Seconds for a node to start on the built store (open, migrate check, index ready).
    start: f64,
}

/// Runs the comparison and prints the table.
pub async fn run(settings: &Settings, postgres: &str, memories: usize) -> anyhow::Result<()> {
    let embedder = load_embedder(settings).await?;
    println!(
        "embedding model: {} ({} dimensions)",
        embedder.name(),
        embedder.dimension()
    );
    let dir = tempfile::tempdir()?;
    println!("\n== ingest, redb and PostgreSQL (one node) in alternate rounds, on new stores");
    let new_stores = alternate_on_new_stores(settings, postgres, dir.path(), &embedder).await?;
    let redb = Settings {
        data_dir: dir.path().to_owned(),
        store: StoreSetting::Redb,
        ..settings.clone()
    };
    println!("\n== redb, one process");
    let (column, redb_node) = measure("redb", &redb, 1, &embedder, memories).await?;
    let mut columns = vec![column];
    let database = Database::create(postgres, "stores").await?;
    let pg = Settings {
        store: StoreSetting::Postgres(database.url.clone()),
        data_dir: dir.path().join("pg"),
        ..settings.clone()
    };
    std::fs::create_dir_all(&pg.data_dir)?;
    let outcome = async {
        println!("\n== PostgreSQL, one node");
        columns.push(measure("PostgreSQL, 1 node", &pg, 1, &embedder, memories).await?.0);
        println!("\n== PostgreSQL, three nodes on the same database");
        let (column, pg_node) = measure("PostgreSQL, 3 nodes", &pg, 3, &embedder, memories).await?;
        columns.push(column);
        println!("\n== ingest, redb and PostgreSQL (one node) in alternate rounds, on the built stores");
        alternate(&redb_node, &pg_node, "built", "built stores").await
    }
    .await;
    database.drop_it().await;
    let built_stores = outcome?;
    print(&columns);
    new_stores.print();
    built_stores.print();
    Ok(())
}

/// Rounds of [`alternate`]: many short ones, so that each pair meets the same few seconds of the machine.
const ROUNDS: usize = 20;

/// New customers per round of [`alternate`] (ten interactions of four messages each).
const ROUND_CUSTOMERS: usize = 5;

/// One-client ingest on redb and on PostgreSQL (one node), round after round.
struct Alternate {
    /// The stores, as the summary names them.
    label: &'static str,
    /// Per round: redb's messages/s, then PostgreSQL's (until the last answer, and until in the vector index).
    rounds: Vec<(IngestRate, IngestRate)>,
}

impl Alternate {
    fn print(&self) {
        let median = |f: &dyn Fn(&(IngestRate, IngestRate)) -> f64| {
            let mut v: Vec<f64> = self.rounds.iter().map(f).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let ratios: Vec<String> = self
            .rounds
            .iter()
            .map(|(r, p)| format!("{:.0} %", percent(p.rate, r.rate)))
            .collect();
        // Over all rounds: every message over the time they all took.
        let pooled = |f: &dyn Fn(&(IngestRate, IngestRate)) -> &IngestRate, rate: &dyn Fn(&IngestRate) -> f64| {
            let (messages, seconds) = self.rounds.iter().map(f).fold((0.0, 0.0), |(m, t), i| {
                (m + i.messages as f64, t + i.messages as f64 / rate(i).max(1e-9))
            });
            messages / f64::max(seconds, 1e-9)
        };
        let (redb, pg) = (pooled(&|(r, _)| r, &|i| i.rate), pooled(&|(_, p)| p, &|i| i.rate));
        let pg_indexed = pooled(&|(_, p)| p, &|i| i.indexed);
        println!(
            "\ningest, 1 client, {} rounds alternating between the {}: over all rounds, redb {redb:.0} messages/s, \
             PostgreSQL {pg:.0} ({:.0} %; {pg_indexed:.0} messages/s until in the vector index, {:.0} %)",
            self.rounds.len(),
            self.label,
            percent(pg, redb),
            percent(pg_indexed, redb),
        );
        println!(
            "  medians: redb {:.0} messages/s, \
             PostgreSQL {:.0} ({:.0} until in the vector index); PostgreSQL / redb per round: {}; \
             median {:.0} % ({:.0} % until in the vector index)",
            median(&|(r, _)| r.rate),
            median(&|(_, p)| p.rate),
            median(&|(_, p)| p.indexed),
            ratios.join(", "),
            median(&|(r, p)| percent(p.rate, r.rate)),
            median(&|(r, p)| percent(p.indexed, r.indexed)),
        );
    }
}

/// The ingest comparison on new stores of its own: a column's figures are minutes apart from the next column's,
/// and this machine's speed drifts by 15-30 % over minutes; rounds that alternate meet the same drift.
async fn alternate_on_new_stores(
    settings: &Settings,
    postgres: &str,
    dir: &std::path::Path,
    embedder: &Arc<dyn Embedder>,
) -> anyhow::Result<Alternate> {
    let database = Database::create(postgres, "ingest").await?;
    let outcome = async {
        let redb = Settings {
            data_dir: dir.join("alternate-redb"),
            store: StoreSetting::Redb,
            ..settings.clone()
        };
        let pg = Settings {
            data_dir: dir.join("alternate-pg"),
            store: StoreSetting::Postgres(database.url.clone()),
            ..settings.clone()
        };
        for settings in [&redb, &pg] {
            std::fs::create_dir_all(&settings.data_dir)?;
        }
        let redb = services(&redb, Arc::clone(embedder), Arc::new(SystemClock)).await?;
        let pg = services(&pg, Arc::clone(embedder), Arc::new(SystemClock)).await?;
        alternate(&redb, &pg, "new", "new stores").await
    }
    .await;
    database.drop_it().await;
    outcome
}

/// [`ROUNDS`] rounds of one-client ingest on `redb` and on `pg`, which goes first taking turns (a trend in the
/// machine's speed favours neither); `tag` keeps the rounds' customers apart. A round on PostgreSQL ends when its
/// memories are in the vector index, so its indexer never works during redb's round.
async fn alternate(redb: &Services, pg: &Services, tag: &str, label: &'static str) -> anyhow::Result<Alternate> {
    let mut rounds = Vec::new();
    for round in 0..ROUNDS {
        let prefix = format!("{tag}-round{round}");
        let on = |store| ingest_quietly(std::slice::from_ref(store), &prefix, ROUND_CUSTOMERS);
        let (r, p) = if round % 2 == 0 {
            let r = on(redb).await?;
            (r, on(pg).await?)
        } else {
            let p = on(pg).await?;
            (on(redb).await?, p)
        };
        rounds.push((r, p));
    }
    Ok(Alternate { label, rounds })
}

/// Measures one store with `nodes` sets of services on it; returns the column and a node started again on the
/// built store. A second call on the same PostgreSQL database reuses the store the first built (its customers are
/// found by external id).
async fn measure(
    name: &str,
    settings: &Settings,
    nodes: usize,
    embedder: &Arc<dyn Embedder>,
    memories: usize,
) -> anyhow::Result<(Column, Services)> {
    let mut column = Column {
        name: name.to_owned(),
        ..Column::default()
    };
    let mut all = Vec::new();
    for _ in 0..nodes {
        all.push(services(settings, Arc::clone(embedder), Arc::new(SystemClock)).await?);
    }
    let tag = format!("n{nodes}");
    let principal = operator(WorkspaceId::default_workspace());
    let (small, large) = match all[0].get_customer_by_external_id(&principal, "bench-large").await {
        Ok(large) => (
            all[0].get_customer_by_external_id(&principal, "bench-small").await?,
            large,
        ),
        Err(_) => {
            column.ingest_new = Some(ingest(&all[..1], &format!("{tag}-new")).await?);
            let (small, large, times) = build_store(&all[0], memories).await?;
            column.build = Some(times);
            (small, large)
        }
    };
    column.ingest = ingest(&all, &format!("{tag}-one")).await?;
    column.ingest4 = ingest_four(&all, &format!("{tag}-four")).await?;
    // Reads go to the last node: on three nodes, not the one that wrote.
    let reader = &all[nodes - 1];
    for (label, customer) in [("100 memories", &small), ("2,000 memories", &large)] {
        let (r50, r99, c50, c99) = latency(reader, label, customer).await?;
        column.latency.push((label.to_owned(), r50, r99, c50, c99));
    }
    column.search = search(reader).await?;
    if column.build.is_some() {
        if let [few, many] = index_recall(reader, &[10, SEARCH_CANDIDATES]).await?[..] {
            column.recall = Some((few, many));
        }
    }
    column.claims = claims(&all, &tag).await?;
    // A clean stop: redb saves its vector index (the next start loads it); nothing to save on PostgreSQL.
    for node in &all {
        node.persist_index()?;
    }
    drop(all);
    let t = Instant::now();
    let again = services(settings, Arc::clone(embedder), Arc::new(SystemClock)).await?;
    while !again.index_stats().ready {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    column.start = t.elapsed().as_secs_f64();
    println!("a node starts on the built store in {:.2} s", column.start);
    Ok((column, again))
}

/// Ingests 40 interactions of four messages for each of four clients spread over the nodes; messages/s until the
/// last answer, and until every memory formed was in the vector index.
async fn ingest_four(nodes: &[Services], tag: &str) -> anyhow::Result<(f64, f64)> {
    let clients = 4;
    let mut work = Vec::new();
    for c in 0..clients {
        work.push(interactions(&nodes[0], &format!("{tag}-{c}"), 4, 300 + c as u64).await?);
    }
    let messages: usize = work.iter().flatten().map(|(_, i)| i.messages.len()).sum();
    let t = Instant::now();
    let writers: Vec<_> = work
        .into_iter()
        .enumerate()
        .map(|(c, inputs)| {
            let node = nodes[c % nodes.len()].clone();
            tokio::spawn(async move {
                let principal = operator(WorkspaceId::default_workspace());
                for (customer, input) in inputs {
                    node.ingest_interaction(&principal, &customer, input).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    let rate = messages as f64 / t.elapsed().as_secs_f64();
    until_indexed(&nodes[0]).await;
    let indexed = messages as f64 / t.elapsed().as_secs_f64();
    println!(
        "ingest with {clients} clients over {} node(s): {messages} messages, {rate:.0} messages/s, \
         {indexed:.0} messages/s until all were in the vector index",
        nodes.len()
    );
    Ok((rate, indexed))
}

/// Queues one item for each of `CLAIM_ITEMS` new reachable customers, then four senders spread over the nodes
/// claim (50 at a time) and acknowledge until the queue is empty; items/s, checked delivered once each.
async fn claims(nodes: &[Services], tag: &str) -> anyhow::Result<f64> {
    let ws = WorkspaceId::default_workspace();
    let now = Utc::now();
    let people: Vec<(Customer, Preferences)> = (0..CLAIM_ITEMS)
        .map(|n| {
            let fields = CustomerFields {
                external_id: format!("claims-{tag}-{n}"),
                email: Some(format!("c{n}@example.com")),
                timezone: Some("UTC".into()),
                ..Default::default()
            };
            let mut prefs = Preferences::default();
            prefs.consent.set(
                Channel::Email,
                Some(Consent {
                    granted: true,
                    at: Some(now),
                    source: Some("bench".into()),
                }),
            );
            (Customer::new(ws.clone(), fields, now), prefs)
        })
        .collect();
    let ids: Vec<String> = people.iter().map(|(c, _)| c.id.to_string()).collect();
    nodes[0].bulk_load(people, Vec::new(), Vec::new()).await?;
    queue_one_each(&nodes[0], ids, CLAIM_ITEMS).await?;
    let (delivered, elapsed, twice) = drain_with_four_senders(nodes).await?;
    anyhow::ensure!(twice == 0, "{twice} items delivered twice");
    let rate = delivered as f64 / elapsed;
    println!(
        "claim/ack, 4 senders over {} node(s): {delivered} items in {elapsed:.1} s, {rate:.0} items/s, none twice",
        nodes.len()
    );
    Ok(rate)
}

/// Prints the columns side by side, with PostgreSQL's ratios to redb.
fn print(columns: &[Column]) {
    print!("\n{:<44}", "figure");
    for c in columns {
        print!(" {:>22}", c.name);
    }
    println!();
    let row = |name: &str, f: &dyn Fn(&Column) -> String| {
        print!("{name:<44}");
        for c in columns {
            print!(" {:>22}", f(c));
        }
        println!();
    };
    row("ingest, 1 client, new store (msg/s)", &|c| {
        c.ingest_new.map_or("(same store)".into(), |i| format!("{:.0}", i.rate))
    });
    row("ingest, 1 client, built store (msg/s)", &|c| {
        format!("{:.0}", c.ingest.rate)
    });
    row("the same, until in the vector index (msg/s)", &|c| {
        format!("{:.0}", c.ingest.indexed)
    });
    row("the same texts embedded alone (msg/s)", &|c| {
        format!("{:.0}", c.ingest.floor)
    });
    row("ingest, 4 clients, built store (msg/s)", &|c| {
        format!("{:.0}", c.ingest4.0)
    });
    row("the same, until in the vector index (msg/s)", &|c| {
        format!("{:.0}", c.ingest4.1)
    });
    row("customers and memories written in bulk (s)", &|c| {
        c.build.map_or("(same store)".into(), |b| format!("{:.1}", b.load))
    });
    row("then the vector index built (s)", &|c| {
        c.build.map_or("(same store)".into(), |b| format!("{:.1}", b.index))
    });
    for i in 0..columns[0].latency.len() {
        let label = columns[0].latency[i].0.clone();
        row(&format!("recall p50 / p99, {label} (ms)"), &|c| {
            format!("{:.1} / {:.1}", c.latency[i].1, c.latency[i].2)
        });
        row(&format!("context p50 / p99, {label} (ms)"), &|c| {
            format!("{:.1} / {:.1}", c.latency[i].3, c.latency[i].4)
        });
    }
    row("cross-customer search p50 / p99 (ms)", &|c| {
        format!("{:.1} / {:.1}", c.search.0, c.search.1)
    });
    row(
        &format!("search recall@10 vs exact, 10 / {SEARCH_CANDIDATES} asked"),
        &|c| {
            c.recall
                .map_or("(same store)".into(), |(few, many)| format!("{few:.3} / {many:.3}"))
        },
    );
    row("claim/ack, 4 senders (items/s)", &|c| format!("{:.0}", c.claims));
    row("node start on the built store (s)", &|c| format!("{:.2}", c.start));
    let base = &columns[0];
    row("context p50, 2,000 memories / redb's", &|c| {
        format!("{:.2}x", c.latency[1].3 / base.latency[1].3.max(1e-9))
    });
    let ratio = |a: f64, b: f64| format!("{:.0} %", percent(a, b));
    row(
        "ingest, 1 client, new store / redb's",
        &|c| match (&c.ingest_new, &base.ingest_new) {
            (Some(a), Some(b)) => ratio(a.rate, b.rate),
            _ => "(same store)".into(),
        },
    );
    row("ingest, 1 client, built store / redb's", &|c| {
        ratio(c.ingest.rate, base.ingest.rate)
    });
    row("the same, until in the vector index", &|c| {
        ratio(c.ingest.indexed, base.ingest.indexed)
    });
    row("ingest, 4 clients, built store / redb's", &|c| {
        ratio(c.ingest4.0, base.ingest4.0)
    });
}

/// A database of its own on the named server, for one run.
struct Database {
    admin: tokio_postgres::Client,
    name: String,
    url: String,
}

impl Database {
    /// `rappel_bench_<pid>_<tag>`.
    async fn create(server: &str, tag: &str) -> anyhow::Result<Self> {
        let (admin, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let name = format!("rappel_bench_{}_{tag}", std::process::id());
        admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let (base, _) = server
            .split_once('?')
            .map_or(server, |(b, _)| b)
            .rsplit_once('/')
            .ok_or_else(|| anyhow::anyhow!("the PostgreSQL URL names no database"))?;
        Ok(Self {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    async fn drop_it(self) {
        if let Err(e) = self
            .admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await
        {
            eprintln!("could not drop the benchmark database {}: {e}", self.name);
        }
    }
}
