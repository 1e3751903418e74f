//! Google AI Studio (Gemini API) adapter: `models/{m}:generateContent`,
//! `:streamGenerateContent?alt=sse`, `:embedContent` / `:batchEmbedContents`, `GET models`, authenticated
//! with the `x-goog-api-key` header (never a `key=` query parameter, which could end up in logs).

pub(crate) mod request;
pub(crate) mod response;

use serde_json::{Value, json};

use super::client::Call;
use super::sse::drive;
use super::translate::{self, Translator};
use super::{AttemptPlan, ChatOutcome, Completed, ProviderError, Streamed, Usage};

/// A model id safe to put in a URL path (no `/`, `?`, `:` or `..`).
pub(crate) fn model_path(model: &str) -> Result<String, ProviderError> {
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
    plan: &AttemptPlan<'_>,
) -> Result<ChatOutcome, ProviderError> {
    let path = model_path(plan.model)?;
    let req = translate::parse_request(plan)?;
    let mut upstream = request::emit(&req);
    request::fit_thinking(&mut upstream, &req, plan.model);
    if plan.stream {
        let (bytes, headers) = call
            .post_stream(&format!("{path}:streamGenerateContent?alt=sse"), &upstream)
            .await?;
        let t = Translator {
            provider: call.provider,
            source: response::Source::new(call.key.clone()),
            encoder: translate::encoder(plan, &plan.qualified_model(), req.include_usage),
        };
        let events = drive(call.provider, bytes, t, call.timeout);
        return Ok(ChatOutcome::Stream(Streamed { events, headers }));
    }
    let answer = call
        .post_answer(&format!("{path}:generateContent"), &upstream)
        .await?;
    // Gemini's native format is never a client format: always translated.
    let reader = translate::Reader {
        usage: response::usage,
        parse: response::parse,
    };
    translate::complete(answer, plan, reader)
}

/// OpenAI embeddings request → `embedContent` (one input) or `batchEmbedContents` (several); the answer is
/// written in the OpenAI format. Gemini reports no token counts for embeddings, so usage is zero.
pub(crate) async fn embeddings(
    call: Call<'_>,
    plan: &AttemptPlan<'_>,
) -> Result<Completed, ProviderError> {
    let body = plan.body.tree();
    let path = model_path(plan.model)?;
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
        let (answer, _) = call
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
        let (answer, _) = call
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
        body: json!({"object": "list", "data": data, "model": plan.qualified_model(), "usage": {"prompt_tokens": 0, "total_tokens": 0}}).into(),
        usage: Usage::default(),
        headers: Vec::new(),
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
            model_path("gemini-2.5-flash").unwrap(),
            "/v1beta/models/gemini-2.5-flash"
        );
        assert_eq!(
            model_path("models/gemini-2.5-pro").unwrap(),
            "/v1beta/models/gemini-2.5-pro"
        );
        for bad in ["../x", "a/b", "a:b", "a?key=1", ""] {
            let e = model_path(bad).unwrap_err();
            assert_eq!(e.class, crate::providers::ErrorClass::CallerError, "{bad}");
        }
    }
}
