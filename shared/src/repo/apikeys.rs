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

#[derive(Debug, Serialize, Deserialize)]
struct HashLookup {
    org_id: String,
    api_key_id: String,
}

/// The two writes that create a key: its record in the org partition and its hash lookup.
pub(crate) fn create_ops(key: &ApiKey) -> Result<Vec<WriteOp>> {
    let lookup = HashLookup {
        org_id: key.org_id.clone(),
        api_key_id: key.api_key_id.clone(),
    };
    Ok(vec![
        WriteOp::PutIfAbsent(Item::new(
            org_pk(&key.org_id),
            key_sk(&key.api_key_id),
            to_body(key)?,
        )),
        WriteOp::PutIfAbsent(Item::new(
            hash_pk(&key.key_hash),
            HASH_SK,
            to_body(&lookup)?,
        )),
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
    get(store, &lookup.org_id, &lookup.api_key_id).await
}

pub async fn get(store: &dyn Store, org_id: &str, api_key_id: &str) -> Result<Option<ApiKey>> {
    store
        .get(&org_pk(org_id), &key_sk(api_key_id))
        .await?
        .map(|item| from_body(item.body))
        .transpose()
}
