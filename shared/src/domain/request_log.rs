//! The request log: one record per inference request (served, failed, fallen over or refused), what it
//! asked for, every attempt it made, what it cost, and how it ended. Metadata only; the request and response
//! bodies are kept (encrypted) only for keys with `logging` on, beside the record, never in it.
//!
//! Request ids are `req_` + a ULID, so an id alone names its record's time: the record's sort key is the
//! ULID with every character inverted (newest first in an ascending query), computed from the id, and a
//! lookup by id is one key read (see docs/storage.md).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;

pub const REQUEST_ID_PREFIX: &str = "req";

/// Default retention of a log record (`BYOK_LOG_RETENTION_DAYS`).
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// A new request id: `req_` + a ULID of now, monotonic within this process, so two requests of the same
/// millisecond are listed in the order they arrived (plain `Ulid::new()` orders them by their random bits,
/// which made the newest-first test fail now and then). Across instances, requests of the same millisecond
/// have no defined order.
pub fn new_request_id() -> String {
    static IDS: std::sync::Mutex<ulid::Generator> = std::sync::Mutex::new(ulid::Generator::new());
    let ulid = IDS
        .lock()
        .ok()
        .and_then(|mut ids| ids.generate().ok())
        .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()));
    format!(
        "{REQUEST_ID_PREFIX}_{}",
        ulid.to_string().to_ascii_lowercase()
    )
}

fn ulid_of(request_id: &str) -> Option<ulid::Ulid> {
    if !ids::is_id(REQUEST_ID_PREFIX, request_id) {
        return None;
    }
    let text = request_id[REQUEST_ID_PREFIX.len() + 1..].to_ascii_uppercase();
    ulid::Ulid::from_string(&text).ok()
}

/// When the request with this id started (the ULID's time); `None` for anything not a request id.
pub fn time_of(request_id: &str) -> Option<DateTime<Utc>> {
    let ms = ulid_of(request_id)?.timestamp_ms();
    Utc.timestamp_millis_opt(i64::try_from(ms).ok()?).single()
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Each base32 character replaced by its mirror (`0`↔`Z`): for strings of one length, the order reverses.
fn invert(ulid: &str) -> String {
    ulid.bytes()
        .map(|b| {
            let i = CROCKFORD.iter().position(|c| *c == b).unwrap_or(0);
            CROCKFORD[31 - i] as char
        })
        .collect()
}

/// The record's sort key: newest first in ascending order. `None` for anything not a request id.
pub fn sort_key(request_id: &str) -> Option<String> {
    Some(invert(&ulid_of(request_id)?.to_string()))
}

/// The sort key just before every record that started strictly before `end`: a query starting after it
/// reads those records, newest first.
pub fn sort_key_before(end: DateTime<Utc>) -> String {
    let ms = u64::try_from(end.timestamp_millis()).unwrap_or(0);
    invert(&ulid::Ulid::from_parts(ms.min((1 << 48) - 1), 0).to_string())
}

/// One provider call of the request, as the engine recorded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogAttempt {
    /// `<provider>/<model>`.
    pub model: String,
    pub provider: String,
    /// `own` or `platform`.
    pub key_source: String,
    /// `ok`, `timeout`, `connect_error`, `http_<status>`, `stream_error`, or `skipped_<reason>`.
    pub outcome: String,
    /// The provider's HTTP status, when it answered.
    pub status: Option<u16>,
    pub ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LogTokens {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub cache_write: u64,
    pub reasoning: u64,
}

/// One request, as the log keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogRecord {
    /// `req_…`, as returned in the `x-request-id` header.
    pub request_id: String,
    /// When the request arrived (the request id's time).
    pub created_at: DateTime<Utc>,
    pub api_key_id: String,
    /// The route: `/v1/chat/completions`, `/v1/messages`, `/v1/embeddings`, `/v1/messages/count_tokens`.
    pub endpoint: String,
    /// The request's `model` as the client wrote it (`default` when it named none; absent when the body
    /// could not be read).
    pub model_requested: Option<String>,
    /// The policy the request was routed by, if any.
    pub policy: Option<String>,
    /// `<provider>/<model>` that answered.
    pub model_used: Option<String>,
    pub provider_used: Option<String>,
    /// `own` or `platform`: whose key answered.
    pub key_source: Option<String>,
    pub stream: bool,
    pub attempts: Vec<LogAttempt>,
    /// The HTTP status the client got (200 for a stream that failed after its first token; see `error_type`).
    pub status: u16,
    /// The error's `type` (OpenAI shape), or `stream_error` for a stream cut after its first token.
    pub error_type: Option<String>,
    /// The error's `code` (`monthly_limit_reached`, `model_not_priced`, `insufficient_permissions`, …).
    pub error_code: Option<String>,
    /// From the request's arrival to its last byte (a stream's end).
    pub latency_ms: u64,
    /// Streams: from arrival to the first content token sent.
    pub ttft_ms: Option<u64>,
    pub tokens: LogTokens,
    /// USD at the operator's prices; `null` when unknown.
    pub cost: Option<f64>,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    pub tags: Vec<String>,
    pub extra: BTreeMap<String, String>,
    /// The calling app (`X-Title`, else the `HTTP-Referer` host).
    pub origin: Option<String>,
    /// True when the key's `logging` flag was on and the bodies were captured (see the detail endpoint).
    pub payload_captured: bool,
}

impl LogRecord {
    /// `2xx`, `4xx` or `5xx`.
    pub fn status_class(&self) -> StatusClass {
        match self.status {
            500.. => StatusClass::Server,
            400..=499 => StatusClass::Client,
            _ => StatusClass::Success,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum StatusClass {
    #[serde(rename = "2xx")]
    Success,
    #[serde(rename = "4xx")]
    Client,
    #[serde(rename = "5xx")]
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    Own,
    Platform,
}

impl KeySource {
    pub fn as_str(self) -> &'static str {
        match self {
            KeySource::Own => "own",
            KeySource::Platform => "platform",
        }
    }
}

/// What `GET /v1/manage/logs` filters on. The time range bounds the query; the rest is checked on each
/// record read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    /// Inclusive.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive.
    pub end: Option<DateTime<Utc>>,
    pub api_key_id: Option<String>,
    /// Matches the model requested or the model used (`<provider>/<model>`, `policy/<name>`).
    pub model: Option<String>,
    pub provider: Option<String>,
    pub status_class: Option<StatusClass>,
    pub key_source: Option<KeySource>,
    pub trace_id: Option<String>,
    pub user_id: Option<String>,
    pub tag: Option<String>,
    pub min_cost: Option<f64>,
    pub min_latency_ms: Option<u64>,
}

impl LogFilter {
    /// True when nothing but the time range is set (every record read is returned).
    pub fn is_time_only(&self) -> bool {
        LogFilter {
            start: None,
            end: None,
            ..self.clone()
        } == LogFilter::default()
    }

    pub fn matches(&self, r: &LogRecord) -> bool {
        fn eq(want: &Option<String>, have: Option<&str>) -> bool {
            want.as_deref().is_none_or(|w| have == Some(w))
        }
        self.start.is_none_or(|s| r.created_at >= s)
            && self.end.is_none_or(|e| r.created_at < e)
            && eq(&self.api_key_id, Some(&r.api_key_id))
            && self.model.as_deref().is_none_or(|m| {
                r.model_requested.as_deref() == Some(m) || r.model_used.as_deref() == Some(m)
            })
            && eq(&self.provider, r.provider_used.as_deref())
            && self.status_class.is_none_or(|c| r.status_class() == c)
            && self
                .key_source
                .is_none_or(|k| r.key_source.as_deref() == Some(k.as_str()))
            && eq(&self.trace_id, r.trace_id.as_deref())
            && eq(&self.user_id, r.user_id.as_deref())
            && self
                .tag
                .as_deref()
                .is_none_or(|t| r.tags.iter().any(|x| x == t))
            && self.min_cost.is_none_or(|c| r.cost.is_some_and(|x| x >= c))
            && self.min_latency_ms.is_none_or(|l| r.latency_ms >= l)
    }
}

/// Largest captured request or response body, each (bytes of JSON or SSE text, cut on a character
/// boundary); the rest is cut off and marked.
pub const PAYLOAD_CAP: usize = 32 * 1024;

/// The bodies of a request whose key has `logging` on, as captured (before encryption).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Payload {
    /// The request body as received (JSON text), cut at [`PAYLOAD_CAP`] bytes.
    pub request: String,
    pub request_truncated: bool,
    /// The response body (JSON text), cut at [`PAYLOAD_CAP`] bytes. For a stream: the SSE text the client
    /// was sent (`event:`/`data:` lines as they went out, the usage event with its cost, the `[DONE]`
    /// terminator or the closing error event), cut at the cap while streaming; for a stream whose client
    /// went away, what was sent before it left.
    pub response: Option<String>,
    pub response_truncated: bool,
}

/// `text` cut to at most `cap` bytes on a character boundary, and whether it was cut.
pub fn truncate(text: &str, cap: usize) -> (String, bool) {
    if text.len() <= cap {
        return (text.to_owned(), false);
    }
    let mut end = cap;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_newest_first_and_come_from_the_id_alone() {
        let older = format!(
            "req_{}",
            ulid::Ulid::from_parts(1_700_000_000_000, 5)
                .to_string()
                .to_ascii_lowercase()
        );
        let newer = format!(
            "req_{}",
            ulid::Ulid::from_parts(1_700_000_000_001, 1)
                .to_string()
                .to_ascii_lowercase()
        );
        let (o, n) = (sort_key(&older).unwrap(), sort_key(&newer).unwrap());
        assert!(n < o, "{n} sorts after {o}");
        assert_eq!(
            time_of(&older).unwrap().timestamp_millis(),
            1_700_000_000_000
        );
        assert!(sort_key("req_../../x").is_none());
        assert!(sort_key("key_01hzzzzzzzzzzzzzzzzzzzzz").is_none());
        let fresh = new_request_id();
        assert!(sort_key(&fresh).is_some(), "{fresh}");
        // Monotonic: ids made one after another sort newest first, even within one millisecond.
        let made: Vec<String> = (0..1000).map(|_| new_request_id()).collect();
        let keys: Vec<String> = made.iter().map(|id| sort_key(id).unwrap()).collect();
        assert!(
            keys.windows(2).all(|w| w[0] > w[1]),
            "ids are not monotonic"
        );
    }

    #[test]
    fn the_key_before_end_excludes_end_and_includes_everything_earlier() {
        let end = Utc.timestamp_millis_opt(1_700_000_000_500).unwrap();
        let before = sort_key_before(end);
        let id = |ms: u64, r: u128| {
            format!(
                "req_{}",
                ulid::Ulid::from_parts(ms, r).to_string().to_lowercase()
            )
        };
        // At `end` (any randomness): not after the start key, so not read.
        for r in [0, 1, u128::MAX >> 48] {
            assert!(sort_key(&id(1_700_000_000_500, r)).unwrap() <= before);
        }
        // One millisecond earlier (any randomness): read.
        for r in [0, u128::MAX >> 48] {
            assert!(sort_key(&id(1_700_000_000_499, r)).unwrap() > before);
        }
    }

    fn record() -> LogRecord {
        LogRecord {
            request_id: new_request_id(),
            created_at: Utc::now(),
            api_key_id: "key_a".into(),
            endpoint: "/v1/chat/completions".into(),
            model_requested: Some("policy/main".into()),
            policy: Some("main".into()),
            model_used: Some("openai/gpt-4.1".into()),
            provider_used: Some("openai".into()),
            key_source: Some("own".into()),
            stream: false,
            attempts: vec![],
            status: 200,
            error_type: None,
            error_code: None,
            latency_ms: 120,
            ttft_ms: None,
            tokens: LogTokens::default(),
            cost: Some(0.5),
            user_id: Some("u1".into()),
            trace_id: Some("t1".into()),
            tags: vec!["a".into(), "b".into()],
            extra: BTreeMap::new(),
            origin: None,
            payload_captured: false,
        }
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("abc", 3), ("abc".into(), false));
        assert_eq!(truncate("abcd", 3), ("abc".into(), true));
        assert_eq!(truncate("aé", 2), ("a".into(), true));
    }

    #[test]
    fn filters_match_each_field() {
        let r = record();
        let yes = |f: LogFilter| assert!(f.matches(&r), "{f:?}");
        let no = |f: LogFilter| assert!(!f.matches(&r), "{f:?}");
        yes(LogFilter::default());
        yes(LogFilter {
            model: Some("policy/main".into()),
            ..Default::default()
        });
        yes(LogFilter {
            model: Some("openai/gpt-4.1".into()),
            tag: Some("b".into()),
            key_source: Some(KeySource::Own),
            status_class: Some(StatusClass::Success),
            min_cost: Some(0.5),
            min_latency_ms: Some(120),
            ..Default::default()
        });
        no(LogFilter {
            model: Some("openai/gpt-4.1-mini".into()),
            ..Default::default()
        });
        no(LogFilter {
            key_source: Some(KeySource::Platform),
            ..Default::default()
        });
        no(LogFilter {
            status_class: Some(StatusClass::Client),
            ..Default::default()
        });
        no(LogFilter {
            min_cost: Some(0.51),
            ..Default::default()
        });
        no(LogFilter {
            min_latency_ms: Some(121),
            ..Default::default()
        });
        no(LogFilter {
            trace_id: Some("t2".into()),
            ..Default::default()
        });
        no(LogFilter {
            user_id: Some("u2".into()),
            ..Default::default()
        });
        no(LogFilter {
            api_key_id: Some("key_b".into()),
            ..Default::default()
        });
        no(LogFilter {
            provider: Some("anthropic".into()),
            ..Default::default()
        });
        no(LogFilter {
            tag: Some("c".into()),
            ..Default::default()
        });
        no(LogFilter {
            end: Some(r.created_at),
            ..Default::default()
        });
        assert!(
            LogFilter {
                start: Some(r.created_at),
                ..Default::default()
            }
            .is_time_only()
        );
    }
}
