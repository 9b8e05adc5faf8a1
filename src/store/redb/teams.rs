//! Teams in redb.

use ::redb::ReadableDatabase;

use super::{upper, RedbStore};
use crate::domain::team::Team;
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::tables::TEAMS;
use crate::store::{StoreError, TeamRepo};

impl TeamRepo for RedbStore {
    fn put_team(&self, team: &Team) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(TEAMS)?
            .insert((team.workspace.as_str(), team.id.as_str()), encode(team).as_slice())?;
        txn.commit()?;
        Ok(())
    }

    fn get_team(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Team>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TEAMS)?;
        let value = table.get((workspace.as_str(), id))?;
        value.map(|v| decode("teams", v.value())).transpose()
    }

    fn list_teams(&self, workspace: &WorkspaceId) -> Result<Vec<Team>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TEAMS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, "")..(ws, end.as_str()))? {
            out.push(decode("teams", entry?.1.value())?);
        }
        Ok(out)
    }

    fn delete_team(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write()?;
        let removed = txn.open_table(TEAMS)?.remove((workspace.as_str(), id))?.is_some();
        txn.commit()?;
        Ok(removed)
    }
}
