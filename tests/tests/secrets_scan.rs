//! No key material leaks. A representative flow through every function (keys, policies, manage, router,
//! console; all four providers; own and platform keys; create, list, rotate, verify, a rejected key, bad
//! requests that carry a key, chat, messages, streams, embeddings, models, usage) runs with distinctive keys
//! shaped like real ones (`sk-proj-`, `sk-ant-`, `AIza`, `xai-`). Then every response (body and headers),
//! every captured log line (JSON, debug level) and the raw store (SQLite file bytes including the WAL, or a
//! scan of the DynamoDB table) is scanned for those keys, for anything shaped like a provider key, and for
//! the gateway keys' secrets (in logs and the store; a creation response shows one once, by design).
//!
//! The scan is shown to be able to fail: it must find a planted key in a control string, and what it scans
//! must be non-trivial (the logs hold the flow's requests, the store holds the ciphertexts).

use axum::http::{Method, StatusCode};
use byok_mock_providers::{Behaviour, Kind, MockProvider};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::platform_keys;
use byok_shared::secret::Secret;
use byok_testkit::http::{Response, call};
use byok_testkit::{Backend, TestBackend, fixtures, logs, on_both_backends, secrets};
use serde_json::{Value, json};

/// Org keys per provider, then what each is rotated to, then the platform keys.
fn own(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi => "sk-proj-ScanOwnOpenAI7Qx2v9Lm4Kp0Zr8Tn3",
        Provider::Anthropic => "sk-ant-api03-ScanOwnAnthropic5Hd8Jw2Qe7Vb1",
        Provider::Google => "AIzaSyScanOwnGoogle3Fk9Pm2Lx6Rt0Wq4Yz8Bc",
        Provider::Xai => "xai-ScanOwnXai8Np3Gv6Kd1Ms9Tb4Hw7Jq2Lz5",
    }
}

fn rotated(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi => "sk-proj-ScanRotatedOpenAI4Wn8Tq1Zx5Kv9Hm",
        Provider::Anthropic => "sk-ant-api03-ScanRotatedAnthropic2Lp7Rc3Vy",
        Provider::Google => "AIzaSyScanRotatedGoogle6Dj1Qs8Nf4Bw2Xg9",
        // Contains "invalid": the mock rejects it as the provider rejects a bad key.
        Provider::Xai => "xai-ScanRotatedInvalid-invalid3Kd7Wm1Pq",
    }
}

fn platform(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi => "sk-proj-ScanPlatformOpenAI9Ge2Ub6Yh3Rk7Ta",
        Provider::Anthropic => "sk-ant-api03-ScanPlatformAnthropic1Mv5Cx8Sn",
        Provider::Google => "AIzaSyScanPlatformGoogle7Lq3Hd9Jk2Vp5Zs1",
        Provider::Xai => "xai-ScanPlatformXai4Fw8Rb2Nt6Ym1Qc9Ke3",
    }
}

fn all_keys() -> Vec<&'static str> {
    Provider::ALL
        .iter()
        .flat_map(|p| [own(*p), rotated(*p), platform(*p)])
        .collect()
}

fn model(p: Provider) -> &'static str {
    match p {
        Provider::OpenAi => "openai/gpt-4.1-mini",
        Provider::Anthropic => "anthropic/claude-sonnet-4-5",
        Provider::Google => "google/gemini-2.5-flash",
        Provider::Xai => "xai/grok-4",
    }
}

struct Flow {
    app: axum::Router,
    admin: String,
    seen: Vec<String>,
}

impl Flow {
    async fn send(&mut self, method: Method, path: &str, body: Option<Value>) -> Response {
        self.send_as(&self.admin.clone(), method, path, body).await
    }

    async fn send_as(
        &mut self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let r = call(&self.app, method.clone(), path, Some(key), body).await;
        let headers: Vec<String> = r
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())))
            .collect();
        self.seen.push(format!(
            "{method} {path} -> {}\n{}\n{}",
            r.status,
            headers.join("\n"),
            r.text
        ));
        r
    }

    async fn expect(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        status: StatusCode,
    ) -> Response {
        let r = self.send(method.clone(), path, body).await;
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        r
    }
}

async fn no_key_material_anywhere(kind: Backend) {
    logs::capture();
    let backend = TestBackend::new(kind).await;
    let mocks = [
        MockProvider::start(Kind::OpenAi).await,
        MockProvider::start(Kind::Anthropic).await,
        MockProvider::start(Kind::Google).await,
        MockProvider::start(Kind::Xai).await,
    ];
    let state = backend.state(|c| {
        c.providers.openai = mocks[0].base_url();
        c.providers.anthropic = mocks[1].base_url();
        c.providers.google = mocks[2].base_url();
        c.providers.xai = mocks[3].base_url();
    });
    let store = backend.store.as_ref();
    let org = fixtures::org(store, "Scan").await;
    for p in Provider::ALL {
        platform_keys::set(store, backend.cipher.as_ref(), p, &Secret::new(platform(p)))
            .await
            .expect("platform key");
    }
    let mut gateway_secrets = vec![org.admin.clone()];
    let mut f = Flow {
        app: byok_cli::server::app(state),
        admin: org.admin.clone(),
        seen: Vec::new(),
    };
    use Method as M;
    use StatusCode as S;

    // Keys function: create (one verified first), list, read, duplicate, bad input carrying a key, rotate,
    // audit.
    for p in Provider::ALL {
        let path = if p == Provider::OpenAi {
            "/v1/byok?verify=true"
        } else {
            "/v1/byok"
        };
        let body = json!({"provider": p.as_str(), "api_key": own(p), "label": format!("scan {p}")});
        f.expect(M::POST, path, Some(body), S::CREATED).await;
    }
    f.expect(
        M::POST,
        "/v1/byok",
        Some(json!({"provider": "openai", "api_key": own(Provider::OpenAi)})),
        S::CONFLICT,
    )
    .await;
    let bad = f
        .send(
            M::POST,
            "/v1/byok",
            Some(json!({"provider": "mistral", "api_key": own(Provider::OpenAi)})),
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.text);
    let bad = f
        .send(M::POST, "/v1/byok", Some(json!({"provider": "openai", "api_key": own(Provider::OpenAi), "extra": own(Provider::Xai)})))
        .await;
    assert!(
        bad.status.is_client_error() || bad.status == S::CONFLICT,
        "{}",
        bad.text
    );
    f.expect(M::GET, "/v1/byok", None, S::OK).await;
    for p in Provider::ALL {
        f.expect(M::GET, &format!("/v1/byok/{p}"), None, S::OK)
            .await;
        let body = json!({"api_key": rotated(p), "label": "rotated"});
        f.expect(M::PUT, &format!("/v1/byok/{p}"), Some(body), S::OK)
            .await;
    }
    f.expect(M::GET, "/v1/byok/audit", None, S::OK).await;

    // Verify (router function): three good keys and a rejected one; and a provider whose rejection
    // echoes the key it was given (real providers echo a masked form; this one echoes it whole), whose
    // message the gateway records as the key's last error and relays.
    mocks[0].script(Behaviour {
        status: Some(401),
        error_message: Some(format!(
            "Incorrect API key provided: {}",
            rotated(Provider::OpenAi)
        )),
        ..Behaviour::default()
    });
    for p in Provider::ALL {
        let r = f.send(M::POST, &format!("/v1/byok/{p}/verify"), None).await;
        if p == Provider::OpenAi {
            assert_eq!(
                r.body["valid"], false,
                "the echoing rejection reached verify: {}",
                r.text
            );
        }
        assert!(
            r.status.is_success() || r.status.is_client_error(),
            "verify {p}: {}",
            r.text
        );
    }

    // Policies function.
    let policy = json!({"name": "scan", "type": "fallback", "steps": [
        {"model": "xai/grok-4", "key_source": "own_then_platform", "retries": 0},
        {"model": "google/gemini-2.5-flash", "key_source": "own"}]});
    f.expect(M::POST, "/v1/policies", Some(policy), S::CREATED)
        .await;
    f.expect(M::GET, "/v1/policies", None, S::OK).await;
    f.expect(M::POST, "/v1/policies/scan/explain", Some(json!({})), S::OK)
        .await;

    // Manage function: an app key, its usage, the org.
    let created = f
        .expect(
            M::POST,
            "/v1/manage/apikey",
            Some(json!({"name": "app", "monthly_limit": 10, "permissions": {"manage": "read", "completions": "write"}})),
            S::CREATED,
        )
        .await;
    let app_key = created.body["api_key"]
        .as_str()
        .expect("api_key")
        .to_owned();
    let app_id = created.body["api_key_id"]
        .as_str()
        .expect("api_key_id")
        .to_owned();
    gateway_secrets.push(app_key.clone());
    // The one response that shows a gateway secret, by design; scanned for provider keys like the rest.
    f.seen.push(created.text.replace(&app_key, "<shown once>"));
    f.seen.retain(|s| !s.contains(&app_key));

    // Router function: every provider, both formats, streams, embeddings, models, a policy whose first
    // step's own key is rejected by the provider (falls over to the platform key), a key-shaped string in
    // a prompt is not logged either.
    for p in Provider::ALL {
        for stream in [false, true] {
            let body = json!({"model": model(p), "stream": stream,
                "messages": [{"role": "user", "content": "hello"}]});
            f.send_as(&app_key, M::POST, "/v1/chat/completions", Some(body))
                .await;
            let body = json!({"model": model(p), "stream": stream, "max_tokens": 16,
                "messages": [{"role": "user", "content": "hello"}]});
            f.send_as(&app_key, M::POST, "/v1/messages", Some(body))
                .await;
        }
    }
    let body = json!({"model": "policy/scan", "messages": [{"role": "user", "content": "hi"}]});
    let r = f
        .send_as(&app_key, M::POST, "/v1/chat/completions", Some(body))
        .await;
    assert_eq!(r.status, S::OK, "{}", r.text);
    for m in ["openai/text-embedding-3-small", "google/text-embedding-004"] {
        let body = json!({"model": m, "input": ["a", "b"]});
        f.send_as(&app_key, M::POST, "/v1/embeddings", Some(body))
            .await;
    }
    f.send_as(&app_key, M::GET, "/v1/models", None).await;
    let start = (chrono::Utc::now() - chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    f.expect(
        M::GET,
        &format!("/v1/manage/apikey/{app_id}/usage?start={start}&group_by=model_used,provider_used,is_byok,model_requested"),
        None,
        S::OK,
    )
    .await;
    f.expect(
        M::GET,
        &format!("/v1/manage/org/usage?start={start}&group_by=api_key_id,user_id,origin_title"),
        None,
        S::OK,
    )
    .await;
    f.expect(M::GET, "/v1/manage/org", None, S::OK).await;
    f.expect(M::GET, "/v1/manage/apikey", None, S::OK).await;
    f.expect(M::GET, "/v1/byok", None, S::OK).await;
    f.send(M::GET, "/console/", None).await;
    // Deleting a provider key leaves an audit entry but no key.
    f.expect(M::DELETE, "/v1/byok/anthropic", None, S::NO_CONTENT)
        .await;

    // The scan.
    let keys = all_keys();
    let control = format!("log line with {} inside", own(Provider::Google));
    assert!(
        !secrets::scan(&control, &keys).is_empty(),
        "the scan must find a planted key"
    );
    let responses = f.seen.join("\n\n");
    let logged = logs::captured();
    let raw = backend.raw_dump().await;
    assert!(
        logged.contains("inference request") && logged.contains("policy/"),
        "the logs captured the flow"
    );
    assert!(
        raw.contains("BYOK#openai") && raw.contains("USAGE#"),
        "the dump holds the store"
    );
    let mut findings = Vec::new();
    for (what, text) in [
        ("responses", &responses),
        ("logs", &logged),
        ("store", &raw),
    ] {
        for finding in secrets::scan(text, &keys) {
            findings.push(format!("{what}: {finding}"));
        }
    }
    for (what, text) in [("logs", &logged), ("store", &raw)] {
        for secret in &gateway_secrets {
            if text.contains(secret.as_str()) {
                findings.push(format!("{what}: a gateway key's secret"));
            }
        }
    }
    assert!(
        findings.is_empty(),
        "key material found:\n{}",
        findings.join("\n")
    );
}

on_both_backends!(no_key_material_anywhere);
