//! Gemini API: `GenerateContentResponse` JSON and SSE chunks, embeddings, error bodies.

use serde_json::{Value, json};

use super::{Answer, Frame};

pub fn error_body(status: u16, message: Option<&str>, code: Option<&str>) -> Value {
    let (state, default_message) = match status {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401 => (
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials.",
        ),
        403 => (
            "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        ),
        404 => (
            "NOT_FOUND",
            "models/unknown is not found for API version v1beta, or is not supported for generateContent.",
        ),
        429 => (
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        503 => (
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
        ),
        504 => (
            "DEADLINE_EXCEEDED",
            "Deadline expired before operation could complete.",
        ),
        _ => (
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
    };
    let mut err = json!({"error": {"code": status, "message": message.unwrap_or(default_message), "status": state}});
    if let Some(reason) = code {
        err["error"]["details"] = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}]);
    }
    err
}

pub fn invalid_key() -> Value {
    error_body(
        400,
        Some("API key not valid. Please pass a valid API key."),
        Some("API_KEY_INVALID"),
    )
}

fn usage(a: &Answer) -> Value {
    json!({
        "promptTokenCount": a.usage.input,
        "candidatesTokenCount": a.usage.output.saturating_sub(a.usage.reasoning),
        "thoughtsTokenCount": a.usage.reasoning,
        "cachedContentTokenCount": a.usage.cached,
        "totalTokenCount": a.usage.input + a.usage.output,
    })
}

fn response(a: &Answer, parts: Vec<Value>, finish: bool, with_usage: bool) -> Value {
    let mut cand = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if finish {
        cand["finishReason"] = "STOP".into();
    }
    let mut r =
        json!({"candidates": [cand], "modelVersion": a.model, "responseId": "mock-response-id"});
    if with_usage {
        r["usageMetadata"] = usage(a);
    }
    r
}

fn call_part(a: &Answer) -> Option<Value> {
    a.tool_call
        .as_ref()
        .map(|t| json!({"functionCall": {"name": t.name, "args": t.arguments}}))
}

pub fn chat_json(a: &Answer) -> Value {
    let mut parts = Vec::new();
    if let Some(r) = &a.reasoning {
        parts.push(json!({"text": r, "thought": true}));
    }
    match call_part(a) {
        Some(c) => parts.push(c),
        None => parts.push(json!({"text": a.text})),
    }
    response(a, parts, true, true)
}

pub fn chat_stream(a: &Answer) -> Vec<Frame> {
    let mut frames = Vec::new();
    if let Some(r) = &a.reasoning {
        frames.push(Frame::data(response(
            a,
            vec![json!({"text": r, "thought": true})],
            false,
            false,
        )));
    }
    match call_part(a) {
        Some(c) => frames.push(Frame::data(response(a, vec![c], false, false))),
        None => {
            for p in a.pieces() {
                frames.push(Frame::data(response(
                    a,
                    vec![json!({"text": p})],
                    false,
                    false,
                )));
            }
        }
    }
    frames.push(Frame::data(response(
        a,
        vec![json!({"text": ""})],
        true,
        true,
    )));
    frames
}

pub fn embed_one(request: &Value) -> Value {
    let text = request
        .pointer("/content/parts/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({"embedding": {"values": super::openai::vector(text)}})
}

pub fn embed_batch(body: &Value) -> Value {
    let embeddings: Vec<Value> = body
        .get("requests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| embed_one(r)["embedding"].clone())
        .collect();
    json!({"embeddings": embeddings})
}

pub fn models(ids: &[&str]) -> Value {
    let models: Vec<Value> = ids
        .iter()
        .map(|id| json!({"name": format!("models/{id}"), "displayName": id, "supportedGenerationMethods": ["generateContent", "countTokens"]}))
        .collect();
    json!({"models": models})
}
