//! Customer use cases: create, upsert, read, list, merge-patch, erase and export.

use crate::domain::validate;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::customer_error;
use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::interaction::Interaction;
use crate::domain::memory::Memory;
use crate::domain::{
    CursorList, Customer, CustomerFields, CustomerFilter, CustomerId, InvalidInput, Page, PreferenceChange,
    Preferences, Principal, Scope,
};
use crate::store::Upserted;

/// Everything Rappel stores about one customer, in one document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerExport {
    /// When the export was made.
    pub exported_at: DateTime<Utc>,
    /// The profile.
    pub customer: Customer,
    /// Current preferences.
    pub preferences: Preferences,
    /// Every recorded preference change, oldest first.
    pub preference_history: Vec<PreferenceChange>,
    /// Every interaction, oldest first.
    pub interactions: Vec<Interaction>,
    /// Every memory (vectors are not exported: they are derived from the text).
    pub memories: Vec<Memory>,
    /// Recorded health scores, newest first.
    pub health_history: Vec<crate::domain::health::Health>,
}

impl Services {
    /// Creates a customer; `ExternalIdConflict` when the external id is taken.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace))]
    pub async fn create_customer(
        &self,
        principal: &Principal,
        fields: CustomerFields,
    ) -> Result<Customer, ServiceError> {
        require(principal, Scope::Write)?;
        let customer = Customer::new(principal.workspace.clone(), fields.validated()?, self.now());
        let stored = customer.clone();
        self.blocking(move |s| s.create_customer(&stored)).await?;
        Ok(customer)
    }

    /// Creates or replaces the customer with this external id. The body's `external_id`, when given, must match.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace))]
    pub async fn upsert_customer(
        &self,
        principal: &Principal,
        external_id: &str,
        mut fields: CustomerFields,
    ) -> Result<(Customer, Upserted), ServiceError> {
        require(principal, Scope::Write)?;
        if fields.external_id.is_empty() {
            fields.external_id = external_id.to_owned();
        } else if fields.external_id != external_id {
            return Err(InvalidInput::new(
                "external_id_mismatch",
                "external_id",
                format!(
                    "the body says {:?} but the path says {external_id:?}",
                    fields.external_id
                ),
            )
            .into());
        }
        let fields = fields.validated()?;
        let (ws, now) = (principal.workspace.clone(), self.now());
        Ok(self.blocking(move |s| s.upsert_customer(&ws, fields, now)).await?)
    }

    /// The customer with this id.
    pub async fn get_customer(&self, principal: &Principal, id: &str) -> Result<Customer, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(id));
        self.blocking(move |s| s.get_customer(&ws, &cid))
            .await?
            .ok_or_else(|| ServiceError::CustomerNotFound(id.to_owned()))
    }

    /// The customer with this external id.
    pub async fn get_customer_by_external_id(
        &self,
        principal: &Principal,
        external_id: &str,
    ) -> Result<Customer, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, ext) = (principal.workspace.clone(), external_id.to_owned());
        self.blocking(move |s| s.customer_by_external_id(&ws, &ext))
            .await?
            .ok_or_else(|| ServiceError::CustomerNotFound(external_id.to_owned()))
    }

    /// A page of customers in creation order.
    pub async fn list_customers(
        &self,
        principal: &Principal,
        filter: CustomerFilter,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<Customer>, ServiceError> {
        require(principal, Scope::Read)?;
        validate::opt_time("updated_since", filter.updated_since)?;
        let cursor = CursorList::Customers.decode_opt(cursor.as_deref())?;
        let ws = principal.workspace.clone();
        Ok(self
            .blocking(move |s| s.list_customers(&ws, &filter, cursor.as_deref(), limit))
            .await?)
    }

    /// Every customer of the caller's workspace passing `filter`, in creation order (read page by page in one
    /// blocking call).
    pub async fn all_customers(
        &self,
        principal: &Principal,
        filter: CustomerFilter,
    ) -> Result<Vec<Customer>, ServiceError> {
        require(principal, Scope::Read)?;
        let ws = principal.workspace.clone();
        Ok(self
            .blocking(move |s| {
                let (mut all, mut after) = (Vec::new(), None::<String>);
                loop {
                    let page = s.list_customers(&ws, &filter, after.as_deref(), 1000)?;
                    let more = page.next_cursor.is_some();
                    after = page.items.last().map(|c| c.id.to_string());
                    all.extend(page.items);
                    if !more {
                        return Ok(all);
                    }
                }
            })
            .await?)
    }

    /// Applies a JSON merge patch to the profile.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = id))]
    pub async fn patch_customer(
        &self,
        principal: &Principal,
        id: &str,
        patch: Value,
    ) -> Result<Customer, ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, cid, now) = (principal.workspace.clone(), CustomerId::from_client(id), self.now());
        self.blocking(move |s| s.update_customer(&ws, &cid, &mut |fields| fields.merge_patched(&patch), now))
            .await
            .map_err(customer_error(id))
    }

    /// Erases the customer and everything stored about them.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = id))]
    pub async fn erase_customer(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(id));
        let _guard = self.lock_customer(&ws, &cid).await?;
        let (ws2, cid2) = (ws.clone(), cid.clone());
        let entry = self.audit_entry(
            principal,
            AuditAction::CustomerErased,
            TargetKind::Customer,
            cid.as_str(),
            AuditDetail::default(),
        );
        if self
            .blocking(move |s| s.erase_customer(&ws, &cid, Some(&entry)))
            .await?
        {
            self.customer_removed(&ws2, &cid2)?;
            tracing::info!("customer erased");
            Ok(())
        } else {
            Err(ServiceError::CustomerNotFound(id.to_owned()))
        }
    }

    /// Everything stored about the customer with this id (or, failing that, this external id).
    pub async fn export_customer(&self, principal: &Principal, id: &str) -> Result<CustomerExport, ServiceError> {
        require(principal, Scope::Read)?;
        let customer = match self.get_customer(principal, id).await {
            Err(ServiceError::CustomerNotFound(_)) => self.get_customer_by_external_id(principal, id).await?,
            other => other?,
        };
        let (ws, cid, now) = (principal.workspace.clone(), customer.id.clone(), self.now());
        let (preferences, preference_history, interactions, memories, health_history) = self
            .blocking(move |s| {
                let preferences = s.get_preferences(&ws, &cid)?;
                let mut interactions = s.list_interactions(&ws, &cid)?;
                interactions.sort_by_key(|i| i.fields.opened_at);
                let health = s.health_history(&ws, &cid, usize::MAX)?;
                let mut memories = s.list_memories(&ws, &cid)?;
                memories.sort_by_key(|m| m.observed_at);
                let mut history = Vec::new();
                let mut after = None;
                loop {
                    let page = s.preference_history(&ws, &cid, after, 1000)?;
                    after = page.items.last().map(|c| c.seq);
                    history.extend(page.items);
                    if page.next_cursor.is_none() {
                        return Ok((preferences, history, interactions, memories, health));
                    }
                }
            })
            .await
            .map_err(customer_error(id))?;
        self.audit(
            principal,
            AuditAction::CustomerExported,
            TargetKind::Customer,
            customer.id.as_str(),
            AuditDetail::default(),
        )
        .await?;
        Ok(CustomerExport {
            exported_at: now,
            customer,
            preferences,
            preference_history,
            interactions,
            memories,
            health_history,
        })
    }
}
