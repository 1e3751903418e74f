//! `byok price set|list|import` on both backends: the embedded store (`--data-dir`) and DynamoDB Local
//! (`--backend aws`). What `set` and `import` write is what `list` (and the router) reads; bad input
//! changes nothing.

mod common;

use std::process::{Command, Output};

use byok_shared::domain::provider::Provider;
use byok_shared::repo::prices;
use byok_testkit::{Backend, TestBackend};
use serde_json::Value;

fn byok(b: &TestBackend, args: &[&str]) -> Output {
    let mut command = Command::new(common::BIN);
    command.args(args);
    match b.backend {
        Backend::Embedded => {
            command.arg("--data-dir").arg(b.dir.path().join("cli"));
        }
        Backend::Aws => {
            command.args([
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
        }
    }
    common::run(command, None)
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn entry<'a>(list: &'a Value, provider: &str, model: &str) -> Option<&'a Value> {
    list["prices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["provider"] == provider && e["model"] == model)
}

async fn price_set_list_import(kind: Backend) {
    let b = TestBackend::new(kind).await;
    // Before any change: the shipped prices.
    let list = ok(&byok(&b, &["price", "list"]));
    assert!(entry(&list, "anthropic", "claude-sonnet-4-5").is_some());
    assert!(list["default"].is_null());

    let out = byok(
        &b,
        &[
            "price",
            "set",
            "openai/GPT-New",
            "--input",
            "1.5",
            "--output",
            "6",
            "--cache-read",
            "0.5",
            "--per-request",
            "0.01",
        ],
    );
    let list = ok(&out);
    let e = entry(&list, "openai", "gpt-new").expect("stored, normalised");
    assert_eq!(e["input"], 1.5);
    assert_eq!(e["per_request"], 0.01);
    assert!(
        entry(&list, "xai", "grok-4").is_some(),
        "seeded from the shipped file"
    );
    let listed = ok(&byok(&b, &["price", "list"]));
    assert_eq!(listed, list);

    // Bad input: refused, nothing written.
    for bad in [
        &["price", "set", "openai/m", "--input", "-1", "--output", "1"][..],
        &["price", "set", "nope/m", "--input", "1", "--output", "1"],
        &["price", "set", "gpt-4o", "--input", "1", "--output", "1"],
    ] {
        let out = byok(&b, bad);
        assert!(!out.status.success(), "{bad:?} accepted");
    }
    assert_eq!(ok(&byok(&b, &["price", "list"])), list);

    // Import merges a file (its default too); --replace replaces the table.
    let file = b.dir.path().join("prices.json");
    std::fs::write(
        &file,
        r#"{"default": {"input": 9, "output": 9},
            "prices": [{"provider": "google", "model": "models/gemini-9", "input": 2, "output": 3}]}"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let list = ok(&byok(&b, &["price", "import", path]));
    assert!(entry(&list, "google", "gemini-9").is_some());
    assert!(entry(&list, "openai", "gpt-new").is_some());
    assert_eq!(list["default"]["input"], 9.0);
    let list = ok(&byok(&b, &["price", "import", path, "--replace"]));
    assert_eq!(list["prices"].as_array().unwrap().len(), 1);
    std::fs::write(
        &file,
        r#"{"prices": [{"provider": "openai", "model": "x"}]}"#,
    )
    .unwrap();
    assert!(!byok(&b, &["price", "import", path]).status.success());

    if kind == Backend::Aws {
        // What the CLI wrote is what the gateway reads from the same table.
        let table = prices::load(b.store.as_ref()).await.unwrap();
        assert!(table.listed(Provider::Google, "gemini-9").is_some());
        assert!(table.listed(Provider::OpenAi, "gpt-new").is_none());
    }
}

byok_testkit::on_both_backends!(price_set_list_import);
