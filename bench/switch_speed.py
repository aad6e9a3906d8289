"""What does one switch of control cost: greenlet, generator, asyncio task, thread, process?

    .venv/bin/python bench/switch_speed.py [--n 7] [--busy 0] [--strace]

One fresh interpreter (``lessons.stackful.switch_costs``) times a round trip A -> B -> A for
each pair, batches taken in turn (greenlet, generator, asyncio, uvloop, threads, process,
greenlet, ...; ``lessons.costs.interleaved_per_op``), so a change in the machine's load hits
all alike; ``--n`` is the number of rounds, each row's number the median. A switch is half a
round trip. The pairs:

* ``greenlet switch``: ``g.switch(i)`` into a greenlet that switches straight back to main;
* ``generator send``: ``gen.send(i)`` into a generator that yields straight back;
* ``asyncio sleep(0), 2 tasks`` (and uvloop's): two tasks that each ``await asyncio.sleep(0)``
  in turn (one task step per switch, through the loop's ready queue);
* ``threads SimpleQueue`` / ``threads Condition``: two threads handing a value back and forth
  (pinned to one CPU, and SimpleQueue once more on any CPU);
* ``processes pipe, 1 CPU``: a forked child echoing one byte through two pipes.

Every row prints wall and CPU nanoseconds per switch and both ratios to the greenlet switch;
CPU ratios hold best on a busy machine (lesson 01, ``interleaved_per_op``). Then the kernel's
part: voluntary and involuntary context switches per round trip over 20,000 round trips
(``getrusage``), with ``--strace`` also system calls per round trip (``strace -f -c``, n round
trips minus none), and the verdict on the seed's "greenlet switching is like OS thread
switching". The bench prints; it asserts nothing. bench/README.md gives one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lessons import stackful  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=7, help="interleaved rounds; medians over them (default 7)")
    parser.add_argument("--busy", type=int, default=0, help="busy-looping processes kept running meanwhile")
    parser.add_argument("--strace", action="store_true", help="also count system calls per round trip")
    args = parser.parse_args(argv)
    if args.n < 1 or args.busy < 0:
        parser.error("--n must be >= 1 and --busy >= 0")

    import greenlet

    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"greenlet {greenlet.__version__}; Python {platform.python_version()}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}, {args.busy} busy loops, {args.n} rounds, interleaved")
        costs = stackful.switch_costs(repeats=args.n, timeout=600)
        print(f"{'pair':30} {'ns/switch':>10} {'CPU ns':>9} {'/ greenlet':>11} {'CPU / greenlet':>15}")
        for r in costs["rows"]:
            print(f"{r['name']:30} {r['ns_per_switch']:10,.0f} {r['cpu_ns_per_switch']:9,.0f} "
                  f"{r['ratio']:11.2f} {r['cpu_ratio']:15.2f}")
        print("context switches per round trip (getrusage, 20,000 round trips):")
        for name, k in costs["kernel"].items():
            print(f"  {name:30} voluntary {k['voluntary']:7.4f}  involuntary {k['involuntary']:7.4f}")
        if args.strace:
            calls = stackful.syscalls_per_round_trip()
            if "skipped" in calls:
                print("system calls: skipped:", calls["skipped"])
            else:
                print("system calls per round trip (strace -f -c, 2000 round trips minus none):")
                for name, table in calls.items():
                    shown = ", ".join(f"{c} {v:.2f}" for c, v in table.items()) or "none"
                    print(f"  {name:30} {shown}")
        print("verdict:", stackful.verdict(costs)["text"])
        print(f"load at the end {os.getloadavg()[0]:.1f}")
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
