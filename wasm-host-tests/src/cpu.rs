//! The CPU time of the calling thread: what a callback costs the worker that runs it, without
//! the time the kernel gave its core to another thread (that shows in wall time, not here).
//! Under a hypervisor, time the host gave the virtual CPU to another guest still counts.

use std::time::Duration;

/// CPU time the calling thread has used so far (zero where the clock is missing). The read is
/// a system call whose own kernel time (a few hundred ns) the next read counts.
#[cfg(unix)]
pub fn thread_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// No thread CPU clock here.
#[cfg(not(unix))]
pub fn thread_time() -> Duration {
    Duration::ZERO
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn thread_time_counts_work_and_not_sleep() {
        let start = thread_time();
        std::thread::sleep(Duration::from_millis(30));
        let slept = thread_time().saturating_sub(start);
        assert!(slept < Duration::from_millis(15), "sleeping used {slept:?}");
        // Spin until the clock shows 10 ms of work (a loaded machine may take longer to
        // give them), or give up after 5 s of wall time.
        let spin = std::time::Instant::now();
        let mut x = 1u64;
        while thread_time().saturating_sub(start) < Duration::from_millis(10)
            && spin.elapsed() < Duration::from_secs(5)
        {
            x = std::hint::black_box(x.wrapping_mul(3).wrapping_add(1));
        }
        let worked = thread_time().saturating_sub(start);
        assert!(
            worked >= Duration::from_millis(10),
            "spinning for {:?} used {worked:?}",
            spin.elapsed()
        );
    }
}
