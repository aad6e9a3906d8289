"""Lesson 08: greenlet, the stackful coroutine (有栈协程), taken apart and measured.

Three parts, each a few functions that return plain data for a notebook cell to print and
assert on:

1. **The model** (``ping_pong``, ``return_to_parent``, ``error_to_parent``, ``throw_into``,
   ``collected_while_suspended``, ``switch_from_another_thread``). A greenlet runs until it
   calls ``other.switch(value)``; ``value`` comes out of *other*'s pending ``switch()``. A
   greenlet that finishes hands its return value (or its uncaught exception) to its **parent**,
   not to whoever switched to it last. ``g.throw(exc)`` raises ``exc`` inside ``g`` at the
   ``switch()`` where it is suspended. A suspended greenlet whose last reference goes away gets
   ``GreenletExit`` raised at that point, so its ``finally`` blocks run. Another thread may not
   switch into it at all. Each demo records the switches greenlet reports to
   ``greenlet.settrace`` beside what the code saw.

2. **Memory against depth** (``stack_slices``, ``stack_slices_on``, ``memory_per_suspended``,
   ``memory_vs_depth``, ``slope_kib_per_frame``, ``plot_memory``). greenlet has no stack of its
   own in the sense a thread has: every greenlet of a thread runs on that thread's one C stack.
   When a greenlet is switched out, the part of the C stack it used - from the point where it
   started to the point where it switched - is copied to the heap (``PyMem_Realloc``), and
   copied back when it is switched in: **stack slicing** (栈切片; greenlet's ``TStackState.cpp``,
   ``StackState::copy_stack_to_heap`` and ``copy_heap_to_stack``, called from ``slp_switch``
   through ``SLP_SAVE_STATE`` and ``SLP_RESTORE_STATE``). So a suspended greenlet costs the
   bytes of C stack between its start and its switch point, plus its Python frames. Which of
   the two grows with depth depends on the kind of recursion: since CPython 3.11 a Python
   function calling a Python function does not recurse in C (What's New in 3.11, "Inlined
   Python function calls"); its frame goes on the thread's *data stack*, which greenlet gives
   each greenlet a fresh chunk list of (``TPythonState.cpp``, ``PythonState::did_finish``'s
   comment). Recursion *through* a C function (here ``map``) does recurse in C, and that slice
   is what greenlet copies. ``greenlet._stack_saved`` (a private attribute, ``PyGreenlet.cpp``,
   ``green_get_stack_saved``) reads the saved slice's size directly; the RSS of a fresh process
   with N suspended units is the independent evidence.

3. **Switch costs** (``switch_costs``, ``syscalls_per_round_trip``, ``verdict``). One fresh interpreter times a round trip of control (A -> B -> A) for a
   greenlet pair, a generator, two asyncio tasks taking turns with ``sleep(0)`` (asyncio's
   loop and uvloop's), two threads (a ``SimpleQueue`` pair and a ``Condition`` pair) and two
   processes (a pipe), batches taken in turn (``costs.interleaved_per_op``), so the ratios
   hold on a busy machine. It also counts the context switches (上下文切换) the kernel made
   during N round trips (``getrusage``): a greenlet switch is a function call that copies
   memory, and the kernel never hears of it; a thread hand-off is a kernel context switch.

Every measurement that creates many units runs in a fresh interpreter (``lessons.probe``),
so the notebook kernel's own threads and memory do not blur the deltas. Linux is the
reference platform (``/proc`` for memory where psutil is missing, ``sched_setaffinity`` to
pin a pair to one CPU).
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import costs, probe

#: The depths (Python frames between a unit's start and its switch point) the lesson measures.
DEPTHS: tuple[int, ...] = (0, 50, 200, 800)
#: What ``memory_per_suspended`` can park, in the order the plot draws them.
MEMORY_KINDS: tuple[str, ...] = ("greenlet", "greenlet_c", "asyncio_task", "thread", "thread_c")
KIND_LABELS: dict[str, str] = {
    "greenlet": "greenlet, Python recursion",
    "greenlet_c": "greenlet, recursion through C (map)",
    "asyncio_task": "asyncio task, await chain",
    "thread": "thread, Python recursion",
    "thread_c": "thread, recursion through C (map)",
}


# ---------------------------------------------------------------------------
# 1. The model: switch, parent, throw, death
# ---------------------------------------------------------------------------


def _recorder(names: dict[int, str]) -> tuple[list[str], Callable[[str, Any], None]]:
    """A greenlet.settrace callback that logs "event origin -> target" with readable names.

    ``names`` maps ``id(greenlet)`` to a name: keyed by id so that the table holds no reference
    (a reference would keep a greenlet alive and change when it dies)."""
    events: list[str] = []

    def trace(event: str, args: Any) -> None:
        if event in ("switch", "throw"):
            origin, target = args
            events.append(f"{event} {names.get(id(origin), '?')} -> {names.get(id(target), '?')}")

    return events, trace


def _traced(body: Callable[[dict[int, str]], list[str]]) -> dict[str, list[str]]:
    """Run ``body(names)`` with greenlet's switch trace on; return what it saw and the trace."""
    import greenlet

    names: dict[int, str] = {id(greenlet.getcurrent()): "main"}
    events, trace = _recorder(names)
    previous = greenlet.settrace(trace)
    try:
        seen = body(names)
    finally:
        greenlet.settrace(previous)
    return {"seen": seen, "switches": events}


def ping_pong() -> dict[str, list[str]]:
    """main and a child hand values back and forth; the child's return value ends the game.

    ``g.switch(x)`` starts ``g`` (x becomes its argument) or resumes it (x becomes the value of
    its pending ``switch()``); whatever is later switched back arrives as our own return value.
    """
    import greenlet

    def body(names: dict[int, str]) -> list[str]:
        seen: list[str] = []
        main = greenlet.getcurrent()

        def child(x: int) -> int:
            seen.append(f"child started with {x}")
            y = main.switch(x + 1)          # suspend here; main's switch() returns x + 1
            seen.append(f"child resumed with {y}")
            return y * 10                   # finished: the value goes to the parent (main)

        g = greenlet.greenlet(child)
        names[id(g)] = "child"
        seen.append(f"main got {g.switch(1)}")
        seen.append(f"main got {g.switch(5)}")
        seen.append(f"child dead: {g.dead}")
        return seen

    return _traced(body)


def return_to_parent() -> dict[str, list[str]]:
    """A finished greenlet's value goes to its *parent*, not to the greenlet that switched to it.

    main starts ``collector``, which parks itself by switching back to main. main then starts
    ``worker`` whose parent is ``collector``; worker just returns. Its value wakes collector
    (whose pending switch() returns it), and collector's own return value goes to *its*
    parent, main.
    """
    import greenlet

    def body(names: dict[int, str]) -> list[str]:
        seen: list[str] = []
        main = greenlet.getcurrent()

        def collect() -> str:
            got = main.switch("collector parked")
            seen.append(f"collector got {got!r}")
            return "collector done"

        collector = greenlet.greenlet(collect)
        names[id(collector)] = "collector"
        seen.append(f"main got {collector.switch()!r}")
        worker = greenlet.greenlet(lambda: "worker's value", parent=collector)
        names[id(worker)] = "worker"
        seen.append(f"main got {worker.switch()!r}")    # main switched to worker ...
        seen.append(f"worker dead: {worker.dead}, collector dead: {collector.dead}")
        return seen

    return _traced(body)


def error_to_parent() -> dict[str, list[str]]:
    """An exception a greenlet does not catch is raised in its parent, at the parent's switch()."""
    import greenlet

    def body(names: dict[int, str]) -> list[str]:
        seen: list[str] = []

        def fail() -> None:
            raise ValueError("boom inside the child")

        g = greenlet.greenlet(fail)
        names[id(g)] = "child"
        try:
            g.switch()
        except ValueError as e:
            seen.append(f"main caught ValueError({str(e)!r}) from switch()")
        seen.append(f"child dead: {g.dead}")
        return seen

    return _traced(body)


def throw_into() -> dict[str, list[str]]:
    """``g.throw(exc)`` raises exc inside g, at the switch() where g is suspended.

    The first child catches it and returns; the second does not catch the default,
    ``GreenletExit``, which kills it quietly: ``throw()`` then returns the exception object.
    """
    import greenlet

    def body(names: dict[int, str]) -> list[str]:
        seen: list[str] = []
        main = greenlet.getcurrent()

        def careful() -> str:
            try:
                main.switch("waiting")
            except KeyError as e:
                seen.append(f"child caught KeyError({e.args[0]!r}) at its switch()")
                return "handled"
            return "not reached"

        def careless() -> None:
            main.switch("waiting")
            seen.append("not reached")

        g = greenlet.greenlet(careful)
        names[id(g)] = "careful"
        g.switch()
        seen.append(f"main got {g.throw(KeyError('stop'))!r} from throw()")
        h = greenlet.greenlet(careless)
        names[id(h)] = "careless"
        h.switch()
        seen.append(f"main got {type(h.throw()).__name__} from throw(); careless dead: {h.dead}")
        return seen

    return _traced(body)


def collected_while_suspended() -> dict[str, list[str]]:
    """Drop the last reference to a suspended greenlet: GreenletExit is raised at its switch point.

    greenlet's dealloc (``TGreenlet.cpp``, ``deallocing_greenlet_in_thread`` ->
    ``throw_GreenletExit_during_dealloc``) switches into the dying greenlet once more, with
    ``GreenletExit`` pending, so its ``except``/``finally`` blocks run before it is freed.
    """
    import greenlet

    def body(names: dict[int, str]) -> list[str]:
        seen: list[str] = []
        main = greenlet.getcurrent()

        def holder() -> None:
            try:
                seen.append("child suspended holding a resource")
                main.switch()
            except greenlet.GreenletExit:
                seen.append("child got GreenletExit at its switch()")
                raise
            finally:
                seen.append("child's finally ran")

        g = greenlet.greenlet(holder)
        names[id(g)] = "child"
        g.switch()
        del g                      # the only reference: greenlet kills it right here
        gc.collect()
        seen.append("main continues")
        return seen

    return _traced(body)


def switch_from_another_thread() -> dict[str, Any]:
    """Greenlets belong to the thread that started them: another thread may not switch into one.

    Returns what a second thread saw: its own main greenlet (not ours), and the
    ``greenlet.error`` that ``Greenlet::check_switch_allowed`` (``TGreenlet.cpp``) raises.
    """
    import greenlet

    main = greenlet.getcurrent()
    g = greenlet.greenlet(lambda: main.switch("parked"))
    g.switch()
    seen: dict[str, Any] = {}

    def other_thread() -> None:
        seen["own_main_greenlet"] = greenlet.getcurrent() is not main
        try:
            g.switch()
        except greenlet.error as e:
            seen["error"] = str(e).splitlines()[0]

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    g.throw()                          # finish it in its own thread
    return seen


# ---------------------------------------------------------------------------
# 2. Memory against depth
# ---------------------------------------------------------------------------


def _down_python(k: int, at_bottom: Callable[[], Any]) -> Any:
    """Recurse k Python frames deep, then call at_bottom (a switch, a wait)."""
    return at_bottom() if k == 0 else _down_python(k - 1, at_bottom)


def _down_through_c(k: int, at_bottom: Callable[[], Any]) -> Any:
    """Recurse k levels, each Python frame called by a C function (map's next): real C recursion."""
    return at_bottom() if k == 0 else next(map(_down_through_c, (k - 1,), (at_bottom,)))


def stack_slices(depths: Sequence[int] = DEPTHS) -> list[dict[str, int]]:
    """The bytes of C stack greenlet saved for one suspended greenlet, per depth and recursion kind.

    Read from ``greenlet._stack_saved`` (private, but it is the counter greenlet keeps in
    ``StackState``). Cheap enough for the kernel: one greenlet per row, killed after reading.
    """
    import greenlet

    main = greenlet.getcurrent()
    rows = []
    for depth in depths:
        row = {"depth": depth}
        for kind, down in (("python", _down_python), ("through_c", _down_through_c)):
            g = greenlet.greenlet(down)
            g.switch(depth, main.switch)
            row[kind] = g._stack_saved
            g.throw()               # GreenletExit: unwind it now
        rows.append(row)
    return rows


def stack_slices_on(python: str, depths: Sequence[int] = DEPTHS, timeout: float = 120.0) -> dict[str, Any]:
    """``stack_slices`` run by another interpreter, in a fresh process: ``{"python", "gil",
    "greenlet", "rows"}``, or ``{"skipped": reason}`` when that interpreter has no greenlet."""
    try:
        return _run(["slices", *map(str, depths)], python=python, timeout=timeout)
    except RuntimeError as e:
        if "No module named 'greenlet'" in str(e):
            return {"skipped": f"{python} has no greenlet installed"}
        raise


def _rss_vms_kib() -> tuple[float, float]:
    """This process's resident and virtual size in KiB (psutil where installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return float(status["VmRSS"].split()[0]), float(status["VmSize"].split()[0])
    info = psutil.Process().memory_info()
    return info.rss / 1024, info.vms / 1024


def _park_greenlets(n: int, depth: int, through_c: bool) -> tuple[Callable[[], None], float]:
    import greenlet

    main = greenlet.getcurrent()
    down = _down_through_c if through_c else _down_python
    units = [greenlet.greenlet(down) for _ in range(n)]
    for g in units:
        g.switch(depth, main.switch)        # each stops `depth` frames deep, switched out
    saved = statistics.mean(g._stack_saved for g in units)

    def free() -> None:
        for g in units:
            g.throw()
    return free, saved


def _park_threads(n: int, depth: int, through_c: bool) -> tuple[Callable[[], None], float]:
    down = _down_through_c if through_c else _down_python
    parked = threading.Barrier(n + 1)
    release = threading.Event()

    def bottom() -> None:
        parked.wait()
        release.wait()

    threads = [threading.Thread(target=down, args=(depth, bottom)) for _ in range(n)]
    for t in threads:
        t.start()
    parked.wait()                    # every thread is now `depth` frames deep and blocked

    def free() -> None:
        release.set()
        for t in threads:
            t.join()
    return free, float("nan")


async def _measure_tasks(n: int, depth: int, warm: int) -> dict[str, float]:
    import asyncio

    release = asyncio.Event()

    async def down(k: int) -> None:
        if k == 0:
            await release.wait()
        else:
            await down(k - 1)

    async def batch(k: int) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(down(depth)) for _ in range(k)]
        await asyncio.sleep(0)       # one step each: every task reaches release.wait()
        return tasks

    first = await batch(warm)
    release.set()
    await asyncio.gather(*first)
    release.clear()
    gc.collect()
    before = _rss_vms_kib()
    tasks = await batch(n)
    after = _rss_vms_kib()
    release.set()
    await asyncio.gather(*tasks)
    return {"rss_kib": (after[0] - before[0]) / n, "vms_kib": (after[1] - before[1]) / n,
            "stack_saved": float("nan")}


def _measure_memory(kind: str, depth: int, n: int) -> dict[str, Any]:
    """Child side of ``memory_per_suspended``: warm up, read memory, park n units, read again."""
    if kind not in MEMORY_KINDS:
        raise ValueError(f"kind must be one of {MEMORY_KINDS}, not {kind!r}")
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * depth + 200))
    warm = min(n, 10)
    if kind == "asyncio_task":
        import asyncio

        got = asyncio.run(_measure_tasks(n, depth, warm))
    else:
        park = _park_greenlets if kind.startswith("greenlet") else _park_threads
        through_c = kind.endswith("_c")
        park(warm, depth, through_c)[0]()       # one-time costs (imports, pools) paid here
        gc.collect()
        before = _rss_vms_kib()
        free, saved = park(n, depth, through_c)
        after = _rss_vms_kib()
        free()
        got = {"rss_kib": (after[0] - before[0]) / n, "vms_kib": (after[1] - before[1]) / n,
               "stack_saved": saved}
    return {"kind": kind, "depth": depth, "n": n, "python": sys.version.split()[0], **got}


def memory_per_suspended(kind: str, depth: int, n: int = 100, repeats: int = 3, *,
                         python: str | None = None, timeout: float = 120.0) -> dict[str, Any]:
    """KiB of RSS and of virtual size one more suspended unit costs, ``depth`` frames deep.

    Each repeat is a fresh interpreter (``python``, default this one) that parks ``n`` units of
    ``kind`` (one of ``MEMORY_KINDS``); the result holds the medians and every sample.
    ``stack_saved`` is greenlet's saved C-stack slice in bytes (NaN for the other kinds).
    """
    with ThreadPoolExecutor(max_workers=2) as pool:     # two children at a time: RSS is per process
        samples = list(pool.map(lambda _: _run(["memory", kind, str(depth), str(n)], python=python,
                                               timeout=timeout), range(repeats)))
    out = dict(samples[0])
    for key in ("rss_kib", "vms_kib", "stack_saved"):
        out[key] = statistics.median(s[key] for s in samples)
    out["rss_samples"] = [s["rss_kib"] for s in samples]
    return out


def memory_vs_depth(kinds: Sequence[str] = MEMORY_KINDS, depths: Sequence[int] = DEPTHS,
                    n: int = 50, repeats: int = 3, *, python: str | None = None) -> list[dict[str, Any]]:
    """``memory_per_suspended`` for every kind and depth: a list of rows, kind-major."""
    return [memory_per_suspended(k, d, n, repeats, python=python) for k in kinds for d in depths]


def slope_kib_per_frame(rows: Sequence[dict[str, Any]], kind: str, key: str = "rss_kib") -> float:
    """Least-squares slope of ``key`` against depth for one kind (KiB per frame of depth)."""
    pts = [(r["depth"], r[key]) for r in rows if r["kind"] == kind]
    mx = statistics.mean(d for d, _ in pts)
    my = statistics.mean(v for _, v in pts)
    return (sum((d - mx) * (v - my) for d, v in pts) / sum((d - mx) ** 2 for d, _ in pts))


def plot_memory(rows: Sequence[dict[str, Any]]) -> Any:
    """Two panels: RSS per suspended unit against depth (log scale), and greenlet's saved slice."""
    import matplotlib.pyplot as plt

    from .plotting import PALETTE, use_house_style

    use_house_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    kinds = [k for k in MEMORY_KINDS if any(r["kind"] == k for r in rows)]
    for colour, kind in zip(PALETTE, kinds):
        pts = [(r["depth"], r["rss_kib"]) for r in rows if r["kind"] == kind]
        left.plot([d for d, _ in pts], [max(v, 0.1) for _, v in pts], "o-", color=colour,
                  label=KIND_LABELS[kind])
        if kind.startswith("greenlet"):
            right.plot([d for d, _ in pts], [r["stack_saved"] / 1024 for r in rows if r["kind"] == kind],
                       "o-", color=colour, label=KIND_LABELS[kind])
    left.set(yscale="log", xlabel="depth at the switch point (frames)", ylabel="RSS per unit (KiB)",
             title="memory per suspended unit")
    left.legend(fontsize=7)
    right.set(xlabel="depth at the switch point (frames)", ylabel="saved C stack (KiB)",
              title="greenlet's stack slice (_stack_saved)")
    right.legend(fontsize=7)
    return fig


# ---------------------------------------------------------------------------
# 3. Switch costs and the kernel's part in them
# ---------------------------------------------------------------------------
# Each ``_rt_*`` function performs k round trips A -> B -> A (two hand-offs) and returns the
# seconds they took, set-up excluded.


def _rt_greenlet(k: int) -> float:
    import greenlet

    main = greenlet.getcurrent()

    def echo(value: int) -> None:
        while value is not None:
            value = main.switch(value)

    g = greenlet.greenlet(echo)
    g.switch(0)
    switch = g.switch
    t0 = time.perf_counter()
    for i in range(k):
        switch(i)                      # main -> g -> main
    elapsed = time.perf_counter() - t0
    switch(None)                       # g returns: dead
    return elapsed


def _rt_generator(k: int) -> float:
    def echo() -> Any:
        value = 0
        while True:
            value = yield value

    g = echo()
    next(g)
    send = g.send
    t0 = time.perf_counter()
    for i in range(k):
        send(i)                        # main -> generator -> main
    return time.perf_counter() - t0


async def _two_tasks_sleep0(k: int) -> float:
    import asyncio

    async def turn() -> None:
        for _ in range(k):
            await asyncio.sleep(0)     # yield to the loop: the other task's step runs next

    t0 = time.perf_counter()
    await asyncio.gather(turn(), turn())   # 2k task steps = k round trips
    return time.perf_counter() - t0


def _rt_asyncio(k: int) -> float:
    import asyncio

    return asyncio.run(_two_tasks_sleep0(k))


def _rt_uvloop(k: int) -> float:
    import asyncio

    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_two_tasks_sleep0(k))


# Two threads handing a value back and forth through a SimpleQueue pair: lesson 01's own
# measurement of a thread hand-off, reused so that both lessons time the same thing.
_rt_threads_queue = costs._pingpong_threads_queue


def _rt_threads_condition(k: int) -> float:
    cond = threading.Condition()
    turn = ["main"]

    def other() -> None:
        for _ in range(k):
            with cond:
                cond.wait_for(lambda: turn[0] == "other")
                turn[0] = "main"
                cond.notify()

    t = threading.Thread(target=other)
    t.start()
    t0 = time.perf_counter()
    for _ in range(k):
        with cond:
            turn[0] = "other"
            cond.notify()
            cond.wait_for(lambda: turn[0] == "main")
    elapsed = time.perf_counter() - t0
    t.join()
    return elapsed


def _rt_processes_pipe(k: int) -> float:
    to_r, to_w = os.pipe()
    back_r, back_w = os.pipe()
    pid = os.fork()
    if pid == 0:                       # the child echoes each byte until end-of-file
        os.close(to_w)
        os.close(back_r)
        while os.read(to_r, 1):
            os.write(back_w, b"x")
        os._exit(0)
    os.close(to_r)
    os.close(back_w)
    t0 = time.perf_counter()
    for _ in range(k):
        os.write(to_w, b"x")
        os.read(back_r, 1)
    elapsed = time.perf_counter() - t0
    os.close(to_w)
    os.waitpid(pid, 0)
    os.close(back_r)
    return elapsed


def _pinned(run: Callable[[int], float]) -> Callable[[int], float]:
    """Run a pair with this process (so its new threads and children too) on one CPU, where the
    platform allows: then only the switch is timed, not a wake-up on another core."""
    if not hasattr(os, "sched_setaffinity"):
        return run

    def run_pinned(k: int) -> float:
        everything = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(everything)})
        try:
            return run(k)
        finally:
            os.sched_setaffinity(0, everything)
    return run_pinned


def _switch_items() -> list[tuple[str, Callable[[int], float]]]:
    items: list[tuple[str, Callable[[int], float]]] = [
        ("greenlet switch", _rt_greenlet),
        ("generator send", _rt_generator),
        ("asyncio sleep(0), 2 tasks", _rt_asyncio),
    ]
    try:
        import uvloop  # noqa: F401
        items.append(("uvloop sleep(0), 2 tasks", _rt_uvloop))
    except ImportError:
        pass
    items += [
        ("threads SimpleQueue, 1 CPU", _pinned(_rt_threads_queue)),
        ("threads Condition, 1 CPU", _pinned(_rt_threads_condition)),
        ("threads SimpleQueue, any CPU", _rt_threads_queue),
    ]
    if hasattr(os, "fork"):
        items.append(("processes pipe, 1 CPU", _pinned(_rt_processes_pipe)))
    return items


def _ctx_switches() -> tuple[int, int]:
    """(voluntary, involuntary) context switches of every thread of this process so far."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_nvcsw, ru.ru_nivcsw


def _measure_kernel(n: int) -> dict[str, dict[str, float]]:
    """Context switches per round trip during n round trips of each pair (this process only,
    so the process pair is left out: its partner's switches are another process's)."""
    out = {}
    for name, run in _switch_items():
        if name.startswith("processes"):
            continue
        run(min(n, 100))                        # warm-up: imports, the loop's first pass
        v0, i0 = _ctx_switches()
        run(n)
        v1, i1 = _ctx_switches()
        out[name] = {"voluntary": (v1 - v0) / n, "involuntary": (i1 - i0) / n}
    return out


def _measure_switch(repeats: int) -> dict[str, Any]:
    from .costs import interleaved_per_op

    items = _switch_items()
    timed = interleaved_per_op([(name, run, 100) for name, run in items], repeats=repeats)
    base = timed["greenlet switch"]
    rows = [{"name": name,
             "ns_per_switch": timed[name].seconds / 2 * 1e9,       # a round trip is two hand-offs
             "cpu_ns_per_switch": timed[name].cpu_seconds / 2 * 1e9,
             "ratio": timed[name].seconds / base.seconds,
             "cpu_ratio": timed[name].cpu_seconds / base.cpu_seconds if base.cpu_seconds else float("nan"),
             "batch": timed[name].batch}
            for name, _ in items]
    return {"python": sys.version.split()[0], "rows": rows, "kernel": _measure_kernel(20_000)}


def switch_costs(repeats: int = 5, *, python: str | None = None, timeout: float = 180.0) -> dict[str, Any]:
    """Time a round trip of control for every pair in one fresh interpreter; count the kernel's part.

    Returns ``{"python", "rows", "kernel"}``: ``rows`` in a fixed order, each with
    ``ns_per_switch`` (half a round trip, median over ``repeats`` interleaved batches, wall
    clock), ``cpu_ns_per_switch``, ``ratio`` (to the greenlet switch, wall) and ``cpu_ratio``;
    ``kernel`` maps each in-process pair to its voluntary and involuntary context switches per
    round trip, counted over 20,000 round trips.
    """
    return _run(["switch", "--repeats", str(repeats)], python=python, timeout=timeout)


_STRACED = """
import sys
sys.path.insert(0, {src!r})
from lessons import stackful
run = dict(stackful._switch_items())[{name!r}]
run({n})
"""


def syscalls_per_round_trip(n: int = 2000, names: Sequence[str] = ("greenlet switch", "generator send",
                            "asyncio sleep(0), 2 tasks", "threads SimpleQueue, any CPU"),
                            timeout: float = 120.0) -> dict[str, Any]:
    """System calls per round trip, counted by ``strace -f -c``: n round trips minus 0 round trips.

    Returns ``{"skipped": reason}`` where strace is missing or may not trace (no ptrace in a
    container), else ``{name: {syscall: calls per round trip}}`` for the calls that changed.
    """
    strace = shutil.which("strace")
    if strace is None:
        return {"skipped": "strace is not installed (apt-get install strace)"}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        def counts(name: str, k: int) -> dict[str, int]:
            report = os.path.join(tmp, "report")
            code = _STRACED.format(src=probe.SRC_DIR, name=name, n=k)
            done = subprocess.run([strace, "-f", "-c", "-o", report, sys.executable, "-c", code],
                                  capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else
                                   f"exit status {done.returncode}")
            table: dict[str, int] = {}
            for line in open(report):
                parts = line.split()
                if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                    table[parts[-1]] = int(parts[3])
            return table
        try:
            for name in names:
                zero, many = counts(name, 0), counts(name, n)
                diff = {call: (many.get(call, 0) - zero.get(call, 0)) / n for call in many.keys() | zero.keys()}
                out[name] = {call: per for call, per in sorted(diff.items()) if abs(per) >= 0.01}
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            return {"skipped": f"strace could not trace here: {e}"}
    return out


def verdict(costs: dict[str, Any], factor: float = 5.0) -> dict[str, Any]:
    """The seed's claim "switching greenlets is like switching OS threads", judged by one run.

    ``like_threads`` is False when a greenlet switch is more than ``factor`` times cheaper than
    every thread hand-off (wall and CPU time) and the kernel saw (almost) no voluntary context
    switch per greenlet round trip while it saw about one or more per thread round trip.
    """
    rows = {r["name"]: r for r in costs["rows"]}
    threads = [r for name, r in rows.items() if name.startswith("threads")]
    kernel = costs["kernel"]
    g_kernel = kernel["greenlet switch"]["voluntary"]
    t_kernel = min(v["voluntary"] for name, v in kernel.items()
                   if name.startswith("threads") and name.endswith("1 CPU"))
    cheaper = min(min(r["ratio"], r["cpu_ratio"]) for r in threads)
    faster = cheaper > factor
    no_kernel = g_kernel < 0.01 and t_kernel >= 0.5
    return {
        "greenlet_ns": rows["greenlet switch"]["ns_per_switch"],
        "thread_over_greenlet_min": cheaper,
        "asyncio_over_greenlet": rows["asyncio sleep(0), 2 tasks"]["ratio"],
        "generator_over_greenlet": rows["generator send"]["ratio"],
        "greenlet_voluntary_per_round_trip": g_kernel,
        "thread_voluntary_per_round_trip": t_kernel,
        "like_threads": not (faster and no_kernel),
        "text": (f"WRONG: a greenlet switch costs {rows['greenlet switch']['ns_per_switch']:.0f} ns, "
                 f"at least {cheaper:.0f}x cheaper than a thread hand-off, with "
                 f"{g_kernel:.4f} context switches per round trip against {t_kernel:.2f} for threads"
                 if faster and no_kernel else
                 "NOT SHOWN on this run: greenlet was not clearly cheaper or the kernel counts overlap"),
    }


# ---------------------------------------------------------------------------
# The command line a fresh interpreter runs
# ---------------------------------------------------------------------------


def _run(args: Sequence[str], *, python: str | None, timeout: float) -> Any:
    """``lessons.stackful.main(args)`` in a fresh interpreter (``python``, default this one)."""
    done = subprocess.run(probe.command("stackful", args, python=python), capture_output=True,
                          text=True, env=probe.child_env(), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"stackful {' '.join(args)!r} failed:\n{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    """``memory KIND DEPTH N``, ``switch [--repeats R]`` or ``slices DEPTH...``; prints one JSON line."""
    import argparse

    parser = argparse.ArgumentParser(prog="lessons.stackful")
    sub = parser.add_subparsers(dest="what", required=True)
    mem = sub.add_parser("memory")
    mem.add_argument("kind", choices=MEMORY_KINDS)
    mem.add_argument("depth", type=int)
    mem.add_argument("n", type=int)
    sub.add_parser("switch").add_argument("--repeats", type=int, default=5)
    sub.add_parser("slices").add_argument("depths", type=int, nargs="+")
    args = parser.parse_args(argv)
    if args.what == "slices":
        import greenlet

        gil = getattr(sys, "_is_gil_enabled", lambda: True)()
        result = {"python": sys.version.split()[0], "gil": gil, "greenlet": greenlet.__version__,
                  "rows": stack_slices(args.depths)}
    elif args.what == "memory":
        result = _measure_memory(args.kind, args.depth, args.n)
    else:
        result = _measure_switch(args.repeats)
    print(json.dumps(result))
