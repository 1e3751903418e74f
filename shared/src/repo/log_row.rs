//! A request log record as the store keeps it: the API's record without its `null` fields, which read
//! back as `None`. A plain chat request's row is 590 bytes instead of 686, and `byok serve` writes one
//! per request: fewer bytes into SQLite's WAL, its checkpoint and the growing database file, and smaller
//! DynamoDB items.
//!
//! Only `null`s are left out: an empty list or map, or a `false`, is still written, so every row reads
//! with `LogRecord`'s own `Deserialize`, in this build and in older ones (a rollback, or an older
//! function still running during a deploy, reads the new rows), and rows written in full by older builds
//! read here as before.

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::domain::request_log::LogRecord;

/// The row of `record`, with `payload` (a captured payload's ciphertext, base64) beside its fields.
pub(crate) struct Row<'a> {
    pub record: &'a LogRecord,
    pub payload: Option<&'a str>,
}

impl Serialize for Row<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Every field named (no `..`): a field added to `LogRecord` does not compile here until the row
        // writes it.
        let LogRecord {
            request_id,
            created_at,
            api_key_id,
            endpoint,
            model_requested,
            policy,
            model_used,
            provider_used,
            key_source,
            stream,
            attempts,
            status,
            error_type,
            error_code,
            latency_ms,
            ttft_ms,
            tokens,
            cost,
            user_id,
            trace_id,
            tags,
            extra,
            origin,
            payload_captured,
        } = self.record;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("request_id", request_id)?;
        map.serialize_entry("created_at", created_at)?;
        map.serialize_entry("api_key_id", api_key_id)?;
        map.serialize_entry("endpoint", endpoint)?;
        present(&mut map, "model_requested", model_requested)?;
        present(&mut map, "policy", policy)?;
        present(&mut map, "model_used", model_used)?;
        present(&mut map, "provider_used", provider_used)?;
        present(&mut map, "key_source", key_source)?;
        map.serialize_entry("stream", stream)?;
        map.serialize_entry("attempts", attempts)?;
        map.serialize_entry("status", status)?;
        present(&mut map, "error_type", error_type)?;
        present(&mut map, "error_code", error_code)?;
        map.serialize_entry("latency_ms", latency_ms)?;
        present(&mut map, "ttft_ms", ttft_ms)?;
        map.serialize_entry("tokens", tokens)?;
        present(&mut map, "cost", cost)?;
        present(&mut map, "user_id", user_id)?;
        present(&mut map, "trace_id", trace_id)?;
        map.serialize_entry("tags", tags)?;
        map.serialize_entry("extra", extra)?;
        present(&mut map, "origin", origin)?;
        map.serialize_entry("payload_captured", payload_captured)?;
        if let Some(payload) = self.payload {
            map.serialize_entry(super::logs::PAYLOAD_FIELD, payload)?;
        }
        map.end()
    }
}

fn present<M: SerializeMap, T: Serialize>(
    map: &mut M,
    name: &'static str,
    value: &Option<T>,
) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(name, v),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};
    use serde_json::{Map, Value};

    use super::*;
    use crate::domain::request_log::{LogAttempt, LogTokens};

    /// A row read as every build reads it: with `LogRecord`'s own `Deserialize`.
    fn read(text: &str) -> LogRecord {
        serde_json::from_str(text).unwrap()
    }

    fn write(record: &LogRecord) -> String {
        serde_json::to_string(&Row {
            record,
            payload: None,
        })
        .unwrap()
    }

    fn plain() -> LogRecord {
        LogRecord {
            request_id: "req_01m908mgj9fr4qkzqadtqmykse".into(),
            created_at: Utc.timestamp_millis_opt(1_796_000_000_123).unwrap(),
            api_key_id: "key_01m908ksxbsp6mraq08ga49wyn".into(),
            endpoint: "/v1/chat/completions".into(),
            status: 200,
            latency_ms: 3,
            ..LogRecord::default()
        }
    }

    fn full() -> LogRecord {
        LogRecord {
            model_requested: Some("policy/p".into()),
            policy: Some("p".into()),
            model_used: Some("openai/gpt-4o-mini".into()),
            provider_used: Some("openai".into()),
            key_source: Some("own".into()),
            stream: true,
            attempts: vec![LogAttempt {
                model: "openai/gpt-4o-mini".into(),
                provider: "openai".into(),
                key_source: "own".into(),
                outcome: "ok".into(),
                status: Some(200),
                ms: 2,
            }],
            error_type: Some("stream_error".into()),
            error_code: Some("upstream_cut".into()),
            ttft_ms: Some(1),
            tokens: LogTokens {
                input: 12,
                output: 4,
                cached: 1,
                cache_write: 2,
                reasoning: 3,
            },
            cost: Some(4.2e-6),
            user_id: Some("u1".into()),
            trace_id: Some("t1".into()),
            tags: vec!["a".into(), "b".into()],
            extra: BTreeMap::from([("team".to_owned(), "x".to_owned())]),
            origin: Some("app".into()),
            payload_captured: true,
            ..plain()
        }
    }

    #[test]
    fn every_field_set_is_written_and_read_back() {
        let record = full();
        let text = write(&record);
        assert_eq!(read(&text), record);
        // Nothing of the API's record is left out when every field holds a value.
        let api: Map<String, Value> =
            serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
        let row: Map<String, Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(row, api);
    }

    #[test]
    fn null_fields_are_left_out_and_read_back_as_none() {
        let record = plain();
        let text = write(&record);
        for absent in [
            "model_requested",
            "policy",
            "error_type",
            "error_code",
            "ttft_ms",
            "cost",
            "user_id",
            "trace_id",
            "origin",
            "null",
        ] {
            assert!(!text.contains(absent), "{absent} written: {text}");
        }
        // What `LogRecord`'s own `Deserialize` (older builds' too) needs is still written.
        for kept in [
            r#""stream":false"#,
            r#""tags":[]"#,
            r#""extra":{}"#,
            r#""payload_captured":false"#,
        ] {
            assert!(text.contains(kept), "{kept} left out: {text}");
        }
        assert_eq!(read(&text), record);
    }

    #[test]
    fn a_row_written_in_full_by_an_older_build_reads_the_same() {
        for record in [plain(), full()] {
            let older = serde_json::to_string(&record).unwrap();
            assert_eq!(read(&older), record);
        }
    }

    #[test]
    fn a_payload_sits_beside_the_fields() {
        let record = full();
        let text = serde_json::to_string(&Row {
            record: &record,
            payload: Some("AAEC"),
        })
        .unwrap();
        let row: Map<String, Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(row[super::super::logs::PAYLOAD_FIELD], "AAEC");
    }
}
