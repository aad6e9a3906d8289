"""Lesson 01's measurements (lessons.costs): what they report, not how fast the machine is.

The probes time a real machine, so these tests check only what cannot vary with load: the shape
of each result, the order batches run in, and outcomes that follow from how CPython works (which
API pickles a lambda, which recursion uses the C stack). No test has a time bound.
"""

import multiprocessing as mp
import sys

import pytest

from lessons import costs

LINUX = sys.platform.startswith("linux")


def test_interleaved_per_op_takes_the_batches_in_turn():
    calls = []

    def op(name, seconds_per_op):
        def run(k):
            calls.append((name, k))
            return k * seconds_per_op
        return run

    timed = costs.interleaved_per_op([("a", op("a", 1e-3), 1), ("b", op("b", 1e-2), 1)],
                                     repeats=3, target_s=0.08)
    sized = {name: k for name, k in calls[-6:]}
    # after sizing, one batch of each in turn: a, b, a, b, a, b
    assert [name for name, _ in calls[-6:]] == ["a", "b"] * 3
    assert timed["a"].seconds == pytest.approx(1e-3) and timed["b"].seconds == pytest.approx(1e-2)
    assert timed["a"].batch == sized["a"] == 80 and timed["b"].batch == sized["b"] == 8
    assert len(timed["a"].samples) == len(timed["b"].samples) == 3


def test_interleaved_per_op_counts_cpu_time_not_waiting():
    import time

    def spin(k):
        t0 = time.perf_counter()
        end = time.process_time() + 0.002 * k
        while time.process_time() < end:
            pass
        return time.perf_counter() - t0

    def wait(k):   # blocked, not computing: wall time passes, CPU time hardly does
        t0 = time.perf_counter()
        threading_event.wait(0.002 * k)
        return time.perf_counter() - t0

    import threading
    threading_event = threading.Event()
    timed = costs.interleaved_per_op([("spin", spin, 1), ("wait", wait, 1)], repeats=2, target_s=0.03)
    assert timed["spin"].cpu_seconds >= 0.0019            # it used (at least) the CPU it asked for
    assert timed["wait"].cpu_seconds < timed["wait"].seconds / 5


def test_only_process_under_fork_accepts_a_lambda():
    result = costs.lambda_targets()
    assert result["python"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert result["default"] == mp.get_start_method()
    assert set(result["outcomes"]) == set(mp.get_all_start_methods())
    for method, outcomes in result["outcomes"].items():
        assert list(outcomes) == list(costs.LAMBDA_APIS)
        for api, outcome in outcomes.items():
            expected = "works" if (method, api) == ("fork", "Process(target=...)") else "PicklingError"
            assert outcome == expected, (method, api)


def test_small_stack_recursion_reports_each_kind():
    roomy = costs.small_stack_recursion(stack_kib=4096, depth=200)
    assert roomy == {"python": "ok", "c": "ok"}
    tight = costs.small_stack_recursion(stack_kib=64, depth=900)
    assert tight["python"] == "ok"
    assert tight["c"].startswith("crashed (signal") or tight["c"] == "RecursionError"


@pytest.mark.skipif(not LINUX, reason="reads /proc")
def test_fork_vs_forkserver_times_both_parents():
    result = costs.fork_vs_forkserver(parent_mib=16, repeats=1)
    assert set(result) == {"small", "large"}
    for timings in result.values():
        assert set(timings) == {"os.fork", "Process (fork)", "Process (forkserver)"}
        assert all(t.seconds > 0 and len(t.samples) == 1 for t in timings.values())
    small_rss = int(result["small"]["os.fork"].note.split()[2])
    large_rss = int(result["large"]["os.fork"].note.split()[2])
    assert large_rss - small_rss >= 15 * 1024          # the 16 MiB written are resident


def test_makespan_experiment_reports_every_run_with_its_cpu_time():
    batch = costs.makespan_experiment(workers=(1, 2), n_tasks=2, task_s=0.01, repeats=1,
                                      start_method="spawn")
    assert batch.start_method == "spawn" and batch.task_s == 0.01
    assert [(r.mode, r.workers) for r in batch.runs] == [
        (mode, w) for w in (1, 2)
        for mode in ("threads, CPU-bound", "processes, CPU-bound", "threads, I/O-bound")]
    for run in batch.runs:
        assert len(run.spans) == 2 and all(start <= end for _, start, end in run.spans)
        assert run.cpu_s >= 0 and run.cores_busy == pytest.approx(run.cpu_s / run.wall_s)
    assert batch.run("threads, CPU-bound", 1).cpu_s > 0
    assert batch.run("processes, CPU-bound", 2).pool_start_s > 0
    io = batch.run("threads, I/O-bound", 1)
    assert io.wall_s >= 2 * 0.01                       # two sleeps, one after the other
