"""Graded tests of 11_syscalls_preemption. The code under test runs in a child process (see
coursekit.runner); scenarios are module-level functions sent to it as source code.

The three tasks are pure models of Go 1.27.3's runtime (src/runtime/proc.go: sysmon, retake,
exitsyscall, exitsyscallTryGetP, exitsyscallNoP; src/runtime/cgroup_linux.go:
defaultGOMAXPROCS, adjustCgroupGOMAXPROCS; schedinit for the GOMAXPROCS variable). Nothing
here runs threads or measures time: every input is a table row, and every expected value is
worked out from the Go source in the comment beside it.

PYTEST_DONT_REWRITE: a failing assert reads as its message alone, so every assert here has
one, written for the learner (see coursekit.testing).
"""

import pytest

from coursekit.testing import call_each, check_raises, check_table, fail_if_any

task = pytest.mark.task

MS = 1_000_000      # nanoseconds
US = 1_000


# ---------------------------------------------------------------- 11.1 sysmon's sleep schedule

def expected_delays(retook):
    """The delays of proc.go's sysmon loop, written out in the grader (the oracle)."""
    out, idle, delay = [], 0, 0
    for r in retook:
        if idle == 0:
            delay = 20
        elif idle > 50:
            delay *= 2
        delay = min(delay, 10_000)
        out.append(delay)
        idle = 0 if r else idle + 1
    return out


def check_delays(impl, cases, what):
    """Each case: (description of retook, retook, expected delays). Reports the first round
    that differs, with the idle count sysmon has there."""
    __tracebackhide__ = True
    got = impl.run(call_each, "sysmon_delays", [[retook] for _, retook, _ in cases])
    problems = []
    for (described, retook, expected), delays in zip(cases, got):
        if delays == expected:
            continue
        if not isinstance(delays, list) or len(delays) != len(expected):
            problems.append(f"sysmon_delays({described}) should return a list of {len(expected)} delays, one per "
                            f"round, got {delays!r:.200}")
            continue
        i = next(k for k, (g, e) in enumerate(zip(delays, expected)) if g != e)
        idle = next((k for k in range(i) if retook[i - 1 - k]), i)
        problems.append(f"sysmon_delays({described}): round {i} (after {idle} idle round(s) in a row) should sleep "
                        f"{expected[i]!r} us, got {delays[i]!r}; the rounds before it: {delays[max(0, i - 3):i]} "
                        f"(expected {expected[max(0, i - 3):i]})")
    fail_if_any(problems, f"{what}:")


def case(*parts):
    """("F", 55), ("T", 1), ... -> (description, retook, expected)."""
    retook, words = [], []
    for kind, n in parts:
        retook += [kind == "T"] * n
        words.append(f"[{kind == 'T'}] * {n}" if n > 1 else f"[{kind == 'T'}]")
    return " + ".join(words) or "[]", retook, expected_delays(retook)


@pytest.fixture
def sysmon(exercise):
    return exercise("sysmon_delays")


@task("11.1")
def test_a_busy_sysmon_sleeps_20us(sysmon):
    """The first round sleeps 20 us, and so does every round after one that retook"""
    check_delays(sysmon, [
        ("[True] * 10", [True] * 10, [20] * 10),
        ("[False]", [False], [20]),
        ("[True]", [True], [20]),
        ("[True, False, True]", [True, False, True], [20, 20, 20]),
        ("[]", [], []),
    ], "idle starts at 0, and idle == 0 sets delay = 20 before the sleep (proc.go, sysmon)")


@task("11.1")
def test_doubling_starts_after_50_idle_rounds(sysmon):
    """51 rounds of 20 us (idle 0 to 50), then the delay doubles each round: 40, 80, ..."""
    check_delays(sysmon, [
        ("[False] * 56", [False] * 56, [20] * 51 + [40, 80, 160, 320, 640]),
        ("[False] * 51", [False] * 51, [20] * 51),
    ], "the delay stays 20 while 1 <= idle <= 50 and doubles once idle > 50 (idle counts the rounds in a row "
       "that retook nothing)")


@task("11.1")
def test_the_sleep_is_capped_at_10ms(sysmon):
    """5120 doubles to 10240, which is capped to 10000, and every later idle round sleeps 10000"""
    check_delays(sysmon, [
        ("[False] * 80", [False] * 80,
         [20] * 51 + [40, 80, 160, 320, 640, 1280, 2560, 5120] + [10_000] * 21),
    ], "the cap comes after the doubling, and the capped value is what the next round doubles")


@task("11.1")
def test_a_retake_resets_the_schedule(sysmon):
    """A round that retook sets idle to 0: the next round sleeps 20 us, and the count starts over"""
    check_delays(sysmon, [
        case(("F", 55), ("T", 1), ("F", 5)),     # round 55 sleeps 640 (its own result comes after), 56 sleeps 20
        case(("F", 30), ("T", 1), ("F", 30)),    # no doubling: never more than 50 idle rounds in a row
        case(("F", 70), ("T", 1), ("F", 60)),    # from 10000 back to 20, then 51 x 20 and doubling again
        case(("F", 52), ("T", 2), ("F", 52), ("T", 1)),
    ], "a round's result counts after its sleep: retake != 0 sets idle = 0, so the NEXT round sleeps 20 and "
       "the idle count starts again from 0")
    check_delays(sysmon, [
        ("[False] * 10 + [True]", [False] * 10 + [True], [20] * 11),
        ("[False] * 60 + [True]", [False] * 60 + [True], expected_delays([False] * 61)),
    ], "the last round's result only matters for a round that never comes")


def bad_retook(module):
    """Which of these retook arguments make sysmon_delays raise TypeError (anything else raised
    propagates, so a stub's NotImplementedError is reported as such)."""
    cases = {"a tuple (True, False)": (True, False), "None": None, "a generator of bools": (b for b in [True]),
             "[0, 1]": [0, 1], "[1]": [1], "[True, None]": [True, None], "['yes']": ["yes"],
             "[False, 0.0]": [False, 0.0]}
    out = {}
    for name, value in cases.items():
        try:
            module.sysmon_delays(value)
        except TypeError:
            out[name] = True
        else:
            out[name] = False
    return out


@task("11.1")
def test_bad_retook_raises_type_error(sysmon):
    """retook must be a list of bools; anything else raises TypeError"""
    got = sysmon.run(bad_retook)
    missing = [name for name, raised in got.items() if not raised]
    assert not missing, ("sysmon_delays takes a list holding only True and False (a bool per round); these "
                         f"should raise TypeError but did not: {', '.join(missing)}")


@task("11.1")
def test_sysmon_sleep_depends_on_idle_alone(sysmon):
    """sysmon_sleep(idle): 20 up to idle 50, then doubling, and 10000 from idle 59 on, however large"""
    check_table(sysmon, "sysmon_sleep", [
        (0, 20), (1, 20), (50, 20), (51, 40), (52, 80), (57, 2560), (58, 5120), (59, 10_000), (60, 10_000),
        (1000, 10_000), (10**6, 10_000),
    ], "the delay after `idle` idle rounds in a row")
    rows = [(n, expected_delays([False] * (n + 1))[-1]) for n in range(0, 130)]
    check_table(sysmon, "sysmon_sleep", rows,
                "sysmon_sleep(n) is the delay of round n of sysmon_delays([False] * (n + 1))")


@task("11.1")
def test_bad_idle_raises(sysmon):
    """sysmon_sleep: TypeError for a non-int (a bool included), ValueError for a negative idle"""
    check_raises(sysmon, "sysmon_sleep", [(True,), (False,), (1.5,), ("3",), (None,)], "TypeError")
    check_raises(sysmon, "sysmon_sleep", [(-1,), (-60,)], "ValueError")


# ---------------------------------------------------------------- 11.2 retake's decision

def P(schedtick=7, syscalltick=3, in_syscall=False, runq_empty=True, status="running"):
    return {"status": status, "schedtick": schedtick, "syscalltick": syscalltick,
            "in_syscall": in_syscall, "runq_empty": runq_empty}


def SEEN(schedtick=7, schedwhen=0, syscalltick=3, syscallwhen=0):
    return {"schedtick": schedtick, "schedwhen": schedwhen, "syscalltick": syscalltick, "syscallwhen": syscallwhen}


def check_retake(impl, rows, what):
    """Each row: (why, p, seen, now, nmspinning, npidle, expected action, expected record)."""
    __tracebackhide__ = True
    got = impl.run(call_each, "retake_decision", [list(row[1:6]) for row in rows])
    problems = []
    for (why, p, seen, now, spinning, idle, action, record), result in zip(rows, got):
        if result == [action, record]:
            continue
        call = f"retake_decision(p={p}, seen={seen}, now={now}, nmspinning={spinning}, npidle={idle})"
        if not (isinstance(result, list) and len(result) == 2):
            problems.append(f"{why}: {call} should return a pair (action, record), got {result!r:.300}")
        elif result[0] != action:
            problems.append(f"{why}: {call} should give action {action!r}, got {result[0]!r}")
        else:
            problems.append(f"{why}: {call} gives the right action {action!r} but should leave the record "
                            f"{record}, got {result[1]!r}")
    fail_if_any(problems, f"{what}:")


@pytest.fixture
def retake(exercise):
    return exercise("retake")


@task("11.2")
def test_only_running_ps_are_looked_at(retake):
    """An idle, stopped or dead P is skipped: action "none" and the record as it came"""
    rows = []
    for status in ("idle", "gcstop", "dead"):
        rows.append((f"a P in status {status!r} with both ticks moved and its old G in a syscall",
                     P(schedtick=9, syscalltick=5, in_syscall=True, runq_empty=False, status=status), SEEN(),
                     50 * MS, 0, 0, "none", SEEN()))
        rows.append((f"a P in status {status!r} whose schedtick has not moved for 50 ms",
                     P(status=status), SEEN(), 50 * MS, 0, 0, "none", SEEN()))
    check_retake(retake, rows, "retake skips every P that is not _Prunning (`continue` before anything is recorded)")


@task("11.2")
def test_a_new_schedtick_is_recorded(retake):
    """A schedtick that differs from the record is copied, with schedwhen = now; nothing is preempted"""
    check_retake(retake, [
        ("the P scheduled a new G since the last look (record 50 ms old)", P(schedtick=8), SEEN(), 50 * MS, 0, 0,
         "none", SEEN(schedtick=8, schedwhen=50 * MS)),
        ("the tick differs, even if it is smaller (uint32 wrapped around)", P(schedtick=0),
         SEEN(schedtick=2**32 - 1, schedwhen=1 * MS), 90 * MS, 0, 0, "none", SEEN(schedtick=0, schedwhen=90 * MS)),
        ("a new schedtick in a syscall whose syscalltick moved too: both are recorded",
         P(schedtick=8, syscalltick=4, in_syscall=True, runq_empty=False), SEEN(), 50 * MS, 0, 0,
         "none", SEEN(schedtick=8, schedwhen=50 * MS, syscalltick=4, syscallwhen=50 * MS)),
    ], "pd.schedtick != pp.schedtick: record it (pd.schedtick = pp.schedtick, pd.schedwhen = now), no preemption")


@task("11.2")
def test_a_goroutine_past_its_slice_is_preempted(retake):
    """Same schedtick and schedwhen + 10 ms <= now: "preempt" (at exactly 10 ms too); the record stays"""
    check_retake(retake, [
        ("the same G for exactly 10 ms", P(), SEEN(schedwhen=5 * MS), 15 * MS, 0, 0, "preempt", SEEN(schedwhen=5 * MS)),
        ("the same G for 35 ms", P(), SEEN(schedwhen=5 * MS), 40 * MS, 2, 3, "preempt", SEEN(schedwhen=5 * MS)),
        ("the same G for 1 ns less than 10 ms", P(), SEEN(schedwhen=5 * MS), 15 * MS - 1, 0, 0,
         "none", SEEN(schedwhen=5 * MS)),
        ("the same G for 20 us", P(), SEEN(schedwhen=5 * MS), 5 * MS + 20 * US, 0, 0, "none", SEEN(schedwhen=5 * MS)),
    ], "pd.schedwhen + forcePreemptNS <= now (10 ms, inclusive) calls preemptone; schedwhen is not reset by it")


@task("11.2")
def test_go_code_keeps_its_p(retake):
    """A G running Go code is never handed off, and its syscall record is never touched"""
    check_retake(retake, [
        ("Go code, syscalltick moved, work waiting, nobody spinning or idle",
         P(syscalltick=4, runq_empty=False), SEEN(schedwhen=49 * MS), 50 * MS, 0, 0, "none", SEEN(schedwhen=49 * MS)),
        ("Go code, same ticks, work waiting, nobody spinning or idle", P(runq_empty=False),
         SEEN(schedwhen=45 * MS, syscallwhen=1 * MS), 50 * MS, 0, 0, "none", SEEN(schedwhen=45 * MS, syscallwhen=1 * MS)),
        ("Go code with a new schedtick and a moved syscalltick: only the schedtick is recorded",
         P(schedtick=8, syscalltick=6), SEEN(), 50 * MS, 1, 1, "none", SEEN(schedtick=8, schedwhen=50 * MS)),
    ], "setBlockOnExitSyscall fails for a G that is not in a syscall (goto done): no handoff, no syscall record")


@task("11.2")
def test_a_new_syscalltick_is_recorded(retake):
    """In a syscall without sysretake: a syscalltick that moved is recorded (syscallwhen = now), and nothing is done"""
    check_retake(retake, [
        ("in a syscall, syscalltick moved, work waiting, nobody spinning or idle",
         P(syscalltick=4, in_syscall=True, runq_empty=False), SEEN(schedwhen=45 * MS), 50 * MS, 0, 0,
         "none", SEEN(schedwhen=45 * MS, syscalltick=4, syscallwhen=50 * MS)),
        ("in a syscall, syscalltick moved, record 1 s old",
         P(syscalltick=4, in_syscall=True), SEEN(schedwhen=995 * MS), 1000 * MS, 0, 1,
         "none", SEEN(schedwhen=995 * MS, syscalltick=4, syscallwhen=1000 * MS)),
    ], "pd.syscalltick != pp.syscalltick (and no sysretake): record it and let the P be one more sysmon round "
       "(at least 20 us)")


@task("11.2")
def test_a_p_stuck_in_a_syscall_is_handed_off(retake):
    """Same syscalltick: "handoff" when work waits in the run queue, or nobody spins and no P idles"""
    check_retake(retake, [
        ("in the same syscall 20 us later, work in the run queue, Ms spinning and Ps idle",
         P(in_syscall=True, runq_empty=False), SEEN(schedwhen=50 * MS, syscallwhen=50 * MS), 50 * MS + 20 * US, 1, 1,
         "handoff", SEEN(schedwhen=50 * MS, syscallwhen=50 * MS)),
        ("in the same syscall 20 us later, empty run queue, nobody spinning, no idle P",
         P(in_syscall=True), SEEN(schedwhen=50 * MS, syscallwhen=50 * MS), 50 * MS + 20 * US, 0, 0,
         "handoff", SEEN(schedwhen=50 * MS, syscallwhen=50 * MS)),
        ("a new schedtick but the same syscalltick, work waiting: recorded and handed off",
         P(schedtick=8, in_syscall=True, runq_empty=False), SEEN(syscallwhen=49 * MS), 50 * MS, 0, 0,
         "handoff", SEEN(schedtick=8, schedwhen=50 * MS, syscallwhen=49 * MS)),
    ], "a P whose syscall has lasted a sysmon round is taken (takeP) and handed off (handoffp)")


@task("11.2")
def test_spare_capacity_delays_the_handoff_10ms(retake):
    """Empty run queue and nmspinning + npidle > 0: no handoff while syscallwhen + 10 ms > now"""
    check_retake(retake, [
        ("empty run queue, one spinning M, syscall seen 20 us ago", P(in_syscall=True),
         SEEN(schedwhen=50 * MS, syscallwhen=50 * MS), 50 * MS + 20 * US, 1, 0,
         "none", SEEN(schedwhen=50 * MS, syscallwhen=50 * MS)),
        ("empty run queue, two idle Ps, syscall seen 9 ms ago", P(in_syscall=True),
         SEEN(schedwhen=50 * MS, syscallwhen=50 * MS), 59 * MS, 0, 2,
         "none", SEEN(schedwhen=50 * MS, syscallwhen=50 * MS)),
        ("empty run queue, one idle P, syscall seen 1 ns less than 10 ms ago", P(in_syscall=True),
         SEEN(schedwhen=50 * MS, syscallwhen=50 * MS), 60 * MS - 1, 0, 1,
         "none", SEEN(schedwhen=50 * MS, syscallwhen=50 * MS)),
        ("empty run queue, one idle P, syscall seen exactly 10 ms ago", P(in_syscall=True),
         SEEN(schedwhen=51 * MS, syscallwhen=50 * MS), 60 * MS, 0, 1,
         "handoff", SEEN(schedwhen=51 * MS, syscallwhen=50 * MS)),
        ("empty run queue, one spinning M, syscall seen 12 ms ago, schedtick seen 1 ms ago", P(in_syscall=True),
         SEEN(schedwhen=61 * MS, syscallwhen=50 * MS), 62 * MS, 1, 0,
         "handoff", SEEN(schedwhen=61 * MS, syscallwhen=50 * MS)),
    ], "runqempty && nmspinning+npidle > 0 && pd.syscallwhen + 10 ms > now keeps the P in its syscall (strictly: "
       "at 10 ms it is handed off; the time is the record's syscallwhen)")


@task("11.2")
def test_past_its_slice_in_a_syscall_means_handoff(retake):
    """sysretake in a syscall: "handoff", not "preempt"; a moved syscalltick is not recorded; rule 6 still holds"""
    check_retake(retake, [
        ("same schedtick for 30 ms, in a syscall whose syscalltick moved, one idle P",
         P(syscalltick=4, in_syscall=True), SEEN(), 30 * MS, 0, 1, "handoff", SEEN()),
        ("same schedtick for 30 ms, in the same syscall, nobody spinning or idle",
         P(in_syscall=True), SEEN(syscallwhen=5 * MS), 30 * MS, 0, 0, "handoff", SEEN(syscallwhen=5 * MS)),
        ("same schedtick for 30 ms, syscalltick moved, empty run queue, one idle P, syscallwhen 5 ms ago",
         P(syscalltick=4, in_syscall=True), SEEN(syscallwhen=25 * MS), 30 * MS, 0, 1, "none", SEEN(syscallwhen=25 * MS)),
        ("the same, but work waits in the run queue",
         P(syscalltick=4, in_syscall=True, runq_empty=False), SEEN(syscallwhen=25 * MS), 30 * MS, 0, 1,
         "handoff", SEEN(syscallwhen=25 * MS)),
    ], "sysretake skips the syscalltick check (`!sysretake && ...`) but not the run-queue check; preemptone "
       "does nothing for a G in _Gsyscall")


def arguments_after(module):
    """Call retake_decision on dicts that would all be updated, and report them afterwards."""
    cases = [
        ({"status": "running", "schedtick": 8, "syscalltick": 4, "in_syscall": True, "runq_empty": False},
         {"schedtick": 7, "schedwhen": 0, "syscalltick": 3, "syscallwhen": 0}, 50_000_000),
        ({"status": "running", "schedtick": 7, "syscalltick": 3, "in_syscall": True, "runq_empty": False},
         {"schedtick": 7, "schedwhen": 0, "syscalltick": 3, "syscallwhen": 0}, 50_000_000),
    ]
    out = []
    for p, seen, now in cases:
        p_before, seen_before = dict(p), dict(seen)
        result = module.retake_decision(p, seen, now, 0, 0)
        out.append({"p": p == p_before, "seen": seen == seen_before, "before": seen_before, "after": seen,
                    "record": result[1]})
    return out


@task("11.2")
def test_the_arguments_are_left_alone(retake):
    """retake_decision returns a new record and modifies neither p nor seen"""
    problems = []
    for got in retake.run(arguments_after):
        if not got["p"]:
            problems.append("retake_decision changed the p dict it was given; it should only read it")
        if not got["seen"]:
            problems.append(f"retake_decision changed the seen dict it was given, from {got['before']} to "
                            f"{got['after']}; return the updated record as a new dict instead")
    fail_if_any(sorted(set(problems)), "the caller keeps its arguments:")


@task("11.2")
def test_bad_input_raises_value_error(retake):
    """An unknown status ("syscall" included) and a negative nmspinning or npidle raise ValueError"""
    check_raises(retake, "retake_decision", [
        (P(status="syscall", in_syscall=True), SEEN(), 50 * MS, 0, 0),
        (P(status="Prunning"), SEEN(), 50 * MS, 0, 0),
        (P(status=""), SEEN(), 50 * MS, 0, 0),
        (P(), SEEN(), 50 * MS, -1, 0),
        (P(), SEEN(), 50 * MS, 0, -1),
    ], "ValueError")


# ---------------------------------------------------------------- 11.3 exitsyscall and GOMAXPROCS

@pytest.fixture
def syscall_exit(exercise):
    return exercise("syscall_exit")


@task("11.3")
def test_a_p_nobody_took_is_kept(syscall_exit):
    """The M still has its P: the fast path, whatever else is true"""
    check_table(syscall_exit, "exitsyscall_path", [("ours", 0, "fast"), ("ours", 3, "fast")],
                "exitsyscall: `if pp != nil { // Fast path: we still have our P.`")


@task("11.3")
def test_the_old_p_comes_back_only_from_a_syscall(syscall_exit):
    """The old P is taken back only from another M in a syscall on it, before any idle P; an idle one gets no preference"""
    check_table(syscall_exit, "exitsyscall_path", [
        ("syscall", 0, "old-p"), ("syscall", 4, "old-p"),
        ("idle", 1, "idle-p"), ("idle", 3, "idle-p"), ("running", 0, "no-p"), ("gcstop", 0, "no-p"),
    ], "exitsyscallTryGetP steals the old P back only when setBlockOnExitSyscall(oldp) succeeds (its new M's G "
       "is in a syscall); an idle old P is found, if at all, through the idle list like any other")


@task("11.3")
def test_then_any_idle_p_else_the_global_queue(syscall_exit):
    """No P of its own: any idle P ("idle-p"), else the global run queue and stopm ("no-p")"""
    check_table(syscall_exit, "exitsyscall_path", [
        (None, 0, "no-p"), (None, 2, "idle-p"), ("running", 1, "idle-p"), ("running", 0, "no-p"),
        ("gcstop", 1, "idle-p"), ("idle", 2, "idle-p"),
    ], "then pidleget(0) if sched.pidle != 0, else exitsyscallNoP: globrunqput(gp) and stopm()")


@task("11.3")
def test_exitsyscall_bad_input_raises(syscall_exit):
    """An unknown old P state, a negative idle_ps, and "idle" with idle_ps 0 raise ValueError"""
    check_raises(syscall_exit, "exitsyscall_path",
                 [("psyscall", 0), ("Ours", 1), ("", 0), ("running", -1), ("idle", 0)], "ValueError")


@task("11.3")
def test_without_a_limit_the_default_is_the_cpu_count(syscall_exit):
    """No quota, "max" or a negative quota: GOMAXPROCS defaults to ncpu, period not looked at"""
    check_table(syscall_exit, "default_gomaxprocs", [
        (8, 8), (1, 1), (96, 96), (8, None, None, 8), (8, None, 100000, 8),
        (8, -1, 100000, 8), (8, -1, None, 8), (8, "max", 100000, 8), (8, "max", None, 8),
    ], "cgroup v1 cfs_quota_us -1 and v2 cpu.max 'max' mean no limit (ReadCPULimit: ok false)")


@task("11.3")
def test_the_quota_is_rounded_up_to_at_least_2(syscall_exit):
    """The limit is quota / period rounded up, at least 2, and GOMAXPROCS is min(ncpu, limit)"""
    check_table(syscall_exit, "default_gomaxprocs", [
        (8, 150000, 100000, 2), (8, 350000, 100000, 4), (8, 300000, 100000, 3), (8, 300001, 100000, 4),
        (8, 250000, 100000, 3), (8, 50000, 100000, 2), (8, 100000, 100000, 2), (16, 800000, 100000, 8),
        (64, 1_000_000, 1_000_000, 2), (8, 5000, 1000, 5), (8, 1000, 1000, 2), (64, 3_000_000, 1_000_000, 3),
    ], "adjustCgroupGOMAXPROCS: limit = ceil(quota / period), limit = max(limit, 2), procs = min(procs, limit)")


@task("11.3")
def test_the_cpu_count_caps_the_limit(syscall_exit):
    """The floor of 2 never raises GOMAXPROCS above ncpu: 1 CPU gives 1"""
    check_table(syscall_exit, "default_gomaxprocs", [
        (1, 350000, 100000, 1), (1, 50000, 100000, 1), (2, 50000, 100000, 2), (3, 900000, 100000, 3),
        (4, 450000, 100000, 4), (4, 150000, 100000, 2),
    ], "`if int32(limit) < procs { procs = int32(limit) }`: the limit only ever lowers the CPU count")


@task("11.3")
def test_default_gomaxprocs_bad_input_raises(syscall_exit):
    """ncpu < 1, a str quota other than "max", a quota without a positive period: ValueError"""
    check_raises(syscall_exit, "default_gomaxprocs", [
        (0,), (-2,), (0, 150000, 100000), (8, "150000", 100000), (8, "unlimited", 100000),
        (8, 150000, None), (8, 150000, 0), (8, 150000, -100000), (8, 0, None),
    ], "ValueError")


@task("11.3")
def test_a_positive_gomaxprocs_variable_wins(syscall_exit):
    """A GOMAXPROCS that ParseInt reads as n > 0 is the answer, even above the CPUs or the quota"""
    check_table(syscall_exit, "startup_gomaxprocs", [
        ("4", 8, 4), ("1", 8, 1), ("64", 8, 64), ("3", 8, 150000, 100000, 3), ("12", 8, 350000, 100000, 12),
        ("+16", 8, 16), ("0004", 8, 4), ("0000000000004", 8, 4), ("2147483647", 8, 2147483647),
    ], "schedinit: `if n, err := strconv.ParseInt(gogetenv(\"GOMAXPROCS\"), 10, 32); err == nil && n > 0` wins "
       "over defaultGOMAXPROCS (a sign is allowed, leading zeros too)")


@task("11.3")
def test_the_variable_is_parsed_like_go(syscall_exit):
    """Only [+-]ASCII digits that fit an int32 parse: spaces, "_", "0x", "4.0", other digits fall back"""
    check_table(syscall_exit, "startup_gomaxprocs", [
        (" 4", 8, 8), ("4 ", 8, 8), ("4\n", 8, 8), ("1_0", 8, 8), ("0x10", 8, 8), ("4.0", 8, 8), ("4e1", 8, 8),
        ("\u0664", 8, 8), ("\uff14", 8, 8), ("+", 8, 8), ("+-4", 8, 8), ("auto", 8, 8),
        ("2147483648", 8, 8), ("99999999999999999999", 8, 8), ("\u0664", 8, 150000, 100000, 2),
    ], "strconv.ParseInt(s, 10, 32) takes an optional sign and ASCII 0-9 only (Python's int() and \\d take "
       "more), and a value above 2147483647 is an ErrRange: then the default is used")


@task("11.3")
def test_zero_negative_or_unset_means_the_default(syscall_exit):
    """Unset, empty, zero or negative GOMAXPROCS: the default (CPUs, lowered by a quota)"""
    check_table(syscall_exit, "startup_gomaxprocs", [
        (None, 8, 8), ("", 8, 8), ("0", 8, 8), ("-0", 8, 8), ("-3", 8, 8), ("0", 8, 350000, 100000, 4),
        (None, 8, 150000, 100000, 2), ("-1", 2, "max", 100000, 2), ("", 1, 350000, 100000, 1),
    ], "err != nil or n <= 0: procs = defaultGOMAXPROCS(numCPUStartup)")
    check_raises(syscall_exit, "startup_gomaxprocs", [(4, 8), (4.0, 8), (["4"], 8)], "TypeError")
