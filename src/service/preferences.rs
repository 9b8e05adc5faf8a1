//! Preference use cases: read, replace, merge-patch, and the change history.

use serde_json::Value;

use super::error::customer_error;
use super::{require, ServiceError, Services};
use crate::domain::audit::{preference_actions, TargetKind};
use crate::domain::{
    validate, CursorList, CustomerId, InvalidCursor, InvalidInput, Page, PreferenceChange, Preferences, Principal,
    Scope,
};

impl Services {
    /// The customer's preferences (defaults when never set).
    pub async fn get_preferences(&self, principal: &Principal, id: &str) -> Result<Preferences, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(id));
        self.blocking(move |s| s.get_preferences(&ws, &cid))
            .await
            .map_err(customer_error(id))
    }

    /// Replaces the preferences; each changed field is recorded with `source` (the caller's key by default).
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = id))]
    pub async fn put_preferences(
        &self,
        principal: &Principal,
        id: &str,
        preferences: Preferences,
        source: Option<String>,
    ) -> Result<Preferences, ServiceError> {
        require(principal, Scope::Write)?;
        let source = change_source(principal, source)?;
        let now = self.now();
        let new = preferences.validated(now, &source)?;
        self.change_preferences(principal, id, source, move |_| Ok(new.clone()))
            .await
    }

    /// Applies a JSON merge patch to the preferences.
    #[tracing::instrument(skip_all, fields(workspace = %principal.workspace, customer = id))]
    pub async fn patch_preferences(
        &self,
        principal: &Principal,
        id: &str,
        patch: Value,
        source: Option<String>,
    ) -> Result<Preferences, ServiceError> {
        let source = change_source(principal, source)?;
        let (now, src) = (self.now(), source.clone());
        self.change_preferences(principal, id, source, move |old| old.merge_patched(&patch, now, &src))
            .await
    }

    async fn change_preferences(
        &self,
        principal: &Principal,
        id: &str,
        source: String,
        mut change: impl FnMut(&Preferences) -> Result<Preferences, InvalidInput> + Send + 'static,
    ) -> Result<Preferences, ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, cid, now) = (principal.workspace.clone(), CustomerId::from_client(id), self.now());
        let customer = cid.clone();
        let (prefs, changes) = self
            .blocking(move |s| s.update_preferences(&ws, &cid, &mut change, now, &source))
            .await
            .map_err(customer_error(id))?;
        tracing::info!(changed_fields = changes.len(), "preferences saved");
        let entries = preference_actions(&changes)
            .into_iter()
            .map(|(action, detail)| {
                self.audit_entry(principal, action, TargetKind::Customer, customer.as_str(), detail)
            })
            .collect();
        self.record(entries).await?;
        Ok(prefs)
    }

    /// A page of the preference history, oldest first.
    pub async fn preference_history(
        &self,
        principal: &Principal,
        id: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page<PreferenceChange>, ServiceError> {
        require(principal, Scope::Read)?;
        let after = CursorList::Preferences
            .decode_opt(cursor.as_deref())?
            .map(|position| position.parse::<u64>().map_err(|_| InvalidCursor))
            .transpose()?;
        let (ws, cid) = (principal.workspace.clone(), CustomerId::from_client(id));
        self.blocking(move |s| s.preference_history(&ws, &cid, after, limit))
            .await
            .map_err(customer_error(id))
    }
}

/// The history source of a change: the one the caller names, or its key.
fn change_source(principal: &Principal, source: Option<String>) -> Result<String, ServiceError> {
    match source {
        Some(s) => Ok(validate::text("source", &s, validate::MAX_TEXT_CHARS)?),
        None => Ok(principal.source()),
    }
}
