//! The processes under test: the release `mock-providers` and `byok serve`, spawned as children (killed when
//! dropped), bootstrapped through the `byok` CLI and the HTTP API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub type Res<T> = Result<T, String>;

/// A child process that is killed and reaped when dropped.
pub struct Proc {
    child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn exe(bin_dir: &Path, name: &str) -> Res<PathBuf> {
    let path = bin_dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first with `cargo build --release -p byok-bench -p byok-cli -p byok-mock-providers`",
            path.display()
        ))
    }
}

/// Spawn `command` and read the first line it prints (its address); the child is killed when dropped.
pub fn spawn_announcing(mut command: Command, what: &str) -> Res<(Proc, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let proc = Proc { child };
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("{what}: {e}"))?;
    Ok((proc, line))
}

/// Start `mock-providers` and return it with the OpenAI mock's base URL (no `/v1`).
pub fn start_mock(bin_dir: &Path) -> Res<(Proc, String)> {
    let command = Command::new(exe(bin_dir, "mock-providers")?);
    let (proc, line) = spawn_announcing(command, "mock-providers")?;
    let urls: Value =
        serde_json::from_str(&line).map_err(|e| format!("mock-providers printed {line:?}: {e}"))?;
    let openai = urls["openai"]
        .as_str()
        .ok_or("mock-providers printed no openai URL")?
        .to_owned();
    Ok((proc, openai))
}

pub fn free_port() -> Res<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// `byok <args>` with the data dir, stdin given; returns stdout.
pub fn cli(bin_dir: &Path, data_dir: &Path, args: &[&str], stdin: &str) -> Res<String> {
    let mut child = Command::new(exe(bin_dir, "byok")?)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("byok {args:?}: {e}"))?;
    // A command that fails before reading its input closes the pipe: its own error (below) says why.
    match child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(stdin.as_bytes())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.to_string()),
        _ => {}
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "byok {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Spawn `byok serve` on `port`; logs go to `log_file`.
pub fn spawn_serve(
    bin_dir: &Path,
    data_dir: &Path,
    port: u16,
    mock_openai: &str,
    rust_log: &str,
    env: &[(String, String)],
    log_file: &Path,
) -> Res<Proc> {
    let log = std::fs::File::create(log_file).map_err(|e| e.to_string())?;
    let child = Command::new(exe(bin_dir, "byok")?)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", rust_log)
        .env("BYOK_OPENAI_BASE_URL", mock_openai)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .map_err(|e| format!("cannot start byok serve: {e}"))?;
    Ok(Proc { child })
}

/// One plain HTTP/1.1 `GET /v1/models` without a key; `Some(status)` once something answers.
fn probe(addr: SocketAddr) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).ok()?;
    std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()
}

/// Poll until the server answers (401 without a key, or 200): the time from `spawned` to that answer.
pub fn wait_served(port: u16, spawned: Instant, limit: Duration) -> Res<Duration> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    loop {
        if let Some(status) = probe(addr) {
            if status == 401 || status == 200 {
                return Ok(spawned.elapsed());
            }
            return Err(format!(
                "byok serve answered {status} to the readiness probe"
            ));
        }
        if spawned.elapsed() > limit {
            return Err(format!(
                "byok serve did not answer on port {port} within {limit:?}"
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// VmRSS of a process, in KiB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A running gateway with an org, an own OpenAI key, a platform OpenAI key and a fallback policy.
pub struct Gateway {
    pub proc: Proc,
    pub base_url: String,
    pub api_key: String,
    pub rust_log: String,
    pub started_in: Duration,
}

pub const POLICY: &str = "bench";
pub const OWN_KEY: &str = "sk-bench-own-0000000000000000";
pub const PLATFORM_KEY: &str = "sk-bench-platform-000000000000";

pub async fn start_gateway(
    bin_dir: &Path,
    data_dir: &Path,
    mock_openai: &str,
    rust_log: &str,
    upstream_model: &str,
    env: &[(String, String)],
) -> Res<Gateway> {
    // Platform keys are an entitlement since the org has a setting for it; a baseline built before that
    // lends them to every org and knows no such flag.
    let help = cli(bin_dir, data_dir, &["org", "create", "--help"], "")?;
    let mut create = vec!["org", "create", "bench"];
    if help.contains("--platform-keys") {
        create.push("--platform-keys");
    }
    let created = cli(bin_dir, data_dir, &create, "")?;
    let created: Value = serde_json::from_str(created.trim())
        .map_err(|e| format!("org create printed {created:?}: {e}"))?;
    let api_key = created["api_key"]
        .as_str()
        .ok_or("org create printed no api_key")?
        .to_owned();
    cli(
        bin_dir,
        data_dir,
        &["platform-key", "set", "openai"],
        PLATFORM_KEY,
    )?;
    let port = free_port()?;
    let spawned = Instant::now();
    let proc = spawn_serve(
        bin_dir,
        data_dir,
        port,
        mock_openai,
        rust_log,
        env,
        &data_dir.join("serve.log"),
    )?;
    let started_in = wait_served(port, spawned, Duration::from_secs(20))?;
    let base_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{base_url}{path}"))
            .bearer_auth(&api_key)
            .json(&body)
            .send()
    };
    let r = post(
        "/v1/byok",
        json!({"provider": "openai", "api_key": OWN_KEY, "label": "bench"}),
    )
    .await
    .map_err(|e| e.to_string())?;
    if r.status().as_u16() != 201 {
        return Err(format!(
            "POST /v1/byok: {} {:?}",
            r.status(),
            r.text().await
        ));
    }
    let policy = json!({"name": POLICY, "type": "fallback", "steps": [
        {"model": format!("openai/{upstream_model}"), "key_source": "own", "retries": 0, "timeout_ms": 30000},
        {"model": format!("openai/{upstream_model}"), "key_source": "platform", "retries": 1, "timeout_ms": 30000}
    ]});
    let r = post("/v1/policies", policy)
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!(
            "POST /v1/policies: {} {:?}",
            r.status(),
            r.text().await
        ));
    }
    Ok(Gateway {
        proc,
        base_url,
        api_key,
        rust_log: rust_log.to_owned(),
        started_in,
    })
}

/// Spawn `byok serve` `runs` times on an already bootstrapped data dir; the time from spawn to the first
/// answered request of each.
pub fn start_times(
    bin_dir: &Path,
    data_dir: &Path,
    mock_openai: &str,
    runs: usize,
) -> Res<Vec<Duration>> {
    let mut out = Vec::new();
    for i in 0..runs {
        let port = free_port()?;
        let spawned = Instant::now();
        let proc = spawn_serve(
            bin_dir,
            data_dir,
            port,
            mock_openai,
            "info",
            &[],
            &data_dir.join(format!("start-{i}.log")),
        )?;
        out.push(wait_served(port, spawned, Duration::from_secs(20))?);
        drop(proc);
    }
    Ok(out)
}

/// POST a control request to the mock (`/__mock/reset`, `/__mock/default`).
pub async fn mock_control(mock: &str, what: &str, body: Value) -> Res<()> {
    let r = reqwest::Client::new()
        .post(format!("{mock}/__mock/{what}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status().is_success() {
        Ok(())
    } else {
        Err(format!("mock {what}: {}", r.status()))
    }
}
