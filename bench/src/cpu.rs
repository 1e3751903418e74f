//! CPU time a target's processes spend, for the CPU cost per request. A target's processes are the pids it
//! was given and their direct children (nginx's workers).
//!
//! Read per thread from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on a CPU), not from the process's
//! `utime + stime` in `/proc/<pid>/stat`: those count 10 ms clock ticks, and a c=32 burst of 2,000 requests
//! takes nginx about 70 ms, so one tick either way was ±15 % of a round's CPU and of every ratio to it.
//! Where a thread has no schedstat (a kernel without `CONFIG_SCHED_INFO`), its ticks are used instead.

use std::collections::HashMap;

/// Clock ticks per second of `/proc/<pid>/stat` times: USER_HZ, 100 on every Linux architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

/// The fields of a `stat` file after the command name (which is in parentheses and may hold spaces).
fn stat_fields(path: &str) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(path).ok()?;
    let rest = s.get(s.rfind(')')? + 2..)?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The parent pid of a process.
fn parent(pid: u32) -> Option<u32> {
    // After the name: state(3) ppid(4), so index 1 here.
    stat_fields(&format!("/proc/{pid}/stat"))?
        .get(1)?
        .parse()
        .ok()
}

/// Seconds one thread has run: schedstat's first field, else its user + system ticks (fields 14 and 15).
fn thread_seconds(pid: u32, tid: u32) -> Option<f64> {
    let task = format!("/proc/{pid}/task/{tid}");
    if let Some(ns) = std::fs::read_to_string(format!("{task}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
    {
        return Some(ns as f64 / 1e9);
    }
    let fields = stat_fields(&format!("{task}/stat"))?;
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / TICKS_PER_SEC)
}

/// Every live thread of `pids` and of their direct children, with the seconds each has run so far.
pub struct Snapshot(HashMap<u32, f64>);

impl Snapshot {
    /// `None` when there are no pids.
    pub fn take(pids: &[u32]) -> Option<Self> {
        if pids.is_empty() {
            return None;
        }
        let mut procs = pids.to_vec();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            procs.extend(
                dir.flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|&p| parent(p).is_some_and(|pp| pids.contains(&pp))),
            );
        }
        let mut threads = HashMap::new();
        for pid in procs {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for tid in tasks
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
            {
                if let Some(secs) = thread_seconds(pid, tid) {
                    threads.insert(tid, secs);
                }
            }
        }
        Some(Self(threads))
    }

    /// CPU seconds used between `before` and this snapshot: each thread's growth, and all of a thread's time
    /// when it started in between. A thread that ended in between is missed (its time since `before`).
    pub fn seconds_since(&self, before: &Snapshot) -> f64 {
        self.0
            .iter()
            .map(|(tid, now)| (now - before.0.get(tid).copied().unwrap_or(0.0)).max(0.0))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// At least 50 million multiplications' worth of CPU (15 ms even at 0.3 ns each), whatever the
    /// optimiser does: `black_box` keeps every iteration.
    fn spin() {
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i) * i);
        }
        std::hint::black_box(x);
    }

    #[test]
    fn counts_this_threads_work_and_a_thread_started_in_between() {
        let me = std::process::id();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let started = Instant::now();
        let before = Snapshot::take(&[me]).unwrap();
        spin();
        let spun = Snapshot::take(&[me]).unwrap();
        // A thread started after `spun` spins three times as long, says so, and stays alive (parked) while
        // measured; this thread only waits meanwhile, and one snapshot costs it a few milliseconds.
        let (done, spin_done) = std::sync::mpsc::channel();
        let helper = std::thread::spawn(move || {
            (0..3).for_each(|_| spin());
            done.send(()).unwrap();
            std::thread::park_timeout(Duration::from_secs(30));
        });
        spin_done.recv().unwrap();
        let after = Snapshot::take(&[me]).unwrap();
        helper.thread().unpark();
        helper.join().unwrap();
        assert!(spun.seconds_since(&before) >= 0.015, "this thread's spin");
        let helped = after.seconds_since(&spun);
        assert!(helped >= 0.045, "the helper's spins: {helped} s");
        // No more than every core for the whole time.
        let used = after.seconds_since(&before);
        assert!(
            used <= cores * started.elapsed().as_secs_f64() + 0.05,
            "used {used}"
        );
        assert!(Snapshot::take(&[]).is_none());
    }
}
