//! Each detector on small hand-made histories: a case it catches and a near miss it must not.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::*;
use crate::domain::incident::{Incident, IncidentInput};
use crate::domain::interaction::{Interaction, InteractionInput};
use crate::domain::memory::{Memory, MemoryKind, Provenance};
use crate::domain::recall::Indexed;
use crate::domain::sentiment::{Sentiment, SentimentLabel};
use crate::domain::text::Lang;
use crate::domain::{Customer, CustomerFields, CustomerId, WorkspaceId};

fn now() -> DateTime<Utc> {
    "2026-11-25T09:00:00Z".parse().unwrap()
}

fn customer(renewal_in_days: Option<i64>) -> Customer {
    let fields = CustomerFields {
        external_id: "c".into(),
        renewal_date: renewal_in_days.map(|d| (now() + Duration::days(d)).date_naive()),
        attributes: json!({"devices": ["Lumen Hub v1"]}).as_object().unwrap().clone(),
        ..Default::default()
    };
    Customer {
        id: CustomerId::from_client("cus_1"),
        ..Customer::new(WorkspaceId::default_workspace(), fields, now())
    }
}

/// An interaction opened `days_ago`, with (role, text, sentiment score, hours after opening) messages.
fn interaction(
    ext: &str,
    days_ago: i64,
    status: &str,
    csat: Option<u8>,
    messages: &[(&str, &str, f32, i64)],
) -> Interaction {
    let opened = now() - Duration::days(days_ago);
    let input: InteractionInput = serde_json::from_value(json!({
        "external_id": ext, "channel": "email", "status": status, "opened_at": opened, "csat": csat,
        "messages": messages.iter().enumerate().map(|(i, (role, text, _, h))| json!({
            "id": format!("{ext}-{i}"), "role": role, "text": text, "sent_at": opened + Duration::hours(*h)})).collect::<Vec<_>>()
    }))
    .unwrap();
    let mut i = Interaction::new(
        WorkspaceId::default_workspace(),
        CustomerId::from_client("cus_1"),
        input,
        now(),
    );
    for (m, (_, _, score, _)) in i.fields.messages.iter_mut().zip(messages) {
        if m.role == crate::domain::interaction::AuthorRole::Customer {
            m.sentiment = Some(Sentiment {
                score: *score,
                label: SentimentLabel::Neutral,
                frustrated: false,
                cues: Vec::new(),
            });
        }
    }
    i
}

/// A memory of a customer message of `i`, with a vector.
fn memory(i: &Interaction, kind: MemoryKind, vector: [f32; 2], open: bool) -> Arc<Indexed> {
    let m = &i.fields.messages[0];
    let memory = Memory {
        id: format!("mem-{}", i.fields.external_id),
        workspace: WorkspaceId::default_workspace(),
        kind,
        text: m.text.clone(),
        subject: None,
        language: Lang::En,
        provenance: Provenance {
            customer_id: i.customer_id.clone(),
            interaction_id: i.fields.external_id.clone(),
            message_ids: vec![m.id.clone()],
        },
        observed_at: m.sent_at,
        valid_from: None,
        valid_to: None,
        due_at: (kind == MemoryKind::Commitment).then(|| m.sent_at + Duration::days(1)),
        open,
        count: 1,
        last_seen: m.sent_at,
        pinned: false,
        sentiment: Some(0.0),
        frustrated: false,
        cues: Vec::new(),
        speaker: None,
        seq: 0,
        edits: vec![],
    };
    let mut v = vector.to_vec();
    crate::domain::normalise_unit(&mut v);
    Arc::new(Indexed::new(memory, v))
}

/// The raw message memories ingest forms for the customer messages of `interactions` (with their sentiment).
fn message_memories(interactions: &[Interaction]) -> Vec<Arc<Indexed>> {
    let mut out = Vec::new();
    for i in interactions {
        for (seq, m) in i.fields.messages.iter().enumerate() {
            let Some(sentiment) = m.sentiment.as_ref() else {
                continue;
            };
            let mut memory = Memory::new(
                WorkspaceId::default_workspace(),
                MemoryKind::Message,
                m.text.clone(),
                Lang::En,
                Provenance {
                    customer_id: i.customer_id.clone(),
                    interaction_id: i.fields.external_id.clone(),
                    message_ids: vec![m.id.clone()],
                },
                m.sent_at,
            );
            memory.sentiment = Some(sentiment.score);
            memory.frustrated = sentiment.frustrated;
            memory.seq = seq as u32;
            // A null vector: these stand for sentiment only and resemble nothing.
            out.push(Arc::new(Indexed::new(memory, vec![0.0, 0.0])));
        }
    }
    out
}

fn detect(
    detector: Detector,
    c: &Customer,
    interactions: &[Interaction],
    memories: &[Arc<Indexed>],
    incidents: &[(Incident, Vec<f32>)],
) -> Option<Finding> {
    let mut all: Vec<Arc<Indexed>> = memories.to_vec();
    all.extend(message_memories(interactions));
    detector.detect(
        &Snapshot {
            customer: c,
            interactions,
            memories: &all,
            incidents,
        },
        now(),
    )
}

#[test]
fn low_csat_catches_a_two_and_not_a_three() {
    let c = customer(None);
    let low = [interaction("a", 3, "resolved", Some(2), &[("customer", "meh", 0.0, 0)])];
    let ok = [interaction(
        "b",
        3,
        "resolved",
        Some(3),
        &[("customer", "fine", 0.0, 0)],
    )];
    let p = || Detector::LowCsatFollowup(serde_json::from_value(json!({})).unwrap());
    assert_eq!(detect(p(), &c, &low, &[], &[]).unwrap().evidence, ["a"]);
    assert!(detect(p(), &c, &ok, &[], &[]).is_none());
}

#[test]
fn unresolved_aging_waits_48_hours_for_an_agent() {
    let c = customer(None);
    let p = || Detector::UnresolvedAging(serde_json::from_value(json!({"hours": 48})).unwrap());
    let waiting = [interaction("a", 3, "open", None, &[("customer", "hello?", 0.0, 0)])];
    let answered = [interaction(
        "b",
        3,
        "open",
        None,
        &[("customer", "hello?", 0.0, 0), ("agent", "on it", 0.0, 60)],
    )];
    let recent = [interaction("c", 1, "open", None, &[("customer", "hello?", 0.0, 0)])];
    assert_eq!(
        detect(p(), &c, &waiting, &[], &[]).unwrap().reason_code,
        "unresolved_aging"
    );
    assert!(detect(p(), &c, &answered, &[], &[]).is_none());
    assert!(detect(p(), &c, &recent, &[], &[]).is_none());
}

#[test]
fn sentiment_decline_compares_recent_to_the_baseline() {
    let c = customer(None);
    let p = || Detector::SentimentDecline(serde_json::from_value(json!({})).unwrap());
    let before = interaction(
        "old",
        100,
        "resolved",
        None,
        &[("customer", "great", 0.6, 0), ("customer", "thanks", 0.5, 1)],
    );
    let fell = interaction(
        "new",
        5,
        "resolved",
        None,
        &[("customer", "bad", -0.4, 0), ("customer", "worse", -0.5, 1)],
    );
    let steady = interaction(
        "new",
        5,
        "resolved",
        None,
        &[("customer", "ok", 0.5, 0), ("customer", "ok", 0.4, 1)],
    );
    assert!(detect(p(), &c, &[before.clone(), fell], &[], &[])
        .unwrap()
        .reason
        .contains("fell"));
    assert!(detect(p(), &c, &[before, steady], &[], &[]).is_none());
}

#[test]
fn repeat_contact_needs_three_similar_contacts_within_the_window() {
    let c = customer(None);
    let p = || {
        Detector::RepeatContact(
            serde_json::from_value(json!({"min_contacts": 3, "days": 14, "similarity": 0.9})).unwrap(),
        )
    };
    let same: Vec<Interaction> = (0..3)
        .map(|k| {
            interaction(
                &format!("s{k}"),
                2 + 4 * k,
                "resolved",
                None,
                &[("customer", "hub offline", -0.3, 0)],
            )
        })
        .collect();
    let mems: Vec<Arc<Indexed>> = same
        .iter()
        .map(|i| memory(i, MemoryKind::Issue, [1.0, 0.0], false))
        .collect();
    assert_eq!(detect(p(), &c, &same, &mems, &[]).unwrap().evidence.len(), 3);
    let mut other = mems.clone();
    other[2] = memory(&same[2], MemoryKind::Issue, [0.0, 1.0], false);
    assert!(
        detect(p(), &c, &same, &other, &[]).is_none(),
        "two alike and one about something else"
    );
}

#[test]
fn churn_risk_needs_trouble_before_renewal() {
    let p = || Detector::ChurnRisk(serde_json::from_value(json!({})).unwrap());
    let sour = [interaction(
        "a",
        10,
        "resolved",
        Some(1),
        &[("customer", "awful", -0.8, 0)],
    )];
    let happy = [interaction(
        "b",
        10,
        "resolved",
        Some(5),
        &[("customer", "great", 0.8, 0)],
    )];
    assert!(detect(p(), &customer(Some(20)), &sour, &[], &[])
        .unwrap()
        .reason_code
        .starts_with("churn_risk_renewal"));
    assert!(detect(p(), &customer(Some(20)), &happy, &[], &[]).is_none());
    assert!(
        detect(p(), &customer(Some(45)), &sour, &[], &[]).is_none(),
        "renewal too far"
    );
}

#[test]
fn incident_match_reaches_owners_who_reported_the_symptom() {
    let c = customer(None);
    let p = || Detector::IncidentMatch(serde_json::from_value(json!({})).unwrap());
    let report = [interaction(
        "r",
        3,
        "resolved",
        None,
        &[("customer", "offline at night", -0.4, 0)],
    )];
    let incident = Incident {
        id: "inc_1".into(),
        workspace: WorkspaceId::default_workspace(),
        fields: IncidentInput {
            title: "Hub v1 offline".into(),
            description: "nightly".into(),
            product: Some("Lumen Hub v1".into()),
            started_at: now() - Duration::days(10),
            ended_at: None,
            resolution: None,
        },
        created_at: now(),
        updated_at: now(),
    };
    let matching = [memory(&report[0], MemoryKind::Issue, [1.0, 0.1], false)];
    let unrelated = [memory(&report[0], MemoryKind::Issue, [0.0, 1.0], false)];
    let incidents = [(incident, vec![1.0, 0.0])];
    assert_eq!(
        detect(p(), &c, &report, &matching, &incidents).unwrap().reason_code,
        "incident:inc_1"
    );
    assert!(detect(p(), &c, &report, &unrelated, &incidents).is_none());
}
