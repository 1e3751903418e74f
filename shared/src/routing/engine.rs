//! Running a route: for each step, each key in the step's key order, up to `retries` retries, until an
//! attempt answers, the failure is one that must not fall over, or the deadline passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

use super::attempts::Attempt;
use super::retry;
use crate::app::AppState;
use crate::domain::policy::route::{Route, RouteStep};
use crate::domain::policy::{CooldownView, ErrorClass as PolicyClass, KeyKind};
use crate::domain::provider::Provider;
use crate::error::{Error, ErrorKind};
use crate::providers::{
    ChatOutcome, ClientFormat, Completed, ErrorClass, EventStream, ProviderError, StreamEvent,
};
use crate::repo::provider_keys::{self, Owner};
use crate::secret::Secret;

/// What to send to each attempt. `body` is the caller's JSON, gateway fields already stripped; the engine
/// replaces `model` per attempt.
#[derive(Debug, Clone, Copy)]
pub enum Work<'a> {
    Chat {
        format: ClientFormat,
        body: &'a Value,
    },
    Embeddings {
        body: &'a Value,
    },
}

/// An answer that may be sent to the client.
pub enum Answer {
    Complete(Completed),
    /// A committed stream: `head` holds every event up to and including the first content event.
    Stream {
        head: Vec<StreamEvent>,
        rest: EventStream,
    },
}

pub struct Served {
    pub answer: Answer,
    pub provider: Provider,
    /// `<provider>/<model>` that answered.
    pub model: String,
    pub key: KeyKind,
    pub attempts: Vec<Attempt>,
}

pub struct Failed {
    pub error: Error,
    pub attempts: Vec<Attempt>,
}

fn policy_class(class: ErrorClass, key: KeyKind) -> Option<PolicyClass> {
    Some(match class {
        ErrorClass::Timeout => PolicyClass::Timeout,
        ErrorClass::Connect => PolicyClass::ConnectionError,
        ErrorClass::RateLimited => PolicyClass::RateLimited,
        ErrorClass::Overloaded | ErrorClass::Server => PolicyClass::ServerError,
        ErrorClass::KeyRejected => match key {
            KeyKind::Own => PolicyClass::OwnKeyRejected,
            KeyKind::Platform => PolicyClass::PlatformKeyRejected,
        },
        ErrorClass::CallerError | ErrorClass::Refusal => return None,
    })
}

fn outcome(e: &ProviderError) -> String {
    match (e.class, e.status) {
        (ErrorClass::Timeout, _) => "timeout".into(),
        (ErrorClass::Connect, _) => "connect_error".into(),
        (_, Some(status)) => format!("http_{status}"),
        (ErrorClass::Refusal, None) => "refused".into(),
        _ => "stream_error".into(),
    }
}

/// The client-facing error for a provider failure that ends the request.
pub fn client_error(provider: Provider, e: &ProviderError) -> Error {
    let kind = match (e.class, e.status) {
        (ErrorClass::CallerError, Some(404)) => ErrorKind::NotFound,
        (ErrorClass::CallerError, Some(413)) => ErrorKind::PayloadTooLarge,
        (ErrorClass::CallerError, Some(422)) => ErrorKind::Unprocessable,
        (ErrorClass::CallerError, _) | (ErrorClass::Refusal, _) => ErrorKind::InvalidRequest,
        (ErrorClass::Timeout, _) => ErrorKind::Timeout,
        (ErrorClass::RateLimited, _) => ErrorKind::RateLimited,
        _ => ErrorKind::Upstream,
    };
    Error::new(kind, format!("{provider}: {}", e.message))
}

fn with_model(body: &Value, model: &str) -> Value {
    let mut body = body.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("model".into(), Value::String(model.to_owned()));
    }
    body
}

/// One call, and for a stream the wait for its first content event (the commit point).
async fn call_once(
    state: &AppState,
    step: &RouteStep,
    key: &Secret,
    work: Work<'_>,
    timeout: Duration,
) -> Result<Answer, ProviderError> {
    let providers = state.providers();
    let model_id = step.model_id();
    match work {
        Work::Embeddings { body } => {
            let body = with_model(body, &step.model);
            providers
                .embeddings(step.provider, key, &body, &model_id, timeout)
                .await
                .map(Answer::Complete)
        }
        Work::Chat { format, body } => {
            let body = with_model(body, &step.model);
            match providers
                .chat(step.provider, key, format, &body, &model_id, timeout)
                .await?
            {
                ChatOutcome::Complete(done) => Ok(Answer::Complete(done)),
                ChatOutcome::Stream(mut rest) => {
                    let mut head = Vec::new();
                    let started = Instant::now();
                    loop {
                        let left = timeout.saturating_sub(started.elapsed());
                        match tokio::time::timeout(left, rest.next()).await {
                            Err(_) => {
                                return Err(ProviderError::new(
                                    ErrorClass::Timeout,
                                    format!("{} sent no content in time", step.provider),
                                ));
                            }
                            Ok(Some(Err(e))) => return Err(e),
                            Ok(Some(Ok(event))) => {
                                let content = event.is_content;
                                head.push(event);
                                if content {
                                    return Ok(Answer::Stream { head, rest });
                                }
                            }
                            // A clean end without content (the adapter turns an unterminated end into an error).
                            Ok(None) => {
                                return Ok(Answer::Stream {
                                    head,
                                    rest: Box::pin(futures::stream::empty()),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Run `route` for `org_id`.
pub async fn execute(
    state: &AppState,
    org_id: &str,
    route: &Route,
    work: Work<'_>,
) -> Result<Served, Failed> {
    let deadline = route
        .deadline_ms
        .map(|ms| Instant::now() + Duration::from_millis(ms));
    let mut attempts = Vec::new();
    let mut last: Option<Error> = None;
    let mut skipped: Vec<String> = Vec::new();
    let steps: Vec<&RouteStep> = route.attempts().collect();
    for (index, step) in steps.iter().enumerate() {
        let is_last_step = index + 1 == steps.len();
        let order = step.key_source.order();
        for (key_index, kind) in order.iter().enumerate() {
            let model_id = step.model_id();
            let skip = |outcome: &str, attempts: &mut Vec<Attempt>| {
                attempts.push(Attempt {
                    model: model_id.clone(),
                    key: *kind,
                    outcome: format!("skipped_{outcome}"),
                    ms: 0,
                });
            };
            // A cooling-down target is skipped while anything else is left to try.
            let last_option = is_last_step && key_index + 1 == order.len();
            if !last_option
                && state
                    .cooldowns()
                    .in_cooldown(step.provider, &step.model, *kind)
            {
                skip("cooldown", &mut attempts);
                continue;
            }
            let key = match state
                .keys()
                .get(state.store(), state.cipher(), org_id, step.provider, *kind)
                .await
            {
                Ok(Some(key)) => key,
                Ok(None) => {
                    skipped.push(format!("no {kind} key for {}", step.provider));
                    skip("no_key", &mut attempts);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(provider = %step.provider, key = %kind, error = %e.message, "provider key unavailable");
                    skipped.push(format!(
                        "the {kind} key for {} is unavailable",
                        step.provider
                    ));
                    skip("key_unavailable", &mut attempts);
                    continue;
                }
            };
            match run_step(
                state,
                org_id,
                step,
                *kind,
                &key,
                work,
                deadline,
                &route.fallover_on,
                &mut attempts,
            )
            .await
            {
                StepResult::Served(answer) => {
                    return Ok(Served {
                        answer,
                        provider: step.provider,
                        model: model_id,
                        key: *kind,
                        attempts,
                    });
                }
                StepResult::Stop(error) => return Err(Failed { error, attempts }),
                StepResult::FallOver(error) => last = Some(error),
            }
        }
    }
    let error = last.unwrap_or_else(|| {
        let why = if skipped.is_empty() {
            "no step could be tried".to_owned()
        } else {
            skipped.join("; ")
        };
        Error::new(
            ErrorKind::Unprocessable,
            format!("no provider key is available for this route: {why}"),
        )
    });
    Err(Failed { error, attempts })
}

enum StepResult {
    Served(Answer),
    /// Do not go on: the caller's own error, a refusal, a class the policy does not fall over on, or the
    /// deadline.
    Stop(Error),
    /// Go on to the next key or step.
    FallOver(Error),
}

#[allow(clippy::too_many_arguments)]
async fn run_step(
    state: &AppState,
    org_id: &str,
    step: &RouteStep,
    kind: KeyKind,
    key: &Arc<Secret>,
    work: Work<'_>,
    deadline: Option<Instant>,
    fallover_on: &[PolicyClass],
    attempts: &mut Vec<Attempt>,
) -> StepResult {
    let mut delays = retry::delays(step.retries);
    loop {
        let remaining = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if remaining.is_some_and(|r| r.is_zero()) {
            return StepResult::Stop(Error::new(
                ErrorKind::Timeout,
                "the policy's deadline passed",
            ));
        }
        let per_attempt = Duration::from_millis(step.timeout_ms);
        let timeout = remaining.map_or(per_attempt, |r| r.min(per_attempt));
        let started = Instant::now();
        let result = call_once(state, step, key, work, timeout).await;
        let ms = started.elapsed().as_millis() as u64;
        let error = match result {
            Ok(answer) => {
                state.cooldowns().success(step.provider, &step.model, kind);
                attempts.push(Attempt {
                    model: step.model_id(),
                    key: kind,
                    outcome: "ok".into(),
                    ms,
                });
                return StepResult::Served(answer);
            }
            Err(e) => e,
        };
        attempts.push(Attempt {
            model: step.model_id(),
            key: kind,
            outcome: outcome(&error),
            ms,
        });
        let client = client_error(step.provider, &error);
        let Some(class) = policy_class(error.class, kind) else {
            return StepResult::Stop(client);
        };
        state.cooldowns().failure(step.provider, &step.model, kind);
        if error.class == ErrorClass::KeyRejected {
            note_rejected_key(state, org_id, step.provider, kind, &error).await;
        }
        if error.class.is_retryable() {
            let next = delays.next().and_then(|d| {
                retry::wait(
                    d,
                    error.retry_after,
                    deadline.map(|d| d.saturating_duration_since(Instant::now())),
                )
            });
            if let Some(wait) = next {
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        return if fallover_on.contains(&class) {
            StepResult::FallOver(client)
        } else {
            StepResult::Stop(client)
        };
    }
}

/// Record on the own key's health that the provider rejected it (the platform key's health is the
/// operator's, kept in logs).
async fn note_rejected_key(
    state: &AppState,
    org_id: &str,
    provider: Provider,
    kind: KeyKind,
    error: &ProviderError,
) {
    tracing::warn!(%provider, key = %kind, status = ?error.status, "provider rejected a key");
    if kind != KeyKind::Own {
        return;
    }
    let message = format!(
        "{} {}",
        error.status.map(|s| s.to_string()).unwrap_or_default(),
        error.message
    );
    let update = provider_keys::record_health(state.store(), Owner::Org(org_id), provider, |h| {
        h.last_error = Some(message.trim().to_owned());
    });
    if let Err(e) = update.await {
        tracing::warn!(error = %e.message, "could not record key health");
    }
}
