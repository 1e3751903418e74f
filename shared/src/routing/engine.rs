//! Running a route: for each step, each key in the step's key order, up to `retries` retries, until an
//! attempt answers, the failure is one that must not fall over, or the deadline or the attempt cap is
//! reached.
//!
//! The engine is a function of the route, the [`Work`] and a narrow [`Context`]: the provider client, the
//! org's keys (a [`KeyRing`]), and the org's view of target health. It never sees the store, the cipher or
//! HTTP; what it decides about a failure comes from [`super::classify`] alone.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;

use super::attempts::Attempt;
use super::classify;
use super::cooldown::TenantCooldowns;
use super::retry;
use crate::domain::policy::route::{Route, RouteStep};
use crate::domain::policy::{CooldownView, DEFAULT_TIMEOUT_MS, KeyKind};
use crate::domain::provider::Provider;
use crate::error::{Error, ErrorKind};
use crate::providers::{
    AttemptPlan, ChatOutcome, ClientFormat, ClientHeaders, Completed, ErrorClass, EventStream,
    ForwardedHeaders, ProviderClient, ProviderError, RequestBody, StreamEvent,
};
use crate::secret::Secret;

/// The org's provider keys, as the engine needs them.
#[async_trait]
pub trait KeyRing: Send + Sync {
    /// The key of this kind for `provider`; `None` when none is stored (the step is skipped).
    async fn key(&self, provider: Provider, kind: KeyKind) -> Result<Option<Arc<Secret>>, Error>;
    /// The provider rejected this key (401/402/403, an exhausted quota): record it on the key's health.
    async fn rejected(&self, provider: Provider, kind: KeyKind, error: &ProviderError);
    /// Why the org may not use keys of this kind at all (the operator's entitlement, a limit reached);
    /// `None` when it may. Asked before [`KeyRing::key`].
    async fn withheld(&self, _kind: KeyKind) -> Result<Option<Withheld>, Error> {
        Ok(None)
    }
}

/// Keys of a kind the org may not use: the skipped attempt's outcome (`skipped_<outcome>`), and the error
/// the request gets when no other option could be tried.
#[derive(Debug, Clone)]
pub struct Withheld {
    pub outcome: &'static str,
    pub error: Error,
}

/// What the engine runs with besides the route and the work.
pub struct Context<'a> {
    pub providers: &'a ProviderClient,
    pub keys: &'a dyn KeyRing,
    /// The org's view of target health (its own keys, and the shared platform keys).
    pub health: TenantCooldowns<'a>,
    /// Most provider calls one request may make, retries included.
    pub max_attempts: u32,
}

/// What to send to each attempt. `body` is the caller's JSON, gateway fields stripped; each attempt's
/// model comes from its step, never from the body.
#[derive(Debug, Clone, Copy)]
pub enum Work<'a> {
    Chat {
        format: ClientFormat,
        stream: bool,
        body: &'a RequestBody,
        headers: &'a ClientHeaders,
        /// Auto caching asked for (the request's, else the key's default).
        auto_cache: bool,
    },
    Embeddings {
        body: &'a RequestBody,
    },
}

static NO_HEADERS: ClientHeaders = ClientHeaders {
    anthropic_version: None,
    anthropic_beta: None,
};

impl<'a> Work<'a> {
    /// The attempt at `step`.
    fn plan(self, step: &'a RouteStep) -> AttemptPlan<'a> {
        let (format, stream, body, headers, auto_cache) = match self {
            Work::Chat {
                format,
                stream,
                body,
                headers,
                auto_cache,
            } => (format, stream, body, headers, auto_cache),
            Work::Embeddings { body } => (ClientFormat::OpenAi, false, body, &NO_HEADERS, false),
        };
        AttemptPlan {
            provider: step.provider,
            model: &step.model,
            stream,
            format,
            body,
            headers,
            auto_cache,
        }
    }
}

/// An answer that may be sent to the client.
pub enum Answer {
    Complete(Completed),
    /// A committed stream: `head` holds every event up to and including the first content event.
    Stream {
        head: Vec<StreamEvent>,
        rest: EventStream,
        headers: ForwardedHeaders,
    },
}

pub struct Served {
    pub answer: Answer,
    pub provider: Provider,
    /// The model that answered, as the provider knows it (no `provider/` prefix).
    pub model: String,
    pub key: KeyKind,
    pub attempts: Vec<Attempt>,
}

impl Served {
    /// `<provider>/<model>`.
    pub fn qualified_model(&self) -> String {
        format!("{}/{}", self.provider, self.model)
    }
}

pub struct Failed {
    pub error: Error,
    pub attempts: Vec<Attempt>,
}

/// Run `route`.
pub async fn execute(ctx: &Context<'_>, route: &Route, work: Work<'_>) -> Result<Served, Failed> {
    let mut run = Run {
        ctx,
        deadline: route
            .deadline_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms)),
        fallover_on: &route.fallover_on,
        attempts: Vec::new(),
        calls: 0,
        unavailable: Vec::new(),
        withheld: None,
    };
    let mut last: Option<Error> = None;
    // Every (step, key) in route order. A cooling-down target is put off until everything else has been
    // tried, then tried after all: cooldown is a preference, never a reason to fail a request that a
    // cooling target might still serve.
    let mut pending: Vec<(&RouteStep, KeyKind)> = route
        .attempts()
        .flat_map(|step| {
            step.key_source
                .order()
                .iter()
                .map(move |kind| (step, *kind))
        })
        .collect();
    // Two passes: everything not cooling down, then what was put off.
    for first_pass in [true, false] {
        let mut put_off = Vec::new();
        for (step, kind) in pending {
            if first_pass && ctx.health.in_cooldown(step.provider, &step.model, kind) {
                run.skip(step, kind, "cooldown");
                put_off.push((step, kind));
                continue;
            }
            match run.option(step, kind, work).await {
                None => {}
                Some(StepResult::Served(answer)) => return Ok(run.served(step, kind, answer)),
                Some(StepResult::Stop(error)) => return Err(run.failed(error)),
                Some(StepResult::FallOver(error)) => last = Some(error),
            }
        }
        pending = put_off;
    }
    let withheld = run.withheld.take();
    let error = last.unwrap_or_else(|| {
        // Nothing was tried: a key kind the org may not use explains it better than a missing key.
        if let Some(mut error) = withheld {
            let others: Vec<&String> = run
                .unavailable
                .iter()
                .filter(|u| **u != error.message)
                .collect();
            if !others.is_empty() {
                let others: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
                error.message = format!("{} ({})", error.message, others.join("; "));
            }
            return error;
        }
        let why = if run.unavailable.is_empty() {
            "no step could be tried".to_owned()
        } else {
            run.unavailable.join("; ")
        };
        Error::new(
            ErrorKind::Unprocessable,
            format!("no provider key is available for this route: {why}"),
        )
    });
    Err(run.failed(error))
}

enum StepResult {
    Served(Answer),
    /// Do not go on: the caller's own error, a refusal, a class the policy does not fall over on, the
    /// deadline, or the attempt cap.
    Stop(Error),
    /// Go on to the next key or step.
    FallOver(Error),
}

/// One request's run through its route.
struct Run<'r, 'c> {
    ctx: &'r Context<'c>,
    deadline: Option<Instant>,
    fallover_on: &'r [crate::domain::policy::ErrorClass],
    attempts: Vec<Attempt>,
    /// Provider calls made so far.
    calls: u32,
    /// Why options were passed over for want of a key.
    unavailable: Vec<String>,
    /// The first key kind the org may not use, if any option was passed over for it.
    withheld: Option<Error>,
}

impl Run<'_, '_> {
    fn served(self, step: &RouteStep, key: KeyKind, answer: Answer) -> Served {
        Served {
            answer,
            provider: step.provider,
            model: step.model.clone(),
            key,
            attempts: self.attempts,
        }
    }

    fn failed(self, error: Error) -> Failed {
        Failed {
            error,
            attempts: self.attempts,
        }
    }

    /// One option: its key, then the step with it. `None` when there is no usable key.
    async fn option(
        &mut self,
        step: &RouteStep,
        kind: KeyKind,
        work: Work<'_>,
    ) -> Option<StepResult> {
        match self.ctx.keys.withheld(kind).await {
            Ok(None) => {}
            Ok(Some(withheld)) => {
                if !self.unavailable.contains(&withheld.error.message) {
                    self.unavailable.push(withheld.error.message.clone());
                }
                self.withheld.get_or_insert(withheld.error);
                self.skip(step, kind, withheld.outcome);
                return None;
            }
            Err(e) => {
                tracing::warn!(key = %kind, error = %e.message, "key entitlement unavailable");
                self.unavailable.push(format!(
                    "the {kind} key for {} is unavailable",
                    step.provider
                ));
                self.skip(step, kind, "key_unavailable");
                return None;
            }
        }
        let key = match self.ctx.keys.key(step.provider, kind).await {
            Ok(Some(key)) => key,
            Ok(None) => {
                self.unavailable
                    .push(format!("no {kind} key for {}", step.provider));
                self.skip(step, kind, "no_key");
                return None;
            }
            Err(e) => {
                tracing::warn!(provider = %step.provider, key = %kind, error = %e.message, "provider key unavailable");
                self.unavailable.push(format!(
                    "the {kind} key for {} is unavailable",
                    step.provider
                ));
                self.skip(step, kind, "key_unavailable");
                return None;
            }
        };
        let embeddings = matches!(work, Work::Embeddings { .. });
        Some(
            self.step(step, kind, &key, work.plan(step), embeddings)
                .await,
        )
    }

    fn skip(&mut self, step: &RouteStep, key: KeyKind, why: &str) {
        self.attempts.push(Attempt {
            model: step.model_id(),
            key,
            outcome: format!("skipped_{why}"),
            ms: 0,
        });
    }

    /// One step with one key: its first try and its retries.
    async fn step(
        &mut self,
        step: &RouteStep,
        kind: KeyKind,
        key: &Arc<Secret>,
        plan: AttemptPlan<'_>,
        embeddings: bool,
    ) -> StepResult {
        let health = self.ctx.health;
        let mut delays = retry::delays(step.retries);
        loop {
            if self.calls >= self.ctx.max_attempts {
                return StepResult::Stop(Error::new(
                    ErrorKind::Upstream,
                    format!(
                        "no attempt answered within the gateway's cap of {} provider calls per request",
                        self.ctx.max_attempts
                    ),
                ));
            }
            let remaining = self
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()));
            if remaining.is_some_and(|r| r.is_zero()) {
                return StepResult::Stop(Error::new(
                    ErrorKind::Timeout,
                    "the policy's deadline passed",
                ));
            }
            let per_attempt = Duration::from_millis(step.timeout_ms);
            let timeout = remaining.map_or(per_attempt, |r| r.min(per_attempt));
            self.calls += 1;
            let started = Instant::now();
            let result = call_once(self.ctx.providers, key, &plan, embeddings, timeout).await;
            let ms = started.elapsed().as_millis() as u64;
            let error = match result {
                Ok(answer) => {
                    health.success(step.provider, &step.model, kind);
                    self.attempts.push(Attempt {
                        model: step.model_id(),
                        key: kind,
                        outcome: "ok".into(),
                        ms,
                    });
                    return StepResult::Served(answer);
                }
                Err(e) => e,
            };
            self.attempts.push(Attempt {
                model: step.model_id(),
                key: kind,
                outcome: classify::outcome(&error),
                ms,
            });
            let client = classify::client_error(step.provider, kind, &error);
            let Some(class) = classify::fallover_class(error.class, kind) else {
                return StepResult::Stop(client);
            };
            let tightened = timeout < Duration::from_millis(DEFAULT_TIMEOUT_MS);
            if classify::cools_down(error.class, tightened) {
                health.failure(step.provider, &step.model, kind);
            }
            if error.class == ErrorClass::KeyRejected {
                tracing::warn!(provider = %step.provider, key = %kind, status = ?error.status, "provider rejected a key");
                self.ctx.keys.rejected(step.provider, kind, &error).await;
            }
            if classify::is_retryable(error.class) {
                let next = delays.next().and_then(|d| {
                    retry::wait(
                        d,
                        error.retry_after,
                        self.deadline
                            .map(|d| d.saturating_duration_since(Instant::now())),
                    )
                });
                if let Some(wait) = next {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return if self.fallover_on.contains(&class) {
                StepResult::FallOver(client)
            } else {
                StepResult::Stop(client)
            };
        }
    }
}

/// One call, and for a stream the wait for its first content event (the commit point).
async fn call_once(
    providers: &ProviderClient,
    key: &Secret,
    plan: &AttemptPlan<'_>,
    embeddings: bool,
    timeout: Duration,
) -> Result<Answer, ProviderError> {
    if embeddings {
        return providers
            .embeddings(key, plan, timeout)
            .await
            .map(Answer::Complete);
    }
    match providers.chat(key, plan, timeout).await? {
        ChatOutcome::Complete(done) => Ok(Answer::Complete(done)),
        ChatOutcome::Stream(streamed) => {
            let mut rest = streamed.events;
            let mut head = Vec::new();
            let started = Instant::now();
            loop {
                let left = timeout.saturating_sub(started.elapsed());
                match tokio::time::timeout(left, rest.next()).await {
                    Err(_) => {
                        return Err(ProviderError::new(
                            ErrorClass::Timeout,
                            format!("{} sent no content in time", plan.provider),
                        ));
                    }
                    Ok(Some(Err(e))) => return Err(e),
                    Ok(Some(Ok(event))) => {
                        let content = event.is_content;
                        head.push(event);
                        if content {
                            return Ok(Answer::Stream {
                                head,
                                rest,
                                headers: streamed.headers,
                            });
                        }
                    }
                    // A clean end without content (the adapter turns an unterminated end into an error).
                    Ok(None) => {
                        return Ok(Answer::Stream {
                            head,
                            rest: Box::pin(futures::stream::empty()),
                            headers: streamed.headers,
                        });
                    }
                }
            }
        }
    }
}
