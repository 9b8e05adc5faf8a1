//! The parameters each detector kind takes and their accepted ranges: one table, read both by the validation
//! of job definitions and by the OpenAPI schema of a detector, so the two say the same.

/// A parameter's type on the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamType {
    /// A whole number.
    Integer,
    /// Any number.
    Number,
}

/// One parameter: name, type and inclusive range.
pub type Param = (&'static str, ParamType, f64, f64);

use ParamType::{Integer, Number};

const DAYS: f64 = 3650.0;

/// Every detector kind with its parameters (all optional; the defaults are in each detector's module).
pub const KINDS: &[(&str, &[Param])] = &[
    (
        "repeat_contact",
        &[
            ("min_contacts", Integer, 2.0, 1000.0),
            ("days", Integer, 1.0, DAYS),
            ("similarity", Number, -1.0, 1.0),
        ],
    ),
    (
        "sentiment_decline",
        &[
            ("threshold", Number, -1.0, 1.0),
            ("margin", Number, 0.0, 2.0),
            ("recent_days", Integer, 1.0, DAYS),
            ("baseline_days", Integer, 1.0, DAYS),
            ("min_messages", Integer, 1.0, 1000.0),
        ],
    ),
    ("unresolved_aging", &[("hours", Integer, 1.0, 87_600.0)]),
    (
        "churn_risk",
        &[
            ("renewal_days", Integer, 1.0, DAYS),
            ("sentiment_below", Number, -1.0, 1.0),
            ("silent_days", Integer, 1.0, DAYS),
            ("active_contacts", Integer, 1.0, 1000.0),
        ],
    ),
    (
        "low_csat_followup",
        &[
            ("days", Integer, 1.0, DAYS),
            ("max_csat", Integer, 1.0, 5.0),
            ("max_nps", Integer, 0.0, 10.0),
        ],
    ),
    (
        "incident_match",
        &[
            ("similarity", Number, -1.0, 1.0),
            ("owner_similarity", Number, -1.0, 1.0),
            ("lookback_days", Integer, 0.0, DAYS),
            ("follow_up_days", Integer, 1.0, DAYS),
        ],
    ),
    (
        "expansion",
        &[
            ("min_health", Integer, 0.0, 100.0),
            ("min_sentiment", Number, -1.0, 1.0),
            ("recent_days", Integer, 1.0, DAYS),
            ("min_messages", Integer, 1.0, 1000.0),
            ("min_devices", Integer, 1.0, 100_000.0),
            ("usage_days", Integer, 1.0, DAYS),
        ],
    ),
];

/// Checks the parameters of a detector, given as its JSON form (`{"kind": ..., params...}`): each must lie in
/// its range (so date arithmetic on them stays within the calendar).
pub fn check(detector: &serde_json::Value) -> Result<(), String> {
    let kind = detector
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    let Some((_, params)) = KINDS.iter().find(|(k, _)| *k == kind) else {
        return Err(format!("unknown detector kind {kind:?}"));
    };
    for (name, _, lo, hi) in *params {
        if let Some(value) = detector.get(*name).and_then(serde_json::Value::as_f64) {
            if !(*lo..=*hi).contains(&value) {
                return Err(format!("detector.{name} must be between {lo} and {hi}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Detector;
    use super::*;
    use serde_json::json;

    #[test]
    fn the_table_names_every_kind_and_parameter_the_detectors_read() {
        for (kind, params) in KINDS {
            let detector: Detector = serde_json::from_value(json!({"kind": kind})).unwrap();
            let mut value = serde_json::to_value(&detector).unwrap();
            let object = value.as_object_mut().unwrap();
            object.remove("kind");
            let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
            let mut listed: Vec<&str> = params.iter().map(|p| p.0).collect();
            names.sort_unstable();
            listed.sort_unstable();
            assert_eq!(names, listed, "{kind}");
            check(&serde_json::to_value(&detector).unwrap()).unwrap_or_else(|e| panic!("{kind} defaults: {e}"));
        }
    }

    #[test]
    fn parameters_out_of_range_are_refused() {
        assert!(check(&json!({"kind": "unresolved_aging", "hours": 48})).is_ok());
        assert!(check(&json!({"kind": "unresolved_aging", "hours": 1e15})).is_err());
        assert!(check(&json!({"kind": "low_csat_followup", "days": 0})).is_err());
        assert!(check(&json!({"kind": "incident_match", "similarity": 1.5})).is_err());
    }
}
