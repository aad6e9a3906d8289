"""Task 11.2: what sysmon's retake() does to one P (抢占 preemption and P 的移交 handoff).

Every round (task 11.1), sysmon calls retake(now), which looks at each P in turn. It keeps,
per P, a record of what it saw last (sysmontick: schedtick and schedwhen, syscalltick and
syscallwhen) and compares it with the P's counters: schedtick goes up each time the P starts
a goroutine on a fresh time slice (func execute; one run from runnext inherits the slice),
syscalltick when a syscall on the P ends and when the P is taken from one (exitsyscall,
releaseP). A counter that has not moved since the record means: the same goroutine (or the
same syscall) as last time.

Go 1.27.3, src/runtime/proc.go, func retake (forcePreemptNS = 10 * 1000 * 1000, 10 ms), for
one P `pp` with record `pd`:

    if pp == nil || atomic.Load(&pp.status) != _Prunning {
        continue
    }
    sysretake := false
    schedt := int64(pp.schedtick)
    if int64(pd.schedtick) != schedt {
        pd.schedtick = uint32(schedt)
        pd.schedwhen = now
    } else if pd.schedwhen+forcePreemptNS <= now {
        preemptone(pp)
        // If pp is in a syscall, preemptone doesn't work. ... we need to take the P ourselves.
        sysretake = true
    }
    ...
    thread, ok := setBlockOnExitSyscall(pp)
    if !ok {
        // Not in a syscall, or something changed out from under us.
        goto done
    }
    // Retake the P if it's there for more than 1 sysmon tick (at least 20us).
    if syst := int64(pp.syscalltick); !sysretake && int64(pd.syscalltick) != syst {
        pd.syscalltick = uint32(syst)
        pd.syscallwhen = now
        thread.resume()
        goto done
    }
    // On the one hand we don't want to retake Ps if there is no other work to do,
    // but on the other hand we want to retake them eventually
    // because they can prevent the sysmon thread from deep sleep.
    if runqempty(pp) && sched.nmspinning.Load()+sched.npidle.Load() > 0 && pd.syscallwhen+10*1000*1000 > now {
        thread.resume()
        goto done
    }
    thread.takeP()
    thread.resume()
    n++
    handoffp(pp)

Since Go 1.26 there is no _Psyscall: a P whose goroutine is in a syscall stays _Prunning,
wired to its M, and setBlockOnExitSyscall (same file) tells the two apart - it succeeds only
when the M's current goroutine is in _Gsyscall and still on this M and this P, and then holds
it there until resume(). preemptone (same file) returns at once for a goroutine in _Gsyscall
("Don't bother trying to preempt a goroutine in a syscall"), so for it only the handoff
matters. (Go 1.24.11's retake, with _Psyscall and a CAS of the status to _Pidle, decides the
same cases.)

Write retake_decision(p, seen, now, nmspinning, npidle) -> (action, record):

  p           the P now: {"status": "idle" | "running" | "gcstop" | "dead" (_Pidle,
              _Prunning, _Pgcstop, _Pdead), "schedtick": int, "syscalltick": int,
              "in_syscall": bool (its goroutine is in a syscall: setBlockOnExitSyscall
              succeeds), "runq_empty": bool (its local run queue is empty)}
  seen        sysmon's record of it: {"schedtick", "schedwhen", "syscalltick",
              "syscallwhen"}, all ints; the times in nanoseconds, like now
  now         the time of this round, in nanoseconds
  nmspinning  the number of spinning Ms (looking for work); npidle the number of idle Ps

It returns the action, one of "none", "preempt" (preemptone asked the running goroutine to
stop), "handoff" (the P was taken from its syscall and handed off: n++ and handoffp), and
the record as retake leaves it. Rules, each one checked:

  1. Only a "running" P is looked at: for any other status the action is "none" and the
     record is returned as it came.
  2. A schedtick that differs from the record's is recorded: schedtick copied, schedwhen =
     now. Nothing is preempted that round, however old schedwhen was.
  3. A schedtick equal to the record's, with schedwhen + 10 ms <= now (10_000_000 ns; at
     exactly 10 ms it counts), is a goroutine past its time slice: sysretake. A goroutine
     running Go code (not in_syscall) then gets "preempt".
  4. A goroutine running Go code keeps its P: not in_syscall, the action is never "handoff",
     and the record's syscall fields are never touched, whatever syscalltick says.
  5. In a syscall, without sysretake: a syscalltick that differs from the record's is
     recorded (syscalltick copied, syscallwhen = now) and the action is "none" - the P gets
     at least one more sysmon round (at least 20 us).
  6. In a syscall with the same syscalltick, or with sysretake: "handoff", unless the run
     queue is empty AND nmspinning + npidle > 0 AND seen's syscallwhen + 10 ms > now
     (strictly: at exactly 10 ms the P is handed off) - then "none". The time is the
     record's syscallwhen; schedwhen does not count here.
  7. sysretake in a syscall: the action is "handoff" (not "preempt": preemptone ignores a
     goroutine in a syscall), the syscalltick check of rule 5 is skipped - a syscalltick
     that moved is NOT recorded - but the run-queue rule 6 still applies.
  8. The arguments are not modified: the record returned is a new dict (Go updates
     pp.sysmontick in place; here the caller keeps both).
  9. ValueError for a status that is not one of the four ("syscall" included: since Go 1.26
     a P in a syscall is "running" with in_syscall True), and for a negative nmspinning or
     npidle.

    >>> seen = {"schedtick": 7, "schedwhen": 0, "syscalltick": 3, "syscallwhen": 0}
    >>> p = {"status": "running", "schedtick": 7, "syscalltick": 3, "in_syscall": False, "runq_empty": True}
    >>> retake_decision(p, seen, 10_000_000, 0, 0)[0]
    'preempt'
    >>> retake_decision(dict(p, in_syscall=True), seen, 20_000, 0, 1)[0]
    'none'
    >>> retake_decision(dict(p, in_syscall=True, runq_empty=False), seen, 20_000, 0, 1)[0]
    'handoff'
"""

FORCE_PREEMPT_NS = 10 * 1000 * 1000     # proc.go: forcePreemptNS, the 10 ms time slice
STATUSES = ("idle", "running", "gcstop", "dead")


def retake_decision(p: dict, seen: dict, now: int, nmspinning: int, npidle: int) -> tuple[str, dict]:
    """What retake() does to P `p` this round, and sysmon's record of it afterwards."""
    ### BEGIN SOLUTION 11.2
    if p["status"] not in STATUSES:
        raise ValueError(f"unknown P status {p['status']!r}; since Go 1.26 a P in a syscall is 'running' "
                         f"with in_syscall True. Statuses: {', '.join(STATUSES)}")
    if nmspinning < 0 or npidle < 0:
        raise ValueError(f"nmspinning and npidle count Ms and Ps, so they cannot be negative: {nmspinning}, {npidle}")
    pd = dict(seen)
    if p["status"] != "running":
        return "none", pd
    sysretake = False
    if pd["schedtick"] != p["schedtick"]:
        pd["schedtick"], pd["schedwhen"] = p["schedtick"], now
    elif pd["schedwhen"] + FORCE_PREEMPT_NS <= now:
        sysretake = True
    if not p["in_syscall"]:
        return ("preempt" if sysretake else "none"), pd
    if not sysretake and pd["syscalltick"] != p["syscalltick"]:
        pd["syscalltick"], pd["syscallwhen"] = p["syscalltick"], now
        return "none", pd
    if p["runq_empty"] and nmspinning + npidle > 0 and pd["syscallwhen"] + FORCE_PREEMPT_NS > now:
        return "none", pd
    return "handoff", pd
    ### END SOLUTION
