//! Redaction of secrets customers type into messages, before anything is embedded or stored: payment card
//! numbers (Luhn-checked) and IBANs (mod-97-checked) by default; passwords and national ids when configured.
//!
//! A number is only redacted when its check digits hold, so order numbers, phone numbers and dates stay readable.
//! The same text always redacts to the same text, so re-posting a message stays idempotent.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// One kind of secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Secret {
    /// Payment card numbers of 13-19 digits passing the Luhn check; the last four digits are kept.
    Cards,
    /// International bank account numbers passing the ISO 13616 mod-97 check.
    Iban,
    /// A password or code typed after "password", "mot de passe", "mdp", "PIN"... ("my password is hunter2").
    Passwords,
    /// French social security numbers (NIR, with a valid key) and US social security numbers.
    NationalIds,
}

impl Secret {
    const ALL: [Secret; 4] = [Secret::Cards, Secret::Iban, Secret::Passwords, Secret::NationalIds];

    /// The name used in settings.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cards => "cards",
            Self::Iban => "iban",
            Self::Passwords => "passwords",
            Self::NationalIds => "national_ids",
        }
    }
}

/// Which secrets are redacted; parsed from a comma-separated list (`cards,iban`; `none` for nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redactor {
    kinds: Vec<Secret>,
}

impl Default for Redactor {
    /// Cards and IBANs.
    fn default() -> Self {
        Self {
            kinds: vec![Secret::Cards, Secret::Iban],
        }
    }
}

/// A redaction list naming an unknown kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown redaction {0:?}: use a comma-separated list of cards, iban, passwords, national_ids, or none")]
pub struct UnknownSecret(pub String);

impl FromStr for Redactor {
    type Err = UnknownSecret;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        let mut kinds = Vec::new();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("none") {
                continue;
            }
            let kind = Secret::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| UnknownSecret(name.to_owned()))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds.sort();
        Ok(Self { kinds })
    }
}

impl fmt::Display for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kinds.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<_> = self.kinds.iter().map(|k| k.name()).collect();
        f.write_str(&names.join(","))
    }
}

#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the unit tests")]
static CARD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\d(?:[ -]?\d){12,18}\b").expect("the card pattern compiles"));
#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the unit tests")]
static IBAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]){11,30}\b").expect("the IBAN pattern compiles"));
#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the unit tests")]
static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(password|passwd|pwd|passcode|pin(?: code)?|mot de passe|mdp|code pin|code secret)(\s*(?:is|was|est|était|:|=|->)\s*|\s+)([^\s,;]{3,})",
    )
    .expect("the password pattern compiles")
});
#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the unit tests")]
static NIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([12])\s?(\d{2})\s?(\d{2})\s?(\d{2}|2[AB])\s?(\d{3})\s?(\d{3})\s?(\d{2})\b")
        .expect("the NIR pattern compiles")
});
#[allow(clippy::expect_used, reason = "a literal pattern, compiled by the unit tests")]
static SSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{3})-(\d{2})-(\d{4})\b").expect("the SSN pattern compiles"));

impl Redactor {
    /// Redacts nothing.
    pub fn none() -> Self {
        Self { kinds: Vec::new() }
    }

    /// Whether nothing is redacted.
    pub fn is_off(&self) -> bool {
        self.kinds.is_empty()
    }

    /// The text with every configured secret replaced by a marker such as `[card …4242]` or `[IBAN]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for kind in &self.kinds {
            out = match kind {
                Secret::Cards => replace(&CARD, &out, |c| {
                    let digits: String = c[0].chars().filter(char::is_ascii_digit).collect();
                    luhn(&digits).then(|| format!("[card …{}]", &digits[digits.len() - 4..]))
                }),
                Secret::Iban => replace(&IBAN, &out, |c| iban_valid(&c[0]).then(|| "[IBAN]".to_owned())),
                Secret::Passwords => replace(&PASSWORD, &out, |c| {
                    // "code" words followed by an ordinary word ("PIN is required") are not secrets.
                    let value = &c[3];
                    let secret = value.chars().any(|ch| ch.is_ascii_digit() || ch.is_ascii_punctuation())
                        || !c[2].trim().is_empty();
                    secret.then(|| format!("{}{}[password]", &c[1], &c[2]))
                }),
                Secret::NationalIds => {
                    let nir = replace(&NIR, &out, |c| nir_valid(c).then(|| "[national id]".to_owned()));
                    replace(&SSN, &nir, |c| ssn_plausible(c).then(|| "[national id]".to_owned()))
                }
            };
        }
        out
    }
}

/// Replaces the matches for which `with` gives a replacement; other matches stay as they are.
fn replace(re: &Regex, text: &str, with: impl Fn(&Captures<'_>) -> Option<String>) -> String {
    re.replace_all(text, |c: &Captures<'_>| with(c).unwrap_or_else(|| c[0].to_owned()))
        .into_owned()
}

/// The Luhn check over 13-19 digits.
fn luhn(digits: &str) -> bool {
    if !(13..=19).contains(&digits.len()) || digits.bytes().all(|b| b == b'0') {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The ISO 13616 check: the rearranged number, letters as 10-35, is 1 modulo 97.
fn iban_valid(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if value >= 10 {
            (rem * 100 + value) % 97
        } else {
            (rem * 10 + value) % 97
        };
    }
    rem == 1
}

/// The French NIR: its two-digit key is 97 minus the first 13 digits modulo 97 (Corsica's 2A/2B count as 19/18).
fn nir_valid(c: &Captures<'_>) -> bool {
    let department = match &c[4] {
        "2A" => "19",
        "2B" => "18",
        d => d,
    };
    let number = format!("{}{}{}{}{}{}", &c[1], &c[2], &c[3], department, &c[5], &c[6]);
    let (Ok(n), Ok(key)) = (number.parse::<u64>(), c[7].parse::<u64>()) else {
        return false;
    };
    let month: u32 = c[3].parse().unwrap_or(0);
    let month_ok = (1..=12).contains(&month) || (20..=42).contains(&month) || (50..=99).contains(&month);
    month_ok && (1..=97).contains(&key) && 97 - n % 97 == key
}

/// A US social security number that could be issued (not area 000, 666 or 9xx, no zero group or serial).
fn ssn_plausible(c: &Captures<'_>) -> bool {
    let area = &c[1];
    area != "000" && area != "666" && !area.starts_with('9') && &c[2] != "00" && &c[3] != "0000"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Redactor {
        "cards,iban,passwords,national_ids".parse().unwrap()
    }

    #[test]
    fn card_numbers_that_pass_luhn_are_redacted_keeping_the_last_four() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("my card is 4111 1111 1111 1111, charged twice"),
            "my card is [card …1111], charged twice"
        );
        assert_eq!(
            r.redact("carte 5500-0000-0000-0004 refusée"),
            "carte [card …0004] refusée"
        );
        assert_eq!(r.redact("4012888888881881"), "[card …1881]");
        // Fails Luhn: an order number stays.
        assert_eq!(r.redact("order 4111 1111 1111 1112"), "order 4111 1111 1111 1112");
        // Phone numbers and dates are too short.
        assert_eq!(
            r.redact("call +33 6 12 34 56 78 on 2026-11-29"),
            "call +33 6 12 34 56 78 on 2026-11-29"
        );
    }

    #[test]
    fn ibans_that_pass_mod_97_are_redacted() {
        let r = Redactor::default();
        assert_eq!(
            r.redact("Mon IBAN : FR76 3000 6000 0112 3456 7890 189, merci"),
            "Mon IBAN : [IBAN], merci"
        );
        assert_eq!(r.redact("GB82WEST12345698765432"), "[IBAN]");
        assert_eq!(r.redact("de89370400440532013000"), "[IBAN]");
        // One digit off: the check fails.
        assert_eq!(r.redact("GB82WEST12345698765433"), "GB82WEST12345698765433");
        // A product code shaped like the start of an IBAN.
        assert_eq!(r.redact("model HX20 firmware"), "model HX20 firmware");
    }

    #[test]
    fn passwords_and_national_ids_only_when_configured() {
        let text = "my password is Hunter2! and my SSN 123-45-6789, NIR 1 85 05 78 006 084 91";
        assert_eq!(Redactor::default().redact(text), text);
        let redacted = all().redact(text);
        assert!(!redacted.contains("Hunter2"), "{redacted}");
        assert!(!redacted.contains("6789"), "{redacted}");
        assert!(!redacted.contains("084"), "{redacted}");
        assert_eq!(
            all().redact("mon mot de passe : azerty123"),
            "mon mot de passe : [password]"
        );
        // An ordinary sentence about passwords keeps its words.
        assert_eq!(
            all().redact("the password reset link never arrives"),
            "the password reset link never arrives"
        );
    }

    #[test]
    fn redaction_is_idempotent_and_parses_its_setting() {
        let r = all();
        let once = r.redact("card 4111111111111111 iban GB82 WEST 1234 5698 7654 32");
        assert_eq!(r.redact(&once), once);
        assert_eq!("none".parse::<Redactor>().unwrap(), Redactor::none());
        assert_eq!("IBAN, cards".parse::<Redactor>().unwrap(), Redactor::default());
        assert_eq!(Redactor::default().to_string(), "cards,iban");
        assert!("cards,dna".parse::<Redactor>().is_err());
    }
}
