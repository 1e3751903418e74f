//! Authenticating a key reads one item: the hash lookup carries a copy of the key's record, kept equal to
//! the record by every create and change, on both backends. Lookups written before the copy existed still
//! authenticate (through the record), and a deleted key does not.

use std::sync::Arc;

use byok_shared::domain::apikey::hash_secret;
use byok_shared::domain::permissions::{Completions, Manage};
use byok_shared::repo::{apikeys, orgs};
use byok_shared::store::{Item, Store};
use byok_testkit::counting::CountingStore;
use byok_testkit::{Backend, TestBackend, fixtures};

byok_testkit::on_both_backends!(
    a_key_is_found_in_one_read_and_follows_its_changes,
    a_lookup_without_the_copy_reads_the_record,
    two_orgs_keys_are_found_apart,
);

struct Fixture {
    _backend: TestBackend,
    store: Arc<CountingStore>,
}

async fn fixture(backend: Backend) -> Fixture {
    let b = TestBackend::new(backend).await;
    let store = Arc::new(CountingStore::new(b.store.clone()));
    Fixture { _backend: b, store }
}

async fn a_key_is_found_in_one_read_and_follows_its_changes(backend: Backend) {
    let f = fixture(backend).await;
    let store: &dyn Store = f.store.as_ref();
    let created = orgs::create(store, "lookup").await.unwrap();
    let hash = hash_secret(created.api_key.expose());
    f.store.take();

    let found = apikeys::find_by_hash(store, &hash).await.unwrap().unwrap();
    assert_eq!(
        f.store.take().0,
        1,
        "authenticating read more than the lookup"
    );
    let record = apikeys::get(store, &created.org.org_id, &created.api_key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, record, "the lookup's copy is the record");

    // A change reaches the copy in the same transaction as the record.
    let (_, changed) = apikeys::update(store, &created.org.org_id, &created.api_key_id, |k| {
        k.name = "renamed".into();
        k.allowed_models = vec!["openai/gpt-4.1-mini".into()];
        k.expires_at = Some(chrono::Utc::now() - chrono::Duration::minutes(1));
        Ok(())
    })
    .await
    .unwrap();
    f.store.take();
    let found = apikeys::find_by_hash(store, &hash).await.unwrap().unwrap();
    assert_eq!(f.store.take().0, 1);
    assert_eq!(found, changed);
    assert!(found.expires_at.is_some(), "the expiry reached the copy");

    // A refused change writes neither the record nor the copy.
    let refused = apikeys::update(store, &created.org.org_id, &created.api_key_id, |k| {
        k.name = "never".into();
        Err(byok_shared::error::Error::conflict("refused"))
    })
    .await;
    assert!(refused.is_err());
    let found = apikeys::find_by_hash(store, &hash).await.unwrap().unwrap();
    assert_eq!(found.name, "renamed");

    // A second admin, so the first may be deleted; then its lookup is gone with it.
    let second = fixtures::key(
        store,
        &created.org.org_id,
        Manage::Write,
        Completions::Write,
    )
    .await;
    apikeys::delete(store, &created.org.org_id, &created.api_key_id)
        .await
        .unwrap();
    assert_eq!(apikeys::find_by_hash(store, &hash).await.unwrap(), None);
    let found = apikeys::find_by_hash(store, &hash_secret(&second))
        .await
        .unwrap()
        .unwrap();
    let record = apikeys::get(store, &created.org.org_id, &found.api_key_id)
        .await
        .unwrap();
    assert_eq!(Some(found), record);
}

async fn a_lookup_without_the_copy_reads_the_record(backend: Backend) {
    let f = fixture(backend).await;
    let store: &dyn Store = f.store.as_ref();
    let created = orgs::create(store, "legacy").await.unwrap();
    let hash = hash_secret(created.api_key.expose());
    // The lookup as it was written before the copy existed.
    let legacy = Item::new(
        format!("KEYHASH#{hash}"),
        "KEYHASH",
        serde_json::json!({"org_id": created.org.org_id, "api_key_id": created.api_key_id}),
    );
    store.put(&legacy).await.unwrap();
    f.store.take();
    let found = apikeys::find_by_hash(store, &hash).await.unwrap().unwrap();
    assert_eq!(f.store.take().0, 2, "the lookup, then the record");
    assert_eq!(found.api_key_id, created.api_key_id);
    assert_eq!(found.org_id, created.org.org_id);

    // The next change writes the copy.
    apikeys::update(store, &created.org.org_id, &created.api_key_id, |k| {
        k.name = "upgraded".into();
        Ok(())
    })
    .await
    .unwrap();
    f.store.take();
    let found = apikeys::find_by_hash(store, &hash).await.unwrap().unwrap();
    assert_eq!(f.store.take().0, 1);
    assert_eq!(found.name, "upgraded");
}

async fn two_orgs_keys_are_found_apart(backend: Backend) {
    let f = fixture(backend).await;
    let store: &dyn Store = f.store.as_ref();
    let a = orgs::create(store, "org-a").await.unwrap();
    let b = orgs::create(store, "org-b").await.unwrap();
    apikeys::update(store, &a.org.org_id, &a.api_key_id, |k| {
        k.name = "only-a".into();
        Ok(())
    })
    .await
    .unwrap();
    let found_a = apikeys::find_by_hash(store, &hash_secret(a.api_key.expose()))
        .await
        .unwrap()
        .unwrap();
    let found_b = apikeys::find_by_hash(store, &hash_secret(b.api_key.expose()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found_a.org_id.as_str(), found_a.name.as_str()),
        (a.org.org_id.as_str(), "only-a")
    );
    assert_eq!(found_b.org_id, b.org.org_id);
    assert_ne!(found_b.name, "only-a", "one org's change reached the other");
}
