"""A virtual-time loop for tests (autojump clock): deterministic timeouts in zero wall time,
used by this lesson's tests.

    result, elapsed = run(main())          # main() may sleep for an hour: it returns at once
    loop = VirtualTimeLoop()               # or use the loop itself
    loop.select_timeouts                   # every timeout asyncio passed to select()

Design
======

A test of a timeout has two bad options on a real loop: wait for real (an hour's deadline
takes an hour; a short one makes the test depend on how busy the machine is), or patch the
clock by hand. Trio ships a third: trio.testing.MockClock(autojump_threshold=0). Its
documentation (Trio's docs, "Testing made easier with trio.testing", MockClock) says that with
autojump_threshold set to zero it watches the run loop, and "any time things have settled down
and everyone's waiting for a timeout, it jumps the clock forward to that timeout". This module
is the same idea for asyncio, in two small overrides.

1. The loop's clock is a number we own. BaseEventLoop.time() is the one clock asyncio reads
   for call_later, call_at, sleep, timeout() and wait_for (Lib/asyncio/base_events.py,
   BaseEventLoop.time, v3.11.9 and v3.15.0rc1: it returns time.monotonic()). VirtualTimeLoop
   overrides time() to return `clock.now`, which starts at 0.0 and moves only by a jump.

2. The selector decides when to jump. BaseEventLoop._run_once (same file and tags) computes
   the select timeout with one rule: 0 when a callback is ready (or the loop is stopping),
   else the distance to the earliest timer, clamped to [0, MAXIMUM_SELECT_TIMEOUT = 86400],
   else None when no timer is scheduled. So a select(timeout) with timeout > 0 means "nothing
   is ready, and the next timer is `timeout` seconds away": exactly Trio's "everyone's waiting
   for a timeout". AutojumpSelector.select(timeout) first polls the real descriptors with
   timeout 0 (real I/O still works); if nothing is ready it adds `timeout` to the clock and
   returns no events. Then _run_once collects due timers with
       end_time = self.time() + self._clock_resolution                    (v3.11.9)
       end_time = now + max(self._clock_resolution, math.ulp(now))        (v3.15.0rc1)
   and runs every timer with `when < end_time`. After the jump the clock equals the timer's
   `when` (to within one rounding of `now + timeout`), so the timer is due on this pass - if
   `now + _clock_resolution` is really more than `now`. _clock_resolution is
   time.get_clock_info("monotonic").resolution, 1e-09 on Linux, and above 2**24 s (194 days)
   a float's spacing math.ulp(now) is more than twice that: now + 1e-09 rounds back to now, a
   timer due exactly now is never due, and 3.11-3.14 would spin with select(0) for ever. A real
   clock hides this (it moves on between passes); a virtual one that stands still at the
   timer's `when` does not. CPython fixed it for 3.15 (gh-145703, the max(..., math.ulp(now))
   above); VirtualTimeLoop applies that fix on every version, so a clock started at 1e9 s works.
   Whole and binary-fraction delays add up exactly: sleep(3600) then a 10 s timeout leaves the
   clock at exactly 3610.0 (the tests compare virtual times with ==).

3. select(None) is the one case where jumping is impossible: no timer is scheduled, so there
   is nothing to jump to. If a real descriptor other than the loop's self-pipe is registered
   (a socket waiting for a peer), or a job is running in an executor thread, something real
   can still happen: the selector waits for real, as asyncio would. Otherwise nothing can
   ever wake the loop - every task awaits something nobody will set - and a real loop would
   hang forever; this one raises NothingCanWake, a RuntimeError that says so.

4. Threads are the limit of the trick, as in Trio. A job in an executor (run_in_executor,
   asyncio.to_thread, getaddrinfo, the default executor's shutdown in Runner.close) works in
   real time; jumping the clock while it runs would fire virtual timeouts that real time has
   not reached. So while such a job is in flight, select waits for real (up to the timeout)
   instead of jumping. A thread of your own is not counted (start it with asyncio.to_thread,
   or it may find NothingCanWake raised before its call_soon_threadsafe). I/O from another
   process or thread that the loop does not know about is not waited for: with the clock
   jumping, a peer that answers "soon" in real time loses every race with a virtual timeout.
   Keep the other end of the socket on the same loop.

Rejected: patching time.monotonic (asyncio is not the only reader: the runner, logging and
the test harness read it too); a loop of our own (lesson 04's) - the point is to test code on
asyncio's real loop, Tasks, TaskGroup and timeout(), with only the clock replaced.

Standard library only: the graded tests exec this file's source inside the sandboxed child.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import time
from typing import Any, Awaitable, Callable, Coroutine, TypeVar

T = TypeVar("T")

__all__ = ["NothingCanWake", "VirtualClock", "AutojumpSelector", "VirtualTimeLoop", "run"]


class NothingCanWake(RuntimeError):
    """The loop would wait forever: no callback ready, no timer, no I/O, no thread at work."""


class VirtualClock:
    """A clock that moves only when told to: `now` starts at `start` (0.0)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds})")
        self.now += seconds


class AutojumpSelector(selectors.DefaultSelector):   # type: ignore[misc,valid-type]  # a platform class
    """The platform's selector, which jumps the clock instead of sleeping (see the essay, 2-4).

    `timeouts` lists every timeout the loop asked for, in order; `jumps` counts the jumps.
    """

    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock
        self.timeouts: list[float | None] = []
        self.jumps = 0
        self.threads_busy: Callable[[], bool] = lambda: False   # set by the loop
        self.self_pipe: Callable[[], int | None] = lambda: None  # the loop's self-pipe fd

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        ready = super().select(0)                   # real readiness, never a real wait
        if ready or timeout == 0:
            return ready
        if self.threads_busy():                     # real work elsewhere: wait for it for real
            ready = super().select(timeout)
            if ready or timeout is None:
                return ready
        elif timeout is None:
            others = [key.fd for key in self.get_map().values() if key.fd != self.self_pipe()]
            if not others:
                raise NothingCanWake(
                    "every task is waiting and nothing can wake one: no callback is ready, no timer "
                    "is scheduled, no socket is registered and no executor job is running. On a real "
                    "loop this would hang forever (an Event nobody sets, a Lock nobody releases, a "
                    "Semaphore(0), a Future nobody completes).")
            return super().select(None)             # only a real peer can wake us: wait for it
        self.clock.advance(timeout)                 # everyone waits for a timer: jump to it
        self.jumps += 1
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):   # type: ignore[misc,valid-type]  # a platform class
    """asyncio's selector loop on a VirtualClock: timers fire as soon as nothing else can run."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.clock = clock or VirtualClock()
        self._jobs_in_flight = 0                    # executor jobs not finished yet (essay, 4)
        selector = AutojumpSelector(self.clock)
        selector.threads_busy = lambda: self._jobs_in_flight > 0
        # The self-pipe (selector_events.py, BaseSelectorEventLoop._make_self_pipe) is always
        # registered; only another thread's call_soon_threadsafe can make it readable.
        selector.self_pipe = lambda: self._ssock.fileno() if getattr(self, "_ssock", None) else None
        self.selector = selector
        super().__init__(selector)

    # _run_once's end_time rule with 3.15's fix (essay, 2): BaseEventLoop.__init__ assigns the
    # clock's resolution; reading it gives at least the float spacing at the current time.
    @property
    def _clock_resolution(self) -> float:
        return max(self._resolution, math.ulp(self.clock.now))

    @_clock_resolution.setter
    def _clock_resolution(self, value: float) -> None:
        self._resolution = value

    @property
    def select_timeouts(self) -> list[float | None]:
        """Every timeout _run_once passed to select, in order."""
        return self.selector.timeouts

    def time(self) -> float:
        return self.clock.now

    def run_in_executor(self, executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._jobs_in_flight += 1
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, _future: asyncio.Future[Any]) -> None:
        self._jobs_in_flight -= 1

    async def shutdown_default_executor(self, *args: Any) -> None:
        # Its thread joins the executor's threads in real time (base_events.py,
        # shutdown_default_executor; 3.12+ also wraps it in a 300 s timeout, which a jump
        # would expire at once).
        self._jobs_in_flight += 1
        try:
            await super().shutdown_default_executor(*args)
        finally:
            self._jobs_in_flight -= 1


def run(main: Coroutine[Any, Any, T] | Awaitable[T]) -> tuple[T, float]:
    """Run `main` to completion on a fresh VirtualTimeLoop; return (its result, the virtual
    seconds it took). asyncio.Runner(loop_factory=...) needs Python 3.11+."""
    clock = VirtualClock()
    with asyncio.Runner(loop_factory=lambda: VirtualTimeLoop(clock)) as runner:
        start = clock.now
        result = runner.run(main)   # type: ignore[arg-type]
        return result, clock.now - start


if __name__ == "__main__":
    async def _demo() -> str:
        await asyncio.sleep(3600)
        return "an hour later"

    t0 = time.perf_counter()
    print(run(_demo()), f"in {time.perf_counter() - t0:.4f} s of wall time")
