//! OpenAI chat-completion chunks: pass-through to an OpenAI-format caller, read as neutral deltas, and
//! written from neutral deltas.

use serde_json::{Value, json};

use super::response::{usage, usage_json};
use crate::domain::provider::Provider;
use crate::providers::ir::{Delta, Finish, new_id};
use crate::providers::sse::{Decoder, json};
use crate::providers::translate::{DeltaSource, Encoder};
use crate::providers::{ProviderError, StreamEvent, Usage};
use crate::secret::Secret;

fn non_empty_str(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// Whether a chunk carries text, reasoning, a refusal or a tool call.
fn carries_content(chunk: &Value) -> bool {
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("delta"))
        .any(|d| {
            non_empty_str(d.get("content"))
                || non_empty_str(d.get("reasoning_content"))
                || non_empty_str(d.get("refusal"))
                || d.get("tool_calls")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
        })
}

fn has_finish(chunk: &Value) -> bool {
    chunk
        .get("choices")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| c.get("finish_reason").is_some_and(|f| !f.is_null()))
}

fn upstream_error(provider: Provider, chunk: &Value, key: &Secret) -> Result<(), ProviderError> {
    if chunk.get("error").is_some_and(|e| !e.is_null()) {
        return Err(ProviderError::from_stream_error(
            provider,
            chunk,
            key.expose(),
        ));
    }
    Ok(())
}

/// OpenAI-compatible provider → OpenAI-format caller: chunks pass unchanged but for `model`. Usage is
/// always requested upstream; when the caller did not ask for the usage chunk, the finish chunk is held
/// until usage arrives and carries it instead.
pub(crate) struct Passthrough {
    provider: Provider,
    key: Secret,
    model: String,
    include_usage: bool,
    done: bool,
    finished: bool,
    held: Option<StreamEvent>,
    usage: Option<Usage>,
}

impl Passthrough {
    pub fn new(provider: Provider, key: Secret, model: &str, include_usage: bool) -> Self {
        Self {
            provider,
            key,
            model: model.to_owned(),
            include_usage,
            done: false,
            finished: false,
            held: None,
            usage: None,
        }
    }
}

impl Decoder for Passthrough {
    fn on_event(
        &mut self,
        _: &str,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let mut chunk = json(self.provider, data)?;
        upstream_error(self.provider, &chunk, &self.key)?;
        if let Some(obj) = chunk.as_object_mut() {
            obj.insert("model".into(), self.model.clone().into());
        }
        let chunk_usage = chunk.get("usage").filter(|u| u.is_object()).map(usage);
        let no_choices = chunk
            .get("choices")
            .and_then(Value::as_array)
            .is_none_or(|c| c.is_empty());
        if let Some(u) = chunk_usage {
            self.usage = Some(u);
            if no_choices {
                if self.include_usage {
                    out.push(StreamEvent::new(None, chunk).with_usage(u));
                } else if let Some(held) = self.held.take() {
                    out.push(held.with_usage(u));
                }
                return Ok(());
            }
        }
        let mut event = StreamEvent::new(None, chunk);
        event.is_content = carries_content(&event.data);
        if has_finish(&event.data) {
            self.finished = true;
            if !self.include_usage {
                self.held = Some(event);
                return Ok(());
            }
        }
        out.push(event);
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        self.done
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if !(self.done || self.finished) {
            return Err(ProviderError::cut(self.provider));
        }
        if let Some(mut held) = self.held.take() {
            held.usage = self.usage;
            out.push(held);
        }
        Ok(())
    }
}

/// OpenAI-compatible chunks read as neutral deltas.
pub(crate) struct Source {
    provider: Provider,
    key: Secret,
    started: bool,
    done: bool,
    finished: bool,
}

impl Source {
    pub fn new(provider: Provider, key: Secret) -> Self {
        Self {
            provider,
            key,
            started: false,
            done: false,
            finished: false,
        }
    }
}

impl DeltaSource for Source {
    fn feed(&mut self, _: &str, data: &str, out: &mut Vec<Delta>) -> Result<(), ProviderError> {
        if data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let chunk = json(self.provider, data)?;
        upstream_error(self.provider, &chunk, &self.key)?;
        if !self.started {
            self.started = true;
            let id = chunk.get("id").and_then(Value::as_str).map(str::to_owned);
            out.push(Delta::Start {
                id: id.unwrap_or_else(|| new_id("msg_")),
            });
        }
        if let Some(choice) = chunk.pointer("/choices/0") {
            let d = choice.get("delta").unwrap_or(&Value::Null);
            if let Some(r) = d
                .get("reasoning_content")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
            {
                out.push(Delta::Reasoning(r.into()));
            }
            for key in ["content", "refusal"] {
                if let Some(t) = d.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    out.push(Delta::Text(t.into()));
                }
            }
            for call in d
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
                let id = call.get("id").and_then(Value::as_str);
                let name = call.pointer("/function/name").and_then(Value::as_str);
                if id.is_some() || name.is_some() {
                    out.push(Delta::ToolStart {
                        index,
                        id: id.map(str::to_owned).unwrap_or_else(|| new_id("call_")),
                        name: name.unwrap_or_default().to_owned(),
                    });
                }
                if let Some(a) = call
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                {
                    out.push(Delta::ToolArgs {
                        index,
                        json: a.into(),
                    });
                }
            }
            if let Some(f) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finished = true;
                out.push(Delta::Finish(Finish::from_openai(f)));
            }
        }
        if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
            out.push(Delta::Usage(usage(u)));
        }
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        self.done
    }

    fn is_complete(&self) -> bool {
        self.done || self.finished
    }
}

/// Neutral deltas written as OpenAI chunks: a role chunk first, one chunk per delta, then the finish chunk
/// and (if the caller asked) the usage chunk.
pub(crate) struct Encode {
    id: String,
    model: String,
    created: i64,
    include_usage: bool,
    started: bool,
    finish: Option<Finish>,
    usage: Option<Usage>,
    /// Source tool index at each OpenAI tool index.
    tools: Vec<usize>,
}

impl Encode {
    pub fn new(model: &str, include_usage: bool) -> Self {
        Self {
            id: new_id("chatcmpl-"),
            model: model.to_owned(),
            created: chrono::Utc::now().timestamp(),
            include_usage,
            started: false,
            finish: None,
            usage: None,
            tools: Vec::new(),
        }
    }

    fn chunk(&self, delta: Value, finish: Value) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        })
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if !self.started {
            self.started = true;
            out.push(StreamEvent::new(
                None,
                self.chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            ));
        }
    }

    fn tool_index(&mut self, source: usize) -> usize {
        match self.tools.iter().position(|&i| i == source) {
            Some(i) => i,
            None => {
                self.tools.push(source);
                self.tools.len() - 1
            }
        }
    }
}

impl Encoder for Encode {
    fn encode(&mut self, delta: Delta, out: &mut Vec<StreamEvent>) {
        if let Delta::Start { id } = &delta
            && !self.started
            && id.starts_with("chatcmpl")
        {
            self.id = id.clone();
        }
        let content = match delta {
            Delta::Start { .. } | Delta::ReasoningSignature(_) => None,
            Delta::Text(t) => Some(json!({"content": t})),
            Delta::Reasoning(t) => Some(json!({"reasoning_content": t})),
            Delta::ToolStart { index, id, name } => {
                let index = self.tool_index(index);
                Some(
                    json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]}),
                )
            }
            Delta::ToolArgs { index, json } => {
                let index = self.tool_index(index);
                Some(json!({"tool_calls": [{"index": index, "function": {"arguments": json}}]}))
            }
            Delta::Finish(f) => {
                self.finish = Some(f);
                None
            }
            Delta::Usage(u) => {
                self.usage = Some(u);
                None
            }
        };
        self.start(out);
        if let Some(d) = content {
            out.push(StreamEvent::new(None, self.chunk(d, Value::Null)).content());
        }
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(out);
        let finish = self.finish.unwrap_or(Finish::Stop).openai();
        let mut last = StreamEvent::new(None, self.chunk(json!({}), finish.into()));
        if !self.include_usage {
            last.usage = self.usage;
            out.push(last);
            return;
        }
        out.push(last);
        let u = self.usage.unwrap_or_default();
        let chunk = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [], "usage": usage_json(&u)
        });
        let mut ev = StreamEvent::new(None, chunk);
        ev.usage = self.usage;
        out.push(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ErrorClass;
    use crate::providers::sse::testing::run;
    use crate::providers::translate::Translator;

    /// The documented streaming example, with a tool call and the usage chunk.
    const DOCUMENTED: &str = concat!(
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_44709d6fcb\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":null}],\"usage\":null}\n\n",
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":null}\n\n",
        "data: {\"id\":\"chatcmpl-123\",\"object\":\"chat.completion.chunk\",\"created\":1694268190,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":12,\"total_tokens\":21,\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\n",
        "data: [DONE]\n\n",
    );

    fn key() -> Secret {
        Secret::new("sk-test")
    }

    #[tokio::test]
    async fn passthrough_with_usage_chunk() {
        let items = run(
            Provider::OpenAi,
            DOCUMENTED,
            Passthrough::new(Provider::OpenAi, key(), "openai/gpt-4o-mini", true),
        )
        .await;
        let events: Vec<_> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(events.len(), 6);
        assert!(!events[0].is_content && events[1].is_content && events[2].is_content);
        assert!(
            events
                .iter()
                .all(|e| e.data["model"] == "openai/gpt-4o-mini")
        );
        let u = events[5].usage.unwrap();
        assert_eq!(
            (
                u.input_tokens,
                u.output_tokens,
                u.cached_tokens,
                u.reasoning_tokens
            ),
            (9, 12, 4, 2)
        );
        assert_eq!(events.iter().filter(|e| e.usage.is_some()).count(), 1);
    }

    #[tokio::test]
    async fn passthrough_without_usage_chunk_puts_usage_on_the_finish_chunk() {
        let items = run(
            Provider::OpenAi,
            DOCUMENTED,
            Passthrough::new(Provider::OpenAi, key(), "m", false),
        )
        .await;
        let events: Vec<_> = items.into_iter().map(Result::unwrap).collect();
        assert_eq!(events.len(), 5);
        assert_eq!(events[4].data["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(events[4].usage.unwrap().input_tokens, 9);
    }

    #[tokio::test]
    async fn cut_and_error_streams_fail() {
        let cut: String = DOCUMENTED
            .split("\n\n")
            .take(2)
            .map(|s| format!("{s}\n\n"))
            .collect();
        let items = run(
            Provider::OpenAi,
            &cut,
            Passthrough::new(Provider::OpenAi, key(), "m", true),
        )
        .await;
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().class,
            ErrorClass::Server
        );
        let err = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n";
        let items = run(
            Provider::OpenAi,
            err,
            Passthrough::new(Provider::OpenAi, key(), "m", true),
        )
        .await;
        assert_eq!(items.len(), 1);
        assert!(
            items[0]
                .as_ref()
                .unwrap_err()
                .message
                .contains("Rate limit")
        );
    }

    #[tokio::test]
    async fn translated_through_neutral_deltas_back_to_openai() {
        let t = Translator {
            provider: Provider::Xai,
            source: Source::new(Provider::Xai, key()),
            encoder: Encode::new("xai/grok-4", false),
        };
        let events: Vec<_> = run(Provider::Xai, DOCUMENTED, t)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(events[0].data["choices"][0]["delta"]["role"], "assistant");
        assert_eq!(events[1].data["choices"][0]["delta"]["content"], "Hello");
        assert_eq!(
            events[2].data["choices"][0]["delta"]["tool_calls"][0]["function"]["name"],
            "f"
        );
        let last = events.last().unwrap();
        assert_eq!(last.data["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(last.usage.unwrap().output_tokens, 12);
    }
}
