//! Time in queries: "last month", "in June", "en juin", "yesterday", "the first time", "most recently". A hint
//! steers ranking towards memories of that time; it never filters, so a wrong guess costs little.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::sentiment::cues::normalise;

/// What a query says about time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeHint {
    /// Memories observed in this range (start inclusive, end exclusive).
    Range(DateTime<Utc>, DateTime<Utc>),
    /// The earliest mention ("the first time").
    Earliest,
    /// The latest mention ("most recently", "last time").
    Latest,
}

const MONTHS: [(&[&str], u32); 12] = [
    (&["january", "janvier"], 1),
    (&["february", "fevrier"], 2),
    (&["march", "mars"], 3),
    (&["april", "avril"], 4),
    (&["may", "mai"], 5),
    (&["june", "juin"], 6),
    (&["july", "juillet"], 7),
    (&["august", "aout"], 8),
    (&["september", "septembre"], 9),
    (&["october", "octobre"], 10),
    (&["november", "novembre"], 11),
    (&["december", "decembre"], 12),
];

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
}

fn month_range(year: i32, month: u32) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let start = NaiveDate::from_ymd_opt(year, month, 1)?;
    let end = if month == 12 {
        NaiveDate::from_ymd_opt(year.checked_add(1)?, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((day_start(start), day_start(end)))
}

fn words(norm: &str) -> Vec<&str> {
    norm.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect()
}

fn has_phrase(norm: &str, phrases: &[&str]) -> bool {
    let padded = format!(" {} ", words(norm).join(" "));
    phrases.iter().any(|p| padded.contains(&format!(" {p} ")))
}

/// Reads a time hint from a query asked at `now`. `observed` are the times of the customer's memories: a month
/// named without a year ("in June") is the latest such month, at or before `now`, that holds any of them.
pub fn time_hint(query: &str, now: DateTime<Utc>, observed: &[DateTime<Utc>]) -> Option<TimeHint> {
    let norm = normalise(query);
    let today = now.date_naive();
    let range = |from: NaiveDate, to: NaiveDate| Some(TimeHint::Range(day_start(from), day_start(to)));
    if has_phrase(
        &norm,
        &[
            "the first time",
            "first time",
            "la premiere fois",
            "premiere fois",
            "at first",
            "au debut",
            "initially",
            "originally",
            "au depart",
        ],
    ) {
        return Some(TimeHint::Earliest);
    }
    if has_phrase(
        &norm,
        &[
            "most recently",
            "most recent",
            "the last time",
            "last time",
            "latest",
            "la derniere fois",
            "derniere fois",
            "dernierement",
            "le plus recent",
            "la plus recente",
            "lately",
            "recently",
            "recemment",
        ],
    ) {
        return Some(TimeHint::Latest);
    }
    if has_phrase(&norm, &["yesterday", "hier"]) {
        return range(today - Duration::days(1), today);
    }
    if has_phrase(&norm, &["today", "aujourd'hui", "this morning", "ce matin"]) {
        return range(today, today + Duration::days(1));
    }
    if has_phrase(&norm, &["last week", "la semaine derniere", "la semaine passee"]) {
        return range(today - Duration::days(14), today - Duration::days(3));
    }
    if has_phrase(&norm, &["this week", "cette semaine"]) {
        return range(today - Duration::days(7), today + Duration::days(1));
    }
    if has_phrase(&norm, &["last month", "le mois dernier", "le mois passe"]) {
        let (y, m) = if today.month() == 1 {
            (today.year() - 1, 12)
        } else {
            (today.year(), today.month() - 1)
        };
        let (a, b) = month_range(y, m)?;
        return Some(TimeHint::Range(a, b));
    }
    if has_phrase(&norm, &["this month", "ce mois ci", "ce mois"]) {
        let (a, b) = month_range(today.year(), today.month())?;
        return Some(TimeHint::Range(a, b));
    }
    if has_phrase(&norm, &["last year", "l'annee derniere", "l'an dernier", "l'an passe"]) {
        let y = today.year() - 1;
        return Some(TimeHint::Range(
            day_start(NaiveDate::from_ymd_opt(y, 1, 1)?),
            day_start(NaiveDate::from_ymd_opt(y + 1, 1, 1)?),
        ));
    }
    let w = words(&norm);
    // "3 weeks ago", "il y a 2 mois"
    for (i, word) in w.iter().enumerate() {
        let Ok(n) = word.parse::<i64>() else { continue };
        if !(1..=36).contains(&n) {
            continue;
        }
        let unit = w.get(i + 1).copied().unwrap_or("");
        let days = match unit {
            "day" | "days" | "jour" | "jours" => n,
            "week" | "weeks" | "semaine" | "semaines" => 7 * n,
            "month" | "months" | "mois" => 30 * n,
            _ => continue,
        };
        let ago = w.get(i + 2) == Some(&"ago")
            || (i >= 3 && w.get(i - 3..i) == Some(&["il", "y", "a"][..]))
            || (i >= 2 && w.get(i - 2..i) == Some(&["y", "a"][..]));
        if ago {
            let center = today - Duration::days(days);
            let half = (days / 3).max(2);
            return range(center - Duration::days(half), center + Duration::days(half + 1));
        }
    }
    // A month, with or without a year.
    let year: Option<i32> = w
        .iter()
        .filter_map(|x| x.parse::<i32>().ok())
        .find(|y| (1970..=2100).contains(y));
    for (names, month) in MONTHS {
        // "may" is also a verb: only "in may", "en mai", "may 2025", "mai".
        let named = w.iter().enumerate().any(|(i, x)| {
            names.contains(x)
                && (*x != "may"
                    || i.checked_sub(1)
                        .and_then(|p| w.get(p))
                        .is_some_and(|p| ["in", "of", "early", "late", "mid", "since"].contains(p))
                    || year.is_some())
        });
        if !named {
            continue;
        }
        if let Some(y) = year {
            let (a, b) = month_range(y, month)?;
            return Some(TimeHint::Range(a, b));
        }
        // The latest such month at or before now that holds a memory; else the latest at or before now.
        let mut y = today.year();
        if month > today.month() {
            y -= 1;
        }
        for back in 0..10 {
            let (a, b) = month_range(y - back, month)?;
            if observed.iter().any(|t| *t >= a && *t < b) {
                return Some(TimeHint::Range(a, b));
            }
        }
        let (a, b) = month_range(y, month)?;
        return Some(TimeHint::Range(a, b));
    }
    if let Some(y) = year {
        return Some(TimeHint::Range(
            day_start(NaiveDate::from_ymd_opt(y, 1, 1)?),
            day_start(NaiveDate::from_ymd_opt(y + 1, 1, 1)?),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    fn range(q: &str, observed: &[&str]) -> Option<(String, String)> {
        let obs: Vec<DateTime<Utc>> = observed.iter().map(|t| t.parse().unwrap()).collect();
        match time_hint(q, now(), &obs) {
            Some(TimeHint::Range(a, b)) => Some((a.format("%Y-%m-%d").to_string(), b.format("%Y-%m-%d").to_string())),
            _ => None,
        }
    }

    #[test]
    fn months_resolve_to_the_latest_month_holding_memories() {
        assert_eq!(
            range("What was she worried about in June?", &["2025-06-10T00:00:00Z"]),
            Some(("2025-06-01".into(), "2025-07-01".into()))
        );
        assert_eq!(
            range(
                "Qu'a-t-il dit en juin ?",
                &["2026-06-03T00:00:00Z", "2025-06-10T00:00:00Z"]
            ),
            Some(("2026-06-01".into(), "2026-07-01".into()))
        );
        assert_eq!(
            range("in May 2025", &[]),
            Some(("2025-05-01".into(), "2025-06-01".into()))
        );
        assert_eq!(range("may I ask about my plan", &[]), None);
    }

    #[test]
    fn relative_times_and_order_words() {
        assert_eq!(
            range("what did he say last month", &[]),
            Some(("2026-10-01".into(), "2026-11-01".into()))
        );
        assert_eq!(
            range("le mois dernier", &[]),
            Some(("2026-10-01".into(), "2026-11-01".into()))
        );
        assert_eq!(
            range("yesterday", &[]),
            Some(("2026-11-24".into(), "2026-11-25".into()))
        );
        assert!(range("il y a 3 semaines", &[]).is_some());
        assert_eq!(
            time_hint("the first time he mentioned his knee", now(), &[]),
            Some(TimeHint::Earliest)
        );
        assert_eq!(
            time_hint("la dernière fois qu'elle a appelé", now(), &[]),
            Some(TimeHint::Latest)
        );
        assert_eq!(time_hint("where is my parcel", now(), &[]), None);
    }
}
