//! Property tests of the client request parser (`request::parse`, both formats share it): any JSON value
//! is either a parsed request or a 400, never a panic; a parsed request keeps every field but the
//! gateway's extension, and reads `model` and `stream` exactly as sent. And of the body it reads
//! ([`RequestBody`]): it accepts exactly the texts a `serde_json::Value` parse accepts, builds the same
//! tree, and writes back the same value.
//! Cases: `PROPTEST_CASES` (default 256). Longer: `PROPTEST_CASES=100000 cargo test -p byok-router --lib request_props`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::request::{EXTENSION, REQUESTY, parse};
use byok_shared::error::ErrorKind;
use byok_shared::providers::RequestBody;

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "openai/gpt-4.1-mini",
            "policy/main",
            "anthropic/claude-sonnet-4-5",
            "",
            "u1",
            "t1",
        ])
        .prop_map(Value::from),
        "\\PC{0,300}".prop_map(Value::from),
        "[\\x00-\\x1f a]{0,5}".prop_map(Value::from),
    ]
}

/// Keys the parser reads, the ones it refuses, and any other.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "model", "stream", "byok", "requesty", "user", "metadata", "messages", "tags", "user_id", "trace_id",
            "extra", "base_url", "api_base", "endpoint", "host", "upstream_url", "api_url", "input",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{1,8}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Mostly request-shaped objects: a model, maybe a stream flag, maybe an extension.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => json_value(),
        4 => (
            proptest::collection::btree_map(key(), json_value(), 0..6),
            leaf(),
            proptest::option::of(leaf()),
            proptest::option::of(json_value()),
        )
            .prop_map(|(mut m, model, stream, ext)| {
                m.insert("model".into(), model);
                if let Some(s) = stream {
                    m.insert("stream".into(), s);
                }
                if let Some(e) = ext {
                    m.insert(EXTENSION.into(), e);
                }
                Value::Object(m.into_iter().collect())
            }),
    ]
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
    fn any_body_parses_or_is_a_400(body in body()) {
        // The body as the gateway reads it from the wire (serde_json reads some floats one ulp off).
        let sent: Value = serde_json::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap();
        match parse(body) {
            Ok(parsed) => {
                prop_assert_eq!(Some(parsed.model.as_str()), sent["model"].as_str());
                prop_assert!(!parsed.model.is_empty());
                prop_assert_eq!(parsed.stream, sent["stream"].as_bool().unwrap_or(false));
                let mut expected = sent.as_object().unwrap().clone();
                expected.remove(EXTENSION);
                expected.remove(REQUESTY);
                prop_assert_eq!(parsed.body.tree(), &Value::Object(expected));
                for id in [&parsed.metadata.user_id, &parsed.metadata.trace_id].into_iter().flatten() {
                    // The bound is in characters, as the 400 says, not UTF-8 bytes.
                    prop_assert!(id.chars().count() <= 256 && !id.chars().any(char::is_control));
                }
            }
            Err(e) => {
                prop_assert_eq!(e.kind, ErrorKind::InvalidRequest, "{}", e.message);
            }
        }
    }

    #[test]
    fn a_body_reads_as_its_value_and_writes_back_the_same(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_vec_pretty(&value).unwrap()
        } else {
            serde_json::to_vec(&value).unwrap()
        };
        // What a `Value` parse of the text reads (serde_json reads some floats one ulp off what it wrote).
        let read: Value = serde_json::from_slice(&text).unwrap();
        let body = RequestBody::from_json(&text).unwrap();
        prop_assert_eq!(body.is_object(), value.is_object());
        prop_assert_eq!(body.tree(), &read);
        let written: Value = serde_json::from_str(&body.to_json_string()).unwrap();
        prop_assert_eq!(&written, &read);
        prop_assert_eq!(body.json_len(), body.to_json_string().len());
        for (name, v) in read.as_object().into_iter().flatten() {
            prop_assert_eq!(body.array_len(name), v.as_array().map(Vec::len), "{}", name);
        }
    }

    #[test]
    fn a_body_accepts_exactly_what_value_parsing_accepts(
        value in json_value(),
        at in any::<prop::sample::Index>(),
        cut in any::<bool>(),
        put in prop::sample::select(vec![b'{', b'}', b'[', b']', b'"', b',', b':', b'\\', b'0', b'e', b'-', b' ', 0xff]),
    ) {
        let mut text = serde_json::to_vec(&value).unwrap();
        let i = at.index(text.len() + 1);
        if cut && i < text.len() {
            text.remove(i);
        } else {
            text.insert(i, put);
        }
        match (RequestBody::from_json(&text), serde_json::from_slice::<Value>(&text)) {
            (Ok(body), Ok(v)) => prop_assert_eq!(body.tree(), &v),
            (Err(a), Err(b)) => prop_assert_eq!(a.classify(), b.classify()),
            (a, b) => prop_assert!(false, "body {:?}, value {:?}, text {:?}", a.map(|_| ()), b.map(|_| ()), String::from_utf8_lossy(&text)),
        }
    }
}
