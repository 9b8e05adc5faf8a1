//! Recall (ranked memories for a query) and the personalization context a helpdesk asks for on every reply.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::interaction::Interaction;
use crate::domain::lifecycle::promise_open_at;
use crate::domain::memory::{Memory, MemoryKind};
use crate::domain::mood::{self, SentimentTrend};
use crate::domain::preferences::{Channel, QuietHours, TechnicalLevel, Tone};
use crate::domain::recall::{group_by_message, rank, Indexed, Mode, RankQuery, ScoreParts, Weights};
use crate::domain::sentiment::{assess, Sentiment, Window};
use crate::domain::text::{detect, terms, Lang};
use crate::domain::when::time_hint;
use crate::domain::{validate, Customer, InvalidInput, Principal, Scope};
use crate::embed::TextRole;

/// A recall request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallQuery {
    /// The customer's new message or the agent's question.
    #[schema(example = "my hub keeps dropping offline at night")]
    pub query: String,
    /// How many memories to return (1-50, default 8).
    #[schema(example = 8, minimum = 1, maximum = 50)]
    pub k: Option<usize>,
    /// Only these kinds.
    pub kinds: Option<Vec<MemoryKind>>,
    /// Only memories observed at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only memories observed before this time.
    pub until: Option<DateTime<Utc>>,
    /// Include facts and preferences that a newer one replaced.
    #[serde(default)]
    pub include_expired: bool,
    /// Ranking method: `hybrid` (default), or `dense` or `keyword` alone (to compare).
    #[serde(default)]
    pub mode: Mode,
}

/// A recalled memory with its score and the score's parts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recalled {
    /// The memory (its `provenance` says where it comes from): the message itself when it was recalled.
    pub memory: Memory,
    /// Fused score (of the best memory of its message).
    pub score: f32,
    /// The score's parts.
    pub parts: ScoreParts,
    /// Typed memories drawn from the same message (issue, promise, fact...), recalled with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derived: Vec<Memory>,
}

/// Recall filters, checked against each memory.
#[derive(Debug, Clone, Default)]
pub struct RecallFilter {
    /// Only these kinds.
    pub kinds: Option<Vec<MemoryKind>>,
    /// Observed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Observed before.
    pub until: Option<DateTime<Utc>>,
    /// Keep replaced facts and preferences.
    pub include_expired: bool,
}

impl RecallFilter {
    /// Whether a memory passes the filter at `now`.
    pub fn keeps(&self, m: &Memory, now: DateTime<Utc>) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(&m.kind))
            && self.since.is_none_or(|t| m.observed_at >= t)
            && self.until.is_none_or(|t| m.observed_at < t)
            && (self.include_expired || m.is_valid_at(now))
    }
}

/// A query, embedded, with the language its keywords are read in.
pub struct QueryText<'a> {
    /// The text.
    pub text: &'a str,
    /// Its embedding.
    pub vector: &'a [f32],
    /// Its language.
    pub lang: Lang,
}

/// Ranks a customer's indexed memories for an embedded query and returns the best `top` messages, each with the
/// typed memories drawn from it.
pub fn rank_memories(
    memories: &[Arc<Indexed>],
    query: &QueryText<'_>,
    weights: &Weights,
    now: DateTime<Utc>,
    mode: Mode,
    filter: &RecallFilter,
    top: usize,
) -> Vec<Recalled> {
    let candidates: Vec<&Indexed> = memories
        .iter()
        .map(Arc::as_ref)
        .filter(|m| filter.keeps(&m.memory, now))
        .collect();
    let query_terms = terms(query.text, query.lang);
    let observed: Vec<DateTime<Utc>> = candidates.iter().map(|c| c.memory.observed_at).collect();
    let rank_query = RankQuery {
        vector: query.vector,
        terms: &query_terms,
        hint: time_hint(query.text, now, &observed),
    };
    let ranked = rank(&candidates, &rank_query, weights, now, mode, usize::MAX);
    group_by_message(&candidates, &ranked)
        .into_iter()
        .take(top)
        .map(|group| {
            let best = ranked[group[0]];
            let lead = group
                .iter()
                .copied()
                .find(|p| candidates[ranked[*p].index].memory.kind == MemoryKind::Message)
                .unwrap_or(group[0]);
            Recalled {
                memory: candidates[ranked[lead].index].memory.clone(),
                score: best.score,
                parts: best.parts,
                derived: group
                    .iter()
                    .filter(|p| **p != lead)
                    .map(|p| &candidates[ranked[*p].index].memory)
                    .filter(|m| m.kind != MemoryKind::Message)
                    .cloned()
                    .collect(),
            }
        })
        .collect()
}

impl Services {
    /// Embeds one query on the blocking pool.
    pub async fn embed_query(&self, text: &str) -> Result<Vec<f32>, ServiceError> {
        self.embed_one(text, TextRole::Query).await
    }

    /// Embeds one text in the given role on the blocking pool.
    pub(super) async fn embed_one(&self, text: &str, role: TextRole) -> Result<Vec<f32>, ServiceError> {
        let (embedder, text) = (Arc::clone(&self.embedder), text.to_owned());
        let mut v = tokio::task::spawn_blocking(move || embedder.embed(&[text.as_str()], role))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        Ok(v.pop().unwrap_or_default())
    }

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
            embedder.embed(&refs, TextRole::Passage)
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

    /// The customer's memories ranked for a query.
    pub async fn recall(
        &self,
        principal: &Principal,
        customer_id: &str,
        q: RecallQuery,
    ) -> Result<Vec<Recalled>, ServiceError> {
        require(principal, Scope::Read)?;
        let query = check_query(&q.query)?;
        let k = q.k.unwrap_or(8);
        if !(1..=50).contains(&k) {
            return Err(InvalidInput::new("invalid_field", "k", "must be between 1 and 50").into());
        }
        let customer = self.customer_for(principal, customer_id).await?;
        let filter = RecallFilter {
            kinds: q.kinds,
            since: q.since,
            until: q.until,
            include_expired: q.include_expired,
        };
        self.recall_for(&customer, &query, &filter, k, q.mode).await
    }

    pub(super) async fn recall_for(
        &self,
        customer: &Customer,
        query: &str,
        filter: &RecallFilter,
        top: usize,
        mode: Mode,
    ) -> Result<Vec<Recalled>, ServiceError> {
        let vector = self.embed_query(query).await?;
        let memories = self.index.customer(&customer.workspace, &customer.id);
        let lang = detect(query, customer.lang());
        let q = QueryText {
            text: query,
            vector: &vector,
            lang,
        };
        Ok(rank_memories(
            &memories,
            &q,
            &self.weights,
            self.now(),
            mode,
            filter,
            top,
        ))
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
        let message = check_query(&req.message)?;
        let budget = req.token_budget.unwrap_or(1500);
        if !(100..=32_000).contains(&budget) {
            return Err(InvalidInput::new("invalid_field", "token_budget", "must be between 100 and 32000").into());
        }
        let customer = self.customer_for(principal, customer_id).await?;
        let all = self.index.customer(&customer.workspace, &customer.id);
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
        let recalled = self
            .recall_for(&customer, &message, &RecallFilter::default(), 8, Mode::Hybrid)
            .await?;
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
            prompt: String::new(),
            prompt_tokens: 0,
        };
        let (prompt, tokens) = super::prompt::render(&ctx, lang, budget, now);
        ctx.prompt = prompt;
        ctx.prompt_tokens = tokens;
        Ok(ctx)
    }
}

fn check_query(q: &str) -> Result<String, InvalidInput> {
    let q = q.trim();
    if q.is_empty() {
        return Err(InvalidInput::new("invalid_field", "query", "must not be empty"));
    }
    if q.chars().count() > 10_000 {
        return Err(InvalidInput::new("invalid_field", "query", "at most 10000 characters"));
    }
    Ok(q.to_owned())
}

/// A context request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextRequest {
    /// The current message or ticket text.
    #[schema(example = "Bonjour, mon hub se déconnecte encore toutes les nuits")]
    pub message: String,
    /// Budget of the `prompt` block, in tokens (about 4 characters each; default 1500).
    #[schema(example = 1500)]
    pub token_budget: Option<usize>,
    /// Language of the answer (BCP 47); the customer's preferred language by default.
    #[schema(example = "fr")]
    pub language: Option<String>,
}

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
    /// All of the above as a text block for an agent or an LLM prompt, within the token budget.
    pub prompt: String,
    /// Estimated tokens of `prompt`.
    pub prompt_tokens: usize,
}

fn one_line(i: &Interaction, lang: Lang) -> String {
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
