"""lessons.modern_asyncio and lessons.wedged_service: lesson 07's modern-asyncio experiments.

The first group runs on the course's own Python (3.11+). The second needs a newer interpreter
(3.12+ for eager tasks, 3.13+ for Queue.shutdown, 3.14+ for the introspection tools and
InterpreterPoolExecutor), found by ``lessons.pythons``: Debian sid's python3.15 3.15.2 that ``make
newest-python`` installs, or one listed in ``COURSEKIT_PYTHONS``. Those tests are skipped, with the
reason, when none is found, unless ``COURSEKIT_REQUIRE_NEWEST=1``, which turns every such skip into
a failure. CI sets it (``.ci/run``) and runs ``make newest-python`` first, so on CI every test here
runs, the 3.14+ ones on 3.15.2.
"""

import os
import subprocess
import sys

import pytest

from lessons import modern_asyncio as m
from lessons import probe

REQUIRED = os.environ.get("COURSEKIT_REQUIRE_NEWEST") == "1"


def here(name: str) -> dict:
    """Run experiment ``name`` under the course's own interpreter."""
    return m.run_experiment(name, python=sys.executable)


# --- everywhere ------------------------------------------------------------------------------

def test_lost_update_at_an_await_and_the_lock_that_fixes_it():
    r = here("lost_update")
    assert r["without_lock"] == 1, f"every bump() should read v=0 before any writes: {r}"
    assert r["with_lock"] == r["tasks"] == 50, r
    assert r["balance_after_50_withdrawals_of_10"] == 100 - 50 * 10, r


def test_taskgroup_cancels_siblings_and_gather_does_not():
    r = here("taskgroup_vs_gather")
    assert r["taskgroup_sibling_saw"] == ["CancelledError"], r
    assert (r["taskgroup_raises"], r["group_contents"]) == ("ExceptionGroup", ["KeyError", "ValueError"]), r
    assert r["except_star_ValueError"] == ["ValueError('bad value')"], r
    assert r["except_star_KeyError"] == ["KeyError('missing')"], r
    assert r["gather_raises"] == "ValueError" and r["gather_sibling_done_after_raise"] is False, r
    assert r["gather_sibling_saw"] == ["finished"], r


def test_timeout_counts_its_own_cancel_and_lets_an_outer_one_through():
    r = here("timeouts")
    assert r["timeout_raises"] == "TimeoutError" and r["cancelling_inside_then_after"] == [1, 0], r
    assert r["nested"] == ["inner TimeoutError, cancelling=0", "outer block carries on"], r
    assert r["timeout_plus_outer_cancel"] == ["CancelledError, cancelling=1",
                                              "awaiting the task raised CancelledError"], r
    assert r["shield"] == ["outer CancelledError", "inner cancelled? False", "inner finished",
                           "inner result"], r


def check_strong_refs(r: dict) -> None:
    assert r["unreferenced"] == {"alive_after_gc": False,
                                 "loop_errors": ["Task was destroyed but it is pending!"]}, r
    assert r["kept"] == {"alive_after_gc": True, "loop_errors": []}, r
    assert r["sleep"] == {"alive_after_gc": True, "loop_errors": []}, r


def test_an_unreferenced_pending_task_is_collected():
    check_strong_refs(here("strong_refs"))


def test_each_task_has_its_own_context():
    r = here("contextvars_per_task")
    assert r["children"] == [f"{n}: inherited parent, sees {n}" for n in "abc"], r
    assert r["parent_after"] == "parent", r


def test_debug_mode_logs_a_slow_callback():
    r = here("slow_callback")
    assert len(r["warnings"]) == 1, f"expected one 'Executing <Handle ...> took' warning: {r}"
    # The message rounds to 3 decimals; the busy wait lasted at least 0.05 s.
    assert r["took_seconds"][0] >= 0.049, r


def test_start_method_of_the_course_python():
    r = here("start_method")
    assert r["exitcode"] == 0
    expected = "forkserver" if sys.version_info >= (3, 14) else "fork"
    assert (r["default"], r["popen_module"]) == (expected, f"popen_{expected}"), r


def test_an_experiment_too_new_for_every_interpreter_is_skipped_with_a_reason(monkeypatch):
    monkeypatch.setattr(m, "interpreters", lambda: [])
    r = m.run_experiment("call_graph", min_version=(9, 0))
    assert list(r) == ["skipped"] and r["skipped"].startswith("skipped: needs Python 9.0+"), r
    r = m.run_experiment("call_graph", python=sys.executable, min_version=(9, 0))
    assert r["skipped"].startswith("skipped: needs Python 9.0+ and "), r


def test_unknown_experiment_names_the_known_ones():
    with pytest.raises(RuntimeError, match="eager_order"):
        m.run_experiment("nope", python=sys.executable)


# Rows as display_awaited_by_tasks_table prints them (Lib/asyncio/tools.py, v3.15.0rc1).
def ps_row(*cols: str) -> str:
    return (f"{cols[0]:<10} {cols[1]:<20} {cols[2]:<20} {cols[3]:<50} {cols[4]:<50} "
            f"{cols[5]:<15} {cols[6]:<15}")


def test_parse_ps_reads_names_stacks_and_awaiters():
    long_stack = " -> ".join(["Event.wait"] + ["a_long_function_name"] * 3 + ["reader"])  # > 50 wide
    text = "\n".join([
        ps_row("tid", "task id", "task name", "coroutine stack", "awaiter chain", "awaiter name", "awaiter id"),
        "-" * 180,
        ps_row("4242", "0x7f00aa", "service", "announce -> service", "", "", "0x0"),
        ps_row("4242", "0x7f00bb", "reader", long_stack, "TaskGroup._aexit -> TaskGroup.__aexit__ -> service",
               "service", "0x7f00aa"),
    ])
    assert m.parse_ps(text) == [
        {"task": "service", "stack": "announce -> service", "awaiter_chain": "", "awaiter": "",
         "awaiter_id": "0x0"},
        {"task": "reader", "stack": long_stack, "awaiter_chain": "TaskGroup._aexit -> TaskGroup.__aexit__ -> service",
         "awaiter": "service", "awaiter_id": "0x7f00aa"},
    ]


@pytest.mark.parametrize("args", [[], ["--cycle"]])
def test_wedged_service_announces_itself_and_stays_wedged(args):
    service = subprocess.Popen([sys.executable, str(m.WEDGED_SERVICE), *args], env=probe.child_env(),
                               stdout=subprocess.PIPE, text=True)
    try:
        line = service.stdout.readline()
        assert line == f"ready {service.pid}\n"
        assert service.poll() is None, "the service should still be running, wedged"
    finally:
        service.kill()
        service.wait()
        service.stdout.close()


# --- with a newer interpreter ----------------------------------------------------------------

def newer(min_version: tuple[int, int]) -> str:
    python = m.pick(min_version)
    if python is None:
        reason = m.skipped(min_version)["skipped"]
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    return python


def test_a_314_interpreter_is_present_when_ci_requires_it():
    if not REQUIRED:
        pytest.skip("COURSEKIT_REQUIRE_NEWEST is not 1: a 3.14+ interpreter is optional here")
    assert m.pick((3, 14)) is not None, m.skipped((3, 14))["skipped"]


def test_eager_tasks_run_the_first_step_inside_create_task():
    r = m.run_experiment("eager_order", python=newer((3, 12)))
    assert r["lazy"] == ["create_task returned", "child: first line", "child: after its first await"], r
    assert r["eager"] == ["child: first line", "create_task returned", "child: after its first await"], r
    assert r["round_robin_lazy"] == "A0B0C0A1B1C1A2B2C2", r
    assert r["eager_done_at_return"] is True, r


def test_queue_shutdown():
    r = m.run_experiment("queue_shutdown", python=newer((3, 13)))
    assert r["shutdown"] == {"consumer_got": [1, 2, 3, "QueueShutDown"], "put_after_shutdown": "QueueShutDown",
                             "qsize_at_end": 0}, r
    assert r["immediate"]["consumer_got"] == [1, "QueueShutDown"], r
    assert r["immediate"]["put_after_shutdown"] == "QueueShutDown", r
    assert r["blocked_getter"] == "QueueShutDown", r


def test_strong_refs_on_the_newest_interpreter():
    check_strong_refs(m.run_experiment("strong_refs", python=newer((3, 14))))


def test_capture_call_graph_names_the_task_and_its_awaiter():
    r = m.run_experiment("call_graph", python=newer((3, 14)))
    assert r["future"] == "leaf" and r["awaited_by"] == ["service"], r
    assert "leaf" in r["frames"], r
    assert "leaf" in r["text"] and "service" in r["text"], r["text"]


def test_asyncio_ps_and_pstree_on_a_wedged_service():
    r = m.run_experiment("introspect_wedged", python=newer((3, 14)), timeout=300)
    events = r["events"]
    assert events["ps"]["returncode"] == 0, events["ps"]["stderr"]
    rows = {row["task"]: row for row in events["ps_rows"]}
    assert set(rows) == {"service", "reader", "writer"}, events["ps"]["stdout"]
    assert rows["service"]["awaiter"] == "" and rows["service"]["awaiter_id"] == "0x0", events["ps"]["stdout"]
    for child in ("reader", "writer"):
        assert rows[child]["awaiter"] == "service", events["ps"]["stdout"]
        assert rows[child]["stack"] == f"Event.wait -> {child}", events["ps"]["stdout"]
        assert rows[child]["awaiter_chain"].endswith("TaskGroup.__aexit__ -> service"), events["ps"]["stdout"]
    tree = events["pstree"]["stdout"]
    assert events["pstree"]["returncode"] == 0, events["pstree"]["stderr"]
    assert "(T) service" in tree and "(T) reader" in tree and "(T) writer" in tree, tree
    assert tree.index("(T) service") < tree.index("(T) reader"), tree
    cycle = r["cycle"]
    assert cycle["pstree"]["returncode"] == 1, cycle["pstree"]
    assert "cycle: " in cycle["pstree"]["stderr"], cycle["pstree"]["stderr"]
    assert "left" in cycle["pstree"]["stderr"] and "right" in cycle["pstree"]["stderr"], cycle["pstree"]["stderr"]
    pairs = {(row["task"], row["awaiter"]) for row in cycle["ps_rows"]}
    assert {("left", "right"), ("right", "left"), ("left", "service")} <= pairs, cycle["ps"]["stdout"]
    disabled = r["events_remote_debug_disabled"]  # ps reads memory: the variable does not stop it
    assert disabled["ps"]["returncode"] == 0, disabled["ps"]["stderr"]
    assert {row["task"] for row in disabled["ps_rows"]} >= {"reader", "writer"}, disabled["ps"]["stdout"]
    # ... while sys.remote_exec, the in-process half of PEP 768, is refused there and only there.
    assert events["remote_exec"] == "accepted", events["remote_exec"]
    assert disabled["remote_exec"].startswith("RuntimeError"), disabled["remote_exec"]


def test_interpreter_pool_runs_each_worker_in_its_own_interpreter():
    r = m.run_experiment("interpreter_pool", python=newer((3, 14)), timeout=300)
    assert r["sums_agree_1_workers"] and r["sums_agree_2_workers"], r
    assert len(r["interpreter_ids_1_workers"]) == 1 and len(r["interpreter_ids_2_workers"]) == 2, r
    assert r["main_interpreter_id"] not in r["interpreter_ids_2_workers"], r


def test_start_method_is_forkserver_from_314():
    r = m.run_experiment("start_method", python=newer((3, 14)))
    assert (r["default"], r["popen_module"]) == ("forkserver", "popen_forkserver"), r
