//! Records kept whole, by workspace and id, with nothing filtered inside them: incidents, teams and campaigns.
//! Lists come in id order (ids are time-ordered, so oldest first), as on redb.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{json, record, PostgresStore};
use crate::domain::campaign::Campaign;
use crate::domain::incident::Incident;
use crate::domain::team::Team;
use crate::domain::WorkspaceId;
use crate::store::{CampaignRepo, IncidentRepo, StoreError, TeamRepo};

/// One of the tables of whole records; the name is a constant, never input, so it is formatted into SQL.
#[derive(Clone, Copy)]
struct Table(&'static str);

const INCIDENTS: Table = Table("incidents");
const TEAMS: Table = Table("teams");
const CAMPAIGNS: Table = Table("campaigns");

impl PostgresStore {
    fn put_record<T: Serialize>(&self, table: Table, ws: &WorkspaceId, id: &str, value: &T) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO {} (workspace, id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (workspace, id) DO UPDATE SET record = $3",
            table.0
        );
        self.run(async {
            let client = self.client().await?;
            client.execute(&sql, &[&ws.as_str(), &id, &json(value)]).await?;
            Ok(())
        })
    }

    fn get_record<T: DeserializeOwned>(
        &self,
        table: Table,
        ws: &WorkspaceId,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT record FROM {} WHERE workspace = $1 AND id = $2", table.0);
        self.run(async {
            let row = self.client().await?.query_opt(&sql, &[&ws.as_str(), &id]).await?;
            row.map(|r| record(&r, table.0)).transpose()
        })
    }

    fn list_records<T: DeserializeOwned>(&self, table: Table, ws: &WorkspaceId) -> Result<Vec<T>, StoreError> {
        let sql = format!("SELECT record FROM {} WHERE workspace = $1 ORDER BY id", table.0);
        self.run(async {
            let rows = self.client().await?.query(&sql, &[&ws.as_str()]).await?;
            rows.iter().map(|r| record(r, table.0)).collect()
        })
    }

    fn delete_record(&self, table: Table, ws: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE workspace = $1 AND id = $2", table.0);
        self.run(async { Ok(self.client().await?.execute(&sql, &[&ws.as_str(), &id]).await? > 0) })
    }
}

impl IncidentRepo for PostgresStore {
    fn put_incident(&self, incident: &Incident) -> Result<(), StoreError> {
        self.put_record(INCIDENTS, &incident.workspace, &incident.id, incident)
    }

    fn get_incident(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Incident>, StoreError> {
        self.get_record(INCIDENTS, workspace, id)
    }

    fn list_incidents(&self, workspace: &WorkspaceId) -> Result<Vec<Incident>, StoreError> {
        self.list_records(INCIDENTS, workspace)
    }
}

impl TeamRepo for PostgresStore {
    fn put_team(&self, team: &Team) -> Result<(), StoreError> {
        self.put_record(TEAMS, &team.workspace, &team.id, team)
    }

    fn get_team(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Team>, StoreError> {
        self.get_record(TEAMS, workspace, id)
    }

    fn list_teams(&self, workspace: &WorkspaceId) -> Result<Vec<Team>, StoreError> {
        self.list_records(TEAMS, workspace)
    }

    fn delete_team(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        self.delete_record(TEAMS, workspace, id)
    }
}

impl CampaignRepo for PostgresStore {
    fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        self.put_record(CAMPAIGNS, &campaign.workspace, &campaign.id, campaign)
    }

    fn get_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Campaign>, StoreError> {
        self.get_record(CAMPAIGNS, workspace, id)
    }

    fn list_campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<Campaign>, StoreError> {
        self.list_records(CAMPAIGNS, workspace)
    }

    fn delete_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        self.delete_record(CAMPAIGNS, workspace, id)
    }
}
