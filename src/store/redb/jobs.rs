//! Job definitions and job run records in redb.

use ::redb::{ReadableDatabase, ReadableTable};

use super::{upper, RedbStore};
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::WorkspaceId;
use crate::store::codec::{decode, encode};
use crate::store::tables::{JOB_DEFINITIONS, JOB_RUNS, META};
use crate::store::{JobRepo, StoreError};

/// Meta key set once the job definitions were seeded.
const JOBS_SEEDED: &str = "jobs_seeded";

impl JobRepo for RedbStore {
    fn save_job_run(&self, run: &JobRun) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(JOB_RUNS)?.insert(
            (run.workspace.as_str(), run.job_id.as_str(), run.id.as_str()),
            encode(run).as_slice(),
        )?;
        txn.commit()?;
        Ok(())
    }

    fn job_runs(&self, workspace: &WorkspaceId, job_id: &str, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JOB_RUNS)?;
        let (ws, end) = (workspace.as_str(), upper(""));
        let mut out = Vec::new();
        for entry in table
            .range((ws, job_id, "")..(ws, job_id, end.as_str()))?
            .rev()
            .take(limit)
        {
            out.push(decode("job_runs", entry?.1.value())?);
        }
        Ok(out)
    }

    fn seed_jobs(&self, jobs: &[JobDefinition]) -> Result<usize, StoreError> {
        let txn = self.db.begin_write()?;
        let stored = {
            let mut meta = txn.open_table(META)?;
            if meta.get(JOBS_SEEDED)?.is_some() {
                0
            } else {
                let mut table = txn.open_table(JOB_DEFINITIONS)?;
                for job in jobs {
                    table.insert(job.id.as_str(), encode(job).as_slice())?;
                }
                meta.insert(JOBS_SEEDED, "1")?;
                jobs.len()
            }
        };
        txn.commit()?;
        Ok(stored)
    }

    fn list_jobs(&self) -> Result<Vec<JobDefinition>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JOB_DEFINITIONS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode("job_definitions", entry?.1.value())?);
        }
        Ok(out)
    }

    fn get_job(&self, id: &str) -> Result<Option<JobDefinition>, StoreError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JOB_DEFINITIONS)?;
        let value = table.get(id)?;
        value.map(|v| decode("job_definitions", v.value())).transpose()
    }

    fn insert_job(&self, job: &JobDefinition) -> Result<bool, StoreError> {
        let txn = self.db.begin_write()?;
        let inserted = {
            let mut table = txn.open_table(JOB_DEFINITIONS)?;
            if table.get(job.id.as_str())?.is_some() {
                false
            } else {
                table.insert(job.id.as_str(), encode(job).as_slice())?;
                true
            }
        };
        txn.commit()?;
        Ok(inserted)
    }

    fn replace_job(&self, job: &JobDefinition) -> Result<bool, StoreError> {
        let txn = self.db.begin_write()?;
        let replaced = {
            let mut table = txn.open_table(JOB_DEFINITIONS)?;
            if table.get(job.id.as_str())?.is_none() {
                false
            } else {
                table.insert(job.id.as_str(), encode(job).as_slice())?;
                true
            }
        };
        txn.commit()?;
        Ok(replaced)
    }

    fn delete_job(&self, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write()?;
        let deleted = txn.open_table(JOB_DEFINITIONS)?.remove(id)?.is_some();
        txn.commit()?;
        Ok(deleted)
    }
}
