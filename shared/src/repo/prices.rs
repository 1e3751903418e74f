//! The operator's price table: one item (`PRICES` / `TABLE`) holding every model's price and the optional
//! default price, changed under optimistic locking. Until the operator first changes it, the table is the
//! shipped default file (`shared/prices/default.json`); the first change seeds the store from that file.

use crate::domain::price::{self, PriceFile, PriceTable};
use crate::error::Result;
use crate::repo::{from_body, to_body};
use crate::store::{Item, Store, StoreError};

const PK: &str = "PRICES";
const SK: &str = "TABLE";
/// Concurrent changes retried before giving up with a conflict.
const TRIES: usize = 5;

/// The current table (the shipped defaults when the operator never changed it).
pub async fn load(store: &dyn Store) -> Result<PriceTable> {
    Ok(match store.get(PK, SK).await? {
        Some(item) => PriceTable::from_file(&from_body::<PriceFile>(item.body)?),
        None => PriceTable::from_file(price::shipped()),
    })
}

/// Apply `change` to the table and store it, retrying when another writer got there first.
pub async fn update(
    store: &dyn Store,
    change: impl Fn(&mut PriceTable) -> Result<()>,
) -> Result<PriceTable> {
    let mut last = StoreError::Conflict;
    for _ in 0..TRIES {
        let current = store.get(PK, SK).await?;
        let (mut table, version) = match &current {
            Some(item) => (
                PriceTable::from_file(&from_body::<PriceFile>(item.body.clone())?),
                Some(item.version),
            ),
            None => (PriceTable::from_file(price::shipped()), None),
        };
        change(&mut table)?;
        let mut item = Item::new(PK, SK, to_body(&table.to_file())?);
        let written = match version {
            Some(v) => {
                item.version = v + 1;
                store.put_if_version(&item, v).await
            }
            None => store.put_if_absent(&item).await,
        };
        match written {
            Ok(()) => return Ok(table),
            Err(StoreError::Conflict) => last = StoreError::Conflict,
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.into())
}
