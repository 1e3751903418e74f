//! Where `byok serve` and a Lambda function write usage, on a store whose counter writes take 300 ms:
//! serve answers first and writes behind the response, yet its usage reads wait for those writes; the
//! Lambda default (inline) has written everything when the response is built.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use byok_mock_providers::{Kind, MockProvider};
use byok_shared::AppState;
use byok_shared::config::Config;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::usage::{self, UsageQuery};
use byok_testkit::backends::{Backend, TestBackend};
use byok_testkit::counting::CountingStore;
use byok_testkit::fixtures;
use byok_testkit::http::call;
use serde_json::json;

const SLOW_ADD: Duration = Duration::from_millis(300);

struct Setup {
    _backend: TestBackend,
    _mock: MockProvider,
    state: AppState,
    org_id: String,
    admin: String,
}

async fn setup(behind_response: bool) -> Setup {
    let backend = TestBackend::new(Backend::Embedded).await;
    let mock = MockProvider::start(Kind::OpenAi).await;
    let store = Arc::new(CountingStore::new(backend.store.clone()).with_add_delay(SLOW_ADD));
    let mut config = Config::local(backend.dir.path().to_path_buf()).unwrap();
    config.providers.openai = mock.base_url();
    config.usage_behind_response = behind_response;
    let state = AppState::new(config, store.clone(), backend.cipher.clone());
    let org = fixtures::org(store.as_ref(), "Acme").await;
    fixtures::own_key(
        store.as_ref(),
        backend.cipher.as_ref(),
        &org.org_id,
        Provider::OpenAi,
        "own-openai-1111",
    )
    .await;
    Setup {
        _backend: backend,
        _mock: mock,
        state,
        org_id: org.org_id,
        admin: org.admin,
    }
}

/// Requests this month as the store holds them now (no waiting for writes in flight).
async fn stored_requests(s: &Setup) -> i64 {
    let now = chrono::Utc::now();
    let query = UsageQuery {
        start: now - chrono::Duration::days(1),
        end: now + chrono::Duration::hours(1),
        resolution: Default::default(),
        group_by: &[],
        api_key_id: None,
    };
    let rows = usage::query(s.state.store(), &s.org_id, &query)
        .await
        .unwrap();
    rows.iter().map(|r| r.requests).sum()
}

async fn chat(app: &axum::Router, key: &str) {
    let body =
        json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]});
    let r = call(
        app,
        Method::POST,
        "/v1/chat/completions",
        Some(key),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn serve_answers_before_the_usage_write_and_its_usage_reads_wait_for_it() {
    let s = setup(true).await;
    let app = byok_cli::server::app(s.state.clone());
    for _ in 0..3 {
        chat(&app, &s.admin).await;
    }
    assert_eq!(
        stored_requests(&s).await,
        0,
        "the answers came before the (slow) usage writes"
    );
    let start = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let r = call(
        &app,
        Method::GET,
        &format!("/v1/manage/org/usage?start={start}"),
        Some(&s.admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let served: i64 = r.body["usage"]
        .as_object()
        .unwrap()
        .values()
        .map(|entry| entry["requests"].as_i64().unwrap())
        .sum();
    assert_eq!(served, 3, "the usage read waited for the writes in flight");
    assert_eq!(stored_requests(&s).await, 3);
}

#[tokio::test]
async fn lambda_default_writes_usage_before_the_response() {
    let s = setup(false).await;
    let app = byok_router::router(s.state.clone());
    chat(&app, &s.admin).await;
    assert_eq!(stored_requests(&s).await, 1);
}
