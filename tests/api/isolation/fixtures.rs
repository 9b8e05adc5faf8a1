//! The data of the isolation suite: a populated workspace, its ids, made-up ids of the same shape, and a valid
//! body for every operation (so a 404 cannot hide behind a 422).

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{customer_body, expect, TestApp};

/// What a path parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Res {
    Customer,
    ExternalId,
    Interaction,
    Memory,
    Campaign,
    Incident,
    Knowledge,
    Team,
    Job,
    Key,
    Outreach,
}

/// The ids of one workspace's data.
#[derive(Debug, Default, Clone)]
pub(super) struct Ids {
    pub(super) admin: String,
    pub(super) of: BTreeMap<Res, String>,
    /// The customer's external id, a job run and the second key's secret.
    pub(super) extra: BTreeMap<&'static str, String>,
}

impl Ids {
    pub(super) fn get(&self, res: Res) -> String {
        self.of[&res].clone()
    }
}

/// An id of the same shape as `real` that names nothing.
pub(super) fn made_up(res: Res, real: &str) -> String {
    let fresh = ulid::Ulid::new().to_string().to_lowercase();
    match (res, real.split_once('_')) {
        (Res::ExternalId | Res::Job, _) => format!("no-such-{fresh}"),
        (_, Some((prefix, _))) => format!("{prefix}_{fresh}"),
        (_, None) => fresh,
    }
}

/// A valid body for an operation, so a 404 cannot hide behind a 422. `None`: this file does not know it.
pub(super) fn body(op: &str, mine: &Ids) -> Option<Value> {
    let customer = mine.of.get(&Res::Customer).cloned().unwrap_or_default();
    Some(match op {
        "PATCH /v1/campaigns/{id}" => json!({"name": "renamed by B"}),
        "PUT /v1/customers/by-external-id/{external_id}" => {
            let mut c = customer_body("");
            c.as_object_mut().unwrap().remove("external_id");
            c
        }
        "PATCH /v1/customers/{id}" => json!({"plan": "hijacked"}),
        "POST /v1/customers/{id}/context" => json!({"message": "my hub disconnects"}),
        "POST /v1/customers/{id}/interactions" => ticket("b-ticket", "My hub disconnects again."),
        "PATCH /v1/customers/{id}/interactions/{iid}" => json!({"status": "resolved", "csat": 1}),
        "POST /v1/customers/{id}/interactions/{iid}/messages" => message("b-extra", "Injected by B."),
        "PATCH /v1/customers/{id}/memories/{mid}" => json!({"text": "rewritten by B", "pinned": true}),
        "PUT /v1/customers/{id}/preferences" => json!({"do_not_contact": true}),
        "PATCH /v1/customers/{id}/preferences" => json!({"tone": "formal"}),
        "POST /v1/customers/{id}/recall" => json!({"query": "hub disconnects"}),
        "PATCH /v1/incidents/{id}" => json!({"resolution": "closed by B", "ended_at": "2026-11-24T12:00:00Z"}),
        "PATCH /v1/jobs/{id}" => json!({"enabled": false}),
        "PATCH /v1/knowledge/{id}" => json!({"title": "Rewritten by B"}),
        "PATCH /v1/teams/{id}" => json!({"name": "renamed by B", "escalations": true}),
        "POST /v1/outreach/{id}/ack" => json!({"status": "sent", "provider_message_id": "b"}),
        // Operations without a path parameter, as B calls them.
        "POST /v1/campaigns" => campaign("B's campaign"),
        "POST /v1/customers" => customer_body("b-created"),
        "POST /v1/incidents" => incident("Hub outage"),
        "POST /v1/teams" => team("B's billing"),
        "POST /v1/jobs" => json!({}),
        "POST /v1/keys" => json!({"name": "b-bot", "scopes": ["read"]}),
        "POST /v1/knowledge" => article("B's hub article"),
        "POST /v1/knowledge/search" => json!({"query": "hub disconnects every night", "k": 20}),
        "POST /v1/outreach" => outreach(&customer),
        "POST /v1/outreach/claim" => json!({"max": 500}),
        "POST /v1/resolutions/similar" => json!({"query": "hub disconnects every night", "k": 50}),
        "POST /v1/search" => json!({"query": "hub disconnects every night", "limit": 100}),
        "POST /v1/workspaces" => json!({"id": "gamma", "name": "Gamma"}),
        "POST /v1/maintenance/health" | "POST /v1/maintenance/retention" => return Some(Value::Null),
        _ => return None,
    })
}

fn message(id: &str, text: &str) -> Value {
    json!({"id": id, "role": "customer", "text": text, "sent_at": "2026-11-01T09:00:00Z"})
}

fn ticket(ext: &str, text: &str) -> Value {
    json!({"external_id": ext, "channel": "email", "status": "open", "opened_at": "2026-11-01T09:00:00Z",
           "messages": [message(&format!("{ext}-1"), text),
                        {"id": format!("{ext}-2"), "role": "agent", "text": "We will send a replacement by Friday.",
                         "sent_at": "2026-11-01T10:00:00Z"}]})
}

fn campaign(name: &str) -> Value {
    json!({"name": name, "segment": {"plan": "pro"},
           "outreach": {"channels": ["email"], "templates": {"en": "Hi {first_name}"}}})
}

fn incident(title: &str) -> Value {
    json!({"title": title, "description": "Hubs disconnect every night.", "started_at": "2026-10-21T00:00:00Z"})
}

fn article(title: &str) -> Value {
    json!({"title": title, "language": "en", "source": format!("{title}.md"),
           "body": format!("## {title}\n\nWhen the hub disconnects every night, restart it.")})
}

fn team(name: &str) -> Value {
    json!({"name": name, "topics": ["invoices and refunds"], "languages": ["en"]})
}

fn outreach(customer: &str) -> Value {
    json!({"customer_id": customer, "reason_code": "check_in", "reason": "a check-in", "channels": ["email"],
           "templates": {"en": "Hi {first_name}"}})
}

pub(super) async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let res = app.req_as(key, Method::POST, path).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

/// A workspace with a customer, preferences, an interaction (and its memories), a queued outreach item, an
/// incident, a campaign, a team, a second key and a job run; `words` go into the customer's name and messages.
pub(super) async fn populate(app: &TestApp, ws: &str, words: &str) -> Ids {
    let created = post(
        app,
        crate::helpers::ADMIN_KEY,
        "/v1/workspaces",
        json!({"id": ws, "name": ws}),
    )
    .await;
    let admin = created["admin_key"]["secret"].as_str().unwrap().to_owned();
    let key = admin.as_str();
    let mut ids = Ids {
        admin: admin.clone(),
        ..Ids::default()
    };
    let ext = format!("{ws}-customer");
    let mut body = customer_body(&ext);
    body["name"] = json!(format!("{words} Dubois"));
    body["timezone"] = json!("UTC");
    let customer = post(app, key, "/v1/customers", body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let prefs = json!({"consent": {"email": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "test"}}});
    let res = app
        .req_as(key, Method::PUT, &format!("/v1/customers/{customer}/preferences"))
        .json(&prefs)
        .send()
        .await
        .unwrap();
    expect(res, StatusCode::OK).await;
    let text = format!("My {words} hub disconnects every night and the battery drains in a day.");
    let interaction = post(
        app,
        key,
        &format!("/v1/customers/{customer}/interactions"),
        ticket(&format!("{ws}-t"), &text),
    )
    .await;
    let memories = expect(
        app.req_as(key, Method::GET, &format!("/v1/customers/{customer}/memories"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let item = post(app, key, "/v1/outreach", outreach(&customer)).await;
    let run = post(app, key, "/v1/jobs/low_csat_followup/run", json!({})).await;
    let second = post(
        app,
        key,
        "/v1/keys",
        json!({"name": format!("{ws}-bot"), "scopes": ["read"]}),
    )
    .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    ids.of.insert(Res::Customer, customer.clone());
    ids.of.insert(Res::ExternalId, ext.clone());
    ids.of.insert(Res::Interaction, id(&interaction));
    ids.of.insert(Res::Memory, id(&memories["items"][0]));
    ids.of.insert(
        Res::Campaign,
        id(&post(app, key, "/v1/campaigns", campaign(&format!("{words} check-in"))).await),
    );
    ids.of.insert(
        Res::Incident,
        id(&post(app, key, "/v1/incidents", incident(&format!("{words} outage"))).await),
    );
    ids.of.insert(
        Res::Knowledge,
        id(&post(app, key, "/v1/knowledge", article(&format!("{words} hub disconnects"))).await),
    );
    ids.of.insert(
        Res::Team,
        id(&post(app, key, "/v1/teams", team(&format!("{words} billing"))).await),
    );
    ids.of.insert(Res::Job, "low_csat_followup".into());
    ids.of.insert(Res::Key, id(&second));
    ids.of.insert(Res::Outreach, id(&item["item"]));
    ids.extra.insert("run", id(&run));
    ids.extra
        .insert("secret", second["secret"].as_str().unwrap().to_owned());
    ids
}
