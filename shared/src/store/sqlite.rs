//! Embedded, durable store for local runs: SQLite in WAL mode.
//!
//! Every write is one SQLite transaction (`BEGIN IMMEDIATE`), so a kill -9 leaves either the whole change or
//! none of it, and several processes (the local server and the CLI) can share one file.
//!
//! Counter `add`s are group-committed: concurrent adds queue up and one blocking task applies every queued
//! add in one transaction, then answers each caller. An add still returns only after its transaction has
//! committed, but under load many share one commit instead of queueing for the connection one by one
//! (usage recording makes three adds per request).
//!
//! A batch of unhurried adds only (`add_unhurried`: usage counters, which `byok serve` writes behind the
//! response) waits up to [`LINGER`] for more before it commits; an awaited add (a rate-limit window, a spend
//! lease) arriving meanwhile ends the wait at once. Without it, at c=32 in byok-bench a commit held one or
//! two requests' adds, and the commits (BEGIN/COMMIT and the WAL pages they rewrite) were about a fifth of
//! the store's CPU.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Bounded, Ceiling, Counters, Item, Page, Record, Store, StoreError, WriteOp, ceiling_room,
    decode_cursor, encode_cursor, now_unix, valid_counter_name,
};

mod schema;

/// How long a batch of unhurried adds waits for more before it commits.
const LINGER: Duration = Duration::from_millis(2);

/// WAL pages between automatic checkpoints (40 MB of WAL at SQLite's 4 KiB pages); see `open_lingering`.
const WAL_PAGES: i64 = 10_000;

/// A batch this large commits without waiting.
const FULL_BATCH: usize = 512;

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    adds: Arc<Adds>,
}

/// The queue of adds, and the signal that an awaited add joined it.
struct Adds {
    queue: Mutex<AddQueue>,
    hurried: Condvar,
    linger: Duration,
}

/// One queued `add` and where its result goes.
struct PendingAdd {
    pk: String,
    sk: String,
    deltas: Vec<(String, i64)>,
    /// Set on the item when the add creates it (or it has none).
    expires_at: Option<i64>,
    done: tokio::sync::oneshot::Sender<Result<Counters, StoreError>>,
}

/// Adds waiting for the next group commit; `draining` while a blocking task is committing them; `hurried`
/// when one of them is awaited.
#[derive(Default)]
struct AddQueue {
    pending: Vec<PendingAdd>,
    draining: bool,
    hurried: bool,
}

fn lock_queue(adds: &Mutex<AddQueue>) -> std::sync::MutexGuard<'_, AddQueue> {
    adds.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Clears the queue's state if the committing task panics, so later adds do not wait forever (their
/// callers get an error when the senders drop).
struct DrainGuard<'a>(&'a Mutex<AddQueue>);

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = lock_queue(self.0);
            q.draining = false;
            q.pending.clear();
        }
    }
}

/// Commit queued adds, a batch per transaction, until the queue is empty. A batch of unhurried adds only
/// waits up to the linger for more (see the module's doc).
fn drain_adds(conn: &Mutex<Connection>, adds: &Adds) {
    let _guard = DrainGuard(&adds.queue);
    let waiting = |q: &mut AddQueue| !q.hurried && q.pending.len() < FULL_BATCH;
    loop {
        let batch = {
            let mut q = lock_queue(&adds.queue);
            if !q.pending.is_empty() && waiting(&mut q) {
                q = match adds.hurried.wait_timeout_while(q, adds.linger, waiting) {
                    Ok((q, _)) => q,
                    Err(poisoned) => poisoned.into_inner().0,
                };
            }
            if q.pending.is_empty() {
                q.draining = false;
                return;
            }
            q.hurried = false;
            std::mem::take(&mut q.pending)
        };
        let results = match conn.lock() {
            Ok(mut c) => in_transaction(&mut c, |tx| apply_adds(tx, &batch)),
            Err(_) => Err(StoreError::Unavailable("store lock poisoned".into())),
        };
        match results {
            Ok(each) => {
                for (p, r) in batch.into_iter().zip(each) {
                    let _ = p.done.send(r);
                }
            }
            Err(e) => {
                for p in batch {
                    let _ = p.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// A batch of adds inside one transaction, in queue order. Each row is read once and written once however
/// many adds of the batch touch it (under load most adds hit the same few usage and spend rows), and each
/// caller still gets the counters as they were right after its own add. The outer error (a failed write)
/// rolls the whole batch back; an inner one (an unreadable row, an overflow) fails only that add, which
/// then changes nothing.
fn apply_adds(
    tx: &Connection,
    batch: &[PendingAdd],
) -> Result<Vec<Result<Counters, StoreError>>, StoreError> {
    struct Row {
        item: Item,
        dirty: bool,
    }
    let mut rows: HashMap<(&str, &str), Row> = HashMap::new();
    let mut results = Vec::with_capacity(batch.len());
    for p in batch {
        let row = match rows.entry((p.pk.as_str(), p.sk.as_str())) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => match load(tx, &p.pk, &p.sk) {
                Ok(found) => e.insert(Row {
                    item: found.unwrap_or_else(|| Item::new(&p.pk, &p.sk, serde_json::Value::Null)),
                    dirty: false,
                }),
                Err(err) => {
                    results.push(Err(err));
                    continue;
                }
            },
        };
        if row.item.expires_at.is_none() {
            row.item.expires_at = p.expires_at;
        }
        let mut counters = row.item.counters.clone();
        let applied = p.deltas.iter().try_for_each(|(name, delta)| {
            let slot = counters.entry(name.clone()).or_insert(0);
            *slot = slot.checked_add(*delta)?;
            Some(())
        });
        if applied.is_some() {
            row.item.counters = counters.clone();
            row.dirty = true;
            results.push(Ok(counters));
        } else {
            results.push(Err(StoreError::Invalid("counter overflow".into())));
        }
    }
    for row in rows.values().filter(|r| r.dirty) {
        write(tx, &row.item)?;
    }
    Ok(results)
}

impl SqliteStore {
    /// Open (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_lingering(path, LINGER)
    }

    /// [`Self::open`], unhurried adds waiting up to `linger` for others.
    fn open_lingering(path: &Path, linger: Duration) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(unavailable)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(unavailable)?;
        // WAL + NORMAL: a committed transaction survives a process crash (kill -9); see docs/storage.md.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(unavailable)?;
        // Checkpoint every WAL_PAGES pages instead of SQLite's 1,000: the usage rows and the B-tree's inner
        // pages, rewritten by every commit, are then copied into the database once per checkpoint, not
        // ten times as often.
        conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)
            .map_err(unavailable)?;
        schema::ensure(&mut conn).map_err(unavailable)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            adds: Arc::new(Adds {
                queue: Mutex::new(AddQueue::default()),
                hurried: Condvar::new(),
                linger,
            }),
        })
    }

    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Unavailable("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

fn unavailable(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

type Row = (String, String, i64, String, String, Option<i64>);

fn row_to_item(row: Row) -> Result<Item, StoreError> {
    let (pk, sk, version, body, counters, expires_at) = row;
    Ok(Item {
        pk,
        sk,
        version: u64::try_from(version)
            .map_err(|_| StoreError::Invalid("negative version".into()))?,
        body: serde_json::from_str(&body).map_err(|e| StoreError::Invalid(format!("body: {e}")))?,
        counters: serde_json::from_str(&counters)
            .map_err(|e| StoreError::Invalid(format!("counters: {e}")))?,
        expires_at,
    })
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn load(conn: &Connection, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
    // Cached statements: parsing SQL was a tenth of the gateway's CPU per request before.
    let row = conn
        .prepare_cached(
            "SELECT pk, sk, version, body, counters, expires_at FROM items WHERE pk = ?1 AND sk = ?2",
        )
        .and_then(|mut stmt| stmt.query_row(params![pk, sk], read_row).optional())
        .map_err(unavailable)?;
    row.map(row_to_item)
        .transpose()
        .map(|item| item.filter(|i| i.is_live(now_unix())))
}

fn write(conn: &Connection, item: &Item) -> Result<(), StoreError> {
    let body = serde_json::to_string(&item.body).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let counters =
        serde_json::to_string(&item.counters).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, version, body, counters, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            item.pk,
            item.sk,
            item.version as i64,
            body,
            counters,
            item.expires_at
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// A write-once record, its body stored as the JSON text it is.
fn write_record(conn: &Connection, record: &Record) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO items (pk, sk, version, body, counters, expires_at)
         VALUES (?1, ?2, 1, ?3, '{}', ?4)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            record.pk,
            record.sk,
            record.body,
            record.expires_at
        ])
    })
    .map_err(unavailable)?;
    Ok(())
}

/// Check the op's condition and apply it, inside an open transaction.
fn apply(conn: &Connection, op: &WriteOp) -> Result<(), StoreError> {
    match op {
        WriteOp::Put(item) => write(conn, item),
        WriteOp::PutIfAbsent(item) => {
            if load(conn, &item.pk, &item.sk)?.is_some() {
                return Err(StoreError::Conflict);
            }
            write(conn, item)
        }
        WriteOp::PutIfVersion { item, expected } => match load(conn, &item.pk, &item.sk)? {
            Some(current) if current.version == *expected => write(conn, item),
            _ => Err(StoreError::Conflict),
        },
        WriteOp::Delete { pk, sk, expected } => match load(conn, pk, sk)? {
            Some(current) if expected.is_none_or(|v| v == current.version) => {
                conn.prepare_cached("DELETE FROM items WHERE pk = ?1 AND sk = ?2")
                    .and_then(|mut stmt| stmt.execute(params![pk, sk]))
                    .map_err(unavailable)?;
                Ok(())
            }
            _ => Err(StoreError::Conflict),
        },
    }
}

fn in_transaction<T>(
    conn: &mut Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(unavailable)?;
    let out = f(&tx)?; // dropping `tx` on error rolls back
    tx.commit().map_err(unavailable)?;
    Ok(out)
}

/// The smallest string greater than every string that starts with `prefix`.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

impl SqliteStore {
    /// Queue an add for the next group commit (see `drain_adds`); `hurried`: its caller is waiting for it.
    async fn add_with_ttl(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: Option<i64>,
        hurried: bool,
    ) -> Result<Counters, StoreError> {
        if let Some((bad, _)) = deltas.iter().find(|(n, _)| !valid_counter_name(n)) {
            return Err(StoreError::Invalid(format!("invalid counter name {bad:?}")));
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let start = {
            let mut q = lock_queue(&self.adds.queue);
            q.pending.push(PendingAdd {
                pk: pk.to_owned(),
                sk: sk.to_owned(),
                deltas: deltas.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect(),
                expires_at,
                done,
            });
            if hurried {
                q.hurried = true;
            }
            if hurried || q.pending.len() >= FULL_BATCH {
                self.adds.hurried.notify_one();
            }
            !std::mem::replace(&mut q.draining, true)
        };
        if start {
            let (conn, adds) = (self.conn.clone(), self.adds.clone());
            tokio::task::spawn_blocking(move || drain_adds(&conn, &adds));
        }
        result
            .await
            .map_err(|_| StoreError::Unavailable("store task failed".into()))?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.run(move |c| load(c, &pk, &sk)).await
    }

    async fn put(&self, item: &Item) -> Result<(), StoreError> {
        let item = item.clone();
        self.run(move |c| write(c, &item)).await
    }

    async fn put_if_absent(&self, item: &Item) -> Result<(), StoreError> {
        let op = WriteOp::PutIfAbsent(item.clone());
        self.run(move |c| in_transaction(c, |tx| apply(tx, &op)))
            .await
    }

    async fn put_if_version(&self, item: &Item, expected: u64) -> Result<(), StoreError> {
        let op = WriteOp::PutIfVersion {
            item: item.clone(),
            expected,
        };
        self.run(move |c| in_transaction(c, |tx| apply(tx, &op)))
            .await
    }

    async fn delete(&self, pk: &str, sk: &str, expected: Option<u64>) -> Result<(), StoreError> {
        let op = WriteOp::Delete {
            pk: pk.to_owned(),
            sk: sk.to_owned(),
            expected,
        };
        self.run(move |c| in_transaction(c, |tx| apply(tx, &op)))
            .await
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        let after = cursor.map(decode_cursor).transpose()?;
        let (pk, prefix) = (pk.to_owned(), sk_prefix.to_owned());
        let limit = limit.clamp(1, 1000);
        self.run(move |c| {
            let start = after.unwrap_or_default();
            let mut stmt = c
                .prepare_cached(
                    "SELECT pk, sk, version, body, counters, expires_at FROM items
                     WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 AND sk > ?4 AND (expires_at IS NULL OR expires_at > ?5)
                     ORDER BY sk LIMIT ?6",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![pk, prefix, prefix_end(&prefix), start, now_unix(), (limit + 1) as i64],
                    read_row,
                )
                .map_err(unavailable)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(unavailable)?;
            let mut items = rows.into_iter().map(row_to_item).collect::<Result<Vec<_>, _>>()?;
            let next = if items.len() > limit {
                items.truncate(limit);
                items.last().map(|i| encode_cursor(&i.sk))
            } else {
                None
            };
            Ok(Page { items, next })
        })
        .await
    }

    async fn add(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.add_with_ttl(pk, sk, deltas, None, true).await
    }

    async fn add_unhurried(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.add_with_ttl(pk, sk, deltas, None, false).await
    }

    async fn add_expiring(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: i64,
    ) -> Result<Counters, StoreError> {
        self.add_with_ttl(pk, sk, deltas, Some(expires_at), true)
            .await
    }

    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        ceiling: Ceiling<'_>,
    ) -> Result<Bounded, StoreError> {
        let room = ceiling_room(deltas, ceiling)?;
        let counter = ceiling.counter.to_owned();
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        let deltas: Vec<(String, i64)> =
            deltas.iter().map(|(n, d)| ((*n).to_owned(), *d)).collect();
        // Its own transaction: the read, the check and the write see no other write in between (group
        // committed adds included, which take the same connection).
        self.run(move |c| {
            in_transaction(c, |tx| {
                let mut item = load(tx, &pk, &sk)?
                    .unwrap_or_else(|| Item::new(&pk, &sk, serde_json::Value::Null));
                if item.counters.get(&counter).copied().unwrap_or(0) > room {
                    return Ok(Bounded::Refused(item.counters));
                }
                for (name, delta) in &deltas {
                    let slot = item.counters.entry(name.clone()).or_insert(0);
                    *slot = slot
                        .checked_add(*delta)
                        .ok_or_else(|| StoreError::Invalid("counter overflow".into()))?;
                }
                write(tx, &item)?;
                Ok(Bounded::Added(item.counters))
            })
        })
        .await
    }

    async fn put_many(&self, records: Vec<Record>) -> Result<(), StoreError> {
        self.run(move |c| {
            in_transaction(c, |tx| records.iter().try_for_each(|r| write_record(tx, r)))
        })
        .await
    }

    async fn transact(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        let ops = ops.to_vec();
        self.run(move |c| in_transaction(c, |tx| ops.iter().try_for_each(|op| apply(tx, op))))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(pk: &str, sk: &str, deltas: &[(&str, i64)]) -> PendingAdd {
        PendingAdd {
            pk: pk.into(),
            sk: sk.into(),
            deltas: deltas.iter().map(|(n, d)| ((*n).into(), *d)).collect(),
            expires_at: None,
            done: tokio::sync::oneshot::channel().0,
        }
    }

    #[test]
    fn a_batch_answers_each_add_in_order_and_an_overflow_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let batch = [
            pending("A", "x", &[("n", 1)]),
            pending("A", "y", &[("n", 5)]),
            pending("A", "x", &[("n", i64::MAX), ("m", 1)]),
            pending("A", "x", &[("n", 2)]),
        ];
        let mut conn = store.conn.lock().unwrap();
        let results = in_transaction(&mut conn, |tx| apply_adds(tx, &batch)).unwrap();
        let n = |i: usize| results[i].as_ref().unwrap()["n"];
        assert_eq!((n(0), n(1), n(3)), (1, 5, 3));
        assert!(matches!(results[2], Err(StoreError::Invalid(_))));
        let x = load(&conn, "A", "x").unwrap().unwrap().counters;
        assert_eq!((x.get("n"), x.get("m")), (Some(&3), None));
        assert_eq!(load(&conn, "A", "y").unwrap().unwrap().counters["n"], 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_awaited_add_ends_the_wait_of_unhurried_ones() {
        let dir = tempfile::tempdir().unwrap();
        // A linger no test could sit out: only the awaited add can end it.
        let hour = Duration::from_secs(3600);
        let store = SqliteStore::open_lingering(&dir.path().join("t.db"), hour).unwrap();
        let unhurried = {
            let store = store.clone();
            tokio::spawn(async move { store.add_unhurried("org#a", "usage", &[("n", 1)]).await })
        };
        for _ in 0..10_000 {
            if !lock_queue(&store.adds.queue).pending.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        let within = Duration::from_secs(60);
        let awaited = tokio::time::timeout(within, store.add("org#b", "window", &[("n", 1)]))
            .await
            .expect("the awaited add sat out the linger")
            .unwrap();
        assert_eq!(awaited["n"], 1);
        let first = tokio::time::timeout(within, unhurried)
            .await
            .expect("the unhurried add was not committed with the awaited one")
            .unwrap()
            .unwrap();
        assert_eq!(first["n"], 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_batch_of_unhurried_adds_ends_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        let store = SqliteStore::open_lingering(&dir.path().join("t.db"), hour).unwrap();
        let adds: Vec<_> = (0..FULL_BATCH)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.add_unhurried("org#a", "usage", &[("n", 1)]).await },
                )
            })
            .collect();
        let within = Duration::from_secs(60);
        for add in adds {
            tokio::time::timeout(within, add)
                .await
                .expect("a full batch sat out the linger")
                .unwrap()
                .unwrap();
        }
        let total = store.get("org#a", "usage").await.unwrap().unwrap();
        assert_eq!(total.counters["n"], FULL_BATCH as i64);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unhurried_adds_of_two_orgs_commit_together_and_count_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
        let adds = (0..80).map(|i| {
            let store = store.clone();
            let org = if i % 8 < 5 { "org#a" } else { "org#b" };
            tokio::spawn(async move { store.add_unhurried(org, "usage", &[("n", 1)]).await })
        });
        let mut seen = std::collections::BTreeMap::<i64, usize>::new();
        for add in adds {
            let counters = add.await.unwrap().unwrap();
            *seen.entry(counters["n"]).or_default() += 1;
        }
        // Each caller got the count right after its own add: every value once per org, so at most twice.
        assert!(seen.values().all(|n| *n <= 2), "{seen:?}");
        let count = |org: &'static str| {
            let store = store.clone();
            async move { store.get(org, "usage").await.unwrap().unwrap().counters["n"] }
        };
        assert_eq!(count("org#a").await, 50);
        assert_eq!(count("org#b").await, 30);
    }
}
