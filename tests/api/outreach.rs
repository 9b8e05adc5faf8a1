//! The outreach queue: rules at queue and claim time, leases, acknowledgements, concurrent senders.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rappel::config::Settings;
use rappel::domain::outreach::{OutreachSource, OutreachState, SkipRule};
use rappel::domain::preferences::Channel;
use rappel::domain::WorkspaceId;
use rappel::service::clock::ManualClock;
use rappel::service::outreach::{AckRequest, AckStatus, QueueOutcome, QueueRequest};
use rappel::service::{operator, MemoryFilter, Services};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{customer_body, embedder, expect, spawn};

const T0: &str = "2026-11-25T12:00:00Z";

async fn services(dir: &std::path::Path) -> (Services, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(T0.parse().unwrap()));
    let settings = Settings {
        data_dir: dir.to_owned(),
        ..Settings::default()
    };
    (
        rappel::startup::services(&settings, embedder(), clock.clone())
            .await
            .unwrap(),
        clock,
    )
}

async fn customer(services: &Services, ext: &str, prefs: serde_json::Value) -> String {
    let principal = operator(WorkspaceId::default_workspace());
    let mut body = customer_body(ext);
    body["timezone"] = json!("Europe/Paris");
    let c = services
        .create_customer(&principal, serde_json::from_value(body).unwrap())
        .await
        .unwrap();
    services
        .put_preferences(&principal, c.id.as_str(), serde_json::from_value(prefs).unwrap(), None)
        .await
        .unwrap();
    c.id.to_string()
}

fn request(customer: &str, reason: &str) -> QueueRequest {
    QueueRequest {
        customer_id: customer.into(),
        reason_code: reason.into(),
        reason: format!("because of {reason}"),
        evidence: vec!["int-1".into()],
        channels: vec![Channel::Sms, Channel::Email],
        templates: BTreeMap::from([
            ("en".into(), "Hi {first_name} ({topic})".into()),
            ("fr".into(), "Bonjour {first_name} ({topic})".into()),
        ]),
        topic: Some("votre hub".into()),
        priority: None,
        not_before: None,
        expires_at: None,
        cooldown_hours: None,
    }
}

fn source() -> OutreachSource {
    OutreachSource {
        kind: "job".into(),
        id: "test".into(),
    }
}

fn consent(granted: bool) -> serde_json::Value {
    json!({"granted": granted, "at": "2026-01-01T00:00:00Z", "source": "test"})
}

#[actix_web::test]
async fn queuing_follows_consent_do_not_contact_the_weekly_cap_and_deduplication() {
    let dir = tempfile::tempdir().unwrap();
    let (services, _) = services(dir.path()).await;
    let principal = operator(WorkspaceId::default_workspace());
    let ok = customer(&services, "ok", json!({"consent": {"email": consent(true), "sms": consent(false)}, "tone": "casual", "max_contacts_per_week": 1, "preferred_language": "fr"})).await;
    let dnc = customer(
        &services,
        "dnc",
        json!({"consent": {"email": consent(true)}, "do_not_contact": true}),
    )
    .await;
    let none = customer(&services, "none", json!({"consent": {"sms": consent(false)}})).await;

    let QueueOutcome::Queued { item } = services
        .queue_outreach(&principal, source(), request(&ok, "a"))
        .await
        .unwrap()
    else {
        panic!("not queued")
    };
    assert_eq!(
        item.channel,
        Channel::Email,
        "sms has no consent: the next consented channel"
    );
    assert_eq!(item.language, "fr");
    assert_eq!(item.message, "Bonjour Camille (votre hub)");
    let again = services
        .queue_outreach(&principal, source(), request(&ok, "a"))
        .await
        .unwrap();
    assert!(
        matches!(
            again,
            QueueOutcome::Skipped {
                rule: SkipRule::Duplicate
            }
        ),
        "{again:?}"
    );
    let capped = services
        .queue_outreach(&principal, source(), request(&ok, "b"))
        .await
        .unwrap();
    assert!(
        matches!(
            capped,
            QueueOutcome::Skipped {
                rule: SkipRule::WeeklyCap
            }
        ),
        "{capped:?}"
    );
    let skipped = services
        .queue_outreach(&principal, source(), request(&dnc, "a"))
        .await
        .unwrap();
    assert!(matches!(
        skipped,
        QueueOutcome::Skipped {
            rule: SkipRule::DoNotContact
        }
    ));
    let skipped = services
        .queue_outreach(&principal, source(), request(&none, "a"))
        .await
        .unwrap();
    assert!(matches!(
        skipped,
        QueueOutcome::Skipped {
            rule: SkipRule::NoConsent
        }
    ));
}

#[actix_web::test]
async fn quiet_hours_delay_an_item_and_claims_recheck_consent() {
    let dir = tempfile::tempdir().unwrap();
    let (services, clock) = services(dir.path()).await;
    let principal = operator(WorkspaceId::default_workspace());
    // 12:00 UTC is 13:00 in Paris: inside 12:30-14:00 quiet hours, so the item waits until 13:00 UTC.
    let quiet = customer(
        &services,
        "quiet",
        json!({"consent": {"email": consent(true)}, "quiet_hours": {"start": "12:30", "end": "14:00"}}),
    )
    .await;
    let QueueOutcome::Queued { item } = services
        .queue_outreach(&principal, source(), request(&quiet, "q"))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(
        item.not_before,
        "2026-11-25T13:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert!(
        services
            .claim_outreach(&principal, None, 10, 300)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    clock.set("2026-11-25T13:00:00Z".parse().unwrap());
    assert_eq!(
        services.claim_outreach(&principal, None, 10, 300).await.unwrap().len(),
        1
    );

    // Consent withdrawn after queuing: the claim cancels the item instead of handing it out.
    let fickle = customer(&services, "fickle", json!({"consent": {"email": consent(true)}})).await;
    services
        .queue_outreach(&principal, source(), request(&fickle, "f"))
        .await
        .unwrap();
    services
        .patch_preferences(
            &principal,
            &fickle,
            json!({"consent": {"email": {"granted": false}}}),
            None,
        )
        .await
        .unwrap();
    assert!(services
        .claim_outreach(&principal, None, 10, 300)
        .await
        .unwrap()
        .is_empty());
    let items = services
        .list_outreach(
            &principal,
            rappel::service::outreach::OutreachFilter {
                customer_id: Some(fickle),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(items.items[0].state, OutreachState::Cancelled);
}

#[actix_web::test]
async fn leases_expire_acks_are_idempotent_and_sent_items_become_memories() {
    let dir = tempfile::tempdir().unwrap();
    let (services, clock) = services(dir.path()).await;
    let principal = operator(WorkspaceId::default_workspace());
    let id = customer(&services, "c", json!({"consent": {"email": consent(true)}})).await;
    services
        .queue_outreach(&principal, source(), request(&id, "x"))
        .await
        .unwrap();
    let first = services
        .claim_outreach(&principal, Some(Channel::Email), 10, 60)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        services
            .claim_outreach(&principal, None, 10, 60)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    clock.set("2026-11-25T12:02:00Z".parse().unwrap());
    let again = services.claim_outreach(&principal, None, 10, 60).await.unwrap();
    assert_eq!(again[0].id, first[0].id, "an expired lease returns the item");

    let sent = AckRequest {
        status: AckStatus::Sent,
        provider_message_id: Some("p-1".into()),
        error: None,
    };
    let item = services
        .ack_outreach(&principal, &first[0].id, sent.clone())
        .await
        .unwrap();
    assert_eq!(item.state, OutreachState::Sent);
    assert_eq!(
        services.ack_outreach(&principal, &first[0].id, sent).await.unwrap(),
        item,
        "idempotent"
    );
    // The memory of a sent item is formed just after the acknowledgement.
    let mut remembered = false;
    for _ in 0..100 {
        let memories = services
            .list_memories(&principal, &id, MemoryFilter::default(), None, 10)
            .await
            .unwrap()
            .items;
        remembered = memories
            .iter()
            .any(|m| m.provenance.message_ids == [item.id.clone()] && m.text.contains("because of x"));
        if remembered {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(remembered, "the sent item became a memory");

    // Three failures make an item failed.
    clock.set("2026-11-25T12:03:00Z".parse().unwrap());
    services
        .queue_outreach(&principal, source(), request(&id, "y"))
        .await
        .unwrap();
    let failing = services
        .claim_outreach(&principal, None, 10, 60)
        .await
        .unwrap()
        .remove(0);
    let mut state = OutreachState::Queued;
    for attempt in 1..=3 {
        let failed = AckRequest {
            status: AckStatus::Failed,
            provider_message_id: None,
            error: Some(format!("bounce {attempt}")),
        };
        state = services
            .ack_outreach(&principal, &failing.id, failed)
            .await
            .unwrap()
            .state;
        if attempt < 3 {
            assert_eq!(state, OutreachState::Queued);
            clock.set(services.now() + Duration::hours(2));
            assert_eq!(
                services.claim_outreach(&principal, None, 10, 60).await.unwrap().len(),
                1
            );
        }
    }
    assert_eq!(state, OutreachState::Failed);
}

#[actix_web::test]
async fn two_senders_draining_the_queue_concurrently_get_every_item_exactly_once() {
    let app = spawn().await;
    let mut ids = Vec::new();
    for n in 0..12 {
        let mut body = customer_body(&format!("s-{n}"));
        body["timezone"] = json!("UTC");
        let c = app.create_customer(body).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let prefs = json!({"consent": {"email": consent(true)}});
        expect(
            app.req(Method::PUT, &format!("/v1/customers/{id}/preferences"))
                .json(&prefs)
                .send()
                .await
                .unwrap(),
            StatusCode::OK,
        )
        .await;
        let q = json!({"customer_id": id, "reason_code": "r", "reason": "test", "templates": {"en": "Hi"}});
        let res = expect(
            app.req(Method::POST, "/v1/outreach").json(&q).send().await.unwrap(),
            StatusCode::CREATED,
        )
        .await;
        ids.push(res["item"]["id"].as_str().unwrap().to_owned());
    }
    let sender = |name: &'static str| {
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            let mut mine = Vec::new();
            loop {
                let res = client
                    .post(format!("{base}/v1/outreach/claim"))
                    .bearer_auth(crate::helpers::ADMIN_KEY)
                    .json(&json!({"channel": "email", "max": 2, "lease_seconds": 60}))
                    .send()
                    .await
                    .unwrap();
                let items: Vec<serde_json::Value> = res.json().await.unwrap();
                if items.is_empty() {
                    return mine;
                }
                for item in items {
                    let id = item["id"].as_str().unwrap().to_owned();
                    let ack = json!({"status": "sent", "provider_message_id": format!("{name}-{id}")});
                    let res = client
                        .post(format!("{base}/v1/outreach/{id}/ack"))
                        .bearer_auth(crate::helpers::ADMIN_KEY)
                        .json(&ack)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(res.status(), StatusCode::OK);
                    mine.push(id);
                }
            }
        }
    };
    let (a, b) = futures_util::join!(sender("a"), sender("b"));
    let all: Vec<&String> = a.iter().chain(&b).collect();
    let unique: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "an item was delivered twice");
    assert_eq!(unique.len(), ids.len(), "every item delivered");
    let sent = expect(
        app.req(Method::GET, "/v1/outreach?state=sent&limit=100")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(sent["items"].as_array().unwrap().len(), ids.len());
}
