//! A bounded in-memory cache whose entries live for a fixed time after they are written: the one shape of
//! every hot-path cache (API keys by hash, orgs, policies, decrypted provider keys, prices, usage
//! combinations, last-used windows).
//!
//! Built on `quick_cache` (sharded, S3-FIFO eviction, one loader per key). It replaced `moka`, whose reads
//! record every hit in a buffer that housekeeping drains: with seven look-ups per request that was about 3 %
//! of `byok serve`'s CPU under load, against a shard read lock and a compare here.
//!
//! An expired entry is never served. It is dropped when its key is written again, or by the sweep that
//! the first write after each `ttl` runs: a decrypted provider key does not stay in memory long after its
//! time, even when nothing asks for it again.

use std::future::Future;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use quick_cache::Equivalent;
use quick_cache::sync::{Cache, EntryAction, EntryResult};

#[derive(Clone)]
struct Entry<V> {
    value: V,
    until: Instant,
}

impl<V> Entry<V> {
    fn fresh(&self, now: Instant) -> bool {
        now < self.until
    }
}

/// At most `capacity` entries, each kept `ttl` after it was written.
pub struct TtlCache<K, V> {
    entries: Cache<K, Entry<V>>,
    ttl: Duration,
    /// When expired entries were last dropped.
    swept: Mutex<Instant>,
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Clone,
    V: Clone,
{
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            entries: Cache::new(capacity.max(1)),
            ttl,
            swept: Mutex::new(Instant::now()),
        }
    }

    /// The value under `key` while it is fresh.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        let now = Instant::now();
        self.entries
            .get(key)
            .filter(|e| e.fresh(now))
            .map(|e| e.value)
    }

    /// The value under `key`, else what `load` gives, which is kept. One caller loads a missing key while
    /// the others wait for it; a failed (or dropped) load is not kept, and the next waiter loads instead.
    pub async fn get_or_try_load<Q, E>(
        &self,
        key: &Q,
        load: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        Q: Hash + Equivalent<K> + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let now = Instant::now();
        let guard = match self
            .entries
            .entry_async(key, |_, e| match e.fresh(now) {
                true => EntryAction::Retain(e.value.clone()),
                false => EntryAction::ReplaceWithGuard,
            })
            .await
        {
            EntryResult::Retained(value) => return Ok(value),
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => Some(guard),
            // Neither is returned for these actions without a timeout; load without keeping it.
            EntryResult::Removed(..) | EntryResult::Timeout => None,
        };
        let value = load.await?;
        if let Some(guard) = guard {
            let _ = guard.insert(self.entry(value.clone()));
        }
        Ok(value)
    }

    /// Keep `value` under `key`, replacing what was there.
    pub fn insert(&self, key: K, value: V) {
        self.entries.insert(key, self.entry(value));
    }

    /// Keep `value` under `key` unless a fresh value is there; true when it was kept. Of callers racing on
    /// one key, exactly one gets true.
    pub async fn insert_if_absent(&self, key: K, value: V) -> bool {
        let now = Instant::now();
        let result = self
            .entries
            .entry_async(&key, |_, e| match e.fresh(now) {
                true => EntryAction::Retain(()),
                false => EntryAction::ReplaceWithGuard,
            })
            .await;
        match result {
            EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => {
                guard.insert(self.entry(value)).is_ok()
            }
            EntryResult::Retained(()) | EntryResult::Removed(..) | EntryResult::Timeout => false,
        }
    }

    /// Whether a fresh value is under `key`.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.get(key).is_some()
    }

    pub fn remove<Q>(&self, key: &Q)
    where
        Q: Hash + Equivalent<K> + ?Sized,
    {
        self.entries.remove(key);
    }

    /// Drop every entry whose key `stale` picks.
    pub fn remove_where(&self, stale: impl Fn(&K) -> bool) {
        self.entries.retain(|key, _| !stale(key));
    }

    /// A value to write, with its expiry; at most once a `ttl`, the expired entries are dropped first.
    fn entry(&self, value: V) -> Entry<V> {
        let now = Instant::now();
        self.sweep(now);
        Entry {
            value,
            until: now + self.ttl,
        }
    }

    fn sweep(&self, now: Instant) {
        // A writer already sweeping, or one that panicked mid-way, is left alone: the next write sweeps.
        let Ok(mut swept) = self.swept.try_lock() else {
            return;
        };
        if now.duration_since(*swept) < self.ttl {
            return;
        }
        *swept = now;
        drop(swept);
        self.entries.retain(|_, e| e.fresh(now));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn cache(ttl: Duration) -> TtlCache<String, u32> {
        TtlCache::new(100, ttl)
    }

    #[tokio::test]
    async fn a_value_is_loaded_once_and_kept() {
        let c = cache(Duration::from_secs(60));
        let loads = AtomicUsize::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(7)
        };
        assert_eq!(c.get_or_try_load("a", load()).await, Ok(7));
        assert_eq!(c.get_or_try_load("a", load()).await, Ok(7));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(c.get("a"), Some(7));
        assert_eq!(c.get("b"), None);
    }

    #[tokio::test]
    async fn an_expired_value_is_loaded_again() {
        // Only the expiry is timed here (a sleep past the TTL can only be longer); freshness is asserted
        // with a TTL of a minute elsewhere, so a stalled machine cannot fail either.
        let c = cache(Duration::from_millis(30));
        c.insert("a".into(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(!c.contains("a"), "past its time");
        assert_eq!(
            c.get_or_try_load("a", async { Ok::<_, ()>(2) }).await,
            Ok(2)
        );
        assert_eq!(c.get("a"), Some(2));
    }

    #[tokio::test]
    async fn a_failed_load_is_not_kept() {
        let c = cache(Duration::from_secs(60));
        assert_eq!(
            c.get_or_try_load("a", async { Err("down") }).await,
            Err("down")
        );
        assert_eq!(c.get("a"), None);
        assert_eq!(
            c.get_or_try_load("a", async { Ok::<_, &str>(3) }).await,
            Ok(3)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_of_one_key_share_one_load() {
        let c = Arc::new(cache(Duration::from_secs(60)));
        let loads = Arc::new(AtomicUsize::new(0));
        let callers = (0..16).map(|_| {
            let (c, loads) = (c.clone(), loads.clone());
            tokio::spawn(async move {
                c.get_or_try_load("a", async {
                    loads.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok::<_, ()>(5)
                })
                .await
            })
        });
        for caller in futures::future::join_all(callers).await {
            assert_eq!(caller.unwrap(), Ok(5));
        }
        assert_eq!(loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn of_racing_inserts_one_wins_until_expiry() {
        let c = Arc::new(cache(Duration::from_secs(60)));
        let racers = (0..16).map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.insert_if_absent("w".into(), i).await })
        });
        let won = futures::future::join_all(racers)
            .await
            .into_iter()
            .filter(|r| *r.as_ref().unwrap())
            .count();
        assert_eq!(won, 1);
        assert!(!c.insert_if_absent("w".into(), 99).await);
        let short = cache(Duration::from_millis(30));
        assert!(short.insert_if_absent("w".into(), 1).await);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(short.insert_if_absent("w".into(), 2).await, "a new window");
    }

    #[tokio::test]
    async fn entries_are_removed_by_key_and_by_predicate() {
        let c = cache(Duration::from_secs(60));
        for k in ["org1#a", "org1#b", "org2#a"] {
            c.insert(k.into(), 1);
        }
        c.remove("org2#a");
        assert!(!c.contains("org2#a"));
        c.insert("org2#a".into(), 1);
        c.remove_where(|k| k.starts_with("org1#"));
        assert!(!c.contains("org1#a") && !c.contains("org1#b"));
        assert!(c.contains("org2#a"), "another org's entry stays");
    }

    #[tokio::test]
    async fn expired_entries_are_dropped_by_the_next_write_after_their_time() {
        let c = cache(Duration::from_millis(30));
        c.insert("old".into(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(c.entries.len(), 1, "kept until something is written");
        c.insert("new".into(), 2);
        assert_eq!(c.entries.len(), 1, "the expired one is gone");
        assert_eq!(c.get("new"), Some(2));
    }

    #[tokio::test]
    async fn a_load_that_sweeps_keeps_its_own_value() {
        // The sweep runs while the loader holds its key's placeholder: it must skip it, not wait on it.
        let c = cache(Duration::from_millis(30));
        c.insert("old".into(), 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(
            c.get_or_try_load("new", async { Ok::<_, ()>(2) }).await,
            Ok(2)
        );
        assert_eq!(c.entries.len(), 1, "the expired entry is gone");
        assert_eq!(c.get("new"), Some(2));
    }

    #[tokio::test]
    async fn a_cache_of_one_keeps_the_latest() {
        let c: TtlCache<(), u32> = TtlCache::new(1, Duration::from_secs(60));
        assert_eq!(
            c.get_or_try_load(&(), async { Ok::<_, ()>(1) }).await,
            Ok(1)
        );
        assert_eq!(
            c.get_or_try_load(&(), async { Ok::<_, ()>(2) }).await,
            Ok(1)
        );
        c.insert((), 3);
        assert_eq!(c.get(&()), Some(3));
    }
}
