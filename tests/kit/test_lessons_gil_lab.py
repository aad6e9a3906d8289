"""Lesson 02's support code: the GIL model (lessons.gilsim) and the probes (lessons.gil_lab).

The model is deterministic, so its tests compare exact times.  The probes measure a real
machine, so their tests check only what cannot vary: replies are right, structures are
well formed, every thread and process is gone afterwards.  No test waits by sleeping.
"""

import json
import math
import os
import socket
import sys
import threading

import pytest

from lessons import gil_lab, gilsim
from lessons.gilsim import ACQUIRE, DROP_REQUEST, HANDING_OFF, RUNNING, WAITING, SimThread, simulate

# ---------------------------------------------------------------------------
# gilsim: the hand-off rules
# ---------------------------------------------------------------------------


def two_threads(**kw):
    return simulate([SimThread("A", 20_000, 1.0), SimThread("B", 20_000, 1.0, start_us=10)],
                    interval_us=5_000, wake_latency_us=5, **kw)


def test_waiter_asks_after_one_interval_and_holder_lets_go_at_its_next_check_point():
    trace = two_threads()
    first_request = next(e for e in trace.events if e.kind == DROP_REQUEST)
    assert (first_request.thread, first_request.time) == ("B", 5_010)     # B started waiting at 10
    acquires = [(e.thread, e.time) for e in trace.events if e.kind == ACQUIRE]
    assert acquires[:2] == [("A", 0.0), ("B", 5_016.0)]   # A checks at 5011, B wakes 5 µs later


def test_equal_threads_alternate_and_both_finish():
    trace = two_threads()
    holders = [e.thread for e in trace.events if e.kind == ACQUIRE]
    assert holders == ["A", "B", "A", "B", "A", "B", "A", "B"]
    assert trace.switches == 7
    assert set(trace.finished) == {"A", "B"}
    assert trace.time_in(RUNNING, "A") == pytest.approx(20_000)
    assert trace.time_in(RUNNING, "B") == pytest.approx(20_000)


def test_at_most_one_thread_holds_the_gil_at_any_time():
    threads = [SimThread(n, math.inf, 0.3, start_us=7 * i) for i, n in enumerate("ABCD")]
    trace = simulate(threads, interval_us=1_000, horizon_us=20_000)
    running = sorted((s.start, s.end) for s in trace.spans if s.state == RUNNING)
    for (_, end), (start, _) in zip(running, running[1:]):
        assert start >= end - 1e-9


def test_every_thread_is_always_in_exactly_one_state_until_the_end():
    trace = simulate([SimThread("A", math.inf, 0.5), SimThread("B", math.inf, 0.5, start_us=3)],
                     interval_us=2_000, horizon_us=15_000)
    for name, begin in (("A", 0.0), ("B", 3.0)):
        spans = sorted((s.start, s.end) for s in trace.spans if s.thread == name)
        assert spans[0][0] == begin and spans[-1][1] == pytest.approx(15_000)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start == pytest.approx(end)


def test_three_threads_take_turns_in_order_of_waiting():
    threads = [SimThread(n, math.inf, 1.0, start_us=i) for i, n in enumerate("ABC")]
    trace = simulate(threads, interval_us=1_000, horizon_us=10_000)
    holders = [e.thread for e in trace.events if e.kind == ACQUIRE]
    assert holders[:7] == ["A", "B", "C", "A", "B", "C", "A"]


def test_without_force_switching_the_releaser_wins_every_race():
    trace = simulate([SimThread("A", 20_000, 1.0), SimThread("B", 20_000, 1.0, start_us=10)],
                     interval_us=5_000, force_switching=False)
    holders = [e.thread for e in trace.events if e.kind == ACQUIRE]
    assert holders[0] == "A" and set(holders[:-1]) == {"A"} and holders[-1] == "B"
    assert trace.finished["A"] < trace.finished["B"]
    assert trace.time_in(WAITING, "B") == pytest.approx(20_000 - 10 + 5)   # until A is done, + wake-up
    assert sum(1 for e in trace.events if e.kind == DROP_REQUEST) >= 3


def test_with_force_switching_the_releaser_waits_for_the_hand_off():
    trace = two_threads()
    handoffs = [s for s in trace.spans if s.state == HANDING_OFF]
    assert handoffs and all(s.end - s.start == pytest.approx(10) for s in handoffs)  # 5 µs wake + 5 µs


def test_a_long_c_call_holds_the_gil_past_the_interval():
    trace = simulate([SimThread("C call", math.inf, 18_000), SimThread("loop", math.inf, 0.1, start_us=1)],
                     interval_us=5_000, horizon_us=30_000)
    first = trace.slices("C call")[0]
    assert first == pytest.approx(18_000)          # the request at 5001 is seen at the check point
    assert trace.marks(DROP_REQUEST, scale=1.0)[:3] == [("loop", 5_001), ("loop", 10_001), ("loop", 15_001)]


def test_the_model_is_deterministic():
    threads = [SimThread(n, math.inf, 0.7, start_us=3 * i) for i, n in enumerate("ABC")]
    assert simulate(threads, horizon_us=40_000) == simulate(threads, horizon_us=40_000)


def test_timeline_spans_are_in_milliseconds_for_the_plot_helper():
    trace = two_threads()
    spans = trace.timeline_spans()
    assert spans[0] == ("A", 0.0, pytest.approx(5.011), RUNNING)
    assert {label for *_, label in spans} <= set(gilsim.STATES)
    assert trace.threads == ["A", "B"]


@pytest.mark.parametrize("threads, kw", [
    ([SimThread("A"), SimThread("A", 5)], {"horizon_us": 10}),
    ([SimThread("A", 5, check_every_us=0)], {}),
    ([SimThread("A")], {}),                                  # infinite work, no horizon
    ([SimThread("A", 5)], {"interval_us": 0}),
])
def test_bad_arguments_raise_value_error(threads, kw):
    with pytest.raises(ValueError):
        simulate(threads, **kw)


# ---------------------------------------------------------------------------
# gil_lab: the loopback server and client
# ---------------------------------------------------------------------------


@pytest.fixture
def no_thread_leaks():
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


def test_server_answers_fib_and_sleep_on_loopback_only(no_thread_leaks):
    with gil_lab.FibServer() as server:
        assert server._listener.getsockname()[0] == "127.0.0.1"
        with gil_lab.Client(server.port) as client:
            assert client.request(b"1") == b"1"
            assert client.request(b"20") == str(gil_lab.fib(20)).encode()
            assert client.request(b"sleep 0") == b"ok"


def test_server_serves_clients_on_separate_connections(no_thread_leaks):
    with gil_lab.FibServer() as server:
        a, b = gil_lab.Client(server.port), gil_lab.Client(server.port)
        try:
            assert (a.request(b"10"), b.request(b"11"), a.request(b"12")) == (b"55", b"89", b"144")
        finally:
            a.close()
            b.close()


def test_client_reads_replies_of_pipelined_requests_in_order(no_thread_leaks):
    with gil_lab.FibServer() as server, gil_lab.Client(server.port) as client:
        client.sock.sendall(b"3\n4\n")            # two requests in one packet
        assert client.request(b"5") == b"2"       # replies come back in order
        assert client.request(b"6") == b"3"


def test_server_drops_a_client_that_sends_garbage(no_thread_leaks):
    with gil_lab.FibServer() as server, gil_lab.Client(server.port) as client:
        with pytest.raises(ConnectionError):
            client.request(b"not a number")
        with gil_lab.Client(server.port) as other:   # and keeps serving the others
            assert other.request(b"2") == b"1"


def test_server_process_listens_on_loopback_and_is_gone_afterwards():
    with gil_lab.server_process(0.002, cpu=sorted(os.sched_getaffinity(0))[0]) as port:
        with gil_lab.Client(port) as client:
            assert client.request(b"15") == b"610"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# ---------------------------------------------------------------------------
# gil_lab: helpers and probes (structure only: they measure a real machine)
# ---------------------------------------------------------------------------


def test_small_helpers():
    assert gil_lab._split(10, 3) == [4, 3, 3] and sum(gil_lab._split(7, 7)) == 7
    assert gil_lab.fib(1) == gil_lab.fib(2) == 1 and gil_lab.fib(10) == 55
    assert gil_lab.count_down(1000) == 0
    assert gil_lab.hash_blocks(2) == 2
    assert gil_lab._percentiles([0.001] * 99 + [0.010]) == pytest.approx((1.0, 1.0, 10.0, 10.0))


def test_scaling_speedup_is_relative_to_one_worker():
    runs = (gil_lab.ScalingRun("m", 1, 2.0, (2.0,)), gil_lab.ScalingRun("m", 2, 1.0, (1.0,)))
    scaling = gil_lab.Scaling(2, runs, {})
    assert scaling.workers == [1, 2] and scaling.series("m") == [2.0, 1.0]
    assert scaling.speedup("m") == [1.0, 2.0]


def test_io_scaling_returns_one_run_per_thread_count():
    result = gil_lab.io_scaling(threads=(1, 2), requests=4, latency_ms=0, repeats=1)
    assert [(r.mode, r.workers, len(r.samples)) for r in result.runs] == [
        ("threads, I/O-bound", 1, 1), ("threads, I/O-bound", 2, 1)]
    assert result.info == {"requests": 4, "latency_ms": 0}


def test_cpu_scaling_measures_three_modes():
    result = gil_lab.cpu_scaling(workers=(1, 2), work_s=0.02, repeats=1)
    assert sorted({r.mode for r in result.runs}) == ["processes", "threads", "threads, hashlib"]
    assert all(r.wall_s > 0 for r in result.runs) and result.workers == [1, 2]
    # CPU time over wall time: reported for the thread modes only, and pure-Python threads
    # never keep more than one CPU busy (the GIL), whatever else the machine is doing.
    assert result.cores_used("processes") == [None, None]
    assert all(c is not None and c > 0 for m in ("threads", "threads, hashlib") for c in result.cores_used(m))
    assert max(result.cores_used("threads")) < 1.2


def test_convoy_reports_a_baseline_and_each_interval():
    pinned, runs = gil_lab.convoy(intervals=(0.001,), duration_s=0.05, repeats=1, hog_n=18)
    assert pinned == (gil_lab._two_cpus() is not None)
    assert [(r.switch_interval, r.busy) for r in runs] == [(0.005, False), (0.001, True)]
    assert all(r.requests_per_s > 0 and len(r.latency_ms) == 4 for r in runs)


def test_gil_trace_spans_are_ordered_and_alternate_between_threads():
    trace = gil_lab.gil_trace(threads=2, switch_interval=0.001, duration_s=0.02)
    assert trace.threads == 2 and trace.spans
    for (a, _, end), (b, start, _) in zip(trace.spans, trace.spans[1:]):
        assert a != b and start == pytest.approx(end)
    assert {lane for lane, *_ in trace.timeline_spans()} <= {"thread 0", "thread 1"}


def test_threads_program_runs_anywhere_and_reports_json():
    # long enough (~0.1 s a run) that CPU-time accounting, which can be tick-grained, is exact to ~5%
    out = gil_lab.run_program(sys.executable, gil_lab.threads_program((1, 2), iterations=3_000_000, repeats=1))
    assert set(out) == {"version", "free_threaded_build", "gil_enabled", "runs", "cores_used", "samples"}
    assert set(out["runs"]) == set(out["cores_used"]) == {"1", "2"}
    assert all(0 < c < 1.2 for c in out["cores_used"].values())    # a GIL build: one CPU at most


def test_race_program_shows_the_read_call_write_race_but_not_the_plus_equals_one():
    out = gil_lab.run_program(sys.executable, gil_lab.RACE_PROGRAM)
    assert out["expected"] == 2_000_000 and out["with_call"] <= out["expected"]
    if sys.version_info >= (3, 10) and out.get("version"):
        # no eval-breaker check point between the read and the write of `counter += 1`
        assert out["plain"] == out["expected"]


def test_old_gil_program_reports_two_times():
    code = gil_lab.OLD_GIL_PROGRAM.replace("N = 3000000", "N = 1000")
    assert set(gil_lab.run_program(sys.executable, code)) == {"version", "sequential", "threads", "ratio"}


def test_switches_program_counts_hand_offs():
    out = gil_lab.run_program(sys.executable, gil_lab.SWITCHES_PROGRAM)
    assert set(out) == {"version", "switches", "median_turn_ms", "max_turn_ms"} and out["switches"] >= 0


def test_find_interpreters_includes_the_running_one():
    found = gil_lab.find_interpreters()
    here = "%d.%d.%d" % sys.version_info[:3]
    assert any(i.version == here for i in found)
    assert found == sorted(found, key=lambda i: (tuple(map(int, i.version.split("."))), i.free_threaded))


def test_main_prints_json(capsys):
    gil_lab.main(["trace", "--threads", "1", "--duration-s", "0.005"])
    data = json.loads(capsys.readouterr().out)
    assert data["threads"] == 1 and all(s[0] == 0 for s in data["spans"])


# ---------------------------------------------------------------------------
# plotting.mark_events
# ---------------------------------------------------------------------------


def test_mark_events_adds_markers_and_keeps_the_timeline_legend():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lessons.plotting import mark_events, timeline

    fig, ax = plt.subplots()
    try:
        timeline(ax, [("A", 0, 1, "run"), ("B", 1, 2, "run")])
        mark_events(ax, [("B", 0.5), ("nowhere", 1.0)], ["A", "B"], label="drop request")
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["run", "drop request"]
        offsets = ax.collections[-1].get_offsets()
        assert offsets.tolist() == [[0.5, 1.0]]
    finally:
        plt.close(fig)
