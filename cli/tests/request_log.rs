//! The request log end to end, on both backends and in both write modes (`byok serve`: behind the
//! response; Lambda: inside the request): every kind of request (served, streamed, failed, fallen over,
//! refused for the spend limit, the key's rate limit, an unpriced model, a permission, a body that is not
//! JSON) is recorded exactly once under the `x-request-id` it was answered with; the list's filters, pages
//! and NDJSON export; org isolation; payload capture encrypted and bound to its org and request, streams'
//! too (the SSE text sent, cut at the cap, and what an abandoned stream sent).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use byok_mock_providers::{Behaviour, Kind, MockProvider};
use byok_shared::AppState;
use byok_shared::domain::permissions::{Completions, Manage, Permissions};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::rate_limit::RateLimits;
use byok_shared::domain::request_log::PAYLOAD_CAP;
use byok_shared::repo::apikeys::{self, NewKey};
use byok_shared::repo::{logs, platform_keys};
use byok_shared::secret::Secret;
use byok_testkit::http::{Response, call, send};
use byok_testkit::{Backend, TestBackend, fixtures};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `byok serve`: log writes behind the response, management reads wait for them.
    Serve,
    /// Lambda: the router and manage functions as separate routers, writes inside the request.
    Lambda,
}

struct Setup {
    backend: TestBackend,
    openai: MockProvider,
    anthropic: MockProvider,
    _state: AppState,
    /// Where inference goes.
    router: Router,
    /// Where management goes.
    manage: Router,
    org: fixtures::TestOrg,
}

async fn setup(kind: Backend, mode: Mode) -> Setup {
    setup_with(kind, mode, true).await
}

/// `request_log`: the operator's `BYOK_REQUEST_LOG` switch.
async fn setup_with(kind: Backend, mode: Mode, request_log: bool) -> Setup {
    let backend = TestBackend::new(kind).await;
    let openai = MockProvider::start(Kind::OpenAi).await;
    let anthropic = MockProvider::start(Kind::Anthropic).await;
    let state = backend.state(|c| {
        c.providers.openai = openai.base_url();
        c.providers.anthropic = anthropic.base_url();
        c.usage_behind_response = matches!(mode, Mode::Serve);
        c.request_log = request_log;
    });
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    let org = fixtures::org(store, "Acme").await;
    fixtures::own_key(
        store,
        cipher,
        &org.org_id,
        Provider::OpenAi,
        "own-openai-1111",
    )
    .await;
    platform_keys::set(
        store,
        cipher,
        Provider::Anthropic,
        &Secret::new("platform-anthropic-2222"),
    )
    .await
    .unwrap();
    let (router, manage) = match mode {
        Mode::Serve => {
            let app = byok_cli::server::app(state.clone());
            (app.clone(), app)
        }
        Mode::Lambda => {
            let gateway = byok_router::Gateway::new(state.clone());
            state.connect(gateway.colocated());
            let routes = utoipa_axum::router::OpenApiRouter::default()
                .merge(byok_router::routes().with_state(gateway))
                .merge(byok_policies::routes());
            (
                byok_shared::http::finish(routes.into(), state.clone()),
                byok_manage::router(state.clone()),
            )
        }
    };
    Setup {
        backend,
        openai,
        anthropic,
        _state: state,
        router,
        manage,
        org,
    }
}

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

fn request_id(r: &Response) -> String {
    let id = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    id
}

async fn key(s: &Setup, limit: f64, allowed: &[&str], logging: bool) -> (String, String) {
    key_with(s, limit, allowed, logging, RateLimits::default()).await
}

async fn key_with(
    s: &Setup,
    limit: f64,
    allowed: &[&str],
    logging: bool,
    rate_limits: RateLimits,
) -> (String, String) {
    let new = NewKey {
        name: "app".into(),
        permissions: Permissions {
            manage: Manage::None,
            completions: Completions::Write,
        },
        monthly_limit: limit,
        allowed_models: allowed.iter().map(|m| m.to_string()).collect(),
        expires_at: None,
        labels: Default::default(),
        default_model: None,
        logging,
        rate_limits,
        auto_cache: None,
    };
    let (key, secret) = apikeys::create(s.backend.store.as_ref(), &s.org.org_id, new, None)
        .await
        .unwrap();
    (key.api_key_id, secret.expose().to_owned())
}

async fn post(s: &Setup, key: &str, body: Value) -> Response {
    post_to(s, "/v1/chat/completions", key, body).await
}

async fn post_to(s: &Setup, path: &str, key: &str, body: Value) -> Response {
    call(&s.router, Method::POST, path, Some(key), Some(body)).await
}

async fn get(s: &Setup, key: &str, path: &str) -> Response {
    call(&s.manage, Method::GET, path, Some(key), None).await
}

/// Every record the list returns for `query`, page by page with `limit`.
async fn all(s: &Setup, key: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut path = format!("/v1/manage/logs?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = get(s, key, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        assert_eq!(r.body["object"], "list");
        let page = r.body["data"].as_array().unwrap();
        assert!(page.len() <= limit);
        out.extend(page.iter().cloned());
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
    panic!("more than 100 pages");
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["request_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every kind of request, each answered with its own request id, each recorded once with what happened.
async fn every_request_is_recorded_exactly_once(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let admin = s.org.admin.clone();
    let mut made = Vec::new();

    // Served, with metadata. A client's own x-request-id is not taken.
    let mut served = chat("openai/gpt-4.1-mini");
    served["byok"] = json!({"trace_id": "trace-1", "user_id": "user-1", "tags": ["blue"]});
    let request = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .header("x-request-id", "client-chosen-id")
        .header("x-title", "Billing app")
        .body(Body::from(served.to_string()))
        .unwrap();
    let r = send(&s.router, request).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let served_id = request_id(&r);
    made.push(served_id.clone());

    // Streamed.
    let mut body = chat("openai/gpt-4.1-mini");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let r = post(&s, &admin, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let stream_id = request_id(&r);
    made.push(stream_id.clone());

    // Failed: the provider refuses the request itself (no fallover, one attempt).
    s.openai.script(Behaviour::status(400));
    let r = post(&s, &admin, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let failed_id = request_id(&r);
    made.push(failed_id.clone());

    // Fallen over: own OpenAI fails with 500, the platform's Anthropic answers.
    let policy = json!({"name": "fo", "type": "fallback", "steps": [
        {"model": "openai/gpt-4.1-mini", "key_source": "own", "retries": 0},
        {"model": "anthropic/claude-sonnet-4-5", "key_source": "platform", "retries": 0}]});
    let r = call(
        &s.router,
        Method::POST,
        "/v1/policies",
        Some(&admin),
        Some(policy),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    s.openai.script(Behaviour::status(500));
    let r = post(&s, &admin, chat("policy/fo")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let fallover_id = request_id(&r);
    made.push(fallover_id.clone());

    // Refused: spend limit (a key with a tiny limit: its request's reserved estimate does not fit).
    let (limited_id, limited) = key(&s, 0.000_001, &[], false).await;
    let r = post(&s, &limited, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED, "{}", r.text);
    let limit_id = request_id(&r);
    made.push(limit_id.clone());

    // Refused: an unpriced model the platform key would pay for.
    let r = post(&s, &admin, chat("anthropic/claude-unpriced-9")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let unpriced_id = request_id(&r);
    made.push(unpriced_id.clone());

    // Refused: a model the key may not use.
    let (_, narrow) = key(&s, 0.0, &["anthropic/*"], false).await;
    let r = post(&s, &narrow, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let forbidden_id = request_id(&r);
    made.push(forbidden_id.clone());

    // Refused: a body that is not JSON.
    let request = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let r = send(&s.router, request).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let garbage_id = request_id(&r);
    made.push(garbage_id.clone());

    // Not authenticated: no org to record it under, but still an id.
    let r = post(&s, "bgk_nope", chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    request_id(&r);

    // Exactly once each, newest first, whatever the page size.
    let mut expected = made.clone();
    expected.reverse();
    for limit in [200, 3, 1] {
        assert_eq!(
            ids(&all(&s, &admin, "", limit).await),
            expected,
            "limit {limit}"
        );
    }
    let records = all(&s, &admin, "", 200).await;
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r["request_id"] == id)
            .unwrap()
            .clone()
    };

    let r = by_id(&served_id);
    assert_eq!(r["status"], 200);
    assert_eq!(r["endpoint"], "/v1/chat/completions");
    assert_eq!(r["model_requested"], "openai/gpt-4.1-mini");
    assert_eq!(r["model_used"], "openai/gpt-4.1-mini");
    assert_eq!(r["provider_used"], "openai");
    assert_eq!(r["key_source"], "own");
    assert_eq!(
        (r["trace_id"].clone(), r["user_id"].clone()),
        (json!("trace-1"), json!("user-1"))
    );
    assert_eq!(r["tags"], json!(["blue"]));
    assert_eq!(r["origin"], "Billing app");
    assert_eq!(r["api_key_id"], s.org.admin_key_id.as_str());
    assert!(r["tokens"]["input"].as_u64().unwrap() > 0, "{r}");
    assert!(r["cost"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(r["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(r["attempts"][0]["outcome"], "ok");
    assert_eq!(r["attempts"][0]["status"], 200);
    assert!(r["error_type"].is_null());
    assert!(r["ttft_ms"].is_null());

    let r = by_id(&stream_id);
    assert_eq!(
        (r["stream"].clone(), r["status"].clone()),
        (json!(true), json!(200))
    );
    assert!(r["ttft_ms"].as_u64().is_some(), "{r}");
    assert!(r["ttft_ms"].as_u64() <= r["latency_ms"].as_u64(), "{r}");
    assert!(r["tokens"]["output"].as_u64().unwrap() > 0, "{r}");
    assert!(r["error_type"].is_null(), "{r}");

    let r = by_id(&failed_id);
    assert_eq!(r["status"], 400);
    assert_eq!(r["attempts"][0]["outcome"], "http_400");
    assert_eq!(r["attempts"][0]["status"], 400);

    let r = by_id(&fallover_id);
    assert_eq!(r["policy"], "fo");
    assert_eq!(r["model_requested"], "policy/fo");
    assert_eq!(r["model_used"], "anthropic/claude-sonnet-4-5");
    assert_eq!(r["key_source"], "platform");
    let tried: Vec<(Value, Value, Value)> = r["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["model"].clone(),
                a["key_source"].clone(),
                a["outcome"].clone(),
            )
        })
        .collect();
    assert_eq!(
        tried,
        [
            (
                json!("openai/gpt-4.1-mini"),
                json!("own"),
                json!("http_500")
            ),
            (
                json!("anthropic/claude-sonnet-4-5"),
                json!("platform"),
                json!("ok")
            ),
        ]
    );

    let r = by_id(&limit_id);
    assert_eq!(
        (r["status"].clone(), r["error_code"].clone()),
        (json!(412), json!("monthly_limit_reached"))
    );
    assert_eq!(r["api_key_id"], limited_id.as_str());
    assert!(r["attempts"].as_array().unwrap().is_empty());
    let r = by_id(&unpriced_id);
    assert_eq!(
        (r["status"].clone(), r["error_code"].clone()),
        (json!(400), json!("model_not_priced"))
    );
    let r = by_id(&forbidden_id);
    assert_eq!(
        (r["status"].clone(), r["error_type"].clone()),
        (json!(403), json!("permission_error"))
    );
    let r = by_id(&garbage_id);
    assert_eq!(r["status"], 400);
    assert!(r["model_requested"].is_null());

    // The detail answers the same record.
    let r = get(&s, &admin, &format!("/v1/manage/logs/{fallover_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["attempts"], by_id(&fallover_id)["attempts"]);
    assert!(r.body["payload"].is_null());

    // Filters.
    let only = |query: &'static str| {
        let s = &s;
        let admin = admin.clone();
        async move { ids(&all(s, &admin, query, 200).await) }
    };
    assert_eq!(only("trace_id=trace-1").await, [served_id.as_str()]);
    assert_eq!(only("user_id=user-1&tag=blue").await, [served_id.as_str()]);
    assert_eq!(only("key_source=platform").await, [fallover_id.as_str()]);
    assert_eq!(only("model=policy/fo").await, [fallover_id.as_str()]);
    assert_eq!(only("provider=anthropic").await, [fallover_id.as_str()]);
    assert_eq!(
        only("status_class=4xx").await,
        [
            garbage_id.clone(),
            forbidden_id.clone(),
            unpriced_id.clone(),
            limit_id.clone(),
            failed_id.clone()
        ]
    );
    assert!(only("status_class=5xx").await.is_empty());
    assert_eq!(
        ids(&all(&s, &admin, &format!("api_key_id={limited_id}"), 200).await).len(),
        1
    );
    assert!(only("min_cost=1000").await.is_empty());
    assert_eq!(only("min_latency_ms=0").await.len(), made.len());
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    assert!(ids(&all(&s, &admin, &format!("start={future}"), 200).await).is_empty());
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    assert!(ids(&all(&s, &admin, &format!("end={past}"), 200).await).is_empty());
    assert_eq!(
        ids(&all(&s, &admin, &format!("start={past}&end={future}"), 2).await),
        expected
    );

    // Bad input is a 400 naming the parameter.
    for (query, param) in [
        ("limit=201", Some("limit")),
        ("limit=0", Some("limit")),
        ("cursor=bm90LWEta2V5", Some("cursor")),
        ("status_class=3xx", None),
        ("min_cost=-1", Some("min_cost")),
        ("surprise=1", None),
    ] {
        let r = get(&s, &admin, &format!("/v1/manage/logs?{query}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        if let Some(param) = param {
            assert_eq!(r.body["error"]["param"], param, "{query}");
        }
    }

    // NDJSON export: every record, one per line.
    let request = Request::get("/v1/manage/logs?limit=1")
        .header("authorization", format!("Bearer {admin}"))
        .header("accept", "application/x-ndjson")
        .body(Body::empty())
        .unwrap();
    let r = send(&s.manage, request).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/x-ndjson");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ids(&lines), expected);
    assert!(!r.headers.contains_key(byok_manage_next_cursor()));

    // Read permission needed; completions-only keys are refused.
    let r = get(&s, &narrow, "/v1/manage/logs").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let reader = fixtures::key(
        s.backend.store.as_ref(),
        &s.org.org_id,
        Manage::Read,
        Completions::None,
    )
    .await;
    assert_eq!(
        get(&s, &reader, "/v1/manage/logs").await.status,
        StatusCode::OK
    );

    // Another org sees none of it.
    let other = fixtures::org(s.backend.store.as_ref(), "Other").await;
    assert!(all(&s, &other.admin, "", 200).await.is_empty());
    let r = get(&s, &other.admin, &format!("/v1/manage/logs/{served_id}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = get(&s, &admin, "/v1/manage/logs/req_nope").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn byok_manage_next_cursor() -> &'static str {
    "x-byok-next-cursor"
}

/// A key with `logging` on: the bodies are in the detail, encrypted at rest (never in plaintext), and bound
/// to their org and request id. Keys without it capture nothing.
async fn payloads_are_captured_encrypted_and_bound(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let marker = "payload-marker-7731";
    let answer = "answer-marker-4412";
    let (_, logging) = key(&s, 0.0, &[], true).await;
    let (_, plain) = key(&s, 0.0, &[], false).await;
    let mut body = chat("openai/gpt-4.1-mini");
    body["messages"][0]["content"] = json!(marker);
    s.openai.script(Behaviour {
        text: Some(answer.into()),
        ..Behaviour::default()
    });
    let r = post(&s, &logging, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let captured_id = request_id(&r);
    let r = post(&s, &plain, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let plain_id = request_id(&r);

    let admin = s.org.admin.clone();
    let r = get(&s, &admin, &format!("/v1/manage/logs/{captured_id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["payload_captured"], true);
    let payload = &r.body["payload"];
    assert!(
        payload["request"].as_str().unwrap().contains(marker),
        "{payload}"
    );
    assert!(
        payload["response"].as_str().unwrap().contains(answer),
        "{payload}"
    );
    assert_eq!(payload["request_truncated"], false);
    let r = get(&s, &admin, &format!("/v1/manage/logs/{plain_id}")).await;
    assert_eq!(r.body["payload_captured"], false);
    assert!(r.body["payload"].is_null());

    // Bodies past what one KMS call encrypts (4 KiB) are captured too, the request cut at the cap.
    let mut big = chat("openai/gpt-4.1-mini");
    big["messages"][0]["content"] = json!(format!("{marker} {}", "long ".repeat(10_000)));
    let r = post(&s, &logging, big).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let big_id = request_id(&r);
    let r = get(&s, &admin, &format!("/v1/manage/logs/{big_id}")).await;
    assert_eq!(r.body["payload_captured"], true, "{}", r.text);
    let payload = &r.body["payload"];
    let request = payload["request"].as_str().unwrap();
    assert_eq!(payload["request_truncated"], true);
    assert_eq!(request.len(), PAYLOAD_CAP);
    assert!(request.contains(marker));
    // The list never carries payloads.
    let listed = all(&s, &admin, "", 200).await;
    assert!(listed.iter().all(|r| r.get("payload").is_none()));

    // At rest: no plaintext anywhere in the store.
    let dump = s.backend.raw_dump().await;
    assert!(
        !dump.contains(marker),
        "the request body is stored in plaintext"
    );
    assert!(
        !dump.contains(answer),
        "the response body is stored in plaintext"
    );

    // Bound to org and request id: the ciphertext moved to another request or org does not decrypt.
    let (store, cipher) = (s.backend.store.as_ref(), s.backend.cipher.as_ref());
    let stored = logs::get(store, &s.org.org_id, &captured_id)
        .await
        .unwrap()
        .unwrap();
    let ciphertext = stored.payload.expect("a ciphertext is stored");
    logs::decrypt_payload(cipher, &s.org.org_id, &captured_id, &ciphertext)
        .await
        .expect("decrypts in place");
    assert!(
        logs::decrypt_payload(cipher, &s.org.org_id, &plain_id, &ciphertext)
            .await
            .is_err()
    );
    assert!(
        logs::decrypt_payload(cipher, "org_other", &captured_id, &ciphertext)
            .await
            .is_err()
    );
}

/// A request the key's rate limit refuses (429, before any provider is called) is recorded once, with the
/// status and error type its client got, on every inference endpoint that counts it (chat, messages,
/// embeddings).
async fn rate_limited_requests_are_recorded_once(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let limits = RateLimits {
        rpm: Some(1),
        tpm: None,
    };
    let (key_id, limited) = key_with(&s, 0.0, &[], false, limits).await;
    let r = post(&s, &limited, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let served_id = request_id(&r);
    let r = post(&s, &limited, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let chat_id = request_id(&r);
    let mut messages = chat("anthropic/claude-sonnet-4-5");
    messages["max_tokens"] = json!(16);
    let r = post_to(&s, "/v1/messages", &limited, messages).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["error"]["type"], "rate_limit_error", "{}", r.text);
    let messages_id = request_id(&r);
    let embed = json!({"model": "openai/text-embedding-3-small", "input": ["x"]});
    let r = post_to(&s, "/v1/embeddings", &limited, embed).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    let embeddings_id = request_id(&r);
    // One provider call: the refused requests never reached one.
    assert_eq!(s.openai.requests().len(), 1);
    assert!(s.anthropic.requests().is_empty());

    let admin = s.org.admin.clone();
    let records = all(&s, &admin, &format!("api_key_id={key_id}"), 200).await;
    assert_eq!(
        ids(&records),
        [
            embeddings_id.clone(),
            messages_id.clone(),
            chat_id.clone(),
            served_id.clone()
        ],
        "each request exactly once, newest first"
    );
    for (record, endpoint) in [
        (&records[0], "/v1/embeddings"),
        (&records[1], "/v1/messages"),
        (&records[2], "/v1/chat/completions"),
    ] {
        assert_eq!(record["status"], 429, "{record}");
        assert_eq!(record["endpoint"], endpoint, "{record}");
        assert_eq!(record["error_type"], "rate_limit_error", "{record}");
        assert_eq!(record["error_code"], "rate_limited", "{record}");
        assert!(
            record["attempts"].as_array().unwrap().is_empty(),
            "{record}"
        );
        assert!(record["model_used"].is_null(), "{record}");
        assert_eq!(record["tokens"]["input"], 0, "{record}");
    }
    assert_eq!(records[3]["status"], 200);
    assert_eq!(
        ids(&all(&s, &admin, "status_class=4xx", 200).await),
        [embeddings_id, messages_id, chat_id]
    );
}

/// The captured payload of a request, read through the detail endpoint (decrypted there).
async fn payload_of(s: &Setup, id: &str) -> Value {
    let r = get(s, &s.org.admin, &format!("/v1/manage/logs/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["payload_captured"], true, "{}", r.text);
    r.body["payload"].clone()
}

/// A served stream's captured response text, checked to be byte for byte what the client received.
async fn captured_stream(s: &Setup, r: &Response) -> String {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sent = payload_of(s, &request_id(r)).await["response"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sent, r.text);
    sent
}

fn streamed(model: &str) -> Value {
    let mut body = chat(model);
    body["stream"] = json!(true);
    body
}

/// A key with `logging` on captures what its streams sent, on each streaming endpoint: the SSE text as
/// the client got it (the content, the usage event with its cost, the terminator), encrypted at rest.
async fn streams_are_captured(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let (_, logging) = key(&s, 0.0, &[], true).await;
    let (_, plain) = key(&s, 0.0, &[], false).await;
    let answer = |marker: &str| Behaviour {
        text: Some(format!("Streamed {marker} answer")),
        ..Behaviour::default()
    };

    // OpenAI chat, with usage.
    s.openai.script(answer("chat-marker-3307"));
    let mut body = streamed("openai/gpt-4.1-mini");
    body["stream_options"] = json!({"include_usage": true});
    let r = post(&s, &logging, body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let chat_id = request_id(&r);
    let p = payload_of(&s, &chat_id).await;
    let sent = p["response"]
        .as_str()
        .expect("the stream's text is captured");
    assert_eq!(sent, r.text, "the capture is what the client was sent");
    assert!(sent.contains("chat-marker-3307"), "{sent}");
    assert!(
        sent.contains("\"cost\":"),
        "the usage event with its cost: {sent}"
    );
    assert!(sent.ends_with("data: [DONE]\n\n"), "{sent}");
    assert_eq!(p["response_truncated"], false);
    assert!(p["request"].as_str().unwrap().contains("\"stream\":true"));

    // Anthropic messages (platform key).
    s.anthropic.script(answer("messages-marker-5120"));
    let mut body = streamed("anthropic/claude-sonnet-4-5");
    body["max_tokens"] = json!(64);
    let r = post_to(&s, "/v1/messages", &logging, body).await;
    let sent = captured_stream(&s, &r).await;
    assert!(sent.contains("messages-marker-5120"), "{sent}");
    assert!(sent.contains("event: message_stop"), "{sent}");

    // OpenAI Responses.
    s.openai.script(answer("responses-marker-8841"));
    let body = json!({"model": "openai/gpt-4.1-mini", "input": "Hi", "stream": true});
    let r = post_to(&s, "/v1/responses", &logging, body).await;
    let sent = captured_stream(&s, &r).await;
    assert!(sent.contains("responses-marker-8841"), "{sent}");
    assert!(sent.contains("event: response.completed"), "{sent}");

    // A key without logging captures nothing.
    let r = post(&s, &plain, streamed("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let plain_id = request_id(&r);
    let r = get(&s, &s.org.admin, &format!("/v1/manage/logs/{plain_id}")).await;
    assert_eq!(r.body["payload_captured"], false, "{}", r.text);
    assert!(r.body["payload"].is_null());

    let dump = s.backend.raw_dump().await;
    for marker in [
        "chat-marker-3307",
        "messages-marker-5120",
        "responses-marker-8841",
    ] {
        assert!(!dump.contains(marker), "{marker} is stored in plaintext");
    }
}

/// A stream longer than the cap is captured up to the cap (whole characters), marked truncated; the
/// client still gets all of it.
async fn long_streams_are_cut_at_the_cap(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let (_, logging) = key(&s, 0.0, &[], true).await;
    let words: Vec<String> = (0..3000).map(|i| format!("mot-é{i}")).collect();
    s.openai.script(Behaviour {
        text: Some(words.join(" ")),
        ..Behaviour::default()
    });
    let r = post(&s, &logging, streamed("openai/gpt-4.1-mini")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.len() > 2 * PAYLOAD_CAP, "{} bytes", r.text.len());
    assert!(r.text.contains("mot-é2999"));
    assert!(r.text.ends_with("data: [DONE]\n\n"));
    let p = payload_of(&s, &request_id(&r)).await;
    let sent = p["response"].as_str().unwrap();
    assert_eq!(p["response_truncated"], true);
    assert!(
        sent.len() <= PAYLOAD_CAP && sent.len() > PAYLOAD_CAP - 'é'.len_utf8(),
        "{} bytes captured",
        sent.len()
    );
    assert!(
        r.text.starts_with(sent),
        "the capture is the start of what was sent"
    );
    assert!(!sent.contains("mot-é2999"));
}

/// A client that reads the first frame of a stream and goes away: the record (a stream error) keeps what
/// was sent before it left, not what the gateway read on afterwards for the provider's usage.
async fn abandoned_streams_keep_what_was_sent(kind: Backend, mode: Mode) {
    let s = setup(kind, mode).await;
    let (_, logging) = key(&s, 0.0, &[], true).await;
    s.openai.script(Behaviour {
        // Pieces of two words, 500 ms apart: the last one comes 1.5 s after the client left.
        text: Some("Hello there abandoned-marker-5521 x more words never-sent-9034".into()),
        chunk_delay_ms: 500,
        ..Behaviour::default()
    });
    let request = Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {logging}"))
        .header("content-type", "application/json")
        .body(Body::from(streamed("openai/gpt-4.1-mini").to_string()))
        .unwrap();
    let response = s.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut body = response.into_body();
    let first = body.frame().await.expect("a first frame").unwrap();
    let first = String::from_utf8(first.into_data().unwrap().to_vec()).unwrap();
    drop(body); // the client disconnects

    let admin = s.org.admin.clone();
    let mut record = None;
    for _ in 0..200 {
        let r = get(&s, &admin, &format!("/v1/manage/logs/{id}")).await;
        if r.status == StatusCode::OK {
            record = Some(r.body);
            break;
        }
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let record = record.expect("the abandoned stream is recorded");
    assert_eq!(record["error_type"], "stream_error", "{record}");
    let sent = record["payload"]["response"].as_str().expect("captured");
    assert!(sent.starts_with(&first), "{sent}");
    assert!(sent.contains("Hello there"), "{sent}");
    assert!(!sent.contains("never-sent-9034"), "{sent}");
    assert!(!sent.contains("[DONE]"), "{sent}");
    assert_eq!(record["payload"]["response_truncated"], false);
}

/// Switched off by the operator (`BYOK_REQUEST_LOG=off`), the log records nothing, and requests are
/// answered as before.
async fn switched_off_the_log_records_nothing(kind: Backend, mode: Mode) {
    let s = setup_with(kind, mode, false).await;
    let admin = s.org.admin.clone();
    let served = post(&s, &admin, chat("openai/gpt-4.1-mini")).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    let id = request_id(&served);
    let refused = post(&s, &admin, chat("openai/")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(all(&s, &admin, "", 50).await, Vec::<Value>::new());
    let detail = get(&s, &admin, &format!("/v1/manage/logs/{id}")).await;
    assert_eq!(detail.status, StatusCode::NOT_FOUND, "{}", detail.text);
}

async fn serve_switched_off(kind: Backend) {
    switched_off_the_log_records_nothing(kind, Mode::Serve).await
}
async fn lambda_switched_off(kind: Backend) {
    switched_off_the_log_records_nothing(kind, Mode::Lambda).await
}

async fn serve_every_request(kind: Backend) {
    every_request_is_recorded_exactly_once(kind, Mode::Serve).await
}
async fn lambda_every_request(kind: Backend) {
    every_request_is_recorded_exactly_once(kind, Mode::Lambda).await
}
async fn serve_payloads(kind: Backend) {
    payloads_are_captured_encrypted_and_bound(kind, Mode::Serve).await
}
async fn lambda_payloads(kind: Backend) {
    payloads_are_captured_encrypted_and_bound(kind, Mode::Lambda).await
}

async fn serve_rate_limited(kind: Backend) {
    rate_limited_requests_are_recorded_once(kind, Mode::Serve).await
}
async fn lambda_rate_limited(kind: Backend) {
    rate_limited_requests_are_recorded_once(kind, Mode::Lambda).await
}
async fn serve_streams_captured(kind: Backend) {
    streams_are_captured(kind, Mode::Serve).await
}
async fn lambda_streams_captured(kind: Backend) {
    streams_are_captured(kind, Mode::Lambda).await
}
async fn serve_long_stream_cut(kind: Backend) {
    long_streams_are_cut_at_the_cap(kind, Mode::Serve).await
}
async fn lambda_long_stream_cut(kind: Backend) {
    long_streams_are_cut_at_the_cap(kind, Mode::Lambda).await
}
async fn serve_abandoned_stream(kind: Backend) {
    abandoned_streams_keep_what_was_sent(kind, Mode::Serve).await
}
async fn lambda_abandoned_stream(kind: Backend) {
    abandoned_streams_keep_what_was_sent(kind, Mode::Lambda).await
}

byok_testkit::on_both_backends!(
    serve_every_request,
    lambda_every_request,
    serve_payloads,
    lambda_payloads,
    serve_rate_limited,
    lambda_rate_limited,
    serve_streams_captured,
    lambda_streams_captured,
    serve_long_stream_cut,
    lambda_long_stream_cut,
    serve_abandoned_stream,
    lambda_abandoned_stream,
    serve_switched_off,
    lambda_switched_off
);
