//! Health on the demo's storyline customers: those in trouble (repeated contacts, an unresolved issue, a broken
//! promise, a threat to leave) should score below 50, the calm and satisfied ones above 70.

use chrono::{DateTime, Utc};

use super::{Eval, Row};
use crate::domain::Principal;

/// Storyline customers in trouble on 2026-11-25 (fixtures/demo/README.md).
pub const IN_TROUBLE: [&str; 8] = [
    "cus-1033", "cus-1004", "cus-1017", "cus-1027", "cus-1046", "cus-1025", "cus-1008", "cus-1032",
];
/// Calm, satisfied storyline customers on 2026-11-25.
pub const CALM: [&str; 6] = ["cus-1009", "cus-1039", "cus-1020", "cus-1042", "cus-1043", "cus-1001"];

/// Each customer's score, and the share of each group on the right side of its line.
pub async fn evaluate(eval: &Eval, principal: &Principal, now: DateTime<Utc>) -> anyhow::Result<Vec<Row>> {
    eval.clock.set(now);
    if std::env::var_os("RAPPEL_EVAL_DUMP").is_some() {
        dump(eval, principal, now).await?;
    }
    let mut rows = Vec::new();
    for (group, ids, ok) in [
        ("in trouble (< 50)", &IN_TROUBLE[..], (|s: u8| s < 50) as fn(u8) -> bool),
        ("calm (> 70)", &CALM[..], |s: u8| s > 70),
    ] {
        let mut right = 0;
        for ext in ids {
            let customer = eval.services.get_customer_by_external_id(principal, ext).await?;
            let report = eval.services.health(principal, customer.id.as_str()).await?;
            let score = report.current.score;
            if ok(score) {
                right += 1;
            }
            let why: Vec<String> = report
                .current
                .caps
                .iter()
                .map(|c| format!("cap {} {}: {}", c.max, c.name, c.detail))
                .chain(
                    report
                        .current
                        .parts
                        .iter()
                        .filter(|p| p.value < 0.5)
                        .map(|p| format!("{}: {}", p.name, p.detail)),
                )
                .collect();
            println!("health {ext} {score:>3}  {group}  {}", why.join("; "));
            rows.push(Row::new("health", group, "all", "demo", ext, "score", score as f64, 1));
        }
        rows.push(Row::new(
            "health",
            group,
            "all",
            "demo",
            "all",
            "share right",
            right as f64 / ids.len() as f64,
            ids.len(),
        ));
    }
    Ok(rows)
}

/// Prints every demo customer's open issues and broken promises (RAPPEL_EVAL_DUMP=1), to check the lifecycle.
async fn dump(eval: &Eval, principal: &Principal, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::domain::lifecycle::{issue_open_at, overdue_at};
    use crate::service::MemoryFilter;
    for n in 1001..=1048 {
        let ext = format!("cus-{n}");
        let customer = eval.services.get_customer_by_external_id(principal, &ext).await?;
        let memories = eval
            .services
            .list_memories(principal, customer.id.as_str(), MemoryFilter::default(), None, 100_000)
            .await?
            .items;
        for m in memories.iter().filter(|m| {
            overdue_at(m, now)
                || issue_open_at(m, now)
                || (m.kind == crate::domain::memory::MemoryKind::Commitment
                    && ["cus-1004", "cus-1033", "cus-1017"].contains(&ext.as_str()))
        }) {
            let what = if overdue_at(m, now) {
                "OVERDUE"
            } else if issue_open_at(m, now) {
                "OPEN"
            } else {
                "commitment"
            };
            println!(
                "dump {ext} {what} {} {}: {}",
                m.provenance.interaction_id,
                m.due_at.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                m.text.replace('\n', " ").chars().take(120).collect::<String>()
            );
        }
    }
    Ok(())
}
