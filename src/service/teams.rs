//! Teams: create, change, delete, list; and the embeddings of their topics, kept until the team changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{require, ServiceError, Services};
use crate::domain::audit::{AuditAction, AuditDetail, TargetKind};
use crate::domain::team::{Team, TeamInput};
use crate::domain::{Principal, Scope, WorkspaceId};

/// Most teams kept embedded; past it the cache starts afresh (teams are few; this only bounds a misuse).
const CACHED_TEAMS: usize = 10_000;
/// Most teams a workspace holds: bounds what a handoff ranks, and what the first handoff after a restart embeds
/// (the topic embeddings are cached in memory only).
pub const MAX_TEAMS: usize = 50;

type Key = (WorkspaceId, String);
/// One embedding per topic of a team.
type TopicVectors = Arc<Vec<Vec<f32>>>;

/// The topic embeddings of each team, stamped with the team's `updated_at`: a changed team is embedded again,
/// an unchanged one never.
#[derive(Default)]
pub(super) struct TeamVectors(Mutex<HashMap<Key, (DateTime<Utc>, TopicVectors)>>);

impl TeamVectors {
    fn get(&self, team: &Team) -> Option<TopicVectors> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&(team.workspace.clone(), team.id.clone()))
            .filter(|(at, _)| *at == team.updated_at)
            .map(|(_, v)| Arc::clone(v))
    }

    fn put(&self, team: &Team, vectors: TopicVectors) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CACHED_TEAMS {
            map.clear();
        }
        map.insert((team.workspace.clone(), team.id.clone()), (team.updated_at, vectors));
    }

    fn forget(&self, workspace: &WorkspaceId, id: &str) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&(workspace.clone(), id.to_owned()));
    }
}

impl Services {
    /// Creates a team.
    pub async fn create_team(&self, principal: &Principal, input: TeamInput) -> Result<Team, ServiceError> {
        require(principal, Scope::Write)?;
        let ws = principal.workspace.clone();
        if self.blocking(move |s| s.list_teams(&ws)).await?.len() >= MAX_TEAMS {
            return Err(crate::domain::InvalidInput::new(
                "too_many_teams",
                "name",
                format!("a workspace holds at most {MAX_TEAMS} teams"),
            )
            .into());
        }
        let now = self.now();
        let team = Team {
            id: format!("team_{}", ulid::Ulid::new().to_string().to_lowercase()),
            workspace: principal.workspace.clone(),
            fields: input.validated()?,
            created_at: now,
            updated_at: now,
        };
        let stored = team.clone();
        self.blocking(move |s| s.put_team(&stored)).await?;
        self.warm_team(principal, &team).await?;
        self.audit(
            principal,
            AuditAction::TeamCreated,
            TargetKind::Team,
            &team.id,
            AuditDetail::default(),
        )
        .await?;
        Ok(team)
    }

    /// One team.
    pub async fn get_team(&self, principal: &Principal, id: &str) -> Result<Team, ServiceError> {
        require(principal, Scope::Read)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        self.blocking(move |s| s.get_team(&ws, &key))
            .await?
            .ok_or_else(|| ServiceError::TeamNotFound(id.to_owned()))
    }

    /// Every team of the caller's workspace, oldest first.
    pub async fn list_teams(&self, principal: &Principal) -> Result<Vec<Team>, ServiceError> {
        require(principal, Scope::Read)?;
        let ws = principal.workspace.clone();
        Ok(self.blocking(move |s| s.list_teams(&ws)).await?)
    }

    /// Changes a team with a merge patch.
    pub async fn patch_team(&self, principal: &Principal, id: &str, patch: Value) -> Result<Team, ServiceError> {
        require(principal, Scope::Write)?;
        let mut team = self.get_team(principal, id).await?;
        team.fields = crate::domain::merge_patch::patched(&team.fields, &patch)?.validated()?;
        // Strictly later, even under a clock that stands still: the topic embeddings are cached by this stamp.
        team.updated_at = self.now().max(team.updated_at + chrono::Duration::microseconds(1));
        let stored = team.clone();
        self.blocking(move |s| s.put_team(&stored)).await?;
        self.team_vectors.forget(&team.workspace, &team.id);
        self.warm_team(principal, &team).await?;
        self.audit(
            principal,
            AuditAction::TeamUpdated,
            TargetKind::Team,
            &team.id,
            AuditDetail::default(),
        )
        .await?;
        Ok(team)
    }

    /// Deletes a team.
    pub async fn delete_team(&self, principal: &Principal, id: &str) -> Result<(), ServiceError> {
        require(principal, Scope::Write)?;
        let (ws, key) = (principal.workspace.clone(), id.to_owned());
        if !self.blocking(move |s| s.delete_team(&ws, &key)).await? {
            return Err(ServiceError::TeamNotFound(id.to_owned()));
        }
        self.team_vectors.forget(&principal.workspace, id);
        self.audit(
            principal,
            AuditAction::TeamDeleted,
            TargetKind::Team,
            id,
            AuditDetail::default(),
        )
        .await
    }

    /// Embeds a team's topics as it is written, so that a handoff only embeds the conversation (the request that
    /// writes a team pays for its topics, at most 20).
    async fn warm_team(&self, principal: &Principal, team: &Team) -> Result<(), ServiceError> {
        self.count_embedding(principal, team.fields.topics.iter().map(|t| t.chars().count()).sum())?;
        let vectors = Arc::new(self.embed_passages(team.fields.topics.clone()).await?);
        self.team_vectors.put(team, vectors);
        Ok(())
    }

    /// The workspace's teams with the embeddings of their topics (from the cache when the team is unchanged).
    pub(super) async fn teams_embedded(
        &self,
        workspace: &WorkspaceId,
    ) -> Result<Vec<(Team, TopicVectors)>, ServiceError> {
        let ws = workspace.clone();
        let teams = self.blocking(move |s| s.list_teams(&ws)).await?;
        let mut out = Vec::with_capacity(teams.len());
        for team in teams {
            let vectors = match self.team_vectors.get(&team) {
                Some(v) => v,
                None => {
                    let v = Arc::new(self.embed_passages(team.fields.topics.clone()).await?);
                    self.team_vectors.put(&team, Arc::clone(&v));
                    v
                }
            };
            out.push((team, vectors));
        }
        Ok(out)
    }
}
