"""Is this machine quiet enough to measure on? Every measuring lesson asks first.

A measurement lesson compares, say, one thread with two processes. On two idle cores two
processes finish CPU-bound work in about half the time; with a busy second core (a browser,
a build, a grader running beside you) they cannot, and a result that disagrees with the text
is the machine's fault, not the theory's. So a lesson starts with::

    from lessons import machine
    state = machine.check()          # ~0.3 s: load average and a two-process calibration
    print(state.summary())           # one line, to keep beside the results

and prints ``state.caveat()`` next to any result that a busy machine distorts (it is empty
when the machine is quiet). The claims a lesson *asserts* never depend on quiet cores: they
are orders, signs and presences that hold on a busy machine too.

The calibration: the same short pure-Python loop runs once alone and then in two processes
at the same time. With two free cores both finish in the alone time (ratio ~1.0); with one
free core they share it (ratio ~2.0). This measures what parallel results need, which the
load average (a one-minute average of runnable tasks) only hints at.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass
from typing import Any

#: Two concurrent spins slower than this many times one spin alone: a core is not free.
PARALLEL_SLACK = 1.35


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def _spin(iterations: int) -> float:
    start = time.perf_counter()
    x = 0
    for i in range(iterations):
        x += i
    return time.perf_counter() - start


def _spin_into(iterations: int, start: Any, out: "mp.Queue[float]") -> None:
    start.wait()            # both children spin at the same time, however long each took to start
    out.put(_spin(iterations))


@dataclass(frozen=True)
class MachineState:
    """What ``check()`` saw: usable cores, the 1-minute load and the calibration ratio."""

    cores: int              #: CPUs this process may run on
    load1: float            #: 1-minute load average (runnable tasks), -1 where unknown
    parallel_ratio: float   #: time of two concurrent spins / time of one alone (1.0 = ideal)

    @property
    def quiet(self) -> bool:
        """At least two usable cores, and two processes really ran at the same time."""
        return self.cores >= 2 and self.parallel_ratio < PARALLEL_SLACK

    def summary(self) -> str:
        """One line: the cores, the load and the calibration, and what they mean."""
        verdict = ("quiet: parallel results below should match the text" if self.quiet else
                   "BUSY: parallel speed-ups below will be smaller than the text says")
        load = f"{self.load1:.2f}" if self.load1 >= 0 else "n/a"
        return (f"machine: {self.cores} usable cores, load {load}, two processes ran at "
                f"{self.parallel_ratio:.2f}x the time of one -> {verdict}")

    def caveat(self) -> str:
        """Empty on a quiet machine; else a line to print beside a distorted result."""
        if self.quiet:
            return ""
        if self.cores < 2:
            return "(only one usable core here: no parallel speed-up is possible)"
        return (f"(measured on a busy machine: two processes ran at {self.parallel_ratio:.2f}x "
                "the time of one, so a second core was not free)")


def check(spin_s: float = 0.08) -> MachineState:
    """Measure the machine now (about 4 x ``spin_s`` plus two process starts)."""
    iterations = 200_000
    while _spin(iterations) < spin_s / 4:          # size the loop to ~spin_s on this machine
        iterations *= 2
    iterations = int(iterations * spin_s / max(_spin(iterations), 1e-6))
    alone = min(_spin(iterations) for _ in range(2))
    # Not fork: the caller is usually a notebook kernel, which runs threads (lesson 01, section 6).
    ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    out: mp.Queue[float] = ctx.Queue()
    start = ctx.Barrier(2)
    procs = [ctx.Process(target=_spin_into, args=(iterations, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    together = max(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    try:
        load1 = os.getloadavg()[0]
    except (AttributeError, OSError):
        load1 = -1.0
    return MachineState(_usable_cores(), load1, together / alone)
