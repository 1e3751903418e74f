//! Real agent traffic (Claude Code's own request, captured from the client, and its follow-up turns with
//! tool results) translated from the Anthropic format to OpenAI, Gemini and xAI and back, through the
//! strict mocks: a field a provider does not know, a wrong role or an orphan tool result fails here as the
//! real API would refuse it. Streams are checked against Anthropic's event grammar, event by event.

use std::time::Duration;

use byok_mock_providers::{Behaviour, Kind, MockProvider, ToolCallSpec};
use byok_shared::Secret;
use byok_shared::config::ProviderUrls;
use byok_shared::domain::provider::Provider;
use byok_shared::providers::{
    AttemptPlan, ChatOutcome, ClientFormat, ClientHeaders, ProviderClient, ProviderError,
    RequestBody, StreamEvent,
};
use futures::StreamExt;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(5);
const TRANSLATED: [Kind; 3] = [Kind::OpenAi, Kind::Google, Kind::Xai];

fn claude_code(stream: bool, model: &str) -> Value {
    let mut body: Value = serde_json::from_str(include_str!(
        "../../shared/tests/fixtures/claude_code_request.json"
    ))
    .unwrap();
    body["stream"] = stream.into();
    body["model"] = model.into();
    body
}

fn model(kind: Kind) -> &'static str {
    match kind {
        Kind::OpenAi => "o3",
        Kind::Google => "gemini-2.5-pro",
        Kind::Xai => "grok-4",
        Kind::Anthropic => "claude-sonnet-4-5",
    }
}

fn provider(kind: Kind) -> Provider {
    match kind {
        Kind::OpenAi => Provider::OpenAi,
        Kind::Anthropic => Provider::Anthropic,
        Kind::Google => Provider::Google,
        Kind::Xai => Provider::Xai,
    }
}

async fn setup(kind: Kind) -> (MockProvider, ProviderClient) {
    let mock = MockProvider::start(kind).await;
    let url = mock.base_url();
    let urls = ProviderUrls {
        openai: url.clone(),
        anthropic: url.clone(),
        google: url.clone(),
        xai: url,
    };
    (mock, ProviderClient::new(urls))
}

/// One Anthropic-format attempt at `provider`'s `model`, with the client's `headers`.
async fn attempt(
    client: &ProviderClient,
    provider: Provider,
    model: &str,
    body: &Value,
    headers: &ClientHeaders,
) -> Result<ChatOutcome, ProviderError> {
    let body = &RequestBody::from(body.clone());
    let plan = AttemptPlan {
        provider,
        model,
        stream: body
            .get("stream")
            .and_then(|s| s.as_bool())
            .unwrap_or(false),
        format: ClientFormat::Anthropic,
        body,
        headers,
        auto_cache: false,
    };
    client.chat(&Secret::new("agent-key-1234"), &plan, T).await
}

async fn chat(client: &ProviderClient, kind: Kind, body: &Value) -> ChatOutcome {
    attempt(
        client,
        provider(kind),
        model(kind),
        body,
        &ClientHeaders::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

/// Anthropic's stream grammar: `message_start`; blocks numbered from 0 in order, each opened, given deltas
/// of its own kind only, and closed before the next opens; one `message_delta` with usage after the last
/// block; `message_stop` last. Returns the blocks as (type, accumulated text or JSON).
fn check_grammar(events: &[StreamEvent]) -> Vec<(String, String)> {
    let names: Vec<&str> = events.iter().map(|e| e.event.expect("named")).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{names:?}");
    assert_eq!(names.last(), Some(&"message_stop"), "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "message_delta").count(),
        1,
        "{names:?}"
    );
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut open: Option<usize> = None;
    let mut delta_seen = false;
    for e in &events[1..events.len() - 1] {
        let d = &e.data;
        assert_eq!(d["type"], e.event.unwrap(), "data.type names the event");
        match e.event.unwrap() {
            "ping" => {}
            "content_block_start" => {
                assert!(open.is_none() && !delta_seen, "{names:?}");
                let index = d["index"].as_u64().unwrap() as usize;
                assert_eq!(index, blocks.len(), "indices count up from 0");
                let kind = d["content_block"]["type"].as_str().unwrap().to_owned();
                if kind == "tool_use" {
                    assert!(
                        d["content_block"]["id"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty())
                    );
                    assert!(
                        d["content_block"]["name"]
                            .as_str()
                            .is_some_and(|s| !s.is_empty())
                    );
                    assert_eq!(d["content_block"]["input"], json!({}));
                }
                blocks.push((kind, String::new()));
                open = Some(index);
            }
            "content_block_delta" => {
                let index = d["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(index), "a delta for the open block");
                let (kind, acc) = &mut blocks[index];
                let delta = &d["delta"];
                let piece = match (kind.as_str(), delta["type"].as_str().unwrap()) {
                    ("text", "text_delta") => delta["text"].as_str(),
                    ("thinking", "thinking_delta") => delta["thinking"].as_str(),
                    ("thinking", "signature_delta") => Some(""),
                    ("tool_use", "input_json_delta") => delta["partial_json"].as_str(),
                    other => panic!("a {other:?} delta does not belong there"),
                };
                acc.push_str(piece.unwrap());
            }
            "content_block_stop" => {
                assert_eq!(open.take(), d["index"].as_u64().map(|i| i as usize));
            }
            "message_delta" => {
                assert!(open.is_none(), "every block closed before message_delta");
                delta_seen = true;
                assert!(d["delta"]["stop_reason"].is_string());
                assert!(d["usage"]["output_tokens"].as_u64().unwrap() > 0);
                assert!(e.usage.is_some());
            }
            other => panic!("unexpected event {other}"),
        }
    }
    for (kind, acc) in &blocks {
        if kind == "tool_use" {
            serde_json::from_str::<Value>(acc).expect("the input_json_deltas join into JSON");
        }
    }
    blocks
}

#[tokio::test]
async fn claude_codes_request_reaches_every_other_provider_whole_and_streamed() {
    for kind in TRANSLATED {
        let (mock, client) = setup(kind).await;
        let ChatOutcome::Complete(done) =
            chat(&client, kind, &claude_code(false, model(kind))).await
        else {
            panic!("whole answer expected")
        };
        let body = done.body.to_value();
        assert_eq!(body["type"], "message");
        assert_eq!(
            body["content"][0]["text"],
            format!("Hello from mock {}.", kind.as_str())
        );
        let ChatOutcome::Stream(s) = chat(&client, kind, &claude_code(true, model(kind))).await
        else {
            panic!("stream expected")
        };
        let events: Vec<StreamEvent> = s.events.map(|e| e.unwrap()).collect().await;
        let blocks = check_grammar(&events);
        assert_eq!(
            blocks,
            vec![("text".into(), format!("Hello from mock {}.", kind.as_str()))]
        );
        let seen = mock.requests();
        assert_eq!(seen.len(), 2, "{kind:?}: no retry");
        for r in seen {
            let wire = r.body.to_string();
            for field in ["cache_control", "context_management", "output_config"] {
                assert!(!wire.contains(field), "{kind:?}: {field}");
            }
        }
    }
}

#[tokio::test]
async fn tool_calls_stream_in_anthropic_grammar_from_every_provider() {
    for kind in TRANSLATED {
        let (mock, client) = setup(kind).await;
        mock.script(Behaviour {
            reasoning: Some("I should read it.".into()),
            tool_call: Some(ToolCallSpec {
                name: "Read".into(),
                arguments: json!({"file_path": "/tmp/notes.txt", "limit": 20}),
            }),
            ..Behaviour::default()
        });
        let ChatOutcome::Stream(s) = chat(&client, kind, &claude_code(true, model(kind))).await
        else {
            panic!("stream expected")
        };
        let events: Vec<StreamEvent> = s.events.map(|e| e.unwrap()).collect().await;
        let blocks = check_grammar(&events);
        let tool = blocks
            .iter()
            .find(|(k, _)| k == "tool_use")
            .expect("a tool block");
        assert_eq!(
            serde_json::from_str::<Value>(&tool.1).unwrap(),
            json!({"file_path": "/tmp/notes.txt", "limit": 20}),
            "{kind:?}"
        );
        assert_eq!(blocks[0].0, "thinking", "{kind:?}: reasoning first");
        let delta = events
            .iter()
            .find(|e| e.event == Some("message_delta"))
            .unwrap();
        assert_eq!(delta.data["delta"]["stop_reason"], "tool_use", "{kind:?}");
    }
}

/// Claude Code's next turn: the assistant's thinking and tool calls, then results with an error and an
/// image, then a mid-conversation system message.
fn follow_up(kind: Kind) -> Value {
    let mut body = claude_code(false, model(kind));
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": [
        {"type": "thinking", "thinking": "", "signature": "EqQBCgIYAh"},
        {"type": "redacted_thinking", "data": "EmwKAhgB"},
        {"type": "text", "text": "Reading both."},
        {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/a"}},
        {"type": "tool_use", "id": "toolu_02", "name": "Read", "input": {"file_path": "/b.png"}}]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "is_error": true,
            "content": [{"type": "text", "text": "File does not exist."}]},
        {"type": "tool_result", "tool_use_id": "toolu_02", "content": [
            {"type": "text", "text": "An image:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}],
            "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "<system-reminder>keep going</system-reminder>"}]}));
    messages
        .push(json!({"role": "system", "content": [{"type": "text", "text": "Tools changed."}]}));
    messages.push(json!({"role": "user", "content": "Go on."}));
    body
}

#[tokio::test]
async fn follow_up_turns_with_tool_results_pass_the_strict_apis() {
    for kind in TRANSLATED {
        let (mock, client) = setup(kind).await;
        let ChatOutcome::Complete(done) = chat(&client, kind, &follow_up(kind)).await else {
            panic!("whole answer expected")
        };
        assert_eq!(done.body.to_value()["stop_reason"], "end_turn");
        let sent = &mock.requests()[0].body;
        match kind {
            Kind::Google => {
                let turns = sent["contents"].as_array().unwrap();
                let roles: Vec<&str> = turns.iter().map(|c| c["role"].as_str().unwrap()).collect();
                assert_eq!(roles, ["user", "model", "user", "user"]);
                let results = turns[2]["parts"].as_array().unwrap();
                assert_eq!(
                    results[0]["functionResponse"]["response"],
                    json!({"error": "File does not exist."})
                );
                assert!(
                    results
                        .iter()
                        .any(|p| p["inlineData"]["data"] == "iVBORw0KGgo=")
                );
                let system = sent["systemInstruction"]["parts"][0]["text"]
                    .as_str()
                    .unwrap();
                assert!(system.ends_with("Tools changed."));
            }
            _ => {
                let msgs = sent["messages"].as_array().unwrap();
                let roles: Vec<&str> = msgs.iter().map(|m| m["role"].as_str().unwrap()).collect();
                assert_eq!(
                    roles,
                    [
                        "system",
                        "user",
                        "system",
                        "assistant",
                        "tool",
                        "tool",
                        "user",
                        "user",
                        "system",
                        "user"
                    ],
                    "{kind:?}"
                );
                assert_eq!(msgs[4]["content"], "Error: File does not exist.");
                assert_eq!(
                    msgs[6]["content"][0]["image_url"]["url"],
                    "data:image/png;base64,iVBORw0KGgo="
                );
                assert_eq!(msgs[3]["tool_calls"].as_array().unwrap().len(), 2);
            }
        }
    }
}

/// Claude Code's body carries beta fields (`context_management`, `output_config`, adaptive thinking,
/// system-role messages, `defer_loading`): Anthropic refuses them unless their betas are named in
/// `anthropic-beta`, so a passthrough forwards the client's header (and its `anthropic-version`).
#[tokio::test]
async fn anthropic_beta_fields_pass_with_the_clients_beta_header_and_only_with_it() {
    let (mock, client) = setup(Kind::Anthropic).await;
    let body = claude_code(false, "claude-sonnet-4-5");
    let betas = "context-management-2025-06-27,effort-2025-11-24,\
                 mid-conversation-tool-changes-2026-07-01,advanced-tool-use-2025-11-20";
    let with_betas = ClientHeaders {
        anthropic_version: Some("2023-06-01".into()),
        anthropic_beta: Some(betas.into()),
    };
    let served = attempt(
        &client,
        Provider::Anthropic,
        "claude-sonnet-4-5",
        &body,
        &with_betas,
    )
    .await
    .unwrap_or_else(|e| panic!("refused although the betas were named: {e}"));
    assert!(matches!(served, ChatOutcome::Complete(_)));
    let seen = mock.requests().pop().unwrap();
    assert_eq!(seen.header("anthropic-beta"), Some(betas));
    assert_eq!(seen.header("anthropic-version"), Some("2023-06-01"));
    let err = attempt(
        &client,
        Provider::Anthropic,
        "claude-sonnet-4-5",
        &body,
        &ClientHeaders::default(),
    )
    .await
    .expect_err("refused without the betas");
    assert!(
        err.message.contains("Extra inputs are not permitted"),
        "{}",
        err.message
    );
    assert_eq!(mock.requests().len(), 2);
    // Without the beta fields, the same conversation passes.
    let mut plain = claude_code(false, "claude-sonnet-4-5");
    let obj = plain.as_object_mut().unwrap();
    obj.remove("context_management");
    obj.remove("output_config");
    obj.insert(
        "thinking".into(),
        json!({"type": "enabled", "budget_tokens": 4096}),
    );
    obj["messages"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["role"] != "system");
    obj["tools"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .for_each(|t| {
            t.as_object_mut().unwrap().remove("defer_loading");
        });
    assert!(matches!(
        chat(&client, Kind::Anthropic, &plain).await,
        ChatOutcome::Complete(_)
    ));
}
