"""Lesson 12's preemption models (lessons.preemption): reductions counted by the interpreter.

Everything the scheduler decides follows from counting calls, so traces, totals, fairness and
where the heartbeat's beats fall are compared exactly. Wall-clock numbers are only compared
with each other where the order holds by construction (a beat that comes after a slice comes
after it), and the counting's cost only by its sign, in CPU time measured in one run.

Interpreters: the course's venv (3.11, greenlet) always; the 3.15 build (``make
newest-python``, no greenlet: the threads backend and sys.monitoring) and the free-threaded
3.13 venv (greenlet and sys.monitoring) when they exist - skipped otherwise, failed under
``COURSEKIT_REQUIRE_NEWEST=1``.
"""

import sys

import pytest

from lessons import freethreaded, preemption, pythons
from lessons.preemption import CONTEXT_REDS, Run, run, worker

#: a=10, b=25, c=7 reductions, budget 4: round-robin, the call that finds the budget spent is
#: charged in the next slice, a process whose last call fits the budget exits in that slice.
ABC = {"a": 10, "b": 25, "c": 7}
ABC_TRACE = [("a", 4, "preempted"), ("b", 4, "preempted"), ("c", 4, "preempted"),
             ("a", 4, "preempted"), ("b", 4, "preempted"), ("c", 3, "exited"),
             ("a", 2, "exited"), ("b", 4, "preempted"), ("b", 4, "preempted"),
             ("b", 4, "preempted"), ("b", 4, "preempted"), ("b", 1, "exited")]

HAS_GREENLET = preemption._has_greenlet()
COMBOS = [pytest.param(b, h, id=f"{b}-{h}") for b in ("greenlet", "threads")
          for h in ("setprofile", "monitoring")
          if (b != "greenlet" or HAS_GREENLET) and (h != "monitoring" or hasattr(sys, "monitoring"))]


def _procs(costs):
    return {name: worker(n) for name, n in costs.items()}


def _newest_or_skip() -> str:
    python = pythons.newest()
    if python is None:
        if pythons.required():
            pytest.fail(pythons.skip_reason())
        pytest.skip(pythons.skip_reason())
    return python


def _ft_venv_or_skip() -> str:
    venv = freethreaded.find(venv=True)
    if venv is None:
        pytest.skip(freethreaded.BUILD_HINT)
    return str(venv)


# ---------------------------------------------------------------------------
# The scheduler: exact traces
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_round_robin_trace_is_exact_for_a_budget(backend, hook):
    r = run(_procs(ABC), budget=4, backend=backend, hook=hook)
    assert (r.backend, r.hook) == (backend, hook)
    assert r.trace() == ABC_TRACE
    assert r.results == ABC                     # each worker returns its cost
    assert r.totals() == ABC
    assert [s.start for s in r.slices][:4] == [0, 4, 8, 12]     # the reduction clock
    assert r.fairness() == 4


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_a_process_whose_last_call_fits_the_budget_is_not_preempted(backend, hook):
    assert run({"a": worker(4)}, budget=4, backend=backend, hook=hook).trace() == [("a", 4, "exited")]
    assert run({"a": worker(5)}, budget=4, backend=backend, hook=hook).trace() == [
        ("a", 4, "preempted"), ("a", 1, "exited")]    # alone, it is still switched out and back


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_no_budget_means_each_runs_to_its_end(backend, hook):
    r = run(_procs(ABC), budget=None, backend=backend, hook=hook)
    assert r.trace() == [("a", 10, "exited"), ("b", 25, "exited"), ("c", 7, "exited")]


def test_backends_and_hooks_agree_on_a_bigger_run():
    costs = {"p": 1000, "q": 3333, "r": 50, "s": 7777}
    traces = {(b, h): run(_procs(costs), budget=100, backend=b, hook=h).trace() for b, h in
              [(p.values[0], p.values[1]) for p in COMBOS]}
    first = next(iter(traces.values()))
    assert all(t == first for t in traces.values()), traces.keys()
    assert sum(n for _, n, _ in first) == sum(costs.values())


@pytest.mark.parametrize("budget", [1, 7, 100, CONTEXT_REDS])
def test_fairness_bound_and_round_robin_order(budget):
    costs = {"p": 1000, "q": 3333, "r": 50, "s": 7777}
    r = run(_procs(costs), budget=budget)
    assert r.totals() == costs
    assert r.fairness() <= budget
    assert all(n == budget for _, n, outcome in r.trace() if outcome == "preempted")
    # round-robin: after each slice, the next one is the next live process in the fixed order
    live = list(costs)
    for this, nxt in zip(r.slices, r.slices[1:]):
        i = live.index(this.process)
        if this.outcome == "exited":
            live.remove(this.process)
            expected = live[i % len(live)]
        else:
            expected = live[(i + 1) % len(live)]
        assert nxt.process == expected


def test_the_hog_is_charged_one_reduction_per_call():
    r = run({"hog": preemption.hog(18)}, budget=500)
    calls = 2 * preemption.fib(19) - 1          # fib(n) makes 2 fib(n+1) - 1 calls
    assert r.totals() == {"hog": calls + 1}     # + the process's own call
    assert r.results == {"hog": preemption.fib(18)}


def test_run_to_json_round_trips():
    r = run(_procs(ABC), budget=4)
    back = Run.from_json(r.to_json())
    assert back.trace() == r.trace() and back.results == r.results and back.budget == 4


# ---------------------------------------------------------------------------
# Errors and clean-up
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_an_exception_in_a_process_is_raised_and_the_hooks_are_gone(backend, hook):
    def boom():
        for _ in range(30):
            preemption._leaf()
        raise KeyError("boom")

    before = sys.getprofile()
    with pytest.raises(KeyError, match="boom"):
        run({"ok": worker(100), "boom": boom, "late": worker(100)}, budget=10, backend=backend, hook=hook)
    assert sys.getprofile() is before
    if hasattr(sys, "monitoring"):
        assert all(sys.monitoring.get_tool(t) is None for t in (3, 4, 5))
    assert preemption.clock() == 0
    assert run(_procs(ABC), budget=4, backend=backend, hook=hook).trace() == ABC_TRACE   # still works


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="budget"):
        run(_procs(ABC), budget=0)
    with pytest.raises(ValueError, match="backend"):
        run(_procs(ABC), backend="fibers")
    with pytest.raises(ValueError, match="at least one reduction"):
        worker(0)
    if not hasattr(sys, "monitoring"):
        with pytest.raises(ValueError, match="3.12"):
            run(_procs(ABC), hook="monitoring")


def test_runs_do_not_nest():
    with pytest.raises(RuntimeError, match="nest"):
        run({"outer": lambda: run({"inner": worker(1)})})


# ---------------------------------------------------------------------------
# The heartbeat beside a hog
# ---------------------------------------------------------------------------


SMALL = dict(hog_n=18, beats=60, work=49)       # hog: 8,362 reductions; heartbeat: 3,001


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_the_heartbeat_keeps_beating_while_the_hog_never_yields(backend, hook):
    got = preemption.starvation(1000, backend=backend, hook=hook, **SMALL)
    assert got["beats"] == 60
    assert got["beats_during_hog"] == 60                 # every beat fell inside the hog's life
    assert got["max_gap_reductions"] <= 1000 + 50        # one hog slice + one beat, at most
    assert got["hog_reductions"] == 2 * preemption.fib(19) - 1 + 1
    assert got["fairness"] <= 1000
    assert got["trace"][:4] == [("hog", 1000, "preempted"), ("heartbeat", 1000, "preempted"),
                                ("hog", 1000, "preempted"), ("heartbeat", 1000, "preempted")]


def test_without_preemption_the_heartbeat_waits_for_the_whole_hog():
    got = preemption.starvation(None, **SMALL)
    assert got["beats_during_hog"] == 0
    assert got["trace"] == [("hog", 8_362, "exited"), ("heartbeat", 3_001, "exited")]
    # the run starts with the hog: the first beat comes after its whole slice
    assert got["longest_silence_ms"] >= got["longest_hog_slice_ms"]


@pytest.mark.parametrize("backend, hook", COMBOS)
def test_a_hog_inside_one_c_call_is_never_preempted(backend, hook):
    got = preemption.c_call_limit(1000, c_n=2_000_000, beats=60, work=49, backend=backend, hook=hook)
    assert got["hog_reductions"] == 1 and got["hog_slices"] == 1
    assert got["trace"][0] == ("hog", 1, "exited")
    assert got["beats_during_hog"] == 0                   # budget or not: silent
    assert got["longest_silence_ms"] >= got["longest_hog_slice_ms"] > 0
    python_hog = preemption.starvation(1000, backend=backend, hook=hook, **SMALL)
    assert python_hog["beats_during_hog"] > 0             # the same budget preempts Python code


def test_clock_is_zero_outside_a_run():
    assert preemption.clock() == 0
    beat, log = preemption.heartbeat(3, 4)
    run({"beat": beat}, budget=None)
    assert [c for c, _ in log] == [6, 11, 16]   # 1 (itself) + 4 work + 1 clock(), then 5 a beat


# ---------------------------------------------------------------------------
# What counting costs: the sign, in CPU time, measured in one run
# ---------------------------------------------------------------------------


def test_counting_costs_more_than_not_counting():
    got = preemption.counting_cost(n=18, loops=5, repeats=3)
    modes = [row["mode"] for row in got["rows"]]
    assert modes[0] == "bare" and "count/setprofile" in modes and "preempt/setprofile" in modes
    for row in got["rows"][1:]:
        assert row["slowdown"] > 1, row
        assert row["calls_per_s"] < got["rows"][0]["calls_per_s"], row


def test_counting_cost_on_the_newest_python_covers_sys_monitoring():
    got = preemption.counting_cost(n=18, loops=5, repeats=3, python=_newest_or_skip())
    modes = {row["mode"]: row for row in got["rows"]}
    assert {"count/monitoring", "count/setprofile"} <= set(modes)
    assert all(row["slowdown"] > 1 for name, row in modes.items() if name != "bare")


# ---------------------------------------------------------------------------
# Other interpreters, and the experiment behind the design
# ---------------------------------------------------------------------------


def test_the_newest_python_runs_the_same_trace_without_greenlet():
    python = _newest_or_skip()
    caps = preemption.capabilities(python)
    assert caps["monitoring"] is True
    expected_backend = "greenlet" if caps["greenlet"] else "threads"
    assert caps["backend"] == expected_backend and caps["hook"] == "monitoring"
    r = Run.from_json(preemption._child(python, ["run", "4", "auto", "auto", "a=10", "b=25", "c=7"]))
    assert r.trace() == ABC_TRACE and r.backend == expected_backend
    got = preemption.starvation(1000, python=python, **SMALL)
    assert got["beats_during_hog"] == 60 and got["trace"][0] == ("hog", 1000, "preempted")


# (The free-threaded venv is slow to start on a busy machine, so it runs only what no other
# interpreter here can: greenlet with sys.monitoring.)
@pytest.mark.parametrize("which, backend, hook", [
    ("newest", "threads", "monitoring"), ("newest", "threads", "setprofile"),
    ("freethreaded venv", "greenlet", "monitoring")])
def test_other_interpreters_give_the_same_trace_with_every_backend(which, backend, hook):
    python = _newest_or_skip() if which == "newest" else _ft_venv_or_skip()
    r = Run.from_json(preemption._child(python, ["run", "4", backend, hook, "a=10", "b=25", "c=7"]))
    assert (r.backend, r.hook, r.trace()) == (backend, hook, ABC_TRACE)
    got = preemption.c_call_limit(1000, c_n=2_000_000, beats=60, work=49, backend=backend, hook=hook,
                                  python=python)
    assert got["trace"][0] == ("hog", 1, "exited") and got["beats_during_hog"] == 0


def test_a_plain_switch_inside_the_hook_loses_the_count_call_tracing_keeps_it():
    if not HAS_GREENLET:
        pytest.skip("greenlet is not installed")
    got = preemption.tracing_flag_experiment(cost=600, budget=200)
    assert got["call_tracing"] == {"a": 600, "b": 600, "c": 600}
    assert got["plain_switch"] == {"a": 600, "b": 0, "c": 0}


def test_the_flag_experiment_holds_for_sys_monitoring_too():
    venv = _ft_venv_or_skip()
    got = preemption.tracing_flag_experiment(venv, cost=600, budget=200)
    if "skipped" in got:
        pytest.skip(got["skipped"])
    assert got["hook"] == "monitoring"
    assert got["call_tracing"] == {"a": 600, "b": 600, "c": 600}
    assert got["plain_switch"] == {"a": 600, "b": 0, "c": 0}


def test_the_flag_experiment_says_when_greenlet_is_missing():
    got = preemption.tracing_flag_experiment(_newest_or_skip())
    if preemption.capabilities(pythons.newest())["greenlet"]:
        assert got["call_tracing"]["c"] == 2000
    else:
        assert got["skipped"].startswith("greenlet is not installed")


# ---------------------------------------------------------------------------
# Rust's poll/waker protocol
# ---------------------------------------------------------------------------


def test_poll_waker_trace_polls_again_only_after_wake():
    assert preemption.poll_waker_trace() == [
        ("executor", "polls task-1"),
        ("future", "poll() -> Pending, waker stored"),
        ("executor", "nothing is woken: sleeps until a wake, polls nothing"),
        ("timer", "delivers 42"),
        ("timer", "waker.wake() -> task-1 is runnable again"),
        ("executor", "wakes up: task-1 was woken, polls it"),
        ("future", "poll() -> Ready(42)"),
    ]


def test_cost_by_version_reports_every_interpreter_the_lesson_compares():
    got = preemption.cost_by_version(n=15, loops=5, repeats=1)
    assert [g.get("path", g["python"]) for g in got] == preemption.lesson_pythons()
    for entry in got:
        assert "skipped" not in entry, entry
        assert entry["rows"][0]["mode"] == "bare"
        assert all(row["slowdown"] > 1 for row in entry["rows"][1:]), entry
        assert entry["backend"] == ("greenlet" if entry["greenlet"] else "threads")
