"""Lesson 12's capstone report: one fib service built four ways, measured side by side.

Tasks 12.4-12.7 build the same service - lesson 09's fib protocol, Beazley's fib server of
PyCon 2015, with many lines per connection - four ways:

========  =========================  ==============================================================
way       file (task)                what serves, where fib runs
========  =========================  ==============================================================
threads   fib_threads.py (12.4)      a thread per connection; fib in that thread, under the GIL
pool      fib_pool.py (12.5)         a thread per connection; fib in a ProcessPoolExecutor
loop      fib_loop.py (12.6)         one thread, your generator select loop; fib in the pool, the
                                     results back through a socketpair
asyncio   fib_asyncio.py (12.7)      one thread, an asyncio loop; fib through run_in_executor
========  =========================  ==============================================================

(and ``asyncio+uvloop``: fib_asyncio.py with ``use_uvloop=True``).

``measure(folder, way)`` runs one way from ``folder`` (``solutions/12_coroutine_models`` or
your ``exercises/12_coroutine_models``) and returns one row; ``compare(folder)`` does all four;
``table(rows)`` prints them and ``plot(rows)`` draws them::

    from lessons import capstone
    rows = capstone.compare("exercises/12_coroutine_models")
    print(capstone.table(rows))
    capstone.plot(rows);

How a way is measured, and why so:

* The service runs in a child process of its own (``python -c ... _serve_main``): it imports
  the way's module from the folder, calls ``start(workers=...)``, prints one JSON line once
  ``start()`` has returned (ready: the API's promise), serves until its stdin is closed, then
  calls ``close()`` and prints how long that took and what was left. A module whose
  ``start()`` still raises the stub's ``NotImplementedError`` gives a row whose status is
  ``"not written yet (12.k)"``, and one that fails some other way a row saying how, so a
  half-done capstone still gets a report.
* The load runs in another child (``_load_main``), so that the clients share neither a GIL
  nor a core's time with the server they measure: ``long_clients`` threads each hold one
  connection and send ``long_n`` back to back (fib(27) is about 30 ms of one core in CPython
  3.11 on the course's machine), ``short_clients`` threads each hold one connection and send
  ``short_n`` (1) back to back, all until the same deadline; each answer is checked. Blocking
  sockets in threads: ``lessons.fib_service.run_load`` with ``held=True``, one connection per client:
  the protocol carries many lines per connection, so how a way serves *connections* shows.
* While the load runs, this process reads the server's ``/proc/<pid>/task`` (its threads) and
  its descendants (the pool's workers; multiprocessing's resource tracker and fork server are
  helpers of the interpreter, not workers, and are left out) every 50 ms: the row keeps the
  peaks.

What the design guarantees, whatever the machine (the kit test checks these, and only these):
the threads way starts a thread per connection and no process, so it has more threads than a
one-thread way and one process; the pool ways compute in worker processes. Everything else -
latencies, throughput - is measured, and depends on the machine: with two idle cores the pool
ways use both for the long requests; the short requests of the pool ways queue in the pool
behind the long ones (every compute goes to the pool, 12.5's rule), while in the threads way
they wait for the GIL, which the long ones' threads hand over every switch interval (5 ms,
``sys.getswitchinterval()``, lesson 02). Print ``lessons.machine.check().caveat()`` beside any
ratio you quote.
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from lessons import fib_service

HOST = "127.0.0.1"
LONG_N = 27
SHORT_N = 1
READY_TIMEOUT = 60.0     # seconds: safety nets that turn a hang into a row, never bounds
CLOSE_TIMEOUT = 30.0
ANSWER_TIMEOUT = 30.0
SAMPLE_EVERY = 0.05
SRC_DIR = str(Path(__file__).resolve().parent.parent)

#: way -> (module, task, extra keyword arguments of start())
WAYS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "threads": ("fib_threads", "12.4", {}),
    "pool": ("fib_pool", "12.5", {}),
    "loop": ("fib_loop", "12.6", {}),
    "asyncio": ("fib_asyncio", "12.7", {}),
    "asyncio+uvloop": ("fib_asyncio", "12.7", {"use_uvloop": True}),
}
FOUR = ("threads", "pool", "loop", "asyncio")


# ---------------------------------------------------------------------- the server child

def _serve_main(folder: str, module: str, kwargs_json: str) -> None:
    """In the server child: start the way's service, say so, serve until stdin ends, close."""
    import importlib
    sys.path.insert(0, folder)
    kwargs = json.loads(kwargs_json)
    try:
        service = importlib.import_module(module).start(**kwargs)
    except NotImplementedError as exc:
        print(json.dumps({"not_written": str(exc)}), flush=True)
        return
    except Exception as exc:       # a row that says why, not a traceback
        print(json.dumps({"failed": f"start() raised {type(exc).__name__}: {exc}"}), flush=True)
        return
    print(json.dumps({"ready": True, "address": list(service.address), "pid": os.getpid(),
                      "python": sys.version.split()[0]}), flush=True)
    sys.stdin.read()               # the driver closes our stdin when the load is done
    before = time.perf_counter()
    error = None
    try:
        service.close()
    except Exception as exc:
        error = f"close() raised {type(exc).__name__}: {exc}"
    print(json.dumps({"close_s": time.perf_counter() - before, "close_error": error,
                      "threads_left": threading.active_count() - 1}), flush=True)


# ---------------------------------------------------------------------- the load child

def run_load(port: int, seconds: float, long_n: int = LONG_N, long_clients: int = 2,
             short_clients: int = 4, short_n: int = SHORT_N) -> dict[str, Any]:
    """Each client holds one connection and sends its n back to back until ``seconds`` have
    passed; their latencies (seconds per answer) and any error. Run it in a process of its own.
    Lesson 09's load generator, with ``held`` connections."""
    return fib_service.run_load(port, seconds, long_n, long_clients, short_clients, short_n, held=True,
                                timeout=ANSWER_TIMEOUT)


def _load_main(args: Sequence[str]) -> None:
    port, seconds, long_n, long_clients, short_clients = args
    print(json.dumps(run_load(int(port), float(seconds), int(long_n), int(long_clients), int(short_clients))),
          flush=True)


# ---------------------------------------------------------------------- the driver

def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, env.get("PYTHONPATH")) if p)
    return env


def _line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, command line) of pid, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return int(text[text.rindex(")") + 2:].split()[1]), cmdline


def _workers(server: int) -> int:
    """The server's descendants that are not multiprocessing's helpers."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)] = stat
    count, todo = 0, [server]
    while todo:
        parent = todo.pop()
        for pid, (ppid, cmdline) in parents.items():
            if ppid != parent:
                continue
            todo.append(pid)
            helper = parent == server and ("resource_tracker" in cmdline or "forkserver" in cmdline)
            count += not helper
    return count


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def _row(way: str, status: str, **values: Any) -> dict[str, Any]:
    module, task, _ = WAYS[way]
    row: dict[str, Any] = {"way": way, "module": module, "task": task, "status": status}
    for key in ("short_p50", "short_p99", "short_max", "long_rps", "short_rps", "long_p50", "close_s"):
        row[key] = math.nan
    row.update(short_done=0, long_done=0, threads_peak=0, processes_peak=0, errors=[])
    row.update(values)
    return row


def measure(folder: str | os.PathLike[str], way: str, *, short_clients: int = 4, long_clients: int = 2,
            long_n: int = LONG_N, seconds: float = 2.0, workers: int = 2) -> dict[str, Any]:
    """One way of ``folder`` under load: a row with ``status`` ("ok", "not written yet
    (12.k)", or what failed), short-request latencies (p50, p99, max, seconds), long and short
    requests per second, and the peaks of the server's threads and processes (itself and its
    workers)."""
    module, task, extra = WAYS[way]
    folder = str(Path(folder).resolve())
    kwargs = json.dumps({"workers": workers, **extra})
    # The server's stderr goes to a file: a service that prints a traceback per connection
    # would fill a pipe nobody reads, and block.
    errors_file = tempfile.TemporaryFile("w+")
    server = subprocess.Popen(_python("import sys; from lessons.capstone import _serve_main; _serve_main(*sys.argv[1:])",
                                      folder, module, kwargs),
                              env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=errors_file, text=True)

    def stderr_tail() -> str:
        errors_file.seek(0)
        lines = errors_file.read().strip().splitlines()
        return f" (its last words: {lines[-1][:200]})" if lines else ""

    try:
        first = _line(server, READY_TIMEOUT)
        info = json.loads(first) if first.startswith("{") else {
            "failed": f"start() did not return within {READY_TIMEOUT:.0f} s{stderr_tail()}"}
        if "not_written" in info:
            return _row(way, f"not written yet ({task})")
        if "failed" in info:
            return _row(way, f"failed: {info['failed']}")
        load = subprocess.Popen(_python("import sys; from lessons.capstone import _load_main; _load_main(sys.argv[1:])",
                                        str(info["address"][1]), str(seconds), str(long_n),
                                        str(long_clients), str(short_clients)),
                                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        threads_peak = processes_peak = 0
        give_up = time.monotonic() + seconds + 2 * ANSWER_TIMEOUT + 30
        while load.poll() is None and time.monotonic() < give_up:
            threads_peak = max(threads_peak, _threads(server.pid))
            processes_peak = max(processes_peak, 1 + _workers(server.pid))
            time.sleep(SAMPLE_EVERY)            # a sampling period, not a synchronisation
        if load.poll() is None:
            load.kill()
        out, err = load.communicate()
        result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"errors": [f"the load died: {err[-500:]}"]}
        assert server.stdin is not None
        server.stdin.close()
        last = _line(server, CLOSE_TIMEOUT)
        closed = json.loads(last) if last.startswith("{") else {
            "close_error": f"close() did not return within {CLOSE_TIMEOUT:.0f} s{stderr_tail()}"}
        errors = list(result.pop("errors", [])) + ([closed["close_error"]] if closed.get("close_error") else [])
        status = "ok" if not errors else "failed: " + "; ".join(errors)[:300]
        return _row(way, status, **result, errors=errors, threads_peak=threads_peak,
                    processes_peak=processes_peak, close_s=closed.get("close_s", math.nan),
                    python=info["python"])
    finally:
        if server.stdin and not server.stdin.closed:
            server.stdin.close()            # a server still serving takes it as "stop"
        if server.poll() is None:
            try:
                server.wait(timeout=CLOSE_TIMEOUT)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if server.stdout:
            server.stdout.close()
        errors_file.close()


def compare(folder: str | os.PathLike[str], ways: Sequence[str] = FOUR, **kwargs: Any) -> list[dict[str, Any]]:
    """``measure`` every way in ``ways`` (the four tasks' by default), one after the other."""
    return [measure(folder, way, **kwargs) for way in ways]


def table(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as text: short-request latency, long requests per second, threads, processes."""
    out = [f"{'way':15} {'task':5} {'short p50':>10} {'short p99':>10} {'long req/s':>10} "
           f"{'threads':>7} {'procs':>5}  status"]
    def ms(seconds: float) -> str:
        return f"{seconds * 1e3:8.2f}ms" if math.isfinite(seconds) else f"{'n/a':>10}"

    for r in rows:
        rps = f"{r['long_rps']:10.1f}" if math.isfinite(r["long_rps"]) else f"{'n/a':>10}"
        out.append(f"{r['way']:15} {r['task']:5} {ms(r['short_p50'])} {ms(r['short_p99'])} "
                   f"{rps} {r['threads_peak']:7d} {r['processes_peak']:5d}  {r['status']}")
    return "\n".join(out)


def plot(rows: Sequence[dict[str, Any]]) -> Any:
    """Three panels: short-request latency p50/p99 per way (log), long requests per second,
    and the threads and processes each way ran on. Rows not measured show as n/a."""
    import matplotlib.pyplot as plt
    from lessons.plotting import bar_compare, grouped_bars

    labels = [f"{r['way']}\n({r['task']})" for r in rows]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4.2), gridspec_kw={"width_ratios": [3, 2, 2]})
    latency = {"short p50": [r["short_p50"] for r in rows], "short p99": [r["short_p99"] for r in rows]}
    measured = any(v > 0 for values in latency.values() for v in values if math.isfinite(v))
    # A log axis needs one positive value: with no way measured yet the panel stays linear, empty.
    grouped_bars(left, labels, latency, "s", log=measured, title=f"short request (fib({SHORT_N})) latency")
    bar_compare(middle, [r["way"] for r in rows], [r["long_rps"] for r in rows], "req/s",
                title=f"long requests (fib({next((r['long_n'] for r in rows if 'long_n' in r), LONG_N)})) per second")
    grouped_bars(right, labels, {"threads": [float(r["threads_peak"]) for r in rows],
                                 "processes": [float(r["processes_peak"]) for r in rows]},
                 "", title="what each way ran on (peaks)")
    right.set_ylabel("count")
    for ax in (left, right):
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig
