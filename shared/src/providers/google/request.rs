//! The neutral form → a Gemini `generateContent` body (`contents`/`parts`, `systemInstruction`,
//! `tools.functionDeclarations`, `toolConfig`, `generationConfig` with JSON schema output and thinking).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::providers::ir::{
    ChatRequest, Effort, Image, Part, Reasoning, ResponseFormat, Role, ToolChoice,
};

/// Most stop sequences Gemini accepts.
const MAX_STOP: usize = 5;

/// JSON Schema → the OpenAPI subset Gemini's `Schema` accepts. `$ref`/`$defs` and other keywords Gemini
/// rejects are dropped; `type: [t, "null"]` becomes `type: t, nullable: true`; `const` becomes `enum`.
pub(crate) fn schema(v: &Value) -> Value {
    const KEEP: &[&str] = &[
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    ];
    let Some(obj) = v.as_object() else {
        return v.clone();
    };
    let mut out = Map::new();
    for (k, val) in obj {
        match k.as_str() {
            "properties" => {
                let props = val
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), schema(s)))
                            .collect::<Map<_, _>>()
                    })
                    .unwrap_or_default();
                // Gemini refuses `properties: {}` ("should be non-empty for OBJECT type").
                if !props.is_empty() {
                    out.insert(k.clone(), Value::Object(props));
                }
            }
            "items" => {
                out.insert(k.clone(), schema(val));
            }
            "anyOf" => {
                let list = val
                    .as_array()
                    .map(|a| a.iter().map(schema).collect::<Vec<_>>())
                    .unwrap_or_default();
                out.insert(k.clone(), list.into());
            }
            "type" if val.is_array() => {
                let types: Vec<&str> = val
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if let Some(t) = types.iter().find(|t| **t != "null") {
                    out.insert("type".into(), (*t).into());
                }
                if types.contains(&"null") {
                    out.insert("nullable".into(), true.into());
                }
            }
            "const" => {
                out.insert("enum".into(), json!([val]));
            }
            k if KEEP.contains(&k) => {
                out.insert(k.to_owned(), val.clone());
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn image_part(img: &Image) -> Value {
    match img {
        Image::Base64 { media_type, data } => {
            json!({"inlineData": {"mimeType": media_type, "data": data}})
        }
        Image::Url(url) => {
            let lower = url.to_ascii_lowercase();
            let mime = if lower.ends_with(".png") {
                "image/png"
            } else if lower.ends_with(".webp") {
                "image/webp"
            } else if lower.ends_with(".gif") {
                "image/gif"
            } else {
                "image/jpeg"
            };
            json!({"fileData": {"mimeType": mime, "fileUri": url}})
        }
    }
}

/// Emit a Gemini body.
pub(crate) fn emit(req: &ChatRequest) -> Value {
    let mut out = Map::new();
    // Gemini has no instructions inside `contents`: system-role messages join the system instruction.
    let mid = req
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::Text(t) if !t.is_empty() => Some(t.as_str()),
            _ => None,
        });
    let system = req
        .system
        .iter()
        .map(String::as_str)
        .chain(mid)
        .collect::<Vec<_>>()
        .join("\n\n");
    if !system.is_empty() {
        out.insert(
            "systemInstruction".into(),
            json!({"parts": [{"text": system}]}),
        );
    }
    // Gemini answers tool results by function name; remember which call id had which name.
    let mut names: HashMap<&str, &str> = HashMap::new();
    let mut contents = Vec::new();
    for m in req.messages.iter().filter(|m| m.role != Role::System) {
        let mut parts = Vec::new();
        // Images a tool returned follow the function responses of the turn.
        let mut tool_images = Vec::new();
        for p in &m.parts {
            match p {
                Part::Text(t) if !t.is_empty() => parts.push(json!({"text": t})),
                Part::Text(_) | Part::Thinking { .. } => {}
                Part::Image(img) => parts.push(image_part(img)),
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => {
                    names.insert(id, name);
                    let args = serde_json::from_str::<Value>(arguments)
                        .ok()
                        .filter(Value::is_object)
                        .unwrap_or_else(|| json!({}));
                    parts.push(json!({"functionCall": {"name": name, "args": args}}));
                }
                Part::ToolResult {
                    id,
                    content,
                    is_error,
                    images,
                } => {
                    tool_images.extend(images.iter().map(image_part));
                    let name = names.get(id.as_str()).copied().unwrap_or(id.as_str());
                    let value = serde_json::from_str::<Value>(content)
                        .unwrap_or_else(|_| content.clone().into());
                    let key = if *is_error { "error" } else { "result" };
                    parts.push(
                        json!({"functionResponse": {"name": name, "response": {key: value}}}),
                    );
                }
            }
        }
        parts.extend(tool_images);
        if !parts.is_empty() {
            let role = if m.role == Role::User {
                "user"
            } else {
                "model"
            };
            contents.push(json!({"role": role, "parts": parts}));
        }
    }
    out.insert("contents".into(), contents.into());
    if !req.tools.is_empty() {
        let decls: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                let mut d = json!({"name": t.name});
                // A function without parameters has none: Gemini refuses an OBJECT with no properties.
                let params = schema(&t.parameters);
                if params
                    .get("properties")
                    .is_some_and(|p| p.as_object().is_some_and(|p| !p.is_empty()))
                {
                    d["parameters"] = params;
                }
                if let Some(desc) = &t.description {
                    d["description"] = desc.clone().into();
                }
                d
            })
            .collect();
        out.insert("tools".into(), json!([{"functionDeclarations": decls}]));
        if let Some(tc) = &req.tool_choice {
            let cfg = match tc {
                ToolChoice::Auto => json!({"mode": "AUTO"}),
                ToolChoice::None => json!({"mode": "NONE"}),
                ToolChoice::Required => json!({"mode": "ANY"}),
                ToolChoice::Named(n) => json!({"mode": "ANY", "allowedFunctionNames": [n]}),
            };
            out.insert("toolConfig".into(), json!({"functionCallingConfig": cfg}));
        }
    }
    let mut config = Map::new();
    if let Some(t) = req.temperature {
        config.insert("temperature".into(), t.into());
    }
    if let Some(p) = req.top_p {
        config.insert("topP".into(), p.into());
    }
    if let Some(m) = req.max_tokens {
        config.insert("maxOutputTokens".into(), m.into());
    }
    if !req.stop.is_empty() {
        let stop: Vec<&String> = req.stop.iter().take(MAX_STOP).collect();
        config.insert("stopSequences".into(), json!(stop));
    }
    match &req.response_format {
        Some(ResponseFormat::JsonObject) => {
            config.insert("responseMimeType".into(), "application/json".into());
        }
        Some(ResponseFormat::JsonSchema { schema: s, .. }) => {
            config.insert("responseMimeType".into(), "application/json".into());
            config.insert("responseSchema".into(), schema(s));
        }
        None => {}
    }
    if let Some(r) = req.reasoning {
        config.insert("thinkingConfig".into(), thinking_config(r, ""));
    }
    if !config.is_empty() {
        out.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(out)
}

/// Gemini 2.5's thinking budget for `r` on `model` (Requesty's mapping): Pro thinks always, 128 to 32768
/// tokens; Flash and Flash-Lite may not think (0) and take at most 24576. `none` is the least the model
/// does; a budget is clamped into the model's range.
pub(crate) fn thinking_config(r: Reasoning, model: &str) -> Value {
    let pro = model.contains("-pro");
    let (least, most) = if pro { (128, 32_768) } else { (0, 24_576) };
    let budget = match r.effort {
        Effort::None => least,
        Effort::Max => most,
        _ => r.budget_tokens.clamp(least, most),
    };
    if budget == 0 {
        json!({"thinkingBudget": 0})
    } else {
        json!({"thinkingBudget": budget, "includeThoughts": true})
    }
}

/// Fit the thinking budget `emit` wrote to the model it is for.
pub(crate) fn fit_thinking(body: &mut Value, req: &ChatRequest, model: &str) {
    if let Some(r) = req.reasoning
        && let Some(config) = body.get_mut("generationConfig")
    {
        config["thinkingConfig"] = thinking_config(r, model);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{anthropic, openai};

    #[test]
    fn openai_request_to_gemini() {
        let body = json!({"model": "gemini-2.5-flash", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "Weather?"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\":21}"}],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "d",
                "parameters": {"type": "object", "additionalProperties": false, "$schema": "x", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"]}}}],
            "tool_choice": "required",
            "response_format": {"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": {"type": "object", "properties": {"t": {"const": 1}}}}},
            "reasoning_effort": "low", "stop": ["END"], "max_completion_tokens": 99, "temperature": 0.5});
        let out = emit(&openai::request::parse(&body).unwrap());
        assert_eq!(out["systemInstruction"]["parts"][0]["text"], "Be brief.");
        assert_eq!(
            out["contents"][0]["parts"][1]["inlineData"]["mimeType"],
            "image/png"
        );
        assert_eq!(out["contents"][1]["role"], "model");
        assert_eq!(
            out["contents"][1]["parts"][0]["functionCall"],
            json!({"name": "get_weather", "args": {"city": "Paris"}})
        );
        assert_eq!(
            out["contents"][2]["parts"][0]["functionResponse"],
            json!({"name": "get_weather", "response": {"result": {"temp": 21}}})
        );
        let params = &out["tools"][0]["functionDeclarations"][0]["parameters"];
        assert_eq!(
            params,
            &json!({"type": "object", "properties": {"city": {"type": "string", "nullable": true}}, "required": ["city"]})
        );
        assert_eq!(out["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
        let g = &out["generationConfig"];
        assert_eq!(g["responseMimeType"], "application/json");
        assert_eq!(g["responseSchema"]["properties"]["t"], json!({"enum": [1]}));
        assert_eq!(
            g["thinkingConfig"],
            json!({"thinkingBudget": 2048, "includeThoughts": true})
        );
        assert_eq!(
            (
                g["maxOutputTokens"].as_u64(),
                g["stopSequences"][0].as_str()
            ),
            (Some(99), Some("END"))
        );
    }

    #[test]
    fn anthropic_request_to_gemini() {
        let body = json!({"model": "m", "max_tokens": 10, "system": "S", "thinking": {"type": "enabled", "budget_tokens": 5000},
            "tool_choice": {"type": "tool", "name": "f"}, "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": true}]}]});
        let out = emit(&anthropic::request::parse(&body).unwrap());
        assert_eq!(
            out["toolConfig"]["functionCallingConfig"],
            json!({"mode": "ANY", "allowedFunctionNames": ["f"]})
        );
        assert_eq!(
            out["contents"][2]["parts"][0]["functionResponse"],
            json!({"name": "f", "response": {"error": "boom"}})
        );
        assert_eq!(
            out["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            5000
        );
    }
}
