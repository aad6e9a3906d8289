"""Lesson 05's support code: the cross-version survey (lessons.generators) and the coroutine
scheduler on the teaching loop (lessons.coro_sched). Virtual time: no test sleeps or times."""

import socket
import sys

import pytest

from lessons import coro_sched, eventloop, generators, gil_lab
from lessons.coro_sched import recv, sendall, sleep


def test_survey_of_this_interpreter_has_the_3_11_shape():
    me = gil_lab.Interpreter(".".join(map(str, sys.version_info[:3])), sys.executable, False)
    [row] = generators.survey([me])
    assert row["version"] == me.version
    assert row["gi_suspended"] is True and row["f_lasti"][0] >= 0     # the course runs on 3.11+
    assert {"SEND", "YIELD_VALUE", "JUMP_BACKWARD_NO_INTERRUPT"} <= set(row["yield_from_ops"])


def test_survey_reports_a_broken_interpreter_instead_of_failing(tmp_path):
    bad = tmp_path / "python"
    bad.write_text("#!/bin/sh\nexit 3\n")
    bad.chmod(0o755)
    rows = generators.survey([gil_lab.Interpreter("9.9.9", str(bad), False)])
    assert rows == [{"skipped": ["9.9.9: RuntimeError"]}]


def virtual_loop():
    clock = eventloop.FakeClock()
    selector = coro_sched.VirtualTimeSelector(clock)
    return eventloop.Loop(clock=clock, selector=selector), selector


def test_timers_run_in_virtual_time_in_order():
    loop, selector = virtual_loop()
    trace = []

    async def ticker(name, period, n):
        for i in range(n):
            await sleep(period)
            trace.append((round(loop.time(), 9), name, i))
        return name

    tasks = coro_sched.run(loop, {"a": ticker("a", 0.3, 2), "b": ticker("b", 0.2, 3)})
    loop.close()
    assert trace == [(0.2, "b", 0), (0.3, "a", 0), (0.4, "b", 1), (0.6, "a", 1), (0.6, "b", 2)]
    assert {n: t.result for n, t in tasks.items()} == {"a": "a", "b": "b"}
    assert None not in selector.timeouts


def test_echo_over_a_socketpair_and_a_failing_task():
    loop, _ = virtual_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def server():
        while data := await recv(a, 100):
            await sendall(a, data.upper())
        return "eof"

    async def client():
        got = []
        for word in (b"x", b"yz"):
            await sendall(b, word)
            got.append(await recv(b, 100))
        b.shutdown(socket.SHUT_WR)
        return got

    async def fails():
        await sleep(0)
        raise KeyError("boom")

    try:
        tasks = coro_sched.run(loop, {"s": server(), "c": client(), "f": fails()})
    finally:
        loop.close(); a.close(); b.close()
    assert tasks["c"].result == [b"X", b"YZ"] and tasks["s"].result == "eof"
    assert isinstance(tasks["f"].exception, KeyError) and tasks["f"].done


def test_unknown_request_is_thrown_into_the_coroutine():
    loop, _ = virtual_loop()

    class Odd:
        def __await__(self):
            yield "not a request"

    async def confused():
        try:
            await Odd()
        except TypeError as exc:
            return str(exc)

    tasks = coro_sched.run(loop, {"t": confused()})
    loop.close()
    assert "does not know" in tasks["t"].result


def test_waiting_forever_is_an_error_not_a_hang():
    loop, _ = virtual_loop()
    a, b = socket.socketpair()
    a.setblocking(False)

    async def never():
        return await recv(a, 1)

    try:
        with pytest.raises(RuntimeError, match="wait forever"):
            coro_sched.run(loop, {"n": never()})
    finally:
        loop.close(); a.close(); b.close()
