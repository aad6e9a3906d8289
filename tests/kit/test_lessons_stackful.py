"""Lesson 08's greenlet probes (lessons.stackful): what they report, not how fast the machine is.

The traces follow from greenlet's rules, so they are compared exactly. The memory and switch
probes measure a real machine: only shapes, orders and signs that hold on a loaded one are
checked (no time bound anywhere; the generous subprocess timeouts only turn a hang into a
failure).
"""

import sys

import pytest

pytest.importorskip("greenlet")

from lessons import stackful  # noqa: E402


def test_ping_pong_hands_values_both_ways_and_ends_with_the_return_value():
    got = stackful.ping_pong()
    assert got["seen"] == ["child started with 1", "main got 2", "child resumed with 5",
                           "main got 50", "child dead: True"]
    assert got["switches"] == ["switch main -> child", "switch child -> main"] * 2


def test_a_finished_greenlet_returns_to_its_parent_not_to_its_caller():
    got = stackful.return_to_parent()
    assert got["seen"] == ["main got 'collector parked'", "collector got \"worker's value\"",
                           "main got 'collector done'", "worker dead: True, collector dead: True"]
    # main switched to worker, but worker's death switched to collector, its parent
    assert got["switches"][2:] == ["switch main -> worker", "switch worker -> collector",
                                   "switch collector -> main"]


def test_an_uncaught_exception_is_raised_in_the_parent():
    got = stackful.error_to_parent()
    assert got["seen"] == ["main caught ValueError('boom inside the child') from switch()",
                           "child dead: True"]
    assert got["switches"] == ["switch main -> child", "throw child -> main"]


def test_throw_raises_at_the_switch_point_and_greenletexit_kills_quietly():
    got = stackful.throw_into()
    assert got["seen"] == ["child caught KeyError('stop') at its switch()",
                           "main got 'handled' from throw()",
                           "main got GreenletExit from throw(); careless dead: True"]
    assert "throw main -> careful" in got["switches"] and "throw main -> careless" in got["switches"]


def test_dropping_a_suspended_greenlet_runs_its_finally_before_main_continues():
    got = stackful.collected_while_suspended()
    assert got["seen"] == ["child suspended holding a resource",
                           "child got GreenletExit at its switch()",
                           "child's finally ran", "main continues"]
    assert got["switches"][-2:] == ["throw main -> child", "switch child -> main"]


def test_the_saved_slice_grows_with_c_recursion_only():
    rows = stackful.stack_slices((0, 50, 200))
    assert [r["depth"] for r in rows] == [0, 50, 200]
    through_c = [r["through_c"] for r in rows]
    assert through_c[0] < through_c[1] < through_c[2]
    assert through_c[2] - through_c[1] > 150 * 100          # well over 100 bytes of C stack a level
    if sys.version_info >= (3, 11):                          # inlined Python calls (What's New 3.11)
        assert len({r["python"] for r in rows}) == 1


def test_memory_per_suspended_reports_medians_of_fresh_processes():
    deep = stackful.memory_per_suspended("greenlet_c", 200, n=20, repeats=2)
    flat = stackful.memory_per_suspended("greenlet", 0, n=20, repeats=1)
    assert {"kind", "depth", "n", "python", "rss_kib", "vms_kib", "stack_saved", "rss_samples"} <= set(deep)
    assert deep["depth"] == 200 and deep["n"] == 20 and len(deep["rss_samples"]) == 2
    assert deep["stack_saved"] > 50 * flat["stack_saved"]
    assert deep["rss_kib"] > flat["rss_kib"] > 0


def test_memory_per_suspended_parks_tasks_and_threads_too():
    task = stackful.memory_per_suspended("asyncio_task", 50, n=20, repeats=1)
    thread = stackful.memory_per_suspended("thread", 0, n=20, repeats=1)
    assert task["stack_saved"] != task["stack_saved"]       # NaN: a task has no C stack slice
    assert thread["vms_kib"] > 1024                          # a thread reserves a whole stack


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        stackful._measure_memory("fiber", 0, 1)


def test_slope_is_least_squares():
    rows = [{"kind": "k", "depth": d, "rss_kib": 1 + 0.5 * d} for d in (0, 10, 40)]
    assert stackful.slope_kib_per_frame(rows, "k") == pytest.approx(0.5)


def test_switch_costs_has_every_pair_and_the_kernel_count():
    costs = stackful.switch_costs(repeats=1)
    names = [r["name"] for r in costs["rows"]]
    assert names[:3] == ["greenlet switch", "generator send", "asyncio sleep(0), 2 tasks"]
    assert "threads SimpleQueue, 1 CPU" in names and "threads Condition, 1 CPU" in names
    assert all(r["ns_per_switch"] > 0 and r["batch"] >= 1 for r in costs["rows"])
    assert costs["rows"][0]["ratio"] == 1.0
    kernel = costs["kernel"]
    assert kernel["greenlet switch"]["voluntary"] < 0.001      # the kernel never hears of it
    assert kernel["threads SimpleQueue, 1 CPU"]["voluntary"] >= 0.5   # a thread hand-off blocks
    judged = stackful.verdict(costs)
    assert judged["like_threads"] is False and judged["text"].startswith("WRONG")


def _costs(thread_ratio, thread_voluntary):
    rows = [{"name": n, "ns_per_switch": 100.0 * r, "ratio": r, "cpu_ratio": r}
            for n, r in (("greenlet switch", 1.0), ("generator send", 0.2),
                         ("asyncio sleep(0), 2 tasks", 5.0), ("threads SimpleQueue, 1 CPU", thread_ratio))]
    kernel = {"greenlet switch": {"voluntary": 0.0, "involuntary": 0.0},
              "threads SimpleQueue, 1 CPU": {"voluntary": thread_voluntary, "involuntary": 0.0}}
    return {"python": "x", "rows": rows, "kernel": kernel}


def test_verdict_needs_both_the_speed_and_the_kernel_evidence():
    assert stackful.verdict(_costs(30.0, 2.0))["like_threads"] is False
    assert stackful.verdict(_costs(3.0, 2.0))["like_threads"] is True       # not clearly cheaper
    assert stackful.verdict(_costs(30.0, 0.0))["like_threads"] is True      # threads never blocked?


def test_syscalls_greenlet_makes_none_threads_use_futex():
    got = stackful.syscalls_per_round_trip(n=300, names=("greenlet switch", "threads SimpleQueue, any CPU"))
    if "skipped" in got:
        pytest.skip(got["skipped"])
    assert got["greenlet switch"] == {}
    assert got["threads SimpleQueue, any CPU"].get("futex", 0) >= 1


def test_plot_memory_draws_two_panels():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    rows = [{"kind": k, "depth": d, "rss_kib": 1.0 + d, "stack_saved": 1000.0 + d}
            for k in ("greenlet", "thread") for d in (0, 50)]
    fig = stackful.plot_memory(rows)
    left, right = fig.axes
    assert len(left.lines) == 2 and len(right.lines) == 1
    import matplotlib.pyplot as plt
    plt.close(fig)
