//! Routing on handoff, on `fixtures/eval/routing.ndjson`: conversations written for the demo company's teams
//! (`fixtures/demo/teams/`), each labelled with the team a support lead would pick. Each is ingested for its own
//! customer and handed off through the service; the accuracy of the chosen team is set beside a keyword-only
//! baseline (the team whose topics share the most words with the customer's messages), per split and language.
//! `fixtures/eval/routing-blind.ndjson` is a second held-out set, written without sight of the method or of its
//! results after the method was chosen on the dev split; it is reported as its own split.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Eval, Row};
use crate::domain::interaction::InteractionInput;
use crate::domain::routing::keyword_choice;
use crate::domain::CustomerFields;

/// The handoff time when an item does not name one: a Wednesday afternoon in Europe, morning in New York.
const DEFAULT_AT: &str = "2026-11-25T14:00:00Z";

#[derive(Deserialize)]
struct Item {
    id: String,
    split: String,
    lang: String,
    customer: ItemCustomer,
    product: Option<String>,
    channel: String,
    subject: Option<String>,
    messages: Vec<ItemMessage>,
    expected: String,
    at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct ItemCustomer {
    language: String,
    plan: String,
    lifetime_value: f64,
}

#[derive(Deserialize)]
struct ItemMessage {
    role: String,
    text: String,
}

/// Accuracy of the routed team and of the keyword baseline, by split and language.
pub async fn evaluate(eval: &Eval) -> anyhow::Result<Vec<Row>> {
    let mut items: Vec<Item> = Vec::new();
    for (file, blind) in [("eval/routing.ndjson", false), ("eval/routing-blind.ndjson", true)] {
        let path = eval.fixtures.join(file);
        if blind && !path.exists() {
            continue;
        }
        let text = std::fs::read_to_string(path)?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut item: Item = serde_json::from_str(line)?;
            if blind {
                item.split = "blind".into();
            }
            items.push(item);
        }
    }
    let principal = eval.principal("routing-eval").await?;
    let now: DateTime<Utc> = DEFAULT_AT.parse()?;
    eval.clock.set(now);
    crate::startup::load_teams(&eval.services, &principal, &eval.fixtures.join("demo/teams")).await?;
    let teams = eval.services.list_teams(&principal).await?;
    // (split, lang, routed right, keyword right)
    let mut outcomes: Vec<(String, String, bool, bool)> = Vec::new();
    let verbose = std::env::var_os("RAPPEL_EVAL_DUMP").is_some();
    for item in &items {
        let at = item.at.unwrap_or(now);
        eval.clock.set(at - Duration::minutes(30));
        let fields: CustomerFields = serde_json::from_value(json!({
            "external_id": format!("route-{}", item.id),
            "language": item.customer.language,
            "plan": item.customer.plan,
            "lifetime_value": item.customer.lifetime_value,
        }))?;
        let customer = eval.services.create_customer(&principal, fields).await?;
        let messages: Vec<_> = item
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                json!({"id": format!("{}-m{i}", item.id), "role": m.role, "text": m.text,
                       "sent_at": at - Duration::minutes(20) + Duration::minutes(i as i64)})
            })
            .collect();
        let input: InteractionInput = serde_json::from_value(json!({
            "external_id": item.id, "channel": item.channel, "status": "open",
            "opened_at": at - Duration::minutes(20), "subject": item.subject, "product": item.product,
            "messages": messages,
        }))?;
        eval.services
            .ingest_interaction(&principal, customer.id.as_str(), input)
            .await?;
        eval.clock.set(at);
        let brief = eval
            .services
            .handoff(&principal, customer.id.as_str(), &item.id)
            .await?;
        let routed = brief
            .route
            .as_ref()
            .map(|r| r.team.team_name.clone())
            .unwrap_or_default();
        let said: Vec<&str> = item
            .subject
            .iter()
            .map(String::as_str)
            .chain(
                item.messages
                    .iter()
                    .filter(|m| m.role == "customer")
                    .map(|m| m.text.as_str()),
            )
            .collect();
        let keyword = keyword_choice(&teams, &said.join("\n"))
            .map(|t| t.fields.name.clone())
            .unwrap_or_default();
        if verbose || (routed != item.expected && item.split == "dev") {
            let reason = brief.route.as_ref().map(|r| r.team.reason.clone()).unwrap_or_default();
            println!(
                "routing {} {} {:<3} expected {:<24} routed {:<24} keyword {:<24} ({reason})",
                item.id, item.split, item.lang, item.expected, routed, keyword
            );
        }
        outcomes.push((
            item.split.clone(),
            item.lang.clone(),
            routed == item.expected,
            keyword == item.expected,
        ));
    }
    let mut rows = Vec::new();
    for split in ["dev", "heldout", "blind"] {
        for lang in ["en", "fr", "all"] {
            let picked: Vec<_> = outcomes
                .iter()
                .filter(|o| o.0 == split && (lang == "all" || o.1 == lang))
                .collect();
            if picked.is_empty() {
                continue;
            }
            let n = picked.len();
            let share =
                |f: fn(&(String, String, bool, bool)) -> bool| picked.iter().filter(|o| f(o)).count() as f64 / n as f64;
            let split_name = match split {
                "heldout" => "held-out",
                "blind" => "held-out (blind)",
                other => other,
            };
            rows.push(Row::new(
                "routing",
                "team labelled",
                lang,
                split_name,
                "routed",
                "accuracy",
                share(|o| o.2),
                n,
            ));
            rows.push(Row::new(
                "routing",
                "team labelled",
                lang,
                split_name,
                "keyword",
                "accuracy",
                share(|o| o.3),
                n,
            ));
        }
    }
    Ok(rows)
}
