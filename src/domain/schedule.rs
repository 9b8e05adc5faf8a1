//! Cron schedules (six fields, seconds first), shared by jobs and campaigns.

use chrono::{DateTime, SubsecRound, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use std::str::FromStr;

/// Parses a six-field cron expression (seconds first).
pub fn parse_cron(expr: &str) -> Result<Cron, String> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .build()
        .parse(expr)
        .map_err(|e| format!("invalid cron {expr:?}: {e}"))
}

/// The latest time at or before `now` that the schedule `expr` names in `timezone`, in whole seconds; `None` for
/// an invalid expression or time zone.
///
/// croner keeps the start time's fraction of a second in what it finds (09:06:00.417 for "every minute" asked at
/// 09:06:00.417), so two nodes asking at different instants of one second would name two different scheduled
/// times. Cron has whole seconds: `now` is truncated first, and every node names the same time.
pub fn previous_fire(expr: &str, timezone: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz = chrono_tz::Tz::from_str(timezone).ok()?;
    let cron = parse_cron(expr).ok()?;
    cron.find_previous_occurrence(&now.trunc_subsecs(0).with_timezone(&tz), true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instant_of_a_second_names_the_same_whole_second() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let minute = at("2026-11-30T09:06:00Z");
        for now in [
            "2026-11-30T09:06:00Z",
            "2026-11-30T09:06:00.088Z",
            "2026-11-30T09:06:00.417Z",
            "2026-11-30T09:06:59.999999Z",
        ] {
            assert_eq!(previous_fire("0 * * * * *", "UTC", at(now)), Some(minute), "{now}");
        }
        assert_eq!(
            previous_fire("0 * * * * *", "UTC", at("2026-11-30T09:05:59.999Z")),
            Some(at("2026-11-30T09:05:00Z"))
        );
        assert_eq!(previous_fire("0 0 9 * * *", "Mars/Olympus", minute), None);
        assert_eq!(previous_fire("not a cron", "UTC", minute), None);
    }
}
