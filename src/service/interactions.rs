//! Interaction use cases: idempotent ingest (with memory formation), appending messages, status updates, the
//! timeline.

use crate::domain::validate;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::error::customer_error;
use super::{require, ServiceError, Services};
use crate::domain::formation;
use crate::domain::interaction::{Interaction, InteractionChannel, InteractionInput, InteractionStatus, Message};
use crate::domain::preferences::Preferences;
use crate::domain::recall::Indexed;
use crate::domain::{CursorList, Customer, CustomerId, InvalidInput, Page, Principal, Scope};
use crate::store::{StoreError, Upserted};

/// Filters of the interaction timeline.
#[derive(Debug, Clone, Default)]
pub struct InteractionFilter {
    /// Only this status.
    pub status: Option<InteractionStatus>,
    /// Only this channel.
    pub channel: Option<InteractionChannel>,
    /// Opened at or after.
    pub since: Option<DateTime<Utc>>,
    /// Opened before.
    pub until: Option<DateTime<Utc>>,
}

impl Services {
    pub(super) async fn customer_for(&self, principal: &Principal, id: &str) -> Result<Customer, ServiceError> {
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(id));
        self.blocking(move |s| s.get_customer(&ws, &cid))
            .await?
            .ok_or_else(|| ServiceError::CustomerNotFound(id.to_owned()))
    }

    pub(super) async fn find_interaction(&self, customer: &Customer, key: &str) -> Result<Interaction, ServiceError> {
        let (ws, cid, k) = (customer.workspace.clone(), customer.id.clone(), key.to_owned());
        let found = self
            .blocking(move |s| {
                // A Rappel id (`int_...`) wins over an external id that happens to look like one.
                if k.starts_with("int_") {
                    if let Some(i) = s.list_interactions(&ws, &cid)?.into_iter().find(|i| i.id == k) {
                        return Ok(Some(i));
                    }
                }
                s.interaction_by_external_id(&ws, &cid, &k)
            })
            .await?;
        found.ok_or_else(|| ServiceError::InteractionNotFound(key.to_owned()))
    }

    /// Creates or updates an interaction by its external id and forms memories from its new messages.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = customer_id))]
    pub async fn ingest_interaction(
        &self,
        principal: &Principal,
        customer_id: &str,
        input: InteractionInput,
    ) -> Result<(Interaction, Upserted), ServiceError> {
        require(principal, Scope::Write)?;
        let mut input = input.validated()?;
        for message in &mut input.messages {
            message.text = self.redactor.redact(&message.text);
        }
        let customer = self.customer_for(principal, customer_id).await?;
        let embedded = self.embed_ahead(principal, &customer, &input).await?;
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        self.ingest_locked(&customer, input, &embedded).await
    }

    /// The customer's interaction with this external id, if stored.
    async fn stored_interaction(
        &self,
        customer: &Customer,
        external_id: &str,
    ) -> Result<Option<Interaction>, ServiceError> {
        let (ws, cid, ext) = (customer.workspace.clone(), customer.id.clone(), external_id.to_owned());
        Ok(self
            .blocking(move |s| s.interaction_by_external_id(&ws, &cid, &ext))
            .await?)
    }

    /// Embeds, before any lock is taken, the texts that `input` would add to the customer's memories. Under the
    /// lock the interaction is read again; a text a concurrent write changed is embedded then. The texts count
    /// against the caller's embedding quota.
    async fn embed_ahead(
        &self,
        principal: &Principal,
        customer: &Customer,
        input: &InteractionInput,
    ) -> Result<Embedded, ServiceError> {
        let existing = self.stored_interaction(customer, &input.external_id).await?;
        let now = self.now();
        let (interaction, new_ids) = match existing {
            Some(mut i) => {
                let merge = i.merge(input.clone(), now);
                (i, merge.new_messages)
            }
            None => (
                Interaction::new(customer.workspace.clone(), customer.id.clone(), input.clone(), now),
                input.messages.iter().map(|m| m.id.clone()).collect(),
            ),
        };
        if new_ids.is_empty() {
            return Ok(Embedded::new());
        }
        let drafts = formation::draft(&subject(customer), &interaction, &new_ids);
        let (unique, _) = formation::embedding_plan(&drafts);
        self.count_embedding(principal, unique.iter().map(|t| t.chars().count()).sum())?;
        let vectors = self.embed_passages(unique.clone()).await?;
        Ok(unique.into_iter().zip(vectors).collect())
    }

    /// Ingest, with the customer's lock held by the caller; `embedded` holds vectors made before the lock.
    async fn ingest_locked(
        &self,
        customer: &Customer,
        input: InteractionInput,
        embedded: &Embedded,
    ) -> Result<(Interaction, Upserted), ServiceError> {
        let existing = self.stored_interaction(customer, &input.external_id).await?;
        let now = self.now();
        let (mut interaction, new_ids, outcome) = match existing {
            Some(mut i) => {
                let merge = i.merge(input, now);
                if !merge.changed {
                    return Ok((i, Upserted::Unchanged));
                }
                (i, merge.new_messages, Upserted::Updated)
            }
            None => {
                let ids = input.messages.iter().map(|m| m.id.clone()).collect();
                (
                    Interaction::new(customer.workspace.clone(), customer.id.clone(), input, now),
                    ids,
                    Upserted::Created,
                )
            }
        };
        self.form_and_save(customer, &mut interaction, &new_ids, embedded)
            .await?;
        Ok((interaction, outcome))
    }

    /// Forms memories for `new_ids`, then saves the interaction and memories in one transaction. Each distinct text
    /// is embedded once (or taken from `embedded`); typed memories reuse their window's vector, and customer
    /// messages are scored from the same vectors.
    async fn form_and_save(
        &self,
        customer: &Customer,
        interaction: &mut Interaction,
        new_ids: &[String],
        embedded: &Embedded,
    ) -> Result<(), ServiceError> {
        let mut drafts = formation::draft(&subject(customer), interaction, new_ids);
        let (unique, slots) = formation::embedding_plan(&drafts);
        let missing: Vec<String> = unique.iter().filter(|t| !embedded.contains_key(*t)).cloned().collect();
        let late: Embedded = missing
            .iter()
            .cloned()
            .zip(self.embed_passages(missing.clone()).await?)
            .collect();
        let mut vectors: Vec<Vec<f32>> = slots
            .iter()
            .map(|i| {
                unique
                    .get(*i)
                    .and_then(|text| embedded.get(text).or_else(|| late.get(text)))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        formation::derive(&mut drafts, &mut vectors, interaction, self.kinds.as_deref());
        formation::apply_sentiment(
            &mut drafts,
            &vectors,
            interaction,
            customer.lang(),
            self.sentiment.as_deref(),
        );
        let existing = self.memories_locked(&customer.workspace, &customer.id).await?;
        let plan = formation::plan(drafts, vectors, &existing, interaction);
        let (stored, new, changed) = (interaction.clone(), plan.new.clone(), plan.changed.clone());
        let version = self
            .blocking(move |s| s.save_ingest(&stored, &new, &changed))
            .await
            .map_err(customer_error(customer.id.as_str()))?;
        self.saved(plan.new.into_iter().map(|m| Indexed::new(m.memory, m.vector)).collect())?;
        self.updated(&plan.changed);
        if let Some(version) = version {
            // The cached list was read at the version before this write (above, under the lock) and now holds the
            // write too: this node's next read keeps it instead of reading every memory of the customer again.
            self.cache.restamp(&customer.workspace, &customer.id, version);
        }
        for (message_id, said_at, update) in plan.preferences {
            let source = format!("message:{message_id}");
            let (ws, cid, now) = (customer.workspace.clone(), customer.id.clone(), self.now());
            let result = self
                .blocking(move |s| {
                    s.update_preferences(
                        &ws,
                        &cid,
                        &mut |p: &Preferences| Ok(apply_stated(p, &update, said_at, &source)),
                        now,
                        &source,
                    )
                })
                .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "stated preference not applied");
            }
        }
        Ok(())
    }

    /// Appends one message to an interaction (idempotent by message id).
    pub async fn append_message(
        &self,
        principal: &Principal,
        customer_id: &str,
        interaction: &str,
        mut message: Message,
    ) -> Result<Interaction, ServiceError> {
        require(principal, Scope::Write)?;
        message.text = self.redactor.redact(&message.text);
        let customer = self.customer_for(principal, customer_id).await?;
        let with_message = |current: &Interaction| {
            let mut input = current.fields.clone();
            input.messages = vec![message.clone()];
            input.validated()
        };
        let ahead = with_message(&self.find_interaction(&customer, interaction).await?)?;
        let embedded = self.embed_ahead(principal, &customer, &ahead).await?;
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        // The fields are read again under the lock: a status changed meanwhile is kept.
        let input = with_message(&self.find_interaction(&customer, interaction).await?)?;
        Ok(self.ingest_locked(&customer, input, &embedded).await?.0)
    }

    /// Applies a merge patch to an interaction's fields (status, CSAT, NPS, tags...; not its messages).
    pub async fn patch_interaction(
        &self,
        principal: &Principal,
        customer_id: &str,
        interaction: &str,
        patch: Value,
    ) -> Result<Interaction, ServiceError> {
        require(principal, Scope::Write)?;
        if patch.get("messages").is_some() {
            return Err(
                InvalidInput::new("invalid_field", "messages", "append messages with POST .../messages").into(),
            );
        }
        let customer = self.customer_for(principal, customer_id).await?;
        let _guard = self.lock_customer(&customer.workspace, &customer.id).await?;
        let current = self.find_interaction(&customer, interaction).await?;
        let mut input = crate::domain::merge_patch::patched(&current.fields, &patch)?;
        if input.external_id != current.fields.external_id {
            return Err(InvalidInput::new(
                "invalid_field",
                "external_id",
                "an interaction's external_id cannot change",
            )
            .into());
        }
        input.messages = Vec::new();
        let input = input.validated()?;
        Ok(self.ingest_locked(&customer, input, &Embedded::new()).await?.0)
    }

    /// One interaction, by external id or Rappel id.
    pub async fn get_interaction(
        &self,
        principal: &Principal,
        customer_id: &str,
        interaction: &str,
    ) -> Result<Interaction, ServiceError> {
        require(principal, Scope::Read)?;
        let customer = self.customer_for(principal, customer_id).await?;
        self.find_interaction(&customer, interaction).await
    }

    /// The customer's interactions, newest first.
    pub async fn list_interactions(
        &self,
        principal: &Principal,
        customer_id: &str,
        filter: InteractionFilter,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<Interaction>, ServiceError> {
        require(principal, Scope::Read)?;
        validate::opt_time("since", filter.since)?;
        validate::opt_time("until", filter.until)?;
        let cursor = CursorList::Interactions.decode_opt(cursor.as_deref())?;
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(customer_id));
        let all = self
            .blocking(move |s| {
                if s.get_customer(&ws, &cid)?.is_none() {
                    return Err(StoreError::NotFound);
                }
                s.list_interactions(&ws, &cid)
            })
            .await
            .map_err(customer_error(customer_id))?;
        Ok(timeline(all, &filter, cursor.as_deref(), limit))
    }
}

/// Vectors by text, embedded ahead of a write.
type Embedded = HashMap<String, Vec<f32>>;

/// The customer as memory formation sees them.
fn subject(customer: &Customer) -> formation::Subject<'_> {
    formation::Subject {
        workspace: &customer.workspace,
        customer: &customer.id,
        name: customer.fields.name.as_deref(),
        language: customer.lang(),
    }
}

/// Sort key of the timeline: newest first, ties by id.
fn timeline_key(i: &Interaction) -> String {
    format!("{}|{}", i.fields.opened_at.to_rfc3339(), i.id)
}

fn timeline(
    mut all: Vec<Interaction>,
    filter: &InteractionFilter,
    cursor: Option<&str>,
    limit: usize,
) -> Page<Interaction> {
    all.retain(|i| {
        filter.status.is_none_or(|s| i.fields.status == s)
            && filter.channel.is_none_or(|c| i.fields.channel == c)
            && filter.since.is_none_or(|t| i.fields.opened_at >= t)
            && filter.until.is_none_or(|t| i.fields.opened_at < t)
    });
    all.sort_by_key(|i| std::cmp::Reverse(timeline_key(i)));
    let items: Vec<Interaction> = all
        .into_iter()
        .filter(|i| cursor.is_none_or(|c| timeline_key(i).as_str() < c))
        .take(limit + 1)
        .collect();
    Page::from_overfetch(items, limit, CursorList::Interactions, timeline_key)
}

/// Applies a preference stated in a message at `said_at`. A consent recorded after the message wins over it (an
/// old message imported late must not undo a newer explicit choice).
fn apply_stated(
    p: &Preferences,
    update: &crate::domain::extract::PreferenceUpdate,
    said_at: DateTime<Utc>,
    source: &str,
) -> Preferences {
    use crate::domain::preferences::Consent;
    let mut next = p.clone();
    let newer =
        |c: crate::domain::preferences::Channel| p.consent.get(c).and_then(|x| x.at).is_some_and(|at| at > said_at);
    if let Some(channel) = update.prefer {
        next.preferred_channels.retain(|c| *c != channel);
        next.preferred_channels.insert(0, channel);
    }
    for channel in update.avoid.iter().filter(|c| !newer(**c)) {
        next.preferred_channels.retain(|c| c != channel);
        next.consent.set(
            *channel,
            Some(Consent {
                granted: false,
                at: Some(said_at),
                source: Some(source.to_owned()),
            }),
        );
    }
    if let Some(time) = update.time_of_day {
        next.custom.insert("preferred_contact_time".into(), time.into());
    }
    next
}

impl Services {
    /// A customer's profile, interactions and memories, as detectors see them.
    pub async fn customer_history(
        &self,
        principal: &Principal,
        customer_id: &str,
    ) -> Result<(Customer, Vec<Interaction>, Vec<std::sync::Arc<Indexed>>), ServiceError> {
        require(principal, Scope::Read)?;
        let customer = self.customer_for(principal, customer_id).await?;
        let (interactions, memories) = self.history(&customer).await?;
        Ok((customer, interactions, memories))
    }

    /// The interactions and memories of a customer already read.
    pub async fn history(
        &self,
        customer: &Customer,
    ) -> Result<(Vec<Interaction>, Vec<std::sync::Arc<Indexed>>), ServiceError> {
        let (ws, cid) = (customer.workspace.clone(), customer.id.clone());
        let interactions = self.blocking(move |s| s.list_interactions(&ws, &cid)).await?;
        Ok((interactions, self.memories_of(&customer.workspace, &customer.id).await?))
    }
}
