//! Recording usage in batches (`byok serve` writes the usage of the requests that finished together as one
//! batch): requests that share a row are summed into one add, and a batch records exactly what its requests
//! recorded one by one would, per org: two orgs in one batch stay apart. On both backends.

use byok_shared::domain::usage::{GroupBy, Resolution, UsageEvent};
use byok_shared::repo::usage::{self, MonthSpend, UsageQuery, UsageRow};
use byok_shared::store::Store;
use byok_testkit::{Backend, TestBackend, fixtures};

byok_testkit::on_both_backends!(a_batch_records_what_its_requests_would_one_by_one);

fn event(at: &str, key: &str, user: &str, is_byok: bool, cost: Option<f64>) -> UsageEvent {
    UsageEvent {
        at: at.parse().unwrap(),
        api_key_id: key.into(),
        provider: "openai".into(),
        model: "gpt-4.1-mini".into(),
        model_requested: "openai/gpt-4.1-mini".into(),
        is_byok,
        user_id: Some(user.into()),
        origin_title: None,
        extra: Default::default(),
        input_tokens: 10,
        output_tokens: 2,
        cached_tokens: 1,
        reasoning_tokens: 0,
        cache_write_tokens: 0,
        error: cost.is_none(),
        cost,
    }
}

async fn rows(store: &dyn Store, org_id: &str) -> Vec<UsageRow> {
    let q = UsageQuery {
        start: "2025-03-01T00:00:00Z".parse().unwrap(),
        end: "2025-03-02T00:00:00Z".parse().unwrap(),
        resolution: Resolution::Hour,
        group_by: &[GroupBy::UserId, GroupBy::ApiKeyId, GroupBy::IsByok],
        api_key_id: None,
    };
    usage::query(store, org_id, &q).await.unwrap()
}

async fn spend(store: &dyn Store, org_id: &str, key: Option<&str>) -> MonthSpend {
    let at = "2025-03-01T12:00:00Z".parse().unwrap();
    usage::month_spend_split(store, org_id, key, at)
        .await
        .unwrap()
}

async fn a_batch_records_what_its_requests_would_one_by_one(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let store = backend.store.as_ref();
    let (a, b, c) = (
        fixtures::org(store, "A").await,
        fixtures::org(store, "B").await,
        fixtures::org(store, "C").await,
    );
    // Org A's requests: two of one user in one hour (one row), one failed in the next hour, one on a
    // platform key. Org B's: two on another key. One batch holds them all, interleaved.
    let a_events = [
        event("2025-03-01T10:00:00Z", "key-1", "u1", true, Some(0.5)),
        event("2025-03-01T10:30:00Z", "key-1", "u1", true, Some(0.25)),
        event("2025-03-01T11:00:00Z", "key-1", "u2", true, None),
        event("2025-03-01T11:10:00Z", "key-1", "u2", false, Some(0.125)),
    ];
    let b_events = [
        event("2025-03-01T10:05:00Z", "key-2", "x1", false, Some(1.0)),
        event("2025-03-01T10:06:00Z", "key-2", "x1", false, Some(1.0)),
    ];
    let batch: Vec<(&str, &UsageEvent)> = vec![
        (&a.org_id, &a_events[0]),
        (&b.org_id, &b_events[0]),
        (&a.org_id, &a_events[1]),
        (&a.org_id, &a_events[2]),
        (&b.org_id, &b_events[1]),
        (&a.org_id, &a_events[3]),
    ];
    usage::record_many(store, &batch).await.unwrap();
    // Org C records A's requests one by one.
    for e in &a_events {
        usage::record(store, &c.org_id, e).await.unwrap();
    }

    let a_rows = rows(store, &a.org_id).await;
    assert_eq!(a_rows, rows(store, &c.org_id).await);
    let requests: Vec<(i64, i64, i64)> = a_rows
        .iter()
        .map(|r| (r.requests, r.errors, r.input_tokens))
        .collect();
    assert_eq!(
        requests,
        [(2, 0, 20), (1, 0, 10), (1, 1, 10)],
        "{a_rows:#?}"
    );
    assert_eq!(
        spend(store, &a.org_id, Some("key-1")).await,
        spend(store, &c.org_id, Some("key-1")).await
    );
    let a_total = spend(store, &a.org_id, None).await;
    assert_eq!(a_total, spend(store, &c.org_id, None).await);
    assert_eq!((a_total.total, a_total.platform), (0.875, 0.125));

    // Org B's requests landed in B only, summed.
    let b_rows = rows(store, &b.org_id).await;
    assert_eq!(b_rows.len(), 1, "{b_rows:#?}");
    assert_eq!((b_rows[0].requests, b_rows[0].cost), (2, 2.0));
    let b_total = spend(store, &b.org_id, None).await;
    assert_eq!((b_total.total, b_total.platform), (2.0, 2.0));
    assert_eq!(
        spend(store, &a.org_id, Some("key-2")).await,
        MonthSpend::default()
    );
}
