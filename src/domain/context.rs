//! The personalization context a helpdesk gets on every reply: the types, and the one-line summaries of past
//! interactions it lists.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::interaction::Interaction;
use super::knowledge::KnowledgeHit;
use super::memory::Memory;
use super::mood::SentimentTrend;
use super::preferences::{Channel, QuietHours, TechnicalLevel, Tone};
use super::recalled::Recalled;
use super::text::Lang;

/// Profile essentials.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// Rappel's id.
    pub id: String,
    /// The client's id.
    pub external_id: String,
    /// Name.
    pub name: Option<String>,
    /// Company.
    pub company: Option<String>,
    /// Plan.
    pub plan: Option<String>,
    /// Time zone.
    pub timezone: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Signup date.
    pub customer_since: Option<NaiveDate>,
    /// Renewal date.
    pub renewal_date: Option<NaiveDate>,
}

/// How to speak to the customer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreferenceSummary {
    /// Language to answer in.
    pub language: String,
    /// Tone.
    pub tone: Option<Tone>,
    /// Channels in preference order.
    pub preferred_channels: Vec<Channel>,
    /// Technical level.
    pub technical_level: Option<TechnicalLevel>,
    /// Quiet hours.
    pub quiet_hours: Option<QuietHours>,
    /// Asked never to be contacted proactively.
    pub do_not_contact: bool,
}

/// What a helpdesk needs to answer this customer now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerContext {
    /// Language of the answer and of the prompt's labels.
    pub language: String,
    /// Profile essentials.
    pub profile: Profile,
    /// How to speak to the customer.
    pub preferences: PreferenceSummary,
    /// The memories most relevant to the message, with provenance.
    pub memories: Vec<Recalled>,
    /// Issues not yet resolved, newest first.
    pub open_issues: Vec<Memory>,
    /// Promises not yet kept, soonest due first.
    pub open_commitments: Vec<Memory>,
    /// Promises past their due time and not kept: broken promises, oldest due first.
    pub overdue_commitments: Vec<Memory>,
    /// The last interactions, one line each, newest first.
    pub recent_interactions: Vec<String>,
    /// Sentiment trend and escalation advice.
    pub sentiment: SentimentTrend,
    /// Knowledge-base chunks that answer the message, with citations (expired documents never; nothing when no
    /// chunk is similar enough), in the answer's language where a document exists in it.
    pub knowledge: Vec<KnowledgeHit>,
    /// How similar problems were solved before, across the workspace's customers.
    pub past_resolutions: Vec<PastResolution>,
    /// All of the above as a text block for an agent or an LLM prompt, within the token budget.
    pub prompt: String,
    /// Estimated tokens of `prompt`.
    pub prompt_tokens: usize,
}

/// How a similar problem was solved before (another customer's conversation: no personal detail is shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PastResolution {
    /// What fixed it.
    pub resolution: String,
    /// The problem reported, when one was recognised.
    pub issue: Option<String>,
    /// The interaction's subject.
    pub subject: Option<String>,
    /// When it was solved.
    pub solved_at: chrono::DateTime<chrono::Utc>,
    /// Fused ranking score.
    pub score: f32,
}

/// An interaction in one line: date, channel, subject, status and CSAT.
pub fn one_line(i: &Interaction, lang: Lang) -> String {
    let status = format!("{:?}", i.fields.status).to_lowercase();
    let subject = i.fields.subject.clone().unwrap_or_else(|| match lang {
        Lang::En => "(no subject)".into(),
        Lang::Fr => "(sans objet)".into(),
    });
    let csat = i.fields.csat.map(|c| format!(", CSAT {c}")).unwrap_or_default();
    format!(
        "{} {:?} — {subject} [{status}{csat}]",
        i.fields.opened_at.format("%Y-%m-%d"),
        i.fields.channel
    )
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::interaction::InteractionInput;
    use crate::domain::{CustomerId, WorkspaceId};

    #[test]
    fn an_interaction_in_one_line_in_either_language() {
        let input: InteractionInput = serde_json::from_value(serde_json::json!({
            "external_id": "int-1", "channel": "email", "status": "resolved", "csat": 2,
            "opened_at": "2026-11-23T08:00:00Z", "messages": []
        }))
        .unwrap();
        let i = Interaction::new(
            WorkspaceId::default_workspace(),
            CustomerId::from_client("c"),
            input,
            "2026-11-23T08:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            one_line(&i, Lang::Fr),
            "2026-11-23 Email — (sans objet) [resolved, CSAT 2]"
        );
        assert_eq!(
            one_line(&i, Lang::En),
            "2026-11-23 Email — (no subject) [resolved, CSAT 2]"
        );
    }
}
