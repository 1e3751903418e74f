//! Property tests of [`parse_document`]: any JSON value is either a policy or a 400 naming a field the
//! document can have, never a panic; an accepted policy, written back as a document, parses to itself.
//! Cases: `PROPTEST_CASES` (default 256). Longer: `PROPTEST_CASES=100000 cargo test -p byok-shared --lib parse_props`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{ParseMode, parse_document};
use crate::error::ErrorKind;

const TOP: &[&str] = &[
    "name",
    "type",
    "steps",
    "targets",
    "sticky",
    "fallover_on",
    "deadline_ms",
    "version",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..20).prop_map(Value::from),
        (0u64..1_000_000).prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "main",
            "fallback",
            "load_balance",
            "own",
            "platform",
            "own_then_platform",
            "platform_then_own",
            "trace_id",
            "user_id",
            "none",
            "timeout",
            "rate_limited",
            "server_error",
            "openai/gpt-4.1-mini",
            "anthropic/claude-sonnet-4-5",
            "google/gemini-2.5-flash",
            "xai/grok-4",
            "policy/main",
            "policy/other",
            "policy/",
            "openai/",
            "bogus/x",
            "",
            "A",
            "-x",
        ])
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ]
}

fn entry() -> impl Strategy<Value = Value> {
    let field = prop::sample::select(vec![
        "model",
        "key_source",
        "retries",
        "timeout_ms",
        "weight",
        "other",
    ]);
    prop_oneof![
        4 => proptest::collection::btree_map(field, scalar(), 0..5)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => scalar(),
    ]
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => scalar(),
        3 => proptest::collection::vec(entry(), 0..20).prop_map(Value::from),
        1 => proptest::collection::vec(scalar(), 0..8).prop_map(Value::from),
    ]
}

fn document() -> impl Strategy<Value = Value> {
    let key = prop_oneof![8 => prop::sample::select(TOP.to_vec()), 1 => Just("extra")];
    prop_oneof![
        8 => proptest::collection::btree_map(key, field_value(), 0..9).prop_map(|m| {
            Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
        }),
        1 => field_value(),
    ]
}

/// Documents that are mostly valid, so that the accepted path (and its round trip) is exercised too.
fn plausible() -> impl Strategy<Value = Value> {
    let model = prop::sample::select(vec![
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
        "google/gemini-2.5-flash",
        "xai/grok-4",
        "policy/other",
        "openai/",
        "bogus/x",
    ]);
    let source = prop::option::of(prop::sample::select(vec![
        "own",
        "platform",
        "own_then_platform",
        "platform_then_own",
        "mine",
    ]));
    let step = (
        model.clone(),
        source.clone(),
        prop::option::of(0u64..12),
        prop::option::of(0u64..1_000_000),
    )
        .prop_map(
            |(m, k, r, t)| json!({"model": m, "key_source": k, "retries": r, "timeout_ms": t}),
        );
    let target = (
        model,
        source,
        prop::option::of(prop_oneof![Just(-1.0f64), Just(0.0), 0.001f64..2e6]),
    )
        .prop_map(|(m, k, w)| json!({"model": m, "key_source": k, "weight": w}));
    let classes = prop::option::of(proptest::collection::vec(
        prop::sample::select(vec![
            "timeout",
            "connection_error",
            "rate_limited",
            "server_error",
            "own_key_rejected",
            "refusal",
        ]),
        0..4,
    ));
    (
        prop::sample::select(vec!["main", "a-b_c", "9", "Main", ""]),
        any::<bool>(),
        proptest::collection::vec(step, 0..4),
        proptest::collection::vec(target, 0..4),
        prop::option::of(prop::sample::select(vec!["trace_id", "user_id", "none", "x"])),
        classes,
        prop::option::of(0u64..1_000_000),
        prop::option::of(0u64..5),
    )
        .prop_map(|(name, fallback, steps, targets, sticky, fallover_on, deadline_ms, version)| {
            let mut doc = json!({"name": name, "fallover_on": fallover_on, "deadline_ms": deadline_ms, "version": version});
            if fallback {
                doc["type"] = json!("fallback");
                doc["steps"] = json!(steps);
            } else {
                doc["type"] = json!("load_balance");
                doc["targets"] = json!(targets);
                doc["sticky"] = json!(sticky);
            }
            doc
        })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_document_is_a_policy_or_a_named_400(doc in prop_oneof![document(), plausible()], update in any::<bool>()) {
        let mode = if update { ParseMode::Update { name: "main" } } else { ParseMode::Create };
        match parse_document(&doc, mode) {
            Ok(input) => {
                // Written back (as the store and the API show it), the policy parses to itself.
                let mut again = serde_json::to_value(&input.policy).unwrap();
                if let Some(v) = input.version {
                    again["version"] = json!(v);
                }
                let reparsed = parse_document(&again, mode).expect("a saved policy parses");
                prop_assert_eq!(reparsed, input);
            }
            Err(e) => {
                prop_assert_eq!(e.kind, ErrorKind::InvalidRequest, "{}", e.message);
                let param = e.param.clone().unwrap_or_default();
                let top = param.split(['.', '[']).next().unwrap_or_default();
                prop_assert!(
                    param.is_empty() && !doc.is_object() || TOP.contains(&top) || doc.get(top).is_some(),
                    "param {:?} for {}", param, doc
                );
            }
        }
    }
}
