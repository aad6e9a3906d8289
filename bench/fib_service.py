"""The fib service (lesson 09) served every way, in one run, as ratios to the inline loop.

    .venv/bin/python bench/fib_service.py [--seconds 5] [--long-n 30] [--workers 2] [--busy 0]

Each way of ``lessons.fib_service.modes()`` (inline; loop + process pool; pre-forked loops on
a shared socket and on SO_REUSEPORT sockets; and, when ``make freethreaded`` has built 3.13t,
one asyncio loop per thread on 3.13t without the GIL and with PYTHON_GIL=1) serves the same
load for ``--seconds``: ``--workers`` clients sending fib(--long-n) back to back and one
client sending fib(1), every request on a new connection. Printed per way: long requests
per second (throughput, ratio to inline: how many cores the CPU work got), short-request
latency p50 and p99 (ratio inline / way: how much sooner a short request came back). The
bench asserts nothing but that every answer was right; the lesson's cells assert the shapes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from lessons import fib_service as fs  # noqa: E402
from lessons import freethreaded  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load per way (default 5)")
    parser.add_argument("--long-n", type=int, default=30, help="n of the long requests (default 30)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2,
                        help="processes, pool workers or threads (default: the cores)")
    parser.add_argument("--busy", type=int, default=0, help="busy-looping processes kept running meanwhile")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.long_n < fs.CUTOFF or args.workers < 1 or args.busy < 0:
        parser.error(f"--seconds > 0, --long-n >= {fs.CUTOFF}, --workers >= 1, --busy >= 0")

    ft = freethreaded.find()
    ways = fs.modes(str(ft) if ft else None)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        print(f"fib service: Python {platform.python_version()}, {os.cpu_count()} cores, "
              f"load {os.getloadavg()[0]:.1f}, {args.busy} busy loops; {args.workers} workers, "
              f"{args.workers} long clients fib({args.long_n}) + 1 short client fib(1), {args.seconds:g} s per way")
        if ft is None:
            print("free-threaded 3.13t not built (make freethreaded): its two rows are left out")
        results = fs.compare(ways, workers=args.workers, seconds=args.seconds, long_n=args.long_n)
        base = results[0]
        print(f"{'way':28} {'long req/s':>10} {'x inline':>8} {'short p50':>10} {'short p99':>10} "
              f"{'p99 inline/way':>14} {'per worker requests'}")
        for r in results:
            print(f"{r['label']:28} {r['long_rps']:10.2f} {r['long_rps'] / base['long_rps']:8.2f} "
                  f"{r['short_p50'] * 1e3:8.2f}ms {r['short_p99'] * 1e3:8.1f}ms "
                  f"{base['short_p99'] / r['short_p99']:14.1f} {r['per_worker_requests']}")
        print(f"fib({args.long_n}) computed alone in the inline server: {base['long_compute_p50'] * 1e3:.0f} ms (median); "
              f"load at the end {os.getloadavg()[0]:.1f}")
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
