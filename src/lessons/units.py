"""Lessons 10-11: Python's units of concurrency counted and weighed beside goroutines.

Two questions, each answered in a fresh interpreter (``lessons.probe``) that creates ``n``
units, parks them all (blocked, not computing), measures, and releases them:

- ``threads_per_unit(n)``: how many kernel threads (``/proc/self/task``) do ``n`` CPython
  threads, asyncio tasks and greenlets need? The threading model (1:1 or N:1) in one number.
- ``memory_per_unit(kind, n)``: the resident (RSS) and virtual (VmSize) memory one more parked
  unit costs, from ``/proc/self/status`` before and after, as lesson 01 measured - here at the
  scale of the seed's "10w" and "millions" of goroutines, for the comparison with Go
  (``lessons/go/million.go`` measures the goroutines).

Kinds: ``"thread"`` (``threading.Thread`` waiting on an Event), ``"asyncio_task"`` (a task
awaiting an Event), ``"greenlet"`` (a greenlet switched back to its parent, suspended). Linux
only (``/proc``).

    from lessons import units
    units.threads_per_unit(1000)       # [{'kind': 'CPython threads', 'units': 1000, 'threads': 1001}, ...]
    units.memory_per_unit("asyncio_task", 100_000)    # {'rss_bytes': ..., 'vms_bytes': ..., ...}
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from lessons import probe

KINDS = ("thread", "asyncio_task", "greenlet")
LABELS = {"thread": "CPython threads", "asyncio_task": "asyncio tasks", "greenlet": "greenlets"}


def _status() -> dict[str, int]:
    """VmRSS, VmSize and Threads of this process, from /proc/self/status (bytes, count)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmSize"):
                out[key] = int(value.split()[0]) * 1024
            elif key == "Threads":
                out[key] = int(value)
    return out


def _park_threads(n: int) -> tuple[Callable[[], None], int]:
    release = threading.Event()
    started = threading.Barrier(n + 1)

    def parked() -> None:
        started.wait()
        release.wait()

    threads = [threading.Thread(target=parked, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    started.wait()

    def free() -> None:
        release.set()
        for t in threads:
            t.join()
    return free, n


def _park_greenlets(n: int) -> tuple[Callable[[], None], int]:
    import greenlet

    main = greenlet.getcurrent()

    def parked() -> None:
        main.switch()           # suspend here; the parent resumes us to finish

    units = [greenlet.greenlet(parked) for _ in range(n)]
    for g in units:
        g.switch()

    def free() -> None:
        for g in units:
            g.switch()
    return free, n


def _measure(kind: str, n: int) -> dict[str, Any]:
    """Child side: park n units of kind, read /proc before and after, release them."""
    if kind == "asyncio_task":
        return asyncio.run(_measure_tasks(n))
    park = {"thread": _park_threads, "greenlet": _park_greenlets}[kind]
    park(min(n, 20))[0]()        # warm up: one-time costs (imports, first stacks) not counted
    gc.collect()
    before = _status()
    start = time.perf_counter()
    free, _ = park(n)
    seconds = time.perf_counter() - start
    during = _status()
    free()
    return _row(kind, n, before, during, seconds)


async def _measure_tasks(n: int) -> dict[str, Any]:
    release = asyncio.Event()

    async def parked() -> None:
        await release.wait()

    async def park(k: int) -> list[asyncio.Task[None]]:
        tasks = [asyncio.create_task(parked()) for _ in range(k)]
        await asyncio.sleep(0)   # every task runs to its first await
        return tasks

    warm = await park(20)
    release.set()
    await asyncio.gather(*warm)
    release.clear()
    gc.collect()
    before = _status()
    start = time.perf_counter()
    tasks = await park(n)
    seconds = time.perf_counter() - start
    during = _status()
    release.set()
    await asyncio.gather(*tasks)
    return _row("asyncio_task", n, before, during, seconds)


def _row(kind: str, n: int, before: dict[str, int], during: dict[str, int], seconds: float) -> dict[str, Any]:
    return {"kind": kind, "label": LABELS[kind], "n": n, "seconds": seconds,
            "threads": during["Threads"], "threads_before": before["Threads"],
            "rss_bytes": (during["VmRSS"] - before["VmRSS"]) / n,
            "vms_bytes": (during["VmSize"] - before["VmSize"]) / n,
            "python": sys.version.split()[0]}


def memory_per_unit(kind: str, n: int, *, timeout: float = 600.0) -> dict[str, Any]:
    """Park ``n`` units of ``kind`` (one of ``KINDS``) in a fresh interpreter: per-unit RSS and
    virtual size in bytes (``rss_bytes``, ``vms_bytes``), kernel threads while parked
    (``threads``), and the seconds it took to create them."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return probe.run_json("units", ["memory", kind, str(n)], timeout=timeout)


def threads_per_unit(n: int = 1000) -> list[dict[str, Any]]:
    """For each kind, the kernel threads its process has while ``n`` units are parked."""
    return [{"kind": LABELS[k], "units": n, "threads": memory_per_unit(k, n)["threads"]} for k in KINDS]


def main(argv: Sequence[str]) -> None:
    """The child's command line: ``memory <kind> <n>`` prints one JSON line."""
    if len(argv) == 3 and argv[0] == "memory" and argv[1] in KINDS:
        print(json.dumps(_measure(argv[1], int(argv[2]))))
        return
    raise SystemExit(f"usage: memory {{{'|'.join(KINDS)}}} N (got {' '.join(argv)!r})")


if __name__ == "__main__":
    main(sys.argv[1:])
