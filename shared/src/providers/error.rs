//! Provider failures, classified for the fallback engine, with messages scrubbed of key material.

use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use serde_json::Value;

use crate::domain::provider::Provider;

/// Why a provider call failed, as the fallback engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// No answer in time (including a stalled stream). Retryable.
    Timeout,
    /// Could not connect (DNS, refused, TLS). Retryable.
    Connect,
    /// 429 rate limit (not an exhausted quota). Retryable, honour `retry_after`.
    RateLimited,
    /// 529 / overloaded_error / UNAVAILABLE. Retryable.
    Overloaded,
    /// 5xx, a malformed answer, or a stream cut before its end. Retryable.
    Server,
    /// 401/402/403, an invalid key, an exhausted quota or spend limit: try another key.
    KeyRejected,
    /// The caller's own request is wrong (400/404/413/422, context too long): do not fall over.
    CallerError,
    /// The provider refused the content: do not fall over.
    Refusal,
}

/// A failed provider call. `message` is the provider's own message, scrubbed of key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub class: ErrorClass,
    pub status: Option<u16>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "{:?} ({s}): {}", self.class, self.message),
            None => write!(f, "{:?}: {}", self.class, self.message),
        }
    }
}

impl std::error::Error for ProviderError {}

const MAX_MESSAGE_CHARS: usize = 1000;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl ProviderError {
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Server, message)
    }

    pub(crate) fn caller(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::CallerError, message)
    }

    pub(crate) fn timeout(provider: Provider) -> Self {
        Self::new(
            ErrorClass::Timeout,
            format!("{provider} did not answer in time"),
        )
    }

    pub(crate) fn cut(provider: Provider) -> Self {
        Self::server(format!("{provider} stream ended before it was complete"))
    }

    /// A transport failure from reqwest; never includes the URL (which is operator config, but may carry
    /// credentials in unusual setups) nor headers.
    pub(crate) fn transport(provider: Provider, err: &reqwest::Error) -> Self {
        let class = if err.is_timeout() {
            ErrorClass::Timeout
        } else if err.is_connect() {
            ErrorClass::Connect
        } else {
            ErrorClass::Server
        };
        let what = match class {
            ErrorClass::Timeout => "did not answer in time",
            ErrorClass::Connect => "could not be reached",
            _ => "connection failed",
        };
        Self::new(class, format!("{provider} {what}"))
    }

    /// Classify an HTTP error answer from `provider`.
    pub(crate) fn from_response(
        provider: Provider,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        key: &str,
    ) -> Self {
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let detail = ErrorDetail::parse(&json);
        let message = match &detail.message {
            Some(m) if !m.is_empty() => scrub(m, key),
            _ => format!("{provider} answered HTTP {status}"),
        };
        let class = classify(status, &detail);
        let retry_after = retry_after(headers).or(detail.retry_delay);
        Self {
            class,
            status: Some(status),
            message,
            retry_after,
        }
    }

    /// Classify an error object delivered inside a stream (OpenAI `{"error":..}`, Anthropic `event: error`,
    /// Gemini `{"error":..}`).
    pub(crate) fn from_stream_error(provider: Provider, json: &Value, key: &str) -> Self {
        let detail = ErrorDetail::parse(json);
        let status = detail.code.or(match detail.kind.as_deref() {
            Some("overloaded_error") => Some(529),
            Some("rate_limit_error") => Some(429),
            Some("api_error") => Some(500),
            _ => None,
        });
        let class = match status {
            Some(s) => classify(s, &detail),
            None => ErrorClass::Server,
        };
        let message = detail
            .message
            .map(|m| scrub(&m, key))
            .unwrap_or_else(|| format!("{provider} stream failed"));
        Self {
            class,
            status,
            message,
            retry_after: detail.retry_delay,
        }
    }
}

/// The fields of the three providers' error bodies that matter here.
#[derive(Debug, Default)]
struct ErrorDetail {
    message: Option<String>,
    /// OpenAI `error.type`, Anthropic `error.type`, Gemini `error.status`.
    kind: Option<String>,
    /// OpenAI `error.code`, Anthropic `error.details.error_code`, Gemini `details[].reason`.
    code_str: Option<String>,
    /// Gemini `error.code` (the HTTP status).
    code: Option<u16>,
    retry_delay: Option<Duration>,
}

impl ErrorDetail {
    fn parse(json: &Value) -> Self {
        // Gemini sometimes wraps the error in a one-element array.
        let json = json.as_array().and_then(|a| a.first()).unwrap_or(json);
        let err = json.get("error").unwrap_or(json);
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let mut detail = ErrorDetail {
            message: text(err.get("message")),
            kind: text(err.get("type")).or_else(|| text(err.get("status"))),
            code_str: text(err.get("code")).or_else(|| text(err.pointer("/details/error_code"))),
            code: err
                .get("code")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok()),
            retry_delay: None,
        };
        if let Some(details) = err.get("details").and_then(Value::as_array) {
            for d in details {
                if detail.code_str.is_none() {
                    detail.code_str = text(d.get("reason"));
                }
                if let Some(delay) = d.get("retryDelay").and_then(Value::as_str) {
                    detail.retry_delay = parse_seconds(delay.trim_end_matches('s'));
                }
            }
        }
        detail
    }

    fn mentions(&self, needles: &[&str]) -> bool {
        let hay = [&self.kind, &self.code_str, &self.message]
            .iter()
            .filter_map(|s| s.as_deref())
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
            .join(" ");
        needles.iter().any(|n| hay.contains(n))
    }
}

fn classify(status: u16, detail: &ErrorDetail) -> ErrorClass {
    const KEY: &[&str] = &[
        "insufficient_quota",
        "api_key_invalid",
        "api key not valid",
        "invalid_api_key",
        "incorrect api key",
        "billing",
        "enforced_spend_limit",
        "credit balance",
    ];
    const REFUSAL: &[&str] = &["content_policy", "content_filter", "safety", "moderation"];
    match status {
        401..=403 => ErrorClass::KeyRejected,
        408 => ErrorClass::Timeout,
        429 if detail.mentions(KEY) => ErrorClass::KeyRejected,
        429 => ErrorClass::RateLimited,
        529 => ErrorClass::Overloaded,
        503 if detail.mentions(&["overloaded", "unavailable"]) => ErrorClass::Overloaded,
        500..=599 => ErrorClass::Server,
        // Google answers 400 INVALID_ARGUMENT / API_KEY_INVALID for a bad key.
        400 if detail.mentions(KEY) => ErrorClass::KeyRejected,
        400 if detail.mentions(REFUSAL) => ErrorClass::Refusal,
        _ => ErrorClass::CallerError,
    }
}

/// `retry-after-ms`, `retry-after` in seconds, or `retry-after` as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return clamp(ms / 1000.0);
    }
    let value = header("retry-after")?.trim();
    if let Some(d) = parse_seconds(value) {
        return Some(d);
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let secs = (date.timestamp_millis() - chrono::Utc::now().timestamp_millis()) as f64 / 1000.0;
    clamp(secs.max(0.0))
}

fn parse_seconds(value: &str) -> Option<Duration> {
    clamp(value.trim().parse::<f64>().ok()?)
}

/// A provider's hint as a duration of at most [`MAX_RETRY_AFTER`]: clamped *before* the conversion, which
/// panics past `u64::MAX` seconds (a `retry-after: 1e20` once aborted the whole server).
fn clamp(secs: f64) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(
        secs.min(MAX_RETRY_AFTER.as_secs_f64()),
    ))
}

/// Remove the key, and anything that looks like a (masked) key, from a provider's message.
pub(crate) fn scrub(message: &str, key: &str) -> String {
    let mut out = if key.len() >= 4 {
        message.replace(key, "[REDACTED]")
    } else {
        message.to_owned()
    };
    out = out
        .split(' ')
        .map(|word| {
            let w = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '*');
            let looks_like_key = w.starts_with("sk-")
                || w.starts_with("xai-")
                || w.starts_with("AIza")
                || (w.contains("***") && w.len() > 6)
                || (w.len() >= 32
                    && w.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    && w.chars().any(|c| c.is_ascii_digit()));
            if looks_like_key {
                word.replace(w, "[REDACTED]")
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if out.chars().count() > MAX_MESSAGE_CHARS {
        out = out.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn err(status: u16, body: Value) -> ProviderError {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        ProviderError::from_response(
            Provider::OpenAi,
            status,
            &headers,
            body.to_string().as_bytes(),
            "sk-live-secret-key-0000",
        )
    }

    #[test]
    fn classes_follow_status_and_body() {
        let openai = |code: &str| json!({"error": {"message": "m", "type": code, "code": code}});
        assert_eq!(
            err(429, openai("rate_limit_exceeded")).class,
            ErrorClass::RateLimited
        );
        assert_eq!(
            err(429, openai("insufficient_quota")).class,
            ErrorClass::KeyRejected
        );
        assert_eq!(
            err(401, openai("invalid_api_key")).class,
            ErrorClass::KeyRejected
        );
        assert_eq!(err(402, json!({})).class, ErrorClass::KeyRejected);
        assert_eq!(err(403, json!({})).class, ErrorClass::KeyRejected);
        assert_eq!(
            err(400, openai("context_length_exceeded")).class,
            ErrorClass::CallerError
        );
        assert_eq!(err(404, json!({})).class, ErrorClass::CallerError);
        assert_eq!(err(413, json!({})).class, ErrorClass::CallerError);
        assert_eq!(err(422, json!({})).class, ErrorClass::CallerError);
        assert_eq!(
            err(400, openai("content_policy_violation")).class,
            ErrorClass::Refusal
        );
        assert_eq!(err(500, json!({})).class, ErrorClass::Server);
        assert_eq!(err(502, json!({})).class, ErrorClass::Server);
        let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        assert_eq!(err(529, overloaded).class, ErrorClass::Overloaded);
        let google_bad_key = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.", "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}});
        assert_eq!(err(400, google_bad_key).class, ErrorClass::KeyRejected);
        let google_unavailable = json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}});
        assert_eq!(err(503, google_unavailable).class, ErrorClass::Overloaded);
    }

    /// A hostile or broken provider's retry hints never panic (`Duration::from_secs_f64` does past
    /// `u64::MAX` seconds) and never ask for more than an hour.
    #[test]
    fn absurd_retry_hints_are_clamped_not_fatal() {
        for (name, value) in [
            ("retry-after", "1e20"),
            ("retry-after", "18446744073709551616"),
            ("retry-after-ms", "1e30"),
            ("retry-after-ms", "1.8e22"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(name, value.parse().unwrap());
            assert_eq!(
                retry_after(&headers),
                Some(MAX_RETRY_AFTER),
                "{name}: {value}"
            );
        }
        for value in ["inf", "NaN", "-5", "soon"] {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", value.parse().unwrap());
            assert_eq!(retry_after(&headers), None, "{value}");
        }
        let body = json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [{"retryDelay": "1e20s"}]}});
        let e = ProviderError::from_response(
            Provider::Google,
            429,
            &HeaderMap::new(),
            body.to_string().as_bytes(),
            "k",
        );
        assert_eq!(e.retry_after, Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn retry_after_from_headers_and_body() {
        assert_eq!(
            err(429, json!({})).retry_after,
            Some(Duration::from_secs(7))
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let body = json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED", "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "31s"}]}});
        let e = ProviderError::from_response(
            Provider::Google,
            429,
            &HeaderMap::new(),
            body.to_string().as_bytes(),
            "k",
        );
        assert_eq!(e.retry_after, Some(Duration::from_secs(31)));
        assert_eq!(e.class, ErrorClass::RateLimited);
        let mut headers = HeaderMap::new();
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn messages_never_carry_key_material() {
        let body = json!({"error": {"message": "Incorrect API key provided: sk-live-********************0000. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "code": "invalid_api_key"}});
        let e = err(401, body);
        assert!(!e.message.contains("0000"), "{}", e.message);
        assert!(e.message.contains("Incorrect API key provided"));
        assert_eq!(
            scrub("echo sk-live-secret-key-0000!", "sk-live-secret-key-0000"),
            "echo [REDACTED]!"
        );
        assert_eq!(scrub("key AIzaSyA1234567 bad", "x"), "key [REDACTED] bad");
    }

    #[test]
    fn stream_errors_are_classified() {
        let e = ProviderError::from_stream_error(
            Provider::Anthropic,
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            "k",
        );
        assert_eq!((e.class, e.status), (ErrorClass::Overloaded, Some(529)));
        let e = ProviderError::from_stream_error(
            Provider::OpenAi,
            &json!({"error": {"message": "boom"}}),
            "k",
        );
        assert_eq!(e.class, ErrorClass::Server);
    }
}
