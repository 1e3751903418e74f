//! KMS (moto) unavailable. The gateway's KMS client goes through a TCP gate in front of the suite's moto;
//! closing the gate makes KMS unreachable (connections cut and refused) while moto keeps its keys, so
//! opening it again restores the same KMS.
//!
//! How the platform key stays decryptable while KMS is down, honestly: both keys are encrypted with the same
//! KMS key, as deployed. The platform key is decrypted once (one request through a platform-only policy)
//! while KMS is up, so it sits in the hot-path cache, as it does on any warm instance; the org's own key has
//! never been used, so its cache is cold and needs KMS. With KMS down, `own_then_platform` must then skip
//! the own key (`key_unavailable`) and serve with the platform key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use byok_mock_providers::{Kind, MockProvider};
use byok_shared::AppState;
use byok_shared::cipher::kms::KmsCipher;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::platform_keys;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::faults::{Gate, kms_client_at};
use byok_testkit::http::{Response, assert_error, call};
use byok_testkit::{Backend, TestBackend, backends, fixtures};
use serde_json::{Value, json};

const OWN: &str = "sk-own-openai-kms-fault-1111";
const PLATFORM: &str = "sk-platform-openai-kms-fault-2222";
const AWS_TIMEOUT: Duration = Duration::from_millis(1500);
const BOUND: Duration = Duration::from_millis(3000);

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

fn last_key_seen(mock: &MockProvider) -> String {
    let requests = mock.requests();
    let last = requests.last().expect("the mock was called");
    last.header("authorization")
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kms_outage_gives_503_on_create_and_falls_over_to_the_platform_key() {
    let backend = TestBackend::new(Backend::Aws).await;
    let moto = std::env::var("BYOK_TEST_KMS_ENDPOINT").expect("run with scripts/test");
    let gate = Gate::start(moto.trim_start_matches("http://")).await;
    let key_id = backends::kms_key(&backends::kms_client().await).await;
    let openai = MockProvider::start(Kind::OpenAi).await;
    let mut timeouts_from = byok_shared::config::Config::local(backend.dir.path().into()).unwrap();
    timeouts_from.aws_timeout = AWS_TIMEOUT;
    let kms = kms_client_at(&gate.url(), timeouts_from.aws_timeouts()).await;
    let cipher = Arc::new(KmsCipher::new(kms, key_id));

    let store = backend.store.as_ref();
    let org = fixtures::org(store, "KmsFault").await;
    let owner = Owner::Org(&org.org_id);
    provider_keys::create(
        store,
        cipher.as_ref(),
        owner,
        Provider::OpenAi,
        &Secret::new(OWN),
        None,
        None,
    )
    .await
    .expect("own key");
    platform_keys::set(
        store,
        cipher.as_ref(),
        Provider::OpenAi,
        &Secret::new(PLATFORM),
    )
    .await
    .expect("platform key");
    let state = AppState::new(
        {
            let mut c = timeouts_from.clone();
            c.providers.openai = openai.base_url();
            c.cache_ttl = Duration::from_secs(600);
            // This operator lends its platform keys (the fallback under test).
            c.platform_keys_default = true;
            c
        },
        backend.store.clone(),
        cipher,
    );
    let app = byok_cli::server::app(state);
    let send = |method: Method, path: &'static str, body: Option<Value>| {
        let (app, admin) = (app.clone(), org.admin.clone());
        async move {
            let started = Instant::now();
            let r: Response = call(&app, method, path, Some(&admin), body).await;
            (r, started.elapsed())
        }
    };
    for doc in [
        json!({"name": "platform-only", "type": "fallback",
            "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "platform", "retries": 0}]}),
        json!({"name": "own-first", "type": "fallback",
            "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform", "retries": 0}]}),
    ] {
        let (r, _) = send(Method::POST, "/v1/policies", Some(doc)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    // Warm the platform key only.
    let (r, _) = send(
        Method::POST,
        "/v1/chat/completions",
        Some(chat("policy/platform-only")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(last_key_seen(&openai), PLATFORM);

    gate.close();

    // Creating (encrypting) a key: 503 in the error shape, quickly, and nothing stored.
    let (r, took) = send(
        Method::POST,
        "/v1/byok",
        Some(json!({"provider": "anthropic", "api_key": "sk-ant-kms-fault-0123456789"})),
    )
    .await;
    let error = assert_error(&r, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error["code"], "unavailable", "{}", r.text);
    assert!(took < BOUND, "create took {took:?} with KMS down");
    let (r, _) = send(Method::GET, "/v1/byok/anthropic", None).await;
    let error = assert_error(&r, StatusCode::NOT_FOUND);
    assert_eq!(error["message"], "no anthropic key is stored", "{}", r.text);
    // Rotating too, and the stored key is unchanged.
    let before = store
        .get(&format!("ORG#{}", org.org_id), "BYOK#openai")
        .await
        .unwrap()
        .unwrap();
    let (r, took) = send(
        Method::PUT,
        "/v1/byok/openai",
        Some(json!({"api_key": "sk-rotated-during-outage-0123"})),
    )
    .await;
    assert_error(&r, StatusCode::SERVICE_UNAVAILABLE);
    assert!(took < BOUND, "rotate took {took:?} with KMS down");
    let after = store
        .get(&format!("ORG#{}", org.org_id), "BYOK#openai")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after, "a failed rotation changed the stored key");

    // own_then_platform: the own key cannot be decrypted, the platform key (warm) serves.
    for model in ["policy/own-first", "openai/gpt-4.1-mini"] {
        let (r, took) = send(Method::POST, "/v1/chat/completions", Some(chat(model))).await;
        assert_eq!(r.status, StatusCode::OK, "{model}: {}", r.text);
        assert_eq!(r.headers["x-byok-key-source"], "platform", "{model}");
        let tried = r.headers["x-byok-attempts"].to_str().unwrap();
        assert!(
            tried.contains("key=own;outcome=skipped_key_unavailable"),
            "{model}: {tried}"
        );
        assert_eq!(last_key_seen(&openai), PLATFORM, "{model}");
        assert!(took < BOUND, "{model} took {took:?}");
    }

    // KMS back: the own key is used again (the failure was not cached) and keys can be created.
    gate.open();
    let (r, _) = send(
        Method::POST,
        "/v1/chat/completions",
        Some(chat("policy/own-first")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "own", "{}", r.text);
    assert_eq!(last_key_seen(&openai), OWN);
    let (r, _) = send(
        Method::POST,
        "/v1/byok",
        Some(json!({"provider": "anthropic", "api_key": "sk-ant-kms-fault-0123456789"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}
