//! Every API Gateway fixture in events/byok-manage, parsed by lambda_http as on Lambda, through the router.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::usage::{Resolution, UsageEvent, bucket_start};
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::usage;
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, events, fixtures};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const FIXTURE_ID: &str = "key_01jf3k8v5q2w7r9t4y6m8n0p2c";

#[tokio::test]
async fn every_fixture_is_served() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let store = backend.store.as_ref();
    let org = fixtures::org(store, "Acme").await;
    let new = NewKey {
        name: "seeded".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: 5.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (seeded, _) = apikeys::create(store, &org.org_id, new, None)
        .await
        .unwrap();
    // Usage for the usage fixtures, at a fixed time inside both fixtures' fixed windows (apikey-usage:
    // November 2026 by day; org-usage: November 2026 by month), so the test does not depend on today.
    let at = bucket_start(
        "2026-11-15T10:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        Resolution::Day,
    );
    for (provider, model, cost, team) in [
        ("openai", "gpt-4.1-mini", 0.5, "payments"),
        ("anthropic", "claude-sonnet-4-5", 1.25, "search"),
    ] {
        let event = UsageEvent {
            at,
            api_key_id: seeded.api_key_id.clone(),
            provider: provider.into(),
            model: model.into(),
            model_requested: "policy/main".into(),
            is_byok: true,
            user_id: None,
            origin_title: None,
            extra: [("team".to_owned(), team.to_owned())].into(),
            input_tokens: 100,
            output_tokens: 20,
            cached_tokens: 0,
            reasoning_tokens: 0,
            cache_write_tokens: 0,
            cost: Some(cost),
            error: false,
        };
        usage::record(store, &org.org_id, &event).await.unwrap();
    }
    let app = byok_manage::router(backend.state(|_| {}));
    let expected = [
        ("apikey-create.json", StatusCode::CREATED),
        ("apikey-create-put.json", StatusCode::CREATED),
        ("apikey-list.json", StatusCode::OK),
        ("apikey-limit.json", StatusCode::NO_CONTENT),
        ("apikey-get.json", StatusCode::OK),
        ("apikey-patch.json", StatusCode::OK),
        ("apikey-usage.json", StatusCode::OK),
        ("org-get.json", StatusCode::OK),
        ("org-patch.json", StatusCode::OK),
        ("org-usage.json", StatusCode::OK),
        ("apikey-delete.json", StatusCode::NO_CONTENT),
    ];
    let r = events::run_fixtures("byok-manage", &app, &org.admin, &expected, |text| {
        text.replace(FIXTURE_ID, &seeded.api_key_id)
    })
    .await;

    // apikey-create.json: the new key, shown once, with what the fixture asked for.
    let created = &r["apikey-create.json"].body;
    let (new_id, secret) = (
        created["api_key_id"].as_str().expect("api_key_id"),
        created["api_key"].as_str().expect("api_key"),
    );
    assert!(new_id.starts_with("key_"), "{created}");
    assert!(
        secret.starts_with("bgk_") && secret.len() == 68,
        "{created}"
    );
    let listed = &r["apikey-list.json"];
    let mut names: Vec<&str> = listed.body["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["admin", "batch-jobs", "checkout-service", "seeded"],
        "{}",
        listed.text
    );
    let new = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "checkout-service")
        .unwrap();
    assert_eq!(new["monthly_limit"], 50.0);
    assert_eq!(
        new["permissions"],
        json!({"manage": "none", "completions": "write"})
    );
    // apikey-create-put.json (Requesty's older create): permissions default to completions only.
    let put = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "batch-jobs")
        .unwrap();
    assert_eq!(
        (&put["monthly_limit"], &put["permissions"]),
        (
            &json!(20.0),
            &json!({"manage": "none", "completions": "write"})
        )
    );
    for (name, response) in r.iter().filter(|(name, _)| *name != "apikey-create.json") {
        assert!(
            !response.text.contains(&secret[4..]),
            "{name} shows the new key again: {}",
            response.text
        );
    }
    // apikey-get.json reads the seeded key, with the limit apikey-limit.json set (it was 5).
    let got = &r["apikey-get.json"].body;
    assert_eq!(
        (&got["id"], &got["name"], &got["monthly_limit"]),
        (&json!(seeded.api_key_id), &json!("seeded"), &json!(100.0)),
        "{got}"
    );
    // apikey-patch.json applied the labels, allow-list and default model it sent.
    let patched = &r["apikey-patch.json"].body;
    assert_eq!(
        (
            &patched["labels"],
            &patched["allowed_models"],
            &patched["default_model"]
        ),
        (
            &json!({"team": "payments"}),
            &json!(["openai/*", "policy/main"]),
            &json!("policy/main")
        ),
        "{patched}"
    );
    // Usage answers are `{"usage": {<period>: {totals, groups}}}`: one period each, grouped as asked.
    let groups = |name: &str, period: &str, dims: &[&str]| -> Vec<(Vec<Value>, i64, f64)> {
        let body = &r[name].body;
        let usage = body["usage"].as_object().expect("usage");
        assert_eq!(usage.keys().collect::<Vec<_>>(), [period], "{name}: {body}");
        let mut rows: Vec<_> = usage[period]["groups"]
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {body}"))
            .iter()
            .map(|g| {
                (
                    dims.iter().map(|d| g[*d].clone()).collect::<Vec<_>>(),
                    g["requests"].as_i64().unwrap(),
                    g["spend"].as_f64().unwrap(),
                )
            })
            .collect();
        rows.sort_by_key(|row| row.0[0].to_string());
        rows
    };
    assert_eq!(
        groups(
            "apikey-usage.json",
            "2026-11-15T00:00:00Z",
            &["model_used", "extra.team"]
        ),
        [
            (
                vec![json!("anthropic/claude-sonnet-4-5"), json!("search")],
                1,
                1.25
            ),
            (
                vec![json!("openai/gpt-4.1-mini"), json!("payments")],
                1,
                0.5
            ),
        ]
    );
    let id = &seeded.api_key_id;
    assert_eq!(
        groups(
            "org-usage.json",
            "2026-11-01T00:00:00Z",
            &["provider_used", "api_key_id"]
        ),
        [
            (vec![json!("anthropic"), json!(id)], 1, 1.25),
            (vec![json!("openai"), json!(id)], 1, 0.5),
        ]
    );
    let me = &r["org-get.json"].body;
    assert_eq!(
        (&me["id"], &me["name"]),
        (&json!(org.org_id), &json!("Acme")),
        "{me}"
    );
    for name in ["apikey-limit.json", "apikey-delete.json"] {
        assert_eq!(r[name].text, "", "{name}: 204 has no body");
    }
    // apikey-limit.json set the limit and apikey-delete.json deleted the key: it is gone now.
    let gone = call(
        &app,
        Method::GET,
        &format!("/v1/manage/apikey/{id}"),
        Some(&org.admin),
        None,
    )
    .await;
    assert_error(&gone, StatusCode::NOT_FOUND);
    assert!(
        apikeys::get(store, &org.org_id, id)
            .await
            .unwrap()
            .is_none(),
        "apikey-delete.json left the key"
    );
}
