//! Contact and communication preferences, their validation, and the field-by-field diff that feeds the history.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::{validate, InvalidInput};

/// A channel through which a customer can be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// Text message.
    Sms,
    /// Phone call.
    Phone,
    /// Live chat or messaging.
    Chat,
    /// Mobile push notification.
    Push,
}

/// How formally to address the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// "Dear Ms Dubois", vouvoiement.
    Formal,
    /// "Hi Camille", tutoiement where the language has it.
    Casual,
}

/// How technical explanations may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TechnicalLevel {
    /// Step by step, no jargon.
    Novice,
    /// Some jargon is fine.
    Intermediate,
    /// Straight to the details.
    Expert,
}

/// Consent for one channel, with when and where it was given or withdrawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// Whether the customer agrees to be contacted through this channel.
    pub granted: bool,
    /// When consent was given or withdrawn; the server's time when omitted.
    #[schema(example = "2024-03-14T10:00:00Z")]
    pub at: Option<DateTime<Utc>>,
    /// Where consent was recorded; the change's source when omitted.
    #[schema(example = "signup_form")]
    pub source: Option<String>,
}

/// Consent per channel; a channel that is absent has no recorded consent (treated as not granted).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentByChannel {
    /// E-mail consent.
    pub email: Option<Consent>,
    /// SMS consent.
    pub sms: Option<Consent>,
    /// Phone consent.
    pub phone: Option<Consent>,
    /// Chat consent.
    pub chat: Option<Consent>,
    /// Push consent.
    pub push: Option<Consent>,
}

impl ConsentByChannel {
    fn slots_mut(&mut self) -> [(Channel, &mut Option<Consent>); 5] {
        [
            (Channel::Email, &mut self.email),
            (Channel::Sms, &mut self.sms),
            (Channel::Phone, &mut self.phone),
            (Channel::Chat, &mut self.chat),
            (Channel::Push, &mut self.push),
        ]
    }

    /// Records consent for `channel`.
    pub fn set(&mut self, channel: Channel, consent: Option<Consent>) {
        for (c, slot) in self.slots_mut() {
            if c == channel {
                *slot = consent.clone();
            }
        }
    }

    /// The consent recorded for `channel`, if any.
    pub fn get(&self, channel: Channel) -> Option<&Consent> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Phone => self.phone.as_ref(),
            Channel::Chat => self.chat.as_ref(),
            Channel::Push => self.push.as_ref(),
        }
    }
}

/// Quiet hours in the customer's own time zone (their profile's `timezone`); may wrap midnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// Start, `HH:MM` (24 h).
    #[schema(example = "21:00")]
    pub start: String,
    /// End, `HH:MM` (24 h); before `start` when the quiet period spans midnight.
    #[schema(example = "08:00")]
    pub end: String,
}

impl QuietHours {
    /// Whether the local time `t` falls inside the quiet period.
    pub fn contains(&self, t: NaiveTime) -> bool {
        let (Ok(start), Ok(end)) = (parse_hhmm(&self.start), parse_hhmm(&self.end)) else {
            return false;
        };
        if start <= end {
            start <= t && t < end
        } else {
            t >= start || t < end
        }
    }
}

fn parse_hhmm(s: &str) -> Result<NaiveTime, chrono::ParseError> {
    NaiveTime::parse_from_str(s, "%H:%M")
}

/// A customer's preferences. `PUT` replaces them whole, `PATCH` merges (RFC 7396).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Language to use with the customer (BCP 47).
    #[schema(example = "fr", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub preferred_language: Option<String>,
    /// Consent per channel.
    #[serde(default)]
    pub consent: ConsentByChannel,
    /// The customer asked never to be contacted proactively.
    #[serde(default)]
    pub do_not_contact: bool,
    /// No proactive contact during these hours.
    pub quiet_hours: Option<QuietHours>,
    /// At most this many proactive contacts per week.
    #[schema(example = 2, maximum = 100)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub max_contacts_per_week: Option<u32>,
    /// Channels in the order the customer prefers them.
    #[serde(default)]
    #[schema(example = json!(["email", "chat"]))]
    pub preferred_channels: Vec<Channel>,
    /// How formally to address the customer.
    pub tone: Option<Tone>,
    /// How technical explanations may be.
    pub technical_level: Option<TechnicalLevel>,
    /// Free-form key/value preferences.
    #[serde(default)]
    #[schema(value_type = super::schemas::CustomPreferences)]
    pub custom: BTreeMap<String, String>,
    /// When the preferences last changed (set by the server; ignored on input).
    #[serde(default)]
    #[schema(read_only)]
    pub updated_at: Option<DateTime<Utc>>,
}

/// One recorded change of one preference field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PreferenceChange {
    /// Position in the customer's history (increasing).
    pub seq: u64,
    /// The field that changed, as a dotted path (`consent.email`, `custom.pronouns`).
    #[schema(example = "consent.email")]
    pub field: String,
    /// Value before the change (`null` when unset).
    pub old_value: Value,
    /// Value after the change (`null` when removed).
    pub new_value: Value,
    /// When the change was made.
    pub changed_at: DateTime<Utc>,
    /// Who or what made it (`api:key_...`, `import`, `message:...`).
    #[schema(example = "api:key_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub source: String,
}

impl Preferences {
    /// Validates the preferences and fills consent times and sources left out with `now` and `source`.
    pub fn validated(mut self, now: DateTime<Utc>, source: &str) -> Result<Self, InvalidInput> {
        if let Some(lang) = self.preferred_language.take() {
            self.preferred_language = Some(validate::language("preferred_language", &lang)?);
        }
        if let Some(q) = &self.quiet_hours {
            for (field, value) in [("quiet_hours.start", &q.start), ("quiet_hours.end", &q.end)] {
                parse_hhmm(value).map_err(|_| {
                    InvalidInput::new(
                        "invalid_quiet_hours",
                        field,
                        format!("{value:?} is not a time of day in HH:MM"),
                    )
                })?;
            }
        }
        if self.max_contacts_per_week.is_some_and(|n| n > 100) {
            return Err(InvalidInput::new(
                "invalid_field",
                "max_contacts_per_week",
                "must be between 0 and 100",
            ));
        }
        let mut channels = Vec::new();
        for c in self.preferred_channels.drain(..) {
            if !channels.contains(&c) {
                channels.push(c);
            }
        }
        self.preferred_channels = channels;
        for (channel, slot) in self.consent.slots_mut() {
            if let Some(consent) = slot {
                validate::opt_time(&format!("consent.{}.at", channel_name(channel)), consent.at)?;
                consent.at.get_or_insert(now);
                let src = consent.source.take().unwrap_or_else(|| source.to_owned());
                let field = format!("consent.{}", channel_name(channel));
                consent.source = Some(validate::text(
                    &format!("{field}.source"),
                    &src,
                    validate::MAX_TEXT_CHARS,
                )?);
            }
        }
        for (key, value) in &self.custom {
            validate::text("custom", key, 64)?;
            if value.chars().count() > 1000 {
                return Err(InvalidInput::new(
                    "invalid_field",
                    format!("custom.{key}"),
                    "values are at most 1000 characters",
                ));
            }
        }
        if self.custom.len() > 100 {
            return Err(InvalidInput::new("invalid_field", "custom", "at most 100 keys"));
        }
        Ok(self)
    }

    /// The parts a merge patch replaces whole: a consent is valid only complete, quiet hours too.
    pub const PATCHED_WHOLE: &'static [&'static str] = &["consent.*", "quiet_hours"];

    /// Applies a JSON merge patch (RFC 7396; consents and quiet hours are replaced whole) and validates the result.
    pub fn merge_patched(&self, patch: &Value, now: DateTime<Utc>, source: &str) -> Result<Self, InvalidInput> {
        let mut patched = super::merge_patch::patched_whole(self, patch, Self::PATCHED_WHOLE)?;
        // A consent restated as it is (same answer, same or no source) keeps its time: nothing changed.
        let mut old = self.consent.clone();
        for ((_, new), (_, old)) in patched.consent.slots_mut().into_iter().zip(old.slots_mut()) {
            if let (Some(new), Some(old)) = (new.as_mut(), old.as_ref()) {
                let same =
                    new.granted == old.granted && new.source.as_ref().is_none_or(|s| Some(s) == old.source.as_ref());
                if same && new.at.is_none() {
                    new.at = old.at;
                    new.source.clone_from(&old.source);
                }
            }
        }
        patched.validated(now, source)
    }

    /// The fields that differ between `self` (old) and `new`, as (field, old, new), in a stable order.
    pub fn diff(&self, new: &Preferences) -> Vec<(String, Value, Value)> {
        let (old, new) = (flatten(self), flatten(new));
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .filter_map(|k| {
                let (o, n) = (
                    old.get(k).cloned().unwrap_or(Value::Null),
                    new.get(k).cloned().unwrap_or(Value::Null),
                );
                (o != n).then(|| (k.clone(), o, n))
            })
            .collect()
    }
}

/// The snake_case name of a channel, as it appears in JSON.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
        Channel::Phone => "phone",
        Channel::Chat => "chat",
        Channel::Push => "push",
    }
}

/// Preferences as a map from dotted field path to value, one level deep for `consent` and `custom`.
fn flatten(p: &Preferences) -> BTreeMap<String, Value> {
    #[allow(clippy::expect_used, reason = "preferences always serialise")]
    let Value::Object(top) = serde_json::to_value(p).expect("preferences serialise to JSON") else {
        unreachable!("preferences serialise to an object")
    };
    let mut out = BTreeMap::new();
    for (key, value) in top {
        match (key.as_str(), value) {
            ("updated_at", _) => {}
            ("consent" | "custom", Value::Object(inner)) => {
                for (k, v) in inner.into_iter().filter(|(_, v)| !v.is_null()) {
                    out.insert(format!("{key}.{k}"), v);
                }
            }
            (_, Value::Null) => {}
            (_, v) => {
                out.insert(key, v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours {
            start: "21:00".into(),
            end: "08:00".into(),
        };
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(q.contains(at(23, 30)) && q.contains(at(7, 59)));
        assert!(!q.contains(at(8, 0)) && !q.contains(at(12, 0)));
        let day = QuietHours {
            start: "12:00".into(),
            end: "14:00".into(),
        };
        assert!(day.contains(at(13, 0)) && !day.contains(at(14, 0)));
    }

    #[test]
    fn validation_fills_consent_time_and_source() {
        let p: Preferences = serde_json::from_value(json!({"consent": {"sms": {"granted": true}}})).unwrap();
        let p = p.validated(now(), "api:key_1").unwrap();
        let sms = p.consent.get(Channel::Sms).unwrap();
        assert_eq!(sms.at, Some(now()));
        assert_eq!(sms.source.as_deref(), Some("api:key_1"));
    }

    #[test]
    fn bad_quiet_hours_and_unknown_channels_are_rejected() {
        let p: Preferences =
            serde_json::from_value(json!({"quiet_hours": {"start": "25:00", "end": "08:00"}})).unwrap();
        assert_eq!(p.validated(now(), "t").unwrap_err().code, "invalid_quiet_hours");
        assert!(serde_json::from_value::<Preferences>(json!({"consent": {"fax": {"granted": true}}})).is_err());
        assert!(serde_json::from_value::<Preferences>(json!({"tone": "rude"})).is_err());
    }

    #[test]
    fn diff_lists_each_changed_field_once() {
        let old: Preferences =
            serde_json::from_value(json!({"tone": "formal", "custom": {"a": "1", "b": "2"}, "do_not_contact": false}))
                .unwrap();
        let new: Preferences = serde_json::from_value(
            json!({"tone": "casual", "custom": {"a": "1", "c": "3"}, "do_not_contact": false,
                "consent": {"email": {"granted": false, "at": "2026-11-25T10:00:00Z", "source": "x"}}}),
        )
        .unwrap();
        let fields: Vec<String> = old.diff(&new).into_iter().map(|(f, _, _)| f).collect();
        assert_eq!(fields, vec!["consent.email", "custom.b", "custom.c", "tone"]);
        assert!(old.diff(&old).is_empty());
    }

    #[test]
    fn merge_patch_changes_only_what_it_names() {
        let base: Preferences = serde_json::from_value(json!({"tone": "formal", "max_contacts_per_week": 2})).unwrap();
        let patched = base
            .merge_patched(&json!({"tone": "casual", "max_contacts_per_week": null}), now(), "t")
            .unwrap();
        assert_eq!(patched.tone, Some(Tone::Casual));
        assert_eq!(patched.max_contacts_per_week, None);
    }
}
