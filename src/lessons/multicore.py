"""Lesson 09: one event loop uses one core; offloading, the bridges back, pickling, start
methods, and what comes after the GIL. Every experiment returns plain data.

Design essay
============

An event loop is one thread running one callback at a time (lesson 04). CPU work inside a
callback or a coroutine step therefore stops *everything* on that loop: the loop cannot poll,
cannot fire timers, cannot run another task until the step returns. ``one_loop_one_core()``
shows it with a heartbeat task (a timer every ``beat_s``): during inline ``fib`` calls it beats
0 times; when the same calls go to ``run_in_executor`` it keeps beating. It also shows what
each executor buys: CPU seconds per wall second (``cpu_per_wall``), which is the number of
cores really used. Inline and ``to_thread`` on the GIL build stay at most about one; a process
pool can reach the number of free cores. Worker CPU is read *inside* each job with
``time.thread_time()`` (CPU of the calling thread only), so threads, processes and
subinterpreters are measured the same way, in one run, relative to each other.

The bridge. ``loop.run_in_executor(ex, fn)`` is ``futures.wrap_future(ex.submit(fn), loop=loop)``
(``BaseEventLoop.run_in_executor`` in ``Lib/asyncio/base_events.py``, v3.11.9 and v3.15.0rc1).
``wrap_future`` makes an asyncio future and ``_chain_future(source, destination)`` links them
(``Lib/asyncio/futures.py``). The concurrent future's done callback ``_call_set_state`` runs in
whichever thread completed it (a pool thread, or a process pool's manager thread) and must not
touch the loop's objects, so it calls ``dest_loop.call_soon_threadsafe(_set_state, destination,
source)``. ``call_soon_threadsafe`` appends a handle and calls ``_write_to_self``, which sends one
``b'\\0'`` byte on ``self._csock``; ``_ssock``, the other end of a ``socket.socketpair()`` made by
``_make_self_pipe`` (``Lib/asyncio/selector_events.py``), is registered for reading, so the loop's
``select(None)`` returns, ``_read_from_self`` drains the bytes, and the handle runs. Versions:
v3.11.9 decides "same loop, copy directly" with ``dest_loop is source_loop``; from 3.15.0a3
(gh-105836) with ``dest_loop is events._get_running_loop()``; for a concurrent future the source
loop is None, so both take the thread-safe branch. 3.14+ wraps the handle in
``events._ThreadSafeHandle`` (``BaseEventLoop.call_soon_threadsafe``).

``bridge_trace()`` catches this in the act: a ``selectors.DefaultSelector`` subclass records the
timeout of every ``select()`` and which descriptors came back ready, and a loop subclass records
who called ``call_soon_threadsafe`` from which thread. It runs on asyncio's
``SelectorEventLoop(selector=...)``, on the course's ``eventloop.Loop`` (the same ``wrap_future``,
its own self-pipe), and with ``SocketpairBridge``: David Beazley's pattern from his PyCon 2015
talk, ``aserver.py`` in github.com/dabeaz/concurrencylive (commit f0b283f): ``future_done`` runs
in the pool's thread, appends the waiting task to the ready deque and sends ``b'x'`` on one end
of a socketpair; a ``future_monitor`` task waits to read the other end. Here the same on the
course's loop through its public ``add_reader``, with no ``call_soon_threadsafe`` at all.

Pickling and start methods. A process pool sends the function and its arguments to a worker
and the result back through pipes, pickled (``_CallItem`` and ``_ResultItem`` in
``Lib/concurrent/futures/process.py``); ``pickle_costs()`` times a round trip against its
size. A lambda is pickled by name and has none, so submitting one fails
(``lambda_pickling()`` reports the exception per version). ``start_methods()`` times pool
start-up per method and reads the default: ``fork`` on Linux up to 3.13, ``forkserver`` from
3.14 (``Lib/multiprocessing/context.py``: "gh-84559: We changed everyones default to a thread
safeish one in 3.14"; What's New in Python 3.14, multiprocessing).

After the GIL. ``speedup()`` runs the same jobs with one and with two workers of one kind:
threads, processes, or subinterpreters (``concurrent.futures.InterpreterPoolExecutor``, 3.14+,
PEP 734), on whichever interpreter it is given; ``loops_per_thread()`` runs one ``asyncio.run``
per thread, each a mix of CPU and loopback I/O. On a free-threaded build (3.13t) threads use
two cores; with ``PYTHON_GIL=1`` the same binary is back to one.

Every experiment runs in a fresh interpreter through ``run()`` (so a notebook kernel's
threads never meet ``fork``) and returns JSON. This module imports only the standard library
at the top, so a stdlib-only 3.15 can run it.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures as cf
import json
import os
import pickle
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

Result = dict[str, Any]

__all__ = [
    "fib", "timed_fib", "echo", "newest", "free_threaded", "skipped", "run",
    "RecordingSelector", "SocketpairBridge", "gated_fib",
    "one_loop_one_core", "bridge_trace", "pickle_costs", "lambda_pickling", "start_methods",
    "speedup", "loops_per_thread", "after_the_gil", "plot_speedups", "main",
]


# ---------------------------------------------------------------------- the work

def fib(n: int) -> int:
    """The CPU-bound job: naive Fibonacci, all bytecode, no I/O, no C call to release the GIL."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def timed_fib(n: int) -> tuple[int, float]:
    """``fib(n)`` and the CPU seconds *this thread* spent on it (``time.thread_time``), so that
    a job reports its own CPU whether it ran in a thread, a process or a subinterpreter."""
    start = time.thread_time()
    value = fib(n)
    return value, time.thread_time() - start


def echo(payload: Any) -> Any:
    """Return the argument: a round trip through a pool costs only the transport."""
    return payload


def _version() -> str:
    return ".".join(map(str, sys.version_info[:3]))


def _gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)    # 3.13+
    return True if is_enabled is None else bool(is_enabled())


# ---------------------------------------------------------------------- interpreters

def newest(min_version: tuple[int, int] = (3, 14)) -> str | None:
    """A Python at least ``min_version`` (for ``InterpreterPoolExecutor`` and the forkserver
    default), or None: ``lessons.pythons.newest()``, the course's one finder (``$COURSEKIT_PYTHONS``,
    then the interpreter of ``make newest-python``)."""
    from . import pythons    # here, not at the top: a child process importing this needs none of it
    return pythons.newest(min_version)


def free_threaded() -> str | None:
    """The free-threaded interpreter ``make freethreaded`` builds (3.13t), or None:
    ``lessons.pythons.freethreaded()``."""
    from . import pythons
    return pythons.freethreaded()


def skipped(reason: str) -> Result:
    """What an experiment returns when it cannot run: ``{"skipped": "skipped: <reason>"}``."""
    return {"skipped": f"skipped: {reason}"}


def run(experiment: str, *args: Any, python: str | None = None, gil: bool | None = None,
        timeout: float = 240.0) -> Result:
    """Run ``experiment`` (a ``_exp_<name>`` of this module) with JSON ``args`` in a fresh
    interpreter (``python``, default this one); ``gil`` sets ``PYTHON_GIL`` (free-threaded
    builds only). Returns the experiment's dict with ``python`` (its version) added."""
    from . import probe
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    code = "import sys; from lessons.multicore import main; main(sys.argv[1:])"
    done = subprocess.run([python or sys.executable, "-c", code, experiment, json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout, env=probe.child_env(env))
    if done.returncode != 0:
        raise RuntimeError(f"experiment {experiment!r} failed under {python or sys.executable}:\n"
                           f"{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


def main(argv: Sequence[str]) -> None:
    """The child side of ``run``: ``main([name, json_args])`` prints one JSON line."""
    name, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else []
    out = globals()[f"_exp_{name}"](*args)
    out.setdefault("python", _version())
    out.setdefault("gil_enabled", _gil_enabled())
    print(json.dumps(out))


def _pool(kind: str, workers: int, method: str | None = None) -> cf.Executor:
    if kind == "thread":
        return cf.ThreadPoolExecutor(workers)
    if kind == "process":
        import multiprocessing as mp
        return cf.ProcessPoolExecutor(workers, mp_context=mp.get_context(method))
    if kind == "interpreter":
        return cf.InterpreterPoolExecutor(workers)  # type: ignore[attr-defined]  # 3.14+
    raise ValueError(f"unknown executor kind {kind!r}: use thread, process or interpreter")


# ---------------------------------------------------------------------- 1. one loop, one core

def one_loop_one_core(n: int = 29, jobs: int = 8, beat_s: float = 0.002,
                      python: str | None = None) -> Result:
    """Run ``jobs`` x ``fib(n)`` from one coroutine four ways: inline, ``asyncio.to_thread``
    one at a time, and ``run_in_executor`` on a 2-thread and a 2-process pool (gathered),
    while a heartbeat task sleeps ``beat_s`` in a loop.

    Returns {"modes": {mode: {"beats", "wall_s", "cpu_s", "cpu_per_wall"}}, ...}: ``beats``
    counted while the jobs ran; ``cpu_s`` the jobs' own CPU (thread_time inside each job)
    plus the loop thread's, so ``cpu_per_wall`` is the cores used.
    """
    return run("one_loop", n, jobs, beat_s, python=python)


def _exp_one_loop(n: int, jobs: int, beat_s: float) -> Result:
    async def measure(mode: str) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                await asyncio.sleep(beat_s)
                beats += 1

        pool = None if mode in ("inline", "to_thread") else _pool(mode.split()[0], 2)
        if pool is not None:        # start the workers before the clock starts
            await asyncio.gather(*[loop.run_in_executor(pool, fib, 5) for _ in range(2)])
        hb = asyncio.create_task(heartbeat())
        await asyncio.sleep(0)      # the heartbeat has started and armed its first timer
        beats = 0
        wall0, cpu0 = time.perf_counter(), time.thread_time()
        if mode == "inline":
            results = [timed_fib(n) for _ in range(jobs)]          # the loop is blocked here
        elif mode == "to_thread":
            results = [await asyncio.to_thread(timed_fib, n) for _ in range(jobs)]
        else:
            results = await asyncio.gather(*[loop.run_in_executor(pool, timed_fib, n) for _ in range(jobs)])
        wall = time.perf_counter() - wall0
        loop_cpu = time.thread_time() - cpu0
        seen = beats
        hb.cancel()
        if pool is not None:
            pool.shutdown()
        job_cpu = sum(c for _v, c in results)
        cpu = job_cpu + (0.0 if mode == "inline" else loop_cpu)   # inline: the jobs *are* the loop's CPU
        assert all(v == fib(n) for v, _c in results)
        return {"beats": seen, "wall_s": wall, "cpu_s": cpu, "cpu_per_wall": cpu / wall}

    modes = {}
    for mode in ("inline", "to_thread", "thread pool", "process pool"):
        modes[mode] = asyncio.run(measure(mode))
    return {"n": n, "jobs": jobs, "beat_s": beat_s, "modes": modes}


# ---------------------------------------------------------------------- 2. the bridge, recorded

class RecordingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """A ``DefaultSelector`` that records each ``select()``: its timeout and the descriptors that
    came back ready, as ``(timeout, [fd, ...])`` in ``self.calls``.

    ``on_block``, if given, is called each time ``select(None)`` begins: the moment the loop
    has nothing to do but wait. ``bridge_trace`` uses it as a gate that lets the pool's job
    finish only then, so every run records the same wait, however the threads are scheduled.
    """

    def __init__(self, on_block: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.calls: list[tuple[float | None, list[int]]] = []
        self.on_block = on_block

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None and self.on_block is not None:
            self.on_block()
        ready = super().select(timeout)
        self.calls.append((timeout, [key.fd for key, _mask in ready]))
        return ready


_gate: Any = None     # in a bridge_trace worker: the Event the job waits for


def _set_gate(event: Any) -> None:
    global _gate
    _gate = event


def gated_fib(n: int) -> int:
    """``fib(n)``, once the gate set by ``_set_gate`` opens (bridge_trace's workers)."""
    if not _gate.wait(60):
        raise TimeoutError("the loop never blocked in select(None) within 60 s")
    return fib(n)


class SocketpairBridge:
    """Beazley's socketpair bridge (``future_done`` / ``future_monitor`` in dabeaz/concurrencylive
    ``aserver.py``) on any loop with ``add_reader`` and ``create_future``: no
    ``call_soon_threadsafe``.

    ``wrap(cf_future)`` returns a loop future that completes with the same outcome. The
    concurrent future's done callback runs in whatever thread finished it: it only appends to a
    deque (``deque.append`` is thread-safe) and sends one byte. The loop watches the other end;
    its reader drains the bytes *first* and then the deque, so a pair appended after the drain
    has its own byte still waiting and is picked up by the next wake-up, never lost.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._notify, self._event = socket.socketpair()
        self._notify.setblocking(False)
        self._event.setblocking(False)
        self._finished: collections.deque[tuple[cf.Future[Any], asyncio.Future[Any]]] = collections.deque()
        loop.add_reader(self._event.fileno(), self._monitor)
        self.wakeups = 0        #: times the reader ran

    @property
    def fd(self) -> int:
        """The descriptor the loop watches (the bridge's, not the loop's self-pipe)."""
        return self._event.fileno()

    def wrap(self, future: cf.Future[Any]) -> asyncio.Future[Any]:
        """An asyncio future on this loop that completes when ``future`` does."""
        waiter = self._loop.create_future()
        future.add_done_callback(lambda done: self._future_done(done, waiter))
        return waiter

    def _future_done(self, done: cf.Future[Any], waiter: asyncio.Future[Any]) -> None:
        # Runs in the pool's thread: touch nothing of the loop's, just queue and notify.
        self._finished.append((done, waiter))
        try:
            self._notify.send(b"x")
        except BlockingIOError:
            pass    # the buffer is full of wake-ups already; one is enough

    def _monitor(self) -> None:
        # Runs in the loop: drain the bytes, then settle every finished pair.
        self.wakeups += 1
        try:
            while self._event.recv(4096):
                pass
        except BlockingIOError:
            pass
        while self._finished:
            done, waiter = self._finished.popleft()
            if waiter.cancelled():
                continue
            if done.cancelled():
                waiter.cancel()
            elif done.exception() is not None:
                waiter.set_exception(done.exception())  # type: ignore[arg-type]
            else:
                waiter.set_result(done.result())

    def close(self) -> None:
        self._loop.remove_reader(self._event.fileno())
        self._notify.close()
        self._event.close()


def bridge_trace(loop: str = "asyncio", executor: str = "process", n: int = 25,
                 python: str | None = None) -> Result:
    """Await ``fib(n)`` in a 1-worker ``executor`` (``"thread"`` or ``"process"``) on ``loop``:
    ``"asyncio"`` (SelectorEventLoop), ``"toy"`` (lessons.eventloop.Loop, run_in_executor) or
    ``"beazley"`` (the toy Loop, with ``SocketpairBridge`` instead of run_in_executor).

    Returns {"selects": [[timeout, [names of ready fds]]...], "threadsafe_calls": [[thread,
    callback]...], "self_pipe_fd", "bridge_fd", "result"}: the selects made while waiting,
    each ready fd named "self-pipe", "bridge" or its number.
    """
    return run("bridge", loop, executor, n, python=python)


def _exp_bridge(kind: str, executor: str, n: int) -> Result:
    calls: list[tuple[str, str]] = []

    def name_of(callback: Any) -> str:
        return getattr(callback, "__qualname__", repr(callback))

    def thread_name() -> str:
        # A process pool's results arrive on its _ExecutorManagerThread, named "Thread-N".
        me = threading.current_thread()
        kind = type(me).__name__
        return me.name if kind == "Thread" else f"{me.name} ({kind})"

    # The gate: the job may finish only once the loop blocks in select(None). A process pool's
    # worker gets a multiprocessing Event through its initializer (inheritance, not pickling
    # by submit(), which multiprocessing refuses for synchronisation objects).
    if executor == "process":
        import multiprocessing as mp
        ctx = mp.get_context("spawn")
        gate: Any = ctx.Event()
        pool: cf.Executor = cf.ProcessPoolExecutor(1, mp_context=ctx, initializer=_set_gate, initargs=(gate,))
    else:
        gate = threading.Event()
        pool = cf.ThreadPoolExecutor(1, initializer=_set_gate, initargs=(gate,))
    armed = False

    def on_block() -> None:
        if armed:
            gate.set()

    selector = RecordingSelector(on_block)
    if kind == "asyncio":
        class Recording(asyncio.SelectorEventLoop):  # type: ignore[misc,valid-type]
            def call_soon_threadsafe(self, callback: Any, *args: Any, **kw: Any) -> Any:
                calls.append((thread_name(), name_of(callback)))
                return super().call_soon_threadsafe(callback, *args, **kw)
        loop: Any = Recording(selector=selector)
        self_pipe = loop._ssock.fileno()    # asyncio keeps it private: _make_self_pipe's read end
    else:
        from lessons.eventloop import Loop

        class RecordingToy(Loop):
            def call_soon_threadsafe(self, callback: Any, *args: Any, **kw: Any) -> Any:
                calls.append((thread_name(), name_of(callback)))
                return super().call_soon_threadsafe(callback, *args, **kw)
        loop = RecordingToy(selector=selector)
        self_pipe = loop.self_pipe_fd
    pool.submit(fib, 5).result()        # the worker exists before the recording starts
    bridge = SocketpairBridge(loop) if kind == "beazley" else None

    async def wait_for_it() -> int:
        if bridge is not None:
            return (await bridge.wrap(pool.submit(gated_fib, n)))
        return await loop.run_in_executor(pool, gated_fib, n)

    async def main() -> int:
        nonlocal armed
        await asyncio.sleep(0)          # a first pass, so the recording starts on a settled loop
        del selector.calls[:]
        calls.clear()
        armed = True
        return await wait_for_it()

    bridge_fd = bridge.fd if bridge is not None else -1
    try:
        result = loop.run_until_complete(main())
    finally:
        pool.shutdown()
        if bridge is not None:
            bridge.close()
        loop.close()
    names = {self_pipe: "self-pipe", bridge_fd: "bridge"}
    selects = [[t, [names.get(fd, str(fd)) for fd in fds]] for t, fds in selector.calls]
    return {"loop": kind, "executor": executor, "result": result, "expected": fib(n),
            "selects": selects, "threadsafe_calls": calls, "self_pipe_fd": self_pipe,
            "bridge_fd": bridge_fd, "main_thread": threading.main_thread().name,
            "wakeups": None if bridge is None else bridge.wakeups}


# ---------------------------------------------------------------------- 3. pickling, start methods

def pickle_costs(sizes: Sequence[int] = (1 << 10, 1 << 16, 1 << 20, 1 << 24), repeats: int = 5,
                 python: str | None = None) -> Result:
    """Round-trip ``bytes(size)`` through a 1-process pool (``echo``), per size: the bytes
    pickled per call (there and back), the median ms per call, and, as a control, the median ms
    of ``pickle.loads(pickle.dumps(...))`` here. Returns {"rows": [{size, pickled_bytes,
    pool_ms, pickle_ms}...], "start_method"}."""
    return run("pickle", list(sizes), repeats, python=python)


def _exp_pickle(sizes: list[int], repeats: int) -> Result:
    rows = []
    with _pool("process", 1, "spawn") as pool:
        pool.submit(echo, b"").result()                 # the worker is up before timing
        for size in sizes:
            payload = bytes(size)
            call = pickle.dumps((echo, (payload,)), pickle.HIGHEST_PROTOCOL)
            back = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
            pool_s, local_s = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                assert len(pool.submit(echo, payload).result()) == size
                pool_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                pickle.loads(pickle.dumps(payload, pickle.HIGHEST_PROTOCOL))
                local_s.append(time.perf_counter() - t0)
            rows.append({"size": size, "pickled_bytes": len(call) + len(back),
                         "pool_ms": statistics.median(pool_s) * 1e3,
                         "pickle_ms": statistics.median(local_s) * 1e3})
    return {"rows": rows, "start_method": "spawn"}


def lambda_pickling(python: str | None = None) -> Result:
    """A lambda where a pool needs a picklable callable: the exception ``pickle.dumps`` raises
    and the one a ``ProcessPoolExecutor`` future (and, 3.14+, an ``InterpreterPoolExecutor``
    future) holds. Each as "module.QualName: first line of the message"."""
    return run("lambda", python=python)


#: A module-level lambda, as a learner's script would have: pickled by name, and its name is
#: ``<lambda>``, which ``lessons.multicore`` has no attribute of.
SQUARE = lambda x: x * x  # noqa: E731 - the point is that it is a lambda


def _exp_lambda() -> Result:
    def outcome(thunk: Callable[[], Any]) -> str:
        try:
            thunk()
        except BaseException as exc:  # noqa: BLE001 - report whatever it is
            kind = type(exc)
            text = str(exc).splitlines()[0] if str(exc) else ""
            text = " ".join(w if not w.startswith("0x") else "0x..." for w in text.split())
            return f"{kind.__module__}.{kind.__qualname__}: {text}"
        return "works"

    square = SQUARE
    out = {"pickle.dumps": outcome(lambda: pickle.dumps(square))}
    with _pool("process", 1, "spawn") as pool:
        out["ProcessPoolExecutor"] = outcome(lambda: pool.submit(square, 3).result(timeout=60))
    if hasattr(cf, "InterpreterPoolExecutor"):
        with _pool("interpreter", 1) as ipool:
            out["InterpreterPoolExecutor"] = outcome(lambda: ipool.submit(square, 3).result(timeout=60))
    return {"outcomes": out}


def start_methods(repeats: int = 3, python: str | None = None) -> Result:
    """The default start method (``multiprocessing.get_start_method()`` and what a
    ``ProcessPoolExecutor()`` uses) and, per method, the median seconds to create a 1-worker
    pool, get one result back and shut it down: the first pool of the run and later ones
    (forkserver's first pool also starts its server)."""
    return run("start", repeats, python=python)


def _exp_start(repeats: int) -> Result:
    import multiprocessing as mp
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)     # 3.12+: fork with threads alive
    times: dict[str, dict[str, float]] = {}
    for method in mp.get_all_start_methods():
        samples = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            with cf.ProcessPoolExecutor(1, mp_context=mp.get_context(method)) as pool:
                pool.submit(os.getpid).result()
            samples.append(time.perf_counter() - t0)
        times[method] = {"first_s": samples[0], "again_s": statistics.median(samples[1:])}
    with cf.ProcessPoolExecutor(1) as pool:       # after the timings: forkserver's "first" is first
        pool_default = pool._mp_context.get_start_method()  # type: ignore[attr-defined]  # private, read only
        pool.submit(os.getpid).result()
    return {"default": mp.get_start_method(), "pool_default": pool_default,
            "methods": mp.get_all_start_methods(), "startup": times}


# ---------------------------------------------------------------------- 4. after the GIL

def speedup(kind: str = "thread", n: int = 28, jobs: int = 8, python: str | None = None,
            gil: bool | None = None) -> Result:
    """``jobs`` x ``fib(n)`` on a pool of ``kind`` ("thread", "process", "interpreter") with 1
    and then 2 workers, in one fresh ``python`` (``gil``: PYTHON_GIL for free-threaded builds).

    Returns {"one_s", "two_s", "speedup" = one_s / two_s, "cpu_per_wall" (with 2 workers),
    "gil_enabled", "python"}, or ``skipped(...)`` when ``kind`` is "interpreter" and the
    interpreter has no InterpreterPoolExecutor.
    """
    return run("speedup", kind, n, jobs, python=python, gil=gil)


def _exp_speedup(kind: str, n: int, jobs: int) -> Result:
    if kind == "interpreter" and not hasattr(cf, "InterpreterPoolExecutor"):
        return skipped(f"Python {_version()} has no InterpreterPoolExecutor (3.14+)")
    out: dict[str, Any] = {"kind": kind, "n": n, "jobs": jobs}
    for workers, label in ((1, "one"), (2, "two")):
        with _pool(kind, workers, "spawn") as pool:
            list(pool.map(fib, [15] * (2 * workers)))        # workers up before timing
            t0 = time.perf_counter()
            done = list(pool.map(timed_fib, [n] * jobs))
            wall = time.perf_counter() - t0
        out[f"{label}_s"] = wall
        out[f"{label}_cpu_per_wall"] = sum(c for _v, c in done) / wall
    out["speedup"] = out["one_s"] / out["two_s"]
    out["cpu_per_wall"] = out["two_cpu_per_wall"]
    return out


def loops_per_thread(threads: int = 2, tasks: int = 4, rounds: int = 10, n: int = 24,
                     python: str | None = None, gil: bool | None = None) -> Result:
    """One ``asyncio.run`` per thread, ``threads`` threads at once, then one thread alone; each
    loop runs ``tasks`` tasks that ``rounds`` times compute ``fib(n)`` and echo a line over a
    loopback socketpair (``sock_sendall``/``sock_recv``). Returns {"one_s", "all_s",
    "speedup" = one_s * threads / all_s, "cpu_per_wall" (all threads at once), "gil_enabled"}."""
    return run("loops", threads, tasks, rounds, n, python=python, gil=gil)


def _exp_loops(threads: int, tasks: int, rounds: int, n: int) -> Result:
    async def service() -> None:
        loop = asyncio.get_running_loop()

        async def client() -> None:
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            try:
                for _ in range(rounds):
                    fib(n)                                   # the CPU part of a request
                    await loop.sock_sendall(a, b"ping\n")    # the I/O part
                    assert await loop.sock_recv(b, 16) == b"ping\n"
            finally:
                a.close()
                b.close()

        await asyncio.gather(*[client() for _ in range(tasks)])

    def timed(count: int) -> tuple[float, float]:
        start = threading.Barrier(count + 1)

        def worker() -> None:
            start.wait()
            asyncio.run(service())

        pool = [threading.Thread(target=worker) for _ in range(count)]
        for t in pool:
            t.start()
        start.wait()
        t0, c0 = time.perf_counter(), time.process_time()
        for t in pool:
            t.join()
        return time.perf_counter() - t0, time.process_time() - c0

    timed(1)                                            # warm up (imports, specialisation)
    one_s, _ = timed(1)
    all_s, all_cpu = timed(threads)
    return {"threads": threads, "one_s": one_s, "all_s": all_s,
            "speedup": one_s * threads / all_s, "cpu_per_wall": all_cpu / all_s}


def after_the_gil(n: int = 28, jobs: int = 8) -> list[Result]:
    """``speedup()`` on every configuration this machine has, in one run each, in this order:
    GIL threads and processes on this Python; subinterpreters on ``newest()``; threads on the
    free-threaded build with the GIL off and with ``PYTHON_GIL=1``. A missing interpreter gives
    a row with "skipped". Each row has a "label"."""
    ft, new = free_threaded(), newest()
    plan: list[tuple[str, str | None, str, bool | None, str]] = [
        ("threads, GIL build", sys.executable, "thread", None, ""),
        ("processes", sys.executable, "process", None, ""),
        ("subinterpreters (3.14+)", new, "interpreter", None, "no Python 3.14+ found (lessons.pythons / COURSEKIT_PYTHONS)"),
        ("threads, free-threaded", ft, "thread", None, "no free-threaded build (`make freethreaded`)"),
        ("threads, free-threaded + PYTHON_GIL=1", ft, "thread", True, "no free-threaded build (`make freethreaded`)"),
    ]
    rows = []
    for label, python, kind, gil, why in plan:
        row = skipped(why) if python is None else speedup(kind, n, jobs, python=python, gil=gil)
        row["label"] = label
        rows.append(row)
    return rows


def plot_speedups(rows: Sequence[Result], ax: Any = None) -> Any:
    """A bar per measured row of ``after_the_gil()``: its speed-up with 2 workers over 1 (the
    ideal on 2 free cores is 2). Skipped rows are left out. Returns the axes."""
    import matplotlib.pyplot as plt

    from .plotting import bar_compare
    if ax is None:
        _fig, ax = plt.subplots()
    measured = [r for r in rows if "skipped" not in r]
    labels = [f"{r['label']}\n(Python {r['python']})" for r in measured]
    bar_compare(ax, labels, [r["speedup"] for r in measured], "x",
                title="fib jobs: 2 workers against 1 (2 = both cores)")
    ax.axvline(1.0, color="#999999", linewidth=1)
    ax.axvline(2.0, color="#999999", linewidth=1, linestyle="--")
    return ax
