//! Knowledge candidates chosen in the database: the same chunks the in-process rule chooses among all of a
//! workspace's chunks, and the same redb chooses, on a generated corpus in English and French (shared codes and
//! product names, words of each language); chunks written before schema 3 get their terms at the migration; the
//! vector part uses the HNSW index (whether the planner reads the GIN index on terms is not checked here: on 2,000
//! chunks it reads the table).

use chrono::Duration;

use crate::domain::knowledge::candidates::{choose, chunk_terms, CandidateQuery, ChunkEntry};
use crate::domain::knowledge::{Chunk, KnowledgeDoc, KnowledgeInput, StoredChunk};
use crate::domain::text::{terms, Lang};
use crate::domain::{normalise_unit, WorkspaceId};
use crate::store::model_tests::t0;
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::PostgresStore;
use crate::store::{KnowledgeRepo, ModelStamp, RedbStore};

const DIM: usize = 8;

/// Words both languages' articles use (codes, products), and each language's own.
const SHARED: [&str; 8] = ["E-3307", "hub", "firmware", "wifi", "Zigbee", "SSO", "E-4410", "app"];
const EN: [&str; 12] = [
    "refund",
    "invoice",
    "password",
    "reset",
    "disconnects",
    "night",
    "battery",
    "sensor",
    "billing",
    "account",
    "update",
    "router",
];
const FR: [&str; 12] = [
    "remboursement",
    "facture",
    "mot de passe",
    "réinitialiser",
    "déconnecte",
    "nuit",
    "batterie",
    "capteur",
    "paiement",
    "compte",
    "mise à jour",
    "routeur",
];

/// A reproducible generator (a linear congruential one).
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[(self.next() % words.len() as u64) as usize]
    }

    fn unit(&mut self) -> Vec<f32> {
        let mut v: Vec<f32> = (0..DIM).map(|_| (self.next() % 2001) as f32 / 1000.0 - 1.0).collect();
        normalise_unit(&mut v);
        v
    }
}

/// `docs` documents of `chunks` chunks each, alternately English and French, in `ws`.
fn corpus(ws: &WorkspaceId, docs: usize, chunks: u32, seed: u64) -> Vec<(KnowledgeDoc, Vec<StoredChunk>)> {
    let mut seq = Seq(seed);
    (0..docs)
        .map(|d| {
            let (language, own) = if d % 2 == 0 { ("en", &EN) } else { ("fr", &FR) };
            let id = format!("kb_{d:03}");
            let doc = KnowledgeDoc {
                id: id.clone(),
                workspace: ws.clone(),
                label: format!("KB-{d}"),
                fields: KnowledgeInput {
                    title: format!("{} {}", seq.pick(own), seq.pick(&SHARED)),
                    body: "generated".into(),
                    format: Default::default(),
                    language: language.into(),
                    url: None,
                    product: None,
                    tags: vec![],
                    valid_until: None,
                    source: None,
                    source_updated_at: None,
                },
                chunks,
                created_at: t0(),
                updated_at: t0() + Duration::seconds(d as i64),
            };
            let stored = (0..chunks)
                .map(|position| {
                    let words: Vec<&str> = (0..6)
                        .map(|w| if w % 3 == 0 { seq.pick(&SHARED) } else { seq.pick(own) })
                        .collect();
                    StoredChunk {
                        chunk: Chunk {
                            doc_id: id.clone(),
                            position,
                            headings: vec![seq.pick(own).to_owned()],
                            text: words.join(" "),
                        },
                        vector: seq.unit(),
                    }
                })
                .collect();
            (doc, stored)
        })
        .collect()
}

/// The in-process rule over every chunk the store holds (vectors as stored, terms computed here).
fn by_the_rule(store: &dyn KnowledgeRepo, ws: &WorkspaceId, query: &CandidateQuery) -> Vec<ChunkEntry> {
    let docs = store.list_knowledge(ws).unwrap();
    let all: Vec<ChunkEntry> = store
        .knowledge_chunks(ws)
        .unwrap()
        .into_iter()
        .map(|c| {
            let doc = docs.iter().find(|d| d.id == c.chunk.doc_id).unwrap();
            let terms = chunk_terms(&doc.fields.title, doc.lang(), &c.chunk);
            ChunkEntry::new(c.chunk, c.vector, terms)
        })
        .collect();
    choose(&all, query).into_iter().map(|i| all[i].clone()).collect()
}

fn model() -> ModelStamp {
    ModelStamp {
        name: "test".into(),
        dim: DIM,
    }
}

/// The questions: vectors of their own, words in either language, sometimes only some documents.
fn questions() -> Vec<CandidateQuery> {
    let texts = [
        ("error E-3307 when I log in with SSO", Lang::En),
        ("my hub disconnects every night after the firmware update", Lang::En),
        ("remboursement de ma facture", Lang::Fr),
        ("le capteur Zigbee ne répond plus, batterie neuve", Lang::Fr),
        ("nothing in common", Lang::En),
    ];
    let mut seq = Seq(77);
    texts
        .iter()
        .enumerate()
        .flat_map(|(i, (text, lang))| {
            let vector = seq.unit();
            let only: Vec<String> = (0..20)
                .filter(|d| d % 3 != i % 3)
                .map(|d| format!("kb_{d:03}"))
                .collect();
            [None, Some(only)].map(|docs| CandidateQuery {
                dense: 15,
                keyword: 10,
                ..CandidateQuery::new(&vector, &terms(text, *lang), docs)
            })
        })
        .collect()
}

fn keys(entries: &[ChunkEntry]) -> Vec<(String, u32)> {
    entries
        .iter()
        .map(|e| (e.chunk.doc_id.clone(), e.chunk.position))
        .collect()
}

#[test]
fn database_candidates_are_the_rules_and_redbs_in_english_and_french() {
    let db = TestDb::new();
    let pg = PostgresStore::open(&db.config, Some(&model())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let redb = RedbStore::open(dir.path(), Some(&model())).unwrap();
    let ws = WorkspaceId::default_workspace();
    let other = WorkspaceId::parse("other").unwrap();
    for store in [&pg as &dyn crate::store::Store, &redb] {
        assert_eq!(super::other_workspace(store), other);
        for (doc, chunks) in corpus(&ws, 20, 8, 1).into_iter().chain(corpus(&other, 4, 8, 2)) {
            store.put_knowledge(&doc, Some(&chunks)).unwrap();
        }
    }
    let mut keyword_only = 0;
    for query in questions() {
        let found = pg.knowledge_candidates(&ws, &query).unwrap();
        assert_eq!(keys(&found), keys(&by_the_rule(&pg, &ws, &query)), "{query:?}");
        assert_eq!(found, by_the_rule(&pg, &ws, &query), "vectors and terms as stored");
        assert_eq!(
            found,
            redb.knowledge_candidates(&ws, &query).unwrap(),
            "redb chooses the same"
        );
        assert!(found.len() >= 15 && found.len() <= 25, "{}", found.len());
        let dense_only = CandidateQuery {
            keyword: 0,
            ..query.clone()
        };
        keyword_only += found.len() - pg.knowledge_candidates(&ws, &dense_only).unwrap().len();
        if let Some(docs) = &query.docs {
            assert!(found.iter().all(|c| docs.contains(&c.chunk.doc_id)));
        }
    }
    assert!(keyword_only > 20, "keyword matches add candidates: {keyword_only}");
    // Another workspace's chunks are never candidates.
    let everything = CandidateQuery {
        dense: 1000,
        keyword: 1000,
        ..questions()[0].clone()
    };
    assert_eq!(pg.knowledge_candidates(&ws, &everything).unwrap().len(), 160);
    assert_eq!(pg.knowledge_candidates(&other, &everything).unwrap().len(), 32);
    // A change of language keeps the chunks and stems them again.
    let (mut doc, _) = corpus(&ws, 1, 8, 1).remove(0);
    doc.fields.language = "fr".into();
    for store in [&pg as &dyn KnowledgeRepo, &redb] {
        store.put_knowledge(&doc, None).unwrap();
    }
    for query in questions() {
        let found = pg.knowledge_candidates(&ws, &query).unwrap();
        assert_eq!(found, by_the_rule(&pg, &ws, &query));
        assert_eq!(found, redb.knowledge_candidates(&ws, &query).unwrap());
    }
}

#[test]
fn chunks_written_before_schema_3_get_their_terms_at_the_migration() {
    let db = TestDb::new();
    let ws = WorkspaceId::default_workspace();
    {
        let pg = PostgresStore::open(&db.config, Some(&model())).unwrap();
        for (doc, chunks) in corpus(&ws, 6, 4, 3) {
            pg.put_knowledge(&doc, Some(&chunks)).unwrap();
        }
        // The database as schema 2 left it (schema 4's and 5's columns too, with the indexes on them).
        pg.execute(
            "DROP INDEX knowledge_chunks_terms; ALTER TABLE knowledge_chunks DROP COLUMN terms; \
             ALTER TABLE memories DROP COLUMN pending, DROP COLUMN vector_owner, DROP COLUMN sharer_kinds, \
             DROP COLUMN sharers_latest; \
             UPDATE rappel_meta SET value = '2' WHERE key = 'schema_version'",
        );
    }
    let pg = PostgresStore::open(&db.config, Some(&model())).unwrap();
    assert_eq!(pg.count("SELECT count(*) FROM knowledge_chunks WHERE terms IS NULL"), 0);
    assert_eq!(pg.count("SELECT count(*) FROM knowledge_chunks"), 24);
    for query in questions() {
        let found = pg.knowledge_candidates(&ws, &query).unwrap();
        assert_eq!(found, by_the_rule(&pg, &ws, &query), "{query:?}");
    }
}

#[test]
fn database_candidates_use_the_hnsw_index() {
    let db = TestDb::new();
    let pg = PostgresStore::open(&db.config, Some(&model())).unwrap();
    let ws = WorkspaceId::default_workspace();
    for (doc, chunks) in corpus(&ws, 100, 20, 4) {
        pg.put_knowledge(&doc, Some(&chunks)).unwrap();
    }
    pg.execute("ANALYZE knowledge_chunks");
    let mut seq = Seq(5);
    let query = CandidateQuery {
        dense: 50,
        ..CandidateQuery::new(&seq.unit(), &terms("xylophone E-9999", Lang::En), None)
    };
    let plan = pg.explain_candidates(&ws, &query);
    assert!(plan.contains("knowledge_chunks_embedding_hnsw_8"), "{plan}");
}
