"""Lesson 03's c10k measurement: N mostly idle connections, two server designs, measured.

The "c10k problem" (Dan Kegel, "The C10K problem", 1999, http://www.kegel.com/c10k.html)
asked how one server can hold ten thousand clients at once. Most of them are idle at any
moment: the question is what an idle connection costs the server, and whether it slows down
the few that are active. This module measures it for two
echo servers, each in a fresh Python process of its own:

- ``"threads"``: blocking sockets, one thread per accepted connection (the default thread
  stack size: ``threading.stack_size()`` 0, so glibc uses ``ulimit -s`` as the size it
  *reserves*; only the pages a thread touches become resident).
- ``"selector"``: one thread, non-blocking sockets, ``selectors.DefaultSelector`` (epoll on
  Linux); each connection costs a socket object, a selector key and a buffer.

A driver process (a third fresh interpreter, so that the notebook's kernel never holds
thousands of descriptors) starts a server, opens N idle connections in batches, checks that
the server serves every one of them (each sends one byte and waits for its echo: for the
thread server that proves its thread is running), then reads the server's memory from
``/proc/<pid>/status`` (``VmRSS``: resident; ``VmSize``: reserved address space; ``Threads``)
and lets a few active clients do echo round trips while the N connections stay open:
throughput (round trips per second over all active clients) and latency (p50, p99).

Limits met on the way, and what this module does about them:

- ``RLIMIT_NOFILE``: every connection is one descriptor in the server and one in the driver.
  Both raise their soft limit to the hard one (``raise_nofile_limit``) and report it; a size
  that does not fit under the hard limit is skipped with the reason in its row.
- The listen backlog: a connection the kernel has completed waits in the accept queue until
  the server calls ``accept``; when that queue is full, the kernel drops the client's SYN and
  the client retries a second later. The servers ``listen(4096)``, which the kernel caps at
  ``net.core.somaxconn`` (reported), and the driver connects in batches smaller than that,
  waiting for each batch to be served before the next.

``run_c10k`` returns plain rows; ``plot_c10k`` draws memory, throughput and latency. Linux
only (``/proc``).
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import probe
from .costs import proc_status_kib  # Threads is a plain count, read the same way
from .readiness import raise_nofile_limit  # the same limit both lessons' children raise

#: The server designs, in the order the lesson plots them.
DESIGNS: tuple[str, ...] = ("threads", "selector")

#: What the servers ask of listen(); the kernel caps it at net.core.somaxconn.
BACKLOG: int = 4096

#: Descriptors a process needs besides the connections (stdio, the listener, the selector,
#: pipes to the server, the interpreter's own): a margin when checking the limit.
SPARE_FDS: int = 64


def somaxconn() -> int | None:
    """``net.core.somaxconn``: the cap the kernel puts on every listen() backlog (None if unknown)."""
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return None


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmSize (KiB) and Threads of a process, from ``/proc/<pid>/status``."""
    return {name: proc_status_kib(name, pid) for name in ("VmRSS", "VmSize", "Threads")}


# ---------------------------------------------------------------------------
# The two servers (each runs as ``main(["serve", design])`` in its own interpreter)
# ---------------------------------------------------------------------------


def _stop_on_stdin_eof() -> None:
    """Exit the process when the driver closes our stdin: the driver's way to stop us.
    ``os._exit`` because thousands of threads blocked in ``recv`` need not be joined."""
    sys.stdin.buffer.read()
    os._exit(0)


def _serve_threads(listener: socket.socket) -> None:
    def handle(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=_stop_on_stdin_eof, daemon=True).start()
    while True:
        conn, _ = listener.accept()
        try:
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
        except RuntimeError as exc:     # "can't start new thread": out of threads or memory
            print(f"thread server: {exc}", file=sys.stderr, flush=True)
            conn.close()


def _serve_selector(listener: socket.socket) -> None:
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    sel.register(sys.stdin.buffer, selectors.EVENT_READ, "stop")
    while True:
        for key, events in sel.select():
            if key.data == "stop":
                os._exit(0)
            if key.fileobj is listener:
                # Accept everything waiting: one wake-up may stand for many connections.
                while True:
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ, bytearray())
                continue
            conn, pending = key.fileobj, key.data
            assert isinstance(conn, socket.socket)
            if events & selectors.EVENT_READ:
                try:
                    data = conn.recv(65536)
                except BlockingIOError:
                    data = None
                except ConnectionError:
                    data = b""
                if data == b"":
                    sel.unregister(conn)
                    conn.close()
                    continue
                if data:
                    pending += data
            if pending:
                try:
                    del pending[:conn.send(pending)]
                except BlockingIOError:
                    pass
            # Watch for writability only while a reply is left over (a full send buffer).
            wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending else 0)
            if wanted != key.events:
                sel.modify(conn, wanted, pending)


def _serve(design: str) -> None:
    limit = raise_nofile_limit()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(BACKLOG)
    print(json.dumps({"port": listener.getsockname()[1], "rlimit_nofile": limit,
                      "stack_size": threading.stack_size()}), flush=True)
    (_serve_threads if design == "threads" else _serve_selector)(listener)


# ---------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------


class _ServerProcess:
    """A server in a fresh interpreter; ``close()`` stops it (stdin EOF) and waits for it."""

    def __init__(self, design: str) -> None:
        self.stderr = ""
        self.proc = subprocess.Popen(probe.command("c10k", ["serve", design]), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=probe.child_env())
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError(f"the {design} server did not start:\n{self.stderr}")
        self.info = json.loads(line)
        self.address = ("127.0.0.1", int(self.info["port"]))

    def close(self) -> None:
        if self.proc.returncode is None:
            try:
                _, err = self.proc.communicate(timeout=30)   # closes stdin: the server exits
            except subprocess.TimeoutExpired:
                self.proc.kill()
                _, err = self.proc.communicate()
            self.stderr = err.decode(errors="replace")


def _wait_echo(sel: selectors.BaseSelector, socks: Sequence[socket.socket], size: int,
               timeout: float) -> None:
    """Wait until every socket in ``socks`` (already sent ``size`` bytes) got ``size`` back."""
    missing = {s.fileno(): size for s in socks}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    try:
        deadline = time.monotonic() + timeout
        while missing:
            ready = sel.select(timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"{len(missing)} of {len(socks)} connections got no echo "
                                   f"within {timeout:g} s")
            for key, _ in ready:
                s = key.fileobj
                assert isinstance(s, socket.socket)
                data = s.recv(65536)
                if not data:
                    raise ConnectionError("the server closed a connection")
                missing[s.fileno()] -= len(data)
                if missing[s.fileno()] <= 0:
                    del missing[s.fileno()]
                    sel.unregister(s)
    finally:
        for s in socks:
            if s.fileno() in missing:
                sel.unregister(s)


def _open_idle(address: tuple[str, int], n: int, batch: int, timeout: float) -> list[socket.socket]:
    socks: list[socket.socket] = []
    with selectors.DefaultSelector() as sel:
        try:
            while len(socks) < n:
                # A batch smaller than the accept queue: connect() completes in the kernel
                # whether or not the server has called accept() yet, as long as the queue has room.
                group = [socket.create_connection(address, timeout=timeout)
                         for _ in range(min(batch, n - len(socks)))]
                socks += group
                for s in group:
                    s.sendall(b"i")
                    s.setblocking(False)
                _wait_echo(sel, group, 1, timeout)       # every one of them is being served
        except BaseException:
            for s in socks:
                s.close()
            raise
    return socks


def _active_phase(address: tuple[str, int], active: int, round_trips: int, size: int,
                  timeout: float) -> dict[str, Any]:
    """``active`` clients, each with one request in flight, ``round_trips`` echoes each."""
    socks = [socket.create_connection(address, timeout=timeout) for _ in range(active)]
    latencies: list[float] = []
    payload = b"a" * size
    try:
        for s in socks:
            s.setblocking(False)
        with selectors.DefaultSelector() as sel:
            state: dict[int, list[Any]] = {}
            for s in socks:
                sel.register(s, selectors.EVENT_READ)
            warmup = min(20, round_trips)
            t_start = None
            for phase, count in (("warmup", warmup), ("measured", round_trips)):
                left = {s.fileno(): count for s in socks}
                for s in socks:
                    state[s.fileno()] = [0, time.perf_counter()]
                    s.send(payload)
                if phase == "measured":
                    t_start = time.perf_counter()
                while left:
                    ready = sel.select(timeout=timeout)
                    if not ready:
                        raise TimeoutError(f"an active client got no echo within {timeout:g} s")
                    for key, _ in ready:
                        s = key.fileobj
                        assert isinstance(s, socket.socket)
                        fd = s.fileno()
                        data = s.recv(65536)
                        if not data:
                            raise ConnectionError("the server closed an active connection")
                        st = state[fd]
                        st[0] += len(data)
                        if st[0] < size:
                            continue
                        now = time.perf_counter()
                        if phase == "measured":
                            latencies.append(now - st[1])
                        left[fd] -= 1
                        if left[fd] == 0:
                            del left[fd]
                            continue
                        st[0], st[1] = 0, now
                        s.send(payload)      # 64 bytes into an empty send buffer: all of it
            wall = time.perf_counter() - (t_start or 0.0)
    finally:
        for s in socks:
            s.close()
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    return {"round_trips": len(latencies), "throughput_rps": len(latencies) / wall,
            "p50_s": pct(0.50), "p99_s": pct(0.99), "active_s": wall}


def _measure_one(design: str, n: int, active: int, round_trips: int, repeats: int, batch: int,
                 limit: dict[str, Any], timeout: float) -> dict[str, Any]:
    row: dict[str, Any] = {"design": design, "n": n, "active": active, "skipped": None,
                           "rlimit_nofile_driver": limit["soft"],
                           "rlimit_nofile_driver_before": limit["soft_before"], "somaxconn": somaxconn()}
    need = n + active + SPARE_FDS
    if limit["soft"] is not None and need > limit["soft"]:
        row["skipped"] = (f"{n} connections need about {need} descriptors in the driver; its "
                          f"RLIMIT_NOFILE hard limit is {limit['hard']} (raise it with ulimit -Hn "
                          f"as root, or in /etc/security/limits.conf)")
        return row
    server = _ServerProcess(design)
    idle: list[socket.socket] = []
    try:
        row["rlimit_nofile_server"] = server.info["rlimit_nofile"]["soft"]
        row["stack_size"] = server.info["stack_size"]
        server_soft = server.info["rlimit_nofile"]["soft"]
        if server_soft is not None and need > server_soft:
            row["skipped"] = (f"{n} connections need about {need} descriptors in the server; its "
                              f"RLIMIT_NOFILE hard limit is {server.info['rlimit_nofile']['hard']}")
            return row
        before = proc_status(server.proc.pid)
        t0 = time.perf_counter()
        try:
            idle = _open_idle(server.address, n, batch, timeout)
        except (OSError, TimeoutError) as exc:
            row["skipped"] = f"could not open {n} served connections: {type(exc).__name__}: {exc}"
            return row
        row["connect_s"] = time.perf_counter() - t0
        after = proc_status(server.proc.pid)
        row.update({"rss_kib": after["VmRSS"], "vmsize_kib": after["VmSize"],
                    "threads": after["Threads"], "rss_kib_before": before["VmRSS"],
                    "vmsize_kib_before": before["VmSize"],
                    "rss_per_conn_kib": (after["VmRSS"] - before["VmRSS"]) / n,
                    "vmsize_per_conn_kib": (after["VmSize"] - before["VmSize"]) / n})
        # The active phase is short, so one busy moment elsewhere on the machine can halve its
        # throughput: run it ``repeats`` times and keep the run with the median throughput.
        runs = sorted((_active_phase(server.address, active, round_trips, 64, timeout)
                       for _ in range(max(1, repeats))), key=lambda run: run["throughput_rps"])
        row.update(runs[len(runs) // 2])
        row["throughput_rps_all"] = [run["throughput_rps"] for run in runs]
    finally:
        # Stop the server first, then close our ends: a process exiting with its threads
        # blocked in recv() is torn down by the kernel at once, where 10,000 threads woken by
        # EOF, each exiting and unmapping its stack on its own, take tens of seconds.
        server.close()
        for s in idle:
            s.close()
        if server.stderr.strip():
            row["server_stderr"] = server.stderr.strip()[-500:]
    return row


def _drive(sizes: Sequence[int], designs: Sequence[str], active: int, round_trips: int,
           repeats: int, batch: int, timeout: float) -> list[dict[str, Any]]:
    limit = raise_nofile_limit()
    batch = min(batch, somaxconn() or 128)
    return [_measure_one(d, n, active, round_trips, repeats, batch, limit, timeout)
            for n in sizes for d in designs]


def run_c10k(sizes: Sequence[int] = (100, 1000, 5000, 10000), designs: Sequence[str] = DESIGNS,
             active: int = 4, round_trips: int = 1000, repeats: int = 3, batch: int = 1000,
             timeout: float = 30.0) -> list[dict[str, Any]]:
    """Measure each server design holding each number of idle connections; see the module
    docstring for the method. Runs in a driver process; each (size, design) gets a fresh server.

    Returns one dict per (n, design), sizes outer, designs inner, with: ``design``, ``n``,
    ``active``, ``skipped`` (None, or why this size could not be measured here),
    ``rss_kib``/``vmsize_kib``/``threads`` (the server with n idle connections open),
    ``rss_kib_before``/``vmsize_kib_before`` (the server just started),
    ``rss_per_conn_kib``/``vmsize_per_conn_kib``, ``connect_s`` (time to open and serve the
    n), ``throughput_rps``, ``p50_s``, ``p99_s``, ``round_trips`` (measured: ``active`` x
    ``round_trips``, each client with one 64-byte request in flight; the active phase runs
    ``repeats`` times and the run with the median throughput is reported, all throughputs
    in ``throughput_rps_all``), and the limits met
    (``rlimit_nofile_driver`` and ``rlimit_nofile_server``: soft limits after raising them to
    the hard limit, ``rlimit_nofile_driver_before``: the driver's soft limit before,
    ``somaxconn``, ``stack_size``: the server's ``threading.stack_size()``, 0 = default).

    ``timeout`` bounds each wait for an echo: a safety net that turns a hang into an error
    message in the row, not a measurement bound.
    """
    for d in designs:
        if d not in DESIGNS:
            raise ValueError(f"design must be one of {', '.join(DESIGNS)}, not {d!r}")
    args = ["drive", "--sizes", *map(str, sizes), "--designs", *designs, "--active", str(active),
            "--round-trips", str(round_trips), "--repeats", str(repeats), "--batch", str(batch),
            "--timeout", str(timeout)]
    return probe.run_json("c10k", args, timeout=timeout * 4 + 60 * len(sizes) * len(designs))


def plot_c10k(rows: Sequence[dict[str, Any]]) -> Any:
    """Three panels against the number of idle connections (log x): server resident memory,
    throughput of the active clients, and their p50 (solid) and p99 (dashed) latency (log y).
    Skipped rows are left out. Returns the figure."""
    import matplotlib.pyplot as plt

    from .plotting import PALETTE

    fig, (mem, thr, lat) = plt.subplots(1, 3, figsize=(10.5, 3.5))
    designs = [d for d in DESIGNS if any(r["design"] == d for r in rows)]
    for colour, design in zip(PALETTE, designs):
        done = sorted((r for r in rows if r["design"] == design and not r["skipped"]),
                      key=lambda r: r["n"])
        n = [r["n"] for r in done]
        mem.plot(n, [r["rss_kib"] / 1024 for r in done], "o-", color=colour, label=design)
        thr.plot(n, [r["throughput_rps"] for r in done], "o-", color=colour, label=design)
        lat.plot(n, [r["p50_s"] * 1e6 for r in done], "o-", color=colour, label=f"{design} p50")
        lat.plot(n, [r["p99_s"] * 1e6 for r in done], "s--", color=colour, label=f"{design} p99")
    for ax, title, unit in ((mem, "Server memory (VmRSS)", "MiB"),
                            (thr, "Throughput, active clients", "round trips / s"),
                            (lat, "Latency, active clients", "µs")):
        ax.set_xscale("log")
        ax.set_xlabel("idle connections")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.legend()
    mem.set_ylim(bottom=0)
    thr.set_ylim(bottom=0)
    lat.set_yscale("log")     # p99 can be tens of times p50: a linear axis hides p50
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    """``serve DESIGN`` (a server: prints its port as JSON, stops at stdin EOF) or ``drive ...``
    (prints the rows as one JSON line)."""
    import argparse

    parser = argparse.ArgumentParser(prog="lessons.c10k", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("serve")
    s.add_argument("design", choices=DESIGNS)
    d = sub.add_parser("drive")
    d.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000, 10000])
    d.add_argument("--designs", nargs="+", default=list(DESIGNS))
    d.add_argument("--active", type=int, default=4)
    d.add_argument("--round-trips", type=int, default=1000)
    d.add_argument("--repeats", type=int, default=3)
    d.add_argument("--batch", type=int, default=1000)
    d.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.what == "serve":
        _serve(args.design)
        return
    print(json.dumps(_drive(args.sizes, args.designs, args.active, args.round_trips, args.repeats,
                            args.batch, args.timeout)))


if __name__ == "__main__":
    main()
