//! CPU time a target's processes spend, read from `/proc/<pid>/stat` (user + system), for the CPU cost per
//! request. A target's processes are the pids it was given and their direct children (nginx's workers).

/// Clock ticks per second of `/proc/<pid>/stat` times: USER_HZ, 100 on every Linux architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

/// (parent pid, user + system ticks) of one process.
fn stat(pid: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: split after its last `)`.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state(3) ppid(4) ... utime(14) stime(15), so indices 1, 11, 12 here.
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// Seconds of CPU used so far by `pids` and their direct children; `None` when there are no pids.
pub fn seconds(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    let mut ticks: u64 = pids.iter().filter_map(|&p| stat(p)).map(|(_, t)| t).sum();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some((ppid, t)) = stat(pid)
                && pids.contains(&ppid)
            {
                ticks += t;
            }
        }
    }
    Some(ticks as f64 / TICKS_PER_SEC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_cpu_time() {
        let me = std::process::id();
        let start = seconds(&[me]).unwrap();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        assert!(seconds(&[me]).unwrap() >= start);
        assert_eq!(seconds(&[]), None);
    }
}
