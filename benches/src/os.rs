//! The two calls into the C library the benchmarks need: the page size (to read
//! `/proc/self/statm`) and `wait4` (a child's wall time and peak resident size).

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// The size of a memory page.
#[allow(unsafe_code)]
pub fn page_size() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

/// This process's resident size in bytes, from `/proc/self/statm` (0 where there is none).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * page_size())
}

/// How a child process ended.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// From `started` to its end.
    pub wall: Duration,
    /// Its peak resident size in bytes (`ru_maxrss`).
    pub max_rss: u64,
    /// Its processor time, user and system, with that of the descendants it waited for
    /// (a `cargo build`: every `rustc`).
    pub cpu: Duration,
}

/// Waits for `child` with `wait4`, which also gives its resource usage (and only its own,
/// unlike `getrusage(RUSAGE_CHILDREN)`, which mixes every child waited for).
#[allow(unsafe_code)]
pub fn wait_with_usage(child: Child, started: Instant) -> std::io::Result<Finished> {
    let pid = libc::pid_t::try_from(child.id()).map_err(std::io::Error::other)?;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our child, which
        // nothing else waits for (the `Child` handle is consumed here and never waited on).
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if got == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = started.elapsed();
    drop(child);
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    use std::os::unix::process::ExitStatusExt;
    Ok(Finished {
        status: ExitStatus::from_raw(status),
        wall,
        // ru_maxrss is in kilobytes on Linux.
        max_rss: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
    })
}

/// The 1-, 5- and 15-minute load averages from `/proc/loadavg` (`None` where there is none):
/// printed with the table, so that a reader can tell a quiet run from a busy one.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}
