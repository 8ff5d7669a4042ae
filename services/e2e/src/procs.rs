//! What each process of `hearth up` costs, read from `/proc`: resident memory, CPU time and open file
//! descriptors of the supervisor (which also runs the broker) and of every service it started.

use std::path::Path;

/// One process at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcSample {
    pub pid: i32,
    /// `up` for the supervisor and broker; else the service's name (`asr`, `llm`, `wake`, …).
    pub service: String,
    pub rss_kb: u64,
    /// User plus system time, in clock ticks.
    pub cpu_ticks: u64,
    pub fds: usize,
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux in practice).
pub fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The supervisor `root` and its direct children, each named after the service it runs.
pub fn sample_tree(root: i32) -> Vec<ProcSample> {
    let mut out: Vec<ProcSample> = sample(root, "up".into()).into_iter().collect();
    let Ok(entries) = std::fs::read_dir("/proc") else { return out };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let dir = entry.path();
        if parent_of(&dir) != Some(root) {
            continue;
        }
        if let Some(s) = service_name(&dir).and_then(|name| sample(pid, name)) {
            out.push(s);
        }
    }
    out.sort_by(|a, b| a.service.cmp(&b.service));
    out
}

fn sample(pid: i32, service: String) -> Option<ProcSample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let tick = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let fds = std::fs::read_dir(dir.join("fd")).map(|d| d.count()).unwrap_or(0);
    Some(ProcSample { pid, service, rss_kb, cpu_ticks: tick(14) + tick(15), fds })
}

fn parent_of(dir: &Path) -> Option<i32> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()
}

/// `hearth service <name> …` → name; `hearth-asr run` → asr; `hearth-llm run` → llm.
fn service_name(dir: &Path) -> Option<String> {
    let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
    let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    let exe = Path::new(args.first()?).file_name()?.to_string_lossy().into_owned();
    if let Some(engine) = exe.strip_prefix("hearth-") {
        return Some(engine.to_owned());
    }
    let at = args.iter().position(|a| a == "service")?;
    args.get(at + 1).cloned()
}

/// Least-squares slope of `(x, y)` points, in y per x; 0 with fewer than two distinct x.
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return 0.0;
    }
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx == 0.0 {
        return 0.0;
    }
    points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum::<f64>() / sxx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_can_be_sampled() {
        let me = sample(std::process::id() as i32, "test".into()).unwrap();
        assert!(me.rss_kb > 0 && me.fds > 0, "{me:?}");
    }

    #[test]
    fn slope_of_a_line_and_of_too_little() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]) - 2.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 1.0)]), 0.0);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), 0.0);
    }
}
