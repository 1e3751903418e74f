//! A store decorator that counts reads, to prove what the hot path does (and does not) ask the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use byok_shared::store::{Counters, Item, Page, Store, StoreError, WriteOp};

pub struct CountingStore {
    inner: Arc<dyn Store>,
    reads: AtomicUsize,
    writes: AtomicUsize,
    /// How long every counter `add` waits before it reaches the store (a slow store's usage writes).
    add_delay: std::time::Duration,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            add_delay: std::time::Duration::ZERO,
        }
    }

    /// Every counter `add` waits `delay` first.
    pub fn with_add_delay(mut self, delay: std::time::Duration) -> Self {
        self.add_delay = delay;
        self
    }

    /// (reads, writes) since the last reset.
    pub fn take(&self) -> (usize, usize) {
        (
            self.reads.swap(0, Ordering::SeqCst),
            self.writes.swap(0, Ordering::SeqCst),
        )
    }

    fn read(&self) {
        self.reads.fetch_add(1, Ordering::SeqCst);
    }

    fn write(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.read();
        self.inner.get(pk, sk).await
    }

    async fn put(&self, item: &Item) -> Result<(), StoreError> {
        self.write();
        self.inner.put(item).await
    }

    async fn put_if_absent(&self, item: &Item) -> Result<(), StoreError> {
        self.write();
        self.inner.put_if_absent(item).await
    }

    async fn put_if_version(&self, item: &Item, expected: u64) -> Result<(), StoreError> {
        self.write();
        self.inner.put_if_version(item, expected).await
    }

    async fn delete(&self, pk: &str, sk: &str, expected: Option<u64>) -> Result<(), StoreError> {
        self.write();
        self.inner.delete(pk, sk, expected).await
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        self.read();
        self.inner.query(pk, sk_prefix, limit, cursor).await
    }

    async fn add(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.write();
        tokio::time::sleep(self.add_delay).await;
        self.inner.add(pk, sk, deltas).await
    }

    async fn add_expiring(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: i64,
    ) -> Result<Counters, StoreError> {
        self.write();
        tokio::time::sleep(self.add_delay).await;
        self.inner.add_expiring(pk, sk, deltas, expires_at).await
    }

    async fn transact(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        self.write();
        self.inner.transact(ops).await
    }
}
