//! Anthropic message stream events (`message_start`, `content_block_start|delta|stop`, `message_delta`,
//! `message_stop`, `ping`, `error`): pass-through to an Anthropic-format caller, read as neutral deltas,
//! and written from neutral deltas.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::response::{usage, usage_json};
use crate::domain::provider::Provider;
use crate::providers::ir::{Delta, Finish, new_id};
use crate::providers::openai::request::str_at;
use crate::providers::sse::{Decoder, json};
use crate::providers::translate::{DeltaSource, Encoder};
use crate::providers::{ProviderError, StreamEvent, Usage};
use crate::secret::Secret;

/// The event names Anthropic documents; anything else is passed on as its `data.type` would say.
fn event_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "message_start" => "message_start",
        "content_block_start" => "content_block_start",
        "content_block_delta" => "content_block_delta",
        "content_block_stop" => "content_block_stop",
        "message_delta" => "message_delta",
        "message_stop" => "message_stop",
        "ping" => "ping",
        "error" => "error",
        _ => return None,
    })
}

/// Usage so far: `message_start` gives the input side, `message_delta` the (cumulative) output side and,
/// in newer API versions, input fields again.
#[derive(Default)]
struct UsageMerge(serde_json::Map<String, Value>);

impl UsageMerge {
    fn add(&mut self, u: Option<&Value>) {
        if let Some(Value::Object(m)) = u {
            for (k, v) in m {
                if !v.is_null() {
                    self.0.insert(k.clone(), v.clone());
                }
            }
        }
    }

    fn usage(&self) -> Usage {
        usage(&Value::Object(self.0.clone()))
    }
}

/// Anthropic provider → Anthropic-format caller: events pass unchanged but for `message.model`.
pub(crate) struct Passthrough {
    key: Secret,
    model: String,
    usage: UsageMerge,
    done: bool,
}

impl Passthrough {
    pub fn new(key: Secret, model: &str) -> Self {
        Self {
            key,
            model: model.to_owned(),
            usage: UsageMerge::default(),
            done: false,
        }
    }
}

impl Decoder for Passthrough {
    fn on_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let mut v = json(Provider::Anthropic, data)?;
        let name = if event == "message" {
            v.get("type").and_then(Value::as_str).unwrap_or("")
        } else {
            event
        };
        let Some(name) = event_name(name) else {
            return Ok(()); // unknown event types are ignored, as the docs ask clients to do
        };
        let mut ev = match name {
            "error" => {
                return Err(ProviderError::from_stream_error(
                    Provider::Anthropic,
                    &v,
                    self.key.expose(),
                ));
            }
            "message_start" => {
                self.usage.add(v.pointer("/message/usage"));
                if let Some(m) = v.get_mut("message").and_then(Value::as_object_mut) {
                    m.insert("model".into(), self.model.clone().into());
                }
                StreamEvent::new(Some(name), v)
            }
            "content_block_delta" => StreamEvent::new(Some(name), v).content(),
            "message_delta" => {
                self.usage.add(v.get("usage"));
                StreamEvent::new(Some(name), v).with_usage(self.usage.usage())
            }
            "message_stop" => {
                self.done = true;
                StreamEvent::new(Some(name), v)
            }
            _ => StreamEvent::new(Some(name), v),
        };
        if name == "content_block_start" {
            // A tool_use or text block may start with content already in it.
            let b = ev.data.get("content_block").cloned().unwrap_or(Value::Null);
            ev.is_content = b
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| !t.is_empty());
        }
        out.push(ev);
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        self.done
    }

    fn finish(&mut self, _: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if self.done {
            Ok(())
        } else {
            Err(ProviderError::cut(Provider::Anthropic))
        }
    }
}

/// Anthropic events read as neutral deltas (tool indices are content block indices).
pub(crate) struct Source {
    key: Secret,
    usage: UsageMerge,
    done: bool,
}

impl Source {
    pub fn new(key: Secret) -> Self {
        Self {
            key,
            usage: UsageMerge::default(),
            done: false,
        }
    }
}

impl DeltaSource for Source {
    fn feed(&mut self, event: &str, data: &str, out: &mut Vec<Delta>) -> Result<(), ProviderError> {
        let v = json(Provider::Anthropic, data)?;
        let name = if event == "message" {
            v.get("type").and_then(Value::as_str).unwrap_or("")
        } else {
            event
        };
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
        match name {
            "error" => {
                return Err(ProviderError::from_stream_error(
                    Provider::Anthropic,
                    &v,
                    self.key.expose(),
                ));
            }
            "message_start" => {
                self.usage.add(v.pointer("/message/usage"));
                let id = v
                    .pointer("/message/id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                out.push(Delta::Start {
                    id: id.unwrap_or_else(|| new_id("msg_")),
                });
            }
            "content_block_start" => {
                let b = v.get("content_block").unwrap_or(&Value::Null);
                match b.get("type").and_then(Value::as_str) {
                    Some("tool_use") => out.push(Delta::ToolStart {
                        index,
                        id: str_at(b, "/id"),
                        name: str_at(b, "/name"),
                    }),
                    Some("text") => {
                        let t = str_at(b, "/text");
                        if !t.is_empty() {
                            out.push(Delta::Text(t));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let d = v.get("delta").unwrap_or(&Value::Null);
                match d.get("type").and_then(Value::as_str) {
                    Some("text_delta") => out.push(Delta::Text(str_at(d, "/text"))),
                    Some("thinking_delta") => out.push(Delta::Reasoning(str_at(d, "/thinking"))),
                    Some("signature_delta") => {
                        out.push(Delta::ReasoningSignature(str_at(d, "/signature")))
                    }
                    Some("input_json_delta") => {
                        let json = str_at(d, "/partial_json");
                        if !json.is_empty() {
                            out.push(Delta::ToolArgs { index, json });
                        }
                    }
                    _ => {}
                }
            }
            "message_delta" => {
                self.usage.add(v.get("usage"));
                if let Some(r) = v.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    out.push(Delta::Finish(Finish::from_anthropic(r)));
                }
                out.push(Delta::Usage(self.usage.usage()));
            }
            "message_stop" => self.done = true,
            _ => {}
        }
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        self.done
    }

    fn is_complete(&self) -> bool {
        self.done
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Thinking,
    Tool,
}

/// Neutral deltas written as Anthropic events.
pub(crate) struct Encode {
    id: String,
    model: String,
    started: bool,
    open: Option<(usize, Block)>,
    next: usize,
    tools: HashMap<usize, usize>,
    finish: Option<Finish>,
    usage: Option<Usage>,
}

impl Encode {
    pub fn new(model: &str) -> Self {
        Self {
            id: new_id("msg_"),
            model: model.to_owned(),
            started: false,
            open: None,
            next: 0,
            tools: HashMap::new(),
            finish: None,
            usage: None,
        }
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::new(Some("message_start"), json!({
            "type": "message_start",
            "message": {"id": self.id, "type": "message", "role": "assistant", "model": self.model, "content": [],
                "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 0, "output_tokens": 0}}
        })));
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some((index, _)) = self.open.take() {
            out.push(StreamEvent::new(
                Some("content_block_stop"),
                json!({"type": "content_block_stop", "index": index}),
            ));
        }
    }

    /// The index of an open block of `kind`, opening one (and closing another) if needed.
    fn block(&mut self, kind: Block, content_block: Value, out: &mut Vec<StreamEvent>) -> usize {
        if let Some((index, k)) = self.open
            && k == kind
            && kind != Block::Tool
        {
            return index;
        }
        self.close(out);
        let index = self.next;
        self.next += 1;
        self.open = Some((index, kind));
        out.push(StreamEvent::new(
            Some("content_block_start"),
            json!({"type": "content_block_start", "index": index, "content_block": content_block}),
        ));
        index
    }

    fn delta(index: usize, delta: Value) -> StreamEvent {
        StreamEvent::new(
            Some("content_block_delta"),
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
        .content()
    }
}

impl Encoder for Encode {
    fn encode(&mut self, delta: Delta, out: &mut Vec<StreamEvent>) {
        if let Delta::Start { id } = &delta
            && !self.started
            && id.starts_with("msg_")
        {
            self.id = id.clone();
        }
        self.start(out);
        match delta {
            Delta::Start { .. } => {}
            Delta::Text(t) => {
                let i = self.block(Block::Text, json!({"type": "text", "text": ""}), out);
                out.push(Self::delta(i, json!({"type": "text_delta", "text": t})));
            }
            Delta::Reasoning(t) => {
                let i = self.block(
                    Block::Thinking,
                    json!({"type": "thinking", "thinking": ""}),
                    out,
                );
                out.push(Self::delta(
                    i,
                    json!({"type": "thinking_delta", "thinking": t}),
                ));
            }
            Delta::ReasoningSignature(s) => {
                if let Some((i, Block::Thinking)) = self.open {
                    out.push(StreamEvent::new(Some("content_block_delta"), json!({"type": "content_block_delta", "index": i, "delta": {"type": "signature_delta", "signature": s}})));
                }
            }
            Delta::ToolStart { index, id, name } => {
                let i = self.block(
                    Block::Tool,
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    out,
                );
                self.tools.insert(index, i);
            }
            Delta::ToolArgs { index, json } => {
                let i = match self.tools.get(&index) {
                    Some(&i) => i,
                    None => {
                        let i = self.block(Block::Tool, json!({"type": "tool_use", "id": new_id("toolu_"), "name": "", "input": {}}), out);
                        self.tools.insert(index, i);
                        i
                    }
                };
                out.push(Self::delta(
                    i,
                    json!({"type": "input_json_delta", "partial_json": json}),
                ));
            }
            Delta::Finish(f) => self.finish = Some(f),
            Delta::Usage(u) => self.usage = Some(u),
        }
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(out);
        self.close(out);
        let u = self.usage.unwrap_or_default();
        let mut ev = StreamEvent::new(
            Some("message_delta"),
            json!({
                "type": "message_delta",
                "delta": {"stop_reason": self.finish.unwrap_or(Finish::Stop).anthropic(), "stop_sequence": null},
                "usage": usage_json(&u),
            }),
        );
        ev.usage = self.usage;
        out.push(ev);
        out.push(StreamEvent::new(
            Some("message_stop"),
            json!({"type": "message_stop"}),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ErrorClass;
    use crate::providers::sse::testing::run;
    use crate::providers::translate::Translator;

    /// The documented streaming example: thinking, text and a tool_use with input_json_delta.
    pub(crate) const DOCUMENTED: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2,\"cache_read_input_tokens\":100},\"content\":[],\"stop_reason\":null}}\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me think.\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAh\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, checking.\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"San Fra\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ncisco\\\"}\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    fn key() -> Secret {
        Secret::new("sk-ant-test")
    }

    #[tokio::test]
    async fn passthrough_keeps_every_event() {
        let events: Vec<_> = run(
            Provider::Anthropic,
            DOCUMENTED,
            Passthrough::new(key(), "anthropic/claude-sonnet-4-5"),
        )
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
        assert_eq!(events.len(), 16);
        assert_eq!(
            events[0].data["message"]["model"],
            "anthropic/claude-sonnet-4-5"
        );
        assert_eq!(events[1].event, Some("ping"));
        assert!(!events[2].is_content && events[3].is_content);
        let u = events[14].usage.unwrap();
        assert_eq!(
            (u.input_tokens, u.cached_tokens, u.output_tokens),
            (572, 100, 89)
        );
        assert_eq!(events.iter().filter(|e| e.usage.is_some()).count(), 1);
    }

    #[tokio::test]
    async fn errors_and_cuts() {
        let overloaded = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        let items = run(
            Provider::Anthropic,
            overloaded,
            Passthrough::new(key(), "m"),
        )
        .await;
        assert_eq!(items[0].as_ref().unwrap_err().class, ErrorClass::Overloaded);
        let cut: String = DOCUMENTED
            .split("\n\n")
            .take(8)
            .map(|s| format!("{s}\n\n"))
            .collect();
        let items = run(Provider::Anthropic, &cut, Passthrough::new(key(), "m")).await;
        assert_eq!(
            items.last().unwrap().as_ref().unwrap_err().class,
            ErrorClass::Server
        );
    }

    #[tokio::test]
    async fn to_openai_chunks() {
        let t = Translator {
            provider: Provider::Anthropic,
            source: Source::new(key()),
            encoder: crate::providers::openai::stream::Encode::new(
                "anthropic/claude-sonnet-4-5",
                true,
            ),
        };
        let events: Vec<_> = run(Provider::Anthropic, DOCUMENTED, t)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let deltas: Vec<&Value> = events
            .iter()
            .filter_map(|e| e.data.pointer("/choices/0/delta"))
            .collect();
        assert_eq!(deltas[0]["role"], "assistant");
        assert_eq!(deltas[1]["reasoning_content"], "Let me think.");
        assert!(events[1].is_content && !events[0].is_content);
        assert_eq!(deltas[2]["content"], "Okay, checking.");
        assert_eq!(deltas[3]["tool_calls"][0]["index"], 0);
        assert_eq!(
            deltas[3]["tool_calls"][0]["id"],
            "toolu_01T1x1fJ34qAmk2tNTrN7Up6"
        );
        let args: String = deltas
            .iter()
            .filter_map(|d| {
                d.pointer("/tool_calls/0/function/arguments")
                    .and_then(Value::as_str)
            })
            .collect();
        assert_eq!(args, "{\"location\": \"San Francisco\"}");
        let n = events.len();
        assert_eq!(
            events[n - 2].data["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert_eq!(events[n - 1].data["usage"]["prompt_tokens"], 572);
        assert_eq!(events[n - 1].usage.unwrap().output_tokens, 89);
    }

    #[tokio::test]
    async fn openai_chunks_to_anthropic_events() {
        let openai_stream = concat!(
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_9\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
            "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\n",
            "data: [DONE]\n\n",
        );
        let t = Translator {
            provider: Provider::OpenAi,
            source: crate::providers::openai::stream::Source::new(Provider::OpenAi, key()),
            encoder: Encode::new("openai/gpt-4.1"),
        };
        let events: Vec<_> = run(Provider::OpenAi, openai_stream, t)
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
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[4].data["content_block"]["id"], "call_9");
        assert_eq!(events[7].data["delta"]["stop_reason"], "tool_use");
        assert_eq!(events[7].usage.unwrap().output_tokens, 4);
        assert!(events[2].is_content);
    }
}
