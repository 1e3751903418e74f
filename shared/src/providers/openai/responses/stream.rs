//! Responses API streams: OpenAI's own events passed through (model replaced, usage read from the
//! terminal event), and neutral deltas written with the Responses event grammar: `response.created`,
//! `response.in_progress`, per output item `response.output_item.added` … `.done` (with
//! `response.content_part.*` and `response.output_text.*` for a message,
//! `response.function_call_arguments.*` for a call, `response.reasoning_summary_*` for reasoning), then
//! `response.completed` (or `response.incomplete`) carrying the usage; every event has a
//! `sequence_number` counting from 0.

use serde_json::{Value, json};

use super::response::{
    call_item, envelope, message_item, reasoning_item, status, text_part, usage, usage_json,
};
use crate::domain::provider::Provider;
use crate::providers::ir::{Delta, Finish, new_id};
use crate::providers::sse::{Decoder, json};
use crate::providers::translate::Encoder;
use crate::providers::{ProviderError, StreamEvent, Usage};
use crate::secret::Secret;

/// Event names of the Responses stream (SSE `event:` lines need static names).
const NAMES: &[&str] = &[
    "response.created",
    "response.in_progress",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "response.queued",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.output_text.annotation.added",
    "response.refusal.delta",
    "response.refusal.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.reasoning_summary_part.added",
    "response.reasoning_summary_part.done",
    "response.reasoning_summary_text.delta",
    "response.reasoning_summary_text.done",
    "response.reasoning_text.delta",
    "response.reasoning_text.done",
    "response.custom_tool_call_input.delta",
    "response.custom_tool_call_input.done",
    "error",
];

fn name(kind: &str) -> Option<&'static str> {
    NAMES.iter().copied().find(|n| *n == kind)
}

/// OpenAI's Responses stream → a Responses caller: events unchanged but for the response's `model`; the
/// terminal `response.completed`/`response.incomplete` carries the usage; `response.failed` and `error`
/// become errors (before the commit they fall over like any failure).
pub(crate) struct Passthrough {
    provider: Provider,
    key: Secret,
    model: String,
    done: bool,
}

impl Passthrough {
    pub fn new(provider: Provider, key: Secret, model: &str) -> Self {
        Self {
            provider,
            key,
            model: model.to_owned(),
            done: false,
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
            return Ok(());
        }
        let mut event = json(self.provider, data)?;
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        match kind.as_str() {
            "error" => {
                return Err(ProviderError::from_stream_error(
                    self.provider,
                    &json!({"error": event}),
                    self.key.expose(),
                ));
            }
            "response.failed" => {
                let error = event
                    .pointer("/response/error")
                    .cloned()
                    .unwrap_or(Value::Null);
                return Err(ProviderError::from_stream_error(
                    self.provider,
                    &json!({"error": error}),
                    self.key.expose(),
                ));
            }
            _ => {}
        }
        if let Some(response) = event.get_mut("response").and_then(Value::as_object_mut) {
            response.insert("model".into(), self.model.clone().into());
        }
        let terminal = matches!(kind.as_str(), "response.completed" | "response.incomplete");
        let used =
            terminal.then(|| usage(event.pointer("/response/usage").unwrap_or(&Value::Null)));
        let mut out_event = StreamEvent::new(name(&kind), event);
        out_event.is_content = kind.ends_with(".delta");
        if let Some(u) = used {
            self.done = true;
            out_event = out_event.with_usage(u);
        }
        out.push(out_event);
        Ok(())
    }

    fn is_terminated(&self) -> bool {
        self.done
    }

    fn finish(&mut self, _: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if self.done {
            Ok(())
        } else {
            Err(ProviderError::cut(self.provider))
        }
    }
}

/// The output item being written.
enum Open {
    Reasoning {
        index: usize,
        id: String,
        text: String,
        signature: Option<String>,
    },
    Message {
        index: usize,
        id: String,
        text: String,
    },
}

/// A function call item: open until the stream ends or another kind of item starts.
struct Call {
    /// The provider's index of the call.
    source: usize,
    index: usize,
    id: String,
    call_id: String,
    name: String,
    arguments: String,
}

/// Neutral deltas → Responses events.
pub(crate) struct Encode {
    response: Value,
    seq: u64,
    started: bool,
    output: Vec<(usize, Value)>,
    next_index: usize,
    open: Option<Open>,
    calls: Vec<Call>,
    finish: Option<Finish>,
    usage: Usage,
}

impl Encode {
    /// `request` is the caller's body, whose settings the response object echoes.
    pub fn new(model: &str, request: &Value) -> Self {
        Self {
            response: envelope(
                request,
                &new_id("resp_"),
                model,
                chrono::Utc::now().timestamp(),
            ),
            seq: 0,
            started: false,
            output: Vec::new(),
            next_index: 0,
            open: None,
            calls: Vec::new(),
            finish: None,
            usage: Usage::default(),
        }
    }

    fn emit(&mut self, out: &mut Vec<StreamEvent>, kind: &'static str, mut data: Value) -> usize {
        data["type"] = kind.into();
        data["sequence_number"] = self.seq.into();
        self.seq += 1;
        out.push(StreamEvent::new(Some(kind), data));
        out.len() - 1
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        let response = self.response.clone();
        self.emit(out, "response.created", json!({"response": response}));
        let response = self.response.clone();
        self.emit(out, "response.in_progress", json!({"response": response}));
    }

    fn take_index(&mut self) -> usize {
        self.next_index += 1;
        self.next_index - 1
    }

    /// Close the open reasoning or message item.
    fn close_open(&mut self, out: &mut Vec<StreamEvent>) {
        match self.open.take() {
            None => {}
            Some(Open::Reasoning {
                index,
                id,
                text,
                signature,
            }) => {
                let at = json!({"item_id": id, "output_index": index, "summary_index": 0});
                let mut done = at.clone();
                done["text"] = text.clone().into();
                self.emit(out, "response.reasoning_summary_text.done", done);
                let mut part = at;
                part["part"] = json!({"type": "summary_text", "text": text});
                self.emit(out, "response.reasoning_summary_part.done", part);
                let item = reasoning_item(&id, &text, signature.as_deref());
                self.item_done(out, index, item);
            }
            Some(Open::Message { index, id, text }) => {
                let at = json!({"item_id": id, "output_index": index, "content_index": 0});
                let mut done = at.clone();
                done["text"] = text.clone().into();
                done["logprobs"] = json!([]);
                self.emit(out, "response.output_text.done", done);
                let mut part = at;
                part["part"] = text_part(&text);
                self.emit(out, "response.content_part.done", part);
                let item = message_item(&id, &text, "completed");
                self.item_done(out, index, item);
            }
        }
    }

    fn close_calls(&mut self, out: &mut Vec<StreamEvent>) {
        for call in std::mem::take(&mut self.calls) {
            self.emit(
                out,
                "response.function_call_arguments.done",
                json!({"item_id": call.id, "output_index": call.index, "name": call.name, "arguments": call.arguments}),
            );
            let item = call_item(
                &call.id,
                &call.call_id,
                &call.name,
                &call.arguments,
                "completed",
            );
            self.item_done(out, call.index, item);
        }
    }

    fn item_done(&mut self, out: &mut Vec<StreamEvent>, index: usize, item: Value) {
        self.emit(
            out,
            "response.output_item.done",
            json!({"output_index": index, "item": item.clone()}),
        );
        self.output.push((index, item));
    }

    fn reasoning(
        &mut self,
        out: &mut Vec<StreamEvent>,
        delta: Option<String>,
        sig: Option<String>,
    ) {
        if !matches!(self.open, Some(Open::Reasoning { .. })) {
            self.close_open(out);
            self.close_calls(out);
            let index = self.take_index();
            let id = new_id("rs_");
            self.emit(
                out,
                "response.output_item.added",
                json!({"output_index": index, "item": {"type": "reasoning", "id": id, "summary": []}}),
            );
            self.emit(
                out,
                "response.reasoning_summary_part.added",
                json!({"item_id": id, "output_index": index, "summary_index": 0, "part": {"type": "summary_text", "text": ""}}),
            );
            self.open = Some(Open::Reasoning {
                index,
                id,
                text: String::new(),
                signature: None,
            });
        }
        let Some(Open::Reasoning {
            index,
            id,
            text,
            signature,
        }) = &mut self.open
        else {
            return;
        };
        if let Some(s) = sig {
            *signature = Some(s);
        }
        if let Some(d) = delta {
            text.push_str(&d);
            let data =
                json!({"item_id": id, "output_index": index, "summary_index": 0, "delta": d});
            let at = self.emit(out, "response.reasoning_summary_text.delta", data);
            out[at].is_content = true;
        }
    }

    fn text(&mut self, out: &mut Vec<StreamEvent>, delta: String) {
        if !matches!(self.open, Some(Open::Message { .. })) {
            self.close_open(out);
            self.close_calls(out);
            let index = self.take_index();
            let id = new_id("msg_");
            self.emit(
                out,
                "response.output_item.added",
                json!({"output_index": index, "item": message_item(&id, "", "in_progress")}),
            );
            self.emit(
                out,
                "response.content_part.added",
                json!({"item_id": id, "output_index": index, "content_index": 0, "part": text_part("")}),
            );
            self.open = Some(Open::Message {
                index,
                id,
                text: String::new(),
            });
        }
        let Some(Open::Message { index, id, text }) = &mut self.open else {
            return;
        };
        text.push_str(&delta);
        let data = json!({"item_id": id, "output_index": index, "content_index": 0, "delta": delta, "logprobs": []});
        let at = self.emit(out, "response.output_text.delta", data);
        out[at].is_content = true;
    }
}

impl Encoder for Encode {
    fn encode(&mut self, delta: Delta, out: &mut Vec<StreamEvent>) {
        self.start(out);
        match delta {
            Delta::Start { .. } => {}
            Delta::Reasoning(t) => self.reasoning(out, Some(t), None),
            Delta::ReasoningSignature(s) => self.reasoning(out, None, Some(s)),
            Delta::Text(t) => self.text(out, t),
            Delta::ToolStart { index, id, name } => {
                self.close_open(out);
                let at = self.take_index();
                let item_id = new_id("fc_");
                let item = call_item(&item_id, &id, &name, "", "in_progress");
                let e = self.emit(
                    out,
                    "response.output_item.added",
                    json!({"output_index": at, "item": item}),
                );
                out[e].is_content = true;
                self.calls.push(Call {
                    source: index,
                    index: at,
                    id: item_id,
                    call_id: id,
                    name,
                    arguments: String::new(),
                });
            }
            Delta::ToolArgs { index, json } => {
                let Some(call) = self.calls.iter_mut().rev().find(|c| c.source == index) else {
                    return;
                };
                call.arguments.push_str(&json);
                let data = json!({"item_id": call.id, "output_index": call.index, "delta": json});
                let e = self.emit(out, "response.function_call_arguments.delta", data);
                out[e].is_content = true;
            }
            Delta::Finish(f) => self.finish = Some(f),
            Delta::Usage(u) => self.usage = u,
        }
    }

    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        self.start(out);
        self.close_open(out);
        self.close_calls(out);
        self.output.sort_by_key(|(i, _)| *i);
        let (status, incomplete) = status(self.finish);
        let mut response = self.response.clone();
        response["status"] = status.into();
        response["incomplete_details"] = incomplete;
        response["output"] = Value::Array(self.output.iter().map(|(_, v)| v.clone()).collect());
        response["usage"] = usage_json(&self.usage);
        let kind = if status == "completed" {
            "response.completed"
        } else {
            "response.incomplete"
        };
        let at = self.emit(out, kind, json!({"response": response}));
        out[at].usage = Some(self.usage);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(events: &[StreamEvent]) -> Vec<&str> {
        events.iter().map(|e| e.event.unwrap()).collect()
    }

    #[test]
    fn deltas_follow_the_responses_grammar() {
        let mut enc = Encode::new("anthropic/claude", &json!({"instructions": "x"}));
        let mut out = Vec::new();
        for d in [
            Delta::Start { id: "m".into() },
            Delta::Reasoning("think".into()),
            Delta::ReasoningSignature("sig".into()),
            Delta::Text("Hel".into()),
            Delta::Text("lo".into()),
            Delta::ToolStart {
                index: 0,
                id: "c1".into(),
                name: "f".into(),
            },
            Delta::ToolArgs {
                index: 0,
                json: "{\"a\":".into(),
            },
            Delta::ToolArgs {
                index: 0,
                json: "1}".into(),
            },
            Delta::Finish(Finish::ToolCalls),
            Delta::Usage(Usage {
                input_tokens: 3,
                output_tokens: 4,
                ..Usage::default()
            }),
        ] {
            enc.encode(d, &mut out);
        }
        enc.end(&mut out);
        assert_eq!(
            kinds(&out),
            [
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
                "response.output_text.delta",
                "response.output_text.delta",
                "response.output_text.done",
                "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.delta",
                "response.function_call_arguments.done",
                "response.output_item.done",
                "response.completed",
            ]
        );
        for (i, e) in out.iter().enumerate() {
            assert_eq!(e.data["sequence_number"], i as u64);
            assert_eq!(e.data["type"], e.event.unwrap());
        }
        let last = out.last().unwrap();
        assert_eq!(last.usage.unwrap().output_tokens, 4);
        let response = &last.data["response"];
        assert_eq!(response["output"][0]["encrypted_content"], "sig");
        assert_eq!(response["output"][1]["content"][0]["text"], "Hello");
        assert_eq!(response["output"][2]["arguments"], "{\"a\":1}");
        assert_eq!(response["instructions"], "x");
        assert_eq!(out[0].data["response"]["id"], response["id"]);
        assert!(out.iter().filter(|e| e.is_content).count() == 6);
    }

    #[test]
    fn passthrough_replaces_the_model_and_reads_usage_at_the_end() {
        let mut p = Passthrough::new(Provider::OpenAi, Secret::new("sk"), "openai/gpt-4.1");
        let mut out = Vec::new();
        p.on_event(
            "",
            r#"{"type":"response.created","sequence_number":0,"response":{"model":"gpt-4.1"}}"#,
            &mut out,
        )
        .unwrap();
        p.on_event(
            "",
            r#"{"type":"response.output_text.delta","sequence_number":1,"delta":"hi"}"#,
            &mut out,
        )
        .unwrap();
        assert!(p.finish(&mut Vec::new()).is_err(), "no terminal event yet");
        p.on_event("", r#"{"type":"response.completed","sequence_number":2,"response":{"model":"gpt-4.1","usage":{"input_tokens":5,"output_tokens":2}}}"#, &mut out).unwrap();
        assert!(p.is_terminated());
        assert_eq!(out[0].data["response"]["model"], "openai/gpt-4.1");
        assert!(out[1].is_content && !out[0].is_content);
        assert_eq!(out[2].usage.unwrap().input_tokens, 5);
        let err = p
            .on_event(
                "",
                r#"{"type":"error","code":"server_error","message":"boom","sequence_number":3}"#,
                &mut out,
            )
            .unwrap_err();
        assert!(err.message.contains("boom"));
    }
}
