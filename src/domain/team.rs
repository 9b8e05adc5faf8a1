//! Teams: who in a workspace handles what (topics, languages, products, plans, working hours), read by the
//! routing of handoffs.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{validate, InvalidInput, WorkspaceId};

/// Most topics a team can list.
pub const MAX_TOPICS: usize = 20;
/// Longest topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 500;
/// Most languages, products or plans a team can list.
pub const MAX_LIST: usize = 50;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Day {
    fn of(weekday: chrono::Weekday) -> Self {
        match weekday {
            chrono::Weekday::Mon => Self::Mon,
            chrono::Weekday::Tue => Self::Tue,
            chrono::Weekday::Wed => Self::Wed,
            chrono::Weekday::Thu => Self::Thu,
            chrono::Weekday::Fri => Self::Fri,
            chrono::Weekday::Sat => Self::Sat,
            chrono::Weekday::Sun => Self::Sun,
        }
    }
}

fn weekdays() -> Vec<Day> {
    vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
}

/// When a team works, in its own time zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamHours {
    /// IANA time zone of the hours.
    #[schema(value_type = super::schemas::TimeZoneName, example = "Europe/Paris")]
    pub timezone: String,
    /// Start of the working day, `HH:MM` (24 h).
    #[schema(example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start: String,
    /// End of the working day, `HH:MM` (24 h); before `start` for a night shift that spans midnight.
    #[schema(example = "18:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end: String,
    /// Working days (default Monday to Friday); a shift spanning midnight belongs to the day it starts.
    #[serde(default = "weekdays")]
    #[schema(min_items = 1, example = json!(["mon", "tue", "wed", "thu", "fri"]))]
    pub days: Vec<Day>,
}

impl TeamHours {
    fn validated(mut self) -> Result<Self, InvalidInput> {
        self.timezone = validate::timezone("hours.timezone", &self.timezone)?;
        for (field, value) in [("hours.start", &self.start), ("hours.end", &self.end)] {
            hhmm(value).ok_or_else(|| InvalidInput::new("invalid_field", field, "must be HH:MM (24 h)"))?;
        }
        if self.days.is_empty() {
            return Err(InvalidInput::new(
                "invalid_field",
                "hours.days",
                "must name at least one day",
            ));
        }
        self.days.dedup();
        Ok(self)
    }

    /// Whether the team is at work at `at`.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        let (Ok(tz), Some(start), Some(end)) = (
            self.timezone.parse::<chrono_tz::Tz>(),
            hhmm(&self.start),
            hhmm(&self.end),
        ) else {
            return true;
        };
        let local = at.with_timezone(&tz);
        let (t, today) = (local.time(), Day::of(local.weekday()));
        let yesterday = Day::of(local.weekday().pred());
        if start <= end {
            self.days.contains(&today) && start <= t && t < end
        } else {
            (self.days.contains(&today) && t >= start) || (self.days.contains(&yesterday) && t < end)
        }
    }
}

fn hhmm(s: &str) -> Option<NaiveTime> {
    (s.len() == 5).then(|| NaiveTime::parse_from_str(s, "%H:%M").ok())?
}

/// What a client sends to create or replace a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// The team's name, unique enough for a person to recognise.
    #[schema(
        example = "Billing & refunds",
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$",
        min_length = 1,
        max_length = 200
    )]
    pub name: String,
    /// What the team handles, in plain words (English or French): each topic is compared by meaning with the
    /// customer's messages. At least one, at most 20.
    #[schema(value_type = Vec<super::schemas::TopicText>,
        example = json!(["invoices, double charges, refunds and payment methods", "factures, remboursements, prélèvements"]),
        min_items = 1, max_items = 20)]
    pub topics: Vec<String>,
    /// Languages the team answers in (BCP 47, e.g. `en`, `fr`); empty: any.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::LanguageTag>, example = json!(["en", "fr"]), max_items = 50)]
    pub languages: Vec<String>,
    /// Products the team knows (as interactions name them, e.g. `Lumen Smart Lock`); empty: any.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::Label>, example = json!(["Lumen Hub v2"]), max_items = 50)]
    pub products: Vec<String>,
    /// Customer plans the team serves (e.g. `business`, `enterprise`); empty: any.
    #[serde(default)]
    #[schema(value_type = Vec<super::schemas::Label>, example = json!(["business", "enterprise"]), max_items = 50)]
    pub plans: Vec<String>,
    /// Lowest customer lifetime value the team is meant for (a value tier); absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 10000.0, minimum = 0, maximum = 1e12)]
    pub min_lifetime_value: Option<f64>,
    /// When the team works; absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<TeamHours>,
    /// The team takes escalations: threats to leave, legal and safety matters go to it first.
    #[serde(default)]
    pub escalations: bool,
}

fn list(
    field: &str,
    values: Vec<String>,
    check: fn(&str, &str) -> Result<String, InvalidInput>,
) -> Result<Vec<String>, InvalidInput> {
    if values.len() > MAX_LIST {
        return Err(InvalidInput::new(
            "invalid_field",
            field,
            format!("at most {MAX_LIST} entries"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let v = check(field, &v)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn short_text(field: &str, value: &str) -> Result<String, InvalidInput> {
    validate::text(field, value, validate::MAX_TEXT_CHARS)
}

impl TeamInput {
    /// Checks every field and returns the team in canonical form.
    pub fn validated(mut self) -> Result<Self, InvalidInput> {
        self.name = validate::text("name", &self.name, 200)?;
        if self.topics.is_empty() || self.topics.len() > MAX_TOPICS {
            return Err(InvalidInput::new(
                "invalid_field",
                "topics",
                format!("list between 1 and {MAX_TOPICS} topics"),
            ));
        }
        self.topics = self
            .topics
            .iter()
            .map(|t| validate::text("topics", t, MAX_TOPIC_CHARS))
            .collect::<Result<_, _>>()?;
        self.languages = list("languages", self.languages, validate::language)?;
        self.products = list("products", self.products, short_text)?;
        self.plans = list("plans", self.plans, short_text)?;
        if let Some(v) = self.min_lifetime_value {
            if !(0.0..=1e12).contains(&v) {
                return Err(InvalidInput::new(
                    "invalid_field",
                    "min_lifetime_value",
                    "must be between 0 and 1e12",
                ));
            }
        }
        self.hours = self.hours.map(TeamHours::validated).transpose()?;
        Ok(self)
    }

    /// Whether the team speaks the language of this BCP 47 tag (a team listing none speaks every language).
    pub fn speaks(&self, tag: &str) -> bool {
        let primary = |t: &str| t.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        self.languages.is_empty() || self.languages.iter().any(|l| primary(l) == primary(tag))
    }
}

/// A team of a workspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    /// Id (`team_...`).
    #[schema(example = "team_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub id: String,
    /// Workspace.
    pub workspace: WorkspaceId,
    /// The team.
    #[serde(flatten)]
    pub fields: TeamInput,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(start: &str, end: &str) -> TeamHours {
        TeamHours {
            timezone: "Europe/Paris".into(),
            start: start.into(),
            end: end.into(),
            days: weekdays(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn office_hours_follow_the_team_time_zone_and_days() {
        let h = hours("09:00", "18:00");
        assert!(h.open_at(at("2026-11-25T08:30:00Z")), "09:30 in Paris on a Wednesday");
        assert!(!h.open_at(at("2026-11-25T07:30:00Z")), "08:30 in Paris");
        assert!(!h.open_at(at("2026-11-28T10:00:00Z")), "a Saturday");
    }

    #[test]
    fn a_night_shift_belongs_to_the_day_it_starts() {
        let h = hours("22:00", "06:00");
        assert!(h.open_at(at("2026-11-27T22:00:00Z")), "Friday 23:00 in Paris");
        assert!(h.open_at(at("2026-11-28T03:00:00Z")), "Saturday 04:00, Friday's shift");
        assert!(
            !h.open_at(at("2026-11-29T03:00:00Z")),
            "Sunday 04:00: no Saturday shift"
        );
    }

    #[test]
    fn bad_teams_are_refused_with_the_field_named() {
        let good = TeamInput {
            name: "Billing".into(),
            topics: vec!["refunds".into()],
            languages: vec!["EN".into(), "en".into()],
            products: vec![],
            plans: vec![],
            min_lifetime_value: None,
            hours: Some(hours("09:00", "18:00")),
            escalations: false,
        };
        assert_eq!(good.clone().validated().map(|t| t.languages), Ok(vec!["en".to_owned()]));
        let no_topics = TeamInput {
            topics: vec![],
            ..good.clone()
        };
        assert_eq!(no_topics.validated().map_err(|e| e.field), Err("topics".to_owned()));
        let bad_hours = TeamInput {
            hours: Some(hours("9h", "18:00")),
            ..good.clone()
        };
        assert_eq!(
            bad_hours.validated().map_err(|e| e.field),
            Err("hours.start".to_owned())
        );
        let bad_lang = TeamInput {
            languages: vec!["français".into()],
            ..good
        };
        assert_eq!(bad_lang.validated().map_err(|e| e.code), Err("invalid_language"));
    }
}
