//! The writers of the crash test and what they were told: every write the server acknowledged with a 2xx, kept in
//! one ledger that the verifier checks after each restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A black-box client of one running server.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

/// Why a call gave no answer to record.
#[derive(Debug)]
pub enum CallError {
    /// No answer: the server is gone (killed) or not there yet.
    Transport(reqwest::Error),
    /// An answer that is not a 2xx.
    Status(StatusCode, String),
}

impl Api {
    /// A client for `base` (`http://127.0.0.1:PORT`) with this key; a fresh connection pool per server.
    pub fn new(base: String, key: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base,
            key: key.to_owned(),
        }
    }

    /// Sends a request and returns the JSON body of a 2xx answer (`null` when empty).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, CallError> {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            req = req.json(body);
        }
        let res = req.send().await.map_err(CallError::Transport)?;
        let status = res.status();
        let text = res.text().await.map_err(CallError::Transport)?;
        if !status.is_success() {
            return Err(CallError::Status(status, text));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET /readyz` answered 200.
    pub async fn ready(&self) -> bool {
        self.call(Method::GET, "/readyz", None).await.is_ok()
    }
}

/// Every write the server acknowledged, across all cycles.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Customer id → external id.
    pub customers: BTreeMap<String, String>,
    /// Customer id → the token written into its preferences (`custom.token`).
    pub preferences: BTreeMap<String, String>,
    /// Interaction id → (customer id, acknowledged message ids).
    pub interactions: BTreeMap<String, (String, BTreeSet<String>)>,
    /// Outreach items whose queuing was acknowledged.
    pub queued: BTreeSet<String>,
    /// Outreach item → its customer (a sent item becomes a memory of the customer).
    pub item_customer: BTreeMap<String, String>,
    /// Items handed out by an acknowledged claim (leased for a day) and not yet acknowledged as sent.
    pub claimed: BTreeSet<String>,
    /// Items whose `sent` acknowledgement was acknowledged.
    pub sent: BTreeSet<String>,
    /// Acknowledged writes by kind.
    pub acknowledged: BTreeMap<&'static str, u64>,
    /// Answers that should never happen (5xx, unexpected 4xx), with the request.
    pub unexpected: Vec<String>,
}

impl Ledger {
    fn ack(&mut self, kind: &'static str) {
        *self.acknowledged.entry(kind).or_default() += 1;
    }
}

/// The shared ledger.
pub type Shared = Arc<Mutex<Ledger>>;

/// One writer: creates customers, sets their preferences, posts interactions and appends messages, queues outreach
/// items, claims and acknowledges them; until `stop` or until the server stops answering.
pub async fn write(api: Api, ledger: Shared, stop: Arc<AtomicBool>, tag: String) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        match one_round(&api, &ledger, &format!("{tag}-{n}"), n).await {
            Ok(()) => {}
            Err(CallError::Transport(_)) => return,
            Err(CallError::Status(status, text)) => {
                ledger.lock().unwrap().unexpected.push(format!("{status}: {text}"));
                return;
            }
        }
    }
}

/// Records an unexpected answer with what was asked.
fn context(what: &str) -> impl FnOnce(CallError) -> CallError + '_ {
    move |e| match e {
        CallError::Status(s, text) => CallError::Status(s, format!("{what}: {text}")),
        other => other,
    }
}

async fn one_round(api: &Api, ledger: &Shared, ext: &str, n: u64) -> Result<(), CallError> {
    let customer = json!({"external_id": ext, "name": format!("Crash {ext}"), "email": format!("{ext}@example.com"),
                          "language": "en", "timezone": "UTC", "plan": "pro"});
    let created = api
        .call(Method::POST, "/v1/customers", Some(&customer))
        .await
        .map_err(context("POST /v1/customers"))?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    {
        let mut l = ledger.lock().unwrap();
        l.customers.insert(id.clone(), ext.to_owned());
        l.ack("customer");
    }

    let prefs = json!({"consent": {"email": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "crash"}},
                       "custom": {"token": ext}});
    let path = format!("/v1/customers/{id}/preferences");
    api.call(Method::PUT, &path, Some(&prefs))
        .await
        .map_err(context(&path))?;
    {
        let mut l = ledger.lock().unwrap();
        l.preferences.insert(id.clone(), ext.to_owned());
        l.ack("preferences");
    }

    let ticket = json!({"external_id": format!("t-{ext}"), "channel": "email", "status": "open",
        "opened_at": "2026-11-01T09:00:00Z", "messages": [
            {"id": format!("{ext}-m1"), "role": "customer", "sent_at": "2026-11-01T09:00:00Z",
             "text": format!("Ticket {ext}: my hub disconnects every night since the update.")},
            {"id": format!("{ext}-m2"), "role": "agent", "sent_at": "2026-11-01T09:30:00Z",
             "text": "Sorry about that, we will send a replacement by Friday."}]});
    let path = format!("/v1/customers/{id}/interactions");
    let interaction = api
        .call(Method::POST, &path, Some(&ticket))
        .await
        .map_err(context(&path))?;
    let iid = interaction["id"].as_str().unwrap_or_default().to_owned();
    {
        let mut l = ledger.lock().unwrap();
        let ids = [format!("{ext}-m1"), format!("{ext}-m2")].into_iter().collect();
        l.interactions.insert(iid.clone(), (id.clone(), ids));
        l.ack("interaction");
    }

    let message = json!({"id": format!("{ext}-m3"), "role": "customer", "sent_at": "2026-11-01T10:00:00Z",
                         "text": "Still offline this morning, please hurry."});
    let path = format!("/v1/customers/{id}/interactions/{iid}/messages");
    api.call(Method::POST, &path, Some(&message))
        .await
        .map_err(context(&path))?;
    {
        let mut l = ledger.lock().unwrap();
        if let Some((_, ids)) = l.interactions.get_mut(&iid) {
            ids.insert(format!("{ext}-m3"));
        }
        l.ack("message");
    }

    let item = json!({"customer_id": id, "reason_code": "crash_test", "reason": format!("check-in {ext}"),
                      "channels": ["email"], "templates": {"en": "Hi {first_name}"}});
    let queued = api
        .call(Method::POST, "/v1/outreach", Some(&item))
        .await
        .map_err(context("POST /v1/outreach"))?;
    match queued["item"]["id"].as_str() {
        Some(item) => {
            let mut l = ledger.lock().unwrap();
            l.queued.insert(item.to_owned());
            l.item_customer.insert(item.to_owned(), id.clone());
            l.ack("outreach_queued");
        }
        None => ledger
            .lock()
            .unwrap()
            .unexpected
            .push(format!("POST /v1/outreach queued nothing: {queued}")),
    }

    if n.is_multiple_of(2) {
        let claim = json!({"max": 2, "lease_seconds": 86_400});
        let items = api
            .call(Method::POST, "/v1/outreach/claim", Some(&claim))
            .await
            .map_err(context("POST /v1/outreach/claim"))?;
        let ids: Vec<String> = items
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect();
        {
            let mut l = ledger.lock().unwrap();
            for item in &ids {
                if l.sent.contains(item) || l.claimed.contains(item) {
                    l.unexpected.push(format!("{item} handed out again by a claim"));
                }
                l.claimed.insert(item.clone());
            }
            l.ack("outreach_claim");
        }
        for item in ids {
            let path = format!("/v1/outreach/{item}/ack");
            let sent = json!({"status": "sent", "provider_message_id": format!("crash-{item}")});
            api.call(Method::POST, &path, Some(&sent))
                .await
                .map_err(context(&path))?;
            let mut l = ledger.lock().unwrap();
            l.claimed.remove(&item);
            l.sent.insert(item);
            l.ack("outreach_ack");
        }
    }
    Ok(())
}
