"""Task 11.3: the way out of a syscall, and the default GOMAXPROCS.

Part 1. A goroutine returns from a blocking syscall (系统调用). While it was in the kernel,
sysmon may have taken its P away (task 11.2: takeP, then handoffp gave the P to another M or
put it on the idle list). Go 1.27.3, src/runtime/proc.go:

  * func exitsyscall: `pp := gp.m.p.ptr(); if pp != nil { // Fast path: we still have our
    P.` - since Go 1.26 the P stays wired to the M during the syscall, so "nobody took it"
    is simply "the M still has a P"; there is no status to check.
  * Otherwise func exitsyscallTryGetP(oldp): "Try to steal our old P back": only if
    setBlockOnExitSyscall(oldp) succeeds, that is when the old P is _Prunning on another M
    whose goroutine is itself in a syscall (takeP then takes it from that thread). An old P
    that sits idle gets no preference: next comes "Try to get an idle P", pidleget(0), which
    takes whichever P is first on the idle list (perhaps the old one, perhaps not).
  * Still no P: func exitsyscallNoP, on g0: the goroutine becomes _Grunnable, one more
    pidleget under sched.lock, and if that fails too, globrunqput(gp) (the global run queue)
    and stopm() (the M parks; stoplockedm() instead for a goroutine locked to its thread).

(Go 1.24.11 did it with _Psyscall: func exitsyscallfast CASes the old P from _Psyscall to
_Pidle - which covers both "nobody took it" and "it was taken and its new M is in a syscall
on it" - then tries exitsyscallfast_pidle; exitsyscall0 is the same slowest path as
exitsyscallNoP.)

exitsyscall_path(old_p, idle_ps) -> "fast" | "old-p" | "idle-p" | "no-p"
  old_p: where the P the goroutine had when it entered the syscall is now:
    "ours"     still wired to this M (sysmon did not take it)
    "syscall"  taken, and now _Prunning on another M whose goroutine is in a syscall
    "running"  taken, and another M runs Go code on it
    "idle"     taken, and on the idle list
    "gcstop"   stopped for a stop-the-world (_Pgcstop: stopTheWorldWithSema took it with
               gcstopP, or entersyscallHandleGCWait gave it up as the syscall began)
    None       there is no old P (m.oldp is nil: entersyscallblock hands its P off before
               the call and records none)
  idle_ps: the number of Ps on the idle list (sched.npidle; exitsyscallTryGetP tests the
  list's head, sched.pidle != 0), the old one included if "idle".
  Rules, each one checked:
  1. "ours" -> "fast", whatever else is true.
  2. "syscall" -> "old-p": the old P is taken back from the syscalling thread, before any
     idle P is tried. No other state of the old P gives "old-p" - an idle one neither.
  3. Otherwise "idle-p" if idle_ps > 0, else "no-p" (globrunqput + stopm).
  4. ValueError for an old_p not listed above, a negative idle_ps, and "idle" with
     idle_ps == 0 (an old P on the idle list is counted there).

Part 2. GOMAXPROCS, the number of Ps. Since Go 1.25 its default on Linux honours a cgroup
CPU limit (cgroup v2 cpu.max "<quota> <period>", v1 cpu.cfs_quota_us and cpu.cfs_period_us,
microseconds). Go 1.27.3, src/runtime/cgroup_linux.go, func defaultGOMAXPROCS: "GOMAXPROCS is
the minimum of: 1. Total number of logical CPUs available from sched_getaffinity. 2. The
average CPU cgroup throughput limit (average throughput = quota/period). A limit less than 2
is rounded up to 2, and any fractional component is rounded up." func adjustCgroupGOMAXPROCS:

    limit, ok, err := cgroup.ReadCPULimit(cpu)
    if err == nil && ok {
        limit = ceil(limit)
        limit = max(limit, 2)
        if int32(limit) < procs {
            procs = int32(limit)
        }
    }

and src/internal/runtime/cgroup/cgroup_linux.go, func ReadCPULimit: v1 "if quota < 0 { //
No limit." (cfs_quota_us is -1 without a limit), v2 (cgroup.go, func parseV2Limit) a quota of
"max" is no limit; otherwise the limit is float64(quota) / float64(period). Without a cgroup
(or on other systems, cgroup_stubs.go) the default is the CPU count. (A go.mod older than
go 1.25 sets GODEBUG containermaxprocs=0, which turns the cgroup part off, and sysmon
re-reads the limit about once a second, sysmonUpdateGOMAXPROCS, unless GOMAXPROCS was set by
hand; neither is modelled.)

default_gomaxprocs(ncpu, quota_us=None, period_us=None) -> int
  5. No limit - quota_us None, "max", or negative (-1) - gives ncpu; period_us is then not
     looked at.
  6. Otherwise limit = quota_us / period_us rounded UP (150000/100000 -> 2, 300000/100000 ->
     3, 300001/100000 -> 4), then raised to at least 2, and the result is min(ncpu, limit):
     the floor of 2 never raises GOMAXPROCS above the CPU count (ncpu 1 gives 1).
  7. ValueError for ncpu < 1, a str quota other than "max", and a limit (quota_us >= 0)
     without a positive int period_us.

At startup, src/runtime/proc.go, func schedinit, an explicit GOMAXPROCS environment variable
wins over the default: `if n, err := strconv.ParseInt(gogetenv("GOMAXPROCS"), 10, 32); err
== nil && n > 0 { procs = int32(n) ... } else { ... procs = defaultGOMAXPROCS(numCPUStartup) }`.

startup_gomaxprocs(env, ncpu, quota_us=None, period_us=None) -> int
  env is the variable's value (a str), or None when it is not set.
  8. env wins when strconv.ParseInt(env, 10, 32) succeeds with n > 0, and then it is n even
     above the CPU count or the quota ("64" on 8 CPUs gives 64). ParseInt with base 10 takes
     an optional "+" or "-" sign and then one or more ASCII digits 0-9, nothing else: no
     spaces, no "_", no "0x", no "4.0", no other Unicode digits (Python's int() and the
     regex \\d accept some of these; Go does not), and the value must fit an int32 (at most
     2147483647). (Go 1.24.11's schedinit read it with the runtime's own atoi32,
     src/runtime/string.go, which takes no "+", and had no cgroup default: procs := ncpu.)
  9. Anything else (None, "", "0", "-3", " 4", "auto", ...) falls back to
     default_gomaxprocs(ncpu, quota_us, period_us). A non-str, non-None env raises TypeError.

    >>> exitsyscall_path("ours", 0), exitsyscall_path("idle", 1), exitsyscall_path("running", 0)
    ('fast', 'idle-p', 'no-p')
    >>> default_gomaxprocs(8, 150000, 100000), default_gomaxprocs(8, "max", 100000)
    (2, 8)
    >>> startup_gomaxprocs("+16", 8), startup_gomaxprocs("0", 8, 350000, 100000)
    (16, 4)
"""

OLD_P_STATES = ("ours", "syscall", "running", "idle", "gcstop", None)
INT32_MAX = 2**31 - 1


def exitsyscall_path(old_p: str | None, idle_ps: int) -> str:
    """Which way exitsyscall gets the goroutine running again (see the module docstring)."""
    ### BEGIN SOLUTION 11.3
    if old_p not in OLD_P_STATES:
        raise ValueError(f"unknown old P state {old_p!r}; expected one of {OLD_P_STATES}")
    if idle_ps < 0:
        raise ValueError(f"idle_ps counts Ps, so it cannot be negative: {idle_ps}")
    if old_p == "idle" and idle_ps == 0:
        raise ValueError("an old P on the idle list is counted in idle_ps, which cannot be 0 then")
    if old_p == "ours":
        return "fast"
    if old_p == "syscall":
        return "old-p"
    return "idle-p" if idle_ps > 0 else "no-p"
    ### END SOLUTION


def default_gomaxprocs(ncpu: int, quota_us: int | str | None = None, period_us: int | None = None) -> int:
    """Go 1.25+'s default GOMAXPROCS for `ncpu` CPUs and an optional cgroup CPU quota/period."""
    ### BEGIN SOLUTION 11.3
    if ncpu < 1:
        raise ValueError(f"ncpu must be at least 1, got {ncpu}")
    if quota_us is None or quota_us == "max":
        return ncpu
    if isinstance(quota_us, str):
        raise ValueError(f"a quota is an int of microseconds or 'max', not {quota_us!r}")
    if quota_us < 0:
        return ncpu
    if type(period_us) is not int or period_us <= 0:
        raise ValueError(f"a quota of {quota_us} us needs a positive period in microseconds, got {period_us!r}")
    limit = -(-quota_us // period_us)          # the ceiling, in integers
    return min(ncpu, max(limit, 2))
    ### END SOLUTION


def startup_gomaxprocs(env: str | None, ncpu: int, quota_us: int | str | None = None,
                       period_us: int | None = None) -> int:
    """GOMAXPROCS at startup: a valid positive GOMAXPROCS environment value, else the default."""
    ### BEGIN SOLUTION 11.3
    if env is not None and not isinstance(env, str):
        raise TypeError(f"env is the variable's text or None, not {type(env).__name__}")
    if env is not None:
        digits = env[1:] if env[:1] in ("+", "-") else env
        if digits and all(c in "0123456789" for c in digits):
            significant = digits.lstrip("0")
            n = int(env) if len(significant) <= 10 else 0       # 11+ digits cannot fit an int32
            if 0 < n <= INT32_MAX:
                return n
    return default_gomaxprocs(ncpu, quota_us, period_us)
    ### END SOLUTION
