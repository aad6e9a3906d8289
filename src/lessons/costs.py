"""Measure what processes, threads and coroutines cost on *this* machine.

Lesson 01 calls these functions from its notebook; read them alongside it.

Why a fresh interpreter?  Every function that creates many units (threads,
processes, tasks, generators) runs the work in a *new* Python process
(``lessons.probe.run_json``) and reads back
plain numbers as JSON.  The notebook kernel already has threads of its own
(ipykernel runs a heartbeat and an I/O thread), has allocated memory for
past cells, and should not be forked while those threads are alive (section
6 of the lesson shows why).  A fresh interpreter gives clean before/after
deltas and keeps the kernel unpolluted.

Layout of this module:

1. Reading the kernel's bookkeeping (Linux ``/proc``): ``proc_status_kib``,
   ``smaps_rollup_kib``, ``thread_ids``, ``stack_limits``, ``kernel_limits``.
2. Memory per unit: ``memory_per_unit`` returns a ``MemoryCost``.
3. Creation and hand-off (switch) costs: ``creation_costs`` and
   ``switch_costs`` return lists of ``Timing`` (medians of repeats).
4. A makespan experiment: ``makespan_experiment`` returns a ``Makespan`` whose
   ``MakespanRun``s hold the start and end of every task, ready for
   ``plotting.timeline``, and the CPU time the tasks used.
5. ``fork_vs_forkserver``: process start-up from a small and from a large parent.
6. ``lambda_targets``: which multiprocessing APIs accept a lambda under which
   start method.
7. Two demo helpers (``append_and_report``, ``strace_clone_flags``) and the
   command line the functions above run in their child interpreter (``main``).

Linux is the reference platform.  On macOS and the BSDs, memory falls back
to ``ps`` (resident and virtual size only; no private memory for child
processes), CPU pinning is skipped, and the ``/proc`` readers raise
``LinuxOnlyError`` with a message that says what is missing.  On Windows,
measurements that need ``os.fork`` are left out and the memory ones raise
``LinuxOnlyError``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import types
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import probe

IS_LINUX: bool = sys.platform.startswith("linux")
HAS_FORK: bool = hasattr(os, "fork")



class LinuxOnlyError(RuntimeError):
    """Raised by a measurement that reads Linux's ``/proc`` on another OS."""


def _require_linux(what: str) -> None:
    if not IS_LINUX:
        raise LinuxOnlyError(
            f"{what} reads Linux's /proc file system, which {sys.platform!r} does not have. "
            "Run this lesson on Linux (a container or VM is fine) to see this measurement."
        )


# ---------------------------------------------------------------------------
# 1. Reading the kernel's bookkeeping
# ---------------------------------------------------------------------------


def proc_status_kib(field: str, pid: int | str = "self") -> int:
    """Return one ``kB`` field of ``/proc/<pid>/status`` in KiB.

    Useful fields: ``VmRSS`` (resident set size: pages in RAM right now),
    ``VmSize`` (virtual size: every mapped byte, touched or not), ``VmHWM``
    (peak RSS), ``VmStk`` (main thread's stack).

    >>> proc_status_kib("VmRSS") > 0
    True

    Raises:
        LinuxOnlyError: not on Linux.
        KeyError: the field is not in the file.
    """
    _require_linux("proc_status_kib()")
    text = Path(f"/proc/{pid}/status").read_text()
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == field:
            return int(rest.split()[0])
    raise KeyError(f"/proc/{pid}/status has no field {field!r}")


def smaps_rollup_kib(pid: int | str = "self") -> dict[str, int]:
    """Return the memory totals of ``/proc/<pid>/smaps_rollup`` in KiB.

    The keys include ``Rss``, ``Pss`` (each shared page divided by the number
    of processes sharing it), ``Private_Clean`` and ``Private_Dirty``.  Their
    sum ``Private_Clean + Private_Dirty`` is the *unique set size*: what the
    process would give back if it exited.  Needs Linux 4.14 or newer.
    """
    _require_linux("smaps_rollup_kib()")
    totals: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            totals[name] = int(parts[0])
    return totals


def thread_ids(pid: int | str = "self") -> list[int]:
    """Return the kernel task ids of every thread of a process (sorted).

    On Linux each thread is a kernel *task* with its own id, listed under
    ``/proc/<pid>/task``; the main thread's task id equals the process id.
    ``threading.get_native_id()`` returns the same number from inside a thread.
    """
    _require_linux("thread_ids()")
    return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))


@dataclass(frozen=True)
class StackLimits:
    """What decides the size of a new thread's stack."""

    rlimit_stack_soft_kib: int | None  #: ``ulimit -s``; None means unlimited
    rlimit_stack_hard_kib: int | None
    threading_stack_size: int  #: ``threading.stack_size()``; 0 means "platform default"


def stack_limits() -> StackLimits:
    """Read ``RLIMIT_STACK`` (what ``ulimit -s`` shows) and ``threading.stack_size()``.

    glibc uses the soft ``RLIMIT_STACK`` it saw at program start as the
    default size of every new thread's stack, unless the program asks for
    another size (CPython does when you call ``threading.stack_size(n)``).
    """
    import resource  # POSIX only, so imported here

    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)

    def kib(value: int) -> int | None:
        return None if value == resource.RLIM_INFINITY else value // 1024

    return StackLimits(kib(soft), kib(hard), threading.stack_size())


def kernel_limits() -> dict[str, int | None]:
    """Read the limits that cap how many processes *and* threads can exist.

    - ``pid_max``: the largest id the kernel hands out.  Threads take ids
      from the same space as processes (``/proc/sys/kernel/pid_max``).
    - ``threads_max``: system-wide cap on tasks (``/proc/sys/kernel/threads-max``).
    - ``rlimit_nproc_soft``: per-user cap; on Linux it counts threads too
      (``getrlimit(2)``).  None means unlimited.
    - ``cpus``: CPUs this process may run on.
    """
    _require_linux("kernel_limits()")
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_NPROC)
    return {
        "pid_max": int(Path("/proc/sys/kernel/pid_max").read_text()),
        "threads_max": int(Path("/proc/sys/kernel/threads-max").read_text()),
        "rlimit_nproc_soft": None if soft == resource.RLIM_INFINITY else soft,
        "cpus": len(os.sched_getaffinity(0)),
    }


def _rss_vsz_kib(pid: int) -> tuple[int, int]:
    """(resident, virtual) size of a process in KiB; ``/proc`` on Linux, ``ps`` elsewhere."""
    if sys.platform == "win32":
        raise LinuxOnlyError("memory per unit needs /proc (Linux) or the ps program (macOS, BSD); "
                             "Windows has neither. Run this lesson on Linux, e.g. in WSL or a container.")
    if IS_LINUX:
        return proc_status_kib("VmRSS", pid), proc_status_kib("VmSize", pid)
    out = subprocess.run(
        ["ps", "-o", "rss=,vsz=", "-p", str(pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


_DEEP_RECURSION = """
import sys, threading
threading.stack_size({stack_kib} * 1024)

def python_depth(n):
    return 0 if n == 0 else python_depth(n - 1)

def run():
    print("python:", "ok" if python_depth({depth}) == 0 else "wrong", flush=True)
    nested = []
    for _ in range({depth}):
        nested = [nested]
    try:
        repr(nested)                 # list.__repr__ calls repr() of its item: C calling C
        print("c:", "ok", flush=True)
    except RecursionError:
        print("c:", "RecursionError", flush=True)

worker = threading.Thread(target=run)
worker.start()
worker.join()
"""


def small_stack_recursion(stack_kib: int = 64, depth: int = 900, timeout: float = 60.0) -> dict[str, str]:
    """In a fresh interpreter, run ``depth``-deep recursion in a thread whose stack is
    ``threading.stack_size(stack_kib KiB)``: once in pure Python, once through C
    (``repr`` of a nested list).  Returns {"python": outcome, "c": outcome}, an outcome being
    "ok", "RecursionError", "crashed (signal N)" or "not run" (the process died before).
    """
    done = subprocess.run([sys.executable, "-c", _DEEP_RECURSION.format(stack_kib=stack_kib, depth=depth)],
                          capture_output=True, text=True, timeout=timeout)
    seen = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
    died = f"crashed (signal {-done.returncode})" if done.returncode < 0 else f"exit status {done.returncode}"
    out, cause = {}, died if done.returncode != 0 else "not run"
    for part in ("python", "c"):        # the first part that printed nothing is where it died
        out[part] = seen.get(part, cause)
        if part not in seen:
            cause = "not run"
    return out


# ---------------------------------------------------------------------------
# Running a measurement in a fresh interpreter
# ---------------------------------------------------------------------------


def _run_child(args: Sequence[str], *, ulimit_stack_kib: int | None = None, timeout: float = 60.0) -> Any:
    """``lessons.costs.main(args)`` in a fresh interpreter (see ``lessons.probe``)."""
    return probe.run_json("costs", args, ulimit_stack_kib=ulimit_stack_kib, timeout=timeout)


# ---------------------------------------------------------------------------
# 2. Memory per unit
# ---------------------------------------------------------------------------

#: The kinds ``memory_per_unit`` knows, in the order the lesson plots them.
MEMORY_KINDS: tuple[str, ...] = (
    "thread",
    "process_fork",
    "process_fresh",
    "asyncio_task",
    "coroutine",
    "generator",
)


@dataclass(frozen=True)
class MemoryCost:
    """Memory added per unit while ``n`` units were alive and parked.

    ``rss_kib`` is the resident memory (RAM actually used) added per unit and
    ``vmsize_kib`` the virtual size (address space reserved) added per unit.
    For threads, tasks, coroutines and generators both are deltas of the
    measuring process.  For processes each child has its own address space:
    ``rss_kib`` is then the child's *private* resident memory (pages not
    shared with anyone, Linux only; the full RSS elsewhere) and
    ``vmsize_kib`` the child's whole virtual size.
    """

    kind: str
    n: int
    rss_kib: float
    vmsize_kib: float
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def memory_per_unit(
    kind: str,
    n: int,
    *,
    stack_size_kib: int = 0,
    ulimit_stack_kib: int | None = None,
    timeout: float = 60.0,
) -> MemoryCost:
    """Measure the memory that one more unit of ``kind`` costs, in a fresh interpreter.

    The child interpreter warms up (creates and destroys a few units, so
    one-time costs such as imports are not counted), reads its memory, creates
    ``n`` units that stay alive and *parked* (blocked, not computing), reads
    its memory again, then releases them.

    Example::

        >>> memory_per_unit("generator", 2000).rss_kib < 4    # well under 4 KiB each
        True

    Args:
        kind: one of ``MEMORY_KINDS``.
        n: how many units to create.  Use ~2000 for threads and lighter units,
            ~50 for forked processes, ~10 for fresh interpreters.
        stack_size_kib: for threads, passed to ``threading.stack_size()``
            first (0 keeps the platform default).
        ulimit_stack_kib: start the child under ``ulimit -s`` of this size.
    """
    if kind not in MEMORY_KINDS:
        raise ValueError(f"kind must be one of {MEMORY_KINDS}, not {kind!r}")
    args = ["memory", kind, str(n), "--stack-size-kib", str(stack_size_kib)]
    data = _run_child(args, ulimit_stack_kib=ulimit_stack_kib, timeout=timeout)
    return MemoryCost(**data)


def _unit_factory(kind: str) -> tuple[Callable[[int], Any], Callable[[Any], None]]:
    """Return (create n parked units, release them) for in-process kinds."""
    if kind == "thread":

        def make_threads(n: int) -> Any:
            started = threading.Barrier(n + 1)
            release = threading.Event()

            def parked() -> None:
                started.wait()
                release.wait()

            threads = [threading.Thread(target=parked) for _ in range(n)]
            for t in threads:
                t.start()
            started.wait()  # every thread is now alive and blocked on `release`
            return threads, release

        def free_threads(units: Any) -> None:
            threads, release = units
            release.set()
            for t in threads:
                t.join()

        return make_threads, free_threads

    if kind == "generator":

        def parked_gen() -> Generator[None, None, None]:
            yield

        def make_gens(n: int) -> Any:
            gens = [parked_gen() for _ in range(n)]
            for g in gens:
                next(g)  # run to the first yield: a live, suspended frame
            return gens

        def free_gens(gens: Any) -> None:
            for g in gens:
                g.close()

        return make_gens, free_gens

    if kind == "coroutine":

        @types.coroutine
        def suspend() -> Generator[None, None, None]:
            yield

        async def parked_coro() -> None:
            await suspend()

        def make_coros(n: int) -> Any:
            coros = [parked_coro() for _ in range(n)]
            for c in coros:
                c.send(None)  # run to the first suspension point, no event loop needed
            return coros

        def free_coros(coros: Any) -> None:
            for c in coros:
                c.close()

        return make_coros, free_coros

    raise ValueError(kind)


def _measure_memory(kind: str, n: int, stack_size_kib: int) -> dict[str, Any]:
    """Child side of ``memory_per_unit``: runs inside the fresh interpreter."""
    if stack_size_kib:
        threading.stack_size(stack_size_kib * 1024)
    me = os.getpid()

    if kind == "asyncio_task":
        return asyncio.run(_measure_asyncio_tasks(n))
    if kind in ("process_fork", "process_fresh"):
        return _measure_processes(kind, n)

    make, free = _unit_factory(kind)
    free(make(min(n, 20)))  # warm-up: pay one-time costs before measuring
    gc.collect()
    rss0, vsz0 = _rss_vsz_kib(me)
    units = make(n)
    rss1, vsz1 = _rss_vsz_kib(me)
    free(units)
    return {
        "kind": kind,
        "n": n,
        "rss_kib": (rss1 - rss0) / n,
        "vmsize_kib": (vsz1 - vsz0) / n,
        "note": f"stack_size={threading.stack_size()}" if kind == "thread" else "",
        "extra": {},
    }


async def _measure_asyncio_tasks(n: int) -> dict[str, Any]:
    release = asyncio.Event()

    async def parked() -> None:
        await release.wait()

    async def batch(k: int) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(parked()) for _ in range(k)]
        await asyncio.sleep(0)  # let every task run up to its first await
        return tasks

    warm = await batch(20)
    release.set()
    await asyncio.gather(*warm)
    release.clear()
    gc.collect()
    rss0, vsz0 = _rss_vsz_kib(os.getpid())
    tasks = await batch(n)
    rss1, vsz1 = _rss_vsz_kib(os.getpid())
    release.set()
    await asyncio.gather(*tasks)
    return {"kind": "asyncio_task", "n": n, "rss_kib": (rss1 - rss0) / n,
            "vmsize_kib": (vsz1 - vsz0) / n, "note": "", "extra": {}}


def _measure_processes(kind: str, n: int) -> dict[str, Any]:
    """Start n child processes that block on a pipe, then read their memory."""
    children: list[int] = []
    popens: list[subprocess.Popen[bytes]] = []
    if kind == "process_fork":
        if not HAS_FORK:
            return {"kind": kind, "n": n, "rss_kib": float("nan"), "vmsize_kib": float("nan"),
                    "note": "os.fork() is not available on this platform", "extra": {}}
        ready_r, ready_w = os.pipe()
        release_r, release_w = os.pipe()
        for _ in range(n):
            pid = os.fork()
            if pid == 0:  # child: say "ready", block until the parent closes the pipe
                os.close(release_w)
                os.write(ready_w, b"r")
                os.read(release_r, 1)
                os._exit(0)
            children.append(pid)
        os.close(ready_w)
        got = 0
        while got < n:
            got += len(os.read(ready_r, n - got))
    else:  # a fresh interpreter, as spawn and forkserver workers start from
        code = "import sys; sys.stdout.write('r'); sys.stdout.flush(); sys.stdin.read()"
        for _ in range(n):
            popens.append(subprocess.Popen([sys.executable, "-c", code],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE))
        for p in popens:
            assert p.stdout is not None
            p.stdout.read(1)
        children = [p.pid for p in popens]

    private, rss, vsz, pss = [], [], [], []
    for pid in children:
        r, v = _rss_vsz_kib(pid)
        rss.append(r)
        vsz.append(v)
        if IS_LINUX:
            roll = smaps_rollup_kib(pid)
            private.append(roll["Private_Clean"] + roll["Private_Dirty"])
            pss.append(roll["Pss"])

    if kind == "process_fork":
        os.close(release_w)
        for pid in children:
            os.waitpid(pid, 0)
    else:
        for p in popens:
            p.communicate()

    per_child_private = statistics.mean(private) if private else statistics.mean(rss)
    return {
        "kind": kind,
        "n": n,
        "rss_kib": per_child_private,
        "vmsize_kib": statistics.mean(vsz),
        "note": "rss_kib is the child's private (unshared) memory" if private
        else "rss_kib is the child's full RSS (shared pages counted)",
        "extra": {"child_rss_kib": statistics.mean(rss),
                  "child_pss_kib": statistics.mean(pss) if pss else float("nan")},
    }


# ---------------------------------------------------------------------------
# 3. Creation and hand-off (switch) costs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """The median time of one operation, over several timed batches."""

    name: str
    seconds: float  #: median seconds per operation
    per: str  #: what one operation is, e.g. "unit created and finished"
    batch: int  #: operations per timed batch
    samples: tuple[float, ...]  #: seconds per operation in each batch
    note: str = ""
    cpu_seconds: float = 0.0  #: median CPU seconds per operation, where measured (see interleaved_per_op)


def _batch_size(run_batch: Callable[[int], float], target_s: float, first_batch: int,
                max_batch: int) -> int:
    """How many operations make one batch of about ``target_s`` seconds: double from
    ``first_batch`` until a batch takes 20 ms, then scale."""
    k = max(1, first_batch)
    elapsed = run_batch(k)
    while elapsed < 0.02 and k < max_batch:
        k *= 2
        elapsed = run_batch(k)
    return max(1, min(max_batch, int(k * target_s / max(elapsed, 1e-9))))


def _cpu_now() -> float:
    """CPU seconds used so far by this process and by its children that have been reaped."""
    cpu = time.process_time()
    try:
        import resource
    except ImportError:  # Windows: no children's usage
        return cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return cpu + children.ru_utime + children.ru_stime


@dataclass(frozen=True)
class Timed:
    """What ``interleaved_per_op`` measured for one operation."""

    seconds: float  #: median wall-clock seconds per operation
    batch: int  #: operations per timed batch
    samples: list[float]  #: wall-clock seconds per operation, one per batch
    cpu_seconds: float  #: median CPU seconds per operation (this process and its reaped children)


def interleaved_per_op(
    runs: Sequence[tuple[str, Callable[[int], float], int]],
    *,
    repeats: int = 5,
    target_s: float = 0.08,
    max_batch: int = 1_000_000,
) -> dict[str, Timed]:
    """Time several operations: the median seconds per operation of each, over batches taken in turn.

    ``runs`` holds (name, run_batch, first_batch); ``run_batch(k)`` performs
    the operation ``k`` times and returns the elapsed seconds.  Each batch
    size is doubled from ``first_batch`` until a batch takes 20 ms, then
    scaled to about ``target_s``.  Then ``repeats`` rounds time one batch of
    each: A, B, C, A, B, C...  A change in the machine's load (another
    program starting, a busy core) lands on every operation alike, and the
    *median* of the per-batch averages ignores the odd batch it slowed.

    Each batch is also clocked in *CPU* time: this process's, plus that of
    the children it reaped during the batch (a forked echo partner, a
    ``Process`` it joined).  Wall-clock time on a busy machine includes the
    time spent waiting for a CPU, and that wait hits a pure-Python loop
    harder than a pair that the kernel wakes up in turn; CPU time leaves it
    out, so ratios of CPU times hold on a busy machine.  (A ``Process``
    started by forkserver is the server's child, not ours: its CPU time is
    not seen.)
    """
    sizes = {name: _batch_size(run, target_s, first, max_batch) for name, run, first in runs}
    wall: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    for _ in range(repeats):
        for name, run, _first in runs:
            k = sizes[name]
            cpu0 = _cpu_now()
            wall[name].append(run(k) / k)
            cpu[name].append((_cpu_now() - cpu0) / k)
    return {name: Timed(statistics.median(wall[name]), sizes[name], wall[name], statistics.median(cpu[name]))
            for name, _, _ in runs}


def _timing(name: str, timed: Timed, per: str, note: str) -> dict[str, Any]:
    """A ``Timing`` as the JSON a child interpreter sends back."""
    return asdict(Timing(name, timed.seconds, per, timed.batch, tuple(timed.samples), note, timed.cpu_seconds))


def _noop(*_args: object) -> None:
    """Does nothing: the target of threads whose start-up we time, and a pool warm-up."""


# -- creation ---------------------------------------------------------------


def _time_generators(k: int) -> float:
    def gen() -> Generator[int, None, None]:
        yield 1

    t0 = time.perf_counter()
    for _ in range(k):
        next(gen())  # create it and run it to its first yield
    return time.perf_counter() - t0


def _time_tasks(k: int) -> float:
    async def noop() -> None:
        return None

    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        for _ in range(k):
            await loop.create_task(noop())  # schedule it, let the loop run it, get its result
        return time.perf_counter() - t0

    return asyncio.run(main())


def _time_threads(k: int) -> float:
    t0 = time.perf_counter()
    for _ in range(k):
        t = threading.Thread(target=_noop)
        t.start()
        t.join()
    return time.perf_counter() - t0


def _time_fork(k: int) -> float:
    t0 = time.perf_counter()
    for _ in range(k):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return time.perf_counter() - t0


def _time_mp(method: str) -> Callable[[int], float]:
    import multiprocessing as mp

    ctx: Any = mp.get_context(method)  # typeshed's BaseContext lacks .Process

    def run(k: int) -> float:
        t0 = time.perf_counter()
        for _ in range(k):
            # A builtin target, so the child imports nothing extra to find it.
            p = ctx.Process(target=os.getpid)
            p.start()
            p.join()
        return time.perf_counter() - t0

    return run


def _creation_items() -> list[tuple[str, Callable[[int], float], int, str]]:
    import multiprocessing as mp

    items: list[tuple[str, Callable[[int], float], int, str]] = [
        ("generator", _time_generators, 1000, ""),
        ("asyncio task", _time_tasks, 100, ""),
        ("thread", _time_threads, 20, ""),
    ]
    if HAS_FORK:
        items.append(("os.fork", _time_fork, 2, ""))
    order = ["fork", "forkserver", "spawn"]  # cheapest first, as a rule
    for method in sorted(mp.get_all_start_methods(), key=lambda m: order.index(m) if m in order else len(order)):
        items.append((f"Process ({method})", _time_mp(method), 1, ""))
    return items


def _measure_creation(repeats: int) -> list[dict[str, Any]]:
    import multiprocessing as mp

    items = _creation_items()
    if any(name == "Process (forkserver)" for name, *_ in items):
        # Starting the fork server itself is a one-time cost: pay it first.
        server_warmup = mp.get_context("forkserver").Process(target=os.getpid)
        server_warmup.start()
        server_warmup.join()
    timed = interleaved_per_op([(name, run, first) for name, run, first, _ in items], repeats=repeats)
    return [_timing(name, timed[name], "unit started and finished", note) for name, _, _, note in items]


def creation_costs(repeats: int = 5, timeout: float = 120.0) -> list[Timing]:
    """Time creating one unit and running it to completion, in a fresh interpreter.

    Measured: a generator (create + run to first ``yield``), an asyncio task
    (``create_task`` + ``await``), a thread (``start`` + ``join``), a bare
    ``os.fork`` + ``waitpid`` (child exits at once), and a
    ``multiprocessing.Process`` ``start`` + ``join`` for every start method
    this platform has.  Each is a median over ``repeats`` batches, the
    batches of the different units taken in turn (``interleaved_per_op``) so
    that their ratios hold on a busy machine.  Takes a few seconds.
    """
    return [Timing(**{**d, "samples": tuple(d["samples"])})
            for d in _run_child(["creation", "--repeats", str(repeats)], timeout=timeout)]


# -- hand-off ---------------------------------------------------------------


def _pingpong_generator(k: int) -> float:
    def echo() -> Generator[int, int, None]:
        value = 0
        while True:
            value = yield value

    g = echo()
    next(g)
    t0 = time.perf_counter()
    for i in range(k):
        g.send(i)  # main -> generator -> main
    return time.perf_counter() - t0


def _pingpong_asyncio(k: int) -> float:
    async def main() -> float:
        ping: asyncio.Queue[int | None] = asyncio.Queue()
        pong: asyncio.Queue[int] = asyncio.Queue()

        async def echo() -> None:
            while (value := await ping.get()) is not None:
                pong.put_nowait(value)

        task = asyncio.create_task(echo())
        t0 = time.perf_counter()
        for i in range(k):
            ping.put_nowait(i)
            await pong.get()
        elapsed = time.perf_counter() - t0
        ping.put_nowait(None)
        await task
        return elapsed

    return asyncio.run(main())


def _pingpong_threads_queue(k: int) -> float:
    ping: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    pong: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        while (value := ping.get()) is not None:
            pong.put(value)

    t = threading.Thread(target=echo)
    t.start()
    t0 = time.perf_counter()
    for i in range(k):
        ping.put(i)
        pong.get()
    elapsed = time.perf_counter() - t0
    ping.put(None)
    t.join()
    return elapsed


def _echo_over_pipe(read_fd: int, write_fd: int) -> None:
    while data := os.read(read_fd, 1):
        os.write(write_fd, data)


def _pingpong_pipes(k: int, *, use_process: bool) -> float:
    """Bounce one byte through two pipes between two threads or two processes."""
    to_r, to_w = os.pipe()
    back_r, back_w = os.pipe()
    if use_process:
        pid = os.fork()
        if pid == 0:
            os.close(to_w)
            os.close(back_r)
            _echo_over_pipe(to_r, back_w)
            os._exit(0)
        os.close(to_r)
        os.close(back_w)
    else:
        t = threading.Thread(target=_echo_over_pipe, args=(to_r, back_w))
        t.start()
    t0 = time.perf_counter()
    for _ in range(k):
        os.write(to_w, b"x")
        os.read(back_r, 1)
    elapsed = time.perf_counter() - t0
    os.close(to_w)  # the echo loop sees end-of-file and stops
    if use_process:
        os.waitpid(pid, 0)
        os.close(back_r)
    else:
        t.join()
        for fd in (to_r, back_r, back_w):
            os.close(fd)
    return elapsed


def _one_cpu() -> set[int] | None:
    """A single CPU this process may use, or None where affinity cannot be set."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return {min(os.sched_getaffinity(0))}


def _pinned(run: Callable[[int], float], cpus: set[int]) -> Callable[[int], float]:
    """Run a ping-pong with this process (and so its new threads and children) on ``cpus``."""

    def run_pinned(k: int) -> float:
        everything = os.sched_getaffinity(0)
        os.sched_setaffinity(0, cpus)
        try:
            return run(k)
        finally:
            os.sched_setaffinity(0, everything)

    return run_pinned


def _measure_switch(repeats: int) -> list[dict[str, Any]]:
    def threads_pipe(k: int) -> float:
        return _pingpong_pipes(k, use_process=False)

    def processes_pipe(k: int) -> float:
        return _pingpong_pipes(k, use_process=True)

    items: list[tuple[str, Callable[[int], float], str]] = [
        ("generator send", _pingpong_generator, ""),
        ("asyncio tasks (Queue)", _pingpong_asyncio, ""),
    ]
    one_cpu = _one_cpu()
    if one_cpu is None:
        items.append(("threads (SimpleQueue)", _pingpong_threads_queue, "the kernel places the threads"))
    else:
        items.append(("threads (SimpleQueue, 1 CPU)", _pinned(_pingpong_threads_queue, one_cpu),
                      "both threads pinned to one CPU"))
        items.append(("threads (pipe, 1 CPU)", _pinned(threads_pipe, one_cpu), "both threads pinned to one CPU"))
        if HAS_FORK:
            items.append(("processes (pipe, 1 CPU)", _pinned(processes_pipe, one_cpu),
                          "both processes pinned to one CPU"))
    items.append(("threads (pipe, any CPU)", threads_pipe, "the kernel places the threads"))
    if HAS_FORK:
        items.append(("processes (pipe, any CPU)", processes_pipe, "the kernel places the processes"))
    timed = interleaved_per_op([(name, run, 100) for name, run, _ in items], repeats=repeats)
    return [_timing(name, timed[name], "round trip A -> B -> A", note) for name, _, note in items]


def switch_costs(repeats: int = 5, timeout: float = 120.0) -> list[Timing]:
    """Time one round trip of control between two units, in a fresh interpreter.

    A round trip is A hands a value to B, B hands it back to A: two switches.
    Measured: ``generator.send`` (no scheduler at all), two asyncio tasks
    through ``asyncio.Queue`` (the event loop decides), two threads through
    ``queue.SimpleQueue``, and two threads or two processes bouncing one
    byte through a pair of pipes (the kernel decides).  Thread and process
    pairs run pinned to one CPU where the platform allows it (Linux), so
    that only the switch is timed; the pipe pairs run a second time
    unpinned, where waking a partner on *another* CPU may cost more than
    the switch itself.  The pairs' batches are taken in turn
    (``interleaved_per_op``), so their ratios hold on a busy machine.
    """
    return [Timing(**{**d, "samples": tuple(d["samples"])})
            for d in _run_child(["switch", "--repeats", str(repeats)], timeout=timeout)]


# ---------------------------------------------------------------------------
# 4. Makespan: CPU-bound and I/O-bound tasks on threads and processes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MakespanRun:
    """One timed run: ``n_tasks`` equal tasks on a pool of ``workers``."""

    mode: str  #: "threads, CPU-bound", "processes, CPU-bound" or "threads, I/O-bound"
    workers: int
    wall_s: float  #: makespan: first task submitted -> last result back
    spans: tuple[tuple[int, float, float], ...]  #: (worker lane, start s, end s) per task
    pool_start_s: float = 0.0  #: time to start the pool's workers (not in wall_s)
    cpu_s: float = 0.0  #: CPU time the tasks used, all workers together

    @property
    def cores_busy(self) -> float:
        """CPU time / makespan: how many cores the batch kept busy on average."""
        return self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0


@dataclass(frozen=True)
class Makespan:
    """What ``makespan_experiment`` measured."""

    start_method: str  #: how the process pool started its workers
    task_alone_s: float  #: one CPU-bound task run alone (median of three), in the measuring process
    task_s: float  #: what the tasks were calibrated to take alone
    gil_enabled: bool  #: whether the measuring interpreter ran with a GIL
    runs: tuple[MakespanRun, ...]

    def run(self, mode: str, workers: int) -> MakespanRun:
        """The run of ``mode`` on ``workers`` workers."""
        return next(r for r in self.runs if r.mode == mode and r.workers == workers)


def spin(iterations: int) -> int:
    """Pure-Python CPU work: holds the GIL for the whole loop."""
    total = 0
    for i in range(iterations):
        total += i
    return total


def _cpu_task(iterations: int) -> tuple[int, float, float, float]:
    """(worker id, start, end, CPU seconds) of one CPU-bound task.  The CPU time is this
    thread's, so it is right inside a pool worker process and inside a pool thread alike."""
    cpu0 = time.thread_time()
    start = time.perf_counter()
    spin(iterations)
    return os.getpid(), start, time.perf_counter(), time.thread_time() - cpu0


def _io_task(seconds: float) -> tuple[int, float, float, float]:
    cpu0 = time.thread_time()
    start = time.perf_counter()
    time.sleep(seconds)  # releases the GIL while waiting, like a blocking read
    return threading.get_ident(), start, time.perf_counter(), time.thread_time() - cpu0


def _cpu_task_thread(iterations: int) -> tuple[int, float, float, float]:
    _, start, end, cpu = _cpu_task(iterations)
    return threading.get_ident(), start, end, cpu


def _lanes(raw: Sequence[Sequence[float]], t0: float) -> tuple[tuple[int, float, float], ...]:
    """Renumber worker ids 0, 1, 2... in order of first appearance; times relative to t0."""
    ids: dict[float, int] = {}
    spans = []
    for worker, start, end, *_cpu in sorted(raw, key=lambda s: s[1]):
        lane = ids.setdefault(worker, len(ids))
        spans.append((lane, start - t0, end - t0))
    return tuple(spans)


def _calibrate_spin(task_s: float) -> int:
    """How many ``spin`` iterations take ``task_s`` seconds alone.

    A first estimate from short loops, then one correction from a loop of the full length:
    a long loop runs faster per iteration than a short one (the interpreter specialises it,
    the CPU raises its clock), so short loops alone overestimate the time."""
    iterations = 10_000
    while min(_timed(spin, iterations) for _ in range(3)) < 0.02:
        iterations *= 2
    iterations = max(1, int(iterations * task_s / min(_timed(spin, iterations) for _ in range(3))))
    return max(1, int(iterations * task_s / min(_timed(spin, iterations) for _ in range(2))))


def _timed(fn: Callable[[int], object], arg: int) -> float:
    t0 = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t0


def _one_makespan_round(workers: Sequence[int], n_tasks: int, task_s: float, iterations: int,
                        ctx: Any) -> list[MakespanRun]:
    from concurrent.futures import ThreadPoolExecutor

    def run(mode: str, w: int, raw: Sequence[Sequence[float]], t0: float, t1: float,
            started: float = 0.0) -> MakespanRun:
        return MakespanRun(mode, w, t1 - t0, _lanes(raw, t0), started, sum(r[3] for r in raw))

    runs: list[MakespanRun] = []
    for w in workers:
        with ThreadPoolExecutor(max_workers=w) as pool:
            list(pool.map(_noop, range(w)))  # start the threads before the clock starts
            t0 = time.perf_counter()
            raw = list(pool.map(_cpu_task_thread, [iterations] * n_tasks))
            runs.append(run("threads, CPU-bound", w, raw, t0, time.perf_counter()))
        t_start = time.perf_counter()
        with ctx.Pool(w) as procs:
            procs.map(_noop, range(4 * w), chunksize=1)  # wait until every worker answers
            started = time.perf_counter() - t_start
            t0 = time.perf_counter()
            raw = procs.map(_cpu_task, [iterations] * n_tasks, chunksize=1)
            runs.append(run("processes, CPU-bound", w, raw, t0, time.perf_counter(), started))
        with ThreadPoolExecutor(max_workers=w) as pool:
            list(pool.map(_noop, range(w)))
            t0 = time.perf_counter()
            raw = list(pool.map(_io_task, [task_s] * n_tasks))
            runs.append(run("threads, I/O-bound", w, raw, t0, time.perf_counter()))
    return runs


def _measure_makespan(workers: Sequence[int], n_tasks: int, task_s: float, repeats: int,
                      start_method: str) -> dict[str, Any]:
    import multiprocessing as mp

    iterations = _calibrate_spin(task_s)
    alone = statistics.median(_timed(spin, iterations) for _ in range(3))
    method = start_method if start_method in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    rounds = [_one_makespan_round(workers, n_tasks, task_s, iterations, ctx) for _ in range(repeats)]
    # For every (mode, workers) keep the run with the median makespan.
    chosen = []
    for i in range(len(rounds[0])):
        candidates = sorted((r[i] for r in rounds), key=lambda run: run.wall_s)
        chosen.append(candidates[len(candidates) // 2])
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return {"start_method": method, "task_alone_s": alone, "task_s": task_s, "gil_enabled": gil,
            "runs": [asdict(r) for r in chosen]}


def makespan_experiment(
    workers: Sequence[int] = (1, 2, 4),
    n_tasks: int = 8,
    task_s: float = 0.05,
    repeats: int = 3,
    start_method: str = "forkserver",
    timeout: float = 120.0,
) -> Makespan:
    """Run ``n_tasks`` equal tasks on 1, 2, 4... workers and time each batch.

    Three modes: CPU-bound tasks (``spin``, calibrated to take ``task_s``
    alone) on a thread pool and on a process pool, and I/O-bound tasks
    (``time.sleep(task_s)``) on a thread pool.  Pools are started before the
    clock starts; the process pool's start-up time is reported separately as
    ``pool_start_s``.  Everything is repeated ``repeats`` times and the run
    with the median makespan is kept.

    ``start_method`` is the process pool's (``spawn`` where the platform lacks
    it).  It is ``forkserver`` by default, whatever this Python's default is:
    the measuring process runs thread pools, and forking a process that has
    run threads is what section 6 of the lesson warns against; forkserver is
    also the default on Linux from Python 3.14 on.
    """
    args = ["makespan", "--workers", *map(str, workers), "--n-tasks", str(n_tasks),
            "--task-s", str(task_s), "--repeats", str(repeats), "--start-method", start_method]
    data = _run_child(args, timeout=timeout)
    runs = tuple(MakespanRun(**{**r, "spans": tuple(tuple(s) for s in r["spans"])}) for r in data["runs"])
    return Makespan(data["start_method"], data["task_alone_s"], data["task_s"], data["gil_enabled"], runs)


# ---------------------------------------------------------------------------
# fork against forkserver, from a small and from a large parent
# ---------------------------------------------------------------------------


def _measure_fork_vs_forkserver(parent_mib: int, repeats: int) -> dict[str, list[dict[str, Any]]]:
    import multiprocessing as mp

    methods = [m for m in ("fork", "forkserver") if m in mp.get_all_start_methods()]
    if len(methods) < 2 or not HAS_FORK:
        return {}
    warmup = mp.get_context("forkserver").Process(target=os.getpid)  # start the server once
    warmup.start()
    warmup.join()
    out: dict[str, list[dict[str, Any]]] = {}
    ballast: list[bytearray] = []
    for label, size in (("small", 0), ("large", parent_mib)):
        # 1 MiB pieces, each written: the pages are resident, and mapped one piece at a time,
        # so that no transparent huge page can make the page tables small.
        ballast += [bytearray(b"x") * (1 << 20) for _ in range(size - len(ballast))]
        note = f"parent VmRSS {proc_status_kib('VmRSS')} KiB" if IS_LINUX else ""
        runs = [("os.fork", _time_fork, 1)] + [(f"Process ({m})", _time_mp(m), 1) for m in methods]
        timed = interleaved_per_op(runs, repeats=repeats, target_s=0.1)
        out[label] = [_timing(name, timed[name], "unit started and finished", note) for name, _, _ in runs]
    return out


def fork_vs_forkserver(parent_mib: int = 300, repeats: int = 5,
                       timeout: float = 120.0) -> dict[str, dict[str, Timing]]:
    """Time ``os.fork`` and ``Process`` start + join under fork and forkserver, first from a
    fresh interpreter, then after it has grown by ``parent_mib`` MiB of written memory.

    Returns {"small": {name: Timing}, "large": {name: Timing}}; each Timing's ``note`` gives
    the parent's resident size.  Empty where fork or forkserver is missing (Windows).

    fork copies the parent's page tables, so its cost grows with the parent's resident
    memory; forkserver forks the small server process instead, whatever the parent's size
    (``Popen._launch`` in ``Lib/multiprocessing/popen_forkserver.py`` only sends the pickled
    process object to it).
    """
    data = _run_child(["forkserver", "--parent-mib", str(parent_mib), "--repeats", str(repeats)],
                      timeout=timeout)
    return {label: {d["name"]: Timing(**{**d, "samples": tuple(d["samples"])}) for d in timings}
            for label, timings in data.items()}


# ---------------------------------------------------------------------------
# Which APIs need a picklable callable, under which start method
# ---------------------------------------------------------------------------

#: A lambda at the top of a module, like exercise 01.4's ``square``: pickle cannot find it by
#: name (its ``__qualname__`` is ``<lambda>``), so whatever has to pickle it fails.
_square = lambda x: x * x  # noqa: E731


def _outcome(attempt: Callable[[], object]) -> str:
    try:
        attempt()
    except Exception as exc:  # what the API raised is the result
        return type(exc).__name__
    return "works"


def _lambda_in_process(ctx: Any) -> None:
    p = ctx.Process(target=_square, args=(3,))
    p.start()
    p.join()
    if p.exitcode != 0:
        raise ChildProcessError(f"exit code {p.exitcode}")


def _lambda_in_pool(ctx: Any) -> None:
    with ctx.Pool(1) as pool:
        pool.map(_square, [1, 2])


def _lambda_in_executor(ctx: Any) -> None:
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        list(pool.map(_square, [1, 2]))


#: The APIs ``lambda_targets`` tries, in the order it reports them.
LAMBDA_APIS: dict[str, Callable[[Any], None]] = {
    "Process(target=...)": _lambda_in_process,
    "Pool().map": _lambda_in_pool,
    "ProcessPoolExecutor().map": _lambda_in_executor,
}


def _measure_lambdas() -> dict[str, Any]:
    import multiprocessing as mp
    import warnings

    # On 3.12+ fork warns when the process has threads; a pool's helper threads may still be
    # winding down from the previous try.  The children here touch nothing after the fork.
    warnings.simplefilter("ignore", DeprecationWarning)
    order = ["fork", "forkserver", "spawn"]
    methods = sorted(mp.get_all_start_methods(), key=lambda m: order.index(m) if m in order else 9)
    table = {m: {api: _outcome(lambda: run(mp.get_context(m))) for api, run in LAMBDA_APIS.items()}
             for m in methods}
    return {"python": ".".join(map(str, sys.version_info[:3])), "default": mp.get_start_method(),
            "outcomes": table}


def lambda_targets(python: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """Try a top-level lambda as the callable of ``Process``, ``Pool.map`` and
    ``ProcessPoolExecutor.map`` under every start method, in a fresh interpreter.

    ``python`` picks the interpreter (default: this one; any 3.11+ works).  Returns
    {"python": version, "default": start method, "outcomes": {method: {api: outcome}}},
    an outcome being "works" or the name of the exception the API raised.
    """
    if python is None:
        return _run_child(["lambdas"], timeout=timeout)
    done = subprocess.run(probe.command("costs", ["lambdas"], python=python), capture_output=True,
                          text=True, env=probe.child_env(), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


# ---------------------------------------------------------------------------
# Small helpers the lesson uses to show sharing across a process boundary
# ---------------------------------------------------------------------------


def append_and_report(items: list[str], value: str, conn: Any) -> None:
    """Append ``value`` to ``items`` and send the list back through ``conn``.

    Runs in a child process: the child mutates *its own copy* of ``items``.
    """
    items.append(value)
    conn.send(items)
    conn.close()


def strace_clone_flags(code: str, timeout: float = 20.0) -> list[str]:
    """Run ``python -c code`` under ``strace -f`` and return the flags of each clone call.

    Shows what the kernel is asked for when Python starts a thread or forks.
    Needs Linux and the ``strace`` program; raises ``RuntimeError`` otherwise.
    """
    _require_linux("strace_clone_flags()")
    strace = shutil.which("strace")
    if strace is None:
        raise RuntimeError("strace is not installed (apt-get install strace), so the clone calls cannot be shown")
    done = subprocess.run([strace, "-f", "-e", "trace=clone,clone3", sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=timeout)
    # strace may print "Process N attached" in the middle of a line, so match the flags exactly.
    return re.findall(r"clone3?\(.*?flags=([A-Z0-9_|]+)", done.stderr)


# ---------------------------------------------------------------------------
# 5. Command line (what the functions above run in a fresh interpreter)
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m lessons.costs {memory,creation,switch,makespan,forkserver,lambdas} ...``;
    prints JSON."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lessons.costs", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    mem = sub.add_parser("memory", help="memory per unit")
    mem.add_argument("kind", choices=MEMORY_KINDS)
    mem.add_argument("n", type=int)
    mem.add_argument("--stack-size-kib", type=int, default=0)
    for name in ("creation", "switch"):
        sub.add_parser(name).add_argument("--repeats", type=int, default=5)
    mk = sub.add_parser("makespan", help="CPU- and I/O-bound tasks on threads and processes")
    mk.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    mk.add_argument("--n-tasks", type=int, default=8)
    mk.add_argument("--task-s", type=float, default=0.05)
    mk.add_argument("--repeats", type=int, default=3)
    mk.add_argument("--start-method", default="forkserver")
    fs = sub.add_parser("forkserver", help="fork against forkserver, from a small and a large parent")
    fs.add_argument("--parent-mib", type=int, default=300)
    fs.add_argument("--repeats", type=int, default=5)
    sub.add_parser("lambdas", help="which APIs accept a lambda under which start method")
    args = parser.parse_args(argv)

    result: Any
    if args.what == "memory":
        result = _measure_memory(args.kind, args.n, args.stack_size_kib)
    elif args.what == "creation":
        result = _measure_creation(args.repeats)
    elif args.what == "switch":
        result = _measure_switch(args.repeats)
    elif args.what == "makespan":
        result = _measure_makespan(args.workers, args.n_tasks, args.task_s, args.repeats,
                                   args.start_method)
    elif args.what == "forkserver":
        result = _measure_fork_vs_forkserver(args.parent_mib, args.repeats)
    else:
        result = _measure_lambdas()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
