//! Google AI Studio (Gemini API) adapter: `models/{m}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:embedContent` / `:batchEmbedContents`, `GET models`, authenticated
//! with the `x-goog-api-key` header (never a `key=` query parameter, which could end up in logs).

pub(crate) mod request;
pub(crate) mod response;

use serde_json::{Value, json};

use super::client::{Call, wants_stream};
use super::sse::drive;
use super::translate::{self, Translator};
use super::{ChatOutcome, ClientFormat, Completed, ProviderError, Usage};

/// A model id safe to put in a URL path (no `/`, `?`, `:` or `..`).
fn model_path(body: &Value) -> Result<String, ProviderError> {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let model = model.strip_prefix("models/").unwrap_or(model);
    let ok = !model.is_empty()
        && !model.contains("..")
        && model
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !ok {
        return Err(ProviderError::caller(format!(
            "{model:?} is not a valid Gemini model id"
        )));
    }
    Ok(format!("/v1beta/models/{model}"))
}

pub(crate) async fn chat(
    call: Call<'_>,
    format: ClientFormat,
    body: &Value,
    response_model: &str,
) -> Result<ChatOutcome, ProviderError> {
    let path = model_path(body)?;
    let req = translate::parse_request(format, body)?;
    let upstream = request::emit(&req);
    if wants_stream(body) {
        let bytes = call
            .post_stream(&format!("{path}:streamGenerateContent?alt=sse"), &upstream)
            .await?;
        let t = Translator {
            provider: call.provider,
            source: response::Source::new(call.key.clone()),
            encoder: translate::encoder(format, response_model, req.include_usage),
        };
        return Ok(ChatOutcome::Stream(drive(
            call.provider,
            bytes,
            t,
            call.timeout,
        )));
    }
    let answer = call
        .post_json(&format!("{path}:generateContent"), &upstream)
        .await?;
    // Gemini's native format is never a client format: always translated.
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, false, format, response_model, reader)
}

/// OpenAI embeddings request → `embedContent` (one input) or `batchEmbedContents` (several); the answer is
/// written in the OpenAI format. Gemini reports no token counts for embeddings, so usage is zero.
pub(crate) async fn embeddings(
    call: Call<'_>,
    body: &Value,
    response_model: &str,
) -> Result<Completed, ProviderError> {
    let path = model_path(body)?;
    let name = path.trim_start_matches("/v1beta/");
    let inputs: Vec<String> = match body.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if a.iter().all(Value::is_string) && !a.is_empty() => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => {
            return Err(ProviderError::caller(
                "input must be a string or an array of strings for google embeddings",
            ));
        }
    };
    let request_for = |text: &str| {
        let mut r = json!({"model": name, "content": {"parts": [{"text": text}]}});
        if let Some(d) = body.get("dimensions").and_then(Value::as_u64) {
            r["outputDimensionality"] = d.into();
        }
        r
    };
    let vectors: Vec<Value> = if inputs.len() == 1 {
        let answer = call
            .post_json(&format!("{path}:embedContent"), &request_for(&inputs[0]))
            .await?;
        vec![
            answer
                .pointer("/embedding/values")
                .cloned()
                .ok_or_else(|| ProviderError::server("google sent no embedding"))?,
        ]
    } else {
        let requests: Vec<Value> = inputs.iter().map(|t| request_for(t)).collect();
        let answer = call
            .post_json(
                &format!("{path}:batchEmbedContents"),
                &json!({"requests": requests}),
            )
            .await?;
        answer
            .get("embeddings")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::server("google sent no embeddings"))?
            .iter()
            .map(|e| e.get("values").cloned().unwrap_or_else(|| json!([])))
            .collect()
    };
    let data: Vec<Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
        .collect();
    Ok(Completed {
        body: json!({"object": "list", "data": data, "model": response_model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}),
        usage: Usage::default(),
    })
}

pub(crate) async fn list_models(call: Call<'_>) -> Result<Vec<String>, ProviderError> {
    let answer = call.get_json("/v1beta/models?pageSize=1000").await?;
    Ok(answer
        .get("models")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("name").and_then(Value::as_str))
        .map(|n| n.strip_prefix("models/").unwrap_or(n).to_owned())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_cannot_escape_the_path() {
        assert_eq!(
            model_path(&json!({"model": "gemini-2.5-flash"})).unwrap(),
            "/v1beta/models/gemini-2.5-flash"
        );
        assert_eq!(
            model_path(&json!({"model": "models/gemini-2.5-pro"})).unwrap(),
            "/v1beta/models/gemini-2.5-pro"
        );
        for bad in ["../x", "a/b", "a:b", "a?key=1", ""] {
            assert!(model_path(&json!({"model": bad})).is_err(), "{bad}");
        }
    }
}
