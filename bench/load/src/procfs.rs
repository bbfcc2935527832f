//! What a server process costs, read from `/proc`: resident memory, CPU time, write syscalls.
//!
//! A server may be several processes (nginx: a master and its worker), so every reading sums
//! over the process and its children.

use std::path::PathBuf;

/// One reading of a process tree.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// Resident set, KiB (`VmRSS` in `/proc/<pid>/status`).
    pub rss_kib: u64,
    /// User + system CPU time, in clock ticks (`/proc/<pid>/stat`, fields 14 and 15).
    pub cpu_ticks: u64,
    /// Write-like system calls made so far: write, writev, sendmsg… (`syscw` in `/proc/<pid>/io`).
    pub write_syscalls: u64,
}

impl Usage {
    /// Sums the readings of `pid` and its direct children.
    pub fn of(pid: u32) -> Result<Usage, String> {
        let mut total = Usage::default();
        for pid in std::iter::once(pid).chain(children(pid)) {
            let one = read(pid)?;
            total.rss_kib += one.rss_kib;
            total.cpu_ticks += one.cpu_ticks;
            total.write_syscalls += one.write_syscalls;
        }
        Ok(total)
    }

    /// The reading of `pid` alone, without its children.
    pub fn of_process(pid: u32) -> Result<Usage, String> {
        read(pid)
    }
}

/// Time spent ready to run but waiting for a core (the second field of a `schedstat` file), for
/// the generator's own thread and for every thread of the server: on a 2-core machine the two
/// share the cores, and a server thread that waits is latency no profile of the server shows.
#[derive(Clone, Copy, Debug)]
pub struct Waits {
    generator_ns: Option<u64>,
    server_ns: Option<u64>,
}

impl Waits {
    /// The readings now, for the generator (this thread) and the server `pid` (all its threads).
    pub fn read(pid: u32) -> Waits {
        let server_threads = std::fs::read_dir(format!("/proc/{pid}/task")).ok();
        Waits {
            generator_ns: schedstat_wait("/proc/thread-self/schedstat"),
            server_ns: server_threads.map(|tasks| {
                tasks
                    .filter_map(|task| schedstat_wait(task.ok()?.path().join("schedstat")))
                    .sum()
            }),
        }
    }

    /// (generator, server) waits between `self` and `after`, in % of `window`; the server's is
    /// summed over its threads, so two threads both waiting count twice. NaN without readings.
    pub fn percent(&self, after: &Waits, window: std::time::Duration) -> (f64, f64) {
        let percent = |before: Option<u64>, after: Option<u64>| match before.zip(after) {
            Some((before, after)) => {
                after.saturating_sub(before) as f64 / window.as_nanos() as f64 * 100.0
            }
            None => f64::NAN,
        };
        (
            percent(self.generator_ns, after.generator_ns),
            percent(self.server_ns, after.server_ns),
        )
    }
}

fn schedstat_wait(path: impl AsRef<std::path::Path>) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    stat.split_whitespace().nth(1)?.parse().ok()
}

/// Clock ticks per second, for turning `cpu_ticks` into seconds.
pub fn ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second()
}

fn read(pid: u32) -> Result<Usage, String> {
    let file = |name: &str| -> Result<String, String> {
        let path = PathBuf::from(format!("/proc/{pid}/{name}"));
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let status = file("status")?;
    let rss_kib = field(&status, "VmRSS:").unwrap_or(0);
    let stat = file("stat")?;
    // After the `(comm)`, which may itself contain spaces: state is field 3, utime field 14.
    let after_comm = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let number = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu_ticks = number(11) + number(12);
    let write_syscalls = field(&file("io")?, "syscw:").unwrap_or(0);
    Ok(Usage {
        rss_kib,
        cpu_ticks,
        write_syscalls,
    })
}

fn field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    let rest = stat.rsplit_once(')')?.1.to_owned();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This very process: some resident memory, and ten writes counted as at least ten.
    #[test]
    fn reads_this_process() {
        use std::io::Write;
        let me = std::process::id();
        let before = Usage::of(me).unwrap();
        assert!(before.rss_kib > 0);
        let mut null = std::fs::File::create("/dev/null").unwrap();
        for _ in 0..10 {
            null.write_all(b"x").unwrap();
        }
        let after = Usage::of(me).unwrap();
        assert!(after.write_syscalls >= before.write_syscalls + 10);
    }
}

/// The machine's cores (not this thread's: the generator pins itself to one).
pub fn cores() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|info| info.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(1)
        .max(1)
}
