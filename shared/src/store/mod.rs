//! The store port: a narrow, item-level interface that both backends implement exactly alike.
//!
//! An item lives at (`pk`, `sk`), carries a version for optimistic locking, a JSON document and a set of
//! integer counters that only ever change through atomic adds. Repositories (`crate::repo`) are written once
//! on top of this port.

mod cursor;
pub mod dynamo;
#[cfg(feature = "local")]
pub mod sqlite;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

pub use cursor::{decode_cursor, encode_cursor};

/// Counter name → value. Names are `[a-z0-9_]{1,48}`.
pub type Counters = BTreeMap<String, i64>;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub pk: String,
    pub sk: String,
    /// Starts at 1 on creation; every conditional update writes `expected + 1`.
    pub version: u64,
    pub body: Value,
    pub counters: Counters,
    /// Unix seconds after which the item counts as absent (DynamoDB TTL attribute `ttl`).
    pub expires_at: Option<i64>,
}

impl Item {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>, body: Value) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
            version: 1,
            body,
            counters: Counters::new(),
            expires_at: None,
        }
    }

    pub fn expiring_at(mut self, unix_seconds: i64) -> Self {
        self.expires_at = Some(unix_seconds);
        self
    }

    pub(crate) fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Opaque cursor for the next page; `None` when this was the last.
    pub next: Option<String>,
}

/// One write of an all-or-nothing transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOp {
    /// Create or replace, unconditionally (for last-writer-wins data such as health fields).
    Put(Item),
    /// Create; fails if a live item exists at the key.
    PutIfAbsent(Item),
    /// Replace; fails unless the stored version equals `expected`. The item's own version is written.
    PutIfVersion { item: Item, expected: u64 },
    /// Delete; fails if absent, or if `expected` is given and differs.
    Delete {
        pk: String,
        sk: String,
        expected: Option<u64>,
    },
}

/// The ceiling of a bounded add: `counter`'s value after the add must not exceed `limit` (an absent counter
/// counts as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ceiling<'a> {
    pub counter: &'a str,
    pub limit: i64,
}

/// What a bounded add did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bounded {
    /// Applied; the counters after the add.
    Added(Counters),
    /// Not applied, since it would have passed the ceiling; the counters as they are (empty when the item
    /// does not exist).
    Refused(Counters),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold: the item exists, is absent, or has another version.
    #[error("the stored item changed or does not match the condition")]
    Conflict,
    /// The backend could not be reached or refused to work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data does not have the expected shape, or the request was invalid for the backend.
    #[error("store error: {0}")]
    Invalid(String),
}

/// An item written once and never changed (a request log record) whose body is JSON text already: a
/// backend that keeps text (SQLite) stores it as is, without building and walking a JSON tree for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub pk: String,
    pub sk: String,
    /// A JSON object.
    pub body: String,
    /// Unix seconds after which it counts as absent.
    pub expires_at: Option<i64>,
}

impl Record {
    /// The record as an item (version 1, no counters).
    pub fn into_item(self) -> Result<Item, StoreError> {
        let body = serde_json::from_str(&self.body)
            .map_err(|e| StoreError::Invalid(format!("record body: {e}")))?;
        Ok(Item {
            expires_at: self.expires_at,
            ..Item::new(self.pk, self.sk, body)
        })
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The live item at the key, if any.
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;

    /// Create or replace the item, unconditionally.
    async fn put(&self, item: &Item) -> Result<(), StoreError>;

    /// Create or replace each record, unconditionally: many writes of data nothing else changes (request
    /// log records), as cheaply as the backend allows. Not atomic: on an error some may be written. The
    /// default writes them one by one as items; SQLite commits them in one transaction, bodies as given.
    /// Owned, so a backend that writes on another thread takes them without a copy.
    async fn put_many(&self, records: Vec<Record>) -> Result<(), StoreError> {
        for record in records {
            self.put(&record.into_item()?).await?;
        }
        Ok(())
    }

    /// Create the item; `Conflict` if a live item is already there.
    async fn put_if_absent(&self, item: &Item) -> Result<(), StoreError>;

    /// Replace the item if its stored version is `expected`; `Conflict` otherwise (also when absent).
    async fn put_if_version(&self, item: &Item, expected: u64) -> Result<(), StoreError>;

    /// Delete the item; `Conflict` if absent or (with `expected`) of another version.
    async fn delete(&self, pk: &str, sk: &str, expected: Option<u64>) -> Result<(), StoreError>;

    /// Live items of one partition whose sort key starts with `sk_prefix`, in sort-key order.
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError>;

    /// Atomically add each delta to its counter (creating the item and counters as needed) and return
    /// the counters after the add.
    async fn add(&self, pk: &str, sk: &str, deltas: &[(&str, i64)])
    -> Result<Counters, StoreError>;

    /// [`Store::add`] for a write nobody is waiting on (usage counters written behind the response): the
    /// store may hold it a moment to commit it together with others. By default, an `add`.
    async fn add_unhurried(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.add(pk, sk, deltas).await
    }

    /// [`Store::add`] on an item that expires at `expires_at` (Unix seconds; set when the add creates the
    /// item, kept when it exists), for short-lived counters such as per-minute rate-limit windows.
    async fn add_expiring(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: i64,
    ) -> Result<Counters, StoreError>;

    /// Like [`Store::add`], but only if the ceiling's counter stays at or below its limit after the add;
    /// otherwise nothing changes and the current counters come back. Atomic: of concurrent bounded adds,
    /// exactly those that fit, in some order, are applied. The ceiling's counter must be one of `deltas`.
    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        ceiling: Ceiling<'_>,
    ) -> Result<Bounded, StoreError>;

    /// All writes, or none. `Conflict` if any condition fails.
    async fn transact(&self, ops: &[WriteOp]) -> Result<(), StoreError>;
}

pub(crate) fn valid_counter_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The highest current value of the ceiling's counter that lets a bounded add fit (negative when even an
/// absent counter would not).
pub(crate) fn ceiling_room(
    deltas: &[(&str, i64)],
    ceiling: Ceiling<'_>,
) -> Result<i64, StoreError> {
    if let Some((bad, _)) = deltas.iter().find(|(n, _)| !valid_counter_name(n)) {
        return Err(StoreError::Invalid(format!("invalid counter name {bad:?}")));
    }
    let delta: i64 = deltas
        .iter()
        .filter(|(n, _)| *n == ceiling.counter)
        .map(|(_, d)| *d)
        .try_fold(0i64, |a, d| a.checked_add(d))
        .ok_or_else(|| StoreError::Invalid("counter overflow".into()))?;
    if !deltas.iter().any(|(n, _)| *n == ceiling.counter) {
        return Err(StoreError::Invalid(format!(
            "the ceiling's counter {:?} is not among the deltas",
            ceiling.counter
        )));
    }
    ceiling
        .limit
        .checked_sub(delta)
        .ok_or_else(|| StoreError::Invalid("counter overflow".into()))
}

pub(crate) fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}
