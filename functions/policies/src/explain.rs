//! `POST /v1/policies/{name}/explain` with an optional sample request `{user_id?, trace_id?}`: the ordered
//! attempts a request would make right now, the key each would use, and why any would be skipped.
//! Read-only, so manage:read is enough. Cooldowns are this instance's (the router's, when served together).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use byok_shared::domain::permissions::Manage;
use byok_shared::domain::policy::route::Action;
use byok_shared::domain::policy::{
    ErrorClass, KeyKind, PlannedAttempt, PolicyType, RouteRequest, Rule,
};
use byok_shared::error::Error;
use byok_shared::http::Auth;
use byok_shared::repo::policies;
use byok_shared::{AppState, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::path;

/// Longest accepted sticky value.
const MAX_STICKY_LEN: usize = 256;

/// `explain`'s optional sample request: the sticky keys a load-balancing policy would use.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ExplainSample)]
pub struct Sample {
    #[schema(max_length = 256)]
    user_id: Option<String>,
    #[schema(max_length = 256)]
    trace_id: Option<String>,
}

/// The first attempt that would be tried.
#[derive(Debug, Serialize, ToSchema)]
pub struct WouldUse {
    model: String,
    key: Option<KeyKind>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Explanation {
    #[schema(example = "policy.explanation")]
    object: &'static str,
    policy: String,
    #[serde(rename = "type")]
    kind: PolicyType,
    version: u64,
    /// False when an unsticky load-balancing policy shaped the order.
    deterministic: bool,
    fallover_on: Vec<ErrorClass>,
    deadline_ms: Option<u64>,
    /// `null` when every entry would be skipped.
    would_use: Option<WouldUse>,
    route: Vec<PlannedAttempt>,
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
    request_body(content = Option<Sample>, description = "Optional sample request (an empty body is fine)"),
    responses(
        (status = 200, description = "The ordered attempts a request would make now", body = Explanation),
        (status = 404, description = "No such policy"),
    ))]
pub async fn explain(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Explanation>> {
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
        .map(|a| WouldUse {
            model: a.model.clone(),
            key: a.key,
        });
    let policy = explanation.record.policy;
    Ok(Json(Explanation {
        object: "policy.explanation",
        kind: match policy.rule {
            Rule::Fallback { .. } => PolicyType::Fallback,
            Rule::LoadBalance { .. } => PolicyType::LoadBalance,
        },
        policy: policy.name,
        version: explanation.record.version,
        deterministic: explanation.route.deterministic,
        fallover_on: explanation.route.fallover_on,
        deadline_ms: explanation.route.deadline_ms,
        would_use,
        route: explanation.plan,
    }))
}
