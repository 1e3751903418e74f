//! Every target against the nginx floor measured in the same run (issue 20's ratios): CPU per request and
//! throughput at c=32, and the time to first token each adds over direct, with the mock's timer (the
//! `--ttft-ms` streams) and without it (the mock answering at once). The TTFT goal is checked on the
//! second when it was measured: the first carries the 1 ms timer's jitter, larger than the differences.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::NGINX;
use crate::report::{Results, check};
use crate::stats::Summary;

impl Results<'_> {
    /// Writes the table into `t`; returns the rows and the checks of the first gateway (target 1).
    pub(crate) fn against_nginx(
        &self,
        t: &mut String,
        ttft: &[Summary],
        instant: &[Summary],
    ) -> (Vec<Value>, Vec<Value>) {
        let Some(n) = self.targets.iter().position(|x| x.name == NGINX) else {
            return (Vec::new(), Vec::new());
        };
        let direct_ttft = ttft[0].p50_ms;
        let (n_cpu, n_rps) = (self.c32[n].cpu_us_per_request(), self.c32[n].rps());
        let n_ttft = ttft[n].p50_ms - direct_ttft;
        let direct_instant = instant[0].p50_ms;
        let n_instant = instant[n].p50_ms - direct_instant;
        let _ = writeln!(
            t,
            "\nAgainst the nginx reverse proxy (same run; c=32 bursts):\n"
        );
        let _ = writeln!(
            t,
            "| target | c=32 req/s | vs nginx | CPU µs/request | vs nginx | TTFT added ms | vs nginx | TTFT added ms, mock at once | vs nginx |"
        );
        let _ = writeln!(t, "|---|---|---|---|---|---|---|---|---|");
        let mut rows = Vec::new();
        for (i, target) in self.targets.iter().enumerate().skip(1) {
            let cpu = self.c32[i].cpu_us_per_request();
            let rps = self.c32[i].rps();
            let added = ttft[i].p50_ms - direct_ttft;
            let added_instant = instant[i].p50_ms - direct_instant;
            let cpu_ratio = cpu.zip(n_cpu).map(|(a, b)| a / b);
            let row = json!({
                "name": target.name,
                "c32_rps": rps, "c32_rps_vs_nginx": rps / n_rps,
                "cpu_us_per_request": cpu, "cpu_vs_nginx": cpu_ratio,
                "ttft_added_ms": added, "ttft_added_vs_nginx": added / n_ttft,
                "ttft_added_mock_at_once_ms": added_instant,
                "ttft_added_mock_at_once_vs_nginx": added_instant / n_instant,
            });
            let opt = |v: Option<f64>, d: usize| v.map_or("n/a".to_owned(), |x| format!("{x:.d$}"));
            let _ = writeln!(
                t,
                "| {} | {:.0} | {:.0}% | {} | {}× | {:.3} | {:.2}× | {:.3} | {:.2}× |",
                target.name,
                rps,
                rps / n_rps * 100.0,
                opt(cpu, 1),
                opt(cpu_ratio, 2),
                added,
                added / n_ttft,
                added_instant,
                added_instant / n_instant,
            );
            rows.push(row);
        }
        let mut checks = Vec::new();
        if let Some(g) = rows.first() {
            let f = |k: &str| g[k].as_f64();
            check(
                &mut checks,
                "CPU per request at c=32 vs nginx",
                f("cpu_vs_nginx"),
                "<=",
                3.0,
                "×",
            );
            check(
                &mut checks,
                "throughput at c=32 vs nginx",
                f("c32_rps_vs_nginx").map(|r| r * 100.0),
                ">=",
                50.0,
                "%",
            );
            let (metric, ratio) = match f("ttft_added_mock_at_once_vs_nginx") {
                Some(r) if r.is_finite() => ("TTFT added vs nginx's (mock at once)", Some(r)),
                _ => ("TTFT added vs nginx's", f("ttft_added_vs_nginx")),
            };
            check(&mut checks, metric, ratio, "<=", 1.5, "×");
        }
        (rows, checks)
    }
}
