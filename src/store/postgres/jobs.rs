//! Job definitions and job run records in PostgreSQL. Runs list the customers they matched: erasing a customer
//! scrubs them from every run (see `scrub_runs`).

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use super::{json, record, PostgresStore};
use crate::domain::job::JobDefinition;
use crate::domain::job_run::JobRun;
use crate::domain::WorkspaceId;
use crate::store::{JobRepo, Lease, ScheduleTake, StoreError};

/// Removes a customer from the matches of every run of the workspace (in the erasure's transaction).
pub(super) async fn scrub_runs(client: &impl GenericClient, ws: &str, cid: &str) -> Result<(), StoreError> {
    // The containment test finds the runs to rewrite; the rewrite itself is the same `retain` as on redb.
    let rows = client
        .query(
            "SELECT record FROM job_runs WHERE workspace = $1 \
             AND record->'matched' @> jsonb_build_array(jsonb_build_object('customer_id', $2::text)) FOR UPDATE",
            &[&ws, &cid],
        )
        .await?;
    for row in &rows {
        let mut run: JobRun = record(row, "job_runs")?;
        run.matched.retain(|m| m.customer_id != cid);
        client
            .execute(
                "UPDATE job_runs SET record = $4 WHERE workspace = $1 AND job_id = $2 AND id = $3",
                &[&ws, &run.job_id, &run.id, &json(&run)],
            )
            .await?;
    }
    Ok(())
}

impl JobRepo for PostgresStore {
    fn save_job_run(&self, run: &JobRun) -> Result<(), StoreError> {
        self.run(async {
            self.client()
                .await?
                .execute(
                    "INSERT INTO job_runs (workspace, job_id, id, record) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (workspace, job_id, id) DO UPDATE SET record = $4",
                    &[&run.workspace.as_str(), &run.job_id, &run.id, &json(run)],
                )
                .await?;
            Ok(())
        })
    }

    fn job_runs(&self, workspace: &WorkspaceId, job_id: &str, limit: usize) -> Result<Vec<JobRun>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(async {
            let rows = self
                .client()
                .await?
                .query(
                    "SELECT record FROM job_runs WHERE workspace = $1 AND job_id = $2 ORDER BY id DESC LIMIT $3",
                    &[&workspace.as_str(), &job_id, &limit],
                )
                .await?;
            rows.iter().map(|r| record(r, "job_runs")).collect()
        })
    }

    fn seed_jobs(&self, jobs: &[JobDefinition]) -> Result<usize, StoreError> {
        self.run(async {
            let mut client = self.client().await?;
            let txn = client.transaction().await?;
            // The mark is written first: a node seeding at the same time waits on it, then finds it set.
            let first = txn
                .execute(
                    "INSERT INTO rappel_meta (key, value) VALUES ('jobs_seeded', '1') ON CONFLICT (key) DO NOTHING",
                    &[],
                )
                .await?;
            if first == 0 {
                return Ok(0);
            }
            for job in jobs {
                txn.execute(
                    "INSERT INTO job_definitions (id, record) VALUES ($1, $2) \
                     ON CONFLICT (id) DO UPDATE SET record = $2",
                    &[&job.id, &json(job)],
                )
                .await?;
            }
            txn.commit().await?;
            Ok(jobs.len())
        })
    }

    fn list_jobs(&self) -> Result<Vec<JobDefinition>, StoreError> {
        self.run(async {
            let rows = self
                .client()
                .await?
                .query("SELECT record FROM job_definitions ORDER BY id", &[])
                .await?;
            rows.iter().map(|r| record(r, "job_definitions")).collect()
        })
    }

    fn get_job(&self, id: &str) -> Result<Option<JobDefinition>, StoreError> {
        self.run(async {
            let row = self
                .client()
                .await?
                .query_opt("SELECT record FROM job_definitions WHERE id = $1", &[&id])
                .await?;
            row.map(|r| record(&r, "job_definitions")).transpose()
        })
    }

    fn insert_job(&self, job: &JobDefinition) -> Result<bool, StoreError> {
        self.run(async {
            let inserted = self
                .client()
                .await?
                .execute(
                    "INSERT INTO job_definitions (id, record) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&job.id, &json(job)],
                )
                .await?;
            Ok(inserted == 1)
        })
    }

    fn replace_job(&self, job: &JobDefinition) -> Result<bool, StoreError> {
        self.run(async {
            let replaced = self
                .client()
                .await?
                .execute(
                    "UPDATE job_definitions SET record = $2 WHERE id = $1",
                    &[&job.id, &json(job)],
                )
                .await?;
            Ok(replaced == 1)
        })
    }

    fn delete_job(&self, id: &str) -> Result<bool, StoreError> {
        self.run(async {
            let deleted = self
                .client()
                .await?
                .execute("DELETE FROM job_definitions WHERE id = $1", &[&id])
                .await?;
            Ok(deleted == 1)
        })
    }

    /// The first taker inserts the row; a later one updates it only while it is not finished (with the lease
    /// held, an unfinished row's run is not going on) and gets no row back once it is.
    fn take_schedule(
        &self,
        workspace: &WorkspaceId,
        job_id: &str,
        due: DateTime<Utc>,
    ) -> Result<ScheduleTake, StoreError> {
        let week_before = due - chrono::Duration::days(7);
        self.run(async {
            let client = self.client().await?;
            client
                .execute(
                    "DELETE FROM job_schedules WHERE workspace = $1 AND job_id = $2 AND due < $3",
                    &[&workspace.as_str(), &job_id, &week_before],
                )
                .await?;
            let attempts: Option<i32> = client
                .query_opt(
                    "INSERT INTO job_schedules (workspace, job_id, due) VALUES ($1, $2, $3) \
                     ON CONFLICT (workspace, job_id, due) DO UPDATE SET attempts = job_schedules.attempts + 1 \
                     WHERE job_schedules.finished_at IS NULL RETURNING attempts",
                    &[&workspace.as_str(), &job_id, &due],
                )
                .await?
                .map(|r| r.get(0));
            Ok(match attempts {
                Some(1) => ScheduleTake::Taken,
                Some(_) => ScheduleTake::Unfinished,
                None => ScheduleTake::Finished,
            })
        })
    }

    fn finish_schedule(&self, workspace: &WorkspaceId, job_id: &str, due: DateTime<Utc>) -> Result<(), StoreError> {
        self.run(async {
            self.client()
                .await?
                .execute(
                    "UPDATE job_schedules SET finished_at = now() WHERE workspace = $1 AND job_id = $2 AND due = $3",
                    &[&workspace.as_str(), &job_id, &due],
                )
                .await?;
            Ok(())
        })
    }

    /// A session advisory lock on a connection taken out of the pool for the run: other nodes' tries fail while
    /// it is held, and if this node dies the server ends the session and the lock goes with it.
    fn try_job_lease(&self, workspace: &WorkspaceId, job_id: &str) -> Result<Option<Box<dyn Lease>>, StoreError> {
        let key = format!("job-lease/{}/{job_id}", workspace.as_str());
        self.run(async {
            let client = self.client().await?;
            let taken: bool = client
                .query_one("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", &[&key])
                .await?
                .get(0);
            // A connection holding the lock leaves the pool: it must never serve other queries, and closing it is
            // how the lock is let go (see `PgJobLease`). One that did not get it goes back.
            Ok(taken.then(|| {
                Box::new(PgJobLease {
                    client: Some(deadpool_postgres::Object::take(client)),
                    key,
                    runtime: self.handle(),
                }) as Box<dyn Lease>
            }))
        })
    }
}

/// A held job lease: the connection whose session holds the advisory lock. Dropping it closes the connection,
/// which ends the session and releases the lock (no query is needed, so dropping never blocks); the server lets
/// the lock go a moment after. [`Lease::release`] unlocks first, so a run that answers has let go.
struct PgJobLease {
    client: Option<deadpool_postgres::ClientWrapper>,
    key: String,
    runtime: tokio::runtime::Handle,
}

impl Lease for PgJobLease {
    fn release(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(client) = self.client.take() else {
            return Ok(());
        };
        let key = std::mem::take(&mut self.key);
        // The connection is closed either way; the lock goes with it if the unlock fails.
        self.runtime.block_on(async move {
            client.execute(super::locks::UNLOCK, &[&key]).await?;
            Ok(())
        })
    }
}

impl Drop for PgJobLease {
    fn drop(&mut self) {
        drop(self.client.take());
    }
}
