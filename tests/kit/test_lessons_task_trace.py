"""Kit tests of lessons.task_trace: asyncio's own _PyTask and the course's FixedTask make the
same trace, pass by pass (virtual time: exact on every run); first steps lazy and eager;
cancellation as a thrown exception. The eager part runs on the newest CPython found
(``lessons.pythons``: Debian's 3.15 of ``make newest-python``) and is skipped, with the reason,
when the machine has no 3.12+, unless ``COURSEKIT_REQUIRE_NEWEST=1`` (CI), which fails instead."""

import sys

import pytest

from lessons import pythons, task_trace

EXPECTED = [
    (-1, "task: create"), (-1, "loop: call_soon(step)"), (-1, "task: add_done_callback(on_done)"),
    (0, "loop: pass"), (0, "task: step"), (0, "coro: send(None)"), (0, "loop: call_at(set_result)"),
    (0, "coro: yield future"), (0, "future: add_done_callback(wakeup)"),
    (1, "loop: pass"), (1, "future: set_result"), (1, "future: schedule_callbacks"),
    (1, "loop: call_soon(wakeup)"),
    (2, "loop: pass"), (2, "task: wakeup"), (2, "task: step"), (2, "coro: send(None)"),
    (2, "coro: StopIteration"), (2, "task: set_result"), (2, "task: schedule_callbacks"),
    (2, "loop: call_soon(on_done)"),
    (3, "loop: pass"), (3, "loop: on_done"),
]


def passes_and_events(trace):
    return list(zip([e["pass"] for e in trace["events"]], task_trace.abstract(trace["events"])))


@pytest.mark.parametrize("make", [lambda: task_trace.trace_asyncio(),
                                  lambda: task_trace.trace_asyncio("course"),
                                  task_trace.trace_course],
                         ids=["PyTask-on-asyncio", "PyTask-on-course-loop", "FixedTask-on-course-loop"])
def test_each_trace_has_the_expected_events(make):
    trace = make()
    assert trace["result"] == 42
    assert passes_and_events(trace) == EXPECTED


def test_asyncio_marks_the_yielded_future_blocking():
    events = task_trace.trace_asyncio()["events"]
    [yielded] = [e for e in events if e["what"] == "yield future"]
    assert "_asyncio_future_blocking=True" in yielded["detail"]


def test_same_events_and_side_by_side_rows():
    a, b = task_trace.trace_asyncio(), task_trace.trace_course()
    assert task_trace.same_events(a, b)
    rows = task_trace.side_by_side(a, b)
    assert len(rows) == len(EXPECTED)
    assert all("!=" not in r["event"] for r in rows)
    assert all(r["asyncio_where"] and r["course_where"] for r in rows)


def test_a_difference_shows_in_the_rows_and_in_same_events():
    a, b = task_trace.trace_asyncio(), task_trace.trace_course()
    b = {**b, "events": [e for e in b["events"] if e["what"] != "schedule_callbacks"]}
    assert not task_trace.same_events(a, b)
    assert any("!=" in r["event"] for r in task_trace.side_by_side(a, b))


def test_first_step_is_lazy_on_this_interpreter():
    out = task_trace.first_step()
    assert out["lazy"][:2] == ["create_task returned, task.done()=False", "child: first line"]
    if sys.version_info < (3, 12):
        assert out["has_eager_task_factory"] is False and "eager" not in out


def test_first_step_is_eager_on_the_newest_python():
    path, label = task_trace.newest_python()
    if path is None:
        if pythons.required():      # CI (COURSEKIT_REQUIRE_NEWEST=1): make newest-python ran
            pytest.fail(label)
        pytest.skip(label)
    if pythons.required():
        assert tuple(map(int, label.rstrip("t").split(".")[:2])) >= (3, 14), label
    out = task_trace.first_step(path)
    assert out["has_eager_task_factory"] is True
    assert out["eager"][:2] == ["child: first line", "create_task returned, task.done()=True"]
    assert out["eager_suspending"][:3] == ["child: first line", "create_task returned, task.done()=False",
                                           "child: after its first await"]
    if tuple(map(int, out["python"].split(".")[:2])) >= (3, 14):
        assert out["eager_kwarg"] == out["eager"]
    else:
        assert out["eager_kwarg"].startswith("TypeError")


def test_first_step_of_a_missing_python_is_skipped_with_a_reason(tmp_path):
    assert "does not exist" in task_trace.first_step(str(tmp_path / "python9"))["skipped"]


def test_cancellation_facts():
    out = task_trace.cancellation()
    caught = out["caught"]
    assert caught["coro_calls"] == ["send(None)", "yield future", "throw(CancelledError)", "StopIteration"]
    assert caught["task_cancelled"] is False and caught["task_result"] == "cleaned up and returned"
    assert caught["awaited_future_cancelled"] is True
    early = out["before_first_step"]
    assert (early["must_cancel_before"], early["must_cancel_after_cancel"]) == (False, True)
    assert early["first_line"] == [] and early["task_cancelled"] is True
    assert [n for _, n in out["counts"]["steps"]] == [0, 1, 2, 1, 1]
    assert out["counts"]["result"] == "done" and out["counts"]["cancelled"] is False
