//! When a promise is due, read from its words relative to when it was said: explicit dates ("by 15 September",
//! "d'ici le 31 octobre", "le 15"), weekdays ("by Friday", "jeudi"), "today", "tomorrow", spans in calendar or
//! working days, weeks and hours ("within 48 hours", "sous 3 jours ouvrés"), the end of the week or month, and
//! clock times ("d'ici 17 h"). All arithmetic is checked: a promise far outside the calendar has no due time.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

const WEEKDAYS: &[(Weekday, &[&str])] = &[
    (Weekday::Mon, &["monday", "lundi"]),
    (Weekday::Tue, &["tuesday", "mardi"]),
    (Weekday::Wed, &["wednesday", "mercredi"]),
    (Weekday::Thu, &["thursday", "jeudi"]),
    (Weekday::Fri, &["friday", "vendredi"]),
    (Weekday::Sat, &["saturday", "samedi"]),
    (Weekday::Sun, &["sunday", "dimanche"]),
];

const MONTHS: &[(u32, &[&str])] = &[
    (1, &["january", "jan", "janvier", "janv"]),
    (2, &["february", "feb", "fevrier", "fevr"]),
    (3, &["march", "mar", "mars"]),
    (4, &["april", "apr", "avril"]),
    (5, &["may", "mai"]),
    (6, &["june", "jun", "juin"]),
    (7, &["july", "jul", "juillet"]),
    (8, &["august", "aug", "aout"]),
    (9, &["september", "sept", "sep", "septembre"]),
    (10, &["october", "oct", "octobre"]),
    (11, &["november", "nov", "novembre"]),
    (12, &["december", "dec", "decembre"]),
];

const NUMBER_WORDS: &[(&str, i64)] = &[
    ("one", 1),
    ("a", 1),
    ("an", 1),
    ("two", 2),
    ("three", 3),
    ("four", 4),
    ("five", 5),
    ("six", 6),
    ("seven", 7),
    ("ten", 10),
    ("fourteen", 14),
    ("un", 1),
    ("une", 1),
    ("deux", 2),
    ("trois", 3),
    ("quatre", 4),
    ("cinq", 5),
    ("sept", 7),
    ("huit", 8),
    ("dix", 10),
    ("quinze", 15),
];

fn at_time(day: NaiveDate, h: u32, m: u32) -> Option<DateTime<Utc>> {
    Some(Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(h, m, 0)?)))
}

fn end_of_day(day: NaiveDate) -> Option<DateTime<Utc>> {
    at_time(day, 18, 0)
}

fn next_weekday(from: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (weekday.num_days_from_monday() as i64 - from.weekday().num_days_from_monday() as i64).rem_euclid(7);
    from.checked_add_signed(Duration::days(if ahead == 0 { 7 } else { ahead }))
}

fn add_working_days(from: NaiveDate, n: i64) -> Option<NaiveDate> {
    let mut day = from;
    let mut left = n;
    while left > 0 {
        day = day.succ_opt()?;
        if day.weekday().num_days_from_monday() < 5 {
            left -= 1;
        }
    }
    Some(day)
}

fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn number(word: &str) -> Option<i64> {
    word.parse::<i64>()
        .ok()
        .or_else(|| NUMBER_WORDS.iter().find(|(w, _)| *w == word).map(|(_, n)| *n))
        .filter(|n| (0..=366).contains(n))
}

fn has(s: &str, needles: &[&str]) -> bool {
    let padded = format!(" {} ", words(s).join(" "));
    needles.iter().any(|n| padded.contains(&format!(" {n} ")))
}

/// A clock time named in the text ("17 h", "5pm", "10am", "midi", "noon"), as (hour, minute).
fn clock(w: &[&str]) -> Option<(u32, u32)> {
    if w.iter().any(|x| *x == "noon" || *x == "midi") {
        return Some((12, 0));
    }
    for (i, word) in w.iter().enumerate() {
        let (digits, suffix): (String, String) = word.chars().partition(|c| c.is_ascii_digit());
        let Ok(h) = digits.parse::<u32>() else { continue };
        let next = w.get(i + 1).copied().unwrap_or("");
        let before = i.checked_sub(1).and_then(|p| w.get(p)).copied().unwrap_or("");
        let pm = suffix == "pm" || next == "pm";
        let am = suffix == "am" || next == "am";
        let french_h = (suffix == "h" || next == "h" || next == "heures")
            && ["a", "avant", "vers", "ici", "entre", "pour"].contains(&before);
        if (pm || am || french_h) && h <= 23 {
            let hour = if pm && h < 12 { h + 12 } else { h };
            return Some((hour, 0));
        }
    }
    None
}

/// An explicit date: "15 september", "september 15th", "le 31 octobre", "d'ici le 15".
fn explicit_date(w: &[&str], sent: NaiveDate) -> Option<NaiveDate> {
    let month_of = |word: &str| MONTHS.iter().find(|(_, names)| names.contains(&word)).map(|(m, _)| *m);
    let day_of = |word: &str| {
        let digits: String = word.chars().take_while(|c| c.is_ascii_digit()).collect();
        let rest = &word[digits.len()..];
        digits
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=31).contains(d) && ["", "st", "nd", "rd", "th", "er"].contains(&rest))
    };
    let pick = |month: u32, day: u32| {
        let this = NaiveDate::from_ymd_opt(sent.year(), month, day)?;
        if this + Duration::days(14) < sent {
            NaiveDate::from_ymd_opt(sent.year().checked_add(1)?, month, day)
        } else {
            Some(this)
        }
    };
    for (i, word) in w.iter().enumerate() {
        if let Some(day) = day_of(word) {
            // "15 september", "15th of september"
            let next = w.get(i + 1).copied().unwrap_or("");
            let after = if next == "of" {
                w.get(i + 2).copied().unwrap_or("")
            } else {
                next
            };
            if let Some(m) = month_of(after) {
                return pick(m, day);
            }
        }
        if let Some(m) = month_of(word) {
            // "september 15": not "may" the verb, so only with a day after it.
            if let Some(day) = w.get(i + 1).and_then(|x| day_of(x)) {
                return pick(m, day);
            }
        }
    }
    // "d'ici le 15", "avant le 20", "by the 15th": a day of this month, or next month when it has passed.
    for (i, word) in w.iter().enumerate() {
        let Some(day) = day_of(word) else { continue };
        let before = i.checked_sub(1).and_then(|p| w.get(p)).copied().unwrap_or("");
        let ordinal = word.ends_with("th") || word.ends_with("st") || word.ends_with("nd") || word.ends_with("rd");
        if (before == "le" && w.get(i + 1).is_none_or(|n| *n != "h")) || (before == "the" && ordinal) {
            let this = NaiveDate::from_ymd_opt(sent.year(), sent.month(), day);
            return match this {
                Some(d) if d >= sent => Some(d),
                _ => {
                    let (y, m) = if sent.month() == 12 {
                        (sent.year().checked_add(1)?, 1)
                    } else {
                        (sent.year(), sent.month() + 1)
                    };
                    NaiveDate::from_ymd_opt(y, m, day)
                }
            };
        }
    }
    None
}

/// The due time a promise states, relative to when it was said (end of business day, 18:00 UTC, unless a clock
/// time is named). `s` is lowercased and accent-folded.
pub fn due(s: &str, sent_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let w = words(s);
    let today = sent_at.date_naive();
    let clock = clock(&w);
    let on = |day: NaiveDate| match clock {
        Some((h, m)) => at_time(day, h, m),
        None => end_of_day(day),
    };
    if let Some(day) = explicit_date(&w, today) {
        return on(day);
    }
    if has(s, &["tomorrow", "demain"]) {
        return on(today.succ_opt()?);
    }
    if has(
        s,
        &[
            "today",
            "tonight",
            "this afternoon",
            "this evening",
            "aujourd hui",
            "ce soir",
            "cet apres midi",
            "dans la journee",
            "d ici ce soir",
            "in the day",
        ],
    ) {
        return on(today);
    }
    for (weekday, names) in WEEKDAYS {
        if names.iter().any(|n| w.contains(n)) {
            return on(next_weekday(today, *weekday)?);
        }
    }
    // "within 3 working days", "sous 48 h", "in two weeks", "dans 5 jours".
    for (i, word) in w.iter().enumerate() {
        let Some(n) = number(word) else { continue };
        let next = w.get(i + 1).copied().unwrap_or("");
        let after = w.get(i + 2).copied().unwrap_or("");
        let before = i.checked_sub(1).and_then(|p| w.get(p)).copied().unwrap_or("");
        let clock_word = ["a", "avant", "vers", "ici", "entre", "at", "by", "before"].contains(&before);
        match next {
            "working" | "business" => return end_of_day(add_working_days(today, n)?),
            "jours" | "jour" if after.starts_with("ouvr") => return end_of_day(add_working_days(today, n)?),
            "days" | "day" | "jours" | "jour" => return end_of_day(today.checked_add_signed(Duration::days(n))?),
            "weeks" | "week" | "semaines" | "semaine" => {
                return end_of_day(today.checked_add_signed(Duration::days(7 * n))?)
            }
            "hours" | "hour" | "heures" | "heure" | "h" | "hrs" | "hr" if !clock_word || n > 23 => {
                return sent_at.checked_add_signed(Duration::hours(n))
            }
            "minutes" | "min" | "mins" => return sent_at.checked_add_signed(Duration::minutes(n)),
            _ => {}
        }
        let (digits, suffix): (String, String) = word.chars().partition(|c| c.is_ascii_digit());
        if !digits.is_empty() && suffix == "h" && !clock_word {
            return sent_at.checked_add_signed(Duration::hours(n));
        }
    }
    if has(s, &["huitaine", "sous huit jours"]) {
        return end_of_day(today.checked_add_signed(Duration::days(8))?);
    }
    if has(s, &["quinzaine"]) {
        return end_of_day(today.checked_add_signed(Duration::days(15))?);
    }
    if has(s, &["next week", "la semaine prochaine", "semaine prochaine"]) {
        return end_of_day(today.checked_add_signed(Duration::days(7))?);
    }
    if has(
        s,
        &[
            "end of the week",
            "end of week",
            "end of this week",
            "fin de semaine",
            "fin de la semaine",
            "this week",
            "cette semaine",
        ],
    ) {
        return end_of_day(next_weekday(today.pred_opt()?, Weekday::Fri)?);
    }
    if has(s, &["end of the month", "end of month", "fin du mois", "fin de mois"]) {
        let (y, m) = if today.month() == 12 {
            (today.year().checked_add(1)?, 1)
        } else {
            (today.year(), today.month() + 1)
        };
        return end_of_day(NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()?);
    }
    if let Some((h, m)) = clock {
        let same_day = at_time(today, h, m)?;
        return if same_day > sent_at {
            Some(same_day)
        } else {
            at_time(today.succ_opt()?, h, m)
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-25T10:00:00Z".parse().unwrap() // a Wednesday
    }

    fn day(s: &str) -> Option<String> {
        due(s, at()).map(|d| d.format("%Y-%m-%d").to_string())
    }

    #[test]
    fn due_times_are_read_relative_to_the_message() {
        assert_eq!(day("we will refund you by friday").unwrap(), "2026-11-27");
        assert_eq!(due("within 48 hours", at()).unwrap(), at() + Duration::hours(48));
        assert_eq!(
            due("je vous rappelle demain avant midi", at()).unwrap().to_rfc3339(),
            "2026-11-26T12:00:00+00:00"
        );
        assert_eq!(day("sous 3 jours").unwrap(), "2026-11-28");
        assert_eq!(due("we will look into it", at()), None);
    }

    #[test]
    fn dates_working_days_and_clock_times() {
        assert_eq!(day("a credit will be applied by september 15").unwrap(), "2027-09-15");
        assert_eq!(day("d'ici le 31 decembre").unwrap(), "2026-12-31");
        assert_eq!(
            day("le transfert est programme pour le 14 decembre").unwrap(),
            "2026-12-14"
        );
        assert_eq!(day("within 3 working days").unwrap(), "2026-11-30");
        assert_eq!(day("sous 3 jours ouvres").unwrap(), "2026-11-30");
        assert_eq!(day("je reviens vers vous d'ici 17 h").unwrap(), "2026-11-25");
        assert_eq!(
            day("un technicien passe jeudi entre 8 h et midi").unwrap(),
            "2026-11-26"
        );
        assert_eq!(day("it will arrive by monday").unwrap(), "2026-11-30");
        assert_eq!(day("in two weeks").unwrap(), "2026-12-09");
        assert_eq!(day("d'ici le 2").unwrap(), "2026-12-02");
        assert_eq!(due("in 99999999 days", at()), None, "no overflow");
    }

    #[test]
    fn far_dates_never_overflow() {
        let far: DateTime<Utc> = "+262142-12-31T23:59:59Z".parse().unwrap();
        for text in [
            "tomorrow",
            "in 3 days",
            "by friday",
            "within 48 hours",
            "end of the month",
            "next week",
        ] {
            let _ = due(text, far);
        }
    }
}
