//! Process-wide memory settings, applied once at start-up before any thread exists.
//!
//! glibc's allocator gives a thread that finds its arena locked a new arena, up to eight per
//! core, and an arena keeps the memory it has touched. So a server that stays at a steady load
//! grows its resident memory in steps whenever the machine is busy (the blocking pool starts
//! more threads and they collide), although nothing leaks: the soak in `load/` measured
//! 30 → 43 MiB under three CPU hogs with 13 arenas. Two arenas are enough for the database
//! and crypto work of a two-core server and keep memory flat (load/RESULTS.md, run 5).

/// The arenas glibc may create (`M_ARENA_MAX`). An operator's `MALLOC_ARENA_MAX` wins.
pub const ALLOCATOR_ARENAS: i32 = 2;

/// Caps glibc's allocator arenas at [`ALLOCATOR_ARENAS`] unless the environment already sets
/// `MALLOC_ARENA_MAX`. Answers whether the cap was applied. Other C libraries have no such
/// arenas, and there this does nothing.
pub fn limit_allocator_arenas() -> bool {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return false;
    }
    set_arena_max(ALLOCATOR_ARENAS)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn set_arena_max(arenas: i32) -> bool {
    // SAFETY: `mallopt` takes two integers and only adjusts a tunable of the allocator; glibc
    // documents M_ARENA_MAX as settable at any time, and this runs first in `main`.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, arenas) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_arena_max(_arenas: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_arena_cap() {
        assert!(super::set_arena_max(super::ALLOCATOR_ARENAS));
    }
}
