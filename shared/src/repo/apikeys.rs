//! Gateway API key records and their hash lookup items.

use serde::{Deserialize, Serialize};

use super::{from_body, org_pk, to_body};
use crate::domain::apikey::ApiKey;
use crate::error::Result;
use crate::store::{Item, Store, WriteOp};

pub(crate) fn key_sk(api_key_id: &str) -> String {
    format!("APIKEY#{api_key_id}")
}

fn hash_pk(hash: &str) -> String {
    format!("KEYHASH#{hash}")
}

const HASH_SK: &str = "KEYHASH";

/// The lookup from a secret's hash to its key. It carries a copy of the key's record, written in the same
/// transaction as the record on every create and change, so authenticating a cold key is one read, not
/// two in sequence. Lookups written before the copy existed have none; theirs is read from the record.
#[derive(Debug, Serialize, Deserialize)]
struct HashLookup {
    org_id: String,
    api_key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<ApiKey>,
}

fn lookup_item(key: &ApiKey) -> Result<Item> {
    let lookup = HashLookup {
        org_id: key.org_id.clone(),
        api_key_id: key.api_key_id.clone(),
        key: Some(key.clone()),
    };
    Ok(Item::new(
        hash_pk(&key.key_hash),
        HASH_SK,
        to_body(&lookup)?,
    ))
}

/// The two writes that create a key: its record in the org partition and its hash lookup.
pub(crate) fn create_ops(key: &ApiKey) -> Result<Vec<WriteOp>> {
    Ok(vec![
        WriteOp::PutIfAbsent(Item::new(
            org_pk(&key.org_id),
            key_sk(&key.api_key_id),
            to_body(key)?,
        )),
        WriteOp::PutIfAbsent(lookup_item(key)?),
    ])
}

/// The two writes that delete a key.
pub(crate) fn delete_ops(key: &ApiKey) -> Vec<WriteOp> {
    vec![
        WriteOp::Delete {
            pk: org_pk(&key.org_id),
            sk: key_sk(&key.api_key_id),
            expected: None,
        },
        WriteOp::Delete {
            pk: hash_pk(&key.key_hash),
            sk: HASH_SK.into(),
            expected: None,
        },
    ]
}

/// The key whose secret hashes to `hash`, if it exists. The hash is the only thing from a request used.
pub async fn find_by_hash(store: &dyn Store, hash: &str) -> Result<Option<ApiKey>> {
    let Some(lookup) = store.get(&hash_pk(hash), HASH_SK).await? else {
        return Ok(None);
    };
    let lookup: HashLookup = from_body(lookup.body)?;
    match lookup.key {
        Some(key)
            if key.key_hash == hash
                && key.org_id == lookup.org_id
                && key.api_key_id == lookup.api_key_id =>
        {
            Ok(Some(key))
        }
        _ => get(store, &lookup.org_id, &lookup.api_key_id).await,
    }
}

pub async fn get(store: &dyn Store, org_id: &str, api_key_id: &str) -> Result<Option<ApiKey>> {
    store
        .get(&org_pk(org_id), &key_sk(api_key_id))
        .await?
        .map(|item| from_body(item.body))
        .transpose()
}

/// What a caller asks for when creating a key.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub name: String,
    pub permissions: crate::domain::permissions::Permissions,
    pub monthly_limit: f64,
    pub allowed_models: Vec<String>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub default_model: Option<String>,
    pub auto_cache: Option<bool>,
    pub rate_limits: crate::domain::rate_limit::RateLimits,
    /// Capture request and response bodies in the request log (encrypted).
    pub logging: bool,
}

/// Create a key in `org_id`; returns the record and its secret (shown once). A manage:write key also bumps
/// the org's admin count in the same transaction, so lockout protection holds under concurrency.
pub async fn create(
    store: &dyn Store,
    org_id: &str,
    new: NewKey,
    created_by: Option<String>,
) -> Result<(ApiKey, crate::secret::Secret)> {
    use crate::domain::{apikey, ids, permissions::Manage};
    let secret = apikey::generate_secret();
    let key = ApiKey {
        api_key_id: ids::new_id("key"),
        org_id: org_id.to_owned(),
        name: new.name,
        key_hash: apikey::hash_secret(secret.expose()),
        permissions: new.permissions,
        monthly_limit: new.monthly_limit,
        allowed_models: new.allowed_models,
        expires_at: new.expires_at,
        created_at: chrono::Utc::now(),
        created_by,
        labels: new.labels,
        default_model: new.default_model,
        auto_cache: new.auto_cache,
        rate_limits: new.rate_limits,
        logging: new.logging,
    };
    let mut ops = create_ops(&key)?;
    if key.permissions.manage == Manage::Write {
        let (mut org, version) = super::orgs::get_record(store, org_id).await?;
        org.admin_keys += 1;
        ops.push(super::orgs::update_op(&org, version)?);
    }
    store.transact(&ops).await?;
    Ok((key, secret))
}

/// Delete a key. The org's last live (unexpired) manage:write key cannot be deleted (409); checked under the
/// org record's version, so two concurrent deletions of the last two admins cannot both succeed.
pub async fn delete(store: &dyn Store, org_id: &str, api_key_id: &str) -> Result<ApiKey> {
    use crate::domain::permissions::Manage;
    let key = get(store, org_id, api_key_id)
        .await?
        .ok_or_else(|| crate::error::Error::not_found("API key not found"))?;
    let mut ops = delete_ops(&key);
    if key.permissions.manage == Manage::Write {
        let (mut org, version) = super::orgs::get_record(store, org_id).await?;
        ensure_another_live_admin(store, org_id, api_key_id).await?;
        org.admin_keys = org.admin_keys.saturating_sub(1);
        ops.push(super::orgs::update_op(&org, version)?);
    }
    store.transact(&ops).await?;
    Ok(key)
}

/// 409 unless the org has a live (unexpired) manage:write key other than `api_key_id`. Expired admins do
/// not count: they can no longer sign in, so counting them would let the org lock itself out.
async fn ensure_another_live_admin(
    store: &dyn Store,
    org_id: &str,
    api_key_id: &str,
) -> Result<()> {
    use crate::domain::permissions::Manage;
    let now = chrono::Utc::now();
    let others = list(store, org_id)
        .await?
        .into_iter()
        .filter(|k| {
            k.api_key_id != api_key_id
                && k.permissions.manage == Manage::Write
                && !k.is_expired(now)
        })
        .count();
    if others == 0 {
        return Err(crate::error::Error::conflict(
            "this is the organisation's last live manage:write key; create another before removing it",
        ));
    }
    Ok(())
}

/// Every key of the org (no secrets: only hashes are stored), oldest first.
pub async fn list(store: &dyn Store, org_id: &str) -> Result<Vec<ApiKey>> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .query(&org_pk(org_id), "APIKEY#", 500, cursor.as_deref())
            .await?;
        for item in page.items {
            keys.push(from_body(item.body)?);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(keys),
        }
    }
}

/// Change a key's record under optimistic locking; returns the key before and after. A change that adds
/// or removes manage:write also moves the org's admin count in the same transaction, and may not remove
/// the org's last live admin (409). `change` may refuse the change with an error; nothing is written then.
pub async fn update(
    store: &dyn Store,
    org_id: &str,
    api_key_id: &str,
    change: impl FnOnce(&mut ApiKey) -> Result<()>,
) -> Result<(ApiKey, ApiKey)> {
    use crate::domain::permissions::Manage;
    let item = store
        .get(&org_pk(org_id), &key_sk(api_key_id))
        .await?
        .ok_or_else(|| crate::error::Error::not_found("API key not found"))?;
    let before: ApiKey = from_body(item.body)?;
    let mut key = before.clone();
    change(&mut key)?;
    let mut next = Item::new(org_pk(org_id), key_sk(api_key_id), to_body(&key)?);
    next.version = item.version + 1;
    let (was_admin, is_admin) = (
        before.permissions.manage == Manage::Write,
        key.permissions.manage == Manage::Write,
    );
    // The record under its version and the lookup's copy of it, together or not at all: a change that
    // loses the race (or meets a deletion) writes neither.
    let mut ops = vec![
        WriteOp::PutIfVersion {
            item: next,
            expected: item.version,
        },
        WriteOp::Put(lookup_item(&key)?),
    ];
    if was_admin != is_admin {
        let (mut org, version) = super::orgs::get_record(store, org_id).await?;
        if was_admin {
            ensure_another_live_admin(store, org_id, api_key_id).await?;
            org.admin_keys = org.admin_keys.saturating_sub(1);
        } else {
            org.admin_keys += 1;
        }
        ops.push(super::orgs::update_op(&org, version)?);
    }
    store.transact(&ops).await?;
    Ok((before, key))
}

fn used_sk(api_key_id: &str) -> String {
    format!("APIKEYUSED#{api_key_id}")
}

/// Record that a key was used at `at` (last writer wins; callers throttle it, see `routing::last_used`).
pub async fn mark_used(
    store: &dyn Store,
    org_id: &str,
    api_key_id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<()> {
    let body = serde_json::json!({ "last_used_at": at });
    store
        .put(&Item::new(org_pk(org_id), used_sk(api_key_id), body))
        .await?;
    Ok(())
}

/// When the key was last used, to the minute; `None` if never.
pub async fn last_used(
    store: &dyn Store,
    org_id: &str,
    api_key_id: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    let Some(item) = store.get(&org_pk(org_id), &used_sk(api_key_id)).await? else {
        return Ok(None);
    };
    item.body
        .get("last_used_at")
        .cloned()
        .map(from_body)
        .transpose()
}
