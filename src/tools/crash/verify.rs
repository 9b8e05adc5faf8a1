//! After a restart: every acknowledged write is there, and the outreach queue keeps its promises (no item both
//! claimed and queued, acknowledged items never handed out again, every queued item claimable exactly once).

use std::collections::{BTreeMap, BTreeSet};

use futures_util::stream::{self, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};

use super::writer::{Api, CallError, Ledger};

/// Requests the verifier keeps in flight.
const PARALLEL: usize = 8;

/// What one verification found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Acknowledged writes not found, one line each.
    pub lost: Vec<String>,
    /// Queue invariants broken, one line each.
    pub violations: Vec<String>,
    /// Items the verifier itself claimed and acknowledged as sent.
    pub drained: usize,
}

/// GETs `paths` with a few requests in flight; a path maps to its body, or to the error.
async fn get_all(api: &Api, paths: Vec<String>) -> BTreeMap<String, Result<Value, String>> {
    stream::iter(paths)
        .map(|path| async move {
            let got = api.call(Method::GET, &path, None).await.map_err(|e| match e {
                CallError::Status(s, text) => format!("{s} {text}"),
                CallError::Transport(e) => format!("no answer: {e}"),
            });
            (path, got)
        })
        .buffer_unordered(PARALLEL)
        .collect()
        .await
}

/// Checks the ledger against the restarted server, then drains the queue (the drained items join the ledger as
/// sent, so later cycles check they are never handed out again).
pub async fn verify(api: &Api, ledger: &mut Ledger) -> anyhow::Result<Findings> {
    let mut found = Findings::default();
    let mut lost = |what: String| found.lost.push(what);

    let paths = ledger
        .customers
        .keys()
        .map(|id| format!("/v1/customers/{id}"))
        .collect();
    let got = get_all(api, paths).await;
    for (id, ext) in &ledger.customers {
        match &got[&format!("/v1/customers/{id}")] {
            Ok(c) if c["external_id"] == json!(ext) => {}
            other => lost(format!("customer {id} ({ext}): {other:?}")),
        }
    }
    let paths = ledger
        .preferences
        .keys()
        .map(|id| format!("/v1/customers/{id}/preferences"))
        .collect();
    let got = get_all(api, paths).await;
    for (id, token) in &ledger.preferences {
        match &got[&format!("/v1/customers/{id}/preferences")] {
            Ok(p) if p["custom"]["token"] == json!(token) => {}
            other => lost(format!("preferences of {id} ({token}): {other:?}")),
        }
    }
    let path_of = |iid: &str, customer: &str| format!("/v1/customers/{customer}/interactions/{iid}");
    let paths = ledger
        .interactions
        .iter()
        .map(|(iid, (c, _))| path_of(iid, c))
        .collect();
    let got = get_all(api, paths).await;
    for (iid, (customer, messages)) in &ledger.interactions {
        match &got[&path_of(iid, customer)] {
            Ok(i) => {
                let stored: BTreeSet<&str> = i["messages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m["id"].as_str())
                    .collect();
                for m in messages.iter().filter(|m| !stored.contains(m.as_str())) {
                    lost(format!("message {m} of interaction {iid}"));
                }
            }
            Err(e) => lost(format!("interaction {iid}: {e}")),
        }
    }

    // Every acknowledged item exists, in a state its history allows.
    let paths = ledger.queued.iter().map(|id| format!("/v1/outreach/{id}")).collect();
    let got = get_all(api, paths).await;
    for id in &ledger.queued {
        let state = match &got[&format!("/v1/outreach/{id}")] {
            Ok(item) => item["state"].as_str().unwrap_or_default().to_owned(),
            Err(e) => {
                lost(format!("outreach item {id}: {e}"));
                continue;
            }
        };
        let allowed: &[&str] = if ledger.sent.contains(id) {
            &["sent"]
        } else if ledger.claimed.contains(id) {
            &["claimed", "sent"]
        } else {
            &["queued", "claimed", "sent"]
        };
        if !allowed.contains(&state.as_str()) {
            let what = if ledger.sent.contains(id) {
                "acknowledged as sent"
            } else {
                "acknowledged"
            };
            lost(format!("outreach item {id} {what} is {state}"));
        }
    }

    // A sent item becomes a memory of its customer (provenance: the item's id), whenever the ack was answered.
    let customers: BTreeSet<&String> = ledger.sent.iter().filter_map(|i| ledger.item_customer.get(i)).collect();
    let memories_of = |c: &str| format!("/v1/customers/{c}/memories?limit=100");
    let got = get_all(api, customers.iter().map(|c| memories_of(c)).collect()).await;
    for item in &ledger.sent {
        let Some(customer) = ledger.item_customer.get(item) else {
            continue;
        };
        let remembered = got[&memories_of(customer)].as_ref().is_ok_and(|page| {
            page["items"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| m["provenance"]["message_ids"] == json!([item]))
        });
        if !remembered {
            lost(format!("the memory of sent item {item} (customer {customer})"));
        }
    }

    let queued = list(api, "queued").await?;
    let claimed = list(api, "claimed").await?;
    let broken = &mut found.violations;
    for id in queued.intersection(&claimed) {
        broken.push(format!("{id} listed both queued and claimed"));
    }
    for id in queued.iter().filter(|id| ledger.sent.contains(*id)) {
        broken.push(format!("{id} acknowledged as sent but queued again"));
    }
    for id in queued.iter().filter(|id| ledger.claimed.contains(*id)) {
        broken.push(format!("{id} claimed for a day but queued again"));
    }

    // Drain: every queued item is handed out exactly once, and nothing else is.
    let mut handed = Vec::new();
    loop {
        let claim = json!({"max": 100, "lease_seconds": 86_400});
        let items = api
            .call(Method::POST, "/v1/outreach/claim", Some(&claim))
            .await
            .map_err(|e| anyhow::anyhow!("the verifier's claim failed: {e:?}"))?;
        let mut ids = Vec::new();
        for i in items.as_array().into_iter().flatten() {
            if let (Some(id), Some(customer)) = (i["id"].as_str(), i["customer_id"].as_str()) {
                ids.push(id.to_owned());
                ledger.item_customer.insert(id.to_owned(), customer.to_owned());
            }
        }
        if ids.is_empty() {
            break;
        }
        handed.extend(ids);
    }
    let unique: BTreeSet<String> = handed.iter().cloned().collect();
    if unique.len() != handed.len() {
        broken.push(format!(
            "{} items handed out twice in one drain",
            handed.len() - unique.len()
        ));
    }
    for id in unique.difference(&queued) {
        let why = if ledger.sent.contains(id) {
            "acknowledged as sent"
        } else if ledger.claimed.contains(id) || claimed.contains(id) {
            "still leased"
        } else {
            "not listed as queued"
        };
        broken.push(format!("{id} handed out although {why}"));
    }
    for id in queued.difference(&unique) {
        broken.push(format!("{id} listed as queued but never handed out"));
    }
    for id in &unique {
        let path = format!("/v1/outreach/{id}/ack");
        api.call(Method::POST, &path, Some(&json!({"status": "sent"})))
            .await
            .map_err(|e| anyhow::anyhow!("the verifier's ack of {id} failed: {e:?}"))?;
        ledger.claimed.remove(id);
        ledger.sent.insert(id.clone());
    }
    found.drained = unique.len();
    Ok(found)
}

/// Every outreach item in `state`, across pages.
async fn list(api: &Api, state: &str) -> anyhow::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/outreach?state={state}&limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = api
            .call(Method::GET, &path, None)
            .await
            .map_err(|e| anyhow::anyhow!("{path}: {e:?}"))?;
        for item in page["items"].as_array().into_iter().flatten() {
            if item["state"] != json!(state) {
                anyhow::bail!("{path} lists {} in state {}", item["id"], item["state"]);
            }
            out.extend(item["id"].as_str().map(str::to_owned));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(out),
        }
    }
}
