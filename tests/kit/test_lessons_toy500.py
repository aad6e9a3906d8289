"""Kit tests of lessons.toy500: the chapter's toy keeps its bugs, the fixed pair has none, and
each demo returns what lesson 06 asserts (orders, presences, signs; no wall clock)."""

import sys

import pytest

from lessons import toy500
from lessons.eventloop import Loop
from lessons.toy500 import FixedFuture, FixedTask, Future, Task, run_fixed


def test_the_toy_is_the_chapters_code():
    fut = Future()
    assert fut.result is None and "result" in vars(fut)     # the attribute hides the method
    seen = []
    fut.add_done_callback(seen.append)
    fut.set_result(7)
    assert seen == [fut] and fut.result == 7                # called inside set_result

    def coro():
        value = yield from pending
        log.append(value)
    log, pending = [], Future()
    Task(coro())                                            # the first step runs at once
    assert log == [] and pending._callbacks                 # ... up to the pending future
    pending.set_result("go")
    assert log == ["go"]


def test_shadowing_shows_typeerror_beside_invalidstateerror():
    out = toy500.shadowing()
    assert out["toy"]["pending"] == "TypeError: 'NoneType' object is not callable"
    assert out["toy"]["done"] == "TypeError: 'int' object is not callable"
    assert out["toy"]["attribute"] == 42 and out["toy"]["in_instance_dict"]
    assert out["toy"]["class_has_method"]
    assert out["asyncio"]["pending"].startswith("InvalidStateError")
    assert out["asyncio"]["done"] == 42


def test_late_callback_never_fires_on_the_toy_and_is_scheduled_elsewhere():
    out = toy500.late_callback()
    assert out["toy"] == {"calls": [], "steps": ["started"]}     # footnote 12: the task hangs
    scheduled = ["add_done_callback returned", "late callback ran"]
    assert out["fixed"]["calls"] == scheduled                    # not called inside add_done_callback
    assert out["asyncio"]["calls"] == scheduled
    assert out["fixed"]["steps"] == ["started", "resumed with 'ready'"]


def test_reentrancy_order_toy_against_loop_scheduled():
    out = toy500.reentrancy()
    toy = [(r["event"], r["inside"]) for r in out["toy"]]
    assert toy == [("set_result(A) called", []), ("a1 starts", ["A"]), ("b1", ["A", "B"]),
                   ("a1 ends", ["A"]), ("a2", ["A"]), ("set_result(A) returned", [])]
    expected = ["set_result(A) called", "set_result(A) returned", "a1 starts", "a1 ends", "a2", "b1"]
    for where in ("fixed", "asyncio"):
        assert [r["event"] for r in out[where]] == expected, where
        assert all(r["inside"] == [] for r in out[where]), where


@pytest.mark.parametrize("where", ["course", "asyncio"])
def test_loop_scheduled_chains_keep_a_flat_stack(where):
    row = toy500.stack_depth(300, where)
    assert row["resolved"] == 300 and row["error"] is None
    assert row["min_depth"] == row["max_depth"]


def test_the_toy_chain_grows_the_stack_until_recursionerror():
    small = toy500.in_thread(lambda: toy500.stack_depth(100, "toy"))
    assert small["error"] is None and small["resolved"] == 100
    assert small["max_depth"] - small["min_depth"] == 2 * 99       # set_result + callback per link
    limit = sys.getrecursionlimit()
    big = toy500.in_thread(lambda: toy500.stack_depth(limit, "toy"))
    assert big["error"] == "RecursionError" and 0 < big["resolved"] < limit


def test_stack_depths_covers_every_loop_for_each_n():
    rows = toy500.stack_depths([1, 20])
    assert [(r["n"], r["where"]) for r in rows] == [
        (1, "toy"), (1, "course"), (1, "asyncio"), (20, "toy"), (20, "course"), (20, "asyncio")]
    toy20 = rows[3]
    assert toy20["max_depth"] > rows[4]["max_depth"] and toy20["max_depth"] > rows[5]["max_depth"]


def test_stack_depth_rejects_an_unknown_loop():
    with pytest.raises(ValueError, match="toy"):
        toy500.stack_depth(3, "uvloop")


def test_fixed_pair_runs_a_coroutine_on_the_course_loop():
    loop = Loop()
    order = []
    try:
        inner = FixedFuture(loop)

        async def child():
            order.append("child")
            return await inner

        async def parent():
            task = FixedTask(child(), loop)
            order.append("created")                             # the first step is not run here
            loop.call_soon(inner.set_result, 5)
            return await task * 2

        assert run_fixed(parent(), loop) == 10
    finally:
        loop.close()
    assert order == ["created", "child"]


def test_fixed_future_awaits_a_done_future_without_suspending():
    loop = Loop()
    try:
        done = FixedFuture(loop)
        done.set_result(3)
        it = done.__await__()
        with pytest.raises(StopIteration) as stop:
            next(it)
        assert stop.value.value == 3
        assert run_fixed((lambda: (yield from done))(), loop) == 3   # yield from works too
    finally:
        loop.close()


def test_run_fixed_makes_and_closes_its_own_loop():
    async def answer():
        return 42
    assert run_fixed(answer()) == 42
