"""Kernel side of the notebook-grading baseline of bench/grade_speed.py.

This module is imported INSIDE the Jupyter kernel that executes one generated autograder
notebook (one lesson of one submission), the way nbgrader and otter run their test cells:
the learner's code and the tests share the kernel's process. It provides

* ``%%answer MODULE PATH`` - a cell magic: the cell's body is the learner's file, executed
  into a fresh module registered in ``sys.modules`` (so that multiprocessing's spawn workers
  can import it again by name from the submission folder, exactly as they do in the runner's
  child);
* ``start(...)`` - configures pytest ONCE per notebook and collects the lesson's graded
  tests, with the runner's out-of-process ``Impl`` replaced by ``InProcessImpl``: a call is
  a plain function call in the kernel, no process, no pipe;
* ``grade(nodeid)`` - one autograder test cell: runs that one collected test; the cell
  fails (an error output, which is how nbgrader scores a test cell 0) iff the test fails.
  After a test was interrupted at the cell timeout, the task's later tests are not run (the
  cell fails at once), mirroring coursekit's own policy so that a hang costs both sides one
  timeout per task.

Nothing here is timed separately: the bench times whole notebooks, kernel start to stop.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import signal
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable

_state: dict[str, Any] = {}


# ------------------------------------------------------------------ the learner's answer cells

def _answer_magic(line: str, cell: str) -> None:
    name, path = line.split(maxsplit=1)
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    try:
        exec(compile(cell, path, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]   # as a failed import: each later call fails the same way
        raise


def install_magic() -> None:
    from IPython import get_ipython
    ip = get_ipython()
    if ip is not None:
        ip.register_magic_function(_answer_magic, magic_kind="cell", magic_name="answer")


# ------------------------------------------------------------------ the in-process runner

def _make_impl_class():  # type: ignore[no-untyped-def]
    from coursekit._child import _plain
    from coursekit.runner import CallFailed, CallTimeout, Impl, LearnerError, NotImplementedYet

    def _module(impl: Impl) -> types.ModuleType:
        if not impl.path.is_file():
            raise CallFailed(f"{impl.path} does not exist: the file is missing from the submission")
        mod = sys.modules.get(impl.module)
        if mod is None:
            folder = str(impl.folder.resolve())
            if folder not in sys.path:
                sys.path.insert(0, folder)
            mod = importlib.import_module(impl.module)
        return mod

    def _invoke(fn: Callable[[], Any], timeout: float | None = None) -> Any:
        _state["calls"] = _state.get("calls", 0) + 1
        t0 = time.perf_counter()
        # A call whose test bounds it tighter than the cell's timeout (call_timeout) gets that
        # bound here, with SIGALRM in the kernel's main thread: the notebook never waits
        # longer for a hang than coursekit does. Whatever the learner started keeps running
        # in the kernel (nothing in-process can kill a thread).
        alarm = timeout is not None and timeout < _state.get("cell_timeout", float("inf"))
        # a scenario may leave the switch interval changed (02.3's sets 1 us): put it back, or
        # every later test in this kernel would pay for it (the runner's child is gone instead)
        interval = sys.getswitchinterval()
        imported, path = set(sys.modules), list(sys.path)
        if timeout is not None and alarm:
            old = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, timeout)
        # The kernel's thread runs ipykernel's own asyncio loop, and asyncio.run() refuses to
        # start inside a running loop: a scenario that calls asyncio.run (lessons 06 and 07) would
        # fail here and nowhere else. The runner's child has no running loop, so neither does the
        # call: the kernel's loop is hidden for its duration (events._set_running_loop) and put back.
        kernel_loop = asyncio.events._get_running_loop()
        asyncio.events._set_running_loop(None)
        try:
            value = fn()
            if isinstance(value, types.CoroutineType):
                value = _run_coroutine(value)
            return _plain(value)   # the same "plain data only" rule as the child, tuples -> lists
        except _Alarm:
            _state["timed_out"] = True
            raise CallTimeout(f"timed out after {timeout:g} s (in-kernel alarm)") from None
        except (Exception, SystemExit) as exc:   # KeyboardInterrupt (the cell timeout) propagates
            if isinstance(exc, CallFailed):
                raise
            kind = type(exc).__name__
            err = NotImplementedYet if kind == "NotImplementedError" else LearnerError
            raise err(kind, str(exc), "", "") from exc
        finally:
            asyncio.events._set_running_loop(kernel_loop)
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
            sys.setswitchinterval(interval)
            _forget_imports(imported, path)
            _state["call_s"] = _state.get("call_s", 0.0) + time.perf_counter() - t0

    def _plain_args(args: Any, kwargs: Any) -> tuple[Any, Any]:
        # the runner sends arguments as JSON: the learner's code sees lists, never tuples
        data = json.loads(json.dumps({"a": args, "k": kwargs}))
        return data["a"], data["k"]

    class InProcessImpl(Impl):
        """Impl without the process boundary: what an in-kernel notebook grader does."""

        def call(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            mod = _module(self)
            a, k = _plain_args(args, kwargs)

            def go() -> Any:
                try:
                    func = getattr(mod, name)
                except AttributeError:
                    raise AttributeError(f"{self.module}.py has no function {name}()") from None
                return func(*a, **k)
            return _invoke(go, timeout)

        def run(self, scenario: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            mod = _module(self)
            a, k = _plain_args(args, kwargs)
            return _invoke(lambda: scenario(mod, *a, **k), timeout)

    return InProcessImpl


_KEEP = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, str(Path(__file__).resolve().parents[1] / "src")})


def _forget_imports(before: set, path: list) -> None:
    """Undo what a call added to sys.path and forget the modules it imported from anywhere but
    the runtime and the course's code: 02.4's scenario writes a module into a new temporary
    folder and imports it in every call (fresh in the runner's child; in the kernel the next
    call would get the last one's, whose folder is gone). The learner's modules stay."""
    import os
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None) or ""
        if file and not os.path.abspath(file).startswith(_KEEP):
            sys.modules.pop(name, None)
    sys.path[:] = path


class _Alarm(BaseException):
    """Raised by SIGALRM in the learner's code; a BaseException so that a broad
    ``except Exception`` in the learner's code cannot swallow it."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise _Alarm()


def _run_coroutine(coro: Any) -> Any:
    """asyncio.run() cannot nest in the kernel's running loop: run it on a fresh loop in a
    helper thread (the runner's child runs it with asyncio.run on its main thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc
    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ------------------------------------------------------------------ pytest, once per notebook

def start(root: str, test_file: str, target: str, cell_timeout: float) -> int:
    """Configure pytest once and collect the graded tests of one lesson against `target`;
    `cell_timeout` is the notebook's per-cell timeout (the course's call_timeout)."""
    import os

    _state["cell_timeout"] = cell_timeout

    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"   # as coursekit's check(): only our plugin
    import pytest
    from _pytest.config import _prepareconfig
    from _pytest.main import Session

    import coursekit.pytest_plugin as plugin
    plugin.Impl = _make_impl_class()   # the `exercise` fixture now builds in-process Impls

    args = [test_file, f"--rootdir={root}", "-c", str(Path(root) / "pyproject.toml"),
            f"--target={target}", "-p", "no:cacheprovider", "--capture=no", "-o", "timeout=0"]
    config = _prepareconfig(args)
    # a failing test's report as a plain Python traceback: pytest's default long report parses
    # the test file's source for every frame (~30 ms a failing test); the verdicts are the same
    config.option.tbstyle = "native"
    config._do_configure()
    session = Session.from_config(config)
    config.hook.pytest_sessionstart(session=session)
    session.perform_collect()
    _state.update(config=config, session=session, items=list(session.items),
                  index={it.nodeid: i for i, it in enumerate(session.items)}, stopped=set(), pytest=pytest)
    return len(session.items)


def grade(nodeid: str) -> None:
    """One autograder test cell: run one collected test; raise (fail the cell) if it fails."""
    from _pytest.runner import runtestprotocol
    from coursekit.pytest_plugin import task_of

    items = _state["items"]
    i = _state["index"][nodeid]
    item = items[i]
    task = task_of(item)
    if task in _state["stopped"]:
        raise AssertionError("not run: an earlier test of this task timed out")
    nextitem = items[i + 1] if i + 1 < len(items) else None
    _state["timed_out"] = False
    try:
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
    except KeyboardInterrupt:
        _state["stopped"].add(task)
        try:
            _state["session"]._setupstate.teardown_exact(None)
        except BaseException:  # noqa: BLE001 - best effort: the next test sets up afresh
            pass
        raise
    failed = [r for r in reports if r.failed]
    if failed and _state["timed_out"]:
        _state["stopped"].add(task)   # as coursekit: a timed-out test stops its task
    if failed:
        crash = getattr(failed[0].longrepr, "reprcrash", None)
        why = crash.message if crash is not None else failed[0].longreprtext[-2000:]
        raise AssertionError(f"{nodeid} failed ({failed[0].when}): {why}")
    if any(r.skipped for r in reports):
        print(f"SKIPPED {nodeid}")


def calls() -> None:
    """The last cell: how many calls the tests made into the learner's code (for the bench)."""
    print(f"CALLS {_state.get('calls', 0)} {_state.get('call_s', 0.0):.6f}")
