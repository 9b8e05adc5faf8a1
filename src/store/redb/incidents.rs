//! Incidents in redb.

use ::redb::ReadableDatabase;

use super::{upper, RedbStore};
use crate::domain::incident::Incident;
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::tables::INCIDENTS;
use crate::store::{IncidentRepo, StoreError};

impl IncidentRepo for RedbStore {
    fn put_incident(&self, incident: &Incident) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(INCIDENTS)?.insert(
            (incident.workspace.as_str(), incident.id.as_str()),
            encode(incident).as_slice(),
        )?;
        txn.commit()?;
        Ok(())
    }

    fn get_incident(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Incident>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INCIDENTS)?;
        let value = table.get((workspace.as_str(), id))?;
        value.map(|v| decode("incidents", v.value())).transpose()
    }

    fn list_incidents(&self, workspace: &WorkspaceId) -> Result<Vec<Incident>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(INCIDENTS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, "")..(ws, end.as_str()))? {
            out.push(decode("incidents", entry?.1.value())?);
        }
        Ok(out)
    }
}
