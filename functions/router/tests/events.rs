//! Every API Gateway fixture in events/byok-router, parsed by lambda_http as on Lambda, through the router,
//! with the mock providers behind it.

mod common;

use axum::http::StatusCode;
use byok_shared::domain::provider::Provider;
use byok_testkit::{Backend, events};
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn every_fixture_is_served() {
    let all = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Google,
        Provider::Xai,
    ];
    let g = gateway(Backend::Embedded, &all, &all).await;
    g.policy(json!({"name": "fast-chat", "type": "fallback", "steps": [
        {"model": "openai/gpt-4.1-mini", "key_source": "own_then_platform"},
        {"model": "anthropic/claude-sonnet-4-5"}]}))
        .await;
    let expected = [
        ("chat-completions.json", StatusCode::OK),
        ("chat-completions-stream.json", StatusCode::OK),
        ("messages.json", StatusCode::OK),
        ("messages-stream.json", StatusCode::OK),
        ("messages-count-tokens.json", StatusCode::OK),
        ("embeddings.json", StatusCode::OK),
        ("models.json", StatusCode::OK),
        ("verify.json", StatusCode::OK),
    ];
    let r = events::run_fixtures(
        "byok-router",
        &g.app,
        &g.org.admin,
        &expected,
        str::to_owned,
    )
    .await;
    assert_eq!(
        g.openai.requests().len() + g.anthropic.requests().len() + g.google.requests().len(),
        7
    );
    // messages-count-tokens.json: Anthropic's count ("You are terse." 3 + "Name three primary colours." 4).
    let counted = &r["messages-count-tokens.json"];
    assert_eq!(counted.body, json!({"input_tokens": 7}), "{}", counted.text);

    // chat-completions.json: policy/fast-chat answered by its first step, with the org's own key.
    let chat = &r["chat-completions.json"];
    assert_eq!(chat.body["object"], "chat.completion", "{}", chat.text);
    assert_eq!(chat.body["model"], "openai/gpt-4.1-mini");
    assert_eq!(
        chat.body["choices"][0]["message"]["content"],
        "Hello from mock openai."
    );
    assert!(
        chat.body["usage"]["cost"].as_f64().is_some_and(|c| c > 0.0),
        "{}",
        chat.text
    );
    let attempts = chat.headers["x-byok-attempts"].to_str().unwrap();
    assert!(
        attempts.starts_with("model=openai/gpt-4.1-mini;key=own;outcome=ok;ms="),
        "{attempts}"
    );
    // chat-completions-stream.json: OpenAI SSE, the text, a priced usage chunk, then [DONE].
    let events = sse_data(&r["chat-completions-stream.json"].text);
    assert_eq!(
        events.last().map(String::as_str),
        Some("[DONE]"),
        "{events:?}"
    );
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).expect("a JSON chunk"))
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Hello from mock anthropic.");
    assert!(
        chunks
            .iter()
            .all(|c| c["model"] == "anthropic/claude-sonnet-4-5"),
        "{chunks:?}"
    );
    let usage = chunks
        .iter()
        .find(|c| !c["usage"].is_null())
        .expect("include_usage");
    assert!(
        usage["usage"]["cost"].as_f64().is_some_and(|c| c > 0.0),
        "{usage}"
    );
    // messages.json: an Anthropic message.
    let message = &r["messages.json"];
    assert_eq!(
        (&message.body["type"], &message.body["model"]),
        (&json!("message"), &json!("anthropic/claude-sonnet-4-5")),
        "{}",
        message.text
    );
    assert_eq!(
        message.body["content"][0]["text"],
        "Hello from mock anthropic."
    );
    // messages-stream.json: Anthropic SSE from message_start to message_stop, no error event.
    let stream = &r["messages-stream.json"].text;
    let names: Vec<&str> = stream
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(names.first(), Some(&"message_start"), "{stream}");
    assert_eq!(names.last(), Some(&"message_stop"), "{stream}");
    assert!(!names.contains(&"error"), "{stream}");
    let text: String = sse_data(stream)
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        text, "Hello from mock openai.",
        "policy/fast-chat's first step"
    );
    // embeddings.json: one vector per input.
    let embeddings = &r["embeddings.json"].body;
    assert_eq!(embeddings["model"], "openai/text-embedding-3-small");
    let vectors = embeddings["data"].as_array().expect("data");
    assert_eq!(vectors.len(), 2, "{embeddings}");
    assert!(
        vectors
            .iter()
            .all(|v| !v["embedding"].as_array().unwrap().is_empty())
    );
    // models.json: the catalogue and the org's policies.
    let ids: Vec<&str> = r["models.json"].body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in [
        "policy/fast-chat",
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    // verify.json: the stored openai key, checked with the provider.
    assert_eq!(
        r["verify.json"].body["valid"], true,
        "{}",
        r["verify.json"].text
    );
    // Every call reached the provider with the org's own key, never the platform's.
    for (p, mock) in [
        (Provider::OpenAi, &g.openai),
        (Provider::Anthropic, &g.anthropic),
    ] {
        for seen in mock.requests() {
            assert_eq!(key_seen(p, &seen), own_key(p), "{p} {}", seen.path);
        }
    }
}
