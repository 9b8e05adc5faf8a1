//! Every job over the demo data at a fixed time: exactly the customers the demo storylines call for get an item.

use std::collections::BTreeMap;
use std::sync::Arc;

use rappel::config::Settings;
use rappel::domain::outreach::OutreachState;
use rappel::domain::WorkspaceId;
use rappel::jobs::{definition, Jobs};
use rappel::service::clock::FixedClock;
use rappel::service::{import, operator, Services};

use crate::helpers::embedder;

/// The demo's reference time.
const NOW: &str = "2026-11-25T09:00:00Z";

async fn demo_services(dir: &std::path::Path) -> Services {
    let settings = Settings {
        data_dir: dir.to_owned(),
        ..Settings::default()
    };
    let services = rappel::startup::services(&settings, embedder(), Arc::new(FixedClock(NOW.parse().unwrap())))
        .await
        .unwrap();
    let mut records = import::read_file("fixtures/demo/customers.ndjson".as_ref()).unwrap();
    records.extend(import::read_file("fixtures/demo/interactions.ndjson".as_ref()).unwrap());
    let stats = services
        .import(&WorkspaceId::default_workspace(), records, |_| {})
        .await
        .unwrap();
    assert_eq!(stats.failed, 0, "{:?}", stats.errors);
    services
}

/// External ids of the customers with an item from `job`, and the runs' skip counts.
async fn queued_by(services: &Services, job: &str) -> Vec<String> {
    let principal = operator(WorkspaceId::default_workspace());
    let filter = rappel::service::outreach::OutreachFilter {
        source: Some(job.into()),
        ..Default::default()
    };
    let items = services
        .list_outreach(&principal, filter, None, 100)
        .await
        .unwrap()
        .items;
    let mut out = Vec::new();
    for item in items {
        assert_eq!(item.state, OutreachState::Queued);
        let c = services
            .get_customer(&principal, item.customer_id.as_str())
            .await
            .unwrap();
        out.push(c.fields.external_id);
    }
    out.sort();
    out
}

#[actix_web::test]
async fn every_job_over_the_demo_data_targets_exactly_the_storyline_customers() {
    let dir = tempfile::tempdir().unwrap();
    let services = demo_services(dir.path()).await;
    let jobs = Jobs::new(definition::load_dir("jobs".as_ref()).unwrap());
    let mut got = BTreeMap::new();
    for job in jobs.definitions() {
        let run = jobs.run(&services, &job.id, None, "manual").await.unwrap().unwrap();
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        assert_eq!(run.customers_scanned, 48);
        got.insert(
            job.id.clone(),
            (queued_by(&services, &job.id).await, run.skipped.clone(), run.matches),
        );
    }
    for (job, (customers, skipped, matches)) in &got {
        println!("{job}: {matches} matches, queued {customers:?}, skipped {skipped:?}");
    }
    let queued = |job: &str| got[job].0.iter().map(String::as_str).collect::<Vec<_>>();
    // Storyline: 1004 and 1033 renew within 30 days in trouble, 1017 is in trouble too (no renewal date needed
    // for the inferred case: its renewal is within 30 days as well), 1023 went silent after being active.
    // Near misses 1009 and 1039 (happy, renewing) and 1022 (45 days away) are left alone.
    assert_eq!(queued("churn_risk"), ["cus-1004", "cus-1017", "cus-1023", "cus-1033"]);
    // CSAT 1-2 in the last 30 days: exactly the four storyline tickets' customers.
    assert_eq!(
        queued("low_csat_followup"),
        ["cus-1004", "cus-1017", "cus-1027", "cus-1033"]
    );
    // Three contacts about the nightly Hub v1 drop-outs; 1004 matches too but had already had two proactive
    // contacts this week (cap 2), so the cap skipped it. 1033 (French, no shared error code in one of the three
    // openings) is missed: the default model is English-only. Near miss 1018 (two contacts) is left alone.
    assert_eq!(queued("repeat_contact"), ["cus-1027"]);
    assert_eq!(got["repeat_contact"].1.get("weekly_cap"), Some(&1));
    // Open tickets whose last word is the customer's for more than 48 hours (1017, 1025, 1046) and a promise
    // past due in an open ticket (1008, credit policy promised for 11-23). Near miss 1048 was answered 20 hours ago.
    assert_eq!(
        queued("unresolved_aging"),
        ["cus-1008", "cus-1017", "cus-1025", "cus-1046"]
    );
    // The lexicon reads the churn customers' long, polite but angry e-mails as nearly neutral, so only 1021's
    // drop is caught (see the issue notes).
    assert_eq!(queued("sentiment_decline"), ["cus-1021"]);
    for (job, (customers, _, _)) in &got {
        for never in [
            "cus-1009", "cus-1039", "cus-1018", "cus-1048", "cus-1028", "cus-1012", "cus-1041",
        ] {
            assert!(
                !customers.iter().any(|c| c == never),
                "{job} queued near miss or do-not-contact {never}"
            );
        }
    }
    // Running again queues nothing new.
    for job in jobs.definitions() {
        let again = jobs.run(&services, &job.id, None, "manual").await.unwrap().unwrap();
        assert_eq!(again.queued, 0, "{} queued again", job.id);
    }
}
