"""The toy Future and Task of the 500 Lines crawler, its bugs shown, and a fixed pair.

Design essay
============

A. Jesse Jiryu Davis and Guido van Rossum, "A Web Crawler With asyncio Coroutines" (500 Lines
or Less, aosabook/500lines), build coroutines out of generators in three small pieces: a
``Future`` that holds a result and a list of callbacks, a ``Task`` that drives a generator by
sending it each future's result, and ``yield from future``. ``Future`` and ``Task`` below are
copied from ``crawler/code/supplemental/loop-with-coroutines.py`` (classes ``Future`` and
``Task``, repository head fba689d; the file last changed in commit 6ce32aa, 2015-07-02), word
for word apart from type hints and comments. The chapter's text (``crawler/crawler.markdown``,
"Building Coroutines With Generators") prints the same classes without the ``result()`` method. They are short because
they leave things out, and three of the things they leave out are bugs that asyncio's
``Future`` (``Lib/asyncio/futures.py``) was written to avoid:

1. **A shadowed method.** ``__init__`` sets an *instance* attribute ``self.result = None`` and
   the class defines a *method* ``result()``. Attribute lookup finds the instance's ``__dict__``
   first (for a plain function, a non-data descriptor), so ``fut.result`` is always the value,
   and ``fut.result()`` calls that value: ``TypeError: 'NoneType' object is not callable`` while
   pending, ``'int' object is not callable`` once resolved with an int. There is also no state:
   a future resolved with ``None`` looks exactly like a pending one. asyncio keeps the value in
   ``_result`` and a state in ``_state``; ``result()`` raises ``InvalidStateError`` while
   pending (``Future.result``, futures.py, v3.11.9 to v3.15.0rc1). ``shadowing()`` shows both.
2. **A late callback never fires.** ``add_done_callback`` only appends to the list, and the
   list is walked once, inside ``set_result``. A callback added after that waits forever. The
   chapter's footnote 12 says it of coroutines: "once this future is resolved, a coroutine that
   yields it should resume immediately instead of pausing, but with our code it does not" (the
   Task adds ``step`` as a callback of the yielded future: a resolved one never calls it, and
   the coroutine hangs). asyncio's ``Future.add_done_callback`` calls
   ``self._loop.call_soon(fn, self)`` when the future is already done. ``late_callback()``.
3. **Callbacks run inside set_result.** ``set_result`` calls each callback itself. A callback
   that resolves another future runs *that* future's callbacks before it returns, in the middle
   of the first future's list: callbacks of two futures interleave, and code that called
   ``set_result`` finds that arbitrary other code ran before its next line (re-entrancy). Each
   link of a chain of futures adds frames to the stack, until ``RecursionError``. asyncio's
   ``Future.__schedule_callbacks`` copies and clears the list and hands each callback to
   ``loop.call_soon`` (futures.py, v3.11.9 to v3.15.0rc1): every callback starts from the loop,
   on a flat stack, in the order the futures were resolved. ``reentrancy()`` and
   ``stack_depth()`` measure that, on asyncio's loop and on lesson 04's ``eventloop.Loop``.

``FixedFuture`` and ``FixedTask`` are the same classes repaired and nothing more: callbacks go
through ``loop.call_soon``, a callback added to a done future is scheduled at once,
``result()`` is a method over ``_result``, ``__await__`` yields the future only while it is
pending (so ``await`` works, not just ``yield from``), and the task is a future itself with
asyncio's two methods ``step`` (send ``None`` into the coroutine) and ``wakeup`` (the callback
the awaited future calls). They run on any loop with ``call_soon``, the course's ``Loop``
first. What they leave out on purpose - exceptions, ``InvalidStateError``, cancellation, the
``_asyncio_future_blocking`` handshake - is asyncio's full set of rules, which tasks 06.1 and
06.2 ask you to write.

Every demo returns plain data (lists, dicts, strings) and asserts nothing: the lesson's cells
assert the claims. asyncio's loop runs in a thread of its own (``in_thread``), because a
Jupyter kernel's thread already has a running loop and asyncio allows one per thread.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from . import aiorun
from .eventloop import Loop

__all__ = [
    "Future", "Task", "FixedFuture", "FixedTask", "run_fixed",
    "shadowing", "late_callback", "reentrancy", "stack_depth", "stack_depths", "in_thread", "SOURCE",
]

#: Where Future and Task were copied from.
SOURCE = ("aosabook/500lines, crawler/code/supplemental/loop-with-coroutines.py, "
          "classes Future and Task (head fba689d)")

T = TypeVar("T")


# ---------------------------------------------------------------------- the chapter's toy

class Future:
    """The chapter's future, as printed (bugs included: see the module docstring)."""

    def __init__(self) -> None:
        self.result = None          # an instance attribute: it hides the method below
        self._callbacks: list[Callable[[Future], Any]] = []

    def result(self):  # type: ignore[no-redef]  # noqa: F811 - the bug, kept on purpose
        return self.result

    def add_done_callback(self, fn: Callable[[Future], Any]) -> None:
        self._callbacks.append(fn)  # even when already resolved: then it never runs

    def set_result(self, result: Any) -> None:
        self.result = result
        for fn in self._callbacks:  # called here and now, not by the loop
            fn(self)

    def __iter__(self) -> Generator[Future, Any, Any]:
        yield self  # This tells Task to wait for completion.
        return self.result


class Task:
    """The chapter's task: starts the generator at once and steps it from future callbacks."""

    def __init__(self, coro: Generator[Any, Any, Any]) -> None:
        self.coro = coro
        f = Future()
        f.set_result(None)
        self.step(f)

    def step(self, future: Future) -> None:
        try:
            next_future = self.coro.send(future.result)
        except StopIteration:
            return
        next_future.add_done_callback(self.step)


# ---------------------------------------------------------------------- the pair, fixed

class FixedFuture:
    """The chapter's future with its bugs fixed, on a loop: ``FixedFuture(loop)``."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._done = False
        self._result: Any = None
        self._callbacks: list[Callable[[FixedFuture], Any]] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        return self._result

    def add_done_callback(self, fn: Callable[[FixedFuture], Any]) -> None:
        if self._done:                      # late: schedule it, as asyncio does
            self._loop.call_soon(fn, self)
        else:
            self._callbacks.append(fn)

    def set_result(self, result: Any) -> None:
        self._result, self._done = result, True
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:                # the loop calls them, each from a flat stack
            self._loop.call_soon(fn, self)

    def __await__(self) -> Generator[FixedFuture, None, Any]:
        if not self._done:
            yield self                      # tells the task: wake me when this is done
        return self._result

    __iter__ = __await__                    # ``yield from fut`` works too, as in the chapter


class FixedTask(FixedFuture):
    """Drives a coroutine on ``loop``; a future that resolves with the coroutine's value."""

    def __init__(self, coro: Any, loop: Any) -> None:
        super().__init__(loop)
        self._coro = coro
        loop.call_soon(self.step)           # the first step runs in the next pass, not here

    def step(self) -> None:
        try:
            next_future = self._coro.send(None)
        except StopIteration as stop:
            self.set_result(stop.value)
            return
        next_future.add_done_callback(self.wakeup)

    def wakeup(self, future: FixedFuture) -> None:
        self.step()                         # __await__ returns future.result() itself


def run_fixed(coro: Any, loop: Any | None = None) -> Any:
    """Run ``coro`` as a FixedTask on ``loop`` (a new course ``Loop`` by default) to its end."""
    own = loop is None
    loop = Loop() if loop is None else loop
    try:
        task = FixedTask(coro, loop)
        task.add_done_callback(lambda _: loop.stop())
        loop.run_forever()
        return task.result()
    finally:
        if own:
            loop.close()


# ---------------------------------------------------------------------- helpers

def in_thread(func: Callable[[], T]) -> T:
    """``func()`` in a fresh thread (no running asyncio loop there); its value or exception."""
    return aiorun.in_thread(func, name="toy500")


def _outcome(call: Callable[[], Any]) -> Any:
    """What ``call()`` returns, or ``"TypeName: message"`` for what it raises."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the demo reports it
        return f"{type(exc).__name__}: {exc}"


def _asyncio_loop_run(schedule: Callable[[asyncio.AbstractEventLoop], None]) -> None:
    """A new asyncio loop: ``schedule(loop)``, then run until something calls loop.stop()."""
    loop = asyncio.new_event_loop()
    try:
        schedule(loop)
        loop.run_forever()
    finally:
        loop.close()


def _depth() -> int:
    """How many frames are on the caller's stack (its own included)."""
    frame, n = sys._getframe(1), 0
    while frame is not None:
        n, frame = n + 1, frame.f_back
    return n


# ---------------------------------------------------------------------- (a) shadowing

def shadowing() -> dict[str, Any]:
    """``fut.result()`` on the toy and on asyncio.Future, pending and resolved with 42."""
    toy = Future()
    toy_pending = _outcome(lambda: toy.result())
    toy.set_result(42)
    toy_done = _outcome(lambda: toy.result())

    def on_asyncio() -> dict[str, Any]:
        loop = asyncio.new_event_loop()
        try:
            fut = loop.create_future()
            pending = _outcome(fut.result)
            fut.set_result(42)
            return {"pending": pending, "done": _outcome(fut.result)}
        finally:
            loop.close()

    return {
        "toy": {"pending": toy_pending, "done": toy_done, "attribute": toy.result,
                "in_instance_dict": "result" in vars(toy),
                "class_has_method": callable(vars(Future)["result"])},
        "asyncio": in_thread(on_asyncio),
    }


# ---------------------------------------------------------------------- (b) late callback

def late_callback() -> dict[str, Any]:
    """A callback added after set_result: toy, FixedFuture on the course loop, asyncio.

    Also footnote 12's coroutine: it yields from an already resolved future and should go on."""
    toy_calls: list[str] = []
    toy = Future()
    toy.set_result("x")
    toy.add_done_callback(lambda f: toy_calls.append("late callback ran"))

    # The coroutine of footnote 12, on the chapter's Task.
    done = Future()
    done.set_result("ready")
    toy_steps: list[str] = []

    def coroutine() -> Generator[Any, Any, None]:
        toy_steps.append("started")
        value = yield from done             # already resolved: the toy Task waits forever
        toy_steps.append(f"resumed with {value!r}")
    Task(coroutine())

    fixed_calls: list[str] = []
    fixed_steps: list[str] = []
    loop = Loop()
    try:
        fixed = FixedFuture(loop)
        fixed.set_result("x")
        fixed.add_done_callback(lambda f: fixed_calls.append("late callback ran"))
        fixed_calls.append("add_done_callback returned")
        ready = FixedFuture(loop)
        ready.set_result("ready")

        async def awaiting() -> str:
            fixed_steps.append("started")
            value = await ready
            fixed_steps.append(f"resumed with {value!r}")
            return value
        run_fixed(awaiting(), loop)
    finally:
        loop.close()

    def on_asyncio() -> list[str]:
        calls: list[str] = []

        def schedule(aloop: asyncio.AbstractEventLoop) -> None:
            fut = aloop.create_future()
            fut.set_result("x")
            fut.add_done_callback(lambda f: calls.append("late callback ran"))
            calls.append("add_done_callback returned")
            aloop.call_soon(aloop.stop)
        _asyncio_loop_run(schedule)
        return calls

    return {"toy": {"calls": toy_calls, "steps": toy_steps},
            "fixed": {"calls": fixed_calls, "steps": fixed_steps},
            "asyncio": {"calls": in_thread(on_asyncio)}}


# ---------------------------------------------------------------------- (c) re-entrancy and order

def _chain_program(make: Callable[[], Any], log: list[tuple[str, list[str]]],
                   resolving: list[str]) -> tuple[Any, Any]:
    """Futures A and B; A's callbacks are a1 (which resolves B) and a2; B's is b1.

    Each callback logs its name and which set_result calls are still running (``resolving``)."""
    a, b = make(), make()

    def resolve(fut: Any, name: str) -> None:
        resolving.append(name)
        try:
            fut.set_result(name)
        finally:
            resolving.pop()

    def a1(_: Any) -> None:
        log.append(("a1 starts", list(resolving)))
        resolve(b, "B")
        log.append(("a1 ends", list(resolving)))

    a.add_done_callback(a1)
    a.add_done_callback(lambda _: log.append(("a2", list(resolving))))
    b.add_done_callback(lambda _: log.append(("b1", list(resolving))))
    return a, resolve


def reentrancy() -> dict[str, list[dict[str, Any]]]:
    """The order in which A's and B's callbacks run, and what is still resolving meanwhile.

    Rows are ``{"event", "inside"}``: ``inside`` lists the set_result calls on the stack (A, B).
    Toy: b1 runs inside A's and B's set_result, before a1 ends and before a2. Fixed and
    asyncio: every callback runs from the loop (inside = []), b1 last."""
    def as_rows(log: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
        return [{"event": e, "inside": inside} for e, inside in log]

    toy_log: list[tuple[str, list[str]]] = []
    resolving: list[str] = []
    a, resolve = _chain_program(Future, toy_log, resolving)
    toy_log.append(("set_result(A) called", []))
    resolve(a, "A")
    toy_log.append(("set_result(A) returned", []))

    fixed_log: list[tuple[str, list[str]]] = []
    loop = Loop()
    try:
        resolving = []
        a, resolve = _chain_program(lambda: FixedFuture(loop), fixed_log, resolving)
        fixed_log.append(("set_result(A) called", []))
        resolve(a, "A")
        fixed_log.append(("set_result(A) returned", []))
        loop.call_soon(loop.call_soon, loop.stop)       # two passes: b1 is scheduled by a1
        loop.run_forever()
    finally:
        loop.close()

    def on_asyncio() -> list[tuple[str, list[str]]]:
        log: list[tuple[str, list[str]]] = []

        def schedule(aloop: asyncio.AbstractEventLoop) -> None:
            inner: list[str] = []
            fa, res = _chain_program(aloop.create_future, log, inner)
            log.append(("set_result(A) called", []))
            res(fa, "A")
            log.append(("set_result(A) returned", []))
            aloop.call_soon(aloop.call_soon, aloop.stop)
        _asyncio_loop_run(schedule)
        return log

    return {"toy": as_rows(toy_log), "fixed": as_rows(fixed_log),
            "asyncio": as_rows(in_thread(on_asyncio))}


# ---------------------------------------------------------------------- (d) stack depth

def _link_chain(futures: list[Any], depths: list[int]) -> None:
    """futures[i]'s callback records the stack depth, then resolves futures[i + 1]."""
    for here, nxt in zip(futures, futures[1:] + [None]):
        def callback(_: Any, nxt: Any = nxt) -> None:
            depths.append(_depth())
            if nxt is not None:
                nxt.set_result(None)
        here.add_done_callback(callback)


def stack_depth(n: int, where: str) -> dict[str, Any]:
    """Resolve the first of a chain of ``n`` futures; each callback resolves the next.

    ``where``: "toy" (callbacks called inside set_result), "course" (FixedFuture on
    ``eventloop.Loop``) or "asyncio" (asyncio.Future on asyncio's loop). Returns ``{"n",
    "where", "resolved"`` (callbacks that ran), ``"min_depth", "max_depth"`` (frames on the
    stack inside a callback), ``"error"`` (``"RecursionError"`` or None)}."""
    depths: list[int] = []
    error: str | None = None

    if where == "toy":
        futures = [Future() for _ in range(n)]
        _link_chain(futures, depths)
        try:
            futures[0].set_result(None)
        except RecursionError:
            error = "RecursionError"
    elif where == "course":
        loop = Loop()
        try:
            futures = [FixedFuture(loop) for _ in range(n)]
            _link_chain(futures, depths)
            futures[-1].add_done_callback(lambda _: loop.stop())
            futures[0].set_result(None)
            loop.run_forever()
        finally:
            loop.close()
    elif where == "asyncio":
        def on_asyncio() -> None:
            def schedule(aloop: asyncio.AbstractEventLoop) -> None:
                futs = [aloop.create_future() for _ in range(n)]
                _link_chain(futs, depths)
                futs[-1].add_done_callback(lambda _: aloop.stop())
                futs[0].set_result(None)
            _asyncio_loop_run(schedule)
        in_thread(on_asyncio)
    else:
        raise ValueError(f"where must be 'toy', 'course' or 'asyncio', not {where!r}")
    return {"n": n, "where": where, "resolved": len(depths),
            "min_depth": min(depths) if depths else None,
            "max_depth": max(depths) if depths else None, "error": error}


def stack_depths(ns: list[int] | None = None) -> list[dict[str, Any]]:
    """``stack_depth(n, where)`` for each n and each of toy, course, asyncio.

    The default ns go up to ``sys.getrecursionlimit()``, where the toy's chain breaks. The toy
    runs in a fresh thread, so its depth starts from the same few frames as the loops'."""
    limit = sys.getrecursionlimit()
    ns = ns if ns is not None else [1, 10, 50, 100, 200, limit // 4, limit // 2 - 20, limit]
    rows = []
    for n in ns:
        for where in ("toy", "course", "asyncio"):
            rows.append(in_thread(lambda: stack_depth(n, where)) if where != "asyncio"
                        else stack_depth(n, where))
    return rows
