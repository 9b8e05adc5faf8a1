//! The personalization context: what a helpdesk needs to answer a customer now, and the prompt block for an
//! agent or an LLM.

use std::sync::Arc;

use chrono::DateTime;
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::recall::check_query;
use super::{require, ServiceError, Services};
use crate::domain::context::{one_line, CustomerContext, PastResolution, PreferenceSummary, Profile};
use crate::domain::lifecycle::promise_open_at;
use crate::domain::memory::Memory;
use crate::domain::mood;
use crate::domain::recall::Mode;
use crate::domain::recalled::{RecallFilter, Recalled};
use crate::domain::sentiment::{assess, Sentiment, Window};
use crate::domain::text::{detect, Lang};
use crate::domain::{validate, Customer, InvalidInput, Principal, Scope};
use crate::embed::TextRole;

/// A context request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextRequest {
    /// The current message or ticket text.
    #[schema(
        example = "Bonjour, mon hub se déconnecte encore toutes les nuits",
        pattern = "\\S",
        min_length = 1,
        max_length = 10000
    )]
    pub message: String,
    /// Budget of the `prompt` block, in tokens (about 4 characters each; default 1500).
    #[schema(example = 1500, minimum = 100, maximum = 32000)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub token_budget: Option<usize>,
    /// Language of the answer (BCP 47); the customer's preferred language by default.
    #[schema(example = "fr", pattern = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
}

impl Services {
    /// Judges a message of the customer as ingest would: its windows embedded as stored texts (with the customer's
    /// name in front), then the sentiment head.
    pub(super) async fn judge_message(
        &self,
        customer: &Customer,
        text: &str,
        lang: Lang,
    ) -> Result<Sentiment, ServiceError> {
        let windows = crate::domain::text::windows(text, crate::domain::formation::WINDOW_WORDS);
        let inputs: Vec<String> = windows
            .iter()
            .map(|w| match customer.fields.name.as_deref() {
                Some(name) => format!("{name}: {w}"),
                None => w.clone(),
            })
            .collect();
        let embedder = Arc::clone(&self.embedder);
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            embedder.embed_urgent(&refs, TextRole::Passage)
        })
        .await
        .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        let windows: Vec<Window<'_>> = windows
            .iter()
            .zip(&vectors)
            .map(|(text, vector)| Window { text, vector })
            .collect();
        Ok(assess(text, detect(text, lang), &windows, self.sentiment.as_deref()))
    }

    /// The personalization context for the customer and the current message.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = customer_id))]
    pub async fn context(
        &self,
        principal: &Principal,
        customer_id: &str,
        req: ContextRequest,
    ) -> Result<CustomerContext, ServiceError> {
        require(principal, Scope::Read)?;
        let message = self.redactor.redact(&check_query(&req.message)?);
        let budget = req.token_budget.unwrap_or(1500);
        if !(100..=32_000).contains(&budget) {
            return Err(InvalidInput::new("invalid_field", "token_budget", "must be between 100 and 32000").into());
        }
        let customer = self.customer_for(principal, customer_id).await?;
        // The message is embedded twice: as a query (recall, knowledge, past resolutions) and as the customer's
        // words (sentiment).
        self.count_embedding(principal, 2 * message.chars().count())?;
        let all = self.memories_of(&customer.workspace, &customer.id).await?;
        // The last interactions, found through the memories' provenance: a few point reads, not a scan.
        let mut latest: Vec<(DateTime<Utc>, &str)> = Vec::new();
        for m in &all {
            let id = m.memory.provenance.interaction_id.as_str();
            match latest.iter_mut().find(|(_, i)| *i == id) {
                Some(entry) => entry.0 = entry.0.max(m.memory.observed_at),
                None => latest.push((m.memory.observed_at, id)),
            }
        }
        latest.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
        let recent_ids: Vec<String> = latest.iter().take(5).map(|(_, i)| (*i).to_owned()).collect();
        let (ws, cid) = (customer.workspace.clone(), customer.id.clone());
        let (preferences, interactions) = self
            .blocking(move |s| {
                let mut found = Vec::new();
                for id in &recent_ids {
                    found.extend(s.interaction_by_external_id(&ws, &cid, id)?);
                }
                Ok((s.get_preferences(&ws, &cid)?, found))
            })
            .await
            .map_err(super::error::customer_error(customer_id))?;
        let language = match req.language.as_deref() {
            Some(tag) => validate::language("language", tag)?,
            None => preferences
                .preferred_language
                .clone()
                .or(customer.fields.language.clone())
                .unwrap_or_else(|| "en".into()),
        };
        let lang = Lang::from_tag(&language).unwrap_or(Lang::En);
        let now = self.now();
        let query = self.embed_query(&message).await?;
        let recalled = self.recall_embedded(
            &all,
            &customer,
            &message,
            &query,
            &RecallFilter::default(),
            8,
            Mode::Hybrid,
        );
        let knowledge = self
            .knowledge_for_context(&customer.workspace, customer.id.as_str(), &message, &query, lang, 3)
            .await?;
        let past_resolutions = self
            .similar_resolutions_embedded(&customer.workspace, &message, &query, 3)
            .await?
            .into_iter()
            .map(|r| PastResolution {
                solved_at: r.resolution.memory.observed_at,
                resolution: r.resolution.memory.text,
                issue: r.issue,
                subject: r.subject,
                score: r.resolution.score,
            })
            .collect();
        let current = self.judge_message(&customer, &message, lang).await?;
        let moods = mood::moods(&all);
        let trouble = mood::trouble(&all, &moods, now);
        let sentiment = mood::trend(&moods, Some(&current), &trouble, now, lang);
        let mut commitments: Vec<Memory> = all
            .iter()
            .map(|m| &m.memory)
            .filter(|m| promise_open_at(m, now))
            .cloned()
            .collect();
        commitments.sort_by_key(|m| m.due_at.unwrap_or(m.observed_at));
        let mut timeline = interactions;
        timeline.sort_by_key(|i| std::cmp::Reverse(i.fields.opened_at));
        let recent_interactions: Vec<String> = timeline.iter().take(5).map(|i| one_line(i, lang)).collect();
        let profile = Profile {
            id: customer.id.to_string(),
            external_id: customer.fields.external_id.clone(),
            name: customer.fields.name.clone(),
            company: customer.fields.company.clone(),
            plan: customer.fields.plan.clone(),
            timezone: customer.fields.timezone.clone(),
            tags: customer.fields.tags.clone(),
            customer_since: customer.fields.signup_date,
            renewal_date: customer.fields.renewal_date,
        };
        let prefs = PreferenceSummary {
            language: language.clone(),
            tone: preferences.tone,
            preferred_channels: preferences.preferred_channels.clone(),
            technical_level: preferences.technical_level,
            quiet_hours: preferences.quiet_hours.clone(),
            do_not_contact: preferences.do_not_contact,
        };
        let memories: Vec<Recalled> = recalled.into_iter().take(8).collect();
        let mut ctx = CustomerContext {
            language,
            profile,
            preferences: prefs,
            memories,
            open_issues: trouble.open_issues.into_iter().take(5).collect(),
            overdue_commitments: trouble.overdue.into_iter().take(5).collect(),
            open_commitments: commitments.into_iter().take(5).collect(),
            recent_interactions,
            sentiment,
            knowledge,
            past_resolutions,
            prompt: String::new(),
            prompt_tokens: 0,
        };
        let (prompt, tokens) = crate::domain::prompt::render(&ctx, lang, budget, now);
        ctx.prompt = prompt;
        ctx.prompt_tokens = tokens;
        Ok(ctx)
    }
}
