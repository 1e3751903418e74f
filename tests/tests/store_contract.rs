//! One contract for the store port, run against both adapters: the embedded SQLite store and DynamoDB Local.

use std::sync::Arc;

use byok_shared::store::{Bounded, Ceiling, Item, Record, Store, StoreError, WriteOp};
use byok_testkit::{Backend, TestBackend};
use serde_json::json;

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(byok_testkit::Backend::Embedded).await })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(byok_testkit::Backend::Aws).await })*
        }
    };
}

on_both_backends!(
    get_put_round_trip,
    put_if_absent_race_has_exactly_one_winner,
    stale_version_update_conflicts,
    delete_checks_existence_and_version,
    counters_are_exact_under_concurrent_adds,
    bounded_adds_never_pass_their_ceiling_under_concurrency,
    a_bounded_add_checks_the_value_after_the_add,
    query_pages_through_a_partition_in_order,
    transactions_are_all_or_nothing,
    expired_items_count_as_absent,
    expiring_adds_are_exact_and_set_the_expiry_once,
    written_once_records_read_back_as_items,
);

async fn store(backend: Backend) -> (TestBackend, Arc<dyn Store>) {
    let b = TestBackend::new(backend).await;
    let store = b.store.clone();
    (b, store)
}

async fn get_put_round_trip(backend: Backend) {
    let (_b, s) = store(backend).await;
    assert_eq!(s.get("P", "a").await.unwrap(), None);
    let item = Item::new("P", "a", json!({"name": "x", "n": [1, 2]}));
    s.put_if_absent(&item).await.unwrap();
    assert_eq!(s.get("P", "a").await.unwrap(), Some(item.clone()));
    let replaced = Item::new("P", "a", json!({"name": "y"}));
    s.put(&replaced).await.unwrap();
    assert_eq!(
        s.get("P", "a").await.unwrap().unwrap().body,
        json!({"name": "y"})
    );
    assert_eq!(
        s.get("Q", "a").await.unwrap(),
        None,
        "partitions are separate"
    );
}

async fn put_if_absent_race_has_exactly_one_winner(backend: Backend) {
    let (_b, s) = store(backend).await;
    let attempts = (0..32).map(|i| {
        let s = s.clone();
        tokio::spawn(async move {
            s.put_if_absent(&Item::new("RACE", "one", json!({ "writer": i })))
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let conflicts = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Conflict)))
        .count();
    assert_eq!((winners, conflicts), (1, 31), "{results:?}");
    let stored = s.get("RACE", "one").await.unwrap().unwrap();
    let winner = results.iter().position(Result::is_ok).unwrap() as i64;
    assert_eq!(
        stored.body["writer"],
        json!(winner),
        "the stored item is the winner's"
    );
}

async fn stale_version_update_conflicts(backend: Backend) {
    let (_b, s) = store(backend).await;
    s.put_if_absent(&Item::new("V", "doc", json!({"v": 1})))
        .await
        .unwrap();
    let mut next = Item::new("V", "doc", json!({"v": 2}));
    next.version = 2;
    s.put_if_version(&next, 1).await.unwrap();
    let mut stale = Item::new("V", "doc", json!({"v": "stale"}));
    stale.version = 2;
    assert_eq!(s.put_if_version(&stale, 1).await, Err(StoreError::Conflict));
    let current = s.get("V", "doc").await.unwrap().unwrap();
    assert_eq!((current.version, current.body), (2, json!({"v": 2})));
    let mut missing = Item::new("V", "absent", json!({}));
    missing.version = 2;
    assert_eq!(
        s.put_if_version(&missing, 1).await,
        Err(StoreError::Conflict),
        "absent is not version 1"
    );
}

async fn delete_checks_existence_and_version(backend: Backend) {
    let (_b, s) = store(backend).await;
    assert_eq!(s.delete("D", "x", None).await, Err(StoreError::Conflict));
    s.put_if_absent(&Item::new("D", "x", json!({})))
        .await
        .unwrap();
    assert_eq!(s.delete("D", "x", Some(7)).await, Err(StoreError::Conflict));
    assert!(s.get("D", "x").await.unwrap().is_some());
    s.delete("D", "x", Some(1)).await.unwrap();
    assert_eq!(s.get("D", "x").await.unwrap(), None);
}

async fn counters_are_exact_under_concurrent_adds(backend: Backend) {
    let (_b, s) = store(backend).await;
    let adds = (0..32).map(|i| {
        let s = s.clone();
        tokio::spawn(async move { s.add("C", "usage", &[("requests", 1), ("tokens", i)]).await })
    });
    for r in futures::future::join_all(adds).await {
        r.unwrap().unwrap();
    }
    let counters = s.get("C", "usage").await.unwrap().unwrap().counters;
    assert_eq!(counters["requests"], 32);
    assert_eq!(counters["tokens"], (0..32).sum::<i64>());
    let after = s.add("C", "usage", &[("requests", -2)]).await.unwrap();
    assert_eq!(after["requests"], 30);
    assert!(matches!(
        s.add("C", "usage", &[("Bad Name", 1)]).await,
        Err(StoreError::Invalid(_))
    ));
}

/// 48 concurrent reservations of 7 against a ceiling of 100: exactly 14 fit (98), whatever the order, and
/// every refused one changed nothing.
async fn bounded_adds_never_pass_their_ceiling_under_concurrency(backend: Backend) {
    let (_b, s) = store(backend).await;
    let ceiling = Ceiling {
        counter: "held",
        limit: 100,
    };
    let adds = (0..48).map(|_| {
        let s = s.clone();
        tokio::spawn(async move {
            s.add_within("B", "budget", &[("held", 7), ("grants", 1)], ceiling)
                .await
        })
    });
    let mut added = 0;
    for r in futures::future::join_all(adds).await {
        match r.unwrap().unwrap() {
            Bounded::Added(c) => {
                assert!(c["held"] <= 100, "{c:?}");
                added += 1;
            }
            Bounded::Refused(c) => assert!(c["held"] + 7 > 100, "refused with room: {c:?}"),
        }
    }
    assert_eq!(added, 14);
    let counters = s.get("B", "budget").await.unwrap().unwrap().counters;
    assert_eq!((counters["held"], counters["grants"]), (98, 14));
}

async fn a_bounded_add_checks_the_value_after_the_add(backend: Backend) {
    let (_b, s) = store(backend).await;
    let at = |limit| Ceiling {
        counter: "n",
        limit,
    };
    // Absent item: 0 + 5 fits under 5 and creates it; a negative limit never fits.
    assert_eq!(
        s.add_within("A", "x", &[("n", 3)], at(-1)).await.unwrap(),
        Bounded::Refused(Default::default())
    );
    assert!(s.get("A", "x").await.unwrap().is_none());
    let added = s.add_within("A", "x", &[("n", 5)], at(5)).await.unwrap();
    assert!(
        matches!(&added, Bounded::Added(c) if c["n"] == 5),
        "{added:?}"
    );
    // Full: one more does not fit, and nothing changes.
    let refused = s
        .add_within("A", "x", &[("n", 1), ("m", 1)], at(5))
        .await
        .unwrap();
    assert!(matches!(&refused, Bounded::Refused(c) if c["n"] == 5 && !c.contains_key("m")));
    // A release fits, and an add back to the limit too.
    assert!(matches!(
        s.add_within("A", "x", &[("n", -2)], at(5)).await.unwrap(),
        Bounded::Added(c) if c["n"] == 3
    ));
    assert!(matches!(
        s.add_within("A", "x", &[("n", 2)], at(5)).await.unwrap(),
        Bounded::Added(c) if c["n"] == 5
    ));
    // The plain add still works on the same item, and bad calls are invalid, not conflicts.
    assert_eq!(s.add("A", "x", &[("n", 1)]).await.unwrap()["n"], 6);
    assert!(matches!(
        s.add_within("A", "x", &[("m", 1)], at(5)).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.add_within("A", "x", &[("Bad Name", 1)], at(5)).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn query_pages_through_a_partition_in_order(backend: Backend) {
    let (_b, s) = store(backend).await;
    for i in 0..25 {
        s.put_if_absent(&Item::new("Q", format!("ITEM#{i:03}"), json!({ "i": i })))
            .await
            .unwrap();
    }
    s.put_if_absent(&Item::new("Q", "OTHER#1", json!({})))
        .await
        .unwrap();
    s.put_if_absent(&Item::new("Q2", "ITEM#000", json!({})))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.query("Q", "ITEM#", 10, cursor.as_deref()).await.unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|i| i.body["i"].as_i64().unwrap()));
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
        assert!(pages < 10, "paging does not terminate");
    }
    assert_eq!(seen, (0..25).collect::<Vec<_>>());
    assert_eq!(pages, 3);
    let exact = s.query("Q", "ITEM#", 25, None).await.unwrap();
    assert_eq!(
        (exact.items.len(), exact.next),
        (25, None),
        "a full last page has no cursor"
    );
    assert!(matches!(
        s.query("Q", "ITEM#", 10, Some("%%%")).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn transactions_are_all_or_nothing(backend: Backend) {
    let (_b, s) = store(backend).await;
    s.put_if_absent(&Item::new("T", "existing", json!({})))
        .await
        .unwrap();
    let failing = [
        WriteOp::PutIfAbsent(Item::new("T", "new", json!({}))),
        WriteOp::PutIfAbsent(Item::new("T", "existing", json!({"overwritten": true}))),
    ];
    assert_eq!(s.transact(&failing).await, Err(StoreError::Conflict));
    assert_eq!(
        s.get("T", "new").await.unwrap(),
        None,
        "nothing half-written"
    );
    assert_eq!(
        s.get("T", "existing").await.unwrap().unwrap().body,
        json!({})
    );
    let mut bumped = Item::new("T", "existing", json!({"v": 2}));
    bumped.version = 2;
    let ok = [
        WriteOp::PutIfAbsent(Item::new("T", "new", json!({}))),
        WriteOp::PutIfVersion {
            item: bumped,
            expected: 1,
        },
        WriteOp::Put(Item::new("T", "blind", json!({}))),
    ];
    s.transact(&ok).await.unwrap();
    assert_eq!(s.get("T", "existing").await.unwrap().unwrap().version, 2);
    s.transact(&[
        WriteOp::Delete {
            pk: "T".into(),
            sk: "new".into(),
            expected: None,
        },
        WriteOp::Delete {
            pk: "T".into(),
            sk: "blind".into(),
            expected: Some(1),
        },
    ])
    .await
    .unwrap();
    assert_eq!(s.query("T", "", 10, None).await.unwrap().items.len(), 1);
}

async fn expired_items_count_as_absent(backend: Backend) {
    let (_b, s) = store(backend).await;
    let past = chrono::Utc::now().timestamp() - 5;
    let future = chrono::Utc::now().timestamp() + 600;
    s.put_if_absent(&Item::new("E", "old", json!({"gen": 1})).expiring_at(past))
        .await
        .unwrap();
    s.put_if_absent(&Item::new("E", "live", json!({})).expiring_at(future))
        .await
        .unwrap();
    assert_eq!(s.get("E", "old").await.unwrap(), None);
    assert_eq!(s.query("E", "", 10, None).await.unwrap().items.len(), 1);
    s.put_if_absent(&Item::new("E", "old", json!({"gen": 2})))
        .await
        .unwrap();
    assert_eq!(
        s.get("E", "old").await.unwrap().unwrap().body,
        json!({"gen": 2}),
        "an expired item can be recreated"
    );
}

/// Per-window counters (rate limits): every concurrent add sees its own distinct total, the item gets the
/// expiry of the add that created it, and a later add neither moves it nor loses the counts.
async fn expiring_adds_are_exact_and_set_the_expiry_once(backend: Backend) {
    let (_b, s) = store(backend).await;
    let expires = chrono::Utc::now().timestamp() + 120;
    let adds = (0..40).map(|_| {
        let s = s.clone();
        tokio::spawn(async move {
            s.add_expiring("RATE#k", "W#1", &[("requests", 1), ("tokens", 5)], expires)
                .await
                .unwrap()
        })
    });
    let mut seen: Vec<i64> = futures::future::join_all(adds)
        .await
        .into_iter()
        .map(|r| r.unwrap()["requests"])
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=40).collect::<Vec<i64>>(),
        "each add sees its own total"
    );
    let later = s
        .add_expiring("RATE#k", "W#1", &[("tokens", -5)], expires + 999)
        .await
        .unwrap();
    assert_eq!((later["requests"], later["tokens"]), (40, 195));
    let item = s.get("RATE#k", "W#1").await.unwrap().expect("live");
    assert_eq!(
        item.expires_at,
        Some(expires),
        "the first add's expiry stays"
    );
    // An item created by an add with an expiry in the past is absent to readers.
    s.add_expiring(
        "RATE#k",
        "W#0",
        &[("requests", 1)],
        chrono::Utc::now().timestamp() - 1,
    )
    .await
    .unwrap();
    assert_eq!(s.get("RATE#k", "W#0").await.unwrap(), None);
}

/// `put_many` takes bodies as JSON text (SQLite stores them as they are): they read back as the items
/// they describe, replace what was at their key, and expire like any item.
async fn written_once_records_read_back_as_items(backend: Backend) {
    let (_b, s) = store(backend).await;
    let future = chrono::Utc::now().timestamp() + 3600;
    s.put(&Item::new("L", "b", json!({"old": true})))
        .await
        .unwrap();
    let record = |sk: &str, body: serde_json::Value, expires_at| Record {
        pk: "L".into(),
        sk: sk.into(),
        body: body.to_string(),
        expires_at,
    };
    let body = json!({"id": "a", "tags": ["x", "é\"q"], "cost": 0.25, "none": null});
    s.put_many(vec![
        record("a", body.clone(), Some(future)),
        record("b", json!({"new": 1}), None),
        record("c", json!({"gone": 1}), Some(1)),
    ])
    .await
    .unwrap();
    let a = s.get("L", "a").await.unwrap().expect("record a");
    assert_eq!((a.body, a.version, a.expires_at), (body, 1, Some(future)));
    assert!(a.counters.is_empty());
    assert_eq!(
        s.get("L", "b").await.unwrap().unwrap().body,
        json!({"new": 1})
    );
    assert_eq!(
        s.get("L", "c").await.unwrap(),
        None,
        "an expired record is absent"
    );
    let listed = s.query("L", "", 10, None).await.unwrap();
    assert_eq!(listed.items.len(), 2);
}
