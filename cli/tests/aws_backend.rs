//! `byok org create` and `byok platform-key set` with `--backend aws`, as an operator bootstraps a deployed
//! stack: against DynamoDB Local and KMS on moto, through the standard AWS environment.

mod common;

use std::process::Command;

use byok_shared::domain::provider::Provider;
use byok_shared::repo::provider_keys::{self, Owner};
use byok_shared::repo::{apikeys, orgs};
use byok_testkit::{Backend, TestBackend};

fn byok(b: &TestBackend, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut command = Command::new(common::BIN);
    command.args(args).args([
        "--backend",
        "aws",
        "--table",
        b.table.as_deref().unwrap(),
        "--kms-key-id",
        b.kms_key_id.as_deref().unwrap(),
    ]);
    for (k, v) in b.lambda_env() {
        if !k.starts_with("BYOK_") {
            command.env(k, v);
        }
    }
    common::run(command, stdin)
}

#[tokio::test]
async fn bootstrap_a_deployed_stack() {
    let b = TestBackend::new(Backend::Aws).await;
    let out = byok(
        &b,
        &[
            "org",
            "create",
            "Acme",
            "--platform-keys",
            "--platform-limit",
            "25",
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let org_id = created["org_id"].as_str().unwrap();
    assert_eq!(
        created["platform_keys"],
        serde_json::json!({"enabled": true, "monthly_limit": 25.0})
    );
    let stored = orgs::get(b.store.as_ref(), org_id).await.unwrap();
    assert_eq!(stored.name, "Acme");
    assert_eq!(
        (stored.platform_keys, stored.platform_limit),
        (Some(true), 25.0)
    );
    // `org set` changes what it is given and keeps the rest; a bad limit changes nothing.
    let out = byok(&b, &["org", "set", org_id, "--platform-keys", "off"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = orgs::get(b.store.as_ref(), org_id).await.unwrap();
    assert_eq!(
        (stored.platform_keys, stored.platform_limit),
        (Some(false), 25.0)
    );
    let out = byok(&b, &["org", "set", org_id, "--platform-limit", "-1"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("platform limit"));
    let out = byok(&b, &["org", "set", org_id], None);
    assert!(!out.status.success(), "nothing to change is an error");
    let stored = orgs::get(b.store.as_ref(), org_id).await.unwrap();
    assert_eq!(
        (stored.platform_keys, stored.platform_limit),
        (Some(false), 25.0)
    );
    let hash = byok_shared::domain::apikey::hash_secret(created["api_key"].as_str().unwrap());
    let key = apikeys::find_by_hash(b.store.as_ref(), &hash)
        .await
        .unwrap()
        .expect("admin key stored");
    assert_eq!(key.org_id, org_id);

    let out = byok(
        &b,
        &["platform-key", "set", "anthropic"],
        Some("sk-ant-platform-key-4321\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("platform-key-4321"));
    let plain = provider_keys::decrypt(
        b.store.as_ref(),
        b.cipher.as_ref(),
        Owner::Platform,
        Provider::Anthropic,
    )
    .await
    .unwrap()
    .expect("platform key stored");
    assert_eq!(
        plain.expose(),
        "sk-ant-platform-key-4321",
        "sealed with the stack's KMS key"
    );
}
