//! Recording each inference request in the request log, exactly once.
//!
//! A [`Trail`] starts when an authenticated request reaches its handler and gathers what the request goes
//! through: its parsed metadata, the engine's attempts and who answered, tokens and cost. It is written
//! once: a served answer's when it is billed, beside its usage writes ([`Trail::served_and_billed`], for a
//! stream at its end, the stream having taken the trail over), any other request's when the handler's
//! response is built ([`recorded`]). Refusals (permission, rate limit,
//! allow-list, spend limit, unpriced model, bad body) are recorded as the error response they become.
//! The write itself goes through [`crate::log_writes`]: behind the response in `byok serve`, inside the
//! invocation on Lambda.
//!
//! Payload capture (keys with `logging` on): the request body at the start, a response body when it is
//! built, a stream's sent text ([`crate::stream_capture`]) when the stream is billed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::response::Response;
use byok_shared::auth::Caller;
use byok_shared::domain::request_log::{self, LogAttempt, LogRecord, LogTokens, Payload};
use byok_shared::error::Error;
use byok_shared::http::{RequestId, error_body};
use byok_shared::providers::{AnswerBody, RequestBody, Usage};
use byok_shared::routing::Served;
use byok_shared::routing::attempts::Attempt;

use crate::pipeline::Stopped;
use crate::request::Parsed;
use crate::state::Gateway;
use crate::stream_capture::StreamCapture;

/// One request's record in the making. Cheap to clone (shared).
#[derive(Clone)]
pub struct Trail {
    inner: Arc<Inner>,
}

struct Inner {
    gateway: Gateway,
    org_id: String,
    started: Instant,
    capture: bool,
    draft: Mutex<Draft>,
}

struct Draft {
    record: LogRecord,
    payload: Option<Payload>,
    /// What a stream sent (keys that capture payloads), written into `payload` when the stream is billed.
    sent: Option<StreamCapture>,
    /// A stream took the trail over: the handler's response does not write it.
    handed_over: bool,
    written: bool,
}

impl Trail {
    /// Start the record of an authenticated request. `body`: the request body when it was JSON.
    pub fn start(
        gateway: &Gateway,
        caller: &Caller,
        id: RequestId,
        endpoint: &str,
        body: Option<&RequestBody>,
    ) -> Self {
        let RequestId(request_id) = id;
        let created_at = request_log::time_of(&request_id).unwrap_or_else(chrono::Utc::now);
        let capture = caller.key.logging;
        let payload = capture.then(|| {
            let text = body.map(RequestBody::to_json_string).unwrap_or_default();
            let (request, request_truncated) =
                request_log::truncate(&text, request_log::PAYLOAD_CAP);
            Payload {
                request,
                request_truncated,
                response: None,
                response_truncated: false,
            }
        });
        let record = LogRecord {
            request_id,
            created_at,
            api_key_id: caller.api_key_id().to_owned(),
            endpoint: endpoint.to_owned(),
            model_requested: body
                .and_then(|b| b.get_str("model"))
                .map(|m| m.chars().take(256).collect()),
            policy: None,
            model_used: None,
            provider_used: None,
            key_source: None,
            stream: false,
            attempts: Vec::new(),
            status: 0,
            error_type: None,
            error_code: None,
            latency_ms: 0,
            ttft_ms: None,
            tokens: LogTokens::default(),
            cost: None,
            user_id: None,
            trace_id: None,
            tags: Vec::new(),
            extra: Default::default(),
            origin: None,
            payload_captured: false,
        };
        Self {
            inner: Arc::new(Inner {
                gateway: gateway.clone(),
                org_id: caller.org_id().to_owned(),
                started: Instant::now(),
                capture,
                draft: Mutex::new(Draft {
                    record,
                    payload,
                    sent: None,
                    handed_over: false,
                    written: false,
                }),
            }),
        }
    }

    fn edit(&self, change: impl FnOnce(&mut Draft)) {
        let mut draft = self
            .inner
            .draft
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        change(&mut draft);
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.inner.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The request as parsed: the model it asked for, its policy and metadata.
    pub fn parsed(&self, parsed: &Parsed) {
        let m = &parsed.metadata;
        self.edit(|d| {
            let r = &mut d.record;
            r.model_requested = Some(m.model_requested.clone());
            r.policy = parsed.model.strip_prefix("policy/").map(str::to_owned);
            r.stream = parsed.stream;
            r.user_id = m.user_id.clone();
            r.trace_id = m.trace_id.clone();
            r.tags = m.tags.clone();
            r.extra = m.extra_text();
            r.origin = m.origin_title.clone();
        });
    }

    /// Who answered, and every attempt. For a stream this is when its first content token goes out.
    pub fn served(&self, served: &Served) {
        let ttft = self.elapsed_ms();
        self.edit(|d| {
            let r = &mut d.record;
            r.model_used = Some(served.qualified_model());
            r.provider_used = Some(served.provider.as_str().to_owned());
            r.key_source = Some(served.key.as_str().to_owned());
            r.attempts = attempts(&served.attempts);
            if r.stream {
                r.ttft_ms = Some(ttft);
            }
        });
    }

    /// Every attempt of a request none could serve.
    pub fn stopped(&self, stopped: &Stopped) {
        if let Stopped::Failed(failed) = stopped {
            self.edit(|d| d.record.attempts = attempts(&failed.attempts));
        }
    }

    /// What the request was billed.
    pub fn billed(&self, usage: &Usage, cost: Option<f64>) {
        self.edit(|d| {
            d.record.tokens = LogTokens {
                input: usage.input_tokens,
                output: usage.output_tokens,
                cached: usage.cached_tokens,
                cache_write: usage.cache_write_tokens,
                reasoning: usage.reasoning_tokens,
            };
            d.record.cost = cost;
        });
    }

    /// The response body, when the key captures payloads.
    pub fn response_body(&self, body: &AnswerBody) {
        if !self.inner.capture {
            return;
        }
        let (text, cut) = request_log::truncate(&body.to_json_string(), request_log::PAYLOAD_CAP);
        self.edit(|d| {
            if let Some(p) = d.payload.as_mut() {
                p.response = Some(text);
                p.response_truncated = cut;
            }
        });
    }

    /// Where a stream keeps the frames it sends, when the key captures payloads; `None` otherwise (a key
    /// without `logging` copies nothing).
    pub fn stream_capture(&self) -> Option<StreamCapture> {
        self.inner.capture.then(StreamCapture::new)
    }

    /// What the stream sent, to be completed with its held frames when it is billed.
    pub fn stream_sent(&self, sent: StreamCapture) {
        self.edit(|d| d.sent = Some(sent));
    }

    /// A stream takes the record over: it is written when the stream ends, not with the response.
    pub fn hand_over(&self) -> Trail {
        self.edit(|d| d.handed_over = true);
        self.clone()
    }

    /// A served answer is billed: the record is complete (status 200; `failed`: a stream cut after its
    /// first token, or its client went away). Returns it for the caller to write beside the usage writes,
    /// once: `None` when it was taken already.
    pub fn served_and_billed(
        &self,
        usage: &Usage,
        cost: Option<f64>,
        failed: bool,
    ) -> Option<crate::log_writes::Pending> {
        self.billed(usage, cost);
        let latency = self.elapsed_ms();
        self.edit(|d| {
            if let Some(sent) = d.sent.take() {
                let (text, cut) = sent.finish(cost);
                if let Some(p) = d.payload.as_mut() {
                    p.response = Some(text);
                    p.response_truncated = cut;
                }
            }
            d.record.status = 200;
            d.record.latency_ms = latency;
            if failed {
                d.record.error_type = Some("stream_error".into());
                d.record.error_code = Some("stream_interrupted".into());
            }
        });
        self.take()
    }

    /// The handler's response is ready: record it unless a stream took the record over.
    async fn responded(&self, status: u16, error: Option<&Error>) {
        let latency = self.elapsed_ms();
        let (kind, code) = error.map(error_type).unwrap_or_default();
        let mut handed_over = false;
        self.edit(|d| {
            handed_over = d.handed_over;
            d.record.status = status;
            d.record.latency_ms = latency;
            d.record.error_type = kind;
            d.record.error_code = code;
        });
        if !handed_over {
            self.write().await;
        }
    }

    /// The finished record, once; never when the operator switched the request log off
    /// (`BYOK_REQUEST_LOG=off`), so nothing is queued or flushed for it.
    fn take(&self) -> Option<crate::log_writes::Pending> {
        if !self.inner.gateway.app().config().request_log {
            return None;
        }
        let mut taken = None;
        self.edit(|d| {
            if !d.written {
                d.written = true;
                // Moved out, not copied: nothing reads the draft once it is written.
                let mut record = std::mem::take(&mut d.record);
                record.payload_captured = d.payload.is_some();
                taken = Some((record, d.payload.take()));
            }
        });
        taken.map(|(record, payload)| crate::log_writes::Pending {
            org_id: self.inner.org_id.clone(),
            record,
            payload,
        })
    }

    async fn write(&self) {
        if let Some(pending) = self.take() {
            crate::log_writes::record(&self.inner.gateway, pending).await;
        }
    }
}

/// The handler's result as the response, the request recorded (unless a stream took it over).
pub async fn recorded(trail: &Trail, result: byok_shared::Result<Response>) -> Response {
    use axum::response::IntoResponse;
    let response = result.unwrap_or_else(IntoResponse::into_response);
    let error = response.extensions().get::<Error>().cloned();
    trail
        .responded(response.status().as_u16(), error.as_ref())
        .await;
    response
}

fn error_type(error: &Error) -> (Option<String>, Option<String>) {
    let (_, body) = error_body(error);
    let text = |field: &str| body["error"][field].as_str().map(str::to_owned);
    (text("type"), text("code"))
}

fn attempts(tried: &[Attempt]) -> Vec<LogAttempt> {
    tried
        .iter()
        .map(|a| LogAttempt {
            model: a.model.clone(),
            provider: a.model.split('/').next().unwrap_or_default().to_owned(),
            key_source: a.key.as_str().to_owned(),
            outcome: a.outcome.clone(),
            status: match a.outcome.as_str() {
                "ok" => Some(200),
                other => other.strip_prefix("http_").and_then(|s| s.parse().ok()),
            },
            ms: a.ms,
        })
        .collect()
}
