//! Field validators shared by customers and preferences. Each returns the normalised value or an
//! [`InvalidInput`] naming the field.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::str::FromStr;

use super::InvalidInput;

/// Longest accepted plain text field (names, companies, plans, sources), in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// The first year a time given by a client may fall in.
pub const FIRST_YEAR: i32 = 1970;
/// The last year a time given by a client may fall in.
pub const LAST_YEAR: i32 = 9999;

/// Checks that a time given by a client lies in the years 1970-9999, so date arithmetic on it (due dates, windows,
/// schedules) can never leave chrono's range.
pub fn time(field: &str, at: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>, InvalidInput> {
    in_years(field, at)
}

/// Checks that a calendar date from a client falls in the years [`FIRST_YEAR`]-[`LAST_YEAR`], like [`time`].
pub fn date(field: &str, day: chrono::NaiveDate) -> Result<chrono::NaiveDate, InvalidInput> {
    in_years(field, day)
}

fn in_years<T: chrono::Datelike>(field: &str, value: T) -> Result<T, InvalidInput> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&value.year()) {
        Ok(value)
    } else {
        Err(InvalidInput::new(
            "invalid_time",
            field,
            format!("must fall in the years {FIRST_YEAR}-{LAST_YEAR}"),
        ))
    }
}

/// Checks an optional text with [`text`].
pub fn opt_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>, InvalidInput> {
    value.map(|v| text(field, v, max)).transpose()
}

/// Checks an optional time with [`time`].
pub fn opt_time(
    field: &str,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, InvalidInput> {
    at.map(|t| time(field, t)).transpose()
}

/// Checks a slug (team names): 1-64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit, as
/// workspace ids.
pub fn slug(field: &str, value: &str) -> Result<String, InvalidInput> {
    let ok = (1..=64).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(value.to_owned())
    } else {
        Err(InvalidInput::new(
            "invalid_field",
            field,
            "must be 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit",
        ))
    }
}

/// Trims `value` and checks it is non-empty, at most `max` characters and free of control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, InvalidInput> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidInput::new("invalid_field", field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(InvalidInput::new(
            "invalid_field",
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(|c| c.is_control() || is_noncharacter(c)) {
        return Err(InvalidInput::new(
            "invalid_field",
            field,
            "must not contain control characters or noncharacters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of every plane): never text, and
/// U+10FFFF is the upper bound of the store's key ranges.
fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xFDD0..=0xFDEF).contains(&n) || (n & 0xFFFE) == 0xFFFE
}

/// Checks an e-mail address's shape (one `@`, a dotted domain, no spaces) and lowercases its domain.
pub fn email(field: &str, value: &str) -> Result<String, InvalidInput> {
    let bad = || {
        InvalidInput::new(
            "invalid_email",
            field,
            format!("{value:?} is not a valid e-mail address"),
        )
    };
    let value = value.trim();
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic));
    if local_ok && domain_ok && value.len() <= 254 {
        Ok(format!("{local}@{}", domain.to_lowercase()))
    } else {
        Err(bad())
    }
}

/// Checks a phone number loosely: digits with optional `+`, spaces, dots, dashes and parentheses, 4-20 digits.
pub fn phone(field: &str, value: &str) -> Result<String, InvalidInput> {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let chars_ok = value.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c));
    let plus_ok = value.rfind('+').is_none_or(|i| i == 0);
    if chars_ok && plus_ok && (4..=20).contains(&digits) {
        Ok(value.to_owned())
    } else {
        Err(InvalidInput::new(
            "invalid_phone",
            field,
            format!("{value:?} is not a phone number"),
        ))
    }
}

/// Checks a BCP 47 language tag (`fr`, `en-GB`, `zh-Hant-TW`) and returns it in canonical case.
pub fn language(field: &str, value: &str) -> Result<String, InvalidInput> {
    let bad = || {
        InvalidInput::new(
            "invalid_language",
            field,
            format!("{value:?} is not a BCP 47 language tag such as \"fr\" or \"en-GB\""),
        )
    };
    let mut parts = value.trim().split(['-', '_']);
    let primary = parts
        .next()
        .filter(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()))
        .ok_or_else(bad)?;
    let mut canonical = primary.to_ascii_lowercase();
    for (i, part) in parts.enumerate() {
        if part.is_empty() || part.len() > 8 || !part.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad());
        }
        canonical.push('-');
        let is_alpha = part.chars().all(|c| c.is_ascii_alphabetic());
        match (i, part.len()) {
            (_, 4) if is_alpha => {
                canonical.push_str(&part[..1].to_ascii_uppercase());
                canonical.push_str(&part[1..].to_ascii_lowercase());
            }
            (_, 2) if is_alpha => canonical.push_str(&part.to_ascii_uppercase()),
            _ => canonical.push_str(&part.to_ascii_lowercase()),
        }
    }
    Ok(canonical)
}

/// Checks an IANA time zone name (`Europe/Paris`) and returns its canonical spelling.
pub fn timezone(field: &str, value: &str) -> Result<String, InvalidInput> {
    chrono_tz::Tz::from_str(value.trim())
        .or_else(|_| chrono_tz::Tz::from_str_insensitive(value.trim()))
        .map(|tz| tz.name().to_owned())
        .map_err(|_| {
            InvalidInput::new(
                "invalid_timezone",
                field,
                format!("{value:?} is not an IANA time zone such as \"Europe/Paris\""),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_their_domain_lowercased() {
        assert_eq!(email("e", " Jo.Doe+x@Example.COM ").unwrap(), "Jo.Doe+x@example.com");
        for bad in [
            "",
            "a",
            "a@b",
            "a@b.c",
            "a b@c.de",
            "@c.de",
            "a@@c.de",
            "a@-c.de",
            "a..b@c.de",
            "a@c.d3",
        ] {
            assert_eq!(email("e", bad).unwrap_err().code, "invalid_email", "{bad:?} accepted");
        }
    }

    #[test]
    fn language_tags_are_canonicalised() {
        assert_eq!(language("l", "EN-gb").unwrap(), "en-GB");
        assert_eq!(language("l", "zh-hant-tw").unwrap(), "zh-Hant-TW");
        assert_eq!(language("l", "fr").unwrap(), "fr");
        for bad in ["", "e", "english", "en-", "en--GB", "en-GB!", "12"] {
            assert!(language("l", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(timezone("t", "europe/paris").unwrap(), "Europe/Paris");
        assert_eq!(timezone("t", "UTC").unwrap(), "UTC");
        assert_eq!(timezone("t", "Mars/Olympus").unwrap_err().code, "invalid_timezone");
    }

    #[test]
    fn phones_allow_common_punctuation() {
        assert!(phone("p", "+33 6 12 34 56 78").is_ok());
        assert!(phone("p", "(415) 555-0142").is_ok());
        assert!(phone("p", "12").is_err());
        assert!(phone("p", "call me").is_err());
        assert!(phone("p", "33+6").is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("n", "  Ana ", 10).unwrap(), "Ana");
        assert!(text("n", "   ", 10).is_err());
        assert!(text("n", "abcdefghijk", 10).is_err());
        assert!(text("n", "a\u{0}b", 10).is_err());
        assert!(text("n", "a\u{10FFFF}", 10).is_err());
    }
}
