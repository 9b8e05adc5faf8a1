//! Bot-to-human handoff: a deterministic brief (no LLM) stored with the interaction, so the person who takes over
//! reads what the bot knew.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::extract::extract;
use crate::domain::interaction::AuthorRole;
use crate::domain::lifecycle::promise_open_at;
use crate::domain::memory::MemoryKind;
use crate::domain::mood;
use crate::domain::preferences::Tone;
use crate::domain::recall::Mode;
use crate::domain::recalled::RecallFilter;
use crate::domain::routing::{Route, Trigger};
use crate::domain::text::detect;
use crate::domain::{Principal, Scope};

/// The brief a human agent reads when a bot hands over.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HandoffBrief {
    /// What the customer wants: their first message, and their latest when it differs.
    pub customer_wants: Vec<String>,
    /// What the bot or agents already tried or promised in this conversation.
    pub tried: Vec<String>,
    /// How the customer feels: mean sentiment of their messages here.
    pub sentiment: f32,
    /// Whether any of their messages here is frustrated.
    pub frustrated: bool,
    /// Relevant memories from earlier conversations (`text [interaction]`).
    pub relevant_history: Vec<String>,
    /// Promises still open, from any conversation.
    pub open_commitments: Vec<String>,
    /// Promises past their due time and not kept (`text (due date) [interaction]`).
    #[serde(default)]
    pub overdue_commitments: Vec<String>,
    /// Whether the customer's history (threats, broken promises, repeated contacts) or this conversation's words
    /// (a threat to leave, legal or safety words: see `triggers`) call for care.
    #[serde(default)]
    pub escalate: bool,
    /// Why: the first escalating trigger of this conversation and the customer's words (`safety words: ...`),
    /// else the history's reason, in the customer's language.
    #[serde(default)]
    pub escalation_reason: Option<String>,
    /// Escalation triggers the customer's words fired (frustration, threat to leave, repeated contact, legal or
    /// safety words), each with its evidence.
    #[serde(default)]
    pub triggers: Vec<Trigger>,
    /// The team best suited to the conversation, with the reason and the runner-up; `null` when the workspace
    /// has no team (`POST /v1/teams`).
    #[serde(default)]
    pub route: Option<Route>,
    /// Suggested tone.
    #[schema(example = "formal; apologise first, the customer is frustrated")]
    pub suggested_tone: String,
    /// When the brief was made.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl Services {
    /// Builds the handoff brief of an interaction and stores it with the interaction.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = customer_id))]
    pub async fn handoff(
        &self,
        principal: &Principal,
        customer_id: &str,
        interaction: &str,
    ) -> Result<HandoffBrief, ServiceError> {
        require(principal, Scope::Write)?;
        let customer = self.customer_for(principal, customer_id).await?;
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        let mut current = self.find_interaction(&customer, interaction).await?;
        let lang = customer.lang();
        let messages = &current.fields.messages;
        let from_customer: Vec<_> = messages.iter().filter(|m| m.role == AuthorRole::Customer).collect();
        let mut customer_wants: Vec<String> = from_customer.first().map(|m| m.text.clone()).into_iter().collect();
        if let Some(last) = from_customer
            .last()
            .filter(|l| from_customer.len() > 1 && Some(&l.text) != customer_wants.first())
        {
            customer_wants.push(last.text.clone());
        }
        let tried: Vec<String> = messages
            .iter()
            .filter(|m| m.role != AuthorRole::Customer)
            .flat_map(|m| extract(&m.text, m.role, m.sent_at, detect(&m.text, lang)))
            .filter(|e| matches!(e.kind, MemoryKind::Resolution | MemoryKind::Commitment))
            .map(|e| e.text)
            .collect();
        let scores: Vec<f32> = from_customer
            .iter()
            .filter_map(|m| m.sentiment.as_ref().map(|s| s.score))
            .collect();
        let sentiment = if scores.is_empty() {
            0.0
        } else {
            scores.iter().sum::<f32>() / scores.len() as f32
        };
        let frustrated = from_customer
            .iter()
            .any(|m| m.sentiment.as_ref().is_some_and(|s| s.frustrated));
        let query = customer_wants.join(" ");
        let mut relevant_history = Vec::new();
        let all = self.memories_locked(&customer.workspace, &customer.id).await?;
        if !query.is_empty() {
            let ext = current.fields.external_id.clone();
            let earlier = self
                .recall_in(&all, &customer, &query, &RecallFilter::default(), 50, Mode::Hybrid)
                .await?;
            relevant_history = earlier
                .into_iter()
                .filter(|r| r.memory.provenance.interaction_id != ext)
                .flat_map(|r| {
                    if r.derived.is_empty() {
                        vec![r.memory]
                    } else {
                        r.derived
                    }
                })
                .take(3)
                .map(|m| format!("{} [{}]", m.text, m.provenance.interaction_id))
                .collect();
        }
        let now = self.now();
        let open_commitments: Vec<String> = all
            .iter()
            .filter(|m| promise_open_at(&m.memory, now))
            .map(|m| format!("{} [{}]", m.memory.text, m.memory.provenance.interaction_id))
            .collect();
        let moods = mood::moods(&all);
        let trouble = mood::trouble(&all, &moods, now);
        let overdue_commitments: Vec<String> = trouble
            .overdue
            .iter()
            .map(|m| {
                let due = m.due_at.unwrap_or(m.observed_at).format("%Y-%m-%d");
                format!("{} ({due}) [{}]", m.text, m.provenance.interaction_id)
            })
            .collect();
        let trend = mood::trend(&moods, None, &trouble, now, lang);
        let (ws, cid) = (customer.workspace.clone(), customer.id.clone());
        let prefs = self.blocking(move |s| s.get_preferences(&ws, &cid)).await?;
        let tone = match prefs.tone {
            Some(Tone::Casual) => "casual",
            _ => "formal",
        };
        let frustrated = frustrated || trend.frustrated;
        let suggested_tone = match (frustrated, sentiment < -0.3) {
            (true, _) => format!("{tone}; apologise first, the customer is frustrated"),
            (false, true) => format!("{tone}; acknowledge the inconvenience"),
            _ => tone.to_owned(),
        };
        let (triggers, route) = self.route_conversation(&customer, &current).await?;
        let escalating = triggers.iter().find(|t| t.kind.escalates());
        let escalation_reason = escalating
            .map(|t| format!("{}: {}", t.kind.words(), t.evidence))
            .or(trend.reason);
        let brief = HandoffBrief {
            customer_wants,
            tried,
            sentiment,
            frustrated,
            relevant_history,
            open_commitments,
            overdue_commitments,
            escalate: trend.escalate || escalating.is_some(),
            escalation_reason,
            triggers,
            route,
            suggested_tone,
            created_at: self.now(),
        };
        current.handoff = Some(serde_json::to_value(&brief).unwrap_or_default());
        current.updated_at = self.now();
        let stored = current.clone();
        self.blocking(move |s| s.save_ingest(&stored, &[], &[]).map(drop))
            .await
            .map_err(super::error::customer_error(customer_id))?;
        Ok(brief)
    }
}
