//! Routing on handoff: the escalation triggers a conversation fires and the team best suited to it.

use chrono::Duration;

use super::{ServiceError, Services};
use crate::domain::interaction::{AuthorRole, Interaction};
use crate::domain::routing::{self, Candidate, Conversation, Route, Said, Trigger};
use crate::domain::Customer;

/// Other conversations opened this many days before a handoff make it a repeated contact.
const REPEAT_DAYS: i64 = 14;

impl Services {
    /// The triggers of a conversation and its route (`None` when the workspace has no team).
    pub(super) async fn route_conversation(
        &self,
        customer: &Customer,
        current: &Interaction,
    ) -> Result<(Vec<Trigger>, Option<Route>), ServiceError> {
        let now = self.now();
        let from_customer: Vec<_> = current
            .fields
            .messages
            .iter()
            .filter(|m| m.role == AuthorRole::Customer)
            .collect();
        let said: Vec<Said<'_>> = from_customer
            .iter()
            .map(|m| Said {
                text: &m.text,
                frustrated: m.sentiment.as_ref().is_some_and(|s| s.frustrated),
            })
            .collect();
        let (ws, cid) = (customer.workspace.clone(), customer.id.clone());
        let others = self.blocking(move |s| s.list_interactions(&ws, &cid)).await?;
        let opened = current.fields.opened_at;
        let earlier: Vec<String> = others
            .iter()
            .filter(|i| i.id != current.id && i.fields.opened_at <= opened)
            .filter(|i| i.fields.opened_at >= opened - Duration::days(REPEAT_DAYS))
            .map(|i| i.fields.external_id.clone())
            .collect();
        let triggers = routing::triggers(&said, &earlier);
        let teams = self.teams_embedded(&customer.workspace).await?;
        let mut words: Vec<&str> = current.fields.subject.iter().map(String::as_str).collect();
        words.extend(from_customer.iter().map(|m| m.text.as_str()));
        let text = words.join("\n");
        if teams.is_empty() || text.trim().is_empty() {
            return Ok((triggers, None));
        }
        let vector = self.embed_query(&text).await?;
        let candidates: Vec<Candidate<'_>> = teams
            .iter()
            .map(|(team, topics)| Candidate {
                team,
                topics: topics.as_slice(),
            })
            .collect();
        // The language the customer writes in here, their profile's when the words do not tell.
        let language = crate::domain::text::detect(&text, customer.lang()).tag();
        let conversation = Conversation {
            text: &text,
            vector: &vector,
            language: Some(language),
            product: current.fields.product.as_deref(),
            plan: customer.fields.plan.as_deref(),
            lifetime_value: customer.fields.lifetime_value,
            at: now,
            triggers: &triggers,
        };
        let route = routing::route(&candidates, &conversation, &routing::Weights::default());
        Ok((triggers, route))
    }
}
