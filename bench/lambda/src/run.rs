//! The run: the release `byok-router` bootstrap and a hello-world `lambda_http` bootstrap, each started
//! `--starts` times under a loopback Runtime API; the router answers one cold request per start and then
//! `--warm` warm ones (non-streaming and streaming), against DynamoDB Local and KMS (moto) behind a proxy that
//! adds `--delay-ms` to every AWS call. Reported: init time (spawn → first poll for an event), AWS round trips
//! per request awaited before and after the provider call, and the latency the gateway adds.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use byok_testkit::lambda::fixture_with_key;
use serde_json::{Value, json};

use crate::analysis;
use crate::runtime::{Function, Invocation};
use crate::setup::World;

#[derive(Debug, clap::Parser)]
#[command(
    name = "byok-lambda-bench",
    about = "The router's Lambda path: AWS round trips, init, added latency"
)]
pub struct Args {
    /// Where `byok-router` and `hello-lambda` are (default: this binary's directory).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Added to every DynamoDB and KMS call (an in-region round trip).
    #[arg(long, default_value_t = 5)]
    delay_ms: u64,
    /// Cold starts of each bootstrap.
    #[arg(long, default_value_t = 5)]
    starts: usize,
    /// Warm requests of each kind (non-streaming, streaming) after the first start's cold one.
    #[arg(long, default_value_t = 20)]
    warm: usize,
    /// `SSL_CERT_FILE` for the router (Lambda sets none, and the bench's own is not passed on): an operator's
    /// CA in a layer, or with an empty `--ssl-cert-dir`, Amazon Linux's single bundle on another distribution.
    #[arg(long)]
    ssl_cert_file: Option<PathBuf>,
    /// `SSL_CERT_DIR` for the router (see `--ssl-cert-file`).
    #[arg(long)]
    ssl_cert_dir: Option<PathBuf>,
    #[arg(long, default_value = "target/bench/byok-lambda-bench.json")]
    json: PathBuf,
}

/// The model every request names: the org's own Anthropic key, sealed by KMS.
const MODEL: &str = "anthropic/claude-sonnet-4-5";

/// The API Gateway event with its JSON body's `model` replaced.
fn with_model(event: &str, model: &str) -> Result<String, String> {
    let mut e: Value = serde_json::from_str(event).map_err(|e| e.to_string())?;
    let mut body: Value = serde_json::from_str(e["body"].as_str().ok_or("the event has no body")?)
        .map_err(|e| e.to_string())?;
    body["model"] = model.into();
    e["body"] = body.to_string().into();
    Ok(e.to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn status(inv: &Invocation) -> Option<u16> {
    let i = inv.head.find("\"statusCode\":")? + "\"statusCode\":".len();
    inv.head[i..].trim_start().get(..3)?.parse().ok()
}

/// Run `events` through `f` in order; every answer must be a 200.
async fn invoke_all(f: &mut Function, events: &[String]) -> Result<Vec<Invocation>, String> {
    let mut out = Vec::new();
    for e in events {
        let inv = f.invoke(e).await?;
        if status(&inv) != Some(200) {
            return Err(format!(
                "the router answered {:?}: {}",
                status(&inv),
                inv.head
            ));
        }
        out.push(inv);
    }
    Ok(out)
}

fn summary(rows: &[Value], key: &str) -> f64 {
    median(rows.iter().filter_map(|r| r[key].as_f64()).collect())
}

pub async fn run(args: Args) -> Result<(), String> {
    let bin_dir = match &args.bin_dir {
        Some(d) => d.clone(),
        None => std::env::current_exe()
            .map_err(|e| e.to_string())?
            .parent()
            .ok_or("no binary directory")?
            .to_path_buf(),
    };
    let exe = |name: &str| {
        let p = bin_dir.join(name);
        if p.is_file() {
            Ok(p.display().to_string())
        } else {
            Err(format!(
                "{} not found: cargo build --release -p byok-router -p byok-lambda-bench",
                p.display()
            ))
        }
    };
    let (router, hello) = (exe("byok-router")?, exe("hello-lambda")?);
    let delay = Duration::from_millis(args.delay_ms);
    let world = World::new(delay).await?;
    let mut env = world.env();
    for (name, path) in [
        ("SSL_CERT_FILE", &args.ssl_cert_file),
        ("SSL_CERT_DIR", &args.ssl_cert_dir),
    ] {
        if let Some(path) = path {
            env.push((name, path.display().to_string()));
        }
    }
    let event = |name| {
        with_model(
            &fixture_with_key("byok-router", name, &world.admin_key),
            MODEL,
        )
    };
    let (plain, stream) = (
        event("chat-completions.json")?,
        event("chat-completions-stream.json")?,
    );

    let (mut hello_init, mut router_init) = (Vec::new(), Vec::new());
    // Each invocation with its instance's index; `stopped[i]`: when instance `i` was stopped.
    let mut invocations: Vec<(&str, Invocation, usize)> = Vec::new();
    let mut stopped = Vec::new();
    for start in 0..args.starts.max(1) {
        let mut h = Function::start(&hello, &[]).await?;
        hello_init.push(h.init_time().await?.as_secs_f64() * 1e3);
        drop(h);
        let mut f = Function::start(&router, &env).await?;
        router_init.push(f.init_time().await?.as_secs_f64() * 1e3);
        let cold = invoke_all(&mut f, std::slice::from_ref(&plain)).await?;
        invocations.extend(cold.into_iter().map(|i| ("cold", i, start)));
        if start == 0 {
            let mut warm = Vec::new();
            for _ in 0..args.warm {
                warm.push(plain.clone());
                warm.push(stream.clone());
            }
            let done = invoke_all(&mut f, &warm).await?;
            for (i, inv) in done.into_iter().enumerate() {
                let kind = if i % 2 == 0 { "warm" } else { "warm stream" };
                invocations.push((kind, inv, start));
            }
        }
        // Calls still running behind the last response land before the next start.
        tokio::time::sleep(Duration::from_millis(200)).await;
        stopped.push(Instant::now());
        drop(f);
    }

    let aws = world.aws_calls();
    let provider = world.anthropic.calls();
    let mut rows: Vec<(&str, Value)> = Vec::new();
    for (i, (kind, inv, instance)) in invocations.iter().enumerate() {
        let next = invocations.get(i + 1).map(|(_, n, of)| (*of, n.given));
        let until = analysis::caused_until(*instance, next, &stopped);
        rows.push((kind, analysis::invocation(inv, until, &aws, &provider)));
    }
    report(&args, &hello_init, &router_init, &rows)
}

fn report(
    args: &Args,
    hello: &[f64],
    router: &[f64],
    rows: &[(&str, Value)],
) -> Result<(), String> {
    let (h, r) = (median(hello.to_vec()), median(router.to_vec()));
    println!(
        "\nInit (spawn → first poll for an event), median of {} starts:\n",
        hello.len()
    );
    println!("| bootstrap | init ms | vs hello-world |\n|---|---|---|");
    println!("| hello-world lambda_http | {h:.2} | 1.00× |");
    println!("| byok-router | {r:.2} | {:.2}× |", r / h);
    println!(
        "\nAWS calls per request (DynamoDB + KMS, each +{} ms), medians; 'serial' counts calls one after another (parallel ones once):\n",
        args.delay_ms
    );
    println!(
        "| request | n | awaited before provider | serial | awaited after provider | serial | overlapping provider | after the response | added ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut kinds = Vec::new();
    for kind in ["cold", "warm", "warm stream"] {
        let of: Vec<Value> = rows
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, v)| v.clone())
            .collect();
        if of.is_empty() {
            continue;
        }
        println!(
            "| {kind} | {} | {} | {:.1} | {} | {:.1} | {} | {} | {:.2} |",
            of.len(),
            summary(&of, "awaited_before"),
            summary(&of, "awaited_before_serial"),
            summary(&of, "awaited_after"),
            summary(&of, "awaited_after_serial"),
            summary(&of, "overlapping_provider"),
            summary(&of, "after_response"),
            summary(&of, "added_ms"),
        );
        println!("\n{kind}, first: {}\n", of[0]);
        kinds.push(json!({"kind": kind, "rows": of}));
    }
    let doc = json!({
        "delay_ms": args.delay_ms,
        "init_ms": {"hello": hello, "router": router, "median_hello": h, "median_router": r},
        "requests": kinds,
    });
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(
        &args.json,
        serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", args.json.display()))?;
    eprintln!("byok-lambda-bench: JSON written to {}", args.json.display());
    Ok(())
}
