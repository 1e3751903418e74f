//! Gemini `GenerateContentResponse` (whole, or one SSE chunk of `streamGenerateContent?alt=sse`) → the
//! neutral form.

use serde_json::Value;

use crate::domain::provider::Provider;
use crate::providers::ir::{Delta, Finish, Reply, ToolCall, new_id};
use crate::providers::sse::json;
use crate::providers::translate::DeltaSource;
use crate::providers::{ErrorClass, ProviderError, Usage};
use crate::secret::Secret;

/// `usageMetadata` → usage. `promptTokenCount` includes cached tokens; thoughts are not in
/// `candidatesTokenCount`, so they are added to the output.
pub(crate) fn usage(u: &Value) -> Usage {
    let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
    let thoughts = n("thoughtsTokenCount");
    Usage {
        input_tokens: n("promptTokenCount").saturating_add(n("toolUsePromptTokenCount")),
        output_tokens: n("candidatesTokenCount").saturating_add(thoughts),
        cached_tokens: n("cachedContentTokenCount"),
        reasoning_tokens: thoughts,
        // Gemini's implicit cache has no write charge; explicit caches are created apart.
        cache_write_tokens: 0,
    }
}

fn finish(reason: &str) -> Finish {
    match reason {
        "MAX_TOKENS" => Finish::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            Finish::ContentFilter
        }
        _ => Finish::Stop,
    }
}

/// A prompt Gemini blocked outright (no candidates) is a refusal.
fn blocked(body: &Value) -> Option<ProviderError> {
    let reason = body
        .pointer("/promptFeedback/blockReason")
        .and_then(Value::as_str)?;
    let none = body
        .get("candidates")
        .and_then(Value::as_array)
        .is_none_or(|c| c.is_empty());
    none.then(|| {
        ProviderError::new(
            ErrorClass::Refusal,
            format!("google blocked the prompt ({reason})"),
        )
    })
}

fn call_id(call: &Value) -> String {
    call.get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| new_id("call_"))
}

/// Parse a whole answer.
pub(crate) fn parse(body: &Value) -> Result<Reply, ProviderError> {
    if let Some(e) = blocked(body) {
        return Err(e);
    }
    let cand = body
        .pointer("/candidates/0")
        .ok_or_else(|| ProviderError::server("the answer has no candidates"))?;
    let mut reply = Reply {
        id: body
            .get("responseId")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| new_id("gen-")),
        text: String::new(),
        reasoning: String::new(),
        reasoning_signature: None,
        tool_calls: Vec::new(),
        finish: finish(
            cand.get("finishReason")
                .and_then(Value::as_str)
                .unwrap_or("STOP"),
        ),
        usage: usage(body.get("usageMetadata").unwrap_or(&Value::Null)),
    };
    for p in cand
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(call) = p.get("functionCall") {
            reply.tool_calls.push(ToolCall {
                id: call_id(call),
                name: call
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                arguments: call
                    .get("args")
                    .cloned()
                    .unwrap_or_else(|| serde_json::json!({}))
                    .to_string(),
            });
        } else if let Some(t) = p.get("text").and_then(Value::as_str) {
            if p.get("thought").and_then(Value::as_bool) == Some(true) {
                reply.reasoning.push_str(t);
            } else {
                reply.text.push_str(t);
            }
        }
    }
    if !reply.tool_calls.is_empty() && reply.finish == Finish::Stop {
        reply.finish = Finish::ToolCalls;
    }
    Ok(reply)
}

/// Gemini SSE chunks read as neutral deltas. Gemini has no terminator event: the answer is whole once a
/// candidate carried a `finishReason`.
pub(crate) struct Source {
    key: Secret,
    started: bool,
    tools: usize,
    finished: bool,
}

impl Source {
    pub fn new(key: Secret) -> Self {
        Self {
            key,
            started: false,
            tools: 0,
            finished: false,
        }
    }
}

impl DeltaSource for Source {
    fn feed(&mut self, _: &str, data: &str, out: &mut Vec<Delta>) -> Result<(), ProviderError> {
        let chunk = json(Provider::Google, data)?;
        if chunk.get("error").is_some() {
            return Err(ProviderError::from_stream_error(
                Provider::Google,
                &chunk,
                self.key.expose(),
            ));
        }
        if let Some(e) = blocked(&chunk) {
            return Err(e);
        }
        if !self.started {
            self.started = true;
            let id = chunk
                .get("responseId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.push(Delta::Start {
                id: id.unwrap_or_else(|| new_id("gen-")),
            });
        }
        if let Some(cand) = chunk.pointer("/candidates/0") {
            for p in cand
                .pointer("/content/parts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(call) = p.get("functionCall") {
                    let index = self.tools;
                    self.tools += 1;
                    let name = call
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    out.push(Delta::ToolStart {
                        index,
                        id: call_id(call),
                        name,
                    });
                    let args = call
                        .get("args")
                        .cloned()
                        .unwrap_or_else(|| serde_json::json!({}));
                    out.push(Delta::ToolArgs {
                        index,
                        json: args.to_string(),
                    });
                } else if let Some(t) = p
                    .get("text")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    if p.get("thought").and_then(Value::as_bool) == Some(true) {
                        out.push(Delta::Reasoning(t.into()));
                    } else {
                        out.push(Delta::Text(t.into()));
                    }
                }
            }
            if let Some(r) = cand.get("finishReason").and_then(Value::as_str) {
                self.finished = true;
                let f = finish(r);
                out.push(Delta::Finish(if self.tools > 0 && f == Finish::Stop {
                    Finish::ToolCalls
                } else {
                    f
                }));
            }
        }
        if let Some(u) = chunk.get("usageMetadata") {
            out.push(Delta::Usage(usage(u)));
        }
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        false
    }

    fn is_complete(&self) -> bool {
        self.finished
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::providers::sse::testing::run;
    use crate::providers::translate::Translator;
    use crate::providers::{anthropic, openai};

    /// The documented answer shape, with thoughts and usage details.
    fn documented() -> Value {
        json!({
            "candidates": [{"content": {"parts": [
                {"text": "Thinking about it.", "thought": true},
                {"text": "AI learns patterns from data."}], "role": "model"},
                "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 7, "totalTokenCount": 40, "cachedContentTokenCount": 2, "thoughtsTokenCount": 25,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}]},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
        })
    }

    #[test]
    fn parses_the_documented_answer() {
        let r = parse(&documented()).unwrap();
        assert_eq!(r.text, "AI learns patterns from data.");
        assert_eq!(r.reasoning, "Thinking about it.");
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 8,
                output_tokens: 32,
                cached_tokens: 2,
                reasoning_tokens: 25,
                cache_write_tokens: 0,
            }
        );
        let o = openai::response::encode(&r, "google/gemini-2.5-flash");
        assert_eq!(
            o["choices"][0]["message"]["content"],
            "AI learns patterns from data."
        );
        assert_eq!(
            o["usage"]["completion_tokens_details"]["reasoning_tokens"],
            25
        );
    }

    #[test]
    fn function_calls_and_blocks() {
        let body = json!({"candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}], "role": "model"}, "finishReason": "STOP"}]});
        let r = parse(&body).unwrap();
        assert_eq!(r.finish, Finish::ToolCalls);
        assert_eq!(r.tool_calls[0].arguments, "{\"city\":\"Paris\"}");
        let a = anthropic::response::encode(&r, "google/gemini-2.5-pro");
        assert_eq!(a["content"][0]["type"], "tool_use");
        assert_eq!(a["stop_reason"], "tool_use");
        let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 5}});
        assert_eq!(parse(&blocked).unwrap_err().class, ErrorClass::Refusal);
    }

    const STREAM: &str = concat!(
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hmm\", \"thought\": true}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"r1\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The answer\"}],\"role\": \"model\"},\"index\": 0}],\"responseId\": \"r1\"}\r\n\r\n",
        "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is 4.\"}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 5,\"thoughtsTokenCount\": 3,\"totalTokenCount\": 17},\"responseId\": \"r1\"}\r\n\r\n",
    );

    #[tokio::test]
    async fn stream_to_openai() {
        let t = Translator {
            provider: Provider::Google,
            source: Source::new(Secret::new("AIza-test")),
            encoder: openai::stream::Encode::new("google/gemini-2.5-flash", false),
        };
        let events: Vec<_> = run(Provider::Google, STREAM, t)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events[0].data["choices"][0]["delta"]["role"], "assistant");
        assert!(!events[0].is_content && events[1].is_content);
        assert_eq!(
            events[1].data["choices"][0]["delta"]["reasoning_content"],
            "Hmm"
        );
        assert_eq!(
            events[2].data["choices"][0]["delta"]["content"],
            "The answer"
        );
        let last = events.last().unwrap();
        assert_eq!(last.data["choices"][0]["finish_reason"], "stop");
        assert_eq!(
            last.usage.unwrap(),
            Usage {
                input_tokens: 9,
                output_tokens: 8,
                cached_tokens: 0,
                reasoning_tokens: 3,
                cache_write_tokens: 0,
            }
        );
    }

    #[tokio::test]
    async fn stream_to_anthropic_and_cut() {
        let t = Translator {
            provider: Provider::Google,
            source: Source::new(Secret::new("k")),
            encoder: anthropic::stream::Encode::new("google/gemini-2.5-flash"),
        };
        let events: Vec<_> = run(Provider::Google, STREAM, t)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let names: Vec<_> = events.iter().map(|e| e.event.unwrap()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_stop",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[8].usage.unwrap().output_tokens, 8);
        let cut: String = STREAM
            .split("\r\n\r\n")
            .take(2)
            .map(|s| format!("{s}\r\n\r\n"))
            .collect();
        let t = Translator {
            provider: Provider::Google,
            source: Source::new(Secret::new("k")),
            encoder: anthropic::stream::Encode::new("m"),
        };
        let items = run(Provider::Google, &cut, t).await;
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().class,
            ErrorClass::Server
        );
    }
}
