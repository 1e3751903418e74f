//! Admission by rate: a key with `rpm` or `tpm` counts each request into its current one-minute window in
//! the store (one atomic add: the request and its estimated tokens), and is refused with 429 when the
//! window would pass a limit; the refused request's counts are given back. After the answer, the estimate
//! is corrected to the real tokens (with the usage writes, off the response's critical path). Keys without
//! limits never touch the store here. See `byok_shared::domain::rate_limit` for the rules.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use byok_shared::auth::Caller;
use byok_shared::domain::rate_limit::{self, RateLimits, Standing};
use byok_shared::error::{Error, ErrorKind};
use byok_shared::providers::RequestBody;
use byok_shared::repo::rate_windows::WindowRef;

use crate::respond;
use crate::state::Gateway;

/// An admitted request's place in its key's window: what to correct after the answer, and the headers
/// that tell the client where it stands.
#[derive(Debug, Clone)]
pub struct Ticket {
    window: WindowRef,
    estimate: i64,
    headers: HeaderMap,
}

/// A refused request: 429 (or 503 when the store cannot count), with the rate-limit headers.
pub struct Refused {
    error: Error,
    headers: HeaderMap,
}

impl Refused {
    pub fn into_response(self) -> Response {
        respond::error(self.error, self.headers)
    }
}

/// Count the request against the caller's limits; `None` when the key has none.
pub async fn admit(
    gateway: &Gateway,
    caller: &Caller,
    body: &RequestBody,
) -> Result<Option<Ticket>, Refused> {
    let limits = caller.key.rate_limits;
    if limits.is_unlimited() {
        return Ok(None);
    }
    let (window, reset) = rate_limit::window(chrono::Utc::now().timestamp());
    let window = WindowRef {
        api_key_id: caller.api_key_id().to_owned(),
        window,
    };
    let estimate = rate_limit::estimate_tokens(body) as i64;
    let store = gateway.app().store();
    let after = window
        .add(store, 1, estimate)
        .await
        .map_err(|error| Refused {
            error,
            headers: HeaderMap::new(),
        })?;
    let mut headers = headers(&limits, after, reset);
    let Some(exceeded) = rate_limit::exceeded(&limits, after) else {
        return Ok(Some(Ticket {
            window,
            estimate,
            headers,
        }));
    };
    // Give the counts back, so a refused request does not use up what the next ones may spend.
    if let Err(e) = window.add(store, -1, -estimate).await {
        tracing::warn!(error = %e.message, "a refused request's rate counts could not be given back");
    }
    let message = match exceeded {
        "requests" => format!(
            "this API key is limited to {} requests per minute; retry in {reset} s",
            limits.rpm.unwrap_or_default()
        ),
        _ => format!(
            "this API key is limited to {} tokens per minute (this request is estimated at {estimate}); retry in {reset} s",
            limits.tpm.unwrap_or_default()
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&reset.to_string()) {
        headers.insert("retry-after", v);
    }
    Err(Refused {
        error: Error::new(ErrorKind::RateLimited, message),
        headers,
    })
}

impl Ticket {
    /// `x-ratelimit-*` as they stood after this request was counted.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Correct the window's tokens from the estimate to what the request really used.
    pub async fn settle(&self, gateway: &Gateway, tokens: u64) {
        let delta = (tokens.min(i64::MAX as u64) as i64).saturating_sub(self.estimate);
        if delta == 0 {
            return;
        }
        if let Err(e) = self.window.add(gateway.app().store(), 0, delta).await {
            tracing::warn!(error = %e.message, "rate-limit tokens could not be corrected");
        }
    }
}

/// The headers of a ticket's standing, in OpenAI's names (`x-ratelimit-{limit,remaining,reset}-{requests,
/// tokens}`; reset as a duration, e.g. `17s`), for the limits the key has.
fn headers(limits: &RateLimits, after: Standing, reset: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |kind: &str, limit: u64, used: i64| {
        let remaining = (limit as i64).saturating_sub(used).max(0);
        for (name, value) in [
            (format!("x-ratelimit-limit-{kind}"), limit.to_string()),
            (
                format!("x-ratelimit-remaining-{kind}"),
                remaining.to_string(),
            ),
            (format!("x-ratelimit-reset-{kind}"), format!("{reset}s")),
        ] {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::try_from(name),
                HeaderValue::from_str(&value),
            ) {
                headers.insert(name, value);
            }
        }
    };
    if let Some(rpm) = limits.rpm {
        put("requests", u64::from(rpm), after.requests);
    }
    if let Some(tpm) = limits.tpm {
        put("tokens", tpm, after.tokens);
    }
    headers
}
