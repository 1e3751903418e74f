//! Organisations, and creating one together with its first admin key.

use serde::{Deserialize, Serialize};

use super::{from_body, org_pk, to_body};
use crate::domain::apikey::ApiKey;
use crate::domain::org::{Org, validate_org_name, validate_platform_limit};
use crate::domain::{ids, permissions::Permissions};
use crate::error::{Error, Result};
use crate::repo::apikeys;
use crate::secret::Secret;
use crate::store::{Item, Store, WriteOp};

pub const ORG_SK: &str = "ORG";

/// The stored org item: the org plus the number of its manage:write keys (lockout protection).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgRecord {
    #[serde(flatten)]
    pub org: Org,
    pub admin_keys: u32,
}

pub struct CreatedOrg {
    pub org: Org,
    pub api_key_id: String,
    pub api_key: Secret,
}

/// The operator's settings of an org's platform-key entitlement; `None` leaves a setting as it is (on
/// creation: platform keys follow the configured default, no platform limit).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlatformSettings {
    pub enabled: Option<bool>,
    pub monthly_limit: Option<f64>,
}

/// Create an organisation and its first admin key (manage:write, completions:write) in one transaction.
pub async fn create(store: &dyn Store, name: &str) -> Result<CreatedOrg> {
    create_with(store, name, PlatformSettings::default()).await
}

/// [`create`], with the org's platform-key entitlement set.
pub async fn create_with(
    store: &dyn Store,
    name: &str,
    platform: PlatformSettings,
) -> Result<CreatedOrg> {
    validate_org_name(name)?;
    if let Some(limit) = platform.monthly_limit {
        validate_platform_limit(limit)?;
    }
    let now = chrono::Utc::now();
    let org = Org {
        org_id: ids::new_id("org"),
        name: name.trim().to_owned(),
        created_at: now,
        auto_cache: None,
        platform_keys: platform.enabled,
        platform_limit: platform.monthly_limit.unwrap_or(0.0),
    };
    let secret = crate::domain::apikey::generate_secret();
    let key = ApiKey {
        api_key_id: ids::new_id("key"),
        org_id: org.org_id.clone(),
        name: "admin".into(),
        key_hash: crate::domain::apikey::hash_secret(secret.expose()),
        permissions: Permissions::ADMIN,
        monthly_limit: 0.0,
        allowed_models: Vec::new(),
        expires_at: None,
        created_at: now,
        created_by: None,
        labels: Default::default(),
        default_model: None,
        auto_cache: None,
        rate_limits: Default::default(),
        logging: false,
    };
    let record = OrgRecord {
        org: org.clone(),
        admin_keys: 1,
    };
    let mut ops = vec![WriteOp::PutIfAbsent(Item::new(
        org_pk(&org.org_id),
        ORG_SK,
        to_body(&record)?,
    ))];
    ops.extend(apikeys::create_ops(&key)?);
    store.transact(&ops).await?;
    Ok(CreatedOrg {
        api_key_id: key.api_key_id.clone(),
        org,
        api_key: secret,
    })
}

/// The org record with its version, for read-modify-write under optimistic locking.
pub async fn get_record(store: &dyn Store, org_id: &str) -> Result<(OrgRecord, u64)> {
    let item = store
        .get(&org_pk(org_id), ORG_SK)
        .await?
        .ok_or_else(|| Error::not_found("organisation not found"))?;
    Ok((from_body(item.body)?, item.version))
}

pub async fn get(store: &dyn Store, org_id: &str) -> Result<Org> {
    Ok(get_record(store, org_id).await?.0.org)
}

/// The write that replaces the org record if it is still at `version`.
pub(crate) fn update_op(record: &OrgRecord, version: u64) -> Result<WriteOp> {
    let mut item = Item::new(org_pk(&record.org.org_id), ORG_SK, to_body(record)?);
    item.version = version + 1;
    Ok(WriteOp::PutIfVersion {
        item,
        expected: version,
    })
}

/// Change the org's own settings (name, auto-caching default) under optimistic locking, retried when a
/// concurrent change (e.g. of the admin-key count) moved the record on. `None` leaves a field as it is.
pub async fn update_settings(
    store: &dyn Store,
    org_id: &str,
    name: Option<&str>,
    auto_cache: Option<Option<bool>>,
) -> Result<Org> {
    if let Some(name) = name {
        validate_org_name(name)?;
    }
    for _ in 0..5 {
        let (mut record, version) = get_record(store, org_id).await?;
        if let Some(name) = name {
            record.org.name = name.trim().to_owned();
        }
        if let Some(auto_cache) = auto_cache {
            record.org.auto_cache = auto_cache;
        }
        match store.transact(&[update_op(&record, version)?]).await {
            Ok(()) => return Ok(record.org),
            Err(crate::store::StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::conflict(
        "the organisation changed concurrently; try again",
    ))
}

/// Change an org's platform-key entitlement (optimistic lock; a concurrent change gives 409).
pub async fn set_platform(
    store: &dyn Store,
    org_id: &str,
    settings: PlatformSettings,
) -> Result<Org> {
    if let Some(limit) = settings.monthly_limit {
        validate_platform_limit(limit)?;
    }
    let (mut record, version) = get_record(store, org_id).await?;
    if let Some(enabled) = settings.enabled {
        record.org.platform_keys = Some(enabled);
    }
    if let Some(limit) = settings.monthly_limit {
        record.org.platform_limit = limit;
    }
    store.transact(&[update_op(&record, version)?]).await?;
    Ok(record.org)
}
