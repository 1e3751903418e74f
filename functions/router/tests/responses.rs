//! `POST /v1/responses` through the whole router: passed through to OpenAI, translated for Anthropic and
//! Gemini (tools, history, json_schema), the Responses stream grammar event by event, fallover from
//! OpenAI to Anthropic, state only OpenAI keeps refused on routes that may leave it, and errors in
//! OpenAI's shape.

mod common;

use axum::http::StatusCode;
use byok_mock_providers::Behaviour;
use byok_shared::domain::provider::Provider;
use byok_testkit::Backend;
use byok_testkit::http::{Response, assert_error};
use common::*;
use serde_json::{Value, json};

const ALL: [Provider; 4] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Google,
    Provider::Xai,
];

const WEATHER: &str = "get_weather";

fn tools() -> Value {
    json!([{"type": "function", "name": WEATHER, "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

/// A conversation with a finished tool round: the call, its output, and a follow-up.
fn with_history(model: &str) -> Value {
    json!({"model": model, "instructions": "Be brief.", "max_output_tokens": 64, "tools": tools(),
    "tool_choice": "auto", "metadata": {"team": "red"}, "store": false,
    "input": [
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in Paris?"}]},
        {"type": "function_call", "call_id": "call_1", "name": WEATHER, "arguments": "{\"city\":\"Paris\"}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C and sunny"},
        {"role": "user", "content": "And tomorrow?"}
    ]})
}

/// `(event, data)` pairs of an SSE body.
fn events(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).unwrap_or_else(|_| panic!("JSON data: {d}"));
                }
            }
            (name, data)
        })
        .collect()
}

fn output_text(body: &Value) -> String {
    body["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "message")
        .flat_map(|i| i["content"].as_array().unwrap().iter())
        .filter_map(|p| p["text"].as_str())
        .collect()
}

fn assert_cost(usage: &Value, r: &Response) {
    assert!(
        usage["cost"].as_f64().is_some_and(|c| c > 0.0),
        "cost: {}",
        r.text
    );
    assert!(
        usage["input_tokens"].as_u64().is_some_and(|n| n > 0),
        "{}",
        r.text
    );
    assert!(
        usage["output_tokens_details"]["reasoning_tokens"].is_u64(),
        "{}",
        r.text
    );
    assert!(
        usage["input_tokens_details"]["cached_tokens"].is_u64(),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn openai_steps_pass_the_body_through() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    let mut body = with_history("openai/gpt-4.1-mini");
    body["byok"] = json!({"trace_id": "t-1", "tags": ["resp"]});
    let r = g.post("/v1/responses", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["object"], "response");
    assert_eq!(r.body["model"], "openai/gpt-4.1-mini");
    assert_eq!(output_text(&r.body), "Hello from mock openai.");
    assert_cost(&r.body["usage"], &r);
    assert_eq!(r.headers["x-byok-model"], "openai/gpt-4.1-mini");
    let seen = g.openai.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/responses");
    assert_eq!(
        key_seen(Provider::OpenAi, &seen[0]),
        own_key(Provider::OpenAi)
    );
    let mut expected = body.clone();
    let obj = expected.as_object_mut().unwrap();
    obj.remove("byok");
    obj.insert("model".into(), "gpt-4.1-mini".into());
    assert_eq!(
        seen[0].body, expected,
        "forwarded as sent but for model and the extension"
    );

    // Streamed: OpenAI's own events, model replaced, cost in the final event, no `[DONE]`.
    body["stream"] = true.into();
    let r = g.post("/v1/responses", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let evs = events(&r.text);
    assert_eq!(evs[0].0, "response.created");
    assert_eq!(evs[0].1["response"]["model"], "openai/gpt-4.1-mini");
    let (last, data) = evs.last().unwrap();
    assert_eq!(last, "response.completed");
    assert_cost(&data["response"]["usage"], &r);
    assert!(!r.text.contains("[DONE]"));
    let text: String = evs
        .iter()
        .filter(|(e, _)| e == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(text, "Hello from mock openai.");
    assert_eq!(g.openai.requests()[1].body["stream"], true);
}

#[tokio::test]
async fn other_providers_get_the_conversation_translated() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    // Anthropic: instructions → system, the call and its output → tool_use / tool_result, tools with
    // their schema, max_output_tokens → max_tokens.
    let r = g
        .post("/v1/responses", with_history("anthropic/claude-sonnet-4-5"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["model"], "anthropic/claude-sonnet-4-5");
    assert_eq!(r.body["status"], "completed");
    assert_eq!(r.body["instructions"], "Be brief.");
    assert_eq!(r.body["metadata"]["team"], "red");
    assert_eq!(output_text(&r.body), "Hello from mock anthropic.");
    assert_cost(&r.body["usage"], &r);
    let sent = &g.anthropic.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    let b = &sent.body;
    assert_eq!(b["max_tokens"], 64);
    assert!(b["system"].to_string().contains("Be brief."), "{b}");
    assert_eq!(b["tools"][0]["name"], WEATHER);
    assert_eq!(b["tools"][0]["input_schema"], tools()[0]["parameters"]);
    let msgs = b["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["content"][0]["type"], "tool_use");
    assert_eq!(msgs[1]["content"][0]["id"], "call_1");
    assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
    assert_eq!(msgs[2]["content"][0]["tool_use_id"], "call_1");

    // Gemini answering with a tool call: a function_call output item the client can answer.
    let r = g
        .post(
            "/v1/responses",
            with_history("google/gemini-2.5-flash-tool"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let call = r.body["output"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "function_call")
        .unwrap_or_else(|| panic!("a function_call item: {}", r.text));
    assert_eq!(call["name"], WEATHER);
    let args: Value = serde_json::from_str(call["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Paris"}));
    assert!(call["call_id"].as_str().is_some_and(|c| !c.is_empty()));
    let sent = &g.google.requests()[0].body;
    assert_eq!(sent["tools"][0]["functionDeclarations"][0]["name"], WEATHER);
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 64);

    // json_schema and reasoning effort, for xAI (through its chat completions).
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": false});
    let r = g
        .post(
            "/v1/responses",
            json!({"model": "xai/grok-3-mini", "input": "2+2?", "reasoning": {"effort": "low"},
                "text": {"format": {"type": "json_schema", "name": "a", "schema": schema, "strict": true}}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sent = &g.xai.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.body["response_format"]["json_schema"]["schema"],
        schema
    );
    assert_eq!(sent.body["reasoning_effort"], "low");
    assert_eq!(r.body["text"]["format"]["name"], "a", "settings echoed");
}

#[tokio::test]
async fn translated_streams_follow_the_responses_grammar() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    g.anthropic.script(Behaviour {
        text: Some("one two three".into()),
        reasoning: Some("thinking".into()),
        ..Behaviour::default()
    });
    let mut body = with_history("anthropic/claude-sonnet-4-5");
    body["stream"] = true.into();
    let r = g.post("/v1/responses", body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.headers["content-type"], "text/event-stream");
    let evs = events(&r.text);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    let deltas = names
        .iter()
        .filter(|n| **n == "response.output_text.delta")
        .count();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(std::iter::repeat_n("response.output_text.delta", deltas));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names, expected, "{}", r.text);
    assert!(deltas >= 1);
    for (i, (name, data)) in evs.iter().enumerate() {
        assert_eq!(data["sequence_number"], i as u64, "{name}");
        assert_eq!(data["type"], name.as_str());
    }
    let id = &evs[0].1["response"]["id"];
    assert!(id.as_str().unwrap().starts_with("resp_"));
    let (_, done) = evs.last().unwrap();
    assert_eq!(&done["response"]["id"], id);
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(done["response"]["model"], "anthropic/claude-sonnet-4-5");
    assert_eq!(output_text(&done["response"]), "one two three");
    assert_eq!(done["response"]["output"][0]["type"], "reasoning");
    assert_cost(&done["response"]["usage"], &r);
    let item_id = &evs[8].1["item"]["id"];
    for (name, data) in &evs[9..evs.len() - 1] {
        if name != "response.output_item.done" {
            assert_eq!(&data["item_id"], item_id, "{name}");
        }
        assert_eq!(data["output_index"], 1, "{name}");
    }

    // A tool call streamed from Gemini: added, argument deltas, done, item done.
    let mut body = with_history("google/gemini-2.5-flash-tool");
    body["stream"] = true.into();
    let r = g.post("/v1/responses", body).await;
    let evs = events(&r.text);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    let first = names
        .iter()
        .position(|n| *n == "response.output_item.added")
        .unwrap();
    assert_eq!(evs[first].1["item"]["type"], "function_call", "{}", r.text);
    assert_eq!(
        names[names.len() - 3..],
        [
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let args: String = evs
        .iter()
        .filter(|(n, _)| n == "response.function_call_arguments.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&args).unwrap(),
        json!({"city": "Paris"})
    );
}

#[tokio::test]
async fn falls_over_from_openai_to_anthropic() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    g.policy(json!({"name": "resp", "type": "fallback", "steps": [
        {"model": "openai/gpt-4.1-mini-status-500", "key_source": "own", "retries": 0},
        {"model": "anthropic/claude-sonnet-4-5", "key_source": "own"}]}))
        .await;
    for stream in [false, true] {
        let mut body = with_history("policy/resp");
        body["stream"] = stream.into();
        let r = g.post("/v1/responses", body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.headers["x-byok-model"], "anthropic/claude-sonnet-4-5");
        assert_eq!(
            attempts(&r),
            [
                "model=openai/gpt-4.1-mini-status-500;key=own;outcome=http_500",
                "model=anthropic/claude-sonnet-4-5;key=own;outcome=ok"
            ]
        );
        let text = if stream {
            let evs = events(&r.text);
            assert_eq!(evs.last().unwrap().0, "response.completed");
            output_text(&evs.last().unwrap().1["response"])
        } else {
            output_text(&r.body)
        };
        assert_eq!(text, "Hello from mock anthropic.");
    }
    assert!(
        g.openai
            .requests()
            .iter()
            .all(|r| r.path == "/v1/responses")
    );
}

#[tokio::test]
async fn openai_only_state_is_refused_when_the_route_may_leave_openai() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    g.policy(json!({"name": "mixed", "type": "fallback", "steps": [
        {"model": "openai/gpt-4.1-mini", "key_source": "own"},
        {"model": "anthropic/claude-sonnet-4-5", "key_source": "own"}]}))
        .await;
    let cases = [
        (
            json!({"previous_response_id": "resp_abc"}),
            "previous_response_id",
        ),
        (json!({"store": true}), "store"),
        (json!({"conversation": "conv_1"}), "conversation"),
        (json!({"tools": [{"type": "web_search"}]}), "tools"),
    ];
    for (extra, param) in &cases {
        for model in ["policy/mixed", "anthropic/claude-sonnet-4-5"] {
            let mut body = json!({"model": model, "input": "Hi"});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let r = g.post("/v1/responses", body).await;
            let e = assert_error(&r, StatusCode::BAD_REQUEST);
            assert_eq!(e["param"], *param, "{}", r.text);
            let message = e["message"].as_str().unwrap();
            assert!(message.contains("anthropic"), "{}", r.text);
            if *param == "tools" {
                assert!(
                    message.contains("web_search"),
                    "names the tool type: {message}"
                );
            }
        }
    }
    assert!(g.openai.requests().is_empty() && g.anthropic.requests().is_empty());
    // A route that stays on OpenAI carries it.
    let r = g
        .post(
            "/v1/responses",
            json!({"model": "openai/gpt-4.1-mini", "previous_response_id": "resp_abc", "store": true,
                "input": [{"type": "function_call_output", "call_id": "call_9", "output": "1"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        g.openai.requests()[0].body["previous_response_id"],
        "resp_abc"
    );
}

#[tokio::test]
async fn errors_are_openai_shaped() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    // The gateway's own: no model, an unknown parameter or a bad item for a translated route.
    let r = g.post("/v1/responses", json!({"input": "Hi"})).await;
    assert_eq!(assert_error(&r, StatusCode::BAD_REQUEST)["param"], "model");
    for body in [
        json!({"model": "anthropic/claude-sonnet-4-5", "input": "Hi", "colour": "red"}),
        json!({"model": "anthropic/claude-sonnet-4-5", "input": [{"role": "wizard", "content": "x"}]}),
        json!({"model": "google/gemini-2.5-flash"}),
    ] {
        let r = g.post("/v1/responses", body.clone()).await;
        assert_error(&r, StatusCode::BAD_REQUEST);
        assert!(r.body["error"]["message"].is_string(), "{body}");
    }
    assert!(g.anthropic.requests().is_empty() && g.google.requests().is_empty());
    // OpenAI's own refusal comes back as OpenAI sent it (its strict check of max_output_tokens).
    let r = g
        .post(
            "/v1/responses",
            json!({"model": "openai/gpt-4.1-mini", "input": "Hi", "max_output_tokens": 5}),
        )
        .await;
    let e = assert_error(&r, StatusCode::BAD_REQUEST);
    assert!(
        e["message"].as_str().unwrap().contains("max_output_tokens"),
        "{}",
        r.text
    );
    // A stream cut after its first token ends with an `error` event numbered after the last event,
    // never with `response.completed`.
    for model in [
        "openai/gpt-4.1-mini-cut-5",
        "anthropic/claude-sonnet-4-5-cut-5",
    ] {
        let r = g
            .post(
                "/v1/responses",
                json!({"model": model, "input": "Hi", "stream": true}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let evs = events(&r.text);
        let (last, data) = evs.last().unwrap();
        assert_eq!(last, "error", "{model}: {}", r.text);
        assert_eq!(data["type"], "error");
        assert!(
            data["message"].as_str().unwrap().contains("stream"),
            "{}",
            r.text
        );
        assert_eq!(
            data["sequence_number"],
            evs[evs.len() - 2].1["sequence_number"].as_u64().unwrap() + 1
        );
        assert!(!r.text.contains("response.completed"), "{}", r.text);
    }
}

#[tokio::test]
async fn translated_budgets_are_clamped_to_the_target_models_maximum() {
    let g = gateway(Backend::Embedded, &ALL, &[]).await;
    // Claude Code's budget for Claude, sent to an OpenAI model (which gives at most 32768).
    let r = g
        .post(
            "/v1/messages",
            json!({"model": "gpt-4.1", "max_tokens": 64000, "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(g.openai.requests()[0].body["max_completion_tokens"], 32768);
    // A Responses budget for o3, sent to Claude Sonnet 4.5 (64000).
    let r = g
        .post(
            "/v1/responses",
            json!({"model": "anthropic/claude-sonnet-4-5", "max_output_tokens": 100000, "input": "Hi"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(g.anthropic.requests()[0].body["max_tokens"], 64000);
    // Chat to Gemini 2.5 Flash (65536); a budget within the maximum is left alone.
    for (asked, sent) in [(100_000, 65_536), (1000, 1000)] {
        g.google.reset();
        let r = g
            .post(
                "/v1/chat/completions",
                json!({"model": "google/gemini-2.5-flash", "max_tokens": asked, "messages": [{"role": "user", "content": "Hi"}]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            g.google.requests()[0].body["generationConfig"]["maxOutputTokens"],
            sent
        );
    }
    // A passthrough is the caller's own request to its own provider: unchanged, refused as the provider
    // refuses it.
    let r = g
        .post(
            "/v1/messages",
            json!({"model": "anthropic/claude-sonnet-4-5", "max_tokens": 70000, "messages": [{"role": "user", "content": "Hi"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("70000 > 64000"), "{}", r.text);
}
