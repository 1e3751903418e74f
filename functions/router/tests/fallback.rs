//! Fallover and its limits, against the mock providers: which errors move on, which stop, which key
//! reached which provider, and the commit guard of streams.

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use byok_mock_providers::Behaviour;
use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::secret::Secret;
use byok_testkit::Backend;
use byok_testkit::http::assert_error;
use common::*;
use serde_json::{Value, json};

const BOTH: [Provider; 2] = [Provider::OpenAi, Provider::Anthropic];

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}]})
}

fn fallback(name: &str, first: &str, extra: Value) -> Value {
    let mut step = json!({"model": first, "key_source": "own", "retries": 0, "timeout_ms": 2000});
    if let (Some(s), Some(e)) = (step.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"name": name, "type": "fallback", "steps": [step, {"model": "anthropic/claude-sonnet-4-5", "key_source": "own"}]})
}

#[tokio::test]
async fn falls_over_on_500_529_timeout_and_stall() {
    let g = gateway(Backend::Embedded, &BOTH, &[]).await;
    let cases = [
        (
            "on-500",
            "openai/gpt-4.1-mini-status-500",
            json!({}),
            "http_500",
            false,
        ),
        (
            "on-503",
            "openai/gpt-4.1-mini-status-503",
            json!({}),
            "http_503",
            false,
        ),
        (
            "on-timeout",
            "openai/gpt-4.1-mini-delay-3000",
            json!({"timeout_ms": 1000}),
            "timeout",
            false,
        ),
        (
            "on-stall",
            "openai/gpt-4.1-mini-stall",
            json!({"timeout_ms": 1000}),
            "timeout",
            true,
        ),
    ];
    for (name, model, extra, outcome, stream) in cases {
        g.policy(fallback(name, model, extra)).await;
        let started = Instant::now();
        let r = g
            .post(
                "/v1/chat/completions",
                chat(&format!("policy/{name}"), stream),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {}", r.text);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{name} took {:?}",
            started.elapsed()
        );
        assert_eq!(r.headers["x-byok-model"], "anthropic/claude-sonnet-4-5");
        assert_eq!(
            attempts(&r),
            [
                format!("model={model};key=own;outcome={outcome}"),
                "model=anthropic/claude-sonnet-4-5;key=own;outcome=ok".into()
            ],
            "{name}"
        );
    }
    // Anthropic's 529 overloaded, falling over to OpenAI.
    let doc = json!({"name": "on-529", "type": "fallback", "steps": [
        {"model": "anthropic/claude-sonnet-4-5-status-529"}, {"model": "openai/gpt-4.1-mini"}]});
    g.policy(doc).await;
    let r = g
        .post("/v1/chat/completions", chat("policy/on-529", false))
        .await;
    assert_eq!(
        (r.status, r.body["model"].clone()),
        (StatusCode::OK, json!("openai/gpt-4.1-mini")),
        "{}",
        r.text
    );
    assert!(attempts(&r)[0].ends_with("outcome=http_529"));
}

#[tokio::test]
async fn rate_limit_retries_after_retry_after_then_succeeds() {
    let g = gateway(Backend::Embedded, &BOTH, &[]).await;
    g.openai.script(Behaviour {
        status: Some(429),
        retry_after: Some(1),
        ..Behaviour::default()
    });
    let doc = json!({"name": "rl", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini", "retries": 1}]});
    g.policy(doc).await;
    let started = Instant::now();
    let r = g
        .post("/v1/chat/completions", chat("policy/rl", false))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured: {:?}",
        started.elapsed()
    );
    assert_eq!(
        attempts(&r),
        [
            "model=openai/gpt-4.1-mini;key=own;outcome=http_429",
            "model=openai/gpt-4.1-mini;key=own;outcome=ok"
        ]
    );
    assert_eq!(g.openai.requests().len(), 2);

    // Without retries left, a 429 falls over to the next step.
    g.policy(fallback(
        "rl-over",
        "openai/gpt-4.1-mini-status-429-retry-1",
        json!({}),
    ))
    .await;
    let r = g
        .post("/v1/chat/completions", chat("policy/rl-over", false))
        .await;
    assert_eq!(
        r.headers["x-byok-model"], "anthropic/claude-sonnet-4-5",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn connection_refused_falls_over() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let g = gateway_with(
        Backend::Embedded,
        &[Provider::Xai, Provider::Anthropic],
        &[],
        |c| c.providers.xai = closed,
    )
    .await;
    g.policy(fallback("refused", "xai/grok-4", json!({}))).await;
    let r = g
        .post("/v1/chat/completions", chat("policy/refused", false))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        attempts(&r)[0],
        "model=xai/grok-4;key=own;outcome=connect_error"
    );
}

#[tokio::test]
async fn rejected_own_key_moves_to_the_platform_key_and_is_recorded() {
    let g = gateway(Backend::Embedded, &[Provider::OpenAi], &[Provider::OpenAi]).await;
    let (store, cipher) = (g.backend.store.as_ref(), g.backend.cipher.as_ref());
    let owner = Owner::Org(&g.org.org_id);
    provider_keys::rotate(
        store,
        cipher,
        owner,
        Provider::OpenAi,
        &Secret::new("own-invalid-key-0000"),
        None,
        None,
        None,
    )
    .await
    .unwrap();
    let doc = json!({"name": "byok-first", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform"}]});
    g.policy(doc).await;
    let r = g
        .post("/v1/chat/completions", chat("policy/byok-first", false))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        attempts(&r),
        [
            "model=openai/gpt-4.1-mini;key=own;outcome=http_401",
            "model=openai/gpt-4.1-mini;key=platform;outcome=ok"
        ]
    );
    let keys: Vec<String> = g
        .openai
        .requests()
        .iter()
        .map(|q| key_seen(Provider::OpenAi, q))
        .collect();
    assert_eq!(
        keys,
        [
            "own-invalid-key-0000".to_owned(),
            platform_key(Provider::OpenAi)
        ],
        "the mock's log shows which key was used"
    );
    let health = provider_keys::get(store, owner, Provider::OpenAi)
        .await
        .unwrap()
        .health;
    let error = health
        .last_error
        .expect("the rejection is recorded on the own key");
    assert!(error.starts_with("401"), "{error}");
    assert!(
        !error.contains("own-invalid-key-0000"),
        "key material in the health record: {error}"
    );
}

#[tokio::test]
async fn callers_own_errors_never_fall_over() {
    let g = gateway(Backend::Embedded, &BOTH, &[]).await;
    for (name, model, status) in [
        (
            "bad-400",
            "openai/gpt-4.1-mini-status-400",
            StatusCode::BAD_REQUEST,
        ),
        (
            "bad-422",
            "openai/gpt-4.1-mini-status-422",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        g.policy(fallback(name, model, json!({}))).await;
        let r = g
            .post(
                "/v1/chat/completions",
                chat(&format!("policy/{name}"), false),
            )
            .await;
        let error = assert_error(&r, status);
        assert!(
            error["message"].as_str().unwrap().starts_with("openai:"),
            "{}",
            r.text
        );
        assert_eq!(attempts(&r).len(), 1);
    }
    assert!(
        g.anthropic.requests().is_empty(),
        "a caller error reached the next step"
    );
}

#[tokio::test]
async fn streams_fall_over_before_the_first_token_and_fail_loudly_after() {
    let g = gateway(Backend::Embedded, &BOTH, &[]).await;
    g.policy(fallback(
        "cut-early",
        "openai/gpt-4.1-mini-cut-1",
        json!({}),
    ))
    .await;
    let r = g
        .post("/v1/chat/completions", chat("policy/cut-early", true))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-model"], "anthropic/claude-sonnet-4-5");
    let text: String = sse_data(&r.text)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(
        text, "Hello from mock anthropic.",
        "nothing of the failed attempt reached the client: {}",
        r.text
    );
    assert!(r.text.trim_end().ends_with("data: [DONE]"), "{}", r.text);

    g.policy(json!({"name": "cut-late", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini-cut-3"}, {"model": "anthropic/claude-sonnet-4-5"}]})).await;
    let r = g
        .post(
            "/v1/chat/completions",
            json!({"model": "policy/cut-late", "stream": true,
        "messages": [{"role": "user", "content": "Hi"}], "byok": {"trace_id": "t"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let data = sse_data(&r.text);
    let last: Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stream"),
        "{}",
        r.text
    );
    assert!(
        !r.text.contains("[DONE]"),
        "a failed stream must not end cleanly: {}",
        r.text
    );
    assert!(
        g.anthropic.requests().is_empty() || g.anthropic.requests().len() == 1,
        "only the first test's call"
    );

    // Anthropic format: the error is an `event: error`.
    g.anthropic.reset();
    let r = g
        .post(
            "/v1/messages",
            json!({"model": "anthropic/claude-sonnet-4-5-cut-4", "max_tokens": 8, "stream": true,
        "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert!(r.text.contains("event: error\ndata: "), "{}", r.text);
    assert!(!r.text.contains("event: message_stop"), "{}", r.text);
}

#[tokio::test]
async fn load_balancing_is_sticky_and_failing_targets_cool_down() {
    let g = gateway(Backend::Embedded, &BOTH, &[]).await;
    g.policy(
        json!({"name": "lb", "type": "load_balance", "sticky": "user_id", "targets": [
        {"model": "openai/gpt-4.1-mini", "key_source": "own", "weight": 1},
        {"model": "anthropic/claude-sonnet-4-5", "key_source": "own", "weight": 1}]}),
    )
    .await;
    for user in ["alice", "bob", "carol", "dave"] {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = g.post("/v1/chat/completions", json!({"model": "policy/lb", "user": user, "messages": [{"role": "user", "content": "Hi"}]})).await;
            seen.push(r.headers["x-byok-model"].to_str().unwrap().to_owned());
        }
        assert!(
            seen.iter().all(|m| *m == seen[0]),
            "{user} moved between targets: {seen:?}"
        );
    }

    g.policy(fallback(
        "flaky",
        "openai/gpt-4.1-mini-status-500",
        json!({}),
    ))
    .await;
    for _ in 0..3 {
        g.post("/v1/chat/completions", chat("policy/flaky", false))
            .await;
    }
    let before = g.openai.requests().len();
    let r = g
        .post("/v1/chat/completions", chat("policy/flaky", false))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        attempts(&r)[0],
        "model=openai/gpt-4.1-mini-status-500;key=own;outcome=skipped_cooldown"
    );
    assert_eq!(
        g.openai.requests().len(),
        before,
        "a cooling-down target is not called"
    );
}

/// Past `BYOK_MAX_STREAM_SECS` the client gets an error event at once (the bill of what was streamed,
/// which has no usage event to carry, follows it before the body ends).
#[tokio::test]
async fn a_stream_past_the_duration_limit_ends_with_an_error_event() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let g = gateway_with(Backend::Embedded, &[Provider::OpenAi], &[], |c| {
        c.max_stream = Duration::from_secs(1)
    })
    .await;
    let started = Instant::now();
    let request = axum::http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {}", g.org.admin))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            chat("openai/gpt-4.1-mini-chunkdelay-700", true).to_string(),
        ))
        .unwrap();
    let response = g.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut text = String::new();
    while !text.contains("\"error\"") {
        let frame = body
            .frame()
            .await
            .expect("the stream ended without an error event");
        if let Some(data) = frame.unwrap().data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
    }
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    let rest = body.collect().await.unwrap().to_bytes();
    text.push_str(&String::from_utf8_lossy(&rest));
    let last: Value = serde_json::from_str(sse_data(&text).last().unwrap()).unwrap();
    assert!(
        last["error"]["message"].as_str().unwrap().contains("limit"),
        "{text}"
    );
    assert!(!text.contains("[DONE]"));
}
