//! Proactive outreach: queue items and the contact rules every item passes when queued and again when claimed —
//! consent per channel, do-not-contact, the weekly cap, quiet hours in the customer's time zone, and
//! de-duplication within a cooldown.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::preferences::{Channel, Preferences};
use super::{CustomerId, InvalidInput, WorkspaceId};

/// What a job or campaign queues for each customer it selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutreachSpec {
    /// Channels in the order to try (the customer's own preferences follow).
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// 1 (low) to 5 (urgent).
    #[serde(default = "three", deserialize_with = "crate::domain::whole::int")]
    #[schema(minimum = 1, maximum = 5, example = 3)]
    pub priority: u8,
    /// Templates by language (and optionally tone: `fr.formal`); `en` is required.
    #[schema(value_type = super::schemas::Templates)]
    pub templates: BTreeMap<String, String>,
}

fn three() -> u8 {
    3
}

/// Longest accepted cooldown, in hours (ten years): a de-duplication window reaching further back would leave the
/// calendar's range.
pub const MAX_COOLDOWN_HOURS: u32 = 87_600;

/// Checks a cooldown: at most [`MAX_COOLDOWN_HOURS`].
pub fn check_cooldown(field: &str, hours: u32) -> Result<u32, InvalidInput> {
    if hours <= MAX_COOLDOWN_HOURS {
        Ok(hours)
    } else {
        Err(InvalidInput::new(
            "invalid_field",
            field,
            format!("must be at most {MAX_COOLDOWN_HOURS} hours (ten years)"),
        ))
    }
}

/// Checks message templates: an `en` template (the fallback for every customer), keys of a lowercase language
/// code of 2 or 3 letters with an optional `.formal` or `.casual`, and non-empty texts of at most 5,000
/// characters.
pub fn check_templates(field: &str, templates: &BTreeMap<String, String>) -> Result<(), InvalidInput> {
    if !templates.contains_key("en") {
        return Err(InvalidInput::new(
            "invalid_field",
            field,
            "needs an \"en\" template (the fallback for every customer)",
        ));
    }
    for (key, text) in templates {
        let (lang, tone) = key.split_once('.').map_or((key.as_str(), None), |(l, t)| (l, Some(t)));
        let lang_ok = (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase());
        if !lang_ok || tone.is_some_and(|t| t != "formal" && t != "casual") {
            return Err(InvalidInput::new(
                "invalid_field",
                field,
                format!(
                    "{key:?} is not a template key: use a language code (\"fr\") or one with a tone (\"fr.formal\")"
                ),
            ));
        }
        if text.trim().is_empty() || text.chars().count() > 5_000 {
            return Err(InvalidInput::new(
                "invalid_field",
                field,
                format!("the {key:?} template must hold 1 to 5000 characters"),
            ));
        }
    }
    Ok(())
}

/// Where an item is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutreachState {
    /// Waiting to be claimed (from `not_before`).
    Queued,
    /// Handed to a sender until `lease_until`.
    Claimed,
    /// Sent.
    Sent,
    /// Gave up after too many failures.
    Failed,
    /// Cancelled by a person or by a rule (consent withdrawn, do-not-contact).
    Cancelled,
    /// Not sent before it stopped being relevant.
    Expired,
}

/// Who queued an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutreachSource {
    /// `job`, `campaign` or `manual`.
    #[schema(example = "job")]
    pub kind: String,
    /// The job's or campaign's id, or the key that queued it by hand.
    #[schema(example = "sentiment_decline")]
    pub id: String,
}

/// One proactive message waiting for, or handed to, a sender.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OutreachItem {
    /// Id (`out_...`).
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// Customer.
    pub customer_id: CustomerId,
    /// Who queued it.
    pub source: OutreachSource,
    /// Why, in words.
    #[schema(example = "Sentiment fell from 0.4 to -0.5 over the last 30 days")]
    pub reason: String,
    /// Ids of the memories and interactions that justify it.
    pub evidence: Vec<String>,
    /// Channel it goes through.
    pub channel: Channel,
    /// Language of the message.
    #[schema(example = "fr")]
    pub language: String,
    /// The message, rendered in the customer's language and tone.
    pub message: String,
    /// 1 (low) to 5 (urgent).
    #[schema(minimum = 1, maximum = 5)]
    pub priority: u8,
    /// Not to be sent before.
    pub not_before: DateTime<Utc>,
    /// Not to be sent after (then it expires).
    pub expires_at: Option<DateTime<Utc>>,
    /// State.
    pub state: OutreachState,
    /// While claimed: until when the sender holds it.
    pub lease_until: Option<DateTime<Utc>>,
    /// Failed sending attempts.
    pub failures: u32,
    /// Provider's message id, once sent.
    pub provider_message_id: Option<String>,
    /// Last error reported by a sender, or the rule that cancelled it.
    pub error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
    /// Same customer, reason and evidence: the key of de-duplication.
    pub dedupe_key: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Why an item was not queued or not handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipRule {
    /// The customer asked never to be contacted.
    DoNotContact,
    /// No channel with consent among the preferred ones.
    NoConsent,
    /// The weekly cap of proactive contacts is reached.
    WeeklyCap,
    /// The same customer, reason and evidence were queued within the cooldown.
    Duplicate,
}

impl SkipRule {
    /// The rule's snake_case code, as in JSON.
    pub fn code(self) -> &'static str {
        match self {
            Self::DoNotContact => "do_not_contact",
            Self::NoConsent => "no_consent",
            Self::WeeklyCap => "weekly_cap",
            Self::Duplicate => "duplicate",
        }
    }
}

/// Where a new item goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// Queue it on this channel, not before this time.
    Queue {
        /// Consented channel.
        channel: Channel,
        /// After the quiet hours, if now is within them.
        not_before: DateTime<Utc>,
    },
    /// Do not queue it.
    Skip(SkipRule),
}

/// What a customer allows, for the rules.
pub struct Audience<'a> {
    /// Their preferences.
    pub preferences: &'a Preferences,
    /// Their IANA time zone (UTC when unknown).
    pub timezone: Option<&'a str>,
    /// Proactive contacts sent or being sent in the last 7 days.
    pub contacts_this_week: u32,
}

/// Channels tried last, when neither the job nor the customer named one that has consent.
const FALLBACK: [Channel; 5] = [
    Channel::Email,
    Channel::Chat,
    Channel::Push,
    Channel::Sms,
    Channel::Phone,
];

/// The first channel with consent granted: in the order asked, then the customer's own order, then any.
pub fn consented_channel(wanted: &[Channel], preferences: &Preferences) -> Option<Channel> {
    wanted
        .iter()
        .chain(preferences.preferred_channels.iter())
        .chain(FALLBACK.iter())
        .find(|c| preferences.consent.get(**c).is_some_and(|consent| consent.granted))
        .copied()
}

/// The rules: do-not-contact, consent, weekly cap, quiet hours.
pub fn place(wanted: &[Channel], audience: &Audience<'_>, now: DateTime<Utc>) -> Placement {
    let p = audience.preferences;
    if p.do_not_contact {
        return Placement::Skip(SkipRule::DoNotContact);
    }
    let Some(channel) = consented_channel(wanted, p) else {
        return Placement::Skip(SkipRule::NoConsent);
    };
    if p.max_contacts_per_week
        .is_some_and(|cap| audience.contacts_this_week >= cap)
    {
        return Placement::Skip(SkipRule::WeeklyCap);
    }
    Placement::Queue {
        channel,
        not_before: after_quiet_hours(p, audience.timezone, now),
    }
}

/// `now`, or the end of the customer's quiet hours when `now` falls inside them.
pub fn after_quiet_hours(p: &Preferences, timezone: Option<&str>, now: DateTime<Utc>) -> DateTime<Utc> {
    let Some(quiet) = &p.quiet_hours else { return now };
    let tz = timezone
        .and_then(|t| chrono_tz::Tz::from_str(t).ok())
        .unwrap_or(chrono_tz::UTC);
    let local = now.with_timezone(&tz);
    if !quiet.contains(local.time()) {
        return now;
    }
    let Ok(end) = NaiveTime::parse_from_str(&quiet.end, "%H:%M") else {
        return now;
    };
    let mut day = local.date_naive();
    if local.time() >= end {
        day += Duration::days(1);
    }
    match tz.from_local_datetime(&day.and_time(end)) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // The end falls in a daylight-saving gap: an hour later exists.
        LocalResult::None => now + Duration::hours(1),
    }
}

/// The de-duplication key of an item: customer, reason code and evidence (order-independent).
pub fn dedupe_key(customer: &CustomerId, reason_code: &str, evidence: &[String]) -> String {
    let mut sorted: Vec<&str> = evidence.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    format!("{customer}|{reason_code}|{}", sorted.join(","))
}

/// Renders a template: `{first_name}`, `{name}`, `{topic}`, `{company}` and `{plan}` are replaced.
pub fn render(template: &str, fields: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (key, value) in fields {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::preferences::{Consent, QuietHours};

    fn prefs() -> Preferences {
        let mut p = Preferences {
            preferred_channels: vec![Channel::Email, Channel::Sms],
            ..Default::default()
        };
        p.consent.set(
            Channel::Email,
            Some(Consent {
                granted: true,
                at: None,
                source: None,
            }),
        );
        p.consent.set(
            Channel::Sms,
            Some(Consent {
                granted: true,
                at: None,
                source: None,
            }),
        );
        p
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn consent_picks_the_first_consented_channel() {
        let mut p = prefs();
        let audience = Audience {
            preferences: &p,
            timezone: None,
            contacts_this_week: 0,
        };
        assert_eq!(
            place(&[Channel::Phone], &audience, at("2026-11-25T12:00:00Z")),
            Placement::Queue {
                channel: Channel::Email,
                not_before: at("2026-11-25T12:00:00Z")
            }
        );
        p.consent.set(
            Channel::Email,
            Some(Consent {
                granted: false,
                at: None,
                source: None,
            }),
        );
        let audience = Audience {
            preferences: &p,
            timezone: None,
            contacts_this_week: 0,
        };
        assert!(matches!(
            place(&[Channel::Email], &audience, at("2026-11-25T12:00:00Z")),
            Placement::Queue {
                channel: Channel::Sms,
                ..
            }
        ));
        p.consent.set(Channel::Sms, None);
        let audience = Audience {
            preferences: &p,
            timezone: None,
            contacts_this_week: 0,
        };
        assert_eq!(
            place(&[Channel::Email], &audience, at("2026-11-25T12:00:00Z")),
            Placement::Skip(SkipRule::NoConsent)
        );
    }

    #[test]
    fn do_not_contact_and_the_weekly_cap_skip() {
        let mut p = prefs();
        p.max_contacts_per_week = Some(2);
        let capped = Audience {
            preferences: &p,
            timezone: None,
            contacts_this_week: 2,
        };
        assert_eq!(
            place(&[], &capped, at("2026-11-25T12:00:00Z")),
            Placement::Skip(SkipRule::WeeklyCap)
        );
        p.do_not_contact = true;
        let dnc = Audience {
            preferences: &p,
            timezone: None,
            contacts_this_week: 0,
        };
        assert_eq!(
            place(&[], &dnc, at("2026-11-25T12:00:00Z")),
            Placement::Skip(SkipRule::DoNotContact)
        );
    }

    #[test]
    fn quiet_hours_delay_to_their_end_in_the_customers_time_zone() {
        let mut p = prefs();
        p.quiet_hours = Some(QuietHours {
            start: "21:00".into(),
            end: "08:00".into(),
        });
        // 22:30 UTC is 23:30 in Paris (winter): wait until 08:00 Paris = 07:00 UTC next day.
        let t = after_quiet_hours(&p, Some("Europe/Paris"), at("2026-11-25T22:30:00Z"));
        assert_eq!(t, at("2026-11-26T07:00:00Z"));
        // 05:00 UTC is 06:00 in Paris: same day 07:00 UTC.
        assert_eq!(
            after_quiet_hours(&p, Some("Europe/Paris"), at("2026-11-26T05:00:00Z")),
            at("2026-11-26T07:00:00Z")
        );
        // Noon is fine.
        assert_eq!(
            after_quiet_hours(&p, Some("Europe/Paris"), at("2026-11-26T11:00:00Z")),
            at("2026-11-26T11:00:00Z")
        );
        // Montréal is 5 hours behind UTC in November.
        assert_eq!(
            after_quiet_hours(&p, Some("America/Montreal"), at("2026-11-26T03:00:00Z")),
            at("2026-11-26T13:00:00Z")
        );
    }

    #[test]
    fn dedupe_keys_ignore_evidence_order_and_templates_fill_fields() {
        let c = CustomerId::from_client("cus_1");
        assert_eq!(
            dedupe_key(&c, "x", &["b".into(), "a".into()]),
            dedupe_key(&c, "x", &["a".into(), "b".into()])
        );
        assert_eq!(
            render(
                "Bonjour {first_name}, à propos de {topic}",
                &[("first_name", "Léa"), ("topic", "votre hub")]
            ),
            "Bonjour Léa, à propos de votre hub"
        );
    }
}

/// What a claim does with a due item after checking the rules again.
#[derive(Debug, Clone, PartialEq)]
pub enum Recheck {
    /// Hand it out on this channel (possibly another one than queued, if consent changed).
    Hand(Channel),
    /// Not now (quiet hours or weekly cap): leave it queued until this time.
    Wait(DateTime<Utc>),
    /// Never: cancel it for this reason.
    Cancel(SkipRule),
}

/// The rules again, at claim time: consent may have been withdrawn, the customer may be asleep, the week full.
pub fn recheck(item: &OutreachItem, audience: &Audience<'_>, now: DateTime<Utc>) -> Recheck {
    match place(&[item.channel], audience, now) {
        Placement::Skip(SkipRule::WeeklyCap) => Recheck::Wait(now + Duration::hours(12)),
        Placement::Skip(rule) => Recheck::Cancel(rule),
        Placement::Queue { not_before, .. } if not_before > now => Recheck::Wait(not_before),
        Placement::Queue { channel, .. } => Recheck::Hand(channel),
    }
}
