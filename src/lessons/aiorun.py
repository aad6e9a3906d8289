"""Run an asyncio program from a notebook cell, on any loop: ``aiorun.run(main, loop_factory=...)``.

A Jupyter kernel's own thread already runs an asyncio loop (ipykernel's), and asyncio allows one
running loop per thread: ``asyncio.run`` or ``asyncio.Runner().run`` called in a cell raises
"cannot be called from a running event loop". So the lessons run each program in a fresh thread,
which has no running loop, through ``asyncio.Runner`` (Lib/asyncio/runners.py, 3.11+): the same
call works in a notebook, a script and a test, and ``loop_factory`` picks the loop - asyncio's,
uvloop's or the course's own (``lessons.eventloop.Loop``)::

    from lessons import aiorun
    from lessons.eventloop import Loop

    async def main():
        await asyncio.sleep(0.01)
        return "done"

    aiorun.run(main, loop_factory=Loop)      # "done", run by real asyncio Tasks on the toy loop
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable, TypeVar

T = TypeVar("T")


def in_thread(func: Callable[..., T], *args: Any, timeout: float | None = None, name: str = "aiorun") -> T:
    """``func(*args)`` in a fresh thread; its value here, or its exception re-raised here.

    asyncio allows one running loop per thread, and a Jupyter kernel's thread already runs one
    (ipykernel's): ``run_forever`` there raises "Cannot run the event loop while another loop is
    running". A fresh thread has no running loop, so an experiment runs the same in a notebook, a
    script and a test. ``timeout`` (seconds) bounds the wait, so a program that hangs raises
    TimeoutError in the cell instead of freezing the kernel (the thread is a daemon)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, re-raised there
            box["error"] = exc

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{name}: did not finish within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def run(main: Callable[[], Awaitable[T]], *, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
        debug: bool | None = None, timeout: float | None = 120) -> T:
    """Call ``main()`` and run the coroutine it returns with ``asyncio.Runner(debug, loop_factory)``
    in a thread of its own (``in_thread``); return its result or raise its exception here.
    ``timeout`` bounds the wait, as for ``in_thread``."""
    def target() -> T:
        with asyncio.Runner(debug=debug, loop_factory=loop_factory) as runner:
            return runner.run(main())
    try:
        return in_thread(target, timeout=timeout)
    except TimeoutError as exc:
        if "aiorun: did not finish" in str(exc):
            raise TimeoutError(f"the asyncio program did not finish within {timeout} s") from None
        raise


def loop_calls(main: Callable[[], Awaitable[Any]], loop_factory: Callable[[], Any]) -> dict[str, list[str]]:
    """Run ``main()`` on ``loop_factory()`` and record which methods of the loop asyncio calls.

    A profile hook (``sys.setprofile``, per thread) sees every call *into* a function of the
    loop's own source file whose caller is a file of ``Lib/asyncio/``; the result maps each method
    name to the asyncio modules that called it (``{"call_soon": ["events", "futures", ...]}``).
    asyncio's Future and Task have a C version (``_asyncio``) whose calls a profiler attributes to
    no Python caller, so this run uses the pure-Python ``futures._PyFuture`` and ``tasks._PyTask``:
    the same calls, made from Python (``Lib/asyncio/tasks.py`` ends with ``Task = _CTask`` when
    ``_asyncio`` imports)."""
    import asyncio.futures
    import asyncio.tasks
    import os
    import sys

    asyncio_dir = os.path.dirname(asyncio.__file__) + os.sep
    made = loop_factory()
    target = sys.modules[type(made).__module__].__file__
    calls: dict[str, set[str]] = {}

    def py_future() -> Any:       # stands in for the loop's create_future (see the docstring)
        return asyncio.futures._PyFuture(loop=made)

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event != "call" or (frame.f_code.co_filename != target and frame.f_code is not py_future.__code__):
            return
        caller = frame.f_back
        if caller is not None and caller.f_code.co_filename.startswith(asyncio_dir):
            module = os.path.splitext(os.path.basename(caller.f_code.co_filename))[0]
            name = "create_future" if frame.f_code is py_future.__code__ else frame.f_code.co_name
            calls.setdefault(name, set()).add(module)

    def factory() -> Any:
        made.set_task_factory(lambda loop, coro, **kw: asyncio.tasks._PyTask(coro, loop=loop, **kw))
        made.create_future = py_future  # type: ignore[method-assign]
        return made

    def hooked() -> Awaitable[Any]:
        # in the runner's thread, before Runner.run: its create_task, run_until_complete and,
        # after main, shutdown_asyncgens and close are recorded too (the thread ends with them)
        sys.setprofile(hook)
        return main()

    run(hooked, loop_factory=factory)
    return {name: sorted(modules) for name, modules in sorted(calls.items())}
