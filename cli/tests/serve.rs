//! The real `byok` binary: `serve` on the embedded store, `org create` and `platform-key set` against the
//! same data directory while it runs, a kill -9 and a restart that keeps every committed change.

use std::io::{BufRead, BufReader};
mod common;

use std::process::{Child, Command, Stdio};

use common::BIN;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &std::path::Path) -> Server {
    serve_with(data_dir, &[])
}

fn serve_with(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env_remove("BYOK_BACKEND")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start byok serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(url) = line.strip_prefix("byok: listening on ") {
            break url.trim().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, base }
}

fn byok(args: &[&str], data_dir: &std::path::Path, stdin: Option<&str>) -> std::process::Output {
    let mut command = Command::new(BIN);
    command.args(args).arg("--data-dir").arg(data_dir);
    common::run(command, stdin)
}

async fn get_org(base: &str, key: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .get(format!("{base}/v1/manage/org"))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn serve_authenticates_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path());

    // The CLI writes to the same embedded store while the server runs.
    let out = byok(&["org", "create", "Acme"], dir.path(), None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = created["api_key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("bgk_"));

    let (status, org) = get_org(&server.base, &key).await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "Acme");
    assert_eq!(org["org_id"], created["org_id"]);
    // No setting of its own: the operator's default, off unless configured.
    assert_eq!(
        org["platform_keys"],
        serde_json::json!({"enabled": false, "monthly_limit": 0.0})
    );
    let org_id = created["org_id"].as_str().unwrap();
    let out = byok(
        &[
            "org",
            "set",
            org_id,
            "--platform-keys",
            "on",
            "--platform-limit",
            "7.5",
        ],
        dir.path(),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, org) = get_org(&server.base, &key).await;
    assert_eq!(
        org["platform_keys"],
        serde_json::json!({"enabled": true, "monthly_limit": 7.5})
    );
    let out = byok(
        &["org", "set", "org_nope", "--platform-keys", "on"],
        dir.path(),
        None,
    );
    assert!(!out.status.success(), "an unknown org is an error");

    let bad = format!("bgk_{}", "0".repeat(64));
    let (status, body) = get_org(&server.base, &bad).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "authentication_error");
    let (status, _) = get_org(&server.base, "not-a-key").await;
    assert_eq!(status, 401);

    // The platform key is read from stdin, never argv, and never printed back.
    let out = byok(
        &["platform-key", "set", "openai"],
        dir.path(),
        Some("sk-platform-secret-9876\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("\"hint\":\"9876\"") && !printed.contains("platform-secret"),
        "{printed}"
    );

    // kill -9, restart on the same directory: everything committed is still there.
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let server = serve(dir.path());
    let (status, org) = get_org(&server.base, &key).await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["name"], "Acme");
    let raw = std::fs::read(dir.path().join("gateway.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("platform-secret"),
        "plaintext key in the store file"
    );
}

#[test]
fn platform_key_rejects_unknown_provider_and_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = byok(&["platform-key", "set", "mistral"], dir.path(), Some("k"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("provider must be one of"));
    let out = byok(
        &["platform-key", "set", "openai"],
        dir.path(),
        Some("   \n"),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("api_key"));
}

#[test]
fn a_command_refused_before_it_reads_its_input_fails_by_its_own_error() {
    let dir = tempfile::tempdir().unwrap();
    // More than a pipe holds, so the write is still under way when byok exits without reading it (the
    // race that made the test above fail now and then with a broken pipe).
    let input = "k".repeat(1 << 20);
    let out = byok(
        &["platform-key", "set", "mistral"],
        dir.path(),
        Some(&input),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("provider must be one of"));
}

#[test]
fn serve_refuses_a_thread_count_out_of_range_before_it_listens() {
    let dir = tempfile::tempdir().unwrap();
    for threads in ["0", "257", "many"] {
        let out = Command::new(BIN)
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--threads",
                threads,
                "--data-dir",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{threads}: {stderr}");
        assert!(stderr.contains("from 1 to 256"), "{threads}: {stderr}");
        assert!(!stderr.contains("listening"), "{threads}: {stderr}");
    }
}

/// A second `serve` on a port the first holds with several threads fails to start, as it did when `serve`
/// had one socket: sockets that share a port would otherwise split the connections between the two.
#[test]
fn a_second_serve_on_the_same_port_fails_to_start() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = serve_with(one.path(), &[("BYOK_SERVE_THREADS", "2")]);
    let addr = first.base.trim_start_matches("http://");
    let mut second = Command::new(BIN)
        .args(["serve", "--threads", "2", "--addr", addr, "--data-dir"])
        .arg(two.path())
        .env_remove("BYOK_BACKEND")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a second server that did start would serve until killed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second serve started on {addr}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

#[test]
fn aws_backend_without_table_fails_naming_the_variable() {
    let out = Command::new(BIN)
        .args(["org", "create", "Acme", "--backend", "aws"])
        .env_remove("BYOK_TABLE")
        .env_remove("BYOK_KMS_KEY_ID")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BYOK_TABLE"));
}

async fn chat(http: &reqwest::Client, base: &str, key: &str) -> f64 {
    let response = http
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&serde_json::json!({"model": "openai/gpt-4.1-mini",
            "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["usage"]["cost"].as_f64().expect("a priced answer")
}

/// Requests and cost of the last day from `GET /v1/manage/org/usage` (Requesty's `{"usage": {period: entry}}`).
async fn org_usage(http: &reqwest::Client, base: &str, key: &str) -> (i64, f64) {
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (start, end) = (
        at(now - chrono::Duration::days(1)),
        at(now + chrono::Duration::hours(1)),
    );
    let body: serde_json::Value = http
        .get(format!(
            "{base}/v1/manage/org/usage?start={start}&end={end}"
        ))
        .bearer_auth(key)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .unwrap();
    let periods = body["usage"].as_object().expect("usage periods");
    periods.values().fold((0, 0.0), |(n, c), e| {
        (
            n + e["requests"].as_i64().unwrap(),
            c + e["spend"].as_f64().unwrap(),
        )
    })
}

/// A new org with platform keys on, by `byok org create`; its first API key.
fn platform_org(data_dir: &std::path::Path, name: &str) -> String {
    let out = byok(&["org", "create", name, "--platform-keys"], data_dir, None);
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    created["api_key"].as_str().unwrap().to_owned()
}

/// The operator's OpenAI key, by `byok platform-key set` from stdin.
fn set_platform_openai_key(data_dir: &std::path::Path) {
    let out = byok(
        &["platform-key", "set", "openai"],
        data_dir,
        Some("sk-platform-1234\n"),
    );
    assert!(out.status.success());
}

/// `serve`'s environment for four serving threads calling the mock OpenAI at `mock_url`: requests then come
/// in on several runtimes, whatever the host's core count.
fn four_threads_on(mock_url: &str) -> [(&'static str, &str); 2] {
    [
        ("BYOK_OPENAI_BASE_URL", mock_url),
        ("BYOK_SERVE_THREADS", "4"),
    ]
}

/// `serve` writes usage behind the response: a usage read right after the answers still counts every one of
/// them, and SIGTERM lets the writes in flight finish before the process exits, with the writes pushed from
/// four serving threads' runtimes.
#[tokio::test]
async fn serve_bills_behind_the_response_without_losing_or_hiding_usage() {
    let mock = byok_mock_providers::MockProvider::start(byok_mock_providers::Kind::OpenAi).await;
    let dir = tempfile::tempdir().unwrap();
    let mock_url = mock.base_url();
    let env = four_threads_on(&mock_url);
    let server = serve_with(dir.path(), &env);
    let key = platform_org(dir.path(), "Acme");
    set_platform_openai_key(dir.path());

    let http = reqwest::Client::new();
    let answers = futures::future::join_all((0..40).map(|_| chat(&http, &server.base, &key))).await;
    let billed: f64 = answers.iter().sum();
    let (requests, cost) = org_usage(&http, &server.base, &key).await;
    assert_eq!(
        requests, 40,
        "a usage read right after the answers sees all of them"
    );
    assert!(
        (cost - billed).abs() < 1e-6,
        "usage cost {cost} vs answered {billed}"
    );

    // Answers, then SIGTERM at once: the writes still in flight land before the process exits.
    let more = futures::future::join_all((0..20).map(|_| chat(&http, &server.base, &key))).await;
    let mut server = server;
    let pid = server.child.id().to_string();
    let term = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(term.success());
    assert!(
        server.child.wait().unwrap().success(),
        "a clean exit on SIGTERM"
    );
    let server = serve_with(dir.path(), &env);
    let (requests, cost) = org_usage(&http, &server.base, &key).await;
    assert_eq!(requests, 60, "nothing billed before SIGTERM was lost");
    assert!((cost - billed - more.iter().sum::<f64>()).abs() < 1e-6);
}

/// A status for one chat request, on a connection of its own (so the kernel spreads them across the
/// serving threads).
async fn chat_status(base: &str, key: &str) -> u16 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    http.post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&serde_json::json!({"model": "openai/gpt-4.1-mini",
            "messages": [{"role": "user", "content": "hello"}]}))
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// The names of `pid`'s serving threads, once they are all up (they start right after the listening
/// sockets, which already queue connections).
#[cfg(target_os = "linux")]
async fn serving_threads(pid: u32) -> Vec<String> {
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| name.starts_with("serve-"))
            .collect();
        names.sort();
        names
    };
    for _ in 0..100 {
        if names().len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    names()
}

/// An API key of `org_key`'s org with a limit of `rpm` requests per minute.
async fn limited_key(base: &str, org_key: &str, rpm: u32) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/manage/apikey"))
        .bearer_auth(org_key)
        .json(&serde_json::json!({"name": "limited", "rpm": rpm}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    body["api_key"].as_str().unwrap().to_owned()
}

/// `serve` runs a runtime per serving thread, each with its own listening socket; the limits, caches and
/// counters stay one per process, each org's its own: two orgs' keys, limited to 7 and 13 requests a
/// minute, each get exactly their limit out of 24 concurrent requests on 48 connections spread across 4
/// threads, and the usage read right after counts each org's own.
#[tokio::test]
async fn serving_threads_share_each_orgs_limits_and_keep_the_orgs_apart() {
    let mock = byok_mock_providers::MockProvider::start(byok_mock_providers::Kind::OpenAi).await;
    let dir = tempfile::tempdir().unwrap();
    let mock_url = mock.base_url();
    let env = four_threads_on(&mock_url);
    let server = serve_with(dir.path(), &env);
    #[cfg(target_os = "linux")]
    assert_eq!(
        serving_threads(server.child.id()).await,
        ["serve-0", "serve-1", "serve-2", "serve-3"]
    );
    set_platform_openai_key(dir.path());
    let org_keys = ["Alpha", "Beta"].map(|name| platform_org(dir.path(), name));
    let alpha = limited_key(&server.base, &org_keys[0], 7).await;
    let beta = limited_key(&server.base, &org_keys[1], 13).await;

    let requests = (0..48).map(|i| {
        let key = if i % 2 == 0 { &alpha } else { &beta };
        chat_status(&server.base, key)
    });
    let statuses = futures::future::join_all(requests).await;
    let served = |parity: usize| {
        let mine = statuses.iter().skip(parity).step_by(2);
        let ok = mine.clone().filter(|&&s| s == 200).count();
        let limited = mine.filter(|&&s| s == 429).count();
        (ok, limited)
    };
    assert_eq!(served(0), (7, 17), "Alpha: {statuses:?}");
    assert_eq!(served(1), (13, 11), "Beta: {statuses:?}");

    let http = reqwest::Client::new();
    let (alpha_requests, _) = org_usage(&http, &server.base, &org_keys[0]).await;
    let (beta_requests, _) = org_usage(&http, &server.base, &org_keys[1]).await;
    assert_eq!((alpha_requests, beta_requests), (7, 13));
}
