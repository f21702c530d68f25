//! Gives the heap memory a drained backlog used back to the operating system.
//!
//! When the output stalls, up to `--buffer` ticks (8 MiB at the default) wait in the
//! channel; once the sink has caught up, their memory is free but glibc keeps most of it
//! mapped, spread through its per-thread arenas, so a run that once stalled would stay that
//! much larger for good. After a backlog drains the sink calls [`give_back`], which asks
//! glibc to return every free page (`malloc_trim`); elsewhere it does nothing.

/// Returns free heap pages to the operating system (glibc on Linux; a no-op elsewhere).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: `malloc_trim` only releases memory no allocation uses; it takes glibc's
    // arena locks itself and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn giving_back_keeps_live_memory() {
        let live: Vec<u64> = (0..100_000).collect();
        drop((0..64).map(|_| vec![1u8; 64 * 1024]).collect::<Vec<_>>());
        super::give_back();
        assert_eq!(live.iter().sum::<u64>(), 99_999 * 100_000 / 2);
    }
}
