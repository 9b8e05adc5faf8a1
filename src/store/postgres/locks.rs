//! Customers' write locks across nodes: a session advisory lock per (workspace, customer), held on a connection
//! of a pool kept for lock holders alone. A holder's section still needs connections of the main pool for its
//! reads and writes; with one pool, as many holders as connections would each wait for a second connection
//! nobody gives back. Main-pool connections are only ever held for one call, so a holder always gets one.

use super::PostgresStore;
use crate::domain::{CustomerId, WorkspaceId};
use crate::store::{Lease, StoreError};

/// The advisory lock key of a customer (a 64-bit hash of a text no other lock uses).
fn key(workspace: &WorkspaceId, customer: &CustomerId) -> String {
    format!("customer-lock/{}/{}", workspace.as_str(), customer.as_str())
}

impl PostgresStore {
    /// Waits for the customer's lock (as long as the statement timeout allows) and returns it held.
    pub(super) fn lock_customer_session(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<Box<dyn Lease>, StoreError> {
        let key = key(workspace, customer);
        self.run(async {
            let client = self.lock_pool.get().await?;
            let lock = client
                .prepare_cached("SELECT pg_advisory_lock(hashtextextended($1, 0))")
                .await?;
            client.execute(&lock, &[&key]).await?;
            Ok(Box::new(CustomerLease {
                client: Some(client),
                key: key.clone(),
                runtime: self.handle(),
            }) as Box<dyn Lease>)
        })
    }
}

/// Lets go of a session advisory lock taken on `hashtextextended($1, 0)` (customer locks, job leases).
pub(super) const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtextextended($1, 0))";

/// A held customer lock. Dropping it unlocks on the store's runtime and gives the connection back to the lock
/// pool; when the unlock fails the connection is closed instead, which ends its session and the lock with it.
struct CustomerLease {
    client: Option<deadpool_postgres::Object>,
    key: String,
    runtime: tokio::runtime::Handle,
}

impl Lease for CustomerLease {}

impl Drop for CustomerLease {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else { return };
        let key = std::mem::take(&mut self.key);
        // Spawned, never awaited here: a lease is dropped in async code, which must not block.
        self.runtime.spawn(async move {
            let unlocked = client
                .query_one(UNLOCK, &[&key])
                .await
                .is_ok_and(|row| row.get::<_, bool>(0));
            if !unlocked {
                tracing::warn!(lock = %key, "could not release a customer lock; closing its connection");
                drop(deadpool_postgres::Object::take(client));
            }
        });
    }
}
