//! What is checked when a store opens: the schema version, the embedding model, migrations from several nodes,
//! the pool's settings; and re-embedding, which changes what is checked.

use std::sync::Arc;

use crate::domain::memory::StoredMemory;
use crate::domain::{Customer, WorkspaceId};
use crate::store::model_tests::{fields, t0, unit8, Backend};
use crate::store::postgres::testkit::TestDb;
use crate::store::postgres::{PostgresStore, SCHEMA_VERSION};
use crate::store::{CustomerRepo, MemoryRepo, ModelStamp, Store, StoreError};

#[test]
fn a_database_of_a_newer_schema_is_refused_untouched() {
    let db = TestDb::new();
    let store = db.open();
    store.execute(&format!(
        "UPDATE rappel_meta SET value = '{}' WHERE key = 'schema_version'",
        SCHEMA_VERSION + 1
    ));
    drop(store);
    let err = PostgresStore::open(&db.config, None).expect_err("refused");
    assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade Rappel"));
    let again = PostgresStore::open(&db.config, None).expect_err("refused again");
    assert!(
        again
            .to_string()
            .contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{again}"
    );
}

#[test]
fn a_database_of_another_embedding_model_is_refused_and_names_reembed() {
    let db = TestDb::new();
    let mini = ModelStamp {
        name: "all-minilm-l6-v2".into(),
        dim: 384,
    };
    drop(PostgresStore::open(&db.config, Some(&mini)).unwrap());
    let store = PostgresStore::open(&db.config, Some(&mini)).unwrap();
    assert_eq!(store.model_stamp().unwrap(), Some(mini));
    assert_eq!(
        store.count("SELECT count(*) FROM pg_indexes WHERE indexname = 'memories_embedding_hnsw_384'"),
        1,
        "the HNSW index of the model's dimension exists"
    );
    drop(store);
    let other = ModelStamp {
        name: "e5-base".into(),
        dim: 768,
    };
    let err = PostgresStore::open(&db.config, Some(&other)).expect_err("refused");
    assert!(
        err.to_string().contains("768") && err.to_string().contains("384"),
        "{err}"
    );
    let same_size = ModelStamp {
        name: "multilingual-e5-small".into(),
        dim: 384,
    };
    let err = PostgresStore::open(&db.config, Some(&same_size)).expect_err("refused");
    assert!(err.to_string().contains("rappel reembed"), "{err}");
}

#[test]
fn nodes_starting_together_migrate_once() {
    let db = Arc::new(TestDb::new());
    let model = ModelStamp {
        name: "test".into(),
        dim: 8,
    };
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let (db, model) = (Arc::clone(&db), model.clone());
            std::thread::spawn(move || PostgresStore::open(&db.config, Some(&model)).map(drop))
        })
        .collect();
    for node in nodes {
        node.join().unwrap().unwrap();
    }
    let store = db.open();
    assert_eq!(
        store.count("SELECT value::bigint FROM rappel_meta WHERE key = 'schema_version'"),
        i64::from(crate::store::postgres::schema::SCHEMA_VERSION)
    );
}

#[test]
fn statements_past_the_timeout_are_cancelled_and_the_pool_has_the_configured_size() {
    let db = TestDb::new();
    let mut config = db.config.clone();
    config.statement_timeout = std::time::Duration::from_millis(200);
    config.pool_size = 3;
    let store = PostgresStore::open(&config, None).unwrap();
    assert_eq!(store.pool.status().max_size, 3);
    let err = store
        .run(async { Ok(store.client().await?.batch_execute("SELECT pg_sleep(5)").await?) })
        .expect_err("cancelled");
    let StoreError::Postgres(e) = &err else { panic!("{err}") };
    assert_eq!(
        e.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{err}"
    );
    assert!(err.to_string().contains("statement timeout"), "{err}");
    store.ping().unwrap();
}

#[test]
fn a_reembedding_resumes_refuses_to_open_meanwhile_and_moves_the_vector_index() {
    use crate::store::ReembedRepo;
    let db = TestDb::new();
    let (old, new) = (
        ModelStamp {
            name: "old".into(),
            dim: 8,
        },
        ModelStamp {
            name: "new".into(),
            dim: 4,
        },
    );
    let store = PostgresStore::open(&db.config, Some(&old)).unwrap();
    let ws = WorkspaceId::default_workspace();
    let c = Customer::new(ws.clone(), fields(1, None), t0());
    store.create_customer(&c).unwrap();
    let memories: Vec<StoredMemory> = (0..5)
        .map(|n| {
            let mut memory = crate::domain::testkit::memory_for(&c.id, &format!("memory {n}"));
            memory.id = format!("mem_{n}");
            StoredMemory {
                memory,
                vector: unit8(n),
            }
        })
        .collect();
    store.insert_memories(&memories).unwrap();

    let begun = store.reembed_begin(&new).unwrap();
    assert_eq!(
        (begun.target.clone(), begun.done, begun.total),
        (Some(new.clone()), 0, 5)
    );
    assert_eq!(store.reembed_begin(&new).unwrap(), begun, "beginning again continues");
    let unit4 = |n: usize| {
        let mut v: Vec<f32> = (0..4).map(|i| (n + i) as f32 + 1.0).collect();
        crate::domain::normalise_unit(&mut v);
        v
    };
    let batch = store.memory_texts_after(None, 3).unwrap();
    assert_eq!(batch.len(), 3);
    store
        .reembed_write(
            &batch
                .iter()
                .enumerate()
                .map(|(n, (k, _))| (k.clone(), unit4(n)))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let err = PostgresStore::open(&db.config, Some(&new)).expect_err("refused while unfinished");
    assert!(matches!(err, StoreError::ReembedUnfinished { done: 3, .. }), "{err}");
    let state = store.reembed_state().unwrap();
    assert_eq!(state.cursor.as_ref(), Some(&batch[2].0));
    let rest = store.memory_texts_after(state.cursor.as_ref(), 10).unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[0].1, "memory 3");
    store
        .reembed_write(&rest.iter().map(|(k, _)| (k.clone(), unit4(9))).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(store.reembed_finish().unwrap(), new);
    assert!(store
        .customer_memories(&ws, &c.id)
        .unwrap()
        .iter()
        .all(|m| m.vector.len() == 4));
    let indexes = |dim: usize| {
        store.count(&format!(
            "SELECT count(*) FROM pg_indexes WHERE indexname IN \
             ('memories_embedding_hnsw_{dim}', 'knowledge_chunks_embedding_hnsw_{dim}')"
        ))
    };
    assert_eq!((indexes(4), indexes(8)), (2, 0), "the indexes follow the model");
    drop(store);
    let reopened = PostgresStore::open(&db.config, Some(&new)).unwrap();
    assert_eq!(reopened.model_stamp().unwrap(), Some(new));
    assert_eq!(reopened.reembed_state().unwrap().target, None);
}
