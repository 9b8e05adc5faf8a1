//! The few numbers of one interaction that the support metrics read ([`Fact`]), derived from the stored
//! interaction on every write so that a metrics request never decodes whole conversations.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // input-derived values: no panics

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::interaction::{AuthorRole, HandledBy, Interaction, InteractionChannel, InteractionStatus};

/// Who took part in an interaction, as the metrics split it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handler {
    /// Only the bot.
    Bot,
    /// Only people.
    Human,
    /// The bot, then people (a handoff).
    Both,
    /// Neither `handled_by` nor any agent or bot message says.
    Unknown,
}

impl Handler {
    /// The snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Human => "human",
            Self::Both => "both",
            Self::Unknown => "unknown",
        }
    }

    /// `handled_by` when the client sent it, else what the messages show: agent and bot messages make `both`,
    /// only agent messages `human`, only bot messages `bot`.
    pub fn of(interaction: &Interaction) -> Self {
        match interaction.fields.handled_by {
            Some(HandledBy::Bot) => Self::Bot,
            Some(HandledBy::Human) => Self::Human,
            Some(HandledBy::Both) => Self::Both,
            None => {
                let said = |role| interaction.fields.messages.iter().any(|m| m.role == role);
                match (said(AuthorRole::Bot), said(AuthorRole::Agent)) {
                    (true, true) => Self::Both,
                    (true, false) => Self::Bot,
                    (false, true) => Self::Human,
                    (false, false) => Self::Unknown,
                }
            }
        }
    }
}

/// One interaction as the support metrics see it. Stored beside the interaction, keyed by (workspace,
/// `opened_at`), and rewritten with it; it holds the customer id and agent names, so it is erased with the
/// customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// Customer.
    pub customer_id: String,
    /// When it started (the bucket it counts in).
    pub opened_at: DateTime<Utc>,
    /// Channel.
    pub channel: InteractionChannel,
    /// Who took part.
    pub handler: Handler,
    /// Status `resolved` or `closed`.
    pub resolved: bool,
    /// Escalated from the bot to people: `handled_by` is `both`, or the bot handled it and it was flagged
    /// `escalated` or has a handoff brief.
    pub escalated_to_human: bool,
    /// CSAT, 1-5.
    pub csat: Option<u8>,
    /// NPS, 0-10.
    pub nps: Option<u8>,
    /// Seconds from `opened_at` to the first agent or bot message sent at or after it.
    pub first_response_secs: Option<i64>,
    /// Seconds from `opened_at` to `closed_at`, when resolved or closed with a `closed_at`.
    pub resolution_secs: Option<i64>,
    /// Messages written by an agent or the bot.
    pub support_replies: u32,
    /// Times Rappel saw the interaction go from `resolved`/`closed` back to `open`/`pending`.
    pub reopens: u32,
    /// Team slug, when sent.
    pub team: Option<String>,
    /// The author of the last human agent message (who resolved it, when resolved).
    pub agent: Option<String>,
}

impl Fact {
    /// The fact of `interaction`; `previous` is the fact stored for its earlier version (reopens carry over, and
    /// a move from resolved or closed back to open or pending counts one more).
    pub fn of(interaction: &Interaction, previous: Option<&Fact>) -> Self {
        let f = &interaction.fields;
        let handler = Handler::of(interaction);
        let resolved = matches!(f.status, InteractionStatus::Resolved | InteractionStatus::Closed);
        let reopened_now = previous.is_some_and(|p| p.resolved) && f.status.is_active();
        let reopens = previous.map_or(0, |p| p.reopens) + u32::from(reopened_now);
        let support = |role: AuthorRole| matches!(role, AuthorRole::Agent | AuthorRole::Bot);
        let first_response_secs = f
            .messages
            .iter()
            .filter(|m| support(m.role) && m.sent_at >= f.opened_at)
            .map(|m| (m.sent_at - f.opened_at).num_seconds())
            .min();
        let resolution_secs = f
            .closed_at
            .filter(|_| resolved)
            .map(|c| (c - f.opened_at).num_seconds().max(0));
        let escalated_to_human =
            handler == Handler::Both || (handler == Handler::Bot && (f.escalated || interaction.handoff.is_some()));
        Self {
            customer_id: interaction.customer_id.as_str().to_owned(),
            opened_at: f.opened_at,
            channel: f.channel,
            handler,
            resolved,
            escalated_to_human,
            csat: f.csat,
            nps: f.nps,
            first_response_secs,
            resolution_secs,
            support_replies: u32::try_from(f.messages.iter().filter(|m| support(m.role)).count()).unwrap_or(u32::MAX),
            reopens,
            team: f.team.clone(),
            agent: f
                .messages
                .iter()
                .rev()
                .find(|m| m.role == AuthorRole::Agent && m.author.is_some())
                .and_then(|m| m.author.clone()),
        }
    }

    /// Resolved with at most one agent or bot reply and never reopened.
    pub fn first_contact_resolution(&self) -> bool {
        self.resolved && self.support_replies <= 1 && self.reopens == 0
    }

    /// Resolved by the bot alone: handled by the bot, resolved, not escalated.
    pub fn ai_resolved(&self) -> bool {
        self.resolved && self.handler == Handler::Bot && !self.escalated_to_human
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::interaction::InteractionInput;
    use crate::domain::{CustomerId, WorkspaceId};
    use serde_json::json;

    fn interaction(body: serde_json::Value) -> Interaction {
        let input: InteractionInput = serde_json::from_value(body).unwrap();
        Interaction::new(
            WorkspaceId::default_workspace(),
            CustomerId::from_client("c"),
            input.validated().unwrap(),
            "2026-11-01T12:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn a_resolved_interaction_set_open_again_counts_one_reopen_and_loses_first_contact_resolution() {
        let mut i = interaction(json!({"external_id": "t", "channel": "chat", "status": "resolved",
            "opened_at": "2026-11-01T10:00:00Z", "closed_at": "2026-11-01T10:30:00Z", "messages": [
            {"id": "a", "role": "customer", "text": "help", "sent_at": "2026-11-01T10:00:00Z"},
            {"id": "b", "role": "agent", "author": "Ana", "text": "done", "sent_at": "2026-11-01T10:05:00Z"}]}));
        let first = Fact::of(&i, None);
        assert!(first.first_contact_resolution());
        assert_eq!(first.first_response_secs, Some(300));
        assert_eq!(first.resolution_secs, Some(1800));
        assert_eq!(first.agent.as_deref(), Some("Ana"));
        assert_eq!(first.handler, Handler::Human);
        i.fields.status = InteractionStatus::Open;
        let reopened = Fact::of(&i, Some(&first));
        assert_eq!(reopened.reopens, 1);
        i.fields.status = InteractionStatus::Resolved;
        let again = Fact::of(&i, Some(&reopened));
        assert_eq!(again.reopens, 1, "resolving again is no reopen");
        assert!(!again.first_contact_resolution());
    }

    #[test]
    fn a_bot_conversation_with_a_handoff_is_escalated_and_not_ai_resolved() {
        let mut i = interaction(json!({"external_id": "t", "channel": "chat", "status": "resolved",
            "opened_at": "2026-11-01T10:00:00Z", "handled_by": "bot"}));
        assert!(Fact::of(&i, None).ai_resolved());
        i.handoff = Some(json!({"summary": "x"}));
        let fact = Fact::of(&i, None);
        assert!(fact.escalated_to_human && !fact.ai_resolved());
    }
}
