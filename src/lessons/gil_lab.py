"""Measure the GIL on *this* machine: the probes lesson 02 runs.

Every probe runs in a fresh interpreter, as ``lessons.costs`` does for
lesson 01: the notebook kernel has threads of its own (ipykernel's heartbeat
and I/O threads) that would compete for its GIL, and a switch interval set in
the kernel would leak into later cells.  A child interpreter starts clean,
measures, prints one line of JSON, and exits.

Layout:

1. Running code in a fresh interpreter: ``_run_child``, ``find_interpreters``,
   ``run_program``.
2. CPU-bound scaling: ``cpu_scaling`` (threads, processes, and threads that
   call a C function which releases the GIL), and ``threads_program``, one
   self-contained program to run on a GIL and a free-threaded build alike.
3. I/O-bound scaling: ``io_scaling`` (client threads against a slow server).
4. The loopback server (``FibServer``, after D. Beazley's PyCon 2015 talk) and
   the convoy experiment ``convoy``: fast requests while another client keeps a
   CPU-bound request running, for several switch intervals.
5. ``gil_trace``: who held the GIL when, measured by the threads themselves.
6. Self-contained programs (``RACE_PROGRAM``, ``OLD_GIL_PROGRAM``) written to
   run unchanged on Python 2.7 and every Python 3, for cross-version runs.
7. The command line the functions above run in their child (``main``).

Every socket is bound to, or connects to, 127.0.0.1 only.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import probe

LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------------------
# 1. Running code in a fresh interpreter
# ---------------------------------------------------------------------------


def _run_child(args: Sequence[str], *, timeout: float = 120.0) -> Any:
    """``lessons.gil_lab.main(args)`` in a fresh interpreter (see ``lessons.probe``)."""
    return probe.run_json("gil_lab", args, timeout=timeout)


#: Run self-contained code under any interpreter and read its JSON answer.
run_program = probe.run_code


@dataclass(frozen=True)
class Interpreter:
    """A Python found on this machine."""

    version: str          #: "3.12.1"
    path: str
    free_threaded: bool   #: built with --disable-gil (sysconfig Py_GIL_DISABLED)

    @property
    def label(self) -> str:
        return f"{self.version}{'t' if self.free_threaded else ''}"


_PROBE = ("import sys, sysconfig; print('%d.%d.%d %d' % (sys.version_info[:3] + "
          "(bool(sysconfig.get_config_var('Py_GIL_DISABLED')),)))")


def find_interpreters(include: Sequence[str] = ()) -> list[Interpreter]:
    """Every distinct CPython on this machine: ``python2.7`` and ``python3.N`` on ``PATH``,
    pyenv's versions, plus the paths in ``include``; sorted by version, one per version."""
    candidates = [shutil.which(f"python{v}") for v in ["2.7"] + [f"3.{m}" for m in range(6, 16)]]
    candidates += [shutil.which(f"python3.{m}t") for m in range(13, 16)]
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    candidates += list(include) + [sys.executable]
    found: dict[tuple[str, bool], Interpreter] = {}
    for path in filter(None, candidates):
        try:
            done = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.fullmatch(r"(\d+\.\d+\.\d+) ([01])", done.stdout.strip())
        if done.returncode == 0 and match:
            key = (match.group(1), match.group(2) == "1")
            found.setdefault(key, Interpreter(key[0], path, key[1]))
    return sorted(found.values(), key=lambda i: (tuple(int(x) for x in i.version.split(".")), i.free_threaded))


# ---------------------------------------------------------------------------
# 2. CPU-bound work: threads, processes, and C code that releases the GIL
# ---------------------------------------------------------------------------


def count_down(n: int) -> int:
    """Pure-Python CPU work (D. Beazley's GIL benchmark): holds the GIL throughout."""
    while n > 0:
        n -= 1
    return n


_BLOCK = bytes(1 << 20)  # 1 MiB of zeros to hash


def hash_blocks(k: int) -> int:
    """Hash a 1 MiB block ``k`` times with SHA-256.

    ``hashlib`` releases the GIL while it hashes any buffer of at least
    ``HASHLIB_GIL_MINSIZE`` (2048) bytes (``Modules/hashlib.h``), so threads
    running this can use several cores at once.
    """
    for _ in range(k):
        hashlib.sha256(_BLOCK).digest()
    return k


@dataclass(frozen=True)
class ScalingRun:
    """``workers`` workers shared a fixed amount of work; ``wall_s`` is the median of ``samples``.

    ``cores_used`` (thread modes only, else None): the median over the samples of the
    process's CPU time divided by the wall time, i.e. how many CPUs the threads kept busy
    on average.  Unlike a speed-up it needs no idle second core to mean something: a busy
    machine can only lower it, so "pure-Python threads use at most one CPU" can be checked
    anywhere.
    """

    mode: str
    workers: int
    wall_s: float
    samples: tuple[float, ...]
    cores_used: float | None = None


@dataclass(frozen=True)
class Scaling:
    """What ``cpu_scaling`` and ``io_scaling`` return."""

    cpus: int
    runs: tuple[ScalingRun, ...]
    info: dict[str, Any]

    def series(self, mode: str) -> list[float]:
        """Median wall times of ``mode``, in the order of the worker counts."""
        return [r.wall_s for r in self.runs if r.mode == mode]

    @property
    def workers(self) -> list[int]:
        return sorted({r.workers for r in self.runs})

    def speedup(self, mode: str) -> list[float]:
        """Time with one worker divided by time with n workers, for each n."""
        times = self.series(mode)
        return [times[0] / t for t in times]

    def cores_used(self, mode: str) -> list[float | None]:
        """``ScalingRun.cores_used`` of ``mode``, in the order of the worker counts."""
        return [r.cores_used for r in self.runs if r.mode == mode]


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _best_of(fn: Any, arg: int, times: int = 3) -> float:
    best = float("inf")
    for _ in range(times):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best


def _calibrate(fn: Any, seconds: float, start: int) -> int:
    """The argument for which ``fn(arg)`` takes about ``seconds``."""
    arg = start
    while True:
        elapsed = _best_of(fn, arg)
        if elapsed > 0.03:
            return max(1, int(arg * seconds / elapsed))
        arg *= 2


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _threads_wall(fn: Any, shares: list[int]) -> tuple[float, float]:
    """Run ``fn(share)`` on one thread per share; return (wall s, CPU s of the whole process)."""
    barrier = threading.Barrier(len(shares) + 1)

    def worker(share: int) -> None:
        barrier.wait()
        fn(share)

    threads = [threading.Thread(target=worker, args=(s,)) for s in shares]
    for t in threads:
        t.start()
    barrier.wait()                      # every thread exists before the clock starts
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, time.process_time() - c0


def _measure_cpu_scaling(workers: Sequence[int], work_s: float, repeats: int) -> dict[str, Any]:
    import multiprocessing as mp

    iterations = _calibrate(count_down, work_s, 100_000)
    blocks = _calibrate(hash_blocks, work_s, 4)
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    samples: dict[tuple[str, int], list[float]] = {}
    cores: dict[tuple[str, int], list[float]] = {}   # thread modes: CPU time / wall time
    pool_start: dict[int, float] = {}
    pools = {}
    for w in workers:
        t0 = time.perf_counter()
        pools[w] = ctx.Pool(w)
        pools[w].map(count_down, [1] * (4 * w), chunksize=1)   # every worker is up
        pool_start[w] = time.perf_counter() - t0
    try:
        for _ in range(repeats):
            for w in workers:
                shares = _split(iterations, w)
                wall, cpu = _threads_wall(count_down, shares)
                samples.setdefault(("threads", w), []).append(wall)
                cores.setdefault(("threads", w), []).append(cpu / wall)
                t0 = time.perf_counter()
                pools[w].map(count_down, shares, chunksize=1)
                samples.setdefault(("processes", w), []).append(time.perf_counter() - t0)
                wall, cpu = _threads_wall(hash_blocks, _split(blocks, w))
                samples.setdefault(("threads, hashlib", w), []).append(wall)
                cores.setdefault(("threads, hashlib", w), []).append(cpu / wall)
    finally:
        for pool in pools.values():
            pool.terminate()
            pool.join()
    runs = [ScalingRun(mode, w, statistics.median(s), tuple(s),
                       statistics.median(cores[mode, w]) if (mode, w) in cores else None)
            for (mode, w), s in samples.items()]
    runs.sort(key=lambda r: (r.mode, r.workers))
    return {"cpus": _cpus(), "runs": [asdict(r) for r in runs],
            "info": {"start_method": method, "iterations": iterations, "blocks": blocks,
                     "pool_start_s": pool_start}}


def _scaling_from(data: dict[str, Any]) -> Scaling:
    runs = tuple(ScalingRun(r["mode"], r["workers"], r["wall_s"], tuple(r["samples"]), r.get("cores_used"))
                 for r in data["runs"])
    return Scaling(data["cpus"], runs, data["info"])


def cpu_scaling(workers: Sequence[int] = (1, 2, 3, 4), work_s: float = 0.3, repeats: int = 3,
                timeout: float = 180.0) -> Scaling:
    """Share a fixed amount of CPU work among 1, 2, 3, 4... workers and time it.

    Three modes, each calibrated to take ``work_s`` on one worker:
    ``"threads"`` (``count_down``, pure Python), ``"processes"`` (the same
    function on a ``multiprocessing`` pool started before the clock starts),
    and ``"threads, hashlib"`` (``hash_blocks``: C code that releases the GIL).
    Each configuration runs ``repeats`` times; ``wall_s`` is the median.  The thread modes
    also report ``cores_used``: CPU time over wall time, how many CPUs they kept busy.
    """
    args = ["cpu", "--workers", *map(str, workers), "--work-s", str(work_s), "--repeats", str(repeats)]
    return _scaling_from(_run_child(args, timeout=timeout))


_THREADS_PROGRAM = '''
import json, sys, sysconfig, threading, time
def count_down(n):
    while n > 0:
        n -= 1
def wall(workers, iterations):
    shares = [iterations // workers] * workers
    barrier = threading.Barrier(workers + 1)
    def run(k):
        barrier.wait()
        count_down(k)
    threads = [threading.Thread(target=run, args=(k,)) for k in shares]
    for t in threads:
        t.start()
    barrier.wait()
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, time.process_time() - c0
samples = {str(w): [] for w in WORKERS}
cores = {str(w): [] for w in WORKERS}
for _ in range(REPEATS):              # round-robin, so that a busy moment hits every count alike
    for w in WORKERS:
        elapsed, cpu = wall(w, ITERATIONS)
        samples[str(w)].append(elapsed)
        cores[str(w)].append(cpu / elapsed)
def median(values):
    return sorted(values)[len(values) // 2]
print(json.dumps({
    "version": sys.version.split()[0],
    "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
    "runs": {w: median(s) for w, s in samples.items()},
    "cores_used": {w: median(c) for w, c in cores.items()},
    "samples": samples,
}))
'''


def threads_program(workers: Sequence[int] = (1, 2, 4), iterations: int = 3_000_000, repeats: int = 3) -> str:
    """A self-contained program: ``iterations`` of ``count_down`` shared among n threads.

    It imports nothing from this course, so any Python 3.8+ runs it, a
    free-threaded build included.  Its last line is JSON: the version, whether
    the build is free-threaded and the GIL enabled, and per thread count the
    median wall time (``runs``) and the median CPU time over wall time
    (``cores_used``: how many CPUs the threads kept busy).
    """
    return (_THREADS_PROGRAM.replace("ITERATIONS", str(int(iterations)))
            .replace("REPEATS", str(int(repeats))).replace("WORKERS", repr(tuple(int(w) for w in workers))))


# ---------------------------------------------------------------------------
# 4. (used by 3) The loopback server: one thread per client, Beazley style
# ---------------------------------------------------------------------------


def fib(n: int) -> int:
    """Naive recursive Fibonacci: CPU-bound, and full of calls (eval-breaker check points)."""
    return 1 if n <= 2 else fib(n - 1) + fib(n - 2)


def _handle(line: bytes) -> bytes:
    """One request line -> one reply line.

    ``<n>``: reply fib(n) (CPU-bound, as in D. Beazley's server);
    ``sleep <ms>``: wait ms milliseconds without holding the GIL, reply ``ok``
    (a stand-in for a slow backend: a database, another service).
    """
    text = line.decode("ascii").strip()
    if text.startswith("sleep "):
        time.sleep(int(text.split()[1]) / 1000)
        return b"ok\n"
    return str(fib(int(text))).encode("ascii") + b"\n"


class FibServer:
    """A threaded TCP server on 127.0.0.1: one thread per client connection.

    Use it as a context manager; ``port`` is the port it listens on (chosen
    by the kernel).  Requests are lines (see ``_handle``); a client may send
    many requests, one at a time, on one connection.
    """

    def __init__(self, port: int = 0) -> None:
        self._listener = socket.create_server((LOOPBACK, port))
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept_loop, name="fib-server-accept", daemon=True)

    def __enter__(self) -> FibServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._acceptor.start()

    def _accept_loop(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:           # the listener was closed: stop accepting
                return
            with self._lock:
                if self._closed:
                    client.close()
                    return
                self._clients.append(client)
                t = threading.Thread(target=self._serve, args=(client,), daemon=True)
                self._threads.append(t)
            t.start()

    @staticmethod
    def _serve(client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = b""
        try:
            while True:
                data = client.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    client.sendall(_handle(line))
        except (OSError, ValueError):
            return                    # client went away, or sent garbage: drop it
        finally:
            client.close()

    def close(self) -> None:
        """Stop accepting, shut every connection, and join the threads that are not busy computing."""
        with self._lock:
            self._closed = True
            clients, threads = list(self._clients), list(self._threads)
        if self._acceptor.is_alive():
            # Closing a socket does not wake a thread blocked in accept() on it (Linux):
            # a connection does, and the accept loop then sees _closed and returns.
            try:
                socket.create_connection((LOOPBACK, self.port), timeout=5).close()
            except OSError:
                pass
            self._acceptor.join(timeout=5)
        self._listener.close()
        for c in clients:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in threads:
            t.join(timeout=5)


class Client:
    """A blocking client for ``FibServer``: ``request(b"1")`` sends one line, returns the reply."""

    def __init__(self, port: int, timeout: float | None = 30.0) -> None:
        self.sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def request(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\n")
        while b"\n" not in self._buffer:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("the server closed the connection")
            self._buffer += data
        reply, self._buffer = self._buffer.split(b"\n", 1)
        return reply

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def server_process(switch_interval: float | None = None, cpu: int | None = None,
                   timeout: float = 20.0) -> Iterator[int]:
    """Run a ``FibServer`` in a fresh interpreter; yield its port; kill it on exit.

    The server process sets ``sys.setswitchinterval(switch_interval)`` first,
    so its GIL, and only its, uses that interval.  With ``cpu`` it runs on
    that CPU only (Linux), every thread of it included.
    """
    args = ["serve"] + ([] if switch_interval is None else ["--switch-interval", repr(switch_interval)])
    args += [] if cpu is None else ["--cpu", str(cpu)]
    proc = subprocess.Popen(
        probe.command("gil_lab", args),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=probe.child_env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()        # the server prints its port once it listens
        if not line.strip().isdigit():
            proc.kill()
            _, err = proc.communicate(timeout=timeout)
            raise RuntimeError(f"the server did not start:\n{err.strip()}")
        yield int(line)
    finally:
        proc.kill()
        proc.communicate(timeout=timeout)


def _serve_forever(switch_interval: float | None, cpu: int | None = None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})       # threads started from now on inherit it
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    with FibServer() as server:
        print(server.port, flush=True)
        sys.stdin.read()                     # until the parent closes our stdin or kills us


# ---------------------------------------------------------------------------
# 3. I/O-bound work on threads
# ---------------------------------------------------------------------------


def _measure_io_scaling(threads: Sequence[int], requests: int, latency_ms: int, repeats: int) -> dict[str, Any]:
    samples: dict[int, list[float]] = {}
    with FibServer() as server:
        for _ in range(repeats):
            for n in threads:
                clients = [Client(server.port) for _ in range(n)]
                shares = _split(requests, n)
                barrier = threading.Barrier(n + 1)

                def work(client: Client, k: int) -> None:
                    barrier.wait()
                    for _ in range(k):
                        client.request(f"sleep {latency_ms}".encode())

                workers = [threading.Thread(target=work, args=(c, k)) for c, k in zip(clients, shares)]
                for w in workers:
                    w.start()
                barrier.wait()
                t0 = time.perf_counter()
                for w in workers:
                    w.join()
                samples.setdefault(n, []).append(time.perf_counter() - t0)
                for c in clients:
                    c.close()
    runs = [ScalingRun("threads, I/O-bound", n, statistics.median(s), tuple(s)) for n, s in sorted(samples.items())]
    return {"cpus": _cpus(), "runs": [asdict(r) for r in runs],
            "info": {"requests": requests, "latency_ms": latency_ms}}


def io_scaling(threads: Sequence[int] = (1, 2, 4, 8, 16), requests: int = 32, latency_ms: int = 10,
               repeats: int = 3, timeout: float = 120.0) -> Scaling:
    """``requests`` requests to a loopback server that answers each after ``latency_ms``,
    shared among 1, 2, 4... client threads (one connection each); median of ``repeats``."""
    args = ["io", "--threads", *map(str, threads), "--requests", str(requests),
            "--latency-ms", str(latency_ms), "--repeats", str(repeats)]
    return _scaling_from(_run_child(args, timeout=timeout))


# ---------------------------------------------------------------------------
# 4. The convoy effect
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConvoyRun:
    """Fast ``fib(1)`` requests for ``duration_s`` against a server with ``switch_interval``."""

    switch_interval: float
    busy: bool                        #: another client kept a CPU-bound request running
    requests_per_s: float             #: median over the repeats
    samples: tuple[float, ...]        #: requests/s of each repeat
    latency_ms: tuple[float, ...]     #: 50th, 90th, 99th percentile and max, all repeats pooled


def _fast_requests(port: int, duration_s: float) -> list[float]:
    latencies = []
    with Client(port) as client:
        client.request(b"1")              # warm up the connection and the server thread
        deadline = time.perf_counter() + duration_s
        while True:
            t0 = time.perf_counter()
            client.request(b"1")
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            if t1 >= deadline:
                return latencies


def _hog(port: int, n: int, stop: threading.Event, started: threading.Event) -> None:
    with Client(port, timeout=None) as client:
        client.sock.sendall(f"{n}\n".encode())    # the first request is on its way...
        started.set()                              # ...before the measurement starts
        try:
            while not stop.is_set():
                while b"\n" not in client._buffer:
                    data = client.sock.recv(4096)
                    if not data:
                        return
                    client._buffer += data
                _, client._buffer = client._buffer.split(b"\n", 1)
                client.sock.sendall(f"{n}\n".encode())
        except OSError:
            return


def _percentiles(values: list[float]) -> tuple[float, ...]:
    ordered = sorted(values)
    pick = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in (0.5, 0.9, 0.99)]
    return tuple(v * 1000 for v in pick + [ordered[-1]])


def _two_cpus() -> tuple[int, int] | None:
    """Two CPUs this process may use (Linux), or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else None


def _measure_convoy(intervals: Sequence[float], duration_s: float, repeats: int, hog_n: int,
                    baseline: bool, pin: bool) -> dict[str, Any]:
    # Pinning: the server's threads share one CPU and the clients use another, so that when a
    # request arrives the CPU-bound thread is running and holds the GIL, as on a busy server.
    # Unpinned, the outcome depends on a race between the client's round trip and the
    # CPU-bound thread's wake-up, and flips between runs (see the lesson).
    cpus = _two_cpus() if pin else None
    if cpus is not None:
        os.sched_setaffinity(0, {cpus[1]})   # this process: the clients (threads inherit it)
    plan = ([(sys.getswitchinterval(), False)] if baseline else []) + [(i, True) for i in intervals]
    runs = []
    for interval, busy in plan:
        rates, latencies = [], []
        for _ in range(repeats):
            with server_process(interval, cpu=None if cpus is None else cpus[0]) as port:
                stop, started = threading.Event(), threading.Event()
                hog = threading.Thread(target=_hog, args=(port, hog_n, stop, started), daemon=True)
                if busy:
                    hog.start()
                    started.wait()
                lat = _fast_requests(port, duration_s)
                stop.set()
            if busy:
                hog.join(timeout=10)              # the server died with its process: recv returns
            rates.append(len(lat) / sum(lat))
            latencies += lat
        runs.append(asdict(ConvoyRun(interval, busy, statistics.median(rates), tuple(rates),
                                     _percentiles(latencies))))
    return {"pinned": cpus is not None, "runs": runs}


def convoy(intervals: Sequence[float] = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01),
           duration_s: float = 0.4, repeats: int = 3, hog_n: int = 30, baseline: bool = True,
           pin: bool = True, timeout: float = 300.0) -> tuple[bool, list[ConvoyRun]]:
    """Beazley's convoy experiment on loopback, for each switch interval.

    A threaded ``FibServer`` runs in its own interpreter with the given switch
    interval.  One client sends ``fib(1)`` requests back to back for
    ``duration_s`` and counts them, while another client keeps a ``fib(hog_n)``
    request running on the server.  With ``baseline`` the first run has no
    busy client (at the default interval), to show the rate alone.  With
    ``pin`` (Linux, two CPUs or more) the server runs on one CPU and the
    clients on another.  Returns (whether it pinned, the runs).
    """
    args = ["convoy", "--intervals", *map(repr, intervals), "--duration-s", str(duration_s),
            "--repeats", str(repeats), "--hog-n", str(hog_n)]
    args += ([] if baseline else ["--no-baseline"]) + ([] if pin else ["--no-pin"])
    data = _run_child(args, timeout=timeout)
    return data["pinned"], [ConvoyRun(r["switch_interval"], r["busy"], r["requests_per_s"],
                                      tuple(r["samples"]), tuple(r["latency_ms"])) for r in data["runs"]]


# ---------------------------------------------------------------------------
# 5. Who held the GIL when: measured by the threads themselves
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GilTrace:
    """The GIL's holders over time, as seen from inside the threads.

    Each span is ``(thread, start_s, end_s)``: from the first moment a thread
    ran Python code after getting the GIL to the first moment the next holder
    did (so a span includes the hand-off itself).
    """

    threads: int
    switch_interval: float
    duration_s: float
    spans: tuple[tuple[int, float, float], ...]

    @property
    def switches(self) -> int:
        return max(0, len(self.spans) - 1)

    def slices_ms(self) -> list[float]:
        """Lengths of the spans, ms, leaving out the first and the last (cut by the window)."""
        return [(end - start) * 1000 for _, start, end in self.spans[1:-1]]

    def timeline_spans(self) -> list[tuple[str, float, float, str]]:
        """``(lane, start_ms, end_ms, label)`` for ``lessons.plotting.timeline``."""
        return [(f"thread {i}", s * 1000, e * 1000, "holds the GIL") for i, s, e in self.spans]


def _measure_gil_trace(threads: int, switch_interval: float, duration_s: float) -> dict[str, Any]:
    sys.setswitchinterval(switch_interval)
    log: list[tuple[int, float]] = []
    owner = [-1]
    barrier = threading.Barrier(threads + 1)
    start = [0.0]

    def worker(me: int) -> None:
        barrier.wait()
        deadline = start[0] + duration_s
        clock = time.perf_counter
        while clock() < deadline:
            if owner[0] != me:              # only the GIL's holder runs this line
                owner[0] = me
                # The call may be followed by a switch (a check point), so this
                # entry can land in the log late; its time is right, hence the sort.
                log.append((me, clock()))

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start[0] = time.perf_counter()
    barrier.wait()
    for w in workers:
        w.join()
    end = time.perf_counter()
    log.sort(key=lambda entry: entry[1])
    merged: list[tuple[int, float]] = []
    for me, t in log:
        if not merged or merged[-1][0] != me:
            merged.append((me, t))
    spans = [(me, t - start[0], (merged[k + 1][1] if k + 1 < len(merged) else end) - start[0])
             for k, (me, t) in enumerate(merged)]
    return {"threads": threads, "switch_interval": switch_interval, "duration_s": duration_s, "spans": spans}


def gil_trace(threads: int = 2, switch_interval: float = 0.005, duration_s: float = 0.1,
              timeout: float = 60.0) -> GilTrace:
    """Run ``threads`` CPU-bound threads for ``duration_s`` in a fresh interpreter with the
    given switch interval, and record which thread held the GIL when."""
    data = _run_child(["trace", "--threads", str(threads), "--switch-interval", repr(switch_interval),
                       "--duration-s", str(duration_s)], timeout=timeout)
    return GilTrace(data["threads"], data["switch_interval"], data["duration_s"],
                    tuple((int(s[0]), float(s[1]), float(s[2])) for s in data["spans"]))


# ---------------------------------------------------------------------------
# 6. Programs for any Python, 2.7 included
# ---------------------------------------------------------------------------

#: Four threads each add 1 to a global 500,000 times, in two ways: ``counter += 1``,
#: and a read, a call, then the write.  Prints JSON with both totals.
RACE_PROGRAM = '''
import json, sys, threading
try:
    steps = xrange
except NameError:
    steps = range
THREADS, N = 4, 500000
counter = 0
def pause():
    pass
def plain(n):
    global counter
    for _ in steps(n):
        counter += 1
def with_call(n):
    global counter
    for _ in steps(n):
        seen = counter
        pause()
        counter = seen + 1
def run(target):
    global counter
    counter = 0
    threads = [threading.Thread(target=target, args=(N,)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "expected": THREADS * N,
                  "plain": run(plain), "with_call": run(with_call)}))
'''

#: Beazley's 2009 experiment: count down twice in a row, then in two threads at once, five
#: times in turn (so that a CPU slowing down or speeding up hits both alike).  Prints JSON with
#: the median of each, and the median of the five ratios threads / in a row.
OLD_GIL_PROGRAM = '''
import json, sys, threading, time
def count(n):
    while n > 0:
        n -= 1
N = 3000000
def sequential():
    t0 = time.time(); count(N); count(N); return time.time() - t0
def threaded():
    threads = [threading.Thread(target=count, args=(N,)) for _ in range(2)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.time() - t0
def median(values):
    return sorted(values)[len(values) // 2]
pairs = [(sequential(), threaded()) for _ in range(5)]
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3],
                  "sequential": median([s for s, t in pairs]), "threads": median([t for s, t in pairs]),
                  "ratio": median([t / s for s, t in pairs])}))
'''


#: Two CPU-bound threads for half a second; each writes down when it finds itself running after
#: the other one did.  Prints JSON: hand-offs of the GIL, median and longest turn (ms).
SWITCHES_PROGRAM = '''
import json, sys, threading, time
clock = time.time
log, owner, start = [], [-1], [0.0]
go = threading.Event()
def worker(me):
    go.wait()
    deadline = start[0] + 0.5
    while clock() < deadline:
        if owner[0] != me:
            owner[0] = me
            log.append((clock(), me))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
for t in threads:
    t.start()
start[0] = clock()
go.set()
for t in threads:
    t.join()
log.sort()
turns = sorted(b[0] - a[0] for a, b in zip(log, log[1:]))
print(json.dumps({"version": "%d.%d.%d" % sys.version_info[:3], "switches": len(log) - 1,
                  "median_turn_ms": 1000 * turns[len(turns) // 2] if turns else None,
                  "max_turn_ms": 1000 * turns[-1] if turns else None}))
'''


# ---------------------------------------------------------------------------
# 7. Command line (what the functions above run in a fresh interpreter)
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m lessons.gil_lab {cpu,io,convoy,trace,serve} ...``; prints JSON (serve: its port)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lessons.gil_lab", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    cpu = sub.add_parser("cpu")
    cpu.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    cpu.add_argument("--work-s", type=float, default=0.3)
    cpu.add_argument("--repeats", type=int, default=3)
    io = sub.add_parser("io")
    io.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    io.add_argument("--requests", type=int, default=32)
    io.add_argument("--latency-ms", type=int, default=10)
    io.add_argument("--repeats", type=int, default=3)
    cv = sub.add_parser("convoy")
    cv.add_argument("--intervals", type=float, nargs="+", default=[0.001, 0.005])
    cv.add_argument("--duration-s", type=float, default=0.4)
    cv.add_argument("--repeats", type=int, default=3)
    cv.add_argument("--hog-n", type=int, default=30)
    cv.add_argument("--no-baseline", action="store_true")
    cv.add_argument("--no-pin", action="store_true")
    tr = sub.add_parser("trace")
    tr.add_argument("--threads", type=int, default=2)
    tr.add_argument("--switch-interval", type=float, default=0.005)
    tr.add_argument("--duration-s", type=float, default=0.1)
    sv = sub.add_parser("serve")
    sv.add_argument("--switch-interval", type=float, default=None)
    sv.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args(argv)

    result: Any
    if args.what == "serve":
        _serve_forever(args.switch_interval, args.cpu)
        return
    if args.what == "cpu":
        result = _measure_cpu_scaling(args.workers, args.work_s, args.repeats)
    elif args.what == "io":
        result = _measure_io_scaling(args.threads, args.requests, args.latency_ms, args.repeats)
    elif args.what == "convoy":
        result = _measure_convoy(args.intervals, args.duration_s, args.repeats, args.hog_n,
                                 not args.no_baseline, not args.no_pin)
    else:
        result = _measure_gil_trace(args.threads, args.switch_interval, args.duration_s)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
