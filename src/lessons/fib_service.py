"""Lesson 09: one CPU-bound service measured four ways, and how the kernel spreads accepts.

The seed says "多进程+协程" - multiple processes plus coroutines - "uses every core and gets very
high performance". This module puts that sentence on a bench. The service is Beazley's fib
server (Concurrency Live, PyCon 2015): a client sends ``"n\\n"`` on a TCP connection to
127.0.0.1 and gets ``"fib(n)\\n"`` back, where ``fib`` is the naive recursive one, so a large n
is pure CPU work in Python. A **long** request (fib(28): 35 ms on an idle core of the
course's machine, CPython 3.11) stands for real work; a
**short** one (fib(1)) stands for "the health check, the small page": it should come back at
once, whatever the long ones are doing. Every request is one connection (connect, send, read
the answer, close), so the kernel picks a worker for each request; that is what lets the
pre-fork modes show how the kernel spreads accepts.

The ways to serve (``Mode``):

``inline``
    One process, one asyncio loop, ``fib`` called in the handler. While a long one computes,
    the loop runs nothing else: every short request queues behind it.
``pool``
    One asyncio loop plus a ``ProcessPoolExecutor`` of N workers: a request with
    ``n >= CUTOFF`` goes to the pool through ``loop.run_in_executor``; a cheap one is answered
    by the loop itself. That rule is the point of the lesson's heartbeat: keep the loop free,
    ship CPU work elsewhere. (Sending fib(1) to the pool too would queue it behind the long
    ones in the pool's call queue.)
``prefork``
    N processes forked from one parent, each running its own asyncio loop: "multi-process +
    coroutines" as the seed means it, and as gunicorn, uvicorn ``--workers`` and nginx run.
    Two ways to share the port: ``accept="shared"``, one listening socket bound in the
    parent and inherited across ``fork()``, which every child's epoll watches; and
    ``accept="reuseport"``, one socket per child, each bound to the same port with
    ``SO_REUSEPORT`` (Linux 3.9, socket(7)), so the kernel picks the child.
``threads``
    N threads in one process, each running its own asyncio loop on its own ``SO_REUSEPORT``
    socket (or on the shared one). Under the course's GIL build that cannot use two cores;
    under the free-threaded 3.13t (``lessons.freethreaded.find()``) it can, and the same binary
    with ``PYTHON_GIL=1`` is the control.

Each server runs in a child process started by ``start_server``: it prints one JSON line
when every worker is listening (readiness is a message, never a sleep), serves until its
stdin is closed, then prints one JSON line of per-worker statistics and exits. The load
(``run_load``) runs in another child, with blocking sockets in threads: ``long_clients``
threads each send long requests back to back, ``short_clients`` threads short ones, all until
the same deadline. ``measure`` does one mode; ``compare`` does several in one run and
``plot`` draws them.

What each worker counts, and why: its ``socket.accept`` calls, by a socket subclass passed to
``asyncio.start_server(sock=...)``, so asyncio's own accept path runs unchanged. asyncio's
``BaseSelectorEventLoop._accept_connection`` (Lib/asyncio/selector_events.py, v3.11.9 to
v3.15.0rc1) is the reader callback of the listening socket; it calls ``accept()`` in a loop
until ``BlockingIOError`` (EAGAIN). So each wake-up ends in exactly one EAGAIN, and an EAGAIN
that is the *first* call of a wake-up means this worker was woken for a connection that
another worker took: an **empty wake-up**, the thundering herd (惊群) made countable. asyncio
registers the socket with plain ``epoll_ctl(EPOLL_CTL_ADD, EPOLLIN)`` (``selectors.
EpollSelector.register``), without ``EPOLLEXCLUSIVE`` (Linux 4.5, epoll_ctl(2)), so a shared
socket wakes every idle child's epoll.

Nothing here is imported by the free-threaded child but this file and the standard library.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, asdict
from pathlib import Path
from typing import Any, Sequence

HOST = "127.0.0.1"
CUTOFF = 20          #: the pool mode ships requests with n >= CUTOFF to the pool
LONG_N = 28          #: the lesson's long request: 35 ms of CPython 3.11, idle core, course machine
SHORT_N = 1
READY_TIMEOUT = 60.0  # seconds: a safety net for a server that never gets ready, not a bound
SRC_DIR = str(Path(__file__).resolve().parent.parent)


def fib(n: int) -> int:
    """The naive recursion, on purpose: CPU work that runs Python bytecode all the way."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def timed_fib(n: int) -> tuple[int, float]:
    """fib(n) and the seconds it took in the process that computed it (the pool's workers)."""
    start = time.perf_counter()
    return fib(n), time.perf_counter() - start


# ---------------------------------------------------------------------- the server side

class CountingSocket(socket.socket):
    """A listening socket that counts what ``accept()`` returns, and nothing else changes.

    ``empty_wakeups``: EAGAINs that were the first accept of a wake-up (see the module
    docstring); ``accepted``: connections this socket's owner got.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted = 0
        self.eagains = 0
        self.empty_wakeups = 0
        self._last_ok = False

    def accept(self) -> tuple[socket.socket, Any]:  # type: ignore[override]
        try:
            conn = super().accept()
        except BlockingIOError:
            self.eagains += 1
            if not self._last_ok:      # nothing accepted since the last EAGAIN: woken for nothing
                self.empty_wakeups += 1
            self._last_ok = False
            raise
        self.accepted += 1
        self._last_ok = True
        return conn


def listener(port: int = 0, *, reuseport: bool = False, listen: bool = True) -> CountingSocket:
    """A TCP socket on 127.0.0.1:port; with ``reuseport`` it may share the port with others."""
    sock = CountingSocket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((HOST, port))
    if listen:
        sock.listen(1024)
    return sock


@dataclass
class WorkerStats:
    worker: int
    pid: int
    thread: str
    accepted: int = 0
    empty_wakeups: int = 0
    sleeps: int = 0
    requests: int = 0
    long_compute_s: list[float] = field(default_factory=list)


async def serve_worker(sock: CountingSocket, index: int, stop: asyncio.Future[None],
                       pool: ProcessPoolExecutor | None = None) -> WorkerStats:
    """Serve fib requests on ``sock`` with this thread's running loop until ``stop`` is done."""
    loop = asyncio.get_running_loop()
    stats = WorkerStats(index, os.getpid(), threading.current_thread().name)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                n = int(line)
                if pool is not None and n >= CUTOFF:
                    value, took = await loop.run_in_executor(pool, timed_fib, n)
                else:
                    value, took = timed_fib(n)       # inline: the loop itself computes
                if n >= CUTOFF:
                    stats.long_compute_s.append(took)
                stats.requests += 1
                writer.write(b"%d\n" % value)
                await writer.drain()
        except (ConnectionError, ValueError):
            pass                                     # a client that left or sent junk
        finally:
            writer.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=1024)
    before = _voluntary_switches()
    await stop
    server.close()
    stats.sleeps = _voluntary_switches() - before
    stats.accepted, stats.empty_wakeups = sock.accepted, sock.empty_wakeups
    return stats


def _voluntary_switches() -> int:
    """How often this thread has blocked in the kernel (epoll_wait, a read...) so far.

    Each time a worker's thread sleeps in ``epoll_wait`` and is woken, the count grows by
    one, whether or not the wake-up found work: it sees the wake-ups the kernel absorbs.
    """
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def _stop_on_eof(fd: int) -> asyncio.Future[None]:
    """A future of the running loop that is done when ``fd`` (a pipe) reaches end of file."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not os.read(fd, 4096):
            loop.remove_reader(fd)
            if not stop.done():
                stop.set_result(None)
    loop.add_reader(fd, readable)
    return stop


def _announce(port: int, mode: str, workers: int, accept: str) -> None:
    print(json.dumps({"ready": True, "port": port, "mode": mode, "workers": workers,
                      "accept": accept, "python": sys.version.split()[0],
                      "gil": getattr(sys, "_is_gil_enabled", lambda: True)()}), flush=True)


def _serve_one_loop(mode: str, workers: int) -> list[WorkerStats]:
    """inline and pool: the main thread's loop serves; stdin's EOF stops it."""
    async def main() -> WorkerStats:
        pool = None
        if mode == "pool":
            pool = ProcessPoolExecutor(max_workers=workers)
            loop = asyncio.get_running_loop()
            # Start every worker now (they start on demand), so the first long requests are
            # not also timing process starts.
            await asyncio.gather(*(loop.run_in_executor(pool, timed_fib, 15) for _ in range(workers)))
        sock = listener()
        stop = _stop_on_eof(sys.stdin.fileno())
        task = asyncio.ensure_future(serve_worker(sock, 0, stop, pool))
        await asyncio.sleep(0)                       # let start_server register the socket
        while not task.done() and not sock_is_serving(sock):
            await asyncio.sleep(0)
        _announce(sock.getsockname()[1], mode, workers if pool else 1, "one socket")
        try:
            return await task
        finally:
            if pool is not None:
                pool.shutdown()
            sock.close()
    return [asyncio.run(main())]


def sock_is_serving(sock: socket.socket) -> bool:
    """True once the socket is listening (start_server has called listen())."""
    return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))


def _child_worker(index: int, sock: CountingSocket, stop_fd: int, report_fd: int) -> None:
    """A pre-forked child: its own loop on ``sock``; report readiness and statistics on a pipe."""
    async def main() -> WorkerStats:
        stop = _stop_on_eof(stop_fd)
        task = asyncio.ensure_future(serve_worker(sock, index, stop))
        while not task.done() and not sock_is_serving(sock):
            await asyncio.sleep(0)
        os.write(report_fd, b"ready\n")
        return await task
    stats = asyncio.run(main())
    os.write(report_fd, json.dumps(asdict(stats)).encode() + b"\n")


def _serve_prefork(workers: int, accept: str) -> list[WorkerStats]:
    """fork ``workers`` children, each with its own loop; the parent only starts and stops them."""
    shared = listener(reuseport=False) if accept == "shared" else None
    # With SO_REUSEPORT the parent holds the port with a bound, not listening, socket: only
    # listening sockets join the group that receives connections.
    holder = shared or listener(reuseport=True, listen=False)
    port = holder.getsockname()[1]
    children: list[tuple[int, int, int]] = []     # (pid, stop write end, report read end)
    for index in range(workers):
        stop_r, stop_w = os.pipe()
        report_r, report_w = os.pipe()
        pid = os.fork()
        if pid == 0:                               # the child
            try:
                for _pid, w, r in children:       # else an earlier child would never see EOF
                    os.close(w)
                    os.close(r)
                os.close(stop_w)
                os.close(report_r)
                sock = shared if shared is not None else listener(port, reuseport=True)
                if shared is None:
                    holder.close()
                _child_worker(index, sock, stop_r, report_w)
            finally:
                os._exit(0)                       # never run the parent's code in a child
        os.close(stop_r)
        os.close(report_w)
        children.append((pid, stop_w, report_r))
    readers = [os.fdopen(r, "r") for _pid, _w, r in children]
    for f in readers:
        if f.readline() != "ready\n":
            raise RuntimeError("a pre-forked worker died before it was listening")
    if shared is None:
        holder.close()          # the children's sockets hold the port now
    _announce(port, "prefork", workers, accept)
    sys.stdin.read()            # serve until the driver closes our stdin
    stats = []
    for (pid, stop_w, _r), f in zip(children, readers):
        os.close(stop_w)
        line = f.readline()
        os.waitpid(pid, 0)
        stats.append(WorkerStats(**json.loads(line)))
    return stats


def _serve_threads(workers: int, accept: str) -> list[WorkerStats]:
    """``workers`` threads, each running its own asyncio loop on its own (or the shared) socket."""
    shared = listener() if accept == "shared" else None
    holder = shared or listener(reuseport=True, listen=False)
    port = holder.getsockname()[1]
    ready = threading.Barrier(workers + 1)
    results: list[WorkerStats | None] = [None] * workers
    stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        async def main() -> WorkerStats:
            loop = asyncio.get_running_loop()
            stop: asyncio.Future[None] = loop.create_future()
            with lock:
                stops.append((loop, stop))
            if shared is not None:   # its own descriptor: asyncio's Server.close() closes it
                sock = CountingSocket(fileno=os.dup(shared.fileno()))
            else:
                sock = listener(port, reuseport=True)
            task = asyncio.ensure_future(serve_worker(sock, index, stop))
            while not task.done() and not sock_is_serving(sock):
                await asyncio.sleep(0)
            await loop.run_in_executor(None, ready.wait)   # the loop stays free meanwhile
            return await task
        results[index] = asyncio.run(main())

    threads = [threading.Thread(target=run, args=(i,), name=f"loop-{i}") for i in range(workers)]
    for t in threads:
        t.start()
    ready.wait(READY_TIMEOUT)
    if shared is None:
        holder.close()
    _announce(port, "threads", workers, accept)
    sys.stdin.read()
    for loop, stop in stops:
        loop.call_soon_threadsafe(lambda s=stop: s.done() or s.set_result(None))
    for t in threads:
        t.join()
    if None in results:
        raise RuntimeError("a loop thread failed (its traceback is above)")
    return [r for r in results if r is not None]


def serve(mode: str, workers: int, accept: str) -> None:
    """The server child's main: serve, then print one JSON line of per-worker statistics."""
    if mode in ("inline", "pool"):
        stats = _serve_one_loop(mode, workers)
    elif mode == "prefork":
        stats = _serve_prefork(workers, accept)
    elif mode == "threads":
        stats = _serve_threads(workers, accept)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    print(json.dumps({"workers": [asdict(s) for s in stats]}), flush=True)


# ---------------------------------------------------------------------- the client side

def request(port: int, n: int, timeout: float = 120.0) -> tuple[int, float]:
    """One request on a new connection: (the answer, seconds from connect to answer)."""
    start = time.perf_counter()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(b"%d\n" % n)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(64)
            if not chunk:
                raise ConnectionError(f"the server closed the connection before answering fib({n})")
            data += chunk
    return int(data), time.perf_counter() - start


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100): a value that was really measured."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def run_load(port: int, seconds: float, long_n: int = LONG_N, long_clients: int = 2,
             short_clients: int = 1, short_n: int = SHORT_N, *, held: bool = False,
             timeout: float = 120.0) -> dict[str, Any]:
    """Long and short clients, back to back, until ``seconds`` have passed; their latencies.

    Each request opens a connection of its own, or, with ``held``, each client holds one
    connection for all its requests (the capstone's way: a service per connection is what it
    compares); ``timeout`` bounds each wait for an answer. Run it in a process of its own (``main(["load", ...])``), so that the clients do
    not share a GIL or a core's time with the server they measure.
    """
    expect = {long_n: fib(long_n), short_n: fib(short_n)}
    latencies: dict[str, list[float]] = {"long": [], "short": []}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = [0.0]

    def go_together() -> None:
        if start_together.wait() == 0:
            deadline[0] = time.perf_counter() + seconds
        start_together.wait()

    def on_new_connections(n: int, mine: list[float]) -> None:
        go_together()
        while time.perf_counter() < deadline[0]:
            value, took = request(port, n, timeout)
            if value != expect[n]:
                raise ValueError(f"fib({n}) came back as {value}, not {expect[n]}")
            mine.append(took)

    def on_one_connection(n: int, mine: list[float]) -> None:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            go_together()                  # connected first: connecting is not what is timed
            line = b"%d\n" % n
            while time.perf_counter() < deadline[0]:
                start = time.perf_counter()
                sock.sendall(line)
                answer = reader.readline()
                if answer != b"%d\n" % expect[n]:
                    raise ValueError(f"fib({n}) was answered {answer!r}")
                mine.append(time.perf_counter() - start)

    def client(kind: str, n: int) -> None:
        mine: list[float] = []
        try:
            (on_one_connection if held else on_new_connections)(n, mine)
        except Exception as exc:   # reported, never swallowed
            with lock:
                errors.append(f"{kind} client: {type(exc).__name__}: {exc}")
            start_together.abort()         # a client that failed before the start frees the others
        with lock:
            latencies[kind].extend(mine)

    # Barrier.wait() returns 0 in one thread only: that one sets the deadline, then all go.
    start_together = threading.Barrier(long_clients + short_clients)
    threads = ([threading.Thread(target=client, args=("long", long_n)) for _ in range(long_clients)]
               + [threading.Thread(target=client, args=("short", short_n)) for _ in range(short_clients)])
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    short, long_ = latencies["short"], latencies["long"]
    return {"seconds": elapsed, "long_n": long_n, "long_clients": long_clients,
            "short_clients": short_clients, "long_done": len(long_), "short_done": len(short),
            "long_rps": len(long_) / elapsed, "short_rps": len(short) / elapsed,
            "short_p50": percentile(short, 50), "short_p99": percentile(short, 99),
            "short_max": max(short, default=math.nan),
            "long_p50": percentile(long_, 50), "errors": errors}


# ---------------------------------------------------------------------- the driver

@dataclass(frozen=True)
class Mode:
    """One way to serve: ``label`` names it in tables and plots."""
    label: str
    mode: str                      # inline, pool, prefork, threads
    accept: str = "shared"         # shared or reuseport (prefork, threads)
    python: str | None = None      # None: this interpreter
    gil: bool | None = None        # threads on 3.13t: True sets PYTHON_GIL=1


def modes(freethreaded_python: str | None = None) -> list[Mode]:
    """The lesson's seven ways; the three 3.13t ones only when that interpreter is given."""
    out = [Mode("inline", "inline"), Mode("loop + process pool", "pool"),
           Mode("prefork, shared socket", "prefork", "shared"),
           Mode("prefork, SO_REUSEPORT", "prefork", "reuseport")]
    if freethreaded_python:
        out += [Mode("3.13t loops, SO_REUSEPORT", "threads", "reuseport", freethreaded_python),
                Mode("3.13t loops, shared socket", "threads", "shared", freethreaded_python),
                Mode("3.13t shared, PYTHON_GIL=1", "threads", "shared", freethreaded_python, True)]
    return out


def command(args: Sequence[str], python: str | None = None) -> list[str]:
    code = "import sys; from lessons.fib_service import main; main(sys.argv[1:])"
    return [python or sys.executable, "-c", code, *args]


def child_env(gil: bool | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, env.get("PYTHONPATH")) if p)
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    return env


def _read_line(proc: subprocess.Popen[str], what: str, timeout: float = READY_TIMEOUT) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else ""
    if not line:
        proc.kill()
        _out, err = proc.communicate()
        raise RuntimeError(f"the fib server ({what}) did not answer within {timeout:.0f} s: "
                           f"{err.strip()[-2000:] or 'it printed nothing'}")
    return line


class Server:
    """A fib server in a child process: ``with Server(mode) as s: ... s.port ...``; ``s.stats``
    after the ``with`` (one dict per worker)."""

    def __init__(self, mode: Mode, workers: int = 2) -> None:
        self.mode, self.workers = mode, workers
        self.stats: list[dict[str, Any]] = []
        self.info: dict[str, Any] = {}

    def __enter__(self) -> "Server":
        args = ["serve", self.mode.mode, "--workers", str(self.workers), "--accept", self.mode.accept]
        self.proc = subprocess.Popen(command(args, self.mode.python), env=child_env(self.mode.gil),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.info = json.loads(_read_line(self.proc, self.mode.label))
        self.port: int = self.info["port"]
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()            # the server's signal to stop
        try:
            line = _read_line(self.proc, self.mode.label)
        finally:
            self.proc.wait(timeout=READY_TIMEOUT)
            self.proc.stdout.close()       # type: ignore[union-attr]
            self.proc.stderr.close()       # type: ignore[union-attr]
        if exc[0] is None:
            self.stats = json.loads(line)["workers"]


def measure(mode: Mode, *, workers: int = 2, seconds: float = 2.0, long_n: int = LONG_N,
            long_clients: int | None = None, short_clients: int = 1) -> dict[str, Any]:
    """One mode under load: the load's numbers, the server's, and who served."""
    long_clients = workers if long_clients is None else long_clients
    with Server(mode, workers) as server:
        args = ["load", str(server.port), str(seconds), str(long_n), str(long_clients), str(short_clients)]
        done = subprocess.run(command(args), env=child_env(), capture_output=True, text=True,
                              timeout=seconds * 20 + 120)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed on {mode.label}: {done.stderr.strip()[-2000:]}")
    load = json.loads(done.stdout.strip().splitlines()[-1])
    if load["errors"]:
        raise RuntimeError(f"{mode.label}: " + "; ".join(load["errors"]))
    computes = [t for w in server.stats for t in w["long_compute_s"]]
    return {"label": mode.label, **load, "python": server.info["python"], "gil": server.info["gil"],
            "long_compute_p50": percentile(computes, 50),
            "per_worker_requests": [w["requests"] for w in server.stats]}


def compare(ways: Sequence[Mode], **kwargs: Any) -> list[dict[str, Any]]:
    """``measure`` every way in ``ways``, one after the other, in one run."""
    return [measure(way, **kwargs) for way in ways]


def spread(mode: Mode, *, workers: int = 2, connections: int = 200) -> list[dict[str, Any]]:
    """``connections`` short requests, one at a time; per worker: accepts and empty wake-ups."""
    with Server(mode, workers) as server:
        for _ in range(connections):
            value, _took = request(server.port, SHORT_N)
            assert value == fib(SHORT_N)
    return [{"worker": w["worker"], "pid": w["pid"], "thread": w["thread"], "accepted": w["accepted"],
             "empty_wakeups": w["empty_wakeups"], "sleeps": w["sleeps"]} for w in server.stats]


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as text: throughput and short-request latency per mode."""
    rows = [f"{'mode':28} {'long req/s':>10} {'short req/s':>11} {'short p50':>10} {'short p99':>10} {'fib(long) alone':>15}"]
    for r in results:
        rows.append(f"{r['label']:28} {r['long_rps']:10.1f} {r['short_rps']:11.0f} "
                    f"{r['short_p50'] * 1e3:8.2f}ms {r['short_p99'] * 1e3:8.1f}ms {r['long_compute_p50'] * 1e3:13.0f}ms")
    return "\n".join(rows)


def plot(results: Sequence[dict[str, Any]]) -> Any:
    """Two panels: short-request latency p50/p99 per mode (log scale), long requests per second."""
    import matplotlib.pyplot as plt
    from lessons.plotting import bar_compare, grouped_bars

    labels = [r["label"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    grouped_bars(left, [label.replace(", ", "\n") for label in labels],
                 {"short p50": [r["short_p50"] for r in results],
                  "short p99": [r["short_p99"] for r in results]},
                 "s", log=True, title="short request (fib(1)) latency")
    left.tick_params(axis="x", labelsize=7)
    plt.setp(left.get_xticklabels(), rotation=30, ha="right")   # seven two-line labels: no overlap
    bar_compare(right, labels, [r["long_rps"] for r in results], "req/s",
                title=f"long requests (fib({results[0]['long_n']})) per second")
    right.tick_params(axis="y", labelsize=7)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fib service: a server or a load generator")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("mode", choices=["inline", "pool", "prefork", "threads"])
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--accept", choices=["shared", "reuseport"], default="shared")
    lo = sub.add_parser("load")
    lo.add_argument("port", type=int)
    lo.add_argument("seconds", type=float)
    lo.add_argument("long_n", type=int)
    lo.add_argument("long_clients", type=int)
    lo.add_argument("short_clients", type=int)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        serve(args.mode, args.workers, args.accept)
    else:
        print(json.dumps(run_load(args.port, args.seconds, args.long_n, args.long_clients,
                                  args.short_clients)), flush=True)


if __name__ == "__main__":
    main()
