"""A first coroutine scheduler (协程调度器) on lesson 04's teaching loop (``lessons.eventloop``).

Design essay
============

Lesson 04's loop runs *callbacks*. A coroutine is not a callback, but one step of it is: "send
a value into the coroutine and let it run to its next pause" is a plain function call. So a
``Task`` is an object whose ``_step`` method is the only callback the loop ever sees:

1. ``Task(coro)`` schedules ``_step`` with ``call_soon``: the coroutine starts on the next pass.
2. ``_step`` calls ``coro.send(value)`` (or ``coro.throw(exc)``). The coroutine runs until it
   reaches a ``yield`` at the bottom of its ``await`` chain; what it yields is a *request* to
   the scheduler: ``("sleep", delay)`` or ``("read", sock)`` / ``("write", sock)``.
3. The task turns the request into a loop registration whose callback is ``_step`` again:
   ``call_later(delay, self._step)`` or ``add_reader(sock, self._ready_fd, ...)``. Then it
   returns to the loop, which runs other callbacks - other tasks' steps.
4. ``StopIteration`` means the coroutine returned: the task is done, ``result`` holds the
   value. Any other exception ends it too and is kept in ``exception``: one failing task does
   not stop the loop or the other tasks.

The requests are made by three tiny awaitables at the bottom of every chain, generators marked
with ``@types.coroutine`` (lesson 05, section 6): ``sleep(delay)``, ``wait_readable(sock)``,
``wait_writable(sock)``. ``recv`` and ``sendall`` are ordinary ``async def`` functions on top.
This is the shape of curio's traps (``curio/traps.py``) more than of asyncio, where the bottom
of the chain yields a ``Future`` and the Task registers a done-callback on it (lesson 06).

Time is virtual when you want it: ``VirtualTimeSelector`` polls the real selector without
waiting and, when nothing is ready, moves a ``eventloop.FakeClock`` forward by the timeout
instead of sleeping. Real sockets (a socketpair) and exact timer times then mix in one run,
and a trace of ``(time, task, event)`` is the same on every run and on a busy machine.

    from lessons import coro_sched, eventloop
    clock = eventloop.FakeClock()
    loop = eventloop.Loop(clock=clock, selector=coro_sched.VirtualTimeSelector(clock))
    trace = []
    tasks = coro_sched.run(loop, {"ticker": ticker(trace)}, trace)
"""

from __future__ import annotations

import selectors
import socket
import types
from collections.abc import Callable, Coroutine, Generator, Mapping
from typing import Any

from .eventloop import FakeClock, Loop

__all__ = ["Task", "VirtualTimeSelector", "recv", "run", "sendall", "sleep", "wait_readable",
           "wait_writable"]


# ---------------------------------------------------------------- the awaitables at the bottom

@types.coroutine
def sleep(delay: float) -> Generator[tuple[str, float], None, None]:
    """``await sleep(delay)``: resume after ``delay`` seconds of the loop's clock (0: next pass)."""
    yield ("sleep", delay)


@types.coroutine
def wait_readable(sock: socket.socket) -> Generator[tuple[str, socket.socket], None, None]:
    """``await wait_readable(sock)``: resume when ``sock`` has data (or EOF) to read."""
    yield ("read", sock)


@types.coroutine
def wait_writable(sock: socket.socket) -> Generator[tuple[str, socket.socket], None, None]:
    """``await wait_writable(sock)``: resume when ``sock`` can take more bytes."""
    yield ("write", sock)


async def recv(sock: socket.socket, n: int) -> bytes:
    """Receive up to ``n`` bytes from the non-blocking ``sock``, waiting as long as needed."""
    while True:
        try:
            return sock.recv(n)
        except BlockingIOError:
            await wait_readable(sock)


async def sendall(sock: socket.socket, data: bytes) -> None:
    """Send all of ``data`` on the non-blocking ``sock``, waiting for write readiness."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view):]
        except BlockingIOError:
            await wait_writable(sock)


# ---------------------------------------------------------------- the task

class Task:
    """Runs one coroutine on ``loop``, one ``send()`` per loop callback.

    ``done``, ``result`` and ``exception`` tell how it ended; ``trace`` (a list shared by the
    tasks, or None) receives ``(loop.time(), name, event)`` tuples as the task steps.
    """

    def __init__(self, loop: Loop, coro: Coroutine[Any, Any, Any], name: str,
                 trace: list[tuple[float, str, str]] | None = None,
                 on_done: Callable[["Task"], None] | None = None) -> None:
        self.loop, self.coro, self.name, self.trace = loop, coro, name, trace
        self.done = False
        self.result: Any = None
        self.exception: BaseException | None = None
        self._on_done = on_done
        loop.call_soon(self._step, None)

    def _log(self, event: str) -> None:
        if self.trace is not None:
            self.trace.append((round(self.loop.time(), 9), self.name, event))

    def _step(self, value: Any = None) -> None:
        try:
            request = self.coro.send(value)
        except StopIteration as stop:
            self._finish(result=stop.value)
            return
        except Exception as exc:        # the task fails; the loop and other tasks go on
            self._finish(exception=exc)
            return
        self._dispatch(request)

    def _dispatch(self, request: Any) -> None:
        """Turn what the coroutine yielded into a loop registration whose callback steps it."""
        kind, arg = request if isinstance(request, tuple) and len(request) == 2 else (None, None)
        if kind == "sleep":
            self.loop.call_later(arg, self._step, None)
        elif kind == "read":
            self.loop.add_reader(arg, self._fd_ready, arg, "read")
        elif kind == "write":
            self.loop.add_writer(arg, self._fd_ready, arg, "write")
        else:   # not one of ours: raise it in the coroutine, at its yield, like a bad system call
            self.loop.call_soon(self._throw, TypeError(f"task {self.name} awaited {request!r}, "
                                                       "which this scheduler does not know"))

    def _fd_ready(self, sock: socket.socket, kind: str) -> None:
        (self.loop.remove_reader if kind == "read" else self.loop.remove_writer)(sock)
        self._step(None)

    def _throw(self, exc: BaseException) -> None:
        try:
            request = self.coro.throw(exc)
        except StopIteration as stop:
            self._finish(result=stop.value)
        except Exception as err:
            self._finish(exception=err)
        else:   # the coroutine caught it and asked for something else: carry on as usual
            self._dispatch(request)

    def _finish(self, *, result: Any = None, exception: BaseException | None = None) -> None:
        self.done, self.result, self.exception = True, result, exception
        self._log("done" if exception is None else f"failed: {type(exception).__name__}")
        if self._on_done is not None:
            self._on_done(self)


def run(loop: Loop, coros: Mapping[str, Coroutine[Any, Any, Any]],
        trace: list[tuple[float, str, str]] | None = None) -> dict[str, Task]:
    """Run the named coroutines concurrently on ``loop`` until all are done; return the tasks."""
    tasks: dict[str, Task] = {}
    remaining = len(coros)

    def one_done(_task: Task) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            loop.stop()

    for name, coro in coros.items():
        tasks[name] = Task(loop, coro, name, trace, one_done)
    if remaining:
        loop.run_forever()
    return tasks


# ---------------------------------------------------------------- virtual time with real sockets

class VirtualTimeSelector(selectors.DefaultSelector):   # type: ignore[misc, valid-type]
    """Real readiness, virtual waiting: ``select(timeout)`` polls without blocking; if nothing is
    ready it advances ``clock`` (an ``eventloop.FakeClock``) by ``timeout`` and returns nothing.
    ``timeouts`` records every timeout asked for. ``select(None)`` with nothing ready raises
    RuntimeError: with only virtual time, nothing else could ever happen."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        events = super().select(0)
        if events:
            return events
        if timeout is None:
            raise RuntimeError("the loop would wait forever: no timer and no descriptor ready")
        self.clock.advance(max(timeout, 0.0))
        return []
