//! The caller's request: its model (or the key's default), whether it streams, and the gateway's own
//! metadata (the `requesty` or `byok` extension object, `X-Requesty-*`, `X-Title` and `HTTP-Referer`
//! headers), which is stripped before anything is forwarded and bounded in count and length.

use std::collections::BTreeMap;

use axum::http::HeaderMap;
use byok_shared::Result;
use byok_shared::domain::apikey::ApiKey;
use byok_shared::domain::usage::valid_extra_name;
use byok_shared::error::Error;
use byok_shared::providers::RequestBody;
use byok_shared::providers::ir::{EFFORT_VALUES, Reasoning};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Our extension object, sent through the SDK's extra-body option: `{"byok": {...}}`.
pub const EXTENSION: &str = "byok";
/// Requesty's name for the same object: `{"requesty": {...}}`.
pub const REQUESTY: &str = "requesty";
/// The model name that asks for the key's default model (as does a request without `model`).
pub const DEFAULT_MODEL: &str = "default";
/// Headers `X-Requesty-<Name>` become `extra.<name>`.
const HEADER_PREFIX: &str = "x-requesty-";

/// Fields that would name an upstream; never accepted (provider URLs are operator configuration).
const UPSTREAM_FIELDS: [&str; 6] = [
    "api_base",
    "base_url",
    "api_url",
    "endpoint",
    "host",
    "upstream_url",
];

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub tags: Vec<String>,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    /// Field names lower-cased, values as text (a string as is, anything else as JSON).
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// Requesty's `auto_cache`: place prompt-cache breakpoints (Anthropic). `None`: the key's default.
    pub auto_cache: Option<bool>,
    /// The request's `model` as the client wrote it (`default` when it named none).
    #[serde(skip)]
    pub model_requested: String,
    /// The calling app: `X-Title`, else the host of `HTTP-Referer`.
    #[serde(skip)]
    pub origin_title: Option<String>,
}

impl Metadata {
    /// `extra` as recorded with the usage.
    pub fn extra_text(&self) -> BTreeMap<String, String> {
        self.extra
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect()
    }
}

pub struct Parsed {
    /// What the request is routed by: `<provider>/<model>` or `policy/<name>` (the key's default model
    /// when the client named `default` or none).
    pub model: String,
    pub stream: bool,
    pub metadata: Metadata,
    /// The body to forward: the extension removed, `model` the routed one.
    pub body: RequestBody,
}

const MAX_ID_LEN: usize = 256;
/// Bounds of the metadata: tags, extra fields (body and headers together), and their lengths.
pub const MAX_TAGS: usize = 16;
pub const MAX_TAG_LEN: usize = 64;
pub const MAX_EXTRA: usize = 16;
pub const MAX_EXTRA_VALUE: usize = 256;
pub const MAX_ORIGIN_LEN: usize = 128;
/// Most messages (chat) or inputs (embeddings) one request may carry; OpenAI's embeddings cap is 2048.
pub const MAX_ITEMS: usize = 2048;

/// The request body alone, as if from a key without a default model and with no gateway headers.
#[cfg(test)]
pub fn parse(body: Value) -> Result<Parsed> {
    parse_body(RequestBody::from(body), None)
}

/// The whole request: the body, the gateway's headers, and the calling key's default model.
pub fn parse_request(body: RequestBody, headers: &HeaderMap, key: &ApiKey) -> Result<Parsed> {
    let mut parsed = parse_body(body, key.default_model.as_deref())?;
    read_headers(headers, &mut parsed.metadata)?;
    Ok(parsed)
}

fn parse_body(mut body: RequestBody, default_model: Option<&str>) -> Result<Parsed> {
    if !body.is_object() {
        return Err(Error::bad_request("request body must be a JSON object"));
    }
    if let Some(field) = UPSTREAM_FIELDS.iter().find(|f| body.contains(f)) {
        return Err(Error::invalid(
            *field,
            format!("{field} is not accepted: provider URLs are set by the gateway's operator"),
        ));
    }
    let (model, model_requested) = match body.get("model") {
        Some(Value::String(m)) if m == DEFAULT_MODEL => (default_model.map(str::to_owned), m),
        Some(Value::String(m)) if !m.is_empty() => (Some(m.clone()), m),
        None | Some(Value::Null) => (default_model.map(str::to_owned), DEFAULT_MODEL.to_owned()),
        _ => (None, String::new()),
    };
    let Some(model) = model else {
        return Err(Error::invalid(
            "model",
            "model is required: <provider>/<model> or policy/<name> (or `default` with a key that has a default model)",
        ));
    };
    body.set("model", &Value::String(model.clone()));
    for field in ["messages", "input"] {
        if body.array_len(field).is_some_and(|items| items > MAX_ITEMS) {
            return Err(Error::invalid(
                field,
                format!("{field} may hold at most {MAX_ITEMS} items"),
            ));
        }
    }
    if let Some(effort) = body.get("reasoning_effort").filter(|v| !v.is_null())
        && effort.as_str().and_then(Reasoning::parse_effort).is_none()
    {
        return Err(Error::invalid(
            "reasoning_effort",
            format!("reasoning_effort must be one of {EFFORT_VALUES}"),
        ));
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(Error::invalid("stream", "stream must be a boolean")),
    };
    let ours = body.remove(EXTENSION).filter(|v| !v.is_null());
    let theirs = body.remove(REQUESTY).filter(|v| !v.is_null());
    let (name, extension) = match (ours, theirs) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                REQUESTY,
                "send the metadata in one of `requesty` or `byok`, not both",
            ));
        }
        (Some(v), None) => (EXTENSION, Some(v)),
        (None, Some(v)) => (REQUESTY, Some(v)),
        (None, None) => (EXTENSION, None),
    };
    let mut metadata: Metadata = match extension {
        None => Metadata::default(),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| Error::invalid(name, format!("{name}: {e}")))?
        }
    };
    metadata.model_requested = model_requested;
    if metadata.user_id.is_none() {
        // OpenAI's `user`, Anthropic's `metadata.user_id`.
        metadata.user_id = body.get_str("user").or_else(|| {
            body.get("metadata")
                .and_then(|m| m.get("user_id").and_then(Value::as_str).map(str::to_owned))
        });
    }
    for (field, value) in [
        ("user_id", &metadata.user_id),
        ("trace_id", &metadata.trace_id),
    ] {
        if value.as_ref().is_some_and(|v| !printable(v, MAX_ID_LEN)) {
            return Err(Error::invalid(
                format!("{name}.{field}"),
                format!("{field} must be at most {MAX_ID_LEN} printable characters"),
            ));
        }
    }
    if metadata.tags.len() > MAX_TAGS || !metadata.tags.iter().all(|t| printable(t, MAX_TAG_LEN)) {
        return Err(Error::invalid(
            format!("{name}.tags"),
            format!(
                "tags takes at most {MAX_TAGS} tags of at most {MAX_TAG_LEN} printable characters"
            ),
        ));
    }
    let extra = std::mem::take(&mut metadata.extra);
    for (field, value) in extra {
        add_extra(
            &mut metadata.extra,
            &format!("{name}.extra"),
            &field,
            text(&value),
        )?;
    }
    Ok(Parsed {
        model,
        stream,
        metadata,
        body,
    })
}

/// `X-Requesty-<Name>` → `extra.<name>`; `X-Title`, else `HTTP-Referer`'s host → the origin.
fn read_headers(headers: &HeaderMap, metadata: &mut Metadata) -> Result<()> {
    for (name, value) in headers {
        let Some(field) = name.as_str().strip_prefix(HEADER_PREFIX) else {
            continue;
        };
        let value = value.to_str().map_err(|_| {
            Error::invalid(name.as_str(), format!("{name} must be printable ASCII"))
        })?;
        add_extra(&mut metadata.extra, name.as_str(), field, value.to_owned())?;
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::trim);
    let origin = header("x-title")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| header("http-referer").and_then(referer_host));
    if let Some(origin) = origin {
        if !printable(&origin, MAX_ORIGIN_LEN) {
            return Err(Error::invalid(
                "X-Title",
                format!(
                    "the origin (X-Title or HTTP-Referer host) must be at most {MAX_ORIGIN_LEN} printable characters"
                ),
            ));
        }
        metadata.origin_title = Some(origin);
    }
    Ok(())
}

/// The host of a referer URL (`https://app.example.com/x?y` → `app.example.com`), or the value itself
/// when it has no scheme; paths and queries are dropped so the origin stays low-cardinality.
fn referer_host(referer: &str) -> Option<String> {
    let rest = referer.split_once("://").map_or(referer, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn add_extra(
    extra: &mut Map<String, Value>,
    param: &str,
    field: &str,
    value: String,
) -> Result<()> {
    let field = field.to_ascii_lowercase();
    if !valid_extra_name(&field) {
        return Err(Error::invalid(
            param,
            format!(
                "extra field names are 1-64 characters of letters, digits, `_`, `-` and `.`; got {field:?}"
            ),
        ));
    }
    if !printable(&value, MAX_EXTRA_VALUE) {
        return Err(Error::invalid(
            param,
            format!("extra.{field} must be at most {MAX_EXTRA_VALUE} printable characters"),
        ));
    }
    extra.insert(field, Value::String(value));
    if extra.len() > MAX_EXTRA {
        return Err(Error::invalid(
            param,
            format!("at most {MAX_EXTRA} extra fields (body and X-Requesty-* headers together)"),
        ));
    }
    Ok(())
}

fn printable(value: &str, max_chars: usize) -> bool {
    value.chars().count() <= max_chars && !value.chars().any(char::is_control)
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The whole request, its body given as a tree.
    fn parse_request(body: Value, headers: &HeaderMap, key: &ApiKey) -> Result<Parsed> {
        super::parse_request(RequestBody::from(body), headers, key)
    }

    #[test]
    fn strips_the_extension_and_reads_ids() {
        let p = parse(json!({"model": "policy/main", "stream": true, "user": "u1",
            "byok": {"trace_id": "t1", "tags": ["a"]}, "messages": []}))
        .unwrap();
        assert_eq!((p.model.as_str(), p.stream), ("policy/main", true));
        assert_eq!(p.metadata.user_id.as_deref(), Some("u1"));
        assert_eq!(p.metadata.trace_id.as_deref(), Some("t1"));
        assert!(p.body.get("byok").is_none());
        assert_eq!(
            p.body.tree()["user"],
            "u1",
            "the provider's own fields stay"
        );
    }

    #[test]
    fn reasoning_effort_takes_requestys_values_and_nothing_else() {
        for ok in [
            "none", "min", "minimal", "low", "medium", "high", "xhigh", "max", "10000",
        ] {
            parse(json!({"model": "openai/o3", "reasoning_effort": ok}))
                .unwrap_or_else(|_| panic!("{ok}"));
        }
        parse(json!({"model": "openai/o3", "reasoning_effort": null})).unwrap();
        for bad in [
            json!("extreme"),
            json!("HIGH"),
            json!(3),
            json!(true),
            json!("-5"),
        ] {
            let e = parse(json!({"model": "openai/o3", "reasoning_effort": bad}))
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert_eq!(e.param.as_deref(), Some("reasoning_effort"));
            assert_eq!(e.kind, byok_shared::error::ErrorKind::InvalidRequest);
        }
    }

    #[test]
    fn auto_cache_is_read_and_stripped() {
        let p = parse(
            json!({"model": "anthropic/claude-sonnet-4-5", "requesty": {"auto_cache": true}}),
        )
        .unwrap();
        assert_eq!(p.metadata.auto_cache, Some(true));
        assert!(p.body.get("requesty").is_none());
        let p = parse(json!({"model": "x/y", "byok": {"auto_cache": false}})).unwrap();
        assert_eq!(p.metadata.auto_cache, Some(false));
        assert_eq!(
            parse(json!({"model": "x/y"})).unwrap().metadata.auto_cache,
            None
        );
        let e = parse(json!({"model": "x/y", "requesty": {"auto_cache": "yes"}}))
            .err()
            .unwrap();
        assert_eq!(e.param.as_deref(), Some("requesty"));
    }

    #[test]
    fn refuses_upstream_overrides_and_bad_fields() {
        for field in UPSTREAM_FIELDS {
            let e = parse(json!({"model": "openai/gpt-4.1", field: "http://attacker"}))
                .err()
                .unwrap();
            assert_eq!(e.param.as_deref(), Some(field));
        }
        assert_eq!(
            parse(json!({"messages": []}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("model")
        );
        assert_eq!(
            parse(json!({"model": "x/y", "stream": "yes"}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("stream")
        );
        assert_eq!(
            parse(json!({"model": "x/y", "byok": {"colour": 1}}))
                .err()
                .unwrap()
                .param
                .as_deref(),
            Some("byok")
        );
        assert!(parse(json!([1])).is_err());
        let many = vec![json!({"role": "user", "content": "x"}); MAX_ITEMS + 1];
        let e = parse(json!({"model": "x/y", "messages": many}))
            .err()
            .unwrap();
        assert_eq!(e.param.as_deref(), Some("messages"));
    }

    fn key_with_default(default: Option<&str>) -> ApiKey {
        ApiKey {
            api_key_id: "key_x".into(),
            org_id: "org_x".into(),
            name: "app".into(),
            key_hash: String::new(),
            permissions: Default::default(),
            monthly_limit: 0.0,
            allowed_models: Vec::new(),
            expires_at: None,
            created_at: chrono::Utc::now(),
            created_by: None,
            labels: Default::default(),
            default_model: default.map(str::to_owned),
            auto_cache: None,
            rate_limits: Default::default(),
            logging: false,
        }
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn requesty_and_byok_are_the_same_object_and_both_are_stripped() {
        for name in [REQUESTY, EXTENSION] {
            let p = parse(json!({"model": "openai/gpt-4.1", "messages": [],
                name: {"tags": ["t"], "user_id": "u1", "trace_id": "tr", "extra": {"Team": "red", "n": 3}}}))
            .unwrap();
            assert!(p.body.get(name).is_none(), "{name} is stripped");
            assert_eq!(p.metadata.user_id.as_deref(), Some("u1"));
            assert_eq!(p.metadata.tags, ["t"]);
            assert_eq!(
                p.metadata.extra_text(),
                BTreeMap::from([
                    ("n".to_owned(), "3".to_owned()),
                    ("team".to_owned(), "red".to_owned())
                ])
            );
        }
        let both = parse(json!({"model": "x/y", "byok": {}, "requesty": {}}))
            .err()
            .unwrap();
        assert_eq!(both.param.as_deref(), Some(REQUESTY));
        let unknown = parse(json!({"model": "x/y", "requesty": {"colour": 1}}))
            .err()
            .unwrap();
        assert_eq!(unknown.param.as_deref(), Some(REQUESTY));
    }

    #[test]
    fn headers_become_extra_fields_and_the_origin() {
        let key = key_with_default(None);
        let h = headers(&[
            ("x-requesty-team", "red"),
            ("X-Requesty-Cost-Center", "42"),
            ("http-referer", "https://App.example.com/page?q=1"),
            ("authorization", "Bearer x"),
        ]);
        let p = parse_request(json!({"model": "openai/gpt-4.1"}), &h, &key).unwrap();
        assert_eq!(
            p.metadata.extra_text(),
            BTreeMap::from([
                ("cost-center".to_owned(), "42".to_owned()),
                ("team".to_owned(), "red".to_owned())
            ])
        );
        assert_eq!(p.metadata.origin_title.as_deref(), Some("app.example.com"));
        let titled = headers(&[("x-title", "My App"), ("http-referer", "https://a.example")]);
        let p = parse_request(json!({"model": "openai/gpt-4.1"}), &titled, &key).unwrap();
        assert_eq!(p.metadata.origin_title.as_deref(), Some("My App"));
    }

    #[test]
    fn metadata_is_bounded() {
        let key = key_with_default(None);
        let many: Map<String, Value> = (0..=MAX_EXTRA)
            .map(|i| (format!("f{i}"), json!("v")))
            .collect();
        let cases = [
            (
                json!({"model": "x/y", "requesty": {"extra": many}}),
                HeaderMap::new(),
            ),
            (
                json!({"model": "x/y", "requesty": {"extra": {"a": "v".repeat(MAX_EXTRA_VALUE + 1)}}}),
                HeaderMap::new(),
            ),
            (
                json!({"model": "x/y", "requesty": {"extra": {"a b": "v"}}}),
                HeaderMap::new(),
            ),
            (
                json!({"model": "x/y", "requesty": {"tags": vec!["t"; MAX_TAGS + 1]}}),
                HeaderMap::new(),
            ),
            (
                json!({"model": "x/y", "requesty": {"tags": ["t".repeat(MAX_TAG_LEN + 1)]}}),
                HeaderMap::new(),
            ),
            (
                json!({"model": "x/y"}),
                headers(&[("x-title", &"t".repeat(MAX_ORIGIN_LEN + 1))]),
            ),
            (
                json!({"model": "x/y", "requesty": {"extra": (0..MAX_EXTRA).map(|i| (format!("f{i}"), json!("v"))).collect::<Map<_, _>>()}}),
                headers(&[("x-requesty-one-more", "v")]),
            ),
        ];
        for (body, h) in cases {
            let e = parse_request(body.clone(), &h, &key)
                .err()
                .unwrap_or_else(|| panic!("{body}"));
            assert_eq!(
                e.kind,
                byok_shared::error::ErrorKind::InvalidRequest,
                "{body}"
            );
        }
        let at_bound: Map<String, Value> = (0..MAX_EXTRA)
            .map(|i| (format!("f{i}"), json!("v")))
            .collect();
        parse_request(
            json!({"model": "x/y", "requesty": {"extra": at_bound}}),
            &HeaderMap::new(),
            &key,
        )
        .unwrap();
    }

    #[test]
    fn ids_are_bounded_in_characters_not_bytes() {
        // 256 four-byte characters are 1,024 bytes and still within the bound; one more is not.
        let at_bound = "\u{1F300}".repeat(MAX_ID_LEN);
        let parsed = parse(json!({"model": "x/y", "user": at_bound})).unwrap();
        assert_eq!(parsed.metadata.user_id.as_deref(), Some(at_bound.as_str()));
        let over = "\u{1F300}".repeat(MAX_ID_LEN + 1);
        let e = parse(json!({"model": "x/y", "user": over}))
            .err()
            .expect("one character over the bound is refused");
        assert_eq!(e.kind, byok_shared::error::ErrorKind::InvalidRequest);
    }

    #[test]
    fn the_keys_default_model_answers_default_or_no_model() {
        let with = key_with_default(Some("policy/main"));
        for body in [
            json!({"messages": []}),
            json!({"model": "default"}),
            json!({"model": null}),
        ] {
            let p = parse_request(body.clone(), &HeaderMap::new(), &with).unwrap();
            assert_eq!(p.model, "policy/main", "{body}");
            assert_eq!(
                p.body.tree()["model"],
                "policy/main",
                "the forwarded body names it too"
            );
            assert_eq!(p.metadata.model_requested, "default");
        }
        let p =
            parse_request(json!({"model": "openai/gpt-4.1"}), &HeaderMap::new(), &with).unwrap();
        assert_eq!(
            (p.model.as_str(), p.metadata.model_requested.as_str()),
            ("openai/gpt-4.1", "openai/gpt-4.1")
        );
        let without = key_with_default(None);
        for body in [json!({"messages": []}), json!({"model": "default"})] {
            let e = parse_request(body, &HeaderMap::new(), &without)
                .err()
                .unwrap();
            assert_eq!(e.param.as_deref(), Some("model"));
        }
    }
}
