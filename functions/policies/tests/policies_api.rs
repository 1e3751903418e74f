//! The policies function through its router, on both backends.

use axum::http::{Method, StatusCode};
use byok_shared::domain::permissions::{Completions, Manage};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::http::{Response, assert_error, call};
use byok_testkit::{Backend, TestBackend, fixtures};
use serde_json::{Value, json};

byok_testkit::on_both_backends!(
    crud_round_trip,
    duplicate_name_conflicts,
    stale_and_concurrent_updates_conflict,
    every_validation_rule_names_the_field,
    references_must_exist_and_not_cycle,
    other_orgs_see_404,
    permissions_are_enforced,
    explain_reflects_stored_keys,
    explain_load_balance_is_sticky,
);

struct Setup {
    backend: TestBackend,
    app: axum::Router,
    org: fixtures::TestOrg,
}

async fn setup(kind: Backend) -> Setup {
    let backend = TestBackend::new(kind).await;
    let app = byok_policies::router(backend.state(|_| {}));
    let org = fixtures::org(backend.store.as_ref(), "Acme").await;
    Setup { backend, app, org }
}

fn chain(name: &str) -> Value {
    json!({
        "name": name,
        "type": "fallback",
        "steps": [
            {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "retries": 2, "timeout_ms": 60000},
            {"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform"}
        ]
    })
}

async fn post(app: &axum::Router, key: &str, body: Value) -> Response {
    call(app, Method::POST, "/v1/policies", Some(key), Some(body)).await
}

async fn put(app: &axum::Router, key: &str, name: &str, body: Value) -> Response {
    let path = format!("/v1/policies/{name}");
    call(app, Method::PUT, &path, Some(key), Some(body)).await
}

async fn get(app: &axum::Router, key: &str, path: &str) -> Response {
    call(app, Method::GET, path, Some(key), None).await
}

async fn explain(app: &axum::Router, key: &str, name: &str, sample: Option<Value>) -> Response {
    let path = format!("/v1/policies/{name}/explain");
    let response = call(app, Method::POST, &path, Some(key), sample).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text);
    response
}

fn created(response: &Response) -> &Value {
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text);
    &response.body
}

async fn crud_round_trip(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = org.admin.as_str();

    let first = post(&app, key, chain("main")).await;
    let body = created(&first);
    assert_eq!(body["name"], "main");
    assert_eq!(body["type"], "fallback");
    assert_eq!(body["version"], 1);
    assert_eq!(body["steps"][0]["model"], "anthropic/claude-sonnet-4-5");
    assert_eq!(body["steps"][0]["retries"], 2);
    assert_eq!(body["steps"][1]["key_source"], "own_then_platform");
    assert_eq!(body["steps"][1]["retries"], 0, "default retries");
    assert_eq!(body["steps"][1]["timeout_ms"], 60000, "default timeout");
    assert_eq!(
        body["fallover_on"],
        json!([
            "timeout",
            "connection_error",
            "rate_limited",
            "server_error",
            "own_key_rejected",
            "platform_key_rejected"
        ])
    );
    assert!(body["deadline_ms"].is_null());
    assert_eq!(body["created_by"]["api_key_id"], org.admin_key_id.as_str());
    assert!(body["created_at"].is_string() && body["updated_at"].is_string());
    assert!(body.get("targets").is_none() && body.get("sticky").is_none());

    let lb = post(
        &app,
        key,
        json!({"name": "spread", "type": "load_balance", "sticky": "trace_id",
               "targets": [{"model": "xai/grok-4", "key_source": "platform", "weight": 3},
                           {"model": "policy/main", "weight": 1}],
               "fallover_on": ["timeout", "server_error"], "deadline_ms": 90000}),
    )
    .await;
    let body = created(&lb);
    assert_eq!(body["sticky"], "trace_id");
    assert_eq!(body["targets"][1]["model"], "policy/main");
    assert_eq!(body["fallover_on"], json!(["timeout", "server_error"]));
    assert_eq!(body["deadline_ms"], 90000);

    let fetched = get(&app, key, "/v1/policies/main").await;
    assert_eq!(fetched.status, StatusCode::OK, "{}", fetched.text);
    assert_eq!(fetched.body, first.body);

    let listed = get(&app, key, "/v1/policies").await;
    assert_eq!(listed.status, StatusCode::OK);
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "spread"]);

    let mut change = chain("main");
    change["steps"][0]["retries"] = json!(5);
    change["deadline_ms"] = json!(120000);
    change["version"] = json!(1);
    let updated = put(&app, key, "main", change).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.body["steps"][0]["retries"], 5);
    assert_eq!(updated.body["deadline_ms"], 120000);
    assert_eq!(updated.body["created_at"], first.body["created_at"]);
    let fetched = get(&app, key, "/v1/policies/main").await;
    assert_eq!(fetched.body["version"], 2);
    assert_eq!(fetched.body["steps"][0]["retries"], 5);

    // Still referenced by `spread`: refuse, then delete both in the right order.
    let refused = call(&app, Method::DELETE, "/v1/policies/main", Some(key), None).await;
    let error = assert_error(&refused, StatusCode::CONFLICT);
    assert!(
        error["message"].as_str().unwrap().contains("policy/spread"),
        "{}",
        refused.text
    );
    for name in ["spread", "main"] {
        let path = format!("/v1/policies/{name}");
        let deleted = call(&app, Method::DELETE, &path, Some(key), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
        assert_error(&get(&app, key, &path).await, StatusCode::NOT_FOUND);
        let again = call(&app, Method::DELETE, &path, Some(key), None).await;
        assert_error(&again, StatusCode::NOT_FOUND);
    }
    let listed = get(&app, key, "/v1/policies").await;
    assert_eq!(listed.body["data"], json!([]));
    let mut missing = chain("ghost");
    missing["version"] = json!(1);
    assert_error(
        &put(&app, key, "ghost", missing).await,
        StatusCode::NOT_FOUND,
    );
}

async fn duplicate_name_conflicts(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    created(&post(&app, &org.admin, chain("main")).await);
    let again = post(&app, &org.admin, chain("main")).await;
    let error = assert_error(&again, StatusCode::CONFLICT);
    assert_eq!(error["param"], "name");
    // Concurrent creates of one name: exactly one wins.
    let attempts =
        futures::future::join_all((0..4).map(|_| post(&app, &org.admin, chain("race")))).await;
    let statuses: Vec<StatusCode> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        3,
        "{statuses:?}"
    );
}

async fn stale_and_concurrent_updates_conflict(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = org.admin.as_str();
    created(&post(&app, key, chain("main")).await);
    let mut change = chain("main");
    change["version"] = json!(1);
    assert_eq!(
        put(&app, key, "main", change.clone()).await.status,
        StatusCode::OK
    );

    // The same version again is stale now.
    let stale = put(&app, key, "main", change.clone()).await;
    let error = assert_error(&stale, StatusCode::CONFLICT);
    assert_eq!(error["param"], "version");
    assert!(error["message"].as_str().unwrap().contains("version 2"));

    // Two writers read version 2 and race: one wins, one gets 409.
    change["version"] = json!(2);
    let (a, b) = tokio::join!(
        put(&app, key, "main", change.clone()),
        put(&app, key, "main", change.clone())
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.text,
        b.text
    );
    let fetched = get(&app, key, "/v1/policies/main").await;
    assert_eq!(fetched.body["version"], 3);

    // Version is required on update, and the body may not rename the policy.
    let mut no_version = chain("main");
    no_version.as_object_mut().unwrap().remove("name");
    let response = put(&app, key, "main", no_version).await;
    let error = assert_error(&response, StatusCode::BAD_REQUEST);
    assert_eq!(error["param"], "version");
    let mut renamed = chain("other");
    renamed["version"] = json!(3);
    let response = put(&app, key, "main", renamed).await;
    let error = assert_error(&response, StatusCode::BAD_REQUEST);
    assert_eq!(error["param"], "name");
}

async fn every_validation_rule_names_the_field(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = org.admin.as_str();
    let step = |model: &str| json!({"model": model});
    let fallback = |steps: Value| json!({"name": "p", "type": "fallback", "steps": steps});
    let lb = |targets: Value| json!({"name": "p", "type": "load_balance", "targets": targets});
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            fallback(json!([step("openai/x"), step("mistral/large")])),
            "steps[1].model",
            "unknown provider",
        ),
        (
            fallback(json!([step("openai/x"), step("openai/bad model")])),
            "steps[1].model",
            "steps[1].model",
        ),
        (
            // A bare name resolves by its family (gpt-4o is openai/gpt-4o); one of no known family does not.
            fallback(json!([step("llama-3.1-70b")])),
            "steps[0].model",
            "<provider>/<model>",
        ),
        (fallback(json!([])), "steps", "empty"),
        (lb(json!([])), "targets", "empty"),
        (
            lb(json!([{"model": "openai/x", "weight": 0}])),
            "targets[0].weight",
            "greater than 0",
        ),
        (
            lb(json!([{"model": "openai/x", "weight": 1}, {"model": "xai/y", "weight": -1}])),
            "targets[1].weight",
            "greater than 0",
        ),
        (
            fallback(json!([{"model": "openai/x", "retries": 11}])),
            "steps[0].retries",
            "0 to 10",
        ),
        (
            fallback(json!([{"model": "openai/x", "retries": -1}])),
            "steps[0].retries",
            "0 to 10",
        ),
        (
            fallback(json!([{"model": "openai/x", "key_source": "borrowed"}])),
            "steps[0].key_source",
            "own_then_platform",
        ),
        (
            fallback(json!([step("openai/x"), step("openai/x")])),
            "steps[1].model",
            "duplicates",
        ),
        (
            lb(json!([{"model": "openai/x", "weight": 1}, {"model": "openai/x", "weight": 2}])),
            "targets[1].model",
            "duplicates",
        ),
        (
            json!({"name": "Not Safe!", "type": "fallback", "steps": [step("openai/x")]}),
            "name",
            "a-z",
        ),
        (
            json!({"name": "a%2Fb", "type": "fallback", "steps": [step("openai/x")]}),
            "name",
            "a-z",
        ),
        (
            json!({"name": "p", "type": "fallback", "steps": [step("openai/x")], "colour": "red"}),
            "colour",
            "unknown field",
        ),
        (
            fallback(json!([{"model": "openai/x", "temperature": 1}])),
            "steps[0].temperature",
            "unknown field",
        ),
        (
            json!({"name": "p", "type": "weighted", "steps": [step("openai/x")]}),
            "type",
            "fallback",
        ),
        (
            json!({"name": "p", "type": "fallback", "steps": [step("openai/x")], "sticky": "user_id"}),
            "sticky",
            "load_balance",
        ),
        (
            json!({"name": "p", "type": "fallback", "steps": [step("openai/x")], "fallover_on": ["invalid_request"]}),
            "fallover_on[0]",
            "timeout",
        ),
        (
            json!({"name": "p", "type": "fallback", "steps": [step("openai/x")], "deadline_ms": 0}),
            "deadline_ms",
            "deadline_ms",
        ),
    ];
    for (body, param, needle) in cases {
        let response = post(&app, key, body.clone()).await;
        let error = assert_error(&response, StatusCode::BAD_REQUEST);
        assert_eq!(error["param"], param, "{body}: {}", response.text);
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(needle), "{body}: {message}");
    }
    let not_json = call(&app, Method::POST, "/v1/policies", Some(key), None).await;
    assert_error(&not_json, StatusCode::BAD_REQUEST);
    // Nothing was saved by any of them.
    assert_eq!(get(&app, key, "/v1/policies").await.body["data"], json!([]));
}

async fn references_must_exist_and_not_cycle(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = org.admin.as_str();

    let dangling = post(
        &app,
        key,
        json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}, {"model": "policy/nowhere"}]}),
    )
    .await;
    let error = assert_error(&dangling, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["param"], "steps[1].model");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("policy/nowhere")
    );

    let selfish = post(
        &app,
        key,
        json!({"name": "me", "type": "fallback", "steps": [{"model": "policy/me"}]}),
    )
    .await;
    let error = assert_error(&selfish, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(error["message"].as_str().unwrap().contains("cycle"));

    // a (plain) <- b <- c ; then pointing a at c closes a cycle a -> c -> b -> a.
    created(
        &post(
            &app,
            key,
            json!({"name": "a", "type": "fallback", "steps": [{"model": "openai/x"}]}),
        )
        .await,
    );
    created(&post(&app, key, json!({"name": "b", "type": "load_balance", "targets": [{"model": "policy/a", "weight": 1}, {"model": "xai/y", "weight": 1}]})).await);
    created(
        &post(
            &app,
            key,
            json!({"name": "c", "type": "fallback", "steps": [{"model": "policy/b"}]}),
        )
        .await,
    );
    let closing = put(
        &app,
        key,
        "a",
        json!({"type": "fallback", "version": 1, "steps": [{"model": "openai/x"}, {"model": "policy/c"}]}),
    )
    .await;
    let error = assert_error(&closing, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["param"], "steps[1].model");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("policy/a -> policy/c -> policy/b -> policy/a"),
        "{message}"
    );
    // The rejected update left `a` as it was.
    let a = get(&app, key, "/v1/policies/a").await;
    assert_eq!(a.body["version"], 1);
    assert_eq!(a.body["steps"].as_array().unwrap().len(), 1);
}

async fn other_orgs_see_404(kind: Backend) {
    let Setup {
        app, org, backend, ..
    } = setup(kind).await;
    created(&post(&app, &org.admin, chain("main")).await);
    let other = fixtures::org(backend.store.as_ref(), "Other").await;
    let key = other.admin.as_str();

    assert_error(
        &get(&app, key, "/v1/policies/main").await,
        StatusCode::NOT_FOUND,
    );
    let mut change = chain("main");
    change["version"] = json!(1);
    assert_error(&put(&app, key, "main", change).await, StatusCode::NOT_FOUND);
    let deleted = call(&app, Method::DELETE, "/v1/policies/main", Some(key), None).await;
    assert_error(&deleted, StatusCode::NOT_FOUND);
    let explained = call(
        &app,
        Method::POST,
        "/v1/policies/main/explain",
        Some(key),
        None,
    )
    .await;
    assert_error(&explained, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, key, "/v1/policies").await.body["data"], json!([]));
    // Another org's policy cannot be referenced either.
    let referencing = post(
        &app,
        key,
        json!({"name": "mine", "type": "fallback", "steps": [{"model": "policy/main"}]}),
    )
    .await;
    assert_error(&referencing, StatusCode::UNPROCESSABLE_ENTITY);
    // The same name is free in the other org, and the first org's policy is untouched.
    created(&post(&app, key, chain("main")).await);
    let original = get(&app, &org.admin, "/v1/policies/main").await;
    assert_eq!(original.body["version"], 1);
    assert_eq!(
        original.body["created_by"]["api_key_id"],
        org.admin_key_id.as_str()
    );
}

async fn permissions_are_enforced(kind: Backend) {
    let Setup {
        app, org, backend, ..
    } = setup(kind).await;
    created(&post(&app, &org.admin, chain("main")).await);
    let store = backend.store.as_ref();
    let reader = fixtures::key(store, &org.org_id, Manage::Read, Completions::None).await;
    let inference = fixtures::key(store, &org.org_id, Manage::None, Completions::Write).await;

    // manage:read reads and explains, but cannot change anything.
    assert_eq!(
        get(&app, &reader, "/v1/policies").await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&app, &reader, "/v1/policies/main").await.status,
        StatusCode::OK
    );
    explain(&app, &reader, "main", None).await;
    assert_error(
        &post(&app, &reader, chain("new")).await,
        StatusCode::FORBIDDEN,
    );
    let mut change = chain("main");
    change["version"] = json!(1);
    assert_error(
        &put(&app, &reader, "main", change.clone()).await,
        StatusCode::FORBIDDEN,
    );
    let deleted = call(
        &app,
        Method::DELETE,
        "/v1/policies/main",
        Some(&reader),
        None,
    )
    .await;
    assert_error(&deleted, StatusCode::FORBIDDEN);

    // A completions-only key may not even read.
    for (method, path) in [
        (Method::GET, "/v1/policies"),
        (Method::GET, "/v1/policies/main"),
        (Method::POST, "/v1/policies/main/explain"),
        (Method::DELETE, "/v1/policies/main"),
    ] {
        let r = call(&app, method.clone(), path, Some(&inference), None).await;
        assert_error(&r, StatusCode::FORBIDDEN);
        // No key, or an unknown one: 401.
        let r = call(&app, method.clone(), path, None, None).await;
        assert_error(&r, StatusCode::UNAUTHORIZED);
        let unknown = format!("bgk_{}", "0".repeat(64));
        let r = call(&app, method, path, Some(&unknown), None).await;
        assert_error(&r, StatusCode::UNAUTHORIZED);
    }
    assert_error(
        &post(&app, &inference, chain("x")).await,
        StatusCode::FORBIDDEN,
    );
    let r = call(&app, Method::POST, "/v1/policies", None, Some(chain("x"))).await;
    assert_error(&r, StatusCode::UNAUTHORIZED);

    // Nothing changed.
    let main = get(&app, &org.admin, "/v1/policies/main").await;
    assert_eq!(main.body["version"], 1);
    assert_eq!(
        get(&app, &org.admin, "/v1/policies").await.body["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn route_summary(response: &Response) -> Vec<(String, String, Value)> {
    response.body["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["model"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
                a["key"].clone(),
            )
        })
        .collect()
}

async fn explain_reflects_stored_keys(kind: Backend) {
    let Setup {
        app, org, backend, ..
    } = setup(kind).await;
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    let key = org.admin.as_str();
    created(
        &post(
            &app,
            key,
            json!({"name": "main", "type": "fallback", "steps": [
                {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "retries": 2},
                {"model": "xai/grok-4", "key_source": "platform"},
                {"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform"}
            ]}),
        )
        .await,
    );
    let secret = Secret::new("sk-test-provider-key-1234");

    // No keys at all: every step is skipped, each saying why.
    let none = explain(&app, key, "main", None).await;
    assert_eq!(
        route_summary(&none),
        [
            (
                "anthropic/claude-sonnet-4-5".into(),
                "skip".into(),
                Value::Null
            ),
            ("xai/grok-4".into(), "skip".into(), Value::Null),
            ("openai/gpt-4.1-mini".into(), "skip".into(), Value::Null),
        ]
    );
    assert_eq!(
        none.body["route"][0]["reasons"],
        json!(["no own key stored for anthropic"])
    );
    assert_eq!(
        none.body["route"][1]["reasons"],
        json!(["no platform key for xai"])
    );
    assert_eq!(
        none.body["route"][2]["reasons"],
        json!(["no own key stored for openai", "no platform key for openai"])
    );
    assert!(none.body["would_use"].is_null());
    assert_eq!(none.body["deterministic"], true);

    // The org stores its Anthropic key; the operator has a platform OpenAI key.
    provider_keys::create(
        store,
        cipher,
        Owner::Org(&org.org_id),
        Provider::Anthropic,
        &secret,
        None,
        None,
    )
    .await
    .unwrap();
    provider_keys::create(
        store,
        cipher,
        Owner::Platform,
        Provider::OpenAi,
        &secret,
        None,
        None,
    )
    .await
    .unwrap();
    let some = explain(&app, key, "main", Some(json!({}))).await;
    assert_eq!(
        route_summary(&some),
        [
            (
                "anthropic/claude-sonnet-4-5".into(),
                "try".into(),
                json!("own")
            ),
            ("xai/grok-4".into(), "skip".into(), Value::Null),
            (
                "openai/gpt-4.1-mini".into(),
                "try".into(),
                json!("platform")
            ),
        ]
    );
    assert_eq!(some.body["route"][0]["retries"], 2);
    assert_eq!(
        some.body["route"][2]["reasons"],
        json!(["no own key stored for openai"])
    );
    assert_eq!(
        some.body["would_use"],
        json!({"model": "anthropic/claude-sonnet-4-5", "key": "own"})
    );

    // The org adds its own OpenAI key (preferred over the platform one); removes its Anthropic key.
    provider_keys::create(
        store,
        cipher,
        Owner::Org(&org.org_id),
        Provider::OpenAi,
        &secret,
        None,
        None,
    )
    .await
    .unwrap();
    provider_keys::delete(store, Owner::Org(&org.org_id), Provider::Anthropic, None)
        .await
        .unwrap();
    let later = explain(&app, key, "main", None).await;
    assert_eq!(
        route_summary(&later),
        [
            (
                "anthropic/claude-sonnet-4-5".into(),
                "skip".into(),
                Value::Null
            ),
            ("xai/grok-4".into(), "skip".into(), Value::Null),
            ("openai/gpt-4.1-mini".into(), "try".into(), json!("own")),
        ]
    );
    assert_eq!(
        later.body["would_use"],
        json!({"model": "openai/gpt-4.1-mini", "key": "own"})
    );

    // Another org's keys never count: its own key does not light up this org's Anthropic step.
    let other = fixtures::org(store, "Other").await;
    provider_keys::create(
        store,
        cipher,
        Owner::Org(&other.org_id),
        Provider::Anthropic,
        &secret,
        None,
        None,
    )
    .await
    .unwrap();
    let still = explain(&app, key, "main", None).await;
    assert_eq!(still.body["route"][0]["action"], "skip");

    // A malformed sample request is a 400.
    let bad = call(
        &app,
        Method::POST,
        "/v1/policies/main/explain",
        Some(key),
        Some(json!({"user": "x"})),
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST);
}

async fn explain_load_balance_is_sticky(kind: Backend) {
    let Setup { app, org, .. } = setup(kind).await;
    let key = org.admin.as_str();
    created(&post(&app, key, json!({"name": "tail", "type": "fallback", "steps": [{"model": "google/gemini-2.5-flash"}]})).await);
    created(
        &post(
            &app,
            key,
            json!({"name": "lb", "type": "load_balance", "sticky": "user_id", "targets": [
                {"model": "openai/a", "weight": 1},
                {"model": "anthropic/b", "weight": 1},
                {"model": "xai/c", "weight": 1},
                {"model": "policy/tail", "weight": 1}
            ]}),
        )
        .await,
    );
    let order =
        |r: &Response| -> Vec<String> { route_summary(r).into_iter().map(|s| s.0).collect() };

    let mut firsts = std::collections::BTreeSet::new();
    for user in ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"] {
        let sample = json!({"user_id": user, "trace_id": "ignored"});
        let one = explain(&app, key, "lb", Some(sample.clone())).await;
        assert_eq!(one.body["deterministic"], true);
        let two = explain(&app, key, "lb", Some(sample)).await;
        assert_eq!(order(&one), order(&two), "sticky by user_id");
        let mut sorted = order(&one);
        sorted.sort();
        assert_eq!(
            sorted,
            [
                "anthropic/b",
                "google/gemini-2.5-flash",
                "openai/a",
                "xai/c"
            ]
        );
        let nested = one.body["route"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["model"] == "google/gemini-2.5-flash")
            .unwrap()
            .clone();
        assert_eq!(nested["via"], json!(["lb", "tail"]));
        firsts.insert(order(&one)[0].clone());
    }
    assert!(
        firsts.len() > 1,
        "different users spread over targets: {firsts:?}"
    );
    let unsticky = explain(&app, key, "lb", None).await;
    assert_eq!(unsticky.body["deterministic"], false);
}
