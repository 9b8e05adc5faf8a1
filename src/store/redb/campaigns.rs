//! Campaigns in redb.

use ::redb::ReadableDatabase;

use super::{upper, RedbStore};
use crate::domain::campaign::Campaign;
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::tables::CAMPAIGNS;
use crate::store::{CampaignRepo, StoreError};

impl CampaignRepo for RedbStore {
    fn put_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(CAMPAIGNS)?.insert(
            (campaign.workspace.as_str(), campaign.id.as_str()),
            encode(campaign).as_slice(),
        )?;
        txn.commit()?;
        Ok(())
    }

    fn get_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<Option<Campaign>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CAMPAIGNS)?;
        let value = table.get((workspace.as_str(), id))?;
        value.map(|v| decode("campaigns", v.value())).transpose()
    }

    fn list_campaigns(&self, workspace: &WorkspaceId) -> Result<Vec<Campaign>, StoreError> {
        let ws = workspace.as_str();
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CAMPAIGNS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((ws, "")..(ws, end.as_str()))? {
            out.push(decode("campaigns", entry?.1.value())?);
        }
        Ok(out)
    }

    fn delete_campaign(&self, workspace: &WorkspaceId, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write()?;
        let removed = txn.open_table(CAMPAIGNS)?.remove((workspace.as_str(), id))?.is_some();
        txn.commit()?;
        Ok(removed)
    }
}
