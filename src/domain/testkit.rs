//! Test helpers shared by the domain's rule tests: an interaction from JSON, and the whole formation of its
//! memories with the hashing embedder (meaning is not what these tests test).

use std::sync::Arc;

use super::formation::{apply_sentiment, derive, draft, embedding_plan, plan, Plan, Subject};
use super::interaction::{Interaction, InteractionInput};
use super::recall::Indexed;
use super::text::Lang;
use super::{CustomerId, WorkspaceId};
use crate::embed::{Embedder, HashEmbedder, TextRole};

/// An interaction of customer `cus_1` from JSON messages.
pub fn interaction(ext: &str, status: &str, messages: serde_json::Value) -> Interaction {
    let input: InteractionInput = serde_json::from_value(serde_json::json!({
        "external_id": ext, "channel": "chat", "status": status,
        "opened_at": "2026-11-20T09:00:00Z", "messages": messages
    }))
    .unwrap();
    Interaction::new(
        WorkspaceId::default_workspace(),
        CustomerId::from_client("cus_1"),
        input,
        "2026-11-20T09:00:00Z".parse().unwrap(),
    )
}

/// Drafts, embeds (hashing embedder), derives and plans an interaction against `existing`.
pub fn form(i: &mut Interaction, existing: &[Arc<Indexed>]) -> Plan {
    let (ws, cid) = (WorkspaceId::default_workspace(), CustomerId::from_client("cus_1"));
    let subject = Subject {
        workspace: &ws,
        customer: &cid,
        name: Some("Ana Ruiz"),
        language: Lang::En,
    };
    let ids: Vec<String> = i.fields.messages.iter().map(|m| m.id.clone()).collect();
    let mut drafts = draft(&subject, i, &ids);
    let (texts, slots) = embedding_plan(&drafts);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embedded = HashEmbedder::new(64).embed(&refs, TextRole::Passage).unwrap();
    let mut vectors: Vec<Vec<f32>> = slots.iter().map(|s| embedded[*s].clone()).collect();
    derive(&mut drafts, &mut vectors, i, None);
    apply_sentiment(&mut drafts, &vectors, i, Lang::En, None);
    plan(drafts, vectors, existing, i)
}

/// The plan's new memories as index entries.
pub fn indexed(plan: &Plan) -> Vec<Arc<Indexed>> {
    plan.new
        .iter()
        .map(|n| Arc::new(Indexed::new(n.memory.clone(), n.vector.clone())))
        .collect()
}

/// A memory of `customer` in the default workspace, in English, from message `message` of interaction `i1`.
pub fn memory(
    customer: &CustomerId,
    kind: super::memory::MemoryKind,
    text: &str,
    message: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> super::memory::Memory {
    super::memory::Memory::new(
        WorkspaceId::default_workspace(),
        kind,
        text.to_owned(),
        Lang::En,
        super::memory::Provenance {
            customer_id: customer.clone(),
            interaction_id: "i1".into(),
            message_ids: vec![message.to_owned()],
        },
        at,
    )
}

/// A fact memory of `customer` in the default workspace, observed on 20 November 2026.
pub fn memory_for(customer: &CustomerId, text: &str) -> super::memory::Memory {
    memory(
        customer,
        super::memory::MemoryKind::Fact,
        text,
        "m1",
        "2026-11-20T09:00:00Z".parse().unwrap(),
    )
}
