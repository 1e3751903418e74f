//! Provider faults under load: 10,000 requests at concurrency 64 through the router (in-process, embedded
//! store), half OpenAI-format and half Anthropic-format, half streaming, over two fallback policies whose
//! first step (OpenAI own key with one retry; xAI platform key, no retry) sits behind a fault-injecting
//! proxy and whose second step (Anthropic own; Google own-then-platform) is healthy.
//!
//! The proxy turns every 10th attempt it forwards into a fault, cycling through 500, 503, 429, a stall (the
//! step's 1 s timeout), a stream cut before the first content token, and a stream cut after it (for a
//! non-streaming request, whose answer cannot be cut, a 502 instead). It injects by adding the mock's
//! `x-mock-behaviour` header, so the same target fails intermittently, as a real provider does (every 10th
//! attempt, so the per-instance cooldown, which needs 3 consecutive failures, is not what absorbs them).
//!
//! Asserted: no request hangs (each has a 15 s bound), every request is a 200 (each fault but one is one a
//! policy absorbs: by a retry or by falling over), a cut after the commit point reaches the client as an
//! explicit error event (never a clean end) exactly as often as it was injected, and the usage counters
//! equal what the clients were served: requests, errors, input and output tokens.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use byok_mock_providers::{Kind, MockProvider};
use byok_shared::domain::provider::Provider;
use byok_shared::domain::usage::Resolution;
use byok_shared::providers::{estimate_input_tokens, text_tokens};
use byok_shared::repo::platform_keys;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::usage::{self, UsageQuery};
use byok_shared::secret::Secret;
use byok_testkit::http::call;
use byok_testkit::{Backend, TestBackend, fixtures};
use futures::StreamExt;
use serde_json::{Value, json};

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 64;
const FAULT_EVERY: u64 = 10;
const REQUEST_BOUND: Duration = Duration::from_secs(15);

/// The injected faults, in rotation. `cut_after_commit` is the one no policy can absorb.
const FAULTS: [&str; 6] = [
    "500",
    "503",
    "429",
    "stall",
    "cut_before_commit",
    "cut_after_commit",
];

#[derive(Clone)]
struct Proxy {
    target: String,
    client: reqwest::Client,
    seen: Arc<AtomicU64>,
    injected: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// The behaviour for a fault, and the name it is counted under.
fn behaviour(fault: &str, stream: bool) -> (Value, &str) {
    match (fault, stream) {
        ("500", _) => (json!({"status": 500}), "500"),
        ("503", _) => (json!({"status": 503}), "503"),
        ("429", _) => (json!({"status": 429}), "429"),
        ("stall", _) => (json!({"stall": true}), "stall"),
        // The role chunk only, then the connection ends without a terminator.
        ("cut_before_commit", true) => (json!({"cut_after": 1}), "cut_before_commit"),
        // The role chunk and two content chunks, then the end.
        ("cut_after_commit", true) => (json!({"cut_after": 3}), "cut_after_commit"),
        _ => (json!({"status": 502}), "502"),
    }
}

async fn forward(
    State(p): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = p.seen.fetch_add(1, Ordering::SeqCst);
    let stream = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["stream"].as_bool())
        .unwrap_or(false);
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = p
        .client
        .request(method, format!("{}{path}", p.target))
        .body(body);
    for (name, value) in &headers {
        if name != "host" && name != "content-length" {
            request = request.header(name, value);
        }
    }
    if n.is_multiple_of(FAULT_EVERY) {
        let fault = FAULTS[(n / FAULT_EVERY) as usize % FAULTS.len()];
        let (b, counted) = behaviour(fault, stream);
        *p.injected
            .lock()
            .unwrap()
            .entry(counted.to_owned())
            .or_default() += 1;
        request = request.header("x-mock-behaviour", b.to_string());
    }
    match request.send().await {
        Ok(upstream) => {
            let mut response = Response::builder().status(upstream.status().as_u16());
            for (name, value) in upstream.headers() {
                if name != "content-length" && name != "transfer-encoding" {
                    response = response.header(name, value);
                }
            }
            response
                .body(Body::from_stream(upstream.bytes_stream()))
                .unwrap()
        }
        Err(_) => Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap(),
    }
}

async fn start_proxy(target: String) -> (String, Proxy) {
    let proxy = Proxy {
        target,
        client: reqwest::Client::builder().build().unwrap(),
        seen: Arc::default(),
        injected: Arc::default(),
    };
    let app = Router::new().fallback(forward).with_state(proxy.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, proxy)
}

/// What one client got: status, whether a stream ended in an error event, and the usage it was shown.
#[derive(Default, Debug)]
struct Outcome {
    status: u16,
    stream_error: bool,
    input: i64,
    output: i64,
    elapsed: Duration,
}

fn tokens(usage: &Value) -> (i64, i64) {
    let n = |k: &str| usage[k].as_i64().unwrap_or(0);
    if usage.get("prompt_tokens").is_some() {
        (n("prompt_tokens"), n("completion_tokens"))
    } else {
        (
            n("input_tokens") + n("cache_read_input_tokens"),
            n("output_tokens"),
        )
    }
}

fn request_body(i: usize) -> (&'static str, Value) {
    let policy = if i.is_multiple_of(2) {
        "policy/fa"
    } else {
        "policy/fb"
    };
    let anthropic_format = (i / 2) % 2 == 1;
    let stream = (i / 4) % 2 == 1;
    let messages = json!([{"role": "user", "content": format!("request {i}")}]);
    if anthropic_format {
        (
            "/v1/messages",
            json!({"model": policy, "max_tokens": 64, "stream": stream, "messages": messages}),
        )
    } else {
        let mut body = json!({"model": policy, "stream": stream, "messages": messages});
        if stream {
            body["stream_options"] = json!({"include_usage": true});
        }
        ("/v1/chat/completions", body)
    }
}

async fn one(app: &Router, key: &str, i: usize) -> Outcome {
    let (path, body) = request_body(i);
    let started = Instant::now();
    let r = call(app, Method::POST, path, Some(key), Some(body.clone())).await;
    let mut out = Outcome {
        status: r.status.as_u16(),
        elapsed: started.elapsed(),
        ..Outcome::default()
    };
    if r.status != StatusCode::OK {
        eprintln!("request {i}: {} {}", r.status, r.text);
        return out;
    }
    if r.body.is_object() {
        (out.input, out.output) = tokens(&r.body["usage"]);
        return out;
    }
    // SSE: the usage event is the one carrying `usage.cost`; an error event ends a failed stream.
    let mut streamed = String::new();
    for data in r.text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        let Ok(event) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        if event.get("error").is_some() || event["type"] == "error" {
            out.stream_error = true;
        }
        for text in [
            &event["choices"][0]["delta"]["content"],
            &event["delta"]["text"],
        ] {
            streamed.push_str(text.as_str().unwrap_or_default());
        }
        let usage = if event["usage"].get("cost").is_some() {
            &event["usage"]
        } else {
            continue;
        };
        (out.input, out.output) = tokens(usage);
        // Anthropic's format reports the input side in message_start, the output in message_delta.
        if out.input == 0 {
            out.input = input_from_message_start(&r.text);
        }
    }
    // A stream cut before its usage is billed what it carried: the text's tokens as output, the
    // request's estimate as input (the client never sees that bill).
    if out.stream_error && (out.input, out.output) == (0, 0) {
        out.input = estimate_input_tokens(&body).unwrap() as i64;
        out.output = text_tokens(&streamed) as i64;
    }
    out
}

fn input_from_message_start(text: &str) -> i64 {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|e| e["type"] == "message_start")
        .map(|e| tokens(&e["message"]["usage"]).0)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_thousand_requests_with_ten_percent_provider_faults() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let mocks: std::collections::HashMap<Kind, MockProvider> = futures::future::join_all(
        Kind::ALL.map(|k| async move { (k, MockProvider::start(k).await) }),
    )
    .await
    .into_iter()
    .collect();
    let (openai_url, openai_proxy) = start_proxy(mocks[&Kind::OpenAi].base_url()).await;
    let (xai_url, xai_proxy) = start_proxy(mocks[&Kind::Xai].base_url()).await;
    let state = backend.state(|c| {
        c.providers.openai = openai_url.clone();
        c.providers.xai = xai_url.clone();
        c.providers.anthropic = mocks[&Kind::Anthropic].base_url();
        c.providers.google = mocks[&Kind::Google].base_url();
        c.cache_ttl = Duration::from_secs(600);
    });
    let (store, cipher) = (backend.store.as_ref(), backend.cipher.as_ref());
    let org = fixtures::org(store, "Load").await;
    for p in [Provider::OpenAi, Provider::Anthropic, Provider::Google] {
        let key = Secret::new(format!("own-{p}-load-key"));
        provider_keys::create(store, cipher, Owner::Org(&org.org_id), p, &key, None, None)
            .await
            .unwrap();
    }
    for p in [Provider::Xai, Provider::Google] {
        platform_keys::set(
            store,
            cipher,
            p,
            &Secret::new(format!("platform-{p}-load-key")),
        )
        .await
        .unwrap();
    }
    let app = byok_cli::server::app(state);
    for doc in [
        json!({"name": "fa", "type": "fallback", "steps": [
            {"model": "openai/gpt-4.1-mini", "key_source": "own", "retries": 1, "timeout_ms": 1000},
            {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "retries": 0, "timeout_ms": 5000}]}),
        json!({"name": "fb", "type": "fallback", "steps": [
            {"model": "xai/grok-4", "key_source": "platform", "retries": 0, "timeout_ms": 1000},
            {"model": "google/gemini-2.5-flash", "key_source": "own_then_platform", "retries": 0, "timeout_ms": 5000}]}),
    ] {
        let r = call(
            &app,
            Method::POST,
            "/v1/policies",
            Some(&org.admin),
            Some(doc),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    }

    let since = chrono::Utc::now();
    let started = Instant::now();
    let outcomes: Vec<Option<Outcome>> = futures::stream::iter(0..REQUESTS)
        .map(|i| {
            let (app, key) = (app.clone(), org.admin.clone());
            async move {
                tokio::time::timeout(REQUEST_BOUND, one(&app, &key, i))
                    .await
                    .ok()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let took = started.elapsed();

    let hung = outcomes.iter().filter(|o| o.is_none()).count();
    let done: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for o in &done {
        *statuses.entry(o.status).or_default() += 1;
    }
    let stream_errors = done.iter().filter(|o| o.stream_error).count() as i64;
    let input: i64 = done.iter().map(|o| o.input).sum();
    let output: i64 = done.iter().map(|o| o.output).sum();
    let slowest = done.iter().map(|o| o.elapsed).max().unwrap_or_default();
    let mut injected = openai_proxy.injected.lock().unwrap().clone();
    for (k, v) in xai_proxy.injected.lock().unwrap().iter() {
        *injected.entry(k.clone()).or_default() += v;
    }
    let attempts = openai_proxy.seen.load(Ordering::SeqCst) + xai_proxy.seen.load(Ordering::SeqCst);
    let total_injected: u64 = injected.values().sum();
    eprintln!(
        "{REQUESTS} requests at concurrency {CONCURRENCY} in {took:?} ({:.0}/s); slowest {slowest:?}; \
         statuses {statuses:?}; {attempts} attempts at the faulty first steps, {total_injected} faults \
         injected {injected:?}; {stream_errors} streams ended with an error event",
        REQUESTS as f64 / took.as_secs_f64()
    );

    assert_eq!(
        hung, 0,
        "requests that did not finish within {REQUEST_BOUND:?}"
    );
    assert_eq!(
        statuses,
        BTreeMap::from([(200, REQUESTS)]),
        "every fault but a cut after the commit point is absorbed by a retry or a fallover"
    );
    assert!(
        total_injected * 100 >= REQUESTS as u64 * 9,
        "about 10% of requests should meet a fault: {total_injected}"
    );
    assert_eq!(
        stream_errors,
        *injected.get("cut_after_commit").unwrap_or(&0) as i64,
        "a stream cut after its first content token ends with an explicit error event, once per cut"
    );

    let query = UsageQuery {
        start: since - chrono::Duration::hours(1),
        end: chrono::Utc::now() + chrono::Duration::hours(1),
        resolution: Resolution::Month,
        group_by: &[],
        api_key_id: None,
    };
    let rows = usage::query(store, &org.org_id, &query).await.unwrap();
    let sum = |f: fn(&usage::UsageRow) -> i64| rows.iter().map(f).sum::<i64>();
    assert_eq!(sum(|r| r.requests), REQUESTS as i64, "usage requests");
    assert_eq!(sum(|r| r.errors), stream_errors, "usage errors");
    assert_eq!(
        sum(|r| r.input_tokens),
        input,
        "usage input tokens = served (a cut stream: its estimate)"
    );
    assert_eq!(
        sum(|r| r.output_tokens),
        output,
        "usage output tokens = served (a cut stream: what it carried)"
    );
    assert!(output > 0 && input > 0);
}
