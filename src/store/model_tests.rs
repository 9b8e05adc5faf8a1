//! Model tests every backend runs: random operation sequences checked against plain in-memory models, with
//! the store reopened between steps (customers and preferences; memories, their vectors and the outreach
//! queue). Each backend's tests give a [`Backend`] and call these from `proptest!`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::domain::memory::{Memory, StoredMemory};
use crate::domain::outreach::{OutreachItem, OutreachSource, OutreachState};
use crate::domain::outreach_state::AckOutcome;
use crate::domain::preferences::{Channel, Consent, ConsentByChannel, Tone};
use crate::domain::{Customer, CustomerFields, CustomerId, WorkspaceId};
use crate::store::{CustomerRepo, Enqueued, MemoryRepo, OutreachRepo, PreferenceRepo, StoreError, Upserted};

/// Opens the backend's store, again and again on the same data.
pub trait Backend {
    /// The store.
    type Store: CustomerRepo + PreferenceRepo + MemoryRepo + OutreachRepo;
    /// Opens the store (a previous handle was dropped).
    fn open(&self) -> Self::Store;
}

/// Operations on customers and preferences, for the first model test.
#[derive(Debug, Clone)]
pub enum Op {
    Create(u8),
    Upsert(u8, u8),
    RenameExternalId(u8, u8),
    Erase(u8),
    SetTone(u8, bool),
    Reopen,
}

/// Any [`Op`], on six external ids.
pub fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6u8).prop_map(Op::Create),
        (0..6u8, 0..3u8).prop_map(|(e, p)| Op::Upsert(e, p)),
        (0..6u8, 0..6u8).prop_map(|(a, b)| Op::RenameExternalId(a, b)),
        (0..6u8).prop_map(Op::Erase),
        (0..6u8, any::<bool>()).prop_map(|(e, t)| Op::SetTone(e, t)),
        Just(Op::Reopen),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct Modelled {
    id: CustomerId,
    plan: Option<String>,
    tone: Option<Tone>,
    history: usize,
}

/// A profile with external id `e{ext}`.
pub fn fields(ext: u8, plan: Option<String>) -> CustomerFields {
    CustomerFields {
        external_id: format!("e{ext}"),
        plan,
        ..Default::default()
    }
}

/// The models' start time.
pub fn t0() -> DateTime<Utc> {
    "2026-11-25T10:00:00Z".parse().unwrap()
}

/// Customers and preferences agree with the model after every step.
pub fn customers_agree_with_a_model(backend: &impl Backend, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let ws = WorkspaceId::default_workspace();
    let mut store = backend.open();
    let mut model: BTreeMap<String, Modelled> = BTreeMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        let now = t0() + Duration::seconds(step as i64);
        match op {
            Op::Create(e) => {
                let c = Customer::new(ws.clone(), fields(e, None), now);
                let result = store.create_customer(&c);
                match model.entry(format!("e{e}")) {
                    std::collections::btree_map::Entry::Occupied(_) => {
                        prop_assert!(
                            matches!(result, Err(StoreError::ExternalIdConflict { .. })),
                            "expected a conflict"
                        );
                    }
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        result.unwrap();
                        slot.insert(Modelled {
                            id: c.id,
                            plan: None,
                            tone: None,
                            history: 0,
                        });
                    }
                }
            }
            Op::Upsert(e, p) => {
                let plan = ["free", "pro"].get(p as usize).map(|s| s.to_string());
                let (c, outcome) = store.upsert_customer(&ws, fields(e, plan.clone()), now).unwrap();
                let expected = match model.get_mut(&format!("e{e}")) {
                    None => {
                        model.insert(
                            format!("e{e}"),
                            Modelled {
                                id: c.id.clone(),
                                plan,
                                tone: None,
                                history: 0,
                            },
                        );
                        Upserted::Created
                    }
                    Some(m) if m.plan == plan => Upserted::Unchanged,
                    Some(m) => {
                        m.plan = plan;
                        Upserted::Updated
                    }
                };
                prop_assert_eq!(outcome, expected);
            }
            Op::RenameExternalId(a, b) => {
                let (from, to) = (format!("e{a}"), format!("e{b}"));
                let Some(m) = model.get(&from).cloned() else { continue };
                let result = store.update_customer(
                    &ws,
                    &m.id,
                    &mut |f| {
                        Ok(CustomerFields {
                            external_id: to.clone(),
                            ..f.clone()
                        })
                    },
                    now,
                );
                if from != to && model.contains_key(&to) {
                    prop_assert!(
                        matches!(result, Err(StoreError::ExternalIdConflict { .. })),
                        "expected a conflict"
                    );
                } else {
                    result.unwrap();
                    model.remove(&from);
                    model.insert(to, m);
                }
            }
            Op::Erase(e) => {
                let key = format!("e{e}");
                let id = model
                    .get(&key)
                    .map(|m| m.id.clone())
                    .unwrap_or_else(CustomerId::generate);
                prop_assert_eq!(
                    store.erase_customer(&ws, &id, None).unwrap(),
                    model.remove(&key).is_some()
                );
            }
            Op::SetTone(e, formal) => {
                let Some(m) = model.get_mut(&format!("e{e}")) else {
                    continue;
                };
                let tone = Some(if formal { Tone::Formal } else { Tone::Casual });
                let (prefs, changes) = store
                    .update_preferences(
                        &ws,
                        &m.id,
                        &mut |p| Ok(crate::domain::Preferences { tone, ..p.clone() }),
                        now,
                        "test",
                    )
                    .unwrap();
                prop_assert_eq!(prefs.tone, tone);
                prop_assert_eq!(changes.len(), usize::from(m.tone != tone));
                m.history += changes.len();
                m.tone = tone;
            }
            Op::Reopen => {
                drop(store);
                store = backend.open();
            }
        }
        // The whole visible state matches the model.
        let listed = store.list_customers(&ws, &Default::default(), None, 100).unwrap();
        prop_assert_eq!(listed.items.len(), model.len());
        for c in &listed.items {
            let m = model.get(&c.fields.external_id).expect("listed customer is modelled");
            prop_assert_eq!(&c.id, &m.id);
            prop_assert_eq!(&c.fields.plan, &m.plan);
            let by_ext = store
                .customer_by_external_id(&ws, &c.fields.external_id)
                .unwrap()
                .unwrap();
            prop_assert_eq!(&by_ext.id, &m.id);
            prop_assert_eq!(store.get_preferences(&ws, &c.id).unwrap().tone, m.tone);
            prop_assert_eq!(
                store.preference_history(&ws, &c.id, None, 100).unwrap().items.len(),
                m.history
            );
        }
    }
    Ok(())
}

/// Operations on memories and the outreach queue, for the second model test.
#[derive(Debug, Clone)]
pub enum QueueOp {
    AddMemory(u8),
    DeleteMemory(u8),
    PinMemory(u8),
    Enqueue(u8, u8),
    Claim(u8),
    Ack(u8),
    Cancel(u8),
    Erase(u8),
    Reopen,
}

/// Any [`QueueOp`], on two customers.
pub fn queue_op() -> impl Strategy<Value = QueueOp> {
    prop_oneof![
        (0..2u8).prop_map(QueueOp::AddMemory),
        any::<u8>().prop_map(QueueOp::DeleteMemory),
        any::<u8>().prop_map(QueueOp::PinMemory),
        (0..2u8, 1..6u8).prop_map(|(c, p)| QueueOp::Enqueue(c, p)),
        (1..4u8).prop_map(QueueOp::Claim),
        any::<u8>().prop_map(QueueOp::Ack),
        any::<u8>().prop_map(QueueOp::Cancel),
        (0..2u8).prop_map(QueueOp::Erase),
        Just(QueueOp::Reopen),
    ]
}

/// A unit vector of 8 dimensions, different for each seed.
pub fn unit8(seed: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..8).map(|i| ((seed * 7 + i * 3) % 11) as f32 - 5.0).collect();
    crate::domain::normalise_unit(&mut v);
    v
}

/// A French help-center article `kb_1` ("Factures", two chunks) of `workspace`.
pub fn knowledge_doc(workspace: &WorkspaceId) -> crate::domain::knowledge::KnowledgeDoc {
    crate::domain::knowledge::KnowledgeDoc {
        id: "kb_1".into(),
        workspace: workspace.clone(),
        label: "KB-1".into(),
        fields: serde_json::from_value(serde_json::json!({
            "title": "Factures", "body": "Les factures partent le premier du mois.", "language": "fr",
            "source": "faq/factures.md"
        }))
        .expect("valid knowledge input"),
        chunks: 2,
        created_at: t0(),
        updated_at: t0(),
    }
}

/// A chunk of [`knowledge_doc`] under the heading "Paiement", its vector [`unit8`] of `seed`.
pub fn knowledge_chunk(position: u32, text: &str, seed: usize) -> crate::domain::knowledge::StoredChunk {
    crate::domain::knowledge::StoredChunk {
        chunk: crate::domain::knowledge::Chunk {
            doc_id: "kb_1".into(),
            position,
            headings: vec!["Paiement".into()],
            text: text.into(),
        },
        vector: unit8(seed),
    }
}

/// A queued e-mail item of `customer`.
pub fn outreach_item(customer: &CustomerId, n: usize, priority: u8, now: DateTime<Utc>) -> OutreachItem {
    OutreachItem {
        id: format!("out_{n:04}"),
        workspace: WorkspaceId::default_workspace(),
        customer_id: customer.clone(),
        source: OutreachSource {
            kind: "job".into(),
            id: "model".into(),
        },
        reason: "model test".into(),
        evidence: vec![],
        channel: Channel::Email,
        language: "en".into(),
        message: "Hello".into(),
        priority,
        not_before: t0(),
        expires_at: None,
        state: OutreachState::Queued,
        lease_until: None,
        failures: 0,
        provider_message_id: None,
        error: None,
        sent_at: None,
        dedupe_key: format!("k{n}"),
        created_at: now,
        updated_at: now,
    }
}

/// Memories, their vectors and the outreach queue agree with the model after every step.
pub fn queue_agrees_with_a_model(backend: &impl Backend, ops: Vec<QueueOp>) -> Result<(), TestCaseError> {
    let ws = WorkspaceId::default_workspace();
    let mut store = backend.open();
    let customers: Vec<CustomerId> = (0..2u8)
        .map(|e| {
            let c = Customer::new(ws.clone(), fields(e, None), t0());
            store.create_customer(&c).unwrap();
            // E-mail consent and a cap no test reaches: every queued item can be handed out.
            let consent = Consent {
                granted: true,
                at: Some(t0()),
                source: Some("test".into()),
            };
            store
                .update_preferences(
                    &ws,
                    &c.id,
                    &mut |p| {
                        Ok(crate::domain::Preferences {
                            consent: ConsentByChannel {
                                email: Some(consent.clone()),
                                ..Default::default()
                            },
                            max_contacts_per_week: Some(100),
                            ..p.clone()
                        })
                    },
                    t0(),
                    "test",
                )
                .unwrap();
            c.id
        })
        .collect();
    let mut erased = [false; 2];
    // Memory id -> (memory, vector); outreach id -> (item, state).
    let mut memories: BTreeMap<String, (Memory, Vec<f32>)> = BTreeMap::new();
    let mut queue: BTreeMap<String, OutreachItem> = BTreeMap::new();
    for (step, op) in ops.into_iter().enumerate() {
        let now = t0() + Duration::seconds(step as i64 + 1);
        let pick = |ids: Vec<String>, n: u8| (!ids.is_empty()).then(|| ids[n as usize % ids.len()].clone());
        match op {
            QueueOp::AddMemory(c) => {
                if erased[c as usize] {
                    continue;
                }
                let memory = crate::domain::testkit::memory_for(&customers[c as usize], &format!("memory {step}"));
                let vector = unit8(step);
                store
                    .insert_memories(&[StoredMemory {
                        memory: memory.clone(),
                        vector: vector.clone(),
                    }])
                    .unwrap();
                memories.insert(memory.id.clone(), (memory, vector));
            }
            QueueOp::DeleteMemory(n) => {
                let Some(id) = pick(memories.keys().cloned().collect(), n) else {
                    continue;
                };
                let (m, _) = memories.remove(&id).unwrap();
                prop_assert!(store.delete_memory(&ws, &m.provenance.customer_id, &id).unwrap());
                prop_assert!(!store.delete_memory(&ws, &m.provenance.customer_id, &id).unwrap());
            }
            QueueOp::PinMemory(n) => {
                let Some(id) = pick(memories.keys().cloned().collect(), n) else {
                    continue;
                };
                let entry = memories.get_mut(&id).unwrap();
                entry.0.pinned = !entry.0.pinned;
                store.update_memories(std::slice::from_ref(&entry.0)).unwrap();
            }
            QueueOp::Enqueue(c, priority) => {
                if erased[c as usize] {
                    continue;
                }
                let item = outreach_item(&customers[c as usize], step, priority, now);
                // A cooldown starting now: no earlier item is a duplicate (de-duplication is tested elsewhere).
                prop_assert_eq!(store.enqueue(&item, now).unwrap(), Enqueued::Queued);
                queue.insert(item.id.clone(), item);
            }
            QueueOp::Claim(max) => {
                let claimed = store.claim(&ws, None, max as usize, now, Duration::hours(1)).unwrap();
                // The model: queued items, most urgent first, then oldest, then by id.
                let mut queued: Vec<&OutreachItem> =
                    queue.values().filter(|i| i.state == OutreachState::Queued).collect();
                queued.sort_by_key(|i| (5 - i.priority, i.not_before, i.id.clone()));
                let expected: Vec<String> = queued.iter().take(max as usize).map(|i| i.id.clone()).collect();
                prop_assert_eq!(claimed.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), expected);
                for item in claimed {
                    prop_assert_eq!(item.state, OutreachState::Claimed);
                    queue.insert(item.id.clone(), item);
                }
            }
            QueueOp::Ack(n) => {
                let claimed: Vec<String> = queue
                    .values()
                    .filter(|i| i.state == OutreachState::Claimed)
                    .map(|i| i.id.clone())
                    .collect();
                let Some(id) = pick(claimed, n) else { continue };
                let sent = store
                    .ack(&ws, &id, &AckOutcome::Sent(Some("p1".into())), now, 3)
                    .unwrap();
                prop_assert_eq!(sent.state, OutreachState::Sent);
                queue.insert(id, sent);
            }
            QueueOp::Cancel(n) => {
                let open: Vec<String> = queue
                    .values()
                    .filter(|i| matches!(i.state, OutreachState::Queued | OutreachState::Claimed))
                    .map(|i| i.id.clone())
                    .collect();
                let Some(id) = pick(open, n) else { continue };
                let cancelled = store.cancel_outreach(&ws, &id, now).unwrap();
                prop_assert_eq!(cancelled.state, OutreachState::Cancelled);
                queue.insert(id, cancelled);
            }
            QueueOp::Erase(c) => {
                let cid = &customers[c as usize];
                prop_assert_eq!(store.erase_customer(&ws, cid, None).unwrap(), !erased[c as usize]);
                erased[c as usize] = true;
                memories.retain(|_, (m, _)| m.provenance.customer_id != *cid);
                queue.retain(|_, i| i.customer_id != *cid);
            }
            QueueOp::Reopen => {
                drop(store);
                store = backend.open();
            }
        }
        // Every memory, its vector and the whole queue match the model.
        prop_assert_eq!(store.count_memories().unwrap(), memories.len() as u64);
        for cid in &customers {
            let mut stored = store.customer_memories(&ws, cid).unwrap();
            stored.sort_by(|a, b| a.memory.id.cmp(&b.memory.id));
            let modelled: Vec<&(Memory, Vec<f32>)> = memories
                .values()
                .filter(|(m, _)| m.provenance.customer_id == *cid)
                .collect();
            prop_assert_eq!(stored.len(), modelled.len());
            for (s, (m, v)) in stored.iter().zip(modelled) {
                prop_assert_eq!(&s.memory, m);
                prop_assert!(
                    crate::domain::dot(&s.vector, v) > 0.999,
                    "the vector survives int8 storage"
                );
            }
        }
        let listed = store.list_outreach(&ws, None, 1000, &|_| true).unwrap();
        prop_assert_eq!(listed.items.len(), queue.len());
        for item in &listed.items {
            let m = queue.get(&item.id).expect("listed item is modelled");
            prop_assert_eq!(
                (item.state, item.priority, &item.customer_id),
                (m.state, m.priority, &m.customer_id)
            );
        }
    }
    Ok(())
}
