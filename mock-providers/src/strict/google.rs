//! `generateContent` / `streamGenerateContent` as the Gemini API checks it: unknown fields anywhere in the
//! request (the proto has no room for them) are refused with `Unknown name "…"`, roles are `user`/`model`,
//! and function declaration schemas may only use the keywords of Gemini's `Schema` type.

use serde_json::{Map, Value};

use super::{Checked, Refusal, unknown_key};
use crate::wire::google::error_body;

const TOP_LEVEL: &[&str] = &[
    "contents",
    "tools",
    "toolConfig",
    "safetySettings",
    "systemInstruction",
    "generationConfig",
    "cachedContent",
];
const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "thought",
    "thoughtSignature",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
];
const GENERATION_CONFIG: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "thinkingConfig",
    "mediaResolution",
    "speechConfig",
];
/// The fields of Gemini's OpenAPI-subset `Schema`.
pub const SCHEMA: &[&str] = &[
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
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

fn refuse(message: String) -> Refusal {
    Refusal {
        status: 400,
        body: error_body(400, Some(&message), None),
    }
}

fn unknown(name: &str, at: &str) -> Refusal {
    let at = if at.is_empty() {
        String::new()
    } else {
        format!(" at '{at}'")
    };
    refuse(format!(
        "Invalid JSON payload received. Unknown name \"{name}\"{at}: Cannot find field."
    ))
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, Refusal> {
    v.as_object().ok_or_else(|| {
        refuse(format!(
            "Invalid JSON payload received. Expected an object at '{at}'."
        ))
    })
}

fn check_only(v: &Value, allowed: &[&str], at: &str) -> Checked {
    match unknown_key(object(v, at)?, allowed) {
        Some(k) => Err(unknown(k, at)),
        None => Ok(()),
    }
}

fn check_schema(v: &Value, at: &str) -> Checked {
    let obj = object(v, at)?;
    if let Some(k) = unknown_key(obj, SCHEMA) {
        return Err(unknown(k, at));
    }
    if let Some(t) = obj.get("type")
        && !t.is_string()
    {
        return Err(refuse(format!(
            "Invalid JSON payload received. Invalid value at '{at}.type': {t}"
        )));
    }
    if let Some(props) = obj.get("properties") {
        let props = object(props, &format!("{at}.properties"))?;
        if props.is_empty() && obj.get("type").and_then(Value::as_str) == Some("object") {
            return Err(refuse(format!(
                "* GenerateContentRequest.{at}.properties: should be non-empty for OBJECT type\n"
            )));
        }
        for (name, s) in props {
            check_schema(s, &format!("{at}.properties[{name}].value"))?;
        }
    }
    for (i, r) in obj
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let defined = r
            .as_str()
            .is_some_and(|r| obj.get("properties").and_then(|p| p.get(r)).is_some());
        if !defined {
            return Err(refuse(format!(
                "* GenerateContentRequest.{at}.required[{i}]: property is not defined\n"
            )));
        }
    }
    if let Some(items) = obj.get("items") {
        check_schema(items, &format!("{at}.items"))?;
    }
    for (i, s) in obj
        .get("anyOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check_schema(s, &format!("{at}.any_of[{i}]"))?;
    }
    Ok(())
}

fn check_parts(parts: &Value, at: &str) -> Checked {
    let parts = parts.as_array().ok_or_else(|| {
        refuse(format!(
            "Invalid JSON payload received. Expected a list at '{at}'."
        ))
    })?;
    for (j, p) in parts.iter().enumerate() {
        let pat = format!("{at}[{j}]");
        check_only(p, PART, &pat)?;
        if let Some(d) = p.get("inlineData") {
            check_only(d, &["mimeType", "data"], &format!("{pat}.inline_data"))?;
        }
        if let Some(d) = p.get("fileData") {
            check_only(d, &["mimeType", "fileUri"], &format!("{pat}.file_data"))?;
        }
        if let Some(c) = p.get("functionCall") {
            check_only(c, &["id", "name", "args"], &format!("{pat}.function_call"))?;
        }
        if let Some(r) = p.get("functionResponse") {
            check_only(
                r,
                &[
                    "id",
                    "name",
                    "response",
                    "willContinue",
                    "scheduling",
                    "parts",
                ],
                &format!("{pat}.function_response"),
            )?;
            if !r.get("response").is_some_and(Value::is_object) {
                return Err(refuse(format!(
                    "Invalid JSON payload received. '{pat}.function_response.response' must be an object."
                )));
            }
        }
    }
    Ok(())
}

pub fn check_generate(body: &Value) -> Checked {
    check_only(body, TOP_LEVEL, "")?;
    let contents = body
        .get("contents")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            refuse("* GenerateContentRequest.contents: contents is not specified\n".into())
        })?;
    for (i, c) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        check_only(c, &["role", "parts"], &at)?;
        match c.get("role").and_then(Value::as_str) {
            None | Some("user" | "model") => {}
            Some(_) => return Err(refuse("Please use a valid role: user, model.".into())),
        }
        check_parts(
            c.get("parts").unwrap_or(&Value::Null),
            &format!("{at}.parts"),
        )?;
    }
    if let Some(si) = body.get("systemInstruction") {
        check_only(si, &["role", "parts"], "system_instruction")?;
        check_parts(
            si.get("parts").unwrap_or(&Value::Null),
            "system_instruction.parts",
        )?;
    }
    if let Some(gc) = body.get("generationConfig") {
        check_only(gc, GENERATION_CONFIG, "generation_config")?;
        if let Some(tc) = gc.get("thinkingConfig") {
            check_only(
                tc,
                &["thinkingBudget", "includeThoughts", "thinkingLevel"],
                "generation_config.thinking_config",
            )?;
        }
        if let Some(s) = gc.get("responseSchema") {
            check_schema(s, "generation_config.response_schema")?;
        }
    }
    for (i, t) in body
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let at = format!("tools[{i}]");
        check_only(
            t,
            &[
                "functionDeclarations",
                "googleSearch",
                "codeExecution",
                "urlContext",
                "googleSearchRetrieval",
            ],
            &at,
        )?;
        for (j, d) in t
            .get("functionDeclarations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let dat = format!("{at}.function_declarations[{j}]");
            check_only(
                d,
                &[
                    "name",
                    "description",
                    "parameters",
                    "parametersJsonSchema",
                    "response",
                    "behavior",
                ],
                &dat,
            )?;
            if let Some(p) = d.get("parameters") {
                check_schema(p, &format!("{dat}.parameters"))?;
            }
        }
    }
    if let Some(tc) = body.get("toolConfig") {
        check_only(
            tc,
            &["functionCallingConfig", "retrievalConfig"],
            "tool_config",
        )?;
        if let Some(f) = tc.get("functionCallingConfig") {
            check_only(
                f,
                &["mode", "allowedFunctionNames"],
                "tool_config.function_calling_config",
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refuses_unknown_fields_roles_and_schema_keywords() {
        let ok = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
        assert!(check_generate(&ok).is_ok());
        let e = check_generate(
            &json!({"contents": [{"role": "assistant", "parts": [{"text": "hi"}]}]}),
        )
        .unwrap_err();
        assert_eq!(e.body["error"]["status"], "INVALID_ARGUMENT");
        let e = check_generate(
            &json!({"contents": [], "tools": [{"functionDeclarations": [{"name": "f",
            "parameters": {"type": "object", "additionalProperties": false}}]}]}),
        )
        .unwrap_err();
        assert!(
            e.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("\"additionalProperties\"")
        );
        assert!(check_generate(&json!({"contents": [], "model": "x"})).is_err());
    }
}
