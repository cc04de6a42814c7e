//! The confined child's seccomp-bpf allow-list: only the system calls image work needs, on the
//! descriptors it was given — reading and writing, memory, threads, time, signals to itself,
//! exiting. Anything else (`open`, `socket`, `connect`, `execve`, `ptrace`, `fork`…) kills the
//! process (SIGSYS), which the parent reports as an error (`parent.rs`).
//!
//! Built with rust-vmm's `seccompiler` (Firecracker's filter compiler: libc its only
//! dependency, an exact allow-list with argument checks). `extrasafe` wraps an older
//! seccompiler in ready-made rule sets whose thread set allows `clone` and `clone3` with any
//! flags, a fork included; here `clone` must name `CLONE_THREAD`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen as Len, SeccompCmpOp as Op, SeccompCondition,
    SeccompFilter, SeccompRule, TargetArch,
};

/// System calls allowed whatever their arguments.
const ALLOWED: &[libc::c_long] = &[
    // The three descriptors it was given (stdin: the sealed input, mapped; stdout: the
    // answer; stderr: its last words), and closing what it drops.
    libc::SYS_read,
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_close,
    // Memory: the allocators (glibc, musl), `madvise` of handed-back strips.
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_madvise,
    libc::SYS_brk,
    // Threads (std, libwebp) and their synchronisation and set-up.
    libc::SYS_futex,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_sched_yield,
    libc::SYS_sched_getaffinity,
    libc::SYS_sigaltstack,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigreturn,
    libc::SYS_gettid,
    libc::SYS_getpid,
    // Time (normally the vDSO), sleeping, random keys for hash maps; glibc's qsort asks for
    // the machine's memory size.
    libc::SYS_clock_gettime,
    libc::SYS_clock_getres,
    libc::SYS_gettimeofday,
    libc::SYS_nanosleep,
    libc::SYS_clock_nanosleep,
    libc::SYS_getrandom,
    libc::SYS_sysinfo,
    // Ending.
    libc::SYS_exit,
    libc::SYS_exit_group,
];

fn arg(index: u8, len: Len, op: Op, value: u64) -> Result<SeccompCondition, String> {
    SeccompCondition::new(index, len, op, value).map_err(|e| e.to_string())
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, String> {
    SeccompRule::new(conditions).map_err(|e| e.to_string())
}

/// The allow-list as BPF for this machine, `pid` being the child's own (`tgkill` only to
/// itself: `abort()` raising SIGABRT). Errors: an architecture seccompiler does not know.
pub fn allow_list(pid: u32) -> Result<BpfProgram, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
        ALLOWED.iter().map(|&nr| (nr, Vec::new())).collect();
    let no_exec = |index| arg(index, Len::Dword, Op::MaskedEq(libc::PROT_EXEC as u64), 0);
    // Memory never becomes executable: no injected code runs.
    rules.insert(libc::SYS_mmap, vec![rule(vec![no_exec(2)?])?]);
    rules.insert(libc::SYS_mprotect, vec![rule(vec![no_exec(2)?])?]);
    // Threads, never processes.
    let thread = libc::CLONE_THREAD as u64;
    rules.insert(
        libc::SYS_clone,
        vec![rule(vec![arg(
            0,
            Len::Qword,
            Op::MaskedEq(thread),
            thread,
        )?])?],
    );
    // clone3's flags are behind a pointer a filter cannot read: allowed here, answered ENOSYS
    // by `no_clone3` (glibc then falls back to `clone`).
    rules.insert(libc::SYS_clone3, Vec::new());
    rules.insert(
        libc::SYS_tgkill,
        vec![rule(vec![arg(0, Len::Dword, Op::Eq, u64::from(pid))?])?],
    );
    // Reading a descriptor's flags (std checks a descriptor is open before closing it).
    rules.insert(
        libc::SYS_fcntl,
        vec![
            rule(vec![arg(1, Len::Dword, Op::Eq, libc::F_GETFD as u64)?])?,
            rule(vec![arg(1, Len::Dword, Op::Eq, libc::F_GETFL as u64)?])?,
        ],
    );
    // Naming its own threads only.
    rules.insert(
        libc::SYS_prctl,
        vec![rule(vec![arg(
            0,
            Len::Dword,
            Op::Eq,
            libc::PR_SET_NAME as u64,
        )?])?],
    );
    compile(rules, SeccompAction::KillProcess, SeccompAction::Allow)
}

/// A second filter answering `clone3` with ENOSYS (the kernel applies the strictest answer of
/// all filters: this one's error over the allow-list's "allow").
pub fn no_clone3() -> Result<BpfProgram, String> {
    let rules = BTreeMap::from([(libc::SYS_clone3, Vec::new())]);
    compile(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
    )
}

fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    otherwise: SeccompAction,
    matched: SeccompAction,
) -> Result<BpfProgram, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| e.to_string())?;
    let filter = SeccompFilter::new(rules, otherwise, matched, arch).map_err(|e| e.to_string())?;
    filter
        .try_into()
        .map_err(|e: seccompiler::BackendError| e.to_string())
}

/// Confines the calling process for good: `PR_SET_NO_NEW_PRIVS`, then both filters, on every
/// thread (it has one). Errors: the kernel has no seccomp, or refused a filter.
pub fn confine() -> Result<(), String> {
    let pid = std::process::id();
    let allow = allow_list(pid)?;
    let clone3 = no_clone3()?;
    // The clone3 filter first: installing a filter takes `prctl(PR_SET_NO_NEW_PRIVS)`, which
    // the allow-list forbids.
    seccompiler::apply_filter_all_threads(&clone3).map_err(|e| e.to_string())?;
    seccompiler::apply_filter_all_threads(&allow).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filters_compile_for_this_machine() {
        assert!(allow_list(1234).unwrap().len() > ALLOWED.len());
        assert!(!no_clone3().unwrap().is_empty());
    }
}
