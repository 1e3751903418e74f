//! Property tests of everything a provider sends outside a stream: an error answer's status, headers and
//! body ([`ProviderError::from_response`]), and whole answers read by each provider's parser. Nothing a
//! provider sends may panic the gateway (a panic aborts the whole `byok serve` process, every tenant's
//! requests with it), and no retry hint may ask for more than [`super::error`]'s cap.
//!
//! Cases: `PROPTEST_CASES` (default 64 here). Streams are covered by `stream_props`.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::Value;

use super::stream_props::config;
use super::{ProviderError, anthropic, google, openai};
use crate::domain::provider::Provider;

const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Numbers as providers (or attackers) might write them: huge, tiny, negative, exponents, garbage.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "[0-9]{1,40}",
        "[0-9]{1,3}e[0-9]{1,4}",
        "-?[0-9]*\\.?[0-9]*e-?[0-9]{1,3}",
        Just("inf".to_owned()),
        Just("NaN".to_owned()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        "[ -~]{0,40}",
    ]
}

/// Arbitrary JSON, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(Value::from),
        number_text().prop_map(Value::from),
        prop_oneof![
            Just("error"),
            Just("message"),
            Just("usage"),
            Just("choices"),
            Just("content"),
            Just("candidates"),
            Just("retryDelay"),
            Just("details"),
            Just("code"),
            Just("type"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("error".to_owned()),
            Just("message".to_owned()),
            Just("code".to_owned()),
            Just("status".to_owned()),
            Just("details".to_owned()),
            Just("retryDelay".to_owned()),
            Just("usage".to_owned()),
            Just("choices".to_owned()),
            Just("content".to_owned()),
            Just("candidates".to_owned()),
            Just("parts".to_owned()),
            Just("type".to_owned()),
            Just("tool_calls".to_owned()),
            Just("function".to_owned()),
            Just("arguments".to_owned()),
            Just("prompt_tokens".to_owned()),
            Just("input_tokens".to_owned()),
            Just("usageMetadata".to_owned()),
            Just("finishReason".to_owned()),
            "[a-z_]{1,12}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        json().prop_map(|v| v.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..256),
    ]
}

const PROVIDERS: [Provider; 4] = [
    Provider::OpenAi,
    Provider::Anthropic,
    Provider::Google,
    Provider::Xai,
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn error_answers_never_panic_and_retry_hints_are_bounded(
        provider in 0..PROVIDERS.len(),
        status in 0u16..1000,
        retry_after in proptest::option::of(number_text()),
        retry_after_ms in proptest::option::of(number_text()),
        body in body(),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in [("retry-after", retry_after), ("retry-after-ms", retry_after_ms)] {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, v);
            }
        }
        let e = ProviderError::from_response(PROVIDERS[provider], status, &headers, &body, "sk-k");
        prop_assert!(e.retry_after.is_none_or(|d| d <= MAX_RETRY_AFTER), "{:?}", e.retry_after);
        if let Ok(json) = serde_json::from_slice::<Value>(&body) {
            let e = ProviderError::from_stream_error(PROVIDERS[provider], &json, "sk-k");
            prop_assert!(e.retry_after.is_none_or(|d| d <= MAX_RETRY_AFTER), "{:?}", e.retry_after);
        }
    }

    #[test]
    fn whole_answers_never_panic(answer in json()) {
        let _ = openai::response::parse(&answer);
        let _ = anthropic::response::parse(&answer);
        let _ = google::response::parse(&answer);
        let usage = answer.get("usage").unwrap_or(&answer);
        let _ = openai::response::usage(usage);
        let _ = anthropic::response::usage(usage);
        let _ = google::response::usage(answer.get("usageMetadata").unwrap_or(&answer));
    }
}
