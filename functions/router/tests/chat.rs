//! Chat through the router against each mock provider: both client formats, streaming, tools, structured
//! output; the answering model, cost, attempt header, and which key reached which provider.

mod common;

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_testkit::Backend;
use common::*;
use serde_json::{Value, json};

const ALL: [Provider; 4] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Google,
    Provider::Xai,
];

#[tokio::test]
async fn openai_format_chat_every_provider_with_own_key() {
    let g = gateway(Backend::Embedded, &ALL, &ALL).await;
    for p in ALL {
        let r = g.post("/v1/chat/completions", json!({
            "model": model_for(p), "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 50
        })).await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        assert_eq!(
            r.body["model"],
            model_for(p),
            "the response names the model that answered"
        );
        assert_eq!(r.body["object"], "chat.completion");
        assert!(
            r.body["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .contains("mock"),
            "{}",
            r.text
        );
        let cost = &r.body["usage"]["cost"];
        assert!(
            cost.as_f64().is_some_and(|c| c > 0.0),
            "{p}: priced model has a cost: {}",
            r.text
        );
        let attempts = r.headers["x-byok-attempts"].to_str().unwrap();
        assert!(
            attempts.starts_with(&format!("model={};key=own;outcome=ok;ms=", model_for(p))),
            "{attempts}"
        );
        assert_eq!(r.headers["x-byok-key-source"], "own");
        let seen = g.mock(p).requests();
        assert_eq!(seen.len(), 1, "{p}");
        assert_eq!(key_seen(p, &seen[0]), own_key(p));
        assert!(seen[0].body.get("byok").is_none());
    }
}

#[tokio::test]
async fn platform_key_when_no_own_key_at_the_operators_price() {
    let g = gateway(Backend::Embedded, &[], &[Provider::Xai]).await;
    let r = g
        .post(
            "/v1/chat/completions",
            json!({
                "model": "xai/grok-3-mini", "messages": [{"role": "user", "content": "Hi"}]
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["x-byok-key-source"], "platform");
    assert_eq!(
        key_seen(Provider::Xai, &g.xai.requests()[0]),
        platform_key(Provider::Xai)
    );
    // An unlisted model would be refused (model_not_priced: see tests/prices.rs); a listed one has a cost.
    assert!(
        r.body["usage"]["cost"].as_f64().is_some_and(|c| c > 0.0),
        "{}",
        r.text
    );
    let none = g
        .post(
            "/v1/chat/completions",
            json!({"model": "anthropic/claude-sonnet-4-5", "messages": []}),
        )
        .await;
    let error = byok_testkit::http::assert_error(&none, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no own key for anthropic"),
        "{}",
        none.text
    );
}

#[tokio::test]
async fn streams_every_provider_end_with_done_and_cost() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    for p in ALL {
        let r = g.post("/v1/chat/completions", json!({
            "model": model_for(p), "stream": true, "stream_options": {"include_usage": true},
            "messages": [{"role": "user", "content": "Hi"}]
        })).await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        assert_eq!(r.headers["content-type"], "text/event-stream");
        let data = sse_data(&r.text);
        assert_eq!(
            data.last().map(String::as_str),
            Some("[DONE]"),
            "{p}: {}",
            r.text
        );
        let chunks: Vec<Value> = data[..data.len() - 1]
            .iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert!(text.contains("mock"), "{p}: {}", r.text);
        let usage = chunks
            .iter()
            .find(|c| c["usage"].is_object())
            .expect("a usage chunk");
        assert!(
            usage["usage"]["cost"].as_f64().is_some_and(|c| c > 0.0),
            "{p}: {}",
            r.text
        );
        assert!(
            chunks.iter().all(|c| c["model"] == model_for(p)),
            "{p}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn anthropic_format_in_both_directions() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    for p in [Provider::Anthropic, Provider::OpenAi, Provider::Google] {
        let r = g
            .post(
                "/v1/messages",
                json!({
                    "model": model_for(p), "max_tokens": 64, "system": "Be brief.",
                    "messages": [{"role": "user", "content": "Hi"}]
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        assert_eq!(r.body["type"], "message");
        assert_eq!(r.body["model"], model_for(p));
        assert!(
            r.body["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("mock"),
            "{}",
            r.text
        );
        assert!(r.body["usage"]["cost"].as_f64().is_some(), "{}", r.text);
        let s = g
            .post(
                "/v1/messages",
                json!({
                    "model": model_for(p), "max_tokens": 64, "stream": true,
                    "messages": [{"role": "user", "content": "Hi"}]
                }),
            )
            .await;
        assert_eq!(s.status, StatusCode::OK, "{p}: {}", s.text);
        assert!(
            s.text.contains("event: message_start")
                && s.text.contains("event: content_block_delta"),
            "{}",
            s.text
        );
        assert!(
            s.text.trim_end().ends_with(r#"{"type":"message_stop"}"#)
                || s.text.contains("event: message_stop"),
            "{}",
            s.text
        );
        assert!(!s.text.contains("[DONE]"));
        let delta = sse_data(&s.text)
            .into_iter()
            .map(|d| serde_json::from_str::<Value>(&d).unwrap())
            .find(|d| d["type"] == "message_delta")
            .unwrap();
        assert!(delta["usage"]["cost"].as_f64().is_some(), "{}", s.text);
    }
    // Auth through x-api-key, as the Anthropic SDK sends by default.
    let request = axum::http::Request::post("/v1/messages")
        .header("x-api-key", &g.org.admin)
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}).to_string()))
        .unwrap();
    assert_eq!(
        byok_testkit::http::send(&g.app, request).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn tools_and_structured_output_reach_every_provider() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]);
    let schema = json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true,
        "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"], "additionalProperties": false}}});
    for p in ALL {
        let base = model_for(p).split_once('/').unwrap();
        let model = format!("{}/{}-tool", base.0, base.1);
        let r = g.post("/v1/chat/completions", json!({
            "model": model, "tools": tools, "tool_choice": "auto", "messages": [{"role": "user", "content": "Weather in Paris?"}]
        })).await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.text);
        let call = &r.body["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["function"]["name"], "get_weather", "{p}: {}", r.text);
        assert_eq!(r.body["choices"][0]["finish_reason"], "tool_calls");

        let s = g.post("/v1/chat/completions", json!({
            "model": model_for(p), "response_format": schema, "messages": [{"role": "user", "content": "ok?"}]
        })).await;
        assert_eq!(s.status, StatusCode::OK, "{p}: {}", s.text);
        let carried = g.mock(p).requests().last().unwrap().body.to_string();
        assert!(
            carried.contains("additionalProperties") || carried.contains("\"ok\""),
            "{p}: schema not forwarded: {carried}"
        );
    }
}

#[tokio::test]
async fn embeddings_and_models() {
    let g = gateway(
        Backend::Embedded,
        &[Provider::OpenAi, Provider::Google],
        &[],
    )
    .await;
    for model in [
        "openai/text-embedding-3-small",
        "google/gemini-embedding-001",
    ] {
        let r = g
            .post(
                "/v1/embeddings",
                json!({"model": model, "input": ["a", "b"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{model}: {}", r.text);
        assert_eq!(r.body["data"].as_array().unwrap().len(), 2, "{}", r.text);
        assert!(
            r.body["data"][0]["embedding"]
                .as_array()
                .is_some_and(|e| !e.is_empty())
        );
        assert_eq!(r.body["model"], model);
    }
    g.policy(
        json!({"name": "main", "type": "fallback", "steps": [{"model": "openai/gpt-4.1-mini"}]}),
    )
    .await;
    let r = byok_testkit::http::call(
        &g.app,
        axum::http::Method::GET,
        "/v1/models",
        Some(&g.org.admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let ids: Vec<&str> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "policy/main",
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
        "google/gemini-2.5-flash",
        "xai/grok-4",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[tokio::test]
async fn hostile_requests_are_refused_before_any_provider_call() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    for field in ["api_base", "base_url"] {
        let r = g.post("/v1/chat/completions", json!({"model": "openai/gpt-4.1", field: "http://127.0.0.1:1/steal", "messages": []})).await;
        assert_eq!(
            byok_testkit::http::assert_error(&r, StatusCode::BAD_REQUEST)["param"],
            field
        );
    }
    let request = axum::http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {}", g.org.admin))
        .header("content-type", "application/json")
        .header("host", "attacker.example")
        .header("x-forwarded-host", "attacker.example")
        .header("x-portkey-custom-host", "http://attacker.example")
        .body(axum::body::Body::from(json!({"model": "openai/gpt-4.1-mini", "messages": [{"role": "user", "content": "Hi"}]}).to_string()))
        .unwrap();
    let r = byok_testkit::http::send(&g.app, request).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        g.openai.requests().len(),
        1,
        "the configured provider answered, not a header's host"
    );
    let bad = g
        .post(
            "/v1/chat/completions",
            json!({"model": "mistral/large", "messages": []}),
        )
        .await;
    assert_eq!(
        byok_testkit::http::assert_error(&bad, StatusCode::BAD_REQUEST)["param"],
        "model"
    );
    let missing = g
        .post(
            "/v1/chat/completions",
            json!({"model": "policy/nope", "messages": []}),
        )
        .await;
    byok_testkit::http::assert_error(&missing, StatusCode::NOT_FOUND);
    assert_eq!(g.openai.requests().len(), 1);
}
