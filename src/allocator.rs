//! Tuning of the server's allocator (mimalloc, the global allocator of the
//! `oauth-registry` binary, `src/main.rs`); called once at start.

/// mimalloc's option index of `purge_delay` (`mi_option_purge_delay` in
/// the vendored v3 `mimalloc.h`; libmimalloc-sys names no constant for it).
/// The test below checks it against the option's default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays committed before mimalloc returns it to the
/// OS. mimalloc 3 waits a second; a stream frees a few hundred MB a second
/// (rows decoded on one thread, freed on another), so its peak RSS grew by
/// tens of MiB of memory no longer in use. At 100 ms a PostgreSQL stream's
/// peak went from 70–89 to 53–58 MiB at the same speed (docs/performance.md);
/// 10 ms cost ~10% of its speed in page faults. An operator's
/// `MIMALLOC_PURGE_DELAY` wins.
pub const PURGE_DELAY_MS: std::ffi::c_long = 100;

/// Sets the purge delay (above) unless the environment sets it.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's options, an atomic store; any
        // value is valid for this option.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) };
    }
}

#[cfg(test)]
mod tests {
    /// The index names `purge_delay`: its default (1,000 ms in mimalloc 3)
    /// is no other option's. (Run without `MIMALLOC_PURGE_DELAY` set.)
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reads one of mimalloc's options.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(default, 1000);
    }
}
