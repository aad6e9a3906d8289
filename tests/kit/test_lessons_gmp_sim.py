"""lessons.gmp_sim: the G-M-P scheduler model, rule by rule.

The model is deterministic, so these tests compare exact queues, ticks and times where the
rule fixes them, and each one fails if its rule is broken in the simulator.  No test sleeps
or looks at the wall clock.
"""

import json
import re
import sys

import pytest

from lessons import gmp_sim as gs


def spawner(n, then_ns=10_000_000):
    """main: `go` n Gs that each compute 1 ms, then compute then_ns itself (keeping its P)."""
    def child():
        yield gs.Run(1_000_000)

    def main():
        for _ in range(n):
            yield gs.Go(child)
        yield gs.Run(then_ns)
    return main


def first(sim, kind, **where):
    for e in sim.events:
        if e.kind == kind and all(getattr(e, k) == v for k, v in where.items()):
            return e
    raise AssertionError(f"no {kind} event {where}")


# ---------------------------------------------------------------------------
# the run queue: runqput, runqputslow, runqget, execute
# ---------------------------------------------------------------------------

def test_runnext_kick_and_overflow_moves_128_plus_1_to_the_global_queue_in_order():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(spawner(258))                       # G2..G259
    sim.run(until_ns=100_000)
    snap = sim.snapshot()
    p0 = snap["ps"][0]
    # G259 in runnext; its predecessor G258 was kicked onto a full ring, so runqputslow moved
    # the 128 oldest (G2..G129) and then G258 to the global queue: 129 Gs, in that order.
    assert p0["runnext"] == 259
    assert snap["global_runq"] == list(range(2, 130)) + [258]
    assert p0["runq"] == list(range(130, 258))
    assert sim.stats["runq_overflows"] == 1
    assert p0["curg"] == 1


def test_go_puts_the_new_g_in_runnext_and_kicks_the_old_one_to_the_tail():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(spawner(3))
    sim.run(until_ns=20_000)
    p0 = sim.snapshot()["ps"][0]
    assert (p0["runnext"], p0["runq"]) == (4, [2, 3])


def test_runnext_inherits_the_time_slice_so_a_ping_pong_pair_does_not_tick():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(gs.scenarios.pingpong(rounds=1000))
    sim.run()
    assert sim.exited and sim.result["value"] == 1000
    assert sim.stats["schedules"] > 2000
    # every hand-off ran the partner from runnext (inheritTime): schedtick moved only when
    # main and the two Gs first ran from the ring
    runs = [e for e in sim.events if e.kind == gs.EV_RUN]
    assert sum(e.detail.startswith("runnext") for e in runs) >= 1998
    assert sim.stats["schedticks"] == [2]      # main, then G2 from the ring; then only runnext


def test_the_61st_schedtick_takes_a_g_from_the_global_queue():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(gs.scenarios.fairness(where="ring", work_ns=50_000, ring=200))
    sim.run(until_ns=10**9)
    r = sim.result
    fair = [e for e in sim.events if e.kind == gs.EV_GLOBAL_FAIR]
    assert [e.detail for e in fair] == ["schedtick=61"]
    assert fair[0].g == 2                      # the G that Gosched'ed onto the global queue
    # it ran while the ring still held most of the 200 short Gs: 60 of them ran before it
    # (schedtick 1 was main's, the Gosched'ing G ran from runnext without a tick)
    assert r["short_gs_ran_before"] == 60
    assert 2_900_000 < r["waited_ns"] < 3_100_000


def test_a_runnext_pair_keeps_a_global_g_waiting_until_sysmon_preempts_after_10ms():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(gs.scenarios.fairness(where="global"))
    sim.run(until_ns=10**9)
    assert sim.stats["global_fair_picks"] == 0        # schedtick never reached a multiple of 61
    req = first(sim, gs.EV_PREEMPT_REQUEST)
    assert req.t_ns >= 10_000_000
    assert sim.result["waited_ns"] >= 10_000_000
    assert sim.result["third_ran_ns"] > req.t_ns
    assert sim.result["handoffs_meanwhile"] > 1000


# ---------------------------------------------------------------------------
# stealing and spinning
# ---------------------------------------------------------------------------

def test_steal_takes_the_larger_half_from_the_head_and_runs_the_last_one():
    sim = gs.Sim(gomaxprocs=2)
    sim.go(spawner(8))                          # P0: ring G2..G8, runnext G9; P1's M wakes 5 µs later
    sim.run(until_ns=30_000)
    steal = first(sim, gs.EV_STEAL)
    assert steal.detail == "4 Gs from P0" and steal.p == 1 and steal.g == 5
    snap = sim.snapshot()
    assert snap["ps"][0]["runq"] == [6, 7, 8] and snap["ps"][0]["runnext"] == 9
    assert snap["ps"][1]["runq"] == [2, 3, 4] and snap["ps"][1]["curg"] == 5


def test_runnext_is_stolen_only_in_the_last_round_after_usleep_3():
    sim = gs.Sim(gomaxprocs=2, usleep_slack_ns=0)
    sim.go(spawner(1))                          # P0 holds only a runnext (G2)
    sim.run(until_ns=100_000)
    started = first(sim, gs.EV_WAKEP).t_ns + sim.wake_ns     # the spinning M starts on P1
    steal = first(sim, gs.EV_STEAL)
    assert steal.detail == "runnext from P0" and steal.g == 2
    # 4 rounds of one victim each (3 empty-handed, the last one finds runnext), then usleep(3)
    assert steal.t_ns - started == 4 * sim.steal_ns + 3_000
    assert sim.stats["runnext_steals"] == 1


def test_wakep_starts_at_most_one_spinning_m():
    sim = gs.Sim(gomaxprocs=4)
    sim.go(spawner(10))                         # 10 go statements in ~1.2 µs, each calls wakep
    sim.run(until_ns=4_000)                     # before the woken M runs (wake_ns = 5 µs)
    assert [e.kind for e in sim.events].count(gs.EV_WAKEP) == 1
    assert sim.snapshot()["spinningthreads"] == 1
    sim.run(until_ns=200_000)
    # each spinner that finds work wakes the next one (resetspinning): work spreads one P at a time
    wakeps = [e for e in sim.events if e.kind == gs.EV_WAKEP]
    assert len(wakeps) == 3 and [e.p for e in wakeps] == [1, 2, 3]
    assert all(b.t_ns - a.t_ns >= sim.wake_ns for a, b in zip(wakeps, wakeps[1:]))


def test_spinning_is_capped_at_half_the_busy_ps():
    passed, skipped = [], []

    class Watch(gs.Sim):
        def _become_spinning(self, m, t):
            if sys._getframe(1).f_code.co_name == "_fr_top":    # findRunnable's steal gate, open
                passed.append(2 * self.nmspinning < self.gomaxprocs - self.npidle)
            super()._become_spinning(m, t)

        def _fr_idle(self, m, t, poll_until, new_work):
            if sys._getframe(1).f_code.co_name == "_fr_top":    # the gate said no: no stealing
                skipped.append(2 * self.nmspinning >= self.gomaxprocs - self.npidle)
            return super()._fr_idle(m, t, poll_until, new_work)

    sim = Watch(gomaxprocs=4)
    sim.go(gs.scenarios.blocked_syscall(n=40, ns=100_000, raw=False))
    sim.run()
    assert passed and all(passed)
    assert skipped and all(skipped)


# ---------------------------------------------------------------------------
# sysmon, retake, preemption
# ---------------------------------------------------------------------------

def busy_main(ns):
    def main():
        yield gs.Run(ns)
    return main


def test_sysmon_sleeps_20us_then_doubles_after_50_idle_rounds_up_to_10ms():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(busy_main(200_000_000))
    sim.run(until_ns=150_000_000)
    d = sim.sysmon_delays
    assert d[:51] == [20] * 51
    assert d[51:60] == [40, 80, 160, 320, 640, 1280, 2560, 5120, 10_000]
    assert set(d[60:]) == {10_000}
    ticks = sim.sysmon_ticks                   # d[i] is the sleep that ended at ticks[i]
    assert ticks[0] == 20_000 + sim.usleep_slack_ns
    assert ticks[1] - ticks[0] == 20_000 + sim.usleep_slack_ns
    assert ticks[51] - ticks[50] == 40_000 + sim.usleep_slack_ns
    assert ticks[61] - ticks[60] == 10_000_000 + sim.usleep_slack_ns


def test_a_retake_resets_sysmons_delay_to_20us():
    sim = gs.Sim(gomaxprocs=2)
    sim.go(gs.scenarios.blocked_syscall(n=4, ns=300_000_000))
    sim.run()
    handoff_ticks = {e.t_ns for e in sim.events if e.kind == gs.EV_HANDOFF}
    assert handoff_ticks
    for i, t in enumerate(sim.sysmon_ticks[:-1]):
        if t in handoff_ticks:
            assert sim.sysmon_delays[i + 1] == 20
    assert 40 in sim.sysmon_delays             # and it grew again while nothing was retaken


def test_retake_preempts_a_g_whose_schedtick_stood_still_for_10ms():
    sim = gs.Sim(gomaxprocs=1, asyncpreempt=True)
    sim.go(busy_main(50_000_000))
    sim.run(until_ns=60_000_000)
    ticks = sim.sysmon_ticks
    seen = ticks[0]                             # sysmon first saw P0's schedtick here
    due = next(t for t in ticks if t >= seen + 10_000_000)
    req = first(sim, gs.EV_PREEMPT_REQUEST)
    assert req.t_ns == due and req.g == 1
    pre = first(sim, gs.EV_PREEMPT)
    assert pre.t_ns == due + sim.async_preempt_ns and pre.detail == "to the global queue"
    # gopreempt_m → goschedImpl → globrunqput: it comes back through the global queue
    back = next(e for e in sim.events if e.kind == gs.EV_RUN and e.t_ns > pre.t_ns)
    assert back.g == 1 and back.detail.startswith("global")


def test_without_async_preemption_a_g_with_calls_still_stops_at_its_next_call():
    sim = gs.Sim(gomaxprocs=1, asyncpreempt=False)
    sim.go(busy_main(50_000_000))
    sim.run(until_ns=60_000_000)
    req = first(sim, gs.EV_PREEMPT_REQUEST)
    assert first(sim, gs.EV_PREEMPT).t_ns == req.t_ns + sim.call_preempt_ns


def syscall_main(ns, extra=0):
    def child():
        yield gs.Run(1_000_000)

    def main():
        yield gs.Syscall(1_000)                # P0's syscalltick becomes 1
        yield gs.Run(200_000)                  # sysmon's ticks see no syscall
        for _ in range(extra):
            yield gs.Go(child)
        yield gs.Syscall(ns)
    return main


def test_retake_hands_off_a_p_in_a_syscall_one_tick_later_when_it_has_work():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(syscall_main(50_000_000, extra=1))
    sim.run(until_ns=5_000_000)
    enter = [e for e in sim.events if e.kind == gs.EV_SYSCALL_ENTER][1]
    after = [t for t in sim.sysmon_ticks if t > enter.t_ns]
    h = first(sim, gs.EV_HANDOFF)
    # the first tick records the new syscalltick, the next takes the P (local work is waiting)
    assert h.t_ns == after[1]
    assert first(sim, gs.EV_STARTM).t_ns == h.t_ns       # handoffp: startm (M2 was idle)
    assert first(sim, gs.EV_RUN, g=2).m == 2


def test_retake_leaves_an_idle_syscall_p_alone_for_10ms_when_others_can_work():
    sim = gs.Sim(gomaxprocs=2)                  # P1 idle, nothing queued
    sim.go(syscall_main(50_000_000))
    sim.run(until_ns=40_000_000)
    enter = [e for e in sim.events if e.kind == gs.EV_SYSCALL_ENTER][1]
    seen = next(t for t in sim.sysmon_ticks if t > enter.t_ns)   # pd.syscallwhen
    h = first(sim, gs.EV_HANDOFF)
    assert h.t_ns == next(t for t in sim.sysmon_ticks if t >= seen + 10_000_000)


@pytest.mark.parametrize("version,status,m", [("1.27", 1, "0"), ("1.24", 2, "nil")])
def test_a_p_in_a_syscall_shows_prunning_with_its_m_in_127_and_psyscall_in_124(version, status, m):
    sim = gs.Sim(gomaxprocs=2, version=version)
    sim.go(syscall_main(2_000_000))
    sim.run(until_ns=1_000_000)
    lines = sim.schedtrace_line(detail=True)
    assert f"  P0: status={status} schedtick=1 syscalltick=1 m={m} runqsize=0 gfreecnt=0 timerslen=0" in lines
    assert "  G1: status=3() m=0 lockedm=nil" in lines
    sim.run()
    exit_ = [e for e in sim.events if e.kind == gs.EV_SYSCALL_EXIT][1]
    assert exit_.detail == ("fast path: P still ours" if version == "1.27"
                            else "exitsyscallfast: its P was still _Psyscall")


def test_tight_loop_ends_with_async_preemption_and_never_without():
    on = gs.Sim(gomaxprocs=1, asyncpreempt=True)
    on.go(gs.scenarios.tight_loop())
    on.run(until_ns=1_000_000_000)
    assert on.exited and on.snapshot()["gs"]["main_done"]
    assert 10_000_000 <= on.result["resumed_after_ns"] < 30_000_000

    off = gs.Sim(gomaxprocs=1, asyncpreempt=False)
    off.go(gs.scenarios.tight_loop())
    off.run(until_ns=1_000_000_000)
    assert not off.exited and off.now == 1_000_000_000
    assert off.stats["preempt_requests"] > 0 and off.stats["preemptions"] == 0


def test_blocked_raw_syscalls_make_a_thread_each_and_time_sleep_none():
    raw = gs.Sim(gomaxprocs=2)
    raw.go(gs.scenarios.blocked_syscall(n=50, ns=200_000_000, raw=True))
    raw.run()
    sleep = gs.Sim(gomaxprocs=2)
    sleep.go(gs.scenarios.blocked_syscall(n=50, ns=200_000_000, raw=False))
    sleep.run()
    assert raw.exited and sleep.exited
    # real Go 1.27.3: threads 4 -> 52 and 4 -> 4
    assert raw.stats["threads"] == 52 and raw.stats["threads_created"] == 48
    assert raw.stats["handoffs"] >= 48
    assert sleep.stats["threads"] == 4 and sleep.stats["threads_created"] == 0


# ---------------------------------------------------------------------------
# schedtrace and scheddetail formats
# ---------------------------------------------------------------------------

SCHED_127 = re.compile(r"^SCHED \d+ms: gomaxprocs=(\d+) idleprocs=\d+ threads=\d+ spinningthreads=\d+ "
                       r"needspinning=[01] idlethreads=\d+ runqueue=\d+ \[ (\d+ )+\] schedticks=\[ (\d+ )+\]$")
SCHED_124 = re.compile(r"^SCHED \d+ms: gomaxprocs=(\d+) idleprocs=\d+ threads=\d+ spinningthreads=\d+ "
                       r"needspinning=[01] idlethreads=\d+ runqueue=\d+ \[\d+( \d+)*\]$")


def test_the_regexes_match_real_go_lines():
    assert SCHED_127.match("SCHED 108ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1 "
                           "idlethreads=1 runqueue=259 [ 161 72 ] schedticks=[ 54 59 ]")
    assert SCHED_124.match("SCHED 108ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1 "
                           "idlethreads=1 runqueue=259 [69 166]")
    assert not SCHED_124.match("SCHED 108ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 "
                               "needspinning=1 idlethreads=1 runqueue=259 [ 161 72 ] schedticks=[ 54 59 ]")


@pytest.mark.parametrize("version,regex", [("1.27", SCHED_127), ("1.24", SCHED_124)])
@pytest.mark.parametrize("procs", [1, 2, 3])
def test_schedtrace_lines_have_each_versions_format(version, regex, procs):
    sim = gs.Sim(gomaxprocs=procs, version=version)
    sim.go(gs.scenarios.spawn(n=200, work_ns=200_000))
    lines = sim.run(schedtrace_ms=2)
    assert len(lines) >= 3 and lines[0].startswith("SCHED 0ms: ")
    for line in lines:
        m = regex.match(line)
        assert m and int(m[1]) == procs, line
    assert sim.lines == lines


@pytest.mark.parametrize("version", ["1.27", "1.24"])
def test_scheddetail_lines_follow_go(version):
    sim = gs.Sim(gomaxprocs=2, version=version)
    sim.go(gs.scenarios.spawn(n=5, work_ns=1_000_000))
    lines = sim.run(schedtrace_ms=1, scheddetail=True)
    assert lines[0].endswith(" gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false")
    assert "[" not in lines[0] and "schedticks" not in lines[0]
    p = re.compile(r"^  P\d+: status=[0-3] schedtick=\d+ syscalltick=\d+ m=(\d+|nil) runqsize=\d+ "
                   r"gfreecnt=\d+ timerslen=\d+$")
    m = re.compile(r"^  M\d+: p=(\d+|nil) curg=(\d+|nil) mallocing=0 throwing=0 preemptoff= locks=\d+ "
                   r"dying=0 spinning=(true|false) blocked=(true|false) lockedg=nil$")
    g = re.compile(r"^  G\d+: status=[0-6]\([a-zA-Z. ]*\) m=(\d+|nil) lockedm=nil$")
    block = lines[:1 + 2 + 4 + 6]              # header, 2 Ps, M3 M2 M1 M0, G1..G6
    assert all(p.match(x) for x in block[1:3]), block
    assert [x.split(":")[0] for x in block[3:7]] == ["  M3", "  M2", "  M1", "  M0"]
    assert all(m.match(x) for x in block[3:7]), block
    assert f"locks={32 if version == '1.27' else 2} " in block[5]   # sysmon prints, holding 2 locks
    assert all(g.match(x) for x in block[7:13]), block


def test_spawn_shows_a_global_queue_and_both_local_queues_filled_like_real_go():
    sim = gs.Sim(gomaxprocs=2, seed=1)
    sim.go(gs.scenarios.spawn(n=600, work_ns=2_000_000))
    lines = sim.run(schedtrace_ms=100)
    rows = [re.search(r"runqueue=(\d+) \[ (\d+) (\d+) \]", x).groups() for x in lines]
    assert any(int(g) > 0 and int(a) > 0 and int(b) > 0 for g, a, b in rows)
    assert sim.stats["steals"] > 0 and sim.stats["global_batches"] > 0
    assert sim.stats["global_fair_picks"] > 0
    assert sim.exited and 590_000_000 < sim.result["elapsed_ns"] < 650_000_000   # 600 x 2 ms / 2 Ps


# ---------------------------------------------------------------------------
# determinism, the API, channels, timers, the netpoller
# ---------------------------------------------------------------------------

def spawn_run(seed):
    sim = gs.Sim(gomaxprocs=4, seed=seed)
    sim.go(gs.scenarios.spawn(n=300, work_ns=300_000))
    lines = sim.run(schedtrace_ms=1)
    return sim.events, lines, sim.spans()


def test_same_seed_same_run_and_another_seed_may_differ():
    a, b = spawn_run(1), spawn_run(1)
    assert a == b
    others = [spawn_run(s) for s in (2, 3)]
    assert any(o[0] != a[0] for o in others)


def test_step_yields_every_event_once_in_order():
    sim = gs.Sim(gomaxprocs=2)
    sim.go(gs.scenarios.pingpong(rounds=20))
    stepped = []
    while (e := sim.step()) is not None:
        stepped.append(e)
    assert stepped == sim.events and sim.exited
    assert stepped[-1].kind == gs.EV_PROGRAM_EXIT
    assert {e.kind for e in stepped} <= set(gs.EVENT_KINDS)


def test_snapshot_is_json_and_counts_threads_as_go_does():
    sim = gs.Sim(gomaxprocs=2)
    sim.go(gs.scenarios.spawn(n=10, work_ns=100_000))
    snap = sim.snapshot()
    json.dumps(snap)
    # after init: M0 (running main), M1 sysmon, two idle Ms
    assert (snap["threads"], snap["idlethreads"]) == (4, 2)
    assert [m["state"] for m in snap["ms"]] == ["running", "sysmon", "idle", "idle"]
    assert set(snap["ps"][0]) >= {"id", "status", "m", "curg", "runnext", "runq", "schedtick", "syscalltick"}
    one = gs.Sim(gomaxprocs=1)
    one.go(gs.scenarios.spawn(n=1))
    assert (one.snapshot()["threads"], one.snapshot()["idlethreads"]) == (3, 1)
    sim.run()
    assert sim.snapshot()["gs"]["main_done"] and json.dumps(sim.snapshot())


def test_channels_buffered_close_and_waitgroup():
    got = []

    def producer(ch):
        for i in range(5):
            yield gs.Send(ch, i)
        yield gs.Close(ch)

    def consumer(ch, wg):
        while True:
            v = yield gs.Recv(ch)
            if v is None and ch.closed:
                break
            got.append(v)
        yield wg.Done()

    def main():
        ch = gs.Chan(cap=2)
        wg = gs.WaitGroup()
        yield wg.Add(1)
        yield gs.Go(consumer, ch, wg)
        yield gs.Go(producer, ch)
        yield wg.Wait()
        return "done"

    sim = gs.Sim(gomaxprocs=2)
    sim.go(main)
    sim.run()
    assert sim.result == "done" and got == [0, 1, 2, 3, 4]


def test_send_on_a_closed_channel_panics():
    def main():
        ch = gs.Chan(1)
        yield gs.Close(ch)
        yield gs.Send(ch, 1)

    sim = gs.Sim()
    sim.go(main)
    with pytest.raises(gs.GoPanic, match="send on closed channel"):
        sim.run()


def test_sleep_wakes_through_the_netpoller_in_whole_milliseconds():
    def main(ns):
        t0 = yield gs.Now()
        yield gs.Sleep(ns)
        t1 = yield gs.Now()
        return t1 - t0

    sim = gs.Sim(gomaxprocs=2)
    sim.go(main, 1_500_000)
    sim.run()
    # the idle M blocks in netpoll(delay); epoll_wait's timeout is 1 ms, then 1 ms again
    assert 2_000_000 <= sim.result < 2_200_000
    assert any(e.kind == gs.EV_NETPOLL_BLOCK for e in sim.events)
    assert any(e.kind == gs.EV_TIMER and e.g == 1 for e in sim.events)


def test_netwait_is_readied_by_the_netpoller():
    def reader(wg):
        yield gs.NetWait(300_000)
        yield wg.Done()

    def main():
        wg = gs.WaitGroup()
        yield wg.Add(3)
        for _ in range(3):
            yield gs.Go(reader, wg)
        yield wg.Wait()
        return (yield gs.Now())

    sim = gs.Sim(gomaxprocs=2)
    sim.go(main)
    sim.run()
    assert sim.exited and 300_000 <= sim.result < 400_000
    assert sim.stats["netpoll_gs"] == 3


def test_a_blocked_main_with_nothing_to_wake_it_is_a_deadlock():
    def main():
        yield gs.Recv(gs.Chan())

    sim = gs.Sim()
    sim.go(main)
    sim.run()
    assert sim.deadlock and sim.fatal == "all goroutines are asleep - deadlock!"
    assert not sim.exited


def test_dead_gs_are_reused_from_the_ps_free_list():
    sim = gs.Sim(gomaxprocs=1)
    sim.go(gs.scenarios.spawn(n=100, work_ns=1_000))
    sim.run()
    assert sim.stats["goroutines"] == 101
    # 100 Gs died on P0: each time 64 are free, gfput moves 33 to the global list (31 stay)
    assert len(sim.allp[0].gfree) == 34 and len(sim.gfree) == 66
    lines = sim.schedtrace_line(detail=True)
    assert "  P0: status=1 schedtick=" in lines[1] and " gfreecnt=34 " in lines[1]


def test_spans_cover_ps_and_syscall_ms():
    sim = gs.Sim(gomaxprocs=2)
    sim.go(gs.scenarios.blocked_syscall(n=3, ns=1_000_000))
    sim.run()
    spans = sim.spans()
    assert {lane for lane, *_ in spans if lane.startswith("P")} <= {"P0", "P1"}
    sys_spans = [s for s in spans if s[0].startswith("M")]
    assert len(sys_spans) == 3 and all(s[3].endswith(" syscall") for s in sys_spans)
    assert all(end - start >= 1_000_000 for _, start, end, _ in sys_spans)
    assert all(end >= start for _, start, end, _ in spans)


def test_record_false_gives_the_same_run_without_events():
    a = gs.Sim(gomaxprocs=2)
    a.go(gs.scenarios.spawn(n=300, work_ns=100_000))
    a.run()
    b = gs.Sim(gomaxprocs=2, record=False)
    b.go(gs.scenarios.spawn(n=300, work_ns=100_000))
    b.run()
    assert b.events == [] and a.now == b.now
    sa, sb = a.stats, b.stats
    for key in ("steals", "schedules", "schedticks", "global_batches", "threads"):
        assert sa[key] == sb[key]


def test_the_module_needs_only_the_standard_library():
    import lessons.gmp_sim as mod
    src = open(mod.__file__, encoding="utf-8").read()
    assert "coursekit" not in src.split('"""', 2)[2]
    top = [line for line in src.splitlines() if line.startswith(("import ", "from "))]
    assert all(line.split()[1].split(".")[0] in {"__future__", "heapq", "random", "collections",
                                                   "math", "typing"} for line in top), top
