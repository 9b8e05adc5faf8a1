//! Job run records in redb.

use ::redb::ReadableDatabase;

use super::{upper, RedbStore};
use crate::domain::job_run::JobRun;
use crate::store::codec::{decode, encode};
use crate::store::tables::JOB_RUNS;
use crate::store::{JobRepo, StoreError};

impl JobRepo for RedbStore {
    fn save_job_run(&self, run: &JobRun) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(JOB_RUNS)?
            .insert((run.job_id.as_str(), run.id.as_str()), encode(run).as_slice())?;
        txn.commit()?;
        Ok(())
    }

    fn job_runs(&self, job_id: &str, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JOB_RUNS)?;
        let end = upper("");
        let mut out = Vec::new();
        for entry in table.range((job_id, "")..(job_id, end.as_str()))?.rev().take(limit) {
            out.push(decode("job_runs", entry?.1.value())?);
        }
        Ok(out)
    }
}
