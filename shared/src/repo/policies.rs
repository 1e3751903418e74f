//! Routing policies of an organisation.
//!
//! Layout: `ORG#<org>` / `POLICY#<name>` holds `{policy, created_at, created_by, updated_at, updated_by}`
//! with the item version as the policy's version (optimistic locking: updates are `PutIfVersion`, deletes
//! carry the version read). References between policies are checked on save against the same org's stored
//! policies only, so an org can neither see nor refer to another org's policies.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::provider_keys::{self, Actor, Owner};
use super::{from_body, org_pk, to_body};
use crate::domain::policy::graph::referencing;
use crate::domain::policy::route::{KeyAvailability, PlannedAttempt, Route, RouteRequest};
use crate::domain::policy::{self, CooldownView, Policy, check_references};
use crate::domain::provider::Provider;
use crate::error::{Error, Result};
use crate::store::{Item, Store, StoreError};

const SK_PREFIX: &str = "POLICY#";
/// Most policies read while following references from one policy.
const MAX_LOADED: usize = 256;

fn policy_sk(name: &str) -> String {
    format!("{SK_PREFIX}{name}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    policy: Policy,
    created_at: DateTime<Utc>,
    created_by: Option<Actor>,
    updated_at: DateTime<Utc>,
    updated_by: Option<Actor>,
}

/// A stored policy with its version and history fields.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyRecord {
    pub policy: Policy,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    /// The gateway API key that created / last changed the policy.
    pub created_by: Option<Actor>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Actor>,
}

fn record(item: Item) -> Result<PolicyRecord> {
    let version = item.version;
    let stored: Stored = from_body(item.body)?;
    Ok(PolicyRecord {
        policy: stored.policy,
        version,
        created_at: stored.created_at,
        created_by: stored.created_by,
        updated_at: stored.updated_at,
        updated_by: stored.updated_by,
    })
}

fn not_found(name: &str) -> Error {
    Error::not_found(format!("no policy named '{name}'"))
}

pub async fn get(store: &dyn Store, org_id: &str, name: &str) -> Result<Option<PolicyRecord>> {
    store
        .get(&org_pk(org_id), &policy_sk(name))
        .await?
        .map(record)
        .transpose()
}

/// The policy, or 404.
pub async fn require(store: &dyn Store, org_id: &str, name: &str) -> Result<PolicyRecord> {
    get(store, org_id, name)
        .await?
        .ok_or_else(|| not_found(name))
}

/// Every policy of the org, by name.
pub async fn list(store: &dyn Store, org_id: &str) -> Result<Vec<PolicyRecord>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query(&org_pk(org_id), SK_PREFIX, 100, cursor.as_deref())
            .await?;
        for item in page.items {
            out.push(record(item)?);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(out),
        }
    }
}

/// The org's policies reachable from `policy`'s references (not `policy` itself), by name. Missing ones
/// are simply absent; [`check_references`] and [`policy::resolve`] report them.
pub async fn load_references(
    store: &dyn Store,
    org_id: &str,
    policy: &Policy,
) -> Result<BTreeMap<String, Policy>> {
    let mut found = BTreeMap::new();
    let mut seen: Vec<String> = vec![policy.name.clone()];
    let mut queue: VecDeque<String> = policy.references().into_iter().map(String::from).collect();
    while let Some(name) = queue.pop_front() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        if seen.len() > MAX_LOADED {
            break;
        }
        if let Some(rec) = get(store, org_id, &name).await? {
            queue.extend(rec.policy.references().into_iter().map(String::from));
            found.insert(name, rec.policy);
        }
    }
    Ok(found)
}

/// Save a new policy; 409 if the name is taken, 422 for a bad reference (missing, cycle, too deep).
pub async fn create(
    store: &dyn Store,
    org_id: &str,
    policy: Policy,
    actor: Option<&Actor>,
) -> Result<PolicyRecord> {
    let references = load_references(store, org_id, &policy).await?;
    check_references(&policy, &references)?;
    let now = Utc::now();
    let stored = Stored {
        policy,
        created_at: now,
        created_by: actor.cloned(),
        updated_at: now,
        updated_by: actor.cloned(),
    };
    let item = Item::new(
        org_pk(org_id),
        policy_sk(&stored.policy.name),
        to_body(&stored)?,
    );
    store.put_if_absent(&item).await.map_err(|e| match e {
        StoreError::Conflict => Error::conflict(format!(
            "a policy named '{}' already exists; change it with PUT /v1/policies/{}",
            stored.policy.name, stored.policy.name
        ))
        .with_param("name"),
        other => other.into(),
    })?;
    record(item)
}

fn stale(expected: u64, current: u64) -> Error {
    Error::conflict(format!(
        "version {expected} is stale; the policy is at version {current}: read it again and retry"
    ))
    .with_param("version")
}

/// Replace a policy if it is still at `expected_version`; 404 if absent, 409 if stale.
pub async fn update(
    store: &dyn Store,
    org_id: &str,
    policy: Policy,
    expected_version: u64,
    actor: Option<&Actor>,
) -> Result<PolicyRecord> {
    let current = require(store, org_id, &policy.name).await?;
    if current.version != expected_version {
        return Err(stale(expected_version, current.version));
    }
    let references = load_references(store, org_id, &policy).await?;
    check_references(&policy, &references)?;
    let stored = Stored {
        policy,
        created_at: current.created_at,
        created_by: current.created_by,
        updated_at: Utc::now(),
        updated_by: actor.cloned(),
    };
    let mut item = Item::new(
        org_pk(org_id),
        policy_sk(&stored.policy.name),
        to_body(&stored)?,
    );
    item.version = expected_version + 1;
    store
        .put_if_version(&item, expected_version)
        .await
        .map_err(|e| match e {
            StoreError::Conflict => Error::conflict(
                "the policy was changed or deleted concurrently; read it again and retry",
            )
            .with_param("version"),
            other => other.into(),
        })?;
    record(item)
}

/// Delete a policy; 404 if absent, 409 while another policy of the org still refers to it.
pub async fn delete(store: &dyn Store, org_id: &str, name: &str) -> Result<()> {
    let current = require(store, org_id, name).await?;
    let all: Vec<Policy> = list(store, org_id)
        .await?
        .into_iter()
        .map(|r| r.policy)
        .collect();
    let users = referencing(&all, name);
    if !users.is_empty() {
        let users: Vec<String> = users.iter().map(|n| format!("policy/{n}")).collect();
        return Err(Error::conflict(format!(
            "policy/{name} is still used by {}; remove it from those first",
            users.join(", ")
        )));
    }
    store
        .delete(&org_pk(org_id), &policy_sk(name), Some(current.version))
        .await
        .map_err(|e| match e {
            StoreError::Conflict => {
                Error::conflict("the policy was changed or deleted concurrently; retry")
            }
            other => other.into(),
        })
}

/// Which of `providers` have an own key of the org and a platform key, right now.
pub async fn key_availability(
    store: &dyn Store,
    org_id: &str,
    providers: impl IntoIterator<Item = Provider>,
) -> Result<KeyAvailability> {
    let mut keys = KeyAvailability::default();
    for provider in providers {
        if provider_keys::exists(store, Owner::Org(org_id), provider).await? {
            keys.own.insert(provider);
        }
        if provider_keys::exists(store, Owner::Platform, provider).await? {
            keys.platform.insert(provider);
        }
    }
    Ok(keys)
}

/// What a request for `policy/<name>` would do right now.
pub struct Explanation {
    pub record: PolicyRecord,
    pub route: Route,
    pub plan: Vec<PlannedAttempt>,
}

/// Resolve the named policy for `request` and check each attempt against the stored keys and `cooldown`.
pub async fn explain(
    store: &dyn Store,
    org_id: &str,
    name: &str,
    request: &RouteRequest<'_>,
    cooldown: &dyn CooldownView,
) -> Result<Explanation> {
    let record = require(store, org_id, name).await?;
    let mut source = load_references(store, org_id, &record.policy).await?;
    source.insert(record.policy.name.clone(), record.policy.clone());
    let route = policy::resolve(&record.policy, &source, request);
    let keys = key_availability(store, org_id, route.providers()).await?;
    let plan = policy::explain(&route, &keys, cooldown);
    Ok(Explanation {
        record,
        route,
        plan,
    })
}
