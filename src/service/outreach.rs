//! The outreach queue's use cases: queue under the contact rules, claim for senders, acknowledge, cancel, list.
//! A sent item becomes a memory of the customer, so the next agent knows what Rappel wrote to them.

use crate::domain::validate;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::memory::{outreach_memory_id, Memory, MemoryKind, Provenance};
use crate::domain::outreach::{
    dedupe_key, place, render, Audience, OutreachItem, OutreachSource, OutreachState, Placement, SkipRule,
};
use crate::domain::preferences::{Channel, Tone};
use crate::domain::recall::Indexed;
use crate::domain::text::Lang;
use crate::domain::{CursorList, Customer, InvalidInput, Page, Principal, Scope};
use crate::store::{AckOutcome, Enqueued, StoreError, StoredMemory};

/// Failures after which an item is marked failed.
pub const MAX_FAILURES: u32 = 3;

/// A request to queue one item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueRequest {
    /// The customer (Rappel id).
    pub customer_id: String,
    /// A short stable code of the reason (`sentiment_decline`), used for de-duplication.
    #[schema(example = "sentiment_decline")]
    pub reason_code: String,
    /// The reason in words.
    pub reason: String,
    /// Memory and interaction ids that justify the item.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Channels in the order to try; the customer's own preferred channels follow.
    #[serde(default)]
    pub channels: Vec<Channel>,
    /// Message templates by language, optionally by tone (`en`, `fr`, `fr.formal`, `en.casual`). Fields:
    /// `{first_name}`, `{name}`, `{company}`, `{plan}`, `{topic}`.
    #[schema(value_type = crate::domain::schemas::Templates, example = json!({"en": "Hi {first_name}, we noticed trouble with {topic}.", "fr": "Bonjour {first_name}, nous avons remarqué un souci avec {topic}."}))]
    pub templates: BTreeMap<String, String>,
    /// What `{topic}` stands for.
    pub topic: Option<String>,
    /// 1 (low) to 5 (urgent); default 3.
    #[schema(minimum = 1, maximum = 5)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub priority: Option<u8>,
    /// Not before this time (default now).
    pub not_before: Option<DateTime<Utc>>,
    /// Expires after this time.
    pub expires_at: Option<DateTime<Utc>>,
    /// The same customer, reason and evidence queued within this many hours give no second item (default 168, at
    /// most 87,600: ten years).
    #[schema(minimum = 0, maximum = 87600)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub cooldown_hours: Option<u32>,
}

/// What became of a queue request.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum QueueOutcome {
    /// Queued.
    Queued {
        /// The item.
        item: Box<OutreachItem>,
    },
    /// Not queued, and why.
    Skipped {
        /// The rule that skipped it.
        rule: SkipRule,
    },
}

/// A sender's report.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    /// `sent` or `failed`.
    pub status: AckStatus,
    /// The provider's message id, when sent.
    pub provider_message_id: Option<String>,
    /// The error, when failed.
    pub error: Option<String>,
}

/// Result of a sending attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Delivered to the provider.
    Sent,
    /// Not delivered.
    Failed,
}

/// Filters of the outreach list.
#[derive(Debug, Clone, Default)]
pub struct OutreachFilter {
    /// Only this state.
    pub state: Option<OutreachState>,
    /// Only this customer.
    pub customer_id: Option<String>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only items queued by this job or campaign id.
    pub source: Option<String>,
}

fn pick_template(templates: &BTreeMap<String, String>, lang: &str, tone: Option<Tone>) -> Option<String> {
    let tone = tone.map(|t| match t {
        Tone::Formal => "formal",
        Tone::Casual => "casual",
    });
    let primary = lang.split('-').next().unwrap_or("en").to_ascii_lowercase();
    let mut keys = Vec::new();
    if let Some(t) = tone {
        keys.push(format!("{primary}.{t}"));
    }
    keys.push(primary);
    if let Some(t) = tone {
        keys.push(format!("en.{t}"));
    }
    keys.push("en".into());
    keys.iter().find_map(|k| templates.get(k).cloned())
}

/// Who a job or campaign wants to reach, and why: what it passes to [`Services::queue_into_run`].
pub struct Target {
    /// The customer.
    pub customer_id: String,
    /// The customer's external id, for error lines.
    pub external_id: String,
    /// Stable reason code (part of the de-duplication key).
    pub reason_code: String,
    /// The reason in words.
    pub reason: String,
    /// Memory and interaction ids.
    pub evidence: Vec<String>,
    /// What `{topic}` stands for.
    pub topic: Option<String>,
}

impl Services {
    /// Queues an item under the contact rules (also used by jobs and campaigns, with their own source).
    pub async fn queue_outreach(
        &self,
        principal: &Principal,
        source: OutreachSource,
        req: QueueRequest,
    ) -> Result<QueueOutcome, ServiceError> {
        require(principal, Scope::Write)?;
        crate::domain::outreach::check_templates("templates", &req.templates)?;
        validate::opt_time("not_before", req.not_before)?;
        validate::opt_time("expires_at", req.expires_at)?;
        let priority = req.priority.unwrap_or(3);
        if !(1..=5).contains(&priority) {
            return Err(InvalidInput::new("invalid_field", "priority", "must be between 1 and 5").into());
        }
        let customer = self.customer_for(principal, &req.customer_id).await?;
        let now = self.now();
        let cooldown_hours =
            crate::domain::outreach::check_cooldown("cooldown_hours", req.cooldown_hours.unwrap_or(168))?;
        let cooldown = Duration::hours(i64::from(cooldown_hours));
        let key = dedupe_key(&customer.id, &req.reason_code, &req.evidence);
        let (ws, cid, k) = (customer.workspace.clone(), customer.id.clone(), key.clone());
        if self
            .blocking(move |s| s.recent_duplicate(&ws, &cid, &k, now - cooldown))
            .await?
            .is_some()
        {
            return Ok(QueueOutcome::Skipped {
                rule: SkipRule::Duplicate,
            });
        }
        let (ws, cid) = (customer.workspace.clone(), customer.id.clone());
        let (prefs, contacts) = self
            .blocking(move |s| {
                Ok((
                    s.get_preferences(&ws, &cid)?,
                    s.contacts_since(&ws, &cid, now - Duration::days(7))?,
                ))
            })
            .await
            .map_err(super::error::customer_error(&req.customer_id))?;
        let audience = Audience {
            preferences: &prefs,
            timezone: customer.fields.timezone.as_deref(),
            contacts_this_week: contacts,
        };
        let (channel, quiet_until) = match place(&req.channels, &audience, now) {
            Placement::Skip(rule) => return Ok(QueueOutcome::Skipped { rule }),
            Placement::Queue { channel, not_before } => (channel, not_before),
        };
        let language = prefs
            .preferred_language
            .clone()
            .or(customer.fields.language.clone())
            .unwrap_or_else(|| "en".into());
        // check_templates made sure of an "en" template, the last fallback.
        let Some(template) = pick_template(&req.templates, &language, prefs.tone) else {
            return Err(InvalidInput::new("invalid_field", "templates", "needs an \"en\" template").into());
        };
        let language = if req
            .templates
            .keys()
            .any(|k| k.starts_with(language.split('-').next().unwrap_or("en")))
        {
            language
        } else {
            "en".into()
        };
        let name = customer.fields.name.clone().unwrap_or_default();
        let first_name = name.split_whitespace().next().unwrap_or("").to_owned();
        let message = render(
            &template,
            &[
                ("first_name", &first_name),
                ("name", &name),
                ("company", customer.fields.company.as_deref().unwrap_or("")),
                ("plan", customer.fields.plan.as_deref().unwrap_or("")),
                ("topic", req.topic.as_deref().unwrap_or("")),
            ],
        );
        let item = OutreachItem {
            id: format!("out_{}", ulid::Ulid::new().to_string().to_lowercase()),
            workspace: customer.workspace.clone(),
            customer_id: customer.id.clone(),
            source,
            reason: req.reason,
            evidence: req.evidence.clone(),
            channel,
            language,
            message,
            priority,
            not_before: req.not_before.unwrap_or(now).max(quiet_until),
            expires_at: req.expires_at,
            state: OutreachState::Queued,
            lease_until: None,
            failures: 0,
            provider_message_id: None,
            error: None,
            sent_at: None,
            dedupe_key: key,
            created_at: now,
            updated_at: now,
        };
        let stored = item.clone();
        match self
            .blocking(move |s| s.enqueue(&stored, now - cooldown))
            .await
            .map_err(super::error::customer_error(&req.customer_id))?
        {
            Enqueued::Queued => Ok(QueueOutcome::Queued { item: Box::new(item) }),
            Enqueued::Duplicate(_) => Ok(QueueOutcome::Skipped {
                rule: SkipRule::Duplicate,
            }),
        }
    }

    /// Hands out due items to a sender.
    pub async fn claim_outreach(
        &self,
        principal: &Principal,
        channel: Option<Channel>,
        max: usize,
        lease_seconds: u32,
    ) -> Result<Vec<OutreachItem>, ServiceError> {
        require(principal, Scope::Write)?;
        if !(1..=500).contains(&max) {
            return Err(InvalidInput::new("invalid_field", "max", "must be between 1 and 500").into());
        }
        if !(5..=86_400).contains(&lease_seconds) {
            return Err(InvalidInput::new("invalid_field", "lease_seconds", "must be between 5 and 86400").into());
        }
        let (ws, now) = (principal.workspace.clone(), self.now());
        Ok(self
            .blocking(move |s| s.claim(&ws, channel, max, now, Duration::seconds(i64::from(lease_seconds))))
            .await?)
    }

    /// Records a sender's result; a first `sent` report adds the outreach to the customer's memory.
    pub async fn ack_outreach(
        &self,
        principal: &Principal,
        id: &str,
        req: AckRequest,
    ) -> Result<OutreachItem, ServiceError> {
        require(principal, Scope::Write)?;
        let outcome = match req.status {
            AckStatus::Sent => AckOutcome::Sent(req.provider_message_id),
            AckStatus::Failed => AckOutcome::Failed(req.error.unwrap_or_else(|| "unspecified error".into())),
        };
        let (ws, key, now) = (principal.workspace.clone(), id.to_owned(), self.now());
        let item = self
            .blocking(move |s| s.ack(&ws, &key, &outcome, now, MAX_FAILURES))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::OutreachNotFound(id.to_owned()),
                other => other.into(),
            })?;
        self.audit_outreach(principal, AuditAction::OutreachAcked, &item)
            .await?;
        if item.state == OutreachState::Sent {
            // Formed before the answer, and again on a repeated report when missing: an acknowledged `sent` is
            // remembered even if the process dies right after answering, or between the two writes.
            self.remember_outreach(&item).await?;
        }
        Ok(item)
    }

    /// Records what a key did to an outreach item, with the state it left it in.
    async fn audit_outreach(
        &self,
        principal: &Principal,
        action: AuditAction,
        item: &OutreachItem,
    ) -> Result<(), ServiceError> {
        let detail = AuditDetail {
            state: Some(item.state),
            ..AuditDetail::default()
        };
        self.audit(principal, action, TargetKind::Outreach, &item.id, detail)
            .await
    }

    /// Adds a sent item to its customer's memory, once.
    async fn remember_outreach(&self, item: &OutreachItem) -> Result<(), ServiceError> {
        let (ws, key) = (
            item.workspace.clone(),
            (item.customer_id.clone(), outreach_memory_id(&item.id)),
        );
        let exists =
            move |s: &dyn crate::store::Store| Ok(!s.memories_by_key(&ws, std::slice::from_ref(&key))?.is_empty());
        if self.blocking(exists.clone()).await? {
            return Ok(());
        }
        let sent = item.sent_at.unwrap_or(item.updated_at);
        let text = format!(
            "Proactive {:?} message sent on {} ({}): {}",
            item.channel,
            sent.format("%Y-%m-%d"),
            item.reason,
            item.message
        )
        .replace("Proactive Email", "Proactive e-mail");
        let vector = self.embed_one(&text, crate::embed::TextRole::Passage).await?;
        let (ws, cid) = (item.workspace.clone(), item.customer_id.clone());
        let _guard = self.lock_customer(&ws, &cid).await?;
        let customer: Option<Customer> = self.blocking(move |s| s.get_customer(&ws, &cid)).await?;
        let Some(customer) = customer else { return Ok(()) };
        if self.blocking(exists).await? {
            return Ok(());
        }
        let memory = Memory {
            id: outreach_memory_id(&item.id),
            workspace: item.workspace.clone(),
            kind: MemoryKind::Message,
            text,
            subject: Some("outreach".into()),
            language: Lang::from_tag(&item.language).unwrap_or(customer.lang()),
            provenance: Provenance {
                customer_id: item.customer_id.clone(),
                interaction_id: format!("outreach:{}", item.id),
                message_ids: vec![item.id.clone()],
            },
            observed_at: sent,
            valid_from: None,
            valid_to: None,
            due_at: None,
            open: false,
            count: 1,
            last_seen: sent,
            pinned: false,
            sentiment: None,
            frustrated: false,
            cues: Vec::new(),
            speaker: None,
            seq: 0,
            edits: Vec::new(),
        };
        let stored = StoredMemory {
            memory: memory.clone(),
            vector: vector.clone(),
        };
        self.blocking(move |s| s.insert_memories(std::slice::from_ref(&stored)))
            .await?;
        self.saved(vec![Indexed::new(memory, vector)])
    }

    /// Cancels a queued or claimed item.
    pub async fn cancel_outreach(&self, principal: &Principal, id: &str) -> Result<OutreachItem, ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, key, now) = (principal.workspace.clone(), id.to_owned(), self.now());
        let item = self
            .blocking(move |s| s.cancel_outreach(&ws, &key, now))
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ServiceError::OutreachNotFound(id.to_owned()),
                other => other.into(),
            })?;
        self.audit_outreach(principal, AuditAction::OutreachCancelled, &item)
            .await?;
        Ok(item)
    }

    /// One item.
    pub async fn get_outreach(&self, principal: &Principal, id: &str) -> Result<OutreachItem, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        self.blocking(move |s| s.get_outreach(&ws, &key))
            .await?
            .ok_or_else(|| ServiceError::OutreachNotFound(id.to_owned()))
    }

    /// Items in creation order, filtered.
    pub async fn list_outreach(
        &self,
        principal: &Principal,
        filter: OutreachFilter,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<OutreachItem>, ServiceError> {
        require(principal, Scope::Read)?;
        let cursor = CursorList::Outreach.decode_opt(cursor.as_deref())?;
        let ws = principal.workspace.clone();
        let filter = Arc::new(filter);
        Ok(self
            .blocking(move |s| {
                let keep = |i: &OutreachItem| {
                    filter.state.is_none_or(|st| i.state == st)
                        && filter
                            .customer_id
                            .as_deref()
                            .is_none_or(|c| i.customer_id.as_str() == c)
                        && filter.channel.is_none_or(|c| i.channel == c)
                        && filter.source.as_deref().is_none_or(|src| i.source.id == src)
                };
                s.list_outreach(&ws, cursor.as_deref(), limit, &keep)
            })
            .await?)
    }
}
