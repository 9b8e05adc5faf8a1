//! Recall: a customer's memories ranked for a query (the ranking itself is domain::recalled).

use crate::domain::validate;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::memory::MemoryKind;
use crate::domain::recall::{Indexed, Mode};
use crate::domain::recalled::{rank_memories, QueryText, RecallFilter, Recalled};
use crate::domain::text::detect;
use crate::domain::{Customer, InvalidInput, Principal, Scope};
use crate::embed::TextRole;

/// A recall request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallQuery {
    /// The customer's new message or the agent's question.
    #[schema(
        example = "my hub keeps dropping offline at night",
        pattern = "\\S",
        min_length = 1,
        max_length = 10000
    )]
    pub query: String,
    /// How many memories to return (1-50, default 8).
    #[schema(example = 8, minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
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

impl Services {
    /// Embeds one query on the blocking pool, ahead of queued writes (a reader waits for it).
    pub async fn embed_query(&self, text: &str) -> Result<Vec<f32>, ServiceError> {
        let (embedder, text) = (Arc::clone(&self.embedder), text.to_owned());
        let mut v = tokio::task::spawn_blocking(move || embedder.embed_urgent(&[text.as_str()], TextRole::Query))
            .await
            .unwrap_or_else(|join| std::panic::resume_unwind(join.into_panic()))?;
        Ok(v.pop().unwrap_or_default())
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
            since: validate::opt_time("since", q.since)?,
            until: validate::opt_time("until", q.until)?,
            include_expired: q.include_expired,
        };
        self.count_embedding(principal, query.chars().count())?;
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
        let memories = self.memories_of(&customer.workspace, &customer.id).await?;
        self.recall_in(&memories, customer, query, filter, top, mode).await
    }

    /// [`Services::recall_for`] over memories already read (a caller holding the customer's lock).
    pub(super) async fn recall_in(
        &self,
        memories: &[Arc<Indexed>],
        customer: &Customer,
        query: &str,
        filter: &RecallFilter,
        top: usize,
        mode: Mode,
    ) -> Result<Vec<Recalled>, ServiceError> {
        let vector = self.embed_query(query).await?;
        Ok(self.recall_embedded(memories, customer, query, &vector, filter, top, mode))
    }

    /// [`Services::recall_in`] for a query already embedded.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn recall_embedded(
        &self,
        memories: &[Arc<Indexed>],
        customer: &Customer,
        query: &str,
        vector: &[f32],
        filter: &RecallFilter,
        top: usize,
        mode: Mode,
    ) -> Vec<Recalled> {
        let lang = detect(query, customer.lang());
        let q = QueryText {
            text: query,
            vector,
            lang,
        };
        rank_memories(memories, &q, &self.weights, self.now(), mode, filter, top)
    }
}

/// A query trimmed and bounded (1-10,000 characters).
pub(super) fn check_query(q: &str) -> Result<String, InvalidInput> {
    let q = q.trim();
    if q.is_empty() {
        return Err(InvalidInput::new("invalid_field", "query", "must not be empty"));
    }
    if q.chars().count() > 10_000 {
        return Err(InvalidInput::new("invalid_field", "query", "at most 10000 characters"));
    }
    Ok(q.to_owned())
}
