//! Per-customer write locks. Every change to a customer's interactions and memories holds that customer's lock
//! while it reads, plans and writes (the store first, then the index), so the store and the index never diverge;
//! writes for different customers run side by side, and nothing holds a lock while the model embeds.
//!
//! A write holds two locks: this process's (so a store lock is waited for by one task per customer at most) and
//! the store's, which other nodes sharing the store respect ([`crate::store::CustomerRepo::lock_customer`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OwnedMutexGuard;

use super::{ServiceError, Services};
use crate::domain::{CustomerId, WorkspaceId};
use crate::store::Lease;

type Key = (WorkspaceId, CustomerId);

/// One async mutex per customer, made on first use and forgotten when nobody holds or waits for it.
#[derive(Default)]
pub(super) struct CustomerLocks {
    locks: Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>,
}

/// Live entries kept before the map drops the ones nobody holds.
const PRUNE_ABOVE: usize = 1024;

impl CustomerLocks {
    /// Waits for the customer's lock.
    pub(super) async fn lock(&self, workspace: &WorkspaceId, customer: &CustomerId) -> OwnedMutexGuard<()> {
        let mutex = {
            let mut map = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            let key = (workspace.clone(), customer.clone());
            match map.get(&key).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    if map.len() >= PRUNE_ABOVE {
                        map.retain(|_, w| w.strong_count() > 0);
                    }
                    let m = Arc::new(tokio::sync::Mutex::new(()));
                    map.insert(key, Arc::downgrade(&m));
                    m
                }
            }
        };
        mutex.lock_owned().await
    }

    /// Customers with a lock entry (held, awaited or not yet pruned).
    #[cfg(test)]
    fn entries(&self) -> usize {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// A customer's write lock, held in this process and in the store until dropped.
pub(super) struct CustomerGuard {
    _store: Box<dyn Lease>,
    _local: OwnedMutexGuard<()>,
}

impl Services {
    /// Waits for the customer's write lock: this process's first, then the store's.
    pub(super) async fn lock_customer(
        &self,
        workspace: &WorkspaceId,
        customer: &CustomerId,
    ) -> Result<CustomerGuard, ServiceError> {
        let local = self.locks.lock(workspace, customer).await;
        if !self.store.shared() {
            // No other process writes the store: this process's lock is the whole lock.
            return Ok(CustomerGuard {
                _store: Box::new(()),
                _local: local,
            });
        }
        let (ws, cid) = (workspace.clone(), customer.clone());
        // This process's guard waits with the store's lock: a request dropped meanwhile (the client went away)
        // keeps the customer locked here until the store's wait ends, then lets both go, so the waits of
        // abandoned requests never pile up on the lock connections.
        let (store, local) = self.blocking(move |s| Ok((s.lock_customer(&ws, &cid)?, local))).await?;
        Ok(CustomerGuard {
            _store: store,
            _local: local,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_customer_waits_another_does_not() {
        let locks = Arc::new(CustomerLocks::default());
        let ws = WorkspaceId::default_workspace();
        let (a, b) = (CustomerId::from_client("a"), CustomerId::from_client("b"));
        let held = locks.lock(&ws, &a).await;
        // Another customer's lock is free.
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock(&ws, &b)).await;
        assert!(other.is_ok());
        // The same customer's lock waits until the first guard goes.
        let (l2, ws2, a2) = (Arc::clone(&locks), ws.clone(), a.clone());
        let waiter = tokio::spawn(async move { l2.lock(&ws2, &a2).await });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(held);
        assert!(waiter.await.is_ok());
    }

    #[tokio::test]
    async fn unused_entries_are_pruned() {
        let locks = CustomerLocks::default();
        let ws = WorkspaceId::default_workspace();
        for i in 0..(PRUNE_ABOVE + 10) {
            drop(locks.lock(&ws, &CustomerId::from_client(format!("c{i}"))).await);
        }
        assert!(locks.entries() <= PRUNE_ABOVE);
    }
}
