"""Trace asyncio's own Task through one ``await``, beside the course's FixedTask.

Design essay
============

The program traced is the smallest one that uses every part of a Task::

    async def waiter(loop, make_future):
        fut = make_future()
        loop.call_later(0.01, fut.set_result, 42)    # a timer resolves it
        return await fut

It is run twice. Once with asyncio's own pure-Python classes, ``asyncio.tasks._PyTask`` and
``asyncio.futures._PyFuture`` (CPython keeps them beside the C accelerator ``_asyncio``;
``Lib/asyncio/futures.py`` says why: "Needed for testing purposes"), on asyncio's selector loop.
Once with ``lessons.toy500.FixedTask`` and ``FixedFuture`` on the course's ``eventloop.Loop``.
Both loops get a virtual clock (``asyncio_probe.RecordingSelector(virtual=True)``): the
selector never sleeps, it moves the clock by the select timeout, so the timer fires in the
same pass on every run and the trace is exact on a busy machine.

How it is observed, without changing what runs. Thin subclasses log and then call the real
method: the loop's ``call_soon``, ``call_at`` (``call_later`` calls it) and its pass
(``_run_once`` in asyncio, ``run_once`` in the course loop); the future's ``add_done_callback``
and ``__schedule_callbacks``; the task's ``__init__``, ``__step`` and ``__wakeup``. A private
name ``__step`` inside ``class Task`` is stored as ``_Task__step``, and ``Task`` calls it as
``self._Task__step``, so a subclass method of that name is called in its place (name
mangling, Language Reference 6.2.1). The coroutine itself is wrapped in ``TracedCoroutine``, a
``collections.abc.Coroutine`` (``asyncio.iscoroutine`` accepts one, ``Lib/asyncio/
coroutines.py``, v3.11.9 to v3.15.0rc1) that logs each ``send``/``throw`` and what comes back:
the yielded future, with ``_asyncio_future_blocking`` as the Task is about to read it, or
``StopIteration``.

Each event is ``(who, what)``: who is loop, task, future or coro, what is abstract ("step",
"call_soon(wakeup)", "yield future") so that the two runs can be compared event by event:
``same_events()`` is True when the sequences are equal. ``side_by_side()`` gives table rows
with, for each event, the function behind it in CPython (read at v3.11.9, the venv's 3.11,
and v3.15.0rc1; from 3.12 ``__step`` calls ``__step_run_and_handle_result``, which does the
``send``) and in ``toy500``.

The other experiments here: ``first_step()`` (when does a new task's first line run: lazily
in a later pass, or eagerly inside ``create_task`` with 3.12's ``eager_task_factory``, run in a
fresh interpreter, the newest found), and ``cancellation()`` (``Task.cancel`` throws
``CancelledError`` into the coroutine at its ``await``; a coroutine may catch it and return;
``cancel()`` before the first step only sets ``_must_cancel``; ``cancelling()``/``uncancel()``
count the requests, 3.11+).
"""

from __future__ import annotations

import asyncio
import collections.abc
import json
import platform
import subprocess
import sys
from asyncio import futures as _futures
from asyncio import tasks as _tasks
from pathlib import Path
from typing import Any, Callable

from .asyncio_probe import RecordingSelector, VirtualTimeLoop
from .eventloop import Loop
from .toy500 import FixedFuture, FixedTask, in_thread

__all__ = [
    "Event", "TracedCoroutine", "trace_asyncio", "trace_course", "same_events", "side_by_side",
    "abstract", "WHERE_ASYNCIO", "WHERE_TOY", "first_step", "FIRST_STEP_CODE", "newest_python",
    "cancellation",
]

#: One traced event: ``{"pass": n, "who": ..., "what": ..., "detail": ...}``.
Event = dict

DELAY = 0.01
VALUE = 42

#: The function behind each abstract event in CPython's asyncio (v3.11.9; same at v3.15.0rc1
#: except where a note says otherwise).
WHERE_ASYNCIO: dict[str, str] = {
    "task: create": "tasks.py Task.__init__",
    "task: add_done_callback(on_done)": "futures.py Future.add_done_callback",
    "loop: call_soon(step)": "tasks.py Task.__init__: self._loop.call_soon(self.__step)",
    "loop: pass": "base_events.py BaseEventLoop._run_once",
    "task: step": "tasks.py Task.__step",
    "coro: send(None)": "tasks.py Task.__step: coro.send(None) "
                        "(3.12+: in Task.__step_run_and_handle_result)",
    "loop: call_at(set_result)": "base_events.py BaseEventLoop.call_later -> call_at",
    "coro: yield future": "futures.py Future.__await__: yield self",
    "future: add_done_callback(wakeup)": "tasks.py Task.__step: "
                                         "result.add_done_callback(self.__wakeup)",
    "future: set_result": "futures.py Future.set_result (run by the timer's handle)",
    "future: schedule_callbacks": "futures.py Future.__schedule_callbacks",
    "loop: call_soon(wakeup)": "futures.py Future.__schedule_callbacks: loop.call_soon(callback)",
    "task: wakeup": "tasks.py Task.__wakeup: future.result(), then self.__step()",
    "coro: StopIteration": "tasks.py Task.__step: except StopIteration",
    "task: set_result": "tasks.py Task.__step: super().set_result(exc.value)",
    "task: schedule_callbacks": "futures.py Future.__schedule_callbacks",
    "loop: call_soon(on_done)": "futures.py Future.__schedule_callbacks: loop.call_soon(callback)",
    "loop: on_done": "the caller's done callback: loop.stop()",
}

#: The same events in lessons.toy500 (FixedTask, FixedFuture) and lessons.eventloop (Loop).
WHERE_TOY: dict[str, str] = {
    "task: create": "FixedTask.__init__",
    "task: add_done_callback(on_done)": "FixedFuture.add_done_callback",
    "loop: call_soon(step)": "FixedTask.__init__: loop.call_soon(self.step)",
    "loop: pass": "eventloop.Loop.run_once",
    "task: step": "FixedTask.step",
    "coro: send(None)": "FixedTask.step: self._coro.send(None)",
    "loop: call_at(set_result)": "eventloop.Loop.call_later -> call_at",
    "coro: yield future": "FixedFuture.__await__: yield self",
    "future: add_done_callback(wakeup)": "FixedTask.step: "
                                         "next_future.add_done_callback(self.wakeup)",
    "future: set_result": "FixedFuture.set_result (run by the timer's handle)",
    "future: schedule_callbacks": "FixedFuture.set_result: the loop over the callbacks",
    "loop: call_soon(wakeup)": "FixedFuture.set_result: loop.call_soon(fn, self)",
    "task: wakeup": "FixedTask.wakeup: self.step()",
    "coro: StopIteration": "FixedTask.step: except StopIteration",
    "task: set_result": "FixedTask.step: self.set_result(stop.value)",
    "task: schedule_callbacks": "FixedFuture.set_result: the loop over the callbacks",
    "loop: call_soon(on_done)": "FixedFuture.set_result: loop.call_soon(fn, self)",
    "loop: on_done": "the caller's done callback: loop.stop()",
}


def _name(callback: Any) -> str:
    """The abstract name of a callback: step, wakeup, set_result, on_done, or its own name."""
    inner = getattr(callback, "func", callback)
    name = getattr(inner, "__name__", None) or repr(inner)
    return {"_Task__step": "step", "_Task__wakeup": "wakeup"}.get(name, name)


class _Log:
    """The shared event list, and the number of the pass running now."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.passes = -1

    def __call__(self, who: str, what: str, detail: str = "") -> None:
        self.events.append({"pass": self.passes, "who": who, "what": what, "detail": detail})


class TracedCoroutine(collections.abc.Coroutine):
    """Wraps a coroutine; logs each send/throw into it and what it yields or returns."""

    def __init__(self, coro: Any, log: Callable[..., None]) -> None:
        self._coro, self._log = coro, log

    def _report(self, call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except StopIteration as stop:
            self._log("coro", "StopIteration", f"StopIteration({stop.value!r})")
            raise
        except BaseException as exc:
            self._log("coro", "raised", f"{type(exc).__name__}")
            raise
        blocking = getattr(result, "_asyncio_future_blocking", None)
        flag = "" if blocking is None else f", _asyncio_future_blocking={blocking}"
        self._log("coro", "yield future" if hasattr(result, "add_done_callback") else "yield",
                  f"yielded {type(result).__name__}{flag}")
        return result

    def send(self, value: Any) -> Any:
        self._log("coro", f"send({value!r})")
        return self._report(lambda: self._coro.send(value))

    def throw(self, exc: Any, *rest: Any) -> Any:
        self._log("coro", f"throw({type(exc).__name__ if isinstance(exc, BaseException) else exc.__name__})")
        return self._report(lambda: self._coro.throw(exc, *rest))

    def close(self) -> None:
        self._coro.close()

    def __await__(self) -> Any:
        return self._coro.__await__()


def _traced_loop_class(base: type, log: _Log) -> type:
    """A subclass of ``base`` that logs call_soon, call_at and the start of each pass."""

    class Traced(base):  # type: ignore[valid-type, misc]
        _in_pass = False

        def call_soon(self, callback: Any, *args: Any, **kwargs: Any) -> Any:
            log("loop", f"call_soon({_name(callback)})")
            return super().call_soon(callback, *args, **kwargs)

        def call_at(self, when: float, callback: Any, *args: Any, **kwargs: Any) -> Any:
            log("loop", f"call_at({_name(callback)})", f"when={when:g}")
            return super().call_at(when, callback, *args, **kwargs)

    def make_pass(method: str) -> Callable[[Any], Any]:
        def one_pass(self: Any) -> Any:
            if self._in_pass:       # one of run_once/_run_once calls the other: one pass
                return getattr(super(Traced, self), method)()
            self._in_pass = True
            log.passes += 1
            log("loop", "pass", f"loop.time()={self.time():g}")
            try:
                return getattr(super(Traced, self), method)()
            finally:
                self._in_pass = False
        return one_pass

    for method in ("_run_once", "run_once"):
        if hasattr(base, method):
            setattr(Traced, method, make_pass(method))
    Traced.__name__ = Traced.__qualname__ = f"Traced{base.__name__}"
    return Traced


async def waiter(loop: Any, make_future: Callable[[], Any]) -> Any:
    """The traced program: await a future that a timer resolves with 42 after 0.01 s."""
    fut = make_future()
    loop.call_later(DELAY, fut.set_result, VALUE)
    return await fut


def _asyncio_classes(log: _Log) -> tuple[type, type]:
    """Subclasses of _PyFuture and _PyTask that log, then run asyncio's own code."""

    class TracedFuture(_futures._PyFuture):  # type: ignore[name-defined, misc]
        def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
            log("future", f"add_done_callback({_name(fn)})")
            super().add_done_callback(fn, context=context)

        def _Future__schedule_callbacks(self) -> None:
            log("future", "set_result", f"result={self._result!r}")
            log("future", "schedule_callbacks", f"{len(self._callbacks)} callback(s)")
            super()._Future__schedule_callbacks()  # type: ignore[misc]

    class TracedTask(_tasks._PyTask):  # type: ignore[name-defined, misc]
        def __init__(self, coro: Any, **kwargs: Any) -> None:
            log("task", "create", "Task(coro, loop=loop)")
            super().__init__(TracedCoroutine(coro, log), **kwargs)

        def add_done_callback(self, fn: Any, *, context: Any = None) -> None:
            log("task", f"add_done_callback({_name(fn)})")
            super().add_done_callback(fn, context=context)

        def _Future__schedule_callbacks(self) -> None:
            log("task", "set_result", f"result={self._result!r}")
            log("task", "schedule_callbacks", f"{len(self._callbacks)} callback(s)")
            super()._Future__schedule_callbacks()  # type: ignore[misc]

        def _Task__step(self, exc: Any = None) -> None:
            log("task", "step", "exc=None" if exc is None else f"exc={type(exc).__name__}")
            super()._Task__step(exc)  # type: ignore[misc]

        def _Task__wakeup(self, future: Any) -> None:
            log("task", "wakeup", f"future done={future.done()}")
            super()._Task__wakeup(future)  # type: ignore[misc]

    return TracedFuture, TracedTask


def _toy_classes(log: _Log) -> tuple[type, type]:
    """Subclasses of toy500's FixedFuture and FixedTask that log, then run the toy's code."""

    def set_result_logged(self: Any, who: str, result: Any, parent: Any) -> None:
        log(who, "set_result", f"result={result!r}")
        log(who, "schedule_callbacks", f"{len(self._callbacks)} callback(s)")
        parent.set_result(self, result)

    class TracedFixedFuture(FixedFuture):
        def add_done_callback(self, fn: Any) -> None:
            log("future", f"add_done_callback({_name(fn)})")
            super().add_done_callback(fn)

        def set_result(self, result: Any) -> None:
            set_result_logged(self, "future", result, FixedFuture)

    class TracedFixedTask(FixedTask):
        def __init__(self, coro: Any, loop: Any) -> None:
            log("task", "create", "FixedTask(coro, loop)")
            super().__init__(TracedCoroutine(coro, log), loop)

        def add_done_callback(self, fn: Any) -> None:
            log("task", f"add_done_callback({_name(fn)})")
            super().add_done_callback(fn)

        def set_result(self, result: Any) -> None:
            set_result_logged(self, "task", result, FixedFuture)

        def step(self) -> None:
            log("task", "step", "exc=None")
            super().step()

        def wakeup(self, future: Any) -> None:
            log("task", "wakeup", f"future done={future.done()}")
            super().wakeup(future)

    return TracedFixedFuture, TracedFixedTask


def _run(loop: Any, log: _Log, make_task: Callable[[], Any]) -> Any:
    task = make_task()

    def on_done(_: Any) -> None:
        log("loop", "on_done", "loop.stop()")
        loop.stop()
    task.add_done_callback(on_done)
    loop.run_forever()
    return task.result()


def trace_asyncio(on: str = "asyncio") -> dict[str, Any]:
    """Trace ``await fut`` with asyncio's _PyTask/_PyFuture; ``on`` is "asyncio" (its selector
    loop) or "course" (``eventloop.Loop``, which must then have what asyncio's Task calls on a
    loop). Returns ``{"events": [...], "result": 42, "python": "3.11.7", "loop": name}``."""
    def body() -> dict[str, Any]:
        log = _Log()
        selector = RecordingSelector(virtual=True)
        if on == "asyncio":
            loop = _traced_loop_class(VirtualTimeLoop, log)(selector)
        elif on == "course":
            loop = _traced_loop_class(Loop, log)(clock=selector.time, selector=selector)
        else:
            raise ValueError(f"on must be 'asyncio' or 'course', not {on!r}")
        future_cls, task_cls = _asyncio_classes(log)
        try:
            result = _run(loop, log, lambda: task_cls(
                waiter(loop, lambda: future_cls(loop=loop)), loop=loop))
        finally:
            loop.close()
        return {"events": log.events, "result": result, "python": platform.python_version(),
                "loop": type(loop).__mro__[1].__name__}
    return in_thread(body)


def trace_course() -> dict[str, Any]:
    """The same program with toy500's FixedTask/FixedFuture on ``eventloop.Loop``."""
    def body() -> dict[str, Any]:
        log = _Log()
        selector = RecordingSelector(virtual=True)
        loop = _traced_loop_class(Loop, log)(clock=selector.time, selector=selector)
        future_cls, task_cls = _toy_classes(log)
        try:
            result = _run(loop, log, lambda: task_cls(
                waiter(loop, lambda: future_cls(loop)), loop))
        finally:
            loop.close()
        return {"events": log.events, "result": result, "python": platform.python_version(),
                "loop": "Loop"}
    return in_thread(body)


def abstract(events: list[Event]) -> list[str]:
    """The comparable part of a trace: ``"who: what"`` per event."""
    return [_key(e) for e in events]


def _key(event: Event) -> str:
    return f"{event['who']}: {event['what']}"


def same_events(a: dict[str, Any] | None = None, b: dict[str, Any] | None = None) -> bool:
    """True when the two traces (default: trace_asyncio(), trace_course()) have the same
    abstract events in the same order, pass by pass."""
    a = trace_asyncio() if a is None else a
    b = trace_course() if b is None else b
    return [(e["pass"], k) for e, k in zip(a["events"], abstract(a["events"]))] == \
           [(e["pass"], k) for e, k in zip(b["events"], abstract(b["events"]))]


def side_by_side(a: dict[str, Any] | None = None,
                 b: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows for a table: ``{"#", "pass", "event", "asyncio", "asyncio_where", "course",
    "course_where"}``; where the traces differ, the row's event shows both (a != b)."""
    a = trace_asyncio() if a is None else a
    b = trace_course() if b is None else b
    rows = []
    ea, eb = a["events"], b["events"]
    for i in range(max(len(ea), len(eb))):
        x = ea[i] if i < len(ea) else None
        y = eb[i] if i < len(eb) else None
        kx = _key(x) if x else "-"
        ky = _key(y) if y else "-"
        rows.append({
            "#": i, "pass": x["pass"] if x else y["pass"] if y else None,
            "event": kx if kx == ky else f"{kx} != {ky}",
            "asyncio": x["detail"] if x else "", "asyncio_where": WHERE_ASYNCIO.get(kx, ""),
            "course": y["detail"] if y else "", "course_where": WHERE_TOY.get(ky, ""),
        })
    return rows


# ---------------------------------------------------------------------- lazy vs eager first step

#: Runs in a fresh interpreter (any Python 3.7+): stdlib only, prints one JSON line.
FIRST_STEP_CODE = r'''
import asyncio, json, platform

async def child(log, suspend):
    log.append("child: first line")
    if suspend:
        await asyncio.sleep(0)
        log.append("child: after its first await")
    return "child done"

async def parent(log, suspend, how):
    loop = asyncio.get_running_loop()
    if how == "factory":
        loop.set_task_factory(asyncio.eager_task_factory)
    if how == "kwarg":
        task = asyncio.create_task(child(log, suspend), eager_start=True)
    else:
        task = asyncio.create_task(child(log, suspend))
    log.append("create_task returned, task.done()=%s" % task.done())
    await task
    log.append("parent: after await task")

def run(suspend, how):
    log = []
    asyncio.run(parent(log, suspend, how))
    return log

out = {"python": platform.python_version(),
       "has_eager_task_factory": hasattr(asyncio, "eager_task_factory"),
       "lazy": run(False, "lazy"), "lazy_suspending": run(True, "lazy")}
if out["has_eager_task_factory"]:
    out["eager"] = run(False, "factory")
    out["eager_suspending"] = run(True, "factory")
try:
    out["eager_kwarg"] = run(False, "kwarg")
except TypeError as exc:
    out["eager_kwarg"] = "TypeError: %s" % exc
print(json.dumps(out))
'''


def newest_python() -> tuple[str | None, str]:
    """(path, version label) of the newest CPython ``lessons.pythons`` finds that is 3.12 or
    newer (eager tasks: ``asyncio.eager_task_factory``, What's New in Python 3.12): Debian's
    python3.15 of ``make newest-python``, the free-threaded build, ``$COURSEKIT_PYTHONS``;
    (None, reason) when there is none."""
    from . import pythons                  # imported here: it probes the machine
    path = pythons.newest((3, 12))
    found = None if path is None else pythons.info(path)
    if found is None:
        return None, pythons.skip_reason((3, 12), "eager tasks (asyncio.eager_task_factory)")
    return found.path, found.label


def first_step(python: str | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """When a new task's first line runs, under ``python`` (default: this interpreter).

    ``lazy``: the log of create_task + await for a child that never suspends; ``eager`` the same
    under ``loop.set_task_factory(asyncio.eager_task_factory)`` (3.12+), ``eager_kwarg`` with
    ``create_task(..., eager_start=True)`` (3.14+; a TypeError text before). ``*_suspending``:
    a child that awaits once. A missing interpreter gives ``{"skipped": reason}``."""
    if python is None:
        python = sys.executable
    if not Path(python).exists():
        return {"skipped": f"{python} does not exist"}
    done = subprocess.run([python, "-I", "-c", FIRST_STEP_CODE], capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        return {"skipped": f"{python} failed: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- cancellation

def cancellation() -> dict[str, Any]:
    """Three facts about Task.cancel, on asyncio's _PyTask (this interpreter, own thread).

    ``caught``: cancel() while the task awaits a future: the coroutine sees CancelledError
    thrown at its ``await`` (the trace shows ``throw(CancelledError)``), catches it and returns;
    the task is then *not* cancelled and has that result; the awaited future is cancelled.
    ``before_first_step``: cancel() right after create: ``_must_cancel`` is set, the first step
    throws CancelledError in before the coroutine's first line, which never runs.
    ``counts``: cancelling() after each cancel()/uncancel() call."""
    def body() -> dict[str, Any]:
        out: dict[str, Any] = {}
        log = _Log()
        loop = asyncio.new_event_loop()
        try:
            task_cls = _tasks._PyTask
            lines: list[str] = []
            inner = loop.create_future()

            async def stubborn() -> str:
                try:
                    await inner
                except asyncio.CancelledError:
                    lines.append("caught CancelledError at the await")
                    return "cleaned up and returned"
                return "not reached"

            task = task_cls(TracedCoroutine(stubborn(), log), loop=loop)
            loop.call_soon(loop.stop)
            loop.run_forever()                      # first step: the task now awaits inner
            out_cancel = task.cancel()
            loop.call_soon(loop.call_soon, loop.stop)
            loop.run_forever()
            out["caught"] = {
                "cancel_returned": out_cancel, "coroutine": lines,
                "coro_calls": [e["what"] for e in log.events],
                "task_cancelled": task.cancelled(), "task_result": task.result(),
                "awaited_future_cancelled": inner.cancelled(),
            }

            first: list[str] = []

            async def never_started() -> None:
                first.append("first line ran")
            early = task_cls(never_started(), loop=loop)
            flags = {"must_cancel_before": early._must_cancel}
            early.cancel()
            flags["must_cancel_after_cancel"] = early._must_cancel
            flags["cancelling"] = early.cancelling()
            loop.call_soon(loop.stop)
            loop.run_forever()
            flags.update(first_line=first, task_cancelled=early.cancelled(),
                         must_cancel_after_step=early._must_cancel)
            out["before_first_step"] = flags

            gate = loop.create_future()

            async def patient() -> str:
                for _ in range(3):
                    try:
                        await asyncio.shield(gate)
                        break
                    except asyncio.CancelledError:
                        continue
                return "done"
            counted = task_cls(patient(), loop=loop)
            loop.call_soon(loop.stop)
            loop.run_forever()
            counts = [("start", counted.cancelling())]
            counted.cancel()
            counts.append(("cancel()", counted.cancelling()))
            counted.cancel()
            counts.append(("cancel()", counted.cancelling()))
            counts.append(("uncancel() returned", counted.uncancel()))
            gate.set_result(None)
            loop.call_soon(loop.call_soon, loop.call_soon, loop.stop)
            loop.run_forever()
            counts.append(("after the task caught it and finished", counted.cancelling()))
            out["counts"] = {"steps": counts, "result": counted.result() if counted.done() else None,
                             "cancelled": counted.cancelled()}
        finally:
            loop.close()
        out["python"] = platform.python_version()
        return out
    return in_thread(body)
