"""Kit tests of lessons.virtual_time: timeouts on virtual time (exact clock, tiny wall time),
the recorded select timeouts, call_later ordering, NothingCanWake instead of a hang, real
loopback I/O and executor threads on the same loop, and the source running when exec'd on its
own (as the graded tests of lesson 07 do in the sandboxed child)."""

import asyncio
import sys
import time
import types
from pathlib import Path

import pytest

from lessons import virtual_time
from lessons.virtual_time import NothingCanWake, VirtualClock, VirtualTimeLoop, run

SOURCE = Path(virtual_time.__file__).read_text(encoding="utf-8")


async def hour_under_two_deadlines():
    async with asyncio.timeout(7200):
        await asyncio.sleep(3600)
    try:
        async with asyncio.timeout(10):
            await asyncio.sleep(3600)
    except TimeoutError:
        return "timed out", list(asyncio.get_running_loop().select_timeouts)
    return "finished", []


def test_an_hour_passes_in_no_time():
    wall = time.perf_counter()
    (outcome, timeouts), elapsed = run(hour_under_two_deadlines())
    wall = time.perf_counter() - wall
    assert outcome == "timed out"
    assert elapsed == 3610.0                     # exactly: whole seconds add up exactly
    assert wall < elapsed / 1000, f"{wall} s of wall time for {elapsed} virtual seconds"
    # The loop asked to wait 3600 s for the sleep (under the 7200 s deadline), then 10 s for
    # the deadline (before the second sleep's 3600 s); every other pass polled with 0.
    assert [t for t in timeouts if t] == [3600.0, 10.0]
    assert set(t for t in timeouts if not t) <= {0}


def test_timeouts_are_recorded_and_clamped():
    loop = VirtualTimeLoop()
    try:
        loop.run_until_complete(asyncio.sleep(2 * 86400 + 5))
        assert loop.time() == 2 * 86400 + 5
        # _run_once clamps the timeout at MAXIMUM_SELECT_TIMEOUT (86400): three jumps.
        assert [t for t in loop.select_timeouts if t] == [86400, 86400, 5.0]
        assert loop.selector.jumps == 3
    finally:
        loop.close()


def test_call_later_order_and_times():
    loop = VirtualTimeLoop(VirtualClock(100.0))
    seen = []
    try:
        for delay, name in [(3.0, "c"), (1.0, "a"), (2.0, "b"), (1.0, "a2")]:
            loop.call_later(delay, lambda name=name: seen.append((name, loop.time())))
        loop.call_later(5.0, loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    assert [n for n, _ in seen] in (["a", "a2", "b", "c"], ["a2", "a", "b", "c"])
    assert dict(seen) == {"a": 101.0, "a2": 101.0, "b": 102.0, "c": 103.0}


def test_a_wait_nothing_can_end_raises_instead_of_hanging():
    async def stuck():
        await asyncio.Event().wait()

    with pytest.raises(NothingCanWake, match="nothing can wake"):
        run(stuck())


def test_real_loopback_io_works_and_does_not_move_the_clock():
    async def main():
        async def echo(reader, writer):
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"hello\n")
            async with asyncio.timeout(30):         # virtual: it must not fire
                line = await reader.readline()
            writer.close()
            await writer.wait_closed()
        return line

    line, elapsed = run(main())
    assert line == b"hello\n"
    assert elapsed == 0.0


def test_executor_jobs_are_waited_for_in_real_time():
    async def main():
        async with asyncio.timeout(1):              # virtual 1 s; the job takes 50 real ms
            return await asyncio.to_thread(lambda: time.sleep(0.05) or "done")

    assert run(main()) == ("done", 0.0)


def test_the_source_runs_on_its_own():
    module = types.ModuleType("vt_exec_copy")
    sys.modules[module.__name__] = module
    try:
        exec(compile(SOURCE, "virtual_time.py", "exec"), module.__dict__)
        result, elapsed = module.run(hour_under_two_deadlines())
    finally:
        del sys.modules[module.__name__]
    assert result[0] == "timed out" and elapsed == 3610.0
    imports = {line.split()[1] for line in SOURCE.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "asyncio", "math", "selectors", "time", "typing"}, imports


def test_a_clock_far_from_zero_still_fires_its_timers():
    # At 1e9 s, math.ulp(now) (1.2e-07) dwarfs the 1e-09 resolution: without 3.15's fix
    # (gh-145703) a timer due exactly now would never be collected and the loop would spin.
    async def main():
        await asyncio.sleep(10)
        async with asyncio.timeout(5):
            await asyncio.sleep(1)
        return asyncio.get_running_loop().time()

    clock = VirtualClock(1e9)
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        assert runner.run(asyncio.wait_for(main(), 100)) == 1e9 + 11
