//! Managing memories: list, get, correct (re-embedded, history kept), pin, delete; retention.

use crate::domain::validate;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::memory::{Memory, MemoryEdit, MemoryKind, Retention};
use crate::domain::recall::Indexed;
use crate::domain::{CursorList, CustomerId, InvalidInput, Page, Principal, Scope};
use crate::store::StoredMemory;

/// Filters of the memory list.
#[derive(Debug, Clone, Default)]
pub struct MemoryFilter {
    /// Only this kind.
    pub kind: Option<MemoryKind>,
    /// Observed at or after.
    pub since: Option<DateTime<Utc>>,
    /// Observed before.
    pub until: Option<DateTime<Utc>>,
    /// Only memories that still hold (true), only replaced ones (false), or both (absent).
    pub valid: Option<bool>,
}

/// A change to one memory.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryPatch {
    /// Corrected text (re-embedded; the old text is kept in `edits`).
    #[schema(pattern = "\\S", min_length = 1, max_length = 20000)]
    pub text: Option<String>,
    /// Pin (never decays, kept past retention) or unpin.
    pub pinned: Option<bool>,
}

/// Whether a memory is past its kind's retention at `now` (pinned ones never are).
fn expired_at(m: &Memory, retention: Retention, now: chrono::DateTime<chrono::Utc>) -> bool {
    let days = retention.limit(m.kind);
    days > 0 && !m.pinned && m.last_seen < now - Duration::days(days as i64)
}

fn memory_key(m: &Memory) -> String {
    format!("{}|{}", m.observed_at.to_rfc3339(), m.id)
}

impl Services {
    async fn memory_of(
        &self,
        principal: &Principal,
        customer_id: &str,
        id: &str,
    ) -> Result<Arc<Indexed>, ServiceError> {
        self.memories_of(&principal.workspace, &CustomerId::from_client(customer_id))
            .await?
            .into_iter()
            .find(|m| m.memory.id == id)
            .ok_or_else(|| ServiceError::MemoryNotFound(id.to_owned()))
    }

    /// A page of the customer's memories, newest first.
    pub async fn list_memories(
        &self,
        principal: &Principal,
        customer_id: &str,
        filter: MemoryFilter,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<Memory>, ServiceError> {
        require(principal, Scope::Read)?;
        validate::opt_time("since", filter.since)?;
        validate::opt_time("until", filter.until)?;
        let cursor = CursorList::Memories.decode_opt(cursor.as_deref())?;
        let customer = self.customer_for(principal, customer_id).await?;
        let now = self.now();
        let mut all: Vec<Memory> = self
            .memories_of(&customer.workspace, &customer.id)
            .await?
            .iter()
            .map(|m| &m.memory)
            .filter(|m| {
                filter.kind.is_none_or(|k| m.kind == k)
                    && filter.since.is_none_or(|t| m.observed_at >= t)
                    && filter.until.is_none_or(|t| m.observed_at < t)
                    && filter.valid.is_none_or(|v| m.is_valid_at(now) == v)
            })
            .cloned()
            .collect();
        all.sort_by_key(|m| std::cmp::Reverse(memory_key(m)));
        let items = all
            .into_iter()
            .filter(|m| cursor.as_deref().is_none_or(|c| memory_key(m).as_str() < c))
            .take(limit + 1)
            .collect();
        Ok(Page::from_overfetch(items, limit, CursorList::Memories, memory_key))
    }

    /// One memory.
    pub async fn get_memory(&self, principal: &Principal, customer_id: &str, id: &str) -> Result<Memory, ServiceError> {
        require(principal, Scope::Read)?;
        self.customer_for(principal, customer_id).await?;
        Ok(self.memory_of(principal, customer_id, id).await?.memory.clone())
    }

    /// Corrects and/or pins a memory.
    pub async fn patch_memory(
        &self,
        principal: &Principal,
        customer_id: &str,
        id: &str,
        patch: MemoryPatch,
    ) -> Result<Memory, ServiceError> {
        require(principal, Scope::Write)?;
        let customer = self.customer_for(principal, customer_id).await?;
        let text = match patch.text {
            Some(text) => {
                let text = text.trim().to_owned();
                if text.is_empty() || text.chars().count() > 20_000 {
                    return Err(InvalidInput::new("invalid_field", "text", "must be 1-20000 characters").into());
                }
                Some(self.redactor.redact(&text))
            }
            None => None,
        };
        // A new text is embedded before the customer's lock is taken.
        let changed_text = match &text {
            Some(t) if *t != self.memory_of(principal, customer_id, id).await?.memory.text => {
                self.count_embedding(principal, t.chars().count())?;
                Some((t.clone(), self.embed_one(t, crate::embed::TextRole::Passage).await?))
            }
            _ => None,
        };
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        let current = self
            .memories_locked(&customer.workspace, &customer.id)
            .await?
            .into_iter()
            .find(|m| m.memory.id == id)
            .ok_or_else(|| ServiceError::MemoryNotFound(id.to_owned()))?;
        let mut memory = current.memory.clone();
        let mut vector = current.vector.clone();
        if let Some(pinned) = patch.pinned {
            memory.pinned = pinned;
        }
        if let Some((text, embedded)) = changed_text.filter(|(t, _)| *t != memory.text) {
            vector = embedded;
            memory.edits.push(MemoryEdit {
                old_text: std::mem::replace(&mut memory.text, text),
                edited_at: self.now(),
                source: principal.source(),
            });
        }
        let stored = StoredMemory {
            memory: memory.clone(),
            vector,
        };
        let to_store = stored.clone();
        self.blocking(move |s| s.replace_memory(&to_store))
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound => ServiceError::MemoryNotFound(id.to_owned()),
                other => other.into(),
            })?;
        self.saved(vec![Indexed::new(stored.memory, stored.vector)])?;
        Ok(memory)
    }

    /// Deletes one memory and its vector.
    pub async fn delete_memory(&self, principal: &Principal, customer_id: &str, id: &str) -> Result<(), ServiceError> {
        require(principal, Scope::Write)?;
        let customer = self.customer_for(principal, customer_id).await?;
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        let (ws, cid, mid) = (customer.workspace.clone(), customer.id.clone(), id.to_owned());
        if !self.blocking(move |s| s.delete_memory(&ws, &cid, &mid)).await? {
            return Err(ServiceError::MemoryNotFound(id.to_owned()));
        }
        self.removed(&customer.workspace, &customer.id, id)
    }

    /// Deletes memories older than their kind's retention (by last time seen); pinned ones stay. Returns how many.
    /// Unanswered questions recorded for the knowledge-gap report older than
    /// [`GAP_RETENTION_DAYS`](super::knowledge::GAP_RETENTION_DAYS) go too: they hold a customer's words.
    pub async fn enforce_retention(&self, retention: Retention) -> Result<usize, ServiceError> {
        let now = self.now();
        let expired = |m: &Indexed| expired_at(&m.memory, retention, now);
        let mut count = 0;
        // The customers holding an expired memory, from one pass over the store.
        let candidates = self
            .blocking(move |s| {
                let mut found: std::collections::BTreeSet<(crate::domain::WorkspaceId, CustomerId)> =
                    Default::default();
                s.scan_memories(&mut |m| {
                    if expired_at(&m.memory, retention, now) {
                        found.insert((m.memory.workspace.clone(), m.memory.provenance.customer_id.clone()));
                    }
                })?;
                Ok(found)
            })
            .await?;
        for (ws, cid) in candidates {
            // Read again under the customer's lock: a memory reinforced meanwhile is no longer expired.
            let _guard = self.lock_customer(&ws, &cid).await?;
            let list = self.memories_locked(&ws, &cid).await?;
            for m in list.iter().filter(|m| expired(m)) {
                let (w, c, i) = (ws.clone(), cid.clone(), m.memory.id.clone());
                if self.blocking(move |s| s.delete_memory(&w, &c, &i)).await? {
                    count += 1;
                }
                self.removed(&ws, &cid, &m.memory.id)?;
            }
        }
        let before = now - chrono::Duration::days(super::knowledge::GAP_RETENTION_DAYS);
        let gaps = self.blocking(move |s| s.prune_gaps(before)).await?;
        tracing::info!(
            deleted = count,
            unanswered_questions_deleted = gaps,
            "retention enforced"
        );
        Ok(count)
    }
}
