//! `byok-bench`: measures what the gateway adds on top of a provider. It starts the release `mock-providers`
//! and `byok serve` (one instance per `--log-levels` entry, each with an org, an own OpenAI key, a platform
//! key and a fallback policy), then drives direct-to-mock and through-the-gateway requests, interleaved,
//! from one client in one run, plus any `--target name=URL,key=K,model=M`. It prints a table and writes
//! JSON. Every loop is bounded in count and time; only 127.0.0.1 (and the URLs of `--target`) are called.

mod cpu;
mod floor;
mod load;
mod nginx;
mod page_reporting;
mod procs;
mod report;
mod stats;
mod versus;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use load::Target;
use procs::Res;

#[derive(Debug, Parser)]
#[command(
    name = "byok-bench",
    about = "Gateway overhead benchmark against the mock providers"
)]
pub struct Args {
    /// Where `byok` and `mock-providers` are (default: this binary's directory, i.e. target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Write the results as JSON here.
    #[arg(long, default_value = "target/bench/byok-bench.json")]
    json: PathBuf,
    /// Extra OpenAI-compatible target, `name=NAME,url=BASE_URL,key=KEY,model=MODEL` (base URL as the
    /// OpenAI SDK takes it, ending in /v1). Repeatable.
    #[arg(long = "target", value_parser = parse_target)]
    targets: Vec<ExtraTarget>,
    /// One gateway per RUST_LOG level, all measured in the same run; the first one is also measured for
    /// memory and start time.
    #[arg(long, value_delimiter = ',', default_value = "info,warn")]
    log_levels: Vec<String>,
    /// The model the mock is asked for (directly, and by the policy's steps).
    #[arg(long, default_value = "gpt-4.1-mini")]
    model: String,
    /// Concurrency-1 requests per target.
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Concurrency-32 rounds per target, and requests per round.
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    #[arg(long, default_value_t = 2000)]
    round_requests: usize,
    /// Concurrency-64 throughput: rounds per target and seconds per round.
    #[arg(long, default_value_t = 3)]
    throughput_rounds: usize,
    #[arg(long, default_value_t = 2.0)]
    throughput_secs: f64,
    /// Streams per target, the mock's time to first content token and interval between chunks, and the
    /// number of content chunks per stream.
    #[arg(long, default_value_t = 20)]
    streams: usize,
    #[arg(long, default_value_t = 50)]
    ttft_ms: u64,
    #[arg(long, default_value_t = 10)]
    chunk_ms: u64,
    #[arg(long, default_value_t = 20)]
    chunks: usize,
    /// Streams per target with the mock answering at once (no timer between request and first token), for
    /// the time to first token against nginx. The timed streams above wait on Tokio's 1 ms timer, whose
    /// jitter is larger than the differences between targets; 0 skips them.
    #[arg(long, default_value_t = 500)]
    instant_streams: usize,
    /// Concurrent open streams for the per-stream memory figure.
    #[arg(long, default_value_t = 1000)]
    open_streams: usize,
    /// Carry an agent's conversation of about this many KiB (system prompt, tool schemas, tool calls and
    /// their results) in every request, as Claude Code or Codex do; 0 sends a one-line hello.
    #[arg(long, default_value_t = 0)]
    body_kib: usize,
    /// Have the mock answer every whole (not streamed) request with about this many KiB of text, as a long
    /// completion; 0 answers one line.
    #[arg(long, default_value_t = 0)]
    answer_kib: usize,
    /// Cold starts of `byok serve` to time.
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Small counts everywhere (a smoke run).
    #[arg(long)]
    quick: bool,
    /// Leave out the floor targets (do-nothing pass-through proxies: see `--floors`).
    #[arg(long)]
    no_floor: bool,
    /// Which floors to run, each a do-nothing pass-through proxy one layer lower than the last:
    /// `stack-per-core` (axum + reqwest on a runtime per core, as `byok serve` runs), `stack` (the same on
    /// Tokio's multi-threaded runtime), `hyper` (hyper's server and client alone) and `splice` (Tokio
    /// copying bytes, no HTTP).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "stack-per-core,stack,hyper,splice"
    )]
    floors: Vec<floor::Kind>,
    /// Leave out the nginx floor (Debian's nginx as a plain reverse proxy; installed when missing).
    #[arg(long)]
    no_nginx: bool,
    /// Another build's `byok` (e.g. the previous commit's target/release) measured in the same run as
    /// `byok baseline`, at the first log level, for before/after ratios.
    #[arg(long)]
    baseline_bin_dir: Option<PathBuf>,
    /// An environment variable for the baseline gateway only, `NAME=VALUE` (repeatable): the same build
    /// with a feature switched off, e.g. `--baseline-bin-dir target/release --baseline-env BYOK_REQUEST_LOG=off`.
    #[arg(long = "baseline-env", value_parser = parse_env)]
    baseline_env: Vec<(String, String)>,
    /// An environment variable for the floor proxies, `NAME=VALUE` (repeatable): e.g.
    /// `TOKIO_WORKER_THREADS=1`, to see what the multi-threaded runtime's wake-ups cost the hop alone.
    #[arg(long = "floor-env", value_parser = parse_env)]
    floor_env: Vec<(String, String)>,
    /// Internal: run as a floor proxy of `--floor-kind` in front of this upstream URL.
    #[arg(long, hide = true)]
    floor_upstream: Option<String>,
    #[arg(long, hide = true, default_value = "stack")]
    floor_kind: floor::Kind,
}

#[derive(Debug, Clone)]
pub struct ExtraTarget {
    name: String,
    url: String,
    key: String,
    model: String,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

/// `, NAME=VALUE` for each variable, to name a target started with them.
fn env_suffix(env: &[(String, String)]) -> String {
    env.iter().map(|(k, v)| format!(", {k}={v}")).collect()
}

fn parse_target(s: &str) -> Result<ExtraTarget, String> {
    let mut t = ExtraTarget {
        name: String::new(),
        url: String::new(),
        key: String::new(),
        model: String::new(),
    };
    for part in s.split(',') {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected key=value"))?;
        match k {
            "name" => t.name = v.into(),
            "url" => t.url = v.into(),
            "key" => t.key = v.into(),
            "model" => t.model = v.into(),
            other => {
                return Err(format!(
                    "unknown target field {other:?} (name, url, key, model)"
                ));
            }
        }
    }
    if t.name.is_empty() || t.url.is_empty() || t.model.is_empty() {
        return Err("a target needs name=, url= and model= (key= optional)".into());
    }
    Ok(t)
}

/// The name of the nginx floor in the tables: what the gateway's ratios are taken against.
pub const NGINX: &str = "nginx reverse proxy";

/// Words the mock answers with; a stream sends them two per chunk.
fn answer_text(chunks: usize) -> String {
    (0..chunks * 2)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// About `bytes` of prose.
fn long_text(bytes: usize) -> String {
    let sentence = "The gateway passes a long answer on as the provider wrote it. ";
    sentence.repeat(bytes.div_ceil(sentence.len()))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = Args::parse();
    if let Some(upstream) = &args.floor_upstream {
        return match floor::serve(args.floor_kind, upstream).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("byok-bench floor proxy: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    if args.quick {
        args.requests = args.requests.min(200);
        args.rounds = args.rounds.min(2);
        args.round_requests = args.round_requests.min(320);
        args.throughput_rounds = 1;
        args.throughput_secs = args.throughput_secs.min(1.0);
        args.streams = args.streams.min(5);
        args.instant_streams = args.instant_streams.min(50);
        args.open_streams = args.open_streams.min(200);
        args.starts = args.starts.min(2);
    }
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("byok-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Res<()> {
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .parent()
            .ok_or("no binary directory")?
            .to_path_buf(),
    };
    let machine_before = report::machine();
    eprintln!("byok-bench: load before: {}", machine_before["loadavg"]);
    let (mock, mock_url) = procs::start_mock(&bin_dir)?;
    eprintln!("byok-bench: mock OpenAI at {mock_url}");
    let tmp = tempfile::Builder::new()
        .prefix("byok-bench-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut gateways = Vec::new();
    for level in &args.log_levels {
        let dir = tmp.path().join(format!("data-{level}"));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let g = procs::start_gateway(&bin_dir, &dir, &mock_url, level, &args.model, &[]).await?;
        eprintln!(
            "byok-bench: gateway (RUST_LOG={level}) at {} (pid {})",
            g.base_url,
            g.proc.pid()
        );
        gateways.push(g);
    }
    let primary = gateways.first().ok_or("--log-levels is empty")?;
    let baseline = match &args.baseline_bin_dir {
        None => None,
        Some(dir) => {
            let data = tmp.path().join("data-baseline");
            std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
            let (level, env) = (&primary.rust_log, &args.baseline_env);
            let g = procs::start_gateway(dir, &data, &mock_url, level, &args.model, env).await?;
            eprintln!(
                "byok-bench: baseline gateway from {} at {} (env {env:?})",
                dir.display(),
                g.base_url
            );
            Some(g)
        }
    };
    let rss_after_start = procs::rss_kb(primary.proc.pid());

    let mut targets = vec![Target::new(
        "direct",
        &format!("{mock_url}/v1"),
        "sk-bench-direct-000000000000",
        &args.model,
    )];
    for g in &gateways {
        targets.push(
            Target::new(
                &format!("byok (RUST_LOG={})", g.rust_log),
                &format!("{}/v1", g.base_url),
                &g.api_key,
                &format!("policy/{}", procs::POLICY),
            )
            .with_pids(vec![g.proc.pid()]),
        );
    }
    if let Some(g) = &baseline {
        targets.push(
            Target::new(
                &format!(
                    "byok baseline (RUST_LOG={}{})",
                    g.rust_log,
                    env_suffix(&args.baseline_env)
                ),
                &format!("{}/v1", g.base_url),
                &g.api_key,
                &format!("policy/{}", procs::POLICY),
            )
            .with_pids(vec![g.proc.pid()]),
        );
    }
    let mut floors = Vec::new();
    for &kind in args.floors.iter().filter(|_| !args.no_floor) {
        let (proc, url) = floor::start(kind, &mock_url, &args.floor_env)?;
        eprintln!("byok-bench: {} at {url}", kind.name());
        targets.push(
            Target::new(
                &format!("{}{}", kind.name(), env_suffix(&args.floor_env)),
                &format!("{url}/v1"),
                "sk-bench-direct-000000000000",
                &args.model,
            )
            .with_pids(vec![proc.pid()]),
        );
        floors.push(proc);
    }
    let nginx = if args.no_nginx {
        None
    } else {
        let n = nginx::start(&tmp.path().join("nginx"), &mock_url)?;
        eprintln!("byok-bench: nginx reverse proxy at {}", n.url);
        targets.push(
            Target::new(
                NGINX,
                &format!("{}/v1", n.url),
                "sk-bench-direct-000000000000",
                &args.model,
            )
            .with_pids(vec![n.pid()]),
        );
        Some(n)
    };
    for t in &args.targets {
        targets.push(Target::new(&t.name, &t.url, &t.key, &t.model));
    }
    for t in &mut targets {
        t.body_kib = args.body_kib;
    }

    let limit = Duration::from_secs(120);
    let whole_answer = if args.answer_kib > 0 {
        json!({"text": long_text(args.answer_kib * 1024)})
    } else {
        json!({})
    };
    let reset = || async {
        procs::mock_control(&mock_url, "reset", json!({})).await?;
        procs::mock_control(&mock_url, "default", whole_answer.clone()).await
    };

    eprintln!("byok-bench: warm-up");
    reset().await?;
    let warm = load::concurrent(&targets, 8, 1, 400, limit).await;
    for (t, s) in targets.iter().zip(&warm) {
        if s.ms.is_empty() {
            return Err(format!(
                "{} answers nothing: {}",
                t.name,
                s.last_error.clone().unwrap_or_default()
            ));
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = procs::rss_kb(primary.proc.pid());

    eprintln!(
        "byok-bench: concurrency 1, {} requests per target",
        args.requests
    );
    reset().await?;
    let c1 = load::sequential(&targets, args.requests, limit).await;
    eprintln!(
        "byok-bench: concurrency 32, {} x {} requests per target",
        args.rounds, args.round_requests
    );
    reset().await?;
    let c32 = load::concurrent(&targets, 32, args.rounds, args.round_requests, limit).await;
    eprintln!(
        "byok-bench: throughput at concurrency 64, {} x {} s per target",
        args.throughput_rounds, args.throughput_secs
    );
    reset().await?;
    let tput = load::throughput(&targets, 64, args.throughput_rounds, args.throughput_secs).await;

    eprintln!(
        "byok-bench: streaming, {} streams per target, ttft {} ms, {} chunks every {} ms",
        args.streams, args.ttft_ms, args.chunks, args.chunk_ms
    );
    // The mock sends the role chunk after `delay_ms`, then each content chunk one interval later.
    reset().await?;
    procs::mock_control(
        &mock_url,
        "default",
        json!({"delay_ms": args.ttft_ms.saturating_sub(args.chunk_ms), "chunk_delay_ms": args.chunk_ms,
               "text": answer_text(args.chunks)}),
    )
    .await?;
    let streamed = load::streams(&targets, args.streams, limit).await;

    eprintln!(
        "byok-bench: streaming, {} streams per target, the mock answering at once",
        args.instant_streams
    );
    reset().await?;
    procs::mock_control(
        &mock_url,
        "default",
        json!({"delay_ms": 0, "chunk_delay_ms": 0, "text": answer_text(2)}),
    )
    .await?;
    let instant = load::streams(&targets, args.instant_streams, limit).await;

    eprintln!("byok-bench: memory with {} open streams", args.open_streams);
    reset().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_streams = procs::rss_kb(primary.proc.pid());
    procs::mock_control(
        &mock_url,
        "default",
        json!({"chunk_delay_ms": 2000, "text": answer_text(10)}),
    )
    .await?;
    let pid = primary.proc.pid();
    let gateway_target = &targets[1];
    let (open, rss_streams) = load::hold_streams(
        gateway_target,
        args.open_streams,
        Duration::from_secs(30),
        || procs::rss_kb(pid),
    )
    .await;
    reset().await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = procs::rss_kb(pid);

    eprintln!("byok-bench: {} cold starts of byok serve", args.starts);
    let start_dir = tmp.path().join(format!("data-{}", primary.rust_log));
    let starts = procs::start_times(&bin_dir, &start_dir, &mock_url, args.starts)?;
    let binaries = report::binaries(&bin_dir);

    let machine_after = report::machine();
    let results = report::Results {
        args: &args,
        machine_before,
        machine_after,
        targets: &targets,
        c1,
        c32,
        tput,
        streamed,
        instant,
        memory: report::Memory {
            after_start_kb: rss_after_start,
            idle_kb: rss_idle,
            before_streams_kb: rss_before_streams,
            streams_open: open,
            with_streams_kb: rss_streams,
            after_streams_kb: rss_after,
        },
        first_start_ms: primary.started_in.as_secs_f64() * 1e3,
        starts,
        binaries,
    };
    let (table, doc) = results.render();
    println!("{table}");
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", args.json.display()))?;
    eprintln!("byok-bench: JSON written to {}", args.json.display());
    drop(gateways);
    drop(baseline);
    drop(floors);
    drop(nginx);
    drop(mock);
    Ok(())
}
