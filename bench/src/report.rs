//! Turning samples into the table on stdout and the JSON document, with the targets checked.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::Args;
use crate::load::{Rate, Samples, StreamSamples, Target};
use crate::stats::{Summary, summarise};

pub struct Memory {
    pub after_start_kb: Option<u64>,
    pub idle_kb: Option<u64>,
    pub before_streams_kb: Option<u64>,
    pub streams_open: usize,
    pub with_streams_kb: Option<u64>,
    pub after_streams_kb: Option<u64>,
}

pub struct Results<'a> {
    pub args: &'a Args,
    pub machine_before: Value,
    pub machine_after: Value,
    pub targets: &'a [Target],
    pub c1: Vec<Samples>,
    pub c32: Vec<Samples>,
    pub tput: Vec<Rate>,
    pub streamed: Vec<StreamSamples>,
    /// Streams whose mock answered at once: the time to first token without the mock's timer.
    pub instant: Vec<StreamSamples>,
    pub memory: Memory,
    pub first_start_ms: f64,
    pub starts: Vec<Duration>,
    pub binaries: Vec<Value>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// CPU, cores, memory, kernel and load average.
pub fn machine() -> Value {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned());
    let mem_kb: Option<u64> = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok());
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "mem_total_mb": mem_kb.map(|k| k / 1024),
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "arch": std::env::consts::ARCH,
        "loadavg": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "page_reporting": crate::page_reporting::state(),
    })
}

const LAMBDAS: [&str; 5] = [
    "byok-router",
    "byok-keys",
    "byok-manage",
    "byok-policies",
    "byok-console",
];

fn stripped(path: &Path) -> Option<bool> {
    let bytes = std::fs::read(path).ok()?;
    Some(!bytes.windows(9).any(|w| w == b"\0.symtab\0"))
}

/// Each Lambda binary: `target/lambda/<name>/bootstrap` (cargo lambda) when present, else the host release
/// binary of the same name.
pub fn binaries(bin_dir: &Path) -> Vec<Value> {
    let target_dir = bin_dir.parent().unwrap_or(bin_dir);
    LAMBDAS
        .iter()
        .map(|name| {
            let lambda = target_dir.join("lambda").join(name).join("bootstrap");
            let host = bin_dir.join(name);
            let (path, kind) = if lambda.is_file() {
                (lambda, "cargo lambda bootstrap")
            } else {
                (host, "host release binary (profile.release strip = \"symbols\")")
            };
            match std::fs::metadata(&path) {
                Ok(m) => json!({
                    "name": name, "path": path.display().to_string(), "kind": kind,
                    "bytes": m.len(), "mb": m.len() as f64 / 1e6, "stripped": stripped(&path),
                }),
                Err(_) => json!({
                    "name": name, "path": path.display().to_string(), "kind": "missing",
                    "bytes": null,
                    "hint": format!("cargo build --release -p {name} (or cargo lambda build --release --arm64)"),
                }),
            }
        })
        .collect()
}

fn f(v: f64) -> String {
    if v.is_nan() {
        "-".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

pub(crate) fn check(
    rows: &mut Vec<Value>,
    metric: &str,
    value: Option<f64>,
    op: &str,
    goal: f64,
    unit: &str,
) {
    let pass = value.map(|v| match op {
        "<=" => v <= goal,
        ">=" => v >= goal,
        "+-" => v.abs() <= goal,
        _ => false,
    });
    rows.push(json!({"metric": metric, "value": value, "unit": unit, "target": format!("{op} {goal}"), "pass": pass}));
}

impl Results<'_> {
    pub fn render(&self) -> (String, Value) {
        let direct = 0;
        let s1: Vec<Summary> = self.c1.iter().map(|s| summarise(&s.ms)).collect();
        let s32: Vec<Summary> = self.c32.iter().map(|s| summarise(&s.ms)).collect();
        let rps: Vec<f64> = self
            .tput
            .iter()
            .map(|r| r.ok as f64 / r.secs.max(1e-9))
            .collect();
        let ttft: Vec<Summary> = self
            .streamed
            .iter()
            .map(|s| summarise(&s.ttft_ms))
            .collect();
        let gap: Vec<Summary> = self.streamed.iter().map(|s| summarise(&s.gap_ms)).collect();
        let instant: Vec<Summary> = self.instant.iter().map(|s| summarise(&s.ttft_ms)).collect();

        let mut t = String::new();
        let _ = writeln!(
            t,
            "\n| target | c=1 p50 ms | c=1 p99 ms | c=32 p50 ms | c=32 p99 ms | c=64 req/s | TTFT p50 ms | gap p50 ms | gap p99 ms | errors |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|---|");
        let mut per_target = Vec::new();
        for (i, target) in self.targets.iter().enumerate() {
            let errors = self.c1[i].errors
                + self.c32[i].errors
                + self.tput[i].errors
                + self.streamed[i].errors
                + self.instant[i].errors;
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} |",
                target.name,
                f(s1[i].p50_ms),
                f(s1[i].p99_ms),
                f(s32[i].p50_ms),
                f(s32[i].p99_ms),
                rps[i],
                f(ttft[i].p50_ms),
                f(gap[i].p50_ms),
                f(gap[i].p99_ms),
                errors
            );
            let last_error = [
                &self.c1[i].last_error,
                &self.c32[i].last_error,
                &self.streamed[i].last_error,
                &self.instant[i].last_error,
            ]
            .into_iter()
            .flatten()
            .next()
            .cloned();
            per_target.push(json!({
                "name": target.name, "base_url": target.base_url, "model": target.model,
                "answer_bytes": self.c1[i].answer_bytes,
                "c1": s1[i], "c32": s32[i],
                "c32_rps": self.c32[i].rps(),
                "c32_cpu_us_per_request": self.c32[i].cpu_us_per_request(),
                "c64": {"requests": self.tput[i].ok, "secs": self.tput[i].secs, "rps": rps[i], "errors": self.tput[i].errors},
                "stream": {"ttft": ttft[i], "gap": gap[i],
                           "content_chunks_per_stream": self.streamed[i].chunks.iter().copied().max(),
                           "ttft_mock_at_once": instant[i]},
                "errors": errors, "last_error": last_error,
            }));
        }

        let _ = writeln!(
            t,
            "\nAdded by each target over direct (ms; negative = faster than direct):\n"
        );
        let _ = writeln!(
            t,
            "| target | c=1 p50 | c=1 p99 | c=32 p50 | c=32 p99 | TTFT p50 | gap p50 | gap mean | c=64 throughput vs direct |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
        let mut added = Vec::new();
        for (i, target) in self.targets.iter().enumerate().skip(1) {
            let d = |a: f64, b: f64| a - b;
            let a = json!({
                "name": target.name,
                "c1_p50_ms": d(s1[i].p50_ms, s1[direct].p50_ms),
                "c1_p99_ms": d(s1[i].p99_ms, s1[direct].p99_ms),
                "c32_p50_ms": d(s32[i].p50_ms, s32[direct].p50_ms),
                "c32_p99_ms": d(s32[i].p99_ms, s32[direct].p99_ms),
                "ttft_p50_ms": d(ttft[i].p50_ms, ttft[direct].p50_ms),
                "gap_p50_ms": d(gap[i].p50_ms, gap[direct].p50_ms),
                "gap_mean_ms": d(gap[i].mean_ms, gap[direct].mean_ms),
                "throughput_ratio": rps[i] / rps[direct],
            });
            let g = |k: &str| a[k].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.0}% |",
                target.name,
                f(g("c1_p50_ms")),
                f(g("c1_p99_ms")),
                f(g("c32_p50_ms")),
                f(g("c32_p99_ms")),
                f(g("ttft_p50_ms")),
                f(g("gap_p50_ms")),
                f(g("gap_mean_ms")),
                g("throughput_ratio") * 100.0
            );
            added.push(a);
        }

        let (vs_nginx, nginx_checks) = self.against_nginx(&mut t, &ttft, &instant);

        // The targets, for the first gateway (the default configuration).
        let m = &self.memory;
        let idle_mb = m.idle_kb.map(|k| k as f64 / 1024.0);
        let per_stream_kb = match (m.with_streams_kb, m.before_streams_kb) {
            (Some(w), Some(b)) if m.streams_open > 0 => {
                Some((w as f64 - b as f64) / m.streams_open as f64)
            }
            _ => None,
        };
        let mut starts: Vec<f64> = self.starts.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        starts.sort_by(f64::total_cmp);
        let start_median = starts.get(starts.len() / 2).copied();
        let mut checks = nginx_checks;
        if let Some(a) = added.first() {
            let g = |k: &str| a[k].as_f64();
            check(
                &mut checks,
                "added p50, c=1",
                g("c1_p50_ms"),
                "<=",
                0.3,
                "ms",
            );
            check(
                &mut checks,
                "added p99, c=1",
                g("c1_p99_ms"),
                "<=",
                1.0,
                "ms",
            );
            check(
                &mut checks,
                "added p50, c=32",
                g("c32_p50_ms"),
                "<=",
                0.3,
                "ms",
            );
            check(
                &mut checks,
                "added p99, c=32",
                g("c32_p99_ms"),
                "<=",
                1.0,
                "ms",
            );
            check(
                &mut checks,
                "added time to first token (p50)",
                g("ttft_p50_ms"),
                "<=",
                1.0,
                "ms",
            );
            check(
                &mut checks,
                "inter-chunk gap vs direct (p50)",
                g("gap_p50_ms"),
                "+-",
                1.0,
                "ms",
            );
            check(
                &mut checks,
                "inter-chunk gap vs direct (mean)",
                g("gap_mean_ms"),
                "+-",
                1.0,
                "ms",
            );
            check(
                &mut checks,
                "throughput at c=64 vs direct",
                g("throughput_ratio").map(|r| r * 100.0),
                ">=",
                60.0,
                "%",
            );
        }
        check(&mut checks, "idle RSS (warm)", idle_mb, "<=", 30.0, "MB");
        check(
            &mut checks,
            &format!("RSS per open stream ({} open)", m.streams_open),
            per_stream_kb,
            "<=",
            64.0,
            "KB",
        );
        check(
            &mut checks,
            "process start to first served request (median)",
            start_median,
            "<=",
            50.0,
            "ms",
        );
        for b in &self.binaries {
            check(
                &mut checks,
                &format!("binary size {}", b["name"].as_str().unwrap_or("?")),
                b["mb"].as_f64(),
                "<=",
                10.0,
                "MB",
            );
        }
        let gw = self
            .targets
            .get(1)
            .map(|t| t.name.as_str())
            .unwrap_or("gateway");
        let _ = writeln!(t, "\nTargets ({gw}):\n");
        let _ = writeln!(t, "| metric | value | target | pass |");
        let _ = writeln!(t, "|---|---|---|---|");
        for c in &checks {
            let value = c["value"].as_f64().map_or("-".into(), |v| {
                format!("{} {}", f(v), c["unit"].as_str().unwrap_or(""))
            });
            let pass = match c["pass"].as_bool() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "-",
            };
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} |",
                c["metric"].as_str().unwrap_or(""),
                value,
                c["target"].as_str().unwrap_or(""),
                pass
            );
        }
        let kb = |v: Option<u64>| v.map_or("-".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
        let _ = writeln!(
            t,
            "\nRSS: after start {}, warm idle {}, before streams {}, with {} streams {}, after {}. \
             Start to first answer: {} ms (runs: {}); first start {:.1} ms.",
            kb(m.after_start_kb),
            kb(m.idle_kb),
            kb(m.before_streams_kb),
            m.streams_open,
            kb(m.with_streams_kb),
            kb(m.after_streams_kb),
            start_median.map_or("-".into(), f),
            starts
                .iter()
                .map(|s| format!("{s:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.first_start_ms
        );
        for b in &self.binaries {
            let _ = writeln!(
                t,
                "Binary {}: {} ({})",
                b["name"].as_str().unwrap_or("?"),
                b["mb"]
                    .as_f64()
                    .map_or("missing".into(), |v| format!("{v:.2} MB")),
                b["kind"].as_str().unwrap_or("")
            );
        }
        let _ = writeln!(
            t,
            "Machine: {} ({} cores), load before {} / after {}",
            self.machine_before["cpu"].as_str().unwrap_or("?"),
            self.machine_before["cores"],
            self.machine_before["loadavg"].as_str().unwrap_or("?"),
            self.machine_after["loadavg"].as_str().unwrap_or("?"),
        );
        if let Some(note) = crate::page_reporting::note(
            &self.machine_before["page_reporting"],
            &self.machine_after["page_reporting"],
        ) {
            let _ = writeln!(t, "Memory: {note}.");
        }

        let a = self.args;
        let doc = json!({
            "machine": {"before": self.machine_before, "after": self.machine_after},
            "config": {
                "model": a.model, "log_levels": a.log_levels, "requests_c1": a.requests,
                "rounds_c32": a.rounds, "round_requests_c32": a.round_requests,
                "throughput_rounds": a.throughput_rounds, "throughput_secs": a.throughput_secs,
                "streams": a.streams, "ttft_ms": a.ttft_ms, "chunk_ms": a.chunk_ms, "chunks": a.chunks,
                "instant_streams": a.instant_streams,
                "open_streams": a.open_streams, "starts": a.starts, "quick": a.quick,
            },
            "targets": per_target,
            "added_vs_direct": added,
            "vs_nginx": vs_nginx,
            "memory": {
                "after_start_kb": m.after_start_kb, "idle_kb": m.idle_kb,
                "before_streams_kb": m.before_streams_kb, "streams_open": m.streams_open,
                "with_streams_kb": m.with_streams_kb, "after_streams_kb": m.after_streams_kb,
                "per_stream_kb": per_stream_kb,
            },
            "start_to_first_request_ms": {"median": start_median, "runs": starts, "first_start": self.first_start_ms},
            "binaries": self.binaries,
            "checks": checks,
        });
        (t, doc)
    }
}
