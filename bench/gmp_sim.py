"""How fast is the G-M-P simulator (lessons.gmp_sim), and how far from real Go's own speed?

    .venv/bin/python bench/gmp_sim.py [--n 100000] [--k 10] [--work-ns 1000] [--procs 2] [--no-go]

The scenario, the same in both: main starts ``n`` goroutines (default 100,000); each does ``k``
times (default 10) "compute ``work_ns`` (1 µs), then ``runtime.Gosched()``", then
``wg.Done()``; main waits on the WaitGroup.  GOMAXPROCS is ``--procs`` (2) in both.

The simulator runs with ``record=False`` (no events, no spans: the stats are still kept), pinned
to one CPU (``os.sched_setaffinity``).  Its work is counted as *scheduling events*: calls of
``schedule()`` that picked a G and ran it (``execute``; ``sim.stats["schedules"]``), here
n * (k + 1) + 1, 1.1 million by default; it prints them with the wall and CPU time of the run
(the goal: at most 5 s), the time per event, and the simulated duration.

Real Go: the same program, ``src/lessons/go/gosched.go``, built and run by ``lessons.golang``
with Go 1.27.3 (``make go``; ``GOTOOLCHAIN=local GOPROXY=off``, nothing is downloaded), with ``GOMAXPROCS=--procs`` and prints its wall time (measured inside the
program, from before the first ``go`` to the end of ``wg.Wait()``), then the ratio sim/real.
Without Go (or with ``--no-go``) it says so and prints only the simulator's numbers.  The bench
prints; it asserts nothing.  The machine's load is printed too: on a loaded machine the wall
times grow, the CPU time much less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessons import gmp_sim as gs, golang  # noqa: E402



def _worker(wg: gs.WaitGroup, k: int, work_ns: int):
    for _ in range(k):
        yield gs.Run(work_ns)
        yield gs.Gosched()
    yield wg.Done()


def _main(n: int, k: int, work_ns: int):
    wg = gs.WaitGroup()
    yield wg.Add(n)
    for _ in range(n):
        yield gs.Go(_worker, wg, k, work_ns)
    yield wg.Wait()


def run_sim(n: int, k: int, work_ns: int, procs: int) -> dict[str, float]:
    sim = gs.Sim(gomaxprocs=procs, seed=1, record=False)
    sim.go(_main, n, k, work_ns)
    w0, c0 = time.perf_counter(), time.process_time()
    sim.run()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    st = sim.stats
    return {"wall": wall, "cpu": cpu, "schedules": st["schedules"], "sim_ns": sim.now,
            "actions": st["actions"], "steals": st["steals"], "preemptions": st["preemptions"],
            "global_batches": st["global_batches"], "threads": st["threads"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="goroutines (default 100,000)")
    parser.add_argument("--k", type=int, default=10, help="work + Gosched rounds each (default 10)")
    parser.add_argument("--work-ns", type=int, default=1_000, help="ns of CPU per round (default 1000)")
    parser.add_argument("--procs", type=int, default=2, help="GOMAXPROCS in both (default 2)")
    parser.add_argument("--no-go", action="store_true", help="skip real Go")
    args = parser.parse_args(argv)

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"{args.n:,} goroutines x {args.k} rounds of {args.work_ns} ns + Gosched, GOMAXPROCS={args.procs}")
    if cpus:
        os.sched_setaffinity(0, {cpus[-1]})       # the simulator on one core
    try:
        r = run_sim(args.n, args.k, args.work_ns, args.procs)
    finally:
        if cpus:
            os.sched_setaffinity(0, set(cpus))
    per = r["wall"] / r["schedules"] * 1e9
    print(f"simulator (record=False, CPU {cpus[-1] if cpus else '?'}): {r['schedules']:,} scheduling events "
          f"(schedule() picked a G) in {r['wall']:.2f} s wall, {r['cpu']:.2f} s CPU "
          f"({per:,.0f} ns wall per event; goal <= 5 s)")
    print(f"  simulated run: {r['sim_ns'] / 1e6:,.1f} ms of Go time; {r['actions']:,} heap events, "
          f"{r['steals']:,} steals, {r['global_batches']:,} global batches, {r['threads']} threads")
    why = "--no-go" if args.no_go else golang.skip_reason()
    if why:
        print(f"real Go: {why}; only the simulator's time above")
        return 0
    g = json.loads(golang.run("gosched", "-n", str(args.n), "-k", str(args.k), "-work-ns", str(args.work_ns),
                              gomaxprocs=args.procs, timeout=600).stdout)
    real = g["ns"] / 1e9
    print(f"real Go {golang.CURRENT} (GOMAXPROCS={g['gomaxprocs']}): {real * 1e3:,.1f} ms wall for the same "
          f"program ({g['ns'] / r['schedules']:,.0f} ns per scheduling event)")
    print(f"ratio sim/real: {r['wall'] / real:,.0f}x wall (CPU {r['cpu'] / real:,.0f}x); "
          f"the simulator predicted {r['sim_ns'] / g['ns']:.2f}x real Go's duration")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
