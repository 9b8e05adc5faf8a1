//! Typed memories derived from a message's sentences, in English and French, by rules: preferences, facts,
//! issues, resolutions and commitments (with due times). Rules are precise rather than exhaustive: the raw
//! message is always kept as a memory of its own.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

pub mod due;
pub mod head;

pub use self::due::due;

use chrono::{DateTime, Utc};

use crate::domain::interaction::AuthorRole;
use crate::domain::memory::MemoryKind;
use crate::domain::preferences::Channel;
use crate::domain::problems::ISSUE;
use crate::domain::text::{fold, sentences, Lang};

/// A memory found in one sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// Its kind (never `Message`).
    pub kind: MemoryKind,
    /// The sentence.
    pub text: String,
    /// What it is about, for facts and preferences.
    pub subject: Option<String>,
    /// When a commitment is due.
    pub due_at: Option<DateTime<Utc>>,
    /// A structured preference change the sentence states.
    pub preference: Option<PreferenceUpdate>,
}

/// A preference stated in words.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreferenceUpdate {
    /// The channel the customer asks to be reached on.
    pub prefer: Option<Channel>,
    /// Channels the customer asks not to be reached on.
    pub avoid: Vec<Channel>,
    /// `morning`, `afternoon` or `evening`.
    pub time_of_day: Option<&'static str>,
}

fn has(s: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| s.contains(n))
}

const CHANNEL_WORDS: &[(Channel, &[&str])] = &[
    (Channel::Email, &["e-mail", "email", "mail", "courriel"]),
    (
        Channel::Sms,
        &["sms", "text me", "texto", "text message", "by text", "par texte"],
    ),
    (Channel::Phone, &["call", "phone", "appel", "telephone", "rappel"]),
    (Channel::Chat, &["chat", "clavardage", "messagerie"]),
    (Channel::Push, &["notification", "push"]),
];

const AVOID: &[&str] = &[
    "don't call",
    "do not call",
    "stop calling",
    "no calls",
    "don't phone",
    "not by phone",
    "don't email",
    "do not email",
    "stop emailing",
    "no more emails",
    "don't text",
    "no texts",
    "stop texting",
    "ne m'appelez pas",
    "ne plus m'appeler",
    "pas d'appel",
    "ne pas m'appeler",
    "ne m'ecrivez pas",
    "plus de mails",
    "plus d'e-mails",
    "pas de sms",
    "ne plus m'envoyer",
    "arretez de m'appeler",
];
const PREFER: &[&str] = &[
    "prefer",
    "please email",
    "please e-mail",
    "email me",
    "e-mail me",
    "text me",
    "call me",
    "reach me",
    "contact me",
    "rather",
    "best way",
    "je prefere",
    "je prefererais",
    "privilegiez",
    "contactez-moi",
    "ecrivez-moi",
    "appelez-moi",
    "plutot par",
    "de preference",
    "merci de me contacter",
    "joignable",
];

fn preference(s: &str) -> Option<PreferenceUpdate> {
    let mut update = PreferenceUpdate::default();
    for avoid in AVOID.iter().filter(|a| s.contains(*a)) {
        for (channel, words) in CHANNEL_WORDS {
            if has(avoid, words) && !update.avoid.contains(channel) {
                update.avoid.push(*channel);
            }
        }
    }
    if has(s, PREFER) {
        // The preferred channel is the first channel word that is not an avoided one.
        let mut best: Option<(usize, Channel)> = None;
        for (channel, words) in CHANNEL_WORDS {
            if update.avoid.contains(channel) {
                continue;
            }
            if let Some(pos) = words.iter().filter_map(|w| s.find(w)).min() {
                if best.is_none_or(|(p, _)| pos < p) {
                    best = Some((pos, *channel));
                }
            }
        }
        update.prefer = best.map(|(_, c)| c);
        update.time_of_day = if has(s, &["morning", "le matin", "matinee", "avant midi"]) {
            Some("morning")
        } else if has(s, &["afternoon", "l'apres-midi", "apres-midi"]) {
            Some("afternoon")
        } else if has(
            s,
            &["evening", "le soir", "en soiree", "after work", "apres le travail"],
        ) {
            Some("evening")
        } else {
            None
        };
    }
    (update != PreferenceUpdate::default()).then_some(update)
}

/// (subject, cue words): a fact about the customer.
const FACTS: &[(&str, &[&str])] = &[
    (
        "plan",
        &[
            "plan",
            "subscription",
            "abonnement",
            "formule",
            "forfait",
            "upgraded to",
            "downgraded to",
            "passe a l'offre",
        ],
    ),
    (
        "device",
        &[
            "bought",
            "purchased",
            "we have",
            "i have",
            "i own",
            "we own",
            "acheté",
            "achete",
            "j'ai un",
            "nous avons",
            "installed",
            "installe",
        ],
    ),
    (
        "company_size",
        &[
            "employees",
            "people",
            "staff",
            "seats",
            "salaries",
            "employes",
            "personnes",
            "postes",
        ],
    ),
    (
        "location",
        &[
            "moved to",
            "moving to",
            "new address",
            "relocat",
            "demenag",
            "nouvelle adresse",
            "we are based",
            "i live in",
            "j'habite",
            "nous sommes installes",
        ],
    ),
];
const FACT_FRAMES: &[&str] = &[
    "we are",
    "we're",
    "we have",
    "i have",
    "i'm on",
    "we're on",
    "we moved",
    "i moved",
    "we switched",
    "switched to",
    "upgraded",
    "downgraded",
    "now have",
    "now on",
    "our",
    "my ",
    "nous sommes",
    "nous avons",
    "j'ai",
    "notre",
    "mon ",
    "ma ",
    "nous venons",
    "je viens",
    "on est",
    "on a",
];

fn fact(s: &str) -> Option<&'static str> {
    if s.ends_with('?') || !has(s, FACT_FRAMES) {
        return None;
    }
    FACTS.iter().find(|(_, cues)| has(s, cues)).map(|(subject, _)| *subject)
}

const RESOLUTION: &[&str] = &[
    "fixed",
    "i've corrected",
    "i have corrected",
    "i've updated",
    "has been updated",
    "has been disabled",
    "has been reset",
    "i've reset",
    "i've disabled",
    "je l'ai corrige",
    "j'ai corrige",
    "a ete corrige",
    "est corrige",
    "j'ai reinitialise",
    "est desactivee",
    "est desactive",
    "j'ai desactive",
    "a ete mis a jour",
    "j'ai mis a jour",
    "resolved",
    "solved",
    "works now",
    "working again",
    "is working",
    "refund has been",
    "refunded",
    "has been issued",
    "has been processed",
    "replacement has been",
    "was shipped",
    "reset the",
    "resetting",
    "restarting",
    "the fix",
    "all sorted",
    "sorted out",
    "resolu",
    "regle",
    "repare",
    "fonctionne a nouveau",
    "remarche",
    "fonctionne de nouveau",
    "remboursement a ete",
    "rembourse",
    "a ete expedie",
    "reinitialis",
    "redemarr",
    "c'est bon",
    "tout est rentre dans l'ordre",
];
const COMMITMENT: &[&str] = &[
    "we will",
    "we'll",
    "i will",
    "i'll",
    "will call you",
    "will get back",
    "will send",
    "will refund",
    "will be refunded",
    "will receive",
    "will contact",
    "will follow up",
    "a technician will",
    "you'll receive",
    "you will receive",
    "nous allons",
    "je vais",
    "nous vous",
    "je vous rappelle",
    "vous recevrez",
    "sera rembourse",
    "sera expedie",
    "un technicien",
    "nous reviendrons",
    "je reviens vers vous",
    "vous serez",
    "on vous",
];

/// Derives typed memories from a message's sentences.
pub fn extract(text: &str, role: AuthorRole, sent_at: DateTime<Utc>, _lang: Lang) -> Vec<Extracted> {
    let mut out = Vec::new();
    for sentence in sentences(text) {
        let s = fold(&sentence.to_lowercase().replace('’', "'"));
        let found = |kind, subject: Option<&str>, due_at, preference| Extracted {
            kind,
            text: sentence.clone(),
            subject: subject.map(str::to_owned),
            due_at,
            preference,
        };
        match role {
            AuthorRole::Customer => {
                if let Some(update) = preference(&s) {
                    out.push(found(MemoryKind::Preference, Some("contact"), None, Some(update)));
                } else if let Some(subject) = fact(&s) {
                    out.push(found(MemoryKind::Fact, Some(subject), None, None));
                } else if has(&s, RESOLUTION) && !s.contains("not ") && !s.contains(" pas") {
                    out.push(found(MemoryKind::Resolution, None, None, None));
                } else if has(&s, ISSUE) {
                    out.push(found(MemoryKind::Issue, None, None, None));
                }
            }
            AuthorRole::Agent | AuthorRole::Bot => {
                if has(&s, COMMITMENT) && !s.ends_with('?') {
                    out.push(found(MemoryKind::Commitment, None, due(&s, sent_at), None));
                } else if has(&s, RESOLUTION) && !s.ends_with('?') {
                    out.push(found(MemoryKind::Resolution, None, None, None));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-11-25T10:00:00Z".parse().unwrap() // a Wednesday
    }

    fn kinds(text: &str, role: AuthorRole) -> Vec<MemoryKind> {
        extract(text, role, at(), Lang::En)
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn stated_preferences_name_channels_in_both_languages() {
        let e = extract("Please e-mail me, don't call.", AuthorRole::Customer, at(), Lang::En);
        let p = e[0].preference.clone().unwrap();
        assert_eq!((p.prefer, p.avoid), (Some(Channel::Email), vec![Channel::Phone]));
        let e = extract(
            "Je préfère être contacté le matin par SMS.",
            AuthorRole::Customer,
            at(),
            Lang::Fr,
        );
        let p = e[0].preference.clone().unwrap();
        assert_eq!((p.prefer, p.time_of_day), (Some(Channel::Sms), Some("morning")));
        let e = extract("Merci de ne plus m'appeler.", AuthorRole::Customer, at(), Lang::Fr);
        assert_eq!(e[0].preference.clone().unwrap().avoid, vec![Channel::Phone]);
    }

    #[test]
    fn facts_issues_resolutions_and_commitments() {
        assert_eq!(
            kinds("We moved to the Business plan last month.", AuthorRole::Customer),
            [MemoryKind::Fact]
        );
        assert_eq!(
            kinds("My hub keeps going offline every night.", AuthorRole::Customer),
            [MemoryKind::Issue]
        );
        assert_eq!(
            kinds("Resetting the hub fixed it.", AuthorRole::Agent),
            [MemoryKind::Resolution]
        );
        assert_eq!(
            kinds("We will refund you by Friday.", AuthorRole::Agent),
            [MemoryKind::Commitment]
        );
        assert_eq!(
            kinds("Mon colis n'est jamais arrivé.", AuthorRole::Customer),
            [MemoryKind::Issue]
        );
        assert!(kinds("Hello, how are you?", AuthorRole::Customer).is_empty());
    }
}
