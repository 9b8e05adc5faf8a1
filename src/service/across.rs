//! Across customers: who else reported this, and how it was solved before.

use std::collections::HashMap;

/// Candidates a search across customers takes from the vector index before ranking them.
pub const SEARCH_CANDIDATES: usize = 200;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{require, ServiceError, Services};
use crate::domain::memory::{Memory, MemoryKind};
use crate::domain::recall::{rank, Indexed, Mode, RankQuery};
use crate::domain::recalled::{RecallFilter, Recalled};
use crate::domain::text::{detect, terms, Lang};
use crate::domain::{CustomerFilter, CustomerId, InvalidInput, Principal, Scope, WorkspaceId};
use crate::index::SearchFilter;

/// A search across every customer of the workspace.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// What to look for.
    #[schema(
        example = "hub goes offline every night",
        pattern = "\\S",
        min_length = 1,
        max_length = 10000
    )]
    pub query: String,
    /// Most customers to return (1-100, default 10).
    #[schema(minimum = 1, maximum = 100)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub limit: Option<usize>,
    /// Most memories per customer (1-10, default 3).
    #[schema(minimum = 1, maximum = 10)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub per_customer: Option<usize>,
    /// Only memories of these kinds.
    pub kinds: Option<Vec<MemoryKind>>,
    /// Only customers on this plan.
    pub plan: Option<String>,
    /// Only customers with this tag.
    pub tag: Option<String>,
    /// Only memories scoring at least this (0-1).
    pub min_score: Option<f32>,
    /// Only memories observed at or after this time.
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// One customer's matching memories.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerMatches {
    /// Customer id.
    pub customer_id: String,
    /// Customer's external id.
    pub external_id: String,
    /// Customer's name.
    pub name: Option<String>,
    /// Best memory score.
    pub score: f32,
    /// Best memories, best first.
    pub memories: Vec<Recalled>,
}

/// Similar past resolutions.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarRequest {
    /// The problem.
    #[schema(
        example = "charged twice for my subscription",
        pattern = "\\S",
        min_length = 1,
        max_length = 10000
    )]
    pub query: String,
    /// How many (1-50, default 5).
    #[schema(minimum = 1, maximum = 50)]
    #[serde(default, deserialize_with = "crate::domain::whole::opt")]
    pub k: Option<usize>,
}

/// A past resolution and the problem it solved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SimilarResolution {
    /// The resolution memory.
    pub resolution: Recalled,
    /// The issue reported in the same interaction, when one was recognised.
    pub issue: Option<String>,
    /// The interaction's subject.
    pub subject: Option<String>,
}

fn check(
    query: &str,
    n: Option<usize>,
    default: usize,
    max: usize,
    field: &str,
) -> Result<(String, usize), InvalidInput> {
    let q = query.trim();
    if q.is_empty() || q.chars().count() > 10_000 {
        return Err(InvalidInput::new(
            "invalid_field",
            "query",
            "must be 1-10000 characters",
        ));
    }
    let n = n.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(InvalidInput::new(
            "invalid_field",
            field,
            format!("must be between 1 and {max}"),
        ));
    }
    Ok((q.to_owned(), n))
}

impl Services {
    /// Memories of every customer matching a query, grouped by customer.
    pub async fn search(
        &self,
        principal: &Principal,
        req: SearchRequest,
    ) -> Result<Vec<CustomerMatches>, ServiceError> {
        require(principal, Scope::Read)?;
        let (query, limit) = check(&req.query, req.limit, 10, 100, "limit")?;
        let per_customer = req.per_customer.unwrap_or(3);
        if !(1..=10).contains(&per_customer) {
            return Err(InvalidInput::new("invalid_field", "per_customer", "must be between 1 and 10").into());
        }
        let profile = CustomerFilter {
            tag: req.tag.clone(),
            plan: req.plan.clone(),
            updated_since: None,
        };
        // Profile filters need the customer records; without them only the matched customers are read.
        let allowed: Option<HashMap<String, crate::domain::Customer>> =
            if profile.tag.is_some() || profile.plan.is_some() {
                Some(
                    self.all_customers(principal, profile)
                        .await?
                        .into_iter()
                        .map(|c| (c.id.to_string(), c))
                        .collect(),
                )
            } else {
                None
            };
        self.count_embedding(principal, query.chars().count())?;
        let vector = self.embed_query(&query).await?;
        let filter = RecallFilter {
            kinds: req.kinds.clone(),
            since: req.since,
            ..Default::default()
        };
        let now = self.now();
        // Candidates: the memories nearest the query by meaning (see README, "The memory index"), then ranked by
        // meaning and keywords together.
        let index_filter = SearchFilter {
            kinds: req.kinds.clone(),
            since: req.since,
            customers: allowed
                .as_ref()
                .map(|a| a.keys().map(|id| CustomerId::from_client(id.as_str())).collect()),
        };
        let nearest = self
            .nearest_memories(
                &principal.workspace,
                &vector,
                (limit * per_customer * 4).max(SEARCH_CANDIDATES),
                index_filter,
            )
            .await?;
        let candidates: Vec<&Indexed> = nearest
            .iter()
            .map(|m| m.as_ref())
            .filter(|m| filter.keeps(&m.memory, now))
            .collect();
        let lang = detect(&query, Lang::En);
        let query_terms = terms(&query, lang);
        let rank_query = RankQuery {
            vector: &vector,
            terms: &query_terms,
            hint: None,
        };
        let ranked = rank(
            &candidates,
            &rank_query,
            &self.weights,
            now,
            Mode::Hybrid,
            (limit * per_customer * 20).max(1000),
        );
        let min = req.min_score.unwrap_or(0.0);
        let mut groups: Vec<CustomerMatches> = Vec::new();
        for s in ranked.into_iter().filter(|s| s.score >= min) {
            let Some(m) = candidates.get(s.index).map(|c| &c.memory) else {
                continue;
            };
            let cid = m.provenance.customer_id.to_string();
            let recalled = Recalled {
                memory: m.clone(),
                score: s.score,
                parts: s.parts,
                derived: Vec::new(),
            };
            let open_slot = groups.len() < limit;
            match groups.iter_mut().find(|g| g.customer_id == cid) {
                Some(g) if g.memories.len() < per_customer => g.memories.push(recalled),
                Some(_) => {}
                None if open_slot => groups.push(CustomerMatches {
                    customer_id: cid,
                    external_id: String::new(),
                    name: None,
                    score: s.score,
                    memories: vec![recalled],
                }),
                None => {}
            }
        }
        let (ws, ids) = (
            principal.workspace.clone(),
            groups.iter().map(|g| g.customer_id.clone()).collect::<Vec<_>>(),
        );
        let profiles = self
            .blocking(move |s| {
                ids.iter()
                    .map(|id| s.get_customer(&ws, &CustomerId::from_client(id.as_str())))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        for (group, customer) in groups.iter_mut().zip(profiles) {
            if let Some(c) = customer {
                group.external_id = c.fields.external_id;
                group.name = c.fields.name;
            }
        }
        Ok(groups)
    }

    /// Past resolutions similar to a problem, across the workspace.
    pub async fn similar_resolutions(
        &self,
        principal: &Principal,
        req: SimilarRequest,
    ) -> Result<Vec<SimilarResolution>, ServiceError> {
        require(principal, Scope::Read)?;
        let (query, k) = check(&req.query, req.k, 5, 50, "k")?;
        self.count_embedding(principal, query.chars().count())?;
        let vector = self.embed_query(&query).await?;
        self.similar_resolutions_embedded(&principal.workspace, &query, &vector, k)
            .await
    }

    /// [`Services::similar_resolutions`] for a query already checked and embedded.
    pub(super) async fn similar_resolutions_embedded(
        &self,
        workspace: &WorkspaceId,
        query: &str,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<SimilarResolution>, ServiceError> {
        let kinds = SearchFilter {
            kinds: Some(vec![MemoryKind::Issue, MemoryKind::Resolution]),
            ..SearchFilter::default()
        };
        let nearest = self
            .nearest_memories(workspace, vector, SEARCH_CANDIDATES, kinds)
            .await?;
        // Rank the issues and resolutions, then answer with the resolutions of the interactions they belong to
        // (read from the customer's memories when not among the nearest); a resolution matched directly counts.
        let relevant: Vec<&Indexed> = nearest.iter().map(|m| m.as_ref()).collect();
        let lang = detect(query, Lang::En);
        let query_terms = terms(query, lang);
        let rank_query = RankQuery {
            vector,
            terms: &query_terms,
            hint: None,
        };
        let ranked = rank(&relevant, &rank_query, &self.weights, self.now(), Mode::Hybrid, k * 50);
        let mut out: Vec<SimilarResolution> = Vec::new();
        for s in ranked {
            if out.len() >= k {
                break;
            }
            let Some(hit) = relevant.get(s.index).map(|c| &c.memory) else {
                continue;
            };
            let same_interaction = |m: &Memory| {
                m.provenance.customer_id == hit.provenance.customer_id
                    && m.provenance.interaction_id == hit.provenance.interaction_id
            };
            let near = |kind: MemoryKind| {
                relevant
                    .iter()
                    .map(|m| &m.memory)
                    .find(|m| m.kind == kind && same_interaction(m))
                    .cloned()
            };
            let resolution = match hit.kind {
                MemoryKind::Resolution => Some(hit.clone()),
                _ => match near(MemoryKind::Resolution) {
                    Some(r) => Some(r),
                    None => self
                        .memories_of(workspace, &hit.provenance.customer_id)
                        .await?
                        .iter()
                        .map(|m| &m.memory)
                        .find(|m| m.kind == MemoryKind::Resolution && same_interaction(m))
                        .cloned(),
                },
            };
            let Some(resolution) = resolution else { continue };
            if out.iter().any(|o| o.resolution.memory.id == resolution.id) {
                continue;
            }
            let issue = match hit.kind {
                MemoryKind::Issue => Some(hit.text.clone()),
                _ => near(MemoryKind::Issue).map(|m| m.text),
            };
            let (ws, cid, ext) = (
                workspace.clone(),
                resolution.provenance.customer_id.clone(),
                resolution.provenance.interaction_id.clone(),
            );
            let subject = self
                .blocking(move |s| s.interaction_by_external_id(&ws, &cid, &ext))
                .await?
                .and_then(|i| i.fields.subject);
            out.push(SimilarResolution {
                resolution: Recalled {
                    memory: resolution,
                    score: s.score,
                    parts: s.parts,
                    derived: Vec::new(),
                },
                issue,
                subject,
            });
        }
        Ok(out)
    }
}
