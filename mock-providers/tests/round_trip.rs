//! Every adapter through the mock providers: JSON and streaming, both client formats, tools, structured
//! output, embeddings, model lists, and every error class.

use std::time::Duration;

use byok_mock_providers::{Behaviour, Kind, MockProvider, MockUsage, ToolCallSpec};
use byok_shared::Secret;
use byok_shared::config::ProviderUrls;
use byok_shared::domain::provider::Provider;
use byok_shared::providers::{
    AttemptPlan, ChatOutcome, ClientFormat, ClientHeaders, Completed, ErrorClass, ProviderClient,
    ProviderError, RequestBody, StreamEvent,
};
use futures::StreamExt;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(5);

fn provider(kind: Kind) -> Provider {
    match kind {
        Kind::OpenAi => Provider::OpenAi,
        Kind::Anthropic => Provider::Anthropic,
        Kind::Google => Provider::Google,
        Kind::Xai => Provider::Xai,
    }
}

fn model(kind: Kind) -> &'static str {
    match kind {
        Kind::OpenAi => "gpt-4.1-mini",
        Kind::Anthropic => "claude-haiku-4-5",
        Kind::Google => "gemini-2.5-flash",
        Kind::Xai => "grok-3-mini",
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

fn key(kind: Kind) -> Secret {
    Secret::new(format!("{}-key-1234", kind.as_str()))
}

fn body(format: ClientFormat, kind: Kind, stream: bool) -> Value {
    match format {
        ClientFormat::OpenAi => {
            json!({"model": model(kind), "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            "stream": stream, "stream_options": {"include_usage": true}})
        }
        ClientFormat::Anthropic => {
            json!({"model": model(kind), "max_tokens": 100, "system": "Be brief.", "messages": [{"role": "user", "content": "Hi"}], "stream": stream})
        }
        ClientFormat::Responses => {
            json!({"model": model(kind), "instructions": "Be brief.", "input": [{"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}], "stream": stream})
        }
    }
}

static NO_HEADERS: ClientHeaders = ClientHeaders {
    anthropic_version: None,
    anthropic_beta: None,
};

/// The attempt at `model` of `provider` with the caller's `body` (streaming as the body says).
fn plan<'a>(
    provider: Provider,
    model: &'a str,
    format: ClientFormat,
    body: &'a RequestBody,
) -> AttemptPlan<'a> {
    AttemptPlan {
        provider,
        model,
        stream: body
            .get("stream")
            .and_then(|s| s.as_bool())
            .unwrap_or(false),
        format,
        body,
        headers: &NO_HEADERS,
        auto_cache: false,
    }
}

async fn chat(
    client: &ProviderClient,
    kind: Kind,
    format: ClientFormat,
    body: &Value,
) -> Result<ChatOutcome, ProviderError> {
    let body = RequestBody::from(body.clone());
    let plan = plan(provider(kind), model(kind), format, &body);
    client.chat(&key(kind), &plan, T).await
}

async fn complete(
    client: &ProviderClient,
    kind: Kind,
    format: ClientFormat,
    body: &Value,
) -> Result<Completed, ProviderError> {
    match chat(client, kind, format, body).await? {
        ChatOutcome::Complete(c) => Ok(c),
        ChatOutcome::Stream(_) => panic!("expected a whole answer"),
    }
}

async fn stream(
    client: &ProviderClient,
    kind: Kind,
    format: ClientFormat,
    body: &Value,
) -> Vec<Result<StreamEvent, ProviderError>> {
    match chat(client, kind, format, body)
        .await
        .expect("stream starts")
    {
        ChatOutcome::Stream(s) => s.events.collect().await,
        ChatOutcome::Complete(_) => panic!("expected a stream"),
    }
}

fn text_of(format: ClientFormat, body: &Value) -> String {
    match format {
        ClientFormat::OpenAi => body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ClientFormat::Anthropic => body["content"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect(),
        ClientFormat::Responses => body["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["type"] == "message")
            .flat_map(|i| i["content"].as_array().unwrap().iter())
            .filter_map(|p| p["text"].as_str())
            .collect(),
    }
}

fn streamed_text(format: ClientFormat, events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match format {
            ClientFormat::OpenAi => e
                .data
                .pointer("/choices/0/delta/content")
                .and_then(Value::as_str),
            ClientFormat::Anthropic => e.data.pointer("/delta/text").and_then(Value::as_str),
            ClientFormat::Responses => (e.event == Some("response.output_text.delta"))
                .then(|| e.data["delta"].as_str())
                .flatten(),
        })
        .collect()
}

const FORMATS: [ClientFormat; 3] = [
    ClientFormat::OpenAi,
    ClientFormat::Anthropic,
    ClientFormat::Responses,
];

#[tokio::test]
async fn whole_answers_every_provider_both_formats() {
    for kind in Kind::ALL {
        let (mock, client) = setup(kind).await;
        for format in FORMATS {
            mock.script(Behaviour {
                usage: Some(MockUsage {
                    input: 20,
                    output: 4,
                    cached: 5,
                    reasoning: 0,
                    cache_write: 0,
                }),
                ..Behaviour::default()
            });
            let c = complete(&client, kind, format, &body(format, kind, false))
                .await
                .unwrap();
            assert_eq!(
                text_of(format, &c.body.to_value()),
                format!("Hello from mock {}.", kind.as_str()),
                "{kind:?} {format:?}"
            );
            assert_eq!(
                c.body.to_value()["model"],
                format!("{}/{}", kind.as_str(), model(kind))
            );
            assert_eq!(
                (
                    c.usage.input_tokens,
                    c.usage.output_tokens,
                    c.usage.cached_tokens
                ),
                (20, 4, 5),
                "{kind:?} {format:?}"
            );
        }
        // The key reached this provider in its own header, and never in the URL.
        for r in mock.requests() {
            let k = key(kind);
            let sent = match kind {
                Kind::OpenAi | Kind::Xai => r
                    .header("authorization")
                    .map(|v| v == format!("Bearer {}", k.expose())),
                Kind::Anthropic => r.header("x-api-key").map(|v| {
                    v == k.expose() && r.header("anthropic-version") == Some("2023-06-01")
                }),
                Kind::Google => r.header("x-goog-api-key").map(|v| v == k.expose()),
            };
            assert_eq!(sent, Some(true), "{kind:?}");
            assert!(!r.path.contains("key="), "{}", r.path);
        }
    }
}

#[tokio::test]
async fn streams_every_provider_both_formats() {
    for kind in Kind::ALL {
        let (mock, client) = setup(kind).await;
        for format in FORMATS {
            mock.script(Behaviour {
                text: Some("one two three four five".into()),
                reasoning: Some("think".into()),
                ..Behaviour::default()
            });
            let items = stream(&client, kind, format, &body(format, kind, true)).await;
            let events: Vec<StreamEvent> = items
                .into_iter()
                .map(|i| i.unwrap_or_else(|e| panic!("{kind:?} {format:?}: {e}")))
                .collect();
            assert_eq!(
                streamed_text(format, &events),
                "one two three four five",
                "{kind:?} {format:?}"
            );
            let first_content = events.iter().position(|e| e.is_content).unwrap();
            assert!(
                first_content > 0,
                "{kind:?} {format:?}: something precedes content"
            );
            let with_usage: Vec<_> = events.iter().filter(|e| e.usage.is_some()).collect();
            assert_eq!(with_usage.len(), 1, "{kind:?} {format:?}");
            assert!(with_usage[0].usage.unwrap().output_tokens > 0);
            match format {
                ClientFormat::Anthropic => {
                    assert_eq!(events.last().unwrap().event, Some("message_stop"))
                }
                ClientFormat::Responses => {
                    let last = events.last().unwrap();
                    assert_eq!(last.event, Some("response.completed"), "{kind:?}");
                    assert!(last.usage.is_some());
                    for (i, e) in events.iter().enumerate() {
                        assert_eq!(e.data["sequence_number"], i as u64, "{kind:?}");
                    }
                }
                ClientFormat::OpenAi => {
                    assert!(events.iter().any(
                        |e| e.data.pointer("/choices/0/finish_reason") == Some(&json!("stop"))
                    ));
                    assert!(events.iter().any(|e| {
                        e.data
                            .pointer("/choices/0/delta/reasoning_content")
                            .is_some()
                            || e.data.pointer("/choices/0/delta/content").is_some()
                    }));
                }
            }
        }
        // Usage is always requested upstream from OpenAI-compatible providers.
        if matches!(kind, Kind::OpenAi | Kind::Xai) {
            assert!(
                mock.requests()
                    .iter()
                    .filter(|r| r.path == "/v1/chat/completions")
                    .all(|r| r.body["stream_options"]["include_usage"] == true)
            );
        }
    }
}

#[tokio::test]
async fn tool_calls_whole_and_streamed() {
    let tool = ToolCallSpec {
        name: "get_weather".into(),
        arguments: json!({"city": "Paris"}),
    };
    for kind in Kind::ALL {
        let (mock, client) = setup(kind).await;
        for format in FORMATS {
            let mut b = body(format, kind, false);
            b["tools"] = match format {
                ClientFormat::OpenAi => {
                    json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
                }
                ClientFormat::Anthropic => {
                    json!([{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
                }
                ClientFormat::Responses => {
                    json!([{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])
                }
            };
            mock.script(Behaviour {
                tool_call: Some(tool.clone()),
                ..Behaviour::default()
            });
            let c = complete(&client, kind, format, &b).await.unwrap();
            let args = match format {
                ClientFormat::OpenAi => {
                    assert_eq!(
                        c.body.to_value()["choices"][0]["finish_reason"],
                        "tool_calls",
                        "{kind:?}"
                    );
                    serde_json::from_str::<Value>(
                        c.body.to_value()["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
                            .as_str()
                            .unwrap(),
                    )
                    .unwrap()
                }
                ClientFormat::Anthropic => {
                    assert_eq!(c.body.to_value()["stop_reason"], "tool_use", "{kind:?}");
                    c.body.to_value()["content"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|b| b["type"] == "tool_use")
                        .unwrap()["input"]
                        .clone()
                }
                ClientFormat::Responses => {
                    let call = c.body.to_value()["output"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|i| i["type"] == "function_call")
                        .unwrap()
                        .clone();
                    assert_eq!(call["name"], "get_weather", "{kind:?}");
                    serde_json::from_str::<Value>(call["arguments"].as_str().unwrap()).unwrap()
                }
            };
            assert_eq!(args, json!({"city": "Paris"}), "{kind:?} {format:?}");

            b["stream"] = true.into();
            mock.script(Behaviour {
                tool_call: Some(tool.clone()),
                ..Behaviour::default()
            });
            let events: Vec<StreamEvent> = stream(&client, kind, format, &b)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            let streamed: String = events
                .iter()
                .filter_map(|e| match format {
                    ClientFormat::OpenAi => e
                        .data
                        .pointer("/choices/0/delta/tool_calls/0/function/arguments")
                        .and_then(Value::as_str),
                    ClientFormat::Anthropic => e
                        .data
                        .pointer("/delta/partial_json")
                        .and_then(Value::as_str),
                    ClientFormat::Responses => (e.event
                        == Some("response.function_call_arguments.delta"))
                    .then(|| e.data["delta"].as_str())
                    .flatten(),
                })
                .collect();
            assert_eq!(
                serde_json::from_str::<Value>(&streamed).unwrap(),
                json!({"city": "Paris"}),
                "{kind:?} {format:?}"
            );
        }
    }
}

#[tokio::test]
async fn structured_output_reaches_each_provider_in_its_form() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": false});
    for kind in Kind::ALL {
        let (mock, client) = setup(kind).await;
        let mut b = body(ClientFormat::OpenAi, kind, false);
        b["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "a", "schema": schema, "strict": true}});
        mock.script(Behaviour {
            text: Some("{\"answer\":\"4\"}".into()),
            ..Behaviour::default()
        });
        let c = complete(&client, kind, ClientFormat::OpenAi, &b)
            .await
            .unwrap();
        assert_eq!(
            c.body.to_value()["choices"][0]["message"]["content"],
            "{\"answer\":\"4\"}"
        );
        let sent = &mock.requests()[0].body;
        match kind {
            Kind::OpenAi | Kind::Xai => {
                assert_eq!(sent["response_format"]["json_schema"]["schema"], schema)
            }
            Kind::Anthropic => assert!(sent["system"].as_str().unwrap().contains("\"answer\"")),
            Kind::Google => {
                assert_eq!(
                    sent["generationConfig"]["responseMimeType"],
                    "application/json"
                );
                assert!(
                    sent["generationConfig"]["responseSchema"]
                        .get("additionalProperties")
                        .is_none()
                );
            }
        }
    }
}

#[tokio::test]
async fn anthropic_in_anthropic_out_passes_through() {
    let (mock, client) = setup(Kind::Anthropic).await;
    let b = json!({"model": "claude-haiku-4-5", "max_tokens": 50, "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}],
        "top_k": 5, "service_tier": "auto"});
    complete(&client, Kind::Anthropic, ClientFormat::Anthropic, &b)
        .await
        .unwrap();
    assert_eq!(mock.requests()[0].body, b);
}

#[tokio::test]
async fn embeddings_and_model_lists() {
    for kind in [Kind::OpenAi, Kind::Google] {
        let (mock, client) = setup(kind).await;
        let m = if kind == Kind::OpenAi {
            "text-embedding-3-small"
        } else {
            "gemini-embedding-001"
        };
        for input in [json!("hello world"), json!(["a", "b c"])] {
            let body = json!({"model": m, "input": input});
            let c = client
                .embeddings(
                    &key(kind),
                    &plan(
                        provider(kind),
                        m,
                        ClientFormat::OpenAi,
                        &RequestBody::from(body),
                    ),
                    T,
                )
                .await
                .unwrap();
            let n = if input.is_array() { 2 } else { 1 };
            assert_eq!(
                c.body.to_value()["data"].as_array().unwrap().len(),
                n,
                "{kind:?}"
            );
            assert_eq!(
                c.body.to_value()["data"][0]["embedding"]
                    .as_array()
                    .unwrap()
                    .len(),
                8
            );
            assert_eq!(c.body.to_value()["object"], "list");
        }
        let paths: Vec<String> = mock.requests().into_iter().map(|r| r.path).collect();
        if kind == Kind::Google {
            assert_eq!(
                paths,
                [
                    "/v1beta/models/gemini-embedding-001:embedContent",
                    "/v1beta/models/gemini-embedding-001:batchEmbedContents"
                ]
            );
        }
    }
    let (_m, client) = setup(Kind::Anthropic).await;
    let body = json!({"model": "x", "input": "y"});
    let e = client
        .embeddings(
            &key(Kind::Anthropic),
            &plan(
                Provider::Anthropic,
                "x",
                ClientFormat::OpenAi,
                &RequestBody::from(body),
            ),
            T,
        )
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::CallerError);
    for kind in Kind::ALL {
        let (_mock, client) = setup(kind).await;
        let models = client
            .list_models(provider(kind), &key(kind))
            .await
            .unwrap();
        assert!(
            models.iter().any(|m| m == model(kind)),
            "{kind:?}: {models:?}"
        );
    }
}

async fn class_of(kind: Kind, b: Behaviour) -> ProviderError {
    let (mock, client) = setup(kind).await;
    mock.script(b);
    complete(
        &client,
        kind,
        ClientFormat::OpenAi,
        &body(ClientFormat::OpenAi, kind, false),
    )
    .await
    .unwrap_err()
}

#[tokio::test]
async fn every_error_class() {
    let retry = class_of(
        Kind::OpenAi,
        Behaviour {
            status: Some(429),
            retry_after: Some(3),
            ..Behaviour::default()
        },
    )
    .await;
    assert_eq!(
        (retry.class, retry.status, retry.retry_after),
        (
            ErrorClass::RateLimited,
            Some(429),
            Some(Duration::from_secs(3))
        )
    );
    let quota = class_of(
        Kind::OpenAi,
        Behaviour {
            status: Some(429),
            error_code: Some("insufficient_quota".into()),
            ..Behaviour::default()
        },
    )
    .await;
    assert_eq!(quota.class, ErrorClass::KeyRejected);
    assert_eq!(
        class_of(Kind::Anthropic, Behaviour::status(529))
            .await
            .class,
        ErrorClass::Overloaded
    );
    assert_eq!(
        class_of(Kind::Google, Behaviour::status(503)).await.class,
        ErrorClass::Overloaded
    );
    for kind in Kind::ALL {
        for (status, class) in [
            (500, ErrorClass::Server),
            (502, ErrorClass::Server),
            (401, ErrorClass::KeyRejected),
            (402, ErrorClass::KeyRejected),
            (403, ErrorClass::KeyRejected),
            (400, ErrorClass::CallerError),
            (404, ErrorClass::CallerError),
            (413, ErrorClass::CallerError),
            (422, ErrorClass::CallerError),
        ] {
            let e = class_of(kind, Behaviour::status(status)).await;
            assert_eq!(
                (e.class, e.status),
                (class, Some(status)),
                "{kind:?} {status}"
            );
            assert!(!e.message.contains("1234"), "{}", e.message);
        }
    }
    let refusal = class_of(
        Kind::OpenAi,
        Behaviour {
            status: Some(400),
            error_code: Some("content_policy_violation".into()),
            ..Behaviour::default()
        },
    )
    .await;
    assert_eq!(refusal.class, ErrorClass::Refusal);
    let context = class_of(
        Kind::OpenAi,
        Behaviour {
            status: Some(400),
            error_code: Some("context_length_exceeded".into()),
            ..Behaviour::default()
        },
    )
    .await;
    assert_eq!(context.class, ErrorClass::CallerError);
}

#[tokio::test]
async fn rejected_keys_are_key_problems_and_not_echoed() {
    for kind in Kind::ALL {
        let (_mock, client) = setup(kind).await;
        let bad = Secret::new("sk-invalid-key-9876");
        let e = client.list_models(provider(kind), &bad).await.unwrap_err();
        assert_eq!(e.class, ErrorClass::KeyRejected, "{kind:?}");
        assert!(!e.message.contains("9876"), "{}", e.message);
    }
}

#[tokio::test]
async fn timeouts_connect_errors_stalls_cuts_and_malformed_chunks() {
    let (mock, client) = setup(Kind::OpenAi).await;
    mock.script(Behaviour {
        delay_ms: 2000,
        ..Behaviour::default()
    });
    let b = RequestBody::from(body(ClientFormat::OpenAi, Kind::OpenAi, false));
    let p = plan(
        Provider::OpenAi,
        model(Kind::OpenAi),
        ClientFormat::OpenAi,
        &b,
    );
    let e = client
        .chat(&key(Kind::OpenAi), &p, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Timeout);

    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let url = format!("http://{closed}");
    let nowhere = ProviderClient::new(ProviderUrls {
        openai: url.clone(),
        anthropic: url.clone(),
        google: url.clone(),
        xai: url,
    });
    let e = nowhere
        .list_models(Provider::OpenAi, &key(Kind::OpenAi))
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Connect);

    for kind in Kind::ALL {
        let (mock, client) = setup(kind).await;
        for format in FORMATS {
            let b = body(format, kind, true);
            for (behaviour, class) in [
                (
                    Behaviour {
                        cut_after: Some(2),
                        ..Behaviour::default()
                    },
                    ErrorClass::Server,
                ),
                (
                    Behaviour {
                        malformed_at: Some(1),
                        ..Behaviour::default()
                    },
                    ErrorClass::Server,
                ),
            ] {
                mock.script(behaviour);
                let items = stream(&client, kind, format, &b).await;
                let last = items.last().unwrap().as_ref().unwrap_err();
                assert_eq!(last.class, class, "{kind:?} {format:?}");
            }
            mock.script(Behaviour {
                stall: true,
                ..Behaviour::default()
            });
            let b = RequestBody::from(b.clone());
            let p = plan(provider(kind), model(kind), format, &b);
            let outcome = client
                .chat(&key(kind), &p, Duration::from_millis(300))
                .await
                .unwrap();
            let ChatOutcome::Stream(s) = outcome else {
                panic!("a stream")
            };
            let items: Vec<_> = s.events.collect().await;
            assert_eq!(
                items.last().unwrap().as_ref().unwrap_err().class,
                ErrorClass::Timeout,
                "{kind:?} {format:?}"
            );
        }
    }
}

#[tokio::test]
async fn upstream_stream_errors_are_err_items() {
    let (mock, client) = setup(Kind::Anthropic).await;
    mock.script(Behaviour {
        status: Some(529),
        ..Behaviour::default()
    });
    let e = chat(
        &client,
        Kind::Anthropic,
        ClientFormat::Anthropic,
        &body(ClientFormat::Anthropic, Kind::Anthropic, true),
    )
    .await
    .unwrap_err();
    assert_eq!(e.class, ErrorClass::Overloaded);
}
