"""The runner: the one process boundary between the tests (the oracle) and the code under test.

Design
======

1. The oracle stays outside. Tests never import a learner's module into the pytest process
   (or the notebook kernel that runs ``check()``). Every request runs in a fresh child
   process; only plain JSON data comes back; assertions run in the parent. Nothing from the
   child is unpickled, so a learner's object with an ``__eq__`` that always says True, a
   monkeypatched builtin or a forged report cannot reach the verdict.

2. Scenarios travel as source code. ``Impl.run(scenario, ...)`` sends the *source* of one
   module-level function of the test file, not the test file: the child learns what the
   scenario does, never what the test expects of its result.

3. Every call is bounded. A call has a time-out; when it has run that long the parent asks
   the child for every thread's stack (faulthandler on SIGUSR1), then kills the child's whole
   process group and every descendant it can still see. A learner's infinite loop, deadlock,
   never-ending non-daemon thread or runaway pool therefore costs one failed call with a
   useful message naming the call, never a hung test run, and nothing survives the call.

   Load must not cost points, so the time-out is measured on the call's own clock: wall-clock
   time less the time its threads spent runnable but waiting for a CPU that other work held
   (the kernel's per-thread ``run_delay``, /proc/<tid>/schedstat, the scheduler's own
   accounting). On an idle machine that is the wall clock; a deadlock (no thread waits for a
   CPU) is stopped at the time-out on any machine; a correct call slowed down by two busy
   loops gets the time it needs. A wall-clock backstop of WALL_FACTOR times the time-out
   stops a call whatever the load (many runnable threads that all wait could otherwise
   stretch it without end). Contest judges count CPU time instead; that would let a
   deadlock run until a much longer wall limit, and a learner's ``check()`` is meant to say
   "stuck" quickly.

4. Fresh state per call. One process per call means a crash, a leaked thread or a global
   mutated by one call cannot change the next; the learner's latest saved file is what runs.

5. One place for the boundary. ``Launcher`` is the only code that starts a child, and the
   rest of the runner sees the child only through ``Child`` (poll, wait, dump stacks, kill
   with descendants). The grader's ``SandboxLauncher`` (sandbox.py) returns children forked
   by a warm template inside bubblewrap; tests and ``check()`` do not change.

Rejected designs: importing the learner's module in-process with a timeout thread (a thread
cannot be killed, and the oracle shares its memory with the learner); pickling results
(unpickling is code execution); one long-lived child per test module (state leaks between
tests and a hang poisons every later test).
"""

from __future__ import annotations

import inspect
import json
import os
import reprlib
import selectors
import signal
import struct
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import psutil

CHILD = Path(__file__).with_name("_child.py")
TEMPLATE = Path(__file__).with_name("_template.py")
OUTPUT_CAP = 64 * 1024          # bytes of the learner's stdout/stderr kept for messages
RESULT_CAP = 16 * 1024 * 1024   # a bigger reply is refused
STACK_WAIT = 1.0                # seconds to wait for faulthandler's dump after SIGUSR1
WALL_FACTOR = 4                 # a call is stopped after this many times its time-out on the wall clock
SAMPLE_EVERY = 0.1              # seconds between readings of the call's threads' scheduler times


class CallFailed(AssertionError):
    """A call did not return a value. Raised in the parent; its message is written for the
    learner. Subclasses say why, so tests and check() can tell the cases apart."""

    def __init__(self, message: str, *, output: str = "", detail: str = "") -> None:
        self.output = output
        parts = [message]
        if detail:
            parts.append(detail.rstrip())
        if output.strip():
            parts.append("Your code printed:\n" + textwrap.indent(output.rstrip(), "  "))
        super().__init__("\n".join(parts))


class LearnerError(CallFailed):
    """The learner's code raised an exception (the child's traceback is in `detail`)."""

    def __init__(self, exc_type: str, exc_message: str, tb: str, output: str) -> None:
        self.exc_message = exc_message
        where = f"Traceback (most recent call last):\n{tb.rstrip()}" if tb.strip() else ""
        super().__init__(f"{exc_type}: {exc_message}" if exc_message else exc_type, output=output, detail=where)


class NotImplementedYet(LearnerError):
    """The code under test still raises the stub's NotImplementedError."""


class CallTimeout(CallFailed):
    """The call ran past its deadline and was killed; `detail` holds the thread stacks."""


class ChildDied(CallFailed):
    """The child exited or was killed before it replied (os._exit at import, a crash...)."""


class Child:
    """One running child, as the runner sees it: the parent reads its output from `out_fd`,
    can ask it for its stacks, and kills it with everything it started. `Launcher.start`
    returns one; the grader's sandbox returns its own kind (a child forked by a template
    process inside bubblewrap)."""

    pid: int
    out_fd: int
    why: str = ""   # set when the launcher itself stopped the child (a limit), for the message

    def poll(self) -> int | None:
        """The exit status if the child has ended (negative: killed by that signal)."""
        raise NotImplementedError

    def wait(self) -> int:
        raise NotImplementedError

    def watch(self) -> None:
        """Called about every 0.2 s while the call runs (to note descendants)."""

    def threads(self) -> list[int]:
        """Thread ids (host's) of every process the call is running now, for its clock; none
        known means the wall clock alone."""
        return []

    def dump_stacks(self) -> bool:
        """Send SIGUSR1 so faulthandler writes every thread's stack; False if it is gone."""
        raise NotImplementedError

    def kill(self) -> None:
        """Kill the child and every process it started, and return when all are dead."""
        raise NotImplementedError


class _LocalChild(Child):
    """A child started directly with subprocess: its own session and process group."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.pid = proc.pid
        self.out_fd = proc.stdout.fileno()
        self.tree = _Tree(proc.pid)

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self) -> int:
        return self.proc.wait()

    def watch(self) -> None:
        self.tree.scan()

    def threads(self) -> list[int]:
        pids = [self.proc.pid, *(p for p in self.tree.seen if p != self.proc.pid)]
        return [t for pid in pids for t in _threads_of(pid)]

    def dump_stacks(self) -> bool:
        try:
            os.kill(self.proc.pid, signal.SIGUSR1)
            return True
        except ProcessLookupError:
            return False

    def kill(self) -> None:
        _kill(self.proc, self.tree)
        if self.proc.stdout:
            self.proc.stdout.close()


@dataclass
class Launcher:
    """Starts the child. The grader subclasses it to add a sandbox; keep it the only place
    that builds a child's command line."""

    python: str = sys.executable
    env: dict[str, str] | None = None
    # only variables a learner's program may need; the parent's secrets stay behind
    keep_env: Sequence[str] = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER", "TERM")

    def command(self, fds: tuple[int, int, int]) -> list[str]:
        return [self.python, "-I", "-B", "-X", "utf8", str(CHILD), *map(str, fds)]

    def environment(self) -> dict[str, str]:
        if self.env is not None:
            return dict(self.env)
        env = {k: v for k, v in os.environ.items() if k in self.keep_env}
        env["PYTHONHASHSEED"] = "0"
        return env

    def start(self, fds: tuple[int, int, int], cwd: Path) -> Child:
        proc = subprocess.Popen(
            self.command(fds),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=fds,
            cwd=cwd,
            env=self.environment(),
            start_new_session=True,   # its own process group, killed as one
        )
        return _LocalChild(proc)


@dataclass
class Impl:
    """One module of the code under test, run out of process.

    ``impl.call("makespan", tasks, "seq", 2)`` imports the module in a fresh child, calls the
    function and returns its (JSON-plain) result; tuples come back as lists.
    ``impl.run(scenario, *args)`` runs ``scenario(module, *args)`` in the child, where
    `scenario` is a self-contained module-level function of the test file (it imports what
    it needs inside its body); an ``async def`` scenario runs under ``asyncio.run``.
    Both raise a CallFailed subclass when no value comes back.
    """

    folder: Path
    module: str
    timeout: float = 10.0
    launcher: Launcher = field(default_factory=Launcher)
    label: str = ""     # how messages name `folder` (e.g. "exercises/01_processes_threads"); its name by default

    @property
    def path(self) -> Path:
        return self.folder / f"{self.module}.py"

    def call(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the test's line, not the runner's
        return self._request({"kind": "call", "name": name, "args": args, "kwargs": kwargs}, timeout)

    def run(self, scenario: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # pytest shows the test's line, not the runner's
        source = textwrap.dedent(inspect.getsource(scenario))
        request = {"kind": "run", "name": scenario.__name__, "source": source, "args": args, "kwargs": kwargs}
        return self._request(request, timeout)

    def _request(self, request: dict[str, Any], timeout: float | None) -> Any:
        __tracebackhide__ = True  # pytest shows the test's line, not the runner's
        if not self.path.is_file():
            raise CallFailed(f"{self.path} does not exist: the file is missing from the submission")
        request = {**request, "folder": str(self.folder.resolve()), "module": self.module}
        payload = json.dumps(request).encode("utf-8")
        try:
            return run_child(payload, self.folder, self.timeout if timeout is None else timeout, self.launcher)
        except CallFailed as exc:
            # Messages name the learner's files the way the learner sees them, not by absolute path.
            text = str(exc).replace(str(self.folder.resolve()), self.label or self.folder.name)
            if isinstance(exc, CallTimeout):
                text = f"{self.describe(request)} {text}"   # which of the test's calls hung
            exc.args = (text,)
            raise

    def describe(self, request: dict[str, Any]) -> str:
        """The call as a learner would write it, its arguments shortened:
        ``warmup.split_evenly([1, 2, 3, 4, ...], 3)``, or a scenario of the test file:
        ``the test's scenario census(module, 'f', [[1], [2], ...])``."""
        args = [_SHORT.repr(a) for a in request["args"]]
        args += [f"{k}={_SHORT.repr(v)}" for k, v in request["kwargs"].items()]
        if request["kind"] == "call":
            return f"{self.module}.{request['name']}({', '.join(args)})"
        return f"the test's scenario {request['name']}({', '.join(['module', *args])})"


_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = _SHORT.maxset = 4
_SHORT.maxstring = _SHORT.maxother = 40
_SHORT.maxlevel = 3


def _threads_of(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except (OSError, ValueError):
        return []


def _schedstat(tid: int) -> tuple[int, int] | None:
    """(nanoseconds on a CPU, nanoseconds runnable but waiting for one) of a thread."""
    try:
        with open(f"/proc/{tid}/schedstat", "rb") as f:
            ran, waited, _ = f.read().split()
        return int(ran), int(waited)
    except (OSError, ValueError):
        return None


class _Clock:
    """The call's own clock: wall-clock time less the time its threads waited for a CPU.

    Every SAMPLE_EVERY seconds it reads each thread's scheduler times. Over one interval, the
    threads that ran or waited at all are the call's active ones; the average time they
    waited is time the call was held back by other work, and is not counted (never more
    than the interval itself). Every thread of a call is born during the call, so its whole
    ``run_delay`` is the call's. Without /proc (not Linux) it is the wall clock."""

    def __init__(self, child: Child) -> None:
        self.child = child
        self.start = self.last = time.monotonic()
        self.waited = 0.0
        self.seen: dict[int, tuple[int, int]] = {}

    def sample(self) -> None:
        now = time.monotonic()
        waited, active = 0, 0
        for tid in self.child.threads():
            stat = _schedstat(tid)
            if stat is None:
                continue
            old = self.seen.get(tid, (0, 0))
            if stat[0] < old[0]:   # a new thread with a reused id
                old = (0, 0)
            self.seen[tid] = stat
            if stat != old:
                active += 1
                waited += stat[1] - old[1]
        if active:
            self.waited += min(waited / active / 1e9, now - self.last)
        self.last = now

    def ran(self, now: float) -> float:
        return now - self.start - self.waited


def run_child(payload: bytes, cwd: Path, timeout: float, launcher: Launcher) -> Any:
    """Start one child, send it `payload`, and return the value it replies with."""
    __tracebackhide__ = True  # pytest shows the test's line, not the runner's
    req_r, req_w = os.pipe()
    res_r, res_w = os.pipe()
    stk_r, stk_w = os.pipe()
    try:
        child = launcher.start((req_r, res_w, stk_w), cwd)
    except OSError as exc:
        for fd in (req_r, req_w, res_r, res_w, stk_r, stk_w):
            os.close(fd)
        raise CallFailed(f"could not start Python for the code under test: {exc}") from None
    for fd in (req_r, res_w, stk_w):
        os.close(fd)
    try:
        _write_request(req_w, payload)
        return _collect(child, res_r, stk_r, timeout)
    finally:
        child.kill()
        for fd in (res_r, stk_r):
            os.close(fd)


def _write_request(fd: int, payload: bytes) -> None:
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        pass  # the child died first; _collect reports how
    finally:
        os.close(fd)


class _Tree:
    """Every process the child started that we have seen, so that a descendant which left the
    process group (setsid) is still killed at the end."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.seen: dict[int, psutil.Process] = {}

    def scan(self) -> None:
        try:
            for p in psutil.Process(self.pid).children(recursive=True):
                self.seen.setdefault(p.pid, p)
        except psutil.Error:
            pass


def _collect(child: Child, res_fd: int, stk_fd: int, timeout: float) -> Any:
    __tracebackhide__ = True  # pytest shows the test's line, not the runner's
    out_fd = child.out_fd
    output = bytearray()
    reply = bytearray()
    sel = selectors.DefaultSelector()
    sel.register(out_fd, selectors.EVENT_READ, "out")
    sel.register(res_fd, selectors.EVENT_READ, "res")
    clock = _Clock(child)
    backstop = clock.start + timeout * WALL_FACTOR
    next_scan = 0.0
    next_sample = clock.start + SAMPLE_EVERY
    try:
        while True:
            now = time.monotonic()
            if _out_of_time(clock, timeout, backstop, now):
                stacks = _dump_stacks(child, stk_fd)
                child.watch()
                raise CallTimeout(
                    f"{_timed_out(clock, timeout, now)}: the code is probably stuck (an endless loop, a deadlock, "
                    "a thread or process that never ends, or a wait that is never woken)",
                    output=_text(output), detail=stacks)
            if now >= next_scan:
                child.watch()
                next_scan = now + 0.2
            if now >= next_sample:
                clock.sample()
                next_sample = now + SAMPLE_EVERY
            if not sel.get_map():
                break
            # the call's clock runs no faster than the wall clock: waiting what is left of the
            # time-out never oversleeps it
            for key, _ in sel.select(max(0.0, min(timeout - clock.ran(now), next_sample - now, 0.2))):
                chunk = os.read(key.fd, 1 << 16)
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                if key.data == "out":
                    if len(output) < OUTPUT_CAP:
                        output += chunk[: OUTPUT_CAP - len(output)]
                else:
                    reply += chunk
                    if len(reply) > RESULT_CAP + 8:
                        raise CallFailed(f"the result is larger than {RESULT_CAP // 2**20} MiB; return less data",
                                         output=_text(output))
                    message = _complete(reply)
                    if message is not None:
                        return _decode(message, _text(output))
            if child.poll() is not None and "res" not in {k.data for k in sel.get_map().values()}:
                break
    finally:
        sel.close()
    # Both pipes are closed; the child is ending. Give it until the deadline (a child that
    # closed its pipes and kept running is stuck like any other).
    code = child.poll()
    while code is None:
        now = time.monotonic()
        if now >= next_sample:
            clock.sample()
            next_sample = now + SAMPLE_EVERY
        if _out_of_time(clock, timeout, backstop, now):
            raise CallTimeout(f"{_timed_out(clock, timeout, now)}: the code closed its output and never ended",
                              output=_text(output), detail=_dump_stacks(child, stk_fd))
        time.sleep(0.002)
        code = child.poll()
    message = _complete(reply)
    if message is not None:
        return _decode(message, _text(output))
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if child.why:
            why = f"was stopped: {child.why}"
        else:
            why = f"was killed by {name}" + (" (out of memory or a resource limit?)" if name == "SIGKILL" else "")
    else:
        why = f"exited with status {code} before it returned a result: does the code call sys.exit() or os._exit()?"
    raise ChildDied(f"the process running your code {why}", output=_text(output))


def _out_of_time(clock: _Clock, timeout: float, backstop: float, now: float) -> bool:
    if now >= backstop:
        return True
    if clock.ran(now) < timeout:
        return False
    clock.sample()   # the latest waits count before the call is stopped
    return clock.ran(time.monotonic()) >= timeout


def _timed_out(clock: _Clock, timeout: float, now: float) -> str:
    """The first words of a time-out's message: how long the call ran, by which clock."""
    wall = now - clock.start
    if clock.ran(now) < timeout:
        return (f"timed out after {timeout:g} s and was stopped at the wall-clock limit, {wall:.1f} s "
                f"({WALL_FACTOR} times the time-out), on a machine too busy to let it run")
    if wall - timeout >= 0.5:
        return (f"timed out after {timeout:g} s and was stopped ({wall:.1f} s on the wall clock: the time "
                "it waited for a busy CPU does not count)")
    return f"timed out after {timeout:g} s and was stopped"


def _complete(buf: bytearray) -> bytes | None:
    if len(buf) < 8:
        return None
    (size,) = struct.unpack(">Q", buf[:8])
    if len(buf) < 8 + size:
        return None
    return bytes(buf[8 : 8 + size])


def _decode(message: bytes, output: str) -> Any:
    __tracebackhide__ = True  # pytest shows the test's line, not the runner's
    reply = json.loads(message)
    if reply["ok"]:
        return reply["value"]
    exc_type, text, tb = reply["type"], reply["message"], reply["traceback"]
    if exc_type == "NotImplementedError":
        raise NotImplementedYet(exc_type, text, tb, output)
    raise LearnerError(exc_type, text, tb, output)


def _dump_stacks(child: Child, stk_fd: int) -> str:
    """Ask the child for every thread's stack and return faulthandler's text, without the
    harness's own frames."""
    if not child.dump_stacks():
        return ""
    data = bytearray()
    sel = selectors.DefaultSelector()
    sel.register(stk_fd, selectors.EVENT_READ)
    end = time.monotonic() + STACK_WAIT
    try:
        while (left := end - time.monotonic()) > 0:
            # faulthandler writes the whole dump at once; stop at the first quiet moment after it
            if not sel.select(left if not data else min(left, 0.1)):
                if data:
                    break
                continue
            chunk = os.read(stk_fd, 1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        sel.close()
    lines = [ln for ln in _text(data).splitlines() if str(CHILD) not in ln and str(TEMPLATE) not in ln]
    if not lines:
        return "(no stack could be read: the process did not answer)"
    return "Where each thread was when it was stopped (most recent call first):\n" + "\n".join(lines)


def _kill(proc: subprocess.Popen[bytes], tree: _Tree) -> None:
    """Kill the child's process group and every descendant seen, then reap the child."""
    tree.scan()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for p in tree.seen.values():
        try:
            p.kill()
        except psutil.Error:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process in uninterruptible sleep
        pass
    # SIGKILL is delivered asynchronously: wait until every descendant is dead (a zombie
    # counts: it runs nothing, and whoever inherited it reaps it), so that "nothing survives
    # a call" holds when the call returns.
    deadline = time.monotonic() + 5
    alive = list(tree.seen.values())
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if _running(p)]
        if alive:
            time.sleep(0.005)


def _running(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _text(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")
