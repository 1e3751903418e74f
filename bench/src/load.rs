//! The load: one client process driving every target (direct to the mock, through each gateway, any extra
//! `--target`), interleaved, with bounded counts and times. Only a base URL, a key and a model are used, so
//! any OpenAI-compatible endpoint can be a target.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::cpu::Snapshot;

/// An OpenAI-compatible endpoint to measure.
#[derive(Clone)]
pub struct Target {
    pub name: String,
    /// The SDK-style base URL, ending in `/v1`.
    pub base_url: String,
    pub key: String,
    pub model: String,
    pub http: reqwest::Client,
    /// The processes serving this target (empty when not ours to measure): their CPU time per request.
    pub pids: Vec<u32>,
    /// Carry an agent's conversation of about this many KiB in every request (0: a one-line hello).
    pub body_kib: usize,
}

impl Target {
    pub fn new(name: &str, base_url: &str, key: &str, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            model: model.to_owned(),
            http: client(),
            pids: Vec::new(),
            body_kib: 0,
        }
    }

    /// The same target behind a client of its own, with no connection open yet.
    fn reconnected(&self) -> Self {
        Self {
            http: client(),
            ..self.clone()
        }
    }

    pub fn with_pids(mut self, pids: Vec<u32>) -> Self {
        self.pids = pids;
        self
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }

    pub fn body(&self, stream: bool) -> Bytes {
        let mut body = json!({
            "model": self.model,
            "max_tokens": 64,
            "messages": [
                {"role": "system", "content": "You are a helpful assistant."},
                {"role": "user", "content": "Say hello in one short sentence."}
            ]
        });
        if self.body_kib > 0 {
            agent_conversation(&mut body, self.body_kib * 1024);
        }
        if stream {
            body["stream"] = true.into();
            body["stream_options"] = json!({"include_usage": true});
        }
        Bytes::from(body.to_string())
    }

    async fn send(&self, body: &Bytes) -> Result<reqwest::Response, String> {
        let r = self
            .http
            .post(self.url())
            .bearer_auth(&self.key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .map_err(|e| format!("{}: {e}", self.name))?;
        if r.status().as_u16() != 200 {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            return Err(format!(
                "{}: HTTP {status}: {}",
                self.name,
                text.chars().take(300).collect::<String>()
            ));
        }
        Ok(r)
    }

    /// One non-streaming request, the whole answer read: milliseconds and the answer's size.
    pub async fn once(&self, body: &Bytes) -> Result<(f64, usize), String> {
        let started = Instant::now();
        let r = self.send(body).await?;
        let bytes = r.bytes().await.map_err(|e| format!("{}: {e}", self.name))?;
        Ok((started.elapsed().as_secs_f64() * 1e3, bytes.len()))
    }
}

/// Samples and error count of one target in one measurement.
#[derive(Default, Clone)]
pub struct Samples {
    pub ms: Vec<f64>,
    pub errors: usize,
    pub last_error: Option<String>,
    pub answer_bytes: usize,
    /// Wall seconds the samples took (bursts only) and the target's CPU seconds meanwhile (when measured).
    pub wall_secs: f64,
    pub cpu_secs: Option<f64>,
}

impl Samples {
    fn push(&mut self, r: Result<(f64, usize), String>) {
        match r {
            Ok((ms, size)) => {
                self.ms.push(ms);
                self.answer_bytes = size;
            }
            Err(e) => {
                self.errors += 1;
                self.last_error = Some(e);
            }
        }
    }

    fn merge(&mut self, other: Samples) {
        self.ms.extend(other.ms);
        self.errors += other.errors;
        if other.last_error.is_some() {
            self.last_error = other.last_error;
        }
        if other.answer_bytes > 0 {
            self.answer_bytes = other.answer_bytes;
        }
        self.wall_secs += other.wall_secs;
        self.cpu_secs = match (self.cpu_secs, other.cpu_secs) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// Answered requests per wall second.
    pub fn rps(&self) -> f64 {
        self.ms.len() as f64 / self.wall_secs.max(1e-9)
    }

    /// CPU microseconds per request (answered or not), when the target's processes were measured.
    pub fn cpu_us_per_request(&self) -> Option<f64> {
        let n = self.ms.len() + self.errors;
        self.cpu_secs.filter(|_| n > 0).map(|c| c * 1e6 / n as f64)
    }
}

/// Concurrency 1: request `i` goes to every target in turn, the order rotating, `n` rounds.
pub async fn sequential(targets: &[Target], n: usize, limit: Duration) -> Vec<Samples> {
    let bodies: Vec<Bytes> = targets.iter().map(|t| t.body(false)).collect();
    let mut out = vec![Samples::default(); targets.len()];
    let started = Instant::now();
    for i in 0..n {
        if started.elapsed() > limit {
            break;
        }
        for j in 0..targets.len() {
            let t = (i + j) % targets.len();
            out[t].push(targets[t].once(&bodies[t]).await);
        }
    }
    out
}

/// The bench's HTTP client: pooled keep-alive connections, TCP_NODELAY.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .expect("a reqwest client")
}

/// `total` requests to `target` from `concurrency` workers at once.
async fn requests(target: &Target, body: &Bytes, concurrency: usize, total: usize) -> Samples {
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (target, body, next) = (target.clone(), body.clone(), next.clone());
            tokio::spawn(async move {
                let mut s = Samples::default();
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    s.push(target.once(&body).await);
                }
                s
            })
        })
        .collect();
    let mut all = Samples::default();
    for w in workers {
        if let Ok(s) = w.await {
            all.merge(s);
        }
    }
    all
}

/// `total` requests at `concurrency`, on connections of their own. A server with several worker processes
/// (nginx) serves each connection from the worker that accepted it, and how a burst's connections fall
/// across the workers changes its CPU per request (by about a fifth for nginx on two cores); fresh
/// connections each round average that over the rounds instead of fixing it for a whole run.
async fn burst(target: &Target, concurrency: usize, total: usize) -> Samples {
    let target = &target.reconnected();
    let body = target.body(false);
    // Open the connections (one request on each) before the clock starts.
    requests(target, &body, concurrency, concurrency).await;
    // Read before the clock starts: the scan of /proc is not the target's time.
    let cpu_before = Snapshot::take(&target.pids);
    let started = Instant::now();
    let mut all = requests(target, &body, concurrency, total).await;
    all.wall_secs = started.elapsed().as_secs_f64();
    all.cpu_secs = cpu_before
        .zip(Snapshot::take(&target.pids))
        .map(|(before, after)| after.seconds_since(&before));
    all
}

/// Concurrency > 1: alternating rounds, each target alone in its round (so each is measured under its own
/// load only), the order rotating between rounds.
pub async fn concurrent(
    targets: &[Target],
    concurrency: usize,
    rounds: usize,
    per_round: usize,
    limit: Duration,
) -> Vec<Samples> {
    let mut out = vec![Samples::default(); targets.len()];
    let started = Instant::now();
    for r in 0..rounds {
        if started.elapsed() > limit {
            break;
        }
        for j in 0..targets.len() {
            let t = (r + j) % targets.len();
            out[t].merge(burst(&targets[t], concurrency, per_round).await);
        }
    }
    out
}

/// Requests per second of one target, closed loop at `concurrency`, for about `secs`.
async fn rate(target: &Target, concurrency: usize, secs: f64) -> (usize, f64, usize) {
    let body = target.body(false);
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(secs);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (target, body) = (target.clone(), body.clone());
            tokio::spawn(async move {
                let (mut ok, mut errors) = (0usize, 0usize);
                while Instant::now() < until {
                    match target.once(&body).await {
                        Ok(_) => ok += 1,
                        Err(_) => errors += 1,
                    }
                }
                (ok, errors)
            })
        })
        .collect();
    let (mut ok, mut errors) = (0, 0);
    for w in workers {
        if let Ok((o, e)) = w.await {
            ok += o;
            errors += e;
        }
    }
    (ok, started.elapsed().as_secs_f64(), errors)
}

/// Throughput per target: completed requests and seconds summed over alternating rounds.
pub struct Rate {
    pub ok: usize,
    pub secs: f64,
    pub errors: usize,
}

pub async fn throughput(
    targets: &[Target],
    concurrency: usize,
    rounds: usize,
    secs: f64,
) -> Vec<Rate> {
    let mut out: Vec<Rate> = targets
        .iter()
        .map(|_| Rate {
            ok: 0,
            secs: 0.0,
            errors: 0,
        })
        .collect();
    for r in 0..rounds {
        for j in 0..targets.len() {
            let t = (r + j) % targets.len();
            let (ok, s, e) = rate(&targets[t], concurrency, secs).await;
            out[t].ok += ok;
            out[t].secs += s;
            out[t].errors += e;
        }
    }
    out
}

/// One stream's timings: time to the first content chunk, and the gaps between content chunks.
#[derive(Default, Clone)]
pub struct StreamSamples {
    pub ttft_ms: Vec<f64>,
    pub gap_ms: Vec<f64>,
    pub chunks: Vec<usize>,
    pub errors: usize,
    pub last_error: Option<String>,
}

/// Does an SSE event carry content (a non-empty `choices[0].delta.content`)?
fn is_content(event: &[u8]) -> bool {
    let text = String::from_utf8_lossy(event);
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .any(|v| {
            v.pointer("/choices/0/delta/content")
                .and_then(Value::as_str)
                .is_some_and(|c| !c.is_empty())
        })
}

/// Read an SSE answer, timestamping every content event at the arrival of the bytes that complete it.
async fn stream_once(target: &Target, body: &Bytes) -> Result<(f64, Vec<f64>), String> {
    let started = Instant::now();
    let mut r = target.send(body).await?;
    let mut buf: Vec<u8> = Vec::new();
    let mut content_at: Vec<Instant> = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| format!("{}: {e}", target.name))?
    {
        let now = Instant::now();
        buf.extend_from_slice(&chunk);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            if is_content(&event) {
                content_at.push(now);
            }
        }
    }
    let first = content_at
        .first()
        .ok_or_else(|| format!("{}: the stream carried no content", target.name))?;
    let ttft = first.duration_since(started).as_secs_f64() * 1e3;
    let gaps = content_at
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_secs_f64() * 1e3)
        .collect();
    Ok((ttft, gaps))
}

/// `n` streams per target at concurrency 1, interleaved.
pub async fn streams(targets: &[Target], n: usize, limit: Duration) -> Vec<StreamSamples> {
    let bodies: Vec<Bytes> = targets.iter().map(|t| t.body(true)).collect();
    let mut out = vec![StreamSamples::default(); targets.len()];
    let started = Instant::now();
    for i in 0..n {
        if started.elapsed() > limit {
            break;
        }
        for j in 0..targets.len() {
            let t = (i + j) % targets.len();
            match stream_once(&targets[t], &bodies[t]).await {
                Ok((ttft, gaps)) => {
                    out[t].ttft_ms.push(ttft);
                    out[t].chunks.push(gaps.len() + 1);
                    out[t].gap_ms.extend(gaps);
                }
                Err(e) => {
                    out[t].errors += 1;
                    out[t].last_error = Some(e);
                }
            }
        }
    }
    out
}

/// Open `n` streams at once and hold each after its first content chunk; `measure` runs once all are open
/// (or `limit` passes), then every stream is dropped. Returns how many were open when measured.
pub async fn hold_streams<F: FnOnce() -> T, T>(
    target: &Target,
    n: usize,
    limit: Duration,
    measure: F,
) -> (usize, T) {
    let body = target.body(true);
    let open = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(tokio::sync::Notify::new());
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (target, body, open, release) =
                (target.clone(), body.clone(), open.clone(), release.clone());
            tokio::spawn(async move {
                let released = release.notified();
                let Ok(mut r) = target.send(&body).await else {
                    return;
                };
                let mut buf = Vec::new();
                while let Ok(Some(chunk)) = r.chunk().await {
                    buf.extend_from_slice(&chunk);
                    if is_content(&buf) {
                        break;
                    }
                }
                open.fetch_add(1, Ordering::SeqCst);
                released.await;
                drop(r);
            })
        })
        .collect();
    let started = Instant::now();
    while open.load(Ordering::SeqCst) < n && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the allocator and the server's tasks settle before reading memory.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let count = open.load(Ordering::SeqCst);
    let value = measure();
    release.notify_waiters();
    for t in tasks {
        t.abort();
    }
    (count, value)
}

/// What an agent sends (Claude Code, Codex): a long system prompt, tool definitions with JSON schemas, and
/// turns of tool calls whose results are source files, until the body is about `bytes` long. The calls
/// and results pair up by id, as OpenAI requires.
fn agent_conversation(body: &mut Value, bytes: usize) {
    const FILE: &str = "fn main() {\n    let args: Vec<String> = std::env::args().collect();\n    println!(\"{:?} \\u{e9}\", args);\n}\n";
    let tool = |name: &str| {
        json!({"type": "function", "function": {"name": name, "description": format!("{name}: run it on a path of the workspace and return what it prints"),
            "parameters": {"type": "object", "properties": {"path": {"type": "string", "description": "a path"}, "limit": {"type": "integer", "minimum": 1}}, "required": ["path"], "additionalProperties": false}}})
    };
    body["tools"] = [
        "read_file",
        "write_file",
        "list_dir",
        "grep",
        "run_tests",
        "edit",
    ]
    .iter()
    .map(|n| tool(n))
    .collect();
    let system = format!(
        "You are a coding agent working in a repository. {}",
        "Follow the repository's conventions; keep changes small and tested. ".repeat(40)
    );
    let mut messages = vec![
        json!({"role": "system", "content": system}),
        json!({"role": "user", "content": "Fix the failing test in src/main.rs."}),
    ];
    let mut turn = 0;
    while serde_json::to_string(&messages).map_or(0, |t| t.len()) < bytes {
        let id = format!("call_{turn:06}");
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{"id": id, "type": "function",
            "function": {"name": "read_file", "arguments": format!("{{\"path\":\"src/m{turn}.rs\"}}")}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": FILE.repeat(12)}));
        turn += 1;
    }
    messages.push(json!({"role": "user", "content": "Say hello in one short sentence."}));
    body["messages"] = messages.into();
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use axum::Router;
    use axum::extract::{ConnectInfo, State};
    use axum::routing::post;

    use super::*;

    /// A chat endpoint that records the caller's port of every request it answers.
    async fn recording_server() -> (String, Arc<Mutex<Vec<u16>>>) {
        let ports = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route(
                "/v1/chat/completions",
                post(
                    |State(ports): State<Arc<Mutex<Vec<u16>>>>,
                     ConnectInfo(caller): ConnectInfo<SocketAddr>| async move {
                        ports.lock().unwrap().push(caller.port());
                        "{}"
                    },
                ),
            )
            .with_state(ports.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        (url, ports)
    }

    #[tokio::test]
    async fn each_burst_runs_on_connections_of_its_own() {
        let (url, ports) = recording_server().await;
        let target = Target::new("t", &url, "k", "m");
        let mut seen = Vec::new();
        for _ in 0..2 {
            let samples = burst(&target, 4, 40).await;
            assert_eq!((samples.ms.len(), samples.errors), (40, 0));
            let used: HashSet<u16> = ports.lock().unwrap().drain(..).collect();
            assert!(!used.is_empty());
            seen.push(used);
        }
        assert!(
            seen[0].is_disjoint(&seen[1]),
            "the second burst reused the first one's connections: {seen:?}"
        );
    }
}
