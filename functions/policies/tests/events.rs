//! Every API Gateway fixture in events/byok-policies, parsed by lambda_http as on Lambda, through the router.

use axum::http::{Method, StatusCode};
use byok_testkit::http::{assert_error, call};
use byok_testkit::{Backend, TestBackend, events, fixtures};
use serde_json::{Value, json};

#[tokio::test]
async fn every_fixture_is_served() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    let app = byok_policies::router(backend.state(|_| {}));
    let expected = [
        ("create.json", StatusCode::CREATED),
        ("get.json", StatusCode::OK),
        ("list.json", StatusCode::OK),
        ("explain.json", StatusCode::OK),
        ("update.json", StatusCode::OK),
        ("delete.json", StatusCode::NO_CONTENT),
    ];
    let r = events::run_fixtures("byok-policies", &app, &org.admin, &expected, str::to_owned).await;

    let created = &r["create.json"].body;
    assert_eq!(
        (&created["name"], &created["type"], &created["version"]),
        (&json!("fast-chat"), &json!("fallback"), &json!(1)),
        "{created}"
    );
    let models = |body: &Value, list: &str| -> Vec<String> {
        body[list]
            .as_array()
            .unwrap_or_else(|| panic!("{list}: {body}"))
            .iter()
            .map(|s| s["model"].as_str().expect("model").to_owned())
            .collect()
    };
    let chain = ["openai/gpt-4.1-mini", "anthropic/claude-sonnet-4-5"];
    assert_eq!(models(created, "steps"), chain);
    assert_eq!(created["steps"][0]["retries"], 2);
    assert_eq!(created["steps"][1]["timeout_ms"], 30000);
    assert_eq!(
        r["get.json"].body, *created,
        "get.json reads what create.json wrote"
    );
    let listed: Vec<&Value> = r["list.json"].body["data"]
        .as_array()
        .expect("data")
        .iter()
        .collect();
    assert_eq!(listed, [created], "list.json lists the one policy");
    // The org has no provider key: explain walks the chain and says each step would be skipped.
    let explained = &r["explain.json"].body;
    assert_eq!(models(explained, "route"), chain, "{explained}");
    assert!(
        explained["route"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["action"] == "skip" && !a["reasons"].as_array().unwrap().is_empty()),
        "{explained}"
    );
    let updated = &r["update.json"].body;
    assert_eq!(
        (
            &updated["name"],
            &updated["type"],
            &updated["version"],
            &updated["sticky"]
        ),
        (
            &json!("fast-chat"),
            &json!("load_balance"),
            &json!(2),
            &json!("user_id")
        ),
        "{updated}"
    );
    assert_eq!(
        models(updated, "targets"),
        ["openai/gpt-4.1-mini", "google/gemini-2.5-flash"]
    );
    assert!(updated.get("steps").is_none(), "{updated}");
    assert_eq!(r["delete.json"].text, "", "204 has no body");
    let after = call(
        &app,
        Method::GET,
        "/v1/policies/fast-chat",
        Some(&org.admin),
        None,
    )
    .await;
    assert_error(&after, StatusCode::NOT_FOUND);
}
