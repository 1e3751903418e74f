//! Glue between a provider's stream (as neutral [`Delta`]s) and the client's stream format.

use serde_json::Value;

use super::edited::Edited;
use super::ir::{ChatRequest, Delta, Reply};
use super::sse::Decoder;
use super::{
    AnswerBody, AttemptPlan, ChatOutcome, ClientFormat, Completed, ForwardedHeaders, ProviderError,
    RequestBody, StreamEvent, Usage,
};
use crate::domain::provider::Provider;

/// A provider stream read as neutral deltas.
pub(crate) trait DeltaSource: Send + 'static {
    fn feed(&mut self, event: &str, data: &str, out: &mut Vec<Delta>) -> Result<(), ProviderError>;
    /// An explicit terminator event was seen: stop reading.
    fn is_terminated(&self) -> bool;
    /// The answer is whole (terminator or finish reason seen).
    fn is_complete(&self) -> bool;
}

/// Neutral deltas written as client events.
pub(crate) trait Encoder: Send + 'static {
    fn encode(&mut self, delta: Delta, out: &mut Vec<StreamEvent>);
    /// The answer is whole: close it (finish chunk / message_stop, with the usage).
    fn end(&mut self, out: &mut Vec<StreamEvent>);
}

pub(crate) struct Translator<S, E> {
    pub provider: Provider,
    pub source: S,
    pub encoder: E,
}

impl<S: DeltaSource, E: Encoder> Decoder for Translator<S, E> {
    fn on_event(
        &mut self,
        event: &str,
        data: &str,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), ProviderError> {
        let mut deltas = Vec::new();
        let result = self.source.feed(event, data, &mut deltas);
        for d in deltas {
            self.encoder.encode(d, out);
        }
        result
    }

    fn is_terminated(&self) -> bool {
        self.source.is_terminated()
    }

    fn finish(&mut self, out: &mut Vec<StreamEvent>) -> Result<(), ProviderError> {
        if !self.source.is_complete() {
            return Err(ProviderError::cut(self.provider));
        }
        self.encoder.end(out);
        Ok(())
    }
}

/// The encoder of the client's format (a Responses stream echoes the request's settings).
pub(crate) fn encoder(
    plan: &AttemptPlan<'_>,
    model: &str,
    include_usage: bool,
) -> Box<dyn Encoder> {
    match plan.format {
        ClientFormat::OpenAi => Box::new(super::openai::stream::Encode::new(model, include_usage)),
        ClientFormat::Anthropic => Box::new(super::anthropic::stream::Encode::new(model)),
        ClientFormat::Responses => Box::new(super::openai::responses::stream::Encode::new(
            model,
            plan.body.tree(),
        )),
    }
}

impl Encoder for Box<dyn Encoder> {
    fn encode(&mut self, delta: Delta, out: &mut Vec<StreamEvent>) {
        (**self).encode(delta, out)
    }
    fn end(&mut self, out: &mut Vec<StreamEvent>) {
        (**self).end(out)
    }
}

/// The caller's request in neutral form; the plan, not the body, decides whether it streams.
pub(crate) fn parse_request(plan: &AttemptPlan<'_>) -> Result<ChatRequest, ProviderError> {
    let mut req = match plan.format {
        ClientFormat::OpenAi => super::openai::request::parse(plan.body.tree())?,
        ClientFormat::Anthropic => super::anthropic::request::parse(plan.body.tree())?,
        ClientFormat::Responses => super::openai::responses::request::parse(plan.body.tree())?,
    };
    req.stream = plan.stream;
    clamp_max_tokens(&mut req, plan);
    Ok(req)
}

/// A translated request asks for no more output than the target model can give (its catalogue maximum):
/// clients size `max_tokens` for their own provider's models (Claude Code sends 32000 and more), which
/// another provider's model would refuse with a 400.
fn clamp_max_tokens(req: &mut ChatRequest, plan: &AttemptPlan<'_>) {
    let most = crate::catalogue::Catalogue::get(plan.provider, plan.model)
        .and_then(|m| m.max_output_tokens);
    if let (Some(most), Some(asked)) = (most, req.max_tokens.as_mut()) {
        *asked = (*asked).min(most);
    }
}

/// The caller's body for a same-format passthrough, with the plan's model (not a copy: [`Edited`]).
pub(crate) fn passthrough_body<'a>(plan: &AttemptPlan<'a>) -> Edited<'a> {
    let mut body = Edited::of(plan.body);
    body.set("model", plan.model);
    body
}

/// A whole reply in the client's format.
pub(crate) fn encode_reply(plan: &AttemptPlan<'_>, reply: &Reply, model: &str) -> Value {
    match plan.format {
        ClientFormat::OpenAi => super::openai::response::encode(reply, model),
        ClientFormat::Anthropic => super::anthropic::response::encode(reply, model),
        ClientFormat::Responses => {
            super::openai::responses::response::encode(reply, model, plan.body.tree())
        }
    }
}

/// How one provider reads its own whole answers: its usage object, and the answer in neutral form.
pub(crate) struct Reader {
    pub usage: fn(&Value) -> Usage,
    pub parse: fn(&Value) -> Result<Reply, ProviderError>,
}

/// A whole upstream answer for the client: when the client speaks the provider's own format, passed
/// through as the provider wrote it with only `model` replaced; otherwise parsed and encoded in the
/// client's format.
pub(crate) fn complete(
    (answer, headers): (RequestBody, ForwardedHeaders),
    plan: &AttemptPlan<'_>,
    reader: Reader,
) -> Result<ChatOutcome, ProviderError> {
    let response_model = plan.qualified_model();
    if plan.is_passthrough() {
        let mut answer = AnswerBody::passed(answer);
        // Parsed once: read here, and given the cost when billed (`usage` is the field that carries it).
        let usage = (reader.usage)(answer.field_mut("usage").map_or(&Value::Null, |u| &*u));
        answer.set("model", response_model.into());
        return Ok(ChatOutcome::Complete(Completed {
            body: answer,
            usage,
            headers,
        }));
    }
    let reply = (reader.parse)(answer.tree())?;
    Ok(ChatOutcome::Complete(Completed {
        body: encode_reply(plan, &reply, &response_model).into(),
        usage: reply.usage,
        headers,
    }))
}
