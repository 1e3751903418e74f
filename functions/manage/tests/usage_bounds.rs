//! Bounded usage dimensions: past an org's cap on distinct combinations a month, new combinations collapse
//! into `(other)` (keeping key, provider and own-or-platform), the totals stay exact, combinations recorded
//! before the cap keep their values, and one org's cap never touches another's. Through the usage API, on
//! both backends.

use axum::http::{Method, StatusCode};
use byok_shared::domain::usage::UsageEvent;
use byok_shared::repo::usage::{self, OTHER};
use byok_testkit::http::call;
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::Value;

byok_testkit::on_both_backends!(past_the_cap_new_values_collapse_into_other);

const CAP: i64 = 3;

fn event(key: &str, user: &str, team: &str) -> UsageEvent {
    UsageEvent {
        at: "2025-03-01T10:00:00Z".parse().unwrap(),
        api_key_id: key.into(),
        provider: "openai".into(),
        model: "gpt-4.1-mini".into(),
        model_requested: "openai/gpt-4.1-mini".into(),
        is_byok: true,
        user_id: Some(user.into()),
        origin_title: None,
        extra: [("team".to_owned(), team.to_owned())].into(),
        input_tokens: 10,
        output_tokens: 2,
        cached_tokens: 0,
        reasoning_tokens: 0,
        cache_write_tokens: 0,
        cost: Some(0.5),
        error: false,
    }
}

/// `{user_id or extra.team value → requests}` of the org's usage in March 2025.
async fn by(app: &axum::Router, admin: &str, group_by: &str) -> Vec<(String, u64)> {
    let path = format!(
        "/v1/manage/org/usage?start=2025-03-01T00:00:00Z&end=2025-03-02T00:00:00Z&resolution=day&group_by={group_by}"
    );
    let r = call(app, Method::GET, &path, Some(admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let period = r.body["usage"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let mut out: Vec<(String, u64)> = period["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let v = match &g[group_by] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (v, g["requests"].as_u64().unwrap())
        })
        .collect();
    out.sort();
    out
}

async fn past_the_cap_new_values_collapse_into_other(kind: Backend) {
    let backend = TestBackend::new(kind).await;
    let app = byok_manage::router(backend.state(|_| {}));
    let store = backend.store.as_ref();
    let (a, b) = (
        fixtures::org(store, "A").await,
        fixtures::org(store, "B").await,
    );
    // Org A: six distinct users, one request each, then u1 again (recorded before the cap: kept).
    for user in ["u1", "u2", "u3", "u4", "u5", "u6", "u1"] {
        let e = event(&a.admin_key_id, user, &format!("team-{user}"));
        usage::record_bounded(store, &a.org_id, &e, CAP)
            .await
            .unwrap();
    }
    // Org B under the same cap, two users: nothing collapses there.
    for user in ["x1", "x2"] {
        let e = event(&b.admin_key_id, user, "blue");
        usage::record_bounded(store, &b.org_id, &e, CAP)
            .await
            .unwrap();
    }
    let users = by(&app, &a.admin, "user_id").await;
    assert_eq!(
        users,
        [
            (OTHER.to_owned(), 3),
            ("u1".to_owned(), 2),
            ("u2".to_owned(), 1),
            ("u3".to_owned(), 1)
        ]
    );
    let teams = by(&app, &a.admin, "extra.team").await;
    assert_eq!(
        teams.iter().map(|t| t.1).sum::<u64>(),
        7,
        "totals stay exact"
    );
    assert!(teams.contains(&(OTHER.to_owned(), 3)), "{teams:?}");
    // What the cap keeps: the key and the kind of key.
    let keys = by(&app, &a.admin, "api_key_id").await;
    assert_eq!(keys, [(a.admin_key_id.clone(), 7)]);
    // The other org keeps its own values.
    assert_eq!(
        by(&app, &b.admin, "user_id").await,
        [("x1".to_owned(), 1), ("x2".to_owned(), 1)]
    );
}
