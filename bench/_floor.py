"""The floor of bench/grade_speed.py: the grader's own grading with no isolation at all.

    python bench/_floor.py {inprocess|sandbox} SUBMISSION_FOLDER OUT_JSON

Both modes run ``coursekit.grading.grade()`` - what each worker of ``coursekit grade`` runs:
the same test files, pytest arguments, collector, events and scoring (``reports.from_events``)
- in this fresh process, with timers around its parts, and write one JSON object to OUT_JSON.

* ``sandbox``: grade() exactly as the grader's worker runs it (bubblewrap, warm template,
  a forked child per call);
* ``inprocess`` (the floor): grade() with its ``Sandbox`` replaced by ``NoSandbox``, whose
  launcher - plugged into the runner's hook, ``config.stash[LAUNCHER]``, the way the real
  sandbox plugs in - runs each call in a thread of this, the pytest, process. The runner's
  parent side is untouched: the request and the reply still cross a pipe as JSON, and the
  call's deadline is the runner's own (``_collect``, its call clock reading the threads the
  launcher names), so a hang (02.6's stub) is bound by the same call timeout as in the
  grader. At the deadline the runner gives up on the call; the thread cannot be killed and
  stays blocked until this process ends (``os._exit``).

The learner's module is imported once per process, not once per call (a fresh process per
call is isolation, the grader's side of the ledger). Two things a call leaves behind are
undone after it, because in-process they would change the work of later calls, not just
its cost: the switch interval (02.3's scenario sets 1 us and leaves it: every later test
would run with the GIL switching every microsecond), and the modules the call imported from
outside the runtime, with its additions to sys.path (02.4's scenario writes a module into a
new temporary folder in every call and imports it: the next call would get the last one's,
whose folder is gone). Nothing else is reset.

This file's top level imports only the standard library: spawn and forkserver workers of
the learner's code import it again as ``__mp_main__``, as they import the template's script
in the sandbox.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- calls in-process

def _launcher_class() -> type:
    """InProcessLauncher, built on first use so that this module's top level stays light."""
    from coursekit import _child
    from coursekit.runner import Child, Launcher

    lock = threading.Lock()

    def serve(req: int, res: int, stk: int, out_w: int, done: threading.Event, replied: threading.Event) -> None:
        """The child's duties (_child.main), in a thread: read the request, run it, reply."""
        interval = sys.getswitchinterval()
        state = None
        try:
            request = json.loads(_child._read_all(req))
            folder = os.path.abspath(request["folder"])
            try:
                with lock:   # one import of each module, as a single child would do
                    if folder not in sys.path:
                        sys.path.insert(0, folder)   # spawn workers import the learner's module from here
                    module = importlib.import_module(request["module"])
                state = _imports()
                if request["kind"] == "call":
                    try:
                        func = getattr(module, request["name"])
                    except AttributeError:
                        raise AttributeError(f"{request['module']}.py has no function {request['name']}(): "
                                             "did you rename or delete it?") from None
                    value = func(*request["args"], **request["kwargs"])
                else:
                    namespace: dict = {"__name__": "__scenario__"}
                    exec(compile(request["source"], f"<scenario {request['name']}>", "exec"), namespace)
                    value = namespace[request["name"]](module, *request["args"], **request["kwargs"])
                    if isinstance(value, types.CoroutineType):
                        import asyncio
                        value = asyncio.run(value)
                reply = {"ok": True, "value": _child._plain(value)}
            except SystemExit as exc:
                reply = {"ok": False, "type": "SystemExit", "message": f"the code called sys.exit({exc.code!r})",
                         "traceback": _child._trimmed_traceback(exc, folder)}
            except BaseException as exc:  # noqa: BLE001 - the learner's, as in the child
                reply = {"ok": False, "type": type(exc).__name__, "message": str(exc),
                         "traceback": _child._trimmed_traceback(exc, folder)}
            replied.set()   # before the reply: the runner's kill() may then wait for this thread
            _child._send(res, reply)
        except OSError:
            pass   # the runner gave up on this call (its deadline) and closed the pipes
        finally:
            sys.setswitchinterval(interval)
            if state is not None:
                _forget_imports(state)
            for fd in (req, res, stk, out_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            done.set()

    class ThreadChild(Child):
        """A call running in a thread of this process, as the runner sees a child."""

        def __init__(self, thread: threading.Thread, done: threading.Event, replied: threading.Event,
                     out_r: int) -> None:
            self.thread = thread
            self.done = done
            self.replied = replied
            self.pid = os.getpid()
            self.out_fd = out_r    # the learner's prints go to sys.stdout (grade()'s sink); EOF when it ends
            self.closed = False
            self.kids: list[int] = []
            self.kids_at = 0.0

        def poll(self) -> int | None:
            return 0 if self.done.is_set() else None

        def wait(self) -> int:
            self.done.wait()
            return 0

        def threads(self) -> list[int]:
            # For the runner's call clock (it discounts the time a call's threads waited for a
            # CPU): as the sandbox's child names every thread of the call's processes, this
            # names every thread of this process but the runner's own, and of its children (an
            # idle one, like a blocked leftover of an earlier call, does not count there). The
            # children are looked up every 0.5 s only: that scans all of /proc (about 1 ms
            # here) with the GIL held, time taken from the learner's code.
            now = time.monotonic()
            if now >= self.kids_at:
                try:
                    import psutil
                    self.kids = [p.pid for p in psutil.Process().children(recursive=True)]
                except Exception:  # noqa: BLE001 - psutil missing or a child gone: fewer threads
                    self.kids = []
                self.kids_at = now + 0.5
            main = threading.main_thread().native_id
            return [t for pid in (os.getpid(), *self.kids) for t in _tids(pid) if t != main]

        def dump_stacks(self) -> bool:
            return False   # no stacks in the message: feedback, not grading (the grader's ~0.1 s is its own)

        def kill(self) -> None:
            # A call that replied is let end, so that the next call does not see its thread
            # (01.3 counts the live threads). A thread cannot be killed: a hung call stays
            # blocked; its fds are its own.
            if self.replied.is_set():
                self.thread.join(timeout=5)
            if not self.closed:
                self.closed = True
                os.close(self.out_fd)

    class InProcessLauncher(Launcher):
        """Runs each call in a thread of the pytest process: no process, no sandbox."""

        def start(self, fds: tuple[int, int, int], cwd: Path) -> Child:
            mine = tuple(os.dup(fd) for fd in fds)   # the runner closes its copies after start()
            out_r, out_w = os.pipe()
            done, replied = threading.Event(), threading.Event()
            # not a daemon, like the child's main thread: the threads the learner's code starts
            # inherit that (a stuck one is left behind at os._exit)
            thread = threading.Thread(target=serve, args=(*mine, out_w, done, replied), daemon=False,
                                      name="call")
            thread.start()
            return ThreadChild(thread, done, replied, out_r)

    return InProcessLauncher


# Where the modules a call may import and keep live: the runtime (the standard library, the
# venv's packages) and this checkout's own code.
_KEEP = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, str(ROOT / "src")})


def _imports() -> tuple[set[str], list[str]]:
    return set(sys.modules), list(sys.path)


def _forget_imports(state: tuple[set[str], list[str]]) -> None:
    """Undo what a call added to sys.path, and forget the modules it imported from anywhere
    but the runtime and this checkout. A scenario of 02.4 writes a module into a fresh
    temporary folder, puts it on sys.path and imports it, once per call: in a fresh child
    that is a fresh module each time; in-process, the second call would get the first one's,
    whose folder is gone. The learner's own module stays imported (it was there before)."""
    before, path = state
    for name in set(sys.modules) - before:
        file = getattr(sys.modules.get(name), "__file__", None) or ""
        if file and not os.path.abspath(file).startswith(_KEEP):
            sys.modules.pop(name, None)
    sys.path[:] = path


def _tids(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except (OSError, ValueError):
        return []


class NoSandbox:
    """Stands where grading.grade() builds its Sandbox: starts nothing, contains nothing, and
    hands the runner the in-process launcher."""

    isolated = False
    uid = None

    def __init__(self, folder: Path, *args: Any, **kwargs: Any) -> None:
        self.folder = folder

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NoSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def launcher(self) -> Any:
        return _launcher_class()()


# ---------------------------------------------------------------------------- timers

def _timer(acc: dict[str, float], owner: Any, name: str, key: str, count: str = "") -> Callable[[], None]:
    """Wrap owner.name to add its time to acc[key] (and 1 to acc[count]); return an undo."""
    orig = getattr(owner, name)

    def wrapped(*a: Any, **k: Any) -> Any:
        __tracebackhide__ = True   # else pytest's failure reports would parse this file's source
        t0 = time.perf_counter()
        try:
            return orig(*a, **k)
        finally:
            acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
            if count:
                acc[count] = acc.get(count, 0.0) + 1
    setattr(owner, name, wrapped)
    return lambda: setattr(owner, name, orig)


def grade_timed(mode: str, folder: Path, events: Path) -> dict[str, Any]:
    """grading.grade() on `folder` in this process, sandboxed or in-process, timed in parts:
    total, sandbox start/stop, runner calls (count, time), the sandbox's fork and kill round
    trips, every pytest test (and each one's time)."""
    import _pytest.runner as pyrunner

    from coursekit import grading, runner
    from coursekit.manifest import load_course

    course = load_course(ROOT)
    acc: dict[str, float] = {}
    per_test: dict[str, float] = {}
    undo = [_timer(acc, runner, "run_child", "in calls", "calls"),
            _timer(acc, pyrunner, "runtestprotocol", "tests", "items")]
    timed_protocol = pyrunner.runtestprotocol

    def protocol(item: Any, *a: Any, **k: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return timed_protocol(item, *a, **k)
        finally:
            per_test[item.nodeid] = time.perf_counter() - t0
    pyrunner.runtestprotocol = protocol
    undo.append(lambda: setattr(pyrunner, "runtestprotocol", timed_protocol))
    if mode == "sandbox":
        from coursekit import sandbox
        undo += [_timer(acc, sandbox.Sandbox, "close", "sandbox stop")]
        first_start = sandbox.Sandbox.start

        def start(self: Any) -> None:
            # the first start is grade()'s own; a later one is a restart inside a test (a call
            # left something that would not die), already counted in that test's time
            key = "sandbox restart" if "sandbox start" in acc else "sandbox start"
            t0 = time.perf_counter()
            try:
                first_start(self)
            finally:
                acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
        sandbox.Sandbox.start = start
        undo.append(lambda: setattr(sandbox.Sandbox, "start", first_start))
        if hasattr(sandbox.Sandbox, "request"):
            # the template's round trips per call: "start" (fork), "kill" (kill, reap, wipe /tmp)
            orig = sandbox.Sandbox.request

            def request(self: Any, message: dict, *a: Any, **k: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return orig(self, message, *a, **k)
                finally:
                    key = f"op {message.get('op')}"
                    acc[key] = acc.get(key, 0.0) + time.perf_counter() - t0
            sandbox.Sandbox.request = request
            undo.append(lambda: setattr(sandbox.Sandbox, "request", orig))
    else:
        if not hasattr(grading, "Sandbox"):
            raise SystemExit("_floor: coursekit.grading no longer builds a Sandbox; update bench/_floor.py")
        saved = grading.Sandbox
        grading.Sandbox = NoSandbox
        undo.append(lambda: setattr(grading, "Sandbox", saved))
    t0 = time.perf_counter()
    try:
        grading.grade(course, folder, events)
        acc["total"] = time.perf_counter() - t0
        # then, in the same process and minute, the fixed cost of one call: a scenario that
        # does nothing (the learner's warmup.py is still imported, as in every call)
        before = dict(acc)
        t1 = time.perf_counter()
        trivial = _trivial_calls(mode, folder)
        trivial["trivial time"] = time.perf_counter() - t1   # not the grading's: the bench subtracts it
        trips = {f"trivial {k}": (v - before.get(k, 0.0)) / (TRIVIAL_CALLS + TRIVIAL_WARM)
                 for k, v in acc.items() if k.startswith("op ")}
        acc.clear()
        acc.update(before, **trivial, **trips)
    finally:
        for u in reversed(undo):
            u()
    from coursekit import reports
    lines = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = reports.from_events(folder.name, course, lines, acc["total"])
    return {"parts": acc, "per_test": per_test, "scores": {ts.task.id: ts.score for ts in report.tasks},
            "failed": [e["nodeid"] for e in lines if e.get("event") == "test" and not e.get("passed")
                       and not e.get("skipped")],
            "problem": report.problem, "isolated": report.isolated}


TRIVIAL_CALLS = 30
TRIVIAL_WARM = 5


def _nothing(module):  # type: ignore[no-untyped-def]
    return None


def _trivial_calls(mode: str, folder: Path) -> dict[str, float]:
    """The median time of a call that does nothing, through this mode's launcher."""
    import statistics

    from coursekit.runner import Impl
    if mode == "sandbox":
        from coursekit.sandbox import Sandbox
        box: Any = Sandbox(folder)
    else:
        box = NoSandbox(folder)
    box.start()
    try:
        impl = Impl(folder / "00_start_here", "warmup", launcher=box.launcher())
        for _ in range(TRIVIAL_WARM):
            impl.run(_nothing)
        times = []
        for _ in range(TRIVIAL_CALLS):
            t0 = time.perf_counter()
            impl.run(_nothing)
            times.append(time.perf_counter() - t0)
    finally:
        box.close()
    return {"trivial call": statistics.median(times)}


def main() -> None:
    started = time.perf_counter()
    mode, folder, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if mode not in ("inprocess", "sandbox"):
        raise SystemExit(f"_floor: mode must be inprocess or sandbox, not {mode!r}")
    sys.path.insert(0, str(ROOT / "src"))
    # what the grader's CLI has loaded before it forks a worker
    import pytest  # noqa: F401

    import coursekit.grading  # noqa: F401
    ready = time.perf_counter() - started
    result = grade_timed(mode, folder.resolve(), out.with_suffix(".events.jsonl"))
    result["import"] = ready
    out.write_text(json.dumps(result), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    # A hung call's thread (and what it started) cannot be joined: leave without waiting.
    os._exit(0)


if __name__ == "__main__":
    main()
