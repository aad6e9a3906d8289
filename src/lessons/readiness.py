"""Lesson 03's readiness measurements: what select, poll and epoll cost, and what they report.

Read this beside lesson 03. Each function answers one question of the lesson with evidence
from this machine, as plain data (dicts and lists of numbers and strings) that the notebook
prints and checks by shape:

- ``selector_costs``: how long one ``select``/``poll``/``epoll`` call takes with N idle
  descriptors watched and one ready, and what registering the N descriptors costs.
  ``plot_selector_costs`` draws it (log-log).
- ``level_triggered_demo``: level-triggered readiness reports a socket again and again while
  data is left; edge-triggered (``EPOLLET``) reports it once per arrival, so a reader that
  does not drain to ``BlockingIOError`` leaves data behind and is never told again.
- ``file_always_ready``: a regular file is always "ready" for select and poll, and epoll
  refuses it (``EPERM``): readiness is a property of sockets, pipes and terminals.
- ``connect_in_progress``: a non-blocking ``connect`` raises ``BlockingIOError``
  (``EINPROGRESS``); the outcome arrives later as *writability*, and ``SO_ERROR`` says
  whether it was a success (0) or a refusal (``ECONNREFUSED``).
- ``busy_vs_select_cpu``: waiting by retrying ``recv`` on ``BlockingIOError`` burns a whole
  CPU; waiting in a selector uses almost none.
- ``syscall_counts``: the system calls three echo-server designs make for the same work,
  counted by ``strace -f -c``.

Why a fresh interpreter (``lessons.probe``) for the timed ones? ``selector_costs`` raises its
process's open-file limit and opens thousands of descriptors, ``busy_vs_select_cpu`` measures
CPU time: neither belongs in the notebook's kernel. The small demos (``level_triggered_demo``,
``file_always_ready``, ``connect_in_progress``) open a handful of descriptors, close them all,
and run in the caller's process.

Linux is the reference platform: epoll and ``strace`` are Linux's. Elsewhere the epoll rows
say "not possible" with the reason, and ``syscall_counts`` returns ``None`` with a reason.
"""

from __future__ import annotations

import errno
import json
import os
import re
import select
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from . import probe

#: The kinds of readiness call ``selector_costs`` knows, in the order the lesson plots them.
KINDS: tuple[str, ...] = ("select", "poll", "epoll")

#: ``select()`` takes ``fd_set`` bitmaps of a fixed size: glibc's ``FD_SETSIZE`` is 1024, and
#: CPython refuses larger descriptors (``seq2set`` in Modules/selectmodule.c, v3.14.0, raises
#: ``ValueError("filedescriptor out of range in select()")``).
FD_SETSIZE: int = 1024

#: The server designs ``syscall_counts`` knows.
DESIGNS: tuple[str, ...] = ("threads", "selector", "busy")


# ---------------------------------------------------------------------------
# Open-file limit
# ---------------------------------------------------------------------------


def raise_nofile_limit() -> dict[str, Any]:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; say what was done.

    Returns {"soft_before", "soft", "hard"} (None means unlimited). Only the soft limit is
    raised: an unprivileged process may raise it up to the hard limit, not beyond.
    """
    import resource  # POSIX only

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard

    def show(v: int) -> int | None:
        return None if v == resource.RLIM_INFINITY else v

    return {"soft_before": show(before), "soft": show(soft), "hard": show(hard)}


# ---------------------------------------------------------------------------
# 1. The cost of one readiness call, against the number of descriptors watched
# ---------------------------------------------------------------------------


def _per_call(call: Callable[[], object], repeat: int, target_s: float = 0.01) -> float:
    """Median seconds per ``call()`` over ``repeat`` batches, each batch sized to take about
    ``target_s`` (one call of a few microseconds is below the clock's useful resolution)."""
    batch = 1
    while True:                       # double the batch until it takes long enough to time
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        took = time.perf_counter() - t0
        if took >= target_s / 4 or batch >= 1 << 20:
            break
        batch *= 2
    batch = max(1, int(batch * target_s / max(took, 1e-9)))
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(batch):
            call()
        samples.append((time.perf_counter() - t0) / batch)
    return statistics.median(samples)


def _measure_selector_costs(sizes: Sequence[int], kinds: Sequence[str], repeat: int) -> dict[str, Any]:
    limit = raise_nofile_limit()
    # One pipe that never gets data, and one that always has a byte waiting. The N - 1 idle
    # descriptors are dup()s of the idle pipe's read end: each dup is a separate descriptor
    # that select, poll and epoll check one by one (epoll keys its registrations on the
    # (descriptor, file) pair, so dups register fine), and N dups cost N descriptors where N
    # pipes would cost 2N.
    idle_r, idle_w = os.pipe()
    ready_r, ready_w = os.pipe()
    os.write(ready_w, b"x")
    rows: list[dict[str, Any]] = []
    try:
        for n in sizes:
            opened: list[int] = []
            try:
                try:
                    opened = [os.dup(idle_r) for _ in range(n - 1)]
                    # The ready descriptor is the highest-numbered one: select must scan every
                    # bit below it; poll and epoll do not care where it is.
                    opened.append(os.dup(ready_r))
                except OSError as exc:
                    for kind in kinds:
                        rows.append({"kind": kind, "n": n, "seconds": None, "register_seconds": None,
                                     "possible": False, "max_fd": None,
                                     "reason": f"cannot open {n} descriptors: {exc}"})
                    continue
                for kind in kinds:
                    rows.append(_one_kind(kind, n, opened, opened[-1], max(opened), repeat))
            finally:
                for fd in opened:
                    os.close(fd)
    finally:
        for fd in (idle_r, idle_w, ready_r, ready_w):
            os.close(fd)
    return {"rlimit_nofile": limit, "fd_setsize": FD_SETSIZE, "rows": rows}


def _one_kind(kind: str, n: int, watched: list[int], ready: int, top: int,
              repeat: int) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": kind, "n": n, "seconds": None, "register_seconds": None,
                           "possible": True, "max_fd": top, "reason": ""}
    if kind == "select":
        if top >= FD_SETSIZE:
            try:
                select.select(watched, [], [], 0)
                reason = "select() accepted it (this platform has a larger FD_SETSIZE)"
            except ValueError as exc:
                row.update(possible=False, reason=(
                    f"descriptor {top} >= FD_SETSIZE ({FD_SETSIZE}): select.select raised "
                    f"ValueError({str(exc)!r})"))
                return row
            row["reason"] = reason
        # Nothing to register: the whole list is turned into fd_set bitmaps and copied into the
        # kernel on every call, and the kernel scans every bit up to the highest descriptor.
        got = select.select(watched, [], [], 0)[0]
        assert got == [ready], got
        row["register_seconds"] = 0.0
        row["seconds"] = _per_call(lambda: select.select(watched, [], [], 0), repeat)
    elif kind == "poll":
        p = select.poll()
        t0 = time.perf_counter()
        for fd in watched:
            p.register(fd, select.POLLIN)
        # poll.register only fills a dict and marks the pollfd array stale (ufd_uptodate = 0;
        # poll() rebuilds it once, update_ufd_array in Modules/selectmodule.c, v3.14.0). The
        # array is still copied into the kernel and checked entry by entry on every call.
        row["register_seconds"] = time.perf_counter() - t0
        assert [fd for fd, _ in p.poll(0)] == [ready]
        row["seconds"] = _per_call(lambda: p.poll(0), repeat)
    elif kind == "epoll":
        if not hasattr(select, "epoll"):
            row.update(possible=False, reason=f"select.epoll does not exist on {sys.platform}")
            return row
        ep = select.epoll()
        try:
            t0 = time.perf_counter()
            for fd in watched:
                ep.register(fd, select.EPOLLIN)   # one epoll_ctl(EPOLL_CTL_ADD) system call each
            row["register_seconds"] = time.perf_counter() - t0
            assert [fd for fd, _ in ep.poll(0)] == [ready]
            # The kernel keeps a ready list: epoll_wait returns it without looking at the idle
            # registrations (fs/eventpoll.c, ep_poll -> ep_send_events).
            row["seconds"] = _per_call(lambda: ep.poll(0), repeat)
        finally:
            ep.close()
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return row


def selector_costs(sizes: Sequence[int] = (10, 1000, 10000), kinds: Sequence[str] = KINDS,
                   repeat: int = 5, timeout: float = 120.0) -> dict[str, Any]:
    """Time one readiness call with ``n`` descriptors watched, one of them ready, in a fresh
    interpreter.

    For each n in ``sizes`` and each kind: ``select.select(fds, [], [], 0)``,
    ``select.poll().poll(0)`` or ``select.epoll().poll(0)`` with n pipe descriptors watched,
    n - 1 idle and one with a byte waiting (the highest-numbered, so select scans them all).

    Returns {"rlimit_nofile": what ``raise_nofile_limit`` did in the child,
    "fd_setsize": 1024, "rows": [row, ...]}, a row being a dict with ``kind``, ``n``,
    ``seconds`` (median time of one call), ``register_seconds`` (registering the n
    descriptors once: 0 for select, which is handed the whole set on every call),
    ``possible``, ``max_fd`` and ``reason``. A select row with a descriptor >= FD_SETSIZE is
    ``possible=False``, ``seconds=None`` with the ``ValueError`` select raised as reason.

    Expected shape: select and poll grow about linearly with n, epoll stays about flat.
    """
    args = ["costs", "--sizes", *map(str, sizes), "--kinds", *kinds, "--repeat", str(repeat)]
    return probe.run_json("readiness", args, timeout=timeout)


def plot_selector_costs(result: dict[str, Any], ax: Any = None) -> Any:
    """Log-log plot of ``selector_costs``'s result: time per call against n, one line per kind;
    a kind that was not possible at some n ends there, with a cross and a note. Returns the axes."""
    import matplotlib.pyplot as plt

    from .plotting import PALETTE, format_quantity

    rows = result["rows"] if isinstance(result, dict) else result
    if ax is None:
        _, ax = plt.subplots()
    kinds = [k for k in KINDS if any(r["kind"] == k for r in rows)]
    for colour, kind in zip(PALETTE, kinds):
        mine = [r for r in rows if r["kind"] == kind]
        done = [r for r in mine if r["possible"] and r["seconds"]]
        ax.plot([r["n"] for r in done], [r["seconds"] for r in done], "o-", color=colour, label=kind)
        for r in done[-1:]:
            ax.annotate(format_quantity(r["seconds"], "s"), (r["n"], r["seconds"]),
                        textcoords="offset points", xytext=(4, 4), fontsize=8, color=colour)
        for r in mine:
            if not r["possible"] and done:
                y = done[-1]["seconds"]
                ax.plot([r["n"]], [y], "x", color=colour, markersize=9)
                ax.annotate(f"{kind}: not possible\n(fd >= FD_SETSIZE)" if r["max_fd"] else
                            f"{kind}: not possible", (r["n"], y), textcoords="offset points",
                            xytext=(-10, -24), fontsize=8, color=colour, ha="right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("descriptors watched (one ready)")
    ax.set_ylabel("time per call (s)")
    ax.set_title("One readiness call, against the number of descriptors watched")
    ax.legend()
    return ax


# ---------------------------------------------------------------------------
# 2. Level- against edge-triggered readiness
# ---------------------------------------------------------------------------


def level_triggered_demo(total: int = 10_000, per_read: int = 100) -> dict[str, Any]:
    """Send ``total`` bytes at once into a socket pair; read ``per_read`` bytes per wake-up.

    - "level": a ``selectors.DefaultSelector`` (level-triggered, as every selector in the
      ``selectors`` module is: ``EpollSelector`` registers plain ``EPOLLIN``/``EPOLLOUT``,
      never ``EPOLLET``; Lib/selectors.py, v3.14.0): it reports the socket ready while any
      byte is left, so it wakes about total / per_read times and everything is read.
    - "edge": ``select.epoll`` with ``EPOLLIN | EPOLLET``, one ``recv(per_read)`` per wake-up:
      one wake-up only, and ``total - per_read`` bytes left behind that no later call reports
      (until more data arrives).
    - "edge_drained": the same, but each wake-up reads until ``BlockingIOError``: one wake-up,
      nothing left.

    Returns {mode: {"wakeups", "bytes_read", "left_behind", "recv_calls"}} ("edge" modes are
    None with a reason where epoll is missing). Every poll uses timeout 0, so the demo never
    waits: the data is in the receive queue before the first poll.
    """
    if per_read <= 0 or total <= 0:
        raise ValueError("total and per_read must be > 0")
    out: dict[str, Any] = {"total": total, "per_read": per_read}
    modes: list[str] = ["level"] + (["edge", "edge_drained"] if hasattr(select, "EPOLLET") else [])
    for mode in modes:
        a, b = socket.socketpair()
        try:
            # Make room for all of it at once, so that the whole total is queued before we poll.
            b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(4 * total, 65536))
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, max(4 * total, 65536))
            a.sendall(b"x" * total)
            b.setblocking(False)
            wakeups = bytes_read = recv_calls = 0
            if mode == "level":
                with selectors.DefaultSelector() as sel:
                    sel.register(b, selectors.EVENT_READ)
                    while sel.select(timeout=0):
                        wakeups += 1
                        recv_calls += 1
                        bytes_read += len(b.recv(per_read))
            else:
                ep = select.epoll()
                try:
                    ep.register(b.fileno(), select.EPOLLIN | select.EPOLLET)
                    while ep.poll(0):
                        wakeups += 1
                        while True:
                            recv_calls += 1
                            try:
                                chunk = b.recv(per_read)
                            except BlockingIOError:
                                break
                            bytes_read += len(chunk)
                            if mode == "edge" or not chunk:
                                break
                finally:
                    ep.close()
            out[mode] = {"wakeups": wakeups, "bytes_read": bytes_read,
                         "left_behind": total - bytes_read, "recv_calls": recv_calls}
        finally:
            a.close()
            b.close()
    for mode in ("edge", "edge_drained"):
        out.setdefault(mode, None)
    if out["edge"] is None:
        out["reason"] = f"select.epoll does not exist on {sys.platform}"
    return out


# ---------------------------------------------------------------------------
# 3. A regular file is always ready
# ---------------------------------------------------------------------------


def file_always_ready() -> dict[str, Any]:
    """Register a regular file (on disk, empty and at EOF) with select, poll and epoll.

    Returns {"select_readable", "select_writable" (bools), "poll_events" (names of the bits
    poll reported), "read_returns" (what ``read`` gave: b"" at EOF, shown as a string),
    "epoll": "registered" or the error (``PermissionError`` EPERM on Linux: epoll_ctl refuses
    files that have no poll method, fs/eventpoll.c ``do_epoll_ctl``)}. select and poll report
    it ready at once: a disk read never "waits for data" the way a socket does; it blocks in
    the read itself. That is why asyncio reads files in a thread: its sendfile fallback calls
    ``await self.run_in_executor(None, file.readinto, view)``
    (``BaseEventLoop._sock_sendfile_fallback``, Lib/asyncio/base_events.py, v3.14.0).
    """
    out: dict[str, Any] = {}
    with tempfile.TemporaryFile() as f:
        fd = f.fileno()
        r, w, _ = select.select([fd], [fd], [], 0)
        out["select_readable"], out["select_writable"] = r == [fd], w == [fd]
        p = select.poll()
        p.register(fd, select.POLLIN | select.POLLOUT)
        bits = dict(p.poll(0)).get(fd, 0)
        out["poll_events"] = [name for name in ("POLLIN", "POLLOUT", "POLLERR", "POLLHUP")
                              if bits & getattr(select, name)]
        out["read_returns"] = repr(os.read(fd, 100))
        if hasattr(select, "epoll"):
            ep = select.epoll()
            try:
                ep.register(fd, select.EPOLLIN)
                out["epoll"] = "registered"
            except OSError as exc:
                name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
                out["epoll"] = f"{type(exc).__name__}: [Errno {exc.errno}] {name}"
                out["epoll_errno"] = name
            finally:
                ep.close()
        else:
            out["epoll"] = f"select.epoll does not exist on {sys.platform}"
    return out


# ---------------------------------------------------------------------------
# 4. A non-blocking connect
# ---------------------------------------------------------------------------


def _connect_once(address: tuple[str, int]) -> dict[str, Any]:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setblocking(False)
        try:
            s.connect(address)
            raised = "nothing (connected at once)"
            err_no: int | None = 0
        except OSError as exc:   # BlockingIOError is the expected one; anything else is news
            raised = type(exc).__name__
            err_no = exc.errno
        with selectors.DefaultSelector() as sel:
            sel.register(s, selectors.EVENT_WRITE)
            # A generous safety time-out: on loopback the answer (SYN-ACK or RST) is immediate.
            events = sel.select(timeout=10)
        so_error = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        return {"raised": raised,
                "errno": errno.errorcode.get(err_no, str(err_no)) if err_no else None,
                "writable": bool(events), "so_error": so_error,
                "so_error_name": errno.errorcode.get(so_error, "0") if so_error else "0",
                "meaning": os.strerror(so_error) if so_error else "connected"}
    finally:
        s.close()


def connect_in_progress() -> dict[str, Any]:
    """Connect a non-blocking socket to a listening 127.0.0.1 port, and to one nobody listens on.

    Returns {"listening": evidence, "closed": evidence}, evidence being {"raised" (the
    exception ``connect`` raised, normally "BlockingIOError"), "errno" ("EINPROGRESS"),
    "writable" (the selector reported it writable), "so_error" (0, or ECONNREFUSED's number),
    "so_error_name", "meaning"}. The "closed" port is one a socket holds bound but not
    listening, so that no other program can take it meanwhile: the kernel answers a SYN to it
    with a reset.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        holder.bind(("127.0.0.1", 0))      # bound, never listening: connecting is refused
        return {"listening": _connect_once(listener.getsockname()),
                "closed": _connect_once(holder.getsockname())}
    finally:
        listener.close()
        holder.close()


# ---------------------------------------------------------------------------
# 5. Busy waiting against waiting in a selector
# ---------------------------------------------------------------------------


def _measure_busy_vs_select(delay: float) -> dict[str, Any]:
    out: dict[str, Any] = {"delay_s": delay}
    for mode in ("busy", "selector"):
        client, server = socket.socketpair()
        go = threading.Event()

        def answer() -> None:
            # The server answers after ``delay``: a fixed pause in the *server* is the
            # experiment's "slow peer"; the client's waiting is what is measured.
            go.wait(5)
            time.sleep(delay)
            server.sendall(b"reply")

        helper = threading.Thread(target=answer)
        helper.start()
        try:
            client.setblocking(False)
            calls = 0
            wall0, cpu0 = time.perf_counter(), time.thread_time()   # this thread's CPU only
            go.set()
            if mode == "busy":
                while True:
                    calls += 1
                    try:
                        data = client.recv(100)
                        break
                    except BlockingIOError:
                        continue
            else:
                with selectors.DefaultSelector() as sel:
                    sel.register(client, selectors.EVENT_READ)
                    while True:
                        calls += 1
                        if sel.select(timeout=10):
                            data = client.recv(100)
                            break
            wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        finally:
            helper.join()
            client.close()
            server.close()
        out[mode] = {"wall_s": wall, "cpu_s": cpu, "cpu_per_wall": cpu / wall if wall else None,
                     ("recv_calls" if mode == "busy" else "select_calls"): calls,
                     "got": data.decode()}
    return out


def busy_vs_select_cpu(delay: float = 0.2, timeout: float = 60.0) -> dict[str, Any]:
    """Wait ``delay`` seconds for a reply two ways, in a fresh interpreter, and compare the CPU
    time the waiting thread used.

    - "busy": a non-blocking ``recv`` retried at once on every ``BlockingIOError``.
    - "selector": ``selectors.DefaultSelector().select()`` until the socket is readable.

    The server is a thread of the same child that answers after ``delay``; the client's CPU
    time is ``time.thread_time()`` (its own thread only). Returns {"delay_s", "busy": {"wall_s",
    "cpu_s", "cpu_per_wall", "recv_calls", "got"}, "selector": {..., "select_calls"}}.
    Expected: cpu_per_wall near 1 for busy (less if the machine is busy: it competes for a
    CPU), near 0 for the selector, and many thousands of failed recv calls.
    """
    return probe.run_json("readiness", ["busy", "--delay", str(delay)], timeout=timeout)


# ---------------------------------------------------------------------------
# 6. System calls per server design
# ---------------------------------------------------------------------------
#
# Three echo servers, each serving exactly ``clients`` connections and then exiting. They run
# in a child process under ``strace -f -c``; the client work runs in the caller.


def _serve_threads(listener: socket.socket, clients: int) -> None:
    def handle(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    workers = []
    for _ in range(clients):
        conn, _ = listener.accept()
        t = threading.Thread(target=handle, args=(conn,))
        t.start()
        workers.append(t)
    for t in workers:
        t.join()


def _send_small(conn: socket.socket, data: bytes) -> None:
    """Send a short reply on a non-blocking socket. An echo of 64 bytes fits in the empty send
    buffer, so the first ``send`` takes it all; the loop is there for correctness only. (Not
    ``setblocking(True)`` + ``sendall``: each ``setblocking`` is an ``ioctl`` call, which would
    show up in the counts.)"""
    view = memoryview(data)
    while view:
        try:
            view = view[conn.send(view):]
        except BlockingIOError:
            select.select([], [conn], [], 10)


def _serve_selector(listener: socket.socket, clients: int) -> None:
    listener.setblocking(False)
    accepted = closed = 0
    with selectors.DefaultSelector() as sel:
        sel.register(listener, selectors.EVENT_READ)
        while closed < clients:
            for key, _ in sel.select():
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    conn.setblocking(False)
                    sel.register(conn, selectors.EVENT_READ)
                    accepted += 1
                    if accepted == clients:
                        sel.unregister(listener)
                    continue
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                data = conn.recv(65536)
                if data:
                    _send_small(conn, data)
                else:
                    sel.unregister(conn)
                    conn.close()
                    closed += 1


def _serve_busy(listener: socket.socket, clients: int) -> None:
    listener.setblocking(False)
    conns: list[socket.socket] = []
    accepted = closed = 0
    while closed < clients:
        if accepted < clients:
            try:
                conn, _ = listener.accept()
                conn.setblocking(False)
                conns.append(conn)
                accepted += 1
            except BlockingIOError:
                pass
        for conn in list(conns):
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue                # nothing yet: try the next one, and again and again
            if data:
                _send_small(conn, data)
            else:
                conns.remove(conn)
                conn.close()
                closed += 1


SERVERS: dict[str, Callable[[socket.socket, int], None]] = {
    "threads": _serve_threads, "selector": _serve_selector, "busy": _serve_busy}


def _serve(design: str, clients: int) -> None:
    """Child side: listen, print the port, serve ``clients`` connections, exit."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    print(listener.getsockname()[1], flush=True)
    if clients:
        SERVERS[design](listener, clients)
    listener.close()


def _drive(port: int, clients: int, messages: int, think_s: float, size: int = 64) -> None:
    """Caller side: ``clients`` connections, then ``messages`` rounds of one echo per client,
    pausing ``think_s`` after each round (a client that has nothing to say for a while)."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(clients)]
    try:
        payload = b"m" * size
        for _ in range(messages):
            for s in socks:
                s.sendall(payload)
                got = b""
                while len(got) < size:
                    chunk = s.recv(size - len(got))
                    if not chunk:
                        raise ConnectionError("the server closed the connection early")
                    got += chunk
            if think_s:
                time.sleep(think_s)   # idle time in the work itself, not synchronisation
    finally:
        for s in socks:
            s.close()


def _parse_strace_summary(text: str) -> dict[str, dict[str, int]]:
    """{syscall: {"calls", "errors"}} from the table ``strace -c`` writes."""
    table: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        parts = line.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(parts) >= 5 and re.fullmatch(r"[\d.]+", parts[0]) and parts[-1] != "total":
            numbers = parts[3:-1]
            table[parts[-1]] = {"calls": int(numbers[0]),
                                "errors": int(numbers[1]) if len(numbers) > 1 else 0}
    return table


def _strace_run(design: str, clients: int, messages: int, think_s: float,
                timeout: float) -> dict[str, dict[str, int]]:
    strace = shutil.which("strace")
    assert strace is not None
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "strace.txt")
        cmd = [strace, "-f", "-c", "-o", out_file,
               *probe.command("readiness", ["serve", design, "--clients", str(clients)])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=probe.child_env())
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line.strip():
                raise RuntimeError(f"the {design} server did not start:\n{proc.communicate()[1]}")
            if clients:
                _drive(int(line), clients, messages, think_s)
            _, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"the {design} server failed (exit status {proc.returncode}):\n{err}")
        with open(out_file) as f:
            return _parse_strace_summary(f.read())


def syscall_counts(design: str, clients: int = 4, messages: int = 50, think_s: float = 0.002,
                   top: int = 8, timeout: float = 60.0) -> dict[str, Any] | None:
    """Count the system calls an echo server makes for ``clients`` connections times
    ``messages`` echoes of 64 bytes each, with ``strace -f -c`` (all threads counted).

    ``design`` is "threads" (blocking sockets, one thread per connection), "selector" (one
    thread, ``selectors.DefaultSelector``) or "busy" (one thread, non-blocking sockets tried
    in turn without ever waiting). The server runs in a fresh interpreter under strace; the
    client work runs in this process, one echo at a time, so every design gets the same work;
    after each round of ``clients`` echoes the clients pause ``think_s`` seconds, as real
    clients do (idle time is where the designs differ most).

    The interpreter's own start-up makes hundreds of calls (openat, mmap, read...). So the
    same server is also run once with no clients, and the counts returned are the difference:
    what the *work* cost. Returns {"design", "clients", "messages", "total" (all calls of the
    work), "calls": {syscall: count} (the ``top`` most frequent), "errors": {syscall: count}
    (calls that failed, e.g. recvfrom's EAGAIN in the busy design), "startup_total"}, or None
    where strace is missing, with the reason in ``syscall_counts_unavailable()``.

    strace stops the server at every system call, which slows it a lot: keep the work small.
    The busy design's counts depend on how long it waits (it makes calls all the time), the
    other two on the work only.
    """
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}, not {design!r}")
    if syscall_counts_unavailable():
        return None
    work = _strace_run(design, clients, messages, think_s, timeout)
    base = _strace_run(design, 0, 0, 0.0, timeout)
    net = {name: max(0, v["calls"] - base.get(name, {}).get("calls", 0)) for name, v in work.items()}
    errs = {name: max(0, v["errors"] - base.get(name, {}).get("errors", 0)) for name, v in work.items()}
    ranked = sorted((item for item in net.items() if item[1] > 0), key=lambda item: -item[1])
    return {"design": design, "clients": clients, "messages": messages, "think_s": think_s,
            "total": sum(net.values()), "calls": dict(ranked[:top]),
            "errors": {k: v for k, v in errs.items() if v > 0},
            "startup_total": sum(v["calls"] for v in base.values())}


def syscall_counts_unavailable() -> str | None:
    """Why ``syscall_counts`` cannot run here (a sentence), or None if it can."""
    if not sys.platform.startswith("linux"):
        return f"strace is Linux's system-call tracer; {sys.platform!r} has others (dtruss, truss)"
    if shutil.which("strace") is None:
        return "strace is not installed (apt-get install strace), so system calls cannot be counted"
    return None


def plot_syscall_counts(results: Sequence[dict[str, Any] | None], ax: Any = None) -> Any:
    """Grouped bars (log scale) of ``syscall_counts`` results: one group per design, one bar per
    system call that is in some design's top list. Returns the axes."""
    import matplotlib.pyplot as plt

    from .plotting import grouped_bars

    results = [r for r in results if r]
    if ax is None:
        _, ax = plt.subplots()
    # The calls that matter most in *some* design: ranked by their largest count anywhere, so
    # that the selector's epoll_wait is not crowded out by the thread server's many kinds.
    largest: dict[str, int] = {}
    for r in results:
        for name, count in r["calls"].items():
            largest[name] = max(largest.get(name, 0), count)
    names = sorted(largest, key=lambda name: -largest[name])[:7]
    series = {n: [r["calls"].get(n, 0) or 0 for r in results] for n in names}
    grouped_bars(ax, [r["design"] for r in results], series, "calls", log=True)
    ax.set_title(f"System calls for the same echo work ({results[0]['clients']} clients x "
                 f"{results[0]['messages']} messages)" if results else "System calls")
    return ax


# ---------------------------------------------------------------------------
# Command line (what the functions above run in a fresh interpreter)
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``python -c "from lessons.readiness import main; main()" {costs,busy,serve} ...``;
    ``costs`` and ``busy`` print one JSON line, ``serve`` prints its port and serves."""
    import argparse

    parser = argparse.ArgumentParser(prog="lessons.readiness", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("costs")
    c.add_argument("--sizes", type=int, nargs="+", default=[10, 1000, 10000])
    c.add_argument("--kinds", nargs="+", default=list(KINDS))
    c.add_argument("--repeat", type=int, default=5)
    b = sub.add_parser("busy")
    b.add_argument("--delay", type=float, default=0.2)
    s = sub.add_parser("serve")
    s.add_argument("design", choices=DESIGNS)
    s.add_argument("--clients", type=int, default=1)
    args = parser.parse_args(argv)
    if args.what == "serve":
        _serve(args.design, args.clients)
        return
    if args.what == "costs":
        result = _measure_selector_costs(args.sizes, args.kinds, args.repeat)
    else:
        result = _measure_busy_vs_select(args.delay)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
