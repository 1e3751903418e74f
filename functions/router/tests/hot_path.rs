//! What a warm request asks of the store and the cipher before the provider call (nothing), and what
//! happens when the client goes away mid-stream (the upstream is read on for its usage, which is billed).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::{Method, Request, StatusCode};
use byok_mock_providers::{Kind, MockProvider};
use byok_shared::AppState;
use byok_shared::cipher::{Cipher, CipherError, EncryptionContext};
use byok_shared::config::Config;
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::Resolution;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_shared::secret::Secret;
use byok_testkit::counting::CountingStore;
use byok_testkit::http::call;
use byok_testkit::{Backend, TestBackend, fixtures};
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

struct CountingCipher {
    inner: Arc<dyn Cipher>,
    decrypts: AtomicUsize,
}

#[async_trait]
impl Cipher for CountingCipher {
    async fn encrypt(
        &self,
        plaintext: &Secret,
        context: &EncryptionContext,
    ) -> Result<Vec<u8>, CipherError> {
        self.inner.encrypt(plaintext, context).await
    }

    async fn decrypt(
        &self,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Secret, CipherError> {
        self.decrypts.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt(ciphertext, context).await
    }
}

struct Setup {
    _backend: TestBackend,
    mock: MockProvider,
    state: AppState,
    store: Arc<CountingStore>,
    cipher: Arc<CountingCipher>,
    org_id: String,
    app_key: String,
}

async fn setup() -> Setup {
    let backend = TestBackend::new(Backend::Embedded).await;
    let mock = MockProvider::start(Kind::OpenAi).await;
    let store = Arc::new(CountingStore::new(backend.store.clone()));
    let cipher = Arc::new(CountingCipher {
        inner: backend.cipher.clone(),
        decrypts: AtomicUsize::new(0),
    });
    let mut config = Config::local(backend.dir.path().to_path_buf()).unwrap();
    config.providers.openai = mock.base_url();
    let state = AppState::new(config, store.clone(), cipher.clone());
    let org = fixtures::org(store.as_ref(), "Acme").await;
    // The key below has a limit, so every model it calls needs a price: the mock's scripted model names
    // (`gpt-4.1-mini-chunkdelay-400`) are covered by the operator's default price.
    let default = byok_shared::domain::price::Price {
        input: 0.4,
        output: 1.6,
        cache_read: None,
        cache_write: None,
        per_request: 0.0,
    };
    byok_shared::repo::prices::update(store.as_ref(), |t| t.set_default(Some(default)))
        .await
        .unwrap();
    fixtures::own_key(
        store.as_ref(),
        cipher.as_ref(),
        &org.org_id,
        Provider::OpenAi,
        "own-openai-1111",
    )
    .await;
    let new = NewKey {
        name: "app".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: 100.0,
        allowed_models: Vec::new(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let (_, secret) = apikeys::create(store.as_ref(), &org.org_id, new, None)
        .await
        .unwrap();
    let policy =
        json!({"name": "main", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini"}]});
    let policies = byok_policies::router(state.clone());
    assert_eq!(
        call(
            &policies,
            Method::POST,
            "/v1/policies",
            Some(&org.admin),
            Some(policy)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    Setup {
        _backend: backend,
        mock,
        state,
        store,
        cipher,
        org_id: org.org_id,
        app_key: secret.expose().to_owned(),
    }
}

#[tokio::test]
async fn a_warm_request_reads_nothing_before_the_provider_call() {
    let s = setup().await;
    let app = byok_router::router(s.state.clone());
    let body = json!({"model": "policy/main", "messages": [{"role": "user", "content": "Hi"}]});
    let cold = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(&s.app_key),
        Some(body.clone()),
    )
    .await;
    assert_eq!(cold.status, StatusCode::OK, "{}", cold.text);
    let (cold_reads, _) = s.store.take();
    assert!(
        cold_reads > 0,
        "the cold request loads key, policy, provider key and spend"
    );
    assert_eq!(s.cipher.decrypts.swap(0, Ordering::SeqCst), 1);

    let warm = call(
        &app,
        Method::POST,
        "/v1/chat/completions",
        Some(&s.app_key),
        Some(body),
    )
    .await;
    assert_eq!(warm.status, StatusCode::OK, "{}", warm.text);
    let (reads, writes) = s.store.take();
    assert_eq!(reads, 0, "a warm request read the store");
    assert_eq!(
        writes, 4,
        "usage bucket, key spend and org spend, as atomic adds, and the request log record"
    );
    assert_eq!(
        s.cipher.decrypts.load(Ordering::SeqCst),
        0,
        "a warm request called the cipher (KMS)"
    );
}

/// Post a streaming request, read its first frame, and go away.
async fn abandon(s: &Setup, model: &str) {
    let app = byok_router::router(s.state.clone());
    let body = json!({"model": model, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    let request = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {}", s.app_key))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let first = body.frame().await.expect("a first frame").unwrap();
    assert!(first.data_ref().is_some());
    drop(body); // the client disconnects
}

/// The usage row the abandoned stream left, once it is there: (requests, errors, input, output, cost).
async fn abandoned_usage(s: &Setup) -> (i64, i64, i64, i64, f64) {
    let now = chrono::Utc::now();
    let q = UsageQuery {
        start: now - chrono::Duration::hours(1),
        end: now + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &[],
        api_key_id: None,
    };
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows = usage::query(s.store.as_ref(), &s.org_id, &q).await.unwrap();
        if let Some(r) = rows.first() {
            return (
                r.requests,
                r.errors,
                r.input_tokens,
                r.output_tokens,
                r.cost,
            );
        }
    }
    panic!("the abandoned stream was never billed");
}

/// The client reads the first chunk and leaves; the provider goes on generating, and bills the operator
/// for it. The gateway reads the rest of the upstream in the background for the provider's usage and
/// bills that (once, as an error: the client did not get the answer), not $0.
#[tokio::test]
async fn an_abandoned_stream_is_billed_the_providers_usage() {
    let s = setup().await;
    abandon(&s, "openai/gpt-4.1-mini-chunkdelay-150").await;
    let (requests, errors, input, output, cost) = abandoned_usage(&s).await;
    assert_eq!((requests, errors), (1, 1), "recorded once, as an error");
    // The mock's usage: 12 input tokens, one output token per word of its answer.
    assert_eq!((input, output), (12, 4), "the provider's own usage");
    assert!(cost > 0.0, "an abandoned stream was billed {cost}");
}

/// When the provider's usage never comes (the upstream breaks after the client left), the stream is
/// billed what it carried: the streamed text's tokens as output, the request's estimate as input.
#[tokio::test]
async fn an_abandoned_stream_without_usage_is_billed_what_was_streamed() {
    let s = setup().await;
    abandon(&s, "openai/gpt-4.1-mini-chunkdelay-150-cut-3").await;
    let (requests, errors, input, output, cost) = abandoned_usage(&s).await;
    assert_eq!((requests, errors), (1, 1));
    assert!(input > 0 && output > 0, "input {input}, output {output}");
    assert!(cost > 0.0, "billed {cost}");
}

/// A stream's upstream connection goes back to the pool when the provider's answer is complete, so the
/// next request does not pay a new TCP (on the internet, TLS) handshake.
#[tokio::test]
async fn sequential_streams_reuse_one_upstream_connection() {
    let s = setup().await;
    let app = byok_router::router(s.state.clone());
    // Chunks 5 ms apart, as a provider sends them: the body's end arrives after the terminator event.
    let body = json!({"model": "openai/gpt-4.1-mini-chunkdelay-5", "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]});
    let mut before = None;
    for _ in 0..4 {
        let r = call(
            &app,
            Method::POST,
            "/v1/chat/completions",
            Some(&s.app_key),
            Some(body.clone()),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(r.text.contains("[DONE]"), "{}", r.text);
        before.get_or_insert(s.mock.connections());
    }
    assert_eq!(
        s.mock.connections(),
        before.unwrap(),
        "later streams opened new upstream connections"
    );
}
