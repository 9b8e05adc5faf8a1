//! The period of a metrics request and its day, week or month buckets (UTC).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::{validate, InvalidInput};

/// Bucket size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// Calendar days, UTC.
    #[default]
    Day,
    /// ISO weeks, Monday 00:00 UTC to the next Monday.
    Week,
    /// Calendar months, UTC.
    Month,
}

/// Most buckets one request may ask for (about three years of days).
pub const MAX_BUCKETS: usize = 1_100;

/// Days covered when `since` is not given.
pub const DEFAULT_DAYS: i64 = 30;

/// A checked period: `since` < `until`, both in the accepted years, at most [`MAX_BUCKETS`] buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Start (inclusive).
    pub since: DateTime<Utc>,
    /// End (exclusive).
    pub until: DateTime<Utc>,
    /// Bucket size.
    pub group_by: GroupBy,
}

impl Period {
    /// Checks a requested period: `until` defaults to the end of `now`'s UTC day (so repeated calls agree), `since` to
    /// [`DEFAULT_DAYS`] before `until`. Times out
    /// of the years 1970-9999 are `invalid_time`; `since` not before `until`, or too many buckets, is
    /// `invalid_period`.
    pub fn new(
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        group_by: GroupBy,
        now: DateTime<Utc>,
    ) -> Result<Self, InvalidInput> {
        validate::opt_time("since", since)?;
        validate::opt_time("until", until)?;
        let today = now.date_naive();
        let until = until.unwrap_or_else(|| midnight(today.succ_opt().unwrap_or(today)));
        let since = match since {
            Some(s) => s,
            None => until
                .checked_sub_signed(Duration::days(DEFAULT_DAYS))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        };
        if since >= until {
            return Err(InvalidInput::new("invalid_period", "since", "must be before until"));
        }
        let period = Self { since, until, group_by };
        let mut count = 0;
        let mut at = period.start_of(since);
        while at < until {
            count += 1;
            if count > MAX_BUCKETS {
                return Err(InvalidInput::new(
                    "invalid_period",
                    "since",
                    format!(
                        "the period holds more than {MAX_BUCKETS} buckets: use a larger group_by or a shorter period"
                    ),
                ));
            }
            at = period.next(at);
        }
        Ok(period)
    }

    /// Whether `at` falls in the period.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since <= at && at < self.until
    }

    /// The start of the bucket holding `at`.
    fn start_of(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = at.date_naive();
        let first = match self.group_by {
            GroupBy::Day => day,
            GroupBy::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            GroupBy::Month => day.with_day(1).unwrap_or(day),
        };
        midnight(first)
    }

    /// The start of the bucket after the one starting at `start`.
    fn next(&self, start: DateTime<Utc>) -> DateTime<Utc> {
        let day = start.date_naive();
        let next = match self.group_by {
            GroupBy::Day => day.succ_opt(),
            GroupBy::Week => day.checked_add_signed(Duration::days(7)),
            GroupBy::Month => {
                let (y, m) = if day.month() == 12 {
                    (day.year() + 1, 1)
                } else {
                    (day.year(), day.month() + 1)
                };
                NaiveDate::from_ymd_opt(y, m, 1)
            }
        };
        next.map_or(DateTime::<Utc>::MAX_UTC, midnight)
    }

    /// Every bucket, cut to the period: (start, end).
    pub fn buckets(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let mut at = self.start_of(self.since);
        while at < self.until && out.len() < MAX_BUCKETS {
            let next = self.next(at);
            out.push((at.max(self.since), next.min(self.until)));
            at = next;
        }
        out
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// The index of the bucket of `bounds` holding `at`.
pub fn index(bounds: &[(DateTime<Utc>, DateTime<Utc>)], at: DateTime<Utc>) -> Option<usize> {
    let i = bounds.partition_point(|(_, end)| *end <= at);
    bounds.get(i).filter(|(start, _)| *start <= at).map(|_| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_are_cut_to_the_period() {
        // 2026-11-04 is a Wednesday; the weeks start on Monday 2026-11-02 and 2026-11-09.
        let p = Period::new(
            Some(t("2026-11-04T00:00:00Z")),
            Some(t("2026-11-12T00:00:00Z")),
            GroupBy::Week,
            t("2027-01-01T00:00:00Z"),
        )
        .unwrap();
        let b = p.buckets();
        assert_eq!(
            b,
            vec![
                (t("2026-11-04T00:00:00Z"), t("2026-11-09T00:00:00Z")),
                (t("2026-11-09T00:00:00Z"), t("2026-11-12T00:00:00Z")),
            ]
        );
        assert_eq!(index(&b, t("2026-11-09T00:00:00Z")), Some(1));
        assert_eq!(index(&b, t("2026-11-12T00:00:00Z")), None);
    }

    #[test]
    fn months_roll_over_the_year_and_bad_periods_are_refused() {
        let now = t("2027-01-01T00:00:00Z");
        let p = Period::new(
            Some(t("2026-11-15T00:00:00Z")),
            Some(t("2027-01-02T00:00:00Z")),
            GroupBy::Month,
            now,
        )
        .unwrap();
        assert_eq!(p.buckets().len(), 3);
        let until = Some(t("2026-01-01T00:00:00Z"));
        assert_eq!(
            Period::new(until, until, GroupBy::Day, now).unwrap_err().code,
            "invalid_period"
        );
        let far = Period::new(Some(t("1970-01-01T00:00:00Z")), until, GroupBy::Day, now).unwrap_err();
        assert_eq!(far.code, "invalid_period");
        assert!(Period::new(Some(t("1970-01-01T00:00:00Z")), until, GroupBy::Month, now).is_ok());
    }
}
