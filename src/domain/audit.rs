//! The audit log: who did what to which record, and when. Entries never hold personal data (names, e-mails,
//! message text), only opaque ids and small flags, so they are kept after the customer they name is erased.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::outreach::OutreachState;
use super::preferences::Channel;
use super::{PreferenceChange, Scope, WorkspaceId};

/// What was done. The names are stable: clients filter on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A customer and everything stored about them was erased.
    CustomerErased,
    /// Everything stored about a customer was exported.
    CustomerExported,
    /// A customer's consent for one channel changed (`detail.channel`, `detail.old`, `detail.new`).
    ConsentChanged,
    /// A customer's do-not-contact flag changed (`detail.old`, `detail.new`).
    DoNotContactChanged,
    /// A sender reported an outreach item sent or failed (`detail.state`: the item's state afterwards).
    OutreachAcked,
    /// An outreach item was cancelled.
    OutreachCancelled,
    /// An API key was created (`detail.scopes`).
    KeyCreated,
    /// An API key was revoked.
    KeyRevoked,
    /// A workspace was created (recorded in the creating operator's workspace and in the new one).
    WorkspaceCreated,
    /// A job definition was created.
    JobCreated,
    /// A job definition was changed.
    JobUpdated,
    /// A job definition was deleted.
    JobDeleted,
    /// A job was run on demand (`detail.run_id`).
    JobRun,
    /// A campaign was created.
    CampaignCreated,
    /// A campaign was changed.
    CampaignUpdated,
    /// A campaign was deleted.
    CampaignDeleted,
    /// A campaign was run (`detail.run_id`).
    CampaignRun,
    /// A team was created.
    TeamCreated,
    /// A team was changed.
    TeamUpdated,
    /// A team was deleted.
    TeamDeleted,
}

/// The kind of record an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A customer (`cus_...`).
    Customer,
    /// An outreach item (`out_...`).
    Outreach,
    /// An API key (`key_...`).
    ApiKey,
    /// A workspace (its slug).
    Workspace,
    /// A job definition (its id).
    Job,
    /// A campaign (`cmp_...`).
    Campaign,
    /// A team (`team_...`).
    Team,
}

/// Small, non-personal facts about an action; only the fields that apply are present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, ToSchema)]
pub struct AuditDetail {
    /// The consent channel that changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    /// The flag before the change (absent: never set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = true)]
    pub old: Option<bool>,
    /// The flag after the change (absent: removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = false)]
    pub new: Option<bool>,
    /// The outreach item's state after the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<OutreachState>,
    /// The scopes of a created key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<Scope>>,
    /// The run a job or campaign run recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "run_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub run_id: Option<String>,
}

/// One entry of a workspace's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The entry's id (`aud_...`); ids sort in the order entries were written.
    #[schema(example = "aud_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub id: String,
    /// The workspace the action happened in.
    pub workspace: WorkspaceId,
    /// When, by the server's clock.
    pub at: DateTime<Utc>,
    /// The acting API key's id; `bootstrap` for the configured admin key, `cli` for the command line, the demo
    /// loader and the scheduler.
    #[schema(example = "key_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub actor: String,
    /// What was done.
    pub action: AuditAction,
    /// The kind of record acted on.
    pub target_kind: TargetKind,
    /// The record's opaque id.
    #[schema(example = "cus_01jh2k3m4n5p6q7r8s9t0v1w2x")]
    pub target_id: String,
    /// Facts about the action (never personal data).
    #[serde(default)]
    pub detail: AuditDetail,
}

/// Filters of the audit log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only entries about this record.
    pub target_id: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    /// Whether `entry` passes every filter.
    pub fn keeps(&self, entry: &AuditEntry) -> bool {
        self.action.is_none_or(|a| a == entry.action)
            && self.target_id.as_ref().is_none_or(|t| *t == entry.target_id)
            && self.since.is_none_or(|s| entry.at >= s)
            && self.until.is_none_or(|u| entry.at < u)
    }
}

/// Hands out entry ids that start with the entry's time (a ULID), strictly increasing in the order they are
/// handed out, also when the clock stands still or goes back.
#[derive(Default)]
pub struct AuditIds(std::sync::Mutex<ulid::Generator>);

impl AuditIds {
    /// A new id for an entry written at `at`; its time is `at`, or later when the clock went back.
    pub fn next(&self, at: DateTime<Utc>) -> String {
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis(at));
        let mut generator = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let ulid = generator
            .generate_from_datetime(when)
            .unwrap_or_else(|_| ulid::Ulid::from_datetime(when));
        format_id(ulid)
    }
}

/// The smallest id an entry written at or after `at` can have (a lower bound for `since`).
pub fn first_id_at(at: DateTime<Utc>) -> String {
    format_id(ulid::Ulid::from_parts(millis(at), 0))
}

fn millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

fn format_id(ulid: ulid::Ulid) -> String {
    // Crockford base32 in lower case sorts as the ULID does: digits below letters, letters in order.
    format!("aud_{}", ulid.to_string().to_lowercase())
}

/// The audited actions among recorded preference changes: consent per channel and do-not-contact, with the
/// flags before and after (the consent's time and source are left out: a source is free text).
pub fn preference_actions(changes: &[PreferenceChange]) -> Vec<(AuditAction, AuditDetail)> {
    let granted = |v: &Value| v.get("granted").and_then(Value::as_bool);
    changes
        .iter()
        .filter_map(|c| {
            if c.field == "do_not_contact" {
                return Some((
                    AuditAction::DoNotContactChanged,
                    AuditDetail {
                        old: c.old_value.as_bool(),
                        new: c.new_value.as_bool(),
                        ..AuditDetail::default()
                    },
                ));
            }
            let channel: Channel =
                serde_json::from_value(Value::String(c.field.strip_prefix("consent.")?.into())).ok()?;
            let (old, new) = (granted(&c.old_value), granted(&c.new_value));
            // A consent re-recorded with the same answer (a new time or source) is no change of consent.
            (old != new).then(|| {
                (
                    AuditAction::ConsentChanged,
                    AuditDetail {
                        channel: Some(channel),
                        old,
                        new,
                        ..AuditDetail::default()
                    },
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(field: &str, old: Value, new: Value) -> PreferenceChange {
        PreferenceChange {
            seq: 1,
            field: field.into(),
            old_value: old,
            new_value: new,
            changed_at: "2026-11-25T10:00:00Z".parse().unwrap(),
            source: "api:key_x".into(),
        }
    }

    #[test]
    fn consent_and_do_not_contact_changes_are_audited_with_flags_only() {
        let changes = [
            change("tone", json!("formal"), json!("casual")),
            change(
                "consent.email",
                json!({"granted": true, "at": "2026-01-01T00:00:00Z", "source": "Camille's form"}),
                json!({"granted": false, "at": "2026-11-25T10:00:00Z", "source": "api:key_x"}),
            ),
            change("consent.sms", Value::Null, json!({"granted": true})),
            change("do_not_contact", json!(false), json!(true)),
        ];
        let audited = preference_actions(&changes);
        assert_eq!(audited.len(), 3);
        assert_eq!(audited[0].0, AuditAction::ConsentChanged);
        assert_eq!(audited[0].1.channel, Some(Channel::Email));
        assert_eq!((audited[0].1.old, audited[0].1.new), (Some(true), Some(false)));
        assert_eq!((audited[1].1.old, audited[1].1.new), (None, Some(true)));
        assert_eq!(audited[2].0, AuditAction::DoNotContactChanged);
        assert_eq!((audited[2].1.old, audited[2].1.new), (Some(false), Some(true)));
        assert!(!serde_json::to_string(&audited[0].1).unwrap().contains("Camille"));
    }

    #[test]
    fn a_consent_recorded_again_with_the_same_answer_is_not_a_change() {
        let same = change(
            "consent.chat",
            json!({"granted": true, "source": "a"}),
            json!({"granted": true, "source": "b"}),
        );
        assert!(preference_actions(&[same]).is_empty());
    }

    #[test]
    fn ids_follow_the_clock_and_increase_when_it_stands_still() {
        let ids = AuditIds::default();
        let at: DateTime<Utc> = "2026-11-25T10:00:00Z".parse().unwrap();
        let (a, b) = (ids.next(at), ids.next(at));
        assert!(a < b, "{a} {b}");
        assert!(first_id_at(at) <= a && a < first_id_at(at + chrono::Duration::milliseconds(1)));
        let later = ids.next(at + chrono::Duration::days(1));
        assert!(later > b && later >= first_id_at(at + chrono::Duration::days(1)));
    }

    #[test]
    fn filters_match_action_target_and_time() {
        let entry = AuditEntry {
            id: "aud_1".into(),
            workspace: WorkspaceId::default_workspace(),
            at: "2026-11-25T10:00:00Z".parse().unwrap(),
            actor: "bootstrap".into(),
            action: AuditAction::CustomerErased,
            target_kind: TargetKind::Customer,
            target_id: "cus_1".into(),
            detail: AuditDetail::default(),
        };
        assert!(AuditFilter::default().keeps(&entry));
        let at = |s: &str| Some(s.parse().unwrap());
        assert!(AuditFilter {
            action: Some(AuditAction::CustomerErased),
            target_id: Some("cus_1".into()),
            since: at("2026-11-25T10:00:00Z"),
            until: at("2026-11-25T10:00:01Z"),
        }
        .keeps(&entry));
        assert!(!AuditFilter {
            until: at("2026-11-25T10:00:00Z"),
            ..Default::default()
        }
        .keeps(&entry));
        assert!(!AuditFilter {
            action: Some(AuditAction::CustomerExported),
            ..Default::default()
        }
        .keeps(&entry));
    }
}
