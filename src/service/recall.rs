//! Recall (ranked memories for a query) and the personalization context a helpdesk asks for on every reply.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::memorize::customer_lang;
use super::{require, ServiceError, Services};
use crate::domain::interaction::Interaction;
use crate::domain::memory::{Memory, MemoryKind};
use crate::domain::preferences::{Channel, QuietHours, TechnicalLevel, Tone};
use crate::domain::recall::{rank, Indexed, Mode, ScoreParts, Weights};
use crate::domain::sentiment::analyse;
use crate::domain::text::{detect, terms, Lang};
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
}

/// A recalled memory with its score and the score's parts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recalled {
    /// The memory (its `provenance` says where it comes from).
    pub memory: Memory,
    /// Fused score.
    pub score: f32,
    /// The score's parts.
    pub parts: ScoreParts,
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

/// Ranks a customer's indexed memories for an embedded query; the function `rappel eval` measures.
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
    rank(&candidates, query.vector, &query_terms, weights, now, mode, top)
        .into_iter()
        .map(|s| Recalled {
            memory: candidates[s.index].memory.clone(),
            score: s.score,
            parts: s.parts,
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
        self.recall_for(&customer, &query, &filter, k).await
    }

    pub(super) async fn recall_for(
        &self,
        customer: &Customer,
        query: &str,
        filter: &RecallFilter,
        top: usize,
    ) -> Result<Vec<Recalled>, ServiceError> {
        let vector = self.embed_query(query).await?;
        let memories = self.index.customer(&customer.workspace, &customer.id);
        let lang = detect(query, customer_lang(customer));
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
            Mode::Hybrid,
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
            .recall_for(&customer, &message, &RecallFilter::default(), 8)
            .await?;
        let mut open_issues: Vec<Memory> = all
            .iter()
            .map(|m| &m.memory)
            .filter(|m| m.kind == MemoryKind::Issue && m.open)
            .cloned()
            .collect();
        open_issues.sort_by_key(|m| std::cmp::Reverse(m.observed_at));
        let mut commitments: Vec<Memory> = all
            .iter()
            .map(|m| &m.memory)
            .filter(|m| m.kind == MemoryKind::Commitment && m.open)
            .cloned()
            .collect();
        commitments.sort_by_key(|m| m.due_at.unwrap_or(m.observed_at));
        let current = analyse(&message, detect(&message, lang));
        let sentiment = trend(&all, current.score, current.frustrated, now);
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
            open_issues: open_issues.into_iter().take(5).collect(),
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

/// Sentiment, recent against longer-term, with an escalation recommendation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SentimentTrend {
    /// Sentiment of the current message.
    pub current: f32,
    /// Mean over the customer's messages of the last 30 days (with the current one).
    pub recent: f32,
    /// Mean over the last 180 days.
    pub longer_term: Option<f32>,
    /// `improving`, `stable` or `declining`.
    #[schema(example = "declining")]
    pub direction: String,
    /// Frustration in the current message or the last 7 days.
    pub frustrated: bool,
    /// Whether a human should take over.
    pub escalate: bool,
    /// Why, in words.
    pub reason: Option<String>,
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
    /// The last interactions, one line each, newest first.
    pub recent_interactions: Vec<String>,
    /// Sentiment trend and escalation advice.
    pub sentiment: SentimentTrend,
    /// All of the above as a text block for an agent or an LLM prompt, within the token budget.
    pub prompt: String,
    /// Estimated tokens of `prompt`.
    pub prompt_tokens: usize,
}

fn mean(xs: &[f32]) -> Option<f32> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f32>() / xs.len() as f32)
}

/// Sentiment trend from the customer's message memories and the current message.
pub fn trend(memories: &[Arc<Indexed>], current: f32, current_frustrated: bool, now: DateTime<Utc>) -> SentimentTrend {
    let scored: Vec<(DateTime<Utc>, f32)> = memories
        .iter()
        .filter(|m| m.memory.kind == MemoryKind::Message)
        .filter_map(|m| m.memory.sentiment.map(|s| (m.memory.observed_at, s)))
        .collect();
    let since = |days| {
        scored
            .iter()
            .filter(|(t, _)| *t >= now - Duration::days(days))
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
    };
    let mut recent = since(30);
    recent.push(current);
    let recent = mean(&recent).unwrap_or(current);
    let longer_term = mean(&since(180));
    let frustrated_week = memories.iter().any(|m| {
        m.memory.kind == MemoryKind::Message
            && m.memory.observed_at >= now - Duration::days(7)
            && m.memory.sentiment.is_some_and(|s| s <= -0.6)
    });
    let direction = match longer_term {
        Some(l) if recent < l - 0.15 => "declining",
        Some(l) if recent > l + 0.15 => "improving",
        _ => "stable",
    };
    let frustrated = current_frustrated || frustrated_week;
    let reason = if current_frustrated {
        Some("the current message is frustrated".to_owned())
    } else if recent <= -0.4 {
        Some(format!("recent sentiment is low ({recent:.2})"))
    } else if direction == "declining" && longer_term.is_some_and(|l| l - recent >= 0.3) {
        Some(format!(
            "sentiment fell from {:.2} to {recent:.2}",
            longer_term.unwrap_or_default()
        ))
    } else if frustrated_week {
        Some("frustrated messages in the last 7 days".to_owned())
    } else {
        None
    };
    SentimentTrend {
        current,
        recent,
        longer_term,
        direction: direction.to_owned(),
        frustrated,
        escalate: reason.is_some(),
        reason,
    }
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
