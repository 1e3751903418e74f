//! `Idempotency-Key` bound to the request: a key reused with another body is refused rather than replaying
//! an answer to a different question, and a key whose answer could not be stored is released rather than
//! left "in progress" until it expires.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use axum::http::StatusCode;
use byok_mock_providers::{Kind, MockProvider};
use byok_shared::config::Config;
use byok_shared::domain::provider::Provider;
use byok_shared::store::{Counters, Item, Page, Store, StoreError, WriteOp};
use byok_testkit::http::{Response, assert_error, send};
use byok_testkit::{Backend, TestBackend, fixtures};
use common::*;
use serde_json::{Value, json};

fn chat(text: &str) -> Value {
    json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": text}]})
}

async fn with_key(app: &axum::Router, admin: &str, key: &str, body: &Value) -> Response {
    let request = axum::http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    send(app, request).await
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_not_replayed() {
    for backend in [Backend::Embedded, Backend::Aws] {
        let g = gateway(backend, &[Provider::OpenAi], &[]).await;
        let first = with_key(&g.app, &g.org.admin, "order-7", &chat("Hi")).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text);
        let other = with_key(&g.app, &g.org.admin, "order-7", &chat("Something else")).await;
        let error = assert_error(&other, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(error["param"], "Idempotency-Key");
        let again = with_key(&g.app, &g.org.admin, "order-7", &chat("Hi")).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.headers["idempotent-replayed"], "true");
        assert_eq!(g.openai.requests().len(), 1, "{backend:?}");
    }
}

/// A store whose idempotency-result writes fail (the claim itself succeeds).
struct FailingResultWrites {
    inner: Arc<dyn Store>,
    fail: AtomicBool,
}

#[async_trait]
impl Store for FailingResultWrites {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk).await
    }
    async fn put(&self, item: &Item) -> Result<(), StoreError> {
        if item.sk.starts_with("IDEM#") && self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected".into()));
        }
        self.inner.put(item).await
    }
    async fn put_if_absent(&self, item: &Item) -> Result<(), StoreError> {
        self.inner.put_if_absent(item).await
    }
    async fn put_if_version(&self, item: &Item, expected: u64) -> Result<(), StoreError> {
        self.inner.put_if_version(item, expected).await
    }
    async fn delete(&self, pk: &str, sk: &str, expected: Option<u64>) -> Result<(), StoreError> {
        self.inner.delete(pk, sk, expected).await
    }
    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        self.inner.query(pk, sk_prefix, limit, cursor).await
    }
    async fn add(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.inner.add(pk, sk, deltas).await
    }
    async fn add_expiring(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: i64,
    ) -> Result<Counters, StoreError> {
        self.inner.add_expiring(pk, sk, deltas, expires_at).await
    }

    async fn transact(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        self.inner.transact(ops).await
    }
}

#[tokio::test]
async fn a_key_whose_answer_could_not_be_stored_is_released() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let mock = MockProvider::start(Kind::OpenAi).await;
    let store = Arc::new(FailingResultWrites {
        inner: backend.store.clone(),
        fail: AtomicBool::new(true),
    });
    let mut config = Config::local(backend.dir.path().to_path_buf()).unwrap();
    config.providers.openai = mock.base_url();
    let state = byok_shared::AppState::new(config, store.clone(), backend.cipher.clone());
    let org = fixtures::org(store.as_ref(), "Acme").await;
    fixtures::own_key(
        store.as_ref(),
        backend.cipher.as_ref(),
        &org.org_id,
        Provider::OpenAi,
        "own-openai-1111",
    )
    .await;
    let app = byok_router::router(state);
    let first = with_key(&app, &org.admin, "order-9", &chat("Hi")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    store.fail.store(false, Ordering::SeqCst);
    let retry = with_key(&app, &org.admin, "order-9", &chat("Hi")).await;
    assert_eq!(
        retry.status,
        StatusCode::OK,
        "the key stayed in progress: {}",
        retry.text
    );
    assert!(retry.headers.get("idempotent-replayed").is_none());
    assert_eq!(mock.requests().len(), 2);
}
