//! Provider keys (bring-your-own and the operator's platform keys): encrypted through the cipher port,
//! bound by the encryption context `{org, provider, record}` to the row they are stored in.
//!
//! Layout: `<owner pk>` / `BYOK#<provider>` holds the record (optimistic version); `BYOKHEALTH#<provider>`
//! holds last verified/used/error (last writer wins, so health updates never conflict with a rotation);
//! `AUDIT#<ulid>` holds one audit entry per change, written in the same transaction as the change.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{from_body, org_pk, to_body};
use crate::cipher::{Cipher, CipherError, EncryptionContext};
use crate::domain::ids;
use crate::domain::provider::Provider;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::store::{Item, Store, StoreError, WriteOp};

/// Whose key: an organisation's own, or the operator's platform key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner<'a> {
    Org(&'a str),
    Platform,
}

/// The encryption-context org of platform keys; org ids are `org_…`, so it cannot collide.
pub const PLATFORM_CONTEXT_ORG: &str = "platform";

impl Owner<'_> {
    fn pk(&self) -> String {
        match self {
            Owner::Org(id) => org_pk(id),
            Owner::Platform => "PLATFORM".into(),
        }
    }

    fn context_org(&self) -> &str {
        match self {
            Owner::Org(id) => id,
            Owner::Platform => PLATFORM_CONTEXT_ORG,
        }
    }
}

/// The gateway API key that made a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Actor {
    pub api_key_id: String,
    pub name: String,
}

/// What is stored. The ciphertext never leaves this module except to the cipher.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    record_id: String,
    provider: Provider,
    label: Option<String>,
    hint: String,
    ciphertext: String,
    created_at: DateTime<Utc>,
    created_by: Option<Actor>,
    updated_at: DateTime<Utc>,
    updated_by: Option<Actor>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub last_verified_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// The record as shown to users: never the key, never the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MaskedKey {
    pub provider: Provider,
    pub label: Option<String>,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub created_by: Option<Actor>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Actor>,
    pub version: u64,
    #[serde(flatten)]
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub action: String,
    pub provider: Provider,
    pub actor: Option<Actor>,
    pub version: u64,
}

fn record_sk(provider: Provider) -> String {
    format!("BYOK#{provider}")
}

fn health_sk(provider: Provider) -> String {
    format!("BYOKHEALTH#{provider}")
}

fn audit_op(
    owner: Owner<'_>,
    action: &str,
    provider: Provider,
    actor: Option<&Actor>,
    version: u64,
) -> Result<WriteOp> {
    let entry = AuditEntry {
        at: Utc::now(),
        action: action.into(),
        provider,
        actor: actor.cloned(),
        version,
    };
    Ok(WriteOp::PutIfAbsent(Item::new(
        owner.pk(),
        format!("AUDIT#{}", audit_id()),
        to_body(&entry)?,
    )))
}

/// The next audit id: monotonic within this process, so two changes in the same millisecond keep the order
/// they were made in (plain `Ulid::new()` orders them by random bits; that made the audit pages test flaky).
/// Across processes, changes of the same millisecond have no defined order.
fn audit_id() -> ulid::Ulid {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    IDS.lock()
        .ok()
        .and_then(|mut ids| ids.generate().ok())
        .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()))
}

fn cipher_error(e: CipherError) -> Error {
    match e {
        CipherError::Rejected => {
            Error::internal("a stored provider key does not decrypt under its context")
        }
        CipherError::Unavailable(detail) => {
            tracing::error!(error = %detail, "cipher unavailable");
            Error::unavailable("the key encryption service is unavailable; retry shortly")
        }
    }
}

async fn seal(
    cipher: &dyn Cipher,
    owner: Owner<'_>,
    provider: Provider,
    record_id: &str,
    key: &Secret,
) -> Result<String> {
    let context = EncryptionContext::new(owner.context_org(), provider.as_str(), record_id);
    let sealed = cipher.encrypt(key, &context).await.map_err(cipher_error)?;
    Ok(STANDARD.encode(sealed))
}

async fn load(
    store: &dyn Store,
    owner: Owner<'_>,
    provider: Provider,
) -> Result<Option<(Record, u64)>> {
    match store.get(&owner.pk(), &record_sk(provider)).await? {
        Some(item) => Ok(Some((from_body(item.body)?, item.version))),
        None => Ok(None),
    }
}

async fn health(store: &dyn Store, owner: Owner<'_>, provider: Provider) -> Result<Health> {
    match store.get(&owner.pk(), &health_sk(provider)).await? {
        Some(item) => from_body(item.body),
        None => Ok(Health::default()),
    }
}

fn mask(record: Record, version: u64, health: Health) -> MaskedKey {
    MaskedKey {
        provider: record.provider,
        label: record.label,
        hint: record.hint,
        created_at: record.created_at,
        created_by: record.created_by,
        updated_at: record.updated_at,
        updated_by: record.updated_by,
        version,
        health,
    }
}

fn not_found(provider: Provider) -> Error {
    Error::not_found(format!("no {provider} key is stored"))
}

/// Store a new key; 409 if the owner already has one for this provider (conditional write).
pub async fn create(
    store: &dyn Store,
    cipher: &dyn Cipher,
    owner: Owner<'_>,
    provider: Provider,
    key: &Secret,
    label: Option<String>,
    actor: Option<&Actor>,
) -> Result<MaskedKey> {
    let record_id = ids::new_id("pk");
    let now = Utc::now();
    let record = Record {
        ciphertext: seal(cipher, owner, provider, &record_id, key).await?,
        record_id,
        provider,
        label,
        hint: key.hint(),
        created_at: now,
        created_by: actor.cloned(),
        updated_at: now,
        updated_by: actor.cloned(),
    };
    let ops = [
        WriteOp::PutIfAbsent(Item::new(
            owner.pk(),
            record_sk(provider),
            to_body(&record)?,
        )),
        WriteOp::Put(Item::new(
            owner.pk(),
            health_sk(provider),
            to_body(&Health::default())?,
        )),
        audit_op(owner, "create", provider, actor, 1)?,
    ];
    store.transact(&ops).await.map_err(|e| match e {
        StoreError::Conflict => Error::conflict(format!(
            "a {provider} key is already stored; rotate it with PUT /v1/byok/{provider}"
        )),
        other => other.into(),
    })?;
    Ok(mask(record, 1, Health::default()))
}

/// Replace the key in place (same record id). With `expected_version`, a stale version is a 409.
#[allow(clippy::too_many_arguments)]
pub async fn rotate(
    store: &dyn Store,
    cipher: &dyn Cipher,
    owner: Owner<'_>,
    provider: Provider,
    key: &Secret,
    label: Option<String>,
    expected_version: Option<u64>,
    actor: Option<&Actor>,
) -> Result<MaskedKey> {
    let (current, version) = load(store, owner, provider)
        .await?
        .ok_or_else(|| not_found(provider))?;
    if expected_version.is_some_and(|v| v != version) {
        return Err(Error::conflict(format!(
            "version {} is stale; the key is at version {version}",
            expected_version.unwrap_or_default()
        )));
    }
    let record = Record {
        ciphertext: seal(cipher, owner, provider, &current.record_id, key).await?,
        hint: key.hint(),
        label: label.or(current.label.clone()),
        updated_at: Utc::now(),
        updated_by: actor.cloned(),
        ..current
    };
    let mut item = Item::new(owner.pk(), record_sk(provider), to_body(&record)?);
    item.version = version + 1;
    let ops = [
        WriteOp::PutIfVersion {
            item,
            expected: version,
        },
        WriteOp::Put(Item::new(
            owner.pk(),
            health_sk(provider),
            to_body(&Health::default())?,
        )),
        audit_op(owner, "rotate", provider, actor, version + 1)?,
    ];
    store.transact(&ops).await.map_err(|e| match e {
        StoreError::Conflict => {
            Error::conflict("the key was changed concurrently; read it again and retry")
        }
        other => other.into(),
    })?;
    Ok(mask(record, version + 1, Health::default()))
}

pub async fn delete(
    store: &dyn Store,
    owner: Owner<'_>,
    provider: Provider,
    actor: Option<&Actor>,
) -> Result<()> {
    let (_, version) = load(store, owner, provider)
        .await?
        .ok_or_else(|| not_found(provider))?;
    let ops = [
        WriteOp::Delete {
            pk: owner.pk(),
            sk: record_sk(provider),
            expected: Some(version),
        },
        audit_op(owner, "delete", provider, actor, version)?,
    ];
    store.transact(&ops).await.map_err(|e| match e {
        StoreError::Conflict => Error::conflict("the key was changed concurrently; retry"),
        other => other.into(),
    })
}

pub async fn get(store: &dyn Store, owner: Owner<'_>, provider: Provider) -> Result<MaskedKey> {
    let (record, version) = load(store, owner, provider)
        .await?
        .ok_or_else(|| not_found(provider))?;
    Ok(mask(record, version, health(store, owner, provider).await?))
}

/// Every key of the owner, in provider order. One query: records (`BYOK#…`) and health items
/// (`BYOKHEALTH#…`) share the `BYOK` prefix.
pub async fn list(store: &dyn Store, owner: Owner<'_>) -> Result<Vec<MaskedKey>> {
    let page = store.query(&owner.pk(), "BYOK", 100, None).await?;
    let mut out = Vec::new();
    for provider in Provider::ALL {
        let find = |sk: String| page.items.iter().find(|i| i.sk == sk);
        let Some(item) = find(record_sk(provider)) else {
            continue;
        };
        let health = match find(health_sk(provider)) {
            Some(h) => from_body(h.body.clone())?,
            None => Health::default(),
        };
        out.push(mask(from_body(item.body.clone())?, item.version, health));
    }
    Ok(out)
}

/// True when the owner has a key stored for the provider.
pub async fn exists(store: &dyn Store, owner: Owner<'_>, provider: Provider) -> Result<bool> {
    Ok(load(store, owner, provider).await?.is_some())
}

/// The plaintext key, for a provider call. `None` when absent. A ciphertext that does not decrypt under its
/// row's context is an error (moved or tampered), distinct from absence.
pub async fn decrypt(
    store: &dyn Store,
    cipher: &dyn Cipher,
    owner: Owner<'_>,
    provider: Provider,
) -> Result<Option<Secret>> {
    let Some((record, _)) = load(store, owner, provider).await? else {
        return Ok(None);
    };
    let sealed = STANDARD
        .decode(record.ciphertext.as_bytes())
        .map_err(|_| Error::internal("a stored provider key has a malformed ciphertext"))?;
    let context = EncryptionContext::new(owner.context_org(), provider.as_str(), &record.record_id);
    cipher
        .decrypt(&sealed, &context)
        .await
        .map(Some)
        .map_err(cipher_error)
}

/// Record the outcome of using or verifying a key (last writer wins).
pub async fn record_health(
    store: &dyn Store,
    owner: Owner<'_>,
    provider: Provider,
    update: impl FnOnce(&mut Health),
) -> Result<()> {
    let mut current = health(store, owner, provider).await?;
    update(&mut current);
    store
        .put(&Item::new(
            owner.pk(),
            health_sk(provider),
            to_body(&current)?,
        ))
        .await?;
    Ok(())
}

/// Audit entries of an org, oldest first, one page at a time.
pub async fn audit(
    store: &dyn Store,
    org_id: &str,
    limit: usize,
    cursor: Option<&str>,
) -> Result<(Vec<AuditEntry>, Option<String>)> {
    // A cursor comes from the caller: one this API did not hand out is the caller's error (400), never a
    // store error (DynamoDB refuses a start key outside the query's range).
    if let Some(cursor) = cursor
        && !crate::store::decode_cursor(cursor).is_ok_and(|sk| sk.starts_with("AUDIT#"))
    {
        return Err(Error::invalid(
            "cursor",
            "cursor must be a next_cursor this API returned",
        ));
    }
    let page = store
        .query(&org_pk(org_id), "AUDIT#", limit, cursor)
        .await?;
    let entries = page
        .items
        .into_iter()
        .map(|i| from_body(i.body))
        .collect::<Result<Vec<_>>>()?;
    Ok((entries, page.next))
}
