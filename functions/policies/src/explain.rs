//! `POST /v1/policies/{name}/explain` with an optional sample request `{user_id?, trace_id?}`: the ordered
//! attempts a request would make right now, the key each would use, and why any would be skipped.
//! Read-only, so manage:read is enough. Cooldowns are this instance's (the router's, when served together).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::policy::RouteRequest;
use byok_shared::domain::policy::route::Action;
use byok_shared::error::Error;
use byok_shared::http::Auth;
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::path;

/// Longest accepted sticky value.
const MAX_STICKY_LEN: usize = 256;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    user_id: Option<String>,
    trace_id: Option<String>,
}

fn sample(body: &[u8]) -> Result<Sample> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Sample::default());
    }
    let sample: Sample = serde_json::from_slice(body).map_err(|e| {
        Error::bad_request(format!(
            "the sample request must be a JSON object with optional user_id and trace_id strings: {e}"
        ))
    })?;
    for (param, value) in [("user_id", &sample.user_id), ("trace_id", &sample.trace_id)] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_STICKY_LEN) {
            return Err(Error::invalid(
                param,
                format!("{param} must be at most {MAX_STICKY_LEN} characters"),
            ));
        }
    }
    Ok(sample)
}

#[utoipa::path(post, path = "/v1/policies/{name}/explain", tag = "policies", operation_id = "explain_policy", params(("name" = String, Path, description = "The policy's name")),
    request_body(content = Option<crate::openapi::ExplainSample>, description = "Optional sample request (an empty body is fine)"),
    responses(
        (status = 200, description = "The ordered attempts a request would make now", body = crate::openapi::Explanation),
        (status = 404, description = "No such policy"),
    ))]
pub async fn explain(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>> {
    caller.require_manage(Manage::Read)?;
    let name = path::name(&name)?;
    let sample = sample(&body)?;
    let request = RouteRequest {
        user_id: sample.user_id.as_deref(),
        trace_id: sample.trace_id.as_deref(),
    };
    // The router's cooldowns when it shares this process (the local server); on Lambda they live in the
    // router's own instances and none are shown.
    let health = state.health(caller.org_id());
    let explanation = policies::explain(
        state.store(),
        caller.org_id(),
        name,
        &request,
        health.as_ref(),
    )
    .await?;
    let would_use = explanation
        .plan
        .iter()
        .find(|a| a.action == Action::Try)
        .map(|a| json!({ "model": a.model, "key": a.key }));
    Ok(Json(json!({
        "object": "policy.explanation",
        "policy": explanation.record.policy.name,
        "type": explanation.record.policy.kind(),
        "version": explanation.record.version,
        "deterministic": explanation.route.deterministic,
        "fallover_on": explanation.route.fallover_on,
        "deadline_ms": explanation.route.deadline_ms,
        "would_use": would_use,
        "route": explanation.plan,
    })))
}
